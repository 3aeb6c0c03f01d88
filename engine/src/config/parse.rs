//! Walks the TOML document (with spans, via toml_edit) into declarations: one `Decl` per `[KIND.NAME]`
//! table, every value checked against the kind's schema. Problems are collected, never fatal, so one
//! run reports all of them.

use super::{Decl, Stack};
use crate::addr::{valid_name, Kind, ResourceAddr};
use crate::diag::{Diagnostic, Diagnostics, Location, SourceFile, Span};
use crate::schema::{schema, Ty, COMMON_FIELDS};
use crate::value::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toml_edit::{Item, TableLike};

/// The keys `[stack]` takes: the schema's (`schema::STACK`).
fn stack_keys() -> impl Iterator<Item = &'static str> {
    crate::schema::STACK.iter().map(|f| f.name)
}

pub(super) struct Parser<'a> {
    pub src: Arc<SourceFile>,
    pub diags: &'a mut Diagnostics,
    pub dir: &'a Path,
}

/// The closest of `candidates` to `word`, when it is close enough to be a plausible typo.
pub fn closest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    // The same word in another case or with other separators (`perAZ`, `per_az`), or one edit away
    // (`vcp`, `vpc`), counts as close whatever its length.
    let plain = |w: &str| {
        w.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let score = |c: &str| {
        if plain(c) == plain(word) {
            1.0
        } else if word.chars().count() >= 3 && strsim::damerau_levenshtein(word, c) == 1 {
            0.95
        } else {
            strsim::jaro_winkler(word, c)
        }
    };
    candidates
        .into_iter()
        .map(|c| (score(c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

pub(super) fn type_name(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(v) => match v {
            toml_edit::Value::String(_) => "a string",
            toml_edit::Value::Integer(_) => "an integer",
            toml_edit::Value::Float(_) => "a float",
            toml_edit::Value::Boolean(_) => "a boolean",
            toml_edit::Value::Datetime(_) => "a datetime",
            toml_edit::Value::Array(_) => "an array",
            toml_edit::Value::InlineTable(_) => "an inline table",
        },
    }
}

pub(super) fn describe_kinds(kinds: &[Kind]) -> String {
    let names: Vec<String> = kinds.iter().map(|k| format!("`{k}`")).collect();
    match names.len() {
        1 => names[0].clone(),
        n => format!("{} or {}", names[..n - 1].join(", "), names[n - 1]),
    }
}

impl Parser<'_> {
    pub fn loc(&self, span: Option<Span>) -> Option<Location> {
        span.map(|s| Location::new(&self.src, s))
    }

    pub(super) fn err(&mut self, span: Option<Span>, msg: impl Into<String>) -> &mut Diagnostic {
        let mut d = Diagnostic::error(msg);
        d.at(self.loc(span));
        self.diags.push(d);
        self.diags.0.last_mut().expect("just pushed")
    }

    /// A fix setting a key at the top of its table (`network.main.azs`), as the value `what` names it;
    /// `None` for a value inside a list or inline table.
    pub(super) fn key_fix(what: &str, path: &str, value: String) -> Option<crate::fix::Fix> {
        if path.contains(['[', '.']) {
            return None;
        }
        let table = what.strip_suffix(&format!(".{path}"))?;
        Some(crate::fix::Fix::set(table, path, value))
    }

    /// Span of the key `name` in `table`, falling back to the value's span.
    pub(super) fn key_span(table: &dyn TableLike, name: &str) -> Option<Span> {
        table
            .get_key_value(name)
            .and_then(|(k, v)| k.span().or_else(|| v.span()))
    }

    /// One environment value given as a table: `{ from_env = "NAME" }` (read now, sensitive) or
    /// `{ value = "…", sensitive = true }`. A sensitive value's place in the text is masked.
    pub(super) fn env_value(
        &mut self,
        t: &dyn TableLike,
        what: &str,
        at: Option<Span>,
    ) -> Option<Value> {
        // Masked first: whatever else is wrong in the table, its snippet never shows the value.
        if t.get("sensitive").and_then(|s| s.as_bool()) == Some(true) {
            if let Some(span) = Self::value_span(t, "value") {
                self.src.mask(span);
            }
        }
        for (key, _) in t.iter() {
            if !["from_env", "value", "sensitive"].contains(&key) {
                self.err(
                    Self::value_span(t, key),
                    format!("`{what}`: unknown key `{key}`"),
                )
                .hint("use { from_env = \"NAME\" } or { value = \"…\", sensitive = true }");
                return None;
            }
        }
        match (t.get("from_env"), t.get("value")) {
            (Some(name), None) => {
                let Some(name) = name.as_str() else {
                    self.err(
                        Self::value_span(t, "from_env"),
                        format!("`{what}.from_env` must name an environment variable"),
                    );
                    return None;
                };
                if t.get("sensitive").and_then(|s| s.as_bool()) == Some(false) {
                    self.err(
                        Self::value_span(t, "sensitive"),
                        format!("`{what}`: a value from the environment is always sensitive"),
                    );
                    return None;
                }
                match std::env::var(name) {
                    Ok(v) => Some(Value::Secret(crate::value::Secret(v))),
                    Err(_) => {
                        self.err(
                            Self::value_span(t, "from_env"),
                            format!("`{what}`: the environment variable `{name}` is not set"),
                        )
                        .hint(format!("export {name}=… before running netplan"));
                        None
                    }
                }
            }
            (None, Some(value)) => {
                let Some(v) = value.as_str() else {
                    self.err(
                        Self::value_span(t, "value"),
                        format!("`{what}.value` must be a string"),
                    );
                    return None;
                };
                let sensitive = match t.get("sensitive") {
                    None => false,
                    Some(s) => match s.as_bool() {
                        Some(b) => b,
                        None => {
                            self.err(
                                Self::value_span(t, "sensitive"),
                                format!("`{what}.sensitive` must be true or false"),
                            );
                            return None;
                        }
                    },
                };
                if !sensitive {
                    return Some(Value::str(v));
                }
                Some(Value::Secret(crate::value::Secret(v.to_string())))
            }
            _ => {
                self.err(at, format!("`{what}` takes either `from_env` or `value`"))
                    .hint("{ from_env = \"NAME\" } or { value = \"…\", sensitive = true }");
                None
            }
        }
    }

    pub(super) fn value_span(table: &dyn TableLike, name: &str) -> Option<Span> {
        table
            .get_key_value(name)
            .and_then(|(k, v)| v.span().or_else(|| k.span()))
    }

    pub fn parse_document(&mut self) -> (Option<Stack>, Vec<Decl>) {
        let text = self.src.text.clone();
        let doc = match toml_edit::ImDocument::parse(text.as_str()) {
            Ok(doc) => doc,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let msg = e.message().trim().to_string();
                self.err(Some(span), format!("invalid TOML: {msg}"))
                    .label("here")
                    .hint("see https://toml.io for the syntax");
                return (None, vec![]);
            }
        };
        let root = doc.as_table();
        let mut stack = None;
        let mut decls = Vec::new();
        for (key, item) in root.iter() {
            let kspan = Self::key_span(root, key);
            if key == "stack" {
                match item.as_table_like() {
                    Some(t) => stack = self.parse_stack(t, kspan.clone()),
                    None => {
                        self.err(
                            kspan,
                            format!("`stack` must be a table, found {}", type_name(item)),
                        )
                        .hint("write it as [stack] with name = \"…\"");
                    }
                }
                continue;
            }
            let Ok(kind) = key.parse::<Kind>() else {
                let names = Kind::ALL.iter().map(|k| k.as_str()).chain(["stack"]);
                let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
                let d = self
                    .err(kspan, format!("unknown table `{key}`"))
                    .label("not a resource kind");
                match closest(key, names) {
                    Some(c) => {
                        d.fix(crate::fix::Fix::edit(vec![crate::fix::Edit::Rename {
                            table: String::new(),
                            from: key.to_string(),
                            to: c.to_string(),
                        }]));
                    }
                    None => {
                        d.hint(format!(
                            "tables are [stack] or [KIND.NAME] with KIND one of {}",
                            kinds.join(", ")
                        ));
                    }
                }
                continue;
            };
            let Some(named) = item.as_table_like() else {
                self.err(
                    kspan,
                    format!(
                        "`{key}` must hold named tables like [{key}.NAME], found {}",
                        type_name(item)
                    ),
                );
                continue;
            };
            for (name, body) in named.iter() {
                let nspan = Self::key_span(named, name);
                if !valid_name(name) {
                    self.err(
                        nspan.clone(),
                        format!("`{key}.{name}`: `{name}` is not a valid name"),
                    )
                    .hint("names start with a letter and use letters, digits, `_` and `-`");
                    continue;
                }
                let addr = ResourceAddr::new(kind, name);
                let Some(body) = body.as_table_like() else {
                    self.err(
                        nspan,
                        format!("`{addr}` must be a table, found {}", type_name(body)),
                    )
                    .hint(format!("write it as [{addr}] followed by its keys"));
                    continue;
                };
                if let Some(decl) = self.parse_decl(addr, body, nspan.unwrap_or(0..0)) {
                    decls.push(decl);
                }
            }
        }
        if stack.is_none() && !self.diags.has_errors() {
            self.err(Some(0..0), "the config has no [stack] table")
                .hint("add [stack] with name = \"my-stack\" (and region = \"us-east-1\")");
        }
        (stack, decls)
    }

    fn parse_stack(&mut self, t: &dyn TableLike, span: Option<Span>) -> Option<Stack> {
        let mut stack = Stack {
            name: String::new(),
            region: None,
            state: None,
            encryption: None,
            egress_gb_per_month: None,
            tags: BTreeMap::new(),
            span: span.clone().unwrap_or(0..0),
        };
        let mut ok = true;
        for (key, item) in t.iter() {
            let vspan = Self::value_span(t, key);
            match key {
                "name" | "region" | "state" | "encryption" => {
                    let Some(s) = item.as_str() else {
                        self.err(
                            vspan,
                            format!("`stack.{key}` must be a string, found {}", type_name(item)),
                        );
                        ok = false;
                        continue;
                    };
                    match key {
                        "name" => {
                            if s.is_empty()
                                || s.len() > 40
                                || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                                || !s.starts_with(|c: char| c.is_ascii_alphabetic())
                            {
                                self.err(vspan, format!("stack name `{s}` is not valid"))
                                    .hint("1 to 40 letters, digits and `-`, starting with a letter (it prefixes AWS names)");
                                ok = false;
                            }
                            stack.name = s.to_string();
                        }
                        "region" => {
                            let valid = s.split('-').count() >= 3
                                && s.chars().all(|c| {
                                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'
                                });
                            if !valid {
                                self.err(vspan, format!("`{s}` is not an AWS region name"))
                                    .hint("e.g. us-east-1");
                                ok = false;
                            }
                            stack.region = Some(s.to_string());
                        }
                        "encryption" => {
                            let valid = s.strip_prefix("env:").is_some_and(|n| {
                                !n.is_empty()
                                    && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            }) || s.strip_prefix("kms:").is_some_and(|k| !k.is_empty());
                            if !valid {
                                self.err(vspan, format!("`{s}` names no key"))
                                    .hint("encryption = \"env:NETPLAN_STATE_KEY\" (a 32-byte key, base64, in that variable) or \"kms:alias/my-key\"");
                                ok = false;
                            }
                            stack.encryption = Some(s.to_string());
                        }
                        _ => stack.state = Some(s.to_string()),
                    }
                }
                "egress_gb_per_month" => {
                    let n = item
                        .as_integer()
                        .map(|i| i as f64)
                        .or_else(|| item.as_float());
                    match n {
                        Some(n) if n.is_finite() && (0.0..=1.0e9).contains(&n) => {
                            stack.egress_gb_per_month = Some(n)
                        }
                        _ => {
                            self.err(
                                vspan,
                                format!(
                                    "`stack.egress_gb_per_month` must be a number of GB from 0 up, found {}",
                                    type_name(item)
                                ),
                            )
                            .hint("egress_gb_per_month = 100   # the traffic the functions send out to the internet each month, for the cost estimate");
                            ok = false;
                        }
                    }
                }
                "tags" => {
                    if let Some(Value::Map(m)) = self.parse_value(
                        &Ty::StrMap,
                        item,
                        vspan,
                        "stack.tags",
                        &mut BTreeMap::new(),
                        "tags",
                    ) {
                        stack.tags = m
                            .into_iter()
                            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                            .collect();
                    }
                }
                other => {
                    let d = self.err(
                        Self::key_span(t, other),
                        format!("unknown key `{other}` in [stack]"),
                    );
                    match closest(other, stack_keys()) {
                        Some(c) => {
                            d.fix(crate::fix::Fix::edit(vec![crate::fix::Edit::Rename {
                                table: "stack".into(),
                                from: other.to_string(),
                                to: c.to_string(),
                            }]));
                        }
                        None => {
                            d.hint("[stack] takes name, region, state, encryption, egress_gb_per_month and tags");
                        }
                    }
                    ok = false;
                }
            }
        }
        if stack.name.is_empty() && ok {
            self.err(span, "[stack] needs a `name`")
                .hint("add name = \"my-stack\": it is tagged on every resource as netplan:stack");
            ok = false;
        }
        ok.then_some(stack)
    }

    fn parse_decl(
        &mut self,
        addr: ResourceAddr,
        body: &dyn TableLike,
        header: Span,
    ) -> Option<Decl> {
        let sch = schema(addr.kind);
        let mut decl = Decl {
            addr: addr.clone(),
            header: header.clone(),
            fields: BTreeMap::new(),
            spans: BTreeMap::new(),
            tags: BTreeMap::new(),
            depends_on: Vec::new(),
            existing: None,
        };
        for (key, item) in body.iter() {
            let kspan = Self::key_span(body, key);
            let vspan = Self::value_span(body, key);
            match key {
                "tags" => {
                    if let Some(Value::Map(m)) = self.parse_value(
                        &Ty::StrMap,
                        item,
                        vspan.clone(),
                        &format!("{addr}.tags"),
                        &mut decl.spans,
                        "tags",
                    ) {
                        decl.tags = m
                            .into_iter()
                            .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                            .collect();
                    }
                }
                "depends_on" => {
                    let Some(arr) = item.as_array() else {
                        self.err(vspan, format!("`depends_on` of {addr} must be an array of \"KIND.NAME\" strings, found {}", type_name(item)));
                        continue;
                    };
                    for v in arr.iter() {
                        let span = v.span();
                        match v.as_str().map(|s| s.parse::<ResourceAddr>()) {
                            Some(Ok(target)) => {
                                decl.depends_on.push((target, span.unwrap_or(0..0)))
                            }
                            Some(Err(e)) => {
                                self.err(span, format!("`depends_on` of {addr}: {e}"))
                                    .hint("write \"KIND.NAME\", e.g. \"vpc.main\"");
                            }
                            None => {
                                self.err(span, format!("`depends_on` of {addr} must hold strings"));
                            }
                        }
                    }
                }
                "existing" => {
                    if addr.kind.is_high_level() {
                        self.err(
                            kspan,
                            format!("{addr}: `existing` applies to low-level resources only"),
                        )
                        .hint(
                            "declare the existing object as e.g. [vpc.legacy] existing = \"vpc-…\"",
                        );
                        continue;
                    }
                    match item.as_str() {
                        Some(id) => {
                            if let Some(prefix) = addr.kind.id_prefix() {
                                if !id.starts_with(prefix) || id.len() <= prefix.len() {
                                    self.err(
                                        vspan.clone(),
                                        format!("`{id}` is not a {} id", addr.kind),
                                    )
                                    .hint(format!(
                                        "{} ids look like {prefix}0123456789abcdef0",
                                        addr.kind
                                    ));
                                }
                            } else if id.is_empty() {
                                self.err(vspan.clone(), "`existing` must not be empty");
                            }
                            decl.existing = Some((id.to_string(), vspan.unwrap_or(0..0)));
                        }
                        None => {
                            self.err(
                                vspan,
                                format!(
                                    "`existing` must be the object's id as a string, found {}",
                                    type_name(item)
                                ),
                            );
                        }
                    }
                }
                _ => match sch.field(key) {
                    Some(field) => {
                        if let Some(v) = self.parse_value(
                            &field.ty,
                            item,
                            vspan,
                            &format!("{addr}.{key}"),
                            &mut decl.spans,
                            key,
                        ) {
                            decl.fields.insert(key.to_string(), v);
                        }
                    }
                    None => {
                        let names = sch
                            .fields
                            .iter()
                            .map(|f| f.name)
                            .chain(COMMON_FIELDS.iter().copied());
                        let suggestion = closest(key, names);
                        let all: Vec<&str> = sch
                            .fields
                            .iter()
                            .map(|f| f.name)
                            .chain(COMMON_FIELDS.iter().copied())
                            .collect();
                        let d = self
                            .err(kspan, format!("unknown key `{key}` in {addr}"))
                            .label("unknown key");
                        match suggestion {
                            Some(c) => {
                                d.fix(crate::fix::Fix::edit(vec![crate::fix::Edit::Rename {
                                    table: addr.to_string(),
                                    from: key.to_string(),
                                    to: c.to_string(),
                                }]));
                            }
                            None => {
                                d.hint(format!("{} takes: {}", addr.kind, all.join(", ")));
                            }
                        }
                    }
                },
            }
            if let Some(s) = Self::key_span(body, key) {
                decl.spans.entry(format!("{key}.key")).or_insert(s);
            }
        }
        if let Some((_, espan)) = &decl.existing {
            let extra: Vec<&String> = decl.fields.keys().collect();
            if !extra.is_empty() || !decl.depends_on.is_empty() {
                let names: Vec<String> = extra.iter().map(|s| format!("`{s}`")).collect();
                let mut edits: Vec<crate::fix::Edit> = extra
                    .iter()
                    .map(|k| crate::fix::Edit::Unset {
                        table: addr.to_string(),
                        key: k.to_string(),
                    })
                    .collect();
                if !decl.depends_on.is_empty() {
                    edits.push(crate::fix::Edit::Unset {
                        table: addr.to_string(),
                        key: "depends_on".into(),
                    });
                }
                self.err(
                    Some(espan.clone()),
                    format!(
                        "{addr} is `existing`, so it takes no other settings (found {})",
                        if names.is_empty() {
                            "`depends_on`".into()
                        } else {
                            names.join(", ")
                        }
                    ),
                )
                .hint("netplan uses an existing object as it is and never changes it")
                .fix(crate::fix::Fix::edit(edits));
            }
        } else {
            for field in sch.fields.iter().filter(|f| f.required) {
                if !decl.fields.contains_key(field.name) && !decl.spans.contains_key(field.name) {
                    self.err(
                        Some(header.clone()),
                        format!("{addr} is missing `{}`", field.name),
                    )
                    .label("declared here")
                    .hint(format!("add {} = … ({})", field.name, field.doc));
                }
            }
        }
        Some(decl)
    }
}
