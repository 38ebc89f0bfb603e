//! rules.json forms and exactly-once routing against the sent log.

use std::path::Path;

use super::*;
use crate::domain::cost::Escalation;
use crate::domain::hq::NotifyRules;

const RULES: &str = r#"{
  "deploy_failed": ["slack:critical", "kakao:hq"],
  "ledger_error": {"channels": ["slack:critical"], "sendResolved": true},
  "cost_limit_exceeded": ["kakao:branch_owner", "slack:ops"],
  "kill_switch_activated": ["slack:critical", "kakao:hq"],
  "conflict_detected": ["kakao:branch_owner"],
  "BranchDown": {"channels": ["slack:ops", "slack:ops"], "sendResolved": true}
}"#;

fn rules() -> RoutingRules {
    parse_routing_rules(Path::new("hq/notifications/rules.json"), RULES.as_bytes()).unwrap()
}

fn err(text: &str) -> String {
    parse_routing_rules(Path::new("rules.json"), text.as_bytes())
        .unwrap_err()
        .to_string()
}

#[test]
fn both_value_forms_parse() {
    let r = rules();
    assert_eq!(
        r.rules["deploy_failed"],
        Rule {
            channels: vec!["slack:critical".into(), "kakao:hq".into()],
            send_resolved: false
        }
    );
    assert_eq!(
        r.rules["BranchDown"],
        Rule {
            channels: vec!["slack:ops".into()],
            send_resolved: true
        },
        "duplicates dropped"
    );
    let plain = r#"{"deploy_failed":["slack:critical"]}"#;
    let p = parse_routing_rules(Path::new("r.json"), plain.as_bytes()).unwrap();
    let from_plain = RoutingRules::from_plain(&NotifyRules {
        rules: [(
            "deploy_failed".to_owned(),
            vec!["slack:critical".to_owned()],
        )]
        .into(),
        ..Default::default()
    });
    assert_eq!(p, from_plain);
    let obj = r#"{"x":{"channels":[]}}"#;
    let o = parse_routing_rules(Path::new("r.json"), obj.as_bytes()).unwrap();
    assert!(!o.rules["x"].send_resolved);
}

#[test]
fn bad_rules_name_file_line_and_column() {
    assert_eq!(
        err("{\n  \"a\": [\"slack:ops\"],\n  \"b\": [\"slack\"]\n}"),
        "rules.json:3:9: target `slack` of `b` is not `provider:channel`; expected e.g. `slack:critical`"
    );
    let e = err("{\"a\": {\"channels\": [\"s:o\"], \"sendResolve\": true}}");
    assert!(e.starts_with("rules.json:1:"), "{e}");
    assert!(
        e.contains("unknown field `sendResolve` in `a`; expected `channels` or `sendResolved`"),
        "{e}"
    );
    let e = err("{\"a\": {\"sendResolved\": true}}");
    assert!(e.contains("`a` has no `channels`"), "{e}");
    let e = err("{\"a\": 3}");
    assert!(e.contains("a list of targets"), "{e}");
    let e = err("{\"a\": {\"channels\": [\"s:o\"], \"sendResolved\": \"yes\"}}");
    assert!(e.contains("sendResolved: expected true or false"), "{e}");
    let e = err("[1]");
    assert!(e.starts_with("rules.json:1:1"), "{e}");
    assert_eq!(
        parse_routing_rules(Path::new("rules.json"), b"{\"a\xff\": []}")
            .unwrap_err()
            .to_string(),
        "rules.json:1:4: file is not valid UTF-8"
    );
}

#[test]
fn the_alertname_wins_over_snake_case_over_the_event_name() {
    let mut r = RoutingRules::default();
    let rule = |c: &str| Rule {
        channels: vec![c.into()],
        send_resolved: false,
    };
    r.rules
        .insert("kill_switch_activated".into(), rule("a:event"));
    let name = AlertName::KillSwitchViolation;
    assert_eq!(r.rule_for(name).unwrap().0, "kill_switch_activated");
    r.rules
        .insert("kill_switch_violation".into(), rule("a:snake"));
    assert_eq!(r.rule_for(name).unwrap().0, "kill_switch_violation");
    r.rules.insert("KillSwitchViolation".into(), rule("a:name"));
    assert_eq!(r.rule_for(name).unwrap().0, "KillSwitchViolation");
    assert!(r.rule_for(AlertName::SourceDown).is_none());
    let keys: Vec<_> = AlertName::LedgerRejects.rule_keys().collect();
    assert_eq!(keys, ["LedgerRejects", "ledger_rejects", "ledger_error"]);
    let keys: Vec<_> = AlertName::DeployFailed.rule_keys().collect();
    assert_eq!(keys, ["DeployFailed", "deploy_failed"]);
}

/// A world with a failed deploy (routed by `deploy_failed`) and a branch down
/// (routed by `BranchDown`, with resolutions).
fn world(ev: &mut Evaluator) -> Vec<BranchFacts> {
    ev.ingest(
        Some(3),
        &entry("TXN-9", "lab", "deploy_failed", Some("failed"), t0()),
    );
    vec![down("koosy", 1, HealthEscalation::Retry)]
}

