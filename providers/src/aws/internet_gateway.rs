//! internet_gateway: CreateInternetGateway + AttachInternetGateway; detach then delete.

use super::*;
use aws_sdk_ec2::types::ResourceType;
use serde_json::json;

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let vpc = req_s(&req.attrs, "vpc")?;
    // A retry may find the gateway an earlier attempt made, perhaps not attached yet.
    let existing = match Select::earlier_attempt(req) {
        Some(sel) => describe(p, sel).await?.into_iter().next(),
        None => None,
    };
    let (id, attached) = match existing {
        Some(o) => {
            let attached = s(&o.attrs, "vpc") == Some(vpc);
            (o.id, attached)
        }
        None => {
            let out = p
                .ec2
                .create_internet_gateway()
                .tag_specifications(ec2_tag_spec(ResourceType::InternetGateway, &req.tags))
                .send()
                .await
                .map_err(|e| sdk("CreateInternetGateway", e))?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateInternetGateway returned no id")
                })?
                .to_string();
            (id, false)
        }
    };
    if !attached {
        p.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&id)
            .vpc_id(vpc)
            .send()
            .await
            .map_err(|e| sdk("AttachInternetGateway", e))?;
    }
    Ok(obj(id, JsonAttrs::new()))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut pages = p
        .ec2
        .describe_internet_gateways()
        .set_filters(Some(sel.filters("internet-gateway-id")))
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        for g in page
            .map_err(|e| sdk("DescribeInternetGateways", e))?
            .internet_gateways()
        {
            let Some(id) = g.internet_gateway_id() else {
                continue;
            };
            if !sel.keeps_ec2(g.tags()) {
                continue;
            }
            let mut a = JsonAttrs::new();
            let vpc = g.attachments().iter().find_map(|x| x.vpc_id());
            a.insert("vpc".into(), json!(vpc));
            a.insert("tags".into(), ec2_user_tags(g.tags()));
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
    read_back(p, Kind::InternetGateway, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    let current = describe(p, Select::Ids(vec![req.id.clone()])).await?;
    if let Some(vpc) = current.first().and_then(|o| s(&o.attrs, "vpc")) {
        // AWS refuses while the VPC has mapped public addresses (NAT gateways): DependencyViolation, retried.
        p.ec2
            .detach_internet_gateway()
            .internet_gateway_id(&req.id)
            .vpc_id(vpc)
            .send()
            .await
            .map_err(|e| sdk("DetachInternetGateway", e))?;
    }
    p.ec2
        .delete_internet_gateway()
        .internet_gateway_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteInternetGateway", e))?;
    Ok(())
}
