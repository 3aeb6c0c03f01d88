//! elastic_ip: AllocateAddress in the VPC domain.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, ResourceType};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;

pub(super) struct ElasticIp;

#[async_trait]
impl AwsKind for ElasticIp {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let out = p
            .api
            .send(
                Call::ec2("DescribeAddresses", Effect::Read).on(sel.ids()),
                || {
                    p.ec2
                        .describe_addresses()
                        .set_filters(Some(sel.filters("allocation-id")))
                        .send()
                },
            )
            .await?;
        Ok(out
            .addresses()
            .iter()
            .filter(|x| sel.keeps_ec2(x.tags()))
            .filter_map(|x| {
                let id = x.allocation_id()?;
                let mut a = JsonAttrs::new();
                a.insert("public_ip".into(), json!(x.public_ip()));
                a.insert("tags".into(), ec2_user_tags(x.tags()));
                Some(object(id, a).owned_by(ec2_pairs(x.tags())))
            })
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(Call::ec2("AllocateAddress", Effect::Once), || {
                    p.ec2
                        .allocate_address()
                        .domain(DomainType::Vpc)
                        .tag_specifications(ec2_tag_spec(ResourceType::ElasticIp, req))
                        .send()
                })
                .await?;
            let id = out.allocation_id().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "AllocateAddress returned no id")
            })?;
            let mut a = JsonAttrs::new();
            a.insert("public_ip".into(), json!(out.public_ip()));
            Ok(object(id, a))
        })
        .await?;
        let mut a = JsonAttrs::new();
        if let Some(ip) = made.attrs.get("public_ip") {
            a.insert("public_ip".into(), ip.clone());
        }
        a.insert(
            "tags".into(),
            user_tags(
                req.tags
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
            ),
        );
        Ok(object(made.id, a))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::ElasticIp, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        p.api
            .send(
                Call::ec2("ReleaseAddress", Effect::Delete).on([&req.id]),
                || p.ec2.release_address().allocation_id(&req.id).send(),
            )
            .await?;
        Ok(())
    }
}
