//! Where the state lives. `StateStore` hides the medium: a local file here, an `s3://` object with
//! conditional-write locking in the AWS provider (`netplan_providers::aws::S3StateStore`), so nothing in
//! the engine assumes a local path.
//!
//! The local store writes atomically (temp file created exclusively, fsync, rename, fsync of the
//! folder), keeps the state as it was before this process's first write in `<file>.backup`, never
//! opens any of its files through a symbolic link, keeps them at mode 0600 (existing ones too: see
//! `crate::files`), and locks `<file>.lock` with an OS advisory lock, so a second writer is refused at
//! once and told who holds it. `plan` takes the lock for its read too (`--lock=false` skips it).

use super::{crypto, State};
use crate::files;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Who holds a lock: enough to name the run, and to prove it gone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The lock's id, for `netplan force-unlock ID`.
    #[serde(default)]
    pub id: String,
    pub pid: u32,
    pub host: String,
    pub operation: String,
    pub since: String,
    /// The kernel's boot id, the pid namespace and the process's start time (ticks since boot): a pid
    /// alone, or a host name, is not an identity (containers share both).
    #[serde(default)]
    pub boot_id: String,
    #[serde(default)]
    pub pid_namespace: String,
    #[serde(default)]
    pub process_start: u64,
}

/// A process's start time in ticks since boot (field 22 of /proc/PID/stat), when it exists.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

impl LockInfo {
    pub fn current(operation: &str) -> LockInfo {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown-host".into());
        let pid = std::process::id();
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            pid,
            host,
            operation: operation.into(),
            since: super::now_rfc3339(),
            boot_id: std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
                .map(|b| b.trim().to_string())
                .unwrap_or_default(),
            pid_namespace: std::fs::read_link("/proc/self/ns/pid")
                .map(|l| l.to_string_lossy().into_owned())
                .unwrap_or_default(),
            process_start: process_start(pid).unwrap_or(0),
        }
    }

    /// The holder a lock object names. A lock an earlier netplan wrote carries no id, and an unreadable
    /// one no holder: each is then named by an id derived from its bytes (`noid-…`), so
    /// `force-unlock` can still release it — that lock, and no other.
    pub fn from_lock_object(bytes: &[u8]) -> LockInfo {
        let mut info =
            serde_json::from_slice::<LockInfo>(bytes).unwrap_or_else(|_| LockInfo::unknown());
        if info.id.is_empty() {
            use sha2::Digest;
            let digest = hex::encode(sha2::Sha256::digest(bytes));
            info.id = format!("noid-{}", &digest[..12]);
        }
        info
    }

    /// A holder nobody can identify (an unreadable lock).
    pub fn unknown() -> LockInfo {
        LockInfo {
            id: String::new(),
            pid: 0,
            host: "unknown".into(),
            operation: "another netplan run".into(),
            since: "an unknown time".into(),
            boot_id: String::new(),
            pid_namespace: String::new(),
            process_start: 0,
        }
    }

    /// The holder is provably gone: it ran on this very machine boot, in this pid namespace, and no
    /// process with its pid and start time exists any more. Anything less (another host, another
    /// container, an old lock without these facts) is not proof.
    pub fn holder_is_gone(&self) -> bool {
        let here = LockInfo::current("");
        if self.pid == 0
            || self.boot_id.is_empty()
            || self.pid_namespace.is_empty()
            || self.boot_id != here.boot_id
            || self.pid_namespace != here.pid_namespace
            || self.host != here.host
        {
            return false;
        }
        match process_start(self.pid) {
            None => true,
            Some(start) => start != self.process_start,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot {action} {location}: {source}")]
    Io {
        action: &'static str,
        location: String,
        source: std::io::Error,
    },
    #[error("{location} is not a valid state file: {detail}")]
    Corrupt { location: String, detail: String },
    #[error("{location} fails its integrity check: {source}")]
    Integrity {
        location: String,
        source: super::IntegrityError,
    },
    #[error("{location} belongs to stack `{found}`, but the config's stack is `{expected}`")]
    WrongStack {
        location: String,
        found: String,
        expected: String,
    },
    #[error("{location} is locked by netplan pid {} on {} (running `{}` since {}; lock id {})", .holder.pid, .holder.host, .holder.operation, .holder.since, if .holder.id.is_empty() { "unknown" } else { .holder.id.as_str() })]
    Locked {
        location: String,
        holder: Box<LockInfo>,
        /// A lock object in remote storage (it outlives a run that dies) rather than an OS lock.
        remote: bool,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("{location} was written by a newer netplan (state format {found}; this netplan reads format {})", super::FORMAT_VERSION)]
    Newer { location: String, found: u64 },
    #[error("{location}: {message}")]
    Crypto { location: String, message: String },
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Corrupt { location, .. } | StateError::Integrity { location, .. } => Some(format!(
                "netplan never replaces a damaged state file; restore {location}.backup (the state before the last run) or fix the file by hand"
            )),
            StateError::Locked { remote: false, holder, .. } => Some(format!(
                "wait for that run to finish, or stop it (pid {}): the OS releases the lock the moment its process ends, so a dead run never holds it",
                holder.pid
            )),
            StateError::Locked { remote: true, holder, .. } => Some(format!(
                "wait for that run to finish; if it is gone (killed, its machine lost), release the lock with: netplan force-unlock {}",
                if holder.id.is_empty() { "<ID>" } else { holder.id.as_str() }
            )),
            StateError::WrongStack { .. } => Some("point [stack].state at this stack's own state file".into()),
            StateError::Newer { .. } => Some("use a netplan at least as new as the one that wrote it (the file is left as it is)".into()),
            StateError::Crypto { .. } => Some("[stack].encryption names the key: env:NAME (32 bytes, base64, in NAME; several comma-separated to rotate) or kms:ALIAS".into()),
            _ => None,
        }
    }
}

