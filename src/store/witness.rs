//! The local witness (docs/ledger.md "Trust model"): every verifier on this machine
//! remembers the newest checkpoint it verified, per checkpoint origin and HQ root
//! (canonical path), in one small JSON file in the user's data directory. A later run
//! must find the same root at that size in the ledger; if not, history was cut or
//! rewritten (even re-signed under a key added to keys.json since).
//!
//! The file: `{"origin":…,"hq_root":…,"size":N,"root":"<hex>","seen":"<RFC 3339>"}`.
//! It only moves forward: a checkpoint smaller than the remembered one is never
//! written over it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::store::lock::{lock_exclusive, write_atomic};

/// Largest witness file read (it is a few hundred bytes).
const MAX_WITNESS_BYTES: u64 = 64 << 10;

/// What the witness remembers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remembered {
    pub origin: String,
    pub hq_root: String,
    pub size: u64,
    /// Lowercase hex of the root hash at `size`.
    pub root: String,
    /// When this machine verified it (RFC 3339, UTC).
    pub seen: String,
}

/// The witness file for `origin` and the HQ root `hq_root` under `dir` (the data
/// directory's `witness/`): one file per (origin, canonical root).
pub fn witness_file(dir: &Path, origin: &str, hq_root: &Path) -> PathBuf {
    let canon = canonical(hq_root);
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update(b"\n");
    h.update(canon.as_bytes());
    let d = h.finalize();
    dir.join(format!(
        "{}.json",
        hex::encode(d.get(..16).unwrap_or_default())
    ))
}

/// The canonical path of the HQ root as text (the path itself if it cannot be
/// resolved).
pub fn canonical(hq_root: &Path) -> String {
    std::fs::canonicalize(hq_root)
        .unwrap_or_else(|_| hq_root.to_path_buf())
        .display()
        .to_string()
}

/// Read the witness file: `None` when there is none yet. A file that is present but
/// unreadable or broken is an error (never silently "nothing remembered").
pub fn load(path: &Path) -> anyhow::Result<Option<Remembered>> {
    let bytes = match crate::store::fsutil::read_regular(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!("local witness {}: {e}", path.display()),
    };
    if bytes.len() as u64 > MAX_WITNESS_BYTES {
        anyhow::bail!(
            "local witness {}: {} bytes, more than a witness file holds",
            path.display(),
            bytes.len()
        );
    }
    let w: Remembered = serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!(
            "local witness {}:{}:{}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })?;
    if w.root.len() != 64 || hex::decode(&w.root).is_err() {
        anyhow::bail!(
            "local witness {}: root is not 64 hex digits",
            path.display()
        );
    }
    Ok(Some(w))
}

/// Remember `new` unless the file already holds a larger size (re-read under the lock
/// beside the file, so two verifiers never move it backwards). Returns whether it was
/// written.
pub fn remember(path: &Path, new: &Remembered) -> anyhow::Result<bool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    let _lock = lock_exclusive(path)?;
    if let Some(old) = load(path)?
        && (old.size > new.size || (old.size == new.size && old.root == new.root))
    {
        return Ok(false);
    }
    let mut bytes = serde_json::to_vec_pretty(new)?;
    bytes.push(b'\n');
    write_atomic(path, &bytes)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(size: u64, root: char) -> Remembered {
        Remembered {
            origin: "o".into(),
            hq_root: "/r".into(),
            size,
            root: root.to_string().repeat(64),
            seen: "2026-12-07T00:00:00Z".into(),
        }
    }

    #[test]
    fn only_moves_forward_and_broken_files_are_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let p = witness_file(dir.path(), "o", dir.path());
        assert_eq!(load(&p).ok(), Some(None));
        assert!(remember(&p, &w(5, 'a')).unwrap_or(false));
        assert!(!remember(&p, &w(3, 'b')).unwrap_or(true), "never backwards");
        assert_eq!(load(&p).ok().flatten().map(|r| r.size), Some(5));
        assert!(remember(&p, &w(9, 'c')).unwrap_or(false));
        std::fs::write(&p, b"{not json").unwrap_or_else(|e| panic!("{e}"));
        let e = load(&p).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("local witness") && e.contains(":1:"), "{e}");
    }
}
