//! A real Prometheus server (Debian package `prometheus`) on loopback, scraping
//! `lumen simulate` every second: the shared setup of the tests that read through it.
//! Every child process is killed and reaped on drop, also when a test panics.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills and reaps every child on drop (also when the test panics).
pub struct Procs(pub Vec<Child>);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub fn prometheus_binary() -> Option<PathBuf> {
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

/// The `prometheus` binary; `None` (after printing why) when it is absent — except
/// when `CI` is set, where its absence fails the test.
pub fn prometheus_or_skip(test: &str) -> Option<PathBuf> {
    let found = prometheus_binary();
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the `prometheus` binary is absent (apt-get install prometheus)"
        );
        eprintln!("SKIP {test}: `prometheus` is not installed");
    }
    found
}

/// `lumen simulate` (HQ root `hq_root`) and a Prometheus scraping its exporter.
pub struct World {
    /// Declared first so the processes die before their directory is removed.
    pub procs: Procs,
    pub tmp: tempfile::TempDir,
    pub hq_root: PathBuf,
    /// `http://127.0.0.1:PORT` of the Prometheus server.
    pub prom_url: String,
}

/// Start the simulated world and Prometheus scraping it every second.
pub fn start(prom: &std::path::Path) -> World {
    start_with_rules(prom, None)
}

/// [`start`], with Prometheus also loading the alerting rules file `rules`
/// (evaluated every second).
pub fn start_with_rules(prom: &std::path::Path, rules: Option<&std::path::Path>) -> World {
    let tmp = tempfile::tempdir().unwrap();
    let hq_root = tmp.path().join("hq");
    let mut procs = Procs(Vec::new());

    // The simulated world; its first stdout line is the exporter URL.
    let mut sim = crate::common::bin::lumen()
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
    let cfg = tmp.path().join("prometheus.yml");
    let rule_files = match rules {
        Some(r) => format!("rule_files:\n  - '{}'\n", r.display()),
        None => String::new(),
    };
    std::fs::write(
        &cfg,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n{rule_files}scrape_configs:\n  - job_name: lumen\n    metrics_path: {}\n    static_configs:\n      - targets: ['{target}']\n",
            exporter.path()
        ),
    )
    .unwrap();
    let (child, port) =
        crate::common::net::spawn_on_free_port("prometheus", Duration::from_secs(60), |port| {
            let prom_log = std::fs::File::create(tmp.path().join("prometheus.log")).unwrap();
            Command::new(prom)
                .arg(format!("--config.file={}", cfg.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    tmp.path().join("tsdb").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(prom_log)
                .spawn()
                .unwrap()
        });
    procs.0.push(child);
    World {
        procs,
        tmp,
        hq_root,
        prom_url: format!("http://127.0.0.1:{port}"),
    }
}
