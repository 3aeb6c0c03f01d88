//! Saved plans (`plan -o FILE`): what they record, and why one is refused at apply (another state,
//! a state that moved, a config that changed, a plan file that differs from the plan derived again).

use super::{config_digest, Change, Plan};
use crate::config::Config;
use crate::state::State;
use serde::{Deserialize, Serialize};

/// A plan saved with `plan -o FILE`, applied later with `apply FILE`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SavedPlan {
    pub netplan_version: String,
    pub created_at: String,
    /// The config the plan was made from, as given on the command line.
    pub config_path: String,
    pub plan: Plan,
}

#[derive(Debug, thiserror::Error)]
pub enum StalePlan {
    #[error("the state's lineage is {found:?}, but the plan was made against {expected:?}: it belongs to another state")]
    Lineage {
        expected: Option<String>,
        found: Option<String>,
    },
    #[error("the state has moved since the plan was made (serial {expected} then, {found} now)")]
    Serial { expected: u64, found: u64 },
    #[error("the config (or a function's code) changed since the plan was made")]
    Config,
    #[error("the plan file does not match what the config and the state give now (first at {address}): it was edited, or the cloud moved since")]
    Differs { address: String },
}

impl SavedPlan {
    /// Applying a saved plan runs exactly what it shows: the plan is derived again from the current
    /// config and state, and the saved one is refused unless it is that plan, change for change (the
    /// derived one is what runs).
    pub fn matches(&self, derived: &Plan) -> Result<(), StalePlan> {
        let json = |c: &Change| serde_json::to_value(c).unwrap_or(serde_json::Value::Null);
        let saved = &self.plan.changes;
        let now = &derived.changes;
        for i in 0..saved.len().max(now.len()) {
            let (a, b) = (saved.get(i), now.get(i));
            if a.map(json) != b.map(json) {
                let address = a.or(b).map(|c| c.address.to_string()).unwrap_or_default();
                return Err(StalePlan::Differs { address });
            }
        }
        Ok(())
    }

    /// Refuses to apply a plan when the state or config moved since it was made.
    pub fn check_current(&self, config: &Config, state: Option<&State>) -> Result<(), StalePlan> {
        let lineage = state.map(|s| s.lineage.clone());
        if lineage != self.plan.state_lineage {
            return Err(StalePlan::Lineage {
                expected: self.plan.state_lineage.clone(),
                found: lineage,
            });
        }
        let serial = state.map(|s| s.serial).unwrap_or(0);
        if serial != self.plan.state_serial {
            return Err(StalePlan::Serial {
                expected: self.plan.state_serial,
                found: serial,
            });
        }
        if config_digest(config) != self.plan.config_digest {
            return Err(StalePlan::Config);
        }
        Ok(())
    }
}
