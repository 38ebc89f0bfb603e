//! Helpers shared by the `sources_*` tests: spawn a source, wait for messages with a
//! timeout (polling the channel, never sleeping a fixed time).
#![allow(dead_code)]

use std::time::{Duration, Instant};

use lumen::action::Msg;
use tokio::sync::mpsc;

pub const WAIT: Duration = Duration::from_secs(10);

/// Receive until `pick` returns `Some`, or panic after `WAIT`. Messages that do not
/// match are returned in `skipped` order via the second element.
pub async fn wait_for<T>(
    rx: &mut mpsc::Receiver<Msg>,
    what: &str,
    mut pick: impl FnMut(&Msg) -> Option<T>,
) -> (T, Vec<Msg>) {
    let deadline = Instant::now() + WAIT;
    let mut skipped = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(msg)) => match pick(&msg) {
                Some(v) => return (v, skipped),
                None => skipped.push(msg),
            },
            Ok(None) => panic!("channel closed while waiting for {what}; got {skipped:#?}"),
            Err(_) => panic!("timed out waiting for {what}; got {skipped:#?}"),
        }
    }
}

/// True if nothing at all arrives within `quiet` (used only to check that something
/// is NOT sent; the positive paths never depend on it).
pub async fn nothing_within(rx: &mut mpsc::Receiver<Msg>, quiet: Duration) -> Option<Msg> {
    tokio::time::timeout(quiet, rx.recv()).await.ok().flatten()
}