/// Held while a command may write the state; released on drop (and by the OS if the process dies).
pub struct StateLock {
    _guard: Box<dyn std::any::Any + Send + Sync>,
}

impl StateLock {
    /// A lock held for as long as `guard` lives (its `Drop` releases it).
    pub fn holding(guard: impl std::any::Any + Send + Sync) -> StateLock {
        StateLock {
            _guard: Box::new(guard),
        }
    }
}

/// Checks a state and encodes it as the state file's bytes (pretty JSON and a final newline), sealed
/// when `keys` are given (`[stack] encryption`).
pub fn encode(
    location: &str,
    state: &State,
    keys: Option<&dyn crypto::Keys>,
) -> Result<Vec<u8>, StateError> {
    state.check().map_err(|source| StateError::Integrity {
        location: location.into(),
        source,
    })?;
    let mut bytes = serde_json::to_vec_pretty(state).map_err(|e| StateError::Io {
        action: "encode",
        location: location.into(),
        source: e.into(),
    })?;
    bytes.push(b'\n');
    match keys {
        Some(k) => crypto::seal(k, &bytes).map_err(|message| StateError::Crypto {
            location: location.into(),
            message,
        }),
        None => Ok(bytes),
    }
}

pub trait StateStore: Send + Sync {
    /// Human-readable location (a path or an s3:// URL).
    fn location(&self) -> String;
    /// The state, or `None` when there is none yet. A damaged state is an error, never `None`.
    fn load(&self) -> Result<Option<State>, StateError>;
    /// Writes the state atomically. The caller holds the lock.
    fn save(&self, state: &State) -> Result<(), StateError>;
    /// Takes the writer's lock, or fails at once naming the holder.
    fn lock(&self, operation: &str) -> Result<StateLock, StateError>;
    /// Releases a lock a run left behind, if its id is `lock_id`; returns who held it.
    fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError>;
}

