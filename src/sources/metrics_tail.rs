//! Tail of `logs/metrics.csv` (`ts,phase_diff,entropy_rate,creative_band,risk_band`,
//! 5 rows/s). At start only the last `window` is backfilled: the file is probed
//! backwards from the end, one small read per [`PROBE_STEP`], until a row older than
//! the window is found, and read forwards from there — a 1 GB file costs a few
//! dozen probes plus the window itself. Then appends are followed.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::hq::paths;
use crate::domain::rhythm::{GAUGES, GaugePoint, parse_metrics_row};
use crate::protocol::{Msg, SourceId};
use crate::sources::tail::{self, Follower, Line, StartAt, TailEvent};

/// Distance between two backward probes.
pub const PROBE_STEP: u64 = 256 * 1024;
/// Bytes read per probe (enough for a few rows).
const PROBE_LEN: usize = 4096;

#[derive(Debug, Clone)]
pub struct MetricsTailConfig {
    pub path: PathBuf,
    /// Rows older than `now - window` at start are not delivered.
    pub window: Duration,
    pub poll: Duration,
}

impl MetricsTailConfig {
    pub fn new(root: &Path, window: Duration) -> Self {
        MetricsTailConfig {
            path: root.join(paths::METRICS_CSV),
            window,
            poll: Duration::from_millis(50),
        }
    }
}

/// The first line is the header `ts,phase_diff,…` (spaces and `\r` tolerated).
pub fn is_header(line: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(line) else {
        return false;
    };
    let mut cols = text.trim_end_matches('\r').split(',').map(str::trim);
    cols.next() == Some("ts")
        && GAUGES.iter().all(|g| cols.next() == Some(*g))
        && cols.next().is_none()
}

/// Where to start reading so every row at or after `cutoff` (Unix seconds) is
/// included, assuming rows are in time order: the start of a row older than
/// `cutoff`, found by probing backwards from the end, or 0.
pub fn backfill_start(file: &mut File, len: u64, cutoff: f64) -> io::Result<u64> {
    let mut pos = len;
    let mut buf = Vec::with_capacity(PROBE_LEN);
    while pos > 0 {
        let probe = pos.saturating_sub(PROBE_STEP);
        if probe == 0 {
            return Ok(0);
        }
        file.seek(SeekFrom::Start(probe))?;
        buf.clear();
        file.by_ref().take(PROBE_LEN as u64).read_to_end(&mut buf)?;
        // Skip the partial line the probe landed in; look at the next complete ones.
        let mut rows = buf.split(|&b| b == b'\n');
        let mut off = rows.next().map_or(0, |first| first.len() + 1);
        let complete = memchr::memrchr(b'\n', &buf).unwrap_or(0);
        for row in rows {
            if off >= complete {
                break;
            }
            let t = std::str::from_utf8(row)
                .ok()
                .and_then(|s| parse_metrics_row(s).ok());
            if let Some(p) = t {
                if p.t < cutoff {
                    return Ok(probe + off as u64);
                }
                break;
            }
            off += row.len() + 1;
        }
        pos = probe;
    }
    Ok(0)
}

/// Parses rows, skipping the header and rows older than the cutoff.
#[derive(Debug, Clone)]
pub struct RowParser {
    pub cutoff: f64,
}

impl RowParser {
    /// (points, bad rows, header error).
    pub fn parse(&self, lines: &[Line]) -> (Vec<GaugePoint>, usize, Option<String>) {
        let mut points = Vec::with_capacity(lines.len());
        let mut bad = 0;
        let mut header_error = None;
        for line in lines {
            if line.len == 0 || line.bytes == b"\r" {
                continue;
            }
            if line.offset == 0 && is_header(&line.bytes) {
                continue;
            }
            let row = if line.is_cut() {
                None
            } else {
                std::str::from_utf8(&line.bytes)
                    .ok()
                    .and_then(|s| parse_metrics_row(s).ok())
            };
            match row {
                Some(p) if p.t >= self.cutoff => points.push(p),
                Some(_) => {}
                None => {
                    bad += 1;
                    if line.offset == 0 {
                        header_error = Some(format!(
                            "line 1: expected the header `ts,{}`",
                            GAUGES.join(",")
                        ));
                    }
                }
            }
        }
        (points, bad, header_error)
    }
}

/// Backfill the last `window` of the CSV, then follow it until `cancel`.
pub async fn run(cfg: MetricsTailConfig, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    let cutoff = now - cfg.window.as_secs_f64();
    let path = cfg.path.clone();
    let start = tokio::task::spawn_blocking(move || -> io::Result<u64> {
        let mut f = crate::store::fsutil::open_regular(&path)?;
        let len = f.metadata()?.len();
        backfill_start(&mut f, len, cutoff)
    })
    .await;
    // If the probe failed (missing file…) the follower reports it and starts at 0.
    let start = match start {
        Ok(Ok(o)) => StartAt::Offset(o),
        _ => StartAt::Beginning,
    };
    let parser = RowParser { cutoff };
    let handler = move |ev: TailEvent, out: &mut Vec<Msg>| match ev {
        TailEvent::Lines(lines) => {
            let (points, bad, header_error) = parser.parse(&lines);
            if let Some(error) = header_error {
                out.push(tail::failed_msg(SourceId::Metrics, error));
            }
            if !points.is_empty() || bad > 0 {
                out.push(Msg::GaugeRows {
                    points,
                    bad,
                    at: Utc::now(),
                });
            }
        }
        TailEvent::Reset(reason) => out.push(Msg::SourceReset {
            source: SourceId::Metrics,
            reason,
        }),
        TailEvent::Failed(error) => out.push(tail::failed_msg(SourceId::Metrics, error)),
        TailEvent::Pending(_) | TailEvent::Missing => out.push(Msg::SourceMissing {
            source: SourceId::Metrics,
            at: Utc::now(),
        }),
        TailEvent::Recovered => out.push(Msg::SourceRecovered {
            source: SourceId::Metrics,
            at: Utc::now(),
        }),
    };
    let follower = Follower::new(cfg.path, start, false);
    tail::drive(follower, cfg.poll, handler, tx, cancel).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_detection() {
        assert!(is_header(
            b"ts,phase_diff,entropy_rate,creative_band,risk_band"
        ));
        assert!(is_header(
            b"ts, phase_diff, entropy_rate, creative_band, risk_band\r"
        ));
        assert!(!is_header(
            b"ts,entropy_rate,phase_diff,creative_band,risk_band"
        ));
        assert!(!is_header(b"\xff"));
    }
}
