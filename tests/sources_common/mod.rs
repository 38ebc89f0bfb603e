//! Helpers shared by the `sources_*` tests: spawn a source, wait for messages with a
//! timeout (polling the channel, never sleeping a fixed time).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use lumen::protocol::Msg;
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(10);

/// Receive until `pick` returns `Some`, or panic after `WAIT`. Messages that do not
/// match are returned in `skipped` order via the second element.
pub async fn wait_for<T>(
    rx: &mut mpsc::Receiver<Msg>,
    what: &str,
    mut pick: impl FnMut(&Msg) -> Option<T>,
) -> (T, Vec<Msg>) {
    let deadline = Instant::now() + WAIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(msg)) => match pick(&msg) {
                Some(v) => return (v, skipped),
                None => skipped.push(msg),
            },
            Ok(None) => panic!("channel closed while waiting for {what}; got {skipped:#?}"),
            Err(_) => panic!("timed out waiting for {what}; got {skipped:#?}"),
        }
    }
}

/// True if nothing at all arrives within `quiet` (used only to check that something
/// is NOT sent; the positive paths never depend on it).
pub async fn nothing_within(rx: &mut mpsc::Receiver<Msg>, quiet: Duration) -> Option<Msg> {
    tokio::time::timeout(quiet, rx.recv()).await.ok().flatten()
}

/// A loopback HTTP server for fault tests whose behaviour (`mode`) the test switches
/// while it runs; `written` counts the body bytes the handler managed to send.
pub struct ModeServer {
    pub url: String,
    pub mode: std::sync::Arc<std::sync::atomic::AtomicU8>,
    pub written: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Accept on `listener` and hand each connection, with the mode at accept time, to
/// `handle`. The URL is `http://ADDR{path}`.
pub fn serve_modes<H, F>(
    listener: tokio::net::TcpListener,
    mode: u8,
    path: &str,
    handle: H,
) -> ModeServer
where
    H: Fn(tokio::net::TcpStream, u8, std::sync::Arc<std::sync::atomic::AtomicUsize>) -> F
        + Send
        + Sync
        + 'static,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
    let addr = listener.local_addr().expect("addr");
    let mode = Arc::new(AtomicU8::new(mode));
    let written = Arc::new(AtomicUsize::new(0));
    let (m, w) = (mode.clone(), written.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(handle(sock, m.load(Ordering::SeqCst), w.clone()));
        }
    });
    ModeServer {
        url: format!("http://{addr}{path}"),
        mode,
        written,
    }
}

/// Read a request head (up to the blank line); `None` when the peer went away.
pub async fn read_head(sock: &mut tokio::net::TcpStream) -> Option<()> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = sock.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(buf.get(..n)?);
    }
    Some(())
}
