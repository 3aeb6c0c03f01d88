//! `netplan plan`: refresh, diff against the state file, print the diff (or save it with -o).

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::plan::SavedPlan;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Save the plan to this file, for `netplan apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// How to print the plan: text, json, or markdown (a collapsible summary with the cost and
    /// check's verdicts, to paste in a pull request).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit 0 when there are no changes, 2 when there are.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read the cloud before diffing (--refresh=false plans from the state file alone).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub refresh: bool,
    /// Plan the destruction of everything in the state.
    #[arg(long)]
    pub destroy: bool,
    /// Take the state's lock while reading it (--lock=false reads without it).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub lock: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let format = if a.json { Format::Json } else { a.format };
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let store = session.store()?;
    // The state's lock for the read (a plan against no state yet has nothing to hold still).
    let _lock = if a.lock && store.load()?.is_some() {
        Some(store.lock("plan")?)
    } else {
        None
    };
    let provider = session.provider().await?;
    let prepared = ops::prepare(
        config,
        provider.as_ref(),
        store.as_ref(),
        PrepareOptions {
            refresh: a.refresh,
            destroy: a.destroy,
            settle: false,
        },
    )
    .await?;
    if !prepared.warnings.0.is_empty() {
        crate::render::diagnostics(&prepared.warnings);
    }
    for r in &prepared.reconciled {
        anstream::eprintln!(
            "note: a previous run left a pending operation: {r} (apply will record this)"
        );
    }
    let estimate = ops::estimate(&prepared, provider.as_ref());
    let p = prepared.plan;
    match format {
        Format::Json => {
            let mut v = serde_json::to_value(&p).map_err(|e| CliError::msg(e.to_string()))?;
            if let (Some(a), Some(o)) = (&prepared.account, v.as_object_mut()) {
                o.insert(
                    "account".into(),
                    serde_json::to_value(a).map_err(|e| CliError::msg(e.to_string()))?,
                );
            }
            if let (Some(e), Some(o)) = (&estimate, v.as_object_mut()) {
                o.insert(
                    "estimate".into(),
                    serde_json::to_value(e).map_err(|e| CliError::msg(e.to_string()))?,
                );
            }
            let json =
                serde_json::to_string_pretty(&v).map_err(|e| CliError::msg(e.to_string()))?;
            println!("{json}");
        }
        Format::Markdown => {
            let verdicts = if a.destroy {
                vec![]
            } else {
                netplan_engine::reach::check(config)
            };
            print!("{}", crate::markdown::plan(&p, &verdicts));
        }
        Format::Text => {
            anstream::print!("{}", crate::render::plan(&p));
            if let Some(a) = prepared.account.as_ref().filter(|_| p.has_changes()) {
                anstream::print!("\n{}", crate::render::account(a));
            }
            if let Some(e) = &estimate {
                anstream::print!("\n{}", crate::render::estimate(e, a.destroy));
            }
        }
    }
    if let Some(out) = &a.out {
        let saved = SavedPlan {
            netplan_version: env!("CARGO_PKG_VERSION").into(),
            created_at: netplan_engine::state::now_rfc3339(),
            config_path: config.path.to_string_lossy().into_owned(),
            plan: p.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&saved).map_err(|e| CliError::msg(e.to_string()))?;
        netplan_engine::files::write_atomically(out, &bytes)
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", out.display())))?;
        if format == Format::Text {
            anstream::println!(
                "\nSaved the plan to {}. Apply exactly this plan with: netplan apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if a.detailed_exitcode && p.has_changes() {
        Exit::Changes
    } else {
        Exit::Success
    })
}
