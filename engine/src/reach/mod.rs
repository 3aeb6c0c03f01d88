//! Reachability: proves, from the expanded config alone, that each function can reach the internet, or
//! names the first component that blocks it, why, and the TOML that fixes it.
//!
//! The model follows a packet from each of the function's subnets: the subnet's effective route table
//! (an explicit association, else the VPC's main table, which netplan never gives routes), the longest
//! prefix match for an internet address (a gateway endpoint's prefix-list route never matches it), the
//! target (internet gateway: the subnet is public, and Lambda's interfaces have no public address; NAT
//! gateway or NAT instance: follow it into its subnet, whose table must send the address to an internet
//! gateway of the same VPC — and an instance must forward (source/destination check off), admit the
//! function's subnet, have a public address and run; egress-only gateway: IPv6 only), then the security
//! groups' egress, and the role's permission to create network interfaces. Dual-stack functions get the
//! same walk for IPv6; `internet = "ipv6"` functions get only that one.

use crate::addr::{Kind, ResourceAddr};
use crate::config::Config;
use crate::diag::{Diagnostic, Diagnostics, Severity};
use crate::resource::Resource;
use crate::schema::VPC_ACCESS_POLICY;
use crate::value::Value;
use ipnet::IpNet;
use serde::Serialize;
use std::collections::BTreeMap;
use std::net::IpAddr;

mod fixes;
mod stops;
use crate::fix::Fix;
use fixes::Remedy;
use stops::{acls_allow, instance_forwards};

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Error: the function cannot reach the internet this way; warning: it can, with a weakness.
    pub level: Severity,
    pub function: ResourceAddr,
    /// The component that blocks (or is concerned).
    pub component: ResourceAddr,
    pub message: String,
    /// What fixes it, in the config's own vocabulary: the first, then alternatives.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
    /// The fixes as text (what `check` prints).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
    /// The high-level setting that causes it (`network.main has nat_gateways = "none"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub because: Option<String>,
    /// What to do when no single edit fixes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One walk from one subnet for one address family.
#[derive(Debug, Clone, Serialize)]
pub struct Path {
    pub subnet: ResourceAddr,
    pub family: &'static str,
    pub reaches: bool,
    /// The hops as text: `subnet.a → route_table.a → 0.0.0.0/0 → nat_gateway.a in subnet.p → …`.
    pub hops: Vec<String>,
    /// The subnet of the NAT gateway the path goes through.
    #[serde(skip)]
    pub nat_subnet: Option<ResourceAddr>,
}

/// What a function's `internet` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Internet {
    /// `internet = false`: findings are information.
    Off,
    /// `true` (the default): IPv4, and IPv6 too when dual-stack.
    On,
    /// `"ipv6"`: IPv6 only, through an egress-only gateway; IPv4 destinations unreachable by design.
    Ipv6Only,
}

impl Internet {
    pub fn of(r: &Resource) -> Internet {
        match r.attrs.get("internet") {
            Some(Value::Bool(false)) => Internet::Off,
            Some(Value::Str(s)) if s == "ipv6" => Internet::Ipv6Only,
            _ => Internet::On,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub function: ResourceAddr,
    /// The function asks for internet access (`internet = true`, the default, or `"ipv6"`).
    pub internet: bool,
    /// `internet = "ipv6"`: only the IPv6 path is asked for.
    pub ipv6_only: bool,
    pub ipv4: bool,
    /// `None` when the function is not dual-stack.
    pub ipv6: Option<bool>,
    pub paths: Vec<Path>,
    pub findings: Vec<Finding>,
}

impl Verdict {
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.level == Severity::Error)
    }
}

/// An address on the internet for each family (aws.amazon.com's ranges).
const V4: &str = "52.94.236.248";
const V6: &str = "2600:9000:2000::1";

struct Model<'c> {
    c: &'c Config,
    /// Set while the model walks other subnets to find a fix (which subnets would reach): their
    /// findings are not reported, and need no fix of their own.
    probing: std::cell::Cell<bool>,
}

