//! The scheduler: runs a job graph, starting each job the moment its last dependency finishes (never
//! level by level). It limits nothing itself: concurrency is bounded where the provider is called.
//!
//! At the first failure (when asked to stop on one) no new job starts and in-flight jobs finish. An
//! interrupt does the same; a second one aborts in-flight jobs, whose pending operations are left for the
//! next run to reconcile. Dependents of a failed job are reported as skipped because of it (root causes
//! only are errors).

use super::job::{run_job, JobError, RunContext};
use super::jobgraph::JobGraph;
use super::{Event, StepStatus};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

pub(crate) struct RunResult {
    pub statuses: HashMap<NodeIndex, StepStatus>,
    /// A second interrupt aborted in-flight jobs.
    pub hard_stopped: bool,
}

pub(crate) async fn run(
    ctx: &Arc<RunContext>,
    g: &JobGraph,
    stop_on_failure: bool,
    interrupt: &mut Option<watch::Receiver<u8>>,
) -> RunResult {
    let mut waiting: HashMap<NodeIndex, usize> = g
        .nodes()
        .map(|(i, _)| (i, g.dependencies(i).count()))
        .collect();
    let mut status: HashMap<NodeIndex, StepStatus> = HashMap::new();
    let mut join: JoinSet<(NodeIndex, Result<(), JobError>)> = JoinSet::new();
    let mut running: HashMap<tokio::task::Id, NodeIndex> = HashMap::new();
    let mut stop = false;
    let mut hard_stopped = false;
    let spawn = |i: NodeIndex,
                 join: &mut JoinSet<(NodeIndex, Result<(), JobError>)>,
                 running: &mut HashMap<tokio::task::Id, NodeIndex>| {
        let ctx = ctx.clone();
        let node = &g.g[i];
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
                    error: e.to_string(),
                }),
            }
            (i, r)
        });
        running.insert(h.id(), i);
    };
    let ready: Vec<NodeIndex> = g
        .nodes()
        .map(|(i, _)| i)
        .filter(|i| waiting[i] == 0)
        .collect();
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
                    hard_stopped = true;
                    join.abort_all();
                }
            }
            Some(res) = join.join_next_with_id() => {
                let (i, r) = match res {
                    Ok((id, (i, r))) => {
                        running.remove(&id);
                        (i, r)
                    }
                    Err(e) => {
                        let Some(i) = running.remove(&e.id()) else { continue };
                        status.insert(i, if e.is_cancelled() {
                            StepStatus::Aborted
                        } else {
                            StepStatus::Panicked(e.to_string())
                        });
                        continue;
                    }
                };
                match r {
                    Ok(()) => {
                        status.insert(i, StepStatus::Done);
                        for d in g.dependents(i) {
                            let w = waiting.get_mut(&d).expect("every node counted");
                            *w -= 1;
                            if *w == 0 && !stop {
                                spawn(d, &mut join, &mut running);
                            }
                        }
                    }
                    Err(e) => {
                        status.insert(i, StepStatus::Failed(e));
                        if stop_on_failure {
                            stop = true;
                        }
                    }
                }
            }
        }
    }
    // Dependents of failures are skipped (root causes only); the rest did not start.
    for (i, _) in g.nodes() {
        status.entry(i).or_insert(StepStatus::NotStarted);
    }
    let mut queue: Vec<NodeIndex> = g
        .nodes()
        .map(|(i, _)| i)
        .filter(|i| {
            matches!(
                status[i],
                StepStatus::Failed(_) | StepStatus::Panicked(_) | StepStatus::Skipped(_)
            )
        })
        .collect();
    while let Some(i) = queue.pop() {
        let cause = match &status[&i] {
            StepStatus::Skipped(c) => c.clone(),
            _ => g.g[i].step.clone(),
        };
        let dependents: Vec<NodeIndex> = g.dependents(i).collect();
        for d in dependents {
            if status[&d] == StepStatus::NotStarted {
                status.insert(d, StepStatus::Skipped(cause.clone()));
                ctx.emit(Event::Skipped {
                    step: g.g[d].step.clone(),
                    because: cause.clone(),
                });
                queue.push(d);
            }
        }
    }
    RunResult {
        statuses: status,
        hard_stopped,
    }
}
