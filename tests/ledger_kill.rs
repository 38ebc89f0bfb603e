//! A writer killed with SIGKILL mid-append, looped 100 times (docs/PERF.md "a killed writer
//! leaves at most one pending partial line, never corrupts earlier ones", §4.2).
//!
//! Each round starts two writers at once: a *victim* that is killed with SIGKILL and a
//! *companion* `lumen ledger append` that is left to finish. The victim rotates through
//! three kinds, so the kill lands at different points:
//! - `lumen ledger append` killed after a random 0–30 ms from spawn (start-up, key load,
//!   lock wait, write, fsync);
//! - `lumen ledger append` killed a random 0–3 ms after the lock it was waiting for is
//!   released: the test holds the file's flock, polls `/proc/locks` until the victim is
//!   queued on it, then lets go — so the kill lands in or near the locked section;
//! - an external worker (this test binary re-run as `raw_writer_child`) that takes the
//!   flock and writes one unsigned line a few bytes per `write`, killed a random
//!   0–2 ms after its first bytes reach the file — this leaves torn lines.
//!
//! After every round: all bytes that were in the file before the round are unchanged
//! (SHA-256 of the old length compared), every new complete line is a signed entry, an
//! external line, or a torn prefix of the external line that the next append
//! terminated (docs/ledger.md: append ends a pending tail with `\n`, making it a reject);
//! only the last segment may be unterminated; the companion's line chains to the line
//! before it. At the end `lumen ledger verify` exits 0 with an unbroken chain, every
//! signature good, and exactly the torn lines as rejects.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

const ROUNDS: usize = 100;
const CHILD_ENV: &str = "LUMEN_KILL_TEST_RAW_WRITER";
const LINE_ENV: &str = "LUMEN_KILL_TEST_RAW_LINE";

fn lumen() -> Command {
    common::bin::lumen()
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: PathBuf,
}

