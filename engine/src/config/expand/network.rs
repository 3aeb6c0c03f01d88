//! `[network.NAME]` → the "VPC and more" layout, in named steps: the AZs, the subnets of each tier
//! (carved from fixed slots or listed), the VPC, its subnets, the internet and egress-only gateways, the
//! NAT gateways or NAT instances (none, one, or one per AZ with private subnets, each with an Elastic
//! IP), the route tables (one public, one private per AZ or a shared one) and the S3 gateway endpoint.

use super::slots::{cidr_slot, SlotError, Tier, MAX_AZS, MAX_ROUNDS};
use super::{id_ref, string, tags_value, Expander, Generator, NetworkInfo};
use crate::addr::{Kind, ResourceAddr};
use crate::config::{Decl, Stack};
use crate::regions;
use crate::value::{Attrs, Value};
use ipnet::Ipv4Net;
use std::collections::BTreeMap;

/// One subnet the network will have.
struct SubnetPlan {
    name: String,
    cidr: String,
    az: String,
    /// The AZ's letter: `a`.
    suffix: String,
    /// The network field that decided its CIDR (for error places).
    span_field: String,
}

/// An AZ and its letter.
struct Az {
    name: String,
    suffix: String,
}

/// What every step reads: the declaration, its tags, and the decisions made so far.
struct Layout<'d> {
    decl: &'d Decl,
    generator: Generator<'d>,
    name: String,
    ipv6: bool,
    public: Vec<SubnetPlan>,
    private: Vec<SubnetPlan>,
}

pub(super) fn expand(
    x: &mut Expander<'_, '_>,
    stack: &Stack,
    region: Option<&str>,
    d: &Decl,
) -> NetworkInfo {
    let f = &d.fields;
    let Some(cidr) = f.get("cidr").and_then(Value::as_str) else {
        return NetworkInfo::default();
    };
    let Ok(block) = cidr.parse::<ipnet::IpNet>() else {
        return NetworkInfo::default();
    };
    let ipnet::IpNet::V4(block) = block else {
        x.p.err(
            d.spans.get("cidr").cloned(),
            format!("{}: the network's `cidr` must be an IPv4 block", d.addr),
        )
        .hint("IPv6 comes from Amazon's pool: set ipv6 = true");
        return NetworkInfo::default();
    };
    let Some(azs) = availability_zones(x, d, region) else {
        return NetworkInfo::default();
    };
    let public = subnets_of_tier(x, d, Tier::Public, &azs, block);
    let private = subnets_of_tier(x, d, Tier::Private, &azs, block);
    let layout = Layout {
        decl: d,
        generator: Generator {
            decl: d,
            tags: tags_value(stack, &[&d.tags]),
        },
        name: d.addr.name.clone(),
        ipv6: flag(d, "ipv6", false),
        public,
        private,
    };
    layout.add_vpc(x, cidr);
    layout.add_subnets(x);
    let has_igw = layout.add_internet_gateway(x);
    let egress_only = layout.add_egress_only_gateway(x);
    let (mode, nat_for_az) = layout.add_nat_gateways(x, has_igw);
    let tables = layout.add_route_tables(x, mode == "per_az", &nat_for_az, egress_only);
    layout.add_s3_endpoint(x, tables);
    NetworkInfo {
        vpc: Some(ResourceAddr::new(Kind::Vpc, &layout.name)),
        private_subnets: layout
            .private
            .iter()
            .map(|p| ResourceAddr::new(Kind::Subnet, &p.name))
            .collect(),
        ipv6: layout.ipv6,
    }
}

fn flag(d: &Decl, key: &str, default: bool) -> bool {
    d.fields
        .get(key)
        .and_then(Value::as_bool)
        .unwrap_or(default)
}

