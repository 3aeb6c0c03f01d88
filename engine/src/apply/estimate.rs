//! How long an apply of a plan takes on the provider's cloud, before it runs: the plan's job graph
//! played out on the provider's typical step durations (`CloudFacts::typical`), each step starting
//! once what it waits for is done and its requests have their tokens from the cloud's rate buckets
//! (`CloudFacts::requests`, `rate`) — so the estimate stays right at scale, where a hundred networks
//! queue on EC2's five CreateRoute a second. It names the longest chain ("NAT gateways ≈ 2 min, then
//! functions"), the bucket that bounds the run when one does, and keeps each step's tail (the longest
//! chain from its start to the end) for the progress line's "remaining".
//!
//! `scale` multiplies the step durations and never the rates: 1 is the cloud itself; a realism layer
//! that plays AWS's lifecycles 20× faster (and its buckets at AWS's rates) is 0.05.

use super::jobgraph::{build, op_of};
use super::{ApplyError, StepId};
use crate::addr::Kind;
use crate::facts::CloudFacts;
use crate::plan::Plan;
use crate::state::State;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// One leg of the longest chain: a run of steps of one kind, or a wait for request tokens.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leg {
    /// The kind of the steps (none: a wait for a rate bucket).
    pub kind: Option<Kind>,
    /// The bucket waited on, for a wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket: Option<String>,
    pub steps: usize,
    pub seconds: f64,
}

/// The rate bucket that adds the most time over its burst: requests, and the floor they set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Floor {
    pub bucket: String,
    pub requests: u32,
    pub burst: f64,
    pub per_second: f64,
    /// `(requests - burst) / per_second`: no run can send them faster.
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    /// The expected wall time, rates included.
    pub seconds: f64,
    /// The longest chain of typical durations alone (the floor without rates).
    pub critical_path: f64,
    /// The bucket that bounds the run, when the rates add time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor: Option<Floor>,
    /// The longest chain, leg by leg.
    pub chain: Vec<Leg>,
    /// Requests the plan sends (all buckets).
    pub requests: u32,
    /// Where the figures come from (the provider's facts).
    pub source: String,
    pub scale: f64,
    /// Each step's tail: seconds from its start to the end of the run along its longest chain.
    #[serde(skip)]
    pub tails: HashMap<StepId, f64>,
    /// Each step's own typical duration (scaled).
    #[serde(skip)]
    pub own: HashMap<StepId, f64>,
}

/// A bucket as the simulation spends it: tokens at `last`.
struct Bucket {
    burst: f64,
    rate: f64,
    tokens: f64,
    last: f64,
}

impl Bucket {
    /// The time a request asked at `t` gets its token (requests served in the order they ask).
    fn take(&mut self, t: f64) -> f64 {
        let t0 = t.max(self.last);
        self.tokens = (self.tokens + self.rate * (t0 - self.last)).min(self.burst);
        self.last = t0;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            t0
        } else {
            let wait = (1.0 - self.tokens) / self.rate;
            self.tokens = 0.0;
            self.last = t0 + wait;
            t0 + wait
        }
    }
}

#[derive(PartialEq)]
struct Ready {
    at: f64,
    tail: f64,
    node: usize,
}

impl Eq for Ready {}

impl Ord for Ready {
    // Earliest first; among steps ready at once, the longest tail first (as the request layer's
    // priority gate serves them).
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.total_cmp(&self.at)
            .then(self.tail.total_cmp(&o.tail))
            .then(o.node.cmp(&self.node))
    }
}

