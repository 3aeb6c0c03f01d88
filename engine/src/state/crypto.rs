//! State encryption at rest (`[stack] encryption`): the state file (local or `s3://`) holds an envelope
//! instead of the state — AES-256-GCM over the state's bytes with a fresh nonce per write, the
//! envelope's header as associated data.
//!
//! Keys:
//! - `env:NAME`: 256-bit keys in the environment variable NAME, base64, separated by commas. The first
//!   encrypts; every one decrypts — key rotation is: put the new key first and keep the old one after it
//!   until the next write has re-encrypted the state (`netplan rekey` writes at once), then drop it.
//!   Each key is named in the envelope by a fingerprint (not the key), so a wrong key is said plainly.
//! - `kms:KEY` (an alias, key id or ARN): envelope encryption with AWS KMS — a data key from
//!   GenerateDataKey per write, kept wrapped in the envelope and unwrapped by KMS Decrypt on read (KMS
//!   rotates its own key material). The AWS side lives with the AWS provider, behind `DataKeys`.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Key, Nonce};
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The marker an encrypted state file starts with (a plain state starts with `{"format_version"`).
pub const FORMAT: &str = "netplan-encrypted-state";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    format: String,
    version: u32,
    cipher: String,
    /// Where the key comes from, as the config says it (`env:NAME`, `kms:alias/…`).
    key: String,
    /// Which key: a fingerprint (env keys) or the KMS key's ARN.
    key_id: String,
    /// The data key, wrapped by KMS (KMS keys only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    wrapped_key: Option<String>,
    nonce: String,
    ciphertext: String,
}

/// A data key for one write: the key, the id it is named by, and (KMS) the key wrapped.
pub type DataKey = ([u8; 32], String, Option<Vec<u8>>);

/// A key to encrypt with and the ones to decrypt with: what `[stack] encryption` names.
pub trait Keys: Send + Sync {
    /// How the config names the key (`env:NETPLAN_STATE_KEY`).
    fn source(&self) -> String;
    /// A data key to encrypt one write with: the key, its id, and (KMS) the key wrapped.
    fn data_key(&self) -> Result<DataKey, String>;
    /// The data key for an envelope written with `key_id` (and `wrapped`).
    fn open_key(&self, key_id: &str, wrapped: Option<&[u8]>) -> Result<[u8; 32], String>;
}

/// Whether bytes read from a state file are an envelope.
pub fn is_sealed(bytes: &[u8]) -> bool {
    let head: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .take(64)
        .collect();
    String::from_utf8_lossy(&head).contains(FORMAT)
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn header(e: &Envelope) -> Vec<u8> {
    format!(
        "{}|{}|{}|{}|{}",
        e.format, e.version, e.cipher, e.key, e.key_id
    )
    .into_bytes()
}

/// Encrypts a state's bytes into an envelope.
pub fn seal(keys: &dyn Keys, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let (key, key_id, wrapped) = keys.data_key()?;
    let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
    let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
    let mut envelope = Envelope {
        format: FORMAT.into(),
        version: 1,
        cipher: "AES-256-GCM".into(),
        key: keys.source(),
        key_id,
        wrapped_key: wrapped.map(|w| b64().encode(w)),
        nonce: b64().encode(nonce),
        ciphertext: String::new(),
    };
    let sealed = cipher
        .encrypt(
            &nonce,
            Payload {
                msg: plaintext,
                aad: &header(&envelope),
            },
        )
        .map_err(|_| "encryption failed".to_string())?;
    envelope.ciphertext = b64().encode(sealed);
    let mut bytes = serde_json::to_vec_pretty(&envelope).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Decrypts an envelope (`keys`: what the config names; `None`: no encryption configured).
pub fn open(keys: Option<&dyn Keys>, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let e: Envelope = serde_json::from_slice(bytes)
        .map_err(|err| format!("an encrypted state that does not parse: {err}"))?;
    let Some(keys) = keys else {
        return Err(format!(
            "the state is encrypted (with {}, key {}) and the config sets no `encryption`: add encryption = \"{}\" to [stack]",
            e.key, e.key_id, e.key
        ));
    };
    let wrapped = match &e.wrapped_key {
        Some(w) => Some(
            b64()
                .decode(w)
                .map_err(|_| "the envelope's wrapped key is not base64".to_string())?,
        ),
        None => None,
    };
    let key = keys.open_key(&e.key_id, wrapped.as_deref())?;
    let nonce = b64()
        .decode(&e.nonce)
        .map_err(|_| "the envelope's nonce is not base64".to_string())?;
    let ciphertext = b64()
        .decode(&e.ciphertext)
        .map_err(|_| "the envelope's ciphertext is not base64".to_string())?;
    if nonce.len() != 12 {
        return Err("the envelope's nonce is not 96 bits".into());
    }
    Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key))
        .decrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &ciphertext,
                aad: &header(&e),
            },
        )
        .map_err(|_| {
            format!(
                "the state does not decrypt with key {} from {} (it was changed, or this is not its key)",
                e.key_id, e.key
            )
        })
}

