//! `Action`: what the user asked for (named, so keys are configurable and the help
//! overlay is generated from the live keymap). `Msg`: facts reported by the data
//! sources and background jobs. Both flow into `App::update`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::exposition::Sample;
use crate::domain::hq::FileError;
use crate::domain::ledger::{Entry, RejectReason};
use crate::domain::rhythm::{GaugePoint, RuleChange};

/// User intents. snake_case names are the keymap file's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Quit,
    FocusNext,
    FocusPrev,
    FocusHealth,
    FocusLedger,
    FocusCost,
    FocusRhythm,
    FocusCeremony,
    ToggleZoom,
    ToggleHelp,
    CycleTheme,
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Left,
    Right,
    Select,
    Back,
    ToggleFollow,
    OpenFilter,
    OpenPalette,
    NextMatch,
    PrevMatch,
    ShowRejects,
    Rollback,
    RuleRollback,
    KillSwitch,
    Maintenance,
    NarrowerWindow,
    WiderWindow,
    ToggleSeries,
    CycleSort,
    CycleContext,
}

impl Action {
    /// Every action, in help-overlay order.
    pub const ALL: [Action; 36] = [
        Action::Quit,
        Action::ToggleHelp,
        Action::FocusNext,
        Action::FocusPrev,
        Action::FocusHealth,
        Action::FocusLedger,
        Action::FocusCost,
        Action::FocusRhythm,
        Action::FocusCeremony,
        Action::ToggleZoom,
        Action::CycleTheme,
        Action::Up,
        Action::Down,
        Action::PageUp,
        Action::PageDown,
        Action::Top,
        Action::Bottom,
        Action::Left,
        Action::Right,
        Action::Select,
        Action::Back,
        Action::ToggleFollow,
        Action::OpenFilter,
        Action::OpenPalette,
        Action::NextMatch,
        Action::PrevMatch,
        Action::ShowRejects,
        Action::Rollback,
        Action::RuleRollback,
        Action::KillSwitch,
        Action::Maintenance,
        Action::NarrowerWindow,
        Action::WiderWindow,
        Action::ToggleSeries,
        Action::CycleSort,
        Action::CycleContext,
    ];

    /// One line for the help overlay.
    pub fn describe(self) -> &'static str {
        match self {
            Action::Quit => "quit",
            Action::FocusNext => "focus next pane",
            Action::FocusPrev => "focus previous pane",
            Action::FocusHealth => "focus branch health",
            Action::FocusLedger => "focus ledger stream",
            Action::FocusCost => "focus cost meter",
            Action::FocusRhythm => "focus rhythm map",
            Action::FocusCeremony => "focus ceremony simulator",
            Action::ToggleZoom => "zoom the focused pane to full screen",
            Action::ToggleHelp => "toggle this help",
            Action::CycleTheme => "switch to the next theme",
            Action::Up => "move up",
            Action::Down => "move down",
            Action::PageUp => "page up",
            Action::PageDown => "page down",
            Action::Top => "go to the top",
            Action::Bottom => "go to the bottom / resume follow",
            Action::Left => "left / pan back in time",
            Action::Right => "right / pan forward in time",
            Action::Select => "open detail",
            Action::Back => "close overlay or detail",
            Action::ToggleFollow => "follow / pause the ledger tail",
            Action::OpenFilter => "filter the focused pane",
            Action::OpenPalette => "command palette",
            Action::NextMatch => "next filter match",
            Action::PrevMatch => "previous filter match",
            Action::ShowRejects => "show rejected ledger lines",
            Action::Rollback => "roll back the selected deploy / branch",
            Action::RuleRollback => "roll back the newest rule change",
            Action::KillSwitch => "toggle the kill switch",
            Action::Maintenance => "toggle maintenance for the selected branch",
            Action::NarrowerWindow => "narrower time window",
            Action::WiderWindow => "wider time window",
            Action::ToggleSeries => "rhythm: browse every other exporter series",
            Action::CycleSort => "cycle the sort order (health, cost)",
            Action::CycleContext => "context lines around matches",
        }
    }
}

/// Which data source a message or staleness figure is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceId {
    /// Exporter by index into the configured list.
    Exporter(usize),
    /// Prometheus as the health source (PromQL instant queries).
    Prometheus,
    /// Prometheus as the rhythm map's history (`query_range` backfill).
    PrometheusHistory,
    Ledger,
    Rules,
    Metrics,
    Health,
    Registry,
}

