//! The fixes the reachability model proposes, in the config's own vocabulary. A problem in what a
//! `[network.*]` or `[function.*]` table expanded into is fixed by that table's keys
//! (`nat_gateways = "per_az"`, `internet = "ipv6"`); one in a low-level table by an edit of that table
//! (a route added to its `routes`); one in an object found in the account (`check --live`) by tables of
//! the config's own that use it (`existing = "…"`), or by a command where the config cannot say it.
//! Each fix is data (`crate::fix::Fix`) that the corpus tests apply and check again.

use super::*;
use crate::config::Decl;
use crate::fix::{Edit, Fix};

/// What the model proposes for one finding: fixes (the first, then alternatives), the setting that
/// causes it when that is a high-level table's, and a note when no single edit fixes it.
#[derive(Debug, Clone, Default)]
pub(super) struct Remedy {
    pub fixes: Vec<Fix>,
    pub because: Option<String>,
    pub note: Option<String>,
}

impl Remedy {
    pub fn none() -> Remedy {
        Remedy::default()
    }
    pub fn of(fixes: Vec<Fix>) -> Remedy {
        Remedy {
            fixes,
            ..Remedy::default()
        }
    }
    pub fn one(fix: Fix) -> Remedy {
        Remedy::of(vec![fix])
    }
    pub fn note(note: impl Into<String>) -> Remedy {
        Remedy {
            note: Some(note.into()),
            ..Remedy::default()
        }
    }
    fn because(mut self, why: impl Into<String>) -> Remedy {
        self.because = Some(why.into());
        self
    }
}

fn quoted(a: &impl std::fmt::Display) -> String {
    format!("\"{a}\"")
}

