//! egress_only_internet_gateway: IPv6 outbound only. The create takes a ClientToken.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;

pub(super) struct EgressOnlyInternetGateway;

fn to_object(g: &aws_sdk_ec2::types::EgressOnlyInternetGateway) -> Option<ObjectState> {
    let id = g.egress_only_internet_gateway_id()?;
    // Detached means deleted.
    let vpc = g.attachments().iter().find_map(|x| x.vpc_id())?;
    let mut a = JsonAttrs::new();
    a.insert("vpc".into(), json!(vpc));
    a.insert("tags".into(), ec2_user_tags(g.tags()));
    Some(object(id, a).owned_by(ec2_pairs(g.tags())))
}

#[async_trait]
impl AwsKind for EgressOnlyInternetGateway {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let call = Call::ec2("DescribeEgressOnlyInternetGateways", Effect::Read);
        // The API has no id filter: ids as a list (one that is gone fails the call), tags as filters.
        let gateways = match sel {
            Select::Ids(ids) => {
                by_ids_or_each(ids, |ids| {
                    let call = call.clone().on(&ids);
                    async move {
                        p.api
                            .send(call, || {
                                p.ec2
                                    .describe_egress_only_internet_gateways()
                                    .set_egress_only_internet_gateway_ids(Some(ids.clone()))
                                    .send()
                            })
                            .await
                            .map(|o| o.egress_only_internet_gateways().to_vec())
                    }
                })
                .await?
            }
            Select::Tags { .. } => {
                all_pages(
                    p,
                    call,
                    |token| {
                        p.ec2
                            .describe_egress_only_internet_gateways()
                            .set_filters(Some(sel.filters("")))
                            .set_next_token(token)
                            .send()
                    },
                    |o| o.egress_only_internet_gateways().to_vec(),
                    |o| o.next_token().map(str::to_string),
                )
                .await?
            }
        };
        Ok(gateways
            .iter()
            .filter(|g| sel.keeps_ec2(g.tags()))
            .filter_map(to_object)
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let vpc = required(&req.attrs, "vpc")?;
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(
                    Call::ec2("CreateEgressOnlyInternetGateway", Effect::Repeatable).on([vpc]),
                    || {
                        p.ec2
                            .create_egress_only_internet_gateway()
                            .vpc_id(vpc)
                            .client_token(&req.idempotency.token)
                            .tag_specifications(ec2_tag_spec(
                                ResourceType::EgressOnlyInternetGateway,
                                req,
                            ))
                            .send()
                    },
                )
                .await?;
            let id = out
                .egress_only_internet_gateway()
                .and_then(|g| g.egress_only_internet_gateway_id())
                .ok_or_else(|| ProviderError::new(ErrorKind::Other, "no id returned"))?;
            Ok(object(id, JsonAttrs::new()))
        })
        .await?;
        Ok(object(made.id, JsonAttrs::new()))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::EgressOnlyInternetGateway, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        p.api
            .send(
                Call::ec2("DeleteEgressOnlyInternetGateway", Effect::Delete).on([&req.id]),
                || {
                    p.ec2
                        .delete_egress_only_internet_gateway()
                        .egress_only_internet_gateway_id(&req.id)
                        .send()
                },
            )
            .await?;
        Ok(())
    }
}
