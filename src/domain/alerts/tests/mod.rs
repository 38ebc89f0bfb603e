//! Tests of the alerts module, with an injected clock (`now` is always an argument).

mod alertmanager;
mod conditions;
mod custody;
mod routing;
mod summary;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::*;
use crate::domain::ledger::Entry;

pub(super) fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 18, 12, 0, 0).unwrap()
}

pub(super) fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

pub(super) fn entry(
    id: &str,
    branch: &str,
    event: &str,
    status: Option<&str>,
    at: DateTime<Utc>,
) -> Entry {
    Entry {
        id: id.into(),
        branch: branch.into(),
        event: event.into(),
        timestamp: at.fixed_offset(),
        status: status.map(str::to_owned),
        actor: Some("ci".into()),
        tokens: None,
        cost: None,
        tier: None,
        target: None,
        change: None,
        chained: false,
        signed: false,
        line: None,
    }
}

pub(super) fn down(id: &str, failures: u32, esc: HealthEscalation) -> BranchFacts {
    BranchFacts {
        id: id.into(),
        status: HealthStatus::Down,
        consecutive_failures: failures,
        escalation: esc,
        down_since: None,
        last_error: Some("connect: connection refused".into()),
    }
}

pub(super) fn up(id: &str) -> BranchFacts {
    BranchFacts {
        id: id.into(),
        status: HealthStatus::Up,
        ..BranchFacts::default()
    }
}

/// Names and severities, in order.
pub(super) fn names(v: &[Alert]) -> Vec<(AlertName, Severity)> {
    v.iter().map(|a| (a.alertname, a.severity)).collect()
}