impl<'c> Model<'c> {
    fn new(c: &'c Config) -> Model<'c> {
        Model {
            c,
            probing: std::cell::Cell::new(false),
        }
    }
}

impl<'c> Model<'c> {
    fn get(&self, a: &ResourceAddr) -> Option<&'c Resource> {
        self.c.resources.get(a)
    }

    fn vpc_of_subnet(&self, s: &ResourceAddr) -> Option<ResourceAddr> {
        self.get(s).and_then(|r| r.ref_attr("vpc").cloned())
    }

    /// A resource found in the account (`check --live`) that the config does not declare.
    fn discovered(&self, a: &ResourceAddr) -> bool {
        self.get(a).is_some_and(|r| r.bool_attr("discovered"))
    }

    /// The subnet's effective route table: an explicit association (the config's before the account's),
    /// else its VPC's main table (known only from the account: netplan never declares one).
    fn table_of(&self, subnet: &ResourceAddr) -> Option<&'c Resource> {
        self.associated(Kind::RouteTable, subnet, "main")
    }

    /// The subnet's network ACL: an explicit association (the config's first), else its VPC's default
    /// ACL; `None` when neither is known (a VPC's default ACL allows everything).
    fn acl_of(&self, subnet: &ResourceAddr) -> Option<&'c Resource> {
        self.associated(Kind::NetworkAcl, subnet, "default")
    }

    /// The object of `kind` a subnet is associated with: the config's explicit association, else the
    /// account's, else its VPC's object flagged `fallback` (the main table, the default ACL).
    fn associated(
        &self,
        kind: Kind,
        subnet: &ResourceAddr,
        fallback: &str,
    ) -> Option<&'c Resource> {
        let explicit = |discovered: bool| {
            self.c.of_kind(kind).find(|t| {
                t.bool_attr("discovered") == discovered && t.ref_list("subnets").contains(&subnet)
            })
        };
        explicit(false).or_else(|| explicit(true)).or_else(|| {
            let vpc = self.vpc_of_subnet(subnet)?;
            self.c
                .of_kind(kind)
                .find(|t| t.bool_attr(fallback) && t.ref_attr("vpc") == Some(&vpc))
        })
    }

    /// Longest-prefix match of `dest` among the table's routes: (destination, target). A target netplan
    /// does not model (peering, transit gateway, an instance) is `Err(its id)`.
    fn lookup(
        &self,
        table: &Resource,
        dest: IpAddr,
    ) -> Option<(IpNet, Result<ResourceAddr, String>)> {
        table
            .list_attr("routes")
            .iter()
            .filter_map(|r| match r {
                Value::Map(m) => {
                    let net = m.get("destination")?.as_str()?.parse::<IpNet>().ok()?;
                    let target = match m.get("target")? {
                        Value::Ref(r) => Ok(r.addr.clone()),
                        Value::Str(s) => Err(s.clone()),
                        _ => return None,
                    };
                    Some((net, target))
                }
                _ => None,
            })
            .filter(|(net, _)| net.contains(&dest))
            .max_by_key(|(net, _)| net.prefix_len())
    }

    /// A subnet of `vpc` whose table sends 0.0.0.0/0 to an internet gateway, preferring `az`.
    fn public_subnet(&self, vpc: &ResourceAddr, az: Option<&str>) -> Option<&'c Resource> {
        let dest: IpAddr = V4.parse().expect("constant");
        let mut public: Vec<&Resource> = self
            .c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == Some(vpc))
            .filter(|s| {
                self.table_of(&s.addr)
                    .and_then(|t| self.lookup(t, dest))
                    .is_some_and(|(_, t)| t.is_ok_and(|t| t.kind == Kind::InternetGateway))
            })
            .collect();
        public.sort_by_key(|s| s.str_attr("az") != az);
        public.first().copied()
    }

    fn az(&self, subnet: &ResourceAddr) -> Option<&'c str> {
        self.get(subnet).and_then(|r| r.str_attr("az"))
    }
}

