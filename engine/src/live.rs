//! `check --live`: the account as it is, read into resources the reachability model reads like a config.
//!
//! What the provider discovers (AWS ids in the references) becomes resources with addresses: the state's
//! and the config's where they know the id, else `KIND.ID` (`route_table.rtb_0abc…`), marked
//! `discovered` (not declared by the config, so fixes add a table of their own instead of editing it).
//! Over a config, live attributes replace the config's for what exists, and what is not created yet is
//! taken from the config as planned: the verdict is the one the next apply would give.

use crate::addr::{Kind, ResourceAddr};
use crate::config::Config;
use crate::provider::{DiscoverRequest, Discovered};
use crate::resource::Resource;
use crate::schema::VPC_ACCESS_POLICY;
use crate::state::State;
use crate::value::{Reference, Value};
use std::collections::BTreeMap;

/// Attributes of each kind that hold AWS ids of other objects (single or lists).
fn id_attrs(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Subnet
        | Kind::InternetGateway
        | Kind::EgressOnlyInternetGateway
        | Kind::SecurityGroup => &["vpc"],
        Kind::RouteTable | Kind::NetworkAcl => &["vpc", "subnets"],
        Kind::NatGateway | Kind::NatInstance => &["subnet"],
        Kind::VpcEndpoint => &["vpc", "route_tables"],
        Kind::LambdaFunction => &["subnets", "security_groups", "role"],
        _ => &[],
    }
}

/// The address an object the config does not name gets: `KIND.ID`, the id as an identifier.
pub fn generated(kind: Kind, id: &str) -> ResourceAddr {
    let name: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    ResourceAddr::new(kind, name)
}

struct Names {
    by_id: BTreeMap<(Kind, String), ResourceAddr>,
    /// A NAT instance's network interface → its address (routes name the interface).
    enis: BTreeMap<String, ResourceAddr>,
    /// Role ARN → address (a function names its role by ARN).
    roles: BTreeMap<String, ResourceAddr>,
}

impl Names {
    fn addr(&self, kind: Kind, id: &str) -> ResourceAddr {
        self.by_id
            .get(&(kind, id.to_string()))
            .cloned()
            .unwrap_or_else(|| generated(kind, id))
    }

    /// The object with this id, of whichever kind owns the id's prefix (`Kind::id_prefix`).
    fn any(&self, id: &str) -> Option<ResourceAddr> {
        // A route to a target that no longer exists ("nat-… (blackhole: …)") refers to nothing.
        if id.contains(char::is_whitespace) {
            return None;
        }
        if let Some(a) = self.enis.get(id) {
            return Some(a.clone());
        }
        let kind = Kind::RESOURCES
            .into_iter()
            .find(|k| k.id_prefix().is_some_and(|p| id.starts_with(p)))?;
        Some(self.addr(kind, id))
    }
}

fn reference(addr: ResourceAddr) -> Value {
    Value::Ref(Reference {
        addr,
        attr: "id".into(),
    })
}

/// A discovered object's attributes in the config's terms: ids of other objects become references.
fn attrs_of(
    names: &Names,
    kind: Kind,
    o: &crate::provider::ObjectState,
) -> BTreeMap<String, Value> {
    let mut attrs: BTreeMap<String, Value> = o
        .attrs
        .iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect();
    attrs.insert("id".into(), Value::Str(o.id.clone()));
    let to_ref = |k: &str, id: &str| -> Value {
        let target = match (kind, k) {
            (Kind::LambdaFunction, "role") => match names.roles.get(id) {
                Some(a) => a.clone(),
                None => names.addr(Kind::IamRole, id.rsplit('/').next().unwrap_or(id)),
            },
            (Kind::VpcEndpoint, "route_tables") => names.addr(Kind::RouteTable, id),
            (_, "vpc") => names.addr(Kind::Vpc, id),
            (_, "subnet") | (_, "subnets") => names.addr(Kind::Subnet, id),
            (_, "security_groups") => names.addr(Kind::SecurityGroup, id),
            _ => return Value::Str(id.to_string()),
        };
        reference(target)
    };
    for k in id_attrs(kind) {
        let converted = match attrs.get(*k) {
            Some(Value::Str(id)) => to_ref(k, id),
            Some(Value::List(ids)) => Value::List(
                ids.iter()
                    .map(|v| match v {
                        Value::Str(id) => to_ref(k, id),
                        other => other.clone(),
                    })
                    .collect(),
            ),
            _ => continue,
        };
        attrs.insert(k.to_string(), converted);
    }
    if kind == Kind::RouteTable {
        if let Some(Value::List(routes)) = attrs.get_mut("routes") {
            for r in routes.iter_mut() {
                if let Value::Map(m) = r {
                    if let Some(Value::Str(id)) = m.get("target").cloned() {
                        if let Some(a) = names.any(&id) {
                            m.insert("target".into(), reference(a));
                        }
                    }
                }
            }
        }
    }
    attrs
}

