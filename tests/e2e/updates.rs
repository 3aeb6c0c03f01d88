//! Day 2 (issue 16): changing a stack that runs. The real binary against moto behind the project's
//! realism proxy, which refuses — or carries out and loses the answer of — each call an update makes,
//! one at a time, and checks after every call that no watched private subnet lost a default route or
//! its network ACL's HTTPS, and no watched security group stopped letting HTTPS out.
//!
//! For each fault: the update either succeeds (a lost answer to a call that can be repeated) and plans
//! clean after, or fails and its rollback is true — a plan of the old config afterwards finds nothing
//! to change — or netplan names what differs, exactly what a plan then finds. The next apply of the
//! update converges, with a no-op plan after.
//!
//! - `NETPLAN_UPDATE_FAULTS` (default: every call): which changing calls of the update fail, `1,5` or
//!   `3..9` — the soak runs them all (BENCHMARKS.md).

use super::moto::ok;
use super::realism::Realism;
use super::support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A network ACL on the private subnets, open both ways: what the network matrix narrows.
const ACL: &str = r#"
[network_acl.private]
vpc = "vpc.main"
subnets = ["subnet.private_a", "subnet.private_b"]
egress = [
  { rule = 100, protocol = "all", cidr = "0.0.0.0/0", action = "allow" },
  { rule = 110, protocol = "all", cidr = "::/0", action = "allow" },
]
ingress = [
  { rule = 100, protocol = "all", cidr = "0.0.0.0/0", action = "allow" },
  { rule = 110, protocol = "all", cidr = "::/0", action = "allow" },
]
"#;

fn base_network(fixture: &str) -> String {
    format!("{fixture}{ACL}")
}

/// The network's update: a default route moved between NAT gateways, a group's egress narrowed to
/// HTTPS, the ACL narrowed to HTTPS and its replies, the endpoint on one table, DNS hostnames off, a
/// tag added.
fn update_network(fixture: &str) -> String {
    let text = base_network(fixture)
        .replace(
            "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.b\" },",
            "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" },",
        )
        .replace(
            "  { protocol = \"all\", cidr = \"0.0.0.0/0\" },\n  { protocol = \"all\", cidr = \"::/0\" },",
            "  { protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\" },\n  { protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"::/0\" },",
        )
        .replace(
            "egress = [\n  { rule = 100, protocol = \"all\", cidr = \"0.0.0.0/0\", action = \"allow\" },",
            "egress = [\n  { rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" },",
        )
        .replace(
            "ingress = [\n  { rule = 100, protocol = \"all\", cidr = \"0.0.0.0/0\", action = \"allow\" },",
            "ingress = [\n  { rule = 100, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"0.0.0.0/0\", action = \"allow\" },",
        )
        .replace(
            "route_tables = [\"route_table.private_a\", \"route_table.private_b\"]",
            "route_tables = [\"route_table.private_a\"]",
        )
        .replace("cidr = \"10.0.0.0/16\"\nipv6 = true", "cidr = \"10.0.0.0/16\"\nipv6 = true\ndns_hostnames = false")
        .replace(
            "[route_table.public]\nvpc = \"vpc.main\"",
            "[route_table.public]\nvpc = \"vpc.main\"\ntags = { tier = \"public\" }",
        );
    assert_eq!(
        text.matches("nat_gateway.a\" }").count(),
        2,
        "the route moved"
    );
    text
}

/// The function's update: new code, memory, environment and tags changed, a policy attached to its
/// role.
fn update_function(fixture: &str) -> String {
    fixture
        .replace("source = \"functions/probe\"", "source = \"functions/probe_v2\"")
        .replace(
            "timeout = 10\nipv6_dual_stack = true",
            "timeout = 10\nipv6_dual_stack = true\nmemory = 256\nenvironment = { MODE = \"day2\" }\ntags = { release = \"2\" }",
        )
        .replace(
            "managed_policies = [\"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole\"]",
            "managed_policies = [\"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole\", \"arn:aws:iam::aws:policy/service-role/AWSLambdaRole\"]",
        )
}

/// Which faults to inject: every changing call by default.
fn faults(calls: usize) -> Vec<usize> {
    match std::env::var("NETPLAN_UPDATE_FAULTS") {
        Ok(v) if v.contains("..") => {
            let (a, b) = v.split_once("..").unwrap();
            (a.trim().parse().unwrap()..=b.trim().parse::<usize>().unwrap())
                .filter(|n| *n <= calls)
                .collect()
        }
        Ok(v) => v
            .split(',')
            .filter_map(|n| n.trim().parse().ok())
            .filter(|n| *n <= calls)
            .collect(),
        Err(_) => (1..=calls).collect(),
    }
}

