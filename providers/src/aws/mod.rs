//! The AWS provider: every kind through the official SDK (aws-sdk-ec2, -iam, -lambda).
//!
//! - One module per kind, each with `create`, `describe` (batched: one call per kind, filtered by ids or by
//!   netplan's tags, paged), `update` and `delete`.
//! - Tags (netplan:stack, netplan:address, the user's) are set in the create call itself, and ClientToken
//!   is passed where the API takes one, so a resumed create finds what a killed run made.
//! - SDK errors are mapped by error code to the engine's kinds (not found, throttled, dependency
//!   violation, eventual consistency, invalid input), the AWS message kept.
//! - Waits (NAT available, Lambda Active, ENIs released) poll with a growing interval and report progress.

mod discover;
mod egress_only_internet_gateway;
mod elastic_ip;
mod iam_role;
mod internet_gateway;
mod lambda_function;
mod nat_gateway;
mod network_acl;
mod route_table;
mod security_group;
mod state_store;
mod subnet;
mod vpc;
mod vpc_endpoint;

use async_trait::async_trait;
use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::Filter;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::{Kind, ResourceAddr};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How to reach AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    /// An AWS-compatible endpoint (moto); `AWS_ENDPOINT_URL` is honoured by the SDK too.
    pub endpoint_url: Option<String>,
    /// Static test credentials (for an emulator).
    pub test_credentials: bool,
    /// SDK attempts per call (the SDK retries throttling itself); emulators want few.
    pub max_attempts: Option<u32>,
    /// Shortest poll interval while waiting (NAT available, Lambda Active).
    pub poll: Option<Duration>,
}

pub use state_store::S3StateStore;

pub struct AwsProvider {
    /// Talking to an emulator (an explicit endpoint): Lambda handlers do not run there.
    pub(crate) emulated: bool,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) iam: aws_sdk_iam::Client,
    pub(crate) lambda: aws_sdk_lambda::Client,
    pub(crate) region: String,
    pub(crate) poll: Duration,
    /// VPC id → its Amazon IPv6 /56, as seen by this process (a subnet's /64 is carved from it): saves
    /// each subnet create a DescribeVpcs. Filled by VPC creates and describes.
    pub(crate) vpc_ipv6: std::sync::Mutex<BTreeMap<String, String>>,
}

/// The SDK configuration these options describe (credential chain, region, endpoint, retries).
pub(crate) async fn sdk_config(opts: &AwsOptions) -> aws_config::SdkConfig {
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
    if let Some(n) = opts.max_attempts {
        loader =
            loader.retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(n));
    }
    loader.load().await
}

impl AwsProvider {
    pub async fn connect(opts: AwsOptions) -> Result<AwsProvider, ProviderError> {
        let config = sdk_config(&opts).await;
        let region = config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::InvalidInput,
                "no AWS region: set [stack].region, --region or AWS_REGION",
            )
        })?;
        Ok(AwsProvider {
            emulated: opts.endpoint_url.is_some(),
            ec2: aws_sdk_ec2::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            region,
            poll: opts.poll.unwrap_or(Duration::from_secs(2)),
            vpc_ipv6: Default::default(),
        })
    }
}

/// Which objects a describe call is for.
#[derive(Debug, Clone)]
pub(crate) enum Select {
    Ids(Vec<String>),
    /// The object a create with this key made: by netplan's tags.
    Tags {
        stack: String,
        address: String,
    },
}

impl Select {
    /// What an earlier attempt of this create may have made: `None` on the first attempt (nothing can
    /// exist yet; after a crash the engine's reconcile has already looked), else the lookup by tags.
    pub(crate) fn earlier_attempt(req: &CreateRequest) -> Option<Select> {
        (req.attempt > 0).then(|| Select::Tags {
            stack: req.idempotency.stack.clone(),
            address: req.address.to_string(),
        })
    }

    /// EC2 filters selecting these objects, with `id_filter` naming the kind's id filter.
    pub(crate) fn filters(&self, id_filter: &str) -> Vec<Filter> {
        match self {
            Select::Ids(ids) => vec![Filter::builder()
                .name(id_filter)
                .set_values(Some(ids.clone()))
                .build()],
            Select::Tags { stack, address } => vec![
                Filter::builder()
                    .name("tag:netplan:stack")
                    .values(stack)
                    .build(),
                Filter::builder()
                    .name("tag:netplan:address")
                    .values(address)
                    .build(),
            ],
        }
    }
}

