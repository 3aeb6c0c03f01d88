#!/usr/bin/env python3
"""netplan (and optionally Terraform) through a realism proxy in front of moto: apply, no-op plan and
destroy of N copies of the seed network, wall time against the critical path of the proxy's latencies,
and what each tool left behind.

    bench/realism.py [--copies 1 20] [--profile timing] [--seed 1] [--proxy tests/realism/realism.py]
                     [--netplan PATH] [--terraform] [--anchor ../shared/terraform-anchor]

The critical path is the longest chain, through the plan's dependencies, of what the proxy makes each
step wait (NAT gateway pending 90 s, function Pending 60 s after the role has propagated 10 s, endpoint
pending 10 s; x --scale) plus its per-call latency for the step's calls: the floor for any tool.
netplan's own estimate (the plan's "Expected apply time", played with the proxy's scale: its job graph on
AWS's typical durations x --scale and AWS's request rates) is printed beside its apply, with the
request-rate floor it found (the bucket whose requests over its burst take longest). Beyond two copies the
project's proxy is told of an account whose quotas were raised (moto's own allows five VPCs, and AWS's
default of five Elastic IPs holds two copies).
Prints one Markdown row per tool, copies and phase. Needs moto_server, python3 with boto3.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Calls each step makes on the critical path (create), and the seconds the proxy adds (x scale).
CALLS = {"vpc": 3, "subnet": 1, "internet_gateway": 2, "egress_only_internet_gateway": 1,
         "elastic_ip": 1, "nat_gateway": 2, "route_table": 4, "vpc_endpoint": 2, "security_group": 3,
         "iam_role": 2, "lambda_function": 2}
WAIT = {"nat_gateway": 90, "lambda_function": 60, "vpc_endpoint": 10}
PROPAGATION = 10
CALL_MS = 20


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit("no answer from " + url)


def post(url, body=b"{}"):
    urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST"), timeout=10)


def seed_config(dirname, copies):
    shutil.copytree(os.path.join(ROOT, "examples/lambda-internet"), dirname)
    path = os.path.join(dirname, "netplan.toml")
    text = open(path).read()
    at = text.index("[network.main]")
    out = text[:at]
    for i in range(copies):
        out += (text[at:].replace("network.main", "network.n%d" % i)
                .replace("[function.probe]", "[function.p%d]" % i)
                .replace("[function.probe_node]", "[function.q%d]" % i)
                .replace("10.0.0.0/16", "10.%d.0.0/16" % (i + 1))) + "\n"
    open(path, "w").write(out)


def critical_path(plan, scale):
    """Longest chain of the proxy's latencies through the plan's create steps. A route table needs its
    NAT gateway only for the NAT's route (one CreateRoute once the NAT is available): what needs the
    table itself (an endpoint) does not wait for the NAT — the floor for any tool, and what netplan's
    job graph does (rule (f))."""
    changes = {c["address"]: c for c in plan["changes"]}
    finish = {}
    slow = ("nat_gateway.", "nat_instance.")

    def made(addr):
        """When the object exists (and what references it may start)."""
        if addr in finish:
            return finish[addr]
        c = changes[addr]
        kind = addr.split(".")[0]
        deps = [d for d in c.get("depends_on", []) if d in changes]
        early = [d for d in deps if not (kind == "route_table" and d.startswith(slow))]
        start = max([made(d) for d in early] or [0.0])
        if kind == "lambda_function":
            roles = [d for d in deps if d.startswith("iam_role.")]
            start = max([start] + [made(r) + PROPAGATION * scale for r in roles])
        finish[addr] = start + WAIT.get(kind, 0) * scale + CALLS.get(kind, 1) * CALL_MS / 1000
        return finish[addr]

    def done(addr):
        """When the object is complete: a route table's NAT routes added."""
        late = [d for d in changes[addr].get("depends_on", [])
                if addr.startswith("route_table.") and d.startswith(slow) and d in changes]
        if not late:
            return made(addr)
        return max([made(addr)] + [done(d) for d in late]) + CALL_MS / 1000

    return max(done(a) for a in changes)


def leftovers(endpoint):
    import boto3
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
              aws_secret_access_key="t")
    ec2, iam, lam = boto3.client("ec2", **kw), boto3.client("iam", **kw), boto3.client("lambda", **kw)
    vpcs = ec2.describe_vpcs()["Vpcs"]
    default = [v["VpcId"] for v in vpcs if v.get("IsDefault")]
    found = [v["VpcId"] for v in vpcs if not v.get("IsDefault")]
    found += [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")]
    found += [a["AllocationId"] for a in ec2.describe_addresses()["Addresses"]]
    found += [g["InternetGatewayId"] for g in ec2.describe_internet_gateways()["InternetGateways"]
              if not any(a.get("VpcId") in default for a in g.get("Attachments", []))]
    found += [n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]
              if n["State"] not in ("deleted", "deleting")]
    found += [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
              if g["GroupName"] != "default"]
    found += [r["RoleName"] for r in iam.list_roles()["Roles"]]
    found += [f["FunctionName"] for f in lam.list_functions()["Functions"]]
    return found


def warm(endpoint):
    """One call to each of moto's IAM, EC2 and Lambda backends, straight to moto: its first IAM call
    loads ~1,000 managed policies (~1 s), its first EC2 call its region data — emulator costs AWS does
    not have, paid here for both tools alike, outside the timings."""
    import boto3
    kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t",
              aws_secret_access_key="t")
    boto3.client("iam", **kw).list_roles()
    boto3.client("ec2", **kw).describe_vpcs()
    boto3.client("lambda", **kw).list_functions()


