//! `netplan policy`: the least-privilege IAM policy a plan, apply and destroy of this config need
//! (netplan_providers::aws::policy), to attach to the role or user netplan runs as.

use crate::error::{CliError, CliResult};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_providers::aws::policy::{self, Scope};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the policy document alone, as JSON (what `aws iam put-role-policy` takes).
    #[arg(long)]
    pub json: bool,
    /// Every resource `*` and no conditions: for an emulator whose access control matches actions only
    /// (moto). Against AWS, use the scoped policy.
    #[arg(long)]
    pub unscoped: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let scope = if a.unscoped {
        Scope::Actions
    } else {
        Scope::Scoped
    };
    let doc = policy::for_config(config, scope);
    let text = serde_json::to_string_pretty(&doc).map_err(|e| CliError::msg(e.to_string()))?;
    if !a.json {
        let actions: usize = doc["Statement"]
            .as_array()
            .map(|s| {
                s.iter()
                    .map(|st| st["Action"].as_array().map(Vec::len).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        eprintln!(
            "The IAM policy plan, apply and destroy of stack `{}` need ({actions} actions): attach it to the role or user netplan runs as.",
            config.stack.name
        );
    }
    println!("{text}");
    Ok(Exit::Success)
}
