//! `App`: the console's state and `update`. Sources report facts (`Msg`), the keymap
//! turns keys into `Action`s, and `update` folds both into state. Time comes in from
//! outside (`Tick(now)` and the `at` of every message) so tests inject a clock.
//! Drawing (`crate::ui`) reads this state and never changes it.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::action::{Action, HealthResult, LedgerRecord, Msg, SourceId};
use crate::domain::exposition::Sample;
use crate::domain::hq::{FileError, HqSnapshot};
use crate::domain::ledger::{Entry, RejectReason};
use crate::domain::rhythm::{GaugePoint, RuleChange};
use crate::keymap::Keymap;
use crate::theme::Theme;

/// The five panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Health,
    Ledger,
    Cost,
    Rhythm,
    Ceremony,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Health,
        Pane::Ledger,
        Pane::Cost,
        Pane::Rhythm,
        Pane::Ceremony,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Health => "Branch health",
            Pane::Ledger => "Ledger stream",
            Pane::Cost => "Cost meter",
            Pane::Rhythm => "Rhythm map",
            Pane::Ceremony => "Ceremony simulator",
        }
    }

    /// Short name for tab bars.
    pub fn short_title(self) -> &'static str {
        match self {
            Pane::Health => "Health",
            Pane::Ledger => "Ledger",
            Pane::Cost => "Cost",
            Pane::Rhythm => "Rhythm",
            Pane::Ceremony => "Ceremony",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Pane {
        let n = Pane::ALL.len() as isize;
        let i = (self.index() as isize + by).rem_euclid(n) as usize;
        Pane::ALL.get(i).copied().unwrap_or(Pane::Health)
    }
}

/// Freshness of one data source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// An optional file that does not exist: "not configured", not an error.
    pub missing: bool,
}

impl SourceStatus {
    /// Failing now: the newest event is an error.
    pub fn failing(&self) -> bool {
        match (&self.last_ok, &self.last_error) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(ok), Some((err, _))) => err > ok,
        }
    }
}

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
}

/// Escalation after consecutive failures (whitepaper §12, SPEC §5): every third
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

/// What the console knows about one branch's health, merged from every source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchHealth {
    pub last_http: Option<HealthResult>,
    /// Recent latencies in ms, oldest first (for the sparkline).
    pub latencies: VecDeque<u64>,
    pub consecutive_failures: u32,
    /// From the exporter's `hq_branch_up`.
    pub exporter_up: Option<bool>,
    pub exporter_latency: Option<f64>,
    pub error_ratio: Option<f64>,
    pub exporter_at: Option<DateTime<Utc>>,
}

const LATENCY_HISTORY: usize = 40;

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

    /// Which source the status came from.
    pub fn source(&self) -> &'static str {
        if self.last_http.is_some() {
            "http"
        } else if self.exporter_up.is_some() {
            "exporter"
        } else {
            "—"
        }
    }

    pub fn last_check(&self) -> Option<DateTime<Utc>> {
        match (&self.last_http, self.exporter_at) {
            (Some(r), Some(e)) => Some(r.at.max(e)),
            (Some(r), None) => Some(r.at),
            (None, e) => e,
        }
    }

    fn record(&mut self, r: HealthResult) {
        if r.ok {
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
        self.last_http = Some(r);
    }
}

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
const REJECT_ROWS: usize = 1_000;

