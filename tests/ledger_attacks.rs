//! The ledger played as an attacker with write access to the files would: replayed and
//! moved signed lines, bytes inserted or deleted before a signed line, reused ids,
//! writes by roles without W on the ledger, rotated and revoked keys. Every test runs
//! the real binary; each fails on a ledger that only chains `prev`.

mod ledger_common;

use ledger_common::{Hq, keygen};
use serde_json::{Value, json};

#[test]
fn an_honest_ledger_with_outside_writers_verifies() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    let a = h.append("deploy");
    h.outside("TXN-20260118-002");
    let b = h.append("rollback");
    assert_ne!(a["id"], b["id"], "Lumen's ids are unique");
    let lines = h.lines();
    let signed: Value = serde_json::from_str(&lines[1]).unwrap_or_default();
    assert_eq!(signed["offset"], json!(lines[0].len() + 1));
    let (code, v) = h.verify(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["offsets"], json!({"ok": 2, "bad": 0}));
    assert_eq!(v["legacy"], 0);
}

#[test]
fn replay_of_an_unsigned_and_signed_pair_fails() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.append("kill_switch_activated");
    let mut lines = h.lines();
    // Copy the pair: `prev` of the copied signed line matches the copied unsigned line.
    let pair = lines.clone();
    lines.extend(pair);
    h.set_lines(&lines);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    assert_eq!(v["chain"]["broken"], 0, "the copy chains perfectly: {v}");
    assert_eq!(v["offsets"]["bad"], 1, "{v}");
    assert_eq!(v["duplicate_signed_ids"], 1, "{v}");
    let (_, text) = h.verify_text(&["--no-witness"]);
    assert!(
        text.contains("FAIL: line 4: signed for offset") && text.contains("moved or replayed"),
        "{text}"
    );
}

#[test]
fn bytes_inserted_or_deleted_before_a_signed_line_fail() {
    let h = Hq::new();
    h.outside("TXN-20260118-001");
    h.outside("TXN-20260118-002");
    h.append("deploy");
    let lines = h.lines();
    // Insert a line at the start: the signed line's `prev` still matches (its
    // predecessor is untouched) but it no longer stands at its offset.
    let mut inserted = vec![
        r#"{"id":"X","branch":"b","event":"e","timestamp":"2026-01-01T00:00:00Z"}"#.to_string(),
    ];
    inserted.extend(lines.clone());
    h.set_lines(&inserted);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(
        (code, &v["chain"]["broken"], &v["offsets"]["bad"]),
        (1, &json!(0), &json!(1)),
        "{v}"
    );
    // Delete the first line instead.
    h.set_lines(&lines[1..]);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(
        (code, &v["chain"]["broken"], &v["offsets"]["bad"]),
        (1, &json!(0), &json!(1)),
        "{v}"
    );
    // One byte more inside the first line (still valid JSON).
    let mut widened = lines.clone();
    widened[0] = widened[0].replacen("\"ci\"", "\"ci \"", 1);
    h.set_lines(&widened);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!((code, &v["offsets"]["bad"]), (1, &json!(1)), "{v}");
}

