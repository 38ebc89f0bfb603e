//! Ledger lines (docs/ledger.md and docs/formats.md): parsing one line into an [`Entry`] or a [`RejectReason`].
//! Pure: no file I/O. The file-level work (index, tail, append, verify) is in
//! `crate::store`.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

/// Longest accepted line, not counting `\n` (docs/formats.md).
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
    /// 1-based line number in the ledger file, when the reader knows it (a refusal
    /// names the line that supplied a bad value). Not part of the line itself.
    #[serde(skip)]
    pub line: Option<u64>,
}

/// Why a line is a reject (docs/ledger.md).
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
    /// `tokens` or `cost` present but not a number fit to bill: `tokens` must be a
    /// whole number ≥ 0, `cost` a finite number ≥ 0.
    BadNumber(&'static str),
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
            RejectReason::BadNumber("tokens") => {
                write!(f, "field `tokens` must be a whole number ≥ 0")
            }
            RejectReason::BadNumber(k) => write!(f, "field `{k}` must be a finite number ≥ 0"),
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
    // Numbers that are billed must be sane (a negative cost would lower a bill).
    let tokens = match obj.get("tokens") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or(RejectReason::BadNumber("tokens"))?),
    };
    let cost = match obj.get("cost") {
        None => None,
        Some(v) => Some(
            v.as_f64()
                .filter(|c| c.is_finite() && *c >= 0.0)
                .ok_or(RejectReason::BadNumber("cost"))?,
        ),
    };
    Ok(Entry {
        id,
        branch,
        event,
        timestamp,
        status: opt_string("status"),
        actor: opt_string("actor"),
        tokens,
        cost,
        tier: opt_string("tier"),
        target: opt_string("target"),
        change: opt_string("change"),
        chained: obj.contains_key("prev"),
        signed: obj.contains_key("sig") && obj.contains_key("signer"),
        line: None,
    })
}

/// The fields `ledger stats` and `verify` need, borrowed from the line where possible.
#[derive(Debug, Clone, PartialEq)]
pub struct StatFields<'a> {
    pub id: std::borrow::Cow<'a, str>,
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
/// does not fully understand goes to `parse_line` itself. A loop over many lines
/// should keep one [`StatParser`] instead.
///
/// Hand-written rather than serde borrowed structs: serde_json's `IgnoredAny` skips
/// values more leniently than `Value` parses them (lone surrogate escapes, exponent
/// overflow), so it could accept lines `parse_line` rejects.
pub fn parse_stat_fields(line: &[u8]) -> Result<StatFields<'_>, RejectReason> {
    StatParser::default().parse_bytes(line)
}

/// [`parse_stat_fields`] with what it learns kept between lines: ledgers are written
/// in time order, so most lines fall on the day of the line before and skip the
/// calendar check (it was 5 % of `stats`).
#[derive(Debug, Default, Clone)]
pub struct StatParser {
    day: Option<([u8; 10], chrono::NaiveDate)>,
}

