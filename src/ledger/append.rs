//! The one signed append path (SPEC §4.2, §9 "Appending"). Interface stub: the
//! ledger issue's implementation replaces the bodies, not the signatures.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// An operator identity: a private key whose public key is listed in keys.json.
pub struct Identity {
    pub signer_id: String,
    pub role: String,
    pub key_path: PathBuf,
    pub key: ed25519_dalek::SigningKey,
}

/// Why an identity could not be had; all of these are refusals (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("key file {0} is readable by group or others (chmod 600 it)")]
    LoosePermissions(PathBuf),
    #[error("key file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the public key of {0} is not in hq/registry/keys.json")]
    UnknownKey(PathBuf),
}

/// Load `key_path` and find its signer in `<hq_root>/hq/registry/keys.json`.
pub fn identity(hq_root: &Path, key_path: &Path) -> Result<Identity, IdentityError> {
    let _ = hq_root;
    Err(IdentityError::Unreadable {
        path: key_path.to_path_buf(),
        reason: "not built yet".into(),
    })
}

/// What was appended.
#[derive(Debug, Clone)]
pub struct Appended {
    pub id: String,
    /// 1-based line number of the new line.
    pub line_no: u64,
    /// The exact line written, without `\n`.
    pub line: String,
}

/// Append one chained, signed entry to the ledger at `ledger_path`. `fields` holds
/// everything but `id` (generated when absent), `prev`, `signer` and `sig`; `timestamp`
/// is set to now (UTC) when absent.
pub fn append_signed(
    ledger_path: &Path,
    who: &Identity,
    fields: Map<String, Value>,
) -> anyhow::Result<Appended> {
    let _ = (ledger_path, who, fields);
    anyhow::bail!("the signed append path is not built yet")
}
