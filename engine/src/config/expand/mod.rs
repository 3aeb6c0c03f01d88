//! Expansion: `[network.*]` and `[function.*]` become plain resources with stable, readable addresses,
//! and every resource gets its defaults and tags.
//!
//! Addresses are derived from the AZ letter and the subnet's tier, and CIDRs from fixed slots of the
//! network's block (`slots`), so adding an AZ or a subnet never renames or re-addresses an existing one.
//! `network` lays out a network in named steps; `function` attaches a function to a network's private
//! subnets with an outbound-only security group and an execution role.

mod function;
mod network;
mod slots;

use super::parse::Parser;
use super::{Decl, Stack};
use crate::addr::{Kind, ResourceAddr};
use crate::resource::Resource;
use crate::value::{Attrs, Value};
use std::collections::BTreeMap;

pub(super) struct Expanded {
    pub resources: BTreeMap<ResourceAddr, Resource>,
    pub expansions: BTreeMap<ResourceAddr, Vec<ResourceAddr>>,
    /// What each network produced, for the functions that attach to it and for validation.
    pub networks: BTreeMap<ResourceAddr, NetworkInfo>,
    pub decls: BTreeMap<ResourceAddr, Decl>,
}

impl Expanded {
    pub fn into_parts(
        self,
    ) -> (
        BTreeMap<ResourceAddr, Resource>,
        BTreeMap<ResourceAddr, Vec<ResourceAddr>>,
    ) {
        (self.resources, self.expansions)
    }
}

#[derive(Debug, Clone, Default)]
pub struct NetworkInfo {
    pub vpc: Option<ResourceAddr>,
    pub private_subnets: Vec<ResourceAddr>,
    pub ipv6: bool,
}

fn string(v: &str) -> Value {
    Value::str(v)
}

/// A reference to the id of `kind.name`.
fn id_ref(kind: Kind, name: &str) -> Value {
    Value::reference(ResourceAddr::new(kind, name), "id")
}

fn tags_value(stack: &Stack, extra: &[&BTreeMap<String, String>]) -> Value {
    let mut m: BTreeMap<String, Value> = stack
        .tags
        .iter()
        .map(|(k, v)| (k.clone(), string(v)))
        .collect();
    for t in extra {
        m.extend(t.iter().map(|(k, v)| (k.clone(), string(v))));
    }
    Value::Map(m)
}

/// Collects the expanded resources, reporting problems through the parser's diagnostics.
struct Expander<'p, 'a> {
    p: &'p mut Parser<'a>,
    out: Expanded,
}

impl Expander<'_, '_> {
    fn add(&mut self, r: Resource) {
        if let Some(prev) = self.out.resources.get(&r.addr) {
            let by = |o: &Option<ResourceAddr>| {
                o.as_ref()
                    .map(|a| format!("expanded from {a}"))
                    .unwrap_or_else(|| "declared directly".into())
            };
            let (a, b) = (by(&prev.origin), by(&r.origin));
            let span = r.header.clone();
            let addr = r.addr.clone();
            self.p
                .err(Some(span), format!("`{addr}` is declared twice ({a}; {b})"))
                .resource(&addr)
                .hint(
                    "rename one of them: high-level tables generate addresses from their own name",
                );
            return;
        }
        if let Some(origin) = &r.origin {
            self.out
                .expansions
                .entry(origin.clone())
                .or_default()
                .push(r.addr.clone());
        }
        self.out.resources.insert(r.addr.clone(), r);
    }
}

pub(super) fn expand(
    p: &mut Parser<'_>,
    stack: &Stack,
    region: Option<&str>,
    decls: Vec<Decl>,
) -> Expanded {
    let mut x = Expander {
        p,
        out: Expanded {
            resources: BTreeMap::new(),
            expansions: BTreeMap::new(),
            networks: BTreeMap::new(),
            decls: BTreeMap::new(),
        },
    };
    // Low-level first, so that generated names colliding with declared ones are reported on the generated side.
    for d in decls.iter().filter(|d| !d.addr.kind.is_high_level()) {
        let r = plain(stack, d);
        x.add(r);
        if d.addr.kind == Kind::NatGateway
            && d.existing.is_none()
            && !d.fields.contains_key("elastic_ip")
        {
            // "a nat_gateway without one allocates its own": an explicit EIP resource, so state tracks it.
            let eip = ResourceAddr::new(Kind::ElasticIp, &d.addr.name);
            let mut attrs = Attrs::new();
            attrs.insert("tags".into(), tags_value(stack, &[&d.tags]));
            x.add(Resource {
                addr: eip.clone(),
                attrs,
                depends_on: vec![],
                existing: None,
                origin: Some(d.addr.clone()),
                header: d.header.clone(),
                spans: BTreeMap::new(),
            });
            if let Some(nat) = x.out.resources.get_mut(&d.addr) {
                nat.attrs
                    .insert("elastic_ip".into(), Value::reference(eip, "id"));
            }
        }
    }
    for d in decls.iter().filter(|d| d.addr.kind == Kind::Network) {
        let info = network::expand(&mut x, stack, region, d);
        x.out.networks.insert(d.addr.clone(), info);
    }
    for d in decls.iter().filter(|d| d.addr.kind == Kind::Function) {
        function::expand(&mut x, stack, d);
    }
    x.out.decls = decls.into_iter().map(|d| (d.addr.clone(), d)).collect();
    x.out
}

