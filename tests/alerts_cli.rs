//! `lumen alerts [--json]` run as a user runs it: what fires, in what order, and the
//! exit codes (0 nothing critical, 1 something critical, 2 the HQ cannot be read).

#[path = "common/bin.rs"]
mod bin;
use std::path::Path;
use std::process::Output;

use chrono::{Duration, SecondsFormat, Utc};

fn lumen(root: &Path, args: &[&str]) -> Output {
    bin::lumen()
        .args(args)
        .arg("--hq")
        .arg(root)
        .arg("--no-health")
        .env("HOME", root)
        .env("XDG_CONFIG_HOME", root.join("cfg"))
        .env("XDG_DATA_HOME", root.join("data"))
        .output()
        .unwrap()
}

fn ts(ago_secs: i64) -> String {
    (Utc::now() - Duration::seconds(ago_secs)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn hq(ledger: &[String]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let reg = d.path().join("hq/registry");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::write(
        reg.join("branches.json"),
        r#"{"hqVersion":"2.1","branches":[
          {"id":"papafly","repo":"d/papafly","domain":"papafly.example","visibility":"public","tier":"canary"},
          {"id":"koosy","repo":"d/koosy","domain":"koosy.example","visibility":"public","tier":"standard"}]}"#,
    )
    .unwrap();
    std::fs::create_dir_all(d.path().join("hq/ledger")).unwrap();
    let mut text = ledger.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    std::fs::write(d.path().join("hq/ledger/ledger.jsonl"), text).unwrap();
    d
}

fn entry(id: &str, branch: &str, event: &str, actor: &str, ago: i64) -> String {
    format!(
        r#"{{"id":"{id}","branch":"{branch}","event":"{event}","actor":"{actor}","timestamp":"{}"}}"#,
        ts(ago)
    )
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

#[test]
fn nothing_firing_exits_0() {
    let d = hq(&[entry("TXN-1", "papafly", "deploy", "hq-sync", 60)]);
    let o = lumen(d.path(), &["alerts"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "no alerts firing\n");
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v = json(&o);
    assert_eq!(v["critical"], 0);
    assert_eq!(v["alerts"].as_array().unwrap().len(), 0);
}

#[test]
fn a_failed_deploy_is_a_warning_and_exits_0() {
    let d = hq(&[entry("TXN-7", "koosy", "deploy_failed", "ci", 120)]);
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v = json(&o);
    assert_eq!(v["warning"], 1);
    let a = &v["alerts"][0];
    assert_eq!(a["alertname"], "DeployFailed");
    assert_eq!(a["severity"], "warning");
    assert_eq!(a["labels"]["branch"], "koosy");
    assert_eq!(a["labels"]["id"], "TXN-7");
    assert_eq!(a["target"]["kind"], "ledger");
    assert_eq!(a["target"]["line"], 1);
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    let text = lumen(d.path(), &["alerts"]);
    let s = String::from_utf8_lossy(&text.stdout);
    assert!(s.starts_with("warning"), "{s}");
    assert!(s.contains("DeployFailed koosy: "), "{s}");
    assert!(s.contains("do: "), "{s}");
}

#[test]
fn a_deploy_after_the_kill_switch_is_critical_listed_first_and_exits_1() {
    let d = hq(&[
        entry("TXN-1", "koosy", "deploy_failed", "ci", 30),
        entry("TXN-2", "hq", "kill_switch_activated", "alice", 600),
        entry("TXN-3", "papafly", "deploy", "hq-sync", 300),
    ]);
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v = json(&o);
    assert_eq!(v["critical"], 1);
    let names: Vec<&str> = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alertname"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["KillSwitchViolation", "DeployFailed"],
        "critical first"
    );
    assert_eq!(v["alerts"][0]["labels"]["branch"], "papafly");
    let o = lumen(d.path(), &["alerts"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("critical"));
}

#[test]
fn a_broken_hq_file_fires_file_invalid_with_its_position() {
    let d = hq(&[]);
    let n = d.path().join("hq/notifications");
    std::fs::create_dir_all(&n).unwrap();
    std::fs::write(n.join("rules.json"), "{\"deploy_failed\": 3}\n").unwrap();
    let o = lumen(d.path(), &["alerts", "--json"]);
    let v = json(&o);
    let a = v["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["alertname"] == "FileInvalid")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(a["labels"]["path"], "hq/notifications/rules.json");
    assert_eq!(a["target"]["line"], 1);
}

#[test]
fn no_registry_exits_2_naming_the_file() {
    let d = tempfile::tempdir().unwrap();
    let o = lumen(d.path(), &["alerts"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("branches.json"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}
