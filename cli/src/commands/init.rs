//! `netplan init [DIR]`: a new config to start from — the seed network (two AZs, public and private
//! subnets, NAT as asked, optionally dual-stack) and one function that GETs a page and returns the
//! status, with a handler for its runtime; commented, formatted as `netplan fmt` would, with the
//! `#:schema` line editors follow and the schema beside it. Never overwrites; non-interactive; what it
//! writes validates and applies on `--local` as it is.

use crate::error::{CliError, CliResult};
use crate::{Exit, Globals};
use netplan_engine::runtimes;
use std::path::{Path, PathBuf};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nat {
    /// One NAT gateway per AZ (resilient; the guide's default).
    PerAz,
    /// One NAT gateway for the network (cheaper; an AZ's outage cuts the others off).
    Single,
    /// NAT instances (cheapest; an EC2 instance per AZ).
    Instance,
    /// No NAT: IPv6 only with --ipv6, else no internet.
    None,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The folder to write into (made when missing; default: here).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// The function's runtime: an identifier (python3.14, nodejs24.x, ruby3.4) or a language
    /// (python, nodejs, ruby) for its newest supported version.
    #[arg(long, default_value = "python")]
    pub runtime: String,
    /// How the private subnets reach the internet.
    #[arg(long, value_enum, default_value_t = Nat::PerAz)]
    pub nat: Nat,
    /// A dual-stack network (an Amazon IPv6 block, an egress-only gateway) and function.
    #[arg(long)]
    pub ipv6: bool,
}

/// A handler for a runtime family: (file, handler setting, code).
fn handler(runtime: &str) -> Option<(&'static str, &'static str, &'static str)> {
    if runtime.starts_with("python") {
        Some((
            "lambda_function.py",
            "lambda_function.lambda_handler",
            "import os\nimport urllib.request\n\n\ndef lambda_handler(event, context):\n    \"\"\"GETs TARGET_URL and returns its HTTP status: 200 means the function reaches the internet.\"\"\"\n    url = os.environ.get(\"TARGET_URL\", \"https://aws.amazon.com/\")\n    with urllib.request.urlopen(url, timeout=5) as response:\n        status_code = response.getcode()\n    print(\"Status:\", status_code)\n    return status_code\n",
        ))
    } else if runtime.starts_with("nodejs") {
        Some((
            "index.mjs",
            "index.handler",
            "// GETs TARGET_URL and returns its HTTP status: 200 means the function reaches the internet.\nexport const handler = async () => {\n  const url = process.env.TARGET_URL ?? \"https://aws.amazon.com/\";\n  const response = await fetch(url);\n  console.log(\"Status:\", response.status);\n  return response.status;\n};\n",
        ))
    } else if runtime.starts_with("ruby") {
        Some((
            "lambda_function.rb",
            "lambda_function.lambda_handler",
            "require 'net/http'\n\n# GETs TARGET_URL and returns its HTTP status: 200 means the function reaches the internet.\ndef lambda_handler(event:, context:)\n  url = URI(ENV.fetch('TARGET_URL', 'https://aws.amazon.com/'))\n  status = Net::HTTP.get_response(url).code.to_i\n  puts \"Status: #{status}\"\n  status\nend\n",
        ))
    } else {
        None
    }
}

/// The runtime identifier `--runtime` names, checked against AWS's lifecycle table.
fn runtime(asked: &str, today: &str) -> CliResult<String> {
    let family = match asked {
        "node" | "nodejs" => Some("nodejs"),
        "python" | "ruby" => Some(asked),
        _ => None,
    };
    let id = match family {
        Some(f) => runtimes::successor(f, today)
            .ok_or_else(|| CliError::msg(format!("no supported {f} runtime in the table")))?
            .to_string(),
        None => asked.to_string(),
    };
    match runtimes::stage(&id, today) {
        None => Err(CliError::with_hint(
            format!("`{asked}` is not a Lambda runtime netplan knows"),
            "use python, nodejs or ruby (their newest version), or an identifier such as python3.14",
        )),
        Some((runtimes::Stage::CreateBlocked | runtimes::Stage::UpdateBlocked, row)) => {
            Err(CliError::with_hint(
                format!("AWS blocks creating functions with {id} since {}", row.2),
                format!(
                    "use {}",
                    runtimes::successor(&id, today).unwrap_or("a supported runtime")
                ),
            ))
        }
        Some(_) if handler(&id).is_none() => Err(CliError::with_hint(
            format!("netplan init writes handlers for Python, Node.js and Ruby, not for {id}"),
            "init with --runtime python, then set runtime, handler and source to your own build",
        )),
        Some(_) => Ok(id),
    }
}

/// A stack name from the folder's name: letters, digits and `-`, starting with a letter.
fn stack_name(dir: &Path) -> String {
    let base = std::fs::canonicalize(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    name.truncate(40);
    let name = name.trim_end_matches('-').to_string();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        "lambda-egress".into()
    }
}

