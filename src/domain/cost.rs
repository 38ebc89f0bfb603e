//! Cost attribution (docs/formats.md "Cost tier", §5 cost meter). Pure: a [`CostBook`]
//! ingests ledger entries one at a time (no rescans) and answers questions for an
//! injected `now`. All calendar maths is in UTC: timestamps with offsets are converted
//! first, so an entry at `2026-03-01T01:00:00+09:00` belongs to February.
//!
//! Formulas (per branch):
//! - burn rate = cost (tokens) in the 24 h before `now` ÷ 24 → per hour; resolution is
//!   one minute (entries are bucketed by UTC minute);
//! - projected month-end = month-to-date + burn/h × hours left until the next UTC month
//!   starts (same for tokens);
//! - % of limit = month-to-date tokens ÷ the cost tier's `monthlyTokenLimit`;
//! - escalation: ≥ `suspend` → suspend, ≥ `notify` → notify, ≥ `throttle` → throttle;
//! - "will exceed" = not yet at `throttle`, but projected tokens reach it this month.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use serde::Serialize;

use crate::domain::hq::{Branch, CostEscalation, CostPolicy, Tier};
use crate::domain::ledger::Entry;

/// A resolved rate for one entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedRate {
    /// The cost tier whose rate applies.
    pub tier: String,
    pub rate: f64,
    /// True when nothing named a cost tier and `standard` was used (doctor warns).
    pub fallback: bool,
}

/// The docs/formats.md cost-tier rule, on plain names, in one place (the cost meter, billing
/// and `ledger stats` all come here): the entry's own `tier` when it names a cost tier;
/// else the branch's `billingTier` when it names one; else the branch's `tier` when it
/// names one; else `standard` (fallback = true). `is_cost_tier` says what names one.
pub fn cost_tier_of<'a>(
    entry_tier: Option<&'a str>,
    billing_tier: Option<&'a str>,
    branch_tier: Option<&'a str>,
    is_cost_tier: impl Fn(&str) -> bool,
) -> (&'a str, bool) {
    [entry_tier, billing_tier, branch_tier]
        .into_iter()
        .flatten()
        .find(|t| is_cost_tier(t))
        .map_or(("standard", true), |t| (t, false))
}

/// The cost tier of a branch (for its limit): `billingTier`, else its `tier` when
/// that names a cost tier, else `standard` (fallback = true).
pub fn branch_cost_tier(branch: Option<&Branch>, policy: &CostPolicy) -> (String, bool) {
    let (t, fallback) = cost_tier_of(
        None,
        branch.and_then(|b| b.billing_tier.as_deref()),
        branch.and_then(|b| b.tier).map(|t| t.as_str()),
        |t| policy.tiers.contains_key(t),
    );
    (t.to_string(), fallback)
}

/// docs/formats.md: the entry's own `tier` when it names a cost tier; else the branch's
/// `billingTier`; else the branch's `tier` if it is a cost tier; else `standard`.
/// `None` when even `standard` is not in the policy.
pub fn resolve_rate(
    entry_tier: Option<&str>,
    branch: Option<&Branch>,
    policy: &CostPolicy,
) -> Option<ResolvedRate> {
    let (tier, fallback) = cost_tier_of(
        entry_tier,
        branch.and_then(|b| b.billing_tier.as_deref()),
        branch.and_then(|b| b.tier).map(|t| t.as_str()),
        |t| policy.tiers.contains_key(t),
    );
    policy.tiers.get(tier).map(|t| ResolvedRate {
        tier: tier.to_string(),
        rate: t.rate,
        fallback,
    })
}

/// Escalation level of a branch's month-to-date usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Escalation {
    None,
    Throttle,
    Notify,
    Suspend,
}

