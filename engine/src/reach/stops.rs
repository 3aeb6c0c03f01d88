//! The stops on a path that can refuse a packet besides routes: network ACLs (stateless: the request
//! and the reply each need an entry, in the function's subnet and the NAT's) and NAT instances (running,
//! forwarding, admitting the subnet, with a public address).

use super::*;

/// One packet a network ACL must let through: direction, peer address, TCP port.
pub(super) struct Flow {
    egress: bool,
    peer: IpAddr,
    /// The peer as an ACL entry names it (`0.0.0.0/0`, the function subnet's block).
    peer_net: String,
    port: i64,
    what: String,
}

impl Flow {
    /// The entry that lets this flow through: the request's port, or the range its replies use.
    fn entry(&self, rule: i64) -> String {
        let (from, to) = match self.port {
            443 => (443, 443),
            _ => (1024, 65535),
        };
        format!(
            "{{ rule = {rule}, protocol = \"tcp\", from_port = {from}, to_port = {to}, cidr = \"{}\", action = \"allow\" }}",
            self.peer_net
        )
    }
}

/// The first entry of `acl` (lowest rule number) matching the flow decides; none matching denies.
/// Returns the deciding rule number (or `None` for the implicit deny) when the flow is denied.
pub(super) fn acl_denies(acl: &Resource, f: &Flow) -> Option<Option<i64>> {
    let mut entries: Vec<&BTreeMap<String, Value>> = acl
        .list_attr(if f.egress { "egress" } else { "ingress" })
        .iter()
        .filter_map(|e| match e {
            Value::Map(m) => Some(m),
            _ => None,
        })
        .collect();
    entries.sort_by_key(|e| e.get("rule").and_then(Value::as_int).unwrap_or(i64::MAX));
    for e in entries {
        let proto = e.get("protocol").and_then(Value::as_str).unwrap_or("");
        let port_ok = match proto {
            "all" | "-1" => true,
            "tcp" | "6" => {
                let from = e.get("from_port").and_then(Value::as_int).unwrap_or(0);
                let to = e.get("to_port").and_then(Value::as_int).unwrap_or(65535);
                from <= f.port && f.port <= to
            }
            _ => false,
        };
        let cidr_ok = e
            .get("cidr")
            .and_then(Value::as_str)
            .and_then(|c| c.parse::<IpNet>().ok())
            .is_some_and(|c| c.contains(&f.peer));
        if port_ok && cidr_ok {
            let allow = e.get("action").and_then(Value::as_str) == Some("allow");
            return (!allow).then(|| e.get("rule").and_then(Value::as_int));
        }
    }
    Some(None)
}

