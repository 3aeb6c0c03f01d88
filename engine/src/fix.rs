//! Fixes as data: what a diagnostic proposes, written as edits to the config in its own vocabulary
//! (`in [network.main]: nat_gateways = "per_az"`), so the text a user reads and the edit a test (or a
//! tool) applies are one thing. `apply` carries a fix out on a config's text with toml_edit, keeping
//! everything else — comments, order, layout — as it was: a fix netplan prints is proven by applying
//! it and checking the result.

use serde::{Deserialize, Serialize};
use toml_edit::{DocumentMut, Item, Table, Value as TomlValue};

/// One change to a config file. Tables are named as the config names them: `stack`, `network.main`,
/// `route_table.private_a`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// `key = value` (a TOML value) in `[table]`, replacing what the key held.
    Set {
        table: String,
        key: String,
        value: String,
    },
    /// Items (TOML values) added to the list `key` of `[table]` (the list made when absent).
    Append {
        table: String,
        key: String,
        items: Vec<String>,
    },
    /// Items (TOML values) taken out of the list `key` of `[table]`.
    Remove {
        table: String,
        key: String,
        items: Vec<String>,
    },
    /// The entries of the list `key` of `[table]` whose `field` is `value` (a TOML value) taken out
    /// (a route to a destination, before one to another target is added).
    Drop {
        table: String,
        key: String,
        field: String,
        value: String,
    },
    /// The key `key` of `[table]` deleted.
    Unset { table: String, key: String },
    /// The key `from` of `[table]` renamed to `to` (its value kept).
    Rename {
        table: String,
        from: String,
        to: String,
    },
    /// Tables the config does not have yet, as TOML to paste (comments allowed).
    Add { toml: String },
}

/// What a diagnostic proposes: edits to the config, or — for an object the config does not manage —
/// something to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fix", rename_all = "snake_case")]
pub enum Fix {
    Edit { edits: Vec<Edit> },
    Run { command: String },
}

impl Fix {
    pub fn edit(edits: Vec<Edit>) -> Fix {
        Fix::Edit { edits }
    }

    pub fn set(table: impl ToString, key: &str, value: impl Into<String>) -> Fix {
        Fix::edit(vec![Edit::set(table, key, value)])
    }

    pub fn run(command: impl Into<String>) -> Fix {
        Fix::Run {
            command: command.into(),
        }
    }

    /// The tables this fix changes in place (not the ones it adds).
    pub fn tables(&self) -> Vec<&str> {
        match self {
            Fix::Run { .. } => vec![],
            Fix::Edit { edits } => edits.iter().filter_map(Edit::table).collect(),
        }
    }
}

impl Edit {
    pub fn set(table: impl ToString, key: &str, value: impl Into<String>) -> Edit {
        Edit::Set {
            table: table.to_string(),
            key: key.into(),
            value: value.into(),
        }
    }

    pub fn append(table: impl ToString, key: &str, items: Vec<String>) -> Edit {
        Edit::Append {
            table: table.to_string(),
            key: key.into(),
            items,
        }
    }

    /// The table the edit changes (none for `Add`).
    pub fn table(&self) -> Option<&str> {
        match self {
            Edit::Set { table, .. }
            | Edit::Append { table, .. }
            | Edit::Remove { table, .. }
            | Edit::Drop { table, .. }
            | Edit::Unset { table, .. }
            | Edit::Rename { table, .. } => Some(table),
            Edit::Add { .. } => None,
        }
    }

    /// The key the edit changes.
    pub fn key(&self) -> Option<&str> {
        match self {
            Edit::Set { key, .. }
            | Edit::Append { key, .. }
            | Edit::Remove { key, .. }
            | Edit::Drop { key, .. }
            | Edit::Unset { key, .. } => Some(key),
            Edit::Rename { from, .. } => Some(from),
            Edit::Add { .. } => None,
        }
    }
}

