//! The CLI's one error type: config diagnostics (rendered with their places and hints), a message with
//! an optional hint, or "already reported". Every engine error converts into it with the hint that
//! tells the user what to do next.

use netplan_engine::diag::Diagnostics;
use netplan_engine::ops::OpsError;
use netplan_engine::plan::PlanError;
use netplan_engine::provider::ProviderError;
use netplan_engine::state::store::StateError;

pub enum CliError {
    /// Config problems, each with its place and hint.
    Diagnostics(Diagnostics),
    Message {
        message: String,
        hint: Option<String>,
    },
    /// Already reported (e.g. as JSON on stdout): exit 1 without printing more.
    Silent,
}

pub type CliResult<T> = Result<T, CliError>;

impl CliError {
    pub fn msg(message: impl Into<String>) -> CliError {
        CliError::Message {
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(message: impl Into<String>, hint: impl Into<String>) -> CliError {
        CliError::Message {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    pub fn print(&self) {
        match self {
            CliError::Diagnostics(d) => crate::render::diagnostics(d),
            CliError::Message { message, hint } => crate::render::error(message, hint.as_deref()),
            CliError::Silent => {}
        }
    }
}

impl From<StateError> for CliError {
    fn from(e: StateError) -> Self {
        CliError::Message {
            hint: e.hint(),
            message: e.to_string(),
        }
    }
}

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> Self {
        let hint = match &e {
            PlanError::ExistingNotFound { .. } => {
                Some("check the id in `existing = \"…\"`, the region and the account".to_string())
            }
            PlanError::Provider(_) => Some("run with -v to see every AWS call made".to_string()),
        };
        CliError::Message {
            message: e.to_string(),
            hint,
        }
    }
}

impl From<ProviderError> for CliError {
    fn from(e: ProviderError) -> Self {
        CliError::msg(e.to_string())
    }
}

impl From<OpsError> for CliError {
    fn from(e: OpsError) -> Self {
        match e {
            OpsError::Unreachable(d) | OpsError::Package(d) | OpsError::Account(d) => {
                CliError::Diagnostics(d)
            }
            OpsError::State(e) => e.into(),
            OpsError::Plan(e) => e.into(),
            e @ OpsError::Reconcile(_) => {
                CliError::with_hint(e.to_string(), "run with -v to see every AWS call made")
            }
        }
    }
}
