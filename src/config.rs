//! Configuration: built-in defaults < user `config.yaml` < command-line flags.
//!
//! The user file lives in the platform config directory
//! (`directories::ProjectDirs::from("", "", "lumen")`, e.g. `~/.config/lumen/config.yaml`
//! on Linux) unless `--config FILE` names another. Unknown keys, wrong types and bad
//! values are errors naming file, line and column, so `main` can exit 2 before the
//! alternate screen. Relative paths in the file are relative to the file's directory.
//! See `docs/configuration.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::domain::hq::{FileError, parse_duration};
use crate::keymap::{KeySpec, Keymap, KeymapOverride};
use crate::sources::exporter::ExporterConfig;
use crate::theme::Theme;

/// Config errors carry file, line and column (0:0 when the position is unknown).
pub type ConfigError = FileError;

/// Settings after every layer is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub hq_root: PathBuf,
    pub theme: String,
    pub key: Option<PathBuf>,
    pub readonly: bool,
    pub exporters: Vec<ExporterConfig>,
    pub prometheus_url: Option<String>,
    /// Alertmanager's base URL (`http://host:9093`, no trailing `/`): alerts are
    /// posted to its v2 API and its alerts and silences listed (docs/alerts.md).
    pub alertmanager_url: Option<String>,
    /// Frames per second cap for the render loop.
    pub fps: u32,
    /// `y` copies the selected id or line to the terminal's clipboard with an OSC 52
    /// escape (off by default: not every terminal asks before letting a program set
    /// the clipboard).
    pub osc52: bool,
    /// Extra ceremony scenario directories (docs/formats.md).
    pub scenario_dirs: Vec<PathBuf>,
    /// Default keymap with the user's overrides, already checked.
    pub keymap: Keymap,
    /// `<config dir>/themes`, where user themes live (for `load_theme`/`theme_names`).
    pub theme_dir: Option<PathBuf>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// The theme named by `theme`, loaded and checked (NO_COLOR applied).
    pub loaded_theme: Theme,
}

pub const DEFAULT_EXPORTER: &str = "http://127.0.0.1:9108/metrics";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;

impl Default for Config {
    fn default() -> Self {
        Config {
            hq_root: PathBuf::from("."),
            theme: "dark".into(),
            key: None,
            readonly: false,
            exporters: vec![ExporterConfig {
                url: DEFAULT_EXPORTER.into(),
                timeout: DEFAULT_TIMEOUT,
                max_bytes: DEFAULT_MAX_BYTES,
            }],
            prometheus_url: None,
            alertmanager_url: None,
            fps: 30,
            osc52: false,
            scenario_dirs: Vec::new(),
            keymap: Keymap::default(),
            theme_dir: None,
            config_file: None,
            loaded_theme: Theme::dark(),
        }
    }
}

type Sp<T> = serde_saphyr::Spanned<T>;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    hq_root: Option<Sp<String>>,
    theme: Option<Sp<String>>,
    key: Option<Sp<String>>,
    exporters: Option<Vec<ExporterFile>>,
    prometheus_url: Option<Sp<String>>,
    alertmanager_url: Option<Sp<String>>,
    fps: Option<Sp<i64>>,
    osc52: Option<bool>,
    scenario_dirs: Option<Vec<Sp<String>>>,
    keymap: Option<BTreeMap<String, Sp<Vec<Sp<String>>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExporterFile {
    url: Sp<String>,
    timeout: Option<Sp<String>>,
    max_bytes: Option<Sp<i64>>,
}

/// The platform config directory (`~/.config/lumen` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lumen").map(|d| d.config_dir().to_path_buf())
}

/// Where `config.yaml` is looked for when `--config` is not given.
pub fn default_config_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("config.yaml"))
}

fn at<T>(path: &Path, s: &Sp<T>, msg: impl Into<String>) -> ConfigError {
    FileError::new(
        path,
        s.referenced.line() as usize,
        s.referenced.column() as usize,
        msg,
    )
}

fn http_url(path: &Path, name: &str, s: &Sp<String>) -> Result<String, ConfigError> {
    let u = s.value.trim();
    if (u.starts_with("http://") || u.starts_with("https://")) && u.len() > "https://".len() {
        Ok(u.to_string())
    } else {
        Err(at(
            path,
            s,
            format!("{name} `{u}` is not a URL; expected http://host:port/…"),
        ))
    }
}

