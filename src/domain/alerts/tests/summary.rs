//! The header summary (long and short forms, widths) and the alerts view order.

use unicode_width::UnicodeWidthStr;

use super::*;
use crate::domain::cost::Escalation;

fn alert(name: AlertName, sev: Severity, branch: &str, since: DateTime<Utc>) -> Alert {
    let mut labels = Labels::new();
    labels.insert("branch".into(), branch.into());
    Alert {
        alertname: name,
        severity: sev,
        labels,
        since,
        summary: String::new(),
        action: String::new(),
        target: Target::Branch { id: branch.into() },
    }
}

fn facts(ledger: LedgerBadge, ks: Option<bool>) -> HeaderFacts {
    HeaderFacts {
        ledger,
        kill_switch: ks,
    }
}

#[test]
fn the_example_line() {
    let firing = [
        alert(AlertName::BranchDown, Severity::Critical, "koosy", t0()),
        alert(AlertName::BranchDown, Severity::Warning, "lab", t0()),
        alert(AlertName::DeployFailed, Severity::Warning, "lab", t0()),
        alert(AlertName::CostOverLimit, Severity::Info, "lab", t0()),
    ];
    let s = summarize(&firing, &facts(LedgerBadge::Verified, Some(false)));
    assert_eq!(
        s.long(),
        "2 down · 1 deploy failed · 1 over budget · ledger ✓ · kill switch off"
    );
    assert_eq!(s.short(), "2↓ 1✗dep 1$ L✓ KS off");
    assert_eq!(
        s.fixed[0].tone,
        Tone::Critical,
        "the worst down branch colours it"
    );
    assert_eq!(s.fixed[1].tone, Tone::Warning);
    assert_eq!(s.fixed[2].tone, Tone::Info);
    assert_eq!(s.fixed[3].tone, Tone::Ok);
    assert_eq!(s.fit(160), s.long());
    assert_eq!(s.fit(80), s.long(), "it fits 80 columns as it is");
    assert_eq!(s.fit(40), s.short());
}

#[test]
fn nothing_wrong_and_nothing_known() {
    let s = summarize(&[], &facts(LedgerBadge::Unchecked, None));
    assert_eq!(
        s.long(),
        "0 down · 0 deploys failed · 0 over budget · ledger ? · kill switch —"
    );
    assert_eq!(s.short(), "0↓ 0✗dep 0$ L? KS —");
    assert!(s.fixed.iter().all(|x| x.tone <= Tone::Muted));
}

#[test]
fn integrity_alert_and_kill_switch_on_show_in_the_fixed_segments() {
    let mut a = alert(AlertName::LedgerIntegrity, Severity::Critical, "x", t0());
    a.labels.clear();
    let s = summarize(&[a], &facts(LedgerBadge::Verified, Some(true)));
    assert_eq!(
        s.long(),
        "0 down · 0 deploys failed · 0 over budget · ledger ✗ · kill switch ON"
    );
    assert_eq!(s.short(), "0↓ 0✗dep 0$ L✗ KS ON");
    assert_eq!(s.fixed[3].tone, Tone::Critical);
}

#[test]
fn header_facts_come_from_integrity_and_the_kill_switch_file_first() {
    let ok = IntegrityFacts::Checked(vec![]);
    let inputs = Inputs {
        integrity: Some(&ok),
        kill_switch: Some(false),
        ..Inputs::default()
    };
    assert_eq!(
        header_facts(&inputs, Some(true)),
        facts(LedgerBadge::Verified, Some(false))
    );
    let inputs = Inputs::default();
    assert_eq!(
        header_facts(&inputs, Some(true)),
        facts(LedgerBadge::Unchecked, Some(true))
    );
}

/// A bad day: a big fleet, every kind of alert.
fn bad_day() -> Vec<Alert> {
    let mut v = Vec::new();
    for i in 0..10_000 {
        v.push(alert(
            AlertName::BranchDown,
            Severity::Critical,
            &format!("b{i}"),
            t0(),
        ));
        v.push(alert(
            AlertName::CostOverLimit,
            Severity::Critical,
            &format!("b{i}"),
            t0(),
        ));
    }
    for i in 0..999 {
        v.push(alert(
            AlertName::DeployFailed,
            Severity::Warning,
            &format!("b{i}"),
            t0(),
        ));
    }
    for (name, n) in [
        (AlertName::KillSwitchViolation, 12),
        (AlertName::ConflictUnresolved, 30),
        (AlertName::SourceDown, 3),
        (AlertName::FileInvalid, 2),
        (AlertName::LedgerRejects, 1),
        (AlertName::RhythmThreshold, 2),
        (AlertName::LedgerIntegrity, 4),
    ] {
        for i in 0..n {
            v.push(alert(name, Severity::Critical, &format!("x{i}"), t0()));
        }
    }
    v
}

