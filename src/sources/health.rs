//! Branch health checker: every `interval`, an HTTP GET per branch endpoint, all
//! concurrently up to `concurrency` in flight, each bounded by `timeout`; ok = 2xx.
//! One `Msg::HealthChecked` per round. A command channel asks for an immediate
//! re-check of some branches (the rollback flow does this).

use std::time::{Duration, Instant};

use chrono::Utc;
use futures::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::domain::hq::HqSnapshot;
use crate::protocol::{HealthResult, Msg, SourceId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTarget {
    pub branch: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HealthConfig {
    pub targets: Vec<HealthTarget>,
    pub interval: Duration,
    /// Whole-request timeout (connect + answer headers).
    pub timeout: Duration,
    /// Most requests in flight at once.
    pub concurrency: usize,
}

impl HealthConfig {
    /// Defaults: 2 s timeout, up to 1,024 in flight — so 1,000 endpoints fit in one
    /// timeout window even when all are slow (docs/PERF.md).
    pub fn new(targets: Vec<HealthTarget>, interval: Duration) -> Self {
        HealthConfig {
            targets,
            interval,
            timeout: Duration::from_secs(2),
            concurrency: 1_024,
        }
    }
}

/// The targets an HQ root describes, in registry order: a branch's own `health` URL,
/// else the `health-check.json` endpoint whose host is the branch's `domain` or
/// starts with `<id>.`. Endpoints that match no branch are still checked, under
/// their host name.
pub fn targets_from_snapshot(hq: &HqSnapshot) -> Vec<HealthTarget> {
    let endpoints: Vec<(String, Option<String>)> = hq
        .health_check
        .as_ref()
        .map(|h| {
            h.endpoints
                .iter()
                .map(|e| {
                    let host = reqwest::Url::parse(e)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned));
                    (e.clone(), host)
                })
                .collect()
        })
        .unwrap_or_default();
    let mut used = vec![false; endpoints.len()];
    let mut out = Vec::new();
    for b in hq.registry.iter().flat_map(|r| &r.branches) {
        let url = b.health.clone().or_else(|| {
            let prefix = format!("{}.", b.id);
            let i = endpoints.iter().position(|(_, host)| {
                host.as_deref()
                    .is_some_and(|h| h == b.domain || h.starts_with(&prefix))
            })?;
            if let Some(u) = used.get_mut(i) {
                *u = true;
            }
            endpoints.get(i).map(|(e, _)| e.clone())
        });
        if let Some(url) = url {
            out.push(HealthTarget {
                branch: b.id.clone(),
                url,
            });
        }
    }
    for ((url, host), used) in endpoints.into_iter().zip(used) {
        if !used && !out.iter().any(|t| t.url == url) {
            out.push(HealthTarget {
                branch: host.unwrap_or_else(|| url.clone()),
                url,
            });
        }
    }
    out
}

/// A client fit for many endpoints: bounded timeouts, few idle connections kept per
/// host (each branch is usually its own host), no redirect loops.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(4)
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("lumen-health/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Probe one endpoint.
pub async fn probe(client: &reqwest::Client, target: &HealthTarget) -> HealthResult {
    let started = Instant::now();
    let answer = client.get(&target.url).send().await;
    let latency = started.elapsed();
    let at = Utc::now();
    match answer {
        Ok(resp) => {
            let status = resp.status();
            HealthResult {
                branch: target.branch.clone(),
                at,
                ok: status.is_success(),
                status: Some(status.as_u16()),
                latency: Some(latency),
                error: (!status.is_success()).then(|| format!("HTTP {status}")),
            }
        }
        Err(e) => HealthResult {
            branch: target.branch.clone(),
            at,
            ok: false,
            status: None,
            latency: None,
            error: Some(describe(&e)),
        },
    }
}

fn describe(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "too many redirects"
    } else if e.is_builder() {
        "invalid URL"
    } else {
        "request failed"
    };
    // The URL is left out: a health URL may carry a token.
    let mut text = what.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        text = format!("{what}: {s}");
        src = s.source();
    }
    crate::domain::sanitize::sanitize(&text).into_owned()
}

/// Probe `targets` with at most `concurrency` in flight; results in input order.
/// (Owned futures: borrowing closures inside `buffer_unordered` make the task's
/// future fail the higher-ranked `Send` check of `tokio::spawn`.)
pub async fn round(
    client: &reqwest::Client,
    targets: Vec<HealthTarget>,
    concurrency: usize,
) -> Vec<HealthResult> {
    let probes = targets.into_iter().enumerate().map(|(i, t)| {
        let client = client.clone();
        async move { (i, probe(&client, &t).await) }
    });
    let mut indexed: Vec<(usize, HealthResult)> = futures::stream::iter(probes)
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    indexed.sort_by_key(|(i, _)| *i);
    indexed.into_iter().map(|(_, r)| r).collect()
}

