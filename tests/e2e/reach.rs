//! `netplan check`: each rule of the seed, broken one at a time from the examples (high-level and
//! low-level forms), is caught with the right component named; the intact examples give no finding
//! above info; validate and plan refuse an unreachable function unless `internet = false`.

use super::support::*;

/// Applies `edit` to the fixture's config and returns (check's exit code, its JSON verdicts).
fn check_after(
    fixture: &str,
    edit: impl Fn(&str) -> String,
) -> (Option<i32>, serde_json::Value, tempfile::TempDir) {
    let tmp = copy_dir(&repo().join(fixture));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit must change the config");
    std::fs::write(&cfg, edited).unwrap();
    let out = netplan(tmp.path(), &["check", "--json"], None);
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --json: {e}\n{}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), json, tmp)
}

fn findings(v: &serde_json::Value) -> Vec<(String, String, String)> {
    v["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| v["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["level"].as_str().unwrap().to_string(),
                f["component"].as_str().unwrap().to_string(),
                f["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Asserts a finding of `level` naming `component` whose message contains `text`.
fn expect(fixture: &str, edit: impl Fn(&str) -> String, level: &str, component: &str, text: &str) {
    let (code, json, tmp) = check_after(fixture, edit);
    let f = findings(&json);
    assert!(
        f.iter()
            .any(|(l, c, m)| l == level && c == component && m.contains(text)),
        "want {level} on {component} ({text}), got {f:#?}"
    );
    if level == "error" {
        assert_eq!(code, Some(1), "check exits 1 when a function is blocked");
        for cmd in ["validate", "plan"] {
            let out = netplan(tmp.path(), &[cmd], None);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{cmd} refuses an unreachable function"
            );
            assert!(
                stderr(&out).contains("netplan.toml:"),
                "{cmd} names the place: {}",
                stderr(&out)
            );
        }
    } else {
        assert_eq!(code, Some(0));
    }
}

const HL: &str = "examples/lambda-internet";
const LL: &str = "tests/fixtures/lowlevel";

#[test]
fn intact_examples_reach_the_internet_with_the_path_as_evidence() {
    for fixture in [HL, LL, "examples/existing-vpc"] {
        let out = netplan(&repo().join(fixture), &["check", "--json"], None);
        assert_eq!(out.status.code(), Some(0), "{fixture}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = findings(&json);
        assert!(f.iter().all(|(l, _, _)| l == "info"), "{fixture}: {f:?}");
    }
    let out = netplan(&repo().join(HL), &["check"], None);
    assert!(stdout(&out).contains("subnet.main_private_a → route_table.main_private_a → 0.0.0.0/0 → nat_gateway.main_a in subnet.main_public_a → route_table.main_public → 0.0.0.0/0 → internet_gateway.main (attached)"), "{}", stdout(&out));
    assert!(stdout(&out).contains("subnet.main_private_a → route_table.main_private_a → ::/0 → egress_only_internet_gateway.main (egress-only)"));
}

// --- high-level form ---------------------------------------------------------------------------

#[test]
fn hl_no_nat_gateway() {
    expect(
        HL,
        |t| t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\""),
        "error",
        "route_table.main_private",
        "no route to 0.0.0.0/0",
    );
}

#[test]
fn hl_dual_stack_without_ipv6() {
    expect(
        HL,
        |t| {
            t.replace("ipv6 = true\n", "ipv6 = false\n")
                .replace("egress_only_igw = true", "egress_only_igw = false")
        },
        "error",
        "subnet.main_private_a",
        "has no IPv6 block",
    );
}

#[test]
fn hl_dual_stack_without_egress_only_gateway() {
    expect(
        HL,
        |t| t.replace("egress_only_igw = true", "egress_only_igw = false"),
        "error",
        "route_table.main_private_a",
        "no route to ::/0",
    );
}

#[test]
fn hl_single_az_is_a_warning() {
    expect(
        HL,
        |t| {
            t.replace(
                "azs = 2\npublic_subnets = 2\nprivate_subnets = 2",
                "azs = 1\npublic_subnets = 1\nprivate_subnets = 1",
            )
        },
        "warning",
        "lambda_function.probe",
        "one availability zone",
    );
}

#[test]
fn hl_single_nat_serving_another_az_is_a_warning() {
    expect(
        HL,
        |t| t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\""),
        "warning",
        "nat_gateway.main_a",
        "cross-AZ",
    );
}

#[test]
fn hl_role_without_network_interface_permissions() {
    expect(
        HL,
        |t| {
            format!(
                "{}\n[iam_role.bare]\n",
                t.replace(
                    "[function.probe]\nnetwork",
                    "[function.probe]\nrole = \"iam_role.bare\"\nnetwork"
                )
            )
        },
        "error",
        "iam_role.bare",
        "network interfaces",
    );
}

#[test]
fn hl_internet_false_states_the_intent() {
    let (code, json, tmp) = check_after(HL, |t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
            .replace("egress_only_igw = true", "egress_only_igw = false")
            .replace(
                "ipv6_dual_stack = true",
                "ipv6_dual_stack = true\ninternet = false",
            )
    });
    assert_eq!(code, Some(0), "{json}");
    assert!(findings(&json).iter().all(|(l, _, _)| l != "error"));
    assert_eq!(
        netplan(tmp.path(), &["validate"], None).status.code(),
        Some(0)
    );
}