/// Alertmanager's base URL: http(s), a host, no credentials (they would be shown and
/// logged with the URL), no query or fragment (the API path is appended).
fn alertmanager_url(path: &Path, s: &Sp<String>) -> Result<String, ConfigError> {
    let u = http_url(path, "alertmanager_url", s)?;
    let parsed = reqwest::Url::parse(&u)
        .map_err(|e| at(path, s, format!("alertmanager_url `{u}` is not a URL: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(at(
            path,
            s,
            "alertmanager_url carries credentials; expected http://host:port (put an authenticating proxy in front instead)",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(at(
            path,
            s,
            format!(
                "alertmanager_url `{u}` has a query or fragment; expected the base URL, e.g. http://127.0.0.1:9093"
            ),
        ));
    }
    Ok(u.trim_end_matches('/').to_string())
}

fn expand_path(base: &Path, s: &str) -> PathBuf {
    let p = match s.strip_prefix("~/") {
        Some(rest) => match directories::BaseDirs::new() {
            Some(b) => b.home_dir().join(rest),
            None => PathBuf::from(s),
        },
        None => PathBuf::from(s),
    };
    if p.is_relative() { base.join(p) } else { p }
}

/// Apply a config file's bytes over `cfg` (the built-in defaults, usually).
pub fn apply_file(mut cfg: Config, path: &Path, bytes: &[u8]) -> Result<Config, ConfigError> {
    let f: Option<ConfigFile> = crate::domain::hq::from_yaml(path, bytes)?;
    let f = f.unwrap_or_default();
    let base = path.parent().unwrap_or(Path::new("."));
    cfg.config_file = Some(path.to_path_buf());
    if let Some(h) = &f.hq_root {
        if h.value.trim().is_empty() {
            return Err(at(path, h, "hq_root is empty; expected a directory"));
        }
        cfg.hq_root = expand_path(base, h.value.trim());
    }
    if let Some(t) = &f.theme {
        cfg.theme = t.value.trim().to_string();
    }
    if let Some(k) = &f.key {
        if k.value.trim().is_empty() {
            return Err(at(path, k, "key is empty; expected a private key file"));
        }
        cfg.key = Some(expand_path(base, k.value.trim()));
    }
    if let Some(list) = &f.exporters {
        let mut out = Vec::new();
        for e in list {
            let url = http_url(path, "exporter url", &e.url)?;
            let timeout = match &e.timeout {
                None => DEFAULT_TIMEOUT,
                Some(t) => match parse_duration(&t.value) {
                    Ok(d) if !d.is_zero() => d,
                    Ok(_) => {
                        return Err(at(
                            path,
                            t,
                            "timeout is zero; expected a duration > 0 like \"2s\"",
                        ));
                    }
                    Err(m) => return Err(at(path, t, format!("timeout: {m}"))),
                },
            };
            let max_bytes = match &e.max_bytes {
                None => DEFAULT_MAX_BYTES,
                Some(m) if m.value > 0 && m.value <= (1 << 32) => {
                    usize::try_from(m.value).unwrap_or(DEFAULT_MAX_BYTES)
                }
                Some(m) => {
                    return Err(at(
                        path,
                        m,
                        format!("max_bytes is {}; expected 1..=4294967296", m.value),
                    ));
                }
            };
            out.push(ExporterConfig {
                url,
                timeout,
                max_bytes,
            });
        }
        cfg.exporters = out;
    }
    if let Some(p) = &f.prometheus_url {
        cfg.prometheus_url = Some(http_url(path, "prometheus_url", p)?);
    }
    if let Some(a) = &f.alertmanager_url {
        cfg.alertmanager_url = Some(alertmanager_url(path, a)?);
    }
    if let Some(fps) = &f.fps {
        if !(1..=240).contains(&fps.value) {
            return Err(at(
                path,
                fps,
                format!("fps is {}; expected 1..=240", fps.value),
            ));
        }
        cfg.fps = u32::try_from(fps.value).unwrap_or(30);
    }
    if let Some(on) = f.osc52 {
        cfg.osc52 = on;
    }
    if let Some(dirs) = &f.scenario_dirs {
        cfg.scenario_dirs = dirs
            .iter()
            .map(|d| expand_path(base, d.value.trim()))
            .collect();
    }
    if let Some(km) = &f.keymap {
        let overrides: Vec<KeymapOverride> = km
            .iter()
            .map(|(action, keys)| KeymapOverride {
                action: action.clone(),
                line: keys.referenced.line() as usize,
                column: keys.referenced.column() as usize,
                keys: keys
                    .value
                    .iter()
                    .map(|k| KeySpec {
                        text: k.value.clone(),
                        line: k.referenced.line() as usize,
                        column: k.referenced.column() as usize,
                    })
                    .collect(),
            })
            .collect();
        cfg.keymap = Keymap::with_overrides(path, &overrides)?;
    }
    // Keep the theme's position for a "no such theme" error.
    if let Some(t) = &f.theme {
        cfg.loaded_theme = crate::theme::load_theme(&cfg.theme, cfg.theme_dir.as_deref())
            .map_err(|e| relocate_theme_error(e, path, t))?;
    }
    Ok(cfg)
}

/// A theme that does not exist is the config line's fault; a theme file that is
/// broken keeps its own position.
fn relocate_theme_error(e: FileError, path: &Path, t: &Sp<String>) -> FileError {
    if e.line == 0 {
        at(path, t, format!("theme: {}", e.message))
    } else {
        e
    }
}

/// Resolve the configuration: defaults < file < CLI. The file is `--config FILE`
/// (must exist) or `config.yaml` in the platform config directory (optional).
pub fn load(g: &GlobalArgs) -> Result<Config, ConfigError> {
    let (path, required) = match &g.config {
        Some(p) => (Some(p.clone()), true),
        None => (default_config_path(), false),
    };
    let theme_dir = config_dir().map(|d| d.join("themes"));
    load_from(path.as_deref(), required, theme_dir, g)
}

/// `load` with explicit locations (for tests and embedders).
pub fn load_from(
    path: Option<&Path>,
    required: bool,
    theme_dir: Option<PathBuf>,
    g: &GlobalArgs,
) -> Result<Config, ConfigError> {
    let mut cfg = Config {
        theme_dir,
        ..Config::default()
    };
    if let Some(p) = path {
        match crate::store::fsutil::read_regular(p) {
            Ok(bytes) => cfg = apply_file(cfg, p, &bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {}
            Err(e) => return Err(FileError::new(p, 0, 0, format!("cannot read config: {e}"))),
        }
    }
    if let Some(h) = &g.hq {
        cfg.hq_root = h.clone();
    }
    if let Some(k) = &g.key {
        cfg.key = Some(k.clone());
    }
    if g.readonly {
        cfg.readonly = true;
    }
    if let Some(t) = &g.theme {
        cfg.theme = t.clone();
    }
    // Always (re)load: applies NO_COLOR, and --theme may name another theme. A theme
    // named in the file was already checked there, with the file's position.
    {
        cfg.loaded_theme =
            crate::theme::load_theme(&cfg.theme, cfg.theme_dir.as_deref()).map_err(|mut e| {
                if e.line == 0 && g.theme.is_some() {
                    e.path = PathBuf::from("--theme");
                }
                e
            })?;
    }
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_file() {
        let c = load_from(None, false, None, &GlobalArgs::default()).unwrap();
        assert_eq!(c.fps, 30);
        assert!(!c.osc52, "copy is off by default");
        assert_eq!(c.exporters.len(), 1);
        assert_eq!(c.loaded_theme.name, "dark");
    }

    #[test]
    fn cli_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.yaml");
        std::fs::write(&p, "hq_root: hq\ntheme: light\nfps: 20\nosc52: true\n").unwrap();
        let c = load_from(Some(&p), true, None, &GlobalArgs::default()).unwrap();
        assert!(c.osc52);
        assert_eq!(c.hq_root, dir.path().join("hq"));
        assert_eq!(c.theme, "light");
        assert_eq!(c.loaded_theme.name, "light");
        let g = GlobalArgs {
            hq: Some(PathBuf::from("/x")),
            theme: Some("colorblind".into()),
            ..Default::default()
        };
        let c = load_from(Some(&p), true, None, &g).unwrap();
        assert_eq!(c.hq_root, PathBuf::from("/x"));
        assert_eq!(c.loaded_theme.name, "colorblind");
        assert_eq!(c.fps, 20);
    }
}
