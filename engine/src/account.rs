//! The account a plan is for, read before anything is created: its availability zones (names, and the
//! AZ IDs they map to in this account), where NAT instance types are offered, its quotas against what
//! it has and what the plan adds, and who is asking. `place` chooses and checks zones; `quotas` counts;
//! both say what would fail — before the first create — with the numbers and the fix.
//!
//! The provider reads the account (`Provider::account`); the engine decides. Where Lambda refuses VPC
//! functions AWS publishes no list: `LAMBDA_REFUSES` is a dated, sourced table of AZ IDs known to.

use crate::addr::{Kind, ResourceAddr};
use crate::config::{Config, Decl};
use crate::diag::{Diagnostic, Diagnostics, Location};
use crate::plan::{Action, Plan};
pub use crate::provider::{Account, Quota, Zone};
use crate::state::State;
use crate::value::Value;
use serde::Serialize;
use std::collections::BTreeMap;

/// AZ IDs where `CreateFunction` with subnets there is known to answer "The provided subnets contain
/// availability zone Lambda doesn't support" — AWS publishes no list (its Lambda VPC documentation says
/// only that some zones lack capacity); these are from field reports (re:Post, the Terraform AWS
/// provider's issue tracker, the Serverless Framework forum), last reviewed 2026-12.
pub const LAMBDA_REFUSES: &[(&str, &str)] = &[(
    "use1-az3",
    "us-east-1: the zone with the most reports (re:Post, Terraform AWS provider issues) since 2019",
)];
pub const LAMBDA_REFUSES_AS_OF: &str = "2026-12";

/// Whether Lambda is known to refuse VPC functions in this AZ ID.
pub fn lambda_refuses(zone_id: &str) -> Option<&'static str> {
    LAMBDA_REFUSES
        .iter()
        .find(|(id, _)| *id == zone_id)
        .map(|(_, why)| *why)
}

/// The zones chosen for each network and where each came from: what the plan shows and the state
/// pins.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Placement {
    /// Network address → its zones in position order: (name, AZ ID, pinned by the state).
    pub networks: BTreeMap<String, Vec<(String, String, bool)>>,
}

impl Placement {
    /// The zones to pin in the state.
    pub fn pins(&self) -> BTreeMap<String, Vec<String>> {
        self.networks
            .iter()
            .map(|(n, zones)| (n.clone(), zones.iter().map(|z| z.0.clone()).collect()))
            .collect()
    }
}

/// A NAT instance type a network places in each of its NAT zones (`nat_type = "instance"`).
fn nat_instance_type(d: &Decl) -> Option<String> {
    let instance = d.fields.get("nat_type").and_then(Value::as_str) == Some("instance");
    instance.then(|| {
        d.fields
            .get("nat_instance_type")
            .and_then(Value::as_str)
            .unwrap_or(crate::schema::DEFAULT_NAT_INSTANCE_TYPE)
            .to_string()
    })
}

/// The zones a network's subnets already sit in, from the state: its pins, or — for a state written
/// before zones were pinned — the zones of the subnets it made (in name order, as they were chosen).
fn pinned(state: Option<&State>, network: &str) -> Vec<String> {
    let Some(state) = state else { return vec![] };
    if let Some(z) = state.zones.get(network) {
        return z.clone();
    }
    let name = network.trim_start_matches("network.");
    let mut zones: Vec<String> = state
        .resources
        .iter()
        .filter(|r| r.address.kind == Kind::Subnet && !r.existing)
        .filter(|r| {
            r.address.name.starts_with(&format!("{name}_public_"))
                || r.address.name.starts_with(&format!("{name}_private_"))
        })
        .filter_map(|r| r.attributes.get("az").and_then(|a| a.as_str()))
        .map(str::to_string)
        .collect();
    zones.sort();
    zones.dedup();
    zones
}

