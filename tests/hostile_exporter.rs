//! Hostile exporters (issue 8, docs/PERF.md): local servers on 127.0.0.1 that refuse, fail,
//! stall, drip, flood, break the connection or loop redirects. For each, the exporter
//! poller (`lumen::sources::exporter::run`) must send a `Msg::SourceFailed` naming the
//! failure within its bound, keep memory bounded (the body limit holds), and recover
//! by itself: the same server switched to healthy yields `Msg::MetricsScraped`. The
//! `lumen scrape URL --timeout 1` CLI must exit 1 with a one-line cause for each.
//! Every wait polls a channel with a timeout; the only sleeps are inside the servers.

mod common;
#[path = "sources_common/mod.rs"]
mod sources_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lumen::protocol::{Msg, SourceId};
use lumen::sources::exporter::ExporterConfig;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const HEALTHY: u8 = 0;
const STATUS_500: u8 = 1;
const STALL: u8 = 2;
const SLOW_DRIP: u8 = 3;
const HUGE: u8 = 4;
const HUGE_LABEL: u8 = 5;
const BAD_UTF8: u8 = 6;
const RESET: u8 = 7;
const REDIRECT_LOOP: u8 = 8;

/// The client timeout used against the stalling servers.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a fault may take to be named: far below the faults' own 30 s (stall,
/// drip), so a client that waited them out fails, and far above scheduling delays on
/// a busy machine. The cut itself is proven by the message ("within 1.0 s" names the
/// client timeout, "larger than" the body limit), not by a wall-clock bar.
const BOUND: Duration = Duration::from_secs(15);
const LIMIT: usize = 16 * 1024 * 1024;
const HEALTHY_BODY: &[u8] = b"# TYPE lumen_gateway_status gauge\nlumen_gateway_status 3\n";

use sources_common::{ModeServer as Server, read_head};

async fn start(mode: u8) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve(listener, mode)
}

fn serve(listener: TcpListener, mode: u8) -> Server {
    sources_common::serve_modes(
        listener,
        mode,
        "/metrics",
        |sock, mode, written| async move { handle(sock, mode, &written).await },
    )
}

fn head(status: &str, len: Option<usize>) -> Vec<u8> {
    let len = len.map_or(String::new(), |n| format!("content-length: {n}\r\n"));
    format!("HTTP/1.1 {status}\r\ncontent-type: text/plain; version=0.0.4\r\n{len}connection: close\r\n\r\n")
        .into_bytes()
}

