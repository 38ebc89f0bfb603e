//! `lumen ledger stats` (docs/formats.md): per-branch entries, events, tokens and cost over
//! the whole file, fast. The file is split at line boundaries into one chunk per core;
//! each thread reads its chunk with `pread` in 256 KiB blocks into its own buffer and
//! parses them with the borrowed parser [`StatParser`], which accepts exactly the
//! lines `parse_line` accepts. No memory map: a file truncated during the scan gives
//! short reads, reported and read again, never SIGBUS.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use chrono::{Datelike, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::ledger::StatParser;
use crate::store::scan::{Changed, Forward, Piece, RevLines, replaced};

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
    match crate::store::fsutil::read_regular(path) {
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

    /// The rate of an entry (docs/formats.md "Cost tier", the rule in
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

/// The docs/formats.md `ledger stats --json` object.
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
    /// What happened during the scan that the reader should know (the file shrank or
    /// was replaced and was read again). Not part of the JSON contract: printed on
    /// stderr.
    #[serde(skip)]
    pub notices: Vec<String>,
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
/// the scan. Keys are owned (the bytes they came from are a reused read buffer) but
/// looked up by `&str`, so a key is allocated once per chunk, not once per line.
type FastMap<K, V> = rustc_hash::FxHashMap<K, V>;

#[derive(Default)]
struct ChunkAcc {
    lines: u64,
    entries: u64,
    rejects: u64,
    branches: FastMap<String, Acc>,
    /// Rate per branch for entries without their own `tier` or `cost`.
    rate_cache: FastMap<String, f64>,
}

#[derive(Default)]
struct Acc {
    entries: u64,
    events: FastMap<String, u64>,
    tokens: u64,
    cost: f64,
}

/// Lines are validated as UTF-8 and parsed a block at a time, so the parse reads
/// bytes still in cache: validating the whole chunk first read it from memory twice.
const BLOCK: usize = crate::store::scan::BLOCK;

/// Stats over in-memory complete lines, a block at a time.
fn scan_chunk(data: &[u8], rates: &Rates, month: Option<Month>) -> ChunkAcc {
    let mut acc = ChunkAcc::default();
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
        scan_block(block, rates, month, &mut parser, &mut acc);
    }
    acc
}

/// Stats over `file[start..end)` (whole lines), read with `pread` a block at a time
/// into one reused buffer. A line over the limit is skipped unread (a reject).
fn scan_range(
    file: &File,
    start: u64,
    end: u64,
    initial_len: u64,
    rates: &Rates,
    month: Option<Month>,
) -> std::io::Result<(ChunkAcc, Option<Changed>)> {
    let mut acc = ChunkAcc::default();
    let mut parser = StatParser::default();
    let mut fwd = Forward::new(file, start, Some(end), initial_len);
    loop {
        match fwd.next_piece()? {
            Piece::Lines { data, .. } => scan_block(data, rates, month, &mut parser, &mut acc),
            Piece::Long { .. } => {
                acc.lines += 1;
                acc.rejects += 1;
            }
            Piece::End { pending } => {
                let mut changed = fwd.changed;
                // The range ends at a `\n`: a segment without one means the bytes moved.
                if changed.is_none() && pending.is_some() {
                    changed = Some(Changed::Shrank {
                        seen: end,
                        now: file.metadata()?.len(),
                    });
                }
                return Ok((acc, changed));
            }
        }
    }
}

fn scan_block(
    data: &[u8],
    rates: &Rates,
    month: Option<Month>,
    parser: &mut StatParser,
    acc: &mut ChunkAcc,
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
                let rate = match &f.tier {
                    None => match acc.rate_cache.get(&*f.branch) {
                        Some(r) => *r,
                        None => {
                            let r = rates.rate(None, &f.branch);
                            acc.rate_cache.insert(f.branch.to_string(), r);
                            r
                        }
                    },
                    Some(tier) => rates.rate(Some(&**tier), &f.branch),
                };
                tokens * rate
            }
        };
        let b = match acc.branches.get_mut(&*f.branch) {
            Some(b) => b,
            None => acc.branches.entry(f.branch.into_owned()).or_default(),
        };
        b.entries += 1;
        b.tokens = b.tokens.saturating_add(f.tokens.unwrap_or(0));
        b.cost += cost;
        match b.events.get_mut(&*f.event) {
            Some(n) => *n += 1,
            None => {
                b.events.insert(f.event.into_owned(), 1);
            }
        }
    }
}

