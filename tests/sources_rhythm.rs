//! Rules history and metrics.csv tails against real files: bad lines counted without
//! losing neighbours, backfill of only the last window read from the end, then appends.

mod sources_common;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use lumen::domain::rhythm::GaugePoint;
use lumen::protocol::{Msg, SourceId};
use lumen::sources::metrics_tail::{self, MetricsTailConfig, PROBE_STEP, backfill_start};
use lumen::sources::rules_tail::{self, RulesTailConfig};
use sources_common::wait_for;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const HEADER: &str = "ts,phase_diff,entropy_rate,creative_band,risk_band\n";

fn append(path: &Path, data: &[u8]) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

fn now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

fn row(t: f64) -> String {
    format!("{t:.3},0.5,0.25,0.3,0.2\n")
}

#[tokio::test]
async fn rules_good_bad_and_blank_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rules_history.jsonl");
    let good = |rule: &str| {
        format!(
            r#"{{"ts":"2025-10-23T13:10:00+09:00","actor":"Lubit","rule":"{rule}","old":0.22,"new":0.24,"note":"n"}}"#
        ) + "\n"
    };
    let text = good("a") + "not json\n" + "\n" + "  \n" + &good("b") + "{\"ts\":1}\n";
    std::fs::write(&path, text).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let mut cfg = RulesTailConfig::new(dir.path());
    cfg.path = path.clone();
    let task = tokio::spawn(rules_tail::run(cfg, tx, cancel.clone()));

    let ((rules, bad), _) = wait_for(&mut rx, "rules", |m| match m {
        Msg::RulesAppended { rules, bad, .. } => Some((rules.clone(), *bad)),
        _ => None,
    })
    .await;
    assert_eq!(
        rules.iter().map(|r| r.rule.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    assert_eq!(bad, 2);

    append(&path, good("c").as_bytes());
    let ((rules, bad), _) = wait_for(&mut rx, "appended rule", |m| match m {
        Msg::RulesAppended { rules, bad, .. } => Some((rules.clone(), *bad)),
        _ => None,
    })
    .await;
    assert_eq!((rules.len(), rules[0].rule.as_str(), bad), (1, "c", 0));

    std::fs::write(&path, good("z")).unwrap();
    wait_for(&mut rx, "reset", |m| {
        matches!(
            m,
            Msg::SourceReset {
                source: SourceId::Rules,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let (rules, _) = wait_for(&mut rx, "re-read", |m| match m {
        Msg::RulesAppended { rules, .. } => Some(rules.clone()),
        _ => None,
    })
    .await;
    assert_eq!(rules[0].rule, "z");
    cancel.cancel();
    task.await.unwrap();
}

async fn collect_points(rx: &mut mpsc::Receiver<Msg>, n: usize) -> (Vec<GaugePoint>, usize) {
    let mut points = Vec::new();
    let mut bad = 0;
    while points.len() < n {
        let ((p, b), _) = wait_for(rx, "gauge rows", |m| match m {
            Msg::GaugeRows { points, bad, .. } => Some((points.clone(), *bad)),
            _ => None,
        })
        .await;
        points.extend(p);
        bad += b;
    }
    (points, bad)
}

#[tokio::test]
async fn metrics_backfill_reads_only_the_window_of_a_big_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    // 300,000 rows at 5 Hz (~16.7 h, ~9 MB) ending now; window 1 h = 18,000 rows.
    let end = now();
    let rows = 300_000usize;
    let mut text = String::with_capacity(rows * 32);
    text += HEADER;
    let mut first_in_window = None;
    let window = 3_600.0;
    for i in 0..rows {
        let t = end - (rows - 1 - i) as f64 * 0.2;
        if first_in_window.is_none() && t >= end - window {
            first_in_window = Some(text.len() as u64);
        }
        text += &row(t);
    }
    std::fs::write(&path, &text).unwrap();
    let first_in_window = first_in_window.unwrap();

    // The backward probe lands at most one probe step before the window.
    let mut f = std::fs::File::open(&path).unwrap();
    let start = backfill_start(&mut f, text.len() as u64, end - window).unwrap();
    assert!(start <= first_in_window, "{start} > {first_in_window}");
    assert!(
        first_in_window - start <= PROBE_STEP + 64,
        "started {} bytes before the window",
        first_in_window - start
    );

    let (tx, mut rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let mut cfg = MetricsTailConfig::new(dir.path(), Duration::from_secs(3_600));
    cfg.path = path.clone();
    let started = now();
    let task = tokio::spawn(metrics_tail::run(cfg, tx, cancel.clone()));
    // Rows between `end - window` and `started - window` may fall out of the window.
    let expected_min = 18_000 - ((now() - end) * 5.0).ceil() as usize - 5;
    let (points, bad) = collect_points(&mut rx, expected_min).await;
    assert_eq!(bad, 0);
    let cutoff_low = started - window;
    assert!(
        points.iter().all(|p| p.t >= cutoff_low - 0.001),
        "a row older than the window was delivered: {:?}",
        points.iter().find(|p| p.t < cutoff_low)
    );
    assert!(points.len() <= 18_001, "{} rows", points.len());
    assert!(points.windows(2).all(|w| w[0].t < w[1].t));

    let t = now();
    append(
        &path,
        format!("{}garbage,row\n{}", row(t), row(t + 0.2)).as_bytes(),
    );
    let mut seen = Vec::new();
    let mut bad = 0;
    while seen.len() < 2 {
        let ((p, b), _) = wait_for(&mut rx, "appended rows", |m| match m {
            Msg::GaugeRows { points, bad, .. } => Some((points.clone(), *bad)),
            _ => None,
        })
        .await;
        seen.extend(p);
        bad += b;
    }
    assert_eq!(seen.len(), 2);
    assert_eq!(bad, 1);
    assert!((seen[0].t - t).abs() < 0.01);
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn metrics_small_file_header_and_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    let t = now();
    let text = format!(
        "{HEADER}{}x,1,2,3,4\n{}{}\n{}",
        row(t - 1.0),
        row(t - 0.8),
        "1,2,3",
        row(t - 0.6)
    );
    std::fs::write(&path, text).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let mut cfg = MetricsTailConfig::new(dir.path(), Duration::from_secs(60));
    cfg.path = path;
    let task = tokio::spawn(metrics_tail::run(cfg, tx, cancel.clone()));
    let (points, bad) = collect_points(&mut rx, 3).await;
    assert_eq!((points.len(), bad), (3, 2));
    cancel.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn metrics_wrong_header_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metrics.csv");
    let t = now();
    std::fs::write(&path, format!("time,a,b,c,d\n{}", row(t))).unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let mut cfg = MetricsTailConfig::new(dir.path(), Duration::from_secs(60));
    cfg.path = path;
    let task = tokio::spawn(metrics_tail::run(cfg, tx, cancel.clone()));
    let (error, _) = wait_for(&mut rx, "header error", |m| match m {
        Msg::SourceFailed {
            source: SourceId::Metrics,
            error,
            ..
        } => Some(error.clone()),
        _ => None,
    })
    .await;
    assert!(error.contains("header"), "{error}");
    let (points, bad) = collect_points(&mut rx, 1).await;
    assert_eq!((points.len(), bad), (1, 1));
    cancel.cancel();
    task.await.unwrap();
}
