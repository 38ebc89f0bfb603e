//! One health round over 1,000 endpoints on a loopback axum server (the speed bar
//! that used to be asserted in tests/sources_health.rs; that test keeps the
//! functional checks): endpoints answering after 50 ms with concurrency capped at
//! 256 and at the default, and 1,000 endpoints that stall 30 s with a 1 s timeout.
//! Bar: every round inside one 2 s timeout window.
//! Run: `cargo bench --bench health_round`.

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use lumen::protocol::Msg;
use lumen::sources::health::{self, HealthConfig, HealthTarget};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

async fn server() -> String {
    let app = Router::new()
        .route(
            "/ok/{n}",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                StatusCode::OK
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                StatusCode::OK
            }),
        );
    let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => panic!("addr: {e}"),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn one_round(cfg: HealthConfig) -> usize {
    let (tx, mut rx) = mpsc::channel(4);
    let (_cmd_tx, cmd_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(health::run(cfg, tx, cancel.clone(), cmd_rx));
    let n = loop {
        match rx.recv().await {
            Some(Msg::HealthChecked { results, .. }) => break results.len(),
            Some(_) => {}
            None => panic!("the checker stopped"),
        }
    };
    cancel.cancel();
    let _ = task.await;
    n
}

fn targets(base: &str, path: impl Fn(usize) -> String) -> Vec<HealthTarget> {
    (0..1_000)
        .map(|i| HealthTarget {
            branch: format!("b{i}"),
            url: format!("{base}{}", path(i)),
        })
        .collect()
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("runtime: {e}"),
    };
    let base = rt.block_on(server());
    let mut g = c.benchmark_group("health_round_1000");
    g.sample_size(10);
    g.bench_function("50ms_concurrency_256", |b| {
        b.iter(|| {
            let mut cfg = HealthConfig::new(
                targets(&base, |i| format!("/ok/{i}")),
                Duration::from_secs(3_600),
            );
            cfg.concurrency = 256;
            rt.block_on(one_round(cfg))
        })
    });
    g.bench_function("50ms_default_concurrency", |b| {
        b.iter(|| {
            let cfg = HealthConfig::new(
                targets(&base, |i| format!("/ok/{i}")),
                Duration::from_secs(3_600),
            );
            rt.block_on(one_round(cfg))
        })
    });
    if open_files_limit().is_some_and(|n| n >= 4_096) {
        g.bench_function("stalled_timeout_1s", |b| {
            b.iter(|| {
                let mut cfg = HealthConfig::new(
                    targets(&base, |_| "/slow".into()),
                    Duration::from_secs(3_600),
                );
                cfg.timeout = Duration::from_secs(1);
                rt.block_on(one_round(cfg))
            })
        });
    } else {
        println!("stalled case skipped: open-files limit under 4096");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
