//! Property-based mutation fuzzing of the two parsers that read what users (or a damaged disk) hand
//! netplan: the config loader and the state loader. Seeds are the repository's configs (examples,
//! fixtures, the bad-config corpus) and states; each case mutates one of them (bytes flipped, inserted,
//! deleted, lines duplicated or swapped, spliced with another seed) and loads it: an error is fine, a
//! panic is a finding. Findings are kept as corpus cases in `engine/tests/fuzz-corpus/` (`*.toml` for
//! the config, `*.json` for the state) and replayed by every run.
//!
//! `cargo test` runs a short pass (`NETPLAN_FUZZ_CASES`, default 256 per parser); the coverage-guided
//! run (cargo-fuzz, `fuzz/`) is in BENCHMARKS.md.

use super::support::repo;
use netplan_engine::config::{self, LoadOptions};
use netplan_engine::state::store;
use netplan_engine::state::{ResourceState, State};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

fn cases() -> u32 {
    std::env::var("NETPLAN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn corpus(ext: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let dirs = [
        repo().join("examples/lambda-internet"),
        repo().join("examples/existing-vpc"),
        repo().join("tests/fixtures/small"),
        repo().join("tests/fixtures/lowlevel"),
        repo().join("tests/bad"),
        repo().join("engine/tests/fuzz-corpus"),
    ];
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some(ext) {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A few valid states of every shape the loader meets.
fn states() -> Vec<Vec<u8>> {
    let mut s = State::new("fuzz");
    s.serial = 9;
    s.upsert(ResourceState {
        address: "vpc.main".parse().unwrap(),
        id: "vpc-0123".into(),
        existing: false,
        deposed: false,
        attributes: serde_json::from_str(r#"{"cidr": "10.0.0.0/16", "tags": {"a": "b"}}"#).unwrap(),
        dependencies: vec![],
        created_at: Some("2026-11-29T10:00:00.000Z".into()),
    });
    s.upsert(ResourceState {
        address: "subnet.a".parse().unwrap(),
        id: "subnet-1".into(),
        existing: false,
        deposed: false,
        attributes: Default::default(),
        dependencies: vec!["vpc.main".parse().unwrap()],
        created_at: None,
    });
    let mut out = vec![serde_json::to_vec_pretty(&s).unwrap()];
    out.extend(corpus("json").into_iter().map(|(_, b)| b));
    out
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        b"[".to_vec(),
        b"]".to_vec(),
        b"{".to_vec(),
        b"\"".to_vec(),
        b"=".to_vec(),
        b"\n".to_vec(),
        b"\\u".to_vec(),
        b"\xff\xfe".to_vec(),
        b"0/99".to_vec(),
        b"::/0".to_vec(),
        b"-1".to_vec(),
        b"99999999999999999999".to_vec(),
        b"vpc.main".to_vec(),
        b"network.main".to_vec(),
        b"\"$ref\"".to_vec(),
        b"sensitive:sha256:".to_vec(),
        b"netplan-encrypted-state".to_vec(),
        "\u{202e}".as_bytes().to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop_oneof![interesting, prop::collection::vec(any::<u8>(), 1..8)]
        )
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(o, a, b)| Mutation::Splice(o, a, b)),
    ]
}

fn apply(seed: &[u8], other: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in ms {
        let len = b.len().max(1);
        match m {
            Mutation::Flip(i, x) if !b.is_empty() => {
                let i = i % b.len();
                b[i] ^= x | 1;
            }
            Mutation::Insert(i, x) => {
                let i = i % (b.len() + 1);
                b.splice(i..i, x.iter().copied());
            }
            Mutation::Delete(i, n) if !b.is_empty() => {
                let i = i % b.len();
                let end = (i + n).min(b.len());
                b.drain(i..end);
            }
            Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
                let mut lines: Vec<Vec<u8>> =
                    b.split(|c| *c == b'\n').map(<[u8]>::to_vec).collect();
                let a = i % lines.len();
                if let Mutation::SwapLines(_, j) = m {
                    let j = j % lines.len();
                    lines.swap(a, j);
                } else {
                    let dup = lines[a].clone();
                    lines.insert(a, dup);
                }
                b = lines.join(&b'\n');
            }
            Mutation::Splice(o, a, n) if !other.is_empty() => {
                let at = o % len.min(b.len() + 1);
                let from = a % other.len();
                let to = (from + n % 256).min(other.len());
                b.splice(at..at, other[from..to].iter().copied());
            }
            _ => {}
        }
    }
    b
}

fn fuzz(name: &str, seeds: Vec<Vec<u8>>, load: impl Fn(&[u8])) {
    // Every seed and kept finding, as is.
    for s in &seeds {
        load(s);
    }
    let mut runner = TestRunner::new(RunnerConfig {
        cases: cases(),
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let n = seeds.len();
    let strategy = (0..n, 0..n, prop::collection::vec(mutation(), 1..6));
    let result = runner.run(&strategy, |(a, b, ms)| {
        let input = apply(&seeds[a], &seeds[b], &ms);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| load(&input)));
        if outcome.is_err() {
            let kept = repo().join("engine/tests/fuzz-corpus").join(format!(
                "{name}-{:016x}.{}",
                {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    input.hash(&mut h);
                    h.finish()
                },
                if name == "config" { "toml" } else { "json" }
            ));
            let _ = std::fs::write(&kept, &input);
            return Err(TestCaseError::fail(format!(
                "{name} loader panicked; input kept in {}",
                kept.display()
            )));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn the_config_loader_never_panics_on_mutated_configs() {
    let dir = repo().join("tests/bad"); // holds functions/probe
    let seeds: Vec<Vec<u8>> = corpus("toml").into_iter().map(|(_, b)| b).collect();
    assert!(seeds.len() > 40, "the corpus is there");
    fuzz("config", seeds, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        let _ = config::load_str("fuzz.toml", &text, &dir, &LoadOptions::default());
    });
}

#[test]
fn the_state_loader_never_panics_on_mutated_states() {
    fuzz("state", states(), |bytes| {
        let _ = store::parse("fuzz.json", bytes, None);
    });
}
