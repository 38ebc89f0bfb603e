//! The ledger tail against real files in temp dirs: appends, pending partial line,
//! truncation, replacement, delete + recreate, garbage lines, start at the tail.

mod sources_common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use lumen::domain::ledger::RejectReason;
use lumen::protocol::{LedgerRecord, Msg, SourceId};
use lumen::sources::ledger_tail::{self, LedgerTailConfig};
use lumen::sources::tail::StartAt;
use sources_common::wait_for;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn entry(i: u64) -> String {
    format!(
        r#"{{"id":"TXN-{i}","branch":"koosy","event":"deploy","timestamp":"2026-01-18T01:02:03Z"}}"#
    )
}

fn append(path: &Path, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

struct Tail {
    rx: mpsc::Receiver<Msg>,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Tail {
    fn start(path: &Path, start: StartAt) -> Tail {
        let (tx, rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let cfg = LedgerTailConfig {
            path: path.to_path_buf(),
            start,
            poll: Duration::from_millis(25),
        };
        let task = tokio::spawn(ledger_tail::run(cfg, tx, cancel.clone()));
        Tail { rx, cancel, task }
    }

    /// Wait until `n` records arrived; return them (and the other messages seen).
    async fn records(&mut self, n: usize) -> (Vec<LedgerRecord>, Vec<Msg>) {
        let mut got = Vec::new();
        let mut others = Vec::new();
        while got.len() < n {
            let (recs, skipped) = wait_for(&mut self.rx, "ledger records", |m| match m {
                Msg::LedgerAppended { records, .. } => Some(records.clone()),
                _ => None,
            })
            .await;
            others.extend(skipped);
            got.extend(recs);
        }
        assert_eq!(got.len(), n, "more records than expected: {got:#?}");
        (got, others)
    }

    async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the task returns when cancelled")
            .unwrap();
    }
}

fn ids(records: &[LedgerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| match &r.parsed {
            Ok(e) => e.id.clone(),
            Err(e) => format!("reject: {e}"),
        })
        .collect()
}

#[tokio::test]
async fn reads_existing_lines_then_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut text = String::new();
    for i in 1..=3 {
        text += &entry(i);
        text.push('\n');
    }
    std::fs::write(&path, &text).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    let (recs, _) = tail.records(3).await;
    assert_eq!(ids(&recs), ["TXN-1", "TXN-2", "TXN-3"]);
    assert_eq!(recs.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 2, 3]);
    let line_len = entry(1).len() as u64 + 1;
    assert_eq!(recs[1].offset, line_len);
    assert_eq!(recs[0].excerpt, entry(1));

    let t0 = Instant::now();
    append(&path, format!("{}\n", entry(4)).as_bytes());
    let (recs, _) = tail.records(1).await;
    println!("appended line delivered after {:?}", t0.elapsed());
    assert_eq!(ids(&recs), ["TXN-4"]);
    assert_eq!((recs[0].line, recs[0].offset), (4, 3 * line_len));
    tail.stop().await;
}

#[tokio::test]
async fn pending_partial_line_then_completion() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let line = entry(1);
    let (head, rest) = line.split_at(20);
    std::fs::write(&path, head).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    let (bytes, skipped) = wait_for(&mut tail.rx, "pending", |m| match m {
        Msg::LedgerPending { bytes } => Some(*bytes),
        _ => None,
    })
    .await;
    assert_eq!(bytes, 20);
    assert!(
        skipped.is_empty(),
        "nothing before the pending report: {skipped:#?}"
    );

    append(&path, rest.as_bytes());
    let (bytes, _) = wait_for(&mut tail.rx, "pending grows", |m| match m {
        Msg::LedgerPending { bytes } => Some(*bytes),
        _ => None,
    })
    .await;
    assert_eq!(bytes, line.len() as u64);

    append(&path, b"\n");
    let (recs, others) = tail.records(1).await;
    assert_eq!(ids(&recs), ["TXN-1"]);
    assert_eq!((recs[0].line, recs[0].offset), (1, 0));
    let pending_zero = |m: &Msg| matches!(m, Msg::LedgerPending { bytes: 0 });
    if !others.iter().any(pending_zero) {
        wait_for(&mut tail.rx, "pending cleared", |m| {
            pending_zero(m).then_some(())
        })
        .await;
    }
    tail.stop().await;
}

