//! The embedded demo world: exporter, health endpoints and event generator.
//!
//! [`start`] runs, on the current tokio runtime: an axum server (`/metrics`,
//! `/health/{branch}`), the 5 Hz observer loop (rhythm model → exporter gauges and
//! `logs/metrics.csv`, occasional rule changes → `controls/rules_history.jsonl`) and the
//! ledger event generator. File appends go through one writer thread so that no
//! blocking I/O runs on the async workers. See `docs/demo.md`.

pub mod assets;
pub mod events;
pub mod exporter;
pub mod world;

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub use assets::DemoHq;
use events::{Catalog, EventGen, IdMaker, RunOutcome};
use exporter::{Behaviour, BranchGauges, Exposed, ServerState, Shared};
use world::{LOOP_HZ, Rhythm};

use crate::domain::hq::paths;
use crate::domain::rhythm::RuleChange;

/// A running world; dropping it stops every task.
pub struct World {
    /// e.g. `http://127.0.0.1:40123/metrics`
    pub exporter_url: String,
    pub cancel: tokio_util::sync::CancellationToken,
    /// The address the server listens on (`host:port` used in the health URLs).
    pub addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl World {
    /// Stop every task and wait until the last file append is done.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One append for the writer thread.
enum Append {
    Ledger(String),
    /// A `deploy`, `deploy_test` or `deploy_failed` line: the demo's automation, which
    /// the kill switch halts.
    Deploy(String),
    Rule(String),
    Csv(String),
}

/// Start the world for the HQ root at `root` on the current tokio runtime, listening
/// on `listen` ("127.0.0.1:0" for a random port). The generator's automation obeys
/// the kill switch (see [`start_with`] for `--chaos`).
pub async fn start(
    root: &Path,
    listen: &str,
    seed: u64,
    events_per_sec: f64,
) -> anyhow::Result<World> {
    start_with(root, listen, seed, events_per_sec, false).await
}

/// [`start`], with `chaos`: keep deploying while the kill switch is on (to show the
/// `KillSwitchViolation` alert). Without it, no deploy line is written while the
/// kill switch is on — neither the last `kill_switch_*` entry of the ledger nor
/// `killSwitch` in `decision-engine.json` — checked under the ledger lock right
/// before each deploy line is appended.
pub async fn start_with(
    root: &Path,
    listen: &str,
    seed: u64,
    events_per_sec: f64,
    chaos: bool,
) -> anyhow::Result<World> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let bound = listener.local_addr().context("listener has no address")?;
    // A wildcard bind is reached over loopback.
    let addr = match bound.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), bound.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound.port())
        }
        _ => bound,
    };
    let root = root.to_path_buf();
    let (catalog, rules) = {
        let root = root.clone();
        let addr = addr.to_string();
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            assets::point_health_at(&root, &addr)?;
            let catalog = Catalog::load(&root)?;
            Ok((catalog, recent_rules(&root.join(paths::RULES_HISTORY))))
        })
        .await
        .context("startup task failed")??
    };

    let state: Shared = Arc::new(ServerState {
        exposed: Mutex::new(Exposed {
            rule: rules
                .last()
                .map_or_else(|| "none".to_string(), |r| r.rule.clone()),
            branches: catalog
                .branches
                .iter()
                .map(|b| {
                    let (up, latency, error_ratio) =
                        branch_sample(exporter::behaviour(&b.id), Duration::ZERO, 0.5);
                    BranchGauges {
                        id: b.id.clone(),
                        tier: b.tier.clone(),
                        up,
                        latency,
                        error_ratio,
                    }
                })
                .collect(),
            ..Exposed::default()
        }),
        started: Instant::now(),
    });
    let cancel = CancellationToken::new();
    let (tx, rx) = mpsc::channel::<Append>();
    let halted = Arc::new(AtomicBool::new(false));
    let writer = {
        let root = root.clone();
        let halted = halted.clone();
        std::thread::Builder::new()
            .name("lumen-sim-writer".into())
            .spawn(move || write_loop(&root, rx, &halted, chaos))
            .context("cannot start the writer thread")?
    };

    let server = {
        let app = exporter::router(state.clone());
        let cancel = cancel.clone();
        tokio::spawn(async move {
            let r = axum::serve(listener, app)
                .with_graceful_shutdown(cancel.cancelled_owned())
                .await;
            if let Err(e) = r {
                tracing::warn!("simulator server stopped: {e}");
            }
        })
    };
    let mut model = Rhythm::new(seed.wrapping_add(0x11fe));
    for r in &rules {
        model.set_rule_value(&r.rule, r.new);
    }
    let observer = tokio::spawn(observer_loop(
        state.clone(),
        tx.clone(),
        model,
        seed,
        cancel.clone(),
    ));
    let generator = tokio::spawn(event_loop(
        state,
        tx,
        EventGen::new(seed, catalog),
        events_per_sec,
        (!chaos).then_some(halted),
        cancel.clone(),
    ));
    Ok(World {
        exporter_url: format!("http://{addr}/metrics"),
        cancel,
        addr,
        tasks: vec![server, observer, generator],
        writer: Some(writer),
    })
}

