//! The config's JSON Schema (draft-07), generated from the schema table: what an editor needs to
//! complete keys, show their docs and flag unknown keys, wrong types and bad enum values — for every
//! kind, high and low level. `netplan schema` prints it; `docs/netplan.schema.json` is a copy checked
//! against the binary by the tests. Taplo-based editors (VS Code's Even Better TOML, Zed, Helix) follow
//! a config's `#:schema` line to it.
//!
//! What a schema cannot say — a reference to a table that is not declared, overlapping CIDRs, whether
//! a function reaches the internet — is `netplan validate`'s.

use super::{Field, KindSchema, Ty, COMMON, SCHEMAS, STACK, STACK_ABOUT};
use crate::addr::{valid_name, Kind};
use serde_json::{json, Map, Value};

/// The file `netplan init` writes the schema to, beside the config, and names in its `#:schema` line
/// (a local file: editors need no network, and `netplan schema` writes it anew after an upgrade).
pub const FILE: &str = "netplan.schema.json";

/// A table name: a letter, then letters, digits, `_` and `-`, up to 64 (`addr::valid_name`).
const NAME: &str = "^[A-Za-z][A-Za-z0-9_-]{0,63}$";

fn reference(kinds: &[Kind]) -> Value {
    let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
    json!({
        "type": "string",
        "pattern": format!("^({})\\.[A-Za-z][A-Za-z0-9_-]{{0,63}}$", names.join("|")),
        "description": format!("a reference \"KIND.NAME\" to a {}", names.join(", ")),
    })
}

/// An IPv4 or IPv6 block (`10.0.0.0/16`, `::/0`); host bits and ranges are validate's.
fn cidr() -> Value {
    json!({
        "type": "string",
        "pattern": "^([0-9]{1,3}(\\.[0-9]{1,3}){3}|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*)/[0-9]{1,3}$",
    })
}

fn of_type(ty: &Ty) -> Value {
    match ty {
        Ty::Str | Ty::Path => json!({ "type": "string" }),
        Ty::Bool => json!({ "type": "boolean" }),
        Ty::Int { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Ty::Amount => json!({ "type": "number", "minimum": 0 }),
        Ty::Cidr => cidr(),
        Ty::Enum(options) => json!({ "type": "string", "enum": options }),
        Ty::Ref(kinds) => reference(kinds),
        Ty::RefList(kinds) => json!({ "type": "array", "items": reference(kinds) }),
        Ty::RoleRef => json!({
            "type": "string",
            "anyOf": [
                reference(&[Kind::IamRole]),
                { "pattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", "description": "a role ARN" },
            ],
        }),
        Ty::StrList => json!({ "type": "array", "items": { "type": "string" } }),
        Ty::StrMap => json!({ "type": "object", "additionalProperties": { "type": "string" } }),
        Ty::Env => json!({
            "type": "object",
            "additionalProperties": {
                "anyOf": [
                    { "type": "string" },
                    {
                        "type": "object",
                        "description": "read from netplan's own environment; sensitive (never shown or stored in clear)",
                        "properties": { "from_env": { "type": "string" } },
                        "required": ["from_env"],
                        "additionalProperties": false,
                    },
                    {
                        "type": "object",
                        "description": "a value never shown or stored in clear",
                        "properties": { "value": { "type": "string" }, "sensitive": { "type": "boolean" } },
                        "required": ["value", "sensitive"],
                        "additionalProperties": false,
                    },
                ],
            },
        }),
        Ty::Azs => json!({
            "anyOf": [
                { "type": "integer", "minimum": 1, "maximum": 8 },
                { "type": "array", "items": { "type": "string" }, "minItems": 1 },
            ],
        }),
        Ty::CountOrCidrs => json!({
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": 8 },
                { "type": "array", "items": cidr() },
            ],
        }),
        Ty::Rules(fields) => json!({ "type": "array", "items": table(fields, &[], None) }),
        Ty::BoolOr(words) => json!({
            "anyOf": [{ "type": "boolean" }, { "type": "string", "enum": words }],
        }),
        Ty::Sources(kinds) => json!({
            "type": "array",
            "items": { "anyOf": [cidr(), reference(kinds)] },
        }),
    }
}

