//! The binary's behaviour: exit codes, state safety, locking, saved plans, output modes.

use super::support::*;
use netplan_engine::state::store::{LocalFileStore, StateStore};

#[test]
fn examples_validate_and_plan_from_empty_state() {
    for ex in ["lambda-internet", "existing-vpc"] {
        let dir = repo().join("examples").join(ex);
        let out = netplan(&dir, &["validate"], None);
        assert_eq!(out.status.code(), Some(0), "{ex}: {}", stderr(&out));
        let tmp = copy_dir(&dir);
        let out = netplan(tmp.path(), &["plan", "--refresh=false"], None);
        assert_eq!(out.status.code(), Some(0), "{ex}: {}", stderr(&out));
        assert!(stdout(&out).contains("to add"), "{ex}: {}", stdout(&out));
        let out = netplan(
            tmp.path(),
            &["plan", "--refresh=false", "--detailed-exitcode"],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{ex}: changes give exit 2");
        assert!(
            !tmp.path().join("netplan.state.json").exists(),
            "plan never writes the state"
        );
    }
}

#[test]
fn apply_then_plan_is_a_no_op_and_destroy_empties_the_cloud() {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("Apply complete!"));
    let out = netplan(tmp.path(), &["plan", "--detailed-exitcode"], Some(&cloud));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("No changes."));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("netplan.state.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let show = netplan(tmp.path(), &["show"], Some(&cloud));
    assert!(
        stdout(&show).contains("lambda_function.probe"),
        "{}",
        stdout(&show)
    );
    let out = netplan(tmp.path(), &["destroy", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let c: serde_json::Value = serde_json::from_slice(&std::fs::read(&cloud).unwrap()).unwrap();
    assert_eq!(
        c["objects"],
        serde_json::json!({}),
        "destroy leaves nothing"
    );
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--auto-approve"), "{}", stderr(&out));
    assert!(
        !cloud.exists()
            || std::fs::read_to_string(&cloud)
                .unwrap()
                .contains("\"objects\":{}")
    );
}

#[test]
fn a_corrupt_or_truncated_state_is_an_error_and_is_left_alone() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let state = tmp.path().join("netplan.state.json");
    for (content, want) in [
        ("{\"format_version\": 1, \"lineage\": \"x\", \"serial\": 3, \"stack\": \"snap\", \"resources\": [", "is not a valid state file"),
        ("", "the file is empty"),
        ("not json", "is not a valid state file"),
        (
            r#"{"format_version":1,"lineage":"l","serial":1,"stack":"snap","resources":[{"address":"vpc.main","id":"vpc-1"},{"address":"vpc.main","id":"vpc-2"}]}"#,
            "invariant 3 violated",
        ),
    ] {
        std::fs::write(&state, content).unwrap();
        for cmd in [&["plan"][..], &["apply", "--auto-approve"][..], &["show"][..]] {
            let out = netplan(tmp.path(), cmd, Some(&cloud));
            assert_eq!(out.status.code(), Some(1), "{cmd:?} on {content:?}");
            let err = stderr(&out);
            assert!(err.contains(want), "{cmd:?}: want {want:?} in {err}");
            assert!(err.contains(".backup"), "the hint points at the backup: {err}");
            assert_eq!(std::fs::read_to_string(&state).unwrap(), content, "never replaced");
        }
    }
    // A newer format is no damage: it is said as such, and left alone.
    let newer = r#"{"format_version":7,"lineage":"l","serial":1,"stack":"snap","new_field":true}"#;
    std::fs::write(&state, newer).unwrap();
    let out = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "was written by a newer netplan (state format 7; this netplan reads format 2)"
        ),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("damaged"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&state).unwrap(), newer);
}

