//! Branch health state: per-branch checks, status, escalation; the health pane's keys.

use std::collections::VecDeque;
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

pub(crate) const LATENCY_HISTORY: usize = 40;

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

    pub(crate) fn record(&mut self, r: HealthResult) {
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

impl App {
    pub(crate) fn health_action(&mut self, a: Action) {
        let n = self.branch_order().len();
        self.health_sel = move_sel(self.health_sel, n, a, 10);
    }
}

impl App {
    /// `/` submitted in the health pane.
    pub(crate) fn submit_health_filter(&mut self, text: String) {
        self.health_filter = text;
    }
}
