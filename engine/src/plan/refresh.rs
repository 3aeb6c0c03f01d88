//! Refresh: every object the state holds (and every `existing` one the config names) read through the
//! provider in one batched request, what changed outside netplan reported as drift, and the one
//! comparison of managed attributes that drift and a rollback's check share (`differences`).

use super::diff::{is_set_attr, normalize};
use super::{Drift, DriftKind, PlanError};
use crate::addr::ResourceAddr;
use crate::config::Config;
use crate::provider::{ObjectRef, Provider, ReadRequest, ReadResponse};
use crate::schema::LOCAL_ONLY;
use crate::state::{ResourceState, State};
use crate::value::Value;
use std::time::Duration;

/// Reads every object in the state (and every `existing` one the config names) through the provider,
/// in one batched request. Objects gone from the cloud leave the in-memory state; changed attributes
/// are updated. Plan never writes the state file and never mutates the cloud.
pub async fn refresh(
    provider: &dyn Provider,
    config: Option<&Config>,
    state: &mut State,
) -> Result<Vec<Drift>, PlanError> {
    let mut objects: Vec<ObjectRef> = state
        .resources
        .iter()
        .map(|r| ObjectRef {
            address: r.address.clone(),
            id: r.id.clone(),
        })
        .collect();
    let mut adopt = Vec::new();
    if let Some(c) = config {
        for r in c.resources.values() {
            if let Some(id) = &r.existing {
                if state.get(&r.addr).map(|s| &s.id) != Some(id) {
                    objects.push(ObjectRef {
                        address: r.addr.clone(),
                        id: id.clone(),
                    });
                    adopt.push(r.addr.clone());
                }
            }
        }
    }
    if objects.is_empty() {
        return Ok(vec![]);
    }
    let mut resp = provider
        .read(ReadRequest {
            objects: objects.clone(),
        })
        .await?;
    reread_recent(provider, state, &objects, &mut resp).await?;
    let mut drift = Vec::new();
    let salt = state.lineage.clone();
    for ((addr, mut found), req) in resp.objects.into_iter().zip(objects) {
        // What the cloud answers in clear (a function's environment) is kept as digests where the
        // config or the state says a value is sensitive — and all of it for an object netplan does
        // not own.
        if let Some(obj) = found.as_mut() {
            let mut paths = config
                .and_then(|c| c.resources.get(&addr))
                .map(|r| crate::secrets::paths(&r.attrs))
                .unwrap_or_default();
            if let Some(r) = state.get(&addr) {
                paths.extend(crate::secrets::digest_paths(&r.attributes));
            }
            let existing = config
                .and_then(|c| c.resources.get(&addr))
                .is_some_and(|r| r.existing.is_some());
            if existing {
                if let Some(env) = obj.attrs.get("environment").and_then(|e| e.as_object()) {
                    paths.extend(env.keys().map(|k| ("environment".to_string(), k.clone())));
                }
            }
            crate::secrets::redact(&mut obj.attrs, &paths, &salt);
        }
        let is_adopt =
            adopt.contains(&addr) && state.get(&addr).map(|s| s.id != req.id).unwrap_or(true);
        if is_adopt {
            match found {
                Some(obj) => state.upsert(ResourceState {
                    address: addr,
                    id: obj.id,
                    existing: true,
                    deposed: false,
                    attributes: obj.attrs,
                    dependencies: vec![],
                    created_at: None,
                }),
                None => {
                    return Err(PlanError::ExistingNotFound {
                        kind: addr.kind,
                        address: addr,
                        id: req.id,
                    })
                }
            }
            continue;
        }
        let Some(pos) = state
            .resources
            .iter()
            .position(|r| r.address == addr && r.id == req.id)
        else {
            continue;
        };
        if let Some(owner) = found.as_ref().and_then(|o| o.owner.as_ref()) {
            let r = &state.resources[pos];
            if !r.existing && !owner.is(&state.stack, &addr) {
                drift.push(Drift {
                    address: addr.clone(),
                    kind: DriftKind::NotOwned {
                        owner: owner.describe(),
                    },
                });
            }
        }
        match found {
            None => {
                let r = state.resources.remove(pos);
                if r.existing {
                    return Err(PlanError::ExistingNotFound {
                        kind: addr.kind,
                        address: addr,
                        id: r.id,
                    });
                }
                drift.push(Drift {
                    address: addr,
                    kind: DriftKind::Deleted,
                });
            }
            Some(obj) => {
                let r = &mut state.resources[pos];
                let changed: Vec<String> = differences(&r.attributes, &obj.attrs, |_| true)
                    .into_iter()
                    .map(|d| d.name)
                    .collect();
                for (k, v) in obj.attrs {
                    r.attributes.insert(k, v);
                }
                if !changed.is_empty() && !r.existing {
                    drift.push(Drift {
                        address: addr,
                        kind: DriftKind::Changed {
                            attributes: changed,
                        },
                    });
                }
            }
        }
    }
    // Dependencies on objects refresh removed no longer hold.
    let live: std::collections::BTreeSet<ResourceAddr> =
        state.resources.iter().map(|r| r.address.clone()).collect();
    for r in &mut state.resources {
        r.dependencies.retain(|d| live.contains(d));
    }
    Ok(drift)
}

