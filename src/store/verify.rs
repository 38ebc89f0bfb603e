//! `lumen ledger verify` (docs/ledger.md and docs/formats.md): rejects, hash chain, signatures against
//! keys.json, duplicate ids and timestamp regressions (warnings), checkpoints
//! (the Merkle root recomputed at each checkpoint's size), and a pending last line.
//! Streams the file: memory is the set of ids seen plus O(log n) for the tree; a line
//! over the 1 MiB limit is hashed in blocks, never held.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

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
    /// Checkpoint notes given with `--checkpoint FILE`: the ledger extends them (`ok`)
    /// or not (`bad`, also for a note that does not parse or verify).
    pub notes: OkBad,
    /// The local witness: what it remembered and whether the ledger still holds it;
    /// `null` when skipped.
    pub witness: Option<WitnessReport>,
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
    /// `ok` from everything found so far.
    fn settle(&mut self) {
        self.ok = self.problems.is_empty()
            && self.signatures.bad == 0
            && self.chain.broken == 0
            && self.checkpoints.bad == 0
            && self.notes.bad == 0
            && self.witness.as_ref().is_none_or(|w| w.ok)
            && self.offsets.bad == 0
            && self.duplicate_signed_ids == 0;
    }
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

/// The local witness's part of a report.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct WitnessReport {
    /// What it remembered before this run (`null`: nothing yet).
    pub size: Option<u64>,
    pub root: Option<String>,
    pub seen: Option<String>,
    /// The ledger still contains it (true when nothing was remembered).
    pub ok: bool,
    /// The size it remembers after this run, when it moved forward.
    pub updated: Option<u64>,
}

/// One parsed checkpoint line.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    pub line_no: u64,
    pub size: u64,
    pub root: String,
    /// The line's signature (and its note's, when it carries one) verified by a key
    /// valid at the checkpoint's timestamp, and the note says what the line says.
    pub signed_ok: bool,
    /// Why not, when `signed_ok` is false.
    pub why: Option<String>,
}

/// A tree head the ledger must still contain, from somewhere other than the ledger's
/// own checkpoints: a note an auditor kept, or the local witness.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    /// Names it in messages: `old.note`, `the local witness (size N, seen T)`.
    pub what: String,
    pub size: u64,
    pub root: [u8; 32],
    pub kind: ExpectKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectKind {
    Note,
    Witness,
}

/// Read `checkpoints.jsonl`: (valid-shaped checkpoints, one message per line that is
/// malformed or breaks the chain). Each line's `prev` (when present) must be the
/// SHA-256 of the line before it, so a deleted checkpoint line is detected; sizes
/// along the file never shrink; a line's `note` must verify and say what the line
/// says. `origin` is the HQ's checkpoint origin.
pub fn load_checkpoints(
    path: &Path,
    keys: &Keyring,
) -> anyhow::Result<(Vec<Checkpoint>, Vec<String>)> {
    let mut cps = Vec::new();
    let mut bad = Vec::new();
    if !path.exists() {
        return Ok((cps, bad));
    }
    let mut prev_hash = ZERO_PREV.to_string();
    let mut last_size: Option<(u64, u64)> = None;
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
                prev_hash = String::new();
                return ControlFlow::Continue(());
            }
        };
        if l.bytes.is_empty() {
            return ControlFlow::Continue(());
        }
        let this_hash = hex::encode(Sha256::digest(l.bytes));
        let parsed = serde_json::from_slice::<Value>(l.bytes).ok();
        let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k));
        let size = field("size").and_then(Value::as_u64);
        let root = field("root").and_then(Value::as_str).map(str::to_owned);
        match field("prev") {
            None => {}
            Some(Value::String(p)) if *p == prev_hash => {}
            Some(_) => bad.push(format!(
                "{}:{}: prev does not match the checkpoint line before it (a checkpoint line was deleted, inserted or changed)",
                path.display(),
                l.no
            )),
        }
        prev_hash = this_hash;
        let (Some(size), Some(root)) = (size, root) else {
            bad.push(format!(
                "{}:{}: not a checkpoint (needs numeric `size` and string `root`)",
                path.display(),
                l.no
            ));
            return ControlFlow::Continue(());
        };
        if let Some((before, at)) = last_size
            && size < before
        {
            bad.push(format!(
                "{}:{}: size {size} is smaller than the size {before} of checkpoint line {at} (history cut)",
                path.display(),
                l.no
            ));
        }
        last_size = Some((size, l.no));
        let why = check_checkpoint_line(keys, l.bytes, parsed.as_ref(), size, &root);
        cps.push(Checkpoint {
            line_no: l.no,
            size,
            root,
            signed_ok: why.is_none(),
            why,
        });
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

