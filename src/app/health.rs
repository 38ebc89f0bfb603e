//! Branch health state: per-branch checks, status, escalation; the health pane's keys.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::*;

/// A branch's status as shown in the health pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HealthStatus {
    Up,
    Degraded,
    Down,
    Maintenance,
    Unknown,
}

impl HealthStatus {
    pub fn label(self) -> &'static str {
        match self {
            HealthStatus::Up => "up",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
            HealthStatus::Maintenance => "maintenance",
            HealthStatus::Unknown => "unknown",
        }
    }

    /// Every status, for the filter grammar.
    pub const ALL: [HealthStatus; 5] = [
        HealthStatus::Up,
        HealthStatus::Degraded,
        HealthStatus::Down,
        HealthStatus::Maintenance,
        HealthStatus::Unknown,
    ];

    /// Sort rank, worst first: down, degraded, unknown, maintenance, up.
    pub fn worst_first(self) -> u8 {
        match self {
            HealthStatus::Down => 0,
            HealthStatus::Degraded => 1,
            HealthStatus::Unknown => 2,
            HealthStatus::Maintenance => 3,
            HealthStatus::Up => 4,
        }
    }
}

/// Escalation after consecutive failures (whitepaper §12, README.md): every third
/// consecutive failure climbs one level — retry → rollback proposed → hq_admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Escalation {
    None,
    Retry,
    RollbackProposed,
    HqAdmin,
}

impl Escalation {
    pub fn from_failures(n: u32) -> Self {
        match n {
            0 => Escalation::None,
            1..=2 => Escalation::Retry,
            3..=5 => Escalation::RollbackProposed,
            _ => Escalation::HqAdmin,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Escalation::None => "—",
            Escalation::Retry => "retry",
            Escalation::RollbackProposed => "rollback proposed",
            Escalation::HqAdmin => "hq_admin",
        }
    }
}

/// Latency at or above this counts as degraded.
pub const SLOW: Duration = Duration::from_millis(1000);
/// Error ratio (from the exporter) above this counts as degraded.
pub const ERROR_RATIO_DEGRADED: f64 = 0.05;

/// Which source produced a branch's last check result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckSource {
    /// This machine polled the branch's health endpoint.
    #[default]
    Http,
    /// A PromQL query over the exporter's `hq_branch_*` series.
    Prometheus,
}

impl CheckSource {
    pub fn label(self) -> &'static str {
        match self {
            CheckSource::Http => "http",
            CheckSource::Prometheus => "prometheus",
        }
    }
}

/// One check result with where it came from, for the detail view.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    pub result: HealthResult,
    pub source: CheckSource,
}

/// What the console knows about one branch's health, merged from every source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchHealth {
    pub last_http: Option<HealthResult>,
    /// Source of `last_http` (an HTTP probe or a PromQL answer).
    pub last_source: CheckSource,
    /// Recent latencies in ms, oldest first (for the sparkline).
    pub latencies: VecDeque<u64>,
    pub consecutive_failures: u32,
    /// From the exporter's `hq_branch_up`.
    pub exporter_up: Option<bool>,
    pub exporter_latency: Option<f64>,
    pub error_ratio: Option<f64>,
    pub exporter_at: Option<DateTime<Utc>>,
    /// The last few check results, oldest first (detail view).
    pub recent_checks: VecDeque<CheckRecord>,
}

pub(crate) const LATENCY_HISTORY: usize = 40;
/// Check results kept per branch for the detail view.
pub const RECENT_CHECKS: usize = 12;
/// Maintenance/rollback ledger events kept per branch for the detail view.
pub const HISTORY_EVENTS: usize = 20;

impl BranchHealth {
    pub fn status(&self, maintenance: bool) -> HealthStatus {
        if maintenance {
            return HealthStatus::Maintenance;
        }
        if let Some(r) = &self.last_http {
            if !r.ok {
                return HealthStatus::Down;
            }
            let slow = r.latency.is_some_and(|l| l >= SLOW);
            let erroring = self.error_ratio.is_some_and(|e| e > ERROR_RATIO_DEGRADED);
            return if slow || erroring {
                HealthStatus::Degraded
            } else {
                HealthStatus::Up
            };
        }
        match self.exporter_up {
            Some(false) => HealthStatus::Down,
            Some(true) if self.error_ratio.is_some_and(|e| e > ERROR_RATIO_DEGRADED) => {
                HealthStatus::Degraded
            }
            Some(true) => HealthStatus::Up,
            None => HealthStatus::Unknown,
        }
    }

