//! Shared by the ledger attack tests: a temporary HQ root with signer `alice`, its own
//! data directory (the local witness lives there), and the real binary.
#![allow(dead_code)]

#[path = "../common/bin.rs"]
mod bin;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::{Value, json};

pub struct Hq {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    /// The user's data directory for these runs (the local witness lives there).
    pub data: PathBuf,
    pub key: PathBuf,
}

pub fn keygen(out: &Path, id: &str, role: &str) -> Value {
    let o = bin::lumen()
        .args([
            "keygen",
            "--out",
            out.to_str().unwrap_or_default(),
            "--id",
            id,
            "--role",
            role,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"))
}

impl Hq {
    pub fn new() -> Hq {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("acme");
        let data = dir.path().join("data");
        std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("alice.pem");
        let entry = keygen(&key, "alice", "hq_admin");
        let h = Hq {
            _dir: dir,
            root,
            data,
            key,
        };
        h.write_keys(&json!({ "signers": [entry] }));
        std::fs::write(h.ledger(), b"").unwrap_or_else(|e| panic!("{e}"));
        h
    }
    pub fn ledger(&self) -> PathBuf {
        self.root.join("hq/ledger/ledger.jsonl")
    }
    pub fn keys_path(&self) -> PathBuf {
        self.root.join("hq/registry/keys.json")
    }
    pub fn write_keys(&self, v: &Value) {
        std::fs::write(self.keys_path(), v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    }
    pub fn keys(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.keys_path()).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn lumen(&self, args: &[&str]) -> Output {
        bin::lumen()
            .env("XDG_DATA_HOME", &self.data)
            .env("HOME", &self.data)
            .args(args)
            .arg("--hq")
            .arg(&self.root)
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn append_with(&self, key: &Path, event: &str) -> Output {
        self.lumen(&[
            "ledger",
            "append",
            "--key",
            key.to_str().unwrap_or_default(),
            "--event",
            event,
            "--branch",
            "koosy",
            "--json",
        ])
    }
    pub fn append(&self, event: &str) -> Value {
        let o = self.append_with(&self.key, event);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"))
    }
    pub fn outside(&self, id: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.ledger())
            .unwrap_or_else(|e| panic!("{e}"));
        writeln!(
            f,
            r#"{{"id":"{id}","branch":"koosy","event":"deploy","actor":"ci","timestamp":"2026-01-18T01:02:03Z"}}"#
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }
    pub fn lines(&self) -> Vec<String> {
        String::from_utf8(std::fs::read(self.ledger()).unwrap_or_default())
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
    pub fn set_lines(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(self.ledger(), text).unwrap_or_else(|e| panic!("{e}"));
    }
    /// `ledger verify --json`: (exit code, report, text of stdout+stderr).
    pub fn verify(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["ledger", "verify", "--json"];
        args.extend(extra);
        let o = self.lumen(&args);
        let v = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "verify output {:?} {:?}: {e}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        (o.status.code().unwrap_or(-1), v)
    }
    pub fn verify_text(&self, extra: &[&str]) -> (i32, String) {
        let mut args = vec!["ledger", "verify"];
        args.extend(extra);
        let o = self.lumen(&args);
        (
            o.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    }
}
