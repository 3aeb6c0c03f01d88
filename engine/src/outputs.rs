//! What users copy out of a deployment (`netplan output`): VPC and subnet ids, the NAT public IPs a
//! partner allow-lists, function names and ARNs, role ARNs — read from the state alone, named after the
//! config's tables (`network.main.nat_public_ips`, `function.probe.arn`).
//!
//! A high-level table (`[network.*]`, `[function.*]`) gives the outputs of what it expanded into; a
//! low-level resource not expanded from one gives its own (`vpc.main.id`, `lambda_function.f.arn`).
//! Only what the state records is output: a resource not created yet has no output, never a guess.

use crate::addr::{Kind, ResourceAddr};
use crate::config::Config;
use crate::state::State;
use serde_json::Value;
use std::collections::BTreeMap;

/// One output: its name, its value (a string or a list of strings) and what it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    pub name: String,
    pub value: Value,
    pub about: &'static str,
}

/// The outputs of `state` for `config`, in the config's order (tables by address).
pub fn collect(config: &Config, state: &State) -> Vec<Output> {
    let attr = |addr: &ResourceAddr, name: &str| -> Option<String> {
        let r = record(state, addr)?;
        if name == "id" {
            return Some(r.id.clone());
        }
        r.attributes
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    // Resources grouped by the table that declared them (their origin, or themselves).
    let mut groups: BTreeMap<ResourceAddr, Vec<&ResourceAddr>> = BTreeMap::new();
    for (addr, r) in &config.resources {
        let group = r.origin.clone().unwrap_or_else(|| addr.clone());
        groups.entry(group).or_default().push(addr);
    }
    let mut out = vec![];
    for (group, members) in &groups {
        let of = |kind: Kind| members.iter().copied().filter(move |a| a.kind == kind);
        let mut push = |name: &str, value: Option<Value>, about: &'static str| {
            if let Some(value) = value {
                out.push(Output {
                    name: format!("{group}.{name}"),
                    value,
                    about,
                });
            }
        };
        let one = |kind: Kind, name: &str| -> Option<Value> {
            of(kind).find_map(|a| attr(a, name)).map(Value::String)
        };
        let list = |addrs: Vec<&ResourceAddr>, name: &str| -> Option<Value> {
            let values: Vec<Value> = addrs
                .into_iter()
                .filter_map(|a| attr(a, name))
                .map(Value::String)
                .collect();
            (!values.is_empty()).then_some(Value::Array(values))
        };
        match group.kind {
            Kind::Network => {
                push("vpc_id", one(Kind::Vpc, "id"), "the VPC's id");
                push(
                    "ipv6_cidr",
                    one(Kind::Vpc, "ipv6_cidr_block"),
                    "the VPC's IPv6 block",
                );
                let (public, private): (Vec<&ResourceAddr>, Vec<&ResourceAddr>) =
                    of(Kind::Subnet).partition(|s| crate::reach::is_public(config, s));
                push(
                    "public_subnet_ids",
                    list(public, "id"),
                    "the public subnets' ids",
                );
                push(
                    "private_subnet_ids",
                    list(private, "id"),
                    "the private subnets' ids (the functions')",
                );
                push(
                    "nat_public_ips",
                    nat_ips(config, state, members),
                    "the addresses the private subnets reach the internet from (for allow-lists)",
                );
                push(
                    "s3_endpoint_id",
                    one(Kind::VpcEndpoint, "id"),
                    "the S3 gateway endpoint's id",
                );
            }
            Kind::Function => {
                push(
                    "name",
                    one(Kind::LambdaFunction, "name"),
                    "the function's name",
                );
                push(
                    "arn",
                    one(Kind::LambdaFunction, "arn"),
                    "the function's ARN",
                );
                push(
                    "role_arn",
                    one(Kind::IamRole, "arn"),
                    "its execution role's ARN",
                );
                push(
                    "security_group_id",
                    one(Kind::SecurityGroup, "id"),
                    "its security group's id",
                );
            }
            Kind::LambdaFunction => {
                push(
                    "name",
                    one(Kind::LambdaFunction, "name"),
                    "the function's name",
                );
                push(
                    "arn",
                    one(Kind::LambdaFunction, "arn"),
                    "the function's ARN",
                );
            }
            Kind::IamRole => push("arn", one(Kind::IamRole, "arn"), "the role's ARN"),
            Kind::ElasticIp => push(
                "public_ip",
                one(Kind::ElasticIp, "public_ip"),
                "its address",
            ),
            Kind::NatInstance => {
                push("id", one(Kind::NatInstance, "id"), "the instance's id");
                push(
                    "public_ip",
                    one(Kind::NatInstance, "public_ip"),
                    "its public address",
                );
            }
            kind => push("id", one(kind, "id"), "its id"),
        }
    }
    out
}

/// The public addresses NAT traffic of a network leaves from: its NAT gateways' Elastic IPs and its NAT
/// instances' public addresses.
fn nat_ips(config: &Config, state: &State, members: &[&ResourceAddr]) -> Option<Value> {
    let record = |a: &ResourceAddr| record(state, a);
    let mut ips: Vec<Value> = vec![];
    for a in members {
        let ip = match a.kind {
            Kind::NatGateway | Kind::NatInstance => {
                let via_eip = config.resources.get(*a).and_then(|r| {
                    r.references()
                        .into_iter()
                        .find(|x| x.addr.kind == Kind::ElasticIp)
                        .and_then(|x| record(&x.addr))
                        .and_then(|e| e.attributes.get("public_ip").cloned())
                });
                via_eip.or_else(|| record(a).and_then(|r| r.attributes.get("public_ip").cloned()))
            }
            _ => None,
        };
        if let Some(ip) = ip.filter(|v| v.as_str().is_some_and(|s| !s.is_empty())) {
            if !ips.contains(&ip) {
                ips.push(ip);
            }
        }
    }
    (!ips.is_empty()).then_some(Value::Array(ips))
}

/// The live (not deposed) object the state holds for `addr`.
fn record<'s>(state: &'s State, addr: &ResourceAddr) -> Option<&'s crate::state::ResourceState> {
    state
        .resources
        .iter()
        .find(|r| &r.address == addr && !r.deposed)
}

/// A value as `--raw` prints it: a string as is, a list one item per line.
pub fn raw(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        v => v.to_string(),
    }
}
