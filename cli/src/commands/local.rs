//! `netplan local up|down|status`: the local AWS emulator.

use crate::session::CliResult;
use crate::{Globals, Outcome};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Action {
    Up,
    Down,
    Status,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[arg(value_enum)]
    pub action: Action,
    /// Port for the emulator (default 4566, or the next free one).
    #[arg(long)]
    pub port: Option<u16>,
}

pub async fn run(_g: &Globals, _a: Args) -> CliResult<Outcome> {
    Err(super::not_yet("local", "the AWS provider (issue 4)"))
}
