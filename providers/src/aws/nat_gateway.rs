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
    Some(object(id, a).owned_by(ec2_pairs(n.tags())))
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
            let send = || {
                p.api.send(
                    Call::ec2("CreateNatGateway", Effect::Repeatable).on([subnet, eip]),
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
            };
            let out = match send().await {
                Err(e) if e.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                    // moto ignores ClientToken (a repeat answers this): what this create made
                    // is adopted. Otherwise the address is still held by a NAT gateway on its
                    // way out: wait for it to go, and send again.
                    if let Some(o) = self
                        .describe(p, &Select::made_by(&req.idempotency))
                        .await?
                        .pop()
                    {
                        return Ok(o);
                    }
                    free_address(p, eip, &req.address, &req.progress, e).await?;
                    send().await?
                }
                other => other?,
            };
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
                netplan_engine::retry::WAIT,
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
                netplan_engine::retry::WAIT,
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

/// The Elastic IP `eip` is still associated with another NAT gateway: one being deleted is waited
/// for (AWS releases the address once it is gone); one already deleted that still holds it (an
/// emulator that never lets go) has the association removed; one that lives is a real conflict.
async fn free_address(
    p: &AwsProvider,
    eip: &str,
    addr: &netplan_engine::ResourceAddr,
    progress: &Option<ProgressFn>,
    e: ProviderError,
) -> Result<(), ProviderError> {
    let all = all_pages(
        p,
        Call::ec2("DescribeNatGateways", Effect::Read),
        |token| p.ec2.describe_nat_gateways().set_next_token(token).send(),
        |o| o.nat_gateways().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    let holder = all.iter().find(|n| {
        n.nat_gateway_addresses()
            .iter()
            .any(|a| a.allocation_id() == Some(eip))
            && n.state() != Some(&NatGatewayState::Failed)
    });
    let Some(holder) = holder else {
        return Err(e);
    };
    let id = holder.nat_gateway_id().unwrap_or_default().to_string();
    match holder.state() {
        Some(NatGatewayState::Deleting) => {
            p.nat_poller
                .wait(
                    &id,
                    "waiting for the NAT gateway that held its address to be deleted",
                    addr,
                    progress,
                    p.poll,
                    netplan_engine::retry::WAIT,
                    |ids| observe(p, ids),
                    |seen| match seen.and_then(|o| o.state.as_ref()) {
                        None | Some(NatGatewayState::Deleted) => Some(Ok(())),
                        _ => None,
                    },
                )
                .await?;
        }
        Some(NatGatewayState::Deleted) => {}
        _ => {
            return Err(ProviderError {
                message: format!(
                    "{} — the Elastic IP {eip} is used by NAT gateway {id}",
                    e.message
                ),
                ..e
            })
        }
    }
    // Still associated with the deleted gateway? Release the association.
    let addresses = p
        .api
        .send(
            Call::ec2("DescribeAddresses", Effect::Read).on([eip]),
            || p.ec2.describe_addresses().allocation_ids(eip).send(),
        )
        .await?;
    for a in addresses.addresses() {
        if let Some(association) = a.association_id() {
            p.api
                .ensure(
                    Call::ec2("DisassociateAddress", Effect::Repeatable).on([association]),
                    &["InvalidAssociationID.NotFound"],
                    || {
                        p.ec2
                            .disassociate_address()
                            .association_id(association)
                            .send()
                    },
                )
                .await?;
        }
    }
    Ok(())
}
