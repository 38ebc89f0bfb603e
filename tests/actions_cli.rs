//! Operator actions end to end through the real binary: rollback (propagated change,
//! argv as whole elements, failure and timeout halt), refusals that append nothing and
//! run no hook, kill switch and maintenance preserving decision-engine.json, crash
//! detection, rule rollback, and webhook notifications whose URL never leaks.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

fn lumen(hq: &Hq) -> Command {
    let mut c = common::bin::lumen();
    // Logs go under the test's own data dir so the test can read them.
    c.env("XDG_DATA_HOME", hq.root.join("xdg-data"))
        .env("HOME", hq.root.join("home"))
        .stdin(std::process::Stdio::null());
    c
}

fn out_text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

impl Hq {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn arg(&self) -> String {
        self.root.display().to_string()
    }
    fn ledger_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.p("hq/ledger/ledger.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }
    fn ledger_bytes(&self) -> Vec<u8> {
        std::fs::read(self.p("hq/ledger/ledger.jsonl")).unwrap_or_default()
    }
    /// `lumen keygen` a key for `id`/`role`, registered in keys.json unless `register` is false.
    fn key(&self, id: &str, role: &str, register: bool) -> String {
        let path = self.p(&format!("{id}.pem"));
        let o = lumen(self)
            .args([
                "keygen",
                "--out",
                &path.display().to_string(),
                "--id",
                id,
                "--role",
                role,
            ])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", out_text(&o));
        if register {
            let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
            let kp = self.p("hq/registry/keys.json");
            let mut keys: Value = serde_json::from_str(
                &std::fs::read_to_string(&kp).unwrap_or_else(|_| r#"{"signers":[]}"#.into()),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            if let Some(a) = keys["signers"].as_array_mut() {
                a.push(entry);
            }
            write(&kp, &keys.to_string());
        }
        path.display().to_string()
    }
    fn run(&self, args: &[&str]) -> Output {
        lumen(self)
            .args(args)
            .args(["--hq", &self.arg()])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }
    fn verify_ok(&self) {
        let o = self.run(&["ledger", "verify", "--json"]);
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["signatures"]["bad"], 0, "{v}");
        assert_eq!(v["chain"]["broken"], 0, "{v}");
    }
    fn hook(&self, script_body: &str, timeout: &str) {
        let script = self.p("hook.sh");
        write(&script, &format!("#!/bin/sh\n{script_body}\n"));
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        write(
            &self.p("hq/recovery/rollback-hook.json"),
            &json!({
                "argv": [script.display().to_string(), "--target", "{txn}", "{branch}", "{change}"],
                "timeout": timeout,
            })
            .to_string(),
        );
    }
    fn argv_log(&self) -> String {
        std::fs::read_to_string(self.p("argv.log")).unwrap_or_default()
    }
}

const DEPLOYS: &str = r#"{"id":"TXN-1","branch":"papafly","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:00:00Z"}
{"id":"TXN-2","branch":"koosy","event":"deploy","change":"CH-7","status":"success","timestamp":"2026-01-18T01:01:00Z"}
{"id":"TXN-3","branch":"seedling","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:02:00Z"}
{"id":"TXN-4","branch":"alpha","event":"deploy","change":"CH-8","timestamp":"2026-01-18T01:03:00Z"}
{"id":"TXN-5","branch":"a b;c","event":"deploy","change":"CH-9","timestamp":"2026-01-18T01:04:00Z"}
{"id":"TXN-6","branch":"koosy","event":"llm_generate","tokens":5,"timestamp":"2026-01-18T01:05:00Z"}
"#;

fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().to_path_buf();
    let b = |id: &str, tier: &str| json!({"id": id, "repo": format!("x/{id}"), "domain": format!("{id}.example"), "visibility": "public", "tier": tier});
    let mut papafly = b("papafly", "canary");
    papafly["health"] = json!("http://127.0.0.1:9/health");
    write(
        &root.join("hq/registry/branches.json"),
        &json!({"hqVersion": "2.1", "branches": [
            b("seedling", "incubation"), b("koosy", "standard"), b("alpha", "standard"), papafly
        ]})
        .to_string(),
    );
    write(
        &root.join("hq/sync/sync-plan.json"),
        r#"{"strategy":"canary","tiers":["canary","standard","incubation"],"order":["papafly","koosy","*"],"onFailure":"halt"}"#,
    );
    write(
        &root.join("hq/registry/decision-engine.json"),
        r#"{"killSwitch":false,"maintenanceMode":{"seedling":true},"modes":{"deploy":"canary"},"fallbackChain":["claude","gpt"],"escalation":{"deployFailure":["retry","rollback","hq_admin"]},"x-custom":{"keep":[1,2,{"deep":null}]}}"#,
    );
    write(&root.join("hq/ledger/ledger.jsonl"), DEPLOYS);
    write(&root.join("hq/registry/keys.json"), r#"{"signers":[]}"#);
    Hq { _dir: dir, root }
}

const LOG_ARGV: &str = r#"for a in "$@"; do printf '[%s]' "$a" >> "$(dirname "$0")/argv.log"; done; echo >> "$(dirname "$0")/argv.log""#;

#[test]
fn rollback_of_a_propagated_canary_change_runs_in_reverse_sync_order() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    hq.hook(&format!("{LOG_ARGV}\necho rolled back \"$3\""), "10s");
    let o = hq.run(&[
        "rollback", "--target", "TXN-1", "--yes", "--key", &key, "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    assert_eq!(v["branches"], json!(["papafly", "koosy", "seedling"]));
    assert_eq!(v["ok"], true);
    assert_eq!(
        hq.argv_log(),
        "[--target][TXN-1][seedling][CH-7]\n[--target][TXN-1][koosy][CH-7]\n[--target][TXN-1][papafly][CH-7]\n"
    );
    let lines = hq.ledger_lines();
    let new: Vec<&Value> = lines.iter().skip(6).collect();
    assert_eq!(new.len(), 4, "{lines:?}");
    assert_eq!(new[0]["event"], "rollback_requested");
    assert_eq!(new[0]["target"], "TXN-1");
    assert_eq!(new[0]["branches"], json!(["papafly", "koosy", "seedling"]));
    for (e, b) in new[1..].iter().zip(["seedling", "koosy", "papafly"]) {
        assert_eq!(e["event"], "rollback");
        assert_eq!(e["branch"], b);
        assert_eq!(e["status"], "success");
        assert_eq!(e["exit_code"], 0);
        assert_eq!(e["target"], "TXN-1");
        assert!(e["duration_ms"].is_u64(), "{e}");
        assert_eq!(e["signer"], "alice");
    }
    assert_eq!(v["results"][0]["output"], "rolled back seedling\n");
    // The affected branches with a health URL were re-checked at once.
    assert_eq!(v["health"][0]["branch"], "papafly", "{v}");
    assert_eq!(v["health"][0]["ok"], false, "{v}");
    assert_eq!(v["health"].as_array().map(Vec::len), Some(1), "{v}");
    hq.verify_ok();
}

/// A branch with a space and `;` used to reach the hook as one argv element; values
/// from the ledger must now match the substitution pattern and name a registry
/// branch, so the rollback is refused, naming the line (tests/hostile_hook.rs has the
/// full set of hostile values).
#[test]
fn branch_with_spaces_and_semicolon_is_refused_naming_its_line() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    hq.hook(LOG_ARGV, "10s");
    let before = hq.ledger_bytes();
    let o = hq.run(&["rollback", "--target", "TXN-5", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("hq/ledger/ledger.jsonl:5 (deploy TXN-5): \"a b;c\" cannot be {branch}: it contains a space"),
        "{stderr}"
    );
    assert_eq!(hq.ledger_bytes(), before);
    assert_eq!(hq.argv_log(), "");
}

#[test]
fn hook_failure_halts_and_records_it() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    hq.hook(
        &format!("{LOG_ARGV}\nif [ \"$3\" = koosy ]; then echo broke >&2; exit 3; fi"),
        "10s",
    );
    let o = hq.run(&[
        "rollback", "--target", "TXN-1", "--yes", "--key", &key, "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    assert_eq!(v["ok"], false);
    assert_eq!(v["skipped"], json!(["papafly"]));
    assert_eq!(v["results"][1]["status"], "failed");
    assert_eq!(v["results"][1]["exit_code"], 3);
    assert_eq!(v["results"][1]["output"], "broke\n");
    // papafly's hook never ran.
    assert_eq!(hq.argv_log().lines().count(), 2);
    let lines = hq.ledger_lines();
    let last = lines.last().cloned().unwrap_or_default();
    assert_eq!(last["branch"], "koosy");
    assert_eq!(last["status"], "failed");
    assert_eq!(last["exit_code"], 3);
    // The reason survives on the ledger: the hook's last output line(s).
    assert_eq!(last["hook_output"], json!(["broke"]));
    // A successful run's entry carries none.
    let ok = &lines[lines.len() - 2];
    assert_eq!(ok["status"], "success", "{ok}");
    assert!(ok.get("hook_output").is_none(), "{ok}");
    assert_eq!(lines.len(), 6 + 3);
    hq.verify_ok();
}

#[test]
fn hook_timeout_is_killed_and_halts() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    hq.hook(&format!("{LOG_ARGV}\nexec sleep 30"), "300ms");
    let start = Instant::now();
    let o = hq.run(&[
        "rollback", "--target", "TXN-1", "--yes", "--key", &key, "--json",
    ]);
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "the hook was not killed"
    );
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    assert_eq!(v["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["results"][0]["status"], "timeout");
    assert_eq!(v["results"][0]["exit_code"], Value::Null);
    assert_eq!(v["skipped"], json!(["koosy", "papafly"]));
    let last = hq.ledger_lines().last().cloned().unwrap_or_default();
    assert_eq!(last["status"], "timeout");
    assert!(last.get("exit_code").is_some_and(Value::is_null), "{last}");
    hq.verify_ok();
}

#[test]
fn without_a_hook_the_signed_record_is_the_action() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    let o = hq.run(&["rollback", "--target", "TXN-4", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("no rollback hook is configured"));
    let lines = hq.ledger_lines();
    assert_eq!(lines.len(), 8);
    assert_eq!(lines[7]["status"], "recorded");
    assert!(lines[7].get("exit_code").is_none());
}

#[test]
fn refusals_append_nothing_and_run_no_hook() {
    let hq = hq();
    let admin = hq.key("alice", "hq_admin", true);
    let owner = hq.key("bob", "branch_owner", true);
    let stranger = hq.key("eve", "hq_admin", false);
    let loose = hq.key("carol", "hq_admin", true);
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    hq.hook(LOG_ARGV, "10s");
    let before = hq.ledger_bytes();
    let de_before = std::fs::read(hq.p("hq/registry/decision-engine.json")).unwrap_or_default();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["rollback", "--target", "TXN-1", "--yes", "--key", &owner],
            "needs W on sync",
        ),
        (
            vec!["rollback", "--target", "TXN-1", "--yes", "--key", &stranger],
            "not in hq/registry/keys.json",
        ),
        (
            vec!["rollback", "--target", "TXN-1", "--yes", "--key", &loose],
            "readable by group or others",
        ),
        (
            vec!["rollback", "--target", "TXN-1", "--yes"],
            "no operator key",
        ),
        (
            vec![
                "rollback",
                "--target",
                "TXN-1",
                "--yes",
                "--key",
                &admin,
                "--readonly",
            ],
            "read-only",
        ),
        (
            vec!["rollback", "--target", "TXN-6", "--yes", "--key", &admin],
            "not a deploy",
        ),
        (
            vec!["rollback", "--target", "TXN-404", "--yes", "--key", &admin],
            "no ledger entry",
        ),
        (
            vec!["killswitch", "on", "--yes", "--key", &owner],
            "needs W on policy",
        ),
        (
            vec!["maintenance", "koosy", "on", "--yes", "--key", &owner],
            "needs W on sync",
        ),
        (
            vec!["rule-rollback", "--yes", "--key", &owner],
            "needs W on policy",
        ),
    ];
    for (args, why) in cases {
        let o = hq.run(&args);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", out_text(&o));
        assert!(
            stderr.contains(why),
            "{args:?}: expected `{why}` in {stderr}"
        );
        assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
        assert_eq!(hq.ledger_bytes(), before, "{args:?} appended to the ledger");
        assert_eq!(hq.argv_log(), "", "{args:?} ran the hook");
    }
    // No --yes and stdin is not a terminal: usage error, nothing done.
    let o = hq.run(&["rollback", "--target", "TXN-1", "--key", &admin]);
    assert_eq!(o.status.code(), Some(2), "{}", out_text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--yes"));
    assert_eq!(hq.ledger_bytes(), before);
    assert_eq!(hq.argv_log(), "");
    assert_eq!(
        std::fs::read(hq.p("hq/registry/decision-engine.json")).unwrap_or_default(),
        de_before
    );
    // The refusal went to the log file.
    let log = std::fs::read_to_string(hq.p("xdg-data/lumen/logs/lumen.log")).unwrap_or_default();
    assert!(log.contains("refused"), "log: {log}");
}

#[test]
fn kill_switch_and_maintenance_preserve_other_fields() {
    let hq = hq();
    let key = hq.key("alice", "worker", true);
    let admin = hq.key("root", "hq_admin", true);
    let de = hq.p("hq/registry/decision-engine.json");
    let read = || -> Value {
        serde_json::from_slice(&std::fs::read(&de).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let original = read();

    let o = hq.run(&["killswitch", "on", "--yes", "--key", &admin, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (v["event"].as_str(), v["on"].as_bool(), v["was"].as_bool()),
        (Some("kill_switch_activated"), Some(true), Some(false))
    );
    let mut want = original.clone();
    want["killSwitch"] = json!(true);
    assert_eq!(read(), want);
    // Key order is kept too.
    let keys: Vec<String> = read()
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "killSwitch",
            "maintenanceMode",
            "modes",
            "fallbackChain",
            "escalation",
            "x-custom"
        ]
    );

    // The kill switch blocks neither maintenance nor rollback; a worker may do both.
    let o = hq.run(&["maintenance", "koosy", "on", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    want["maintenanceMode"]["koosy"] = json!(true);
    assert_eq!(read(), want);
    let o = hq.run(&["rollback", "--target", "TXN-4", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));

    let o = hq.run(&["maintenance", "nosuch", "on", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(2), "{}", out_text(&o));

    let events: Vec<String> = hq
        .ledger_lines()
        .iter()
        .skip(6)
        .map(|e| e["event"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        events,
        [
            "kill_switch_activated",
            "maintenance_on",
            "rollback_requested",
            "rollback"
        ]
    );
    hq.verify_ok();

    // Consistent now; a crash between ledger entry and rewrite is detected.
    let entries =
        |hq: &Hq| lumen::cmd::actions::read_entries(&hq.root).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        lumen::operator::run::pending_decision_mismatch(&hq.root, &entries(&hq)),
        None
    );
    let o = hq.run(&[
        "ledger",
        "append",
        "--key",
        &admin,
        "--event",
        "kill_switch_released",
        "--branch",
        "hq",
    ]);
    assert!(o.status.success(), "{}", out_text(&o));
    let o = hq.run(&[
        "ledger",
        "append",
        "--key",
        &admin,
        "--event",
        "maintenance_off",
        "--branch",
        "koosy",
    ]);
    assert!(o.status.success(), "{}", out_text(&o));
    let m = lumen::operator::run::pending_decision_mismatch(&hq.root, &entries(&hq))
        .unwrap_or_default();
    assert!(
        m.contains("kill switch is off but decision-engine.json says on"),
        "{m}"
    );
    assert!(m.contains("koosy maintenance is off"), "{m}");
}

#[test]
fn rule_rollback_appends_the_compensating_rule() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    write(
        &hq.p("controls/rules_history.jsonl"),
        "{\"ts\":\"2025-10-23T12:00:00+09:00\",\"actor\":\"Old\",\"rule\":\"risk_max\",\"old\":0.3,\"new\":0.35}\nnot json\n{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"Lubit\",\"rule\":\"creative_min\",\"old\":0.22,\"new\":0.24,\"note\":\"n\"}",
    );
    let o = hq.run(&["rule-rollback", "--yes", "--key", &key, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let text = std::fs::read_to_string(hq.p("controls/rules_history.jsonl")).unwrap_or_default();
    let last: Value = text
        .lines()
        .last()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    assert_eq!(last["rule"], "creative_min");
    assert_eq!(last["old"], 0.24);
    assert_eq!(last["new"], 0.22);
    assert_eq!(last["actor"], "alice");
    assert_eq!(
        last["note"],
        "rollback of event at 2025-10-23T13:10:00+09:00 by Lubit"
    );
    assert_eq!(text.lines().count(), 4, "{text}");
    let entry = hq.ledger_lines().last().cloned().unwrap_or_default();
    assert_eq!(entry["event"], "rule_rollback");
    assert_eq!(entry["rule"], "creative_min");
    hq.verify_ok();
}

#[test]
fn notifications_reach_the_webhook_and_the_url_never_leaks() {
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    let received: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
    let fails_left = Arc::new(Mutex::new(1u32));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let addr = {
        let received = received.clone();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/services/{token}",
                axum::routing::post(
                    move |axum::extract::Path(token): axum::extract::Path<String>, body: String| {
                        let received = received.clone();
                        let fails_left = fails_left.clone();
                        async move {
                            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                            if let Ok(mut g) = received.lock() {
                                g.push((token, v));
                            }
                            // The first delivery fails once: the retry must get through.
                            let mut f = fails_left.lock().unwrap_or_else(|p| p.into_inner());
                            if *f > 0 {
                                *f -= 1;
                                axum::http::StatusCode::INTERNAL_SERVER_ERROR
                            } else {
                                axum::http::StatusCode::OK
                            }
                        }
                    },
                ),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
            tokio::spawn(async move { axum::serve(l, app).await });
            addr
        })
    };
    let secret = "SECRET-TOKEN-8f3a";
    write(
        &hq.p("hq/notifications/channels.json"),
        &json!({"slack": {"critical": format!("http://{addr}/services/{secret}")}, "kakao": {"hq": "http://127.0.0.1:9/services/kakao-SECRET-2"}}).to_string(),
    );
    write(
        &hq.p("hq/notifications/rules.json"),
        r#"{"kill_switch_activated":["slack:critical","kakao:hq"],"rollback":["slack:critical"]}"#,
    );
    let o = hq.run(&["killswitch", "on", "--yes", "--key", &key, "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    let n = &v["notifications"];
    assert_eq!(n[0]["target"], "slack:critical");
    assert_eq!(n[0]["delivered"], true, "{v}");
    assert_eq!(n[0]["attempts"], 2, "{v}");
    assert_eq!(n[0]["url"], format!("http://{addr}/…"));
    assert_eq!(n[1]["delivered"], false, "{v}");
    assert_eq!(n[1]["attempts"], 3, "{v}");
    let o2 = hq.run(&["rollback", "--target", "TXN-4", "--yes", "--key", &key]);
    assert_eq!(o2.status.code(), Some(0), "{}", out_text(&o2));

    let got = received.lock().map(|g| g.clone()).unwrap_or_default();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|(t, _)| t == secret));
    let text = got[1].1["text"].as_str().unwrap_or("");
    assert!(text.contains("kill switch ACTIVATED by alice"), "{text}");
    assert!(
        got[2].1["text"]
            .as_str()
            .unwrap_or("")
            .contains("rollback of TXN-4")
    );

    let log = std::fs::read_to_string(hq.p("xdg-data/lumen/logs/lumen.log")).unwrap_or_default();
    assert!(log.contains("notification delivered"), "log: {log}");
    for (what, s) in [
        ("output", out_text(&o)),
        ("output", out_text(&o2)),
        ("log", log),
    ] {
        assert!(
            !s.contains(secret) && !s.contains("kakao-SECRET-2") && !s.contains("/services/"),
            "{what} leaks a webhook URL: {s}"
        );
    }
}

/// A one-shot HTTP server answering 200 to every request, on a free port.
fn health_server() -> u16 {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut s = s;
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    port
}

#[test]
fn rollback_of_a_deploy_failed_txn_rolls_back_its_change_and_rechecks_every_branch() {
    // The playbook: "identify the failing TXN" → rollback --target it.
    let hq = hq();
    let key = hq.key("alice", "hq_admin", true);
    let port = health_server();
    // koosy's URL comes from health-check.json (matched by its domain), papafly's
    // from its own `health`; seedling has neither.
    let mut reg: Value = serde_json::from_str(
        &std::fs::read_to_string(hq.p("hq/registry/branches.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for b in reg["branches"].as_array_mut().into_iter().flatten() {
        if b["id"] == "koosy" {
            b["domain"] = json!("127.0.0.1");
        }
    }
    write(&hq.p("hq/registry/branches.json"), &reg.to_string());
    write(
        &hq.p("hq/recovery/health-check.json"),
        &json!({"endpoints": [format!("http://127.0.0.1:{port}/health")], "timeout": "2s"})
            .to_string(),
    );
    let mut ledger = DEPLOYS.to_string();
    ledger.push_str(r#"{"id":"TXN-7","branch":"alpha","event":"deploy_failed","change":"CH-7","actor":"ci","timestamp":"2026-01-18T01:06:00Z"}"#);
    ledger.push('\n');
    write(&hq.p("hq/ledger/ledger.jsonl"), &ledger);
    let o = hq.run(&[
        "rollback", "--target", "TXN-7", "--yes", "--key", &key, "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    assert_eq!(v["target"], "TXN-1", "{v}");
    assert_eq!(v["failed"], "TXN-7", "{v}");
    assert_eq!(v["branches"], json!(["papafly", "koosy", "seedling"]));
    let health = v["health"].as_array().cloned().unwrap_or_default();
    let koosy = health.iter().find(|h| h["branch"] == "koosy");
    assert_eq!(koosy.map(|h| h["ok"].clone()), Some(json!(true)), "{v}");
    assert!(health.iter().any(|h| h["branch"] == "papafly"), "{v}");
    assert_eq!(v["not_checked"], json!(["seedling"]), "{v}");
    // Text mode says what the failed TXN resolved to, and a refusal says why.
    let o = hq.run(&["rollback", "--target", "TXN-6", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("only deploys (or the `deploy_failed` entry of one)"),
        "{}",
        out_text(&o)
    );
}
