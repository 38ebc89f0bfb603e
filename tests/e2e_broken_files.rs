//! Broken files in the real console (pseudo-terminal): a file that fails to load is a
//! standing notice naming `file:line:col`; an action that depends on it is refused —
//! at the key when the console already knows, or by the executor when the file broke
//! after the confirmation dialog opened — and nothing is appended to the ledger and
//! no hook runs. A broken rules.json does not stop the kill switch, and the failure to
//! notify is shown.

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
    // Temp file + rename: the watcher never sees a half-written file.
    let tmp = path.with_extension("tmp-test");
    std::fs::write(&tmp, text).unwrap_or_else(|e| panic!("{}: {e}", tmp.display()));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

const DEPLOYS: &str = r#"{"id":"TXN-1","branch":"papafly","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:00:00Z"}
{"id":"TXN-2","branch":"koosy","event":"deploy","change":"CH-7","status":"success","timestamp":"2026-01-18T01:01:00Z"}
"#;

struct Hq {
    dir: tempfile::TempDir,
    root: PathBuf,
    key: PathBuf,
}

impl Hq {
    fn new() -> Hq {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().join("hq-root");
        let b = |id: &str, tier: &str| json!({"id": id, "repo": format!("x/{id}"), "domain": format!("{id}.example"), "visibility": "public", "tier": tier});
        write(
            &root.join("hq/registry/branches.json"),
            &json!({"hqVersion": "2.1", "branches": [b("koosy", "standard"), b("papafly", "canary")]})
                .to_string(),
        );
        write(
            &root.join("hq/registry/decision-engine.json"),
            r#"{"killSwitch":false,"maintenanceMode":{}}"#,
        );
        write(&root.join("hq/ledger/ledger.jsonl"), DEPLOYS);
        let script = root.join("hook.sh");
        write(
            &script,
            "#!/bin/sh\necho \"$@\" >> \"$(dirname \"$0\")/argv.log\"\n",
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        let key = dir.path().join("operator.pem");
        let o = common::bin::lumen()
            .args(["keygen", "--out", &key.display().to_string()])
            .args(["--id", "ops", "--role", "hq_admin"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
        write(
            &root.join("hq/registry/keys.json"),
            &json!({"signers": [entry]}).to_string(),
        );
        let hq = Hq { dir, root, key };
        hq.hook("\"10s\"");
        hq
    }
    /// rollback-hook.json with `timeout` written as given (raw JSON).
    fn hook(&self, timeout: &str) {
        let script = self.root.join("hook.sh");
        write(
            &self.root.join("hq/recovery/rollback-hook.json"),
            &format!(
                "{{\"argv\": [{}, \"{{txn}}\", \"{{branch}}\"],\n \"timeout\": {timeout}\n}}",
                json!(script.display().to_string())
            ),
        );
    }
    fn ledger(&self) -> Vec<u8> {
        std::fs::read(self.root.join("hq/ledger/ledger.jsonl")).unwrap_or_default()
    }
    fn console(&self) -> Pty {
        let args = [
            "--hq",
            self.root.to_str().unwrap_or_default(),
            "--key",
            self.key.to_str().unwrap_or_default(),
        ];
        let pty = Pty::spawn(&args, 160, 48, self.dir.path());
        pty.wait_for("the console", Duration::from_secs(20), |s| {
            s.contains("Branch health") && s.contains("papafly")
        });
        pty
    }
    fn hook_ran(&self) -> bool {
        self.root.join("argv.log").exists()
    }
}

fn quit(mut pty: Pty) {
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn a_broken_hook_is_a_standing_notice_and_refuses_the_rollback_at_the_key() {
    let hq = Hq::new();
    // A trailing comma: the console starts with the file broken.
    write(
        &hq.root.join("hq/recovery/rollback-hook.json"),
        "{\"argv\": [\"/bin/true\"],\n \"timeout\": \"10s\",\n}",
    );
    let before = hq.ledger();
    let mut pty = hq.console();
    pty.wait_for("the standing notice", Duration::from_secs(10), |s| {
        s.contains("✗ hq/recovery/rollback-hook.json:3:1: trailing comma")
    });
    pty.send(b"R");
    pty.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("refused") && s.contains("rollback-hook.json:3:1")
    });
    assert!(
        !pty.screen().contains("and press Enter"),
        "no confirmation dialog for a refused rollback"
    );
    // Fixed: the notice goes away.
    hq.hook("\"10s\"");
    pty.wait_for("the notice cleared", Duration::from_secs(10), |s| {
        !s.contains("✗ hq/recovery/rollback-hook.json")
    });
    quit(pty);
    assert_eq!(hq.ledger(), before, "nothing was appended");
    assert!(!hq.hook_ran());
}

#[test]
fn a_hook_broken_after_the_dialog_opened_refuses_the_rollback() {
    let hq = Hq::new();
    let before = hq.ledger();
    let mut pty = hq.console();
    pty.send(b"R");
    pty.wait_for("the confirmation dialog", Duration::from_secs(10), |s| {
        s.contains("Roll back TXN-1") && s.contains("and press Enter")
    });
    // Zero timeout: invalid by the schema.
    hq.hook("\"0s\"");
    pty.wait_for("the standing notice", Duration::from_secs(10), |s| {
        s.contains("✗ hq/recovery/rollback-hook.json:2:13: timeout is zero")
    });
    pty.send(b"papafly\r");
    pty.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("rollback refused: hq/recovery/rollback-hook.json:2:13")
    });
    quit(pty);
    assert_eq!(hq.ledger(), before, "nothing was appended");
    assert!(!hq.hook_ran());
}

