//! Writing configs (issue 19): the JSON Schema and the config reference are what the binary generates
//! (the committed copies are checked), and the schema — run through a real validator, the
//! `jsonschema` crate — accepts every good config of the repository and refuses each bad one of a kind
//! a schema can express (its `# schema: refuses` line says so; the others are validate's to refuse).

use super::support::*;
use std::path::Path;

/// A TOML document as the JSON value a JSON Schema validator (and Taplo) sees.
pub fn toml_as_json(text: &str) -> Result<serde_json::Value, String> {
    fn value(v: &toml_edit::Value) -> serde_json::Value {
        use serde_json::json;
        match v {
            toml_edit::Value::String(s) => json!(s.value()),
            toml_edit::Value::Integer(i) => json!(i.value()),
            toml_edit::Value::Float(f) => json!(f.value()),
            toml_edit::Value::Boolean(b) => json!(b.value()),
            toml_edit::Value::Datetime(d) => json!(d.value().to_string()),
            toml_edit::Value::Array(a) => serde_json::Value::Array(a.iter().map(value).collect()),
            toml_edit::Value::InlineTable(t) => serde_json::Value::Object(
                t.iter().map(|(k, v)| (k.to_string(), value(v))).collect(),
            ),
        }
    }
    fn item(i: &toml_edit::Item) -> serde_json::Value {
        match i {
            toml_edit::Item::None => serde_json::Value::Null,
            toml_edit::Item::Value(v) => value(v),
            toml_edit::Item::Table(t) => {
                serde_json::Value::Object(t.iter().map(|(k, v)| (k.to_string(), item(v))).collect())
            }
            toml_edit::Item::ArrayOfTables(a) => serde_json::Value::Array(
                a.iter()
                    .map(|t| {
                        serde_json::Value::Object(
                            t.iter().map(|(k, v)| (k.to_string(), item(v))).collect(),
                        )
                    })
                    .collect(),
            ),
        }
    }
    let doc: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{e}"))?;
    Ok(item(doc.as_item()))
}

fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("docs/netplan.schema.json")).unwrap();
    let schema: serde_json::Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// Every config the repository holds as good: the examples and the test fixtures.
