//! Ledger state: recent lines, rejects, flow histogram, integrity; the ledger pane's keys.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use super::*;

/// Event class for the ledger's flow histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    Deploy,
    Failure,
    Llm,
    Operator,
}

impl EventClass {
    pub const ALL: [EventClass; 4] = [
        EventClass::Deploy,
        EventClass::Failure,
        EventClass::Llm,
        EventClass::Operator,
    ];

    pub fn of(event: &str, status: Option<&str>) -> Option<EventClass> {
        if event.contains("fail") || status == Some("failed") || event == "cost_limit_exceeded" {
            return Some(EventClass::Failure);
        }
        if event.starts_with("deploy") || event == "pr_opened" {
            return Some(EventClass::Deploy);
        }
        if event.starts_with("llm") {
            return Some(EventClass::Llm);
        }
        if event.starts_with("rollback")
            || event.starts_with("kill_switch")
            || event.starts_with("maintenance")
            || event == "rule_rollback"
            || event == "ceremony_rehearsal"
        {
            return Some(EventClass::Operator);
        }
        None
    }

    pub fn label(self) -> &'static str {
        match self {
            EventClass::Deploy => "deploy",
            EventClass::Failure => "failure",
            EventClass::Llm => "llm",
            EventClass::Operator => "operator",
        }
    }
}

/// Width of one histogram bucket (15 min) and how many make a day.
pub const FLOW_BUCKET_SECS: i64 = 900;
pub const FLOW_BUCKETS: i64 = 96;

/// A rejected line, for the rejects view.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectRow {
    pub line: u64,
    pub offset: u64,
    pub reason: RejectReason,
    pub excerpt: String,
}

/// The ledger as the console sees it: a window of recent lines plus running totals.
#[derive(Debug, Clone, Default)]
pub struct LedgerState {
    /// The most recent lines (entries and rejects), oldest first.
    pub recent: VecDeque<LedgerRecord>,
    pub entries: u64,
    pub rejects: u64,
    pub reject_rows: VecDeque<RejectRow>,
    pub signed: u64,
    pub unchained: u64,
    pub pending_bytes: u64,
    pub last_line: u64,
    /// Flow histogram: 15-minute bucket index (unix secs / 900) → counts per class.
    pub flow: BTreeMap<i64, [u32; 4]>,
    /// Per-branch failures (`deploy_failed`, `health_fail`) with their time, for 24 h counts.
    pub failures: BTreeMap<String, VecDeque<DateTime<Utc>>>,
    /// Per-branch latest deploy id (for a rollback from a branch row).
    pub latest_deploy: BTreeMap<String, String>,
    pub resets: u64,
    /// Result and time of the last background verification.
    pub integrity: Option<(DateTime<Utc>, Integrity)>,
}

/// How many recent lines the console keeps in memory for the stream view.
pub const RECENT_LINES: usize = 5_000;
pub(crate) const REJECT_ROWS: usize = 1_000;

impl LedgerState {
    pub(crate) fn ingest(&mut self, records: Vec<LedgerRecord>, now: DateTime<Utc>) {
        for r in records {
            self.last_line = self.last_line.max(r.line);
            match &r.parsed {
                Ok(e) => {
                    self.entries += 1;
                    if e.signed {
                        self.signed += 1;
                    }
                    if !e.chained {
                        self.unchained += 1;
                    }
                    self.count_entry(e, now);
                }
                Err(reason) => {
                    self.rejects += 1;
                    self.reject_rows.push_back(RejectRow {
                        line: r.line,
                        offset: r.offset,
                        reason: reason.clone(),
                        excerpt: r.excerpt.clone(),
                    });
                    while self.reject_rows.len() > REJECT_ROWS {
                        self.reject_rows.pop_front();
                    }
                }
            }
            self.recent.push_back(r);
        }
        while self.recent.len() > RECENT_LINES {
            self.recent.pop_front();
        }
        self.prune(now);
    }

