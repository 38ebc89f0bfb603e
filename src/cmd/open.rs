//! `lumen` (open the console on an HQ root) and `lumen demo` (the same console on an
//! embedded, self-running demo HQ).

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{CmdError, CmdResult, Outcome};
use crate::app::App;
use crate::cli::{DemoArgs, GlobalArgs};
use crate::config::Config;
use crate::domain::hq::HqSnapshot;
use crate::protocol::{Msg, SourceId};
use crate::runtime::wiring::{health_config, registry_tap};

/// Everything the console needs, resolved before the terminal is touched so that a
/// bad config or registry fails with file:line on a normal screen.
pub struct Prepared {
    pub cfg: Config,
    pub app: App,
    /// The operator, when a key was given and accepted.
    pub who: Option<std::sync::Arc<crate::store::append::Identity>>,
}

/// A newcomer's first `lumen` in a directory with no HQ at all: say what an HQ root
/// is and what to run, instead of a missing-file error. (A root that has `hq/` but
/// lacks branches.json gets the precise file error from the loader.)
fn not_an_hq_root(root: &Path) -> Option<String> {
    let exists = |rel: &str| std::fs::symlink_metadata(root.join(rel)).is_ok();
    if exists(crate::domain::hq::paths::BRANCHES) || exists("hq") {
        return None;
    }
    Some(format!(
        "{} is not an HQ root (there is no hq/registry/branches.json). \
         Try `lumen demo` for a self-running demo HQ, `lumen init DIR` to create one, \
         or `lumen --hq DIR` to open yours.",
        display_root(root)
    ))
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
    app.set_themes(themes);
    app.set_fps(cfg.fps);
    app.set_osc52(cfg.osc52);
    let (scenarios, problems) = super::ceremony::load_for_console(&cfg.scenario_dirs);
    app.set_ceremony_scenarios(scenarios);
    for p in problems {
        app.toast(
            crate::app::ToastLevel::Warn,
            format!("scenario skipped: {p}"),
        );
    }
    app.set_hq_label(label);
    // The operator identity: a key whose public key is in keys.json, mode 0600.
    let mut who = None;
    let access = match (&cfg.key, cfg.readonly) {
        (_, true) => Err("started with --readonly".to_string()),
        (None, false) => {
            Err("no operator key: start with --key FILE (listed in hq/registry/keys.json)".into())
        }
        (Some(k), false) => match crate::store::append::identity(&cfg.hq_root, k) {
            Ok(id) => {
                let role = id.role.clone();
                who = Some(std::sync::Arc::new(id));
                Ok(Some(role))
            }
            Err(e) => {
                tracing::warn!("operator key refused: {}", e.reason());
                Err(format!("operator key refused: {}", e.reason()))
            }
        },
    };
    app.set_operator(access);
    app.set_alertmanager(
        cfg.alertmanager_url.clone(),
        crate::operator::alertmanager::hq_label(&cfg.hq_root),
    );

    app.set_exporter_urls(cfg.exporters.iter().map(|e| e.url.clone()).collect());
    app.set_health_prometheus(
        cfg.prometheus_url
            .as_deref()
            .map(crate::sources::http::redact),
    );
    if let Some(why) = not_an_hq_root(&cfg.hq_root) {
        return Err(CmdError::Usage(why));
    }
    let hq = crate::sources::registry::load_snapshot(&cfg.hq_root)
        .map_err(|e| CmdError::Usage(e.to_string()))?;
    app.update(crate::app::Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    Ok(Prepared { cfg, app, who })
}

/// Start every source task for `cfg` on the current runtime. Returns the health
/// re-check channel (the rollback flow re-checks affected branches at once).
pub fn spawn_sources(
    cfg: &Config,
    hq: Option<&HqSnapshot>,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
) -> Option<mpsc::Sender<Vec<String>>> {
    use crate::sources::{exporter, health, ledger_tail, metrics_tail, rules_tail, watch};
    let root = &cfg.hq_root;
    tokio::spawn(ledger_tail::run(
        ledger_tail::LedgerTailConfig::new(root),
        tx.clone(),
        cancel.clone(),
    ));
    tokio::spawn(rules_tail::run(
        rules_tail::RulesTailConfig::new(root),
        tx.clone(),
        cancel.clone(),
    ));
    // Backfill a day of gauges: the widest chart window.
    let day = Duration::from_secs(86_400);
    tokio::spawn(metrics_tail::run(
        metrics_tail::MetricsTailConfig::new(root, day),
        tx.clone(),
        cancel.clone(),
    ));
    // Registry reloads pass a tap that re-resolves the health targets (HTTP checks
    // only: PromQL answers for every branch Prometheus scrapes).
    let (plan_tx, plan_rx) = tokio::sync::watch::channel(health_config(hq));
    let watch_tx = match cfg.prometheus_url {
        None => registry_tap(tx.clone(), plan_tx),
        Some(_) => tx.clone(),
    };
    tokio::spawn(watch::run(
        watch::WatchConfig::new(root),
        watch_tx,
        cancel.clone(),
    ));
    let loop_hz = hq
        .and_then(|h| h.gateway.as_ref())
        .map_or(5.0, |g| g.loop_rate_hz);
    let interval = Duration::from_secs_f64(1.0 / loop_hz.clamp(0.01, 50.0));
    for (i, e) in cfg.exporters.iter().enumerate() {
        tokio::spawn(exporter::run(
            SourceId::Exporter(i),
            e.clone(),
            interval,
            tx.clone(),
            cancel.clone(),
        ));
    }
    if let Some(url) = &cfg.prometheus_url {
        // Prometheus does the fleet-wide collection: one PromQL round per interval
        // (health-check.json's, at most PROMETHEUS_HEALTH_EVERY) instead of polling
        // every endpoint from here.
        let every = health_config(hq).interval.min(PROMETHEUS_HEALTH_EVERY);
        tokio::spawn(crate::sources::prometheus::run_health(
            url.clone(),
            every,
            tx,
            cancel,
        ));
        return None;
    }
    let (recheck_tx, recheck_rx) = mpsc::channel(16);
    tokio::spawn(health::run_updating(
        health_config(hq),
        tx,
        cancel,
        recheck_rx,
        plan_rx,
    ));
    Some(recheck_tx)
}

/// The longest interval between two PromQL health rounds.
pub const PROMETHEUS_HEALTH_EVERY: Duration = Duration::from_secs(15);

/// A crash between a kill-switch/maintenance ledger entry and the rewrite of
/// decision-engine.json leaves them disagreeing: say so at start (the ledger is the
/// record). Runs in the background: it reads the whole ledger.
/// Run a read-only whole-ledger scan on its own thread, not tokio's blocking pool: the
/// runtime waits for blocking-pool tasks when it shuts down, so quitting during a scan
/// of a million-line ledger took 10 s. A detached reader thread just ends with the
/// process (it never writes).
fn detached<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> tokio::sync::oneshot::Receiver<T> {
    let (done, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _ = done.send(f());
        });
    if let Err(e) = spawned {
        tracing::warn!("cannot start the {name} thread: {e}");
    }
    rx
}

