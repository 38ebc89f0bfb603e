//! The demo world's ledger: branch catalogue, the live event generator (unsigned lines
//! as external workers write them, docs/ledger.md) and the deterministic historic ledger that
//! `assets` writes when it scaffolds the demo HQ.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use chrono::{DateTime, Datelike, Duration, Local, SecondsFormat, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};

use crate::domain::hq::{CostPolicy, Registry, Tier, paths};

/// The demo branch whose health endpoint flaps (up 10 s, down 10 s).
pub const FLAPPING: &str = "parksy";
/// The demo branch whose health endpoint answers after ~1.5 s.
pub const SLOW: &str = "buckley";
/// The demo branch whose health endpoint is down (503).
pub const DOWN: &str = "seedling";
/// The demo branch driven over its monthly token limit.
pub const OVER_LIMIT: &str = "orbit";
/// The demo branch driven near its monthly token limit.
pub const NEAR_LIMIT: &str = "dtsmusic";

/// One branch as the generator sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchInfo {
    pub id: String,
    /// Sync tier name (`canary`, `standard`, …); `standard` when not set.
    pub tier: String,
    /// Rate per token of the branch's cost tier (docs/formats.md "Cost tier").
    pub rate: f64,
    pub maintenance: bool,
}

/// The branches in sync order (papafly, koosy, then by tier).
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    pub branches: Vec<BranchInfo>,
}

fn tier_rank(t: &str) -> u8 {
    match t {
        "canary" => 0,
        "standard" => 1,
        "premium" => 2,
        "incubation" => 3,
        _ => 4,
    }
}

impl Catalog {
    /// Build from parsed registry and (optional) cost policy.
    pub fn new(registry: &Registry, cost: Option<&CostPolicy>) -> Catalog {
        let rate_of =
            |name: &str| -> Option<f64> { cost.and_then(|c| c.tiers.get(name)).map(|t| t.rate) };
        let mut branches: Vec<(usize, BranchInfo)> = registry
            .branches
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let tier = b.tier.map(Tier::as_str).unwrap_or("standard").to_string();
                let rate = b
                    .billing_tier
                    .as_deref()
                    .and_then(rate_of)
                    .or_else(|| rate_of(&tier))
                    .or_else(|| rate_of("standard"))
                    .unwrap_or(0.000018);
                (
                    i,
                    BranchInfo {
                        id: b.id.clone(),
                        tier,
                        rate,
                        maintenance: b.maintenance_mode,
                    },
                )
            })
            .collect();
        let pin = |id: &str| match id {
            "papafly" => 0u8,
            "koosy" => 1,
            _ => 2,
        };
        branches.sort_by_key(|(i, b)| (pin(&b.id), tier_rank(&b.tier), *i));
        Catalog {
            branches: branches.into_iter().map(|(_, b)| b).collect(),
        }
    }

    /// Read `branches.json`, `cost-policy.json` and the decision engine's maintenance
    /// map from an HQ root.
    pub fn load(root: &Path) -> anyhow::Result<Catalog> {
        let path = root.join(paths::BRANCHES);
        let bytes = std::fs::read(&path).with_context(|| format!("{}", path.display()))?;
        let registry: Registry = serde_json::from_slice(&bytes)
            .with_context(|| format!("{}: not a valid registry", path.display()))?;
        let cost_path = root.join(paths::COST_POLICY);
        let cost: Option<CostPolicy> = std::fs::read(&cost_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let mut cat = Catalog::new(&registry, cost.as_ref());
        let de_path = root.join(paths::DECISION_ENGINE);
        if let Some(Value::Object(m)) = std::fs::read(&de_path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.get("maintenanceMode").cloned())
        {
            for b in &mut cat.branches {
                if m.get(&b.id).and_then(Value::as_bool) == Some(true) {
                    b.maintenance = true;
                }
            }
        }
        Ok(cat)
    }

    fn get(&self, id: &str) -> Option<&BranchInfo> {
        self.branches.iter().find(|b| b.id == id)
    }
}

