//! Operations the commands are made of, shared by the CLI and the tests: load the state, settle what a
//! crashed run left pending, refresh, and plan. Plan-only callers never write; apply callers save.

use crate::apply::{reconcile, Reconciled};
use crate::config::Config;
use crate::plan::{self, Plan, PlanError, PlanOptions};
use crate::provider::{Provider, ProviderError};
use crate::state::store::{StateError, StateStore};
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("reconciling the operations a previous run left pending failed: {0}")]
    Reconcile(ProviderError),
    #[error("{what} the {count} objects in {location} needs a cloud provider")]
    NoProvider {
        what: &'static str,
        count: usize,
        location: String,
    },
}

/// A plan with the state it was computed from.
pub struct Prepared {
    /// The state as stored (`None`: no state yet).
    pub stored: Option<State>,
    /// The stored state after reconciliation and refresh: what apply starts from.
    pub working: State,
    pub reconciled: Vec<Reconciled>,
    pub plan: Plan,
    /// Existing objects were not read because there was no provider.
    pub existing_unread: bool,
}

pub struct PrepareOptions {
    pub refresh: bool,
    pub destroy: bool,
}

pub async fn prepare(
    config: &Config,
    provider: Option<&dyn Provider>,
    store: &dyn StateStore,
    opts: PrepareOptions,
) -> Result<Prepared, OpsError> {
    let stored = store.load()?;
    if let Some(s) = &stored {
        if s.stack != config.stack.name {
            return Err(StateError::WrongStack {
                location: store.location(),
                found: s.stack.clone(),
                expected: config.stack.name.clone(),
            }
            .into());
        }
    }
    let mut working = stored
        .clone()
        .unwrap_or_else(|| State::new(&config.stack.name));
    let mut reconciled = vec![];
    if !working.pending.is_empty() {
        let Some(p) = provider else {
            return Err(OpsError::NoProvider {
                what: "reconciling the pending operations of",
                count: working.pending.len(),
                location: store.location(),
            });
        };
        reconciled = reconcile(p, &config.stack.name, &mut working)
            .await
            .map_err(OpsError::Reconcile)?;
    }
    let mut drift = vec![];
    let mut existing_unread = false;
    let has_existing = config.resources.values().any(|r| r.existing.is_some());
    if opts.refresh && (!working.resources.is_empty() || has_existing) {
        match provider {
            Some(p) => drift = plan::refresh(p, Some(config), &mut working).await?,
            None if working.resources.is_empty() => existing_unread = true,
            None => {
                return Err(OpsError::NoProvider {
                    what: "refreshing",
                    count: working.resources.len(),
                    location: store.location(),
                })
            }
        }
    }
    let mut plan = plan::plan(
        config,
        Some(&working),
        drift,
        PlanOptions {
            destroy: opts.destroy,
        },
    );
    // Existing objects refresh adopted into the working state are still news to the stored one.
    for c in plan
        .changes
        .iter_mut()
        .filter(|c| c.action == crate::plan::Action::NoOp && c.existing.is_some())
    {
        if stored
            .as_ref()
            .and_then(|s| s.get(&c.address))
            .map(|r| &r.id)
            != c.existing.as_ref()
        {
            c.action = crate::plan::Action::Read;
        }
    }
    plan.state_lineage = stored.as_ref().map(|s| s.lineage.clone());
    plan.state_serial = stored.as_ref().map(|s| s.serial).unwrap_or(0);
    Ok(Prepared {
        stored,
        working,
        reconciled,
        plan,
        existing_unread,
    })
}
