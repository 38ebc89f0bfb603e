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
    ToggleAlerts,
    SilenceAlert,
    OpenNotifications,
    DismissNotices,
    Copy,
    CustodyView,
    SyncView,
    PolicyOverlay,
    BranchLock,
}

impl Action {
    /// Every action, in help-overlay order.
    pub const ALL: [Action; 45] = [
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
        Action::ToggleAlerts,
        Action::SilenceAlert,
        Action::OpenNotifications,
        Action::DismissNotices,
        Action::Copy,
        Action::CustodyView,
        Action::SyncView,
        Action::PolicyOverlay,
        Action::BranchLock,
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
            Action::ToggleAlerts => "open / close the alerts view",
            Action::SilenceAlert => "alerts view: silence the selected alert in Alertmanager",
            Action::OpenNotifications => "notification history (every notice, newest first)",
            Action::DismissNotices => "dismiss the error notices that stay until seen",
            Action::Copy => "copy the selected id or line to the clipboard (OSC 52)",
            Action::CustodyView => "custody: root, signer, CRL, audits",
            Action::SyncView => "sync detail: changes, conflicts",
            Action::PolicyOverlay => "policy, decision engine, escalation",
            Action::BranchLock => "branch lock (maintenance on)",
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
        action: crate::protocol::PendingAction,
        title: String,
        lines: Vec<String>,
        expected: String,
        alternative: Option<String>,
    },
    /// A running action reported a step.
    OperatorProgress {
        line: String,
        at: DateTime<Utc>,
        /// A rollback hook that failed: its captured output (stdout then stderr,
        /// bounded; sanitised before it is shown), kept in the notification history.
        output: Option<String>,
    },
    /// An action finished, or was refused (`ok: false`), with a one-line summary.
    OperatorDone {
        ok: bool,
        summary: String,
        at: DateTime<Utc>,
    },
    /// A background `ledger verify` finished (chain, signatures, checkpoints).
    IntegrityChecked {
        integrity: crate::protocol::Integrity,
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
        result: Result<crate::domain::ceremony::transcript::SavedRehearsal, String>,
        at: DateTime<Utc>,
    },
    /// The ledger pane's reader answered (pages, filter matches, detail, index progress).
    LedgerView(crate::protocol::LedgerViewMsg),
    /// A ceremony participant's key file was read (or why it was refused).
    ParticipantKey {
        role: usize,
        path: std::path::PathBuf,
        result: Result<Box<ed25519_dalek::SigningKey>, String>,
    },
    /// The console's Alertmanager link reported (a listing, a post, a failure).
    Alertmanager(AmReport),
}

/// What the console's Alertmanager link (`operator::am_link`) reports.
#[derive(Debug, Clone, PartialEq)]
pub enum AmReport {
    /// Alertmanager's active alerts (from every poster, Prometheus rules included)
    /// and its silences. Raw network text: sanitised before it is shown.
    Listed {
        alerts: Vec<crate::domain::alerts::ListedAlert>,
        silences: Vec<crate::domain::alerts::Silence>,
        at: DateTime<Utc>,
    },
    /// This console's firing alerts (and recent resolutions) were accepted.
    Posted { alerts: usize, at: DateTime<Utc> },
    /// A request failed; the link tries again after `retry_in` (backing off).
    Failed {
        error: String,
        at: DateTime<Utc>,
        retry_in: Duration,
    },
}

/// Work for the console's Alertmanager link.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertsRequest {
    /// An evaluation changed what fires (fired, resolved, and everything firing now):
    /// post it, and keep re-posting what fires before Alertmanager would resolve it.
    Evaluated {
        at: DateTime<Utc>,
        transitions: Box<crate::domain::alerts::Transitions>,
    },
    /// List Alertmanager's alerts and silences now (the alerts view opened).
    Poll,
}

/// An operator action waiting for (or past) its typed confirmation.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingAction {
    Rollback {
        plan: Box<crate::domain::plan::RollbackPlan>,
    },
    KillSwitch {
        on: bool,
    },
    Maintenance {
        branch: String,
        on: bool,
    },
    RuleRollback,
    /// Silence the alerts matching `labels` in Alertmanager for `duration`: a signed
    /// `alert_silenced` ledger entry first, then the silence (`createdBy` = signer).
    SilenceAlert {
        labels: std::collections::BTreeMap<String, String>,
        duration: Duration,
        comment: String,
    },
}

