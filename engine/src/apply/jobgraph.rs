//! The job graph: a plan turned into jobs (create, update, delete, read, forget) and the edges between
//! them, on a petgraph DAG (an edge runs from a job to one that waits for it). The ordering rules:
//!
//! - (a) creates and updates come after what they reference;
//! - (b) a create-then-delete replacement's old object goes after its dependents moved over;
//! - (c) a delete waits for whatever in the state still depends on the object (and for the update that
//!   drops the reference);
//! - (d) the delete-only edges AWS needs: an execution role after its functions' network interfaces are
//!   gone (the deletes of their subnets and security groups wait for those), an internet gateway after
//!   the VPC's NAT gateways and their Elastic IPs;
//! - (e) irreversible jobs (deletes of objects that existed before the run) wait for every reversible job
//!   that does not depend on one, so a failure before them still rolls back cleanly;
//! - (f) a new route table whose routes go through a NAT gateway or instance made in the same run is
//!   created without those routes, and a second job (`Complete`) adds them once the NAT is available:
//!   what needs only the table (its subnets' associations, an S3 endpoint) does not wait minutes for
//!   the NAT. Its undo is the create's: deleting the table.
//!
//! Also here: the undo graph a rollback runs (the inverse of each finished job, edges reversed) and the
//! critical path (the longest chain of latencies: the floor for a run's wall time).

use super::job::Job;
use super::{ApplyError, StepId, StepKind, StepStatus};
use crate::addr::{Kind, ResourceAddr};
use crate::graph::stable_topo_order;
use crate::plan::{Action, Change, Plan};
use crate::schema::ReplaceOrder;
use crate::state::{ResourceState, State};
use crate::value::{Attrs, Value};
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::Direction;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

pub(crate) struct Node {
    pub step: StepId,
    pub job: Job,
    pub irreversible: bool,
}

#[derive(Default)]
pub(crate) struct JobGraph {
    pub g: StableDiGraph<Node, ()>,
    edges: HashSet<(NodeIndex, NodeIndex)>,
}

impl JobGraph {
    pub fn add(&mut self, step: StepId, job: Job, irreversible: bool) -> NodeIndex {
        self.g.add_node(Node {
            step,
            job,
            irreversible,
        })
    }

    /// `after` waits for `before`.
    pub fn edge(&mut self, before: NodeIndex, after: NodeIndex) {
        if before != after && self.edges.insert((before, after)) {
            self.g.add_edge(before, after, ());
        }
    }

    pub fn len(&self) -> usize {
        self.g.node_count()
    }

    pub fn nodes(&self) -> impl Iterator<Item = (NodeIndex, &Node)> {
        self.g.node_indices().map(move |i| (i, &self.g[i]))
    }

    pub fn dependents(&self, i: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g.neighbors_directed(i, Direction::Outgoing)
    }

    pub fn dependencies(&self, i: NodeIndex) -> impl Iterator<Item = NodeIndex> + '_ {
        self.g.neighbors_directed(i, Direction::Incoming)
    }

    /// Jobs in an order where each comes after what it waits for (ties in insertion order).
    pub fn order(&self) -> Result<Vec<NodeIndex>, ApplyError> {
        stable_topo_order(&self.g, |i| i.index()).map_err(|(_, stuck)| {
            let stuck: Vec<String> = stuck.iter().map(|i| self.g[*i].step.to_string()).collect();
            ApplyError::Internal(format!(
                "the apply graph has a cycle among: {}",
                stuck.join(", ")
            ))
        })
    }
}

