//! What `lumen watch` has already sent, kept on disk so a restart sends nothing twice.
//!
//! The file (default `hq/notifications/sent-log.json`, docs/alerts.md) holds the
//! [`SentLog`] (per alert and channel, when its firing message went out) and the
//! ledger reject count already known. Every use is a read-modify-write under the
//! exclusive lock beside it ([`crate::store::lock`]): lock, [`load`], route and send,
//! record the successes, [`save`] (atomic rename), unlock. Two `watch` processes
//! pointed at the same HQ by mistake therefore never send the same message twice.
//!
//! A file present but unreadable or broken is an error naming file, line and column
//! (the caller sends nothing until it is fixed): guessing would mean sending twice or
//! never.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::alerts::SentLog;
use crate::domain::hq::FileError;

/// Where the sent log lives under an HQ root by default.
pub const DEFAULT_PATH: &str = "hq/notifications/sent-log.json";
/// Largest sent log read (it holds one record per firing alert: megabytes at most).
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// The persisted state of `watch`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchState {
    pub sent: SentLog,
    /// Ledger rejects already alerted on or known at the first start.
    #[serde(default, rename = "rejectBaseline")]
    pub reject_baseline: Option<u64>,
}

/// The default sent log path for an HQ root.
pub fn default_path(hq_root: &Path) -> PathBuf {
    hq_root.join(DEFAULT_PATH)
}

/// Read the sent log; a missing file is an empty log.
pub fn load(path: &Path) -> Result<WatchState, FileError> {
    let file = match crate::store::fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(WatchState::default()),
        Err(e) => return Err(FileError::new(path, 0, 0, format!("cannot read: {e}"))),
    };
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::new(path, 0, 0, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(FileError::new(
            path,
            0,
            0,
            format!("larger than {MAX_BYTES} bytes; not a sent log written by lumen"),
        ));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        let s = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = s.strip_suffix(&suffix).map(str::to_owned).unwrap_or(s);
        FileError::new(path, e.line().max(1), e.column().max(1), msg)
    })
}

/// Write the sent log atomically (temp file + rename). Call with the lock held.
pub fn save(path: &Path, state: &WatchState) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(state)?;
    bytes.push(b'\n');
    crate::store::lock::write_atomic(path, &bytes)
}

/// Lock the sent log for a read-modify-write (see the module docs).
pub fn lock(path: &Path) -> anyhow::Result<crate::store::lock::FileLock> {
    crate::store::lock::lock_exclusive(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_empty_and_a_save_reads_back() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hq/notifications/sent-log.json");
        assert_eq!(load(&p).unwrap(), WatchState::default());
        let s = WatchState {
            reject_baseline: Some(4),
            ..Default::default()
        };
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let _l = lock(&p).unwrap();
        save(&p, &s).unwrap();
        assert_eq!(load(&p).unwrap(), s);
    }

    #[test]
    fn a_broken_file_is_an_error_with_its_position() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sent-log.json");
        std::fs::write(&p, "{\n  \"sent\": {\"version\": 1, \"alerts\": 3}\n}\n").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:2:", p.display())), "{e}");
        std::fs::write(&p, "{\"sent\": {\"version\": 1}, \"extra\": 1}").unwrap();
        let e = load(&p).unwrap_err().to_string();
        assert!(e.contains("unknown field `extra`"), "{e}");
    }
}
