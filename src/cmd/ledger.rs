//! `lumen ledger verify|stats|prove|checkpoint|append` (docs/ledger.md and docs/formats.md).
//!
//! Exit 2 (one line on stderr) when the HQ root is not a directory or, for verify,
//! stats, prove and checkpoint, when there is no ledger file; `append` also needs
//! `hq/registry/keys.json` and creates only the ledger file (and its directory).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cli::{
    GlobalArgs, LedgerAppendArgs, LedgerCommand, LedgerProveArgs, LedgerStatsArgs, LedgerVerifyArgs,
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
