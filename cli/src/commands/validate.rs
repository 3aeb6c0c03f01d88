//! `netplan validate`: parse, expand and check the config; no cloud calls.

use crate::session::CliResult;
use crate::{ConfigArg, Globals, Outcome};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the diagnostics as JSON (file, line, column, message, hint) on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    if a.json {
        let path = netplan_engine::config::resolve_path(a.config.config.as_deref());
        let opts = netplan_engine::config::LoadOptions {
            default_region: crate::session::default_region(g),
        };
        let (valid, diagnostics) = match netplan_engine::config::load(&path, &opts) {
            Ok(c) => (true, c.warnings.0),
            Err(d) => (false, d.0),
        };
        println!(
            "{}",
            serde_json::json!({ "valid": valid, "diagnostics": diagnostics })
        );
        return if valid {
            Ok(Outcome::Ok)
        } else {
            Err(crate::session::CliError::Silent)
        };
    }
    let config = crate::session::load_checked_config(g, &a.config)?;
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
