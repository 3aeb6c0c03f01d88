//! Lifecycle tests: the engine driven against the fake provider, whose every operation can be scripted
//! to fail, with AWS-like latencies on tokio's paused clock (simulated minutes run instantly). After
//! each test the state passes its integrity check and matches the fake cloud exactly.

use super::support::*;
use netplan_engine::apply::{self, ApplyOutcome, ApplyReport, Event, StepStatus};
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::provider::Provider;
use netplan_engine::state::store::{LocalFileStore, StateStore};
use netplan_engine::state::State;
use netplan_providers::fake::{Failure, FakeCloud, FakeProvider, Op, Script};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

struct World {
    dir: tempfile::TempDir,
    provider: Arc<FakeProvider>,
    store: Arc<LocalFileStore>,
}

impl World {
    fn new(fixture: &str, script: Script) -> World {
        let dir = copy_dir(&repo().join(fixture));
        let store = Arc::new(LocalFileStore::new(dir.path().join("netplan.state.json")));
        World {
            dir,
            provider: Arc::new(FakeProvider::new(script)),
            store,
        }
    }

    fn config(&self) -> Config {
        config::load(
            &self.dir.path().join("netplan.toml"),
            &LoadOptions::default(),
        )
        .expect("valid config")
    }

    /// The `nth` call of `op` fails once with a retryable-looking AWS error.
    fn fail_once(&self, op: Op, nth: usize) {
        self.provider.fail(Failure {
            op,
            kind: None,
            address: None,
            nth,
            code: "InternalError".into(),
            times: 1,
        });
    }

    fn write_config(&self, text: &str) {
        std::fs::write(self.dir.path().join("netplan.toml"), text).unwrap();
    }

    fn config_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("netplan.toml")).unwrap()
    }

    async fn run(
        &self,
        destroy: bool,
        rollback: bool,
        events: Option<tokio::sync::mpsc::UnboundedSender<Event>>,
        interrupt: Option<tokio::sync::watch::Receiver<u8>>,
    ) -> ApplyReport {
        let config = self.config();
        let prepared = ops::prepare(
            &config,
            self.provider.as_ref(),
            self.store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy,
                settle: true,
            },
        )
        .await
        .expect("prepare");
        let mut opts = prepared.apply_options();
        opts.rollback = rollback;
        opts.events = events;
        opts.interrupt = interrupt;
        apply::apply(
            &prepared.plan,
            prepared.working,
            self.provider.clone(),
            self.store.clone(),
            opts,
        )
        .await
        .expect("apply runs")
    }

    async fn apply(&self, rollback: bool) -> ApplyReport {
        self.run(false, rollback, None, None).await
    }

    async fn destroy(&self) -> ApplyReport {
        self.run(true, false, None, None).await
    }

    fn state(&self) -> State {
        let s = self
            .store
            .load()
            .expect("state loads")
            .unwrap_or_else(|| State::new("none"));
        s.check().expect("integrity");
        s
    }

    async fn plan_changes(&self) -> usize {
        let config = self.config();
        let p = ops::prepare(
            &config,
            self.provider.as_ref(),
            self.store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy: false,
                settle: false,
            },
        )
        .await
        .unwrap();
        p.plan
            .changes
            .iter()
            .filter(|c| c.action.is_change())
            .count()
    }
}

/// Every object in the cloud is in the state with the same id, and the other way round.
fn assert_consistent(cloud: &FakeCloud, state: &State) {
    let mut in_cloud: Vec<(String, String)> = cloud
        .objects
        .values()
        .map(|o| (o.kind.to_string(), o.id.clone()))
        .collect();
    let mut in_state: Vec<(String, String)> = state
        .resources
        .iter()
        .filter(|r| !r.existing)
        .map(|r| (r.address.kind.to_string(), r.id.clone()))
        .collect();
    in_cloud.sort();
    in_state.sort();
    assert_eq!(in_cloud, in_state, "cloud and state disagree");
    assert!(
        state.pending.is_empty(),
        "no pending operations after a finished run: {:?}",
        state.pending
    );
}

