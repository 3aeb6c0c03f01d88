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
//!
//! Reading never writes: plan reconciles `ReadOnly` (lookups only). Apply and destroy reconcile with
//! `Settle`, and only then — the horizon passed, nothing found — is what the create left behind
//! discarded (`Provider::discard`: a NAT instance's security group made before the instance).

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

/// Whether reconciling may change the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Lookups only (plan, and every command that only reads).
    ReadOnly,
    /// Apply and destroy: what a create that never came to be left behind is discarded.
    Settle,
}

/// Settles the pending operations a crashed run left: the provider looks each create up by its token
/// and tags (adopting what it finds), and reads back each updated or deleted object. Works on the
/// in-memory state; the caller saves it (apply) or only shows it (plan).
pub async fn reconcile(
    provider: &dyn Provider,
    stack: &str,
    state: &mut State,
    mode: Mode,
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
                    None => {
                        if mode == Mode::Settle {
                            provider
                                .discard(FindRequest {
                                    address: key.address.clone(),
                                    idempotency: key.clone(),
                                })
                                .await?;
                        }
                        out.push(Reconciled::NeverCreated {
                            address: p.address,
                            token: p.token,
                        })
                    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Kind;
    use crate::provider::*;
    use crate::state::PendingOperation;
    use std::sync::Mutex;
    use std::time::Duration;

    /// A cloud that answers `find` from a script (one answer per call) and `read` from what it holds,
    /// and records what was discarded.
    struct Cloud {
        finds: Mutex<Vec<Option<&'static str>>>,
        holds: Vec<&'static str>,
        discarded: Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl Provider for Cloud {
        fn name(&self) -> &str {
            "scripted"
        }
        async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
            Ok(ReadResponse {
                objects: req
                    .objects
                    .into_iter()
                    .map(|o| {
                        let found = self.holds.contains(&o.id.as_str()).then(|| {
                            let mut a = crate::value::JsonAttrs::new();
                            a.insert("seen".into(), "yes".into());
                            ObjectState::new(o.id.clone(), a)
                        });
                        (o.address, found)
                    })
                    .collect(),
            })
        }
        async fn create(&self, _: CreateRequest) -> Result<CreateResponse, ProviderError> {
            unreachable!("reconcile never creates")
        }
        async fn update(&self, _: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
            unreachable!("reconcile never updates")
        }
        async fn delete(&self, _: DeleteRequest) -> Result<DeleteResponse, ProviderError> {
            unreachable!("reconcile never deletes")
        }
        async fn find(&self, _: FindRequest) -> Result<FindResponse, ProviderError> {
            let mut f = self.finds.lock().unwrap();
            let answer = if f.is_empty() { None } else { f.remove(0) };
            Ok(FindResponse {
                object: answer.map(|id| ObjectState::new(id, Default::default())),
            })
        }
        async fn discard(&self, req: FindRequest) -> Result<(), ProviderError> {
            self.discarded
                .lock()
                .unwrap()
                .push(req.idempotency.token.clone());
            Ok(())
        }
        fn in_flight_horizon(&self) -> Duration {
            Duration::from_secs(10)
        }
    }

    fn addr(name: &str) -> ResourceAddr {
        ResourceAddr::new(Kind::Subnet, name)
    }

    /// (case, the pending operation, its age, what finds answer, what the cloud holds, tracked ids,
    /// mode) → what was concluded, and whether anything was discarded.
    #[tokio::test(start_paused = true)]
    async fn reconcile_table() {
        use Operation::*;
        #[allow(clippy::type_complexity)]
        let cases: &[(
            &str,
            Operation,
            Option<&str>,
            u64,
            &[Option<&'static str>],
            &[&'static str],
            &[(&str, &str)],
            Mode,
            &str,
            bool,
        )] = &[
            (
                "a create that happened is adopted",
                Create,
                None,
                60,
                &[Some("subnet-1")],
                &[],
                &[],
                Mode::Settle,
                "adopted subnet-1",
                false,
            ),
            (
                "a create not found after the horizon never happened",
                Create,
                None,
                60,
                &[None],
                &[],
                &[],
                Mode::ReadOnly,
                "never created",
                false,
            ),
            (
                "…and apply discards what it left",
                Create,
                None,
                60,
                &[None],
                &[],
                &[],
                Mode::Settle,
                "never created",
                true,
            ),
            (
                "a create younger than the horizon is looked for again once it passed",
                Create,
                None,
                2,
                &[None, Some("subnet-9")],
                &[],
                &[],
                Mode::Settle,
                "adopted subnet-9",
                false,
            ),
            (
                "an object another address tracks is not this create's",
                Create,
                None,
                60,
                &[Some("subnet-7")],
                &[],
                &[("other", "subnet-7")],
                Mode::ReadOnly,
                "never created",
                false,
            ),
            (
                "an interrupted update is read back",
                Update,
                Some("subnet-3"),
                60,
                &[],
                &["subnet-3"],
                &[("s", "subnet-3")],
                Mode::ReadOnly,
                "refreshed, exists",
                false,
            ),
            (
                "an interrupted delete that went through",
                Delete,
                Some("subnet-4"),
                60,
                &[],
                &[],
                &[("s", "subnet-4")],
                Mode::ReadOnly,
                "refreshed, gone",
                false,
            ),
        ];
        let mut wrong = vec![];
        for (name, op, id, age, finds, holds, tracked, mode, want, want_discard) in cases {
            let cloud = Cloud {
                finds: Mutex::new(finds.to_vec()),
                holds: holds.to_vec(),
                discarded: Mutex::default(),
            };
            let mut state = State::new("stack");
            for (n, id) in *tracked {
                state.upsert(ResourceState {
                    address: addr(n),
                    id: id.to_string(),
                    existing: false,
                    deposed: false,
                    attributes: Default::default(),
                    dependencies: vec![],
                    created_at: None,
                });
            }
            let started = std::time::SystemTime::now() - Duration::from_secs(*age);
            state.pending.push(PendingOperation {
                operation: *op,
                address: addr("s"),
                id: id.map(str::to_string),
                token: "tok".into(),
                started_at: humantime::format_rfc3339_millis(started).to_string(),
                dependencies: vec![],
            });
            let out = reconcile(&cloud, "stack", &mut state, *mode).await.unwrap();
            let got = match out.as_slice() {
                [Reconciled::Adopted { id, .. }] => format!("adopted {id}"),
                [Reconciled::NeverCreated { .. }] => "never created".to_string(),
                [Reconciled::Refreshed { exists: true, .. }] => "refreshed, exists".into(),
                [Reconciled::Refreshed { exists: false, .. }] => "refreshed, gone".into(),
                other => format!("{other:?}"),
            };
            let discarded = !cloud.discarded.lock().unwrap().is_empty();
            if got != *want || discarded != *want_discard || !state.pending.is_empty() {
                wrong.push(format!(
                    "{name}: {got} (discarded {discarded}), want {want} (discarded {want_discard})"
                ));
            }
            // What the state then holds agrees with the conclusion.
            let held = state.get(&addr("s")).map(|r| r.id.clone());
            let ok = match got.as_str() {
                g if g.starts_with("adopted ") => held.as_deref() == Some(&g[8..]),
                "refreshed, exists" => state
                    .get(&addr("s"))
                    .is_some_and(|r| r.attributes.get("seen").is_some()),
                _ => held.is_none(),
            };
            if !ok {
                wrong.push(format!("{name}: the state holds {held:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }
}
