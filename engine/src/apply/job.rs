//! Jobs and the context they share: what each kind of step does, how it records its outcome through the
//! state writer (a pending operation before every mutation, the object the moment the provider returns
//! it), and the provider call with its retries.

use super::writer::{Mutation, Settle, StateWriter};
use super::{Event, RetryPolicy, StepId};
use crate::addr::{Kind, ResourceAddr};
use crate::provider::*;
use crate::schema::LOCAL_ONLY;
use crate::state::{now_rfc3339, Operation, PendingOperation, ResourceState};
use crate::value::{Attrs, JsonAttrs, Reference, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Debug, Clone)]
pub(crate) enum Job {
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

/// Why a job failed. The provider's error keeps its kind, code and message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error("the state file could not be written: {0}")]
    State(String),
    #[error("{reference} is not known: its object does not exist")]
    Unresolved { reference: Reference },
    #[error("{0} is not in the state")]
    NotInState(ResourceAddr),
    #[error("the existing {kind} `{id}` was not found")]
    ExistingNotFound { kind: Kind, id: String },
    #[error("no code package for {0}: its source was not packaged when the plan was made")]
    NoPackage(ResourceAddr),
    #[error("{address}: the earlier value of the sensitive `{path}` was never known to this run (only its digest is kept), so it cannot be restored")]
    SecretUnknown { address: ResourceAddr, path: String },
    #[error("{address} ({id}) is gone: it cannot be restored")]
    Gone { address: ResourceAddr, id: String },
}

/// Shared by every job of a run.
pub(crate) struct RunContext {
    pub provider: Arc<dyn Provider>,
    pub writer: StateWriter,
    /// Live objects by address: what references resolve against.
    pub live: Mutex<HashMap<ResourceAddr, ResourceState>>,
    pub deposed: Mutex<HashMap<ResourceAddr, ResourceState>>,
    /// What each job changed, for undo: the object before the job.
    pub before: Mutex<HashMap<StepId, Option<ResourceState>>>,
    /// Creates whose object exists, whether or not the step finished (a failed create may have made
    /// its object): what rollback must delete.
    pub made: Mutex<HashSet<StepId>>,
    /// Every object this run created, by address and id: what a rollback is checked against.
    pub created: Mutex<Vec<ObjectRef>>,
    pub events: Option<mpsc::UnboundedSender<Event>>,
    pub retry: RetryPolicy,
    pub stack: String,
    /// Each function's zip, made when the plan was.
    pub packages: BTreeMap<ResourceAddr, Arc<Vec<u8>>>,
    /// Tokens of creates a killed run started and that never came to be, reused by the same address.
    pub resume_tokens: BTreeMap<ResourceAddr, String>,
    /// The state's lineage: what sensitive values' digests are salted with.
    pub salt: String,
    /// The sensitive values the plan holds in clear, by their digest (a rollback restores with them).
    pub known_secrets: BTreeMap<String, String>,
    /// Each step's priority: the estimated seconds of the longest chain from it to the end.
    pub tails: HashMap<StepId, u32>,
}

impl RunContext {
    pub fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    /// A create's object exists (whether or not its step finishes).
    fn made_object(&self, step: &StepId, id: &str) {
        self.made.lock().expect("made").insert(step.clone());
        self.created.lock().expect("created").push(ObjectRef {
            address: step.address.clone(),
            id: id.to_string(),
        });
    }

    async fn write(&self, m: Mutation) -> Result<(), JobError> {
        self.writer.write(m).await.map_err(JobError::State)
    }

    /// Records an object as its address's live state: durable in the state file first, then visible
    /// to the references of jobs that start after this one.
    async fn record(&self, r: ResourceState) -> Result<(), JobError> {
        let addr = r.address.clone();
        self.write(Mutation::Settle(addr.clone(), Settle::Upsert(r.clone())))
            .await?;
        self.live.lock().expect("live").insert(addr, r);
        Ok(())
    }

    /// The live object at an address, which an update needs to exist.
    fn live_object(&self, addr: &ResourceAddr) -> Result<ResourceState, JobError> {
        self.live
            .lock()
            .expect("live")
            .get(addr)
            .cloned()
            .ok_or_else(|| JobError::NotInState(addr.clone()))
    }

