//! Exactly-once creates. Where the API takes a ClientToken (route tables, network ACLs, NAT and
//! egress-only gateways, endpoints, instances) the create's idempotency token is passed, and EC2 answers
//! a repeat with the same object. Where it takes none (VPCs, subnets, Elastic IPs, internet gateways,
//! security groups, roles, functions) a request is never re-sent blindly. The decisions (`once`, tested
//! by the table below) are:
//!
//! - a retry of the step (`CreateRequest::earlier`) first takes what an earlier attempt of this
//!   process made (remembered by the create's token: no describe can lag behind it); failing that,
//!   it looks by netplan's tags and the token — patiently (lookups spaced over a few seconds, a new
//!   object may take a moment to show in a filtered describe) when the last attempt's outcome is
//!   unknown, once otherwise;
//! - an answer that leaves the outcome unknown (a 5xx, a timeout, a broken connection) is followed by
//!   patient lookups; only when none finds it is the request sent again, at most `CREATE_RESENDS`
//!   times — and after the last one the lookups run too, so an object the last send made is adopted,
//!   not left behind;
//! - after an unknown outcome, once the object is chosen, a last look finds any other object the same
//!   create made (a lost answer that a lookup missed) and deletes it: it carries this create's token,
//!   so it is this step's own duplicate and nothing else's.

use super::api::Service;
use super::attrs::Select;
use super::kinds::AwsKind;
use super::AwsProvider;
use async_trait::async_trait;
use netplan_engine::provider::{
    CreateRequest, DeleteRequest, Earlier, ErrorKind, ObjectState, ProviderError,
};
use std::future::Future;
use std::time::Duration;

/// How many times a create with an unknown outcome is sent again (after looking each time).
const RESENDS: u32 = netplan_engine::retry::CREATE_RESENDS;

/// What one create can do, for `once` to decide between.
#[async_trait]
pub(crate) trait Attempt: Send + Sync {
    /// What this process made with this create's token, read by id (none: nothing remembered, or it
    /// is gone).
    async fn remembered(&self) -> Result<Option<ObjectState>, ProviderError>;
    /// One lookup by netplan's tags and the create's token.
    async fn look(&self) -> Result<Option<ObjectState>, ProviderError>;
    /// The pause before the `n`-th patient lookup (1, 2, 3).
    async fn pause(&self, n: u32);
    /// Sends the create request once.
    async fn send(&self) -> Result<ObjectState, ProviderError>;
    /// Deletes whatever else this create made (same token), keeping `keep`.
    async fn remove_duplicates(&self, keep: &str) -> Result<(), ProviderError>;
}

/// The object a create chose, and whether an outcome was unknown on the way (then its duplicates
/// were looked for and removed).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Chosen {
    pub object: ObjectState,
    pub unknown: bool,
}

/// Lookups spaced over a few seconds.
async fn look_patiently(a: &dyn Attempt) -> Result<Option<ObjectState>, ProviderError> {
    for n in 1..=3 {
        a.pause(n).await;
        if let Some(o) = a.look().await? {
            return Ok(Some(o));
        }
    }
    Ok(None)
}

/// The decisions of an exactly-once create (the module docs).
pub(crate) async fn once(a: &dyn Attempt, earlier: Earlier) -> Result<Chosen, ProviderError> {
    let mut unknown = false;
    let mut chosen = None;
    if earlier.attempts > 0 {
        chosen = a.remembered().await?;
        if chosen.is_none() {
            chosen = if earlier.outcome_unknown {
                look_patiently(a).await?
            } else {
                a.look().await?
            };
        }
        unknown = earlier.outcome_unknown || chosen.is_some();
    }
    let mut resends = 0;
    while chosen.is_none() {
        match a.send().await {
            Ok(o) => chosen = Some(o),
            Err(e) if e.kind == ErrorKind::Unavailable => {
                unknown = true;
                chosen = look_patiently(a).await?;
                if chosen.is_none() {
                    if resends == RESENDS {
                        // The last send's outcome is unknown too, and nothing shows: the caller keeps
                        // the create pending (the next run looks again).
                        return Err(e);
                    }
                    resends += 1;
                    tracing::debug!(
                        "the create's outcome is unknown and nothing it made is visible: sending it again"
                    );
                }
            }
            Err(e) => return Err(e),
        }
    }
    let object = chosen.expect("set in the loop");
    if unknown {
        a.remove_duplicates(&object.id).await?;
    }
    Ok(Chosen { object, unknown })
}

