//! The console's link to Alertmanager (with `alertmanager_url` set): one tokio task
//! that
//!
//! - posts what this console's evaluator fires, with the same stable labels `lumen
//!   watch` uses (so any number of consoles and `watch` collapse into one alert),
//!   re-posts them before Alertmanager would resolve them, and posts `endsAt` when
//!   one resolves ([`AmOutbox`] decides what and when);
//! - lists Alertmanager's active alerts (Prometheus-rule alerts included) and its
//!   silences every [`POLL_EVERY`], and at once when the alerts view asks;
//! - creates a silence the operator confirmed: the signed `alert_silenced` ledger
//!   entry first, then the silence ([`silence_recorded`]).
//!
//! Nothing here blocks the UI: the console hands requests over a channel and gets
//! [`AmReport`]s back. Every request has a timeout; while Alertmanager fails, posting
//! and listing back off (1 s doubling up to [`BACKOFF_MAX`]) and recover by
//! themselves. A failure is reported with its error and when the next try is.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc::{Receiver, Sender};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::alertmanager::{AmClient, silence_recorded};
use crate::domain::alerts::{Alert, AmOutbox};
use crate::protocol::{AlertsRequest, AmReport, Msg};
use crate::store::append::Identity;

/// How often Alertmanager's alerts and silences are listed while it answers.
pub const POLL_EVERY: Duration = Duration::from_secs(10);
/// Longest wait between two tries while Alertmanager fails.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// Timeout of one request.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// How often the task looks at its timers.
const STEP: Duration = Duration::from_millis(500);

/// What the link is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkRequest {
    Alerts(AlertsRequest),
    /// The operator confirmed a silence (see [`crate::protocol::PendingAction`]).
    Silence {
        labels: BTreeMap<String, String>,
        duration: Duration,
        comment: String,
    },
}

/// What the link needs.
pub struct LinkConfig {
    pub client: AmClient,
    /// The `hq` label (see [`super::alertmanager::hq_label`]).
    pub hq: String,
    pub root: PathBuf,
    /// The operator: silences need one (a read-only console lists but cannot silence).
    pub who: Option<Arc<Identity>>,
    pub poll_every: Duration,
}

/// Exponential backoff from 1 s up to [`BACKOFF_MAX`].
#[derive(Debug, Clone, Copy)]
struct Backoff {
    next: Option<Instant>,
    step: Duration,
}

impl Backoff {
    fn new() -> Self {
        Backoff {
            next: None,
            step: Duration::from_secs(1),
        }
    }

    fn ready(&self, now: Instant) -> bool {
        self.next.is_none_or(|n| now >= n)
    }

    /// A failure: wait this long before the next try.
    fn failed(&mut self, now: Instant) -> Duration {
        let wait = self.step;
        self.next = Some(now + wait);
        self.step = (self.step * 2).min(BACKOFF_MAX);
        wait
    }

    fn ok(&mut self) {
        *self = Backoff::new();
    }
}