fn seed_script() -> Script {
    // AWS-like latencies (NAT 120 s, Lambda 75 s, ENIs lingering 20 min), in simulated time.
    Script::aws_like(1.0)
}

#[tokio::test(start_paused = true)]
async fn seed_apply_then_no_op_then_destroy() {
    let w = World::new("examples/lambda-internet", seed_script());
    let r = w.apply(true).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    // 21 objects; the two private route tables are completed with their NAT routes (rule (f)).
    assert_eq!(r.steps.len(), 23);
    let completes: Vec<String> = r
        .steps
        .iter()
        .filter(|(s, _)| s.kind == apply::StepKind::Complete)
        .map(|(s, _)| s.address.to_string())
        .collect();
    assert_eq!(
        completes,
        ["route_table.main_private_a", "route_table.main_private_b"]
    );
    assert_consistent(&w.provider.cloud(), &w.state());
    assert_eq!(w.plan_changes().await, 0, "apply then plan: no changes");
    let r = w.destroy().await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    let cloud = w.provider.cloud();
    assert!(
        cloud.objects.is_empty(),
        "{:?}",
        cloud.objects.keys().collect::<Vec<_>>()
    );
    assert!(w.state().resources.is_empty());
}

#[tokio::test(start_paused = true)]
async fn failing_any_step_of_the_seed_apply_rolls_back_to_exactly_nothing() {
    for k in 1..=21 {
        let w = World::new("examples/lambda-internet", seed_script());
        w.fail_once(Op::Create, k);
        let r = w.apply(true).await;
        assert_eq!(
            r.outcome,
            ApplyOutcome::Failed { rolled_back: true },
            "step {k}: {:?}",
            r.failures()
        );
        assert_eq!(
            r.failures().len(),
            1,
            "step {k}: root causes only: {:?}",
            r.failures()
        );
        let cloud = w.provider.cloud();
        assert!(
            cloud.objects.is_empty(),
            "step {k}: left {:?}",
            cloud.objects.keys().collect::<Vec<_>>()
        );
        assert!(
            cloud.enis.is_empty(),
            "step {k}: Lambda interfaces left behind"
        );
        let s = w.state();
        assert!(
            s.resources.is_empty() && s.pending.is_empty(),
            "step {k}: state not empty: {s:?}"
        );
        // The next apply converges.
        let r = w.apply(true).await;
        assert_eq!(
            r.outcome,
            ApplyOutcome::Applied,
            "step {k} retry: {:?}",
            r.failures()
        );
        assert_consistent(&w.provider.cloud(), &w.state());
    }
}

#[tokio::test(start_paused = true)]
async fn failing_any_step_without_rollback_keeps_exactly_what_succeeded() {
    for k in 1..=21 {
        let w = World::new("examples/lambda-internet", seed_script());
        w.fail_once(Op::Create, k);
        let r = w.apply(false).await;
        assert_eq!(
            r.outcome,
            ApplyOutcome::Failed { rolled_back: false },
            "step {k}"
        );
        let done = r
            .steps
            .iter()
            .filter(|(_, s)| *s == StepStatus::Done)
            .count();
        let s = w.state();
        assert_eq!(
            s.resources.len(),
            done,
            "step {k}: the state holds exactly what succeeded"
        );
        assert_consistent(&w.provider.cloud(), &s);
        let r = w.apply(false).await;
        assert_eq!(
            r.outcome,
            ApplyOutcome::Applied,
            "step {k}: the next apply converges"
        );
        assert_eq!(w.plan_changes().await, 0);
    }
}

/// A change set over an applied seed: creates (a second function) and updates (memory, tags, routes).
fn change_set(text: &str) -> String {
    let mut t = text.replace("memory = 128", "memory = 256").replace(
        "tags = { owner = \"platform\" }",
        "tags = { owner = \"platform\", cost = \"lab\" }",
    );
    t.push_str("\n[function.probe_extra]\nnetwork = \"network.main\"\nruntime = \"python3.12\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"functions/probe\"\n");
    t
}