/// Check every target each `interval` (the first round at once) and the branches
/// named on `recheck` immediately (an empty list means all), until `cancel`.
pub async fn run(
    cfg: HealthConfig,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
    recheck: mpsc::Receiver<Vec<String>>,
) {
    // No updates: the sender is dropped at once, which `run_updating` reads as "the
    // targets never change".
    let (_, updates) = watch::channel(cfg.clone());
    run_updating(cfg, tx, cancel, recheck, updates).await;
}

/// [`run`], with the targets, interval and timeout replaced whenever `updates`
/// changes (the registry was reloaded): targets that are new or whose URL changed are
/// checked at once, removed ones are no longer checked. With no targets the source
/// reports itself as not configured, and recovers when targets appear.
pub async fn run_updating(
    mut cfg: HealthConfig,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
    mut recheck: mpsc::Receiver<Vec<String>>,
    mut updates: watch::Receiver<HealthConfig>,
) {
    let build = |timeout: Duration| client(timeout);
    let mut client = match build(cfg.timeout) {
        Ok(c) => c,
        Err(e) => {
            let _ = tx
                .send(Msg::SourceFailed {
                    source: SourceId::Health,
                    at: Utc::now(),
                    error: format!("cannot build the HTTP client: {e}"),
                })
                .await;
            return;
        }
    };
    let new_ticker = |every: Duration| {
        let mut t = tokio::time::interval(every.max(Duration::from_millis(10)));
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        t
    };
    let mut ticker = new_ticker(cfg.interval);
    let mut commands_open = true;
    let mut updates_open = true;
    if cfg.targets.is_empty() {
        let _ = tx
            .send(Msg::SourceMissing {
                source: SourceId::Health,
                at: Utc::now(),
            })
            .await;
    }
    loop {
        let targets: Vec<HealthTarget> = tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            changed = updates.changed(), if updates_open => {
                if changed.is_err() {
                    updates_open = false;
                    continue;
                }
                let next = updates.borrow_and_update().clone();
                let fresh: Vec<HealthTarget> = next
                    .targets
                    .iter()
                    .filter(|t| !cfg.targets.contains(t))
                    .cloned()
                    .collect();
                if next.timeout != cfg.timeout
                    && let Ok(c) = build(next.timeout)
                {
                    client = c;
                }
                if next.interval != cfg.interval {
                    ticker = new_ticker(next.interval);
                    // The first tick of a new interval fires at once: skip it, the
                    // changed targets are checked below.
                    ticker.reset();
                }
                let was_empty = cfg.targets.is_empty();
                cfg = next;
                let now_empty = cfg.targets.is_empty();
                let status = match (was_empty, now_empty) {
                    (false, true) => Some(Msg::SourceMissing { source: SourceId::Health, at: Utc::now() }),
                    (true, false) => Some(Msg::SourceRecovered { source: SourceId::Health, at: Utc::now() }),
                    _ => None,
                };
                if let Some(m) = status
                    && tx.send(m).await.is_err()
                {
                    return;
                }
                fresh
            },
            cmd = recheck.recv(), if commands_open => match cmd {
                Some(branches) if !branches.is_empty() => cfg
                    .targets
                    .iter()
                    .filter(|t| branches.contains(&t.branch))
                    .cloned()
                    .collect(),
                Some(_) => cfg.targets.clone(),
                None => {
                    commands_open = false;
                    continue;
                }
            },
            _ = ticker.tick() => cfg.targets.clone(),
        };
        if targets.is_empty() {
            continue;
        }
        let results = tokio::select! {
            _ = cancel.cancelled() => return,
            r = round(&client, targets, cfg.concurrency) => r,
        };
        let msg = Msg::HealthChecked {
            results,
            at: Utc::now(),
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = tx.send(msg) => if r.is_err() { return },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_from_branches_and_endpoints() {
        let registry = serde_json::from_str(
            r#"{"hqVersion":"2.1","branches":[
              {"id":"papafly","repo":"r/p","domain":"papafly.dtslib.com","visibility":"public"},
              {"id":"koosy","repo":"r/k","domain":"koosy.com","visibility":"public"},
              {"id":"own","repo":"r/o","domain":"o.com","visibility":"public","health":"http://own/h"},
              {"id":"none","repo":"r/n","domain":"n.com","visibility":"public"}]}"#,
        )
        .unwrap();
        let health_check = serde_json::from_str(
            r#"{"endpoints":["https://koosy.example/health","https://papafly.dtslib.com/hz","https://other.net/h"]}"#,
        )
        .unwrap();
        let hq = HqSnapshot {
            registry: Some(registry),
            health_check: Some(health_check),
            ..Default::default()
        };
        let got: Vec<(String, String)> = targets_from_snapshot(&hq)
            .into_iter()
            .map(|t| (t.branch, t.url))
            .collect();
        let want = [
            ("papafly", "https://papafly.dtslib.com/hz"),
            ("koosy", "https://koosy.example/health"),
            ("own", "http://own/h"),
            ("other.net", "https://other.net/h"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want);
    }
}