fn family_name(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

fn default_route(v6: bool) -> &'static str {
    if v6 {
        "::/0"
    } else {
        "0.0.0.0/0"
    }
}

/// Whether the subnet's effective route table sends 0.0.0.0/0 to an internet gateway.
pub fn is_public(config: &Config, subnet: &ResourceAddr) -> bool {
    let m = Model::new(config);
    let dest: IpAddr = V4.parse().expect("constant");
    m.table_of(subnet)
        .and_then(|t| m.lookup(t, dest))
        .is_some_and(|(_, t)| t.is_ok_and(|t| t.kind == Kind::InternetGateway))
}

/// Findings with one cause — the same fix (or, without one, the same message) — whichever functions
/// and subnets they concern: what the gate, `check` and the map each say once.
#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub level: Severity,
    /// The functions it stops (or weakens), in order.
    pub functions: Vec<ResourceAddr>,
    pub component: ResourceAddr,
    /// What is wrong, the findings' messages merged, after the high-level setting that causes it.
    pub message: String,
    /// The fixes: the first, then alternatives (alternatives that fix each function on its own —
    /// `internet = "ipv6"` — edit every function concerned).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fixes: Vec<Fix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The findings grouped by cause, in the order they were found.
pub fn causes(findings: impl IntoIterator<Item = Finding>) -> Vec<Cause> {
    let mut groups: Vec<Vec<Finding>> = vec![];
    for f in findings {
        let same = |g: &Finding| {
            g.level == f.level
                && if f.fixes.is_empty() {
                    g.fixes.is_empty() && g.message == f.message
                } else {
                    g.fixes.first() == f.fixes.first()
                }
        };
        match groups.iter_mut().find(|g| g.first().is_some_and(same)) {
            Some(g) => g.push(f),
            None => groups.push(vec![f]),
        }
    }
    groups
        .into_iter()
        .map(|group| {
            let first = &group[0];
            let mut functions: Vec<ResourceAddr> = vec![];
            let mut messages: Vec<&str> = vec![];
            for f in &group {
                if !functions.contains(&f.function) {
                    functions.push(f.function.clone());
                }
                if !messages.contains(&f.message.as_str()) {
                    messages.push(&f.message);
                }
            }
            let mut fixes: Vec<Fix> = first.fixes.clone();
            for f in &group[1..] {
                for (i, alt) in f.fixes.iter().enumerate().skip(1) {
                    if let (Some(Fix::Edit { edits }), Fix::Edit { edits: more }) =
                        (fixes.get_mut(i), alt)
                    {
                        for e in more {
                            if !edits.contains(e) {
                                edits.push(e.clone());
                            }
                        }
                    }
                }
            }
            Cause {
                level: first.level,
                component: first.component.clone(),
                message: format!(
                    "{}{}",
                    first
                        .because
                        .as_ref()
                        .map(|b| format!("{b}, so "))
                        .unwrap_or_default(),
                    merged(&messages)
                ),
                functions,
                fixes,
                note: first.note.clone(),
            }
        })
        .collect()
}