impl StatParser {
    /// One line, without its `\n`.
    pub fn parse_bytes<'a>(&mut self, line: &'a [u8]) -> Result<StatFields<'a>, RejectReason> {
        match simdutf8::basic::from_utf8(line) {
            Ok(s) => self.parse(s),
            Err(_) => slow_stat_fields(line),
        }
    }

    /// A line already known to be UTF-8 (`stats` validates each chunk of the file once
    /// instead of every line: per-line calls were 6 %).
    pub fn parse<'a>(&mut self, line: &'a str) -> Result<StatFields<'a>, RejectReason> {
        match self.fast(line) {
            Some(f) => Ok(f),
            None => slow_stat_fields(line.as_bytes()),
        }
    }

    /// `None` means "not sure": the caller asks `parse_line`.
    fn fast<'a>(&mut self, s: &'a str) -> Option<StatFields<'a>> {
        if s.len() > MAX_LINE {
            return None;
        }
        let b = s.as_bytes();
        // Every `"` of a line without escapes is a string boundary, so the quotes come
        // from one vector pass and the loop below only checks what lies between them.
        let mut quotes = Quotes::new(b);
        let mut p = skip_ws(b, 0);
        if b.get(p) != Some(&b'{') {
            return None;
        }
        p = skip_ws(b, p + 1);
        let mut slots: [Slot; 7] = [Slot::NONE; 7];
        loop {
            // `p` is at the key's opening quote.
            if quotes.next()? != p {
                return None;
            }
            let key_end = quotes.next()?;
            let slot = key_slot(b, p + 1, key_end);
            p = skip_ws(b, key_end + 1);
            if b.get(p) != Some(&b':') {
                return None;
            }
            p = skip_ws(b, p + 1);
            let (val, np) = match *b.get(p)? {
                b'"' => {
                    if quotes.next()? != p {
                        return None;
                    }
                    let end = quotes.next()?;
                    (Slot::new(STR, p + 1, end), end + 1)
                }
                b'-' | b'0'..=b'9' => {
                    let np = scan_num(b, p)?;
                    (Slot::new(NUM, p, np), np)
                }
                b't' => (Slot::OTHER, lit(b, p, b"true")?),
                b'f' => (Slot::OTHER, lit(b, p, b"false")?),
                b'n' => (Slot::OTHER, lit(b, p, b"null")?),
                _ => return None,
            };
            if let Some(i) = slot {
                let cell = slots.get_mut(i)?;
                if cell.kind != 0 {
                    return None; // duplicate key: `Value` keeps the last; let it decide
                }
                *cell = val;
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
        let string = |r: Slot| r.str_in(s);
        let [id, branch, event, ts, tokens, cost, tier] = slots;
        let id = string(id)?;
        let branch = string(branch)?;
        let event = string(event)?;
        let ts = string(ts)?;
        let timestamp = self
            .utc_second(ts)
            .or_else(|| DateTime::parse_from_rfc3339(ts).ok())?;
        // Present but not a plain number (a string, `null`, `true`): a reject, which
        // `parse_line` words; so is a sign or a fraction in `tokens`.
        let tokens = match tokens.kind {
            0 => None,
            NUM => Some(plain_u64(tokens.num_in(b)?)?),
            _ => return None,
        };
        let cost = match cost.kind {
            0 => None,
            NUM => {
                let n = cost.num_in(b)?;
                // A minus sign (even `-0`): `parse_line` decides.
                if n.first() == Some(&b'-') {
                    return None;
                }
                // The same value `parse_line`'s serde_json gives, so totals agree to
                // the bit.
                let c = match short_decimal(n) {
                    Some(f) => f,
                    None => serde_json::from_slice::<f64>(n).ok()?,
                };
                if !c.is_finite() {
                    return None;
                }
                Some(c)
            }
            _ => return None,
        };
        Some(StatFields {
            id: id.into(),
            branch: branch.into(),
            event: event.into(),
            timestamp,
            tokens,
            cost,
            tier: string(tier).map(Into::into),
        })
    }

    /// The common ledger timestamp, `YYYY-MM-DDTHH:MM:SSZ`, without chrono's general
    /// RFC 3339 parser (6 % of `stats`). Anything else — offsets, fractions, a leap
    /// second, lowercase separators — is `None` and goes to `parse_from_rfc3339`, so
    /// this never accepts a timestamp that parser would refuse.
    fn utc_second(&mut self, s: &str) -> Option<DateTime<FixedOffset>> {
        let b: &[u8; 20] = s.as_bytes().try_into().ok()?;
        if b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
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
        let key: [u8; 10] = *b.first_chunk()?;
        let date = match self.day {
            Some((k, d)) if k == key => d,
            _ => {
                let d = chrono::NaiveDate::from_ymd_opt(
                    i32::try_from(num(0, 4)?).ok()?,
                    num(5, 7)?,
                    num(8, 10)?,
                )?;
                self.day = Some((key, d));
                d
            }
        };
        Some(date.and_hms_opt(hour, min, sec)?.and_utc().fixed_offset())
    }
}