// --- low-level form ----------------------------------------------------------------------------

#[test]
fn ll_function_in_public_subnets() {
    expect(
        LL,
        |t| {
            t.replace(
                "subnets = [\"subnet.private_a\", \"subnet.private_b\"]\nsecurity_groups",
                "subnets = [\"subnet.public_a\", \"subnet.public_b\"]\nsecurity_groups",
            )
        },
        "error",
        "subnet.public_a",
        "public subnet",
    );
}

#[test]
fn ll_private_table_without_default_route() {
    expect(
        LL,
        |t| {
            t.replace(
                "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" },\n",
                "",
            )
        },
        "error",
        "route_table.private_a",
        "no route to 0.0.0.0/0",
    );
}

#[test]
fn ll_nat_in_a_subnet_without_internet_gateway_route() {
    expect(
        LL,
        |t| {
            t.replace(
                "  { destination = \"0.0.0.0/0\", target = \"internet_gateway.main\" },\n",
                "",
            )
        },
        "error",
        "nat_gateway.a",
        "not public",
    );
}

#[test]
fn ll_subnet_without_route_table_uses_the_empty_main_table() {
    expect(
        LL,
        |t| t.replace("subnets = [\"subnet.private_a\"]\n", "subnets = []\n"),
        "error",
        "subnet.private_a",
        "main table",
    );
}

#[test]
fn ll_security_group_without_egress() {
    expect(
        LL,
        |t| {
            t.replace("egress = [\n  { protocol = \"all\", cidr = \"0.0.0.0/0\" },\n  { protocol = \"all\", cidr = \"::/0\" },\n]", "egress = []")
        },
        "error",
        "security_group.lambda",
        "outbound IPv4",
    );
}

#[test]
fn ll_security_group_allowing_only_http() {
    expect(
        LL,
        |t| {
            t.replace(
                "{ protocol = \"all\", cidr = \"0.0.0.0/0\" }",
                "{ protocol = \"tcp\", cidr = \"0.0.0.0/0\", from_port = 80, to_port = 80 }",
            )
        },
        "error",
        "security_group.lambda",
        "HTTPS",
    );
}

#[test]
fn ll_dual_stack_subnet_without_ipv6_block() {
    expect(
        LL,
        |t| t.replace("ipv6_index = 128\n", ""),
        "error",
        "subnet.private_a",
        "no IPv6 block",
    );
}

#[test]
fn ll_ipv6_default_route_to_nothing() {
    expect(
        LL,
        |t| {
            t.replace("  { destination = \"::/0\", target = \"egress_only_internet_gateway.main\" },\n]\n\n[route_table.private_b]", "]\n\n[route_table.private_b]")
        },
        "error",
        "route_table.private_a",
        "no route to ::/0",
    );
}

#[test]
fn ll_role_without_policies() {
    expect(
        LL,
        |t| {
            t.replace("managed_policies = [\"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole\"]", "managed_policies = []")
        },
        "error",
        "iam_role.lambda",
        "network interfaces",
    );
}

#[test]
fn ll_single_az() {
    expect(
        LL,
        |t| {
            t.replace(
                "subnets = [\"subnet.private_a\", \"subnet.private_b\"]\nsecurity_groups",
                "subnets = [\"subnet.private_a\"]\nsecurity_groups",
            )
        },
        "warning",
        "lambda_function.probe",
        "one availability zone",
    );
}

