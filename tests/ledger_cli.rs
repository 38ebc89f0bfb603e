//! `lumen keygen` and `lumen ledger …` end to end: key permissions, signed appends
//! from many processes at once, a writer killed mid-line, tamper detection, proofs.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

fn lumen() -> Command {
    common::bin::lumen()
}

fn run(args: &[&str]) -> Output {
    lumen()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run lumen: {e}"))
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: PathBuf,
}

impl Hq {
    fn ledger(&self) -> PathBuf {
        self.root.join("hq/ledger/ledger.jsonl")
    }
    fn arg(&self) -> String {
        self.root.display().to_string()
    }
    fn key_arg(&self) -> String {
        self.key.display().to_string()
    }
    fn verify(&self) -> (i32, serde_json::Value) {
        let o = run(&["ledger", "verify", "--hq", &self.arg(), "--json"]);
        let v = serde_json::from_slice(&o.stdout)
            .unwrap_or_else(|e| panic!("verify output {}: {e}", text(&o)));
        (o.status.code().unwrap_or(-1), v)
    }
    fn append(&self, extra: &[&str]) -> Output {
        let mut args = vec![
            "ledger",
            "append",
            "--hq",
            &self.root.to_str().unwrap_or_default(),
        ];
        let key = self.key_arg();
        args.extend(["--key", &key]);
        args.extend(extra);
        lumen()
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A fresh HQ root with one registered signer `alice`.
fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    let key = root.join("alice.pem");
    let o = run(&[
        "keygen",
        "--out",
        key.to_str().unwrap_or_default(),
        "--id",
        "alice",
    ]);
    assert!(
        o.status.success(),
        "keygen failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let entry: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entry["id"], "alice");
    assert_eq!(entry["role"], "hq_admin");
    let keys = serde_json::json!({ "signers": [entry] });
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    Hq {
        _dir: dir,
        root,
        key,
    }
}

fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or(0)
}

#[test]
fn keygen_writes_0600_pkcs8_and_refuses_to_overwrite() {
    let h = hq();
    assert_eq!(mode(&h.key), 0o600);
    let pem = std::fs::read_to_string(&h.key).unwrap_or_default();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    let before = pem.clone();
    let o = run(&["keygen", "--out", &h.key_arg()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&h.key).unwrap_or_default(), before);
}

#[test]
fn loose_or_unknown_keys_are_refused_with_exit_1() {
    use std::os::unix::fs::PermissionsExt;
    let h = hq();
    std::fs::set_permissions(&h.key, std::fs::Permissions::from_mode(0o640))
        .unwrap_or_else(|e| panic!("{e}"));
    let o = h.append(&["--event", "deploy", "--branch", "koosy"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("group or others"));
    std::fs::set_permissions(&h.key, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));

    let stranger = h.root.join("stranger.pem");
    assert!(
        run(&["keygen", "--out", stranger.to_str().unwrap_or_default()])
            .status
            .success()
    );
    let o = run(&[
        "ledger",
        "append",
        "--hq",
        &h.arg(),
        "--key",
        stranger.to_str().unwrap_or_default(),
        "--event",
        "deploy",
        "--branch",
        "koosy",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not in hq/registry/keys.json"));
    assert!(!h.ledger().exists(), "a refused append wrote something");
}

#[test]
fn append_writes_the_spec_member_order_and_line_numbers() {
    let h = hq();
    let o = h.append(&[
        "--event", "rollback", "--branch", "koosy", "--status", "ok", "--target", "TXN-1",
        "--tokens", "5", "--field", "note=hi",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let line = text(&o).trim_end().to_string();
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}"));
    let keys: Vec<&str> = v.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "id",
            "branch",
            "event",
            "status",
            "actor",
            "timestamp",
            "target",
            "tokens",
            "note",
            "offset",
            "prev",
            "signer",
            "sig"
        ]
    );
    assert_eq!(v["offset"], 0);
    assert_eq!(v["prev"], "0".repeat(64));
    assert!(v["id"].as_str().unwrap_or_default().starts_with("TXN-"));
    let o = h.append(&["--event", "deploy", "--branch", "papafly", "--json"]);
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(j["line"], 2);
    let second = std::fs::read_to_string(h.ledger()).unwrap_or_default();
    let second: serde_json::Value =
        serde_json::from_str(second.lines().nth(1).unwrap_or_default()).unwrap_or_default();
    assert_eq!(second["prev"], hex::encode(Sha256::digest(line.as_bytes())));
    assert_eq!(second["id"], j["id"]);
}

#[test]
fn eight_processes_times_200_appends_chain_perfectly() {
    let h = hq();
    // Some unsigned history first.
    std::fs::create_dir_all(h.root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        h.ledger(),
        "{\"id\":\"TXN-20260118-001\",\"branch\":\"papafly\",\"event\":\"deploy_test\",\"actor\":\"hq\",\"timestamp\":\"2026-01-18T01:02:03Z\"}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let root = h.arg();
            let key = h.key_arg();
            std::thread::spawn(move || {
                for i in 0..200 {
                    let o = lumen()
                        .args([
                            "ledger", "append", "--hq", &root, "--key", &key, "--event", "deploy",
                        ])
                        .args(["--branch", &format!("b{w}"), "--field", &format!("n={i}")])
                        .output()
                        .unwrap_or_else(|e| panic!("{e}"));
                    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                }
            })
        })
        .collect();
    for w in workers {
        w.join()
            .unwrap_or_else(|_| panic!("a writer thread panicked"));
    }
    let content = std::fs::read_to_string(h.ledger()).unwrap_or_default();
    let lines: Vec<&str> = content.lines().collect();
    assert_eq!(lines.len(), 1601);
    let mut ids = std::collections::HashSet::new();
    for pair in lines.windows(2) {
        let v: serde_json::Value = serde_json::from_str(pair[1]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["prev"], hex::encode(Sha256::digest(pair[0].as_bytes())));
        assert!(
            ids.insert(v["id"].as_str().unwrap_or_default().to_string()),
            "duplicate id"
        );
    }
    let (code, v) = h.verify();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["chain"]["ok"], 1600);
    assert_eq!(v["signatures"]["ok"], 1600);
    assert_eq!(v["unchained"], 1);
    assert_eq!(v["warnings"].as_array().map(Vec::len), Some(0), "{v}");
}