fn blank(addr: ResourceAddr, attrs: BTreeMap<String, Value>) -> Resource {
    Resource {
        addr,
        attrs,
        depends_on: vec![],
        existing: None,
        origin: None,
        header: 0..0,
        spans: BTreeMap::new(),
    }
}

/// What `check --live` asks the provider to discover for a config: the VPCs, subnets and functions it
/// declares `existing`, and the VPCs and functions its state holds.
pub fn discover_request(config: &Config, state: &State) -> DiscoverRequest {
    let mut req = DiscoverRequest::default();
    for r in config.resources.values() {
        match (r.addr.kind, &r.existing) {
            (Kind::Vpc, Some(id)) => req.vpcs.push(id.clone()),
            (Kind::Subnet, Some(id)) => req.subnets.push(id.clone()),
            (Kind::LambdaFunction, Some(id)) => req.functions.push(id.clone()),
            _ => {}
        }
    }
    for r in state.resources.iter().filter(|r| !r.deposed) {
        match r.address.kind {
            Kind::Vpc => req.vpcs.push(r.id.clone()),
            Kind::LambdaFunction => req.functions.push(r.id.clone()),
            _ => {}
        }
    }
    req
}

/// The config with what exists in the account laid over it.
pub fn overlay(config: &Config, state: &State, found: &Discovered) -> Config {
    let mut by_id: BTreeMap<(Kind, String), ResourceAddr> = BTreeMap::new();
    for r in config.resources.values() {
        if let Some(id) = &r.existing {
            by_id.insert((r.addr.kind, id.clone()), r.addr.clone());
        }
    }
    for r in state.resources.iter().filter(|r| !r.deposed) {
        if config.resources.contains_key(&r.address) {
            by_id.insert((r.address.kind, r.id.clone()), r.address.clone());
        }
    }
    let mut roles = BTreeMap::new();
    for r in state
        .resources
        .iter()
        .filter(|r| r.address.kind == Kind::IamRole)
    {
        if let Some(arn) = r.attributes.get("arn").and_then(|a| a.as_str()) {
            roles.insert(arn.to_string(), r.address.clone());
        }
    }
    let mut names = Names {
        by_id,
        roles,
        enis: BTreeMap::new(),
    };
    for (kind, o) in found
        .objects
        .iter()
        .filter(|(k, _)| *k == Kind::NatInstance)
    {
        if let Some(eni) = o.attrs.get("eni").and_then(|a| a.as_str()) {
            let addr = names.addr(*kind, &o.id);
            names.enis.insert(eni.to_string(), addr);
        }
    }
    for (kind, o) in found.objects.iter().filter(|(k, _)| *k == Kind::IamRole) {
        if let Some(arn) = o.attrs.get("arn").and_then(|a| a.as_str()) {
            let addr = names.addr(*kind, &o.id);
            names.roles.insert(arn.to_string(), addr);
        }
    }
    let mut out = config.clone();
    for (kind, o) in &found.objects {
        let addr = names.addr(*kind, &o.id);
        let mut attrs = attrs_of(&names, *kind, o);
        match out.resources.get_mut(&addr) {
            Some(r) => {
                // What exists wins; what the account cannot say (e.g. `internet`) stays the config's.
                for (k, v) in std::mem::take(&mut attrs) {
                    r.attrs.insert(k, v);
                }
                r.existing = None;
            }
            None => {
                attrs.insert("discovered".into(), Value::Bool(true));
                out.resources.insert(addr.clone(), blank(addr, attrs));
            }
        }
    }
    out
}

