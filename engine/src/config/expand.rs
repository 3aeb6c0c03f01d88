//! Expansion: `[network.*]` and `[function.*]` become plain resources with stable, readable addresses,
//! and every resource gets its defaults and tags.
//!
//! Addresses are derived from the AZ letter and the subnet's tier, and CIDRs from fixed slots of the
//! network's block, so adding an AZ or a subnet never renames or re-addresses an existing one. The block
//! is split into 16 slots (a /16 gives /20s, as AWS's "VPC and more" wizard does); a subnet's slot
//! depends only on its tier, its AZ's position and its round (the how-manieth subnet of that tier in
//! that AZ): public = round × 4 + AZ, private = 8 + round × 4 + AZ. Carving thus covers up to 4 AZs and
//! 2 subnets per AZ and tier; beyond that, subnets are listed as CIDRs.

use super::parse::Parser;
use super::{Decl, Stack};
use crate::addr::{Kind, ResourceAddr};
use crate::regions;
use crate::resource::Resource;
use crate::schema::VPC_ACCESS_POLICY;
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

fn s(v: &str) -> Value {
    Value::str(v)
}

fn refv(kind: Kind, name: &str) -> Value {
    Value::reference(ResourceAddr::new(kind, name), "id")
}

fn tags_value(stack: &Stack, extra: &[&BTreeMap<String, String>]) -> Value {
    let mut m: BTreeMap<String, Value> =
        stack.tags.iter().map(|(k, v)| (k.clone(), s(v))).collect();
    for t in extra {
        m.extend(t.iter().map(|(k, v)| (k.clone(), s(v))));
    }
    Value::Map(m)
}

struct Ctx<'p, 'a> {
    p: &'p mut Parser<'a>,
    out: Expanded,
}

impl Ctx<'_, '_> {
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
    let mut cx = Ctx {
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
        cx.add(r);
        if d.addr.kind == Kind::NatGateway
            && d.existing.is_none()
            && !d.fields.contains_key("elastic_ip")
        {
            // "a nat_gateway without one allocates its own": an explicit EIP resource, so state tracks it.
            let eip = ResourceAddr::new(Kind::ElasticIp, &d.addr.name);
            let mut attrs = Attrs::new();
            attrs.insert("tags".into(), tags_value(stack, &[&d.tags]));
            cx.add(Resource {
                addr: eip.clone(),
                attrs,
                depends_on: vec![],
                existing: None,
                origin: Some(d.addr.clone()),
                header: d.header.clone(),
                spans: BTreeMap::new(),
            });
            if let Some(nat) = cx.out.resources.get_mut(&d.addr) {
                nat.attrs
                    .insert("elastic_ip".into(), Value::reference(eip, "id"));
            }
        }
    }
    for d in decls.iter().filter(|d| d.addr.kind == Kind::Network) {
        let info = network(&mut cx, stack, region, d);
        cx.out.networks.insert(d.addr.clone(), info);
    }
    for d in decls.iter().filter(|d| d.addr.kind == Kind::Function) {
        function(&mut cx, stack, d);
    }
    cx.out.decls = decls.into_iter().map(|d| (d.addr.clone(), d)).collect();
    cx.out
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
                def("name", s(&default_name));
                def("description", s("managed by netplan"));
                def("egress", Value::List(vec![]));
                def("ingress", Value::List(vec![]));
            }
            Kind::IamRole => {
                def("name", s(&default_name));
                def("assume_service", s("lambda.amazonaws.com"));
                def("managed_policies", Value::List(vec![]));
            }
            Kind::LambdaFunction => lambda_defaults(&mut attrs, &default_name),
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
    def("name", s(default_name));
    def("memory", Value::Int(128));
    def("timeout", Value::Int(3));
    def("ipv6_dual_stack", Value::Bool(false));
    def("internet", Value::Bool(true));
    def("environment", Value::Map(BTreeMap::new()));
    def("subnets", Value::List(vec![]));
    def("security_groups", Value::List(vec![]));
    def("detach_vpc_policy_after_create", Value::Bool(false));
}

struct Gen<'d> {
    d: &'d Decl,
    stack_tags: Value,
}

impl Gen<'_> {
    /// A generated resource; `spans` maps its attributes to the network's fields that decided them.
    fn make(&self, kind: Kind, name: String, mut attrs: Attrs, spans: &[(&str, &str)]) -> Resource {
        attrs.insert("tags".into(), self.stack_tags.clone());
        let spans = spans
            .iter()
            .filter_map(|(attr, field)| {
                self.d
                    .spans
                    .get(*field)
                    .map(|s| (attr.to_string(), s.clone()))
            })
            .collect();
        Resource {
            addr: ResourceAddr::new(kind, name),
            attrs,
            depends_on: self.d.depends_on.iter().map(|(a, _)| a.clone()).collect(),
            existing: None,
            origin: Some(self.d.addr.clone()),
            header: self.d.header.clone(),
            spans,
        }
    }
}

