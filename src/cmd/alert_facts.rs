//! The headless facts collector behind `lumen alerts` and `lumen watch`: reads the HQ
//! the way the console does — registry files, branch health checks, the ledger
//! (followed from where it was, never re-read), its integrity, month-to-date cost —
//! and hands them to the alert evaluator.
//!
//! Bounded: the ledger is read once and then only its new bytes ([`LineScan`]), in
//! windows; a replaced or truncated ledger is read again from the start; integrity is
//! verified when the ledger changed, at most once per [`VERIFY_EVERY`]; health checks
//! run concurrently within one timeout.
//!
//! Not evaluated headless (the console does): `SourceDown` for exporters and
//! Prometheus (watch polls neither), `RhythmThreshold` (needs the live gauges), the
//! remembered-checkpoint (witness) check.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::domain::alerts::{
    BranchFacts, ConflictPolicy, CostFacts, Evaluator, HealthEscalation, HealthStatus, Inputs,
    IntegrityCheck, IntegrityFacts, IntegrityFailure, RejectFacts, RhythmFacts, SourceFacts,
    Transitions,
};
use crate::domain::cost::{CostBook, Escalation};
use crate::domain::hq::{FileError, HqSnapshot, paths};
use crate::domain::ledger::parse_line;
use crate::sources::health::{self, HealthTarget};
use crate::sources::ledger_reader::{LineScan, Piece};

/// Integrity is verified at most this often (it reads the whole ledger).
pub const VERIFY_EVERY: Duration = Duration::from_secs(60);

/// One branch's run of health results.
#[derive(Debug, Clone, Default)]
struct Run {
    failures: u32,
    since: Option<DateTime<Utc>>,
    error: Option<String>,
    checked: bool,
}

/// Everything the evaluator needs, kept between evaluations.
pub struct Collector {
    root: PathBuf,
    pub evaluator: Evaluator,
    pub snapshot: Option<HqSnapshot>,
    files: Vec<FileError>,
    cost: CostBook,
    scan: Option<LineScan>,
    /// The ledger was opened before (a new open means it was replaced).
    ledger_opened: bool,
    rejects: u64,
    newest_reject: Option<u64>,
    integrity: IntegrityFacts,
    verified: Option<(Instant, u64)>,
    health: HashMap<String, Run>,
    sources: Vec<SourceFacts>,
    /// The custody and trust-chain files, read with the registry files.
    custody: crate::domain::hq::custody::CustodyFiles,
    /// When health was last checked.
    pub health_checked: Option<Instant>,
}

fn rel(root: &Path, mut e: FileError) -> FileError {
    if let Ok(p) = e.path.strip_prefix(root) {
        e.path = p.to_path_buf();
    }
    e
}

impl Collector {
    pub fn new(root: &Path) -> Self {
        Collector {
            root: root.to_path_buf(),
            evaluator: Evaluator::new(),
            snapshot: None,
            files: Vec::new(),
            cost: CostBook::new(None, &[]),
            scan: None,
            ledger_opened: false,
            rejects: 0,
            newest_reject: None,
            integrity: IntegrityFacts::Unchecked,
            verified: None,
            health: HashMap::new(),
            sources: Vec::new(),
            custody: Default::default(),
            health_checked: None,
        }
    }

    /// Reload the registry files. `branches.json` missing or broken is returned as an
    /// error (and kept as a `FileInvalid` fact); the last good snapshot stays in use.
    pub fn reload_files(&mut self) -> Result<(), FileError> {
        self.custody = crate::store::custody::read_custody(&self.root);
        match crate::sources::registry::load_snapshot(&self.root) {
            Ok(s) => {
                self.files = s
                    .errors
                    .iter()
                    .cloned()
                    .chain(self.custody.errors())
                    .map(|e| rel(&self.root, e))
                    .collect();
                let branches = s
                    .registry
                    .as_ref()
                    .map(|r| r.branches.clone())
                    .unwrap_or_default();
                self.cost.set_context(s.cost_policy.clone(), &branches);
                self.snapshot = Some(s);
                Ok(())
            }
            Err(e) => {
                self.files = vec![rel(&self.root, e.clone())];
                Err(e)
            }
        }
    }

