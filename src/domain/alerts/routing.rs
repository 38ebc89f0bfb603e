//! Routing alerts to `rules.json` channels, exactly once.
//!
//! `rules.json` maps names to channel targets (`provider:channel`). A value is the
//! plain list of the whitepaper, `["slack:critical","kakao:hq"]`, or an object
//! `{"channels":["slack:critical"],"sendResolved":true}` that also asks for a message
//! when the alert resolves. An alert is routed by the first key present of: its
//! alertname (`KillSwitchViolation`), the snake_case form (`kill_switch_violation`),
//! then the HQ event name it stands for (`kill_switch_activated`; see
//! [`AlertName::event_key`]). Info alerts are never sent.
//!
//! Delivery is level-triggered against a [`SentLog`]: [`route`] compares what fires
//! with what each channel was already told and returns only the difference; the
//! caller sends each and records the successes with [`SentLog::mark_sent`]. Calling
//! it again with the same state returns nothing; a restart that loads the persisted
//! log sends nothing again. A crash between a send and persisting the log can repeat
//! that one message (at-least-once at that instant, never a lost alert).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rustc_hash::FxHashSet;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::eval::Transitions;
use super::{Alert, AlertName, Severity};
use crate::domain::hq::{FileError, NotifyRules};

/// A record stays this long after its alert stopped firing before the alert counts
/// as resolved for routing. It absorbs flapping and the warm-up after a restart
/// (conditions that take a while to be seen again are not re-sent when they are).
pub const RESOLVE_AFTER: Duration = Duration::from_secs(300);
/// A resolution message that could not be sent for this long is given up.
pub const RESOLVE_GIVE_UP: Duration = Duration::from_secs(24 * 3600);

/// Where one name is routed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    /// Targets like `slack:critical`, in file order, without duplicates.
    pub channels: Vec<String>,
    /// Send a message when the alert resolves too (object form only).
    #[serde(rename = "sendResolved")]
    pub send_resolved: bool,
}

fn valid_target(t: &str) -> bool {
    t.split_once(':')
        .is_some_and(|(p, c)| !p.is_empty() && !c.is_empty())
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(v.len());
    for t in v {
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// One target string, checked as it is read so an error carries its position.
struct Target(String);

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = String::deserialize(d)?;
        if !valid_target(&t) {
            return Err(de::Error::custom(format!(
                "target `{}` is not `provider:channel`; expected e.g. `slack:critical`",
                crate::domain::sanitize::sanitize(&t)
            )));
        }
        Ok(Target(t))
    }
}

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rule;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a list of targets like [\"slack:critical\"], or {\"channels\":[…],\"sendResolved\":true}",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Rule, A::Error> {
                let mut channels = Vec::new();
                while let Some(Target(t)) = s.next_element()? {
                    channels.push(t);
                }
                Ok(Rule {
                    channels: dedup(channels),
                    send_resolved: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Rule, A::Error> {
                let mut channels: Option<Vec<String>> = None;
                let mut send_resolved = None;
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "channels" if channels.is_some() => {
                            return Err(de::Error::duplicate_field("channels"));
                        }
                        "channels" => {
                            let v: Vec<Target> = m.next_value()?;
                            channels = Some(v.into_iter().map(|t| t.0).collect());
                        }
                        "sendResolved" if send_resolved.is_some() => {
                            return Err(de::Error::duplicate_field("sendResolved"));
                        }
                        "sendResolved" => send_resolved = Some(m.next_value::<bool>()?),
                        other => {
                            return Err(de::Error::unknown_field(
                                &crate::domain::sanitize::sanitize(other),
                                &["channels", "sendResolved"],
                            ));
                        }
                    }
                }
                let channels = channels.ok_or_else(|| de::Error::missing_field("channels"))?;
                Ok(Rule {
                    channels: dedup(channels),
                    send_resolved: send_resolved.unwrap_or(false),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// `rules.json`: name → rule.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoutingRules {
    pub rules: BTreeMap<String, Rule>,
}

impl RoutingRules {
    /// From the parsed `rules.json` (both value forms).
    pub fn from_plain(r: &NotifyRules) -> Self {
        RoutingRules {
            rules: r
                .rules
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        Rule {
                            channels: dedup(v.clone()),
                            send_resolved: r.send_resolved.contains(k),
                        },
                    )
                })
                .collect(),
        }
    }

    /// The rule that routes `name` and the key it was found under.
    pub fn rule_for(&self, name: AlertName) -> Option<(&str, &Rule)> {
        name.rule_keys()
            .find_map(|k| self.rules.get_key_value(k))
            .map(|(k, r)| (k.as_str(), r))
    }
}

/// Parse `rules.json` (both value forms; see [`crate::domain::hq::parse_notify_rules`]).
/// Errors name file, line and column.
pub fn parse_routing_rules(path: &Path, bytes: &[u8]) -> Result<RoutingRules, FileError> {
    crate::domain::hq::parse_notify_rules(path, bytes).map(|r| RoutingRules::from_plain(&r))
}

/// Which way a notification reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NotifyState {
    Firing,
    Resolved,
}

/// One message to send to one channel.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notification {
    /// [`Alert::key`].
    pub key: String,
    /// Target like `slack:critical` (look it up in `channels.json`).
    pub channel: String,
    /// The `rules.json` key that routed it.
    pub rule: String,
    pub state: NotifyState,
    pub alert: Alert,
}

