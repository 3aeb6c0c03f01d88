//! The Provider trait: the only way the engine touches a cloud. One request and one response struct per
//! method, so fields can be added without breaking providers; no SDK type crosses it. The contract
//! (what each method promises, how errors are classified, how idempotency works) is written down in
//! docs/provider-contract.md.

use crate::addr::{Kind, ResourceAddr};
use crate::value::JsonAttrs;
use std::sync::Arc;
use std::time::Duration;

/// How a resumed create finds what a killed run made: the token (a ClientToken where the API takes one)
/// and the tags set in the create call itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IdempotencyKey {
    pub token: String,
    pub stack: String,
    pub address: ResourceAddr,
}

/// An object in the cloud as the provider sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectState {
    pub id: String,
    /// Attributes in the config's vocabulary plus computed ones (`arn`, `ipv6_cidr_block`, …).
    pub attrs: JsonAttrs,
    /// The netplan tags it carries (`read` and `find` say; a create's answer may leave it out).
    pub owner: Option<Owner>,
}

impl ObjectState {
    pub fn new(id: impl Into<String>, attrs: JsonAttrs) -> ObjectState {
        ObjectState {
            id: id.into(),
            attrs,
            owner: None,
        }
    }

    /// The object carries these tags: its owner is what `netplan:stack` and `netplan:address` say.
    pub fn owned_by<'a>(mut self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut owner = Owner::default();
        for (k, v) in tags {
            match k {
                "netplan:stack" => owner.stack = Some(v.to_string()),
                "netplan:address" => owner.address = Some(v.to_string()),
                _ => {}
            }
        }
        self.owner = Some(owner);
        self
    }
}

/// An object's netplan tags: it is a stack's only with both, naming that stack and that address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Owner {
    pub stack: Option<String>,
    pub address: Option<String>,
}

impl Owner {
    pub fn is(&self, stack: &str, address: &ResourceAddr) -> bool {
        self.stack.as_deref() == Some(stack)
            && self.address.as_deref() == Some(address.to_string().as_str())
    }

