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

/// `hq/sync/conflict-policy.json` is read: its `timeoutHours` decides when a
/// `conflict_detected` entry becomes `ConflictUnresolved`, its `escalateTo` is named.
#[test]
fn conflicts_escalate_per_the_conflict_policy_file() {
    let d = hq(&[entry(
        "TXN-C1",
        "koosy",
        "conflict_detected",
        "hq-sync",
        2 * 3600,
    )]);
    // The default 72 h: a 2-hour-old conflict is not overdue.
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(
        json(&o)["alerts"].as_array().map(Vec::len),
        Some(0),
        "{o:?}"
    );
    let sync = d.path().join("hq/sync");
    std::fs::create_dir_all(&sync).unwrap();
    std::fs::write(
        sync.join("conflict-policy.json"),
        r#"{"priority":"cell","onConflict":{"label":"conflict","notify":"cell_owner","timeoutHours":1,"escalateTo":"branch_lead"}}"#,
    )
    .unwrap();
    let o = lumen(d.path(), &["alerts", "--json"]);
    let v = json(&o);
    let a = &v["alerts"][0];
    assert_eq!(a["alertname"], "ConflictUnresolved", "{v}");
    assert_eq!(a["labels"]["branch"], "koosy", "{v}");
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .contains("open past the 1 h limit"),
        "{v}"
    );
    assert!(
        a["action"]
            .as_str()
            .unwrap()
            .starts_with("escalated to branch_lead"),
        "{v}"
    );
    // Resolved in the ledger: it clears.
    let mut text = std::fs::read_to_string(d.path().join("hq/ledger/ledger.jsonl")).unwrap();
    text.push_str(&format!(
        "{{\"id\":\"TXN-R1\",\"branch\":\"koosy\",\"event\":\"conflict_resolved\",\"actor\":\"lead\",\"target\":\"TXN-C1\",\"timestamp\":\"{}\"}}\n",
        ts(10)
    ));
    std::fs::write(d.path().join("hq/ledger/ledger.jsonl"), text).unwrap();
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(
        json(&o)["alerts"].as_array().map(Vec::len),
        Some(0),
        "{o:?}"
    );
}

/// The seed HQ's custody records: its only seal audit (2026-01-20) is more than a
/// quarter old by now, so `CustodyProblem` warns with the dates; a revocation of the
/// signer is critical (exit 1); a broken CRL is a `FileInvalid` with its position.
#[test]
fn custody_problems_are_alerts() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-hq");
    let d = hq(&[]);
    for rel in [
        "controls/keys/root/root_ca_cert.pem",
        "controls/keys/current/signer_cert.pem",
        "controls/trust/chain_manifest.json",
        "controls/trust/crl.jsonl",
        "custody/records/quarterly_audit_2026Q1.json",
    ] {
        let to = d.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(seed.join(rel), &to).unwrap();
    }
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v = json(&o);
    let a = &v["alerts"][0];
    assert_eq!(a["alertname"], "CustodyProblem", "{v}");
    assert_eq!(a["severity"], "warning", "{v}");
    assert_eq!(a["labels"]["problem"], "audit_overdue", "{v}");
    assert!(
        a["summary"]
            .as_str()
            .unwrap()
            .starts_with("quarterly seal audit overdue: the last was 2026-01-20"),
        "{v}"
    );

    let crl = d.path().join("controls/trust/crl.jsonl");
    std::fs::write(
        &crl,
        "{\"serial\": 4242424242, \"reason\": \"keyCompromise\"}\n",
    )
    .unwrap();
    let o = lumen(d.path(), &["alerts", "--json"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let v = json(&o);
    assert_eq!(v["alerts"][0]["labels"]["problem"], "signer_revoked", "{v}");
    assert_eq!(v["alerts"][0]["severity"], "critical", "{v}");

    std::fs::write(&crl, "{\"serial\": \"x1\"}\n").unwrap();
    let o = lumen(d.path(), &["alerts"]);
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(
        t.contains("controls/trust/crl.jsonl:1:12: serial \"x1\" is not a certificate serial"),
        "{t}"
    );
}
