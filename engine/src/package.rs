//! Reproducible Lambda packages: a file or folder zipped with sorted entries, fixed timestamps and
//! modes, so the same source always hashes the same and an unchanged function plans as a no-op.
//! The hash is Lambda's `CodeSha256`: base64 of the SHA-256 of the zip.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};

pub struct Package {
    pub bytes: Vec<u8>,
    pub sha256_base64: String,
}

fn files(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let meta = std::fs::metadata(root)?;
    if meta.is_file() {
        let name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "index".into());
        return Ok(vec![(name, root.to_path_buf())]);
    }
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let ft = entry.file_type()?;
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let rel = path.strip_prefix(root).expect("under root");
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((name, path));
            }
        }
    }
    out.sort();
    if out.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the folder holds no files",
        ));
    }
    Ok(out)
}

pub fn package(root: &Path) -> std::io::Result<Package> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, path) in files(root)? {
        let data = std::fs::read(&path)?;
        #[cfg(unix)]
        let mode = {
            use std::os::unix::fs::PermissionsExt;
            if std::fs::metadata(&path)?.permissions().mode() & 0o111 != 0 {
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
            .unix_permissions(mode);
        zip.start_file(name, opts).map_err(std::io::Error::other)?;
        zip.write_all(&data)?;
    }
    let bytes = zip.finish().map_err(std::io::Error::other)?.into_inner();
    let sha256_base64 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    Ok(Package {
        bytes,
        sha256_base64,
    })
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
}
