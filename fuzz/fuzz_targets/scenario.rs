//! Fuzz the scenario parser and validator, the answer-script parser, and — for
//! inputs that validate — a full headless rehearsal with every step skipped, and
//! the transcript verifier on arbitrary bytes. None of these may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lumen::domain::ceremony::crypto::KeySource;
use lumen::domain::ceremony::machine::{Input, Machine, Participant, Phase};
use lumen::domain::ceremony::{scenario, script, transcript};

fuzz_target!(|data: &[u8]| {
    let _ = transcript::verify(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = script::parse("fuzz.yaml", text);
    let Ok(s) = scenario::parse("fuzz.yaml", text) else {
        return;
    };
    let mut keys = KeySource::seeded(1);
    let mut people = Vec::new();
    for (i, role) in s.roles.iter().enumerate() {
        let Ok(k) = keys.generate() else { return };
        people.push(Participant::new(format!("p{i}"), role.id.clone(), k));
    }
    let Ok(mut m) = Machine::new(s, people, 7, keys) else {
        return;
    };
    for _ in 0..10_000 {
        if m.phase() == Phase::Done {
            break;
        }
        let _ = m.view();
        if m.step(Input::Skip, 1_000).is_err() {
            break;
        }
    }
    let t = transcript::render(&m);
    assert!(transcript::verify(t.as_bytes()).ok);
});
