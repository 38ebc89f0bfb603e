//! A webhook that answers with a redirect: the POST is never replayed to the host in
//! `Location` (that host sees no connection at all), no request carries `Referer`,
//! the 3xx is not retried, and the failure is reported with the channel name and the
//! redacted URL only — in the library and through `lumen killswitch`.

mod common;
#[path = "common/http.rs"]
mod http;
use http::read_request;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lumen::domain::hq::{parse_channels, parse_notify_rules};
use lumen::operator::notify::{NotifyOptions, notify};
use serde_json::{Value, json};

const SECRET: &str = "SECRET-TOKEN-5be1";
const SECOND_SECRET: &str = "SECOND-SECRET-77c0";

/// The channel's host: records every request, answers each with a 307 to `second`.
/// The second host is a bound listener nobody accepts on: any connection to it stays
/// in its backlog, where the test finds it.
struct Servers {
    channel: SocketAddr,
    second: TcpListener,
    requests: Arc<Mutex<Vec<String>>>,
}

fn servers() -> Servers {
    let first = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let second = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    second
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    let channel = first.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let to = second.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let requests: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = requests.clone();
    std::thread::spawn(move || {
        for conn in first.incoming() {
            let Ok(mut s) = conn else { continue };
            let req = read_request(&mut s);
            // Recorded before answering: when the client has its answer, it is here.
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(req);
            let _ = write!(
                s,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: http://{to}/services/{SECOND_SECRET}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    Servers {
        channel,
        second,
        requests,
    }
}

impl Servers {
    fn channels_json(&self) -> String {
        json!({"slack": {"critical": format!("http://{}/services/{SECRET}", self.channel)}})
            .to_string()
    }
    /// The second host saw nothing: no connection is waiting in its backlog.
    fn assert_second_untouched(&self) {
        match self.second.accept() {
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Ok((mut s, _)) => {
                let _ = s.set_nonblocking(true);
                let mut got = vec![0u8; 65536];
                let n = s.read(&mut got).unwrap_or(0);
                panic!(
                    "the redirect was followed; the second host got: {}",
                    String::from_utf8_lossy(&got[..n])
                );
            }
            Err(e) => panic!("accept on the second host: {e}"),
        }
    }
    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    fn assert_one_request_without_referer(&self) {
        let reqs = self.requests();
        assert_eq!(reqs.len(), 1, "a redirect is not retried: {reqs:?}");
        assert!(reqs[0].starts_with("POST /services/"), "{}", reqs[0]);
        for r in &reqs {
            assert!(
                !r.to_ascii_lowercase().contains("\r\nreferer:"),
                "a request carries Referer: {r}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_a_failed_delivery_and_is_not_followed() {
    let srv = servers();
    let channels = parse_channels(Path::new("channels.json"), srv.channels_json().as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let rules = parse_notify_rules(
        Path::new("rules.json"),
        br#"{"rollback":["slack:critical"]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let opts = NotifyOptions {
        timeout: Duration::from_secs(3),
        tries: 3,
        backoff: Duration::from_millis(10),
    };
    let d = notify(
        Some(&channels),
        Some(&rules),
        &["rollback"],
        "Lumen: test",
        opts,
    )
    .await;
    assert_eq!(d.len(), 1, "{d:?}");
    let d = &d[0];
    assert_eq!(d.target, "slack:critical");
    assert!(!d.delivered, "{d:?}");
    assert_eq!(d.attempts, 1, "{d:?}");
    assert_eq!(d.url, format!("http://{}/…", srv.channel));
    let err = d.error.clone().unwrap_or_default();
    assert!(err.contains("307") && err.contains("redirect"), "{err}");
    let shown = format!("{d:?}");
    assert!(
        !shown.contains(SECRET) && !shown.contains(SECOND_SECRET) && !shown.contains("/services"),
        "{shown}"
    );
    srv.assert_one_request_without_referer();
    srv.assert_second_untouched();
}

#[test]
fn killswitch_reports_the_redirect_by_channel_name() {
    let srv = servers();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path();
    let write = |rel: &str, text: &str| {
        let p = root.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
    };
    let lumen = || {
        let mut c = common::bin::lumen();
        c.env("XDG_DATA_HOME", root.join("xdg-data"))
            .env("HOME", root.join("home"))
            .stdin(std::process::Stdio::null());
        c
    };
    let key = root.join("op.pem");
    let o = lumen()
        .args(["keygen", "--out", &key.display().to_string()])
        .args(["--id", "alice", "--role", "hq_admin"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    write(
        "hq/registry/keys.json",
        &json!({"signers": [entry]}).to_string(),
    );
    write(
        "hq/registry/decision-engine.json",
        r#"{"killSwitch":false}"#,
    );
    write(
        "hq/registry/branches.json",
        r#"{"hqVersion":"2.1","branches":[{"id":"papafly","repo":"x/p","domain":"p.example","visibility":"public","tier":"canary"}]}"#,
    );
    write("hq/ledger/ledger.jsonl", "");
    write("hq/notifications/channels.json", &srv.channels_json());
    write(
        "hq/notifications/rules.json",
        r#"{"kill_switch_activated":["slack:critical"]}"#,
    );
    let o = lumen()
        .args([
            "killswitch",
            "on",
            "--yes",
            "--key",
            &key.display().to_string(),
        ])
        .args(["--hq", &root.display().to_string()])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The kill switch itself happened; the notification failed, by name.
    assert_eq!(o.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("notification to slack:critical FAILED after 1 tries: HTTP 307"),
        "{stdout}"
    );
    let log =
        std::fs::read_to_string(root.join("xdg-data/lumen/logs/lumen.log")).unwrap_or_default();
    for (what, s) in [("stdout", &*stdout), ("stderr", &*stderr), ("log", &log)] {
        assert!(
            !s.contains(SECRET) && !s.contains(SECOND_SECRET) && !s.contains("/services/"),
            "{what} leaks a webhook URL: {s}"
        );
    }
    srv.assert_one_request_without_referer();
    srv.assert_second_untouched();
}
