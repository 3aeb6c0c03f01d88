//! security_group: the group and its rules, diffed against DescribeSecurityGroups (authorising a rule
//! that exists fails, so only what differs is sent). Deleting waits for Lambda's network interfaces.

use super::*;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType};
use serde_json::json;
use std::collections::BTreeSet;

/// A rule flattened to one CIDR: (protocol, from, to, cidr).
type Rule = (String, i32, i32, String);

fn protocol(p: &str) -> String {
    match p {
        "all" | "-1" => "-1".into(),
        other => other.to_string(),
    }
}

fn wanted(a: &JsonAttrs, key: &str) -> BTreeSet<Rule> {
    a.get(key)
        .and_then(J::as_array)
        .map(|rules| {
            rules
                .iter()
                .filter_map(|r| {
                    let proto = protocol(r.get("protocol")?.as_str()?);
                    let (from, to) = if proto == "-1" {
                        (-1, -1)
                    } else {
                        (
                            r.get("from_port").and_then(J::as_i64).unwrap_or(0) as i32,
                            r.get("to_port").and_then(J::as_i64).unwrap_or(65535) as i32,
                        )
                    };
                    Some((proto, from, to, r.get("cidr")?.as_str()?.to_string()))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn flatten(perms: &[IpPermission]) -> BTreeSet<Rule> {
    let mut out = BTreeSet::new();
    for p in perms {
        let proto = p.ip_protocol().unwrap_or("-1").to_string();
        let (from, to) = if proto == "-1" {
            (-1, -1)
        } else {
            (p.from_port().unwrap_or(0), p.to_port().unwrap_or(65535))
        };
        for r in p.ip_ranges() {
            if let Some(c) = r.cidr_ip() {
                out.insert((proto.clone(), from, to, c.to_string()));
            }
        }
        for r in p.ipv6_ranges() {
            if let Some(c) = r.cidr_ipv6() {
                out.insert((proto.clone(), from, to, c.to_string()));
            }
        }
    }
    out
}

fn permission(r: &Rule) -> IpPermission {
    let mut b = IpPermission::builder().ip_protocol(&r.0);
    if r.0 != "-1" {
        b = b.from_port(r.1).to_port(r.2);
    }
    if r.3.contains(':') {
        b.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(&r.3).build())
            .build()
    } else {
        b.ip_ranges(IpRange::builder().cidr_ip(&r.3).build())
            .build()
    }
}

pub(super) fn rules_json(rules: &BTreeSet<Rule>) -> J {
    J::Array(
        rules
            .iter()
            .map(|(p, f, t, c)| {
                let proto = if p == "-1" { "all" } else { p.as_str() };
                if p == "-1" {
                    json!({ "protocol": proto, "cidr": c })
                } else {
                    json!({ "protocol": proto, "cidr": c, "from_port": f, "to_port": t })
                }
            })
            .collect(),
    )
}

async fn raw(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<aws_sdk_ec2::types::SecurityGroup>, ProviderError> {
    let mut pages = p
        .ec2
        .describe_security_groups()
        .set_filters(Some(sel.filters("group-id")))
        .into_paginator()
        .send();
    let mut out = vec![];
    while let Some(page) = pages.next().await {
        out.extend(
            page.map_err(|e| sdk("DescribeSecurityGroups", e))?
                .security_groups()
                .iter()
                .filter(|g| sel.keeps_ec2(g.tags()))
                .cloned(),
        );
    }
    Ok(out)
}

async fn converge(p: &AwsProvider, id: &str, want: &JsonAttrs) -> Result<(), ProviderError> {
    let current = raw(p, Select::Ids(vec![id.to_string()])).await?;
    let Some(g) = current.first() else {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("security group {id} not found"),
        ));
    };
    for (key, have) in [
        ("egress", flatten(g.ip_permissions_egress())),
        ("ingress", flatten(g.ip_permissions())),
    ] {
        let want = wanted(want, key);
        let revoke: Vec<IpPermission> = have.difference(&want).map(permission).collect();
        let grant: Vec<IpPermission> = want.difference(&have).map(permission).collect();
        if key == "egress" {
            if !revoke.is_empty() {
                p.ec2
                    .revoke_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(revoke))
                    .send()
                    .await
                    .map_err(|e| sdk("RevokeSecurityGroupEgress", e))?;
            }
            if !grant.is_empty() {
                p.ec2
                    .authorize_security_group_egress()
                    .group_id(id)
                    .set_ip_permissions(Some(grant))
                    .send()
                    .await
                    .map_err(|e| sdk("AuthorizeSecurityGroupEgress", e))?;
            }
        } else {
            if !revoke.is_empty() {
                p.ec2
                    .revoke_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(revoke))
                    .send()
                    .await
                    .map_err(|e| sdk("RevokeSecurityGroupIngress", e))?;
            }
            if !grant.is_empty() {
                p.ec2
                    .authorize_security_group_ingress()
                    .group_id(id)
                    .set_ip_permissions(Some(grant))
                    .send()
                    .await
                    .map_err(|e| sdk("AuthorizeSecurityGroupIngress", e))?;
            }
        }
    }
    Ok(())
}

pub(super) async fn create(
    p: &AwsProvider,
    req: &CreateRequest,
) -> Result<ObjectState, ProviderError> {
    let a = &req.attrs;
    let existing = match Select::earlier_attempt(req) {
        Some(sel) => raw(p, sel).await?.into_iter().next(),
        None => None,
    };
    let id = match existing.as_ref().and_then(|g| g.group_id()) {
        Some(id) => id.to_string(),
        None => {
            let out = p
                .ec2
                .create_security_group()
                .group_name(req_s(a, "name")?)
                .description(req_s(a, "description")?)
                .vpc_id(req_s(a, "vpc")?)
                .tag_specifications(ec2_tag_spec(ResourceType::SecurityGroup, &req.tags))
                .send()
                .await
                .map_err(|e| sdk("CreateSecurityGroup", e))?;
            out.group_id()
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateSecurityGroup returned no id")
                })?
                .to_string()
        }
    };
    // A new group's default egress rules differ between AWS (IPv4 only) and emulators: read them.
    converge(p, &id, a).await?;
    Ok(obj(id, JsonAttrs::new()))
}

pub(super) async fn describe(
    p: &AwsProvider,
    sel: Select,
) -> Result<Vec<ObjectState>, ProviderError> {
    Ok(raw(p, sel)
        .await?
        .iter()
        .filter_map(|g| {
            let id = g.group_id()?;
            let mut a = JsonAttrs::new();
            a.insert("vpc".into(), json!(g.vpc_id()));
            a.insert("name".into(), json!(g.group_name()));
            a.insert("description".into(), json!(g.description()));
            a.insert(
                "egress".into(),
                rules_json(&flatten(g.ip_permissions_egress())),
            );
            a.insert("ingress".into(), rules_json(&flatten(g.ip_permissions())));
            a.insert("tags".into(), ec2_user_tags(g.tags()));
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
    read_back(p, Kind::SecurityGroup, &req.id).await
}

pub(super) async fn delete(p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
    release_lambda_enis(p, "group-id", &req.id, &req.address, &req.progress).await?;
    p.ec2
        .delete_security_group()
        .group_id(&req.id)
        .send()
        .await
        .map_err(|e| sdk("DeleteSecurityGroup", e))?;
    Ok(())
}