    /// Read what the ledger gained since the last call (all of it the first time).
    pub fn read_ledger(&mut self) -> anyhow::Result<()> {
        let path = self.root.join(paths::LEDGER);
        for _attempt in 0..3 {
            if self.scan.is_none() {
                let Some(opened) = LineScan::open(&path)? else {
                    return Ok(()); // no ledger (yet)
                };
                if self.ledger_opened {
                    // Replaced or truncated: what it said before no longer holds.
                    self.evaluator.reset_ledger();
                    let s = self.snapshot.as_ref();
                    self.cost = CostBook::new(
                        s.and_then(|s| s.cost_policy.clone()),
                        &s.and_then(|s| s.registry.as_ref())
                            .map(|r| r.branches.clone())
                            .unwrap_or_default(),
                    );
                    self.rejects = 0;
                    self.newest_reject = None;
                }
                self.ledger_opened = true;
                self.scan = Some(opened);
            }
            let Some(scan) = self.scan.as_mut() else {
                return Ok(()); // no ledger (yet)
            };
            let end = match scan.check() {
                Ok(end) => end,
                Err(_) => {
                    // Replaced or truncated: read the new file from its start.
                    self.scan = None;
                    continue;
                }
            };
            let ev = &mut self.evaluator;
            let cost = &mut self.cost;
            let rejects = &mut self.rejects;
            let newest = &mut self.newest_reject;
            let never = AtomicBool::new(false);
            let r = scan.run(end, &never, |p| match p {
                Piece::Lines { first, data, .. } => {
                    let mut n = 0u64;
                    let mut start = 0usize;
                    for nl in memchr::memchr_iter(b'\n', data) {
                        let line = data.get(start..nl).unwrap_or_default();
                        start = nl + 1;
                        let no = first + n;
                        n += 1;
                        if line.is_empty() {
                            continue;
                        }
                        match parse_line(line) {
                            Ok(e) => {
                                ev.ingest(Some(no), &e);
                                cost.ingest(&e);
                            }
                            Err(_) => {
                                *rejects += 1;
                                *newest = Some(no);
                            }
                        }
                    }
                    ControlFlow::Continue(n)
                }
                Piece::Long { line, .. } => {
                    *rejects += 1;
                    *newest = Some(line);
                    ControlFlow::Continue(1)
                }
            });
            match r {
                Ok(_) => return Ok(()),
                Err(_) => {
                    self.scan = None;
                    continue;
                }
            }
        }
        anyhow::bail!(
            "{}: the ledger kept changing under the reader",
            path.display()
        )
    }

    /// Verify the ledger's integrity if it changed since the last verification and
    /// [`VERIFY_EVERY`] passed (or `force`).
    pub fn verify(&mut self, force: bool) {
        let len = self.scan.as_ref().map_or(0, |s| s.position().0);
        let due = match self.verified {
            None => true,
            Some((at, l)) => force || (l != len && at.elapsed() >= VERIFY_EVERY),
        };
        if !due {
            return;
        }
        self.verified = Some((Instant::now(), len));
        match crate::store::verify::verify(&self.root) {
            Ok(r) => {
                let mut fails = Vec::new();
                let first = |kw: &str| {
                    r.problems
                        .iter()
                        .find(|p| p.contains(kw))
                        .or(r.problems.first())
                        .cloned()
                        .unwrap_or_default()
                };
                if r.chain.broken > 0 {
                    fails.push(IntegrityFailure {
                        check: IntegrityCheck::Chain,
                        count: r.chain.broken,
                        detail: first("prev"),
                        line: None,
                    });
                }
                if r.signatures.bad > 0 {
                    fails.push(IntegrityFailure {
                        check: IntegrityCheck::Signature,
                        count: r.signatures.bad,
                        detail: first("signature"),
                        line: None,
                    });
                }
                if r.checkpoints.bad > 0 {
                    fails.push(IntegrityFailure {
                        check: IntegrityCheck::Checkpoint,
                        count: r.checkpoints.bad,
                        detail: first("checkpoint"),
                        line: None,
                    });
                }
                self.integrity = IntegrityFacts::Checked(fails);
            }
            Err(e) => {
                tracing::warn!("ledger verification could not run: {e:#}");
                self.integrity = IntegrityFacts::Unchecked;
            }
        }
    }

    /// The health targets of the current snapshot, without branches in maintenance.
    pub fn health_targets(&self) -> Vec<HealthTarget> {
        self.snapshot
            .as_ref()
            .map(health::targets_from_snapshot)
            .unwrap_or_default()
    }

