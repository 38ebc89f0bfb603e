//! `hq/registry/keys.json`, parsed minimally: `{"signers":[{"id","role","publicKey"}]}`.

use std::path::{Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use serde::Deserialize;

use crate::domain::signing::parse_public_key;

#[derive(Debug, Clone)]
pub struct Signer {
    pub id: String,
    pub role: String,
    pub key: Option<VerifyingKey>,
}

#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub signers: Vec<Signer>,
}

#[derive(Deserialize)]
struct RawFile {
    #[serde(default)]
    signers: Vec<RawSigner>,
}

#[derive(Deserialize)]
struct RawSigner {
    id: String,
    #[serde(default)]
    role: String,
    #[serde(rename = "publicKey")]
    public_key: String,
}

pub fn keys_path(hq_root: &Path) -> PathBuf {
    hq_root.join("hq").join("registry").join("keys.json")
}

impl Keyring {
    /// Load keys.json. A missing file is an empty keyring; a malformed one is an error
    /// naming the file, line and column.
    pub fn load(hq_root: &Path) -> anyhow::Result<Keyring> {
        let path = keys_path(hq_root);
        let bytes = match crate::store::fsutil::read_regular(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Keyring::default()),
            Err(e) => anyhow::bail!("{}: {e}", path.display()),
        };
        let raw: RawFile = serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))?;
        Ok(Keyring {
            signers: raw
                .signers
                .into_iter()
                .map(|s| Signer {
                    key: parse_public_key(&s.public_key),
                    id: s.id,
                    role: s.role,
                })
                .collect(),
        })
    }

    /// The signer with this id (first match).
    pub fn by_id(&self, id: &str) -> Option<&Signer> {
        self.signers.iter().find(|s| s.id == id)
    }

    /// The signer whose public key this is.
    pub fn by_key(&self, key: &VerifyingKey) -> Option<&Signer> {
        self.signers.iter().find(|s| s.key.as_ref() == Some(key))
    }
}
