//! The evaluator: facts in, [`Transitions`] out. Time comes only from the `now`
//! handed to [`Evaluator::evaluate`]; state is what must survive between ticks
//! (each firing alert's `since`, the ledger-derived open items, the reject baseline).
//!
//! Cost per tick follows what fires, not the fleet: a branch that is up costs one
//! comparison; an alert is built (strings, key) only for a condition that holds.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rustc_hash::FxHashMap;

use super::inputs::{
    BranchFacts, ConflictPolicy, CostFacts, HealthEscalation, HealthStatus, Inputs, IntegrityCheck,
    IntegrityFacts, RhythmFacts, SourceFacts,
};
use super::ledger_watch::{LedgerWatch, Open};
use super::{Alert, AlertName, Labels, Severity, Target, sort_for_view};
use crate::domain::cost::Escalation;
use crate::domain::hq::FileError;
use crate::domain::ledger::Entry;
use crate::domain::sanitize::sanitize;

/// A deploy failure nothing cleared resolves this long after its entry.
pub const DEPLOY_FAILED_TTL: Duration = Duration::from_secs(24 * 3600);
/// A kill switch violation resolves this long after its entry (or when the kill
/// switch is released).
pub const KILL_SWITCH_VIOLATION_TTL: Duration = Duration::from_secs(24 * 3600);
/// New rejects stop alerting after this long without another one.
pub const REJECTS_QUIET: Duration = Duration::from_secs(3600);
/// A rhythm gauge must stay past its threshold this long to fire.
pub const RHYTHM_HOLD: Duration = Duration::from_secs(60);
/// A rhythm alert resolves when the newest point is older than this (no data, no
/// condition; `SourceDown` says why).
pub const RHYTHM_STALE: Duration = Duration::from_secs(60);
/// A source fires `SourceDown` after failing for this many poll intervals.
pub const SOURCE_DOWN_FACTOR: u32 = 3;
/// Ledger-derived open items kept per kind (oldest dropped first).
pub const MAX_OPEN: usize = 10_000;

/// Longest piece of data text put into a summary or a label.
const MAX_TEXT: usize = 200;

/// What changed in one evaluation, and what fires now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transitions {
    /// Alerts that started firing in this evaluation.
    pub fired: Vec<Alert>,
    /// Alerts that fired before and no longer do (as they last were).
    pub resolved: Vec<Alert>,
    /// Everything firing now, in view order (critical first, then newest).
    pub firing: Vec<Alert>,
}

impl Transitions {
    /// Nothing fired or resolved.
    pub fn is_quiet(&self) -> bool {
        self.fired.is_empty() && self.resolved.is_empty()
    }
}

#[derive(Debug, Clone, Default)]
struct RejectTracker {
    baseline: Option<u64>,
    count: u64,
    newest_line: Option<u64>,
    last_growth: Option<DateTime<Utc>>,
}

/// Evaluates every condition; keeps what must survive between evaluations.
#[derive(Debug, Clone)]
pub struct Evaluator {
    ledger: LedgerWatch,
    firing: FxHashMap<String, Alert>,
    rejects: RejectTracker,
    cap: usize,
}

impl Default for Evaluator {
    fn default() -> Self {
        Evaluator::new()
    }
}

fn td(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Data text for a summary or label: sanitised, one line, bounded.
fn clean(s: &str) -> String {
    let s = sanitize(s);
    match s.char_indices().nth(MAX_TEXT) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.into_owned(),
    }
}

fn labels<const N: usize>(pairs: [(&str, &str); N]) -> Labels {
    pairs
        .into_iter()
        .map(|(k, v)| (k.to_owned(), clean(v)))
        .collect()
}

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

fn from_secs(t: f64) -> Option<DateTime<Utc>> {
    if !t.is_finite() {
        return None;
    }
    DateTime::from_timestamp_millis((t * 1000.0).round() as i64)
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// Builds the next firing set from the previous one.
struct Collect<'p> {
    now: DateTime<Utc>,
    prev: &'p mut FxHashMap<String, Alert>,
    next: FxHashMap<String, Alert>,
    fired: Vec<Alert>,
}