#[tokio::test]
async fn truncation_resets_and_rereads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::fs::write(&path, format!("{}\n{}\n", entry(1), entry(2))).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    tail.records(2).await;

    std::fs::write(&path, format!("{}\n", entry(9))).unwrap(); // O_TRUNC, shorter
    let (reason, _) = wait_for(&mut tail.rx, "reset", |m| match m {
        Msg::LedgerReset { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("truncated"), "{reason}");
    let (recs, _) = tail.records(1).await;
    assert_eq!(ids(&recs), ["TXN-9"]);
    assert_eq!((recs[0].line, recs[0].offset), (1, 0));
    tail.stop().await;
}

#[tokio::test]
async fn replacement_by_rename_resets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::fs::write(&path, format!("{}\n", entry(1))).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    tail.records(1).await;

    // Longer than the original: only the inode tells it apart.
    let new = dir.path().join("ledger.new");
    std::fs::write(&new, format!("{}\n{}\n{}\n", entry(7), entry(8), entry(9))).unwrap();
    std::fs::rename(&new, &path).unwrap();
    let (reason, _) = wait_for(&mut tail.rx, "reset", |m| match m {
        Msg::LedgerReset { reason } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(reason.contains("replaced"), "{reason}");
    let (recs, _) = tail.records(3).await;
    assert_eq!(ids(&recs), ["TXN-7", "TXN-8", "TXN-9"]);
    assert_eq!(recs[0].line, 1);
    tail.stop().await;
}

#[tokio::test]
async fn delete_then_recreate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::fs::write(&path, format!("{}\n", entry(1))).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    tail.records(1).await;

    std::fs::remove_file(&path).unwrap();
    wait_for(&mut tail.rx, "missing file reported", |m| {
        matches!(
            m,
            Msg::SourceMissing {
                source: SourceId::Ledger,
                ..
            }
        )
        .then_some(())
    })
    .await;

    std::fs::write(&path, format!("{}\n{}\n", entry(5), entry(6))).unwrap();
    wait_for(&mut tail.rx, "reset", |m| {
        matches!(m, Msg::LedgerReset { .. }).then_some(())
    })
    .await;
    let (recs, _) = tail.records(2).await;
    assert_eq!(ids(&recs), ["TXN-5", "TXN-6"]);
    assert_eq!(recs[0].line, 1);
    tail.stop().await;
}

#[tokio::test]
async fn missing_at_start_then_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut tail = Tail::start(&path, StartAt::LastLines(1));
    wait_for(&mut tail.rx, "missing file reported", |m| {
        matches!(m, Msg::SourceMissing { .. }).then_some(())
    })
    .await;
    // A file that appears later is new: read all of it, not just the last line.
    std::fs::write(&path, format!("{}\n{}\n", entry(1), entry(2))).unwrap();
    let (recs, _) = tail.records(2).await;
    assert_eq!(ids(&recs), ["TXN-1", "TXN-2"]);
    tail.stop().await;
}

