//! Remote state in S3 (`state = "s3://bucket/key"`), shared by a team and safe against two writers:
//!
//! - **Lock**: the object `<key>.lock`, created with `If-None-Match: *` (S3 conditional writes), holding
//!   who took it (lock id, pid, host, command, since, and what identifies the process: boot id, pid
//!   namespace, start time); deleted when the run ends. A second run is refused at once and told the
//!   holder and how to release a lock a dead run left (`netplan force-unlock ID`). A lock is taken over
//!   only when its holder is provably gone — same machine boot and pid namespace, no such process —
//!   never on the host name alone (containers share it), with `If-Match` on the stale lock so two runs
//!   cannot both take it over.
//! - **Writes**: every save is conditional on the version this run last read or wrote (`If-Match` with
//!   its ETag, `If-None-Match: *` for the first state), so a writer that ignored the lock can never be
//!   overwritten silently: the save fails and says so.
//! - **Backup**: before this process's first write, the state as it was goes to `<key>.backup`.
//!
//! `StateStore` is synchronous (the engine's state writer calls it between mutations), so the S3 calls
//! run on a thread of the store's own with a single-threaded runtime; callers block for the call, as
//! they do for the local store's fsync.

use super::AwsOptions;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use netplan_engine::state::store::{self, LockInfo, StateError, StateLock, StateStore};
use netplan_engine::state::State;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;

/// What the store's thread is asked to do.
enum Op {
    Get(String),
    Put {
        key: String,
        body: Vec<u8>,
        if_match: Option<String>,
        if_none_match: bool,
    },
    Delete(String),
}

#[derive(Debug)]
enum Outcome {
    /// The object's bytes and ETag; `None` when there is no such object.
    Got(Option<(Vec<u8>, Option<String>)>),
    /// The new ETag.
    Put(Option<String>),
    Deleted,
    /// A conditional write that did not hold (HTTP 412).
    Precondition,
    Failed(String),
}

type Job = (Op, mpsc::Sender<Outcome>);

pub struct S3StateStore {
    url: String,
    key: String,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// The ETag of the state as this run last read or wrote it: `Some(None)` when there was none.
    etag: Mutex<Option<Option<String>>>,
    /// The state's bytes as `load` read them: the backup, without reading them again.
    loaded: Mutex<Option<Vec<u8>>>,
    backed_up: AtomicBool,
    keys: Option<std::sync::Arc<dyn netplan_engine::state::crypto::Keys>>,
}

impl S3StateStore {
    /// A store for `s3://bucket/key`, reaching S3 as `opts` say (an emulator's endpoint included).
    pub fn open(url: &str, opts: AwsOptions) -> Result<S3StateStore, StateError> {
        let unsupported = |m: &str| StateError::Unsupported(format!("{url}: {m}"));
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| unsupported("not an s3:// location"))?;
        let (bucket, key) = rest
            .split_once('/')
            .filter(|(b, k)| !b.is_empty() && !k.is_empty() && !k.ends_with('/'))
            .ok_or_else(|| unsupported("write it as s3://BUCKET/KEY"))?;
        let (bucket, key) = (bucket.to_string(), key.to_string());
        let (tx, rx) = mpsc::channel::<Job>();
        let path_style = opts.endpoint_url.is_some();
        std::thread::Builder::new()
            .name("netplan-s3-state".into())
            .spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                let client = rt.block_on(async {
                    let config = super::sdk_config(&opts, true).await;
                    let s3 = aws_sdk_s3::config::Builder::from(&config)
                        .force_path_style(path_style)
                        .build();
                    aws_sdk_s3::Client::from_conf(s3)
                });
                while let Ok((op, reply)) = rx.recv() {
                    let _ = reply.send(rt.block_on(run(&client, &bucket, op)));
                }
            })
            .map_err(|e| StateError::Io {
                action: "start the S3 client for",
                location: url.to_string(),
                source: e,
            })?;
        Ok(S3StateStore {
            url: url.to_string(),
            key,
            jobs: Mutex::new(tx),
            etag: Mutex::new(None),
            loaded: Mutex::new(None),
            backed_up: AtomicBool::new(false),
            keys: None,
        })
    }

    /// Keeps the state encrypted with these keys.
    pub fn encrypted(
        mut self,
        keys: Option<std::sync::Arc<dyn netplan_engine::state::crypto::Keys>>,
    ) -> Self {
        self.keys = keys;
        self
    }

    fn call(&self, op: Op) -> Outcome {
        let (tx, rx) = mpsc::channel();
        let sent = self
            .jobs
            .lock()
            .expect("jobs")
            .send((op, tx))
            .map_err(|_| ());
        match sent.and_then(|_| rx.recv().map_err(|_| ())) {
            Ok(o) => o,
            Err(()) => Outcome::Failed("the S3 client thread has stopped".into()),
        }
    }

    fn failed(&self, action: &'static str, message: String) -> StateError {
        StateError::Io {
            action,
            location: self.url.clone(),
            source: std::io::Error::other(message),
        }
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }
}

