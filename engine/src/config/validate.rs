//! Semantic checks over the expanded resources: references that dangle or point at the wrong kind,
//! CIDRs outside their VPC or overlapping, AZs the region lacks, routes whose target cannot carry their
//! destination, subnets claimed by two route tables, names AWS requires unique, dependency cycles.

use super::expand::Expanded;
use super::parse::{closest, Parser};
use super::Stack;
use crate::addr::{Kind, ResourceAddr};
use crate::diag::Span;
use crate::regions;
use crate::resource::Resource;
use crate::value::Value;
use ipnet::IpNet;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Calls `f(path, reference)` for each reference in `v`, with paths as the parser records spans.
fn walk_refs(v: &Value, path: &str, f: &mut dyn FnMut(&str, &ResourceAddr)) {
    match v {
        Value::Ref(r) => f(path, &r.addr),
        Value::List(l) => l
            .iter()
            .enumerate()
            .for_each(|(i, x)| walk_refs(x, &format!("{path}[{i}]"), f)),
        Value::Map(m) => m
            .iter()
            .for_each(|(k, x)| walk_refs(x, &format!("{path}.{k}"), f)),
        _ => {}
    }
}

/// What every check reads (the expanded resources) and where it reports (the parser's diagnostics).
struct Validator<'p, 'a, 'e> {
    p: &'p mut Parser<'a>,
    ex: &'e Expanded,
}

impl Validator<'_, '_, '_> {
    fn span(&self, r: &Resource, path: &str) -> Span {
        r.spans
            .get(path)
            .cloned()
            .unwrap_or_else(|| r.header.clone())
    }

    fn err(&mut self, r: &Resource, path: &str, msg: String) -> &mut crate::diag::Diagnostic {
        let span = self.span(r, path);
        let addr = r.addr.clone();
        self.p.err(Some(span), msg).resource(addr)
    }

    fn get(&self, a: &ResourceAddr) -> Option<&Resource> {
        self.ex.resources.get(a)
    }

    /// The VPC a resource lives in, when the config says.
    fn vpc_of(&self, r: &Resource) -> Option<ResourceAddr> {
        match r.addr.kind {
            Kind::Vpc => Some(r.addr.clone()),
            Kind::NatGateway | Kind::NatInstance => r
                .ref_attr("subnet")
                .and_then(|s| self.get(s))
                .and_then(|s| self.vpc_of(s)),
            Kind::LambdaFunction => r
                .ref_list("subnets")
                .first()
                .and_then(|s| self.get(s))
                .and_then(|s| self.vpc_of(s)),
            _ => r.ref_attr("vpc").cloned(),
        }
    }
}

pub(super) fn validate(p: &mut Parser<'_>, _stack: &Stack, region: Option<&str>, ex: &Expanded) {
    let mut v = Validator { p, ex };
    references(&mut v);
    vpcs_and_subnets(&mut v, region);
    route_tables(&mut v);
    one_nat_per_elastic_ip(&mut v);
    nat_instances(&mut v);
    security_group_rules(&mut v);
    function_placement(&mut v);
    least_privilege(&mut v);
    unique_names(&mut v);
    cycles(&mut v);
}

