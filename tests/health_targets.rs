//! Health targets follow the registry without a restart: `health::run_updating`
//! checks added or changed targets at once, stops checking removed ones, and reports
//! "not configured" when none are left (and recovers when some come back).

mod sources_common;

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use lumen::protocol::{Msg, SourceId};
use lumen::sources::health::{self, HealthConfig, HealthTarget};
use sources_common::wait_for;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

async fn server() -> String {
    let app = Router::new().route(
        "/h/{name}",
        get(|Path(name): Path<String>| async move {
            if name.starts_with("bad") {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn target(base: &str, branch: &str, path: &str) -> HealthTarget {
    HealthTarget {
        branch: branch.into(),
        url: format!("{base}/h/{path}"),
    }
}

fn checked(m: &Msg) -> Option<Vec<(String, bool)>> {
    match m {
        Msg::HealthChecked { results, .. } => {
            Some(results.iter().map(|r| (r.branch.clone(), r.ok)).collect())
        }
        _ => None,
    }
}

#[tokio::test]
async fn targets_follow_registry_reloads() {
    let base = server().await;
    // A long interval: every round after the first is caused by an update.
    let every = Duration::from_secs(3_600);
    let cfg = HealthConfig::new(vec![target(&base, "a", "a")], every);
    let (plan_tx, plan_rx) = watch::channel(cfg.clone());
    let (tx, mut rx) = mpsc::channel(16);
    let (_recheck_tx, recheck_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(health::run_updating(
        cfg,
        tx,
        cancel.clone(),
        recheck_rx,
        plan_rx,
    ));
    let (first, _) = wait_for(&mut rx, "first round", checked).await;
    assert_eq!(first, [("a".to_string(), true)]);

    // Branch b added, a's URL changed to a failing one: both checked at once.
    plan_tx.send_modify(|c| {
        c.targets = vec![target(&base, "a", "bad-a"), target(&base, "b", "b")];
    });
    let (round, _) = wait_for(&mut rx, "round after the reload", checked).await;
    assert_eq!(round, [("a".to_string(), false), ("b".to_string(), true)]);

    // Only b's URL changes: only b is checked.
    plan_tx.send_modify(|c| {
        c.targets = vec![target(&base, "a", "bad-a"), target(&base, "b", "b2")];
    });
    let (round, _) = wait_for(&mut rx, "round for b only", checked).await;
    assert_eq!(round, [("b".to_string(), true)]);

    // Every branch removed: not configured; one back: recovered and checked.
    plan_tx.send_modify(|c| c.targets.clear());
    let (_, _) = wait_for(&mut rx, "not configured", |m| {
        matches!(
            m,
            Msg::SourceMissing {
                source: SourceId::Health,
                ..
            }
        )
        .then_some(())
    })
    .await;
    plan_tx.send_modify(|c| c.targets = vec![target(&base, "c", "c")]);
    let (_, _) = wait_for(&mut rx, "recovered", |m| {
        matches!(
            m,
            Msg::SourceRecovered {
                source: SourceId::Health,
                ..
            }
        )
        .then_some(())
    })
    .await;
    let (round, _) = wait_for(&mut rx, "round for c", checked).await;
    assert_eq!(round, [("c".to_string(), true)]);

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the checker stops on cancel")
        .unwrap();
}

#[tokio::test]
async fn starting_without_targets_says_not_configured() {
    let cfg = HealthConfig::new(Vec::new(), Duration::from_secs(3_600));
    let (tx, mut rx) = mpsc::channel(4);
    let (_recheck_tx, recheck_rx) = mpsc::channel(4);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(health::run(cfg, tx, cancel.clone(), recheck_rx));
    let (_, _) = wait_for(&mut rx, "not configured", |m| {
        matches!(
            m,
            Msg::SourceMissing {
                source: SourceId::Health,
                ..
            }
        )
        .then_some(())
    })
    .await;
    cancel.cancel();
    task.await.unwrap();
}

/// The console's own wiring (`cmd::open::spawn_sources`): a branch added to
/// `branches.json` while running is checked without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_picks_up_a_branch_added_to_the_registry() {
    let base = server().await;
    let tmp = tempfile::tempdir().unwrap();
    let reg_dir = tmp.path().join("hq/registry");
    std::fs::create_dir_all(&reg_dir).unwrap();
    let registry = |ids: &[&str]| {
        let branches: Vec<String> = ids
            .iter()
            .map(|id| {
                format!(
                    r#"{{"id":"{id}","repo":"r/{id}","domain":"{id}.example","visibility":"public","health":"{base}/h/{id}"}}"#
                )
            })
            .collect();
        format!(
            r#"{{"hqVersion":"2.1","branches":[{}]}}"#,
            branches.join(",")
        )
    };
    let file = reg_dir.join("branches.json");
    std::fs::write(&file, registry(&["one"])).unwrap();
    let cfg = lumen::config::Config {
        hq_root: tmp.path().to_path_buf(),
        exporters: Vec::new(),
        readonly: true,
        ..Default::default()
    };
    let hq = lumen::sources::registry::load_snapshot(tmp.path()).unwrap();
    let (tx, mut rx) = mpsc::channel(256);
    let cancel = CancellationToken::new();
    let recheck = lumen::cmd::open::spawn_sources(&cfg, Some(&hq), tx, cancel.clone());
    assert!(recheck.is_some());
    let (first, _) = wait_for(&mut rx, "first round", checked).await;
    assert_eq!(first, [("one".to_string(), true)]);
    // Replace the file atomically, as an editor or hq-sync would.
    let tmp_file = reg_dir.join("branches.json.tmp");
    std::fs::write(&tmp_file, registry(&["one", "two"])).unwrap();
    std::fs::rename(&tmp_file, &file).unwrap();
    let (round, _) = wait_for(&mut rx, "a round for the added branch", |m| {
        checked(m).filter(|r| r.iter().any(|(b, _)| b == "two"))
    })
    .await;
    assert_eq!(round, [("two".to_string(), true)]);
    cancel.cancel();
}
