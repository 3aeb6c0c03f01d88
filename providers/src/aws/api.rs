//! The request layer every AWS call goes through. One request is sent in named steps:
//!
//! 1. **`refused_unsent`** — an endpoint declared unreachable (per service: `UNANSWERED` attempts in a
//!    row got no answer) fails a call at once for a while (`UNREACHABLE_PROBE`), then lets one through
//!    as a probe; any answer clears the verdict. A hung IAM never stops EC2's calls.
//! 2. **`take_token`** — a client-side token bucket per (service, action), sized as EC2 documents its
//!    buckets (mutating 200 refilled at 5/s, describe 100 at 20/s, RunInstances 50 at 5/s; Lambda and
//!    IAM conservatively); a throttled answer empties the bucket and halves its refill rate, which
//!    recovers with each success (AIMD).
//! 3. **`attempt`** — the request itself, holding one of at most `max_in_flight` slots of its service
//!    (`--parallelism`; a gate that serves the highest priority first, held for the request alone,
//!    never while an object is waited on).
//! 4. **`decide`** — what a failed attempt means (a pure function, table-tested): throttling is
//!    retried (AWS refused before acting); a 5xx, timeout or broken connection leaves the outcome
//!    unknown — retried for what can be repeated (`Effect::Read`, `Repeatable`, `Delete`), returned
//!    to the caller for what cannot (`Effect::Once`: a create looks before sending again, an Invoke
//!    is never repeated); a NotFound whose message names an id this process made moments ago is
//!    eventual consistency (retried within `CONSISTENCY` of its making) — a NotFound about anything
//!    else (a managed policy that does not exist) is final; a delete that may have been done answers
//!    NotFound ambiguously and is sent again for `AMBIGUOUS_DELETE`; a busy Lambda function's 409 is
//!    retried.
//! 5. Retries pause by `retry::Backoff::REQUEST` and stop at `retry::REQUEST`, and never past the
//!    deadline of the step they run in (`netplan_engine::retry`).
//!
//! Every attempt is a tracing event (`-v`: action, target, duration, retries and why; `-vv`: AWS's
//! request ids). The SDK's own retries are off.

use super::errors::{from_sdk, Ending};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::operation::RequestId;
use netplan_engine::provider::{ErrorKind, ProviderError};
use netplan_engine::retry::{self, Backoff};
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
    /// Service Quotas (the account's quotas, read by plan).
    Quotas,
    /// STS (who is asking, for the messages of a denied call).
    Sts,
}

impl Service {
    /// The prefix IAM names this service's actions with.
    pub fn iam_prefix(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Lambda => "lambda",
            Service::Ssm => "ssm",
            Service::Quotas => "servicequotas",
            Service::Sts => "sts",
        }
    }

    /// The service whose API names objects of `kind`.
    pub fn of(kind: netplan_engine::Kind) -> Service {
        match kind {
            netplan_engine::Kind::IamRole => Service::Iam,
            netplan_engine::Kind::LambdaFunction => Service::Lambda,
            _ => Service::Ec2,
        }
    }
}

/// What a request does, which decides whether it may be sent again after an unknown outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Reads: always safe to repeat.
    Read,
    /// Changes that are safe to send again (set an attribute, attach, tag, a create with a
    /// ClientToken): a second send ends where the first would have.
    Repeatable,
    /// Done at most once: a create without a ClientToken (its caller looks for what it may have made
    /// before sending it again), an Invoke (it runs the function). An unknown outcome goes back to the
    /// caller.
    Once,
    /// A delete: NotFound after an attempt that may have taken effect means it did.
    Delete,
}

