//! Against a real `prometheus-alertmanager` (Debian package) on a loopback port with a
//! temporary config and storage, its webhook receiver a local test server:
//! two posters of the same alert collapse into one alert and one notification; a
//! silence is recorded in the ledger (signed `alert_silenced`) before it is created
//! with `createdBy` = the signer; `endsAt` on resolution ends the alert.
//!
//! Skips with a message when the binary is absent; fails when `CI` is set.

#[path = "common/bin.rs"]
mod bin;
#[path = "common/http.rs"]
mod http;
use http::read_request;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use lumen::domain::alerts::{AmOutbox, Evaluator, Inputs};
use lumen::domain::ledger::parse_line;
use lumen::operator::alertmanager::{AmClient, silence_recorded};

const BIN: &str = "/usr/bin/prometheus-alertmanager";

fn available() -> bool {
    if Path::new(BIN).is_file() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{BIN} is missing; CI must install prometheus-alertmanager (.ci/run)"
    );
    eprintln!("skipped: {BIN} not installed (apt-get install prometheus-alertmanager)");
    false
}

/// The webhook receiver: every notification body Alertmanager sends.
fn receiver() -> (u16, Arc<Mutex<Vec<serde_json::Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let req = read_request(&mut s);
            let body = req.split("\r\n\r\n").nth(1).unwrap_or("");
            if let Ok(v) = serde_json::from_str(body) {
                g.lock().unwrap().push(v);
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (port, got)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Am {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Am {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_alertmanager(hook_port: u16) -> Am {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("alertmanager.yml");
    std::fs::write(
        &cfg,
        format!(
            "route:\n  receiver: hook\n  group_by: ['alertname', 'branch']\n  group_wait: 200ms\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{hook_port}/am\n        send_resolved: true\n"
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new(BIN)
        .arg(format!("--config.file={}", cfg.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let am = Am {
        child,
        url,
        _dir: dir,
    };
    let start = Instant::now();
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = write!(
                s,
                "GET /-/ready HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
            );
            let mut r = String::new();
            let _ = s.read_to_string(&mut r);
            if r.starts_with("HTTP/1.1 200") {
                break;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "Alertmanager did not become ready"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    am
}

async fn poll<T>(what: &str, mut f: impl AsyncFnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn entry(id: &str, branch: &str, event: &str) -> lumen::domain::ledger::Entry {
    let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    parse_line(
        format!(r#"{{"id":"{id}","branch":"{branch}","event":"{event}","actor":"ci","timestamp":"{ts}"}}"#)
            .as_bytes(),
    )
    .unwrap()
}

/// An HQ root with a signer `alice` (hq_admin) and its key file.
fn hq_with_signer() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("hq/registry")).unwrap();
    std::fs::create_dir_all(d.path().join("hq/ledger")).unwrap();
    std::fs::write(d.path().join("hq/ledger/ledger.jsonl"), "").unwrap();
    let key = d.path().join("alice.pem");
    let o = bin::lumen()
        .args(["keygen", "--id", "alice", "--role", "hq_admin", "--out"])
        .arg(&key)
        .env("HOME", d.path())
        .env("XDG_DATA_HOME", d.path().join("data"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let signer: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    std::fs::write(
        d.path().join("hq/registry/keys.json"),
        serde_json::json!({ "signers": [signer] }).to_string(),
    )
    .unwrap();
    (d, key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_posters_collapse_silence_is_recorded_first_and_resolution_ends_it() {
    if !available() {
        return;
    }
    let (hook_port, notified) = receiver();
    let am = start_alertmanager(hook_port);
    let client = AmClient::new(&am.url, Duration::from_secs(5)).unwrap();

    // Two consoles (or a console and `watch`) see the same failed deploy.
    let mut posters: Vec<(Evaluator, AmOutbox)> = (0..2)
        .map(|_| (Evaluator::new(), AmOutbox::new("hq-test")))
        .collect();
    for (ev, outbox) in &mut posters {
        ev.ingest(Some(1), &entry("TXN-1", "koosy", "deploy_failed"));
        let now = Utc::now();
        let t = ev.evaluate(now, &Inputs::default());
        assert_eq!(t.firing.len(), 1);
        outbox.observe(now, &t);
        client
            .post_alerts(&outbox.body(now, &t.firing))
            .await
            .unwrap();
        outbox.posted(now);
    }
    let listed = poll("the alert listed", async || {
        let a = client.alerts().await.ok()?;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(listed.len(), 1, "two posters, one alert: {listed:?}");
    let a = &listed[0];
    assert_eq!(a.labels["alertname"], "DeployFailed");
    assert_eq!(a.labels["severity"], "warning");
    assert_eq!(a.labels["branch"], "koosy");
    assert_eq!(a.labels["id"], "TXN-1");
    assert_eq!(a.labels["hq"], "hq-test");
    assert!(a.annotations["summary"].contains("TXN-1"));
    assert!(a.annotations.contains_key("action"));
    // One notification carrying one alert (both posts were in before group_wait).
    poll("the webhook notification", async || {
        (!notified.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    {
        let n = notified.lock().unwrap();
        let firing: usize = n
            .iter()
            .filter(|v| v["status"] == "firing")
            .map(|v| v["alerts"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(firing, 1, "{n:?}");
    }

    // Silence it: the signed ledger entry first, then the silence by `alice`.
    let (hq, key) = hq_with_signer();
    let who = lumen::store::append::identity(hq.path(), &key).unwrap();
    let labels = lumen::domain::alerts::am_labels(&posters[0].0.firing()[0], "hq-test");
    let out = silence_recorded(
        hq.path(),
        &who,
        &client,
        &labels,
        Duration::from_secs(3600),
        "known: fix in progress",
        Utc::now(),
    )
    .await
    .unwrap();
    let ledger = std::fs::read_to_string(hq.path().join("hq/ledger/ledger.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "alert_silenced");
    assert_eq!(last["id"], out.ledger_id.as_str());
    assert_eq!(last["signer"], "alice");
    assert!(last["sig"].is_string());
    assert_eq!(last["labels"]["alertname"], "DeployFailed");
    let silences = client.silences().await.unwrap();
    let s = silences.iter().find(|s| s.id == out.silence_id).unwrap();
    assert_eq!(s.created_by, "alice");
    assert_eq!(s.comment, "known: fix in progress");
    assert_eq!(s.status.state, "active");
    poll("the alert silenced", async || {
        let a = client.alerts().await.ok()?;
        a.iter()
            .any(|x| x.status.silenced_by.contains(&out.silence_id))
            .then_some(())
    })
    .await;

    // The branch deploys fine again: the alert resolves and is posted with endsAt.
    let (ev, outbox) = &mut posters[0];
    ev.ingest(Some(2), &entry("TXN-2", "koosy", "deploy"));
    let now = Utc::now();
    let t = ev.evaluate(now, &Inputs::default());
    assert_eq!(t.resolved.len(), 1);
    outbox.observe(now, &t);
    let body = outbox.body(now, &t.firing);
    assert_eq!(body.len(), 1);
    assert!(body[0].ends_at.is_some());
    client.post_alerts(&body).await.unwrap();
    poll("the alert resolved", async || {
        let a = client.alerts().await.ok()?;
        a.is_empty().then_some(())
    })
    .await;
}
