//! The console's whole-file ledger work on a 1 M-line (~180 MB) file in the page cache:
//! the `/` filter scan (`ledger_reader::scan_file`) for a free-text and a field filter,
//! and the offset index build (`LineIndex::refresh`).
//! Run: `cargo bench --bench ledger_console`.

use std::hint::black_box;
use std::io::Write;
use std::sync::atomic::AtomicBool;

use chrono::Utc;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lumen::domain::ledger_filter::LedgerFilter;
use lumen::sources::ledger_reader::scan_file;
use lumen::store::index::LineIndex;

const LINES: usize = 1_000_000;

fn write_sample(path: &std::path::Path) -> u64 {
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    );
    for i in 0..LINES {
        let branch = ["papafly", "koosy", "dimas", "lubit"][i % 4];
        let r = if i % 2 == 0 {
            writeln!(
                out,
                r#"{{"id":"TXN-20260101-{i:07}","branch":"{branch}","event":"llm_generate","tokens":{},"cost":0.0{},"model":"gpt-4","actor":"llm","timestamp":"2026-01-01T00:00:{:02}Z","note":"xxxxxxxxxxxx"}}"#,
                100 + i % 4000,
                i % 97,
                i % 60
            )
        } else {
            writeln!(
                out,
                r#"{{"id":"TXN-20260101-{i:07}","branch":"{branch}","event":"deploy","status":"ok","change":"chg-{:05}","actor":"ci","timestamp":"2026-01-01T00:00:{:02}Z","note":"xxxxxxxxxxxx"}}"#,
                i % 99999,
                i % 60
            )
        };
        r.unwrap_or_else(|e| panic!("write: {e}"));
    }
    out.flush().unwrap_or_else(|e| panic!("write: {e}"));
    std::fs::metadata(path).map_or(0, |m| m.len())
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("ledger.jsonl");
    let bytes = write_sample(&path);
    let _ = std::fs::read(&path); // warm the page cache

    let mut g = c.benchmark_group("ledger_console_1m");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    for text in ["txn-20260101-09", "branch:koosy event:deploy"] {
        let filter =
            LedgerFilter::parse(text, Utc::now()).unwrap_or_else(|e| panic!("{text}: {e}"));
        g.bench_function(format!("filter scan `{text}`"), |b| {
            b.iter(|| {
                let cancel = AtomicBool::new(false);
                let mut n = 0usize;
                scan_file(&path, &filter, &cancel, |p| n += p.lines.len())
                    .unwrap_or_else(|e| panic!("{e}"));
                black_box(n)
            })
        });
    }
    g.bench_function("index build", |b| {
        b.iter(|| {
            let idx = LineIndex::new(&path);
            idx.refresh().unwrap_or_else(|e| panic!("{e}"))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
