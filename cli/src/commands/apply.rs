//! `netplan apply` and `netplan destroy`: plan (or load a saved plan), confirm, converge with live
//! progress, roll back on failure, and report.

use crate::error::{CliError, CliResult};
use crate::render::{self, paint, BOLD, GREEN, RED};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::apply::{self, ApplyOutcome, ApplyReport, StepStatus};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::plan::{Plan, SavedPlan};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// A plan saved with `netplan plan -o`.
    pub planfile: Option<PathBuf>,
    /// Apply without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many AWS requests in flight to each service — EC2, IAM, Lambda — (objects waited on
    /// hold none; the request rate is kept under AWS's documented limits whatever this is).
    #[arg(long, default_value_t = crate::session::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// On failure, keep what succeeded instead of undoing it.
    #[arg(long)]
    pub no_rollback: bool,
    /// Delete objects that do not carry this stack's netplan tags without asking.
    #[arg(long)]
    pub force: bool,
}

#[derive(clap::Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Destroy without asking.
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many AWS requests in flight to each service.
    #[arg(long, default_value_t = crate::session::DEFAULT_PARALLELISM, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Delete objects that do not carry this stack's netplan tags without asking.
    #[arg(long)]
    pub force: bool,
}

fn confirm(question: &str) -> CliResult<()> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::with_hint(
            "refusing to change the cloud without confirmation: stdin is not a terminal",
            "pass --auto-approve",
        ));
    }
    anstream::eprint!("{question} Only 'yes' will be accepted: ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    if answer.trim() != "yes" {
        return Err(CliError::msg("cancelled; nothing was changed"));
    }
    Ok(())
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let saved: Option<SavedPlan> = match &a.planfile {
        Some(p) => {
            let bytes = netplan_engine::files::read(p)
                .map_err(|e| CliError::msg(format!("cannot read the plan {}: {e}", p.display())))?
                .ok_or_else(|| CliError::msg(format!("no plan at {}", p.display())))?;
            Some(serde_json::from_slice(&bytes).map_err(|e| {
                CliError::with_hint(
                    format!("{} is not a netplan plan file: {e}", p.display()),
                    "make one with netplan plan -o FILE",
                )
            })?)
        }
        None => None,
    };
    let config_arg = match (&saved, &a.config.config) {
        (Some(s), None) => ConfigArg {
            config: Some(PathBuf::from(&s.config_path)),
        },
        _ => a.config.clone(),
    };
    let session = Session::open(g, &config_arg)?.with_parallelism(a.parallelism as usize);
    let auto = a.auto_approve || saved.is_some();
    converge(&session, false, auto, a.force, !a.no_rollback, saved).await
}

pub async fn destroy(g: &Globals, a: DestroyArgs) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?.with_parallelism(a.parallelism as usize);
    converge(&session, true, a.auto_approve, a.force, false, None).await
}

