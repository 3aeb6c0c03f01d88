//! `netplan validate`: parse, expand and check the config; no cloud calls.

use crate::session::{load_config, CliResult};
use crate::{ConfigArg, Globals, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    let config = load_config(g, &a.config)?;
    let generated: usize = config.expansions.values().map(Vec::len).sum();
    let declared = config.resources.len() - generated;
    let mut line = format!("The config is valid: {} resources", config.resources.len());
    if generated > 0 {
        let origins: Vec<String> = config
            .expansions
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.len()))
            .collect();
        line.push_str(&format!(
            " ({declared} declared, {generated} expanded from {})",
            origins.join(", ")
        ));
    }
    anstream::println!(
        "{} {line}.",
        crate::render::paint(crate::render::GREEN.bold(), "Success!")
    );
    Ok(Outcome::Ok)
}