impl Collect<'_> {
    /// `started`: when the condition began, if the facts say (else: now, for a new
    /// alert). An alert already firing keeps its `since`; one that escalated keeps
    /// the `since` of the severity it replaced.
    fn put(&mut self, mut a: Alert, started: Option<DateTime<Utc>>) {
        let key = a.key();
        if self.next.contains_key(&key) {
            return; // the same identity twice (a repeated ledger id): the first stays
        }
        if let Some(p) = self.prev.remove(&key) {
            a.since = p.since;
        } else {
            let replaced = Severity::ALL
                .into_iter()
                .filter(|s| *s != a.severity)
                .find_map(|s| self.prev.get(&a.key_with(Some(s))).map(|p| p.since));
            a.since = replaced.or(started).unwrap_or(self.now).min(self.now);
            self.fired.push(a.clone());
        }
        self.next.insert(key, a);
    }
}

impl Evaluator {
    pub fn new() -> Self {
        Evaluator::with_cap(MAX_OPEN)
    }

    /// An evaluator keeping at most `cap` ledger-derived items per kind.
    pub fn with_cap(cap: usize) -> Self {
        Evaluator {
            ledger: LedgerWatch::default(),
            firing: FxHashMap::default(),
            rejects: RejectTracker::default(),
            cap: cap.max(4),
        }
    }

    /// Fold in one ledger entry, in file order. `line` (1-based) becomes the alert's
    /// Enter target when known. Cost: O(1) amortised, plus the entry's branch's open
    /// failures for a successful deploy.
    pub fn ingest(&mut self, line: Option<u64>, entry: &Entry) {
        self.ledger.ingest(line, entry, self.cap);
    }

    /// The ledger was replaced or shrank: forget what it said (ingest it again) and
    /// take a new reject baseline.
    pub fn reset_ledger(&mut self) {
        self.ledger = LedgerWatch::default();
        self.rejects = RejectTracker::default();
    }

    /// Count the rejects seen so far as known: `LedgerRejects` resolves.
    pub fn acknowledge_rejects(&mut self) {
        self.rejects.baseline = Some(self.rejects.count);
    }

    /// Start from a remembered reject count (e.g. what `watch` saw before a restart),
    /// instead of the first count seen.
    pub fn set_reject_baseline(&mut self, count: u64) {
        self.rejects.baseline = Some(count);
    }

    /// The reject count up to which rejects are known (persist it to survive a
    /// restart).
    pub fn reject_baseline(&self) -> Option<u64> {
        self.rejects.baseline
    }

    /// The kill switch as the ledger tells it: `Some(true)` after a
    /// `kill_switch_activated` entry not followed by `kill_switch_released`;
    /// `None` when the ledger never mentioned it.
    pub fn ledger_kill_switch(&self) -> Option<bool> {
        self.ledger
            .kill_switch_seen
            .then_some(self.ledger.kill_switch_on.is_some())
    }

    /// What fires now, in view order.
    pub fn firing(&self) -> Vec<Alert> {
        let mut v: Vec<Alert> = self.firing.values().cloned().collect();
        sort_for_view(&mut v);
        v
    }

    /// Evaluate every condition at `now`.
    pub fn evaluate(&mut self, now: DateTime<Utc>, inputs: &Inputs<'_>) -> Transitions {
        self.prune(now);
        let mut prev = std::mem::take(&mut self.firing);
        let hint = prev.len();
        let mut c = Collect {
            now,
            prev: &mut prev,
            next: FxHashMap::with_capacity_and_hasher(hint, Default::default()),
            fired: Vec::new(),
        };
        for b in inputs.branches {
            branch_down(&mut c, b);
        }
        for o in self.ledger.failed.iter() {
            deploy_failed(&mut c, o);
        }
        if let Some(IntegrityFacts::Checked(fails)) = inputs.integrity {
            for f in fails {
                integrity(&mut c, f);
            }
        }
        self.rejects_alert(&mut c, inputs);
        for f in inputs.costs {
            cost(&mut c, f);
        }
        for o in self.ledger.violations.iter() {
            violation(&mut c, o);
        }
        let default_policy;
        let policy = match inputs.conflict_policy {
            Some(p) => p,
            None => {
                default_policy = ConflictPolicy::default();
                &default_policy
            }
        };
        let timeout = hours(policy.timeout_hours);
        for o in self.ledger.conflicts.iter() {
            if now - o.at > timeout {
                conflict(&mut c, o, policy);
            }
        }
        for s in inputs.sources {
            source_down(&mut c, s);
        }
        for f in inputs.files {
            file_invalid(&mut c, f);
        }
        rhythm(&mut c, &inputs.rhythm);
        if let Some(r) = inputs.custody {
            custody(&mut c, r);
        }

        let Collect {
            next, mut fired, ..
        } = c;
        let mut resolved: Vec<Alert> = prev.into_values().collect();
        self.firing = next;
        let mut firing: Vec<Alert> = self.firing.values().cloned().collect();
        sort_for_view(&mut fired);
        sort_for_view(&mut resolved);
        sort_for_view(&mut firing);
        Transitions {
            fired,
            resolved,
            firing,
        }
    }