/// An id the state in `dir` holds for `address`.
fn id_of(dir: &Path, address: &str) -> String {
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("netplan.state.json")).unwrap()).unwrap();
    state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == address && r["deposed"] != true)
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("{address} is not in the state"))
        .to_string()
}

/// The function's code, changed: what the update uploads.
fn second_version(dir: &Path) {
    let v2 = dir.join("functions/probe_v2");
    std::fs::create_dir_all(&v2).unwrap();
    std::fs::write(
        v2.join("lambda_function.py"),
        "def lambda_handler(event, context):\n    return {'statusCode': 200, 'version': 2}\n",
    )
    .unwrap();
}

fn write(dir: &Path, text: &str) {
    std::fs::write(dir.join("netplan.toml"), text).unwrap();
}

/// The addresses a plan would change (its `~`, `+`, `-` lines).
fn planned(out: &std::process::Output) -> Vec<String> {
    stdout(out)
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("~ ")
                .or_else(|| l.strip_prefix("+ "))
                .or_else(|| l.strip_prefix("- "))?;
            rest.split_whitespace().next().map(str::to_string)
        })
        .filter(|a| a.contains('.') && a.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
        .collect()
}

/// The matrix: `base` applied, then `update` with each of its changing calls failing in turn.
fn matrix(name: &str, base: &str, update: &str, groups: bool) {
    let r = Realism::start_with(&["--profile", "none"]);
    let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
    let dir = tmp.path();
    second_version(dir);
    write(dir, base);
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the base applies",
    );
    let subnets = vec![
        id_of(dir, "subnet.private_a"),
        id_of(dir, "subnet.private_b"),
    ];
    let groups = if groups {
        vec![id_of(dir, "security_group.lambda")]
    } else {
        vec![]
    };
    let watched = r.watch(&subnets, &groups);
    for s in &subnets {
        let had = watched["subnets"][s].as_array().map(Vec::len).unwrap_or(0);
        assert!(had >= 2, "{name}: {s} has its default routes: {watched}");
    }
    // The update once without faults: the calls it makes, none losing anything.
    r.mark();
    write(dir, update);
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the update applies",
    );
    let calls: Vec<String> = r
        .calls()
        .into_iter()
        .filter(|c| c.2)
        .map(|c| format!("{}:{}", c.0, c.1))
        .collect();
    assert!(
        calls.len() >= 4,
        "{name}: the update changes things: {calls:?}"
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "the update plans clean",
    );
    write(dir, base);
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "back to the base",
    );
    assert!(r.violations().is_empty(), "{name}: {:?}", r.violations());
    let mut problems = vec![];
    let (mut rolled_back, mut named, mut survived) = (0, 0, 0);
    for nth in faults(calls.len()) {
        for lost in [false, true] {
            let case = format!(
                "{name}: call {nth} ({}) {}",
                calls[nth - 1],
                if lost { "answer lost" } else { "refused" }
            );
            r.mark();
            r.watch(&subnets, &groups);
            r.fail_any(nth, lost);
            write(dir, update);
            let out = r.netplan(dir, &["apply", "--auto-approve"]);
            let err = stderr(&out);
            for v in r.violations() {
                problems.push(format!("{case}: {} lost: {}", v["call"], v["lost"]));
            }
            if out.status.code() == Some(0) {
                survived += 1;
                let p = r.netplan(dir, &["plan", "--detailed-exitcode"]);
                if p.status.code() != Some(0) {
                    problems.push(format!(
                        "{case}: applied, but the plan after is not clean: {}",
                        stdout(&p)
                    ));
                }
            } else {
                write(dir, base);
                let p = r.netplan(dir, &["plan", "--detailed-exitcode"]);
                if err.contains("was rolled back") {
                    rolled_back += 1;
                    if p.status.code() != Some(0) {
                        problems.push(format!(
                            "{case}: said rolled back, but the old config plans changes:\n{}\n{err}",
                            stdout(&p)
                        ));
                    }
                } else if err.contains("is not as it was") {
                    named += 1;
                    // What netplan named is what differs.
                    for a in planned(&p) {
                        if !err.contains(&a) {
                            problems.push(format!("{case}: {a} differs and was not named:\n{err}"));
                        }
                    }
                } else {
                    problems.push(format!("{case}: neither rolled back nor named:\n{err}"));
                }
                // The next apply of the update converges.
                write(dir, update);
                let again = r.netplan(dir, &["apply", "--auto-approve"]);
                if again.status.code() != Some(0) {
                    problems.push(format!(
                        "{case}: the next apply does not converge: {}",
                        stderr(&again)
                    ));
                }
            }
            // Back to the base for the next case.
            r.mark();
            write(dir, base);
            let back = r.netplan(dir, &["apply", "--auto-approve"]);
            if back.status.code() != Some(0) {
                problems.push(format!(
                    "{case}: back to the base failed: {}",
                    stderr(&back)
                ));
                break;
            }
        }
    }
    eprintln!(
        "{name}: {} calls × refused/lost: {survived} applied anyway, {rolled_back} rolled back, {named} named what differs",
        calls.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn fixture() -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/lowlevel/netplan.toml")).unwrap()
}

