//! The one signed append path (docs/ledger.md and docs/formats.md "Appending"). Every writer in Lumen
//! (rollbacks, kill switch, maintenance, ceremonies, `lumen ledger append`) uses it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::domain::keyring::{SignRefusal, signing_entry};
use crate::domain::signing::sign_line;
use crate::store::keys::{Keyring, authorize_signed_write};
use crate::store::scan::{RevLines, sha256_at};
use chrono::{SecondsFormat, Utc};
use serde_json::{Map, Value};

/// An operator identity: a private key whose public key is listed in keys.json.
pub struct Identity {
    pub signer_id: String,
    pub role: String,
    pub key_path: PathBuf,
    pub key: ed25519_dalek::SigningKey,
}

/// Why an identity could not be had; all of these are refusals (exit 1).
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("key file {0} is readable by group or others (chmod 600 it)")]
    LoosePermissions(PathBuf),
    #[error("key file {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("the public key of {0} is not in hq/registry/keys.json")]
    UnknownKey(PathBuf),
    #[error("key file {path}: {reason}")]
    NotUsable { path: PathBuf, reason: String },
}

impl IdentityError {
    /// The reason without the key file's path, for logs and the screen (key paths are
    /// kept out of both; the command line's own stderr message may name it).
    pub fn reason(&self) -> String {
        match self {
            IdentityError::LoosePermissions(_) => {
                "the key file is readable by group or others (chmod 600 it)".into()
            }
            IdentityError::Unreadable { reason, .. } => {
                format!("the key file cannot be used: {reason}")
            }
            IdentityError::UnknownKey(_) => "its public key is not in hq/registry/keys.json".into(),
            IdentityError::NotUsable { reason, .. } => reason.clone(),
        }
    }
}