/// Signature of one checkpoint line (by a key valid at its timestamp) and its note:
/// `None` when both hold, else why not.
fn check_checkpoint_line(
    keys: &Keyring,
    line: &[u8],
    v: Option<&Value>,
    size: u64,
    root: &str,
) -> Option<String> {
    let field = |k: &str| v.and_then(|v| v.get(k));
    let signer = field("signer").and_then(Value::as_str).unwrap_or("?");
    let ts = field("timestamp")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let Some(ts) = ts else {
        return Some("no RFC 3339 `timestamp`".into());
    };
    let check = keys.check(signer, &ts, |k| verify_line(k, line));
    if let Some(why) = crate::store::keys::sig_check_reason(&check, signer) {
        return Some(why);
    }
    // A line written before checkpoints carried notes has none to check.
    let note = field("note")?;
    let Some(text) = note.as_str() else {
        return Some("`note` is not a string".into());
    };
    let parsed = match crate::domain::note::parse_checkpoint_note(text.as_bytes()) {
        Ok(n) => n,
        Err(e) => return Some(format!("its note does not parse: {e}")),
    };
    let cp = &parsed.checkpoint;
    let origin = field("origin").and_then(Value::as_str);
    if Some(cp.origin.as_str()) != origin
        || cp.size != size
        || !hex::encode(cp.root).eq_ignore_ascii_case(root)
    {
        return Some("its note says another origin, size or root than the line".into());
    }
    let verified = keys.check(signer, &ts, |k| note_verifies(&parsed.note, signer, k));
    crate::store::keys::sig_check_reason(&verified, signer).map(|w| format!("its note: {w}"))
}

/// The note carries a signature by `name` that `key` verifies.
pub fn note_verifies(
    note: &crate::domain::note::Note,
    name: &str,
    key: &ed25519_dalek::VerifyingKey,
) -> bool {
    crate::domain::note::NoteVerifier::new(name, *key)
        .is_ok_and(|v| crate::domain::note::verify_note(note, std::slice::from_ref(&v)).is_ok())
}

/// Verify the ledger under `hq_root` (no witness, no outside notes).
pub fn verify(hq_root: &Path) -> anyhow::Result<Report> {
    verify_with(hq_root, &VerifyOptions::default())
}

/// What else a verification checks.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// The local witness's directory (e.g. `<data dir>/witness`); `None` skips it.
    pub witness_dir: Option<PathBuf>,
    /// Checkpoint notes the ledger must extend (`ledger verify --checkpoint FILE`).
    pub notes: Vec<PathBuf>,
}

/// Verify the ledger under `hq_root`: everything [`verify_file`] checks, the
/// checkpoints' chain and notes, the notes in `opts.notes`, and the local witness.
/// When everything holds, the witness moves forward to the newest checkpoint.
/// A note file that cannot be read is an error; one that does not parse or verify is
/// a problem in the report (named with its file, line and column).
pub fn verify_with(hq_root: &Path, opts: &VerifyOptions) -> anyhow::Result<Report> {
    let p = Prepared::load(hq_root, opts)?;
    let ledger = hq_root.join("hq/ledger/ledger.jsonl");
    let r = verify_file_expecting(
        &ledger,
        &p.keys,
        &p.checkpoints,
        p.malformed.clone(),
        &p.expects,
        &mut |_| {},
    )?;
    Ok(p.finalize(hq_root, r))
}

/// Everything a verification reads besides the ledger: keys, checkpoints, notes and
/// the local witness. Compared between runs by the incremental verifier: when any of
/// it changes, it verifies everything again.
#[derive(Debug, Clone, PartialEq)]
struct Prepared {
    keys_entries: Vec<crate::domain::keyring::KeyEntry>,
    keys: Keyring,
    checkpoints: Vec<Checkpoint>,
    malformed: Vec<String>,
    expects: Vec<Expect>,
    note_problems: Vec<String>,
    witness_problem: Option<String>,
    remembered: Option<crate::store::witness::Remembered>,
    witness_path: Option<PathBuf>,
    origin: String,
}

impl PartialEq for Keyring {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
            && self.origin == other.origin
            && self.problems == other.problems
    }
}

impl Prepared {
    fn load(hq_root: &Path, opts: &VerifyOptions) -> anyhow::Result<Prepared> {
        let keys = Keyring::load(hq_root)?;
        let cp_path = hq_root.join("hq/ledger/checkpoints.jsonl");
        let (checkpoints, malformed) = load_checkpoints(&cp_path, &keys)?;
        let origin = keys.origin_for(hq_root);
        let mut expects = Vec::new();
        let mut note_problems = Vec::new();
        for path in &opts.notes {
            match load_note(path, &keys, &origin)? {
                Ok(e) => expects.push(e),
                Err(p) => note_problems.push(p),
            }
        }
        let mut witness_problem = None;
        let mut remembered = None;
        let witness_path = opts
            .witness_dir
            .as_ref()
            .map(|d| crate::store::witness::witness_file(d, &origin, hq_root));
        if let Some(wp) = &witness_path {
            match crate::store::witness::load(wp) {
                Ok(Some(w)) => {
                    let root = hex::decode(&w.root)
                        .ok()
                        .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
                        .unwrap_or_default();
                    expects.push(Expect {
                        what: format!(
                            "the local witness (it verified size {} with root {} on {})",
                            w.size,
                            w.root,
                            crate::domain::sanitize::sanitize(&w.seen)
                        ),
                        size: w.size,
                        root,
                        kind: ExpectKind::Witness,
                    });
                    remembered = Some(w);
                }
                Ok(None) => {}
                Err(e) => witness_problem = Some(format!("{e:#}")),
            }
        }
        Ok(Prepared {
            keys_entries: keys.entries.clone(),
            keys,
            checkpoints,
            malformed,
            expects,
            note_problems,
            witness_problem,
            remembered,
            witness_path,
            origin,
        })
    }

