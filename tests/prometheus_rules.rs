//! The shipped Prometheus alerting rules pass `promtool check rules`, and each rule
//! fires (and stays quiet) as `promtool test rules` expects; the example
//! `alertmanager.yml` passes `amtool check-config`. Skips with a message when a tool
//! is missing; fails when `CI` is set (CI installs prometheus and
//! prometheus-alertmanager).
//!
//! And a real Prometheus, scraping `lumen simulate` with the shipped rules loaded,
//! fires `HqBranchDown` for the simulated world's down branch.

mod common;
mod prom_common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn tool(name: &str) -> Option<PathBuf> {
    let p = Path::new("/usr/bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing; CI must install it (.ci/run)",
        p.display()
    );
    eprintln!("skipped: {} not installed", p.display());
    None
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn shipped_rules_check_and_fire_as_tested() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    run(Command::new(&promtool)
        .args(["check", "rules"])
        .arg(root().join("assets/prometheus/lumen.rules.yml")));
    run(Command::new(&promtool)
        .args(["test", "rules", "lumen.rules.test.yml"])
        .current_dir(root().join("tests/fixtures/prometheus")));
}

#[test]
fn example_alertmanager_config_is_valid() {
    let Some(amtool) = tool("amtool") else {
        return;
    };
    run(Command::new(&amtool)
        .arg("check-config")
        .arg(root().join("assets/prometheus/alertmanager.yml")));
}

/// The shipped rules, loaded by a real Prometheus scraping `lumen simulate`: the
/// simulated world keeps one branch (`seedling`) down, so `HqBranchDown` fires for it
/// with the rule's labels and annotations — and no other branch is reported down.
/// Only the hold times (`for:`) are shortened to 0s in the copy the server loads, so
/// the test takes seconds instead of minutes; expressions, labels and annotations are
/// the shipped file's bytes.
#[test]
fn shipped_rules_fire_on_a_real_prometheus_scraping_lumen_simulate() {
    let Some(prom) = prom_common::prometheus_or_skip("prometheus_rules firing") else {
        return;
    };
    let shipped =
        std::fs::read_to_string(root().join("assets/prometheus/lumen.rules.yml")).unwrap();
    let mut held = 0;
    let quick: String = shipped
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("for:") {
                held += 1;
                let indent = &l[..l.len() - l.trim_start().len()];
                format!("{indent}for: 0s\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_eq!(held, 5, "every shipped rule has a hold time");
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("lumen.rules.yml");
    std::fs::write(&rules, quick).unwrap();

    let world = prom_common::start_with_rules(&prom, Some(&rules));
    let url = format!("{}/api/v1/alerts", world.prom_url);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = reqwest::Client::new();
    let start = Instant::now();
    let limit = Duration::from_secs(90);
    let firing = loop {
        let got: Result<serde_json::Value, String> = rt.block_on(async {
            let r = client
                .get(&url)
                .timeout(Duration::from_secs(5))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            r.json().await.map_err(|e| e.to_string())
        });
        let last = match got {
            Ok(v) => {
                let alerts = v["data"]["alerts"].as_array().cloned().unwrap_or_default();
                let down: Vec<serde_json::Value> = alerts
                    .into_iter()
                    .filter(|a| {
                        a["labels"]["alertname"] == "HqBranchDown" && a["state"] == "firing"
                    })
                    .collect();
                if !down.is_empty() {
                    break down;
                }
                v.to_string()
            }
            Err(e) => e,
        };
        assert!(
            start.elapsed() < limit,
            "HqBranchDown did not fire within {limit:?}; last answer: {last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let branches: Vec<&str> = firing
        .iter()
        .filter_map(|a| a["labels"]["branch"].as_str())
        .collect();
    assert_eq!(
        branches,
        ["seedling"],
        "only the down branch fires: {firing:?}"
    );
    let a = &firing[0];
    assert_eq!(a["labels"]["severity"], "critical");
    let summary = a["annotations"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with("seedling (") && summary.contains("has been down"),
        "{summary}"
    );
    assert!(
        a["annotations"]["action"]
            .as_str()
            .is_some_and(|s| s.contains("roll back")),
        "{a}"
    );
}
