//! Files netplan writes (state, its backup, lock and temporary files, saved plans) hold everything it
//! knows about an account, so they are handled with care: never opened through a symbolic link (a link
//! planted beside the state would otherwise redirect the write), temporary files created exclusively,
//! and mode 0600 — enforced on files that already exist, not only on new ones. Writes are atomic: a
//! temporary file, fsynced, renamed over the target, the folder fsynced.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// What went wrong, with the path; a symbolic link is named as such.
pub fn explain(path: &Path, e: std::io::Error) -> std::io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link: netplan does not follow links for the files it writes (point the config at the real file)",
                path.display()
            ),
        );
    }
    e
}

fn options() -> OpenOptions {
    let mut o = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.custom_flags(libc::O_NOFOLLOW).mode(0o600);
    }
    o
}

/// Makes an open file private (0600) if it is not already.
pub fn make_private(f: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = f.metadata()?;
        if meta.permissions().mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let _ = f;
    Ok(())
}

/// Opens a regular file for reading without following a link (`Ok(None)`: it does not exist), and
/// makes it private on the way.
pub fn open_existing(path: &Path) -> std::io::Result<Option<File>> {
    let mut o = options();
    o.read(true);
    match o.open(path) {
        Ok(f) => {
            if !f.metadata()?.is_file() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("{} is not a regular file", path.display()),
                ));
            }
            let _ = make_private(&f);
            Ok(Some(f))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(explain(path, e)),
    }
}

/// Reads a regular file without following a link (`Ok(None)`: it does not exist).
pub fn read(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    match open_existing(path)? {
        Some(mut f) => {
            let mut bytes = vec![];
            f.read_to_end(&mut bytes)?;
            Ok(Some(bytes))
        }
        None => Ok(None),
    }
}

/// Opens (creating it when missing) a file that lives on — a lock — without following a link, private.
pub fn open_persistent(path: &Path) -> std::io::Result<File> {
    let mut o = options();
    o.read(true).write(true).create(true).truncate(false);
    let f = o.open(path).map_err(|e| explain(path, e))?;
    make_private(&f)?;
    Ok(f)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Writes `bytes` to `path` atomically and privately: `<path>.tmp` created exclusively (a stale one, or
/// a link planted there, is removed first — removing a link never touches its target), fsynced, renamed
/// over `path`, the folder fsynced.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomically_via(path, &sibling(path, ".tmp"), bytes)
}

/// As `write_atomically`, through a given temporary path.
pub fn write_atomically_via(path: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match std::fs::remove_file(tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(explain(tmp, e)),
    }
    let mut o = options();
    o.write(true).create_new(true);
    let mut f = o.open(tmp).map_err(|e| explain(tmp, e))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    // The target itself must not be a link either: rename would replace the link (harmless), but a
    // link there means someone expects writes to go elsewhere — refuse rather than guess.
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        let _ = std::fs::remove_file(tmp);
        return Err(explain(
            path,
            std::io::Error::from_raw_os_error(loop_errno()),
        ));
    }
    std::fs::rename(tmp, path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn loop_errno() -> i32 {
    #[cfg(unix)]
    {
        libc::ELOOP
    }
    #[cfg(not(unix))]
    {
        40
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_link_planted_at_the_temporary_path_is_removed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep me").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("state.json.tmp")).unwrap();
        write_atomically(&dir.path().join("state.json"), b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        let mode = std::fs::metadata(dir.path().join("state.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn links_are_refused_for_reading_writing_and_locking() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("victim");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = read(&link).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        let e = open_persistent(&link).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        let e = write_atomically(&link, b"{}").unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    }

    #[test]
    fn an_existing_file_readable_by_others_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        read(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