    /// Add what is not found by the scan (notes that do not parse, the witness), and
    /// move the witness forward when everything verified.
    fn finalize(&self, hq_root: &Path, mut r: Report) -> Report {
        for p in &self.note_problems {
            r.notes.bad += 1;
            r.problem(p.clone());
        }
        if self.witness_path.is_some() {
            let w = r.witness.get_or_insert_with(|| WitnessReport {
                ok: true,
                ..Default::default()
            });
            if let Some(m) = &self.remembered {
                w.size = Some(m.size);
                w.root = Some(m.root.clone());
                w.seen = Some(m.seen.clone());
            }
            if let Some(p) = &self.witness_problem {
                w.ok = false;
                r.problem(p.clone());
            }
        }
        r.settle();
        if r.ok
            && let Some(wp) = &self.witness_path
            && let Some(newest) = self
                .checkpoints
                .iter()
                .filter(|c| c.signed_ok)
                .max_by_key(|c| c.size)
        {
            let new = crate::store::witness::Remembered {
                origin: self.origin.clone(),
                hq_root: crate::store::witness::canonical(hq_root),
                size: newest.size,
                root: newest.root.to_ascii_lowercase(),
                seen: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            match crate::store::witness::remember(wp, &new) {
                Ok(true) => {
                    if let Some(w) = r.witness.as_mut() {
                        w.updated = Some(newest.size);
                    }
                }
                Ok(false) => {}
                Err(e) => r
                    .notices
                    .push(format!("the local witness was not updated: {e:#}")),
            }
        }
        r
    }
}

/// Where an incremental verification stopped.
struct Resume {
    scan: Scan,
    prepared: Prepared,
    /// Offset just after the last complete line verified, and lines up to there.
    offset: u64,
    lines: u64,
    /// Identity of the file verified (device, inode).
    id: (u64, u64),
}

/// An incremental verifier for a console's periodic integrity check: it keeps the
/// chain hash, the Merkle frontier, the ids and the counts at the offset it reached,
/// and each [`IncrementalVerifier::verify`] reads only what was appended since. It
/// verifies everything again on its first run, when the ledger shrank or was
/// replaced (another inode), and when keys.json, checkpoints.jsonl, a note or the
/// local witness changed (their claims may concern lines already passed). The
/// result is the same report a full `verify_with` gives.
pub struct IncrementalVerifier {
    hq_root: PathBuf,
    opts: VerifyOptions,
    resume: Option<Resume>,
    last_full: bool,
}

impl IncrementalVerifier {
    pub fn new(hq_root: &Path, opts: VerifyOptions) -> Self {
        IncrementalVerifier {
            hq_root: hq_root.to_path_buf(),
            opts,
            resume: None,
            last_full: false,
        }
    }

    /// Whether the last [`IncrementalVerifier::verify`] read the whole file.
    pub fn last_was_full(&self) -> bool {
        self.last_full
    }

