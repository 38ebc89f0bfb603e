//! The ceremony state machine: every step kind, every anomaly path, scoring, quiz,
//! the view model, and the real cryptography behind the crypto steps.

use ed25519_dalek::SigningKey;
use lumen::domain::ceremony::crypto::{self, KeySource};
use lumen::domain::ceremony::machine::{Input, Machine, MachineError, Phase};
use lumen::domain::ceremony::scenario::{self, Scenario};
use lumen::domain::ceremony::score::StepStatus;
use serde_json::Value;

const ALL_KINDS: &str = r#"
id: all-kinds
title: All kinds
pass_mark: 70
roles:
  - {id: admin, title: Admin}
  - {id: co1, title: Officer 1}
  - {id: co2, title: Officer 2}
  - {id: co3, title: Officer 3}
  - {id: witness, title: Witness}
steps:
  - {id: c1, kind: check, instruction: Check, actors: [admin], witness: witness, budget: 10}
  - {id: t1, kind: type_to_confirm, instruction: Type, expected: TB-1, actors: [admin]}
  - id: ch1
    kind: choose
    instruction: Pick
    actors: [admin]
    options: [{id: a, text: A}, {id: b, text: B}]
    answer: b
  - {id: s1, kind: sign, instruction: Sign, actors: [admin]}
  - {id: q1, kind: quorum, quorum: 2, instruction: Quorum, actors: [co1, co2, co3]}
  - {id: g, kind: generate_root, instruction: Generate, actors: [admin]}
  - {id: f, kind: confirm_fingerprint, instruction: Confirm, actors: [co1], critical: true}
  - {id: i, kind: issue_signer, subject: s-1, instruction: Issue, actors: [admin]}
  - {id: r, kind: sign_crl, revoked: ["9"], instruction: CRL, actors: [admin]}
  - {id: v, kind: verify, instruction: Verify, actors: [co2], critical: true}
quiz:
  - id: mc
    question: Pick b
    options: [{id: a, text: A}, {id: b, text: B}]
    answer: b
    points: 4
  - id: short
    question: Say two words
    keywords: [dual, control]
    points: 6
"#;

fn scenario_with(extra: &str) -> Scenario {
    let text = format!("{ALL_KINDS}{extra}");
    scenario::parse("test.yaml", &text).expect("test scenario is valid")
}

fn key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

fn machine(extra: &str, seed: u64) -> Machine {
    use lumen::domain::ceremony::machine::Participant;
    let people = vec![
        Participant::new("Alice", "admin", key(1)),
        Participant::new("Bob", "co1", key(2)),
        Participant::new("Carol", "co2", key(3)),
        Participant::new("Dave", "co3", key(4)),
        Participant::new("Erin", "witness", key(5)),
    ];
    Machine::new(scenario_with(extra), people, seed, KeySource::seeded(99)).expect("start")
}

fn act(m: &mut Machine, by: &str, text: &str, t: u64) {
    m.step(
        Input::Act {
            by: by.into(),
            text: text.into(),
        },
        t,
    )
    .unwrap_or_else(|e| panic!("{by} `{text}` refused: {e}"));
}

/// Walk every step correctly from the current position (c1).
fn happy_steps(m: &mut Machine) {
    act(m, "Alice", "ok", 5_000);
    act(m, "Alice", "TB-1", 6_000);
    act(m, "Alice", "b", 7_000);
    act(m, "Alice", "sign", 8_000);
    act(m, "Bob", "sign", 9_000);
    act(m, "Carol", "sign", 10_000);
    act(m, "Alice", "generate", 11_000);
    let fp = m.root_fingerprint_prefix().expect("root exists");
    act(m, "Bob", &fp, 12_000);
    act(m, "Alice", "issue", 13_000);
    act(m, "Alice", "sign", 14_000);
}

fn records_of<'a>(m: &'a Machine, kind: &str) -> Vec<&'a Value> {
    m.records().iter().filter(|r| r["kind"] == kind).collect()
}

fn step_record<'a>(m: &'a Machine, id: &str) -> &'a Value {
    m.records()
        .iter()
        .find(|r| r["kind"] == "step" && r["step"] == id)
        .unwrap_or_else(|| panic!("no record for step {id}"))
}

