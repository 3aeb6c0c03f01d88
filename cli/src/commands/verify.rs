//! `netplan verify`: invoke the deployed functions.

use crate::session::CliResult;
use crate::{ConfigArg, Globals, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// One function (its name in the config); default all.
    pub function: Option<String>,
}

pub async fn run(_g: &Globals, _a: Args) -> CliResult<Outcome> {
    Err(super::not_yet("verify", "the AWS provider (issue 4)"))
}
