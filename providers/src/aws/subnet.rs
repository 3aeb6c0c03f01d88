//! subnet: CreateSubnet (with its /64 of the VPC's /56), DescribeSubnets, and on delete the release
//! of Lambda's lingering network interfaces.

use super::*;
use aws_sdk_ec2::types::ResourceType;
use serde_json::json;

/// The `index`-th /64 of a /56.
fn ipv6_slice(vpc_block: &str, index: i64) -> Result<String, ProviderError> {
    let net: ipnet::Ipv6Net = vpc_block.parse().map_err(|_| {
        ProviderError::new(ErrorKind::Other, format!("bad VPC IPv6 block {vpc_block}"))
    })?;
    net.subnets(64)
        .ok()
        .and_then(|mut it| it.nth(index as usize))
        .map(|n| n.to_string())
        .ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidInput,
                format!("ipv6_index {index} is outside {vpc_block}"),
            )
        })
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    let vpc_id = req_s(a, "vpc")?;
    if let Some(sel) = Select::earlier_attempt(req) {
        if let Some(o) = describe(p, sel).await?.into_iter().next() {
            return Ok(o);
        }
    }
    let mut call = p
        .ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(req_s(a, "cidr")?)
        .availability_zone(req_s(a, "az")?)
        .tag_specifications(ec2_tag_spec(ResourceType::Subnet, &req.tags));
    let ipv6 = match i(a, "ipv6_index") {
        Some(index) => Some(ipv6_slice(&super::vpc::ipv6_of(p, vpc_id).await?, index)?),
        None => None,
    };
    call = call.set_ipv6_cidr_block(ipv6.clone());
    let out = call.send().await.map_err(|e| sdk("CreateSubnet", e))?;
    let id = out
        .subnet()
        .and_then(|s| s.subnet_id())
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateSubnet returned no id"))?
        .to_string();
    let mut o = obj(id, JsonAttrs::new());
    if let Some(block) = ipv6 {
        o.attrs.insert("ipv6_cidr_block".into(), json!(block));
    }
    Ok(o)
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut pages = p
        .ec2
        .describe_subnets()
        .set_filters(Some(sel.filters("subnet-id")))
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        for s in page.map_err(|e| sdk("DescribeSubnets", e))?.subnets() {
            let Some(id) = s.subnet_id() else { continue };
            if !sel.keeps_ec2(s.tags()) {
                continue;
            }
            let mut a = JsonAttrs::new();
            a.insert("vpc".into(), json!(s.vpc_id()));
            a.insert("cidr".into(), json!(s.cidr_block()));
            a.insert("az".into(), json!(s.availability_zone()));
            // The association state is not waited on (moto renders it oddly); the block is what matters.
            if let Some(v6) = s
                .ipv6_cidr_block_association_set()
                .iter()
                .find_map(|x| x.ipv6_cidr_block())
            {
                a.insert("ipv6_cidr_block".into(), json!(v6));
            }
            a.insert("tags".into(), ec2_user_tags(s.tags()));
            out.push(obj(id, a));
        }
    }
    Ok(out)
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    retag_ec2(p, &req.id, &req.tags).await?;
    let mut o = read_back(p, Kind::Subnet, &req.id).await?;
    if let Some(index) = i(&req.after, "ipv6_index") {
        o.attrs.insert("ipv6_index".into(), json!(index));
    }
    Ok(o)
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    release_lambda_enis(p, "subnet-id", &req.id, &req.address, &req.progress).await?;
    p.ec2
        .delete_subnet()
        .subnet_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteSubnet", e))?;
    Ok(())
}
