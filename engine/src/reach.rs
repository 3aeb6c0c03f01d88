//! Reachability: proves, from the expanded config alone, that each function can reach the internet, or
//! names the first component that blocks it, why, and the TOML that fixes it.
//!
//! The model follows a packet from each of the function's subnets: the subnet's effective route table
//! (an explicit association, else the VPC's main table, which netplan never gives routes), the longest
//! prefix match for an internet address (a gateway endpoint's prefix-list route never matches it), the
//! target (internet gateway: the subnet is public, and Lambda's interfaces have no public address; NAT
//! gateway: follow it into its subnet, whose table must send the address to an internet gateway of the
//! same VPC; egress-only gateway: IPv6 only), then the security groups' egress, and the role's permission
//! to create network interfaces. Dual-stack functions get the same walk for IPv6.

use crate::addr::{Kind, ResourceAddr};
use crate::config::{Config, Resource};
use crate::schema::VPC_ACCESS_POLICY;
use crate::value::Value;
use ipnet::IpNet;
use serde::Serialize;
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub function: ResourceAddr,
    /// The component that blocks (or is concerned).
    pub component: ResourceAddr,
    pub message: String,
    /// TOML that fixes it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// One walk from one subnet for one address family.
#[derive(Debug, Clone, Serialize)]
pub struct Path {
    pub subnet: ResourceAddr,
    pub family: &'static str,
    pub reaches: bool,
    /// The hops as text: `subnet.a → route_table.a → 0.0.0.0/0 → nat_gateway.a in subnet.p → …`.
    pub hops: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub function: ResourceAddr,
    /// The function asks for internet access (`internet = true`, the default).
    pub internet: bool,
    pub ipv4: bool,
    /// `None` when the function is not dual-stack.
    pub ipv6: Option<bool>,
    pub paths: Vec<Path>,
    pub findings: Vec<Finding>,
}

impl Verdict {
    pub fn blocked(&self) -> bool {
        self.findings.iter().any(|f| f.level == Level::Error)
    }
}

/// An address on the internet for each family (aws.amazon.com's ranges).
const V4: &str = "52.94.236.248";
const V6: &str = "2600:9000:2000::1";

struct Model<'c> {
    c: &'c Config,
}