/// The reachability gate: every finding at warning level or above as a diagnostic, one per cause
/// (not one per function and subnet), placed at the line its fix changes (else at the first function
/// it concerns). Errors (a function with `internet` on and no path out) refuse validate, plan and
/// apply; `destroy` does not run it.
pub fn gate(config: &Config) -> Diagnostics {
    let m = Model::new(config);
    let found = check(config)
        .into_iter()
        .flat_map(|v| v.findings)
        .filter(|f| f.level >= Severity::Warning);
    let mut out = Diagnostics::default();
    for cause in causes(found) {
        let functions: Vec<String> = cause.functions.iter().map(|f| f.to_string()).collect();
        let message = format!("{}: {}", list(&functions), cause.message);
        let mut d = if cause.level == Severity::Error {
            Diagnostic::error(message)
        } else {
            Diagnostic::warning(message)
        };
        let place = cause
            .fixes
            .first()
            .and_then(|fix| match fix {
                Fix::Edit { edits } => edits.iter().find_map(|e| Some((e.table()?, e.key()?))),
                Fix::Run { .. } => None,
            })
            .and_then(|(table, key)| m.place_of(table, key));
        let at_function = place.is_none();
        d.at(place.or_else(|| config.location_of(&cause.functions[0], "subnets")))
            .resource(&cause.component)
            .label(if at_function {
                "this function"
            } else {
                "this setting"
            });
        for fix in &cause.fixes {
            d.fix(fix.clone());
        }
        let mut hint = cause.note.clone().unwrap_or_default();
        if cause.level == Severity::Error {
            if !hint.is_empty() {
                hint.push('\n');
            }
            hint.push_str("(or set internet = false if the function needs no internet; `netplan check` shows the paths)");
        } else if hint.is_empty() && cause.fixes.is_empty() {
            hint.push_str("`netplan check` shows the paths");
        }
        if !hint.is_empty() {
            d.hint(hint);
        }
        out.push(d);
    }
    out
}

/// `a`, `a and b`, `a, b and c`.
fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// Messages that differ only in their last word (`… for subnet.a`, `… for subnet.b`) as one
/// (`… for subnet.a and subnet.b`); others joined.
fn merged(messages: &[&str]) -> String {
    if messages.len() == 1 {
        return messages[0].to_string();
    }
    let split: Vec<(&str, &str)> = messages.iter().filter_map(|m| m.rsplit_once(' ')).collect();
    if split.len() == messages.len() && split.iter().all(|(head, _)| *head == split[0].0) {
        let tails: Vec<String> = split.iter().map(|(_, t)| t.to_string()).collect();
        return format!("{} {}", split[0].0, list(&tails));
    }
    messages.join("; ")
}

/// Checks every VPC-attached function of the config.
pub fn check(config: &Config) -> Vec<Verdict> {
    let m = Model::new(config);
    config
        .of_kind(Kind::LambdaFunction)
        .filter(|f| !f.ref_list("subnets").is_empty() && f.existing.is_none())
        .map(|f| check_function(&m, f))
        .collect()
}

