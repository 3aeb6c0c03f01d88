//! The real AWS provider against moto behind netplan's realism layer (tests/realism/realism.py): NAT
//! gateways and functions that take their time, Lambda's lingering network interfaces, IAM
//! propagation, eventual consistency, throttling, 5xx before and after a call takes effect, ClientToken
//! idempotency — each seeded.
//!
//! A few seeds run with `cargo test`; the soak runs many (BENCHMARKS.md):
//! - `NETPLAN_REALISM_SEEDS` (default `1,2`): seeds for the converge cycle; `1..20` is a range.
//! - `NETPLAN_REALISM_COPIES` (default `1`): copies of the seed network per cycle, e.g. `1,5`.
//! - `NETPLAN_REALISM_STEPS` (default: every step): which of the 21 creates a forced rollback fails at.
//! - `NETPLAN_REALISM_KILLS` (default 4): kill -9 trials through `--profile faults`.
//! - `NETPLAN_REALISM_PROXY` (default: the project's own): another proxy script taking the same
//!   `--listen PORT --upstream URL --profile P --seed N` arguments, to soak against a second model of
//!   AWS. Its counters are read from `/_realism/stats` or `/awsreal/stats`; a forced failure
//!   (`through_faults_a_rollback_forced…`) needs the project's own proxy.

use super::moto::{ok, Moto};
use super::support::*;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto with the realism proxy in front of it.
pub struct Realism {
    pub moto: Moto,
    /// The proxy's port: what netplan talks to.
    pub port: u16,
    child: Child,
    /// A proxy other than the project's own (`NETPLAN_REALISM_PROXY`).
    external: bool,
}

impl Realism {
    pub fn start(profile: &str, seed: u64) -> Realism {
        Realism::start_with(&["--profile", profile, "--seed", &seed.to_string()])
    }