/// The parsable rule changes among the last 64 KiB of the rules history, oldest first
/// (a huge history is not read whole; a cut first line simply fails to parse).
fn recent_rules(path: &Path) -> Vec<RuleChange> {
    let read = || -> std::io::Result<Vec<u8>> {
        let mut f = File::open(path)?;
        let len = f.metadata()?.len();
        f.seek(SeekFrom::Start(len.saturating_sub(65_536)))?;
        let mut buf = Vec::new();
        f.read_to_end(&mut buf)?;
        Ok(buf)
    };
    read()
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .filter_map(|l| crate::domain::rhythm::parse_rule_line(l).ok())
        .collect()
}

/// Lock the state even if a panicking holder poisoned it (the data is plain numbers).
fn exposed(state: &Shared) -> std::sync::MutexGuard<'_, Exposed> {
    state.exposed.lock().unwrap_or_else(|p| p.into_inner())
}

/// Samples over which a rule change's effect is measured (30 s at 5 Hz), and the gap
/// left out on each side of the change (1 s).
const DELTA_WINDOW: usize = 150;
const DELTA_GAP: usize = 5;

struct PendingDelta {
    rule: String,
    before: [f64; 4],
    after_sum: [f64; 4],
    seen: usize,
}

fn mean_of(samples: impl Iterator<Item = [f64; 4]>) -> [f64; 4] {
    let mut sum = [0.0; 4];
    let mut n = 0.0;
    for s in samples {
        for i in 0..4 {
            sum[i] += s[i];
        }
        n += 1.0;
    }
    if n > 0.0 { sum.map(|x| x / n) } else { sum }
}

/// The 5 Hz observer loop: step the model, publish gauges, append to metrics.csv,
/// emit rule changes and compute their effect.
async fn observer_loop(
    state: Shared,
    tx: mpsc::Sender<Append>,
    mut model: Rhythm,
    seed: u64,
    cancel: CancellationToken,
) {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(0xb4a9c4));
    let mut recent: VecDeque<[f64; 4]> = VecDeque::with_capacity(DELTA_WINDOW + DELTA_GAP);
    let mut pending: Option<PendingDelta> = None;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / LOOP_HZ));
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Utc::now();
        let t = model.step();
        if let Some(c) = &t.rule_change {
            let line = assets::rule_line(now, c.actor, c.rule, c.old, c.new, &c.note);
            let _ = tx.send(Append::Rule(line));
            let upto = recent.len().saturating_sub(DELTA_GAP);
            pending = Some(PendingDelta {
                rule: c.rule.to_string(),
                before: mean_of(recent.iter().take(upto).copied()),
                after_sum: [0.0; 4],
                seen: 0,
            });
        }
        if recent.len() == DELTA_WINDOW + DELTA_GAP {
            recent.pop_front();
        }
        recent.push_back(t.values);
        let mut done = None;
        if let Some(p) = &mut pending {
            p.seen += 1;
            if p.seen > DELTA_GAP {
                for i in 0..4 {
                    p.after_sum[i] += t.values[i];
                }
            }
            if p.seen >= DELTA_GAP + DELTA_WINDOW {
                let n = DELTA_WINDOW as f64;
                done = Some((
                    p.rule.clone(),
                    std::array::from_fn(|i| p.after_sum[i] / n - p.before[i]),
                ));
            }
        }
        if done.is_some() {
            pending = None;
        }
        let _ = tx.send(Append::Csv(assets::csv_row(now, &t.values)));
        let elapsed = state.started.elapsed();
        let mut e = exposed(&state);
        e.values = t.values;
        e.gateway = t.gateway;
        if let Some((rule, deltas)) = done {
            e.rule = rule;
            e.deltas = deltas;
        }
        for b in &mut e.branches {
            let u: f64 = rng.random_range(0.0..1.0);
            let (up, latency, err) = branch_sample(exporter::behaviour(&b.id), elapsed, u);
            b.up = up;
            b.latency = latency;
            b.error_ratio = err;
        }
    }
}