/// Work `update` asks the run loop to start (it never does I/O itself).
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Read the whole ledger and plan a rollback of `target` (a deploy TXN).
    PlanRollback { target: String },
    /// The operator confirmed: do it (ledger entry first, then the effect).
    Execute(PendingAction),
    /// Put this text on the terminal's clipboard (OSC 52; the run loop writes it).
    CopyToClipboard { text: String },
    /// Send notifications for `events` per rules.json (an alert, not an action).
    Notify { events: Vec<String>, text: String },
    /// Save a finished ceremony rehearsal: transcript, then the ledger entry.
    SaveRehearsal(Box<crate::domain::ceremony::transcript::RehearsalRecord>),
    /// Read from the ledger for the ledger pane (pages, filter scan, detail, find).
    Ledger(LedgerRequest),
    /// Ask Prometheus for rhythm history over this window (the newest request wins).
    Backfill(BackfillRequest),
    /// Read the key file a ceremony participant brings (role index in the setup).
    LoadParticipantKey {
        role: usize,
        path: std::path::PathBuf,
    },
    /// For the Alertmanager link (routed to it by the console when
    /// `alertmanager_url` is set; dropped otherwise).
    Alerts(AlertsRequest),
}

/// The last background verification of the whole ledger (docs/ledger.md).
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
    /// The local witness no longer finds the checkpoint this machine verified before
    /// (history cut or rewritten): what it remembered (size, when) and what is wrong.
    pub witness_alarm: Option<String>,
}

/// Work for the ledger reader (`crate::sources::ledger_reader`), off the update path.
#[derive(Debug, Clone, PartialEq)]
pub enum LedgerRequest {
    /// Lines `first..first+count` (1-based).
    Page { first: u64, count: u64 },
    /// Scan the whole ledger for `filter` and keep matching appended lines; `None`
    /// stops the running scan. Results carry `generation`.
    Filter {
        generation: u64,
        filter: Option<crate::domain::ledger_filter::LedgerFilter>,
    },
    /// The detail of one line.
    Detail { line: u64, offset: u64 },
    /// Where the entry with this id is (a rollback's target).
    FindId { id: String },
    /// The tail delivered its first lines: whole-file work (the index build, the
    /// integrity check) may start without delaying the first screen.
    TailStarted,
}

/// Progress of the offset index built in the background at start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexStatus {
    pub lines: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub building: bool,
    pub error: Option<String>,
}

/// One line read through the index; `record` is `None` for an empty line.
#[derive(Debug, Clone, PartialEq)]
pub struct PageLine {
    pub line: u64,
    pub offset: u64,
    pub record: Option<LedgerRecord>,
}

/// Does this line's `prev` equal the SHA-256 of the line before it?
#[derive(Debug, Clone, PartialEq)]
pub enum ChainStatus {
    Linked,
    Broken { found: String, expected: String },
    Unchained,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SigStatus {
    Valid {
        signer: String,
    },
    Bad {
        signer: String,
        reason: String,
    },
    /// keys.json could not be read.
    Unknown {
        reason: String,
    },
    Unsigned,
}

/// The detail view of one line, computed by the reader.
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerDetail {
    pub line: u64,
    pub offset: u64,
    pub len: u64,
    /// Pretty-printed JSON (every field, sanitized), one screen line each; for a
    /// reject, its sanitized excerpt.
    pub pretty: Vec<String>,
    pub reject: Option<String>,
    pub chain: ChainStatus,
    pub signature: SigStatus,
    /// A `rollback*` entry's `target`.
    pub target: Option<String>,
}

/// What the ledger reader reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LedgerViewMsg {
    Index(IndexStatus),
    Page {
        first: u64,
        lines: Vec<PageLine>,
    },
    PageFailed {
        first: u64,
        error: String,
    },
    /// New matches (ascending, after every earlier one) and scan progress in bytes.
    Matches {
        generation: u64,
        lines: Vec<u64>,
        scanned: u64,
        total: u64,
        done: bool,
    },
    FilterFailed {
        generation: u64,
        error: String,
    },
    Detail(Box<LedgerDetail>),
    DetailFailed {
        line: u64,
        error: String,
    },
    /// The (line, offset) of an id, or `None` when it is not in the ledger.
    Found {
        id: String,
        at: Option<(u64, u64)>,
    },
    /// The file changed under the index (truncated, rewritten or replaced): every
    /// page read from it is dropped and the index is being built again.
    Reread {
        reason: String,
    },
    /// The file changed during the filter scan: its matches so far are void and the
    /// scan starts again from the start of the file.
    FilterRestarted {
        generation: u64,
        reason: String,
    },
}

/// A backfill the console wants: the last `window`, drawn across `width` columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillRequest {
    pub window: Duration,
    pub width: u16,
}

impl Action {
    /// The guarded operation behind a key action, if any.
    pub fn operation(self) -> Option<crate::domain::policy::Operation> {
        use crate::domain::policy::Operation;
        match self {
            Action::Rollback => Some(Operation::Rollback),
            Action::Maintenance | Action::BranchLock => Some(Operation::Maintenance),
            Action::KillSwitch => Some(Operation::KillSwitch),
            Action::RuleRollback => Some(Operation::RuleRollback),
            Action::SilenceAlert => Some(Operation::AlertSilence),
            _ => None,
        }
    }
}
