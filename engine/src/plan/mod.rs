//! Planning, in rooms: `refresh` (the cloud read through the provider: drift, objects made minutes
//! ago read again), `diff` (the config against the refreshed state: create / update / replace with its
//! order / delete / read / forget, attribute by attribute, unknowns), `saved` (plans saved with `-o`
//! and refused when stale) and `digest` (what a saved plan checks the config against). Here: the plan
//! as data — per resource an action, attribute-level before → after, and the reason for every
//! replacement. Reasons explain; they never drive apply.

mod diff;
mod digest;
mod refresh;
mod saved;

pub use diff::{is_set_attr, normalize, plan, PlanOptions};
pub use digest::config_digest;
pub use refresh::{differences, managed_attrs, refresh, AttrDiff};
pub use saved::{SavedPlan, StalePlan};

use crate::addr::{Kind, ResourceAddr};
use crate::provider::ProviderError;
use crate::schema::ReplaceOrder;
use crate::value::{Attrs, Value};
use serde::{Deserialize, Serialize};

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    NoOp,
    /// Start using an `existing` object (recorded in state, never changed).
    Read,
    Create,
    Update,
    Replace {
        order: ReplaceOrder,
    },
    Delete,
    /// Stop tracking an `existing` object that left the config; the object itself is not touched.
    Forget,
}

impl Action {
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Read => "<=",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace {
                order: ReplaceOrder::DeleteThenCreate,
            } => "-/+",
            Action::Replace {
                order: ReplaceOrder::CreateThenDelete,
            } => "+/-",
            Action::Delete => "-",
            Action::Forget => ".",
        }
    }

    pub fn is_change(self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttrChange {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: ResourceAddr,
    pub action: Action,
    /// The object's current id (updates, replacements, deletes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What changes, attribute by attribute (display; apply uses `config`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<AttrChange>,
    /// Why (replacements, drift). Explanation only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The desired attributes with references unresolved, for create/update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Attrs>,
    /// What this step waits for (create/update: its dependencies; delete: what depended on it is
    /// expressed by the executor reversing the state's dependencies).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ResourceAddr>,
    /// The step deletes an object that existed before this run: rollback cannot bring it back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub irreversible: bool,
    /// The step deletes an object that does not carry this stack's netplan tags (what it carries):
    /// apply asks for confirmation, or `--force`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_owned: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DriftKind {
    Deleted,
    Changed {
        attributes: Vec<String>,
    },
    /// The object no longer carries this stack's and this address's netplan tags (`owner` says what
    /// it carries): deleting it asks for confirmation.
    NotOwned {
        owner: String,
    },
}

/// What refresh found changed outside netplan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: ResourceAddr,
    #[serde(flatten)]
    pub kind: DriftKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub stack: String,
    #[serde(default)]
    pub destroy: bool,
    /// The state this plan was computed against (`None`: no state yet).
    pub state_lineage: Option<String>,
    pub state_serial: u64,
    pub config_digest: String,
    /// In apply order: creates and updates in dependency order, then deletes in reverse.
    pub changes: Vec<Change>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Drift>,
    /// What the stack costs each month before and after this plan (not kept in saved plans: it is
    /// derived again when one is applied).
    #[serde(default, skip_deserializing, skip_serializing_if = "Option::is_none")]
    pub cost: Option<PlanCost>,
}

/// The monthly cost of what the state holds now and of what the config builds, and the difference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanCost {
    pub before: crate::pricing::Cost,
    pub after: crate::pricing::Cost,
    /// USD a month this plan adds (negative: saves); `None` when a price is unknown.
    pub change: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub read: usize,
    pub forget: usize,
}

impl Plan {
    /// Deletes of objects that do not carry this stack's netplan tags.
    pub fn not_owned(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|c| c.not_owned.is_some())
            .collect()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace { .. } => {
                    s.add += 1;
                    s.destroy += 1
                }
                Action::Delete => s.destroy += 1,
                Action::Read => s.read += 1,
                Action::Forget => s.forget += 1,
                Action::NoOp => {}
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("refresh failed: {0}")]
    Provider(#[from] ProviderError),
    #[error("{address}: the existing {kind} `{id}` was not found")]
    ExistingNotFound {
        address: ResourceAddr,
        kind: Kind,
        id: String,
    },
}
