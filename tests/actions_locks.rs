//! No lost updates and broken means refused, through the real binary:
//! - many `lumen killswitch` / `lumen maintenance` processes at once never lose one
//!   another's change, and `decision-engine.json` agrees with the newest ledger entry
//!   after every round;
//! - concurrent rule rollbacks never revert the same change twice;
//! - a symlinked `decision-engine.json` is rewritten through the link;
//! - a broken file an action depends on refuses it with `file:line:col` before
//!   anything is written;
//! - a broken `rules.json` / `channels.json` does not stop the action, and the failure
//!   to notify is printed on stderr and logged.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

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

fn out_text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const BRANCHES: [&str; 4] = ["b1", "b2", "b3", "b4"];

const DEPLOYS: &str = r#"{"id":"TXN-1","branch":"b1","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:00:00Z"}
{"id":"TXN-2","branch":"b2","event":"deploy","change":"CH-7","timestamp":"2026-01-18T01:01:00Z"}
"#;

impl Hq {
    fn new() -> Hq {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let root = dir.path().to_path_buf();
        let branches: Vec<Value> = BRANCHES
            .iter()
            .map(|id| json!({"id": id, "repo": format!("x/{id}"), "domain": format!("{id}.example"), "visibility": "public", "tier": "standard"}))
            .collect();
        write(
            &root.join("hq/registry/branches.json"),
            &json!({"hqVersion": "2.1", "branches": branches}).to_string(),
        );
        write(
            &root.join("hq/registry/decision-engine.json"),
            r#"{"killSwitch":false,"maintenanceMode":{},"modes":{"deploy":"canary"},"x-custom":[1,2]}"#,
        );
        write(&root.join("hq/ledger/ledger.jsonl"), DEPLOYS);
        Hq { _dir: dir, root }
    }
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn cmd(&self) -> Command {
        let mut c = common::bin::lumen();
        c.env("XDG_DATA_HOME", self.root.join("xdg-data"))
            .env("HOME", self.root.join("home"))
            .stdin(Stdio::null());
        c
    }
    fn run(&self, args: &[&str]) -> Output {
        self.cmd()
            .args(args)
            .args(["--hq", &self.root.display().to_string()])
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    }
    /// An hq_admin key registered in keys.json.
    fn admin_key(&self) -> String {
        let path = self.p("alice.pem");
        let o = self
            .cmd()
            .args(["keygen", "--out", &path.display().to_string()])
            .args(["--id", "alice", "--role", "hq_admin"])
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(o.status.success(), "{}", out_text(&o));
        let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
        write(
            &self.p("hq/registry/keys.json"),
            &json!({"signers": [entry]}).to_string(),
        );
        path.display().to_string()
    }
    fn ledger_bytes(&self) -> Vec<u8> {
        std::fs::read(self.p("hq/ledger/ledger.jsonl")).unwrap_or_default()
    }
    fn ledger(&self) -> Vec<Value> {
        String::from_utf8_lossy(&self.ledger_bytes())
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }
    fn decision(&self) -> Value {
        let text = std::fs::read_to_string(self.p("hq/registry/decision-engine.json"))
            .unwrap_or_else(|e| panic!("{e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }
    fn verify_ok(&self) {
        let o = self.run(&["ledger", "verify", "--json"]);
        let v: Value =
            serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
        assert_eq!(v["ok"], true, "{v}");
        assert_eq!(v["chain"]["broken"], 0, "{v}");
    }
    fn log(&self) -> String {
        std::fs::read_to_string(self.p("xdg-data/lumen/logs/lumen.log")).unwrap_or_default()
    }
}

/// A small deterministic generator (xorshift), so a failing round can be replayed.
struct Rng(u64);
impl Rng {
    fn bit(&mut self) -> bool {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 & 1 == 1
    }
}

/// The state the newest kill-switch entry and each branch's newest maintenance entry
/// of `ledger` say.
fn newest_state(ledger: &[Value]) -> (bool, Vec<(String, bool)>) {
    let ks = ledger
        .iter()
        .rev()
        .find_map(|e| match e["event"].as_str() {
            Some("kill_switch_activated") => Some(true),
            Some("kill_switch_released") => Some(false),
            _ => None,
        })
        .unwrap_or(false);
    let m = BRANCHES
        .iter()
        .filter_map(|b| {
            ledger.iter().rev().find_map(|e| {
                if e["branch"] != *b {
                    return None;
                }
                match e["event"].as_str() {
                    Some("maintenance_on") => Some((b.to_string(), true)),
                    Some("maintenance_off") => Some((b.to_string(), false)),
                    _ => None,
                }
            })
        })
        .collect();
    (ks, m)
}

#[test]
fn concurrent_kill_switch_and_maintenance_never_lose_a_change() {
    const ROUNDS: usize = 20;
    let hq = Hq::new();
    let key = hq.admin_key();
    let root = hq.root.display().to_string();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let before = hq.ledger().len();
        // 4 kill-switch processes and one maintenance process per branch, all at once.
        let mut jobs: Vec<(String, std::process::Child)> = Vec::new();
        for i in 0..8 {
            let on = if rng.bit() { "on" } else { "off" };
            let mut c = hq.cmd();
            let what = if i % 2 == 0 {
                c.args(["killswitch", on]);
                format!("killswitch {on}")
            } else {
                let b = BRANCHES[i / 2];
                c.args(["maintenance", b, on]);
                format!("maintenance {b} {on}")
            };
            c.args(["--yes", "--json", "--key", &key, "--hq", &root])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            jobs.push((what, c.spawn().unwrap_or_else(|e| panic!("{e}"))));
        }
        // ledger id → `was` as each process reported it.
        let mut was = std::collections::HashMap::new();
        for (what, child) in jobs {
            let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(o.status.code(), Some(0), "{what}: {}", out_text(&o));
            let v: Value = serde_json::from_slice(&o.stdout)
                .unwrap_or_else(|e| panic!("{what}: {e}: {}", out_text(&o)));
            was.insert(
                v["ledger_id"].as_str().unwrap_or_default().to_string(),
                v["was"].as_bool(),
            );
        }
        let ledger = hq.ledger();
        assert_eq!(ledger.len(), before + 8, "round {round}: one entry each");
        let (ks, maint) = newest_state(&ledger);
        let d = hq.decision();
        let mut problems = Vec::new();
        if d["killSwitch"] != ks {
            problems.push(format!(
                "killSwitch {} but the ledger says {ks}",
                d["killSwitch"]
            ));
        }
        for (b, on) in &maint {
            if d["maintenanceMode"][b] != *on {
                problems.push(format!(
                    "maintenanceMode.{b} {} but the ledger says {on}",
                    d["maintenanceMode"][b]
                ));
            }
        }
        // Serialised: every change saw the state the previous entry left.
        let mut state = None;
        for e in &ledger {
            let on = match e["event"].as_str() {
                Some("kill_switch_activated") => true,
                Some("kill_switch_released") => false,
                _ => continue,
            };
            let id = e["id"].as_str().unwrap_or_default();
            if let (Some(prev), Some(Some(w))) = (state, was.get(id))
                && *w != prev
            {
                problems.push(format!(
                    "{id} saw killSwitch {w}, the entry before left {prev}"
                ));
            }
            state = Some(on);
        }
        // Unknown fields survive every rewrite.
        if d["x-custom"] != json!([1, 2]) || d["modes"] != json!({"deploy": "canary"}) {
            problems.push(format!("other fields lost: {d}"));
        }
        if !problems.is_empty() {
            failures.push(format!("round {round}: {}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ROUNDS} rounds lost a change:\n{}",
        failures.len(),
        failures.join("\n")
    );
    hq.verify_ok();
}

#[test]
fn concurrent_rule_rollbacks_never_revert_one_change_twice() {
    let hq = Hq::new();
    let key = hq.admin_key();
    let root = hq.root.display().to_string();
    write(
        &hq.p("controls/rules_history.jsonl"),
        "{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"Lubit\",\"rule\":\"creative_min\",\"old\":0.22,\"new\":0.24}\n",
    );
    const N: usize = 6;
    let jobs: Vec<std::process::Child> = (0..N)
        .map(|_| {
            hq.cmd()
                .args([
                    "rule-rollback",
                    "--yes",
                    "--json",
                    "--key",
                    &key,
                    "--hq",
                    &root,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for child in jobs {
        let o = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    }
    let text = std::fs::read_to_string(hq.p("controls/rules_history.jsonl"))
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    assert_eq!(lines.len(), N + 1, "{text}");
    // Each compensation reverts exactly the line before it: a chain, no change twice.
    for pair in lines.windows(2) {
        let (prev, comp) = (&pair[0], &pair[1]);
        assert_eq!(comp["old"], prev["new"], "{text}");
        assert_eq!(comp["new"], prev["old"], "{text}");
        let note = comp["note"].as_str().unwrap_or_default();
        let prev_ts = chrono::DateTime::parse_from_rfc3339(prev["ts"].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}"));
        let noted = note
            .strip_prefix("rollback of event at ")
            .and_then(|r| r.split(" by ").next())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
        assert_eq!(
            noted,
            Some(prev_ts),
            "{note} does not name the line before:\n{text}"
        );
    }
    // The ledger agrees with the history, entry for line, in the same order.
    let rr: Vec<Value> = hq
        .ledger()
        .into_iter()
        .filter(|e| e["event"] == "rule_rollback")
        .collect();
    assert_eq!(rr.len(), N);
    for (e, line) in rr.iter().zip(lines.iter().skip(1)) {
        assert_eq!((&e["old"], &e["new"]), (&line["old"], &line["new"]));
        assert_eq!(e["note"], line["note"]);
    }
    hq.verify_ok();
}

#[test]
fn a_symlinked_decision_engine_is_rewritten_through_the_link() {
    let hq = Hq::new();
    let key = hq.admin_key();
    let link = hq.p("hq/registry/decision-engine.json");
    let target = hq.p("managed/decision.json");
    write(
        &target,
        r#"{"killSwitch":false,"modes":{"deploy":"canary"}}"#,
    );
    std::fs::remove_file(&link).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink("../../managed/decision.json", &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let o = hq.run(&["killswitch", "on", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let meta = std::fs::symlink_metadata(&link).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let v: Value = serde_json::from_slice(&std::fs::read(&target).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        v,
        json!({"killSwitch": true, "modes": {"deploy": "canary"}})
    );
    let o = hq.run(&["maintenance", "b2", "on", "--yes", "--key", &key]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
    );
    assert_eq!(hq.decision()["maintenanceMode"]["b2"], true);
    // No temp file left beside the link or the target.
    for dir in [hq.p("hq/registry"), hq.p("managed")] {
        for e in std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "left behind: {name}");
        }
    }
}

/// (file, contents, the `line:col` the refusal must name, what it must say).
type Broken = (&'static str, &'static str, &'static str, &'static str);

const HOOK_OK: &str = r#"{"argv":["/bin/true","{txn}"],"timeout":"10s"}"#;

fn refused_without_writing(hq: &Hq, args: &[&str], file: &str, at: &str, why: &str) {
    let ledger = hq.ledger_bytes();
    let de = std::fs::read(hq.p("hq/registry/decision-engine.json")).unwrap_or_default();
    let o = hq.run(args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{args:?} with {file}: {}",
        out_text(&o)
    );
    let named = format!("{file}:{at}");
    assert!(
        stderr.contains("refused") && stderr.contains(&named) && stderr.contains(why),
        "{args:?}: expected `{named}` and `{why}` in: {stderr}"
    );
    assert_eq!(hq.ledger_bytes(), ledger, "{args:?} with {file} appended");
    assert_eq!(
        std::fs::read(hq.p("hq/registry/decision-engine.json")).unwrap_or_default(),
        de,
        "{args:?} with {file} rewrote decision-engine.json"
    );
}

#[test]
fn a_broken_file_an_action_depends_on_refuses_it_before_anything_is_written() {
    let hq = Hq::new();
    let key = hq.admin_key();
    let keys_good = std::fs::read_to_string(hq.p("hq/registry/keys.json")).unwrap_or_default();
    let rollback: &[&str] = &["rollback", "--target", "TXN-1", "--yes", "--key", &key];
    let kill: &[&str] = &["killswitch", "on", "--yes", "--key", &key];
    let maint: &[&str] = &["maintenance", "b1", "on", "--yes", "--key", &key];
    let rule: &[&str] = &["rule-rollback", "--yes", "--key", &key];
    write(
        &hq.p("controls/rules_history.jsonl"),
        "{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"Lubit\",\"rule\":\"creative_min\",\"old\":0.22,\"new\":0.24}\n",
    );
    let cases: &[(Broken, &[&[&str]])] = &[
        (
            (
                "hq/recovery/rollback-hook.json",
                "{\"argv\":[\"/bin/true\"],\n \"timeout\":\"10s\",\n}",
                "3:1",
                "trailing comma",
            ),
            &[rollback],
        ),
        (
            (
                "hq/recovery/rollback-hook.json",
                "{\"argv\":\"/bin/true\"}",
                "1:19",
                "invalid type",
            ),
            &[rollback],
        ),
        (
            (
                "hq/recovery/rollback-hook.json",
                "{\"argv\":[\"/bin/true\"],\"timeout\":\"0s\"}",
                "1:33",
                "timeout is zero",
            ),
            &[rollback],
        ),
        (
            (
                "hq/sync/sync-plan.json",
                "{\"order\":[\"b1\",\"*\"],}",
                "1:21",
                "trailing comma",
            ),
            &[rollback],
        ),
        (
            (
                "hq/sync/sync-plan.json",
                "{\"order\":\"b1\"}",
                "1:13",
                "invalid type",
            ),
            &[rollback],
        ),
        (
            (
                "hq/registry/decision-engine.json",
                "{\"killSwitch\":false,}",
                "1:21",
                "trailing comma",
            ),
            &[kill, maint],
        ),
        (
            (
                "hq/registry/decision-engine.json",
                "{\n  \"killSwitch\": \"yes\"\n}",
                "2:17",
                "killSwitch must be true or false",
            ),
            &[kill, maint],
        ),
        (
            (
                "hq/registry/policy.json",
                "{\"rules\":[],}",
                "1:13",
                "trailing comma",
            ),
            &[rollback, kill, maint, rule],
        ),
        (
            (
                "hq/registry/policy.json",
                "{\"rules\":[],\"roles\":{\"hq_admin\":{\"sync\":\"rw\"}}}",
                "1:",
                "",
            ),
            &[rollback, kill, maint, rule],
        ),
        (
            (
                "hq/registry/branches.json",
                "{\"hqVersion\":\"2.1\",\"branches\":[],}",
                "1:34",
                "trailing comma",
            ),
            &[rollback, maint],
        ),
        (
            (
                "hq/registry/keys.json",
                "{\"signers\":[],}",
                "1:15",
                "trailing comma",
            ),
            &[rollback, kill, maint, rule],
        ),
        (
            (
                "controls/rules_history.jsonl",
                "{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"Lubit\",\"rule\":\"creative_min\",\"old\":0.22,\"new\":0.24}\n{\"ts\":\"2025-10-23T14:00:00+09:00\",\"rule\":\"risk_max\",\"old\":\"high\"\n",
                "2:",
                "",
            ),
            &[rule],
        ),
    ];
    let branches_good =
        std::fs::read_to_string(hq.p("hq/registry/branches.json")).unwrap_or_default();
    let history_good =
        std::fs::read_to_string(hq.p("controls/rules_history.jsonl")).unwrap_or_default();
    let de_good =
        std::fs::read_to_string(hq.p("hq/registry/decision-engine.json")).unwrap_or_default();
    for ((file, text, at, why), actions) in cases {
        // Only this file is broken, so only it can be the reason for the refusal.
        write(&hq.p(file), text);
        for args in *actions {
            refused_without_writing(&hq, args, file, at, why);
        }
        // Restore the file.
        match *file {
            "hq/registry/keys.json" => write(&hq.p(file), &keys_good),
            "hq/registry/branches.json" => write(&hq.p(file), &branches_good),
            "hq/registry/decision-engine.json" => write(&hq.p(file), &de_good),
            "controls/rules_history.jsonl" => write(&hq.p(file), &history_good),
            "hq/recovery/rollback-hook.json" => write(&hq.p(file), HOOK_OK),
            _ => std::fs::remove_file(hq.p(file)).unwrap_or_else(|e| panic!("{e}")),
        }
    }
    // Each refusal went to the log file too.
    let log = hq.log();
    assert!(log.contains("rollback-hook.json:1:33"), "log: {log}");
    // With every file valid again, each action runs.
    for args in [rollback, kill, maint, rule] {
        let o = hq.run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", out_text(&o));
    }
    hq.verify_ok();
}

#[test]
fn an_absent_rollback_hook_is_not_configured_and_the_record_is_the_action() {
    let hq = Hq::new();
    let key = hq.admin_key();
    let o = hq.run(&[
        "rollback", "--target", "TXN-1", "--yes", "--key", &key, "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["results"][0]["status"], "recorded", "{v}");
}

#[test]
fn broken_notification_files_do_not_stop_the_action_and_are_reported() {
    let hq = Hq::new();
    let key = hq.admin_key();
    for (file, text, at) in [
        (
            "hq/notifications/rules.json",
            "{\"kill_switch_activated\":[\"slack:ops\"],}",
            "1:40",
        ),
        (
            "hq/notifications/channels.json",
            "{\"slack\":{\"ops\":42}}",
            "1:",
        ),
    ] {
        let other = if file.ends_with("rules.json") {
            (
                "hq/notifications/channels.json",
                r#"{"slack":{"ops":"http://127.0.0.1:9/x"}}"#,
            )
        } else {
            (
                "hq/notifications/rules.json",
                r#"{"kill_switch_activated":["slack:ops"]}"#,
            )
        };
        write(&hq.p(other.0), other.1);
        write(&hq.p(file), text);
        let before = hq.ledger().len();
        for (args, json) in [
            (vec!["killswitch", "on", "--yes", "--key", &key], false),
            (
                vec!["killswitch", "off", "--yes", "--key", &key, "--json"],
                true,
            ),
        ] {
            let o = hq.run(&args);
            assert_eq!(o.status.code(), Some(0), "{args:?}: {}", out_text(&o));
            let stderr = String::from_utf8_lossy(&o.stderr);
            let named = format!("{file}:{at}");
            assert!(
                stderr.contains("notifications could not be routed") && stderr.contains(&named),
                "{args:?}: expected the routing failure naming `{named}` on stderr: {}",
                out_text(&o)
            );
            if json {
                let v: Value = serde_json::from_slice(&o.stdout)
                    .unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
                let errs = v["notification_errors"].to_string();
                assert!(errs.contains(&named), "{v}");
            }
        }
        // The actions happened.
        let ledger = hq.ledger();
        assert_eq!(ledger.len(), before + 2);
        assert_eq!(hq.decision()["killSwitch"], false);
        assert!(
            hq.log().contains("notifications could not be routed"),
            "log: {}",
            hq.log()
        );
        std::fs::remove_file(hq.p(file)).unwrap_or_else(|e| panic!("{e}"));
    }
}