async fn converge(
    session: &Session<'_>,
    destroy: bool,
    auto_approve: bool,
    force: bool,
    rollback: bool,
    saved: Option<SavedPlan>,
) -> CliResult<Exit> {
    let config = session.config();
    let store = session.store()?;
    let _lock = store.lock(if destroy { "destroy" } else { "apply" })?;
    let provider = session.provider().await?;
    let prepared = ops::prepare(
        config,
        provider.as_ref(),
        store.as_ref(),
        PrepareOptions {
            refresh: true,
            destroy,
            // apply and destroy may discard what a killed run's never-made create left behind
            settle: true,
        },
    )
    .await?;
    if !prepared.warnings.0.is_empty() {
        render::diagnostics(&prepared.warnings);
    }
    for r in &prepared.reconciled {
        anstream::eprintln!("reconciled: {r}");
    }
    let mut opts = prepared.apply_options();
    let estimate = ops::estimate(&prepared, provider.as_ref());
    let plan: Plan = prepared.plan;
    if let Some(s) = saved {
        s.check_current(&prepared.config, prepared.stored.as_ref())
            .and_then(|()| s.matches(&plan))
            .map_err(|e| {
                CliError::with_hint(
                    format!("the saved plan is stale: {e}"),
                    "make a new plan with netplan plan -o FILE",
                )
            })?;
    }
    anstream::print!("{}", render::plan(&plan));
    if let Some(a) = prepared.account.as_ref().filter(|_| plan.has_changes()) {
        anstream::print!("\n{}", render::account(a));
    }
    if let Some(e) = &estimate {
        anstream::print!("\n{}", render::estimate(e, destroy));
    }
    let working = prepared.working;
    if !plan.has_changes() {
        if prepared.stored.as_ref() != Some(&working) && prepared.stored.is_some() {
            store.save(&working)?; // persist what refresh and reconciliation learned
        }
        if destroy {
            anstream::println!("{}", left_on_disk(&store.location()));
        }
        return Ok(Exit::Success);
    }
    let foreign = plan.not_owned();
    if !foreign.is_empty() && !force {
        let names: Vec<String> = foreign
            .iter()
            .map(|c| {
                format!(
                    "{} ({}): {}",
                    c.address,
                    c.id.as_deref().unwrap_or("?"),
                    c.not_owned.as_deref().unwrap_or_default()
                )
            })
            .collect();
        if auto_approve || !std::io::stdin().is_terminal() {
            return Err(CliError::with_hint(
                format!(
                    "refusing to delete what is not this stack's: {}",
                    names.join("; ")
                ),
                "check that these ids are the ones netplan made (were the tags removed, or the state edited?); pass --force to delete them anyway",
            ));
        }
        confirm(&format!(
            "These objects do not carry this stack's netplan tags: {}. Delete them anyway?",
            names.join("; ")
        ))?;
    }
    if !auto_approve {
        confirm(if destroy {
            "Destroy everything above?"
        } else {
            "Apply these changes?"
        })?;
    }
    // Ctrl-C: each press bumps the level; the executor reads it (see apply's module docs).
    let (int_tx, int_rx) = tokio::sync::watch::channel(0u8);
    let signals = tokio::spawn(async move {
        let mut level = 0u8;
        while tokio::signal::ctrl_c().await.is_ok() {
            level = level.saturating_add(1);
            let _ = int_tx.send(level);
        }
    });
    let (ev_tx, ev_rx) = tokio::sync::mpsc::unbounded_channel();
    let renderer = tokio::spawn(crate::progress::render(ev_rx, estimate));
    opts.rollback = rollback;
    opts.interrupt = Some(int_rx);
    opts.events = Some(ev_tx);
    let started = std::time::Instant::now();
    let report = apply::apply(&plan, working, provider, store.clone(), opts)
        .await
        .map_err(|e| CliError::msg(e.to_string()))?;
    let _ = renderer.await;
    signals.abort();
    summarize(&report, started.elapsed(), destroy, store.location())
}

/// What a destroy leaves behind it: the state (empty now, keeping its lineage), its backup and lock
/// file — named, so that a user cleaning up knows what they are.
pub fn left_on_disk(location: &str) -> String {
    if location.starts_with("s3://") {
        return format!("Left: {location} holds an empty stack now (and {location}.backup the state before); delete them when you are done with this stack.");
    }
    let files: Vec<String> = [
        ("", "an empty state: it keeps the stack's lineage"),
        (".backup", "the state before this run"),
        (".lock", "the lock file, held by no one"),
    ]
    .iter()
    .filter(|(suffix, _)| std::path::Path::new(&format!("{location}{suffix}")).exists())
    .map(|(suffix, what)| format!("{location}{suffix} ({what})"))
    .collect();
    if files.is_empty() {
        return "Nothing left on disk.".into();
    }
    format!(
        "Left on disk: {} — delete them when you are done with this stack.",
        files.join(", ")
    )
}

