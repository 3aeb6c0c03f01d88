//! `netplan graph`: the dependency graph as Graphviz dot or Mermaid.

use crate::session::{load_config, CliError, CliResult};
use crate::{ConfigArg, Globals, Outcome};
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

pub fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    let config = load_config(g, &a.config)?;
    let graph = Graph::build(config.resources.values())
        .map_err(|c| CliError::msg(format!("dependency cycle: {c:?}")))?;
    print!(
        "{}",
        match a.format {
            Format::Dot => graph.to_dot(),
            Format::Mermaid => graph.to_mermaid(),
        }
    );
    Ok(Outcome::Ok)
}
