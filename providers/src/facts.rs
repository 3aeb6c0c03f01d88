//! AWS's facts as netplan's providers declare them to the engine (`netplan_engine::facts`): typical
//! step durations (dated and sourced, one table), which creates are slow, and the delete order AWS
//! enforces. Kept apart from the SDK so the fake cloud, which models AWS's rules, shares the rules and
//! the engine's tests and benches can estimate with AWS's figures without building the SDK.

use netplan_engine::facts::{CloudFacts, Op};
use netplan_engine::state::{ResourceState, State};
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
        format!("AWS's typical latencies as of {AS_OF}")
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
