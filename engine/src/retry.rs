//! One retry policy for the whole workspace: one jittered backoff, one proportional poll, every retry
//! budget in one table with the reason for it, and the deadline that makes them nest.
//!
//! # How the budgets nest
//! A step of an apply (a create, an update, a delete) runs under a **deadline**: its budget
//! (`STEP_CREATE`, `STEP_DELETE`) from the moment it starts. Every layer below respects it:
//! - the engine retries the step's retryable errors with `Backoff::STEP` and starts no retry past it;
//! - the provider's request layer retries one request (throttling, a 5xx, an id not visible yet) for at
//!   most `REQUEST` — or `CONSISTENCY` for an id made moments ago — and never past the deadline;
//! - a wait for an object's lifecycle (a NAT gateway `available`) polls for at most `WAIT`, and never
//!   past the deadline;
//! - a create whose outcome is unknown is sent again at most `CREATE_RESENDS` times, each after
//!   looking for what it may have made.
//!
//! So **one stuck call holds an apply at most its step's budget plus one request attempt** (the
//! attempt in flight at the deadline is not cut: `--timeout`, 30 s by default): `longest_hold`.
//! Outside apply steps, refresh re-reads an object made minutes ago for at most `REFRESH_REREAD`, and
//! crash recovery waits out the provider's in-flight horizon once.

use rand::Rng;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// Jittered exponential backoff: the pause before retry `attempt` (1, 2, …) is half the capped doubling
/// of `first`, plus up to the other half at random (so many callers refused together do not come
/// back together).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub first: Duration,
    pub max: Duration,
}

impl Backoff {
    /// An apply step's retries (a dependency going away, a role propagating): from half a second up to
    /// 30 s between tries.
    pub const STEP: Backoff = Backoff {
        first: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };
    /// One request's retries in the provider's request layer, against AWS: 250 ms up to 10 s.
    pub const REQUEST: Backoff = Backoff {
        first: Duration::from_millis(250),
        max: Duration::from_secs(10),
    };

    pub fn pause(&self, attempt: u32) -> Duration {
        let cap = self
            .first
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max);
        let half = cap / 2;
        half + Duration::from_millis(
            rand::thread_rng().gen_range(0..=half.as_millis().max(1) as u64),
        )
    }

    /// The longest pause it can give.
    pub fn longest(&self) -> Duration {
        self.max
    }
}

/// The pause between two looks at an object being waited on: a tenth of the time waited so far, at
/// least `min`, at most `max` — a short wait is noticed quickly and a long one costs few calls.
pub fn poll_pause(min: Duration, max: Duration, waited: Duration) -> Duration {
    (waited / 10).clamp(min, max.max(min))
}

/// A limit on retrying: a length of time or a count of attempts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    Time(Duration),
    Attempts(u32),
}

/// One budget: its name, its limit, and why it is that.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub name: &'static str,
    pub limit: Limit,
    pub reason: &'static str,
}

/// A create or update step, retries included.
pub const STEP_CREATE: Duration = Duration::from_secs(10 * 60);
/// A delete step, retries included.
pub const STEP_DELETE: Duration = Duration::from_secs(50 * 60);
/// One request's retries (throttling, 5xx) in the provider's request layer.
pub const REQUEST: Duration = Duration::from_secs(120);
/// How long an id a run made may answer NotFound (eventual consistency), in the request layer.
pub const CONSISTENCY: Duration = Duration::from_secs(180);
/// A delete whose earlier attempt may have taken effect, then answered NotFound for a fresh id.
pub const AMBIGUOUS_DELETE: Duration = Duration::from_secs(20);
/// Times a create with an unknown outcome is sent again (each after looking for what it made).
pub const CREATE_RESENDS: u32 = 4;
/// A wait for an object's lifecycle (available, deleted).
pub const WAIT: Duration = Duration::from_secs(15 * 60);
/// Unanswered attempts in a row, on one service, before its endpoint is declared unreachable.
pub const UNANSWERED: u32 = 3;
/// After an endpoint was declared unreachable, calls to it fail at once for this long; the next one
/// is then sent once, as a probe.
pub const UNREACHABLE_PROBE: Duration = Duration::from_secs(60);
/// Refresh: how long after netplan made an object a NotFound is read again before it is believed.
pub const REFRESH_REREAD: Duration = Duration::from_secs(3 * 60);