pub fn good_configs() -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for dir in ["examples", "tests/fixtures"] {
        for e in std::fs::read_dir(repo().join(dir)).unwrap() {
            let p = e.unwrap().path().join("netplan.toml");
            if p.exists() {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_committed_schema_and_reference_are_what_the_binary_generates() {
    let here = repo();
    for (args, file) in [
        (&["schema"][..], "docs/netplan.schema.json"),
        (&["schema", "--reference"][..], "docs/config.md"),
    ] {
        let out = netplan(&here, args, None);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let committed = std::fs::read_to_string(here.join(file)).unwrap();
        assert!(
            stdout(&out) == committed,
            "{file} differs from `netplan {}`: run `netplan {} > {file}` and commit it",
            args.join(" "),
            args.join(" ")
        );
    }
}

#[test]
fn the_schema_accepts_every_good_config_and_refuses_what_it_can_express() {
    let v = schema();
    for p in good_configs() {
        let json = toml_as_json(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", p.display());
    }
    let bad = repo().join("tests/bad");
    let mut wrong = vec![];
    let mut refused = 0;
    for e in std::fs::read_dir(&bad).unwrap() {
        let p = e.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let Ok(json) = toml_as_json(&text) else {
            continue; // not TOML: nothing for a schema to see
        };
        let says = text.lines().any(|l| l.starts_with("# schema: refuses"));
        let fails = !v.is_valid(&json);
        refused += usize::from(fails);
        if says != fails {
            wrong.push(format!(
                "{}: `# schema: refuses` is {says}, the schema {}",
                name_of(&p),
                if fails { "refuses it" } else { "accepts it" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(refused >= 12, "only {refused} bad configs refused");
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Every netplan config the repository holds is TOML the formatter reads, except the bad corpus's
/// syntax error (which validate refuses as such).
fn configs_in_the_repository() -> Vec<std::path::PathBuf> {
    let mut out = good_configs();
    for e in std::fs::read_dir(repo().join("tests/bad")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        if p.extension().and_then(|e| e.to_str()) == Some("toml")
            && text.parse::<toml_edit::DocumentMut>().is_ok()
        {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn every_config_in_the_repository_is_formatted() {
    let files: Vec<String> = configs_in_the_repository()
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    assert!(files.len() > 40, "{files:?}");
    let mut args = vec!["fmt", "--check"];
    args.extend(files.iter().map(String::as_str));
    let out = netplan(&repo(), &args, None);
    assert_eq!(
        out.status.code(),
        Some(0),
        "not formatted (run `netplan fmt` on them):\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Formatting what is formatted changes nothing, byte for byte.
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        assert_eq!(netplan_engine::format::format(&text).unwrap(), text, "{f}");
    }
}

#[test]
fn fmt_lays_a_config_out_keeps_its_comments_and_check_says_what_would_change() {
    let tmp = tempfile::tempdir().unwrap();
    let messy = "# my network\n[network.main]\nnat_gateways=\"single\"   # one NAT: cheaper\ncidr =   \"10.0.0.0/16\"\n\n\n\n[stack]\n# who owns it\ntags = {owner=\"me\"}\nname=\"demo\"\n[route_table.extra]\nroutes=[{target=\"internet_gateway.x\",destination=\"0.0.0.0/0\"},{destination=\"::/0\",target=\"internet_gateway.x\"}]\nvpc=\"vpc.x\"\n";
    let path = tmp.path().join("netplan.toml");
    std::fs::write(&path, messy).unwrap();
    std::fs::write(tmp.path().join("Cargo.toml"), "[package]\nname=\"x\"\n").unwrap();
    let check = netplan(tmp.path(), &["fmt", "--check", "."], None);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert_eq!(
        stdout(&check).trim(),
        "./netplan.toml",
        "only the config is listed"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        messy,
        "--check writes nothing"
    );
    let out = netplan(tmp.path(), &["fmt"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let formatted = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        formatted,
        "# my network\n[network.main]\ncidr = \"10.0.0.0/16\"\nnat_gateways = \"single\"  # one NAT: cheaper\n\n[stack]\nname = \"demo\"\n# who owns it\ntags = { owner = \"me\" }\n\n[route_table.extra]\nvpc = \"vpc.x\"\nroutes = [\n  { destination = \"0.0.0.0/0\", target = \"internet_gateway.x\" },\n  { destination = \"::/0\",      target = \"internet_gateway.x\" },\n]\n"
    );
    let again = netplan(tmp.path(), &["fmt", "--check"], None);
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("Cargo.toml")).unwrap(),
        "[package]\nname=\"x\"\n",
        "another tool's TOML is left alone"
    );
    std::fs::write(&path, "[stack\n").unwrap();
    let broken = netplan(tmp.path(), &["fmt"], None);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("not TOML"), "{}", stderr(&broken));
}

/// `netplan init` in each of its forms writes a config that validates, that `check` proves, that is
/// formatted and that the schema accepts; it never overwrites, and refuses a runtime AWS blocks.
#[test]
fn init_writes_configs_that_validate_check_and_are_formatted() {
    let v = schema();
    let forms: &[&[&str]] = &[
        &[],
        &["--ipv6"],
        &["--nat", "single"],
        &["--nat", "instance"],
        &["--nat", "none"],
        &["--nat", "none", "--ipv6"],
        &["--runtime", "nodejs"],
        &["--runtime", "ruby", "--ipv6"],
        &["--runtime", "nodejs22.x"],
    ];
    for form in forms {
        let tmp = tempfile::tempdir().unwrap();
        let mut args = vec!["init", "demo"];
        args.extend_from_slice(form);
        let out = netplan(tmp.path(), &args, None);
        assert_eq!(out.status.code(), Some(0), "{form:?}: {}", stderr(&out));
        assert!(stdout(&out).contains("cd demo"), "{}", stdout(&out));
        let dir = tmp.path().join("demo");
        let text = std::fs::read_to_string(dir.join("netplan.toml")).unwrap();
        assert!(
            text.starts_with("#:schema ./netplan.schema.json\n"),
            "{text}"
        );
        assert!(dir.join("netplan.schema.json").is_file());
        for command in [&["validate"][..], &["check"], &["fmt", "--check"]] {
            let out = netplan(&dir, command, None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{form:?} {command:?}:\n{text}\n{}{}",
                stdout(&out),
                stderr(&out)
            );
        }
        let json = toml_as_json(&text).unwrap();
        assert!(v.is_valid(&json), "{form:?}: the schema refuses\n{text}");
        // Never twice.
        let again = netplan(tmp.path(), &args, None);
        assert_eq!(again.status.code(), Some(1));
        assert!(
            stderr(&again).contains("refusing to overwrite"),
            "{}",
            stderr(&again)
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    for (runtime, says) in [
        (
            "nodejs18.x",
            "AWS blocks creating functions with nodejs18.x",
        ),
        ("java21", "handlers for Python, Node.js and Ruby"),
        ("cobol", "not a Lambda runtime"),
    ] {
        let out = netplan(tmp.path(), &["init", "x", "--runtime", runtime], None);
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains(says), "{runtime}: {}", stderr(&out));
        assert!(!tmp.path().join("x/netplan.toml").exists());
    }
}

/// The newcomer's path of the README: `netplan init demo && cd demo && netplan --local apply
/// --auto-approve` converges, the plan after is clean, and destroy leaves nothing.
#[test]
fn a_newcomer_inits_and_applies_on_the_local_emulator() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let run = |dir: &Path, args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .current_dir(dir)
            .env("NETPLAN_CACHE_DIR", cache.path())
            .env("NO_COLOR", "1")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("NETPLAN_FAKE_CLOUD")
            .output()
            .expect("netplan runs")
    };
    let out = run(tmp.path(), &["init", "demo"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let dir = tmp.path().join("demo");
    let apply = run(&dir, &["--local", "apply", "--auto-approve"]);
    let plan = run(&dir, &["--local", "plan", "--detailed-exitcode"]);
    let destroy = run(&dir, &["--local", "destroy", "--auto-approve"]);
    let _ = run(&dir, &["local", "down"]);
    for (what, out) in [("apply", &apply), ("plan", &plan), ("destroy", &destroy)] {
        assert_eq!(
            out.status.code(),
            Some(0),
            "{what}:\n{}{}",
            stdout(out),
            stderr(out)
        );
    }
    assert!(
        stdout(&apply).contains("Apply complete!"),
        "{}",
        stdout(&apply)
    );
    assert!(
        stdout(&destroy).contains("Left on disk:"),
        "{}",
        stdout(&destroy)
    );
}