    /// Which source the status came from: `http`, `prometheus`, `exporter` or `—`.
    pub fn source(&self) -> &'static str {
        if self.last_http.is_some() {
            self.last_source.label()
        } else if self.exporter_up.is_some() {
            "exporter"
        } else {
            "—"
        }
    }

    /// The escalation level shown: none while the branch is in maintenance.
    pub fn escalation(&self, maintenance: bool) -> Escalation {
        if maintenance {
            Escalation::None
        } else {
            Escalation::from_failures(self.consecutive_failures)
        }
    }

    /// The latest latency in ms (a check's, else the exporter's gauge).
    pub fn latency_ms(&self) -> Option<f64> {
        self.last_http
            .as_ref()
            .and_then(|r| r.latency)
            .map(|l| l.as_secs_f64() * 1000.0)
            .or_else(|| {
                self.exporter_latency
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| s * 1000.0)
            })
    }

    pub fn last_check(&self) -> Option<DateTime<Utc>> {
        match (&self.last_http, self.exporter_at) {
            (Some(r), Some(e)) => Some(r.at.max(e)),
            (Some(r), None) => Some(r.at),
            (None, e) => e,
        }
    }

    /// Fold in one check result. A failure while the branch is in maintenance does
    /// not count towards escalation (maintenance stops escalation).
    pub(crate) fn record_from(&mut self, r: HealthResult, source: CheckSource, maintenance: bool) {
        if r.ok || maintenance {
            self.consecutive_failures = 0;
        } else {
            self.consecutive_failures = self.consecutive_failures.saturating_add(1);
        }
        if let Some(l) = r.latency {
            self.latencies
                .push_back(l.as_millis().min(u64::MAX as u128) as u64);
            while self.latencies.len() > LATENCY_HISTORY {
                self.latencies.pop_front();
            }
        }
        self.recent_checks.push_back(CheckRecord {
            result: r.clone(),
            source,
        });
        while self.recent_checks.len() > RECENT_CHECKS {
            self.recent_checks.pop_front();
        }
        self.last_source = source;
        self.last_http = Some(r);
    }
}

/// The health pane's sort orders, cycled by `CycleSort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthSort {
    /// Sync-plan order (canary first) — the default.
    #[default]
    Sync,
    /// Worst status first, then sync order.
    Status,
    /// Slowest first; branches without a latency last.
    Latency,
    /// Most ledger failures in 24 h first.
    Failures,
    /// By branch id.
    Id,
}

impl HealthSort {
    pub fn label(self) -> &'static str {
        match self {
            HealthSort::Sync => "sync order",
            HealthSort::Status => "status",
            HealthSort::Latency => "latency",
            HealthSort::Failures => "failures 24h",
            HealthSort::Id => "id",
        }
    }

    pub fn next(self) -> Self {
        match self {
            HealthSort::Sync => HealthSort::Status,
            HealthSort::Status => HealthSort::Latency,
            HealthSort::Latency => HealthSort::Failures,
            HealthSort::Failures => HealthSort::Id,
            HealthSort::Id => HealthSort::Sync,
        }
    }
}

/// The `/` filter of the health and cost panes: free words match the branch id
/// (substring, case-insensitive, all must match); `tier:NAME` and `<state-key>:NAME`
/// terms (`status:` in the health pane, `state:` in the cost meter) match exactly,
/// case-insensitive; `a,b` lists alternatives and repeated keys add alternatives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BranchFilter {
    /// The text as typed (trimmed), for the pane title.
    pub text: String,
    words: Vec<String>,
    tiers: Vec<String>,
    states: Vec<String>,
}

