//! `lumen simulate` (the demo world, headless), `lumen init` (scaffold an HQ root) and
//! the demo HQ preparation used by `lumen demo`.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;

use super::{CmdError, CmdResult, Outcome};
use crate::cli::{GlobalArgs, InitArgs, SimulateArgs};
use crate::domain::hq::paths;
use crate::sim::assets::{self, Template};

pub use crate::sim::DemoHq;

/// Copy the demo HQ into a fresh temporary directory (history ending now) with a new
/// demo operator key (`DemoHq::key_path`, role `hq_admin`). The caller starts the
/// world with `crate::sim::start(&demo.root, "127.0.0.1:0", seed, rate)`, which also
/// points the health URLs at it.
pub fn prepare_demo(seed: u64) -> anyhow::Result<DemoHq> {
    assets::prepare_demo(seed)
}

/// `lumen simulate --hq DIR [--listen ADDR] [--events-per-sec N] [--duration SECS]`.
/// Prints the exporter URL as the first line of stdout.
pub fn run_simulate(args: &SimulateArgs, g: &GlobalArgs) -> CmdResult {
    let root =
        g.hq.as_deref()
            .ok_or_else(|| CmdError::usage("simulate needs --hq DIR (the HQ root it writes to)"))?;
    if !(args.events_per_sec.is_finite() && args.events_per_sec >= 0.0) {
        return Err(CmdError::usage("--events-per-sec must be a number ≥ 0"));
    }
    if !root.join(paths::BRANCHES).exists() {
        assets::scaffold(
            root,
            Template::Demo {
                seed: args.seed,
                now: Utc::now(),
            },
        )?;
        errln!(
            "lumen simulate: scaffolded the demo HQ in {}",
            root.display()
        );
    }
    let rt = super::runtime()?;
    rt.block_on(async {
        let world = crate::sim::start_with(
            root,
            &args.listen,
            args.seed,
            args.events_per_sec,
            args.chaos,
        )
        .await
        .map_err(|e| CmdError::Usage(format!("{e:#}")))?;
        outln!("{}", world.exporter_url);
        errln!(
            "lumen simulate: HQ root {}; health endpoints http://{}/health/<branch>; \
             {} ledger events/s; Ctrl-C to stop",
            root.display(),
            world.addr,
            args.events_per_sec
        );
        wait_for_stop(args.duration).await?;
        world.shutdown().await;
        Ok(Outcome::Ok)
    })
}

/// Until `duration` seconds have passed (if given), Ctrl-C or SIGTERM.
async fn wait_for_stop(duration: Option<u64>) -> Result<(), CmdError> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let timer = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        () = timer => {}
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// `lumen init DIR`: scaffold an HQ root from the shipped template. Refused (exit 1)
/// when DIR already holds `hq/registry/branches.json`; other existing files are kept.
pub fn run_init(args: &InitArgs, g: &GlobalArgs) -> CmdResult {
    let dir: &Path = &args.dir;
    if dir.join(paths::BRANCHES).exists() {
        return Err(CmdError::refused(format!(
            "{} already holds an HQ root ({} exists)",
            dir.display(),
            paths::BRANCHES
        )));
    }
    if dir.exists() && !dir.is_dir() {
        return Err(CmdError::usage(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let written = assets::scaffold(dir, Template::Init)?;
    if g.json {
        super::print_json(&serde_json::json!({
            "root": dir.display().to_string(),
            "written": written,
        }))?;
        return Ok(Outcome::Ok);
    }
    outln!("Created an HQ root in {}:", dir.display());
    for f in &written {
        outln!("  {f}");
    }
    let d = dir.display();
    outln!(
        "\nNext steps:\n  \
         1. edit {BR} (your branches) and {HC} (their health URLs)\n  \
         2. lumen keygen --out {d}/operator.pem --id me --role hq_admin   \
         and add the printed entry to {KEYS}\n  \
         3. lumen doctor --hq {d}\n  \
         4. lumen --hq {d} --key {d}/operator.pem   (or: lumen simulate --hq {d} for a live demo world)",
        BR = paths::BRANCHES,
        HC = paths::HEALTH_CHECK,
        KEYS = paths::KEYS,
    );
    Ok(Outcome::Ok)
}