async fn run(client: &aws_sdk_s3::Client, bucket: &str, op: Op) -> Outcome {
    let error = |action: &str, code: Option<&str>, message: Option<&str>, debug: String| {
        if code == Some("PreconditionFailed") {
            Outcome::Precondition
        } else {
            Outcome::Failed(format!(
                "{action}: {}",
                match (code, message) {
                    (Some(c), Some(m)) => format!("{c}: {m}"),
                    (Some(c), None) => c.to_string(),
                    _ => debug,
                }
            ))
        }
    };
    match op {
        Op::Get(key) => match client.get_object().bucket(bucket).key(&key).send().await {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_string);
                match out.body.collect().await {
                    Ok(b) => Outcome::Got(Some((b.into_bytes().to_vec(), etag))),
                    Err(e) => Outcome::Failed(format!("GetObject: {e}")),
                }
            }
            Err(e) if e.code() == Some("NoSuchKey") => Outcome::Got(None),
            Err(e) => error(
                "GetObject",
                e.code(),
                e.message(),
                aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            ),
        },
        Op::Put {
            key,
            body,
            if_match,
            if_none_match,
        } => {
            let mut call = client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .content_type("application/json")
                .body(ByteStream::from(body));
            if let Some(etag) = if_match {
                call = call.if_match(etag);
            }
            if if_none_match {
                call = call.if_none_match("*");
            }
            match call.send().await {
                Ok(out) => Outcome::Put(out.e_tag().map(str::to_string)),
                Err(e) => {
                    let status = e.raw_response().map(|r| r.status().as_u16());
                    if status == Some(412) {
                        return Outcome::Precondition;
                    }
                    error(
                        "PutObject",
                        e.code(),
                        e.message(),
                        aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
                    )
                }
            }
        }
        Op::Delete(key) => match client.delete_object().bucket(bucket).key(&key).send().await {
            Ok(_) => Outcome::Deleted,
            Err(e) => error(
                "DeleteObject",
                e.code(),
                e.message(),
                aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            ),
        },
    }
}

/// Deletes the lock object when the run ends.
struct S3Lock {
    jobs: mpsc::Sender<Job>,
    key: String,
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        let (tx, rx) = mpsc::channel();
        if self.jobs.send((Op::Delete(self.key.clone()), tx)).is_ok() {
            let _ = rx.recv();
        }
    }
}

