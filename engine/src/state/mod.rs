//! The state file: what netplan has made (and uses), by address, with cloud ids and attributes, and the
//! operations in flight. Versioned JSON, checked for integrity on every load and every save.
//!
//! # Integrity invariants
//! `State::check` enforces these; every lifecycle test runs it.
//! 1. `format_version` is one this netplan reads (`FORMAT_VERSION`, or 1: read, and written back as the
//!    current version).
//! 2. `lineage` is not empty.
//! 3. Each address appears at most once as a live object and at most once as a deposed one.
//! 4. Every id is non-empty, and no two objects of one kind share an id.
//! 5. Every dependency names another object in the state.
//! 6. Dependencies are acyclic.
//! 7. Every pending operation has a non-empty idempotency token, and an address has at most one.
//! 8. A pending create's address has no live object (a replacement deposes the old one first).
//! 9. A pending update or delete names the id of an object in the state.
//! 10. An `existing` object (one netplan uses but does not own) is never deposed nor pending deletion.

pub mod crypto;
pub mod store;

use crate::addr::{Kind, ResourceAddr};
use crate::value::JsonAttrs;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// 2: `zones` (the availability zones each network was placed in, pinned). A state of format 1 is read
/// and written back as 2.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub format_version: u32,
    /// A random id given when the state is created; a plan made against another lineage is refused.
    pub lineage: String,
    /// Incremented by every write.
    pub serial: u64,
    pub stack: String,
    #[serde(default)]
    pub resources: Vec<ResourceState>,
    #[serde(default)]
    pub pending: Vec<PendingOperation>,
    /// The zones each network's subnets were placed in, by network address, in position order: a
    /// later plan keeps them, whatever the account offers then.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub zones: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceState {
    pub address: ResourceAddr,
    pub id: String,
    /// Declared with `existing = "id"`: used, never changed or deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
    /// Replaced create-then-delete and not yet deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deposed: bool,
    /// Config attributes as last applied, plus computed ones (`id`, `arn`, …).
    #[serde(default)]
    pub attributes: JsonAttrs,
    /// What this object must outlive (its dependencies at the time it was made).
    #[serde(default)]
    pub dependencies: Vec<ResourceAddr>,
    /// When netplan made it (RFC 3339): for a few minutes after, AWS may still answer NotFound for it
    /// (eventual consistency), which refresh must not take for a deletion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Create,
    Update,
    Delete,
}

/// Recorded before a mutation reaches the provider, cleared when its outcome is recorded: after a
/// crash, what is left here is what the next run must reconcile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingOperation {
    pub operation: Operation,
    pub address: ResourceAddr,
    /// The object's id, for updates and deletes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The idempotency key the provider was given (client token and/or tag).
    pub token: String,
    pub started_at: String,
    /// For a create: the dependencies the object will have, so an adopted object is recorded whole.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<ResourceAddr>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant {invariant} violated: {message}")]
pub struct IntegrityError {
    pub invariant: u8,
    pub message: String,
}

impl State {
    pub fn new(stack: &str) -> State {
        State {
            format_version: FORMAT_VERSION,
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            stack: stack.to_string(),
            resources: vec![],
            pending: vec![],
            zones: BTreeMap::new(),
        }
    }

    /// The live (not deposed) object at an address.
    pub fn get(&self, addr: &ResourceAddr) -> Option<&ResourceState> {
        self.resources
            .iter()
            .find(|r| &r.address == addr && !r.deposed)
    }

    pub fn get_mut(&mut self, addr: &ResourceAddr) -> Option<&mut ResourceState> {
        self.resources
            .iter_mut()
            .find(|r| &r.address == addr && !r.deposed)
    }

    pub fn deposed(&self, addr: &ResourceAddr) -> Option<&ResourceState> {
        self.resources
            .iter()
            .find(|r| &r.address == addr && r.deposed)
    }

    /// Index of live objects by address, for lookups in loops.
    pub fn index(&self) -> HashMap<&ResourceAddr, &ResourceState> {
        self.resources
            .iter()
            .filter(|r| !r.deposed)
            .map(|r| (&r.address, r))
            .collect()
    }

    /// Inserts or replaces the object at `r.address` (live or deposed), keeping address order.
    pub fn upsert(&mut self, r: ResourceState) {
        let key = (&r.address, r.deposed);
        match self
            .resources
            .binary_search_by(|x| (&x.address, x.deposed).cmp(&key))
        {
            Ok(i) => self.resources[i] = r,
            Err(i) => self.resources.insert(i, r),
        }
    }

    /// Removes an object; when no object remains at that address, others stop depending on it.
    pub fn remove(&mut self, addr: &ResourceAddr, deposed: bool) -> Option<ResourceState> {
        let i = self
            .resources
            .iter()
            .position(|r| &r.address == addr && r.deposed == deposed)?;
        let removed = self.resources.remove(i);
        if !self.resources.iter().any(|r| &r.address == addr) {
            for r in &mut self.resources {
                r.dependencies.retain(|d| d != addr);
            }
        }
        Some(removed)
    }

    pub fn pending_for(&self, addr: &ResourceAddr) -> Option<&PendingOperation> {
        self.pending.iter().find(|p| &p.address == addr)
    }

