//! The facts one evaluation looks at. Domain-level on purpose: the console, `watch`
//! and tests fill them from whatever they hold; nothing here knows about panes or
//! tasks. Ledger facts are not here: they arrive entry by entry through
//! [`super::Evaluator::ingest`].

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::domain::cost::Escalation;
use crate::domain::hq::FileError;
use crate::domain::rhythm::GaugePoint;

/// A branch's health status, as the health pane shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthStatus {
    Up,
    Degraded,
    Down,
    Maintenance,
    #[default]
    Unknown,
}

/// Escalation after consecutive failed checks: retry → rollback proposed → hq_admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum HealthEscalation {
    #[default]
    None,
    Retry,
    RollbackProposed,
    HqAdmin,
}

/// What is known about one branch's health.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BranchFacts {
    pub id: String,
    pub status: HealthStatus,
    pub consecutive_failures: u32,
    pub escalation: HealthEscalation,
    /// First failed check of the current run of failures, when known.
    pub down_since: Option<DateTime<Utc>>,
    /// The last check's error, for the summary (sanitised here).
    pub last_error: Option<String>,
}

/// A branch's month-to-date cost state.
#[derive(Debug, Clone, PartialEq)]
pub struct CostFacts {
    pub branch: String,
    pub escalation: Escalation,
    /// Month-to-date tokens over the tier's monthly limit (1.0 = 100 %).
    pub ratio: f64,
}

/// Which integrity check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IntegrityCheck {
    /// A `prev` link does not match the line before it (or a signed line moved).
    Chain,
    /// A signature is bad or its signer unknown, or a signed id is duplicated.
    Signature,
    /// A checkpoint no longer matches the ledger, is badly signed or was deleted.
    Checkpoint,
    /// The newest checkpoint this machine remembered is no longer in the ledger.
    Witness,
}

impl IntegrityCheck {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrityCheck::Chain => "chain",
            IntegrityCheck::Signature => "signature",
            IntegrityCheck::Checkpoint => "checkpoint",
            IntegrityCheck::Witness => "witness",
        }
    }
}

/// One failed integrity check.
#[derive(Debug, Clone, PartialEq)]
pub struct IntegrityFailure {
    pub check: IntegrityCheck,
    /// How many lines or checkpoints fail it.
    pub count: u64,
    /// The first problem, one line (sanitised here).
    pub detail: String,
    /// The ledger line of the first problem, when there is one.
    pub line: Option<u64>,
}

/// The last integrity verification of the ledger.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum IntegrityFacts {
    /// Not verified yet (or verification could not run).
    #[default]
    Unchecked,
    /// Verified, with the failures found (empty: the ledger verifies).
    Checked(Vec<IntegrityFailure>),
}

/// Rejected ledger lines so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RejectFacts {
    pub count: u64,
    /// Line number of the newest reject, when known.
    pub newest_line: Option<u64>,
}

/// `hq/sync/conflict-policy.json`'s `onConflict`, the part alerts need.
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictPolicy {
    /// A conflict open longer than this fires `ConflictUnresolved`.
    pub timeout_hours: f64,
    /// Who the conflict escalates to (a role), named in the alert's action.
    pub escalate_to: String,
}

impl Default for ConflictPolicy {
    /// The whitepaper's defaults: 72 hours, then the HQ admin.
    fn default() -> Self {
        ConflictPolicy {
            timeout_hours: 72.0,
            escalate_to: "hq_admin".into(),
        }
    }
}

/// One polled data source (an exporter, the health checks, Prometheus).
#[derive(Debug, Clone, PartialEq)]
pub struct SourceFacts {
    /// Stable name, used as the `source` label (e.g. `exporter 127.0.0.1:9108`).
    pub name: String,
    /// Start of the current run of failures; `None` while it works.
    pub failing_since: Option<DateTime<Utc>>,
    /// How often it is polled.
    pub interval: Duration,
    /// The newest error (sanitised here).
    pub error: Option<String>,
}

/// The rhythm gauges and their thresholds (`gateway_activation.yaml`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RhythmFacts<'a> {
    /// Points in time order, in at most two slices (as `VecDeque::as_slices` gives
    /// them): `parts[0]` then `parts[1]`.
    pub parts: [&'a [GaugePoint]; 2],
    pub risk_band_max: Option<f64>,
    pub creative_band_min: Option<f64>,
}

impl<'a> RhythmFacts<'a> {
    pub fn from_slice(
        points: &'a [GaugePoint],
        risk_max: Option<f64>,
        creative_min: Option<f64>,
    ) -> Self {
        RhythmFacts {
            parts: [points, &[]],
            risk_band_max: risk_max,
            creative_band_min: creative_min,
        }
    }

    pub fn from_deque(
        points: &'a VecDeque<GaugePoint>,
        risk_max: Option<f64>,
        creative_min: Option<f64>,
    ) -> Self {
        let (a, b) = points.as_slices();
        RhythmFacts {
            parts: [a, b],
            risk_band_max: risk_max,
            creative_band_min: creative_min,
        }
    }

    /// Newest point first.
    pub(crate) fn newest_first(&self) -> impl Iterator<Item = &'a GaugePoint> {
        let [a, b] = self.parts;
        b.iter().rev().chain(a.iter().rev())
    }
}

/// Everything one evaluation looks at, borrowed from the caller (no copies of a
/// 10,000-branch fleet per tick). Slices may be empty: a fact not known yields no
/// alert.
#[derive(Debug, Clone, Default)]
pub struct Inputs<'a> {
    pub branches: &'a [BranchFacts],
    pub costs: &'a [CostFacts],
    pub integrity: Option<&'a IntegrityFacts>,
    /// `None`: the reject count is not known yet (no baseline is taken).
    pub rejects: Option<RejectFacts>,
    /// `killSwitch` of `decision-engine.json`; `None` when not configured.
    pub kill_switch: Option<bool>,
    /// `None`: no conflict policy file; the defaults apply.
    pub conflict_policy: Option<&'a ConflictPolicy>,
    pub sources: &'a [SourceFacts],
    /// HQ files that could not be loaded. Paths should be relative to the HQ root so
    /// every evaluator labels them alike.
    pub files: &'a [FileError],
    pub rhythm: RhythmFacts<'a>,
    /// The trust chain and custody state (`lumen custody`), assessed at the same
    /// `now`; `None` when the HQ has no custody files.
    pub custody: Option<&'a crate::domain::hq::custody::CustodyReport>,
}
