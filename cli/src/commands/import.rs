//! `netplan import ADDRESS ID`: adopt an existing object into the state.

use crate::session::CliResult;
use crate::{ConfigArg, Globals, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    pub address: String,
    pub id: String,
}

pub async fn run(_g: &Globals, _a: Args) -> CliResult<Outcome> {
    Err(super::not_yet("import", "the AWS provider (issue 4)"))
}
