//! Planning: refresh the state through the provider, then diff the config's resources against it.
//! The plan is data: per resource an action, attribute-level before → after, and the reason for every
//! replacement. It records the state lineage, serial and a config digest, so a saved plan applied later
//! is refused when anything moved. Reasons explain; they never drive apply.

use crate::addr::{Kind, ResourceAddr};
use crate::config::Config;
use crate::provider::{ObjectRef, Provider, ProviderError, ReadRequest, ReadResponse};
use crate::resource::Resource;
use crate::schema::{schema, ReplaceOrder, LOCAL_ONLY};
use crate::state::{ResourceState, State};
use crate::value::{attrs_to_json, Attrs, Reference, Value};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    NoOp,
    /// Start using an `existing` object (recorded in state, never changed).
    Read,
    Create,
    Update,
    Replace {
        order: ReplaceOrder,
    },
    Delete,
    /// Stop tracking an `existing` object that left the config; the object itself is not touched.
    Forget,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Read => "<=",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => "-/+",
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => "+/-",
            Action::Delete => "-",
            Action::Forget => ".",
        }
    }

    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: ResourceAddr,
    pub action: Action,
    /// The object's current id (updates, replacements, deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What changes, attribute by attribute (display; apply uses `config`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Why (replacements, drift). Explanation only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The desired attributes with references unresolved, for create/update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Attrs>,
    /// What this step waits for (create/update: its dependencies; delete: what depended on it is
    /// expressed by the executor reversing the state's dependencies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ResourceAddr>,
    /// The step deletes an object that existed before this run: rollback cannot bring it back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
    /// The step deletes an object that does not carry this stack's netplan tags (what it carries):
    /// apply asks for confirmation, or `--force`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_owned: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DriftKind {
    Deleted,
    Changed {
        attributes: Vec<String>,
    },
    /// The object no longer carries this stack's and this address's netplan tags (`owner` says what
    /// it carries): deleting it asks for confirmation.
    NotOwned {
        owner: String,
    },
}

/// What refresh found changed outside netplan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: ResourceAddr,
    #[serde(flatten)]
    pub kind: DriftKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    #[serde(default)]
    pub destroy: bool,
    /// The state this plan was computed against (`None`: no state yet).
    pub state_lineage: Option<String>,
    pub state_serial: u64,
    pub config_digest: String,
    /// In apply order: creates and updates in dependency order, then deletes in reverse.
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// What the stack costs each month before and after this plan (not kept in saved plans: it is
    /// derived again when one is applied).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub cost: Option<PlanCost>,
}

/// The monthly cost of what the state holds now and of what the config builds, and the difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanCost {
    pub before: crate::pricing::Cost,
    pub after: crate::pricing::Cost,
    /// USD a month this plan adds (negative: saves); `None` when a price is unknown.
    pub change: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub read: usize,
    pub forget: usize,
}

impl Plan {
    /// Deletes of objects that do not carry this stack's netplan tags.
    pub fn not_owned(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.not_owned.is_some())
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace { .. } => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
                Action::Read => s.read += 1,
                Action::Forget => s.forget += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("refresh failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("{address}: the existing {kind} `{id}` was not found")]
    ExistingNotFound {
        address: ResourceAddr,
        kind: Kind,
        id: String,
    },
}

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
                let mut changed = Vec::new();
                for (k, v) in &obj.attrs {
                    let same_set = || {
                        is_set_attr(k)
                            && normalize(k, Value::from_json(v))
                                == normalize(k, Value::from_json(&r.attributes[k]))
                    };
                    if r.attributes.get(k) != Some(v)
                        && r.attributes.contains_key(k)
                        && !LOCAL_ONLY.contains(&k.as_str())
                        && !same_set()
                    {
                        changed.push(k.clone());
                    }
                }
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

/// Lists whose order AWS does not keep: compared as sets.
pub fn is_set_attr(name: &str) -> bool {
    matches!(
        name,
        "subnets"
            | "security_groups"
            | "route_tables"
            | "managed_policies"
            | "routes"
            | "egress"
            | "ingress"
            | "allow_from"
    )
}

pub fn normalize(name: &str, v: Value) -> Value {
    match v {
        Value::List(mut l) if is_set_attr(name) => {
            l.sort();
            l.dedup();
            Value::List(l)
        }
        v => v,
    }
}

/// A digest of everything the config asks for (including each function's code hash).
pub fn config_digest(config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(config.stack.name.as_bytes());
    h.update(config.region.clone().unwrap_or_default().as_bytes());
    for r in config.resources.values() {
        let j = serde_json::json!({
            "address": r.addr,
            "attrs": attrs_to_json(&r.attrs),
            "depends_on": r.depends_on,
            "existing": r.existing,
        });
        h.update(j.to_string().as_bytes());
    }
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, Copy, Default)]
pub struct PlanOptions {
    pub destroy: bool,
}