/// Chooses and checks the zones of every network and subnet against the account, and returns the
/// config with them written in (a count of zones becomes the zones chosen; an AZ ID becomes this
/// account's name for it). Errors — a zone the account lacks, too few zones where everything can run,
/// an instance type no zone offers — come back together, each at its line.
pub fn place(
    config: &Config,
    state: Option<&State>,
    account: &Account,
) -> Result<(Config, Placement, Diagnostics), Diagnostics> {
    let mut errors = Diagnostics::default();
    let mut warnings = Diagnostics::default();
    let mut placement = Placement::default();
    let mut decls = config.decls.clone();
    let at = |d: &Decl, key: &str| {
        Some(Location::new(
            &config.source,
            d.spans.get(key).unwrap_or(&d.header).clone(),
        ))
    };
    let functions_use = |network: &ResourceAddr| {
        config.decls.iter().any(|f| {
            f.addr.kind == Kind::Function
                && f.fields
                    .get("network")
                    .and_then(Value::as_ref)
                    .map(|r| &r.addr)
                    == Some(network)
        })
    };
    for d in decls.iter_mut().filter(|d| d.addr.kind == Kind::Network) {
        let key = d.addr.to_string();
        let nat_type = nat_instance_type(d);
        let lambda = functions_use(&d.addr);
        // Everything the config places in a zone can run there: the NAT instance type is offered;
        // Lambda is not known to refuse it.
        let runs = |z: &Zone| {
            nat_type
                .as_ref()
                .is_none_or(|t| account.offered(t, &z.name))
        };
        let preferred = |z: &Zone| runs(z) && !(lambda && lambda_refuses(&z.id).is_some());
        let chosen: Vec<(String, String, bool)> = match d.fields.get("azs") {
            Some(Value::List(list)) => {
                let mut out = vec![];
                for (i, v) in list.iter().enumerate() {
                    let Some(written) = v.as_str() else { continue };
                    let path = format!("azs[{i}]");
                    let loc = at(d, &path).or_else(|| at(d, "azs"));
                    match account.zone(written).filter(|z| z.usable) {
                        None => errors.push(
                            Diagnostic::error(format!(
                                "{}: `{written}` is not an availability zone this account can use in {}",
                                d.addr, account.region
                            ))
                            .at(loc)
                            .resource(&d.addr)
                            .hint(format!("this account's zones: {}", account.listing()))
                            .clone(),
                        ),
                        Some(z) => {
                            if !runs(z) {
                                errors.push(
                                    Diagnostic::error(format!(
                                        "{}: {} ({}) does not offer the NAT instance type {}",
                                        d.addr,
                                        z.name,
                                        z.id,
                                        nat_type.clone().unwrap_or_default()
                                    ))
                                    .at(loc.clone())
                                    .resource(&d.addr)
                                    .hint(offered_hint(account, nat_type.as_deref()))
                                    .clone(),
                                );
                            }
                            if lambda {
                                if let Some(why) = lambda_refuses(&z.id) {
                                    warnings.push(
                                        Diagnostic::warning(format!(
                                            "{}: Lambda is known to refuse VPC functions in {} ({}): {why}",
                                            d.addr, z.name, z.id
                                        ))
                                        .at(loc)
                                        .resource(&d.addr)
                                        .hint(format!(
                                            "choose another zone, or write `azs = {}` and let netplan choose (table as of {LAMBDA_REFUSES_AS_OF})",
                                            list.len()
                                        ))
                                        .clone(),
                                    );
                                }
                            }
                            out.push((z.name.clone(), z.id.clone(), false));
                        }
                    }
                }
                out
            }
            other => {
                let count = other.and_then(Value::as_int).unwrap_or(2).max(1) as usize;
                let mut out: Vec<(String, String, bool)> = pinned(state, &key)
                    .into_iter()
                    .take(count)
                    .map(|n| {
                        let id = account.zone(&n).map(|z| z.id.clone()).unwrap_or_default();
                        (n, id, true)
                    })
                    .collect();
                for pass in [&preferred as &dyn Fn(&Zone) -> bool, &runs] {
                    for z in account.usable() {
                        if out.len() >= count {
                            break;
                        }
                        if pass(z) && !out.iter().any(|(n, ..)| n == &z.name) {
                            out.push((z.name.clone(), z.id.clone(), false));
                        }
                    }
                }
                if out.len() < count {
                    let why = match &nat_type {
                        Some(t) => format!(" where {t} is offered"),
                        None => String::new(),
                    };
                    errors.push(
                        Diagnostic::error(format!(
                            "{}: azs = {count}, but this account has {} zone(s) in {}{why}",
                            d.addr,
                            out.len(),
                            account.region
                        ))
                        .at(at(d, "azs"))
                        .resource(&d.addr)
                        .hint(format!(
                            "use azs = {} or fewer; this account's zones: {}",
                            out.len(),
                            account.listing()
                        ))
                        .clone(),
                    );
                }
                for (name, id, _) in &out {
                    if lambda && lambda_refuses(id).is_some() {
                        warnings.push(
                            Diagnostic::warning(format!(
                                "{}: {name} ({id}) is one of the zones Lambda is known to refuse VPC functions in, and no other zone is left",
                                d.addr
                            ))
                            .at(at(d, "azs"))
                            .resource(&d.addr)
                            .clone(),
                        );
                    }
                }
                out
            }
        };
        d.fields.insert(
            "azs".into(),
            Value::List(chosen.iter().map(|(n, ..)| Value::str(n)).collect()),
        );
        placement.networks.insert(key, chosen);
    }
    // Low-level subnets: a zone the account lacks, an AZ ID written as this account's name.
    for d in decls.iter_mut().filter(|d| d.addr.kind == Kind::Subnet) {
        let Some(written) = d
            .fields
            .get("az")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            continue;
        };
        match account.zone(&written).filter(|z| z.usable) {
            Some(z) => {
                d.fields.insert("az".into(), Value::str(&z.name));
            }
            None => errors.push(
                Diagnostic::error(format!(
                    "{}: `{written}` is not an availability zone this account can use in {}",
                    d.addr, account.region
                ))
                .at(at(d, "az"))
                .resource(&d.addr)
                .hint(format!("this account's zones: {}", account.listing()))
                .clone(),
            ),
        }
    }
    if errors.has_errors() {
        errors.sort();
        return Err(errors);
    }
    let placed = config.rebuild(|all| *all = decls)?;
    // What runs where, on the resources as placed: NAT instances and functions.
    let zone_of = |subnet: &ResourceAddr| {
        placed
            .resources
            .get(subnet)
            .and_then(|s| s.str_attr("az"))
            .and_then(|n| account.zone(n))
    };
    let mut more = Diagnostics::default();
    for n in placed.of_kind(Kind::NatInstance) {
        let t = n
            .str_attr("instance_type")
            .unwrap_or(crate::schema::DEFAULT_NAT_INSTANCE_TYPE);
        if let Some(z) = n.ref_attr("subnet").and_then(zone_of) {
            if !account.offered(t, &z.name) {
                more.push(
                    Diagnostic::error(format!(
                        "{}: {} ({}) does not offer the instance type {t}",
                        n.addr, z.name, z.id
                    ))
                    .at(placed.location_of(&n.addr, "instance_type"))
                    .resource(&n.addr)
                    .hint(offered_hint(account, Some(t)))
                    .clone(),
                );
            }
        }
    }
    for f in placed.of_kind(Kind::LambdaFunction) {
        for s in f.ref_list("subnets") {
            if let Some(z) = zone_of(s) {
                if let Some(why) = lambda_refuses(&z.id) {
                    if !warnings.0.iter().any(|w| w.message.contains(&z.id)) {
                        more.push(
                            Diagnostic::warning(format!(
                                "{}: {s} is in {} ({}), where Lambda is known to refuse VPC functions: {why}",
                                f.addr, z.name, z.id
                            ))
                            .at(placed.location_of(&f.addr, "subnets"))
                            .resource(&f.addr)
                            .hint(format!("put the function's subnets in other zones (table as of {LAMBDA_REFUSES_AS_OF})"))
                            .clone(),
                        );
                    }
                }
            }
        }
    }
    if more.has_errors() {
        more.sort();
        return Err(more);
    }
    warnings.0.extend(more.0);
    Ok((placed, placement, warnings))
}

