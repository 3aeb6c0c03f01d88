//! A scriptable in-memory cloud, in three rooms: `script` (latencies, scripted failures), `rules` (AWS's
//! rules on create and delete, Lambda's network interfaces), and here the provider itself with the frame
//! every call goes through (scripted failure, the operation under the lock, latency outside it,
//! persistence of `cloud`, the call log).
//!
//! Time is tokio's clock, so tests with a paused clock run simulated minutes instantly.

mod cloud;
mod rules;
mod script;

pub use cloud::{key, FakeCloud, FakeEni, FakeObject};
pub use script::{Failure, Op, Script};

use async_trait::async_trait;
use netplan_engine::provider::*;
use netplan_engine::value::JsonAttrs;
use netplan_engine::{Kind, ResourceAddr};
use rules::{attach_enis, check_delete, create_object, err, exists, release_enis};
use script::Counters;
use serde::Serialize;
use serde_json::Value as J;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// One call, as the log records it.
#[derive(Debug, Clone, Serialize)]
pub struct Call {
    pub op: Op,
    pub address: Option<ResourceAddr>,
    /// When the call started and ended, from the provider's creation.
    pub start: Duration,
    pub end: Duration,
    /// When its request held a slot (`Script::max_in_flight`): what `--parallelism` bounds. The rest of
    /// the call is the object's lifecycle (a NAT gateway pending), which holds none.
    pub request: (Duration, Duration),
    pub error: Option<String>,
}

struct Inner {
    cloud: FakeCloud,
    script: Script,
    calls: Vec<Call>,
    counters: Counters,
}

pub struct FakeProvider {
    inner: Mutex<Inner>,
    /// Requests in flight at once (`Script::max_in_flight`).
    slots: Option<tokio::sync::Semaphore>,
    persist: Option<PathBuf>,
    start: Instant,
    /// Cloud time at `start`, in ms (wall clock for a persisted cloud, so time flows across processes).
    epoch_ms: u64,
    /// Its latencies as facts (fixed when it is made: `script_mut` changes the calls, not these).
    facts: FakeFacts,
}

impl Default for FakeProvider {
    fn default() -> Self {
        FakeProvider::new(Script::default())
    }
}

impl FakeProvider {
    pub fn new(script: Script) -> FakeProvider {
        FakeProvider {
            facts: FakeFacts {
                script: script.clone(),
            },
            slots: script
                .max_in_flight
                .map(|n| tokio::sync::Semaphore::new(n.max(1))),
            inner: Mutex::new(Inner {
                cloud: FakeCloud::default(),
                script,
                calls: vec![],
                counters: Counters::default(),
            }),
            persist: None,
            start: Instant::now(),
            epoch_ms: 0,
        }
    }

