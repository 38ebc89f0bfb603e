//! The console's reading of a ledger it does not control: lines over the 1 MiB limit
//! are rejects listed with their line and offset (never held whole, never matched,
//! neighbours intact) in the index, the pages, the filter scan and the detail view;
//! a pending line that keeps growing is looked at once; a file truncated in place or
//! replaced by a rename is noticed and read again from the start.

mod common;

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lumen::domain::ledger::{MAX_LINE, RejectReason};
use lumen::domain::ledger_filter::LedgerFilter;
use lumen::protocol::Msg;
use lumen::protocol::{LedgerRequest, LedgerViewMsg};
use lumen::sources::ledger_reader::{LineScan, Piece, Reader, SCAN_WINDOW, scan_file};
use lumen::store::index::{LONG_LINE_HEAD, LedgerChange, LineIndex};

use common::t0;

fn entry(i: u64) -> String {
    format!(
        r#"{{"id":"TXN-{i:06}","branch":"koosy","event":"deploy","actor":"ci","timestamp":"2026-11-22T10:00:00Z"}}"#
    )
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Hq {
    fn ledger(&self) -> PathBuf {
        self.root.join("hq/ledger/ledger.jsonl")
    }
}

fn hq_with(body: &[u8]) -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(root.join("hq/ledger/ledger.jsonl"), body).unwrap_or_else(|e| panic!("{e}"));
    Hq { _dir: dir, root }
}

/// Lines 1..=9 are entries except: line 3 is exactly 1 MiB (legal size, but not
/// JSON: a plain reject), line 5 is 1 MiB + 1 byte, line 7 is longer than the scan
/// window (both over the limit). Returns the body and each line's (offset, length).
fn body_with_long_lines() -> (Vec<u8>, Vec<(u64, u64)>) {
    let mut body = Vec::new();
    let mut spans = Vec::new();
    for i in 1..=9u64 {
        let line = match i {
            3 => vec![b'a'; MAX_LINE],
            // Starts like an entry that matches every filter below.
            5 => {
                let mut l = entry(i).into_bytes();
                l.truncate(l.len() - 1);
                l.extend_from_slice(b",\"pad\":\"");
                l.resize(MAX_LINE + 1, b'x');
                l
            }
            7 => {
                let mut l = entry(i).into_bytes();
                l.truncate(l.len() - 1);
                l.extend_from_slice(b",\"pad\":\"");
                l.resize(SCAN_WINDOW + 12_345, b'y');
                l
            }
            _ => entry(i).into_bytes(),
        };
        spans.push((body.len() as u64, line.len() as u64));
        body.extend_from_slice(&line);
        body.push(b'\n');
    }
    (body, spans)
}

#[test]
fn index_and_pages_list_oversized_lines_as_rejects_without_reading_them() {
    let (body, spans) = body_with_long_lines();
    let h = hq_with(&body);
    let index = LineIndex::new(&h.ledger());
    index.refresh().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.len(), 9);
    // Read back through the index: long lines only by their head, with their length.
    for (i, (off, len)) in spans.iter().enumerate() {
        let l = index
            .line(i as u64)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("line {i}"));
        assert_eq!((l.offset, l.len), (*off, *len), "line {}", i + 1);
        if *len > MAX_LINE as u64 {
            assert!(l.is_cut());
            assert_eq!(l.bytes.len(), LONG_LINE_HEAD);
        } else {
            assert_eq!(l.bytes.len() as u64, *len);
        }
    }
    let reader = Reader::new(&h.root, index);
    let page = reader.page(1, 20).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.len(), 9);
    for p in &page {
        let (off, len) = spans[(p.line - 1) as usize];
        assert_eq!(p.offset, off);
        let r = p
            .record
            .as_ref()
            .unwrap_or_else(|| panic!("line {}", p.line));
        assert_eq!((r.line, r.offset), (p.line, off));
        match p.line {
            3 => assert!(
                matches!(r.parsed, Err(RejectReason::NotJson(_))),
                "{:?}",
                r.parsed
            ),
            5 | 7 => assert_eq!(r.parsed, Err(RejectReason::TooLong(len as usize))),
            _ => assert!(r.parsed.is_ok(), "line {}: {:?}", p.line, r.parsed),
        }
        assert!(r.excerpt.chars().count() <= 300);
    }
}

