//! `netplan`: the command line. Commands are thin: each declares its arguments, fills an options struct
//! and calls one operation; rendering lives in `render`, the glue of config + state + provider in
//! `session`, the error type in `error`. Exit codes: 0 success, 1 error, 2 (plan --detailed-exitcode) changes present.

mod commands;
mod emulator;
mod error;
mod map;
mod markdown;
mod progress;
mod render;
mod session;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "netplan",
    version,
    about = "Plan and apply the AWS network a VPC-attached Lambda function needs to reach the internet."
)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Globals {
    /// Use the local AWS emulator (moto) on 127.0.0.1, starting it if needed.
    #[arg(long, global = true)]
    pub local: bool,
    /// Any AWS-compatible endpoint (AWS_ENDPOINT_URL works too).
    #[arg(long, global = true, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: [stack].region, then the AWS config chain).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// AWS profile.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// More output: -v every AWS call (action, target, duration, retries and why), -vv with AWS's
    /// request ids, -vvv everything the SDK logs.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// When to use colour (NO_COLOR is respected in auto).
    #[arg(long, global = true, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// Seconds one attempt of an AWS request may take before it counts as unanswered (three
    /// unanswered attempts fail the call, naming the endpoint).
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug, Clone)]
pub struct ConfigArg {
    /// The config file, or a folder holding netplan.toml.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a new config (the seed network and one function) and its function's handler.
    Init(commands::init::Args),
    /// Parse and check the config: semantic rules and reachability; no cloud calls.
    Validate(commands::validate::Args),
    /// Refresh, diff against the state file, and print what apply would do.
    Plan(commands::plan::Args),
    /// Converge the cloud to the config (or to a saved plan).
    Apply(commands::apply::Args),
    /// Delete everything the state file holds, in reverse dependency order.
    Destroy(commands::apply::DestroyArgs),
    /// Prove each function can reach the internet, or name what blocks it.
    Check(commands::check::Args),
    /// What the config costs each month, and the egress designs side by side (no cloud calls).
    Cost(commands::cost::Args),
    /// Invoke the deployed function(s) and expect status 200.
    Verify(commands::verify::Args),
    /// Print the dependency graph.
    Graph(commands::graph::Args),
    /// Draw the network as one self-contained HTML page, with check's verdicts and the cost on it.
    Map(commands::map::Args),
    /// Print what the state file holds.
    Show(commands::show::Args),
    /// Print what a deployment made, for copying: VPC and subnet ids, NAT public IPs, function ARNs.
    Output(commands::output::Args),
    /// Adopt an existing cloud object into the state under ADDRESS.
    Import(commands::import::Args),
    /// The local AWS emulator: up, down or status.
    Local(commands::local::Args),
    /// Release a state lock a run left behind (named by its id).
    ForceUnlock(commands::unlock::Args),
    /// Print the least-privilege IAM policy that plan, apply and destroy of this config need.
    Policy(commands::policy::Args),
    /// Write the state again with the first key [stack] encryption names (completes a key rotation).
    Rekey(commands::rekey::Args),
    /// Rewrite configs in the canonical layout, comments kept (--check: list what would change).
    Fmt(commands::fmt::Args),
    /// Print the config's JSON Schema (editors), or with --reference the config reference (Markdown).
    Schema(commands::schema::Args),
    /// Print shell completions: bash, zsh, fish, powershell or elvish.
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page (or write one per command with --dir).
    Man(commands::completions::ManArgs),
}

/// How a successful command exits.
pub enum Exit {
    /// 0.
    Success,
    /// 2: plan --detailed-exitcode with changes.
    Changes,
}

fn main() -> ExitCode {
    // Behave like other Unix tools when the reader goes away (`netplan show | head`): exit quietly
    // instead of failing on a broken pipe.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    render::init_color(cli.globals.color);
    init_tracing(cli.globals.verbose);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            render::error(&format!("cannot start the async runtime: {e}"), None);
            return ExitCode::from(1);
        }
    };
    let result = rt.block_on(commands::run(cli));
    match result {
        Ok(Exit::Success) => ExitCode::SUCCESS,
        Ok(Exit::Changes) => ExitCode::from(2),
        Err(e) => {
            e.print();
            ExitCode::from(1)
        }
    }
}

fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "netplan=debug,netplan_engine=debug,netplan_providers=debug",
        2 => "netplan=trace,netplan_engine=trace,netplan_providers=trace",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("NETPLAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
