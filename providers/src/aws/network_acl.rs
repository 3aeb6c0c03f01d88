//! network_acl: a custom ACL with its entries, associated with subnets (each taken from the ACL it had:
//! a subnet always has exactly one). Deleting hands the subnets back to the VPC's default ACL.
//!
//! Entries change in place: an entry whose rule number stays is replaced in one call
//! (ReplaceNetworkAclEntry), new ones are added, and only then are the ones no longer wanted deleted —
//! an ACL is never left denying what it allowed before and after (an ACL without entries denies
//! everything).

use super::api::{Call, Effect};
use super::attrs::*;
use super::create::create_once;
use super::kinds::AwsKind;
use super::{retag_ec2, AwsProvider};
use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, NetworkAcl, PortRange, ResourceType, RuleAction};
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use serde_json::{json, Value as J};

pub(super) struct Acl;

/// An entry as the config writes it: (egress, rule, protocol, from, to, cidr, action).
type Entry = (bool, i32, String, i32, i32, String, String);

fn protocol_number(p: &str) -> String {
    match p {
        "all" | "-1" => "-1",
        "tcp" => "6",
        "udp" => "17",
        "icmp" => "1",
        "icmpv6" => "58",
        other => other,
    }
    .to_string()
}

fn protocol_name(n: &str) -> &str {
    match n {
        "-1" => "all",
        "6" => "tcp",
        "17" => "udp",
        "1" => "icmp",
        "58" => "icmpv6",
        other => other,
    }
}

fn wanted(a: &JsonAttrs) -> Vec<Entry> {
    let mut out = vec![];
    for (key, egress) in [("egress", true), ("ingress", false)] {
        for e in a.get(key).and_then(J::as_array).into_iter().flatten() {
            let proto = protocol_number(e.get("protocol").and_then(J::as_str).unwrap_or("all"));
            let (from, to) = if proto == "-1" {
                (0, 65535)
            } else {
                (
                    e.get("from_port").and_then(J::as_i64).unwrap_or(0) as i32,
                    e.get("to_port").and_then(J::as_i64).unwrap_or(65535) as i32,
                )
            };
            out.push((
                egress,
                e.get("rule").and_then(J::as_i64).unwrap_or(100) as i32,
                proto,
                from,
                to,
                e.get("cidr")
                    .and_then(J::as_str)
                    .unwrap_or_default()
                    .to_string(),
                e.get("action")
                    .and_then(J::as_str)
                    .unwrap_or("allow")
                    .to_string(),
            ));
        }
    }
    out
}

/// The ACL's entries without the implicit final deny (rule 32767).
pub(super) fn entries_json(acl: &NetworkAcl, egress: bool) -> J {
    let mut v: Vec<(i32, J)> = acl
        .entries()
        .iter()
        .filter(|e| e.egress() == Some(egress) && e.rule_number() != Some(32767))
        .map(|e| {
            let proto = protocol_name(e.protocol().unwrap_or("-1"));
            let mut m = serde_json::Map::new();
            m.insert("rule".into(), json!(e.rule_number()));
            m.insert("protocol".into(), json!(proto));
            m.insert(
                "cidr".into(),
                json!(e.cidr_block().or(e.ipv6_cidr_block()).unwrap_or_default()),
            );
            m.insert(
                "action".into(),
                json!(e.rule_action().map(|a| a.as_str()).unwrap_or("deny")),
            );
            if proto != "all" {
                if let Some(r) = e.port_range() {
                    m.insert("from_port".into(), json!(r.from()));
                    m.insert("to_port".into(), json!(r.to()));
                }
            }
            (e.rule_number().unwrap_or(0), J::Object(m))
        })
        .collect();
    v.sort_by_key(|(n, _)| *n);
    J::Array(v.into_iter().map(|(_, e)| e).collect())
}

pub(super) async fn raw(
    p: &AwsProvider,
    filters: Vec<Filter>,
) -> Result<Vec<NetworkAcl>, ProviderError> {
    all_pages(
        p,
        Call::ec2("DescribeNetworkAcls", Effect::Read),
        |token| {
            p.ec2
                .describe_network_acls()
                .set_filters(Some(filters.clone()))
                .set_next_token(token)
                .send()
        },
        |o| o.network_acls().to_vec(),
        |o| o.next_token().map(str::to_string),
    )
    .await
}

/// By ids (moto has no `network-acl-id` filter); an id that is gone fails the whole call, so then ask
/// one by one (rare: only after out-of-band deletes).
async fn by_ids(p: &AwsProvider, ids: &[String]) -> Result<Vec<NetworkAcl>, ProviderError> {
    by_ids_or_each(ids, |ids| async move {
        p.api
            .send(
                Call::ec2("DescribeNetworkAcls", Effect::Read).on(&ids),
                || {
                    p.ec2
                        .describe_network_acls()
                        .set_network_acl_ids(Some(ids.clone()))
                        .send()
                },
            )
            .await
            .map(|o| o.network_acls().to_vec())
    })
    .await
}