impl StateStore for S3StateStore {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        match self.call(Op::Get(self.key.clone())) {
            Outcome::Got(None) => {
                *self.etag.lock().expect("etag") = Some(None);
                Ok(None)
            }
            Outcome::Got(Some((bytes, etag))) => {
                let state = store::parse(&self.url, &bytes, self.keys.as_deref())?;
                *self.etag.lock().expect("etag") = Some(etag);
                *self.loaded.lock().expect("loaded") = Some(bytes);
                Ok(Some(state))
            }
            Outcome::Failed(m) => Err(self.failed("read", m)),
            other => Err(self.failed("read", format!("unexpected answer {other:?}"))),
        }
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        let bytes = store::encode(&self.url, state, self.keys.as_deref())?;
        let known = self.etag.lock().expect("etag").clone();
        if !self.backed_up.swap(true, Ordering::SeqCst) {
            let before = match self.loaded.lock().expect("loaded").take() {
                Some(bytes) => Some(bytes),
                None => match self.call(Op::Get(self.key.clone())) {
                    Outcome::Got(found) => found.map(|(bytes, _)| bytes),
                    _ => None,
                },
            };
            if let Some(old) = before {
                match self.call(Op::Put {
                    key: format!("{}.backup", self.key),
                    body: old,
                    if_match: None,
                    if_none_match: false,
                }) {
                    Outcome::Put(_) => {}
                    Outcome::Failed(m) => return Err(self.failed("write the backup of", m)),
                    other => return Err(self.failed("write the backup of", format!("{other:?}"))),
                }
            }
        }
        let (if_match, if_none_match) = match &known {
            Some(Some(etag)) => (Some(etag.clone()), false),
            Some(None) => (None, true),
            None => (None, false),
        };
        match self.call(Op::Put {
            key: self.key.clone(),
            body: bytes,
            if_match,
            if_none_match,
        }) {
            Outcome::Put(etag) => {
                *self.etag.lock().expect("etag") = Some(etag);
                Ok(())
            }
            Outcome::Precondition => Err(self.failed(
                "write",
                "the state changed since this run read it: another writer did not hold the lock; nothing was overwritten (run again to start from the current state)".into(),
            )),
            Outcome::Failed(m) => Err(self.failed("write", m)),
            other => Err(self.failed("write", format!("unexpected answer {other:?}"))),
        }
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let info = LockInfo::current(operation);
        let body = serde_json::to_vec(&info).unwrap_or_default();
        let take = |if_match: Option<String>| {
            self.call(Op::Put {
                key: self.lock_key(),
                body: body.clone(),
                if_none_match: if_match.is_none(),
                if_match,
            })
        };
        let held = || {
            Ok(StateLock::holding(S3Lock {
                jobs: self.jobs.lock().expect("jobs").clone(),
                key: self.lock_key(),
            }))
        };
        match take(None) {
            Outcome::Put(_) => return held(),
            Outcome::Precondition => {}
            Outcome::Failed(m) => return Err(self.failed("lock", m)),
            other => return Err(self.failed("lock", format!("{other:?}"))),
        }
        // Taken: by whom?
        let (holder, etag) = match self.call(Op::Get(self.lock_key())) {
            Outcome::Got(Some((bytes, etag))) => (
                serde_json::from_slice::<LockInfo>(&bytes).unwrap_or_else(|_| LockInfo::unknown()),
                etag,
            ),
            // Released meanwhile: try once more.
            Outcome::Got(None) => {
                return match take(None) {
                    Outcome::Put(_) => held(),
                    _ => Err(self.failed("lock", "another run took the lock".into())),
                }
            }
            Outcome::Failed(m) => return Err(self.failed("read the lock of", m)),
            other => return Err(self.failed("read the lock of", format!("{other:?}"))),
        };
        if let Some(etag) = etag.filter(|_| holder.holder_is_gone()) {
            if let Outcome::Put(_) = take(Some(etag)) {
                return held();
            }
        }
        Err(StateError::Locked {
            location: self.url.clone(),
            holder: Box::new(holder),
            remote: true,
        })
    }

    fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        let holder = match self.call(Op::Get(self.lock_key())) {
            Outcome::Got(Some((bytes, _))) => {
                serde_json::from_slice::<LockInfo>(&bytes).unwrap_or_else(|_| LockInfo::unknown())
            }
            Outcome::Got(None) => {
                return Err(StateError::Unsupported(format!(
                    "{} is not locked: nothing to release",
                    self.url
                )))
            }
            Outcome::Failed(m) => return Err(self.failed("read the lock of", m)),
            other => return Err(self.failed("read the lock of", format!("{other:?}"))),
        };
        if holder.id != lock_id {
            return Err(StateError::Unsupported(format!(
                "the lock on {} has id {}, not {lock_id}: it may be another run's, taken since; nothing was released",
                self.url,
                if holder.id.is_empty() { "unknown" } else { holder.id.as_str() }
            )));
        }
        match self.call(Op::Delete(self.lock_key())) {
            Outcome::Deleted => Ok(holder),
            Outcome::Failed(m) => Err(self.failed("release the lock of", m)),
            other => Err(self.failed("release the lock of", format!("{other:?}"))),
        }
    }
}
