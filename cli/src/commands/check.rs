//! `netplan check`: does each function reach the internet? The path as evidence, or what blocks it and
//! the TOML that fixes it.

use crate::error::{CliError, CliResult};
use crate::render::{paint, BOLD, CYAN, DIM, GREEN, RED, YELLOW};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::config::Config;
use netplan_engine::diag::Severity;
use netplan_engine::live;
use netplan_engine::provider::DiscoverRequest;
use netplan_engine::reach::{self, Verdict};
use netplan_engine::schema::VPC_ACCESS_POLICY;
use netplan_engine::state::State;
use netplan_engine::{Kind, ResourceAddr};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Analyse what exists in the account: the config's objects as they are (what is not created yet
    /// as planned), the VPCs around them, their route tables, gateways, security groups and ACLs.
    #[arg(long)]
    pub live: bool,
    /// With --live: an existing VPC (no config needed): what does it lack for a function in its private
    /// subnets? Prints the TOML that adds it.
    #[arg(long, value_name = "VPC_ID", requires = "live")]
    pub vpc: Option<String>,
    /// With --live: an existing function by name (no config needed), as it is attached now.
    #[arg(long, value_name = "NAME", requires = "live", conflicts_with = "vpc")]
    pub function: Option<String>,
    #[arg(long)]
    pub json: bool,
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
        if !v.internet {
            "(internet = false)".to_string()
        } else if v.ipv6_only {
            "(internet = \"ipv6\")".to_string()
        } else {
            String::new()
        }
    );
    if v.ipv6_only {
        anstream::println!(
            "  IPv4: {}",
            paint(
                DIM,
                "not asked for: IPv4 destinations are unreachable by design"
            )
        );
    } else {
        anstream::println!("  IPv4: {}", verdict(v.ipv4));
    }
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
    for c in reach::causes(v.findings.clone()) {
        let (label, style) = match c.level {
            Severity::Error => ("error", RED),
            Severity::Warning => ("warning", YELLOW),
            Severity::Info => ("info", CYAN),
        };
        anstream::println!(
            "  {} {} {}",
            paint(style.bold(), &format!("{label}:")),
            c.message,
            paint(DIM, &format!("[{}]", c.component))
        );
        for (i, fix) in c.fixes.iter().enumerate() {
            anstream::println!("    {}", paint(CYAN, if i == 0 { "fix:" } else { "or:" }));
            for line in fix.to_string().lines() {
                anstream::println!("      {line}");
            }
        }
        if let Some(note) = &c.note {
            anstream::println!("    {} {note}", paint(CYAN, "note:"));
        }
    }
}

/// Over which family the blocked functions are blocked, when one family is open: a function that
/// needs IPv4 and IPv6 and has only IPv6 is blocked, and says so rather than seem to reach.
fn blocked_over(verdicts: &[Verdict]) -> String {
    let blocked: Vec<&Verdict> = verdicts
        .iter()
        .filter(|v| v.internet && v.blocked())
        .collect();
    if blocked.is_empty() {
        return String::new();
    }
    let v4 = blocked.iter().any(|v| !v.ipv6_only && !v.ipv4);
    let v6 = blocked.iter().any(|v| v.ipv6 == Some(false));
    let v6_open = blocked.iter().all(|v| v.ipv6 == Some(true));
    match (v4, v6) {
        (true, false) if v6_open => {
            " over IPv4 (their IPv6 path is open; IPv4 destinations are not)".into()
        }
        (true, false) => " over IPv4".into(),
        (false, true) => " over IPv6".into(),
        (true, true) => " over IPv4 and IPv6".into(),
        (false, false) => String::new(),
    }
}

/// The live model, and which of its functions to report.
async fn live_model(g: &Globals, a: &Args) -> CliResult<(Config, Vec<ResourceAddr>)> {
    let template = || -> CliResult<Config> {
        let dir = std::env::current_dir().map_err(|e| CliError::msg(e.to_string()))?;
        netplan_engine::config::load_str(
            "(live)",
            "[stack]\nname = \"live\"\n",
            &dir,
            &crate::session::load_options(g),
        )
        .map_err(CliError::Diagnostics)
    };
    if a.vpc.is_some() || a.function.is_some() {
        let provider = Session::without_config(g).provider().await?;
        let request = DiscoverRequest {
            vpcs: a.vpc.iter().cloned().collect(),
            functions: a.function.iter().cloned().collect(),
            ..Default::default()
        };
        let found = provider.discover(request).await?;
        if let Some(vpc) = &a.vpc {
            let c = live::probe_vpc(&template()?, vpc, &found).map_err(CliError::msg)?;
            return Ok((c, vec![ResourceAddr::new(Kind::LambdaFunction, "probe")]));
        }
        let name = a.function.as_deref().unwrap_or_default();
        let Some((_, f)) = found
            .objects
            .iter()
            .find(|(k, _)| *k == Kind::LambdaFunction)
        else {
            return Err(CliError::msg(format!(
                "no function named {name} in the account"
            )));
        };
        let addr = live::generated(Kind::LambdaFunction, &f.id);
        let t = template()?;
        let c = live::overlay(&t, &State::new(&t.stack.name), &found);
        return Ok((c, vec![addr]));
    }
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let state = session
        .store()?
        .load()?
        .unwrap_or_else(|| State::new(&config.stack.name));
    let found = session
        .provider()
        .await?
        .discover(live::discover_request(config, &state))
        .await?;
    let functions = config
        .of_kind(Kind::LambdaFunction)
        .map(|f| f.addr.clone())
        .collect();
    Ok((live::overlay(config, &state, &found), functions))
}