    /// A cloud kept in `path` (created when missing), rewritten atomically after every mutation.
    pub fn persistent(path: &Path, script: Script) -> std::io::Result<FakeProvider> {
        let cloud = FakeCloud::load(path)?;
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
        inner.counters = Counters::default();
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
        let slot = match &self.slots {
            Some(s) => Some(s.acquire().await.expect("never closed")),
            None => None,
        };
        let request_ms = self.inner.lock().expect("fake lock").script.request_ms;
        if request_ms > 0 {
            tokio::time::sleep(Duration::from_millis(request_ms)).await;
        }
        let request_start = self.start.elapsed() - Duration::from_millis(request_ms);
        let now = self.now_ms();
        let result = {
            let mut inner = self.inner.lock().expect("fake lock");
            let inner = &mut *inner;
            match inner.counters.failure(&inner.script.failures, op, addr) {
                Some(e) => Err(e),
                None => {
                    release_enis(&mut inner.cloud, now);
                    let before = inner.cloud.clone();
                    match body(&mut inner.cloud, now) {
                        Ok((v, latency)) => {
                            if inner.cloud != before {
                                if let Some(path) = &self.persist {
                                    inner.cloud.save(path).map_err(|e| {
                                        err(ErrorKind::Other, "Persist", e.to_string())
                                    })?;
                                }
                            }
                            Ok((v, latency))
                        }
                        Err(e) => Err(e),
                    }
                }
            }
        };
        drop(slot);
        let request = (request_start, self.start.elapsed());
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
        tracing::debug!(
            "fake {op:?}{} {} in {}ms",
            addr.map(|a| format!(" {a}")).unwrap_or_default(),
            match &result {
                Ok(_) => "ok".to_string(),
                Err(e) => format!("failed: {e}"),
            },
            (end - start).as_millis()
        );
        self.inner.lock().expect("fake lock").calls.push(Call {
            op,
            address: addr.cloned(),
            start,
            end,
            request,
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

/// An object as a read shows it: its attributes, the user's tags, and its netplan tags as its owner.
fn shown(x: &FakeObject) -> ObjectState {
    let mut attrs = x.attrs.clone();
    attrs.insert("tags".into(), user_tags(&x.tags));
    ObjectState::new(x.id.clone(), attrs).owned_by(
        x.tags
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
    )
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

/// The fake declares its own facts: its scripted latencies, and AWS's rules (it models them).
pub struct FakeFacts {
    script: Script,
}

impl netplan_engine::facts::CloudFacts for FakeFacts {
    fn typical(&self, kind: Kind, op: netplan_engine::facts::Op) -> Duration {
        use netplan_engine::facts::Op;
        let table = match op {
            Op::Delete => &self.script.delete_ms,
            Op::Create | Op::Update => &self.script.create_ms,
        };
        Duration::from_millis(table.get(&kind).copied().unwrap_or(0))
    }

    fn slow_create(&self, kind: Kind) -> bool {
        crate::facts::AwsFacts.slow_create(kind)
    }

    fn delete_order(
        &self,
        state: &netplan_engine::state::State,
    ) -> Vec<(ResourceAddr, ResourceAddr)> {
        crate::facts::delete_order(state)
    }

    fn source(&self) -> String {
        "the fake cloud's scripted latencies".into()
    }
}

#[async_trait]
impl Provider for FakeProvider {
    fn name(&self) -> &str {
        "fake"
    }

    fn facts(&self) -> &dyn netplan_engine::facts::CloudFacts {
        &self.facts
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let lat = self.latency(Op::Read, Kind::Vpc);
        self.call(Op::Read, None, true, |cloud, _| {
            let objects = req
                .objects
                .iter()
                .map(|o| {
                    let found = cloud.get(o.address.kind, &o.id).map(shown);
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
                    object: ObjectState::new(id, shown),
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
                for sub in rules::texts(&attrs, "subnets") {
                    exists(cloud, Kind::Subnet, Some(&sub), "Subnet")?;
                }
                // A subnet another table holds moves here in one call (AWS's
                // ReplaceRouteTableAssociation, as the AWS provider does it).
                rules::take_subnets(cloud, &req.id, &rules::texts(&attrs, "subnets"));
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
            let updated = FakeObject { attrs, tags, ..obj };
            let object = shown(&updated);
            cloud
                .objects
                .insert(key(req.address.kind, &req.id), updated);
            Ok((UpdateResponse { object }, lat))
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
                    (o.kind, ObjectState::new(o.id.clone(), attrs))
                })
                .collect();
            Ok((Discovered { objects }, lat))
        })
        .await
    }

    async fn find(&self, req: FindRequest) -> Result<FindResponse, ProviderError> {
        let lat = self.latency(Op::Find, req.address.kind);
        self.call(Op::Find, Some(&req.address), true, |cloud, _| {
            // What the create with this key made: its token, and this stack's and address's tags.
            let key = &req.idempotency;
            let found = cloud.objects.values().find(|o| {
                o.kind == req.address.kind
                    && o.token.as_deref() == Some(key.token.as_str())
                    && o.tags.get("netplan:stack").and_then(J::as_str) == Some(key.stack.as_str())
                    && o.tags.get("netplan:address").and_then(J::as_str)
                        == Some(key.address.to_string().as_str())
            });
            let object = found.map(shown);
            Ok((FindResponse { object }, lat))
        })
        .await
    }
}
