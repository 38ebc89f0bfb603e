//! The Alertmanager v2 body and the re-post schedule.

use super::*;

fn tick(ev: &mut Evaluator, now: DateTime<Utc>, fleet: &[BranchFacts]) -> Transitions {
    ev.evaluate(
        now,
        &Inputs {
            branches: fleet,
            ..Inputs::default()
        },
    )
}

#[test]
fn the_body_is_alertmanager_v2_json() {
    let mut ev = Evaluator::new();
    ev.ingest(
        Some(3),
        &entry(
            "TXN-9",
            "lab",
            "deploy_failed",
            Some("failed"),
            t0() - secs(90),
        ),
    );
    let mut b = down("koosy", 3, HealthEscalation::RollbackProposed);
    b.down_since = Some(t0() - secs(600));
    let t = tick(&mut ev, t0(), &[b]);
    let mut ob = AmOutbox::new("demo-hq");
    ob.generator_url = Some("http://lumen.local/alerts".into());
    ob.observe(t0(), &t);
    let body = serde_json::to_string_pretty(&ob.body(t0(), &t.firing)).unwrap();
    let expected = r#"[
  {
    "labels": {
      "alertname": "BranchDown",
      "branch": "koosy",
      "hq": "demo-hq",
      "severity": "critical"
    },
    "annotations": {
      "action": "rollback proposed: roll back the branch's latest deploy, or put it in maintenance",
      "summary": "koosy is down: 3 failed checks in a row — connect: connection refused"
    },
    "startsAt": "2026-01-18T11:50:00.000Z",
    "endsAt": "2026-01-18T12:04:00.000Z",
    "generatorURL": "http://lumen.local/alerts"
  },
  {
    "labels": {
      "alertname": "DeployFailed",
      "branch": "lab",
      "hq": "demo-hq",
      "id": "TXN-9",
      "severity": "warning"
    },
    "annotations": {
      "action": "roll back from this entry, or fix and redeploy; clears on the branch's next successful deploy or rollback",
      "summary": "deploy TXN-9 failed on lab"
    },
    "startsAt": "2026-01-18T11:58:30.000Z",
    "endsAt": "2026-01-18T12:04:00.000Z",
    "generatorURL": "http://lumen.local/alerts"
  }
]"#;
    assert_eq!(body, expected);
}

#[test]
fn labels_are_the_same_from_every_poster() {
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let (mut a, mut b) = (Evaluator::new(), Evaluator::new());
    let x = tick(&mut a, t0(), &fleet);
    let y = tick(&mut b, t0() + secs(17), &fleet);
    assert_eq!(am_labels(&x.firing[0], "hq"), am_labels(&y.firing[0], "hq"));
    let item = am_alert(&x.firing[0], "", None, None);
    let v = serde_json::to_value(&item).unwrap();
    assert!(v.get("endsAt").is_none() && v.get("generatorURL").is_none());
    assert!(v["labels"].get("hq").is_none(), "no empty hq label");
}

#[test]
fn posts_when_something_changed_or_the_interval_passed() {
    let mut ev = Evaluator::new();
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut ob = AmOutbox::new("hq");
    assert!(ob.due(t0()), "the first post is due at once");
    let t = tick(&mut ev, t0(), &fleet);
    ob.observe(t0(), &t);
    assert!(ob.due(t0()));
    // The post failed: still due.
    assert!(ob.due(t0() + secs(1)));
    ob.posted(t0() + secs(1));
    let t = tick(&mut ev, t0() + secs(2), &fleet);
    ob.observe(t0() + secs(2), &t);
    assert!(!ob.due(t0() + secs(2)), "nothing changed");
    assert!(!ob.due(t0() + secs(60)));
    assert!(ob.due(t0() + secs(61)), "re-post every interval");
    assert_eq!(ob.expiry(t0()), t0() + secs(240));
    let mut huge = AmOutbox::new("hq");
    huge.interval = std::time::Duration::MAX;
    assert_eq!(
        huge.expiry(t0()),
        DateTime::<Utc>::MAX_UTC,
        "a silly interval never panics"
    );
    assert!(
        ob.expiry(t0()) - t0() < chrono::Duration::minutes(5),
        "before Alertmanager's default resolve_timeout"
    );
}

#[test]
fn a_resolved_alert_ends_when_it_resolved_and_is_reposted_for_a_while() {
    let mut ev = Evaluator::new();
    let fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut ob = AmOutbox::new("hq");
    let t = tick(&mut ev, t0(), &fleet);
    ob.observe(t0(), &t);
    ob.posted(t0());
    let at = t0() + secs(30);
    let t = tick(&mut ev, at, &[up("koosy")]);
    ob.observe(at, &t);
    assert!(ob.due(at), "a resolution is posted at once");
    let body = ob.body(at, &t.firing);
    assert_eq!(body.len(), 1);
    assert_eq!(body[0].ends_at.as_deref(), Some("2026-01-18T12:00:30.000Z"));
    assert_eq!(body[0].starts_at, "2026-01-18T12:00:00.000Z");
    ob.posted(at);

    let retention = chrono::Duration::from_std(RESOLVED_RETENTION).unwrap();
    let t = tick(&mut ev, at + retention, &[up("koosy")]);
    ob.observe(at + retention, &t);
    assert_eq!(
        ob.body(at + retention, &t.firing).len(),
        1,
        "still re-posted"
    );
    let t = tick(&mut ev, at + retention + secs(1), &[up("koosy")]);
    ob.observe(at + retention + secs(1), &t);
    assert!(ob.body(at + retention + secs(1), &t.firing).is_empty());
}

#[test]
fn firing_again_replaces_the_resolved_copy_and_escalation_ends_the_old_labels() {
    let mut ev = Evaluator::new();
    let mut fleet = [down("koosy", 1, HealthEscalation::Retry)];
    let mut ob = AmOutbox::new("hq");
    ob.observe(t0(), &tick(&mut ev, t0(), &fleet));
    ob.observe(
        t0() + secs(1),
        &tick(&mut ev, t0() + secs(1), &[up("koosy")]),
    );
    let t = tick(&mut ev, t0() + secs(2), &fleet);
    ob.observe(t0() + secs(2), &t);
    let body = ob.body(t0() + secs(2), &t.firing);
    assert_eq!(body.len(), 1, "not both firing and resolved: {body:?}");
    assert_eq!(body[0].ends_at.as_deref(), Some("2026-01-18T12:04:02.000Z"));

    fleet[0].escalation = HealthEscalation::HqAdmin;
    let now = t0() + secs(3);
    let t = tick(&mut ev, now, &fleet);
    ob.observe(now, &t);
    let body = ob.body(now, &t.firing);
    let sev: Vec<(&str, Option<&str>)> = body
        .iter()
        .map(|a| (a.labels["severity"].as_str(), a.ends_at.as_deref()))
        .collect();
    assert_eq!(
        sev,
        [
            ("critical", Some("2026-01-18T12:04:03.000Z")),
            ("warning", Some("2026-01-18T12:00:03.000Z"))
        ]
    );
}
