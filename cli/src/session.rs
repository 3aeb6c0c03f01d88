//! The glue every command shares: load the config (printing its warnings), open the state store, pick
//! the provider, and one error type that knows how to print itself.

use crate::{ConfigArg, Globals};
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::diag::Diagnostics;
use netplan_engine::plan::PlanError;
use netplan_engine::provider::{Provider, ProviderError};
use netplan_engine::state::store::{self, StateError, StateStore};
use std::sync::Arc;

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
            PlanError::Provider(_) => Some("run with -v for the calls made".to_string()),
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

pub fn default_region(globals: &Globals) -> Option<String> {
    globals
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .filter(|r| !r.is_empty())
}

/// Loads, expands and validates the config; prints its warnings.
pub fn load_config(globals: &Globals, arg: &ConfigArg) -> CliResult<Config> {
    let path = config::resolve_path(arg.config.as_deref());
    let opts = LoadOptions {
        default_region: default_region(globals),
    };
    let config = config::load(&path, &opts).map_err(CliError::Diagnostics)?;
    if !config.warnings.0.is_empty() {
        crate::render::diagnostics(&config.warnings);
    }
    Ok(config)
}

/// Loads the config and proves its functions reach the internet (validate and plan refuse otherwise).
pub fn load_checked_config(globals: &Globals, arg: &ConfigArg) -> CliResult<Config> {
    let config = load_config(globals, arg)?;
    let reach = crate::commands::check::diagnostics(&config);
    if reach.has_errors() {
        return Err(CliError::Diagnostics(reach));
    }
    if !reach.0.is_empty() {
        crate::render::diagnostics(&reach);
    }
    Ok(config)
}

/// The config's state store: a local file, or an `s3://` object reached as the provider reaches AWS.
pub fn open_store(globals: &Globals, config: &Config) -> CliResult<Box<dyn StateStore>> {
    let location = config.state_location();
    if location.starts_with("s3://") {
        if std::env::var_os("NETPLAN_FAKE_CLOUD").is_some() {
            return Err(CliError::with_hint(
                format!("remote state ({location}) lives in AWS, and this run uses the fake cloud"),
                "use a local state path with NETPLAN_FAKE_CLOUD",
            ));
        }
        let opts = aws_options(globals, Some(config))?;
        return Ok(Box::new(netplan_providers::aws::S3StateStore::open(
            &location, opts,
        )?));
    }
    Ok(store::open(&location)?)
}

/// How to reach AWS: `--local` (starting the emulator), `--endpoint-url`, or the usual chain.
fn aws_options(
    globals: &Globals,
    config: Option<&Config>,
) -> CliResult<netplan_providers::aws::AwsOptions> {
    let mut opts = netplan_providers::aws::AwsOptions {
        region: globals
            .region
            .clone()
            .or_else(|| config.and_then(|c| c.region.clone())),
        profile: globals.profile.clone(),
        endpoint_url: globals.endpoint_url.clone(),
        ..Default::default()
    };
    if globals.local {
        let local = crate::emulator::up(None)?;
        opts.endpoint_url = Some(crate::emulator::endpoint(local.port));
        opts.test_credentials = true;
        opts.region = opts.region.or(Some("us-east-1".into()));
    }
    if let Some(e) = &opts.endpoint_url {
        // An emulator: few SDK retries (moto answers unimplemented calls with HTTP 500), short polls.
        opts.max_attempts = Some(2);
        opts.poll = Some(std::time::Duration::from_millis(200));
        if e.contains("127.0.0.1") || e.contains("localhost") {
            opts.test_credentials =
                opts.test_credentials || std::env::var("AWS_ACCESS_KEY_ID").is_err();
        }
    }
    Ok(opts)
}

/// The provider for this run: `NETPLAN_FAKE_CLOUD=FILE` selects netplan's fake cloud kept in FILE
/// (tests, demos); otherwise AWS through the SDK — the local emulator with `--local`, any endpoint with
/// `--endpoint-url` / `AWS_ENDPOINT_URL`, AWS itself by default.
pub async fn provider(globals: &Globals, config: Option<&Config>) -> CliResult<Arc<dyn Provider>> {
    if let Ok(path) = std::env::var("NETPLAN_FAKE_CLOUD") {
        let script =
            netplan_providers::fake::FakeProvider::script_from_env().map_err(CliError::msg)?;
        let p =
            netplan_providers::fake::FakeProvider::persistent(std::path::Path::new(&path), script)
                .map_err(|e| CliError::msg(format!("cannot open the fake cloud {path}: {e}")))?;
        return Ok(Arc::new(p));
    }
    let opts = aws_options(globals, config)?;
    let p = netplan_providers::aws::AwsProvider::connect(opts).await?;
    Ok(Arc::new(p))
}
