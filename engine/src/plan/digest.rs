//! The config digest a saved plan records: everything the config asks for, each function's code hash
//! included, so `apply PLANFILE` refuses a plan whose config moved.

use crate::config::Config;
use crate::value::attrs_to_json;
use sha2::{Digest, Sha256};

/// A digest of everything the config asks for (including each function's code hash).
pub fn config_digest(config: &Config) -> String {
    let mut h = Sha256::new();
    h.update(config.stack.name.as_bytes());
    h.update(config.region.clone().unwrap_or_default().as_bytes());
    for r in config.resources.values() {
        let j = serde_json::json!({
            "address": r.addr,
            "attrs": attrs_to_json(&r.attrs),
            "depends_on": r.depends_on,
            "existing": r.existing,
        });
        h.update(j.to_string().as_bytes());
    }
    hex::encode(h.finalize())
}
