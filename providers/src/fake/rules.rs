//! AWS's rules, as the fake enforces them: what a create checks (a subnet inside its VPC and clear of
//! the others, one internet gateway per VPC, an Elastic IP on one NAT (gateway or instance), unique role, function and
//! group names, a role Lambda can assume), the ids it hands out, the network interfaces a function in a
//! VPC gets, and what refuses to be deleted while something still uses it (DependencyViolation) — the
//! checks moto does not make. Teach the fake a new AWS rule here.

use super::cloud::{FakeCloud, FakeEni, FakeObject};
use netplan_engine::provider::{ErrorKind, ProviderError};
use netplan_engine::value::JsonAttrs;
use netplan_engine::{Kind, ResourceAddr};
use serde_json::{json, Value as J};

pub(super) fn err(kind: ErrorKind, code: &str, msg: impl Into<String>) -> ProviderError {
    ProviderError::new(kind, msg).code(code)
}

fn text<'a>(attrs: &'a JsonAttrs, k: &str) -> Option<&'a str> {
    attrs.get(k).and_then(J::as_str)
}

pub(super) fn texts(attrs: &JsonAttrs, k: &str) -> Vec<String> {
    attrs
        .get(k)
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn release_enis(cloud: &mut FakeCloud, now: u64) {
    cloud
        .enis
        .retain(|e| e.release_at_ms.is_none_or(|t| t > now));
}

fn new_id(cloud: &mut FakeCloud, kind: Kind) -> String {
    cloud.next_id += 1;
    let n = cloud.next_id;
    match kind {
        Kind::IamRole | Kind::LambdaFunction => format!("{n}"),
        k => format!("{}{:017x}", k.id_prefix().unwrap_or("x-"), n),
    }
}

pub(super) fn exists(
    cloud: &FakeCloud,
    kind: Kind,
    id: Option<&str>,
    what: &str,
) -> Result<(), ProviderError> {
    match id {
        Some(id) if cloud.get(kind, id).is_some() => Ok(()),
        Some(id) => Err(err(
            ErrorKind::NotFound,
            &format!("Invalid{}ID.NotFound", what),
            format!("The {what} ID '{id}' does not exist"),
        )),
        None => Err(err(
            ErrorKind::InvalidInput,
            "MissingParameter",
            format!("missing {what}"),
        )),
    }
}

/// Checks a create the way AWS would, and computes the object's attributes.
pub(super) fn create_object(
    cloud: &mut FakeCloud,
    addr: &ResourceAddr,
    attrs: &JsonAttrs,
    now: u64,
) -> Result<(String, JsonAttrs), ProviderError> {
    let mut out = attrs.clone();
    out.remove("tags");
    let kind = addr.kind;
    match kind {
        Kind::Subnet => {
            let vpc_id = text(attrs, "vpc");
            exists(cloud, Kind::Vpc, vpc_id, "Vpc")?;
            let vpc = cloud
                .get(Kind::Vpc, vpc_id.expect("checked"))
                .expect("checked");
            let cidr: ipnet::Ipv4Net = text(attrs, "cidr")
                .unwrap_or("")
                .parse()
                .map_err(|_| err(ErrorKind::InvalidInput, "InvalidParameterValue", "bad CIDR"))?;
            let block: ipnet::Ipv4Net = text(&vpc.attrs, "cidr")
                .unwrap_or("")
                .parse()
                .map_err(|_| err(ErrorKind::Other, "Internal", "vpc cidr"))?;
            if !block.contains(&cidr) {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "InvalidSubnet.Range",
                    format!("The CIDR '{cidr}' is invalid."),
                ));
            }
            for o in cloud
                .of_kind(Kind::Subnet)
                .filter(|o| text(&o.attrs, "vpc") == vpc_id)
            {
                let other: ipnet::Ipv4Net = text(&o.attrs, "cidr")
                    .unwrap_or("0.0.0.0/32")
                    .parse()
                    .unwrap_or_default();
                if other.contains(&cidr.network()) || cidr.contains(&other.network()) {
                    return Err(err(
                        ErrorKind::InvalidInput,
                        "InvalidSubnet.Conflict",
                        format!("The CIDR '{cidr}' conflicts with another subnet"),
                    ));
                }
            }
            if let (Some(i), Some(v6)) = (
                attrs.get("ipv6_index").and_then(J::as_i64),
                text(&vpc.attrs, "ipv6_cidr_block"),
            ) {
                let base = v6.trim_end_matches("::/56");
                out.insert(
                    "ipv6_cidr_block".into(),
                    json!(format!("{base}{:02x}::/64", i)),
                );
            }
        }
        Kind::Vpc => {
            if attrs.get("ipv6").and_then(J::as_bool) == Some(true) {
                out.insert(
                    "ipv6_cidr_block".into(),
                    json!(format!(
                        "2600:1f18:{:x}:{:x}00::/56",
                        cloud.next_id % 0xffff,
                        cloud.next_id % 0xff
                    )),
                );
            }
        }
        Kind::InternetGateway => {
            let vpc = text(attrs, "vpc");
            exists(cloud, Kind::Vpc, vpc, "Vpc")?;
            if cloud
                .of_kind(Kind::InternetGateway)
                .any(|o| text(&o.attrs, "vpc") == vpc)
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "Resource.AlreadyAssociated",
                    "the VPC already has an internet gateway attached",
                ));
            }
        }
        Kind::EgressOnlyInternetGateway
        | Kind::RouteTable
        | Kind::SecurityGroup
        | Kind::NetworkAcl
        | Kind::VpcEndpoint => {
            exists(cloud, Kind::Vpc, text(attrs, "vpc"), "Vpc")?;
            if kind == Kind::SecurityGroup {
                let name = text(attrs, "name");
                if cloud.of_kind(Kind::SecurityGroup).any(|o| {
                    text(&o.attrs, "vpc") == text(attrs, "vpc") && text(&o.attrs, "name") == name
                }) {
                    return Err(err(
                        ErrorKind::InvalidInput,
                        "InvalidGroup.Duplicate",
                        format!("The security group '{}' already exists", name.unwrap_or("")),
                    ));
                }
            }
            if kind == Kind::RouteTable {
                for sub in texts(attrs, "subnets") {
                    exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
                }
                // A subnet another table holds moves to the new one (the AWS provider answers
                // AWS's Resource.AlreadyAssociated with ReplaceRouteTableAssociation).
                take_subnets(cloud, "", &texts(attrs, "subnets"));
                for r in attrs
                    .get("routes")
                    .and_then(J::as_array)
                    .into_iter()
                    .flatten()
                {
                    let target = r.get("target").and_then(J::as_str).unwrap_or("");
                    let is_target = |o: &FakeObject| match o.kind {
                        Kind::InternetGateway
                        | Kind::NatGateway
                        | Kind::EgressOnlyInternetGateway => o.id == target,
                        // A NAT instance is routed to by its network interface.
                        Kind::NatInstance => text(&o.attrs, "eni") == Some(target),
                        _ => false,
                    };
                    if !cloud.objects.values().any(is_target) {
                        return Err(err(
                            ErrorKind::NotFound,
                            "InvalidGatewayID.NotFound",
                            format!("The gateway ID '{target}' does not exist"),
                        ));
                    }
                }
            }
            if kind == Kind::VpcEndpoint {
                out.insert("prefix_list".into(), json!("pl-63a5400a"));
            }
        }
        Kind::ElasticIp => {
            out.insert(
                "public_ip".into(),
                json!(format!("198.51.100.{}", cloud.next_id % 250 + 1)),
            );
        }
        Kind::NatGateway => {
            exists(cloud, Kind::Subnet, text(attrs, "subnet"), "Subnet")?;
            let eip = text(attrs, "elastic_ip");
            exists(cloud, Kind::ElasticIp, eip, "Allocation")?;
            if elastic_ip_holder(cloud, eip.unwrap_or("")).is_some() {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "Resource.AlreadyAssociated",
                    format!(
                        "Elastic IP address [{}] is already associated",
                        eip.unwrap_or("")
                    ),
                ));
            }
        }
        Kind::NatInstance => {
            exists(cloud, Kind::Subnet, text(attrs, "subnet"), "Subnet")?;
            let n = cloud.next_id;
            let public_ip = match text(attrs, "elastic_ip") {
                Some(eip) => {
                    exists(cloud, Kind::ElasticIp, Some(eip), "Allocation")?;
                    if let Some(holder) = elastic_ip_holder(cloud, eip) {
                        return Err(err(
                            ErrorKind::InvalidInput,
                            "Resource.AlreadyAssociated",
                            format!(
                                "Elastic IP address [{eip}] is already associated with {holder}"
                            ),
                        ));
                    }
                    cloud
                        .get(Kind::ElasticIp, eip)
                        .and_then(|e| text(&e.attrs, "public_ip"))
                        .unwrap_or("")
                        .to_string()
                }
                None => format!("203.0.113.{}", n % 250 + 1),
            };
            out.insert("public_ip".into(), json!(public_ip));
            out.insert("eni".into(), json!(format!("eni-{:017x}", n + 1_000_000)));
            out.insert(
                "private_ip".into(),
                json!(format!("10.0.0.{}", n % 250 + 4)),
            );
            out.insert(
                "security_group".into(),
                json!(format!("sg-{:017x}", n + 2_000_000)),
            );
            out.insert("state".into(), json!("running"));
            out.entry("ami".to_string())
                .or_insert_with(|| json!("ami-0fa4e0a1b2c3d4e5f"));
            out.entry("source_dest_check".to_string())
                .or_insert(json!(true));
        }
        Kind::IamRole => {
            let name = text(attrs, "name").unwrap_or("");
            if cloud
                .of_kind(Kind::IamRole)
                .any(|o| text(&o.attrs, "name") == Some(name))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "EntityAlreadyExists",
                    format!("Role with name {name} already exists."),
                ));
            }
            out.insert(
                "arn".into(),
                json!(format!("arn:aws:iam::123456789012:role/{name}")),
            );
        }
        Kind::LambdaFunction => {
            let name = text(attrs, "name").unwrap_or("");
            if cloud
                .of_kind(Kind::LambdaFunction)
                .any(|o| text(&o.attrs, "name") == Some(name))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "ResourceConflictException",
                    format!("Function already exist: {name}"),
                ));
            }
            let role = text(attrs, "role").unwrap_or("");
            if !cloud
                .of_kind(Kind::IamRole)
                .any(|o| text(&o.attrs, "arn") == Some(role))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.",
                ));
            }
            for sub in texts(attrs, "subnets") {
                exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
            }
            for sg in texts(attrs, "security_groups") {
                exists(cloud, Kind::SecurityGroup, Some(&sg), "Group")?;
            }
            out.insert(
                "arn".into(),
                json!(format!(
                    "arn:aws:lambda:us-east-1:123456789012:function:{name}"
                )),
            );
        }
        Kind::Network | Kind::Function => {
            return Err(err(
                ErrorKind::InvalidInput,
                "Unsupported",
                "high-level kinds are expanded by the engine",
            ))
        }
    }
    let id = match kind {
        Kind::IamRole | Kind::LambdaFunction => text(attrs, "name").unwrap_or("").to_string(),
        _ => new_id(cloud, kind),
    };
    if kind == Kind::Vpc {
        out.insert(
            "main_route_table".into(),
            json!(format!("rtb-main{}", &id[4..])),
        );
    }
    if kind == Kind::LambdaFunction {
        attach_enis(cloud, &id, attrs, now);
    }
    out.insert("id".into(), json!(id));
    Ok((id, out))
}