fn references(v: &mut Validator<'_, '_, '_>) {
    let known: BTreeSet<&ResourceAddr> = v.ex.resources.keys().chain(v.ex.decls.keys()).collect();
    type Problem = (Span, String, String, ResourceAddr, Option<crate::fix::Fix>);
    let mut problems: Vec<Problem> = Vec::new();
    for d in v.ex.decls.values() {
        let mut check = |path: &str, target: &ResourceAddr| {
            if known.contains(target) {
                return;
            }
            let span = d.spans.get(path).cloned().unwrap_or(d.header.clone());
            let same_kind = known
                .iter()
                .filter(|a| a.kind == target.kind)
                .map(|a| a.name.as_str());
            let suggestion = closest(&target.name, same_kind);
            let hint = match suggestion {
                Some(c) => format!("did you mean `{}.{c}`?", target.kind),
                None => format!(
                    "declare [{target}], or reference an existing {}",
                    target.kind
                ),
            };
            let field = path.split(['[', '.']).next().unwrap_or(path).to_string();
            let fix = suggestion.and_then(|c| {
                let with = ResourceAddr::new(target.kind, c);
                reference_fix(d, path, &field, &with)
            });
            problems.push((
                span,
                format!(
                    "{}: `{field}` references `{target}`, which is not declared",
                    d.addr
                ),
                hint,
                d.addr.clone(),
                fix,
            ));
        };
        for (k, val) in &d.fields {
            walk_refs(val, k, &mut check);
        }
        for (target, span) in &d.depends_on {
            if !known.contains(target) {
                let same_kind = known
                    .iter()
                    .filter(|a| a.kind == target.kind)
                    .map(|a| a.name.as_str());
                let hint = match closest(&target.name, same_kind) {
                    Some(c) => format!("did you mean `{}.{c}`?", target.kind),
                    None => "depends_on lists declared resources".into(),
                };
                problems.push((
                    span.clone(),
                    format!(
                        "{}: `depends_on` names `{target}`, which is not declared",
                        d.addr
                    ),
                    hint,
                    d.addr.clone(),
                    Some(crate::fix::Fix::edit(vec![crate::fix::Edit::Remove {
                        table: d.addr.to_string(),
                        key: "depends_on".into(),
                        items: vec![format!("\"{target}\"")],
                    }])),
                ));
            }
        }
    }
    for (span, msg, hint, addr, fix) in problems {
        let d = v.p.err(Some(span), msg);
        d.label("not declared").resource(addr);
        match fix {
            Some(fix) => d.fix(fix),
            None => d.hint(hint),
        };
    }
}

/// The fix for a reference to `target` at `path` (`vpc`, `subnets[1]`) that meant `with`: the key
/// set again, a list with that one item replaced. `None` inside inline tables (routes, rules).
fn reference_fix(
    d: &crate::config::Decl,
    path: &str,
    field: &str,
    with: &ResourceAddr,
) -> Option<crate::fix::Fix> {
    if path == field {
        return Some(crate::fix::Fix::set(&d.addr, field, format!("\"{with}\"")));
    }
    let index: usize = path
        .strip_prefix(&format!("{field}["))?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let Some(Value::List(items)) = d.fields.get(field) else {
        return None;
    };
    let texts: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            _ if i == index => Some(format!("\"{with}\"")),
            Value::Ref(r) => Some(format!("\"{}\"", r.addr)),
            Value::Str(s) => Some(format!("\"{s}\"")),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(crate::fix::Fix::set(
        &d.addr,
        field,
        format!("[{}]", texts.join(", ")),
    ))
}

fn parse_net(s: Option<&str>) -> Option<IpNet> {
    s.and_then(|s| s.parse().ok())
}

