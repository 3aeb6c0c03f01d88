//! subnet: CreateSubnet (with its /64 of the VPC's /56), DescribeSubnets, and on delete the release
//! of Lambda's lingering network interfaces.

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

pub(super) struct Subnet;

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

#[async_trait]
impl AwsKind for Subnet {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        let subnets = all_pages(
            p,
            Call::ec2("DescribeSubnets", Effect::Read).on(sel.ids()),
            |token| {
                p.ec2
                    .describe_subnets()
                    .set_filters(Some(sel.filters("subnet-id")))
                    .set_next_token(token)
                    .send()
            },
            |o| o.subnets().to_vec(),
            |o| o.next_token().map(str::to_string),
        )
        .await?;
        Ok(subnets
            .iter()
            .filter(|s| sel.keeps_ec2(s.tags()))
            .filter_map(|s| {
                let id = s.subnet_id()?;
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
                Some(object(id, a).owned_by(ec2_pairs(s.tags())))
            })
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let vpc_id = required(a, "vpc")?;
        let (cidr, az) = (required(a, "cidr")?, required(a, "az")?);
        let ipv6 = match int(a, "ipv6_index") {
            Some(index) => Some(ipv6_slice(&super::vpc::ipv6_of(p, vpc_id).await?, index)?),
            None => None,
        };
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(Call::ec2("CreateSubnet", Effect::Once).on([vpc_id]), || {
                    p.ec2
                        .create_subnet()
                        .vpc_id(vpc_id)
                        .cidr_block(cidr)
                        .availability_zone(az)
                        .set_ipv6_cidr_block(ipv6.clone())
                        .tag_specifications(ec2_tag_spec(ResourceType::Subnet, req))
                        .send()
                })
                .await?;
            let id = out.subnet().and_then(|s| s.subnet_id()).ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateSubnet returned no id")
            })?;
            Ok(object(id, JsonAttrs::new()))
        })
        .await?;
        let mut o = object(made.id, JsonAttrs::new());
        if let Some(block) = ipv6 {
            o.attrs.insert("ipv6_cidr_block".into(), json!(block));
        }
        Ok(o)
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        retag_ec2(p, &req.id, &req.tags).await?;
        let mut o = read_back(p, Kind::Subnet, &req.id).await?;
        if let Some(index) = int(&req.after, "ipv6_index") {
            o.attrs.insert("ipv6_index".into(), json!(index));
        }
        Ok(o)
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        super::wait::release_lambda_enis(p, "subnet-id", &req.id, &req.address, &req.progress)
            .await?;
        let result = p
            .api
            .send(
                Call::ec2("DeleteSubnet", Effect::Delete).on([&req.id]),
                || p.ec2.delete_subnet().subnet_id(&req.id).send(),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::DependencyViolation => {
                Err(super::wait::refused(p, "subnet-id", &req.id, req.retrying_for, e).await)
            }
            Err(e) => Err(e),
        }
    }
}
