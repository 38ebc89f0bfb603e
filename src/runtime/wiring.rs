//! The console's wiring between sources: what the health checker polls, re-resolved
//! from every registry reload on its way to the app.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::domain::hq::HqSnapshot;
use crate::protocol::Msg;
use crate::sources::health::HealthTarget;

/// The health checker's configuration for a snapshot (targets, interval, timeout).
pub fn health_config(hq: Option<&HqSnapshot>) -> crate::sources::health::HealthConfig {
    let (targets, every, timeout) = health_targets(hq);
    let mut hc = crate::sources::health::HealthConfig::new(targets, every);
    hc.timeout = timeout;
    hc
}

/// A sender for the registry watcher whose messages reach `tx` unchanged; on the way,
/// every `RegistryReloaded` re-resolves the health targets into `plan` (added and
/// removed branches, changed URLs, interval and timeout — no restart needed).
pub fn registry_tap(
    tx: mpsc::Sender<Msg>,
    plan: tokio::sync::watch::Sender<crate::sources::health::HealthConfig>,
) -> mpsc::Sender<Msg> {
    let (tap_tx, mut tap_rx) = mpsc::channel::<Msg>(16);
    tokio::spawn(async move {
        while let Some(m) = tap_rx.recv().await {
            if let Msg::RegistryReloaded { hq, .. } = &m {
                let next = health_config(Some(hq));
                plan.send_if_modified(|cur| {
                    let changed = *cur != next;
                    if changed {
                        *cur = next;
                    }
                    changed
                });
            }
            if tx.send(m).await.is_err() {
                return;
            }
        }
    });
    tap_tx
}

/// Health targets (each branch's `health` URL, else the `health-check.json` endpoint on
/// its host) with the check interval and timeout from `health-check.json`.
pub fn health_targets(hq: Option<&HqSnapshot>) -> (Vec<HealthTarget>, Duration, Duration) {
    let Some(hq) = hq else {
        return (Vec::new(), Duration::from_secs(300), Duration::from_secs(2));
    };
    let hc = hq.health_check.as_ref();
    let every = hc.map_or(Duration::from_secs(300), |h| h.interval_duration());
    let timeout = hc.map_or(Duration::from_secs(2), |h| h.timeout_duration());
    (
        crate::sources::health::targets_from_snapshot(hq),
        every.max(Duration::from_millis(200)),
        timeout.max(Duration::from_millis(50)),
    )
}
