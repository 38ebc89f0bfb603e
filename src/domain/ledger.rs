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

/// The fields `ledger stats` needs, borrowed from the line where possible.
#[derive(Debug, Clone, PartialEq)]
pub struct StatFields<'a> {
    pub branch: std::borrow::Cow<'a, str>,
    pub event: std::borrow::Cow<'a, str>,
    pub timestamp: DateTime<FixedOffset>,
    pub tokens: Option<u64>,
    pub cost: Option<f64>,
    pub tier: Option<std::borrow::Cow<'a, str>>,
}

/// Like [`parse_line`] but returns only the fields stats needs, fast. Accepts exactly
/// the lines `parse_line` accepts, with the same field values: a hand-written scanner
/// handles the common shape (flat object, no escapes, plain numbers) and anything it
/// does not fully understand goes to `parse_line` itself.
///
/// Hand-written rather than serde borrowed structs: serde_json's `IgnoredAny` skips
/// values more leniently than `Value` parses them (lone surrogate escapes, exponent
/// overflow), so it could accept lines `parse_line` rejects.
pub fn parse_stat_fields(line: &[u8]) -> Result<StatFields<'_>, RejectReason> {
    match simdutf8::basic::from_utf8(line) {
        Ok(s) => parse_stat_fields_str(s),
        Err(_) => slow_stat_fields(line),
    }
}

/// [`parse_stat_fields`] for a line already known to be UTF-8 (`stats` validates
/// each chunk of the file once instead of every line: per-line calls were 6 %).
pub fn parse_stat_fields_str(line: &str) -> Result<StatFields<'_>, RejectReason> {
    if let Some(f) = fast_stat_fields(line) {
        return Ok(f);
    }
    slow_stat_fields(line.as_bytes())
}

fn slow_stat_fields(line: &[u8]) -> Result<StatFields<'_>, RejectReason> {
    let e = parse_line(line)?;
    Ok(StatFields {
        branch: e.branch.into(),
        event: e.event.into(),
        timestamp: e.timestamp,
        tokens: e.tokens,
        cost: e.cost,
        tier: e.tier.map(Into::into),
    })
}

