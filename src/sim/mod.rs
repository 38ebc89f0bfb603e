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
    Rule(String),
    Csv(String),
}

/// Start the world for the HQ root at `root` on the current tokio runtime, listening
/// on `listen` ("127.0.0.1:0" for a random port).
pub async fn start(
    root: &Path,
    listen: &str,
    seed: u64,
    events_per_sec: f64,
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
    let writer = {
        let root = root.clone();
        std::thread::Builder::new()
            .name("lumen-sim-writer".into())
            .spawn(move || write_loop(&root, rx))
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
        for _ in 0..n as u32 {
            let Some(ev) = generator.next_event() else {
                break;
            };
            let now = Utc::now();
            let line = ev.to_line(&ids.next(now), now);
            let _ = tx.send(Append::Ledger(line));
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
fn write_loop(root: &Path, rx: mpsc::Receiver<Append>) {
    let ledger = root.join(paths::LEDGER);
    let rules = root.join(paths::RULES_HISTORY);
    let csv = root.join(paths::METRICS_CSV);
    for a in rx {
        let r = match &a {
            Append::Ledger(l) => append_locked(&ledger, l),
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
    OpenOptions::new()
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

fn append_locked(path: &PathBuf, line: &str) -> anyhow::Result<()> {
    let mut f = open_append(path)?;
    f.lock()
        .with_context(|| format!("cannot lock {}", path.display()))?;
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
