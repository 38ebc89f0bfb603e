//! Health checks against a local axum server: 1,000 endpoints in one timeout window
//! with bounded concurrency; one down, one slow past the timeout, one 5xx; re-check.

mod common;
mod sources_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use lumen::protocol::{HealthResult, Msg};
use lumen::sources::health::{self, HealthConfig, HealthTarget};
use sources_common::wait_for;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Counters {
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    served: AtomicUsize,
}

async fn ok_after_50ms(State(c): State<Arc<Counters>>) -> StatusCode {
    let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    c.max_in_flight.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    c.in_flight.fetch_sub(1, Ordering::SeqCst);
    c.served.fetch_add(1, Ordering::SeqCst);
    StatusCode::OK
}

async fn stall() -> StatusCode {
    tokio::time::sleep(Duration::from_secs(30)).await;
    StatusCode::OK
}

/// A bound on a round far above scheduling delays on a busy machine and far below
/// what a checker without concurrency would take (1,000 × 50 ms = 50 s; 1,000 × the
/// 1 s timeout). Not a speed bar: the round times are printed here and measured by
/// `cargo bench --bench health_round` (docs/PERF.md).
const FAR_BELOW_SEQUENTIAL: Duration = Duration::from_secs(30);

/// Serve `/ok/{n}` (answers after 50 ms), `/slow` (30 s), `/fail` (500).
async fn server() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route("/ok/{n}", get(ok_after_50ms))
        .route("/slow", get(stall))
        .route("/fail", get(|| async { StatusCode::INTERNAL_SERVER_ERROR }))
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), counters)
}

fn targets(base: &str, n: usize) -> Vec<HealthTarget> {
    (0..n)
        .map(|i| HealthTarget {
            branch: format!("b{i}"),
            url: format!("{base}/ok/{i}"),
        })
        .collect()
}

