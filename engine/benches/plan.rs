//! Plan of a generated 10,000-resource config: against an empty state, and against a full one (refresh
//! through the fake provider, then a no-op plan). Peak memory is printed at the end (VmHWM).
//!
//! Run: `cargo bench -p netplan-engine --bench plan`

use criterion::{criterion_group, criterion_main, Criterion};
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::ops::{self, PrepareOptions};
use netplan_engine::plan::{self, PlanOptions};
use netplan_engine::state::store::{LocalFileStore, StateStore};
use netplan_engine::state::{ResourceState, State};
use netplan_engine::value::{Reference, Value};
use netplan_providers::fake::{key, FakeCloud, FakeObject, FakeProvider, Script};
use std::collections::HashMap;

/// Networks of 15 resources plus one function (3 more) each: 556 of them make 10,008 resources.
fn generate(dir: &std::path::Path, networks: usize) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("fn")).unwrap();
    std::fs::write(
        dir.join("fn/lambda_function.py"),
        "def lambda_handler(e, c):\n    return 200\n",
    )
    .unwrap();
    let mut t = String::from("[stack]\nname = \"bench\"\nregion = \"us-east-1\"\n");
    for i in 0..networks {
        t.push_str(&format!(
            "\n[network.n{i}]\ncidr = \"10.{}.0.0/16\"\nipv6 = true\nazs = 2\n\n[function.f{i}]\nnetwork = \"network.n{i}\"\nruntime = \"python3.12\"\nhandler = \"lambda_function.lambda_handler\"\nsource = \"fn\"\n",
            i % 256
        ));
    }
    let path = dir.join("netplan.toml");
    std::fs::write(&path, t).unwrap();
    path
}

/// A state holding every resource of `config` as if applied, and the fake cloud that matches it.
fn full_state(config: &Config) -> (State, FakeCloud) {
    let p = plan::plan(config, None, vec![], PlanOptions::default());
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut state = State::new(&config.stack.name);
    let mut cloud = FakeCloud::default();
    for (n, c) in p.changes.iter().enumerate() {
        let id = format!("{}{n:08}", c.address.kind.id_prefix().unwrap_or("x-"));
        ids.insert(c.address.to_string(), id.clone());
        let r = &config.resources[&c.address];
        let mut resolve = |rf: &Reference| match rf.attr.as_str() {
            "id" => Value::Str(ids[&rf.addr.to_string()].clone()),
            _ => Value::Str(format!(
                "arn:aws:iam::123456789012:role/{}",
                ids[&rf.addr.to_string()]
            )),
        };
        let mut attrs: serde_json::Map<String, serde_json::Value> = r
            .attrs
            .iter()
            .map(|(k, v)| (k.clone(), v.resolve(&mut resolve).to_json()))
            .collect();
        if c.address.kind == netplan_engine::Kind::IamRole {
            attrs.insert(
                "arn".into(),
                format!("arn:aws:iam::123456789012:role/{id}").into(),
            );
        }
        cloud.objects.insert(
            key(c.address.kind, &id),
            FakeObject {
                kind: c.address.kind,
                id: id.clone(),
                attrs: attrs.clone(),
                tags: Default::default(),
                token: None,
            },
        );
        state.upsert(ResourceState {
            address: c.address.clone(),
            id,
            existing: false,
            deposed: false,
            attributes: attrs,
            dependencies: c.depends_on.clone(),
            created_at: None,
        });
    }
    (state, cloud)
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = generate(dir.path(), 556);
    let config = config::load(&path, &LoadOptions::default()).unwrap();
    assert!(
        config.resources.len() >= 10_000,
        "{} resources",
        config.resources.len()
    );
    let (state, cloud) = full_state(&config);
    let store = LocalFileStore::new(dir.path().join("netplan.state.json"));
    store.save(&state).unwrap();
    let provider = FakeProvider::new(Script::default());
    provider.set_cloud(cloud);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    {
        let p = rt
            .block_on(ops::prepare(
                &config,
                &provider,
                &store,
                PrepareOptions {
                    refresh: true,
                    destroy: false,
                    settle: false,
                },
            ))
            .unwrap();
        assert!(!p.plan.has_changes(), "the full state is a no-op");
    }
    let mut g = c.benchmark_group("plan_10k");
    g.sample_size(10);
    g.bench_function("load_config", |b| {
        b.iter(|| config::load(&path, &LoadOptions::default()).unwrap())
    });
    g.bench_function("empty_state", |b| {
        b.iter(|| {
            let config = config::load(&path, &LoadOptions::default()).unwrap();
            plan::plan(&config, None, vec![], PlanOptions::default())
        })
    });
    g.bench_function("full_state_refresh_noop", |b| {
        b.iter(|| {
            let config = config::load(&path, &LoadOptions::default()).unwrap();
            rt.block_on(ops::prepare(
                &config,
                &provider,
                &store,
                PrepareOptions {
                    refresh: true,
                    destroy: false,
                    settle: false,
                },
            ))
            .unwrap()
        })
    });
    g.finish();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(hwm) = status.lines().find(|l| l.starts_with("VmHWM")) {
        println!(
            "peak memory of the benchmark process: {}",
            hwm.trim_start_matches("VmHWM:").trim()
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