struct SubnetPlan {
    name: String,
    cidr: String,
    az: String,
    suffix: String,
    span_field: String,
}

fn network(cx: &mut Ctx<'_, '_>, stack: &Stack, region: Option<&str>, d: &Decl) -> NetworkInfo {
    let n = &d.addr.name;
    let f = &d.fields;
    let get_bool = |k: &str, dflt: bool| f.get(k).and_then(Value::as_bool).unwrap_or(dflt);
    let Some(cidr) = f.get("cidr").and_then(Value::as_str) else {
        return NetworkInfo::default();
    };
    let Ok(block) = cidr.parse::<ipnet::IpNet>() else {
        return NetworkInfo::default();
    };
    let ipnet::IpNet::V4(block) = block else {
        cx.p.err(
            d.spans.get("cidr").cloned(),
            format!("{}: the network's `cidr` must be an IPv4 block", d.addr),
        )
        .hint("IPv6 comes from Amazon's pool: set ipv6 = true");
        return NetworkInfo::default();
    };
    let ipv6 = get_bool("ipv6", false);
    let gen = Gen {
        d,
        stack_tags: tags_value(stack, &[&d.tags]),
    };

    // Availability zones.
    let azs: Vec<String> = match f.get("azs") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        other => {
            let count = other.and_then(Value::as_int).unwrap_or(2) as usize;
            let span = d.spans.get("azs").cloned().unwrap_or(d.header.clone());
            match region.map(|r| (r, regions::azs(r))) {
                None => {
                    cx.p.err(Some(span), format!("{}: `azs = {count}` needs a region to pick AZ names from", d.addr))
                        .hint("set region in [stack] (or AWS_REGION / --region), or list the AZs: azs = [\"us-east-1a\", \"us-east-1b\"]");
                    return NetworkInfo::default();
                }
                Some((r, None)) => {
                    cx.p.err(Some(span), format!("{}: region `{r}` is not in netplan's AZ table, so `azs` must list the AZ names", d.addr))
                        .hint(format!("azs = [\"{r}a\", \"{r}b\"]"));
                    return NetworkInfo::default();
                }
                Some((r, Some(all))) => {
                    if count > all.len() {
                        cx.p.err(
                            Some(span),
                            format!(
                                "{}: azs = {count}, but {r} has {} availability zones ({})",
                                d.addr,
                                all.len(),
                                all.join(", ")
                            ),
                        )
                        .label("more AZs than the region has")
                        .hint(format!("use azs = {} or fewer", all.len()));
                        return NetworkInfo::default();
                    }
                    all.into_iter().take(count).collect()
                }
            }
        }
    };
    if azs.is_empty() {
        cx.p.err(
            d.spans.get("azs").cloned(),
            format!("{}: `azs` is empty", d.addr),
        )
        .hint("list at least one AZ (two for availability)");
        return NetworkInfo::default();
    }
    let suffixes: Vec<String> = azs.iter().map(|a| regions::az_suffix(a)).collect();
    let mut seen = std::collections::BTreeSet::new();
    for (i, sfx) in suffixes.iter().enumerate() {
        if !seen.insert(sfx.clone()) {
            cx.p.err(
                d.spans.get("azs").cloned(),
                format!("{}: AZ `{}` is listed twice", d.addr, azs[i]),
            );
            return NetworkInfo::default();
        }
    }

    // Subnets: count → carved from fixed slots; list → as given. Subnet i goes to AZ i mod |azs|.
    let new_prefix = (block.prefix_len() + 4).min(28);
    let slots: Vec<String> = match block.subnets(new_prefix) {
        Ok(it) => it.take(16).map(|s| s.to_string()).collect(),
        Err(_) => vec![],
    };
    let tier = |cx: &mut Ctx<'_, '_>,
                key: &str,
                label: &str,
                base_slot: usize|
     -> Vec<SubnetPlan> {
        let cidrs: Vec<(String, String)> = match f.get(key) {
            Some(Value::List(l)) => l
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.as_str().map(|c| (c.to_string(), format!("{key}[{i}]"))))
                .collect(),
            other => {
                let count = other.and_then(Value::as_int).unwrap_or(azs.len() as i64) as usize;
                let mut out = Vec::with_capacity(count);
                for i in 0..count {
                    let (az_i, round) = (i % azs.len(), i / azs.len());
                    if az_i >= 4 || round >= 2 {
                        let span = d.spans.get(key).or(d.spans.get("azs")).cloned();
                        cx.p.err(span, format!("{}: {count} {label} subnets over {} AZs cannot be carved automatically", d.addr, azs.len()))
                            .hint(format!("carving covers up to 4 AZs and 2 subnets per AZ; list the CIDRs instead: {key} = [\"…\", …]"));
                        return vec![];
                    }
                    match slots.get(base_slot + round * 4 + az_i) {
                        Some(c) => out.push((c.clone(), key.to_string())),
                        None => {
                            cx.p.err(d.spans.get("cidr").cloned(), format!("{}: the block {block} is too small to carve {count} {label} subnets", d.addr))
                                .hint("use a larger block (a /16 to /24) or list the subnet CIDRs");
                            return vec![];
                        }
                    }
                }
                out
            }
        };
        cidrs
            .into_iter()
            .enumerate()
            .map(|(i, (cidr, span_field))| {
                let az_i = i % azs.len();
                let round = i / azs.len();
                let suffix = suffixes[az_i].clone();
                let name = if round == 0 {
                    format!("{n}_{label}_{suffix}")
                } else {
                    format!("{n}_{label}_{suffix}{}", round + 1)
                };
                SubnetPlan {
                    name,
                    cidr,
                    az: azs[az_i].clone(),
                    suffix,
                    span_field,
                }
            })
            .collect()
    };
    let public = tier(cx, "public_subnets", "public", 0);
    let private = tier(cx, "private_subnets", "private", 8);

    let vpc_name = n.clone();
    let vpc_ref = || refv(Kind::Vpc, &vpc_name);
    let mut vpc = Attrs::new();
    vpc.insert("cidr".into(), s(cidr));
    vpc.insert("ipv6".into(), Value::Bool(ipv6));
    vpc.insert(
        "dns_hostnames".into(),
        Value::Bool(get_bool("dns_hostnames", true)),
    );
    vpc.insert(
        "dns_support".into(),
        Value::Bool(get_bool("dns_support", true)),
    );
    cx.add(gen.make(
        Kind::Vpc,
        vpc_name.clone(),
        vpc,
        &[("cidr", "cidr"), ("ipv6", "ipv6")],
    ));

    let make_subnet = |sp: &SubnetPlan, ipv6_index: Option<i64>| {
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        a.insert("cidr".into(), s(&sp.cidr));
        a.insert("az".into(), s(&sp.az));
        if let Some(i) = ipv6_index {
            a.insert("ipv6_index".into(), Value::Int(i));
        }
        gen.make(
            Kind::Subnet,
            sp.name.clone(),
            a,
            &[
                ("cidr", sp.span_field.as_str()),
                ("az", "azs"),
                ("vpc", "cidr"),
            ],
        )
    };
    for (i, sp) in public.iter().enumerate() {
        cx.add(make_subnet(sp, ipv6.then_some(i as i64)));
    }
    for (i, sp) in private.iter().enumerate() {
        cx.add(make_subnet(sp, ipv6.then_some(128 + i as i64)));
    }

    let has_igw = !public.is_empty();
    if has_igw {
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        cx.add(gen.make(
            Kind::InternetGateway,
            n.clone(),
            a,
            &[("vpc", "public_subnets")],
        ));
    }
    let eigw_default = ipv6;
    let eigw = f
        .get("egress_only_igw")
        .and_then(Value::as_bool)
        .unwrap_or(eigw_default);
    if eigw && !ipv6 {
        cx.p.err(d.spans.get("egress_only_igw").cloned(), format!("{}: egress_only_igw = true needs ipv6 = true", d.addr))
            .hint("an egress-only internet gateway carries IPv6 only; set ipv6 = true or drop egress_only_igw");
    }
    let eigw = eigw && ipv6;
    if eigw {
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        cx.add(gen.make(
            Kind::EgressOnlyInternetGateway,
            n.clone(),
            a,
            &[("vpc", "egress_only_igw")],
        ));
    }

    // NAT gateways.
    let default_mode = if !public.is_empty() && !private.is_empty() {
        "per_az"
    } else {
        "none"
    };
    let mode = f
        .get("nat_gateways")
        .and_then(Value::as_str)
        .unwrap_or(default_mode)
        .to_string();
    let nat_span = d
        .spans
        .get("nat_gateways")
        .cloned()
        .unwrap_or(d.header.clone());
    if mode != "none" && public.is_empty() {
        cx.p.err(
            Some(nat_span.clone()),
            format!(
                "{}: nat_gateways = \"{mode}\" needs at least one public subnet",
                d.addr
            ),
        )
        .hint("a NAT gateway sits in a public subnet: set public_subnets = 1 or more");
    }
    // AZ suffix → NAT name, for AZs that have private subnets.
    let mut nat_for_az: BTreeMap<String, String> = BTreeMap::new();
    let private_azs: Vec<String> = {
        let mut v: Vec<String> = private.iter().map(|p| p.suffix.clone()).collect();
        v.dedup();
        v.sort();
        v.dedup();
        v
    };
    let add_nat = |cx: &mut Ctx<'_, '_>, pubsub: &SubnetPlan| {
        let name = format!("{n}_{}", pubsub.suffix);
        cx.add(gen.make(Kind::ElasticIp, name.clone(), Attrs::new(), &[]));
        let mut a = Attrs::new();
        a.insert("subnet".into(), refv(Kind::Subnet, &pubsub.name));
        a.insert("elastic_ip".into(), refv(Kind::ElasticIp, &name));
        let mut r = gen.make(
            Kind::NatGateway,
            name.clone(),
            a,
            &[("subnet", "nat_gateways")],
        );
        if has_igw {
            // AWS: a NAT gateway's EIP needs the VPC's internet gateway.
            r.depends_on
                .push(ResourceAddr::new(Kind::InternetGateway, n));
        }
        cx.add(r);
        name
    };
    match mode.as_str() {
        "single" if !public.is_empty() && !private.is_empty() => {
            let name = add_nat(cx, &public[0]);
            for az in &private_azs {
                nat_for_az.insert(az.clone(), name.clone());
            }
        }
        "per_az" if !public.is_empty() => {
            for az in &private_azs {
                match public.iter().find(|p| &p.suffix == az) {
                    Some(pubsub) => {
                        let name = add_nat(cx, pubsub);
                        nat_for_az.insert(az.clone(), name);
                    }
                    None => {
                        cx.p.err(Some(nat_span.clone()), format!("{}: nat_gateways = \"per_az\", but AZ `{az}` has private subnets and no public subnet to hold its NAT gateway", d.addr))
                            .hint("add a public subnet in every AZ, or use nat_gateways = \"single\"");
                    }
                }
            }
        }
        _ => {}
    }

    // Route tables.
    let mut route_tables = Vec::new();
    if !public.is_empty() {
        let mut routes = vec![route("0.0.0.0/0", Kind::InternetGateway, n)];
        if ipv6 {
            routes.push(route("::/0", Kind::InternetGateway, n));
        }
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        a.insert(
            "subnets".into(),
            Value::List(public.iter().map(|p| refv(Kind::Subnet, &p.name)).collect()),
        );
        a.insert("routes".into(), Value::List(routes));
        let name = format!("{n}_public");
        cx.add(gen.make(
            Kind::RouteTable,
            name.clone(),
            a,
            &[("subnets", "public_subnets")],
        ));
        route_tables.push(name);
    }
    let private_tables: Vec<(String, Vec<&SubnetPlan>, Option<String>)> = if mode == "per_az" {
        private_azs
            .iter()
            .map(|az| {
                (
                    format!("{n}_private_{az}"),
                    private.iter().filter(|p| &p.suffix == az).collect(),
                    nat_for_az.get(az).cloned(),
                )
            })
            .collect()
    } else if !private.is_empty() {
        vec![(
            format!("{n}_private"),
            private.iter().collect(),
            nat_for_az.values().next().cloned(),
        )]
    } else {
        vec![]
    };
    let mut private_rt_names = Vec::new();
    for (name, subs, nat) in private_tables {
        let mut routes = Vec::new();
        if let Some(nat) = nat {
            routes.push(route("0.0.0.0/0", Kind::NatGateway, &nat));
        }
        if eigw {
            routes.push(route("::/0", Kind::EgressOnlyInternetGateway, n));
        }
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        a.insert(
            "subnets".into(),
            Value::List(subs.iter().map(|p| refv(Kind::Subnet, &p.name)).collect()),
        );
        a.insert("routes".into(), Value::List(routes));
        cx.add(gen.make(
            Kind::RouteTable,
            name.clone(),
            a,
            &[("subnets", "private_subnets"), ("routes", "nat_gateways")],
        ));
        private_rt_names.push(name.clone());
        route_tables.push(name);
    }

    if f.get("s3_endpoint")
        .and_then(Value::as_bool)
        .unwrap_or(true)
        && !route_tables.is_empty()
    {
        let mut a = Attrs::new();
        a.insert("vpc".into(), vpc_ref());
        a.insert("service".into(), s("s3"));
        route_tables.sort();
        a.insert(
            "route_tables".into(),
            Value::List(
                route_tables
                    .iter()
                    .map(|t| refv(Kind::RouteTable, t))
                    .collect(),
            ),
        );
        cx.add(gen.make(
            Kind::VpcEndpoint,
            format!("{n}_s3"),
            a,
            &[("service", "s3_endpoint")],
        ));
    }

    NetworkInfo {
        vpc: Some(ResourceAddr::new(Kind::Vpc, n)),
        private_subnets: private
            .iter()
            .map(|p| ResourceAddr::new(Kind::Subnet, &p.name))
            .collect(),
        ipv6,
    }
}