#[test]
fn happy_path_through_every_step_kind_scores_full_marks() {
    let mut m = machine("", 0);
    happy_steps(&mut m);
    act(&mut m, "Carol", "valid", 15_000);
    assert_eq!(m.phase(), Phase::Quiz);
    m.step(Input::Answer { text: "B".into() }, 16_000)
        .expect("mc");
    m.step(
        Input::Answer {
            text: "dual control".into(),
        },
        17_000,
    )
    .expect("short");
    assert_eq!(m.phase(), Phase::Done);
    let s = m.summary().expect("summary");
    assert!(s.passed);
    assert_eq!(s.score, s.max);
    assert_eq!(s.max, 10 * 10 + 4 + 6);
    assert!(s.practise.is_empty());
    for id in ["c1", "t1", "ch1", "s1", "q1", "g", "f", "i", "r", "v"] {
        assert_eq!(step_record(&m, id)["status"], "done", "{id}");
    }
    assert_eq!(step_record(&m, "c1")["witness"], "Erin");
    assert_eq!(m.records().last().expect("records")["kind"], "summary");
}

#[test]
fn sign_and_quorum_signatures_are_real() {
    let mut m = machine("", 0);
    happy_steps(&mut m);
    let s1 = step_record(&m, "s1");
    let pk = crypto::public_from_b64(s1["publicKey"].as_str().expect("pk")).expect("key");
    assert_eq!(pk, key(1).verifying_key());
    let record = s1["record"].as_str().expect("record");
    assert!(crypto::verify_b64(
        &pk,
        record.as_bytes(),
        s1["sig"].as_str().expect("sig")
    ));
    assert!(!crypto::verify_b64(
        &pk,
        b"other",
        s1["sig"].as_str().expect("sig")
    ));
    let quorum = records_of(&m, "quorum_signature");
    assert_eq!(quorum.len(), 2);
    for (q, k) in quorum.iter().zip([key(2), key(3)]) {
        let rec = q["record"].as_str().expect("record");
        assert!(crypto::verify_b64(
            &k.verifying_key(),
            rec.as_bytes(),
            q["sig"].as_str().expect("sig")
        ));
    }
    assert_eq!(quorum[1]["progress"], "2/2");
}

#[test]
fn issue_signer_and_sign_crl_really_sign_with_the_root() {
    let mut m = machine("", 0);
    happy_steps(&mut m);
    let g = step_record(&m, "g");
    let root = crypto::public_from_b64(g["publicKey"].as_str().expect("pk")).expect("root");
    assert_eq!(
        g["fingerprint"].as_str(),
        Some(crypto::fingerprint(&root).as_str())
    );
    let i = step_record(&m, "i");
    let cert = i["certificate"].as_str().expect("cert");
    assert!(crypto::verify_b64(
        &root,
        cert.as_bytes(),
        i["sig"].as_str().expect("sig")
    ));
    let r = step_record(&m, "r");
    let crl = r["crl"].as_str().expect("crl");
    assert!(crl.contains("\"revoked\":[\"9\"]"));
    assert!(crypto::verify_b64(
        &root,
        crl.as_bytes(),
        r["sig"].as_str().expect("sig")
    ));
    act(&mut m, "Carol", "valid", 15_000);
    assert_eq!(step_record(&m, "v")["valid"], true);
}

#[test]
fn refused_inputs_change_nothing() {
    let mut m = machine("", 0);
    let before = m.records().len();
    let e = m
        .step(
            Input::Act {
                by: "Bob".into(),
                text: "ok".into(),
            },
            1,
        )
        .expect_err("not an actor");
    assert!(matches!(e, MachineError::NotAnActor { .. }));
    let e = m
        .step(
            Input::Act {
                by: "Mallory".into(),
                text: "ok".into(),
            },
            1,
        )
        .expect_err("unknown");
    assert!(matches!(e, MachineError::UnknownParticipant(_)));
    let e = m
        .step(
            Input::Respond {
                response: "x".into(),
            },
            1,
        )
        .expect_err("no anomaly");
    assert!(matches!(e, MachineError::WrongPhase { .. }));
    let e = m
        .step(Input::Answer { text: "b".into() }, 1)
        .expect_err("not quiz");
    assert!(matches!(e, MachineError::WrongPhase { .. }));
    assert_eq!(m.records().len(), before);
    assert_eq!(m.view().current.expect("current").id, "c1");
}