/// How long after netplan made an object AWS may still answer NotFound for it.
const CONSISTENCY_WINDOW: Duration = crate::retry::REFRESH_REREAD;

/// An object netplan made minutes ago that the cloud says is gone may not be visible yet (AWS's
/// eventual consistency): it is read again, with growing pauses, before refresh takes it for deleted.
async fn reread_recent(
    provider: &dyn Provider,
    state: &State,
    objects: &[ObjectRef],
    resp: &mut ReadResponse,
) -> Result<(), PlanError> {
    let recent = |o: &ObjectRef| {
        state.resources.iter().any(|r| {
            r.address == o.address
                && r.id == o.id
                && !r.existing
                && r.created_at
                    .as_deref()
                    .and_then(crate::state::age)
                    .is_some_and(|a| a < CONSISTENCY_WINDOW)
        })
    };
    let mut pause = Duration::from_millis(500);
    for _ in 0..4 {
        let missing: Vec<usize> = resp
            .objects
            .iter()
            .enumerate()
            .filter(|(i, (_, found))| found.is_none() && recent(&objects[*i]))
            .map(|(i, _)| i)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
        let again = provider
            .read(ReadRequest {
                objects: missing.iter().map(|i| objects[*i].clone()).collect(),
            })
            .await?;
        for (i, (_, found)) in missing.into_iter().zip(again.objects) {
            if found.is_some() {
                resp.objects[i].1 = found;
            }
        }
    }
    Ok(())
}

/// One attribute that differs between what was kept and what the cloud shows now.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AttrDiff {
    pub name: String,
    pub before: Value,
    pub now: Value,
}

/// The attributes netplan manages on an object of `kind`: what its config may set (the schema's
/// fields, but for intent never sent to the cloud), its tags, and a function's code. Computed
/// attributes (ids, a NAT instance's state) are the cloud's.
pub fn managed_attrs(kind: crate::Kind) -> impl Fn(&str) -> bool {
    let schema = crate::schema::schema(kind);
    move |name: &str| {
        (schema.field(name).is_some() && !LOCAL_ONLY.contains(&name))
            || name == "tags"
            || (kind == crate::Kind::LambdaFunction && name == "code_sha256")
    }
}

/// What differs between `kept` (an object as the state had it) and `now` (as a read shows it), for the
/// attributes `consider` names: lists AWS keeps in no order compared as sets, an attribute the cloud
/// does not show not compared, intent that never reaches the cloud skipped. Drift (refresh) and a
/// rollback's check (`apply`) both ask this.
pub fn differences(
    kept: &crate::value::JsonAttrs,
    now: &crate::value::JsonAttrs,
    consider: impl Fn(&str) -> bool,
) -> Vec<AttrDiff> {
    let mut out = vec![];
    for (k, v) in now {
        let Some(was) = kept.get(k) else { continue };
        if was == v || LOCAL_ONLY.contains(&k.as_str()) || !consider(k) {
            continue;
        }
        let (before, after) = (
            normalize(k, Value::from_json(was)),
            normalize(k, Value::from_json(v)),
        );
        if is_set_attr(k) && before == after {
            continue;
        }
        out.push(AttrDiff {
            name: k.clone(),
            before,
            now: after,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn differences_compare_sets_as_sets_and_skip_what_is_not_managed() {
        let kept = json!({
            "subnets": ["subnet-b", "subnet-a"],
            "routes": [{"destination": "0.0.0.0/0", "target": "nat-1"}],
            "source": "functions/probe",
            "state": "running",
            "tags": {"owner": "platform"},
        });
        let now = json!({
            "subnets": ["subnet-a", "subnet-b"],
            "routes": [{"destination": "0.0.0.0/0", "target": "nat-2"}],
            "source": "elsewhere",
            "state": "stopped",
            "tags": {"owner": "platform", "added": "x"},
            "arn": "new",
        });
        let (kept, now) = (
            kept.as_object().unwrap().clone(),
            now.as_object().unwrap().clone(),
        );
        let managed = managed_attrs(crate::Kind::RouteTable);
        let names: Vec<String> = differences(&kept, &now, managed)
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(names, ["routes", "tags"]);
    }
}
