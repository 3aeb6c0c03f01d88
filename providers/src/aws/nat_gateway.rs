//! nat_gateway: CreateNatGateway, then wait for `available` (a `failed` NAT is reported with AWS's
//! reason); delete waits for `deleted`, so the EIP can be released and the IGW detached after it.

use super::*;
use aws_sdk_ec2::types::{NatGatewayState, ResourceType};
use serde_json::json;

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    // moto ignores ClientToken here: a retry finds the NAT an earlier attempt made by its tags.
    let existing = match Select::earlier_attempt(req) {
        Some(sel) => describe(p, sel).await?.into_iter().next(),
        None => None,
    };
    let id = match existing {
        Some(o) => o.id,
        None => {
            let out = p
                .ec2
                .create_nat_gateway()
                .subnet_id(req_s(a, "subnet")?)
                .allocation_id(req_s(a, "elastic_ip")?)
                .client_token(&req.idempotency.token)
                .tag_specifications(ec2_tag_spec(ResourceType::Natgateway, &req.tags))
                .send()
                .await
                .map_err(|e| sdk("CreateNatGateway", e))?;
            let n = out.nat_gateway().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateNatGateway returned no NAT")
            })?;
            let id = n
                .nat_gateway_id()
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateNatGateway returned no id")
                })?
                .to_string();
            // AWS answers `pending` (then minutes of waiting); an emulator may answer `available`.
            if n.state() == Some(&NatGatewayState::Available) {
                return Ok(obj(id, JsonAttrs::new()));
            }
            id
        }
    };
    wait_for(
        p,
        "waiting for the NAT gateway to be available",
        &req.address,
        &req.progress,
        Duration::from_secs(15 * 60),
        || async {
            let out = p
                .ec2
                .describe_nat_gateways()
                .nat_gateway_ids(&id)
                .send()
                .await
                .map_err(|e| sdk("DescribeNatGateways", e))?;
            let Some(n) = out.nat_gateways().first() else {
                return Ok(None);
            };
            match n.state() {
                Some(NatGatewayState::Available) => Ok(Some(to_obj(n))),
                Some(NatGatewayState::Failed) => Err(ProviderError::new(
                    ErrorKind::Failed,
                    format!(
                        "NAT gateway {id} failed: {} ({})",
                        n.failure_message().unwrap_or("no reason given"),
                        n.failure_code().unwrap_or("")
                    ),
                )),
                _ => Ok(None),
            }
        },
    )
    .await?
    .ok_or_else(|| ProviderError::new(ErrorKind::Other, "NAT gateway without an id"))
}

fn to_obj(n: &aws_sdk_ec2::types::NatGateway) -> Option<ObjectState> {
    let id = n.nat_gateway_id()?;
    let mut a = JsonAttrs::new();
    a.insert("subnet".into(), json!(n.subnet_id()));
    a.insert(
        "elastic_ip".into(),
        json!(n
            .nat_gateway_addresses()
            .iter()
            .find_map(|x| x.allocation_id())),
    );
    a.insert("tags".into(), ec2_user_tags(n.tags()));
    Some(obj(id, a))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut pages = p
        .ec2
        .describe_nat_gateways()
        .set_filter(Some(sel.filters("nat-gateway-id")))
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        for n in page
            .map_err(|e| sdk("DescribeNatGateways", e))?
            .nat_gateways()
        {
            // Deleted NATs stay visible for an hour: they no longer exist.
            if !sel.keeps_ec2(n.tags())
                || matches!(
                    n.state(),
                    Some(NatGatewayState::Deleted)
                        | Some(NatGatewayState::Deleting)
                        | Some(NatGatewayState::Failed)
                )
            {
                continue;
            }
            out.extend(to_obj(n));
        }
    }
    Ok(out)
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    retag_ec2(p, &req.id, &req.tags).await?;
    read_back(p, Kind::NatGateway, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.ec2
        .delete_nat_gateway()
        .nat_gateway_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteNatGateway", e))?;
    wait_for(
        p,
        "waiting for the NAT gateway to be deleted",
        &req.address,
        &req.progress,
        Duration::from_secs(15 * 60),
        || async {
            let out = p
                .ec2
                .describe_nat_gateways()
                .nat_gateway_ids(&req.id)
                .send()
                .await;
            match out {
                Err(e) => {
                    let e = sdk("DescribeNatGateways", e);
                    if e.kind == ErrorKind::NotFound {
                        Ok(Some(()))
                    } else {
                        Err(e)
                    }
                }
                Ok(o) => Ok(match o.nat_gateways().first().and_then(|n| n.state()) {
                    None | Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed) => {
                        Some(())
                    }
                    _ => None,
                }),
            }
        },
    )
    .await
}
