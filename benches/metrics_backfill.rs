//! Backfill of `logs/metrics.csv`: 24 h at 5 Hz (432,000 rows) read through the real
//! metrics tail task (backward probe, forward read, parse, batched `Msg`s).
//! Run: `cargo bench --bench metrics_backfill`.

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use lumen::protocol::Msg;
use lumen::sources::metrics_tail::{self, MetricsTailConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const ROWS: usize = 432_000;

fn write_csv(path: &std::path::Path, rows: usize, older: usize) {
    use std::fmt::Write;
    let end = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    let mut text = String::with_capacity((rows + older) * 48);
    text.push_str("ts,phase_diff,entropy_rate,creative_band,risk_band\n");
    let total = rows + older;
    for i in 0..total {
        let t = end - (total - 1 - i) as f64 * 0.2;
        let x = (i % 1000) as f64 / 1000.0;
        let _ = writeln!(
            text,
            "{t:.3},{x:.4},{:.4},{:.4},{:.4}",
            1.0 - x,
            x / 2.0,
            x / 3.0
        );
    }
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

async fn backfill(path: &std::path::Path, window: Duration, want: usize) -> usize {
    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let mut cfg = MetricsTailConfig::new(std::path::Path::new("."), window);
    cfg.path = path.to_path_buf();
    let task = tokio::spawn(metrics_tail::run(cfg, tx, cancel.clone()));
    let mut got = 0;
    while got < want {
        match rx.recv().await {
            Some(Msg::GaugeRows { points, .. }) => got += points.len(),
            Some(_) => {}
            None => break,
        }
    }
    cancel.cancel();
    let _ = task.await;
    got
}

fn bench(c: &mut Criterion) {
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("tempdir: {e}"),
    };
    let rt = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => panic!("runtime: {e}"),
    };

    // 24 h at 5 Hz, all inside a 25 h window.
    let day = dir.path().join("day.csv");
    write_csv(&day, ROWS, 0);
    c.bench_function("metrics_backfill_24h_5hz_432k_rows", |b| {
        b.iter(|| {
            let n = rt.block_on(backfill(&day, Duration::from_secs(25 * 3600), ROWS));
            assert_eq!(n, ROWS);
        })
    });

    // The same 24 h at the end of a 10-day file (~4.3 M rows, ~190 MB): only the tail
    // is read. (The 25 h window also admits ~18,000 older rows, delivered first; the
    // iteration stops at 432,000 rows.)
    let long = dir.path().join("ten_days.csv");
    write_csv(&long, ROWS, 9 * ROWS);
    c.bench_function("metrics_backfill_24h_of_10_day_file", |b| {
        b.iter(|| {
            let n = rt.block_on(backfill(&long, Duration::from_secs(25 * 3600), ROWS));
            assert!(n >= ROWS);
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(10));
    targets = bench
}
criterion_main!(benches);