impl PartialOrd for Ready {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

/// The estimate of applying `plan` to `state` on the cloud `facts` describes.
pub fn estimate(
    plan: &Plan,
    state: &State,
    facts: &dyn CloudFacts,
    scale: f64,
) -> Result<Estimate, ApplyError> {
    let g = build(plan, state, facts)?;
    let order = g.order()?;
    let index: HashMap<_, usize> = order.iter().enumerate().map(|(n, i)| (*i, n)).collect();
    let own: Vec<f64> = order
        .iter()
        .map(|i| {
            let step = &g.g[*i].step;
            facts
                .typical(step.address.kind, op_of(step.kind))
                .as_secs_f64()
                * scale
        })
        .collect();
    let requests: Vec<Vec<(String, u32)>> = order
        .iter()
        .map(|i| {
            let node = &g.g[*i];
            let config = match &node.job {
                super::job::Job::Create { config, .. } | super::job::Job::Update { config, .. } => {
                    Some(config)
                }
                _ => None,
            };
            facts.requests(node.step.address.kind, op_of(node.step.kind), config)
        })
        .collect();
    let deps: Vec<Vec<usize>> = order
        .iter()
        .map(|i| g.dependencies(*i).map(|d| index[&d]).collect())
        .collect();
    let dependents: Vec<Vec<usize>> = order
        .iter()
        .map(|i| g.dependents(*i).map(|d| index[&d]).collect())
        .collect();
    // Tails: the longest chain of own durations from each step's start.
    let mut tail = vec![0.0f64; order.len()];
    for n in (0..order.len()).rev() {
        let after = dependents[n].iter().map(|d| tail[*d]).fold(0.0, f64::max);
        tail[n] = own[n] + after;
    }
    let critical_path = tail.iter().copied().fold(0.0, f64::max);
    // The walk: steps in the order they become ready, each waiting for its requests' tokens.
    let mut buckets: BTreeMap<String, Bucket> = BTreeMap::new();
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut start = vec![0.0f64; order.len()];
    let mut finish = vec![0.0f64; order.len()];
    let mut token_wait: Vec<Option<String>> = vec![None; order.len()];
    let mut heap = BinaryHeap::new();
    for (n, w) in waiting.iter().enumerate() {
        if *w == 0 {
            heap.push(Ready {
                at: 0.0,
                tail: tail[n],
                node: n,
            });
        }
    }
    let mut sent: BTreeMap<String, u32> = BTreeMap::new();
    while let Some(Ready { at, node, .. }) = heap.pop() {
        let mut begins = at;
        for (bucket, count) in &requests[node] {
            *sent.entry(bucket.clone()).or_default() += count;
            let Some((burst, rate)) = facts.rate(bucket) else {
                continue;
            };
            let b = buckets.entry(bucket.clone()).or_insert(Bucket {
                burst,
                rate,
                tokens: burst,
                last: 0.0,
            });
            for _ in 0..*count {
                let got = b.take(at);
                if got > begins + 1e-9 {
                    begins = got;
                    token_wait[node] = Some(bucket.clone());
                }
            }
        }
        start[node] = begins;
        finish[node] = begins + own[node];
        for d in &dependents[node] {
            waiting[*d] -= 1;
            if waiting[*d] == 0 {
                let at = deps[*d].iter().map(|p| finish[*p]).fold(0.0, f64::max);
                heap.push(Ready {
                    at,
                    tail: tail[*d],
                    node: *d,
                });
            }
        }
    }
    let seconds = finish.iter().copied().fold(0.0, f64::max);
    // When a step was ready: its last dependency done.
    let ready = |n: usize| deps[n].iter().map(|p| finish[*p]).fold(0.0, f64::max);
    // The longest chain, traced back from the step that finishes last: each step, and before it
    // its wait for tokens when it had one.
    enum Link {
        Step(usize),
        Wait(usize),
    }
    let mut links = vec![];
    let mut at = (0..order.len()).max_by(|a, b| finish[*a].total_cmp(&finish[*b]));
    while let Some(n) = at {
        links.push(Link::Step(n));
        let at_ready = ready(n);
        if start[n] > at_ready + 1e-9 {
            links.push(Link::Wait(n));
        }
        at = deps[n]
            .iter()
            .copied()
            .find(|p| (finish[*p] - at_ready).abs() < 1e-9);
    }
    links.reverse();
    let mut chain: Vec<Leg> = vec![];
    for link in links {
        let (kind, bucket, secs) = match link {
            Link::Wait(m) => (None, token_wait[m].clone(), start[m] - ready(m)),
            Link::Step(n) => (Some(g.g[order[n]].step.address.kind), None, own[n]),
        };
        match chain.last_mut() {
            Some(l) if l.kind == kind && l.bucket == bucket => {
                l.steps += 1;
                l.seconds += secs;
            }
            _ => chain.push(Leg {
                kind,
                bucket,
                steps: 1,
                seconds: secs,
            }),
        }
    }
    let floor = sent
        .iter()
        .filter_map(|(bucket, n)| {
            let (burst, rate) = facts.rate(bucket)?;
            let secs = (*n as f64 - burst).max(0.0) / rate;
            (secs > 0.0).then(|| Floor {
                bucket: bucket.clone(),
                requests: *n,
                burst,
                per_second: rate,
                seconds: secs,
            })
        })
        .max_by(|a, b| a.seconds.total_cmp(&b.seconds));
    let steps: Vec<StepId> = order.iter().map(|i| g.g[*i].step.clone()).collect();
    Ok(Estimate {
        seconds,
        critical_path,
        floor,
        chain,
        requests: sent.values().sum(),
        source: facts.source(),
        scale,
        tails: steps.iter().cloned().zip(tail.iter().copied()).collect(),
        own: steps.into_iter().zip(own.iter().copied()).collect(),
    })
}

/// A duration as a reader wants it: `4.5 s`, `45 s`, `2 min 10 s`, `1 h 5 min`.
pub fn human(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if seconds < 9.95 {
        format!("{seconds:.1} s")
    } else if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        match s % 60 {
            0 => format!("{} min", s / 60),
            r => format!("{} min {r} s", s / 60),
        }
    } else {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    }
}

