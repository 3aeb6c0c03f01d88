//! A scriptable in-memory cloud: per-kind latency, any operation failing on its Nth call, AWS's
//! dependency rules enforced on delete (what moto does not check), Lambda network interfaces that
//! linger after their function is deleted, and a call log. Optionally persisted to a JSON file after
//! every mutation, so a process killed mid-apply leaves a cloud the next process can inspect.
//!
//! Time is tokio's clock, so tests with a paused clock run simulated minutes instantly.

use async_trait::async_trait;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::{Kind, ResourceAddr};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as J};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Read,
    Create,
    Update,
    Delete,
    Find,
}

/// One object in the fake cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeObject {
    pub kind: Kind,
    pub id: String,
    pub attrs: JsonAttrs,
    pub tags: JsonAttrs,
    #[serde(default)]
    pub token: Option<String>,
}

/// A Lambda-managed network interface: made with the function, released some minutes after it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FakeEni {
    pub id: String,
    pub function: String,
    pub role_arn: String,
    pub subnet: String,
    pub security_groups: Vec<String>,
    /// Cloud time (ms) at which it disappears; `None` while its function exists.
    pub release_at_ms: Option<u64>,
}

/// The cloud's contents: what a test asserts on, and what a persistent fake writes to disk.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FakeCloud {
    pub next_id: u64,
    pub objects: BTreeMap<String, FakeObject>,
    #[serde(default)]
    pub enis: Vec<FakeEni>,
}

/// Objects are keyed by kind and id: IAM role and Lambda function ids are names, which may coincide.
pub fn key(kind: Kind, id: &str) -> String {
    format!("{kind}/{id}")
}

impl FakeCloud {
    pub fn get(&self, kind: Kind, id: &str) -> Option<&FakeObject> {
        self.objects.get(&key(kind, id))
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &FakeObject> {
        self.objects.values().filter(move |o| o.kind == kind)
    }

    /// Objects tagged with this stack, by `netplan:address` (an address appearing twice is a duplicate).
    pub fn by_address(&self, stack: &str) -> BTreeMap<String, Vec<String>> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for o in self.objects.values() {
            if o.tags.get("netplan:stack").and_then(J::as_str) == Some(stack) {
                if let Some(a) = o.tags.get("netplan:address").and_then(J::as_str) {
                    m.entry(a.to_string()).or_default().push(o.id.clone());
                }
            }
        }
        m
    }
}

/// A scripted failure: the `nth` call (1-based) of `op` on `kind` (any kind when `None`) fails.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failure {
    pub op: Op,
    #[serde(default)]
    pub kind: Option<Kind>,
    #[serde(default)]
    pub address: Option<ResourceAddr>,
    #[serde(default = "one")]
    pub nth: usize,
    #[serde(default = "fail_code")]
    pub code: String,
    /// Fail this many consecutive calls from the nth on (a transient error that retry rides out).
    #[serde(default = "one")]
    pub times: usize,
}

fn one() -> usize {
    1
}
fn fail_code() -> String {
    "InternalError".into()
}

/// What a test (or `NETPLAN_FAKE_SCRIPT`) scripts: latencies, failures, ENI linger time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Script {
    /// Milliseconds a create (and an update) of each kind takes.
    #[serde(default)]
    pub create_ms: BTreeMap<Kind, u64>,
    /// Milliseconds a delete of each kind takes.
    #[serde(default)]
    pub delete_ms: BTreeMap<Kind, u64>,
    #[serde(default)]
    pub read_ms: u64,
    #[serde(default)]
    pub failures: Vec<Failure>,
    /// How long a deleted function's network interfaces linger (AWS: up to ~20–45 min).
    #[serde(default)]
    pub eni_linger_ms: u64,
}