#[test]
fn quorum_needs_distinct_eligible_signers_and_shows_progress() {
    let mut m = machine("", 0);
    act(&mut m, "Alice", "ok", 1);
    act(&mut m, "Alice", "TB-1", 2);
    act(&mut m, "Alice", "b", 3);
    act(&mut m, "Alice", "sign", 4);
    let v = m.view();
    let q = v.quorum.expect("quorum progress");
    assert_eq!((q.have, q.need), (0, 2));
    act(&mut m, "Dave", "sign", 5);
    assert_eq!(m.view().quorum.expect("progress").have, 1);
    let e = m
        .step(
            Input::Act {
                by: "Dave".into(),
                text: "sign".into(),
            },
            6,
        )
        .expect_err("twice");
    assert!(matches!(e, MachineError::AlreadySigned(_)));
    let e = m
        .step(
            Input::Act {
                by: "Alice".into(),
                text: "sign".into(),
            },
            6,
        )
        .expect_err("admin");
    assert!(matches!(e, MachineError::NotAnActor { .. }));
    let e = m
        .step(
            Input::Act {
                by: "Bob".into(),
                text: "yes".into(),
            },
            6,
        )
        .expect_err("text");
    assert!(matches!(e, MachineError::NotASignature));
    act(&mut m, "Bob", "sign", 7);
    assert_eq!(m.view().current.expect("current").id, "g");
    assert_eq!(
        step_record(&m, "q1")["signed_by"],
        serde_json::json!(["Dave", "Bob"])
    );
}

#[test]
fn wrong_answers_late_answers_and_skips_are_scored() {
    let mut m = machine("", 0);
    act(&mut m, "Alice", "ok", 20_000); // budget 10 s: late, half points
    act(&mut m, "Alice", "TB-2", 21_000); // wrong text
    act(&mut m, "Alice", "a", 22_000); // wrong option
    m.step(Input::Skip, 23_000).expect("skip the signature");
    let c1 = step_record(&m, "c1");
    assert_eq!(
        (
            c1["status"].as_str(),
            c1["within_time"].as_bool(),
            c1["points"].as_u64()
        ),
        (Some("done"), Some(false), Some(5))
    );
    assert_eq!(step_record(&m, "t1")["status"], "wrong");
    assert_eq!(step_record(&m, "ch1")["status"], "wrong");
    assert_eq!(step_record(&m, "s1")["status"], "missed");
    let v = m.view();
    let statuses: Vec<StepStatus> = v.checklist.iter().map(|c| c.status).collect();
    assert_eq!(
        &statuses[..5],
        &[
            StepStatus::Done,
            StepStatus::Wrong,
            StepStatus::Wrong,
            StepStatus::Missed,
            StepStatus::Current
        ]
    );
    assert_eq!(v.score, 5);
    assert_eq!(v.max_so_far, 40);
}

#[test]
fn wrong_fingerprint_on_a_critical_step_fails_and_stops_the_ceremony() {
    let mut m = machine("", 0);
    for (by, t) in [
        ("Alice", "ok"),
        ("Alice", "TB-1"),
        ("Alice", "b"),
        ("Alice", "sign"),
        ("Bob", "sign"),
        ("Carol", "sign"),
        ("Alice", "generate"),
    ] {
        act(&mut m, by, t, 1);
    }
    let wrong = if m.root_fingerprint_prefix().as_deref() == Some("00000000") {
        "11111111"
    } else {
        "00000000"
    };
    act(&mut m, "Bob", wrong, 2);
    assert_eq!(m.phase(), Phase::Quiz);
    let v = m.view();
    assert_eq!(v.checklist[7].status, StepStatus::NotReached);
    m.step(Input::Answer { text: "b".into() }, 3).expect("quiz");
    m.step(Input::Skip, 4).expect("quiz skip");
    let s = m.summary().expect("summary");
    assert!(!s.passed);
    assert!(
        s.failure
            .as_deref()
            .is_some_and(|f| f.contains("critical step f"))
    );
    // Remaining steps still count against the maximum when the rehearsal failed.
    assert_eq!(s.max, 100 + 10);
    assert!(m.view().root_fingerprint.is_some());
}

