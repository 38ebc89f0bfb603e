//! Every condition fires, stays (with a stable `since`) and resolves by itself.

use std::path::PathBuf;

use super::*;
use crate::domain::cost::Escalation;
use crate::domain::hq::FileError;
use crate::domain::rhythm::GaugePoint;

fn only(t: &Transitions) -> &Alert {
    assert_eq!(t.firing.len(), 1, "firing: {:?}", names(&t.firing));
    &t.firing[0]
}

#[test]
fn branch_down_warns_at_retry_then_escalates_to_critical_keeping_since() {
    let mut ev = Evaluator::new();
    let mut fleet = vec![up("papafly"), down("koosy", 1, HealthEscalation::Retry)];
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.fired),
        [(AlertName::BranchDown, Severity::Warning)]
    );
    let a = only(&t);
    assert_eq!(a.since, t0());
    assert_eq!(a.branch(), Some("koosy"));
    assert_eq!(a.target, Target::Branch { id: "koosy".into() });
    assert!(
        a.summary.contains("1 failed check in a row"),
        "{}",
        a.summary
    );

    // Still down, one more failure: nothing new, same since.
    fleet[1].consecutive_failures = 2;
    let t = ev.evaluate(
        t0() + secs(30),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert!(t.is_quiet(), "{t:?}");
    assert_eq!(only(&t).since, t0());

    // Third failure: rollback proposed → critical; the warning resolves, since kept.
    fleet[1].consecutive_failures = 3;
    fleet[1].escalation = HealthEscalation::RollbackProposed;
    let t = ev.evaluate(
        t0() + secs(60),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.fired),
        [(AlertName::BranchDown, Severity::Critical)]
    );
    assert_eq!(
        names(&t.resolved),
        [(AlertName::BranchDown, Severity::Warning)]
    );
    assert_eq!(only(&t).since, t0());
    assert!(only(&t).action.contains("roll back"), "{}", only(&t).action);

    // hq_admin: still critical, same alert.
    fleet[1].escalation = HealthEscalation::HqAdmin;
    let t = ev.evaluate(
        t0() + secs(90),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert!(t.is_quiet());
    assert!(only(&t).action.contains("hq_admin"));

    // Back up: resolves.
    fleet[1] = up("koosy");
    let t = ev.evaluate(
        t0() + secs(120),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    assert_eq!(
        names(&t.resolved),
        [(AlertName::BranchDown, Severity::Critical)]
    );
}

#[test]
fn branch_down_takes_since_from_facts_and_ignores_maintenance_and_degraded() {
    let mut ev = Evaluator::new();
    let mut b = down("koosy", 4, HealthEscalation::RollbackProposed);
    b.down_since = Some(t0() - secs(600));
    let maint = BranchFacts {
        id: "papafly".into(),
        status: HealthStatus::Maintenance,
        ..BranchFacts::default()
    };
    let degraded = BranchFacts {
        id: "lab".into(),
        status: HealthStatus::Degraded,
        ..BranchFacts::default()
    };
    let fleet = [b, maint, degraded];
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(only(&t).since, t0() - secs(600));
    assert_eq!(only(&t).severity, Severity::Critical);
}

#[test]
fn deploy_failed_fires_once_per_entry_and_resolves_on_a_later_success() {
    let mut ev = Evaluator::new();
    let at = t0() - secs(300);
    let mut e = entry("TXN-1", "koosy", "deploy_failed", Some("failed"), at);
    e.change = Some("chg-1".into());
    ev.ingest(Some(7), &e);
    // A deploy with status failed counts too; another branch.
    ev.ingest(
        Some(8),
        &entry("TXN-2", "lab", "deploy", Some("failed"), at + secs(1)),
    );
    // A success *before* the failure (earlier timestamp) clears nothing.
    ev.ingest(
        Some(9),
        &entry("TXN-0", "koosy", "deploy", Some("success"), at - secs(60)),
    );
    let t = ev.evaluate(t0(), &Inputs::default());
    assert_eq!(t.fired.len(), 2);
    let koosy = t
        .firing
        .iter()
        .find(|a| a.branch() == Some("koosy"))
        .unwrap();
    assert_eq!(koosy.alertname, AlertName::DeployFailed);
    assert_eq!(koosy.since, at, "since is the entry's time");
    assert_eq!(koosy.labels.get("id").map(String::as_str), Some("TXN-1"));
    assert_eq!(
        koosy.target,
        Target::Ledger {
            line: Some(7),
            id: Some("TXN-1".into())
        }
    );
    assert!(koosy.summary.contains("chg-1"), "{}", koosy.summary);

    let t = ev.evaluate(t0() + secs(60), &Inputs::default());
    assert!(t.is_quiet());
    assert_eq!(t.firing.len(), 2);

    // koosy deploys successfully later: its failure resolves, lab's stays.
    ev.ingest(
        Some(10),
        &entry("TXN-3", "koosy", "deploy", Some("success"), t0() + secs(90)),
    );
    let t = ev.evaluate(t0() + secs(120), &Inputs::default());
    assert_eq!(t.resolved.len(), 1);
    assert_eq!(t.resolved[0].branch(), Some("koosy"));
    assert_eq!(only(&t).branch(), Some("lab"));

    // A successful rollback of lab clears it too.
    ev.ingest(
        Some(11),
        &entry(
            "TXN-4",
            "lab",
            "rollback",
            Some("success"),
            t0() + secs(150),
        ),
    );
    let t = ev.evaluate(t0() + secs(180), &Inputs::default());
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}

#[test]
fn deploy_failed_resolves_after_a_day_and_a_failed_rollback_clears_nothing() {
    let mut ev = Evaluator::new();
    ev.ingest(None, &entry("TXN-1", "koosy", "deploy_failed", None, t0()));
    ev.ingest(
        None,
        &entry("TXN-2", "koosy", "rollback", Some("failed"), t0() + secs(5)),
    );
    let t = ev.evaluate(t0() + secs(10), &Inputs::default());
    assert_eq!(t.fired.len(), 1);
    let day = chrono::Duration::from_std(DEPLOY_FAILED_TTL).unwrap();
    let t = ev.evaluate(t0() + day, &Inputs::default());
    assert_eq!(t.firing.len(), 1, "exactly a day old still fires");
    let t = ev.evaluate(t0() + day + secs(1), &Inputs::default());
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}

#[test]
fn ledger_integrity_is_critical_per_check_and_resolves_when_it_verifies() {
    let mut ev = Evaluator::new();
    let unchecked = IntegrityFacts::Unchecked;
    let t = ev.evaluate(
        t0(),
        &Inputs {
            integrity: Some(&unchecked),
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());

    let failed = IntegrityFacts::Checked(vec![
        IntegrityFailure {
            check: IntegrityCheck::Chain,
            count: 2,
            detail: "line 41: prev does not match line 40".into(),
            line: Some(41),
        },
        IntegrityFailure {
            check: IntegrityCheck::Witness,
            count: 1,
            detail: "size 100 seen 2026-01-17T10:00:00Z\u{1b}[2J".into(),
            line: None,
        },
    ]);
    let inputs = Inputs {
        integrity: Some(&failed),
        ..Inputs::default()
    };
    let t = ev.evaluate(t0(), &inputs);
    assert_eq!(
        names(&t.fired),
        [
            (AlertName::LedgerIntegrity, Severity::Critical),
            (AlertName::LedgerIntegrity, Severity::Critical)
        ]
    );
    let chain = t
        .firing
        .iter()
        .find(|a| a.labels["check"] == "chain")
        .unwrap();
    assert_eq!(
        chain.target,
        Target::Ledger {
            line: Some(41),
            id: None
        }
    );
    let witness = t
        .firing
        .iter()
        .find(|a| a.labels["check"] == "witness")
        .unwrap();
    assert!(
        !witness.summary.contains('\u{1b}'),
        "sanitised: {:?}",
        witness.summary
    );

    let t = ev.evaluate(t0() + secs(60), &inputs);
    assert!(t.is_quiet());
    assert!(t.firing.iter().all(|a| a.since == t0()));

    let ok = IntegrityFacts::Checked(vec![]);
    let t = ev.evaluate(
        t0() + secs(120),
        &Inputs {
            integrity: Some(&ok),
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 2);
}

fn rejects(count: u64, line: u64) -> Inputs<'static> {
    Inputs {
        rejects: Some(RejectFacts {
            count,
            newest_line: Some(line),
        }),
        ..Inputs::default()
    }
}

#[test]
fn ledger_rejects_fire_on_new_rejects_and_resolve_after_a_quiet_hour() {
    let mut ev = Evaluator::new();
    // The first count is the baseline: rejects already there are not new.
    let t = ev.evaluate(t0(), &rejects(3, 10));
    assert!(t.firing.is_empty());
    assert_eq!(ev.reject_baseline(), Some(3));

    let t = ev.evaluate(t0() + secs(10), &rejects(5, 99));
    let a = only(&t).clone();
    assert_eq!(
        (a.alertname, a.severity),
        (AlertName::LedgerRejects, Severity::Warning)
    );
    assert_eq!(a.since, t0() + secs(10));
    assert!(
        a.summary.starts_with("2 new rejected lines"),
        "{}",
        a.summary
    );
    assert_eq!(a.target, Target::Rejects { line: Some(99) });

    // One more, later: same alert, same since, summary updated.
    let t = ev.evaluate(t0() + secs(600), &rejects(6, 120));
    assert!(t.is_quiet());
    assert_eq!(only(&t).since, t0() + secs(10));
    assert!(only(&t).summary.starts_with("3 new"));

    // An hour after the last growth, it resolves by itself.
    let quiet = chrono::Duration::from_std(REJECTS_QUIET).unwrap();
    let t = ev.evaluate(t0() + secs(600) + quiet - secs(1), &rejects(6, 120));
    assert_eq!(t.firing.len(), 1);
    let t = ev.evaluate(t0() + secs(600) + quiet, &rejects(6, 120));
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}

#[test]
fn ledger_rejects_acknowledge_and_a_shrunk_file_reset_the_baseline() {
    let mut ev = Evaluator::new();
    ev.set_reject_baseline(1);
    let t = ev.evaluate(t0(), &rejects(4, 50));
    assert_eq!(t.fired.len(), 1, "a remembered baseline makes these new");
    ev.acknowledge_rejects();
    let t = ev.evaluate(t0() + secs(1), &rejects(4, 50));
    assert_eq!(t.resolved.len(), 1);
    // The file was replaced with fewer rejects: no alert, new baseline.
    let t = ev.evaluate(t0() + secs(2), &rejects(1, 3));
    assert!(t.firing.is_empty());
    assert_eq!(ev.reject_baseline(), Some(1));
    let t = ev.evaluate(t0() + secs(3), &rejects(2, 9));
    assert_eq!(t.fired.len(), 1);
}

fn cost(branch: &str, e: Escalation, ratio: f64) -> CostFacts {
    CostFacts {
        branch: branch.into(),
        escalation: e,
        ratio,
    }
}

#[test]
fn cost_over_limit_severity_follows_the_escalation_level() {
    let mut ev = Evaluator::new();
    let mut costs = vec![cost("lab", Escalation::Throttle, 1.05)];
    let t = ev.evaluate(
        t0(),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.fired),
        [(AlertName::CostOverLimit, Severity::Info)]
    );
    assert!(only(&t).summary.contains("105 %"), "{}", only(&t).summary);

    costs[0] = cost("lab", Escalation::Throttle, 1.10);
    let t = ev.evaluate(
        t0() + secs(60),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert!(t.is_quiet());

    costs[0] = cost("lab", Escalation::Notify, 1.25);
    let t = ev.evaluate(
        t0() + secs(120),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.fired),
        [(AlertName::CostOverLimit, Severity::Warning)]
    );
    assert_eq!(
        names(&t.resolved),
        [(AlertName::CostOverLimit, Severity::Info)]
    );
    assert_eq!(only(&t).since, t0(), "an escalation keeps the start");

    costs[0] = cost("lab", Escalation::Suspend, 1.6);
    let t = ev.evaluate(
        t0() + secs(180),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.fired),
        [(AlertName::CostOverLimit, Severity::Critical)]
    );

    costs[0] = cost("lab", Escalation::None, 0.1); // a new month
    let t = ev.evaluate(
        t0() + secs(240),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    assert_eq!(
        names(&t.resolved),
        [(AlertName::CostOverLimit, Severity::Critical)]
    );
}

#[test]
fn kill_switch_violation_is_a_deploy_stamped_after_activation() {
    let mut ev = Evaluator::new();
    assert_eq!(ev.ledger_kill_switch(), None);
    ev.ingest(
        Some(1),
        &entry(
            "TXN-1",
            "papafly",
            "deploy",
            Some("success"),
            t0() - secs(700),
        ),
    );
    ev.ingest(
        Some(2),
        &entry(
            "TXN-2",
            "hq",
            "kill_switch_activated",
            None,
            t0() - secs(600),
        ),
    );
    assert_eq!(ev.ledger_kill_switch(), Some(true));
    let t = ev.evaluate(t0() - secs(590), &Inputs::default());
    assert!(t.firing.is_empty(), "a deploy before activation is fine");
    // Written after the activation line but stamped before it: not a violation.
    ev.ingest(
        Some(3),
        &entry(
            "TXN-L",
            "koosy",
            "deploy",
            Some("success"),
            t0() - secs(601),
        ),
    );
    let t = ev.evaluate(t0() - secs(590), &Inputs::default());
    assert!(t.firing.is_empty(), "{:?}", names(&t.firing));

    ev.ingest(
        Some(3),
        &entry(
            "TXN-3",
            "koosy",
            "deploy",
            Some("success"),
            t0() - secs(300),
        ),
    );
    let t = ev.evaluate(t0(), &Inputs::default());
    let a = only(&t).clone();
    assert_eq!(
        (a.alertname, a.severity),
        (AlertName::KillSwitchViolation, Severity::Critical)
    );
    assert_eq!(a.since, t0() - secs(300));
    assert_eq!(
        a.target,
        Target::Ledger {
            line: Some(3),
            id: Some("TXN-3".into())
        }
    );
    assert!(a.summary.contains("kill switch was on"), "{}", a.summary);

    let t = ev.evaluate(t0() + secs(60), &Inputs::default());
    assert!(t.is_quiet());
    assert_eq!(only(&t).since, t0() - secs(300));

    ev.ingest(
        Some(4),
        &entry("TXN-4", "hq", "kill_switch_released", None, t0() + secs(90)),
    );
    assert_eq!(ev.ledger_kill_switch(), Some(false));
    let t = ev.evaluate(t0() + secs(120), &Inputs::default());
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);

    // Deploys after the release are fine.
    ev.ingest(
        Some(5),
        &entry(
            "TXN-5",
            "koosy",
            "deploy",
            Some("success"),
            t0() + secs(150),
        ),
    );
    let t = ev.evaluate(t0() + secs(180), &Inputs::default());
    assert!(t.firing.is_empty());
}

