//! `lumen ledger verify|stats|prove|checkpoint|append` (SPEC §4, §9).

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::cli::{GlobalArgs, LedgerAppendArgs, LedgerCommand, LedgerProveArgs, LedgerStatsArgs};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::sanitize::sanitize;
use crate::ledger::append::{Identity, append_signed, identity};
use crate::ledger::prove::{ProveError, checkpoint, prove};
use crate::ledger::stats::{Month, Rates, stats_file};
use crate::ledger::verify::verify;

fn hq_root(g: &GlobalArgs) -> PathBuf {
    g.hq.clone().unwrap_or_else(|| PathBuf::from("."))
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
        LedgerCommand::Verify => run_verify(g),
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

pub fn run_verify(g: &GlobalArgs) -> CmdResult {
    let report = verify(&hq_root(g))?;
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
    let hq = hq_root(g);
    let rates = Rates::load(&hq)?;
    let stats = stats_file(&ledger_path(&hq), &rates, month)?;
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
    let proof = match prove(&ledger_path(&hq_root(g)), &args.id, args.size) {
        Ok(p) => p,
        Err(ProveError::Io(e)) => return Err(CmdError::Io(e)),
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
    let who = load_identity(g)?;
    let hq = hq_root(g);
    let cp = checkpoint(&ledger_path(&hq), &checkpoints_path(&hq), &who)?;
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
    let who = load_identity(g)?;
    let appended = append_signed(&ledger_path(&hq_root(g)), &who, fields)?;
    if g.json {
        print_json(&serde_json::json!({"id": appended.id, "line": appended.line_no}))?;
    } else {
        outln!("{}", sanitize(&appended.line));
    }
    Ok(Outcome::Ok)
}