impl Select {
    /// Whether an object with these tags is selected: a lookup by tags is checked here too, because
    /// not every API (or emulator) honours tag filters.
    pub(crate) fn keeps_ec2(&self, tags: &[aws_sdk_ec2::types::Tag]) -> bool {
        match self {
            Select::Ids(_) => true,
            Select::Tags { stack, address } => {
                let has = |k: &str, v: &str| {
                    tags.iter()
                        .any(|t| t.key() == Some(k) && t.value() == Some(v))
                };
                has("netplan:stack", stack) && has("netplan:address", address)
            }
        }
    }
}

/// Maps an AWS error code to what the engine should do with it.
pub(crate) fn classify(code: &str, message: &str) -> ErrorKind {
    match code {
        "Throttling"
        | "ThrottlingException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "ServiceUnavailable"
        | "ServiceUnavailableException"
        | "Unavailable"
        | "InternalError"
        | "InternalFailure" => ErrorKind::Throttled,
        "DependencyViolation"
        | "DeleteConflict"
        | "ResourceInUse"
        | "ResourceInUseException"
        | "InvalidIPAddress.InUse"
        | "ResourceConflictException"
            if !message.contains("already exist") =>
        {
            ErrorKind::DependencyViolation
        }
        "IdempotentParameterMismatch" => ErrorKind::IdempotencyMismatch,
        "InvalidParameterValueException"
            if message.contains("cannot be assumed")
                || message.contains("does not have permissions") =>
        {
            ErrorKind::EventualConsistency
        }
        c if c.ends_with(".NotFound")
            || c.ends_with("NotFound")
            || c == "NoSuchEntity"
            || c == "ResourceNotFoundException"
            || c == "NotFoundException" =>
        {
            ErrorKind::NotFound
        }
        c if c.starts_with("Invalid")
            || c.ends_with("Exception")
            || c == "MissingParameter"
            || c.ends_with(".Duplicate")
            || c == "EntityAlreadyExists"
            || c.contains("AlreadyAssociated")
            || c.contains("Conflict") =>
        {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Other,
    }
}

/// Turns any SDK error into the engine's error, keeping AWS's code and message.
pub(crate) fn sdk<E>(
    action: &str,
    e: aws_sdk_ec2::error::SdkError<E, aws_sdk_ec2::config::http::HttpResponse>,
) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    let status = e.raw_response().map(|r| r.status().as_u16());
    let message = match (e.message(), status) {
        (Some(m), _) => m.to_string(),
        (None, Some(s)) if code.is_none() => format!("the endpoint answered HTTP {s} without an AWS error (an emulator's unimplemented call?)"),
        _ => aws_sdk_ec2::error::DisplayErrorContext(&e).to_string(),
    };
    let kind = match &code {
        Some(c) => classify(c, &message),
        None => match &e {
            aws_sdk_ec2::error::SdkError::TimeoutError(_)
            | aws_sdk_ec2::error::SdkError::DispatchFailure(_) => ErrorKind::Throttled,
            _ => ErrorKind::Other,
        },
    };
    let mut err = ProviderError::new(kind, format!("{action}: {message}"));
    err.code = code;
    err
}

// --- attribute helpers -------------------------------------------------------------------------

pub(crate) fn s<'a>(a: &'a JsonAttrs, k: &str) -> Option<&'a str> {
    a.get(k).and_then(J::as_str)
}

pub(crate) fn req_s<'a>(a: &'a JsonAttrs, k: &str) -> Result<&'a str, ProviderError> {
    s(a, k).ok_or_else(|| ProviderError::new(ErrorKind::InvalidInput, format!("missing `{k}`")))
}

pub(crate) fn b(a: &JsonAttrs, k: &str) -> bool {
    a.get(k).and_then(J::as_bool).unwrap_or(false)
}

pub(crate) fn i(a: &JsonAttrs, k: &str) -> Option<i64> {
    a.get(k).and_then(J::as_i64)
}

