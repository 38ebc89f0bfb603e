//! Merkle tree heads over the ledger file (SPEC §4.3): root, audit paths for
//! `lumen ledger prove`, and signed checkpoints for `lumen ledger checkpoint`.
//! Leaves are the file's complete non-empty lines; memory is O(log n).

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::ledger::parse_line;
use crate::domain::merkle::{PathBuilder, RootBuilder, leaf_hash};
use crate::domain::signing::sign_line;
use crate::ledger::append::Identity;
use crate::ledger::scan::for_each_line;

/// Root and size over the first `size` leaves (all complete lines when `None`).
pub fn tree_head(ledger: &Path, size: Option<u64>) -> anyhow::Result<(u64, [u8; 32])> {
    let mut b = RootBuilder::new();
    if ledger.exists() {
        for_each_line(ledger, |l| {
            if l.bytes.is_empty() {
                return ControlFlow::Continue(());
            }
            if size.is_some_and(|n| b.size() >= n) {
                return ControlFlow::Break(());
            }
            b.push_data(l.bytes);
            ControlFlow::Continue(())
        })
        .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
    }
    if let Some(n) = size
        && b.size() < n
    {
        anyhow::bail!("the ledger has only {} complete lines, not {n}", b.size());
    }
    Ok((b.size(), b.root()))
}

/// The SPEC §9 `ledger prove --json` object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Proof {
    pub id: String,
    pub index: u64,
    pub size: u64,
    pub root: String,
    pub leaf_hash: String,
    pub path: Vec<String>,
}

/// Why a proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error("no entry with id {0} in the ledger")]
    NotFound(String),
    #[error("entry {id} is leaf {index}, outside a tree of size {size}")]
    OutsideTree { id: String, index: u64, size: u64 },
    #[error("{0:#}")]
    Io(#[from] anyhow::Error),
}

/// Audit path for the first entry whose id is `id`, in the tree of the first `size`
/// leaves (default: every complete line). Two streaming passes.
pub fn prove(ledger: &Path, id: &str, size: Option<u64>) -> Result<Proof, ProveError> {
    let io = |e: std::io::Error| ProveError::Io(anyhow::anyhow!("{}: {e}", ledger.display()));
    if !ledger.exists() {
        return Err(ProveError::NotFound(id.to_string()));
    }
    let needle = serde_json::to_string(id).map_err(|e| ProveError::Io(e.into()))?;
    let mut leaves = 0u64;
    let mut found: Option<u64> = None;
    for_each_line(ledger, |l| {
        if l.bytes.is_empty() {
            return ControlFlow::Continue(());
        }
        let index = leaves;
        leaves += 1;
        // Cheap substring test first; escapes in the line force a real parse.
        let maybe = memchr::memmem::find(l.bytes, needle.as_bytes()).is_some()
            || memchr::memchr(b'\\', l.bytes).is_some();
        if found.is_none() && maybe && parse_line(l.bytes).is_ok_and(|e| e.id == id) {
            found = Some(index);
        }
        ControlFlow::Continue(())
    })
    .map_err(io)?;
    let index = found.ok_or_else(|| ProveError::NotFound(id.to_string()))?;
    let size = match size {
        Some(n) if n > leaves => {
            return Err(ProveError::Io(anyhow::anyhow!(
                "the ledger has only {leaves} complete lines, not {n}"
            )));
        }
        Some(n) => n,
        None => leaves,
    };
    if index >= size {
        return Err(ProveError::OutsideTree {
            id: id.to_string(),
            index,
            size,
        });
    }
    let mut path = PathBuilder::new(index, size);
    let mut root = RootBuilder::new();
    let mut leaf = [0u8; 32];
    for_each_line(ledger, |l| {
        if l.bytes.is_empty() {
            return ControlFlow::Continue(());
        }
        if root.size() >= size {
            return ControlFlow::Break(());
        }
        let h = leaf_hash(l.bytes);
        if root.size() == index {
            leaf = h;
        }
        path.push_leaf_hash(h);
        root.push_leaf_hash(h);
        ControlFlow::Continue(())
    })
    .map_err(io)?;
    Ok(Proof {
        id: id.to_string(),
        index,
        size,
        root: hex::encode(root.root()),
        leaf_hash: hex::encode(leaf),
        path: path.finish().iter().map(hex::encode).collect(),
    })
}

/// Compute the current tree head, sign it and append it to `checkpoints` (locked,
/// O_APPEND, one write, fsync). Returns the checkpoint object as written.
pub fn checkpoint(ledger: &Path, checkpoints: &Path, who: &Identity) -> anyhow::Result<Value> {
    let (size, root) = tree_head(ledger, None)?;
    let mut obj = Map::new();
    obj.insert("size".into(), Value::from(size));
    obj.insert("root".into(), Value::String(hex::encode(root)));
    obj.insert(
        "timestamp".into(),
        Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    obj.insert("signer".into(), Value::String(who.signer_id.clone()));
    let unsigned = serde_json::to_string(&obj)?;
    let line = sign_line(&who.key, &unsigned)
        .ok_or_else(|| anyhow::anyhow!("internal: unsigned checkpoint is not an object"))?;
    let mut file = super::append::open_append(checkpoints)?;
    file.lock()?;
    let mut buf = Vec::with_capacity(line.len() + 2);
    let len = file.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut last, len - 1)?;
        if last[0] != b'\n' {
            buf.push(b'\n');
        }
    }
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let written = file.write_all(&buf).and_then(|()| file.sync_all());
    file.unlock()?;
    written.map_err(|e| anyhow::anyhow!("{}: {e}", checkpoints.display()))?;
    Ok(serde_json::from_str(&line)?)
}
