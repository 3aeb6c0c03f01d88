//! The state writer: the one task that writes the state file during a run.
//!
//! Jobs send it mutations and wait until the write that carries them is durable. Batching: everything
//! queued while the last write ran goes into the next write, and every sender is acknowledged only once
//! that write is durable; one write per mutation would make a large apply quadratic in the state's size.
//! Who closes the channel: every job holds a sender clone through its `RunContext`; when the last one is
//! dropped at the end of `apply`, the loop ends and hands back the final state.

use crate::addr::ResourceAddr;
use crate::state::store::StateStore;
use crate::state::{PendingOperation, ResourceState, State};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

pub(crate) enum Mutation {
    Pending(PendingOperation),
    /// Clears the address's pending operation and applies the change.
    Settle(ResourceAddr, Settle),
}

pub(crate) enum Settle {
    Nothing,
    Upsert(ResourceState),
    Remove {
        deposed: bool,
    },
    /// Marks the live object deposed (a create-then-delete replacement is about to create the new one).
    Depose,
    /// Makes the deposed object live again (undo of a create-then-delete replacement).
    Undepose,
}

type Ack = oneshot::Sender<Result<(), String>>;

/// The sending end jobs hold.
#[derive(Clone)]
pub(crate) struct StateWriter {
    tx: mpsc::Sender<(Mutation, Ack)>,
}

impl StateWriter {
    /// Starts the writer task over `state`; its join handle returns the final state.
    pub(crate) fn spawn(
        mut state: State,
        store: Arc<dyn StateStore>,
    ) -> (StateWriter, tokio::task::JoinHandle<State>) {
        let (tx, mut rx) = mpsc::channel::<(Mutation, Ack)>(64);
        let handle = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while let Ok(more) = rx.try_recv() {
                    batch.push(more);
                }
                let mut acks = Vec::with_capacity(batch.len());
                for (m, ack) in batch {
                    apply_mutation(&mut state, m);
                    acks.push(ack);
                }
                state.serial += 1;
                let result = store.save(&state).map_err(|e| e.to_string());
                for ack in acks {
                    let _ = ack.send(result.clone());
                }
            }
            state
        });
        (StateWriter { tx }, handle)
    }

    /// Sends a mutation and waits until it is durable.
    pub(crate) async fn write(&self, m: Mutation) -> Result<(), String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((m, ack))
            .await
            .map_err(|_| "the state writer stopped".to_string())?;
        done.await
            .map_err(|_| "the state writer stopped".to_string())?
    }
}

fn apply_mutation(state: &mut State, m: Mutation) {
    match m {
        Mutation::Pending(p) => {
            state.pending.retain(|x| x.address != p.address);
            state.pending.push(p);
        }
        Mutation::Settle(addr, s) => {
            state.pending.retain(|x| x.address != addr);
            match s {
                Settle::Nothing => {}
                Settle::Upsert(r) => state.upsert(r),
                Settle::Remove { deposed } => {
                    state.remove(&addr, deposed);
                }
                Settle::Depose => {
                    if let Some(mut r) = state.remove(&addr, false) {
                        r.deposed = true;
                        state.remove(&addr, true);
                        state.upsert(r);
                    }
                }
                Settle::Undepose => {
                    if let Some(mut r) = state.remove(&addr, true) {
                        r.deposed = false;
                        state.upsert(r);
                    }
                }
            }
        }
    }
}