/// Opens the store for a state location.
pub fn open(
    location: &str,
    keys: Option<std::sync::Arc<dyn crypto::Keys>>,
) -> Result<Box<dyn StateStore>, StateError> {
    if location.starts_with("s3://") {
        return Err(StateError::Unsupported(format!(
            "remote state ({location}) needs the AWS provider (S3 with conditional writes)"
        )));
    }
    Ok(Box::new(LocalFileStore::new(location).encrypted(keys)))
}

pub struct LocalFileStore {
    path: PathBuf,
    backed_up: AtomicBool,
    keys: Option<std::sync::Arc<dyn crypto::Keys>>,
}

impl LocalFileStore {
    pub fn new(path: impl Into<PathBuf>) -> LocalFileStore {
        LocalFileStore {
            path: path.into(),
            backed_up: AtomicBool::new(false),
            keys: None,
        }
    }

    /// Keeps the state encrypted with these keys.
    pub fn encrypted(mut self, keys: Option<std::sync::Arc<dyn crypto::Keys>>) -> Self {
        self.keys = keys;
        self
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut s = self.path.clone().into_os_string();
        s.push(suffix);
        PathBuf::from(s)
    }

    pub fn backup_path(&self) -> PathBuf {
        self.sibling(".backup")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.sibling(".lock")
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> StateError {
        StateError::Io {
            action,
            location: self.path.display().to_string(),
            source,
        }
    }

    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// Parses and checks state bytes (opening them first when sealed); `location` names the source in
/// errors.
pub fn parse(
    location: &str,
    bytes: &[u8],
    keys: Option<&dyn crypto::Keys>,
) -> Result<State, StateError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Corrupt {
            location: location.into(),
            detail: "the file is empty (truncated?)".into(),
        });
    }
    let opened;
    let bytes = if crypto::is_sealed(bytes) {
        opened = crypto::open(keys, bytes).map_err(|message| StateError::Crypto {
            location: location.into(),
            message,
        })?;
        &opened[..]
    } else {
        bytes
    };
    // A newer format is no damage: say so before the fields it may have added fail to parse.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        if let Some(found) = v.get("format_version").and_then(|f| f.as_u64()) {
            if found > super::FORMAT_VERSION as u64 {
                return Err(StateError::Newer {
                    location: location.into(),
                    found,
                });
            }
        }
    }
    let mut state: State = serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        location: location.into(),
        detail: format!("{e} (line {}, column {})", e.line(), e.column())
            .replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
    })?;
    state.check().map_err(|source| StateError::Integrity {
        location: location.into(),
        source,
    })?;
    // An older format is read as it is and written back as the current one.
    state.format_version = super::FORMAT_VERSION;
    Ok(state)
}

