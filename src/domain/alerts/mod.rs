//! Alerts: what is broken right now, as data. Pure: no file or network I/O, no
//! tokio, no terminal. The console, `lumen watch`, `lumen alerts` and the
//! Alertmanager poster all build on this module.
//!
//! - [`Alert`]: one firing condition with a stable identity ([`Alert::key`],
//!   [`Alert::fingerprint`]) so any number of evaluators agree on it.
//! - [`Inputs`]: the facts one evaluation looks at (health, cost, integrity, sources,
//!   files, rhythm); ledger facts arrive entry by entry through
//!   [`Evaluator::ingest`], so the ledger is never re-scanned per tick.
//! - [`Evaluator`]: turns facts into [`Transitions`] (fired, resolved, firing) with
//!   `since` kept stable across evaluations; the clock is the `now` handed in.
//! - [`summarize`] and [`sort_for_view`]: the header line and the alerts view order.
//! - [`route`] and [`SentLog`]: which notification goes to which `rules.json`
//!   channel, exactly once, across restarts.
//! - [`AmOutbox`] and [`am_alert`]: the Alertmanager v2 `POST /api/v2/alerts` body.
//!
//! The plain-words description of every condition, threshold and routing rule is
//! `docs/alerts.md`.

mod alertmanager;
mod eval;
mod inputs;
mod ledger_watch;
mod routing;
mod summary;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use alertmanager::{
    AmAlert, AmOutbox, ListedAlert, ListedStatus, Matcher, REPOST_INTERVAL, RESOLVED_RETENTION,
    Silence, SilenceStatus, am_alert, am_labels, parse_am_time, silence_labels,
};
pub use eval::{
    DEPLOY_FAILED_TTL, Evaluator, KILL_SWITCH_VIOLATION_TTL, MAX_OPEN, REJECTS_QUIET, RHYTHM_HOLD,
    RHYTHM_STALE, SOURCE_DOWN_FACTOR, Transitions,
};
pub use inputs::{
    BranchFacts, ConflictPolicy, CostFacts, HealthEscalation, HealthStatus, Inputs, IntegrityCheck,
    IntegrityFacts, IntegrityFailure, RejectFacts, RhythmFacts, SourceFacts,
};
pub use routing::{
    Notification, NotifyState, RESOLVE_AFTER, RESOLVE_GIVE_UP, RoutingRules, Rule, SentLog,
    SentRecord, parse_routing_rules, route,
};
pub use summary::{
    HeaderFacts, LedgerBadge, Segment, Summary, Tone, header_facts, sort_for_view, summarize,
    view_order,
};

/// How urgent an alert is. Declared worst first, so sorting ascending puts critical
/// alerts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Act now: an outage, a broken ledger, a violated kill switch.
    Critical,
    /// Someone should look soon.
    Warning,
    /// Shown in the console; never sent to a channel.
    Info,
}

impl Severity {
    pub const ALL: [Severity; 3] = [Severity::Critical, Severity::Warning, Severity::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// Every condition Lumen evaluates. The name is the `alertname` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AlertName {
    BranchDown,
    DeployFailed,
    LedgerIntegrity,
    LedgerRejects,
    CostOverLimit,
    KillSwitchViolation,
    ConflictUnresolved,
    SourceDown,
    FileInvalid,
    RhythmThreshold,
    CustodyProblem,
}

impl AlertName {
    pub const ALL: [AlertName; 11] = [
        AlertName::BranchDown,
        AlertName::DeployFailed,
        AlertName::LedgerIntegrity,
        AlertName::LedgerRejects,
        AlertName::CostOverLimit,
        AlertName::KillSwitchViolation,
        AlertName::ConflictUnresolved,
        AlertName::SourceDown,
        AlertName::FileInvalid,
        AlertName::RhythmThreshold,
        AlertName::CustodyProblem,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertName::BranchDown => "BranchDown",
            AlertName::DeployFailed => "DeployFailed",
            AlertName::LedgerIntegrity => "LedgerIntegrity",
            AlertName::LedgerRejects => "LedgerRejects",
            AlertName::CostOverLimit => "CostOverLimit",
            AlertName::KillSwitchViolation => "KillSwitchViolation",
            AlertName::ConflictUnresolved => "ConflictUnresolved",
            AlertName::SourceDown => "SourceDown",
            AlertName::FileInvalid => "FileInvalid",
            AlertName::RhythmThreshold => "RhythmThreshold",
            AlertName::CustodyProblem => "CustodyProblem",
        }
    }