/// Run the link until `cancel` fires or the request channel closes.
pub async fn run(
    cfg: LinkConfig,
    mut rx: Receiver<LinkRequest>,
    tx: Sender<Msg>,
    cancel: CancellationToken,
) {
    let mut outbox = AmOutbox::new(cfg.hq.clone());
    let mut firing: Vec<Alert> = Vec::new();
    // Nothing is posted before the console's first evaluation.
    let mut evaluated = false;
    let mut post = Backoff::new();
    let mut poll = Backoff::new();
    let mut next_poll = Instant::now();
    let mut step = tokio::time::interval(STEP);
    step.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = rx.recv() => match r {
                None => return,
                Some(LinkRequest::Alerts(AlertsRequest::Evaluated { at, transitions })) => {
                    outbox.observe(at, &transitions);
                    firing = transitions.firing;
                    evaluated = true;
                }
                Some(LinkRequest::Alerts(AlertsRequest::Poll)) => {
                    next_poll = Instant::now();
                }
                Some(LinkRequest::Silence { labels, duration, comment }) => {
                    let msg = silence(&cfg, &labels, duration, &comment).await;
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                    // Show the new silence at once.
                    next_poll = Instant::now();
                    poll.ok();
                }
            },
            _ = step.tick() => {}
        }
        let now = Utc::now();
        if evaluated && outbox.due(now) && post.ready(Instant::now()) {
            let body = outbox.body(now, &firing);
            if body.is_empty() {
                outbox.posted(now);
            } else {
                let report = match cfg.client.post_alerts(&body).await {
                    Ok(()) => {
                        outbox.posted(now);
                        post.ok();
                        tracing::debug!(alerts = body.len(), "posted to Alertmanager");
                        AmReport::Posted {
                            alerts: body.len(),
                            at: Utc::now(),
                        }
                    }
                    Err(e) => failed(&mut post, &e),
                };
                if tx.send(Msg::Alertmanager(report)).await.is_err() {
                    return;
                }
            }
        }
        let t = Instant::now();
        if t >= next_poll && poll.ready(t) {
            let listed = async {
                Ok::<_, anyhow::Error>((cfg.client.alerts().await?, cfg.client.silences().await?))
            };
            let report = match listed.await {
                Ok((alerts, silences)) => {
                    poll.ok();
                    next_poll = Instant::now() + cfg.poll_every;
                    AmReport::Listed {
                        alerts,
                        silences,
                        at: Utc::now(),
                    }
                }
                Err(e) => {
                    let r = failed(&mut poll, &e);
                    next_poll = poll.next.unwrap_or_else(Instant::now);
                    r
                }
            };
            if tx.send(Msg::Alertmanager(report)).await.is_err() {
                return;
            }
        }
    }
}

fn failed(b: &mut Backoff, e: &anyhow::Error) -> AmReport {
    let retry_in = b.failed(Instant::now());
    tracing::warn!("Alertmanager: {e:#} (next try in {}s)", retry_in.as_secs());
    AmReport::Failed {
        error: crate::domain::sanitize::sanitize(&format!("{e:#}")).into_owned(),
        at: Utc::now(),
        retry_in,
    }
}

/// Ledger entry first, then the silence; the outcome as the operator sees it.
async fn silence(
    cfg: &LinkConfig,
    labels: &BTreeMap<String, String>,
    duration: Duration,
    comment: &str,
) -> Msg {
    let done = |ok: bool, summary: String| Msg::OperatorDone {
        ok,
        summary,
        at: Utc::now(),
    };
    let Some(who) = cfg.who.as_deref() else {
        return done(
            false,
            "silence refused: read-only console (no operator key)".into(),
        );
    };
    let what = labels
        .get("alertname")
        .map(String::as_str)
        .unwrap_or("alert");
    match silence_recorded(
        &cfg.root,
        who,
        &cfg.client,
        labels,
        duration,
        comment,
        Utc::now(),
    )
    .await
    {
        Ok(o) => done(
            true,
            format!(
                "{what} silenced until {} (ledger {}, silence {})",
                o.ends_at, o.ledger_id, o.silence_id
            ),
        ),
        Err(e) => {
            let root = cfg.root.display().to_string();
            let text = format!("{e:#}").replace(&format!("{}/", root.trim_end_matches('/')), "");
            done(
                false,
                format!(
                    "silence of {what} failed: {}",
                    crate::domain::sanitize::sanitize(&text)
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_the_cap_and_resets() {
        let mut b = Backoff::new();
        let t = Instant::now();
        assert!(b.ready(t));
        let waits: Vec<u64> = (0..8).map(|_| b.failed(t).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
        assert!(!b.ready(t));
        assert!(b.ready(t + BACKOFF_MAX));
        b.ok();
        assert!(b.ready(t));
        assert_eq!(b.failed(t), Duration::from_secs(1));
    }
}
