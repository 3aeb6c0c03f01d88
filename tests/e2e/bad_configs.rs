//! The corpus of bad configs: each exits 1 with its file:line:col and its expected message, and none
//! panics. Each fixture states its expectation in `# expect:` and `# at:` header lines.

use super::support::*;

#[test]
fn every_bad_config_is_rejected_with_its_place_and_message() {
    let dir = repo().join("tests/bad");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/bad exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 30,
        "the corpus has {} configs; it must keep at least 30",
        names.len()
    );
    let mut problems = vec![];
    for name in &names {
        let text = std::fs::read_to_string(dir.join(name)).expect("readable");
        let header = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|s| s.trim().to_string())
        };
        let expect =
            header("# expect:").unwrap_or_else(|| panic!("{name} has no `# expect:` line"));
        let at = header("# at:").unwrap_or_else(|| panic!("{name} has no `# at:` line"));
        // The machine-readable form ties the message to its exact place.
        let out = netplan(&dir, &["validate", "--json", "-c", name], None);
        let report: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!(
                    "{name}: validate --json printed no JSON ({e}): {}",
                    stderr(&out)
                ));
                continue;
            }
        };
        let found = report["diagnostics"].as_array().unwrap().iter().any(|d| {
            d["message"].as_str().is_some_and(|m| m.contains(&expect))
                && format!("{}:{}", d["location"]["line"], d["location"]["column"]) == at
        });
        if !found {
            problems.push(format!(
                "{name}: no diagnostic {expect:?} at {at}: {}",
                report["diagnostics"]
            ));
        }
        // The human form, from validate and from plan: exit 1, the place, the message, no panic.
        for command in [
            &["validate", "-c", name.as_str()][..],
            &["plan", "-c", name.as_str()][..],
        ] {
            let out = netplan(&dir, command, None);
            let err = stderr(&out);
            // miette wraps long lines behind a `│` gutter: fold that away before matching.
            let flat = err
                .replace('│', " ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let place = format!("{name}:{at}");
            if out.status.code() != Some(1) {
                problems.push(format!(
                    "{name} ({}): exit {:?}, want 1",
                    command[0],
                    out.status.code()
                ));
            }
            if err.contains("panicked") {
                problems.push(format!("{name}: panicked:\n{err}"));
            }
            if !flat.contains(&expect) {
                problems.push(format!("{name}: stderr lacks {expect:?}:\n{err}"));
            }
            if !err.contains(&place) {
                problems.push(format!("{name}: stderr lacks the place {place}:\n{err}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n---\n")
    );
}

#[test]
fn all_problems_of_a_config_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("netplan.toml"),
        "[stack]\nname = \"x\"\nregion = \"us-east-1\"\n\n[vpc.main]\ncidr = \"10.0.0.0/33\"\nipv6 = \"no\"\n\n[subnet.a]\nvpc = \"vpc.nope\"\ncidr = \"10.0.0.0/24\"\naz = \"us-east-1q\"\nbogus = 1\n",
    )
    .unwrap();
    let out = netplan(dir.path(), &["validate"], None);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1));
    for want in [
        "netplan.toml:6:8",
        "netplan.toml:7:8",
        "netplan.toml:10:7",
        "netplan.toml:12:6",
        "netplan.toml:13:1",
        "5 errors found",
    ] {
        assert!(err.contains(want), "missing {want} in:\n{err}");
    }
}

/// Every fix `validate` prints for a bad config, applied as a user would paste it, gives a config that
/// validates (a problem the first one hid may surface, and its fix is applied in turn). A case without
/// a fix says why in its `# no single fix:` line — and then none may be printed.
#[test]
fn every_printed_fix_fixes_its_config() {
    let corpus = repo().join("tests/bad");
    let tmp = copy_dir(&corpus);
    let mut names: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut problems = vec![];
    let mut fixed = 0;
    for name in &names {
        let mut text = std::fs::read_to_string(corpus.join(name)).unwrap();
        let no_fix = text.lines().any(|l| l.starts_with("# no single fix:"));
        let mut trail: Vec<String> = vec![];
        for round in 0..5 {
            std::fs::write(tmp.path().join(name), &text).unwrap();
            let out = netplan(tmp.path(), &["validate", "--json", "-c", name], None);
            if out.status.code() == Some(0) {
                if no_fix {
                    problems.push(format!(
                        "{name}: says `no single fix` but {trail:?} fixed it"
                    ));
                }
                fixed += 1;
                break;
            }
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{name}: no JSON ({e}): {}", stderr(&out)));
            // The first error with a fix (one problem can hide behind another: a missing key
            // behind its misspelling).
            let errors: Vec<&serde_json::Value> = report["diagnostics"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["severity"] == "error")
                .collect();
            let first = errors
                .iter()
                .find(|d| d["fixes"].is_array())
                .or(errors.first())
                .map(|d| (*d).clone())
                .unwrap_or_default();
            let Some(fix) = first["fixes"].as_array().and_then(|f| f.first()) else {
                if !(round == 0 && no_fix) {
                    problems.push(format!(
                        "{name}: after {trail:?}, no fix for {}\n{text}",
                        first["message"]
                    ));
                }
                break;
            };
            let fix: netplan_engine::fix::Fix = serde_json::from_value(fix.clone()).unwrap();
            match netplan_engine::fix::apply(&text, &fix) {
                Ok(next) => text = next,
                Err(e) => {
                    problems.push(format!("{name}: `{fix}` does not apply: {e}"));
                    break;
                }
            }
            trail.push(fix.to_string());
            if round == 4 {
                problems.push(format!("{name}: still refused after {trail:?}:\n{text}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n---\n"));
    assert!(fixed >= 15, "only {fixed} cases fixed");
}
