//! `lumen ledger verify|stats|prove|checkpoint|append|tiles` (docs/ledger.md and docs/formats.md).
//!
//! Exit 2 (one line on stderr) when the HQ root is not a directory or, for verify,
//! stats, prove and checkpoint, when there is no ledger file; `append` also needs
//! `hq/registry/keys.json` and creates only the ledger file (and its directory).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cli::{
    GlobalArgs, LedgerAppendArgs, LedgerCommand, LedgerProveArgs, LedgerStatsArgs, LedgerTilesArgs,
    LedgerVerifyArgs,
};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::sanitize::sanitize;
use crate::store::append::{Identity, append_signed, identity};
use crate::store::keys::keys_path;
use crate::store::prove::{ProveError, Target, checkpoint, consistency, prove};
use crate::store::stats::{Month, Rates, stats_file};
use crate::store::verify::{VerifyOptions, verify_with};

fn hq_root(g: &GlobalArgs) -> PathBuf {
    g.hq.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// The HQ root must be a directory: a typo in `--hq` must not read as a clean, empty
/// ledger (exit 2, one line).
fn require_root(hq: &Path) -> Result<(), CmdError> {
    match std::fs::metadata(hq) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(CmdError::usage(format!(
            "no HQ root at {}: not a directory",
            hq.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CmdError::usage(format!(
            "no HQ root at {} (give the HQ directory with --hq DIR)",
            hq.display()
        ))),
        Err(e) => Err(CmdError::Io(anyhow::anyhow!("{}: {e}", hq.display()))),
    }
}

/// The HQ root and its ledger file, both present (an empty file is an empty ledger);
/// else exit 2 naming what is missing.
fn existing_ledger(g: &GlobalArgs) -> Result<(PathBuf, PathBuf), CmdError> {
    let hq = hq_root(g);
    require_root(&hq)?;
    let ledger = ledger_path(&hq);
    match std::fs::metadata(&ledger) {
        Ok(_) => Ok((hq, ledger)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(CmdError::usage(format!(
            "no ledger at {} (an empty file is an empty ledger; no file is an error)",
            ledger.display()
        ))),
        Err(e) => Err(CmdError::Io(anyhow::anyhow!("{}: {e}", ledger.display()))),
    }
}

/// Notes about the scan (the file shrank or was replaced and was read again), on
/// stderr so `--json` output stays the contract.
fn print_notices(cmd: &str, notices: &[String]) {
    for n in notices {
        errln!("lumen ledger {cmd}: warning: {}", n);
    }
}

pub fn ledger_path(hq: &Path) -> PathBuf {
    hq.join("hq").join("ledger").join("ledger.jsonl")
}

pub fn checkpoints_path(hq: &Path) -> PathBuf {
    hq.join("hq").join("ledger").join("checkpoints.jsonl")
}

/// Dispatch for `lumen ledger …`.
pub fn run_ledger(cmd: &LedgerCommand, g: &GlobalArgs) -> CmdResult {
    match cmd {
        LedgerCommand::Verify(a) => run_verify(a, g),
        LedgerCommand::Stats(a) => run_stats(a, g),
        LedgerCommand::Prove(a) => run_prove(a, g),
        LedgerCommand::Checkpoint => run_checkpoint(g),
        LedgerCommand::Append(a) => run_append(a, g),
        LedgerCommand::Tiles(a) => run_tiles(a, g),
    }
}

fn load_identity(g: &GlobalArgs) -> Result<Identity, CmdError> {
    let key = g
        .key
        .as_ref()
        .ok_or_else(|| CmdError::usage("--key FILE is required to sign"))?;
    identity(&hq_root(g), key).map_err(|e| CmdError::refused(e.to_string()))
}

/// Where the local witness keeps what this machine verified: `<data dir>/witness`.
pub fn witness_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "lumen").map(|d| d.data_dir().join("witness"))
}

pub fn run_verify(args: &LedgerVerifyArgs, g: &GlobalArgs) -> CmdResult {
    let (hq, _) = existing_ledger(g)?;
    let witness = if args.no_witness {
        None
    } else {
        Some(witness_dir().ok_or_else(|| {
            CmdError::usage(
                "no data directory for the local witness (set HOME, or pass --no-witness)",
            )
        })?)
    };
    let opts = VerifyOptions {
        witness_dir: witness,
        notes: args.checkpoints.clone(),
    };
    let report = verify_with(&hq, &opts)?;
    print_notices("verify", &report.notices);
    if g.json {
        print_json(&report)?;
    } else {
        outln!(
            "{} lines, {} entries, {} rejects{}",
            report.lines,
            report.entries,
            report.rejects.len(),
            if report.pending {
                ", last line pending"
            } else {
                ""
            }
        );
        outln!(
            "chain: {} ok, {} broken; {} unchained; signatures: {} ok, {} bad; checkpoints: {} ok, {} bad",
            report.chain.ok,
            report.chain.broken,
            report.unchained,
            report.signatures.ok,
            report.signatures.bad,
            report.checkpoints.ok,
            report.checkpoints.bad
        );
        outln!(
            "offsets: {} ok, {} moved; {} legacy signed lines without offset; {} duplicate signed ids",
            report.offsets.ok,
            report.offsets.bad,
            report.legacy,
            report.duplicate_signed_ids
        );
        if report.notes.ok + report.notes.bad > 0 {
            outln!(
                "checkpoint notes: {} extended, {} not",
                report.notes.ok,
                report.notes.bad
            );
        }
        match &report.witness {
            None => outln!("local witness: skipped"),
            Some(w) => outln!(
                "local witness: {}{}",
                match (w.size, &w.seen) {
                    (Some(n), Some(seen)) => format!(
                        "remembered size {n} (seen {}) {}",
                        sanitize(seen),
                        if w.ok {
                            "still contained"
                        } else {
                            "NOT contained"
                        }
                    ),
                    _ => "nothing remembered yet".to_string(),
                },
                w.updated
                    .map(|n| format!("; now remembers size {n}"))
                    .unwrap_or_default()
            ),
        }
        for r in &report.rejects {
            outln!(
                "reject line {} (offset {}): {}",
                r.line,
                r.offset,
                sanitize(&r.reason)
            );
        }
        for w in &report.warnings {
            outln!("warning: {}", sanitize(w));
        }
        for p in &report.problems {
            outln!("FAIL: {}", sanitize(p));
        }
        outln!(
            "{}",
            if report.ok {
                "ledger OK"
            } else {
                "ledger FAILED verification"
            }
        );
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

pub fn run_stats(args: &LedgerStatsArgs, g: &GlobalArgs) -> CmdResult {
    let month = match &args.month {
        Some(m) => Some(m.parse::<Month>().map_err(CmdError::usage)?),
        None => None,
    };
    let (hq, ledger) = existing_ledger(g)?;
    let rates = Rates::load(&hq)?;
    let stats = stats_file(&ledger, &rates, month)?;
    print_notices("stats", &stats.notices);
    if g.json {
        print_json(&stats)?;
        return Ok(Outcome::Ok);
    }
    outln!(
        "{} lines, {} entries, {} rejects{}",
        stats.lines,
        stats.entries,
        stats.rejects,
        if stats.pending {
            ", last line pending"
        } else {
            ""
        }
    );
    outln!(
        "{:<24} {:>10} {:>14} {:>14}",
        "branch",
        "entries",
        "tokens",
        "cost"
    );
    for (id, b) in &stats.branches {
        outln!(
            "{:<24} {:>10} {:>14} {:>14.4}",
            sanitize(id),
            b.entries,
            b.tokens,
            b.cost
        );
    }
    outln!(
        "{:<24} {:>10} {:>14} {:>14.4}",
        "total",
        stats.entries,
        stats.totals.tokens,
        stats.totals.cost
    );
    Ok(Outcome::Ok)
}

pub fn run_prove(args: &LedgerProveArgs, g: &GlobalArgs) -> CmdResult {
    let (_, ledger) = existing_ledger(g)?;
    if let Some(old) = args.consistency {
        let p = consistency(&ledger, old, args.size)?;
        if g.json {
            print_json(&p.to_json())?;
        } else {
            outln!("old_size  {}", p.old_size);
            outln!("size      {}", p.size);
            outln!("old_root  {}", hex::encode(p.old_root));
            outln!("root      {}", hex::encode(p.root));
            for (i, h) in p.path.iter().enumerate() {
                outln!("path[{i}]   {}", hex::encode(h));
            }
        }
        return Ok(Outcome::Ok);
    }
    let target = match (&args.id, args.index) {
        (Some(id), _) => Target::Id(id),
        (None, Some(i)) => Target::Index(i),
        (None, None) => return Err(CmdError::usage("give --id, --index or --consistency")),
    };
    let proof = match prove(&ledger, target, args.size) {
        Ok(p) => p,
        Err(ProveError::Io(e)) => return Err(CmdError::Io(e)),
        // Which entry is meant is the user's to say: a usage error (exit 2).
        Err(e @ ProveError::NotUnique { .. }) => return Err(CmdError::usage(e.to_string())),
        Err(e) => return Err(CmdError::refused(e.to_string())),
    };
    if g.json {
        print_json(&proof)?;
    } else {
        outln!("id        {}", sanitize(&proof.id));
        outln!("index     {}", proof.index);
        outln!("size      {}", proof.size);
        outln!("root      {}", proof.root);
        outln!("leaf_hash {}", proof.leaf_hash);
        for (i, h) in proof.path.iter().enumerate() {
            outln!("path[{i}]   {h}");
        }
    }
    Ok(Outcome::Ok)
}

pub fn run_checkpoint(g: &GlobalArgs) -> CmdResult {
    let (hq, ledger) = existing_ledger(g)?;
    let who = load_identity(g)?;
    let cp = checkpoint(&ledger, &checkpoints_path(&hq), &who)?;
    print_json(&cp)?;
    Ok(Outcome::Ok)
}

pub fn run_append(args: &LedgerAppendArgs, g: &GlobalArgs) -> CmdResult {
    let mut fields = Map::new();
    fields.insert("branch".into(), Value::String(args.branch.clone()));
    fields.insert("event".into(), Value::String(args.event.clone()));
    if let Some(s) = &args.status {
        fields.insert("status".into(), Value::String(s.clone()));
    }
    fields.insert("actor".into(), Value::String(args.actor.clone()));
    if let Some(t) = &args.target {
        fields.insert("target".into(), Value::String(t.clone()));
    }
    if let Some(t) = args.tokens {
        fields.insert("tokens".into(), Value::from(t));
    }
    if let Some(c) = args.cost {
        let n = serde_json::Number::from_f64(c)
            .ok_or_else(|| CmdError::usage(format!("--cost {c} is not a finite number")))?;
        fields.insert("cost".into(), Value::Number(n));
    }
    for kv in &args.fields {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| CmdError::usage(format!("--field {kv:?}: expected K=V")))?;
        if k.is_empty() {
            return Err(CmdError::usage(format!("--field {kv:?}: empty key")));
        }
        if [
            "id",
            "branch",
            "event",
            "status",
            "actor",
            "timestamp",
            "offset",
            "prev",
            "signer",
            "sig",
        ]
        .contains(&k)
            || fields.contains_key(k)
        {
            return Err(CmdError::usage(format!(
                "--field {k}: set by its own flag or by the append path"
            )));
        }
        fields.insert(k.to_string(), Value::String(v.to_string()));
    }
    // A signed append needs a real HQ root with its keyring; it never makes a new
    // tree where there is none (the ledger file itself is created on first use).
    let hq = hq_root(g);
    require_root(&hq)?;
    let keys = keys_path(&hq);
    if let Err(e) = std::fs::metadata(&keys) {
        return Err(if e.kind() == std::io::ErrorKind::NotFound {
            CmdError::usage(format!(
                "no keyring at {}: nothing can be signed under this HQ root",
                keys.display()
            ))
        } else {
            CmdError::Io(anyhow::anyhow!("{}: {e}", keys.display()))
        });
    }
    let who = load_identity(g)?;
    let appended = append_signed(&ledger_path(&hq), &who, fields)?;
    if g.json {
        print_json(&serde_json::json!({"id": appended.id, "line": appended.line_no}))?;
    } else {
        outln!("{}", sanitize(&appended.line));
    }
    Ok(Outcome::Ok)
}

/// The `ledger tiles --json` object.
#[derive(Debug, serde::Serialize)]
struct TilesReport {
    out: String,
    size: u64,
    root: String,
    /// Hash tiles written (full and partial, every level).
    tiles: u64,
    /// Entry bundles written.
    entry_bundles: u64,
    /// Why entry bundles stopped before the end (an entry too long for one), if they did.
    entry_bundles_stopped: Option<String>,
    /// The size of the checkpoint note copied to `<out>/checkpoint`, if one was.
    checkpoint: Option<u64>,
    /// Why hq/ledger/checkpoint was not copied, when it exists and was not.
    checkpoint_skipped: Option<String>,
}

/// Writes tiles under the output directory, each to a temporary file renamed into
/// place, so a reader never sees half a tile.
struct TileDir<'a> {
    out: &'a Path,
    tiles: u64,
    bundles: u64,
}

impl TileDir<'_> {
    fn put(&self, rel: &str, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        let path = self.out.join(rel);
        let dir = path.parent().unwrap_or(self.out);
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        tmp.write_all(bytes)
            .map_err(|e| anyhow::anyhow!("{}: {e}", tmp.path().display()))?;
        tmp.persist(&path)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.error))?;
        Ok(())
    }

    fn tile(&mut self, t: &crate::domain::tiles::Tile, bytes: &[u8]) -> anyhow::Result<()> {
        self.put(&t.path(), bytes)?;
        self.tiles += 1;
        Ok(())
    }

    fn bundle(&mut self, t: &crate::domain::tiles::Tile, bytes: &[u8]) -> anyhow::Result<()> {
        if let Some(p) = t.entries_path() {
            self.put(&p, bytes)?;
            self.bundles += 1;
        }
        Ok(())
    }
}

