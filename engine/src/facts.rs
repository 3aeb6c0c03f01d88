//! What a cloud is like, as its provider declares it. The engine knows no cloud: which creates take
//! minutes, how long each step typically takes, and which deletes the cloud refuses in the other order
//! are the provider's facts (`Provider::facts`), read by the job graph (rule (d): delete order; rule
//! (f): what does not wait for a slow create), by request priorities and the critical path, and by the
//! plan's estimate of an apply's time. The AWS provider declares AWS's (dated and sourced); the fake
//! declares its own (its scripted latencies).

use crate::addr::{Kind, ResourceAddr};
use crate::state::State;
use crate::value::Attrs;
use std::time::Duration;

/// What a step does to an object, for its typical duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Update,
    Delete,
}

pub trait CloudFacts: Send + Sync {
    /// How long a step of `op` on an object of `kind` typically takes on this cloud, the object's
    /// lifecycle included (a NAT gateway pending, a function's network interfaces being made).
    fn typical(&self, kind: Kind, op: Op) -> Duration;
    /// A create that takes minutes: what needs only part of an object that depends on it (a route
    /// table's other routes, its subnets) does not wait for it (job-graph rule (f)).
    fn slow_create(&self, kind: Kind) -> bool {
        let _ = kind;
        false
    }
    /// Deletes the cloud refuses in the other order, for the objects in `state`: pairs (first, then)
    /// of addresses whose deletes the job graph orders so (rule (d)).
    fn delete_order(&self, state: &State) -> Vec<(ResourceAddr, ResourceAddr)> {
        let _ = state;
        vec![]
    }
    /// What the figures are: "AWS, typical latencies as of 2026-12" — said beside an estimate.
    fn source(&self) -> String {
        "no figures".into()
    }
    /// The requests a step sends, by the rate bucket they draw on (`ec2:CreateRoute`): what the
    /// estimate's request-rate floor counts. `config` is the step's planned configuration (a route
    /// table's routes and subnets each cost a request).
    fn requests(&self, kind: Kind, op: Op, config: Option<&Attrs>) -> Vec<(String, u32)> {
        let _ = (kind, op, config);
        vec![]
    }
    /// A rate bucket's size: (burst, refill a second). `None`: not limited.
    fn rate(&self, bucket: &str) -> Option<(f64, f64)> {
        let _ = bucket;
        None
    }
}

/// A cloud the engine knows nothing about: every step a second, nothing slow, no delete order.
pub struct NoFacts;

impl CloudFacts for NoFacts {
    fn typical(&self, _: Kind, _: Op) -> Duration {
        Duration::from_secs(1)
    }
}