impl Hq {
    fn ledger(&self) -> PathBuf {
        self.root.join("hq/ledger/ledger.jsonl")
    }
    fn append_cmd(&self, branch: &str) -> Command {
        let mut c = lumen();
        c.args(["ledger", "append", "--hq"])
            .arg(&self.root)
            .arg("--key")
            .arg(&self.key)
            .args(["--event", "deploy", "--branch", branch, "--json"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    let key = root.join("alice.pem");
    let o = lumen()
        .args(["keygen", "--id", "alice", "--out"])
        .arg(&key)
        .output()
        .unwrap_or_else(|e| panic!("keygen: {e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let entry: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    let keys = serde_json::json!({ "signers": [entry] });
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    Hq {
        _dir: dir,
        root,
        key,
    }
}

/// The external worker's line for round `n` (unsigned, unchained: legal, docs/ledger.md).
fn raw_line(n: usize) -> String {
    format!(
        r#"{{"id":"EXT-{n:04}","branch":"koosy","event":"llm_generate","tokens":{},"actor":"external-worker","note":"{}","timestamp":"2026-01-18T01:02:03Z"}}"#,
        n * 7,
        "x".repeat(64 + n % 50)
    )
}

/// Not a test of its own: the external writer that `sigkill_mid_append_…` runs as a
/// child process (this binary re-run with `CHILD_ENV` set). Without the env var it
/// returns at once.
#[test]
fn raw_writer_child() {
    let (Some(path), Some(line)) = (std::env::var_os(CHILD_ENV), std::env::var(LINE_ENV).ok())
    else {
        return;
    };
    let file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap_or_else(|e| panic!("{e}"));
    file.lock().unwrap_or_else(|e| panic!("lock: {e}"));
    let mut out = std::io::stdout();
    let _ = writeln!(out, "\nRAW-WRITER-LOCKED");
    let _ = out.flush();
    let mut bytes = line.into_bytes();
    bytes.push(b'\n');
    let mut rng = rand::rngs::StdRng::seed_from_u64(bytes.len() as u64);
    let mut w = &file;
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        let n = rng.random_range(1..=16).min(rest.len());
        let (chunk, tail) = rest.split_at(n);
        w.write_all(chunk).unwrap_or_else(|e| panic!("{e}"));
        rest = tail;
        // A slow writer: this is the behaviour under test, not synchronisation.
        std::thread::sleep(Duration::from_micros(200));
    }
    let _ = file.unlock();
}

fn spawn_raw_writer(ledger: &Path, line: &str) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    Command::new(exe)
        .args([
            "raw_writer_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, ledger)
        .env(LINE_ENV, line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn raw writer: {e}"))
}

/// Read the child's stdout until it says it holds the lock (or exits).
fn wait_locked(child: &mut Child) -> bool {
    let Some(out) = child.stdout.take() else {
        return false;
    };
    BufReader::new(out)
        .lines()
        .map_while(Result::ok)
        .any(|l| l.trim() == "RAW-WRITER-LOCKED")
}

/// Whether `/proc/locks` shows `pid` queued (blocked) on a lock.
fn is_waiting_on_lock(pid: u32) -> Option<bool> {
    let s = std::fs::read_to_string("/proc/locks").ok()?;
    Some(s.lines().any(|l| {
        let mut f = l.split_whitespace();
        f.next();
        f.next() == Some("->") && l.split_whitespace().nth(5) == Some(&pid.to_string())
    }))
}

/// Poll until the file is longer than `len` (true) or `timeout` passes (false).
fn wait_for_growth(path: &Path, len: usize, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if std::fs::metadata(path).is_ok_and(|m| m.len() > len as u64) {
            return true;
        }
        std::thread::sleep(Duration::from_micros(50));
    }
    false
}

fn busy_wait_micros(us: u64) {
    // Jitter to vary the kill point, not synchronisation; sleep has ~50 µs slack, so
    // short delays spin.
    let until = Instant::now() + Duration::from_micros(us);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

fn kill9(child: &mut Child) {
    // SIGKILL: `Child::kill` sends SIGKILL on Unix.
    let _ = child.kill();
}

fn finish(child: Child, what: &str) -> Output {
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Split into complete lines (without `\n`) and the unterminated tail.
fn split_lines(bytes: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let (done, tail) = bytes.split_at(end);
    let mut lines: Vec<&[u8]> = done.split(|&b| b == b'\n').collect();
    lines.pop();
    (lines, tail)
}

#[test]
fn sigkill_mid_append_100_times_never_damages_earlier_lines() {
    let started = Instant::now();
    let h = hq();
    let ledger = h.ledger();
    // One good signed line to start from.
    let o = h
        .append_cmd("seed")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let seed = std::env::var("LUMEN_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let proc_locks = is_waiting_on_lock(0).is_some();
    let mut killed = 0usize;
    let mut torn_rounds = 0usize;
    let mut expected_rejects: Vec<u64> = Vec::new();
    let raw_lines: Vec<String> = (0..ROUNDS).map(raw_line).collect();

    for round in 0..ROUNDS {
        let before = std::fs::read(&ledger).unwrap_or_else(|e| panic!("{e}"));
        let before_hash = sha(&before);
        let kind = round % 3;
        let raw = &raw_lines[round];

        let (mut victim, mut companion) = match kind {
            0 => {
                let v = h
                    .append_cmd("victim")
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"));
                let c = h
                    .append_cmd("companion")
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"));
                busy_wait_micros(rng.random_range(0..30_000));
                (v, c)
            }
            1 if proc_locks => {
                let holder = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&ledger)
                    .unwrap_or_else(|e| panic!("{e}"));
                holder.lock().unwrap_or_else(|e| panic!("{e}"));
                let v = h
                    .append_cmd("victim")
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"));
                let c = h
                    .append_cmd("companion")
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"));
                let deadline = Instant::now() + Duration::from_secs(10);
                while is_waiting_on_lock(v.id()) != Some(true) {
                    assert!(
                        Instant::now() < deadline,
                        "round {round}: the victim never queued on the ledger lock"
                    );
                    std::thread::yield_now();
                }
                holder.unlock().unwrap_or_else(|e| panic!("{e}"));
                drop(holder);
                busy_wait_micros(rng.random_range(0..3_000));
                (v, c)
            }
            _ => {
                let mut v = spawn_raw_writer(&ledger, raw);
                let c = h
                    .append_cmd("companion")
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(
                    wait_locked(&mut v),
                    "round {round}: raw writer never locked"
                );
                // Wait for its first bytes: on a busy 2-core machine the writer can sit
                // unscheduled for milliseconds after it reports the lock, and a kill
                // then tears nothing (CI once saw 4 torn lines in 33 such rounds).
                assert!(
                    wait_for_growth(&ledger, before.len(), Duration::from_secs(5)),
                    "round {round}: raw writer locked but never wrote"
                );
                busy_wait_micros(rng.random_range(0..2_000));
                (v, c)
            }
        };
        kill9(&mut victim);
        let vo = finish(victim, "victim");
        if vo.status.signal() == Some(9) {
            killed += 1;
        }
        // The companion is never killed and must succeed whatever the victim left.
        let deadline = Instant::now() + Duration::from_secs(20);
        let co = loop {
            if let Ok(Some(_)) = companion.try_wait() {
                break finish(companion, "companion");
            }
            if Instant::now() > deadline {
                kill9(&mut companion);
                panic!("round {round}: the companion append hung (lock never released?)");
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        assert!(
            co.status.success(),
            "round {round}: companion append failed: {}",
            String::from_utf8_lossy(&co.stderr)
        );

        let after = std::fs::read(&ledger).unwrap_or_else(|e| panic!("{e}"));
        let old = after.get(..before.len()).unwrap_or_default();
        assert_eq!(
            sha(old),
            before_hash,
            "round {round}: bytes written before the kill changed"
        );

        // Every complete line: a signed entry, the external line, or a torn prefix of
        // the external line (a reject). Only the final segment may be unterminated.
        let (lines, tail) = split_lines(&after);
        let first_new = split_lines(&before).0.len();
        for (i, line) in lines.iter().enumerate().skip(first_new) {
            let parsed = serde_json::from_slice::<serde_json::Value>(line).ok();
            match parsed {
                Some(v) if v.get("sig").is_some() || v["id"].as_str().is_some() => {}
                _ => {
                    // A tail torn last round is terminated by this round's companion.
                    let prior = round.checked_sub(1).map(|r| raw_lines[r].as_bytes());
                    let torn = |r: &[u8]| r.starts_with(line) && !line.is_empty();
                    assert!(
                        torn(raw.as_bytes()) || prior.is_some_and(torn),
                        "round {round}: line {} is neither an entry nor a torn external line: {:?}",
                        i + 1,
                        String::from_utf8_lossy(line)
                    );
                    expected_rejects.push(i as u64 + 1);
                    torn_rounds += 1;
                }
            }
        }
        if !tail.is_empty() {
            assert!(
                raw.as_bytes().starts_with(tail),
                "round {round}: the pending tail is not a prefix of a killed write: {:?}",
                String::from_utf8_lossy(tail)
            );
        }

        // The companion's entry chains to the line before it.
        let j: serde_json::Value = serde_json::from_slice(&co.stdout)
            .unwrap_or_else(|e| panic!("round {round}: companion output: {e}"));
        let n = j["line"].as_u64().unwrap_or(0) as usize;
        assert!(n >= 2, "round {round}: companion line {n}");
        let mine: serde_json::Value = lines
            .get(n - 1)
            .and_then(|l| serde_json::from_slice(l).ok())
            .unwrap_or_else(|| panic!("round {round}: companion line {n} unreadable"));
        assert_eq!(mine["id"], j["id"], "round {round}");
        let prev_line = lines.get(n - 2).copied().unwrap_or_default();
        assert_eq!(
            mine["prev"].as_str(),
            Some(sha(prev_line).as_str()),
            "round {round}: the companion's prev is not the hash of line {}",
            n - 1
        );
    }

    // Terminate a last pending tail, if any, the way any next append does.
    let tail_pending = !split_lines(&std::fs::read(&ledger).unwrap_or_default())
        .1
        .is_empty();
    let o = h
        .append_cmd("final")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success());
    if tail_pending {
        let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_default();
        expected_rejects.push(j["line"].as_u64().unwrap_or(1) - 1);
        torn_rounds += 1;
    }

    let v = lumen()
        .args(["ledger", "verify", "--json", "--hq"])
        .arg(&h.root)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let report: serde_json::Value = serde_json::from_slice(&v.stdout)
        .unwrap_or_else(|e| panic!("verify output: {e}: {}", String::from_utf8_lossy(&v.stdout)));
    assert_eq!(v.status.code(), Some(0), "verify: {report}");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["pending"], false, "{report}");
    assert_eq!(report["chain"]["broken"], 0, "{report}");
    assert_eq!(report["signatures"]["bad"], 0, "{report}");
    let rejects: Vec<u64> = report["rejects"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["line"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(
        rejects, expected_rejects,
        "rejects are exactly the torn lines"
    );

    eprintln!(
        "{ROUNDS} rounds in {:.1?}: {killed} victims died by SIGKILL, {torn_rounds} torn lines, \
         {} lines, /proc/locks {}",
        started.elapsed(),
        report["lines"],
        if proc_locks { "used" } else { "absent" }
    );
    // The test must be able to see what it claims to test.
    assert!(
        killed >= ROUNDS / 3,
        "only {killed} victims were killed mid-run"
    );
    // Every raw-writer round (a third) is killed after its first bytes and well
    // before its last (~20 writes 200 µs apart): nearly all of them tear.
    assert!(
        torn_rounds >= ROUNDS / 6,
        "only {torn_rounds} torn lines: kills never landed mid-line"
    );
}
