//! route_table: the table, its routes (to internet, NAT and egress-only gateways) and its subnet
//! associations, converged by diffing against DescribeRouteTables.

use super::*;
use aws_sdk_ec2::types::ResourceType;
use serde_json::json;
use std::collections::BTreeSet;

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

async fn add_route(
    p: &AwsProvider,
    table: &str,
    dest: &str,
    target: &str,
) -> Result<(), ProviderError> {
    let mut call = p.ec2.create_route().route_table_id(table);
    call = if dest.contains(':') {
        call.destination_ipv6_cidr_block(dest)
    } else {
        call.destination_cidr_block(dest)
    };
    call = if target.starts_with("nat-") {
        call.nat_gateway_id(target)
    } else if target.starts_with("eigw-") {
        call.egress_only_internet_gateway_id(target)
    } else {
        call.gateway_id(target)
    };
    match call.send().await {
        Ok(_) => Ok(()),
        Err(e) => {
            let e = sdk("CreateRoute", e);
            if e.code.as_deref() == Some("RouteAlreadyExists") {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

async fn remove_route(p: &AwsProvider, table: &str, dest: &str) -> Result<(), ProviderError> {
    let mut call = p.ec2.delete_route().route_table_id(table);
    call = if dest.contains(':') {
        call.destination_ipv6_cidr_block(dest)
    } else {
        call.destination_cidr_block(dest)
    };
    call.send()
        .await
        .map_err(|e| sdk("DeleteRoute", e))
        .map(|_| ())
}

/// Converges routes and associations of `table` to `want`, from what DescribeRouteTables shows.
async fn converge(p: &AwsProvider, table: &str, want: &JsonAttrs) -> Result<(), ProviderError> {
    let current = raw(p, Select::Ids(vec![table.to_string()])).await?;
    let Some(t) = current.first() else {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("route table {table} not found"),
        ));
    };
    converge_from(p, table, t, want).await
}

/// Converges `table` from `t`, what it holds now: a new table holds its `local` routes only.
async fn converge_from(
    p: &AwsProvider,
    table: &str,
    t: &aws_sdk_ec2::types::RouteTable,
    want: &JsonAttrs,
) -> Result<(), ProviderError> {
    let have = routes_of(t);
    let want_routes = wanted_routes(want);
    for (d, target) in &have {
        if !want_routes.iter().any(|(wd, wt)| wd == d && wt == target) {
            remove_route(p, table, d).await?;
        }
    }
    for (d, target) in &want_routes {
        if !have.contains(&(d.clone(), target.clone())) {
            add_route(p, table, d, target).await?;
        }
    }
    let want_subnets: BTreeSet<String> = strs(want, "subnets").into_iter().collect();
    for assoc in t.associations() {
        if let (Some(sub), Some(aid)) = (assoc.subnet_id(), assoc.route_table_association_id()) {
            if !want_subnets.contains(sub) {
                p.ec2
                    .disassociate_route_table()
                    .association_id(aid)
                    .send()
                    .await
                    .map_err(|e| sdk("DisassociateRouteTable", e))?;
            }
        }
    }
    let have_subnets: BTreeSet<&str> = t
        .associations()
        .iter()
        .filter_map(|x| x.subnet_id())
        .collect();
    for sub in want_subnets
        .iter()
        .filter(|s| !have_subnets.contains(s.as_str()))
    {
        p.ec2
            .associate_route_table()
            .route_table_id(table)
            .subnet_id(sub)
            .send()
            .await
            .map_err(|e| sdk("AssociateRouteTable", e))?;
    }
    Ok(())
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
                .or(r.gateway_id())?;
            Some((dest.to_string(), target.to_string()))
        })
        .collect()
}

async fn raw(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, ProviderError> {
    let mut pages = p
        .ec2
        .describe_route_tables()
        .set_filters(Some(sel.filters("route-table-id")))
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        out.extend(
            page.map_err(|e| sdk("DescribeRouteTables", e))?
                .route_tables()
                .iter()
                .filter(|t| sel.keeps_ec2(t.tags()))
                .cloned(),
        );
    }
    Ok(out)
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let existing = match Select::earlier_attempt(req) {
        Some(sel) => raw(p, sel).await?.into_iter().next(),
        None => None,
    };
    let (id, current) = match existing {
        Some(t) => (t.route_table_id().unwrap_or_default().to_string(), t),
        None => {
            let out = p
                .ec2
                .create_route_table()
                .vpc_id(req_s(&req.attrs, "vpc")?)
                .client_token(&req.idempotency.token)
                .tag_specifications(ec2_tag_spec(ResourceType::RouteTable, &req.tags))
                .send()
                .await
                .map_err(|e| sdk("CreateRouteTable", e))?;
            let t = out.route_table().cloned().ok_or_else(|| {
                ProviderError::new(ErrorKind::Other, "CreateRouteTable returned no table")
            })?;
            let id = t
                .route_table_id()
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateRouteTable returned no id")
                })?
                .to_string();
            (id, t)
        }
    };
    converge_from(p, &id, &current, &req.attrs).await?;
    Ok(obj(id, JsonAttrs::new()))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
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
            Some(obj(id, a))
        })
        .collect())
}

pub(super) async fn update(
    p: &AwsProvider,
    req: &UpdateRequest,
) -> Result<ObjectState, ProviderError> {
    converge(p, &req.id, &req.after).await?;
    retag_ec2(p, &req.id, &req.tags).await?;
    read_back(p, Kind::RouteTable, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    for t in raw(p, Select::Ids(vec![req.id.clone()])).await? {
        for assoc in t.associations() {
            if let (Some(_), Some(aid)) = (assoc.subnet_id(), assoc.route_table_association_id()) {
                p.ec2
                    .disassociate_route_table()
                    .association_id(aid)
                    .send()
                    .await
                    .map_err(|e| sdk("DisassociateRouteTable", e))?;
            }
        }
    }
    p.ec2
        .delete_route_table()
        .route_table_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteRouteTable", e))?;
    Ok(())
}
