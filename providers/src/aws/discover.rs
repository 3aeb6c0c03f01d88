//! `check --live`: everything in some VPCs that decides whether a function there reaches the internet,
//! read with one call per kind filtered by VPC, plus each named function and its role's policies.

use super::api::{Call, Effect};
use super::attrs::object as obj;
use super::AwsProvider;
use aws_sdk_ec2::types::{Filter, RouteState};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::{json, Value as J};
use std::collections::BTreeSet;

fn vpc_filter(vpcs: &[String]) -> Filter {
    Filter::builder()
        .name("vpc-id")
        .set_values(Some(vpcs.to_vec()))
        .build()
}

pub(super) async fn discover(
    p: &AwsProvider,
    req: DiscoverRequest,
) -> Result<Discovered, ProviderError> {
    let mut objects: Vec<(Kind, ObjectState)> = vec![];
    let mut vpcs: BTreeSet<String> = req.vpcs.iter().cloned().collect();
    let mut subnets: Vec<String> = req.subnets.clone();
    let mut roles: BTreeSet<String> = BTreeSet::new();
    for name in &req.functions {
        let f = match p
            .api
            .send(
                Call::lambda("GetFunctionConfiguration", Effect::Read).on([name]),
                || {
                    p.lambda
                        .get_function_configuration()
                        .function_name(name)
                        .send()
                },
            )
            .await
        {
            Ok(f) => f,
            Err(e) if e.kind == ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut a = JsonAttrs::new();
        a.insert("name".into(), json!(name));
        a.insert("role".into(), json!(f.role()));
        if let Some(role) = f.role().and_then(|r| r.rsplit('/').next()) {
            roles.insert(role.to_string());
        }
        if let Some(v) = f.vpc_config() {
            // The VPC from the subnets, not from VpcConfig.VpcId: moto answers a made-up one there.
            subnets.extend(v.subnet_ids().iter().cloned());
            a.insert("subnets".into(), json!(v.subnet_ids()));
            a.insert("security_groups".into(), json!(v.security_group_ids()));
            a.insert(
                "ipv6_dual_stack".into(),
                json!(v.ipv6_allowed_for_dual_stack().unwrap_or(false)),
            );
        }
        objects.push((Kind::LambdaFunction, obj(name, a)));
    }
    if !subnets.is_empty() {
        let out = p
            .api
            .send(Call::ec2("DescribeSubnets", Effect::Read), || {
                p.ec2
                    .describe_subnets()
                    .filters(
                        Filter::builder()
                            .name("subnet-id")
                            .set_values(Some(subnets.clone()))
                            .build(),
                    )
                    .send()
            })
            .await?;
        vpcs.extend(
            out.subnets()
                .iter()
                .filter_map(|s| s.vpc_id().map(str::to_string)),
        );
    }
    for role in &roles {
        match p
            .api
            .send(
                Call::iam("ListAttachedRolePolicies", Effect::Read).on([role]),
                || p.iam.list_attached_role_policies().role_name(role).send(),
            )
            .await
        {
            Ok(out) => {
                let policies: Vec<&str> = out
                    .attached_policies()
                    .iter()
                    .filter_map(|x| x.policy_arn())
                    .collect();
                let mut a = JsonAttrs::new();
                a.insert("name".into(), json!(role));
                a.insert("managed_policies".into(), json!(policies));
                objects.push((Kind::IamRole, obj(role, a)));
            }
            Err(e) if e.kind == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if vpcs.is_empty() {
        return Ok(Discovered { objects });
    }
    let vpcs: Vec<String> = vpcs.into_iter().collect();
    let read = |action| Call::ec2(action, Effect::Read);
    let (v, s, rt, igw, eigw, nat, sg, acl) = futures::join!(
        p.api.send(read("DescribeVpcs"), || p
            .ec2
            .describe_vpcs()
            .filters(vpc_filter(&vpcs))
            .send()),
        p.api.send(read("DescribeSubnets"), || p
            .ec2
            .describe_subnets()
            .filters(vpc_filter(&vpcs))
            .send()),
        p.api.send(read("DescribeRouteTables"), || p
            .ec2
            .describe_route_tables()
            .filters(vpc_filter(&vpcs))
            .send()),
        p.api.send(read("DescribeInternetGateways"), || p
            .ec2
            .describe_internet_gateways()
            .filters(
                Filter::builder()
                    .name("attachment.vpc-id")
                    .set_values(Some(vpcs.clone()))
                    .build()
            )
            .send()),
        p.api.send(read("DescribeEgressOnlyInternetGateways"), || p
            .ec2
            .describe_egress_only_internet_gateways()
            .send()),
        p.api.send(read("DescribeNatGateways"), || p
            .ec2
            .describe_nat_gateways()
            .filter(vpc_filter(&vpcs))
            .send()),
        p.api.send(read("DescribeSecurityGroups"), || p
            .ec2
            .describe_security_groups()
            .filters(vpc_filter(&vpcs))
            .send()),
        super::network_acl::raw(p, vec![vpc_filter(&vpcs)]),
    );
    for x in v?.vpcs() {
        let Some(id) = x.vpc_id() else { continue };
        let mut a = JsonAttrs::new();
        a.insert("cidr".into(), json!(x.cidr_block()));
        let v6 = x
            .ipv6_cidr_block_association_set()
            .iter()
            .find_map(|b| b.ipv6_cidr_block());
        a.insert("ipv6".into(), json!(v6.is_some()));
        if let Some(b) = v6 {
            a.insert("ipv6_cidr_block".into(), json!(b));
        }
        // Whether names resolve: one DescribeVpcAttribute per VPC (DescribeVpcs does not say).
        let dns = p
            .api
            .send(
                Call::ec2("DescribeVpcAttribute", Effect::Read).on([id]),
                || {
                    p.ec2
                        .describe_vpc_attribute()
                        .vpc_id(id)
                        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport)
                        .send()
                },
            )
            .await?;
        if let Some(on) = dns.enable_dns_support().and_then(|v| v.value()) {
            a.insert("dns_support".into(), json!(on));
        }
        objects.push((Kind::Vpc, obj(id, a)));
    }
    for x in s?.subnets() {
        let Some(id) = x.subnet_id() else { continue };
        let mut a = JsonAttrs::new();
        a.insert("vpc".into(), json!(x.vpc_id()));
        a.insert("cidr".into(), json!(x.cidr_block()));
        a.insert("az".into(), json!(x.availability_zone()));
        if let Some(b) = x
            .ipv6_cidr_block_association_set()
            .iter()
            .find_map(|b| b.ipv6_cidr_block())
        {
            a.insert("ipv6_cidr_block".into(), json!(b));
        }
        objects.push((Kind::Subnet, obj(id, a)));
    }
    // Network interfaces routes send traffic to: a NAT instance's, followed below.
    let mut route_enis: BTreeSet<String> = BTreeSet::new();
    for t in rt?.route_tables() {
        let Some(id) = t.route_table_id() else {
            continue;
        };
        let mut a = JsonAttrs::new();
        a.insert("vpc".into(), json!(t.vpc_id()));
        a.insert(
            "main".into(),
            json!(t.associations().iter().any(|x| x.main() == Some(true))),
        );
        let subnets: Vec<&str> = t
            .associations()
            .iter()
            .filter_map(|x| x.subnet_id())
            .collect();
        a.insert("subnets".into(), json!(subnets));
        let routes: Vec<J> = t
            .routes()
            .iter()
            .filter(|r| r.gateway_id() != Some("local") && r.destination_prefix_list_id().is_none())
            .filter_map(|r| {
                let dest = r
                    .destination_cidr_block()
                    .or(r.destination_ipv6_cidr_block())?;
                let target = r
                    .nat_gateway_id()
                    .or(r.egress_only_internet_gateway_id())
                    .or(r.gateway_id())
                    .or(r.transit_gateway_id())
                    .or(r.vpc_peering_connection_id())
                    .or(r.network_interface_id())
                    .or(r.instance_id())?;
                let target = if r.state() == Some(&RouteState::Blackhole) {
                    format!("{target} (blackhole: the target no longer exists)")
                } else {
                    if let Some(eni) = r.network_interface_id() {
                        route_enis.insert(eni.to_string());
                    }
                    target.to_string()
                };
                Some(json!({ "destination": dest, "target": target }))
            })
            .collect();
        a.insert("routes".into(), J::Array(routes));
        objects.push((Kind::RouteTable, obj(id, a)));
    }
    for g in igw?.internet_gateways() {
        let Some(id) = g.internet_gateway_id() else {
            continue;
        };
        let mut a = JsonAttrs::new();
        if let Some(v) = g.attachments().iter().find_map(|x| x.vpc_id()) {
            a.insert("vpc".into(), json!(v));
        }
        objects.push((Kind::InternetGateway, obj(id, a)));
    }
    for g in eigw?.egress_only_internet_gateways() {
        let Some(id) = g.egress_only_internet_gateway_id() else {
            continue;
        };
        let Some(v) = g
            .attachments()
            .iter()
            .find_map(|x| x.vpc_id())
            .filter(|v| vpcs.iter().any(|w| w == v))
        else {
            continue;
        };
        let mut a = JsonAttrs::new();
        a.insert("vpc".into(), json!(v));
        objects.push((Kind::EgressOnlyInternetGateway, obj(id, a)));
    }
    for n in nat?.nat_gateways() {
        let Some(id) = n.nat_gateway_id() else {
            continue;
        };
        let state = n
            .state()
            .map(|s| s.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        if state == "deleted" {
            continue;
        }
        let mut a = JsonAttrs::new();
        a.insert("subnet".into(), json!(n.subnet_id()));
        a.insert("state".into(), json!(state));
        objects.push((Kind::NatGateway, obj(id, a)));
    }
    for g in sg?.security_groups() {
        let Some(id) = g.group_id() else { continue };
        let mut a = JsonAttrs::new();
        a.insert("vpc".into(), json!(g.vpc_id()));
        a.insert(
            "egress".into(),
            super::security_group::rules_json(&super::security_group::flatten(
                g.ip_permissions_egress(),
            )),
        );
        objects.push((Kind::SecurityGroup, obj(id, a)));
    }
    for x in acl? {
        let Some(id) = x.network_acl_id() else {
            continue;
        };
        let mut a = JsonAttrs::new();
        a.insert("vpc".into(), json!(x.vpc_id()));
        a.insert("default".into(), json!(x.is_default().unwrap_or(false)));
        let subnets: Vec<&str> = x
            .associations()
            .iter()
            .filter_map(|s| s.subnet_id())
            .collect();
        a.insert("subnets".into(), json!(subnets));
        a.insert("egress".into(), super::network_acl::entries_json(&x, true));
        a.insert(
            "ingress".into(),
            super::network_acl::entries_json(&x, false),
        );
        objects.push((Kind::NetworkAcl, obj(id, a)));
    }
    objects.extend(nat_instances(p, route_enis).await?);
    Ok(Discovered { objects })
}

/// The instances behind these network interfaces, as NAT instances (state, source/destination check,
/// what their group admits, public address): what `check` follows a route to an instance through.
async fn nat_instances(
    p: &AwsProvider,
    enis: BTreeSet<String>,
) -> Result<Vec<(Kind, ObjectState)>, ProviderError> {
    use super::kinds::AwsKind;
    if enis.is_empty() {
        return Ok(vec![]);
    }
    let enis: Vec<String> = enis.into_iter().collect();
    let out = p
        .api
        .send(
            Call::ec2("DescribeNetworkInterfaces", Effect::Read).on(enis.clone()),
            || {
                p.ec2
                    .describe_network_interfaces()
                    .filters(
                        Filter::builder()
                            .name("network-interface-id")
                            .set_values(Some(enis.clone()))
                            .build(),
                    )
                    .send()
            },
        )
        .await?;
    let instances: Vec<String> = out
        .network_interfaces()
        .iter()
        .filter_map(|n| n.attachment()?.instance_id().map(str::to_string))
        .collect();
    if instances.is_empty() {
        return Ok(vec![]);
    }
    Ok(super::nat_instance::NatInstance
        .describe(p, &super::attrs::Select::Ids(instances))
        .await?
        .into_iter()
        .map(|o| (Kind::NatInstance, o))
        .collect())
}