impl BranchFilter {
    /// Parse `text`. `state_key` is `status` or `state`; `states` its allowed values.
    pub fn parse(text: &str, state_key: &str, states: &[&str]) -> Result<Self, String> {
        let mut f = BranchFilter {
            text: text.trim().to_string(),
            ..Default::default()
        };
        for term in text.split_whitespace() {
            let lower = term.to_lowercase();
            match lower.split_once(':') {
                Some(("tier", v)) => {
                    let vals: Vec<String> = v
                        .split(',')
                        .filter(|x| !x.is_empty())
                        .map(str::to_owned)
                        .collect();
                    if vals.is_empty() {
                        return Err("`tier:` needs a tier name, e.g. tier:canary".into());
                    }
                    f.tiers.extend(vals);
                }
                Some((k, v)) if k == state_key => {
                    for x in v.split(',').filter(|x| !x.is_empty()) {
                        if !states.contains(&x) {
                            return Err(format!(
                                "`{state_key}:{x}`: expected one of {}",
                                states.join(", ")
                            ));
                        }
                        f.states.push(x.to_string());
                    }
                    if v.split(',').all(str::is_empty) {
                        return Err(format!(
                            "`{state_key}:` needs a value: {}",
                            states.join(", ")
                        ));
                    }
                }
                Some((k, _)) if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphabetic()) => {
                    return Err(format!(
                        "unknown filter key `{k}:` — use words, tier:NAME or {state_key}:VALUE"
                    ));
                }
                _ => f.words.push(lower),
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.tiers.is_empty() && self.states.is_empty()
    }

    /// Whether a branch with this id, these tier names and this state passes.
    pub fn matches(&self, id: &str, tiers: &[&str], state: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let id = id.to_lowercase();
        self.words.iter().all(|w| id.contains(w.as_str()))
            && (self.tiers.is_empty()
                || tiers
                    .iter()
                    .any(|t| self.tiers.iter().any(|x| x.eq_ignore_ascii_case(t))))
            && (self.states.is_empty() || self.states.iter().any(|s| s == state))
    }
}

/// A maintenance or rollback ledger event of one branch (detail view).
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryItem {
    pub at: DateTime<Utc>,
    pub id: String,
    pub event: String,
    pub status: Option<String>,
    pub actor: Option<String>,
}

/// Whether a ledger event belongs to a branch's maintenance/rollback history.
pub fn is_history_event(event: &str) -> bool {
    event.starts_with("maintenance") || event.starts_with("rollback")
}

/// The health pane's view state. `visible` is recomputed when data, sort or filter
/// change (and at most once a second for exporter/ledger updates) — never per frame,
/// so 10,000 branches cost a frame only the rows on screen.
#[derive(Debug, Clone, Default)]
pub struct HealthView {
    pub sort: HealthSort,
    /// The `/` filter; `filter.text` is what `/` shows again.
    pub filter: BranchFilter,
    /// The selected row, an index into `visible`.
    pub sel: usize,
    /// Branch ids shown, in display order (filtered and sorted).
    pub visible: Vec<String>,
    /// First row on screen (kept so scrolling moves the window minimally).
    pub offset: usize,
    /// The detail view of the selected branch is open.
    pub detail: bool,
    /// The operator moved the selection: from then on it follows its branch through
    /// re-sorts and filters (before that it stays on the top row).
    pub touched: bool,
    /// Health comes from this Prometheus server (credentials removed) instead of
    /// polling every endpoint from here.
    pub prometheus: Option<String>,
    /// Registry branches in sync-plan order, cached at registry (re)load.
    sync_order: Vec<String>,
    /// Branch id → index into the registry's branch list.
    reg_index: HashMap<String, usize>,
    /// Branch id → position in `sync_order`.
    sync_pos: HashMap<String, usize>,
    pub(crate) order_dirty: bool,
    history: HashMap<String, VecDeque<HistoryItem>>,
}

/// The first row to show so that `sel` is on screen, moving `offset` as little as
/// possible; `page` rows fit, `len` rows exist.
pub fn scroll_into_view(offset: usize, sel: usize, page: usize, len: usize) -> usize {
    let page = page.max(1);
    let mut o = offset.min(len.saturating_sub(page));
    if sel < o {
        o = sel;
    } else if sel >= o + page {
        o = sel + 1 - page;
    }
    o
}

impl HealthView {
    /// Registry branches in sync-plan order (cached at registry load).
    pub fn sync_order(&self) -> &[String] {
        &self.sync_order
    }

    /// The selected branch id.
    pub fn selected(&self) -> Option<&String> {
        self.visible.get(self.sel)
    }