impl LedgerState {
    fn ingest(&mut self, records: Vec<LedgerRecord>, now: DateTime<Utc>) {
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

    fn count_entry(&mut self, e: &Entry, now: DateTime<Utc>) {
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

    fn prune(&mut self, now: DateTime<Utc>) {
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
}

/// Time windows of the rhythm chart, in seconds.
pub const WINDOWS: [i64; 5] = [60, 300, 900, 3_600, 86_400];

/// Rhythm gauges over time, plus the newest exporter values.
#[derive(Debug, Clone, Default)]
pub struct RhythmState {
    /// Points sorted by time, pruned to a day.
    pub points: VecDeque<GaugePoint>,
    pub rules: Vec<RuleChange>,
    pub bad_rules: usize,
    pub bad_rows: usize,
    /// `lumen_gateway_status` 0–4.
    pub gateway_status: Option<f64>,
    /// Newest value of every other series, by name+labels, for the series browser.
    pub other: BTreeMap<String, f64>,
    /// Time of the newest point that came live from an exporter.
    pub last_live: Option<f64>,
    /// 10-second means of `points`, kept on ingest for windows of an hour or more
    /// (a day at 5 Hz is 432,000 points; drawing it from means keeps a frame cheap).
    pub coarse: VecDeque<(GaugePoint, [u32; 4])>,
}

/// Width of one `coarse` bucket, seconds.
pub const COARSE_SECS: f64 = 10.0;

const HISTORY_SECS: f64 = 86_400.0;

impl RhythmState {
    fn push_live(&mut self, p: GaugePoint) {
        if self.points.back().is_some_and(|b| b.t >= p.t) {
            return;
        }
        self.points.push_back(p);
        self.coarse_add(p);
        self.last_live = Some(p.t);
        self.prune(p.t);
    }

    fn coarse_add(&mut self, p: GaugePoint) {
        let bucket = (p.t / COARSE_SECS).floor() * COARSE_SECS;
        match self.coarse.back_mut() {
            Some((c, n)) if c.t == bucket + COARSE_SECS / 2.0 => {
                for ((mean, count), v) in c.values.iter_mut().zip(n.iter_mut()).zip(p.values) {
                    if v.is_finite() {
                        *count += 1;
                        *mean += (v - *mean) / f64::from(*count);
                    }
                }
            }
            _ => {
                let mut n = [0u32; 4];
                let mut values = [f64::NAN; 4];
                for ((mean, count), v) in values.iter_mut().zip(n.iter_mut()).zip(p.values) {
                    if v.is_finite() {
                        *mean = v;
                        *count = 1;
                    }
                }
                self.coarse.push_back((
                    GaugePoint {
                        t: bucket + COARSE_SECS / 2.0,
                        values,
                    },
                    n,
                ));
            }
        }
    }

    fn rebuild_coarse(&mut self) {
        self.coarse.clear();
        let points: Vec<GaugePoint> = self.points.iter().copied().collect();
        for p in points {
            self.coarse_add(p);
        }
    }

    /// History rows (CSV). They fill time before the first live point, and stand in
    /// for the exporter while it is silent.
    fn push_history(&mut self, mut rows: Vec<GaugePoint>, now: f64) {
        let live_recent = self.last_live.is_some_and(|t| now - t < 3.0);
        rows.retain(|p| p.t.is_finite());
        rows.sort_by(|a, b| a.t.total_cmp(&b.t));
        let first = self.points.front().map(|p| p.t);
        let last = self.points.back().map(|p| p.t);
        let mut before: Vec<GaugePoint> = Vec::new();
        for p in rows {
            match (first, last) {
                (Some(f), _) if p.t < f => before.push(p),
                (_, Some(l)) if p.t > l && !live_recent => {
                    self.points.push_back(p);
                    self.coarse_add(p);
                }
                (None, None) => {
                    self.points.push_back(p);
                    self.coarse_add(p);
                }
                _ => {}
            }
        }
        let prepended = !before.is_empty();
        for p in before.into_iter().rev() {
            self.points.push_front(p);
        }
        self.prune(now);
        // Rows before the first point (start-up backfill) shift every bucket: rebuild the
        // means once for the batch; rows after it were added incrementally above.
        if prepended {
            self.rebuild_coarse();
        }
    }

    fn prune(&mut self, now: f64) {
        while self
            .points
            .front()
            .is_some_and(|p| now - p.t > HISTORY_SECS)
        {
            self.points.pop_front();
        }
    }
}

/// An operator action waiting for (or past) its typed confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingAction {
    Rollback {
        plan: Box<crate::actions::plan::RollbackPlan>,
    },
    KillSwitch {
        on: bool,
    },
    Maintenance {
        branch: String,
        on: bool,
    },
    RuleRollback,
}

/// Work `update` asks the run loop to start (it never does I/O itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read the whole ledger and plan a rollback of `target` (a deploy TXN).
    PlanRollback { target: String },
    /// The operator confirmed: do it (ledger entry first, then the effect).
    Execute(PendingAction),
    /// Send notifications for `events` per rules.json (an alert, not an action).
    Notify { events: Vec<String>, text: String },
}

/// The typed-confirmation dialog: says exactly what will happen; the operator types
/// `expected` (or `alternative`) and presses Enter; Esc cancels.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: PendingAction,
    pub title: String,
    pub lines: Vec<String>,
    pub expected: String,
    pub alternative: Option<String>,
    pub typed: String,
    pub error: Option<String>,
}

/// A one-line notice (alerts, results, refusals) shown in the banner.
#[derive(Debug, Clone, PartialEq)]
pub struct Toast {
    pub at: DateTime<Utc>,
    pub level: ToastLevel,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Warn,
    Error,
}

const TOAST_TTL: i64 = 8;

/// Terminal-independent input to `update`.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Housekeeping tick with the current time.
    Tick(DateTime<Utc>),
    Msg(Msg),
}

