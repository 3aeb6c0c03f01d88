//! The reachability model behind `netplan check` and the gate: each rule of the seed, broken one at a
//! time from the examples (high-level and low-level forms), is caught with the right component named;
//! the intact examples give no finding above info; the gate that validate, plan and apply share refuses
//! an unreachable function (naming its place in netplan.toml) unless `internet = false`.

use super::support::repo;
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::diag::Severity;
use netplan_engine::ops;
use netplan_engine::reach;

const HL: &str = "examples/lambda-internet";
const LL: &str = "tests/fixtures/lowlevel";

/// The fixture's config with `edit` applied, loaded from the fixture's folder (its function sources).
fn load_edited(fixture: &str, edit: impl Fn(&str) -> String) -> Config {
    let dir = repo().join(fixture);
    let path = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit must change the config");
    config::load_str(
        &path.to_string_lossy(),
        &edited,
        &dir,
        &LoadOptions::default(),
    )
    .unwrap_or_else(|d| panic!("the edited config loads: {d}"))
}

/// Every finding of every function: (level, component, message).
fn findings(c: &Config) -> Vec<(Severity, String, String)> {
    reach::check(c)
        .into_iter()
        .flat_map(|v| v.findings)
        .map(|f| (f.level, f.component.to_string(), f.message))
        .collect()
}

/// A config's text loaded from the fixture's folder (its function sources).
fn load_text(fixture: &str, text: &str) -> Result<Config, netplan_engine::diag::Diagnostics> {
    let dir = repo().join(fixture);
    let path = dir.join("netplan.toml");
    config::load_str(&path.to_string_lossy(), text, &dir, &LoadOptions::default())
}

/// The fixes the gate prints, applied as a user would paste them: the first diagnostic's fix (each of
/// its alternatives in turn), then whatever the gate says next, until the config validates and the
/// gate lets every function through. A fix that does not apply, a result that does not validate, or
/// a refusal without a fix fails the test.
fn fixes_fix(fixture: &str, text: &str) {
    fn settle(fixture: &str, text: String, trail: Vec<String>, depth: usize) {
        let c = load_text(fixture, &text).unwrap_or_else(|d| {
            panic!("after {trail:#?} the config does not validate:\n{d}\n{text}")
        });
        let Err(refused) = ops::gate(&c) else {
            return;
        };
        assert!(
            depth < 4,
            "still refused after {trail:#?}:\n{refused}\n{text}"
        );
        let d = refused.errors().next().expect("an error");
        assert!(!d.fixes.is_empty(), "no fix for: {d}\n{text}");
        // The first alternative is followed to the end; the others one step further each.
        for (i, fix) in d.fixes.iter().enumerate() {
            if matches!(fix, netplan_engine::fix::Fix::Run { .. }) {
                continue;
            }
            let next = netplan_engine::fix::apply(&text, fix)
                .unwrap_or_else(|e| panic!("`{fix}` does not apply: {e}\n{text}"));
            let mut trail = trail.clone();
            trail.push(fix.to_string());
            if i == 0 || depth == 0 {
                settle(fixture, next, trail, depth + 1);
            }
        }
    }
    settle(fixture, text.to_string(), vec![], 0);
}

/// Asserts a finding of `level` naming `component` whose message contains `text`, and that the gate
/// refuses an error (naming the place in netplan.toml) and lets a warning through. A refusal's fixes
/// are applied and must fix it (`fixes_fix`).
fn expect(
    fixture: &str,
    edit: impl Fn(&str) -> String,
    level: Severity,
    component: &str,
    text: &str,
) {
    let original = std::fs::read_to_string(repo().join(fixture).join("netplan.toml")).unwrap();
    let edited = edit(&original);
    let c = load_edited(fixture, &edit);
    let f = findings(&c);
    assert!(
        f.iter()
            .any(|(l, comp, m)| *l == level && comp == component && m.contains(text)),
        "want {level:?} on {component} ({text}), got {f:#?}"
    );
    match ops::gate(&c) {
        Err(d) => {
            assert_eq!(level, Severity::Error, "the gate refused a warning: {d}");
            let e = d.errors().next().expect("an error");
            let at = e.location.as_ref().expect("the error has a place");
            assert!(at.to_string().contains("netplan.toml:"), "{at}");
            fixes_fix(fixture, &edited);
        }
        Ok(w) => {
            assert_ne!(
                level,
                Severity::Error,
                "the gate let an unreachable function through"
            );
            assert!(w.0.iter().any(|d| d.message.contains(text)), "{w}");
        }
    }
}