#[test]
fn the_filter_scan_skips_oversized_lines_and_keeps_line_numbers() {
    let (body, spans) = body_with_long_lines();
    let h = hq_with(&body);
    let cancel = AtomicBool::new(false);
    for text in ["branch:koosy", "koosy", "\"TXN-000007\"", "\"TXN-000008\""] {
        let filter = LedgerFilter::parse(text, t0()).unwrap_or_else(|e| panic!("{e}"));
        let mut lines = Vec::new();
        let mut done = false;
        let (bytes, count) = scan_file(&h.ledger(), &filter, &cancel, |p| {
            lines.extend(p.lines);
            done |= p.done;
        })
        .unwrap_or_else(|e| panic!("{text}: {e}"));
        assert!(done);
        assert_eq!((bytes, count), (body.len() as u64, 9), "{text}");
        let want: Vec<u64> = match text {
            "\"TXN-000007\"" => vec![],
            "\"TXN-000008\"" => vec![8],
            _ => vec![1, 2, 4, 6, 8, 9],
        };
        assert_eq!(lines, want, "{text}");
    }
    // The scan hands the line over the window over as one `Long` piece, unread.
    let mut scan = LineScan::open(&h.ledger())
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no file"));
    let mut longs = Vec::new();
    let mut total = 0u64;
    scan.run(body.len() as u64, &cancel, |p| match p {
        Piece::Long { line, offset, len } => {
            longs.push((line, offset, len));
            ControlFlow::Continue(1)
        }
        Piece::Lines { data, .. } => {
            let n = data.iter().filter(|b| **b == b'\n').count() as u64;
            total += n;
            ControlFlow::Continue(n)
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(longs, vec![(7, spans[6].0, spans[6].1)]);
    assert_eq!(total + 1, 9);
    assert_eq!(scan.position(), (body.len() as u64, 9));
}

#[test]
fn the_detail_of_an_oversized_line_shows_its_length_not_its_bytes() {
    let (body, spans) = body_with_long_lines();
    let h = hq_with(&body);
    for (line, known) in [(5u64, false), (7, false), (7, true)] {
        let (off, len) = spans[(line - 1) as usize];
        let d = if known {
            lumen::sources::ledger_reader::detail_with_len(
                &h.ledger(),
                line,
                off,
                Some(len),
                Err(anyhow::anyhow!("no keys")),
            )
        } else {
            lumen::sources::ledger_reader::detail(
                &h.ledger(),
                line,
                off,
                Err(anyhow::anyhow!("no keys")),
            )
        }
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((d.line, d.offset, d.len), (line, off, len));
        let reason = d.reject.unwrap_or_default();
        assert!(
            reason.contains(&format!("line is {len} bytes, over the 1 MiB limit")),
            "{reason}"
        );
        assert_eq!(d.pretty.len(), 1);
        assert!(d.pretty[0].chars().count() <= 300);
    }
    // The entry after a long line still checks its chain against it (unchained here).
    let (off, _) = spans[7];
    let d = lumen::sources::ledger_reader::detail(&h.ledger(), 8, off, Err(anyhow::anyhow!("x")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(d.reject.is_none());
}

#[test]
fn a_detail_at_an_offset_the_file_no_longer_has_is_a_change_not_garbage() {
    let body: String = (1..=50).map(|i| entry(i) + "\n").collect();
    let h = hq_with(body.as_bytes());
    let off = body.len() as u64 - entry(50).len() as u64 - 1;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(off / 2).unwrap_or_else(|e| panic!("{e}"));
    let e = lumen::sources::ledger_reader::detail(&h.ledger(), 50, off, Err(anyhow::anyhow!("x")))
        .err()
        .unwrap_or_else(|| panic!("a detail past the end"));
    assert_eq!(LedgerChange::of(&e), Some(LedgerChange::Truncated));
}

/// Lines of a page, as (line, id) for entries.
fn page_ids(reader: &Reader, first: u64, count: u64) -> Vec<(u64, String)> {
    reader
        .page(first, count)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter_map(|p| {
            let id = p.record?.parsed.ok()?.id;
            Some((p.line, id))
        })
        .collect()
}

#[test]
fn the_index_notices_truncation_in_place_and_a_replacement_and_reads_again() {
    let body: String = (1..=1_000).map(|i| entry(i) + "\n").collect();
    let h = hq_with(body.as_bytes());
    let index = LineIndex::new(&h.ledger());
    index.refresh().unwrap_or_else(|e| panic!("{e}"));
    let reader = Reader::new(&h.root, index.clone());
    assert_eq!(index.len(), 1_000);
    assert_eq!(index.epoch(), 0);

    // copytruncate: the same inode, cut to 100 lines, then a writer goes on.
    let keep: String = (1..=100).map(|i| entry(i) + "\n").collect();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(keep.len() as u64)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    // A page of the old offsets is not read against the shorter file.
    let msgs = reader.serve(LedgerRequest::Page {
        first: 900,
        count: 10,
    });
    assert!(
        matches!(msgs.as_slice(), [Msg::LedgerView(LedgerViewMsg::Reread { reason })]
            if reason.contains("truncated")),
        "{msgs:?}"
    );
    assert_eq!(index.epoch(), 1);
    assert_eq!(index.last_change(), Some(LedgerChange::Truncated));
    reader.refresh();
    assert_eq!(index.len(), 100);
    assert_eq!(
        page_ids(&reader, 100, 5),
        vec![(100, "TXN-000100".to_string())]
    );

    // Truncated to 0 and written again past the old length between two refreshes:
    // the length alone would not tell.
    let again: String = (5_001..=5_300).map(|i| entry(i) + "\n").collect();
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    f.set_len(0).unwrap_or_else(|e| panic!("{e}"));
    f.write_all(b"x").unwrap_or_else(|e| panic!("{e}"));
    f.write_all(again.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    reader.refresh();
    assert_eq!(index.epoch(), 2);
    reader.refresh();
    assert_eq!(index.len(), 300);

    // Replaced: a new file renamed over the path.
    let fresh: String = (9_001..=9_010).map(|i| entry(i) + "\n").collect();
    let tmp = h.root.join("hq/ledger/new.jsonl");
    std::fs::write(&tmp, &fresh).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, h.ledger()).unwrap_or_else(|e| panic!("{e}"));
    reader.refresh();
    assert_eq!(index.epoch(), 3);
    assert_eq!(index.last_change(), Some(LedgerChange::Replaced));
    reader.refresh();
    assert_eq!(
        page_ids(&reader, 1, 2),
        vec![(1, "TXN-009001".to_string()), (2, "TXN-009002".to_string())]
    );
}

#[test]
fn a_growing_pending_line_is_read_once_by_the_index_and_the_scan() {
    let mut body: Vec<u8> = (1..=10)
        .flat_map(|i| (entry(i) + "\n").into_bytes())
        .collect();
    body.extend(std::iter::repeat_n(b'z', 3 << 20));
    let h = hq_with(&body);
    let index = LineIndex::new(&h.ledger());
    index.refresh().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.len(), 10);
    assert_eq!(index.pending_len(), 3 << 20);
    let read = index.bytes_read();
    // Polling a file that does not change reads nothing.
    for _ in 0..5 {
        index.refresh().unwrap_or_else(|e| panic!("{e}"));
    }
    assert_eq!(index.bytes_read(), read);
    let mut scan = LineScan::open(&h.ledger())
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no file"));
    let cancel = AtomicBool::new(false);
    let count = |p: Piece<'_>| match p {
        Piece::Lines { data, .. } => {
            ControlFlow::Continue(data.iter().filter(|b| **b == b'\n').count() as u64)
        }
        Piece::Long { .. } => ControlFlow::Continue(1),
    };
    let len = scan.check().unwrap_or_else(|e| panic!("{e}"));
    scan.run(len, &cancel, count)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.pending(), 3 << 20);
    let scan_read = scan.bytes_read();
    // The writer adds 100 bytes to the pending line: only those are read.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    f.write_all(&[b'z'; 100]).unwrap_or_else(|e| panic!("{e}"));
    index.refresh().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.bytes_read(), read + 100);
    let len = scan.check().unwrap_or_else(|e| panic!("{e}"));
    scan.run(len, &cancel, count)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.bytes_read(), scan_read + 100);
    // Then it ends the line and writes a normal one: the long line is one reject.
    writeln!(f).unwrap_or_else(|e| panic!("{e}"));
    writeln!(f, "{}", entry(12)).unwrap_or_else(|e| panic!("{e}"));
    index.refresh().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(index.len(), 12);
    assert_eq!(index.span(10).map(|(_, l)| l), Some((3 << 20) + 100));
    let len = scan.check().unwrap_or_else(|e| panic!("{e}"));
    scan.run(len, &cancel, count)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(scan.position(), (len, 12));
    assert_eq!(scan.pending(), 0);
}