fn spawn_decision_check(root: std::path::PathBuf, tx: mpsc::Sender<Msg>) {
    detached("decision-check", move || {
        let entries = super::actions::read_entries_where(&root, |e| {
            e.event.starts_with("kill_switch") || e.event.starts_with("maintenance")
        });
        if let Ok(entries) = entries
            && let Some(problem) = crate::operator::run::pending_decision_mismatch(&root, &entries)
        {
            let _ = tx.blocking_send(Msg::OperatorDone {
                ok: false,
                summary: problem,
                at: chrono::Utc::now(),
            });
        }
    });
}

/// The red banner's text when the local witness no longer finds what it verified.
fn witness_alarm(w: &crate::store::verify::WitnessReport) -> Option<String> {
    if w.ok {
        return None;
    }
    let size = w.size.map_or("?".to_string(), |s| s.to_string());
    let seen = w.seen.as_deref().unwrap_or("an earlier run");
    Some(format!(
        "this machine verified {size} entries on {seen}; the ledger no longer contains \
         that history (cut or rewritten). Run `lumen ledger verify` for details."
    ))
}

/// Verify the whole ledger (chain, signatures, checkpoints) in the background at start
/// and then every minute, for the ledger pane's integrity badge.
fn spawn_integrity(
    root: std::path::PathBuf,
    witness_dir: Option<std::path::PathBuf>,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        // Incremental: after the first full pass each check reads only what was
        // appended (docs/ledger.md "Incremental verification").
        let make = || {
            crate::store::verify::IncrementalVerifier::new(
                &root,
                crate::store::verify::VerifyOptions {
                    witness_dir: witness_dir.clone(),
                    notes: Vec::new(),
                },
            )
        };
        let mut verifier = Some(make());
        loop {
            let mut v = verifier.take().unwrap_or_else(make);
            let report = detached("ledger-verify", move || {
                let r = v.verify();
                (v, r)
            })
            .await
            .map(|(v, r)| {
                verifier = Some(v);
                r
            });
            let integrity = match report {
                Ok(Ok(rep)) => crate::protocol::Integrity {
                    chain_ok: rep.chain.ok,
                    chain_broken: rep.chain.broken,
                    sig_ok: rep.signatures.ok,
                    // Moved/replayed signed lines and reused signed ids count as bad
                    // signatures; a witness that no longer finds its checkpoint and
                    // broken keys.json entries as bad checkpoints.
                    sig_bad: rep.signatures.bad + rep.offsets.bad + rep.duplicate_signed_ids,
                    checkpoints_ok: rep.checkpoints.ok,
                    checkpoints_bad: rep.checkpoints.bad
                        + rep.notes.bad
                        + u64::from(rep.witness.as_ref().is_some_and(|w| !w.ok))
                        + u64::from(
                            !rep.ok
                                && rep.signatures.bad
                                    + rep.offsets.bad
                                    + rep.duplicate_signed_ids
                                    + rep.checkpoints.bad
                                    + rep.chain.broken
                                    == 0
                                && rep.witness.as_ref().is_none_or(|w| w.ok),
                        ),
                    unchained: rep.unchained,
                    problem: rep.problems.first().cloned(),
                    error: None,
                    witness_alarm: rep.witness.as_ref().and_then(witness_alarm),
                },
                Ok(Err(e)) => crate::protocol::Integrity {
                    error: Some(format!("{e:#}")),
                    ..Default::default()
                },
                Err(e) => crate::protocol::Integrity {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            };
            if tx
                .send(Msg::IntegrityChecked {
                    integrity,
                    at: chrono::Utc::now(),
                })
                .await
                .is_err()
            {
                return;
            }
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = tokio::time::sleep(Duration::from_secs(60)) => {}
            }
        }
    });
}

