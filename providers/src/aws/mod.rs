//! The AWS provider: every kind through the official SDK (aws-sdk-ec2, -iam, -lambda; -ssm for AWS's
//! public AMI parameters, -kms and -s3 for the state).
//!
//! - `kinds`: the table of kinds; one module per kind (`vpc`, `subnet`, …) does describe, create, update
//!   and delete.
//! - `api`: the request layer every call goes through — client-side token buckets per action, a limit
//!   on requests in flight (never held while an object is waited on), retries of what AWS allows to be
//!   retried, eventual consistency for ids just made, timeouts, and a tracing event per call (`-v`).
//! - `errors`: AWS's error codes and the SDK's failures mapped to the engine's kinds.
//! - `create`: exactly-once creates (ClientToken where the API takes one; otherwise look before sending
//!   again, and remove what an unanswered attempt duplicated).
//! - `wait`: polling (one describe per interval for all NAT gateways waited on), Lambda's lingering
//!   network interfaces, and what holds an object AWS refuses to delete.
//! - `attrs`: attribute and tag helpers, `Select`, the paged describe.
//! - `discover`: the network around a VPC for `check --live`; `state_store`: `s3://` state.

mod account;
mod api;
mod attrs;
mod create;
mod discover;
mod egress_only_internet_gateway;
mod elastic_ip;
mod errors;
mod iam_role;
mod internet_gateway;
mod kinds;
mod kms;
mod lambda_function;
mod nat_gateway;
mod nat_instance;
mod network_acl;
pub mod policy;
mod route_table;
mod security_group;
mod state_store;
mod subnet;
mod vpc;
mod vpc_endpoint;
mod wait;

pub use kms::KmsKeys;
pub use state_store::S3StateStore;

use async_trait::async_trait;
use attrs::Select;
use netplan_engine::provider::*;
use std::collections::BTreeMap;
use std::time::Duration;

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An AWS-compatible endpoint (moto); `AWS_ENDPOINT_URL` is honoured by the SDK too.
    pub endpoint_url: Option<String>,
    /// Static test credentials (for an emulator).
    pub test_credentials: bool,
    /// Requests in flight at once (`--parallelism`; default 10).
    pub max_in_flight: Option<usize>,
    /// How long one attempt of a request may take before it counts as unanswered (`--timeout`;
    /// default 30 s). The connection itself must open within 10 s.
    pub attempt_timeout: Option<Duration>,
    /// Shortest poll interval while waiting (NAT available, Lambda Active).
    pub poll: Option<Duration>,
    /// How long after a request was sent AWS may still carry it out (reconcile after a crash waits
    /// this long before concluding a create never happened; default 10 s).
    pub in_flight_horizon: Option<Duration>,
}

impl AwsOptions {
    pub(crate) fn timeout(&self) -> Duration {
        self.attempt_timeout.unwrap_or(Duration::from_secs(30))
    }
}

pub struct AwsProvider {
    /// Talking to an emulator (an explicit endpoint): Lambda handlers do not run there.
    pub(crate) emulated: bool,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    /// AWS's public parameters (the latest Amazon Linux AMI for a NAT instance).
    pub(crate) ssm: aws_sdk_ssm::Client,
    /// The account's quotas (plan reads them before anything is created).
    pub(crate) quotas: aws_sdk_servicequotas::Client,
    /// Who is asking (named when a call is denied).
    pub(crate) sts: aws_sdk_sts::Client,
    principal: tokio::sync::OnceCell<Option<String>>,
    pub(crate) region: String,
    pub(crate) poll: Duration,
    pub(crate) api: api::Api,
    /// One attempt of a request may take this long (`--timeout`).
    pub(crate) attempt_timeout: Duration,
    horizon: Duration,
    /// NAT gateways waited on (available, or deleted): one describe per interval for all of them.
    pub(crate) nat_poller: wait::Poller<nat_gateway::Observed>,
    /// VPC endpoints waited on (available): one describe per interval for all of them.
    pub(crate) endpoint_poller: wait::Poller<ObjectState>,
    /// VPC id → its Amazon IPv6 /56, as seen by this process (a subnet's /64 is carved from it): saves
    /// each subnet create a DescribeVpcs. Filled by VPC creates and describes.
    pub(crate) vpc_ipv6: std::sync::Mutex<BTreeMap<String, String>>,
    /// What this process's creates made, by their idempotency token: a retry of a step starts from
    /// it (no describe can lag behind what this process itself was told).
    made: std::sync::Mutex<BTreeMap<String, String>>,
}