/// Chunk results merged in chunk order, so the float sums are deterministic.
fn merge(accs: Vec<ChunkAcc>, pending: bool) -> Stats {
    let mut out = Stats {
        pending,
        ..Stats::default()
    };
    for acc in accs {
        out.lines += acc.lines;
        out.entries += acc.entries;
        out.rejects += acc.rejects;
        for (branch, a) in acc.branches {
            let b = out.branches.entry(branch).or_default();
            b.entries += a.entries;
            b.tokens = b.tokens.saturating_add(a.tokens);
            b.cost += a.cost;
            for (ev, n) in a.events {
                *b.events.entry(ev).or_default() += n;
            }
        }
    }
    for b in out.branches.values() {
        out.totals.tokens = out.totals.tokens.saturating_add(b.tokens);
        out.totals.cost += b.cost;
    }
    out
}

/// Stats over an in-memory ledger image (the bytes of the file).
pub fn stats_of(data: &[u8], rates: &Rates, month: Option<Month>, threads: usize) -> Stats {
    // Only complete lines count; a trailing unterminated segment is pending.
    let complete_end = memchr::memrchr(b'\n', data).map(|i| i + 1).unwrap_or(0);
    let pending = complete_end < data.len();
    let body = data.get(..complete_end).unwrap_or_default();
    let chunks = crate::store::scan::split_at_lines(body, threads.max(1));
    let accs: Vec<ChunkAcc> = if chunks.len() <= 1 {
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
    merge(accs, pending)
}

/// The offset just past the first `\n` at or after `from` in `file[..end]`, or `end`.
/// Reads forward in blocks: O(distance).
fn next_line_start(file: &File, from: u64, end: u64) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < end {
        let n = usize::try_from(end - at)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let chunk = buf.get_mut(..n).unwrap_or_default();
        file.read_exact_at(chunk, at)?;
        if let Some(k) = memchr::memchr(b'\n', chunk) {
            return Ok(at + k as u64 + 1);
        }
        at += n as u64;
    }
    Ok(end)
}

/// How many times a scan is started over when the file changes under it.
pub const SCAN_ATTEMPTS: usize = 3;

/// Stats over the ledger file at `path`, read with `pread` (no memory map: a file
/// truncated in place during the scan must not kill the process with SIGBUS). The
/// complete lines are split at line boundaries into one chunk per core; each thread
/// reads its chunk into its own buffer, a block at a time.
///
/// A missing file is an error (`NotFound`), like any other open error. If the file
/// shrinks or is replaced during the scan the result is thrown away and the file read
/// again, up to [`SCAN_ATTEMPTS`] times in all, each time noted in
/// [`Stats::notices`]; then it is an error.
pub fn stats_file(path: &Path, rates: &Rates, month: Option<Month>) -> anyhow::Result<Stats> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    stats_file_with(path, rates, month, threads, &|| {})
}

