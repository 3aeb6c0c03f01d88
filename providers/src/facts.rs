//! AWS's facts as netplan's providers declare them to the engine (`netplan_engine::facts`): typical
//! step durations (dated and sourced, one table), which creates are slow, and the delete order AWS
//! enforces. Kept apart from the SDK so the fake cloud, which models AWS's rules, shares the rules and
//! the engine's tests and benches can estimate with AWS's figures without building the SDK.

use netplan_engine::facts::{CloudFacts, Op};
use netplan_engine::state::{ResourceState, State};
use netplan_engine::value::{Attrs, Value};
use netplan_engine::{Kind, ResourceAddr};
use std::collections::HashMap;
use std::time::Duration;

/// When the figures below were last checked against AWS's documentation and field reports.
pub const AS_OF: &str = "2026-12";

/// One kind's typical durations on AWS, in seconds: (kind, create, update, delete, source).
/// "Typical" is the median users see, lifecycle included; the sources are AWS's documentation pages
/// (and, where AWS gives no figure, the AWS provider for Terraform's acceptance-test timings).
pub const AWS_SECONDS: &[(Kind, f64, f64, f64, &str)] = &[
    (Kind::Vpc, 2.0, 1.0, 1.0, "EC2 API: CreateVpc answers `available` within seconds"),
    (Kind::Subnet, 1.0, 1.0, 1.0, "EC2 API: CreateSubnet answers `available`"),
    (Kind::InternetGateway, 2.0, 1.0, 2.0, "EC2 API: create, then attach"),
    (Kind::EgressOnlyInternetGateway, 1.0, 1.0, 1.0, "EC2 API"),
    (Kind::ElasticIp, 1.0, 1.0, 1.0, "EC2 API: AllocateAddress"),
    (
        Kind::NatGateway,
        120.0,
        1.0,
        60.0,
        "VPC user guide, NAT gateways: `pending` then `available`, typically 1-5 minutes; `deleting` about a minute",
    ),
    (
        Kind::NatInstance,
        45.0,
        2.0,
        45.0,
        "EC2 user guide, instance lifecycle: `pending` to `running` in under a minute for a t4g.nano; terminate likewise",
    ),
    (Kind::RouteTable, 1.0, 1.0, 1.0, "EC2 API"),
    (
        Kind::VpcEndpoint,
        5.0,
        5.0,
        5.0,
        "PrivateLink guide, gateway endpoints: `pending` for seconds",
    ),
    (Kind::SecurityGroup, 1.0, 1.0, 1.0, "EC2 API"),
    (Kind::NetworkAcl, 1.0, 1.0, 1.0, "EC2 API"),
    (
        Kind::IamRole,
        10.0,
        1.0,
        1.0,
        "IAM user guide, eventual consistency: a new role is usable by Lambda after ~10 s",
    ),
    (
        Kind::LambdaFunction,
        75.0,
        20.0,
        5.0,
        "Lambda developer guide, function states: `Pending` while its VPC network interfaces are made (about a minute); `InProgress` after an update",
    ),
];

/// AWS's request-rate bucket for an action: (burst, refill a second). EC2's are its documented
/// token buckets per action (EC2 API reference, "Request throttling": mutating actions 200 / 5 a
/// second, non-mutating 100 / 20, RunInstances 50 / 5); Lambda's control plane 15 a second and
/// GetFunction 100 (Lambda quotas page); IAM about 10 a second (IAM quotas, not published exactly);
/// SSM GetParameter 40; Service Quotas 10. As of 2026-12. The request layer keeps under these, and
/// the plan's estimate counts them.
pub fn bucket(service: &str, action: &str) -> (f64, f64) {
    match service {
        "ec2" if action == "RunInstances" => (50.0, 5.0),
        "ec2" if action.starts_with("Describe") => (100.0, 20.0),
        "ec2" => (200.0, 5.0),
        "lambda" if action == "GetFunction" => (100.0, 100.0),
        "lambda" => (15.0, 15.0),
        "iam" => (20.0, 10.0),
        "ssm" => (40.0, 40.0),
        "servicequotas" => (10.0, 10.0),
        _ => (50.0, 50.0),
    }
}

fn count(config: Option<&Attrs>, key: &str) -> u32 {
    config
        .and_then(|c| c.get(key))
        .map(|v| v.as_list().len() as u32)
        .unwrap_or(0)
}