    /// Drop ledger-derived items past their age.
    fn prune(&mut self, now: DateTime<Utc>) {
        let failed_cut = now - td(DEPLOY_FAILED_TTL);
        self.ledger.failed.retain(|o| o.at >= failed_cut);
        let ks_cut = now - td(KILL_SWITCH_VIOLATION_TTL);
        self.ledger.violations.retain(|o| o.at >= ks_cut);
    }

    fn rejects_alert(&mut self, c: &mut Collect<'_>, inputs: &Inputs<'_>) {
        let r = &mut self.rejects;
        if let Some(f) = inputs.rejects {
            match r.baseline {
                None => r.baseline = Some(f.count),
                Some(base) => {
                    if f.count < base {
                        // The file was replaced or truncated: start from what is there.
                        r.baseline = Some(f.count);
                    }
                    if f.count > r.count {
                        r.last_growth = Some(c.now);
                    }
                }
            }
            r.count = f.count;
            r.newest_line = f.newest_line.or(r.newest_line);
            if r.last_growth
                .is_some_and(|g| c.now - g >= td(REJECTS_QUIET))
            {
                r.baseline = Some(r.count);
            }
        }
        let Some(base) = r.baseline else {
            return;
        };
        if r.count <= base {
            return;
        }
        let n = r.count - base;
        let mut summary = format!(
            "{} in the ledger",
            plural(n, "new rejected line", "new rejected lines")
        );
        if let Some(l) = r.newest_line {
            summary.push_str(&format!(", newest at line {l}"));
        }
        c.put(
            Alert {
                alertname: AlertName::LedgerRejects,
                severity: Severity::Warning,
                labels: Labels::new(),
                since: c.now,
                summary,
                action: "open the rejects view and fix the writer that produced them; \
                         resolves after an hour without new rejects"
                    .into(),
                target: Target::Rejects {
                    line: r.newest_line,
                },
            },
            r.last_growth,
        );
    }
}

fn hours(h: f64) -> TimeDelta {
    if !h.is_finite() || h < 0.0 {
        return TimeDelta::zero();
    }
    TimeDelta::try_milliseconds((h * 3_600_000.0).min(i64::MAX as f64 / 2.0) as i64)
        .unwrap_or(TimeDelta::MAX)
}

fn branch_down(c: &mut Collect<'_>, b: &BranchFacts) {
    if b.status != HealthStatus::Down {
        return;
    }
    let branch = clean(&b.id);
    let severity = match b.escalation {
        HealthEscalation::RollbackProposed | HealthEscalation::HqAdmin => Severity::Critical,
        HealthEscalation::None | HealthEscalation::Retry => Severity::Warning,
    };
    let mut summary = format!("{branch} is down");
    if b.consecutive_failures > 0 {
        summary.push_str(&format!(
            ": {} in a row",
            plural(
                b.consecutive_failures.into(),
                "failed check",
                "failed checks"
            )
        ));
    }
    if let Some(e) = &b.last_error {
        summary.push_str(" — ");
        summary.push_str(&clean(e));
    }
    let action = match b.escalation {
        HealthEscalation::None | HealthEscalation::Retry => {
            "checks are retrying; open the branch for its last error"
        }
        HealthEscalation::RollbackProposed => {
            "rollback proposed: roll back the branch's latest deploy, or put it in maintenance"
        }
        HealthEscalation::HqAdmin => {
            "escalated to hq_admin: an HQ admin takes over (rollback, maintenance, or the kill switch)"
        }
    };
    c.put(
        Alert {
            alertname: AlertName::BranchDown,
            severity,
            labels: labels([("branch", &b.id)]),
            since: c.now,
            summary,
            action: action.into(),
            target: Target::Branch { id: branch },
        },
        b.down_since,
    );
}