/// The console.
pub struct App {
    pub now: DateTime<Utc>,
    pub started: DateTime<Utc>,
    pub focus: Pane,
    pub zoom: bool,
    pub help: bool,
    pub theme: Theme,
    pub themes: Vec<Theme>,
    pub keymap: Keymap,
    pub readonly: bool,
    /// Shown in the header: what HQ root this is.
    pub hq_label: String,
    pub hq: Option<HqSnapshot>,
    pub registry_error: Option<FileError>,
    pub sources: BTreeMap<SourceId, SourceStatus>,
    /// Exporter URLs, by index, for messages.
    pub exporter_urls: Vec<String>,
    pub health: BTreeMap<String, BranchHealth>,
    pub health_sel: usize,
    pub ledger: LedgerState,
    pub ledger_view: LedgerView,
    pub rhythm: RhythmState,
    pub window: usize,
    /// Pan offset of the rhythm chart, seconds back from now.
    pub pan: i64,
    pub marker_sel: Option<usize>,
    pub scenarios: Vec<ScenarioSummary>,
    pub scenario_sel: usize,
    pub toasts: VecDeque<Toast>,
    pub dirty: bool,
    pub should_quit: bool,
    pub size: (u16, u16),
    /// When each branch was first seen with an outdated protocol version.
    pub first_outdated: BTreeMap<String, DateTime<Utc>>,
    /// Per-branch cost, fed entry by entry as the ledger grows (never re-scanned).
    pub cost: crate::domain::cost::CostBook,
    /// `cost` evaluated at `now`, refreshed on ingest and once a second — not in render.
    pub cost_rows: Vec<crate::domain::cost::BranchCost>,
    pub cost_totals: Option<crate::domain::cost::HqTotals>,
    /// Branch id → index into `cost_rows`.
    cost_index: std::collections::HashMap<String, usize>,
    cost_stale: bool,
    /// Why the console is read-only (no key, --readonly, refused key).
    pub readonly_reason: Option<String>,
    /// The operator's role (from keys.json), for policy checks before a dialog opens.
    pub operator_role: Option<String>,
    pub confirm: Option<Confirm>,
    /// Commands for the run loop, drained after every update.
    pub commands: Vec<Command>,
    /// An operator action is running (planning or executing).
    pub running: bool,
    /// What operator actions reported, newest last.
    pub action_log: VecDeque<String>,
    quit_armed: bool,
    /// Frame cap of the run loop (config `fps`).
    pub fps: u32,
    /// The cost escalation level each branch was last alerted at (once per level).
    pub cost_alerted: BTreeMap<String, crate::domain::cost::Escalation>,
}

/// A ceremony scenario as listed in the pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSummary {
    pub id: String,
    pub title: String,
    pub steps: usize,
    pub anomalies: usize,
    pub roles: Vec<String>,
    pub summary: String,
    pub pass_mark: u32,
}

impl App {
    pub fn new(now: DateTime<Utc>, theme: Theme, keymap: Keymap) -> Self {
        App {
            now,
            started: now,
            focus: Pane::Health,
            zoom: false,
            help: false,
            themes: vec![theme.clone()],
            theme,
            keymap,
            readonly: true,
            hq_label: String::new(),
            hq: None,
            registry_error: None,
            sources: BTreeMap::new(),
            exporter_urls: Vec::new(),
            health: BTreeMap::new(),
            health_sel: 0,
            ledger: LedgerState::default(),
            ledger_view: LedgerView {
                follow: true,
                ..Default::default()
            },
            rhythm: RhythmState::default(),
            window: 1,
            pan: 0,
            marker_sel: None,
            scenarios: Vec::new(),
            scenario_sel: 0,
            toasts: VecDeque::new(),
            dirty: true,
            should_quit: false,
            size: (0, 0),
            first_outdated: BTreeMap::new(),
            cost: crate::domain::cost::CostBook::default(),
            cost_rows: Vec::new(),
            cost_totals: None,
            cost_index: Default::default(),
            cost_stale: false,
            readonly_reason: None,
            operator_role: None,
            confirm: None,
            commands: Vec::new(),
            running: false,
            action_log: VecDeque::new(),
            quit_armed: false,
            cost_alerted: BTreeMap::new(),
            fps: 30,
        }
    }

    pub fn update(&mut self, ev: Event) {
        match ev {
            Event::Key(k) => self.handle_key(k),
            Event::Mouse(m) => self.handle_mouse(m),
            Event::Resize(w, h) => {
                self.size = (w, h);
                self.dirty = true;
            }
            Event::Tick(now) => self.tick(now),
            Event::Msg(m) => self.handle_msg(m),
        }
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        // Ages on screen are in whole seconds: redraw when the second changes.
        let new_second = now.timestamp() != self.now.timestamp();
        if new_second {
            self.dirty = true;
        }
        self.now = now;
        if new_second || self.cost_stale {
            self.refresh_cost();
        }
        let before = self.toasts.len();
        self.toasts
            .retain(|t| (now - t.at).num_seconds() < TOAST_TTL);
        if self.toasts.len() != before {
            self.dirty = true;
        }
    }