#[test]
fn a_second_writer_is_refused_and_told_who_holds_the_lock() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let store = LocalFileStore::new(tmp.path().join("netplan.state.json"));
    let held = store.lock("apply").unwrap();
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("locked by netplan pid {}", std::process::id())),
        "{err}"
    );
    assert!(err.contains("running `apply` since"), "{err}");
    let destroy = netplan(tmp.path(), &["destroy", "--auto-approve"], Some(&cloud));
    assert_eq!(destroy.status.code(), Some(1));
    drop(held);
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn saved_plans_apply_once_and_refuse_when_anything_moved() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["plan", "-o", "p1.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("p1.json")).unwrap()).unwrap();
    assert!(saved["plan"]["config_digest"]
        .as_str()
        .is_some_and(|d| d.len() == 64));
    // A config change makes it stale.
    let cfg = tmp.path().join("netplan.toml");
    let original = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, original.replace("10.0.1.0/24", "10.0.2.0/24")).unwrap();
    let out = netplan(tmp.path(), &["apply", "p1.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("config (or a function's code) changed"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&cfg, &original).unwrap();
    // As made, it applies.
    let out = netplan(tmp.path(), &["apply", "p1.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Applying it again: the state moved since.
    let out = netplan(tmp.path(), &["apply", "p1.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("stale"), "{}", stderr(&out));
}

#[test]
fn a_saved_plan_edited_to_run_what_it_does_not_show_is_refused() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["plan", "-o", "p.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(tmp.path().join("p.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the plan file is private");
    }
    // The VPC's executed `config` edited, its displayed `attributes` left alone, a tag injected.
    let mut saved: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("p.json")).unwrap()).unwrap();
    let changes = saved["plan"]["changes"].as_array_mut().unwrap();
    let vpc = changes
        .iter_mut()
        .find(|c| c["address"] == "vpc.main")
        .unwrap();
    assert_eq!(vpc["config"]["cidr"], "10.0.0.0/16");
    vpc["config"]["cidr"] = "10.99.0.0/16".into();
    vpc["config"]["tags"]["injected"] = "yes".into();
    std::fs::write(tmp.path().join("p.json"), saved.to_string()).unwrap();
    let out = netplan(tmp.path(), &["apply", "p.json"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out)
            .contains("does not match what the config and the state give now (first at vpc.main)"),
        "{}",
        stderr(&out)
    );
    let world = std::fs::read_to_string(&cloud).unwrap_or_default();
    assert!(
        !world.contains("10.99.0.0/16") && !world.contains("vpc-"),
        "nothing was created: {world}"
    );
}

#[test]
fn json_plan_graph_and_colour() {
    let dir = repo().join("examples/lambda-internet");
    let out = netplan(&dir, &["plan", "--json"], None);
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(plan["changes"].as_array().unwrap().len(), 21);
    assert_eq!(plan["changes"][0]["action"]["type"], "create");
    let dot = stdout(&netplan(&dir, &["graph"], None));
    assert!(
        dot.contains("\"vpc.main\" -> \"subnet.main_private_a\";"),
        "{dot}"
    );
    let mermaid = stdout(&netplan(&dir, &["graph", "--format", "mermaid"], None));
    assert!(
        mermaid.contains("vpc_main --> subnet_main_private_a"),
        "{mermaid}"
    );
    let plain = netplan(&dir, &["plan"], None);
    assert!(
        !stdout(&plain).contains('\u{1b}'),
        "NO_COLOR: no escape codes"
    );
    let coloured = netplan(&dir, &["plan", "--color", "always"], None);
    assert!(
        stdout(&coloured).contains('\u{1b}'),
        "--color always colours"
    );
}

#[test]
fn remote_state_and_missing_config_are_clear_errors() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "region = \"us-east-1\"",
        "region = \"us-east-1\"\nstate = \"s3://bucket/key\"",
    );
    std::fs::write(&cfg, text).unwrap();
    // (S3 itself is exercised against moto in moto.rs; the fake cloud has no S3.)
    let fake = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["plan"], Some(&fake));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("remote state (s3://bucket/key) lives in AWS"),
        "{}",
        stderr(&out)
    );
    for bad in ["s3://bucket", "s3://bucket/", "s3:///key"] {
        let text = std::fs::read_to_string(&cfg)
            .unwrap()
            .replace("s3://bucket/key", bad);
        let dir = tempfile::tempdir().unwrap();
        copy_into(tmp.path(), dir.path());
        std::fs::write(dir.path().join("netplan.toml"), text).unwrap();
        let out = netplan(
            dir.path(),
            &["--endpoint-url", "http://127.0.0.1:9", "show"],
            None,
        );
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(
            stderr(&out).contains("write it as s3://BUCKET/KEY"),
            "{bad}: {}",
            stderr(&out)
        );
    }
    let empty = tempfile::tempdir().unwrap();
    let out = netplan(empty.path(), &["plan"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot read netplan.toml"),
        "{}",
        stderr(&out)
    );
}