fn vpcs_and_subnets(v: &mut Validator<'_, '_, '_>, region: Option<&str>) {
    let ex = v.ex;
    for r in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::Vpc && r.existing.is_none())
    {
        match parse_net(r.str_attr("cidr")) {
            Some(IpNet::V4(n)) if (16..=28).contains(&n.prefix_len()) => {}
            Some(IpNet::V4(n)) => {
                v.err(
                    r,
                    "cidr",
                    format!(
                        "{}: a VPC block must be between /16 and /28, not /{}",
                        r.addr,
                        n.prefix_len()
                    ),
                )
                .hint("AWS allows /16 (65,536 addresses) to /28 (16)");
            }
            Some(IpNet::V6(_)) => {
                v.err(
                    r,
                    "cidr",
                    format!("{}: a VPC's `cidr` must be IPv4", r.addr),
                )
                .hint("set ipv6 = true for an Amazon-provided IPv6 /56");
            }
            None => {}
        }
    }
    let region_azs = region.and_then(regions::azs);
    let mut by_vpc: BTreeMap<ResourceAddr, Vec<(&Resource, ipnet::Ipv4Net)>> = BTreeMap::new();
    let mut v6_by_vpc: BTreeMap<(ResourceAddr, i64), Vec<&Resource>> = BTreeMap::new();
    for r in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::Subnet && r.existing.is_none())
    {
        let vpc_addr = r.ref_attr("vpc").cloned();
        let vpc = vpc_addr.as_ref().and_then(|a| ex.resources.get(a));
        if let Some(az) = r.str_attr("az") {
            // Offline, only what no account can have is refused: the table lists every letter any
            // account may see, and an AZ ID names the same place in every account (`plan` reads
            // the account's own zones).
            let could_be = |reg: &str| regions::is_zone_id_of(az, reg);
            match (&region_azs, region) {
                (Some(_), Some(reg)) if could_be(reg) => {}
                (Some(list), Some(reg)) if !list.iter().any(|a| a == az) => {
                    let suggestion = closest(az, list.iter().map(String::as_str))
                        .filter(|_| az.starts_with(reg));
                    let d = v
                        .err(
                            r,
                            "az",
                            format!("{}: `{az}` is not an availability zone of {reg}", r.addr),
                        )
                        .hint(format!("{reg} has {}", list.join(", ")));
                    if let (Some(c), None) = (suggestion, &r.origin) {
                        d.fix(crate::fix::Fix::set(&r.addr, "az", format!("\"{c}\"")));
                    }
                }
                (None, Some(reg)) if !az.starts_with(reg) && !could_be(reg) => {
                    v.err(
                        r,
                        "az",
                        format!("{}: `{az}` is not in region {reg}", r.addr),
                    );
                }
                _ => {}
            }
        }
        let Some(net) = parse_net(r.str_attr("cidr")) else {
            continue;
        };
        let IpNet::V4(net) = net else {
            v.err(
                r,
                "cidr",
                format!("{}: a subnet's `cidr` must be IPv4", r.addr),
            )
            .hint("IPv6 /64s come from ipv6_index");
            continue;
        };
        if !(16..=28).contains(&net.prefix_len()) {
            v.err(
                r,
                "cidr",
                format!(
                    "{}: a subnet block must be between /16 and /28, not /{}",
                    r.addr,
                    net.prefix_len()
                ),
            );
        }
        if let Some(vpc) = vpc.filter(|vpc| vpc.existing.is_none()) {
            if let Some(IpNet::V4(block)) = parse_net(vpc.str_attr("cidr")) {
                if !block.contains(&net) {
                    v.err(
                        r,
                        "cidr",
                        format!(
                            "{}: {net} is outside its VPC's block {block} ({})",
                            r.addr, vpc.addr
                        ),
                    )
                    .label("outside the VPC")
                    .hint(format!("pick a block inside {block}"));
                }
            }
            if let Some(Value::Int(i)) = r.attrs.get("ipv6_index") {
                if !vpc.bool_attr("ipv6") {
                    v.err(
                        r,
                        "ipv6_index",
                        format!(
                            "{}: ipv6_index is set, but {} has no IPv6 block",
                            r.addr, vpc.addr
                        ),
                    )
                    .fix(crate::fix::Fix::set(
                        vpc.origin.as_ref().unwrap_or(&vpc.addr),
                        "ipv6",
                        "true",
                    ));
                }
                v6_by_vpc.entry((vpc.addr.clone(), *i)).or_default().push(r);
            }
        }
        if let Some(a) = vpc_addr {
            by_vpc.entry(a).or_default().push((r, net));
        }
    }
    // Overlaps: sort by first address; any overlap shows between neighbours in a sweep that tracks
    // the subnet reaching furthest so far.
    let mut overlaps = Vec::new();
    for subnets in by_vpc.values_mut() {
        subnets.sort_by_key(|(r, n)| {
            (
                u32::from(n.network()),
                std::cmp::Reverse(n.prefix_len()),
                r.addr.clone(),
            )
        });
        let mut reach: Option<(&Resource, ipnet::Ipv4Net)> = None;
        for (r, n) in subnets.iter() {
            if let Some((pr, pn)) = reach {
                if u32::from(n.network()) <= u32::from(pn.broadcast()) {
                    overlaps.push(((*r).clone(), *n, pr.addr.clone(), pn));
                }
            }
            if reach.is_none_or(|(_, pn)| u32::from(n.broadcast()) > u32::from(pn.broadcast())) {
                reach = Some((r, *n));
            }
        }
    }
    for (r, n, other, on) in overlaps {
        v.err(
            &r,
            "cidr",
            format!("{}: {n} overlaps {other} ({on})", r.addr),
        )
        .label("overlaps")
        .hint("subnets of one VPC need disjoint blocks");
    }
    for ((vpc, i), subs) in v6_by_vpc {
        if subs.len() > 1 {
            let names: Vec<String> = subs.iter().map(|s| s.addr.to_string()).collect();
            v.err(
                subs[1],
                "ipv6_index",
                format!("ipv6_index {i} of {vpc} is used by {}", names.join(" and ")),
            )
            .hint("each subnet needs its own /64 number");
        }
    }
}

