//! Operations the commands are made of, shared by the CLI and the tests: prove the config's functions
//! reach the internet (the gate), load the state, settle what a crashed run left pending, refresh, and
//! plan. Plan-only callers never write; apply callers save.

use crate::config::Config;
use crate::diag::Diagnostics;
use crate::plan::{self, Plan, PlanError, PlanOptions};
use crate::provider::{Provider, ProviderError};
use crate::reconcile::{reconcile, Reconciled};
use crate::state::store::{StateError, StateStore};
use crate::state::State;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The reachability gate refused the config: a function with `internet` on has no path out.
    #[error("{0}")]
    Unreachable(Diagnostics),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("reconciling the operations a previous run left pending failed: {0}")]
    Reconcile(ProviderError),
    /// A function's code cannot be packaged where the plan needs it (a function to create whose
    /// source is gone, a source too big for Lambda).
    #[error("{0}")]
    Package(Diagnostics),
    /// The account cannot take the plan (a zone it lacks, a quota exceeded, a runtime AWS blocks):
    /// refused before anything is created.
    #[error("{0}")]
    Account(Diagnostics),
}

/// What the plan found of the account it is for (none: the provider reads no account, or refresh was
/// off).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccountReport {
    pub region: String,
    pub principal: Option<String>,
    pub placement: crate::account::Placement,
    pub headroom: Vec<crate::account::Headroom>,
}