fn send_all(log: &mut SentLog, ns: &[Notification], at: DateTime<Utc>) {
    for n in ns {
        log.mark_sent(n, at);
    }
}

fn sent(ns: &[Notification]) -> Vec<(AlertName, NotifyState, &str)> {
    let mut v: Vec<_> = ns
        .iter()
        .map(|n| (n.alert.alertname, n.state, n.channel.as_str()))
        .collect();
    v.sort();
    v
}

#[test]
fn the_same_transitions_twice_send_nothing_new() {
    let r = rules();
    let mut ev = Evaluator::new();
    let fleet = world(&mut ev);
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let mut log = SentLog::default();
    let ns = route(t0(), &t, &r, &mut log);
    assert_eq!(
        sent(&ns),
        [
            (AlertName::BranchDown, NotifyState::Firing, "slack:ops"),
            (AlertName::DeployFailed, NotifyState::Firing, "kakao:hq"),
            (
                AlertName::DeployFailed,
                NotifyState::Firing,
                "slack:critical"
            ),
        ]
    );
    let df = ns
        .iter()
        .find(|n| n.alert.alertname == AlertName::DeployFailed)
        .unwrap();
    assert_eq!(df.rule, "deploy_failed");
    assert_eq!(df.key, df.alert.key());
    send_all(&mut log, &ns, t0());
    assert!(log.take_changed());

    assert!(
        route(t0(), &t, &r, &mut log).is_empty(),
        "same transitions again"
    );
    let t2 = ev.evaluate(
        t0() + secs(10),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert!(
        route(t0() + secs(10), &t2, &r, &mut log).is_empty(),
        "next tick, same state"
    );
    assert!(!log.take_changed());
}

#[test]
fn a_restart_with_the_persisted_log_sends_nothing_again() {
    let r = rules();
    let mut ev = Evaluator::new();
    let fleet = world(&mut ev);
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let mut log = SentLog::default();
    let ns = route(t0(), &t, &r, &mut log);
    assert_eq!(ns.len(), 3);
    send_all(&mut log, &ns, t0());
    let disk = serde_json::to_string(&log).unwrap();

    // A new process: new evaluator (new `since`s), the log read back from disk.
    let mut log2: SentLog = serde_json::from_str(&disk).unwrap();
    assert_eq!(log2, log);
    let mut ev2 = Evaluator::new();
    let fleet2 = world(&mut ev2);
    let t = ev2.evaluate(
        t0() + secs(300),
        &Inputs {
            branches: &fleet2,
            ..Inputs::default()
        },
    );
    assert_eq!(t.fired.len(), 2, "fired again for the new process");
    assert!(route(t0() + secs(300), &t, &r, &mut log2).is_empty());
}

#[test]
fn resolution_is_sent_only_when_the_rule_asks() {
    let r = rules();
    let mut ev = Evaluator::new();
    let fleet = world(&mut ev);
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let mut log = SentLog::default();
    let ns = route(t0(), &t, &r, &mut log);
    send_all(&mut log, &ns, t0());

    // Both clear: the branch is up, lab deploys fine.
    ev.ingest(
        Some(4),
        &entry("TXN-10", "lab", "deploy", Some("success"), t0() + secs(30)),
    );
    let now = t0() + secs(60);
    let t = ev.evaluate(
        now,
        &Inputs {
            branches: &[up("koosy")],
            ..Inputs::default()
        },
    );
    assert_eq!(t.resolved.len(), 2);
    assert!(
        route(now, &t, &r, &mut log).is_empty(),
        "not before the grace period"
    );
    let grace = chrono::Duration::from_std(RESOLVE_AFTER).unwrap();
    for at in [now + secs(1), now + grace - secs(1)] {
        let t = ev.evaluate(
            at,
            &Inputs {
                branches: &[up("koosy")],
                ..Inputs::default()
            },
        );
        assert!(
            route(at, &t, &r, &mut log).is_empty(),
            "still in the grace period"
        );
    }
    let later = now + grace;
    let t = ev.evaluate(
        later,
        &Inputs {
            branches: &[up("koosy")],
            ..Inputs::default()
        },
    );
    let ns = route(later, &t, &r, &mut log);
    assert_eq!(
        sent(&ns),
        [(AlertName::BranchDown, NotifyState::Resolved, "slack:ops")],
        "DeployFailed's rule is a plain list: no resolution"
    );
    assert!(
        ns[0]
            .text()
            .starts_with("[resolved] BranchDown koosy: koosy is down"),
        "{}",
        ns[0].text()
    );
    assert_eq!(log.alerts.len(), 1, "the DeployFailed record is forgotten");
    // Not marked (the webhook failed): it is offered again.
    assert_eq!(route(later + secs(1), &t, &r, &mut log).len(), 1);
    send_all(&mut log, &ns, later);
    assert!(log.alerts.is_empty());
    assert!(route(later + secs(2), &t, &r, &mut log).is_empty());

    // It fires again later: a new episode is sent again.
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let t = ev.evaluate(
        later + secs(60),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(route(later + secs(60), &t, &r, &mut log).len(), 1);
}

#[test]
fn flapping_inside_the_grace_period_is_not_resent() {
    let r = rules();
    let mut ev = Evaluator::new();
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut log = SentLog::default();
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let ns = route(t0(), &t, &r, &mut log);
    send_all(&mut log, &ns, t0());
    let t = ev.evaluate(
        t0() + secs(10),
        &Inputs {
            branches: &[up("koosy")],
            ..Inputs::default()
        },
    );
    assert!(route(t0() + secs(10), &t, &r, &mut log).is_empty());
    assert!(log.alerts.values().all(|r| r.stale_since.is_some()));
    let t = ev.evaluate(
        t0() + secs(20),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert_eq!(t.fired.len(), 1);
    assert!(route(t0() + secs(20), &t, &r, &mut log).is_empty());
    assert!(log.alerts.values().all(|r| r.stale_since.is_none()));
}

#[test]
fn an_escalation_is_sent_and_the_replaced_severity_is_not_resolved() {
    let r = rules();
    let mut ev = Evaluator::new();
    let mut fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut log = SentLog::default();
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let ns = route(t0(), &t, &r, &mut log);
    send_all(&mut log, &ns, t0());

    fleet[0].escalation = HealthEscalation::RollbackProposed;
    let t = ev.evaluate(
        t0() + secs(30),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let ns = route(t0() + secs(30), &t, &r, &mut log);
    assert_eq!(ns.len(), 1);
    assert_eq!(ns[0].alert.severity, Severity::Critical);
    assert!(
        ns[0].text().starts_with("[critical] BranchDown koosy: "),
        "{}",
        ns[0].text()
    );
    send_all(&mut log, &ns, t0() + secs(30));
    let later = t0() + secs(30) + chrono::Duration::from_std(RESOLVE_AFTER).unwrap();
    let t = ev.evaluate(
        later,
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    assert!(
        route(later, &t, &r, &mut log).is_empty(),
        "no 'resolved' for the warning"
    );
    assert_eq!(log.alerts.len(), 1);
}

#[test]
fn info_alerts_are_never_sent() {
    let r = rules();
    let mut ev = Evaluator::new();
    let mut costs = [CostFacts {
        branch: "lab".into(),
        escalation: Escalation::Throttle,
        ratio: 1.01,
    }];
    let mut log = SentLog::default();
    let t = ev.evaluate(
        t0(),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    assert_eq!(t.firing.len(), 1);
    assert!(route(t0(), &t, &r, &mut log).is_empty());
    costs[0].escalation = Escalation::Notify;
    let t = ev.evaluate(
        t0() + secs(1),
        &Inputs {
            costs: &costs,
            ..Inputs::default()
        },
    );
    let ns = route(t0() + secs(1), &t, &r, &mut log);
    assert_eq!(ns.len(), 2);
    assert!(ns.iter().all(|n| n.rule == "cost_limit_exceeded"));
}

#[test]
fn a_failed_send_is_offered_again_and_only_it() {
    let r = rules();
    let mut ev = Evaluator::new();
    let fleet = world(&mut ev);
    let t = ev.evaluate(
        t0(),
        &Inputs {
            branches: &fleet,
            ..Inputs::default()
        },
    );
    let mut log = SentLog::default();
    let ns = route(t0(), &t, &r, &mut log);
    // kakao is down: everything else went out.
    let (failed, ok): (Vec<_>, Vec<_>) = ns.into_iter().partition(|n| n.channel == "kakao:hq");
    send_all(&mut log, &ok, t0());
    let again = route(t0() + secs(5), &t, &r, &mut log);
    assert_eq!(again, failed);
}

#[test]
fn the_sent_log_json_is_plain() {
    let mut log = SentLog::default();
    let mut ev = Evaluator::new();
    ev.ingest(Some(3), &entry("TXN-9", "lab", "deploy_failed", None, t0()));
    let t = ev.evaluate(t0(), &Inputs::default());
    let r = rules();
    let ns = route(t0(), &t, &r, &mut log);
    send_all(&mut log, &ns[..1], t0() + secs(1));
    let v: serde_json::Value = serde_json::to_value(&log).unwrap();
    assert_eq!(v["version"], 1);
    let rec = &v["alerts"][r#"DeployFailed{branch="lab",id="TXN-9",severity="warning"}"#];
    assert_eq!(rec["channels"]["slack:critical"], "2026-01-18T12:00:01Z");
    assert_eq!(rec["alert"]["alertname"], "DeployFailed");
    assert_eq!(rec["alert"]["target"]["kind"], "ledger");
    assert!(rec.get("stale_since").is_none());
    // An older or hand-written file without `alerts` still loads.
    let empty: SentLog = serde_json::from_str(r#"{"version":1}"#).unwrap();
    assert!(empty.alerts.is_empty());
}