async fn select(p: &AwsProvider, sel: &Select) -> Result<Vec<NetworkAcl>, ProviderError> {
    match sel {
        Select::Ids(ids) => by_ids(p, ids).await,
        Select::Tags { .. } => raw(p, sel.filters("")).await,
    }
}

/// Moves `subnets` to ACL `to` from whichever ACL holds each now — or only from `from`, when given (a
/// subnet another ACL has taken meanwhile is that one's now).
async fn associate(
    p: &AwsProvider,
    to: &str,
    subnets: &[String],
    from: Option<&str>,
) -> Result<(), ProviderError> {
    if subnets.is_empty() {
        return Ok(());
    }
    let holders = raw(
        p,
        vec![Filter::builder()
            .name("association.subnet-id")
            .set_values(Some(subnets.to_vec()))
            .build()],
    )
    .await?;
    for acl in &holders {
        for a in acl.associations() {
            let (Some(sub), Some(aid)) = (a.subnet_id(), a.network_acl_association_id()) else {
                continue;
            };
            if subnets.iter().any(|s| s == sub)
                && acl.network_acl_id() != Some(to)
                && from.is_none_or(|f| acl.network_acl_id() == Some(f))
            {
                // A lost answer leaves the old association id gone: the subnet was moved then.
                p.api
                    .ensure(
                        Call::ec2("ReplaceNetworkAclAssociation", Effect::Repeatable).on([aid, to]),
                        &["InvalidAssociationID.NotFound"],
                        || {
                            p.ec2
                                .replace_network_acl_association()
                                .association_id(aid)
                                .network_acl_id(to)
                                .send()
                        },
                    )
                    .await?;
            }
        }
    }
    Ok(())
}

async fn add_entries(p: &AwsProvider, id: &str, entries: &[Entry]) -> Result<(), ProviderError> {
    for (egress, rule, proto, from, to, cidr, action) in entries {
        p.api
            .ensure(
                Call::ec2("CreateNetworkAclEntry", Effect::Repeatable).on([id]),
                &["NetworkAclEntryAlreadyExists"],
                || {
                    let mut call = p
                        .ec2
                        .create_network_acl_entry()
                        .network_acl_id(id)
                        .egress(*egress)
                        .rule_number(*rule)
                        .protocol(proto)
                        .rule_action(RuleAction::from(action.as_str()));
                    call = if cidr.contains(':') {
                        call.ipv6_cidr_block(cidr)
                    } else {
                        call.cidr_block(cidr)
                    };
                    if proto != "-1" {
                        call = call.port_range(PortRange::builder().from(*from).to(*to).build());
                    }
                    call.send()
                },
            )
            .await?;
    }
    Ok(())
}

/// The entries an ACL holds now, in the config's form (without the implicit final deny).
fn entries_of(acl: &NetworkAcl) -> Vec<Entry> {
    acl.entries()
        .iter()
        .filter(|e| e.rule_number() != Some(32767))
        .map(|e| {
            let proto = e.protocol().unwrap_or("-1").to_string();
            let (from, to) = match e.port_range() {
                Some(r) if proto != "-1" => (r.from().unwrap_or(0), r.to().unwrap_or(65535)),
                _ => (0, 65535),
            };
            (
                e.egress().unwrap_or(false),
                e.rule_number().unwrap_or(0),
                proto,
                from,
                to,
                e.cidr_block()
                    .or(e.ipv6_cidr_block())
                    .unwrap_or_default()
                    .to_string(),
                e.rule_action()
                    .map(|a| a.as_str().to_string())
                    .unwrap_or_else(|| "deny".into()),
            )
        })
        .collect()
}

/// Brings the ACL's entries to `want` in place: replaced (same rule number), added, then the rest
/// deleted.
async fn converge_entries(p: &AwsProvider, id: &str, want: &[Entry]) -> Result<(), ProviderError> {
    let have: Vec<Entry> = by_ids(p, &[id.to_string()])
        .await?
        .iter()
        .flat_map(entries_of)
        .collect();
    let slot = |e: &Entry| (e.0, e.1);
    for w in want {
        match have.iter().find(|h| slot(h) == slot(w)) {
            Some(h) if h == w => {}
            Some(_) => replace_entry(p, id, w).await?,
            None => add_entries(p, id, std::slice::from_ref(w)).await?,
        }
    }
    for h in have
        .iter()
        .filter(|h| !want.iter().any(|w| slot(w) == slot(h)))
    {
        p.api
            .ensure(
                Call::ec2("DeleteNetworkAclEntry", Effect::Repeatable).on([id]),
                &["InvalidNetworkAclEntry.NotFound"],
                || {
                    p.ec2
                        .delete_network_acl_entry()
                        .network_acl_id(id)
                        .egress(h.0)
                        .rule_number(h.1)
                        .send()
                },
            )
            .await?;
    }
    Ok(())
}

