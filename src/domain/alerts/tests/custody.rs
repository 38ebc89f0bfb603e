//! `CustodyProblem`: the custody report (the seed HQ's real chain and seal audit)
//! evaluated with an injected clock — each case fires with its severity and resolves
//! when the facts change.

use std::path::Path;

use super::*;
use crate::domain::hq::custody::{
    CustodyFiles, assess, parse_audit, parse_cert_pem, parse_chain_manifest, parse_crl,
};

const ROOT: &[u8] =
    include_bytes!("../../../../tests/fixtures/seed-hq/controls/keys/root/root_ca_cert.pem");
const SIGNER: &[u8] =
    include_bytes!("../../../../tests/fixtures/seed-hq/controls/keys/current/signer_cert.pem");
const MANIFEST: &[u8] =
    include_bytes!("../../../../tests/fixtures/seed-hq/controls/trust/chain_manifest.json");
const CRL: &[u8] = include_bytes!("../../../../tests/fixtures/seed-hq/controls/trust/crl.jsonl");
const AUDIT: &[u8] = include_bytes!(
    "../../../../tests/fixtures/seed-hq/custody/records/quarterly_audit_2026Q1.json"
);
const OTHER: &[u8] =
    include_bytes!("../../../../tests/fixtures/custody/other_root_signer_cert.pem");

fn p() -> &'static Path {
    Path::new("f")
}

fn files() -> CustodyFiles {
    CustodyFiles {
        root: Some(parse_cert_pem(p(), ROOT)),
        signer: Some(parse_cert_pem(p(), SIGNER)),
        manifest: Some(parse_chain_manifest(p(), MANIFEST)),
        crl: Some(parse_crl(p(), CRL)),
        audits: vec![(
            "quarterly_audit_2026Q1.json".into(),
            parse_audit(p(), AUDIT),
        )],
        initial: None,
    }
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn eval(ev: &mut Evaluator, f: &CustodyFiles, now: DateTime<Utc>) -> Transitions {
    let r = assess(f, now);
    ev.evaluate(
        now,
        &Inputs {
            custody: Some(&r),
            ..Inputs::default()
        },
    )
}

fn problems(t: &Transitions) -> Vec<(String, Severity)> {
    t.firing
        .iter()
        .map(|a| {
            assert_eq!(a.alertname, AlertName::CustodyProblem);
            (
                a.labels.get("problem").cloned().unwrap_or_default(),
                a.severity,
            )
        })
        .collect()
}

#[test]
fn a_healthy_chain_within_a_quarter_fires_nothing() {
    let mut ev = Evaluator::new();
    let t = eval(&mut ev, &files(), at("2026-02-01T00:00:00Z"));
    assert!(t.firing.is_empty(), "{:?}", problems(&t));
}

#[test]
fn an_overdue_audit_warns_with_its_dates_then_resolves_when_a_new_audit_is_recorded() {
    let mut ev = Evaluator::new();
    let mut f = files();
    // The audit of 2026-01-20 was due again on 2026-04-22.
    let now = at("2026-05-01T00:00:00Z");
    let t = eval(&mut ev, &f, now);
    assert_eq!(
        problems(&t),
        [("audit_overdue".to_string(), Severity::Warning)]
    );
    let a = &t.firing[0];
    assert_eq!(
        a.summary,
        "quarterly seal audit overdue: the last was 2026-01-20 (101 days ago), due 2026-04-22"
    );
    assert!(a.action.contains("two auditors"), "{}", a.action);
    assert_eq!(a.since, now);
    // Still overdue an hour later: nothing new, since kept.
    let t = eval(&mut ev, &f, now + Duration::hours(1));
    assert!(t.is_quiet(), "{t:?}");
    assert_eq!(t.firing[0].since, now);
    // The Q2 audit is recorded: it resolves.
    let q2 = String::from_utf8_lossy(AUDIT).replace("2026-01-20", "2026-05-01");
    f.audits.push((
        "quarterly_audit_2026Q2.json".into(),
        parse_audit(p(), q2.as_bytes()),
    ));
    let t = eval(&mut ev, &f, now + Duration::hours(2));
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);
}

