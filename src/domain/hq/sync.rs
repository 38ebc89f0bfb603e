//! The sync side of the HQ (docs/sync.md): `hq/sync/conflict-policy.json`, where a
//! change has reached in the canary order (from the ledger's `deploy` /
//! `deploy_failed` / `rollback` entries with `change`), and the escalation lists of
//! `decision-engine.json` as data. Pure.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{DecisionEngine, Doc, FileError, SyncPlan, get, members};
use crate::domain::ledger::Entry;

/// `conflict-policy.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConflictPolicy {
    /// Whose edit wins: `cell` (the branch's, as the whitepaper says) or `hq`.
    pub priority: ConflictPriority,
    pub on_conflict: OnConflict,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConflictPriority {
    Cell,
    Hq,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OnConflict {
    pub label: String,
    /// A role (`cell_owner`) told when a conflict is detected.
    pub notify: String,
    /// Hours before an unresolved conflict escalates.
    pub timeout_hours: f64,
    pub escalate_to: String,
}

fn role_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

pub fn parse_conflict_policy(path: &Path, bytes: &[u8]) -> Result<ConflictPolicy, FileError> {
    let doc = Doc::new(path, bytes)?;
    let p: ConflictPolicy = doc.typed()?;
    let top = doc.object()?;
    let oc = get(&top, "onConflict")
        .map(|r| members(&doc, r))
        .transpose()?;
    let at = |k: &str| oc.as_ref().and_then(|m| get(m, k));
    if p.on_conflict.label.trim().is_empty() {
        return Err(doc.err_at(
            at("label"),
            "onConflict.label is empty; expected a label such as \"conflict\"",
        ));
    }
    for (k, v) in [
        ("notify", &p.on_conflict.notify),
        ("escalateTo", &p.on_conflict.escalate_to),
    ] {
        if !role_name(v) {
            return Err(doc.err_at(
                at(k),
                format!(
                    "onConflict.{k} `{}` is not a role name; expected e.g. cell_owner or hq_admin",
                    crate::domain::sanitize::sanitize(v)
                ),
            ));
        }
    }
    let h = p.on_conflict.timeout_hours;
    if !(h.is_finite() && h > 0.0 && h <= 8760.0) {
        return Err(doc.err_at(
            at("timeoutHours"),
            format!("onConflict.timeoutHours is {h}; expected hours in (0, 8760]"),
        ));
    }
    Ok(p)
}

/// Where one branch stands for one change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BranchState {
    /// Nothing on the ledger yet for this branch and change.
    Pending,
    Deployed {
        txn: String,
    },
    /// The newest entry is a failure; `retries` counts the failures before it.
    Failed {
        txn: String,
        retries: u32,
    },
    RolledBack {
        txn: String,
    },
    /// An earlier branch in sync order failed and the plan halts on failure.
    SkippedAfterHalt,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchProgress {
    pub branch: String,
    #[serde(flatten)]
    pub state: BranchState,
    /// Failed attempts of this change on this branch (all `deploy_failed` entries).
    pub failures: u32,
}

/// One change's progress through the sync order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeProgress {
    pub change: String,
    /// In sync order.
    pub branches: Vec<BranchProgress>,
    /// A branch failed and `onFailure` is `halt`: later branches are skipped.
    pub halted: bool,
    /// A branch failed more than `maxRetries` times.
    pub retries_exhausted: bool,
}

