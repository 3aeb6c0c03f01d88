//! Live progress for apply and destroy: on a terminal, a line per running step with its elapsed time
//! ("creating nat_gateway.main_a … 42s") via indicatif, under a line with the run's elapsed time and
//! what remains by the plan's estimate (the longest chain still ahead: `Estimate::remaining`);
//! otherwise one plain line per event, each finished step saying the same. Root causes only: a step
//! whose dependency failed shows as skipped.

use crate::render::{paint, CYAN, DIM, GREEN, RED, YELLOW};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use netplan_engine::apply::estimate::{human, Estimate};
use netplan_engine::apply::{Event, StepId, StepKind};
use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::Duration;
use tokio::sync::mpsc;

fn past(step: &StepId) -> &'static str {
    match step.kind {
        StepKind::Read => "read",
        StepKind::Create => "created",
        StepKind::Update => "updated",
        StepKind::Complete => "completed",
        StepKind::Delete | StepKind::DeleteDeposed => "deleted",
        StepKind::Forget => "forgot",
        StepKind::UndoCreate => "rolled back (deleted)",
        StepKind::UndoUpdate => "rolled back (restored)",
        StepKind::UndoRead | StepKind::UndoForget => "rolled back (state restored)",
    }
}

fn secs(d: Duration) -> String {
    if d.as_secs() >= 60 {
        format!("{}m{:02}s", d.as_secs() / 60, d.as_secs() % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Elapsed and remaining, as the run goes: the estimate's steps are those of the apply.
struct Clock {
    begun: std::time::Instant,
    estimate: Option<Estimate>,
    started: HashMap<StepId, std::time::Instant>,
    done: HashSet<StepId>,
}

impl Clock {
    fn line(&self) -> String {
        let elapsed = self.begun.elapsed().as_secs_f64();
        let Some(e) = &self.estimate else {
            return format!("{} elapsed", human(elapsed));
        };
        let running: Vec<(StepId, f64)> = self
            .started
            .iter()
            .map(|(s, t)| (s.clone(), t.elapsed().as_secs_f64()))
            .collect();
        let pending: Vec<StepId> = e
            .tails
            .keys()
            .filter(|s| !self.done.contains(*s) && !self.started.contains_key(*s))
            .cloned()
            .collect();
        let left = e.remaining(&running, &pending);
        if left < 0.5 {
            format!("{} elapsed", human(elapsed))
        } else {
            format!("{} elapsed, ≈ {} left", human(elapsed), human(left))
        }
    }
}

/// Consumes events until the sender side closes. Returns when the apply is over.
pub async fn render(mut rx: mpsc::UnboundedReceiver<Event>, estimate: Option<Estimate>) {
    let mut clock = Clock {
        begun: std::time::Instant::now(),
        estimate,
        started: HashMap::new(),
        done: HashSet::new(),
    };
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{spinner} {msg} … {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut bars: HashMap<StepId, ProgressBar> = HashMap::new();
    // The run's own line, on a terminal: elapsed and what remains.
    let overall = tty.then(|| {
        let bar = multi.add(
            ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            ),
        );
        bar.set_message(clock.line());
        bar
    });
    let line = |multi: &MultiProgress, text: String| {
        if tty {
            let _ = multi.println(text);
        } else {
            anstream::eprintln!("{text}");
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let e = tokio::select! {
            e = rx.recv() => match e {
                Some(e) => e,
                None => break,
            },
            _ = tick.tick() => {
                if let Some(bar) = &overall {
                    bar.set_message(clock.line());
                }
                continue;
            }
        };
        match &e {
            Event::Started { step } => {
                clock
                    .started
                    .insert(step.clone(), std::time::Instant::now());
            }
            Event::Finished { step, .. }
            | Event::Failed { step, .. }
            | Event::Skipped { step, .. } => {
                clock.started.remove(step);
                clock.done.insert(step.clone());
            }
            _ => {}
        }
        if let Some(bar) = &overall {
            bar.set_message(clock.line());
        }
        match e {
            Event::Started { step } => {
                if tty {
                    let bar = multi.add(
                        ProgressBar::new_spinner()
                            .with_style(style.clone())
                            .with_message(step.to_string()),
                    );
                    bar.enable_steady_tick(Duration::from_millis(200));
                    bars.insert(step, bar);
                } else {
                    line(&multi, format!("{step} …"));
                }
            }
            Event::Progress { step, message } => match bars.get(&step) {
                Some(bar) => bar.set_message(format!("{step}: {message}")),
                None => line(&multi, format!("{step}: {message}")),
            },
            Event::Retrying {
                step,
                reason,
                attempt,
                wait,
            } => {
                let text = format!(
                    "{step}: retrying in {} (attempt {attempt}): {reason}",
                    secs(wait)
                );
                match bars.get(&step) {
                    Some(bar) => bar.set_message(text),
                    None => line(&multi, paint(YELLOW, &text)),
                }
            }
            Event::Finished { step, elapsed } => {
                if let Some(bar) = bars.remove(&step) {
                    bar.finish_and_clear();
                }
                line(
                    &multi,
                    format!(
                        "{} {} {} {}{}",
                        paint(GREEN, "✓"),
                        past(&step),
                        step.address,
                        paint(DIM, &format!("({})", secs(elapsed))),
                        if tty {
                            String::new()
                        } else {
                            paint(DIM, &format!(" · {}", clock.line()))
                        }
                    ),
                );
            }
            Event::Failed { step, error } => {
                if let Some(bar) = bars.remove(&step) {
                    bar.finish_and_clear();
                }
                line(
                    &multi,
                    format!("{} {step} failed: {error}", paint(RED, "✗")),
                );
            }
            Event::Skipped { step, because } => {
                line(
                    &multi,
                    paint(
                        DIM,
                        &format!(
                            "- skipped {} {} (waits for {})",
                            step.verb(),
                            step.address,
                            because.address
                        ),
                    ),
                );
            }
            Event::RollbackStarted { steps } => {
                line(
                    &multi,
                    paint(
                        YELLOW,
                        &format!(
                            "Rolling back: undoing {steps} step{} of this run …",
                            if steps == 1 { "" } else { "s" }
                        ),
                    ),
                );
            }
            Event::NotUndoable { step } => {
                line(
                    &multi,
                    paint(
                        RED,
                        &format!(
                            "! cannot undo: {} {} (the old object is gone)",
                            past(&step),
                            step.address
                        ),
                    ),
                );
            }
            Event::Interrupted { level } => {
                let text = if level >= 2 {
                    "Interrupted again: aborting in-flight steps; their pending operations stay in the state for the next run to reconcile."
                } else {
                    "Interrupted: no new steps will start; waiting for the running ones (press Ctrl-C again to stop waiting) …"
                };
                line(&multi, paint(CYAN, text));
            }
        }
    }
    for (_, bar) in bars {
        bar.finish_and_clear();
    }
    if let Some(bar) = overall {
        bar.finish_and_clear();
    }
}