/// Every budget, with the reason for it (ARCHITECTURE.md and the tests read this table).
pub static BUDGETS: &[Budget] = &[
    Budget {
        name: "step: create or update",
        limit: Limit::Time(STEP_CREATE),
        reason: "AWS's slowest create, a NAT gateway, takes 1-5 minutes; the rest is room for throttling and a role propagating (5-20 s)",
    },
    Budget {
        name: "step: delete",
        limit: Limit::Time(STEP_DELETE),
        reason: "Lambda's network interfaces linger 20-45 minutes after their function is deleted, holding its subnets and security groups",
    },
    Budget {
        name: "request: throttling and 5xx",
        limit: Limit::Time(REQUEST),
        reason: "EC2's token buckets refill in seconds; a 5xx that lasts minutes is an outage, better said than hidden",
    },
    Budget {
        name: "request: an id just made answers NotFound",
        limit: Limit::Time(CONSISTENCY),
        reason: "EC2's eventual consistency is documented as seconds, seen up to a few minutes",
    },
    Budget {
        name: "request: a delete that may have been done",
        limit: Limit::Time(AMBIGUOUS_DELETE),
        reason: "a NotFound after a lost answer is the delete done, or the id not visible yet: sent again for a while, then believed",
    },
    Budget {
        name: "create: resends after an unknown outcome",
        limit: Limit::Attempts(CREATE_RESENDS),
        reason: "each resend follows lookups that found nothing; more would only duplicate risk",
    },
    Budget {
        name: "wait: an object's lifecycle",
        limit: Limit::Time(WAIT),
        reason: "a NAT gateway is pending 1-5 minutes, a function in a VPC 1-2; 15 is a failure AWS did not report",
    },
    Budget {
        name: "endpoint: unanswered attempts in a row",
        limit: Limit::Attempts(UNANSWERED),
        reason: "three timeouts in a row on one service is an endpoint that does not answer: the run ends in minutes, not hours",
    },
    Budget {
        name: "endpoint: calls refused after it was declared unreachable",
        limit: Limit::Time(UNREACHABLE_PROBE),
        reason: "then one call is sent as a probe: an endpoint that answers again is used again",
    },
    Budget {
        name: "refresh: an object made minutes ago reads as gone",
        limit: Limit::Time(REFRESH_REREAD),
        reason: "the same eventual consistency, at plan time: read again before it counts as deleted",
    },
];

/// How long one stuck call can hold an apply: its step's budget, plus the request attempt in flight
/// when the deadline passes (`attempt_timeout`, `--timeout`).
pub fn longest_hold(step_budget: Duration, attempt_timeout: Duration) -> Duration {
    step_budget + attempt_timeout
}

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Runs `f` under `deadline`: every layer below (the request layer's retries, a wait) stops retrying
/// there. Nested deadlines keep the earlier.
pub async fn within<F: Future>(deadline: Instant, f: F) -> F::Output {
    let deadline = match current_deadline() {
        Some(outer) => outer.min(deadline),
        None => deadline,
    };
    DEADLINE.scope(deadline, f).await
}

/// The deadline the current task runs under, if any.
pub fn current_deadline() -> Option<Instant> {
    DEADLINE.try_with(|d| *d).ok()
}

/// Whether a pause of `pause` from now, and then another try, still fits before the deadline (and
/// within `budget` of `since`).
pub fn room_for(pause: Duration, since: Instant, budget: Duration) -> bool {
    let next = Instant::now() + pause;
    next <= since + budget && current_deadline().is_none_or(|d| next <= d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_within_its_cap_with_jitter_in_the_upper_half() {
        let b = Backoff::STEP;
        for attempt in 0..20 {
            let cap = (b.first * (1u32 << attempt.min(16))).min(b.max);
            for _ in 0..20 {
                let p = b.pause(attempt);
                assert!(
                    p >= cap / 2 && p <= cap,
                    "attempt {attempt}: {p:?} of {cap:?}"
                );
            }
        }
    }

    #[test]
    fn polls_are_a_tenth_of_the_wait_within_bounds() {
        let (min, max) = (Duration::from_millis(250), Duration::from_secs(30));
        for (waited, want) in [
            (Duration::ZERO, min),
            (Duration::from_secs(10), Duration::from_secs(1)),
            (Duration::from_secs(100), Duration::from_secs(10)),
            (Duration::from_secs(3600), max),
        ] {
            assert_eq!(poll_pause(min, max, waited), want, "{waited:?}");
        }
    }

    #[test]
    fn every_budget_has_a_reason_and_steps_outlast_what_runs_inside_them() {
        for b in BUDGETS {
            assert!(b.reason.len() > 20, "{}", b.name);
        }
        assert!(REQUEST < STEP_CREATE && CONSISTENCY < STEP_CREATE && WAIT < STEP_DELETE);
        assert_eq!(
            longest_hold(STEP_CREATE, Duration::from_secs(30)),
            Duration::from_secs(630)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_nest_and_keep_the_earlier() {
        let now = Instant::now();
        assert!(current_deadline().is_none());
        let inner = within(now + Duration::from_secs(60), async {
            within(now + Duration::from_secs(600), async { current_deadline() }).await
        })
        .await;
        assert_eq!(inner, Some(now + Duration::from_secs(60)));
        within(now + Duration::from_secs(5), async {
            assert!(room_for(
                Duration::from_secs(4),
                now,
                Duration::from_secs(100)
            ));
            assert!(!room_for(
                Duration::from_secs(6),
                now,
                Duration::from_secs(100)
            ));
            assert!(!room_for(
                Duration::from_secs(4),
                now,
                Duration::from_secs(3)
            ));
        })
        .await;
    }
}
