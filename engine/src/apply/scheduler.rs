//! The scheduler: runs a job graph, starting each job the moment its last dependency finishes (never
//! level by level). It limits nothing itself: concurrency is bounded where the provider is called.
//!
//! At the first failure (when asked to stop on one) no new job starts and in-flight jobs finish. An
//! interrupt does the same; a second one aborts in-flight jobs, whose pending operations are left for the
//! next run to reconcile. Dependents of a failed job are reported as skipped because of it (root causes
//! only are errors).

use super::job::{run_job, Job, JobError, RunContext};
use super::jobgraph::JobGraph;
use super::{Event, StepId, StepStatus};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What carries out one job (the executor's `run_job`; the tests' scripted runner).
pub(crate) type Runner = Arc<
    dyn Fn(StepId, Job) -> Pin<Box<dyn Future<Output = Result<(), JobError>> + Send>> + Send + Sync,
>;

/// Where the scheduler reports (the run's event channel).
pub(crate) type Emit = Arc<dyn Fn(Event) + Send + Sync>;

pub(crate) struct RunResult {
    pub statuses: HashMap<NodeIndex, StepStatus>,
    /// A second interrupt aborted in-flight jobs.
    pub hard_stopped: bool,
}

/// Runs `g` with the run's jobs (`run_job` on `ctx`).
pub(crate) async fn run(
    ctx: &Arc<RunContext>,
    g: &JobGraph,
    stop_on_failure: bool,
    interrupt: &mut Option<watch::Receiver<u8>>,
) -> RunResult {
    let jobs = ctx.clone();
    let runner: Runner = Arc::new(move |step, job| Box::pin(run_job(jobs.clone(), step, job)));
    let events = ctx.clone();
    let emit: Emit = Arc::new(move |e| events.emit(e));
    run_with(g, stop_on_failure, interrupt, runner, emit).await
}

/// The scheduling itself, for any runner (the module docs say what it decides).
pub(crate) async fn run_with(
    g: &JobGraph,
    stop_on_failure: bool,
    interrupt: &mut Option<watch::Receiver<u8>>,
    runner: Runner,
    emit: Emit,
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
        let (runner, emit) = (runner.clone(), emit.clone());
        let node = &g.g[i];
        let (step, job) = (node.step.clone(), node.job.clone());
        emit(Event::Started { step: step.clone() });
        let h = join.spawn(async move {
            let start = Instant::now();
            let r = runner(step.clone(), job).await;
            match &r {
                Ok(()) => emit(Event::Finished {
                    step,
                    elapsed: start.elapsed(),
                }),
                Err(e) => emit(Event::Failed {
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
                emit(Event::Interrupted { level });
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
                emit(Event::Skipped {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::{Kind, ResourceAddr};
    use crate::apply::StepKind;
    use std::sync::Mutex;
    use std::time::Duration;

    fn step(name: &str) -> StepId {
        StepId {
            address: ResourceAddr::new(Kind::Vpc, name),
            kind: StepKind::Create,
        }
    }

    /// A graph of named jobs and "a waits for b" edges.
    fn graph(names: &[&str], edges: &[(&str, &str)]) -> JobGraph {
        let mut g = JobGraph::default();
        let mut idx = HashMap::new();
        for n in names {
            idx.insert(*n, g.add(step(n), Job::Forget, false));
        }
        for (after, before) in edges {
            g.edge(idx[before], idx[after]);
        }
        g
    }

    fn short(s: &StepStatus) -> String {
        match s {
            StepStatus::Done => "done".into(),
            StepStatus::Failed(_) => "failed".into(),
            StepStatus::Panicked(_) => "panicked".into(),
            StepStatus::Skipped(c) => format!("skipped({})", c.address.name),
            StepStatus::NotStarted => "not started".into(),
            StepStatus::Aborted => "aborted".into(),
        }
    }

    /// (jobs, edges, which fail, stop at the first failure) → each job's status, and the order jobs
    /// started in (ties: as added).
    #[tokio::test(start_paused = true)]
    async fn scheduling_table() {
        #[allow(clippy::type_complexity)]
        let cases: &[(&str, &[&str], &[(&str, &str)], &[&str], bool, &str)] = &[
            (
                "independent jobs all run",
                &["a", "b", "c"],
                &[],
                &[],
                true,
                "a:done b:done c:done",
            ),
            (
                "a chain runs in order",
                &["a", "b", "c"],
                &[("b", "a"), ("c", "b")],
                &[],
                true,
                "a:done b:done c:done",
            ),
            (
                "a failure skips its dependents, naming the root cause",
                &["a", "b", "c"],
                &[("b", "a"), ("c", "b")],
                &["a"],
                true,
                "a:failed b:skipped(a) c:skipped(a)",
            ),
            (
                "stop on failure: what has not started does not start",
                &["a", "slow", "after"],
                &[("after", "slow")],
                &["a"],
                true,
                "a:failed after:not started slow:done",
            ),
            (
                "keep going (a rollback): independent jobs still run",
                &["a", "slow", "after"],
                &[("after", "slow")],
                &["a"],
                false,
                "a:failed after:done slow:done",
            ),
            (
                "a job waits for all it needs",
                &["a", "b", "c"],
                &[("c", "a"), ("c", "b")],
                &["b"],
                false,
                "a:done b:failed c:skipped(b)",
            ),
        ];
        let mut wrong = vec![];
        for (name, names, edges, failing, stop, want) in cases {
            let g = graph(names, edges);
            let failing: Vec<String> = failing.iter().map(|s| s.to_string()).collect();
            let started = Arc::new(Mutex::new(vec![]));
            let log = started.clone();
            let runner: Runner = Arc::new(move |s: StepId, _| {
                let fail = failing.contains(&s.address.name);
                log.lock().unwrap().push(s.address.name.clone());
                Box::pin(async move {
                    // "slow" outlasts a failure elsewhere.
                    let wait = if s.address.name == "slow" { 10 } else { 1 };
                    tokio::time::sleep(Duration::from_millis(wait)).await;
                    if fail {
                        Err(JobError::NotInState(s.address))
                    } else {
                        Ok(())
                    }
                })
            });
            let r = run_with(&g, *stop, &mut None, runner, Arc::new(|_| {})).await;
            let mut got: Vec<String> = g
                .nodes()
                .map(|(i, n)| format!("{}:{}", n.step.address.name, short(&r.statuses[&i])))
                .collect();
            got.sort();
            let got = got.join(" ");
            if got != *want {
                wrong.push(format!("{name}: {got}, want {want}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// A second interrupt aborts what runs; a first only stops new starts.
    #[tokio::test(start_paused = true)]
    async fn interrupts_stop_then_abort() {
        let g = graph(&["long", "next"], &[("next", "long")]);
        let runner: Runner = Arc::new(|_, _| {
            Box::pin(async {
                tokio::time::sleep(Duration::from_secs(100)).await;
                Ok(())
            })
        });
        let (tx, rx) = watch::channel(0u8);
        let mut rx = Some(rx);
        let press = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = tx.send(1);
            tokio::time::sleep(Duration::from_secs(1)).await;
            let _ = tx.send(2);
        });
        let r = run_with(&g, true, &mut rx, runner, Arc::new(|_| {})).await;
        press.await.unwrap();
        assert!(r.hard_stopped);
        let st: Vec<String> = g.nodes().map(|(i, _)| short(&r.statuses[&i])).collect();
        assert_eq!(st, ["aborted", "not started"]);
    }
}