enum Planned {
    /// The object will be new: its computed attributes are unknown.
    New,
    Keep,
}

/// Diffs `config` against `state` (already refreshed).
pub fn plan(config: &Config, state: Option<&State>, drift: Vec<Drift>, opts: PlanOptions) -> Plan {
    let empty = State::new(&config.stack.name);
    let st = state.unwrap_or(&empty);
    let index = st.index();
    let mut changes = Vec::new();
    let deleted_out_of_band: std::collections::HashSet<&ResourceAddr> = drift
        .iter()
        .filter(|d| d.kind == DriftKind::Deleted)
        .map(|d| &d.address)
        .collect();

    if !opts.destroy {
        let graph = crate::graph::Graph::build(config.resources.values())
            .expect("validated configs are acyclic");
        let mut planned: HashMap<ResourceAddr, Planned> = HashMap::new();
        let existing_ids: HashMap<&ResourceAddr, &str> = config
            .resources
            .values()
            .filter_map(|r| r.existing.as_deref().map(|id| (&r.addr, id)))
            .collect();
        // Roles whose VPC access policy a function removes once it is Active
        // (`detach_vpc_policy_after_create`): that policy's absence is not drift.
        let detaching: std::collections::HashSet<&ResourceAddr> = config
            .of_kind(crate::addr::Kind::LambdaFunction)
            .filter(|f| f.bool_attr("detach_vpc_policy_after_create"))
            .filter_map(|f| f.ref_attr("role"))
            .collect();
        for addr in graph.topo_order() {
            let r = &config.resources[&addr];
            let current = index.get(&addr).copied();
            let mut change = plan_resource(
                r,
                current,
                &index,
                &planned,
                &existing_ids,
                deleted_out_of_band.contains(&addr),
                &st.lineage,
            );
            if detaching.contains(&addr) {
                ignore_detached_vpc_policy(&mut change);
            }
            planned.insert(
                addr.clone(),
                match change.action {
                    Action::Create | Action::Replace { .. } => Planned::New,
                    _ => Planned::Keep,
                },
            );
            changes.push(change);
        }
    }
    // Objects in the state that the config no longer has (or all of them, for destroy), dependents first.
    let mut g = crate::graph::Graph::default();
    for r in &st.resources {
        g.add_node(r.address.clone());
    }
    for r in &st.resources {
        for d in &r.dependencies {
            g.add_edge(d, &r.address);
        }
    }
    let mut order = g.topo_order();
    order.reverse();
    let pos: HashMap<&ResourceAddr, usize> =
        order.iter().enumerate().map(|(i, a)| (a, i)).collect();
    let mut gone: Vec<&ResourceState> = st
        .resources
        .iter()
        .filter(|r| opts.destroy || r.deposed || !config.resources.contains_key(&r.address))
        .collect();
    gone.sort_by_key(|r| {
        (
            pos.get(&r.address).copied().unwrap_or(usize::MAX),
            r.deposed,
        )
    });
    for r in gone {
        let (action, reason) = if r.existing {
            (
                Action::Forget,
                "existing object: netplan stops tracking it and leaves it as it is",
            )
        } else if r.deposed {
            (
                Action::Delete,
                "deposed by a replacement that did not finish",
            )
        } else if opts.destroy {
            (Action::Delete, "destroy")
        } else {
            (Action::Delete, "no longer in the config")
        };
        changes.push(Change {
            address: r.address.clone(),
            action,
            id: Some(r.id.clone()),
            attributes: vec![],
            reasons: vec![reason.into()],
            config: None,
            depends_on: r.dependencies.clone(),
            irreversible: action == Action::Delete,
            not_owned: None,
            existing: r.existing.then(|| r.id.clone()),
        });
    }
    // What a delete (or a replacement's delete) would remove without this stack's tags on it.
    for d in &drift {
        if let DriftKind::NotOwned { owner } = &d.kind {
            for c in changes.iter_mut().filter(|c| {
                c.address == d.address
                    && matches!(c.action, Action::Delete | Action::Replace { .. })
            }) {
                c.not_owned = Some(owner.clone());
            }
        }
    }
    let region = config.region.as_deref();
    let egress = config.stack.egress_gb_per_month;
    let before = crate::pricing::cost(region, &crate::pricing::of_state(st), egress);
    let after = if opts.destroy {
        crate::pricing::cost(region, &[], egress)
    } else {
        crate::pricing::cost(region, &crate::pricing::of_config(config), egress)
    };
    let change = match (before.monthly, after.monthly) {
        (Some(b), Some(a)) => Some(((a - b) * 100.0).round() / 100.0),
        _ => None,
    };
    Plan {
        format_version: PLAN_FORMAT_VERSION,
        stack: config.stack.name.clone(),
        destroy: opts.destroy,
        state_lineage: state.map(|s| s.lineage.clone()),
        state_serial: state.map(|s| s.serial).unwrap_or(0),
        config_digest: config_digest(config),
        changes,
        drift,
        cost: Some(PlanCost {
            before,
            after,
            change,
        }),
    }
}

