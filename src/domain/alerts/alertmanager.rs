//! The Alertmanager v2 contract: the body of `POST /api/v2/alerts`, and when to
//! post it.
//!
//! Every item carries labels `alertname`, `severity`, `hq`, `branch` where the alert
//! has one, and the alert's other identifying labels (`id`, `check`, `source`,
//! `path`, `gauge`), none of which depend on which console or `watch` posts it, so
//! Alertmanager collapses any number of posters into one alert. Annotations:
//! `summary`, `action`. `startsAt` is the alert's `since`.
//!
//! Alertmanager ends an alert at its `endsAt`. A firing alert is posted with
//! `endsAt = now + 4 × interval` and re-posted every `interval` (default 60 s), so
//! it stays active while Lumen runs and ends by itself about four minutes after the
//! last poster stopped (the way Prometheus posts). A resolved alert is posted with
//! `endsAt` = the time it resolved, and kept in every post for
//! [`RESOLVED_RETENTION`] so a lost post or a restarted Alertmanager still learns it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use rustc_hash::FxHashSet;
use serde::{Deserialize, Serialize};

use super::Alert;
use super::eval::Transitions;

/// Default re-post interval.
pub const REPOST_INTERVAL: Duration = Duration::from_secs(60);
/// Resolved alerts are included in posts this long after they resolved.
pub const RESOLVED_RETENTION: Duration = Duration::from_secs(15 * 60);
/// Resolved alerts kept for re-posting at most (oldest dropped first).
const MAX_RESOLVED: usize = 10_000;

/// One item of the `POST /api/v2/alerts` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AmAlert {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt", skip_serializing_if = "Option::is_none", default)]
    pub ends_at: Option<String>,
    #[serde(
        rename = "generatorURL",
        skip_serializing_if = "Option::is_none",
        default
    )]
    pub generator_url: Option<String>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The Alertmanager label set of `a` for HQ `hq` (e.g. the HQ directory's name).
pub fn am_labels(a: &Alert, hq: &str) -> BTreeMap<String, String> {
    let mut l: BTreeMap<String, String> = a
        .labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    l.insert("alertname".into(), a.alertname.as_str().into());
    l.insert("severity".into(), a.severity.as_str().into());
    if !hq.is_empty() {
        l.insert("hq".into(), hq.into());
    }
    l
}

/// One body item: `ends_at` is `Some` for a resolved alert (its resolution time) and
/// for a firing one (its expiry, see the module docs).
pub fn am_alert(
    a: &Alert,
    hq: &str,
    ends_at: Option<DateTime<Utc>>,
    generator_url: Option<&str>,
) -> AmAlert {
    let mut annotations = BTreeMap::new();
    annotations.insert("summary".into(), a.summary.clone());
    annotations.insert("action".into(), a.action.clone());
    AmAlert {
        labels: am_labels(a, hq),
        annotations,
        starts_at: ts(a.since),
        ends_at: ends_at.map(ts),
        generator_url: generator_url.map(str::to_owned),
    }
}

/// What to post to Alertmanager and when. Pure: the caller posts and reports
/// success with [`AmOutbox::posted`]; a failed post stays due (retry with backoff
/// in the caller).
#[derive(Debug, Clone)]
pub struct AmOutbox {
    /// The `hq` label.
    pub hq: String,
    /// Re-post interval (expiry is four of them).
    pub interval: Duration,
    pub generator_url: Option<String>,
    last_post: Option<DateTime<Utc>>,
    dirty: bool,
    /// (alert, resolved at), oldest first.
    resolved: Vec<(Alert, DateTime<Utc>)>,
}

fn td(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

impl AmOutbox {
    pub fn new(hq: impl Into<String>) -> Self {
        AmOutbox {
            hq: hq.into(),
            interval: REPOST_INTERVAL,
            generator_url: None,
            last_post: None,
            dirty: true,
            resolved: Vec::new(),
        }
    }

    /// `endsAt` of a firing alert posted at `now`.
    pub fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_add_signed(td(self.interval.saturating_mul(4)))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Take in one evaluation's transitions.
    pub fn observe(&mut self, now: DateTime<Utc>, t: &Transitions) {
        if !t.is_quiet() {
            self.dirty = true;
        }
        if !t.fired.is_empty() {
            // Fired again: no longer resolved.
            let fired: FxHashSet<String> = t.fired.iter().map(Alert::key).collect();
            self.resolved.retain(|(a, _)| !fired.contains(&a.key()));
        }
        self.resolved
            .extend(t.resolved.iter().map(|a| (a.clone(), now)));
        let cut = now - td(RESOLVED_RETENTION);
        self.resolved.retain(|(_, at)| *at >= cut);
        if self.resolved.len() > MAX_RESOLVED {
            let drop = self.resolved.len() - MAX_RESOLVED;
            self.resolved.drain(..drop);
        }
    }

    /// A post is due: something changed since the last successful post, or the
    /// interval passed.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.dirty || self.last_post.is_none_or(|p| now - p >= td(self.interval))
    }

    /// The body to post now: every firing alert (expiring at [`AmOutbox::expiry`])
    /// and the recently resolved ones (ended when they resolved).
    pub fn body(&self, now: DateTime<Utc>, firing: &[Alert]) -> Vec<AmAlert> {
        let gen_url = self.generator_url.as_deref();
        let ends = self.expiry(now);
        firing
            .iter()
            .map(|a| am_alert(a, &self.hq, Some(ends), gen_url))
            .chain(
                self.resolved
                    .iter()
                    .map(|(a, at)| am_alert(a, &self.hq, Some(*at), gen_url)),
            )
            .collect()
    }

    /// The body was accepted.
    pub fn posted(&mut self, now: DateTime<Utc>) {
        self.last_post = Some(now);
        self.dirty = false;
    }
}

// ---- What Alertmanager lists (`GET /api/v2/alerts`, `GET /api/v2/silences`) ----
// Raw network text: sanitise before showing any of it.

/// One label matcher of a silence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

/// A silence as Alertmanager lists it (the fields Lumen shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "createdBy", default)]
    pub created_by: String,
    #[serde(default)]
    pub comment: String,
    pub status: SilenceStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SilenceStatus {
    pub state: String,
}

/// An alert as Alertmanager lists it (from any poster: Lumen, Prometheus rules…).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedAlert {
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt", default)]
    pub ends_at: String,
    pub fingerprint: String,
    pub status: ListedStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListedStatus {
    pub state: String,
    #[serde(rename = "silencedBy", default)]
    pub silenced_by: Vec<String>,
}

/// An Alertmanager timestamp (RFC 3339), or `None` when it is not one (Alertmanager
/// writes `0001-01-01T00:00:00Z` for "not set").
pub fn parse_am_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| t.timestamp() > 0)
}

/// The labels a silence of one alert matches: every label but `severity`, so the
/// silence keeps holding when the same condition escalates (a branch down going from
/// warning to critical is still the branch the operator silenced).
pub fn silence_labels(labels: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    labels
        .iter()
        .filter(|(k, _)| k.as_str() != "severity")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
