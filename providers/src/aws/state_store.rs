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
//! - **Release**: a run's exit deletes the lock object only while it is still this run's (its id read
//!   back, the delete conditional on the ETag this run wrote): after a `force-unlock` and another run
//!   taking the lock, the first run's exit leaves the second's lock alone. A lock without an id (an
//!   earlier netplan's) is named by an id derived from its bytes, which `force-unlock` takes.
//! - **Retries** are netplan's own (the SDK's are off): reads are repeated; a conditional write whose
//!   answer was lost is sent again, and a "precondition failed" after it is checked against what the
//!   object now holds — this run's own bytes are its write having landed, not another writer.
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
#[derive(Clone)]
enum Op {
    Get(String),
    Put {
        key: String,
        body: Vec<u8>,
        if_match: Option<String>,
        if_none_match: bool,
    },
    /// Deletes the object, only if its ETag is this one (when given).
    Delete(String, Option<String>),
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
    /// No answer, or a 5xx: the request may or may not have taken effect.
    Unknown(String),
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
                    // netplan decides what is sent again (a conditional write is not blindly).
                    let config = super::sdk_config(&opts, false).await;
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

    /// One request, sent again (after a pause) while its outcome is unknown — at most three times:
    /// reads and deletes are safe to repeat; a write's caller decides what a repeat means
    /// (`put_checked`).
    fn call(&self, op: Op) -> Outcome {
        let mut outcome = self.call_once(op.clone());
        for attempt in 1..3u32 {
            if !matches!(outcome, Outcome::Unknown(_)) || matches!(op, Op::Put { .. }) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
            outcome = self.call_once(op.clone());
        }
        outcome
    }

    /// A conditional write, sent again while its outcome is unknown; a "precondition failed" after an
    /// unknown outcome is this write having landed when the object now holds exactly these bytes.
    fn put_checked(
        &self,
        key: &str,
        body: Vec<u8>,
        if_match: Option<String>,
        if_none_match: bool,
    ) -> Outcome {
        let mut maybe_landed = false;
        for attempt in 0..3u32 {
            if attempt > 0 {
                std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
            }
            let outcome = self.call_once(Op::Put {
                key: key.to_string(),
                body: body.clone(),
                if_match: if_match.clone(),
                if_none_match,
            });
            match outcome {
                Outcome::Unknown(_) => maybe_landed = true,
                Outcome::Precondition if maybe_landed => {
                    return match self.call(Op::Get(key.to_string())) {
                        Outcome::Got(Some((now, etag))) if now == body => Outcome::Put(etag),
                        _ => Outcome::Precondition,
                    };
                }
                other => return other,
            }
        }
        Outcome::Unknown(format!("PutObject {key}: no answer after 3 attempts"))
    }

