//! vpc: CreateVpc (+ Amazon IPv6 /56), DNS attributes, DescribeVpcs.

use super::*;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use serde_json::json;

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    let out = p
        .ec2
        .create_vpc()
        .cidr_block(req_s(a, "cidr")?)
        .amazon_provided_ipv6_cidr_block(b(a, "ipv6"))
        .tag_specifications(ec2_tag_spec(ResourceType::Vpc, &req.tags))
        .send()
        .await
        .map_err(|e| sdk("CreateVpc", e))?;
    let vpc = out
        .vpc()
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpc returned no VPC"))?;
    let id = vpc
        .vpc_id()
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpc returned no id"))?
        .to_string();
    // A new VPC resolves DNS and gives no hostnames: only a flag that differs needs a call.
    let support = b(a, "dns_support");
    let hostnames = b(a, "dns_hostnames");
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
    let mut o = obj(&id, JsonAttrs::new());
    if let Some(m) = main?.first().and_then(|t| t.route_table_id()) {
        o.attrs.insert("main_route_table".into(), json!(m));
    }
    if b(a, "ipv6") {
        // The IPv6 block may be assigned after the create call returns: wait until it shows.
        let block = match ipv6_block(vpc) {
            Some(block) => block,
            None => {
                wait_for(
                    p,
                    "waiting for the VPC's IPv6 block",
                    &req.address,
                    &req.progress,
                    Duration::from_secs(300),
                    || async {
                        let found = describe(p, Select::Ids(vec![id.clone()])).await?;
                        Ok(found
                            .into_iter()
                            .find_map(|o| s(&o.attrs, "ipv6_cidr_block").map(str::to_string)))
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

fn ipv6_block(v: &aws_sdk_ec2::types::Vpc) -> Option<String> {
    v.ipv6_cidr_block_association_set()
        .iter()
        .filter(|x| {
            !matches!(
                x.ipv6_cidr_block_state().and_then(|s| s.state()),
                Some(
                    aws_sdk_ec2::types::VpcCidrBlockStateCode::Disassociated
                        | aws_sdk_ec2::types::VpcCidrBlockStateCode::Disassociating
                        | aws_sdk_ec2::types::VpcCidrBlockStateCode::Failed
                        | aws_sdk_ec2::types::VpcCidrBlockStateCode::Failing
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
        .ec2
        .describe_vpcs()
        .vpc_ids(id)
        .send()
        .await
        .map_err(|e| sdk("DescribeVpcs", e))?;
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
    if let Some(v) = support {
        p.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(AttributeBooleanValue::builder().value(v).build())
            .send()
            .await
            .map_err(|e| sdk("ModifyVpcAttribute", e))?;
    }
    if let Some(v) = hostnames {
        p.ec2
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(AttributeBooleanValue::builder().value(v).build())
            .send()
            .await
            .map_err(|e| sdk("ModifyVpcAttribute", e))?;
    }
    Ok(())
}

/// The main route tables of these VPCs, in one call.
async fn main_route_tables(
    p: &AwsProvider,
    vpcs: Vec<String>,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    Ok(p.ec2
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .set_values(Some(vpcs))
                .build(),
        )
        .filters(
            Filter::builder()
                .name("association.main")
                .values("true")
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk("DescribeRouteTables", e))?
        .route_tables()
        .to_vec())
}

/// DescribeVpcs has no DNS flags (DescribeVpcAttribute is one call per flag per VPC): they are not
/// refreshed, and keep what netplan last set.
pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut out = vec![];
    let mut pages = p
        .ec2
        .describe_vpcs()
        .set_filters(Some(sel.filters("vpc-id")))
        .into_paginator()
        .send();
    let mut vpcs = vec![];
    while let Some(page) = pages.next().await {
        vpcs.extend(page.map_err(|e| sdk("DescribeVpcs", e))?.vpcs().to_vec());
    }
    if vpcs.is_empty() {
        return Ok(out);
    }
    // Main route tables, for all these VPCs in one call.
    let ids: Vec<String> = vpcs
        .iter()
        .filter_map(|v| v.vpc_id().map(str::to_string))
        .collect();
    let mains = main_route_tables(p, ids).await?;
    for v in vpcs {
        let Some(id) = v.vpc_id() else { continue };
        if !sel.keeps_ec2(v.tags()) {
            continue;
        }
        if v.state().map(|s| s.as_str()) == Some("deleted") {
            continue;
        }
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
        out.push(obj(id, a));
    }
    Ok(out)
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.after;
    let changed = |k: &str| req.changed.iter().any(|c| c == k);
    set_dns(
        p,
        &req.id,
        changed("dns_support").then(|| b(a, "dns_support")),
        changed("dns_hostnames").then(|| b(a, "dns_hostnames")),
    )
    .await?;
    if req.changed.iter().any(|c| c == "ipv6") {
        p.vpc_ipv6.lock().expect("vpc_ipv6").remove(&req.id);
        if b(a, "ipv6") {
            p.ec2
                .associate_vpc_cidr_block()
                .vpc_id(&req.id)
                .amazon_provided_ipv6_cidr_block(true)
                .send()
                .await
                .map_err(|e| sdk("AssociateVpcCidrBlock", e))?;
        } else {
            let current = p
                .ec2
                .describe_vpcs()
                .vpc_ids(&req.id)
                .send()
                .await
                .map_err(|e| sdk("DescribeVpcs", e))?;
            for assoc in current
                .vpcs()
                .iter()
                .flat_map(|v| v.ipv6_cidr_block_association_set())
            {
                if let Some(aid) = assoc.association_id() {
                    p.ec2
                        .disassociate_vpc_cidr_block()
                        .association_id(aid)
                        .send()
                        .await
                        .map_err(|e| sdk("DisassociateVpcCidrBlock", e))?;
                }
            }
        }
    }
    retag_ec2(p, &req.id, &req.tags).await?;
    let mut o = read_back(p, Kind::Vpc, &req.id).await?;
    o.attrs
        .insert("dns_hostnames".into(), json!(b(a, "dns_hostnames")));
    o.attrs
        .insert("dns_support".into(), json!(b(a, "dns_support")));
    Ok(o)
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.ec2
        .delete_vpc()
        .vpc_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteVpc", e))?;
    Ok(())
}
