//! `netplan check`: does each function reach the internet? The path as evidence, or what blocks it and
//! the TOML that fixes it.

use crate::render::{paint, BOLD, CYAN, DIM, GREEN, RED, YELLOW};
use crate::session::{load_config, CliError, CliResult};
use crate::{ConfigArg, Globals, Outcome};
use netplan_engine::config::Config;
use netplan_engine::diag::{Diagnostic, Diagnostics};
use netplan_engine::reach::{self, Level, Verdict};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Analyse what exists in the account instead of the config.
    #[arg(long)]
    pub live: bool,
    #[arg(long)]
    pub json: bool,
}

/// The reachability findings as diagnostics (for validate and plan), placed at each function.
pub fn diagnostics(config: &Config) -> Diagnostics {
    let mut out = Diagnostics::default();
    for v in reach::check(config) {
        for f in v.findings.iter().filter(|f| f.level >= Level::Warning) {
            let mut d = if f.level == Level::Error {
                Diagnostic::error(format!("{}: {}", v.function, f.message))
            } else {
                Diagnostic::warning(format!("{}: {}", v.function, f.message))
            };
            d.at(config.location_of(&v.function, "subnets"))
                .resource(&f.component)
                .label("this function");
            d.hint(match &f.fix {
                Some(fix) => format!("add:\n{fix}\n(or set internet = false if the function needs no internet; `netplan check` shows the paths)"),
                None => "`netplan check` shows the paths".to_string(),
            });
            out.push(d);
        }
    }
    out
}

fn render(v: &Verdict) {
    let verdict = |ok: bool| {
        if ok {
            paint(GREEN, "reaches the internet")
        } else {
            paint(RED, "blocked")
        }
    };
    anstream::println!(
        "{} {}",
        paint(BOLD, &v.function.to_string()),
        if v.internet { "" } else { "(internet = false)" }
    );
    anstream::println!("  IPv4: {}", verdict(v.ipv4));
    if let Some(v6) = v.ipv6 {
        anstream::println!("  IPv6: {}", verdict(v6));
    }
    for p in &v.paths {
        let mark = if p.reaches {
            paint(GREEN, "✓")
        } else {
            paint(RED, "✗")
        };
        anstream::println!(
            "    {mark} {} {}",
            p.family,
            paint(DIM, &p.hops.join(" → "))
        );
    }
    for f in &v.findings {
        let (label, style) = match f.level {
            Level::Error => ("error", RED),
            Level::Warning => ("warning", YELLOW),
            Level::Info => ("info", CYAN),
        };
        anstream::println!(
            "  {} {} {}",
            paint(style.bold(), &format!("{label}:")),
            f.message,
            paint(DIM, &format!("[{}]", f.component))
        );
        if let Some(fix) = &f.fix {
            anstream::println!("    {}", paint(CYAN, "fix:"));
            for line in fix.lines() {
                anstream::println!("      {line}");
            }
        }
    }
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Outcome> {
    if a.live {
        return Err(super::not_yet(
            "check --live",
            "the live analysis of an account's VPCs (issue 5)",
        ));
    }
    let config = load_config(g, &a.config)?;
    let verdicts = reach::check(&config);
    let blocked = verdicts
        .iter()
        .filter(|v| v.internet && v.blocked())
        .count();
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "verdicts": verdicts }))
                .map_err(|e| CliError::msg(e.to_string()))?
        );
    } else {
        for v in &verdicts {
            render(v);
            println!();
        }
        let n = verdicts.len();
        anstream::println!(
            "{n} function{} in a VPC checked: {} reach{} the internet, {blocked} blocked.",
            if n == 1 { "" } else { "s" },
            n - blocked,
            if n - blocked == 1 { "es" } else { "" }
        );
    }
    if blocked > 0 {
        return Err(if a.json {
            CliError::Silent
        } else {
            CliError::with_hint(format!("{blocked} function(s) cannot reach the internet"), "apply the fixes above, or set internet = false on a function that needs no internet")
        });
    }
    Ok(Outcome::Ok)
}
