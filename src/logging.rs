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
    init_file(log_dir()?, "lumen.log".into())
}

/// Logging for `lumen watch`: to `file`, or `watch.log` in the log directory.
/// Without a usable location logging is off (the service still runs).
pub fn init_watch(file: Option<&std::path::Path>) -> Option<WorkerGuard> {
    let (dir, name) = match file {
        Some(f) => (
            f.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), PathBuf::from),
            f.file_name()?.to_os_string(),
        ),
        None => (log_dir()?, "watch.log".into()),
    };
    init_file(dir, name)
}

/// Log to `<dir>/<name>` (created if needed), level from `LUMEN_LOG` (default info).
fn init_file(dir: PathBuf, name: std::ffi::OsString) -> Option<WorkerGuard> {
    std::fs::create_dir_all(&dir).ok()?;
    let appender = tracing_appender::rolling::never(&dir, name);
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
