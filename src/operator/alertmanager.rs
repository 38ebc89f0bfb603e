//! Alertmanager API v2 client: post alerts, list active alerts and silences, create a
//! silence — and [`silence_recorded`], which writes the signed `alert_silenced`
//! ledger entry first and only then creates the silence (audit before effect).
//!
//! Every request has a timeout, never follows redirects and sends no `Referer`; the
//! base URL comes from `alertmanager_url` (docs/alerts.md). Answers are read with a
//! size limit, and text from them is sanitised before it is shown.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::alerts::AmAlert;
pub use crate::domain::alerts::{ListedAlert, ListedStatus, Matcher, Silence, SilenceStatus};

/// Largest answer read from Alertmanager.
pub const MAX_ANSWER: usize = 16 * 1024 * 1024;

/// A client for one Alertmanager.
#[derive(Debug, Clone)]
pub struct AmClient {
    base: String,
    http: reqwest::Client,
}

/// A silence to create.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    #[serde(rename = "startsAt")]
    pub starts_at: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
    #[serde(rename = "createdBy")]
    pub created_by: String,
    pub comment: String,
}

/// The `hq` label every poster of this HQ uses: the HQ root directory's name (the
/// same on every machine that mounts it under the same name), so `watch` and every
/// console post identical label sets and Alertmanager keeps one alert.
pub fn hq_label(root: &Path) -> String {
    let abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    abs.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "hq".into())
}

fn describe(e: reqwest::Error) -> String {
    crate::domain::sanitize::sanitize(&super::notify::describe(e)).into_owned()
}

impl AmClient {
    /// `base`: the checked `alertmanager_url` (`http://host:9093`).
    pub fn new(base: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .referer(false)
            .user_agent(concat!("lumen/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build an HTTP client: {}", describe(e)))?;
        Ok(AmClient {
            base: base.trim_end_matches('/').to_string(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v2/{path}", self.base)
    }

    async fn read(&self, resp: reqwest::Response, what: &str) -> anyhow::Result<Vec<u8>> {
        let st = resp.status();
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| anyhow::anyhow!("{what}: {}", describe(e)))?
        {
            if body.len() + chunk.len() > MAX_ANSWER {
                anyhow::bail!("{what}: the answer is larger than {MAX_ANSWER} bytes");
            }
            body.extend_from_slice(&chunk);
        }
        if !st.is_success() {
            let text = String::from_utf8_lossy(body.get(..200.min(body.len())).unwrap_or_default())
                .into_owned();
            anyhow::bail!(
                "{what}: Alertmanager answered HTTP {st}: {}",
                crate::domain::sanitize::sanitize(text.trim())
            );
        }
        Ok(body)
    }

    /// `POST /api/v2/alerts`.
    pub async fn post_alerts(&self, alerts: &[AmAlert]) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(self.url("alerts"))
            .json(alerts)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("posting alerts: {}", describe(e)))?;
        self.read(resp, "posting alerts").await.map(|_| ())
    }

    /// `GET /api/v2/alerts`: the active alerts (silenced and inhibited ones too).
    pub async fn alerts(&self) -> anyhow::Result<Vec<ListedAlert>> {
        let resp = self
            .http
            .get(self.url("alerts"))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("listing alerts: {}", describe(e)))?;
        let body = self.read(resp, "listing alerts").await?;
        serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("listing alerts: unexpected answer: {e}"))
    }

    /// `GET /api/v2/silences`.
    pub async fn silences(&self) -> anyhow::Result<Vec<Silence>> {
        let resp = self
            .http
            .get(self.url("silences"))
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("listing silences: {}", describe(e)))?;
        let body = self.read(resp, "listing silences").await?;
        serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("listing silences: unexpected answer: {e}"))
    }

    /// `POST /api/v2/silences`; returns the new silence's id.
    pub async fn create_silence(&self, s: &NewSilence) -> anyhow::Result<String> {
        #[derive(Deserialize)]
        struct Created {
            #[serde(rename = "silenceID")]
            silence_id: String,
        }
        let resp = self
            .http
            .post(self.url("silences"))
            .json(s)
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("creating a silence: {}", describe(e)))?;
        let body = self.read(resp, "creating a silence").await?;
        let c: Created = serde_json::from_slice(&body)
            .map_err(|e| anyhow::anyhow!("creating a silence: unexpected answer: {e}"))?;
        Ok(crate::domain::sanitize::sanitize(&c.silence_id).into_owned())
    }
}

/// Exact-match matchers for a label set (what silences one alert).
pub fn matchers_for(labels: &BTreeMap<String, String>) -> Vec<Matcher> {
    labels
        .iter()
        .map(|(k, v)| Matcher {
            name: k.clone(),
            value: v.clone(),
            is_regex: false,
            is_equal: true,
        })
        .collect()
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What [`silence_recorded`] did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SilenceOutcome {
    /// The ledger entry id of `alert_silenced`.
    pub ledger_id: String,
    /// Alertmanager's silence id.
    pub silence_id: String,
    #[serde(rename = "endsAt")]
    pub ends_at: String,
}

/// Silence an alert: append a signed `alert_silenced` entry to the ledger FIRST (the
/// signer must hold W on the ledger), then create the silence with `createdBy` = the
/// signer id. If Alertmanager refuses, the ledger entry stays (it records the
/// attempt) and the error is returned.
pub async fn silence_recorded(
    hq_root: &Path,
    who: &crate::store::append::Identity,
    am: &AmClient,
    labels: &BTreeMap<String, String>,
    duration: Duration,
    comment: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<SilenceOutcome> {
    let ends = now
        .checked_add_signed(chrono::TimeDelta::from_std(duration)?)
        .ok_or_else(|| anyhow::anyhow!("the silence's duration is too long"))?;
    crate::operator::guard::authorize_at(
        hq_root,
        who,
        crate::domain::policy::Operation::AlertSilence,
    )
    .map_err(|r| anyhow::anyhow!("{}", r.reason))?;
    let branch = labels.get("branch").cloned().unwrap_or_else(|| "hq".into());
    let mut fields = serde_json::Map::new();
    fields.insert("branch".into(), branch.into());
    fields.insert("event".into(), "alert_silenced".into());
    fields.insert("actor".into(), who.signer_id.clone().into());
    fields.insert("timestamp".into(), ts(now).into());
    fields.insert("labels".into(), serde_json::to_value(labels)?);
    fields.insert("endsAt".into(), ts(ends).into());
    fields.insert("comment".into(), comment.into());
    let appended = crate::store::append::append_signed(
        &hq_root.join(crate::domain::hq::paths::LEDGER),
        who,
        fields,
    )?;
    let ledger_id = appended.id;
    let silence = NewSilence {
        matchers: matchers_for(labels),
        starts_at: ts(now),
        ends_at: ts(ends),
        created_by: who.signer_id.clone(),
        comment: comment.to_string(),
    };
    let silence_id = am.create_silence(&silence).await?;
    Ok(SilenceOutcome {
        ledger_id,
        silence_id,
        ends_at: ts(ends),
    })
}
