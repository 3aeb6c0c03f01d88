//! vpc: CreateVpc (+ Amazon IPv6 /56), DNS attributes, DescribeVpcs.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, ResourceType, VpcCidrBlockStateCode};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;
use std::time::Duration;

pub(super) struct Vpc;

fn ipv6_block(v: &aws_sdk_ec2::types::Vpc) -> Option<String> {
    v.ipv6_cidr_block_association_set()
        .iter()
        .filter(|x| {
            !matches!(
                x.ipv6_cidr_block_state().and_then(|s| s.state()),
                Some(
                    VpcCidrBlockStateCode::Disassociated
                        | VpcCidrBlockStateCode::Disassociating
                        | VpcCidrBlockStateCode::Failed
                        | VpcCidrBlockStateCode::Failing
                )
            )
        })
        .find_map(|x| x.ipv6_cidr_block().filter(|b| !b.is_empty()))
        .map(str::to_string)
}

fn remember_ipv6(p: &AwsProvider, id: &str, block: &str) {
    p.vpc_ipv6
        .lock()
        .expect("vpc_ipv6")
        .insert(id.to_string(), block.to_string());
}

/// The VPC's Amazon IPv6 /56: from what this process has seen, else from DescribeVpcs.
pub(super) async fn ipv6_of(p: &AwsProvider, id: &str) -> Result<String, ProviderError> {
    if let Some(b) = p.vpc_ipv6.lock().expect("vpc_ipv6").get(id) {
        return Ok(b.clone());
    }
    let vpcs = p
        .api
        .send(Call::ec2("DescribeVpcs", Effect::Read).on([id]), || {
            p.ec2.describe_vpcs().vpc_ids(id).send()
        })
        .await?;
    let block = vpcs.vpcs().iter().find_map(ipv6_block).ok_or_else(|| {
        ProviderError::new(ErrorKind::InvalidInput, format!("{id} has no IPv6 block"))
    })?;
    remember_ipv6(p, id, &block);
    Ok(block)
}

/// Sets the DNS flags given, one per call (an EC2 rule), support first (hostnames need it).
async fn set_dns(
    p: &AwsProvider,
    id: &str,
    support: Option<bool>,
    hostnames: Option<bool>,
) -> Result<(), ProviderError> {
    let call = || Call::ec2("ModifyVpcAttribute", Effect::Repeatable).on([id]);
    if let Some(v) = support {
        p.api
            .send(call(), || {
                p.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_support(AttributeBooleanValue::builder().value(v).build())
                    .send()
            })
            .await?;
    }
    if let Some(v) = hostnames {
        p.api
            .send(call(), || {
                p.ec2
                    .modify_vpc_attribute()
                    .vpc_id(id)
                    .enable_dns_hostnames(AttributeBooleanValue::builder().value(v).build())
                    .send()
            })
            .await?;
    }
    Ok(())
}

/// The main route tables of these VPCs, in one call.
async fn main_route_tables(
    p: &AwsProvider,
    vpcs: Vec<String>,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    let out = p
        .api
        .send(
            Call::ec2("DescribeRouteTables", Effect::Read).on(&vpcs),
            || {
                p.ec2
                    .describe_route_tables()
                    .filters(
                        Filter::builder()
                            .name("vpc-id")
                            .set_values(Some(vpcs.clone()))
                            .build(),
                    )
                    .filters(
                        Filter::builder()
                            .name("association.main")
                            .values("true")
                            .build(),
                    )
                    .send()
            },
        )
        .await?;
    Ok(out.route_tables().to_vec())
}