/// `witness_dir`: where the integrity check's local witness lives (`None`: no witness).
fn run_console(
    p: Prepared,
    rt: &tokio::runtime::Runtime,
    witness_dir: Option<std::path::PathBuf>,
) -> CmdResult {
    let Prepared { cfg, mut app, who } = p;
    let hq = app.data().hq.clone();
    // Rhythm history from Prometheus: the app posts what it wants (its window, its
    // width) on tick; the task answers with `Msg::PromBackfilled`.
    let (prom_req_tx, prom_req_rx) = tokio::sync::watch::channel(None);
    app.set_rhythm_backfill(cfg.prometheus_url.is_some());
    rt.block_on(crate::runtime::event_loop::run(app, |tx, cancel| {
        let cancel_for_verify = cancel.clone();
        if let Some(url) = cfg.prometheus_url.clone() {
            tokio::spawn(crate::sources::prometheus::run_backfill(
                url,
                prom_req_rx,
                tx.clone(),
                cancel.clone(),
            ));
        }
        let recheck = spawn_sources(&cfg, hq.as_ref(), tx.clone(), cancel);
        // The whole-file checks start once the tail's first lines are in (or after 2 s),
        // so they do not compete with the first screen on a large ledger.
        let (tail_started, mut started) = tokio::sync::watch::channel(false);
        let (root, tx2, c2) = (cfg.hq_root.clone(), tx.clone(), cancel_for_verify.clone());
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(2), started.wait_for(|s| *s)).await;
            spawn_decision_check(root.clone(), tx2.clone());
            spawn_integrity(root, witness_dir, tx2, c2);
        });
        let reader = crate::sources::ledger_reader::spawn(
            &cfg.hq_root,
            tx.clone(),
            cancel_for_verify.clone(),
        );
        let link =
            spawn_alertmanager_link(&cfg, who.clone(), tx.clone(), cancel_for_verify.clone());
        let ops = crate::operator::exec::Ops {
            root: cfg.hq_root.clone(),
            who,
            recheck,
        };
        move |c| match c {
            crate::protocol::Command::Alerts(r) => {
                if let Some(l) = &link
                    && l.try_send(crate::operator::am_link::LinkRequest::Alerts(r))
                        .is_err()
                {
                    tracing::warn!("Alertmanager link busy: an evaluation was not handed over");
                }
            }
            crate::protocol::Command::Execute(crate::protocol::PendingAction::SilenceAlert {
                labels,
                duration,
                comment,
            }) if link.is_some() => {
                let req = crate::operator::am_link::LinkRequest::Silence {
                    labels,
                    duration,
                    comment,
                };
                if link.as_ref().is_some_and(|l| l.try_send(req).is_err()) {
                    let _ = tx.try_send(Msg::OperatorDone {
                        ok: false,
                        summary: "silence not sent: the Alertmanager link is busy; try again"
                            .into(),
                        at: Utc::now(),
                    });
                }
            }
            crate::protocol::Command::Backfill(r) => {
                prom_req_tx.send_replace(Some(r));
            }
            crate::protocol::Command::Ledger(r) => {
                if r == crate::protocol::LedgerRequest::TailStarted {
                    let _ = tail_started.send(true);
                }
                reader.send(r)
            }
            c => ops.spawn(c, tx.clone()),
        }
    }))
    .map_err(CmdError::Io)?;
    Ok(Outcome::Ok)
}

