//! Ports for tests. Binding port 0 and handing the listener over cannot race; an
//! external program (Prometheus, node exporter) must be given a port number, so
//! `spawn_on_free_port` retries with a new port when the program could not listen.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Child;
use std::time::{Duration, Instant};

/// A loopback listener on a port the kernel chose: hand it to the server under test.
pub fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("local_addr: {e}"));
    (l, addr)
}

/// A loopback address nothing listens on (the listener is closed before returning):
/// for "connection refused" cases. Another process may take it later; tests that
/// rebind it take the port back with `TcpListener::bind(addr)`.
pub fn closed_addr() -> SocketAddr {
    listener().1
}

/// Start an external program that listens on the port it is given (`start(port)`),
/// and wait until that port accepts connections. When the program exits first (most
/// often: another process took the port between our probe and its bind —
/// EADDRINUSE), try again with a fresh port, up to five times.
pub fn spawn_on_free_port(
    what: &str,
    timeout: Duration,
    mut start: impl FnMut(u16) -> Child,
) -> (Child, u16) {
    for _ in 0..5 {
        let port = closed_addr().port();
        let mut child = start(port);
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break; // exited: the port was taken (or it failed); try another
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (child, port);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{what} did not listen on 127.0.0.1:{port} within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("{what} could not listen on a free port in five tries");
}
