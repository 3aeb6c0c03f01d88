//! The request layer every AWS call goes through, and what it decides:
//!
//! - **Rate.** A client-side token bucket per (service, action) sized as EC2 documents its buckets
//!   (mutating 200 tokens refilled at 5/s, describe 100 at 20/s, resource-intensive 50 at 5/s; Lambda and
//!   IAM conservatively), so a large apply stays under AWS's limits; a throttled answer empties the
//!   bucket and halves its refill rate, which recovers step by step with each success (AIMD).
//! - **Concurrency.** At most `max_in_flight` requests at once to each service (`--parallelism`; AWS
//!   bounds EC2, IAM and Lambda each on its own, so a role's create never queues behind a hundred EC2
//!   calls): a gate held for the request alone, never while an object is waited on, so forty NAT
//!   gateways pending hold nothing.
//! - **Retries.** The SDK's own retries are off: a repeated create is not always safe. Throttling is
//!   retried (AWS refused before acting). A 5xx, timeout or broken connection leaves the outcome unknown:
//!   a request that can be repeated is retried; a create that cannot is returned to its caller
//!   (`create::create_once`), which looks for what it may have made before sending it again. An
//!   endpoint that does not answer at all fails within three attempts, naming itself and the call.
//! - **Eventual consistency.** An id this process made (or adopted) in the last minutes may be unknown
//!   to other calls for a while: a NotFound naming one is retried. A delete an earlier attempt of which
//!   failed with a 5xx is ambiguous when it then answers NotFound (done and its answer lost, or not
//!   seen yet): it is sent again for a bounded while (20 s) before the NotFound is believed.
//! - **Lambda busy.** A function Pending or mid-update answers ResourceConflictException to writes:
//!   retried while it settles.
//! - **Visibility.** Every attempt is a tracing event (`-v`: action, target, duration, retries and why;
//!   `-vv`: AWS's request ids).

use super::errors::{from_sdk, Ending};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use netplan_engine::provider::{ErrorKind, ProviderError};
use rand::Rng;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

type HttpResponse = aws_sdk_ec2::config::http::HttpResponse;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Service {
    Ec2,
    Iam,
    Lambda,
    Ssm,
}

impl Service {
    /// The service whose API names objects of `kind`.
    pub fn of(kind: netplan_engine::Kind) -> Service {
        match kind {
            netplan_engine::Kind::IamRole => Service::Iam,
            netplan_engine::Kind::LambdaFunction => Service::Lambda,
            _ => Service::Ec2,
        }
    }
}

/// What a request does, which decides how it may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads: always safe to repeat.
    Read,
    /// Changes that are safe to repeat (set an attribute, attach, tag, a create with a ClientToken).
    Write,
    /// A create that cannot be repeated blindly: an unknown outcome goes back to the caller.
    Create,
    /// A delete: NotFound after an attempt that may have taken effect means it did.
    Delete,
}

/// One AWS request: which action, what it does, and the ids it names.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub service: Service,
    pub action: &'static str,
    pub effect: Effect,
    /// The ids the request names (a NotFound for one made moments ago is eventual consistency).
    pub names: Vec<String>,
}

impl Call {
    pub fn new(service: Service, action: &'static str, effect: Effect) -> Call {
        Call {
            service,
            action,
            effect,
            names: vec![],
        }
    }
    pub fn ec2(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Ec2, action, effect)
    }
    pub fn iam(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Iam, action, effect)
    }
    pub fn lambda(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Lambda, action, effect)
    }
    pub fn ssm(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Ssm, action, effect)
    }
    /// The ids (or names) this request names.
    pub fn on<I, S>(mut self, ids: I) -> Call
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.names
            .extend(ids.into_iter().map(|s| s.as_ref().to_string()));
        self
    }
    fn target(&self) -> String {
        if self.names.is_empty() {
            String::new()
        } else {
            format!(" {}", self.names.join(","))
        }
    }
}

/// Timing knobs (the defaults are for AWS; tests and emulators shorten some).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_in_flight: usize,
    /// First retry pause; doubles per attempt up to `max_pause`.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// How long a throttled or failing (5xx) request keeps being retried before the error goes up.
    pub retry_budget: Duration,
    /// Attempts that got no answer at all (timeouts, no connection) before the endpoint is declared
    /// unreachable.
    pub unanswered_attempts: u32,
    /// How long an id this process made may answer NotFound.
    pub consistency_window: Duration,
    /// A delete of a fresh id whose earlier attempt failed with a 5xx, then answered NotFound: either
    /// the attempt took effect (its answer was lost) or AWS does not know the id yet. Sent again for
    /// this long, after which the NotFound is believed.
    pub ambiguous_delete_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_in_flight: 32,
            first_pause: Duration::from_millis(250),
            max_pause: Duration::from_secs(10),
            retry_budget: Duration::from_secs(120),
            unanswered_attempts: 3,
            consistency_window: Duration::from_secs(180),
            ambiguous_delete_window: Duration::from_secs(20),
        }
    }
}