    /// Verify what was appended since the last call (everything, when it must).
    pub fn verify(&mut self) -> anyhow::Result<Report> {
        use std::os::unix::fs::MetadataExt;
        let prepared = Prepared::load(&self.hq_root, &self.opts)?;
        let ledger = self.hq_root.join("hq/ledger/ledger.jsonl");
        let file = match crate::store::fsutil::open_regular(&ledger) {
            Ok(f) => Some(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!("{}: {e}", ledger.display()),
        };
        let meta = match &file {
            Some(f) => Some(f.metadata()?),
            None => None,
        };
        let resumable = match (&self.resume, &meta) {
            (Some(res), Some(m)) => {
                res.prepared == prepared && res.id == (m.dev(), m.ino()) && m.len() >= res.offset
            }
            _ => false,
        };
        if let (true, Some(mut res), Some(file), Some(meta)) =
            (resumable, self.resume.take(), file, meta)
        {
            let end = res
                .scan
                .run(&file, res.offset, res.lines, &mut |_| {})
                .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
            let replaced = crate::store::scan::replaced(&file, &ledger);
            if end.changed.is_none() && !replaced {
                self.last_full = false;
                let r = res.scan.finish(&end);
                let r = prepared.finalize(&self.hq_root, r);
                res.offset = end.bytes;
                res.lines = end.physical_lines;
                // Our own witness update must not force a full pass next time.
                res.prepared = Prepared::load(&self.hq_root, &self.opts)?;
                res.id = (meta.dev(), meta.ino());
                self.resume = Some(res);
                return Ok(r);
            }
        }
        self.full(prepared)
    }

    fn full(&mut self, prepared: Prepared) -> anyhow::Result<Report> {
        use std::os::unix::fs::MetadataExt;
        self.last_full = true;
        self.resume = None;
        let ledger = self.hq_root.join("hq/ledger/ledger.jsonl");
        let mut notices = Vec::new();
        for _ in 0..SCAN_ATTEMPTS {
            let mut scan = Scan::new(
                &ledger,
                &prepared.keys,
                &prepared.checkpoints,
                prepared.malformed.clone(),
                &prepared.expects,
            );
            let file = match crate::store::fsutil::open_regular(&ledger) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    let r = scan.finish(&Default::default());
                    return Ok(prepared.finalize(&self.hq_root, r));
                }
                Err(e) => anyhow::bail!("{}: {e}", ledger.display()),
            };
            let meta = file.metadata()?;
            let mut end = scan
                .run(&file, 0, 0, &mut |_| {})
                .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
            if end.changed.is_none() && crate::store::scan::replaced(&file, &ledger) {
                end.changed = Some(Changed::Replaced);
            }
            if let Some(c) = end.changed {
                notices.push(format!(
                    "{} {c} during verification; verifying it again",
                    ledger.display()
                ));
                continue;
            }
            let r = scan.finish(&end);
            let mut r = prepared.finalize(&self.hq_root, r);
            r.notices.extend(notices);
            self.resume = Some(Resume {
                scan,
                prepared: Prepared::load(&self.hq_root, &self.opts)?,
                offset: end.bytes,
                lines: end.physical_lines,
                id: (meta.dev(), meta.ino()),
            });
            return Ok(r);
        }
        anyhow::bail!(
            "{}: the ledger kept changing during verification ({} attempts: it shrank or was replaced each time); not verified, try again",
            ledger.display(),
            SCAN_ATTEMPTS
        )
    }
}