/// One AWS request: which action, what it does, and the ids it names.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    pub service: Service,
    pub action: &'static str,
    pub effect: Effect,
    /// The ids (or names) this request names (a NotFound for one made moments ago is eventual
    /// consistency).
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
    pub fn quotas(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Quotas, action, effect)
    }
    pub fn sts(action: &'static str, effect: Effect) -> Call {
        Call::new(Service::Sts, action, effect)
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

/// Timing knobs (the defaults are `netplan_engine::retry`'s table, for AWS; an emulator shortens the
/// backoff).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_in_flight: usize,
    pub backoff: Backoff,
    /// How long a throttled or failing (5xx) request keeps being retried before the error goes up.
    pub retry_budget: Duration,
    /// Unanswered attempts in a row (per service) before its endpoint is declared unreachable.
    pub unanswered_attempts: u32,
    /// After that verdict, calls fail at once for this long; the next is sent once, as a probe.
    pub probe_after: Duration,
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
            backoff: Backoff::REQUEST,
            retry_budget: retry::REQUEST,
            unanswered_attempts: retry::UNANSWERED,
            probe_after: retry::UNREACHABLE_PROBE,
            consistency_window: retry::CONSISTENCY,
            ambiguous_delete_window: retry::AMBIGUOUS_DELETE,
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
            // At least a millisecond: a bucket a hair short of a token (0.9999999) would otherwise
            // say "wait 0 ns", and a caller on a paused clock (the tests) would spin without time
            // ever passing.
            Err(Duration::from_secs_f64(
                ((1.0 - self.tokens) / self.rate).max(0.001),
            ))
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

/// AWS's bucket for an action: (capacity, refill per second) — one table with the estimate's
/// (`crate::facts::bucket`).
fn bucket_size(service: Service, action: &str) -> (f64, f64) {
    crate::facts::bucket(service.iam_prefix(), action)
}

/// One request's attempts so far: what `decide` reads and updates.
#[derive(Debug, Clone)]
pub(crate) struct Attempts {
    pub count: u32,
    pub started: Instant,
    /// An earlier attempt may have been carried out (its answer was lost).
    pub maybe_done: bool,
    /// When a delete that may have been carried out first answered NotFound.
    pub first_ambiguous: Option<Instant>,
}

impl Attempts {
    fn new(now: Instant) -> Attempts {
        Attempts {
            count: 0,
            started: now,
            maybe_done: false,
            first_ambiguous: None,
        }
    }
}

/// What the layer knows beside the error when it decides.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seen {
    pub now: Instant,
    /// The error's message names an id this process made, and when it was made.
    pub fresh_since: Option<Instant>,
    /// Unanswered attempts in a row on this service, this one counted.
    pub unanswered_in_a_row: u32,
}

/// What to do with a failed attempt.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Decision {
    /// Send it again after a pause, if the pause ends before `until` (and the step's deadline).
    Retry { until: Instant, why: &'static str },
    /// Give the error to the caller.
    Return,
    /// The service's endpoint does not answer: declare it unreachable, and give up.
    Unreachable,
}

/// Decides what a failed attempt means (the rules in the module docs). Pure: the table-driven tests
/// below run it on many cases.
pub(crate) fn decide(
    call: &Call,
    err: &ProviderError,
    ending: Ending,
    a: &mut Attempts,
    seen: Seen,
    limits: &Limits,
) -> Decision {
    let budget = a.started + limits.retry_budget;
    match err.kind {
        ErrorKind::Throttled => Decision::Retry {
            until: budget,
            why: "throttled",
        },
        ErrorKind::Unavailable => {
            if ending != Ending::Answered && seen.unanswered_in_a_row >= limits.unanswered_attempts
            {
                return Decision::Unreachable;
            }
            if call.effect == Effect::Once {
                // The caller looks for what the request may have made before sending it again (a
                // create), or never sends it again (an Invoke).
                return Decision::Return;
            }
            a.maybe_done = a.maybe_done || call.effect != Effect::Read;
            Decision::Retry {
                until: budget,
                why: "no answer or a 5xx",
            }
        }
        ErrorKind::NotFound => {
            let Some(made) = seen.fresh_since else {
                return Decision::Return;
            };
            let window = made + limits.consistency_window;
            if call.effect == Effect::Delete && a.maybe_done {
                // Done and its answer lost, or not visible yet: sent again for a bounded while.
                let since = *a.first_ambiguous.get_or_insert(seen.now);
                Decision::Retry {
                    until: window.min(since + limits.ambiguous_delete_window),
                    why: "a delete that may have been done answers NotFound",
                }
            } else {
                Decision::Retry {
                    until: window,
                    why: "an id just made is not visible yet",
                }
            }
        }
        ErrorKind::DependencyViolation
            if call.service == Service::Lambda
                && call.effect != Effect::Once
                && err.code.as_deref() == Some("ResourceConflictException") =>
        {
            Decision::Retry {
                until: budget,
                why: "the function is busy",
            }
        }
        _ => Decision::Return,
    }
}

