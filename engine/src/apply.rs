//! Apply: converge the cloud to a plan, and undo this run's work when a step fails.
//!
//! # How it runs
//! - The plan becomes a graph of *jobs* (create, update, delete, read, forget). A job starts the moment
//!   its last dependency finishes: the scheduler keeps a count of unfinished dependencies per job and
//!   spawns each job when its count reaches zero. It is never level by level.
//! - Concurrency is limited in exactly one place: a semaphore held around each provider call (and each
//!   retry attempt), so `--parallelism N` means N calls in flight, whatever the graph's shape.
//! - Values "known after apply" are resolved when a job starts, from the objects its dependencies made.
//! - One task owns the state file (the *writer*). Jobs send it mutations and wait for the write to be
//!   durable: a pending operation (with the idempotency token the provider will use) before every
//!   mutation, the object's id the moment the provider returns it. After a kill -9 at any moment the
//!   next run finds the pending operation and `reconcile` adopts or discards it.
//! - Deletes of objects that existed before this run cannot be undone, so they wait for every job that
//!   does not depend on them: a failure before them still rolls back cleanly.
//! - At the first failure no new job starts; in-flight jobs finish; then (unless `rollback` is off)
//!   what this run did is undone by the same scheduler over the reversed graph.
//! - Interrupts: the first stops scheduling and lets in-flight jobs finish (then rolls back, or not,
//!   per the options); the second aborts in-flight jobs, leaving their pending operations for the next
//!   run to reconcile.

use crate::addr::{Kind, ResourceAddr};
use crate::plan::{Action, Plan};
use crate::provider::*;
use crate::schema::{ReplaceOrder, LOCAL_ONLY};
use crate::state::store::StateStore;
use crate::state::{now_rfc3339, Operation, PendingOperation, ResourceState, State};
use crate::value::{Attrs, JsonAttrs, Reference, Value};
use rand::Rng;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Read,
    Create,
    Update,
    Delete,
    DeleteDeposed,
    Forget,
    UndoCreate,
    UndoUpdate,
    UndoRead,
    UndoForget,
}

/// One job: what it does, to which address.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct StepId {
    pub address: ResourceAddr,
    pub kind: StepKind,
}

impl StepId {
    pub fn verb(&self) -> &'static str {
        match self.kind {
            StepKind::Read => "reading",
            StepKind::Create => "creating",
            StepKind::Update => "updating",
            StepKind::Delete | StepKind::DeleteDeposed | StepKind::UndoCreate => "deleting",
            StepKind::Forget => "forgetting",
            StepKind::UndoUpdate => "restoring",
            StepKind::UndoRead | StepKind::UndoForget => "restoring the state of",
        }
    }
}

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dep = if self.kind == StepKind::DeleteDeposed {
            " (old object)"
        } else {
            ""
        };
        write!(f, "{} {}{dep}", self.verb(), self.address)
    }
}

/// What the executor reports as it goes; the CLI turns these into progress lines.
#[derive(Debug, Clone)]
pub enum Event {
    Started {
        step: StepId,
    },
    Progress {
        step: StepId,
        message: String,
    },
    Retrying {
        step: StepId,
        reason: String,
        attempt: u32,
        wait: Duration,
    },
    Finished {
        step: StepId,
        elapsed: Duration,
    },
    Failed {
        step: StepId,
        error: String,
    },
    Skipped {
        step: StepId,
        because: StepId,
    },
    RollbackStarted {
        steps: usize,
    },
    NotUndoable {
        step: StepId,
    },
    Interrupted {
        level: u8,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepStatus {
    Done,
    Failed(String),
    /// A dependency failed (root causes only are errors).
    Skipped(StepId),
    /// Not started because the run stopped.
    NotStarted,
    /// Aborted by a second interrupt: its pending operation is left for the next run.
    Aborted,
}

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub initial: Duration,
    pub max: Duration,
    /// How long a create or update may keep retrying.
    pub create_budget: Duration,
    /// How long a delete may keep retrying (Lambda network interfaces linger 20–45 min on AWS).
    pub delete_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(30),
            create_budget: Duration::from_secs(10 * 60),
            delete_budget: Duration::from_secs(50 * 60),
        }
    }
}

pub struct ApplyOptions {
    pub parallelism: usize,
    pub rollback: bool,
    /// The config's folder: function sources are relative to it.
    pub base_dir: PathBuf,
    pub stack: String,
    pub retry: RetryPolicy,
    /// Incremented by each Ctrl-C.
    pub interrupt: Option<watch::Receiver<u8>>,
    pub events: Option<mpsc::UnboundedSender<Event>>,
}

