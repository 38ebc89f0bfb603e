//! End to end: the console on a copy of the seed HQ. `C` shows the real custody state
//! read from its files; a seal audit recorded while the console runs clears the
//! "overdue" (the registry watcher reloads the custody files); `v` shows the sync
//! detail and `P` the policy overlay.

mod common;

use std::path::Path;
use std::time::Duration;

use common::pty::Pty;

const T: Duration = Duration::from_secs(15);

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for e in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let e = e.unwrap_or_else(|e| panic!("{e}"));
        let dst = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), &dst).unwrap_or_else(|e| panic!("{}: {e}", dst.display()));
        }
    }
}

#[test]
fn custody_sync_and_policy_views_on_the_seed_hq() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let hq = home.path().join("hq-root");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-hq"),
        &hq,
    );
    let hq_arg = hq.to_string_lossy().into_owned();
    let mut pty = Pty::spawn(&["--hq", &hq_arg, "--readonly"], 160, 48, home.path());
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Ceremony simulator")
    });
    pty.send(b"C");
    pty.wait_for("the custody view", T, |s| {
        s.contains("serial 4242424242")
            && s.contains("✓ manifest match")
            && s.contains("OVERDUE by")
    });
    // A seal audit recorded now: the view follows the files.
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(hq.join("controls/trust/chain_manifest.json")).unwrap_or_default(),
    )
    .unwrap_or_else(|e| panic!("manifest: {e}"));
    let fp = manifest["root_fingerprint_sha256"]
        .as_str()
        .unwrap_or_default();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(
        hq.join("custody/records/quarterly_audit_2099Q4.json"),
        serde_json::json!({"ts_utc": now, "auditors": ["alice", "bob"], "seal_ok": true,
            "photos": [], "root_fingerprint": fp, "notes": "no anomalies"})
        .to_string(),
    )
    .unwrap_or_else(|e| panic!("write audit: {e}"));
    pty.wait_for("the new audit", T, |s| {
        s.contains("custody ok") && s.contains("next due")
    });
    pty.send(b"\x1b");
    pty.wait_for("the scenarios again", T, |s| !s.contains("custody ok"));
    pty.send(b"1v");
    pty.wait_for("the sync view", T, |s| {
        s.contains("Changes, newest first") && s.contains("after 72 h: hq_admin")
    });
    pty.send(b"P");
    pty.wait_for("the policy overlay", T, |s| {
        s.contains("no-direct-push") && s.contains("ontology → llm → rag → physical")
    });
    // Esc and q apart: together a terminal reads them as Alt-q.
    pty.send(b"\x1b");
    pty.wait_for("the overlay closed", T, |s| !s.contains("no-direct-push"));
    pty.send(b"q");
    pty.wait_exit(T);
}