pub(crate) fn strs(a: &JsonAttrs, k: &str) -> Vec<String> {
    a.get(k)
        .and_then(J::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn str_map(a: &JsonAttrs, k: &str) -> BTreeMap<String, String> {
    a.get(k)
        .and_then(J::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The user's tags (without netplan's own) as the state records them.
pub(crate) fn user_tags<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> J {
    J::Object(
        pairs
            .into_iter()
            .filter(|(k, _)| !k.starts_with("netplan:") && !k.starts_with("aws:"))
            .map(|(k, v)| (k.to_string(), J::String(v.to_string())))
            .collect(),
    )
}

pub(crate) fn ec2_tags(tags: &JsonAttrs) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_ec2::types::Tag::builder()
                .key(k)
                .value(v.as_str().unwrap_or_default())
                .build()
        })
        .collect()
}

pub(crate) fn ec2_tag_spec(
    kind: aws_sdk_ec2::types::ResourceType,
    tags: &JsonAttrs,
) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(kind)
        .set_tags(Some(ec2_tags(tags)))
        .build()
}

pub(crate) fn ec2_user_tags(tags: &[aws_sdk_ec2::types::Tag]) -> J {
    user_tags(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or_default()))),
    )
}

/// Brings an EC2 object's tags to `want` (the full set, netplan's included). DescribeTags by resource id
/// works for every EC2 kind, so no kind needs its own read for this.
pub(crate) async fn retag_ec2(
    p: &AwsProvider,
    id: &str,
    want: &JsonAttrs,
) -> Result<(), ProviderError> {
    let mut current: Vec<(String, String)> = vec![];
    let mut pages = p
        .ec2
        .describe_tags()
        .filters(Filter::builder().name("resource-id").values(id).build())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        for t in page.map_err(|e| sdk("DescribeTags", e))?.tags() {
            if let (Some(k), Some(v)) = (t.key(), t.value()) {
                current.push((k.to_string(), v.to_string()));
            }
        }
    }
    let stale: Vec<aws_sdk_ec2::types::Tag> = current
        .iter()
        .filter(|(k, _)| !k.starts_with("aws:") && !want.contains_key(k))
        .map(|(k, _)| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    if !stale.is_empty() {
        p.ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(stale))
            .send()
            .await
            .map_err(|e| sdk("DeleteTags", e))?;
    }
    let missing: JsonAttrs = want
        .iter()
        .filter(|(k, v)| {
            !current
                .iter()
                .any(|(ck, cv)| ck == *k && v.as_str() == Some(cv.as_str()))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !missing.is_empty() {
        p.ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(&missing)))
            .send()
            .await
            .map_err(|e| sdk("CreateTags", e))?;
    }
    Ok(())
}

/// An object read back by id after a change to it: `NotFound` when it is gone.
pub(crate) async fn read_back(
    p: &AwsProvider,
    kind: Kind,
    id: &str,
) -> Result<ObjectState, ProviderError> {
    p.describe(kind, Select::Ids(vec![id.to_string()]))
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ProviderError::new(ErrorKind::NotFound, format!("{kind} {id} vanished")))
}

/// Describes objects by id in one call; when that call fails because an id is gone (AWS fails the whole
/// call), asks for each id alone and keeps what exists (rare: only after out-of-band deletes). For the
/// kinds moto cannot filter by id.
pub(crate) async fn by_ids_or_each<T, F, Fut>(
    ids: &[String],
    describe: F,
) -> Result<Vec<T>, ProviderError>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<T>, ProviderError>>,
{
    match describe(ids.to_vec()).await {
        Ok(found) => Ok(found),
        Err(e) if matches!(e.kind, ErrorKind::NotFound | ErrorKind::InvalidInput) => {
            let mut all = vec![];
            for id in ids {
                if let Ok(found) = describe(vec![id.clone()]).await {
                    all.extend(found);
                }
            }
            Ok(all)
        }
        Err(e) => Err(e),
    }
}

/// Subnet ids as the state records a list of them: sorted.
pub(crate) fn sorted_ids<'a>(ids: impl Iterator<Item = &'a str>) -> J {
    let mut v: Vec<&str> = ids.collect();
    v.sort();
    J::from(v)
}

