//! End to end: rehearse `witness-no-show` in the real `lumen demo` by keypress, to
//! the summary; the transcript file exists and `lumen ceremony verify` accepts it,
//! and the ceremony_rehearsal ledger entry was written (the demo has an operator key);
//! on `q` the transcript is kept in the data directory and the demo says where.

mod common;

use std::time::Duration;

use common::pty::Pty;

const T: Duration = Duration::from_secs(10);

#[test]
fn rehearse_a_scenario_by_keypress_to_a_verified_transcript() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Ceremony simulator")
    });
    pty.send(b"5z");
    pty.wait_for("the zoomed scenario list", T, |s| s.contains("scenarios ┓"));
    // witness-no-show is the eighth shipped scenario.
    pty.send(b"gjjjjjjj");
    pty.wait_for("witness-no-show selected", T, |s| {
        s.contains("A witness who does not show up")
    });
    pty.send(b"\r");
    pty.wait_for("the setup screen", T, |s| s.contains("Start the rehearsal"));
    pty.send(b"G\r");
    pty.wait_for("step 1", T, |s| s.contains("Step 1/4"));
    pty.send(b"\r");
    pty.wait_for("the prompt for step 1", T, |s| {
        s.contains("Alice: type `ok`")
    });
    pty.send(b"ok\r");
    pty.wait_for("the anomaly", T, |s| s.contains("ANOMALY — witness_absent"));
    // The first response: postpone to the standby date.
    pty.send(b"\r");
    pty.wait_for("the quiz", T, |s| s.contains("Quiz question 1"));
    pty.send(b"\r");
    pty.wait_for("the answer prompt", T, |s| s.contains("answer"));
    pty.send(b"an independent observer signs the record\r");
    let screen = pty.wait_for("the saved summary", T, |s| {
        s.contains("PASSED") && s.contains("ledger: ceremony_rehearsal")
    });
    let path = screen
        .lines()
        .find_map(|l| l.split("transcript: ").nth(1))
        .map(|rest| rest.trim_end_matches(|c: char| c == '┃' || c.is_whitespace()))
        .unwrap_or_else(|| panic!("no transcript path on screen:\n{screen}"))
        .to_string();
    assert!(
        path.contains("/custody/sim/artifacts/witness-no-show-") && path.ends_with(".jsonl"),
        "{path}"
    );
    assert!(std::path::Path::new(&path).is_file(), "{path} missing");
    let out = common::bin::lumen()
        .args(["ceremony", "verify", &path])
        .output()
        .unwrap_or_else(|e| panic!("lumen ceremony verify: {e}"));
    assert!(
        out.status.success(),
        "verify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Esc keeps the summary reachable; q quits cleanly.
    pty.send(b"\x1b");
    pty.wait_for("the list with the last summary", T, |s| {
        s.contains("last summary")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);
    assert!(pty.restored());
    // The demo directory is gone, but the transcript was kept in the data directory
    // and the last lines say where.
    assert!(!std::path::Path::new(&path).exists(), "{path} left behind");
    let name = std::path::Path::new(&path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("transcript name"))
        .to_string();
    let kept = home.path().join("data/lumen/demo-transcripts").join(&name);
    assert!(kept.is_file(), "{} not kept", kept.display());
    pty.wait_for("where the transcript went", T, |s| {
        s.contains("lumen demo: ceremony transcript kept in") && s.contains(&name)
    });
    let out = common::bin::lumen()
        .args(["ceremony", "verify"])
        .arg(&kept)
        .output()
        .unwrap_or_else(|e| panic!("lumen ceremony verify: {e}"));
    assert!(out.status.success(), "the kept transcript verifies");
}