impl ApplyOptions {
    pub fn new(stack: &str) -> ApplyOptions {
        ApplyOptions {
            parallelism: 10,
            rollback: true,
            base_dir: PathBuf::from("."),
            stack: stack.into(),
            retry: RetryPolicy::default(),
            interrupt: None,
            events: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Applied,
    /// A step failed; with `rolled_back`, everything this run did that could be undone was undone.
    Failed {
        rolled_back: bool,
    },
    /// The rollback itself failed: these objects made by this run remain (and are in the state).
    RollbackIncomplete {
        remaining: Vec<ResourceAddr>,
    },
    Interrupted {
        rolled_back: bool,
    },
}

#[derive(Debug, Clone)]
pub struct ApplyReport {
    pub steps: Vec<(StepId, StepStatus)>,
    /// Undo steps, when a rollback ran.
    pub undo: Vec<(StepId, StepStatus)>,
    /// Deletes that ran and cannot be undone.
    pub not_undoable: Vec<StepId>,
    pub outcome: Outcome,
    pub state: State,
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.outcome == Outcome::Applied
    }
    pub fn failures(&self) -> Vec<(&StepId, &str)> {
        self.steps
            .iter()
            .chain(&self.undo)
            .filter_map(|(s, st)| match st {
                StepStatus::Failed(e) => Some((s, e.as_str())),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("the state file could not be written: {0}")]
    State(String),
    #[error("internal error: {0}")]
    Internal(String),
}

// ---------------------------------------------------------------------------------------------
// The state writer: the one task that writes the state file.

enum Mutation {
    Pending(PendingOperation),
    /// Clears the address's pending operation and applies the change.
    Settle(ResourceAddr, Settle),
}

enum Settle {
    Nothing,
    Upsert(ResourceState),
    Remove {
        deposed: bool,
    },
    /// Marks the live object deposed (a create-then-delete replacement is about to create the new one).
    Depose,
    /// Makes the deposed object live again (undo of a create-then-delete replacement).
    Undepose,
}

type WriterTx = mpsc::Sender<(Mutation, oneshot::Sender<Result<(), String>>)>;

fn spawn_writer(
    mut state: State,
    store: Arc<dyn StateStore>,
) -> (WriterTx, tokio::task::JoinHandle<State>) {
    // Who closes the channel: every job holds a sender clone through `Ctx`; when the last `Ctx` is
    // dropped at the end of `apply`, the loop ends and returns the final state.
    let (tx, mut rx) = mpsc::channel::<(Mutation, oneshot::Sender<Result<(), String>>)>(64);
    let handle = tokio::spawn(async move {
        // Batching: everything queued while the last write ran goes into the next write, and every
        // sender is acknowledged only once that write is durable. One write per mutation would make
        // a large apply quadratic in the state's size.
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let mut acks = Vec::with_capacity(batch.len());
            for (m, ack) in batch {
                apply_mutation(&mut state, m);
                acks.push(ack);
            }
            state.serial += 1;
            let result = store.save(&state).map_err(|e| e.to_string());
            for ack in acks {
                let _ = ack.send(result.clone());
            }
        }
        state
    });
    (tx, handle)
}

fn apply_mutation(state: &mut State, m: Mutation) {
    match m {
        Mutation::Pending(p) => {
            state.pending.retain(|x| x.address != p.address);
            state.pending.push(p);
        }
        Mutation::Settle(addr, s) => {
            state.pending.retain(|x| x.address != addr);
            match s {
                Settle::Nothing => {}
                Settle::Upsert(r) => state.upsert(r),
                Settle::Remove { deposed } => {
                    state.remove(&addr, deposed);
                }
                Settle::Depose => {
                    if let Some(mut r) = state.remove(&addr, false) {
                        r.deposed = true;
                        state.remove(&addr, true);
                        state.upsert(r);
                    }
                }
                Settle::Undepose => {
                    if let Some(mut r) = state.remove(&addr, true) {
                        r.deposed = false;
                        state.upsert(r);
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Jobs.

#[derive(Debug, Clone)]
enum Job {
    Read {
        id: String,
        known: Option<ResourceState>,
    },
    Create {
        config: Attrs,
        deps: Vec<ResourceAddr>,
        depose_first: bool,
    },
    Update {
        config: Attrs,
        changed: Vec<String>,
        deps: Vec<ResourceAddr>,
    },
    Delete {
        deposed: bool,
    },
    Forget,
    UndoCreate {
        restore_deposed: bool,
    },
    UndoUpdate {
        before: ResourceState,
    },
    UndoRead,
    UndoForget {
        before: ResourceState,
    },
}

struct Node {
    step: StepId,
    job: Job,
    irreversible: bool,
}

/// Shared by every job of a run.
struct Ctx {
    provider: Arc<dyn Provider>,
    permits: Semaphore,
    writer: WriterTx,
    /// Live objects by address: what references resolve against.
    live: Mutex<HashMap<ResourceAddr, ResourceState>>,
    deposed: Mutex<HashMap<ResourceAddr, ResourceState>>,
    /// What each job changed, for undo: address → state before the job.
    before: Mutex<HashMap<StepId, Option<ResourceState>>>,
    events: Option<mpsc::UnboundedSender<Event>>,
    retry: RetryPolicy,
    base_dir: PathBuf,
    stack: String,
}

impl Ctx {
    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    async fn write(&self, m: Mutation) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.writer
            .send((m, ack))
            .await
            .map_err(|_| "the state writer stopped".to_string())?;
        done.await
            .map_err(|_| "the state writer stopped".to_string())?
            .map_err(|e| format!("the state file could not be written: {e}"))
    }

    /// Records an object as its address's live state: durable in the state file first, then visible
    /// to the references of jobs that start after this one.
    async fn record(&self, r: ResourceState) -> Result<(), String> {
        let addr = r.address.clone();
        self.write(Mutation::Settle(addr.clone(), Settle::Upsert(r.clone())))
            .await?;
        self.live.lock().expect("live").insert(addr, r);
        Ok(())
    }

    /// The live object at an address, which an update needs to exist.
    fn live_object(&self, addr: &ResourceAddr) -> Result<ResourceState, String> {
        self.live
            .lock()
            .expect("live")
            .get(addr)
            .cloned()
            .ok_or_else(|| format!("{addr} is not in the state"))
    }

    fn resolve(&self, attrs: &Attrs) -> Result<JsonAttrs, String> {
        let live = self.live.lock().expect("live lock");
        let mut missing = None;
        let mut resolver = |r: &Reference| -> Value {
            match live.get(&r.addr) {
                Some(o) if r.attr == "id" => Value::Str(o.id.clone()),
                Some(o) => match o.attributes.get(&r.attr) {
                    Some(v) => Value::from_json(v),
                    None => {
                        missing = Some(r.clone());
                        Value::Null
                    }
                },
                None => {
                    missing = Some(r.clone());
                    Value::Null
                }
            }
        };
        let out: JsonAttrs = attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.resolve(&mut resolver).to_json()))
            .collect();
        match missing {
            Some(r) => Err(format!("{r} is not known: its object does not exist")),
            None => Ok(out),
        }
    }

    fn progress_fn(self: &Arc<Self>, step: &StepId) -> ProgressFn {
        let tx = self.events.clone();
        let step = step.clone();
        Arc::new(move |_addr: &ResourceAddr, msg: &str| {
            if let Some(tx) = &tx {
                let _ = tx.send(Event::Progress {
                    step: step.clone(),
                    message: msg.to_string(),
                });
            }
        })
    }

    /// Calls the provider under the semaphore, retrying what the provider marks retryable with jittered
    /// exponential backoff until the budget is spent.
    async fn call<T, F, Fut>(
        &self,
        step: &StepId,
        budget: Duration,
        mut f: F,
    ) -> Result<T, ProviderError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let start = Instant::now();
        let mut attempt: u32 = 0;
        loop {
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("semaphore never closes");
                f().await
            };
            match result {
                Ok(v) => return Ok(v),
                Err(e) if e.kind.retryable() => {
                    attempt += 1;
                    let cap = self
                        .retry
                        .initial
                        .saturating_mul(1u32 << attempt.min(16))
                        .min(self.retry.max);
                    let half = cap / 2;
                    let jitter = rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64);
                    let wait = e
                        .retry_after
                        .unwrap_or(half + Duration::from_millis(jitter));
                    if start.elapsed() + wait > budget {
                        return Err(ProviderError {
                            message: format!(
                                "{} (still failing after {:.0?} of retries)",
                                e.message,
                                start.elapsed()
                            ),
                            ..e
                        });
                    }
                    self.emit(Event::Retrying {
                        step: step.clone(),
                        reason: e.to_string(),
                        attempt,
                        wait,
                    });
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

fn merged(resolved: &JsonAttrs, returned: &JsonAttrs) -> JsonAttrs {
    let mut out = resolved.clone();
    for (k, v) in returned {
        out.insert(k.clone(), v.clone());
    }
    out
}

/// The state of an object a create made: what was asked, overlaid with what the cloud returned.
fn created(
    addr: &ResourceAddr,
    resolved: &JsonAttrs,
    object: ObjectState,
    deps: Vec<ResourceAddr>,
) -> ResourceState {
    ResourceState {
        address: addr.clone(),
        id: object.id.clone(),
        existing: false,
        deposed: false,
        attributes: merged(resolved, &object.attrs),
        dependencies: deps,
    }
}

fn cloud_attrs(resolved: &JsonAttrs) -> JsonAttrs {
    resolved
        .iter()
        .filter(|(k, _)| !LOCAL_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn code_for(
    ctx: &Ctx,
    addr: &ResourceAddr,
    resolved: &JsonAttrs,
) -> Result<Option<Arc<Vec<u8>>>, String> {
    if addr.kind != Kind::LambdaFunction {
        return Ok(None);
    }
    let Some(src) = resolved.get("source").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    crate::package::package(&ctx.base_dir.join(src))
        .map(|p| Some(Arc::new(p.bytes)))
        .map_err(|e| format!("cannot package {src}: {e}"))
}

async fn run_job(ctx: Arc<Ctx>, step: StepId, job: Job) -> Result<(), String> {
    let addr = step.address.clone();
    let budget_create = ctx.retry.create_budget;
    let budget_delete = ctx.retry.delete_budget;
    let progress = Some(ctx.progress_fn(&step));
    match job {
        Job::Read { id, known } => {
            let obj = match known {
                Some(k) => k,
                None => {
                    let req = ReadRequest {
                        objects: vec![ObjectRef {
                            address: addr.clone(),
                            id: id.clone(),
                        }],
                    };
                    let resp = ctx
                        .call(&step, budget_create, || ctx.provider.read(req.clone()))
                        .await
                        .map_err(|e| e.to_string())?;
                    match resp.objects.into_iter().next().and_then(|(_, o)| o) {
                        Some(o) => ResourceState {
                            address: addr.clone(),
                            id: o.id,
                            existing: true,
                            deposed: false,
                            attributes: o.attrs,
                            dependencies: vec![],
                        },
                        None => {
                            return Err(format!("the existing {} `{id}` was not found", addr.kind))
                        }
                    }
                }
            };
            let obj = ResourceState {
                existing: true,
                dependencies: vec![],
                ..obj
            };
            ctx.record(obj).await
        }
        Job::Create {
            config,
            deps,
            depose_first,
        } => {
            let resolved = ctx.resolve(&config)?;
            let code = code_for(&ctx, &addr, &resolved)?;
            if depose_first {
                ctx.write(Mutation::Settle(addr.clone(), Settle::Depose))
                    .await?;
                if let Some(old) = ctx.live.lock().expect("live").remove(&addr) {
                    ctx.deposed.lock().expect("deposed").insert(
                        addr.clone(),
                        ResourceState {
                            deposed: true,
                            ..old
                        },
                    );
                }
            }
            let token = uuid::Uuid::new_v4().to_string();
            let key = IdempotencyKey {
                token: token.clone(),
                stack: ctx.stack.clone(),
                address: addr.clone(),
            };
            ctx.write(Mutation::Pending(PendingOperation {
                operation: Operation::Create,
                address: addr.clone(),
                id: None,
                token,
                started_at: now_rfc3339(),
                dependencies: deps.clone(),
            }))
            .await?;
            let tags = standard_tags(&ctx.stack, &addr, resolved.get("tags"));
            let req = CreateRequest {
                address: addr.clone(),
                attrs: cloud_attrs(&resolved),
                tags,
                idempotency: key.clone(),
                attempt: 0,
                code,
                progress,
            };
            let attempts = std::sync::atomic::AtomicU32::new(0);
            let result = ctx
                .call(&step, budget_create, || {
                    let mut req = req.clone();
                    req.attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    ctx.provider.create(req)
                })
                .await;
            let object = match result {
                Ok(resp) => resp.object,
                Err(e) => {
                    // A failed create may still have made something (a timeout after AWS acted):
                    // look it up by its key, and record it so that rollback or the next run deletes it.
                    let found = ctx
                        .provider
                        .find(FindRequest {
                            address: addr.clone(),
                            idempotency: key,
                        })
                        .await
                        .ok()
                        .and_then(|f| f.object);
                    match found {
                        Some(o) => ctx.record(created(&addr, &resolved, o, deps)).await?,
                        None => ctx.write(Mutation::Settle(addr, Settle::Nothing)).await?,
                    }
                    return Err(e.to_string());
                }
            };
            ctx.record(created(&addr, &resolved, object, deps)).await
        }
        Job::Update {
            config,
            changed,
            deps,
        } => {
            let resolved = ctx.resolve(&config)?;
            let before = ctx.live_object(&addr)?;
            ctx.before
                .lock()
                .expect("before")
                .insert(step.clone(), Some(before.clone()));
            let record = |o: ObjectState| created(&addr, &resolved, o, deps);
            let result =
                update_object(&ctx, &step, &before, &resolved, changed, progress, record).await;
            if result.is_err() {
                ctx.before.lock().expect("before").remove(&step);
            }
            result
        }
        Job::Delete { deposed } => {
            delete_object(&ctx, &step, deposed, budget_delete, progress).await
        }
        Job::UndoCreate { restore_deposed } => {
            delete_object(&ctx, &step, false, budget_delete, progress).await?;
            if restore_deposed {
                ctx.write(Mutation::Settle(addr.clone(), Settle::Undepose))
                    .await?;
                if let Some(old) = ctx.deposed.lock().expect("deposed").remove(&addr) {
                    ctx.live.lock().expect("live").insert(
                        addr,
                        ResourceState {
                            deposed: false,
                            ..old
                        },
                    );
                }
            }
            Ok(())
        }
        Job::Forget => {
            let old = ctx.live.lock().expect("live").remove(&addr);
            ctx.before.lock().expect("before").insert(step.clone(), old);
            ctx.write(Mutation::Settle(addr, Settle::Remove { deposed: false }))
                .await
        }
        Job::UndoUpdate { before } => {
            let current = ctx.live_object(&addr)?;
            let changed: Vec<String> = before
                .attributes
                .keys()
                .filter(|k| current.attributes.get(*k) != before.attributes.get(*k))
                .cloned()
                .collect();
            let after = before.attributes.clone();
            update_object(&ctx, &step, &current, &after, changed, progress, |_| before).await
        }
        Job::UndoRead => {
            ctx.live.lock().expect("live").remove(&addr);
            ctx.write(Mutation::Settle(addr, Settle::Remove { deposed: false }))
                .await
        }
        Job::UndoForget { before } => ctx.record(before).await,
    }
}

/// One in-place update, shared by apply and rollback: the pending operation first, then the provider
/// call (with retries), then `record(response)` written as the object's state; nothing is recorded when
/// the call fails.
async fn update_object(
    ctx: &Arc<Ctx>,
    step: &StepId,
    current: &ResourceState,
    after: &JsonAttrs,
    changed: Vec<String>,
    progress: Option<ProgressFn>,
    record: impl FnOnce(ObjectState) -> ResourceState,
) -> Result<(), String> {
    let addr = step.address.clone();
    let code = if changed.iter().any(|c| c == "code_sha256") {
        code_for(ctx, &addr, after)?
    } else {
        None
    };
    ctx.write(Mutation::Pending(PendingOperation {
        operation: Operation::Update,
        address: addr.clone(),
        id: Some(current.id.clone()),
        token: uuid::Uuid::new_v4().to_string(),
        started_at: now_rfc3339(),
        dependencies: vec![],
    }))
    .await?;
    let req = UpdateRequest {
        address: addr.clone(),
        id: current.id.clone(),
        before: cloud_attrs(&current.attributes),
        after: cloud_attrs(after),
        changed,
        tags: standard_tags(&ctx.stack, &addr, after.get("tags")),
        code,
        progress,
    };
    match ctx
        .call(step, ctx.retry.create_budget, || {
            ctx.provider.update(req.clone())
        })
        .await
    {
        Ok(resp) => ctx.record(record(resp.object)).await,
        Err(e) => {
            ctx.write(Mutation::Settle(addr, Settle::Nothing)).await?;
            Err(e.to_string())
        }
    }
}

async fn delete_object(
    ctx: &Arc<Ctx>,
    step: &StepId,
    deposed: bool,
    budget: Duration,
    progress: Option<ProgressFn>,
) -> Result<(), String> {
    let addr = step.address.clone();
    let obj = if deposed {
        ctx.deposed.lock().expect("deposed").get(&addr).cloned()
    } else {
        ctx.live.lock().expect("live").get(&addr).cloned()
    };
    let Some(obj) = obj else {
        return Ok(()); // nothing there: already gone
    };
    ctx.before
        .lock()
        .expect("before")
        .insert(step.clone(), Some(obj.clone()));
    let token = uuid::Uuid::new_v4().to_string();
    ctx.write(Mutation::Pending(PendingOperation {
        operation: Operation::Delete,
        address: addr.clone(),
        id: Some(obj.id.clone()),
        token,
        started_at: now_rfc3339(),
        dependencies: vec![],
    }))
    .await?;
    let req = DeleteRequest {
        address: addr.clone(),
        id: obj.id.clone(),
        attrs: obj.attributes.clone(),
        progress,
    };
    match ctx
        .call(step, budget, || ctx.provider.delete(req.clone()))
        .await
    {
        Ok(_) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => {
            ctx.write(Mutation::Settle(addr, Settle::Nothing)).await?;
            return Err(e.to_string());
        }
    }
    ctx.write(Mutation::Settle(addr.clone(), Settle::Remove { deposed }))
        .await?;
    if deposed {
        ctx.deposed.lock().expect("deposed").remove(&addr);
    } else {
        ctx.live.lock().expect("live").remove(&addr);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The job graph.

struct JobGraph {
    nodes: Vec<Node>,
    /// deps[i]: the jobs i waits for.
    deps: Vec<BTreeSet<usize>>,
}

impl JobGraph {
    fn add(&mut self, step: StepId, job: Job, irreversible: bool) -> usize {
        self.nodes.push(Node {
            step,
            job,
            irreversible,
        });
        self.deps.push(BTreeSet::new());
        self.nodes.len() - 1
    }

    fn edge(&mut self, before: usize, after: usize) {
        if before != after {
            self.deps[after].insert(before);
        }
    }

    fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]; self.nodes.len()];
        for (i, ds) in self.deps.iter().enumerate() {
            for d in ds {
                out[*d].push(i);
            }
        }
        out
    }

    fn check_acyclic(&self) -> Result<(), ApplyError> {
        let mut indeg: Vec<usize> = self.deps.iter().map(BTreeSet::len).collect();
        let dependents = self.dependents();
        let mut q: VecDeque<usize> = (0..self.nodes.len()).filter(|i| indeg[*i] == 0).collect();
        let mut seen = 0;
        while let Some(i) = q.pop_front() {
            seen += 1;
            for &d in &dependents[i] {
                indeg[d] -= 1;
                if indeg[d] == 0 {
                    q.push_back(d);
                }
            }
        }
        if seen == self.nodes.len() {
            Ok(())
        } else {
            let stuck: Vec<String> = (0..self.nodes.len())
                .filter(|i| indeg[*i] > 0)
                .map(|i| self.nodes[i].step.to_string())
                .collect();
            Err(ApplyError::Internal(format!(
                "the apply graph has a cycle among: {}",
                stuck.join(", ")
            )))
        }
    }
}

/// Turns a plan into jobs and the edges between them (see the module docs for the rules).
fn build_graph(plan: &Plan, state: &State) -> Result<JobGraph, ApplyError> {
    let mut g = JobGraph {
        nodes: vec![],
        deps: vec![],
    };
    let mut ready: HashMap<ResourceAddr, usize> = HashMap::new();
    let mut deletes: HashMap<(ResourceAddr, bool), usize> = HashMap::new();
    let mut updates: HashMap<ResourceAddr, usize> = HashMap::new();
    let mut replaced_dtc: HashSet<ResourceAddr> = HashSet::new();
    let step = |a: &ResourceAddr, k: StepKind| StepId {
        address: a.clone(),
        kind: k,
    };
    for c in &plan.changes {
        let a = &c.address;
        match c.action {
            Action::NoOp => {}
            Action::Read => {
                let known = state
                    .get(a)
                    .filter(|s| Some(&s.id) == c.id.as_ref())
                    .cloned();
                let i = g.add(
                    step(a, StepKind::Read),
                    Job::Read {
                        id: c.id.clone().unwrap_or_default(),
                        known,
                    },
                    false,
                );
                ready.insert(a.clone(), i);
            }
            Action::Create => {
                let i = g.add(
                    step(a, StepKind::Create),
                    Job::Create {
                        config: c.config.clone().unwrap_or_default(),
                        deps: c.depends_on.clone(),
                        depose_first: false,
                    },
                    false,
                );
                ready.insert(a.clone(), i);
            }
            Action::Update => {
                let changed = c.attributes.iter().map(|x| x.name.clone()).collect();
                let i = g.add(
                    step(a, StepKind::Update),
                    Job::Update {
                        config: c.config.clone().unwrap_or_default(),
                        changed,
                        deps: c.depends_on.clone(),
                    },
                    false,
                );
                ready.insert(a.clone(), i);
                updates.insert(a.clone(), i);
            }
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => {
                let d = g.add(
                    step(a, StepKind::Delete),
                    Job::Delete { deposed: false },
                    true,
                );
                let i = g.add(
                    step(a, StepKind::Create),
                    Job::Create {
                        config: c.config.clone().unwrap_or_default(),
                        deps: c.depends_on.clone(),
                        depose_first: false,
                    },
                    false,
                );
                g.edge(d, i);
                ready.insert(a.clone(), i);
                deletes.insert((a.clone(), false), d);
                replaced_dtc.insert(a.clone());
            }
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => {
                let i = g.add(
                    step(a, StepKind::Create),
                    Job::Create {
                        config: c.config.clone().unwrap_or_default(),
                        deps: c.depends_on.clone(),
                        depose_first: true,
                    },
                    false,
                );
                let d = g.add(
                    step(a, StepKind::DeleteDeposed),
                    Job::Delete { deposed: true },
                    true,
                );
                g.edge(i, d);
                ready.insert(a.clone(), i);
                deletes.insert((a.clone(), true), d);
            }
            Action::Delete => {
                let deposed = state
                    .deposed(a)
                    .is_some_and(|r| Some(&r.id) == c.id.as_ref());
                let kind = if deposed {
                    StepKind::DeleteDeposed
                } else {
                    StepKind::Delete
                };
                let d = g.add(step(a, kind), Job::Delete { deposed }, true);
                deletes.insert((a.clone(), deposed), d);
            }
            Action::Forget => {
                g.add(step(a, StepKind::Forget), Job::Forget, false);
            }
        }
    }
    // (a) creates and updates after what they reference.
    for c in plan.changes.iter().filter(|c| {
        matches!(
            c.action,
            Action::Create | Action::Update | Action::Replace { .. }
        )
    }) {
        let Some(&me) = ready.get(&c.address) else {
            continue;
        };
        for d in &c.depends_on {
            if let Some(&dep) = ready.get(d) {
                g.edge(dep, me);
            }
        }
        // (b) a create-then-delete replacement's old object goes after its dependents moved over.
        for d in &c.depends_on {
            if let Some(&old) = deletes.get(&(d.clone(), true)) {
                g.edge(me, old);
            }
        }
    }
    // (c) a delete waits for whatever in the state still depends on the object.
    for y in &state.resources {
        for x in &y.dependencies {
            for x_dep in [false, true] {
                let Some(&dx) = deletes.get(&(x.clone(), x_dep)) else {
                    continue;
                };
                if let Some(&dy) = deletes.get(&(y.address.clone(), y.deposed)) {
                    g.edge(dy, dx);
                }
                // A deposed-to-be object (create-then-delete) refers to x until it is deleted.
                if !y.deposed {
                    if let Some(&dy) = deletes.get(&(y.address.clone(), true)) {
                        g.edge(dy, dx);
                    }
                }
                // An update that drops the reference goes first, unless x is only being replaced
                // (the update then needs the new x, made after the old one is deleted).
                if let Some(&uy) = updates.get(&y.address) {
                    if !replaced_dtc.contains(x) {
                        g.edge(uy, dx);
                    }
                }
            }
        }
    }
    // (d) delete-only edges AWS needs.
    let by_addr: HashMap<&ResourceAddr, &ResourceState> = state
        .resources
        .iter()
        .filter(|r| !r.deposed)
        .map(|r| (&r.address, r))
        .collect();
    let del = |a: &ResourceAddr| deletes.get(&(a.clone(), false)).copied();
    let mut extra = vec![];
    for f in state
        .resources
        .iter()
        .filter(|r| r.address.kind == Kind::LambdaFunction)
    {
        // The execution role only after the function's network interfaces are gone, which the deletes
        // of its subnets and security groups wait for.
        for role in f.dependencies.iter().filter(|d| d.kind == Kind::IamRole) {
            let Some(dr) = del(role) else { continue };
            for net in f
                .dependencies
                .iter()
                .filter(|d| matches!(d.kind, Kind::Subnet | Kind::SecurityGroup))
            {
                if let Some(dn) = del(net) {
                    extra.push((dn, dr));
                }
            }
        }
    }
    for igw in state
        .resources
        .iter()
        .filter(|r| r.address.kind == Kind::InternetGateway)
    {
        // The internet gateway detached only after the VPC's NAT gateways are gone and their EIPs released.
        let Some(di) = del(&igw.address) else {
            continue;
        };
        let vpcs: Vec<&ResourceAddr> = igw
            .dependencies
            .iter()
            .filter(|d| d.kind == Kind::Vpc)
            .collect();
        for nat in state
            .resources
            .iter()
            .filter(|r| r.address.kind == Kind::NatGateway)
        {
            let in_vpc = nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::Subnet)
                .filter_map(|s| by_addr.get(s))
                .any(|s| s.dependencies.iter().any(|v| vpcs.contains(&v)));
            if !in_vpc {
                continue;
            }
            if let Some(dn) = del(&nat.address) {
                extra.push((dn, di));
            }
            for eip in nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::ElasticIp)
            {
                if let Some(de) = del(eip) {
                    extra.push((de, di));
                }
            }
        }
    }
    for (a, b) in extra {
        g.edge(a, b);
    }
    // (e) irreversible jobs wait for every reversible job that does not depend on one.
    let dependents = g.dependents();
    let mut downstream = vec![false; g.nodes.len()];
    let mut q: VecDeque<usize> = (0..g.nodes.len())
        .filter(|i| g.nodes[*i].irreversible)
        .collect();
    while let Some(i) = q.pop_front() {
        if std::mem::replace(&mut downstream[i], true) {
            continue;
        }
        q.extend(dependents[i].iter().copied());
    }
    let reversible: Vec<usize> = (0..g.nodes.len()).filter(|i| !downstream[*i]).collect();
    let irreversible: Vec<usize> = (0..g.nodes.len())
        .filter(|i| g.nodes[*i].irreversible)
        .collect();
    for &i in &irreversible {
        for &r in &reversible {
            g.edge(r, i);
        }
    }
    g.check_acyclic()?;
    Ok(g)
}

/// Runs a job graph: each job starts when its last dependency finishes. Returns each job's status.
async fn run_graph(
    ctx: &Arc<Ctx>,
    g: &JobGraph,
    stop_on_failure: bool,
    interrupt: &mut Option<watch::Receiver<u8>>,
    hard_stopped: &mut bool,
) -> Vec<StepStatus> {
    let n = g.nodes.len();
    let dependents = g.dependents();
    let mut waiting: Vec<usize> = g.deps.iter().map(BTreeSet::len).collect();
    let mut status: Vec<Option<StepStatus>> = vec![None; n];
    let mut join: JoinSet<(usize, Result<(), String>)> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut stop = false;
    let spawn = |i: usize,
                 join: &mut JoinSet<(usize, Result<(), String>)>,
                 running: &mut HashMap<tokio::task::Id, usize>| {
        let ctx = ctx.clone();
        let node = &g.nodes[i];
        let (step, job) = (node.step.clone(), node.job.clone());
        ctx.emit(Event::Started { step: step.clone() });
        let h = join.spawn(async move {
            let start = Instant::now();
            let r = run_job(ctx.clone(), step.clone(), job).await;
            match &r {
                Ok(()) => ctx.emit(Event::Finished {
                    step,
                    elapsed: start.elapsed(),
                }),
                Err(e) => ctx.emit(Event::Failed {
                    step,
                    error: e.clone(),
                }),
            }
            (i, r)
        });
        running.insert(h.id(), i);
    };
    let ready: Vec<usize> = (0..n).filter(|i| waiting[*i] == 0).collect();
    for i in ready {
        spawn(i, &mut join, &mut running);
    }
    while !join.is_empty() {
        let interrupted = async {
            match interrupt.as_mut() {
                Some(rx) => {
                    if rx.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                    *rx.borrow()
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            level = interrupted => {
                ctx.emit(Event::Interrupted { level });
                stop = true;
                if level >= 2 {
                    *hard_stopped = true;
                    join.abort_all();
                }
            }
            Some(res) = join.join_next_with_id() => {
                let (i, r) = match res {
                    Ok((_, (i, r))) => {
                        running.retain(|_, v| *v != i);
                        (i, r)
                    }
                    Err(e) => {
                        let Some(i) = running.remove(&e.id()) else { continue };
                        status[i] = Some(if e.is_cancelled() { StepStatus::Aborted } else { StepStatus::Failed(format!("the job panicked: {e}")) });
                        continue;
                    }
                };
                match r {
                    Ok(()) => {
                        status[i] = Some(StepStatus::Done);
                        for &d in &dependents[i] {
                            waiting[d] -= 1;
                            if waiting[d] == 0 && !stop {
                                spawn(d, &mut join, &mut running);
                            }
                        }
                    }
                    Err(e) => {
                        status[i] = Some(StepStatus::Failed(e));
                        if stop_on_failure {
                            stop = true;
                        }
                    }
                }
            }
        }
    }
    // Dependents of failures are skipped (root causes only); the rest did not start.
    let mut out: Vec<StepStatus> = status
        .into_iter()
        .map(|s| s.unwrap_or(StepStatus::NotStarted))
        .collect();
    let mut q: VecDeque<usize> = (0..n)
        .filter(|i| matches!(out[*i], StepStatus::Failed(_) | StepStatus::Skipped(_)))
        .collect();
    while let Some(i) = q.pop_front() {
        let cause = match &out[i] {
            StepStatus::Skipped(c) => c.clone(),
            _ => g.nodes[i].step.clone(),
        };
        for &d in &dependents[i] {
            if out[d] == StepStatus::NotStarted {
                out[d] = StepStatus::Skipped(cause.clone());
                ctx.emit(Event::Skipped {
                    step: g.nodes[d].step.clone(),
                    because: cause.clone(),
                });
                q.push_back(d);
            }
        }
    }
    out
}

/// Applies `plan` to the cloud through `provider`, recording every step in `store`. `state` is the
/// current state (refreshed and reconciled); the caller holds the store's lock.
pub async fn apply(
    plan: &Plan,
    state: State,
    provider: Arc<dyn Provider>,
    store: Arc<dyn StateStore>,
    mut opts: ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let graph = build_graph(plan, &state)?;
    let live: HashMap<ResourceAddr, ResourceState> = state
        .resources
        .iter()
        .filter(|r| !r.deposed)
        .map(|r| (r.address.clone(), r.clone()))
        .collect();
    let deposed: HashMap<ResourceAddr, ResourceState> = state
        .resources
        .iter()
        .filter(|r| r.deposed)
        .map(|r| (r.address.clone(), r.clone()))
        .collect();
    let (writer, writer_done) = spawn_writer(state, store);
    let ctx = Arc::new(Ctx {
        provider,
        permits: Semaphore::new(opts.parallelism.max(1)),
        writer,
        live: Mutex::new(live),
        deposed: Mutex::new(deposed),
        before: Mutex::new(HashMap::new()),
        events: opts.events.clone(),
        retry: opts.retry,
        base_dir: opts.base_dir.clone(),
        stack: opts.stack.clone(),
    });
    let mut hard = false;
    let statuses = run_graph(&ctx, &graph, true, &mut opts.interrupt, &mut hard).await;
    let steps: Vec<(StepId, StepStatus)> = graph
        .nodes
        .iter()
        .map(|n| n.step.clone())
        .zip(statuses.iter().cloned())
        .collect();
    let failed = statuses.iter().any(|s| matches!(s, StepStatus::Failed(_)));
    let interrupted = hard
        || statuses
            .iter()
            .any(|s| *s == StepStatus::NotStarted || *s == StepStatus::Aborted)
            && !failed;
    let mut undo_steps = vec![];
    let mut not_undoable = vec![];
    let mut outcome = if failed {
        Outcome::Failed { rolled_back: false }
    } else if interrupted {
        Outcome::Interrupted { rolled_back: false }
    } else {
        Outcome::Applied
    };
    if (failed || interrupted) && opts.rollback && !hard {
        // Undo in reverse: for each finished job its inverse, edges reversed.
        let mut undo = JobGraph {
            nodes: vec![],
            deps: vec![],
        };
        let mut map: HashMap<usize, usize> = HashMap::new();
        let before = ctx.before.lock().expect("before").clone();
        for (i, node) in graph.nodes.iter().enumerate() {
            if statuses[i] != StepStatus::Done {
                continue;
            }
            let a = &node.step.address;
            let (kind, job) = match &node.job {
                Job::Create { depose_first, .. } => (
                    StepKind::UndoCreate,
                    Job::UndoCreate {
                        restore_deposed: *depose_first,
                    },
                ),
                Job::Update { .. } => match before.get(&node.step).cloned().flatten() {
                    Some(b) => (StepKind::UndoUpdate, Job::UndoUpdate { before: b }),
                    None => continue,
                },
                Job::Read { .. } => (StepKind::UndoRead, Job::UndoRead),
                Job::Forget => match before.get(&node.step).cloned().flatten() {
                    Some(b) => (StepKind::UndoForget, Job::UndoForget { before: b }),
                    None => continue,
                },
                Job::Delete { .. } => {
                    not_undoable.push(node.step.clone());
                    ctx.emit(Event::NotUndoable {
                        step: node.step.clone(),
                    });
                    continue;
                }
                _ => continue,
            };
            let j = undo.add(
                StepId {
                    address: a.clone(),
                    kind,
                },
                job,
                false,
            );
            map.insert(i, j);
        }
        for (i, ds) in graph.deps.iter().enumerate() {
            for d in ds {
                if let (Some(&ui), Some(&ud)) = (map.get(&i), map.get(d)) {
                    undo.edge(ui, ud);
                }
            }
        }
        ctx.emit(Event::RollbackStarted {
            steps: undo.nodes.len(),
        });
        let mut no_interrupt = None;
        let mut hard2 = false;
        let ustat = run_graph(&ctx, &undo, false, &mut no_interrupt, &mut hard2).await;
        let remaining: Vec<ResourceAddr> = undo
            .nodes
            .iter()
            .zip(&ustat)
            .filter(|(_, s)| **s != StepStatus::Done)
            .map(|(n, _)| n.step.address.clone())
            .collect();
        undo_steps = undo
            .nodes
            .iter()
            .map(|n| n.step.clone())
            .zip(ustat)
            .collect();
        outcome = if !remaining.is_empty() {
            Outcome::RollbackIncomplete { remaining }
        } else if failed {
            Outcome::Failed { rolled_back: true }
        } else {
            Outcome::Interrupted { rolled_back: true }
        };
    }
    drop(ctx);
    let state = writer_done
        .await
        .map_err(|e| ApplyError::Internal(format!("the state writer failed: {e}")))?;
    Ok(ApplyReport {
        steps,
        undo: undo_steps,
        not_undoable,
        outcome,
        state,
    })
}

/// What reconciling one pending operation found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconciled {
    /// A create that did happen: the object is now tracked.
    Adopted { address: ResourceAddr, id: String },
    /// A create that never came to be.
    NeverCreated { address: ResourceAddr },
    /// An update or delete whose outcome was read back from the cloud.
    Refreshed { address: ResourceAddr, exists: bool },
}

impl fmt::Display for Reconciled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reconciled::Adopted { address, id } => {
                write!(f, "adopted {address} ({id}): an interrupted run created it")
            }
            Reconciled::NeverCreated { address } => {
                write!(f, "{address}: the interrupted create never happened")
            }
            Reconciled::Refreshed {
                address,
                exists: true,
            } => write!(f, "{address}: read back after an interrupted change"),
            Reconciled::Refreshed {
                address,
                exists: false,
            } => write!(f, "{address}: gone after an interrupted delete"),
        }
    }
}

/// Settles the pending operations a crashed run left: the provider looks each create up by its token
/// and tags (adopting what it finds), and reads back each updated or deleted object. Works on the
/// in-memory state; the caller saves it (apply) or only shows it (plan).
pub async fn reconcile(
    provider: &dyn Provider,
    stack: &str,
    state: &mut State,
) -> Result<Vec<Reconciled>, ProviderError> {
    let mut out = vec![];
    for p in std::mem::take(&mut state.pending) {
        match p.operation {
            Operation::Create => {
                let key = IdempotencyKey {
                    token: p.token.clone(),
                    stack: stack.to_string(),
                    address: p.address.clone(),
                };
                match provider
                    .find(FindRequest {
                        address: p.address.clone(),
                        idempotency: key,
                    })
                    .await?
                    .object
                    // An object the state already tracks under another address is not this one's.
                    .filter(|o| {
                        !state
                            .resources
                            .iter()
                            .any(|r| r.address.kind == p.address.kind && r.id == o.id)
                    }) {
                    Some(o) => {
                        let deps = p
                            .dependencies
                            .iter()
                            .filter(|d| state.resources.iter().any(|r| &r.address == *d))
                            .cloned()
                            .collect();
                        out.push(Reconciled::Adopted {
                            address: p.address.clone(),
                            id: o.id.clone(),
                        });
                        state.upsert(ResourceState {
                            address: p.address,
                            id: o.id,
                            existing: false,
                            deposed: false,
                            attributes: o.attrs,
                            dependencies: deps,
                        });
                    }
                    None => out.push(Reconciled::NeverCreated { address: p.address }),
                }
            }
            Operation::Update | Operation::Delete => {
                let Some(id) = p.id.clone() else { continue };
                let resp = provider
                    .read(ReadRequest {
                        objects: vec![ObjectRef {
                            address: p.address.clone(),
                            id: id.clone(),
                        }],
                    })
                    .await?;
                let found = resp.objects.into_iter().next().and_then(|(_, o)| o);
                let deposed = state
                    .resources
                    .iter()
                    .any(|r| r.address == p.address && r.id == id && r.deposed);
                match found {
                    Some(o) => {
                        if let Some(r) = state
                            .resources
                            .iter_mut()
                            .find(|r| r.address == p.address && r.id == id)
                        {
                            for (k, v) in o.attrs {
                                r.attributes.insert(k, v);
                            }
                        }
                        out.push(Reconciled::Refreshed {
                            address: p.address,
                            exists: true,
                        });
                    }
                    None => {
                        state.remove(&p.address, deposed);
                        out.push(Reconciled::Refreshed {
                            address: p.address,
                            exists: false,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The longest chain of latencies through the plan's jobs: the floor for an apply's wall time.
pub fn critical_path(
    plan: &Plan,
    state: &State,
    latency: &dyn Fn(&StepId) -> Duration,
) -> Result<Duration, ApplyError> {
    let g = build_graph(plan, state)?;
    let dependents = g.dependents();
    let mut indeg: Vec<usize> = g.deps.iter().map(BTreeSet::len).collect();
    let mut finish = vec![Duration::ZERO; g.nodes.len()];
    let mut q: VecDeque<usize> = (0..g.nodes.len()).filter(|i| indeg[*i] == 0).collect();
    while let Some(i) = q.pop_front() {
        let start = g.deps[i]
            .iter()
            .map(|d| finish[*d])
            .max()
            .unwrap_or_default();
        finish[i] = start + latency(&g.nodes[i].step);
        for &d in &dependents[i] {
            indeg[d] -= 1;
            if indeg[d] == 0 {
                q.push_back(d);
            }
        }
    }
    Ok(finish.into_iter().max().unwrap_or_default())
}
