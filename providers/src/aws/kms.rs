//! `[stack] encryption = "kms:KEY"`: the state's data keys from AWS KMS. Each write asks KMS for a fresh
//! 256-bit data key (GenerateDataKey) and keeps it wrapped in the envelope; a read has KMS unwrap it
//! (Decrypt). `Keys` is synchronous (the state store is), so the KMS calls run on a thread of their own.

use super::AwsOptions;
use aws_sdk_kms::primitives::Blob;
use netplan_engine::state::crypto::{DataKey, Keys};

pub struct KmsKeys {
    key: String,
    client: aws_sdk_kms::Client,
}

impl KmsKeys {
    pub fn new(key: &str, opts: AwsOptions) -> Result<KmsKeys, String> {
        let config = std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(super::sdk_config(&opts, true)))
            })
            .join()
        })
        .map_err(|_| "the KMS client could not start".to_string())?
        .map_err(|e| e.to_string())?;
        Ok(KmsKeys {
            key: key.to_string(),
            client: aws_sdk_kms::Client::new(&config),
        })
    }

    /// Runs a KMS call to completion on a thread of its own.
    fn block<T: Send, F: std::future::Future<Output = T> + Send>(&self, f: F) -> Result<T, String> {
        std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map(|rt| rt.block_on(f))
            })
            .join()
        })
        .map_err(|_| "the KMS call failed".to_string())?
        .map_err(|e| e.to_string())
    }
}

fn key32(bytes: &[u8]) -> Result<[u8; 32], String> {
    bytes.try_into().map_err(|_| {
        format!(
            "KMS returned a {}-byte data key; AES-256 takes 32",
            bytes.len()
        )
    })
}

impl Keys for KmsKeys {
    fn source(&self) -> String {
        format!("kms:{}", self.key)
    }

    fn data_key(&self) -> Result<DataKey, String> {
        let out = self
            .block(
                self.client
                    .generate_data_key()
                    .key_id(&self.key)
                    .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                    .send(),
            )?
            .map_err(|e| {
                format!(
                    "KMS GenerateDataKey with {}: {}",
                    self.key,
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                )
            })?;
        let plain = out
            .plaintext()
            .ok_or("KMS returned no data key")?
            .as_ref()
            .to_vec();
        let wrapped = out
            .ciphertext_blob()
            .ok_or("KMS returned no wrapped key")?
            .as_ref()
            .to_vec();
        Ok((
            key32(&plain)?,
            out.key_id().unwrap_or(&self.key).to_string(),
            Some(wrapped),
        ))
    }

    fn open_key(&self, key_id: &str, wrapped: Option<&[u8]>) -> Result<[u8; 32], String> {
        let wrapped = wrapped.ok_or("the envelope holds no wrapped data key")?;
        let out = self
            .block(
                self.client
                    .decrypt()
                    .ciphertext_blob(Blob::new(wrapped.to_vec()))
                    .key_id(key_id)
                    .send(),
            )?
            .map_err(|e| {
                format!(
                    "KMS could not unwrap the state's data key (key {key_id}): {}",
                    aws_sdk_kms::error::DisplayErrorContext(&e)
                )
            })?;
        key32(out.plaintext().ok_or("KMS returned no data key")?.as_ref())
    }
}
