//! `netplan graph`: the dependency graph as Graphviz dot or Mermaid.

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::graph::Graph;

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Dot,
    Mermaid,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    #[arg(long, value_enum, default_value_t = Format::Dot)]
    pub format: Format,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let graph = Graph::build(config.resources.values())
        .map_err(|c| CliError::msg(format!("dependency cycle: {c:?}")))?;
    print!(
        "{}",
        match a.format {
            Format::Dot => graph.to_dot(),
            Format::Mermaid => graph.to_mermaid(),
        }
    );
    Ok(Exit::Success)
}