/// Read a checkpoint note an auditor kept: `Ok(Ok(expect))` when it parses, is for
/// this ledger's origin and is signed by a key in keys.json; `Ok(Err(why))` when not;
/// `Err` when the file cannot be read.
fn load_note(path: &Path, keys: &Keyring, origin: &str) -> anyhow::Result<Result<Expect, String>> {
    use crate::domain::note::{MAX_NOTE_BYTES, parse_checkpoint_note};
    let len = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        .len();
    if len > MAX_NOTE_BYTES as u64 {
        return Ok(Err(format!(
            "{}: {len} bytes, more than a checkpoint note may hold",
            path.display()
        )));
    }
    let bytes = crate::store::fsutil::read_regular(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let note = match parse_checkpoint_note(&bytes) {
        Ok(n) => n,
        Err(e) => return Ok(Err(format!("{}:{e}", path.display()))),
    };
    let cp = &note.checkpoint;
    if cp.origin != origin {
        return Ok(Err(format!(
            "{}: the note is for origin {:?}, this ledger's is {:?}",
            path.display(),
            crate::domain::sanitize::sanitize(&cp.origin),
            crate::domain::sanitize::sanitize(origin)
        )));
    }
    let signed = keys
        .entries
        .iter()
        .any(|e| note_verifies(&note.note, &e.id, &e.key));
    if !signed {
        return Ok(Err(format!(
            "{}: no signature on the note verifies with a key in keys.json",
            path.display()
        )));
    }
    Ok(Ok(Expect {
        what: format!("checkpoint note {}", path.display()),
        size: cp.size,
        root: cp.root,
        kind: ExpectKind::Note,
    }))
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
    verify_file_expecting(
        ledger,
        keys,
        checkpoints,
        malformed_checkpoints,
        &[],
        on_line,
    )
}

/// [`verify_file_with`], and the ledger must also contain each of `expects` (notes an
/// auditor kept, the local witness): the same root at that size.
pub fn verify_file_expecting(
    ledger: &Path,
    keys: &Keyring,
    checkpoints: &[Checkpoint],
    malformed_checkpoints: Vec<String>,
    expects: &[Expect],
    on_line: &mut dyn FnMut(u64),
) -> anyhow::Result<Report> {
    let mut notices = Vec::new();
    for _ in 0..SCAN_ATTEMPTS {
        let (r, changed) = verify_once(
            ledger,
            keys,
            checkpoints,
            malformed_checkpoints.clone(),
            expects,
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
    expects: &[Expect],
    on_line: &mut dyn FnMut(u64),
) -> anyhow::Result<(Report, Option<Changed>)> {
    let mut scan = Scan::new(ledger, keys, checkpoints, malformed_checkpoints, expects);
    let end = if ledger.exists() {
        let file = crate::store::fsutil::open_regular(ledger)
            .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
        let mut end = scan
            .run(&file, 0, 0, on_line)
            .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
        if end.changed.is_none() && crate::store::scan::replaced(&file, ledger) {
            end.changed = Some(Changed::Replaced);
        }
        end
    } else {
        Default::default()
    };
    if let Some(c) = end.changed {
        return Ok((scan.r, Some(c)));
    }
    Ok((scan.finish(&end), None))
}

/// A tree head claimed at a size, owned (the incremental verifier keeps it).
#[derive(Debug, Clone, PartialEq)]
enum Claim {
    Line { line_no: u64, root: String },
    Expect(Expect),
}

impl Claim {
    fn what(&self) -> String {
        match self {
            Claim::Line { line_no, .. } => format!("checkpoint line {line_no}"),
            Claim::Expect(e) => e.what.clone(),
        }
    }
}

/// The state of one pass over the ledger: counts so far, the chain hash and Merkle
/// frontier at the offset reached, the ids seen. [`Scan::run`] can resume it where
/// it stopped (the incremental verifier does).
struct Scan {
    r: Report,
    keys: Keyring,
    at_size: BTreeMap<u64, Vec<Claim>>,
    tree: RootBuilder,
    /// The previous line's SHA-256 (hex-encoded only for a line that names it).
    prev_sha: [u8; 32],
    parser: StatParser,
    seen_ids: IdSet,
    /// Ids of signed lines (few): a second signed line with one of them fails.
    signed_ids: rustc_hash::FxHashMap<String, u64>,
    last_ts: Option<(DateTime<FixedOffset>, u64)>,
    claims: Claims,
}

impl Scan {
    fn new(
        ledger: &Path,
        keys: &Keyring,
        checkpoints: &[Checkpoint],
        malformed_checkpoints: Vec<String>,
        expects: &[Expect],
    ) -> Scan {
        let mut r = Report::default();
        if expects.iter().any(|e| e.kind == ExpectKind::Witness) {
            r.witness = Some(WitnessReport {
                ok: true,
                ..Default::default()
            });
        }
        for m in malformed_checkpoints {
            r.checkpoints.bad += 1;
            r.problem(m);
        }
        // size → tree heads claimed at that size.
        let mut at_size: BTreeMap<u64, Vec<Claim>> = BTreeMap::new();
        for cp in checkpoints {
            if !cp.signed_ok {
                r.checkpoints.bad += 1;
                r.problem(format!(
                    "checkpoint line {}: {}",
                    cp.line_no,
                    cp.why
                        .as_deref()
                        .unwrap_or("signature bad or signer unknown")
                ));
                continue;
            }
            at_size.entry(cp.size).or_default().push(Claim::Line {
                line_no: cp.line_no,
                root: cp.root.clone(),
            });
        }
        for e in expects {
            at_size
                .entry(e.size)
                .or_default()
                .push(Claim::Expect(e.clone()));
        }
        for p in &keys.problems {
            r.problem(format!("keys.json entry left out: {p}"));
        }
        // Ids and timestamps come from the fast line parser (it accepts and rejects
        // exactly what `parse_line` does, with the same reasons); only chained or
        // signed lines are parsed whole, in `trust_members`.
        // Room for the ids up front (growing the table was 6 %): ~150 bytes per
        // line, at most 1 Mi ids so a file of long lines cannot over-reserve much.
        let len = std::fs::metadata(ledger).map_or(0, |m| m.len());
        let seen_ids = IdSet::with_capacity(usize::try_from(len / 150).unwrap_or(0).min(1 << 20));
        let mut scan = Scan {
            r,
            keys: keys.clone(),
            at_size,
            tree: RootBuilder::new(),
            // ZERO_PREV: the hex of 32 zero bytes.
            prev_sha: [0u8; 32],
            parser: StatParser::default(),
            seen_ids,
            signed_ids: rustc_hash::FxHashMap::default(),
            last_ts: None,
            claims: Claims::new(),
        };
        scan.check_claims();
        scan
    }

    /// Check the claims at the tree's current size.
    fn check_claims(&mut self) {
        let Some(claims) = self.at_size.get(&self.tree.size()) else {
            return;
        };
        let root = self.tree.root();
        let hex_root = hex::encode(root);
        for c in claims {
            let (ok, said) = match c {
                Claim::Line { root: said, .. } => {
                    (said.eq_ignore_ascii_case(&hex_root), said.clone())
                }
                Claim::Expect(e) => (e.root == root, hex::encode(e.root)),
            };
            count(&mut self.r, c, ok);
            if !ok {
                self.r.problem(format!(
                    "{}: root at size {} is {hex_root}, it says {said} (history rewritten)",
                    c.what(),
                    self.tree.size()
                ));
            }
        }
    }

    /// Scan `file` from byte `from` (a line start, after `lines_before` lines).
    fn run(
        &mut self,
        file: &std::fs::File,
        from: u64,
        lines_before: u64,
        on_line: &mut dyn FnMut(u64),
    ) -> std::io::Result<crate::store::scan::ScanEnd> {
        // Hashing, parsing and signature checks run on worker threads while this one
        // does what must follow file order (the tree, ids, timestamps, the chain).
        // Below a few MiB the threads cost more than they save.
        let rest = file.metadata()?.len().saturating_sub(from);
        let workers = if rest < PIPELINE_MIN {
            0
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_WORKERS))
        };
        let keys = &self.keys.clone();
        // The id table is the ordered stage (its own thread): it marks each entry's
        // duplicate, if any, before `line` sees it.
        let mut ids = std::mem::take(&mut self.seen_ids);
        let end = crate::store::scan::scan_file_prepared(
            file,
            from,
            lines_before,
            workers,
            || (StatParser::default(), Claims::new()),
            |(parser, claims), bytes| prepare(parser, claims, keys, bytes),
            |first, data: &[u8], prepped: &mut crate::store::scan::Prepped<Prep>| {
                let mut start = 0usize;
                let lines = memchr::memchr_iter(b'\n', data).zip(prepped.iter_mut());
                for (k, (nl, (_, p))) in lines.enumerate() {
                    let bytes = data.get(start..nl).unwrap_or_default();
                    start = nl + 1;
                    if let Some(Prep::Entry {
                        id, id_hash, dup, ..
                    }) = p
                    {
                        *dup = ids.first_or_insert(*id_hash, id.bytes(bytes), first + k as u64);
                    }
                }
            },
            |line, got| {
                on_line(line.no());
                self.line(line, got);
                ControlFlow::Continue(())
            },
        );
        self.seen_ids = ids;
        end
    }

    fn line(&mut self, line: Line<'_>, got: Option<(&LineHashes, &Prep)>) {
        let l = match line {
            Line::Held(l) => l,
            Line::Long(long) => {
                // A reject kept out of memory: its hashes were streamed.
                self.r.lines += 1;
                let h = long.hashes.unwrap_or_else(|| LineHashes::of(&[]));
                self.tree.push_leaf_hash(h.leaf);
                self.check_claims();
                self.r.rejects.push(RejectInfo {
                    line: long.no,
                    offset: long.offset,
                    reason: RejectReason::TooLong(usize::try_from(long.len).unwrap_or(usize::MAX))
                        .to_string(),
                });
                self.prev_sha = h.sha256;
                return;
            }
        };
        if l.bytes.is_empty() {
            return;
        }
        let computed;
        let (h, prep) = match got {
            Some((h, p)) => (*h, p),
            None => {
                // Not reached: a prepared scan prepares every held line. Done here
                // all the same, whole, so a line is never left unchecked.
                let mut p = prepare(&mut self.parser, &self.claims, &self.keys, l.bytes);
                if let Prep::Entry {
                    id, id_hash, dup, ..
                } = &mut p
                {
                    *dup = self
                        .seen_ids
                        .first_or_insert(*id_hash, id.bytes(l.bytes), l.no);
                }
                computed = p;
                (LineHashes::of(l.bytes), &computed)
            }
        };
        self.r.lines += 1;
        self.tree.push_leaf_hash(h.leaf);
        self.check_claims();
        let r = &mut self.r;
        match prep {
            Prep::Empty => {}
            Prep::Reject(reason) => r.rejects.push(RejectInfo {
                line: l.no,
                offset: l.offset,
                reason: reason.clone(),
            }),
            Prep::Entry {
                id,
                timestamp,
                trust,
                dup,
                ..
            } => {
                let id = id.bytes(l.bytes);
                r.entries += 1;
                if let Some(first) = dup {
                    let w = format!(
                        "line {}: duplicate id {} (first at line {first})",
                        l.no,
                        String::from_utf8_lossy(id)
                    );
                    r.warn(w);
                }
                if let Some((t, at)) = self.last_ts
                    && *timestamp < t
                {
                    r.warn(format!(
                        "line {}: timestamp {} is earlier than line {at}'s {}",
                        l.no,
                        timestamp.to_rfc3339(),
                        t.to_rfc3339()
                    ));
                }
                if self.last_ts.is_none_or(|(t, _)| *timestamp >= t) {
                    self.last_ts = Some((*timestamp, l.no));
                }
                if apply_trust(r, trust, l.no, l.offset, &self.prev_sha) {
                    let id = String::from_utf8_lossy(id);
                    if let Some(first) = self.signed_ids.get(id.as_ref()) {
                        r.duplicate_signed_ids += 1;
                        r.problem(format!(
                            "line {}: signed id {} was already used by the signed line {first} (replayed or forged)",
                            l.no,
                            crate::domain::sanitize::sanitize(&id)
                        ));
                    } else {
                        self.signed_ids.insert(id.into_owned(), l.no);
                    }
                }
            }
        }
        self.prev_sha = h.sha256;
    }

    /// The report as of the end of a scan that ended at `end` (the state itself is
    /// left as it was, so a later scan can resume it).
    fn finish(&self, end: &crate::store::scan::ScanEnd) -> Report {
        let mut r = self.r.clone();
        if let Some((no, off, len)) = end.pending {
            r.pending = true;
            r.warn(format!(
                "line {no} (offset {off}, {len} bytes) is pending: no final newline yet"
            ));
        }
        for (size, claims) in self.at_size.range(self.tree.size() + 1..) {
            for c in claims {
                count(&mut r, c, false);
                r.problem(format!(
                    "{}: size {size} but the ledger has only {} lines (history truncated)",
                    c.what(),
                    self.tree.size()
                ));
            }
        }
        if r.legacy > 0 {
            r.warn(format!(
                "legacy: replayable: {} signed line(s) carry no `offset` (written before offsets were signed); a copy of one would not be detected",
                r.legacy
            ));
        }
        r.settle();
        r
    }
}

fn count(r: &mut Report, c: &Claim, ok: bool) {
    let slot = match c {
        Claim::Line { .. } => &mut r.checkpoints,
        Claim::Expect(e) if e.kind == ExpectKind::Note => &mut r.notes,
        Claim::Expect(_) => {
            if let Some(w) = r.witness.as_mut() {
                w.ok = ok;
            }
            return;
        }
    };
    if ok {
        slot.ok += 1;
    } else {
        slot.bad += 1;
    }
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
    /// (One `memchr2` pass over quotes and backslashes instead was slower: ~20
    /// quotes a line.)
    fn in_line(&self, line: &[u8]) -> bool {
        self.prev.find(line).is_some()
            || self.sig.find(line).is_some()
            || self.signer.find(line).is_some()
            || memchr::memchr(b'\\', line).is_some()
    }
}

/// The ids seen so far and the line of each one's first use, without a `String` per
/// id (allocating and freeing those was ~15 % of `verify`): the bytes live in one
/// arena, a table maps an FxHash of the id to a chain of entries, and a hit is only a
/// hit when the bytes are equal, so colliding hashes cost time, never a false warning.
/// Hand-written because std's map cannot look up borrowed keys into an arena.
#[derive(Debug, Clone, Default, PartialEq)]
struct IdSet {
    heads: rustc_hash::FxHashMap<u64, usize>,
    entries: Vec<IdEntry>,
    arena: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq)]
