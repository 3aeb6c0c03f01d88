//! The job graph: a plan turned into jobs (create, update, delete, read, forget) and the edges between
//! them, on a petgraph DAG (an edge runs from a job to one that waits for it). The ordering rules:
//!
//! - (a) creates and updates come after what they reference;
//! - (b) a create-then-delete replacement's old object goes after its dependents moved over;
//! - (c) a delete waits for whatever in the state still depends on the object (and for the update that
//!   drops the reference);
//! - (d) the delete-only edges the cloud needs, as its provider declares them
//!   (`CloudFacts::delete_order`; on AWS: an execution role after its functions' network interfaces
//!   are gone, an internet gateway after the VPC's NAT gateways and their Elastic IPs);
//! - (e) irreversible jobs (deletes of objects that existed before the run) wait for every reversible job
//!   that does not depend on one, so a failure before them still rolls back cleanly;
//! - (f) a new route table whose routes go through an object whose create is slow (the provider says
//!   which: on AWS a NAT gateway or instance) is created without those routes, and a second job
//!   (`Complete`) adds them once that object exists — its home is `super::complete`;
//! - (g) a subnet handed from one route table to another: the table that takes it goes first (it
//!   moves the association in one call), so the subnet is never left on the VPC's main table.
//!
//! Also here: the undo graph a rollback runs (the inverse of each finished job, edges reversed) and the
//! critical path (the longest chain of latencies: the floor for a run's wall time).