#[test]
fn a_network_update_refused_at_any_call_cuts_nothing_off_and_says_what_is_true() {
    let f = fixture();
    matrix("network", &base_network(&f), &update_network(&f), true);
}

#[test]
fn a_function_update_refused_at_any_call_cuts_nothing_off_and_says_what_is_true() {
    let f = fixture();
    matrix("function", &f, &update_function(&f), true);
}

/// The two refusals a new user met (issue 16), word for word: a route moved between NAT gateways with
/// the move refused, and a group's egress narrowed with the new rule refused. The network keeps its
/// route and its egress, the message is true, and the next apply converges.
#[test]
fn the_refused_route_move_and_egress_narrowing_leave_the_network_as_it_was() {
    let r = Realism::start_with(&["--profile", "none"]);
    let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
    let dir = tmp.path();
    let f = fixture();
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the seed applies",
    );
    let subnets = vec![id_of(dir, "subnet.private_b")];
    let groups = vec![id_of(dir, "security_group.lambda")];
    for (what, action, edited) in [
        (
            "route moved",
            "ReplaceRoute",
            f.replace(
                "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.b\" },",
                "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" },",
            ),
        ),
        (
            "egress narrowed",
            "AuthorizeSecurityGroupEgress",
            f.replace(
                "  { protocol = \"all\", cidr = \"0.0.0.0/0\" },",
                "  { protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\" },",
            ),
        ),
    ] {
        r.mark();
        r.watch(&subnets, &groups);
        r.control(
            "/_realism/fail",
            &format!(
                r#"{{"action": "{action}", "nth": 1, "code": "RouteLimitExceeded", "status": 400}}"#
            ),
        );
        write(dir, &edited);
        let out = r.netplan(dir, &["apply", "--auto-approve"]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("was rolled back") && err.contains("as it was before"),
            "{what}: {err}"
        );
        assert!(r.violations().is_empty(), "{what}: {:?}", r.violations());
        write(dir, &f);
        ok(
            &r.netplan(dir, &["plan", "--detailed-exitcode"]),
            &format!("{what}: the rollback's claim holds"),
        );
        write(dir, &edited);
        ok(
            &r.netplan(dir, &["apply", "--auto-approve"]),
            &format!("{what}: the next apply converges"),
        );
        ok(
            &r.netplan(dir, &["plan", "--detailed-exitcode"]),
            &format!("{what}: no-op after"),
        );
        write(dir, &f);
        ok(&r.netplan(dir, &["apply", "--auto-approve"]), "back");
    }
}

/// kill -9 while an update runs (through AWS's timing: a function's update takes a while): the next
/// apply converges and plans clean, nothing is duplicated or lost.
#[test]
fn kill_9_during_an_update_loses_nothing_and_the_next_apply_converges() {
    let r = Realism::start_with(&["--profile", "timing", "--seed", "3"]);
    let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
    let dir = tmp.path();
    second_version(dir);
    let f = fixture();
    let base = base_network(&f);
    let update = update_function(&update_network(&f));
    write(dir, &base);
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the base applies",
    );
    let before = r.moto.inventory("lowlevel");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let trials = std::env::var("NETPLAN_UPDATE_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(150 + (seed >> 33) % 2500);
        let target = if trial % 2 == 0 { &update } else { &base };
        write(dir, target);
        let mut child = Command::new(bin())
            .args(["apply", "--auto-approve"])
            .current_dir(dir)
            .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{}", r.port))
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        ok(
            &r.netplan(dir, &["apply", "--auto-approve"]),
            &format!("kill trial {trial} ({delay:?}): the next apply converges"),
        );
        ok(
            &r.netplan(dir, &["plan", "--detailed-exitcode"]),
            &format!("kill trial {trial}: no-op after"),
        );
        let now = r.moto.inventory("lowlevel");
        assert_eq!(
            now.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "kill trial {trial}: the same objects"
        );
        for (a, ids) in &now {
            assert_eq!(ids.len(), 1, "kill trial {trial}: {a} duplicated: {ids:?}");
            assert_eq!(ids, &before[a], "kill trial {trial}: {a} was replaced");
        }
    }
}