    fn handle_key(&mut self, k: KeyEvent) {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return;
        }
        // Ctrl-C always quits, whatever the keymap says.
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            self.should_quit = true;
            return;
        }
        if self.confirm.is_some() {
            self.handle_confirm_key(k);
            return;
        }
        if let Some(a) = self.keymap.action_for(&k) {
            self.apply(a);
        }
    }

    fn handle_confirm_key(&mut self, k: KeyEvent) {
        self.dirty = true;
        let Some(c) = self.confirm.as_mut() else {
            return;
        };
        match k.code {
            KeyCode::Esc => {
                self.confirm = None;
                self.toast(ToastLevel::Info, "cancelled: nothing was done");
            }
            KeyCode::Backspace => {
                c.typed.pop();
                c.error = None;
            }
            KeyCode::Enter => {
                let typed = c.typed.trim();
                if typed == c.expected || c.alternative.as_deref() == Some(typed) {
                    let action = c.action.clone();
                    self.confirm = None;
                    self.running = true;
                    self.commands.push(Command::Execute(action));
                    self.toast(
                        ToastLevel::Info,
                        "confirmed: recording on the ledger first…",
                    );
                } else {
                    c.error = Some(format!(
                        "type `{}` exactly to confirm, or Esc to cancel",
                        c.expected
                    ));
                }
            }
            KeyCode::Char(ch) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if c.typed.chars().count() < 80 {
                    c.typed.push(ch);
                }
                c.error = None;
            }
            _ => {}
        }
    }

    /// Apply a named action. Overlays see it first.
    pub fn apply(&mut self, a: Action) {
        self.dirty = true;
        if self.help {
            if matches!(a, Action::ToggleHelp | Action::Back) {
                self.help = false;
            } else if a == Action::Quit {
                self.should_quit = true;
            }
            return;
        }
        match a {
            Action::Quit if self.running && !self.quit_armed => {
                self.quit_armed = true;
                self.toast(
                    ToastLevel::Warn,
                    "an action is running — press q again to quit anyway",
                );
            }
            Action::Quit => self.should_quit = true,
            Action::ToggleHelp => self.help = true,
            Action::FocusNext => self.focus = self.focus.offset(1),
            Action::FocusPrev => self.focus = self.focus.offset(-1),
            Action::FocusHealth => self.focus = Pane::Health,
            Action::FocusLedger => self.focus = Pane::Ledger,
            Action::FocusCost => self.focus = Pane::Cost,
            Action::FocusRhythm => self.focus = Pane::Rhythm,
            Action::FocusCeremony => self.focus = Pane::Ceremony,
            Action::ToggleZoom => self.zoom = !self.zoom,
            Action::CycleTheme => self.cycle_theme(),
            Action::Back => self.back(),
            _ => self.pane_action(a),
        }
    }

    fn back(&mut self) {
        if self.ledger_view.detail || self.ledger_view.rejects {
            self.ledger_view.detail = false;
            self.ledger_view.rejects = false;
        } else if self.zoom {
            self.zoom = false;
        }
    }

    fn cycle_theme(&mut self) {
        if self.themes.is_empty() {
            return;
        }
        let i = self
            .themes
            .iter()
            .position(|t| t.name == self.theme.name)
            .unwrap_or(0);
        let next = (i + 1) % self.themes.len();
        if let Some(t) = self.themes.get(next) {
            self.theme = t.clone();
            self.toast(ToastLevel::Info, format!("theme: {}", self.theme.name));
        }
    }

    fn pane_action(&mut self, a: Action) {
        match self.focus {
            Pane::Health => self.health_action(a),
            Pane::Ledger => self.ledger_action(a),
            Pane::Rhythm => self.rhythm_action(a),
            Pane::Ceremony => self.ceremony_action(a),
            Pane::Cost => {}
        }
        match a {
            Action::Rollback | Action::RuleRollback | Action::KillSwitch | Action::Maintenance => {
                self.start_action(a)
            }
            Action::ShowRejects => {
                self.focus = Pane::Ledger;
                self.ledger_view.rejects = !self.ledger_view.rejects;
                self.ledger_view.detail = false;
            }
            _ => {}
        }
    }

    /// An action key: refuse with the reason, or open its confirmation (a rollback is
    /// planned in the background first, over the whole ledger).
    fn start_action(&mut self, a: Action) {
        if self.readonly {
            let why = self
                .readonly_reason
                .clone()
                .unwrap_or_else(|| "read-only console".into());
            self.toast(
                ToastLevel::Warn,
                format!("{}: unavailable — {why}", a.describe()),
            );
            return;
        }
        if self.running {
            self.toast(ToastLevel::Warn, "another action is still running");
            return;
        }
        if let (Some(role), Some(op)) = (
            &self.operator_role,
            crate::domain::policy::Operation::for_action(a),
        ) {
            let policy = self.hq.as_ref().and_then(|h| h.rbac.as_ref());
            if let Err(r) = crate::domain::policy::allowed(policy, role, op) {
                self.toast(ToastLevel::Error, format!("refused: {}", r.reason));
                return;
            }
        }
        match a {
            Action::Rollback => match self.rollback_target() {
                Some(target) => {
                    self.running = true;
                    self.toast(ToastLevel::Info, format!("planning the rollback of {target}…"));
                    self.commands.push(Command::PlanRollback { target });
                }
                None => self.toast(
                    ToastLevel::Warn,
                    "rollback: select a deploy in the ledger, or a branch with a deploy in the health pane",
                ),
            },
            Action::KillSwitch => {
                let on = !self.kill_switch();
                let what = if on { "ON: automated deploys halt" } else { "OFF: automated deploys resume" };
                self.confirm = Some(Confirm {
                    action: PendingAction::KillSwitch { on },
                    title: format!("Kill switch {}", if on { "on" } else { "off" }),
                    lines: vec![
                        format!("Turns the kill switch {what}."),
                        format!(
                            "Appends a signed `{}` entry to the ledger, then rewrites decision-engine.json.",
                            if on { "kill_switch_activated" } else { "kill_switch_released" }
                        ),
                        "Rollbacks and maintenance stay allowed while it is on.".into(),
                    ],
                    expected: "hq".into(),
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            Action::Maintenance => {
                let order = self.branch_order();
                let Some(branch) = (self.focus == Pane::Health).then(|| order.get(self.health_sel).cloned()).flatten()
                else {
                    self.toast(ToastLevel::Warn, "maintenance: select a branch in the health pane");
                    return;
                };
                let on = !self.in_maintenance(&branch);
                self.confirm = Some(Confirm {
                    action: PendingAction::Maintenance { branch: branch.clone(), on },
                    title: format!("Maintenance {} for {branch}", if on { "on" } else { "off" }),
                    lines: vec![
                        format!(
                            "Appends a signed `{}` entry for {branch}, then sets maintenanceMode.{branch} = {on} in decision-engine.json.",
                            if on { "maintenance_on" } else { "maintenance_off" }
                        ),
                        if on {
                            "The branch shows as maintenance; health failures stop escalating.".into()
                        } else {
                            "The branch returns to normal health checks.".into()
                        },
                    ],
                    expected: branch,
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            Action::RuleRollback => {
                let Some(rule) = self.rhythm.rules.last().cloned() else {
                    self.toast(ToastLevel::Warn, "rule rollback: no rule change in controls/rules_history.jsonl");
                    return;
                };
                self.confirm = Some(Confirm {
                    action: PendingAction::RuleRollback,
                    title: format!("Roll back rule {}", crate::domain::sanitize::sanitize(&rule.rule)),
                    lines: vec![
                        format!(
                            "Newest change: {} {} → {} by {} at {}.",
                            rule.rule,
                            rule.old,
                            rule.new,
                            rule.actor,
                            rule.ts.to_rfc3339()
                        ),
                        format!("Appends the compensating change {} → {} to rules_history.jsonl", rule.new, rule.old),
                        "and a signed `rule_rollback` entry to the ledger (ledger first).".into(),
                    ],
                    expected: rule.rule.clone(),
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            _ => {}
        }
    }

    /// The deploy a rollback would target: the selected ledger line when it is a
    /// deploy, or the selected branch's latest deploy.
    fn rollback_target(&self) -> Option<String> {
        match self.focus {
            Pane::Ledger => {
                let n = self.ledger.recent.len();
                let i = n.checked_sub(1 + self.ledger_view.from_newest)?;
                let e = self.ledger.recent.get(i)?.parsed.as_ref().ok()?;
                (e.event == "deploy").then(|| e.id.clone())
            }
            Pane::Health => {
                let order = self.branch_order();
                let b = order.get(self.health_sel)?;
                self.ledger.latest_deploy.get(b).cloned()
            }
            _ => None,
        }
    }

    fn health_action(&mut self, a: Action) {
        let n = self.branch_order().len();
        self.health_sel = move_sel(self.health_sel, n, a, 10);
    }

    fn ledger_action(&mut self, a: Action) {
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

    fn rhythm_action(&mut self, a: Action) {
        let w = WINDOWS.get(self.window).copied().unwrap_or(300);
        match a {
            Action::WiderWindow => self.window = (self.window + 1).min(WINDOWS.len() - 1),
            Action::NarrowerWindow => self.window = self.window.saturating_sub(1),
            Action::Left => self.pan = (self.pan + w / 4).min(86_400),
            Action::Right => self.pan = (self.pan - w / 4).max(0),
            Action::Bottom => self.pan = 0,
            Action::Up | Action::Down => {
                let n = self.rhythm.rules.len();
                if n == 0 {
                    self.marker_sel = None;
                } else {
                    let cur = self.marker_sel.unwrap_or(n - 1);
                    self.marker_sel = Some(if a == Action::Up {
                        cur.saturating_sub(1)
                    } else {
                        (cur + 1).min(n - 1)
                    });
                }
            }
            _ => {}
        }
    }

    fn ceremony_action(&mut self, a: Action) {
        self.scenario_sel = move_sel(self.scenario_sel, self.scenarios.len(), a, 5);
    }

    fn handle_mouse(&mut self, m: MouseEvent) {
        let pos = Position {
            x: m.column,
            y: m.row,
        };
        let area = Rect::new(0, 0, self.size.0, self.size.1);
        let screen = crate::ui::layout(area, self);
        let hit = screen
            .panes
            .iter()
            .find(|(_, r)| r.contains(pos))
            .map(|(p, _)| *p);
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(p) = hit {
                    self.focus = p;
                    self.dirty = true;
                }
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                if let Some(p) = hit {
                    self.focus = p;
                }
                let a = if m.kind == MouseEventKind::ScrollUp {
                    Action::Up
                } else {
                    Action::Down
                };
                self.apply(a);
            }
            _ => {}
        }
    }

    fn log_action(&mut self, line: String) {
        tracing::info!(target: "lumen::actions", "{line}");
        self.action_log.push_back(line);
        while self.action_log.len() > 50 {
            self.action_log.pop_front();
        }
    }

    pub fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        self.toasts.push_back(Toast {
            at: self.now,
            level,
            text: text.into(),
        });
        while self.toasts.len() > 3 {
            self.toasts.pop_front();
        }
        self.dirty = true;
    }

    fn source_ok(&mut self, s: SourceId, at: DateTime<Utc>) {
        self.sources.entry(s).or_default().last_ok = Some(at);
    }

    fn handle_msg(&mut self, m: Msg) {
        self.dirty = true;
        match m {
            Msg::MetricsScraped {
                source,
                at,
                samples,
                unreadable,
            } => {
                if unreadable > 0 {
                    self.sources.entry(source.clone()).or_default().last_error = Some((
                        at,
                        format!("{unreadable} unreadable line(s) in the last scrape"),
                    ));
                }
                self.source_ok(source, at);
                self.ingest_samples(&samples, at);
            }
            Msg::SourceFailed { source, at, error } => {
                self.sources.entry(source).or_default().last_error = Some((at, error));
            }
            Msg::LedgerAppended { records, at } => {
                let n = records.len() as u64;
                if !self.ledger_view.follow {
                    self.ledger_view.new_while_paused += n;
                    self.ledger_view.from_newest =
                        (self.ledger_view.from_newest + n as usize).min(RECENT_LINES - 1);
                }
                for r in &records {
                    if let Ok(e) = &r.parsed {
                        self.cost.ingest(e);
                    }
                }
                self.cost_stale = true;
                self.ledger.ingest(records, self.now.max(at));
                self.source_ok(SourceId::Ledger, at);
            }
            Msg::LedgerPending { bytes } => self.ledger.pending_bytes = bytes,
            Msg::LedgerReset { reason } => {
                self.ledger = LedgerState {
                    resets: self.ledger.resets + 1,
                    ..Default::default()
                };
                self.ledger_view.from_newest = 0;
                self.toast(
                    ToastLevel::Warn,
                    format!("ledger: {reason}; reading it again"),
                );
            }
            Msg::RulesAppended { rules, bad, at } => {
                self.rhythm.rules.extend(rules);
                self.rhythm.rules.sort_by_key(|r| r.ts);
                self.rhythm.bad_rules += bad;
                self.source_ok(SourceId::Rules, at);
            }
            Msg::GaugeRows { points, bad, at } => {
                self.rhythm.bad_rows += bad;
                self.rhythm
                    .push_history(points, at.timestamp_millis() as f64 / 1000.0);
                self.source_ok(SourceId::Metrics, at);
            }
            Msg::HealthChecked { results, at } => {
                for r in results {
                    self.health.entry(r.branch.clone()).or_default().record(r);
                }
                self.source_ok(SourceId::Health, at);
            }
            Msg::RegistryReloaded { hq, at } => {
                let branches = hq
                    .registry
                    .as_ref()
                    .map(|r| r.branches.clone())
                    .unwrap_or_default();
                self.cost.set_context(hq.cost_policy.clone(), &branches);
                self.cost_stale = true;
                self.hq = Some(*hq);
                self.note_outdated(at);
                self.registry_error = None;
                self.source_ok(SourceId::Registry, at);
            }
            Msg::OperatorPlanned {
                action,
                title,
                lines,
                expected,
                alternative,
            } => {
                self.running = false;
                self.confirm = Some(Confirm {
                    action,
                    title,
                    lines,
                    expected,
                    alternative,
                    typed: String::new(),
                    error: None,
                });
            }
            Msg::OperatorProgress { line, at } => {
                let _ = at;
                self.log_action(line.clone());
                self.toast(ToastLevel::Info, line);
            }
            Msg::OperatorDone { ok, summary, at } => {
                let _ = at;
                self.running = false;
                self.quit_armed = false;
                self.log_action(summary.clone());
                self.toast(
                    if ok {
                        ToastLevel::Info
                    } else {
                        ToastLevel::Error
                    },
                    summary,
                );
            }
            Msg::IntegrityChecked { integrity, at } => {
                self.ledger.integrity = Some((at, integrity))
            }
            Msg::SourceMissing { source, at } => {
                let st = self.sources.entry(source).or_default();
                st.missing = true;
                st.last_error = None;
                let _ = at;
            }
            Msg::SourceRecovered { source, at } => {
                let st = self.sources.entry(source).or_default();
                st.missing = false;
                st.last_error = None;
                st.last_ok = Some(at);
            }
            Msg::SourceReset { source, reason } => {
                if source == SourceId::Rules {
                    self.rhythm.rules.clear();
                    self.rhythm.bad_rules = 0;
                    self.marker_sel = None;
                }
                self.toast(
                    ToastLevel::Warn,
                    format!("{}: {reason}; reading it again", source.label()),
                );
            }
            Msg::RegistryInvalid { error, at } => {
                self.toast(
                    ToastLevel::Error,
                    format!("registry: {error} (keeping the last good one)"),
                );
                self.sources
                    .entry(SourceId::Registry)
                    .or_default()
                    .last_error = Some((at, error.to_string()));
                self.registry_error = Some(error);
            }
        }
    }

    fn ingest_samples(&mut self, samples: &[Sample], at: DateTime<Utc>) {
        let mut gauges = [f64::NAN; 4];
        let mut any_gauge = false;
        for s in samples {
            let gauge = match s.name.as_str() {
                "lumen_phase_diff" => Some(0),
                "lumen_entropy_rate" => Some(1),
                "lumen_creative_band" => Some(2),
                "lumen_risk_band" => Some(3),
                _ => None,
            };
            if let Some(i) = gauge {
                if let Some(g) = gauges.get_mut(i) {
                    *g = s.value;
                    any_gauge = true;
                }
                continue;
            }
            match s.name.as_str() {
                "lumen_gateway_status" => self.rhythm.gateway_status = Some(s.value),
                "hq_branch_up" | "hq_branch_latency_seconds" | "hq_branch_error_ratio" => {
                    if let Some(b) = s.labels.get("branch") {
                        let h = self.health.entry(b.clone()).or_default();
                        h.exporter_at = Some(at);
                        match s.name.as_str() {
                            "hq_branch_up" => h.exporter_up = Some(s.value >= 0.5),
                            "hq_branch_latency_seconds" => h.exporter_latency = Some(s.value),
                            _ => h.error_ratio = Some(s.value),
                        }
                    }
                }
                _ => {}
            }
            if !s.name.starts_with("lumen_phase") {
                self.rhythm.other.insert(series_key(s), s.value);
            }
        }
        if any_gauge {
            let t = at.timestamp_millis() as f64 / 1000.0;
            self.rhythm.push_live(GaugePoint { t, values: gauges });
        }
    }

    /// Branch ids in sync-plan order: explicit `order` entries first, then by tier in
    /// the plan's `tiers` order (canary, standard, incubation by default), then by id.
    pub fn branch_order(&self) -> Vec<String> {
        let Some(hq) = &self.hq else {
            return self.health.keys().cloned().collect();
        };
        let Some(reg) = &hq.registry else {
            return self.health.keys().cloned().collect();
        };
        crate::actions::plan::sync_order(&reg.branches, hq.sync_plan.as_ref())
    }

    /// Whether `branch` is in maintenance (decision engine or registry flag).
    pub fn in_maintenance(&self, branch: &str) -> bool {
        let Some(hq) = &self.hq else { return false };
        if let Some(d) = &hq.decision
            && let Some(m) = d.maintenance.get(branch)
        {
            return *m;
        }
        hq.registry
            .as_ref()
            .and_then(|r| r.branches.iter().find(|b| b.id == branch))
            .is_some_and(|b| b.maintenance_mode)
    }

    pub fn kill_switch(&self) -> bool {
        self.hq
            .as_ref()
            .and_then(|h| h.decision.as_ref())
            .is_some_and(|d| d.kill_switch)
    }

    /// Seconds since `t`, for staleness labels.
    pub fn age(&self, t: DateTime<Utc>) -> i64 {
        (self.now - t).num_seconds().max(0)
    }
}

fn series_key(s: &Sample) -> String {
    if s.labels.is_empty() {
        return s.name.clone();
    }
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{}{{{}}}", s.name, labels.join(","))
}

/// Move a list selection for an action; other actions leave it.
fn move_sel(cur: usize, n: usize, a: Action, page: usize) -> usize {
    if n == 0 {
        return 0;
    }
    let last = n - 1;
    match a {
        Action::Up => cur.saturating_sub(1),
        Action::Down => (cur + 1).min(last),
        Action::PageUp => cur.saturating_sub(page),
        Action::PageDown => (cur + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => cur.min(last),
    }
}

/// Human age: "4s", "3m", "2h", "5d".
pub fn fmt_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}

impl App {
    fn note_outdated(&mut self, at: DateTime<Utc>) {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
            return;
        };
        for b in &reg.branches {
            let st = protocol_state(
                b.hq_protocol_version.as_deref(),
                &reg.hq_version,
                None,
                None,
                at,
            );
            if st == ProtocolState::Outdated {
                self.first_outdated.entry(b.id.clone()).or_insert(at);
            } else {
                self.first_outdated.remove(&b.id);
            }
        }
    }

    /// Protocol state of a branch (SPEC §3, `domain::hq::protocol_state`), with the
    /// time this console first saw it outdated.
    pub fn protocol_state(&self, branch: &str) -> crate::domain::hq::ProtocolState {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
            return ProtocolState::Unknown;
        };
        let Some(b) = reg.branches.iter().find(|b| b.id == branch) else {
            return ProtocolState::Unknown;
        };
        protocol_state(
            b.hq_protocol_version.as_deref(),
            &reg.hq_version,
            reg.migration.as_ref().and_then(|m| m.deprecate_after_days),
            self.first_outdated.get(branch).copied(),
            self.now,
        )
    }

    /// Re-evaluate the cost book at `now` (once a second, or after new entries).
    pub fn refresh_cost(&mut self) {
        self.cost.prune(self.now);
        let mut rows = self.cost.all(self.now);
        // Registry branches with no spend yet still get a row.
        for id in self.branch_order() {
            if !rows.iter().any(|r| r.branch == id) {
                rows.push(self.cost.branch(&id, self.now));
            }
        }
        rows.sort_by(|a, b| {
            b.mtd_cost
                .total_cmp(&a.mtd_cost)
                .then_with(|| a.branch.cmp(&b.branch))
        });
        self.cost_index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.branch.clone(), i))
            .collect();
        self.cost_rows = rows;
        self.cost_totals = Some(self.cost.totals(self.now));
        self.cost_stale = false;
        self.alert_cost();
    }

    /// `cost_limit_exceeded`: once per branch and level (throttle, notify, suspend), in
    /// the banner and — from a console with an operator key, so that many read-only
    /// consoles do not all post — through the notification rules. A level that drops
    /// (a new month) re-arms the alert.
    fn alert_cost(&mut self) {
        use crate::domain::cost::Escalation as E;
        let mut fired = Vec::new();
        for r in &self.cost_rows {
            let before = self.cost_alerted.get(&r.branch).copied().unwrap_or(E::None);
            if r.escalation > before {
                let pct = r.limit_ratio.map_or(String::new(), |x| {
                    format!(" at {:.0}% of its limit", x * 100.0)
                });
                fired.push(format!(
                    "cost_limit_exceeded: {}{pct} → {}",
                    crate::domain::sanitize::sanitize(&r.branch),
                    r.escalation.as_str()
                ));
            }
            if r.escalation != before {
                self.cost_alerted.insert(r.branch.clone(), r.escalation);
            }
        }
        // One notice on screen (the banner keeps three), one notification per branch.
        match fired.as_slice() {
            [] => {}
            [one] => self.toast(ToastLevel::Warn, one.clone()),
            many => self.toast(
                ToastLevel::Warn,
                format!(
                    "cost_limit_exceeded: {} branches — see the cost meter",
                    many.len()
                ),
            ),
        }
        if !self.readonly {
            for text in fired {
                self.commands.push(Command::Notify {
                    events: vec!["cost_limit_exceeded".into()],
                    text,
                });
            }
        }
    }

    /// The cost row of `branch`, if it has one (indexed on refresh, not searched).
    pub fn cost_row(&self, branch: &str) -> Option<&crate::domain::cost::BranchCost> {
        self.cost_index
            .get(branch)
            .and_then(|i| self.cost_rows.get(*i))
    }
}