fn deploy_failed(c: &mut Collect<'_>, o: &Open) {
    let (branch, id) = (clean(&o.branch), clean(&o.id));
    let mut summary = format!("deploy {id} failed on {branch}");
    if let Some(ch) = &o.note {
        summary.push_str(&format!(" (change {})", clean(ch)));
    }
    c.put(
        Alert {
            alertname: AlertName::DeployFailed,
            severity: Severity::Warning,
            labels: labels([("branch", &o.branch), ("id", &o.id)]),
            since: o.at,
            summary,
            action: "roll back from this entry, or fix and redeploy; clears on the branch's \
                     next successful deploy or rollback"
                .into(),
            target: Target::Ledger {
                line: o.line,
                id: Some(id),
            },
        },
        Some(o.at),
    );
}

fn integrity(c: &mut Collect<'_>, f: &super::IntegrityFailure) {
    let detail = clean(&f.detail);
    let summary = match f.check {
        IntegrityCheck::Chain => format!(
            "ledger chain broken ({}): {detail}",
            plural(f.count, "line", "lines")
        ),
        IntegrityCheck::Signature => format!(
            "bad ledger signatures ({}): {detail}",
            plural(f.count, "line", "lines")
        ),
        IntegrityCheck::Checkpoint => format!(
            "checkpoints no longer match the ledger ({}): {detail}",
            plural(f.count, "checkpoint", "checkpoints")
        ),
        IntegrityCheck::Witness => {
            format!("the ledger no longer holds a checkpoint this machine verified: {detail}")
        }
    };
    c.put(
        Alert {
            alertname: AlertName::LedgerIntegrity,
            severity: Severity::Critical,
            labels: labels([("check", f.check.as_str())]),
            since: c.now,
            summary,
            action: "run `lumen ledger verify`; treat the ledger as tampered with until this \
                     is explained"
                .into(),
            target: Target::Ledger {
                line: f.line,
                id: None,
            },
        },
        None,
    );
}

fn cost(c: &mut Collect<'_>, f: &CostFacts) {
    let (severity, action) = match f.escalation {
        Escalation::None => return,
        Escalation::Throttle => (
            Severity::Info,
            "over the monthly limit: LLM use is throttled; raise the tier or cut usage",
        ),
        Escalation::Notify => (
            Severity::Warning,
            "tell the branch owner; raise the tier or cut usage",
        ),
        Escalation::Suspend => (
            Severity::Critical,
            "suspend the branch's LLM use until next month, or raise its limit",
        ),
    };
    let branch = clean(&f.branch);
    let pct = if f.ratio.is_finite() {
        format!("{:.0} %", f.ratio * 100.0)
    } else {
        "over 100 %".into()
    };
    c.put(
        Alert {
            alertname: AlertName::CostOverLimit,
            severity,
            labels: labels([("branch", &f.branch)]),
            since: c.now,
            summary: format!(
                "{branch} at {pct} of its monthly token limit ({})",
                f.escalation.as_str()
            ),
            action: action.into(),
            target: Target::Branch { id: branch },
        },
        None,
    );
}

fn violation(c: &mut Collect<'_>, o: &Open) {
    let (branch, id) = (clean(&o.branch), clean(&o.id));
    let on = o
        .activated
        .map(|t| format!(" (on since {})", t.format("%Y-%m-%d %H:%M:%SZ")))
        .unwrap_or_default();
    c.put(
        Alert {
            alertname: AlertName::KillSwitchViolation,
            severity: Severity::Critical,
            labels: labels([("branch", &o.branch), ("id", &o.id)]),
            since: o.at,
            summary: format!("deploy {id} on {branch} while the kill switch was on{on}"),
            action: "find what deployed and stop it; roll back if needed (the kill switch \
                     halts automated deploys)"
                .into(),
            target: Target::Ledger {
                line: o.line,
                id: Some(id),
            },
        },
        Some(o.at),
    );
}

fn conflict(c: &mut Collect<'_>, o: &Open, p: &ConflictPolicy) {
    let (branch, id) = (clean(&o.branch), clean(&o.id));
    let limit = if p.timeout_hours.fract() == 0.0 {
        format!("{:.0} h", p.timeout_hours)
    } else {
        format!("{} h", p.timeout_hours)
    };
    c.put(
        Alert {
            alertname: AlertName::ConflictUnresolved,
            severity: Severity::Warning,
            labels: labels([("branch", &o.branch), ("id", &o.id)]),
            since: o.at,
            summary: format!("conflict {id} on {branch} open past the {limit} limit"),
            action: format!(
                "escalated to {}: settle it and record `conflict_resolved` with target {id}",
                clean(&p.escalate_to)
            ),
            target: Target::Ledger {
                line: o.line,
                id: Some(id),
            },
        },
        Some(o.at),
    );
}