fn slow_stat_fields(line: &[u8]) -> Result<StatFields<'_>, RejectReason> {
    let e = parse_line(line)?;
    Ok(StatFields {
        id: e.id.into(),
        branch: e.branch.into(),
        event: e.event.into(),
        timestamp: e.timestamp,
        tokens: e.tokens,
        cost: e.cost,
        tier: e.tier.map(Into::into),
    })
}

/// A value seen by the fast scanner: its kind and byte range in the line (a string's
/// contents between the quotes). Plain `u32`s and a kind byte, not an enum of ranges:
/// the seven slots are reset for every line and the smaller array was 30 % faster.
/// Lines are at most [`MAX_LINE`] bytes, so the offsets fit.
#[derive(Clone, Copy)]
struct Slot {
    kind: u8,
    a: u32,
    e: u32,
}

const STR: u8 = 1;
const NUM: u8 = 2;

impl Slot {
    const NONE: Slot = Slot {
        kind: 0,
        a: 0,
        e: 0,
    };
    const OTHER: Slot = Slot {
        kind: 3,
        a: 0,
        e: 0,
    };

    #[inline(always)]
    fn new(kind: u8, a: usize, e: usize) -> Slot {
        Slot {
            kind,
            a: u32::try_from(a).unwrap_or(u32::MAX),
            e: u32::try_from(e).unwrap_or(u32::MAX),
        }
    }

    /// The slot's bytes when it holds a number.
    #[inline(always)]
    fn num_in(self, b: &[u8]) -> Option<&[u8]> {
        (self.kind == NUM).then(|| b.get(self.a as usize..self.e as usize))?
    }

    /// The slot's text when it holds a string.
    #[inline(always)]
    fn str_in(self, s: &str) -> Option<&str> {
        (self.kind == STR).then(|| s.get(self.a as usize..self.e as usize))?
    }
}

/// Which of the seven fields `stats` needs the key at `b[start..end]` is. One
/// eight-byte word masked to the key's length and matched against constants: `match`
/// on `&str` called `memcmp` for every key of every line.
#[inline(always)]
fn key_slot(b: &[u8], start: usize, end: usize) -> Option<usize> {
    const fn word(k: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        let mut i = 0;
        while i < k.len() && i < 8 {
            w[i] = k[i];
            i += 1;
        }
        u64::from_le_bytes(w)
    }
    const ID: u64 = word(b"id");
    const BRANCH: u64 = word(b"branch");
    const EVENT: u64 = word(b"event");
    const TIMESTAM: u64 = word(b"timestam");
    const TOKENS: u64 = word(b"tokens");
    const COST: u64 = word(b"cost");
    const TIER: u64 = word(b"tier");
    let len = end.wrapping_sub(start);
    if !(2..=9).contains(&len) {
        return None;
    }
    let rest = b.get(start..)?;
    let w = match rest.first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => {
            let mut w = [0u8; 8];
            w.get_mut(..rest.len())?.copy_from_slice(rest);
            u64::from_le_bytes(w)
        }
    };
    let w = if len >= 8 {
        w
    } else {
        w & ((1u64 << (8 * len)) - 1)
    };
    match w {
        ID => Some(0),
        BRANCH => Some(1),
        EVENT => Some(2),
        TIMESTAM if len == 9 && b.get(start + 8) == Some(&b'p') => Some(3),
        TOKENS => Some(4),
        COST => Some(5),
        TIER => Some(6),
        _ => None,
    }
}

