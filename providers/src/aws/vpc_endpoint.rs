//! vpc_endpoint: a gateway endpoint (S3, DynamoDB) added to route tables.

use super::*;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use serde_json::json;

fn service_name(p: &AwsProvider, service: &str) -> String {
    format!("com.amazonaws.{}.{service}", p.region)
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    if let Some(sel) = Select::earlier_attempt(req) {
        if let Some(o) = describe(p, sel).await?.into_iter().next() {
            return Ok(strip_state(o));
        }
    }
    let out = p
        .ec2
        .create_vpc_endpoint()
        .vpc_id(req_s(a, "vpc")?)
        .service_name(service_name(p, req_s(a, "service")?))
        .vpc_endpoint_type(VpcEndpointType::Gateway)
        .set_route_table_ids(Some(strs(a, "route_tables")))
        .client_token(&req.idempotency.token)
        .tag_specifications(ec2_tag_spec(ResourceType::VpcEndpoint, &req.tags))
        .send()
        .await
        .map_err(|e| sdk("CreateVpcEndpoint", e))?;
    let endpoint = out.vpc_endpoint().ok_or_else(|| {
        ProviderError::new(ErrorKind::Other, "CreateVpcEndpoint returned nothing")
    })?;
    let id = endpoint
        .vpc_endpoint_id()
        .ok_or_else(|| ProviderError::new(ErrorKind::Other, "CreateVpcEndpoint returned no id"))?
        .to_string();
    if endpoint
        .state()
        .is_some_and(|s| s.as_str().eq_ignore_ascii_case("available"))
    {
        return Ok(obj(id, JsonAttrs::new()));
    }
    wait_for(
        p,
        "waiting for the endpoint to be available",
        &req.address,
        &req.progress,
        Duration::from_secs(600),
        || async {
            let found = describe(p, Select::Ids(vec![id.clone()])).await?;
            Ok(found.into_iter().next().filter(|o| {
                s(&o.attrs, "state").is_some_and(|s| s.eq_ignore_ascii_case("available"))
            }))
        },
    )
    .await
    .map(|mut o| {
        o.attrs.remove("state");
        o
    })
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    // By ids (moto has no `vpc-endpoint-id` filter); an id that is gone fails the whole call, so then
    // ask one by one (rare: only after out-of-band deletes).
    let endpoints = match &sel {
        Select::Ids(ids) => {
            by_ids_or_each(ids, |ids| async move {
                p.ec2
                    .describe_vpc_endpoints()
                    .set_vpc_endpoint_ids(Some(ids))
                    .send()
                    .await
                    .map(|o| o.vpc_endpoints().to_vec())
                    .map_err(|e| sdk("DescribeVpcEndpoints", e))
            })
            .await?
        }
        Select::Tags { .. } => p
            .ec2
            .describe_vpc_endpoints()
            .set_filters(Some(sel.filters("")))
            .send()
            .await
            .map_err(|e| sdk("DescribeVpcEndpoints", e))?
            .vpc_endpoints()
            .to_vec(),
    };
    Ok(endpoints
        .iter()
        .filter_map(|e| {
            let id = e.vpc_endpoint_id()?;
            if !sel.keeps_ec2(e.tags()) {
                return None;
            }
            let state = e
                .state()
                .map(|s| s.as_str().to_ascii_lowercase())
                .unwrap_or_default();
            if state == "deleted" || state == "deleting" {
                return None;
            }
            let mut a = JsonAttrs::new();
            a.insert("vpc".into(), json!(e.vpc_id()));
            let service = e
                .service_name()
                .and_then(|n| n.rsplit('.').next())
                .unwrap_or_default();
            a.insert("service".into(), json!(service));
            let mut tables: Vec<&str> = e.route_table_ids().iter().map(String::as_str).collect();
            tables.sort();
            a.insert("route_tables".into(), json!(tables));
            a.insert("state".into(), json!(state));
            a.insert("tags".into(), ec2_user_tags(e.tags()));
            Some(obj(id, a))
        })
        .collect())
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    let before: Vec<String> = strs(&req.before, "route_tables");
    let after: Vec<String> = strs(&req.after, "route_tables");
    let add: Vec<String> = after
        .iter()
        .filter(|t| !before.contains(t))
        .cloned()
        .collect();
    let remove: Vec<String> = before
        .iter()
        .filter(|t| !after.contains(t))
        .cloned()
        .collect();
    if !add.is_empty() || !remove.is_empty() {
        p.ec2
            .modify_vpc_endpoint()
            .vpc_endpoint_id(&req.id)
            .set_add_route_table_ids((!add.is_empty()).then_some(add))
            .set_remove_route_table_ids((!remove.is_empty()).then_some(remove))
            .send()
            .await
            .map_err(|e| sdk("ModifyVpcEndpoint", e))?;
    }
    retag_ec2(p, &req.id, &req.tags).await?;
    read_back(p, Kind::VpcEndpoint, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    p.ec2
        .delete_vpc_endpoints()
        .vpc_endpoint_ids(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteVpcEndpoints", e))?;
    Ok(())
}

pub(super) fn strip_state(mut o: ObjectState) -> ObjectState {
    o.attrs.remove("state");
    o
}