    /// Who it belongs to, for a user: "no netplan tags", "netplan stack `other`".
    pub fn describe(&self) -> String {
        match (&self.stack, &self.address) {
            (None, None) => "it carries no netplan tags".into(),
            (Some(s), Some(a)) => format!("its netplan tags say stack `{s}`, address `{a}`"),
            (Some(s), None) => format!("its netplan tags say stack `{s}` and no address"),
            (None, Some(a)) => format!("its netplan tags say address `{a}` and no stack"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub address: ResourceAddr,
    pub id: String,
}

/// Read many objects at once (a provider batches them: one describe call per kind, never per object).
#[derive(Debug, Clone, Default)]
pub struct ReadRequest {
    pub objects: Vec<ObjectRef>,
}

#[derive(Debug, Clone, Default)]
pub struct ReadResponse {
    /// One entry per requested object, in request order: `None` when it no longer exists.
    pub objects: Vec<(ResourceAddr, Option<ObjectState>)>,
}

/// Something a long-running step wants to show ("waiting for 2 Lambda network interfaces").
pub type ProgressFn = Arc<dyn Fn(&ResourceAddr, &str) + Send + Sync>;

#[derive(Clone)]
pub struct CreateRequest {
    pub address: ResourceAddr,
    /// Desired attributes, every reference resolved to a concrete value.
    pub attrs: JsonAttrs,
    /// Tags every taggable object carries: netplan:stack, netplan:address, plus [stack].tags.
    pub tags: JsonAttrs,
    pub idempotency: IdempotencyKey,
    /// What the engine's earlier attempts of this create (in this run) ended with: a retry looks for
    /// what an earlier attempt made before sending anything — patiently when the last one's outcome is
    /// unknown. (After a crash, reconcile does that lookup before any create runs.)
    pub earlier: Earlier,
    /// The function's zip, for `lambda_function` (the engine packages it; providers never read files).
    pub code: Option<Arc<Vec<u8>>>,
    pub progress: Option<ProgressFn>,
    /// How long (estimated seconds) the run's longest chain still takes from this create on: a provider
    /// that queues requests serves higher priorities first, so the chain to a NAT gateway is not held
    /// up behind a hundred security-group rules. 0: no preference.
    pub priority: u32,
}

/// The engine's earlier attempts of one create, as the next attempt needs to know them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Earlier {
    /// How many attempts failed before this one (0: this is the first).
    pub attempts: u32,
    /// The last one ended without an answer that says what happened (a 5xx, a timeout): it may have
    /// made the object, which a tag-filtered describe may not show yet.
    pub outcome_unknown: bool,
}

impl Earlier {
    /// After an attempt that failed with `kind`.
    pub fn after(self, kind: ErrorKind) -> Earlier {
        Earlier {
            attempts: self.attempts + 1,
            outcome_unknown: matches!(kind, ErrorKind::Unavailable | ErrorKind::Unreachable),
        }
    }
}

#[derive(Debug, Clone)]
pub struct CreateResponse {
    pub object: ObjectState,
}

#[derive(Clone)]
pub struct UpdateRequest {
    pub address: ResourceAddr,
    pub id: String,
    pub before: JsonAttrs,
    pub after: JsonAttrs,
    /// The attribute names that differ.
    pub changed: Vec<String>,
    pub tags: JsonAttrs,
    pub code: Option<Arc<Vec<u8>>>,
    pub progress: Option<ProgressFn>,
}

#[derive(Debug, Clone)]
pub struct UpdateResponse {
    pub object: ObjectState,
}

#[derive(Clone)]
pub struct DeleteRequest {
    pub address: ResourceAddr,
    pub id: String,
    pub attrs: JsonAttrs,
    /// How long the engine has been retrying this delete (zero on the first call): a provider keeps
    /// answering DependencyViolation only for what goes away by itself, and within a minute names
    /// anything else that holds the object.
    pub retrying_for: Duration,
    pub progress: Option<ProgressFn>,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteResponse {}

/// Finds the object a create with this key made, if it ever came to be.
#[derive(Debug, Clone)]
pub struct FindRequest {
    pub address: ResourceAddr,
    pub idempotency: IdempotencyKey,
}

#[derive(Debug, Clone, Default)]
pub struct FindResponse {
    pub object: Option<ObjectState>,
}

/// How the engine should treat a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    NotFound,
    /// Refused before it was acted on (throttling): retry with backoff.
    Throttled,
    /// A 5xx, a timeout or a broken connection: the request may or may not have taken effect. Retry
    /// with backoff; a create that cannot be repeated safely looks for what it may have made first.
    Unavailable,
    /// The endpoint did not answer, attempt after attempt: final (the message names the endpoint).
    Unreachable,
    /// Something else still uses the object; retry with backoff (AWS: DependencyViolation).
    DependencyViolation,
    /// Not visible yet (a new role propagating); retry with backoff.
    EventualConsistency,
    IdempotencyMismatch,
    InvalidInput,
    /// The identity running netplan may not make this call (AWS: AccessDenied, UnauthorizedOperation):
    /// the message names the action; `netplan policy` prints what a run needs.
    Denied,
    /// The provider does not do this at all.
    Unsupported,
    /// The object reached a failed state (a NAT gateway `failed`).
    Failed,
    Other,
}

impl ErrorKind {
    pub fn retryable(self) -> bool {
        matches!(
            self,
            ErrorKind::Throttled
                | ErrorKind::Unavailable
                | ErrorKind::DependencyViolation
                | ErrorKind::EventualConsistency
        )
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}{}", .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default())]
pub struct ProviderError {
    pub kind: ErrorKind,
    /// The cloud's error code (`DependencyViolation`, `InvalidSubnet.Conflict`).
    pub code: Option<String>,
    /// The cloud's message, kept as it was.
    pub message: String,
    /// A retryable error may suggest how long to wait.
    pub retry_after: Option<Duration>,
}

impl ProviderError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            code: None,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
}

/// One availability zone of the account.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Zone {
    pub name: String,
    pub id: String,
    /// Available, of type availability-zone, and opted in (or needing no opt-in).
    pub usable: bool,
}

/// A quota the plan is counted against.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Quota {
    /// What it counts.
    pub kind: crate::addr::Kind,
    /// Per availability zone (NAT gateways), else per region.
    pub per_zone: bool,
    pub name: String,
    /// Service Quotas' code (`L-…`).
    pub code: String,
    pub limit: u64,
    /// Where the limit comes from: "Service Quotas", or AWS's default and why.
    pub source: String,
    /// What the account has now (per zone for a per-zone quota).
    pub has: u64,
    pub has_per_zone: std::collections::BTreeMap<String, u64>,
}

/// What the provider read of the account.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Account {
    pub region: String,
    pub zones: Vec<Zone>,
    /// Instance type → the zones (names) that offer it (for the types asked about).
    pub offerings: std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    pub quotas: Vec<Quota>,
    /// Who is asking (an ARN), when the provider could tell.
    pub principal: Option<String>,
}

impl Account {
    pub fn zone(&self, name_or_id: &str) -> Option<&Zone> {
        self.zones
            .iter()
            .find(|z| z.name == name_or_id || z.id == name_or_id)
    }

    pub(crate) fn usable(&self) -> impl Iterator<Item = &Zone> {
        self.zones.iter().filter(|z| z.usable)
    }