const ANOMALY_AT_T1: &str = r#"
anomalies:
  - id: torn
    type: torn_seal
    message: The seal is torn
    at: t1
    responses:
      - {id: stop, text: Stop and record, grade: right, points: 10, explanation: Right, consequence: postpone}
      - {id: inspect, text: Inspect first, grade: acceptable, points: 4, explanation: Meh}
      - {id: go-on, text: Carry on, grade: wrong, points: 0, explanation: Never, consequence: fail}
"#;

#[test]
fn a_scripted_anomaly_interrupts_and_blocks_the_step() {
    let mut m = machine(ANOMALY_AT_T1, 0);
    act(&mut m, "Alice", "ok", 1);
    assert_eq!(m.phase(), Phase::Anomaly);
    let v = m.view();
    let a = v.anomaly.expect("pending anomaly");
    assert_eq!(a.kind, "torn_seal");
    assert_eq!(a.options.len(), 3);
    let e = m
        .step(
            Input::Act {
                by: "Alice".into(),
                text: "TB-1".into(),
            },
            2,
        )
        .expect_err("blocked");
    assert!(matches!(
        e,
        MachineError::WrongPhase {
            phase: Phase::Anomaly
        }
    ));
    let e = m
        .step(
            Input::Respond {
                response: "nope".into(),
            },
            2,
        )
        .expect_err("unknown");
    assert!(matches!(e, MachineError::UnknownResponse(_)));
}

#[test]
fn right_response_with_postpone_halts_properly_and_is_not_penalised() {
    let mut m = machine(ANOMALY_AT_T1, 0);
    act(&mut m, "Alice", "ok", 1);
    m.step(
        Input::Respond {
            response: "stop".into(),
        },
        2,
    )
    .expect("respond");
    assert_eq!(m.phase(), Phase::Quiz);
    assert!(
        m.view().checklist[1..]
            .iter()
            .all(|c| c.status == StepStatus::Postponed)
    );
    m.step(Input::Answer { text: "b".into() }, 3).expect("q");
    m.step(
        Input::Answer {
            text: "dual control".into(),
        },
        4,
    )
    .expect("q");
    let s = m.summary().expect("summary");
    assert!(s.passed && s.postponed);
    assert_eq!((s.score, s.max), (10 + 10 + 10, 10 + 10 + 10));
    let ex = &m.exceptions()[0];
    assert_eq!(ex.step.as_deref(), Some("t1"));
    assert_eq!(ex.happened, "The seal is torn");
    assert_eq!(ex.decided, "Stop and record");
    assert!(ex.expected.contains("Stop and record"));
    assert_eq!(records_of(&m, "exception").len(), 1);
}

#[test]
fn acceptable_response_continues_with_fewer_points() {
    let mut m = machine(ANOMALY_AT_T1, 0);
    act(&mut m, "Alice", "ok", 1);
    m.step(
        Input::Respond {
            response: "inspect".into(),
        },
        2,
    )
    .expect("respond");
    assert_eq!(m.phase(), Phase::Step);
    assert_eq!(m.view().current.expect("current").id, "t1");
    happy_rest_from_t1(&mut m);
    let s = m.summary().expect("summary");
    assert!(s.passed);
    assert_eq!(s.max - s.score, 6);
    assert!(s.practise.iter().any(|p| p.contains("torn")));
}

fn happy_rest_from_t1(m: &mut Machine) {
    act(m, "Alice", "TB-1", 6_000);
    act(m, "Alice", "b", 7_000);
    act(m, "Alice", "sign", 8_000);
    act(m, "Bob", "sign", 9_000);
    act(m, "Carol", "sign", 10_000);
    act(m, "Alice", "generate", 11_000);
    let fp = m.root_fingerprint_prefix().expect("root");
    act(m, "Bob", &fp, 12_000);
    act(m, "Alice", "issue", 13_000);
    act(m, "Alice", "sign", 14_000);
    act(m, "Carol", "valid", 15_000);
    m.step(Input::Answer { text: "b".into() }, 16_000)
        .expect("q");
    m.step(
        Input::Answer {
            text: "dual control".into(),
        },
        17_000,
    )
    .expect("q");
}