async fn replace_entry(p: &AwsProvider, id: &str, e: &Entry) -> Result<(), ProviderError> {
    let (egress, rule, proto, from, to, cidr, action) = e;
    p.api
        .send(
            Call::ec2("ReplaceNetworkAclEntry", Effect::Repeatable).on([id]),
            || {
                let mut call = p
                    .ec2
                    .replace_network_acl_entry()
                    .network_acl_id(id)
                    .egress(*egress)
                    .rule_number(*rule)
                    .protocol(proto)
                    .rule_action(RuleAction::from(action.as_str()));
                call = if cidr.contains(':') {
                    call.ipv6_cidr_block(cidr)
                } else {
                    call.cidr_block(cidr)
                };
                if proto != "-1" {
                    call = call.port_range(PortRange::builder().from(*from).to(*to).build());
                }
                call.send()
            },
        )
        .await
        .map(|_| ())
}

/// Hands the `subnets` ACL `from` still holds back to the VPC's default ACL.
async fn release(
    p: &AwsProvider,
    vpc: &str,
    from: &str,
    subnets: &[String],
) -> Result<(), ProviderError> {
    if subnets.is_empty() {
        return Ok(());
    }
    let default = raw(
        p,
        vec![
            Filter::builder().name("vpc-id").values(vpc).build(),
            Filter::builder().name("default").values("true").build(),
        ],
    )
    .await?;
    let Some(default) = default.first().and_then(|d| d.network_acl_id()) else {
        return Err(ProviderError::new(
            ErrorKind::NotFound,
            format!("{vpc} has no default network ACL"),
        ));
    };
    associate(p, default, subnets, Some(from)).await
}

#[async_trait]
impl AwsKind for Acl {
    async fn describe(
        &self,
        p: &AwsProvider,
        sel: &Select,
    ) -> Result<Vec<ObjectState>, ProviderError> {
        Ok(select(p, sel)
            .await?
            .iter()
            .filter(|acl| sel.keeps_ec2(acl.tags()))
            .filter_map(|acl| {
                let id = acl.network_acl_id()?;
                let mut a = JsonAttrs::new();
                a.insert("vpc".into(), json!(acl.vpc_id()));
                a.insert(
                    "subnets".into(),
                    sorted_ids(acl.associations().iter().filter_map(|x| x.subnet_id())),
                );
                a.insert("egress".into(), entries_json(acl, true));
                a.insert("ingress".into(), entries_json(acl, false));
                a.insert("tags".into(), ec2_user_tags(acl.tags()));
                Some(object(id, a).owned_by(ec2_pairs(acl.tags())))
            })
            .collect())
    }

    async fn create(
        &self,
        p: &AwsProvider,
        req: &CreateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.attrs;
        let vpc = required(a, "vpc")?;
        let made = create_once(p, self, req, || async {
            let out = p
                .api
                .send(
                    Call::ec2("CreateNetworkAcl", Effect::Repeatable).on([vpc]),
                    || {
                        p.ec2
                            .create_network_acl()
                            .vpc_id(vpc)
                            .client_token(&req.idempotency.token)
                            .tag_specifications(ec2_tag_spec(ResourceType::NetworkAcl, req))
                            .send()
                    },
                )
                .await?;
            let id = out
                .network_acl()
                .and_then(|n| n.network_acl_id())
                .ok_or_else(|| {
                    ProviderError::new(ErrorKind::Other, "CreateNetworkAcl returned no id")
                })?;
            Ok(object(id, JsonAttrs::new()))
        })
        .await?;
        if made.attrs.contains_key("egress") {
            // Made by an earlier attempt: converge what it holds.
            converge_entries(p, &made.id, &wanted(a)).await?;
        } else {
            add_entries(p, &made.id, &wanted(a)).await?;
        }
        associate(p, &made.id, &texts(a, "subnets"), None).await?;
        Ok(object(made.id, JsonAttrs::new()))
    }

    async fn update(
        &self,
        p: &AwsProvider,
        req: &UpdateRequest,
    ) -> Result<ObjectState, ProviderError> {
        let a = &req.after;
        if req.changed.iter().any(|c| c == "egress" || c == "ingress") {
            converge_entries(p, &req.id, &wanted(a)).await?;
        }
        if req.changed.iter().any(|c| c == "subnets") {
            let after = texts(a, "subnets");
            let released: Vec<String> = texts(&req.before, "subnets")
                .into_iter()
                .filter(|s| !after.contains(s))
                .collect();
            associate(p, &req.id, &after, None).await?;
            release(p, required(a, "vpc")?, &req.id, &released).await?;
        }
        retag_ec2(p, &req.id, &req.tags).await?;
        Ok(object(req.id.clone(), JsonAttrs::new()))
    }

    async fn delete(&self, p: &AwsProvider, req: &DeleteRequest) -> Result<(), ProviderError> {
        let current = by_ids(p, std::slice::from_ref(&req.id)).await?;
        if let Some(acl) = current.first() {
            let subnets: Vec<String> = acl
                .associations()
                .iter()
                .filter_map(|x| x.subnet_id().map(str::to_string))
                .collect();
            release(p, acl.vpc_id().unwrap_or_default(), &req.id, &subnets).await?;
        }
        p.api
            .send(
                Call::ec2("DeleteNetworkAcl", Effect::Delete).on([&req.id]),
                || p.ec2.delete_network_acl().network_acl_id(&req.id).send(),
            )
            .await?;
        Ok(())
    }
}
