//! Apply: converge the cloud to a plan, and undo this run's work when a step fails.
//!
//! # How it runs
//! - The plan becomes a graph of *jobs* (`jobgraph`): create, update, delete, read, forget, with the
//!   ordering rules AWS needs. The `scheduler` starts each job the moment its last dependency finishes.
//! - The executor limits no concurrency: every job whose dependencies are done runs. What AWS limits —
//!   requests in flight, the request rate per API — is bounded where requests are made (the provider's
//!   request layer), so an object waited on for minutes (a NAT gateway pending) holds no slot.
//! - Values "known after apply" are resolved when a job starts, from the objects its dependencies made.
//! - One task owns the state file (the `writer`). Jobs (`job`) send it mutations and wait for the write
//!   to be durable: a pending operation (with the idempotency token the provider will use) before every
//!   mutation, the object's id the moment the provider returns it. After a kill -9 at any moment the
//!   next run finds the pending operation and `crate::reconcile` adopts or discards it.
//! - Deletes of objects that existed before this run cannot be undone, so they wait for every job that
//!   does not depend on them: a failure before them still rolls back cleanly.
//! - At the first failure no new job starts; in-flight jobs finish; then (unless `rollback` is off)
//!   what this run did is undone by the same scheduler over the reversed graph, including an object a
//!   failed create made before failing.
//! - Interrupts: the first stops scheduling and lets in-flight jobs finish (then rolls back, or not,
//!   per the options); the second aborts in-flight jobs, leaving their pending operations for the next
//!   run to reconcile.

mod complete;
mod job;
mod jobgraph;
mod scheduler;
mod writer;

pub use job::JobError;
pub use jobgraph::critical_path;
pub mod estimate;

use crate::addr::ResourceAddr;
use crate::plan::Plan;
use crate::provider::{ObjectRef, Provider};
use crate::state::store::StateStore;
use crate::state::{ResourceState, State};
use job::RunContext;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use writer::StateWriter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    Read,
    Create,
    Update,
    /// The second half of a create split in two (job-graph rule (f), `complete.rs`): what waited for
    /// a slow object — a route table's routes through a NAT made in the same run — added by an update.
    Complete,
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
            StepKind::Complete => "completing",
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
    Failed(JobError),
    /// The job's task panicked (a bug): reported like a failure.
    Panicked(String),
    /// A dependency failed (root causes only are errors).
    Skipped(StepId),
    /// Not started because the run stopped.
    NotStarted,
    /// Aborted by a second interrupt: its pending operation is left for the next run.
    Aborted,
}

/// How an apply step retries: its backoff and its budgets (the defaults are `crate::retry`'s table;
/// each budget is the deadline every layer under the step respects).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub backoff: crate::retry::Backoff,
    /// How long a create or update may keep retrying.
    pub create_budget: Duration,
    /// How long a delete may keep retrying (Lambda network interfaces linger 20–45 min on AWS).
    pub delete_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            backoff: crate::retry::Backoff::STEP,
            create_budget: crate::retry::STEP_CREATE,
            delete_budget: crate::retry::STEP_DELETE,
        }
    }
}

pub struct ApplyOptions {
    pub rollback: bool,
    pub stack: String,
    pub retry: RetryPolicy,
    /// Each function's zip, made when the plan was (`ops::Prepared::apply_options`).
    pub packages: BTreeMap<ResourceAddr, Arc<Vec<u8>>>,
    /// Idempotency tokens of creates a killed run started and reconcile found no object for: the next
    /// create of the address uses the same token (`Prepared::resume_tokens`).
    pub resume_tokens: BTreeMap<ResourceAddr, String>,
    /// Incremented by each Ctrl-C.
    pub interrupt: Option<watch::Receiver<u8>>,
    pub events: Option<mpsc::UnboundedSender<Event>>,
}

