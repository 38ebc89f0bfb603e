//! Notifications: a Slack-compatible `{"text": …}` POST to every webhook that
//! `rules.json` names for an event, with a timeout and retries with backoff. Webhook
//! URLs are secrets: only [`redact`]ed forms are ever shown or logged, and reqwest
//! errors are stripped of their URL. Redirects are never followed and no `Referer` is
//! sent: a 3xx answer is a delivery failure, not retried.
//!
//! Event keys (the ledger event names): `rollback` (a finished rollback, success or
//! not), `rollback_failed` (additionally, when a branch failed or timed out),
//! `kill_switch_activated`, `kill_switch_released`, `maintenance_on`,
//! `maintenance_off`, `rule_rollback`.

use std::time::Duration;

use serde::Serialize;

use crate::domain::hq::{Channels, NotifyRules};

/// Timeout and retry policy.
#[derive(Debug, Clone, Copy)]
pub struct NotifyOptions {
    pub timeout: Duration,
    pub tries: u32,
    /// Wait before the second try; doubled before each further one.
    pub backoff: Duration,
}

impl Default for NotifyOptions {
    fn default() -> Self {
        NotifyOptions {
            timeout: Duration::from_secs(5),
            tries: 3,
            backoff: Duration::from_millis(300),
        }
    }
}

/// The delivery status of one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The rule target, e.g. `slack:critical`.
    pub target: String,
    /// The redacted URL (`https://hooks.example/…`), or empty when unknown.
    pub url: String,
    pub delivered: bool,
    pub attempts: u32,
    /// Why delivery failed (never contains the URL).
    pub error: Option<String>,
}

/// `scheme://host/…` — what may be shown of a webhook URL. User info, path, query and
/// fragment are dropped. (Hand-written: pulling in a URL parser to cut at the first
/// `/` after the authority is not worth it, and a malformed URL must still redact.)
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<webhook URL>".into();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if scheme.is_empty() || host.is_empty() {
        return "<webhook URL>".into();
    }
    format!("{scheme}://{host}/…")
}

/// A reqwest error with its causes, never its URL (`without_url`; the causes are
/// connect / TLS / timeout errors, which name at most the host).
pub(crate) fn describe(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut s = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut src = std::error::Error::source(&e);
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}

/// The webhook client: never follows a redirect (a 3xx would replay the POST, body and
/// all, to a host the operator never configured) and never sends `Referer` (it would
/// carry the secret URL).
fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
        .build()
}

/// The event keys that a rollback outcome notifies.
pub fn rollback_events(ok: bool) -> &'static [&'static str] {
    if ok {
        &["rollback"]
    } else {
        &["rollback", "rollback_failed"]
    }
}

/// POST `{"text": text}` to every target `rules.json` lists for any of `events`
/// (each target once). Missing files or no rule → no deliveries.
pub async fn notify(
    channels: Option<&Channels>,
    rules: Option<&NotifyRules>,
    events: &[&str],
    text: &str,
    opts: NotifyOptions,
) -> Vec<Delivery> {
    let Some(rules) = rules else {
        return Vec::new();
    };
    let mut targets: Vec<&str> = Vec::new();
    for ev in events {
        for t in rules.targets(ev) {
            if !targets.contains(&t.as_str()) {
                targets.push(t);
            }
        }
    }
    if targets.is_empty() {
        return Vec::new();
    }
    let client = match client(opts.timeout) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.without_url().to_string();
            return targets
                .into_iter()
                .map(|t| Delivery {
                    target: t.to_string(),
                    url: String::new(),
                    delivered: false,
                    attempts: 0,
                    error: Some(format!("cannot build an HTTP client: {msg}")),
                })
                .collect();
        }
    };
    let body = serde_json::json!({ "text": text });
    let sends = targets
        .into_iter()
        .map(|t| deliver(&client, channels, t, &body, opts));
    futures::future::join_all(sends).await
}