impl Escalation {
    pub fn from_ratio(ratio: f64, e: &CostEscalation) -> Escalation {
        if ratio >= e.suspend {
            Escalation::Suspend
        } else if ratio >= e.notify {
            Escalation::Notify
        } else if ratio >= e.throttle {
            Escalation::Throttle
        } else {
            Escalation::None
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Escalation::None => "none",
            Escalation::Throttle => "throttle",
            Escalation::Notify => "notify",
            Escalation::Suspend => "suspend",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Agg {
    tokens: u64,
    cost: f64,
    failures: u32,
}

impl Agg {
    fn add(&mut self, o: &Agg) {
        self.tokens = self.tokens.saturating_add(o.tokens);
        self.cost += o.cost;
        self.failures = self.failures.saturating_add(o.failures);
    }
}

#[derive(Debug, Clone, Default)]
struct BranchBook {
    /// (year, month) → totals.
    months: BTreeMap<(i32, u32), Agg>,
    days: BTreeMap<NaiveDate, Agg>,
    /// UTC minute (unix seconds / 60) → totals; pruned to the last ~25 h.
    minutes: BTreeMap<i64, Agg>,
    /// Entries whose rate fell back to `standard`.
    fallback_entries: u64,
}

/// Everything the cost pane shows for one branch at `now`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchCost {
    pub branch: String,
    pub cost_tier: String,
    /// The branch's cost tier was not named anywhere: `standard` is assumed.
    pub tier_fallback: bool,
    pub limit_tokens: Option<u64>,
    pub mtd_tokens: u64,
    pub mtd_cost: f64,
    pub today_cost: f64,
    pub today_tokens: u64,
    pub burn_cost_per_hour: f64,
    pub burn_tokens_per_hour: f64,
    pub projected_cost: f64,
    pub projected_tokens: f64,
    /// Month-to-date tokens ÷ limit (1.0 = 100 %).
    pub limit_ratio: Option<f64>,
    pub escalation: Escalation,
    pub will_exceed: bool,
    /// `deploy_failed` + `health_fail` entries in the 24 h before `now`.
    pub failures_24h: u32,
    pub fallback_entries: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HqTotals {
    pub today_cost: f64,
    pub mtd_cost: f64,
    pub mtd_tokens: u64,
    pub projected_cost: f64,
}

/// Incremental per-branch cost ledger.
#[derive(Debug, Clone)]
pub struct CostBook {
    policy: Option<CostPolicy>,
    branches: HashMap<String, Branch>,
    books: HashMap<String, BranchBook>,
    /// Minute buckets before this minute have been dropped (see `prune`).
    pruned_before: i64,
    /// Newest entry minute seen, for pruning as the ledger advances.
    max_minute: i64,
    /// `max_minute` at the last automatic prune.
    auto_pruned_at: i64,
    entries: u64,
}

impl Default for CostBook {
    fn default() -> Self {
        CostBook::new(None, &[])
    }
}

fn utc(e: &Entry) -> DateTime<Utc> {
    e.timestamp.with_timezone(&Utc)
}

/// First instant of the month after `now`'s (UTC).
pub fn next_month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    let (y, m) = if now.month() == 12 {
        (now.year() + 1, 1)
    } else {
        (now.year(), now.month() + 1)
    };
    Utc.with_ymd_and_hms(y, m, 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// Hours left in `now`'s UTC month.
pub fn hours_left_in_month(now: DateTime<Utc>) -> f64 {
    let secs = (next_month_start(now) - now).num_milliseconds() as f64 / 1000.0;
    (secs / 3600.0).max(0.0)
}

const DAY_MINUTES: i64 = 24 * 60;

impl CostBook {
    pub fn new(policy: Option<CostPolicy>, branches: &[Branch]) -> Self {
        CostBook {
            policy,
            branches: branches.iter().map(|b| (b.id.clone(), b.clone())).collect(),
            books: HashMap::new(),
            pruned_before: i64::MIN,
            max_minute: i64::MIN,
            auto_pruned_at: i64::MIN,
            entries: 0,
        }
    }

    /// Replace the registry / policy (e.g. after a reload). Costs already ingested
    /// keep the rate they were computed with.
    pub fn set_context(&mut self, policy: Option<CostPolicy>, branches: &[Branch]) {
        self.policy = policy;
        self.branches = branches.iter().map(|b| (b.id.clone(), b.clone())).collect();
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The cost of one entry: its `cost`, else `tokens × rate` (docs/ledger.md and docs/formats.md).
    /// Returns (cost, used the `standard` fallback).
    pub fn entry_cost(&self, e: &Entry) -> (f64, bool) {
        if let Some(c) = e.cost.filter(|c| c.is_finite()) {
            return (c, false);
        }
        let Some(tokens) = e.tokens else {
            return (0.0, false);
        };
        let Some(policy) = &self.policy else {
            return (0.0, false);
        };
        match resolve_rate(e.tier.as_deref(), self.branches.get(&e.branch), policy) {
            Some(r) => (tokens as f64 * r.rate, r.fallback),
            None => (0.0, true),
        }
    }

    /// Add one ledger entry. O(log n); never rescans.
    pub fn ingest(&mut self, e: &Entry) {
        let (cost, fallback) = self.entry_cost(e);
        let t = utc(e);
        let failed = matches!(e.event.as_str(), "deploy_failed" | "health_fail");
        let agg = Agg {
            tokens: e.tokens.unwrap_or(0),
            cost,
            failures: u32::from(failed),
        };
        self.entries += 1;
        // get_mut first: no key allocation for a branch already seen (the common case).
        if !self.books.contains_key(&e.branch) {
            self.books.insert(e.branch.clone(), BranchBook::default());
        }
        let Some(book) = self.books.get_mut(&e.branch) else {
            return;
        };
        if fallback {
            book.fallback_entries += 1;
        }
        book.months
            .entry((t.year(), t.month()))
            .or_default()
            .add(&agg);
        book.days.entry(t.date_naive()).or_default().add(&agg);
        let minute = t.timestamp().div_euclid(60);
        if minute >= self.pruned_before {
            book.minutes.entry(minute).or_default().add(&agg);
        }
        // Keep memory bounded without a caller: once the ledger is an hour further,
        // drop buckets two days behind its newest entry (no window ending at or after
        // that entry can need them; 24 h of slack covers writers with skewed clocks).
        if minute > self.max_minute {
            self.max_minute = minute;
            if self.max_minute.saturating_sub(self.auto_pruned_at) >= 60 {
                self.auto_pruned_at = self.max_minute;
                self.prune_minutes(minute - 2 * DAY_MINUTES);
            }
        }
    }

    /// Drop minute buckets older than 25 h before `now` (memory bound).
    pub fn prune(&mut self, now: DateTime<Utc>) {
        self.prune_minutes(now.timestamp().div_euclid(60) - DAY_MINUTES - 60);
    }

    fn prune_minutes(&mut self, cut: i64) {
        if cut <= self.pruned_before {
            return;
        }
        self.pruned_before = cut;
        for b in self.books.values_mut() {
            b.minutes = b.minutes.split_off(&cut);
        }
    }

    fn window(book: &BranchBook, now: DateTime<Utc>) -> Agg {
        let end = now.timestamp().div_euclid(60);
        let mut sum = Agg::default();
        for (_, a) in book.minutes.range(end - DAY_MINUTES + 1..=end) {
            sum.add(a);
        }
        sum
    }

    /// Branch ids with ledger activity, plus every registry branch.
    pub fn branch_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .books
            .keys()
            .chain(self.branches.keys())
            .cloned()
            .collect();
        ids.sort();
        ids.dedup();
        ids
    }

    pub fn branch(&self, id: &str, now: DateTime<Utc>) -> BranchCost {
        let empty = BranchBook::default();
        let book = self.books.get(id).unwrap_or(&empty);
        let month = book
            .months
            .get(&(now.year(), now.month()))
            .copied()
            .unwrap_or_default();
        let today = book
            .days
            .get(&now.date_naive())
            .copied()
            .unwrap_or_default();
        let w = Self::window(book, now);
        let burn_cost = w.cost / 24.0;
        let burn_tokens = w.tokens as f64 / 24.0;
        let left = hours_left_in_month(now);
        let projected_cost = month.cost + burn_cost * left;
        let projected_tokens = month.tokens as f64 + burn_tokens * left;
        let (cost_tier, tier_fallback, limit, esc) = match &self.policy {
            Some(p) => {
                let (t, fb) = branch_cost_tier(self.branches.get(id), p);
                let limit = p.tiers.get(&t).map(|x| x.monthly_token_limit);
                (t, fb, limit, p.escalation.clone())
            }
            None => (
                "standard".to_string(),
                true,
                None,
                CostEscalation::default(),
            ),
        };
        let limit_ratio = limit
            .filter(|l| *l > 0)
            .map(|l| month.tokens as f64 / l as f64);
        let escalation = limit_ratio.map_or(Escalation::None, |r| Escalation::from_ratio(r, &esc));
        let will_exceed = match limit.filter(|l| *l > 0) {
            Some(l) => {
                escalation == Escalation::None && projected_tokens / l as f64 >= esc.throttle
            }
            None => false,
        };
        BranchCost {
            branch: id.to_string(),
            cost_tier,
            tier_fallback,
            limit_tokens: limit,
            mtd_tokens: month.tokens,
            mtd_cost: month.cost,
            today_cost: today.cost,
            today_tokens: today.tokens,
            burn_cost_per_hour: burn_cost,
            burn_tokens_per_hour: burn_tokens,
            projected_cost,
            projected_tokens,
            limit_ratio,
            escalation,
            will_exceed,
            failures_24h: w.failures,
            fallback_entries: book.fallback_entries,
        }
    }

    /// Every branch (registry and ledger), by id.
    pub fn all(&self, now: DateTime<Utc>) -> Vec<BranchCost> {
        self.branch_ids()
            .iter()
            .map(|id| self.branch(id, now))
            .collect()
    }

    pub fn totals(&self, now: DateTime<Utc>) -> HqTotals {
        let mut t = HqTotals {
            today_cost: 0.0,
            mtd_cost: 0.0,
            mtd_tokens: 0,
            projected_cost: 0.0,
        };
        for b in self.all(now) {
            t.today_cost += b.today_cost;
            t.mtd_cost += b.mtd_cost;
            t.mtd_tokens = t.mtd_tokens.saturating_add(b.mtd_tokens);
            t.projected_cost += b.projected_cost;
        }
        t
    }

    /// The `n` branches with the highest month-to-date cost (ties by id).
    pub fn top_spenders(&self, now: DateTime<Utc>, n: usize) -> Vec<BranchCost> {
        let mut all = self.all(now);
        all.sort_by(|a, b| {
            b.mtd_cost
                .total_cmp(&a.mtd_cost)
                .then_with(|| a.branch.cmp(&b.branch))
        });
        all.truncate(n);
        all
    }

    /// Per-day totals of a branch within a UTC month (for billing).
    pub fn days_of_month(&self, id: &str, year: i32, month: u32) -> Vec<(NaiveDate, u64, f64)> {
        let Some(b) = self.books.get(id) else {
            return Vec::new();
        };
        b.days
            .iter()
            .filter(|(d, _)| d.year() == year && d.month() == month)
            .map(|(d, a)| (*d, a.tokens, a.cost))
            .collect()
    }
}

/// Whether a registry tier is also a cost tier name in `policy`.
pub fn is_cost_tier(t: Tier, policy: &CostPolicy) -> bool {
    policy.tiers.contains_key(t.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hq::{CostTier, Visibility};

    #[test]
    fn cost_tier_rule_on_names() {
        let is = |t: &str| matches!(t, "standard" | "premium" | "incubation");
        // The entry's own tier wins when it is a cost tier.
        assert_eq!(
            cost_tier_of(Some("premium"), Some("incubation"), None, is),
            ("premium", false)
        );
        // Not a cost tier: fall through to billingTier, then the branch tier.
        assert_eq!(
            cost_tier_of(Some("canary"), Some("incubation"), None, is),
            ("incubation", false)
        );
        assert_eq!(
            cost_tier_of(None, Some("gold"), Some("premium"), is),
            ("premium", false)
        );
        // Nothing names one: standard, flagged as a fallback.
        assert_eq!(
            cost_tier_of(None, None, Some("canary"), is),
            ("standard", true)
        );
    }

    fn policy() -> CostPolicy {
        let mut tiers = BTreeMap::new();
        for (n, l, r) in [
            ("incubation", 200_000, 0.00002),
            ("standard", 1_000_000, 0.000018),
            ("premium", 5_000_000, 0.000015),
        ] {
            tiers.insert(
                n.to_string(),
                CostTier {
                    monthly_token_limit: l,
                    rate: r,
                },
            );
        }
        CostPolicy {
            tiers,
            escalation: CostEscalation::default(),
        }
    }

    fn branch(id: &str, tier: Option<Tier>, billing: Option<&str>) -> Branch {
        Branch {
            id: id.into(),
            repo: format!("x/{id}"),
            domain: format!("{id}.example"),
            visibility: Visibility::Public,
            hq_protocol_version: None,
            tier,
            billing_tier: billing.map(str::to_owned),
            owner: None,
            maintenance_mode: false,
            health: None,
        }
    }

    fn entry(branch: &str, ts: &str, tokens: Option<u64>, cost: Option<f64>) -> Entry {
        entry_ev(branch, "llm_generate", ts, tokens, cost)
    }

    fn entry_ev(branch: &str, ev: &str, ts: &str, tokens: Option<u64>, cost: Option<f64>) -> Entry {
        Entry {
            id: "TXN".into(),
            branch: branch.into(),
            event: ev.into(),
            timestamp: DateTime::parse_from_rfc3339(ts).unwrap(),
            status: None,
            actor: None,
            tokens,
            cost,
            tier: None,
            target: None,
            change: None,
            chained: false,
            signed: false,
            line: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn rate_resolution_order() {
        let p = policy();
        let canary = branch("papafly", Some(Tier::Canary), None);
        let r = resolve_rate(None, Some(&canary), &p).unwrap();
        assert_eq!((r.tier.as_str(), r.fallback), ("standard", true));
        let r = resolve_rate(Some("premium"), Some(&canary), &p).unwrap();
        assert_eq!((r.tier.as_str(), r.fallback), ("premium", false));
        let billed = branch("b", Some(Tier::Canary), Some("incubation"));
        let r = resolve_rate(Some("canary"), Some(&billed), &p).unwrap();
        assert_eq!((r.tier.as_str(), r.rate), ("incubation", 0.00002));
        let prem = branch("c", Some(Tier::Premium), None);
        let r = resolve_rate(None, Some(&prem), &p).unwrap();
        assert_eq!((r.tier.as_str(), r.fallback), ("premium", false));
        let r = resolve_rate(None, None, &p).unwrap();
        assert!(r.fallback);
    }

    #[test]
    fn missing_cost_is_tokens_times_rate() {
        let p = policy();
        let mut book = CostBook::new(Some(p), &[branch("k", Some(Tier::Incubation), None)]);
        book.ingest(&entry("k", "2026-01-18T01:00:00Z", Some(1000), None));
        book.ingest(&entry("k", "2026-01-18T02:00:00Z", Some(10), Some(0.5)));
        let b = book.branch("k", at("2026-01-18T03:00:00Z"));
        assert!((b.mtd_cost - (1000.0 * 0.00002 + 0.5)).abs() < 1e-12);
        assert_eq!(b.mtd_tokens, 1010);
        assert_eq!(b.fallback_entries, 0);
    }

    #[test]
    fn time_zone_offsets_are_converted_to_utc_for_month_boundaries() {
        let mut book = CostBook::new(Some(policy()), &[]);
        // 2026-03-01 01:00 +09:00 is 2026-02-28 16:00 UTC: February.
        book.ingest(&entry(
            "k",
            "2026-03-01T01:00:00+09:00",
            Some(100),
            Some(1.0),
        ));
        // 2026-02-28 20:00 -05:00 is 2026-03-01 01:00 UTC: March.
        book.ingest(&entry(
            "k",
            "2026-02-28T20:00:00-05:00",
            Some(100),
            Some(2.0),
        ));
        let feb = book.branch("k", at("2026-02-28T23:59:59Z"));
        assert_eq!(feb.mtd_cost, 1.0);
        let mar = book.branch("k", at("2026-03-01T02:00:00Z"));
        assert_eq!(mar.mtd_cost, 2.0);
        assert_eq!(mar.today_cost, 2.0);
    }

    #[test]
    fn month_rollover_resets_mtd() {
        let mut book = CostBook::new(Some(policy()), &[]);
        book.ingest(&entry("k", "2026-01-31T23:00:00Z", Some(500), Some(5.0)));
        let jan = book.branch("k", at("2026-01-31T23:30:00Z"));
        assert_eq!(jan.mtd_tokens, 500);
        let feb = book.branch("k", at("2026-02-01T00:30:00Z"));
        assert_eq!(feb.mtd_tokens, 0);
        assert_eq!(feb.mtd_cost, 0.0);
        // ...but the last 24 h still burns.
        assert!((feb.burn_cost_per_hour - 5.0 / 24.0).abs() < 1e-12);
    }

    #[test]
    fn leap_year_hours_left_and_projection() {
        // 2028 is a leap year: Feb 29 exists, 24 h left at its start.
        let now = at("2028-02-29T00:00:00Z");
        assert_eq!(hours_left_in_month(now), 24.0);
        assert_eq!(hours_left_in_month(at("2027-02-28T00:00:00Z")), 24.0);
        assert_eq!(hours_left_in_month(at("2026-12-31T12:00:00Z")), 12.0);
        let mut book = CostBook::new(Some(policy()), &[]);
        book.ingest(&entry("k", "2028-02-28T12:00:00Z", Some(2400), Some(24.0)));
        let b = book.branch("k", now);
        assert!((b.burn_cost_per_hour - 1.0).abs() < 1e-12);
        assert!((b.projected_cost - (24.0 + 24.0)).abs() < 1e-9);
        assert!((b.projected_tokens - (2400.0 + 100.0 * 24.0)).abs() < 1e-9);
    }

    #[test]
    fn burn_window_is_last_24h() {
        let mut book = CostBook::new(Some(policy()), &[]);
        book.ingest(&entry("k", "2026-05-10T11:00:00Z", Some(0), Some(100.0)));
        book.ingest(&entry("k", "2026-05-10T13:00:00Z", Some(0), Some(24.0)));
        let b = book.branch("k", at("2026-05-11T12:00:00Z"));
        assert!((b.burn_cost_per_hour - 1.0).abs() < 1e-12, "{b:?}");
        book.prune(at("2026-05-11T12:00:00Z"));
        let b2 = book.branch("k", at("2026-05-11T12:00:00Z"));
        assert_eq!(b.burn_cost_per_hour, b2.burn_cost_per_hour);
    }

    #[test]
    fn minute_buckets_stay_bounded_without_prune_calls() {
        let mut book = CostBook::new(Some(policy()), &[]);
        let start = at("2026-07-01T00:00:00Z");
        // one entry every 10 minutes for 10 days
        for i in 0..(10 * 24 * 6) {
            let t = start + chrono::Duration::minutes(10 * i);
            book.ingest(&entry("k", &t.to_rfc3339(), Some(10), Some(1.0)));
        }
        let buckets = book.books["k"].minutes.len();
        assert!(buckets <= 3 * 24 * 6, "{buckets} minute buckets kept");
        let now = start + chrono::Duration::minutes(10 * (10 * 24 * 6 - 1));
        let b = book.branch("k", now);
        assert!(
            (b.burn_cost_per_hour - 6.0).abs() < 1e-9,
            "{}",
            b.burn_cost_per_hour
        );
        assert_eq!(b.mtd_tokens, 10 * 24 * 6 * 10);
    }

    #[test]
    fn escalation_levels_and_early_warning() {
        let mut book = CostBook::new(Some(policy()), &[branch("i", Some(Tier::Incubation), None)]);
        let now = at("2026-04-15T00:00:00Z");
        // 150_000 of 200_000 tokens, in the last 24 h: projected far over.
        book.ingest(&entry("i", "2026-04-14T12:00:00Z", Some(150_000), None));
        let b = book.branch("i", now);
        assert_eq!(b.escalation, Escalation::None);
        assert!(b.will_exceed);
        assert_eq!(b.limit_ratio, Some(0.75));
        book.ingest(&entry("i", "2026-04-14T13:00:00Z", Some(50_000), None));
        assert_eq!(book.branch("i", now).escalation, Escalation::Throttle);
        assert!(!book.branch("i", now).will_exceed);
        book.ingest(&entry("i", "2026-04-14T14:00:00Z", Some(40_000), None));
        assert_eq!(book.branch("i", now).escalation, Escalation::Notify);
        book.ingest(&entry("i", "2026-04-14T15:00:00Z", Some(60_000), None));
        assert_eq!(book.branch("i", now).escalation, Escalation::Suspend);
    }

    #[test]
    fn totals_top_spenders_and_failures() {
        let mut book = CostBook::new(Some(policy()), &[branch("idle", None, None)]);
        book.ingest(&entry("a", "2026-06-10T10:00:00Z", Some(1), Some(3.0)));
        book.ingest(&entry("b", "2026-06-10T10:00:00Z", Some(1), Some(7.0)));
        book.ingest(&entry("b", "2026-06-01T10:00:00Z", Some(1), Some(1.0)));
        book.ingest(&entry_ev(
            "a",
            "deploy_failed",
            "2026-06-10T09:00:00Z",
            None,
            None,
        ));
        book.ingest(&entry_ev(
            "a",
            "health_fail",
            "2026-06-09T13:00:00Z",
            None,
            None,
        ));
        book.ingest(&entry_ev(
            "a",
            "health_fail",
            "2026-06-08T11:00:00Z",
            None,
            None,
        ));
        let now = at("2026-06-10T12:00:00Z");
        let t = book.totals(now);
        assert_eq!(t.today_cost, 10.0);
        assert_eq!(t.mtd_cost, 11.0);
        let top = book.top_spenders(now, 2);
        assert_eq!(top[0].branch, "b");
        assert_eq!(top[1].branch, "a");
        assert_eq!(book.branch("a", now).failures_24h, 2);
        assert_eq!(book.all(now).len(), 3);
        assert_eq!(book.branch("idle", now).mtd_cost, 0.0);
    }
}
