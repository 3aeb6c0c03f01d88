//! Crash recovery: settle the pending operations a killed run left in the state, before anything is
//! planned. A pending create is looked up by its idempotency key (token and netplan's tags) and adopted
//! if it came to be; a pending update or delete is read back. Works on the in-memory state: `ops` saves
//! it (apply) or only shows it (plan).

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
    /// A create that never came to be.
    NeverCreated { address: ResourceAddr },
    /// An update or delete whose outcome was read back from the cloud.
    Refreshed { address: ResourceAddr, exists: bool },
}

impl fmt::Display for Reconciled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reconciled::Adopted { address, id } => {
                write!(f, "adopted {address} ({id}): an interrupted run created it")
            }
            Reconciled::NeverCreated { address } => {
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
                match provider
                    .find(FindRequest {
                        address: p.address.clone(),
                        idempotency: key,
                    })
                    .await?
                    .object
                    // An object the state already tracks under another address is not this one's.
                    .filter(|o| {
                        !state
                            .resources
                            .iter()
                            .any(|r| r.address.kind == p.address.kind && r.id == o.id)
                    }) {
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
                        });
                    }
                    None => out.push(Reconciled::NeverCreated { address: p.address }),
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
