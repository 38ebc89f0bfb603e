//! Registry watcher against a real HQ root: initial load, reload on change, a
//! half-written `branches.json` gives `RegistryInvalid`, then recovery.

mod sources_common;

use std::time::Duration;

use lumen::protocol::Msg;
use lumen::sources::watch::{self, WatchConfig};
use sources_common::wait_for;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn branches(ids: &[&str]) -> String {
    let list: Vec<String> = ids
        .iter()
        .map(|id| {
            format!(
                r#"{{"id":"{id}","repo":"dtslib1979/{id}","domain":"{id}.example","visibility":"public"}}"#
            )
        })
        .collect();
    format!(r#"{{"hqVersion":"2.1","branches":[{}]}}"#, list.join(","))
}

fn branch_ids(m: &Msg) -> Option<Vec<String>> {
    match m {
        Msg::RegistryReloaded { hq, .. } => Some(
            hq.registry
                .as_ref()
                .map(|r| r.branches.iter().map(|b| b.id.clone()).collect())
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

#[tokio::test]
async fn reloads_on_change_and_survives_a_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("hq/registry");
    std::fs::create_dir_all(&reg).unwrap();
    let file = reg.join("branches.json");
    std::fs::write(&file, branches(&["papafly"])).unwrap();

    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let cfg = WatchConfig {
        root: dir.path().to_path_buf(),
        poll: Duration::from_millis(50),
        debounce: Duration::from_millis(30),
    };
    let task = tokio::spawn(watch::run(cfg, tx, cancel.clone()));
    let (ids, skipped) = wait_for(&mut rx, "initial load", branch_ids).await;
    assert!(skipped.is_empty(), "{skipped:#?}");
    assert_eq!(ids, ["papafly"]);

    // A writer stopped half-way: the settled file is invalid.
    let full = branches(&["papafly", "koosy"]);
    std::fs::write(&file, &full[..full.len() / 2]).unwrap();
    let (error, _) = wait_for(&mut rx, "invalid registry", |m| match m {
        Msg::RegistryInvalid { error, .. } => Some(error.clone()),
        Msg::RegistryReloaded { .. } => panic!("a half-written file was accepted"),
        _ => None,
    })
    .await;
    assert!(error.path.ends_with("hq/registry/branches.json"), "{error}");
    assert!(error.line >= 1, "{error}");

    // The writer finishes: the registry recovers.
    std::fs::write(&file, &full).unwrap();
    let (ids, _) = wait_for(&mut rx, "recovered registry", branch_ids).await;
    assert_eq!(ids, ["papafly", "koosy"]);

    // A change in another watched directory also reloads.
    std::fs::create_dir_all(dir.path().join("hq/sync")).unwrap();
    std::fs::write(dir.path().join("hq/sync/sync-plan.json"), "{}").unwrap();
    wait_for(&mut rx, "reload after sync-plan change", branch_ids).await;

    // So does one of the YAML files at the root.
    std::fs::write(dir.path().join("gateway_activation.yaml"), "gateway: {}\n").unwrap();
    wait_for(&mut rx, "reload after yaml change", branch_ids).await;

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("returns when cancelled")
        .unwrap();
}

#[tokio::test]
async fn missing_registry_at_start_is_invalid_then_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let cancel = CancellationToken::new();
    let cfg = WatchConfig {
        root: dir.path().to_path_buf(),
        poll: Duration::from_millis(50),
        debounce: Duration::from_millis(30),
    };
    let task = tokio::spawn(watch::run(cfg, tx, cancel.clone()));
    wait_for(&mut rx, "invalid at start", |m| {
        matches!(m, Msg::RegistryInvalid { .. }).then_some(())
    })
    .await;
    let reg = dir.path().join("hq/registry");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::write(reg.join("branches.json"), branches(&["koosy"])).unwrap();
    let (ids, _) = wait_for(&mut rx, "load once created", branch_ids).await;
    assert_eq!(ids, ["koosy"]);
    cancel.cancel();
    task.await.unwrap();
}