#[test]
fn wrong_response_fails_the_rehearsal() {
    let mut m = machine(ANOMALY_AT_T1, 0);
    act(&mut m, "Alice", "ok", 1);
    m.step(
        Input::Respond {
            response: "go-on".into(),
        },
        2,
    )
    .expect("respond");
    assert_eq!(m.phase(), Phase::Quiz);
    assert_eq!(m.view().checklist[1].status, StepStatus::NotReached);
    m.step(Input::Answer { text: "b".into() }, 3).expect("q");
    m.step(
        Input::Answer {
            text: "dual control".into(),
        },
        4,
    )
    .expect("q");
    let s = m.summary().expect("summary");
    assert!(!s.passed);
    assert!(s.failure.as_deref().is_some_and(|f| f.contains("torn")));
    assert_eq!(
        m.exceptions()[0].grade,
        lumen::domain::ceremony::scenario::Grade::Wrong
    );
}

#[test]
fn an_ignored_anomaly_is_a_wrong_response() {
    let mut m = machine(ANOMALY_AT_T1, 0);
    act(&mut m, "Alice", "ok", 1);
    m.step(Input::Skip, 2).expect("no response");
    assert_eq!(m.phase(), Phase::Quiz);
    assert_eq!(
        m.exceptions()[0].decided,
        "no response within the time budget"
    );
}

const MISMATCH: &str = r#"
anomalies:
  - id: swap
    type: fingerprint_mismatch
    effect: fingerprint_mismatch
    message: The device shows another fingerprint
    at: i
    responses:
      - {id: verify, text: Verify then halt, grade: right, points: 10, explanation: Yes}
"#;

#[test]
fn fingerprint_mismatch_makes_verification_fail_for_real() {
    for (answer, passes) in [("invalid", true), ("valid", false)] {
        let mut m = machine(MISMATCH, 0);
        act(&mut m, "Alice", "ok", 1);
        act(&mut m, "Alice", "TB-1", 2);
        act(&mut m, "Alice", "b", 3);
        act(&mut m, "Alice", "sign", 4);
        act(&mut m, "Bob", "sign", 5);
        act(&mut m, "Carol", "sign", 6);
        act(&mut m, "Alice", "generate", 7);
        let fp = m.root_fingerprint_prefix().expect("root");
        act(&mut m, "Bob", &fp, 8);
        assert_eq!(m.phase(), Phase::Anomaly);
        m.step(
            Input::Respond {
                response: "verify".into(),
            },
            9,
        )
        .expect("respond");
        act(&mut m, "Alice", "issue", 10);
        act(&mut m, "Alice", "sign", 11);
        // The certificate's signature really does not verify against the root.
        let root = crypto::public_from_b64(step_record(&m, "g")["publicKey"].as_str().expect("pk"))
            .expect("root");
        let i = step_record(&m, "i");
        assert!(!crypto::verify_b64(
            &root,
            i["certificate"].as_str().expect("cert").as_bytes(),
            i["sig"].as_str().expect("sig")
        ));
        act(&mut m, "Carol", answer, 12);
        assert_eq!(step_record(&m, "v")["valid"], false);
        m.step(Input::Answer { text: "b".into() }, 13).expect("q");
        m.step(
            Input::Answer {
                text: "dual control".into(),
            },
            14,
        )
        .expect("q");
        assert_eq!(
            m.summary().expect("summary").passed,
            passes,
            "answer {answer}"
        );
    }
}