fn route_tables(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    let mut owner: HashMap<&ResourceAddr, &Resource> = HashMap::new();
    for rt in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::RouteTable && r.existing.is_none())
    {
        let rt_vpc = rt.ref_attr("vpc").cloned();
        for (i, s) in rt.ref_list("subnets").into_iter().enumerate() {
            if let Some(prev) = owner.insert(s, rt) {
                v.err(
                    rt,
                    &format!("subnets[{i}]"),
                    format!("{s} is associated with both {} and {}", prev.addr, rt.addr),
                )
                .hint("a subnet has exactly one route table; remove it from one of them");
            }
            if let (Some(sub), Some(rv)) = (ex.resources.get(s), &rt_vpc) {
                if let Some(sv) = v.vpc_of(sub) {
                    if &sv != rv {
                        v.err(
                            rt,
                            &format!("subnets[{i}]"),
                            format!(
                                "{}: {s} is in {sv}, but the route table is in {rv}",
                                rt.addr
                            ),
                        );
                    }
                }
            }
        }
        let mut dests: BTreeMap<String, usize> = BTreeMap::new();
        for (i, route) in rt
            .attrs
            .get("routes")
            .map(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .enumerate()
        {
            let Value::Map(m) = route else { continue };
            let dest = m.get("destination").and_then(Value::as_str);
            let target = m
                .get("target")
                .and_then(Value::as_ref)
                .map(|r| r.addr.clone());
            let path = format!("routes[{i}]");
            if let Some(d) = dest {
                if let Some(prev) = dests.insert(d.to_string(), i) {
                    v.err(
                        rt,
                        &format!("{path}.destination"),
                        format!("{}: routes[{prev}] and routes[{i}] both route {d}", rt.addr),
                    )
                    .hint("a route table holds one route per destination");
                }
            }
            let (Some(d), Some(t)) = (parse_net(dest), target) else {
                continue;
            };
            let ok = match (&d, t.kind) {
                (IpNet::V4(_), Kind::EgressOnlyInternetGateway) => Err("an egress-only internet gateway carries IPv6 only"),
                (IpNet::V6(_), Kind::NatGateway) => Err("a NAT gateway carries IPv4 only (use an egress-only internet gateway for ::/0)"),
                (IpNet::V6(_), Kind::NatInstance) => Err("a NAT instance carries IPv4 only (use an egress-only internet gateway for ::/0)"),
                _ => Ok(()),
            };
            if let Err(why) = ok {
                v.err(
                    rt,
                    &format!("{path}.target"),
                    format!("{}: route {d} → {t}: {why}", rt.addr),
                )
                .label("wrong target for this destination");
            }
            if let (Some(tr), Some(rv)) = (ex.resources.get(&t), &rt_vpc) {
                if let Some(tv) = v.vpc_of(tr) {
                    if &tv != rv {
                        v.err(
                            rt,
                            &format!("{path}.target"),
                            format!(
                                "{}: {t} is in {tv}, but the route table is in {rv}",
                                rt.addr
                            ),
                        );
                    }
                }
            }
        }
    }
    for ep in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::VpcEndpoint)
    {
        let ev = ep.ref_attr("vpc").cloned();
        for (i, t) in ep.ref_list("route_tables").into_iter().enumerate() {
            if let (Some(rt), Some(ev)) = (ex.resources.get(t), &ev) {
                if let Some(tv) = v.vpc_of(rt) {
                    if &tv != ev {
                        v.err(
                            ep,
                            &format!("route_tables[{i}]"),
                            format!("{}: {t} is in {tv}, not {ev}", ep.addr),
                        );
                    }
                }
            }
        }
    }
}