#[test]
fn every_form_fits_its_width_on_a_bad_day() {
    let firing = bad_day();
    let s = summarize(&firing, &facts(LedgerBadge::Failed, Some(true)));
    assert_eq!(
        s.long(),
        "10000 down · 999 deploys failed · 10000 over budget · ledger ✗ · kill switch ON · \
         12 kill switch violations · 30 conflicts overdue · 3 sources down · 2 bad files · \
         new ledger rejects · 2 rhythm gauges out of band"
    );
    assert_eq!(s.short(), "10000↓ 999✗dep 10000$ L✗ KS ON +50");
    assert_eq!(s.extra_tone, Tone::Critical);
    // Too long for 160: the five segments and a count of the rest.
    assert_eq!(
        s.fit(160),
        "10000 down · 999 deploys failed · 10000 over budget · ledger ✗ · kill switch ON · +50 more"
    );
    assert!(s.fit(160).width() <= 160);
    assert_eq!(s.fit(80), s.short());
    for w in [0, 1, 2, 5, 10, 20, 33, 34, 35] {
        let f = s.fit(w);
        assert!(f.width() <= w, "{w}: {f:?} is {} wide", f.width());
    }
    assert_eq!(s.fit(10), "10000↓ 99…");
    // The coloured pieces are the same text.
    let parts = s.fit_parts(160);
    assert_eq!(
        parts.iter().map(|(t, _)| t.as_str()).collect::<String>(),
        s.fit(160)
    );
    assert!(
        parts
            .iter()
            .any(|(t, tone)| t == "+50 more" && *tone == Tone::Critical)
    );
}

#[test]
fn a_typical_day_fits_160_long_and_80_short() {
    let mut firing = vec![
        alert(AlertName::BranchDown, Severity::Critical, "koosy", t0()),
        alert(AlertName::BranchDown, Severity::Warning, "lab", t0()),
        alert(AlertName::DeployFailed, Severity::Warning, "lab", t0()),
        alert(AlertName::CostOverLimit, Severity::Warning, "lab", t0()),
        alert(
            AlertName::KillSwitchViolation,
            Severity::Critical,
            "papafly",
            t0(),
        ),
        alert(AlertName::SourceDown, Severity::Warning, "", t0()),
        alert(AlertName::FileInvalid, Severity::Warning, "", t0()),
    ];
    firing.push(alert(
        AlertName::RhythmThreshold,
        Severity::Warning,
        "",
        t0(),
    ));
    let s = summarize(&firing, &facts(LedgerBadge::Verified, Some(true)));
    assert_eq!(
        s.long(),
        "2 down · 1 deploy failed · 1 over budget · ledger ✓ · kill switch ON · \
         1 kill switch violation · 1 source down · 1 bad file · rhythm out of band"
    );
    assert!(s.long().width() <= 160);
    assert_eq!(s.fit(160), s.long());
    assert_eq!(s.short(), "2↓ 1✗dep 1$ L✓ KS ON +4");
    assert!(s.short().width() <= 80);
    assert_eq!(
        s.fit(80),
        "2 down · 1 deploy failed · 1 over budget · ledger ✓ · kill switch ON · +4 more"
    );
    assert!(s.fit(80).width() <= 80);
}

#[test]
fn the_alerts_view_lists_critical_first_then_newest() {
    let mut v = vec![
        alert(
            AlertName::DeployFailed,
            Severity::Warning,
            "a",
            t0() + secs(50),
        ),
        alert(AlertName::BranchDown, Severity::Critical, "old", t0()),
        alert(
            AlertName::CostOverLimit,
            Severity::Info,
            "c",
            t0() + secs(99),
        ),
        alert(
            AlertName::BranchDown,
            Severity::Critical,
            "new",
            t0() + secs(10),
        ),
        alert(
            AlertName::SourceDown,
            Severity::Warning,
            "s",
            t0() + secs(60),
        ),
        alert(
            AlertName::BranchDown,
            Severity::Warning,
            "b",
            t0() + secs(50),
        ),
    ];
    sort_for_view(&mut v);
    let order: Vec<&str> = v.iter().map(|a| a.labels["branch"].as_str()).collect();
    assert_eq!(order, ["new", "old", "s", "b", "a", "c"]);
}

#[test]
fn the_evaluator_returns_firing_in_view_order() {
    let mut ev = Evaluator::new();
    let fleet = [
        down("a", 1, HealthEscalation::Retry),
        down("b", 3, HealthEscalation::RollbackProposed),
    ];
    let costs = [CostFacts {
        branch: "c".into(),
        escalation: Escalation::Suspend,
        ratio: 1.7,
    }];
    ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let t = ev.evaluate(
        t0() + secs(5),
        &Inputs {
            branches: &fleet,
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert_eq!(
        names(&t.firing),
        [
            (AlertName::CostOverLimit, Severity::Critical),
            (AlertName::BranchDown, Severity::Critical),
            (AlertName::BranchDown, Severity::Warning)
        ]
    );
    assert_eq!(ev.firing(), t.firing);
}
