#!/usr/bin/env python3
"""netplan's realism layer: a reverse proxy in front of moto that behaves the way AWS does where moto
does not. Every behaviour is one class, switchable on the command line, and every random choice comes
from one seeded generator, so a failing run can be replayed.

    realism.py --listen PORT --upstream http://127.0.0.1:MOTO [--profile timing|faults|all|none]
               [--seed N] [--scale S] [--only a,b] [--without a,b]

Behaviours (profile "timing": the first six; "faults": the last six; "all": every one):

  nat          NAT gateways `pending` for 90 s after create and `deleting` for 60 s after delete; while
               deleting they hold their subnet, their Elastic IP and the VPC's internet gateway.
  functions    Lambda functions in a VPC `Pending` for 60 s; `InProgress` for 20 s after an update;
               meanwhile updates and Invoke answer ResourceConflictException (409).
  interfaces   one Lambda network interface per (subnet, security groups), shown by
               DescribeNetworkInterfaces, lingering 600 s after its last function goes, holding the
               subnet and the security groups.
  endpoints    gateway endpoints `pending` for 10 s.
  propagation  a role younger than 10 s cannot be assumed by Lambda; the VPC access policy attached less
               than 10 s ago does not yet allow CreateNetworkInterface.
  latency      every call takes 10-30 ms.
  consistency  an EC2 id younger than 1 s (absolute) answers NotFound (p=0.5) to calls naming it outside
               a filter.
  throttle     token buckets per category (EC2 mutate / describe / CreateNatGateway, Lambda, IAM): EC2's
               documented sizes x --bucket-scale.
  errors       p=0.04: a 5xx before the call takes effect.
  lost         p=0.03 on changing calls: the call takes effect and a 5xx is answered instead.
  tokens       EC2 ClientToken idempotency (moto ignores tokens): a repeat answers the first response,
               other parameters with the same token IdempotentParameterMismatch.
  (latency is in both profiles.)

  account      (set with POST /_realism/account, off until then) an AWS account as users have them: its
               own zone mapping (names to AZ IDs, a name missing), zones where Lambda refuses VPC
               functions and where instance types are not offered, quotas (VPCs, internet and
               egress-only gateways, Elastic IPs, NAT gateways per zone) enforced with AWS's errors,
               and Service Quotas answering them. Each part is optional: quotas alone model an
               account whose quotas were raised (what a run of many copies needs).

Times are AWS seconds x --scale (default 0.05: a NAT gateway is pending 4.5 s).

Control (not AWS): GET /_realism/stats counts what was injected; POST /_realism/fail with
{"action": "CreateRouteTable", "nth": 2, "code": "InvalidParameterValue", "status": 400} makes the nth
call of that action (counted from now) fail with that error before it takes effect (`"after": true`:
after it took effect, the answer lost; `"action": "*"`: the nth call that changes something, whatever
it is); GET /_realism/calls lists the calls since the last POST /_realism/mark (service, action, whether
it changes something, the answer's status); POST /_realism/watch with {"subnets": [ids], "groups":
[ids]} records which default routes each subnet has (its explicit route table, else its VPC's main
table) and whether each group lets HTTPS out, and after every changing call checks that none of it was
lost: GET /_realism/violations says which call lost what; POST /_realism/reset forgets the world (after
moto's own reset).
"""
import argparse
import http.client
import json
import random
import re
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EC2_ID = re.compile(r"^(vpc|subnet|rtb|igw|eigw|nat|eipalloc|sg|vpce|acl|eni)-[0-9a-f]{8,}$")
NOT_FOUND = {
    "vpc": "InvalidVpcID.NotFound", "subnet": "InvalidSubnetID.NotFound",
    "rtb": "InvalidRouteTableID.NotFound", "igw": "InvalidInternetGatewayID.NotFound",
    "eigw": "InvalidGatewayID.NotFound", "nat": "InvalidNatGatewayID.NotFound",
    "eipalloc": "InvalidAllocationID.NotFound", "sg": "InvalidGroup.NotFound",
    "vpce": "InvalidVpcEndpointId.NotFound", "acl": "InvalidNetworkAclID.NotFound",
    "eni": "InvalidNetworkInterfaceID.NotFound",
}
TIMING = ["nat", "functions", "interfaces", "endpoints", "propagation", "latency"]
FAULTS = ["consistency", "throttle", "errors", "lost", "tokens", "latency"]


# --------------------------------------------------------------------------------------------------
# Requests and answers