/// The config's text, before `fmt`.
fn config(name: &str, runtime: &str, handler: &str, nat: Nat, ipv6: bool) -> String {
    let mut t = format!(
        "#:schema ./{schema}\n# netplan.toml, written by `netplan init`: the network a VPC-attached Lambda function needs to\n# reach the internet, and the function. Every key: `netplan schema --reference`; an editor that\n# follows the line above (VS Code's Even Better TOML, Zed, Helix) completes and checks them.\n\n[stack]\nname = \"{name}\"  # tagged on every object netplan makes (netplan:stack)\nregion = \"us-east-1\"\n# state = \"s3://BUCKET/KEY\"  # shared state, locked (default: netplan.state.json here)\n\n[network.main]\ncidr = \"10.0.0.0/16\"  # the VPC's block: subnets are carved from it\n",
        schema = netplan_engine::schema::json::FILE
    );
    if ipv6 {
        t.push_str("ipv6 = true  # an Amazon /56, a /64 per subnet, and an egress-only gateway for IPv6 out\n");
    }
    t.push_str("azs = 2  # plan chooses them from your account's zones, and pins them\n");
    t.push_str(match nat {
        Nat::PerAz => "nat_gateways = \"per_az\"  # a NAT gateway per AZ; \"single\" is cheaper\n",
        Nat::Single => "nat_gateways = \"single\"  # one NAT gateway; \"per_az\" survives an AZ outage\n",
        Nat::Instance => "nat_gateways = \"per_az\"\nnat_type = \"instance\"  # NAT instances (t4g.nano): cheaper than gateways\n",
        Nat::None => "nat_gateways = \"none\"  # no NAT: no IPv4 internet from the private subnets\n",
    });
    t.push_str("s3_endpoint = true  # free: S3 traffic stays off the NAT\n");
    let _ = std::fmt::Write::write_fmt(
        &mut t,
        format_args!(
            "\n# A function in the network's private subnets that GETs TARGET_URL and returns the status\n# (`netplan verify` invokes it).\n[function.probe]\nnetwork = \"network.main\"\nruntime = \"{runtime}\"\nhandler = \"{handler}\"\nsource = \"functions/probe\"  # zipped by apply\ntimeout = 10\nenvironment = {{ TARGET_URL = \"https://aws.amazon.com/\" }}\n"
        ),
    );
    if ipv6 {
        t.push_str("ipv6_dual_stack = true\n");
    }
    match (nat, ipv6) {
        (Nat::None, true) => {
            t.push_str("internet = \"ipv6\"  # out over IPv6 only (no NAT needed)\n")
        }
        (Nat::None, false) => {
            t.push_str("internet = false  # no path out: it reaches only the VPC\n")
        }
        _ => {}
    }
    t
}

pub fn run(_g: &Globals, a: Args) -> CliResult<Exit> {
    let dir = a.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let today = runtimes::today();
    let runtime = runtime(&a.runtime, &today)?;
    let (file, handler_setting, code) = handler(&runtime).expect("checked above");
    let config_path = dir.join(netplan_engine::config::DEFAULT_FILE);
    let source = dir.join("functions/probe");
    let schema_path = dir.join(netplan_engine::schema::json::FILE);
    let taken: Vec<String> = [&config_path, &source, &schema_path]
        .iter()
        .filter(|p| p.exists())
        .map(|p| p.display().to_string())
        .collect();
    if !taken.is_empty() {
        return Err(CliError::with_hint(
            format!("refusing to overwrite {}", taken.join(", ")),
            "init into an empty folder: netplan init DIR",
        ));
    }
    std::fs::create_dir_all(&source)
        .map_err(|e| CliError::msg(format!("{}: {e}", source.display())))?;
    let text = config(&stack_name(&dir), &runtime, handler_setting, a.nat, a.ipv6);
    let text = netplan_engine::format::format(&text).map_err(|e| CliError::msg(e.to_string()))?;
    let schema = serde_json::to_string_pretty(&netplan_engine::schema::json::schema())
        .map_err(|e| CliError::msg(e.to_string()))?;
    for (path, body) in [
        (config_path.clone(), text),
        (source.join(file), code.to_string()),
        (schema_path, format!("{schema}\n")),
    ] {
        std::fs::write(&path, body)
            .map_err(|e| CliError::msg(format!("{}: {e}", path.display())))?;
    }
    let shown = dir.display().to_string();
    println!(
        "Wrote {} (runtime {runtime}), {} and {}.",
        config_path.display(),
        source.join(file).display(),
        dir.join(netplan_engine::schema::json::FILE).display()
    );
    println!("Next:");
    if shown != "." {
        println!("  cd {shown}");
    }
    println!(
        "  netplan check                            # proves the function reaches the internet"
    );
    println!("  netplan --local apply --auto-approve     # builds it on the local AWS emulator");
    println!(
        "  netplan plan                             # what apply would make in your AWS account"
    );
    Ok(Exit::Success)
}
