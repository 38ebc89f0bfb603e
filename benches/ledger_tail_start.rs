//! Time from starting the ledger tail to its first 2,000 records, on a 1 M-line
//! (~110 MB) ledger: the cost of the walk back from the end plus counting the
//! newlines of the skipped prefix (absolute line numbers).
//! Run: `cargo bench --bench ledger_tail_start`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lumen::protocol::Msg;
use lumen::sources::ledger_tail::{self, LedgerTailConfig};
use lumen::sources::tail::StartAt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const LINES: usize = 1_000_000;

async fn first_batch(path: &std::path::Path, start: StartAt) -> u64 {
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let cfg = LedgerTailConfig {
        path: path.to_path_buf(),
        start,
        poll: Duration::from_millis(25),
    };
    let task = tokio::spawn(ledger_tail::run(cfg, tx, cancel.clone()));
    let mut got = 0;
    let mut first_line = 0;
    while got < 2_000 {
        match rx.recv().await {
            Some(Msg::LedgerAppended { records, .. }) => {
                if got == 0 {
                    first_line = records.first().map_or(0, |r| r.line);
                }
                got += records.len();
            }
            Some(_) => {}
            None => break,
        }
    }
    cancel.cancel();
    let _ = task.await;
    first_line
}

fn bench(c: &mut Criterion) {
    use std::fmt::Write;
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let path = dir.path().join("ledger.jsonl");
    let mut text = String::with_capacity(LINES * 120);
    for i in 0..LINES {
        let _ = writeln!(
            text,
            r#"{{"id":"TXN-{i:08}","branch":"koosy","event":"llm_generate","tokens":1840,"cost":0.033,"timestamp":"2026-01-18T01:02:03Z"}}"#
        );
    }
    if let Err(e) = std::fs::write(&path, &text) {
        panic!("write: {e}");
    }
    let offset = text.len() as u64 - (text.len() as u64 / LINES as u64) * 2_000;
    drop(text);
    let rt = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    };
    c.bench_function("ledger_tail_last_2000_of_1m_lines_counted", |b| {
        b.iter(|| {
            let first = rt.block_on(first_batch(&path, StartAt::LastLines(2_000)));
            assert_eq!(first, (LINES - 2_000 + 1) as u64);
        })
    });
    c.bench_function("ledger_tail_last_2000_of_1m_lines_known_line", |b| {
        b.iter(|| {
            let start = StartAt::Known {
                offset,
                line: (LINES - 2_000 + 1) as u64,
            };
            rt.block_on(first_batch(&path, start));
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
