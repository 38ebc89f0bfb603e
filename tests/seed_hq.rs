//! An HQ root built from the whitepaper's and the Lumen conversation's literal examples
//! (`tests/fixtures/seed-hq`, the `// path` comment lines removed) loads with 0 errors,
//! and the seed's own files work: per-persona observer field, RWD written `R/W`, the
//! custody simulator's scenarios and quiz bank.

use std::path::{Path, PathBuf};
use std::process::Command;

use lumen::domain::policy::Access;
use lumen::sources::registry::load_snapshot;

fn seed() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-hq")
}

fn lumen(home: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lumen"));
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