/// A config for the seed's path 2 with nothing but the account: a function that netplan would add to
/// VPC `vpc` — in the subnets that do not route to an internet gateway (all of them if none), with an
/// outbound-only security group and a role with the VPC access policy — so that the model says what the
/// VPC lacks for it.
pub fn probe_vpc(template: &Config, vpc: &str, found: &Discovered) -> Result<Config, String> {
    let mut out = template.clone();
    out.resources.clear();
    let empty = State::new(&out.stack.name);
    let mut c = overlay(&out, &empty, found);
    let vpc_addr = generated(Kind::Vpc, vpc);
    if !c.resources.contains_key(&vpc_addr) {
        return Err(format!("{vpc} was not found in the account"));
    }
    // Readable names for the VPC and its subnets, which the TOML the user adds refers to.
    rename(&mut c, &vpc_addr, ResourceAddr::new(Kind::Vpc, "main"));
    let vpc_addr = ResourceAddr::new(Kind::Vpc, "main");
    let mut subnets: Vec<(String, String, ResourceAddr)> = c
        .of_kind(Kind::Subnet)
        .filter(|s| s.ref_attr("vpc") == Some(&vpc_addr))
        .map(|s| {
            (
                s.str_attr("az").unwrap_or("").to_string(),
                s.str_attr("cidr").unwrap_or("").to_string(),
                s.addr.clone(),
            )
        })
        .collect();
    subnets.sort();
    let public: Vec<bool> = subnets
        .iter()
        .map(|(_, _, a)| crate::reach::is_public(&c, a))
        .collect();
    let mut counters: BTreeMap<(bool, String), usize> = BTreeMap::new();
    let mut private = vec![];
    for ((az, _, addr), is_public) in subnets.iter().zip(&public) {
        let letter = az.chars().last().map(|c| c.to_string()).unwrap_or_default();
        let n = counters.entry((*is_public, letter.clone())).or_default();
        *n += 1;
        let name = format!(
            "{}_{letter}{}",
            if *is_public { "public" } else { "private" },
            if *n > 1 { n.to_string() } else { String::new() }
        );
        let new = ResourceAddr::new(Kind::Subnet, name);
        rename(&mut c, addr, new.clone());
        if !is_public {
            private.push(new);
        }
    }
    if private.is_empty() {
        private = c
            .of_kind(Kind::Subnet)
            .filter(|s| s.ref_attr("vpc") == Some(&vpc_addr))
            .map(|s| s.addr.clone())
            .collect();
    }
    let sg = ResourceAddr::new(Kind::SecurityGroup, "lambda");
    let mut sg_attrs = BTreeMap::new();
    sg_attrs.insert("vpc".into(), reference(vpc_addr.clone()));
    sg_attrs.insert(
        "egress".into(),
        Value::List(vec![Value::Map(BTreeMap::from([
            ("protocol".to_string(), Value::Str("all".into())),
            ("cidr".to_string(), Value::Str("0.0.0.0/0".into())),
        ]))]),
    );
    c.resources.insert(sg.clone(), blank(sg.clone(), sg_attrs));
    let role = ResourceAddr::new(Kind::IamRole, "lambda");
    c.resources.insert(
        role.clone(),
        blank(
            role.clone(),
            BTreeMap::from([(
                "managed_policies".to_string(),
                Value::List(vec![Value::Str(VPC_ACCESS_POLICY.into())]),
            )]),
        ),
    );
    let f = ResourceAddr::new(Kind::LambdaFunction, "probe");
    c.resources.insert(
        f.clone(),
        blank(
            f,
            BTreeMap::from([
                (
                    "subnets".to_string(),
                    Value::List(private.into_iter().map(reference).collect()),
                ),
                (
                    "security_groups".to_string(),
                    Value::List(vec![reference(sg)]),
                ),
                ("role".to_string(), reference(role)),
            ]),
        ),
    );
    Ok(c)
}

/// Gives a resource another address, and every reference to it.
fn rename(c: &mut Config, from: &ResourceAddr, to: ResourceAddr) {
    let Some(mut r) = c.resources.remove(from) else {
        return;
    };
    r.addr = to.clone();
    c.resources.insert(to.clone(), r);
    for r in c.resources.values_mut() {
        for v in r.attrs.values_mut() {
            *v = v.resolve(&mut |rf: &Reference| {
                if &rf.addr == from {
                    reference(to.clone())
                } else {
                    Value::Ref(rf.clone())
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::ObjectState;
    use serde_json::json;

    fn o(kind: Kind, id: &str, attrs: serde_json::Value) -> (Kind, ObjectState) {
        let serde_json::Value::Object(attrs) = attrs else {
            panic!("attrs are a map")
        };
        (kind, ObjectState::new(id, attrs.into_iter().collect()))
    }

    #[test]
    fn a_route_to_a_deleted_nat_blocks_with_an_error() {
        let c = crate::config::load_str(
            "t.toml",
            "[stack]\nname = \"t\"\nregion = \"us-east-1\"\n",
            std::path::Path::new("."),
            &Default::default(),
        )
        .unwrap();
        let found = Discovered {
            objects: vec![
                o(Kind::Vpc, "vpc-1", json!({ "cidr": "10.0.0.0/16" })),
                o(
                    Kind::Subnet,
                    "subnet-1",
                    json!({ "vpc": "vpc-1", "cidr": "10.0.1.0/24", "az": "us-east-1a" }),
                ),
                o(
                    Kind::RouteTable,
                    "rtb-1",
                    json!({ "vpc": "vpc-1", "main": true, "subnets": [], "routes": [
                    { "destination": "0.0.0.0/0", "target": "nat-1 (blackhole: the target no longer exists)" }
                ] }),
                ),
                o(
                    Kind::SecurityGroup,
                    "sg-1",
                    json!({ "vpc": "vpc-1", "egress": [{ "protocol": "all", "cidr": "0.0.0.0/0" }] }),
                ),
                o(
                    Kind::LambdaFunction,
                    "f",
                    json!({ "subnets": ["subnet-1"], "security_groups": ["sg-1"] }),
                ),
            ],
        };
        let model = overlay(&c, &State::new("t"), &found);
        let v = crate::reach::check(&model);
        assert_eq!(v.len(), 1);
        assert!(v[0].blocked(), "{v:#?}");
        assert!(
            v[0].findings
                .iter()
                .any(|f| f.component.to_string() == "route_table.rtb_1"
                    && f.message.contains("no longer exists")),
            "{:#?}",
            v[0].findings
        );
    }
}
