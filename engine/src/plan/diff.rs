//! The diff: the config's resources against the refreshed state, in dependency order, and the objects
//! the state holds that the config no longer has, dependents first. Plan never writes the state file
//! and never mutates the cloud.

use super::{
    config_digest, Action, AttrChange, Change, Drift, DriftKind, Plan, PlanCost,
    PLAN_FORMAT_VERSION,
};
use crate::addr::ResourceAddr;
use crate::config::Config;
use crate::resource::Resource;
use crate::schema::{schema, LOCAL_ONLY};
use crate::state::{ResourceState, State};
use crate::value::{Reference, Value};
use std::collections::{BTreeMap, HashMap};

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