#[test]
fn intact_examples_reach_the_internet_with_the_path_as_evidence() {
    for fixture in [HL, LL, "examples/existing-vpc"] {
        let dir = repo().join(fixture);
        let c = config::load(&dir.join("netplan.toml"), &LoadOptions::default()).unwrap();
        let f = findings(&c);
        assert!(
            f.iter().all(|(l, _, _)| *l == Severity::Info),
            "{fixture}: {f:?}"
        );
        assert!(ops::gate(&c).is_ok());
    }
    let c = config::load(
        &repo().join(HL).join("netplan.toml"),
        &LoadOptions::default(),
    )
    .unwrap();
    let hops: Vec<String> = reach::check(&c)
        .into_iter()
        .flat_map(|v| v.paths)
        .map(|p| p.hops.join(" → "))
        .collect();
    assert!(hops.iter().any(|h| h == "subnet.main_private_a → route_table.main_private_a → 0.0.0.0/0 → nat_gateway.main_a in subnet.main_public_a → route_table.main_public → 0.0.0.0/0 → internet_gateway.main (attached)"), "{hops:#?}");
    assert!(hops.iter().any(|h| h == "subnet.main_private_a → route_table.main_private_a → ::/0 → egress_only_internet_gateway.main (egress-only)"), "{hops:#?}");
}

// --- high-level form ---------------------------------------------------------------------------

#[test]
fn hl_no_nat_gateway() {
    expect(
        HL,
        |t| t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\""),
        Severity::Error,
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
        Severity::Error,
        "subnet.main_private_a",
        "has no IPv6 block",
    );
}

#[test]
fn hl_dual_stack_without_egress_only_gateway() {
    expect(
        HL,
        |t| t.replace("egress_only_igw = true", "egress_only_igw = false"),
        Severity::Error,
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
        Severity::Warning,
        "lambda_function.probe",
        "one availability zone",
    );
}

#[test]
fn hl_single_nat_serving_another_az_is_a_warning() {
    expect(
        HL,
        |t| t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\""),
        Severity::Warning,
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
        Severity::Error,
        "iam_role.bare",
        "network interfaces",
    );
}

#[test]
fn hl_internet_false_states_the_intent() {
    let c = load_edited(HL, |t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
            .replace("egress_only_igw = true", "egress_only_igw = false")
            .replace(
                "ipv6_dual_stack = true",
                "ipv6_dual_stack = true\ninternet = false",
            )
    });
    assert!(findings(&c).iter().all(|(l, _, _)| *l != Severity::Error));
    assert!(ops::gate(&c).is_ok(), "the gate lets it through");
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
        Severity::Error,
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
        Severity::Error,
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
        Severity::Error,
        "nat_gateway.a",
        "not public",
    );
}

#[test]
fn ll_subnet_without_route_table_uses_the_empty_main_table() {
    expect(
        LL,
        |t| t.replace("subnets = [\"subnet.private_a\"]\n", "subnets = []\n"),
        Severity::Error,
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
        Severity::Error,
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
        Severity::Error,
        "security_group.lambda",
        "HTTPS",
    );
}

#[test]
fn ll_dual_stack_subnet_without_ipv6_block() {
    expect(
        LL,
        |t| t.replace("ipv6_index = 128\n", ""),
        Severity::Error,
        "subnet.private_a",
        "no IPv6 block",
    );
}

#[test]
fn ll_ipv6_default_route_to_nothing() {
    expect(
        LL,
        |t| {
            t.replace("  { destination = \"::/0\",      target = \"egress_only_internet_gateway.main\" },\n]\n\n[route_table.private_b]", "]\n\n[route_table.private_b]")
        },
        Severity::Error,
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
        Severity::Error,
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
        Severity::Warning,
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
        Severity::Error,
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
        Severity::Error,
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
        Severity::Error,
        "network_acl.private",
        "rule 50 denies it",
    );
}

#[test]
fn ll_network_acl_that_allows_request_and_reply_for_both_families_passes() {
    let c = load_edited(LL, |t| {
        with_acl(
            t,
            "{ rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" }, { rule = 101, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"::/0\", action = \"allow\" }",
            "{ rule = 100, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"0.0.0.0/0\", action = \"allow\" }, { rule = 101, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"::/0\", action = \"allow\" }",
        )
    });
    let f = findings(&c);
    assert!(f.iter().all(|(l, _, _)| *l == Severity::Info), "{f:#?}");
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
        Severity::Error,
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
        Severity::Error,
        "vpc.main",
        "DNS resolution off",
    );
}

// --- NAT instances and IPv6-only egress (issue 11) ------------------------------------------------

/// The low-level fixture with NAT instance `a` (allowing `allow_from`) in place of NAT gateway `a`.
fn with_nat_instance(t: &str, extra: &str) -> String {
    t.replace(
        "[nat_gateway.a]\nsubnet = \"subnet.public_a\"\n",
        &format!("[nat_instance.a]\nsubnet = \"subnet.public_a\"\n{extra}"),
    )
    .replace(
        "{ destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" }",
        "{ destination = \"0.0.0.0/0\", target = \"nat_instance.a\" }",
    )
}

