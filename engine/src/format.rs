//! `netplan fmt`: the canonical layout of a config, comments kept. Tables stay in the order they are
//! written, one blank line apart, each with the comments above it; keys follow the schema's order
//! (then `tags`, `depends_on`, `existing`, then keys netplan does not know, as written), each with the
//! comments above it and after it; `key = value` with one space each side; a list of plain values on
//! one line while it fits in 100 columns, else one item a line; a list of inline tables (routes,
//! rules) one table a line with their keys in the schema's order and their columns aligned; trailing
//! comments of consecutive lines aligned. The text of each value (quotes, numbers) is kept as written.
//! Formatting a formatted config changes nothing.

use crate::addr::Kind;
use crate::schema::{self, Field, Ty};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

/// Lines may be this wide before a list breaks over several.
const WIDTH: usize = 100;

/// Why a text cannot be formatted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotToml(pub String);

/// The canonical layout of a config's text.
pub fn format(text: &str) -> Result<String, NotToml> {
    let doc: DocumentMut = text.parse().map_err(|e| NotToml(format!("{e}")))?;
    let mut out = Out::default();
    // Key-values at the top, before any table (a netplan config has none; kept as written).
    for (key, item) in doc.iter() {
        if let Item::Value(v) = item {
            out.key_value(doc.key(key), key, v, None, "");
        }
    }
    let mut tables: Vec<(usize, String, &Table)> = vec![];
    collect(doc.as_table(), "", &mut tables);
    tables.sort_by_key(|(pos, ..)| *pos);
    for (_, path, table) in tables {
        out.table(&path, table);
    }
    out.comments(doc.trailing().as_str().unwrap_or_default(), "", true);
    Ok(out.finish())
}

/// Every table written with a header, with its position and dotted path.
fn collect<'d>(t: &'d Table, prefix: &str, out: &mut Vec<(usize, String, &'d Table)>) {
    for (key, item) in t.iter() {
        let path = if prefix.is_empty() {
            key_text(t.key(key), key)
        } else {
            format!("{prefix}.{}", key_text(t.key(key), key))
        };
        match item {
            Item::Table(sub) => {
                if !sub.is_implicit() {
                    out.push((sub.position().unwrap_or(usize::MAX), path.clone(), sub));
                }
                collect(sub, &path, out);
            }
            Item::ArrayOfTables(a) => {
                for sub in a.iter() {
                    out.push((
                        sub.position().unwrap_or(usize::MAX),
                        format!("[{path}]"),
                        sub,
                    ));
                }
            }
            _ => {}
        }
    }
}

/// A key as written (`"a b"` stays quoted), without its decoration.
fn key_text(key: Option<&toml_edit::Key>, name: &str) -> String {
    key.map(|k| k.display_repr().to_string())
        .unwrap_or_else(|| name.to_string())
}

/// The fields of a table at `path` (`stack`, `route_table.public`), or none for a table netplan does
/// not know.
fn fields_of(path: &str) -> Option<Vec<Field>> {
    if path == "stack" {
        return Some(schema::STACK.to_vec());
    }
    let kind: Kind = path.split('.').next()?.parse().ok()?;
    let s = schema::schema(kind);
    Some(s.fields.iter().chain(schema::COMMON).copied().collect())
}

/// The comment lines of a decoration (`# …`), blank lines between groups kept as one (a blank line
/// after the last comment too: what separates a file's opening comment from its first table).
fn comment_lines_spaced(decor: &str) -> Vec<String> {
    let mut out = comment_lines(decor);
    let after = decor.rsplit_once('#').map(|(_, rest)| rest).unwrap_or("");
    if !out.is_empty() && after.matches('\n').count() >= 2 {
        out.push(String::new());
    }
    out
}

/// The comment lines of a decoration (`# …`), blank lines between groups kept as one.
fn comment_lines(decor: &str) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    for line in decor.lines().map(str::trim) {
        if line.starts_with('#') {
            out.push(line.to_string());
        } else if line.is_empty() && out.last().is_some_and(|l| !l.is_empty()) {
            out.push(String::new());
        }
    }
    while out.last().is_some_and(String::is_empty) {
        out.pop();
    }
    out
}

/// A trailing comment in a decoration's suffix (`   # why`).
fn trailing(decor: Option<&str>) -> Option<String> {
    let t = decor?.trim();
    t.starts_with('#').then(|| t.to_string())
}

fn scalar(v: &Value) -> String {
    let mut c = v.clone();
    c.decor_mut().clear();
    c.to_string()
}

