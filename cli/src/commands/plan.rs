//! `netplan plan`: refresh, diff against the state file, print the diff (or save it with -o).

use crate::session::{open_store, provider, CliError, CliResult};
use crate::{ConfigArg, Globals, Outcome};
use netplan_engine::ops::{self, OpsError, PrepareOptions};
use netplan_engine::plan::SavedPlan;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Save the plan to this file, for `netplan apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "PLANFILE")]
    pub out: Option<PathBuf>,
    /// Print the plan as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 0 when there are no changes, 2 when there are.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Read the cloud before diffing (--refresh=false plans from the state file alone).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub refresh: bool,
    /// Plan the destruction of everything in the state.
    #[arg(long)]
    pub destroy: bool,
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    let config = crate::session::load_checked_config(g, &a.config)?;
    let store = open_store(g, &config)?;
    let provider = provider(g, Some(&config)).await?;
    let prepared = ops::prepare(&config, Some(provider.as_ref()), store.as_ref(), PrepareOptions { refresh: a.refresh, destroy: a.destroy })
        .await
        .map_err(|e| match e {
            OpsError::NoProvider { .. } => CliError::with_hint(e.to_string(), "run with --refresh=false to plan from the state file alone, or set NETPLAN_FAKE_CLOUD=FILE to use netplan's fake cloud (the AWS provider is not part of this build yet)"),
            e => super::apply::ops_error(e),
        })?;
    if prepared.existing_unread {
        anstream::eprintln!("note: existing objects were not read (no cloud provider in this build); their ids are taken from the config");
    }
    for r in &prepared.reconciled {
        anstream::eprintln!(
            "note: a previous run left a pending operation: {r:?} (apply will record this)"
        );
    }
    let p = prepared.plan;
    if a.json {
        let json = serde_json::to_string_pretty(&p).map_err(|e| CliError::msg(e.to_string()))?;
        println!("{json}");
    } else {
        anstream::print!("{}", crate::render::plan(&p));
    }
    if let Some(out) = &a.out {
        let saved = SavedPlan {
            netplan_version: env!("CARGO_PKG_VERSION").into(),
            created_at: netplan_engine::state::now_rfc3339(),
            config_path: config.path.to_string_lossy().into_owned(),
            plan: p.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&saved).map_err(|e| CliError::msg(e.to_string()))?;
        std::fs::write(out, bytes)
            .map_err(|e| CliError::msg(format!("cannot write {}: {e}", out.display())))?;
        if !a.json {
            anstream::println!(
                "\nSaved the plan to {}. Apply exactly this plan with: netplan apply {}",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if a.detailed_exitcode && p.has_changes() {
        Outcome::Changes
    } else {
        Outcome::Ok
    })
}
