//! Crash recovery: settle the pending operations a killed run left in the state, before anything is
//! planned. A pending create is looked up by its idempotency key (token and netplan's tags) and adopted
//! if it came to be; a pending update or delete is read back. Works on the in-memory state: `ops` saves
//! it (apply) or only shows it (plan).
//!
//! A request the killed run sent may still be on its way: the cloud can carry out a create after the
//! process that asked for it is gone. So a create is concluded never to have happened only once the
//! provider's in-flight horizon has passed since it started (the lookup is repeated then), and its
//! token is handed to the next create of the address, so an API that takes a ClientToken answers a
//! late original with the same object rather than a second one.

use crate::addr::ResourceAddr;
use crate::provider::{
    FindRequest, IdempotencyKey, ObjectRef, Provider, ProviderError, ReadRequest,
};
use crate::state::{Operation, ResourceState, State};
use std::fmt;

/// What reconciling one pending operation found.
#[derive(Debug, Clone, PartialEq)]
pub enum Reconciled {
    /// A create that did happen: the object is now tracked.
    Adopted { address: ResourceAddr, id: String },
    /// A create that never came to be; the next create of the address reuses its token.
    NeverCreated {
        address: ResourceAddr,
        token: String,
    },
    /// An update or delete whose outcome was read back from the cloud.
    Refreshed { address: ResourceAddr, exists: bool },
}

impl fmt::Display for Reconciled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reconciled::Adopted { address, id } => {
                write!(f, "adopted {address} ({id}): an interrupted run created it")
            }
            Reconciled::NeverCreated { address, .. } => {
                write!(f, "{address}: the interrupted create never happened")
            }
            Reconciled::Refreshed {
                address,
                exists: true,
            } => write!(f, "{address}: read back after an interrupted change"),
            Reconciled::Refreshed {
                address,
                exists: false,
            } => write!(f, "{address}: gone after an interrupted delete"),
        }
    }
}

/// Settles the pending operations a crashed run left: the provider looks each create up by its token
/// and tags (adopting what it finds), and reads back each updated or deleted object. Works on the
/// in-memory state; the caller saves it (apply) or only shows it (plan).
pub async fn reconcile(
    provider: &dyn Provider,
    stack: &str,
    state: &mut State,
) -> Result<Vec<Reconciled>, ProviderError> {
    let mut out = vec![];
    for p in std::mem::take(&mut state.pending) {
        match p.operation {
            Operation::Create => {
                let key = IdempotencyKey {
                    token: p.token.clone(),
                    stack: stack.to_string(),
                    address: p.address.clone(),
                };
                let tracked_elsewhere = |id: &str| {
                    state
                        .resources
                        .iter()
                        .any(|r| r.address.kind == p.address.kind && r.id == id)
                };
                let mut found = find_untracked(provider, &key, &tracked_elsewhere).await?;
                if found.is_none() {
                    // Still possibly in flight: wait out the horizon, then look again.
                    let age = crate::state::age(&p.started_at).unwrap_or_default();
                    let horizon = provider.in_flight_horizon();
                    if age < horizon {
                        tokio::time::sleep(horizon - age).await;
                        found = find_untracked(provider, &key, &tracked_elsewhere).await?;
                    }
                }
                match found {
                    Some(o) => {
                        let deps = p
                            .dependencies
                            .iter()
                            .filter(|d| state.resources.iter().any(|r| &r.address == *d))
                            .cloned()
                            .collect();
                        out.push(Reconciled::Adopted {
                            address: p.address.clone(),
                            id: o.id.clone(),
                        });
                        state.upsert(ResourceState {
                            address: p.address,
                            id: o.id,
                            existing: false,
                            deposed: false,
                            attributes: o.attrs,
                            dependencies: deps,
                            created_at: Some(p.started_at),
                        });
                    }
                    None => out.push(Reconciled::NeverCreated {
                        address: p.address,
                        token: p.token,
                    }),
                }
            }
            Operation::Update | Operation::Delete => {
                let Some(id) = p.id.clone() else { continue };
                let resp = provider
                    .read(ReadRequest {
                        objects: vec![ObjectRef {
                            address: p.address.clone(),
                            id: id.clone(),
                        }],
                    })
                    .await?;
                let found = resp.objects.into_iter().next().and_then(|(_, o)| o);
                let deposed = state
                    .resources
                    .iter()
                    .any(|r| r.address == p.address && r.id == id && r.deposed);
                match found {
                    Some(o) => {
                        if let Some(r) = state
                            .resources
                            .iter_mut()
                            .find(|r| r.address == p.address && r.id == id)
                        {
                            for (k, v) in o.attrs {
                                r.attributes.insert(k, v);
                            }
                        }
                        out.push(Reconciled::Refreshed {
                            address: p.address,
                            exists: true,
                        });
                    }
                    None => {
                        state.remove(&p.address, deposed);
                        out.push(Reconciled::Refreshed {
                            address: p.address,
                            exists: false,
                        });
                    }
                }
            }
        }
    }
    Ok(out)
}

/// The object a create with this key made, unless the state tracks it under another address (then it
/// is not this one's).
async fn find_untracked(
    provider: &dyn Provider,
    key: &IdempotencyKey,
    tracked_elsewhere: &dyn Fn(&str) -> bool,
) -> Result<Option<crate::provider::ObjectState>, ProviderError> {
    Ok(provider
        .find(FindRequest {
            address: key.address.clone(),
            idempotency: key.clone(),
        })
        .await?
        .object
        .filter(|o| !tracked_elsewhere(&o.id)))
}