/// Network ACLs are stateless: the function's subnet must let the request out and the reply in, and a
/// NAT gateway's subnet must let the request in from the function's subnet and out to the internet, and
/// the replies back. Reports the first ACL in the way.
pub(super) fn acls_allow(m: &Model<'_>, path: &Path, dest: IpAddr, add: Report<'_>) -> bool {
    let v6 = dest.is_ipv6();
    let any = if v6 { "::/0" } else { "0.0.0.0/0" }.to_string();
    let mut checks: Vec<(ResourceAddr, Flow)> = vec![
        (
            path.subnet.clone(),
            Flow {
                egress: true,
                peer: dest,
                peer_net: any.clone(),
                port: 443,
                what: "the request out to the internet (TCP 443)".into(),
            },
        ),
        (
            path.subnet.clone(),
            Flow {
                egress: false,
                peer: dest,
                peer_net: any.clone(),
                port: 32768,
                what: "the reply in from the internet (TCP 32768-60999, Lambda's ephemeral ports)"
                    .into(),
            },
        ),
    ];
    if let Some(nat_subnet) = &path.nat_subnet {
        let source: Option<IpNet> = m
            .get(&path.subnet)
            .and_then(|s| s.str_attr("cidr"))
            .and_then(|c| c.parse::<IpNet>().ok());
        if let Some(net) = source {
            let source = net.network();
            checks.push((
                nat_subnet.clone(),
                Flow {
                    egress: false,
                    peer: source,
                    peer_net: net.to_string(),
                    port: 443,
                    what: format!("the request in from {} (TCP 443)", path.subnet),
                },
            ));
            checks.push((
                nat_subnet.clone(),
                Flow {
                    egress: true,
                    peer: source,
                    peer_net: net.to_string(),
                    port: 32768,
                    what: format!("the reply back to {} (TCP 32768-60999)", path.subnet),
                },
            ));
        }
        checks.push((
            nat_subnet.clone(),
            Flow {
                egress: true,
                peer: dest,
                peer_net: any.clone(),
                port: 443,
                what: "the NAT's request out to the internet (TCP 443)".into(),
            },
        ));
        checks.push((
            nat_subnet.clone(),
            Flow {
                egress: false,
                peer: dest,
                peer_net: any.clone(),
                port: 1024,
                what: "the reply in from the internet (TCP 1024-65535, the NAT's ports)".into(),
            },
        ));
    }
    for (i, (subnet, flow)) in checks.iter().enumerate() {
        let Some(acl) = m.acl_of(subnet) else {
            continue;
        };
        let has_family = |key: &str| {
            acl.list_attr(key).iter().any(|e| match e {
                Value::Map(e) => e
                    .get("cidr")
                    .and_then(Value::as_str)
                    .is_some_and(|c| c.contains(':') == v6),
                _ => false,
            })
        };
        if v6 && acl.bool_attr("default") && !has_family("egress") && !has_family("ingress") {
            // AWS gives a default ACL `::/0` allow entries when its VPC gets an IPv6 block; an
            // emulator may not. Say so rather than call it blocked.
            add(Severity::Warning, &acl.addr, format!("{}, the default ACL of {subnet}, has no IPv6 entries (AWS adds them with the VPC's IPv6 block): assumed to allow IPv6", acl.addr), Remedy::none());
            continue;
        }
        if let Some(rule) = acl_denies(acl, flow) {
            let why = match rule {
                Some(n) => format!("rule {n} denies it"),
                None => "no rule allows it".into(),
            };
            let key = if flow.egress { "egress" } else { "ingress" };
            // Every flow of this path the same ACL refuses, fixed at once.
            let refused: Vec<&Flow> = checks[i..]
                .iter()
                .filter(|(s, _)| m.acl_of(s).map(|a| &a.addr) == Some(&acl.addr))
                .map(|(_, f)| f)
                .filter(|f| acl_denies(acl, f).is_some())
                .collect();
            let remedy = acl_remedy(m, acl, subnet, &refused, v6);
            add(
                Severity::Error,
                &acl.addr,
                format!(
                    "{} ({} of {subnet}) blocks {}: {why} (network ACLs are stateless)",
                    acl.addr, key, flow.what
                ),
                remedy,
            );
            return false;
        }
    }
    true
}

/// Entries that let the refused flows through, each before the rule that denies it: on the ACL when
/// the config declares it, else an ACL of the config's own for the subnet.
fn acl_remedy(
    m: &Model<'_>,
    acl: &Resource,
    subnet: &ResourceAddr,
    refused: &[&Flow],
    v6: bool,
) -> Remedy {
    use crate::fix::{Edit, Fix};
    if m.discovered(&acl.addr) || acl.bool_attr("default") {
        let any = if v6 { "::/0" } else { "0.0.0.0/0" };
        let vpc = m
            .vpc_of_subnet(subnet)
            .map(|v| v.to_string())
            .unwrap_or_else(|| "vpc.NAME".into());
        let mut toml = m
            .vpc_of_subnet(subnet)
            .map(|v| m.existing_toml(&v))
            .unwrap_or_default();
        toml.push_str(&m.existing_toml(subnet));
        let name = m.fresh(Kind::NetworkAcl, &subnet.name);
        toml.push_str(&format!("[network_acl.{name}]\nvpc = \"{vpc}\"\nsubnets = [\"{subnet}\"]\negress = [{{ rule = 100, protocol = \"all\", cidr = \"{any}\", action = \"allow\" }}]\ningress = [{{ rule = 100, protocol = \"all\", cidr = \"{any}\", action = \"allow\" }}]\n"));
        return Remedy::one(Fix::edit(vec![Edit::Add { toml }]));
    }
    let table = m.table_name(&acl.addr);
    let mut taken: Vec<i64> = ["egress", "ingress"]
        .iter()
        .flat_map(|k| acl.list_attr(k))
        .filter_map(|e| match e {
            Value::Map(e) => e.get("rule").and_then(Value::as_int),
            _ => None,
        })
        .collect();
    let mut by_key: Vec<(&str, Vec<String>)> = vec![("egress", vec![]), ("ingress", vec![])];
    for f in refused {
        // Before the rule that denies it (else anywhere: nothing matched).
        let below = match acl_denies(acl, f) {
            Some(Some(n)) => n,
            _ => 100,
        };
        let Some(rule) = (1..below).rev().find(|n| !taken.contains(n)) else {
            return Remedy::none();
        };
        taken.push(rule);
        let entry = f.entry(rule);
        let list = &mut by_key[usize::from(!f.egress)].1;
        if !list.contains(&entry) {
            list.push(entry);
        }
    }
    let edits = by_key
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(key, items)| Edit::append(&table, key, items))
        .collect();
    Remedy::one(Fix::edit(edits))
}