    /// The name in `snake_case` (`BranchDown` → `branch_down`), accepted as a
    /// `rules.json` key.
    pub fn snake(self) -> &'static str {
        match self {
            AlertName::BranchDown => "branch_down",
            AlertName::DeployFailed => "deploy_failed",
            AlertName::LedgerIntegrity => "ledger_integrity",
            AlertName::LedgerRejects => "ledger_rejects",
            AlertName::CostOverLimit => "cost_over_limit",
            AlertName::KillSwitchViolation => "kill_switch_violation",
            AlertName::ConflictUnresolved => "conflict_unresolved",
            AlertName::SourceDown => "source_down",
            AlertName::FileInvalid => "file_invalid",
            AlertName::RhythmThreshold => "rhythm_threshold",
            AlertName::CustodyProblem => "custody_problem",
        }
    }

    /// The HQ event name (`rules.json` key of the whitepaper) this alert is routed
    /// by when no rule names the alert itself.
    pub fn event_key(self) -> Option<&'static str> {
        match self {
            AlertName::DeployFailed => Some("deploy_failed"),
            AlertName::LedgerIntegrity | AlertName::LedgerRejects => Some("ledger_error"),
            AlertName::CostOverLimit => Some("cost_limit_exceeded"),
            AlertName::KillSwitchViolation => Some("kill_switch_activated"),
            AlertName::ConflictUnresolved => Some("conflict_detected"),
            AlertName::BranchDown
            | AlertName::SourceDown
            | AlertName::FileInvalid
            | AlertName::RhythmThreshold
            | AlertName::CustodyProblem => None,
        }
    }

    /// `rules.json` keys that route this alert, most specific first: the alertname,
    /// its snake_case form, then the HQ event name.
    pub fn rule_keys(self) -> impl Iterator<Item = &'static str> {
        let event = self.event_key().filter(|e| *e != self.snake());
        [Some(self.as_str()), Some(self.snake()), event]
            .into_iter()
            .flatten()
    }

    pub fn parse(s: &str) -> Option<AlertName> {
        AlertName::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

impl std::fmt::Display for AlertName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What Enter on an alert jumps to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A row of the branch health pane.
    Branch { id: String },
    /// A ledger line (1-based) and/or entry id.
    Ledger {
        line: Option<u64>,
        id: Option<String>,
    },
    /// The rejects view, at the newest new reject when known.
    Rejects { line: Option<u64> },
    /// An HQ file and the position of its problem.
    File {
        path: String,
        line: usize,
        column: usize,
    },
    /// A data source (exporter, health checks, Prometheus).
    Source { name: String },
    /// A rhythm gauge.
    Rhythm { gauge: String },
}

/// Label names, sorted. Values are stable across evaluators (ids, HQ-relative
/// paths), never times or counts.
pub type Labels = BTreeMap<String, String>;

/// One firing condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub alertname: AlertName,
    pub severity: Severity,
    /// Identifying labels: `branch` where the alert has one, plus whatever tells
    /// instances apart (`id` of a ledger entry, `check`, `source`, `path`, `gauge`).
    /// `alertname` and `severity` are not repeated here.
    pub labels: Labels,
    /// When the condition started (stable while it fires).
    pub since: DateTime<Utc>,
    /// One line: what is wrong. Already sanitised.
    pub summary: String,
    /// One line: what to do. Already sanitised.
    pub action: String,
    pub target: Target,
}

impl Alert {
    pub fn branch(&self) -> Option<&str> {
        self.labels.get("branch").map(String::as_str)
    }

    /// The identity: `alertname{label="value",…,severity="…"}`, labels sorted by
    /// name, values escaped like Prometheus label values. Two evaluators looking at
    /// the same facts produce the same key. Severity is part of it (as it is of the
    /// Alertmanager label set): an escalation from warning to critical is a new
    /// alert, and the warning one resolves.
    pub fn key(&self) -> String {
        self.key_with(Some(self.severity))
    }

    /// The identity without severity: the same condition at any severity.
    pub fn group_key(&self) -> String {
        self.key_with(None)
    }

    pub(crate) fn key_with(&self, severity: Option<Severity>) -> String {
        let mut out = String::with_capacity(64);
        out.push_str(self.alertname.as_str());
        out.push('{');
        let sev = severity.map(|s| ("severity", s.as_str()));
        let mut first = true;
        let mut put = |out: &mut String, k: &str, v: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str(k);
            out.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => out.push_str("\\\\"),
                    '"' => out.push_str("\\\""),
                    '\n' => out.push_str("\\n"),
                    c => out.push(c),
                }
            }
            out.push('"');
        };
        let mut sev_done = sev.is_none();
        for (k, v) in &self.labels {
            if let Some((sk, sv)) = sev
                && !sev_done
                && sk < k.as_str()
            {
                put(&mut out, sk, sv);
                sev_done = true;
            }
            put(&mut out, k, v);
        }
        if let (Some((sk, sv)), false) = (sev, sev_done) {
            put(&mut out, sk, sv);
        }
        out.push('}');
        out
    }

    /// 16 hex digits of SHA-256 over [`Alert::key`]: short, stable, for logs and
    /// file names.
    pub fn fingerprint(&self) -> String {
        fingerprint_of(&self.key())
    }
}

/// The fingerprint of a key (see [`Alert::fingerprint`]).
pub fn fingerprint_of(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(16);
    for b in digest.iter().take(8) {
        let _ = write!(out, "{b:02x}");
    }
    out
}
