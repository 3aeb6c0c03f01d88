//! internet_gateway: CreateInternetGateway + AttachInternetGateway; detach then delete.

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

pub(super) struct InternetGateway;

async fn attach(p: &AwsProvider, id: &str, vpc: &str) -> Result<(), ProviderError> {
    p.api
        .ensure(
            Call::ec2("AttachInternetGateway", Effect::Repeatable).on([id, vpc]),
            // Attached already (an earlier attempt whose answer was lost): a new gateway can only be
            // attached where netplan attached it.
            &["Resource.AlreadyAssociated"],
            || {
                p.ec2
                    .attach_internet_gateway()
                    .internet_gateway_id(id)
                    .vpc_id(vpc)
                    .send()
            },
        )
        .await
}

#[async_trait]
impl AwsKind for InternetGateway {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let gateways = all_pages(
            p,
            Call::ec2("DescribeInternetGateways", Effect::Read).on(sel.ids()),
            |token| {
                p.ec2
                    .describe_internet_gateways()
                    .set_filters(Some(sel.filters("internet-gateway-id")))
                    .set_next_token(token)
                    .send()
            },
            |o| o.internet_gateways().to_vec(),
            |o| o.next_token().map(str::to_string),
        )
        .await?;
        Ok(gateways
            .iter()
            .filter(|g| sel.keeps_ec2(g.tags()))
            .filter_map(|g| {
                let id = g.internet_gateway_id()?;
                let mut a = JsonAttrs::new();
                a.insert(
                    "vpc".into(),
                    json!(g.attachments().iter().find_map(|x| x.vpc_id())),
                );
                a.insert("tags".into(), ec2_user_tags(g.tags()));
                Some(object(id, a).owned_by(ec2_pairs(g.tags())))
            })
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
                .send(Call::ec2("CreateInternetGateway", Effect::Once), || {
                    p.ec2
                        .create_internet_gateway()
                        .tag_specifications(ec2_tag_spec(ResourceType::InternetGateway, req))
                        .send()
                })
                .await?;
            let id = out
                .internet_gateway()
                .and_then(|g| g.internet_gateway_id())
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateInternetGateway returned no id")
                })?;
            Ok(object(id, JsonAttrs::new()))
        })
        .await?;
        // A gateway an earlier attempt made may be attached already.
        if text(&made.attrs, "vpc") != Some(vpc) {
            attach(p, &made.id, vpc).await?;
        }
        Ok(object(made.id, JsonAttrs::new()))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::InternetGateway, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        let current = self.describe(p, &Select::one(&req.id)).await?;
        if let Some(vpc) = current.first().and_then(|o| text(&o.attrs, "vpc")) {
            // AWS refuses while the VPC has mapped public addresses (NAT gateways): DependencyViolation,
            // retried by the engine while they go.
            p.api
                .ensure(
                    Call::ec2("DetachInternetGateway", Effect::Repeatable).on([&req.id, vpc]),
                    &["Gateway.NotAttached"],
                    || {
                        p.ec2
                            .detach_internet_gateway()
                            .internet_gateway_id(&req.id)
                            .vpc_id(vpc)
                            .send()
                    },
                )
                .await?;
        }
        p.api
            .send(
                Call::ec2("DeleteInternetGateway", Effect::Delete).on([&req.id]),
                || {
                    p.ec2
                        .delete_internet_gateway()
                        .internet_gateway_id(&req.id)
                        .send()
                },
            )
            .await?;
        Ok(())
    }
}
