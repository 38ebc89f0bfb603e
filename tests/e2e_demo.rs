//! End to end: the real `lumen demo` in a pseudo-terminal. Waits (polling) for all
//! five panes, checks the screen changes by itself, opens help, resizes to 80×24 and
//! 20×5, quits with `q` and checks the exit code and the terminal restore.

mod common;

use std::time::Duration;

use common::pty::Pty;

const TITLES: [&str; 5] = [
    "Branch health",
    "Ledger stream",
    "Cost meter",
    "Rhythm map",
    "Ceremony simulator",
];

#[test]
fn demo_runs_live_in_a_terminal() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    let first = pty.wait_for("all five pane titles", Duration::from_secs(20), |s| {
        TITLES.iter().all(|t| s.contains(t))
    });
    // Live data: the exporter's gauges and the ledger arrive within seconds.
    pty.wait_for("live exporter data", Duration::from_secs(10), |s| {
        s.contains("gateway ")
    });
    pty.wait_for(
        "the screen to change by itself",
        Duration::from_secs(10),
        |s| s != first,
    );
    pty.send(b"?");
    pty.wait_for("the help overlay", Duration::from_secs(5), |s| {
        s.contains("Help")
    });
    pty.send(b"\x1b");
    pty.wait_for("help to close", Duration::from_secs(5), |s| {
        !s.contains("Help — keys")
    });
    pty.resize(80, 24);
    pty.wait_for("tabbed layout at 80x24", Duration::from_secs(5), |s| {
        s.contains("1 Health") && s.contains("5 Ceremony")
    });
    pty.resize(20, 5);
    pty.wait_for("a tiny screen", Duration::from_secs(5), |s| {
        s.contains("lumen")
    });
    pty.resize(160, 48);
    pty.wait_for("full layout again", Duration::from_secs(5), |s| {
        TITLES.iter().all(|t| s.contains(t))
    });
    pty.send(b"q");
    let code = pty.wait_exit(Duration::from_secs(10));
    assert_eq!(code, 0, "exit code");
    assert!(pty.restored(), "the alternate screen was left on exit");
}

#[test]
fn sigterm_restores_the_terminal() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo"], 120, 40, home.path());
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Branch health")
    });
    let pid = pty.child.process_id().unwrap_or_else(|| panic!("no pid"));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(status.is_ok_and(|s| s.success()));
    let code = pty.wait_exit(Duration::from_secs(10));
    assert_eq!(code, 0);
    assert!(pty.restored(), "terminal restored after SIGTERM");
}