/// Whether an endpoint answers, per service: unanswered attempts in a row, and the verdict once there
/// were too many.
#[derive(Default)]
struct Reachability {
    unanswered: HashMap<Service, u32>,
    /// Since when, and why, a service's endpoint is declared unreachable.
    verdict: HashMap<Service, (Instant, String)>,
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
    reach: Mutex<Reachability>,
}

impl Api {
    pub fn new(endpoint: String, limits: Limits) -> Api {
        Api {
            endpoint,
            in_flight: [
                Service::Ec2,
                Service::Iam,
                Service::Lambda,
                Service::Ssm,
                Service::Quotas,
                Service::Sts,
            ]
            .into_iter()
            .map(|s| (s, Gate::new(limits.max_in_flight.max(1))))
            .collect(),
            limits,
            buckets: Mutex::new(HashMap::new()),
            fresh: Mutex::new(HashMap::new()),
            reach: Mutex::new(Reachability::default()),
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

    /// When the id a NotFound is about was made, if this process made it: the message must name it
    /// (AWS's messages do: "The vpc ID 'vpc-…' does not exist", "Function not found: …:function:NAME",
    /// "The role with name NAME cannot be found") — a NotFound about something else the call names
    /// (a managed policy) is not eventual consistency.
    fn fresh_named(&self, call: &Call, err: &ProviderError) -> Option<Instant> {
        let fresh = self.fresh.lock().expect("fresh");
        call.names
            .iter()
            .filter(|n| !n.is_empty() && err.message.contains(n.as_str()))
            .filter_map(|n| fresh.get(&(call.service, n.clone())).copied())
            .max()
    }

    /// Step 1: a call to a service declared unreachable fails unsent, unless it is time for a probe.
    fn refused_unsent(&self, call: &Call) -> Option<ProviderError> {
        let reach = self.reach.lock().expect("reach");
        let (since, verdict) = reach.verdict.get(&call.service)?;
        if since.elapsed() >= self.limits.probe_after {
            return None; // a probe: sent once
        }
        Some(ProviderError::new(
            ErrorKind::Unreachable,
            format!("{}: not sent — {verdict}", call.action),
        ))
    }

    /// Counts an attempt that got no answer (`false`) or one that did (`true`, which also clears the
    /// service's verdict); returns the unanswered attempts in a row.
    fn answered(&self, service: Service, answered: bool) -> u32 {
        let mut reach = self.reach.lock().expect("reach");
        if answered {
            reach.unanswered.remove(&service);
            reach.verdict.remove(&service);
            0
        } else {
            let n = reach.unanswered.entry(service).or_insert(0);
            *n += 1;
            *n
        }
    }

    /// Step 2: a token of the action's bucket (waiting for one).
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
        if let Some(e) = self.refused_unsent(&call) {
            return Err(e);
        }
        let mut a = Attempts::new(Instant::now());
        loop {
            a.count += 1;
            self.take_token(&call).await;
            let sent = Instant::now();
            // Step 3: the attempt, holding a slot of its service.
            let result = {
                let _slot = self.in_flight[&call.service].enter(priority()).await;
                f().await
            };
            let took = sent.elapsed();
            let e = match result {
                Ok(out) => {
                    self.answered(call.service, true);
                    self.bucket(&call, Bucket::succeeded);
                    if call.effect == Effect::Delete {
                        self.forget(&call);
                    }
                    tracing::debug!(
                        "{}{} ok in {}ms{}",
                        call.action,
                        call.target(),
                        took.as_millis(),
                        if a.count > 1 {
                            format!(" (attempt {})", a.count)
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
            let in_a_row = self.answered(call.service, ending == Ending::Answered);
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
            if err.kind == ErrorKind::Throttled {
                self.bucket(&call, Bucket::throttled);
            }
            // Step 4: what the failure means.
            let seen = Seen {
                now: Instant::now(),
                fresh_since: if err.kind == ErrorKind::NotFound {
                    self.fresh_named(&call, &err)
                } else {
                    None
                },
                unanswered_in_a_row: in_a_row,
            };
            let decision = decide(&call, &err, ending, &mut a, seen, &self.limits);
            // Step 5: a retry only when its pause ends in time.
            let pause = self.limits.backoff.pause(a.count);
            let retry = match &decision {
                Decision::Retry { until, .. } => {
                    Instant::now() + pause <= *until
                        && retry::current_deadline().is_none_or(|d| Instant::now() + pause <= d)
                }
                _ => false,
            };
            tracing::debug!(
                "{}{} failed in {}ms: {}{}",
                call.action,
                call.target(),
                took.as_millis(),
                err,
                match &decision {
                    Decision::Retry { why, .. } if retry =>
                        format!(" — {why}: retrying in {}ms", pause.as_millis()),
                    Decision::Unreachable => " — the endpoint does not answer: giving up".into(),
                    _ => String::new(),
                }
            );
            if decision == Decision::Unreachable {
                let what = if ending == Ending::TimedOut {
                    "timed out"
                } else {
                    "could not connect"
                };
                let verdict = format!(
                    "no answer from {} to {} after {in_a_row} attempts in a row ({what}; last: {})",
                    self.endpoint, call.action, err.message
                );
                self.reach
                    .lock()
                    .expect("reach")
                    .verdict
                    .insert(call.service, (Instant::now(), verdict.clone()));
                return Err(ProviderError::new(
                    ErrorKind::Unreachable,
                    format!("{}: {verdict}", call.action),
                ));
            }
            if !retry {
                if call.effect == Effect::Delete && err.kind == ErrorKind::NotFound {
                    self.forget(&call);
                }
                if err.kind == ErrorKind::Denied {
                    return Err(ProviderError {
                        message: format!(
                            "{}:{} was denied: {} — `netplan policy` prints the permissions a run of this config needs",
                            call.service.iam_prefix(),
                            call.action,
                            err.message
                        ),
                        ..err
                    });
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

#[cfg(test)]
mod decide_tests {
    use super::*;
    use aws_sdk_ec2::config::http::HttpResponse;
    use aws_sdk_ec2::error::ErrorMetadata;
    use aws_sdk_ec2::operation::describe_vpcs::{DescribeVpcsError, DescribeVpcsOutput};

    /// What a case expects: retried within `secs` of now (or of the request's start), returned, or
    /// the endpoint declared unreachable.
    #[derive(Debug, PartialEq)]
    enum Want {
        RetryFor(u64),
        Return,
        Unreachable,
    }

    fn err(kind: ErrorKind, code: &str, message: &str) -> ProviderError {
        ProviderError::new(kind, message).code(code)
    }

    /// call's (service, effect, names), the error, how it ended, an earlier lost answer, when the id
    /// the error names was made (seconds ago), unanswered in a row → what the layer does.
    #[test]
    fn decide_table() {
        use Effect::*;
        use ErrorKind as K;
        use Service::*;
        let limits = Limits::default();
        #[allow(clippy::type_complexity)]
        let cases: &[(
            &str,
            Service,
            Effect,
            ProviderError,
            Ending,
            bool,
            Option<u64>,
            u32,
            Want,
        )] = &[
            (
                "a throttle is retried for the request budget",
                Ec2,
                Repeatable,
                err(K::Throttled, "RequestLimitExceeded", "slow down"),
                Ending::Answered,
                false,
                None,
                0,
                Want::RetryFor(120),
            ),
            (
                "a throttled create is retried too (refused before acting)",
                Ec2,
                Once,
                err(K::Throttled, "RequestLimitExceeded", "slow down"),
                Ending::Answered,
                false,
                None,
                0,
                Want::RetryFor(120),
            ),
            (
                "a 5xx on a read is retried",
                Ec2,
                Read,
                err(K::Unavailable, "InternalError", "oops"),
                Ending::Answered,
                false,
                None,
                0,
                Want::RetryFor(120),
            ),
            (
                "a 5xx on a repeatable write is retried",
                Ec2,
                Repeatable,
                err(K::Unavailable, "InternalError", "oops"),
                Ending::Answered,
                false,
                None,
                0,
                Want::RetryFor(120),
            ),
            (
                "a 5xx on a create goes back to the caller, who looks first",
                Ec2,
                Once,
                err(K::Unavailable, "InternalError", "oops"),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "an Invoke that timed out is never sent again",
                Lambda,
                Once,
                err(K::Unavailable, "", "timeout"),
                Ending::TimedOut,
                false,
                None,
                1,
                Want::Return,
            ),
            (
                "a timeout on a read is retried while the endpoint has answered lately",
                Iam,
                Read,
                err(K::Unavailable, "", "timeout"),
                Ending::TimedOut,
                false,
                None,
                2,
                Want::RetryFor(120),
            ),
            (
                "the third unanswered attempt in a row on a service: unreachable",
                Iam,
                Read,
                err(K::Unavailable, "", "timeout"),
                Ending::TimedOut,
                false,
                None,
                3,
                Want::Unreachable,
            ),
            (
                "no connection counts as unanswered",
                Ec2,
                Repeatable,
                err(K::Unavailable, "", "refused"),
                Ending::NoConnection,
                false,
                None,
                3,
                Want::Unreachable,
            ),
            (
                "a 5xx is an answer: never unreachable",
                Ec2,
                Read,
                err(K::Unavailable, "InternalError", "oops"),
                Ending::Answered,
                false,
                None,
                7,
                Want::RetryFor(120),
            ),
            (
                "NotFound naming an id made 10 s ago: eventual consistency until 180 s after",
                Ec2,
                Repeatable,
                err(
                    K::NotFound,
                    "InvalidVpcID.NotFound",
                    "The vpc ID 'vpc-1' does not exist",
                ),
                Ending::Answered,
                false,
                Some(10),
                0,
                Want::RetryFor(170),
            ),
            (
                "NotFound about nothing this run made is final",
                Iam,
                Repeatable,
                err(
                    K::NotFound,
                    "NoSuchEntity",
                    "Policy arn:aws:iam::aws:policy/x does not exist or is not attachable.",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "a delete answered NotFound for an id made long ago is done",
                Ec2,
                Delete,
                err(
                    K::NotFound,
                    "InvalidVpcID.NotFound",
                    "The vpc ID 'vpc-1' does not exist",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "a delete whose earlier attempt may have been done: ambiguous for 20 s",
                Ec2,
                Delete,
                err(
                    K::NotFound,
                    "InvalidVpcID.NotFound",
                    "The vpc ID 'vpc-1' does not exist",
                ),
                Ending::Answered,
                true,
                Some(1),
                0,
                Want::RetryFor(20),
            ),
            (
                "a busy function is waited for",
                Lambda,
                Repeatable,
                err(
                    K::DependencyViolation,
                    "ResourceConflictException",
                    "An update is in progress",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::RetryFor(120),
            ),
            (
                "a busy function's create is the engine's to retry",
                Lambda,
                Once,
                err(
                    K::DependencyViolation,
                    "ResourceConflictException",
                    "An update is in progress",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "a DependencyViolation is the engine's to retry (it knows the step)",
                Ec2,
                Delete,
                err(
                    K::DependencyViolation,
                    "DependencyViolation",
                    "has dependencies",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "bad input is final",
                Ec2,
                Repeatable,
                err(K::InvalidInput, "InvalidParameterValue", "bad"),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
            (
                "a role propagating is the engine's to retry",
                Lambda,
                Once,
                err(
                    K::EventualConsistency,
                    "InvalidParameterValueException",
                    "cannot be assumed",
                ),
                Ending::Answered,
                false,
                None,
                0,
                Want::Return,
            ),
        ];
        let mut wrong = vec![];
        for (name, service, effect, e, ending, maybe_done, made_ago, in_a_row, want) in cases {
            let now = Instant::now();
            let call = Call::new(*service, "Action", *effect).on(["vpc-1"]);
            let mut a = Attempts {
                count: 1,
                started: now,
                maybe_done: *maybe_done,
                first_ambiguous: None,
            };
            let seen = Seen {
                now,
                fresh_since: made_ago.map(|s| now - Duration::from_secs(s)),
                unanswered_in_a_row: *in_a_row,
            };
            let got = match decide(&call, e, *ending, &mut a, seen, &limits) {
                Decision::Retry { until, .. } => Want::RetryFor((until - now).as_secs()),
                Decision::Return => Want::Return,
                Decision::Unreachable => Want::Unreachable,
            };
            if got != *want {
                wrong.push(format!("{name}: {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    fn throttled() -> SdkError<DescribeVpcsError, HttpResponse> {
        SdkError::service_error(
            DescribeVpcsError::generic(
                ErrorMetadata::builder()
                    .code("RequestLimitExceeded")
                    .message("Request limit exceeded.")
                    .build(),
            ),
            HttpResponse::new(
                503.try_into().expect("a status"),
                aws_smithy_types::body::SdkBody::empty(),
            ),
        )
    }

    /// A request throttled for ever stops at its budget — and, inside a step, at the step's deadline.
    #[tokio::test(start_paused = true)]
    async fn a_stuck_request_holds_no_longer_than_its_budget_or_the_steps_deadline() {
        let api = Api::new("test".into(), Limits::default());
        let call = || Call::ec2("DescribeVpcs", Effect::Read);
        let send = || async { Err::<DescribeVpcsOutput, _>(throttled()) };
        let start = Instant::now();
        let e = api.send(call(), send).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert!(start.elapsed() <= retry::REQUEST, "{:?}", start.elapsed());
        assert!(start.elapsed() >= retry::REQUEST - Duration::from_secs(11));
        let start = Instant::now();
        let deadline = start + Duration::from_secs(30);
        let e = retry::within(deadline, api.send(call(), send))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::Throttled);
        assert!(Instant::now() <= deadline, "{:?}", start.elapsed());
    }

    /// An IAM endpoint that stopped answering stops neither EC2 nor, after the probe pause, IAM.
    #[tokio::test(start_paused = true)]
    async fn an_unreachable_service_is_its_own_and_is_probed_again() {
        let api = Api::new("test".into(), Limits::default());
        for _ in 0..3 {
            api.answered(Service::Iam, false);
        }
        api.reach
            .lock()
            .unwrap()
            .verdict
            .insert(Service::Iam, (Instant::now(), "no answer from test".into()));
        let iam = Call::iam("GetRole", Effect::Read);
        let ec2 = Call::ec2("DescribeVpcs", Effect::Read);
        assert_eq!(
            api.refused_unsent(&iam).map(|e| e.kind),
            Some(ErrorKind::Unreachable)
        );
        assert!(api.refused_unsent(&ec2).is_none(), "EC2 is not IAM");
        tokio::time::advance(retry::UNREACHABLE_PROBE).await;
        assert!(api.refused_unsent(&iam).is_none(), "a probe goes through");
        api.answered(Service::Iam, true);
        assert!(api.reach.lock().unwrap().verdict.is_empty());
    }
}
