//! The console answers keys while 1,000 health endpoints are being checked (issue 5's
//! scale bar): the real binary in a PTY on an HQ with 1,000 branches whose endpoints
//! take 1.5 s to answer, so a full round is always in flight; a sort key is on screen
//! well within a second, and the round's results arrive within the 2 s timeout window.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use common::pty::Pty;

const BRANCHES: usize = 1_000;

async fn slow(State(in_flight): State<Arc<AtomicUsize>>) -> StatusCode {
    in_flight.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    StatusCode::OK
}

#[test]
fn keys_answer_while_a_thousand_checks_are_in_flight() {
    // The open-files limit must allow 2,000 sockets (client and server ends).
    let limit = std::process::Command::new("sh")
        .args(["-c", "ulimit -n"])
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    if limit < 4_096 {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the open-files limit is {limit} (< 4096)"
        );
        eprintln!("SKIP health_responsive: open-files limit {limit} < 4096");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let in_flight = Arc::new(AtomicUsize::new(0));
    let base = rt.block_on(async {
        let app = Router::new()
            .route("/h/{n}", get(slow))
            .with_state(in_flight.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });

    let home = tempfile::tempdir().unwrap();
    let hq = home.path().join("hq-root");
    std::fs::create_dir_all(hq.join("hq/registry")).unwrap();
    std::fs::create_dir_all(hq.join("hq/recovery")).unwrap();
    let branches: Vec<String> = (0..BRANCHES)
        .map(|i| {
            format!(
                r#"{{"id":"b{i:04}","repo":"r/b{i}","domain":"b{i}.example","visibility":"public","tier":"standard","health":"{base}/h/{i}"}}"#
            )
        })
        .collect();
    std::fs::write(
        hq.join("hq/registry/branches.json"),
        format!(
            r#"{{"hqVersion":"2.1","branches":[{}]}}"#,
            branches.join(",")
        ),
    )
    .unwrap();
    std::fs::write(
        hq.join("hq/recovery/health-check.json"),
        r#"{"endpoints":[],"interval":"1s","timeout":"2s"}"#,
    )
    .unwrap();

    let hq_arg = hq.to_string_lossy().into_owned();
    let mut pty = Pty::spawn(&["--hq", &hq_arg, "--readonly"], 160, 48, home.path());
    pty.wait_for("the health pane", Duration::from_secs(20), |s| {
        s.contains("Branch health") && s.contains("b0000")
    });
    // Wait (polling) until most of a round is in flight on the server.
    let start = Instant::now();
    while in_flight.load(Ordering::SeqCst) < BRANCHES / 2 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the checker never had {} requests in flight (now {})",
            BRANCHES / 2,
            in_flight.load(Ordering::SeqCst)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let busy = in_flight.load(Ordering::SeqCst);
    let t = Instant::now();
    pty.send(b"s");
    pty.wait_for("the sort key's effect", Duration::from_secs(5), |s| {
        s.contains("sort: status")
    });
    let answered = t.elapsed();
    eprintln!("{busy} checks in flight: `s` on screen after {answered:?}");
    assert!(
        answered < Duration::from_secs(1),
        "the UI took {answered:?} to answer a key during a round of 1,000 checks"
    );
    // The round completes inside one timeout window: rows get a status from HTTP
    // (`degraded`: 1.5 s is past the 1 s "slow" mark).
    pty.wait_for("results of the round", Duration::from_secs(10), |s| {
        s.contains("◐ degraded") && s.contains("http")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)), 0);
    drop(rt);
}
