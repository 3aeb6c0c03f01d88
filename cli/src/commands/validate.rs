//! `netplan validate`: parse, expand and check the config — the reachability gate, and each function's
//! source packaged as apply would (a missing source is an error here: validate answers "would a first
//! apply of this work?"); no cloud calls.

use crate::error::CliResult;
use crate::{ConfigArg, Exit, Globals};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the diagnostics as JSON (file, line, column, message, hint) on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    if a.json {
        let path = netplan_engine::config::resolve_path(a.config.config.as_deref());
        let (valid, diagnostics) =
            match netplan_engine::config::load(&path, &crate::session::load_options(g)) {
                // The same gate plan and apply run: a function that cannot reach the internet.
                Ok(c) => {
                    let (gate_ok, reach) = match netplan_engine::ops::gate(&c) {
                        Ok(reach) => (true, reach),
                        Err(reach) => (false, reach),
                    };
                    let (code_ok, code) = match sources(&c) {
                        Ok(d) => (true, d),
                        Err(d) => (false, d),
                    };
                    (gate_ok && code_ok, [c.warnings.0, reach.0, code.0].concat())
                }
                Err(d) => (false, d.0),
            };
        println!(
            "{}",
            serde_json::json!({ "valid": valid, "diagnostics": diagnostics })
        );
        return if valid {
            Ok(Exit::Success)
        } else {
            Err(crate::error::CliError::Silent)
        };
    }
    let session = crate::session::Session::open(g, &a.config)?;
    let config = session.checked_config()?;
    let code = sources(config).map_err(crate::error::CliError::Diagnostics)?;
    if !code.0.is_empty() {
        crate::render::diagnostics(&code);
    }
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
    let counted = config.decls.iter().any(|d| {
        d.addr.kind == netplan_engine::Kind::Network
            && !matches!(d.fields.get("azs"), Some(netplan_engine::Value::List(_)))
    });
    if counted {
        anstream::println!(
            "Offline: validate reads no account, so `azs = N` took AZ names from netplan's table; plan chooses them from your account's zones (and pins them)."
        );
    }
    Ok(Exit::Success)
}

/// Each function's source packaged as a first apply would (nothing deployed to fall back on), and
/// its runtime judged as a new function's (AWS's lifecycle table).
fn sources(
    config: &netplan_engine::config::Config,
) -> Result<netplan_engine::diag::Diagnostics, netplan_engine::diag::Diagnostics> {
    let mut found =
        netplan_engine::runtimes::check(config, &netplan_engine::runtimes::today(), &|_| false);
    match netplan_engine::package::Packages::for_plan(config, &|_| None) {
        Ok((_, warnings)) => found.0.extend(warnings.0),
        Err(errors) => found.0.extend(errors.0),
    }
    found.sort();
    if found.has_errors() {
        Err(found)
    } else {
        Ok(found)
    }
}