/// The SDK configuration these options describe (credential chain, region, endpoint, timeouts). The
/// SDK's own retries are off unless asked for: netplan's request layer decides what may be repeated.
pub(crate) async fn sdk_config(opts: &AwsOptions, sdk_retries: bool) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(r) = &opts.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(e) = &opts.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    if opts.test_credentials {
        loader = loader.credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "netplan-local",
        ));
    }
    loader = loader.retry_config(if sdk_retries {
        aws_config::retry::RetryConfig::standard().with_max_attempts(3)
    } else {
        aws_config::retry::RetryConfig::disabled()
    });
    loader = loader.timeout_config(
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(10).min(opts.timeout()))
            .operation_attempt_timeout(opts.timeout())
            .build(),
    );
    loader.load().await
}

impl AwsProvider {
    pub async fn connect(opts: AwsOptions) -> Result<AwsProvider, ProviderError> {
        let config = sdk_config(&opts, false).await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidInput,
                "no AWS region: set [stack].region, --region or AWS_REGION",
            )
        })?;
        let endpoint = opts
            .endpoint_url
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .unwrap_or_else(|| format!("AWS ({region})"));
        let emulated = opts.endpoint_url.is_some();
        let poll = opts.poll.unwrap_or(Duration::from_secs(2));
        let limits = api::Limits {
            max_in_flight: opts.max_in_flight.unwrap_or(32),
            backoff: netplan_engine::retry::Backoff {
                first: (poll / 8).max(Duration::from_millis(50)),
                max: Duration::from_secs(10),
            },
            ..Default::default()
        };
        Ok(AwsProvider {
            emulated,
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            quotas: aws_sdk_servicequotas::Client::new(&config),
            sts: aws_sdk_sts::Client::new(&config),
            principal: tokio::sync::OnceCell::new(),
            region,
            poll,
            api: api::Api::new(endpoint, limits),
            attempt_timeout: opts.timeout(),
            horizon: opts.in_flight_horizon.unwrap_or(Duration::from_secs(10)),
            nat_poller: Default::default(),
            endpoint_poller: Default::default(),
            vpc_ipv6: Default::default(),
            made: Default::default(),
        })
    }
}

impl AwsProvider {
    /// The identity AWS sees (its ARN), asked once; `None` when STS does not say.
    pub(crate) async fn principal(&self) -> Option<String> {
        self.principal
            .get_or_init(|| async {
                self.api
                    .send(
                        api::Call::sts("GetCallerIdentity", api::Effect::Read),
                        || self.sts.get_caller_identity().send(),
                    )
                    .await
                    .ok()
                    .and_then(|o| o.arn().map(str::to_string))
            })
            .await
            .clone()
    }

    /// A denied call names who was denied, when AWS's message does not (EC2's often does not).
    async fn explained(&self, e: ProviderError) -> ProviderError {
        if e.kind != ErrorKind::Denied || e.message.contains("arn:") {
            return e;
        }
        match self.principal().await {
            Some(p) => ProviderError {
                message: format!("{} (asked as {p})", e.message),
                ..e
            },
            None => e,
        }
    }

    /// Remembers what the create with this token made.
    pub(crate) fn remember(&self, token: &str, id: &str) {
        self.made
            .lock()
            .expect("made")
            .insert(token.to_string(), id.to_string());
    }

