//! The dependency graph: a petgraph DAG over resource addresses, with an edge from each dependency to
//! its dependent (references and `depends_on`). Cycles are reported with every address in them.

use crate::addr::ResourceAddr;
use crate::resource::Resource;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::Direction;
use std::collections::{BTreeSet, HashMap};

#[derive(Debug, Clone, Default)]
pub struct Graph {
    g: StableDiGraph<ResourceAddr, ()>,
    index: HashMap<ResourceAddr, NodeIndex>,
}

impl Graph {
    /// Builds the graph of `resources`; dependencies on addresses outside the set are ignored
    /// (validation reports them). A cycle is returned as the addresses along it, in order.
    pub fn build<'r>(
        resources: impl IntoIterator<Item = &'r Resource>,
    ) -> Result<Graph, Vec<ResourceAddr>> {
        let resources: Vec<&Resource> = resources.into_iter().collect();
        let mut graph = Graph::default();
        for r in &resources {
            graph.add_node(r.addr.clone());
        }
        for r in &resources {
            for d in r.dependencies() {
                graph.add_edge(&d, &r.addr);
            }
        }
        match graph.find_cycle() {
            Some(c) => Err(c),
            None => Ok(graph),
        }
    }

    pub fn add_node(&mut self, a: ResourceAddr) -> NodeIndex {
        if let Some(i) = self.index.get(&a) {
            return *i;
        }
        let i = self.g.add_node(a.clone());
        self.index.insert(a, i);
        i
    }

    /// `from` must happen before `to`. Ignored when either is not in the graph.
    pub fn add_edge(&mut self, from: &ResourceAddr, to: &ResourceAddr) {
        if let (Some(&f), Some(&t)) = (self.index.get(from), self.index.get(to)) {
            if f != t && self.g.find_edge(f, t).is_none() {
                self.g.add_edge(f, t, ());
            }
        }
    }

    pub fn contains(&self, a: &ResourceAddr) -> bool {
        self.index.contains_key(a)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn neighbors(&self, a: &ResourceAddr, dir: Direction) -> Vec<ResourceAddr> {
        let Some(&i) = self.index.get(a) else {
            return vec![];
        };
        let mut v: Vec<ResourceAddr> = self
            .g
            .neighbors_directed(i, dir)
            .map(|n| self.g[n].clone())
            .collect();
        v.sort();
        v
    }

    /// What `a` waits for.
    pub fn dependencies(&self, a: &ResourceAddr) -> Vec<ResourceAddr> {
        self.neighbors(a, Direction::Incoming)
    }

    /// What waits for `a`.
    pub fn dependents(&self, a: &ResourceAddr) -> Vec<ResourceAddr> {
        self.neighbors(a, Direction::Outgoing)
    }

    /// The graph with every edge reversed (destroy order).
    pub fn reversed(&self) -> Graph {
        let mut r = Graph::default();
        for a in self.index.keys() {
            r.add_node(a.clone());
        }
        for e in self.g.edge_indices() {
            let (f, t) = self.g.edge_endpoints(e).expect("edge exists");
            r.add_edge(&self.g[t], &self.g[f]);
        }
        r
    }

    /// Dependencies before dependents; among nodes ready at the same time, by address, so the order
    /// is stable and readable.
    pub fn topo_order(&self) -> Vec<ResourceAddr> {
        stable_topo_order(&self.g, |i| self.g[i].clone())
            .unwrap_or_else(|(mut order, stuck)| {
                order.extend(stuck);
                order
            })
            .into_iter()
            .map(|i| self.g[i].clone())
            .collect()
    }

    /// A cycle as the addresses along it, starting at its smallest address; `None` for a DAG.
    pub fn find_cycle(&self) -> Option<Vec<ResourceAddr>> {
        let sccs = petgraph::algo::tarjan_scc(&self.g);
        let scc = sccs
            .into_iter()
            .filter(|c| c.len() > 1)
            .min_by_key(|c| c.iter().map(|i| self.g[*i].clone()).min())?;
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc.iter().min_by_key(|i| self.g[**i].clone())?;
        // Depth-first search inside the component, back to the start.
        let mut path = vec![start];
        let mut seen = BTreeSet::from([start]);
        let mut stack: Vec<Vec<NodeIndex>> = vec![self.sorted_out(start, &members)];
        while let Some(frontier) = stack.last_mut() {
            match frontier.pop() {
                Some(n) if n == start => {
                    return Some(path.iter().map(|i| self.g[*i].clone()).collect())
                }
                Some(n) if seen.insert(n) => {
                    path.push(n);
                    stack.push(self.sorted_out(n, &members));
                }
                Some(_) => {}
                None => {
                    stack.pop();
                    path.pop();
                }
            }
        }
        Some(scc.iter().map(|i| self.g[*i].clone()).collect())
    }

    fn sorted_out(&self, n: NodeIndex, within: &BTreeSet<NodeIndex>) -> Vec<NodeIndex> {
        let mut v: Vec<NodeIndex> = self
            .g
            .neighbors_directed(n, Direction::Outgoing)
            .filter(|m| within.contains(m))
            .collect();
        v.sort_by_key(|i| std::cmp::Reverse(self.g[*i].clone()));
        v
    }

    fn edges_sorted(&self) -> Vec<(ResourceAddr, ResourceAddr)> {
        let mut e: Vec<_> = self
            .g
            .edge_indices()
            .filter_map(|e| self.g.edge_endpoints(e))
            .map(|(f, t)| (self.g[f].clone(), self.g[t].clone()))
            .collect();
        e.sort();
        e
    }

    /// Graphviz: an edge points from a dependency to what depends on it.
    pub fn to_dot(&self) -> String {
        let mut s = String::from(
            "digraph netplan {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
        );
        for a in self.topo_order() {
            s.push_str(&format!("  \"{a}\";\n"));
        }
        for (f, t) in self.edges_sorted() {
            s.push_str(&format!("  \"{f}\" -> \"{t}\";\n"));
        }
        s.push_str("}\n");
        s
    }

    pub fn to_mermaid(&self) -> String {
        let id = |a: &ResourceAddr| a.to_string().replace(['.', '-'], "_");
        let mut s = String::from("flowchart LR\n");
        for a in self.topo_order() {
            s.push_str(&format!("  {}[\"{a}\"]\n", id(&a)));
        }
        for (f, t) in self.edges_sorted() {
            s.push_str(&format!("  {} --> {}\n", id(&f), id(&t)));
        }
        s
    }
}

