//! Reproducible Lambda packages: a file or folder zipped with sorted entries, fixed timestamps and
//! modes, so the same source always hashes the same and an unchanged function plans as a no-op.
//! The hash is Lambda's `CodeSha256`: base64 of the SHA-256 of the zip.
//!
//! Loading a config never reads function code (only `check_written` judges a source's text). Code is
//! read where it is needed: `Packages::for_plan` zips each function's source for a plan (its hash is
//! the desired `code_sha256`, its bytes what apply uploads) — and a function whose source is gone keeps
//! the code it has deployed, so destroy, output, show, map, check and cost never need the code, and a
//! plan needs it only for a function it must create.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Cursor;
use std::path::{Path, PathBuf};

use crate::addr::{Kind, ResourceAddr};
use crate::diag::{Diagnostic, Diagnostics, Location};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug)]
pub struct Package {
    pub bytes: Vec<u8>,
    pub sha256_base64: String,
}

/// Lambda's limits: a zip uploaded directly, and the code unzipped.
pub const MAX_ZIPPED: u64 = 50 * 1024 * 1024;
pub const MAX_UNZIPPED: u64 = 250 * 1024 * 1024;

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}

fn megabytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1024.0 / 1024.0)
}

/// The files under `root` (a file or a folder), by their name in the zip, sorted. Links are followed
/// (their content is what Lambda gets); anything but regular files and folders is refused; a folder
/// reached twice through links is a loop.
fn files(root: &Path) -> std::io::Result<Vec<(String, PathBuf, u64)>> {
    let meta = std::fs::metadata(root)?;
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "index".into());
        return Ok(vec![(name, root.to_path_buf(), meta.len())]);
    }
    if !meta.is_dir() {
        return Err(invalid(format!(
            "{} is neither a regular file nor a folder",
            root.display()
        )));
    }
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        if !seen.insert(std::fs::canonicalize(&dir)?) {
            return Err(invalid(format!(
                "{} is reached twice through symbolic links (a loop?)",
                dir.display()
            )));
        }
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            // Follows links: what matters is what Lambda gets.
            let meta = std::fs::metadata(&path).map_err(|e| {
                invalid(format!("{}: {e} (a broken symbolic link?)", path.display()))
            })?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let rel = path.strip_prefix(root).expect("under root");
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, path, meta.len()));
            } else {
                return Err(invalid(format!(
                    "{} is not a regular file (a device, pipe or socket): only files are packaged",
                    path.display()
                )));
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(invalid("the folder holds no files".into()));
    }
    Ok(out)
}

/// Zips `root` reproducibly (sorted entries, fixed times and modes). Lambda's limits are checked before
/// anything is read (the sizes the files declare) and while zipping; each file is streamed into the
/// zip, never read whole.
pub fn package(root: &Path) -> std::io::Result<Package> {
    use zip::write::SimpleFileOptions;
    let files = files(root)?;
    let total: u64 = files.iter().map(|(_, _, n)| n).sum();
    if total > MAX_UNZIPPED {
        return Err(invalid(format!(
            "{} holds {} of files: Lambda takes at most {} unzipped",
            root.display(),
            megabytes(total),
            megabytes(MAX_UNZIPPED)
        )));
    }
    let mut zip = zip::ZipWriter::new(Capped(Cursor::new(Vec::new())));
    for (name, path, _) in files {
        let mut file = std::fs::File::open(&path)?;
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            if file.metadata()?.permissions().mode() & 0o111 != 0 {
                0o755
            } else {
                0o644
            }
        };
        #[cfg(not(unix))]
        let mode = 0o644;
        let opts = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(zip::DateTime::default())
            .unix_permissions(mode)
            .large_file(false);
        zip.start_file(name, opts).map_err(std::io::Error::other)?;
        std::io::copy(&mut file, &mut zip).map_err(|e| too_big(root, e))?;
    }
    let bytes = zip
        .finish()
        .map_err(|e| too_big(root, std::io::Error::other(e)))?
        .0
        .into_inner();
    if bytes.len() as u64 > MAX_ZIPPED {
        return Err(invalid(format!(
            "{} zips to {}: Lambda takes at most {} as a direct upload",
            root.display(),
            megabytes(bytes.len() as u64),
            megabytes(MAX_ZIPPED)
        )));
    }
    let sha256_base64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    Ok(Package {
        bytes,
        sha256_base64,
    })
}