fn field(f: &Field) -> Value {
    let mut v = of_type(&f.ty);
    let o = v.as_object_mut().expect("an object");
    let doc = match f.default {
        Some(d) => format!("{} (default: {d})", f.doc),
        None => f.doc.to_string(),
    };
    o.insert("description".into(), Value::String(doc));
    if let Some(d) = f.default.and_then(|d| d.parse::<toml_edit::Value>().ok()) {
        if let Some(d) = toml_to_json(&d) {
            o.insert("default".into(), d);
        }
    }
    v
}

fn toml_to_json(v: &toml_edit::Value) -> Option<Value> {
    Some(match v {
        toml_edit::Value::String(s) => json!(s.value()),
        toml_edit::Value::Integer(i) => json!(i.value()),
        toml_edit::Value::Float(f) => json!(f.value()),
        toml_edit::Value::Boolean(b) => json!(b.value()),
        _ => return None,
    })
}

/// An object of `fields` (and the `common` keys), nothing else; `required` unless `existing` is set
/// (an existing object takes no other keys).
fn table(fields: &[Field], common: &[Field], about: Option<&str>) -> Value {
    let mut props = Map::new();
    for f in fields.iter().chain(common) {
        props.insert(f.name.into(), field(f));
    }
    let required: Vec<&str> = fields
        .iter()
        .filter(|f| f.required)
        .map(|f| f.name)
        .collect();
    let mut o = Map::new();
    o.insert("type".into(), json!("object"));
    if let Some(a) = about {
        o.insert("description".into(), json!(a));
    }
    o.insert("properties".into(), Value::Object(props));
    o.insert("additionalProperties".into(), json!(false));
    if !required.is_empty() {
        if common.iter().any(|c| c.name == "existing") {
            o.insert(
                "anyOf".into(),
                json!([{ "required": required }, { "required": ["existing"] }]),
            );
        } else {
            o.insert("required".into(), json!(required));
        }
    }
    Value::Object(o)
}

fn kind(s: &KindSchema) -> Value {
    let mut t = table(s.fields, COMMON, Some(s.about));
    if let Some(o) = t.as_object_mut() {
        o.insert("examples".into(), json!([s.example]));
    }
    t
}

/// The JSON Schema of a netplan config.
pub fn schema() -> Value {
    debug_assert!(valid_name("a") && !valid_name("1a"));
    let mut props = Map::new();
    let mut stack = table(STACK, &[], Some(STACK_ABOUT));
    // What the parser checks of [stack]'s strings (parse.rs), where a pattern can say it.
    stack["properties"]["name"]["pattern"] = json!("^[A-Za-z][A-Za-z0-9-]{0,39}$");
    stack["properties"]["region"]["pattern"] = json!("^[a-z0-9]+(-[a-z0-9]+){2,}$");
    props.insert("stack".into(), stack);
    let mut defs = Map::new();
    for s in SCHEMAS {
        let name = s.kind.as_str();
        defs.insert(name.into(), kind(s));
        props.insert(
            name.into(),
            json!({
                "type": "object",
                "description": format!("[{name}.NAME] tables: {}", s.about),
                "propertyNames": { "pattern": NAME },
                "additionalProperties": { "$ref": format!("#/definitions/{name}") },
            }),
        );
    }
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "netplan.toml",
        "description": "A netplan config: the AWS network a VPC-attached Lambda function needs to reach the internet, and the function (docs/config.md).",
        "type": "object",
        "properties": Value::Object(props),
        "required": ["stack"],
        "additionalProperties": false,
        "definitions": Value::Object(defs),
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_kind_and_key_is_in_the_schema() {
        let s = super::schema();
        for k in crate::addr::Kind::ALL {
            let def = &s["definitions"][k.as_str()];
            for f in super::super::schema(k).fields {
                assert!(def["properties"][f.name].is_object(), "{k}.{}", f.name);
            }
            assert!(def["properties"]["existing"].is_object());
        }
        assert_eq!(s["properties"]["stack"]["required"][0], "name");
        assert_eq!(
            s["definitions"]["network"]["properties"]["nat_type"]["default"],
            "gateway"
        );
    }
}