/// How much the provider's step durations are scaled for an estimate: `NETPLAN_LATENCY_SCALE` (a
/// realism layer that plays AWS's lifecycles faster says by how much; its request rates stay AWS's),
/// else 1.
pub fn latency_scale() -> f64 {
    std::env::var("NETPLAN_LATENCY_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .unwrap_or(1.0)
}

/// How long applying a prepared plan takes on the provider's cloud (`apply::estimate`); `None` when
/// the plan changes nothing or has no job graph.
pub fn estimate(
    prepared: &Prepared,
    provider: &dyn Provider,
) -> Option<crate::apply::estimate::Estimate> {
    if !prepared.plan.has_changes() {
        return None;
    }
    crate::apply::estimate::estimate(
        &prepared.plan,
        &prepared.working,
        provider.facts(),
        latency_scale(),
    )
    .ok()
}

/// A plan with the state it was computed from.
pub struct Prepared {
    /// The config as planned: each function's desired `code_sha256` from its package.
    pub config: Config,
    /// The functions' code the plan needs (what apply uploads).
    pub packages: crate::package::Packages,
    /// The state as stored (`None`: no state yet).
    pub stored: Option<State>,
    /// The stored state after reconciliation and refresh: what apply starts from.
    pub working: State,
    pub reconciled: Vec<Reconciled>,
    pub plan: Plan,
    /// The gate's findings below error level (single-AZ and cross-AZ NAT warnings), and a function
    /// whose source is gone keeping its deployed code.
    pub warnings: Diagnostics,
    /// The account the plan was checked against.
    pub account: Option<AccountReport>,
}

impl Prepared {
    /// The tokens of creates a killed run started and that never came to be, for apply to reuse.
    pub fn resume_tokens(&self) -> std::collections::BTreeMap<crate::ResourceAddr, String> {
        self.reconciled
            .iter()
            .filter_map(|r| match r {
                Reconciled::NeverCreated { address, token } => {
                    Some((address.clone(), token.clone()))
                }
                _ => None,
            })
            .collect()
    }

    /// The options an apply of this plan starts from: the config's stack, the functions' code, the
    /// tokens of creates a killed run started.
    pub fn apply_options(&self) -> crate::apply::ApplyOptions {
        let mut opts = crate::apply::ApplyOptions::for_config(&self.config);
        opts.packages = self.packages.zips.clone();
        opts.resume_tokens = self.resume_tokens();
        opts
    }
}

pub struct PrepareOptions {
    pub refresh: bool,
    pub destroy: bool,
    /// The caller will apply (apply, destroy): reconciling a crashed run may discard what a create
    /// that never came to be left behind. Without it (plan) nothing is changed.
    pub settle: bool,
}

/// The gate every path that creates something goes through (validate, plan, apply from a config or a
/// saved plan, check): `Err` with the errors when a function that needs the internet cannot reach it,
/// else the warnings.
pub fn gate(config: &Config) -> Result<Diagnostics, Diagnostics> {
    let found = crate::reach::gate(config);
    if found.has_errors() {
        Err(found)
    } else {
        Ok(found)
    }
}

pub async fn prepare(
    config: &Config,
    provider: &dyn Provider,
    store: &dyn StateStore,
    opts: PrepareOptions,
) -> Result<Prepared, OpsError> {
    // Destroy tears down whatever the config describes, reachable or not.
    let warnings = if opts.destroy {
        Diagnostics::default()
    } else {
        gate(config).map_err(OpsError::Unreachable)?
    };
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
        let mode = if opts.settle {
            crate::reconcile::Mode::Settle
        } else {
            crate::reconcile::Mode::ReadOnly
        };
        reconciled = reconcile(provider, &config.stack.name, &mut working, mode)
            .await
            .map_err(OpsError::Reconcile)?;
    }
    let mut warnings = warnings;
    // The account: its zones chosen and checked (pinned ones kept), before anything is created.
    let mut account = None;
    let mut placed_config = None;
    // Read only when something is to be made: a converged stack's plan costs no account calls.
    let makes_something = config
        .resources
        .values()
        .any(|r| r.existing.is_none() && working.get(&r.addr).is_none());
    if !opts.destroy && opts.refresh && makes_something {
        let instance_types: Vec<String> = config
            .of_kind(crate::Kind::NatInstance)
            .map(|n| {
                n.str_attr("instance_type")
                    .unwrap_or(crate::schema::DEFAULT_NAT_INSTANCE_TYPE)
                    .to_string()
            })
            .collect();
        match provider
            .account(crate::provider::AccountRequest { instance_types })
            .await
        {
            Ok(acc) => {
                let (placed, placement, found) =
                    crate::account::place(config, Some(&working), &acc).map_err(OpsError::Account)?;
                warnings.0.extend(found.0);
                placed_config = Some(placed);
                account = Some((acc, placement));
            }
            Err(e) if e.kind == crate::provider::ErrorKind::Unsupported => {}
            Err(e) => warnings.push(
                crate::diag::Diagnostic::warning(format!(
                    "the account could not be read ({e}): zones come from netplan's table, and quotas are not counted"
                ))
                .clone(),
            ),
        }
    }
    let config = placed_config.as_ref().unwrap_or(config);
    // Runtimes: a function to create on one AWS blocks is refused; the rest is said.
    if !opts.destroy {
        let exists = |a: &crate::ResourceAddr| working.get(a).is_some();
        let found = crate::runtimes::check(config, &crate::runtimes::today(), &exists);
        if found.has_errors() {
            return Err(OpsError::Account(found));
        }
        warnings.0.extend(found.0);
    }
    let mut drift = vec![];
    let has_existing = config.resources.values().any(|r| r.existing.is_some());
    if opts.refresh && (!working.resources.is_empty() || has_existing) {
        drift = plan::refresh(provider, Some(config), &mut working).await?;
    }
    // Function code, where the plan needs it: a destroy needs none; a function whose source is gone
    // keeps the code it has deployed.
    let (packages, kept) = if opts.destroy {
        Default::default()
    } else {
        let deployed = |a: &crate::ResourceAddr| {
            working
                .get(a)
                .filter(|r| !r.existing)
                .and_then(|r| r.attributes.get("code_sha256"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        crate::package::Packages::for_plan(config, &deployed).map_err(OpsError::Package)?
    };
    warnings.0.extend(kept.0);
    let config = &packages.apply_to(config);
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
    // Quotas: what the account has, plus what the plan adds, against each.
    let account = match account {
        Some((acc, placement)) => {
            let headroom = match crate::account::quotas(&plan, config, &acc) {
                Ok(h) => h,
                Err((_, errors)) => return Err(OpsError::Account(errors)),
            };
            // The zones chosen are pinned by the apply that uses them.
            working.zones = placement.pins();
            Some(AccountReport {
                region: acc.region.clone(),
                principal: acc.principal.clone(),
                placement,
                headroom,
            })
        }
        None => None,
    };
    Ok(Prepared {
        config: config.clone(),
        packages,
        stored,
        working,
        reconciled,
        plan,
        warnings,
        account,
    })
}