    /// How often health is checked (`health-check.json`'s interval, default 5 min).
    pub fn health_interval(&self) -> Duration {
        self.snapshot
            .as_ref()
            .and_then(|s| s.health_check.as_ref())
            .map_or(Duration::from_secs(300), |h| h.interval_duration())
    }

    /// One round of health checks (concurrent, each within the configured timeout).
    pub async fn check_health(&mut self) {
        let timeout = self
            .snapshot
            .as_ref()
            .and_then(|s| s.health_check.as_ref())
            .map_or(Duration::from_secs(2), |h| h.timeout_duration());
        let targets = self.health_targets();
        self.health_checked = Some(Instant::now());
        let client = match health::client(timeout) {
            Ok(c) => c,
            Err(e) => {
                let now = Utc::now();
                self.sources = vec![SourceFacts {
                    name: "health checks".into(),
                    failing_since: Some(now),
                    interval: self.health_interval(),
                    error: Some(format!("cannot build the HTTP client: {e}")),
                }];
                return;
            }
        };
        let results = health::round(&client, targets, 1_024).await;
        let mut seen = std::collections::HashSet::new();
        for r in results {
            seen.insert(r.branch.clone());
            let run = self.health.entry(r.branch.clone()).or_default();
            run.checked = true;
            if r.ok {
                *run = Run {
                    checked: true,
                    ..Run::default()
                };
            } else {
                run.failures = run.failures.saturating_add(1);
                run.since.get_or_insert(r.at);
                run.error = r.error.clone();
            }
        }
        self.health.retain(|b, _| seen.contains(b));
    }

    /// Evaluate every condition at `now` with the facts gathered so far.
    pub fn evaluate(&mut self, now: DateTime<Utc>) -> Transitions {
        self.cost.prune(now);
        let maintenance = |b: &str| {
            self.snapshot.as_ref().is_some_and(|s| {
                s.decision
                    .as_ref()
                    .is_some_and(|d| d.maintenance.get(b).copied().unwrap_or(false))
                    || s.registry
                        .as_ref()
                        .is_some_and(|r| r.branches.iter().any(|x| x.id == b && x.maintenance_mode))
            })
        };
        let branches: Vec<BranchFacts> = self
            .health
            .iter()
            .filter(|(_, r)| r.checked)
            .map(|(id, r)| {
                let in_maintenance = maintenance(id);
                let status = if in_maintenance {
                    HealthStatus::Maintenance
                } else if r.failures > 0 {
                    HealthStatus::Down
                } else {
                    HealthStatus::Up
                };
                let escalation = match r.failures {
                    _ if in_maintenance => HealthEscalation::None,
                    0 => HealthEscalation::None,
                    1..=2 => HealthEscalation::Retry,
                    3..=5 => HealthEscalation::RollbackProposed,
                    _ => HealthEscalation::HqAdmin,
                };
                BranchFacts {
                    id: id.clone(),
                    status,
                    consecutive_failures: r.failures,
                    escalation,
                    down_since: r.since,
                    last_error: r.error.clone(),
                }
            })
            .collect();
        let costs: Vec<CostFacts> = self
            .cost
            .all(now)
            .into_iter()
            .filter(|c| c.escalation != Escalation::None)
            .map(|c| CostFacts {
                branch: c.branch,
                escalation: c.escalation,
                ratio: c.limit_ratio.unwrap_or(0.0),
            })
            .collect();
        let kill_switch = self
            .snapshot
            .as_ref()
            .and_then(|s| s.decision.as_ref())
            .map(|d| d.kill_switch);
        let rejects = self.scan.as_ref().map(|_| RejectFacts {
            count: self.rejects,
            newest_line: self.newest_reject,
        });
        let conflict_policy = self
            .snapshot
            .as_ref()
            .and_then(|s| s.conflict_policy.as_ref())
            .map(|p| ConflictPolicy {
                timeout_hours: p.on_conflict.timeout_hours,
                escalate_to: p.on_conflict.escalate_to.clone(),
            });
        let custody = (!self.custody.is_empty())
            .then(|| crate::domain::hq::custody::assess(&self.custody, now));
        let inputs = Inputs {
            branches: &branches,
            costs: &costs,
            integrity: Some(&self.integrity),
            rejects,
            kill_switch,
            conflict_policy: conflict_policy.as_ref(),
            sources: &self.sources,
            files: &self.files,
            rhythm: RhythmFacts::default(),
            custody: custody.as_ref(),
        };
        self.evaluator.evaluate(now, &inputs)
    }
}
