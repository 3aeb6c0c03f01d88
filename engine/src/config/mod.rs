//! The config: a TOML file parsed into declarations, high-level tables (`network`, `function`) expanded
//! into plain resources, and every semantic rule checked. All problems come back together as
//! `Diagnostics`, each with file:line:col and a hint.
//!
//! Loading does one job: it reads the config file and nothing else — no function code (packaging is
//! `crate::package`, called where code is planned or sent), no cloud. A loaded config keeps its
//! declarations, so a variation of it (an egress design, `crate::design`) is `Config::rebuild`, without
//! reading or parsing again.

mod expand;
mod parse;
mod validate;
mod values;

pub use parse::closest;

use crate::addr::{Kind, ResourceAddr};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile, Span};
use crate::resource::Resource;
use crate::value::Attrs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub const DEFAULT_FILE: &str = "netplan.toml";
pub const DEFAULT_STATE: &str = "netplan.state.json";

/// `[stack]`.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: Option<String>,
    /// Where the state lives: a path relative to the config, or `s3://bucket/key`.
    pub state: Option<String>,
    /// The state's encryption key: `env:NAME` or `kms:KEY`.
    pub encryption: Option<String>,
    /// Estimated traffic out to the internet each month (GB), for the cost estimate's per-GB lines.
    pub egress_gb_per_month: Option<f64>,
    pub tags: BTreeMap<String, String>,
    pub span: Span,
}

/// One `[KIND.NAME]` table as written, values checked against the kind's schema.
#[derive(Debug, Clone)]
pub struct Decl {
    pub addr: ResourceAddr,
    pub header: Span,
    pub fields: Attrs,
    /// Source spans by path: `cidr`, `routes[0].target`, `subnets[1]`.
    pub spans: BTreeMap<String, Span>,
    pub tags: BTreeMap<String, String>,
    pub depends_on: Vec<(ResourceAddr, Span)>,
    pub existing: Option<(String, Span)>,
}

/// A loaded, expanded and validated config.
#[derive(Debug, Clone)]
pub struct Config {
    pub path: PathBuf,
    /// The folder relative paths (sources, the state file) are resolved against.
    pub dir: PathBuf,
    pub source: Arc<SourceFile>,
    pub stack: Stack,
    pub region: Option<String>,
    pub resources: BTreeMap<ResourceAddr, Resource>,
    /// What each high-level table expanded into.
    pub expansions: BTreeMap<ResourceAddr, Vec<ResourceAddr>>,
    /// Findings below error level.
    pub warnings: Diagnostics,
    /// The tables as written (before expansion): what `rebuild` varies.
    pub decls: Vec<Decl>,
    /// The region used when `[stack]` names none (from the AWS config chain or `--region`).
    pub default_region: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The region from the AWS config chain / `--region`, used when `[stack]` has none.
    pub default_region: Option<String>,
}

impl Config {
    pub fn location(&self, span: &Span) -> Location {
        Location::new(&self.source, span.clone())
    }

    /// Where a resource's attribute was written (falling back to its declaration).
    pub fn location_of(&self, addr: &ResourceAddr, path: &str) -> Option<Location> {
        let r = self.resources.get(addr)?;
        let span = r.spans.get(path).unwrap_or(&r.header);
        Some(self.location(span))
    }

    /// The state location, resolved against the config's folder.
    pub fn state_location(&self) -> String {
        let s = self
            .stack
            .state
            .clone()
            .unwrap_or_else(|| DEFAULT_STATE.to_string());
        if s.starts_with("s3://") || Path::new(&s).is_absolute() {
            s
        } else {
            self.dir.join(s).to_string_lossy().into_owned()
        }
    }

    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &Resource> {
        self.resources.values().filter(move |r| r.addr.kind == kind)
    }

    /// The same config with its declarations changed by `vary` (an egress design), expanded and
    /// validated again — the file is neither read nor parsed again.
    pub fn rebuild(&self, vary: impl FnOnce(&mut Vec<Decl>)) -> Result<Config, Diagnostics> {
        let mut decls = self.decls.clone();
        vary(&mut decls);
        let mut diags = Diagnostics::default();
        let mut parser = parse::Parser {
            src: self.source.clone(),
            diags: &mut diags,
            dir: &self.dir,
        };
        let mut c = build(
            &mut parser,
            self.stack.clone(),
            decls,
            self.default_region.clone(),
        );
        diags.sort();
        if diags.has_errors() {
            return Err(diags);
        }
        c.path = self.path.clone();
        c.warnings = diags;
        Ok(c)
    }
}

