//! `netplan schema`: the config's JSON Schema (for editors: Taplo's `#:schema`), or with `--reference`
//! the config reference in Markdown (docs/config.md) — both generated from the engine's schema table.

use crate::error::{CliError, CliResult};
use crate::{Exit, Globals};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the config reference (Markdown: every kind, key, type, default, what replaces) instead.
    #[arg(long)]
    pub reference: bool,
}

pub fn run(_g: &Globals, a: Args) -> CliResult<Exit> {
    if a.reference {
        print!("{}", netplan_engine::schema::reference::markdown());
    } else {
        let text = serde_json::to_string_pretty(&netplan_engine::schema::json::schema())
            .map_err(|e| CliError::msg(e.to_string()))?;
        println!("{text}");
    }
    Ok(Exit::Success)
}
