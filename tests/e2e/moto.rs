//! End-to-end tests of the real binary against a real AWS API: a moto server started on a free
//! loopback port per test (and killed when the test ends). What moto holds is read back with boto3,
//! independently of netplan.

use super::support::*;
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    pub port: u16,
    child: Child,
}

impl Moto {
    pub fn start() -> Moto {
        Moto::start_env(&[])
    }

    /// moto with extra environment variables (its access control: `INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_env(env: &[(&str, &str)]) -> Moto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is installed (pip install 'moto[server]'); .ci/run installs it");
        let m = Moto { port, child };
        let start = Instant::now();
        while m
            .py("import urllib.request; urllib.request.urlopen(f'{E}/moto-api/')")
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        m.py("import urllib.request; urllib.request.urlopen(urllib.request.Request(f'{E}/moto-api/config', data=b'{\"lambda\": {\"use_docker\": false}}', method='POST'))").unwrap();
        m
    }

    /// Runs Python with boto3 clients `ec2`, `iam`, `lam` and the endpoint `E` bound; returns stdout.
    pub fn py(&self, body: &str) -> Result<String, String> {
        let script = format!(
            "import boto3, json\nE='http://127.0.0.1:{}'\nkw=dict(endpoint_url=E, region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\nec2=boto3.client('ec2', **kw); iam=boto3.client('iam', **kw); lam=boto3.client('lambda', **kw)\n{body}\n",
            self.port
        );
        let out = Command::new("python3")
            .arg("-c")
            .arg(script)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// Every object tagged with this stack, by netplan:address (an address listed twice is a duplicate).
    pub fn inventory(&self, stack: &str) -> BTreeMap<String, Vec<String>> {
        let out = self.py(&format!(r#"
S='{stack}'
found=[]
def tagged(tags, oid):
    t={{x['Key']: x['Value'] for x in (tags or [])}}
    part=('#'+t['netplan:part']) if 'netplan:part' in t else ''
    if t.get('netplan:stack')==S: found.append([t.get('netplan:address')+part, oid])
for v in ec2.describe_vpcs()['Vpcs']: tagged(v.get('Tags'), v['VpcId'])
for s in ec2.describe_subnets()['Subnets']: tagged(s.get('Tags'), s['SubnetId'])
for g in ec2.describe_internet_gateways()['InternetGateways']: tagged(g.get('Tags'), g['InternetGatewayId'])
for g in ec2.describe_egress_only_internet_gateways()['EgressOnlyInternetGateways']: tagged(g.get('Tags'), g['EgressOnlyInternetGatewayId'])
for a in ec2.describe_addresses()['Addresses']: tagged(a.get('Tags'), a['AllocationId'])
for n in ec2.describe_nat_gateways()['NatGateways']:
    if n['State'] not in ('deleted', 'deleting'): tagged(n.get('Tags'), n['NatGatewayId'])
for r in ec2.describe_route_tables()['RouteTables']: tagged(r.get('Tags'), r['RouteTableId'])
for e in ec2.describe_vpc_endpoints()['VpcEndpoints']:
    if e['State'].lower() not in ('deleted', 'deleting'): tagged(e.get('Tags'), e['VpcEndpointId'])
for g in ec2.describe_security_groups()['SecurityGroups']: tagged(g.get('Tags'), g['GroupId'])
for a in ec2.describe_network_acls()['NetworkAcls']: tagged(a.get('Tags'), a['NetworkAclId'])
for r in ec2.describe_instances()['Reservations']:
    for i in r['Instances']:
        if i['State']['Name'] not in ('terminated', 'shutting-down'): tagged(i.get('Tags'), i['InstanceId'])
for r in iam.list_roles()['Roles']: tagged(iam.list_role_tags(RoleName=r['RoleName'])['Tags'], r['RoleName'])
for f in lam.list_functions()['Functions']:
    t=lam.list_tags(Resource=f['FunctionArn']).get('Tags', {{}})
    tagged([{{'Key': k, 'Value': v}} for k, v in t.items()], f['FunctionName'])
print(json.dumps(found))
"#))
        .expect("inventory");
        let pairs: Vec<(String, String)> =
            serde_json::from_str(out.trim()).expect("inventory JSON");
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (a, id) in pairs {
            m.entry(a).or_default().push(id);
        }
        m
    }

    /// Everything in the account that is not moto's own (default VPC and its parts, AWS's managed
    /// policies), tagged or not: what must be empty after a destroy.
    pub fn leftovers(&self) -> Vec<String> {
        let out = self
            .py(r#"
found=[]
all_vpcs=ec2.describe_vpcs()['Vpcs']
default=[v['VpcId'] for v in all_vpcs if v.get('IsDefault')]
found+=[v['VpcId'] for v in all_vpcs if not v.get('IsDefault')]
found+=[s['SubnetId'] for s in ec2.describe_subnets()['Subnets'] if not s.get('DefaultForAz')]
found+=[a['AllocationId'] for a in ec2.describe_addresses()['Addresses']]
found+=[g['InternetGatewayId'] for g in ec2.describe_internet_gateways()['InternetGateways'] if not any(a.get('VpcId') in default for a in g.get('Attachments', []))]
found+=[g['EgressOnlyInternetGatewayId'] for g in ec2.describe_egress_only_internet_gateways()['EgressOnlyInternetGateways']]
found+=[n['NatGatewayId'] for n in ec2.describe_nat_gateways()['NatGateways'] if n['State'] not in ('deleted', 'deleting')]
found+=[e['VpcEndpointId'] for e in ec2.describe_vpc_endpoints()['VpcEndpoints'] if e['State'].lower() not in ('deleted', 'deleting')]
found+=[g['GroupId'] for g in ec2.describe_security_groups()['SecurityGroups'] if g['GroupName'] != 'default']
found+=[i['InstanceId'] for r in ec2.describe_instances()['Reservations'] for i in r['Instances'] if i['State']['Name'] not in ('terminated', 'shutting-down')]
# Interfaces of instances (a NAT instance's, if its termination left it). moto also keeps the
# unattached interfaces its NAT gateways made (even one whose create it refused), which AWS removes
# with the gateway: not netplan's, not counted.
found+=[n['NetworkInterfaceId'] for n in ec2.describe_network_interfaces()['NetworkInterfaces'] if n.get('Attachment')]
found+=[r['RoleName'] for r in iam.list_roles()['Roles']]
found+=[f['FunctionName'] for f in lam.list_functions()['Functions']]
print(json.dumps(found))
"#)
            .expect("leftovers");
        serde_json::from_str(out.trim()).expect("leftovers JSON")
    }

    /// Runs netplan in `dir` against this server and expects exit 0 (`what` names the step on failure).
    pub fn ok(&self, dir: &std::path::Path, args: &[&str], what: &str) {
        ok(&netplan_moto(dir, args, self.port), what);
    }

    pub fn reset(&self) {
        self.py("import urllib.request; urllib.request.urlopen(urllib.request.Request(f'{E}/moto-api/reset', method='POST'))").unwrap();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ok(out: &std::process::Output, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn seed_example_applies_plans_clean_verifies_and_destroys_on_moto() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    let inv = moto.inventory("lambda-egress");
    assert_eq!(inv.len(), 21, "{inv:?}");
    assert!(inv.values().all(|ids| ids.len() == 1), "{inv:?}");
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "plan after apply: no changes",
    );
    let verify = netplan_moto(dir, &["verify"], moto.port);
    ok(&verify, "verify");
    assert!(
        stdout(&verify).contains("status 200") && stdout(&verify).contains("emulator"),
        "{}",
        stdout(&verify)
    );
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
    assert!(
        moto.inventory("lambda-egress").is_empty(),
        "moto holds nothing netplan made"
    );
}

#[test]
fn nat_instances_apply_forward_check_live_repair_and_destroy_on_moto() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "nat_gateways = \"per_az\"",
        "nat_gateways = \"per_az\"\nnat_type = \"instance\"",
    );
    std::fs::write(&cfg, text).unwrap();
    moto.ok(
        dir,
        &["apply", "--auto-approve"],
        "apply with NAT instances",
    );
    let inv = moto.inventory("lambda-egress");
    assert!(inv.values().all(|ids| ids.len() == 1), "{inv:?}");
    assert!(
        inv.contains_key("nat_instance.main_a")
            && inv.contains_key("nat_instance.main_a#security_group"),
        "{inv:?}"
    );
    assert!(
        !inv.keys().any(|k| k.starts_with("nat_gateway.")),
        "{inv:?}"
    );
    // What makes it a NAT, as AWS's API shows it.
    let facts = moto
        .py(r#"
import base64
out=[]
for r in ec2.describe_instances()['Reservations']:
    for i in r['Instances']:
        if i['State']['Name']!='running': continue
        iid=i['InstanceId']
        ud=ec2.describe_instance_attribute(InstanceId=iid, Attribute='userData')['UserData']['Value']
        text=base64.b64decode(ud)
        if b'ip_forward' not in text: text=base64.b64decode(text)
        eip=[a for a in ec2.describe_addresses()['Addresses'] if a.get('InstanceId')==iid]
        gid=(i.get('SecurityGroups') or i['NetworkInterfaces'][0]['Groups'])[0]['GroupId']
        g=ec2.describe_security_groups(GroupIds=[gid])['SecurityGroups'][0]
        ingress=sorted(x['CidrIp'] for p in g['IpPermissions'] for x in p.get('IpRanges', []))
        eni=i['NetworkInterfaces'][0]['NetworkInterfaceId']
        routed=any(rt_r.get('NetworkInterfaceId')==eni and rt_r.get('DestinationCidrBlock')=='0.0.0.0/0' for t in ec2.describe_route_tables()['RouteTables'] for rt_r in t['Routes'])
        out.append([i['SourceDestCheck'], i['MetadataOptions']['HttpTokens'], b'MASQUERADE' in text, len(eip), ingress, routed, i['ImageId'], i['InstanceType']])
print(json.dumps(sorted(out, key=str)))
"#)
        .unwrap();
    let facts: Vec<serde_json::Value> = serde_json::from_str(facts.trim()).unwrap();
    assert_eq!(facts.len(), 2, "{facts:?}");
    for f in &facts {
        assert_eq!(f[0], false, "source/destination check off: {f}");
        assert_eq!(f[1], "required", "IMDSv2: {f}");
        assert_eq!(f[2], true, "user data masquerades: {f}");
        assert_eq!(f[3], 1, "an Elastic IP: {f}");
        assert_eq!(f[5], true, "the private table routes to its interface: {f}");
        assert!(f[6].as_str().unwrap().starts_with("ami-"), "{f}");
        assert_eq!(f[7], "t4g.nano");
    }
    assert!(
        facts
            .iter()
            .any(|f| f[4] == serde_json::json!(["10.0.128.0/20"])),
        "{facts:?}"
    );
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "plan after apply: no changes",
    );
    let live = netplan_moto(dir, &["check", "--live"], moto.port);
    ok(&live, "check --live through the NAT instances");
    assert!(
        stdout(&live).contains("nat_instance.main_a in subnet.main_public_a"),
        "{}",
        stdout(&live)
    );
    // Out of band, one instance's source/destination check goes back on: check --live names it, plan
    // shows the change, apply repairs it.
    moto.py(r#"
for r in ec2.describe_instances()['Reservations']:
    for i in r['Instances']:
        t={x['Key']: x['Value'] for x in i.get('Tags', [])}
        if t.get('netplan:address')=='nat_instance.main_a' and i['State']['Name']=='running':
            ec2.modify_instance_attribute(InstanceId=i['InstanceId'], SourceDestCheck={'Value': True})
"#)
    .unwrap();
    let broken = netplan_moto(dir, &["check", "--live"], moto.port);
    assert_eq!(broken.status.code(), Some(1), "{}", stdout(&broken));
    assert!(
        stdout(&broken).contains("nat_instance.main_a has its source/destination check on"),
        "{}",
        stdout(&broken)
    );
    let plan = netplan_moto(dir, &["plan", "--detailed-exitcode"], moto.port);
    assert_eq!(plan.status.code(), Some(2), "{}", stdout(&plan));
    assert!(
        stdout(&plan).contains("source_dest_check"),
        "{}",
        stdout(&plan)
    );
    moto.ok(dir, &["apply", "--auto-approve"], "apply repairs it");
    ok(
        &netplan_moto(dir, &["check", "--live"], moto.port),
        "check --live after the repair",
    );
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
    let left = moto.leftovers();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn existing_vpc_gets_what_it_lacks_and_is_left_untouched() {
    let moto = Moto::start();
    let ids = moto
        .py(
            r#"
v=ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']
s=[ec2.create_subnet(VpcId=v, CidrBlock=f'10.9.{i}.0/24', AvailabilityZone='us-east-1'+'ab'[i%2])['Subnet']['SubnetId'] for i in range(4)]
print(json.dumps([v]+s))
"#,
        )
        .unwrap();
    let ids: Vec<String> = serde_json::from_str(ids.trim()).unwrap();
    let tmp = copy_dir(&repo().join("examples/existing-vpc"));
    let cfg = tmp.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("vpc-0123456789abcdef0", &ids[0])
        .replace("subnet-0aaaaaaaaaaaaaaa1", &ids[1])
        .replace("subnet-0aaaaaaaaaaaaaaa2", &ids[2])
        .replace("subnet-0bbbbbbbbbbbbbbb1", &ids[3])
        .replace("subnet-0bbbbbbbbbbbbbbb2", &ids[4]);
    std::fs::write(&cfg, text).unwrap();
    let dir = tmp.path();
    let plan = netplan_moto(dir, &["plan"], moto.port);
    ok(&plan, "plan");
    assert!(
        stdout(&plan).contains("5 existing to read"),
        "{}",
        stdout(&plan)
    );
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    moto.ok(dir, &["plan", "--detailed-exitcode"], "plan after apply");
    // The account as built (existing VPC and subnets included) gives the static verdict, path for path.
    let stat = netplan_moto(dir, &["check", "--json"], moto.port);
    ok(&stat, "static check");
    let live = netplan_moto(dir, &["check", "--live", "--json"], moto.port);
    ok(&live, "check --live");
    assert_eq!(verdicts(&live), verdicts(&stat));
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
    assert!(moto.inventory("existing-vpc").is_empty());
    let left = moto.py(&format!("print(len(ec2.describe_vpcs(VpcIds=['{}'])['Vpcs']), len(ec2.describe_subnets(SubnetIds={:?})['Subnets']))", ids[0], &ids[1..])).unwrap();
    assert_eq!(
        left.trim(),
        "1 4",
        "the existing VPC and its subnets are untouched"
    );
}

#[test]
fn drift_is_shown_by_plan_and_repaired_by_apply() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("netplan.state.json")).unwrap()).unwrap();
    let id_of = |addr: &str| {
        state["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == addr)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let (rtb, vpc) = (id_of("route_table.main_private_a"), id_of("vpc.main"));
    let function = id_of("lambda_function.probe");
    let nat = id_of("nat_gateway.main_b");
    // A deleted NAT gateway keeps its Elastic IP associated on moto (AWS releases it): the NAT made
    // again must get the address back.
    moto.py(&format!("ec2.delete_route(RouteTableId='{rtb}', DestinationCidrBlock='0.0.0.0/0'); ec2.create_tags(Resources=['{vpc}'], Tags=[{{'Key': 'owner', 'Value': 'someone-else'}}]); lam.tag_resource(Resource=lam.get_function(FunctionName='{function}')['Configuration']['FunctionArn'], Tags={{'owner': 'someone-else'}}); ec2.delete_nat_gateway(NatGatewayId='{nat}')")).unwrap();
    let plan = netplan_moto(dir, &["plan", "--detailed-exitcode"], moto.port);
    assert_eq!(
        plan.status.code(),
        Some(2),
        "{}{}",
        stdout(&plan),
        stderr(&plan)
    );
    let text = stdout(&plan);
    assert!(
        text.contains("route_table.main_private_a: routes changed"),
        "{text}"
    );
    assert!(text.contains("vpc.main: tags changed"), "{text}");
    assert!(
        text.contains("lambda_function.probe: tags changed"),
        "{text}"
    );
    assert!(text.contains("nat_gateway.main_b was deleted"), "{text}");
    assert!(
        text.contains("~ route_table.main_private_a") && text.contains("~ vpc.main"),
        "{text}"
    );
    moto.ok(dir, &["apply", "--auto-approve"], "repair");
    moto.ok(dir, &["plan", "--detailed-exitcode"], "repaired");
    let routes = moto.py(&format!("print([r.get('NatGatewayId') for r in ec2.describe_route_tables(RouteTableIds=['{rtb}'])['RouteTables'][0]['Routes'] if r.get('DestinationCidrBlock')=='0.0.0.0/0'])")).unwrap();
    assert!(routes.contains("nat-"), "the NAT route is back: {routes}");
}

#[test]
fn a_failure_at_the_last_step_rolls_back_to_exactly_what_was_there() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "[function.probe_node]\nnetwork",
        "[function.probe_node]\nrole = \"arn:aws:iam::123456789012:role/does-not-exist\"\nnetwork",
    );
    std::fs::write(&cfg, text).unwrap();
    let before = moto.inventory("lambda-egress");
    let out = netplan_moto(dir, &["apply", "--auto-approve"], moto.port);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("creating lambda_function.probe_node") && err.contains("does not exist"),
        "{err}"
    );
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(
        moto.inventory("lambda-egress"),
        before,
        "moto ends exactly as before"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("netplan.state.json")).unwrap()).unwrap();
    assert_eq!(
        state["resources"],
        serde_json::json!([]),
        "and so does the state"
    );
}