/// `-c` takes a file or a folder holding `netplan.toml`; without it, `./netplan.toml`.
pub fn resolve_path(arg: Option<&Path>) -> PathBuf {
    match arg {
        None => PathBuf::from(DEFAULT_FILE),
        Some(p) if p.is_dir() => p.join(DEFAULT_FILE),
        Some(p) => p.to_path_buf(),
    }
}

/// Reads, parses, expands and validates a config file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Config, Diagnostics> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound {
            "pass -c FILE, or run netplan in a folder holding netplan.toml"
        } else {
            "check the file's permissions"
        };
        Diagnostics(vec![Diagnostic::error(format!(
            "cannot read {}: {e}",
            path.display()
        ))
        .hint(hint)
        .clone()])
    })?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    load_str(&path.to_string_lossy(), &text, &dir, opts).map(|mut c| {
        c.path = path.to_path_buf();
        c
    })
}

/// Parses config text as if read from `name`, resolving relative paths against `dir`.
pub fn load_str(
    name: &str,
    text: &str,
    dir: &Path,
    opts: &LoadOptions,
) -> Result<Config, Diagnostics> {
    let source = SourceFile::new(name, text);
    let mut diags = Diagnostics::default();
    let mut parser = parse::Parser {
        src: source.clone(),
        diags: &mut diags,
        dir,
    };
    let (stack, decls) = parser.parse_document();
    let Some(stack) = stack else {
        diags.sort();
        return Err(diags);
    };
    let mut config = build(&mut parser, stack, decls, opts.default_region.clone());
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    config.path = PathBuf::from(name);
    config.warnings = diags;
    Ok(config)
}

/// Expands and validates declarations, problems going to the parser's diagnostics.
fn build(
    parser: &mut parse::Parser<'_>,
    stack: Stack,
    decls: Vec<Decl>,
    default_region: Option<String>,
) -> Config {
    let region = stack.region.clone().or_else(|| default_region.clone());
    let expanded = expand::expand(parser, &stack, region.as_deref(), decls.clone());
    validate::validate(parser, &stack, region.as_deref(), &expanded);
    let (mut resources, expansions) = expanded.into_parts();
    {
        let high: BTreeMap<&ResourceAddr, &Vec<ResourceAddr>> = expansions.iter().collect();
        for r in resources.values_mut() {
            r.depends_on = expand_depends(&r.depends_on, &high);
        }
    }
    Config {
        path: PathBuf::new(),
        dir: parser.dir.to_path_buf(),
        source: parser.src.clone(),
        stack,
        region,
        resources,
        expansions,
        warnings: Diagnostics::default(),
        decls,
        default_region,
    }
}

/// `depends_on` may name a high-level table: it stands for everything that table expanded into.
pub(crate) fn expand_depends(
    deps: &[ResourceAddr],
    expansions: &BTreeMap<&ResourceAddr, &Vec<ResourceAddr>>,
) -> Vec<ResourceAddr> {
    let mut out = Vec::new();
    for d in deps {
        match expansions.get(d) {
            Some(list) if d.kind.is_high_level() => out.extend(list.iter().cloned()),
            _ => out.push(d.clone()),
        }
    }
    out.sort();
    out.dedup();
    out
}

/// What can be said of a `source` from its text alone, when the config is loaded: a relative path stays
/// inside the config's folder, and the kernel's and devices' pseudo-files are never packaged. Whether it
/// exists, and where its links lead, is judged when it is packaged (`resolve_source`).
pub fn check_written(source: &str) -> Result<(), String> {
    let written = Path::new(source);
    if written.is_relative() && climbs_out(written) {
        return Err(
            "leaves the config's folder: write a path outside it as an absolute path".into(),
        );
    }
    for system in ["/proc", "/sys", "/dev"] {
        if written.starts_with(system) {
            return Err(format!(
                "is under {system}: the kernel's and devices' files are never packaged"
            ));
        }
    }
    Ok(())
}

/// Whether a relative path, read component by component, climbs above where it starts
/// (`a/../../b` does; `a/../b` does not). Decided from the text alone, so the answer does not depend
/// on what happens to exist outside the folder; links inside it are judged after resolving.
pub fn climbs_out(written: &Path) -> bool {
    let mut depth: usize = 0;
    for part in written.components() {
        match part {
            std::path::Component::ParentDir => match depth.checked_sub(1) {
                Some(up) => depth = up,
                None => return true,
            },
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
    }
    false
}
