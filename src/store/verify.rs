//! `lumen ledger verify` (docs/ledger.md and docs/formats.md): rejects, hash chain, signatures against
//! keys.json, duplicate ids and timestamp regressions (warnings), checkpoints
//! (the Merkle root recomputed at each checkpoint's size), and a pending last line.
//! Streams the file: memory is the set of ids seen plus O(log n) for the tree; a line
//! over the 1 MiB limit is hashed in blocks, never held.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::ledger::{RejectReason, StatParser};
use crate::domain::merkle::RootBuilder;
use crate::domain::signing::verify_line;
use crate::store::append::ZERO_PREV;
use crate::store::keys::Keyring;
use crate::store::scan::{Changed, Line, LineHashes, ScanOptions, scan_lines};
use crate::store::stats::SCAN_ATTEMPTS;

/// Warnings beyond this many are summarised in one line.
const MAX_WARNINGS: usize = 1000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RejectInfo {
    pub line: u64,
    pub offset: u64,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct OkBad {
    pub ok: u64,
    pub bad: u64,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ChainCount {
    pub ok: u64,
    pub broken: u64,
}

/// The docs/formats.md `ledger verify --json` object.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Report {
    pub ok: bool,
    pub lines: u64,
    pub entries: u64,
    pub rejects: Vec<RejectInfo>,
    pub pending: bool,
    pub signatures: OkBad,
    pub chain: ChainCount,
    pub unchained: u64,
    pub checkpoints: OkBad,
    /// Signed lines whose `offset` is where they stand (`ok`) or not (`bad`: moved,
    /// copied or re-inserted, or bytes inserted or deleted before them).
    pub offsets: OkBad,
    /// Signed lines without `offset` (written before offsets were bound): they verify,
    /// but a copy of one elsewhere in the file cannot be told from the original.
    pub legacy: u64,
    /// Signed lines whose id an earlier signed line already used.
    pub duplicate_signed_ids: u64,
    pub warnings: Vec<String>,
    /// Why the check failed, one per problem (not part of the JSON contract).
    #[serde(skip)]
    pub problems: Vec<String>,
    /// The ledger shrank or was replaced during a scan and was verified again (not
    /// part of the JSON contract: printed on stderr).
    #[serde(skip)]
    pub notices: Vec<String>,
}

impl Report {
    fn warn(&mut self, w: String) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        }
    }
    fn problem(&mut self, p: String) {
        if self.problems.len() < MAX_WARNINGS {
            self.problems.push(p);
        }
    }
}

/// One parsed checkpoint line.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub line_no: u64,
    pub size: u64,
    pub root: String,
    pub signed_ok: bool,
}