#[test]
fn kill_9_against_moto_loses_nothing_and_duplicates_nothing() {
    let trials: u64 = std::env::var("NETPLAN_MOTO_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    let moto = Moto::start();
    let (mut untracked, mut duplicates, mut adopted) = (0, 0, 0);
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for trial in 0..trials {
        moto.reset();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(50 + (seed >> 33) % 1200);
        let tmp = copy_dir(&repo().join("examples/lambda-internet"));
        let dir = tmp.path();
        let mut child = Command::new(bin())
            .args(["apply", "--auto-approve"])
            .current_dir(dir)
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", moto.port),
            )
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
        let tracked = Tracked::read(dir);
        for (addr, found) in moto.inventory("lambda-egress") {
            for id in found {
                if !tracked.accounts_for(&addr, &id) {
                    untracked += 1;
                    eprintln!("trial {trial} ({delay:?}): {addr} {id} is untracked");
                }
            }
        }
        let out = netplan_moto(dir, &["apply", "--auto-approve"], moto.port);
        ok(&out, &format!("trial {trial}: the next apply converges"));
        if stderr(&out).contains("adopted ") {
            adopted += 1;
        }
        let inv = moto.inventory("lambda-egress");
        for (addr, found) in &inv {
            if found.len() > 1 {
                duplicates += 1;
                eprintln!("trial {trial}: {addr} exists {} times", found.len());
            }
        }
        assert_eq!(inv.len(), 21, "trial {trial}: {inv:?}");
        moto.ok(
            dir,
            &["plan", "--detailed-exitcode"],
            &format!("trial {trial}: converged"),
        );
    }
    eprintln!("moto crash harness: {trials} trials, {untracked} untracked, {duplicates} duplicates, {adopted} adopted");
    assert_eq!((untracked, duplicates), (0, 0));
}

