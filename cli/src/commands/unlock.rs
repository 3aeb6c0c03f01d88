//! `netplan force-unlock LOCK_ID`: release a state lock a run left behind (a remote lock object outlives
//! a run that was killed or lost its machine; an OS lock never does, and says so).

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use std::io::{BufRead, IsTerminal, Write};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The lock's id, as the refusal to run named it.
    pub lock_id: String,
    /// Release it without asking.
    #[arg(long)]
    pub force: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let store = session.store()?;
    if !a.force {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::with_hint(
                format!(
                    "refusing to release the lock {} of {} without confirmation: stdin is not a terminal",
                    a.lock_id,
                    store.location()
                ),
                "pass --force once you are sure the run that holds it is gone",
            ));
        }
        anstream::eprint!(
            "Release the lock {} of {}? A run that still holds it would then race another. Only 'yes' will be accepted: ",
            a.lock_id,
            store.location()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        if answer.trim() != "yes" {
            return Err(CliError::msg("cancelled; the lock is as it was"));
        }
    }
    let holder = store.force_unlock(&a.lock_id)?;
    println!(
        "Released the lock {} of {} (held by netplan pid {} on {}, running `{}` since {}).",
        a.lock_id,
        store.location(),
        holder.pid,
        holder.host,
        holder.operation,
        holder.since
    );
    Ok(Exit::Success)
}
