//! Ledger-derived alert state, fed entry by entry so the ledger is never re-scanned:
//! open deploy failures, kill switch violations and open conflicts. Bounded: entries
//! are dropped by age on every evaluation, and by count (oldest first) past
//! [`super::MAX_OPEN`] per kind.

use chrono::{DateTime, Utc};
use rustc_hash::FxHashMap;

use crate::domain::ledger::Entry;

/// One entry that keeps an alert open.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Open {
    pub branch: String,
    pub id: String,
    pub line: Option<u64>,
    pub at: DateTime<Utc>,
    /// Ingest order: ties on `at` keep file order.
    pub seq: u64,
    /// Kill switch violations: when the kill switch went on.
    pub activated: Option<DateTime<Utc>>,
    /// Deploy failures: the change being synced.
    pub note: Option<String>,
}

/// Open items of one kind, per branch.
#[derive(Debug, Clone, Default)]
pub(super) struct OpenSet {
    by_branch: FxHashMap<String, Vec<Open>>,
    len: usize,
}

impl OpenSet {
    pub fn iter(&self) -> impl Iterator<Item = &Open> {
        self.by_branch.values().flatten()
    }

    fn push(&mut self, o: Open, cap: usize) {
        self.by_branch.entry(o.branch.clone()).or_default().push(o);
        self.len += 1;
        if self.len > cap {
            self.shed(cap);
        }
    }

    /// Drop the oldest until at most `keep` × 3/4 remain (amortised: a shed happens
    /// once per `cap / 4` pushes at most).
    fn shed(&mut self, cap: usize) {
        let keep = cap - cap / 4;
        let mut ats: Vec<(DateTime<Utc>, u64)> = self.iter().map(|o| (o.at, o.seq)).collect();
        ats.sort_unstable();
        let cut = ats.len().saturating_sub(keep);
        let Some(&limit) = ats.get(cut) else {
            return;
        };
        self.retain(|o| (o.at, o.seq) >= limit);
    }

    /// Remove every item of `branch` that `remove` selects.
    fn remove_in(&mut self, branch: &str, mut remove: impl FnMut(&Open) -> bool) {
        if let Some(v) = self.by_branch.get_mut(branch) {
            let before = v.len();
            v.retain(|o| !remove(o));
            self.len -= before - v.len();
            if v.is_empty() {
                self.by_branch.remove(branch);
            }
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&Open) -> bool) {
        let mut len = 0;
        self.by_branch.retain(|_, v| {
            v.retain(&mut keep);
            len += v.len();
            !v.is_empty()
        });
        self.len = len;
    }

    fn clear(&mut self) {
        self.by_branch.clear();
        self.len = 0;
    }
}

/// What the ledger has said so far, as far as alerts care.
#[derive(Debug, Clone, Default)]
pub(super) struct LedgerWatch {
    pub failed: OpenSet,
    pub violations: OpenSet,
    pub conflicts: OpenSet,
    /// The kill switch per the ledger: on since this entry's time (`None`: off or
    /// never mentioned).
    pub kill_switch_on: Option<DateTime<Utc>>,
    /// Whether the ledger mentioned the kill switch at all.
    pub kill_switch_seen: bool,
    seq: u64,
}

/// Statuses that mean a deploy or rollback failed.
pub(super) fn is_failed_status(s: Option<&str>) -> bool {
    matches!(s, Some("failed" | "failure" | "error"))
}

/// Statuses that mean it worked (absent counts as success: the whitepaper's workers
/// write plain `deploy` lines).
fn is_success_status(s: Option<&str>) -> bool {
    matches!(
        s,
        None | Some("success" | "succeeded" | "ok" | "done" | "passed")
    )
}

/// Entries the kill switch is meant to stop: every `deploy*` event.
fn is_deploy_event(event: &str) -> bool {
    event == "deploy" || event.starts_with("deploy_")
}

impl LedgerWatch {
    /// Fold in one entry (in file order). `line` is its 1-based line number when
    /// known (the alert's Enter target).
    pub fn ingest(&mut self, line: Option<u64>, e: &Entry, cap: usize) {
        self.seq += 1;
        let seq = self.seq;
        let at = e.timestamp.with_timezone(&Utc);
        let status = e.status.as_deref();
        let open = |note: Option<String>, activated| Open {
            branch: e.branch.clone(),
            id: e.id.clone(),
            line,
            at,
            seq,
            activated,
            note,
        };
        match e.event.as_str() {
            "deploy_failed" => self.failed.push(open(e.change.clone(), None), cap),
            "deploy" if is_failed_status(status) => {
                self.failed.push(open(e.change.clone(), None), cap)
            }
            // A later successful deploy or rollback of the branch clears its earlier
            // failures.
            "deploy" | "rollback" if is_success_status(status) => {
                self.failed.remove_in(&e.branch, |o| o.at <= at)
            }
            "kill_switch_activated" => {
                self.kill_switch_seen = true;
                if self.kill_switch_on.is_none() {
                    self.kill_switch_on = Some(at);
                }
            }
            "kill_switch_released" => {
                self.kill_switch_seen = true;
                self.kill_switch_on = None;
                // The halt is over: what ran during it is history in the ledger.
                self.violations.clear();
            }
            "conflict_detected" => self.conflicts.push(open(None, None), cap),
            "conflict_resolved" => match e.target.as_deref() {
                Some(t) => self.conflicts.remove_in(&e.branch, |o| o.id == t),
                None => self.conflicts.remove_in(&e.branch, |o| o.at <= at),
            },
            _ => {}
        }
        if is_deploy_event(&e.event)
            && let Some(on) = self.kill_switch_on
            && at > on
        {
            self.violations.push(open(None, Some(on)), cap);
        }
    }
}
