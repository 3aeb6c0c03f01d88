//! `Resource`: one plain resource after expansion, what graph, plan, reach and live deal in. It lives
//! apart from `config` so that those modules (and `config::validate`, which builds a graph) depend on the
//! resource, not on the config loader.

use crate::addr::ResourceAddr;
use crate::diag::Span;
use crate::value::{Attrs, Reference, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A plain resource after expansion: what the planner and providers deal in.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    pub addr: ResourceAddr,
    /// Desired attributes with defaults filled in; references still unresolved.
    pub attrs: Attrs,
    pub depends_on: Vec<ResourceAddr>,
    /// `existing = "id"`: used, never changed or deleted.
    pub existing: Option<String>,
    /// The high-level table this resource was expanded from, if any.
    pub origin: Option<ResourceAddr>,
    /// Where it was declared (its own header, or its origin's).
    pub header: Span,
    /// Source spans of its attributes (paths as in `Decl::spans`).
    pub spans: BTreeMap<String, Span>,
}

impl Resource {
    pub fn references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        for v in self.attrs.values() {
            v.references(&mut out);
        }
        out
    }

    /// Everything this resource must come after: its references and its `depends_on`.
    pub fn dependencies(&self) -> BTreeSet<ResourceAddr> {
        let mut deps: BTreeSet<ResourceAddr> =
            self.references().into_iter().map(|r| r.addr).collect();
        deps.extend(self.depends_on.iter().cloned());
        deps.remove(&self.addr);
        deps
    }

    pub fn str_attr(&self, name: &str) -> Option<&str> {
        self.attrs.get(name).and_then(Value::as_str)
    }

    pub fn bool_attr(&self, name: &str) -> bool {
        self.attrs
            .get(name)
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    pub fn ref_attr(&self, name: &str) -> Option<&ResourceAddr> {
        self.attrs
            .get(name)
            .and_then(Value::as_ref)
            .map(|r| &r.addr)
    }

    /// A list attribute's items (none when absent or not a list).
    pub fn list_attr(&self, name: &str) -> &[Value] {
        self.attrs.get(name).map(Value::as_list).unwrap_or(&[])
    }

    pub fn ref_list(&self, name: &str) -> Vec<&ResourceAddr> {
        self.attrs
            .get(name)
            .map(|v| {
                v.as_list()
                    .iter()
                    .filter_map(|v| v.as_ref().map(|r| &r.addr))
                    .collect()
            })
            .unwrap_or_default()
    }
}