/// A rollback that cannot restore says so, naming each object and attribute that differs — the claim
/// "as it was before" is never made then — and the next apply converges.
#[test]
fn a_rollback_that_cannot_restore_names_what_differs() {
    let r = Realism::start_with(&["--profile", "none"]);
    let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
    let dir = tmp.path();
    let f = fixture();
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the seed applies",
    );
    let narrowed = f.replace(
        "  { protocol = \"all\", cidr = \"0.0.0.0/0\" },",
        "  { protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\" },",
    );
    r.mark();
    // The update's revoke is refused, and so is every revoke after it: the new rule stays.
    // (Each injected failure counts the calls it has not failed yet: three "first" ones fail three
    // calls in a row.)
    for _ in 1..=3 {
        r.control(
            "/_realism/fail",
            r#"{"action": "RevokeSecurityGroupEgress", "nth": 1, "code": "UnauthorizedOperation", "status": 403}"#,
        );
    }
    write(dir, &narrowed);
    let out = r.netplan(dir, &["apply", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains("as it was before"), "{err}");
    assert!(
        err.contains("security_group.lambda")
            && err.contains("is not as it was")
            && err.contains("`egress`"),
        "{err}"
    );
    write(dir, &f);
    let p = r.netplan(dir, &["plan", "--detailed-exitcode"]);
    assert_eq!(planned(&p), ["security_group.lambda"], "{}", stdout(&p));
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the next apply converges",
    );
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "no-op after",
    );
}

/// Reading never writes (issue 16.4, c): with a state a killed run left — a NAT instance's create
/// pending, its security group made, the instance never — every command that only reads sends no call
/// that changes anything; apply, once the in-flight horizon has passed, removes the orphan group.
#[test]
fn reading_commands_send_no_changing_call_and_apply_settles_what_a_killed_create_left() {
    let r = Realism::start_with(&["--profile", "none"]);
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let dir = tmp.path();
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "the base applies",
    );
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        format!("{text}\n[nat_instance.a]\nsubnet = \"subnet.a\"\nallow_from = [\"subnet.b\"]\n"),
    )
    .unwrap();
    let vpc = id_of(dir, "vpc.main");
    let token = "7d1c0d52-0000-4000-8000-00000000c0de";
    // What a killed create left: its pending operation, and the group it made before the instance.
    let path = dir.join("netplan.state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    state["pending"] = serde_json::json!([{
        "operation": "create",
        "address": "nat_instance.a",
        "token": token,
        "started_at": "2026-01-01T00:00:00Z",
    }]);
    std::fs::write(&path, serde_json::to_vec_pretty(&state).unwrap()).unwrap();
    let group = r
        .moto
        .py(&format!(
            "g=ec2.create_security_group(VpcId='{vpc}', GroupName='snap-nat-a', Description='nat', TagSpecifications=[{{'ResourceType': 'security-group', 'Tags': [{{'Key': 'netplan:stack', 'Value': 'snap'}}, {{'Key': 'netplan:address', 'Value': 'nat_instance.a'}}, {{'Key': 'netplan:token', 'Value': '{token}'}}]}}])['GroupId']\nprint(g)"
        ))
        .unwrap()
        .trim()
        .to_string();
    for args in [
        &["plan"][..],
        &["plan", "--destroy"],
        &["validate"],
        &["check"],
        &["cost"],
        &["map", "-o", "map.html"],
        &["output"],
        &["show"],
        &["graph"],
    ] {
        r.mark();
        let out = r.netplan(dir, args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        let changing: Vec<String> = r.calls().into_iter().filter(|c| c.2).map(|c| c.1).collect();
        assert!(
            changing.is_empty(),
            "{args:?} changed the cloud: {changing:?}"
        );
    }
    let groups = || {
        r.moto
            .py("print(' '.join(g['GroupId'] for g in ec2.describe_security_groups()['SecurityGroups']))")
            .unwrap()
    };
    assert!(groups().contains(&group), "still there after reading");
    ok(
        &r.netplan(dir, &["apply", "--auto-approve"]),
        "apply settles and converges",
    );
    assert!(!groups().contains(&group), "the orphan group is gone");
    ok(
        &r.netplan(dir, &["plan", "--detailed-exitcode"]),
        "no-op after",
    );
}
