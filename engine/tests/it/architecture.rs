//! The architecture invariants a reader of ARCHITECTURE.md relies on, checked on the source: the engine
//! imports no AWS crate and writes to no terminal, and its modules form no import circle (a module that
//! reaches another through `crate::` never gets reached back).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every `.rs` file under `engine/src`, by path, with comments removed.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text: String = std::fs::read_to_string(&p)
                    .unwrap()
                    .lines()
                    .map(|l| l.split("//").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n");
                out.push((p.to_string_lossy().into_owned(), text));
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = vec![];
    walk(&root, &mut out);
    out
}

/// The top-level module a file belongs to (`config` for `src/config/expand/network.rs`).
fn module(path: &str) -> String {
    let rel = path.split("/src/").last().unwrap();
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

#[test]
fn the_engine_imports_no_aws_crate_and_prints_nothing() {
    for (path, text) in sources() {
        assert!(
            !text.contains("aws_sdk") && !text.contains("aws_config"),
            "{path}"
        );
        for word in ["println!", "eprintln!", "print!(", "eprint!("] {
            assert!(!text.contains(word), "{path} writes to a terminal ({word})");
        }
    }
}

#[test]
fn engine_modules_form_no_import_circle() {
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in sources() {
        let from = module(&path);
        if from == "lib" {
            continue;
        }
        let mut rest = text.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let to: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !to.is_empty() && to != from {
                uses.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // A circle: a module that reaches itself through others.
    let mut circles = vec![];
    for start in uses.keys() {
        let mut stack: Vec<Vec<String>> = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let last = path.last().unwrap();
            for next in uses.get(last).into_iter().flatten() {
                if next == start {
                    circles.push(format!("{} -> {start}", path.join(" -> ")));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push(p);
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// The executor knows no cloud: which creates are slow, how long steps take and which deletes go
/// first are the provider's facts (`netplan_engine::facts`), never a kind named in `apply/`.
#[test]
fn the_executor_holds_no_cloud_fact() {
    for (path, text) in sources() {
        if !path.contains("/src/apply/") {
            continue;
        }
        // Unit tests may model a cloud of their own.
        let text = text.split("#[cfg(test)]").next().unwrap_or_default();
        for kind in [
            "NatGateway",
            "NatInstance",
            "InternetGateway",
            "IamRole",
            "ElasticIp",
            "Subnet",
            "SecurityGroup",
        ] {
            assert!(
                !text.contains(&format!("Kind::{kind}")),
                "{path} names Kind::{kind}: a cloud fact belongs to the provider"
            );
        }
    }
}