    /// The proxy with these arguments (after `--listen` and `--upstream`).
    pub fn start_with(args: &[&str]) -> Realism {
        let moto = Moto::start();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let external = std::env::var_os("NETPLAN_REALISM_PROXY");
        let script = external
            .clone()
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| repo().join("tests/realism/realism.py"));
        let child = Command::new("python3")
            .arg(&script)
            .args(["--listen", &port.to_string()])
            .args(["--upstream", &format!("http://127.0.0.1:{}", moto.port)])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the realism proxy");
        let r = Realism {
            moto,
            port,
            child,
            external: external.is_some(),
        };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "the realism proxy did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        r
    }

    pub fn control(&self, path: &str, body: &str) -> String {
        self.moto
            .py(&format!(
                "import urllib.request; print(urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:{}{path}', data={body:?}.encode(), method='POST')).read().decode())",
                self.port
            ))
            .expect("the proxy's control API answers")
    }

    /// The `nth` call of `action` (counted from now) fails with a final error.
    pub fn fail(&self, action: &str, nth: usize) {
        assert!(
            !self.external,
            "forced failures need the project's own proxy (unset NETPLAN_REALISM_PROXY)"
        );
        self.control(
            "/_realism/fail",
            &format!(r#"{{"action": "{action}", "nth": {nth}, "code": "InvalidParameterValue"}}"#),
        );
    }

    /// The `nth` call of `action` fails with a 5xx before it takes effect.
    pub fn fail_transiently(&self, action: &str, nth: usize) {
        assert!(!self.external, "needs the project's own proxy");
        self.control(
            "/_realism/fail",
            &format!(
                r#"{{"action": "{action}", "nth": {nth}, "code": "InternalError", "status": 500}}"#
            ),
        );
    }

    /// Empties moto and the proxy's memory of it (an external proxy keeps its memory: new objects
    /// get new ids, so what it remembers of the old ones does not matter).
    /// The `nth` call of `action` is carried out by moto, and its answer lost (HTTP 500).
    pub fn lose_answer(&self, action: &str, nth: usize) {
        assert!(!self.external, "needs the project's own proxy");
        self.control(
            "/_realism/fail",
            &format!(
                r#"{{"action": "{action}", "nth": {nth}, "code": "InternalError", "status": 500, "after": true}}"#
            ),
        );
    }

    /// The `nth` call that changes something (whatever its action), counted from now, fails: refused
    /// before it takes effect, or (`lost`) carried out with its answer lost.
    pub fn fail_any(&self, nth: usize, lost: bool) {
        assert!(!self.external, "needs the project's own proxy");
        let (code, status) = if lost {
            ("InternalError", 500)
        } else {
            ("RouteLimitExceeded", 400)
        };
        self.control(
            "/_realism/fail",
            &format!(
                r#"{{"action": "*", "nth": {nth}, "code": "{code}", "status": {status}, "after": {lost}}}"#
            ),
        );
    }

    /// Forgets the calls seen and the failures not yet injected.
    pub fn mark(&self) {
        self.control("/_realism/mark", "{}");
    }

    /// The calls since the last mark: (service, action, whether it changes something, status).
    pub fn calls(&self) -> Vec<(String, String, bool, u16)> {
        let out = self
            .moto
            .py(&format!(
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{}/_realism/calls').read().decode())",
                self.port
            ))
            .expect("the proxy answers");
        serde_json::from_str(out.trim()).expect("a list of calls")
    }

    /// Watches these subnets' default routes and network ACLs and these groups' HTTPS egress: after
    /// every changing call, what they let out is checked against what they let out now.
    pub fn watch(&self, subnets: &[String], groups: &[String]) -> serde_json::Value {
        let out = self.control(
            "/_realism/watch",
            &serde_json::json!({ "subnets": subnets, "groups": groups }).to_string(),
        );
        serde_json::from_str(out.trim()).expect("what the watch saw")
    }

    /// What a watched subnet or group lost, and the call that lost it.
    pub fn violations(&self) -> Vec<serde_json::Value> {
        let out = self
            .moto
            .py(&format!(
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{}/_realism/violations').read().decode())",
                self.port
            ))
            .expect("the proxy answers");
        serde_json::from_str(out.trim()).expect("a list")
    }

    pub fn reset(&self) {
        self.moto.reset();
        if !self.external {
            self.control("/_realism/reset", "{}");
        }
    }

    /// What the proxy counted (calls forwarded, behaviours injected).
    pub fn stats(&self) -> BTreeMap<String, serde_json::Value> {
        let path = if self.external {
            "/awsreal/stats"
        } else {
            "/_realism/stats"
        };
        let out = self
            .moto
            .py(&format!(
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{}{path}').read().decode())",
                self.port
            ))
            .unwrap_or_default();
        serde_json::from_str(out.trim()).unwrap_or_default()
    }

    pub fn netplan(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        netplan_moto(dir, args, self.port)
    }

    /// An account whose quotas were raised for `copies` copies of the seed (each needs a VPC, two
    /// gateways, two Elastic IPs and a NAT gateway per zone; moto's own account allows five VPCs
    /// and netplan counts AWS's default of five Elastic IPs): the project's proxy only.
    pub fn raise_quotas(&self, copies: u64) {
        if copies <= 2 || self.external {
            return;
        }
        let n = copies + 5;
        self.control(
            "/_realism/account",
            &serde_json::json!({"quotas": {"vpcs": n, "internet_gateways": n, "egress_only": n,
                "elastic_ips": 2 * n, "nat_per_az": n}, "enforce": false})
            .to_string(),
        );
    }

    /// `netplan` through the proxy with extra environment variables.
    pub fn netplan_env(
        &self,
        dir: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> std::process::Output {
        netplan_moto_env(dir, args, self.port, env)
    }
}

impl Drop for Realism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A list of numbers from an environment variable: `1,2,5` or `1..20`.
fn numbers(var: &str, default: &str) -> Vec<u64> {
    let v = std::env::var(var).unwrap_or_else(|_| default.to_string());
    if let Some((a, b)) = v.split_once("..") {
        let (a, b): (u64, u64) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
        return (a..=b).collect();
    }
    v.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

/// The seed example with `copies` networks (10.N.0.0/16) and two functions each, in a fresh folder.
pub fn seed_copies(copies: u64) -> tempfile::TempDir {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    if copies > 1 {
        let cfg = tmp.path().join("netplan.toml");
        let text = std::fs::read_to_string(&cfg).unwrap();
        let at = text.find("[network.main]").unwrap();
        let (stack, body) = text.split_at(at);
        let mut out = stack.to_string();
        for i in 0..copies {
            out.push_str(
                &body
                    .replace("network.main", &format!("network.n{i}"))
                    .replace("[function.probe]", &format!("[function.p{i}]"))
                    .replace("[function.probe_node]", &format!("[function.q{i}]"))
                    .replace("10.0.0.0/16", &format!("10.{}.0.0/16", i + 1)),
            );
            out.push('\n');
        }
        std::fs::write(&cfg, out).unwrap();
    }
    tmp
}

fn duplicates(inventory: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    inventory
        .iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(a, ids)| format!("{a} ×{}: {ids:?}", ids.len()))
        .collect()
}

#[test]
fn through_realism_apply_converges_plan_is_clean_and_destroy_leaves_nothing() {
    for copies in numbers("NETPLAN_REALISM_COPIES", "1") {
        for seed in numbers("NETPLAN_REALISM_SEEDS", "1,2") {
            let r = Realism::start("all", seed);
            r.raise_quotas(copies);
            let tmp = seed_copies(copies);
            let dir = tmp.path();
            let what = format!(
                "seed {seed}, {copies} cop{}",
                if copies == 1 { "y" } else { "ies" }
            );
            let first = r.netplan(dir, &["apply", "--auto-approve"]);
            if first.status.code() != Some(0) {
                // At most one more apply after a reported failure.
                let err = stderr(&first);
                assert!(
                    err.contains("rolled back") || err.contains("continues from here"),
                    "{what}: a failed apply says what it left:\n{err}"
                );
                ok(
                    &r.netplan(dir, &["apply", "--auto-approve"]),
                    &format!("{what}: apply again"),
                );
            }
            let inventory = r.moto.inventory("lambda-egress");
            assert!(
                duplicates(&inventory).is_empty(),
                "{what}: {:?}",
                duplicates(&inventory)
            );
            assert_eq!(inventory.len() as u64, 21 * copies, "{what}: {inventory:?}");
            ok(
                &r.netplan(dir, &["plan", "--detailed-exitcode"]),
                &format!("{what}: no changes after apply"),
            );
            ok(
                &r.netplan(dir, &["destroy", "--auto-approve"]),
                &format!("{what}: destroy"),
            );
            let left = r.moto.leftovers();
            assert!(left.is_empty(), "{what}: left behind: {left:?}");
            eprintln!(
                "realism {what}: converged, clean, nothing left; injected {:?}",
                r.stats()
            );
        }
    }
}

/// The creates of the seed, in the order of their AWS actions, with how many of each.
const CREATES: &[(&str, usize)] = &[
    ("CreateVpc", 1),
    ("AllocateAddress", 2),
    ("CreateRole", 2),
    ("CreateSubnet", 4),
    ("CreateInternetGateway", 1),
    ("CreateEgressOnlyInternetGateway", 1),
    ("CreateSecurityGroup", 2),
    ("CreateNatGateway", 2),
    ("CreateRouteTable", 3),
    ("CreateVpcEndpoint", 1),
    ("CreateFunction", 2),
];

#[test]
fn through_faults_a_rollback_forced_at_any_step_leaves_the_cloud_as_it_was() {
    let steps: Vec<(&str, usize)> = CREATES
        .iter()
        .flat_map(|(a, n)| (1..=*n).map(move |i| (*a, i)))
        .collect();
    let chosen: Vec<u64> = numbers("NETPLAN_REALISM_STEPS", &format!("1..{}", steps.len()));
    let r = Realism::start("faults", 11);
    for k in chosen {
        let (action, nth) = steps[k as usize - 1];
        r.reset();
        r.moto.py("import urllib.request; urllib.request.urlopen(urllib.request.Request(f'{E}/moto-api/config', data=b'{\"lambda\": {\"use_docker\": false}}', method='POST'))").unwrap();
        let tmp = seed_copies(1);
        let dir = tmp.path();
        r.fail(action, nth);
        let out = r.netplan(dir, &["apply", "--auto-approve"]);
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "step {k} ({action} #{nth}):\n{err}"
        );
        assert!(
            err.contains("was rolled back") && err.contains("as it was before"),
            "step {k} ({action} #{nth}): the rollback is checked and said:\n{err}"
        );
        let left = r.moto.leftovers();
        assert!(
            left.is_empty(),
            "step {k} ({action} #{nth}): left {left:?}\n{err}"
        );
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("netplan.state.json")).unwrap())
                .unwrap();
        assert_eq!(state["resources"], serde_json::json!([]), "step {k}: state");
        assert!(
            state["pending"].as_array().is_none_or(|p| p.is_empty()),
            "step {k}: pending {}",
            state["pending"]
        );
    }
}

