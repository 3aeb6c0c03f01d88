//! `netplan plan`: refresh, diff against the state file, print the diff (or save it with -o).

use crate::session::{load_config, open_store, provider, CliError, CliResult};
use crate::{ConfigArg, Globals, Outcome};
use netplan_engine::config::Config;
use netplan_engine::plan::{self, Plan, PlanOptions, SavedPlan};
use netplan_engine::state::store::{StateError, StateStore};
use netplan_engine::state::State;
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

/// Loads the state, refreshes it through the provider when asked, and plans.
pub async fn make_plan(g: &Globals, config: &Config, store: &dyn StateStore, refresh: bool, destroy: bool) -> CliResult<(Plan, Option<State>)> {
    let state = store.load()?;
    if let Some(s) = &state {
        if s.stack != config.stack.name {
            return Err(StateError::WrongStack { location: store.location(), found: s.stack.clone(), expected: config.stack.name.clone() }.into());
        }
    }
    let mut working = state.clone().unwrap_or_else(|| State::new(&config.stack.name));
    let mut drift = vec![];
    let has_existing = config.resources.values().any(|r| r.existing.is_some());
    if refresh && (!working.resources.is_empty() || has_existing) {
        match provider(g)? {
            Some(p) => drift = plan::refresh(p.as_ref(), Some(config), &mut working).await?,
            None if working.resources.is_empty() => {
                anstream::eprintln!("note: existing objects were not read (no cloud provider in this build); their ids are taken from the config");
            }
            None => {
                return Err(CliError::with_hint(
                    format!("refreshing the {} objects in {} needs a cloud provider, and the AWS provider is not part of this build yet", working.resources.len(), store.location()),
                    "run with --refresh=false to plan from the state file alone, or set NETPLAN_FAKE_CLOUD=FILE to use netplan's fake cloud",
                ))
            }
        }
    }
    let mut p = plan::plan(config, Some(&working), drift, PlanOptions { destroy });
    p.state_lineage = state.as_ref().map(|s| s.lineage.clone());
    p.state_serial = state.as_ref().map(|s| s.serial).unwrap_or(0);
    Ok((p, state))
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    let config = load_config(g, &a.config)?;
    let store = open_store(&config)?;
    let (p, _) = make_plan(g, &config, store.as_ref(), a.refresh, a.destroy).await?;
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
        std::fs::write(out, bytes).map_err(|e| CliError::msg(format!("cannot write {}: {e}", out.display())))?;
        if !a.json {
            anstream::println!("\nSaved the plan to {}. Apply exactly this plan with: netplan apply {}", out.display(), out.display());
        }
    }
    Ok(if a.detailed_exitcode && p.has_changes() { Outcome::Changes } else { Outcome::Ok })
}