/// Progress of the `newest` most recent changes (by their newest entry, newest first)
/// over `order` (branch ids in sync order, see `plan::sync_order`). Only `deploy`,
/// `deploy_failed` and `rollback` entries with a `change` count.
pub fn sync_progress(
    entries: &[Entry],
    order: &[String],
    plan: Option<&SyncPlan>,
    newest: usize,
) -> Vec<ChangeProgress> {
    let relevant = |e: &&Entry| {
        matches!(e.event.as_str(), "deploy" | "deploy_failed" | "rollback")
            && e.change.as_deref().is_some_and(|c| !c.is_empty())
    };
    // Changes by their newest entry, newest first.
    let mut changes: Vec<&str> = Vec::new();
    for e in entries.iter().rev().filter(relevant) {
        let c = e.change.as_deref().unwrap_or_default();
        if !changes.contains(&c) {
            changes.push(c);
            if changes.len() == newest {
                break;
            }
        }
    }
    let halt = plan
        .and_then(|p| p.on_failure.as_deref())
        .is_none_or(|f| f == "halt");
    let max_retries = plan.and_then(|p| p.max_retries);
    // One pass groups the chosen changes' entries by (change, branch), in ledger
    // order: the view stays linear in the ledger and the fleet.
    let mut by: std::collections::HashMap<(&str, &str), Vec<&Entry>> =
        std::collections::HashMap::new();
    for e in entries.iter().filter(relevant) {
        let c = e.change.as_deref().unwrap_or_default();
        if changes.contains(&c) {
            by.entry((c, e.branch.as_str())).or_default().push(e);
        }
    }
    changes
        .into_iter()
        .map(|c| {
            let mut halted = false;
            let mut exhausted = false;
            let mut branches = Vec::new();
            for b in order {
                let mine: &[&Entry] = by.get(&(c, b.as_str())).map_or(&[], Vec::as_slice);
                let failures = mine.iter().filter(|e| e.event == "deploy_failed").count() as u32;
                let state = match mine.last() {
                    None if halted => BranchState::SkippedAfterHalt,
                    None => BranchState::Pending,
                    Some(e) => match e.event.as_str() {
                        "rollback" => BranchState::RolledBack { txn: e.id.clone() },
                        "deploy_failed" => BranchState::Failed {
                            txn: e.id.clone(),
                            retries: failures.saturating_sub(1),
                        },
                        _ if e
                            .status
                            .as_deref()
                            .is_some_and(|s| s.eq_ignore_ascii_case("failed")) =>
                        {
                            BranchState::Failed {
                                txn: e.id.clone(),
                                retries: failures,
                            }
                        }
                        _ => BranchState::Deployed { txn: e.id.clone() },
                    },
                };
                if matches!(state, BranchState::Failed { .. }) && halt {
                    halted = true;
                }
                if max_retries.is_some_and(|m| failures > m) {
                    exhausted = true;
                }
                branches.push(BranchProgress {
                    branch: b.clone(),
                    state,
                    failures,
                });
            }
            ChangeProgress {
                change: c.to_string(),
                branches,
                halted,
                retries_exhausted: exhausted,
            }
        })
        .collect()
}

/// The ledger entries the sync view needs, kept as the console reads the ledger:
/// `deploy` / `deploy_failed` / `rollback` with a `change`, and `conflict_detected` /
/// `conflict_resolved`. Bounded: the oldest go first past `cap`.
#[derive(Debug, Clone, Default)]
pub struct SyncLog {
    entries: std::collections::VecDeque<Entry>,
    cap: usize,
}

/// At most this many sync entries are kept by default (a few hundred changes).
pub const SYNC_LOG_CAP: usize = 20_000;

impl SyncLog {
    pub fn new(cap: usize) -> Self {
        SyncLog {
            entries: std::collections::VecDeque::new(),
            cap: cap.max(1),
        }
    }

    /// Keep `e` when the sync view needs it.
    pub fn ingest(&mut self, e: &Entry) {
        let keep = match e.event.as_str() {
            "deploy" | "deploy_failed" | "rollback" => {
                e.change.as_deref().is_some_and(|c| !c.is_empty())
            }
            "conflict_detected" | "conflict_resolved" => true,
            _ => false,
        };
        if !keep {
            return;
        }
        if self.entries.len() >= self.cap.max(1) {
            self.entries.pop_front();
        }
        self.entries.push_back(e.clone());
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The kept entries, oldest first.
    pub fn entries(&mut self) -> &[Entry] {
        self.entries.make_contiguous()
    }
}

/// A `conflict_detected` entry no `conflict_resolved` has settled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenConflict {
    pub id: String,
    pub branch: String,
    pub since: chrono::DateTime<chrono::Utc>,
    /// Whole hours open at `now`.
    pub age_hours: i64,
    /// Who was told (`onConflict.notify`, e.g. `cell_owner`); `None` without a policy.
    pub owner: Option<String>,
    /// When it escalates (`since + timeoutHours`); `None` without a policy.
    pub deadline: Option<chrono::DateTime<chrono::Utc>>,
    /// Past the deadline: escalated to `escalate_to`.
    pub escalated: bool,
    pub escalate_to: Option<String>,
}