#[tokio::test]
async fn unreadable_path_is_reported_and_retried() {
    // Running as root defeats chmod 000, so make the path unreadable as a file by
    // putting a directory there: open works, read fails with EISDIR.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("x"), "0123456789").unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    let (error, _) = wait_for(&mut tail.rx, "error reported", |m| match m {
        Msg::SourceFailed { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(error.contains("ledger.jsonl"), "{error}");
    std::fs::remove_dir_all(&path).unwrap();
    std::fs::write(&path, format!("{}\n", entry(1))).unwrap();
    let (recs, _) = tail.records(1).await;
    assert_eq!(ids(&recs), ["TXN-1"]);
    tail.stop().await;
}

#[tokio::test]
async fn garbage_lines_become_rejects_without_losing_neighbours() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut data = Vec::new();
    data.extend_from_slice(format!("{}\n", entry(1)).as_bytes());
    data.extend_from_slice(b"\xff\xfe not utf8\n");
    data.extend_from_slice(b"\n"); // empty: skipped, still counted
    data.extend_from_slice(b"{not json\n");
    data.extend_from_slice(b"{\"id\":\"x\"}\n");
    data.extend_from_slice(b"\x1b]0;evil\x07{\"a\":1}\n");
    let long = vec![b'a'; lumen::domain::ledger::MAX_LINE + 10];
    data.extend_from_slice(&long);
    data.push(b'\n');
    data.extend_from_slice(format!("{}\n", entry(2)).as_bytes());
    std::fs::write(&path, &data).unwrap();

    let mut tail = Tail::start(&path, StartAt::Beginning);
    let (recs, _) = tail.records(7).await;
    let lines: Vec<u64> = recs.iter().map(|r| r.line).collect();
    assert_eq!(lines, [1, 2, 4, 5, 6, 7, 8]);
    assert_eq!(recs[1].parsed, Err(RejectReason::NotUtf8));
    assert!(matches!(recs[2].parsed, Err(RejectReason::NotJson(_))));
    assert_eq!(recs[3].parsed, Err(RejectReason::Missing("branch")));
    assert!(!recs[4].excerpt.contains('\u{1b}') && !recs[4].excerpt.contains('\u{7}'));
    assert_eq!(
        recs[5].parsed,
        Err(RejectReason::TooLong(lumen::domain::ledger::MAX_LINE + 10))
    );
    assert!(recs[5].excerpt.chars().count() <= ledger_tail::EXCERPT_CHARS);
    assert_eq!(ids(&recs)[6], "TXN-2");
    assert_eq!(recs[6].offset, (data.len() - entry(2).len() - 1) as u64);
    tail.stop().await;
}

#[tokio::test]
async fn starts_at_last_lines_with_absolute_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let mut text = String::new();
    let mut offsets = Vec::new();
    for i in 1..=20_000 {
        offsets.push(text.len() as u64);
        text += &entry(i);
        text.push('\n');
    }
    text += "{\"partial"; // pending, not a line
    std::fs::write(&path, &text).unwrap();
    let mut tail = Tail::start(&path, StartAt::LastLines(2_000));
    let (recs, _) = tail.records(2_000).await;
    assert_eq!(recs[0].line, 18_001);
    assert_eq!(recs[0].offset, offsets[18_000]);
    assert_eq!(ids(&recs)[1_999], "TXN-20000");
    tail.stop().await;
}

#[tokio::test]
async fn batches_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let text: String = (1..=12_000).map(|i| entry(i) + "\n").collect();
    std::fs::write(&path, &text).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    let mut total = 0;
    while total < 12_000 {
        let (n, _) = wait_for(&mut tail.rx, "batch", |m| match m {
            Msg::LedgerAppended { records, .. } => Some(records.len()),
            _ => None,
        })
        .await;
        assert!(n <= lumen::sources::tail::MAX_BATCH, "batch of {n}");
        total += n;
    }
    assert_eq!(total, 12_000);
    tail.stop().await;
}

#[tokio::test]
async fn starts_at_a_known_offset_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.jsonl");
    let text: String = (1..=10).map(|i| entry(i) + "\n").collect();
    std::fs::write(&path, &text).unwrap();
    let line_len = entry(1).len() as u64 + 1;
    let mut tail = Tail::start(
        &path,
        StartAt::Known {
            offset: 7 * line_len,
            line: 8,
        },
    );
    let (recs, _) = tail.records(3).await;
    assert_eq!(ids(&recs), ["TXN-8", "TXN-9", "TXN-10"]);
    assert_eq!((recs[0].line, recs[0].offset), (8, 7 * line_len));
    tail.stop().await;
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_swapped_to_another_file_resets() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    std::fs::write(&a, format!("{}\n", entry(1))).unwrap();
    std::fs::write(&b, format!("{}\n{}\n", entry(2), entry(3))).unwrap();
    let path = dir.path().join("ledger.jsonl");
    std::os::unix::fs::symlink(&a, &path).unwrap();
    let mut tail = Tail::start(&path, StartAt::Beginning);
    tail.records(1).await;

    let tmp = dir.path().join("swap");
    std::os::unix::fs::symlink(&b, &tmp).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    wait_for(&mut tail.rx, "reset", |m| {
        matches!(m, Msg::LedgerReset { .. }).then_some(())
    })
    .await;
    let (recs, _) = tail.records(2).await;
    assert_eq!(ids(&recs), ["TXN-2", "TXN-3"]);
    tail.stop().await;
}
