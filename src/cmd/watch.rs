//! `lumen watch --hq DIR`: the headless alert service. Every `--interval` it reads
//! the HQ (registry files, new ledger lines, integrity, cost, health on the health
//! check's own interval), evaluates every condition and
//!
//! - sends each notification `rules.json` asks for exactly once: routing runs under
//!   the sent log's lock, against the log on disk, and a message is recorded as
//!   sent as soon as its webhook accepted it — so a restart (or a second `watch` on
//!   the same HQ) sends nothing twice; a failed send is tried again next time;
//! - with `alertmanager_url` set, posts every firing alert (and recent resolutions,
//!   with `endsAt`) to Alertmanager, re-posted before Alertmanager would time them
//!   out, retried with backoff when it is down.
//!
//! SIGTERM or SIGINT stops it after the evaluation in progress (sends in flight end
//! within their timeouts and are recorded). It logs to its log file, never to the
//! terminal. docs/alerts.md describes it for operators.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::Utc;

use super::alert_facts::Collector;
use super::{CmdError, CmdResult, Outcome, runtime};
use crate::cli::{GlobalArgs, WatchArgs};
use crate::domain::alerts::{AmOutbox, RoutingRules, Transitions, route};
use crate::operator::alertmanager::{AmClient, hq_label};
use crate::operator::notify::{NotifyOptions, send_each};
use crate::store::sent_log;

/// Longest wait between two Alertmanager attempts while it fails.
const AM_BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Timeout of one Alertmanager request.
const AM_TIMEOUT: Duration = Duration::from_secs(5);

struct Am {
    client: AmClient,
    outbox: AmOutbox,
    next_try: Option<Instant>,
    backoff: Duration,
}

struct Watch {
    root: PathBuf,
    sent_log: PathBuf,
    collector: Collector,
    am: Option<Am>,
}

pub fn run_watch(a: &WatchArgs, g: &GlobalArgs) -> CmdResult {
    let cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let interval = crate::domain::hq::parse_duration(&a.interval)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CmdError::usage(format!(
                "--interval `{}` is not a duration > 0; expected e.g. 5s, 1m",
                crate::domain::sanitize::sanitize(&a.interval)
            ))
        })?;
    let root = cfg.hq_root.clone();
    let sent_log = a
        .sent_log
        .clone()
        .unwrap_or_else(|| sent_log::default_path(&root));
    // A broken sent log stops the service before anything is sent.
    let state = sent_log::load(&sent_log).map_err(|e| CmdError::Io(anyhow::anyhow!("{e}")))?;
    let mut collector = Collector::new(&root);
    collector
        .reload_files()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("{e}")))?;
    if let Some(b) = state.reject_baseline {
        collector.evaluator.set_reject_baseline(b);
    }
    let am = match &cfg.alertmanager_url {
        Some(url) => Some(Am {
            client: AmClient::new(url, AM_TIMEOUT)?,
            outbox: AmOutbox::new(hq_label(&root)),
            next_try: None,
            backoff: Duration::from_secs(1),
        }),
        None => None,
    };
    let mut w = Watch {
        root,
        sent_log,
        collector,
        am,
    };
    let rt = runtime()?;
    rt.block_on(w.run(interval, a.once))?;
    Ok(Outcome::Ok)
}

impl Watch {
    async fn run(&mut self, interval: Duration, once: bool) -> Result<(), CmdError> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| CmdError::Io(anyhow::anyhow!("cannot handle SIGTERM: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| CmdError::Io(anyhow::anyhow!("cannot handle SIGINT: {e}")))?;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tracing::info!(
            hq = %self.root.display(),
            interval = ?interval,
            alertmanager = self.am.is_some(),
            "watch started"
        );
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = term.recv() => { tracing::info!("SIGTERM: watch stopping"); break; }
                _ = int.recv() => { tracing::info!("SIGINT: watch stopping"); break; }
            }
            self.tick().await;
            if once {
                break;
            }
        }
        tracing::info!("watch stopped");
        Ok(())
    }

    async fn tick(&mut self) {
        let c = &mut self.collector;
        if let Err(e) = c.reload_files() {
            tracing::warn!("{e}");
        }
        if let Err(e) = c.read_ledger() {
            tracing::warn!("reading the ledger: {e:#}");
        }
        tokio::task::block_in_place(|| c.verify(false));
        let health_due = c
            .health_checked
            .is_none_or(|at| at.elapsed() >= c.health_interval());
        if health_due {
            c.check_health().await;
        }
        let now = Utc::now();
        let t = c.evaluate(now);
        for a in &t.fired {
            tracing::info!(key = %a.key(), "alert firing: {}", a.summary);
        }
        for a in &t.resolved {
            tracing::info!(key = %a.key(), "alert resolved");
        }
        self.notify(&t).await;
        self.post_alertmanager(&t).await;
    }

    /// Route and send under the sent log's lock (see the module docs).
    async fn notify(&mut self, t: &Transitions) {
        let Some(snap) = self.collector.snapshot.as_ref() else {
            return;
        };
        let Some(rules) = snap.notify_rules.as_ref() else {
            return;
        };
        let rules = RoutingRules::from_plain(rules);
        let channels = snap.channels.clone();
        let path = self.sent_log.clone();
        let lock = match tokio::task::block_in_place(|| sent_log::lock(&path)) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!("cannot lock the sent log, nothing sent: {e:#}");
                return;
            }
        };
        let mut state = match sent_log::load(&path) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("the sent log is unreadable, nothing sent: {e}");
                return;
            }
        };
        let now = Utc::now();
        let ns = route(now, t, &rules, &mut state.sent);
        if !ns.is_empty() {
            let messages: Vec<(String, String)> =
                ns.iter().map(|n| (n.channel.clone(), n.text())).collect();
            let deliveries =
                send_each(channels.as_ref(), &messages, NotifyOptions::default()).await;
            for (n, d) in ns.iter().zip(&deliveries) {
                if d.delivered {
                    state.sent.mark_sent(n, Utc::now());
                    tracing::info!(key = %n.key, channel = %n.channel, state = ?n.state, "notification sent");
                } else {
                    tracing::warn!(
                        key = %n.key,
                        channel = %n.channel,
                        "notification not sent (tried again next time): {}",
                        d.error.as_deref().unwrap_or("unknown error")
                    );
                }
            }
        }
        let baseline = self.collector.evaluator.reject_baseline();
        let baseline_changed = baseline != state.reject_baseline;
        state.reject_baseline = baseline;
        if (state.sent.take_changed() || baseline_changed)
            && let Err(e) = sent_log::save(&path, &state)
        {
            tracing::error!("cannot write the sent log: {e:#}");
        }
        drop(lock);
    }

    async fn post_alertmanager(&mut self, t: &Transitions) {
        let Some(am) = self.am.as_mut() else {
            return;
        };
        let now = Utc::now();
        am.outbox.observe(now, t);
        if !am.outbox.due(now) || am.next_try.is_some_and(|n| Instant::now() < n) {
            return;
        }
        let body = am.outbox.body(now, &t.firing);
        match am.client.post_alerts(&body).await {
            Ok(()) => {
                am.outbox.posted(now);
                am.next_try = None;
                am.backoff = Duration::from_secs(1);
                tracing::debug!(alerts = body.len(), "posted to Alertmanager");
            }
            Err(e) => {
                tracing::warn!(
                    "Alertmanager: {e:#} (next try in {}s)",
                    am.backoff.as_secs()
                );
                am.next_try = Some(Instant::now() + am.backoff);
                am.backoff = (am.backoff * 2).min(AM_BACKOFF_MAX);
            }
        }
    }
}