    /// Keys while the health pane has focus; `page` rows fit on screen. True when
    /// the sort changed and the order must be recomputed (`App` knows the data).
    pub(crate) fn on_action(&mut self, a: Action, page: usize) -> bool {
        match a {
            Action::CycleSort => {
                self.sort = self.sort.next();
                return true;
            }
            Action::Select => {
                self.detail = self.selected().is_some();
                return false;
            }
            _ => {}
        }
        let n = self.visible.len();
        self.touched |= super::step_table(&mut self.sel, &mut self.offset, n, a, page);
        false
    }
}

impl App {
    /// Rows that fit in `pane` when `chrome` lines of it are borders and headings
    /// (from the layout of the last frame drawn; 10 before the first frame).
    pub(crate) fn pane_rows(&self, pane: Pane, chrome: u16) -> usize {
        self.pane_rect(pane)
            .map(|r| usize::from(r.height.saturating_sub(chrome)))
            .filter(|n| *n > 0)
            .unwrap_or(10)
    }

    /// Where `pane` is on screen now, if it is shown.
    pub(crate) fn pane_rect(&self, pane: Pane) -> Option<Rect> {
        self.screen_map
            .panes
            .iter()
            .find(|(p, _)| *p == pane)
            .map(|(_, r)| *r)
    }

    /// The branch ids the health pane shows, in order.
    pub fn health_visible(&self) -> &[String] {
        &self.panes.health.visible
    }

    /// The selected branch in the health pane.
    pub fn selected_branch(&self) -> Option<String> {
        self.panes
            .health
            .visible
            .get(self.panes.health.sel)
            .cloned()
    }

    /// The registry entry of `id` (indexed, not searched).
    pub fn registry_branch(&self, id: &str) -> Option<&crate::domain::hq::Branch> {
        let i = *self.panes.health.reg_index.get(id)?;
        self.data.hq.as_ref()?.registry.as_ref()?.branches.get(i)
    }

    /// Whether `branch` is in maintenance — `in_maintenance` without the registry search.
    pub fn branch_maintenance(&self, branch: &str) -> bool {
        let Some(hq) = &self.data.hq else {
            return false;
        };
        if let Some(d) = &hq.decision
            && let Some(m) = d.maintenance.get(branch)
        {
            return *m;
        }
        self.registry_branch(branch)
            .is_some_and(|b| b.maintenance_mode)
    }

    /// The branch's status now.
    pub fn branch_status(&self, id: &str) -> HealthStatus {
        let maint = self.branch_maintenance(id);
        self.data.health.get(id).map_or(
            if maint {
                HealthStatus::Maintenance
            } else {
                HealthStatus::Unknown
            },
            |h| h.status(maint),
        )
    }

    /// Maintenance and rollback events of `branch`, oldest first.
    pub fn branch_history(&self, branch: &str) -> impl Iterator<Item = &HistoryItem> {
        self.panes.health.history.get(branch).into_iter().flatten()
    }

    /// Rebuild the registry caches (sync order, index) after a registry reload.
    pub(crate) fn on_registry_for_health(&mut self) {
        let reg = self.data.hq.as_ref().and_then(|h| h.registry.as_ref());
        self.panes.health.reg_index = reg
            .map(|r| {
                r.branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| (b.id.clone(), i))
                    .collect()
            })
            .unwrap_or_default();
        self.panes.health.sync_order = self.branch_order();
        self.panes.health.sync_pos = self
            .panes
            .health
            .sync_order
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        self.refresh_health_order();
    }

    /// A round of health results (from HTTP probes, or PromQL when Prometheus is the
    /// configured source).
    pub(crate) fn on_health_checked(&mut self, results: Vec<HealthResult>, at: DateTime<Utc>) {
        let source = if self.panes.health.prometheus.is_some() {
            CheckSource::Prometheus
        } else {
            CheckSource::Http
        };
        for r in results {
            let maint = self.branch_maintenance(&r.branch);
            self.data
                .health
                .entry(r.branch.clone())
                .or_default()
                .record_from(r, source, maint);
        }
        // The round's own freshness: PromQL answers are the Prometheus source's.
        self.source_ok(
            match source {
                CheckSource::Prometheus => SourceId::Prometheus,
                CheckSource::Http => SourceId::Health,
            },
            at,
        );
        self.refresh_health_order();
    }

