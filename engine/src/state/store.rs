//! Where the state lives. `StateStore` hides the medium: a local file here, an `s3://` object with
//! conditional-write locking in the AWS provider (`netplan_providers::aws::S3StateStore`), so nothing in
//! the engine assumes a local path.
//!
//! The local store writes atomically (temp file, fsync, rename, fsync of the folder), keeps the state as
//! it was before this process's first write in `<file>.backup`, creates files with mode 0600, and locks
//! `<file>.lock` with an OS advisory lock, so a second writer is refused at once and told who holds it.

use super::State;
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LockInfo {
    pub pid: u32,
    pub host: String,
    pub operation: String,
    pub since: String,
}

impl LockInfo {
    pub fn current(operation: &str) -> LockInfo {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown-host".into());
        LockInfo {
            pid: std::process::id(),
            host,
            operation: operation.into(),
            since: super::now_rfc3339(),
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
    #[error("{location} is locked by netplan pid {} on {} (running `{}` since {})", .holder.pid, .holder.host, .holder.operation, .holder.since)]
    Locked { location: String, holder: LockInfo },
    #[error("{0}")]
    Unsupported(String),
}

impl StateError {
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Corrupt { location, .. } | StateError::Integrity { location, .. } => Some(format!(
                "netplan never replaces a damaged state file; restore {location}.backup (the state before the last run) or fix the file by hand"
            )),
            StateError::Locked { .. } => Some("wait for the other run to finish; if its process is gone, the OS has already released the lock and you can retry".into()),
            StateError::WrongStack { .. } => Some("point [stack].state at this stack's own state file".into()),
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

/// Checks a state and encodes it as the state file's bytes (pretty JSON and a final newline).
pub fn encode(location: &str, state: &State) -> Result<Vec<u8>, StateError> {
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
    Ok(bytes)
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
}

/// Opens the store for a state location.
pub fn open(location: &str) -> Result<Box<dyn StateStore>, StateError> {
    if location.starts_with("s3://") {
        return Err(StateError::Unsupported(format!(
            "remote state ({location}) needs the AWS provider (S3 with conditional writes)"
        )));
    }
    Ok(Box::new(LocalFileStore::new(location)))
}

pub struct LocalFileStore {
    path: PathBuf,
    backed_up: AtomicBool,
}

impl LocalFileStore {
    pub fn new(path: impl Into<PathBuf>) -> LocalFileStore {
        LocalFileStore {
            path: path.into(),
            backed_up: AtomicBool::new(false),
        }
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

fn open_private(path: &Path) -> std::io::Result<File> {
    let mut o = OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
}

fn write_synced(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = open_private(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Parses and checks state bytes; `location` names the source in errors.
pub fn parse(location: &str, bytes: &[u8]) -> Result<State, StateError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(StateError::Corrupt {
            location: location.into(),
            detail: "the file is empty (truncated?)".into(),
        });
    }
    let state: State = serde_json::from_slice(bytes).map_err(|e| StateError::Corrupt {
        location: location.into(),
        detail: format!("{e} (line {}, column {})", e.line(), e.column())
            .replace(&format!(" at line {} column {}", e.line(), e.column()), ""),
    })?;
    state.check().map_err(|source| StateError::Integrity {
        location: location.into(),
        source,
    })?;
    Ok(state)
}

impl StateStore for LocalFileStore {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    fn load(&self) -> Result<Option<State>, StateError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => parse(&self.location(), &bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io("read", e)),
        }
    }

    fn save(&self, state: &State) -> Result<(), StateError> {
        let bytes = encode(&self.location(), state)?;
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| self.io("create the folder of", e))?;
        if !self.backed_up.swap(true, Ordering::SeqCst) && self.path.exists() {
            let old = std::fs::read(&self.path).map_err(|e| self.io("read", e))?;
            let tmp = self.sibling(".backup.tmp");
            write_synced(&tmp, &old).map_err(|e| self.io("write the backup of", e))?;
            std::fs::rename(&tmp, self.backup_path())
                .map_err(|e| self.io("write the backup of", e))?;
        }
        let tmp = self.sibling(".tmp");
        write_synced(&tmp, &bytes).map_err(|e| self.io("write", e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io("replace", e))?;
        if let Ok(d) = File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    fn lock(&self, operation: &str) -> Result<StateLock, StateError> {
        let dir = self.dir();
        std::fs::create_dir_all(&dir).map_err(|e| self.io("create the folder of", e))?;
        let path = self.lock_path();
        let mut o = OpenOptions::new();
        o.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            o.mode(0o600);
        }
        let mut f = o.open(&path).map_err(|e| self.io("open the lock of", e))?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut s = String::new();
                let _ = f.read_to_string(&mut s);
                let holder = serde_json::from_str(&s).unwrap_or(LockInfo {
                    pid: 0,
                    host: "unknown".into(),
                    operation: "another netplan run".into(),
                    since: "an unknown time".into(),
                });
                return Err(StateError::Locked {
                    location: self.location(),
                    holder,
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
            parse("b", &std::fs::read(store2.backup_path()).unwrap())
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
            }
            other => panic!("expected Locked, got {:?}", other.map(|_| ())),
        }
        drop(held);
        store.lock("apply").unwrap();
    }
}
