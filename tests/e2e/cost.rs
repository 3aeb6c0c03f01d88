//! Issue 11 through the binary: the cost in every plan (text and JSON), `netplan cost` comparing the
//! four designs, and the cheaper designs applied end to end on the fake cloud — NAT instances (apply,
//! no-op plan, check through the instance, destroy leaves nothing) and IPv6-only egress.

use super::support::*;

fn seed_with(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, edit(&text)).unwrap();
    tmp
}

#[test]
fn the_seed_plan_ends_with_its_monthly_cost_itemised() {
    let tmp = seed_with(|t| t.to_string());
    let out = netplan(tmp.path(), &["plan", "--refresh=false"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "Monthly cost (us-east-1, list prices of",
        "NAT gateways",
        "$65.70   2 × 730 h × $0.045/h",
        "public IPv4 addresses (Elastic IPs)",
        "$7.30",
        "+ $0.045 per GB processed by NAT gateways",
        "the 2 Lambda functions are priced by use",
        "Total: $73.00/month (this plan: +$73.00/month)",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    let out = netplan(tmp.path(), &["plan", "--refresh=false", "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["cost"]["after"]["monthly"], serde_json::json!(73.0));
    assert_eq!(json["cost"]["change"], serde_json::json!(73.0));
    assert_eq!(
        json["cost"]["after"]["lines"][0]["how"],
        "2 × 730 h × $0.045/h"
    );
    assert_eq!(json["cost"]["after"]["region"], "us-east-1");

    // One NAT gateway: half the NAT line. Tokyo: its own prices.
    let single = seed_with(|t| t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"single\""));
    let text = stdout(&netplan(single.path(), &["plan", "--refresh=false"], None));
    assert!(
        text.contains("NAT gateway ") && text.contains("$32.85   1 × 730 h × $0.045/h"),
        "{text}"
    );
    assert!(text.contains("Total: $36.50/month"), "{text}");
    let tokyo = seed_with(|t| t.replace("region = \"us-east-1\"", "region = \"ap-northeast-1\""));
    let text = stdout(&netplan(tokyo.path(), &["plan", "--refresh=false"], None));
    assert!(text.contains("$90.52   2 × 730 h × $0.062/h"), "{text}");
}

#[test]
fn apply_records_the_cost_and_the_no_op_plan_says_it_in_one_line() {
    let tmp = seed_with(|t| t.to_string());
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = netplan(tmp.path(), &["plan"], Some(&cloud));
    assert!(stdout(&out).contains("No changes."), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("Cost: $73.00/month (us-east-1;"),
        "{}",
        stdout(&out)
    );
    // Destroying it saves what it cost: said as what stops costing, and each object once.
    let out = netplan(tmp.path(), &["plan", "--destroy"], Some(&cloud));
    let text = stdout(&out);
    assert!(
        text.contains("What stops costing")
            && text.contains("Stops costing: $73.00/month (after it: $0.00/month)"),
        "{text}"
    );
    for addr in ["vpc.main", "nat_gateway.main_a", "lambda_function.probe"] {
        assert_eq!(
            text.matches(&format!(" {addr} (")).count(),
            1,
            "{addr} once:\n{text}"
        );
    }
    // In Markdown, the per-GB notes are not lines the diff adds.
    let out = netplan(
        tmp.path(),
        &["plan", "--format", "markdown", "--destroy"],
        Some(&cloud),
    );
    let md = stdout(&out);
    let diff = &md[md.find("```diff").unwrap()..];
    let diff = &diff[..diff[7..].find("```").unwrap() + 7];
    assert!(!diff.contains("per GB"), "{diff}");
}

#[test]
fn netplan_cost_prints_the_four_designs_priced_and_checked() {
    let tmp = seed_with(|t| t.to_string());
    let out = netplan(tmp.path(), &["cost"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for want in [
        "NAT gateway per AZ (now)",
        "$73.00/month",
        "one NAT gateway",
        "$36.50/month",
        "NAT instance per AZ",
        "$14.71/month",
        "IPv6 only (no NAT)",
        "$0.00/month",
        "gives up: IPv4 reach",
        "gives up: AZ independence",
    ] {
        assert!(text.contains(want), "missing {want:?}:\n{text}");
    }
    assert_eq!(
        text.matches("✓ check: 2 functions reach the internet")
            .count(),
        4,
        "{text}"
    );
    let out = netplan(tmp.path(), &["cost", "--json"], None);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let designs = json["designs"].as_array().unwrap();
    assert_eq!(designs.len(), 4);
    assert_eq!(designs[2]["design"], "nat_instances");
    assert_eq!(designs[2]["fits"]["reaches"], true);
    // With traffic estimated, the per-GB charges count (and NAT instances process for free).
    let busy = seed_with(|t| t.replace("[stack]\n", "[stack]\negress_gb_per_month = 1000\n"));
    let text = stdout(&netplan(busy.path(), &["cost"], None));
    assert!(
        text.contains("1000 GB processed by NAT gateways") && text.contains("$45.00"),
        "{text}"
    );
}

#[test]
fn nat_instances_apply_check_plan_clean_and_destroy_on_the_fake_cloud() {
    let tmp = seed_with(|t| {
        t.replace(
            "nat_gateways = \"per_az\"",
            "nat_gateways = \"per_az\"\nnat_type = \"instance\"\nnat_instance_type = \"t4g.micro\"",
        )
    });
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("netplan.state.json")).unwrap())
            .unwrap();
    let nat = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "nat_instance.main_a")
        .expect("the NAT instance is in the state");
    assert_eq!(nat["attributes"]["instance_type"], "t4g.micro");
    assert_eq!(nat["attributes"]["source_dest_check"], false);
    let eni = nat["attributes"]["eni"].as_str().unwrap().to_string();
    let table = state["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["address"] == "route_table.main_private_a")
        .unwrap();
    assert!(
        table["attributes"]["routes"].to_string().contains(&eni),
        "{table}"
    );
    let out = netplan(tmp.path(), &["plan", "--detailed-exitcode"], Some(&cloud));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = netplan(tmp.path(), &["check"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("nat_instance.main_a in subnet.main_public_a"),
        "{}",
        stdout(&out)
    );
    let out = netplan(tmp.path(), &["destroy", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let left: serde_json::Value = serde_json::from_slice(&std::fs::read(&cloud).unwrap()).unwrap();
    assert_eq!(
        left["objects"].as_object().map(|o| o.len()),
        Some(0),
        "{left}"
    );
}

#[test]
fn ipv6_only_functions_apply_without_nat_and_a_non_dual_stack_one_is_refused() {
    let tmp = seed_with(|t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
            .replace("ipv6_dual_stack = true", "internet = \"ipv6\"")
    });
    let out = netplan(tmp.path(), &["validate"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cloud = tmp.path().join("cloud.json");
    let out = netplan(tmp.path(), &["apply", "--auto-approve"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = netplan(tmp.path(), &["check"], Some(&cloud));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("(internet = \"ipv6\")") && text.contains("IPv6: reaches the internet"),
        "{text}"
    );
    assert!(
        text.contains("IPv4 destinations are not reachable, by design"),
        "{text}"
    );
    assert!(!text.contains("nat_"), "{text}");

    let bad = seed_with(|t| {
        t.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"")
            .replace(
                "ipv6_dual_stack = true",
                "ipv6_dual_stack = false\ninternet = \"ipv6\"",
            )
    });
    let out = netplan(bad.path(), &["validate"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("needs a dual-stack function") && err.contains("ipv6_dual_stack = true"),
        "{err}"
    );
}