struct Bucket {
    capacity: f64,
    tokens: f64,
    /// Refill per second as AWS documents it, and as this process currently allows itself.
    full_rate: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(capacity: f64, rate: f64) -> Bucket {
        Bucket {
            capacity,
            tokens: capacity,
            full_rate: rate,
            rate,
            last: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        self.tokens =
            (self.tokens + (now - self.last).as_secs_f64() * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    fn throttled(&mut self) {
        self.tokens = 0.0;
        self.rate = (self.rate / 2.0).max(self.full_rate / 32.0);
    }

    fn succeeded(&mut self) {
        self.rate = (self.rate + self.full_rate / 16.0).min(self.full_rate);
    }
}

/// AWS's bucket for an action: (capacity, refill per second).
fn bucket_size(service: Service, action: &str) -> (f64, f64) {
    match service {
        Service::Ec2 if action == "RunInstances" => (50.0, 5.0),
        Service::Ec2 if action.starts_with("Describe") => (100.0, 20.0),
        Service::Ec2 => (200.0, 5.0),
        // Lambda: GetFunction 100 a second, the rest of the control plane 15 (its quotas page).
        Service::Lambda if action == "GetFunction" => (100.0, 100.0),
        Service::Lambda => (15.0, 15.0),
        Service::Iam => (20.0, 10.0),
        // GetParameter: 40 transactions a second by default.
        Service::Ssm => (40.0, 40.0),
    }
}

pub(crate) struct Api {
    endpoint: String,
    limits: Limits,
    /// One gate per service: AWS bounds each service on its own, so an IAM call never waits for an
    /// EC2 slot.
    in_flight: HashMap<Service, Gate>,
    buckets: Mutex<HashMap<(Service, &'static str), Bucket>>,
    /// Ids this process made or adopted, per service (a role and a function may share a name), and
    /// when.
    fresh: Mutex<HashMap<(Service, String), Instant>>,
    /// Once the endpoint has failed to answer a request three times, every later request fails at
    /// once with the same verdict: a hung endpoint ends the run in minutes, not in hours of timeouts.
    unreachable: Mutex<Option<String>>,
}

impl Api {
    pub fn new(endpoint: String, limits: Limits) -> Api {
        Api {
            endpoint,
            in_flight: [Service::Ec2, Service::Iam, Service::Lambda, Service::Ssm]
                .into_iter()
                .map(|s| (s, Gate::new(limits.max_in_flight.max(1))))
                .collect(),
            limits,
            buckets: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashMap::new()),
            unreachable: Mutex::new(None),
        }
    }

    /// Marks an id as just made: for a while, NotFound for it is eventual consistency.
    pub fn made(&self, service: Service, id: &str) {
        self.fresh
            .lock()
            .expect("fresh")
            .insert((service, id.to_string()), Instant::now());
    }

    /// A delete went through: a NotFound for these ids is no longer news.
    fn forget(&self, call: &Call) {
        let mut fresh = self.fresh.lock().expect("fresh");
        for n in &call.names {
            fresh.remove(&(call.service, n.clone()));
        }
    }

    fn is_fresh(&self, call: &Call) -> bool {
        let fresh = self.fresh.lock().expect("fresh");
        call.names.iter().any(|n| {
            fresh
                .get(&(call.service, n.clone()))
                .is_some_and(|t| t.elapsed() < self.limits.consistency_window)
        })
    }

    async fn take_token(&self, call: &Call) {
        loop {
            let wait = {
                let mut buckets = self.buckets.lock().expect("buckets");
                let b = buckets
                    .entry((call.service, call.action))
                    .or_insert_with(|| {
                        let (c, r) = bucket_size(call.service, call.action);
                        Bucket::new(c, r)
                    });
                match b.take() {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    fn bucket(&self, call: &Call, f: impl FnOnce(&mut Bucket)) {
        if let Some(b) = self
            .buckets
            .lock()
            .expect("buckets")
            .get_mut(&(call.service, call.action))
        {
            f(b);
        }
    }

    fn pause(&self, attempt: u32) -> Duration {
        let cap = self
            .limits
            .first_pause
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.limits.max_pause);
        let half = cap / 2;
        half + Duration::from_millis(
            rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64),
        )
    }

    /// Sends one request (built anew by `f` for each attempt), with the decisions in the module docs.
    pub async fn send<T, E, F, Fut>(&self, call: Call, f: F) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        self.send_accepting(call, &[], f).await
    }

    /// `send`, where an answer with one of the `final_codes` is returned at once, never retried (an
    /// `ensure`'s "it already holds": a rule already gone is not a group AWS does not know yet).
    async fn send_accepting<T, E, F, Fut>(
        &self,
        call: Call,
        final_codes: &[&str],
        f: F,
    ) -> Result<T, ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let Some(verdict) = self.unreachable.lock().expect("unreachable").clone() {
            return Err(ProviderError::new(
                ErrorKind::Unreachable,
                format!("{}: not sent — {verdict}", call.action),
            ));
        }
        let started = Instant::now();
        let mut attempt: u32 = 0;
        let mut unanswered: u32 = 0;
        // An earlier attempt may have been carried out (its answer was lost).
        let mut maybe_done = false;
        // When a delete that may have been carried out first answered NotFound.
        let mut first_ambiguous: Option<Instant> = None;
        loop {
            attempt += 1;
            self.take_token(&call).await;
            let sent = Instant::now();
            let result = {
                let _slot = self.in_flight[&call.service].enter(priority()).await;
                f().await
            };
            let took = sent.elapsed();
            let e = match result {
                Ok(out) => {
                    self.bucket(&call, Bucket::succeeded);
                    if call.effect == Effect::Delete {
                        self.forget(&call);
                    }
                    tracing::debug!(
                        "{}{} ok in {}ms{}",
                        call.action,
                        call.target(),
                        took.as_millis(),
                        if attempt > 1 {
                            format!(" (attempt {attempt})")
                        } else {
                            String::new()
                        }
                    );
                    tracing::trace!(
                        "{} request id {}",
                        call.action,
                        out.request_id().unwrap_or("-")
                    );
                    return Ok(out);
                }
                Err(e) => e,
            };
            tracing::trace!(
                "{} request id {}",
                call.action,
                e.request_id().unwrap_or("-")
            );
            let (err, ending) = from_sdk(call.action, &e);
            if err
                .code
                .as_deref()
                .is_some_and(|c| final_codes.contains(&c))
            {
                tracing::debug!(
                    "{}{} failed in {}ms: {} — it already holds",
                    call.action,
                    call.target(),
                    took.as_millis(),
                    err
                );
                return Err(err);
            }
            let retry = match err.kind {
                ErrorKind::Throttled => {
                    self.bucket(&call, Bucket::throttled);
                    started.elapsed() < self.limits.retry_budget
                }
                ErrorKind::Unavailable => {
                    if ending != Ending::Answered {
                        unanswered += 1;
                        if unanswered >= self.limits.unanswered_attempts {
                            let what = if ending == Ending::TimedOut {
                                "timed out"
                            } else {
                                "could not connect"
                            };
                            tracing::debug!("{}{} {what}: giving up", call.action, call.target());
                            let verdict = format!(
                                "no answer from {} to {} after {unanswered} attempts ({what}; last: {})",
                                self.endpoint, call.action, err.message
                            );
                            *self.unreachable.lock().expect("unreachable") = Some(verdict.clone());
                            return Err(ProviderError::new(
                                ErrorKind::Unreachable,
                                format!("{}: {verdict}", call.action),
                            ));
                        }
                    }
                    if call.effect == Effect::Create {
                        // The caller looks for what the request may have made before sending it again.
                        tracing::debug!(
                            "{}{} outcome unknown after {}ms: {}",
                            call.action,
                            call.target(),
                            took.as_millis(),
                            err
                        );
                        return Err(err);
                    }
                    maybe_done = true;
                    started.elapsed() < self.limits.retry_budget
                }
                // A fresh id's NotFound is AWS not knowing it yet. A delete answered NotFound after
                // a failed attempt is ambiguous for a fresh id (done, or not seen yet): it is sent
                // again for a bounded while, then the NotFound is believed.
                ErrorKind::NotFound => {
                    if call.effect == Effect::Delete && maybe_done {
                        let since = *first_ambiguous.get_or_insert_with(Instant::now);
                        self.is_fresh(&call)
                            && since.elapsed() < self.limits.ambiguous_delete_window
                    } else {
                        self.is_fresh(&call)
                    }
                }
                ErrorKind::DependencyViolation => {
                    call.service == Service::Lambda
                        && call.effect != Effect::Create
                        && err.code.as_deref() == Some("ResourceConflictException")
                        && started.elapsed() < self.limits.retry_budget
                }
                _ => false,
            };
            let pause = self.pause(attempt);
            tracing::debug!(
                "{}{} failed in {}ms: {}{}",
                call.action,
                call.target(),
                took.as_millis(),
                err,
                if retry {
                    format!(" — retrying in {}ms", pause.as_millis())
                } else {
                    String::new()
                }
            );
            if !retry {
                if call.effect == Effect::Delete && err.kind == ErrorKind::NotFound {
                    self.forget(&call);
                }
                return Err(err);
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// A change whose goal may already hold: these error codes (a rule that exists, a route already
    /// there, a gateway already detached) mean it does, whether or not an earlier attempt did it.
    pub async fn ensure<T, E, F, Fut>(
        &self,
        call: Call,
        holds_if: &[&str],
        f: F,
    ) -> Result<(), ProviderError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        T: RequestId,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        match self.send_accepting(call, holds_if, f).await {
            Ok(_) => Ok(()),
            Err(e) if e.code.as_deref().is_some_and(|c| holds_if.contains(&c)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

tokio::task_local! {
    /// The priority of the create being carried out on this task (`CreateRequest::priority`).
    pub(crate) static PRIORITY: u32;
}

fn priority() -> u32 {
    PRIORITY.try_with(|p| *p).unwrap_or(0)
}

/// At most `n` requests in flight; a freed slot goes to the waiting request of the highest priority
/// (the longest chain still ahead of its step), the earliest first among equals — so when a run has
/// hundreds of requests queued, the ones on its critical path go first.
struct Gate {
    state: Mutex<GateState>,
}

struct GateState {
    free: usize,
    waiting: std::collections::BinaryHeap<Waiter>,
    seq: u64,
}

struct Waiter {
    priority: u32,
    seq: u64,
    tx: tokio::sync::oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, o: &Self) -> bool {
        (self.priority, self.seq) == (o.priority, o.seq)
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Waiter {
    /// Higher priority first, then the earlier arrival.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.priority
            .cmp(&o.priority)
            .then_with(|| o.seq.cmp(&self.seq))
    }
}

/// A slot in flight; given to the next waiter (or back to the pool) when dropped.
struct Slot<'g>(&'g Gate);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.release();
    }
}

/// A wait for a slot; if dropped after a slot was handed to it, the slot is passed on.
struct Waiting<'g> {
    gate: &'g Gate,
    rx: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Some(mut rx) = self.rx.take() {
            rx.close();
            if rx.try_recv().is_ok() {
                self.gate.release();
            }
        }
    }
}

impl Gate {
    fn new(n: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                free: n,
                waiting: std::collections::BinaryHeap::new(),
                seq: 0,
            }),
        }
    }

    async fn enter(&self, priority: u32) -> Slot<'_> {
        let rx = {
            let mut s = self.state.lock().expect("gate");
            if s.free > 0 && s.waiting.is_empty() {
                s.free -= 1;
                return Slot(self);
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            s.seq += 1;
            let seq = s.seq;
            s.waiting.push(Waiter { priority, seq, tx });
            rx
        };
        let mut w = Waiting {
            gate: self,
            rx: Some(rx),
        };
        let handed = w.rx.as_mut().expect("set above").await;
        w.rx = None;
        // The sender is only dropped with the gate itself.
        debug_assert!(handed.is_ok());
        Slot(self)
    }

    fn release(&self) {
        let mut s = self.state.lock().expect("gate");
        while let Some(w) = s.waiting.pop() {
            if w.tx.send(()).is_ok() {
                return;
            }
        }
        s.free += 1;
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[tokio::test]
    async fn a_freed_slot_goes_to_the_highest_priority_then_the_earliest() {
        let gate = std::sync::Arc::new(Gate::new(1));
        let first = gate.enter(0).await;
        let order = std::sync::Arc::new(Mutex::new(vec![]));
        let mut tasks = vec![];
        for (name, p) in [("low", 1u32), ("high", 100), ("high2", 100), ("mid", 50)] {
            let (g, o) = (gate.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = g.enter(p).await;
                o.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["high", "high2", "mid", "low"]);
    }

    #[tokio::test]
    async fn a_wait_given_up_passes_its_slot_on() {
        let gate = std::sync::Arc::new(Gate::new(1));
        let first = gate.enter(0).await;
        let g = gate.clone();
        let abandoned = tokio::spawn(async move {
            let _ = g.enter(5).await;
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        abandoned.abort();
        let _ = abandoned.await;
        drop(first);
        let later = tokio::time::timeout(Duration::from_secs(1), gate.enter(1)).await;
        assert!(later.is_ok(), "the slot was not lost");
    }
}
