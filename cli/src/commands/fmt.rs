//! `netplan fmt`: rewrites configs in the canonical layout (engine/src/format.rs), comments kept.
//! `--check` writes nothing, lists the files that would change and exits 1 when there are any (for
//! CI). Files are named, or found under folders (every `*.toml` whose tables are netplan's; a
//! `Cargo.toml` or another tool's TOML is left alone); with neither, the config (`-c`, else
//! netplan.toml here).

use crate::error::{CliError, CliResult};
use crate::{Exit, Globals};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Write nothing: list the files that are not formatted, and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Config files, or folders to look in (default: the config, -c or netplan.toml).
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// The config file, or a folder holding netplan.toml (when no FILES are named).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Whether a TOML text is a netplan config: every top-level table is `[stack]` or a kind's.
fn is_config(text: &str) -> bool {
    let Ok(doc) = text.parse::<toml_edit::DocumentMut>() else {
        // Not TOML: said when it is formatted, if it was named or looks like a config by its name.
        return true;
    };
    let mut keys = doc.iter().map(|(k, _)| k).peekable();
    keys.peek().is_some() && keys.all(|k| k == "stack" || k.parse::<netplan_engine::Kind>().is_ok())
}

/// The files under `dir` to format: netplan configs, outside hidden folders and build output.
fn under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let ty = e.file_type()?;
        if ty.is_dir() {
            if !name.starts_with('.') && name != "target" && name != "node_modules" {
                under(&path, out)?;
            }
        } else if ty.is_file()
            && name.ends_with(".toml")
            && name != "Cargo.toml"
            && std::fs::read_to_string(&path).is_ok_and(|t| is_config(&t))
        {
            out.push(path);
        }
    }
    Ok(())
}

pub fn run(_g: &Globals, a: Args) -> CliResult<Exit> {
    let mut files = vec![];
    if a.files.is_empty() {
        files.push(netplan_engine::config::resolve_path(a.config.as_deref()));
    }
    for f in &a.files {
        if f.is_dir() {
            under(f, &mut files).map_err(|e| CliError::msg(format!("{}: {e}", f.display())))?;
        } else {
            files.push(f.clone());
        }
    }
    let mut changed = vec![];
    let mut failed = vec![];
    for f in &files {
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                failed.push(format!("{}: {e}", f.display()));
                continue;
            }
        };
        let formatted = match netplan_engine::format::format(&text) {
            Ok(t) => t,
            Err(e) => {
                failed.push(format!("{}: not TOML, so not formatted: {e}", f.display()));
                continue;
            }
        };
        if formatted == text {
            continue;
        }
        changed.push(f.display().to_string());
        if !a.check {
            // Written whole or not at all; the file keeps its permissions.
            let mode = std::fs::metadata(f).map(|m| m.permissions()).ok();
            netplan_engine::files::write_atomically(f, formatted.as_bytes())
                .and_then(|()| match mode {
                    Some(m) => std::fs::set_permissions(f, m),
                    None => Ok(()),
                })
                .map_err(|e| CliError::msg(format!("{}: {e}", f.display())))?;
        }
    }
    for c in &changed {
        println!("{c}");
    }
    if !failed.is_empty() {
        return Err(CliError::msg(failed.join("\n")));
    }
    if a.check && !changed.is_empty() {
        return Err(CliError::with_hint(
            format!("{} file(s) not formatted", changed.len()),
            "run `netplan fmt` on them",
        ));
    }
    Ok(Exit::Success)
}