def run(cmd, cwd, env, ok=(0,)):
    start = time.time()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    took = time.time() - start
    if p.returncode not in ok:
        sys.stderr.write("%s failed (%d):\n%s\n%s\n" % (" ".join(cmd), p.returncode, p.stdout[-3000:],
                                                         p.stderr[-3000:]))
    return took, p.returncode


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--copies", type=int, nargs="+", default=[1])
    a.add_argument("--profile", default="timing")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--scale", type=float, default=0.05)
    a.add_argument("--proxy", default=os.path.join(ROOT, "tests/realism/realism.py"))
    a.add_argument("--netplan", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/netplan"))
    a.add_argument("--terraform", action="store_true")
    a.add_argument("--anchor", default=os.path.join(ROOT, "../shared/terraform-anchor"))
    args = a.parse_args()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
               AWS_EC2_METADATA_DISABLED="true", NO_COLOR="1")
    print("| tool | copies | phase | wall | critical path | ratio | estimate | rate floor | left behind |")
    print("|---|---|---|---|---|---|---|---|---|")
    for copies in args.copies:
        for tool in ["netplan"] + (["terraform"] if args.terraform else []):
            work = tempfile.mkdtemp()
            moto_port, proxy_port = free_port(), free_port()
            moto_cmd = ["moto_server", "-H", "127.0.0.1", "-p", str(moto_port)]
            if tool == "terraform":
                moto_cmd = [sys.executable, os.path.join(args.anchor, "tools/moto_patched.py"),
                            "-H", "127.0.0.1", "-p", str(moto_port)]
            moto = subprocess.Popen(moto_cmd, cwd=work, env=dict(env, MOTO_IAM_LOAD_MANAGED_POLICIES="true"),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            upstream = "http://127.0.0.1:%d" % moto_port
            wait_http(upstream + "/moto-api/")
            post(upstream + "/moto-api/config", b'{"lambda": {"use_docker": false}}')
            warm(upstream)
            proxy = subprocess.Popen([sys.executable, args.proxy, "--listen", str(proxy_port), "--upstream",
                                      upstream, "--profile", args.profile, "--seed", str(args.seed),
                                      "--scale", str(args.scale)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            endpoint = "http://127.0.0.1:%d" % proxy_port
            time.sleep(1)
            if copies > 2 and os.path.basename(args.proxy) == "realism.py":
                n = copies + 5
                post(endpoint + "/_realism/account", json.dumps({"quotas": {
                    "vpcs": n, "internet_gateways": n, "egress_only": n, "elastic_ips": 2 * n,
                    "nat_per_az": n}, "enforce": False}).encode())
            try:
                cfg = os.path.join(work, "cfg")
                seed_config(cfg, copies)
                tenv = dict(env, AWS_ENDPOINT_URL=endpoint)
                plan_json = subprocess.run([args.netplan, "plan", "--refresh=false", "--json"], cwd=cfg,
                                           env=dict(tenv, NETPLAN_LATENCY_SCALE=str(args.scale)),
                                           capture_output=True, text=True).stdout
                planned = json.loads(plan_json)
                cp = critical_path(planned, args.scale)
                est = planned.get("estimate") or {}
                floor = est.get("floor")
                estimate = "%.2f s" % est["seconds"] if "seconds" in est else ""
                floor_text = ("%.1f s (%d %s)" % (floor["seconds"], floor["requests"], floor["bucket"])
                              if floor else "")
                if tool == "netplan":
                    phases = [("apply", [args.netplan, "apply", "--auto-approve"], (0,)),
                              ("plan", [args.netplan, "plan", "--detailed-exitcode"], (0,)),
                              ("destroy", [args.netplan, "destroy", "--auto-approve"], (0,))]
                else:
                    tf = os.path.join(work, "tf")
                    shutil.copytree(os.path.join(args.anchor, "scale"), tf)
                    subprocess.run(["bash", "-c", 'BENCH=%s; . %s/tools/mirror.sh; echo "$TF_MIRROR" > %s/mirror'
                                    % (work, args.anchor, work)], check=True)
                    mirror = open(os.path.join(work, "mirror")).read().strip()
                    tenv["TF_CLI_CONFIG_FILE"] = os.path.join(work, "terraformrc")
                    zipfile = os.path.join(work, "probe.zip")
                    subprocess.run([sys.executable, os.path.join(args.anchor, "tools/build_zip.py"), zipfile],
                                   check=True)
                    subprocess.run(["terraform", "init", "-input=false", "-plugin-dir=" + mirror], cwd=tf,
                                   env=tenv, check=True, capture_output=True)
                    var = ["-var", "n=%d" % copies, "-var", "endpoint=" + endpoint, "-var", "lambda_zip=" + zipfile]
                    phases = [("apply", ["terraform", "apply", "-auto-approve", "-parallelism=10"] + var, (0,)),
                              ("plan", ["terraform", "plan", "-detailed-exitcode"] + var, (0,)),
                              ("destroy", ["terraform", "destroy", "-auto-approve"] + var, (0,))]
                    cfg = tf
                for name, cmd, ok in phases:
                    took, rc = run(cmd, cfg, tenv, ok)
                    left = ""
                    if name == "destroy":
                        found = leftovers(upstream)
                        left = "%d%s" % (len(found), (": " + ", ".join(found[:6])) if found else "")
                    ratio = ("%.2f" % (took / cp)) if name == "apply" else ""
                    mine = name == "apply" and tool == "netplan"
                    print("| %s | %d | %s | %.2f s%s | %s | %s | %s | %s | %s |" % (
                        tool, copies, name, took, "" if rc in ok else " (exit %d)" % rc,
                        "%.2f s" % cp if name == "apply" else "", ratio,
                        estimate if mine else "", floor_text if mine else "", left), flush=True)
            finally:
                proxy.kill()
                moto.kill()
                shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