/// A table's routes through a NAT (what a completion adds).
fn through_nat(config: Option<&Attrs>) -> u32 {
    let Some(routes) = config.and_then(|c| c.get("routes")) else {
        return 0;
    };
    routes
        .as_list()
        .iter()
        .filter(|r| {
            let mut refs = vec![];
            r.references(&mut refs);
            refs.iter()
                .any(|x| matches!(x.addr.kind, Kind::NatGateway | Kind::NatInstance))
        })
        .count() as u32
}

/// The requests one step sends on AWS, by action (what the request-rate floor counts; polling while
/// an object is pending is shared and left out).
pub fn requests(kind: Kind, op: Op, config: Option<&Attrs>) -> Vec<(String, u32)> {
    let ec2 = |a: &str, n: u32| (format!("ec2:{a}"), n);
    let mut out = match (kind, op) {
        (Kind::Vpc, Op::Create) => vec![
            ec2("CreateVpc", 1),
            ec2("DescribeRouteTables", 1),
            ec2(
                "ModifyVpcAttribute",
                u32::from(config.and_then(|c| c.get("dns_hostnames")) == Some(&Value::Bool(true))),
            ),
        ],
        (Kind::Subnet, Op::Create) => vec![ec2("CreateSubnet", 1)],
        (Kind::InternetGateway, Op::Create) => {
            vec![
                ec2("CreateInternetGateway", 1),
                ec2("AttachInternetGateway", 1),
            ]
        }
        (Kind::EgressOnlyInternetGateway, Op::Create) => {
            vec![ec2("CreateEgressOnlyInternetGateway", 1)]
        }
        (Kind::ElasticIp, Op::Create) => vec![ec2("AllocateAddress", 1)],
        (Kind::NatGateway, Op::Create) => vec![ec2("CreateNatGateway", 1)],
        (Kind::NatInstance, Op::Create) => vec![
            ec2("CreateSecurityGroup", 1),
            ec2("AuthorizeSecurityGroupIngress", 1),
            ec2("RunInstances", 1),
            ec2("ModifyInstanceAttribute", 1),
            ("ssm:GetParameter".into(), 1),
        ],
        (Kind::RouteTable, Op::Create) => vec![
            ec2("CreateRouteTable", 1),
            ec2("CreateRoute", count(config, "routes")),
            ec2("AssociateRouteTable", count(config, "subnets")),
        ],
        // A completion (job-graph rule (f)): the routes through the NAT, between two reads.
        (Kind::RouteTable, Op::Update) => vec![
            ec2("DescribeRouteTables", 2),
            ec2("CreateRoute", through_nat(config).max(1)),
        ],
        (Kind::VpcEndpoint, Op::Create) => vec![ec2("CreateVpcEndpoint", 1)],
        (Kind::SecurityGroup, Op::Create) => vec![
            ec2("CreateSecurityGroup", 1),
            ec2("DescribeSecurityGroups", 1),
        ],
        (Kind::NetworkAcl, Op::Create) => vec![
            ec2("CreateNetworkAcl", 1),
            ec2(
                "CreateNetworkAclEntry",
                count(config, "egress") + count(config, "ingress"),
            ),
            ec2("ReplaceNetworkAclAssociation", count(config, "subnets")),
        ],
        (Kind::IamRole, Op::Create) => vec![
            ("iam:CreateRole".into(), 1),
            (
                "iam:AttachRolePolicy".into(),
                count(config, "managed_policies"),
            ),
        ],
        (Kind::LambdaFunction, Op::Create) => vec![("lambda:CreateFunction".into(), 1)],
        (k, Op::Delete) => {
            let action = match k {
                Kind::IamRole => return vec![("iam:DeleteRole".into(), 1)],
                Kind::LambdaFunction => return vec![("lambda:DeleteFunction".into(), 1)],
                Kind::InternetGateway => {
                    return vec![
                        ec2("DetachInternetGateway", 1),
                        ec2("DeleteInternetGateway", 1),
                    ]
                }
                Kind::Vpc => "DeleteVpc",
                Kind::Subnet => "DeleteSubnet",
                Kind::EgressOnlyInternetGateway => "DeleteEgressOnlyInternetGateway",
                Kind::ElasticIp => "ReleaseAddress",
                Kind::NatGateway => "DeleteNatGateway",
                Kind::NatInstance => "TerminateInstances",
                Kind::RouteTable => "DeleteRouteTable",
                Kind::VpcEndpoint => "DeleteVpcEndpoints",
                Kind::SecurityGroup => "DeleteSecurityGroup",
                Kind::NetworkAcl => "DeleteNetworkAcl",
                Kind::Network | Kind::Function => return vec![],
            };
            vec![ec2(action, 1)]
        }
        (Kind::IamRole, _) => vec![("iam:Update".into(), 1)],
        (Kind::LambdaFunction, _) => vec![("lambda:UpdateFunctionConfiguration".into(), 1)],
        _ => vec![ec2("Modify", 1)],
    };
    out.retain(|(_, n)| *n > 0);
    out
}

