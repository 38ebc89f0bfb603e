//! `lumen billing --month YYYY-MM [--out DIR]` (issue 5, `lumen --help` and docs/formats.md "Cost tier"): the
//! monthly billing export. One streaming pass over `hq/ledger/ledger.jsonl`; each entry
//! whose timestamp falls in the month (in UTC) is costed with
//! [`CostBook::entry_cost`] (its `cost`, else `tokens × rate` of the docs/formats.md tier) and
//! added to its branch. Writes `<out>/billing/YYYY-MM/<branch>.json` for every branch
//! of the registry and every branch with entries that month, and
//! `<out>/billing/YYYY-MM/summary.csv`. The output depends only on the ledger and the
//! registry files (no run timestamp, sorted keys, entries summed in file order), so a
//! re-run over the same inputs writes the same bytes. Format: `docs/billing.md`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use chrono::{Datelike, Utc};
use serde::Serialize;

use crate::cli::{BillingArgs, GlobalArgs};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::cost::{CostBook, Escalation, branch_cost_tier};
use crate::domain::hq::{CostPolicy, HqSnapshot, paths, valid_branch_id};
use crate::domain::ledger::parse_line;
use crate::domain::sanitize::sanitize;

/// A month to bill, parsed from `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    /// Strictly `YYYY-MM` (four-digit year, two-digit month 01–12).
    pub fn parse(s: &str) -> Result<Month, String> {
        let bad = || format!("--month {:?}: expected YYYY-MM, e.g. 2026-01", sanitize(s));
        let b = s.as_bytes();
        if b.len() != 7 || b.get(4) != Some(&b'-') {
            return Err(bad());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if !part.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let year = digits(0..4).ok_or_else(bad)?;
        let month = digits(5..7).ok_or_else(bad)?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month {
            year: i32::try_from(year).map_err(|_| bad())?,
            month,
        })
    }

    pub fn label(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// Totals of one event kind within a branch's month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventTotals {
    pub cost: f64,
    pub entries: u64,
    pub tokens: u64,
}

/// Totals of one UTC day within a branch's month.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayTotals {
    pub cost: f64,
    pub entries: u64,
    pub tokens: u64,
}

/// `<branch>.json`. Fields are declared in alphabetical order and maps are sorted, so
/// the JSON keys come out sorted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchBill {
    pub branch: String,
    pub by_day: BTreeMap<String, DayTotals>,
    pub by_event: BTreeMap<String, EventTotals>,
    pub cost: f64,
    pub entries: u64,
    /// Entries whose rate fell back to `standard` because nothing named a cost tier.
    pub fallback_rate_entries: u64,
    /// `tokens ÷ limit`, `null` without a limit.
    pub limit_ratio: Option<f64>,
    pub month: String,
    pub monthly_token_limit: Option<u64>,
    /// Not in the registry (seen only in the ledger).
    pub registered: bool,
    /// Escalation at month end: none / throttle / notify / suspend.
    pub state: Escalation,
    /// The cost tier whose limit applies to the branch.
    pub tier: String,
    pub tokens: u64,
}

/// What one export computed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Billing {
    pub month: String,
    pub branches: Vec<BranchBill>,
    /// Ledger lines that are rejects (docs/ledger.md): skipped.
    pub rejects: u64,
    /// Entries of the month.
    pub entries: u64,
    pub tokens: u64,
    pub cost: f64,
    /// The ledger ends with an unterminated line (not counted).
    pub pending: bool,
}

