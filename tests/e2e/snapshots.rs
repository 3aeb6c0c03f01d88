//! Plan output for each kind of change, as users read it (no colour). The fake cloud's ids are
//! deterministic, so the snapshots are stable.

use super::support::*;

/// Fake ids follow creation order, which parallel creates make vary: redact them.
macro_rules! snapshot {
    ($text:expr) => {
        insta::with_settings!({ filters => vec![(r"\b(vpc|subnet|sg|rtb|igw|eigw|nat|eipalloc|vpce)-[0-9a-f]{17}\b", "$1-[id]")] }, {
            insta::assert_snapshot!($text);
        })
    };
}

/// Applies the small fixture, rewrites its config with `edit`, and returns the plan's text.
fn plan_after(edit: impl Fn(&str) -> String) -> String {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, edit(&text)).unwrap();
    let out = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn plan_create() {
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let out = netplan(tmp.path(), &["plan"], None);
    snapshot!(stdout(&out));
}

#[test]
fn plan_no_op() {
    snapshot!(plan_after(|t| t.to_string()));
}

#[test]
fn plan_update() {
    snapshot!(plan_after(|t| t
        .replace(
            "subnets = [\"subnet.a\"]",
            "subnets = [\"subnet.a\", \"subnet.b\"]"
        )
        .replace(
            "[vpc.main]\ncidr = \"10.0.0.0/16\"",
            "[vpc.main]\ncidr = \"10.0.0.0/16\"\ntags = { team = \"net\" }"
        )));
}

#[test]
fn plan_replace() {
    snapshot!(plan_after(|t| t
        .replace("10.0.1.0/24", "10.0.2.0/24")
        .replace(
            "no inbound rules at all.",
            "no inbound rules at all.\\nReviewed by the network team."
        )));
}

#[test]
fn plan_delete() {
    snapshot!(plan_after(|t| t
        [..t.find("[security_group.lambda]").unwrap()]
        .to_string()));
}
