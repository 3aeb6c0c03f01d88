//! `netplan check` through the binary: the text report shows each path as evidence; `--live` on the
//! fake cloud agrees with the static verdict and sees what changed out of band; and the reachability
//! gate is on every path that creates something — validate (text and JSON), plan, apply from a config
//! and from a saved plan — each refusing the same broken config. (The model's rules are tested in the
//! engine: engine/tests/it/reach.rs.)

use super::support::*;

#[test]
fn check_prints_each_path_as_evidence() {
    let out = netplan(&repo().join("examples/lambda-internet"), &["check"], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("subnet.main_private_a → route_table.main_private_a → 0.0.0.0/0 → nat_gateway.main_a in subnet.main_public_a → route_table.main_public → 0.0.0.0/0 → internet_gateway.main (attached)"), "{}", stdout(&out));
}

#[test]
fn live_check_on_the_fake_cloud_agrees_with_the_static_one() {
    let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
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

/// The seed without NAT gateways: one diagnostic for the one cause (not one per function and subnet),
/// at the `nat_gateways` line, whose fixes are written in the network's own keys — each, pasted in,
/// gives a config that validates and that `check` passes; `check` says which family is blocked.
#[test]
fn the_seed_without_nat_gets_one_diagnostic_whose_fixes_fix() {
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let cfg = tmp.path().join("netplan.toml");
    let good = std::fs::read_to_string(&cfg).unwrap();
    let broken = good.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"");
    std::fs::write(&cfg, &broken).unwrap();
    let out = netplan(tmp.path(), &["validate", "--json"], None);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<&serde_json::Value> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert_eq!(errors.len(), 1, "one cause, one diagnostic: {errors:#?}");
    let d = errors[0];
    let line = broken
        .lines()
        .position(|l| l.starts_with("nat_gateways"))
        .unwrap()
        + 1;
    assert_eq!(d["location"]["line"], line, "at the nat_gateways line: {d}");
    let message = d["message"].as_str().unwrap();
    assert!(
        message.contains("lambda_function.probe and lambda_function.probe_node")
            && message.contains("nat_gateways = \"none\""),
        "{message}"
    );
    let fixes: Vec<netplan_engine::fix::Fix> = serde_json::from_value(d["fixes"].clone()).unwrap();
    let shown: Vec<String> = fixes.iter().map(|f| f.to_string()).collect();
    assert_eq!(
        shown[..2],
        [
            "in [network.main]: nat_gateways = \"per_az\"",
            "in [network.main]: nat_gateways = \"single\""
        ],
        "{shown:?}"
    );
    assert!(
        shown[2].contains("in [function.probe]: internet = \"ipv6\"")
            && shown[2].contains("in [function.probe_node]: internet = \"ipv6\""),
        "{shown:?}"
    );
    for fix in &fixes {
        std::fs::write(&cfg, netplan_engine::fix::apply(&broken, fix).unwrap()).unwrap();
        for command in ["validate", "check"] {
            let out = netplan(tmp.path(), &[command], None);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{command} after `{fix}`:\n{}{}",
                stdout(&out),
                stderr(&out)
            );
        }
    }
    std::fs::write(&cfg, &broken).unwrap();
    let out = netplan(tmp.path(), &["check"], None);
    let text = stdout(&out);
    assert!(
        text.contains("0 reach the internet, 2 blocked over IPv4 (their IPv6 path is open"),
        "{text}"
    );
    // The human form says each cause once too.
    let out = netplan(tmp.path(), &["validate"], None);
    assert!(stderr(&out).contains("1 error found"), "{}", stderr(&out));
}
