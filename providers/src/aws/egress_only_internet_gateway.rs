//! egress_only_internet_gateway: IPv6 outbound only.

use super::*;
use aws_sdk_ec2::types::ResourceType;
use serde_json::json;

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    if let Some(sel) = Select::earlier_attempt(req) {
        if let Some(o) = describe(p, sel).await?.into_iter().next() {
            return Ok(o);
        }
    }
    let out = p
        .ec2
        .create_egress_only_internet_gateway()
        .vpc_id(req_s(&req.attrs, "vpc")?)
        .client_token(&req.idempotency.token)
        .tag_specifications(ec2_tag_spec(
            ResourceType::EgressOnlyInternetGateway,
            &req.tags,
        ))
        .send()
        .await
        .map_err(|e| sdk("CreateEgressOnlyInternetGateway", e))?;
    let id = out
        .egress_only_internet_gateway()
        .and_then(|g| g.egress_only_internet_gateway_id())
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "no id returned"))?
        .to_string();
    Ok(obj(id, JsonAttrs::new()))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    let mut call = p.ec2.describe_egress_only_internet_gateways();
    call = match &sel {
        // No id filter exists for this API; ids that are gone make the call fail, so list by ids with a
        // fallback to filtering the stack's tagged gateways.
        Select::Ids(ids) => call.set_egress_only_internet_gateway_ids(Some(ids.clone())),
        Select::Tags { .. } => call.set_filters(Some(sel.filters(""))),
    };
    let out = match call.send().await {
        Ok(o) => o,
        Err(e) => {
            let err = sdk("DescribeEgressOnlyInternetGateways", e);
            if let (ErrorKind::NotFound | ErrorKind::InvalidInput, Select::Ids(ids)) =
                (err.kind, &sel)
            {
                // One id is gone: ask one by one (rare: only after out-of-band deletes).
                let mut all = vec![];
                for id in ids {
                    if let Ok(o) = p
                        .ec2
                        .describe_egress_only_internet_gateways()
                        .egress_only_internet_gateway_ids(id)
                        .send()
                        .await
                    {
                        all.extend(o.egress_only_internet_gateways().to_vec());
                    }
                }
                return Ok(all.iter().filter_map(to_obj).collect());
            }
            return Err(err);
        }
    };
    Ok(out
        .egress_only_internet_gateways()
        .iter()
        .filter(|g| sel.keeps_ec2(g.tags()))
        .filter_map(to_obj)
        .collect())
}

fn to_obj(g: &aws_sdk_ec2::types::EgressOnlyInternetGateway) -> Option<ObjectState> {
    let id = g.egress_only_internet_gateway_id()?;
    let vpc = g.attachments().iter().find_map(|x| x.vpc_id());
    vpc?; // detached means deleted
    let mut a = JsonAttrs::new();
    a.insert("vpc".into(), json!(vpc));
    a.insert("tags".into(), ec2_user_tags(g.tags()));
    Some(obj(id, a))
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    retag_ec2(p, &req.id, &req.tags).await?;
    read_back(p, Kind::EgressOnlyInternetGateway, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.ec2
        .delete_egress_only_internet_gateway()
        .egress_only_internet_gateway_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteEgressOnlyInternetGateway", e))?;
    Ok(())
}