/// (function, IPv4, IPv6, each path's hops and verdict) from `check --json`.
fn verdicts(out: &std::process::Output) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("check --json: {e}\n{}\n{}", stdout(out), stderr(out)));
    json["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            serde_json::json!({
                "function": v["function"], "ipv4": v["ipv4"], "ipv6": v["ipv6"],
                "paths": v["paths"].as_array().unwrap().iter()
                    .map(|p| serde_json::json!([p["family"], p["reaches"], p["hops"]]))
                    .collect::<Vec<_>>(),
            })
        })
        .collect()
}

#[test]
fn check_live_agrees_with_the_static_verdict_for_the_seed_example() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    // Before anything exists, --live is the plan: everything as the config says.
    let before = netplan_moto(dir, &["check", "--live", "--json"], moto.port);
    ok(&before, "check --live before apply");
    let stat = netplan_moto(dir, &["check", "--json"], moto.port);
    ok(&stat, "static check");
    assert_eq!(verdicts(&before), verdicts(&stat));
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    let live = netplan_moto(dir, &["check", "--live", "--json"], moto.port);
    ok(&live, "check --live after apply");
    assert_eq!(
        verdicts(&live),
        verdicts(&stat),
        "the account as built gives the static verdict, path for path"
    );
    // The function as it is attached, found by name alone (no config).
    let name = moto
        .py("print(lam.list_functions()['Functions'][0]['FunctionName'])")
        .unwrap();
    let empty = tempfile::tempdir().unwrap();
    let by_name = netplan_moto(
        empty.path(),
        &[
            "--region",
            "us-east-1",
            "check",
            "--live",
            "--function",
            name.trim(),
            "--json",
        ],
        moto.port,
    );
    ok(&by_name, "check --live --function");
    let v = verdicts(&by_name);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["ipv4"], true, "{v:#?}");
    assert_eq!(v[0]["ipv6"], true, "{v:#?}");
    // Out of band, the NAT route of one private table goes and the VPC's DNS resolution is turned off:
    // --live sees both, the static check cannot.
    moto.py(r#"
for t in ec2.describe_route_tables()['RouteTables']:
    tags={x['Key']: x['Value'] for x in t.get('Tags', [])}
    if tags.get('netplan:address')=='route_table.main_private_a':
        ec2.delete_route(RouteTableId=t['RouteTableId'], DestinationCidrBlock='0.0.0.0/0')
for v in ec2.describe_vpcs()['Vpcs']:
    if {x['Key']: x['Value'] for x in v.get('Tags', [])}.get('netplan:address')=='vpc.main':
        ec2.modify_vpc_attribute(VpcId=v['VpcId'], EnableDnsSupport={'Value': False})
"#)
        .unwrap();
    let drifted = netplan_moto(dir, &["check", "--live"], moto.port);
    assert_eq!(drifted.status.code(), Some(1), "{}", stdout(&drifted));
    assert!(
        stdout(&drifted).contains("route_table.main_private_a has no route to 0.0.0.0/0"),
        "{}",
        stdout(&drifted)
    );
    assert!(
        stdout(&drifted).contains("vpc.main has DNS resolution off"),
        "{}",
        stdout(&drifted)
    );
}