/// Compute the bill of `month` from an HQ snapshot and the ledger bytes read from
/// `ledger` (line by line; nothing else is kept in memory).
pub fn compute(
    hq: &HqSnapshot,
    ledger: Option<&mut dyn BufRead>,
    month: Month,
) -> std::io::Result<Billing> {
    let branches = hq
        .registry
        .as_ref()
        .map(|r| r.branches.clone())
        .unwrap_or_default();
    let policy: Option<CostPolicy> = hq.cost_policy.clone();
    let book = CostBook::new(policy.clone(), &branches);
    let mut bills: BTreeMap<String, BranchBill> = BTreeMap::new();
    let new_bill = |id: &str, registered: bool| BranchBill {
        branch: id.to_string(),
        by_day: BTreeMap::new(),
        by_event: BTreeMap::new(),
        cost: 0.0,
        entries: 0,
        fallback_rate_entries: 0,
        limit_ratio: None,
        month: month.label(),
        monthly_token_limit: None,
        registered,
        state: Escalation::None,
        tier: String::new(),
        tokens: 0,
    };
    for b in &branches {
        bills.insert(b.id.clone(), new_bill(&b.id, true));
    }
    let mut out = Billing {
        month: month.label(),
        branches: Vec::new(),
        rejects: 0,
        entries: 0,
        tokens: 0,
        cost: 0.0,
        pending: false,
    };
    if let Some(reader) = ledger {
        let mut line = Vec::with_capacity(1024);
        loop {
            line.clear();
            // A line over the 1 MiB limit is a reject (parse_line checks the length).
            let n = reader.read_until(b'\n', &mut line)?;
            if n == 0 {
                break;
            }
            if line.last() != Some(&b'\n') {
                // Pending last line: not an entry until it is terminated (docs/formats.md).
                out.pending = true;
                break;
            }
            line.pop();
            if line.is_empty() {
                continue;
            }
            let e = match parse_line(&line) {
                Ok(e) => e,
                Err(_) => {
                    out.rejects += 1;
                    continue;
                }
            };
            let t = e.timestamp.with_timezone(&Utc);
            if t.year() != month.year || t.month() != month.month {
                continue;
            }
            let (cost, fallback) = book.entry_cost(&e);
            let tokens = e.tokens.unwrap_or(0);
            let bill = bills
                .entry(e.branch.clone())
                .or_insert_with(|| new_bill(&e.branch, false));
            bill.entries += 1;
            bill.tokens = bill.tokens.saturating_add(tokens);
            bill.cost += cost;
            if fallback {
                bill.fallback_rate_entries += 1;
            }
            let ev = bill.by_event.entry(e.event.clone()).or_default();
            ev.entries += 1;
            ev.tokens = ev.tokens.saturating_add(tokens);
            ev.cost += cost;
            let day = bill
                .by_day
                .entry(t.date_naive().format("%Y-%m-%d").to_string())
                .or_default();
            day.entries += 1;
            day.tokens = day.tokens.saturating_add(tokens);
            day.cost += cost;
            out.entries += 1;
            out.tokens = out.tokens.saturating_add(tokens);
            out.cost += cost;
        }
    }
    let by_id: BTreeMap<&str, _> = branches.iter().map(|b| (b.id.as_str(), b)).collect();
    out.cost = round8(out.cost);
    for (id, mut bill) in bills {
        bill.cost = round8(bill.cost);
        for d in bill.by_day.values_mut() {
            d.cost = round8(d.cost);
        }
        for e in bill.by_event.values_mut() {
            e.cost = round8(e.cost);
        }
        match &policy {
            Some(p) => {
                let (tier, _) = branch_cost_tier(by_id.get(id.as_str()).copied(), p);
                let limit = p.tiers.get(&tier).map(|t| t.monthly_token_limit);
                bill.limit_ratio = limit
                    .filter(|l| *l > 0)
                    .map(|l| bill.tokens as f64 / l as f64);
                bill.state = bill.limit_ratio.map_or(Escalation::None, |r| {
                    Escalation::from_ratio(r, &p.escalation)
                });
                bill.monthly_token_limit = limit;
                bill.tier = tier;
            }
            None => bill.tier = "standard".into(),
        }
        out.branches.push(bill);
    }
    Ok(out)
}

/// Round to 8 decimals (10⁻⁸ currency units, finer than any tier rate's product with
/// one token): printed as the shortest round-trip decimal, a rounded value reads as a
/// plain fixed-point number (`0.789235`, not `0.7892349999999999`). −0 becomes 0.
pub fn round8(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    let r = (x * 1e8).round() / 1e8;
    if r == 0.0 { 0.0 } else { r }
}

/// A float for the CSV: Rust's shortest round-trip decimal (never exponent notation),
/// so the same value always prints the same way.
fn num(x: f64) -> String {
    if x.is_finite() {
        format!("{x}")
    } else {
        String::new()
    }
}

/// Quote a CSV field when it needs it (RFC 4180); ledger branch ids are outside data.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `summary.csv`: a header, one row per branch (sorted by id), a `TOTAL` row and a
/// `REJECTED` row whose `entries` column is the number of reject lines skipped.
pub fn summary_csv(b: &Billing) -> String {
    let mut s = String::from(
        "branch,registered,tier,monthly_token_limit,entries,tokens,cost,limit_ratio,state\n",
    );
    for r in &b.branches {
        s.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            csv_field(&r.branch),
            r.registered,
            csv_field(&r.tier),
            r.monthly_token_limit
                .map_or(String::new(), |l| l.to_string()),
            r.entries,
            r.tokens,
            num(r.cost),
            r.limit_ratio.map_or(String::new(), num),
            r.state.as_str()
        ));
    }
    s.push_str(&format!(
        "TOTAL,,,,{},{},{},,\n",
        b.entries,
        b.tokens,
        num(b.cost)
    ));
    s.push_str(&format!("REJECTED,,,,{},,,,\n", b.rejects));
    s
}