/// A low-level declaration with its defaults filled in.
fn plain(stack: &Stack, d: &Decl) -> Resource {
    let mut attrs = d.fields.clone();
    let name = &d.addr.name;
    let default_name = format!("{}-{}", stack.name, name);
    let mut def = |k: &str, v: Value| {
        attrs.entry(k.to_string()).or_insert(v);
    };
    if d.existing.is_none() {
        match d.addr.kind {
            Kind::Vpc => {
                def("ipv6", Value::Bool(false));
                def("dns_hostnames", Value::Bool(true));
                def("dns_support", Value::Bool(true));
            }
            Kind::RouteTable => {
                def("subnets", Value::List(vec![]));
                def("routes", Value::List(vec![]));
            }
            Kind::VpcEndpoint => def("route_tables", Value::List(vec![])),
            Kind::SecurityGroup => {
                def("name", string(&default_name));
                def("description", string("managed by netplan"));
                def("egress", Value::List(vec![]));
                def("ingress", Value::List(vec![]));
            }
            Kind::IamRole => {
                def("name", string(&default_name));
                def("assume_service", string("lambda.amazonaws.com"));
                def("managed_policies", Value::List(vec![]));
            }
            Kind::LambdaFunction => lambda_defaults(&mut attrs, &default_name),
            Kind::NatInstance => {
                def(
                    "instance_type",
                    string(crate::schema::DEFAULT_NAT_INSTANCE_TYPE),
                );
                def("source_dest_check", Value::Bool(false));
            }
            _ => {}
        }
        attrs.insert("tags".into(), tags_value(stack, &[&d.tags]));
    }
    Resource {
        addr: d.addr.clone(),
        attrs,
        depends_on: d.depends_on.iter().map(|(a, _)| a.clone()).collect(),
        existing: d.existing.as_ref().map(|(id, _)| id.clone()),
        origin: None,
        header: d.header.clone(),
        spans: d.spans.clone(),
    }
}

fn lambda_defaults(attrs: &mut Attrs, default_name: &str) {
    let mut def = |k: &str, v: Value| {
        attrs.entry(k.to_string()).or_insert(v);
    };
    def("name", string(default_name));
    def("memory", Value::Int(128));
    def("timeout", Value::Int(3));
    def("ipv6_dual_stack", Value::Bool(false));
    def("internet", Value::Bool(true));
    def("environment", Value::Map(BTreeMap::new()));
    def("subnets", Value::List(vec![]));
    def("security_groups", Value::List(vec![]));
    def("detach_vpc_policy_after_create", Value::Bool(false));
}

/// Makes the resources a high-level table expands into: tagged, placed at the table, depending on what
/// the table depends on.
struct Generator<'d> {
    decl: &'d Decl,
    tags: Value,
}

impl Generator<'_> {
    /// A generated resource; `spans` maps its attributes to the network's fields that decided them.
    fn make(&self, kind: Kind, name: String, mut attrs: Attrs, spans: &[(&str, &str)]) -> Resource {
        attrs.insert("tags".into(), self.tags.clone());
        let spans = spans
            .iter()
            .filter_map(|(attr, field)| {
                self.decl
                    .spans
                    .get(*field)
                    .map(|s| (attr.to_string(), s.clone()))
            })
            .collect();
        Resource {
            addr: ResourceAddr::new(kind, name),
            attrs,
            depends_on: self
                .decl
                .depends_on
                .iter()
                .map(|(a, _)| a.clone())
                .collect(),
            existing: None,
            origin: Some(self.decl.addr.clone()),
            header: self.decl.header.clone(),
            spans,
        }
    }
}
