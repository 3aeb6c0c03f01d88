//! `netplan check`: does each function reach the internet?

use crate::session::CliResult;
use crate::{ConfigArg, Globals, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Analyse what exists in the account instead of the config.
    #[arg(long)]
    pub live: bool,
    #[arg(long)]
    pub json: bool,
}

pub async fn run(_g: &Globals, _a: Args) -> CliResult<Outcome> {
    Err(super::not_yet("check", "the reachability model (issue 5)"))
}