fn wait_msg(
    rx: &mut tokio::sync::mpsc::Receiver<Msg>,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&LedgerViewMsg) -> bool,
) -> Vec<LedgerViewMsg> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(Msg::LedgerView(m)) => {
                let hit = pred(&m);
                seen.push(m);
                if hit {
                    return seen;
                }
            }
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what}; saw {seen:?}"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

fn write_atomically(path: &Path, body: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, body).unwrap_or_else(|e| panic!("{e}"));
    std::fs::rename(&tmp, path).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn the_worker_rereads_a_replaced_ledger_and_restarts_the_filter() {
    let body: String = (1..=2_000).map(|i| entry(i) + "\n").collect();
    let h = hq_with(body.as_bytes());
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let cancel = tokio_util::sync::CancellationToken::new();
    let handle = lumen::sources::ledger_reader::spawn(&h.root, tx, cancel.clone());
    handle.send(LedgerRequest::TailStarted);
    wait_msg(
        &mut rx,
        Duration::from_secs(20),
        "the index",
        |m| matches!(m, LedgerViewMsg::Index(s) if !s.building && s.lines == 2_000),
    );
    let filter = LedgerFilter::parse("\"TXN-0000\"", t0()).unwrap_or_else(|e| panic!("{e}"));
    handle.send(LedgerRequest::Filter {
        generation: 3,
        filter: Some(filter),
    });
    let mut matches = Vec::new();
    wait_msg(&mut rx, Duration::from_secs(20), "the scan", |m| {
        if let LedgerViewMsg::Matches {
            generation: 3,
            lines,
            done,
            ..
        } = m
        {
            matches.extend(lines.iter().copied());
            return *done;
        }
        false
    });
    assert_eq!(matches, (1..=99).collect::<Vec<u64>>());

    // A new, shorter file is renamed over the ledger.
    let fresh: String = (1..=20).map(|i| entry(10_000 + i) + "\n").collect();
    let fresh = fresh.replace("TXN-010005", "TXN-000005");
    write_atomically(&h.ledger(), &fresh);
    // The filter starts again on the new file (with a notice), the index is read
    // again and the pane is told to drop its pages — in whatever order they come.
    let (mut restarted, mut new_matches, mut reread, mut reindexed) = (false, false, false, false);
    wait_msg(&mut rx, Duration::from_secs(20), "the re-read", |m| {
        match m {
            LedgerViewMsg::FilterRestarted {
                generation: 3,
                reason,
            } => restarted = reason.contains("replaced"),
            LedgerViewMsg::Matches {
                generation: 3,
                lines,
                ..
            } if restarted && lines == &vec![5] => new_matches = true,
            LedgerViewMsg::Reread { reason } => reread = reason.contains("replaced"),
            LedgerViewMsg::Index(s) if reread && !s.building && s.lines == 20 => reindexed = true,
            _ => {}
        }
        restarted && new_matches && reread && reindexed
    });
    handle.send(LedgerRequest::Page {
        first: 1,
        count: 10,
    });
    wait_msg(
        &mut rx,
        Duration::from_secs(20),
        "a page of the new file",
        |m| {
            matches!(m, LedgerViewMsg::Page { first: 1, lines }
            if lines.first().and_then(|l| l.record.as_ref()).and_then(|r| r.parsed.as_ref().ok()).is_some_and(|e| e.id == "TXN-010001"))
        },
    );
    cancel.cancel();
}

