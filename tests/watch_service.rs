//! `lumen watch` against a local webhook server: each routed notification is sent
//! exactly once — also across a restart (the sent log on disk) — a failed send is
//! tried again, the log file gets the story, and SIGTERM stops it cleanly (exit 0).

#[path = "common/bin.rs"]
mod bin;
#[path = "common/http.rs"]
mod http;
use http::read_request;
use std::io::Write;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};

const SECRET: &str = "SECRET-HOOK-93af";

/// A webhook receiver: records each request's body; answers with `status`.
struct Hook {
    port: u16,
    bodies: Arc<Mutex<Vec<String>>>,
    status: Arc<AtomicU16>,
}

fn hook() -> Hook {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let status = Arc::new(AtomicU16::new(200));
    let (b, st) = (bodies.clone(), status.clone());
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let req = read_request(&mut s);
            let body = req.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
            let code = st.load(Ordering::SeqCst);
            if code == 200 {
                b.lock().unwrap().push(body);
            }
            let _ = write!(
                s,
                "HTTP/1.1 {code} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
            );
        }
    });
    Hook {
        port,
        bodies,
        status,
    }
}

fn hq(port: u16) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::create_dir_all(p.join("hq/registry")).unwrap();
    std::fs::create_dir_all(p.join("hq/ledger")).unwrap();
    std::fs::create_dir_all(p.join("hq/notifications")).unwrap();
    std::fs::write(
        p.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"koosy","repo":"d/koosy","domain":"koosy.example","visibility":"public"}]}"#,
    )
    .unwrap();
    std::fs::write(
        p.join("hq/notifications/channels.json"),
        format!(r#"{{"slack":{{"critical":"http://127.0.0.1:{port}/hook/{SECRET}"}}}}"#),
    )
    .unwrap();
    std::fs::write(
        p.join("hq/notifications/rules.json"),
        r#"{"deploy_failed": {"channels": ["slack:critical"], "sendResolved": true}}"#,
    )
    .unwrap();
    let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true);
    std::fs::write(
        p.join("hq/ledger/ledger.jsonl"),
        format!(
            "{{\"id\":\"TXN-1\",\"branch\":\"koosy\",\"event\":\"deploy_failed\",\"actor\":\"ci\",\"timestamp\":\"{ts}\"}}\n"
        ),
    )
    .unwrap();
    d
}

fn cmd(root: &Path) -> Command {
    let mut c = bin::lumen();
    c.arg("watch")
        .arg("--hq")
        .arg(root)
        .arg("--log")
        .arg(root.join("watch.log"))
        .arg("--interval")
        .arg("200ms")
        .env("HOME", root)
        .env("XDG_CONFIG_HOME", root.join("cfg"))
        .env("XDG_DATA_HOME", root.join("data"));
    c
}

fn once(root: &Path) -> Output {
    cmd(root).arg("--once").output().unwrap()
}

fn log(root: &Path) -> String {
    std::fs::read_to_string(root.join("watch.log")).unwrap_or_default()
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn each_notification_is_sent_once_across_restarts() {
    let h = hook();
    let d = hq(h.port);
    let o = once(d.path());
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    {
        let bodies = h.bodies.lock().unwrap();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        let v: serde_json::Value = serde_json::from_str(&bodies[0]).unwrap();
        let text = v["text"].as_str().unwrap();
        assert!(
            text.starts_with("[warning] DeployFailed koosy: deploy TXN-1 failed"),
            "{text}"
        );
    }
    // The sent log is on disk; a restart sends nothing again.
    assert!(d.path().join("hq/notifications/sent-log.json").is_file());
    for _ in 0..2 {
        let o = once(d.path());
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    assert_eq!(h.bodies.lock().unwrap().len(), 1);
    let l = log(d.path());
    assert!(l.contains("notification sent"), "{l}");
    assert!(!l.contains(SECRET), "the webhook URL is a secret: {l}");
}

#[test]
fn a_failed_send_is_tried_again_and_then_recorded() {
    let h = hook();
    let d = hq(h.port);
    h.status.store(500, Ordering::SeqCst);
    let o = once(d.path());
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(h.bodies.lock().unwrap().is_empty());
    assert!(log(d.path()).contains("tried again next time"));
    h.status.store(200, Ordering::SeqCst);
    let o = once(d.path());
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_eq!(h.bodies.lock().unwrap().len(), 1);
    once(d.path());
    assert_eq!(h.bodies.lock().unwrap().len(), 1);
}

#[test]
fn a_broken_sent_log_stops_watch_before_anything_is_sent() {
    let h = hook();
    let d = hq(h.port);
    std::fs::write(
        d.path().join("hq/notifications/sent-log.json"),
        "{\"sent\": 1}\n",
    )
    .unwrap();
    let o = once(d.path());
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("sent-log.json:1:"), "{e}");
    assert!(h.bodies.lock().unwrap().is_empty());
}

#[test]
fn sigterm_stops_the_service_cleanly() {
    let h = hook();
    let d = hq(h.port);
    let mut child = cmd(d.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for("the first notification", || {
        !h.bodies.lock().unwrap().is_empty()
    });
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "watch did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    wait_for("the stop in the log", || {
        log(d.path()).contains("watch stopped")
    });
    assert!(log(d.path()).contains("SIGTERM"));
    assert_eq!(h.bodies.lock().unwrap().len(), 1, "sent once while running");
}

#[test]
fn rejects_known_before_a_restart_stay_known_and_new_ones_are_sent() {
    let h = hook();
    let d = hq(h.port);
    let p = d.path();
    std::fs::write(
        p.join("hq/notifications/rules.json"),
        r#"{"LedgerRejects": ["slack:critical"]}"#,
    )
    .unwrap();
    let ledger = p.join("hq/ledger/ledger.jsonl");
    let mut text = std::fs::read_to_string(&ledger).unwrap();
    text.push_str("not json\n");
    std::fs::write(&ledger, &text).unwrap();
    // First start: the reject already there is the baseline, not news.
    assert_eq!(once(p).status.code(), Some(0));
    assert!(h.bodies.lock().unwrap().is_empty());
    // A new reject while watch is down is news after the restart.
    text.push_str("{broken\n");
    std::fs::write(&ledger, &text).unwrap();
    assert_eq!(once(p).status.code(), Some(0));
    let bodies = h.bodies.lock().unwrap();
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert!(bodies[0].contains("LedgerRejects"), "{bodies:?}");
    assert!(bodies[0].contains("1 new rejected line"), "{bodies:?}");
}