fn route(dest: &str, kind: Kind, name: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("destination".to_string(), s(dest));
    m.insert("target".to_string(), refv(kind, name));
    Value::Map(m)
}

fn rule(cidr: &str) -> Value {
    let mut m = BTreeMap::new();
    m.insert("protocol".to_string(), s("all"));
    m.insert("cidr".to_string(), s(cidr));
    Value::Map(m)
}

fn function(cx: &mut Ctx<'_, '_>, stack: &Stack, d: &Decl) {
    let name = &d.addr.name;
    let Some(net) = d
        .fields
        .get("network")
        .and_then(Value::as_ref)
        .map(|r| r.addr.clone())
    else {
        return;
    };
    let Some(info) = cx.out.networks.get(&net).cloned() else {
        return; // a dangling reference: reported by validation with its span
    };
    let Some(vpc) = info.vpc.clone() else { return };
    let gen = Gen {
        d,
        stack_tags: tags_value(stack, &[&d.tags]),
    };
    if info.private_subnets.is_empty() {
        cx.p.err(d.spans.get("network").cloned(), format!("{}: {net} has no private subnets to attach the function to", d.addr))
            .hint("set private_subnets = 2 (one per AZ) on the network: a function in a public subnet gets no internet access");
    }

    let mut egress = vec![rule("0.0.0.0/0")];
    if info.ipv6 {
        egress.push(rule("::/0"));
    }
    let mut sg = Attrs::new();
    sg.insert("vpc".into(), Value::reference(vpc, "id"));
    sg.insert("name".into(), s(&format!("{}-{name}", stack.name)));
    sg.insert(
        "description".into(),
        s(&format!("netplan: outbound only, for function {name}")),
    );
    sg.insert("egress".into(), Value::List(egress));
    sg.insert("ingress".into(), Value::List(vec![]));
    cx.add(gen.make(Kind::SecurityGroup, name.clone(), sg, &[("vpc", "network")]));

    let role = match d.fields.get("role") {
        Some(v) => v.clone(),
        None => {
            let mut role = Attrs::new();
            role.insert("name".into(), s(&format!("{}-{name}", stack.name)));
            role.insert("assume_service".into(), s("lambda.amazonaws.com"));
            role.insert(
                "managed_policies".into(),
                Value::List(vec![s(VPC_ACCESS_POLICY)]),
            );
            cx.add(gen.make(Kind::IamRole, name.clone(), role, &[]));
            Value::reference(ResourceAddr::new(Kind::IamRole, name), "arn")
        }
    };

    let mut a = Attrs::new();
    for k in [
        "runtime",
        "handler",
        "source",
        "name",
        "memory",
        "timeout",
        "ipv6_dual_stack",
        "internet",
        "environment",
        "detach_vpc_policy_after_create",
    ] {
        if let Some(v) = d.fields.get(k) {
            a.insert(k.into(), v.clone());
        }
    }
    lambda_defaults(&mut a, &format!("{}-{name}", stack.name));
    a.insert("role".into(), role);
    a.insert(
        "subnets".into(),
        Value::List(
            info.private_subnets
                .iter()
                .map(|s| Value::reference(s.clone(), "id"))
                .collect(),
        ),
    );
    a.insert(
        "security_groups".into(),
        Value::List(vec![refv(Kind::SecurityGroup, name)]),
    );
    let spans: Vec<(&str, &str)> = vec![
        ("runtime", "runtime"),
        ("handler", "handler"),
        ("source", "source"),
        ("memory", "memory"),
        ("timeout", "timeout"),
        ("ipv6_dual_stack", "ipv6_dual_stack"),
        ("internet", "internet"),
        ("role", "role"),
        ("subnets", "network"),
        ("security_groups", "network"),
        ("name", "name"),
    ];
    cx.add(gen.make(Kind::LambdaFunction, name.clone(), a, &spans));
}