/// One Elastic IP serves one NAT (gateway or instance).
fn one_nat_per_elastic_ip(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    let mut eips: HashMap<&ResourceAddr, &Resource> = HashMap::new();
    for nat in ex
        .resources
        .values()
        .filter(|r| matches!(r.addr.kind, Kind::NatGateway | Kind::NatInstance))
    {
        if let Some(e) = nat.ref_attr("elastic_ip") {
            if let Some(prev) = eips.insert(e, nat) {
                v.err(
                    nat,
                    "elastic_ip",
                    format!("{e} is used by both {} and {}", prev.addr, nat.addr),
                )
                .hint("each NAT needs its own Elastic IP");
            }
        }
    }
}

/// A NAT instance's type names an instance type, and it forwards for someone.
fn nat_instances(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    for nat in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::NatInstance && r.existing.is_none())
    {
        if let Some(ty) = nat.str_attr("instance_type") {
            if !valid_instance_type(ty) {
                let path = if nat.spans.contains_key("instance_type") {
                    "instance_type"
                } else {
                    "nat_instance_type"
                };
                v.err(
                    nat,
                    path,
                    format!("{}: `{ty}` is not an EC2 instance type", nat.addr),
                )
                .hint("e.g. t4g.nano (Graviton, the cheapest) or t3.nano");
            }
        }
        if nat
            .attrs
            .get("allow_from")
            .map(Value::as_list)
            .is_some_and(<[Value]>::is_empty)
        {
            v.err(
                nat,
                "allow_from",
                format!(
                    "{}: `allow_from` is empty, so it forwards nothing",
                    nat.addr
                ),
            )
            .hint("allow_from = [\"subnet.private_a\"]   # or CIDR blocks");
        }
    }
}

/// `family.size`: `t4g.nano`, `c7gn.16xlarge`, `m5.metal`.
pub(crate) fn valid_instance_type(ty: &str) -> bool {
    let Some((family, size)) = ty.split_once('.') else {
        return false;
    };
    let lower_alnum = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    lower_alnum(family)
        && lower_alnum(size)
        && family.starts_with(|c: char| c.is_ascii_lowercase())
        && family.chars().any(|c| c.is_ascii_digit())
}

/// Port ranges run upwards.
fn security_group_rules(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    for sg in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::SecurityGroup)
    {
        for dir in ["egress", "ingress"] {
            for (i, rule) in sg
                .attrs
                .get(dir)
                .map(Value::as_list)
                .unwrap_or(&[])
                .iter()
                .enumerate()
            {
                let Value::Map(m) = rule else { continue };
                let from = m.get("from_port").and_then(Value::as_int);
                let to = m.get("to_port").and_then(Value::as_int);
                if let (Some(f), Some(t)) = (from, to) {
                    if f > t {
                        v.err(
                            sg,
                            &format!("{dir}[{i}].from_port"),
                            format!(
                                "{}: {dir}[{i}] has from_port {f} above to_port {t}",
                                sg.addr
                            ),
                        );
                    }
                }
            }
        }
    }
}

/// A function's subnets and security groups belong to one VPC, and groups come with subnets.
fn function_placement(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    for f in ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::LambdaFunction)
    {
        let vpcs: BTreeSet<ResourceAddr> = f
            .ref_list("subnets")
            .into_iter()
            .chain(f.ref_list("security_groups"))
            .filter_map(|a| ex.resources.get(a))
            .filter_map(|r| v.vpc_of(r))
            .collect();
        if vpcs.len() > 1 {
            let names: Vec<String> = vpcs.iter().map(|a| a.to_string()).collect();
            v.err(
                f,
                "subnets",
                format!(
                    "{}: its subnets and security groups span several VPCs ({})",
                    f.addr,
                    names.join(", ")
                ),
            )
            .hint("a function attaches to one VPC");
        }
        if !f.ref_list("security_groups").is_empty() && f.ref_list("subnets").is_empty() {
            v.err(
                f,
                "security_groups",
                format!("{}: security groups without subnets", f.addr),
            )
            .hint("list the private subnets the function attaches to");
        }
    }
}