/// `azs`: a list of names, or a count taken from the region's AZ table.
fn availability_zones(x: &mut Expander<'_, '_>, d: &Decl, region: Option<&str>) -> Option<Vec<Az>> {
    let names: Vec<String> = match d.fields.get("azs") {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        other => {
            let count = other.and_then(Value::as_int).unwrap_or(2) as usize;
            let span = d.spans.get("azs").cloned().unwrap_or(d.header.clone());
            match region.map(|r| (r, regions::azs(r))) {
                None => {
                    x.p.err(Some(span), format!("{}: `azs = {count}` needs a region to pick AZ names from", d.addr))
                        .hint("set region in [stack] (or AWS_REGION / --region), or list the AZs: azs = [\"us-east-1a\", \"us-east-1b\"]");
                    return None;
                }
                Some((r, None)) => {
                    x.p.err(Some(span), format!("{}: region `{r}` is not in netplan's AZ table, so `azs` must list the AZ names", d.addr))
                        .hint(format!("azs = [\"{r}a\", \"{r}b\"]"));
                    return None;
                }
                Some((r, Some(all))) => {
                    if count > all.len() {
                        x.p.err(
                            Some(span),
                            format!(
                                "{}: azs = {count}, but {r} has {} availability zones ({})",
                                d.addr,
                                all.len(),
                                all.join(", ")
                            ),
                        )
                        .label("more AZs than the region has")
                        .fix(crate::fix::Fix::set(
                            &d.addr,
                            "azs",
                            all.len().to_string(),
                        ));
                        return None;
                    }
                    all.into_iter().take(count).collect()
                }
            }
        }
    };
    if names.is_empty() {
        x.p.err(
            d.spans.get("azs").cloned(),
            format!("{}: `azs` is empty", d.addr),
        )
        .hint("list at least one AZ (two for availability)");
        return None;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut azs = Vec::with_capacity(names.len());
    for name in names {
        let suffix = regions::az_suffix(&name);
        if !seen.insert(suffix.clone()) {
            x.p.err(
                d.spans.get("azs").cloned(),
                format!("{}: AZ `{name}` is listed twice", d.addr),
            );
            return None;
        }
        azs.push(Az { name, suffix });
    }
    Some(azs)
}

/// A tier's subnets: a count is carved from the tier's slots, a list is taken as given. Subnet i goes
/// to AZ i mod |azs|, in round i / |azs|.
fn subnets_of_tier(
    x: &mut Expander<'_, '_>,
    d: &Decl,
    tier: Tier,
    azs: &[Az],
    block: Ipv4Net,
) -> Vec<SubnetPlan> {
    let key = tier.key();
    let label = tier.label();
    let cidrs: Vec<(String, String)> = match d.fields.get(key) {
        Some(Value::List(l)) => l
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_str().map(|c| (c.to_string(), format!("{key}[{i}]"))))
            .collect(),
        other => {
            let count = other.and_then(Value::as_int).unwrap_or(azs.len() as i64) as usize;
            let mut out = Vec::with_capacity(count);
            for i in 0..count {
                match cidr_slot(block, tier, i % azs.len(), i / azs.len()) {
                    Ok(c) => out.push((c.to_string(), key.to_string())),
                    Err(SlotError::NotCarvable) => {
                        let span = d.spans.get(key).or(d.spans.get("azs")).cloned();
                        x.p.err(span, format!("{}: {count} {label} subnets over {} AZs cannot be carved automatically", d.addr, azs.len()))
                            .hint(format!("carving covers up to {MAX_AZS} AZs and {MAX_ROUNDS} subnets per AZ; list the CIDRs instead: {key} = [\"…\", …]"));
                        return vec![];
                    }
                    Err(SlotError::BlockTooSmall) => {
                        x.p.err(d.spans.get("cidr").cloned(), format!("{}: the block {block} is too small to carve {count} {label} subnets", d.addr))
                            .hint("use a larger block (a /16 to /24) or list the subnet CIDRs");
                        return vec![];
                    }
                }
            }
            out
        }
    };
    let n = &d.addr.name;
    cidrs
        .into_iter()
        .enumerate()
        .map(|(i, (cidr, span_field))| {
            let az = &azs[i % azs.len()];
            let round = i / azs.len();
            let name = if round == 0 {
                format!("{n}_{label}_{}", az.suffix)
            } else {
                format!("{n}_{label}_{}{}", az.suffix, round + 1)
            };
            SubnetPlan {
                name,
                cidr,
                az: az.name.clone(),
                suffix: az.suffix.clone(),
                span_field,
            }
        })
        .collect()
}