/// Drops a `managed_policies` change that is only the VPC access policy a function detached on purpose.
fn ignore_detached_vpc_policy(change: &mut Change) {
    if change.action != Action::Update {
        return;
    }
    let without = |v: &Option<Value>| -> Vec<Value> {
        v.as_ref()
            .map(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter(|p| p.as_str() != Some(crate::schema::VPC_ACCESS_POLICY))
            .cloned()
            .collect()
    };
    change
        .attributes
        .retain(|a| !(a.name == "managed_policies" && without(&a.before) == without(&a.after)));
    if change.attributes.is_empty() {
        change.action = Action::NoOp;
        change.reasons.clear();
    }
}

fn plan_resource(
    r: &Resource,
    current: Option<&ResourceState>,
    index: &HashMap<&ResourceAddr, &ResourceState>,
    planned: &HashMap<ResourceAddr, Planned>,
    existing_ids: &HashMap<&ResourceAddr, &str>,
    deleted_out_of_band: bool,
    salt: &str,
) -> Change {
    let sch = schema(r.addr.kind);
    let deps: Vec<ResourceAddr> = r.dependencies().into_iter().collect();
    let mut change = Change {
        address: r.addr.clone(),
        action: Action::NoOp,
        id: current.map(|c| c.id.clone()),
        attributes: vec![],
        reasons: vec![],
        config: None,
        depends_on: deps,
        irreversible: false,
        not_owned: None,
        existing: r.existing.clone(),
    };
    if let Some(id) = &r.existing {
        change.action = match current {
            Some(c) if c.existing && &c.id == id => Action::NoOp,
            _ => Action::Read,
        };
        change.id = Some(id.clone());
        return change;
    }
    // Why a reference is unknown, for the replacement reasons.
    let mut unknown_because: BTreeMap<String, ResourceAddr> = BTreeMap::new();
    let mut resolve_attr = |name: &str, v: &Value| -> Value {
        let mut resolver = |rf: &Reference| -> Value {
            if let Some(Planned::New) = planned.get(&rf.addr) {
                unknown_because
                    .entry(name.to_string())
                    .or_insert(rf.addr.clone());
                return Value::Unknown;
            }
            if let (Some(id), "id") = (existing_ids.get(&rf.addr), rf.attr.as_str()) {
                return Value::Str(id.to_string());
            }
            match index.get(&rf.addr) {
                Some(s) if rf.attr == "id" => Value::Str(s.id.clone()),
                Some(s) => s
                    .attributes
                    .get(&rf.attr)
                    .map(Value::from_json)
                    .unwrap_or(Value::Unknown),
                None => Value::Unknown,
            }
        };
        // Sensitive values as the state keeps them (digests): compared, and shown, as such.
        crate::secrets::kept_form(name, &normalize(name, v.resolve(&mut resolver)), salt)
    };
    let desired: Vec<(String, Value)> = r
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), resolve_attr(k, v)))
        .collect();
    change.config = Some(r.attrs.clone());

    let Some(cur) = current else {
        change.action = Action::Create;
        if deleted_out_of_band {
            change
                .reasons
                .push("deleted outside netplan; it will be created again".into());
        }
        for (k, v) in desired {
            if k == "internet" {
                continue;
            }
            change.attributes.push(AttrChange {
                name: k,
                before: None,
                after: Some(v),
                forces_replacement: false,
            });
        }
        for c in sch.computed {
            change.attributes.push(AttrChange {
                name: c.to_string(),
                before: None,
                after: Some(Value::Unknown),
                forces_replacement: false,
            });
        }
        return change;
    };

    let mut forced = false;
    for (k, after) in desired {
        if LOCAL_ONLY.contains(&k.as_str()) {
            continue;
        }
        let before = cur
            .attributes
            .get(&k)
            .map(|j| normalize(&k, Value::from_json(j)));
        let differs = !after.is_known() || before.as_ref() != Some(&after);
        if !differs {
            continue;
        }
        let forces = sch.forces_new(&k);
        if forces {
            forced = true;
            let reason = match unknown_because.get(&k) {
                Some(dep) => {
                    format!("`{k}` changes because {dep} is replaced, and `{k}` forces replacement")
                }
                None => format!("`{k}` forces replacement"),
            };
            change.reasons.push(reason);
        }
        change.attributes.push(AttrChange {
            name: k,
            before,
            after: Some(after),
            forces_replacement: forces,
        });
    }
    if forced {
        change.action = Action::Replace {
            order: sch.replace_order,
        };
        change.irreversible = true;
        for c in sch.computed {
            if !change.attributes.iter().any(|a| a.name == *c) {
                let before = if *c == "id" {
                    Some(Value::Str(cur.id.clone()))
                } else {
                    cur.attributes.get(*c).map(Value::from_json)
                };
                change.attributes.push(AttrChange {
                    name: c.to_string(),
                    before,
                    after: Some(Value::Unknown),
                    forces_replacement: false,
                });
            }
        }
    } else if !change.attributes.is_empty() {
        change.action = Action::Update;
    }
    change
}