/// POST each `(target, text)` as `{"text": text}` to its channel, concurrently, with
/// the same client, timeout, retries and redaction as [`notify`]. One [`Delivery`]
/// per pair, in order. Used by `lumen watch` for routed alerts.
pub async fn send_each(
    channels: Option<&Channels>,
    messages: &[(String, String)],
    opts: NotifyOptions,
) -> Vec<Delivery> {
    let client = match client(opts.timeout) {
        Ok(c) => c,
        Err(e) => {
            let msg = e.without_url().to_string();
            return messages
                .iter()
                .map(|(t, _)| Delivery {
                    target: t.clone(),
                    url: String::new(),
                    delivered: false,
                    attempts: 0,
                    error: Some(format!("cannot build an HTTP client: {msg}")),
                })
                .collect();
        }
    };
    let bodies: Vec<serde_json::Value> = messages
        .iter()
        .map(|(_, text)| serde_json::json!({ "text": text }))
        .collect();
    let sends = messages
        .iter()
        .zip(&bodies)
        .map(|((t, _), body)| deliver(&client, channels, t, body, opts));
    futures::future::join_all(sends).await
}

/// One target: look its URL up, POST with retries and backoff.
async fn deliver(
    client: &reqwest::Client,
    channels: Option<&Channels>,
    t: &str,
    body: &serde_json::Value,
    opts: NotifyOptions,
) -> Delivery {
    let Some(url) = channels.and_then(|c| c.lookup(t)) else {
        tracing::warn!(target = t, "notification target is not in channels.json");
        return Delivery {
            target: t.to_string(),
            url: String::new(),
            delivered: false,
            attempts: 0,
            error: Some("not configured in channels.json".into()),
        };
    };
    let shown = redact(url.expose());
    let mut delay = opts.backoff;
    let mut last_err = None;
    let tries = opts.tries.max(1);
    for attempt in 1..=tries {
        match client.post(url.expose()).json(body).send().await {
            Ok(resp) if resp.status().is_success() => {
                tracing::info!(target = t, url = %shown, attempt, "notification delivered");
                return Delivery {
                    target: t.to_string(),
                    url: shown,
                    delivered: true,
                    attempts: attempt,
                    error: None,
                };
            }
            Ok(resp) => {
                let st = resp.status();
                // A redirect is a configuration problem (the channel URL is wrong or
                // moved): not followed, not retried. Its `Location` is never shown
                // (it may carry a secret too).
                last_err = Some(if st.is_redirection() {
                    format!(
                        "HTTP {st}: the webhook answered with a redirect, which is never followed; fix the channel's URL in channels.json"
                    )
                } else {
                    format!("HTTP {st}")
                });
                // Client errors other than rate limiting will not improve.
                if st.is_redirection() || (st.is_client_error() && st.as_u16() != 429) {
                    return Delivery {
                        target: t.to_string(),
                        url: shown,
                        delivered: false,
                        attempts: attempt,
                        error: last_err,
                    };
                }
            }
            Err(e) => last_err = Some(describe(e)),
        }
        tracing::warn!(
            target = t,
            url = %shown,
            attempt,
            "notification failed: {}",
            last_err.as_deref().unwrap_or("")
        );
        if attempt < tries {
            tokio::time::sleep(delay).await;
            delay = delay.saturating_mul(2);
        }
    }
    Delivery {
        target: t.to_string(),
        url: shown,
        delivered: false,
        attempts: tries,
        error: last_err,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_keeps_only_scheme_and_host() {
        assert_eq!(
            redact("https://hooks.slack.com/services/T0/B0/SECRET"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            redact("http://user:pw@127.0.0.1:8080/x?token=s"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(redact("https://h?token=s"), "https://h/…");
        assert_eq!(redact("garbage-secret"), "<webhook URL>");
        assert_eq!(redact("https://"), "<webhook URL>");
    }
}