fn offered_hint(account: &Account, instance_type: Option<&str>) -> String {
    match instance_type.and_then(|t| account.offerings.get(t).map(|z| (t, z))) {
        Some((t, zones)) if !zones.is_empty() => format!(
            "{t} is offered in {}; or choose another nat_instance_type",
            zones.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        _ => "choose another instance type".into(),
    }
}

/// One quota as the plan leaves it: has, adds, limit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headroom {
    pub name: String,
    pub code: String,
    /// The zone, for a per-zone quota.
    pub zone: Option<String>,
    pub has: u64,
    pub adds: u64,
    pub limit: u64,
    pub source: String,
}

impl Headroom {
    pub fn over(&self) -> bool {
        self.has + self.adds > self.limit
    }
}

/// What the plan adds against each quota (creates, and replacements that create before they
/// delete), and the headroom left; `Err` with one error per quota the plan would exceed.
pub fn quotas(
    plan: &Plan,
    config: &Config,
    account: &Account,
) -> Result<Vec<Headroom>, (Vec<Headroom>, Diagnostics)> {
    let adds = |c: &crate::plan::Change| {
        matches!(
            c.action,
            Action::Create
                | Action::Replace {
                    order: crate::schema::ReplaceOrder::CreateThenDelete
                }
        )
    };
    let zone_of_nat = |addr: &ResourceAddr| {
        config
            .resources
            .get(addr)
            .and_then(|n| n.ref_attr("subnet"))
            .and_then(|s| config.resources.get(s))
            .and_then(|s| s.str_attr("az"))
            .map(str::to_string)
    };
    let mut out = vec![];
    let mut errors = Diagnostics::default();
    for q in &account.quotas {
        let created: Vec<&crate::plan::Change> = plan
            .changes
            .iter()
            .filter(|c| c.address.kind == q.kind && adds(c))
            .collect();
        let rows: Vec<(Option<String>, u64, u64)> = if q.per_zone {
            let mut by_zone: BTreeMap<String, u64> = BTreeMap::new();
            for c in &created {
                if let Some(z) = zone_of_nat(&c.address) {
                    *by_zone.entry(z).or_default() += 1;
                }
            }
            by_zone
                .into_iter()
                .map(|(z, n)| {
                    let has = q.has_per_zone.get(&z).copied().unwrap_or(0);
                    (Some(z), has, n)
                })
                .collect()
        } else if created.is_empty() {
            vec![]
        } else {
            vec![(None, q.has, created.len() as u64)]
        };
        for (zone, has, n) in rows {
            let h = Headroom {
                name: q.name.clone(),
                code: q.code.clone(),
                zone: zone.clone(),
                has,
                adds: n,
                limit: q.limit,
                source: q.source.clone(),
            };
            if h.over() {
                let place = zone.map(|z| format!(" in {z}")).unwrap_or_default();
                errors.push(
                    Diagnostic::error(format!(
                        "the plan needs {} more than the quota allows: {}{place} — this account has {has}, the plan adds {n}, the quota is {} ({}, {})",
                        h.has + h.adds - h.limit,
                        q.name,
                        q.limit,
                        q.code,
                        q.source
                    ))
                    .hint(quota_hint(q))
                    .clone(),
                );
            }
            out.push(h);
        }
    }
    if errors.has_errors() {
        Err((out, errors))
    } else {
        Ok(out)
    }
}

fn quota_hint(q: &Quota) -> String {
    let increase = format!(
        "request an increase (Service Quotas, {}: aws service-quotas request-service-quota-increase --service-code {} --quota-code {} --desired-value N)",
        q.code,
        if q.kind == Kind::ElasticIp { "ec2" } else { "vpc" },
        q.code
    );
    match q.kind {
        Kind::ElasticIp | Kind::NatGateway => format!(
            "{increase}; or need fewer: nat_gateways = \"single\" (one NAT, one address per network), or nat_type = \"instance\" (no Elastic IP unless set)"
        ),
        _ => format!("{increase}; or delete what the account no longer uses"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusing_zones_are_sourced() {
        for (id, why) in LAMBDA_REFUSES {
            assert!(id.contains("-az") && why.len() > 20);
        }
        assert!(lambda_refuses("use1-az3").is_some());
        assert!(lambda_refuses("use1-az1").is_none());
    }
}
