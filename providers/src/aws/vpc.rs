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
    let id = out
        .vpc()
        .and_then(|v| v.vpc_id())
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpc returned no id"))?
        .to_string();
    set_dns(p, &id, a).await?;
    // The IPv6 block is assigned asynchronously: wait until it shows.
    let want_v6 = b(a, "ipv6");
    wait_for(
        p,
        "waiting for the VPC",
        &req.address,
        &req.progress,
        Duration::from_secs(300),
        || async {
            let found = describe(p, Select::Ids(vec![id.clone()])).await?;
            Ok(found.into_iter().next().filter(|o| {
                !want_v6
                    || o.attrs
                        .get("ipv6_cidr_block")
                        .is_some_and(|v| v.is_string())
            }))
        },
    )
    .await
    .map(|mut o| {
        o.attrs
            .insert("dns_hostnames".into(), json!(b(a, "dns_hostnames")));
        o.attrs
            .insert("dns_support".into(), json!(b(a, "dns_support")));
        o
    })
}

async fn set_dns(p: &AwsProvider, id: &str, a: &JsonAttrs) -> Result<(), ProviderError> {
    // One attribute per call (an EC2 rule).
    p.ec2
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_support(
            AttributeBooleanValue::builder()
                .value(b(a, "dns_support"))
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk("ModifyVpcAttribute", e))?;
    p.ec2
        .modify_vpc_attribute()
        .vpc_id(id)
        .enable_dns_hostnames(
            AttributeBooleanValue::builder()
                .value(b(a, "dns_hostnames"))
                .build(),
        )
        .send()
        .await
        .map_err(|e| sdk("ModifyVpcAttribute", e))?;
    Ok(())
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
    let mains = p
        .ec2
        .describe_route_tables()
        .filters(
            Filter::builder()
                .name("vpc-id")
                .set_values(Some(ids))
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
        .map_err(|e| sdk("DescribeRouteTables", e))?;
    for v in vpcs {
        let Some(id) = v.vpc_id() else { continue };
        if !sel.keeps_ec2(v.tags()) {
            continue;
        }
        if v.state().map(|s| s.as_str()) == Some("deleted") {
            continue;
        }
        let v6 = v
            .ipv6_cidr_block_association_set()
            .iter()
            .find_map(|a| a.ipv6_cidr_block().map(str::to_string));
        let main = mains
            .route_tables()
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
    if req
        .changed
        .iter()
        .any(|c| c == "dns_hostnames" || c == "dns_support")
    {
        set_dns(p, &req.id, a).await?;
    }
    if req.changed.iter().any(|c| c == "ipv6") {
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
    let mut o = describe(p, Select::Ids(vec![req.id.clone()]))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            ProviderError::new(ErrorKind::NotFound, format!("vpc {} vanished", req.id))
        })?;
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