async fn one_round(cfg: HealthConfig) -> (Vec<HealthResult>, Duration) {
    let (tx, mut rx) = mpsc::channel(4);
    let (_cmd_tx, cmd_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let t0 = Instant::now();
    let task = tokio::spawn(health::run(cfg, tx, cancel.clone(), cmd_rx));
    let (results, _) = wait_for(&mut rx, "health round", |m| match m {
        Msg::HealthChecked { results, .. } => Some(results.clone()),
        _ => None,
    })
    .await;
    let took = t0.elapsed();
    cancel.cancel();
    task.await.unwrap();
    (results, took)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_endpoints_in_one_window_with_bounded_concurrency() {
    let (base, counters) = server().await;
    let mut cfg = HealthConfig::new(targets(&base, 1_000), Duration::from_secs(3_600));
    cfg.concurrency = 256;
    let (results, took) = one_round(cfg).await;
    let max = counters.max_in_flight.load(Ordering::SeqCst);
    println!("1,000 endpoints (50 ms each), concurrency 256: {took:?}, max in flight {max}");
    assert_eq!(results.len(), 1_000);
    assert!(results.iter().all(|r| r.ok && r.status == Some(200)));
    assert_eq!(results[999].branch, "b999", "results keep target order");
    assert!(
        results
            .iter()
            .all(|r| r.latency >= Some(Duration::from_millis(50)))
    );
    assert!(max <= 256, "concurrency not bounded: {max} in flight");
    assert!(
        max >= 32,
        "requests were not concurrent: max {max} in flight"
    );
    assert!(took < FAR_BELOW_SEQUENTIAL, "round took {took:?}");

    // Default concurrency (1,024): all 1,000 in flight at once.
    counters.max_in_flight.store(0, Ordering::SeqCst);
    let cfg = HealthConfig::new(targets(&base, 1_000), Duration::from_secs(3_600));
    let (results, took) = one_round(cfg).await;
    let max = counters.max_in_flight.load(Ordering::SeqCst);
    println!("1,000 endpoints (50 ms each), default concurrency: {took:?}, max in flight {max}");
    assert!(results.iter().all(|r| r.ok));
    assert!(took < FAR_BELOW_SEQUENTIAL, "round took {took:?}");
}

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_stalled_endpoints_fit_one_timeout_window() {
    // 1,000 client + 1,000 server sockets at once.
    match open_files_limit() {
        Some(n) if n >= 4_096 => {}
        other => {
            println!("skipped: open-files limit {other:?} is under 4096");
            return;
        }
    }
    let (base, _) = server().await;
    let all: Vec<HealthTarget> = (0..1_000)
        .map(|i| HealthTarget {
            branch: format!("b{i}"),
            url: format!("{base}/slow"),
        })
        .collect();
    let mut cfg = HealthConfig::new(all, Duration::from_secs(3_600));
    cfg.timeout = Duration::from_secs(1);
    let (results, took) = one_round(cfg).await;
    println!("1,000 stalled endpoints, timeout 1 s, default concurrency: {took:?}");
    assert!(
        results
            .iter()
            .all(|r| !r.ok && r.error.as_deref().is_some_and(|e| e.contains("timed out")))
    );
    // None waited out its 30 s stall, and the round was far shorter than 1,000
    // timeouts in a row.
    assert!(took < FAR_BELOW_SEQUENTIAL, "round took {took:?}");
}

#[tokio::test]
async fn down_slow_and_failing_endpoints() {
    let (base, _) = server().await;
    let closed = common::net::closed_addr();
    let t = |b: &str, url: String| HealthTarget {
        branch: b.into(),
        url,
    };
    let cfg = HealthConfig {
        targets: vec![
            t("up", format!("{base}/ok/1")),
            t("down", format!("http://{closed}/health")),
            t("slow", format!("{base}/slow")),
            t("fail", format!("{base}/fail")),
            t("bad-url", "not a url".into()),
        ],
        interval: Duration::from_secs(3_600),
        timeout: Duration::from_millis(500),
        concurrency: 8,
    };
    let (r, took) = one_round(cfg).await;
    assert!(took < FAR_BELOW_SEQUENTIAL, "{took:?}");
    assert!(r[0].ok && r[0].status == Some(200) && r[0].error.is_none());
    assert!(!r[1].ok && r[1].status.is_none(), "{:?}", r[1]);
    assert!(
        r[1].error
            .as_deref()
            .is_some_and(|e| e.contains("connection")),
        "{:?}",
        r[1]
    );
    assert!(!r[2].ok, "{:?}", r[2]);
    assert!(
        r[2].error
            .as_deref()
            .is_some_and(|e| e.contains("timed out")),
        "{:?}",
        r[2]
    );
    assert_eq!((r[3].ok, r[3].status), (false, Some(500)));
    assert!(!r[4].ok && r[4].error.is_some(), "{:?}", r[4]);
}

#[tokio::test]
async fn recheck_command_probes_named_branches_at_once() {
    let (base, _) = server().await;
    let cfg = HealthConfig::new(
        vec![
            HealthTarget {
                branch: "papafly".into(),
                url: format!("{base}/ok/1"),
            },
            HealthTarget {
                branch: "koosy".into(),
                url: format!("{base}/fail"),
            },
        ],
        Duration::from_secs(3_600),
    );
    let (tx, mut rx) = mpsc::channel(4);
    let (cmd_tx, cmd_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(health::run(cfg, tx, cancel.clone(), cmd_rx));
    let pick = |m: &Msg| match m {
        Msg::HealthChecked { results, .. } => Some(results.clone()),
        _ => None,
    };
    let (first, _) = wait_for(&mut rx, "first round", pick).await;
    assert_eq!(first.len(), 2);
    cmd_tx.send(vec!["koosy".into()]).await.unwrap();
    let (again, _) = wait_for(&mut rx, "re-check", pick).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].branch.as_str(), again[0].status),
        ("koosy", Some(500))
    );
    // A closed command channel does not stop (or spin) the checker.
    drop(cmd_tx);
    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("returns when cancelled")
        .unwrap();
}
