//! `netplan cost`: what the config costs each month, itemised, and the egress designs side by side —
//! NAT gateway per AZ, one NAT gateway, NAT instances, IPv6 only — each with its monthly cost, what it
//! gives up, and `check`'s verdict. No cloud calls.

use crate::error::{CliError, CliResult};
use crate::render::{paint, BOLD, DIM, GREEN, RED};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::design::{self, Evaluated, Outcome};
use netplan_engine::pricing;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Print the costs and designs as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let now = pricing::cost(
        config.region.as_deref(),
        &pricing::of_config(config),
        config.stack.egress_gb_per_month,
    );
    let designs = design::compare(config);
    if a.json {
        let json =
            serde_json::json!({ "stack": config.stack.name, "cost": now, "designs": designs });
        println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| CliError::msg(e.to_string()))?
        );
        return Ok(Exit::Success);
    }
    anstream::println!(
        "{} ({}, list prices of {}):",
        paint(
            BOLD,
            &format!("Monthly cost of stack {}", config.stack.name)
        ),
        now.region.as_deref().unwrap_or("no region"),
        now.prices_as_of
    );
    if now.lines.is_empty() {
        anstream::println!("  nothing priced by the hour");
    }
    anstream::print!("{}", now.render("  "));
    anstream::println!("  {} {}", paint(BOLD, "Total:"), now.total_text());
    let Some(designs) = designs else {
        anstream::println!(
            "\nThe config declares its network resource by resource: `netplan cost` compares designs for [network] tables."
        );
        return Ok(Exit::Success);
    };
    anstream::println!(
        "\n{}{}",
        paint(BOLD, "The same functions, other ways out"),
        match config.stack.egress_gb_per_month {
            Some(gb) => format!(" (with {gb} GB a month out to the internet):"),
            None => " (hourly charges only; set egress_gb_per_month in [stack] to count traffic):"
                .to_string(),
        }
    );
    let width = designs.iter().map(|d| d.label.len()).max().unwrap_or(0) + 6;
    for d in &designs {
        render_design(d, width);
    }
    Ok(Exit::Success)
}

fn render_design(d: &Evaluated, width: usize) {
    let label = format!("{}{}", d.label, if d.current { " (now)" } else { "" });
    match &d.outcome {
        Outcome::Fits {
            cost,
            reaches,
            verdicts,
        } => {
            let asking = verdicts.iter().filter(|v| v.internet).count();
            let warnings: Vec<&str> = verdicts
                .iter()
                .flat_map(|v| v.findings.iter())
                .filter(|f| f.level == netplan_engine::diag::Severity::Warning)
                .map(|f| f.message.as_str())
                .collect();
            let check = if *reaches {
                let mut line = format!(
                    "✓ check: {asking} function{} reach{} the internet",
                    if asking == 1 { "" } else { "s" },
                    if asking == 1 { "es" } else { "" }
                );
                if let Some(first) = warnings.first() {
                    line.push_str(&format!(
                        " ({} warning{}: {first})",
                        warnings.len(),
                        if warnings.len() == 1 { "" } else { "s" }
                    ));
                }
                paint(GREEN, &line)
            } else {
                let first = verdicts
                    .iter()
                    .flat_map(|v| v.findings.iter())
                    .find(|f| f.level == netplan_engine::diag::Severity::Error)
                    .map(|f| format!("{}: {}", f.function, f.message))
                    .unwrap_or_default();
                paint(RED, &format!("✗ check: blocked — {first}"))
            };
            anstream::println!(
                "  {} {:>16}   {check}",
                paint(BOLD, &format!("{label:<width$}")),
                cost.total_text()
            );
        }
        Outcome::DoesNotFit { reason } => {
            anstream::println!(
                "  {} {:>16}   {}",
                paint(BOLD, &format!("{label:<width$}")),
                "-",
                paint(RED, &format!("does not fit this config: {reason}"))
            );
        }
    }
    anstream::println!(
        "  {:<width$} {:>16}   {}",
        "",
        "",
        paint(DIM, &format!("gives up: {}", d.gives_up))
    );
}
