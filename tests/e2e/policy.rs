//! `netplan policy` (issue 18.5): enough, and only just. moto with its IAM access control on
//! (`INITIAL_NO_AUTH_ACTION_COUNT`): a user holding exactly the printed policy applies and destroys
//! the seed; with one action taken out, the run stops at that call, names the action and who was
//! denied, and leaves nothing behind.
//!
//! moto 5.2.1 matches actions, not resources or conditions (it checks every call against `*`), so the
//! test uses `netplan policy --unscoped` (the same actions, every resource `*`); and it does not
//! enforce Lambda's actions at all (measured: a user allowed only lambda:GetFunction may
//! ListFunctions; and a Lambda GET with a query string signed by the Rust SDK fails its signature check
//! with a bare 403) — so the test's config has no function: EC2, IAM, Service Quotas and STS are
//! enforced, and tested here. Its signature check
//! also re-encodes form bodies (a space becomes `+`), so a request carrying a space fails as
//! "AuthFailure" whatever the policy: the test's config (the seed in low-level form) writes its
//! security group's description without one.
//!
//! `NETPLAN_POLICY_REMOVE` (default: a sample) — `all` takes out each action of the policy in turn
//! (the soak: every one must be needed, or its absence said as an account that could not be read;
//! what moto does not need that AWS does — a new group's IPv6 egress rule, which moto adds by itself —
//! is listed there).

use super::moto::Moto;
use super::support::*;
use std::path::Path;
use std::process::Command;

/// An IAM user holding `policy`, made while moto still lets the first calls through; its keys.
fn user(moto: &Moto, name: &str, policy: &serde_json::Value) -> (String, String) {
    let out = moto
        .py(&format!(
            "iam.create_user(UserName='{name}')\niam.put_user_policy(UserName='{name}', PolicyName='netplan', PolicyDocument=json.dumps(json.loads({:?})))\nk=iam.create_access_key(UserName='{name}')['AccessKey']\nprint(k['AccessKeyId'], k['SecretAccessKey'])",
            policy.to_string()
        ))
        .expect("the user is made");
    let mut parts = out.split_whitespace();
    (
        parts.next().unwrap().to_string(),
        parts.next().unwrap().to_string(),
    )
}

fn as_user(dir: &Path, args: &[&str], port: u16, keys: &(String, String)) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("NETPLAN_FAKE_CLOUD")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", &keys.0)
        .env("AWS_SECRET_ACCESS_KEY", &keys.1)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .unwrap()
}

/// What the admin sees: objects tagged with the stack (moto answers the admin's keys).
fn left(moto: &Moto, admin: &(String, String)) -> String {
    let script = format!(
        "import boto3\nkw=dict(endpoint_url='http://127.0.0.1:{}', region_name='us-east-1', aws_access_key_id='{}', aws_secret_access_key='{}')\nec2=boto3.client('ec2', **kw); iam=boto3.client('iam', **kw)\nn=[v['VpcId'] for v in ec2.describe_vpcs()['Vpcs'] if any(t['Key']=='netplan:stack' for t in v.get('Tags') or [])]\nn+=[a['AllocationId'] for a in ec2.describe_addresses()['Addresses']]\nn+=[r['RoleName'] for r in iam.list_roles(PathPrefix='/netplan/')['Roles']]\nprint(' '.join(n))",
        moto.port, admin.0, admin.1
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn without(policy: &serde_json::Value, action: &str) -> serde_json::Value {
    let mut p = policy.clone();
    for st in p["Statement"].as_array_mut().unwrap() {
        if let Some(list) = st["Action"].as_array_mut() {
            list.retain(|a| a != action);
        }
    }
    p
}

#[test]
fn the_printed_policy_is_enough_and_each_action_it_names_is_needed() {
    let fixture = || {
        let tmp = copy_dir(&repo().join("tests/fixtures/lowlevel"));
        let cfg = tmp.path().join("netplan.toml");
        let text = std::fs::read_to_string(&cfg).unwrap();
        let text = text.replace(
            "description = \"outbound only\"",
            "description = \"outbound-only\"",
        );
        let no_function = &text[..text
            .find("[lambda_function.probe]")
            .expect("the fixture's function")];
        std::fs::write(&cfg, no_function).unwrap();
        tmp
    };
    let tmp = fixture();
    let dir = tmp.path();
    let printed = netplan(dir, &["policy", "--unscoped", "--json"], None);
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    let policy: serde_json::Value = serde_json::from_slice(&printed.stdout).unwrap();
    let actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    // Taken out one at a time (moto enforces these services).
    let sample = [
        "ec2:CreateNatGateway",
        "iam:CreateRole",
        "ec2:CreateRouteTable",
        "ec2:CreateSubnet",
    ];
    let removals: Vec<String> = match std::env::var("NETPLAN_POLICY_REMOVE").as_deref() {
        Ok("all") => actions
            .iter()
            .filter(|a| !a.starts_with("lambda:") && *a != "sts:GetCallerIdentity")
            .cloned()
            .collect(),
        _ => sample.iter().map(|s| s.to_string()).collect(),
    };
    // Three calls per user while moto lets calls through unchecked: the admin, the deployer, and one
    // user per action taken out.
    let users = 2 + removals.len();
    let moto = Moto::start_env(&[("INITIAL_NO_AUTH_ACTION_COUNT", &(3 * users).to_string())]);
    let admin = user(
        &moto,
        "admin",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
    );
    let deployer = user(&moto, "deployer", &policy);
    let lacking: Vec<(String, (String, String))> = removals
        .iter()
        .enumerate()
        .map(|(i, a)| {
            (
                a.clone(),
                user(&moto, &format!("lacks{i}"), &without(&policy, a)),
            )
        })
        .collect();

    // Enough: apply, a clean plan, destroy.
    let out = as_user(dir, &["apply", "--auto-approve"], moto.port, &deployer);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("could not be read"),
        "the account is read: {}",
        stderr(&out)
    );
    let out = as_user(dir, &["plan", "--detailed-exitcode"], moto.port, &deployer);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let out = as_user(dir, &["destroy", "--auto-approve"], moto.port, &deployer);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(left(&moto, &admin), "", "destroy left nothing");

    // Only just: each action taken out stops the run at its call, named, with nothing left.
    let mut problems = vec![];
    for (action, keys) in &lacking {
        let run = fixture();
        let out = as_user(run.path(), &["apply", "--auto-approve"], moto.port, keys);
        let err = stderr(&out).replace('\n', " ");
        if out.status.code() == Some(0) {
            if !err.contains("could not be read") {
                problems.push(format!("{action}: the run did not need it"));
            }
            let _ = as_user(
                run.path(),
                &["destroy", "--auto-approve"],
                moto.port,
                &deployer,
            );
            continue;
        }
        if !err.contains(&format!("{action} was denied")) || !err.contains("netplan policy") {
            problems.push(format!("{action}: the denial is not named: {err}"));
        }
        if !err.contains("user/lacks") {
            problems.push(format!("{action}: who was denied is not said: {err}"));
        }
        let remains = left(&moto, &admin);
        if !remains.is_empty() {
            problems.push(format!("{action}: left {remains}"));
            let _ = as_user(
                run.path(),
                &["destroy", "--auto-approve"],
                moto.port,
                &deployer,
            );
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