#[test]
fn random_anomalies_are_seeded() {
    let extra = r#"
anomalies:
  - id: jam
    type: printer_jam
    message: Jam
    random: {probability: 0.5, steps: [t1, ch1, s1]}
    responses:
      - {id: fix, text: Fix, grade: right, points: 3, explanation: ok}
"#;
    let fired = |seed: u64| {
        let mut m = machine(extra, seed);
        let mut at = None;
        for (by, t) in [
            ("Alice", "ok"),
            ("Alice", "TB-1"),
            ("Alice", "b"),
            ("Alice", "sign"),
        ] {
            if m.phase() == Phase::Anomaly {
                at = m.current_step().map(|s| s.id.clone());
                m.step(
                    Input::Respond {
                        response: "fix".into(),
                    },
                    1,
                )
                .expect("fix");
            }
            act(&mut m, by, t, 1);
        }
        at
    };
    let outcomes: Vec<Option<String>> = (0..40).map(fired).collect();
    assert!(
        outcomes.iter().any(Option::is_some),
        "never fired in 40 seeds"
    );
    assert!(
        outcomes.iter().any(Option::is_none),
        "always fired in 40 seeds"
    );
    let places: std::collections::BTreeSet<_> = outcomes.iter().flatten().collect();
    assert!(places.len() >= 2, "always at the same step: {places:?}");
    for seed in 0..10 {
        assert_eq!(fired(seed), fired(seed), "seed {seed} not deterministic");
    }
}

#[test]
fn short_answers_score_by_keyword_and_view_shows_the_question() {
    let mut m = machine("", 0);
    happy_steps(&mut m);
    act(&mut m, "Carol", "valid", 15_000);
    let q = m.view().question.expect("question");
    assert_eq!((q.id.as_str(), q.options.len()), ("mc", 2));
    m.step(Input::Answer { text: "a".into() }, 16_000)
        .expect("mc");
    assert!(m.view().question.expect("short").options.is_empty());
    m.step(
        Input::Answer {
            text: "Dual".into(),
        },
        17_000,
    )
    .expect("short");
    let s = m.summary().expect("summary");
    assert_eq!(s.quiz_points, 3);
    assert_eq!(s.quiz_max, 10);
    assert!(
        m.step(Input::Answer { text: "x".into() }, 18_000).is_err(),
        "done is final"
    );
    assert!(m.view().summary.is_some());
}

#[test]
fn view_model_describes_the_current_step() {
    let m = machine("", 0);
    let v = m.view();
    let c = v.current.expect("current");
    assert_eq!((c.index, c.kind, c.budget_secs), (0, "check", 10));
    assert_eq!(c.actors, vec!["admin"]);
    assert_eq!(c.witness.as_deref(), Some("witness"));
    assert_eq!(c.witness_name.as_deref(), Some("Erin"));
    assert!(c.hint.contains("ok"));
    assert_eq!(v.checklist.len(), 10);
    assert_eq!(v.log.len(), 1);
    assert_eq!(m.remaining_ms(4_000), Some(6_000));
    assert_eq!(m.remaining_ms(12_000), Some(-2_000));
}

#[test]
fn log_lines_are_sanitized_but_records_keep_the_text() {
    let text = ALL_KINDS.replace("title: All kinds", "title: \"All \\e[31mkinds\"");
    let s = scenario::parse("esc.yaml", &text).expect("valid");
    assert!(s.title.contains('\u{1b}'));
    use lumen::domain::ceremony::machine::Participant;
    let people = vec![
        Participant::new("Alice", "admin", key(1)),
        Participant::new("Bob", "co1", key(2)),
        Participant::new("Carol", "co2", key(3)),
        Participant::new("Dave", "co3", key(4)),
        Participant::new("Erin", "witness", key(5)),
    ];
    let m = Machine::new(s, people, 0, KeySource::seeded(1)).expect("start");
    assert!(m.view().log.iter().all(|l| !l.contains('\u{1b}')));
    assert!(
        m.records()[0]["title"]
            .as_str()
            .is_some_and(|t| t.contains('\u{1b}'))
    );
}

#[test]
fn every_needed_role_must_be_held_and_names_are_unique() {
    use lumen::domain::ceremony::machine::Participant;
    let s = scenario_with("");
    let few = vec![Participant::new("Alice", "admin", key(1))];
    assert!(matches!(
        Machine::new(s.clone(), few, 0, KeySource::seeded(1)),
        Err(MachineError::RoleUnfilled(_))
    ));
    let dup = vec![
        Participant::new("Alice", "admin", key(1)),
        Participant::new("Alice", "co1", key(2)),
    ];
    assert!(matches!(
        Machine::new(s, dup, 0, KeySource::seeded(1)),
        Err(MachineError::DuplicateParticipant(_))
    ));
}
