//! vpc_endpoint: a gateway endpoint (S3, DynamoDB) added to route tables. The create takes a
//! ClientToken; it waits for `available` (lowercase on AWS too).

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::json;
use std::time::Duration;

pub(super) struct VpcEndpoint;

fn service_name(p: &AwsProvider, service: &str) -> String {
    format!("com.amazonaws.{}.{service}", p.region)
}

/// The endpoints selected, with their state (`available`, `pending`, …) as `state`.
async fn with_state(p: &AwsProvider, sel: &Select) -> Result<Vec<ObjectState>, ProviderError> {
    let call = Call::ec2("DescribeVpcEndpoints", Effect::Read);
    // By ids (moto has no `vpc-endpoint-id` filter): one that is gone fails the whole call.
    let endpoints = match sel {
        Select::Ids(ids) => {
            by_ids_or_each(ids, |ids| {
                let call = call.clone().on(&ids);
                async move {
                    p.api
                        .send(call, || {
                            p.ec2
                                .describe_vpc_endpoints()
                                .set_vpc_endpoint_ids(Some(ids.clone()))
                                .send()
                        })
                        .await
                        .map(|o| o.vpc_endpoints().to_vec())
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
                        .describe_vpc_endpoints()
                        .set_filters(Some(sel.filters("")))
                        .set_next_token(token)
                        .send()
                },
                |o| o.vpc_endpoints().to_vec(),
                |o| o.next_token().map(str::to_string),
            )
            .await?
        }
    };
    Ok(endpoints
        .iter()
        .filter(|e| sel.keeps_ec2(e.tags()))
        .filter_map(|e| {
            let id = e.vpc_endpoint_id()?;
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
            Some(object(id, a).owned_by(ec2_pairs(e.tags())))
        })
        .collect())
}

fn without_state(mut o: ObjectState) -> ObjectState {
    o.attrs.remove("state");
    o
}

#[async_trait]
impl AwsKind for VpcEndpoint {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        Ok(with_state(p, sel)
            .await?
            .into_iter()
            .map(without_state)
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let (vpc, service) = (required(a, "vpc")?, required(a, "service")?);
        let tables = texts(a, "route_tables");
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(
                    Call::ec2("CreateVpcEndpoint", Effect::Repeatable)
                        .on(std::iter::once(vpc).chain(tables.iter().map(String::as_str))),
                    || {
                        p.ec2
                            .create_vpc_endpoint()
                            .vpc_id(vpc)
                            .service_name(service_name(p, service))
                            .vpc_endpoint_type(VpcEndpointType::Gateway)
                            .set_route_table_ids(Some(tables.clone()))
                            .client_token(&req.idempotency.token)
                            .tag_specifications(ec2_tag_spec(ResourceType::VpcEndpoint, req))
                            .send()
                    },
                )
                .await?;
            let e = out.vpc_endpoint().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateVpcEndpoint returned nothing")
            })?;
            let id = e.vpc_endpoint_id().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateVpcEndpoint returned no id")
            })?;
            let mut o = object(id, JsonAttrs::new());
            if let Some(s) = e.state() {
                o.attrs
                    .insert("state".into(), json!(s.as_str().to_ascii_lowercase()));
            }
            Ok(o)
        })
        .await?;
        if text(&made.attrs, "state") == Some("available") {
            return Ok(object(made.id, JsonAttrs::new()));
        }
        let id = made.id.clone();
        p.endpoint_poller
            .wait(
                &id,
                "waiting for the endpoint to be available",
                &req.address,
                &req.progress,
                p.poll,
                Duration::from_secs(600),
                |ids| async move {
                    Ok(with_state(p, &Select::Ids(ids))
                        .await?
                        .into_iter()
                        .map(|o| (o.id.clone(), o))
                        .collect())
                },
                |seen| match seen.and_then(|o| text(&o.attrs, "state")) {
                    Some("available") => seen.cloned().map(Ok),
                    Some("failed") => Some(Err(ProviderError::new(
                        ErrorKind::Failed,
                        format!("VPC endpoint {id} failed"),
                    ))),
                    _ => None,
                },
            )
            .await
            .map(without_state)
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let before = texts(&req.before, "route_tables");
        let after = texts(&req.after, "route_tables");
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
            p.api
                .send(
                    Call::ec2("ModifyVpcEndpoint", Effect::Repeatable).on([&req.id]),
                    || {
                        p.ec2
                            .modify_vpc_endpoint()
                            .vpc_endpoint_id(&req.id)
                            .set_add_route_table_ids((!add.is_empty()).then(|| add.clone()))
                            .set_remove_route_table_ids(
                                (!remove.is_empty()).then(|| remove.clone()),
                            )
                            .send()
                    },
                )
                .await?;
        }
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::VpcEndpoint, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        p.api
            .send(
                Call::ec2("DeleteVpcEndpoints", Effect::Delete).on([&req.id]),
                || {
                    p.ec2
                        .delete_vpc_endpoints()
                        .vpc_endpoint_ids(&req.id)
                        .send()
                },
            )
            .await?;
        Ok(())
    }
}
