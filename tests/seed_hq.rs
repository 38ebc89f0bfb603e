//! An HQ root built from the whitepaper's and the Lumen conversation's literal examples
//! (`tests/fixtures/seed-hq`, the `// path` comment lines removed) loads with 0 errors,
//! and the seed's own files work: per-persona observer field, RWD written `R/W`, the
//! custody simulator's scenarios and quiz bank.

#[path = "common/bin.rs"]
mod bin;
use std::path::{Path, PathBuf};
use std::process::Command;

use lumen::domain::policy::Access;
use lumen::sources::registry::load_snapshot;

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-hq")
}

fn lumen(home: &Path) -> Command {
    let mut c = bin::lumen();
    c.env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .stdin(std::process::Stdio::null());
    c
}

#[test]
fn the_seed_hq_loads_with_zero_errors() {
    let s = load_snapshot(&seed()).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let o = s.observer.as_ref().unwrap();
    let ids: Vec<&str> = o.channels.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["lumen", "lubit", "sena", "vinoce"]);
    let windows: Vec<&str> = o.windows.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(windows, ["W24h", "W7d"]);
    let admin = s.rbac.as_ref().unwrap().roles["hq_admin"];
    assert_eq!(admin.policy, Access::ReadWrite);
    assert_eq!(
        s.sync_plan.as_ref().unwrap().order,
        ["papafly", "koosy", "*"]
    );
}

#[test]
fn the_seed_simulator_files_are_listed_and_check_clean() {
    let home = tempfile::tempdir().unwrap();
    let dir = seed().join("custody/sim");
    let o = lumen(home.path())
        .args(["ceremony", "list", "--json", "--scenarios"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let list: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    for id in [
        "initial_setup_happy",
        "offline_signing_expired_token",
        "quarterly_audit_torn_seal",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let o = lumen(home.path())
        .args(["ceremony", "check"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn a_json_file_with_the_whitepapers_path_comment_names_the_fix() {
    let text = format!(
        "// hq/sync/sync-plan.json\n{}",
        std::fs::read_to_string(seed().join("hq/sync/sync-plan.json")).unwrap()
    );
    let e = lumen::domain::hq::parse_sync_plan(Path::new("sync-plan.json"), text.as_bytes())
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "sync-plan.json:1:1: JSON has no comments: remove line 1"
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

/// The seed HQ with a seal audit recorded today.
fn seed_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&seed(), dir.path());
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("controls/trust/chain_manifest.json")).unwrap(),
    )
    .unwrap();
    let fp = manifest["root_fingerprint_sha256"].as_str().unwrap();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(
        dir.path()
            .join("custody/records/quarterly_audit_2099Q4.json"),
        serde_json::json!({"ts_utc": now, "auditors": ["alice", "bob"], "seal_ok": true,
            "photos": [], "root_fingerprint": fp, "notes": "no anomalies"})
        .to_string(),
    )
    .unwrap();
    dir
}

#[test]
fn custody_reports_the_seed_trust_chain() {
    let hq = seed_copy();
    let home = tempfile::tempdir().unwrap();
    let o = lumen(home.path())
        .args(["custody", "--json", "--hq"])
        .arg(hq.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["root"]["manifest_match"], true);
    assert_eq!(v["signer"]["serial"], "4242424242");
    assert_eq!(v["signer"]["chain_ok"], true);
    assert_eq!(v["signer"]["eku_ok"], true);
    assert_eq!(v["signer"]["revoked"], false);
    assert_eq!(v["crl"]["entries"], 1);
    assert_eq!(v["audits"]["overdue"], false);
    assert_eq!(
        v["audits"]["last"]["auditors"],
        serde_json::json!(["alice", "bob"])
    );
    assert!(v["signer"]["days_left"].as_i64().unwrap() > 30);

    // Revoke the signer: not ok, exit 1, and doctor reports it as an error.
    std::fs::write(
        hq.path().join("controls/trust/crl.jsonl"),
        "{\"serial\": 4242424242, \"reason\": \"keyCompromise\", \"revoked_at\": \"2026-01-10T00:00:00Z\"}\n",
    )
    .unwrap();
    let o = lumen(home.path())
        .args(["custody", "--hq"])
        .arg(hq.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("revoked by crl.jsonl line 1 (keyCompromise)"),
        "{text}"
    );
    let o = lumen(home.path())
        .args(["doctor", "--json", "--hq"])
        .arg(hq.path())
        .output()
        .unwrap();
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let custody: Vec<&serde_json::Value> = d["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "custody")
        .collect();
    assert!(
        custody
            .iter()
            .any(|f| f["level"] == "error" && f["message"].as_str().unwrap().contains("revoked")),
        "{custody:?}"
    );

    // A broken certificate is an error naming the file, never "not configured".
    std::fs::write(
        hq.path().join("controls/keys/current/signer_cert.pem"),
        "garbage",
    )
    .unwrap();
    let o = lumen(home.path())
        .args(["custody", "--json", "--hq"])
        .arg(hq.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        v["errors"][0]
            .as_str()
            .unwrap()
            .contains("signer_cert.pem:1:1: not a PEM X.509 certificate"),
        "{v}"
    );
}

/// A rehearsal's summary places it against the real custody schedule: it is not a
/// custody event, and the last real seal audit and the next due date are named.
#[test]
fn a_rehearsal_says_how_it_relates_to_the_real_audit_schedule() {
    let hq = tempfile::tempdir().unwrap();
    copy_dir(&seed(), hq.path());
    let home = tempfile::tempdir().unwrap();
    let o = lumen(home.path())
        .args([
            "ceremony",
            "run",
            "--scenario",
            "initial-root-setup",
            "--json",
            "--hq",
        ])
        .arg(hq.path())
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(v["passed"], true, "{v}");
    // The seed's only audit is of 2026-01-20; the next was due 92 days later.
    let s = v["schedule"].as_str().unwrap_or_default();
    assert!(
        s.starts_with(
            "a rehearsal, not a custody event: last real audit 2026-01-20, next was due 2026-04-22 (overdue by"
        ),
        "{v}"
    );
}
