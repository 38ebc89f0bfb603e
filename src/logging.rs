//! `tracing` to a file in the platform data directory — never to the terminal the UI
//! is drawn on.

use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// The directory log files go to.
pub fn log_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lumen").map(|d| d.data_dir().join("logs"))
}

/// Start logging to `lumen.log` in the data directory. Returns the guard that flushes
/// on drop, or `None` when no data directory can be had (logging is then off).
pub fn init() -> Option<WorkerGuard> {
    let dir = log_dir()?;
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, "lumen.log");
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = EnvFilter::try_from_env("LUMEN_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .try_init()
        .ok()?;
    Some(guard)
}