impl Script {
    /// AWS-like latencies scaled by `scale` (1.0 = real seconds): NAT 120 s, Lambda 75 s, …
    pub fn aws_like(scale: f64) -> Script {
        let ms = |s: f64| (s * 1000.0 * scale) as u64;
        let mut create = BTreeMap::new();
        let mut delete = BTreeMap::new();
        for (k, c, d) in [
            (Kind::Vpc, 2.0, 1.0),
            (Kind::Subnet, 1.0, 1.0),
            (Kind::InternetGateway, 2.0, 2.0),
            (Kind::EgressOnlyInternetGateway, 1.0, 1.0),
            (Kind::ElasticIp, 1.0, 1.0),
            (Kind::NatGateway, 120.0, 60.0),
            (Kind::RouteTable, 1.0, 1.0),
            (Kind::VpcEndpoint, 5.0, 5.0),
            (Kind::SecurityGroup, 1.0, 1.0),
            (Kind::NetworkAcl, 1.0, 1.0),
            (Kind::IamRole, 1.0, 1.0),
            (Kind::LambdaFunction, 75.0, 5.0),
        ] {
            create.insert(k, ms(c));
            delete.insert(k, ms(d));
        }
        Script {
            create_ms: create,
            delete_ms: delete,
            read_ms: ms(0.2),
            failures: vec![],
            eni_linger_ms: ms(20.0 * 60.0),
        }
    }
}

/// One call, as the log records it.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub op: Op,
    pub address: Option<ResourceAddr>,
    /// When the call started and ended, from the provider's creation.
    pub start: Duration,
    pub end: Duration,
    pub error: Option<String>,
}

struct Inner {
    cloud: FakeCloud,
    script: Script,
    calls: Vec<Call>,
    counts: HashMap<(Op, Option<Kind>), usize>,
    address_counts: HashMap<(Op, ResourceAddr), usize>,
}

pub struct FakeProvider {
    inner: Mutex<Inner>,
    persist: Option<PathBuf>,
    start: Instant,
    /// Cloud time at `start`, in ms (wall clock for a persisted cloud, so time flows across processes).
    epoch_ms: u64,
}

fn err(kind: ErrorKind, code: &str, msg: impl Into<String>) -> ProviderError {
    ProviderError::new(kind, msg).code(code)
}

fn s<'a>(attrs: &'a JsonAttrs, k: &str) -> Option<&'a str> {
    attrs.get(k).and_then(J::as_str)
}