impl ApplyOptions {
    /// Defaults for a run of this config's stack (no function code: `ops::Prepared::apply_options`
    /// adds the plan's).
    pub fn for_config(config: &crate::config::Config) -> ApplyOptions {
        ApplyOptions {
            rollback: true,
            stack: config.stack.name.clone(),
            retry: RetryPolicy::default(),
            packages: BTreeMap::new(),
            resume_tokens: BTreeMap::new(),
            interrupt: None,
            events: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ApplyOutcome {
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
    /// What a read of the cloud after the rollback showed.
    pub rollback_check: Option<RollbackCheck>,
    /// Operations whose outcome is unknown (a create the cloud may have carried out without
    /// answering, and that could not be looked up): kept pending in the state, for the next run.
    pub unsettled: Vec<ResourceAddr>,
    /// The state file could not be written (the first such error): it records what exists as of its
    /// last write.
    pub state_error: Option<String>,
    pub outcome: ApplyOutcome,
    pub state: State,
}

/// A rollback's claim, checked: after the undo steps ran, every object this run created and every
/// object the state held before it is read again, and each of the latter compared, attribute by
/// attribute (those netplan manages: `plan::managed_attrs`), with what it was before the run.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackCheck {
    /// Objects read.
    pub read: usize,
    /// Of those, objects the state held before the run (the rest: what the run made).
    pub held: usize,
    /// Objects this run created that still exist.
    pub left: Vec<(ResourceAddr, String)>,
    /// Objects the state held before the run that are gone (deletes that cannot be undone, or worse).
    pub gone: Vec<(ResourceAddr, String)>,
    /// Objects the state held before the run that are there, but differ from what they were.
    pub changed: Vec<Changed>,
    /// The read itself failed: nothing could be checked.
    pub unread: Option<String>,
}

/// An object that is not as it was before the run: its address, id, and each attribute that differs.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub address: ResourceAddr,
    pub id: String,
    pub attributes: Vec<crate::plan::AttrDiff>,
}

impl RollbackCheck {
    /// The cloud is as it was, attribute by attribute, but for the deletes that cannot be undone.
    pub fn clean(&self, not_undoable: &[StepId]) -> bool {
        self.unread.is_none()
            && self.left.is_empty()
            && self.changed.is_empty()
            && self
                .gone
                .iter()
                .all(|(a, _)| not_undoable.iter().any(|s| &s.address == a))
    }
}

impl ApplyReport {
    pub fn ok(&self) -> bool {
        self.outcome == ApplyOutcome::Applied
    }