use super::complete;
use super::job::Job;
use super::{ApplyError, StepId, StepKind, StepStatus};
use crate::addr::{Kind, ResourceAddr};
use crate::facts::{CloudFacts, Op};
use crate::graph::stable_topo_order;
use crate::plan::{Action, Plan};
use crate::schema::ReplaceOrder;
use crate::state::{ResourceState, State};
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
pub(crate) fn build(
    plan: &Plan,
    state: &State,
    facts: &dyn CloudFacts,
) -> Result<JobGraph, ApplyError> {
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
        .filter(|c| c.action == Action::Create && facts.slow_create(c.address.kind))
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
            Action::Create => match complete::deferred_routes(c, &slow_creates) {
                Some(split) => {
                    let (i, late) = complete::add(&mut g, c, &split);
                    ready.insert(a.clone(), i);
                    completes.insert(a.clone(), (late, split.waits_for));
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
    for (first, then) in facts.delete_order(state) {
        if let (Some(f), Some(t)) = (live_delete(&first), live_delete(&then)) {
            g.edge(f, t);
        }
    }
    // (g)
    for (takes, gives) in handovers(plan, state) {
        if let (Some(&t), Some(&u)) = (ready.get(&takes), updates.get(&gives)) {
            g.edge(t, u);
        }
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

/// Rule (g): (takes, gives) for each member of an exclusive membership (`KindSchema::exclusive`: a
/// subnet in a route table's `subnets`) that one object's create or update adds while another's update
/// drops it — the one that takes it moves the membership in one call, and the one that gives it up
/// then finds it gone.
fn handovers(plan: &Plan, state: &State) -> Vec<(ResourceAddr, ResourceAddr)> {
    let members = |v: Option<&crate::value::Value>| -> HashSet<ResourceAddr> {
        let mut refs = vec![];
        if let Some(v) = v {
            v.references(&mut refs);
        }
        refs.into_iter().map(|r| r.addr).collect()
    };
    // (object, attribute, gained, lost)
    let mut moves: Vec<(
        &ResourceAddr,
        &str,
        HashSet<ResourceAddr>,
        HashSet<ResourceAddr>,
    )> = vec![];
    for c in &plan.changes {
        for &attr in crate::schema::schema(c.address.kind).exclusive {
            let want = members(c.config.as_ref().and_then(|a| a.get(attr)));
            // What it holds now: the members (of the kinds the attribute names) the state records
            // it depends on.
            let kinds: &[Kind] = match crate::schema::schema(c.address.kind)
                .field(attr)
                .map(|f| f.ty)
            {
                Some(crate::schema::Ty::RefList(kinds)) => kinds,
                _ => &[],
            };
            let had: HashSet<ResourceAddr> = match (c.action, state.get(&c.address)) {
                (Action::Update, Some(r)) => r
                    .dependencies
                    .iter()
                    .filter(|d| kinds.contains(&d.kind))
                    .cloned()
                    .collect(),
                _ => HashSet::new(),
            };
            let (gained, lost) = match c.action {
                Action::Create | Action::Replace { .. } => (want, HashSet::new()),
                Action::Update => (
                    want.difference(&had).cloned().collect(),
                    had.difference(&want).cloned().collect(),
                ),
                _ => continue,
            };
            moves.push((&c.address, attr, gained, lost));
        }
    }
    let mut out = vec![];
    for (taker, attr, gained, _) in &moves {
        for (giver, attr2, _, lost) in &moves {
            if taker != giver
                && taker.kind == giver.kind
                && attr == attr2
                && !gained.is_disjoint(lost)
            {
                out.push(((*taker).clone(), (*giver).clone()));
            }
        }
    }
    out
}

/// The rollback: for each finished job its inverse (a delete of what a create made, the attributes an
/// update replaced, …) — and for a create or update that failed halfway, what it did — with the edges
/// reversed so dependents are undone first. Deletes that ran cannot be undone: they are returned
/// apart.
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
        // An update that failed may have changed part of its object before failing: its undo reads
        // the object and restores what differs.
        let half_done = failed
            && (made.contains(&node.step)
                || matches!(
                    node.job,
                    Job::Create {
                        depose_first: true,
                        ..
                    }
                )
                || (matches!(node.job, Job::Update { .. })
                    && before.get(&node.step).is_some_and(Option::is_some)));
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
            Job::Update { .. } if complete::undone_by_the_create(&node.step) => continue,
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

/// The operation a step carries out on its object, for its typical duration.
pub(crate) fn op_of(kind: StepKind) -> Op {
    match kind {
        StepKind::Delete | StepKind::DeleteDeposed | StepKind::UndoCreate => Op::Delete,
        StepKind::Create | StepKind::Read => Op::Create,
        _ => Op::Update,
    }
}

/// A repair after a rollback: each object a read showed not as it was before the run, restored
/// (independent restores, in parallel).
pub(crate) fn repair(changed: &[super::Changed], before: &[ResourceState]) -> JobGraph {
    let mut g = JobGraph::default();
    for c in changed {
        if let Some(b) = before
            .iter()
            .find(|b| b.address == c.address && b.id == c.id)
        {
            g.add(
                StepId {
                    address: c.address.clone(),
                    kind: StepKind::UndoUpdate,
                },
                Job::UndoUpdate { before: b.clone() },
                false,
            );
        }
    }
    g
}

/// Each job's tail: the estimated seconds of the longest chain from its start to the end of the run
/// (its own typical duration on the provider's cloud plus its longest dependent's tail) — the
/// priority of its requests.
pub(crate) fn tails(
    g: &JobGraph,
    facts: &dyn CloudFacts,
) -> Result<HashMap<StepId, u32>, ApplyError> {
    let mut tail: HashMap<NodeIndex, u32> = HashMap::new();
    for i in g.order()?.into_iter().rev() {
        let after = g.dependents(i).map(|d| tail[&d]).max().unwrap_or(0);
        let step = &g.g[i].step;
        let own = facts.typical(step.address.kind, op_of(step.kind)).as_secs() as u32;
        tail.insert(i, after + own.max(1));
    }
    Ok(g.nodes().map(|(i, n)| (n.step.clone(), tail[&i])).collect())
}

/// The longest chain of latencies through the plan's jobs: the floor for an apply's wall time.
pub fn critical_path(
    plan: &Plan,
    state: &State,
    facts: &dyn CloudFacts,
    latency: &dyn Fn(&StepId) -> Duration,
) -> Result<Duration, ApplyError> {
    let g = build(plan, state, facts)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::NoFacts;
    use crate::plan::{Change, Plan, PLAN_FORMAT_VERSION};
    use crate::value::{Attrs, Value};

    fn a(s: &str) -> ResourceAddr {
        s.parse().unwrap()
    }

    fn change(addr: &str, action: Action, config: &[(&str, Value)]) -> Change {
        let config: Attrs = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let mut refs = vec![];
        config.values().for_each(|v| v.references(&mut refs));
        let mut depends_on: Vec<ResourceAddr> = refs.into_iter().map(|r| r.addr).collect();
        depends_on.sort();
        depends_on.dedup();
        Change {
            address: a(addr),
            action,
            id: (action != Action::Create).then(|| format!("id-{addr}")),
            attributes: vec![],
            reasons: vec![],
            config: (!matches!(action, Action::Delete)).then_some(config),
            depends_on,
            irreversible: matches!(action, Action::Delete | Action::Replace { .. }),
            not_owned: None,
            existing: None,
        }
    }

    fn r(addr: &str) -> Value {
        Value::reference(a(addr), "id")
    }

    fn held(addr: &str, deps: &[&str]) -> ResourceState {
        ResourceState {
            address: a(addr),
            id: format!("id-{addr}"),
            existing: false,
            deposed: false,
            attributes: Default::default(),
            dependencies: deps.iter().map(|d| a(d)).collect(),
            created_at: None,
        }
    }

    /// A cloud where NAT gateways are slow and a role goes after the subnets its function used.
    struct Facts;
    impl CloudFacts for Facts {
        fn typical(&self, _: Kind, _: Op) -> Duration {
            Duration::from_secs(1)
        }
        fn slow_create(&self, kind: Kind) -> bool {
            kind == Kind::NatGateway
        }
        fn delete_order(&self, _: &State) -> Vec<(ResourceAddr, ResourceAddr)> {
            vec![(a("subnet.s"), a("iam_role.r"))]
        }
    }

    fn short(s: &StepId) -> String {
        let kind = match s.kind {
            StepKind::Create => "create",
            StepKind::Update => "update",
            StepKind::Complete => "complete",
            StepKind::Delete => "delete",
            StepKind::DeleteDeposed => "delete-old",
            _ => "other",
        };
        format!("{kind} {}", s.address)
    }

    /// (case, the plan's changes, what the state holds, the facts) → edges that must be there, and
    /// edges that must not ("first -> then").
    #[test]
    fn job_graph_table() {
        let route = |target: &str| {
            Value::List(vec![Value::Map(
                [
                    ("destination".to_string(), Value::str("0.0.0.0/0")),
                    ("target".to_string(), r(target)),
                ]
                .into_iter()
                .collect(),
            )])
        };
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            &str,
            Vec<Change>,
            Vec<ResourceState>,
            bool,
            Vec<&str>,
            Vec<&str>,
        )> = vec![
            (
                "(a) a create after what it references",
                vec![
                    change("vpc.v", Action::Create, &[]),
                    change("subnet.s", Action::Create, &[("vpc", r("vpc.v"))]),
                ],
                vec![],
                false,
                vec!["create vpc.v -> create subnet.s"],
                vec![],
            ),
            (
                "(b) create-then-delete: the old object goes after its dependents moved over",
                vec![
                    change(
                        "elastic_ip.e",
                        Action::Replace {
                            order: ReplaceOrder::CreateThenDelete,
                        },
                        &[],
                    ),
                    change(
                        "nat_gateway.n",
                        Action::Update,
                        &[("elastic_ip", r("elastic_ip.e"))],
                    ),
                ],
                vec![
                    held("elastic_ip.e", &[]),
                    held("nat_gateway.n", &["elastic_ip.e"]),
                ],
                false,
                vec![
                    "create elastic_ip.e -> delete-old elastic_ip.e",
                    "update nat_gateway.n -> delete-old elastic_ip.e",
                ],
                vec![],
            ),
            (
                "(c) a delete waits for what depends on the object",
                vec![
                    change("subnet.s", Action::Delete, &[]),
                    change("vpc.v", Action::Delete, &[]),
                ],
                vec![held("vpc.v", &[]), held("subnet.s", &["vpc.v"])],
                false,
                vec!["delete subnet.s -> delete vpc.v"],
                vec!["delete vpc.v -> delete subnet.s"],
            ),
            (
                "(d) the provider's delete order",
                vec![
                    change("iam_role.r", Action::Delete, &[]),
                    change("subnet.s", Action::Delete, &[]),
                ],
                vec![held("iam_role.r", &[]), held("subnet.s", &[])],
                true,
                vec!["delete subnet.s -> delete iam_role.r"],
                vec![],
            ),
            (
                "(d) without the provider's facts, no such order",
                vec![
                    change("iam_role.r", Action::Delete, &[]),
                    change("subnet.s", Action::Delete, &[]),
                ],
                vec![held("iam_role.r", &[]), held("subnet.s", &[])],
                false,
                vec![],
                vec!["delete subnet.s -> delete iam_role.r"],
            ),
            (
                "(e) an irreversible delete waits for every reversible job",
                vec![
                    change("vpc.v", Action::Create, &[]),
                    change("security_group.old", Action::Delete, &[]),
                ],
                vec![held("security_group.old", &[])],
                false,
                vec!["create vpc.v -> delete security_group.old"],
                vec![],
            ),
            (
                "(f) a route table does not wait for a slow NAT: its routes do",
                vec![
                    change("nat_gateway.n", Action::Create, &[]),
                    change(
                        "route_table.t",
                        Action::Create,
                        &[("routes", route("nat_gateway.n"))],
                    ),
                ],
                vec![],
                true,
                vec![
                    "create route_table.t -> complete route_table.t",
                    "create nat_gateway.n -> complete route_table.t",
                ],
                vec!["create nat_gateway.n -> create route_table.t"],
            ),
            (
                "(f) without the provider saying the NAT is slow, the table waits whole",
                vec![
                    change("nat_gateway.n", Action::Create, &[]),
                    change(
                        "route_table.t",
                        Action::Create,
                        &[("routes", route("nat_gateway.n"))],
                    ),
                ],
                vec![],
                false,
                vec!["create nat_gateway.n -> create route_table.t"],
                vec![],
            ),
            (
                "(g) a subnet handed over: the table that takes it goes first",
                vec![
                    change(
                        "route_table.giver",
                        Action::Update,
                        &[("subnets", Value::List(vec![]))],
                    ),
                    change(
                        "route_table.taker",
                        Action::Update,
                        &[("subnets", Value::List(vec![r("subnet.s")]))],
                    ),
                ],
                vec![
                    held("subnet.s", &[]),
                    held("route_table.giver", &["subnet.s"]),
                    held("route_table.taker", &[]),
                ],
                false,
                vec!["update route_table.taker -> update route_table.giver"],
                vec!["update route_table.giver -> update route_table.taker"],
            ),
        ];
        let mut wrong = vec![];
        for (name, changes, resources, facts, must, must_not) in cases {
            let plan = Plan {
                format_version: PLAN_FORMAT_VERSION,
                stack: "s".into(),
                destroy: false,
                state_lineage: None,
                state_serial: 0,
                config_digest: String::new(),
                changes,
                drift: vec![],
                cost: None,
            };
            let mut state = State::new("s");
            for r in resources {
                state.upsert(r);
            }
            let g = if facts {
                build(&plan, &state, &Facts)
            } else {
                build(&plan, &state, &NoFacts)
            }
            .expect("a graph");
            let edges: HashSet<String> =
                g.g.edge_indices()
                    .filter_map(|e| g.g.edge_endpoints(e))
                    .map(|(x, y)| format!("{} -> {}", short(&g.g[x].step), short(&g.g[y].step)))
                    .collect();
            for e in must {
                if !edges.contains(e) {
                    wrong.push(format!("{name}: missing {e} (has {edges:?})"));
                }
            }
            for e in must_not {
                if edges.contains(e) {
                    wrong.push(format!("{name}: must not have {e}"));
                }
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