/// With `alertmanager_url`: the task that posts this console's alerts, lists
/// Alertmanager's alerts and silences, and creates silences (ledger entry first).
fn spawn_alertmanager_link(
    cfg: &Config,
    who: Option<std::sync::Arc<crate::store::append::Identity>>,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
) -> Option<mpsc::Sender<crate::operator::am_link::LinkRequest>> {
    use crate::operator::am_link;
    let url = cfg.alertmanager_url.as_deref()?;
    let client = match crate::operator::alertmanager::AmClient::new(url, am_link::TIMEOUT) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("Alertmanager: {e:#}");
            return None;
        }
    };
    let (req_tx, req_rx) = mpsc::channel(1024);
    let link = am_link::LinkConfig {
        client,
        hq: crate::operator::alertmanager::hq_label(&cfg.hq_root),
        root: cfg.hq_root.clone(),
        who,
        poll_every: am_link::POLL_EVERY,
    };
    tokio::spawn(am_link::run(link, req_rx, tx, cancel));
    Some(req_tx)
}

/// `lumen [--hq DIR]`.
pub fn run_open(g: &GlobalArgs) -> CmdResult {
    let cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let label = display_root(&cfg.hq_root);
    let prepared = prepare(cfg, label)?;
    let rt = super::runtime()?;
    run_console(prepared, &rt, crate::cmd::ledger::witness_dir())
}

/// `lumen demo [--seed N]`.
pub fn run_demo(args: &DemoArgs, g: &GlobalArgs) -> CmdResult {
    let mut cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let demo = super::sim::prepare_demo(args.seed).map_err(CmdError::Io)?;
    let rt = super::runtime()?;
    let world = rt
        .block_on(crate::sim::start_with(
            &demo.root,
            "127.0.0.1:0",
            args.seed,
            2.0,
            args.chaos,
        ))
        .map_err(CmdError::Io)?;
    cfg.hq_root = demo.root.clone();
    cfg.key = if g.readonly {
        None
    } else {
        Some(demo.key_path.clone())
    };
    cfg.exporters = vec![crate::sources::exporter::ExporterConfig {
        url: world.exporter_url.clone(),
        timeout: Duration::from_secs(2),
        max_bytes: 16 * 1024 * 1024,
    }];
    let label = format!("demo HQ (seed {})", args.seed);
    let prepared = prepare(cfg, label)?;
    // The demo's witness lives in its own temporary directory: a demo run leaves
    // nothing in the user's data directory.
    let witness = Some(demo.root.join(".demo").join("witness"));
    let result = run_console(prepared, &rt, witness);
    rt.block_on(world.shutdown());
    // The terminal is restored (or gone, after SIGHUP): clean up first, then say what
    // happened on stdout.
    let report = finish_demo(demo, args.keep);
    for line in report {
        outln!("{line}");
    }
    result
}