class Request:
    """One AWS call as the behaviours see it."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.service = self._service()
        self.params = {}
        self.action = ""
        self.function = None
        if self.service in ("ec2", "iam"):
            self.params = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            self.action = self.params.get("Action", "")
        elif self.service == "s3":
            self.action = {"PUT": "PutObject", "GET": "GetObject", "DELETE": "DeleteObject",
                           "HEAD": "HeadObject"}.get(method, "Other")
        elif self.service == "lambda":
            self.action, self.function = self._lambda_action()
            try:
                self.params = json.loads(body or b"{}") if body else {}
            except ValueError:
                self.params = {}
        elif self.service in ("servicequotas", "sts"):
            target = self.headers.get("X-Amz-Target", "")
            self.action = target.split(".")[-1] if target else ""
            try:
                self.params = json.loads(body or b"{}") if target else dict(
                    urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
            except ValueError:
                self.params = {}
            if not self.action:
                self.action = self.params.get("Action", "")

    def _service(self):
        if self.path.startswith("/moto-api") or self.path.startswith("/_realism"):
            return "control"
        m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", self.headers.get("Authorization", ""))
        return m.group(1) if m else "unknown"

    def _lambda_action(self):
        path = urllib.parse.unquote(self.path.split("?")[0])
        m = re.match(r"^/20\d\d-\d\d-\d\d/(functions|tags)/?([^/]*)/?(.*)$", path)
        if not m:
            return "Other", None
        if m.group(1) == "tags":
            return {"GET": "ListTags", "POST": "TagResource", "DELETE": "UntagResource"}.get(
                self.method, "Other"), None
        name, rest = m.group(2), m.group(3)
        if name.startswith("arn:"):
            name = name.split(":")[6]
        if not name:
            return ("CreateFunction" if self.method == "POST" else "ListFunctions"), None
        table = {("GET", ""): "GetFunction", ("DELETE", ""): "DeleteFunction",
                 ("GET", "configuration"): "GetFunctionConfiguration",
                 ("PUT", "configuration"): "UpdateFunctionConfiguration",
                 ("PUT", "code"): "UpdateFunctionCode", ("POST", "invocations"): "Invoke"}
        return table.get((self.method, rest), "Other"), name

    @property
    def changes(self):
        """Whether the call changes something (what a lost answer can follow)."""
        if self.service == "ec2":
            return not self.action.startswith("Describe")
        if self.service in ("iam", "sts", "servicequotas"):
            return not self.action.startswith(("Get", "List"))
        if self.service == "s3":
            return self.action in ("PutObject", "DeleteObject")
        return self.action in ("CreateFunction", "DeleteFunction", "UpdateFunctionConfiguration",
                               "UpdateFunctionCode", "TagResource", "UntagResource")

    def named_ids(self):
        """EC2 ids the call names outside filters."""
        return [v for k, v in self.params.items()
                if not k.startswith("Filter.") and isinstance(v, str) and EC2_ID.match(v)]


def error(service, code, message, status=400):
    if service == "lambda":
        return status, {"Content-Type": "application/json", "x-amzn-ErrorType": code}, json.dumps(
            {"Type": "User", "message": message, "Message": message}).encode()
    if service == "s3":
        return status, {"Content-Type": "application/xml"}, (
            '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>realism</RequestId></Error>' % (code, message)).encode()
    if service == "servicequotas":
        return status, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(
            {"__type": code, "message": message}).encode()
    if service in ("iam", "sts"):
        body = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender'
                '</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>realism</RequestId>'
                '</ErrorResponse>' % (code, message))
    else:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>%s</Code>'
                '<Message>%s</Message></Error></Errors><RequestID>realism</RequestID></Response>'
                % (code, message))
    return status, {"Content-Type": "text/xml"}, body.encode()


# --------------------------------------------------------------------------------------------------
# The world: what the proxy learns from the calls it sees, and the clock


class World:
    def __init__(self, scale, seed):
        self.scale = scale
        self.rng = random.Random(seed)
        self.lock = threading.RLock()
        self.stats = {}
        self.reset()

    def reset(self):
        self.born = {}          # EC2 id -> when created
        self.nats = {}          # id -> {created, deleted, subnet, allocation, vpc}
        self.endpoints = {}     # id -> created
        self.roles = {}         # name -> created
        self.vpc_policy = {}    # role name -> when AWSLambdaVPCAccessExecutionRole was attached
        self.functions = {}     # name -> {ready, settled}
        self.interfaces = []    # {id, subnet, groups, vpc, users, released}
        self.subnet_vpc = {}
        self.tokens = {}        # (action, token) -> (params, answer)
        self.injected = []      # {action, nth, code, status, seen}
        self.calls = []         # [service, action, changes, status] since the last mark
        self.account = None     # the account behaviour's settings (POST /_realism/account)
        self.watch = None       # {"subnets": {id: [destinations]}, "groups": {id: bool}, "auth": header}
        self.violations = []    # {"call": action, "lost": what}

    def count(self, what):
        self.stats[what] = self.stats.get(what, 0) + 1

    def secs(self, aws_seconds):
        return aws_seconds * self.scale

    def chance(self, p):
        return self.rng.random() < p


# --------------------------------------------------------------------------------------------------
# Behaviours: `before` may answer instead of AWS (an error); `after` may change AWS's answer.


class Behaviour:
    name = ""

    def __init__(self, world, args):
        self.w, self.args = world, args

    def before(self, req, now):
        return None

    def after(self, req, answer, now):
        return answer


class Latency(Behaviour):
    name = "latency"

    def before(self, req, now):
        time.sleep(self.w.rng.uniform(0.010, 0.030))


class Throttle(Behaviour):
    name = "throttle"
    SIZES = {"ec2:mutate": (200, 5), "ec2:describe": (100, 20), "ec2:nat": (10, 1),
             "lambda": (30, 15), "iam": (20, 10)}

    def __init__(self, world, args):
        super().__init__(world, args)
        self.buckets = {k: [max(1.0, size * args.bucket_scale), rate, time.monotonic()]
                        for k, (size, rate) in self.SIZES.items()}
        self.sizes = {k: max(1.0, size * args.bucket_scale) for k, (size, _) in self.SIZES.items()}

    def before(self, req, now):
        if req.service == "ec2":
            key = "ec2:nat" if req.action == "CreateNatGateway" else (
                "ec2:describe" if req.action.startswith("Describe") else "ec2:mutate")
        elif req.service in ("lambda", "iam"):
            key = req.service
        else:
            return None
        b = self.buckets[key]
        b[0] = min(self.sizes[key], b[0] + (now - b[2]) * b[1])
        b[2] = now
        if b[0] >= 1:
            b[0] -= 1
            return None
        self.w.count("fault:throttled")
        if req.service == "lambda":
            return error("lambda", "TooManyRequestsException", "Rate exceeded", 429)
        if req.service == "iam":
            return error("iam", "Throttling", "Rate exceeded", 400)
        return error("ec2", "RequestLimitExceeded", "Request limit exceeded.", 503)


class Errors(Behaviour):
    name = "errors"

    def before(self, req, now):
        if req.service in ("ec2", "iam", "lambda") and self.w.chance(self.args.p_error):
            self.w.count("fault:5xx-before")
            code = {"ec2": "InternalError", "iam": "ServiceFailure", "lambda": "ServiceException"}
            return error(req.service, code[req.service], "We encountered an internal error.", 500)


class Lost(Behaviour):
    name = "lost"

    def after(self, req, answer, now):
        if answer[0] < 300 and req.changes and self.w.chance(self.args.p_lost):
            self.w.count("fault:answer-lost")
            code = {"ec2": "InternalError", "iam": "ServiceFailure", "lambda": "ServiceException"}
            return error(req.service, code[req.service], "We encountered an internal error.", 500)
        return answer


class Consistency(Behaviour):
    name = "consistency"

    def before(self, req, now):
        if req.service != "ec2" or req.action.startswith("Create"):
            return None
        if self.args.unseen_by and req.action not in self.args.unseen_by.split(","):
            return None
        for i in req.named_ids():
            born = self.w.born.get(i)
            if born is not None and now - born < self.args.consistency_window \
                    and self.w.chance(self.args.p_unseen):
                self.w.count("fault:not-yet-visible")
                return error("ec2", NOT_FOUND[i.split("-")[0]], "The ID '%s' does not exist" % i)

    def after(self, req, answer, now):
        if req.service == "ec2" and answer[0] < 300 and (
                req.action.startswith("Create") or req.action == "AllocateAddress"):
            for m in re.finditer(r"\b(?:vpc|subnet|rtb|igw|eigw|nat|eipalloc|sg|vpce|acl)-[0-9a-f]{8,}\b",
                                 answer[2].decode("utf-8", "replace")):
                if m.group(0) not in req.params.values():
                    self.w.born.setdefault(m.group(0), now)
        return answer


class Tokens(Behaviour):
    name = "tokens"

    def before(self, req, now):
        token = req.params.get("ClientToken") if req.service == "ec2" else None
        if not token or (req.action, token) not in self.w.tokens:
            return None
        params, answer = self.w.tokens[(req.action, token)]
        if params != {k: v for k, v in req.params.items() if k != "ClientToken"}:
            return error("ec2", "IdempotentParameterMismatch",
                         "The client token was used with other parameters.")
        self.w.count("tokens:replayed")
        return answer

    def after(self, req, answer, now):
        token = req.params.get("ClientToken") if req.service == "ec2" else None
        if token and answer[0] < 300:
            self.w.tokens[(req.action, token)] = (
                {k: v for k, v in req.params.items() if k != "ClientToken"}, answer)
        return answer


class Nat(Behaviour):
    name = "nat"

    def deleting(self, now, test):
        for i, g in self.w.nats.items():
            if g["deleted"] is not None and now - g["deleted"] < self.w.secs(60) and test(g):
                return i
        return None

    def before(self, req, now):
        if req.service != "ec2":
            return None
        p = req.params
        if req.action == "DeleteSubnet" and self.deleting(now, lambda g: g["subnet"] == p.get("SubnetId")):
            self.w.count("timing:subnet-held-by-nat")
            return error("ec2", "DependencyViolation",
                         "The subnet '%s' has dependencies and cannot be deleted." % p.get("SubnetId"))
        if req.action == "ReleaseAddress" and self.deleting(now, lambda g: g["allocation"] == p.get("AllocationId")):
            self.w.count("timing:address-held-by-nat")
            return error("ec2", "InvalidIPAddress.InUse", "Address %s is in use." % p.get("AllocationId"))
        if req.action == "DetachInternetGateway" and self.deleting(now, lambda g: g["vpc"] == p.get("VpcId")):
            self.w.count("timing:gateway-held-by-nat")
            return error("ec2", "DependencyViolation",
                         "Network %s has some mapped public address(es). Please unmap those public "
                         "address(es) before detaching the gateway." % p.get("VpcId"))

    def after(self, req, answer, now):
        if req.service != "ec2" or answer[0] >= 300:
            return answer
        text = answer[2].decode("utf-8", "replace")
        if req.action == "CreateNatGateway":
            m = re.search(r"<natGatewayId>(nat-\w+)</natGatewayId>", text)
            v = re.search(r"<vpcId>(vpc-\w+)</vpcId>", text)
            if m and m.group(1) not in self.w.nats:
                self.w.nats[m.group(1)] = {"created": now, "deleted": None,
                                           "subnet": req.params.get("SubnetId"),
                                           "allocation": req.params.get("AllocationId"),
                                           "vpc": v.group(1) if v else None}
        if req.action == "DeleteNatGateway" and req.params.get("NatGatewayId") in self.w.nats:
            g = self.w.nats[req.params["NatGatewayId"]]
            g["deleted"] = g["deleted"] if g["deleted"] is not None else now
        if req.action in ("CreateNatGateway", "DescribeNatGateways"):
            def state(m):
                g = self.w.nats.get(m.group(2))
                s = m.group(3)
                if g and g["deleted"] is not None and now - g["deleted"] < self.w.secs(60):
                    s = "deleting"
                elif g and g["deleted"] is None and now - g["created"] < self.w.secs(90):
                    s = "pending"
                return m.group(1) + s + m.group(4)
            text = re.sub(r"(<natGatewayId>(nat-\w+)</natGatewayId><state>)(\w+)(</state>)", state, text)
            return answer[0], answer[1], text.encode()
        return answer


class Endpoints(Behaviour):
    name = "endpoints"

    def after(self, req, answer, now):
        if req.service != "ec2" or answer[0] >= 300:
            return answer
        text = answer[2].decode("utf-8", "replace")
        if req.action == "CreateVpcEndpoint":
            m = re.search(r"<vpcEndpointId>(vpce-\w+)</vpcEndpointId>", text)
            if m:
                self.w.endpoints.setdefault(m.group(1), now)
        if req.action in ("CreateVpcEndpoint", "DescribeVpcEndpoints"):
            def state(m):
                born = self.w.endpoints.get(m.group(2))
                s = "pending" if born is not None and now - born < self.w.secs(10) else m.group(4)
                return m.group(1) + m.group(3) + s + m.group(5)
            text = re.sub(r"(<vpcEndpointId>(vpce-\w+)</vpcEndpointId>)(.*?<state>)(\w+)(</state>)",
                          state, text, flags=re.S)
            return answer[0], answer[1], text.encode()
        return answer


class Propagation(Behaviour):
    name = "propagation"

    def before(self, req, now):
        if req.service != "lambda" or req.action != "CreateFunction":
            return None
        role = (req.params.get("Role") or "").split("/")[-1]
        if role in self.w.roles and now - self.w.roles[role] < self.w.secs(10):
            self.w.count("timing:role-not-assumable")
            return error("lambda", "InvalidParameterValueException",
                         "The role defined for the function cannot be assumed by Lambda.")
        attached = self.w.vpc_policy.get(role)
        if (req.params.get("VpcConfig") or {}).get("SubnetIds") and attached is not None \
                and now - attached < self.w.secs(10):
            self.w.count("timing:policy-not-effective")
            return error("lambda", "InvalidParameterValueException",
                         "The provided execution role does not have permissions to call "
                         "CreateNetworkInterface on EC2")

    def after(self, req, answer, now):
        if req.service == "iam" and answer[0] < 300:
            if req.action == "CreateRole":
                self.w.roles[req.params.get("RoleName")] = now
            if req.action == "AttachRolePolicy" and "AWSLambdaVPCAccessExecutionRole" in req.params.get("PolicyArn", ""):
                self.w.vpc_policy[req.params.get("RoleName")] = now
        return answer


class Functions(Behaviour):
    name = "functions"

    def before(self, req, now):
        if req.service != "lambda" or req.function not in self.w.functions:
            return None
        f = self.w.functions[req.function]
        if req.action in ("UpdateFunctionConfiguration", "UpdateFunctionCode", "Invoke") \
                and (now < f["ready"] or now < f["settled"]):
            self.w.count("timing:function-busy")
            message = ("The operation cannot be performed at this time. The function is currently in "
                       "the following state: Pending" if now < f["ready"] else
                       "The operation cannot be performed at this time. An update is in progress "
                       "for resource: %s" % req.function)
            return error("lambda", "ResourceConflictException", message, 409)

    def after(self, req, answer, now):
        if req.service != "lambda" or answer[0] >= 300:
            return answer
        name = req.function or req.params.get("FunctionName")
        if req.action == "CreateFunction":
            in_vpc = bool((req.params.get("VpcConfig") or {}).get("SubnetIds"))
            self.w.functions[name] = {"ready": now + (self.w.secs(60) if in_vpc else 0), "settled": 0}
        elif req.action in ("UpdateFunctionConfiguration", "UpdateFunctionCode") and name in self.w.functions:
            self.w.functions[name]["settled"] = now + self.w.secs(20)
        elif req.action == "DeleteFunction":
            self.w.functions.pop(name, None)
        f = self.w.functions.get(name)
        if f and req.action in ("CreateFunction", "GetFunction", "GetFunctionConfiguration",
                                "UpdateFunctionConfiguration", "UpdateFunctionCode"):
            try:
                doc = json.loads(answer[2])
            except ValueError:
                return answer
            config = doc.get("Configuration", doc)
            if now < f["ready"]:
                config["State"], config["StateReason"] = "Pending", "The function is being created."
                config["StateReasonCode"] = "Creating"
                self.w.count("timing:function-pending")
            elif now < f["settled"]:
                config["LastUpdateStatus"] = "InProgress"
                self.w.count("timing:function-updating")
            return answer[0], answer[1], json.dumps(doc).encode()
        return answer


class Interfaces(Behaviour):
    name = "interfaces"

    def live(self, now):
        return [e for e in self.w.interfaces if e["released"] is None or now < e["released"]]

    def before(self, req, now):
        if req.service != "ec2":
            return None
        p = req.params
        if req.action == "DeleteSubnet" and any(e["subnet"] == p.get("SubnetId") for e in self.live(now)):
            self.w.count("timing:subnet-held-by-interface")
            return error("ec2", "DependencyViolation",
                         "The subnet '%s' has dependencies and cannot be deleted." % p.get("SubnetId"))
        if req.action == "DeleteSecurityGroup" and any(p.get("GroupId") in e["groups"] for e in self.live(now)):
            self.w.count("timing:group-held-by-interface")
            return error("ec2", "DependencyViolation", "resource %s has a dependent object" % p.get("GroupId"))
        if req.action == "DeleteNetworkInterface" and any(e["id"] == p.get("NetworkInterfaceId") for e in self.live(now)):
            return error("ec2", "InvalidNetworkInterface.InUse", "Interface in use.")

    def after(self, req, answer, now):
        if answer[0] >= 300:
            return answer
        if req.service == "ec2" and req.action == "CreateSubnet":
            m = re.search(r"<subnetId>(subnet-\w+)</subnetId>", answer[2].decode("utf-8", "replace"))
            if m:
                self.w.subnet_vpc[m.group(1)] = req.params.get("VpcId")
        if req.service == "lambda":
            name = req.function or req.params.get("FunctionName")
            if req.action == "CreateFunction":
                self.attach(name, req.params.get("VpcConfig") or {})
            elif req.action == "UpdateFunctionConfiguration" and "VpcConfig" in req.params:
                self.release(name, now)
                self.attach(name, req.params.get("VpcConfig") or {})
            elif req.action == "DeleteFunction":
                self.release(name, now)
        if req.service == "ec2" and req.action == "DescribeNetworkInterfaces":
            return answer[0], answer[1], self.show(req, answer[2].decode("utf-8", "replace"), now).encode()
        return answer

    def attach(self, function, vpc):
        groups = sorted(vpc.get("SecurityGroupIds") or [])
        for subnet in vpc.get("SubnetIds") or []:
            for e in self.w.interfaces:
                if e["subnet"] == subnet and e["groups"] == groups and e["released"] is None:
                    e["users"].add(function)
                    break
            else:
                self.w.interfaces.append({"id": "eni-%017x" % self.w.rng.getrandbits(68), "subnet": subnet,
                                          "groups": groups, "vpc": self.w.subnet_vpc.get(subnet),
                                          "users": {function}, "released": None})

    def release(self, function, now):
        for e in self.w.interfaces:
            if function in e["users"]:
                e["users"].discard(function)
                if not e["users"] and e["released"] is None:
                    e["released"] = now + self.w.secs(600)

    def show(self, req, text, now):
        filters = {}
        for k, v in req.params.items():
            m = re.fullmatch(r"Filter\.(\d+)\.Name", k)
            if m:
                filters[v] = [req.params[x] for x in req.params
                              if re.fullmatch(r"Filter\.%s\.Value\.\d+" % m.group(1), x)]
        if set(filters) - {"subnet-id", "group-id", "vpc-id", "interface-type", "status"}:
            return text
        ids = [v for k, v in req.params.items() if k.startswith("NetworkInterfaceId")]
        items = []
        for e in self.live(now):
            if (ids and e["id"] not in ids) \
                    or ("subnet-id" in filters and e["subnet"] not in filters["subnet-id"]) \
                    or ("group-id" in filters and not set(e["groups"]) & set(filters["group-id"])) \
                    or ("vpc-id" in filters and e["vpc"] not in filters["vpc-id"]) \
                    or ("interface-type" in filters and "lambda" not in filters["interface-type"]) \
                    or ("status" in filters and "in-use" not in filters["status"]):
                continue
            groups = "".join("<item><groupId>%s</groupId><groupName>g</groupName></item>" % g
                             for g in e["groups"])
            items.append(
                "<item><availabilityZone>us-east-1a</availabilityZone><description>AWS Lambda VPC ENI"
                "</description><groupSet>%s</groupSet><interfaceType>lambda</interfaceType>"
                "<networkInterfaceId>%s</networkInterfaceId><ownerId>123456789012</ownerId>"
                "<requesterManaged>true</requesterManaged><status>in-use</status><subnetId>%s</subnetId>"
                "<tagSet/><vpcId>%s</vpcId></item>" % (groups, e["id"], e["subnet"], e["vpc"] or "vpc-0"))
        if not items:
            return text
        self.w.count("timing:interface-shown")
        if "<networkInterfaceSet/>" in text:
            return text.replace("<networkInterfaceSet/>",
                                "<networkInterfaceSet>%s</networkInterfaceSet>" % "".join(items))
        return text.replace("</networkInterfaceSet>", "".join(items) + "</networkInterfaceSet>", 1)


class Injected(Behaviour):
    """Failures a test asks for (POST /_realism/fail), always on: the nth call of an action fails —
    before it reaches moto, or (`"after": true`) after moto carried it out (a lost answer)."""
    name = "injected"

    def _due(self, req, after):
        for f in self.w.injected:
            matches = f["action"] == req.action or (f["action"] == "*" and req.changes)
            if matches and bool(f.get("after")) == after:
                f["seen"] += 1
                if f["seen"] == f["nth"]:
                    self.w.count("injected:" + req.action)
                    return error(req.service, f["code"], "injected failure of %s" % req.action, f["status"])
        return None

    def before(self, req, now):
        return self._due(req, False)

    def after(self, req, answer, now):
        return self._due(req, True) or answer



def _strip(tag):
    return tag.split("}", 1)[-1]


def _items(root, path):
    """Elements under `root` by a path of local names (namespaces ignored)."""
    nodes = [root]
    for name in path.split("/"):
        nodes = [c for n in nodes for c in n if _strip(c.tag) == name]
    return nodes


def _text(node, name):
    for c in node:
        if _strip(c.tag) == name:
            return c.text or ""
    return ""


class Watch:
    """What a watched network lets out, read from moto directly (not through the behaviours): each
    subnet's default routes by its effective route table, each group's HTTPS egress."""

    def __init__(self, upstream, auth):
        self.upstream, self.auth = upstream, auth

    def ask(self, params):
        body = urllib.parse.urlencode(dict(params, Version="2016-11-15")).encode()
        c = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        c.request("POST", "/", body=body, headers={
            "Authorization": self.auth, "Content-Type": "application/x-www-form-urlencoded"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return ET.fromstring(data)

    def routes(self, subnets):
        """subnet -> the default destinations (0.0.0.0/0, ::/0) its effective table routes somewhere."""
        vpc_of = {}
        for item in _items(self.ask({"Action": "DescribeSubnets"}), "subnetSet/item"):
            vpc_of[_text(item, "subnetId")] = _text(item, "vpcId")
        explicit, main = {}, {}
        for t in _items(self.ask({"Action": "DescribeRouteTables"}), "routeTableSet/item"):
            dests = set()
            for r in _items(t, "routeSet/item"):
                dest = _text(r, "destinationCidrBlock") or _text(r, "destinationIpv6CidrBlock")
                target = (_text(r, "natGatewayId") or _text(r, "egressOnlyInternetGatewayId")
                          or _text(r, "networkInterfaceId") or _text(r, "gatewayId"))
                if dest in ("0.0.0.0/0", "::/0") and target and target != "local" \
                        and _text(r, "state") != "blackhole":
                    dests.add(dest)
            for a in _items(t, "associationSet/item"):
                if _text(a, "subnetId"):
                    explicit[_text(a, "subnetId")] = dests
                if _text(a, "main") == "true":
                    main[_text(t, "vpcId")] = dests
        acl = self.acls_let_https(subnets)
        return {s: sorted(explicit.get(s, main.get(vpc_of.get(s), set()))
                          | ({"network-acl"} if acl.get(s) else set())) for s in subnets}

    def acls_let_https(self, subnets):
        """subnet -> whether its network ACL lets HTTPS out to anywhere and the replies back in
        (stateless: the first matching entry by rule number decides, each way)."""
        def allows(entries, egress, port):
            for e in sorted((e for e in entries if e["egress"] == egress), key=lambda e: e["rule"]):
                if e["cidr"] != "0.0.0.0/0" or e["protocol"] not in ("-1", "6"):
                    continue
                if e["protocol"] == "6" and not e["lo"] <= port <= e["hi"]:
                    continue
                return e["action"] == "allow"
            return False
        out = {}
        for acl in _items(self.ask({"Action": "DescribeNetworkAcls"}), "networkAclSet/item"):
            entries = []
            for e in _items(acl, "entrySet/item"):
                ports = _items(e, "portRange")
                lo = int(_text(ports[0], "from") or 0) if ports else 0
                hi = int(_text(ports[0], "to") or 65535) if ports else 65535
                entries.append({"rule": int(_text(e, "ruleNumber") or 0), "egress": _text(e, "egress") == "true",
                                "protocol": _text(e, "protocol"), "action": _text(e, "ruleAction"),
                                "cidr": _text(e, "cidrBlock"), "lo": lo, "hi": hi})
            ok = allows(entries, True, 443) and allows(entries, False, 50000)
            for a in _items(acl, "associationSet/item"):
                if _text(a, "subnetId") in subnets:
                    out[_text(a, "subnetId")] = ok
        return out

    def https_out(self, groups):
        """group -> whether its egress lets HTTPS to anywhere out."""
        params = {"Action": "DescribeSecurityGroups"}
        for i, g in enumerate(groups, 1):
            params["GroupId.%d" % i] = g
        out = {g: False for g in groups}
        for g in _items(self.ask(params), "securityGroupInfo/item"):
            ok = False
            for p in _items(g, "ipPermissionsEgress/item"):
                proto = _text(p, "ipProtocol")
                try:
                    lo, hi = int(_text(p, "fromPort") or 0), int(_text(p, "toPort") or 65535)
                except ValueError:
                    lo, hi = 0, 65535
                port_ok = proto == "-1" or (proto in ("tcp", "6") and lo <= 443 <= hi)
                anywhere = any(_text(r, "cidrIp") == "0.0.0.0/0" for r in _items(p, "ipRanges/item"))
                ok = ok or (port_ok and anywhere)
            out[_text(g, "groupId")] = ok
        return out


class Account(Behaviour):
    """An account's own view of the region (set by POST /_realism/account): {"zones": [{"name", "id"}],
    "lambda_refuses": [zone ids], "not_offered": {zone id: [instance types]}, "quotas": {"vpcs",
    "internet_gateways", "egress_only", "elastic_ips", "nat_per_az"}}."""
    name = "account"
    LIMITS = {"vpcs": ("vpc", "L-F678F1CE", "VPCs per Region"),
              "internet_gateways": ("vpc", "L-A4707A72", "Internet gateways per Region"),
              "egress_only": ("vpc", "L-45FE3B85", "Egress-only internet gateways per Region"),
              "elastic_ips": ("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs"),
              "nat_per_az": ("vpc", "L-FE5A380F", "NAT gateways per Availability Zone")}

    def __init__(self, world, args):
        super().__init__(world, args)
        self.watch = None

    def ask(self, params):
        return self.watch.ask(params)

    def zone_of_subnet(self, subnet):
        for item in _items(self.ask({"Action": "DescribeSubnets", "SubnetId.1": subnet}), "subnetSet/item"):
            return _text(item, "availabilityZone")
        return None

    def zone_id(self, name):
        for z in self.w.account.get("zones", []):
            if z["name"] == name:
                return z["id"]
        return None

    def count(self, action, path):
        return len(_items(self.ask({"Action": action}), path))

    def before(self, req, now):
        a = self.w.account
        if not a:
            return None
        # Asked as EC2, whatever service the request is for.
        self.watch = Watch(UPSTREAM, re.sub(r"/[\w-]+/aws4_request", "/ec2/aws4_request",
                                            req.headers.get("Authorization", "")))
        # "enforce": false answers Service Quotas and enforces nothing (an account whose quotas were
        # raised, for runs of many copies: no counting reads on every create).
        q = a.get("quotas", {}) if a.get("enforce", True) else {}
        p = req.params
        names = [z["name"] for z in a.get("zones", [])]
        if req.service == "ec2" and req.action == "CreateSubnet" and names:
            zone = p.get("AvailabilityZone")
            if zone and zone not in names:
                self.w.count("account:zone-refused")
                return error("ec2", "InvalidParameterValue",
                             "Value (%s) for parameter availabilityZone is invalid. Subnets can currently "
                             "only be created in the following availability zones: %s." % (zone, ", ".join(names)))
        limits = {"CreateVpc": ("vpcs", "DescribeVpcs", "vpcSet/item", "VpcLimitExceeded",
                                "The maximum number of VPCs has been reached."),
                  "CreateInternetGateway": ("internet_gateways", "DescribeInternetGateways",
                                            "internetGatewaySet/item", "InternetGatewayLimitExceeded",
                                            "The maximum number of internet gateways has been reached."),
                  "CreateEgressOnlyInternetGateway": ("egress_only", "DescribeEgressOnlyInternetGateways",
                                                      "egressOnlyInternetGatewaySet/item",
                                                      "EgressOnlyInternetGatewayLimitExceeded",
                                                      "The maximum number of egress-only internet gateways has been reached."),
                  "AllocateAddress": ("elastic_ips", "DescribeAddresses", "addressesSet/item",
                                      "AddressLimitExceeded", "The maximum number of addresses has been reached.")}
        if req.service == "ec2" and req.action in limits and limits[req.action][0] in q:
            key, action, path, code, message = limits[req.action]
            if self.count(action, path) >= q[key]:
                self.w.count("account:quota-" + key)
                return error("ec2", code, message)
        if req.service == "ec2" and req.action == "CreateNatGateway" and "nat_per_az" in q:
            # Two reads whatever the number of NAT gateways: the live ones, then their subnets' zones.
            live = [_text(n, "subnetId") for n in
                    _items(self.ask({"Action": "DescribeNatGateways"}), "natGatewaySet/item")
                    if _text(n, "state") in ("pending", "available")]
            ids = sorted(set(live + [p.get("SubnetId")]))
            ask = {"Action": "DescribeSubnets"}
            ask.update({"SubnetId.%d" % (i + 1): sid for i, sid in enumerate(ids)})
            zones = {_text(sn, "subnetId"): _text(sn, "availabilityZone")
                     for sn in _items(self.ask(ask), "subnetSet/item")}
            zone = zones.get(p.get("SubnetId"))
            nats = sum(1 for sid in live if zones.get(sid) == zone)
            if nats >= q["nat_per_az"]:
                self.w.count("account:quota-nat_per_az")
                return error("ec2", "NatGatewayLimitExceeded",
                             "Performing this operation would exceed the limit of %d NAT gateways" % q["nat_per_az"])
        if req.service == "ec2" and req.action == "RunInstances":
            subnet = p.get("NetworkInterface.1.SubnetId") or p.get("SubnetId")
            zone = self.zone_of_subnet(subnet) if subnet else None
            itype = p.get("InstanceType", "")
            if zone and itype in a.get("not_offered", {}).get(self.zone_id(zone) or "", []):
                others = [z["name"] for z in a.get("zones", [])
                          if itype not in a.get("not_offered", {}).get(z["id"], [])]
                self.w.count("account:type-not-offered")
                return error("ec2", "Unsupported",
                             "Your requested instance type (%s) is not supported in your requested "
                             "Availability Zone (%s). Please retry your request by not specifying an "
                             "Availability Zone or choosing %s." % (itype, zone, ", ".join(others)))
        if req.service == "lambda" and req.action == "CreateFunction":
            for subnet in (p.get("VpcConfig") or {}).get("SubnetIds") or []:
                zone = self.zone_of_subnet(subnet)
                if zone and self.zone_id(zone) in a.get("lambda_refuses", []):
                    self.w.count("account:lambda-refused")
                    return error("lambda", "InvalidParameterValueException",
                                 "The provided subnets contain availability zone Lambda doesn't support. "
                                 "Please use a different set of subnets.")
        if req.service == "servicequotas" and req.action in ("GetServiceQuota", "GetAWSDefaultServiceQuota"):
            for key, (service, code, name) in self.LIMITS.items():
                if p.get("QuotaCode") == code and key in a.get("quotas", {}):
                    q = a["quotas"]
                    body = {"Quota": {"ServiceCode": service, "QuotaCode": code, "QuotaName": name,
                                      "Value": float(q[key]), "Unit": "None", "Adjustable": True,
                                      "GlobalQuota": False}}
                    return 200, {"Content-Type": "application/x-amz-json-1.1"}, json.dumps(body).encode()
        return None

    def after(self, req, answer, now):
        a = self.w.account
        if not a or req.service != "ec2" or answer[0] >= 300:
            return answer
        text = answer[2].decode("utf-8", "replace")
        if req.action == "DescribeAvailabilityZones" and a.get("zones"):
            items = "".join(
                "<item><messageSet/><regionName>%s</regionName><zoneName>%s</zoneName><zoneId>%s</zoneId>"
                "<zoneType>availability-zone</zoneType><zoneState>available</zoneState>"
                "<optInStatus>opt-in-not-required</optInStatus></item>"
                % (a.get("region", "us-east-1"), z["name"], z["id"]) for z in a.get("zones", []))
            text = re.sub(r"<availabilityZoneInfo>.*</availabilityZoneInfo>",
                          "<availabilityZoneInfo>%s</availabilityZoneInfo>" % items, text, flags=re.S)
        if req.action == "DescribeInstanceTypeOfferings":
            def keep(m):
                zone = re.search(r"<location>([^<]+)</location>", m.group(0))
                itype = re.search(r"<instanceType>([^<]+)</instanceType>", m.group(0))
                zid = self.zone_id(zone.group(1)) if zone else None
                if zid is None or (itype and itype.group(1) in a.get("not_offered", {}).get(zid, [])):
                    return ""
                return m.group(0)
            text = re.sub(r"<item>\s*<instanceType>.*?</item>", keep, text, flags=re.S)
        # AZ IDs as this account maps them (moto keeps its own mapping).
        moto_ids = a.get("_moto_ids", {})
        text = re.sub(r"<availabilityZoneId>([^<]+)</availabilityZoneId>",
                      lambda m: "<availabilityZoneId>%s</availabilityZoneId>" % (
                          self.zone_id(moto_ids.get(m.group(1), "")) or m.group(1)), text)
        return answer[0], answer[1], text.encode()

WATCH_LOCK = None
UPSTREAM = None

BEHAVIOURS = [Account, Injected, Latency, Throttle, Errors, Consistency, Tokens, Nat, Endpoints, Propagation,
              Functions, Interfaces, Lost]


# --------------------------------------------------------------------------------------------------
# The proxy


def main():
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--listen", type=int, required=True)
    a.add_argument("--upstream", required=True)
    a.add_argument("--profile", default="all", choices=["timing", "faults", "all", "none"])
    a.add_argument("--only", default="", help="comma-separated behaviours (instead of the profile)")
    a.add_argument("--without", default="", help="comma-separated behaviours to switch off")
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--scale", type=float, default=0.05)
    a.add_argument("--p-error", type=float, default=0.04)
    a.add_argument("--p-lost", type=float, default=0.03)
    a.add_argument("--p-unseen", type=float, default=0.5)
    a.add_argument("--consistency-window", type=float, default=1.0)
    a.add_argument("--unseen-by", default="", help="comma-separated actions: only these see young ids "
                   "as NotFound (default: all)")
    a.add_argument("--bucket-scale", type=float, default=0.1)
    args = a.parse_args()
    chosen = set(args.only.split(",")) - {""} if args.only else set(
        {"timing": TIMING, "faults": FAULTS, "all": TIMING + FAULTS, "none": []}[args.profile])
    chosen -= set(args.without.split(","))
    world = World(args.scale, args.seed)
    global WATCH_LOCK, UPSTREAM
    WATCH_LOCK = threading.Lock()
    active = [b(world, args) for b in BEHAVIOURS if b.name in chosen or b.name in ("injected", "account")]
    upstream = urllib.parse.urlparse(args.upstream)
    UPSTREAM = upstream

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_):
            pass

        def do_GET(self):
            self.handle_any()

        do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        def send(self, answer):
            status, headers, body = answer
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def forward(self, body):
            c = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=300)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
            c.request(self.command, self.path, body=body, headers=headers)
            r = c.getresponse()
            answer = (r.status, dict(r.getheaders()), r.read())
            c.close()
            return answer

        def control(self, body):
            if self.path.startswith("/_realism/stats"):
                with world.lock:
                    return 200, {"Content-Type": "application/json"}, json.dumps(world.stats).encode()
            if self.path.startswith("/_realism/fail"):
                f = json.loads(body or b"{}")
                with world.lock:
                    world.injected.append({"action": f["action"], "nth": int(f.get("nth", 1)),
                                           "code": f.get("code", "InvalidParameterValue"),
                                           "status": int(f.get("status", 400)), "seen": 0,
                                           "after": bool(f.get("after", False))})
                return 200, {"Content-Type": "application/json"}, b"{}"
            if self.path.startswith("/_realism/reset"):
                with world.lock:
                    world.reset()
                return 200, {"Content-Type": "application/json"}, b"{}"
            if self.path.startswith("/_realism/account"):
                f = json.loads(body or b"{}")
                region = f.get("region", "us-east-1")
                auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/%s/ec2/aws4_request, "
                        "SignedHeaders=host, Signature=0" % region)
                moto_ids = {}
                for z in _items(Watch(upstream, auth).ask({"Action": "DescribeAvailabilityZones"}),
                                "availabilityZoneInfo/item"):
                    moto_ids[_text(z, "zoneId")] = _text(z, "zoneName")
                f["_moto_ids"] = moto_ids
                with world.lock:
                    world.account = f
                return 200, {"Content-Type": "application/json"}, b"{}"
            if self.path.startswith("/_realism/mark"):
                with world.lock:
                    world.calls = []
                    world.injected = []
                return 200, {"Content-Type": "application/json"}, b"{}"
            if self.path.startswith("/_realism/calls"):
                with world.lock:
                    return 200, {"Content-Type": "application/json"}, json.dumps(world.calls).encode()
            if self.path.startswith("/_realism/violations"):
                with world.lock:
                    return 200, {"Content-Type": "application/json"}, json.dumps(world.violations).encode()
            if self.path.startswith("/_realism/watch"):
                f = json.loads(body or b"{}")
                region = f.get("region", "us-east-1")
                auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/%s/ec2/aws4_request, "
                        "SignedHeaders=host, Signature=0" % region)
                w = Watch(upstream, auth)
                subnets, groups = f.get("subnets") or [], f.get("groups") or []
                with WATCH_LOCK:
                    seen = {"subnets": w.routes(subnets) if subnets else {},
                            "groups": w.https_out(groups) if groups else {}}
                    with world.lock:
                        world.watch = dict(seen, watcher=w)
                        world.violations = []
                return 200, {"Content-Type": "application/json"}, json.dumps(seen).encode()
            return None

        def handle_any(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else b""
            req = Request(self.command, self.path, self.headers, body)
            if req.service == "control":
                answer = self.control(body)
                return self.send(answer if answer else self.forward(body))
            if req.service == "s3":
                # S3 (remote state) takes only the failures a test asks for.
                injected = [b for b in active if b.name == "injected"]
                with world.lock:
                    world.calls.append([req.service, req.action, req.changes, 0])
                    refused = injected[0].before(req, time.monotonic())
                if refused:
                    return self.send(refused)
                answer = self.forward(body)
                with world.lock:
                    answer = injected[0].after(req, answer, time.monotonic())
                return self.send(answer)
            if req.service not in ("ec2", "iam", "lambda", "servicequotas", "sts"):
                return self.send(self.forward(body))
            world.count("%s:%s" % (req.service, req.action))
            for b in active:
                if b.name == "latency":
                    b.before(req, time.monotonic())
            with world.lock:
                now = time.monotonic()
                for b in active:
                    if b.name != "latency":
                        refused = b.before(req, now)
                        if refused:
                            return self.send(refused)
            watching = world.watch is not None and req.changes and req.service == "ec2"
            if watching:
                # Changing calls one at a time while watching, so each check sees the network as
                # this call left it.
                WATCH_LOCK.acquire()
            try:
                answer = self.forward(body)
                with world.lock:
                    now = time.monotonic()
                    for b in active:
                        answer = b.after(req, answer, now)
                    world.calls.append([req.service, req.action, req.changes, answer[0]])
                if watching:
                    self.check_watch(req)
            finally:
                if watching:
                    WATCH_LOCK.release()
            self.send(answer)

        def check_watch(self, req):
            w = world.watch
            if w is None:
                return
            watcher = w["watcher"]
            lost = []
            now_routes, now_groups = {}, {}
            if w["subnets"]:
                now_routes = watcher.routes(list(w["subnets"]))
                for sub, had in w["subnets"].items():
                    for dest in had:
                        if dest not in now_routes.get(sub, []) and dest == "network-acl":
                            lost.append("%s: its network ACL no longer lets HTTPS out and the replies in" % sub)
                        elif dest not in now_routes.get(sub, []):
                            lost.append("%s lost its %s route" % (sub, dest))
            if w["groups"]:
                now_groups = watcher.https_out(list(w["groups"]))
                for g, had in w["groups"].items():
                    if had and not now_groups.get(g):
                        lost.append("%s no longer lets HTTPS out" % g)
            if lost:
                with world.lock:
                    for what in lost:
                        world.violations.append({"call": req.action, "lost": what})
                    # Each loss is told once, by the call that lost it.
                    if w["subnets"]:
                        w["subnets"] = {k: [d for d in v if d in now_routes.get(k, [])]
                                        for k, v in w["subnets"].items()}
                    if w["groups"]:
                        w["groups"] = {k: v and now_groups.get(k, False) for k, v in w["groups"].items()}

    server = ThreadingHTTPServer(("127.0.0.1", args.listen), Handler)
    server.daemon_threads = True
    print("realism on %d -> %s: %s (seed %d, scale %s)" % (
        args.listen, args.upstream, ",".join(sorted(b.name for b in active)), args.seed, args.scale), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
