//! Job-graph rule (f), in one place: nothing waits for what it does not need.
//!
//! A new route table whose routes go through an object whose create is slow (the provider's facts
//! say which: on AWS a NAT gateway takes minutes, a NAT instance one) is split in two jobs:
//! - its **create**, without those routes: what needs only the table — its subnets' associations, an
//!   S3 endpoint on it — goes ahead at once;
//! - a **`Complete`** step, an update (`changed = ["routes"]`) that adds the late routes once their
//!   targets exist; it waits for them, and for the create.
//!
//! Undo: the create's undo deletes the table, late routes and all, so a `Complete` has no undo of its
//! own. A run killed in between leaves a table the state records as it is (without the late routes):
//! the next plan completes it with an ordinary update.

use super::job::Job;
use super::jobgraph::JobGraph;
use super::{StepId, StepKind};
use crate::addr::{Kind, ResourceAddr};
use crate::plan::{Action, Change};
use crate::value::{Attrs, Value};
use petgraph::stable_graph::NodeIndex;
use std::collections::HashSet;

/// A route table's create with the routes through slow objects left out.
pub(crate) struct DeferredRoutes {
    /// The table's config without the late routes: what its create sends.
    pub early: Attrs,
    /// The slow objects the late routes go through.
    pub waits_for: HashSet<ResourceAddr>,
}

/// Whether `c` (a route table's create) splits, and how: only when some routes go through objects in
/// `slow` and nothing else of the table needs them.
pub(crate) fn deferred_routes(c: &Change, slow: &HashSet<ResourceAddr>) -> Option<DeferredRoutes> {
    if c.address.kind != Kind::RouteTable || c.action != Action::Create {
        return None;
    }
    let config = c.config.as_ref()?;
    let Some(Value::List(routes)) = config.get("routes") else {
        return None;
    };
    let slow_in = |v: &Value| {
        let mut refs = vec![];
        v.references(&mut refs);
        refs.into_iter()
            .map(|r| r.addr)
            .filter(|a| slow.contains(a))
            .collect::<Vec<_>>()
    };
    let (late, early): (Vec<&Value>, Vec<&Value>) =
        routes.iter().partition(|r| !slow_in(r).is_empty());
    if late.is_empty() {
        return None;
    }
    let waits_for: HashSet<ResourceAddr> = late.iter().flat_map(|r| slow_in(r)).collect();
    // Only when nothing else of the table needs those objects.
    let mut others = vec![];
    config
        .iter()
        .filter(|(k, _)| k.as_str() != "routes")
        .for_each(|(_, v)| v.references(&mut others));
    early.iter().for_each(|r| r.references(&mut others));
    if others.iter().any(|r| waits_for.contains(&r.addr)) {
        return None;
    }
    let mut early_config = config.clone();
    early_config.insert(
        "routes".into(),
        Value::List(early.into_iter().cloned().collect()),
    );
    Some(DeferredRoutes {
        early: early_config,
        waits_for,
    })
}

/// Adds the two jobs of a split create: (the create, the `Complete` that follows it). The caller adds
/// the edges from the late routes' targets to the `Complete` (`DeferredRoutes::waits_for`).
pub(crate) fn add(g: &mut JobGraph, c: &Change, split: &DeferredRoutes) -> (NodeIndex, NodeIndex) {
    let step = |kind| StepId {
        address: c.address.clone(),
        kind,
    };
    let create = g.add(
        step(StepKind::Create),
        Job::Create {
            config: split.early.clone(),
            // The table refers to the slow objects only once its late routes are in.
            deps: c
                .depends_on
                .iter()
                .filter(|d| !split.waits_for.contains(d))
                .cloned()
                .collect(),
            depose_first: false,
        },
        false,
    );
    let complete = g.add(
        step(StepKind::Complete),
        Job::Update {
            config: c.config.clone().unwrap_or_default(),
            changed: vec!["routes".into()],
            deps: c.depends_on.clone(),
        },
        false,
    );
    g.edge(create, complete);
    (create, complete)
}

/// A `Complete` is undone by its create's undo (the table goes, late routes and all).
pub(crate) fn undone_by_the_create(step: &StepId) -> bool {
    step.kind == StepKind::Complete
}
