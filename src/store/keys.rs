//! `hq/registry/keys.json`, read with the one keys.json parser
//! (`domain::hq::parse_keys_lenient`): signers, their rotated keys with validity
//! windows (`domain::keyring`), and the checkpoint origin. An entry that is broken
//! (bad key, bad date) is left out and named in [`Keyring::problems`] with its file
//! and line; the rest of the file still counts.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone};
use ed25519_dalek::VerifyingKey;

use crate::domain::keyring::{KeyEntry, KeyWindow, SigCheck, check_signature};

#[derive(Debug, Clone)]
pub struct Signer {
    pub id: String,
    pub role: String,
    pub key: Option<VerifyingKey>,
    pub window: KeyWindow,
    /// 1-based line of the entry in keys.json.
    pub line: usize,
}

#[derive(Debug, Clone, Default)]
pub struct Keyring {
    pub signers: Vec<Signer>,
    /// The same entries as the keyring rules see them.
    pub entries: Vec<KeyEntry>,
    /// `origin` at the top of keys.json, if set.
    pub origin: Option<String>,
    /// One `file:line:col: why` per entry that was left out.
    pub problems: Vec<String>,
}

pub fn keys_path(hq_root: &Path) -> PathBuf {
    hq_root.join("hq").join("registry").join("keys.json")
}

impl Keyring {
    /// Load keys.json. A missing file is an empty keyring; a file that does not parse
    /// is an error naming the file, line and column; a broken entry is left out and
    /// listed in `problems`.
    pub fn load(hq_root: &Path) -> anyhow::Result<Keyring> {
        let path = keys_path(hq_root);
        let bytes = match crate::store::fsutil::read_regular(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Keyring::default()),
            Err(e) => anyhow::bail!("{}: {e}", path.display()),
        };
        Self::parse(&path, &bytes)
    }

    /// Parse keys.json bytes read from `path` (named in errors).
    pub fn parse(path: &Path, bytes: &[u8]) -> anyhow::Result<Keyring> {
        let (keys, good, errors) = crate::domain::hq::parse_keys_lenient(path, bytes)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Keyring {
            signers: good
                .iter()
                .map(|g| Signer {
                    id: g.entry.id.clone(),
                    role: g.entry.role.clone(),
                    key: Some(g.entry.key),
                    window: g.entry.window,
                    line: g.line,
                })
                .collect(),
            entries: good.into_iter().map(|g| g.entry).collect(),
            origin: keys.origin,
            problems: errors.iter().map(ToString::to_string).collect(),
        })
    }

    /// The first entry with this id.
    pub fn by_id(&self, id: &str) -> Option<&Signer> {
        self.signers.iter().find(|s| s.id == id)
    }

    /// The first entry whose public key this is.
    pub fn by_key(&self, key: &VerifyingKey) -> Option<&Signer> {
        self.signers.iter().find(|s| s.key.as_ref() == Some(key))
    }

    /// Check a signature by signer `id` made at `ts`: some key of that id, valid at
    /// `ts` and not revoked at or before it, must verify it.
    pub fn check<'a, Tz: TimeZone>(
        &'a self,
        id: &str,
        ts: &DateTime<Tz>,
        verify: impl Fn(&VerifyingKey) -> bool,
    ) -> SigCheck<'a> {
        check_signature(&self.entries, id, ts, verify)
    }

    /// The checkpoint origin: keys.json `origin`, else `lumen.local/<HQ directory
    /// name>` (of the canonical path; `hq` when it has no name).
    pub fn origin_for(&self, hq_root: &Path) -> String {
        if let Some(o) = &self.origin {
            return o.clone();
        }
        let canon = std::fs::canonicalize(hq_root).unwrap_or_else(|_| hq_root.to_path_buf());
        let name = canon
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| "hq".into());
        // A note's origin line may not hold control characters or newlines.
        let name: String = name
            .chars()
            .map(|c| if c.is_control() { '_' } else { c })
            .collect();
        format!("lumen.local/{name}")
    }
}

/// Why a signature check failed, in words.
pub fn sig_check_reason(check: &SigCheck<'_>, who: &str) -> Option<String> {
    let who = crate::domain::sanitize::sanitize(who);
    match check {
        SigCheck::Good(_) => None,
        SigCheck::OutsideWindow { state, .. } => Some(format!(
            "signed by a key of {who:?} that was not valid at the entry's timestamp ({state})"
        )),
        SigCheck::BadSignature => Some("signature does not verify".into()),
        SigCheck::UnknownSigner => Some(format!("signer {who:?} is not in keys.json")),
    }
}

/// A signed write refused before anything was written (exit 1): the key is no longer
/// usable (expired, revoked, removed from keys.json) or its role lacks W on the
/// ledger. The refusal is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused: {0}")]
pub struct SignRefused(pub String);

/// The check every signed write makes first (ledger entries and checkpoints): the
/// signing key must be listed in keys.json under `signer_id` and usable now (inside its
/// window, never revoked), and that entry's role must have W on the ledger in
/// `hq/registry/policy.json` (default roles when it is missing; a broken policy grants
/// nothing). `what` names the write in the refusal.
pub fn authorize_signed_write(
    hq_root: &Path,
    key: &VerifyingKey,
    signer_id: &str,
    what: &str,
) -> Result<String, SignRefused> {
    let refuse = |reason: String| {
        tracing::warn!(signer = %signer_id, "signed write refused: {reason}");
        SignRefused(reason)
    };
    let ring = Keyring::load(hq_root).map_err(|e| refuse(format!("{e:#}")))?;
    let entry = crate::domain::keyring::signing_entry(&ring.entries, key, &chrono::Utc::now())
        .map_err(|e| refuse(format!("{what}: {e}")))?;
    if entry.id != signer_id {
        return Err(refuse(format!(
            "{what}: the key is listed for signer {:?}, not {:?}",
            crate::domain::sanitize::sanitize(&entry.id),
            crate::domain::sanitize::sanitize(signer_id)
        )));
    }
    let path = hq_root.join(crate::domain::hq::paths::POLICY);
    let policy = match crate::store::fsutil::read_regular(&path) {
        Ok(bytes) => crate::domain::hq::parse_policy(&path, &bytes).map_err(|e| {
            refuse(format!(
                "{what}: the policy is broken, so it grants nothing: {e}"
            ))
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            crate::domain::policy::Policy::default()
        }
        Err(e) => return Err(refuse(format!("{what}: {}: {e}", path.display()))),
    };
    let role = entry.role.clone();
    let access = policy.rights(&role).map(|r| r.ledger);
    match access {
        Some(a) if a.can_write() => Ok(role),
        Some(a) => Err(refuse(format!(
            "{what} needs W on ledger; role `{}` has `{}`",
            crate::domain::sanitize::sanitize(&role),
            a.as_str()
        ))),
        None => Err(refuse(format!(
            "{what} needs W on ledger; role `{}` is not in the RWD matrix",
            crate::domain::sanitize::sanitize(&role)
        ))),
    }
}