#[test]
fn a_signed_id_used_twice_fails_and_prove_names_both_lines() {
    let h = Hq::new();
    let first = h.append("kill_switch_activated");
    let id = first["id"].as_str().unwrap_or_default().to_string();
    // An outside line planting the same id: a warning for verify, ambiguous for prove.
    h.outside(&id);
    let o = h.lumen(&["ledger", "prove", "--id", &id, "--json"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not unique") && err.contains("lines 1, 2") && err.contains("--index"),
        "{err}"
    );
    let o = h.lumen(&["ledger", "prove", "--index", "0", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let p: Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(p["id"], json!(id));

    // A second signed line with the same id, at its right offset and chained: only
    // the key holder can make it, and verify still refuses it.
    let key = lumen::store::keyfile::load_key_file(&h.key).unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(h.ledger()).unwrap_or_default();
    let last = h.lines().pop().unwrap_or_default();
    let prev = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(last.as_bytes()));
    let unsigned = format!(
        r#"{{"id":"{id}","branch":"koosy","event":"kill_switch_released","actor":"operator","timestamp":"2026-12-07T00:00:00Z","offset":{},"prev":"{prev}","signer":"alice"}}"#,
        bytes.len()
    );
    let line = lumen::domain::signing::sign_line(&key, &unsigned).unwrap_or_default();
    let mut lines = h.lines();
    lines.push(line);
    h.set_lines(&lines);
    let (code, v) = h.verify(&["--no-witness"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["signatures"]["bad"], 0, "{v}");
    assert_eq!(v["offsets"]["bad"], 0, "{v}");
    assert_eq!(v["duplicate_signed_ids"], 1, "{v}");
}

#[test]
fn a_branch_owner_key_can_neither_append_nor_checkpoint() {
    let h = Hq::new();
    h.append("deploy");
    let owner = h.root.join("../owner.pem");
    let entry = keygen(&owner, "bob", "branch_owner");
    let mut keys = h.keys();
    if let Some(s) = keys["signers"].as_array_mut() {
        s.push(entry);
    }
    h.write_keys(&keys);
    let before = std::fs::read(h.ledger()).unwrap_or_default();
    let o = h.append_with(&owner, "deploy");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("W on ledger") && err.contains("branch_owner"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(h.ledger()).unwrap_or_default(),
        before,
        "nothing appended"
    );
    let o = h.lumen(&[
        "ledger",
        "checkpoint",
        "--key",
        owner.to_str().unwrap_or_default(),
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!h.root.join("hq/ledger/checkpoints.jsonl").exists());
    assert!(!h.root.join("hq/ledger/checkpoint").exists());
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[test]
fn key_rotation_keeps_old_entries_and_refuses_the_expired_key() {
    let h = Hq::new();
    h.append("deploy");
    // Rotate: the old key ends now, a new key for the same id starts now.
    let cut = rfc3339(chrono::Utc::now());
    let new_key = h.root.join("../alice-2.pem");
    let mut new_entry = keygen(&new_key, "alice", "hq_admin");
    new_entry["notBefore"] = json!(cut);
    let mut keys = h.keys();
    keys["signers"][0]["notAfter"] = json!(cut);
    if let Some(s) = keys["signers"].as_array_mut() {
        s.push(new_entry);
    }
    h.write_keys(&keys);
    // Make sure "now" is past the cut for the next appends.
    std::thread::sleep(std::time::Duration::from_millis(5));
    h.append_with(&new_key, "rollback");
    let o = h.append_with(&h.key, "deploy");
    assert_eq!(
        o.status.code(),
        Some(1),
        "the expired key signs nothing new"
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("expired"));
    let (code, v) = h.verify(&[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["signatures"], json!({"ok": 2, "bad": 0}));
    // doctor shows each key's state.
    std::fs::write(
        h.root.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"koosy","repo":"x/koosy","domain":"koosy.example","visibility":"public"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = h.lumen(&["doctor"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("signer alice (hq_admin): key expired"),
        "{out}"
    );
    assert!(out.contains("signer alice (hq_admin): key valid"), "{out}");
}

#[test]
fn signatures_after_revocation_or_outside_the_window_fail() {
    let h = Hq::new();
    h.append("deploy");
    let mut keys = h.keys();
    keys["signers"][0]["revoked"] = json!("2000-01-01T00:00:00Z");
    h.write_keys(&keys);
    let (code, text) = h.verify_text(&["--no-witness"]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("revoked 2000-01-01T00:00:00Z"), "{text}");
    let o = h.append_with(&h.key, "deploy");
    assert_eq!(o.status.code(), Some(1), "a revoked key signs nothing");

    keys["signers"][0]
        .as_object_mut()
        .map(|o| o.remove("revoked"));
    keys["signers"][0]["notBefore"] = json!("2999-01-01T00:00:00Z");
    h.write_keys(&keys);
    let (code, text) = h.verify_text(&["--no-witness"]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("not valid before 2999-01-01T00:00:00Z"),
        "{text}"
    );
}

#[test]
fn a_bad_date_in_keys_json_names_the_line_and_the_rest_still_verifies() {
    let h = Hq::new();
    h.append("deploy");
    let mut keys = h.keys();
    let mut broken = keys["signers"][0].clone();
    broken["id"] = json!("carol");
    broken["notAfter"] = json!("next tuesday");
    if let Some(s) = keys["signers"].as_array_mut() {
        s.push(broken);
    }
    let text = serde_json::to_string_pretty(&keys).unwrap_or_default();
    std::fs::write(h.keys_path(), &text).unwrap_or_else(|e| panic!("{e}"));
    let line = text
        .lines()
        .position(|l| l.contains("next tuesday"))
        .map_or(0, |i| i + 1);
    let (code, out) = h.verify_text(&["--no-witness"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("keys.json:{line}:")), "{out}");
    assert!(
        out.contains("signatures: 1 ok, 0 bad"),
        "alice still verifies: {out}"
    );
}