#[async_trait]
impl AwsKind for Vpc {
    /// DescribeVpcs has no DNS flags (DescribeVpcAttribute is one call per flag per VPC): they are not
    /// refreshed, and keep what netplan last set.
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let vpcs: Vec<_> = all_pages(
            p,
            Call::ec2("DescribeVpcs", Effect::Read).on(sel.ids()),
            |token| {
                p.ec2
                    .describe_vpcs()
                    .set_filters(Some(sel.filters("vpc-id")))
                    .set_next_token(token)
                    .send()
            },
            |o| o.vpcs().to_vec(),
            |o| o.next_token().map(str::to_string),
        )
        .await?
        .into_iter()
        .filter(|v| sel.keeps_ec2(v.tags()) && v.state().map(|s| s.as_str()) != Some("deleted"))
        .collect();
        if vpcs.is_empty() {
            return Ok(vec![]);
        }
        // Main route tables, for all these VPCs in one call.
        let ids: Vec<String> = vpcs
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_string))
            .collect();
        let mains = main_route_tables(p, ids).await?;
        let mut out = vec![];
        for v in vpcs {
            let Some(id) = v.vpc_id() else { continue };
            let v6 = ipv6_block(&v);
            if let Some(b) = &v6 {
                remember_ipv6(p, id, b);
            }
            let main = mains
                .iter()
                .find(|t| t.vpc_id() == Some(id))
                .and_then(|t| t.route_table_id());
            let mut a = JsonAttrs::new();
            a.insert("cidr".into(), json!(v.cidr_block()));
            a.insert("ipv6".into(), json!(v6.is_some()));
            if let Some(b) = v6 {
                a.insert("ipv6_cidr_block".into(), json!(b));
            }
            if let Some(m) = main {
                a.insert("main_route_table".into(), json!(m));
            }
            a.insert("tags".into(), ec2_user_tags(v.tags()));
            out.push(object(id, a).owned_by(ec2_pairs(v.tags())));
        }
        Ok(out)
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let cidr = required(a, "cidr")?;
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(Call::ec2("CreateVpc", Effect::Once), || {
                    p.ec2
                        .create_vpc()
                        .cidr_block(cidr)
                        .amazon_provided_ipv6_cidr_block(flag(a, "ipv6"))
                        .tag_specifications(ec2_tag_spec(ResourceType::Vpc, req))
                        .send()
                })
                .await?;
            let vpc = out
                .vpc()
                .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpc returned no VPC"))?;
            let id = vpc
                .vpc_id()
                .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpc returned no id"))?;
            let mut attrs = JsonAttrs::new();
            if let Some(b) = ipv6_block(vpc) {
                attrs.insert("ipv6_cidr_block".into(), json!(b));
            }
            Ok(object(id, attrs))
        })
        .await?;
        let id = made.id.clone();
        // A new VPC resolves DNS and gives no hostnames: only a flag that differs needs a call.
        let (support, hostnames) = (flag(a, "dns_support"), flag(a, "dns_hostnames"));
        let (dns, main) = futures::join!(
            set_dns(
                p,
                &id,
                (!support).then_some(false),
                hostnames.then_some(true)
            ),
            main_route_tables(p, vec![id.clone()])
        );
        dns?;
        let mut o = object(&id, JsonAttrs::new());
        if let Some(m) = main?.first().and_then(|t| t.route_table_id()) {
            o.attrs.insert("main_route_table".into(), json!(m));
        }
        if flag(a, "ipv6") {
            // The IPv6 block may be assigned after the create call returns: wait until it shows.
            let block = match text(&made.attrs, "ipv6_cidr_block") {
                Some(b) => b.to_string(),
                None => {
                    super::wait::wait_for(
                        p,
                        "waiting for the VPC's IPv6 block",
                        &req.address,
                        &req.progress,
                        Duration::from_secs(300),
                        || async {
                            let found = self.describe(p, &Select::one(&id)).await?;
                            Ok(found.into_iter().find_map(|o| {
                                text(&o.attrs, "ipv6_cidr_block").map(str::to_string)
                            }))
                        },
                    )
                    .await?
                }
            };
            remember_ipv6(p, &id, &block);
            o.attrs.insert("ipv6_cidr_block".into(), json!(block));
        }
        Ok(o)
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.after;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        set_dns(
            p,
            &req.id,
            changed("dns_support").then(|| flag(a, "dns_support")),
            changed("dns_hostnames").then(|| flag(a, "dns_hostnames")),
        )
        .await?;
        if changed("ipv6") {
            p.vpc_ipv6.lock().expect("vpc_ipv6").remove(&req.id);
            if flag(a, "ipv6") {
                p.api
                    .send(
                        Call::ec2("AssociateVpcCidrBlock", Effect::Repeatable).on([&req.id]),
                        || {
                            p.ec2
                                .associate_vpc_cidr_block()
                                .vpc_id(&req.id)
                                .amazon_provided_ipv6_cidr_block(true)
                                .send()
                        },
                    )
                    .await?;
            } else {
                let current = p
                    .api
                    .send(
                        Call::ec2("DescribeVpcs", Effect::Read).on([&req.id]),
                        || p.ec2.describe_vpcs().vpc_ids(&req.id).send(),
                    )
                    .await?;
                for assoc in current
                    .vpcs()
                    .iter()
                    .flat_map(|v| v.ipv6_cidr_block_association_set())
                {
                    if let Some(aid) = assoc.association_id() {
                        p.api
                            .ensure(
                                Call::ec2("DisassociateVpcCidrBlock", Effect::Repeatable).on([aid]),
                                &["InvalidVpcCidrBlockAssociationID.NotFound"],
                                || {
                                    p.ec2
                                        .disassociate_vpc_cidr_block()
                                        .association_id(aid)
                                        .send()
                                },
                            )
                            .await?;
                    }
                }
            }
        }
        retag_ec2(p, &req.id, &req.tags).await?;
        let mut o = read_back(p, Kind::Vpc, &req.id).await?;
        o.attrs
            .insert("dns_hostnames".into(), json!(flag(a, "dns_hostnames")));
        o.attrs
            .insert("dns_support".into(), json!(flag(a, "dns_support")));
        Ok(o)
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        let result = p
            .api
            .send(Call::ec2("DeleteVpc", Effect::Delete).on([&req.id]), || {
                p.ec2.delete_vpc().vpc_id(&req.id).send()
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::DependencyViolation => {
                Err(super::wait::refused(p, "vpc-id", &req.id, req.retrying_for, e).await)
            }
            Err(e) => Err(e),
        }
    }
}