#[test]
fn check_live_finds_what_an_existing_vpc_lacks_and_passes_once_it_is_added() {
    let moto = Moto::start();
    // The seed's path 2: a VPC with an attached internet gateway and two public subnets routed to it,
    // and two private subnets on the main table — no NAT gateway.
    let vpc = moto
        .py(
            r#"
v=ec2.create_vpc(CidrBlock='10.9.0.0/16')['Vpc']['VpcId']
igw=ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']
ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=v)
pub=ec2.create_route_table(VpcId=v)['RouteTable']['RouteTableId']
ec2.create_route(RouteTableId=pub, DestinationCidrBlock='0.0.0.0/0', GatewayId=igw)
for cidr, az, public in [('10.9.0.0/24','us-east-1a',1), ('10.9.1.0/24','us-east-1b',1), ('10.9.10.0/24','us-east-1a',0), ('10.9.11.0/24','us-east-1b',0)]:
    s=ec2.create_subnet(VpcId=v, CidrBlock=cidr, AvailabilityZone=az)['Subnet']['SubnetId']
    if public: ec2.associate_route_table(RouteTableId=pub, SubnetId=s)
print(v)
"#,
        )
        .unwrap();
    let vpc = vpc.trim();
    let snapshot = || {
        moto.py(&format!("print(json.dumps([sorted(s['SubnetId'] for s in ec2.describe_subnets(Filters=[{{'Name':'vpc-id','Values':['{vpc}']}}])['Subnets']), [(r['DestinationCidrBlock'], r.get('GatewayId')) for t in ec2.describe_route_tables(Filters=[{{'Name':'vpc-id','Values':['{vpc}']}}])['RouteTables'] if not t.get('Tags') for r in t['Routes']]]))"))
            .unwrap()
    };
    let untouched = snapshot();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let probe = netplan_moto(
        dir,
        &[
            "--region",
            "us-east-1",
            "check",
            "--live",
            "--vpc",
            vpc,
            "--json",
        ],
        moto.port,
    );
    assert_eq!(probe.status.code(), Some(1), "{}", stderr(&probe));
    let json: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    let messages = json["verdicts"][0]["findings"].to_string();
    assert!(messages.contains("has no route to 0.0.0.0/0"), "{messages}");
    let toml = json["toml"].as_str().unwrap();
    for want in [
        "[nat_gateway.a]",
        "[nat_gateway.b]",
        "[route_table.private_a]",
        "subnet = \"subnet.public_a\"",
        &format!("existing = \"{vpc}\""),
    ] {
        assert!(toml.contains(want), "{want} in:\n{toml}");
    }
    std::fs::write(dir.join("netplan.toml"), toml).unwrap();
    std::fs::create_dir(dir.join("probe")).unwrap();
    std::fs::write(
        dir.join("probe/lambda_function.py"),
        "def lambda_handler(event, context):\n    return 200\n",
    )
    .unwrap();
    moto.ok(dir, &["validate"], "validate");
    moto.ok(
        dir,
        &["apply", "--auto-approve"],
        "apply the suggested TOML",
    );
    let after = netplan_moto(dir, &["check", "--live"], moto.port);
    ok(&after, "check --live after adding what was missing");
    assert!(
        stdout(&after).contains("nat_gateway.a in subnet.public_a"),
        "{}",
        stdout(&after)
    );

    // A network ACL on the private subnets that lets requests out but no replies in: --live names it;
    // adding the reply entry (an update in place) clears it.
    let acl = |ingress: &str| {
        format!("{toml}\n[network_acl.private]\nvpc = \"vpc.main\"\nsubnets = [\"subnet.private_a\", \"subnet.private_b\"]\negress = [{{ rule = 100, protocol = \"tcp\", from_port = 443, to_port = 443, cidr = \"0.0.0.0/0\", action = \"allow\" }}]\ningress = [{ingress}]\n")
    };
    std::fs::write(dir.join("netplan.toml"), acl("")).unwrap();
    moto.ok(dir, &["apply", "--auto-approve"], "apply the ACL");
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "no changes after applying the ACL",
    );
    let blocked = netplan_moto(dir, &["check", "--live"], moto.port);
    assert_eq!(blocked.status.code(), Some(1), "{}", stdout(&blocked));
    assert!(
        stdout(&blocked)
            .contains("network_acl.private (ingress of subnet.private_a) blocks the reply"),
        "{}",
        stdout(&blocked)
    );
    std::fs::write(
        dir.join("netplan.toml"),
        acl("{ rule = 100, protocol = \"tcp\", from_port = 1024, to_port = 65535, cidr = \"0.0.0.0/0\", action = \"allow\" }"),
    )
    .unwrap();
    moto.ok(dir, &["apply", "--auto-approve"], "apply the fixed ACL");
    moto.ok(dir, &["check", "--live"], "check --live with the fixed ACL");
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
    assert_eq!(snapshot(), untouched, "the existing VPC is as it was");
    let left = moto.inventory(&format!("{vpc}-egress"));
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_detached_vpc_policy_is_least_privilege_not_drift() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let edited = text.replace(
        "[function.probe]\n",
        "[function.probe]\ndetach_vpc_policy_after_create = true\n",
    );
    assert_ne!(edited, text);
    std::fs::write(&cfg, edited).unwrap();
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    // Two functions, one role each: only probe's role loses the policy.
    let policies = moto
        .py("print(json.dumps(sorted(len(iam.list_attached_role_policies(RoleName=r['RoleName'])['AttachedPolicies']) for r in iam.list_roles()['Roles'])))")
        .unwrap();
    assert_eq!(
        policies.trim(),
        "[0, 1]",
        "the VPC policy is gone from probe's role once the function is Active"
    );
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "the detached policy is not drift",
    );
    let live = netplan_moto(dir, &["check", "--live"], moto.port);
    ok(&live, "check --live");
    assert!(
        stdout(&live).contains("detach_vpc_policy_after_create"),
        "{}",
        stdout(&live)
    );
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
    assert!(moto.inventory("lambda-egress").is_empty());
}