pub(super) fn attach_enis(cloud: &mut FakeCloud, function: &str, attrs: &JsonAttrs, _now: u64) {
    let role = text(attrs, "role").unwrap_or("").to_string();
    let sgs = texts(attrs, "security_groups");
    for sub in texts(attrs, "subnets") {
        cloud.next_id += 1;
        let id = format!("eni-{:017x}", cloud.next_id);
        cloud.enis.push(FakeEni {
            id,
            function: function.to_string(),
            role_arn: role.clone(),
            subnet: sub,
            security_groups: sgs.clone(),
            release_at_ms: None,
        });
    }
}

/// Takes `subnets` from whichever other route table holds them (a subnet has one table).
pub(super) fn take_subnets(cloud: &mut FakeCloud, table: &str, subnets: &[String]) {
    for o in cloud.objects.values_mut() {
        if o.kind != Kind::RouteTable || o.id == table {
            continue;
        }
        let held = texts(&o.attrs, "subnets");
        if held.iter().any(|s| subnets.contains(s)) {
            let kept: Vec<J> = held
                .into_iter()
                .filter(|s| !subnets.contains(s))
                .map(J::String)
                .collect();
            o.attrs.insert("subnets".into(), J::Array(kept));
        }
    }
}

/// The NAT gateway or instance an Elastic IP is associated with.
fn elastic_ip_holder(cloud: &FakeCloud, eip: &str) -> Option<String> {
    cloud
        .objects
        .values()
        .filter(|o| matches!(o.kind, Kind::NatGateway | Kind::NatInstance))
        .find(|o| text(&o.attrs, "elastic_ip") == Some(eip))
        .map(|o| format!("{} {}", o.kind, o.id))
}