/// A run of ASCII digits as `Value::as_u64` reads it; `None` (ask serde_json) for a
/// sign, a fraction or more than 19 digits.
fn plain_u64(n: &[u8]) -> Option<u64> {
    if n.is_empty() || n.len() > 19 {
        return None;
    }
    n.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// serde_json's `f64` for a number [`scan_num`] accepted, when it has at most 15
/// digits; `None` otherwise. serde_json (without `float_roundtrip`) reads a decimal as
/// its digits `d` over `10^k` and divides once; with 15 digits or fewer both are exact
/// doubles, so this one division yields the very same bits (`-0` included: serde_json
/// reads it as `-0.0` too). The unit test checks agreement over many numbers.
fn short_decimal(n: &[u8]) -> Option<f64> {
    const POW10: [f64; 16] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
    ];
    let (neg, digits) = match n.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, n),
    };
    let mut sig = 0u64;
    let mut count = 0usize;
    let mut frac: Option<usize> = None;
    for &c in digits {
        if c == b'.' {
            frac = Some(count);
            continue;
        }
        if !c.is_ascii_digit() || count == 15 {
            return None;
        }
        sig = sig * 10 + u64::from(c - b'0');
        count += 1;
    }
    // sig < 10^15 < 2^53, so `sig as f64` is exact.
    let f = sig as f64 / POW10.get(frac.map_or(0, |int_digits| count - int_digits))?;
    Some(if neg { -f } else { f })
}

/// The positions of `"` in a line, in order, found 64 bytes at a time. It stops (gives
/// `None`) at the first block holding a backslash or a control byte: such a line goes
/// to the slow path, which knows escapes and refuses raw control characters. The fast
/// parser reads every quote through here, so every string it accepts was checked.
struct Quotes<'a> {
    b: &'a [u8],
    /// Where the next block starts.
    next_block: usize,
    /// Where the current block starts, and its quotes not yet handed out.
    base: usize,
    mask: u64,
}

impl<'a> Quotes<'a> {
    fn new(b: &'a [u8]) -> Self {
        Quotes {
            b,
            next_block: 0,
            base: 0,
            mask: 0,
        }
    }

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.load()?;
        }
        let at = self.base + self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(at)
    }

    fn load(&mut self) -> Option<()> {
        let rest = self.b.get(self.next_block..).filter(|r| !r.is_empty())?;
        // Only the last, short block is copied, padded with spaces (neither quote nor
        // special).
        let padded: [u8; 64];
        let block: &[u8; 64] = match rest.first_chunk::<64>() {
            Some(full) => full,
            None => {
                let mut tail = [b' '; 64];
                tail.get_mut(..rest.len())?.copy_from_slice(rest);
                padded = tail;
                &padded
            }
        };
        let mut mask = 0u64;
        let mut special = false;
        for (i, chunk) in block.as_chunks::<16>().0.iter().enumerate() {
            let (q, s) = super::simd::classify16(chunk);
            mask |= u64::from(q) << (16 * i);
            special |= s;
        }
        if special {
            return None;
        }
        self.base = self.next_block;
        self.next_block += 64;
        self.mask = mask;
        Some(())
    }
}

/// Skips JSON whitespace. The common case, no whitespace at all, is one compare, so
/// the parser calls it between all tokens.
#[inline(always)]
fn skip_ws(b: &[u8], p: usize) -> usize {
    match b.get(p) {
        Some(b' ' | b'\t' | b'\n' | b'\r') => skip_ws_slow(b, p),
        _ => p,
    }
}

