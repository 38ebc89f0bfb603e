//! `lumen ledger stats` (SPEC §9): per-branch entries, events, tokens and cost over
//! the whole file, fast. The file is memory-mapped and split at line boundaries into
//! one chunk per core; each chunk is scanned in 256 KiB blocks with the borrowed
//! parser [`StatParser`], which accepts exactly the lines `parse_line` accepts.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ledger::StatParser;

/// Token rates per cost tier and the billing tier of each branch.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    /// tier name → rate per token.
    pub tiers: HashMap<String, f64>,
    /// branch id → (billingTier, tier).
    pub branches: HashMap<String, (Option<String>, Option<String>)>,
}

#[derive(Deserialize)]
struct RawPolicy {
    #[serde(default)]
    tiers: HashMap<String, RawTier>,
}
#[derive(Deserialize)]
struct RawTier {
    #[serde(default)]
    rate: f64,
}
#[derive(Deserialize)]
struct RawBranches {
    #[serde(default)]
    branches: Vec<RawBranch>,
}
#[derive(Deserialize)]
struct RawBranch {
    id: String,
    #[serde(default, rename = "billingTier")]
    billing_tier: Option<String>,
    #[serde(default)]
    tier: Option<String>,
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> anyhow::Result<Option<T>> {
    match crate::fsutil::read_regular(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    }
}

impl Rates {
    /// Read `hq/billing/cost-policy.json` and `hq/registry/branches.json` (only the
    /// fields needed here). Missing files mean no rates: derived costs are 0.
    pub fn load(hq_root: &Path) -> anyhow::Result<Rates> {
        let policy: Option<RawPolicy> = read_json(&hq_root.join("hq/billing/cost-policy.json"))?;
        let branches: Option<RawBranches> = read_json(&hq_root.join("hq/registry/branches.json"))?;
        Ok(Rates {
            tiers: policy
                .map(|p| p.tiers.into_iter().map(|(k, v)| (k, v.rate)).collect())
                .unwrap_or_default(),
            branches: branches
                .map(|b| {
                    b.branches
                        .into_iter()
                        .map(|b| (b.id, (b.billing_tier, b.tier)))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }

    /// The rate of an entry (SPEC §9 "Cost tier", the rule in
    /// [`crate::domain::cost::cost_tier_of`]); 0 when even `standard` has no rate.
    pub fn rate(&self, entry_tier: Option<&str>, branch: &str) -> f64 {
        let (billing, tier) = self
            .branches
            .get(branch)
            .map_or((None, None), |(b, t)| (b.as_deref(), t.as_deref()));
        let (name, _) = crate::domain::cost::cost_tier_of(entry_tier, billing, tier, |t| {
            self.tiers.contains_key(t)
        });
        self.tiers.get(name).copied().unwrap_or(0.0)
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BranchStats {
    pub entries: u64,
    pub events: BTreeMap<String, u64>,
    pub tokens: u64,
    pub cost: f64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub tokens: u64,
    pub cost: f64,
}

/// The SPEC §9 `ledger stats --json` object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// Complete non-empty lines (entries + rejects), the whole file.
    pub lines: u64,
    /// Entries counted (within `--month` when given).
    pub entries: u64,
    pub rejects: u64,
    pub pending: bool,
    pub branches: BTreeMap<String, BranchStats>,
    pub totals: Totals,
}

/// A month filter: entries whose timestamp, in UTC, falls in this year and month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("month must be YYYY-MM, got {s:?}");
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Month { year, month })
    }
}

/// The per-chunk maps: keys are short branch and event names, and SipHash was ~7 % of
/// the scan.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[derive(Default)]
struct ChunkAcc<'a> {
    lines: u64,
    entries: u64,
    rejects: u64,
    branches: FastMap<Cow<'a, str>, Acc<'a>>,
}

#[derive(Default)]
struct Acc<'a> {
    entries: u64,
    events: FastMap<Cow<'a, str>, u64>,
    tokens: u64,
    cost: f64,
}

/// Lines are validated as UTF-8 and parsed a block at a time, so the parse reads
/// bytes still in cache: validating the whole chunk first read it from memory twice.
const BLOCK: usize = 256 * 1024;

fn scan_chunk<'a>(data: &'a [u8], rates: &Rates, month: Option<Month>) -> ChunkAcc<'a> {
    let mut acc = ChunkAcc::default();
    let mut rate_cache: FastMap<&'a str, f64> = FastMap::default();
    let mut parser = StatParser::default();
    let mut rest = data;
    while !rest.is_empty() {
        // A block ends after a `\n` (or is the rest); a line longer than a block makes
        // the block as long as the line.
        let cut = match rest.get(BLOCK..) {
            None => rest.len(),
            Some(after) => match memchr::memrchr(b'\n', rest.get(..BLOCK).unwrap_or_default()) {
                Some(nl) => nl + 1,
                None => memchr::memchr(b'\n', after).map_or(rest.len(), |nl| BLOCK + nl + 1),
            },
        };
        let (block, next) = rest.split_at_checked(cut).unwrap_or((rest, &[]));
        rest = next;
        scan_block(block, rates, month, &mut parser, &mut rate_cache, &mut acc);
    }
    acc
}