#[test]
fn the_app_drops_pages_and_shows_a_notice_when_the_ledger_is_reread() {
    use lumen::app::Event;
    let mut app = common::fixture_app();
    app.update(Event::Msg(Msg::LedgerView(LedgerViewMsg::Page {
        first: 1,
        lines: Vec::new(),
    })));
    assert!(!app.panes().ledger_view.pages.is_empty());
    app.update(Event::Msg(Msg::LedgerView(LedgerViewMsg::Reread {
        reason: "the ledger was truncated — re-reading it from the start".into(),
    })));
    assert!(app.panes().ledger_view.pages.is_empty());
    assert!(
        app.ledger_notice().is_some_and(|n| n.contains("truncated")),
        "{:?}",
        app.panes().ledger_view.notice
    );
}

fn proc_self(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of this process (user + system), from `/proc/self/stat` (fields 14 and
/// 15, in clock ticks of 1/100 s on Linux).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its `)`.
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10)
}

/// Measurement, not a gate (`benches/console_huge_line.sh` runs it): the console's
/// ledger reading alone — the tail and the reader worker (index build, a `/` filter
/// scan that then follows the file) — on `LUMEN_HUGE_ROOT`'s ledger, which ends in a
/// huge unterminated line. Prints peak RSS and the CPU used over 10 s of idle.
#[test]
#[ignore]
fn huge_pending_line_peak_rss_and_idle_cpu() {
    let Ok(root) = std::env::var("LUMEN_HUGE_ROOT") else {
        println!("LUMEN_HUGE_ROOT not set; skipping");
        return;
    };
    let root = PathBuf::from(root);
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    let cancel = tokio_util::sync::CancellationToken::new();
    let started = Instant::now();
    rt.spawn(lumen::sources::ledger_tail::run(
        lumen::sources::ledger_tail::LedgerTailConfig::new(&root),
        tx.clone(),
        cancel.clone(),
    ));
    let handle = lumen::sources::ledger_reader::spawn(&root, tx, cancel.clone());
    handle.send(LedgerRequest::TailStarted);
    let mut tail_lines = 0usize;
    let mut pending = 0u64;
    let mut indexed = None;
    let deadline = Instant::now() + Duration::from_secs(300);
    while indexed.is_none() || pending == 0 {
        assert!(Instant::now() < deadline, "timed out");
        match rx.try_recv() {
            Ok(Msg::LedgerAppended { records, .. }) => tail_lines += records.len(),
            Ok(Msg::LedgerPending { bytes }) => pending = bytes,
            Ok(Msg::LedgerView(LedgerViewMsg::Index(s))) if !s.building => {
                indexed = Some((s.lines, started.elapsed()));
            }
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let filter = LedgerFilter::parse("deploy", t0()).unwrap_or_else(|e| panic!("{e}"));
    handle.send(LedgerRequest::Filter {
        generation: 1,
        filter: Some(filter),
    });
    let mut matches = 0usize;
    loop {
        assert!(Instant::now() < deadline, "timed out");
        match rx.try_recv() {
            Ok(Msg::LedgerView(LedgerViewMsg::Matches { lines, done, .. })) => {
                matches += lines.len();
                if done {
                    break;
                }
            }
            Ok(Msg::LedgerPending { bytes }) => pending = bytes,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    let filtered = started.elapsed();
    let hwm_busy = proc_self("VmHWM:");
    let cpu0 = cpu_time();
    let idle_from = Instant::now();
    let mut idle_msgs = 0usize;
    while idle_from.elapsed() < Duration::from_secs(10) {
        while rx.try_recv().is_ok() {
            idle_msgs += 1;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let cpu = cpu_time().saturating_sub(cpu0);
    let idle = idle_from.elapsed();
    println!(
        "tail: {tail_lines} lines, pending {pending} B; index: {:?}; filter: {matches} matches \
         after {filtered:.2?}; peak RSS {hwm_busy} kB, after 10 s idle {} kB (RSS {} kB); \
         idle CPU {:.2?} over {idle:.2?} = {:.2}% ({idle_msgs} messages)",
        indexed,
        proc_self("VmHWM:"),
        proc_self("VmRSS:"),
        cpu,
        cpu.as_secs_f64() / idle.as_secs_f64() * 100.0
    );
    cancel.cancel();
}
