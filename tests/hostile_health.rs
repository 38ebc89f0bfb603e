//! Hostile branch health endpoints (issue 8, docs/PERF.md) against `sources::health::run`:
//! the exporter fault list (refused, 500, 30 s stall, slow drip, 50 MB body, invalid
//! UTF-8, reset, redirect loop) served on 127.0.0.1. For each: the round's result names
//! the failure (or, where the fault is in a body a health check never reads, says
//! healthy) within the check timeout plus slack, memory stays bounded (the body is
//! never read: the server cannot push it), no result text carries the URL's token, and
//! the same endpoint turned healthy is `ok` in a following round by itself.
//!
//! A health check is "2xx status = up" (`src/sources/health.rs`): it reads the status
//! line and headers only. So a slow-drip or 50 MB *body* behind a `200` is healthy and
//! answered at once; the hostile versions that matter for a health check are a status
//! line dripped byte by byte (timed out) and a reset before the headers end (failed).
//! Every wait polls the channel with a timeout; the only sleeps are in the servers.

mod common;
#[path = "sources_common/mod.rs"]
mod sources_common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lumen::protocol::{HealthResult, Msg};
use lumen::sources::health::{self, HealthConfig, HealthTarget};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const HEALTHY: u8 = 0;
const STATUS_500: u8 = 1;
const STALL: u8 = 2;
const DRIP_HEAD: u8 = 3;
const DRIP_BODY: u8 = 4;
const HUGE: u8 = 5;
const BAD_UTF8: u8 = 6;
const RESET_HEAD: u8 = 7;
const RESET_BODY: u8 = 8;
const REDIRECT_LOOP: u8 = 9;
const CTRL_HEAD: u8 = 10;

/// The check timeout used here (the default is 2 s; 1 s keeps the suite short).
const TIMEOUT: Duration = Duration::from_secs(1);
const INTERVAL: Duration = Duration::from_millis(200);
/// A token in every URL: no result text may carry it.
const TOKEN: &str = "SECRETHEALTHTOKEN";

use sources_common::{ModeServer as Server, read_head};

async fn start(mode: u8) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    serve(listener, mode)
}

fn serve(listener: TcpListener, mode: u8) -> Server {
    sources_common::serve_modes(
        listener,
        mode,
        &format!("/health?token={TOKEN}"),
        |sock, mode, written| async move { handle(sock, mode, &written).await },
    )
}