/// The TOML a `--vpc` probe proposes: the VPC and subnets as `existing`, every fix once, and the
/// security group, role and function netplan would add.
fn proposal(c: &Config, verdicts: &[Verdict], vpc: &str) -> String {
    let mut out = format!(
        "# netplan.toml: a function in {vpc} with internet access (the seed's path 2)\n[stack]\nname = \"{vpc}-egress\"\n"
    );
    if let Some(r) = &c.region {
        out.push_str(&format!("region = \"{r}\"\n"));
    }
    out.push_str(&format!("\n[vpc.main]\nexisting = \"{vpc}\"\n"));
    let f = c
        .resources
        .get(&ResourceAddr::new(Kind::LambdaFunction, "probe"));
    let subnets: Vec<&ResourceAddr> = f.map(|f| f.ref_list("subnets")).unwrap_or_default();
    let mut seen: std::collections::BTreeSet<String> = ["[vpc.main]".to_string()].into();
    for s in &subnets {
        if let Some(id) = c.resources.get(s).and_then(|r| r.str_attr("id")) {
            out.push_str(&format!("\n[{s}]\nexisting = \"{id}\"\n"));
            seen.insert(format!("[{s}]"));
        }
    }
    // Each fix's new tables, the ones the proposal already declares skipped.
    for v in verdicts {
        for fix in v.findings.iter().filter_map(|f| f.fixes.first()) {
            let netplan_engine::fix::Fix::Edit { edits } = fix else {
                continue;
            };
            for e in edits {
                let netplan_engine::fix::Edit::Add { toml } = e else {
                    continue;
                };
                for block in toml.split("\n\n").filter(|b| !b.trim().is_empty()) {
                    let head = block.lines().next().unwrap_or_default().to_string();
                    if seen.insert(if head.starts_with('[') {
                        head
                    } else {
                        block.to_string()
                    }) {
                        out.push_str(&format!("\n{}\n", block.trim_end()));
                    }
                }
            }
        }
    }
    let list = subnets
        .iter()
        .map(|s| format!("\"{s}\""))
        .collect::<Vec<_>>()
        .join(", ");
    out.push_str(&format!(
        "\n[security_group.lambda]\nvpc = \"vpc.main\"\ndescription = \"outbound only\"\negress = [{{ protocol = \"all\", cidr = \"0.0.0.0/0\" }}]\n\n[iam_role.lambda]\nmanaged_policies = [\"{VPC_ACCESS_POLICY}\"]\n\n[lambda_function.probe]\nruntime = \"python3.12\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"probe\"   # a file or folder with your code\nrole = \"iam_role.lambda\"\nsubnets = [{list}]\nsecurity_groups = [\"security_group.lambda\"]\ntimeout = 10\n"
    ));
    out
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let (config, verdicts) = if a.live {
        let (c, report) = live_model(g, &a).await?;
        let verdicts: Vec<Verdict> = reach::check(&c)
            .into_iter()
            .filter(|v| report.contains(&v.function))
            .collect();
        (c, verdicts)
    } else {
        let c = Session::open(g, &a.config)?.config().clone();
        let v = reach::check(&c);
        (c, v)
    };
    let blocked = verdicts
        .iter()
        .filter(|v| v.internet && v.blocked())
        .count();
    let toml = a
        .vpc
        .as_deref()
        .map(|vpc| proposal(&config, &verdicts, vpc));
    if a.json {
        let mut out = serde_json::json!({ "verdicts": verdicts });
        if let Some(t) = &toml {
            out["toml"] = serde_json::Value::String(t.clone());
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&out).map_err(|e| CliError::msg(e.to_string()))?
        );
    } else {
        for v in &verdicts {
            render(v);
            println!();
        }
        let n = verdicts.len();
        anstream::println!(
            "{n} function{} in a VPC checked{}: {} reach{} the internet, {blocked} blocked{}.",
            if n == 1 { "" } else { "s" },
            if a.live { " against the account" } else { "" },
            n - blocked,
            if n - blocked == 1 { "es" } else { "" },
            blocked_over(&verdicts)
        );
        if let Some(t) = &toml {
            anstream::println!(
                "\n{}\n{t}",
                paint(
                    BOLD,
                    "TOML for a function in this VPC (what is missing included):"
                )
            );
        }
    }
    if blocked > 0 {
        return Err(if a.json {
            CliError::Silent
        } else {
            CliError::with_hint(format!("{blocked} function(s) cannot reach the internet"), "apply the fixes above, or set internet = false on a function that needs no internet")
        });
    }
    Ok(Exit::Success)
}