#[derive(Clone, Copy)]
enum Raw<'a> {
    Str(&'a str),
    Num(&'a str),
    Other,
}

/// `None` means "not sure": the caller asks `parse_line`.
fn fast_stat_fields(s: &str) -> Option<StatFields<'_>> {
    // A backslash can only be legal inside a string, where `scan_str` hands it back.
    if s.len() > MAX_LINE {
        return None;
    }
    let b = s.as_bytes();
    let mut p = skip_ws(b, 0);
    if b.get(p) != Some(&b'{') {
        return None;
    }
    p = skip_ws(b, p + 1);
    let mut slots: [Option<Raw<'_>>; 7] = [None; 7];
    loop {
        let (key, np) = scan_str(s, p)?;
        p = skip_ws(b, np);
        if b.get(p) != Some(&b':') {
            return None;
        }
        p = skip_ws(b, p + 1);
        let (val, np) = match *b.get(p)? {
            b'"' => {
                let (v, np) = scan_str(s, p)?;
                (Raw::Str(v), np)
            }
            b'-' | b'0'..=b'9' => {
                let np = scan_num(b, p)?;
                (Raw::Num(s.get(p..np)?), np)
            }
            b't' => (Raw::Other, lit(b, p, b"true")?),
            b'f' => (Raw::Other, lit(b, p, b"false")?),
            b'n' => (Raw::Other, lit(b, p, b"null")?),
            _ => return None,
        };
        let slot = key_slot(key.as_bytes());
        if let Some(i) = slot {
            let cell = slots.get_mut(i)?;
            if cell.is_some() {
                return None; // duplicate key: `Value` keeps the last; let it decide
            }
            *cell = Some(val);
        }
        p = skip_ws(b, np);
        match b.get(p) {
            Some(b',') => p = skip_ws(b, p + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    if skip_ws(b, p + 1) != b.len() {
        return None;
    }
    fn string(r: Option<Raw<'_>>) -> Option<&str> {
        match r {
            Some(Raw::Str(v)) => Some(v),
            _ => None,
        }
    }
    let [id, branch, event, ts, tokens, cost, tier] = slots;
    string(id)?;
    let branch = string(branch)?;
    let event = string(event)?;
    let ts = string(ts)?;
    let timestamp = utc_second(ts).or_else(|| DateTime::parse_from_rfc3339(ts).ok())?;
    let tokens = match tokens {
        Some(Raw::Num(n)) if n.bytes().all(|c| c.is_ascii_digit()) => Some(n.parse().ok()?),
        Some(Raw::Num(_)) => return None,
        _ => None,
    };
    let cost = match cost {
        // The same float parser as `parse_line`, so totals agree to the bit.
        Some(Raw::Num(n)) => Some(serde_json::from_str::<f64>(n).ok()?),
        _ => None,
    };
    Some(StatFields {
        branch: branch.into(),
        event: event.into(),
        timestamp,
        tokens,
        cost,
        tier: string(tier).map(Into::into),
    })
}

/// Which of the seven fields `stats` needs a key is. Fixed-size array compares inline
/// to a few integer compares; `match` on `&str` called `memcmp` for every key of every
/// line (4 % of `stats`).
#[inline(always)]
fn key_slot(k: &[u8]) -> Option<usize> {
    fn is<const N: usize>(k: &[u8], name: &[u8; N]) -> bool {
        <&[u8; N]>::try_from(k).is_ok_and(|a| a == name)
    }
    match k.len() {
        2 if is(k, b"id") => Some(0),
        6 if is(k, b"branch") => Some(1),
        5 if is(k, b"event") => Some(2),
        9 if is(k, b"timestamp") => Some(3),
        6 if is(k, b"tokens") => Some(4),
        4 if is(k, b"cost") => Some(5),
        4 if is(k, b"tier") => Some(6),
        _ => None,
    }
}

/// The common ledger timestamp, `YYYY-MM-DDTHH:MM:SSZ`, without chrono's general RFC
/// 3339 parser (6 % of `stats`). Anything else — offsets, fractions, a leap second,
/// lowercase separators — is `None` and goes to `parse_from_rfc3339`, so this never
/// accepts a timestamp that parser would refuse.
fn utc_second(s: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let b = s.as_bytes();
    if b.len() != 20
        || b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || b.get(10) != Some(&b'T')
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
        || b.get(19) != Some(&b'Z')
    {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b.get(from..to)?.iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (sec, min, hour) = (num(17, 19)?, num(14, 16)?, num(11, 13)?);
    if sec > 59 {
        return None;
    }
    let date =
        chrono::NaiveDate::from_ymd_opt(i32::try_from(num(0, 4)?).ok()?, num(5, 7)?, num(8, 10)?)?;
    Some(date.and_hms_opt(hour, min, sec)?.and_utc().fixed_offset())
}

#[inline(always)]
fn skip_ws(b: &[u8], mut p: usize) -> usize {
    while matches!(b.get(p), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        p += 1;
    }
    p
}

/// A string without escapes or control characters starting at `p` (the quote).
#[inline(always)]
fn scan_str(s: &str, p: usize) -> Option<(&str, usize)> {
    let b = s.as_bytes();
    if b.get(p) != Some(&b'"') {
        return None;
    }
    let end = find_special(b, p + 1)?;
    // An escape (the slow path decides) or a raw control character (invalid JSON).
    if b.get(end) != Some(&b'"') {
        return None;
    }
    Some((s.get(p + 1..end)?, end + 1))
}

/// Index of the first `"`, `\\` or control byte at or after `i`, eight bytes at a time
/// (SWAR): per-byte loops were the hottest part of `stats`, and a `memchr` call per
/// short string costs more than it saves. The zero-byte trick can flag false
/// positives only *above* a true match, so the lowest flagged byte is exact.
fn find_special(b: &[u8], mut i: usize) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let q = x ^ (LO * u64::from(b'"'));
        let e = x ^ (LO * u64::from(b'\\'));
        let m = ((q.wrapping_sub(LO) & !q)
            | (e.wrapping_sub(LO) & !e)
            | (x.wrapping_sub(LO * 0x20) & !x))
            & HI;
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// A JSON number without exponent, short enough that no parser can overflow on it.
fn scan_num(b: &[u8], start: usize) -> Option<usize> {
    let mut p = start;
    if b.get(p) == Some(&b'-') {
        p += 1;
    }
    match b.get(p) {
        Some(b'0') => p += 1,
        Some(b'1'..=b'9') => {
            while matches!(b.get(p), Some(b'0'..=b'9')) {
                p += 1;
            }
        }
        _ => return None,
    }
    if b.get(p) == Some(&b'.') {
        p += 1;
        let digits = p;
        while matches!(b.get(p), Some(b'0'..=b'9')) {
            p += 1;
        }
        if p == digits {
            return None;
        }
    }
    if matches!(b.get(p), Some(b'e' | b'E')) || p - start > 100 {
        return None;
    }
    Some(p)
}

fn lit(b: &[u8], p: usize, word: &[u8]) -> Option<usize> {
    (b.get(p..p + word.len())? == word).then_some(p + word.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_timestamps_agree_with_chrono_or_defer_to_it() {
        for ts in [
            "2026-11-22T07:45:46Z",
            "2024-02-29T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(
                utc_second(ts),
                DateTime::parse_from_rfc3339(ts).ok(),
                "{ts}"
            );
        }
        // Invalid dates and times are refused, like chrono refuses them.
        for ts in [
            "2025-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-01T24:00:00Z",
        ] {
            assert_eq!(utc_second(ts), None, "{ts}");
            assert!(DateTime::parse_from_rfc3339(ts).is_err(), "{ts}");
        }
        // Other valid forms are left to chrono (None here, Some there).
        for ts in [
            "2026-11-22t07:45:46z",
            "2026-11-22T07:45:46.5Z",
            "2026-11-22T07:45:46+09:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(utc_second(ts), None, "{ts}");
            assert!(DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        }
    }

    #[test]
    fn find_special_matches_a_byte_loop() {
        let naive = |b: &[u8], i: usize| {
            b.iter()
                .skip(i)
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .map(|p| p + i)
        };
        // Every position of every special byte among bytes that look close to them.
        let fill = [
            b'a',
            0x21,
            0x1f + 1,
            0x5b,
            0x5d,
            0x80,
            0xff,
            0xa2,
            0xdc,
            b'!',
        ];
        for len in 0..40usize {
            for at in 0..=len {
                for special in [b'"', b'\\', 0x00, 0x1f, 0x0a] {
                    let mut v: Vec<u8> = (0..len).map(|k| fill[k % fill.len()]).collect();
                    if at < len {
                        v[at] = special;
                    }
                    for start in 0..=len {
                        assert_eq!(
                            find_special(&v, start),
                            naive(&v, start),
                            "{v:?} from {start}"
                        );
                    }
                }
            }
        }
    }
}