/// [`stats_file`] with a thread count and a hook run after the chunks are planned
/// and before they are read (tests use it to change the file at that moment).
#[doc(hidden)]
pub fn stats_file_with(
    path: &Path,
    rates: &Rates,
    month: Option<Month>,
    threads: usize,
    before_read: &(dyn Fn() + Sync),
) -> anyhow::Result<Stats> {
    let mut notices = Vec::new();
    for _ in 0..SCAN_ATTEMPTS {
        let file = crate::store::fsutil::open_regular(path)
            .map_err(|e| anyhow::Error::new(e).context(path.display().to_string()))?;
        let (stats, changed) = stats_once(&file, rates, month, threads, before_read)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let changed = changed.or_else(|| replaced(&file, path).then_some(Changed::Replaced));
        match changed {
            None => {
                return Ok(Stats { notices, ..stats });
            }
            Some(c) => notices.push(format!(
                "{} {c} during the scan; reading it again",
                path.display()
            )),
        }
    }
    anyhow::bail!(
        "{}: the file kept changing during the scan ({} attempts: it shrank or was replaced each time); try again when it is quiet",
        path.display(),
        SCAN_ATTEMPTS
    )
}

fn stats_once(
    file: &File,
    rates: &Rates,
    month: Option<Month>,
    threads: usize,
    before_read: &(dyn Fn() + Sync),
) -> std::io::Result<(Stats, Option<Changed>)> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok((Stats::default(), None));
    }
    let (pending, ranges) = match plan(file, len, threads) {
        Ok(p) => p,
        // The file shrank while the chunks were being planned.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            let now = file.metadata()?.len();
            return Ok((Stats::default(), Some(Changed::Shrank { seen: len, now })));
        }
        Err(e) => return Err(e),
    };
    before_read();
    let results: Vec<std::io::Result<(ChunkAcc, Option<Changed>)>> = if ranges.len() <= 1 {
        ranges
            .iter()
            .map(|&(a, b)| scan_range(file, a, b, len, rates, month))
            .collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = ranges
                .iter()
                .map(|&(a, b)| s.spawn(move || scan_range(file, a, b, len, rates, month)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut accs = Vec::with_capacity(results.len());
    let mut changed = None;
    for r in results {
        let (acc, c) = r?;
        changed = changed.or(c);
        accs.push(acc);
    }
    let now = file.metadata()?.len();
    if changed.is_none() && now < len {
        changed = Some(Changed::Shrank { seen: len, now });
    }
    Ok((merge(accs, pending), changed))
}

/// Whether `file[..len]` ends in a pending line, and its complete lines cut at line
/// boundaries into at most `threads` ranges of similar size.
fn plan(file: &File, len: u64, threads: usize) -> std::io::Result<(bool, Vec<(u64, u64)>)> {
    // Complete lines end at the last `\n`; what follows is pending. O(that segment).
    let complete_end = match last_newline(file, len)? {
        Some(nl) => nl + 1,
        None => 0,
    };
    let pending = complete_end < len;
    let n = threads.max(1) as u64;
    let mut cuts = vec![0u64];
    for i in 1..n {
        let target = (complete_end * i / n).max(*cuts.last().unwrap_or(&0));
        // The chunk boundary is the start of the line holding `target` (or the next).
        let cut = if target == 0 {
            0
        } else {
            next_line_start(file, target - 1, complete_end)?
        };
        cuts.push(cut.max(*cuts.last().unwrap_or(&0)));
    }
    cuts.push(complete_end);
    cuts.dedup();
    let ranges = cuts
        .windows(2)
        .filter_map(|w| match w {
            [a, b] => Some((*a, *b)),
            _ => None,
        })
        .collect();
    Ok((pending, ranges))
}

/// The offset of the last `\n` in `file[..len]`: O(the bytes after it).
fn last_newline(file: &File, len: u64) -> std::io::Result<Option<u64>> {
    let mut rev = RevLines::new(file, len)?;
    // The first span is the segment after the last `\n` (or the last line when the
    // file ends with one); the `\n` that ends it is at offset + length, if any.
    Ok(match rev.next_span()? {
        None => None,
        Some((off, n)) if off + n < len => Some(off + n),
        Some((off, _)) if off > 0 => Some(off - 1),
        Some(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_everything_at_line_boundaries() {
        let data = b"a\nbb\nccc\ndddd\n";
        for n in 1..6 {
            let chunks = crate::store::scan::split_at_lines(data, n);
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