    pub(crate) fn listing(&self) -> String {
        self.usable()
            .map(|z| format!("{} ({})", z.name, z.id))
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub(crate) fn offered(&self, instance_type: &str, zone: &str) -> bool {
        self.offerings
            .get(instance_type)
            .is_none_or(|zones| zones.contains(zone))
    }
}

/// What `plan` asks of the account before anything is created (`crate::account`).
#[derive(Debug, Clone, Default)]
pub struct AccountRequest {
    /// Instance types to ask where they are offered (NAT instances).
    pub instance_types: Vec<String>,
}

/// Invoke a deployed function (`netplan verify`).
#[derive(Debug, Clone)]
pub struct InvokeRequest {
    pub address: ResourceAddr,
    /// The function's name (its id in the state).
    pub name: String,
    /// How long the function may run (its `timeout`): an invocation is given that long, and more,
    /// before it counts as unanswered — it is never sent twice (it runs the function).
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct InvokeResponse {
    pub status: i32,
    /// Lambda's FunctionError ("Unhandled"), with the payload explaining it.
    pub function_error: Option<String>,
    pub payload: String,
    /// The endpoint only emulates Lambda: the handler did not run.
    pub emulated: bool,
}

/// What `check --live` asks of the account: these VPCs, the VPCs of these subnets, and these functions
/// (by name) with the VPCs they are attached to.
#[derive(Debug, Clone, Default)]
pub struct DiscoverRequest {
    pub vpcs: Vec<String>,
    pub subnets: Vec<String>,
    pub functions: Vec<String>,
}

/// Everything in those VPCs that decides whether a function reaches the internet: the VPCs, their
/// subnets, route tables (`main`, `subnets`, `routes` with target ids), internet, egress-only and NAT
/// gateways (`state`), security groups, network ACLs (`default`, `subnets`, entries), and the functions
/// with their roles (`managed_policies`). Attributes use the config's names; references hold AWS ids.
#[derive(Debug, Clone, Default)]
pub struct Discovered {
    pub objects: Vec<(Kind, ObjectState)>,
}

#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    fn name(&self) -> &str;
    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError>;
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError>;
    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError>;
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, ProviderError>;
    /// Never mutates (plan reconciles with it too).
    async fn find(&self, req: FindRequest) -> Result<FindResponse, ProviderError>;
    /// Removes what a create that never came to be left behind (a NAT instance's security group, made
    /// before the instance). Called only by apply and destroy, once the in-flight horizon has passed
    /// since the create started and `find` found nothing: the create cannot land any more.
    async fn discard(&self, req: FindRequest) -> Result<(), ProviderError> {
        let _ = req;
        Ok(())
    }
    /// How long after a request was sent the cloud may still carry it out (a request of a killed run can
    /// still be on its way): reconcile concludes a pending create never happened only once this much
    /// time has passed since it started.
    fn in_flight_horizon(&self) -> Duration {
        Duration::ZERO
    }
    /// What this cloud is like: typical step durations, slow creates, delete order (`crate::facts`).
    fn facts(&self) -> &dyn crate::facts::CloudFacts {
        &crate::facts::NoFacts
    }
    /// The account as a plan needs it: zones with their AZ IDs, where instance types are offered,
    /// quotas and what counts against them, who asks. Optional: without it (`Unsupported`), zones come
    /// from netplan's built-in table and nothing is counted.
    async fn account(&self, req: AccountRequest) -> Result<Account, ProviderError> {
        let _ = req;
        Err(ProviderError::new(
            ErrorKind::Unsupported,
            format!("the {} provider cannot read an account", self.name()),
        ))
    }
    /// The network around some functions or VPCs as it is now (`check --live`).
    async fn discover(&self, req: DiscoverRequest) -> Result<Discovered, ProviderError> {
        let _ = req;
        Err(ProviderError::new(
            ErrorKind::InvalidInput,
            format!("the {} provider cannot look at an account", self.name()),
        ))
    }
    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, ProviderError> {
        Err(ProviderError::new(
            ErrorKind::InvalidInput,
            format!("the {} provider cannot invoke {}", self.name(), req.address),
        ))
    }
}

/// The tags netplan puts on every taggable object.
pub fn standard_tags(
    stack: &str,
    address: &ResourceAddr,
    user: Option<&serde_json::Value>,
) -> JsonAttrs {
    let mut tags = JsonAttrs::new();
    if let Some(serde_json::Value::Object(m)) = user {
        for (k, v) in m {
            tags.insert(k.clone(), v.clone());
        }
    }
    tags.insert("netplan:stack".into(), stack.into());
    tags.insert("netplan:address".into(), address.to_string().into());
    tags
}
