//! `netplan verify [FUNCTION]`: invoke each deployed function, print status and duration, pass on 200.

use crate::error::{CliError, CliResult};
use crate::render::{paint, CYAN, GREEN, RED};
use crate::session::Session;
use crate::{ConfigArg, Exit, Globals};
use netplan_engine::provider::InvokeRequest;
use netplan_engine::Kind;

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub config: ConfigArg,
    /// One function: its name in the config (`probe`) or its address (`lambda_function.probe`).
    pub function: Option<String>,
}

pub async fn run(g: &Globals, a: Args) -> CliResult<Exit> {
    let session = Session::open(g, &a.config)?;
    let config = session.config();
    let store = session.store()?;
    let state = store
        .load()?
        .unwrap_or_else(|| netplan_engine::state::State::new(&config.stack.name));
    let functions: Vec<_> = state
        .resources
        .iter()
        .filter(|r| r.address.kind == Kind::LambdaFunction && !r.deposed)
        .filter(|r| {
            a.function.as_deref().is_none_or(|f| {
                f == r.address.name
                    || f == r.address.to_string()
                    || f == format!("function.{}", r.address.name)
            })
        })
        .collect();
    if functions.is_empty() {
        return Err(CliError::with_hint(
            match &a.function {
                Some(f) => format!("no deployed function matches `{f}` in {}", store.location()),
                None => format!("no deployed function in {}", store.location()),
            },
            "run netplan apply first",
        ));
    }
    let provider = session.provider().await?;
    let mut failed = 0;
    let mut emulated = false;
    for f in functions {
        let start = std::time::Instant::now();
        let result = provider
            .invoke(InvokeRequest {
                address: f.address.clone(),
                name: f.id.clone(),
                timeout: f
                    .attributes
                    .get("timeout")
                    .and_then(|t| t.as_u64())
                    .map(std::time::Duration::from_secs),
            })
            .await;
        let took = start.elapsed().as_secs_f64();
        match result {
            Ok(r) if r.status == 200 && r.function_error.is_none() => {
                emulated |= r.emulated;
                anstream::println!(
                    "{} {} ({}): status 200 in {took:.2}s",
                    paint(GREEN, "✓"),
                    f.address,
                    f.id
                );
            }
            Ok(r) => {
                failed += 1;
                anstream::println!(
                    "{} {} ({}): status {}{} in {took:.2}s: {}",
                    paint(RED, "✗"),
                    f.address,
                    f.id,
                    r.status,
                    r.function_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    r.payload
                );
                if r.payload.contains("Task timed out") {
                    anstream::println!("  {} the function timed out: it most likely cannot reach the internet; `netplan check` shows what blocks it", paint(CYAN, "hint:"));
                }
            }
            Err(e) => {
                failed += 1;
                anstream::println!("{} {} ({}): {e}", paint(RED, "✗"), f.address, f.id);
            }
        }
    }
    if emulated {
        anstream::println!("{} the endpoint is an emulator: it answered for the function without executing its handler, so this does not prove internet access", paint(CYAN, "note:"));
    }
    if failed > 0 {
        return Err(CliError::msg(format!(
            "{failed} function(s) failed verification"
        )));
    }
    Ok(Exit::Success)
}