    pub(crate) fn count_entry(&mut self, e: &Entry, now: DateTime<Utc>) {
        let ts = e.timestamp.with_timezone(&Utc);
        if let Some(class) = EventClass::of(&e.event, e.status.as_deref()) {
            let bucket = ts.timestamp().div_euclid(FLOW_BUCKET_SECS);
            let slot = self.flow.entry(bucket).or_insert([0; 4]);
            let i = EventClass::ALL
                .iter()
                .position(|c| *c == class)
                .unwrap_or(0);
            if let Some(c) = slot.get_mut(i) {
                *c = c.saturating_add(1);
            }
        }
        if (e.event == "deploy_failed" || e.event == "health_fail")
            && now - ts < chrono::Duration::hours(24)
        {
            self.failures
                .entry(e.branch.clone())
                .or_default()
                .push_back(ts);
        }
        if e.event == "deploy" && e.status.as_deref() != Some("failed") {
            self.latest_deploy.insert(e.branch.clone(), e.id.clone());
        }
    }

    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let oldest = now.timestamp().div_euclid(FLOW_BUCKET_SECS) - FLOW_BUCKETS;
        self.flow = self.flow.split_off(&oldest);
        let day_ago = now - chrono::Duration::hours(24);
        for q in self.failures.values_mut() {
            while q.front().is_some_and(|t| *t < day_ago) {
                q.pop_front();
            }
        }
    }

    pub fn failures_24h(&self, branch: &str) -> usize {
        self.failures.get(branch).map_or(0, |q| q.len())
    }

    /// Entries of today (UTC) per class, for the totals line.
    pub fn today_total(&self, now: DateTime<Utc>) -> u32 {
        let midnight = now.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let Some(m) = midnight else { return 0 };
        let from = m.timestamp().div_euclid(FLOW_BUCKET_SECS);
        self.flow
            .range(from..)
            .map(|(_, c)| c.iter().sum::<u32>())
            .sum()
    }
}

/// The last background verification of the whole ledger (SPEC §4.2, §4.3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Integrity {
    pub chain_ok: u64,
    pub chain_broken: u64,
    pub sig_ok: u64,
    pub sig_bad: u64,
    pub checkpoints_ok: u64,
    pub checkpoints_bad: u64,
    pub unchained: u64,
    /// The first problem found, for the badge's tooltip line.
    pub problem: Option<String>,
    /// Set when verification itself could not run (unreadable keys.json…).
    pub error: Option<String>,
}

/// View state of the ledger pane (scroll, follow, detail, rejects view).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerView {
    /// Following the tail (newest line at the bottom).
    pub follow: bool,
    /// Selected line, as an index into `LedgerState::recent` counted from the newest (0).
    pub from_newest: usize,
    /// Lines that arrived while paused.
    pub new_while_paused: u64,
    pub detail: bool,
    pub rejects: bool,
    /// The last filter submitted with `/` (recalled when `/` opens again).
    pub filter: String,
}

impl App {
    pub(crate) fn ledger_action(&mut self, a: Action) {
        let n = self.ledger.recent.len();
        let v = &mut self.ledger_view;
        match a {
            Action::Up => {
                v.follow = false;
                v.from_newest = (v.from_newest + 1).min(n.saturating_sub(1));
            }
            Action::PageUp => {
                v.follow = false;
                v.from_newest = (v.from_newest + 20).min(n.saturating_sub(1));
            }
            Action::Down => {
                v.from_newest = v.from_newest.saturating_sub(1);
            }
            Action::PageDown => v.from_newest = v.from_newest.saturating_sub(20),
            Action::Top => {
                v.follow = false;
                v.from_newest = n.saturating_sub(1);
            }
            Action::Bottom => {
                v.follow = true;
                v.from_newest = 0;
                v.new_while_paused = 0;
            }
            Action::ToggleFollow => {
                v.follow = !v.follow;
                if v.follow {
                    v.from_newest = 0;
                    v.new_while_paused = 0;
                }
            }
            Action::Select => {
                v.detail = !v.detail;
                v.rejects = false;
            }
            _ => {}
        }
    }
}

impl App {
    /// `/` submitted in the ledger pane.
    pub(crate) fn submit_ledger_filter(&mut self, text: String) {
        self.ledger_view.filter = text;
    }
}
