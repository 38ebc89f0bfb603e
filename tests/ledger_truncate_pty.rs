//! The real console in a pseudo-terminal while the ledger it is filtering is
//! truncated in place (logrotate's `copytruncate`): to a third of its size, then to
//! zero, each time while the `/` filter scan is reading the file. The console must
//! survive (it used to die of SIGBUS with the file memory-mapped), say that the
//! ledger is being read again, end with the counts of the file as it is now, keep
//! following appends, and on `q` give the terminal back (alternate screen left,
//! cursor shown).

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use common::pty::Pty;
use serde_json::json;

const LINES: u64 = 400_000;
/// Every line matches it, and it needs the JSON parse of every line (the slowest).
const FILTER: &str = "actor:c? since:2025-12-31";

fn write(path: &Path, text: &[u8]) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn line(i: u64) -> String {
    let b = ["koosy", "papafly", "orbit", "atlas"][(i % 4) as usize];
    format!(
        r#"{{"id":"TXN-20260101-{i:07}","branch":"{b}","event":"deploy","actor":"ci","timestamp":"2026-01-01T00:00:00Z"}}"#
    )
}

fn body() -> Vec<u8> {
    let mut text = String::with_capacity(LINES as usize * 120);
    for i in 1..=LINES {
        text.push_str(&line(i));
        text.push('\n');
    }
    text.into_bytes()
}

/// Thousands separators, as the pane prints counts.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The percentage in `scanning N%`, if the screen shows one.
fn scanning(screen: &str) -> Option<u64> {
    let at = screen.find("scanning ")? + "scanning ".len();
    let digits: String = screen
        .get(at..)?
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Submit the filter, and poll until the scan is seen reading the file (a
/// percentage strictly between 0 and 100). A scan that finished between two polls
/// (a fast machine) is started again, a few times at most.
fn submit_and_catch_the_scan(pty: &mut Pty) {
    for _ in 0..10 {
        pty.send(b"/");
        pty.wait_for("the filter prompt", Duration::from_secs(5), |s| {
            s.contains("filter")
        });
        pty.send(b"\x15"); // ctrl-u: clear the recalled text
        pty.send(FILTER.as_bytes());
        pty.send(b"\r");
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            let s = pty.screen();
            match scanning(&s) {
                Some(p) if p > 0 && p < 100 => return,
                Some(_) => {}
                // Not scanning any more: finished before it was seen; submit again.
                None if s.contains(" matches") && start.elapsed() > Duration::from_millis(200) => {
                    break;
                }
                None => {}
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    panic!(
        "never saw the filter scan in progress; screen:\n{}",
        pty.screen()
    );
}

/// `Pty::wait_for`, failing at once (with the exit status) if the console died.
fn wait_alive(pty: &mut Pty, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
    let start = Instant::now();
    loop {
        if let Ok(Some(status)) = pty.child.try_wait() {
            panic!(
                "the console died ({status:?}) while waiting for {what}; last screen:\n{}",
                pty.screen()
            );
        }
        if pred(&pty.screen()) {
            return;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; screen:\n{}",
            pty.screen()
        );
        std::thread::sleep(Duration::from_millis(40));
    }
}

fn complete_lines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|b| **b == b'\n').count() as u64
}

#[test]
fn truncating_the_ledger_during_a_filter_scan_is_survived_and_reported() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("hq-root");
    write(
        &root.join("hq/registry/branches.json"),
        json!({"hqVersion": "2.1", "branches": []})
            .to_string()
            .as_bytes(),
    );
    let ledger = root.join("hq/ledger/ledger.jsonl");
    let full = body();
    write(&ledger, &full);

    let root_arg = root.to_string_lossy().to_string();
    let mut pty = Pty::spawn(&["--hq", &root_arg, "--readonly"], 160, 48, dir.path());
    pty.wait_for("the console", Duration::from_secs(20), |s| {
        s.contains("Ledger stream")
    });
    pty.send(b"2");
    pty.send(b"z");
    let newest = format!("TXN-20260101-{LINES:07}");
    pty.wait_for("the newest line", Duration::from_secs(20), |s| {
        s.contains(&newest)
    });

    // 1. Cut to a third (mid-line) while the scan runs.
    submit_and_catch_the_scan(&mut pty);
    let cut = full.len() as u64 / 3;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&ledger)
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(cut).unwrap_or_else(|e| panic!("{e}"));
    wait_alive(
        &mut pty,
        "the re-read notice",
        Duration::from_secs(20),
        |s| s.contains("truncated"),
    );
    let left = complete_lines(full.get(..cut as usize).unwrap_or_default());
    let count = format!(" {} matches", group(left));
    wait_alive(&mut pty, &count, Duration::from_secs(30), |s| {
        s.contains(&count) && scanning(s).is_none()
    });

    // 2. The file is written again (same inode), then cut to zero during a scan.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&ledger)
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(0).unwrap_or_else(|e| panic!("{e}"));
    f.write_all(&full).unwrap_or_else(|e| panic!("{e}"));
    let count = format!(" {} matches", group(LINES));
    wait_alive(&mut pty, &count, Duration::from_secs(30), |s| {
        s.contains(&count) && scanning(s).is_none()
    });
    submit_and_catch_the_scan(&mut pty);
    f.set_len(0).unwrap_or_else(|e| panic!("{e}"));
    pty.wait_for(
        "0 matches after the cut to zero",
        Duration::from_secs(30),
        |s| s.contains(" 0 matches") && scanning(s).is_none() && s.contains("truncated"),
    );

    // Still alive and following: a line written now is matched and shown.
    drop(f);
    let live = r#"{"id":"TXN-LIVE-000001","branch":"koosy","event":"deploy","actor":"ci","timestamp":"2026-01-02T00:00:00Z"}"#;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&ledger)
        .unwrap_or_else(|e| panic!("{e}"));
    writeln!(f, "{live}").unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    wait_alive(
        &mut pty,
        "the appended line",
        Duration::from_secs(20),
        |s| s.contains("TXN-LIVE-000001") && s.contains(" 1 matches"),
    );

    pty.send(b"q");
    let code = pty.wait_exit(Duration::from_secs(20));
    assert_eq!(code, 0, "exit code; screen:\n{}", pty.screen());
    // The reader thread may still be draining the last bytes: poll for the restore.
    let start = Instant::now();
    while !pty.restored() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(pty.restored(), "the alternate screen was not left");
    let raw = pty.raw_bytes();
    let text = String::from_utf8_lossy(&raw);
    let hidden = text.rfind("\u{1b}[?25l");
    let shown = text.rfind("\u{1b}[?25h");
    assert!(
        matches!((hidden, shown), (Some(h), Some(s)) if s > h)
            || (hidden.is_none() && shown.is_some()),
        "the cursor was left hidden (last hide at {hidden:?}, last show at {shown:?})"
    );
}