#[test]
fn an_expiring_signer_warns_then_turns_critical_then_expired() {
    let mut ev = Evaluator::new();
    let f = files();
    let q = |s: &str| {
        let mut f = f.clone();
        // A fresh audit at each clock so only the signer speaks.
        let a = String::from_utf8_lossy(AUDIT).replace("2026-01-20T00:00:00Z", s);
        f.audits = vec![(
            "quarterly_audit_2035Q4.json".into(),
            parse_audit(p(), a.as_bytes()),
        )];
        f
    };
    // The signer ends 2036-01-01: 31 days before, nothing; 20 days before, a warning.
    let t = eval(
        &mut ev,
        &q("2035-11-30T00:00:00Z"),
        at("2035-12-01T00:00:00Z"),
    );
    assert!(t.firing.is_empty(), "{:?}", problems(&t));
    let t = eval(
        &mut ev,
        &q("2035-12-11T00:00:00Z"),
        at("2035-12-12T00:00:00Z"),
    );
    assert_eq!(
        problems(&t),
        [("signer_expiring".to_string(), Severity::Warning)]
    );
    assert_eq!(
        t.firing[0].summary,
        "signer certificate serial 4242424242 expires in 20 days (2036-01-01)"
    );
    // Under a week: critical, the warning resolved, since kept.
    let t = eval(
        &mut ev,
        &q("2035-12-26T00:00:00Z"),
        at("2035-12-27T00:00:00Z"),
    );
    assert_eq!(
        problems(&t),
        [("signer_expiring".to_string(), Severity::Critical)]
    );
    assert_eq!(t.firing[0].since, at("2035-12-12T00:00:00Z"));
    // Past its end.
    let t = eval(
        &mut ev,
        &q("2036-01-01T12:00:00Z"),
        at("2036-01-02T00:00:00Z"),
    );
    assert_eq!(
        problems(&t),
        [("signer_expired".to_string(), Severity::Critical)]
    );
    assert!(t.firing[0].summary.contains("expired on 2036-01-01"));
}

#[test]
fn revocation_a_foreign_chain_and_a_fingerprint_mismatch_are_critical() {
    let now = at("2026-02-01T00:00:00Z");
    let mut ev = Evaluator::new();
    let mut f = files();
    f.crl = Some(parse_crl(
        p(),
        b"{\"serial\": 4242424242, \"reason\": \"keyCompromise\"}\n",
    ));
    let t = eval(&mut ev, &f, now);
    assert_eq!(
        problems(&t),
        [("signer_revoked".to_string(), Severity::Critical)]
    );
    assert!(
        t.firing[0].action.contains("re-sign"),
        "{}",
        t.firing[0].action
    );
    // The CRL entry removed (a mistaken revocation): it resolves.
    let t = eval(&mut ev, &files(), now);
    assert!(t.firing.is_empty());
    assert_eq!(t.resolved.len(), 1);

    let mut f = files();
    f.signer = Some(parse_cert_pem(p(), OTHER));
    let t = eval(&mut Evaluator::new(), &f, now);
    assert!(
        problems(&t).contains(&("signer_chain".to_string(), Severity::Critical)),
        "{:?}",
        problems(&t)
    );

    let mut f = files();
    let m = String::from_utf8_lossy(MANIFEST).replace(
        assess(&files(), now).root.fingerprint.as_deref().unwrap(),
        &"ab".repeat(32),
    );
    f.manifest = Some(parse_chain_manifest(p(), m.as_bytes()));
    let t = eval(&mut Evaluator::new(), &f, now);
    assert_eq!(
        problems(&t),
        [("root_fingerprint".to_string(), Severity::Critical)]
    );
    assert_eq!(
        t.firing[0].summary,
        "the root certificate's fingerprint differs from chain_manifest.json"
    );
    assert_eq!(
        t.firing[0].target,
        Target::File {
            path: "controls/keys/root/root_ca_cert.pem".into(),
            line: 1,
            column: 1
        }
    );
}