struct IdEntry {
    start: usize,
    len: usize,
    line: u64,
    /// The next entry with the same hash.
    next: Option<usize>,
}

impl IdSet {
    fn with_capacity(n: usize) -> IdSet {
        let mut s = IdSet::default();
        s.heads.reserve(n);
        s.entries.reserve(n);
        s.arena.reserve(n.saturating_mul(32));
        s
    }

    /// The key [`IdSet::first_or_insert`] wants for `id` (computed on the worker
    /// threads).
    fn key(id: &[u8]) -> u64 {
        use std::hash::{BuildHasher, Hasher};
        let mut h = rustc_hash::FxBuildHasher.build_hasher();
        h.write(id);
        h.finish()
    }

    /// The first line of `id` (whose [`IdSet::key`] is `key`) if seen before;
    /// otherwise remember it at `line`.
    fn first_or_insert(&mut self, key: u64, id: &[u8], line: u64) -> Option<u64> {
        let head = self.heads.get(&key).copied();
        let mut at = head;
        while let Some(i) = at {
            let e = self.entries.get(i)?;
            if self.arena.get(e.start..e.start + e.len) == Some(id) {
                return Some(e.line);
            }
            at = e.next;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(id);
        self.entries.push(IdEntry {
            start,
            len: id.len(),
            line,
            next: head,
        });
        self.heads.insert(key, self.entries.len() - 1);
        None
    }
}

/// Below this many bytes to read, [`Scan::run`] uses no worker threads.
const PIPELINE_MIN: u64 = 2 << 20;
/// At most this many worker threads.
const MAX_WORKERS: usize = 4;

/// What a worker thread finds in one line, before the checks that need the lines
/// before it.
enum Prep {
    /// Nothing (an empty line).
    Empty,
    /// Not an entry: why.
    Reject(String),
    Entry {
        id: IdBytes,
        /// [`IdSet::key`] of the id.
        id_hash: u64,
        timestamp: DateTime<FixedOffset>,
        trust: Trust,
        /// The line that used the id first, when it is a duplicate (the id table's
        /// stage fills it in).
        dup: Option<u64>,
    },
}

/// An entry's id: where it stands in the line, or unescaped.
enum IdBytes {
    At(usize, usize),
    Owned(Box<str>),
}

impl IdBytes {
    fn of(line: &[u8], id: &str) -> IdBytes {
        // An id borrowed from the line is a slice of it: keep where, not a copy. The
        // bytes are compared, so an id that is not in the line (unescaped, owned)
        // can never be mistaken for a slice of it.
        let start = (id.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
        if line.get(start..start.saturating_add(id.len())) == Some(id.as_bytes()) {
            return IdBytes::At(start, id.len());
        }
        IdBytes::Owned(id.into())
    }

    fn bytes<'a>(&'a self, line: &'a [u8]) -> &'a [u8] {
        match self {
            IdBytes::At(start, len) => line.get(*start..start + len).unwrap_or_default(),
            IdBytes::Owned(s) => s.as_bytes(),
        }
    }
}

/// The chain and signature members of an entry, as far as they can be checked
/// without the line before it.
enum Trust {
    /// No `prev`, `sig` or `signer`: unchained and unsigned.
    Plain,
    /// Boxed: most lines are plain, and every line's result crosses threads.
    Members(Box<Members>),
}

struct Members {
    prev: Option<Value>,
    /// Signed (`sig` or `signer`): why the signature fails (`None`: it holds), and
    /// the `offset` it was signed for.
    signed: Option<(Option<String>, Option<Value>)>,
}

/// Everything about one line that does not depend on the lines before it: the entry
/// fields, the chain members and the signature check (run on the worker threads).
fn prepare(parser: &mut StatParser, claims: &Claims, keys: &Keyring, line: &[u8]) -> Prep {
    if line.is_empty() {
        return Prep::Empty;
    }
    let e = match parser.parse_bytes(line) {
        Ok(e) => e,
        Err(reason) => return Prep::Reject(reason.to_string()),
    };
    let id = IdBytes::of(line, &e.id);
    Prep::Entry {
        id_hash: IdSet::key(e.id.as_bytes()),
        id,
        timestamp: e.timestamp,
        trust: trust_members(keys, claims, &e.timestamp, line),
        dup: None,
    }
}

/// The chain members and signature of an accepted entry.
fn trust_members(
    keys: &Keyring,
    claims: &Claims,
    timestamp: &DateTime<FixedOffset>,
    line: &[u8],
) -> Trust {
    // Only chained or signed lines need these members; most lines skip this parse.
    if !claims.in_line(line) {
        return Trust::Plain;
    }
    let Ok(Value::Object(mut obj)) = serde_json::from_slice::<Value>(line) else {
        return Trust::Plain;
    };
    let prev = obj.remove("prev");
    if !(obj.contains_key("sig") || obj.contains_key("signer")) {
        return Trust::Members(Box::new(Members { prev, signed: None }));
    }
    let who = obj.get("signer").and_then(Value::as_str).unwrap_or("?");
    let check = if matches!(obj.get("sig"), Some(Value::String(_))) {
        keys.check(who, timestamp, |k| verify_line(k, line))
    } else {
        crate::domain::keyring::SigCheck::BadSignature
    };
    let why = crate::store::keys::sig_check_reason(&check, who);
    Trust::Members(Box::new(Members {
        prev,
        signed: Some((why, obj.remove("offset"))),
    }))
}

/// Chain, signature and offset results of the entry at line `no`, byte `offset`,
/// whose previous line hashes to `prev_sha`. True when the line is signed (carries
/// `sig` or `signer`).
fn apply_trust(r: &mut Report, trust: &Trust, no: u64, offset: u64, prev_sha: &[u8; 32]) -> bool {
    let Trust::Members(m) = trust else {
        r.unchained += 1;
        return false;
    };
    let mut prev_hash = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(prev_sha, &mut prev_hash);
    let Members { prev, signed } = m.as_ref();
    match prev {
        None => r.unchained += 1,
        Some(Value::String(p)) if p.as_bytes() == prev_hash => r.chain.ok += 1,
        Some(other) => {
            r.chain.broken += 1;
            r.problem(format!(
                "line {no}: prev {other} does not match the previous line's hash {}",
                String::from_utf8_lossy(&prev_hash)
            ));
        }
    }
    let Some((why, signed_offset)) = signed else {
        return false;
    };
    match why {
        None => r.signatures.ok += 1,
        Some(why) => {
            r.signatures.bad += 1;
            r.problem(format!("line {no}: {why}"));
        }
    }
    match signed_offset {
        None => r.legacy += 1,
        Some(v) if v.as_u64() == Some(offset) => r.offsets.ok += 1,
        Some(v) => {
            r.offsets.bad += 1;
            r.problem(format!(
                "line {no}: signed for offset {} but stands at offset {offset} (moved or replayed, or bytes were inserted or deleted before it)",
                crate::domain::sanitize::sanitize(&v.to_string()),
            ));
        }
    }
    true
}