/// Read `checkpoints.jsonl`: (valid-shaped checkpoints, count of malformed lines with why).
pub fn load_checkpoints(
    path: &Path,
    keys: &Keyring,
) -> anyhow::Result<(Vec<Checkpoint>, Vec<String>)> {
    let mut cps = Vec::new();
    let mut bad = Vec::new();
    if !path.exists() {
        return Ok((cps, bad));
    }
    let end = scan_lines(path, ScanOptions::default(), |l| {
        let l = match l {
            Line::Held(l) => l,
            Line::Long(l) => {
                bad.push(format!(
                    "{}:{}: not a checkpoint ({} bytes, over the 1 MiB line limit)",
                    path.display(),
                    l.no,
                    l.len
                ));
                return ControlFlow::Continue(());
            }
        };
        if l.bytes.is_empty() {
            return ControlFlow::Continue(());
        }
        let parsed = serde_json::from_slice::<Value>(l.bytes).ok();
        let size = parsed
            .as_ref()
            .and_then(|v| v.get("size"))
            .and_then(Value::as_u64);
        let root = parsed
            .as_ref()
            .and_then(|v| v.get("root"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let signer = parsed
            .as_ref()
            .and_then(|v| v.get("signer"))
            .and_then(Value::as_str);
        match (size, root) {
            (Some(size), Some(root)) => {
                let signed_ok = signer
                    .and_then(|s| keys.by_id(s))
                    .and_then(|s| s.key.as_ref())
                    .is_some_and(|k| verify_line(k, l.bytes));
                cps.push(Checkpoint {
                    line_no: l.no,
                    size,
                    root,
                    signed_ok,
                });
            }
            _ => bad.push(format!(
                "{}:{}: not a checkpoint (needs numeric `size` and string `root`)",
                path.display(),
                l.no
            )),
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    if let Some(c) = end.changed {
        anyhow::bail!(
            "{}: {c} while it was being read; run verify again",
            path.display()
        );
    }
    if let Some((no, _, _)) = end.pending {
        bad.push(format!(
            "{}:{no}: unterminated checkpoint line",
            path.display()
        ));
    }
    Ok((cps, bad))
}

/// Verify the ledger under `hq_root`.
pub fn verify(hq_root: &Path) -> anyhow::Result<Report> {
    let ledger = hq_root.join("hq/ledger/ledger.jsonl");
    let keys = Keyring::load(hq_root)?;
    let cp_path = hq_root.join("hq/ledger/checkpoints.jsonl");
    let (checkpoints, malformed) = load_checkpoints(&cp_path, &keys)?;
    verify_file(&ledger, &keys, &checkpoints, malformed)
}

/// Verify one ledger file against a keyring and checkpoints. A missing file verifies
/// as empty (callers that must tell "no ledger" apart check first, as `lumen ledger
/// verify` does).
///
/// The file is streamed; a line over the 1 MiB limit is a reject whose bytes are
/// hashed in blocks (for the Merkle leaf and the next line's `prev`), never held. If
/// the file shrinks or is replaced during the scan, the result is thrown away and the
/// file verified again, up to [`SCAN_ATTEMPTS`] times in all (each noted in
/// [`Report::notices`]); then it is an error.
pub fn verify_file(
    ledger: &Path,
    keys: &Keyring,
    checkpoints: &[Checkpoint],
    malformed_checkpoints: Vec<String>,
) -> anyhow::Result<Report> {
    verify_file_with(
        ledger,
        keys,
        checkpoints,
        malformed_checkpoints,
        &mut |_| {},
    )
}

/// [`verify_file`] with a hook called with each line number as the scan passes it
/// (tests use it to change the file mid-scan).
#[doc(hidden)]
pub fn verify_file_with(
    ledger: &Path,
    keys: &Keyring,
    checkpoints: &[Checkpoint],
    malformed_checkpoints: Vec<String>,
    on_line: &mut dyn FnMut(u64),
) -> anyhow::Result<Report> {
    let mut notices = Vec::new();
    for _ in 0..SCAN_ATTEMPTS {
        let (r, changed) = verify_once(
            ledger,
            keys,
            checkpoints,
            malformed_checkpoints.clone(),
            on_line,
        )?;
        match changed {
            None => return Ok(Report { notices, ..r }),
            Some(c) => notices.push(format!(
                "{} {c} during verification; verifying it again",
                ledger.display()
            )),
        }
    }
    anyhow::bail!(
        "{}: the ledger kept changing during verification ({} attempts: it shrank or was replaced each time); not verified, try again",
        ledger.display(),
        SCAN_ATTEMPTS
    )
}

fn verify_once(
    ledger: &Path,
    keys: &Keyring,
    checkpoints: &[Checkpoint],
    malformed_checkpoints: Vec<String>,
    on_line: &mut dyn FnMut(u64),
) -> anyhow::Result<(Report, Option<Changed>)> {
    let mut r = Report::default();
    for m in malformed_checkpoints {
        r.checkpoints.bad += 1;
        r.problem(m);
    }
    // size → checkpoints at that size.
    let mut at_size: BTreeMap<u64, Vec<&Checkpoint>> = BTreeMap::new();
    for cp in checkpoints {
        if !cp.signed_ok {
            r.checkpoints.bad += 1;
            r.problem(format!(
                "checkpoint line {}: signature bad or signer unknown",
                cp.line_no
            ));
            continue;
        }
        at_size.entry(cp.size).or_default().push(cp);
    }
    let mut tree = RootBuilder::new();
    let check_at = |tree: &RootBuilder, r: &mut Report, cps: &[&Checkpoint]| {
        let root = hex::encode(tree.root());
        for cp in cps {
            if cp.root.eq_ignore_ascii_case(&root) {
                r.checkpoints.ok += 1;
            } else {
                r.checkpoints.bad += 1;
                r.problem(format!(
                    "checkpoint line {}: root at size {} is {root}, the checkpoint says {} (history rewritten)",
                    cp.line_no, cp.size, cp.root
                ));
            }
        }
    };
    if let Some(cps) = at_size.get(&0) {
        check_at(&tree, &mut r, cps);
    }

    // Lowercase hex of the previous line's SHA-256, kept on the stack: a `String` per
    // line from `hex::encode` was 8 % of `verify`.
    let mut prev_hash: [u8; 64] = ZERO_PREV.as_bytes().try_into().unwrap_or([b'0'; 64]);
    // Ids and timestamps come from the fast line parser (it accepts and rejects exactly
    // what `parse_line` does, with the same reasons); only chained or signed lines are
    // parsed whole, in `check_trust`. With the changes below: 1 M lines in 1.6 s, not 4.9 s.
    let mut parser = StatParser::default();
    let mut seen_ids: rustc_hash::FxHashMap<String, u64> = rustc_hash::FxHashMap::default();
    // Room for the ids up front (growing the table was 6 %): ~150 bytes per line,
    // at most 1 Mi ids (~40 MB) so a file of long lines cannot over-reserve much.
    let len = std::fs::metadata(ledger).map_or(0, |m| m.len());
    seen_ids.reserve(usize::try_from(len / 150).unwrap_or(0).min(1 << 20));
    let claims = Claims::new();
    // Ids of signed lines (few): a second signed line with one of them fails.
    let mut signed_ids: rustc_hash::FxHashMap<String, u64> = rustc_hash::FxHashMap::default();
    for p in &keys.problems {
        r.problem(format!("keys.json entry left out: {p}"));
    }
    let mut last_ts: Option<(DateTime<FixedOffset>, u64)> = None;
    let exists = ledger.exists();
    let opts = ScanOptions {
        hash_long_lines: true,
    };
    let end = if exists {
        scan_lines(ledger, opts, |line| {
            on_line(line.no());
            let l = match line {
                Line::Held(l) => l,
                Line::Long(long) => {
                    // A reject kept out of memory: its hashes were streamed.
                    r.lines += 1;
                    let h = long.hashes.unwrap_or_else(|| LineHashes::of(&[]));
                    tree.push_leaf_hash(h.leaf);
                    if let Some(cps) = at_size.get(&tree.size()) {
                        check_at(&tree, &mut r, cps);
                    }
                    r.rejects.push(RejectInfo {
                        line: long.no,
                        offset: long.offset,
                        reason: RejectReason::TooLong(
                            usize::try_from(long.len).unwrap_or(usize::MAX),
                        )
                        .to_string(),
                    });
                    let _ = hex::encode_to_slice(h.sha256, &mut prev_hash);
                    return ControlFlow::Continue(());
                }
            };
            if l.bytes.is_empty() {
                return ControlFlow::Continue(());
            }
            r.lines += 1;
            tree.push_data(l.bytes);
            if let Some(cps) = at_size.get(&tree.size()) {
                check_at(&tree, &mut r, cps);
            }
            let mut this_hash = [0u8; 64];
            // 32 bytes always fit 64 hex digits.
            let _ = hex::encode_to_slice(Sha256::digest(l.bytes), &mut this_hash);
            match parser.parse_bytes(l.bytes) {
                Err(reason) => r.rejects.push(RejectInfo {
                    line: l.no,
                    offset: l.offset,
                    reason: reason.to_string(),
                }),
                Ok(e) => {
                    r.entries += 1;
                    if let Some(first) = seen_ids.get(e.id.as_ref()) {
                        let w = format!(
                            "line {}: duplicate id {} (first at line {first})",
                            l.no, e.id
                        );
                        r.warn(w);
                    } else {
                        seen_ids.insert(e.id.to_string(), l.no);
                    }
                    if let Some((t, at)) = last_ts
                        && e.timestamp < t
                    {
                        r.warn(format!(
                            "line {}: timestamp {} is earlier than line {at}'s {}",
                            l.no,
                            e.timestamp.to_rfc3339(),
                            t.to_rfc3339()
                        ));
                    }
                    if last_ts.is_none_or(|(t, _)| e.timestamp >= t) {
                        last_ts = Some((e.timestamp, l.no));
                    }
                    let at = Where {
                        no: l.no,
                        offset: l.offset,
                        timestamp: &e.timestamp,
                    };
                    if check_trust(&mut r, keys, &claims, &at, l.bytes, &prev_hash) {
                        if let Some(first) = signed_ids.get(e.id.as_ref()) {
                            r.duplicate_signed_ids += 1;
                            r.problem(format!(
                                "line {}: signed id {} was already used by the signed line {first} (replayed or forged)",
                                l.no,
                                crate::domain::sanitize::sanitize(&e.id)
                            ));
                        } else {
                            signed_ids.insert(e.id.to_string(), l.no);
                        }
                    }
                }
            }
            prev_hash = this_hash;
            ControlFlow::Continue(())
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?
    } else {
        Default::default()
    };
    if let Some(c) = end.changed {
        return Ok((r, Some(c)));
    }
    if let Some((no, off, len)) = end.pending {
        r.pending = true;
        r.warn(format!(
            "line {no} (offset {off}, {len} bytes) is pending: no final newline yet"
        ));
    }
    for (size, cps) in at_size.range(tree.size() + 1..) {
        for cp in cps {
            r.checkpoints.bad += 1;
            r.problem(format!(
                "checkpoint line {}: size {size} but the ledger has only {} lines (history truncated)",
                cp.line_no,
                tree.size()
            ));
        }
    }
    if r.legacy > 0 {
        r.warn(format!(
            "legacy: replayable: {} signed line(s) carry no `offset` (written before offsets were signed); a copy of one would not be detected",
            r.legacy
        ));
    }
    r.ok = r.problems.is_empty()
        && r.signatures.bad == 0
        && r.chain.broken == 0
        && r.checkpoints.bad == 0
        && r.offsets.bad == 0
        && r.duplicate_signed_ids == 0;
    Ok((r, None))
}

/// Searchers for the members that make a line need the full parse, built once
/// (`memmem::find` builds one per call: 5 % of `verify`).
struct Claims {
    prev: memchr::memmem::Finder<'static>,
    sig: memchr::memmem::Finder<'static>,
    signer: memchr::memmem::Finder<'static>,
}

impl Claims {
    fn new() -> Self {
        Claims {
            prev: memchr::memmem::Finder::new(b"\"prev\""),
            sig: memchr::memmem::Finder::new(b"\"sig\""),
            signer: memchr::memmem::Finder::new(b"\"signer\""),
        }
    }

    /// The line may carry `prev`, `sig` or `signer` (an escape could spell one).
    fn in_line(&self, line: &[u8]) -> bool {
        self.prev.find(line).is_some()
            || self.sig.find(line).is_some()
            || self.signer.find(line).is_some()
            || memchr::memchr(b'\\', line).is_some()
    }
}

/// Where an accepted entry stands.
struct Where<'a> {
    no: u64,
    offset: u64,
    timestamp: &'a DateTime<FixedOffset>,
}

/// Chain, signature and offset checks for one accepted entry. True when the line is
/// signed (carries `sig` or `signer`).
fn check_trust(
    r: &mut Report,
    keys: &Keyring,
    claims: &Claims,
    at: &Where<'_>,
    line: &[u8],
    prev_hash: &[u8; 64],
) -> bool {
    let no = at.no;
    // Only chained or signed lines need these members; most lines skip this parse.
    if !claims.in_line(line) {
        r.unchained += 1;
        return false;
    }
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(line) else {
        r.unchained += 1;
        return false;
    };
    match obj.get("prev") {
        None => r.unchained += 1,
        Some(Value::String(p)) if p.as_bytes() == prev_hash => r.chain.ok += 1,
        Some(other) => {
            r.chain.broken += 1;
            r.problem(format!(
                "line {no}: prev {other} does not match the previous line's hash {}",
                String::from_utf8_lossy(prev_hash)
            ));
        }
    }
    if !(obj.contains_key("sig") || obj.contains_key("signer")) {
        return false;
    }
    let who = obj.get("signer").and_then(Value::as_str).unwrap_or("?");
    let check = if matches!(obj.get("sig"), Some(Value::String(_))) {
        keys.check(who, at.timestamp, |k| verify_line(k, line))
    } else {
        crate::domain::keyring::SigCheck::BadSignature
    };
    match crate::store::keys::sig_check_reason(&check, who) {
        None => r.signatures.ok += 1,
        Some(why) => {
            r.signatures.bad += 1;
            r.problem(format!("line {no}: {why}"));
        }
    }
    match obj.get("offset") {
        None => r.legacy += 1,
        Some(v) if v.as_u64() == Some(at.offset) => r.offsets.ok += 1,
        Some(v) => {
            r.offsets.bad += 1;
            r.problem(format!(
                "line {no}: signed for offset {} but stands at offset {} (moved or replayed, or bytes were inserted or deleted before it)",
                crate::domain::sanitize::sanitize(&v.to_string()),
                at.offset
            ));
        }
    }
    true
}