// --- network ACLs (stateless: the request and its reply each need an entry) ----------------------

/// The low-level fixture with a network ACL on the private subnets holding these entries.
fn with_acl(t: &str, egress: &str, ingress: &str) -> String {
    format!("{t}\n[network_acl.private]\nvpc = \"vpc.main\"\nsubnets = [\"subnet.private_a\", \"subnet.private_b\"]\negress = [{egress}]\ningress = [{ingress}]\n")
}

#[test]
fn ll_network_acl_without_egress_443() {
    expect(
        LL,
        |t| {
            with_acl(
                t,
                "",
                "{ rule = 100, protocol = \"all\", cidr = \"0.0.0.0/0\", action = \"allow\" }",
            )
        },
        "error",
        "network_acl.private",
        "blocks the request out to the internet (TCP 443): no rule allows it",
    );
}

#[test]
fn ll_network_acl_without_return_traffic() {
    expect(
        LL,
        |t| {
            with_acl(t, "{ rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" }", "")
        },
        "error",
        "network_acl.private",
        "blocks the reply in from the internet",
    );
}

#[test]
fn ll_network_acl_deny_before_allow_wins() {
    expect(
        LL,
        |t| {
            with_acl(t, "{ rule = 200, protocol = \"all\", cidr = \"0.0.0.0/0\", action = \"allow\" }, { rule = 50, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"deny\" }", "{ rule = 100, protocol = \"all\", cidr = \"0.0.0.0/0\", action = \"allow\" }")
        },
        "error",
        "network_acl.private",
        "rule 50 denies it",
    );
}

#[test]
fn ll_network_acl_that_allows_request_and_reply_for_both_families_passes() {
    let (code, json, _tmp) = check_after(LL, |t| {
        with_acl(
            t,
            "{ rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" }, { rule = 101, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"::/0\", action = \"allow\" }",
            "{ rule = 100, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"0.0.0.0/0\", action = \"allow\" }, { rule = 101, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"::/0\", action = \"allow\" }",
        )
    });
    assert_eq!(code, Some(0), "{json:#}");
    assert!(
        findings(&json).iter().all(|(l, _, _)| l == "info"),
        "{json:#}"
    );
}

#[test]
fn live_check_on_the_fake_cloud_agrees_with_the_static_one() {
    let tmp = copy_dir(&repo().join(LL));
    let cloud = tmp.path().join("cloud.json");
    let stat = netplan(tmp.path(), &["check", "--json"], Some(&cloud));
    let apply = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(apply.status.code(), Some(0), "{}", stderr(&apply));
    let live = netplan(tmp.path(), &["check", "--live", "--json"], Some(&cloud));
    assert_eq!(live.status.code(), Some(0), "{}", stderr(&live));
    let paths = |o: &std::process::Output| {
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["verdicts"][0]["paths"].clone()
    };
    assert_eq!(paths(&live), paths(&stat));
    // A security group emptied out of band is seen by --live only.
    let mut world: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cloud).unwrap()).unwrap();
    for o in world["objects"].as_object_mut().unwrap().values_mut() {
        if o["kind"] == "security_group" {
            o["attrs"]["egress"] = serde_json::json!([]);
        }
    }
    std::fs::write(&cloud, world.to_string()).unwrap();
    let live = netplan(tmp.path(), &["check", "--live"], Some(&cloud));
    assert_eq!(live.status.code(), Some(1), "{}", stdout(&live));
    assert!(
        stdout(&live).contains("no security group of the function allows outbound"),
        "{}",
        stdout(&live)
    );
}

#[test]
fn hl_dns_resolution_off() {
    expect(
        HL,
        |t| {
            t.replace(
                "s3_endpoint = true\n",
                "s3_endpoint = true\ndns_support = false\n",
            )
        },
        "error",
        "vpc.main",
        "DNS resolution off",
    );
}

#[test]
fn ll_dns_resolution_off() {
    expect(
        LL,
        |t| {
            t.replace(
                "ipv6 = true\n\n[internet_gateway.main]",
                "ipv6 = true\ndns_support = false\n\n[internet_gateway.main]",
            )
        },
        "error",
        "vpc.main",
        "DNS resolution off",
    );
}
