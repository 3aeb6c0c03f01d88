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