/// AWS's figures, as the AWS provider declares them.
#[derive(Debug, Clone, Copy, Default)]
pub struct AwsFacts;

impl CloudFacts for AwsFacts {
    fn typical(&self, kind: Kind, op: Op) -> Duration {
        AWS_SECONDS
            .iter()
            .find(|(k, ..)| *k == kind)
            .map(|(_, c, u, d, _)| match op {
                Op::Create => *c,
                Op::Update => *u,
                Op::Delete => *d,
            })
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(1))
    }

    fn slow_create(&self, kind: Kind) -> bool {
        matches!(kind, Kind::NatGateway | Kind::NatInstance)
    }

    fn delete_order(&self, state: &State) -> Vec<(ResourceAddr, ResourceAddr)> {
        delete_order(state)
    }

    fn source(&self) -> String {
        format!("AWS's typical latencies and request rates as of {AS_OF}")
    }

    fn requests(&self, kind: Kind, op: Op, config: Option<&Attrs>) -> Vec<(String, u32)> {
        requests(kind, op, config)
    }

    fn rate(&self, bucket: &str) -> Option<(f64, f64)> {
        let (service, action) = bucket.split_once(':')?;
        Some(self::bucket(service, action))
    }
}

/// The deletes AWS refuses in the other order, for the objects in `state`: (first, then).
/// - A function's execution role only after the function's network interfaces are gone — which the
///   deletes of its subnets and security groups wait for (Lambda needs the role to release them).
/// - An internet gateway only after the VPC's NAT gateways and instances are gone and their Elastic
///   IPs released ("Network vpc-… has some mapped public address(es)").
pub fn delete_order(state: &State) -> Vec<(ResourceAddr, ResourceAddr)> {
    let by_addr: HashMap<&ResourceAddr, &ResourceState> = state
        .resources
        .iter()
        .filter(|r| !r.deposed)
        .map(|r| (&r.address, r))
        .collect();
    let of_kind = |k: Kind| state.resources.iter().filter(move |r| r.address.kind == k);
    let mut out = vec![];
    for f in of_kind(Kind::LambdaFunction) {
        for role in f.dependencies.iter().filter(|d| d.kind == Kind::IamRole) {
            for net in f
                .dependencies
                .iter()
                .filter(|d| matches!(d.kind, Kind::Subnet | Kind::SecurityGroup))
            {
                out.push((net.clone(), role.clone()));
            }
        }
    }
    for igw in of_kind(Kind::InternetGateway) {
        let vpcs: Vec<&ResourceAddr> = igw
            .dependencies
            .iter()
            .filter(|d| d.kind == Kind::Vpc)
            .collect();
        for nat in of_kind(Kind::NatGateway).chain(of_kind(Kind::NatInstance)) {
            let in_vpc = nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::Subnet)
                .filter_map(|s| by_addr.get(s))
                .any(|s| s.dependencies.iter().any(|v| vpcs.contains(&v)));
            if !in_vpc {
                continue;
            }
            out.push((nat.address.clone(), igw.address.clone()));
            for eip in nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::ElasticIp)
            {
                out.push((eip.clone(), igw.address.clone()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_aws_figures_with_a_source() {
        for k in Kind::RESOURCES {
            let row = AWS_SECONDS.iter().find(|(kind, ..)| *kind == k);
            assert!(row.is_some_and(|r| r.4.len() > 5), "{k}");
        }
    }
}
