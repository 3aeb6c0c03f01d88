//! The config: a TOML file parsed into declarations, high-level tables (`network`, `function`) expanded
//! into plain resources, and every semantic rule checked. All problems come back together as
//! `Diagnostics`, each with file:line:col and a hint.

mod expand;
mod parse;
mod validate;
mod values;

pub use parse::closest;

use crate::addr::{Kind, ResourceAddr};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile, Span};
use crate::resource::Resource;
use crate::value::{Attrs, Value};
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
    /// Each function's zip, made once here: its hash is the desired `code_sha256`, its bytes are what
    /// apply uploads.
    pub packages: BTreeMap<ResourceAddr, Arc<Vec<u8>>>,
}

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// The region from the AWS config chain / `--region`, used when `[stack]` has none.
    pub default_region: Option<String>,
    /// Load the config as if its networks used this egress design (`netplan cost`).
    pub design: Option<crate::design::Design>,
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
    let (stack, mut decls) = parser.parse_document();
    if let Some(design) = opts.design {
        design.apply(&mut decls);
    }
    let Some(stack) = stack else {
        diags.sort();
        return Err(diags);
    };
    let region = stack.region.clone().or_else(|| opts.default_region.clone());
    let expanded = expand::expand(&mut parser, &stack, region.as_deref(), decls);
    validate::validate(&mut parser, &stack, region.as_deref(), &expanded);
    let (mut resources, expansions) = expanded.into_parts();
    {
        let high: BTreeMap<&ResourceAddr, &Vec<ResourceAddr>> = expansions.iter().collect();
        for r in resources.values_mut() {
            r.depends_on = expand_depends(&r.depends_on, &high);
        }
    }
    let packages = if diags.has_errors() {
        BTreeMap::new()
    } else {
        package_sources(&source, dir, &mut resources, &mut diags)
    };
    diags.sort();
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(Config {
        path: PathBuf::from(name),
        dir: dir.to_path_buf(),
        source,
        stack,
        region,
        resources,
        expansions,
        warnings: diags,
        packages,
    })
}

/// Zips each function's source reproducibly and records its hash as the desired `code_sha256`;
/// returns the zips by function.
fn package_sources(
    src: &Arc<SourceFile>,
    dir: &Path,
    resources: &mut BTreeMap<ResourceAddr, Resource>,
    diags: &mut Diagnostics,
) -> BTreeMap<ResourceAddr, Arc<Vec<u8>>> {
    let mut packages = BTreeMap::new();
    for r in resources
        .values_mut()
        .filter(|r| r.addr.kind == Kind::LambdaFunction && r.existing.is_none())
    {
        let Some(source) = r.str_attr("source").map(str::to_string) else {
            continue;
        };
        match crate::package::package(&dir.join(&source)) {
            Ok(pkg) => {
                r.attrs
                    .insert("code_sha256".into(), Value::Str(pkg.sha256_base64));
                packages.insert(r.addr.clone(), Arc::new(pkg.bytes));
            }
            Err(e) => {
                let span = r.spans.get("source").unwrap_or(&r.header).clone();
                diags.push(
                    Diagnostic::error(format!("cannot package `{source}` for {}: {e}", r.addr))
                        .at(Some(Location::new(src, span)))
                        .resource(&r.addr)
                        .clone(),
                );
            }
        }
    }
    packages
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