/// Where `lumen demo` keeps ceremony transcripts after its directory is removed:
/// `<data dir>/demo-transcripts/` (`~/.local/share/lumen/demo-transcripts/`).
pub fn demo_transcript_dir() -> Option<std::path::PathBuf> {
    directories::ProjectDirs::from("", "", "lumen").map(|d| d.data_dir().join("demo-transcripts"))
}

/// End of a demo: with `keep`, leave the directory in place and say where it is;
/// otherwise copy the ceremony transcripts saved during the run out of it, then remove
/// it (with the demo operator's private key). Returns the lines to print.
fn finish_demo(demo: super::sim::DemoHq, keep: bool) -> Vec<String> {
    let saved = demo_transcripts(&demo.root);
    if keep {
        let key = demo.key_path.clone();
        let root = demo.root.clone();
        let dir = demo.dir.keep();
        let mut out = vec![format!(
            "lumen demo: kept the demo directory {} (HQ root {}).",
            dir.display(),
            root.display()
        )];
        for t in &saved {
            out.push(format!("lumen demo: ceremony transcript {}", t.display()));
        }
        out.push(format!(
            "lumen demo: it holds the demo operator's private key ({}); remove the directory when done.",
            key.display()
        ));
        return out;
    }
    let mut out = Vec::new();
    if !saved.is_empty() {
        match demo_transcript_dir() {
            Some(dest) => match copy_transcripts(&saved, &dest) {
                Ok(kept) => {
                    for t in kept {
                        out.push(format!("lumen demo: ceremony transcript kept in {}", t.display()));
                    }
                }
                Err(e) => out.push(format!(
                    "lumen demo: could not keep the ceremony transcripts in {}: {e} (run `lumen demo --keep` to keep the whole demo directory)",
                    dest.display()
                )),
            },
            None => out.push(
                "lumen demo: no data directory to keep the ceremony transcripts in (run `lumen demo --keep` to keep the whole demo directory)".to_string(),
            ),
        }
    }
    let dir = demo.dir.path().to_path_buf();
    match demo.dir.close() {
        Ok(()) => out.push(format!(
            "lumen demo: removed the demo directory {} and its operator key (`lumen demo --keep` keeps it).",
            dir.display()
        )),
        Err(e) => out.push(format!(
            "lumen demo: could not remove the demo directory {}: {e}; it holds the demo operator's private key, remove it by hand.",
            dir.display()
        )),
    }
    out
}

/// The transcripts a demo run saved (`<root>/custody/sim/artifacts/*.jsonl`), sorted.
fn demo_transcripts(root: &Path) -> Vec<std::path::PathBuf> {
    let dir = crate::operator::rehearsal::transcript_dir(root);
    let mut v: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl") && p.is_file())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Copy each transcript into `dest` under its own name (never overwriting: a name
/// taken gets `-1`, `-2`…). Returns the new paths.
pub fn copy_transcripts(
    files: &[std::path::PathBuf],
    dest: &Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dest)?;
    let mut out = Vec::new();
    for f in files {
        let bytes = std::fs::read(f)?;
        let stem = f
            .file_stem()
            .map_or_else(|| "transcript".into(), |s| s.to_string_lossy().into_owned());
        let mut written = None;
        for n in 0..1000 {
            let name = if n == 0 {
                format!("{stem}.jsonl")
            } else {
                format!("{stem}-{n}.jsonl")
            };
            let path = dest.join(name);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut file) => {
                    use std::io::Write as _;
                    file.write_all(&bytes)?;
                    file.sync_all()?;
                    written = Some(path);
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        match written {
            Some(p) => out.push(p),
            None => {
                return Err(std::io::Error::other(format!(
                    "too many transcripts named {stem} in {}",
                    dest.display()
                )));
            }
        }
    }
    Ok(out)
}

fn display_root(p: &Path) -> String {
    std::fs::canonicalize(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