#[test]
fn remote_state_in_s3_is_locked_written_conditionally_and_backed_up() {
    let moto = Moto::start();
    let s3 = "s3=boto3.client('s3', **kw)\n";
    moto.py(&format!("{s3}s3.create_bucket(Bucket='team-state')"))
        .unwrap();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[stack]\n",
        "[stack]\nstate = \"s3://team-state/lambda-egress/state.json\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    let object = |key: &str| {
        moto.py(&format!("{s3}\ntry:\n    print(s3.get_object(Bucket='team-state', Key='lambda-egress/{key}')['Body'].read().decode())\nexcept s3.exceptions.NoSuchKey:\n    print('NONE')"))
            .unwrap()
    };
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    assert!(!dir.join("netplan.state.json").exists(), "no local state");
    let state: serde_json::Value = serde_json::from_str(&object("state.json")).unwrap();
    assert_eq!(state["resources"].as_array().unwrap().len(), 21);
    assert_eq!(
        object("state.json.lock").trim(),
        "NONE",
        "the lock is released"
    );
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "plan from the remote state: no changes",
    );

    // Another run holds the lock: refused at once, naming it and how to release it.
    let lock = |fields: serde_json::Value| {
        moto.py(&format!("{s3}s3.put_object(Bucket='team-state', Key='lambda-egress/state.json.lock', Body=json.dumps(json.loads({:?})))", fields.to_string())).unwrap();
    };
    lock(
        serde_json::json!({"id": "lock-4242", "pid": 4242, "host": "ci-runner-7", "operation": "apply", "since": "2026-11-25T00:00:00Z"}),
    );
    let refused = netplan_moto(dir, &["destroy", "--auto-approve"], moto.port);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("is locked by netplan pid 4242 on ci-runner-7")
            && stderr(&refused).contains("netplan force-unlock lock-4242"),
        "{}",
        stderr(&refused)
    );
    // plan takes the lock for its read too (or is told not to).
    let plan = netplan_moto(dir, &["plan"], moto.port);
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    moto.ok(dir, &["plan", "--lock=false"], "plan without the lock");
    assert_eq!(
        moto.inventory("lambda-egress").len(),
        21,
        "nothing was touched"
    );

    // The same host name and a dead pid is no proof (containers share host names): refused.
    let here = |key: &str| {
        std::fs::read_to_string(key)
            .map(|s| s.trim().to_string())
            .unwrap()
    };
    let host = here("/proc/sys/kernel/hostname");
    lock(
        serde_json::json!({"id": "lock-old", "pid": u32::MAX - 1, "host": host, "operation": "apply", "since": "2026-11-25T00:00:00Z"}),
    );
    let refused = netplan_moto(dir, &["destroy", "--auto-approve"], moto.port);
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    // Released by its id (a wrong id releases nothing).
    let wrong = netplan_moto(dir, &["force-unlock", "lock-4242", "--force"], moto.port);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        stderr(&wrong).contains("not lock-4242"),
        "{}",
        stderr(&wrong)
    );
    moto.ok(
        dir,
        &["force-unlock", "lock-old", "--force"],
        "force-unlock",
    );
    assert_eq!(object("state.json.lock").trim(), "NONE");

    // A lock whose holder is provably gone (this boot, this pid namespace, no such process) is taken
    // over.
    let ns = std::fs::read_link("/proc/self/ns/pid").unwrap();
    lock(
        serde_json::json!({"id": "lock-dead", "pid": u32::MAX - 1, "host": host, "operation": "apply", "since": "2026-11-25T00:00:00Z", "boot_id": here("/proc/sys/kernel/random/boot_id"), "pid_namespace": ns.to_string_lossy(), "process_start": 1}),
    );
    moto.ok(
        dir,
        &["destroy", "--auto-approve"],
        "destroy over a stale lock",
    );
    assert!(moto.inventory("lambda-egress").is_empty());
    let state: serde_json::Value = serde_json::from_str(&object("state.json")).unwrap();
    assert_eq!(state["resources"].as_array().unwrap().len(), 0);
    let backup: serde_json::Value = serde_json::from_str(&object("state.json.backup")).unwrap();
    assert_eq!(
        backup["resources"].as_array().unwrap().len(),
        21,
        "the backup holds the state before destroy's first write"
    );
    assert_eq!(object("state.json.lock").trim(), "NONE");
}