async fn handle(mut sock: TcpStream, mode: u8, written: &AtomicUsize) {
    if read_head(&mut sock).await.is_none() {
        return;
    }
    let full = |status: &str, body: &[u8]| {
        let mut v = head(status, Some(body.len()));
        v.extend_from_slice(body);
        v
    };
    match mode {
        STATUS_500 => {
            let _ = sock
                .write_all(&full("500 Internal Server Error", b"boom"))
                .await;
        }
        STALL => {
            // Accept, read the request, answer nothing for 30 s.
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        SLOW_DRIP => {
            let _ = sock.write_all(&head("200 OK", Some(1 << 20))).await;
            for _ in 0..300 {
                if sock.write_all(b"#").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        HUGE => {
            // 50 MB without Content-Length: only the streaming limit can stop it.
            let _ = sock.write_all(&head("200 OK", None)).await;
            let line = b"lumen_filler_metric_with_a_long_name{label=\"0123456789\"} 1\n";
            let chunk = line.repeat(65536 / line.len());
            let mut sent = 0usize;
            while sent < 50_000_000 {
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len();
                written.store(sent, Ordering::SeqCst);
            }
        }
        HUGE_LABEL => {
            let mut body = b"big{note=\"".to_vec();
            body.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
            body.extend_from_slice(b"\"} 1\n");
            body.extend_from_slice(HEALTHY_BODY);
            let _ = sock.write_all(&full("200 OK", &body)).await;
        }
        BAD_UTF8 => {
            let body = b"\xff\xfe\xfd garbage \xc3\x28\n\x80\x81\x82 1\n";
            let _ = sock.write_all(&full("200 OK", body)).await;
        }
        RESET => {
            let _ = sock.write_all(&head("200 OK", Some(100_000))).await;
            let _ = sock.write_all(&HEALTHY_BODY.repeat(10)).await;
            let _ = sock.flush().await;
            // SO_LINGER 0: close sends RST instead of FIN.
            let _ = sock.set_zero_linger();
            drop(sock);
        }
        REDIRECT_LOOP => {
            let _ = sock
                .write_all(
                    b"HTTP/1.1 302 Found\r\nlocation: /metrics\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                )
                .await;
        }
        _ => {
            let _ = sock.write_all(&full("200 OK", HEALTHY_BODY)).await;
        }
    }
}

struct Poller {
    rx: mpsc::Receiver<Msg>,
    cancel: CancellationToken,
}

impl Drop for Poller {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn poll(url: &str) -> Poller {
    let (tx, rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let cfg = ExporterConfig {
        url: url.to_owned(),
        timeout: CLIENT_TIMEOUT,
        max_bytes: LIMIT,
    };
    tokio::spawn(lumen::sources::exporter::run(
        SourceId::Exporter(0),
        cfg,
        Duration::from_millis(200),
        tx,
        cancel.clone(),
    ));
    Poller { rx, cancel }
}

/// Wait for a failure whose text contains `expect`; returns it and how long it took.
async fn expect_failure(p: &mut Poller, expect: &str) -> (String, Duration) {
    let start = Instant::now();
    let (err, _) = sources_common::wait_for(&mut p.rx, expect, |m| match m {
        Msg::SourceFailed { error, .. } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(
        err.contains(expect),
        "failure should name {expect:?}, got {err:?}"
    );
    assert!(!err.contains('\n'), "failure is not one line: {err:?}");
    (err, start.elapsed())
}

async fn expect_scrape(p: &mut Poller) -> Vec<lumen::domain::exposition::Sample> {
    sources_common::wait_for(&mut p.rx, "recovery (MetricsScraped)", |m| match m {
        Msg::MetricsScraped { samples, .. } => Some(samples.clone()),
        _ => None,
    })
    .await
    .0
}

/// The common scenario: fault → named failure within `bound` → healthy → recovered.
async fn fault_and_recover(mode: u8, expect: &str, bound: Duration) -> Server {
    let server = start(mode).await;
    let mut p = poll(&server.url);
    let (_, took) = expect_failure(&mut p, expect).await;
    assert!(
        took < bound,
        "{expect}: failure took {took:?} (bound {bound:?})"
    );
    server.mode.store(HEALTHY, Ordering::SeqCst);
    let samples = expect_scrape(&mut p).await;
    assert!(
        samples.iter().any(|s| s.name == "lumen_gateway_status"),
        "recovered scrape lacks the healthy sample"
    );
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_refused_then_recovers_on_the_same_port() {
    let addr = common::net::closed_addr();
    let url = format!("http://{addr}/metrics");
    let mut p = poll(&url);
    let (err, took) = expect_failure(&mut p, "cannot connect").await;
    assert!(err.to_lowercase().contains("refused"), "{err}");
    assert!(took < BOUND, "{took:?}");
    // The exporter comes up on that port.
    let listener = TcpListener::bind(addr).await.expect("rebind");
    let _server = serve(listener, HEALTHY);
    expect_scrape(&mut p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_is_named_and_recovers() {
    fault_and_recover(STATUS_500, "HTTP status 500", BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_second_stall_times_out_at_the_client_timeout() {
    fault_and_recover(STALL, "no complete answer within 1.0 s", BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip_body_is_cut_by_the_whole_exchange_deadline() {
    fault_and_recover(SLOW_DRIP, "no complete answer within 1.0 s", BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabyte_body_stops_at_the_limit() {
    let server = fault_and_recover(HUGE, &format!("body larger than {LIMIT} bytes"), BOUND).await;
    // The client stopped reading at the limit: the server could not push 50 MB
    // (what it wrote is the limit plus socket buffers).
    let sent = server.written.load(Ordering::SeqCst);
    assert!(
        sent < LIMIT + 12 * 1024 * 1024,
        "server wrote {sent} bytes: the client kept reading past the limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_megabyte_label_value_is_kept_whole_within_the_limit() {
    let server = start(HUGE_LABEL).await;
    let mut p = poll(&server.url);
    let samples = expect_scrape(&mut p).await;
    let big = samples
        .iter()
        .find(|s| s.name == "big")
        .unwrap_or_else(|| panic!("the 2 MB-label sample was dropped"));
    assert_eq!(
        big.labels.get("note").map(String::len),
        Some(2 * 1024 * 1024)
    );
    assert!(samples.iter().any(|s| s.name == "lumen_gateway_status"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_body_is_unparsable_and_recovers() {
    fault_and_recover(BAD_UTF8, "nothing readable", BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_body_is_named_and_recovers() {
    fault_and_recover(RESET, "reading the body failed", BOUND).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop_is_named_and_recovers() {
    fault_and_recover(REDIRECT_LOOP, "too many redirects", BOUND).await;
}

/// `lumen scrape URL --timeout 1` against every fault: exit 1, one line on stderr.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scrape_cli_exits_one_with_a_one_line_cause() {
    let refused = format!("http://{}/metrics", common::net::closed_addr());
    let mut cases = vec![(refused, "cannot connect")];
    for (mode, expect) in [
        (STATUS_500, "HTTP status 500"),
        (STALL, "no complete answer"),
        (SLOW_DRIP, "no complete answer"),
        (HUGE, "body larger than"),
        (BAD_UTF8, "nothing readable"),
        (RESET, "reading the body failed"),
        (REDIRECT_LOOP, "too many redirects"),
    ] {
        let s = start(mode).await;
        cases.push((s.url.clone(), expect));
    }
    for (url, expect) in cases {
        let start = Instant::now();
        let out = tokio::process::Command::from(common::bin::lumen())
            .args(["scrape", &url, "--timeout", "1"])
            .env("HOME", std::env::temp_dir())
            .output()
            .await
            .expect("run lumen scrape");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url} ({expect}): {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "not one line: {stderr}"
        );
        assert!(stderr.contains(expect), "{expect:?} not in {stderr:?}");
        assert!(
            start.elapsed() < BOUND,
            "{expect}: scrape took {:?}",
            start.elapsed()
        );
    }
}
