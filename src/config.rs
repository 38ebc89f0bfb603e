//! Configuration: built-in defaults < user `config.yaml` < command-line flags.
//! (Skeleton: the resolved settings the console needs; file loading lands with the
//! config work.)

use std::path::PathBuf;
use std::time::Duration;

/// One exporter to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct ExporterConfig {
    pub url: String,
    pub timeout: Duration,
    pub max_bytes: usize,
}

/// Settings after every layer is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hq_root: PathBuf,
    pub theme: String,
    pub key: Option<PathBuf>,
    pub readonly: bool,
    pub exporters: Vec<ExporterConfig>,
    pub prometheus_url: Option<String>,
    /// Frames per second cap for the render loop.
    pub fps: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hq_root: PathBuf::from("."),
            theme: "dark".into(),
            key: None,
            readonly: false,
            exporters: vec![ExporterConfig {
                url: "http://127.0.0.1:9108/metrics".into(),
                timeout: Duration::from_secs(2),
                max_bytes: 16 * 1024 * 1024,
            }],
            prometheus_url: None,
            fps: 30,
        }
    }
}