/// A key's fingerprint: names it without revealing it.
pub fn fingerprint(key: &[u8; 32]) -> String {
    format!("sha256:{}", &hex::encode(Sha256::digest(key))[..16])
}

/// `env:NAME` keys.
pub struct EnvKeys {
    name: String,
    keys: Vec<[u8; 32]>,
}

impl EnvKeys {
    /// Reads the keys from the environment variable `name` (comma-separated, base64, 32 bytes each).
    pub fn from_env(name: &str) -> Result<EnvKeys, String> {
        let text = std::env::var(name).map_err(|_| {
            format!("the state's key is read from the environment variable {name}, which is not set (a key: 32 random bytes, base64 — e.g. `openssl rand -base64 32`)")
        })?;
        let mut keys = vec![];
        for (i, part) in text.split(',').map(str::trim).enumerate() {
            let bytes = b64()
                .decode(part)
                .map_err(|_| format!("{name}: key {} is not base64", i + 1))?;
            let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
                format!(
                    "{name}: key {} is {} bytes; AES-256 takes 32",
                    i + 1,
                    b.len()
                )
            })?;
            keys.push(key);
        }
        Ok(EnvKeys {
            name: name.into(),
            keys,
        })
    }
}

impl Keys for EnvKeys {
    fn source(&self) -> String {
        format!("env:{}", self.name)
    }

    fn data_key(&self) -> Result<DataKey, String> {
        let key = self.keys[0];
        Ok((key, fingerprint(&key), None))
    }

    fn open_key(&self, key_id: &str, _wrapped: Option<&[u8]>) -> Result<[u8; 32], String> {
        self.keys
            .iter()
            .find(|k| fingerprint(k) == key_id)
            .copied()
            .ok_or_else(|| {
                let have: Vec<String> = self.keys.iter().map(fingerprint).collect();
                format!(
                    "the state was encrypted with key {key_id}, and {} holds {} — put that key in it (after the new one, to rotate)",
                    self.name,
                    have.join(", ")
                )
            })
    }
}

/// The keys `[stack] encryption` names, for the engine's own kinds (`env:`); `kms:` is resolved by the
/// AWS provider, which passes its own `Keys`.
pub fn env_keys(spec: &str) -> Option<Result<Arc<dyn Keys>, String>> {
    let name = spec.strip_prefix("env:")?;
    Some(EnvKeys::from_env(name).map(|k| Arc::new(k) as Arc<dyn Keys>))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(list: &[[u8; 32]]) -> EnvKeys {
        EnvKeys {
            name: "K".into(),
            keys: list.to_vec(),
        }
    }

    #[test]
    fn sealed_states_open_with_their_key_and_no_other() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let sealed = seal(&keys(&[a]), b"{\"serial\": 7}").unwrap();
        assert!(is_sealed(&sealed));
        assert!(!String::from_utf8_lossy(&sealed).contains("serial"));
        assert_eq!(
            open(Some(&keys(&[a])), &sealed).unwrap(),
            b"{\"serial\": 7}"
        );
        let e = open(Some(&keys(&[b])), &sealed).unwrap_err();
        assert!(e.contains(&fingerprint(&a)), "{e}");
        let e = open(None, &sealed).unwrap_err();
        assert!(e.contains("add encryption = \"env:K\""), "{e}");
        // Rotation: the new key first, the old one after it, opens the old envelope; a new write
        // uses the new key.
        let rotating = keys(&[b, a]);
        assert!(open(Some(&rotating), &sealed).is_ok());
        let resealed = seal(&rotating, b"{}").unwrap();
        assert!(open(Some(&keys(&[b])), &resealed).is_ok());
    }

    #[test]
    fn a_tampered_envelope_does_not_open() {
        let a = [3u8; 32];
        let sealed = seal(&keys(&[a]), b"state").unwrap();
        let mut e: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        e["key"] = "env:OTHER".into();
        let e = open(Some(&keys(&[a])), &serde_json::to_vec(&e).unwrap()).unwrap_err();
        assert!(e.contains("does not decrypt"), "{e}");
    }
}