#[test]
fn through_faults_kill_9_at_random_moments_loses_and_duplicates_nothing() {
    let trials = numbers("NETPLAN_REALISM_KILLS", "4")[0];
    let r = Realism::start("faults", 5);
    let (mut untracked, mut duplicated) = (0, 0);
    let mut seed: u64 = 0x5851_f42d_4c95_7f2d;
    for trial in 0..trials {
        r.reset();
        r.moto.py("import urllib.request; urllib.request.urlopen(urllib.request.Request(f'{E}/moto-api/config', data=b'{\"lambda\": {\"use_docker\": false}}', method='POST'))").unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(100 + (seed >> 33) % 3500);
        let tmp = seed_copies(1);
        let dir = tmp.path();
        let mut child = Command::new(bin())
            .args(["apply", "--auto-approve"])
            .current_dir(dir)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", r.port))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        let tracked = Tracked::read(dir);
        for (addr, ids) in r.moto.inventory("lambda-egress") {
            for id in ids {
                if !tracked.accounts_for(&addr, &id) {
                    untracked += 1;
                    eprintln!("kill trial {trial} ({delay:?}): {addr} {id} is untracked");
                }
            }
        }
        ok(
            &r.netplan(dir, &["apply", "--auto-approve"]),
            &format!("kill trial {trial} ({delay:?}): the next apply converges"),
        );
        let inventory = r.moto.inventory("lambda-egress");
        for d in duplicates(&inventory) {
            duplicated += 1;
            eprintln!("kill trial {trial} ({delay:?}): {d}");
        }
        assert_eq!(inventory.len(), 21, "kill trial {trial}: {inventory:?}");
        ok(
            &r.netplan(dir, &["plan", "--detailed-exitcode"]),
            &format!("kill trial {trial}: converged"),
        );
    }
    eprintln!("realism kill -9: {trials} trials, {untracked} untracked, {duplicated} duplicated");
    assert_eq!((untracked, duplicated), (0, 0));
}

