//! Merkle tree heads over the ledger file (docs/ledger.md): root, audit paths for
//! `lumen ledger prove`, and signed checkpoints for `lumen ledger checkpoint`.
//! Leaves are the file's complete non-empty lines; memory is O(log n) (a line over
//! the 1 MiB limit is hashed in blocks, never held).

use std::io::Write;
use std::ops::ControlFlow;
use std::path::Path;

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::domain::ledger::parse_line;
use crate::domain::merkle::{
    ConsistencyBuilder, ConsistencyProof, PathBuilder, RootBuilder, leaf_hash,
};
use crate::domain::signing::sign_line;
use crate::store::append::Identity;
use crate::store::scan::{Line, LineHashes, ScanOptions, scan_lines};

/// Every complete non-empty line's leaf hash, in order, to `f`; a line over the 1 MiB
/// limit is hashed in blocks, never held. A file that shrank or was replaced during the
/// scan is an error: a tree head or proof over two versions of a file means nothing.
fn for_each_leaf(
    ledger: &Path,
    mut f: impl FnMut(u64, [u8; 32], Option<&[u8]>, u64) -> ControlFlow<()>,
) -> anyhow::Result<()> {
    let mut leaves = 0u64;
    let opts = ScanOptions {
        hash_long_lines: true,
    };
    let end = scan_lines(ledger, opts, |l| {
        if l.is_empty() {
            return ControlFlow::Continue(());
        }
        let index = leaves;
        leaves += 1;
        match l {
            Line::Held(l) => f(index, leaf_hash(l.bytes), Some(l.bytes), l.no),
            Line::Long(l) => f(
                index,
                l.hashes.unwrap_or_else(|| LineHashes::of(&[])).leaf,
                None,
                l.no,
            ),
        }
    })
    .map_err(|e| anyhow::anyhow!("{}: {e}", ledger.display()))?;
    if let Some(c) = end.changed {
        anyhow::bail!(
            "{}: {c} while it was being read; try again",
            ledger.display()
        );
    }
    Ok(())
}

/// Root and size over the first `size` leaves (all complete lines when `None`).
pub fn tree_head(ledger: &Path, size: Option<u64>) -> anyhow::Result<(u64, [u8; 32])> {
    let mut b = RootBuilder::new();
    if ledger.exists() {
        for_each_leaf(ledger, |_, h, _, _| {
            if size.is_some_and(|n| b.size() >= n) {
                return ControlFlow::Break(());
            }
            b.push_leaf_hash(h);
            ControlFlow::Continue(())
        })?;
    }
    if let Some(n) = size
        && b.size() < n
    {
        anyhow::bail!("the ledger has only {} complete lines, not {n}", b.size());
    }
    Ok((b.size(), b.root()))
}

/// The docs/formats.md `ledger prove --json` object.
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
    #[error("no entry {0} in the ledger")]
    NotFound(String),
    #[error("entry {id} is leaf {index}, outside a tree of size {size}")]
    OutsideTree { id: String, index: u64, size: u64 },
    #[error(
        "id {id} is not unique: it is on lines {}{}; prove one of them with --index (the leaf index is the line's position among non-empty lines, 0-based)",
        lines.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
        if *more { ", …" } else { "" }
    )]
    NotUnique {
        id: String,
        lines: Vec<u64>,
        more: bool,
    },
    #[error("{0:#}")]
    Io(#[from] anyhow::Error),
}

/// Which entry to prove.
#[derive(Debug, Clone)]
pub enum Target<'a> {
    Id(&'a str),
    Index(u64),
}

/// Most lines named when an id is not unique.
const MAX_NAMED: usize = 20;