/// What makes an instance a NAT for `subnet`'s traffic: it runs, it forwards (source/destination check
/// off), its security group admits the subnet, and it has a public address. Reports the first thing
/// missing.
pub(super) fn instance_forwards(
    m: &Model<'_>,
    nat: &Resource,
    subnet: &ResourceAddr,
    add: Report<'_>,
) -> bool {
    let a = &nat.addr;
    let live_id = nat.str_attr("id").unwrap_or("INSTANCE_ID");
    if let Some(state) = nat.str_attr("state").filter(|s| *s != "running") {
        add(
            Severity::Error,
            a,
            format!("{a} is {state}, not running: nothing forwards the traffic"),
            Remedy::one(crate::fix::Fix::run(format!(
                "aws ec2 start-instances --instance-ids {live_id}"
            ))),
        );
        return false;
    }
    if nat.attrs.get("source_dest_check") == Some(&Value::Bool(true)) {
        let remedy = if m.discovered(a) || !m.declared(a) {
            Remedy::one(crate::fix::Fix::run(format!(
                "aws ec2 modify-instance-attribute --instance-id {live_id} --no-source-dest-check"
            )))
        } else {
            Remedy::one(crate::fix::Fix::set(
                m.table_name(a),
                "source_dest_check",
                "false",
            ))
        };
        add(Severity::Error, a, format!("{a} has its source/destination check on: it drops every packet not addressed to itself, so it forwards nothing"), remedy);
        return false;
    }
    let from = m.get(subnet);
    let cidr: Option<IpNet> = from
        .and_then(|s| s.str_attr("cidr"))
        .and_then(|c| c.parse().ok());
    let function_groups: Vec<String> =
        m.c.of_kind(Kind::LambdaFunction)
            .filter(|f| f.ref_list("subnets").contains(&subnet))
            .flat_map(|f| f.ref_list("security_groups"))
            .filter_map(|g| m.get(g).and_then(|g| g.str_attr("id")).map(str::to_string))
            .collect();
    let admitted = nat.list_attr("allow_from").iter().any(|v| match v {
        Value::Ref(r) => &r.addr == subnet,
        Value::Str(s) if s.starts_with("sg-") => function_groups.contains(s),
        Value::Str(s) => match (s.parse::<IpNet>(), cidr) {
            (Ok(allowed), Some(c)) => allowed.contains(&c),
            _ => false,
        },
        _ => false,
    });
    if !admitted {
        let what = cidr
            .map(|c| c.to_string())
            .unwrap_or_else(|| subnet.to_string());
        let remedy = if m.discovered(a) || !m.declared(a) {
            Remedy::one(crate::fix::Fix::run(format!("aws ec2 authorize-security-group-ingress --group-id {} --protocol -1 --cidr {what}", nat.str_attr("security_group").unwrap_or("SG_ID"))))
        } else {
            Remedy::one(crate::fix::Fix::edit(vec![crate::fix::Edit::append(
                a,
                "allow_from",
                vec![format!("\"{subnet}\"")],
            )]))
        };
        add(
            Severity::Error,
            a,
            format!("{a} does not admit {subnet} ({what}): its security group drops the function's traffic"),
            remedy,
        );
        return false;
    }
    let has_public = nat.attrs.contains_key("elastic_ip")
        || nat.attrs.contains_key("public_ip")
        || (!m.discovered(a) && !nat.attrs.contains_key("id"));
    if !has_public {
        add(
            Severity::Error,
            a,
            format!("{a} has no public IPv4 address: what it forwards cannot come back"),
            m.elastic_ip_remedy(a),
        );
        return false;
    }
    true
}
