//! The embedded demo world: exporter, health endpoints and event generator.
//! Interface stub: the demo issue's implementation replaces the body.

use std::path::Path;

/// A running world; dropping it stops every task.
pub struct World {
    /// e.g. `http://127.0.0.1:40123/metrics`
    pub exporter_url: String,
    pub cancel: tokio_util::sync::CancellationToken,
}

impl Drop for World {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Start the world for the HQ root at `root` on the current tokio runtime, listening
/// on `listen` ("127.0.0.1:0" for a random port).
pub async fn start(
    root: &Path,
    listen: &str,
    seed: u64,
    events_per_sec: f64,
) -> anyhow::Result<World> {
    let _ = (root, listen, seed, events_per_sec);
    anyhow::bail!("the simulated world is not built yet")
}
