//! The console's health path through a real Prometheus (Debian package `prometheus`)
//! scraping `lumen simulate`: with `prometheus_url` configured, `cmd::open` runs the
//! PromQL health source instead of polling endpoints, and the `App` shows every
//! branch's status with source "prometheus" and the Prometheus source's freshness.
//! Skips with a message when `prometheus` is absent — and fails instead when `CI` is set.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lumen::action::SourceId;
use lumen::app::{CheckSource, Event};

/// Kills and reaps every child on drop (also when the test panics).
struct Procs(Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn prometheus_binary() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/prometheus");
    if fixed.is_file() {
        return Some(fixed);
    }
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("prometheus"))
            .find(|f| f.is_file())
    })
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn console_health_rows_come_from_promql() {
    let Some(prom) = prometheus_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the `prometheus` binary is absent (apt-get install prometheus)"
        );
        eprintln!("SKIP prometheus_health: `prometheus` is not installed");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let hq_root = tmp.path().join("hq");
    let mut procs = Procs(Vec::new());

    // The simulated world; its first stdout line is the exporter URL.
    let mut sim = Command::new(env!("CARGO_BIN_EXE_lumen"))
        .args([
            "simulate",
            "--listen",
            "127.0.0.1:0",
            "--duration",
            "300",
            "--hq",
        ])
        .arg(&hq_root)
        .env("XDG_CONFIG_HOME", tmp.path().join("no-config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = sim.stdout.take().unwrap();
    procs.0.push(sim);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let exporter_url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("lumen simulate printed no exporter URL");
    let exporter = reqwest::Url::parse(exporter_url.trim()).expect("exporter URL");
    let target = format!(
        "{}:{}",
        exporter.host_str().unwrap(),
        exporter.port().unwrap()
    );

    // Prometheus scraping it every second.
    let port = free_port();
    let cfg_file = tmp.path().join("prometheus.yml");
    std::fs::write(
        &cfg_file,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: lumen\n    metrics_path: {}\n    static_configs:\n      - targets: ['{target}']\n",
            exporter.path()
        ),
    )
    .unwrap();
    let prom_log = std::fs::File::create(tmp.path().join("prometheus.log")).unwrap();
    procs.0.push(
        Command::new(prom)
            .arg(format!("--config.file={}", cfg_file.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                tmp.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(prom_log)
            .spawn()
            .unwrap(),
    );

    // The console's own setup: prepare (registry, theme) and spawn_sources, with
    // Prometheus configured and no exporter (so nothing else can decide a status).
    let cfg = lumen::config::Config {
        hq_root: hq_root.clone(),
        exporters: Vec::new(),
        prometheus_url: Some(format!("http://127.0.0.1:{port}")),
        readonly: true,
        ..Default::default()
    };
    let prepared = lumen::cmd::open::prepare(cfg.clone(), "test".into())
        .unwrap_or_else(|e| panic!("prepare: {e:?}"));
    let mut app = prepared.app;
    assert!(app.health_view.prometheus.is_some());
    let branches: Vec<String> = app.health_view.sync_order().to_vec();
    assert_eq!(branches.len(), 12, "{branches:?}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let cancel = tokio_util::sync::CancellationToken::new();
        let recheck = lumen::cmd::open::spawn_sources(&cfg, app.hq.as_ref(), tx, cancel.clone());
        assert!(
            recheck.is_none(),
            "no HTTP checker runs when Prometheus is the source"
        );
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let all_prom = branches.iter().all(|b| {
                app.health
                    .get(b)
                    .is_some_and(|h| h.source() == "prometheus")
            });
            if all_prom {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not every branch came from PromQL within 90 s: {:?}; prometheus source: {:?}",
                branches
                    .iter()
                    .map(|b| (b, app.health.get(b).map(|h| h.source())))
                    .collect::<Vec<_>>(),
                app.sources.get(&SourceId::Prometheus)
            );
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                app.update(Event::Msg(m));
            }
            app.update(Event::Tick(chrono::Utc::now()));
        }
        cancel.cancel();
    });

    for b in &branches {
        let h = app.health.get(b).cloned().unwrap_or_default();
        assert!(
            h.recent_checks
                .iter()
                .all(|c| c.source == CheckSource::Prometheus && c.result.status.is_none()),
            "{b}: only PromQL answers, never an HTTP probe: {:?}",
            h.recent_checks
        );
    }
    assert!(
        app.sources
            .get(&SourceId::Prometheus)
            .is_some_and(|s| s.last_ok.is_some() && !s.failing())
    );
    // The pane says where its data comes from and how fresh it is.
    app.update(Event::Resize(160, 48));
    app.apply(lumen::action::Action::ToggleZoom);
    let text = common::screen_text(&common::draw(&app, 160, 48));
    assert!(text.contains("via prometheus · live"), "{text}");
    assert!(text.contains("prometheus"), "{text}");
    drop(procs);
}