/// Turns a plan into jobs and the edges between them (see the module docs for the rules).
pub(crate) fn build(plan: &Plan, state: &State) -> Result<JobGraph, ApplyError> {
    let mut g = JobGraph::default();
    let mut ready: HashMap<ResourceAddr, NodeIndex> = HashMap::new();
    let mut deletes: HashMap<(ResourceAddr, bool), NodeIndex> = HashMap::new();
    let mut updates: HashMap<ResourceAddr, NodeIndex> = HashMap::new();
    let mut replaced_delete_first: HashSet<ResourceAddr> = HashSet::new();
    // (f) what a route table's late routes wait for, and the job that adds them.
    let mut completes: HashMap<ResourceAddr, (NodeIndex, HashSet<ResourceAddr>)> = HashMap::new();
    let slow_creates: HashSet<ResourceAddr> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .filter(|c| matches!(c.address.kind, Kind::NatGateway | Kind::NatInstance))
        .map(|c| c.address.clone())
        .collect();
    let step = |a: &ResourceAddr, kind: StepKind| StepId {
        address: a.clone(),
        kind,
    };
    for c in &plan.changes {
        let a = &c.address;
        let create = |depose_first| Job::Create {
            config: c.config.clone().unwrap_or_default(),
            deps: c.depends_on.clone(),
            depose_first,
        };
        match c.action {
            Action::NoOp => {}
            Action::Read => {
                let known = state
                    .get(a)
                    .filter(|s| Some(&s.id) == c.id.as_ref())
                    .cloned();
                let i = g.add(
                    step(a, StepKind::Read),
                    Job::Read {
                        id: c.id.clone().unwrap_or_default(),
                        known,
                    },
                    false,
                );
                ready.insert(a.clone(), i);
            }
            Action::Create => match deferred_routes(c, &slow_creates) {
                Some(split) => {
                    let i = g.add(
                        step(a, StepKind::Create),
                        Job::Create {
                            config: split.early,
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
                        step(a, StepKind::Complete),
                        Job::Update {
                            config: c.config.clone().unwrap_or_default(),
                            changed: vec!["routes".into()],
                            deps: c.depends_on.clone(),
                        },
                        false,
                    );
                    g.edge(i, complete);
                    ready.insert(a.clone(), i);
                    completes.insert(a.clone(), (complete, split.waits_for));
                }
                None => {
                    let i = g.add(step(a, StepKind::Create), create(false), false);
                    ready.insert(a.clone(), i);
                }
            },
            Action::Update => {
                let changed = c.attributes.iter().map(|x| x.name.clone()).collect();
                let i = g.add(
                    step(a, StepKind::Update),
                    Job::Update {
                        config: c.config.clone().unwrap_or_default(),
                        changed,
                        deps: c.depends_on.clone(),
                    },
                    false,
                );
                ready.insert(a.clone(), i);
                updates.insert(a.clone(), i);
            }
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => {
                let d = g.add(
                    step(a, StepKind::Delete),
                    Job::Delete { deposed: false },
                    true,
                );
                let i = g.add(step(a, StepKind::Create), create(false), false);
                g.edge(d, i);
                ready.insert(a.clone(), i);
                deletes.insert((a.clone(), false), d);
                replaced_delete_first.insert(a.clone());
            }
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => {
                let i = g.add(step(a, StepKind::Create), create(true), false);
                let d = g.add(
                    step(a, StepKind::DeleteDeposed),
                    Job::Delete { deposed: true },
                    true,
                );
                g.edge(i, d);
                ready.insert(a.clone(), i);
                deletes.insert((a.clone(), true), d);
            }
            Action::Delete => {
                let deposed = state
                    .deposed(a)
                    .is_some_and(|r| Some(&r.id) == c.id.as_ref());
                let kind = if deposed {
                    StepKind::DeleteDeposed
                } else {
                    StepKind::Delete
                };
                let d = g.add(step(a, kind), Job::Delete { deposed }, true);
                deletes.insert((a.clone(), deposed), d);
            }
            Action::Forget => {
                g.add(step(a, StepKind::Forget), Job::Forget, false);
            }
        }
    }
    for c in plan.changes.iter().filter(|c| {
        matches!(
            c.action,
            Action::Create | Action::Update | Action::Replace { .. }
        )
    }) {
        let Some(&me) = ready.get(&c.address) else {
            continue;
        };
        let complete = completes.get(&c.address);
        for d in &c.depends_on {
            // (a), and (f): a late route's target before the job that adds it
            if let Some(&dep) = ready.get(d) {
                match complete {
                    Some((late, waits_for)) if waits_for.contains(d) => g.edge(dep, *late),
                    _ => g.edge(dep, me),
                }
            }
            // (b)
            if let Some(&old) = deletes.get(&(d.clone(), true)) {
                g.edge(me, old);
            }
        }
    }
    // (c)
    for y in &state.resources {
        for x in &y.dependencies {
            for x_deposed in [false, true] {
                let Some(&dx) = deletes.get(&(x.clone(), x_deposed)) else {
                    continue;
                };
                if let Some(&dy) = deletes.get(&(y.address.clone(), y.deposed)) {
                    g.edge(dy, dx);
                }
                // A deposed-to-be object (create-then-delete) refers to x until it is deleted.
                if !y.deposed {
                    if let Some(&dy) = deletes.get(&(y.address.clone(), true)) {
                        g.edge(dy, dx);
                    }
                }
                // An update that drops the reference goes first, unless x is only being replaced
                // (the update then needs the new x, made after the old one is deleted).
                if let Some(&uy) = updates.get(&y.address) {
                    if !replaced_delete_first.contains(x) {
                        g.edge(uy, dx);
                    }
                }
            }
        }
    }
    // (d)
    let live_delete = |a: &ResourceAddr| deletes.get(&(a.clone(), false)).copied();
    for (before, after) in aws_delete_order(state, &live_delete) {
        g.edge(before, after);
    }
    // (e)
    let mut downstream: HashSet<NodeIndex> = HashSet::new();
    let mut queue: Vec<NodeIndex> = g
        .nodes()
        .filter(|(_, n)| n.irreversible)
        .map(|(i, _)| i)
        .collect();
    while let Some(i) = queue.pop() {
        if downstream.insert(i) {
            queue.extend(g.dependents(i));
        }
    }
    let reversible: Vec<NodeIndex> = g
        .nodes()
        .map(|(i, _)| i)
        .filter(|i| !downstream.contains(i))
        .collect();
    let irreversible: Vec<NodeIndex> = g
        .nodes()
        .filter(|(_, n)| n.irreversible)
        .map(|(i, _)| i)
        .collect();
    for &i in &irreversible {
        for &r in &reversible {
            g.edge(r, i);
        }
    }
    g.order()?;
    Ok(g)
}

/// Rule (f): a route table created with the routes through slow objects made in this run left out.
struct DeferredRoutes {
    early: Attrs,
    waits_for: HashSet<ResourceAddr>,
}

fn deferred_routes(c: &Change, slow: &HashSet<ResourceAddr>) -> Option<DeferredRoutes> {
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

/// Rule (d): pairs (before, after) of delete jobs that AWS refuses in the other order.
fn aws_delete_order(
    state: &State,
    delete_of: &dyn Fn(&ResourceAddr) -> Option<NodeIndex>,
) -> Vec<(NodeIndex, NodeIndex)> {
    let by_addr: HashMap<&ResourceAddr, &ResourceState> = state
        .resources
        .iter()
        .filter(|r| !r.deposed)
        .map(|r| (&r.address, r))
        .collect();
    let of_kind = |k: Kind| state.resources.iter().filter(move |r| r.address.kind == k);
    let mut out = vec![];
    for f in of_kind(Kind::LambdaFunction) {
        // The execution role only after the function's network interfaces are gone, which the deletes
        // of its subnets and security groups wait for.
        for role in f.dependencies.iter().filter(|d| d.kind == Kind::IamRole) {
            let Some(dr) = delete_of(role) else { continue };
            for net in f
                .dependencies
                .iter()
                .filter(|d| matches!(d.kind, Kind::Subnet | Kind::SecurityGroup))
            {
                if let Some(dn) = delete_of(net) {
                    out.push((dn, dr));
                }
            }
        }
    }
    for igw in of_kind(Kind::InternetGateway) {
        // Detached only after the VPC's NAT gateways are gone and their EIPs released.
        let Some(di) = delete_of(&igw.address) else {
            continue;
        };
        let vpcs: Vec<&ResourceAddr> = igw
            .dependencies
            .iter()
            .filter(|d| d.kind == Kind::Vpc)
            .collect();
        for nat in of_kind(Kind::NatGateway).chain(of_kind(Kind::NatInstance)) {
            let in_vpc = nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::Subnet)
                .filter_map(|s| by_addr.get(s))
                .any(|s| s.dependencies.iter().any(|v| vpcs.contains(&v)));
            if !in_vpc {
                continue;
            }
            if let Some(dn) = delete_of(&nat.address) {
                out.push((dn, di));
            }
            for eip in nat
                .dependencies
                .iter()
                .filter(|d| d.kind == Kind::ElasticIp)
            {
                if let Some(de) = delete_of(eip) {
                    out.push((de, di));
                }
            }
        }
    }
    out
}

/// The rollback: for each finished job its inverse (a delete of what a create made, the attributes an
/// update replaced, …), with the edges reversed so dependents are undone first. Deletes that ran
/// cannot be undone: they are returned apart.
pub(crate) fn undo(
    graph: &JobGraph,
    statuses: &HashMap<NodeIndex, StepStatus>,
    made: &HashSet<StepId>,
    before: &HashMap<StepId, Option<ResourceState>>,
) -> (JobGraph, Vec<StepId>) {
    let mut undo = JobGraph::default();
    let mut not_undoable = vec![];
    let mut map: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    for (i, node) in graph.nodes() {
        let status = statuses.get(&i);
        let done = status == Some(&StepStatus::Done);
        let failed = matches!(status, Some(StepStatus::Failed(_)));
        // A create that failed after its object came to be has something to undo too, and so has one
        // that deposed the object it replaces before failing (the old object becomes live again).
        let half_done = failed
            && (made.contains(&node.step)
                || matches!(
                    node.job,
                    Job::Create {
                        depose_first: true,
                        ..
                    }
                ));
        if !done && !half_done {
            continue;
        }
        let a = &node.step.address;
        let before_of = || before.get(&node.step).cloned().flatten();
        let (kind, job) = match &node.job {
            Job::Create { depose_first, .. } => (
                StepKind::UndoCreate,
                Job::UndoCreate {
                    restore_deposed: *depose_first,
                },
            ),
            // (f) the create's undo deletes the table, late routes and all.
            Job::Update { .. } if node.step.kind == StepKind::Complete => continue,
            Job::Update { .. } => match before_of() {
                Some(b) => (StepKind::UndoUpdate, Job::UndoUpdate { before: b }),
                None => continue,
            },
            Job::Read { .. } => (StepKind::UndoRead, Job::UndoRead),
            Job::Forget => match before_of() {
                Some(b) => (StepKind::UndoForget, Job::UndoForget { before: b }),
                None => continue,
            },
            Job::Delete { .. } => {
                not_undoable.push(node.step.clone());
                continue;
            }
            Job::UndoCreate { .. }
            | Job::UndoUpdate { .. }
            | Job::UndoRead
            | Job::UndoForget { .. } => continue,
        };
        let j = undo.add(
            StepId {
                address: a.clone(),
                kind,
            },
            job,
            false,
        );
        map.insert(i, j);
    }
    for (i, _) in graph.nodes() {
        for d in graph.dependencies(i) {
            if let (Some(&ui), Some(&ud)) = (map.get(&i), map.get(&d)) {
                undo.edge(ui, ud);
            }
        }
    }
    (undo, not_undoable)
}

/// Each job's tail: the estimated seconds of the longest chain from its start to the end of the run
/// (its own typical duration on AWS plus its longest dependent's tail) — the priority of its requests.
pub(crate) fn tails(g: &JobGraph) -> Result<HashMap<StepId, u32>, ApplyError> {
    fn typical(kind: crate::Kind) -> u32 {
        use crate::Kind;
        match kind {
            Kind::NatGateway => 120,
            Kind::LambdaFunction => 75,
            Kind::NatInstance => 60,
            Kind::IamRole => 10,
            Kind::VpcEndpoint => 5,
            _ => 1,
        }
    }
    let mut tail: HashMap<NodeIndex, u32> = HashMap::new();
    for i in g.order()?.into_iter().rev() {
        let after = g.dependents(i).map(|d| tail[&d]).max().unwrap_or(0);
        tail.insert(i, after + typical(g.g[i].step.address.kind));
    }
    Ok(g.nodes().map(|(i, n)| (n.step.clone(), tail[&i])).collect())
}

/// The longest chain of latencies through the plan's jobs: the floor for an apply's wall time.
pub fn critical_path(
    plan: &Plan,
    state: &State,
    latency: &dyn Fn(&StepId) -> Duration,
) -> Result<Duration, ApplyError> {
    let g = build(plan, state)?;
    let mut finish: HashMap<NodeIndex, Duration> = HashMap::new();
    for i in g.order()? {
        let start = g
            .dependencies(i)
            .map(|d| finish[&d])
            .max()
            .unwrap_or_default();
        finish.insert(i, start + latency(&g.g[i].step));
    }
    Ok(finish.into_values().max().unwrap_or_default())
}
