//! One module per command; `run` dispatches.

pub mod apply;
pub mod check;
pub mod completions;
pub mod cost;
pub mod fmt;
pub mod graph;
pub mod import;
pub mod init;
pub mod local;
pub mod map;
pub mod output;
pub mod plan;
pub mod policy;
pub mod rekey;
pub mod schema;
pub mod show;
pub mod unlock;
pub mod validate;
pub mod verify;

use crate::error::CliResult;
use crate::{Cli, Command, Exit};

pub async fn run(cli: Cli) -> CliResult<Exit> {
    let g = &cli.globals;
    match cli.command {
        Command::Validate(a) => validate::run(g, a),
        Command::Plan(a) => plan::run(g, a).await,
        Command::Apply(a) => apply::run(g, a).await,
        Command::Destroy(a) => apply::destroy(g, a).await,
        Command::Check(a) => check::run(g, a).await,
        Command::Cost(a) => cost::run(g, a),
        Command::Verify(a) => verify::run(g, a).await,
        Command::Graph(a) => graph::run(g, a),
        Command::Show(a) => show::run(g, a),
        Command::Map(a) => map::run(g, a).await,
        Command::Output(a) => output::run(g, a),
        Command::Import(a) => import::run(g, a).await,
        Command::Local(a) => local::run(g, a).await,
        Command::ForceUnlock(a) => unlock::run(g, a),
        Command::Rekey(a) => rekey::run(g, a),
        Command::Fmt(a) => fmt::run(g, a),
        Command::Init(a) => init::run(g, a),
        Command::Schema(a) => schema::run(g, a),
        Command::Policy(a) => policy::run(g, a),
        Command::Completions(a) => completions::completions(a),
        Command::Man(a) => completions::man(a),
    }
}
