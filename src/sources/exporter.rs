//! The exporter poller: one tokio task per configured exporter. Each tick it fetches
//! the exposition with [`get_bounded`](crate::sources::http::get_bounded) (timeout and
//! size limit from the config), parses it inside the task (large bodies on the blocking
//! pool so the runtime's workers stay free) and sends `Msg::MetricsScraped`, or
//! `Msg::SourceFailed` and backs off: the period doubles per failure up to 30 s (or the
//! configured interval when that is longer) and returns to the interval on success.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::Sender;
use tokio::time::{Instant, MissedTickBehavior};
use tokio_util::sync::CancellationToken;

use crate::domain::exposition::{self, Parsed};
use crate::protocol::{Msg, SourceId};
use crate::sources::http::{self, FetchError};

/// Longest pause between attempts while an exporter keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Bodies larger than this are parsed on the blocking pool (~0.5 ms of work).
const INLINE_PARSE_LIMIT: usize = 64 * 1024;

/// Why one poll failed, as shown in the pane.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The body held no sample and at least one unreadable line.
    #[error("{url}: nothing readable: {unreadable} bad lines, first {first}")]
    Unparsable {
        url: String,
        unreadable: usize,
        first: String,
    },
    #[error("{url}: the parser task failed")]
    ParserTask { url: String },
}

/// Fetch and parse one exporter once.
pub async fn poll_once(
    client: &reqwest::Client,
    cfg: &ExporterConfig,
) -> Result<Parsed, PollError> {
    let body = http::get_bounded(client, &cfg.url, cfg.timeout, cfg.max_bytes).await?;
    let parsed = if body.len() > INLINE_PARSE_LIMIT {
        tokio::task::spawn_blocking(move || exposition::parse(&body))
            .await
            .map_err(|_| PollError::ParserTask {
                url: http::redact(&cfg.url),
            })?
    } else {
        exposition::parse(&body)
    };
    check_readable(&cfg.url, parsed)
}

/// A body counts as unparsable when it yields no sample but has unreadable lines
/// (garbage, HTML error pages, binary). An empty body is a valid, empty exposition.
pub fn check_readable(url: &str, parsed: Parsed) -> Result<Parsed, PollError> {
    if parsed.samples.is_empty() && parsed.unreadable > 0 {
        let first = parsed
            .errors
            .first()
            .map(|(line, why)| format!("line {line}: {why}"))
            .unwrap_or_default();
        return Err(PollError::Unparsable {
            url: http::redact(url),
            unreadable: parsed.unreadable,
            first: crate::domain::sanitize::sanitize(&first).into_owned(),
        });
    }
    Ok(parsed)
}

/// The period after `failures` consecutive failures.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    let cap = MAX_BACKOFF.max(interval);
    let factor = 2u32.saturating_pow(failures.min(16));
    interval.saturating_mul(factor).min(cap)
}

/// Poll `cfg` every `interval` until `cancel` fires, sending one message per attempt.
/// Returns when cancelled or when the receiver is gone.
pub async fn run(
    id: SourceId,
    cfg: ExporterConfig,
    interval: Duration,
    tx: Sender<Msg>,
    cancel: CancellationToken,
) {
    let interval = interval.max(Duration::from_millis(1));
    let client = match http::client() {
        Ok(c) => c,
        Err(e) => {
            let msg = Msg::SourceFailed {
                source: id,
                at: Utc::now(),
                error: format!("cannot create an HTTP client: {e}"),
            };
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tx.send(msg) => {}
            }
            return;
        }
    };
    let mut failures = 0u32;
    let mut period = interval;
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let result = tokio::select! {
            _ = cancel.cancelled() => return,
            r = poll_once(&client, &cfg) => r,
        };
        let msg = match result {
            Ok(parsed) => {
                failures = 0;
                Msg::MetricsScraped {
                    source: id.clone(),
                    at: Utc::now(),
                    unreadable: parsed.unreadable,
                    samples: parsed.samples,
                }
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::debug!(source = %id.label(), error = %e, "exporter poll failed");
                Msg::SourceFailed {
                    source: id.clone(),
                    at: Utc::now(),
                    error: e.to_string(),
                }
            }
        };
        let next = backoff(interval, failures);
        if next != period {
            period = next;
            ticker = tokio::time::interval_at(Instant::now() + period, period);
            ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
        }
        // Back-pressure from a busy UI waits here, but cancellation still wins.
        tokio::select! {
            _ = cancel.cancelled() => return,
            sent = tx.send(msg) => if sent.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[test]
    fn backoff_doubles_and_caps() {
        let i = Duration::from_millis(200);
        assert_eq!(backoff(i, 0), i);
        assert_eq!(backoff(i, 1), Duration::from_millis(400));
        assert_eq!(backoff(i, 3), Duration::from_millis(1600));
        assert_eq!(backoff(i, 30), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(60), 2), Duration::from_secs(60));
    }

    /// Answers 500 to the first `fail` requests, then a small exposition.
    async fn flaky_server(fail: usize) -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(AtomicUsize::new(0));
        let h = hits.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let n = h.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(k) => got.extend_from_slice(&buf[..k]),
                        }
                    }
                    let (status, body) = if n < fail {
                        ("500 Internal Server Error", "")
                    } else {
                        ("200 OK", "m{a=\"}\"} 1\nbad line\nn 2\n")
                    };
                    let resp = format!(
                        "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = sock.write_all(resp.as_bytes()).await;
                });
            }
        });
        (format!("http://{addr}/metrics"), hits)
    }

    #[tokio::test]
    async fn fails_then_recovers_and_stops_on_cancel() {
        let (url, _hits) = flaky_server(2).await;
        let cfg = ExporterConfig {
            url,
            timeout: Duration::from_secs(2),
            max_bytes: 1024,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(8);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run(
            SourceId::Exporter(0),
            cfg,
            Duration::from_millis(20),
            tx,
            cancel.clone(),
        ));
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < 3 {
            let msg = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("poller sent nothing in time")
                .expect("poller stopped");
            seen.push(msg);
        }
        match &seen[0] {
            Msg::SourceFailed { source, error, .. } => {
                assert_eq!(source, &SourceId::Exporter(0));
                assert!(error.contains("HTTP status 500"), "{error}");
            }
            other => panic!("expected a failure first, got {other:?}"),
        }
        assert!(matches!(seen[1], Msg::SourceFailed { .. }));
        match &seen[2] {
            Msg::MetricsScraped {
                samples,
                unreadable,
                ..
            } => {
                assert_eq!(samples.len(), 2);
                assert_eq!(samples[0].labels["a"], "}");
                assert_eq!(*unreadable, 1);
            }
            other => panic!("expected recovery, got {other:?}"),
        }
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("poller did not stop on cancel")
            .expect("poller panicked");
    }

    #[test]
    fn garbage_is_unparsable_but_empty_is_not() {
        let g = check_readable("http://x/", exposition::parse(b"<html>\n"));
        assert!(matches!(
            g,
            Err(PollError::Unparsable { unreadable: 1, .. })
        ));
        assert!(check_readable("http://x/", exposition::parse(b"")).is_ok());
    }
}

/// One exporter to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ExporterConfig {
    pub url: String,
    pub timeout: Duration,
    pub max_bytes: usize,
}