/// Audit path for the entry whose id is `id` (it must be unique in the file, else
/// [`ProveError::NotUnique`] names the lines), or for leaf `index`, in the tree of the
/// first `size` leaves (default: every complete line). Two streaming passes.
pub fn prove(ledger: &Path, target: Target<'_>, size: Option<u64>) -> Result<Proof, ProveError> {
    let label = match &target {
        Target::Id(id) => (*id).to_string(),
        Target::Index(i) => format!("leaf {i}"),
    };
    if !ledger.exists() {
        return Err(ProveError::NotFound(label));
    }
    let mut leaves = 0u64;
    let mut found: Vec<(u64, u64)> = Vec::new();
    let mut more = false;
    let mut id_of_index: Option<String> = None;
    match target {
        Target::Id(id) => {
            let needle = serde_json::to_string(id).map_err(|e| ProveError::Io(e.into()))?;
            for_each_leaf(ledger, |index, _, bytes, no| {
                leaves = index + 1;
                // A line over the limit (no bytes here) is a reject: it has no id.
                let Some(bytes) = bytes else {
                    return ControlFlow::Continue(());
                };
                // Cheap substring test first; escapes in the line force a real parse.
                let maybe = memchr::memmem::find(bytes, needle.as_bytes()).is_some()
                    || memchr::memchr(b'\\', bytes).is_some();
                if maybe && parse_line(bytes).is_ok_and(|e| e.id == id) {
                    if found.len() < MAX_NAMED {
                        found.push((index, no));
                    } else {
                        more = true;
                    }
                }
                ControlFlow::Continue(())
            })?;
        }
        Target::Index(want) => {
            for_each_leaf(ledger, |index, _, bytes, no| {
                leaves = index + 1;
                if index == want {
                    found.push((index, no));
                    id_of_index = bytes.and_then(|b| parse_line(b).ok()).map(|e| e.id);
                }
                ControlFlow::Continue(())
            })?;
        }
    }
    let index = match found.as_slice() {
        [] => return Err(ProveError::NotFound(label)),
        [(index, _)] => *index,
        many => {
            return Err(ProveError::NotUnique {
                id: crate::domain::sanitize::sanitize(&label).into_owned(),
                lines: many.iter().map(|(_, no)| *no).collect(),
                more,
            });
        }
    };
    let id = match target {
        Target::Id(id) => id.to_string(),
        Target::Index(_) => id_of_index.unwrap_or_default(),
    };
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
            id: label,
            index,
            size,
        });
    }
    let mut path = PathBuilder::new(index, size);
    let mut root = RootBuilder::new();
    let mut leaf = [0u8; 32];
    for_each_leaf(ledger, |_, h, _, _| {
        if root.size() >= size {
            return ControlFlow::Break(());
        }
        if root.size() == index {
            leaf = h;
        }
        path.push_leaf_hash(h);
        root.push_leaf_hash(h);
        ControlFlow::Continue(())
    })?;
    Ok(Proof {
        id,
        index,
        size,
        root: hex::encode(root.root()),
        leaf_hash: hex::encode(leaf),
        path: path.finish().iter().map(hex::encode).collect(),
    })
}

/// Consistency proof (RFC 9162 §2.1.4) from the tree of the first `old_size` leaves to
/// the tree of the first `size` (default: every complete line). One streaming pass,
/// O(log n) memory.
pub fn consistency(
    ledger: &Path,
    old_size: u64,
    size: Option<u64>,
) -> anyhow::Result<ConsistencyProof> {
    let (leaves, _) = tree_head(ledger, None)?;
    let size = size.unwrap_or(leaves);
    if size > leaves {
        anyhow::bail!("the ledger has only {leaves} complete lines, not {size}");
    }
    if old_size > size {
        anyhow::bail!("old size {old_size} is larger than the tree size {size}");
    }
    let mut b = ConsistencyBuilder::new(old_size, size);
    for_each_leaf(ledger, |_, h, _, _| {
        if b.leaves() >= size {
            return ControlFlow::Break(());
        }
        b.push_leaf_hash(h);
        ControlFlow::Continue(())
    })?;
    b.finish()
        .ok_or_else(|| anyhow::anyhow!("the ledger changed while the proof was made; try again"))
}