#[test]
fn a_killed_writer_leaves_a_pending_line_that_becomes_a_reject() {
    use std::io::Write;
    let h = hq();
    assert!(
        h.append(&["--event", "deploy", "--branch", "koosy"])
            .status
            .success()
    );
    let before = std::fs::read(h.ledger()).unwrap_or_default();
    // A writer dies mid-line.
    std::fs::OpenOptions::new()
        .append(true)
        .open(h.ledger())
        .and_then(|mut f| f.write_all(br#"{"id":"TXN-half","branch":"koo"#))
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, v) = h.verify();
    assert_eq!(code, 0);
    assert_eq!(v["pending"], true);
    assert_eq!(v["rejects"].as_array().map(Vec::len), Some(0));
    assert_eq!(v["lines"], 1);

    let o = h.append(&["--event", "deploy", "--branch", "papafly", "--json"]);
    assert!(o.status.success());
    let after = std::fs::read(h.ledger()).unwrap_or_default();
    assert!(after.starts_with(&before), "earlier bytes changed");
    let (code, v) = h.verify();
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["pending"], false);
    assert_eq!(v["rejects"][0]["line"], 2);
    assert_eq!(v["rejects"][0]["offset"], before.len());
    assert_eq!(
        v["chain"]["ok"], 2,
        "the chain continues over the reject: {v}"
    );
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(j["line"], 3);
}