impl<'c> Model<'c> {
    /// The table a resource was declared in, as written.
    fn decl(&self, a: &ResourceAddr) -> Option<&'c Decl> {
        self.c.decls.iter().find(|d| &d.addr == a)
    }

    /// Where a fix's edit lands: the key's line in the table as written (else the table's header).
    pub(super) fn place_of(&self, table: &str, key: &str) -> Option<crate::diag::Location> {
        let addr: ResourceAddr = table.parse().ok()?;
        let d = self.decl(&addr)?;
        let span = d.spans.get(key).unwrap_or(&d.header);
        Some(self.c.location(span))
    }

    /// The `[network.*]` a resource was expanded from.
    fn network_of(&self, a: &ResourceAddr) -> Option<&'c Decl> {
        let origin = self.get(a)?.origin.as_ref()?;
        (origin.kind == Kind::Network)
            .then(|| self.decl(origin))
            .flatten()
    }

    /// The table a resource's settings are written in: its own, or the `[function.*]` it came from.
    pub(super) fn table_name(&self, a: &ResourceAddr) -> String {
        match self.get(a).and_then(|r| r.origin.as_ref()) {
            Some(o) if o.kind == Kind::Function => o.to_string(),
            _ => a.to_string(),
        }
    }

    /// A table the config declares itself (not expanded from a high-level one, not found in the
    /// account, not `existing`): an edit can name it.
    pub(super) fn declared(&self, a: &ResourceAddr) -> bool {
        self.decl(a).is_some_and(|d| d.existing.is_none())
    }

    /// A name of `kind` the config does not use yet: `base`, else `base_2`, ….
    pub(super) fn fresh(&self, kind: Kind, base: &str) -> String {
        let taken = |n: &str| {
            let a = ResourceAddr::new(kind, n);
            self.get(&a).is_some() || self.decl(&a).is_some()
        };
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|i| format!("{base}_{i}"))
            .find(|n| !taken(n))
            .expect("a free name")
    }

    /// TOML declaring an object found in the account, for a table of the config's own to use.
    pub(super) fn existing_toml(&self, a: &ResourceAddr) -> String {
        match self.get(a) {
            Some(r) if r.bool_attr("discovered") => format!(
                "[{a}]\nexisting = \"{}\"\n\n",
                r.str_attr("id").unwrap_or("?")
            ),
            _ => String::new(),
        }
    }

    fn int_field(d: &Decl, key: &str) -> Option<i64> {
        d.fields.get(key).and_then(Value::as_int)
    }

    fn bool_field(d: &Decl, key: &str) -> Option<bool> {
        d.fields.get(key).and_then(Value::as_bool)
    }

    /// How many AZs a network spans as written.
    fn network_azs(d: &Decl) -> i64 {
        match d.fields.get("azs") {
            Some(Value::List(l)) => l.len() as i64,
            Some(v) => v.as_int().unwrap_or(2),
            None => 2,
        }
    }

    /// `nat_gateways = mode` on a network, with public subnets enough to hold the NATs.
    fn nat_mode(d: &Decl, mode: &str) -> Fix {
        let mut edits = vec![Edit::set(&d.addr, "nat_gateways", quoted(&mode))];
        if let Some(n) = Self::int_field(d, "public_subnets") {
            let need = if mode == "per_az" {
                Self::network_azs(d)
            } else {
                1
            };
            if n < need {
                edits.push(Edit::set(&d.addr, "public_subnets", need.to_string()));
            }
        }
        Fix::edit(edits)
    }

    /// The subnet has no route out for the family: what gives it one.
    pub(super) fn route_remedy(&self, subnet: &ResourceAddr, v6: bool, f: &Resource) -> Remedy {
        if let Some(net) = self.network_of(subnet) {
            return self.network_route_remedy(net, v6, f);
        }
        self.table_route_remedy(subnet, v6, f)
    }

    fn network_route_remedy(&self, net: &Decl, v6: bool, f: &Resource) -> Remedy {
        let a = &net.addr;
        let ipv6 = Self::bool_field(net, "ipv6").unwrap_or(false);
        if v6 {
            if Self::bool_field(net, "egress_only_igw") == Some(false) {
                return Remedy::one(Fix::set(a, "egress_only_igw", "true"))
                    .because(format!("{a} has egress_only_igw = false"));
            }
            if !ipv6 {
                return Remedy::one(Fix::set(a, "ipv6", "true"))
                    .because(format!("{a} has no IPv6"));
            }
            return Remedy::none();
        }
        let mode = net.fields.get("nat_gateways").and_then(Value::as_str);
        if !matches!(mode, Some("none") | None) {
            return Remedy::none();
        }
        let mut fixes = vec![Self::nat_mode(net, "per_az"), Self::nat_mode(net, "single")];
        // IPv6 alone is a way out when the function is dual-stack and the network has IPv6 and an
        // egress-only gateway: no NAT needed.
        let eigw = Self::bool_field(net, "egress_only_igw").unwrap_or(ipv6);
        if f.bool_attr("ipv6_dual_stack") && ipv6 && eigw {
            fixes.push(Fix::set(self.table_name(&f.addr), "internet", "\"ipv6\""));
        }
        let why = match mode {
            Some(m) => format!("{a} has nat_gateways = \"{m}\""),
            None => format!("{a} has no public subnet to hold a NAT gateway"),
        };
        Remedy::of(fixes).because(why)
    }

    /// Gives a subnet made at low level (or found in the account) a route out: on its own route
    /// table when the config declares it, else a route table of the config's own — with a route for
    /// every family the function uses, so one table fixes both.
    fn table_route_remedy(&self, subnet: &ResourceAddr, v6: bool, f: &Resource) -> Remedy {
        let Some(vpc) = self.vpc_of_subnet(subnet) else {
            return Remedy::none();
        };
        let declared_table = self.table_of(subnet).filter(|t| self.declared(&t.addr));
        let families: Vec<bool> = match (declared_table, Internet::of(f)) {
            (Some(_), _) => vec![v6],
            (None, Internet::Ipv6Only) => vec![true],
            (None, _) if f.bool_attr("ipv6_dual_stack") => vec![false, true],
            (None, _) => vec![false],
        };
        let mut toml = String::new();
        let mut routes = vec![];
        for family in families {
            let (target, more) = if family {
                self.ipv6_target(&vpc)
            } else {
                match self.ipv4_target(&vpc, subnet) {
                    Some(t) => t,
                    None => return Remedy::note(format!("{vpc} has no public subnet (one whose route table sends 0.0.0.0/0 to an attached internet gateway) to hold a NAT gateway: add an internet gateway, a public subnet and its route table first")),
                }
            };
            toml.push_str(&more);
            routes.push((
                default_route(family),
                format!(
                    "{{ destination = \"{}\", target = \"{target}\" }}",
                    default_route(family)
                ),
            ));
        }
        let base = if subnet.name.starts_with("private") {
            subnet.name.clone()
        } else {
            format!("private_{}", subnet.name)
        };
        self.routes_for(subnet, &vpc, declared_table, routes, &base, toml)
    }

    /// The edits that give `subnet` these routes (destination, route as TOML): on `table` when the
    /// config declares it — a route to the same destination taken out first — else on a route table
    /// of the config's own, named from `base`; `toml` (tables the routes' targets need) added first.
    fn routes_for(
        &self,
        subnet: &ResourceAddr,
        vpc: &ResourceAddr,
        table: Option<&Resource>,
        routes: Vec<(&str, String)>,
        base: &str,
        mut toml: String,
    ) -> Remedy {
        let mut edits = vec![];
        match table {
            Some(t) => {
                for (dest, route) in routes {
                    let has_dest = t.list_attr("routes").iter().any(|r| match r {
                        Value::Map(m) => m.get("destination").and_then(Value::as_str) == Some(dest),
                        _ => false,
                    });
                    if has_dest {
                        edits.push(Edit::Drop {
                            table: t.addr.to_string(),
                            key: "routes".into(),
                            field: "destination".into(),
                            value: quoted(&dest),
                        });
                    }
                    edits.push(Edit::append(&t.addr, "routes", vec![route]));
                }
            }
            None => {
                toml.push_str(&self.existing_toml(vpc));
                toml.push_str(&self.existing_toml(subnet));
                let name = self.fresh(Kind::RouteTable, base);
                let list: Vec<String> = routes.into_iter().map(|(_, r)| r).collect();
                toml.push_str(&format!(
                    "[route_table.{name}]\nvpc = \"{vpc}\"\nsubnets = [\"{subnet}\"]\nroutes = [{}]\n",
                    list.join(", ")
                ));
            }
        }
        if !toml.is_empty() {
            edits.insert(0, Edit::Add { toml });
        }
        Remedy::one(Fix::edit(edits))
    }

    /// What carries IPv6 out of `vpc`: its egress-only gateway, else a new one (with the TOML that
    /// adds it).
    fn ipv6_target(&self, vpc: &ResourceAddr) -> (String, String) {
        match self
            .c
            .of_kind(Kind::EgressOnlyInternetGateway)
            .find(|g| g.ref_attr("vpc") == Some(vpc))
        {
            Some(g) => (g.addr.to_string(), self.existing_toml(&g.addr)),
            None => {
                let name = self.fresh(Kind::EgressOnlyInternetGateway, "main");
                (
                    format!("egress_only_internet_gateway.{name}"),
                    format!(
                        "{}[egress_only_internet_gateway.{name}]\nvpc = \"{vpc}\"\n\n",
                        self.existing_toml(vpc)
                    ),
                )
            }
        }
    }

    /// What carries IPv4 out of `vpc` for `subnet`: a NAT in a public subnet of the VPC (of the
    /// subnet's AZ first), else a new NAT gateway there. `None`: the VPC has no public subnet.
    fn ipv4_target(&self, vpc: &ResourceAddr, subnet: &ResourceAddr) -> Option<(String, String)> {
        let az = self.az(subnet);
        let public = self.public_subnet(vpc, az)?;
        let usable = |n: &&Resource| match n.addr.kind {
            Kind::NatGateway => n.str_attr("state").is_none_or(|s| s == "available"),
            _ => {
                n.str_attr("state").is_none_or(|s| s == "running")
                    && n.attrs.get("source_dest_check") != Some(&Value::Bool(true))
            }
        };
        let mut nats: Vec<&Resource> = self
            .c
            .of_kind(Kind::NatGateway)
            .chain(
                self.c
                    .of_kind(Kind::NatInstance)
                    .filter(|n| n.list_attr("allow_from").is_empty()),
            )
            .filter(usable)
            .filter(|n| {
                n.ref_attr("subnet").is_some_and(|s| {
                    self.vpc_of_subnet(s).as_ref() == Some(vpc) && is_public(self.c, s)
                })
            })
            .collect();
        nats.sort_by_key(|n| n.ref_attr("subnet").and_then(|s| self.az(s)) != az);
        if let Some(n) = nats.first() {
            return Some((n.addr.to_string(), self.existing_toml(&n.addr)));
        }
        let suffix = az
            .and_then(|z| z.chars().last())
            .map(|c| c.to_string())
            .unwrap_or_else(|| subnet.name.clone());
        let nat = self.fresh(Kind::NatGateway, &suffix);
        let eip = self.fresh(Kind::ElasticIp, &format!("nat_{suffix}"));
        Some((
            format!("nat_gateway.{nat}"),
            format!(
                "{}[elastic_ip.{eip}]\n\n[nat_gateway.{nat}]\nsubnet = \"{}\"   # public: its route table sends 0.0.0.0/0 to an internet gateway\nelastic_ip = \"elastic_ip.{eip}\"\n\n",
                self.existing_toml(&public.addr),
                public.addr
            ),
        ))
    }

    /// A dual-stack function in a subnet without an IPv6 block.
    pub(super) fn ipv6_block_remedy(&self, subnet: &ResourceAddr, f: &Resource) -> Remedy {
        let not_dual = Fix::set(self.table_name(&f.addr), "ipv6_dual_stack", "false");
        if let Some(net) = self.network_of(subnet) {
            return Remedy::of(vec![Fix::set(&net.addr, "ipv6", "true"), not_dual])
                .because(format!("{} has no IPv6", net.addr));
        }
        if !self.declared(subnet) {
            return Remedy::of(vec![not_dual]);
        }
        let vpc = self.vpc_of_subnet(subnet);
        let used: Vec<i64> = self
            .c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == vpc.as_ref())
            .filter_map(|s| s.attrs.get("ipv6_index").and_then(Value::as_int))
            .collect();
        let free = (0..=255).find(|i| !used.contains(i)).unwrap_or(0);
        let mut edits = vec![];
        if let Some(v) = vpc.as_ref().filter(|v| self.declared(v)) {
            if !self.get(v).is_some_and(|v| v.bool_attr("ipv6")) {
                edits.push(Edit::set(v, "ipv6", "true"));
            }
        }
        edits.push(Edit::set(subnet, "ipv6_index", free.to_string()));
        Remedy::of(vec![Fix::edit(edits), not_dual])
    }

    /// No security group of the function lets the family out.
    pub(super) fn egress_remedy(&self, f: &Resource, groups: &[&Resource], v6: bool) -> Remedy {
        let any = default_route(v6);
        let rule = format!("{{ protocol = \"all\", cidr = \"{any}\" }}");
        match groups.first() {
            Some(g) if self.declared(&g.addr) => {
                Remedy::one(Fix::edit(vec![Edit::append(&g.addr, "egress", vec![rule])]))
            }
            Some(g) if self.discovered(&g.addr) => {
                let range = if v6 {
                    format!("Ipv6Ranges=[{{CidrIpv6={any}}}]")
                } else {
                    format!("IpRanges=[{{CidrIp={any}}}]")
                };
                Remedy::one(Fix::run(format!(
                    "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=-1,{range}'",
                    g.str_attr("id").unwrap_or("SG_ID")
                )))
            }
            Some(_) => Remedy::none(),
            None if self.declared(&f.addr) => {
                let Some(vpc) = f
                    .ref_list("subnets")
                    .first()
                    .and_then(|s| self.vpc_of_subnet(s))
                else {
                    return Remedy::none();
                };
                let name = self.fresh(Kind::SecurityGroup, &f.addr.name);
                Remedy::one(Fix::edit(vec![
                    Edit::Add {
                        toml: format!(
                            "{}[security_group.{name}]\nvpc = \"{vpc}\"\negress = [{rule}]\n",
                            self.existing_toml(&vpc)
                        ),
                    },
                    Edit::append(
                        &f.addr,
                        "security_groups",
                        vec![format!("\"security_group.{name}\"")],
                    ),
                ]))
            }
            None => Remedy::none(),
        }
    }

    /// The function sits in a public subnet: the private subnets of its VPC that reach the internet.
    pub(super) fn public_subnet_remedy(&self, f: &Resource, subnet: &ResourceAddr) -> Remedy {
        let note = "attach the function to private subnets whose route table sends the default route to a NAT gateway (IPv6: to an egress-only internet gateway)";
        if !self.declared(&f.addr) || self.probing.get() {
            return Remedy::note(note);
        }
        let vpc = self.vpc_of_subnet(subnet);
        let dual = f.bool_attr("ipv6_dual_stack");
        let reaches = |s: &ResourceAddr, v6: bool| {
            let dest: IpAddr = if v6 { V6 } else { V4 }.parse().expect("constant");
            let mut quiet = |_: Severity, _: &ResourceAddr, _: String, _: Remedy| {};
            walk(self, s, dest, v6, f, &mut quiet).reaches
        };
        self.probing.set(true);
        let private: Vec<String> = self
            .c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == vpc.as_ref())
            .filter(|s| reaches(&s.addr, false) && (!dual || reaches(&s.addr, true)))
            .map(|s| quoted(&s.addr))
            .collect();
        self.probing.set(false);
        if private.is_empty() {
            return Remedy::note(note);
        }
        Remedy::one(Fix::set(
            &f.addr,
            "subnets",
            format!("[{}]", private.join(", ")),
        ))
    }

    /// A NAT whose subnet is not public: move it to a public subnet of its VPC, else give its
    /// subnet the route to an internet gateway.
    pub(super) fn nat_subnet_remedy(&self, nat: &Resource, nat_subnet: &ResourceAddr) -> Remedy {
        let vpc = self.vpc_of_subnet(nat_subnet);
        if self.declared(&nat.addr) {
            if let Some(p) = vpc
                .as_ref()
                .and_then(|v| self.public_subnet(v, self.az(nat_subnet)))
            {
                return Remedy::one(Fix::set(&nat.addr, "subnet", quoted(&p.addr)));
            }
        }
        let Some(vpc) = vpc else {
            return Remedy::none();
        };
        let (igw, toml) = match self
            .c
            .of_kind(Kind::InternetGateway)
            .find(|g| g.ref_attr("vpc") == Some(&vpc))
        {
            Some(g) => (g.addr.to_string(), self.existing_toml(&g.addr)),
            None => {
                let name = self.fresh(Kind::InternetGateway, "main");
                (
                    format!("internet_gateway.{name}"),
                    format!("[internet_gateway.{name}]\nvpc = \"{vpc}\"\n\n"),
                )
            }
        };
        let route = format!("{{ destination = \"0.0.0.0/0\", target = \"{igw}\" }}");
        let table = self.table_of(nat_subnet).filter(|t| self.declared(&t.addr));
        self.routes_for(
            nat_subnet,
            &vpc,
            table,
            vec![("0.0.0.0/0", route)],
            &format!("public_{}", nat_subnet.name),
            toml,
        )
    }

    /// The VPC has DNS resolution off.
    pub(super) fn dns_remedy(&self, vpc: &ResourceAddr) -> Remedy {
        if let Some(net) = self.network_of(vpc) {
            return Remedy::one(Fix::set(&net.addr, "dns_support", "true"))
                .because(format!("{} has dns_support = false", net.addr));
        }
        if self.declared(vpc) {
            return Remedy::one(Fix::set(vpc, "dns_support", "true"));
        }
        let id = self
            .get(vpc)
            .and_then(|v| v.str_attr("id").or(v.existing.as_deref()))
            .unwrap_or("VPC_ID");
        Remedy::one(Fix::run(format!(
            "aws ec2 modify-vpc-attribute --vpc-id {id} --enable-dns-support"
        )))
    }

    /// `internet = "ipv6"` on a function that is not dual-stack.
    pub(super) fn dual_stack_remedy(&self, f: &Resource) -> Remedy {
        let table = self.table_name(&f.addr);
        let mut edits = vec![Edit::set(&table, "ipv6_dual_stack", "true")];
        let net = f
            .ref_list("subnets")
            .first()
            .and_then(|s| self.network_of(s));
        if let Some(net) = net {
            if !Self::bool_field(net, "ipv6").unwrap_or(false) {
                edits.push(Edit::set(&net.addr, "ipv6", "true"));
            }
        }
        Remedy::one(Fix::edit(edits))
    }

    /// The role lacks the network-interface permissions.
    pub(super) fn role_remedy(&self, role: &ResourceAddr) -> Remedy {
        if !self.declared(role) {
            return Remedy::none();
        }
        Remedy::one(Fix::edit(vec![Edit::append(
            role,
            "managed_policies",
            vec![quoted(&VPC_ACCESS_POLICY)],
        )]))
    }

    /// All of a function's subnets in one AZ: a high-level network spread over two.
    pub(super) fn single_az_remedy(&self, f: &Resource) -> Remedy {
        let Some(net) = f
            .ref_list("subnets")
            .first()
            .and_then(|s| self.network_of(s))
        else {
            return Remedy::none();
        };
        if !matches!(net.fields.get("azs"), Some(Value::Int(_)) | None) {
            return Remedy::none();
        }
        let mut edits = vec![Edit::set(&net.addr, "azs", "2")];
        for key in ["public_subnets", "private_subnets"] {
            if Self::int_field(net, key).is_some_and(|n| n < 2) {
                edits.push(Edit::set(&net.addr, key, "2"));
            }
        }
        Remedy::one(Fix::edit(edits))
    }

    /// A NAT serving another AZ's subnet: a high-level network gets one NAT per AZ.
    pub(super) fn cross_az_remedy(&self, nat: &ResourceAddr) -> Remedy {
        match self.network_of(nat) {
            Some(net) => Remedy::one(Self::nat_mode(net, "per_az")),
            None => Remedy::none(),
        }
    }

    /// A NAT instance without a public address: an Elastic IP for it.
    pub(super) fn elastic_ip_remedy(&self, nat: &ResourceAddr) -> Remedy {
        if !self.declared(nat) {
            return Remedy::none();
        }
        let eip = self.fresh(Kind::ElasticIp, &nat.name);
        Remedy::one(Fix::edit(vec![
            Edit::Add {
                toml: format!("[elastic_ip.{eip}]\n"),
            },
            Edit::set(nat, "elastic_ip", format!("\"elastic_ip.{eip}\"")),
        ]))
    }
}