/// Custody and trust-chain problems (docs/custody.md), one alert per kind, labelled
/// `problem`: a revoked, expired or expiring signer certificate, a chain that does
/// not verify, a root fingerprint that differs from the manifest or the last seal
/// audit, a broken seal, an overdue quarterly audit.
fn custody(c: &mut Collect<'_>, r: &crate::domain::hq::custody::CustodyReport) {
    use crate::domain::hq::custody::{EXPIRY_WARN_DAYS, paths};
    let date = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let put = |c: &mut Collect<'_>,
               problem: &str,
               sev: Severity,
               summary: String,
               action: &str,
               file: &str| {
        c.put(
            Alert {
                alertname: AlertName::CustodyProblem,
                severity: sev,
                labels: labels([("problem", problem)]),
                since: c.now,
                summary: clean(&summary),
                action: action.into(),
                target: Target::File {
                    path: file.into(),
                    line: 1,
                    column: 1,
                },
            },
            None,
        );
    };
    let serial = r.signer.serial.as_deref().map(clean).unwrap_or_default();
    if r.signer.revoked {
        put(
            c,
            "signer_revoked",
            Severity::Critical,
            format!("signer certificate serial {serial} is revoked by the CRL"),
            "stop signing with it; issue a new signer certificate from the root (signer reissue \
             ceremony) and re-sign what it signed since the revocation",
            paths::CRL,
        );
    }
    if let (Some(end), Some(days)) = (r.signer.not_after, r.signer.days_left) {
        if end < c.now {
            put(
                c,
                "signer_expired",
                Severity::Critical,
                format!(
                    "signer certificate serial {serial} expired on {}",
                    date(end)
                ),
                "issue a new signer certificate from the root (signer reissue ceremony); nothing \
             signed now verifies",
                paths::SIGNER_CERT,
            );
        } else if days < EXPIRY_WARN_DAYS {
            put(
                c,
                "signer_expiring",
                if days < 7 {
                    Severity::Critical
                } else {
                    Severity::Warning
                },
                format!(
                    "signer certificate serial {serial} expires in {days} days ({})",
                    date(end)
                ),
                "schedule the signer reissue ceremony before it expires (root custodians and a \
             witness)",
                paths::SIGNER_CERT,
            );
        }
    }
    if r.signer.serial.is_some() && r.root.fingerprint.is_some() && !r.signer.chain_ok {
        put(
            c,
            "signer_chain",
            Severity::Critical,
            format!("signer certificate serial {serial} does not verify against the root"),
            "do not trust what it signs; find who replaced controls/keys/current/signer_cert.pem \
             and reissue from the root",
            paths::SIGNER_CERT,
        );
    }
    let audit_mismatch = r.audits.last.as_ref().is_some_and(|l| !l.fingerprint_match);
    if r.root.fingerprint.is_some()
        && (r.root.manifest_fingerprint.is_some() && !r.root.manifest_match || audit_mismatch)
    {
        let what = if r.root.manifest_fingerprint.is_some() && !r.root.manifest_match {
            "chain_manifest.json"
        } else {
            "the last seal audit"
        };
        put(
            c,
            "root_fingerprint",
            Severity::Critical,
            format!("the root certificate's fingerprint differs from {what}"),
            "treat as a possible root compromise: stop signing, compare with the sealed ceremony \
             record and run the root compromise procedure",
            paths::ROOT_CERT,
        );
    }
    if let Some(l) = r.audits.last.as_ref().filter(|l| !l.seal_ok) {
        put(
            c,
            "seal_broken",
            Severity::Critical,
            format!("the seal audit of {} found the seal broken", date(l.ts_utc)),
            "treat as a possible root compromise: secure the key material and run the root \
             compromise procedure",
            paths::RECORDS,
        );
    }
    if r.audits.overdue {
        let summary = match (&r.audits.last, r.audits.next_due) {
            (Some(l), Some(due)) => format!(
                "quarterly seal audit overdue: the last was {} ({} days ago), due {}",
                date(l.ts_utc),
                r.audits.days_since.unwrap_or(0),
                date(due)
            ),
            (None, Some(due)) => format!(
                "quarterly seal audit overdue: none since the initial ceremony, due {}",
                date(due)
            ),
            _ => "no quarterly seal audit is recorded".to_string(),
        };
        put(
            c,
            "audit_overdue",
            Severity::Warning,
            summary,
            "hold the seal audit with two auditors and record it as \
             custody/records/quarterly_audit_YYYYQ.json",
            paths::RECORDS,
        );
    }
}