impl std::fmt::Display for Edit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Edit::Set { table, key, value } => write!(f, "in [{table}]: {key} = {value}"),
            Edit::Append { table, key, items } => {
                write!(f, "in [{table}]: add to {key}: {}", items.join(", "))
            }
            Edit::Remove { table, key, items } => {
                write!(f, "in [{table}]: take out of {key}: {}", items.join(", "))
            }
            Edit::Drop {
                table,
                key,
                field,
                value,
            } => write!(
                f,
                "in [{table}]: take out of {key} the one with {field} = {value}"
            ),
            Edit::Unset { table, key } => write!(f, "in [{table}]: remove {key}"),
            Edit::Rename { table, from, to } if table.is_empty() => {
                write!(f, "rename the tables [{from}.…] to [{to}.…]")
            }
            Edit::Rename { table, from, to } => write!(f, "in [{table}]: rename {from} to {to}"),
            Edit::Add { toml } => write!(f, "add:\n{}", toml.trim_end()),
        }
    }
}

impl std::fmt::Display for Fix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fix::Run { command } => write!(f, "run: {command}"),
            Fix::Edit { edits } => {
                // One line while every edit fits one; tables to add go on lines of their own.
                let inline = edits.iter().all(|e| !matches!(e, Edit::Add { .. }));
                for (i, e) in edits.iter().enumerate() {
                    if i > 0 {
                        if inline {
                            write!(f, "; ")?;
                        } else {
                            writeln!(f)?;
                        }
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

/// The fixes as a hint: the first, then each alternative after "or".
pub fn hint(fixes: &[Fix]) -> Option<String> {
    let mut out = String::new();
    for (i, fix) in fixes.iter().enumerate() {
        if i > 0 {
            out.push_str("\nor ");
        }
        out.push_str(&fix.to_string());
    }
    (!fixes.is_empty()).then_some(out)
}

/// Why a fix could not be applied to a config's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotApplied(pub String);

/// The config's text with `fix` carried out; comments and layout elsewhere kept.
pub fn apply(text: &str, fix: &Fix) -> Result<String, NotApplied> {
    let Fix::Edit { edits } = fix else {
        return Err(NotApplied(
            "a command is run, not applied to the config".into(),
        ));
    };
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| NotApplied(format!("the config is not TOML: {e}")))?;
    for e in edits {
        apply_edit(&mut doc, e)?;
    }
    Ok(doc.to_string())
}

fn value(text: &str) -> Result<TomlValue, NotApplied> {
    text.parse::<TomlValue>()
        .map_err(|e| NotApplied(format!("`{text}` is not a TOML value: {e}")))
}

/// A value as text without its layout: inline tables by key order, so `{ a = 1, b = 2 }` and
/// `{b=2,a=1}` are one value.
fn canonical(v: &TomlValue) -> String {
    match v {
        TomlValue::InlineTable(t) => {
            let mut parts: Vec<String> = t
                .iter()
                .map(|(k, v)| format!("{k}={}", canonical(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
        TomlValue::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => {
            let mut o = other.clone();
            o.decor_mut().clear();
            o.to_string()
        }
    }
}

/// The table `[a.b]` of the document (`stack`: `[stack]`).
fn table<'d>(doc: &'d mut DocumentMut, name: &str) -> Result<&'d mut Table, NotApplied> {
    let mut item: &mut Item = doc.as_item_mut();
    for part in name.split('.').filter(|p| !p.is_empty()) {
        item = item
            .get_mut(part)
            .ok_or_else(|| NotApplied(format!("the config has no [{name}]")))?;
    }
    item.as_table_mut()
        .ok_or_else(|| NotApplied(format!("[{name}] is not a table")))
}

fn apply_edit(doc: &mut DocumentMut, e: &Edit) -> Result<(), NotApplied> {
    match e {
        Edit::Set {
            table: t,
            key,
            value: v,
        } => {
            let t = table(doc, t)?;
            let new = value(v)?;
            match t.get_mut(key).and_then(Item::as_value_mut) {
                Some(old) => {
                    let decor = old.decor().clone();
                    *old = new;
                    *old.decor_mut() = decor;
                }
                None => {
                    t.insert(key, Item::Value(new));
                }
            }
        }
        Edit::Append {
            table: t,
            key,
            items,
        } => {
            let t = table(doc, t)?;
            if t.get(key).is_none() {
                t.insert(key, Item::Value(TomlValue::Array(Default::default())));
            }
            let list = t
                .get_mut(key)
                .and_then(Item::as_array_mut)
                .ok_or_else(|| NotApplied(format!("`{key}` is not a list")))?;
            // A list laid out one item a line keeps that layout.
            let multiline = list.iter().next().is_some_and(|v| {
                v.decor()
                    .prefix()
                    .and_then(|p| p.as_str())
                    .is_some_and(|p| p.contains('\n'))
            });
            for item in items {
                let mut v = value(item)?;
                if multiline {
                    v.decor_mut().set_prefix("\n  ");
                } else {
                    v.decor_mut().set_prefix(" ");
                }
                list.push_formatted(v);
            }
            if multiline {
                list.set_trailing("\n");
                list.set_trailing_comma(true);
            }
        }
        Edit::Remove {
            table: t,
            key,
            items,
        } => {
            let t = table(doc, t)?;
            let list = t
                .get_mut(key)
                .and_then(Item::as_array_mut)
                .ok_or_else(|| NotApplied(format!("`{key}` is not a list")))?;
            let gone: Vec<String> = items
                .iter()
                .map(|i| value(i).map(|v| canonical(&v)))
                .collect::<Result<_, _>>()?;
            list.retain(|v| !gone.contains(&canonical(v)));
        }
        Edit::Drop {
            table: t,
            key,
            field,
            value: v,
        } => {
            let want = canonical(&value(v)?);
            let t = table(doc, t)?;
            let list = t
                .get_mut(key)
                .and_then(Item::as_array_mut)
                .ok_or_else(|| NotApplied(format!("`{key}` is not a list")))?;
            list.retain(|entry| {
                entry
                    .as_inline_table()
                    .and_then(|e| e.get(field))
                    .is_none_or(|x| canonical(x) != want)
            });
        }
        Edit::Unset { table: t, key } => {
            table(doc, t)?.remove(key);
        }
        Edit::Rename { table: t, from, to } => {
            let t = table(doc, t)?;
            let item = t
                .remove(from)
                .ok_or_else(|| NotApplied(format!("no key `{from}`")))?;
            t.insert(to, item);
        }
        Edit::Add { toml } => {
            let added: DocumentMut = toml
                .parse()
                .map_err(|e| NotApplied(format!("the tables to add are not TOML: {e}")))?;
            for (k, item) in added.iter() {
                match (doc.get_mut(k), item) {
                    (Some(Item::Table(have)), Item::Table(new)) => {
                        for (name, t) in new.iter() {
                            if have.contains_key(name) {
                                return Err(NotApplied(format!(
                                    "[{k}.{name}] is declared already"
                                )));
                            }
                            have.insert(name, t.clone());
                        }
                    }
                    (None, _) => {
                        doc.insert(k, item.clone());
                    }
                    _ => return Err(NotApplied(format!("`{k}` is not a table of tables"))),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_keep_what_they_do_not_touch() {
        let text = "# top\n[network.main]\ncidr = \"10.0.0.0/16\"\nnat_gateways = \"none\"   # cheap\n\n[route_table.a]\nvpc = \"vpc.main\"\nroutes = [\n  { destination = \"::/0\", target = \"egress_only_internet_gateway.main\" },\n]\n";
        let cases: Vec<(Fix, &str)> = vec![
            (
                Fix::set("network.main", "nat_gateways", "\"per_az\""),
                "nat_gateways = \"per_az\"   # cheap",
            ),
            (
                Fix::edit(vec![Edit::append(
                    "route_table.a",
                    "routes",
                    vec!["{ destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" }".into()],
                )]),
                "  { destination = \"0.0.0.0/0\", target = \"nat_gateway.a\" },\n]",
            ),
            (
                Fix::edit(vec![Edit::Rename {
                    table: "network.main".into(),
                    from: "nat_gateways".into(),
                    to: "nat".into(),
                }]),
                "nat = \"none\"",
            ),
            (
                Fix::edit(vec![Edit::Add {
                    toml: "[nat_gateway.a]\nsubnet = \"subnet.public_a\"\n".into(),
                }]),
                "[nat_gateway.a]\nsubnet = \"subnet.public_a\"",
            ),
        ];
        for (fix, want) in cases {
            let out = apply(text, &fix).unwrap();
            assert!(out.contains(want), "{fix}:\n{out}");
            assert!(out.starts_with("# top\n[network.main]"), "{out}");
        }
        let dup = Fix::edit(vec![Edit::Add {
            toml: "[route_table.a]\nvpc = \"vpc.main\"\n".into(),
        }]);
        assert!(apply(text, &dup).is_err());
        assert_eq!(
            Fix::set("network.main", "nat_gateways", "\"single\"").to_string(),
            "in [network.main]: nat_gateways = \"single\""
        );
    }
}