#[test]
fn s3_state_store_refuses_a_write_over_a_version_it_did_not_read() {
    use netplan_engine::state::store::{StateError, StateStore};
    use netplan_engine::state::State;
    use netplan_providers::aws::{AwsOptions, S3StateStore};
    let moto = Moto::start();
    moto.py("boto3.client('s3', **kw).create_bucket(Bucket='state-bucket')")
        .unwrap();
    let open = || {
        S3StateStore::open(
            "s3://state-bucket/stack/state.json",
            AwsOptions {
                region: Some("us-east-1".into()),
                endpoint_url: Some(format!("http://127.0.0.1:{}", moto.port)),
                test_credentials: true,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let (a, b) = (open(), open());
    assert!(a.load().unwrap().is_none());
    assert!(b.load().unwrap().is_none());
    let mut s = State::new("stack");
    a.save(&s).unwrap();
    s.serial = 1;
    let e = b.save(&s).unwrap_err();
    assert!(
        e.to_string()
            .contains("the state changed since this run read it"),
        "{e}"
    );
    a.save(&s).unwrap();
    s.serial = 2;
    a.save(&s).unwrap();
    assert_eq!(b.load().unwrap().unwrap().serial, 2);
    s.serial = 3;
    b.save(&s).unwrap();

    let held = a.lock("apply").unwrap();
    match b.lock("plan") {
        Err(StateError::Locked { holder, .. }) => {
            assert_eq!(holder.pid, std::process::id());
            assert_eq!(holder.operation, "apply");
        }
        other => panic!("expected Locked, got {:?}", other.map(|_| ())),
    }
    drop(held);
    let _held = b.lock("plan").unwrap();
}

#[test]
fn every_path_that_creates_refuses_an_unreachable_function_and_nothing_is_created() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let good = std::fs::read_to_string(&cfg).unwrap();
    // A plan saved while the config was fine, applied after the config lost its NAT gateways.
    moto.ok(dir, &["plan", "-o", "saved.plan"], "plan -o");
    let broken = good.replace("nat_gateways = \"per_az\"", "nat_gateways = \"none\"");
    assert_ne!(broken, good);
    std::fs::write(&cfg, broken).unwrap();
    let finding = "route_table.main_private has no route to 0.0.0.0/0 for subnet.main_private_a";
    for args in [
        &["validate"][..],
        &["plan"],
        &["apply", "--auto-approve"],
        &["apply", "saved.plan"],
        &["check"],
    ] {
        let out = netplan_moto(dir, args, moto.port);
        assert_eq!(out.status.code(), Some(1), "{args:?} refuses");
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            text.contains(finding),
            "{args:?} names the finding:\n{text}"
        );
        if args[0] != "check" {
            assert!(
                text.contains("netplan.toml:"),
                "{args:?} names the place:\n{text}"
            );
        }
    }
    let json = netplan_moto(dir, &["validate", "--json"], moto.port);
    assert_eq!(json.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["valid"], false, "{v}");
    assert!(v["diagnostics"].to_string().contains(finding), "{v}");
    assert!(
        moto.inventory("lambda-egress").is_empty(),
        "nothing was created"
    );
    assert!(!dir.join("netplan.state.json").exists(), "no state written");
}

#[test]
fn another_stacks_crash_recovery_never_touches_this_stacks_objects() {
    let trials: u64 = std::env::var("NETPLAN_CROSS_STACK_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let moto = Moto::start();
    let a = copy_dir(&repo().join("examples/lambda-internet"));
    moto.ok(a.path(), &["apply", "--auto-approve"], "stack A");
    let before = moto.inventory("lambda-egress");
    assert_eq!(before.len(), 21);
    // Stack B: another stack whose functions were given stack A's function names.
    let b = copy_dir(&repo().join("examples/lambda-internet"));
    let cfg = b.path().join("netplan.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("name = \"lambda-egress\"", "name = \"other\"")
        .replace(
            "[function.probe]\n",
            "[function.probe]\nname = \"lambda-egress-probe\"\n",
        )
        .replace(
            "[function.probe_node]\n",
            "[function.probe_node]\nname = \"lambda-egress-probe_node\"\n",
        )
        .replace("10.0.0.0/16", "10.7.0.0/16");
    std::fs::write(&cfg, &text).unwrap();
    assert!(text.contains("name = \"other\""), "{text}");
    let mut seed: u64 = 0x1234_5678_9abc_def1;
    for trial in 0..trials {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_millis(100 + (seed >> 33) % 1500);
        let mut child = Command::new(bin())
            .args(["apply", "--auto-approve"])
            .current_dir(b.path())
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", moto.port),
            )
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
        let again = netplan_moto(b.path(), &["apply", "--auto-approve"], moto.port);
        assert_eq!(
            again.status.code(),
            Some(1),
            "trial {trial}: B cannot take A's names"
        );
        assert!(
            stderr(&again).contains("exists and is not lambda_function.probe")
                && stderr(&again).contains("netplan stack `lambda-egress`"),
            "trial {trial}: the collision is named:\n{}",
            stderr(&again)
        );
        assert_eq!(
            moto.inventory("lambda-egress"),
            before,
            "trial {trial} ({delay:?}): stack A is exactly as it was"
        );
    }
    moto.ok(
        a.path(),
        &["plan", "--detailed-exitcode"],
        "stack A: no changes",
    );
    moto.ok(b.path(), &["destroy", "--auto-approve"], "stack B: destroy");
    assert_eq!(
        moto.inventory("lambda-egress"),
        before,
        "A untouched by B's destroy"
    );
    moto.ok(a.path(), &["destroy", "--auto-approve"], "stack A: destroy");
    assert!(moto.leftovers().is_empty(), "{:?}", moto.leftovers());
}

#[test]
fn sensitive_values_reach_the_function_and_nothing_else() {
    let moto = Moto::start();
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let with_secrets = |extra: &str| {
        let edited = text.replacen(
            "environment = { TARGET_URL = \"https://aws.amazon.com/\" }",
            &format!("environment = {{ TARGET_URL = \"https://aws.amazon.com/\", API_KEY = {{ value = \"s3cr3t-api-key\", sensitive = true{extra} }}, DB_PASSWORD = {{ from_env = \"NETPLAN_TEST_DB_PASSWORD\" }} }}"),
            1,
        );
        assert_ne!(edited, text);
        edited
    };
    let run = |args: &[&str], password: &str| {
        netplan_moto_env(
            dir,
            args,
            moto.port,
            &[("NETPLAN_TEST_DB_PASSWORD", password)],
        )
    };
    let leaks = |what: &str, text: &str| {
        for secret in ["s3cr3t-api-key", "hunter2-first", "hunter2-second"] {
            assert!(!text.contains(secret), "{what} shows {secret}:\n{text}");
        }
    };
    // A mistake next to a sensitive value: the snippet shows the place, not the value.
    std::fs::write(&cfg, with_secrets(", oops = 1")).unwrap();
    let bad = run(&["validate"], "hunter2-first");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("unknown key `oops`"),
        "{}",
        stderr(&bad)
    );
    leaks("validate's snippet", &stderr(&bad));
    // A variable that is not set is named.
    std::fs::write(&cfg, with_secrets("")).unwrap();
    let unset = netplan_moto(dir, &["validate"], moto.port);
    assert!(
        stderr(&unset).contains("the environment variable `NETPLAN_TEST_DB_PASSWORD` is not set"),
        "{}",
        stderr(&unset)
    );
    for args in [
        &["validate"][..],
        &["plan"],
        &["plan", "--json"],
        &["plan", "-o", "saved.plan"],
    ] {
        let out = run(args, "hunter2-first");
        ok(&out, &format!("{args:?}"));
        leaks(
            &format!("{args:?}"),
            &format!("{}{}", stdout(&out), stderr(&out)),
        );
    }
    assert!(
        stdout(&run(&["plan"], "hunter2-first")).contains("API_KEY = (sensitive value)"),
        "the plan says there is a value"
    );
    leaks(
        "the plan file",
        &std::fs::read_to_string(dir.join("saved.plan")).unwrap(),
    );
    let apply = run(&["apply", "--auto-approve"], "hunter2-first");
    ok(&apply, "apply");
    leaks("apply", &format!("{}{}", stdout(&apply), stderr(&apply)));
    leaks(
        "the state",
        &std::fs::read_to_string(dir.join("netplan.state.json")).unwrap(),
    );
    leaks(
        "show --json",
        &stdout(&run(&["show", "--json"], "hunter2-first")),
    );
    // The function got the values.
    let env = |name: &str| {
        moto.py(&format!("print(json.dumps(lam.get_function_configuration(FunctionName='{name}')['Environment']['Variables']))"))
            .unwrap()
    };
    let got: serde_json::Value = serde_json::from_str(env("lambda-egress-probe").trim()).unwrap();
    assert_eq!(got["API_KEY"], "s3cr3t-api-key");
    assert_eq!(got["DB_PASSWORD"], "hunter2-first");
    // Unchanged: no changes (the state's digests match). Changed: an update, still not shown.
    ok(
        &run(&["plan", "--detailed-exitcode"], "hunter2-first"),
        "no changes",
    );
    let changed = run(&["plan", "--detailed-exitcode"], "hunter2-second");
    assert_eq!(changed.status.code(), Some(2), "{}", stdout(&changed));
    assert!(
        stdout(&changed).contains("~ lambda_function.probe"),
        "{}",
        stdout(&changed)
    );
    leaks("the plan of a changed secret", &stdout(&changed));
    ok(
        &run(&["apply", "--auto-approve"], "hunter2-second"),
        "apply the new value",
    );
    let got: serde_json::Value = serde_json::from_str(env("lambda-egress-probe").trim()).unwrap();
    assert_eq!(got["DB_PASSWORD"], "hunter2-second");
    leaks(
        "the state",
        &std::fs::read_to_string(dir.join("netplan.state.json")).unwrap(),
    );
    ok(
        &run(&["destroy", "--auto-approve"], "hunter2-second"),
        "destroy",
    );
}