/// `detach_vpc_policy_after_create` takes the VPC access policy off the function's role once the
/// function is Active: only a role this stack makes, and only for one function — another function's
/// network interfaces need the policy while they are made (and a role given by ARN is not netplan's to
/// change).
fn least_privilege(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    let functions: Vec<&Resource> = ex
        .resources
        .values()
        .filter(|r| r.addr.kind == Kind::LambdaFunction)
        .collect();
    for f in functions
        .iter()
        .filter(|f| f.bool_attr("detach_vpc_policy_after_create"))
    {
        match f.ref_attr("role") {
            None => {
                v.err(
                    f,
                    "detach_vpc_policy_after_create",
                    format!(
                        "{}: detach_vpc_policy_after_create changes the function's role, and its role is given by ARN: netplan does not change a role it does not make",
                        f.addr
                    ),
                )
                .hint("let netplan make the role (leave `role` out), or detach the policy from that role yourself");
            }
            Some(role) => {
                let sharing: Vec<String> = functions
                    .iter()
                    .filter(|o| o.addr != f.addr && o.ref_attr("role") == Some(role))
                    .map(|o| o.addr.to_string())
                    .collect();
                if !sharing.is_empty() {
                    v.err(
                        f,
                        "detach_vpc_policy_after_create",
                        format!(
                            "{}: detach_vpc_policy_after_create would take the VPC access policy off {role}, which {} also use{}: their network interfaces need it while they are made",
                            f.addr,
                            sharing.join(", "),
                            if sharing.len() == 1 { "s" } else { "" }
                        ),
                    )
                    .hint("give the function a role of its own, or leave the policy attached");
                }
            }
        }
    }
}

/// Names AWS requires unique (per account, or per VPC for security groups) and well formed.
fn unique_names(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    for (kind, scope) in [
        (Kind::LambdaFunction, false),
        (Kind::IamRole, false),
        (Kind::SecurityGroup, true),
    ] {
        let mut seen: HashMap<(Option<ResourceAddr>, String), &Resource> = HashMap::new();
        for r in ex.resources.values().filter(|r| r.addr.kind == kind) {
            let Some(name) = r.str_attr("name") else {
                continue;
            };
            // IAM names are unique regardless of case: `Probe` and `probe` are one role.
            let folded = if kind == Kind::IamRole {
                name.to_lowercase()
            } else {
                name.to_string()
            };
            let key = (if scope { v.vpc_of(r) } else { None }, folded);
            if let Some(prev) = seen.insert(key, r) {
                let theirs = prev.str_attr("name").unwrap_or_default();
                let msg = if theirs == name {
                    format!("{} and {} both have the name `{name}`", prev.addr, r.addr)
                } else {
                    format!(
                        "{} and {} have the names `{theirs}` and `{name}`, which IAM does not tell apart (names are case-insensitive)",
                        prev.addr, r.addr
                    )
                };
                v.err(r, "name", msg)
                    .hint("AWS requires these names to be unique; set `name` on one of them");
            }
        }
        if kind == Kind::LambdaFunction || kind == Kind::IamRole {
            for r in ex.resources.values().filter(|r| r.addr.kind == kind) {
                if let Some(name) = r.str_attr("name") {
                    let max = 64;
                    if name.len() > max
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_+=,.@".contains(c))
                    {
                        v.err(
                            r,
                            "name",
                            format!("{}: `{name}` is not a valid {} name", r.addr, kind),
                        )
                        .hint("up to 64 letters, digits and -_ (roles also +=,.@)");
                    }
                }
            }
        }
    }
}

fn cycles(v: &mut Validator<'_, '_, '_>) {
    let ex = v.ex;
    let high: BTreeMap<&ResourceAddr, &Vec<ResourceAddr>> = ex.expansions.iter().collect();
    let resources: Vec<Resource> = ex
        .resources
        .values()
        .map(|r| {
            let mut r = r.clone();
            r.depends_on = super::expand_depends(&r.depends_on, &high);
            r
        })
        .collect();
    if let Err(cycle) = crate::graph::Graph::build(resources.iter()) {
        let first = ex.resources.get(&cycle[0]);
        let names: Vec<String> = cycle.iter().map(|a| a.to_string()).collect();
        let span = first.map(|r| {
            r.spans
                .get("depends_on")
                .cloned()
                .unwrap_or(r.header.clone())
        });
        v.p.err(
            span,
            format!("dependency cycle: {} → {}", names.join(" → "), names[0]),
        )
        .label("part of a cycle")
        .hint("break the cycle by removing one of these references or depends_on entries");
    }
}