/// RFC 3339, UTC, whole seconds (the shape of docs/ledger.md's examples).
pub fn ts_secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// Ledger ids `TXN-YYYYMMDD-HHMMSS-N`: unique as long as one writer numbers the
/// entries of one second (the history ends before the live generator starts).
#[derive(Debug, Default)]
pub struct IdMaker {
    last_sec: i64,
    n: u32,
}

impl IdMaker {
    pub fn next(&mut self, t: DateTime<Utc>) -> String {
        let s = t.timestamp();
        if s == self.last_sec {
            self.n += 1;
        } else {
            self.last_sec = s;
            self.n = 1;
        }
        format!("TXN-{}-{}", t.format("%Y%m%d-%H%M%S"), self.n)
    }
}

/// What kind of run an event counts as on the exporter's pipeline counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    None,
    Success(&'static str),
    Failed(&'static str),
}

/// One generated ledger event, before it gets an id and a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub branch: String,
    pub event: &'static str,
    /// Further members, in order, after `id`, `branch`, `event`.
    pub fields: Vec<(&'static str, Value)>,
    pub run: RunOutcome,
}

impl Event {
    /// The automation's deploy lines, which the kill switch halts.
    pub fn is_deploy(&self) -> bool {
        matches!(self.event, "deploy" | "deploy_test" | "deploy_failed")
    }

    fn new(branch: &str, event: &'static str) -> Event {
        Event {
            branch: branch.to_string(),
            event,
            fields: Vec::new(),
            run: RunOutcome::None,
        }
    }
    fn with(mut self, k: &'static str, v: impl Into<Value>) -> Event {
        self.fields.push((k, v.into()));
        self
    }
    fn run(mut self, r: RunOutcome) -> Event {
        self.run = r;
        self
    }

    /// The ledger line (no `\n`): `id`, `branch`, `event`, fields…, `timestamp`.
    pub fn to_line(&self, id: &str, t: DateTime<Utc>) -> String {
        let mut m = Map::new();
        m.insert("id".into(), id.into());
        m.insert("branch".into(), self.branch.clone().into());
        m.insert("event".into(), self.event.into());
        for (k, v) in &self.fields {
            m.insert((*k).into(), v.clone());
        }
        m.insert("timestamp".into(), ts_secs(t).into());
        Value::Object(m).to_string()
    }
}

/// A change being synced canary-first through the branches.
#[derive(Debug, Clone)]
struct Rollout {
    change: String,
    /// Index into the catalogue of the next branch to deploy.
    next: usize,
    tested: bool,
}

/// The live event generator: deterministic sequence of events for a seed.
#[derive(Debug)]
pub struct EventGen {
    rng: StdRng,
    catalog: Catalog,
    rollout: Option<Rollout>,
    /// The kill switch is on: no deploys (the rollout waits).
    halted: bool,
}

impl EventGen {
    pub fn new(seed: u64, catalog: Catalog) -> EventGen {
        EventGen {
            rng: StdRng::seed_from_u64(seed ^ 0x5eed_1ed6_e700_0001),
            catalog,
            rollout: None,
            halted: false,
        }
    }

    /// While halted (kill switch on), the automation writes no `deploy`,
    /// `deploy_test` or `deploy_failed`: those draws become `llm_generate` lines and
    /// the current rollout resumes where it stopped once released.
    pub fn set_halted(&mut self, halted: bool) {
        self.halted = halted;
    }

    fn pick_branch(&mut self) -> Option<BranchInfo> {
        let n = self.catalog.branches.len();
        if n == 0 {
            return None;
        }
        let i = self.rng.random_range(0..n);
        self.catalog.branches.get(i).cloned()
    }

    fn llm(&mut self, b: &BranchInfo, tokens: u64) -> Event {
        let mut e = Event::new(&b.id, "llm_generate").with("tokens", tokens);
        // One in ten leaves the cost out: readers compute tokens × rate (docs/ledger.md).
        if self.rng.random_range(0..10) != 0 {
            e = e.with("cost", round4(tokens as f64 * b.rate));
        }
        let model = ["claude", "gpt", "local-llm"][self.rng.random_range(0..3)];
        e.with("model", model)
            .with("actor", "llm")
            .run(RunOutcome::Success("llm"))
    }

    /// The next event of the live stream.
    pub fn next_event(&mut self) -> Option<Event> {
        let roll = self.rng.random_range(0..100);
        let b = self.pick_branch()?;
        if self.halted && matches!(roll, 45..80 | 92..96) {
            let tokens = self.rng.random_range(200..2500);
            return Some(self.llm(&b, tokens));
        }
        Some(match roll {
            0..45 => {
                let tokens = self.rng.random_range(200..2500);
                self.llm(&b, tokens)
            }
            45..80 => return self.rollout_step(),
            80..86 => Event::new(&b.id, "pr_opened")
                .with("status", "open")
                .with("actor", "ci")
                .with("pr", self.rng.random_range(100..999)),
            86..92 => {
                let id = if self.rng.random_bool(0.5) {
                    DOWN
                } else {
                    FLAPPING
                };
                let id = self.catalog.get(id).map_or(b.id.clone(), |x| x.id.clone());
                Event::new(&id, "health_fail")
                    .with("status", "failed")
                    .with("actor", "health-check")
                    .run(RunOutcome::Failed("health"))
            }
            92..96 => Event::new(&b.id, "deploy_test")
                .with("status", "ok")
                .with("actor", "hq")
                .run(RunOutcome::Success("test")),
            _ => match self.catalog.get(OVER_LIMIT).cloned() {
                Some(o) if self.rng.random_bool(0.3) => Event::new(&o.id, "cost_limit_exceeded")
                    .with("status", "throttled")
                    .with("actor", "billing"),
                _ => {
                    let tokens = self.rng.random_range(200..2500);
                    self.llm(&b, tokens)
                }
            },
        })
    }

    /// Advance the current canary-first rollout by one step (or start a new one).
    fn rollout_step(&mut self) -> Option<Event> {
        let mut r = match self.rollout.take() {
            Some(r) => r,
            None => Rollout {
                change: format!("chg-{:06x}", self.rng.random_range(0..0xff_ffff)),
                next: 0,
                tested: false,
            },
        };
        let b = self.catalog.branches.get(r.next)?.clone();
        if !r.tested {
            r.tested = true;
            let e = Event::new(&b.id, "deploy_test")
                .with("status", "ok")
                .with("change", r.change.clone())
                .with("actor", "hq")
                .run(RunOutcome::Success("test"));
            self.rollout = Some(r);
            return Some(e);
        }
        // Branches in maintenance are skipped by the sync engine.
        if b.maintenance {
            r.next += 1;
            if r.next < self.catalog.branches.len() {
                self.rollout = Some(r);
            }
            return self.rollout_step_or_llm(b);
        }
        let fail = r.next > 0 && self.rng.random_range(0..100) < 6;
        let e = if fail {
            // onFailure: halt — the rollout stops here.
            Event::new(&b.id, "deploy_failed")
                .with("status", "failed")
                .with("change", r.change.clone())
                .with("tier", b.tier.clone())
                .with("actor", "ci")
                .run(RunOutcome::Failed("deploy"))
        } else {
            r.next += 1;
            let e = Event::new(&b.id, "deploy")
                .with("status", "success")
                .with("change", r.change.clone())
                .with("tier", b.tier.clone())
                .with("actor", "hq-sync")
                .run(RunOutcome::Success("deploy"));
            if r.next < self.catalog.branches.len() {
                self.rollout = Some(r);
            }
            e
        };
        Some(e)
    }

    fn rollout_step_or_llm(&mut self, b: BranchInfo) -> Option<Event> {
        if self.rollout.is_some() {
            self.rollout_step()
        } else {
            let tokens = self.rng.random_range(200..2500);
            Some(self.llm(&b, tokens))
        }
    }
}

/// Start of the current month, as late as the UTC and the local calendar agree on,
/// so that "this month" is non-empty in either.
fn month_floor(now: DateTime<Utc>) -> DateTime<Utc> {
    let utc = Utc
        .with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now);
    let local_now = now.with_timezone(&Local);
    let local = Local
        .with_ymd_and_hms(local_now.year(), local_now.month(), 1, 0, 0, 0)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now);
    utc.max(local)
}