#[test]
fn hl_nat_instances_reach_the_internet_through_the_instance() {
    let c = load_edited(HL, |t| {
        t.replace(
            "nat_gateways = \"per_az\"",
            "nat_gateways = \"per_az\"\nnat_type = \"instance\"",
        )
    });
    assert_eq!(c.of_kind(netplan_engine::Kind::NatGateway).count(), 0);
    assert_eq!(c.of_kind(netplan_engine::Kind::NatInstance).count(), 2);
    let f = findings(&c);
    assert!(f.iter().all(|(l, _, _)| *l == Severity::Info), "{f:#?}");
    let hops: Vec<String> = reach::check(&c)
        .into_iter()
        .flat_map(|v| v.paths)
        .map(|p| p.hops.join(" → "))
        .collect();
    assert!(hops.iter().any(|h| h == "subnet.main_private_a → route_table.main_private_a → 0.0.0.0/0 → nat_instance.main_a in subnet.main_public_a → route_table.main_public → 0.0.0.0/0 → internet_gateway.main (attached)"), "{hops:#?}");
}

#[test]
fn ll_nat_instance_that_admits_the_subnet_passes() {
    let c = load_edited(LL, |t| {
        with_nat_instance(t, "allow_from = [\"subnet.private_a\"]\n")
    });
    let f = findings(&c);
    assert!(f.iter().all(|(l, _, _)| *l == Severity::Info), "{f:#?}");
}

#[test]
fn ll_nat_instance_with_its_source_dest_check_on() {
    expect(
        LL,
        |t| {
            with_nat_instance(
                t,
                "allow_from = [\"subnet.private_a\"]\nsource_dest_check = true\n",
            )
        },
        Severity::Error,
        "nat_instance.a",
        "source/destination check on",
    );
}

#[test]
fn ll_nat_instance_whose_group_does_not_admit_the_function() {
    expect(
        LL,
        |t| with_nat_instance(t, "allow_from = [\"10.0.144.0/20\"]\n"),
        Severity::Error,
        "nat_instance.a",
        "does not admit subnet.private_a (10.0.128.0/20)",
    );
}

#[test]
fn ll_nat_instance_in_a_private_subnet() {
    expect(
        LL,
        |t| {
            with_nat_instance(t, "allow_from = [\"10.0.0.0/16\"]\n").replace(
                "[nat_instance.a]\nsubnet = \"subnet.public_a\"",
                "[nat_instance.a]\nsubnet = \"subnet.private_b\"",
            )
        },
        Severity::Error,
        "nat_instance.a",
        "which is not public",
    );
}

#[test]
fn ll_nat_instance_route_for_ipv6_is_refused() {
    let dir = repo().join(LL);
    let text = std::fs::read_to_string(dir.join("netplan.toml")).unwrap();
    let edited = with_nat_instance(&text, "allow_from = [\"subnet.private_a\"]\n").replace(
        "{ destination = \"::/0\",      target = \"egress_only_internet_gateway.main\" },\n]\n\n[route_table.private_b]",
        "{ destination = \"::/0\", target = \"nat_instance.a\" },\n]\n\n[route_table.private_b]",
    );
    let d = config::load_str("t.toml", &edited, &dir, &LoadOptions::default()).unwrap_err();
    assert!(
        d.to_string().contains("a NAT instance carries IPv4 only"),
        "{d}"
    );
}