#[tokio::test(start_paused = true)]
async fn failing_any_step_of_an_update_restores_cloud_and_state_exactly() {
    // A probe run counts the change set's create and update calls.
    let probe = World::new("examples/lambda-internet", seed_script());
    probe.apply(true).await;
    probe.write_config(&change_set(&probe.config_text()));
    probe.provider.clear_calls();
    assert_eq!(probe.apply(true).await.outcome, ApplyOutcome::Applied);
    let count = |op: Op| probe.provider.calls().iter().filter(|c| c.op == op).count();
    let (creates, updates) = (count(Op::Create), count(Op::Update));
    assert!(
        creates >= 3 && updates >= 10,
        "the change set creates {creates} and updates {updates} objects"
    );
    for (op, n) in (1..=creates)
        .map(|n| (Op::Create, n))
        .chain((1..=updates).map(|n| (Op::Update, n)))
    {
        let w = World::new("examples/lambda-internet", seed_script());
        assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
        let cloud_before = w.provider.cloud();
        let state_before = w.state();
        w.write_config(&change_set(&w.config_text()));
        w.fail_once(op, n);
        let r = w.apply(true).await;
        assert_eq!(
            r.outcome,
            ApplyOutcome::Failed { rolled_back: true },
            "{op:?} #{n}: {:?}",
            r.failures()
        );
        assert_eq!(
            w.provider.cloud().objects,
            cloud_before.objects,
            "{op:?} #{n}: the cloud is as before"
        );
        let state_after = w.state();
        assert_eq!(
            state_after.resources, state_before.resources,
            "{op:?} #{n}: the state is as before"
        );
        assert!(state_after.pending.is_empty());
    }
}

