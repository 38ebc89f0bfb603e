//! The offset index: every line readable by number, pending tail excluded until
//! terminated, incremental growth, background build with progress.

use std::io::Write;
use std::time::{Duration, Instant};

use lumen::store::index::LineIndex;

fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn index_reads_back_every_line_and_grows() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let mut f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut want: Vec<Vec<u8>> = Vec::new();
    for i in 0..50_000u32 {
        // Mixed lengths, empty lines and one line longer than the 1 MiB read block.
        let line = match i {
            7 => Vec::new(),
            40_000 => vec![b'x'; (1 << 20) + 17],
            _ => format!(
                "{{\"n\":{i},\"pad\":\"{}\"}}",
                "p".repeat((i % 300) as usize)
            )
            .into_bytes(),
        };
        f.write_all(&line)
            .and_then(|()| f.write_all(b"\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        want.push(line);
    }
    f.write_all(b"{\"partial\"")
        .unwrap_or_else(|e| panic!("{e}"));
    f.flush().unwrap_or_else(|e| panic!("{e}"));

    let (idx, handle) = LineIndex::spawn_build(&path);
    handle
        .join()
        .unwrap_or_else(|_| panic!("index thread panicked"));
    assert_eq!(idx.error(), None);
    assert_eq!(idx.len(), want.len() as u64);
    let p = idx.progress();
    assert!(!p.building);
    assert_eq!(p.bytes_total, p.bytes_done);
    for i in [0u64, 1, 7, 8, 39_999, 40_001, 49_999] {
        assert_eq!(
            idx.line(i).ok().flatten().map(|l| l.bytes),
            Some(want[i as usize].clone()),
            "line {i}"
        );
    }
    // The line over the 1 MiB limit is read only for its head, with its true length.
    let long = idx
        .line(40_000)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("line 40000"));
    assert!(long.is_cut());
    assert_eq!(long.len, (1 << 20) + 17);
    assert_eq!(long.bytes.len(), lumen::store::index::LONG_LINE_HEAD);
    assert!(long.bytes.iter().all(|b| *b == b'x'));
    let page = idx.lines(100, 50).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.len(), 50);
    assert!(page.iter().all(|l| l.bytes == want[l.index as usize]));
    assert_eq!(
        idx.line(50_000).ok().flatten(),
        None,
        "the pending line is not indexed"
    );

    // The writer completes the line and appends more: only the new part is read.
    f.write_all(b":1}\nlast\n")
        .unwrap_or_else(|e| panic!("{e}"));
    f.flush().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(idx.refresh().ok(), Some(2));
    assert_eq!(
        idx.line(50_000).ok().flatten().map(|l| l.bytes),
        Some(b"{\"partial\":1}".to_vec())
    );
    assert_eq!(
        idx.line(50_001).ok().flatten().map(|l| l.bytes),
        Some(b"last".to_vec())
    );
    assert_eq!(idx.refresh().ok(), Some(0));
}

#[test]
fn background_build_is_usable_while_running() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    let body = "{\"id\":\"x\"}\n".repeat(400_000);
    std::fs::write(&path, &body).unwrap_or_else(|e| panic!("{e}"));
    let (idx, handle) = LineIndex::spawn_build(&path);
    // The handle answers at once, whatever the progress.
    let _ = idx.line(0);
    wait_for("the build to finish", || !idx.progress().building);
    handle
        .join()
        .unwrap_or_else(|_| panic!("index thread panicked"));
    assert_eq!(idx.len(), 400_000);
    assert_eq!(idx.progress().bytes_done, body.len() as u64);
    let missing = LineIndex::new(&dir.path().join("nope.jsonl"));
    assert_eq!(missing.refresh().ok(), Some(0));
    assert!(missing.is_empty());
}

/// Peak RSS of indexing a big file: `LUMEN_BIG_LEDGER=/path cargo test --test
/// ledger_index peak_rss -- --ignored --nocapture`. Prints VmHWM; fails over 200 MB.
#[test]
#[ignore]
fn peak_rss_indexing_a_big_file() {
    let Ok(path) = std::env::var("LUMEN_BIG_LEDGER") else {
        println!("LUMEN_BIG_LEDGER not set; skipping");
        return;
    };
    let hwm = || {
        std::fs::read_to_string("/proc/self/status")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|k| k.parse::<u64>().ok())
            })
            .unwrap_or(0)
    };
    let before = hwm();
    let started = Instant::now();
    let (idx, handle) = LineIndex::spawn_build(std::path::Path::new(&path));
    handle
        .join()
        .unwrap_or_else(|_| panic!("index thread panicked"));
    let took = started.elapsed();
    let last = idx
        .line(idx.len().saturating_sub(1))
        .ok()
        .flatten()
        .map(|l| l.bytes)
        .unwrap_or_default();
    let peak = hwm();
    println!(
        "indexed {} lines ({} bytes) in {:.2?}; VmHWM before {} kB, after {} kB; last line {} bytes",
        idx.len(),
        idx.progress().bytes_done,
        took,
        before,
        peak,
        last.len()
    );
    assert!(peak < 200 * 1024, "peak RSS {peak} kB");
}