    fn call_once(&self, op: Op) -> Outcome {
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
        } else if code.is_none()
            || matches!(
                code,
                Some("InternalError" | "ServiceUnavailable" | "SlowDown" | "RequestTimeout")
            )
        {
            Outcome::Unknown(format!(
                "{action}: {}",
                message.map(str::to_string).unwrap_or(debug)
            ))
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
                    if status.is_some_and(|s| s >= 500) {
                        return Outcome::Unknown(format!(
                            "PutObject: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        ));
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
        Op::Delete(key, if_match) => match client
            .delete_object()
            .bucket(bucket)
            .key(&key)
            .set_if_match(if_match)
            .send()
            .await
        {
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

/// Releases the lock when the run ends — only while it is still this run's: the lock object is read
/// back, and deleted only when it carries this run's id, conditionally on the ETag this run wrote.
struct S3Lock {
    jobs: mpsc::Sender<Job>,
    key: String,
    id: String,
    etag: Option<String>,
}

impl S3Lock {
    fn ask(&self, op: Op) -> Option<Outcome> {
        let (tx, rx) = mpsc::channel();
        self.jobs.send((op, tx)).ok()?;
        rx.recv().ok()
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        // Gone already (force-unlocked), or unreadable: nothing of this run's to delete.
        if let Some(Outcome::Got(Some((bytes, etag)))) = self.ask(Op::Get(self.key.clone())) {
            if LockInfo::from_lock_object(&bytes).id != self.id {
                tracing::warn!(
                    "the lock on {} is another run's now (released and taken since): left alone",
                    self.key
                );
                return;
            }
            let _ = self.ask(Op::Delete(self.key.clone(), etag.or(self.etag.clone())));
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
        if !self.backed_up.load(Ordering::SeqCst) {
            let before = match self.loaded.lock().expect("loaded").clone() {
                Some(bytes) => Some(bytes),
                None => match self.call(Op::Get(self.key.clone())) {
                    Outcome::Got(found) => found.map(|(bytes, _)| bytes),
                    _ => None,
                },
            };
            if let Some(old) = before {
                // Unconditional: writing it again is harmless.
                let mut put = self.call_once(Op::Put {
                    key: format!("{}.backup", self.key),
                    body: old.clone(),
                    if_match: None,
                    if_none_match: false,
                });
                if matches!(put, Outcome::Unknown(_)) {
                    put = self.call_once(Op::Put {
                        key: format!("{}.backup", self.key),
                        body: old,
                        if_match: None,
                        if_none_match: false,
                    });
                }
                match put {
                    Outcome::Put(_) => {}
                    Outcome::Failed(m) | Outcome::Unknown(m) => {
                        return Err(self.failed("write the backup of", m))
                    }
                    other => return Err(self.failed("write the backup of", format!("{other:?}"))),
                }
            }
            // Only once the backup is written (a failed one is tried again at the next save).
            self.backed_up.store(true, Ordering::SeqCst);
            self.loaded.lock().expect("loaded").take();
        }
        let (if_match, if_none_match) = match &known {
            Some(Some(etag)) => (Some(etag.clone()), false),
            Some(None) => (None, true),
            None => (None, false),
        };
        match self.put_checked(&self.key, bytes, if_match, if_none_match) {
            Outcome::Put(etag) => {
                *self.etag.lock().expect("etag") = Some(etag);
                Ok(())
            }
            Outcome::Precondition => Err(self.failed(
                "write",
                "the state changed since this run read it: another writer did not hold the lock; nothing was overwritten (run again to start from the current state)".into(),
            )),
            Outcome::Failed(m) | Outcome::Unknown(m) => Err(self.failed("write", m)),
            other => Err(self.failed("write", format!("unexpected answer {other:?}"))),
        }
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let info = LockInfo::current(operation);
        let body = serde_json::to_vec(&info).unwrap_or_default();
        let take = |if_match: Option<String>| {
            self.put_checked(
                &self.lock_key(),
                body.clone(),
                if_match.clone(),
                if_match.is_none(),
            )
        };
        let held = |etag: Option<String>| {
            Ok(StateLock::holding(S3Lock {
                jobs: self.jobs.lock().expect("jobs").clone(),
                key: self.lock_key(),
                id: info.id.clone(),
                etag,
            }))
        };
        match take(None) {
            Outcome::Put(etag) => return held(etag),
            Outcome::Precondition => {}
            Outcome::Failed(m) | Outcome::Unknown(m) => return Err(self.failed("lock", m)),
            other => return Err(self.failed("lock", format!("{other:?}"))),
        }
        // Taken: by whom?
        let (holder, etag) = match self.call(Op::Get(self.lock_key())) {
            Outcome::Got(Some((bytes, etag))) => (LockInfo::from_lock_object(&bytes), etag),
            // Released meanwhile: try once more.
            Outcome::Got(None) => {
                return match take(None) {
                    Outcome::Put(etag) => held(etag),
                    _ => Err(self.failed("lock", "another run took the lock".into())),
                }
            }
            Outcome::Failed(m) | Outcome::Unknown(m) => {
                return Err(self.failed("read the lock of", m))
            }
            other => return Err(self.failed("read the lock of", format!("{other:?}"))),
        };
        if let Some(etag) = etag.filter(|_| holder.holder_is_gone()) {
            if let Outcome::Put(etag) = take(Some(etag)) {
                return held(etag);
            }
        }
        Err(StateError::Locked {
            location: self.url.clone(),
            holder: Box::new(holder),
            remote: true,
        })
    }

    fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        let (holder, etag) = match self.call(Op::Get(self.lock_key())) {
            Outcome::Got(Some((bytes, etag))) => (LockInfo::from_lock_object(&bytes), etag),
            Outcome::Got(None) => {
                return Err(StateError::Unsupported(format!(
                    "{} is not locked: nothing to release",
                    self.url
                )))
            }
            Outcome::Failed(m) | Outcome::Unknown(m) => {
                return Err(self.failed("read the lock of", m))
            }
            other => return Err(self.failed("read the lock of", format!("{other:?}"))),
        };
        if holder.id != lock_id {
            return Err(StateError::Unsupported(format!(
                "the lock on {} has id {}, not {lock_id}: it may be another run's, taken since; nothing was released",
                self.url, holder.id
            )));
        }
        // Conditional on the lock read: a lock taken meanwhile is not released.
        match self.call(Op::Delete(self.lock_key(), etag)) {
            Outcome::Deleted => Ok(holder),
            Outcome::Precondition => Err(StateError::Unsupported(format!(
                "the lock on {} changed while it was being released: nothing was released",
                self.url
            ))),
            Outcome::Failed(m) | Outcome::Unknown(m) => Err(self.failed("release the lock of", m)),
            other => Err(self.failed("release the lock of", format!("{other:?}"))),
        }
    }
}