/// (up, latency seconds, error ratio) of a branch, `elapsed` after start, with noise
/// `u` in [0, 1).
fn branch_sample(b: Behaviour, elapsed: Duration, u: f64) -> (bool, f64, f64) {
    match b {
        Behaviour::Healthy => (true, 0.02 + 0.06 * u, 0.002 + 0.01 * u),
        Behaviour::Slow => (true, 1.45 + 0.1 * u, 0.01 + 0.02 * u),
        Behaviour::Down => (false, 0.002 + 0.002 * u, 1.0),
        Behaviour::Flapping => {
            if exporter::flap_up(elapsed) {
                (true, 0.05 + 0.1 * u, 0.1 + 0.1 * u)
            } else {
                (false, 0.3 + 0.2 * u, 0.5 + 0.2 * u)
            }
        }
    }
}

/// The ledger event generator: `events_per_sec` lines per second on average.
async fn event_loop(
    state: Shared,
    tx: mpsc::Sender<Append>,
    mut generator: EventGen,
    events_per_sec: f64,
    halted: Option<Arc<AtomicBool>>,
    cancel: CancellationToken,
) {
    if !(events_per_sec.is_finite() && events_per_sec > 0.0) {
        cancel.cancelled().await;
        return;
    }
    let period = Duration::from_millis(100);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut ids = IdMaker::default();
    let mut due = 0.0f64;
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        due += events_per_sec * period.as_secs_f64();
        // Bounded so that an absurd rate cannot starve the runtime.
        let n = due.floor().min(10_000.0);
        due -= n;
        // The kill switch as the writer last saw it: no new deploys while it is on
        // (the rollout pauses and resumes when it is released).
        generator.set_halted(halted.as_ref().is_some_and(|h| h.load(Ordering::Relaxed)));
        for _ in 0..n as u32 {
            let Some(ev) = generator.next_event() else {
                break;
            };
            let now = Utc::now();
            let line = ev.to_line(&ids.next(now), now);
            let _ = tx.send(if ev.is_deploy() {
                Append::Deploy(line)
            } else {
                Append::Ledger(line)
            });
            let mut e = exposed(&state);
            match ev.run {
                RunOutcome::None => {}
                RunOutcome::Success(_) => {
                    e.runs_total += 1;
                    e.runs_success += 1;
                }
                RunOutcome::Failed(p) => {
                    e.runs_total += 1;
                    *e.runs_failed.entry(p.to_string()).or_default() += 1;
                }
            }
        }
    }
}