/// The zip being written, refusing to grow past Lambda's direct-upload limit.
struct Capped(Cursor<Vec<u8>>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.position() + buf.len() as u64 > MAX_ZIPPED {
            return Err(std::io::Error::new(
                std::io::ErrorKind::FileTooLarge,
                "zip too large",
            ));
        }
        self.0.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl std::io::Seek for Capped {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.0.seek(pos)
    }
}

fn too_big(root: &Path, e: std::io::Error) -> std::io::Error {
    if e.kind() == std::io::ErrorKind::FileTooLarge || e.to_string().contains("zip too large") {
        invalid(format!(
            "{} zips to more than {}: Lambda takes at most that as a direct upload",
            root.display(),
            megabytes(MAX_ZIPPED)
        ))
    } else {
        e
    }
}

/// Each function's code as a plan needs it: zipped from its source, or — when the source is gone and
/// the function exists — the code it has deployed, kept.
#[derive(Debug, Clone, Default)]
pub struct Packages {
    /// The zips, by function: what apply uploads.
    pub zips: BTreeMap<ResourceAddr, Arc<Vec<u8>>>,
    /// The desired `code_sha256` of every function the config creates or keeps.
    pub hashes: BTreeMap<ResourceAddr, String>,
    /// Functions whose source is gone: their deployed code is kept (said as a warning).
    pub kept: Vec<ResourceAddr>,
}

impl Packages {
    /// Zips every function of `config` (not `existing` ones). `deployed` tells the code a function has
    /// now (its `code_sha256` in the state), for one whose source is gone: that code is kept, said as a
    /// warning. A source that is gone for a function that must be created, or that cannot be packaged
    /// (too big, a pipe, a loop of links), is an error at its `source` line.
    pub fn for_plan(
        config: &crate::config::Config,
        deployed: &dyn Fn(&ResourceAddr) -> Option<String>,
    ) -> Result<(Packages, Diagnostics), Diagnostics> {
        let mut out = Packages::default();
        let mut diags = Diagnostics::default();
        for r in config
            .of_kind(Kind::LambdaFunction)
            .filter(|r| r.existing.is_none())
        {
            let Some(source) = r.str_attr("source") else {
                continue;
            };
            let place = Location::new(
                &config.source,
                r.spans.get("source").unwrap_or(&r.header).clone(),
            );
            let packaged = resolve_source(&config.dir, source)
                .and_then(|path| package(&path).map_err(|e| e.to_string()));
            match packaged {
                Ok(pkg) => {
                    out.hashes.insert(r.addr.clone(), pkg.sha256_base64);
                    out.zips.insert(r.addr.clone(), Arc::new(pkg.bytes));
                }
                Err(why) => match deployed(&r.addr) {
                    Some(hash) if why == "does not exist" => {
                        out.hashes.insert(r.addr.clone(), hash);
                        out.kept.push(r.addr.clone());
                        diags.push(
                            Diagnostic::warning(format!(
                                "`source`: `{source}` does not exist: {} keeps the code it has deployed",
                                r.addr
                            ))
                            .at(Some(place))
                            .resource(&r.addr)
                            .hint("put the source back to change the function's code")
                            .clone(),
                        );
                    }
                    _ => {
                        let hint = if why == "does not exist" {
                            format!(
                                "{} must be created, so its code must be there; paths are relative to the config's folder ({})",
                                r.addr,
                                config.dir.display()
                            )
                        } else {
                            format!(
                                "paths are relative to the config's folder ({})",
                                config.dir.display()
                            )
                        };
                        diags.push(
                            Diagnostic::error(format!("`source`: `{source}` {why}"))
                                .at(Some(place))
                                .resource(&r.addr)
                                .hint(hint)
                                .clone(),
                        );
                    }
                },
            }
        }
        if diags.has_errors() {
            diags.sort();
            return Err(diags);
        }
        Ok((out, diags))
    }

