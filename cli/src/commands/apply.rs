//! `netplan apply` and `netplan destroy`.

use crate::session::CliResult;
use crate::{ConfigArg, Globals, Outcome};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// A plan saved with `netplan plan -o`.
    pub planfile: Option<PathBuf>,
    #[arg(long)]
    pub auto_approve: bool,
    /// At most this many provider calls in flight.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    /// On failure, keep what succeeded instead of undoing it.
    #[arg(long)]
    pub no_rollback: bool,
}

#[derive(clap::Args, Debug)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long)]
    pub auto_approve: bool,
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
}

pub async fn run(_g: &Globals, _a: Args) -> CliResult<Outcome> {
    Err(super::not_yet("apply", "the executor (issue 3)"))
}

pub async fn destroy(_g: &Globals, _a: DestroyArgs) -> CliResult<Outcome> {
    Err(super::not_yet("destroy", "the executor (issue 3)"))
}