fn strs(attrs: &JsonAttrs, k: &str) -> Vec<String> {
    attrs
        .get(k)
        .and_then(J::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

impl Default for FakeProvider {
    fn default() -> Self {
        FakeProvider::new(Script::default())
    }
}

impl FakeProvider {
    pub fn new(script: Script) -> FakeProvider {
        FakeProvider {
            inner: Mutex::new(Inner {
                cloud: FakeCloud::default(),
                script,
                calls: vec![],
                counts: HashMap::new(),
                address_counts: HashMap::new(),
            }),
            persist: None,
            start: Instant::now(),
            epoch_ms: 0,
        }
    }

    /// A cloud kept in `path` (created when missing), rewritten atomically after every mutation.
    pub fn persistent(path: &Path, script: Script) -> std::io::Result<FakeProvider> {
        let cloud = match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FakeCloud::default(),
            Err(e) => return Err(e),
        };
        let epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let p = FakeProvider::new(script);
        p.inner.lock().expect("fresh").cloud = cloud;
        Ok(FakeProvider {
            persist: Some(path.to_path_buf()),
            epoch_ms,
            ..p
        })
    }

    /// Scripts from `NETPLAN_FAKE_SCRIPT` (a JSON file or inline JSON), for the CLI and its tests.
    pub fn script_from_env() -> Result<Script, String> {
        match std::env::var("NETPLAN_FAKE_SCRIPT") {
            Err(_) => Ok(Script::default()),
            Ok(v) => {
                let text = if v.trim_start().starts_with('{') {
                    v
                } else {
                    std::fs::read_to_string(&v)
                        .map_err(|e| format!("NETPLAN_FAKE_SCRIPT {v}: {e}"))?
                };
                serde_json::from_str(&text).map_err(|e| format!("NETPLAN_FAKE_SCRIPT: {e}"))
            }
        }
    }

    pub fn script_mut<R>(&self, f: impl FnOnce(&mut Script) -> R) -> R {
        f(&mut self.inner.lock().expect("fake lock").script)
    }

    /// Scripts a failure. Call counts restart here, so `nth` counts from now.
    pub fn fail(&self, failure: Failure) {
        let mut inner = self.inner.lock().expect("fake lock");
        inner.counts.clear();
        inner.address_counts.clear();
        inner.script.failures.push(failure);
    }

    pub fn cloud(&self) -> FakeCloud {
        self.inner.lock().expect("fake lock").cloud.clone()
    }

    pub fn set_cloud(&self, cloud: FakeCloud) {
        self.inner.lock().expect("fake lock").cloud = cloud;
    }

    pub fn calls(&self) -> Vec<Call> {
        self.inner.lock().expect("fake lock").calls.clone()
    }

    pub fn clear_calls(&self) {
        self.inner.lock().expect("fake lock").calls.clear();
    }

    /// Cloud time in ms.
    pub fn now_ms(&self) -> u64 {
        self.epoch_ms + self.start.elapsed().as_millis() as u64
    }

    fn persist(&self, cloud: &FakeCloud) -> Result<(), ProviderError> {
        let Some(path) = &self.persist else {
            return Ok(());
        };
        let tmp = path.with_extension("tmp");
        let bytes = serde_json::to_vec(cloud)
            .map_err(|e| err(ErrorKind::Other, "Persist", e.to_string()))?;
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| err(ErrorKind::Other, "Persist", e.to_string()))
    }

    /// Counts the call and returns the scripted failure, if this call is one.
    fn scripted_failure(
        inner: &mut Inner,
        op: Op,
        addr: Option<&ResourceAddr>,
    ) -> Option<ProviderError> {
        let kind = addr.map(|a| a.kind);
        let n_any = {
            let c = inner.counts.entry((op, None)).or_insert(0);
            *c += 1;
            *c
        };
        let n_kind = kind.map(|k| {
            let c = inner.counts.entry((op, Some(k))).or_insert(0);
            *c += 1;
            *c
        });
        let n_addr = addr.map(|a| {
            let c = inner.address_counts.entry((op, a.clone())).or_insert(0);
            *c += 1;
            *c
        });
        for f in &inner.script.failures {
            if f.op != op {
                continue;
            }
            let n = match (&f.address, f.kind) {
                (Some(fa), _) => match (addr, n_addr) {
                    (Some(a), Some(n)) if a == fa => n,
                    _ => continue,
                },
                (None, Some(fk)) => match n_kind {
                    Some(n) if kind == Some(fk) => n,
                    _ => continue,
                },
                (None, None) => n_any,
            };
            if n >= f.nth && n < f.nth + f.times {
                let kind = match f.code.as_str() {
                    "Throttling" | "RequestLimitExceeded" => ErrorKind::Throttled,
                    "DependencyViolation" => ErrorKind::DependencyViolation,
                    "InvalidParameterValue" => ErrorKind::InvalidInput,
                    _ => ErrorKind::Other,
                };
                return Some(err(
                    kind,
                    &f.code,
                    format!("scripted failure of {op:?} call {n}"),
                ));
            }
        }
        None
    }

    /// Common frame of every call: scripted failure, the operation itself under the lock, latency
    /// (outside the lock, so calls overlap), persistence, and the log entry.
    async fn call<T>(
        &self,
        op: Op,
        addr: Option<&ResourceAddr>,
        latency_after: bool,
        body: impl FnOnce(&mut FakeCloud, u64) -> Result<(T, u64), ProviderError>,
    ) -> Result<T, ProviderError> {
        let start = self.start.elapsed();
        let now = self.now_ms();
        let result = {
            let mut inner = self.inner.lock().expect("fake lock");
            match Self::scripted_failure(&mut inner, op, addr) {
                Some(e) => Err(e),
                None => {
                    release_enis(&mut inner.cloud, now);
                    let before = inner.cloud.clone();
                    match body(&mut inner.cloud, now) {
                        Ok((v, latency)) => {
                            if inner.cloud != before {
                                self.persist(&inner.cloud)?;
                            }
                            Ok((v, latency))
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        };
        let result = match result {
            Ok((v, latency)) => {
                if latency > 0 && latency_after {
                    tokio::time::sleep(Duration::from_millis(latency)).await;
                }
                Ok(v)
            }
            Err(e) => Err(e),
        };
        let end = self.start.elapsed();
        self.inner.lock().expect("fake lock").calls.push(Call {
            op,
            address: addr.cloned(),
            start,
            end,
            error: result.as_ref().err().map(|e| e.to_string()),
        });
        result
    }

    fn latency(&self, op: Op, kind: Kind) -> u64 {
        let inner = self.inner.lock().expect("fake lock");
        match op {
            Op::Create | Op::Update => inner.script.create_ms.get(&kind).copied().unwrap_or(0),
            Op::Delete => inner.script.delete_ms.get(&kind).copied().unwrap_or(0),
            _ => inner.script.read_ms,
        }
    }
}

/// The tags a read shows: the user's, without netplan's own.
fn user_tags(tags: &JsonAttrs) -> J {
    J::Object(
        tags.iter()
            .filter(|(k, _)| !k.starts_with("netplan:"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

fn release_enis(cloud: &mut FakeCloud, now: u64) {
    cloud
        .enis
        .retain(|e| e.release_at_ms.is_none_or(|t| t > now));
}

fn new_id(cloud: &mut FakeCloud, kind: Kind) -> String {
    cloud.next_id += 1;
    let n = cloud.next_id;
    match kind {
        Kind::IamRole | Kind::LambdaFunction => format!("{n}"),
        k => format!("{}{:017x}", k.id_prefix().unwrap_or("x-"), n),
    }
}

fn exists(
    cloud: &FakeCloud,
    kind: Kind,
    id: Option<&str>,
    what: &str,
) -> Result<(), ProviderError> {
    match id {
        Some(id) if cloud.get(kind, id).is_some() => Ok(()),
        Some(id) => Err(err(
            ErrorKind::NotFound,
            &format!("Invalid{}ID.NotFound", what),
            format!("The {what} ID '{id}' does not exist"),
        )),
        None => Err(err(
            ErrorKind::InvalidInput,
            "MissingParameter",
            format!("missing {what}"),
        )),
    }
}

/// Checks a create the way AWS would, and computes the object's attributes.
fn create_object(
    cloud: &mut FakeCloud,
    addr: &ResourceAddr,
    attrs: &JsonAttrs,
    now: u64,
) -> Result<(String, JsonAttrs), ProviderError> {
    let mut out = attrs.clone();
    out.remove("tags");
    let kind = addr.kind;
    match kind {
        Kind::Subnet => {
            let vpc_id = s(attrs, "vpc");
            exists(cloud, Kind::Vpc, vpc_id, "Vpc")?;
            let vpc = cloud
                .get(Kind::Vpc, vpc_id.expect("checked"))
                .expect("checked");
            let cidr: ipnet::Ipv4Net = s(attrs, "cidr")
                .unwrap_or("")
                .parse()
                .map_err(|_| err(ErrorKind::InvalidInput, "InvalidParameterValue", "bad CIDR"))?;
            let block: ipnet::Ipv4Net = s(&vpc.attrs, "cidr")
                .unwrap_or("")
                .parse()
                .map_err(|_| err(ErrorKind::Other, "Internal", "vpc cidr"))?;
            if !block.contains(&cidr) {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "InvalidSubnet.Range",
                    format!("The CIDR '{cidr}' is invalid."),
                ));
            }
            for o in cloud
                .of_kind(Kind::Subnet)
                .filter(|o| s(&o.attrs, "vpc") == vpc_id)
            {
                let other: ipnet::Ipv4Net = s(&o.attrs, "cidr")
                    .unwrap_or("0.0.0.0/32")
                    .parse()
                    .unwrap_or_default();
                if other.contains(&cidr.network()) || cidr.contains(&other.network()) {
                    return Err(err(
                        ErrorKind::InvalidInput,
                        "InvalidSubnet.Conflict",
                        format!("The CIDR '{cidr}' conflicts with another subnet"),
                    ));
                }
            }
            if let (Some(i), Some(v6)) = (
                attrs.get("ipv6_index").and_then(J::as_i64),
                s(&vpc.attrs, "ipv6_cidr_block"),
            ) {
                let base = v6.trim_end_matches("::/56");
                out.insert(
                    "ipv6_cidr_block".into(),
                    json!(format!("{base}{:02x}::/64", i)),
                );
            }
        }
        Kind::Vpc => {
            if attrs.get("ipv6").and_then(J::as_bool) == Some(true) {
                out.insert(
                    "ipv6_cidr_block".into(),
                    json!(format!(
                        "2600:1f18:{:x}:{:x}00::/56",
                        cloud.next_id % 0xffff,
                        cloud.next_id % 0xff
                    )),
                );
            }
        }
        Kind::InternetGateway => {
            let vpc = s(attrs, "vpc");
            exists(cloud, Kind::Vpc, vpc, "Vpc")?;
            if cloud
                .of_kind(Kind::InternetGateway)
                .any(|o| s(&o.attrs, "vpc") == vpc)
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "Resource.AlreadyAssociated",
                    "the VPC already has an internet gateway attached",
                ));
            }
        }
        Kind::EgressOnlyInternetGateway
        | Kind::RouteTable
        | Kind::SecurityGroup
        | Kind::NetworkAcl
        | Kind::VpcEndpoint => {
            exists(cloud, Kind::Vpc, s(attrs, "vpc"), "Vpc")?;
            if kind == Kind::SecurityGroup {
                let name = s(attrs, "name");
                if cloud
                    .of_kind(Kind::SecurityGroup)
                    .any(|o| s(&o.attrs, "vpc") == s(attrs, "vpc") && s(&o.attrs, "name") == name)
                {
                    return Err(err(
                        ErrorKind::InvalidInput,
                        "InvalidGroup.Duplicate",
                        format!("The security group '{}' already exists", name.unwrap_or("")),
                    ));
                }
            }
            if kind == Kind::RouteTable {
                for sub in strs(attrs, "subnets") {
                    exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
                    if cloud
                        .of_kind(Kind::RouteTable)
                        .any(|o| strs(&o.attrs, "subnets").contains(&sub))
                    {
                        return Err(err(
                            ErrorKind::InvalidInput,
                            "Resource.AlreadyAssociated",
                            format!("the subnet {sub} is already associated with a route table"),
                        ));
                    }
                }
                for r in attrs
                    .get("routes")
                    .and_then(J::as_array)
                    .into_iter()
                    .flatten()
                {
                    let target = r.get("target").and_then(J::as_str).unwrap_or("");
                    if !cloud.objects.values().any(|o| {
                        o.id == target
                            && matches!(
                                o.kind,
                                Kind::InternetGateway
                                    | Kind::NatGateway
                                    | Kind::EgressOnlyInternetGateway
                            )
                    }) {
                        return Err(err(
                            ErrorKind::NotFound,
                            "InvalidGatewayID.NotFound",
                            format!("The gateway ID '{target}' does not exist"),
                        ));
                    }
                }
            }
            if kind == Kind::VpcEndpoint {
                out.insert("prefix_list".into(), json!("pl-63a5400a"));
            }
        }
        Kind::ElasticIp => {
            out.insert(
                "public_ip".into(),
                json!(format!("198.51.100.{}", cloud.next_id % 250 + 1)),
            );
        }
        Kind::NatGateway => {
            exists(cloud, Kind::Subnet, s(attrs, "subnet"), "Subnet")?;
            let eip = s(attrs, "elastic_ip");
            exists(cloud, Kind::ElasticIp, eip, "Allocation")?;
            if cloud
                .of_kind(Kind::NatGateway)
                .any(|o| s(&o.attrs, "elastic_ip") == eip)
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "Resource.AlreadyAssociated",
                    format!(
                        "Elastic IP address [{}] is already associated",
                        eip.unwrap_or("")
                    ),
                ));
            }
        }
        Kind::IamRole => {
            let name = s(attrs, "name").unwrap_or("");
            if cloud
                .of_kind(Kind::IamRole)
                .any(|o| s(&o.attrs, "name") == Some(name))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "EntityAlreadyExists",
                    format!("Role with name {name} already exists."),
                ));
            }
            out.insert(
                "arn".into(),
                json!(format!("arn:aws:iam::123456789012:role/{name}")),
            );
        }
        Kind::LambdaFunction => {
            let name = s(attrs, "name").unwrap_or("");
            if cloud
                .of_kind(Kind::LambdaFunction)
                .any(|o| s(&o.attrs, "name") == Some(name))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "ResourceConflictException",
                    format!("Function already exist: {name}"),
                ));
            }
            let role = s(attrs, "role").unwrap_or("");
            if !cloud
                .of_kind(Kind::IamRole)
                .any(|o| s(&o.attrs, "arn") == Some(role))
            {
                return Err(err(
                    ErrorKind::InvalidInput,
                    "InvalidParameterValueException",
                    "The role defined for the function cannot be assumed by Lambda.",
                ));
            }
            for sub in strs(attrs, "subnets") {
                exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
            }
            for sg in strs(attrs, "security_groups") {
                exists(cloud, Kind::SecurityGroup, Some(&sg), "Group")?;
            }
            out.insert(
                "arn".into(),
                json!(format!(
                    "arn:aws:lambda:us-east-1:123456789012:function:{name}"
                )),
            );
        }
        Kind::Network | Kind::Function => {
            return Err(err(
                ErrorKind::InvalidInput,
                "Unsupported",
                "high-level kinds are expanded by the engine",
            ))
        }
    }
    let id = match kind {
        Kind::IamRole | Kind::LambdaFunction => s(attrs, "name").unwrap_or("").to_string(),
        _ => new_id(cloud, kind),
    };
    if kind == Kind::Vpc {
        out.insert(
            "main_route_table".into(),
            json!(format!("rtb-main{}", &id[4..])),
        );
    }
    if kind == Kind::LambdaFunction {
        attach_enis(cloud, &id, attrs, now);
    }
    out.insert("id".into(), json!(id));
    Ok((id, out))
}