    /// What the create with this token made, if this process made it.
    pub(crate) fn made_by(&self, token: &str) -> Option<String> {
        self.made.lock().expect("made").get(token).cloned()
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        // One describe per kind, all kinds at once.
        let mut by_kind: BTreeMap<netplan_engine::Kind, Vec<String>> = BTreeMap::new();
        for o in &req.objects {
            by_kind
                .entry(o.address.kind)
                .or_default()
                .push(o.id.clone());
        }
        let calls = by_kind.into_iter().map(|(kind, ids)| async move {
            let found = kinds::of(kind)?.describe(self, &Select::Ids(ids)).await?;
            Ok::<_, ProviderError>((kind, found))
        });
        let mut found: BTreeMap<(netplan_engine::Kind, String), ObjectState> = BTreeMap::new();
        for result in futures::future::join_all(calls).await {
            let (kind, objects) = result?;
            for o in objects {
                found.insert((kind, o.id.clone()), o);
            }
        }
        Ok(ReadResponse {
            objects: req
                .objects
                .iter()
                .map(|o| {
                    (
                        o.address.clone(),
                        found.get(&(o.address.kind, o.id.clone())).cloned(),
                    )
                })
                .collect(),
        })
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let kind = kinds::of(req.address.kind)?;
        // Every request this create makes is queued at its priority.
        let object = match api::PRIORITY
            .scope(req.priority, kind.create(self, &req))
            .await
        {
            Ok(o) => o,
            Err(e) => return Err(self.explained(e).await),
        };
        Ok(CreateResponse { object })
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let object = match kinds::of(req.address.kind)?.update(self, &req).await {
            Ok(o) => o,
            Err(e) => return Err(self.explained(e).await),
        };
        Ok(UpdateResponse { object })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, ProviderError> {
        if let Err(e) = kinds::of(req.address.kind)?.delete(self, &req).await {
            return Err(self.explained(e).await);
        }
        Ok(DeleteResponse {})
    }

    async fn find(&self, req: FindRequest) -> Result<FindResponse, ProviderError> {
        let found = kinds::of(req.address.kind)?
            .describe(self, &Select::made_by(&req.idempotency))
            .await?;
        let object = found.into_iter().next();
        if let Some(o) = &object {
            self.api.made(api::Service::of(req.address.kind), &o.id);
        }
        Ok(FindResponse { object })
    }

    async fn discard(&self, req: FindRequest) -> Result<(), ProviderError> {
        // A NAT instance that never came may have left its security group (a part made first).
        if req.address.kind == netplan_engine::Kind::NatInstance {
            nat_instance::remove_orphan_group(self, &req.idempotency, &req.address).await?;
        }
        Ok(())
    }

    fn in_flight_horizon(&self) -> Duration {
        self.horizon
    }

    fn facts(&self) -> &dyn netplan_engine::facts::CloudFacts {
        &crate::facts::AwsFacts
    }

    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, ProviderError> {
        let (status, function_error, payload) =
            lambda_function::invoke(self, &req.name, req.timeout).await?;
        Ok(InvokeResponse {
            status,
            function_error,
            payload,
            emulated: self.emulated,
        })
    }

    async fn account(
        &self,
        req: AccountRequest,
    ) -> Result<netplan_engine::account::Account, ProviderError> {
        account::read(self, req).await
    }

    async fn discover(&self, req: DiscoverRequest) -> Result<Discovered, ProviderError> {
        discover::discover(self, req).await
    }
}

/// Brings an EC2 object's tags to `want` (the full set, netplan's included; the create token stays).
/// DescribeTags by resource id works for every EC2 kind, so no kind needs its own read for this.
pub(crate) async fn retag_ec2(
    p: &AwsProvider,
    id: &str,
    want: &netplan_engine::value::JsonAttrs,
) -> Result<(), ProviderError> {
    use api::{Call, Effect};
    use aws_sdk_ec2::types::Filter;
    let current = attrs::all_pages(
        p,
        Call::ec2("DescribeTags", Effect::Read).on([id]),
        |token| {
            p.ec2
                .describe_tags()
                .filters(Filter::builder().name("resource-id").values(id).build())
                .set_next_token(token)
                .send()
        },
        |o| {
            o.tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect()
        },
        |o| o.next_token().map(str::to_string),
    )
    .await?;
    retag_ec2_from(p, id, &current, want).await
}

/// `retag_ec2` when the object's tags are already known (from a describe of it just made).
pub(crate) async fn retag_ec2_from(
    p: &AwsProvider,
    id: &str,
    current: &[(String, String)],
    want: &netplan_engine::value::JsonAttrs,
) -> Result<(), ProviderError> {
    use api::{Call, Effect};
    let stale: Vec<aws_sdk_ec2::types::Tag> = current
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && k != attrs::TOKEN_TAG && !want.contains_key(k))
        .map(|(k, _)| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    if !stale.is_empty() {
        p.api
            .send(Call::ec2("DeleteTags", Effect::Repeatable).on([id]), || {
                p.ec2
                    .delete_tags()
                    .resources(id)
                    .set_tags(Some(stale.clone()))
                    .send()
            })
            .await?;
    }
    let missing: Vec<(String, String)> = want
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .filter(|kv| !current.contains(kv))
        .collect();
    if !missing.is_empty() {
        p.api
            .send(Call::ec2("CreateTags", Effect::Repeatable).on([id]), || {
                p.ec2
                    .create_tags()
                    .resources(id)
                    .set_tags(Some(attrs::ec2_tags(&missing)))
                    .send()
            })
            .await?;
    }
    Ok(())
}

/// An object read back by id after a change to it: `NotFound` when it is gone.
pub(crate) async fn read_back(
    p: &AwsProvider,
    kind: netplan_engine::Kind,
    id: &str,
) -> Result<ObjectState, ProviderError> {
    kinds::of(kind)?
        .describe(p, &Select::one(id))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, format!("{kind} {id} vanished")))
}
