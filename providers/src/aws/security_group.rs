//! security_group: the group and its rules, diffed against DescribeSecurityGroups (authorising a rule
//! that exists fails, so only what differs is sent). Deleting waits for Lambda's network interfaces.
//! The group's name is unique in its VPC: a create repeated after a lost answer is refused, and the
//! group found by netplan's tags is the one.

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{read_back, retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde_json::{json, Value as J};
use std::collections::BTreeSet;

pub(super) struct SecurityGroup;

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
    sel: &Select,
) -> Result<Vec<aws_sdk_ec2::types::SecurityGroup>, ProviderError> {
    let groups = all_pages(
        p,
        Call::ec2("DescribeSecurityGroups", Effect::Read).on(sel.ids()),
        |token| {
            p.ec2
                .describe_security_groups()
                .set_filters(Some(sel.filters("group-id")))
                .set_next_token(token)
                .send()
        },
        |o| o.security_groups().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    Ok(groups
        .into_iter()
        .filter(|g| sel.keeps_ec2(g.tags()))
        .collect())
}

/// Converges the group's rules to `want`: new rules are authorized before old ones are revoked, so a
/// rule that narrows (`all` → `tcp 443`) never leaves the group letting nothing out — and a refused
/// authorization leaves the old rules in place.
pub(super) async fn converge(
    p: &AwsProvider,
    id: &str,
    want: &JsonAttrs,
) -> Result<(), ProviderError> {
    let current = raw(p, &Select::one(id)).await?;
    let Some(g) = current.first() else {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("security group {id} not found"),
        ));
    };
    let sides = [
        ("egress", flatten(g.ip_permissions_egress())),
        ("ingress", flatten(g.ip_permissions())),
    ];
    let diff = |key: &str, have: &BTreeSet<Rule>| {
        let want = wanted(want, key);
        let revoke: Vec<IpPermission> = have.difference(&want).map(permission).collect();
        let grant: Vec<IpPermission> = want.difference(have).map(permission).collect();
        (grant, revoke)
    };
    for (key, have) in &sides {
        let (grant, _) = diff(key, have);
        if !grant.is_empty() {
            authorize(p, id, key, grant).await?;
        }
    }
    for (key, have) in &sides {
        let (_, revoke) = diff(key, have);
        if !revoke.is_empty() {
            revoke_rules(p, id, key, revoke).await?;
        }
    }
    Ok(())
}

async fn authorize(
    p: &AwsProvider,
    id: &str,
    key: &str,
    rules: Vec<IpPermission>,
) -> Result<(), ProviderError> {
    if key == "egress" {
        p.api
            .ensure(
                Call::ec2("AuthorizeSecurityGroupEgress", Effect::Repeatable).on([id]),
                &["InvalidPermission.Duplicate"],
                || {
                    p.ec2
                        .authorize_security_group_egress()
                        .group_id(id)
                        .set_ip_permissions(Some(rules.clone()))
                        .send()
                },
            )
            .await
    } else {
        p.api
            .ensure(
                Call::ec2("AuthorizeSecurityGroupIngress", Effect::Repeatable).on([id]),
                &["InvalidPermission.Duplicate"],
                || {
                    p.ec2
                        .authorize_security_group_ingress()
                        .group_id(id)
                        .set_ip_permissions(Some(rules.clone()))
                        .send()
                },
            )
            .await
    }
}

async fn revoke_rules(
    p: &AwsProvider,
    id: &str,
    key: &str,
    rules: Vec<IpPermission>,
) -> Result<(), ProviderError> {
    if key == "egress" {
        p.api
            .ensure(
                Call::ec2("RevokeSecurityGroupEgress", Effect::Repeatable).on([id]),
                &["InvalidPermission.NotFound"],
                || {
                    p.ec2
                        .revoke_security_group_egress()
                        .group_id(id)
                        .set_ip_permissions(Some(rules.clone()))
                        .send()
                },
            )
            .await
    } else {
        p.api
            .ensure(
                Call::ec2("RevokeSecurityGroupIngress", Effect::Repeatable).on([id]),
                &["InvalidPermission.NotFound"],
                || {
                    p.ec2
                        .revoke_security_group_ingress()
                        .group_id(id)
                        .set_ip_permissions(Some(rules.clone()))
                        .send()
                },
            )
            .await
    }
}

#[async_trait]
impl AwsKind for SecurityGroup {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
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
                Some(object(id, a).owned_by(ec2_pairs(g.tags())))
            })
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let (name, description, vpc) = (
            required(a, "name")?,
            required(a, "description")?,
            required(a, "vpc")?,
        );
        let made = create_once(p, self, req, || async {
            let result = p
                .api
                .send(
                    Call::ec2("CreateSecurityGroup", Effect::Once).on([vpc]),
                    || {
                        p.ec2
                            .create_security_group()
                            .group_name(name)
                            .description(description)
                            .vpc_id(vpc)
                            .tag_specifications(ec2_tag_spec(ResourceType::SecurityGroup, req))
                            .send()
                    },
                )
                .await;
            match result {
                Ok(out) => {
                    let id = out.group_id().ok_or_else(|| {
                        ProviderError::new(ErrorKind::Other, "CreateSecurityGroup returned no id")
                    })?;
                    Ok(object(id, JsonAttrs::new()))
                }
                // The name is taken: by this create (a lost answer; it carries this create's tags and
                // token), or by a group that is not this one's — named, never adopted.
                Err(e) if e.code.as_deref() == Some("InvalidGroup.Duplicate") => {
                    match self.describe(p, &Select::made_by(&req.idempotency)).await?.pop() {
                        Some(o) => Ok(o),
                        None => Err(ProviderError {
                            message: format!(
                                "{} — a security group named `{name}` exists in {vpc} and is not this stack's {}: rename one of them",
                                e.message, req.address
                            ),
                            ..e
                        }),
                    }
                }
                Err(e) => Err(e),
            }
        })
        .await?;
        // A new group's default egress rules differ between AWS (IPv4 only) and emulators: read them.
        converge(p, &made.id, a).await?;
        Ok(object(made.id, JsonAttrs::new()))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        converge(p, &req.id, &req.after).await?;
        retag_ec2(p, &req.id, &req.tags).await?;
        read_back(p, Kind::SecurityGroup, &req.id).await
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        super::wait::release_lambda_enis(p, "group-id", &req.id, &req.address, &req.progress)
            .await?;
        let result = p
            .api
            .send(
                Call::ec2("DeleteSecurityGroup", Effect::Delete).on([&req.id]),
                || p.ec2.delete_security_group().group_id(&req.id).send(),
            )
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.kind == ErrorKind::DependencyViolation => {
                Err(super::wait::refused(p, "group-id", &req.id, req.retrying_for, e).await)
            }
            Err(e) => Err(e),
        }
    }
}
