//! `netplan output [NAME] [--json | --raw]`: what users copy out of a deployment (VPC and subnet ids,
//! NAT public IPs, function names and ARNs), read from the state file: no cloud call.

use crate::error::{CliError, CliResult};
use crate::render::{paint, BOLD, DIM};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::outputs;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// One output (e.g. network.main.nat_public_ips); all of them when left out.
    pub name: Option<String>,
    /// As JSON: an object of all outputs, or the one value asked for.
    #[arg(long, conflicts_with = "raw")]
    pub json: bool,
    /// The value alone, for scripts: a list one item per line (needs NAME).
    #[arg(long, requires = "name")]
    pub raw: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let store = session.store()?;
    let Some(state) = store.load()? else {
        return Err(CliError::with_hint(
            format!("{} holds no state yet: nothing to output", store.location()),
            "run netplan apply first",
        ));
    };
    let all = outputs::collect(session.config(), &state);
    let print_json = |v: &serde_json::Value| -> CliResult<()> {
        println!(
            "{}",
            serde_json::to_string_pretty(v).map_err(|e| CliError::msg(e.to_string()))?
        );
        Ok(())
    };
    if let Some(name) = &a.name {
        let Some(o) = all.iter().find(|o| &o.name == name) else {
            let names: Vec<&str> = all.iter().map(|o| o.name.as_str()).collect();
            let hint = match netplan_engine::config::closest(name, names.iter().copied()) {
                Some(c) => format!("did you mean {c}? (netplan output lists them all)"),
                None if names.is_empty() => "nothing has outputs yet: run netplan apply".into(),
                None => "netplan output lists them all".into(),
            };
            return Err(CliError::with_hint(format!("no output named {name}"), hint));
        };
        if a.json {
            print_json(&o.value)?;
        } else if a.raw {
            println!("{}", outputs::raw(&o.value));
        } else {
            println!("{}", text(&o.value));
        }
        return Ok(Exit::Success);
    }
    if a.json {
        let map: serde_json::Map<String, serde_json::Value> = all
            .iter()
            .map(|o| (o.name.clone(), o.value.clone()))
            .collect();
        return print_json(&serde_json::Value::Object(map)).map(|_| Exit::Success);
    }
    if all.is_empty() {
        println!("No outputs: the state holds nothing of this config yet.");
        return Ok(Exit::Success);
    }
    let width = all.iter().map(|o| o.name.len()).max().unwrap_or(0);
    for o in &all {
        anstream::println!(
            "{} = {}  {}",
            paint(BOLD, &format!("{:width$}", o.name)),
            text(&o.value),
            paint(DIM, &format!("# {}", o.about))
        );
    }
    Ok(Exit::Success)
}

/// A value as the text listing shows it: TOML-like, strings quoted.
fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items.iter().map(text).collect::<Vec<_>>().join(", ")
        ),
        v => v.to_string(),
    }
}