/// Open conflicts at `now`, oldest first. A `conflict_resolved` with `target` settles
/// that conflict; without a target, every earlier conflict of its branch (as the
/// `ConflictUnresolved` alert reads them).
pub fn open_conflicts(
    entries: &[Entry],
    policy: Option<&ConflictPolicy>,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<OpenConflict> {
    use crate::domain::sanitize::sanitize;
    let mut open: Vec<&Entry> = Vec::new();
    for e in entries {
        match e.event.as_str() {
            "conflict_detected" => open.push(e),
            "conflict_resolved" => match e.target.as_deref() {
                Some(t) => open.retain(|o| !(o.branch == e.branch && o.id == t)),
                None => open.retain(|o| !(o.branch == e.branch && o.timestamp <= e.timestamp)),
            },
            _ => {}
        }
    }
    let mut out: Vec<OpenConflict> = open
        .into_iter()
        .map(|e| {
            let since = e.timestamp.with_timezone(&chrono::Utc);
            let deadline = policy.map(|p| {
                since + chrono::Duration::seconds((p.on_conflict.timeout_hours * 3600.0) as i64)
            });
            OpenConflict {
                id: sanitize(&e.id).into_owned(),
                branch: sanitize(&e.branch).into_owned(),
                since,
                age_hours: (now - since).num_hours().max(0),
                owner: policy.map(|p| sanitize(&p.on_conflict.notify).into_owned()),
                deadline,
                escalated: deadline.is_some_and(|d| now > d),
                escalate_to: policy.map(|p| sanitize(&p.on_conflict.escalate_to).into_owned()),
            }
        })
        .collect();
    out.sort_by_key(|c| c.since);
    out
}

/// The escalation lists of `decision-engine.json` (`escalation: {deployFailure:
/// [...], llmError: [...]}`), in file order, each step as written (`retry`,
/// `rollback`, `branch_lock`, `hq_admin`, `rag`, `physical`…). Without the key, the
/// whitepaper's matrix: deploy failure → retry, rollback, branch lock; LLM failure →
/// rag, physical, hq_admin; ledger error → auto-check, restore, manual audit; cost
/// overrun → throttle, notify, suspend.
pub fn escalation_lists(d: Option<&DecisionEngine>) -> Vec<(String, Vec<String>)> {
    let from_file = d
        .and_then(|d| d.raw.get("escalation"))
        .and_then(|v| v.as_object());
    match from_file {
        Some(m) => m
            .iter()
            .map(|(k, v)| {
                let steps = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|s| s.as_str())
                            .map(|s| crate::domain::sanitize::sanitize(s).into_owned())
                            .collect()
                    })
                    .unwrap_or_default();
                (crate::domain::sanitize::sanitize(k).into_owned(), steps)
            })
            .collect(),
        None => [
            ("deployFailure", ["retry", "rollback", "branch_lock"]),
            ("llmError", ["rag", "physical", "hq_admin"]),
            ("ledgerError", ["auto_check", "restore", "manual_audit"]),
            ("costOverrun", ["throttle", "notify", "suspend"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::parse_line;

    #[test]
    fn open_conflicts_age_owner_and_escalation() {
        let line = |s: &str| parse_line(s.as_bytes()).unwrap();
        let es = [
            line(
                r#"{"id":"C1","branch":"koosy","event":"conflict_detected","timestamp":"2026-12-01T00:00:00Z"}"#,
            ),
            line(
                r#"{"id":"C2","branch":"lab","event":"conflict_detected","timestamp":"2026-12-06T00:00:00Z"}"#,
            ),
            line(
                r#"{"id":"C3","branch":"lab","event":"conflict_detected","timestamp":"2026-12-06T01:00:00Z"}"#,
            ),
            line(
                r#"{"id":"R1","branch":"lab","event":"conflict_resolved","target":"C3","timestamp":"2026-12-06T02:00:00Z"}"#,
            ),
        ];
        let mut log = SyncLog::new(3);
        for e in &es {
            log.ingest(e);
        }
        // Bounded: the oldest went first.
        assert_eq!(log.entries().len(), 3);
        let p = parse_conflict_policy(Path::new("c.json"), SEED.as_bytes()).unwrap();
        let now: chrono::DateTime<chrono::Utc> = "2026-12-07T00:00:00Z".parse().unwrap();
        let open = open_conflicts(&es, Some(&p), now);
        assert_eq!(open.len(), 2);
        assert_eq!(
            (open[0].id.as_str(), open[0].age_hours, open[0].escalated),
            ("C1", 144, true)
        );
        assert_eq!(open[0].owner.as_deref(), Some("cell_owner"));
        assert_eq!(open[0].escalate_to.as_deref(), Some("hq_admin"));
        assert_eq!(
            (open[1].id.as_str(), open[1].age_hours, open[1].escalated),
            ("C2", 24, false)
        );
        assert!(open_conflicts(&es, None, now)[0].deadline.is_none());
    }

    const SEED: &str = r#"{
  "priority": "cell",
  "onConflict": {
    "label": "conflict",
    "notify": "cell_owner",
    "timeoutHours": 72,
    "escalateTo": "hq_admin"
  }
}"#;

    #[test]
    fn the_seed_conflict_policy_loads_and_bad_ones_name_the_place() {
        let p = parse_conflict_policy(Path::new("c.json"), SEED.as_bytes()).unwrap();
        assert_eq!(p.priority, ConflictPriority::Cell);
        assert_eq!(p.on_conflict.timeout_hours, 72.0);
        assert_eq!(p.on_conflict.escalate_to, "hq_admin");
        let bad = SEED.replace("72", "0");
        let e = parse_conflict_policy(Path::new("c.json"), bad.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "c.json:6:21: onConflict.timeoutHours is 0; expected hours in (0, 8760]"
        );
        let bad = SEED.replace("\"cell\"", "\"mall\"");
        let e = parse_conflict_policy(Path::new("c.json"), bad.as_bytes()).unwrap_err();
        assert!(e.to_string().starts_with("c.json:2:"), "{e}");
        let bad = SEED.replace("cell_owner", "Cell Owner");
        let e = parse_conflict_policy(Path::new("c.json"), bad.as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with("c.json:5:15: onConflict.notify"),
            "{e}"
        );
    }

    fn es(lines: &[&str]) -> Vec<Entry> {
        lines
            .iter()
            .map(|l| parse_line(l.as_bytes()).unwrap())
            .collect()
    }

    fn e(id: &str, b: &str, ev: &str, c: &str) -> String {
        format!(
            r#"{{"id":"{id}","branch":"{b}","event":"{ev}","change":"{c}","timestamp":"2026-01-18T01:00:00Z"}}"#
        )
    }

    #[test]
    fn a_change_halts_after_koosy_fails_and_the_rest_are_skipped() {
        let order: Vec<String> = ["papafly", "koosy", "alpha"].map(String::from).to_vec();
        let lines = [
            e("T1", "papafly", "deploy", "C1"),
            e("T2", "koosy", "deploy_failed", "C1"),
            e("T3", "koosy", "deploy_failed", "C1"),
            e("T4", "papafly", "deploy", "C2"),
            e("T5", "papafly", "rollback", "C2"),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let plan = SyncPlan {
            strategy: None,
            tiers: vec![],
            order: vec![],
            on_failure: Some("halt".into()),
            max_retries: Some(1),
        };
        let p = sync_progress(&es(&refs), &order, Some(&plan), 10);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].change, "C2");
        assert_eq!(
            p[0].branches[0].state,
            BranchState::RolledBack { txn: "T5".into() }
        );
        assert_eq!(p[0].branches[1].state, BranchState::Pending);
        let c1 = &p[1];
        assert!(c1.halted && c1.retries_exhausted);
        assert_eq!(
            c1.branches[0].state,
            BranchState::Deployed { txn: "T1".into() }
        );
        assert_eq!(
            c1.branches[1].state,
            BranchState::Failed {
                txn: "T3".into(),
                retries: 1
            }
        );
        assert_eq!(c1.branches[2].state, BranchState::SkippedAfterHalt);
        // Only the newest change when asked for one.
        assert_eq!(sync_progress(&es(&refs), &order, None, 1).len(), 1);
    }

    #[test]
    fn escalation_lists_come_from_the_file_or_the_whitepapers_matrix() {
        let d = DecisionEngine {
            raw: serde_json::from_str(
                r#"{"escalation":{"deployFailure":["retry","rollback","branch_lock"],"llmError":["rag","physical","hq_admin"]}}"#,
            )
            .unwrap(),
            ..Default::default()
        };
        let l = escalation_lists(Some(&d));
        assert_eq!(l[0].0, "deployFailure");
        assert_eq!(l[0].1, ["retry", "rollback", "branch_lock"]);
        assert_eq!(l[1].1, ["rag", "physical", "hq_admin"]);
        let l = escalation_lists(None);
        assert_eq!(l.len(), 4);
        assert_eq!(l[0].1[2], "branch_lock");
    }
}
