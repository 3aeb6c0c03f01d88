//! nat_gateway: CreateNatGateway (with a ClientToken), then wait for `available` (a `failed` NAT is
//! reported with AWS's reason); delete waits for `deleted`, so the EIP can be released and the IGW
//! detached after it. Every NAT waited on is polled by one shared DescribeNatGateways per interval.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, NatGatewayState, ResourceType};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

pub(super) struct NatGateway;

/// A NAT gateway as a poll sees it.
#[derive(Debug, Clone)]
pub(crate) struct Observed {
    state: Option<NatGatewayState>,
    failure: String,
    object: Option<ObjectState>,
}

fn to_object(n: &aws_sdk_ec2::types::NatGateway) -> Option<ObjectState> {
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
    if let Some(ip) = n.nat_gateway_addresses().iter().find_map(|x| x.public_ip()) {
        a.insert("public_ip".into(), json!(ip));
    }
    a.insert("tags".into(), ec2_user_tags(n.tags()));
    Some(object(id, a))
}

/// The states of these NAT gateways, in one call (those not visible are absent).
async fn observe(
    p: &AwsProvider,
    ids: Vec<String>,
) -> Result<HashMap<String, Observed>, ProviderError> {
    let gateways = all_pages(
        p,
        Call::ec2("DescribeNatGateways", Effect::Read),
        |token| {
            p.ec2
                .describe_nat_gateways()
                .filter(
                    Filter::builder()
                        .name("nat-gateway-id")
                        .set_values(Some(ids.clone()))
                        .build(),
                )
                .set_next_token(token)
                .send()
        },
        |o| o.nat_gateways().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(gateways
        .iter()
        .filter_map(|n| {
            let id = n.nat_gateway_id()?.to_string();
            Some((
                id,
                Observed {
                    state: n.state().cloned(),
                    failure: format!(
                        "{} ({})",
                        n.failure_message().unwrap_or("no reason given"),
                        n.failure_code().unwrap_or("")
                    ),
                    object: to_object(n),
                },
            ))
        })
        .collect())
}

#[async_trait]
impl AwsKind for NatGateway {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let gateways = all_pages(
            p,
            Call::ec2("DescribeNatGateways", Effect::Read),
            |token| {
                p.ec2
                    .describe_nat_gateways()
                    .set_filter(Some(sel.filters("nat-gateway-id")))
                    .set_next_token(token)
                    .send()
            },
            |o| o.nat_gateways().to_vec(),
            |o| o.next_token().map(str::to_string),
        )
        .await?;
        // Deleted NATs stay visible for an hour: they no longer exist. moto ignores the tag filter:
        // `keeps_ec2` checks the tags here.
        Ok(gateways
            .iter()
            .filter(|n| {
                sel.keeps_ec2(n.tags())
                    && !matches!(
                        n.state(),
                        Some(NatGatewayState::Deleted)
                            | Some(NatGatewayState::Deleting)
                            | Some(NatGatewayState::Failed)
                    )
            })
            .filter_map(to_object)
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let (subnet, eip) = (required(a, "subnet")?, required(a, "elastic_ip")?);
        let made = create_once(p, self, req, || async {
            // moto ignores ClientToken here (a repeat answers Resource.AlreadyAssociated):
            // `create_once` finds what an earlier attempt made by its tags instead.
            let out = p
                .api
                .send(
                    Call::ec2("CreateNatGateway", Effect::Write).on([subnet, eip]),
                    || {
                        p.ec2
                            .create_nat_gateway()
                            .subnet_id(subnet)
                            .allocation_id(eip)
                            .client_token(&req.idempotency.token)
                            .tag_specifications(ec2_tag_spec(ResourceType::Natgateway, req))
                            .send()
                    },
                )
                .await?;
            let n = out.nat_gateway().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateNatGateway returned no NAT")
            })?;
            let mut o = to_object(n).ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateNatGateway returned no id")
            })?;
            // AWS answers `pending` (then minutes of waiting); an emulator may answer `available`.
            if n.state() == Some(&NatGatewayState::Available) {
                o.attrs.insert("available".into(), json!(true));
            }
            Ok(o)
        })
        .await?;
        if flag(&made.attrs, "available") {
            let mut o = made;
            o.attrs.remove("available");
            return Ok(o);
        }
        let id = made.id.clone();
        p.nat_poller
            .wait(
                &id,
                "waiting for the NAT gateway to be available",
                &req.address,
                &req.progress,
                p.poll,
                Duration::from_secs(15 * 60),
                |ids| observe(p, ids),
                |seen| match seen.map(|o| (&o.state, o)) {
                    Some((Some(NatGatewayState::Available), o)) => Some(
                        o.object
                            .clone()
                            .ok_or_else(|| ProviderError::new(ErrorKind::Other, "no id")),
                    ),
                    Some((Some(NatGatewayState::Failed), o)) => Some(Err(ProviderError::new(
                        ErrorKind::Failed,
                        format!("NAT gateway {id} failed: {}", o.failure),
                    ))),
                    _ => None,
                },
            )
            .await
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::NatGateway, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        p.api
            .send(
                Call::ec2("DeleteNatGateway", Effect::Delete).on([&req.id]),
                || p.ec2.delete_nat_gateway().nat_gateway_id(&req.id).send(),
            )
            .await?;
        p.nat_poller
            .wait(
                &req.id,
                "waiting for the NAT gateway to be deleted",
                &req.address,
                &req.progress,
                p.poll,
                Duration::from_secs(15 * 60),
                |ids| observe(p, ids),
                |seen| match seen.and_then(|o| o.state.as_ref()) {
                    None | Some(NatGatewayState::Deleted) | Some(NatGatewayState::Failed) => {
                        Some(Ok(()))
                    }
                    _ => None,
                },
            )
            .await
    }
}
