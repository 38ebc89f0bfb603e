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

/// The demo's directories under `tmp` (the child's TMPDIR).
fn demo_dirs(tmp: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(tmp)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("lumen-demo-"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Poll until `pred` holds (or panic after `timeout`, saying `what`).
fn poll(what: &str, timeout: Duration, pred: impl Fn() -> bool) {
    let end = std::time::Instant::now() + timeout;
    while !pred() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start the demo with its TMPDIR inside `home`; returns the pty, the demo directory
/// and its operator key once the console is up.
fn demo_in(home: &std::path::Path, args: &[&str]) -> (Pty, std::path::PathBuf, std::path::PathBuf) {
    let tmp = home.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let tmp_s = tmp.to_str().unwrap_or_else(|| panic!("utf8 tmp"));
    let pty = Pty::spawn_env(args, 120, 40, home, &[("TMPDIR", tmp_s)]);
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Branch health")
    });
    let dirs = demo_dirs(&tmp);
    assert_eq!(
        dirs.len(),
        1,
        "one demo directory in {}: {dirs:?}",
        tmp.display()
    );
    let dir = dirs[0].clone();
    let key = dir.join("hq-root/.demo/operator.pem");
    assert!(key.is_file(), "the demo operator key {}", key.display());
    (pty, dir, key)
}

#[test]
fn quitting_removes_the_demo_directory_and_says_so() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (mut pty, dir, _) = demo_in(home.path(), &["demo"]);
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    assert!(!dir.exists(), "{} left behind", dir.display());
    // Said on stdout after the terminal was restored.
    pty.wait_for("the goodbye line", Duration::from_secs(5), |s| {
        s.contains("lumen demo: removed the demo directory") && s.contains("--keep")
    });
}

#[test]
fn sighup_removes_the_demo_directory_and_its_key() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (mut pty, dir, key) = demo_in(home.path(), &["demo"]);
    let pid = pty.child.process_id().unwrap_or_else(|| panic!("no pid"));
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status();
    assert!(status.is_ok_and(|s| s.success()));
    poll(
        "the demo directory to disappear after SIGHUP",
        Duration::from_secs(10),
        || !dir.exists(),
    );
    assert!(!key.exists());
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn sigterm_removes_the_demo_directory() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (mut pty, dir, _) = demo_in(home.path(), &["demo"]);
    let pid = pty.child.process_id().unwrap_or_else(|| panic!("no pid"));
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    assert!(status.is_ok_and(|s| s.success()));
    poll(
        "the demo directory to disappear after SIGTERM",
        Duration::from_secs(10),
        || !dir.exists(),
    );
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
}

#[test]
fn keep_leaves_the_demo_directory_and_says_where() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (mut pty, dir, key) = demo_in(home.path(), &["demo", "--keep"]);
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    assert!(dir.join("hq-root/hq/ledger/ledger.jsonl").is_file());
    assert!(key.is_file());
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_else(|| panic!("dir name"))
        .to_string();
    pty.wait_for("where the directory is", Duration::from_secs(5), |s| {
        s.contains("lumen demo: kept the demo directory") && s.contains(&name)
    });
    pty.wait_for("the key warning", Duration::from_secs(5), |s| {
        s.contains("private key")
    });
}