impl Estimate {
    /// What dominates: the chain's legs of at least a tenth of the run, in order ("NAT gateways
    /// ≈ 2 min, then functions ≈ 1 min 15 s").
    pub fn summary(&self) -> String {
        let big: Vec<String> = self
            .chain
            .iter()
            .filter(|l| l.seconds >= self.seconds * 0.1)
            .map(|l| match (&l.kind, &l.bucket) {
                (Some(k), _) => format!("{} ≈ {}", k.plural(), human(l.seconds)),
                (None, Some(b)) => format!("waiting for {b} requests ≈ {}", human(l.seconds)),
                (None, None) => format!("waiting ≈ {}", human(l.seconds)),
            })
            .collect();
        big.join(", then ")
    }

    /// Seconds left once `elapsed` has passed, `running` steps started `for` seconds ago and the
    /// `done` ones finished: the longest tail still ahead.
    pub fn remaining(&self, running: &[(StepId, f64)], pending: &[StepId]) -> f64 {
        let of_running = running.iter().map(|(s, ran)| {
            let tail = self.tails.get(s).copied().unwrap_or(0.0);
            let own = self.own.get(s).copied().unwrap_or(0.0);
            (tail - ran).max(tail - own)
        });
        let of_pending = pending
            .iter()
            .map(|s| self.tails.get(s).copied().unwrap_or(0.0));
        of_running.chain(of_pending).fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_serve_in_order_and_refill() {
        let mut b = Bucket {
            burst: 2.0,
            rate: 1.0,
            tokens: 2.0,
            last: 0.0,
        };
        let got: Vec<f64> = (0..4).map(|_| b.take(0.0)).collect();
        assert_eq!(got, vec![0.0, 0.0, 1.0, 2.0]);
        // Later, the bucket has refilled up to its burst, no more.
        assert_eq!(b.take(10.0), 10.0);
        assert_eq!(b.take(10.0), 10.0);
        assert_eq!(b.take(10.0), 11.0);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        for (s, want) in [
            (0.2, "0.2 s"),
            (4.66, "4.7 s"),
            (45.0, "45 s"),
            (120.0, "2 min"),
            (130.0, "2 min 10 s"),
            (3900.0, "1 h 5 min"),
        ] {
            assert_eq!(human(s), want);
        }
    }
}
