//! The glue every command shares, built once per run: the config (its warnings printed), the state
//! store, and the provider. How to reach AWS (`--local`, which may start the emulator, `--endpoint-url`,
//! region, profile) is worked out once and serves both the provider and an `s3://` state store.

use crate::error::{CliError, CliResult};
use crate::{ConfigArg, Globals};
use netplan_engine::config::{self, Config, LoadOptions};
use netplan_engine::provider::Provider;
use netplan_engine::state::store::{self, StateStore};
use netplan_providers::aws::AwsOptions;
use std::sync::{Arc, OnceLock};

/// AWS requests in flight at once by default. AWS limits the request *rate* (EC2's token buckets, which
/// the request layer keeps under), not concurrency; 32 keeps a large apply from queueing behind its own
/// slow calls (measured in BENCHMARKS.md: 20 copies of the seed through the realism proxy).
pub const DEFAULT_PARALLELISM: u16 = 32;

pub struct Session<'g> {
    pub globals: &'g Globals,
    /// AWS requests in flight at once to each service (`--parallelism`).
    parallelism: usize,
    config: Option<Config>,
    aws: OnceLock<AwsOptions>,
    provider: tokio::sync::OnceCell<Arc<dyn Provider>>,
}

impl<'g> Session<'g> {
    /// Loads, expands and validates the config; prints its warnings.
    pub fn open(globals: &'g Globals, arg: &ConfigArg) -> CliResult<Session<'g>> {
        let path = config::resolve_path(arg.config.as_deref());
        let config = config::load(&path, &load_options(globals)).map_err(CliError::Diagnostics)?;
        if !config.warnings.0.is_empty() {
            crate::render::diagnostics(&config.warnings);
        }
        Ok(Session {
            config: Some(config),
            ..Session::without_config(globals)
        })
    }

    /// For commands that look at an account without a config (`check --live --vpc`).
    pub fn without_config(globals: &'g Globals) -> Session<'g> {
        Session {
            globals,
            parallelism: DEFAULT_PARALLELISM as usize,
            config: None,
            aws: OnceLock::new(),
            provider: tokio::sync::OnceCell::new(),
        }
    }

    /// At most `n` requests in flight (before the provider is made).
    pub fn with_parallelism(mut self, n: usize) -> Self {
        self.parallelism = n.max(1);
        self
    }

    pub fn config(&self) -> &Config {
        self.config
            .as_ref()
            .expect("a session opened without a config has no config")
    }

    /// The config, once its functions are proven to reach the internet (the reachability gate).
    pub fn checked_config(&self) -> CliResult<&Config> {
        let config = self.config();
        let warnings = netplan_engine::ops::gate(config).map_err(CliError::Diagnostics)?;
        if !warnings.0.is_empty() {
            crate::render::diagnostics(&warnings);
        }
        Ok(config)
    }

    /// The config's state store: a local file, or an `s3://` object reached as the provider reaches AWS,
    /// encrypted with the key `[stack] encryption` names.
    pub fn store(&self) -> CliResult<Arc<dyn StateStore>> {
        let config = self.config();
        let location = config.state_location();
        let keys = match config.stack.encryption.as_deref() {
            None => None,
            Some(spec) => Some(match netplan_engine::state::crypto::env_keys(spec) {
                Some(keys) => keys.map_err(|e| {
                    CliError::with_hint(
                        format!("the state's encryption key: {e}"),
                        "keys are 32 random bytes, base64 (openssl rand -base64 32)",
                    )
                })?,
                None => {
                    let key = spec.strip_prefix("kms:").unwrap_or(spec);
                    Arc::new(
                        netplan_providers::aws::KmsKeys::new(key, self.aws()?.clone())
                            .map_err(CliError::msg)?,
                    ) as Arc<dyn netplan_engine::state::crypto::Keys>
                }
            }),
        };
        if location.starts_with("s3://") {
            if std::env::var_os("NETPLAN_FAKE_CLOUD").is_some() {
                return Err(CliError::with_hint(
                    format!(
                        "remote state ({location}) lives in AWS, and this run uses the fake cloud"
                    ),
                    "use a local state path with NETPLAN_FAKE_CLOUD",
                ));
            }
            let store = netplan_providers::aws::S3StateStore::open(&location, self.aws()?.clone())?
                .encrypted(keys);
            return Ok(Arc::new(store));
        }
        Ok(store::open(&location, keys)?.into())
    }

    /// The provider for this run, made on first use: `NETPLAN_FAKE_CLOUD=FILE` selects netplan's fake
    /// cloud kept in FILE (tests, demos); otherwise AWS through the SDK — the local emulator with
    /// `--local`, any endpoint with `--endpoint-url` / `AWS_ENDPOINT_URL`, AWS itself by default.
    pub async fn provider(&self) -> CliResult<Arc<dyn Provider>> {
        self.provider
            .get_or_try_init(|| async {
                if let Ok(path) = std::env::var("NETPLAN_FAKE_CLOUD") {
                    let mut script = netplan_providers::fake::FakeProvider::script_from_env()
                        .map_err(CliError::msg)?;
                    script.max_in_flight = script.max_in_flight.or(Some(self.parallelism));
                    let p = netplan_providers::fake::FakeProvider::persistent(
                        std::path::Path::new(&path),
                        script,
                    )
                    .map_err(|e| {
                        CliError::msg(format!("cannot open the fake cloud {path}: {e}"))
                    })?;
                    return Ok(Arc::new(p) as Arc<dyn Provider>);
                }
                let p = netplan_providers::aws::AwsProvider::connect(self.aws()?.clone()).await?;
                Ok(Arc::new(p) as Arc<dyn Provider>)
            })
            .await
            .cloned()
    }

    /// How to reach AWS: `--local` (starting the emulator), `--endpoint-url`, or the usual chain.
    fn aws(&self) -> CliResult<&AwsOptions> {
        if let Some(o) = self.aws.get() {
            return Ok(o);
        }
        let g = self.globals;
        let mut opts = AwsOptions {
            region: g
                .region
                .clone()
                .or_else(|| self.config.as_ref().and_then(|c| c.region.clone())),
            profile: g.profile.clone(),
            endpoint_url: g.endpoint_url.clone(),
            max_in_flight: Some(self.parallelism),
            attempt_timeout: Some(std::time::Duration::from_secs(g.timeout)),
            ..Default::default()
        };
        if g.local {
            let local = crate::emulator::up(None)?;
            opts.endpoint_url = Some(crate::emulator::endpoint(local.port));
            opts.test_credentials = true;
            opts.region = opts.region.or(Some("us-east-1".into()));
        }
        if let Some(e) = &opts.endpoint_url {
            // An emulator: short polls, and requests carried out at once (a killed run's last request
            // lands within a second or two, not AWS's ten).
            opts.poll = Some(std::time::Duration::from_millis(200));
            opts.in_flight_horizon = Some(std::time::Duration::from_secs(2));
            if e.contains("127.0.0.1") || e.contains("localhost") {
                opts.test_credentials =
                    opts.test_credentials || std::env::var("AWS_ACCESS_KEY_ID").is_err();
            }
        }
        Ok(self.aws.get_or_init(|| opts))
    }
}

pub fn load_options(globals: &Globals) -> LoadOptions {
    LoadOptions {
        default_region: default_region(globals),
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