fn scan_block<'a>(
    data: &'a [u8],
    rates: &Rates,
    month: Option<Month>,
    parser: &mut StatParser,
    rate_cache: &mut FastMap<&'a str, f64>,
    acc: &mut ChunkAcc<'a>,
) {
    let mut start = 0usize;
    // One SIMD UTF-8 pass over the block; lines cut at `\n` (ASCII) of a valid block
    // are valid too. A block with invalid bytes checks line by line.
    let text = simdutf8::basic::from_utf8(data).ok();
    for nl in memchr::memchr_iter(b'\n', data) {
        let range = start..nl;
        start = nl + 1;
        if range.is_empty() {
            continue;
        }
        acc.lines += 1;
        let parsed = match text.and_then(|t| t.get(range.clone())) {
            Some(line) => parser.parse(line),
            None => parser.parse_bytes(data.get(range).unwrap_or_default()),
        };
        let f = match parsed {
            Ok(f) => f,
            Err(_) => {
                acc.rejects += 1;
                continue;
            }
        };
        if let Some(m) = month {
            let utc = f.timestamp.with_timezone(&Utc);
            if utc.year() != m.year || utc.month() != m.month {
                continue;
            }
        }
        acc.entries += 1;
        let cost = match f.cost {
            Some(c) => c,
            None => {
                let tokens = f.tokens.unwrap_or(0) as f64;
                let rate = match (&f.tier, &f.branch) {
                    (None, Cow::Borrowed(b)) => match rate_cache.get(b) {
                        Some(r) => *r,
                        None => *rate_cache.entry(b).or_insert_with(|| rates.rate(None, b)),
                    },
                    (tier, branch) => rates.rate(tier.as_deref(), branch),
                };
                tokens * rate
            }
        };
        let b = match acc.branches.get_mut(f.branch.as_ref()) {
            Some(b) => b,
            None => acc.branches.entry(f.branch).or_default(),
        };
        b.entries += 1;
        b.tokens = b.tokens.saturating_add(f.tokens.unwrap_or(0));
        b.cost += cost;
        match b.events.get_mut(f.event.as_ref()) {
            Some(n) => *n += 1,
            None => {
                b.events.insert(f.event, 1);
            }
        }
    }
}

/// Stats over an in-memory ledger image (the bytes of the file).
pub fn stats_of(data: &[u8], rates: &Rates, month: Option<Month>, threads: usize) -> Stats {
    // Only complete lines count; a trailing unterminated segment is pending.
    let complete_end = memchr::memrchr(b'\n', data).map(|i| i + 1).unwrap_or(0);
    let pending = complete_end < data.len();
    let body = data.get(..complete_end).unwrap_or_default();
    let chunks = split_chunks(body, threads.max(1));
    let accs: Vec<ChunkAcc<'_>> = if chunks.len() <= 1 {
        chunks.iter().map(|c| scan_chunk(c, rates, month)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|c| s.spawn(move || scan_chunk(c, rates, month)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut out = Stats {
        pending,
        ..Stats::default()
    };
    // Merged in chunk order so the float sums are deterministic.
    for acc in accs {
        out.lines += acc.lines;
        out.entries += acc.entries;
        out.rejects += acc.rejects;
        for (branch, a) in acc.branches {
            let b = out.branches.entry(branch.into_owned()).or_default();
            b.entries += a.entries;
            b.tokens = b.tokens.saturating_add(a.tokens);
            b.cost += a.cost;
            for (ev, n) in a.events {
                *b.events.entry(ev.into_owned()).or_default() += n;
            }
        }
    }
    for b in out.branches.values() {
        out.totals.tokens = out.totals.tokens.saturating_add(b.tokens);
        out.totals.cost += b.cost;
    }
    out
}

/// Split at line boundaries into at most `n` chunks of similar size.
fn split_chunks(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0usize;
    for i in 1..n {
        let target = (data.len() * i / n).max(start);
        let cut = match memchr::memchr(b'\n', data.get(target..).unwrap_or_default()) {
            Some(off) => target + off + 1,
            None => data.len(),
        };
        out.push(data.get(start..cut).unwrap_or_default());
        start = cut;
    }
    out.push(data.get(start..).unwrap_or_default());
    out.retain(|c| !c.is_empty());
    out
}

/// Stats over the ledger file at `path` (memory-mapped). A missing file is empty.
pub fn stats_file(path: &Path, rates: &Rates, month: Option<Month>) -> anyhow::Result<Stats> {
    let file = match crate::fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Stats::default()),
        Err(e) => anyhow::bail!("{}: {e}", path.display()),
    };
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(Stats::default());
    }
    // SAFETY: the ledger is append-only; bytes already written are never changed by
    // Lumen. The map is read-only and covers only the length seen above.
    let map = unsafe {
        memmap2::MmapOptions::new()
            .len(usize::try_from(len)?)
            .map(&file)
    }
    .map_err(|e| anyhow::anyhow!("{}: cannot map: {e}", path.display()))?;
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    Ok(stats_of(&map, rates, month, threads))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_at_line_boundaries() {
        let data = b"a\nbb\nccc\ndddd\n";
        for n in 1..6 {
            let chunks = split_chunks(data, n);
            assert_eq!(chunks.concat(), data.to_vec());
            assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
        }
    }

    #[test]
    fn month_parse() {
        assert_eq!(
            "2026-01".parse(),
            Ok(Month {
                year: 2026,
                month: 1
            })
        );
        assert!("2026-13".parse::<Month>().is_err());
        assert!("2026-1".parse::<Month>().is_err());
    }
}