#[test]
fn live_nat_instance_stopped_or_without_a_public_address_is_named() {
    use netplan_engine::live::overlay;
    use netplan_engine::provider::{Discovered, ObjectState};
    use netplan_engine::state::State;
    use netplan_engine::Kind;
    let o = |kind: Kind, id: &str, attrs: serde_json::Value| {
        let serde_json::Value::Object(attrs) = attrs else {
            unreachable!()
        };
        (kind, ObjectState::new(id, attrs.into_iter().collect()))
    };
    let c = config::load_str(
        "t.toml",
        "[stack]\nname = \"t\"\nregion = \"us-east-1\"\n",
        std::path::Path::new("."),
        &LoadOptions::default(),
    )
    .unwrap();
    let account = |instance: serde_json::Value| Discovered {
        objects: vec![
            o(
                Kind::Vpc,
                "vpc-1",
                serde_json::json!({ "cidr": "10.0.0.0/16" }),
            ),
            o(
                Kind::Subnet,
                "subnet-pub",
                serde_json::json!({ "vpc": "vpc-1", "cidr": "10.0.0.0/24", "az": "us-east-1a" }),
            ),
            o(
                Kind::Subnet,
                "subnet-priv",
                serde_json::json!({ "vpc": "vpc-1", "cidr": "10.0.1.0/24", "az": "us-east-1a" }),
            ),
            o(
                Kind::InternetGateway,
                "igw-1",
                serde_json::json!({ "vpc": "vpc-1" }),
            ),
            o(
                Kind::RouteTable,
                "rtb-pub",
                serde_json::json!({ "vpc": "vpc-1", "subnets": ["subnet-pub"], "routes": [{ "destination": "0.0.0.0/0", "target": "igw-1" }] }),
            ),
            o(
                Kind::RouteTable,
                "rtb-priv",
                serde_json::json!({ "vpc": "vpc-1", "subnets": ["subnet-priv"], "routes": [{ "destination": "0.0.0.0/0", "target": "eni-9" }] }),
            ),
            o(Kind::NatInstance, "i-1", instance),
            o(
                Kind::SecurityGroup,
                "sg-1",
                serde_json::json!({ "vpc": "vpc-1", "egress": [{ "protocol": "all", "cidr": "0.0.0.0/0" }] }),
            ),
            o(
                Kind::LambdaFunction,
                "f",
                serde_json::json!({ "subnets": ["subnet-priv"], "security_groups": ["sg-1"] }),
            ),
        ],
    };
    let verdict = |instance: serde_json::Value| {
        let model = overlay(&c, &State::new("t"), &account(instance));
        let v = reach::check(&model);
        assert_eq!(v.len(), 1);
        v.into_iter().next().unwrap()
    };
    let healthy = serde_json::json!({ "subnet": "subnet-pub", "eni": "eni-9", "state": "running", "source_dest_check": false, "allow_from": ["10.0.1.0/24"], "public_ip": "3.3.3.3" });
    let v = verdict(healthy.clone());
    assert!(!v.blocked(), "{v:#?}");
    assert!(
        v.paths[0]
            .hops
            .join(" → ")
            .contains("nat_instance.i_1 in subnet.subnet_pub"),
        "{v:#?}"
    );

    for (change, component_says) in [
        (
            serde_json::json!({ "state": "stopped" }),
            "is stopped, not running",
        ),
        (
            serde_json::json!({ "public_ip": null }),
            "no public IPv4 address",
        ),
        (
            serde_json::json!({ "source_dest_check": true }),
            "--no-source-dest-check",
        ),
        (
            serde_json::json!({ "allow_from": ["10.0.9.0/24"] }),
            "does not admit",
        ),
    ] {
        let mut broken = healthy.clone();
        for (k, v) in change.as_object().unwrap() {
            if v.is_null() {
                broken.as_object_mut().unwrap().remove(k);
            } else {
                broken[k] = v.clone();
            }
        }
        let v = verdict(broken);
        assert!(v.blocked(), "{change}: {v:#?}");
        assert!(
            v.findings
                .iter()
                .any(|f| f.component.to_string() == "nat_instance.i_1"
                    && (f.message.contains(component_says)
                        || f.fix.as_deref().unwrap_or("").contains(component_says))),
            "{change}: {:#?}",
            v.findings
        );
    }
}

#[test]
fn hl_ipv6_only_functions_need_no_nat() {
    let c = load_edited(HL, |t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
            .replace(
                "ipv6_dual_stack = true\nenvironment",
                "internet = \"ipv6\"\nenvironment",
            )
            .replace(
                "timeout = 10\nipv6_dual_stack = true\n",
                "timeout = 10\ninternet = \"ipv6\"\n",
            )
    });
    let verdicts = reach::check(&c);
    assert_eq!(verdicts.len(), 2);
    for v in &verdicts {
        assert!(v.ipv6_only && !v.blocked(), "{v:#?}");
        assert_eq!(v.ipv6, Some(true));
        assert!(v.paths.iter().all(|p| p.family == "IPv6"));
        assert!(v.findings.iter().any(|f| f
            .message
            .contains("IPv4 destinations are not reachable, by design")));
    }
    assert!(ops::gate(&c).is_ok());
}

#[test]
fn hl_ipv6_only_without_dual_stack_is_refused_with_the_fix() {
    expect(
        HL,
        |t| {
            t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
                .replace(
                    "ipv6_dual_stack = true\nenvironment",
                    "ipv6_dual_stack = false\ninternet = \"ipv6\"\nenvironment",
                )
        },
        Severity::Error,
        "lambda_function.probe",
        "needs a dual-stack function",
    );
    // A network without IPv6: the function cannot be dual-stack.
    expect(
        HL,
        |t| {
            t.replace("ipv6 = true\n", "ipv6 = false\n")
                .replace("egress_only_igw = true", "egress_only_igw = false")
                .replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
                .replace("ipv6_dual_stack = true\n", "internet = \"ipv6\"\n")
        },
        Severity::Error,
        "lambda_function.probe",
        "needs a dual-stack function",
    );
}