/// A random instant in `[from, to]` (`to` when the range is empty).
fn between(rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_milliseconds();
    if span <= 0 {
        return to;
    }
    from + Duration::milliseconds(rng.random_range(0..=span))
}

/// The historic ledger: a few hundred entries over the three days before `now`,
/// ending at `now`. Deterministic for `(seed, now)`. Lines without `\n`.
pub fn history(seed: u64, now: DateTime<Utc>, catalog: &Catalog) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x4157_0000_0000_0042);
    let start = now - Duration::days(3);
    // (time, event, key of the deploy a rollback targets)
    let mut evs: Vec<(DateTime<Utc>, Event, Option<usize>)> = Vec::new();
    let order: Vec<BranchInfo> = catalog.branches.clone();
    if order.is_empty() {
        return Vec::new();
    }
    let pick = |rng: &mut StdRng| order[rng.random_range(0..order.len())].clone();

    // Canary-first rollouts of 9 changes; the last completes ~2 minutes before now.
    let n_changes = 9;
    for c in 0..n_changes {
        let change = format!("chg-{:06x}", rng.random_range(0..0xff_ffffu32));
        let mut t = if c + 1 == n_changes {
            now - Duration::minutes(14)
        } else {
            let slot = (now - start - Duration::minutes(30)) / n_changes;
            start + slot * c + Duration::minutes(rng.random_range(0..60))
        };
        let first = &order[0];
        evs.push((
            t,
            Event::new(&first.id, "deploy_test")
                .with("status", "ok")
                .with("change", change.clone())
                .with("actor", "hq"),
            None,
        ));
        let mut deployed_at_canary = None;
        for (i, b) in order.iter().enumerate() {
            t += Duration::seconds(rng.random_range(20..60));
            if b.maintenance {
                continue;
            }
            // Changes 3 and 8 fail on their way out; the sync halts there.
            if (c == 2 && i == 3) || (c == 7 && i + 3 == order.len()) {
                evs.push((
                    t,
                    Event::new(&b.id, "deploy_failed")
                        .with("status", "failed")
                        .with("change", change.clone())
                        .with("tier", b.tier.clone())
                        .with("actor", "ci"),
                    None,
                ));
                break;
            }
            let key = evs.len();
            evs.push((
                t,
                Event::new(&b.id, "deploy")
                    .with("status", "success")
                    .with("change", change.clone())
                    .with("tier", b.tier.clone())
                    .with("actor", "hq-sync"),
                None,
            ));
            if i == 0 {
                deployed_at_canary = Some(key);
            }
            // Change 6 breaks after the third branch: health fails, ops roll back.
            if c == 5 && i == 2 {
                if let Some(target) = deployed_at_canary {
                    t += Duration::seconds(40);
                    evs.push((
                        t,
                        Event::new(&b.id, "health_fail")
                            .with("status", "failed")
                            .with("actor", "health-check"),
                        None,
                    ));
                    t += Duration::seconds(90);
                    let affected: Vec<Value> =
                        order[..=i].iter().map(|x| x.id.clone().into()).collect();
                    evs.push((
                        t,
                        Event::new(&order[0].id, "rollback_requested")
                            .with("status", "requested")
                            .with("branches", affected)
                            .with("actor", "hq-sync"),
                        Some(target),
                    ));
                    for x in order[..=i].iter().rev() {
                        t += Duration::seconds(rng.random_range(2..6));
                        let ms = rng.random_range(900..2400);
                        evs.push((
                            t,
                            Event::new(&x.id, "rollback")
                                .with("status", "success")
                                .with("exit_code", 0)
                                .with("duration_ms", ms)
                                .with("actor", "hq-sync"),
                            Some(target),
                        ));
                    }
                }
                break;
            }
        }
    }

    // Custodians rehearsed a ceremony at the start of the window (the rhythm pane's
    // custody score counts days since the last rehearsal).
    evs.push((
        start + Duration::hours(3),
        Event::new("hq", "ceremony_rehearsal")
            .with("status", "passed")
            .with("actor", "custodian-a")
            .with("scenario", "initial-root-setup")
            .with(
                "participants",
                vec![
                    serde_json::json!({"name": "Ana", "role": "ceremony_administrator"}),
                    serde_json::json!({"name": "Bo", "role": "crypto_officer"}),
                    serde_json::json!({"name": "Cy", "role": "crypto_officer"}),
                    serde_json::json!({"name": "Di", "role": "internal_witness"}),
                ],
            )
            .with("score", 92)
            .with("max", 100)
            .with("passed", true),
        None,
    ));

    let llm = |rng: &mut StdRng, b: &BranchInfo, tokens: u64, t: DateTime<Utc>| {
        let mut e = Event::new(&b.id, "llm_generate").with("tokens", tokens);
        if rng.random_range(0..10) != 0 {
            e = e.with("cost", round4(tokens as f64 * b.rate));
        }
        let model = ["claude", "gpt", "local-llm"][rng.random_range(0..3)];
        (t, e.with("model", model).with("actor", "llm"), None)
    };
    // Everyday LLM traffic, denser towards now.
    for _ in 0..170 {
        let u: f64 = rng.random_range(0.0..1.0);
        let t = start
            + Duration::milliseconds(
                ((now - start).num_milliseconds() as f64 * u.powf(0.6)) as i64,
            );
        let b = pick(&mut rng);
        let tokens = rng.random_range(300..6000);
        evs.push(llm(
            &mut rng,
            &b,
            tokens,
            t.min(now - Duration::seconds(50)),
        ));
    }
    // This month's heavy users: one over its limit, one close to it.
    let floor = month_floor(now).max(start);
    let late = (now - Duration::seconds(60)).max(floor);
    if let Some(b) = catalog.get(OVER_LIMIT).cloned() {
        // 6 × ~35 k alone exceed the 200 k limit, even on the 1st of the month.
        for _ in 0..6 {
            let t = between(&mut rng, floor, late);
            let tokens = rng.random_range(34_500..35_500);
            evs.push(llm(&mut rng, &b, tokens, t));
        }
        evs.push((
            late,
            Event::new(&b.id, "cost_limit_exceeded")
                .with("status", "throttled")
                .with("actor", "billing"),
            None,
        ));
    }
    if let Some(b) = catalog.get(NEAR_LIMIT).cloned() {
        // ~84 % from these alone; everyday traffic adds up to ~5 %.
        for _ in 0..8 {
            let t = between(&mut rng, floor, late);
            let tokens = rng.random_range(100_000..110_000);
            evs.push(llm(&mut rng, &b, tokens, t));
        }
    }
    // The last minute: a burst that makes "today" never empty.
    for _ in 0..15 {
        let t = between(
            &mut rng,
            now - Duration::seconds(45),
            now - Duration::seconds(1),
        );
        let b = pick(&mut rng);
        let tokens = rng.random_range(300..3000);
        evs.push(llm(&mut rng, &b, tokens, t));
    }
    for _ in 0..20 {
        let t = between(&mut rng, start, now - Duration::seconds(50));
        let b = pick(&mut rng);
        evs.push((
            t,
            Event::new(&b.id, "pr_opened")
                .with("status", "open")
                .with("actor", "ci")
                .with("pr", rng.random_range(100..999)),
            None,
        ));
    }
    for (id, n) in [(DOWN, 8), (FLAPPING, 5)] {
        if let Some(b) = catalog.get(id) {
            for _ in 0..n {
                let t = between(&mut rng, start, now - Duration::seconds(50));
                evs.push((
                    t,
                    Event::new(&b.id, "health_fail")
                        .with("status", "failed")
                        .with("actor", "health-check"),
                    None,
                ));
            }
        }
    }

    // Number in time order; rollbacks name their target's id.
    let mut idx: Vec<usize> = (0..evs.len()).collect();
    idx.sort_by_key(|&i| (evs[i].0, i));
    let mut ids = IdMaker::default();
    let mut id_of: BTreeMap<usize, String> = BTreeMap::new();
    for &i in &idx {
        id_of.insert(i, ids.next(evs[i].0));
    }
    idx.iter()
        .filter_map(|&i| {
            let (t, e, target) = &evs[i];
            let id = id_of.get(&i)?;
            let mut e = e.clone();
            if let Some(target) = target.and_then(|k| id_of.get(&k)) {
                e.fields.insert(0, ("target", target.clone().into()));
            }
            Some(e.to_line(id, *t))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        let reg: Registry =
            serde_json::from_str(crate::sim::assets::BRANCHES_TEMPLATE).expect("template parses");
        let cost: CostPolicy =
            serde_json::from_str(crate::sim::assets::COST_POLICY).expect("cost parses");
        Catalog::new(&reg, Some(&cost))
    }

    #[test]
    fn sync_order_is_canary_first() {
        let c = catalog();
        let ids: Vec<_> = c.branches.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(&ids[..2], &["papafly", "koosy"]);
        let last_std = ids
            .iter()
            .rposition(|i| c.get(i).map(|b| b.tier.as_str()) == Some("standard"));
        let first_inc = ids
            .iter()
            .position(|i| c.get(i).map(|b| b.tier.as_str()) == Some("incubation"));
        assert!(last_std < first_inc);
    }

    #[test]
    fn history_is_valid_ordered_and_ends_now() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 1, 0, 2, 0)
            .single()
            .expect("date");
        let lines = history(5, now, &catalog());
        assert!((250..500).contains(&lines.len()), "{} lines", lines.len());
        let mut prev = None;
        let mut ids = std::collections::HashSet::new();
        let mut this_month = 0;
        let mut orbit_tokens = 0;
        for l in &lines {
            let e = crate::domain::ledger::parse_line(l.as_bytes()).expect("valid line");
            assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
            assert!(e.timestamp <= now);
            if let Some(p) = prev {
                assert!(e.timestamp >= p);
            }
            prev = Some(e.timestamp);
            if e.timestamp.month() == 3 {
                this_month += 1;
                if e.branch == OVER_LIMIT {
                    orbit_tokens += e.tokens.unwrap_or(0);
                }
            }
        }
        assert!(this_month >= 15, "{this_month} entries this month");
        assert!(orbit_tokens > 200_000, "orbit over its limit on the 1st");
        let last = prev.expect("non-empty");
        assert!(now - last.with_timezone(&Utc) < Duration::seconds(60));
        assert_eq!(history(5, now, &catalog()), lines, "deterministic");
    }

    /// The kill switch halts the automation: no deploy line while halted, the
    /// rollout resumes after, and other traffic goes on.
    #[test]
    fn no_deploys_while_halted_and_the_rollout_resumes() {
        let mut g = EventGen::new(9, catalog());
        let deploys = |g: &mut EventGen, n: usize| {
            let evs: Vec<Event> = (0..n).filter_map(|_| g.next_event()).collect();
            assert_eq!(evs.len(), n);
            evs.iter().filter(|e| e.is_deploy()).count()
        };
        assert!(deploys(&mut g, 300) > 50, "deploys flow normally");
        let paused = g.rollout.as_ref().map(|r| (r.change.clone(), r.next));
        g.set_halted(true);
        assert_eq!(
            deploys(&mut g, 2000),
            0,
            "a deploy while the kill switch is on"
        );
        assert_eq!(
            g.rollout.as_ref().map(|r| (r.change.clone(), r.next)),
            paused,
            "the rollout waits"
        );
        g.set_halted(false);
        assert!(deploys(&mut g, 300) > 50, "deploys resume");
    }

    #[test]
    fn live_events_are_deterministic() {
        let mut a = EventGen::new(3, catalog());
        let mut b = EventGen::new(3, catalog());
        for _ in 0..500 {
            assert_eq!(a.next_event(), b.next_event());
        }
    }
}
