//! Exactly-once creates. Where the API takes a ClientToken (route tables, network ACLs, NAT and
//! egress-only gateways, endpoints, instances) the create's idempotency token is passed, and EC2 answers
//! a repeat with the same object. Where it takes none (VPCs, subnets, Elastic IPs, internet gateways,
//! security groups, roles, functions) a request is never re-sent blindly:
//!
//! - a retry of the step (`attempt > 0`) first looks for what an earlier attempt made, by netplan's tags
//!   and the create's token (set in the create call itself), and adopts it;
//! - an answer that leaves the outcome unknown (a 5xx, a timeout, a broken connection) is followed by
//!   lookups spaced over a few seconds (a new object may take a moment to show in a filtered describe);
//!   only when none finds it is the request sent again;
//! - after an unknown outcome, once the object is chosen, a last look finds any other object the same
//!   create made (a lost answer that a lookup missed) and deletes it: it carries this create's token,
//!   so it is this step's own duplicate and nothing else's.

use super::api::Service;
use super::attrs::Select;
use super::kinds::AwsKind;
use super::AwsProvider;
use netplan_engine::provider::{
    CreateRequest, DeleteRequest, ErrorKind, ObjectState, ProviderError,
};
use std::future::Future;
use std::time::Duration;

/// How many times a create with an unknown outcome is sent again (after looking each time).
const RESENDS: u32 = 4;

/// Makes the object once: `create` sends one create request (through the request layer, as
/// `Effect::Create`, or `Effect::Write` with a ClientToken) and returns the new object (its id and what
/// the create response says).
pub(crate) async fn create_once<F, Fut>(
    p: &AwsProvider,
    kind: &dyn AwsKind,
    req: &CreateRequest,
    create: F,
) -> Result<ObjectState, ProviderError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<ObjectState, ProviderError>>,
{
    let mine = Select::made_by(&req.idempotency);
    let mut unknown = false;
    let mut chosen = None;
    if req.attempt > 0 {
        chosen = kind.made_before(p, req).await?;
        unknown = chosen.is_some();
    }
    let mut resends = 0;
    while chosen.is_none() {
        match create().await {
            Ok(o) => chosen = Some(o),
            Err(e) if e.kind == ErrorKind::Unavailable && resends < RESENDS => {
                unknown = true;
                resends += 1;
                chosen = look_patiently(p, kind, req).await?;
                if chosen.is_none() {
                    tracing::debug!(
                        "{}: the create's outcome is unknown and nothing it made is visible: sending it again",
                        req.address
                    );
                }
            }
            Err(e) => return Err(e),
        }
    }
    let chosen = chosen.expect("set in the loop");
    p.api.made(Service::of(req.address.kind), &chosen.id);
    if unknown {
        remove_duplicates(p, kind, req, &mine, &chosen.id).await?;
    }
    Ok(chosen)
}

/// Lookups spaced over a few seconds (scaled to the provider's poll interval).
async fn look_patiently(
    p: &AwsProvider,
    kind: &dyn AwsKind,
    req: &CreateRequest,
) -> Result<Option<ObjectState>, ProviderError> {
    for pause in [1, 2, 4] {
        tokio::time::sleep(p.poll / 2 * pause).await;
        if let Some(o) = kind.made_before(p, req).await? {
            return Ok(Some(o));
        }
    }
    Ok(None)
}

/// Deletes what else this create made (same token), after a pause for late arrivals to show.
async fn remove_duplicates(
    p: &AwsProvider,
    kind: &dyn AwsKind,
    req: &CreateRequest,
    mine: &Select,
    keep: &str,
) -> Result<(), ProviderError> {
    tokio::time::sleep(p.poll * 2).await;
    for dup in kind
        .describe(p, mine)
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
        kind.delete(
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
