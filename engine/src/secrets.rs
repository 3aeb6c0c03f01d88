//! Sensitive values: a function environment value from the process environment (`{ from_env = "NAME" }`)
//! or marked `{ value = "…", sensitive = true }`. In memory it is a `Value::Secret`, sent to the cloud in
//! clear and nowhere else: plans show `(sensitive value)`, JSON and plan files `(sensitive)`, the state
//! keeps a salted digest (`sensitive:sha256:…`, salted with the state's lineage and the value's path) —
//! enough to see that it changed, and to recognise it again, never to show it. Values the cloud returns
//! (Lambda answers a function's environment in clear) are digested the same way before they are kept.

pub use crate::value::is_digest;
use crate::value::{Attrs, JsonAttrs, Value, DIGEST_PREFIX as PREFIX};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// A path to a sensitive value: a top-level attribute holding a map, and the key in it
/// (`environment`, `DB_PASSWORD`).
pub type Path = (String, String);

/// The digest the state keeps for `clear` at `path`, salted with `salt` (the state's lineage).
pub fn digest(salt: &str, path: &Path, clear: &str) -> String {
    let mut h = Sha256::new();
    for part in [salt, &path.0, &path.1, clear] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    format!("{PREFIX}{}", hex::encode(h.finalize()))
}

/// Where a resource's config holds sensitive values.
pub fn paths(attrs: &Attrs) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    for (name, v) in attrs {
        if let Value::Map(m) = v {
            for (k, v) in m {
                if matches!(v, Value::Secret(_) | Value::Redacted(_)) {
                    out.insert((name.clone(), k.clone()));
                }
            }
        }
    }
    out
}

/// Where kept attributes hold digests.
pub fn digest_paths(attrs: &JsonAttrs) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    for (name, v) in attrs {
        if let Some(m) = v.as_object() {
            for (k, v) in m {
                if v.as_str().is_some_and(is_digest) {
                    out.insert((name.clone(), k.clone()));
                }
            }
        }
    }
    out
}

/// Replaces the clear values at `paths` by their digests: what may be kept or shown.
pub fn redact(attrs: &mut JsonAttrs, paths: &BTreeSet<Path>, salt: &str) {
    for path in paths {
        if let Some(v) = attrs
            .get_mut(&path.0)
            .and_then(|m| m.as_object_mut())
            .and_then(|m| m.get_mut(&path.1))
        {
            if let Some(clear) = v.as_str().filter(|s| !is_digest(s)) {
                *v = serde_json::Value::String(digest(salt, path, clear));
            }
        }
    }
}

/// A config value as the state would keep it: secrets as their digests (for comparing with the state).
pub fn kept_form(name: &str, v: &Value, salt: &str) -> Value {
    match v {
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| {
                    let kept = match v {
                        Value::Secret(s) => {
                            Value::Redacted(digest(salt, &(name.to_string(), k.clone()), &s.0))
                        }
                        other => other.clone(),
                    };
                    (k.clone(), kept)
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The clear values a config knows, by their digest: what lets a rollback restore a sensitive value
/// it only kept as a digest.
pub fn known(
    resources: impl IntoIterator<Item = (String, Attrs)>,
    salt: &str,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (_, attrs) in resources {
        for (name, v) in &attrs {
            if let Value::Map(m) = v {
                for (k, v) in m {
                    if let Value::Secret(s) = v {
                        out.insert(digest(salt, &(name.clone(), k.clone()), &s.0), s.0.clone());
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_depend_on_salt_path_and_value_and_hide_the_value() {
        let p = ("environment".to_string(), "KEY".to_string());
        let d = digest("lineage-1", &p, "hunter2");
        assert!(is_digest(&d) && !d.contains("hunter2"));
        assert_eq!(d, digest("lineage-1", &p, "hunter2"));
        assert_ne!(d, digest("lineage-2", &p, "hunter2"));
        assert_ne!(d, digest("lineage-1", &p, "hunter3"));
        let q = ("environment".to_string(), "OTHER".to_string());
        assert_ne!(d, digest("lineage-1", &q, "hunter2"));
    }

    #[test]
    fn redacting_keeps_digests_and_other_values() {
        let mut attrs: JsonAttrs = serde_json::from_str(
            r#"{"environment": {"KEY": "hunter2", "URL": "https://x"}, "memory": 128}"#,
        )
        .unwrap();
        let paths: BTreeSet<Path> = [("environment".into(), "KEY".into())].into();
        redact(&mut attrs, &paths, "s");
        let text = serde_json::to_string(&attrs).unwrap();
        assert!(
            !text.contains("hunter2") && text.contains("https://x"),
            "{text}"
        );
        let once = attrs.clone();
        redact(&mut attrs, &paths, "s");
        assert_eq!(attrs, once, "a digest is not digested again");
        assert_eq!(digest_paths(&attrs), paths);
    }
}