/// AWS's dependency rules: what refuses to go while something still uses it.
pub(super) fn check_delete(cloud: &FakeCloud, obj: &FakeObject) -> Result<(), ProviderError> {
    let id = obj.id.as_str();
    let dv = |msg: String| {
        Err(err(
            ErrorKind::DependencyViolation,
            "DependencyViolation",
            msg,
        ))
    };
    match obj.kind {
        Kind::Vpc => {
            if let Some(o) = cloud
                .objects
                .values()
                .find(|o| text(&o.attrs, "vpc") == Some(id))
            {
                return dv(format!(
                    "The vpc '{id}' has dependencies and cannot be deleted ({} {})",
                    o.kind, o.id
                ));
            }
        }
        Kind::Subnet => {
            if let Some(n) = cloud
                .objects
                .values()
                .filter(|o| matches!(o.kind, Kind::NatGateway | Kind::NatInstance))
                .find(|o| text(&o.attrs, "subnet") == Some(id))
            {
                return dv(format!(
                    "The subnet '{id}' has dependencies and cannot be deleted ({} {})",
                    n.kind, n.id
                ));
            }
            if let Some(e) = cloud.enis.iter().find(|e| e.subnet == id) {
                return dv(format!("The subnet '{id}' has dependencies and cannot be deleted (network interface {} of Lambda {})", e.id, e.function));
            }
        }
        Kind::SecurityGroup => {
            if let Some(e) = cloud
                .enis
                .iter()
                .find(|e| e.security_groups.iter().any(|g| g == id))
            {
                return dv(format!(
                    "resource {id} has a dependent object (network interface {} of Lambda {})",
                    e.id, e.function
                ));
            }
        }
        Kind::InternetGateway => {
            let vpc = text(&obj.attrs, "vpc");
            let subnets: Vec<&str> = cloud
                .of_kind(Kind::Subnet)
                .filter(|o| text(&o.attrs, "vpc") == vpc)
                .map(|o| o.id.as_str())
                .collect();
            if let Some(n) = cloud
                .objects
                .values()
                .filter(|o| matches!(o.kind, Kind::NatGateway | Kind::NatInstance))
                .find(|o| text(&o.attrs, "subnet").is_some_and(|sb| subnets.contains(&sb)))
            {
                return dv(format!("Network {} has some mapped public address(es) ({} {}). Please unmap those public address(es) before detaching the gateway.", vpc.unwrap_or(""), n.kind, n.id));
            }
        }
        Kind::ElasticIp => {
            if let Some(holder) = elastic_ip_holder(cloud, id) {
                return dv(format!("The address {id} is in use by {holder}"));
            }
        }
        Kind::IamRole => {
            let arn = text(&obj.attrs, "arn");
            if let Some(e) = cloud.enis.iter().find(|e| Some(e.role_arn.as_str()) == arn) {
                return dv(format!(
                    "role {id} is still needed by Lambda to release network interface {} of {}",
                    e.id, e.function
                ));
            }
        }
        Kind::RouteTable => {
            if let Some(ep) = cloud
                .of_kind(Kind::VpcEndpoint)
                .find(|o| texts(&o.attrs, "route_tables").iter().any(|t| t == id))
            {
                return dv(format!(
                    "The routeTable '{id}' has dependencies and cannot be deleted (endpoint {})",
                    ep.id
                ));
            }
        }
        _ => {}
    }
    Ok(())
}