#[test]
fn verbose_apply_shows_every_aws_call_made() {
    // The proxy (no behaviour on) counts every call it forwards; `-v` must show the same calls.
    let r = Realism::start("none", 1);
    let tmp = seed_copies(1);
    let out = r.netplan(tmp.path(), &["-v", "apply", "--auto-approve"]);
    ok(&out, "-v apply");
    let err = stderr(&out);
    let mut shown: BTreeMap<String, u64> = BTreeMap::new();
    for line in err.lines() {
        // `… DEBUG CreateVpc ok in 12ms`, `… DEBUG CreateRole failed in 3ms: …`
        let Some(rest) = line.split(" DEBUG ").nth(1) else {
            continue;
        };
        if rest.contains(" ok in ") || rest.contains(" failed in ") {
            if let Some(action) = rest.split_whitespace().next() {
                *shown.entry(action.to_string()).or_default() += 1;
            }
        }
    }
    let made: BTreeMap<String, u64> = r
        .stats()
        .into_iter()
        .filter_map(|(k, n)| {
            let (service, action) = k.split_once(':')?;
            if ["ec2", "iam", "lambda", "servicequotas", "sts"].contains(&service) {
                Some((action.to_string(), n.as_u64()?))
            } else {
                None
            }
        })
        .collect();
    assert!(made.values().sum::<u64>() > 30, "{made:?}");
    assert_eq!(shown, made, "-v shows each call AWS saw:\n{err}");
    // -vv adds AWS's request ids.
    let out = r.netplan(tmp.path(), &["-vv", "plan"]);
    assert!(stderr(&out).contains("request id"), "{}", stderr(&out));
}