/// Write `bytes` to `path` atomically (temp file in the same directory, then rename).
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Write the export under `out`; returns the directory written and the branches whose
/// id is not a valid file name (their totals are in the summary, no JSON file).
pub fn write(b: &Billing, out: &Path) -> anyhow::Result<(PathBuf, Vec<String>)> {
    use anyhow::Context;
    let dir = out.join("billing").join(&b.month);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut skipped = Vec::new();
    for r in &b.branches {
        // The id names a file: only registry-shaped ids (`^[a-z0-9-]+$`) may.
        if !valid_branch_id(&r.branch) {
            skipped.push(r.branch.clone());
            continue;
        }
        let mut json = serde_json::to_string_pretty(r)?;
        json.push('\n');
        write_atomic(&dir.join(format!("{}.json", r.branch)), json.as_bytes())?;
    }
    write_atomic(&dir.join("summary.csv"), summary_csv(b).as_bytes())?;
    Ok((dir, skipped))
}

#[derive(Serialize)]
struct Report<'a> {
    month: &'a str,
    dir: String,
    branches: usize,
    entries: u64,
    rejects: u64,
    tokens: u64,
    cost: f64,
}

/// `lumen billing --month YYYY-MM [--out DIR]` (HQ root from `--hq` / config).
pub fn run_billing(args: &BillingArgs, g: &GlobalArgs) -> CmdResult {
    let month = Month::parse(&args.month).map_err(CmdError::Usage)?;
    let cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let root = cfg.hq_root;
    let hq = crate::sources::registry::load_snapshot(&root)
        .map_err(|e| CmdError::Usage(sanitize(&e.to_string()).into_owned()))?;
    if hq.cost_policy.is_none() {
        errln!(
            "lumen billing: warning: {} is missing or invalid; entries without `cost` bill 0",
            paths::COST_POLICY
        );
    }
    let ledger_path = root.join(paths::LEDGER);
    let billing = match crate::store::fsutil::open_regular(&ledger_path) {
        Ok(f) => {
            let mut r = BufReader::with_capacity(1 << 20, f);
            compute(&hq, Some(&mut r), month)
                .map_err(|e| anyhow::anyhow!("{}: {e}", ledger_path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            errln!(
                "lumen billing: warning: {} not found; billing an empty ledger",
                ledger_path.display()
            );
            compute(&hq, None, month)?
        }
        Err(e) => {
            return Err(CmdError::Io(anyhow::anyhow!(
                "{}: cannot read: {e}",
                ledger_path.display()
            )));
        }
    };
    let out = args.out.clone().unwrap_or_else(|| root.clone());
    let (dir, skipped) = write(&billing, &out)?;
    for id in &skipped {
        errln!(
            "lumen billing: warning: branch id {:?} is not a valid file name; only in summary.csv",
            sanitize(id)
        );
    }
    if g.json {
        print_json(&Report {
            month: &billing.month,
            dir: dir.display().to_string(),
            branches: billing.branches.len(),
            entries: billing.entries,
            rejects: billing.rejects,
            tokens: billing.tokens,
            cost: billing.cost,
        })?;
    } else {
        outln!(
            "billed {}: {} branches, {} entries, {} tokens, cost {} ({} reject lines skipped) → {}",
            billing.month,
            billing.branches.len(),
            billing.entries,
            billing.tokens,
            num(billing.cost),
            billing.rejects,
            dir.display()
        );
    }
    Ok(Outcome::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_parsing_is_strict() {
        assert_eq!(
            Month::parse("2026-02"),
            Ok(Month {
                year: 2026,
                month: 2
            })
        );
        for bad in [
            "2026-13",
            "2026-00",
            "2026-2",
            "26-02",
            "2026/02",
            "２０２６-02",
            "",
            "2026-02-01",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Month::parse("0999-12").map(Month::label),
            Ok("0999-12".into())
        );
    }

    #[test]
    fn csv_quotes_outside_ids() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("koosy"), "koosy");
    }

    #[test]
    fn rounding_is_fixed_point() {
        assert_eq!(num(round8(0.789_234_999_999_999_9)), "0.789235");
        assert_eq!(num(round8(32.012_153_000_000_03)), "32.012153");
        assert_eq!(num(round8(-0.000_000_001)), "0");
        assert_eq!(num(round8(1e-9 * 6.0)), "0.00000001");
    }
}