fn check_function(m: &Model<'_>, f: &Resource) -> Verdict {
    let mode = Internet::of(f);
    let internet = mode != Internet::Off;
    let dual = f.bool_attr("ipv6_dual_stack");
    let mut findings = vec![];
    let mut paths = vec![];
    let subnets: Vec<ResourceAddr> = f.ref_list("subnets").into_iter().cloned().collect();
    let mut add = |level: Severity, component: &ResourceAddr, message: String, r: Remedy| {
        let text = crate::fix::hint(&r.fixes);
        let finding = Finding {
            level,
            function: f.addr.clone(),
            component: component.clone(),
            message,
            fixes: r.fixes,
            fix: text,
            because: r.because,
            note: r.note,
        };
        // One path per subnet can meet the same cause twice (both families): said once.
        if !findings.iter().any(|g: &Finding| {
            g.level == finding.level && g.message == finding.message && g.fixes == finding.fixes
        }) {
            findings.push(finding);
        }
    };
    // The families the function must reach the internet over.
    let families: Vec<bool> = match mode {
        Internet::Ipv6Only => vec![true],
        _ if dual => vec![false, true],
        _ => vec![false],
    };
    if mode == Internet::Ipv6Only {
        if !dual {
            add(
                Severity::Error,
                &f.addr,
                "internet = \"ipv6\" needs a dual-stack function, and this one has no IPv6 (ipv6_dual_stack is off)".into(),
                m.dual_stack_remedy(f),
            );
        }
        add(
            Severity::Info,
            &f.addr,
            "internet = \"ipv6\": IPv4 destinations are not reachable, by design (no NAT); IPv6 hosts are".into(),
            Remedy::none(),
        );
    }

    for &v6 in &families {
        if v6 && !dual {
            continue;
        }
        let dest: IpAddr = if v6 {
            V6.parse().expect("constant")
        } else {
            V4.parse().expect("constant")
        };
        for s in &subnets {
            let mut path = walk(m, s, dest, v6, f, &mut add);
            if path.reaches {
                path.reaches = acls_allow(m, &path, dest, &mut add);
            }
            paths.push(path);
        }
    }

    // Security groups: some group must allow egress to the internet for each family used.
    let groups: Vec<&Resource> = f
        .ref_list("security_groups")
        .into_iter()
        .filter_map(|g| m.get(g))
        .collect();
    for &v6 in &families {
        if v6 && !dual {
            continue;
        }
        let allows = groups.iter().any(|g| {
            g.existing.is_some()
                || g.list_attr("egress").iter().any(|r| match r {
                    Value::Map(r) => {
                        let proto = r.get("protocol").and_then(Value::as_str).unwrap_or("");
                        let cidr = r
                            .get("cidr")
                            .and_then(Value::as_str)
                            .and_then(|c| c.parse::<IpNet>().ok());
                        let port_ok = match proto {
                            "all" | "-1" => true,
                            "tcp" => {
                                let from = r.get("from_port").and_then(Value::as_int).unwrap_or(0);
                                let to = r.get("to_port").and_then(Value::as_int).unwrap_or(65535);
                                from <= 443 && 443 <= to
                            }
                            _ => false,
                        };
                        port_ok
                            && cidr.is_some_and(|c| {
                                c.prefix_len() == 0 && matches!(c, IpNet::V6(_)) == v6
                            })
                    }
                    _ => false,
                })
        });
        if !allows {
            let component = groups
                .first()
                .map(|g| g.addr.clone())
                .unwrap_or_else(|| f.addr.clone());
            let remedy = m.egress_remedy(f, &groups, v6);
            add(Severity::Error, &component, format!("no security group of the function allows outbound {} traffic to the internet (HTTPS, 443)", family_name(v6)), remedy);
        }
    }

    // The role must let Lambda create the function's network interfaces.
    if let Some(Value::Ref(r)) = f.attrs.get("role") {
        if let Some(role) = m.get(&r.addr).filter(|role| role.existing.is_none()) {
            let policies: Vec<&str> = role
                .list_attr("managed_policies")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let enough = policies.iter().any(|p| {
                *p == VPC_ACCESS_POLICY
                    || p.ends_with("/AWSLambdaENIManagementAccess")
                    || p.ends_with("/AdministratorAccess")
            });
            // Removed on purpose once the function was made (least privilege): not needed to run it.
            let detached =
                f.bool_attr("detach_vpc_policy_after_create") && f.attrs.contains_key("id");
            if !enough && detached {
                add(Severity::Info, &role.addr, format!("{} no longer has the network-interface permissions (detach_vpc_policy_after_create): the function runs, but changing its VPC settings needs them back", role.addr), Remedy::none());
            } else if !enough {
                add(Severity::Error, &role.addr, format!("{} lacks the permissions to create the function's network interfaces (ec2:CreateNetworkInterface …)", role.addr), m.role_remedy(&role.addr));
            }
        }
    }

    // Names: without the VPC's DNS resolver the function cannot look up what it calls.
    let vpcs: std::collections::BTreeSet<ResourceAddr> =
        subnets.iter().filter_map(|s| m.vpc_of_subnet(s)).collect();
    for vpc in vpcs {
        let Some(v) = m.get(&vpc) else { continue };
        if v.attrs.get("dns_support").and_then(Value::as_bool) == Some(false) {
            let remedy = m.dns_remedy(&vpc);
            add(Severity::Error, &vpc, format!("{vpc} has DNS resolution off: the function cannot resolve the names it calls (aws.amazon.com), so it reaches no one by name"), remedy);
        }
    }

    // Availability.
    let azs: std::collections::BTreeSet<&str> = subnets.iter().filter_map(|s| m.az(s)).collect();
    if azs.len() == 1
        && subnets
            .iter()
            .all(|s| m.get(s).is_some_and(|r| r.existing.is_none()))
    {
        add(Severity::Warning, &f.addr, format!("all of the function's subnets are in one availability zone ({}): use two or more for availability", azs.iter().next().expect("one")), m.single_az_remedy(f));
    }

    if !internet {
        // `internet = false` states the intent: reachability findings are information.
        for finding in findings.iter_mut() {
            if finding.level == Severity::Error {
                finding.level = Severity::Info;
            }
        }
    }
    let reaches = |v6: bool| {
        let of_family: Vec<&Path> = paths
            .iter()
            .filter(|p| (p.family == "IPv6") == v6)
            .collect();
        !of_family.is_empty() && of_family.iter().all(|p| p.reaches)
    };
    Verdict {
        function: f.addr.clone(),
        internet,
        ipv6_only: mode == Internet::Ipv6Only,
        ipv4: reaches(false),
        ipv6: (dual || mode == Internet::Ipv6Only).then(|| reaches(true)),
        findings,
        paths,
    }
}