    /// New ledger lines: keep each branch's maintenance/rollback history, and re-sort
    /// (24 h failures may have changed) at the next tick.
    pub(crate) fn note_health_ledger(&mut self, records: &[LedgerRecord]) {
        for r in records {
            let Ok(e) = &r.parsed else { continue };
            if !is_history_event(&e.event) {
                continue;
            }
            let item = HistoryItem {
                at: e.timestamp.with_timezone(&Utc),
                id: e.id.clone(),
                event: e.event.clone(),
                status: e.status.clone(),
                actor: e.actor.clone(),
            };
            let q = self
                .panes
                .health
                .history
                .entry(e.branch.clone())
                .or_default();
            q.push_back(item);
            while q.len() > HISTORY_EVENTS {
                q.pop_front();
            }
        }
        self.panes.health.order_dirty = true;
    }

    /// Recompute the visible order if something marked it dirty (called on ticks).
    pub(crate) fn refresh_health_order_if_dirty(&mut self) {
        if self.panes.health.order_dirty {
            self.refresh_health_order();
        }
    }

    /// Filter and sort the branches; the selection stays on the same branch.
    pub(crate) fn refresh_health_order(&mut self) {
        self.panes.health.order_dirty = false;
        let selected = self.selected_branch();
        let universe: Vec<&String> = if self.data.hq.as_ref().is_some_and(|h| h.registry.is_some())
        {
            self.panes.health.sync_order.iter().collect()
        } else {
            self.data.health.keys().collect()
        };
        let f = &self.panes.health.filter;
        let sort = self.panes.health.sort;
        // Keys computed once per branch, then one sort: O(n log n).
        let mut rows: Vec<(u64, usize, &String)> = universe
            .into_iter()
            .enumerate()
            .filter_map(|(pos, id)| {
                let status = self.branch_status(id);
                let tier = self
                    .registry_branch(id)
                    .and_then(|b| b.tier)
                    .map_or("", |t| t.as_str());
                if !f.matches(id, &[tier], status.label()) {
                    return None;
                }
                let key = match sort {
                    HealthSort::Sync | HealthSort::Id => 0,
                    HealthSort::Status => u64::from(status.worst_first()),
                    // Slowest first: invert the microseconds; none sorts last.
                    HealthSort::Latency => self
                        .data
                        .health
                        .get(id)
                        .and_then(BranchHealth::latency_ms)
                        .map_or(u64::MAX, |ms| {
                            u64::MAX - 1 - ((ms * 1000.0).min(1e15) as u64)
                        }),
                    HealthSort::Failures => {
                        u64::MAX - self.panes.ledger.failures_24h(id).min(usize::MAX - 1) as u64
                    }
                };
                Some((key, pos, id))
            })
            .collect();
        if sort == HealthSort::Id {
            rows.sort_by(|a, b| a.2.cmp(b.2));
        } else {
            rows.sort_by_key(|r| (r.0, r.1));
        }
        let visible: Vec<String> = rows.into_iter().map(|r| r.2.clone()).collect();
        self.panes.health.visible = visible;
        let n = self.panes.health.visible.len();
        self.panes.health.sel = selected
            .filter(|_| self.panes.health.touched)
            .and_then(|s| self.panes.health.visible.iter().position(|x| *x == s))
            .unwrap_or(self.panes.health.sel)
            .min(n.saturating_sub(1));
        if n == 0 {
            self.panes.health.detail = false;
        }
        let page = self.pane_rows(Pane::Health, 3);
        self.panes.health.offset =
            scroll_into_view(self.panes.health.offset, self.panes.health.sel, page, n);
        self.shell.dirty = true;
    }

    /// Esc: close the detail view if open.
    pub(crate) fn close_health_detail(&mut self) -> bool {
        std::mem::take(&mut self.panes.health.detail)
    }

    pub(crate) fn health_action(&mut self, a: Action) {
        // The page is what the last frame showed (the renderer's layout).
        let page = self.pane_rows(Pane::Health, 3);
        if self.panes.health.on_action(a, page) {
            self.refresh_health_order();
        }
    }

    /// `/` submitted in the health pane: a bad filter is refused with the reason and
    /// the previous filter stays.
    pub(crate) fn submit_health_filter(&mut self, text: String) {
        let states: Vec<&str> = HealthStatus::ALL.iter().map(|s| s.label()).collect();
        match BranchFilter::parse(&text, "status", &states) {
            Ok(f) => {
                self.panes.health.filter = f;
                self.panes.health.filter.text = text.trim().to_string();
                self.refresh_health_order();
            }
            Err(e) => self.toast(ToastLevel::Warn, format!("filter: {e}")),
        }
    }
}