fn attach_enis(cloud: &mut FakeCloud, function: &str, attrs: &JsonAttrs, _now: u64) {
    let role = s(attrs, "role").unwrap_or("").to_string();
    let sgs = strs(attrs, "security_groups");
    for sub in strs(attrs, "subnets") {
        cloud.next_id += 1;
        let id = format!("eni-{:017x}", cloud.next_id);
        cloud.enis.push(FakeEni {
            id,
            function: function.to_string(),
            role_arn: role.clone(),
            subnet: sub,
            security_groups: sgs.clone(),
            release_at_ms: None,
        });
    }
}

/// AWS's dependency rules: what refuses to go while something still uses it.
fn check_delete(cloud: &FakeCloud, obj: &FakeObject) -> Result<(), ProviderError> {
    let id = obj.id.as_str();
    let dv = |msg: String| {
        Err(err(
            ErrorKind::DependencyViolation,
            "DependencyViolation",
            msg,
        ))
    };
    match obj.kind {
        Kind::Vpc => {
            if let Some(o) = cloud
                .objects
                .values()
                .find(|o| s(&o.attrs, "vpc") == Some(id))
            {
                return dv(format!(
                    "The vpc '{id}' has dependencies and cannot be deleted ({} {})",
                    o.kind, o.id
                ));
            }
        }
        Kind::Subnet => {
            if let Some(n) = cloud
                .of_kind(Kind::NatGateway)
                .find(|o| s(&o.attrs, "subnet") == Some(id))
            {
                return dv(format!(
                    "The subnet '{id}' has dependencies and cannot be deleted (NAT gateway {})",
                    n.id
                ));
            }
            if let Some(e) = cloud.enis.iter().find(|e| e.subnet == id) {
                return dv(format!("The subnet '{id}' has dependencies and cannot be deleted (network interface {} of Lambda {})", e.id, e.function));
            }
        }
        Kind::SecurityGroup => {
            if let Some(e) = cloud
                .enis
                .iter()
                .find(|e| e.security_groups.iter().any(|g| g == id))
            {
                return dv(format!(
                    "resource {id} has a dependent object (network interface {} of Lambda {})",
                    e.id, e.function
                ));
            }
        }
        Kind::InternetGateway => {
            let vpc = s(&obj.attrs, "vpc");
            let subnets: Vec<&str> = cloud
                .of_kind(Kind::Subnet)
                .filter(|o| s(&o.attrs, "vpc") == vpc)
                .map(|o| o.id.as_str())
                .collect();
            if let Some(n) = cloud
                .of_kind(Kind::NatGateway)
                .find(|o| s(&o.attrs, "subnet").is_some_and(|sb| subnets.contains(&sb)))
            {
                return dv(format!("Network {} has some mapped public address(es) (NAT gateway {}). Please unmap those public address(es) before detaching the gateway.", vpc.unwrap_or(""), n.id));
            }
        }
        Kind::ElasticIp => {
            if let Some(n) = cloud
                .of_kind(Kind::NatGateway)
                .find(|o| s(&o.attrs, "elastic_ip") == Some(id))
            {
                return dv(format!(
                    "The address {id} is in use by NAT gateway {}",
                    n.id
                ));
            }
        }
        Kind::IamRole => {
            let arn = s(&obj.attrs, "arn");
            if let Some(e) = cloud.enis.iter().find(|e| Some(e.role_arn.as_str()) == arn) {
                return dv(format!(
                    "role {id} is still needed by Lambda to release network interface {} of {}",
                    e.id, e.function
                ));
            }
        }
        Kind::RouteTable => {
            if let Some(ep) = cloud
                .of_kind(Kind::VpcEndpoint)
                .find(|o| strs(&o.attrs, "route_tables").iter().any(|t| t == id))
            {
                return dv(format!(
                    "The routeTable '{id}' has dependencies and cannot be deleted (endpoint {})",
                    ep.id
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

#[async_trait]
impl Provider for FakeProvider {
    fn name(&self) -> &str {
        "fake"
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let lat = self.latency(Op::Read, Kind::Vpc);
        self.call(Op::Read, None, true, |cloud, _| {
            let objects = req
                .objects
                .iter()
                .map(|o| {
                    let found = cloud.get(o.address.kind, &o.id).map(|x| {
                        let mut attrs = x.attrs.clone();
                        attrs.insert("tags".into(), user_tags(&x.tags));
                        ObjectState {
                            id: x.id.clone(),
                            attrs,
                        }
                    });
                    (o.address.clone(), found)
                })
                .collect();
            Ok((ReadResponse { objects }, lat))
        })
        .await
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let lat = self.latency(Op::Create, req.address.kind);
        self.call(Op::Create, Some(&req.address), true, |cloud, now| {
            let (id, attrs) = create_object(cloud, &req.address, &req.attrs, now)?;
            let mut shown = attrs.clone();
            shown.insert("tags".into(), user_tags(&req.tags));
            cloud.objects.insert(
                key(req.address.kind, &id),
                FakeObject {
                    kind: req.address.kind,
                    id: id.clone(),
                    attrs,
                    tags: req.tags.clone(),
                    token: Some(req.idempotency.token.clone()),
                },
            );
            Ok((
                CreateResponse {
                    object: ObjectState { id, attrs: shown },
                },
                lat,
            ))
        })
        .await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let lat = self.latency(Op::Update, req.address.kind);
        self.call(Op::Update, Some(&req.address), true, |cloud, now| {
            let Some(obj) = cloud.get(req.address.kind, &req.id).cloned() else {
                return Err(err(
                    ErrorKind::NotFound,
                    "NotFound",
                    format!("{} {} does not exist", req.address.kind, req.id),
                ));
            };
            let mut attrs = obj.attrs.clone();
            for (k, v) in &req.after {
                if k != "tags" {
                    attrs.insert(k.clone(), v.clone());
                }
            }
            if req.address.kind == Kind::RouteTable {
                for sub in strs(&attrs, "subnets") {
                    exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
                    if cloud
                        .of_kind(Kind::RouteTable)
                        .any(|o| o.id != req.id && strs(&o.attrs, "subnets").contains(&sub))
                    {
                        return Err(err(
                            ErrorKind::InvalidInput,
                            "Resource.AlreadyAssociated",
                            format!(
                                "the subnet {sub} is already associated with another route table"
                            ),
                        ));
                    }
                }
            }
            if req.address.kind == Kind::LambdaFunction
                && (req
                    .changed
                    .iter()
                    .any(|c| c == "subnets" || c == "security_groups"))
            {
                for e in cloud
                    .enis
                    .iter_mut()
                    .filter(|e| e.function == req.id && e.release_at_ms.is_none())
                {
                    e.release_at_ms = Some(now);
                }
                attach_enis(cloud, &req.id, &attrs, now);
            }
            let mut tags = obj.tags.clone();
            tags.retain(|k, _| k.starts_with("netplan:"));
            tags.extend(req.tags.clone());
            let mut shown = attrs.clone();
            shown.insert("tags".into(), user_tags(&tags));
            cloud.objects.insert(
                key(req.address.kind, &req.id),
                FakeObject { attrs, tags, ..obj },
            );
            Ok((
                UpdateResponse {
                    object: ObjectState {
                        id: req.id.clone(),
                        attrs: shown,
                    },
                },
                lat,
            ))
        })
        .await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<DeleteResponse, ProviderError> {
        let lat = self.latency(Op::Delete, req.address.kind);
        let linger = self.inner.lock().expect("fake lock").script.eni_linger_ms;
        self.call(Op::Delete, Some(&req.address), true, |cloud, now| {
            let Some(obj) = cloud.get(req.address.kind, &req.id).cloned() else {
                return Err(err(
                    ErrorKind::NotFound,
                    "NotFound",
                    format!("{} {} does not exist", req.address.kind, req.id),
                ));
            };
            check_delete(cloud, &obj)?;
            cloud.objects.remove(&key(obj.kind, &obj.id));
            if obj.kind == Kind::LambdaFunction {
                for e in cloud.enis.iter_mut().filter(|e| e.function == obj.id) {
                    e.release_at_ms = Some(now + linger);
                }
            }
            Ok((DeleteResponse {}, lat))
        })
        .await
    }

    async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, ProviderError> {
        match self.cloud().get(Kind::LambdaFunction, &req.name) {
            Some(_) => Ok(InvokeResponse {
                status: 200,
                function_error: None,
                payload: "{}".into(),
                emulated: true,
            }),
            None => Err(err(
                ErrorKind::NotFound,
                "ResourceNotFoundException",
                format!("Function not found: {}", req.name),
            )),
        }
    }

    /// The whole fake account (it is small): every object of the kinds reachability reads.
    async fn discover(&self, req: DiscoverRequest) -> Result<Discovered, ProviderError> {
        let _ = req;
        let lat = self.latency(Op::Read, Kind::Vpc);
        self.call(Op::Read, None, true, |cloud, _| {
            let objects = cloud
                .objects
                .values()
                .filter(|o| !matches!(o.kind, Kind::ElasticIp | Kind::VpcEndpoint))
                .map(|o| {
                    let mut attrs = o.attrs.clone();
                    if o.kind == Kind::NatGateway {
                        attrs.insert("state".into(), J::String("available".into()));
                    }
                    (
                        o.kind,
                        ObjectState {
                            id: o.id.clone(),
                            attrs,
                        },
                    )
                })
                .collect();
            Ok((Discovered { objects }, lat))
        })
        .await
    }

    async fn find(&self, req: FindRequest) -> Result<FindResponse, ProviderError> {
        let lat = self.latency(Op::Find, req.address.kind);
        self.call(Op::Find, Some(&req.address), true, |cloud, _| {
            let key = &req.idempotency;
            let found = cloud.objects.values().find(|o| {
                o.kind == req.address.kind
                    && (o.token.as_deref() == Some(key.token.as_str())
                        || (o.tags.get("netplan:stack").and_then(J::as_str)
                            == Some(key.stack.as_str())
                            && o.tags.get("netplan:address").and_then(J::as_str)
                                == Some(key.address.to_string().as_str())))
            });
            let object = found.map(|o| {
                let mut attrs = o.attrs.clone();
                attrs.insert("tags".into(), user_tags(&o.tags));
                ObjectState {
                    id: o.id.clone(),
                    attrs,
                }
            });
            Ok((FindResponse { object }, lat))
        })
        .await
    }
}
