//! The stops on a path that can refuse a packet besides routes: network ACLs (stateless: the request
//! and the reply each need an entry, in the function's subnet and the NAT's) and NAT instances (running,
//! forwarding, admitting the subnet, with a public address).

use super::*;

/// One packet a network ACL must let through: direction, peer address, TCP port.
pub(super) struct Flow {
    egress: bool,
    peer: IpAddr,
    port: i64,
    what: String,
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
    let mut checks: Vec<(ResourceAddr, Flow)> = vec![
        (
            path.subnet.clone(),
            Flow {
                egress: true,
                peer: dest,
                port: 443,
                what: "the request out to the internet (TCP 443)".into(),
            },
        ),
        (
            path.subnet.clone(),
            Flow {
                egress: false,
                peer: dest,
                port: 32768,
                what: "the reply in from the internet (TCP 32768-60999, Lambda's ephemeral ports)"
                    .into(),
            },
        ),
    ];
    if let Some(nat_subnet) = &path.nat_subnet {
        let source: Option<IpAddr> = m
            .get(&path.subnet)
            .and_then(|s| s.str_attr("cidr"))
            .and_then(|c| c.parse::<IpNet>().ok())
            .map(|n| n.network());
        if let Some(source) = source {
            checks.push((
                nat_subnet.clone(),
                Flow {
                    egress: false,
                    peer: source,
                    port: 443,
                    what: format!("the request in from {} (TCP 443)", path.subnet),
                },
            ));
            checks.push((
                nat_subnet.clone(),
                Flow {
                    egress: true,
                    peer: source,
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
                port: 443,
                what: "the NAT's request out to the internet (TCP 443)".into(),
            },
        ));
        checks.push((
            nat_subnet.clone(),
            Flow {
                egress: false,
                peer: dest,
                port: 1024,
                what: "the reply in from the internet (TCP 1024-65535, the NAT's ports)".into(),
            },
        ));
    }
    for (subnet, flow) in checks {
        let Some(acl) = m.acl_of(&subnet) else {
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
            add(Severity::Warning, &acl.addr, format!("{}, the default ACL of {subnet}, has no IPv6 entries (AWS adds them with the VPC's IPv6 block): assumed to allow IPv6", acl.addr), None);
            continue;
        }
        if let Some(rule) = acl_denies(acl, &flow) {
            let why = match rule {
                Some(n) => format!("rule {n} denies it"),
                None => "no rule allows it".into(),
            };
            let key = if flow.egress { "egress" } else { "ingress" };
            let any = if v6 { "::/0" } else { "0.0.0.0/0" };
            let fix = if m.discovered(&acl.addr) || acl.bool_attr("default") {
                format!("{}[network_acl.{}]\nvpc = \"{}\"\nsubnets = [\"{subnet}\"]\negress = [{{ rule = 100, protocol = \"all\", cidr = \"{any}\", action = \"allow\" }}]\ningress = [{{ rule = 100, protocol = \"all\", cidr = \"{any}\", action = \"allow\" }}]", m.declare(&subnet), subnet.name, m.vpc_of_subnet(&subnet).map(|v| v.to_string()).unwrap_or_else(|| "vpc.NAME".into()))
            } else {
                format!("[{}]\n{key} = [{{ rule = 90, protocol = \"tcp\", from_port = {}, to_port = {}, cidr = \"{any}\", action = \"allow\" }}]   # add to its entries", acl.addr, if flow.port == 443 { 443 } else { 1024 }, if flow.port == 443 { 443 } else { 65535 })
            };
            add(
                Severity::Error,
                &acl.addr,
                format!(
                    "{} ({} of {subnet}) blocks {}: {why} (network ACLs are stateless)",
                    acl.addr, key, flow.what
                ),
                Some(fix),
            );
            return false;
        }
    }
    true
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
            Some(format!(
                "# start it: aws ec2 start-instances --instance-ids {live_id}"
            )),
        );
        return false;
    }
    if nat.attrs.get("source_dest_check") == Some(&Value::Bool(true)) {
        let fix = if m.discovered(a) {
            format!("# let it forward: aws ec2 modify-instance-attribute --instance-id {live_id} --no-source-dest-check")
        } else {
            "# `netplan apply` turns it off again (it was turned on outside netplan)".to_string()
        };
        add(Severity::Error, a, format!("{a} has its source/destination check on: it drops every packet not addressed to itself, so it forwards nothing"), Some(fix));
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
        let fix = if m.discovered(a) {
            format!("# admit it: aws ec2 authorize-security-group-ingress --group-id {} --protocol -1 --cidr {what}", nat.str_attr("security_group").unwrap_or("SG_ID"))
        } else {
            format!("[{a}]\nallow_from = [\"{subnet}\"]   # add to its list")
        };
        add(
            Severity::Error,
            a,
            format!("{a} does not admit {subnet} ({what}): its security group drops the function's traffic"),
            Some(fix),
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
            Some(format!(
                "[elastic_ip.{n}]\n\n[{a}]\nelastic_ip = \"elastic_ip.{n}\"",
                n = a.name
            )),
        );
        return false;
    }
    true
}