/// One create of one kind against AWS.
struct Aws<'a, F> {
    p: &'a AwsProvider,
    kind: &'a dyn AwsKind,
    req: &'a CreateRequest,
    create: F,
}

#[async_trait]
impl<F, Fut> Attempt for Aws<'_, F>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<ObjectState, ProviderError>> + Send,
{
    async fn remembered(&self) -> Result<Option<ObjectState>, ProviderError> {
        let Some(id) = self.p.made_by(&self.req.idempotency.token) else {
            return Ok(None);
        };
        Ok(self
            .kind
            .describe(self.p, &Select::one(&id))
            .await?
            .into_iter()
            .next())
    }

    async fn look(&self) -> Result<Option<ObjectState>, ProviderError> {
        self.kind.made_before(self.p, self.req).await
    }

    async fn pause(&self, n: u32) {
        tokio::time::sleep(self.p.poll / 2 * (1 << (n - 1))).await;
    }

    async fn send(&self) -> Result<ObjectState, ProviderError> {
        (self.create)().await
    }

    async fn remove_duplicates(&self, keep: &str) -> Result<(), ProviderError> {
        let (p, req) = (self.p, self.req);
        // A pause for late arrivals to show.
        tokio::time::sleep(p.poll * 2).await;
        for dup in self
            .kind
            .describe(p, &Select::made_by(&req.idempotency))
            .await?
            .into_iter()
            .filter(|o| o.id != keep)
        {
            tracing::debug!(
                "{}: deleting {}, a duplicate an unanswered create made",
                req.address,
                dup.id
            );
            p.api.made(Service::of(req.address.kind), &dup.id);
            self.kind
                .delete(
                    p,
                    &DeleteRequest {
                        address: req.address.clone(),
                        id: dup.id.clone(),
                        attrs: dup.attrs.clone(),
                        retrying_for: Duration::ZERO,
                        progress: None,
                    },
                )
                .await?;
        }
        Ok(())
    }
}