impl Layout<'_> {
    fn vpc_ref(&self) -> Value {
        id_ref(Kind::Vpc, &self.name)
    }

    fn add_vpc(&self, x: &mut Expander<'_, '_>, cidr: &str) {
        let mut vpc = Attrs::new();
        vpc.insert("cidr".into(), string(cidr));
        vpc.insert("ipv6".into(), Value::Bool(self.ipv6));
        for dns in ["dns_hostnames", "dns_support"] {
            vpc.insert(dns.into(), Value::Bool(flag(self.decl, dns, true)));
        }
        x.add(self.generator.make(
            Kind::Vpc,
            self.name.clone(),
            vpc,
            &[("cidr", "cidr"), ("ipv6", "ipv6")],
        ));
    }

    fn add_subnets(&self, x: &mut Expander<'_, '_>) {
        for (tier, plans) in [(Tier::Public, &self.public), (Tier::Private, &self.private)] {
            for (i, sp) in plans.iter().enumerate() {
                let mut a = Attrs::new();
                a.insert("vpc".into(), self.vpc_ref());
                a.insert("cidr".into(), string(&sp.cidr));
                a.insert("az".into(), string(&sp.az));
                if self.ipv6 {
                    a.insert("ipv6_index".into(), Value::Int(tier.ipv6_base() + i as i64));
                }
                x.add(self.generator.make(
                    Kind::Subnet,
                    sp.name.clone(),
                    a,
                    &[
                        ("cidr", sp.span_field.as_str()),
                        ("az", "azs"),
                        ("vpc", "cidr"),
                    ],
                ));
            }
        }
    }

    /// An internet gateway when there are public subnets; whether there is one.
    fn add_internet_gateway(&self, x: &mut Expander<'_, '_>) -> bool {
        if self.public.is_empty() {
            return false;
        }
        let mut a = Attrs::new();
        a.insert("vpc".into(), self.vpc_ref());
        x.add(self.generator.make(
            Kind::InternetGateway,
            self.name.clone(),
            a,
            &[("vpc", "public_subnets")],
        ));
        true
    }

    /// An egress-only gateway (default: with IPv6); whether there is one.
    fn add_egress_only_gateway(&self, x: &mut Expander<'_, '_>) -> bool {
        let d = self.decl;
        let wanted = flag(d, "egress_only_igw", self.ipv6);
        if wanted && !self.ipv6 {
            x.p.err(
                d.spans.get("egress_only_igw").cloned(),
                format!("{}: egress_only_igw = true needs ipv6 = true", d.addr),
            )
            .hint("an egress-only internet gateway carries IPv6 only")
            .fix(crate::fix::Fix::set(&d.addr, "ipv6", "true"))
            .fix(crate::fix::Fix::set(&d.addr, "egress_only_igw", "false"));
        }
        if !(wanted && self.ipv6) {
            return false;
        }
        let mut a = Attrs::new();
        a.insert("vpc".into(), self.vpc_ref());
        x.add(self.generator.make(
            Kind::EgressOnlyInternetGateway,
            self.name.clone(),
            a,
            &[("vpc", "egress_only_igw")],
        ));
        true
    }

    /// NAT gateways (each with its Elastic IP) per `nat_gateways`: the mode, and the NAT serving each
    /// AZ that has private subnets.
    fn add_nat_gateways(
        &self,
        x: &mut Expander<'_, '_>,
        has_igw: bool,
    ) -> (String, BTreeMap<String, Value>) {
        let d = self.decl;
        let default_mode = if !self.public.is_empty() && !self.private.is_empty() {
            "per_az"
        } else {
            "none"
        };
        let mode = d
            .fields
            .get("nat_gateways")
            .and_then(Value::as_str)
            .unwrap_or(default_mode)
            .to_string();
        let nat_span = d
            .spans
            .get("nat_gateways")
            .cloned()
            .unwrap_or(d.header.clone());
        if mode != "none" && self.public.is_empty() {
            x.p.err(
                Some(nat_span.clone()),
                format!(
                    "{}: nat_gateways = \"{mode}\" needs at least one public subnet",
                    d.addr
                ),
            )
            .hint("a NAT gateway sits in a public subnet")
            .fix(crate::fix::Fix::set(
                &d.addr,
                "public_subnets",
                if mode == "per_az" {
                    self.private.len().max(1).to_string()
                } else {
                    "1".to_string()
                },
            ));
        }
        let instances = d.fields.get("nat_type").and_then(Value::as_str) == Some("instance");
        if !instances {
            if let Some(span) = d.spans.get("nat_instance_type") {
                x.p.err(
                    Some(span.clone()),
                    format!(
                        "{}: nat_instance_type is set, but the network uses NAT gateways",
                        d.addr
                    ),
                )
                .hint(
                    "set nat_type = \"instance\" to use NAT instances, or drop nat_instance_type",
                );
            }
        }
        let instance_type = d
            .fields
            .get("nat_instance_type")
            .and_then(Value::as_str)
            .unwrap_or(crate::schema::DEFAULT_NAT_INSTANCE_TYPE)
            .to_string();
        let mut nat_for_az: BTreeMap<String, Value> = BTreeMap::new();
        // The NAT in `public` for the private subnets of `azs`: its Elastic IP, the NAT, and the route
        // target private tables use.
        let add_nat = |x: &mut Expander<'_, '_>, public: &SubnetPlan, azs: &[String]| -> Value {
            let name = format!("{}_{}", self.name, public.suffix);
            x.add(
                self.generator
                    .make(Kind::ElasticIp, name.clone(), Attrs::new(), &[]),
            );
            let mut a = Attrs::new();
            a.insert("subnet".into(), id_ref(Kind::Subnet, &public.name));
            a.insert("elastic_ip".into(), id_ref(Kind::ElasticIp, &name));
            let kind = if instances {
                a.insert("instance_type".into(), string(&instance_type));
                a.insert("source_dest_check".into(), Value::Bool(false));
                a.insert(
                    "allow_from".into(),
                    Value::List(
                        self.private
                            .iter()
                            .filter(|p| azs.contains(&p.suffix))
                            .map(|p| {
                                Value::reference(ResourceAddr::new(Kind::Subnet, &p.name), "cidr")
                            })
                            .collect(),
                    ),
                );
                Kind::NatInstance
            } else {
                Kind::NatGateway
            };
            let mut r = self.generator.make(
                kind,
                name.clone(),
                a,
                &[
                    ("subnet", "nat_gateways"),
                    ("instance_type", "nat_instance_type"),
                    ("allow_from", "nat_type"),
                ],
            );
            if has_igw {
                // AWS: an Elastic IP is associated only in a VPC with an internet gateway.
                r.depends_on
                    .push(ResourceAddr::new(Kind::InternetGateway, &self.name));
            }
            x.add(r);
            let target = ResourceAddr::new(kind, &name);
            let attr = crate::schema::reference_attr(kind);
            Value::reference(target, attr)
        };
        match mode.as_str() {
            "single" if !self.public.is_empty() && !self.private.is_empty() => {
                let target = add_nat(x, &self.public[0], &self.private_azs());
                for az in self.private_azs() {
                    nat_for_az.insert(az, target.clone());
                }
            }
            "per_az" if !self.public.is_empty() => {
                for az in self.private_azs() {
                    match self.public.iter().find(|p| p.suffix == az) {
                        Some(public) => {
                            let target = add_nat(x, public, std::slice::from_ref(&az));
                            nat_for_az.insert(az, target);
                        }
                        None => {
                            x.p.err(Some(nat_span.clone()), format!("{}: nat_gateways = \"per_az\", but AZ `{az}` has private subnets and no public subnet to hold its NAT gateway", d.addr))
                                .hint("a NAT gateway sits in a public subnet of its AZ")
                                .fix(crate::fix::Fix::set(&d.addr, "nat_gateways", "\"single\""));
                        }
                    }
                }
            }
            _ => {}
        }
        (mode, nat_for_az)
    }

    /// The letters of the AZs that have private subnets, sorted.
    fn private_azs(&self) -> Vec<String> {
        let mut v: Vec<String> = self.private.iter().map(|p| p.suffix.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    /// One public table (default routes to the internet gateway) and private tables — one per AZ with
    /// `per_az`, else one shared — with the NAT and egress-only routes; the tables' names.
    fn add_route_tables(
        &self,
        x: &mut Expander<'_, '_>,
        per_az: bool,
        nat_for_az: &BTreeMap<String, Value>,
        egress_only: bool,
    ) -> Vec<String> {
        let n = &self.name;
        let subnet_refs = |subs: &[&SubnetPlan]| {
            Value::List(subs.iter().map(|p| id_ref(Kind::Subnet, &p.name)).collect())
        };
        let mut tables = Vec::new();
        if !self.public.is_empty() {
            let mut routes = vec![route("0.0.0.0/0", Kind::InternetGateway, n)];
            if self.ipv6 {
                routes.push(route("::/0", Kind::InternetGateway, n));
            }
            let mut a = Attrs::new();
            a.insert("vpc".into(), self.vpc_ref());
            let public: Vec<&SubnetPlan> = self.public.iter().collect();
            a.insert("subnets".into(), subnet_refs(&public));
            a.insert("routes".into(), Value::List(routes));
            let name = format!("{n}_public");
            x.add(self.generator.make(
                Kind::RouteTable,
                name.clone(),
                a,
                &[("subnets", "public_subnets")],
            ));
            tables.push(name);
        }
        let private: Vec<(String, Vec<&SubnetPlan>, Option<Value>)> = if per_az {
            self.private_azs()
                .into_iter()
                .map(|az| {
                    let subs = self.private.iter().filter(|p| p.suffix == az).collect();
                    (
                        format!("{n}_private_{az}"),
                        subs,
                        nat_for_az.get(&az).cloned(),
                    )
                })
                .collect()
        } else if !self.private.is_empty() {
            vec![(
                format!("{n}_private"),
                self.private.iter().collect(),
                nat_for_az.values().next().cloned(),
            )]
        } else {
            vec![]
        };
        for (name, subs, nat) in private {
            let mut routes = Vec::new();
            if let Some(nat) = nat {
                routes.push(route_to("0.0.0.0/0", nat));
            }
            if egress_only {
                routes.push(route("::/0", Kind::EgressOnlyInternetGateway, n));
            }
            let mut a = Attrs::new();
            a.insert("vpc".into(), self.vpc_ref());
            a.insert("subnets".into(), subnet_refs(&subs));
            a.insert("routes".into(), Value::List(routes));
            x.add(self.generator.make(
                Kind::RouteTable,
                name.clone(),
                a,
                &[("subnets", "private_subnets"), ("routes", "nat_gateways")],
            ));
            tables.push(name);
        }
        tables
    }

    /// The S3 gateway endpoint on every route table (default on: it is free).
    fn add_s3_endpoint(&self, x: &mut Expander<'_, '_>, mut tables: Vec<String>) {
        if !flag(self.decl, "s3_endpoint", true) || tables.is_empty() {
            return;
        }
        tables.sort();
        let mut a = Attrs::new();
        a.insert("vpc".into(), self.vpc_ref());
        a.insert("service".into(), string("s3"));
        a.insert(
            "route_tables".into(),
            Value::List(tables.iter().map(|t| id_ref(Kind::RouteTable, t)).collect()),
        );
        x.add(self.generator.make(
            Kind::VpcEndpoint,
            format!("{}_s3", self.name),
            a,
            &[("service", "s3_endpoint")],
        ));
    }
}

fn route(dest: &str, kind: Kind, name: &str) -> Value {
    route_to(dest, id_ref(kind, name))
}

fn route_to(dest: &str, target: Value) -> Value {
    let mut m = BTreeMap::new();
    m.insert("destination".to_string(), string(dest));
    m.insert("target".to_string(), target);
    Value::Map(m)
}
