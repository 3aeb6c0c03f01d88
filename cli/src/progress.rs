//! Live progress for apply and destroy: on a terminal, a line per running step with its elapsed time
//! ("creating nat_gateway.main_a … 42s") via indicatif; otherwise one plain line per event. Root causes
//! only: a step whose dependency failed shows as skipped.

use crate::render::{paint, CYAN, DIM, GREEN, RED, YELLOW};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use netplan_engine::apply::{Event, StepId, StepKind};
use std::collections::HashMap;
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

/// Consumes events until the sender side closes. Returns when the apply is over.
pub async fn render(mut rx: mpsc::UnboundedReceiver<Event>) {
    let tty = std::io::stderr().is_terminal();
    let multi = MultiProgress::with_draw_target(if tty {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    });
    let style = ProgressStyle::with_template("{spinner} {msg} … {elapsed}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut bars: HashMap<StepId, ProgressBar> = HashMap::new();
    let line = |multi: &MultiProgress, text: String| {
        if tty {
            let _ = multi.println(text);
        } else {
            anstream::eprintln!("{text}");
        }
    };
    while let Some(e) = rx.recv().await {
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
                        "{} {} {} {}",
                        paint(GREEN, "✓"),
                        past(&step),
                        step.address,
                        paint(DIM, &format!("({})", secs(elapsed)))
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
}
