//! The shared test helpers that other tests only use when an external tool is
//! installed: `spawn_on_free_port` (Prometheus, node exporter) is checked here with
//! Python's `http.server`, which is on every machine that runs the differential tests.

mod common;

use std::time::Duration;

fn python() -> bool {
    std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn spawn_on_free_port_starts_a_listener_and_retries_when_the_port_is_taken() {
    if !python() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but python3 is absent"
        );
        eprintln!("SKIP spawn_on_free_port: python3 is not installed");
        return;
    }
    let serve = |port: u16| {
        std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("python3: {e}"))
    };
    let (mut child, port) =
        common::net::spawn_on_free_port("http.server", Duration::from_secs(20), serve);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());

    // A program that cannot listen on the first port it is given (taken, as when
    // another process wins the race) is started again on another one.
    let (held, held_addr) = common::net::listener();
    let mut tries = Vec::new();
    let (mut second, second_port) =
        common::net::spawn_on_free_port("http.server", Duration::from_secs(20), |p| {
            tries.push(p);
            serve(if tries.len() == 1 {
                held_addr.port()
            } else {
                p
            })
        });
    assert!(tries.len() >= 2, "no retry after EADDRINUSE: {tries:?}");
    assert_ne!(second_port, held_addr.port());
    drop(held);
    for c in [&mut child, &mut second] {
        let _ = c.kill();
        let _ = c.wait();
    }
}