/// Kahn's algorithm over any petgraph graph (edges point from a node to what waits for it), taking the
/// ready node with the smallest `key` first. The one topological walk in netplan: the config graph,
/// the executor's job graph and its critical path all use it. `Err` holds the order reached and the
/// nodes left over, which sit on or behind a cycle.
pub fn stable_topo_order<N, E, K: Ord>(
    g: &StableDiGraph<N, E>,
    key: impl Fn(NodeIndex) -> K,
) -> Result<Vec<NodeIndex>, (Vec<NodeIndex>, Vec<NodeIndex>)> {
    let mut indeg: HashMap<NodeIndex, usize> = g
        .node_indices()
        .map(|i| (i, g.neighbors_directed(i, Direction::Incoming).count()))
        .collect();
    let mut ready: BTreeSet<(K, NodeIndex)> = indeg
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(i, _)| (key(*i), *i))
        .collect();
    let mut out = Vec::with_capacity(g.node_count());
    while let Some((_, i)) = ready.pop_first() {
        out.push(i);
        for n in g.neighbors_directed(i, Direction::Outgoing) {
            let d = indeg.get_mut(&n).expect("indexed");
            *d -= 1;
            if *d == 0 {
                ready.insert((key(n), n));
            }
        }
    }
    if out.len() == g.node_count() {
        Ok(out)
    } else {
        let done: std::collections::HashSet<NodeIndex> = out.iter().copied().collect();
        let stuck = g.node_indices().filter(|i| !done.contains(i)).collect();
        Err((out, stuck))
    }
}