/// A plan saved with `plan -o FILE`, applied later with `apply FILE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub netplan_version: String,
    pub created_at: String,
    /// The config the plan was made from, as given on the command line.
    pub config_path: String,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum StalePlan {
    #[error("the state's lineage is {found:?}, but the plan was made against {expected:?}: it belongs to another state")]
    Lineage {
        expected: Option<String>,
        found: Option<String>,
    },
    #[error("the state has moved since the plan was made (serial {expected} then, {found} now)")]
    Serial { expected: u64, found: u64 },
    #[error("the config (or a function's code) changed since the plan was made")]
    Config,
    #[error("the plan file does not match what the config and the state give now (first at {address}): it was edited, or the cloud moved since")]
    Differs { address: String },
}

impl SavedPlan {
    /// Applying a saved plan runs exactly what it shows: the plan is derived again from the current
    /// config and state, and the saved one is refused unless it is that plan, change for change (the
    /// derived one is what runs).
    pub fn matches(&self, derived: &Plan) -> Result<(), StalePlan> {
        let json = |c: &Change| serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
        let saved = &self.plan.changes;
        let now = &derived.changes;
        for i in 0..saved.len().max(now.len()) {
            let (a, b) = (saved.get(i), now.get(i));
            if a.map(json) != b.map(json) {
                let address = a.or(b).map(|c| c.address.to_string()).unwrap_or_default();
                return Err(StalePlan::Differs { address });
            }
        }
        Ok(())
    }

    /// Refuses to apply a plan when the state or config moved since it was made.
    pub fn check_current(&self, config: &Config, state: Option<&State>) -> Result<(), StalePlan> {
        let lineage = state.map(|s| s.lineage.clone());
        if lineage != self.plan.state_lineage {
            return Err(StalePlan::Lineage {
                expected: self.plan.state_lineage.clone(),
                found: lineage,
            });
        }
        let serial = state.map(|s| s.serial).unwrap_or(0);
        if serial != self.plan.state_serial {
            return Err(StalePlan::Serial {
                expected: self.plan.state_serial,
                found: serial,
            });
        }
        if config_digest(config) != self.plan.config_digest {
            return Err(StalePlan::Config);
        }
        Ok(())
    }
}
