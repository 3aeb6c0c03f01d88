//! elastic_ip: AllocateAddress in the VPC domain.

use super::*;
use aws_sdk_ec2::types::{DomainType, ResourceType};
use serde_json::json;

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let out = p
        .ec2
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(ec2_tag_spec(ResourceType::ElasticIp, &req.tags))
        .send()
        .await
        .map_err(|e| sdk("AllocateAddress", e))?;
    let id = out
        .allocation_id()
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "AllocateAddress returned no id"))?
        .to_string();
    let mut a = JsonAttrs::new();
    a.insert("public_ip".into(), json!(out.public_ip()));
    a.insert(
        "tags".into(),
        user_tags(
            req.tags
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().unwrap_or_default())),
        ),
    );
    Ok(obj(id, a))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let out = p
        .ec2
        .describe_addresses()
        .set_filters(Some(sel.filters("allocation-id")))
        .send()
        .await
        .map_err(|e| sdk("DescribeAddresses", e))?;
    Ok(out
        .addresses()
        .iter()
        .filter_map(|x| {
            let id = x.allocation_id()?;
            if !sel.keeps_ec2(x.tags()) {
                return None;
            }
            let mut a = JsonAttrs::new();
            a.insert("public_ip".into(), json!(x.public_ip()));
            a.insert("tags".into(), ec2_user_tags(x.tags()));
            Some(obj(id, a))
        })
        .collect())
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    retag_ec2(p, &req.id, &req.tags).await?;
    read_back(p, Kind::ElasticIp, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.ec2
        .release_address()
        .allocation_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("ReleaseAddress", e))?;
    Ok(())
}