/// Compute the current tree head, sign it as a C2SP checkpoint note and as a JSON
/// line, and append the line to `checkpoints` (locked, O_APPEND, one write, fsync):
/// `{"size","root","timestamp","origin","note","prev","signer","sig"}` with `prev` the
/// SHA-256 of the previous checkpoint line (64 zeros for the first). Then the note is
/// written atomically to `hq/ledger/checkpoint` beside it, still under the lock.
/// Returns the checkpoint object as written.
pub fn checkpoint(ledger: &Path, checkpoints: &Path, who: &Identity) -> anyhow::Result<Value> {
    let hq_root = crate::store::append::hq_root_of(ledger)
        .ok_or_else(|| anyhow::anyhow!("{}: not an HQ ledger", ledger.display()))?;
    crate::store::keys::authorize_signed_write(
        hq_root,
        &who.key.verifying_key(),
        &who.signer_id,
        "writing a checkpoint",
    )?;
    if !crate::domain::note::valid_name(&who.signer_id) {
        anyhow::bail!(
            "signer id {:?} cannot name a note signature (no spaces, no `+`)",
            crate::domain::sanitize::sanitize(&who.signer_id)
        );
    }
    let origin = crate::store::keys::Keyring::load(hq_root)?.origin_for(hq_root);
    let (size, root) = tree_head(ledger, None)?;
    let note = crate::domain::note::sign_checkpoint(
        &crate::domain::note::Checkpoint {
            origin: origin.clone(),
            size,
            root,
            extensions: Vec::new(),
        },
        &who.signer_id,
        &who.key,
    )
    .map_err(|e| anyhow::anyhow!("checkpoint note for origin {origin:?}: {e}"))?;

    let mut file = super::append::open_append(checkpoints)?;
    file.lock()?;
    let result = checkpoint_locked(&mut file, checkpoints, who, size, root, &origin, &note);
    let unlock = file.unlock();
    let line = result?;
    unlock?;
    Ok(serde_json::from_str(&line)?)
}

fn checkpoint_locked(
    file: &mut std::fs::File,
    checkpoints: &Path,
    who: &Identity,
    size: u64,
    root: [u8; 32],
    origin: &str,
    note: &str,
) -> anyhow::Result<String> {
    let len = file.metadata()?.len();
    let mut buf = Vec::new();
    if len > 0 {
        let mut last = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&*file, &mut last, len - 1)?;
        if last[0] != b'\n' {
            buf.push(b'\n');
        }
    }
    // `prev`: the last line (a torn one is terminated by this write and hashed as is).
    let mut prev = crate::store::append::ZERO_PREV.to_string();
    let mut rev = crate::store::scan::RevLines::new(&*file, len)?;
    while let Some((off, n)) = rev.next_span()? {
        if n > 0 {
            prev = hex::encode(crate::store::scan::sha256_at(&*file, off, n)?);
            break;
        }
    }
    let mut obj = Map::new();
    obj.insert("size".into(), Value::from(size));
    obj.insert("root".into(), Value::String(hex::encode(root)));
    obj.insert(
        "timestamp".into(),
        Value::String(Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)),
    );
    obj.insert("origin".into(), Value::String(origin.to_string()));
    obj.insert("note".into(), Value::String(note.to_string()));
    obj.insert("prev".into(), Value::String(prev));
    obj.insert("signer".into(), Value::String(who.signer_id.clone()));
    let unsigned = serde_json::to_string(&obj)?;
    let line = sign_line(&who.key, &unsigned)
        .ok_or_else(|| anyhow::anyhow!("internal: unsigned checkpoint is not an object"))?;
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    let mut written = file.write_all(&buf).and_then(|()| file.sync_all());
    if let Err(e) = &written {
        // Undo a torn checkpoint line (disk full, I/O error) while still locked.
        written = Err(match file.set_len(len).and_then(|()| file.sync_all()) {
            Ok(()) => std::io::Error::new(e.kind(), format!("{e}; the partial write was undone")),
            Err(undo) => std::io::Error::new(
                e.kind(),
                format!("{e}; undoing the partial write failed too: {undo}"),
            ),
        });
    }
    written.map_err(|e| anyhow::anyhow!("{}: {e}", checkpoints.display()))?;
    let note_path = checkpoints.with_file_name("checkpoint");
    crate::store::lock::write_atomic(&note_path, note.as_bytes()).map_err(|e| {
        anyhow::anyhow!(
            "the checkpoint line was appended, but the note {} was not written: {e:#}",
            note_path.display()
        )
    })?;
    Ok(line)
}