/// The writer thread: append each line with one `write_all` on an `O_APPEND`
/// descriptor. Ledger appends cooperate with the console's lock (docs/formats.md: `flock` on
/// the file, and a missing final `\n` from a dead writer is completed first).
fn write_loop(root: &Path, rx: mpsc::Receiver<Append>, halted: &AtomicBool, chaos: bool) {
    let ledger = root.join(paths::LEDGER);
    let rules = root.join(paths::RULES_HISTORY);
    let csv = root.join(paths::METRICS_CSV);
    let mut watch = KillWatch::new(root.join(paths::DECISION_ENGINE));
    for a in rx {
        let r = match &a {
            Append::Ledger(l) => append_locked(&ledger, l, |f| {
                halted.store(watch.on(f), Ordering::Relaxed);
                true
            }),
            Append::Deploy(l) => append_locked(&ledger, l, |f| {
                let on = watch.on(f);
                halted.store(on, Ordering::Relaxed);
                chaos || !on
            }),
            Append::Rule(l) => append(&rules, l.as_bytes()),
            Append::Csv(row) => append_csv(&csv, row),
        };
        if let Err(e) = r {
            tracing::warn!("simulator append failed: {e:#}");
        }
    }
}

fn open_append(path: &PathBuf) -> anyhow::Result<File> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    // Readable too: the ledger append reads the last byte (a torn line from a dead
    // writer is completed first) and the kill switch entries under the lock.
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

fn append(path: &PathBuf, bytes: &[u8]) -> anyhow::Result<()> {
    open_append(path)?
        .write_all(bytes)
        .with_context(|| format!("cannot append to {}", path.display()))
}

fn append_csv(path: &PathBuf, row: &str) -> anyhow::Result<()> {
    let mut f = open_append(path)?;
    let empty = f.metadata().map(|m| m.len() == 0).unwrap_or(false);
    let bytes = if empty {
        format!("{}{row}", assets::CSV_HEADER)
    } else {
        row.to_string()
    };
    f.write_all(bytes.as_bytes())
        .with_context(|| format!("cannot append to {}", path.display()))
}

/// Whether the kill switch is on, as the sim's writer sees it: the last
/// `kill_switch_activated` / `kill_switch_released` entry of the ledger (read
/// incrementally, under the ledger lock, so an activation the console just appended
/// is seen before the next deploy line), or `killSwitch: true` in
/// `decision-engine.json` (re-read at most twice a second).
struct KillWatch {
    decision: PathBuf,
    /// Ledger bytes scanned so far (always at a line start).
    scanned: u64,
    ledger_on: bool,
    file_on: bool,
    file_read: Option<Instant>,
}

impl KillWatch {
    fn new(decision: PathBuf) -> KillWatch {
        KillWatch {
            decision,
            scanned: 0,
            ledger_on: false,
            file_on: false,
            file_read: None,
        }
    }

    /// Scan the ledger's new complete lines (`f` is locked) and the decision file.
    fn on(&mut self, f: &File) -> bool {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len < self.scanned {
            // Truncated or replaced: start over.
            self.scanned = 0;
            self.ledger_on = false;
        }
        const CHUNK: usize = 1 << 20;
        let mut buf = vec![0u8; CHUNK];
        while self.scanned < len {
            let want = usize::try_from(len - self.scanned)
                .unwrap_or(usize::MAX)
                .min(CHUNK);
            let Some(chunk) = buf.get_mut(..want) else {
                break;
            };
            let Ok(n) = f.read_at(chunk, self.scanned) else {
                break;
            };
            let Some(read) = chunk.get(..n).filter(|r| !r.is_empty()) else {
                break;
            };
            // Only whole lines; a line longer than the buffer is skipped whole.
            let end = match read.iter().rposition(|b| *b == b'\n') {
                Some(i) => i + 1,
                None if n == CHUNK => n,
                None => break,
            };
            for line in read.get(..end).unwrap_or_default().split(|b| *b == b'\n') {
                if let Some(on) = kill_switch_event(line) {
                    self.ledger_on = on;
                }
            }
            self.scanned += end as u64;
        }
        if self
            .file_read
            .is_none_or(|t| t.elapsed() >= Duration::from_millis(500))
        {
            self.file_read = Some(Instant::now());
            if let Ok(bytes) = std::fs::read(&self.decision)
                && let Ok(d) = crate::domain::hq::parse_decision_engine(&self.decision, &bytes)
            {
                self.file_on = d.kill_switch;
            }
        }
        self.ledger_on || self.file_on
    }
}