#[test]
fn a_nat_instance_that_fails_to_launch_leaves_neither_instance_nor_group() {
    // RunInstances refused after the instance's security group was made: the create removes its part,
    // the rollback removes the rest, and the cloud is as it was.
    let r = Realism::start("faults", 3);
    let tmp = seed_copies(1);
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "nat_gateways = \"per_az\"",
        "nat_gateways = \"per_az\"\nnat_type = \"instance\"",
    );
    std::fs::write(&cfg, text).unwrap();
    r.fail("RunInstances", 1);
    let out = r.netplan(dir, &["apply", "--auto-approve"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("was rolled back") && err.contains("as it was before"),
        "{err}"
    );
    let left = r.moto.leftovers();
    assert!(left.is_empty(), "left {left:?}\n{err}");
    // And with nothing injected the same config converges, plans clean and goes away.
    ok(&r.netplan(dir, &["apply", "--auto-approve"]), "apply");
    ok(&r.netplan(dir, &["plan", "--detailed-exitcode"]), "plan");
    ok(&r.netplan(dir, &["destroy", "--auto-approve"]), "destroy");
    let left = r.moto.leftovers();
    assert!(left.is_empty(), "left {left:?}");
}

#[test]
fn a_lost_answer_to_removing_a_fresh_groups_rule_is_not_retried_for_minutes() {
    // The rule was removed, the answer lost; the retry answers InvalidPermission.NotFound — the goal
    // holds. (It once looked like a group AWS did not know yet and was retried for three minutes.)
    let r = Realism::start("none", 1);
    let tmp = seed_copies(1);
    // NAT instances' groups lose moto's default ::/0 egress rule.
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "nat_gateways = \"per_az\"",
        "nat_gateways = \"per_az\"\nnat_type = \"instance\"",
    );
    std::fs::write(&cfg, text).unwrap();
    r.lose_answer("RevokeSecurityGroupEgress", 1);
    let out = r.netplan(tmp.path(), &["-v", "apply", "--auto-approve"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let attempts = err
        .lines()
        .filter(|l| l.contains(" DEBUG RevokeSecurityGroupEgress "))
        .count();
    assert!(attempts <= 4, "{attempts} attempts:\n{err}");
    assert!(err.contains("it already holds"), "{err}");
}

#[test]
fn a_delete_that_failed_then_answers_not_found_for_a_fresh_id_is_sent_again() {
    // The rollback's ReleaseAddress fails with a 5xx before taking effect; the retry names an id AWS
    // does not show yet (NotFound). Done, or not seen? It once was believed gone and the address
    // stayed behind the rollback's own check.
    let r = Realism::start_with(&[
        "--only",
        "consistency",
        "--p-unseen",
        "1",
        "--consistency-window",
        "5",
        "--unseen-by",
        "ReleaseAddress",
    ]);
    let tmp = seed_copies(1);
    r.fail("CreateRole", 1);
    r.fail_transiently("ReleaseAddress", 1);
    let out = r.netplan(tmp.path(), &["apply", "--auto-approve"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("was rolled back") && err.contains("as it was before"),
        "{err}"
    );
    let left = r.moto.leftovers();
    assert!(left.is_empty(), "left {left:?}\n{err}");
    assert_eq!(
        r.stats()
            .get("injected:ReleaseAddress")
            .and_then(|v| v.as_u64()),
        Some(1),
        "{:?}",
        r.stats()
    );
}

/// Issue 16 (e, f): remote state through lost answers. A conditional write whose answer is lost is
/// sent again and its "precondition failed" recognised as this run's own write (not another writer);
/// a backup write that fails is written again at the next save.
#[test]
fn s3_state_writes_survive_lost_answers_and_a_failed_backup_is_written_again() {
    let r = Realism::start_with(&["--profile", "none"]);
    r.moto
        .py("boto3.client('s3', **kw).create_bucket(Bucket='team')")
        .unwrap();
    let tmp = seed_copies(1);
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[stack]\n",
        "[stack]\nstate = \"s3://team/egress/state.json\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    // The lock (1st PutObject) goes through; the first state write (2nd) and a later one (5th) land
    // and their answers are lost.
    r.mark();
    for nth in [2, 4] {
        r.control(
            "/_realism/fail",
            &format!(r#"{{"action": "PutObject", "nth": {nth}, "code": "InternalError", "status": 500, "after": true}}"#),
        );
    }
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "apply through lost state writes",
    );
    assert!(
        r.stats().get("injected:PutObject").and_then(|v| v.as_u64()) >= Some(2),
        "the answers were lost: {:?}",
        r.stats()
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "the state holds what exists",
    );

    // A backup write refused: the save fails, and the next save writes the backup first.
    use netplan_engine::state::store::StateStore;
    use netplan_providers::aws::{AwsOptions, S3StateStore};
    let store = S3StateStore::open(
        "s3://team/egress/state.json",
        AwsOptions {
            region: Some("us-east-1".into()),
            endpoint_url: Some(format!("http://127.0.0.1:{}", r.port)),
            test_credentials: true,
            ..Default::default()
        },
    )
    .unwrap();
    let state = store.load().unwrap().expect("a state");
    r.mark();
    r.control(
        "/_realism/fail",
        r#"{"action": "PutObject", "nth": 1, "code": "AccessDenied", "status": 403}"#,
    );
    assert!(store.save(&state).is_err(), "the backup write was refused");
    r.moto
        .py("s3=boto3.client('s3', **kw)\ns3.delete_object(Bucket='team', Key='egress/state.json.backup')")
        .unwrap();
    store.save(&state).expect("the next save");
    let backup = r
        .moto
        .py("s3=boto3.client('s3', **kw)\nprint(len(s3.get_object(Bucket='team', Key='egress/state.json.backup')['Body'].read()))")
        .expect("the backup is written at the next save");
    assert!(backup.trim().parse::<usize>().unwrap() > 100, "{backup}");
}

/// The plan's estimate of an apply, played with the realism layer's timing profile (its lifecycles are
/// AWS's × 0.05; the request rates stay AWS's), is within a factor of 1.5 of the apply's wall time
/// (issue 19.5; 20 and 100 copies are measured in BENCHMARKS.md).
#[test]
fn the_plans_estimate_is_within_half_again_of_the_apply_through_the_timing_profile() {
    for copies in numbers("NETPLAN_ESTIMATE_COPIES", "1,5") {
        let r = Realism::start("timing", 1);
        r.raise_quotas(copies);
        let tmp = seed_copies(copies);
        let dir = tmp.path();
        let scale = [("NETPLAN_LATENCY_SCALE", "0.05")];
        let plan = r.netplan_env(dir, &["plan", "--json"], &scale);
        assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
        let v: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
        let estimate = v["estimate"]["seconds"]
            .as_f64()
            .expect("the plan carries its estimate");
        let text = stdout(&r.netplan_env(dir, &["plan"], &scale));
        assert!(text.contains("Expected apply time: ≈"), "{text}");
        let started = Instant::now();
        let apply = r.netplan_env(dir, &["apply", "--auto-approve"], &scale);
        let took = started.elapsed().as_secs_f64();
        ok(&apply, "apply");
        assert!(
            stderr(&apply).contains("left") || stdout(&apply).contains("left"),
            "progress says what remains:\n{}",
            stderr(&apply)
        );
        let ratio = (estimate / took).max(took / estimate);
        eprintln!("{copies} copies: estimate {estimate:.2} s, apply {took:.2} s, ratio {ratio:.2}");
        assert!(
            ratio <= 1.5,
            "{copies} copies: the estimate ({estimate:.2} s) is {ratio:.2}× the apply ({took:.2} s)"
        );
    }
}
