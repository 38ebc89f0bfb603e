//! The ledger file under stress (issue 13): lines over the 1 MiB limit are rejects that
//! never drop their neighbours and still chain; a signed append after one names the
//! right `prev`; a write that fails on a full disk is undone; exit codes tell a
//! missing root or ledger apart from a good one; negative or non-finite numbers are
//! rejects; a file truncated or replaced during `stats`/`verify` is reported and read
//! again, never a crash.

mod common;

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use lumen::domain::ledger::MAX_LINE;
use lumen::store::keys::Keyring;
use lumen::store::stats::{Rates, stats_file, stats_file_with};
use lumen::store::verify::{verify_file, verify_file_with};
use sha2::{Digest, Sha256};

fn lumen() -> Command {
    let mut c = common::bin::lumen();
    c.env("XDG_CONFIG_HOME", "/nonexistent-lumen-test")
        .env("XDG_DATA_HOME", "/nonexistent-lumen-test");
    c
}

fn run(args: &[&str]) -> Output {
    lumen()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run lumen: {e}"))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "output {:?} (stderr {:?}): {e}",
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        )
    })
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
    fn arg(&self) -> &str {
        self.root.to_str().unwrap_or_default()
    }
    fn key_arg(&self) -> &str {
        self.key.to_str().unwrap_or_default()
    }
    fn append(&self, event: &str) -> Output {
        run(&[
            "ledger",
            "append",
            "--hq",
            self.arg(),
            "--key",
            self.key_arg(),
            "--event",
            event,
            "--branch",
            "koosy",
            "--json",
        ])
    }
    fn cmd(&self, args: &[&str]) -> Output {
        let mut all = args.to_vec();
        all.extend(["--hq", self.arg(), "--json"]);
        run(&all)
    }
}

/// An HQ root with one registered signer `alice` and an empty `hq/ledger/` directory.
fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    let key = dir.path().join("alice.pem");
    let o = run(&[
        "keygen",
        "--out",
        key.to_str().unwrap_or_default(),
        "--id",
        "alice",
    ]);
    assert!(o.status.success(), "keygen: {}", stderr(&o));
    let entry = json(&o);
    let keys = serde_json::json!({ "signers": [entry] });
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    Hq {
        _dir: dir,
        root,
        key,
    }
}

fn entry(id: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","branch":"koosy","event":"llm_generate","timestamp":"2026-01-18T01:04:10Z"{extra}}}"#
    )
}