#[test]
fn a_state_encrypted_with_a_kms_key_is_sealed_at_rest_and_opens_through_kms() {
    let moto = Moto::start();
    moto.py("k=boto3.client('kms', **kw); kid=k.create_key()['KeyMetadata']['KeyId']; k.create_alias(AliasName='alias/netplan-test', TargetKeyId=kid)")
        .unwrap();
    let tmp = copy_dir(&repo().join("tests/fixtures/small"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[stack]\n",
        "[stack]\nencryption = \"kms:alias/netplan-test\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    moto.ok(dir, &["apply", "--auto-approve"], "apply");
    let file = std::fs::read_to_string(dir.join("netplan.state.json")).unwrap();
    assert!(
        file.contains("netplan-encrypted-state") && file.contains("\"wrapped_key\""),
        "{file}"
    );
    assert!(!file.contains("vpc-"), "sealed: {file}");
    moto.ok(
        dir,
        &["plan", "--detailed-exitcode"],
        "plan through KMS: no changes",
    );
    moto.ok(dir, &["destroy", "--auto-approve"], "destroy");
}

/// Issue 16 (d): a run's exit releases the S3 lock only while it is still that run's — after a
/// force-unlock and another run taking the lock, the first run's exit leaves the second's lock alone —
/// and a lock an earlier netplan wrote without an id is named by one `force-unlock` takes.
#[test]
fn an_s3_lock_is_released_only_by_its_own_run_and_an_id_less_lock_can_be_released() {
    use netplan_engine::state::store::{StateError, StateStore};
    use netplan_providers::aws::{AwsOptions, S3StateStore};
    let moto = Moto::start();
    let s3 = "s3=boto3.client('s3', **kw)\n";
    moto.py(&format!("{s3}s3.create_bucket(Bucket='locks')"))
        .unwrap();
    let open = || {
        S3StateStore::open(
            "s3://locks/stack/state.json",
            AwsOptions {
                region: Some("us-east-1".into()),
                endpoint_url: Some(format!("http://127.0.0.1:{}", moto.port)),
                test_credentials: true,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let lock_id = || -> Option<String> {
        let out = moto
            .py(&format!("{s3}\ntry:\n    print(json.loads(s3.get_object(Bucket='locks', Key='stack/state.json.lock')['Body'].read())['id'])\nexcept s3.exceptions.NoSuchKey:\n    print('NONE')"))
            .unwrap();
        Some(out.trim().to_string()).filter(|s| s != "NONE")
    };
    let (a, b, c) = (open(), open(), open());
    let first = a.lock("apply").unwrap();
    let first_id = lock_id().expect("locked");
    b.force_unlock(&first_id).unwrap();
    let second = b.lock("apply").unwrap();
    let second_id = lock_id().expect("locked again");
    assert_ne!(first_id, second_id);
    drop(first);
    assert_eq!(
        lock_id().as_deref(),
        Some(second_id.as_str()),
        "the first run's exit left the second's lock"
    );
    assert!(matches!(c.lock("plan"), Err(StateError::Locked { .. })));
    drop(second);
    assert_eq!(lock_id(), None, "released by its own run");

    // A lock without an id (an earlier netplan's): the refusal names an id for it, which releases it.
    let tmp = copy_dir(&repo().join("examples/lambda-internet"));
    let dir = tmp.path();
    let cfg = dir.join("netplan.toml");
    let text = std::fs::read_to_string(&cfg).unwrap().replacen(
        "[stack]\n",
        "[stack]\nstate = \"s3://locks/stack/state.json\"\n",
        1,
    );
    std::fs::write(&cfg, text).unwrap();
    moto.py(&format!("{s3}s3.put_object(Bucket='locks', Key='stack/state.json.lock', Body=json.dumps({{'pid': 77, 'host': 'old-runner', 'operation': 'apply', 'since': '2025-01-01T00:00:00Z'}}))")).unwrap();
    let refused = netplan_moto(dir, &["apply", "--auto-approve"], moto.port);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(err.contains("pid 77 on old-runner"), "{err}");
    let id = err
        .split_whitespace()
        .find(|w| w.starts_with("noid-"))
        .unwrap_or_else(|| panic!("no id named: {err}"))
        .trim_end_matches([')', '.', ';'])
        .to_string();
    assert!(err.contains(&format!("netplan force-unlock {id}")), "{err}");
    moto.ok(
        dir,
        &["force-unlock", &id, "--force"],
        "the id-less lock is released",
    );
    assert_eq!(lock_id(), None);
}