#[test]
fn a_decision_engine_broken_after_the_dialog_opened_refuses_the_kill_switch() {
    let hq = Hq::new();
    let before = hq.ledger();
    let de = hq.root.join("hq/registry/decision-engine.json");
    let mut pty = hq.console();
    pty.send(b"K");
    pty.wait_for("the confirmation dialog", Duration::from_secs(10), |s| {
        s.contains("Kill switch on") && s.contains("Type hq")
    });
    write(&de, "{\"killSwitch\":false,}");
    pty.wait_for("the standing notice", Duration::from_secs(10), |s| {
        s.contains("✗ hq/registry/decision-engine.json:1:21: trailing comma")
    });
    pty.send(b"hq\r");
    pty.wait_for("the refusal", Duration::from_secs(10), |s| {
        s.contains("kill switch refused: hq/registry/decision-engine.json:1:21")
    });
    quit(pty);
    assert_eq!(hq.ledger(), before, "nothing was appended");
    assert_eq!(
        std::fs::read_to_string(&de).unwrap_or_default(),
        "{\"killSwitch\":false,}",
        "the broken file was not rewritten"
    );
}

#[test]
fn a_broken_rules_json_does_not_stop_the_kill_switch_and_is_shown() {
    let hq = Hq::new();
    write(
        &hq.root.join("hq/notifications/rules.json"),
        "{\"kill_switch_activated\":[\"slack:ops\"],}",
    );
    let mut pty = hq.console();
    pty.wait_for("the standing notice", Duration::from_secs(10), |s| {
        s.contains("✗ hq/notifications/rules.json:1:40: trailing comma")
    });
    pty.send(b"K");
    pty.wait_for("the confirmation dialog", Duration::from_secs(10), |s| {
        s.contains("Type hq")
    });
    pty.send(b"hq\r");
    pty.wait_for("the notification failure", Duration::from_secs(10), |s| {
        s.contains("notifications could not be routed: hq/notifications/rules.json:1:40")
    });
    quit(pty);
    let ledger = String::from_utf8_lossy(&hq.ledger()).into_owned();
    assert!(ledger.contains("kill_switch_activated"), "{ledger}");
    let de: Value = serde_json::from_str(
        &std::fs::read_to_string(hq.root.join("hq/registry/decision-engine.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(de["killSwitch"], true);
}