impl SourceId {
    pub fn label(&self) -> String {
        match self {
            SourceId::Exporter(i) => format!("exporter #{}", i + 1),
            SourceId::Prometheus => "prometheus".into(),
            SourceId::PrometheusHistory => "prometheus history".into(),
            SourceId::Ledger => "ledger".into(),
            SourceId::Rules => "rules history".into(),
            SourceId::Metrics => "metrics.csv".into(),
            SourceId::Health => "health checks".into(),
            SourceId::Registry => "registry".into(),
        }
    }
}

/// One complete ledger line as read by the tailer.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRecord {
    /// 1-based line number.
    pub line: u64,
    /// 0-based byte offset of the line's first byte.
    pub offset: u64,
    pub parsed: Result<Entry, RejectReason>,
    /// Sanitized excerpt of the raw line (at most a few hundred chars) for views.
    pub excerpt: String,
}

/// Result of one health probe of one branch.
#[derive(Debug, Clone, PartialEq)]
pub struct HealthResult {
    pub branch: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    /// HTTP status when an answer came.
    pub status: Option<u16>,
    pub latency: Option<Duration>,
    pub error: Option<String>,
}

/// Facts from sources and jobs.
#[derive(Debug, Clone)]
pub enum Msg {
    /// An exporter answered and its body was parsed.
    MetricsScraped {
        source: SourceId,
        at: DateTime<Utc>,
        samples: Vec<Sample>,
        /// Lines of the body that could not be read.
        unreadable: usize,
    },
    /// A source failed; it keeps retrying with backoff.
    SourceFailed {
        source: SourceId,
        at: DateTime<Utc>,
        error: String,
    },
    /// Complete ledger lines appended (or read at start).
    LedgerAppended {
        records: Vec<LedgerRecord>,
        at: DateTime<Utc>,
    },
    /// The ledger ends with an unterminated line of this many bytes (0: none).
    LedgerPending { bytes: u64 },
    /// The ledger file was truncated or replaced; the tail restarts from the beginning.
    LedgerReset { reason: String },
    /// Rule changes appended to `rules_history.jsonl`; `bad` lines were skipped.
    RulesAppended {
        rules: Vec<RuleChange>,
        bad: usize,
        at: DateTime<Utc>,
    },
    /// Gauge rows from `logs/metrics.csv` (backfill or tail); `bad` rows were skipped.
    GaugeRows {
        points: Vec<GaugePoint>,
        bad: usize,
        at: DateTime<Utc>,
    },
    /// One round of health checks finished.
    HealthChecked {
        results: Vec<HealthResult>,
        at: DateTime<Utc>,
    },
    /// Registry files were (re)loaded.
    RegistryReloaded {
        hq: Box<crate::domain::hq::HqSnapshot>,
        at: DateTime<Utc>,
    },
    /// A registry file changed but is invalid: the last good one stays in use.
    RegistryInvalid { error: FileError, at: DateTime<Utc> },
    /// A tailed file other than the ledger (rules history, metrics.csv) was truncated
    /// or replaced: drop what came from it; it is re-read from the start.
    SourceReset { source: SourceId, reason: String },
    /// An optional file is absent: the feature shows as not configured.
    SourceMissing { source: SourceId, at: DateTime<Utc> },
    /// A source is readable (again).
    SourceRecovered { source: SourceId, at: DateTime<Utc> },
    /// A rollback was planned: ask the operator to confirm.
    OperatorPlanned {
        action: crate::app::PendingAction,
        title: String,
        lines: Vec<String>,
        expected: String,
        alternative: Option<String>,
    },
    /// A running action reported a step.
    OperatorProgress { line: String, at: DateTime<Utc> },
    /// An action finished, or was refused (`ok: false`), with a one-line summary.
    OperatorDone {
        ok: bool,
        summary: String,
        at: DateTime<Utc>,
    },
    /// A background `ledger verify` finished (chain, signatures, checkpoints).
    IntegrityChecked {
        integrity: crate::app::Integrity,
        at: DateTime<Utc>,
    },
    /// A Prometheus `query_range` backfill of the four gauges over the last `window`
    /// at `step`; `bad` timestamps lacked a gauge.
    PromBackfilled {
        points: Vec<GaugePoint>,
        bad: usize,
        at: DateTime<Utc>,
        window: Duration,
        step: Duration,
    },
    /// A finished ceremony rehearsal was saved (transcript path, ledger entry or why
    /// not), or could not be saved.
    RehearsalSaved {
        result: Result<crate::cmd::ceremony::SavedRehearsal, String>,
        at: DateTime<Utc>,
    },
    /// The ledger pane's reader answered (pages, filter matches, detail, index progress).
    LedgerView(crate::app::LedgerViewMsg),
}
