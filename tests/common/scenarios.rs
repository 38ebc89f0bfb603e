//! Scenarios shared by the integration tests and the latency benchmark
//! (benches/input_latency.rs): hostile exporters, and a fleet of slow health endpoints.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A loopback exporter that misbehaves in `mode` on every connection: "stall" (answers
/// nothing for 30 s), "drip" (one byte per 100 ms), "huge" (50 MB), "500".
pub fn hostile_exporter(mode: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            std::thread::spawn(move || {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                match mode {
                    "stall" => std::thread::sleep(Duration::from_secs(30)),
                    "drip" => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n");
                        for _ in 0..300 {
                            if s.write_all(b"#").is_err() {
                                return;
                            }
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    "huge" => {
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
                        let chunk = b"filler_metric 1\n".repeat(4096);
                        for _ in 0..(50_000_000 / chunk.len()) {
                            if s.write_all(&chunk).is_err() {
                                return;
                            }
                        }
                    }
                    _ => {
                        let _ = s.write_all(
                            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nboom",
                        );
                    }
                }
            });
        }
    });
    format!("http://{addr}/metrics")
}

/// A loopback HTTP server whose `/h/{n}` answers 200 after 1.5 s, counting the
/// requests in flight; runs on `rt`. Returns its base URL and the counter.
pub fn slow_health_server(rt: &tokio::runtime::Runtime) -> (String, Arc<AtomicUsize>) {
    use axum::extract::State;
    use axum::http::StatusCode;

    async fn slow(State(in_flight): State<Arc<AtomicUsize>>) -> StatusCode {
        in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        in_flight.fetch_sub(1, Ordering::SeqCst);
        StatusCode::OK
    }

    let in_flight = Arc::new(AtomicUsize::new(0));
    let counter = in_flight.clone();
    let base = rt.block_on(async move {
        let app = axum::Router::new()
            .route("/h/{n}", axum::routing::get(slow))
            .with_state(counter);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    (base, in_flight)
}

/// An HQ root at `hq` with `n` branches whose health URLs are `{base}/h/{i}`, checked
/// every second with a 2 s timeout.
pub fn slow_fleet_hq(hq: &Path, base: &str, n: usize) {
    std::fs::create_dir_all(hq.join("hq/registry")).expect("mkdir");
    std::fs::create_dir_all(hq.join("hq/recovery")).expect("mkdir");
    let branches: Vec<String> = (0..n)
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
    .expect("branches.json");
    std::fs::write(
        hq.join("hq/recovery/health-check.json"),
        r#"{"endpoints":[],"interval":"1s","timeout":"2s"}"#,
    )
    .expect("health-check.json");
}