#[cold]
fn skip_ws_slow(b: &[u8], mut p: usize) -> usize {
    while matches!(b.get(p), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        p += 1;
    }
    p
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

    fn with(extra: &str) -> String {
        format!(
            r#"{{"id":"a","branch":"b","event":"e","timestamp":"2026-01-18T01:04:10Z"{extra}}}"#
        )
    }

    #[test]
    fn billed_numbers_must_be_finite_and_not_negative() {
        let bad = [
            (r#","cost":-100"#, "cost"),
            (r#","cost":-0.5"#, "cost"),
            (r#","cost":-1e-300"#, "cost"),
            (r#","cost":"1""#, "cost"),
            (r#","cost":null"#, "cost"),
            (r#","cost":[1]"#, "cost"),
            (r#","tokens":-1"#, "tokens"),
            (r#","tokens":1.5"#, "tokens"),
            (r#","tokens":1e3"#, "tokens"),
            (r#","tokens":"7""#, "tokens"),
            (r#","tokens":false"#, "tokens"),
            (r#","tokens":18446744073709551616"#, "tokens"),
        ];
        for (extra, field) in bad {
            let line = with(extra);
            let want = Err(RejectReason::BadNumber(field));
            assert_eq!(parse_line(line.as_bytes()).map(|_| ()), want, "{line}");
            assert_eq!(
                parse_stat_fields(line.as_bytes()).map(|_| ()),
                want,
                "{line}"
            );
            let msg = RejectReason::BadNumber(field).to_string();
            assert!(
                msg.contains(&format!("`{field}`")) && msg.contains('0'),
                "{msg}"
            );
        }
        // NaN and infinities cannot be written in JSON at all: not JSON.
        for extra in [
            r#","cost":NaN"#,
            r#","cost":Infinity"#,
            r#","cost":1e999"#,
            r#","cost":-1e999"#,
        ] {
            let line = with(extra);
            assert!(
                matches!(parse_line(line.as_bytes()), Err(RejectReason::NotJson(_))),
                "{line}"
            );
            assert!(
                matches!(
                    parse_stat_fields(line.as_bytes()),
                    Err(RejectReason::NotJson(_))
                ),
                "{line}"
            );
        }
        let good = [
            (r#","cost":0"#, Some(0.0), None),
            (r#","cost":-0"#, Some(0.0), None),
            (r#","cost":0.033,"tokens":0"#, Some(0.033), Some(0)),
            (r#","cost":1e2"#, Some(100.0), None),
            (r#","tokens":18446744073709551615"#, None, Some(u64::MAX)),
        ];
        for (extra, cost, tokens) in good {
            let line = with(extra);
            let e = parse_line(line.as_bytes()).unwrap_or_else(|r| panic!("{line}: {r}"));
            assert_eq!((e.cost, e.tokens), (cost, tokens), "{line}");
            let f = parse_stat_fields(line.as_bytes()).unwrap_or_else(|r| panic!("{line}: {r}"));
            assert_eq!((f.cost, f.tokens), (cost, tokens), "{line}");
        }
    }

    #[test]
    fn fast_timestamps_agree_with_chrono_or_defer_to_it() {
        for ts in [
            "2026-11-22T07:45:46Z",
            "2024-02-29T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(
                StatParser::default().utc_second(ts),
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
            assert_eq!(StatParser::default().utc_second(ts), None, "{ts}");
            assert!(DateTime::parse_from_rfc3339(ts).is_err(), "{ts}");
        }
        // Other valid forms are left to chrono (None here, Some there).
        for ts in [
            "2026-11-22t07:45:46z",
            "2026-11-22T07:45:46.5Z",
            "2026-11-22T07:45:46+09:00",
            "2016-12-31T23:59:60Z",
        ] {
            assert_eq!(StatParser::default().utc_second(ts), None, "{ts}");
            assert!(DateTime::parse_from_rfc3339(ts).is_ok(), "{ts}");
        }
    }

    #[test]
    fn the_day_cache_never_outlives_its_day() {
        let mut p = StatParser::default();
        let ts = |p: &mut StatParser, t: &str| p.utc_second(t);
        assert!(ts(&mut p, "2024-02-28T10:00:00Z").is_some());
        assert!(ts(&mut p, "2024-02-29T10:00:00Z").is_some());
        assert!(ts(&mut p, "2025-02-29T10:00:00Z").is_none());
        // A bad time on a cached day is still refused.
        assert!(ts(&mut p, "2024-02-29T23:60:00Z").is_none());
        assert!(ts(&mut p, "2024-02-29T24:00:00Z").is_none());
        assert_eq!(
            ts(&mut p, "2024-02-29T23:59:59Z"),
            DateTime::parse_from_rfc3339("2024-02-29T23:59:59Z").ok()
        );
    }

    #[test]
    fn classify16_is_exact_for_every_byte_everywhere() {
        for byte in 0..=255u8 {
            for at in 0..16 {
                let mut chunk = [b'a'; 16];
                // Neighbours that sit next to the special values.
                chunk[(at + 1) % 16] = 0x20;
                chunk[(at + 2) % 16] = 0x80;
                chunk[(at + 3) % 16] = b'"' + 1;
                chunk[at] = byte;
                let want_q: u16 = chunk
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == b'"')
                    .fold(0, |m, (i, _)| m | 1 << i);
                let want_s = chunk.iter().any(|&c| c == b'\\' || c < 0x20);
                assert_eq!(
                    crate::domain::simd::classify16(&chunk),
                    (want_q, want_s),
                    "{chunk:?}"
                );
                assert_eq!(
                    crate::domain::simd::classify16_swar(&chunk),
                    (want_q, want_s),
                    "{chunk:?}"
                );
            }
        }
    }

    #[test]
    fn quotes_are_found_in_order_across_blocks_or_not_at_all() {
        for len in 0..200usize {
            for step in [1usize, 3, 7, 13, 64] {
                let mut line: Vec<u8> = (0..len)
                    .map(|i| if i % step == 0 { b'"' } else { b'x' })
                    .collect();
                let want: Vec<usize> = (0..len).filter(|i| i % step == 0).collect();
                let mut q = Quotes::new(&line);
                let got: Vec<usize> = std::iter::from_fn(|| q.next()).collect();
                assert_eq!(got, want, "len {len} step {step}");
                if len > 0 {
                    // A backslash anywhere stops the quotes at its block.
                    let at = len / 2;
                    line[at] = b'\\';
                    let mut q = Quotes::new(&line);
                    let got: Vec<usize> = std::iter::from_fn(|| q.next()).collect();
                    assert!(got.iter().all(|&i| i < at / 64 * 64), "{got:?}");
                }
            }
        }
    }

    #[test]
    fn short_decimals_have_serde_json_bits() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "0.1",
            "0.3",
            "1.5",
            "-2.25",
            "999999999999999",
            "0.00000000000001",
            "99999999999999.9",
            "1234567.12345678",
            "0.03787",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut rng = StdRng::seed_from_u64(0xdec1);
        for _ in 0..200_000 {
            let int_len = rng.random_range(1..=15usize);
            let mut n = String::new();
            if rng.random_bool(0.3) {
                n.push('-');
            }
            let digit = |rng: &mut StdRng| char::from(b'0' + rng.random_range(0..10u8));
            n.push(if int_len == 1 {
                digit(&mut rng)
            } else {
                char::from(b'1' + rng.random_range(0..9u8))
            });
            for _ in 1..int_len {
                n.push(digit(&mut rng));
            }
            if rng.random_bool(0.8) && int_len < 15 {
                n.push('.');
                for _ in 0..rng.random_range(1..=15 - int_len) {
                    n.push(digit(&mut rng));
                }
            }
            cases.push(n);
        }
        for n in cases {
            let want = serde_json::from_str::<f64>(&n).map(f64::to_bits).ok();
            let got = short_decimal(n.as_bytes()).map(f64::to_bits);
            assert_eq!(got, want, "{n}");
        }
        // Longer numbers are left to serde_json.
        assert_eq!(short_decimal(b"1234567890123456"), None);
        assert_eq!(short_decimal(b"0.1234567890123456"), None);
        assert_eq!(short_decimal(b"0.000000000000001"), None);
    }
}