#[cfg(unix)]
#[test]
fn links_planted_beside_the_state_are_never_followed() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    // A link at the temporary and backup paths: removed and replaced, the target untouched.
    for name in ["netplan.state.json.tmp", "netplan.state.json.backup.tmp"] {
        std::os::unix::fs::symlink(&victim, tmp.path().join(name)).unwrap();
    }
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("10.0.1.0/24", "10.0.3.0/24")).unwrap();
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // A link at the lock path: refused, naming it.
    std::fs::remove_file(tmp.path().join("netplan.state.json.lock")).unwrap();
    std::os::unix::fs::symlink(&victim, tmp.path().join("netplan.state.json.lock")).unwrap();
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // The state itself as a link: refused too (netplan does not follow links for what it writes).
    std::fs::remove_file(tmp.path().join("netplan.state.json.lock")).unwrap();
    std::fs::rename(
        tmp.path().join("netplan.state.json"),
        tmp.path().join("real.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        tmp.path().join("real.json"),
        tmp.path().join("netplan.state.json"),
    )
    .unwrap();
    let out = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is a symbolic link"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_object_without_this_stacks_tags_is_not_deleted_without_being_asked() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Out of band, the route table's netplan tags go (the state still names its id).
    let mut world: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cloud).unwrap()).unwrap();
    for o in world["objects"].as_object_mut().unwrap().values_mut() {
        if o["kind"] == "route_table" {
            o["tags"] = serde_json::json!({});
        }
    }
    std::fs::write(&cloud, world.to_string()).unwrap();
    let plan = netplan(tmp.path(), &["plan", "--destroy"], Some(&cloud));
    assert!(
        stdout(&plan).contains("is not this stack's any more: it carries no netplan tags"),
        "{}",
        stdout(&plan)
    );
    let out = netplan(tmp.path(), &["destroy", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("refusing to delete what is not this stack's: route_table.public"),
        "{}",
        stderr(&out)
    );
    let untouched = std::fs::read_to_string(&cloud).unwrap();
    assert!(untouched.contains("\"route_table\""), "nothing was deleted");
    let out = netplan(
        tmp.path(),
        &["destroy", "--auto-approve", "--force"],
        Some(&cloud),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_encrypted_state_opens_with_its_key_rotates_and_names_a_wrong_one() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[stack]\n",
        "[stack]\nencryption = \"env:NETPLAN_TEST_STATE_KEY\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    // Two 32-byte keys, base64.
    let (k1, k2) = (
        "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
        "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
    );
    let run = |args: &[&str], key: &str| {
        netplan_env(
            tmp.path(),
            args,
            Some(&cloud),
            &[("NETPLAN_TEST_STATE_KEY", key)],
        )
    };
    let out = run(&["apply", "--auto-approve"], k1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let file = std::fs::read_to_string(tmp.path().join("netplan.state.json")).unwrap();
    assert!(file.contains("netplan-encrypted-state"), "{file}");
    assert!(
        !file.contains("vpc-") && !file.contains("lineage"),
        "sealed: {file}"
    );
    assert_eq!(
        run(&["plan", "--detailed-exitcode"], k1).status.code(),
        Some(0)
    );
    // No key, a malformed key, the wrong key: each said plainly, the state left as it is.
    let none = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert!(
        stderr(&none).contains("NETPLAN_TEST_STATE_KEY, which is not set"),
        "{}",
        stderr(&none)
    );
    let short = run(&["plan"], "c2hvcnQ=");
    assert!(
        stderr(&short).contains("is 5 bytes; AES-256 takes 32"),
        "{}",
        stderr(&short)
    );
    let wrong = run(&["plan"], k2);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("the state was encrypted with key sha256:"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(
        std::fs::read_to_string(tmp.path().join("netplan.state.json")).unwrap(),
        file
    );
    // Rotation: the new key first, the old one after it; rekey writes with the new one.
    let both = format!("{k2},{k1}");
    assert_eq!(
        run(&["plan", "--detailed-exitcode"], &both).status.code(),
        Some(0)
    );
    let out = run(&["rekey"], &both);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        run(&["plan", "--detailed-exitcode"], k2).status.code(),
        Some(0)
    );
    assert_eq!(
        run(&["plan"], k1).status.code(),
        Some(1),
        "the old key alone no longer opens it"
    );
    let out = run(&["destroy", "--auto-approve"], k2);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn an_endpoint_that_never_answers_fails_the_run_in_time_naming_itself_and_frees_the_lock() {
    // A server that accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = vec![];
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let run = |args: &[&str]| {
        std::process::Command::new(bin())
            .args(args)
            .current_dir(tmp.path())
            .env("NO_COLOR", "1")
            .env_remove("NETPLAN_FAKE_CLOUD")
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    let start = std::time::Instant::now();
    let out = run(&["--timeout", "1", "apply", "--auto-approve"]);
    let took = start.elapsed();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("no answer from http://127.0.0.1:{port} to ")),
        "names the endpoint and the call:\n{err}"
    );
    // A create whose answer never came may have happened: never called rolled back.
    assert!(
        err.contains("the outcome of its last operation is unknown")
            && !err.contains("shows the cloud as it was"),
        "{err}"
    );
    // Three attempts of one second, then every other call fails at once.
    assert!(took < std::time::Duration::from_secs(30), "took {took:?}");
    // The lock went with the run.
    let again = run(&["--timeout", "1", "plan", "--refresh=false"]);
    assert!(!stderr(&again).contains("is locked"), "{}", stderr(&again));
}

#[test]
fn hostile_text_in_a_config_is_neither_obeyed_nor_echoed_whole() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // A megabyte-long name: the errors say where and how long, not the megabyte.
    let long = "a".repeat(1_000_000);
    std::fs::write(
        &cfg,
        text.replacen("name = \"snap\"", &format!("name = \"{long}\""), 1),
    )
    .unwrap();
    let out = netplan(tmp.path(), &["validate"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.len() < 20_000,
        "{} bytes of errors",
        out.stderr.len()
    );
    assert!(
        stderr(&out).contains("bytes) is not valid"),
        "{}",
        stderr(&out)
    );
    // A right-to-left override and a bell in a tag key: shown escaped, never passed through.
    std::fs::write(
        &cfg,
        text.replacen(
            "[stack]\n",
            "[stack]\ntags = { \"own\\u202Eer\\u0007\" = \"x\" }\n",
            1,
        ),
    )
    .unwrap();
    let out = netplan(tmp.path(), &["plan", "--refresh=false"], None);
    let shown = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !shown.contains('\u{202E}') && !shown.contains('\u{7}'),
        "{shown}"
    );
    assert!(shown.contains("own\\u{202e}er\\u{7}"), "{shown}");
}

#[test]
fn once_a_functions_source_is_gone_only_what_must_upload_it_needs_it() {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_dir_all(tmp.path().join("functions")).unwrap();
    // Reading commands never touch the code.
    for args in [
        &["output"][..],
        &["show"],
        &["graph"],
        &["check"],
        &["cost"],
        &["map", "-o", "map.html"],
    ] {
        let out = netplan(tmp.path(), args, Some(&cloud));
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
    }
    // A plan with no function change: no changes, and it says the deployed code is kept.
    let out = netplan(tmp.path(), &["plan", "--detailed-exitcode"], Some(&cloud));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("`functions/probe` does not exist: lambda_function.probe keeps the code it has deployed"),
        "{}",
        stderr(&out)
    );
    // A change that needs no upload applies.
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("memory = 128", "memory = 256")).unwrap();
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A function to create needs its code: said, naming the source and its line.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!(
            "{text}\n[function.extra]\nnetwork = \"network.main\"\nruntime = \"python3.12\"\nhandler = \"x.handler\"\nsource = \"functions/extra\"\n"
        ),
    )
    .unwrap();
    let out = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`functions/extra` does not exist"), "{err}");
    assert!(err.contains("must be created"), "{err}");
    std::fs::write(&cfg, text).unwrap();
    // And destroy removes everything.
    let out = netplan(tmp.path(), &["destroy", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let left: serde_json::Value = serde_json::from_slice(&std::fs::read(&cloud).unwrap()).unwrap();
    assert_eq!(
        left["objects"].as_object().map(|o| o.len()),
        Some(0),
        "{left}"
    );
}
