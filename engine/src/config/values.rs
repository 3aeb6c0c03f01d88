//! Values in a declaration: each checked against the type the schema gives its key (strings, numbers,
//! CIDRs, references and their kinds, rule lists, sources, environment maps), with the span of what is
//! wrong. Part of the parser (`parse.rs` walks tables and keys; this file, what they hold).

use super::parse::{closest, describe_kinds, type_name, Parser};
use crate::addr::{Kind, ResourceAddr};
use crate::diag::Span;
use crate::schema::Ty;
use crate::value::Value;
use std::collections::BTreeMap;
use toml_edit::{Item, TableLike};

impl Parser<'_> {
    /// Parses one value against a type. Records the span under `path`. Returns `None` after reporting.
    pub(super) fn parse_value(
        &mut self,
        ty: &Ty,
        item: &Item,
        span: Option<Span>,
        what: &str,
        spans: &mut BTreeMap<String, Span>,
        path: &str,
    ) -> Option<Value> {
        if let Some(s) = span.clone() {
            spans.insert(path.to_string(), s);
        }
        let found = type_name(item);
        macro_rules! expect {
            ($e:expr, $want:expr) => {
                match $e {
                    Some(v) => v,
                    None => {
                        self.err(span, format!("`{what}` must be {}, found {found}", $want));
                        return None;
                    }
                }
            };
        }
        match ty {
            Ty::Str => Some(Value::Str(expect!(item.as_str(), "a string").to_string())),
            Ty::Bool => {
                // A boolean written as a word: the word's meaning is the fix.
                let word = item
                    .as_str()
                    .and_then(|w| match w.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "on" => Some(true),
                        "false" | "no" | "off" => Some(false),
                        _ => None,
                    });
                if let Some(b) = word {
                    let d = self.err(
                        span,
                        format!("`{what}` must be true or false, found {found}"),
                    );
                    if let Some(fix) = Self::key_fix(what, path, b.to_string()) {
                        d.fix(fix);
                    }
                    return None;
                }
                Some(Value::Bool(expect!(item.as_bool(), "true or false")))
            }
            Ty::Int { min, max } => {
                if let Some(n) = item.as_str().and_then(|t| t.trim().parse::<i64>().ok()) {
                    let d = self.err(span, format!("`{what}` must be an integer, found {found}"));
                    if let Some(fix) = Self::key_fix(what, path, n.clamp(*min, *max).to_string()) {
                        d.fix(fix);
                    }
                    return None;
                }
                let i = expect!(item.as_integer(), "an integer");
                if i < *min || i > *max {
                    let d = self.err(
                        span,
                        format!("`{what}` is {i}, but must be between {min} and {max}"),
                    );
                    // The nearest value allowed.
                    if let Some(fix) = Self::key_fix(what, path, i.clamp(*min, *max).to_string()) {
                        d.fix(fix);
                    }
                    return None;
                }
                Some(Value::Int(i))
            }
            Ty::Amount => {
                // Only [stack] has amounts, and it reads its own; a table key of this type is kept
                // as written.
                let n = item
                    .as_float()
                    .or_else(|| item.as_integer().map(|i| i as f64))
                    .filter(|n| *n >= 0.0);
                let n = expect!(n, "a number from 0 up");
                Some(Value::Str(n.to_string()))
            }
            Ty::Cidr => {
                let s = expect!(item.as_str(), "a CIDR block string like \"10.0.0.0/16\"");
                let checked = self.check_cidr(s, span, what).map(Value::Str);
                // Host bits set: the block they belong to.
                if let (None, Ok(net)) = (&checked, s.parse::<ipnet::IpNet>()) {
                    if let Some(fix) = Self::key_fix(what, path, format!("\"{}\"", net.trunc())) {
                        if let Some(d) = self.diags.0.last_mut() {
                            d.fix(fix);
                        }
                    }
                }
                checked
            }
            Ty::Enum(options) => {
                let s = expect!(item.as_str(), format!("one of {}", options.join(", ")));
                if !options.contains(&s) {
                    let suggestion = closest(s, options.iter().copied());
                    let d = self.err(
                        span,
                        format!("`{what}`: `{s}` is not one of the accepted values"),
                    );
                    match suggestion.and_then(|c| Self::key_fix(what, path, format!("\"{c}\""))) {
                        Some(fix) => {
                            d.fix(fix);
                        }
                        None => {
                            d.hint(match suggestion {
                                Some(c) => format!("did you mean `{c}`?"),
                                None => format!("expected one of: {}", options.join(", ")),
                            });
                        }
                    }
                    return None;
                }
                Some(Value::str(s))
            }
            Ty::Ref(kinds) => {
                let s = expect!(item.as_str(), "a reference string \"KIND.NAME\"");
                self.parse_ref(s, kinds, span, what).map(|a| {
                    let attr = crate::schema::reference_attr(a.kind);
                    Value::reference(a, attr)
                })
            }
            Ty::BoolOr(words) => {
                if let Some(b) = item.as_bool() {
                    return Some(Value::Bool(b));
                }
                let want = format!(
                    "true, false or {}",
                    words
                        .iter()
                        .map(|w| format!("\"{w}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                let s = expect!(item.as_str(), want);
                if !words.contains(&s) {
                    self.err(span, format!("`{what}`: `{s}` is not {want}"));
                    return None;
                }
                Some(Value::str(s))
            }
            Ty::Sources(kinds) => {
                let arr = expect!(
                    item.as_array(),
                    "an array of CIDR blocks or \"KIND.NAME\" strings"
                );
                let mut out = Vec::new();
                for (i, v) in arr.iter().enumerate() {
                    let vspan = v.span();
                    if let Some(s) = vspan.clone() {
                        spans.insert(format!("{path}[{i}]"), s);
                    }
                    let Some(s) = v.as_str() else {
                        self.err(
                            vspan,
                            format!("`{what}` must hold CIDR blocks or \"KIND.NAME\" strings"),
                        );
                        continue;
                    };
                    if s.contains('/') {
                        if let Some(c) = self.check_cidr(s, vspan, what) {
                            out.push(Value::Str(c));
                        }
                    } else if let Some(a) = self.parse_ref(s, kinds, vspan, what) {
                        out.push(Value::reference(a, "cidr"));
                    }
                }
                Some(Value::List(out))
            }
            Ty::RefList(kinds) => {
                let arr = expect!(item.as_array(), "an array of \"KIND.NAME\" strings");
                let mut out = Vec::new();
                for (i, v) in arr.iter().enumerate() {
                    let vspan = v.span();
                    if let Some(s) = vspan.clone() {
                        spans.insert(format!("{path}[{i}]"), s);
                    }
                    match v.as_str() {
                        Some(s) => {
                            if let Some(a) = self.parse_ref(s, kinds, vspan, what) {
                                out.push(Value::reference(a, "id"));
                            }
                        }
                        None => {
                            self.err(vspan, format!("`{what}` must hold \"KIND.NAME\" strings"));
                        }
                    }
                }
                Some(Value::List(out))
            }
            Ty::RoleRef => {
                let s = expect!(item.as_str(), "an iam_role reference or a role ARN");
                if s.starts_with("arn:") {
                    if !s.contains(":role/") {
                        self.err(span, format!("`{s}` is not an IAM role ARN"))
                            .hint("role ARNs look like arn:aws:iam::123456789012:role/NAME");
                        return None;
                    }
                    Some(Value::str(s))
                } else {
                    self.parse_ref(s, &[Kind::IamRole], span, what)
                        .map(|a| Value::reference(a, "arn"))
                }
            }
            Ty::StrList => {
                let arr = expect!(item.as_array(), "an array of strings");
                let mut out = Vec::new();
                for v in arr.iter() {
                    match v.as_str() {
                        Some(s) => out.push(Value::str(s)),
                        None => {
                            self.err(v.span(), format!("`{what}` must hold strings"));
                        }
                    }
                }
                Some(Value::List(out))
            }
            Ty::StrMap => {
                let t = expect!(
                    item.as_table_like(),
                    "a table of strings like { key = \"value\" }"
                );
                let mut out = BTreeMap::new();
                for (k, v) in t.iter() {
                    match v.as_str() {
                        Some(s) => {
                            out.insert(k.to_string(), Value::str(s));
                        }
                        None => {
                            self.err(
                                Self::value_span(t, k),
                                format!("`{what}.{k}` must be a string, found {}", type_name(v)),
                            );
                        }
                    }
                }
                Some(Value::Map(out))
            }
            Ty::Env => {
                let t = expect!(
                    item.as_table_like(),
                    "a table like { KEY = \"value\", SECRET = { from_env = \"NAME\" } }"
                );
                let mut out = BTreeMap::new();
                for (k, v) in t.iter() {
                    let at = Self::value_span(t, k);
                    if let Some(s) = v.as_str() {
                        out.insert(k.to_string(), Value::str(s));
                        continue;
                    }
                    let Some(inner) = v.as_table_like() else {
                        self.err(
                            at,
                            format!(
                                "`{what}.{k}` must be a string, {{ from_env = \"NAME\" }} or {{ value = \"…\", sensitive = true }}, found {}",
                                type_name(v)
                            ),
                        );
                        continue;
                    };
                    if let Some(v) = self.env_value(inner, &format!("{what}.{k}"), at) {
                        out.insert(k.to_string(), v);
                    }
                }
                Some(Value::Map(out))
            }
            Ty::Azs => {
                if let Some(n) = item.as_integer() {
                    if n < 1 {
                        self.err(
                            span,
                            format!(
                                "`{what}` is {n}; a network needs at least 1 availability zone"
                            ),
                        )
                        .hint("use 2 or more for availability");
                        return None;
                    }
                    return Some(Value::Int(n));
                }
                let arr = expect!(item.as_array(), "a count or a list of AZ names");
                let mut out = Vec::new();
                for v in arr.iter() {
                    match v.as_str() {
                        Some(s) => out.push(Value::str(s)),
                        None => {
                            self.err(
                                v.span(),
                                format!("`{what}` must hold AZ names like \"us-east-1a\""),
                            );
                        }
                    }
                }
                Some(Value::List(out))
            }
            Ty::CountOrCidrs => {
                if let Some(n) = item.as_integer() {
                    if !(0..=8).contains(&n) {
                        let d = self
                            .err(
                                span,
                                format!("`{what}` is {n}, but must be between 0 and 8"),
                            )
                            .hint("for more subnets, give a list of CIDR blocks");
                        if let Some(fix) = Self::key_fix(what, path, n.clamp(0, 8).to_string()) {
                            d.fix(fix);
                        }
                        return None;
                    }
                    return Some(Value::Int(n));
                }
                let arr = expect!(item.as_array(), "a count or a list of CIDR blocks");
                let mut out = Vec::new();
                for (i, v) in arr.iter().enumerate() {
                    if let Some(s) = v.span() {
                        spans.insert(format!("{path}[{i}]"), s);
                    }
                    match v.as_str() {
                        Some(s) => {
                            if let Some(c) = self.check_cidr(s, v.span(), what) {
                                out.push(Value::Str(c));
                            }
                        }
                        None => {
                            self.err(v.span(), format!("`{what}` must hold CIDR strings"));
                        }
                    }
                }
                Some(Value::List(out))
            }
            Ty::Path => {
                let s = expect!(item.as_str(), "a path string");
                if let Err(why) = super::check_written(s) {
                    let hint = format!(
                        "paths are relative to the config's folder ({})",
                        self.dir.display()
                    );
                    self.err(span, format!("`{what}`: `{s}` {why}")).hint(hint);
                    return None;
                }
                Some(Value::str(s))
            }
            Ty::Rules(fields) => {
                let mut tables: Vec<(&dyn TableLike, Option<Span>)> = Vec::new();
                match item {
                    Item::ArrayOfTables(a) => {
                        tables.extend(a.iter().map(|t| (t as &dyn TableLike, t.span())))
                    }
                    Item::Value(toml_edit::Value::Array(a)) => {
                        for v in a.iter() {
                            match v.as_inline_table() {
                                Some(t) => tables.push((t as &dyn TableLike, v.span())),
                                None => {
                                    self.err(
                                        v.span(),
                                        format!(
                                            "`{what}` must hold inline tables like {{ {} = … }}",
                                            fields[0].name
                                        ),
                                    );
                                }
                            }
                        }
                    }
                    _ => {
                        self.err(
                            span,
                            format!("`{what}` must be an array of tables, found {found}"),
                        );
                        return None;
                    }
                }
                let mut out = Vec::new();
                for (i, (t, tspan)) in tables.into_iter().enumerate() {
                    let mut m = BTreeMap::new();
                    let rpath = format!("{path}[{i}]");
                    if let Some(s) = tspan.clone() {
                        spans.insert(rpath.clone(), s);
                    }
                    for (k, v) in t.iter() {
                        let kspan = Self::key_span(t, k);
                        let vspan = Self::value_span(t, k);
                        match fields.iter().find(|f| f.name == k) {
                            Some(field) => {
                                if let Some(val) = self.parse_value(
                                    &field.ty,
                                    v,
                                    vspan,
                                    &format!("{what}[{i}].{k}"),
                                    spans,
                                    &format!("{rpath}.{k}"),
                                ) {
                                    m.insert(k.to_string(), val);
                                }
                            }
                            None => {
                                let hint = match closest(k, fields.iter().map(|f| f.name)) {
                                    Some(c) => format!("did you mean `{c}`?"),
                                    None => format!(
                                        "expected: {}",
                                        fields
                                            .iter()
                                            .map(|f| f.name)
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ),
                                };
                                self.err(kspan, format!("unknown key `{k}` in `{what}[{i}]`"))
                                    .hint(hint);
                            }
                        }
                    }
                    for field in fields.iter().filter(|f| f.required) {
                        if !m.contains_key(field.name)
                            && !spans.contains_key(&format!("{rpath}.{}", field.name))
                        {
                            self.err(
                                tspan.clone().or(span.clone()),
                                format!("`{what}[{i}]` is missing `{}`", field.name),
                            )
                            .hint(field.doc);
                        }
                    }
                    out.push(Value::Map(m));
                }
                Some(Value::List(out))
            }
        }
    }

    pub(super) fn check_cidr(&mut self, s: &str, span: Option<Span>, what: &str) -> Option<String> {
        match s.parse::<ipnet::IpNet>() {
            Ok(net) if net.trunc() == net => Some(net.to_string()),
            Ok(net) => {
                self.err(span, format!("`{what}`: `{s}` has host bits set"))
                    .hint(format!("did you mean `{}`?", net.trunc()));
                None
            }
            Err(_) => {
                self.err(span, format!("`{what}`: `{s}` is not a valid CIDR block"))
                    .hint("write an address and a prefix length, e.g. 10.0.0.0/16 or ::/0");
                None
            }
        }
    }

    pub(super) fn parse_ref(
        &mut self,
        s: &str,
        kinds: &[Kind],
        span: Option<Span>,
        what: &str,
    ) -> Option<ResourceAddr> {
        match s.parse::<ResourceAddr>() {
            Ok(a) if kinds.contains(&a.kind) => Some(a),
            Ok(a) => {
                self.err(
                    span,
                    format!(
                        "`{what}` must reference {}, but `{a}` is a {}",
                        describe_kinds(kinds),
                        a.kind
                    ),
                )
                .label("wrong kind")
                .hint(format!("point it at a {} instead", describe_kinds(kinds)));
                None
            }
            Err(e) => {
                let hint = if s.contains('-') && !s.contains('.') {
                    format!("`{s}` looks like a cloud id: declare it as [{}.NAME] existing = \"{s}\" and reference that", kinds[0])
                } else {
                    format!("write \"{}.NAME\"", kinds[0])
                };
                self.err(span, format!("`{what}`: `{s}` is not a reference ({e})"))
                    .hint(hint);
                None
            }
        }
    }
}