#[test]
fn tampering_breaks_verify_and_checkpoints() {
    let h = hq();
    for b in ["koosy", "papafly", "koosy"] {
        assert!(
            h.append(&["--event", "deploy", "--branch", b])
                .status
                .success()
        );
    }
    let o = run(&[
        "ledger",
        "checkpoint",
        "--hq",
        &h.arg(),
        "--key",
        &h.key_arg(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cp: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
    assert_eq!(cp["size"], 3);
    assert!(
        h.append(&["--event", "deploy", "--branch", "x"])
            .status
            .success()
    );
    let (code, v) = h.verify();
    assert_eq!(
        (code, v["checkpoints"]["ok"].clone()),
        (0, serde_json::json!(1)),
        "{v}"
    );

    // Rewrite history: change one byte of a signed line.
    let content = std::fs::read_to_string(h.ledger()).unwrap_or_default();
    let forged = content.replacen("\"papafly\"", "\"papafli\"", 1);
    std::fs::write(h.ledger(), &forged).unwrap_or_else(|e| panic!("{e}"));
    let (code, v) = h.verify();
    assert_eq!(code, 1);
    assert_eq!(v["ok"], false);
    assert_eq!(v["signatures"]["bad"], 1);
    assert_eq!(
        v["chain"]["broken"], 1,
        "the next line's prev no longer matches"
    );
    assert_eq!(v["checkpoints"]["bad"], 1);

    // Restore; then an unknown signer.
    std::fs::write(h.ledger(), &content).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(h.verify().0, 0);
    std::fs::write(h.root.join("hq/registry/keys.json"), r#"{"signers":[]}"#)
        .unwrap_or_else(|e| panic!("{e}"));
    let (code, v) = h.verify();
    assert_eq!(code, 1);
    assert_eq!(v["signatures"]["bad"], 4);
}

#[test]
fn prove_output_verifies_independently() {
    let h = hq();
    let mut ids = Vec::new();
    for i in 0..11 {
        let o = h.append(&["--event", "deploy", "--branch", &format!("b{i}"), "--json"]);
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        ids.push(j["id"].as_str().unwrap_or_default().to_string());
    }
    let content = std::fs::read_to_string(h.ledger()).unwrap_or_default();
    let lines: Vec<&str> = content.lines().collect();
    for (i, id) in ids.iter().enumerate() {
        for size in [None, Some(i + 1), Some(7)] {
            let mut args = vec![
                "ledger",
                "prove",
                "--hq",
                &h.root.to_str().unwrap_or_default(),
                "--id",
                id,
                "--json",
            ];
            let s = size.map(|s| s.to_string()).unwrap_or_default();
            if size.is_some() {
                args.extend(["--size", &s]);
            }
            let o = lumen()
                .args(&args)
                .output()
                .unwrap_or_else(|e| panic!("{e}"));
            if size.is_some_and(|s| s <= i) {
                assert_eq!(o.status.code(), Some(1), "leaf outside the tree");
                continue;
            }
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let p: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
            let n = size.unwrap_or(lines.len());
            assert_eq!(p["index"], i);
            assert_eq!(p["size"], n);
            // Independent check: fold the path the RFC 9162 §2.1.3.2 way by hand.
            let mut r: Vec<u8> =
                Sha256::digest([&[0u8][..], lines[i].as_bytes()].concat()).to_vec();
            assert_eq!(p["leaf_hash"], hex::encode(&r));
            let (mut f, mut sn) = (i as u64, n as u64 - 1);
            for hx in p["path"].as_array().cloned().unwrap_or_default() {
                let sib = hex::decode(hx.as_str().unwrap_or_default()).unwrap_or_default();
                if f & 1 == 1 || f == sn {
                    r = Sha256::digest([&[1u8][..], &sib, &r].concat()).to_vec();
                    while f & 1 == 0 && f != 0 {
                        f >>= 1;
                        sn >>= 1;
                    }
                } else {
                    r = Sha256::digest([&[1u8][..], &r, &sib].concat()).to_vec();
                }
                f >>= 1;
                sn >>= 1;
            }
            assert_eq!(sn, 0);
            assert_eq!(p["root"], hex::encode(&r));
        }
    }
    let o = run(&["ledger", "prove", "--hq", &h.arg(), "--id", "TXN-nope"]);
    assert_eq!(o.status.code(), Some(1));
}
