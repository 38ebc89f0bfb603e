//! The one signed append path (docs/ledger.md and docs/formats.md "Appending"). Every writer in Lumen
//! (rollbacks, kill switch, maintenance, ceremonies, `lumen ledger append`) uses it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::domain::signing::sign_line;
use crate::store::keys::Keyring;
use crate::store::scan::{MAX_LINE, RevLines, sha256_at};
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
    let signer = ring
        .by_key(&key.verifying_key())
        .ok_or_else(|| IdentityError::UnknownKey(key_path.to_path_buf()))?;
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
const RESERVED: [&str; 3] = ["prev", "signer", "sig"];

/// How far back (before the last line) the id counter looks for today's newest
/// `TXN-YYYYMMDD-NNNNNN`.
const ID_SCAN_LIMIT: u64 = 8 << 20;

/// Append one chained, signed entry to the ledger at `ledger_path`. `fields` holds
/// everything but `id` (generated when absent), `prev`, `signer` and `sig`; `timestamp`
/// is set to now (UTC) when absent.
///
/// Cost: finding `prev` reads only the last line (O(its length)); the id counter looks
/// at most [`ID_SCAN_LIMIT`] bytes further back and reads no line over the 1 MiB limit.
/// A failed write (disk full, I/O error) is undone under the lock: the file is cut back
/// to the length it had before this line (see [`append_locked`]).
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
    let tail = read_tail(file, len, !fields.contains_key("id"), &now)?;

    let id = match fields.shift_remove("id") {
        Some(Value::String(s)) => s,
        Some(_) => anyhow::bail!("`id` must be a string"),
        None => {
            let seq = match tail.newest_seq {
                Some(n) => n + 1,
                // Nothing of today's sequence within reach: start at 1 when we know the
                // day's lines were all seen, else far from the low numbers.
                None if tail.complete => 1,
                None => 500_000 + u64::from(rand::random::<u32>() % 400_000),
            };
            format!("{}{seq:06}", tail.id_prefix)
        }
    };
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
    ordered.insert("prev".into(), Value::String(tail.prev));
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

/// What the tail of the file says: `prev`, and the newest id of today's sequence.
struct Tail {
    prev: String,
    id_prefix: String,
    newest_seq: Option<u64>,
    /// Every line that could hold today's newest id was seen (the walk reached the
    /// start of the file or a line from before today).
    complete: bool,
}

/// Read the tail of `file[..len]` (which ends with `\n` or is empty). `prev` is the
/// SHA-256 of the last non-empty line, streamed from the file: O(its length). The id
/// probe then walks back at most [`ID_SCAN_LIMIT`] bytes more, reading only lines of
/// at most [`MAX_LINE`] bytes (a longer one is a reject and holds no id).
fn read_tail(
    file: &File,
    len: u64,
    want_id: bool,
    now: &chrono::DateTime<Utc>,
) -> anyhow::Result<Tail> {
    let id_prefix = format!("TXN-{}-", now.format("%Y%m%d"));
    let day_start = now.format("%Y-%m-%dT00:00:00Z").to_string();
    let mut rev = RevLines::new(file, len)?;
    let mut tail = Tail {
        prev: ZERO_PREV.to_string(),
        id_prefix,
        newest_seq: None,
        complete: true,
    };
    let mut line = Vec::new();
    let mut first = true;
    while let Some((off, n)) = rev.next_span()? {
        if n == 0 {
            continue;
        }
        if first {
            first = false;
            tail.prev = hex::encode(sha256_at(file, off, n)?);
            if !want_id {
                return Ok(tail);
            }
            rev.set_floor(off.saturating_sub(ID_SCAN_LIMIT));
        }
        let Ok(n) = usize::try_from(n) else {
            continue;
        };
        if n > MAX_LINE {
            continue;
        }
        line.resize(n, 0);
        std::os::unix::fs::FileExt::read_exact_at(file, &mut line, off)?;
        match tail_id_probe(&line, &tail.id_prefix, &day_start) {
            Probe::Seq(s) => {
                tail.newest_seq = Some(s);
                return Ok(tail);
            }
            Probe::OlderDay => return Ok(tail),
            Probe::Other => {}
        }
    }
    tail.complete = !rev.cut();
    Ok(tail)
}

enum Probe {
    Seq(u64),
    OlderDay,
    Other,
}

/// Look at one tail line: is it today's TXN sequence, or a line from before today?
/// Our ids share the UTC date of their own timestamp, so once the tail reaches an
/// older day no id of today's sequence can lie further back.
fn tail_id_probe(line: &[u8], prefix: &str, day_start: &str) -> Probe {
    #[derive(serde::Deserialize)]
    struct IdTs<'a> {
        #[serde(borrow)]
        id: Option<std::borrow::Cow<'a, str>>,
        #[serde(borrow)]
        timestamp: Option<std::borrow::Cow<'a, str>>,
    }
    let Ok(v) = serde_json::from_slice::<IdTs<'_>>(line) else {
        return Probe::Other;
    };
    if let Some(id) = v.id.as_deref()
        && let Some(digits) = id.strip_prefix(prefix)
        && digits.len() >= 6
        && digits.bytes().all(|b| b.is_ascii_digit())
        && let Ok(n) = digits.parse::<u64>()
    {
        return Probe::Seq(n);
    }
    if let Some(ts) = v.timestamp.as_deref()
        && let (Ok(t), Ok(start)) = (
            chrono::DateTime::parse_from_rfc3339(ts),
            chrono::DateTime::parse_from_rfc3339(day_start),
        )
        && t < start
    {
        return Probe::OlderDay;
    }
    Probe::Other
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
