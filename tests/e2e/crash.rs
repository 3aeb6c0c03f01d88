//! The crash harness: SIGKILL the real `netplan apply` at random moments against a fake cloud kept in a
//! file, then check that no object is untracked (every object in the cloud is in the state, or named by
//! a pending create that the next run reconciles), that the next apply converges, and that nothing
//! exists twice. `NETPLAN_CRASH_TRIALS` sets the number of trials (default 100).

use super::support::*;
use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

const SCRIPT: &str = r#"{
  "create_ms": {"vpc": 30, "subnet": 15, "internet_gateway": 20, "egress_only_internet_gateway": 10, "elastic_ip": 10,
                "nat_gateway": 150, "route_table": 15, "vpc_endpoint": 25, "security_group": 10, "iam_role": 10, "lambda_function": 100},
  "delete_ms": {"nat_gateway": 50, "lambda_function": 20}
}"#;

fn cloud_objects(path: &std::path::Path) -> Vec<(String, String)> {
    let Ok(bytes) = std::fs::read(path) else {
        return vec![];
    };
    let v: serde_json::Value =
        serde_json::from_slice(&bytes).expect("the fake cloud file is always whole");
    v["objects"]
        .as_object()
        .unwrap()
        .values()
        .map(|o| {
            (
                o["tags"]["netplan:address"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string(),
                o["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn kill_9_at_random_moments_loses_nothing_and_duplicates_nothing() {
    let trials: u64 = std::env::var("NETPLAN_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let mut untracked = 0;
    let mut duplicates = 0;
    let mut adopted_trials = 0;
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(20 + (seed >> 33) % 450);
        let tmp = copy_dir(&repo().join("examples/lambda-internet"));
        let dir = tmp.path();
        let cloud = dir.join("cloud.json");
        let mut child = Command::new(bin())
            .args(["apply", "--auto-approve"])
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("NETPLAN_FAKE_CLOUD", &cloud)
            .env("NETPLAN_FAKE_SCRIPT", SCRIPT)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();

        // The state is whole (or was never written), and everything in the cloud is accounted for.
        let tracked = Tracked::read(dir);
        let show = netplan(dir, &["show"], Some(&cloud));
        assert_eq!(
            show.status.code(),
            Some(0),
            "trial {trial}: {}",
            stderr(&show)
        );
        for (addr, id) in cloud_objects(&cloud) {
            if !tracked.accounts_for(&addr, &id) {
                untracked += 1;
                eprintln!("trial {trial} ({delay:?}): {addr} {id} is untracked");
            }
        }
        // The next apply converges, adopting what the killed run made.
        let out = netplan(dir, &["apply", "--auto-approve"], Some(&cloud));
        assert_eq!(
            out.status.code(),
            Some(0),
            "trial {trial}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        if stderr(&out).contains("adopted ") {
            adopted_trials += 1;
        }
        let mut by_addr: BTreeMap<String, usize> = BTreeMap::new();
        for (addr, _) in cloud_objects(&cloud) {
            *by_addr.entry(addr).or_default() += 1;
        }
        for (addr, n) in &by_addr {
            if *n > 1 {
                duplicates += 1;
                eprintln!("trial {trial}: {addr} exists {n} times");
            }
        }
        assert_eq!(
            by_addr.len(),
            21,
            "trial {trial}: the seed has 21 objects: {by_addr:?}"
        );
        let plan = netplan(dir, &["plan", "--detailed-exitcode"], Some(&cloud));
        assert_eq!(
            plan.status.code(),
            Some(0),
            "trial {trial}: converged: {}",
            stdout(&plan)
        );
    }
    eprintln!("crash harness: {trials} trials, {untracked} untracked, {duplicates} duplicates, {adopted_trials} trials adopted an object a killed run made");
    assert_eq!(untracked, 0);
    assert_eq!(duplicates, 0);
    assert!(
        adopted_trials > 0 || trials < 20,
        "the kills should sometimes land between a create and its recording"
    );
}
