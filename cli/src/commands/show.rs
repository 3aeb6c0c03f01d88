//! `netplan show`: what the state file holds.

use crate::error::{CliError, CliResult};
use crate::render::{paint, BOLD, DIM, YELLOW};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the state file's JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let store = session.store()?;
    let Some(state) = store.load()? else {
        if a.json {
            println!("null");
        } else {
            println!(
                "{} holds no state yet: nothing has been applied.",
                store.location()
            );
        }
        return Ok(Exit::Success);
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&state).map_err(|e| CliError::msg(e.to_string()))?
        );
        return Ok(Exit::Success);
    }
    anstream::println!(
        "{} (stack {}, serial {}, lineage {})",
        paint(BOLD, &store.location()),
        state.stack,
        state.serial,
        state.lineage
    );
    let width = state
        .resources
        .iter()
        .map(|r| r.address.to_string().len())
        .max()
        .unwrap_or(0);
    for r in &state.resources {
        let mut flags = vec![];
        if r.existing {
            flags.push("existing");
        }
        if r.deposed {
            flags.push("deposed");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            paint(DIM, &format!("  ({})", flags.join(", ")))
        };
        anstream::println!("  {:<width$}  {}{flags}", r.address.to_string(), r.id);
    }
    for p in &state.pending {
        anstream::println!(
            "  {} pending {:?} of {} since {} (reconciled by the next plan or apply)",
            paint(YELLOW, "!"),
            p.operation,
            p.address,
            p.started_at
        );
    }
    println!("{} objects.", state.resources.len());
    Ok(Exit::Success)
}