/// Makes the object once: `create` sends one create request (through the request layer, as
/// `Effect::Once`, or `Effect::Repeatable` with a ClientToken) and returns the new object (its id and
/// what the create response says). The object is remembered by the create's token, so a retry of the
/// step (a later call that failed) starts from it.
pub(crate) async fn create_once<F, Fut>(
    p: &AwsProvider,
    kind: &dyn AwsKind,
    req: &CreateRequest,
    create: F,
) -> Result<ObjectState, ProviderError>
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<ObjectState, ProviderError>> + Send,
{
    let attempt = Aws {
        p,
        kind,
        req,
        create,
    };
    let chosen = once(&attempt, req.earlier).await?;
    p.api.made(Service::of(req.address.kind), &chosen.object.id);
    p.remember(&req.idempotency.token, &chosen.object.id);
    Ok(chosen.object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Mutex;

    /// A scripted create: what each lookup and send answers, and a log of what `once` did.
    #[derive(Default)]
    struct Script {
        remembered: Option<&'static str>,
        looks: Mutex<VecDeque<Option<&'static str>>>,
        sends: Mutex<VecDeque<Result<&'static str, ErrorKind>>>,
        log: Mutex<Vec<String>>,
    }

    fn obj(id: &str) -> ObjectState {
        ObjectState::new(id, Default::default())
    }

    #[async_trait]
    impl Attempt for Script {
        async fn remembered(&self) -> Result<Option<ObjectState>, ProviderError> {
            self.log.lock().unwrap().push("remembered".into());
            Ok(self.remembered.map(obj))
        }
        async fn look(&self) -> Result<Option<ObjectState>, ProviderError> {
            self.log.lock().unwrap().push("look".into());
            Ok(self.looks.lock().unwrap().pop_front().flatten().map(obj))
        }
        async fn pause(&self, _: u32) {}
        async fn send(&self) -> Result<ObjectState, ProviderError> {
            self.log.lock().unwrap().push("send".into());
            match self.sends.lock().unwrap().pop_front() {
                Some(Ok(id)) => Ok(obj(id)),
                Some(Err(k)) => Err(ProviderError::new(k, "scripted")),
                None => panic!("an unscripted send"),
            }
        }
        async fn remove_duplicates(&self, keep: &str) -> Result<(), ProviderError> {
            self.log
                .lock()
                .unwrap()
                .push(format!("dedupe keeping {keep}"));
            Ok(())
        }
    }

    const U: ErrorKind = ErrorKind::Unavailable;

    /// (case, earlier attempts, outcome unknown, remembered, looks, sends) → (what it did, result).
    #[tokio::test]
    async fn once_table() {
        #[allow(clippy::type_complexity)]
        let cases: &[(
            &str,
            u32,
            bool,
            Option<&'static str>,
            &[Option<&'static str>],
            &[Result<&'static str, ErrorKind>],
            &str,
            Result<(&str, bool), ErrorKind>,
        )] = &[
            ("a first attempt sends once, looks nowhere", 0, false, None, &[], &[Ok("a")], "send", Ok(("a", false))),
            ("a refusal is final and nothing is looked for", 0, false, None, &[], &[Err(ErrorKind::InvalidInput)], "send", Err(ErrorKind::InvalidInput)),
            ("a lost answer: the lookups find it, no second send", 0, false, None, &[None, Some("a")], &[Err(U)], "send look look dedupe keeping a", Ok(("a", true))),
            ("a lost answer and nothing visible: sent again, then duplicates removed", 0, false, None, &[None, None, None], &[Err(U), Ok("b")], "send look look look send dedupe keeping b", Ok(("b", true))),
            ("every send unanswered: after the last, the lookups still run and adopt", 0, false, None, &[None, None, None, None, None, None, None, None, None, None, None, None, None, None, Some("z")], &[Err(U), Err(U), Err(U), Err(U), Err(U)], "send look look look send look look look send look look look send look look look send look look look dedupe keeping z", Ok(("z", true))),
            ("every send unanswered and nothing ever visible: the outcome stays unknown", 0, false, None, &[None; 15], &[Err(U), Err(U), Err(U), Err(U), Err(U)], "send look look look send look look look send look look look send look look look send look look look", Err(U)),
            ("a retry takes what this process made with the token", 1, false, Some("a"), &[], &[], "remembered dedupe keeping a", Ok(("a", true))),
            ("a retry after a refusal looks once, then sends", 1, false, None, &[None], &[Ok("a")], "remembered look send", Ok(("a", false))),
            ("a retry after a refusal adopts what the look finds", 1, false, None, &[Some("a")], &[], "remembered look dedupe keeping a", Ok(("a", true))),
            ("a retry after an unknown outcome looks patiently before sending", 1, true, None, &[None, None, Some("a")], &[], "remembered look look look dedupe keeping a", Ok(("a", true))),
            ("a retry after an unknown outcome, nothing visible: sends, then removes duplicates", 1, true, None, &[None, None, None], &[Ok("b")], "remembered look look look send dedupe keeping b", Ok(("b", true))),
        ];
        let mut wrong = vec![];
        for (name, attempts, unknown, remembered, looks, sends, want_log, want) in cases {
            let s = Script {
                remembered: *remembered,
                looks: Mutex::new(looks.iter().copied().collect()),
                sends: Mutex::new(sends.iter().copied().collect()),
                log: Mutex::default(),
            };
            let earlier = Earlier {
                attempts: *attempts,
                outcome_unknown: *unknown,
            };
            let got = once(&s, earlier)
                .await
                .map(|c| (c.object.id.clone(), c.unknown))
                .map_err(|e| e.kind);
            let got = got
                .as_ref()
                .map(|(id, u)| (id.as_str(), *u))
                .map_err(|k| *k);
            let log = s.log.lock().unwrap().join(" ");
            if got != *want || log != *want_log {
                wrong.push(format!(
                    "{name}:\n   did  {log}\n   want {want_log}\n   got {got:?}, want {want:?}"
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