/// Where findings go: level, component, message, what fixes it.
type Report<'a> = &'a mut dyn FnMut(Severity, &ResourceAddr, String, Remedy);

/// Follows one packet of function `f` from `subnet` to `dest`; reports what blocks it through `add`.
fn walk(
    m: &Model<'_>,
    subnet: &ResourceAddr,
    dest: IpAddr,
    v6: bool,
    f: &Resource,
    add: Report<'_>,
) -> Path {
    let family = family_name(v6);
    let mut hops = vec![subnet.to_string()];
    let path = |reaches: bool, hops: Vec<String>| Path {
        subnet: subnet.clone(),
        family,
        reaches,
        hops,
        nat_subnet: None,
    };
    let Some(sub) = m.get(subnet) else {
        return path(false, hops);
    };
    if v6
        && sub.existing.is_none()
        && !sub.attrs.contains_key("ipv6_index")
        && !sub.attrs.contains_key("ipv6_cidr_block")
    {
        add(
            Severity::Error,
            subnet,
            format!("the function is dual-stack, but {subnet} has no IPv6 block"),
            m.ipv6_block_remedy(subnet, f),
        );
        return path(false, hops);
    }
    let Some(table) = m.table_of(subnet) else {
        if sub.existing.is_some() {
            add(Severity::Warning, subnet, format!("{subnet} is an existing subnet with no route table in the config: its routes are unknown until `netplan check --live`"), Remedy::none());
        } else {
            add(Severity::Error, subnet, format!("{subnet} has no route table, so it uses the VPC's main table, which has no route to {}", default_route(v6)), m.route_remedy(subnet, v6, f));
        }
        return path(false, hops);
    };
    hops.push(if table.bool_attr("main") {
        format!("{} (main)", table.addr)
    } else {
        table.addr.to_string()
    });
    let Some((net, target)) = m.lookup(table, dest) else {
        if m.discovered(&table.addr) || table.bool_attr("main") {
            // Not netplan's table: the fix is a table of the config's own, with the route.
            add(
                Severity::Error,
                &table.addr,
                format!(
                    "{} ({}) has no route to {}",
                    table.addr,
                    if table.bool_attr("main") {
                        format!("the VPC's main table, which {subnet} uses")
                    } else {
                        format!("the route table of {subnet}")
                    },
                    default_route(v6)
                ),
                m.route_remedy(subnet, v6, f),
            );
            return path(false, hops);
        }
        add(
            Severity::Error,
            &table.addr,
            format!(
                "{} has no route to {} for {subnet}",
                table.addr,
                default_route(v6)
            ),
            m.route_remedy(subnet, v6, f),
        );
        return path(false, hops);
    };
    hops.push(net.to_string());
    let target = match target {
        Ok(t) => t,
        Err(id) if id.contains("blackhole") => {
            hops.push(id.clone());
            add(
                Severity::Error,
                &table.addr,
                format!("{} sends {net} to {id}", table.addr),
                m.route_remedy(subnet, v6, f),
            );
            return path(false, hops);
        }
        Err(id) => {
            hops.push(id.clone());
            add(
                Severity::Warning,
                &table.addr,
                format!("{} sends {net} to {id}, which netplan cannot follow (peering, transit gateway or an instance): the path is not proven", table.addr),
                Remedy::none(),
            );
            return path(false, hops);
        }
    };
    match target.kind {
        Kind::InternetGateway => {
            hops.push(target.to_string());
            add(
                Severity::Error,
                subnet,
                format!("{subnet} is a public subnet ({} sends {} to {target}): a function there gets no internet access, because Lambda's network interfaces have no public address", table.addr, net),
                m.public_subnet_remedy(f, subnet),
            );
            path(false, hops)
        }
        Kind::EgressOnlyInternetGateway if v6 => {
            hops.push(format!("{target} (egress-only)"));
            path(true, hops)
        }
        Kind::NatGateway | Kind::NatInstance if !v6 => {
            let Some(nat) = m.get(&target) else {
                return path(false, hops);
            };
            let Some(nat_subnet) = nat.ref_attr("subnet").cloned() else {
                return path(false, hops);
            };
            hops.push(format!("{target} in {nat_subnet}"));
            if target.kind == Kind::NatInstance {
                if !instance_forwards(m, nat, subnet, add) {
                    return path(false, hops);
                }
            } else if let Some(state) = nat.str_attr("state").filter(|s| *s != "available") {
                add(
                    Severity::Error,
                    &target,
                    format!("{target} is {state}, not available"),
                    m.route_remedy(subnet, v6, f),
                );
                return path(false, hops);
            }
            if m.az(&nat_subnet).is_some()
                && m.az(subnet).is_some()
                && m.az(&nat_subnet) != m.az(subnet)
            {
                add(Severity::Warning, &target, format!("{target} (in {}) serves {subnet} in {}: cross-AZ traffic costs extra and fails with that AZ", m.az(&nat_subnet).unwrap_or("?"), m.az(subnet).unwrap_or("?")), m.cross_az_remedy(&target));
            }
            let Some(nat_table) = m.table_of(&nat_subnet) else {
                if m.get(&nat_subnet).is_some_and(|s| s.existing.is_some()) {
                    add(Severity::Warning, &nat_subnet, format!("{target} sits in {nat_subnet}, an existing subnet with no route table in the config: whether it reaches an internet gateway is known only to `netplan check --live`"), Remedy::none());
                    return path(false, hops);
                }
                add(Severity::Error, &target, format!("{target} sits in {nat_subnet}, which has no route table with a route to an internet gateway"), m.nat_subnet_remedy(nat, &nat_subnet));
                return path(false, hops);
            };
            hops.push(nat_table.addr.to_string());
            match m
                .lookup(nat_table, dest)
                .and_then(|(net, t)| Some((net, t.ok()?)))
            {
                Some((net2, igw)) if igw.kind == Kind::InternetGateway => {
                    hops.push(net2.to_string());
                    let same_vpc =
                        m.get(&igw).and_then(|g| g.ref_attr("vpc")) == nat_table.ref_attr("vpc");
                    if !same_vpc {
                        hops.push(igw.to_string());
                        add(
                            Severity::Error,
                            &igw,
                            format!("{igw} is not attached to the VPC of {nat_subnet}"),
                            Remedy::none(),
                        );
                        return path(false, hops);
                    }
                    hops.push(format!("{igw} (attached)"));
                    Path {
                        nat_subnet: Some(nat_subnet),
                        ..path(true, hops)
                    }
                }
                _ => {
                    add(
                        Severity::Error,
                        &target,
                        format!("{target} sits in {nat_subnet}, which is not public: {} has no route from 0.0.0.0/0 to an internet gateway", nat_table.addr),
                        m.nat_subnet_remedy(nat, &nat_subnet),
                    );
                    path(false, hops)
                }
            }
        }
        _ => {
            hops.push(target.to_string());
            add(
                Severity::Error,
                &target,
                format!("{target} cannot carry {family} traffic to the internet"),
                Remedy::none(),
            );
            path(false, hops)
        }
    }
}