fn summarize(
    report: &ApplyReport,
    elapsed: std::time::Duration,
    destroy: bool,
    location: String,
) -> CliResult<Exit> {
    let done = report
        .steps
        .iter()
        .filter(|(_, s)| *s == StepStatus::Done)
        .count();
    let took = format!("{:.1}s", elapsed.as_secs_f64());
    match &report.outcome {
        ApplyOutcome::Applied => {
            let what = if destroy {
                "Destroy complete"
            } else {
                "Apply complete"
            };
            anstream::println!(
                "\n{} {done} steps in {took}. State: {location}",
                paint(GREEN.bold(), &format!("{what}!"))
            );
            if destroy {
                anstream::println!("{}", left_on_disk(&location));
            }
            Ok(Exit::Success)
        }
        outcome => {
            anstream::eprintln!();
            for (step, error) in report.failures() {
                anstream::eprintln!("{} {step}: {error}", paint(RED.bold(), "failed:"));
            }
            let verb = if destroy { "destroy" } else { "apply" };
            let (message, hint) = match outcome {
                ApplyOutcome::Failed { rolled_back: true } => {
                    let (read, held) = report
                        .rollback_check
                        .as_ref()
                        .map(|c| (c.read, c.held))
                        .unwrap_or_default();
                    let made = read - held;
                    let except = if report.not_undoable.is_empty() {
                        String::new()
                    } else {
                        let steps: Vec<String> =
                            report.not_undoable.iter().map(|s| s.address.to_string()).collect();
                        format!(", except what it deleted, which cannot be undone: {}", steps.join(", "))
                    };
                    (
                        format!(
                            "{verb} failed and was rolled back: a read afterwards shows the cloud as it was before — {}{except}; the state matches",
                            match (made, held) {
                                (m, 0) => format!("the {m} object(s) this run made are gone"),
                                (0, h) => format!("the {h} object(s) it found have every attribute netplan manages as they were"),
                                (m, h) => format!("the {m} object(s) this run made are gone, and the {h} it found have every attribute netplan manages as they were"),
                            }
                        ),
                        "fix the cause above and run apply again".to_string(),
                    )
                }
                ApplyOutcome::Failed { rolled_back: false } => (
                    format!(
                        "{verb} failed after {done} steps; what succeeded is kept and recorded in {location}{}{}",
                        if report.unsettled.is_empty() { String::new() } else {
                            format!("; the outcome of {} is unknown (kept pending: the next run looks for it)", report.unsettled.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "))
                        },
                        report.state_error.as_ref().map(|e| format!("; but the state file could not be written ({e}): it records what existed at its last write")).unwrap_or_default()
                    ),
                    format!("fix the cause above and run {verb} again: it continues from here"),
                ),
                ApplyOutcome::RollbackIncomplete { remaining } => {
                    let mut what: Vec<String> = vec![];
                    if let Some(c) = &report.rollback_check {
                        what.extend(c.left.iter().map(|(a, id)| format!("{a} ({id}) still exists")));
                        what.extend(c.gone.iter().filter(|(a, _)| !report.not_undoable.iter().any(|s| &s.address == a)).map(|(a, id)| format!("{a} ({id}) is gone")));
                        for ch in &c.changed {
                            let attrs: Vec<String> = ch
                                .attributes
                                .iter()
                                .map(|d| format!("`{}` is {} (was {})", d.name, d.now, d.before))
                                .collect();
                            what.push(format!(
                                "{} ({}) is not as it was: {}",
                                ch.address,
                                ch.id,
                                attrs.join(", ")
                            ));
                        }
                        if let Some(e) = &c.unread {
                            what.push(format!("the cloud could not be read to check: {e}"));
                        }
                    }
                    for a in &report.unsettled {
                        what.push(format!("{a}: the outcome of its last operation is unknown (kept pending in the state: the next plan or apply looks for it)"));
                    }
                    if let Some(e) = &report.state_error {
                        what.push(format!("the state file could not be written ({e}): it records what existed at its last write, with the operations then pending"));
                    }
                    if what.is_empty() {
                        what = remaining.iter().map(|a| format!("{a} was not undone")).collect();
                    }
                    (
                        format!("{verb} failed and the rollback did not finish: {}", what.join("; ")),
                        "run apply again to converge, or destroy to remove them".to_string(),
                    )
                }
                ApplyOutcome::Interrupted { rolled_back } => (
                    format!("interrupted{}; the state in {location} records exactly what exists", if *rolled_back { " and rolled back" } else { "" }),
                    "run apply again to continue".to_string(),
                ),
                ApplyOutcome::Applied => unreachable!("handled above"),
            };
            anstream::eprintln!("{}", paint(BOLD, &format!("{done} steps done in {took}")));
            Err(CliError::with_hint(message, hint))
        }
    }
}
