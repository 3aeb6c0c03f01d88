//! Attribute values: what a config asks for, with references to other resources still unresolved and
//! values that only exist after apply marked as such.

use crate::addr::ResourceAddr;

/// How the state writes a sensitive value it keeps only as a digest (`crate::secrets` makes them):
/// read back, such a string is a `Value::Redacted`.
pub const DIGEST_PREFIX: &str = "sensitive:sha256:";

/// A string the state holds in place of a sensitive value.
pub fn is_digest(s: &str) -> bool {
    s.starts_with(DIGEST_PREFIX)
}
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One attribute value. `Ref` is a config-time reference (`"vpc.main"` → that VPC's id); `Unknown` is a
/// value that exists only once apply has run ("known after apply").
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Ref(Reference),
    Unknown,
    /// A sensitive value in clear (`{ from_env = "…" }` or `{ value = "…", sensitive = true }`): sent to
    /// the cloud, never shown, serialized or stored (see `crate::secrets`).
    Secret(Secret),
    /// A sensitive value as the state keeps it: a salted digest, enough to see that it changed.
    Redacted(String),
}

/// A sensitive value in clear. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// A reference to an attribute of another resource: `vpc.main` + `id`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub addr: ResourceAddr,
    pub attr: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.addr, self.attr)
    }
}

pub type Attrs = BTreeMap<String, Value>;
/// Concrete attributes as the state file and providers hold them.
pub type JsonAttrs = serde_json::Map<String, serde_json::Value>;

impl Value {
    pub fn str(s: impl Into<String>) -> Value {
        Value::Str(s.into())
    }

    pub fn reference(addr: ResourceAddr, attr: &str) -> Value {
        Value::Ref(Reference {
            addr,
            attr: attr.to_string(),
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_list(&self) -> &[Value] {
        match self {
            Value::List(l) => l,
            _ => &[],
        }
    }

    pub fn as_ref(&self) -> Option<&Reference> {
        match self {
            Value::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// Every reference inside this value, depth first.
    pub fn references(&self, out: &mut Vec<Reference>) {
        match self {
            Value::Ref(r) => out.push(r.clone()),
            Value::List(l) => l.iter().for_each(|v| v.references(out)),
            Value::Map(m) => m.values().for_each(|v| v.references(out)),
            _ => {}
        }
    }

    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown | Value::Ref(_) => false,
            Value::List(l) => l.iter().all(Value::is_known),
            Value::Map(m) => m.values().all(Value::is_known),
            _ => true,
        }
    }

    /// Replace each reference by what `resolve` says (a concrete value or `Unknown`).
    pub fn resolve(&self, resolve: &mut dyn FnMut(&Reference) -> Value) -> Value {
        match self {
            Value::Ref(r) => resolve(r),
            Value::List(l) => Value::List(l.iter().map(|v| v.resolve(resolve)).collect()),
            Value::Map(m) => Value::Map(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.resolve(resolve)))
                    .collect(),
            ),
            v => v.clone(),
        }
    }

    /// The concrete JSON form. References and unknowns use the `$ref` / `$unknown` markers that the
    /// saved-plan format documents.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Str(s) => J::String(s.clone()),
            Value::List(l) => J::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), v.to_json())).collect()),
            Value::Ref(r) => serde_json::json!({ "$ref": r.to_string() }),
            Value::Unknown => serde_json::json!({ "$unknown": true }),
            // The clear value: this is what the cloud is sent (state and output go through
            // `crate::secrets` and `Serialize`, which never show it).
            Value::Secret(s) => J::String(s.0.clone()),
            Value::Redacted(d) => J::String(d.clone()),
        }
    }

    /// The JSON form for what is shown or saved (plans, `--json`): sensitive values as `(sensitive)`.
    pub fn to_shown_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Secret(_) => J::String("(sensitive)".into()),
            Value::List(l) => J::Array(l.iter().map(Value::to_shown_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), v.to_shown_json()))
                    .collect(),
            ),
            v => v.to_json(),
        }
    }

    pub fn from_json(j: &serde_json::Value) -> Value {
        use serde_json::Value as J;
        match j {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool(*b),
            J::Number(n) => n
                .as_i64()
                .map(Value::Int)
                .unwrap_or_else(|| Value::Str(n.to_string())),
            J::String(s) if is_digest(s) => Value::Redacted(s.clone()),
            J::String(s) => Value::Str(s.clone()),
            J::Array(a) => Value::List(a.iter().map(Value::from_json).collect()),
            J::Object(o) => {
                if o.len() == 1 {
                    if let Some(J::String(r)) = o.get("$ref") {
                        if let Some((addr, attr)) = r.rsplit_once('.') {
                            if let Ok(addr) = addr.parse() {
                                return Value::Ref(Reference {
                                    addr,
                                    attr: attr.to_string(),
                                });
                            }
                        }
                    }
                    if o.get("$unknown") == Some(&J::Bool(true)) {
                        return Value::Unknown;
                    }
                }
                Value::Map(
                    o.iter()
                        .map(|(k, v)| (k.clone(), Value::from_json(v)))
                        .collect(),
                )
            }
        }
    }
}

impl fmt::Display for Value {
    /// The plan's rendering: TOML-like literals, `(known after apply)` for unknowns.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) if m.is_empty() => f.write_str("{}"),
            Value::Map(m) => {
                f.write_str("{ ")?;
                for (i, (k, v)) in m.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{} = {v}", crate::diag::shown(k))?;
                }
                f.write_str(" }")
            }
            Value::Ref(r) => write!(f, "{r}"),
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Secret(_) | Value::Redacted(_) => f.write_str("(sensitive value)"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_shown_json().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Value::from_json(&serde_json::Value::deserialize(d)?))
    }
}

pub fn attrs_to_json(attrs: &Attrs) -> JsonAttrs {
    attrs
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect()
}

pub fn attrs_from_json(j: &JsonAttrs) -> Attrs {
    j.iter()
        .map(|(k, v)| (k.clone(), Value::from_json(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::addr::Kind;

    #[test]
    fn json_round_trip_keeps_refs_and_unknowns() {
        let v = Value::List(vec![
            Value::reference(ResourceAddr::new(Kind::Vpc, "main"), "id"),
            Value::Unknown,
            Value::Map([("a".to_string(), Value::Int(3))].into()),
        ]);
        assert_eq!(Value::from_json(&v.to_json()), v);
        assert!(!v.is_known());
    }
}