impl StateStore for LocalFileStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        match files::read(&self.path) {
            Ok(Some(bytes)) => parse(&self.location(), &bytes, self.keys.as_deref()).map(Some),
            Ok(None) => Ok(None),
            Err(e) => Err(self.io("read", e)),
        }
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        let bytes = encode(&self.location(), state, self.keys.as_deref())?;
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| self.io("create the folder of", e))?;
        if !self.backed_up.swap(true, Ordering::SeqCst) {
            if let Some(old) = files::read(&self.path).map_err(|e| self.io("read", e))? {
                files::write_atomically_via(
                    &self.backup_path(),
                    &self.sibling(".backup.tmp"),
                    &old,
                )
                .map_err(|e| self.io("write the backup of", e))?;
            }
        }
        files::write_atomically(&self.path, &bytes).map_err(|e| self.io("write", e))
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| self.io("create the folder of", e))?;
        let mut f = files::open_persistent(&self.lock_path())
            .map_err(|e| self.io("open the lock of", e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut s = String::new();
                let _ = f.read_to_string(&mut s);
                return Err(StateError::Locked {
                    location: self.location(),
                    holder: Box::new(
                        serde_json::from_str(&s).unwrap_or_else(|_| LockInfo::unknown()),
                    ),
                    remote: false,
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(self.io("lock", e)),
        }
        let info = LockInfo::current(operation);
        let _ = f.set_len(0);
        let _ = f.rewind();
        let _ = f.write_all(serde_json::to_string(&info).unwrap_or_default().as_bytes());
        let _ = f.sync_all();
        Ok(StateLock {
            _guard: Box::new(f),
        })
    }

    /// An OS lock is held only by a live process (the OS releases it when the process ends), so there
    /// is never a dead run's lock to break: say who holds it, or that nothing does.
    fn force_unlock(&self, lock_id: &str) -> Result<LockInfo, StateError> {
        match self.lock("force-unlock") {
            Ok(_released_at_once) => Err(StateError::Unsupported(format!(
                "{} is not locked: nothing to release",
                self.location()
            ))),
            Err(StateError::Locked { holder, .. }) => Err(StateError::Unsupported(format!(
                "{} is locked by a running process (pid {} on {}, lock id {}{}): the OS releases a local lock the moment its process ends, so it cannot be left behind — stop that process instead",
                self.location(),
                holder.pid,
                holder.host,
                holder.id,
                if holder.id == lock_id { "" } else { "; not the id given" }
            ))),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_backup_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let store = LocalFileStore::new(&path);
        assert!(store.load().unwrap().is_none());
        let mut s = State::new("t");
        store.save(&s).unwrap();
        s.serial = 1;
        store.save(&s).unwrap();
        assert_eq!(store.load().unwrap().unwrap(), s);
        // The backup holds the state before this process's first write: none existed, so none.
        assert!(!store.backup_path().exists());
        let store2 = LocalFileStore::new(&path);
        s.serial = 2;
        store2.save(&s).unwrap();
        assert_eq!(
            parse("b", &std::fs::read(store2.backup_path()).unwrap(), None)
                .unwrap()
                .serial,
            1
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn corrupt_and_truncated_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            LocalFileStore::new(&path).load(),
            Err(StateError::Corrupt { .. })
        ));
        let full = serde_json::to_string(&State::new("t")).unwrap();
        std::fs::write(&path, &full[..full.len() / 2]).unwrap();
        let e = LocalFileStore::new(&path).load().unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        // The damaged file is left as it was.
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            full[..full.len() / 2]
        );
    }

    #[test]
    fn second_lock_is_refused_with_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFileStore::new(dir.path().join("s.json"));
        let held = store.lock("apply").unwrap();
        match LocalFileStore::new(dir.path().join("s.json")).lock("plan") {
            Err(StateError::Locked { holder, .. }) => {
                assert_eq!(holder.pid, std::process::id());
                assert_eq!(holder.operation, "apply");
                assert!(!holder.holder_is_gone(), "this process is alive");
            }
            other => panic!("expected Locked, got {:?}", other.map(|_| ())),
        }
        drop(held);
        store.lock("apply").unwrap();
    }

    #[test]
    fn a_holder_is_gone_only_when_proven() {
        let mut here = LockInfo::current("apply");
        assert!(!here.holder_is_gone());
        // The same pid with another start time: the pid was reused, the holder is gone.
        here.process_start += 1;
        assert!(here.holder_is_gone());
        // Another boot, namespace or host: no proof.
        for edit in [
            |l: &mut LockInfo| l.boot_id = "other".into(),
            |l: &mut LockInfo| l.pid_namespace = "pid:[1]".into(),
            |l: &mut LockInfo| l.host = "other".into(),
        ] {
            let mut l = LockInfo::current("apply");
            l.process_start += 1;
            edit(&mut l);
            assert!(!l.holder_is_gone());
        }
        // A lock written by an older netplan (pid and host only): no proof either.
        let old: LockInfo = serde_json::from_str(
            r#"{"pid": 4194303, "host": "h", "operation": "apply", "since": "x"}"#,
        )
        .unwrap();
        assert!(!old.holder_is_gone());
    }
}
