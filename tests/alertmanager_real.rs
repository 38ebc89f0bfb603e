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
#[path = "common/net.rs"]
mod net;
#[path = "common/pty.rs"]
mod pty;
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
    // The one port helper (tests/common/net.rs): retries on another port when the
    // chosen one was taken between the check and Alertmanager's bind.
    let (child, port) = net::spawn_on_free_port("alertmanager", Duration::from_secs(30), |port| {
        Command::new(BIN)
            .arg(format!("--config.file={}", cfg.display()))
            .arg(format!(
                "--storage.path={}",
                dir.path().join(format!("data-{port}")).display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--cluster.listen-address=")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    });
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

/// Wait for a message from the links that `f` accepts (others are fed to `seen`).
async fn next_msg<T>(
    rx: &mut tokio::sync::mpsc::Receiver<lumen::protocol::Msg>,
    what: &str,
    mut f: impl FnMut(&lumen::protocol::Msg) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let m = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("links stopped before {what}"));
        if let Some(v) = f(&m) {
            return v;
        }
    }
}

/// Two consoles' Alertmanager links (the console path: the view model evaluates,
/// the link posts) collapse into one alert; the console joins it as its own; a
/// silence confirmed in the form goes through the link (ledger entry first) and
/// shows as silenced in the view; a read-only console's link refuses to silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_console_links_post_one_alert_and_silence_by_command() {
    use lumen::app::alerts::{AlertsState, FormOutcome};
    use lumen::operator::am_link::{self, LinkConfig, LinkRequest};
    use lumen::protocol::{AmReport, Msg, PendingAction};

    if !available() {
        return;
    }
    let (hook_port, _notified) = receiver();
    let am = start_alertmanager(hook_port);
    let client = AmClient::new(&am.url, Duration::from_secs(5)).unwrap();
    let (hq, key) = hq_with_signer();
    let who = Arc::new(lumen::store::append::identity(hq.path(), &key).unwrap());
    let (msg_tx, mut msg_rx) = tokio::sync::mpsc::channel(256);
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut links = Vec::new();
    let mut consoles = Vec::new();
    for i in 0..2 {
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        let cfg = LinkConfig {
            client: AmClient::new(&am.url, am_link::TIMEOUT).unwrap(),
            hq: "hq-test".into(),
            root: hq.path().to_path_buf(),
            // The second console is read-only.
            who: (i == 0).then(|| who.clone()),
            poll_every: Duration::from_millis(300),
        };
        tokio::spawn(am_link::run(cfg, rx, msg_tx.clone(), cancel.clone()));
        links.push(tx);
        let mut st = AlertsState::default();
        st.set_alertmanager(Some(am.url.clone()), "hq-test".into());
        consoles.push(st);
    }
    drop(msg_tx);
    for (st, link) in consoles.iter_mut().zip(&links) {
        st.ingest(Some(1), &entry("TXN-7", "koosy", "deploy_failed"));
        let (t, req) = st.evaluate(Utc::now(), &Inputs::default());
        assert_eq!(t.fired.len(), 1);
        let req = req.expect("a configured console hands its alerts to the link");
        link.send(LinkRequest::Alerts(req)).await.unwrap();
    }
    // Both links posted (each reports its accepted post)…
    for n in 0..2 {
        next_msg(&mut msg_rx, &format!("post #{}", n + 1), |m| match m {
            Msg::Alertmanager(AmReport::Posted { alerts, .. }) => {
                assert_eq!(*alerts, 1);
                Some(())
            }
            _ => None,
        })
        .await;
    }
    // … and Alertmanager holds one alert.
    let listed = poll("the consoles' alert listed", async || {
        let a = client.alerts().await.ok()?;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(listed.len(), 1, "two consoles, one alert: {listed:?}");
    assert_eq!(listed[0].labels["alertname"], "DeployFailed");
    assert_eq!(listed[0].labels["hq"], "hq-test");

    // The listing comes back to the console: its own alert is not listed twice.
    let report = next_msg(&mut msg_rx, "a listing with the alert", |m| match m {
        Msg::Alertmanager(r @ AmReport::Listed { alerts, .. }) if !alerts.is_empty() => {
            Some(r.clone())
        }
        _ => None,
    })
    .await;
    consoles[0].on_report(report);
    assert_eq!(consoles[0].rows(), 1, "joined as this console's own alert");
    assert_eq!(consoles[0].am.others.len(), 0);

    // Silence it from the form, through the link.
    let mut form = consoles[0].silence_form().unwrap();
    assert_eq!(form.expected, "koosy");
    let keys = "on it"
        .chars()
        .map(crossterm::event::KeyCode::Char)
        .chain([crossterm::event::KeyCode::Enter])
        .chain("koosy".chars().map(crossterm::event::KeyCode::Char))
        .chain([crossterm::event::KeyCode::Enter]);
    let mut submitted = None;
    for k in keys {
        if let FormOutcome::Submit(a) = form.key(crossterm::event::KeyEvent::from(k)) {
            submitted = Some(a);
        }
    }
    let Some(PendingAction::SilenceAlert {
        labels,
        duration,
        comment,
    }) = submitted
    else {
        panic!("the form did not submit: {:?}", form.error);
    };
    assert_eq!(duration, Duration::from_secs(7200), "the default is 2h");
    // The read-only console's link refuses, saying why.
    links[1]
        .send(LinkRequest::Silence {
            labels: labels.clone(),
            duration,
            comment: comment.clone(),
        })
        .await
        .unwrap();
    let refused = next_msg(&mut msg_rx, "the read-only refusal", |m| match m {
        Msg::OperatorDone { ok, summary, .. } => Some((*ok, summary.clone())),
        _ => None,
    })
    .await;
    assert!(!refused.0 && refused.1.contains("read-only"), "{refused:?}");
    links[0]
        .send(LinkRequest::Silence {
            labels,
            duration,
            comment,
        })
        .await
        .unwrap();
    let done = next_msg(&mut msg_rx, "the silence's outcome", |m| match m {
        Msg::OperatorDone { ok, summary, .. } => Some((*ok, summary.clone())),
        _ => None,
    })
    .await;
    assert!(done.0, "{done:?}");
    let ledger = std::fs::read_to_string(hq.path().join("hq/ledger/ledger.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "alert_silenced");
    assert_eq!(last["signer"], "alice");
    assert_eq!(last["comment"], "on it");
    let silences = client.silences().await.unwrap();
    let s = silences
        .iter()
        .find(|s| s.status.state == "active")
        .unwrap();
    assert_eq!(s.created_by, "alice");
    assert!(
        !s.matchers.iter().any(|m| m.name == "severity"),
        "the silence holds across severities: {s:?}"
    );
    // The next listings show it silenced in the console's view.
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the view never showed the silence"
        );
        let report = next_msg(&mut msg_rx, "a listing with the silence", |m| match m {
            Msg::Alertmanager(r @ AmReport::Listed { .. }) => Some(r.clone()),
            _ => None,
        })
        .await;
        consoles[0].on_report(report);
        let a = consoles[0].firing()[0].clone();
        if consoles[0].is_silenced(&a) {
            assert_eq!(consoles[0].am.silences.len(), 1);
            break;
        }
    }
    cancel.cancel();
}

/// The whole console path by keypress in a pseudo-terminal: the console (with
/// `alertmanager_url`) sees a `deploy_failed` line, shows it in the header and the
/// alerts view (`a`), posts it to Alertmanager; `S`, a comment and the typed branch
/// id silence it — the signed ledger entry first, then the silence by the signer —
/// and the view marks it silenced.
#[test]
fn console_posts_and_silences_by_keypress() {
    if !available() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (hook_port, _notified) = receiver();
    let am = start_alertmanager(hook_port);
    let client = AmClient::new(&am.url, Duration::from_secs(5)).unwrap();
    let (hq, key) = hq_with_signer();
    let root = hq.path();
    std::fs::write(
        root.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"koosy","repo":"x/koosy","domain":"koosy.example","visibility":"public","tier":"standard"}]}"#,
    )
    .unwrap();
    let ts = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    std::fs::write(
        root.join("hq/ledger/ledger.jsonl"),
        format!(r#"{{"id":"TXN-9","branch":"koosy","event":"deploy_failed","actor":"ci","timestamp":"{ts}"}}"#)
            + "\n",
    )
    .unwrap();
    let cfg = root.join("lumen.yaml");
    std::fs::write(&cfg, format!("alertmanager_url: {}\n", am.url)).unwrap();
    let args = [
        "--hq",
        root.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ];
    let mut term = pty::Pty::spawn(&args, 160, 48, root);
    term.wait_for("the header summary", Duration::from_secs(20), |s| {
        s.contains("1 deploy failed")
    });
    term.send(b"a");
    term.wait_for("the alerts view", Duration::from_secs(10), |s| {
        s.contains("1 firing here") && s.contains("DeployFailed") && s.contains("TXN-9")
    });
    // The console posted it.
    let listed = rt.block_on(poll("the console's alert in Alertmanager", async || {
        let a = client.alerts().await.ok()?;
        (!a.is_empty()).then_some(a)
    }));
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].labels["alertname"], "DeployFailed");
    assert_eq!(listed[0].labels["branch"], "koosy");
    term.send(b"S");
    term.wait_for("the silence dialog", Duration::from_secs(10), |s| {
        s.contains("Silence DeployFailed on koosy") && s.contains("Duration") && s.contains("2h")
    });
    term.send(b"fix in progress\r");
    term.send(b"koosy\r");
    let silences = rt.block_on(poll("the silence in Alertmanager", async || {
        let s = client.silences().await.ok()?;
        (!s.is_empty()).then_some(s)
    }));
    assert_eq!(silences[0].created_by, "alice");
    assert_eq!(silences[0].comment, "fix in progress");
    let ledger = std::fs::read_to_string(root.join("hq/ledger/ledger.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "alert_silenced");
    assert_eq!(last["signer"], "alice");
    assert_eq!(last["labels"]["branch"], "koosy");
    term.wait_for("the alert marked silenced", Duration::from_secs(20), |s| {
        s.contains("[silenced]") && s.contains("Silences (1)")
    });
    term.send(b"q");
    assert_eq!(term.wait_exit(Duration::from_secs(10)), 0);
}