#[tokio::test(start_paused = true)]
async fn destroy_waits_out_lingering_lambda_interfaces_and_respects_aws_order() {
    let w = World::new("examples/lambda-internet", seed_script());
    assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
    w.provider.clear_calls();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    let r = w.run(true, false, Some(tx), None).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    assert!(
        start.elapsed() >= Duration::from_secs(20 * 60),
        "the interfaces linger 20 simulated minutes: {:?}",
        start.elapsed()
    );
    let mut retries = 0;
    while let Ok(e) = rx.try_recv() {
        if let Event::Retrying { reason, .. } = e {
            assert!(reason.contains("DependencyViolation"), "{reason}");
            retries += 1;
        }
    }
    assert!(
        retries > 0,
        "subnet and security group deletes waited for the interfaces"
    );
    let cloud = w.provider.cloud();
    assert!(cloud.objects.is_empty() && cloud.enis.is_empty());
    // Order, from the call log: every successful delete of kind B ends before the one of kind A starts.
    let calls = w.provider.calls();
    let done = |kind: &str| {
        calls
            .iter()
            .filter(|c| {
                c.op == Op::Delete
                    && c.error.is_none()
                    && c.address.as_ref().is_some_and(|a| a.kind.as_str() == kind)
            })
            .collect::<Vec<_>>()
    };
    let last_end = |kind: &str| done(kind).iter().map(|c| c.end).max().unwrap();
    let first_start = |kind: &str| done(kind).iter().map(|c| c.start).min().unwrap();
    assert!(
        last_end("nat_gateway") <= first_start("internet_gateway"),
        "IGW detached after the NATs are gone"
    );
    assert!(
        last_end("elastic_ip") <= first_start("internet_gateway"),
        "IGW detached after the EIPs are released"
    );
    assert!(
        last_end("nat_gateway") <= first_start("elastic_ip"),
        "EIP released after its NAT"
    );
    assert!(
        last_end("subnet") <= first_start("iam_role"),
        "roles go after the functions' interfaces (and subnets)"
    );
    // Per function: its role goes after its security group, which goes after the function.
    let at = |addr: &str, pick_end: bool| {
        let c = calls
            .iter()
            .find(|c| {
                c.op == Op::Delete
                    && c.error.is_none()
                    && c.address.as_ref().is_some_and(|a| a.to_string() == addr)
            })
            .unwrap();
        if pick_end {
            c.end
        } else {
            c.start
        }
    };
    for f in ["probe", "probe_node"] {
        assert!(
            at(&format!("security_group.{f}"), true) <= at(&format!("iam_role.{f}"), false),
            "{f}: role after its security group"
        );
        assert!(
            at(&format!("lambda_function.{f}"), true) <= at(&format!("security_group.{f}"), false),
            "{f}: security group after the function"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn apply_and_destroy_wall_time_match_the_critical_path() {
    let w = World::new("examples/lambda-internet", seed_script());
    let config = w.config();
    let script = seed_script();
    let latency = |s: &apply::StepId| -> Duration {
        let ms = match s.kind {
            apply::StepKind::Delete | apply::StepKind::DeleteDeposed => {
                script.delete_ms.get(&s.address.kind)
            }
            _ => script.create_ms.get(&s.address.kind),
        };
        Duration::from_millis(ms.copied().unwrap_or(0))
    };
    let prepared = ops::prepare(
        &config,
        w.provider.as_ref(),
        w.store.as_ref(),
        PrepareOptions {
            refresh: true,
            destroy: false,
            settle: false,
        },
    )
    .await
    .unwrap();
    let critical = apply::critical_path(
        &prepared.plan,
        &prepared.working,
        w.provider.facts(),
        &latency,
    )
    .unwrap();
    let start = Instant::now();
    assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
    let wall = start.elapsed();
    let ratio = wall.as_secs_f64() / critical.as_secs_f64();
    assert!(
        ratio <= 1.05,
        "apply {wall:?} vs critical path {critical:?}: {ratio:.3}"
    );
    assert!(
        critical >= Duration::from_secs(120),
        "the NAT gateways are on the path: {critical:?}"
    );

    w.provider.script_mut(|s| s.eni_linger_ms = 0);
    let prepared = ops::prepare(
        &config,
        w.provider.as_ref(),
        w.store.as_ref(),
        PrepareOptions {
            refresh: true,
            destroy: true,
            settle: false,
        },
    )
    .await
    .unwrap();
    let critical = apply::critical_path(
        &prepared.plan,
        &prepared.working,
        w.provider.facts(),
        &latency,
    )
    .unwrap();
    let start = Instant::now();
    assert_eq!(w.destroy().await.outcome, ApplyOutcome::Applied);
    let ratio = start.elapsed().as_secs_f64() / critical.as_secs_f64();
    assert!(
        ratio <= 1.05,
        "destroy {:?} vs critical path {critical:?}: {ratio:.3}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn parallelism_bounds_requests_and_waits_hold_no_slot() {
    // Each request takes 200 ms and holds one of `n` slots; a NAT gateway then takes 120 s to become
    // available, a function 75 s. If waits held slots, one slot would serialise every lifecycle
    // (minutes more than the critical path); bounded requests only add their own time.
    for n in [1usize, 3] {
        let mut script = seed_script();
        script.request_ms = 200;
        script.max_in_flight = Some(n);
        let latency_script = script.clone();
        let w = World::new("examples/lambda-internet", script);
        let config = w.config();
        let prepared = ops::prepare(
            &config,
            w.provider.as_ref(),
            w.store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy: false,
                settle: false,
            },
        )
        .await
        .unwrap();
        let latency = |s: &apply::StepId| {
            Duration::from_millis(
                latency_script
                    .create_ms
                    .get(&s.address.kind)
                    .copied()
                    .unwrap_or(0)
                    + 200,
            )
        };
        let critical = apply::critical_path(
            &prepared.plan,
            &prepared.working,
            w.provider.facts(),
            &latency,
        )
        .unwrap();
        let start = Instant::now();
        let r = w.run(false, true, None, None).await;
        let wall = start.elapsed();
        assert_eq!(r.outcome, ApplyOutcome::Applied);
        let calls = w.provider.calls();
        let mut peak = 0;
        for c in &calls {
            let overlapping = calls
                .iter()
                .filter(|o| o.request.0 <= c.request.0 && c.request.0 < o.request.1)
                .count();
            peak = peak.max(overlapping);
        }
        assert!(peak <= n, "parallelism {n}: {peak} requests overlapped");
        assert_eq!(peak, n, "parallelism {n} is used");
        let requests = Duration::from_millis(200) * calls.len() as u32 / n as u32;
        assert!(
            wall <= critical + requests,
            "parallelism {n}: apply {wall:?} vs critical path {critical:?} + requests {requests:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_are_retried_with_the_reason_shown() {
    let w = World::new("examples/lambda-internet", seed_script());
    w.provider.fail(Failure {
        op: Op::Create,
        kind: Some(netplan_engine::Kind::Vpc),
        address: None,
        nth: 1,
        code: "RequestLimitExceeded".into(),
        times: 3,
    });
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let r = w.run(false, true, Some(tx), None).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    let mut reasons = vec![];
    while let Ok(e) = rx.try_recv() {
        if let Event::Retrying { reason, step, .. } = e {
            reasons.push(format!("{step}: {reason}"));
        }
    }
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert!(
        reasons[0].contains("creating vpc.main") && reasons[0].contains("RequestLimitExceeded"),
        "{reasons:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn first_interrupt_finishes_in_flight_steps_then_rolls_back() {
    let w = World::new("examples/lambda-internet", seed_script());
    let (tx, rx) = tokio::sync::watch::channel(0u8);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await; // NATs and functions are in flight
        let _ = tx.send(1);
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let r = w.run(false, true, None, Some(rx)).await;
    assert_eq!(r.outcome, ApplyOutcome::Interrupted { rolled_back: true });
    assert!(
        r.steps
            .iter()
            .any(|(s, st)| s.address.kind == netplan_engine::Kind::NatGateway
                && *st == StepStatus::Done),
        "in-flight NATs finished"
    );
    assert!(w.provider.cloud().objects.is_empty());
    assert!(w.state().resources.is_empty());
}

#[tokio::test(start_paused = true)]
async fn second_interrupt_stops_waiting_and_the_next_run_reconciles() {
    let w = World::new("examples/lambda-internet", seed_script());
    let (tx, rx) = tokio::sync::watch::channel(0u8);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
        let _ = tx.send(1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let _ = tx.send(2);
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
    let r = w.run(false, true, None, Some(rx)).await;
    assert_eq!(r.outcome, ApplyOutcome::Interrupted { rolled_back: false });
    let s = w.state();
    assert!(
        !s.pending.is_empty(),
        "aborted creates leave pending operations"
    );
    // Every object in the cloud is tracked or pending.
    let cloud = w.provider.cloud();
    for o in cloud.objects.values() {
        let addr = o.tags["netplan:address"].as_str().unwrap();
        let tracked = s.resources.iter().any(|r| r.id == o.id)
            || s.pending.iter().any(|p| p.address.to_string() == addr);
        assert!(tracked, "{addr} ({}) is untracked", o.id);
    }
    let r = w.apply(true).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    let cloud = w.provider.cloud();
    for (addr, ids) in cloud.by_address("lambda-egress") {
        assert_eq!(ids.len(), 1, "{addr} exists {} times", ids.len());
    }
    assert_consistent(&cloud, &w.state());
}

#[tokio::test(start_paused = true)]
async fn replacement_deletes_then_creates_and_updates_dependents() {
    let w = World::new("tests/fixtures/small", Script::default());
    assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
    let old = w
        .state()
        .get(&"subnet.b".parse().unwrap())
        .unwrap()
        .id
        .clone();
    w.write_config(
        &w.config_text()
            .replace("10.0.1.0/24", "10.0.2.0/24")
            .replace(
                "subnets = [\"subnet.a\"]",
                "subnets = [\"subnet.a\", \"subnet.b\"]",
            ),
    );
    let r = w.apply(true).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    let kinds: Vec<_> = r
        .steps
        .iter()
        .map(|(s, _)| (s.address.to_string(), s.kind))
        .collect();
    assert!(
        kinds.contains(&("subnet.b".into(), apply::StepKind::Delete))
            && kinds.contains(&("subnet.b".into(), apply::StepKind::Create)),
        "{kinds:?}"
    );
    let s = w.state();
    let new = &s.get(&"subnet.b".parse().unwrap()).unwrap().id;
    assert_ne!(new, &old);
    assert_consistent(&w.provider.cloud(), &s);
    assert_eq!(w.plan_changes().await, 0);
}

#[tokio::test(start_paused = true)]
async fn drift_is_planned_and_repaired() {
    let w = World::new("tests/fixtures/small", Script::default());
    assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
    // Out of band: the route table is deleted, the VPC's tags change.
    let mut cloud = w.provider.cloud();
    cloud
        .objects
        .retain(|_, o| o.kind != netplan_engine::Kind::RouteTable);
    for o in cloud
        .objects
        .values_mut()
        .filter(|o| o.kind == netplan_engine::Kind::Vpc)
    {
        o.tags.insert("owner".into(), "someone-else".into());
    }
    w.provider.set_cloud(cloud);
    let config = w.config();
    let p = ops::prepare(
        &config,
        w.provider.as_ref(),
        w.store.as_ref(),
        PrepareOptions {
            refresh: true,
            destroy: false,
            settle: false,
        },
    )
    .await
    .unwrap();
    let drift: Vec<String> = p
        .plan
        .drift
        .iter()
        .map(|d| format!("{} {:?}", d.address, d.kind))
        .collect();
    assert!(
        drift
            .iter()
            .any(|d| d.starts_with("route_table.public Deleted")),
        "{drift:?}"
    );
    assert!(
        drift.iter().any(|d| d.starts_with("vpc.main Changed")),
        "{drift:?}"
    );
    assert_eq!(w.apply(true).await.outcome, ApplyOutcome::Applied);
    assert_eq!(w.plan_changes().await, 0);
    assert_consistent(&w.provider.cloud(), &w.state());
}

/// A store whose disk fills up: saves fail from the `after`-th on.
struct FullDisk {
    inner: LocalFileStore,
    saves: std::sync::atomic::AtomicUsize,
    after: usize,
}

impl StateStore for FullDisk {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn load(&self) -> Result<Option<State>, netplan_engine::state::store::StateError> {
        self.inner.load()
    }
    fn save(&self, s: &State) -> Result<(), netplan_engine::state::store::StateError> {
        if self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst) >= self.after {
            return Err(netplan_engine::state::store::StateError::Io {
                action: "write",
                location: self.location(),
                source: std::io::Error::other("No space left on device (os error 28)"),
            });
        }
        self.inner.save(s)
    }
    fn lock(
        &self,
        operation: &str,
    ) -> Result<netplan_engine::state::store::StateLock, netplan_engine::state::store::StateError>
    {
        self.inner.lock(operation)
    }
    fn force_unlock(
        &self,
        lock_id: &str,
    ) -> Result<netplan_engine::state::store::LockInfo, netplan_engine::state::store::StateError>
    {
        self.inner.force_unlock(lock_id)
    }
}

#[tokio::test(start_paused = true)]
async fn a_full_disk_is_never_reported_as_a_clean_rollback() {
    for after in [1usize, 3, 6] {
        let w = World::new("examples/lambda-internet", seed_script());
        let config = w.config();
        let store = Arc::new(FullDisk {
            inner: LocalFileStore::new(w.dir.path().join("netplan.state.json")),
            saves: Default::default(),
            after,
        });
        let prepared = ops::prepare(
            &config,
            w.provider.as_ref(),
            store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy: false,
                settle: false,
            },
        )
        .await
        .unwrap();
        let opts = prepared.apply_options();
        let r = apply::apply(
            &prepared.plan,
            prepared.working,
            w.provider.clone(),
            store.clone(),
            opts,
        )
        .await
        .unwrap();
        assert!(r.state_error.is_some(), "after {after}: {:?}", r.outcome);
        assert!(
            !matches!(
                r.outcome,
                ApplyOutcome::Failed { rolled_back: true } | ApplyOutcome::Applied
            ),
            "after {after}: {:?}",
            r.outcome
        );
        // What the disk holds is whole, and accounts for every object the cloud holds.
        let on_disk = w.state();
        for o in w.provider.cloud().objects.values() {
            let addr = o.tags["netplan:address"].as_str().unwrap();
            assert!(
                on_disk.resources.iter().any(|r| r.id == o.id)
                    || on_disk
                        .pending
                        .iter()
                        .any(|p| p.address.to_string() == addr),
                "after {after}: {addr} ({}) is on no record",
                o.id
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn what_needs_only_a_route_table_does_not_wait_for_its_nat() {
    // NAT gateways take 120 s: the private tables are created and associated, and the S3 endpoint
    // made on them, while the NATs are pending; the NAT routes are added once each NAT is available,
    // and the state then holds them.
    let w = World::new("examples/lambda-internet", seed_script());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let start = Instant::now();
    // When each step finished, from the start of the run (simulated time).
    let seen = tokio::spawn(async move {
        let mut finished = std::collections::HashMap::new();
        while let Some(e) = rx.recv().await {
            if let Event::Finished { step, .. } = e {
                finished.insert(step.to_string(), start.elapsed());
            }
        }
        finished
    });
    let r = w.run(false, true, Some(tx), None).await;
    assert_eq!(r.outcome, ApplyOutcome::Applied, "{:?}", r.failures());
    let finished = seen.await.unwrap();
    let at = |what: &str| {
        *finished
            .get(what)
            .unwrap_or_else(|| panic!("{what}: {finished:?}"))
    };
    assert!(at("creating nat_gateway.main_a") >= Duration::from_secs(120));
    for early in [
        "creating route_table.main_private_a",
        "creating route_table.main_private_b",
        "creating vpc_endpoint.main_s3",
    ] {
        assert!(at(early) < Duration::from_secs(60), "{early}: {finished:?}");
    }
    assert!(at("completing route_table.main_private_a") >= at("creating nat_gateway.main_a"));
    assert!(at("completing route_table.main_private_b") >= at("creating nat_gateway.main_b"));
    let routes = |addr: &str| {
        w.state()
            .resources
            .iter()
            .find(|r| r.address.to_string() == addr)
            .map(|r| r.attributes["routes"].to_string())
            .unwrap()
    };
    assert!(
        routes("route_table.main_private_a").contains("nat-"),
        "{}",
        routes("route_table.main_private_a")
    );
    assert_eq!(
        w.plan_changes().await,
        0,
        "the completed tables are what the config asks"
    );
}

/// "How long can a stuck call hold an apply?" has one answer (`netplan_engine::retry`): its step's
/// budget. A NAT gateway whose create is throttled for ever fails its step at the budget, not later,
/// and the run rolls back.
#[tokio::test(start_paused = true)]
async fn a_stuck_call_holds_an_apply_no_longer_than_its_steps_budget() {
    let w = World::new("examples/lambda-internet", Script::default());
    w.provider.fail(Failure {
        op: Op::Create,
        kind: Some(netplan_engine::Kind::NatGateway),
        address: None,
        nth: 1,
        code: "Throttling".into(),
        times: usize::MAX / 2,
    });
    let start = Instant::now();
    let r = w.apply(true).await;
    let took = start.elapsed();
    assert_eq!(r.outcome, ApplyOutcome::Failed { rolled_back: true });
    let bound =
        netplan_engine::retry::longest_hold(netplan_engine::retry::STEP_CREATE, Duration::ZERO);
    assert!(took <= bound, "{took:?} > {bound:?}");
    assert!(
        took >= bound - netplan_engine::retry::Backoff::STEP.longest(),
        "gave up early: {took:?}"
    );
    let failure = r
        .failures()
        .into_iter()
        .map(|(s, e)| format!("{s}: {e}"))
        .collect::<Vec<_>>()
        .join("; ");
    assert!(failure.contains("still failing after"), "{failure}");
}