fn source_down(c: &mut Collect<'_>, s: &SourceFacts) {
    let Some(since) = s.failing_since else {
        return;
    };
    let interval = s.interval.max(Duration::from_secs(1));
    let grace = td(interval.saturating_mul(SOURCE_DOWN_FACTOR));
    if c.now - since <= grace {
        return;
    }
    let name = clean(&s.name);
    let mut summary = format!("{name} is failing");
    if let Some(e) = &s.error {
        summary.push_str(": ");
        summary.push_str(&clean(e));
    }
    c.put(
        Alert {
            alertname: AlertName::SourceDown,
            severity: Severity::Warning,
            labels: labels([("source", &s.name)]),
            since: c.now,
            summary,
            action: "check that it runs and is reachable; what it feeds is stale meanwhile".into(),
            target: Target::Source { name },
        },
        Some(since),
    );
}

/// Files whose failure stops safety actions or notifications themselves.
fn critical_file(path: &str) -> bool {
    use crate::domain::hq::paths;
    [
        paths::BRANCHES,
        paths::DECISION_ENGINE,
        paths::POLICY,
        paths::KEYS,
        paths::NOTIFY_RULES,
        paths::CHANNELS,
    ]
    .iter()
    .any(|p| path == *p || path.ends_with(&format!("/{p}")))
}

fn file_invalid(c: &mut Collect<'_>, f: &FileError) {
    let raw_path = f.path.to_string_lossy();
    let path = clean(&raw_path);
    let severity = if critical_file(&raw_path) {
        Severity::Critical
    } else {
        Severity::Warning
    };
    c.put(
        Alert {
            alertname: AlertName::FileInvalid,
            severity,
            labels: labels([("path", &raw_path)]),
            since: c.now,
            summary: format!("{path}:{}:{}: {}", f.line, f.column, clean(&f.message)),
            action: "fix the file; actions that depend on it are refused until it loads".into(),
            target: Target::File {
                path,
                line: f.line,
                column: f.column,
            },
        },
        None,
    );
}

/// Index of a gauge in `GaugePoint::values`.
const CREATIVE: usize = 2;
const RISK: usize = 3;

/// Has gauge `idx` been past its threshold (`breach`) at every point of the last
/// [`RHYTHM_HOLD`], with fresh data? Returns the newest value and the oldest
/// breaching point looked at. Walks back at most one hold's worth of points.
fn held(
    r: &RhythmFacts<'_>,
    idx: usize,
    now: DateTime<Utc>,
    breach: impl Fn(f64) -> bool,
) -> Option<(f64, f64)> {
    let mut it = r.newest_first();
    let newest = it.next()?;
    let v = *newest.values.get(idx)?;
    if secs(now) - newest.t > RHYTHM_STALE.as_secs_f64() || !breach(v) {
        return None;
    }
    let hold = RHYTHM_HOLD.as_secs_f64();
    for p in it {
        if !p.values.get(idx).is_some_and(|x| breach(*x)) {
            return None;
        }
        if newest.t - p.t >= hold {
            return Some((v, p.t));
        }
    }
    None
}

fn rhythm(c: &mut Collect<'_>, r: &RhythmFacts<'_>) {
    if let Some(max) = r.risk_band_max.filter(|m| m.is_finite())
        && let Some((v, start)) = held(r, RISK, c.now, |x| x > max)
    {
        rhythm_alert(
            c,
            "risk_band",
            format!("risk_band {v:.2} above its max {max:.2} for over a minute"),
            start,
        );
    }
    if let Some(min) = r.creative_band_min.filter(|m| m.is_finite())
        && let Some((v, start)) = held(r, CREATIVE, c.now, |x| x < min)
    {
        rhythm_alert(
            c,
            "creative_band",
            format!("creative_band {v:.2} below its min {min:.2} for over a minute"),
            start,
        );
    }
}

fn rhythm_alert(c: &mut Collect<'_>, gauge: &str, summary: String, start: f64) {
    c.put(
        Alert {
            alertname: AlertName::RhythmThreshold,
            severity: Severity::Warning,
            labels: labels([("gauge", gauge)]),
            since: c.now,
            summary,
            action: "look at the rhythm map; roll back the newest rule change if it caused this"
                .into(),
            target: Target::Rhythm {
                gauge: gauge.into(),
            },
        },
        from_secs(start),
    );
}