/// A well-formed JSON object of exactly `len` bytes (too long to be an entry when
/// `len` > 1 MiB).
fn long_line(len: usize) -> Vec<u8> {
    let head = br#"{"id":"LONG","branch":"koosy","event":"deploy","timestamp":"2026-01-18T01:04:10Z","note":""#;
    let mut l = head.to_vec();
    l.resize(len - 2, b'x');
    l.extend_from_slice(b"\"}");
    l
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn last_line_json(p: &Path) -> serde_json::Value {
    let bytes = read(p);
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    let last = body.rsplit(|&b| b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(last).unwrap_or_else(|e| panic!("last line: {e}"))
}

#[test]
fn append_after_a_long_line_chains_it_and_verify_and_stats_keep_its_neighbours() {
    let h = hq();
    let long = long_line(4 * MAX_LINE + 123);
    let mut f = Vec::new();
    f.extend_from_slice(entry("A", "").as_bytes());
    f.push(b'\n');
    f.extend_from_slice(&long);
    f.push(b'\n');
    std::fs::write(h.ledger(), &f).unwrap_or_else(|e| panic!("{e}"));

    // The long line is the last line: `prev` is the hash of its exact bytes.
    let o = h.append("kill_switch_activated");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["line"], 3);
    assert_eq!(last_line_json(&h.ledger())["prev"], sha_hex(&long));

    // More history after it: an unsigned line, the long line again, then a pending
    // long segment that the next append terminates (a reject, chained over).
    let mut more = entry("B", r#","tokens":7"#).into_bytes();
    more.push(b'\n');
    more.extend_from_slice(&long);
    more.push(b'\n');
    more.extend_from_slice(entry("C", r#","tokens":5"#).as_bytes());
    more.push(b'\n');
    let pending = long_line(2 * MAX_LINE);
    more.extend_from_slice(&pending);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    std::io::Write::write_all(&mut file, &more).unwrap_or_else(|e| panic!("{e}"));
    drop(file);

    let v = json(&h.cmd(&["ledger", "verify"]));
    assert_eq!(v["pending"], true, "{v}");
    let o = h.append("kill_switch_released");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(json(&o)["line"], 8);
    assert_eq!(last_line_json(&h.ledger())["prev"], sha_hex(&pending));

    let o = h.cmd(&["ledger", "verify"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(v["lines"], 8);
    assert_eq!(v["entries"], 5, "{v}");
    assert_eq!(v["chain"]["ok"], 2);
    assert_eq!(v["chain"]["broken"], 0);
    assert_eq!(v["signatures"]["ok"], 2);
    assert_eq!(v["pending"], false);
    let rejects: Vec<(u64, u64)> = v["rejects"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or(0),
                r["offset"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let line_a = entry("A", "").len() as u64 + 1;
    let at2 = line_a;
    assert_eq!(rejects.len(), 3, "{v}");
    assert_eq!(rejects[0], (2, at2));
    assert!(
        v["rejects"][0]["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("over the 1 MiB limit"),
        "{v}"
    );
    assert_eq!(rejects[1].0, 5);
    assert_eq!(rejects[2].0, 7);

    let o = h.cmd(&["ledger", "stats"]);
    let s = json(&o);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(s["lines"], 8);
    assert_eq!(s["entries"], 5);
    assert_eq!(s["rejects"], 3);
    assert_eq!(s["branches"]["koosy"]["tokens"], 12);

    // The Merkle tree has the long lines as leaves: a proof for the line after one.
    let o = h.cmd(&["ledger", "prove", "--id", "C"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["index"], 5);
    let o = run(&[
        "ledger",
        "checkpoint",
        "--hq",
        h.arg(),
        "--key",
        h.key_arg(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(json(&o)["size"], 8);
    let o = h.cmd(&["ledger", "verify"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(json(&o)["checkpoints"]["ok"], 1);
}

#[test]
fn a_line_just_over_the_limit_is_a_reject_and_one_at_it_is_read() {
    let h = hq();
    let at = long_line(MAX_LINE);
    let over = long_line(MAX_LINE + 1);
    let mut f = Vec::new();
    for l in [&at, &over, &at] {
        f.extend_from_slice(l);
        f.push(b'\n');
    }
    std::fs::write(h.ledger(), &f).unwrap_or_else(|e| panic!("{e}"));
    let v = json(&h.cmd(&["ledger", "verify"]));
    assert_eq!(v["entries"], 2, "{v}");
    assert_eq!(v["rejects"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["rejects"][0]["line"], 2);
    assert_eq!(v["rejects"][0]["offset"], MAX_LINE as u64 + 1);
    let s = json(&h.cmd(&["ledger", "stats"]));
    assert_eq!(
        (s["entries"].as_u64(), s["rejects"].as_u64()),
        (Some(2), Some(1))
    );
}

#[test]
fn missing_root_or_ledger_exits_2_with_the_cause_and_an_empty_ledger_is_fine() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let nowhere = dir.path().join("nonexistent");
    let nowhere = nowhere.to_str().unwrap_or_default();
    let h = hq();
    for sub in [
        vec!["ledger", "verify"],
        vec!["ledger", "stats"],
        vec!["ledger", "prove", "--id", "X"],
        vec!["ledger", "checkpoint", "--key", h.key_arg()],
    ] {
        let mut args = sub.clone();
        args.extend(["--hq", nowhere]);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{sub:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("no HQ root"), "{sub:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{sub:?}: {err}");
        assert!(o.stdout.is_empty(), "{sub:?} printed {:?}", o.stdout);

        // A root without a ledger file.
        let mut args = sub.clone();
        args.extend(["--hq", h.arg()]);
        let o = run(&args);
        assert_eq!(o.status.code(), Some(2), "{sub:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("no ledger"), "{sub:?}: {}", stderr(&o));
        assert!(!h.root.join("hq/ledger/checkpoints.jsonl").exists());
    }
    // An empty ledger is a ledger.
    std::fs::write(h.ledger(), b"").unwrap_or_else(|e| panic!("{e}"));
    for sub in [
        vec!["ledger", "verify"],
        vec!["ledger", "stats"],
        vec!["ledger", "checkpoint", "--key", h.key_arg()],
    ] {
        let o = h.cmd(&sub);
        assert_eq!(o.status.code(), Some(0), "{sub:?}: {}", stderr(&o));
    }
    // `append` does not make a new HQ tree where there is none.
    let o = run(&[
        "ledger",
        "append",
        "--hq",
        nowhere,
        "--key",
        h.key_arg(),
        "--event",
        "deploy",
        "--branch",
        "koosy",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no HQ root"), "{}", stderr(&o));
    assert!(!Path::new(nowhere).exists(), "append created {nowhere}");
    // Nor on a root without keys.json.
    let bare = dir.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap_or_else(|e| panic!("{e}"));
    let o = run(&[
        "ledger",
        "append",
        "--hq",
        bare.to_str().unwrap_or_default(),
        "--key",
        h.key_arg(),
        "--event",
        "deploy",
        "--branch",
        "koosy",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("keys.json"), "{}", stderr(&o));
    assert!(
        !bare.join("hq").exists(),
        "append created a tree in {}",
        bare.display()
    );
}

#[test]
fn negative_or_non_finite_tokens_and_cost_are_rejects_everywhere() {
    let h = hq();
    let good = [
        entry("G1", r#","tokens":100,"cost":0.5"#),
        entry("G2", r#","tokens":0,"cost":0"#),
        entry("G3", r#","cost":-0.0"#),
    ];
    let bad = [
        (entry("N1", r#","cost":-100"#), "cost"),
        (entry("N2", r#","cost":-0.001"#), "cost"),
        (entry("N3", r#","tokens":-5"#), "tokens"),
        (entry("N4", r#","tokens":1.5"#), "tokens"),
        (entry("N5", r#","cost":"12""#), "cost"),
        (entry("N6", r#","cost":null"#), "cost"),
        (entry("N7", r#","tokens":"9""#), "tokens"),
        (entry("N8", r#","cost":NaN"#), "JSON"),
        (entry("N9", r#","cost":Infinity"#), "JSON"),
        (entry("N10", r#","cost":1e999"#), "JSON"),
        (entry("N11", r#","cost":-1e999"#), "JSON"),
        (entry("N12", r#","tokens":18446744073709551616"#), "tokens"),
    ];
    let mut f = String::new();
    for g in &good {
        f.push_str(g);
        f.push('\n');
    }
    for (b, _) in &bad {
        f.push_str(b);
        f.push('\n');
    }
    std::fs::write(h.ledger(), &f).unwrap_or_else(|e| panic!("{e}"));

    let s = json(&h.cmd(&["ledger", "stats"]));
    assert_eq!(s["entries"], good.len() as u64, "{s}");
    assert_eq!(s["rejects"], bad.len() as u64, "{s}");
    assert_eq!(s["totals"]["cost"], 0.5, "{s}");
    assert_eq!(s["totals"]["tokens"], 100, "{s}");

    let v = json(&h.cmd(&["ledger", "verify"]));
    let reasons: Vec<String> = v["rejects"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(reasons.len(), bad.len(), "{v}");
    for ((line, field), reason) in bad.iter().zip(&reasons) {
        assert!(
            reason.contains(field),
            "{line}: reason {reason:?} does not name {field}"
        );
    }

    // Billing skips them too: the month's bill is not lowered.
    std::fs::write(
        h.root.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"koosy","repo":"d/koosy","domain":"koosy.example","visibility":"public"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let o = run(&["billing", "--month", "2026-01", "--hq", h.arg(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let b = json(&o);
    assert_eq!(b["cost"], 0.5, "{b}");
    assert_eq!(b["entries"], good.len() as u64, "{b}");
}

// ---- disk full ------------------------------------------------------------------

/// A small tmpfs mounted for one test, unmounted on drop.
struct Tmpfs {
    at: PathBuf,
}

impl Tmpfs {
    /// `None` (after saying why) when this machine does not let us mount; a failure
    /// under CI, which runs as root and can.
    fn mount(at: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap_or_else(|e| panic!("{e}"));
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output();
        match out {
            Ok(o) if o.status.success() => Some(Tmpfs {
                at: at.to_path_buf(),
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                if std::env::var_os("CI").is_some() {
                    panic!("CI is set but a tmpfs cannot be mounted: {why}");
                }
                eprintln!("SKIPPED disk-full test: cannot mount a tmpfs here ({why})");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.at).status();
    }
}

/// Fill the filesystem holding `dir` until a write fails with ENOSPC.
fn fill(dir: &Path) {
    let mut f = std::fs::File::create(dir.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    let block = vec![b'f'; 512];
    loop {
        match std::io::Write::write(&mut f, &block) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    // Byte by byte into the filler's last page, so no slack is left anywhere but in
    // the ledger's own last page.
    while let Ok(1) = std::io::Write::write(&mut f, b"f") {}
}

#[test]
fn a_signed_append_that_hits_a_full_disk_is_undone() {
    let h = hq();
    let mnt = h.root.join("hq/ledger");
    let Some(_fs) = Tmpfs::mount(&mnt, "64k") else {
        return;
    };
    let page = 4096usize;
    // Case 1: the file ends with `\n`; its last page has room for part of the signed
    // line but not all of it, so the write is torn by ENOSPC unless it is undone.
    let mut f = Vec::new();
    let mut i = 0;
    while f.len() < page - 200 {
        f.extend_from_slice(entry(&format!("U{i}"), "").as_bytes());
        f.push(b'\n');
        i += 1;
    }
    while f.len() < 2 * page - 60 {
        f.extend_from_slice(b"{\"pad\":1}\n");
    }
    std::fs::write(h.ledger(), &f).unwrap_or_else(|e| panic!("{e}"));
    fill(&mnt);
    let before = read(&h.ledger());
    let o = h.append("kill_switch_activated");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("No space left"), "{err}");
    assert!(err.contains("undone"), "{err}");
    let after = read(&h.ledger());
    assert!(
        after == before,
        "the failed append left the file at {} bytes, it was {}: {:?}",
        after.len(),
        before.len(),
        String::from_utf8_lossy(
            after
                .get(before.len().min(after.len())..)
                .unwrap_or_default()
        )
    );

    // Case 2: a dead writer's partial last line. The repair newline fits; the signed
    // line does not: the file ends as it was plus only the repair newline.
    std::fs::remove_file(mnt.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    f.extend_from_slice(b"{\"id\":\"torn");
    std::fs::write(h.ledger(), &f).unwrap_or_else(|e| panic!("{e}"));
    fill(&mnt);
    let o = h.append("kill_switch_activated");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let mut want = f.clone();
    want.push(b'\n');
    let after = read(&h.ledger());
    assert!(
        after == want,
        "expected only the repair newline: {} bytes, want {}: {:?}",
        after.len(),
        want.len(),
        String::from_utf8_lossy(after.get(f.len().min(after.len())..).unwrap_or_default())
    );

    // The ledger still verifies, and once there is room the append goes through.
    let o = h.cmd(&["ledger", "verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::remove_file(mnt.join("filler")).unwrap_or_else(|e| panic!("{e}"));
    let o = h.append("kill_switch_activated");
    assert!(o.status.success(), "{}", stderr(&o));
    let o = h.cmd(&["ledger", "verify"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["signatures"]["ok"], 1);
    assert_eq!(v["chain"]["ok"], 1);

    // A checkpoint that hits the full disk is undone the same way. One good checkpoint
    // first, then empty lines (ignored by readers) so its page has ~60 bytes left.
    let checkpoint = || {
        run(&[
            "ledger",
            "checkpoint",
            "--hq",
            h.arg(),
            "--key",
            h.key_arg(),
            "--json",
        ])
    };
    let o = checkpoint();
    assert!(o.status.success(), "{}", stderr(&o));
    let cps = mnt.join("checkpoints.jsonl");
    let mut c = read(&cps);
    c.resize(page - 60, b'\n');
    std::fs::write(&cps, &c).unwrap_or_else(|e| panic!("{e}"));
    fill(&mnt);
    let o = checkpoint();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("undone"), "{}", stderr(&o));
    let after = read(&cps);
    assert!(
        after == c,
        "the failed checkpoint left {} bytes behind",
        after.len().saturating_sub(c.len())
    );
    let o = h.cmd(&["ledger", "verify"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["checkpoints"]["ok"], 1, "{v}");
}

// ---- truncation and replacement during a scan ----------------------------------

fn big_ledger(path: &Path, lines: usize) -> Vec<u8> {
    let mut f = Vec::new();
    for i in 0..lines {
        f.extend_from_slice(entry(&format!("T{i}"), r#","tokens":10,"cost":0.25"#).as_bytes());
        f.push(b'\n');
    }
    std::fs::write(path, &f).unwrap_or_else(|e| panic!("{e}"));
    f
}

/// The offset just past line `n` (1-based) of `f`.
fn end_of_line(f: &[u8], n: usize) -> u64 {
    f.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n - 1)
        .map_or(f.len(), |(i, _)| i + 1) as u64
}

fn truncate(path: &Path, len: u64) {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|f| f.set_len(len))
        .unwrap_or_else(|e| panic!("truncate {}: {e}", path.display()));
}

#[test]
fn stats_over_a_file_truncated_mid_scan_reports_it_and_reads_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let f = big_ledger(&path, 20_000);
    let line_len = f.len() as u64 / 20_000;
    let once = AtomicBool::new(false);
    // Truncated (copytruncate-style, to 100 whole lines) after the chunks were planned
    // over the full length and before they are read.
    let hook = || {
        if !once.swap(true, Ordering::SeqCst) {
            truncate(&path, end_of_line(&f, 100));
        }
    };
    let s = stats_file_with(&path, &Rates::default(), None, 2, &hook)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(s.entries, 100, "the second read sees the truncated file");
    assert_eq!(s.notices.len(), 1, "{:?}", s.notices);
    assert!(s.notices[0].contains("shrank"), "{:?}", s.notices);
    assert!(
        s.notices[0].contains(path.to_str().unwrap_or_default()),
        "{:?}",
        s.notices
    );

    // A file that keeps shrinking is an error naming it, not a number.
    big_ledger(&path, 20_000);
    let left = AtomicUsize::new(20_000);
    let hook = || {
        let n = left.fetch_sub(1000, Ordering::SeqCst) - 1000;
        truncate(&path, n as u64 * line_len);
    };
    let e = stats_file_with(&path, &Rates::default(), None, 2, &hook)
        .err()
        .unwrap_or_else(|| panic!("a file shrinking at every attempt gave stats"));
    let msg = format!("{e:#}");
    assert!(msg.contains("kept changing"), "{msg}");
    assert!(msg.contains(path.to_str().unwrap_or_default()), "{msg}");
}

#[test]
fn verify_over_a_file_truncated_or_replaced_mid_scan_reports_it_and_reads_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let f = big_ledger(&path, 20_000);
    let mut fired = false;
    let mut hook = |no: u64| {
        if no == 10 && !fired {
            fired = true;
            truncate(&path, end_of_line(&f, 50));
        }
    };
    let r = verify_file_with(&path, &Keyring::default(), &[], vec![], &mut hook)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.entries, 50);
    assert_eq!(r.notices.len(), 1, "{:?}", r.notices);
    assert!(r.notices[0].contains("shrank"), "{:?}", r.notices);

    // Renamed over (logrotate's default): verified again, on the new file.
    big_ledger(&path, 20_000);
    let other = dir.path().join("new.jsonl");
    big_ledger(&other, 7);
    let mut fired = false;
    let mut hook = |no: u64| {
        if no == 10 && !fired {
            fired = true;
            std::fs::rename(&other, &path).unwrap_or_else(|e| panic!("{e}"));
        }
    };
    let r = verify_file_with(&path, &Keyring::default(), &[], vec![], &mut hook)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.entries, 7);
    assert!(r.notices[0].contains("replaced"), "{:?}", r.notices);
}

/// The race as it happens: another thread truncates and regrows the file over and
/// over while `stats` (several threads) and `verify` scan it. Nothing may crash (a
/// memory map would die with SIGBUS here); every result is either a count of whole
/// lines or the clear "kept changing" error.
#[test]
fn scans_survive_a_file_truncated_from_another_thread() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let full = big_ledger(&path, 60_000);
    let line_len = full.len() / 60_000;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let stop = Arc::clone(&stop);
        let path = path.clone();
        std::thread::spawn(move || {
            let mut rounds = 0u64;
            while !stop.load(Ordering::SeqCst) {
                truncate(&path, (line_len * 10) as u64);
                std::thread::yield_now();
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&path)
                    .unwrap_or_else(|e| panic!("{e}"));
                std::io::Write::write_all(&mut f, &full[line_len * 10..])
                    .unwrap_or_else(|e| panic!("{e}"));
                rounds += 1;
            }
            rounds
        })
    };
    for _ in 0..20 {
        match stats_file(&path, &Rates::default(), None) {
            Ok(s) => assert!(s.entries <= 60_000 && s.lines == s.entries + s.rejects),
            Err(e) => assert!(format!("{e:#}").contains("kept changing"), "{e:#}"),
        }
        match verify_file(&path, &Keyring::default(), &[], vec![]) {
            Ok(r) => assert!(r.entries <= 60_000),
            Err(e) => assert!(format!("{e:#}").contains("kept changing"), "{e:#}"),
        }
    }
    stop.store(true, Ordering::SeqCst);
    let rounds = writer.join().unwrap_or_else(|_| panic!("writer thread"));
    assert!(rounds > 0);
}

#[test]
fn the_scan_api_hands_long_lines_over_with_their_hashes() {
    use lumen::store::scan::{Line, ScanOptions, scan_lines};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("l.jsonl");
    let long = long_line(3 * MAX_LINE);
    let mut f = b"a\n".to_vec();
    f.extend_from_slice(&long);
    f.extend_from_slice(b"\nb\n");
    std::fs::write(&path, &f).unwrap_or_else(|e| panic!("{e}"));
    let mut seen = Vec::new();
    let end = scan_lines(
        &path,
        ScanOptions {
            hash_long_lines: true,
        },
        |l| {
            match l {
                Line::Held(r) => seen.push((r.no, r.offset, Some(r.bytes.to_vec()), None)),
                Line::Long(l) => seen.push((l.no, l.offset, None, l.hashes.map(|h| h.sha256))),
            }
            ControlFlow::Continue(())
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let want_sha: [u8; 32] = Sha256::digest(&long).into();
    assert_eq!(
        seen,
        vec![
            (1, 0, Some(b"a".to_vec()), None),
            (2, 2, None, Some(want_sha)),
            (3, 3 + long.len() as u64, Some(b"b".to_vec()), None),
        ]
    );
    assert_eq!(end.long_lines, 1);
}

/// A file big enough for verify's worker threads (several batches): duplicate ids,
/// timestamp regressions and rejects are reported exactly as a small file's are, in
/// line order, whatever thread found them.
#[test]
fn verify_on_worker_threads_reports_in_line_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let mut f = Vec::new();
    for i in 0..40_000u32 {
        let ts = if i % 9_999 == 5 {
            "2025-01-01T00:00:00Z"
        } else {
            "2026-01-18T01:04:10Z"
        };
        let line = if i == 25_000 {
            "not json".to_string()
        } else {
            format!(
                r#"{{"id":"T{}","branch":"koosy","event":"deploy","timestamp":"{ts}","pad":"{}"}}"#,
                i % 30_000,
                "p".repeat(40)
            )
        };
        f.extend_from_slice(line.as_bytes());
        f.push(b'\n');
    }
    assert!(f.len() > 4 << 20, "{} bytes", f.len());
    std::fs::write(&path, &f).unwrap_or_else(|e| panic!("{e}"));
    let r =
        verify_file(&path, &Keyring::default(), &[], vec![]).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(r.lines, 40_000);
    assert_eq!(r.entries, 39_999);
    assert_eq!(r.rejects.len(), 1);
    assert_eq!(r.rejects[0].line, 25_001);
    let want: Vec<String> = (0..40_000u32)
        .filter(|i| *i != 25_000)
        .flat_map(|i| {
            let no = i + 1;
            let mut w = Vec::new();
            if i >= 30_000 {
                w.push(format!(
                    "line {no}: duplicate id T{} (first at line {})",
                    i - 30_000,
                    i - 30_000 + 1
                ));
            }
            if i % 9_999 == 5 {
                w.push(format!(
                    "line {no}: timestamp 2025-01-01T00:00:00+00:00 is earlier than line {}'s 2026-01-18T01:04:10+00:00",
                    no - 1
                ));
            }
            w
        })
        .take(1000)
        .collect();
    assert_eq!(r.warnings.len(), want.len());
    for (got, want) in r.warnings.iter().zip(&want) {
        assert_eq!(got, want);
    }
}
