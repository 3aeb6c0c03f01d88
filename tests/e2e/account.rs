//! Day 1 (issue 18): the account a plan is for. moto behind the realism layer dressed as an ordinary
//! older AWS account in us-east-1: its own zone mapping (no us-east-1b; us-east-1a is AZ ID use1-az3,
//! where Lambda refuses VPC functions and Graviton types are not offered), default quotas of 5. Every
//! refusal comes before the first create (the proxy counts no changing call); what is chosen is shown
//! and pinned.

use super::moto::ok;
use super::realism::{seed_copies, Realism};
use super::support::*;
use std::path::Path;

/// The account: names → AZ IDs as an older account maps them, one name missing.
fn older_account() -> String {
    serde_json::json!({
        "region": "us-east-1",
        "zones": [
            {"name": "us-east-1a", "id": "use1-az3"},
            {"name": "us-east-1c", "id": "use1-az1"},
            {"name": "us-east-1d", "id": "use1-az2"},
            {"name": "us-east-1e", "id": "use1-az4"},
            {"name": "us-east-1f", "id": "use1-az5"},
        ],
        "lambda_refuses": ["use1-az3"],
        "not_offered": {"use1-az3": ["t4g.nano", "t4g.micro"]},
        "quotas": {"vpcs": 5, "internet_gateways": 5, "egress_only": 5, "elastic_ips": 5, "nat_per_az": 5},
    })
    .to_string()
}

/// stderr with miette's line wrapping folded away.
fn flat(out: &std::process::Output) -> String {
    stderr(out)
        .replace('│', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn in_account() -> Realism {
    let r = Realism::start_with(&["--profile", "none"]);
    r.control("/_realism/account", &older_account());
    r
}

fn edit(dir: &Path, f: impl Fn(&str) -> String) {
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, f(&text)).unwrap();
}

/// The changing calls the proxy saw since its last mark.
fn changing(r: &Realism) -> Vec<String> {
    r.calls().into_iter().filter(|c| c.2).map(|c| c.1).collect()
}

#[test]
fn azs_are_chosen_from_the_account_where_everything_runs_shown_and_pinned() {
    let r = in_account();
    let tmp = seed_copies(1);
    let dir = tmp.path();
    let plan = r.netplan(dir, &["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = stdout(&plan);
    assert!(
        text.contains("zones of network.main: us-east-1c (use1-az1), us-east-1d (use1-az2)"),
        "{text}"
    );
    assert!(
        text.contains("quota EC2-VPC Elastic IPs: has 0 + adds 2 of 5"),
        "{text}"
    );
    let json = r.netplan(dir, &["plan", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(
        v["account"]["placement"]["networks"]["network.main"][0][1],
        "use1-az1"
    );
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "applies in usable zones",
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "no-op after",
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("netplan.state.json")).unwrap()).unwrap();
    assert_eq!(
        state["zones"]["network.main"],
        serde_json::json!(["us-east-1c", "us-east-1d"]),
        "pinned"
    );
    // A third zone (and subnets in it) added later keeps the first two where they are.
    edit(dir, |t| {
        t.replace("azs = 2", "azs = 3")
            .replace("public_subnets = 2", "public_subnets = 3")
            .replace("private_subnets = 2", "private_subnets = 3")
    });
    let plan = r.netplan(dir, &["plan"]);
    let text = stdout(&plan);
    assert!(
        text.contains(
            "us-east-1c (use1-az1), pinned, us-east-1d (use1-az2), pinned, us-east-1e (use1-az4)"
        ),
        "{text}{}",
        stderr(&plan)
    );
    assert!(text.contains("+ subnet.main_private_e"), "{text}");
    assert!(text.contains(", 0 to destroy."), "nothing moves: {text}");
}

#[test]
fn a_zone_the_account_lacks_and_an_exceeded_quota_are_refused_before_any_create() {
    let r = in_account();
    let tmp = seed_copies(1);
    let dir = tmp.path();
    edit(dir, |t| {
        t.replace("azs = 2", "azs = [\"us-east-1a\", \"us-east-1b\"]")
    });
    r.mark();
    let out = r.netplan(dir, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = flat(&out);
    assert!(
        err.contains("`us-east-1b` is not an availability zone this account can use in us-east-1"),
        "{err}"
    );
    assert!(
        err.contains("us-east-1c (use1-az1)"),
        "the account's zones are listed: {err}"
    );
    assert!(changing(&r).is_empty(), "{:?}", changing(&r));

    // Three networks need six Elastic IPs; the quota is five.
    let tmp = seed_copies(3);
    let dir = tmp.path();
    r.mark();
    let out = r.netplan(dir, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = flat(&out);
    assert!(
        err.contains(
            "EC2-VPC Elastic IPs — this account has 0, the plan adds 6, the quota is 5 (L-0263D0A3"
        ),
        "{err}"
    );
    assert!(
        err.contains("nat_gateways = \"single\""),
        "the ways out: {err}"
    );
    assert!(changing(&r).is_empty(), "{:?}", changing(&r));
    // The way out it names works.
    edit(dir, |t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\"")
    });
    let plan = r.netplan(dir, &["plan"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
}

#[test]
fn a_named_zone_lambda_refuses_is_warned_and_its_refusal_named() {
    let r = in_account();
    let tmp = seed_copies(1);
    let dir = tmp.path();
    edit(dir, |t| {
        t.replace("azs = 2", "azs = [\"us-east-1a\", \"us-east-1c\"]")
    });
    let out = r.netplan(dir, &["apply", "--auto-approve"]);
    let err = flat(&out);
    assert!(
        err.contains("Lambda is known to refuse VPC functions in us-east-1a (use1-az3)"),
        "warned before: {err}"
    );
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("availability zone Lambda doesn't support")
            && err.contains("us-east-1a (use1-az3)"),
        "the refusal names the subnet's zone and ID: {err}"
    );
    assert!(err.contains("azs = N"), "and the fix: {err}");
    assert!(err.contains("was rolled back"), "{err}");
}

#[test]
fn nat_instances_land_where_their_type_is_offered() {
    let r = in_account();
    let tmp = seed_copies(1);
    let dir = tmp.path();
    edit(dir, |t| {
        t.replace(
            "nat_gateways = \"per_az\"",
            "nat_gateways = \"per_az\"\nnat_type = \"instance\"",
        )
        .replace("azs = 2", "azs = [\"us-east-1a\", \"us-east-1c\"]")
    });
    r.mark();
    let out = r.netplan(dir, &["plan"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        flat(&out).contains("us-east-1a (use1-az3) does not offer the NAT instance type t4g.nano"),
        "{}",
        stderr(&out)
    );
    edit(dir, |t| {
        t.replace("azs = [\"us-east-1a\", \"us-east-1c\"]", "azs = 2")
    });
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "NAT instances where t4g is offered",
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "no-op after",
    );
}

/// moto in us-west-1 has a and b (accounts see two of a, b, c): `azs = 2` takes the ones the account
/// has, where the old table took a and c and CreateSubnet refused c.
#[test]
fn us_west_1_takes_the_zones_the_account_has() {
    let r = Realism::start_with(&["--profile", "none"]);
    let tmp = seed_copies(1);
    let dir = tmp.path();
    edit(dir, |t| {
        t.replace("region = \"us-east-1\"", "region = \"us-west-1\"")
    });
    let plan = r.netplan(dir, &["plan"]);
    assert!(
        stdout(&plan).contains("zones of network.main: us-west-1a (usw1-az3), us-west-1b"),
        "{}{}",
        stdout(&plan),
        stderr(&plan)
    );
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "applies in us-west-1",
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "no-op after",
    );
}