/// A value on one line: inline tables with their keys in `order`, lists as `[a, b]`.
fn inline(v: &Value, order: Option<&[Field]>) -> String {
    match v {
        Value::Array(a) => {
            let items: Vec<String> = a.iter().map(|x| inline(x, order)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::InlineTable(t) => {
            let parts = table_parts(t, order);
            if parts.is_empty() {
                "{}".into()
            } else {
                format!("{{ {} }}", parts.join(", "))
            }
        }
        other => scalar(other),
    }
}

/// An inline table's `key = value`s, in the schema's order.
fn table_parts(t: &InlineTable, order: Option<&[Field]>) -> Vec<String> {
    let mut keys: Vec<&str> = t.iter().map(|(k, _)| k).collect();
    sort_keys(&mut keys, order);
    keys.iter()
        .map(|k| {
            format!(
                "{} = {}",
                key_text(t.key(k), k),
                inline(t.get(k).expect("a key of the table"), None)
            )
        })
        .collect()
}

fn sort_keys(keys: &mut [&str], order: Option<&[Field]>) {
    if let Some(fields) = order {
        let rank = |k: &str| {
            fields
                .iter()
                .position(|f| f.name == k)
                .unwrap_or(fields.len())
        };
        keys.sort_by_key(|k| rank(k));
    }
}

/// Whether a list holds comments between its items.
fn has_comments(a: &Array) -> bool {
    a.iter().any(|v| {
        [v.decor().prefix(), v.decor().suffix()]
            .into_iter()
            .flatten()
            .any(|d| d.as_str().is_some_and(|s| s.contains('#')))
    }) || a.trailing().as_str().is_some_and(|s| s.contains('#'))
}

#[derive(Default)]
struct Out {
    lines: Vec<String>,
}

impl Out {
    fn comments(&mut self, decor: &str, indent: &str, blank_before: bool) {
        let lines = if indent.is_empty() && !blank_before {
            comment_lines_spaced(decor)
        } else {
            comment_lines(decor)
        };
        if lines.is_empty() {
            return;
        }
        if blank_before && !self.lines.is_empty() {
            self.blank();
        }
        for l in lines {
            self.lines.push(if l.is_empty() {
                l
            } else {
                format!("{indent}{l}")
            });
        }
    }

    fn blank(&mut self) {
        if self.lines.last().is_some_and(|l| !l.is_empty()) {
            self.lines.push(String::new());
        }
    }

    fn table(&mut self, path: &str, t: &Table) {
        let mut prefix = t.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
        // Comments right under the previous table's last key, a blank line before this header,
        // are the previous table's (a commented-out key at its end).
        if !self.lines.is_empty() && prefix.trim_start_matches([' ', '\t']).starts_with('#') {
            if let Some(i) = prefix.find("\n\n").or_else(|| prefix.find("\n\r\n")) {
                for c in comment_lines(&prefix[..i]) {
                    self.lines.push(c);
                }
                prefix = &prefix[i..];
            }
        }
        if !self.lines.is_empty() {
            self.blank();
        }
        self.comments(prefix, "", false);
        let header = if let Some(inner) = path.strip_prefix('[') {
            format!("[{inner}]")
        } else {
            format!("[{path}]")
        };
        let suffix = trailing(t.decor().suffix().and_then(|s| s.as_str()));
        self.lines.push(match suffix {
            Some(c) => format!("{header}  {c}"),
            None => header,
        });
        let fields = fields_of(path.trim_start_matches('['));
        let mut keys: Vec<&str> = t
            .iter()
            .filter(|(_, i)| matches!(i, Item::Value(_)))
            .map(|(k, _)| k)
            .collect();
        sort_keys(&mut keys, fields.as_deref());
        for k in keys {
            let Some(Item::Value(v)) = t.get(k) else {
                continue;
            };
            let order = fields.as_ref().and_then(|fs| {
                fs.iter().find(|f| f.name == k).and_then(|f| match f.ty {
                    Ty::Rules(inner) => Some(inner),
                    _ => None,
                })
            });
            self.key_value(t.key(k), k, v, order, "");
        }
    }

    fn key_value(
        &mut self,
        key: Option<&toml_edit::Key>,
        name: &str,
        v: &Value,
        order: Option<&[Field]>,
        indent: &str,
    ) {
        if let Some(k) = key {
            let prefix = k
                .leaf_decor()
                .prefix()
                .and_then(|p| p.as_str())
                .unwrap_or("");
            self.comments(prefix, indent, false);
        }
        let head = format!("{indent}{} = ", key_text(key, name));
        let comment = trailing(v.decor().suffix().and_then(|s| s.as_str()));
        let value_lines = match v {
            Value::Array(a) => self.array(a, order, head.chars().count(), indent),
            other => vec![inline(other, order)],
        };
        let mut first = true;
        let n = value_lines.len();
        for (i, l) in value_lines.into_iter().enumerate() {
            let mut line = if first { format!("{head}{l}") } else { l };
            first = false;
            if i + 1 == n {
                if let Some(c) = &comment {
                    line = format!("{line}  {c}");
                }
            }
            self.lines.push(line);
        }
    }

    /// A list's lines: one, or one item a line (comments between items kept on their own lines).
    fn array(
        &mut self,
        a: &Array,
        order: Option<&[Field]>,
        head_width: usize,
        indent: &str,
    ) -> Vec<String> {
        let one = inline(&Value::Array(a.clone()), order);
        let tables = a.iter().filter(|v| v.is_inline_table()).count();
        let fits = head_width + one.chars().count() <= WIDTH;
        if !has_comments(a) && fits && tables <= 1 && a.iter().all(|v| !v.is_array()) {
            return vec![one];
        }
        let inner = format!("{indent}  ");
        // Inline tables, their columns aligned while the rows name the same keys in the same place.
        let rows: Vec<Vec<String>> = a
            .iter()
            .map(|v| match v {
                Value::InlineTable(t) => table_parts(t, order),
                other => vec![inline(other, order)],
            })
            .collect();
        let mut widths: Vec<usize> = vec![];
        for col in 0.. {
            let key = |r: &Vec<String>| {
                r.get(col)
                    .and_then(|p| p.split(" = ").next().map(str::to_string))
            };
            let Some(k0) = rows.first().and_then(key) else {
                break;
            };
            if rows.len() < 2
                || !rows
                    .iter()
                    .all(|r| r.len() > col + 1 && key(r).as_ref() == Some(&k0))
            {
                break;
            }
            widths.push(
                rows.iter()
                    .map(|r| r[col].chars().count())
                    .max()
                    .unwrap_or(0),
            );
        }
        let mut out = vec!["[".to_string()];
        for (i, (v, row)) in a.iter().zip(&rows).enumerate() {
            let prefix = v.decor().prefix().and_then(|p| p.as_str()).unwrap_or("");
            // A comment before the first newline of an item's prefix stood after the previous item.
            let (after_prev, before) = match prefix.split_once('\n') {
                Some((first, rest)) if first.trim().starts_with('#') => (Some(first.trim()), rest),
                _ => (None, prefix),
            };
            if let (Some(c), true) = (after_prev, i > 0) {
                if let Some(last) = out.last_mut() {
                    last.push_str(&format!("  {c}"));
                }
            }
            for c in comment_lines(before).into_iter().filter(|c| !c.is_empty()) {
                out.push(format!("{inner}{c}"));
            }
            let text = if v.is_inline_table() && !row.is_empty() {
                let mut s = String::from("{ ");
                for (j, part) in row.iter().enumerate() {
                    let last = j + 1 == row.len();
                    s.push_str(part);
                    if !last {
                        s.push(',');
                        let pad = widths.get(j).map(|w| w - part.chars().count()).unwrap_or(0);
                        s.push_str(&" ".repeat(pad + 1));
                    }
                }
                s.push_str(" }");
                s
            } else {
                inline(v, order)
            };
            let mut line = format!("{inner}{text},");
            if let Some(c) = trailing(v.decor().suffix().and_then(|s| s.as_str())) {
                line.push_str(&format!("  {c}"));
            }
            out.push(line);
        }
        let tail = a.trailing().as_str().unwrap_or("");
        let (after_last, rest) = match tail.split_once('\n') {
            Some((first, rest)) if first.trim().starts_with('#') => (Some(first.trim()), rest),
            _ => (None, tail),
        };
        if let Some(c) = after_last {
            if let Some(last) = out.last_mut() {
                last.push_str(&format!("  {c}"));
            }
        }
        for c in comment_lines(rest).into_iter().filter(|c| !c.is_empty()) {
            out.push(format!("{inner}{c}"));
        }
        out.push(format!("{indent}]"));
        out
    }

    /// The lines, trailing comments of consecutive lines aligned, ending in one newline.
    fn finish(mut self) -> String {
        align_comments(&mut self.lines);
        while self.lines.last().is_some_and(String::is_empty) {
            self.lines.pop();
        }
        let mut text = self.lines.join("\n");
        text.push('\n');
        text
    }
}

/// Where a line's trailing comment starts (a `#` outside strings), when it has code before it.
fn comment_at(line: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match quote {
            Some('"') if escaped => escaped = false,
            Some('"') if c == '\\' => escaped = true,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == '#' => {
                return line[..i]
                    .trim()
                    .is_empty()
                    .then_some(usize::MAX)
                    .or(Some(i));
            }
            None => {}
        }
    }
    None
}

/// Runs of consecutive lines that end in a comment get their comments in one column (two spaces
/// after the longest code).
fn align_comments(lines: &mut [String]) {
    let mut i = 0;
    while i < lines.len() {
        let mut j = i;
        while j < lines.len() && comment_at(&lines[j]).is_some_and(|c| c != usize::MAX) {
            j += 1;
        }
        if j > i {
            let code: Vec<(String, String)> = lines[i..j]
                .iter()
                .map(|l| {
                    let at = comment_at(l).expect("a comment");
                    (l[..at].trim_end().to_string(), l[at..].to_string())
                })
                .collect();
            let width = code
                .iter()
                .map(|(c, _)| c.chars().count())
                .max()
                .unwrap_or(0);
            for (k, (c, comment)) in code.into_iter().enumerate() {
                let pad = width - c.chars().count() + 2;
                lines[i + k] = format!("{c}{}{comment}", " ".repeat(pad));
            }
            i = j;
        } else {
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format;

    #[test]
    fn layout_cases() {
        let cases: &[(&str, &str)] = &[
            // keys in the schema's order, spacing, one blank line between tables
            (
                "[stack]\nregion=\"us-east-1\"\nname = \"x\"\n\n\n[vpc.main]\nipv6 = true\ncidr = \"10.0.0.0/16\"\n",
                "[stack]\nname = \"x\"\nregion = \"us-east-1\"\n\n[vpc.main]\ncidr = \"10.0.0.0/16\"\nipv6 = true\n",
            ),
            // a comment right under a table's last key stays with that table
            (
                "[stack]\nname = \"x\"\n# state = \"s3://b/k\"\n\n[vpc.a]\ncidr = \"10.0.0.0/16\"\n",
                "[stack]\nname = \"x\"\n# state = \"s3://b/k\"\n\n[vpc.a]\ncidr = \"10.0.0.0/16\"\n",
            ),
            // comments above tables and keys, and after values, kept and aligned
            (
                "# top\n\n[stack]\nname = \"x\" # the name\nregion = \"us-east-1\"   # where\n# about vpcs\n[vpc.a]\ncidr = \"10.0.0.0/16\"\n",
                "# top\n\n[stack]\nname = \"x\"            # the name\nregion = \"us-east-1\"  # where\n\n# about vpcs\n[vpc.a]\ncidr = \"10.0.0.0/16\"\n",
            ),
            // a list of inline tables: one a line, keys in the schema's order, columns aligned
            (
                "[route_table.p]\nvpc = \"vpc.a\"\nroutes = [{ target = \"internet_gateway.m\", destination = \"0.0.0.0/0\" }, { destination = \"::/0\", target = \"internet_gateway.m\" }]\n",
                "[route_table.p]\nvpc = \"vpc.a\"\nroutes = [\n  { destination = \"0.0.0.0/0\", target = \"internet_gateway.m\" },\n  { destination = \"::/0\",      target = \"internet_gateway.m\" },\n]\n",
            ),
            // one inline table that fits stays on its line; a short list of strings too
            (
                "[route_table.p]\nsubnets = [\n  \"subnet.a\",\n  \"subnet.b\"\n]\nroutes = [ {destination=\"0.0.0.0/0\",target=\"nat_gateway.a\"} ]\nvpc = \"vpc.a\"\n",
                "[route_table.p]\nvpc = \"vpc.a\"\nsubnets = [\"subnet.a\", \"subnet.b\"]\nroutes = [{ destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" }]\n",
            ),
            // comments inside a list keep their places
            (
                "[security_group.g]\nvpc = \"vpc.a\"\negress = [\n  # IPv4\n  { protocol = \"all\", cidr = \"0.0.0.0/0\" },  # all of it\n]\n",
                "[security_group.g]\nvpc = \"vpc.a\"\negress = [\n  # IPv4\n  { protocol = \"all\", cidr = \"0.0.0.0/0\" },  # all of it\n]\n",
            ),
            // unknown keys last, as written; `#` inside strings is not a comment
            (
                "[vpc.a]\nzzz = 1\ncidr = \"10.0.0.0/16\"\ntags = { note = \"#1\" }\n",
                "[vpc.a]\ncidr = \"10.0.0.0/16\"\ntags = { note = \"#1\" }\nzzz = 1\n",
            ),
        ];
        for (input, want) in cases {
            let got = format(input).unwrap();
            assert_eq!(&got, want, "input:\n{input}");
            assert_eq!(format(&got).unwrap(), got, "idempotent:\n{got}");
        }
        assert!(format("[stack\n").is_err());
    }
}