    /// The config with each function's desired `code_sha256`: what the plan diffs.
    pub fn apply_to(&self, config: &crate::config::Config) -> crate::config::Config {
        let mut c = config.clone();
        for (addr, hash) in &self.hashes {
            if let Some(r) = c.resources.get_mut(addr) {
                r.attrs
                    .insert("code_sha256".into(), crate::value::Value::Str(hash.clone()));
            }
        }
        c
    }
}

/// Where a function's code may come from: `source` as written, resolved against the config's folder.
/// A relative path stays inside that folder (an outside one is written absolute, deliberately); the
/// kernel's and devices' pseudo-files are never packaged.
pub fn resolve_source(dir: &Path, source: &str) -> Result<PathBuf, String> {
    let written = Path::new(source);
    let path = dir.join(written);
    if written.is_relative() && crate::config::climbs_out(written) {
        return Err(format!(
            "leaves the config's folder ({}): write a path outside it as an absolute path",
            dir.display()
        ));
    }
    let real = std::fs::canonicalize(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".to_string(),
        _ => e.to_string(),
    })?;
    for system in ["/proc", "/sys", "/dev"] {
        if real.starts_with(system) {
            return Err(format!(
                "is under {system}: the kernel's and devices' files are never packaged"
            ));
        }
    }
    if written.is_relative() {
        let base = std::fs::canonicalize(dir).map_err(|e| e.to_string())?;
        if !real.starts_with(&base) {
            return Err(format!(
                "leaves the config's folder ({}): write a path outside it as an absolute path",
                base.display()
            ));
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    #[test]
    fn same_source_same_hash_regardless_of_mtime() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.py"), "b").unwrap();
        std::fs::write(dir.path().join("a.py"), "a").unwrap();
        let one = super::package(dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(dir.path().join("a.py"), "a").unwrap();
        let two = super::package(dir.path()).unwrap();
        assert_eq!(one.sha256_base64, two.sha256_base64);
        std::fs::write(dir.path().join("a.py"), "changed").unwrap();
        assert_ne!(
            super::package(dir.path()).unwrap().sha256_base64,
            one.sha256_base64
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_inside_a_folder_are_followed_and_zipped() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("lib")).unwrap();
        std::fs::write(outside.path().join("lib/dep.py"), "dep").unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.py"), "main").unwrap();
        std::os::unix::fs::symlink(outside.path().join("lib"), dir.path().join("node_modules"))
            .unwrap();
        let names: Vec<String> = super::files(dir.path())
            .unwrap()
            .into_iter()
            .map(|(n, _, _)| n)
            .collect();
        assert_eq!(names, ["main.py", "node_modules/dep.py"]);
        // A link back up is a loop, said as such.
        std::os::unix::fs::symlink(dir.path(), dir.path().join("again")).unwrap();
        let e = super::files(dir.path()).unwrap_err();
        assert!(e.to_string().contains("loop"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn pipes_are_refused_and_sizes_checked_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let e = super::package(dir.path()).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        std::fs::remove_file(&fifo).unwrap();
        // A 2 GB file (sparse: nothing is written) is refused from its size alone.
        let big = std::fs::File::create(dir.path().join("big.bin")).unwrap();
        big.set_len(2 * 1024 * 1024 * 1024).unwrap();
        let start = std::time::Instant::now();
        let e = super::package(dir.path()).unwrap_err();
        assert!(
            e.to_string()
                .contains("Lambda takes at most 250.0 MB unzipped"),
            "{e}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "not read"
        );
    }

    #[test]
    fn sources_stay_in_the_config_folder_unless_written_absolute() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("fn")).unwrap();
        assert!(super::resolve_source(dir.path(), "fn").is_ok());
        let e = super::resolve_source(dir.path(), "../../../../etc/passwd").unwrap_err();
        assert!(e.contains("leaves the config's folder"), "{e}");
        // Decided from the text, whether or not something exists out there.
        let e = super::resolve_source(dir.path(), "../netplan-no-such-folder/x").unwrap_err();
        assert!(e.contains("leaves the config's folder"), "{e}");
        assert!(super::resolve_source(dir.path(), "fn/../fn").is_ok());
        assert!(super::resolve_source(dir.path(), "/etc/hostname").is_ok());
        let e = super::resolve_source(dir.path(), "/proc/self/environ").unwrap_err();
        assert!(e.contains("never packaged"), "{e}");
    }
}
