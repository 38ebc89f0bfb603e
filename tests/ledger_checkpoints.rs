//! Checkpoints as C2SP signed notes kept in a chain, consistency proofs, notes an
//! auditor kept, and the local witness — played as an attacker with write access to
//! the files would (tail cut with its checkpoint, full re-sign under an added key,
//! a deleted checkpoint line). The note and the proofs are checked by an independent
//! Python implementation (tests/py/c2sp_check.py).

mod ledger_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ledger_common::{Hq, keygen};
use serde_json::{Value, json};

fn checkpoint(h: &Hq, key: &Path) -> Value {
    let o = h.lumen(&[
        "ledger",
        "checkpoint",
        "--key",
        key.to_str().unwrap_or_default(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"))
}

fn cp_path(h: &Hq) -> PathBuf {
    h.root.join("hq/ledger/checkpoints.jsonl")
}

fn cp_lines(h: &Hq) -> Vec<String> {
    std::fs::read_to_string(cp_path(h))
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn python_ready() -> bool {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with `cryptography` is required in CI"
        );
        eprintln!("skipped: python3 with `cryptography` not available");
    }
    have
}

#[test]
fn checkpoint_is_a_c2sp_note_that_an_independent_verifier_accepts() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.append("deploy");
    let cp = checkpoint(&h, &h.key);
    let note = std::fs::read_to_string(h.root.join("hq/ledger/checkpoint")).unwrap_or_default();
    assert_eq!(cp["note"], json!(note));
    assert_eq!(cp["origin"], "lumen.local/acme");
    assert_eq!(cp["prev"], json!("0".repeat(64)));
    assert!(note.starts_with("lumen.local/acme\n2\n"), "{note}");
    assert!(note.contains("\n\n\u{2014} alice "), "{note}");
    let second = checkpoint(&h, &h.key);
    let first_line = cp_lines(&h)[0].clone();
    assert_eq!(
        second["prev"],
        json!(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
            first_line.as_bytes()
        )))
    );
    let (code, v) = h.verify(&[]);
    assert_eq!(
        (code, &v["checkpoints"]),
        (0, &json!({"ok": 2, "bad": 0})),
        "{v}"
    );

    if !python_ready() {
        return;
    }
    let key = lumen::store::keyfile::load_key_file(&h.key).unwrap_or_else(|e| panic!("{e}"));
    let vkey = lumen::domain::note::NoteVerifier::new("alice", key.verifying_key())
        .unwrap_or_else(|e| panic!("{e}"))
        .verifier_key();
    // A consistency proof from size 1 to size 3, checked against the file's lines.
    h.append("rollback");
    let o = h.lumen(&["ledger", "prove", "--consistency", "1", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let proof: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(
        (proof["old_size"].as_u64(), proof["size"].as_u64()),
        (Some(1), Some(3))
    );
    let leaves: Vec<String> = h.lines().iter().map(hex::encode).collect();
    let input = json!({
        "notes": [{"text": note, "vkey": vkey}],
        "consistency": {"leaves": leaves, "proofs": [proof]},
    });
    let file = h.data.join("input.json");
    std::fs::write(&file, input.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/c2sp_check.py"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_eq!(verdict["notes"][0]["ok"], true, "{verdict}");
    assert_eq!(
        verdict["consistency"][0],
        json!({"verifies": true, "matches_definition": true}),
        "{verdict}"
    );
}

#[test]
fn a_deleted_checkpoint_line_fails_verify() {
    let h = Hq::new();
    for _ in 0..3 {
        h.append("deploy");
        checkpoint(&h, &h.key);
    }
    let lines = cp_lines(&h);
    let kept = [lines[0].clone(), lines[2].clone()];
    std::fs::write(cp_path(&h), format!("{}\n", kept.join("\n"))).unwrap_or_else(|e| panic!("{e}"));
    let (code, text) = h.verify_text(&["--no-witness"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("checkpoints.jsonl:2: prev does not match the checkpoint line before it"),
        "{text}"
    );
    // Deleting the first one is caught the same way.
    std::fs::write(cp_path(&h), format!("{}\n", lines[1..].join("\n")))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, _) = h.verify_text(&["--no-witness"]);
    assert_eq!(code, 1);
}

#[test]
fn the_witness_catches_a_tail_cut_together_with_its_checkpoint() {
    let h = Hq::new();
    h.append("deploy");
    checkpoint(&h, &h.key);
    h.append("deploy");
    h.append("rollback");
    checkpoint(&h, &h.key);
    let (code, v) = h.verify(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["witness"]["updated"], 3, "{v}");
    // Cut the last two entries and the checkpoint that covered them.
    let lines = h.lines();
    h.set_lines(&lines[..1]);
    let cps = cp_lines(&h);
    std::fs::write(cp_path(&h), format!("{}\n", cps[0])).unwrap_or_else(|e| panic!("{e}"));
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(code, 0, "without the witness the cut is invisible: {v}");
    let (code, text) = h.verify_text(&[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("the local witness (it verified size 3")
            && text.contains("history truncated"),
        "{text}"
    );
    let (_, v) = h.verify(&[]);
    assert_eq!(v["witness"]["ok"], false);
    assert_eq!(v["witness"]["size"], 3);
    assert!(v["witness"]["seen"].is_string());
}

#[test]
fn the_witness_catches_a_full_re_sign_under_an_added_key() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.append("deploy");
    checkpoint(&h, &h.key);
    let (code, _) = h.verify(&[]);
    assert_eq!(code, 0);
    // The attacker adds a key, rewrites history from scratch and re-checkpoints.
    let mallory = h.root.join("../mallory.pem");
    let entry = keygen(&mallory, "mallory", "hq_admin");
    let mut keys = h.keys();
    if let Some(s) = keys["signers"].as_array_mut() {
        s.push(entry);
    }
    h.write_keys(&keys);
    std::fs::write(h.ledger(), b"").unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(cp_path(&h)).unwrap_or_else(|e| panic!("{e}"));
    h.outside("TXN-20260118-009");
    let o = h.append_with(&mallory, "deploy");
    assert!(o.status.success());
    checkpoint(&h, &mallory);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(code, 0, "self-consistent forgery: {v}");
    let (code, text) = h.verify_text(&[]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("the local witness (it verified size 2")
            && text.contains("history rewritten"),
        "{text}"
    );
}

#[test]
fn verify_checkpoint_proves_the_ledger_extends_an_auditors_note() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.append("deploy");
    checkpoint(&h, &h.key);
    let old = h.data.join("old.note");
    std::fs::copy(h.root.join("hq/ledger/checkpoint"), &old).unwrap_or_else(|e| panic!("{e}"));
    let old_arg = old.to_str().unwrap_or_default().to_string();
    h.append("rollback");
    checkpoint(&h, &h.key);
    let (code, v) = h.verify(&["--no-witness", "--checkpoint", &old_arg]);
    assert_eq!((code, &v["notes"]), (0, &json!({"ok": 1, "bad": 0})), "{v}");

    // History before the note rewritten (an unsigned line edited, checkpoints redone).
    let mut lines = h.lines();
    lines[0] = lines[0].replacen("\"ci\"", "\"cj\"", 1);
    h.set_lines(&lines);
    let (code, text) = h.verify_text(&["--no-witness", "--checkpoint", &old_arg]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("checkpoint note") && text.contains("history rewritten"),
        "{text}"
    );

    // A malformed note: file, line and column, and everything else still reported.
    let bad = h.data.join("bad.note");
    std::fs::write(&bad, "lumen.local/acme\nten\nAAAA\n\n\u{2014} alice AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, text) = h.verify_text(&[
        "--no-witness",
        "--checkpoint",
        bad.to_str().unwrap_or_default(),
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("bad.note:2:1:"), "{text}");
    assert!(text.contains("signatures: 2 ok"), "{text}");
    // A note file that is not there: exit 2.
    let missing = h.data.join("missing.note");
    let (code, _) = h.verify_text(&["--checkpoint", missing.to_str().unwrap_or_default()]);
    assert_eq!(code, 2);
}
