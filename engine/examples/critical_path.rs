//! Apply and destroy of the seed topology on the fake provider with AWS-like latencies scaled down
//! (NAT 120 s, Lambda 75 s, … × SCALE), on the real clock with real state-file writes; prints wall
//! time, the plan's critical path, and their ratio.
//!
//! Run: `cargo run --release -p netplan-engine --example critical_path [SCALE]` (default 0.01)

use netplan_engine::apply::{self, StepId, StepKind};
use netplan_engine::config::{self, LoadOptions};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::provider::Provider;
use netplan_engine::state::store::LocalFileStore;
use netplan_providers::fake::{FakeProvider, Script};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() {
    let scale: f64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.01);
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/lambda-internet");
    let dir = tempfile::tempdir().unwrap();
    for entry in [
        "netplan.toml",
        "functions/probe/lambda_function.py",
        "functions/probe-node/index.mjs",
    ] {
        let to = dir.path().join(entry);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(example.join(entry), to).unwrap();
    }
    let config = config::load(&dir.path().join("netplan.toml"), &LoadOptions::default()).unwrap();
    let mut script = Script::aws_like(scale);
    script.eni_linger_ms = 0;
    let latency = {
        let s = script.clone();
        move |step: &StepId| -> Duration {
            let table = if matches!(step.kind, StepKind::Delete | StepKind::DeleteDeposed) {
                &s.delete_ms
            } else {
                &s.create_ms
            };
            Duration::from_millis(table.get(&step.address.kind).copied().unwrap_or(0))
        }
    };
    let provider = Arc::new(FakeProvider::new(script));
    let store = Arc::new(LocalFileStore::new(dir.path().join("netplan.state.json")));
    for destroy in [false, true] {
        let prepared = ops::prepare(
            &config,
            provider.as_ref(),
            store.as_ref(),
            PrepareOptions {
                refresh: true,
                destroy,
                settle: false,
            },
        )
        .await
        .unwrap();
        let critical = apply::critical_path(
            &prepared.plan,
            &prepared.working,
            provider.facts(),
            &latency,
        )
        .unwrap();
        let opts = prepared.apply_options();
        let start = Instant::now();
        let report = apply::apply(
            &prepared.plan,
            prepared.working,
            provider.clone(),
            store.clone(),
            opts,
        )
        .await
        .unwrap();
        let wall = start.elapsed();
        assert!(report.ok(), "{:?}", report.failures());
        println!(
            "{:<7} steps {:>2}  wall {:>8.3}s  critical path {:>8.3}s  ratio {:.3}",
            if destroy { "destroy" } else { "apply" },
            report.steps.len(),
            wall.as_secs_f64(),
            critical.as_secs_f64(),
            wall.as_secs_f64() / critical.as_secs_f64()
        );
    }
}