impl Notification {
    /// One line for chat channels:
    /// `[critical] KillSwitchViolation papafly: deploy … — do: find what deployed …`
    /// or `[resolved] …`.
    pub fn text(&self) -> String {
        let a = &self.alert;
        let tag = match self.state {
            NotifyState::Firing => a.severity.as_str(),
            NotifyState::Resolved => "resolved",
        };
        let mut s = format!("[{tag}] {}", a.alertname);
        if let Some(b) = a.branch() {
            s.push(' ');
            s.push_str(b);
        }
        s.push_str(": ");
        s.push_str(&a.summary);
        if self.state == NotifyState::Firing {
            s.push_str(" — do: ");
            s.push_str(&a.action);
        }
        s
    }
}

/// What each channel was told about one alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SentRecord {
    /// The alert as last sent.
    pub alert: Alert,
    /// Channel → when its firing message was sent.
    pub channels: BTreeMap<String, DateTime<Utc>>,
    /// When the alert was first seen not firing (cleared if it fires again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stale_since: Option<DateTime<Utc>>,
}

/// What has been sent, per alert key and channel. Serialisable so `watch` can keep it
/// on disk; bounded by the alerts that fire (a resolved alert's record goes once its
/// resolution is settled).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SentLog {
    pub version: u32,
    #[serde(default)]
    pub alerts: BTreeMap<String, SentRecord>,
    /// Set when the log changed since [`SentLog::take_changed`] (persist then).
    #[serde(skip)]
    changed: bool,
}

impl Default for SentLog {
    fn default() -> Self {
        SentLog {
            version: 1,
            alerts: BTreeMap::new(),
            changed: false,
        }
    }
}

impl PartialEq for SentLog {
    /// The content; not whether it changed since it was last persisted.
    fn eq(&self, other: &Self) -> bool {
        self.version == other.version && self.alerts == other.alerts
    }
}

impl SentLog {
    /// Record a successful send.
    pub fn mark_sent(&mut self, n: &Notification, at: DateTime<Utc>) {
        match n.state {
            NotifyState::Firing => {
                let rec = self
                    .alerts
                    .entry(n.key.clone())
                    .or_insert_with(|| SentRecord {
                        alert: n.alert.clone(),
                        channels: BTreeMap::new(),
                        stale_since: None,
                    });
                rec.alert = n.alert.clone();
                rec.channels.insert(n.channel.clone(), at);
            }
            NotifyState::Resolved => {
                if let Some(rec) = self.alerts.get_mut(&n.key) {
                    rec.channels.remove(&n.channel);
                    if rec.channels.is_empty() {
                        self.alerts.remove(&n.key);
                    }
                }
            }
        }
        self.changed = true;
    }

    /// Whether the log changed since the last call (then persist it).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }
}

/// The notifications to send now, given what fires (`t.firing`) and what was sent.
///
/// - Firing: every alert of severity warning or above with a rule gets one message per
///   rule channel not yet told.
/// - Resolved: an alert that has not fired for [`RESOLVE_AFTER`] gets a resolution
///   message on each channel that was told it fired, if its rule has
///   `sendResolved`; otherwise (or when the same condition fires at another
///   severity, i.e. it escalated, or when it could not be sent for
///   [`RESOLVE_GIVE_UP`]) it is forgotten silently.
///
/// Call it with evaluations of complete facts only (after the ledger was ingested).
pub fn route(
    now: DateTime<Utc>,
    t: &Transitions,
    rules: &RoutingRules,
    log: &mut SentLog,
) -> Vec<Notification> {
    let mut out = Vec::new();
    let mut keys: FxHashSet<String> = FxHashSet::default();
    let mut groups: FxHashSet<String> = FxHashSet::default();
    for a in &t.firing {
        let key = a.key();
        groups.insert(a.group_key());
        if let Some(rec) = log.alerts.get_mut(&key)
            && rec.stale_since.take().is_some()
        {
            log.changed = true;
        }
        if a.severity != Severity::Info
            && let Some((rule_key, rule)) = rules.rule_for(a.alertname)
        {
            let rec = log.alerts.get(&key);
            for ch in &rule.channels {
                if !rec.is_some_and(|r| r.channels.contains_key(ch)) {
                    out.push(Notification {
                        key: key.clone(),
                        channel: ch.clone(),
                        rule: rule_key.to_owned(),
                        state: NotifyState::Firing,
                        alert: a.clone(),
                    });
                }
            }
        }
        keys.insert(key);
    }
    let grace = TimeDelta::from_std(RESOLVE_AFTER).unwrap_or(TimeDelta::MAX);
    let mut changed = false;
    log.alerts.retain(|key, rec| {
        if keys.contains(key) {
            return true;
        }
        let Some(stale) = rec.stale_since else {
            rec.stale_since = Some(now);
            changed = true;
            return true;
        };
        if now - stale < grace {
            return true;
        }
        let silent = groups.contains(&rec.alert.group_key())
            || now - stale >= TimeDelta::from_std(RESOLVE_GIVE_UP).unwrap_or(TimeDelta::MAX);
        let rule = rules.rule_for(rec.alert.alertname);
        let before = rec.channels.len();
        rec.channels.retain(|ch, _| {
            let wants =
                !silent && rule.is_some_and(|(_, r)| r.send_resolved && r.channels.contains(ch));
            if let (true, Some((rule_key, _))) = (wants, rule) {
                out.push(Notification {
                    key: key.clone(),
                    channel: ch.clone(),
                    rule: rule_key.to_owned(),
                    state: NotifyState::Resolved,
                    alert: rec.alert.clone(),
                });
            }
            wants
        });
        changed |= rec.channels.len() != before;
        !rec.channels.is_empty()
    });
    log.changed |= changed;
    out
}