    /// Root causes: the failed steps with why, apply's and rollback's.
    pub fn failures(&self) -> Vec<(&StepId, String)> {
        self.steps
            .iter()
            .chain(&self.undo)
            .filter_map(|(s, st)| match st {
                StepStatus::Failed(e) => Some((s, e.to_string())),
                StepStatus::Panicked(e) => Some((s, format!("internal error: {e}"))),
                _ => None,
            })
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("internal error: {0}")]
    Internal(String),
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
    let facts = provider.facts();
    let graph = jobgraph::build(plan, &state, facts)?;
    // What the rollback's check compares with: every object the state holds, as it is now.
    let before_run: Vec<ResourceState> = state
        .resources
        .iter()
        .filter(|r| !r.existing)
        .cloned()
        .collect();
    let tails = jobgraph::tails(&graph, facts)?;
    let objects = |deposed: bool| -> HashMap<ResourceAddr, ResourceState> {
        state
            .resources
            .iter()
            .filter(|r| r.deposed == deposed)
            .map(|r| (r.address.clone(), r.clone()))
            .collect()
    };
    let (live, deposed) = (objects(false), objects(true));
    let salt = state.lineage.clone();
    let known_secrets = crate::secrets::known(
        plan.changes
            .iter()
            .filter_map(|c| c.config.clone().map(|a| (c.address.to_string(), a))),
        &salt,
    );
    let (writer, writer_done) = StateWriter::spawn(state, store);
    let ctx = Arc::new(RunContext {
        provider,
        writer,
        live: Mutex::new(live),
        deposed: Mutex::new(deposed),
        before: Mutex::new(HashMap::new()),
        made: Mutex::new(HashSet::new()),
        created: Mutex::new(Vec::new()),
        events: opts.events.clone(),
        retry: opts.retry,
        stack: opts.stack.clone(),
        packages: std::mem::take(&mut opts.packages),
        resume_tokens: std::mem::take(&mut opts.resume_tokens),
        salt,
        known_secrets,
        tails,
    });
    let run = scheduler::run(&ctx, &graph, true, &mut opts.interrupt).await;
    let statuses = run.statuses;
    let steps: Vec<(StepId, StepStatus)> = graph
        .nodes()
        .map(|(i, n)| (n.step.clone(), statuses[&i].clone()))
        .collect();
    let failed = statuses
        .values()
        .any(|s| matches!(s, StepStatus::Failed(_) | StepStatus::Panicked(_)));
    let interrupted = run.hard_stopped
        || statuses
            .values()
            .any(|s| *s == StepStatus::NotStarted || *s == StepStatus::Aborted)
            && !failed;
    let mut undo_steps = vec![];
    let mut not_undoable = vec![];
    let mut rollback_check = None;
    let mut outcome = if failed {
        ApplyOutcome::Failed { rolled_back: false }
    } else if interrupted {
        ApplyOutcome::Interrupted { rolled_back: false }
    } else {
        ApplyOutcome::Applied
    };
    if (failed || interrupted) && opts.rollback && !run.hard_stopped {
        let before = ctx.before.lock().expect("before").clone();
        let made = ctx.made.lock().expect("made").clone();
        let (undo, irreversible) = jobgraph::undo(&graph, &statuses, &made, &before);
        for step in &irreversible {
            ctx.emit(Event::NotUndoable { step: step.clone() });
        }
        not_undoable = irreversible;
        ctx.emit(Event::RollbackStarted { steps: undo.len() });
        let undone = scheduler::run(&ctx, &undo, false, &mut None).await;
        let mut remaining: Vec<ResourceAddr> = undo
            .nodes()
            .filter(|(i, _)| undone.statuses[i] != StepStatus::Done)
            .map(|(_, n)| n.step.address.clone())
            .collect();
        undo_steps = undo
            .nodes()
            .map(|(i, n)| (n.step.clone(), undone.statuses[&i].clone()))
            .collect();
        let created = ctx.created.lock().expect("created").clone();
        let mut check =
            check_rollback(ctx.provider.as_ref(), &before_run, &created, &ctx.salt).await;
        if !check.changed.is_empty() {
            // What differs still — an object changed by another's step (a subnet a new route table
            // took, given back to none when that table was deleted), or a restore that did not
            // finish — is restored once more from what the read shows, then checked again.
            let repair = jobgraph::repair(&check.changed, &before_run);
            let repaired = scheduler::run(&ctx, &repair, false, &mut None).await;
            undo_steps.extend(
                repair
                    .nodes()
                    .map(|(i, n)| (n.step.clone(), repaired.statuses[&i].clone())),
            );
            check = check_rollback(ctx.provider.as_ref(), &before_run, &created, &ctx.salt).await;
        }
        if !check.clean(&not_undoable) {
            let changed = check.changed.iter().map(|c| &c.address);
            for a in check
                .left
                .iter()
                .chain(&check.gone)
                .map(|(a, _)| a)
                .chain(changed)
            {
                if !remaining.contains(a) && !not_undoable.iter().any(|s| &s.address == a) {
                    remaining.push(a.clone());
                }
            }
        }
        let checked_clean = check.clean(&not_undoable);
        if checked_clean {
            // The read is the claim: an undo that failed and was then repaired left nothing.
            remaining.clear();
        }
        rollback_check = Some(check);
        outcome = if !remaining.is_empty() || !checked_clean {
            ApplyOutcome::RollbackIncomplete { remaining }
        } else if failed {
            ApplyOutcome::Failed { rolled_back: true }
        } else {
            ApplyOutcome::Interrupted { rolled_back: true }
        };
    }
    let state_error = statuses
        .values()
        .chain(undo_steps.iter().map(|(_, s)| s))
        .find_map(|s| match s {
            StepStatus::Failed(JobError::State(e)) => Some(e.clone()),
            _ => None,
        });
    drop(ctx);
    let state = writer_done
        .await
        .map_err(|e| ApplyError::Internal(format!("the state writer failed: {e}")))?;
    let unsettled: Vec<ResourceAddr> = state.pending.iter().map(|p| p.address.clone()).collect();
    if (!unsettled.is_empty() || state_error.is_some())
        && matches!(
            outcome,
            ApplyOutcome::Failed { rolled_back: true }
                | ApplyOutcome::Interrupted { rolled_back: true }
        )
    {
        // A rollback is not complete while an outcome is unknown or the state could not follow.
        outcome = ApplyOutcome::RollbackIncomplete {
            remaining: unsettled.clone(),
        };
    }
    Ok(ApplyReport {
        steps,
        undo: undo_steps,
        not_undoable,
        rollback_check,
        unsettled,
        state_error,
        outcome,
        state,
    })
}

/// Reads, after a rollback, what the run created (none may remain) and what the state held before
/// (all must remain, but for deletes that cannot be undone, each attribute netplan manages as it was).
async fn check_rollback(
    provider: &dyn Provider,
    before: &[ResourceState],
    created: &[ObjectRef],
    salt: &str,
) -> RollbackCheck {
    let objects: Vec<ObjectRef> = before
        .iter()
        .map(|r| ObjectRef {
            address: r.address.clone(),
            id: r.id.clone(),
        })
        .chain(created.iter().cloned())
        .collect();
    let mut check = RollbackCheck {
        read: objects.len(),
        held: before.len(),
        left: vec![],
        gone: vec![],
        changed: vec![],
        unread: None,
    };
    if objects.is_empty() {
        return check;
    }
    match provider
        .read(crate::provider::ReadRequest {
            objects: objects.clone(),
        })
        .await
    {
        Ok(resp) => {
            for (i, (_, found)) in resp.objects.into_iter().enumerate() {
                let o = &objects[i];
                let pair = (o.address.clone(), o.id.clone());
                match (before.get(i), found) {
                    (Some(_), None) => check.gone.push(pair),
                    (Some(was), Some(now)) => {
                        let mut shown = now.attrs;
                        let paths = crate::secrets::digest_paths(&was.attributes);
                        crate::secrets::redact(&mut shown, &paths, salt);
                        let differs = crate::plan::differences(
                            &was.attributes,
                            &shown,
                            crate::plan::managed_attrs(o.address.kind),
                        );
                        if !differs.is_empty() {
                            check.changed.push(Changed {
                                address: o.address.clone(),
                                id: o.id.clone(),
                                attributes: differs,
                            });
                        }
                    }
                    (None, Some(_)) => check.left.push(pair),
                    (None, None) => {}
                }
            }
        }
        Err(e) => check.unread = Some(e.to_string()),
    }
    check
}