    fn resolve(&self, attrs: &Attrs) -> Result<JsonAttrs, JobError> {
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
            Some(reference) => Err(JobError::Unresolved { reference }),
            None => Ok(out),
        }
    }

    fn progress_fn(&self, step: &StepId) -> ProgressFn {
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

    /// Calls the provider under the step's deadline (`budget` from now: every layer below respects
    /// it, `crate::retry`), retrying what it marks retryable with the step's backoff while a retry
    /// still fits before the deadline (each retry reported with its reason).
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
        crate::retry::within(start + budget, async {
            let mut attempt: u32 = 0;
            loop {
                match f().await {
                    Ok(v) => return Ok(v),
                    Err(e) if e.kind.retryable() => {
                        attempt += 1;
                        let wait = e
                            .retry_after
                            .unwrap_or_else(|| self.retry.backoff.pause(attempt));
                        if !crate::retry::room_for(wait, start, budget) {
                            return Err(ProviderError {
                                message: format!(
                                    "{} (still failing after {:.0?} of retries)",
                                    e.message,
                                    start.elapsed()
                                ),
                                ..e
                            });
                        }
                        tracing::debug!("{step}: retrying in {wait:?} (attempt {attempt}): {e}");
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
        })
        .await
    }

    /// An object as the state keeps it: the sensitive values the config gave (and the cloud may have
    /// answered in clear) as their digests.
    fn kept(&self, config: &Attrs, mut r: ResourceState) -> ResourceState {
        let mut paths = crate::secrets::paths(config);
        paths.extend(crate::secrets::digest_paths(&r.attributes));
        crate::secrets::redact(&mut r.attributes, &paths, &self.salt);
        r
    }

    /// Attributes kept as digests, made clear again for the cloud from what the plan knows.
    fn clear(&self, addr: &ResourceAddr, mut attrs: JsonAttrs) -> Result<JsonAttrs, JobError> {
        for (name, key) in crate::secrets::digest_paths(&attrs) {
            let v = attrs
                .get_mut(&name)
                .and_then(|m| m.as_object_mut())
                .and_then(|m| m.get_mut(&key))
                .expect("a digest path");
            let digest = v.as_str().unwrap_or_default().to_string();
            match self.known_secrets.get(&digest) {
                Some(clear) => *v = serde_json::Value::String(clear.clone()),
                None => {
                    return Err(JobError::SecretUnknown {
                        address: addr.clone(),
                        path: format!("{name}.{key}"),
                    })
                }
            }
        }
        Ok(attrs)
    }

    fn code(&self, addr: &ResourceAddr) -> Result<Option<Arc<Vec<u8>>>, JobError> {
        if addr.kind != Kind::LambdaFunction {
            return Ok(None);
        }
        self.packages
            .get(addr)
            .cloned()
            .map(Some)
            .ok_or_else(|| JobError::NoPackage(addr.clone()))
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
        created_at: Some(now_rfc3339()),
    }
}

fn cloud_attrs(resolved: &JsonAttrs) -> JsonAttrs {
    resolved
        .iter()
        .filter(|(k, _)| !LOCAL_ONLY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

pub(crate) async fn run_job(ctx: Arc<RunContext>, step: StepId, job: Job) -> Result<(), JobError> {
    let addr = step.address.clone();
    let progress = Some(ctx.progress_fn(&step));
    match job {
        Job::Read { id, known } => {
            let obj = match known {
                Some(k) => k,
                None => read_existing(&ctx, &step, &id).await?,
            };
            ctx.record(ResourceState {
                existing: true,
                dependencies: vec![],
                ..obj
            })
            .await
        }
        Job::Create {
            config,
            deps,
            depose_first,
        } => create_object(&ctx, &step, &config, deps, depose_first, progress).await,
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
            let record = |o: ObjectState| ctx.kept(&config, created(&addr, &resolved, o, deps));
            let result =
                update_object(&ctx, &step, &before, &resolved, changed, progress, record).await;
            if result.is_err() {
                // A failed update may have changed part of the object before it failed: the state
                // follows what a read shows, and the rollback (the step is in the undo graph, its
                // `before` kept) restores every attribute netplan manages.
                follow_the_cloud(&ctx, &step, &config, &before).await;
            }
            result
        }
        Job::Delete { deposed } => delete_object(&ctx, &step, deposed, progress).await,
        Job::UndoCreate { restore_deposed } => {
            delete_object(&ctx, &step, false, progress).await?;
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
        Job::UndoUpdate { before } => undo_update(&ctx, &step, before, progress).await,
        Job::UndoRead => {
            ctx.live.lock().expect("live").remove(&addr);
            ctx.write(Mutation::Settle(addr, Settle::Remove { deposed: false }))
                .await
        }
        Job::UndoForget { before } => ctx.record(before).await,
    }
}

/// An `existing` object, read so the state records what netplan uses.
async fn read_existing(
    ctx: &RunContext,
    step: &StepId,
    id: &str,
) -> Result<ResourceState, JobError> {
    let addr = &step.address;
    let req = ReadRequest {
        objects: vec![ObjectRef {
            address: addr.clone(),
            id: id.to_string(),
        }],
    };
    let resp = ctx
        .call(step, ctx.retry.create_budget, || {
            ctx.provider.read(req.clone())
        })
        .await?;
    match resp.objects.into_iter().next().and_then(|(_, o)| o) {
        Some(o) => Ok(ResourceState {
            address: addr.clone(),
            id: o.id,
            existing: true,
            deposed: false,
            attributes: o.attrs,
            dependencies: vec![],
            created_at: None,
        }),
        None => Err(JobError::ExistingNotFound {
            kind: addr.kind,
            id: id.to_string(),
        }),
    }
}

/// A create: the pending operation (with the idempotency token) first, then the provider call with
/// retries, then the object recorded. A failed create may still have made its object (AWS acted and the
/// answer was lost): it is looked up by its key and recorded, so rollback or the next run deletes it.
async fn create_object(
    ctx: &Arc<RunContext>,
    step: &StepId,
    config: &Attrs,
    deps: Vec<ResourceAddr>,
    depose_first: bool,
    progress: Option<ProgressFn>,
) -> Result<(), JobError> {
    let addr = step.address.clone();
    let resolved = ctx.resolve(config)?;
    let code = ctx.code(&addr)?;
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
    let token = ctx
        .resume_tokens
        .get(&addr)
        .cloned()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
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
    let req = CreateRequest {
        address: addr.clone(),
        attrs: cloud_attrs(&resolved),
        tags: standard_tags(&ctx.stack, &addr, resolved.get("tags")),
        idempotency: key.clone(),
        earlier: Earlier::default(),
        code,
        progress,
        priority: ctx.tails.get(step).copied().unwrap_or(0),
    };
    // Each attempt tells the next what it ended with (`CreateRequest::earlier`).
    let earlier = Mutex::new(Earlier::default());
    let result = ctx
        .call(step, ctx.retry.create_budget, || {
            let mut req = req.clone();
            req.earlier = *earlier.lock().expect("earlier");
            let earlier = &earlier;
            async move {
                let r = ctx.provider.create(req).await;
                if let Err(e) = &r {
                    let mut last = earlier.lock().expect("earlier");
                    *last = last.after(e.kind);
                }
                r
            }
        })
        .await;
    match result {
        Ok(resp) => {
            ctx.made_object(step, &resp.object.id);
            ctx.record(ctx.kept(config, created(&addr, &resolved, resp.object, deps)))
                .await
        }
        Err(e) => {
            let found = ctx
                .provider
                .find(FindRequest {
                    address: addr.clone(),
                    idempotency: key,
                })
                .await;
            match found.map(|f| f.object) {
                Ok(Some(o)) => {
                    ctx.made_object(step, &o.id);
                    ctx.record(ctx.kept(config, created(&addr, &resolved, o, deps)))
                        .await?
                }
                // Nothing found, and the last answer said what happened: nothing was made.
                Ok(None) if !earlier.lock().expect("earlier").outcome_unknown => {
                    ctx.write(Mutation::Settle(addr, Settle::Nothing)).await?
                }
                // Whether the create made something is unknown (no answer, and nothing visible yet;
                // AWS may show it later): the pending operation stays, and the next run reconciles
                // it once the in-flight horizon has passed.
                Ok(None) | Err(_) => {}
            }
            Err(e.into())
        }
    }
}

/// One in-place update, shared by apply and rollback: the pending operation first, then the provider
/// call (with retries), then `record(response)` written as the object's state; nothing is recorded when
/// the call fails.
async fn update_object(
    ctx: &Arc<RunContext>,
    step: &StepId,
    current: &ResourceState,
    after: &JsonAttrs,
    changed: Vec<String>,
    progress: Option<ProgressFn>,
    record: impl FnOnce(ObjectState) -> ResourceState,
) -> Result<(), JobError> {
    let addr = step.address.clone();
    let code = if changed.iter().any(|c| c == "code_sha256") {
        ctx.code(&addr)?
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
            Err(e.into())
        }
    }
}

async fn delete_object(
    ctx: &Arc<RunContext>,
    step: &StepId,
    deposed: bool,
    progress: Option<ProgressFn>,
) -> Result<(), JobError> {
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
    ctx.write(Mutation::Pending(PendingOperation {
        operation: Operation::Delete,
        address: addr.clone(),
        id: Some(obj.id.clone()),
        token: uuid::Uuid::new_v4().to_string(),
        started_at: now_rfc3339(),
        dependencies: vec![],
    }))
    .await?;
    let req = DeleteRequest {
        address: addr.clone(),
        id: obj.id.clone(),
        attrs: obj.attributes.clone(),
        retrying_for: Duration::ZERO,
        progress,
    };
    let started = Instant::now();
    match ctx
        .call(step, ctx.retry.delete_budget, || {
            let mut req = req.clone();
            req.retrying_for = started.elapsed();
            ctx.provider.delete(req)
        })
        .await
    {
        Ok(_) => {}
        Err(e) if e.kind == ErrorKind::NotFound => {}
        Err(e) => {
            ctx.write(Mutation::Settle(addr, Settle::Nothing)).await?;
            return Err(e.into());
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

/// One object read by id, with the step's retries (`None`: it does not exist).
async fn read_one(
    ctx: &RunContext,
    step: &StepId,
    id: &str,
) -> Result<Option<ObjectState>, JobError> {
    let req = ReadRequest {
        objects: vec![ObjectRef {
            address: step.address.clone(),
            id: id.to_string(),
        }],
    };
    let resp = ctx
        .call(step, ctx.retry.create_budget, || {
            ctx.provider.read(req.clone())
        })
        .await?;
    Ok(resp.objects.into_iter().next().and_then(|(_, o)| o))
}

/// After a failed update: the state records the object as a read shows it (best effort: when the read
/// fails too, the state keeps what it had, and the next refresh reads it).
async fn follow_the_cloud(ctx: &RunContext, step: &StepId, config: &Attrs, before: &ResourceState) {
    if let Ok(Some(now)) = read_one(ctx, step, &before.id).await {
        let followed = ResourceState {
            attributes: merged(&before.attributes, &now.attrs),
            ..before.clone()
        };
        let _ = ctx.record(ctx.kept(config, followed)).await;
    }
}

/// A rollback's restore of an object an update changed (all of it, or part of it before failing): a
/// read says what it is now; every attribute netplan manages that differs from `before` — one the
/// update added included — is set back; nothing is sent when nothing differs. Code cannot be put back
/// (only the new package is known): a function whose code changed says so in the rollback's check.
async fn undo_update(
    ctx: &Arc<RunContext>,
    step: &StepId,
    before: ResourceState,
    progress: Option<ProgressFn>,
) -> Result<(), JobError> {
    let addr = &step.address;
    let current = ctx.live_object(addr)?;
    let Some(now) = read_one(ctx, step, &current.id).await? else {
        return Err(JobError::Gone {
            address: addr.clone(),
            id: current.id.clone(),
        });
    };
    let mut shown = now.attrs.clone();
    let mut paths = crate::secrets::digest_paths(&before.attributes);
    paths.extend(crate::secrets::digest_paths(&current.attributes));
    crate::secrets::redact(&mut shown, &paths, &ctx.salt);
    let managed = crate::plan::managed_attrs(addr.kind);
    let mut changed: Vec<String> = crate::plan::differences(&before.attributes, &shown, &managed)
        .into_iter()
        .map(|d| d.name)
        .filter(|n| n != "code_sha256")
        .collect();
    changed.extend(
        shown
            .keys()
            .filter(|k| managed(k) && !before.attributes.contains_key(*k) && *k != "code_sha256")
            .cloned(),
    );
    if changed.is_empty() {
        return ctx.record(before).await;
    }
    let after = ctx.clear(addr, before.attributes.clone())?;
    let current = ResourceState {
        attributes: merged(&current.attributes, &now.attrs),
        ..current
    };
    update_object(ctx, step, &current, &after, changed, progress, |_| before).await
}
