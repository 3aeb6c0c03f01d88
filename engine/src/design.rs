//! The egress designs `netplan cost` compares for one config: the same networks and functions with NAT
//! gateways per AZ, one NAT gateway, NAT instances, or IPv6 only — each a transformation of the loaded
//! config (`Config::rebuild`: its declarations rewritten, expanded and validated again, nothing read
//! again), priced, and proven (or not) by the reachability check.

use crate::addr::Kind;
use crate::config::{Config, Decl};
use crate::diag::Diagnostics;
use crate::pricing::{self, Cost};
use crate::reach::{self, Verdict};
use crate::value::Value;
use serde::Serialize;

/// How every `[network]` of the config reaches the internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Design {
    /// A NAT gateway in each AZ with private subnets (the guide's design).
    NatPerAz,
    /// One NAT gateway for all AZs.
    NatSingle,
    /// A NAT instance in each AZ.
    NatInstances,
    /// No NAT: IPv6 through an egress-only gateway; functions `internet = "ipv6"`.
    Ipv6Only,
}

impl Design {
    pub const ALL: [Design; 4] = [
        Design::NatPerAz,
        Design::NatSingle,
        Design::NatInstances,
        Design::Ipv6Only,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Design::NatPerAz => "NAT gateway per AZ",
            Design::NatSingle => "one NAT gateway",
            Design::NatInstances => "NAT instance per AZ",
            Design::Ipv6Only => "IPv6 only (no NAT)",
        }
    }

    /// What the design gives up against a NAT gateway per AZ.
    pub fn gives_up(self) -> &'static str {
        match self {
            Design::NatPerAz => "nothing (the reference: managed, one per AZ, up to 100 Gbit/s)",
            Design::NatSingle => {
                "AZ independence: if the NAT's AZ fails, every function loses IPv4; other AZs' traffic crosses AZs ($0.01/GB each way)"
            }
            Design::NatInstances => {
                "a managed NAT: you patch the instances; bandwidth is the type's (a t4g.nano sustains ~32 Mbit/s, bursts to 5 Gbit/s); a stopped instance cuts its AZ off"
            }
            Design::Ipv6Only => {
                "IPv4 reach: IPv4-only destinations (many APIs still are) are unreachable"
            }
        }
    }

    /// The config as it would be with this design.
    pub fn applied_to(self, config: &Config) -> Result<Config, Diagnostics> {
        config.rebuild(|decls| self.apply(decls))
    }

    /// Rewrites the config's high-level tables to this design.
    fn apply(self, decls: &mut [Decl]) {
        for d in decls.iter_mut() {
            let f = &mut d.fields;
            match (d.addr.kind, self) {
                (Kind::Network, Design::NatPerAz | Design::NatSingle) => {
                    f.insert("nat_type".into(), Value::str("gateway"));
                    f.remove("nat_instance_type");
                    d.spans.remove("nat_instance_type");
                    let mode = if self == Design::NatSingle {
                        "single"
                    } else {
                        "per_az"
                    };
                    f.insert("nat_gateways".into(), Value::str(mode));
                }
                (Kind::Network, Design::NatInstances) => {
                    f.insert("nat_type".into(), Value::str("instance"));
                    f.insert("nat_gateways".into(), Value::str("per_az"));
                }
                (Kind::Network, Design::Ipv6Only) => {
                    f.insert("ipv6".into(), Value::Bool(true));
                    f.insert("nat_gateways".into(), Value::str("none"));
                    f.remove("egress_only_igw");
                    f.remove("nat_instance_type");
                    d.spans.remove("nat_instance_type");
                }
                (Kind::Function, Design::Ipv6Only)
                    if f.get("internet") != Some(&Value::Bool(false)) =>
                {
                    f.insert("internet".into(), Value::str("ipv6"));
                }
                (Kind::Function, _) if f.get("internet") == Some(&Value::str("ipv6")) => {
                    f.insert("internet".into(), Value::Bool(true));
                }
                _ => {}
            }
        }
    }

    /// The design a config already uses, when all its networks agree.
    pub fn of(config: &Config) -> Option<Design> {
        let instances = config.of_kind(Kind::NatInstance).count();
        let gateways = config.of_kind(Kind::NatGateway).count();
        let networks = config
            .expansions
            .keys()
            .filter(|a| a.kind == Kind::Network)
            .count();
        if networks == 0 {
            return None;
        }
        let ipv6_only = config
            .of_kind(Kind::LambdaFunction)
            .all(|f| reach::Internet::of(f) != reach::Internet::On);
        match (gateways, instances) {
            (0, 0) if ipv6_only => Some(Design::Ipv6Only),
            (0, n) if n > 0 => Some(Design::NatInstances),
            (g, 0) if g == networks => Some(Design::NatSingle),
            (g, 0) if g > 0 => Some(Design::NatPerAz),
            _ => None,
        }
    }
}

/// One design, priced and checked.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluated {
    pub design: Design,
    pub label: &'static str,
    pub gives_up: &'static str,
    /// The config already uses this design.
    pub current: bool,
    /// Priced and checked, or why the design does not fit this config.
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Fits {
        cost: Cost,
        /// Every function that asks for the internet reaches it.
        reaches: bool,
        verdicts: Vec<Verdict>,
    },
    DoesNotFit {
        /// The first problem the config has in this design.
        reason: String,
    },
}

/// Every design for the config. `None` when it has no `[network]` table to vary.
pub fn compare(current: &Config) -> Option<Vec<Evaluated>> {
    let now = Design::of(current);
    if !current.expansions.keys().any(|a| a.kind == Kind::Network) {
        return None;
    }
    Some(
        Design::ALL
            .into_iter()
            .map(|design| {
                let outcome = match design.applied_to(current) {
                    Ok(c) => evaluate(&c),
                    Err(d) => does_not_fit(&d),
                };
                Evaluated {
                    design,
                    label: design.label(),
                    gives_up: design.gives_up(),
                    current: now == Some(design),
                    outcome,
                }
            })
            .collect(),
    )
}

fn evaluate(c: &Config) -> Outcome {
    let cost = pricing::cost(
        c.region.as_deref(),
        &pricing::of_config(c),
        c.stack.egress_gb_per_month,
    );
    let verdicts = reach::check(c);
    let reaches = verdicts.iter().all(|v| !v.internet || !v.blocked());
    Outcome::Fits {
        cost,
        reaches,
        verdicts,
    }
}

fn does_not_fit(d: &Diagnostics) -> Outcome {
    Outcome::DoesNotFit {
        reason: d
            .errors()
            .next()
            .map(|e| e.message.clone())
            .unwrap_or_else(|| "the config does not load".into()),
    }
}