/// `Some(true)` for a `kill_switch_activated` line, `Some(false)` for
/// `kill_switch_released`, `None` otherwise.
fn kill_switch_event(line: &[u8]) -> Option<bool> {
    const NEEDLE: &[u8] = b"kill_switch_";
    if !line.windows(NEEDLE.len()).any(|w| w == NEEDLE) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    match v.get("event")?.as_str()? {
        "kill_switch_activated" => Some(true),
        "kill_switch_released" => Some(false),
        _ => None,
    }
}

/// Append `line` under the ledger lock if `keep(file)` (called under the lock) agrees.
fn append_locked(
    path: &PathBuf,
    line: &str,
    keep: impl FnOnce(&File) -> bool,
) -> anyhow::Result<()> {
    let mut f = open_append(path)?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
    if !keep(&f) {
        let _ = f.unlock();
        return Ok(());
    }
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut last = [0u8; 1];
    let needs_newline = len > 0 && f.read_at(&mut last, len - 1).is_ok() && last[0] != b'\n';
    let mut bytes = Vec::with_capacity(line.len() + 2);
    if needs_newline {
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(line.as_bytes());
    bytes.push(b'\n');
    let r = f.write_all(&bytes);
    let _ = f.unlock();
    r.with_context(|| format!("cannot append to {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kill_watch_follows_the_ledger_and_the_decision_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = dir.path().join("ledger.jsonl");
        let decision = dir.path().join("decision-engine.json");
        let line = |id: &str, event: &str| {
            format!(
                r#"{{"id":"{id}","branch":"hq","event":"{event}","timestamp":"2026-12-01T00:00:00Z"}}"#
            )
        };
        let add = |l: String| append_locked(&ledger, &l, |_| true).expect("append");
        let mut w = KillWatch::new(decision.clone());
        add(line("TXN-1", "deploy"));
        // The file as the writer holds it (opened for append, under the lock).
        let on = |w: &mut KillWatch| w.on(&open_append(&ledger).expect("open"));
        assert!(!on(&mut w));
        add(line("TXN-2", "kill_switch_activated"));
        assert!(on(&mut w), "activation seen");
        add(line("TXN-3", "llm_generate"));
        assert!(on(&mut w), "still on");
        add(line("TXN-4", "kill_switch_released"));
        assert!(!on(&mut w), "release seen");
        // The file alone turns it on (re-read at most twice a second).
        std::fs::write(&decision, r#"{"killSwitch": true}"#).expect("write");
        w.file_read = None;
        assert!(on(&mut w), "decision-engine.json killSwitch");
        // A deploy is refused under the lock while on.
        let before = std::fs::read_to_string(&ledger).expect("read");
        append_locked(&ledger, &line("TXN-5", "deploy"), |f| !w.on(f)).expect("append");
        assert_eq!(std::fs::read_to_string(&ledger).expect("read"), before);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn world_starts_on_demo_and_stops_on_cancel() {
        let demo = assets::prepare_demo(2).expect("demo");
        let world = start(&demo.root, "127.0.0.1:0", 2, 50.0)
            .await
            .expect("start");
        let client = reqwest::Client::new();
        let body = client
            .get(&world.exporter_url)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body");
        assert!(body.contains("lumen_phase_diff "));
        let branches = std::fs::read_to_string(demo.root.join(paths::BRANCHES)).expect("read");
        assert!(branches.contains(&format!("http://{}/health/papafly", world.addr)));

        let ledger = demo.root.join(paths::LEDGER);
        let before = std::fs::metadata(&ledger).expect("ledger").len();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::fs::metadata(&ledger).expect("ledger").len() == before {
            assert!(Instant::now() < deadline, "no live ledger lines");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        let url = world.exporter_url.clone();
        world.shutdown().await;
        // A fresh client: no pooled connection to the old server.
        let after = reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        assert!(after.is_err(), "server still answering after shutdown");
    }
}
