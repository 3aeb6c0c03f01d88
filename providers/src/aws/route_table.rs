//! route_table: the table (a create with a ClientToken), its routes (to internet, NAT and egress-only
//! gateways) and its subnet associations, converged by diffing against DescribeRouteTables — in an
//! order that never leaves a subnet without a route it had: a route whose target changes is replaced
//! in one call (ReplaceRoute), new routes are added and subnets taken over (a subnet another table
//! holds moves in one call, ReplaceRouteTableAssociation) before anything is removed.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2_from, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::{json, Value as J};
use std::collections::BTreeSet;

pub(super) struct RouteTable;

/// (destination, target) pairs the config asks for.
fn wanted_routes(a: &JsonAttrs) -> BTreeSet<(String, String)> {
    a.get("routes")
        .and_then(J::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|r| {
                    Some((
                        r.get("destination")?.as_str()?.to_string(),
                        r.get("target")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn routes_json(routes: &BTreeSet<(String, String)>) -> J {
    J::Array(
        routes
            .iter()
            .map(|(d, t)| json!({ "destination": d, "target": t }))
            .collect(),
    )
}

/// The target half of a route request, by the target's id.
macro_rules! with_target {
    ($call:expr, $target:expr) => {{
        let (call, target) = ($call, $target);
        if target.starts_with("nat-") {
            call.nat_gateway_id(target)
        } else if target.starts_with("eigw-") {
            call.egress_only_internet_gateway_id(target)
        } else if target.starts_with("eni-") {
            call.network_interface_id(target)
        } else {
            call.gateway_id(target)
        }
    }};
}

async fn add_route(
    p: &AwsProvider,
    table: &str,
    dest: &str,
    target: &str,
) -> Result<(), ProviderError> {
    p.api
        .ensure(
            Call::ec2("CreateRoute", Effect::Repeatable).on([table, target]),
            // The table's routes were diffed first: one to `dest` that exists is this one.
            &["RouteAlreadyExists"],
            || {
                let mut call = p.ec2.create_route().route_table_id(table);
                call = if dest.contains(':') {
                    call.destination_ipv6_cidr_block(dest)
                } else {
                    call.destination_cidr_block(dest)
                };
                with_target!(call, target).send()
            },
        )
        .await
}

/// Points the route to `dest` at another target, in one call: the destination is never without a
/// route (a delete and an add would leave it so, for ever if the add is refused).
async fn replace_route(
    p: &AwsProvider,
    table: &str,
    dest: &str,
    target: &str,
) -> Result<(), ProviderError> {
    p.api
        .send(
            Call::ec2("ReplaceRoute", Effect::Repeatable).on([table, target]),
            || {
                let mut call = p.ec2.replace_route().route_table_id(table);
                call = if dest.contains(':') {
                    call.destination_ipv6_cidr_block(dest)
                } else {
                    call.destination_cidr_block(dest)
                };
                with_target!(call, target).send()
            },
        )
        .await
        .map(|_| ())
}

async fn remove_route(p: &AwsProvider, table: &str, dest: &str) -> Result<(), ProviderError> {
    p.api
        .ensure(
            Call::ec2("DeleteRoute", Effect::Repeatable).on([table]),
            &["InvalidRoute.NotFound"],
            || {
                let call = p.ec2.delete_route().route_table_id(table);
                if dest.contains(':') {
                    call.destination_ipv6_cidr_block(dest).send()
                } else {
                    call.destination_cidr_block(dest).send()
                }
            },
        )
        .await
}

/// Converges routes and associations of `table` to `want`, from what DescribeRouteTables shows.
/// Converges `table` from what a describe shows; answers the tags it had.
async fn converge(
    p: &AwsProvider,
    table: &str,
    want: &JsonAttrs,
) -> Result<Vec<(String, String)>, ProviderError> {
    let current = raw(p, &Select::one(table)).await?;
    let Some(t) = current.first() else {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("route table {table} not found"),
        ));
    };
    converge_from(p, table, t, want, false).await?;
    Ok(t.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// Converges `table` from `t`, what it holds now, in an order where every state in between still lets
/// out what could get out before: (1) routes whose target changes are replaced, new ones added;
/// (2) subnets taken over — from the main table by association, from another table by moving the
/// association in one call; (3) only then routes removed and subnets given up.
async fn converge_from(
    p: &AwsProvider,
    table: &str,
    t: &aws_sdk_ec2::types::RouteTable,
    want: &JsonAttrs,
    fresh: bool,
) -> Result<(), ProviderError> {
    let have = routes_of(t);
    let want_routes = wanted_routes(want);
    for (d, target) in &want_routes {
        if have.contains(&(d.clone(), target.clone())) {
            continue;
        }
        if have.iter().any(|(hd, _)| hd == d) {
            replace_route(p, table, d, target).await?;
        } else {
            add_route(p, table, d, target).await?;
        }
    }
    let want_subnets: BTreeSet<String> = texts(want, "subnets").into_iter().collect();
    let have_subnets: BTreeSet<&str> = t
        .associations()
        .iter()
        .filter_map(|x| x.subnet_id())
        .collect();
    for sub in want_subnets
        .iter()
        .filter(|s| !have_subnets.contains(s.as_str()))
    {
        take_subnet(p, table, sub, fresh).await?;
    }
    for (d, _) in &have {
        if !want_routes.iter().any(|(wd, _)| wd == d) {
            remove_route(p, table, d).await?;
        }
    }
    for assoc in t.associations() {
        if let (Some(sub), Some(aid)) = (assoc.subnet_id(), assoc.route_table_association_id()) {
            if !want_subnets.contains(sub) {
                p.api
                    .ensure(
                        Call::ec2("DisassociateRouteTable", Effect::Repeatable).on([aid]),
                        &["InvalidAssociationID.NotFound"],
                        || p.ec2.disassociate_route_table().association_id(aid).send(),
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

/// Associates `sub` with `table`: a subnet on the VPC's main table is associated; one another table
/// holds is moved in one call (ReplaceRouteTableAssociation), never left on the main table between.
///
/// A new table (`fresh`) tries the association first (a subnet is rarely held then; AWS refuses one
/// that is, and the move follows); an update asks first who holds it.
async fn take_subnet(
    p: &AwsProvider,
    table: &str,
    sub: &str,
    fresh: bool,
) -> Result<(), ProviderError> {
    let holder = if fresh {
        None
    } else {
        holder_of(p, sub).await?
    };
    match holder {
        Some((held_by, _)) if held_by == table => Ok(()),
        Some((_, aid)) => {
            let moved = p
                .api
                .send(
                    Call::ec2("ReplaceRouteTableAssociation", Effect::Repeatable)
                        .on([aid.as_str(), table]),
                    || {
                        p.ec2
                            .replace_route_table_association()
                            .association_id(&aid)
                            .route_table_id(table)
                            .send()
                    },
                )
                .await;
            match moved {
                Ok(_) => Ok(()),
                // A replaced association gets a new id: after a lost answer the old one is gone. The
                // subnet's table says whether it moved.
                Err(e) if e.code.as_deref() == Some("InvalidAssociationID.NotFound") => {
                    match holder_of(p, sub).await? {
                        Some((held_by, _)) if held_by == table => Ok(()),
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
        None => {
            let result = p
                .api
                .send(
                    Call::ec2("AssociateRouteTable", Effect::Repeatable).on([table, sub]),
                    || {
                        p.ec2
                            .associate_route_table()
                            .route_table_id(table)
                            .subnet_id(sub)
                            .send()
                    },
                )
                .await;
            match result {
                Ok(_) => Ok(()),
                // Associated already: by an earlier attempt whose answer was lost, or with another
                // table — then it moves, in one call.
                Err(e) if e.code.as_deref() == Some("Resource.AlreadyAssociated") => {
                    match holder_of(p, sub).await? {
                        Some((held_by, _)) if held_by == table => Ok(()),
                        Some(_) if fresh => Box::pin(take_subnet(p, table, sub, false)).await,
                        _ => Err(e),
                    }
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// The table a subnet is explicitly associated with, and the association's id (none: it uses the
/// VPC's main table).
async fn holder_of(p: &AwsProvider, sub: &str) -> Result<Option<(String, String)>, ProviderError> {
    let tables = all_pages(
        p,
        Call::ec2("DescribeRouteTables", Effect::Read).on([sub]),
        |token| {
            p.ec2
                .describe_route_tables()
                .filters(
                    aws_sdk_ec2::types::Filter::builder()
                        .name("association.subnet-id")
                        .values(sub)
                        .build(),
                )
                .set_next_token(token)
                .send()
        },
        |o| o.route_tables().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(tables.into_iter().find_map(|t| {
        let id = t.route_table_id()?.to_string();
        t.associations()
            .iter()
            .find(|a| a.subnet_id() == Some(sub))
            .and_then(|a| Some((id, a.route_table_association_id()?.to_string())))
    }))
}

/// Routes netplan manages: those created with CreateRoute to a gateway, not `local` nor endpoint routes.
pub(super) fn routes_of(t: &aws_sdk_ec2::types::RouteTable) -> BTreeSet<(String, String)> {
    t.routes()
        .iter()
        .filter(|r| r.destination_prefix_list_id().is_none() && r.gateway_id() != Some("local"))
        .filter_map(|r| {
            let dest = r
                .destination_cidr_block()
                .or(r.destination_ipv6_cidr_block())?;
            let target = r
                .nat_gateway_id()
                .or(r.egress_only_internet_gateway_id())
                .or(r.gateway_id())
                .or(r.network_interface_id())?;
            Some((dest.to_string(), target.to_string()))
        })
        .collect()
}

async fn raw(
    p: &AwsProvider,
    sel: &Select,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    let tables = all_pages(
        p,
        Call::ec2("DescribeRouteTables", Effect::Read).on(sel.ids()),
        |token| {
            p.ec2
                .describe_route_tables()
                .set_filters(Some(sel.filters("route-table-id")))
                .set_next_token(token)
                .send()
        },
        |o| o.route_tables().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(tables
        .into_iter()
        .filter(|t| sel.keeps_ec2(t.tags()))
        .collect())
}

#[async_trait]
impl AwsKind for RouteTable {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        Ok(raw(p, sel)
            .await?
            .iter()
            .filter_map(|t| {
                let id = t.route_table_id()?;
                let mut a = JsonAttrs::new();
                a.insert("vpc".into(), json!(t.vpc_id()));
                a.insert(
                    "subnets".into(),
                    sorted_ids(t.associations().iter().filter_map(|x| x.subnet_id())),
                );
                a.insert("routes".into(), routes_json(&routes_of(t)));
                a.insert("tags".into(), ec2_user_tags(t.tags()));
                Some(object(id, a).owned_by(ec2_pairs(t.tags())))
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
                .send(
                    Call::ec2("CreateRouteTable", Effect::Repeatable).on([vpc]),
                    || {
                        p.ec2
                            .create_route_table()
                            .vpc_id(vpc)
                            .client_token(&req.idempotency.token)
                            .tag_specifications(ec2_tag_spec(ResourceType::RouteTable, req))
                            .send()
                    },
                )
                .await?;
            let id = out
                .route_table()
                .and_then(|t| t.route_table_id())
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateRouteTable returned no id")
                })?;
            Ok(object(id, JsonAttrs::new()))
        })
        .await?;
        // A new table holds its local routes only; one an earlier attempt made may hold more.
        if made.attrs.contains_key("routes") {
            converge(p, &made.id, &req.attrs).await?;
        } else {
            let empty = aws_sdk_ec2::types::RouteTable::builder()
                .route_table_id(&made.id)
                .build();
            converge_from(p, &made.id, &empty, &req.attrs, true).await?;
        }
        Ok(object(made.id, JsonAttrs::new()))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        // The describe that converges the routes has the tags too: no DescribeTags.
        let tags = converge(p, &req.id, &req.after).await?;
        retag_ec2_from(p, &req.id, &tags, &req.tags).await?;
        read_back(p, Kind::RouteTable, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        for t in raw(p, &Select::one(&req.id)).await? {
            for assoc in t.associations() {
                if let (Some(_), Some(aid)) =
                    (assoc.subnet_id(), assoc.route_table_association_id())
                {
                    p.api
                        .ensure(
                            Call::ec2("DisassociateRouteTable", Effect::Repeatable).on([aid]),
                            &["InvalidAssociationID.NotFound"],
                            || p.ec2.disassociate_route_table().association_id(aid).send(),
                        )
                        .await?;
                }
            }
        }
        p.api
            .send(
                Call::ec2("DeleteRouteTable", Effect::Delete).on([&req.id]),
                || p.ec2.delete_route_table().route_table_id(&req.id).send(),
            )
            .await?;
        Ok(())
    }
}
