//! Registry watcher: polls size, mtime and inode of the files under `hq/registry/`,
//! `hq/billing/`, `hq/sync/`, `hq/recovery/`, `hq/notifications/` and the two YAML
//! files; on a change, waits until they stop changing for `debounce` (so a
//! half-written file is re-read after the writer finishes) and reloads with
//! `crate::sources::registry::load_snapshot`. Polling rather than inotify for the
//! same reasons as `tail` (no `notify` dependency; a few `stat`s per 500 ms).
//!
//! A file that fails to load is listed in the snapshot's `errors` (the console shows
//! each as a standing notice) and its last good version stays in use
//! (`keep_last_good`); a broken `branches.json` is `RegistryInvalid`, and the console
//! keeps its whole last snapshot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::hq::{FileError, HqSnapshot, paths};
use crate::protocol::Msg;
use crate::sources::registry::{keep_last_good, load_snapshot};

/// Directories (relative to the HQ root) whose files are watched.
pub const WATCHED_DIRS: [&str; 9] = [
    "hq/registry",
    "hq/billing",
    "hq/sync",
    "hq/recovery",
    "hq/notifications",
    // The trust chain and custody records (the custody view).
    "controls/keys/root",
    "controls/keys/current",
    "controls/trust",
    "custody/records",
];

/// At most this many debounce waits before loading anyway (a file rewritten
/// continuously must still be reloaded).
const MAX_SETTLE_ROUNDS: usize = 20;

#[derive(Debug, Clone)]
pub struct WatchConfig {
    pub root: PathBuf,
    pub poll: Duration,
    pub debounce: Duration,
}

impl WatchConfig {
    pub fn new(root: &Path) -> Self {
        WatchConfig {
            root: root.to_path_buf(),
            poll: Duration::from_millis(500),
            debounce: Duration::from_millis(100),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    ino: u64,
}

/// What the watched files look like now: path → stamp, or the error of reading it.
type Fingerprint = BTreeMap<PathBuf, Result<Stamp, String>>;

fn stamp(path: &Path) -> Result<Stamp, String> {
    let m = std::fs::metadata(path).map_err(|e| e.kind().to_string())?;
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&m);
    #[cfg(not(unix))]
    let ino = 0;
    Ok(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
        ino,
    })
}

fn fingerprint(root: &Path) -> Fingerprint {
    let mut fp = Fingerprint::new();
    for dir in WATCHED_DIRS {
        let dir = root.join(dir);
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    let path = entry.path();
                    fp.insert(path.clone(), stamp(&path));
                }
            }
            Err(e) => {
                fp.insert(dir, Err(e.kind().to_string()));
            }
        }
    }
    for file in [paths::GATEWAY, paths::OBSERVER_FIELD] {
        let path = root.join(file);
        fp.insert(path.clone(), stamp(&path));
    }
    fp
}

async fn fingerprint_async(root: &Path) -> Fingerprint {
    let root = root.to_path_buf();
    let fallback = root.clone();
    tokio::task::spawn_blocking(move || fingerprint(&root))
        .await
        .unwrap_or_else(|_| {
            let mut fp = Fingerprint::new();
            fp.insert(fallback, Err("fingerprint task failed".into()));
            fp
        })
}

/// Load the registry; `last` is the last snapshot sent, whose files stand in for
/// the ones that fail to load now (and becomes the new one).
async fn load(root: &Path, last: &mut Option<HqSnapshot>) -> Msg {
    let r = root.to_path_buf();
    let result = tokio::task::spawn_blocking(move || load_snapshot(&r))
        .await
        .unwrap_or_else(|_| {
            Err(FileError::new(
                root,
                0,
                0,
                "loading the registry failed unexpectedly",
            ))
        });
    match result {
        Ok(mut hq) => {
            if let Some(prev) = last.as_ref() {
                keep_last_good(&mut hq, prev);
            }
            for e in &hq.errors {
                tracing::warn!("not loaded (the last good version stays in use): {e}");
            }
            *last = Some(hq.clone());
            Msg::RegistryReloaded {
                hq: Box::new(hq),
                at: Utc::now(),
            }
        }
        Err(error) => Msg::RegistryInvalid {
            error,
            at: Utc::now(),
        },
    }
}

/// Load once at start, then reload on every settled change, until `cancel`.
pub async fn run(cfg: WatchConfig, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let mut seen = fingerprint_async(&cfg.root).await;
    let mut last = None;
    let msg = load(&cfg.root, &mut last).await;
    tokio::select! {
        _ = cancel.cancelled() => return,
        r = tx.send(msg) => if r.is_err() { return },
    }
    let mut ticker = tokio::time::interval(cfg.poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let mut now = fingerprint_async(&cfg.root).await;
        if now == seen {
            continue;
        }
        // Debounce: wait until nothing changed for one `debounce` period.
        for _ in 0..MAX_SETTLE_ROUNDS {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(cfg.debounce) => {}
            }
            let again = fingerprint_async(&cfg.root).await;
            if again == now {
                break;
            }
            now = again;
        }
        seen = now;
        let msg = load(&cfg.root, &mut last).await;
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = tx.send(msg) => if r.is_err() { return },
        }
    }
}