/// `lumen ledger tiles --out DIR`: the Merkle tree of every complete non-empty line
/// (the tree `prove` and `checkpoint` use) as C2SP tlog-tiles under DIR, in one
/// streaming pass. When hq/ledger/checkpoint names a size the ledger reaches with the
/// same root, its partial tiles are written too and the note is copied to
/// DIR/checkpoint, so a tile client can start from it.
pub fn run_tiles(args: &LedgerTilesArgs, g: &GlobalArgs) -> CmdResult {
    use crate::domain::merkle::{RootBuilder, leaf_hash};
    use crate::domain::tiles::{BundleBuilder, TileBuilder};
    use crate::store::scan::{Line, LineHashes, ScanOptions, scan_lines};
    use std::ops::ControlFlow;

    let (hq, ledger) = existing_ledger(g)?;
    let note_path = hq.join("hq").join("ledger").join("checkpoint");
    let mut skipped = None;
    let note = match crate::store::fsutil::read_regular(&note_path) {
        Ok(bytes) => match crate::domain::note::parse_checkpoint_note(&bytes) {
            Ok(n) => Some((bytes, n.checkpoint.size, n.checkpoint.root)),
            Err(e) => {
                skipped = Some(format!("{}:{e}", note_path.display()));
                None
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            skipped = Some(format!("{}: {e}", note_path.display()));
            None
        }
    };
    let mut dir = TileDir {
        out: &args.out,
        tiles: 0,
        bundles: 0,
    };
    let mut tiles = TileBuilder::new();
    let mut bundles = Some(BundleBuilder::new());
    let mut stopped = None;
    let mut tree = RootBuilder::new();
    let mut note_ok = false;
    let mut failed = None;
    let mut leaf = |l: Line<'_>| -> anyhow::Result<()> {
        let (hash, bytes) = match l {
            Line::Held(r) => (leaf_hash(r.bytes), Some(r.bytes)),
            Line::Long(x) => (x.hashes.unwrap_or_else(|| LineHashes::of(&[])).leaf, None),
        };
        let index = tree.size();
        tree.push_leaf_hash(hash);
        for (t, b) in tiles.push_leaf_hash(hash) {
            dir.tile(&t, &b)?;
        }
        if let Some(bb) = bundles.as_mut() {
            let pushed = match bytes {
                Some(b) => bb.push_entry(b).map_err(|e| e.to_string()),
                None => Err(format!(
                    "entry {index} is {} bytes; an entry bundle holds at most {}",
                    l.len(),
                    crate::domain::tiles::MAX_ENTRY_BYTES
                )),
            };
            match pushed {
                Ok(Some((t, b))) => dir.bundle(&t, &b)?,
                Ok(None) => {}
                Err(why) => {
                    stopped = Some(why);
                    bundles = None;
                }
            }
        }
        if let Some((_, size, root)) = &note
            && tree.size() == *size
        {
            if tree.root() == *root {
                note_ok = true;
                for (t, b) in tiles.partial_tiles() {
                    dir.tile(&t, &b)?;
                }
                if let Some((t, b)) = bundles.as_ref().and_then(BundleBuilder::partial) {
                    dir.bundle(&t, &b)?;
                }
            } else {
                skipped = Some(format!(
                    "{}: its root at size {size} is not the ledger's",
                    note_path.display()
                ));
            }
        }
        Ok(())
    };
    let opts = ScanOptions {
        hash_long_lines: true,
    };
    let end = scan_lines(&ledger, opts, |l| {
        if l.is_empty() {
            return ControlFlow::Continue(());
        }
        match leaf(l) {
            Ok(()) => ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                ControlFlow::Break(())
            }
        }
    })
    .map_err(|e| CmdError::Io(anyhow::anyhow!("{}: {e}", ledger.display())))?;
    if let Some(e) = failed {
        return Err(CmdError::Io(e));
    }
    if let Some(c) = end.changed {
        return Err(CmdError::Io(anyhow::anyhow!(
            "{}: {c} while it was being read; the tiles under {} may mix two versions of it: run again",
            ledger.display(),
            args.out.display()
        )));
    }
    for (t, b) in tiles.partial_tiles() {
        dir.tile(&t, &b)?;
    }
    if let Some((t, b)) = bundles.as_ref().and_then(BundleBuilder::partial) {
        dir.bundle(&t, &b)?;
    }
    let mut copied = None;
    match &note {
        Some((bytes, size, _)) if note_ok => {
            dir.put("checkpoint", bytes)?;
            copied = Some(*size);
        }
        Some((_, size, _)) if *size > tree.size() => {
            skipped = Some(format!(
                "{}: size {size} but the ledger has only {} complete lines",
                note_path.display(),
                tree.size()
            ));
        }
        _ => {}
    }
    let report = TilesReport {
        out: args.out.display().to_string(),
        size: tree.size(),
        root: hex::encode(tree.root()),
        tiles: dir.tiles,
        entry_bundles: dir.bundles,
        entry_bundles_stopped: stopped,
        checkpoint: copied,
        checkpoint_skipped: skipped,
    };
    if g.json {
        print_json(&report)?;
    } else {
        outln!("size        {}", report.size);
        outln!("root        {}", report.root);
        outln!(
            "tiles       {} under {}",
            report.tiles,
            sanitize(&report.out)
        );
        match &report.entry_bundles_stopped {
            None => outln!("bundles     {}", report.entry_bundles),
            Some(why) => outln!(
                "bundles     {} (then none: {})",
                report.entry_bundles,
                sanitize(why)
            ),
        }
        match (report.checkpoint, &report.checkpoint_skipped) {
            (Some(size), _) => outln!("checkpoint  copied (size {size})"),
            (None, Some(why)) => outln!("checkpoint  not copied: {}", sanitize(why)),
            (None, None) => outln!("checkpoint  none (run `lumen ledger checkpoint` first)"),
        }
    }
    Ok(Outcome::Ok)
}
