//! The fake cloud's contents — objects with their tags and idempotency tokens, and Lambda's network
//! interfaces — what a test asserts on, and what a persisted fake keeps in its file (rewritten
//! atomically after every mutation, so a process killed mid-apply leaves a whole cloud behind).

use netplan_engine::value::JsonAttrs;
use netplan_engine::Kind;
use serde::{Deserialize, Serialize};
use serde_json::Value as J;
use std::collections::BTreeMap;
use std::path::Path;

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

impl FakeCloud {
    /// The cloud kept in `path` (empty when the file does not exist yet).
    pub fn load(path: &Path) -> std::io::Result<FakeCloud> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FakeCloud::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes the cloud to `path` atomically: a temp file, fsynced, renamed over it.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        use std::io::Write;
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    }
}