/// Load `key_path` and find its signer in `<hq_root>/hq/registry/keys.json`.
pub fn identity(hq_root: &Path, key_path: &Path) -> Result<Identity, IdentityError> {
    let key = super::keyfile::load_key_file(key_path).map_err(|e| match e {
        super::keyfile::KeyError::LoosePermissions(_) => {
            IdentityError::LoosePermissions(key_path.to_path_buf())
        }
        other => IdentityError::Unreadable {
            path: key_path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    let ring = Keyring::load(hq_root).map_err(|e| IdentityError::Unreadable {
        path: key_path.to_path_buf(),
        reason: format!("cannot read the keyring: {e:#}"),
    })?;
    let signer = match signing_entry(&ring.entries, &key.verifying_key(), &Utc::now()) {
        Ok(e) => e,
        Err(SignRefusal::NotInKeyring) => {
            return Err(IdentityError::UnknownKey(key_path.to_path_buf()));
        }
        Err(e) => {
            return Err(IdentityError::NotUsable {
                path: key_path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    Ok(Identity {
        signer_id: signer.id.clone(),
        role: signer.role.clone(),
        key_path: key_path.to_path_buf(),
        key,
    })
}

/// What was appended.
#[derive(Debug, Clone)]
pub struct Appended {
    pub id: String,
    /// 1-based line number of the new line.
    pub line_no: u64,
    /// The exact line written, without `\n`.
    pub line: String,
}

/// `prev` for an empty file.
pub const ZERO_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Members written in this order first (docs/formats.md); the rest follow in the caller's order.
const LEADING: [&str; 6] = ["id", "branch", "event", "status", "actor", "timestamp"];
const RESERVED: [&str; 5] = ["id", "offset", "prev", "signer", "sig"];

/// The HQ root of a ledger at `<root>/hq/ledger/ledger.jsonl`.
pub fn hq_root_of(ledger_path: &Path) -> Option<&Path> {
    let dir = ledger_path.parent()?;
    if dir.file_name()? != "ledger" || dir.parent()?.file_name()? != "hq" {
        return None;
    }
    dir.parent()?.parent()
}

/// The id of a line Lumen writes at byte `offset`, stamped at `now`:
/// `TXN-YYYYMMDD-<offset, at least 6 digits>`. Two lines never start at the same
/// offset of a file that is only appended to, so Lumen's ids are unique by
/// construction (an outside writer can still copy one; `verify` reports that).
pub fn id_for_offset(now: &chrono::DateTime<Utc>, offset: u64) -> String {
    format!("TXN-{}-{offset:06}", now.format("%Y%m%d"))
}

/// Append one chained, signed entry to the ledger at `ledger_path`
/// (`<root>/hq/ledger/ledger.jsonl`). `fields` holds everything but `id`, `offset`,
/// `prev`, `signer` and `sig`, which this path writes; `timestamp` is set to now (UTC)
/// when absent.
///
/// First the write is authorised ([`authorize_signed_write`]): the key must still be
/// usable (not expired or revoked) and its role must have W on the ledger; a refusal
/// is a [`SignRefused`] error and nothing is written. The line then carries its own
/// byte `offset` (bound into the signature, so a copied or moved line is detected) and
/// an id derived from it ([`id_for_offset`]).
///
/// Cost: finding `prev` reads only the last line (O(its length)). A failed write (disk
/// full, I/O error) is undone under the lock: the file is cut back to the length it
/// had before this line (see [`append_locked`]).
pub fn append_signed(
    ledger_path: &Path,
    who: &Identity,
    mut fields: Map<String, Value>,
) -> anyhow::Result<Appended> {
    for k in RESERVED {
        if fields.contains_key(k) {
            anyhow::bail!("`{k}` is written by the append path, not by the caller");
        }
    }
    for k in ["branch", "event"] {
        if !fields.get(k).is_some_and(Value::is_string) {
            anyhow::bail!("a ledger entry needs a string `{k}`");
        }
    }
    let hq_root = hq_root_of(ledger_path).ok_or_else(|| {
        anyhow::anyhow!(
            "{}: not an HQ ledger (hq/ledger/ledger.jsonl under an HQ root)",
            ledger_path.display()
        )
    })?;
    authorize_signed_write(
        hq_root,
        &who.key.verifying_key(),
        &who.signer_id,
        "appending to the ledger",
    )?;
    let mut file = open_append(ledger_path)?;

    // Lines are never removed, so newlines counted before the lock stay counted.
    // (Linear in the file, `memchr` over 1 MiB reads, and outside the lock.)
    let pre_len = file.metadata()?.len();
    let pre_newlines = count_newlines(&mut file, 0, pre_len)?;

    file.lock()
        .map_err(|e| anyhow::anyhow!("{}: cannot lock: {e}", ledger_path.display()))?;
    let result = append_locked(&mut file, pre_len, pre_newlines, who, &mut fields);
    let unlock = file.unlock();
    let appended = result.map_err(|e| anyhow::anyhow!("{}: {e:#}", ledger_path.display()))?;
    unlock?;
    Ok(appended)
}

/// The part under the lock. Writes are undone on failure: if the repair newline
/// cannot be written the file is cut back to the length found under the lock; if the
/// line itself cannot be written or synced, back to the length after the repair
/// newline. So the file ends as it was, or as it was plus only the repair `\n` (which
/// the next append would write anyway: it turns a dead writer's partial line into a
/// reject), never with a torn fragment of a signed line.
fn append_locked(
    file: &mut File,
    pre_len: u64,
    pre_newlines: u64,
    who: &Identity,
    fields: &mut Map<String, Value>,
) -> anyhow::Result<Appended> {
    let found_len = file.metadata()?.len();
    let mut len = found_len;
    let mut newlines = pre_newlines + count_newlines(file, pre_len, len)?;
    if len > 0 {
        let mut last = [0u8; 1];
        std::os::unix::fs::FileExt::read_exact_at(&*file, &mut last, len - 1)?;
        if last[0] != b'\n' {
            // A writer died mid-line: terminate it so it becomes a reject, not a prefix.
            write_or_undo(file, b"\n", found_len, "the repair newline")?;
            len += 1;
            newlines += 1;
        }
    }

    let now = Utc::now();
    let prev = read_prev(file, len)?;
    let id = id_for_offset(&now, len);
    if !fields.contains_key("timestamp") {
        fields.insert(
            "timestamp".into(),
            Value::String(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
        );
    }

    let mut ordered = Map::new();
    ordered.insert("id".into(), Value::String(id.clone()));
    for k in LEADING.iter().skip(1) {
        if let Some(v) = fields.shift_remove(*k) {
            ordered.insert((*k).to_string(), v);
        }
    }
    for (k, v) in std::mem::take(fields) {
        ordered.insert(k, v);
    }
    ordered.insert("offset".into(), Value::from(len));
    ordered.insert("prev".into(), Value::String(prev));
    ordered.insert("signer".into(), Value::String(who.signer_id.clone()));
    let unsigned = serde_json::to_string(&Value::Object(ordered))?;
    let line = sign_line(&who.key, &unsigned)
        .ok_or_else(|| anyhow::anyhow!("internal: unsigned line is not an object"))?;

    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    // One write on an O_APPEND descriptor: other cooperating writers hold off (flock),
    // and readers never see a torn prefix of an earlier line.
    write_or_undo(file, &buf, len, "the entry")?;
    Ok(Appended {
        id,
        line_no: newlines + 1,
        line,
    })
}

/// Write `bytes` at the end and fsync; on any error cut the file back to `undo_to`
/// (still under the caller's lock) and sync that, then report the error.
fn write_or_undo(file: &mut File, bytes: &[u8], undo_to: u64, what: &str) -> anyhow::Result<()> {
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    let Err(e) = written else {
        return Ok(());
    };
    match file.set_len(undo_to).and_then(|()| file.sync_all()) {
        Ok(()) => Err(anyhow::anyhow!(
            "cannot write {what}: {e}; the partial write was undone (the file is back to {undo_to} bytes)"
        )),
        Err(undo) => Err(anyhow::anyhow!(
            "cannot write {what}: {e}; undoing it failed too ({undo}): the file may end with a torn line, which the next append turns into a reject"
        )),
    }
}

/// `prev` for a line appended at `len` (the file ends with `\n` or is empty): the
/// SHA-256 of the last non-empty line, streamed from the file: O(its length).
fn read_prev(file: &File, len: u64) -> anyhow::Result<String> {
    let mut rev = RevLines::new(file, len)?;
    while let Some((off, n)) = rev.next_span()? {
        if n > 0 {
            return Ok(hex::encode(sha256_at(file, off, n)?));
        }
    }
    Ok(ZERO_PREV.to_string())
}

fn count_newlines(file: &mut File, from: u64, to: u64) -> std::io::Result<u64> {
    if to <= from {
        return Ok(0);
    }
    file.seek(SeekFrom::Start(from))?;
    let mut reader = (&*file).take(to - from);
    let mut buf = vec![0u8; 1 << 20];
    let mut count = 0u64;
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        count += memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()).count() as u64;
    }
    Ok(count)
}

/// Open `path` for appending (and reading its tail), creating it and its directory.
pub fn open_append(path: &Path) -> anyhow::Result<std::fs::File> {
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| anyhow::anyhow!("{}: {e}", parent.display()))?;
    }
    OpenOptions::new()
        .append(true)
        .read(true)
        .create(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}