#[test]
fn kill_switch_violation_resolves_after_a_day_while_still_on() {
    let mut ev = Evaluator::new();
    ev.ingest(None, &entry("K", "hq", "kill_switch_activated", None, t0()));
    ev.ingest(
        None,
        &entry("D", "koosy", "deploy_test", Some("ok"), t0() + secs(1)),
    );
    assert_eq!(
        ev.evaluate(t0() + secs(2), &Inputs::default()).fired.len(),
        1
    );
    let day = chrono::Duration::from_std(KILL_SWITCH_VIOLATION_TTL).unwrap();
    let t = ev.evaluate(t0() + day + secs(2), &Inputs::default());
    assert!(t.firing.is_empty());
}

#[test]
fn conflict_unresolved_fires_past_the_timeout_and_resolves_when_settled() {
    let mut ev = Evaluator::new();
    let detected = t0();
    ev.ingest(
        Some(12),
        &entry("TXN-C1", "koosy", "conflict_detected", None, detected),
    );
    ev.ingest(
        Some(13),
        &entry("TXN-C2", "lab", "conflict_detected", None, detected),
    );
    let h72 = chrono::Duration::hours(72);
    let t = ev.evaluate(detected + h72, &Inputs::default());
    assert!(t.firing.is_empty(), "not past 72 h yet");

    let t = ev.evaluate(detected + h72 + secs(1), &Inputs::default());
    assert_eq!(t.fired.len(), 2);
    let a = t
        .firing
        .iter()
        .find(|a| a.branch() == Some("koosy"))
        .unwrap();
    assert_eq!(a.since, detected);
    assert!(a.summary.contains("72 h"), "{}", a.summary);
    assert!(a.action.contains("hq_admin"), "{}", a.action);

    // A longer timeout from the policy: not overdue.
    let policy = ConflictPolicy {
        timeout_hours: 100.0,
        escalate_to: "branch_owner".into(),
    };
    let t = ev.evaluate(
        detected + h72 + secs(2),
        &Inputs {
            conflict_policy: Some(&policy),
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 2);

    // Default policy again; settle koosy's by target, lab's by branch.
    let t = ev.evaluate(detected + h72 + secs(3), &Inputs::default());
    assert_eq!(t.fired.len(), 2);
    let mut done = entry("TXN-R1", "koosy", "conflict_resolved", None, detected + h72);
    done.target = Some("TXN-C1".into());
    ev.ingest(Some(14), &done);
    let t = ev.evaluate(detected + h72 + secs(4), &Inputs::default());
    assert_eq!(t.resolved.len(), 1);
    assert_eq!(only(&t).branch(), Some("lab"));
    ev.ingest(
        Some(15),
        &entry("TXN-R2", "lab", "conflict_resolved", None, detected + h72),
    );
    let t = ev.evaluate(detected + h72 + secs(5), &Inputs::default());
    assert!(t.firing.is_empty());
}

#[test]
fn source_down_after_three_intervals() {
    let mut ev = Evaluator::new();
    let mut s = vec![SourceFacts {
        name: "exporter 127.0.0.1:9108".into(),
        failing_since: Some(t0()),
        interval: std::time::Duration::from_secs(5),
        error: Some("connection refused".into()),
    }];
    let t = ev.evaluate(
        t0() + secs(15),
        &Inputs {
            sources: &s,
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty(), "3 × 5 s is not longer than 3 × 5 s");
    let t = ev.evaluate(
        t0() + secs(16),
        &Inputs {
            sources: &s,
            ..Inputs::default()
        },
    );
    let a = only(&t).clone();
    assert_eq!(
        (a.alertname, a.severity),
        (AlertName::SourceDown, Severity::Warning)
    );
    assert_eq!(a.since, t0(), "since the first failure");
    assert_eq!(a.labels["source"], "exporter 127.0.0.1:9108");
    assert!(a.summary.contains("connection refused"));
    let t = ev.evaluate(
        t0() + secs(60),
        &Inputs {
            sources: &s,
            ..Inputs::default()
        },
    );
    assert!(t.is_quiet());
    s[0].failing_since = None;
    let t = ev.evaluate(
        t0() + secs(65),
        &Inputs {
            sources: &s,
            ..Inputs::default()
        },
    );
    assert_eq!(t.resolved.len(), 1);
    assert!(t.firing.is_empty());
}

#[test]
fn file_invalid_is_critical_for_files_safety_depends_on() {
    let mut ev = Evaluator::new();
    let files = vec![
        FileError::new(
            &PathBuf::from("hq/registry/decision-engine.json"),
            3,
            14,
            "expected `,` or `}`",
        ),
        FileError::new(
            &PathBuf::from("hq/recovery/health-check.json"),
            1,
            1,
            "expected value",
        ),
    ];
    let t = ev.evaluate(
        t0(),
        &Inputs {
            files: &files,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.firing),
        [
            (AlertName::FileInvalid, Severity::Critical),
            (AlertName::FileInvalid, Severity::Warning)
        ]
    );
    assert_eq!(
        t.firing[0].summary,
        "hq/registry/decision-engine.json:3:14: expected `,` or `}`"
    );
    assert_eq!(
        t.firing[0].target,
        Target::File {
            path: "hq/registry/decision-engine.json".into(),
            line: 3,
            column: 14
        }
    );
    // The same file with a new error position: same alert, same since.
    let moved = vec![FileError::new(
        &PathBuf::from("hq/registry/decision-engine.json"),
        4,
        1,
        "trailing comma",
    )];
    let t = ev.evaluate(
        t0() + secs(5),
        &Inputs {
            files: &moved,
            ..Inputs::default()
        },
    );
    assert!(t.fired.is_empty());
    assert_eq!(t.resolved.len(), 1, "health-check.json loads again");
    assert_eq!(only(&t).since, t0());
    assert!(only(&t).summary.contains(":4:1: trailing comma"));
    let t = ev.evaluate(t0() + secs(10), &Inputs::default());
    assert!(t.firing.is_empty());
}

/// 5 points a second from `from` to `to` (seconds after t0), risk and creative as given.
fn points(from: f64, to: f64, risk: f64, creative: f64) -> Vec<GaugePoint> {
    let base = t0().timestamp() as f64;
    let mut v = Vec::new();
    let mut t = from;
    while t <= to + 1e-9 {
        v.push(GaugePoint {
            t: base + t,
            values: [0.5, 0.5, creative, risk],
        });
        t += 0.2;
    }
    v
}

fn facts(p: &[GaugePoint]) -> RhythmFacts<'_> {
    RhythmFacts::from_slice(p, Some(0.35), Some(0.22))
}

#[test]
fn rhythm_threshold_needs_a_full_minute_past_the_threshold() {
    let mut ev = Evaluator::new();
    let mut pts = points(0.0, 100.0, 0.30, 0.30); // fine for 100 s
    pts.extend(points(100.2, 159.8, 0.40, 0.30)); // risk high for 59.6 s
    let t = ev.evaluate(
        t0() + secs(160),
        &Inputs {
            rhythm: facts(&pts),
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty(), "59.6 s is not a minute");

    pts.extend(points(160.0, 161.0, 0.41, 0.30));
    let t = ev.evaluate(
        t0() + secs(161),
        &Inputs {
            rhythm: facts(&pts),
            ..Inputs::default()
        },
    );
    let a = only(&t).clone();
    assert_eq!(
        (a.alertname, a.severity),
        (AlertName::RhythmThreshold, Severity::Warning)
    );
    assert_eq!(a.labels["gauge"], "risk_band");
    assert!(
        a.summary.contains("0.41 above its max 0.35"),
        "{}",
        a.summary
    );
    let since = a.since;
    assert!(
        since > t0() + secs(100) && since < t0() + secs(102),
        "{since}"
    );

    // Stays, with the same since, while the value moves.
    pts.extend(points(161.2, 170.0, 0.50, 0.30));
    let t = ev.evaluate(
        t0() + secs(170),
        &Inputs {
            rhythm: facts(&pts),
            ..Inputs::default()
        },
    );
    assert!(t.is_quiet());
    assert_eq!(only(&t).since, since);
    assert!(only(&t).summary.contains("0.50"));

    // One point back under the max: resolves.
    pts.extend(points(170.2, 170.2, 0.20, 0.30));
    let t = ev.evaluate(
        t0() + secs(171),
        &Inputs {
            rhythm: facts(&pts),
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}

#[test]
fn rhythm_threshold_creative_below_min_and_stale_data_resolves() {
    let mut ev = Evaluator::new();
    let pts = points(0.0, 70.0, 0.30, 0.10);
    let deque: std::collections::VecDeque<GaugePoint> = pts.iter().copied().collect();
    let facts = RhythmFacts::from_deque(&deque, Some(0.35), Some(0.22));
    let t = ev.evaluate(
        t0() + secs(70),
        &Inputs {
            rhythm: facts,
            ..Inputs::default()
        },
    );
    assert_eq!(only(&t).labels["gauge"], "creative_band");
    assert!(only(&t).summary.contains("below its min 0.22"));
    // No new point for over a minute: no data, no condition.
    let t = ev.evaluate(
        t0() + secs(131),
        &Inputs {
            rhythm: facts,
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
    // The same points in a deque that wrapped around (two slices): same answer.
    let mut wrapped = std::collections::VecDeque::with_capacity(pts.len());
    let half = pts.len() / 2;
    for p in &pts[half..] {
        wrapped.push_back(*p);
    }
    for p in pts[..half].iter().rev() {
        wrapped.push_front(*p);
    }
    let (a, b) = wrapped.as_slices();
    assert!(
        !a.is_empty() && !b.is_empty(),
        "the deque must wrap for this test"
    );
    let mut ev2 = Evaluator::new();
    let facts2 = RhythmFacts::from_deque(&wrapped, Some(0.35), Some(0.22));
    let t2 = ev2.evaluate(
        t0() + secs(70),
        &Inputs {
            rhythm: facts2,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t2.firing),
        [(AlertName::RhythmThreshold, Severity::Warning)]
    );
    let mut ev3 = Evaluator::new();
    let flat = RhythmFacts::from_slice(&pts, Some(0.35), Some(0.22));
    let t3 = ev3.evaluate(
        t0() + secs(70),
        &Inputs {
            rhythm: flat,
            ..Inputs::default()
        },
    );
    assert_eq!(t2.firing, t3.firing);
    // Without thresholds nothing is evaluated.
    let none = RhythmFacts::from_slice(&pts, None, None);
    let t = ev.evaluate(
        t0() + secs(70),
        &Inputs {
            rhythm: none,
            ..Inputs::default()
        },
    );
    assert!(t.firing.is_empty());
}

#[test]
fn keys_are_stable_across_evaluators_and_escape_label_values() {
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut a = Evaluator::new();
    let mut b = Evaluator::new();
    let x = a.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let y = b.evaluate(
        t0() + secs(42),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(x.firing[0].key(), y.firing[0].key());
    assert_eq!(x.firing[0].fingerprint(), y.firing[0].fingerprint());
    assert_eq!(
        x.firing[0].key(),
        r#"BranchDown{branch="koosy",severity="warning"}"#
    );
    assert_eq!(x.firing[0].group_key(), r#"BranchDown{branch="koosy"}"#);
    assert_eq!(x.firing[0].fingerprint().len(), 16);

    let mut c = Evaluator::new();
    c.ingest(None, &entry("T\"1\\", "b", "deploy_failed", None, t0()));
    let t = c.evaluate(t0(), &Inputs::default());
    assert_eq!(
        t.firing[0].key(),
        r#"DeployFailed{branch="b",id="T\"1\\",severity="warning"}"#
    );
    let mut s = Evaluator::new();
    let src = [SourceFacts {
        name: "prometheus".into(),
        failing_since: Some(t0()),
        interval: std::time::Duration::from_secs(1),
        error: None,
    }];
    let t = s.evaluate(
        t0() + secs(10),
        &Inputs {
            sources: &src,
            ..Inputs::default()
        },
    );
    assert_eq!(
        t.firing[0].key(),
        r#"SourceDown{severity="warning",source="prometheus"}"#
    );
}

#[test]
fn ledger_state_is_bounded_oldest_first() {
    let mut ev = Evaluator::with_cap(100);
    for i in 0..1_000 {
        ev.ingest(
            None,
            &entry(
                &format!("T{i:04}"),
                "b",
                "deploy_failed",
                None,
                t0() + secs(i),
            ),
        );
    }
    let t = ev.evaluate(t0() + secs(1_000), &Inputs::default());
    assert!(t.firing.len() <= 100, "{}", t.firing.len());
    assert!(t.firing.len() >= 75);
    assert!(
        t.firing.iter().any(|a| a.labels["id"] == "T0999"),
        "the newest is kept"
    );
    assert!(
        t.firing.iter().all(|a| a.labels["id"] != "T0000"),
        "the oldest is dropped"
    );
}

#[test]
fn duplicate_ledger_ids_make_one_alert() {
    let mut ev = Evaluator::new();
    ev.ingest(Some(1), &entry("T1", "b", "deploy_failed", None, t0()));
    ev.ingest(
        Some(2),
        &entry("T1", "b", "deploy_failed", None, t0() + secs(1)),
    );
    let t = ev.evaluate(t0() + secs(2), &Inputs::default());
    assert_eq!(t.firing.len(), 1);
    let t = ev.evaluate(t0() + secs(3), &Inputs::default());
    assert!(t.is_quiet());
}

#[test]
fn reset_ledger_forgets_ledger_alerts() {
    let mut ev = Evaluator::new();
    ev.ingest(None, &entry("T1", "b", "deploy_failed", None, t0()));
    assert_eq!(ev.evaluate(t0(), &Inputs::default()).fired.len(), 1);
    ev.reset_ledger();
    let t = ev.evaluate(t0() + secs(1), &Inputs::default());
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}
