//! Ledger lines (SPEC §4, §9): parsing one line into an [`Entry`] or a [`Reject`].
//! Pure: no file I/O. The file-level work (index, tail, append, verify) is in
//! `crate::ledger`.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// Longest accepted line, not counting `\n` (SPEC §9).
pub const MAX_LINE: usize = 1_048_576;

/// The fields the console shows; the raw line stays available for the detail view.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub id: String,
    pub branch: String,
    pub event: String,
    pub timestamp: DateTime<FixedOffset>,
    pub status: Option<String>,
    pub actor: Option<String>,
    pub tokens: Option<u64>,
    pub cost: Option<f64>,
    pub tier: Option<String>,
    pub target: Option<String>,
    pub change: Option<String>,
    /// The line carries `prev` (it claims to be chained).
    pub chained: bool,
    /// The line carries `sig` and `signer`.
    pub signed: bool,
}

/// Why a line is a reject (SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum RejectReason {
    NotUtf8,
    NotJson(String),
    NotObject,
    Missing(&'static str),
    WrongType(&'static str),
    BadTimestamp(String),
    TooLong(usize),
    Blank,
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RejectReason::NotUtf8 => write!(f, "not valid UTF-8"),
            RejectReason::NotJson(e) => write!(f, "not valid JSON: {e}"),
            RejectReason::NotObject => write!(f, "not a JSON object"),
            RejectReason::Missing(k) => write!(f, "missing required field `{k}`"),
            RejectReason::WrongType(k) => write!(f, "field `{k}` must be a string"),
            RejectReason::BadTimestamp(t) => write!(f, "timestamp is not RFC 3339: {t}"),
            RejectReason::TooLong(n) => write!(f, "line is {n} bytes, over the 1 MiB limit"),
            RejectReason::Blank => write!(f, "whitespace-only line"),
        }
    }
}

/// Parse one line (without its `\n`). An empty line must be skipped by the caller.
pub fn parse_line(line: &[u8]) -> Result<Entry, RejectReason> {
    if line.len() > MAX_LINE {
        return Err(RejectReason::TooLong(line.len()));
    }
    let text = std::str::from_utf8(line).map_err(|_| RejectReason::NotUtf8)?;
    if text.trim().is_empty() {
        return Err(RejectReason::Blank);
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| RejectReason::NotJson(e.to_string()))?;
    let obj = value.as_object().ok_or(RejectReason::NotObject)?;
    let string = |k: &'static str| -> Result<String, RejectReason> {
        match obj.get(k) {
            None => Err(RejectReason::Missing(k)),
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(RejectReason::WrongType(k)),
        }
    };
    let opt_string = |k: &str| obj.get(k).and_then(|v| v.as_str()).map(str::to_owned);
    let id = string("id")?;
    let branch = string("branch")?;
    let event = string("event")?;
    let ts = string("timestamp")?;
    let timestamp =
        DateTime::parse_from_rfc3339(&ts).map_err(|_| RejectReason::BadTimestamp(ts.clone()))?;
    Ok(Entry {
        id,
        branch,
        event,
        timestamp,
        status: opt_string("status"),
        actor: opt_string("actor"),
        tokens: obj.get("tokens").and_then(|v| v.as_u64()),
        cost: obj.get("cost").and_then(|v| v.as_f64()),
        tier: opt_string("tier"),
        target: opt_string("target"),
        change: opt_string("change"),
        chained: obj.contains_key("prev"),
        signed: obj.contains_key("sig") && obj.contains_key("signer"),
    })
}
