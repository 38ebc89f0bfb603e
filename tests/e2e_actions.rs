//! Operator actions by keypress in the real console (pseudo-terminal): select a
//! branch, press `R`, read the plan, type the confirmation — then the hook ran with
//! the right argv in reverse sync order, the ledger got `rollback_requested` and one
//! `rollback` per branch, and `lumen ledger verify` accepts every signature and link.
//! And a read-only console refuses with the reason and appends nothing.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::pty::Pty;
use serde_json::{Value, json};

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

const DEPLOYS: &str = r#"{"id":"TXN-1","branch":"papafly","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:00:00Z"}
{"id":"TXN-2","branch":"koosy","event":"deploy","change":"CH-7","status":"success","timestamp":"2026-01-18T01:01:00Z"}
{"id":"TXN-3","branch":"seedling","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:02:00Z"}
"#;

/// An HQ root with three branches that received change CH-7, an argv-logging hook and
/// an hq_admin key. Returns (tempdir, root, key path).
fn hq() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("hq-root");
    let b = |id: &str, tier: &str| json!({"id": id, "repo": format!("x/{id}"), "domain": format!("{id}.example"), "visibility": "public", "tier": tier});
    write(
        &root.join("hq/registry/branches.json"),
        &json!({"hqVersion": "2.1", "branches": [b("seedling", "incubation"), b("koosy", "standard"), b("papafly", "canary")]})
            .to_string(),
    );
    write(
        &root.join("hq/sync/sync-plan.json"),
        r#"{"strategy":"canary","tiers":["canary","standard","incubation"],"order":["papafly","koosy","*"],"onFailure":"halt"}"#,
    );
    write(&root.join("hq/ledger/ledger.jsonl"), DEPLOYS);
    let script = root.join("hook.sh");
    write(
        &script,
        "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\" >> \"$(dirname \"$0\")/argv.log\"; done; echo >> \"$(dirname \"$0\")/argv.log\"\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    write(
        &root.join("hq/recovery/rollback-hook.json"),
        &json!({"argv": [script.display().to_string(), "--target", "{txn}", "{branch}", "{change}"], "timeout": "10s"})
            .to_string(),
    );
    let key = dir.path().join("operator.pem");
    let o = common::bin::lumen()
        .args([
            "keygen",
            "--out",
            &key.display().to_string(),
            "--id",
            "ops",
            "--role",
            "hq_admin",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    write(
        &root.join("hq/registry/keys.json"),
        &json!({"signers": [entry]}).to_string(),
    );
    (dir, root, key)
}

fn ledger(root: &Path) -> Vec<Value> {
    std::fs::read_to_string(root.join("hq/ledger/ledger.jsonl"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

#[test]
fn rollback_by_keypress_runs_the_hook_and_records_it() {
    let (dir, root, key) = hq();
    let args = [
        "--hq",
        root.to_str().unwrap_or_default(),
        "--key",
        key.to_str().unwrap_or_default(),
    ];
    let mut pty = Pty::spawn(&args, 160, 48, dir.path());
    pty.wait_for(
        "the health pane with papafly first",
        Duration::from_secs(20),
        |s| s.contains("Branch health") && s.contains("papafly"),
    );
    // papafly (canary) is the first row and selected; its latest deploy is TXN-1.
    pty.send(b"R");
    let dialog = pty.wait_for("the confirmation dialog", Duration::from_secs(10), |s| {
        s.contains("Roll back TXN-1") && s.contains("and press Enter")
    });
    assert!(
        dialog.contains("seedling") && dialog.contains("koosy"),
        "the plan names every affected branch:\n{dialog}"
    );
    pty.send(b"wrong\r");
    pty.wait_for("a refusal of the wrong text", Duration::from_secs(5), |s| {
        s.contains("exactly to confirm")
    });
    for _ in 0..5 {
        pty.send(b"\x7f");
    }
    let confirmed = std::time::Instant::now();
    pty.send(b"papafly\r");
    // Keypress → ledger: poll the file for the records (reported, not asserted: timing
    // bars belong to benchmarks, not tests).
    let has =
        |event: &str, n: usize| ledger(&root).iter().filter(|v| v["event"] == event).count() >= n;
    let mut requested_at = None;
    let mut done_at = None;
    while confirmed.elapsed() < Duration::from_secs(20) && done_at.is_none() {
        if requested_at.is_none() && has("rollback_requested", 1) {
            requested_at = Some(confirmed.elapsed());
        }
        if has("rollback", 3) {
            done_at = Some(confirmed.elapsed());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    eprintln!(
        "enter → rollback_requested: {requested_at:?}; enter → third `rollback` entry: {done_at:?}"
    );
    pty.wait_for("the result", Duration::from_secs(20), |s| {
        s.contains("rollback of TXN-1 done")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);

    let argv = std::fs::read_to_string(root.join("argv.log")).unwrap_or_default();
    assert_eq!(
        argv,
        "[--target][TXN-1][seedling][CH-7]\n[--target][TXN-1][koosy][CH-7]\n[--target][TXN-1][papafly][CH-7]\n",
        "hook argv, reverse sync order"
    );
    let lines = ledger(&root);
    let requested: Vec<&Value> = lines
        .iter()
        .filter(|v| v["event"] == "rollback_requested")
        .collect();
    let rollbacks: Vec<&Value> = lines.iter().filter(|v| v["event"] == "rollback").collect();
    assert_eq!(requested.len(), 1);
    assert_eq!(rollbacks.len(), 3);
    assert!(
        rollbacks
            .iter()
            .all(|r| r["target"] == "TXN-1" && r["status"] == "success" && r["exit_code"] == 0)
    );
    let pos = |v: &Value| lines.iter().position(|x| x == v);
    assert!(
        pos(requested[0]) < pos(rollbacks[0]),
        "requested is recorded before anything runs"
    );
    let o = common::bin::lumen()
        .args([
            "ledger",
            "verify",
            "--json",
            "--hq",
            root.to_str().unwrap_or_default(),
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["signatures"]["ok"], 4, "{v}");
}

#[test]
fn readonly_console_refuses_and_appends_nothing() {
    let (dir, root, key) = hq();
    let before = std::fs::read(root.join("hq/ledger/ledger.jsonl")).unwrap_or_default();
    let args = [
        "--hq",
        root.to_str().unwrap_or_default(),
        "--key",
        key.to_str().unwrap_or_default(),
        "--readonly",
    ];
    let mut pty = Pty::spawn(&args, 160, 48, dir.path());
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("READ-ONLY") && s.contains("papafly")
    });
    pty.send(b"R");
    pty.wait_for("the refusal with its reason", Duration::from_secs(5), |s| {
        s.contains("unavailable") && s.contains("--readonly")
    });
    pty.send(b"K");
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    assert_eq!(
        std::fs::read(root.join("hq/ledger/ledger.jsonl")).unwrap_or_default(),
        before
    );
    assert!(!root.join("argv.log").exists(), "no hook ran");
}
