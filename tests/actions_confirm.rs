//! The typed confirmation of the headless actions, in a real pseudo-terminal: a
//! wrong id refuses and writes nothing; the TXN id or the branch id confirms.

mod common;

use common::pty;

use std::path::Path;
use std::time::Duration;

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn lines(root: &Path) -> usize {
    std::fs::read_to_string(root.join("hq/ledger/ledger.jsonl"))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn typed_confirmation_in_a_terminal() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    write(
        &root.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"papafly","repo":"x/p","domain":"p.example","visibility":"public","tier":"canary"}]}"#,
    );
    write(
        &root.join("hq/ledger/ledger.jsonl"),
        "{\"id\":\"TXN-1\",\"branch\":\"papafly\",\"event\":\"deploy\",\"timestamp\":\"2026-01-18T01:00:00Z\"}\n",
    );
    let key = root.join("op.pem");
    let o = common::bin::lumen()
        .env("XDG_DATA_HOME", root.join("data"))
        .args(["keygen", "--out", &key.display().to_string(), "--id", "op"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success());
    let entry = String::from_utf8_lossy(&o.stdout).trim().to_string();
    write(
        &root.join("hq/registry/keys.json"),
        &format!(r#"{{"signers":[{entry}]}}"#),
    );
    let (hq, key) = (root.display().to_string(), key.display().to_string());
    let args = ["rollback", "--target", "TXN-1", "--hq", &hq, "--key", &key];

    let mut p = pty::Pty::spawn(&args, 120, 30, root);
    p.wait_for("the prompt", Duration::from_secs(20), |s| {
        s.contains("Type `TXN-1` or `papafly` to confirm")
    });
    p.send(b"TXN-2\r");
    let code = p.wait_exit(Duration::from_secs(20));
    assert_eq!(code, 1, "{}", p.screen());
    assert!(
        p.screen().contains("confirmation did not match"),
        "{}",
        p.screen()
    );
    assert_eq!(
        lines(root),
        1,
        "nothing appended after a wrong confirmation"
    );

    for (typed, total) in [("TXN-1", 3), ("papafly", 5)] {
        let mut p = pty::Pty::spawn(&args, 120, 30, root);
        p.wait_for("the prompt", Duration::from_secs(20), |s| {
            s.contains("to confirm")
        });
        p.send(format!("{typed}\r").as_bytes());
        let code = p.wait_exit(Duration::from_secs(20));
        assert_eq!(code, 0, "{}", p.screen());
        assert!(p.screen().contains("rollback complete"), "{}", p.screen());
        assert_eq!(lines(root), total);
    }
}