/// Polls `check` until it returns `Some`, growing the interval, reporting progress, within `budget`.
pub(crate) async fn wait_for<T, F, Fut>(
    p: &AwsProvider,
    what: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
    budget: Duration,
    mut check: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, ProviderError>>,
{
    let start = Instant::now();
    let mut interval = p.poll / 4;
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        let waited = start.elapsed();
        if waited > budget {
            return Err(ProviderError::new(
                ErrorKind::Failed,
                format!("timed out after {}s {what}", waited.as_secs()),
            ));
        }
        if let Some(f) = progress {
            f(addr, &format!("{what}… {}s", waited.as_secs()));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2)
            .min(p.poll * 5)
            .max(Duration::from_millis(50));
    }
}

pub(crate) fn obj(id: impl Into<String>, attrs: JsonAttrs) -> ObjectState {
    let id = id.into();
    let mut attrs = attrs;
    attrs.insert("id".into(), J::String(id.clone()));
    ObjectState { id, attrs }
}

impl AwsProvider {
    async fn describe(&self, kind: Kind, sel: Select) -> Result<Vec<ObjectState>, ProviderError> {
        match kind {
            Kind::Vpc => vpc::describe(self, sel).await,
            Kind::Subnet => subnet::describe(self, sel).await,
            Kind::InternetGateway => internet_gateway::describe(self, sel).await,
            Kind::EgressOnlyInternetGateway => {
                egress_only_internet_gateway::describe(self, sel).await
            }
            Kind::ElasticIp => elastic_ip::describe(self, sel).await,
            Kind::NatGateway => nat_gateway::describe(self, sel).await,
            Kind::RouteTable => route_table::describe(self, sel).await,
            Kind::VpcEndpoint => Ok(vpc_endpoint::describe(self, sel)
                .await?
                .into_iter()
                .map(vpc_endpoint::strip_state)
                .collect()),
            Kind::SecurityGroup => security_group::describe(self, sel).await,
            Kind::NetworkAcl => network_acl::describe(self, sel).await,
            Kind::IamRole => iam_role::describe(self, sel).await,
            Kind::LambdaFunction => lambda_function::describe(self, sel).await,
            Kind::Network | Kind::Function => Ok(vec![]),
        }
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        // One describe per kind, all kinds at once.
        let mut by_kind: BTreeMap<Kind, Vec<String>> = BTreeMap::new();
        for o in &req.objects {
            by_kind
                .entry(o.address.kind)
                .or_default()
                .push(o.id.clone());
        }
        let calls = by_kind
            .into_iter()
            .map(|(kind, ids)| async move { (kind, self.describe(kind, Select::Ids(ids)).await) });
        let mut found: BTreeMap<(Kind, String), ObjectState> = BTreeMap::new();
        for (kind, result) in futures::future::join_all(calls).await {
            for o in result? {
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
        let object = match req.address.kind {
            Kind::Vpc => vpc::create(self, &req).await?,
            Kind::Subnet => subnet::create(self, &req).await?,
            Kind::InternetGateway => internet_gateway::create(self, &req).await?,
            Kind::EgressOnlyInternetGateway => {
                egress_only_internet_gateway::create(self, &req).await?
            }
            Kind::ElasticIp => elastic_ip::create(self, &req).await?,
            Kind::NatGateway => nat_gateway::create(self, &req).await?,
            Kind::RouteTable => route_table::create(self, &req).await?,
            Kind::VpcEndpoint => vpc_endpoint::create(self, &req).await?,
            Kind::SecurityGroup => security_group::create(self, &req).await?,
            Kind::NetworkAcl => network_acl::create(self, &req).await?,
            Kind::IamRole => iam_role::create(self, &req).await?,
            Kind::LambdaFunction => lambda_function::create(self, &req).await?,
            Kind::Network | Kind::Function => {
                return Err(ProviderError::new(
                    ErrorKind::InvalidInput,
                    "high-level kinds are expanded by the engine",
                ))
            }
        };
        Ok(CreateResponse { object })
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let object = match req.address.kind {
            Kind::Vpc => vpc::update(self, &req).await?,
            Kind::Subnet => subnet::update(self, &req).await?,
            Kind::InternetGateway => internet_gateway::update(self, &req).await?,
            Kind::EgressOnlyInternetGateway => {
                egress_only_internet_gateway::update(self, &req).await?
            }
            Kind::ElasticIp => elastic_ip::update(self, &req).await?,
            Kind::NatGateway => nat_gateway::update(self, &req).await?,
            Kind::RouteTable => route_table::update(self, &req).await?,
            Kind::VpcEndpoint => vpc_endpoint::update(self, &req).await?,
            Kind::SecurityGroup => security_group::update(self, &req).await?,
            Kind::NetworkAcl => network_acl::update(self, &req).await?,
            Kind::IamRole => iam_role::update(self, &req).await?,
            Kind::LambdaFunction => lambda_function::update(self, &req).await?,
            Kind::Network | Kind::Function => {
                return Err(ProviderError::new(
                    ErrorKind::InvalidInput,
                    "high-level kinds are expanded by the engine",
                ))
            }
        };
        Ok(UpdateResponse { object })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, ProviderError> {
        match req.address.kind {
            Kind::Vpc => vpc::delete(self, &req).await?,
            Kind::Subnet => subnet::delete(self, &req).await?,
            Kind::InternetGateway => internet_gateway::delete(self, &req).await?,
            Kind::EgressOnlyInternetGateway => {
                egress_only_internet_gateway::delete(self, &req).await?
            }
            Kind::ElasticIp => elastic_ip::delete(self, &req).await?,
            Kind::NatGateway => nat_gateway::delete(self, &req).await?,
            Kind::RouteTable => route_table::delete(self, &req).await?,
            Kind::VpcEndpoint => vpc_endpoint::delete(self, &req).await?,
            Kind::SecurityGroup => security_group::delete(self, &req).await?,
            Kind::NetworkAcl => network_acl::delete(self, &req).await?,
            Kind::IamRole => iam_role::delete(self, &req).await?,
            Kind::LambdaFunction => lambda_function::delete(self, &req).await?,
            Kind::Network | Kind::Function => {}
        }
        Ok(DeleteResponse {})
    }

    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, ProviderError> {
        let (status, function_error, payload) = lambda_function::invoke(self, &req.name).await?;
        Ok(InvokeResponse {
            status,
            function_error,
            payload,
            emulated: self.emulated,
        })
    }

    async fn discover(&self, req: DiscoverRequest) -> Result<Discovered, ProviderError> {
        discover::discover(self, req).await
    }

    async fn find(&self, req: FindRequest) -> Result<FindResponse, ProviderError> {
        let sel = Select::Tags {
            stack: req.idempotency.stack.clone(),
            address: req.address.to_string(),
        };
        let found = self.describe(req.address.kind, sel).await?;
        Ok(FindResponse {
            object: found.into_iter().next(),
        })
    }
}

/// Waits until no Lambda-managed network interface uses the subnet or security group (`filter` names
/// which), deleting the ones Lambda has detached: the interfaces linger for minutes after a function
/// is deleted, and block deleting what they sit in.
pub(crate) async fn release_lambda_enis(
    p: &AwsProvider,
    filter: &str,
    id: &str,
    addr: &ResourceAddr,
    progress: &Option<ProgressFn>,
) -> Result<(), ProviderError> {
    wait_for(
        p,
        "waiting for Lambda network interfaces to be released",
        addr,
        progress,
        Duration::from_secs(50 * 60),
        || async {
            let out = p
                .ec2
                .describe_network_interfaces()
                .filters(Filter::builder().name(filter).values(id).build())
                .filters(
                    Filter::builder()
                        .name("interface-type")
                        .values("lambda")
                        .build(),
                )
                .send()
                .await
                .map_err(|e| sdk("DescribeNetworkInterfaces", e))?;
            let enis = out.network_interfaces();
            if enis.is_empty() {
                return Ok(Some(()));
            }
            for eni in enis {
                if eni.status().map(|s| s.as_str()) == Some("available") {
                    if let Some(eni_id) = eni.network_interface_id() {
                        let _ = p
                            .ec2
                            .delete_network_interface()
                            .network_interface_id(eni_id)
                            .send()
                            .await;
                    }
                }
            }
            if let Some(f) = progress {
                f(
                    addr,
                    &format!(
                        "waiting for {} Lambda network interface{} to be released",
                        enis.len(),
                        if enis.len() == 1 { "" } else { "s" }
                    ),
                );
            }
            Ok(None)
        },
    )
    .await
}