impl<'c> Model<'c> {
    fn get(&self, a: &ResourceAddr) -> Option<&'c Resource> {
        self.c.resources.get(a)
    }

    fn vpc_of_subnet(&self, s: &ResourceAddr) -> Option<ResourceAddr> {
        self.get(s).and_then(|r| r.ref_attr("vpc").cloned())
    }

    /// The route table associated with a subnet, if the config declares one.
    fn table_of(&self, subnet: &ResourceAddr) -> Option<&'c Resource> {
        self.c
            .of_kind(Kind::RouteTable)
            .find(|t| t.ref_list("subnets").contains(&subnet))
    }

    /// Longest-prefix match of `dest` among the table's routes: (destination, target).
    fn lookup(&self, table: &Resource, dest: IpAddr) -> Option<(IpNet, ResourceAddr)> {
        table
            .attrs
            .get("routes")
            .map(Value::as_list)
            .unwrap_or(&[])
            .iter()
            .filter_map(|r| match r {
                Value::Map(m) => Some((
                    m.get("destination")?.as_str()?.parse::<IpNet>().ok()?,
                    m.get("target")?.as_ref()?.addr.clone(),
                )),
                _ => None,
            })
            .filter(|(net, _)| net.contains(&dest))
            .max_by_key(|(net, _)| net.prefix_len())
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

/// Checks every VPC-attached function of the config.
pub fn check(config: &Config) -> Vec<Verdict> {
    let m = Model { c: config };
    config
        .of_kind(Kind::LambdaFunction)
        .filter(|f| !f.ref_list("subnets").is_empty() && f.existing.is_none())
        .map(|f| check_function(&m, f))
        .collect()
}

fn check_function(m: &Model<'_>, f: &Resource) -> Verdict {
    let internet = f
        .attrs
        .get("internet")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let dual = f.bool_attr("ipv6_dual_stack");
    let mut findings = vec![];
    let mut paths = vec![];
    let subnets: Vec<ResourceAddr> = f.ref_list("subnets").into_iter().cloned().collect();
    let mut add = |level: Level, component: &ResourceAddr, message: String, fix: Option<String>| {
        findings.push(Finding {
            level,
            function: f.addr.clone(),
            component: component.clone(),
            message,
            fix,
        });
    };

    for v6 in [false, true] {
        if v6 && !dual {
            continue;
        }
        let dest: IpAddr = if v6 {
            V6.parse().expect("constant")
        } else {
            V4.parse().expect("constant")
        };
        for s in &subnets {
            let path = walk(m, s, dest, v6, &mut add);
            paths.push(path);
        }
    }

    // Security groups: some group must allow egress to the internet for each family used.
    let groups: Vec<&Resource> = f
        .ref_list("security_groups")
        .into_iter()
        .filter_map(|g| m.get(g))
        .collect();
    for v6 in [false, true] {
        if v6 && !dual {
            continue;
        }
        let allows = groups.iter().any(|g| {
            g.existing.is_some()
                || g.attrs
                    .get("egress")
                    .map(Value::as_list)
                    .unwrap_or(&[])
                    .iter()
                    .any(|r| match r {
                        Value::Map(r) => {
                            let proto = r.get("protocol").and_then(Value::as_str).unwrap_or("");
                            let cidr = r
                                .get("cidr")
                                .and_then(Value::as_str)
                                .and_then(|c| c.parse::<IpNet>().ok());
                            let port_ok = match proto {
                                "all" | "-1" => true,
                                "tcp" => {
                                    let from =
                                        r.get("from_port").and_then(Value::as_int).unwrap_or(0);
                                    let to =
                                        r.get("to_port").and_then(Value::as_int).unwrap_or(65535);
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
            let fix = groups.first().map(|g| {
                format!(
                    "[{}]\negress = [{{ protocol = \"all\", cidr = \"{}\" }}]",
                    g.addr,
                    default_route(v6)
                )
            });
            add(Level::Error, &component, format!("no security group of the function allows outbound {} traffic to the internet (HTTPS, 443)", family_name(v6)), fix);
        }
    }

    // The role must let Lambda create the function's network interfaces.
    if let Some(Value::Ref(r)) = f.attrs.get("role") {
        if let Some(role) = m.get(&r.addr).filter(|role| role.existing.is_none()) {
            let policies: Vec<&str> = role
                .attrs
                .get("managed_policies")
                .map(Value::as_list)
                .unwrap_or(&[])
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let enough = policies.iter().any(|p| {
                *p == VPC_ACCESS_POLICY
                    || p.ends_with("/AWSLambdaENIManagementAccess")
                    || p.ends_with("/AdministratorAccess")
            });
            if !enough {
                add(Level::Error, &role.addr, format!("{} lacks the permissions to create the function's network interfaces (ec2:CreateNetworkInterface …)", role.addr), Some(format!("[{}]\nmanaged_policies = [\"{VPC_ACCESS_POLICY}\"]", role.addr)));
            }
        }
    }

    // Availability.
    let azs: std::collections::BTreeSet<&str> = subnets.iter().filter_map(|s| m.az(s)).collect();
    if azs.len() == 1
        && subnets
            .iter()
            .all(|s| m.get(s).is_some_and(|r| r.existing.is_none()))
    {
        add(Level::Warning, &f.addr, format!("all of the function's subnets are in one availability zone ({}): use two or more for availability", azs.iter().next().expect("one")), None);
    }

    if !internet {
        // `internet = false` states the intent: reachability findings are information.
        for finding in findings.iter_mut() {
            if finding.level == Level::Error {
                finding.level = Level::Info;
            }
        }
    }
    let reaches = |v6: bool| {
        paths
            .iter()
            .filter(|p| (p.family == "IPv6") == v6)
            .all(|p| p.reaches)
    };
    Verdict {
        function: f.addr.clone(),
        internet,
        ipv4: reaches(false),
        ipv6: dual.then(|| reaches(true)),
        findings,
        paths,
    }
}

/// Where findings go: level, component, message, fix.
type Report<'a> = &'a mut dyn FnMut(Level, &ResourceAddr, String, Option<String>);

/// Follows one packet from `subnet` to `dest`; reports what blocks it through `add`.
fn walk(m: &Model<'_>, subnet: &ResourceAddr, dest: IpAddr, v6: bool, add: Report<'_>) -> Path {
    let family = family_name(v6);
    let mut hops = vec![subnet.to_string()];
    let path = |reaches: bool, hops: Vec<String>| Path {
        subnet: subnet.clone(),
        family,
        reaches,
        hops,
    };
    let Some(sub) = m.get(subnet) else {
        return path(false, hops);
    };
    if v6 && sub.existing.is_none() && !sub.attrs.contains_key("ipv6_index") {
        add(Level::Error, subnet, format!("the function is dual-stack, but {subnet} has no IPv6 block"), Some(format!("[{subnet}]\nipv6_index = 10   # a free /64 number of the VPC's /56 (the VPC needs ipv6 = true)")));
        return path(false, hops);
    }
    let Some(table) = m.table_of(subnet) else {
        if sub.existing.is_some() {
            add(Level::Warning, subnet, format!("{subnet} is an existing subnet with no route table in the config: its routes are unknown until `netplan check --live`"), None);
        } else {
            let vpc = m
                .vpc_of_subnet(subnet)
                .map(|v| v.to_string())
                .unwrap_or_else(|| "vpc.NAME".into());
            add(Level::Error, subnet, format!("{subnet} has no route table, so it uses the VPC's main table, which has no route to {}", default_route(v6)), Some(format!("[route_table.{}]\nvpc = \"{vpc}\"\nsubnets = [\"{subnet}\"]\nroutes = [{{ destination = \"{}\", target = \"{}\" }}]", subnet.name, default_route(v6), if v6 { "egress_only_internet_gateway.NAME" } else { "nat_gateway.NAME" })));
        }
        return path(false, hops);
    };
    hops.push(table.addr.to_string());
    let Some((net, target)) = m.lookup(table, dest) else {
        let fix_target = if v6 {
            m.c.of_kind(Kind::EgressOnlyInternetGateway)
                .next()
                .map(|g| g.addr.to_string())
                .unwrap_or_else(|| "egress_only_internet_gateway.NAME".into())
        } else {
            m.c.of_kind(Kind::NatGateway)
                .next()
                .map(|g| g.addr.to_string())
                .unwrap_or_else(|| "nat_gateway.NAME".into())
        };
        add(Level::Error, &table.addr, format!("{} has no route to {} for {subnet}", table.addr, default_route(v6)), Some(format!("[{}]\nroutes = [{{ destination = \"{}\", target = \"{fix_target}\" }}]   # add to its routes", table.addr, default_route(v6))));
        return path(false, hops);
    };
    hops.push(net.to_string());
    match target.kind {
        Kind::InternetGateway => {
            hops.push(target.to_string());
            add(
                Level::Error,
                subnet,
                format!("{subnet} is a public subnet ({} sends {} to {target}): a function there gets no internet access, because Lambda's network interfaces have no public address", table.addr, net),
                Some(format!("# attach the function to private subnets whose route table sends {} to a {}", default_route(v6), if v6 { "egress-only internet gateway" } else { "NAT gateway" })),
            );
            path(false, hops)
        }
        Kind::EgressOnlyInternetGateway if v6 => {
            hops.push(format!("{target} (egress-only)"));
            path(true, hops)
        }
        Kind::NatGateway if !v6 => {
            let Some(nat) = m.get(&target) else {
                return path(false, hops);
            };
            let Some(nat_subnet) = nat.ref_attr("subnet").cloned() else {
                return path(false, hops);
            };
            hops.push(format!("{target} in {nat_subnet}"));
            if m.az(&nat_subnet).is_some()
                && m.az(subnet).is_some()
                && m.az(&nat_subnet) != m.az(subnet)
            {
                add(Level::Warning, &target, format!("{target} (in {}) serves {subnet} in {}: cross-AZ traffic costs extra and fails with that AZ", m.az(&nat_subnet).unwrap_or("?"), m.az(subnet).unwrap_or("?")), None);
            }
            let Some(nat_table) = m.table_of(&nat_subnet) else {
                add(Level::Error, &target, format!("{target} sits in {nat_subnet}, which has no route table with a route to an internet gateway"), Some(format!("[route_table.{}]\nvpc = \"…\"\nsubnets = [\"{nat_subnet}\"]\nroutes = [{{ destination = \"0.0.0.0/0\", target = \"internet_gateway.NAME\" }}]", nat_subnet.name)));
                return path(false, hops);
            };
            hops.push(nat_table.addr.to_string());
            match m.lookup(nat_table, dest) {
                Some((net2, igw)) if igw.kind == Kind::InternetGateway => {
                    hops.push(net2.to_string());
                    let same_vpc =
                        m.get(&igw).and_then(|g| g.ref_attr("vpc")) == nat_table.ref_attr("vpc");
                    if !same_vpc {
                        hops.push(igw.to_string());
                        add(
                            Level::Error,
                            &igw,
                            format!("{igw} is not attached to the VPC of {nat_subnet}"),
                            None,
                        );
                        return path(false, hops);
                    }
                    hops.push(format!("{igw} (attached)"));
                    path(true, hops)
                }
                _ => {
                    add(
                        Level::Error,
                        &target,
                        format!("{target} sits in {nat_subnet}, which is not public: {} has no route from 0.0.0.0/0 to an internet gateway", nat_table.addr),
                        Some(format!("[{}]\nroutes = [{{ destination = \"0.0.0.0/0\", target = \"internet_gateway.NAME\" }}]   # add to its routes", nat_table.addr)),
                    );
                    path(false, hops)
                }
            }
        }
        _ => {
            hops.push(target.to_string());
            add(
                Level::Error,
                &target,
                format!("{target} cannot carry {family} traffic to the internet"),
                None,
            );
            path(false, hops)
        }
    }
}