async fn handle(mut sock: TcpStream, mode: u8, written: &AtomicUsize) {
    if read_head(&mut sock).await.is_none() {
        return;
    }
    match mode {
        STATUS_500 => {
            let _ = sock
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\nconnection: close\r\n\r\nboom")
                .await;
        }
        STALL => tokio::time::sleep(Duration::from_secs(30)).await,
        DRIP_HEAD => {
            for b in b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".repeat(20) {
                if sock.write_all(&[b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        DRIP_BODY => {
            let _ = sock
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 1048576\r\nconnection: close\r\n\r\n",
                )
                .await;
            for _ in 0..300 {
                if sock.write_all(b"#").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        HUGE => {
            // 50 MB without Content-Length behind a 200.
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
                .await;
            let chunk = vec![b'x'; 65536];
            let mut sent = 0usize;
            while sent < 50_000_000 {
                if sock.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len();
                written.store(sent, Ordering::SeqCst);
            }
        }
        BAD_UTF8 => {
            // Invalid UTF-8 in the reason phrase and a header; escapes in the body.
            // (Control bytes in the status line or headers are refused by the HTTP
            // parser itself: `all_faults_in_one_round…` covers that answer too.)
            let _ = sock
                .write_all(b"HTTP/1.1 503 \xff\xfe\xc3\x28\r\nx-note: \xff\x80\r\ncontent-length: 6\r\nconnection: close\r\n\r\n\xff\xfe\x1b]52;")
                .await;
        }
        RESET_HEAD | RESET_BODY => {
            let bytes: &[u8] = if mode == RESET_HEAD {
                b"HTTP/1.1 200 OK\r\ncontent-le"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\npartial"
            };
            let _ = sock.write_all(bytes).await;
            let _ = sock.flush().await;
            // SO_LINGER 0: close sends RST instead of FIN.
            let _ = sock.set_zero_linger();
            drop(sock);
        }
        CTRL_HEAD => {
            let _ = sock
                .write_all(b"HTTP/1.1 200 \x1b[2J\x1b]52;c;aGk=\x07\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
        REDIRECT_LOOP => {
            let _ = sock
                .write_all(b"HTTP/1.1 302 Found\r\nlocation: /health?token=SECRETHEALTHTOKEN\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
        _ => {
            let _ = sock
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                .await;
        }
    }
}

struct Checker {
    rx: mpsc::Receiver<Msg>,
    cancel: CancellationToken,
    started: Instant,
}

impl Drop for Checker {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn check(url: &str) -> Checker {
    let (tx, rx) = mpsc::channel(64);
    let (_recheck_tx, recheck_rx) = mpsc::channel(1);
    let cancel = CancellationToken::new();
    let mut cfg = HealthConfig::new(
        vec![HealthTarget {
            branch: "koosy".into(),
            url: url.to_owned(),
        }],
        INTERVAL,
    );
    cfg.timeout = TIMEOUT;
    tokio::spawn(health::run(cfg, tx, cancel.clone(), recheck_rx));
    Checker {
        rx,
        cancel,
        started: Instant::now(),
    }
}

/// The next round's result for the one target.
async fn next_result(c: &mut Checker) -> HealthResult {
    let (r, _) = sources_common::wait_for(&mut c.rx, "a health round", |m| match m {
        Msg::HealthChecked { results, .. } => results.first().cloned(),
        _ => None,
    })
    .await;
    let text = format!("{r:?}");
    assert!(!text.contains(TOKEN), "the URL's token leaked: {text}");
    assert!(
        !text.chars().any(|ch| ch.is_control() && ch != ' '),
        "control characters in the result: {text}"
    );
    r
}

/// Fault → the first round names it within `bound` → healthy → `ok` by itself.
async fn fault_and_recover(mode: u8, expect: &str, bound: Duration) -> (Server, HealthResult) {
    let server = start(mode).await;
    let mut c = check(&server.url);
    let r = next_result(&mut c).await;
    let took = c.started.elapsed();
    assert!(!r.ok, "{expect}: reported healthy: {r:?}");
    let err = r.error.clone().unwrap_or_default();
    assert!(err.contains(expect), "expected {expect:?} in {r:?}");
    assert!(
        took < bound,
        "{expect}: the round took {took:?} (bound {bound:?})"
    );
    server.mode.store(HEALTHY, Ordering::SeqCst);
    recover(&mut c).await;
    (server, r)
}

async fn recover(c: &mut Checker) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = next_result(c).await;
        if r.ok {
            assert_eq!(r.status, Some(200));
            return;
        }
        assert!(Instant::now() < deadline, "never recovered: {r:?}");
    }
}

/// Bound for faults answered at once, and for faults cut by the 1 s timeout: far below
/// the faults' own durations (30 s stall, 30 s body drip, 76 s header drip), so a
/// checker that waited them out fails, and far above scheduling delays on a busy
/// machine. Not a speed bar: the error text names the cause ("timed out").
const QUICK: Duration = Duration::from_secs(15);
const TIMED: Duration = QUICK;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_is_named_and_recovers_on_the_same_port() {
    let addr = common::net::closed_addr();
    let mut c = check(&format!("http://{addr}/health?token={TOKEN}"));
    let r = next_result(&mut c).await;
    assert!(!r.ok);
    let err = r.error.clone().unwrap_or_default();
    assert!(
        err.contains("connection failed") && err.to_lowercase().contains("refused"),
        "{r:?}"
    );
    assert!(c.started.elapsed() < QUICK, "{:?}", c.started.elapsed());
    let listener = TcpListener::bind(addr).await.expect("rebind");
    let _server = serve(listener, HEALTHY);
    recover(&mut c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_is_named_and_recovers() {
    let (_, r) = fault_and_recover(STATUS_500, "HTTP 500", QUICK).await;
    assert_eq!(r.status, Some(500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_second_stall_times_out_at_the_check_timeout() {
    fault_and_recover(STALL, "timed out", TIMED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_line_dripped_byte_by_byte_times_out() {
    fault_and_recover(DRIP_HEAD, "timed out", TIMED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_drip_body_behind_200_is_healthy_at_once() {
    let server = start(DRIP_BODY).await;
    let mut c = check(&server.url);
    let r = next_result(&mut c).await;
    assert!(r.ok, "the status said 200: {r:?}");
    assert!(c.started.elapsed() < QUICK, "{:?}", c.started.elapsed());
    // Next rounds keep coming: the dripping connections hold nothing up.
    let r = next_result(&mut c).await;
    assert!(r.ok, "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_megabyte_body_is_never_read() {
    let server = start(HUGE).await;
    let mut c = check(&server.url);
    let r = next_result(&mut c).await;
    assert!(r.ok, "the status said 200: {r:?}");
    assert!(c.started.elapsed() < QUICK, "{:?}", c.started.elapsed());
    // Poll the server's progress until it stops growing (the client hung up or
    // stopped reading): it must stay far below 50 MB.
    let mut last = usize::MAX;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let _ = next_result(&mut c).await;
        let now = server.written.load(Ordering::SeqCst);
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
    }
    let sent = server.written.load(Ordering::SeqCst);
    assert!(
        sent < 16 * 1024 * 1024,
        "the server pushed {sent} bytes: the checker reads bodies"
    );
    println!("50 MB body: the server could write {sent} bytes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_utf8_and_escapes_in_the_answer_are_named_cleanly() {
    let (_, r) = fault_and_recover(BAD_UTF8, "HTTP 503", QUICK).await;
    let err = r.error.unwrap_or_default();
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{fffd}'),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_before_the_headers_end_is_named_and_recovers() {
    fault_and_recover(RESET_HEAD, "request failed", QUICK).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_mid_body_behind_200_is_healthy() {
    let server = start(RESET_BODY).await;
    let mut c = check(&server.url);
    let r = next_result(&mut c).await;
    assert!(r.ok, "the status said 200: {r:?}");
    assert!(c.started.elapsed() < QUICK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_loop_is_named_and_recovers() {
    fault_and_recover(REDIRECT_LOOP, "too many redirects", QUICK).await;
}

/// All faults at once in one checker (as in a real registry): one round, bounded by
/// the timeout, every branch judged on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_faults_in_one_round_stay_within_the_timeout() {
    let refused = format!("http://{}/health", common::net::closed_addr());
    let mut servers = Vec::new();
    let mut targets = vec![HealthTarget {
        branch: "refused".into(),
        url: refused,
    }];
    for (name, mode) in [
        ("500", STATUS_500),
        ("stall", STALL),
        ("drip-head", DRIP_HEAD),
        ("drip-body", DRIP_BODY),
        ("huge", HUGE),
        ("utf8", BAD_UTF8),
        ("reset-head", RESET_HEAD),
        ("reset-body", RESET_BODY),
        ("redirect", REDIRECT_LOOP),
        ("ctrl-head", CTRL_HEAD),
        ("healthy", HEALTHY),
    ] {
        let s = start(mode).await;
        targets.push(HealthTarget {
            branch: name.into(),
            url: s.url.clone(),
        });
        servers.push(s);
    }
    let client = health::client(TIMEOUT).expect("client");
    let started = Instant::now();
    let results = health::round(&client, targets, 1024).await;
    let took = started.elapsed();
    assert!(took < TIMED, "one round took {took:?}");
    let ok: Vec<(&str, bool)> = results.iter().map(|r| (r.branch.as_str(), r.ok)).collect();
    assert_eq!(
        ok,
        vec![
            ("refused", false),
            ("500", false),
            ("stall", false),
            ("drip-head", false),
            ("drip-body", true),
            ("huge", true),
            ("utf8", false),
            ("reset-head", false),
            ("reset-body", true),
            ("redirect", false),
            ("ctrl-head", false),
            ("healthy", true),
        ],
        "{results:#?}"
    );
    for r in &results {
        let text = format!("{r:?}");
        assert!(!text.contains(TOKEN), "the URL's token leaked: {text}");
        assert!(
            !text.contains('\u{1b}'),
            "an escape reached the result: {text}"
        );
        if !r.ok {
            assert!(r.error.as_deref().is_some_and(|e| !e.is_empty()), "{r:?}");
        }
    }
    println!("one round over all faults: {took:?}");
}
