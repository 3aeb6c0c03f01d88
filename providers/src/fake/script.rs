//! Scripting the fake: per-kind latencies, and any operation failing on its Nth call (by kind, by
//! address or any), once or several times in a row.

use netplan_engine::provider::{ErrorKind, ProviderError};
use netplan_engine::{Kind, ResourceAddr};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Find,
}

/// A scripted failure: the `nth` call (1-based) of `op` on `kind` (any kind when `None`) fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub op: Op,
    #[serde(default)]
    pub kind: Option<Kind>,
    #[serde(default)]
    pub address: Option<ResourceAddr>,
    #[serde(default = "one")]
    pub nth: usize,
    #[serde(default = "fail_code")]
    pub code: String,
    /// Fail this many consecutive calls from the nth on (a transient error that retry rides out).
    #[serde(default = "one")]
    pub times: usize,
}

fn one() -> usize {
    1
}
fn fail_code() -> String {
    "InternalError".into()
}

/// What a test (or `NETPLAN_FAKE_SCRIPT`) scripts: latencies, failures, ENI linger time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Script {
    /// Milliseconds a create (and an update) of each kind takes.
    #[serde(default)]
    pub create_ms: BTreeMap<Kind, u64>,
    /// Milliseconds a delete of each kind takes.
    #[serde(default)]
    pub delete_ms: BTreeMap<Kind, u64>,
    #[serde(default)]
    pub read_ms: u64,
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// How long a deleted function's network interfaces linger (AWS: up to ~20–45 min).
    #[serde(default)]
    pub eni_linger_ms: u64,
    /// How long one request takes (holding a slot), before the object's lifecycle latency.
    #[serde(default)]
    pub request_ms: u64,
    /// Requests in flight at once (`--parallelism`); unlimited when unset.
    #[serde(default)]
    pub max_in_flight: Option<usize>,
}

impl Script {
    /// AWS-like latencies scaled by `scale` (1.0 = real seconds): NAT 120 s, Lambda 75 s, …
    pub fn aws_like(scale: f64) -> Script {
        let ms = |s: f64| (s * 1000.0 * scale) as u64;
        let mut create = BTreeMap::new();
        let mut delete = BTreeMap::new();
        for (k, c, d) in [
            (Kind::Vpc, 2.0, 1.0),
            (Kind::Subnet, 1.0, 1.0),
            (Kind::InternetGateway, 2.0, 2.0),
            (Kind::EgressOnlyInternetGateway, 1.0, 1.0),
            (Kind::ElasticIp, 1.0, 1.0),
            (Kind::NatGateway, 120.0, 60.0),
            (Kind::RouteTable, 1.0, 1.0),
            (Kind::VpcEndpoint, 5.0, 5.0),
            (Kind::SecurityGroup, 1.0, 1.0),
            (Kind::NetworkAcl, 1.0, 1.0),
            (Kind::IamRole, 1.0, 1.0),
            (Kind::LambdaFunction, 75.0, 5.0),
        ] {
            create.insert(k, ms(c));
            delete.insert(k, ms(d));
        }
        Script {
            create_ms: create,
            delete_ms: delete,
            read_ms: ms(0.2),
            failures: vec![],
            eni_linger_ms: ms(20.0 * 60.0),
            request_ms: 0,
            max_in_flight: None,
        }
    }
}

/// Call counts per operation (overall, per kind, per address): what `nth` counts against.
#[derive(Default)]
pub(super) struct Counters {
    counts: HashMap<(Op, Option<Kind>), usize>,
    address_counts: HashMap<(Op, ResourceAddr), usize>,
}

impl Counters {
    /// Counts the call and returns the scripted failure, if this call is one.
    pub fn failure(
        &mut self,
        failures: &[Failure],
        op: Op,
        addr: Option<&ResourceAddr>,
    ) -> Option<ProviderError> {
        let kind = addr.map(|a| a.kind);
        let n_any = {
            let c = self.counts.entry((op, None)).or_insert(0);
            *c += 1;
            *c
        };
        let n_kind = kind.map(|k| {
            let c = self.counts.entry((op, Some(k))).or_insert(0);
            *c += 1;
            *c
        });
        let n_addr = addr.map(|a| {
            let c = self.address_counts.entry((op, a.clone())).or_insert(0);
            *c += 1;
            *c
        });
        for f in failures {
            if f.op != op {
                continue;
            }
            let n = match (&f.address, f.kind) {
                (Some(fa), _) => match (addr, n_addr) {
                    (Some(a), Some(n)) if a == fa => n,
                    _ => continue,
                },
                (None, Some(fk)) => match n_kind {
                    Some(n) if kind == Some(fk) => n,
                    _ => continue,
                },
                (None, None) => n_any,
            };
            if n >= f.nth && n < f.nth + f.times {
                let kind = match f.code.as_str() {
                    "Throttling" | "RequestLimitExceeded" => ErrorKind::Throttled,
                    "DependencyViolation" => ErrorKind::DependencyViolation,
                    "InvalidParameterValue" => ErrorKind::InvalidInput,
                    _ => ErrorKind::Other,
                };
                return Some(
                    ProviderError::new(kind, format!("scripted failure of {op:?} call {n}"))
                        .code(&f.code),
                );
            }
        }
        None
    }
}
