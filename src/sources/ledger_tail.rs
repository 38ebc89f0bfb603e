//! Tail of `hq/ledger/ledger.jsonl`: complete lines become [`LedgerRecord`]s (parsed
//! or rejected, never dropped), the unterminated final line is reported as pending,
//! truncation/replacement as a reset (docs/ledger.md).
//!
//! Line numbers are always absolute. When starting from the last N lines the
//! newlines before the start are counted first (memchr's vectorised count over 1 MiB
//! reads, on the blocking thread): ~0.1 s per GB from the page cache, so the first
//! batch of a huge ledger is late by that much; the full-file index is
//! `crate::store::index`'s job, not this tail's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::hq::paths;
use crate::domain::ledger::{RejectReason, parse_line};
use crate::domain::sanitize::sanitize;
use crate::protocol::{LedgerRecord, Msg, SourceId};
use crate::sources::tail::{self, Follower, Line, StartAt, TailEvent};

/// Characters of the raw line kept as the excerpt.
pub const EXCERPT_CHARS: usize = 300;

#[derive(Debug, Clone)]
pub struct LedgerTailConfig {
    pub path: PathBuf,
    pub start: StartAt,
    pub poll: Duration,
}

impl LedgerTailConfig {
    /// The ledger of an HQ root, starting at its last 2,000 lines, polled every 25 ms.
    pub fn new(root: &Path) -> Self {
        LedgerTailConfig {
            path: root.join(paths::LEDGER),
            start: StartAt::LastLines(2_000),
            poll: Duration::from_millis(25),
        }
    }
}

/// Parse one complete line into a record; `None` for an empty line (skipped, but
/// it still counts in the line numbers).
pub fn record(line: &Line) -> Option<LedgerRecord> {
    if line.len == 0 {
        return None;
    }
    let parsed = if line.is_cut() {
        Err(RejectReason::TooLong(
            usize::try_from(line.len).unwrap_or(usize::MAX),
        ))
    } else {
        parse_line(&line.bytes)
    };
    Some(LedgerRecord {
        line: line.number,
        offset: line.offset,
        parsed,
        excerpt: excerpt(&line.bytes),
    })
}

/// Sanitized first [`EXCERPT_CHARS`] characters of a raw line.
pub fn excerpt(bytes: &[u8]) -> String {
    // 4 bytes per char at most; sanitizing may drop some, so take a little more.
    let head = bytes
        .get(..bytes.len().min(EXCERPT_CHARS * 8))
        .unwrap_or(bytes);
    let text = String::from_utf8_lossy(head);
    sanitize(&text).chars().take(EXCERPT_CHARS).collect()
}

fn handle(ev: TailEvent, out: &mut Vec<Msg>) {
    match ev {
        TailEvent::Lines(lines) => {
            let records: Vec<LedgerRecord> = lines.iter().filter_map(record).collect();
            if !records.is_empty() {
                out.push(Msg::LedgerAppended {
                    records,
                    at: Utc::now(),
                });
            }
        }
        TailEvent::Pending(bytes) => out.push(Msg::LedgerPending { bytes }),
        TailEvent::Reset(reason) => out.push(Msg::LedgerReset { reason }),
        TailEvent::Failed(error) => out.push(tail::failed_msg(SourceId::Ledger, error)),
        TailEvent::Missing => out.push(Msg::SourceMissing {
            source: SourceId::Ledger,
            at: Utc::now(),
        }),
        TailEvent::Recovered => out.push(Msg::SourceRecovered {
            source: SourceId::Ledger,
            at: Utc::now(),
        }),
    }
}

/// Follow the ledger until `cancel`.
pub async fn run(cfg: LedgerTailConfig, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let follower = Follower::new(cfg.path, cfg.start, true);
    tail::drive(follower, cfg.poll, handle, tx, cancel).await;
}
