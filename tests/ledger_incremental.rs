//! The incremental verifier behind the console's integrity check: after a full first
//! pass it reads only what was appended, gives the same report as a full verify, and
//! goes back to a full pass when the file shrank or was replaced, or when keys.json
//! or the checkpoints changed.

mod ledger_common;

use ledger_common::Hq;
use lumen::store::verify::{IncrementalVerifier, VerifyOptions, verify_with};

fn full(h: &Hq) -> serde_json::Value {
    let r = verify_with(&h.root, &VerifyOptions::default()).unwrap_or_else(|e| panic!("{e:#}"));
    serde_json::to_value(&r).unwrap_or_default()
}

fn step(v: &mut IncrementalVerifier) -> serde_json::Value {
    let r = v.verify().unwrap_or_else(|e| panic!("{e:#}"));
    serde_json::to_value(&r).unwrap_or_default()
}

#[test]
fn resumes_where_it_stopped_and_agrees_with_a_full_verify() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.append("deploy");
    let mut v = IncrementalVerifier::new(&h.root, VerifyOptions::default());
    assert_eq!(step(&mut v), full(&h));
    assert!(v.last_was_full());

    h.outside("TXN-20260118-002");
    h.append("rollback");
    let r = step(&mut v);
    assert!(!v.last_was_full(), "only the appended lines are read");
    assert_eq!(r, full(&h));
    assert_eq!(r["entries"], 4);
    assert_eq!(r["ok"], true);

    // An appended replay is caught by the incremental pass.
    let mut lines = h.lines();
    let copy = lines[1].clone();
    lines.push(copy);
    h.set_lines(&lines);
    let r = step(&mut v);
    assert!(!v.last_was_full());
    assert_eq!(r["ok"], false);
    assert_eq!(r["offsets"]["bad"], 1);
    assert_eq!(r, full(&h));

    // The file shrinks: everything again.
    h.set_lines(&lines[..2]);
    let r = step(&mut v);
    assert!(v.last_was_full());
    assert_eq!(r, full(&h));
    assert_eq!(r["ok"], true);

    // A checkpoint appears: its claim may concern lines already passed.
    let o = h.lumen(&[
        "ledger",
        "checkpoint",
        "--key",
        h.key.to_str().unwrap_or_default(),
    ]);
    assert!(o.status.success());
    let r = step(&mut v);
    assert!(v.last_was_full());
    assert_eq!(r["checkpoints"]["ok"], 1);
    h.append("deploy");
    let r = step(&mut v);
    assert!(!v.last_was_full());
    assert_eq!(r, full(&h));
}
