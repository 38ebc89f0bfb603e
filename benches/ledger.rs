//! Ledger micro-benchmarks: line parsers, stats over an in-memory ledger, the offset
//! index build, and the Merkle root. `cargo bench --bench ledger`.
//! The whole-file comparison with jq/Python is `benches/ledger_vs_peers.sh`.

use std::hint::black_box;
use std::io::Write;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use lumen::domain::ledger::{StatParser, parse_line};
use lumen::domain::merkle::RootBuilder;
use lumen::store::index::LineIndex;
use lumen::store::stats::{Rates, stats_of};

fn sample(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n * 180);
    for i in 0..n {
        let branch = ["papafly", "koosy", "dimas", "lubit"][i % 4];
        let line = if i % 2 == 0 {
            format!(
                r#"{{"id":"TXN-20260101-{i:06}","branch":"{branch}","event":"llm_generate","tokens":{},"cost":0.0{},"model":"gpt-4","actor":"llm","timestamp":"2026-01-01T00:00:{:02}Z","note":"xxxxxxxxxxxx"}}"#,
                100 + i % 4000,
                i % 97,
                i % 60
            )
        } else {
            format!(
                r#"{{"id":"TXN-20260101-{i:06}","branch":"{branch}","event":"deploy","status":"ok","change":"chg-{:05}","actor":"ci","timestamp":"2026-01-01T00:00:{:02}Z","note":"xxxxxxxxxxxx"}}"#,
                i % 99999,
                i % 60
            )
        };
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out
}

fn benches(c: &mut Criterion) {
    let data = sample(100_000);
    let lines: Vec<&[u8]> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();

    let mut g = c.benchmark_group("ledger_parse");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_line (serde_json Value)", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter(|l| parse_line(black_box(l)).is_ok())
                .count()
        })
    });
    g.bench_function("StatParser (fast scanner, as stats uses it)", |b| {
        b.iter(|| {
            let mut parser = StatParser::default();
            lines
                .iter()
                .filter(|l| parser.parse_bytes(black_box(l)).is_ok())
                .count()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("ledger_whole");
    g.throughput(Throughput::Bytes(data.len() as u64));
    let rates = Rates::default();
    g.bench_function("stats_of 100k lines, 2 threads", |b| {
        b.iter(|| stats_of(black_box(&data), &rates, None, 2))
    });
    g.bench_function("merkle root 100k lines", |b| {
        b.iter(|| {
            let mut r = RootBuilder::new();
            for l in &lines {
                r.push_data(l);
            }
            r.root()
        })
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&data))
        .unwrap_or_else(|e| panic!("{e}"));
    g.bench_function("index build 100k lines", |b| {
        b.iter(|| {
            let idx = LineIndex::new(&path);
            idx.refresh().unwrap_or_else(|e| panic!("{e}"))
        })
    });
    g.finish();
}

criterion_group!(ledger, benches);
criterion_main!(ledger);