    /// Runs the numbered invariants (module docs).
    pub fn check(&self) -> Result<(), IntegrityError> {
        let fail = |invariant: u8, message: String| Err(IntegrityError { invariant, message });
        if !(1..=FORMAT_VERSION).contains(&self.format_version) {
            return fail(
                1,
                format!(
                    "format_version {} (this netplan reads {FORMAT_VERSION})",
                    self.format_version
                ),
            );
        }
        if self.lineage.trim().is_empty() {
            return fail(2, "lineage is empty".into());
        }
        let mut seen = BTreeSet::new();
        let mut ids: HashMap<(Kind, &str), &ResourceAddr> = HashMap::new();
        for r in &self.resources {
            if !seen.insert((&r.address, r.deposed)) {
                return fail(
                    3,
                    format!(
                        "{} appears twice{}",
                        r.address,
                        if r.deposed { " as deposed" } else { "" }
                    ),
                );
            }
            if r.id.trim().is_empty() {
                return fail(4, format!("{} has an empty id", r.address));
            }
            if let Some(other) = ids.insert((r.address.kind, r.id.as_str()), &r.address) {
                return fail(
                    4,
                    format!("{} and {} have the same id {}", other, r.address, r.id),
                );
            }
            if r.existing && r.deposed {
                return fail(10, format!("{} is existing and deposed", r.address));
            }
        }
        let live: BTreeSet<&ResourceAddr> = self.resources.iter().map(|r| &r.address).collect();
        for r in &self.resources {
            for d in &r.dependencies {
                if d == &r.address || !live.contains(d) {
                    return fail(
                        5,
                        format!("{} depends on {}, which is not in the state", r.address, d),
                    );
                }
            }
        }
        let mut g = crate::graph::Graph::default();
        for a in &live {
            g.add_node((*a).clone());
        }
        for r in &self.resources {
            for d in &r.dependencies {
                g.add_edge(d, &r.address);
            }
        }
        if let Some(cycle) = g.find_cycle() {
            let names: Vec<String> = cycle.iter().map(|a| a.to_string()).collect();
            return fail(6, format!("dependency cycle {}", names.join(" → ")));
        }
        let mut pending_addrs = BTreeSet::new();
        for p in &self.pending {
            if p.token.trim().is_empty() {
                return fail(
                    7,
                    format!("pending {:?} of {} has no token", p.operation, p.address),
                );
            }
            if !pending_addrs.insert(&p.address) {
                return fail(7, format!("{} has two pending operations", p.address));
            }
            match p.operation {
                Operation::Create => {
                    if self.get(&p.address).is_some() {
                        return fail(
                            8,
                            format!("pending create of {}, which already exists", p.address),
                        );
                    }
                }
                Operation::Update | Operation::Delete => {
                    let found = self
                        .resources
                        .iter()
                        .find(|r| r.address == p.address && Some(&r.id) == p.id.as_ref());
                    match found {
                        None => {
                            return fail(
                                9,
                                format!(
                                    "pending {:?} of {} names id {:?}, not in the state",
                                    p.operation, p.address, p.id
                                ),
                            )
                        }
                        Some(r) if r.existing && p.operation == Operation::Delete => {
                            return fail(
                                10,
                                format!("pending delete of existing object {}", p.address),
                            )
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }

    /// Addresses by kind, for summaries.
    pub fn counts(&self) -> BTreeMap<Kind, usize> {
        let mut m = BTreeMap::new();
        for r in &self.resources {
            *m.entry(r.address.kind).or_insert(0) += 1;
        }
        m
    }
}

pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// How long ago an RFC 3339 time was (`None` when it does not parse or lies ahead).
pub fn age(rfc3339: &str) -> Option<std::time::Duration> {
    let t = humantime::parse_rfc3339_weak(rfc3339).ok()?;
    std::time::SystemTime::now().duration_since(t).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(addr: &str, id: &str, deps: &[&str]) -> ResourceState {
        ResourceState {
            address: addr.parse().unwrap(),
            id: id.into(),
            existing: false,
            deposed: false,
            attributes: JsonAttrs::new(),
            dependencies: deps.iter().map(|d| d.parse().unwrap()).collect(),
            created_at: None,
        }
    }

    #[test]
    fn invariants_catch_each_violation() {
        let mut s = State::new("t");
        s.upsert(obj("vpc.a", "vpc-1", &[]));
        s.upsert(obj("subnet.a", "subnet-1", &["vpc.a"]));
        s.check().unwrap();

        let mut bad = s.clone();
        bad.resources.push(obj("vpc.a", "vpc-2", &[]));
        assert_eq!(bad.check().unwrap_err().invariant, 3);

        let mut bad = s.clone();
        bad.upsert(obj("vpc.b", "vpc-1", &[]));
        assert_eq!(bad.check().unwrap_err().invariant, 4);

        let mut bad = s.clone();
        bad.upsert(obj("subnet.b", "subnet-2", &["vpc.zzz"]));
        assert_eq!(bad.check().unwrap_err().invariant, 5);

        let mut bad = s.clone();
        bad.get_mut(&"vpc.a".parse().unwrap()).unwrap().dependencies =
            vec!["subnet.a".parse().unwrap()];
        assert_eq!(bad.check().unwrap_err().invariant, 6);

        let mut bad = s.clone();
        bad.pending.push(PendingOperation {
            operation: Operation::Create,
            address: "vpc.a".parse().unwrap(),
            id: None,
            token: "t".into(),
            started_at: now_rfc3339(),
            dependencies: vec![],
        });
        assert_eq!(bad.check().unwrap_err().invariant, 8);

        let mut bad = s.clone();
        bad.pending.push(PendingOperation {
            operation: Operation::Delete,
            address: "vpc.a".parse().unwrap(),
            id: Some("vpc-9".into()),
            token: "t".into(),
            started_at: now_rfc3339(),
            dependencies: vec![],
        });
        assert_eq!(bad.check().unwrap_err().invariant, 9);

        let mut bad = s.clone();
        bad.format_version = 9;
        assert_eq!(bad.check().unwrap_err().invariant, 1);
    }
}
