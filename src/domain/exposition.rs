//! Prometheus text exposition format 0.0.4 (docs/configuration.md "Reading the exposition format
//! correctly"): one body in, samples plus every unreadable line (with its number) out.
//!
//! Why a dedicated parser instead of `prometheus-parse` (measured 2026-11-22, 0.2.5):
//! it silently drops a sample whose label value holds `}`, splits `note="a,b=c"` into
//! two labels, leaves escapes (`C:\\dir`) unprocessed, keeps spaces around `=` in label
//! names, reports nothing about lines it skipped, and needs ~366 ms for a 100 k-series
//! body. Guarding it would mean re-parsing every line anyway, so this module reads the
//! format itself: byte-level scanning (`memchr` for line ends, quotes and escapes), no
//! regexes, no allocation beyond the samples it returns. It never panics on any input
//! (fuzzed: `fuzz/fuzz_targets/exposition.rs`, plus a seeded property test) and is
//! tested differentially against Python's `prometheus_client` (`tests/exposition_diff.rs`).
//!
//! What it accepts, per line (leading/trailing blanks ignored, `\r\n` tolerated):
//! - empty lines; `#` comments; `# HELP name text` (text unescaped: `\\`, `\n`);
//!   `# TYPE name counter|gauge|histogram|summary|untyped`;
//! - `name{label="value",…} value [timestamp_ms]` where the label set may be absent
//!   or empty, may end with a comma, may have blanks around names, `=` and `,`; label
//!   values are any UTF-8 with `\\`, `\"`, `\n` unescaped (other backslash pairs are kept
//!   as written, as Prometheus and `prometheus_client` do); values are floats including
//!   `NaN`, `+Inf`, `-Inf`, `Inf`; the timestamp is an integer (milliseconds);
//! - the UTF-8 name forms: `{"my.metric",label="v"} 1`, quoted label names
//!   `{"a.b"="v"}`, and `{__name__="m"} 1`.
//!
//! Anything else is an unreadable line: it lands in `errors` (line number and reason)
//! and the rest of the body is still parsed. A second `TYPE` for a family and duplicate
//! label names are errors too, because keeping one silently would alter data.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// How many unreadable lines keep their reason in [`Parsed::errors`]; all of them are
/// counted in [`Parsed::unreadable`]. Bounded so a garbage body cannot grow memory
/// beyond a small multiple of its size.
pub const MAX_STORED_ERRORS: usize = 1000;

/// One sample, labels unescaped per the format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// Milliseconds since the epoch, when the exposition gave one.
    pub timestamp_ms: Option<i64>,
}

/// The result of parsing one exposition body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    /// Lines that could not be read: (1-based line number, reason). Holds the first
    /// [`MAX_STORED_ERRORS`]; `unreadable` counts them all.
    pub errors: Vec<(usize, String)>,
    /// Total number of unreadable lines (≥ `errors.len()`).
    pub unreadable: usize,
    /// `# TYPE` per family name.
    pub types: BTreeMap<String, String>,
    /// `# HELP` text per family name (unescaped).
    pub help: BTreeMap<String, String>,
}

impl Parsed {
    fn push_error(&mut self, line: usize, reason: String) {
        self.unreadable += 1;
        if self.errors.len() < MAX_STORED_ERRORS {
            self.errors.push((line, reason));
        }
    }
}

/// Why a line could not be read: 1-based column (in bytes) and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LineError {
    col: usize,
    msg: String,
}

type LResult<T> = Result<T, LineError>;

fn err<T>(pos: usize, msg: impl Into<String>) -> LResult<T> {
    Err(LineError {
        col: pos + 1,
        msg: msg.into(),
    })
}

/// Parse an exposition body. Never panics; unreadable lines go to `errors`.
pub fn parse(body: &[u8]) -> Parsed {
    let mut out = Parsed::default();
    let mut start = 0usize;
    let mut line_no = 0usize;
    while start < body.len() {
        line_no += 1;
        let end = memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i);
        let raw = &body[start..end];
        start = end + 1;
        let line = match std::str::from_utf8(raw) {
            Ok(s) => s,
            Err(e) => {
                out.push_error(
                    line_no,
                    format!("column {}: not valid UTF-8", e.valid_up_to() + 1),
                );
                continue;
            }
        };
        // `trim_matches` on ASCII blanks only: the format's whitespace is space and tab;
        // a trailing `\r` comes from CRLF bodies and is tolerated.
        let lead = line.len() - line.trim_start_matches([' ', '\t']).len();
        let line = line.trim_matches([' ', '\t', '\r']);
        if line.is_empty() {
            continue;
        }
        let result = if line.as_bytes().first() == Some(&b'#') {
            parse_comment(line, &mut out)
        } else {
            parse_sample(line).map(|s| out.samples.push(s))
        };
        if let Err(e) = result {
            out.push_error(line_no, format!("column {}: {}", e.col + lead, e.msg));
        }
    }
    out
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}
fn is_name_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b':'
}
fn is_label_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}
fn is_label_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}
fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// A cursor over one line. Positions only ever stop on ASCII bytes or the line's end,
/// so every `&str` slice taken at them is on a char boundary; `slice` still uses
/// `get` so a mistake would be an error, not a panic.
struct Cur<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Cur<'a> {
    fn new(s: &'a str) -> Self {
        Cur {
            s,
            b: s.as_bytes(),
            i: 0,
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn skip_blanks(&mut self) -> bool {
        let from = self.i;
        while self.peek().is_some_and(is_blank) {
            self.i += 1;
        }
        self.i > from
    }
    fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }
    fn slice(&self, from: usize, to: usize) -> LResult<&'a str> {
        match self.s.get(from..to) {
            Some(s) => Ok(s),
            None => err(from, "internal: slice not on a character boundary"),
        }
    }
    fn take_while(&mut self, first: fn(u8) -> bool, rest: fn(u8) -> bool) -> Option<&'a str> {
        let from = self.i;
        if !self.peek().is_some_and(first) {
            return None;
        }
        self.i += 1;
        while self.peek().is_some_and(rest) {
            self.i += 1;
        }
        self.s.get(from..self.i)
    }
    /// A token up to the next blank or the end.
    fn token(&mut self) -> &'a str {
        let from = self.i;
        while self.peek().is_some_and(|b| !is_blank(b)) {
            self.i += 1;
        }
        self.s.get(from..self.i).unwrap_or_default()
    }
    /// A double-quoted string starting at the cursor (which is on `"`), unescaped:
    /// `\\` → `\`, `\"` → `"`, `\n` → newline; other pairs kept as written.
    fn quoted(&mut self, what: &str) -> LResult<String> {
        let open = self.i;
        self.i += 1;
        let rest = self.b.get(self.i..).unwrap_or_default();
        // The common case has no escape: one exact allocation.
        if let Some(off) = memchr::memchr2(b'"', b'\\', rest)
            && rest.get(off) == Some(&b'"')
        {
            let s = self.slice(self.i, self.i + off)?.to_owned();
            self.i += off + 1;
            return Ok(s);
        }
        // With escapes, reserve once (bounded, so many labels on a huge line cannot
        // each reserve the rest of it) instead of growing per segment.
        let mut out = String::with_capacity(rest.len().min(256));
        let mut seg = self.i;
        loop {
            let rest = self.b.get(self.i..).unwrap_or_default();
            let Some(off) = memchr::memchr2(b'"', b'\\', rest) else {
                return err(open, format!("{what} has no closing quote"));
            };
            let at = self.i + off;
            out.push_str(self.slice(seg, at)?);
            if self.b.get(at) == Some(&b'"') {
                self.i = at + 1;
                return Ok(out);
            }
            match self.b.get(at + 1) {
                Some(b'\\') => out.push('\\'),
                Some(b'"') => out.push('"'),
                Some(b'n') => out.push('\n'),
                Some(_) => {
                    // Unknown escape: keep the backslash; the next char is copied
                    // with the following segment.
                    out.push('\\');
                    self.i = at + 1;
                    seg = self.i;
                    continue;
                }
                None => return err(open, format!("{what} has no closing quote")),
            }
            self.i = at + 2;
            seg = self.i;
        }
    }
}

fn parse_sample(line: &str) -> LResult<Sample> {
    let mut c = Cur::new(line);
    let mut name: Option<String> = None;
    let bare = c.take_while(is_name_start, is_name_char);
    if let Some(n) = bare {
        name = Some(n.to_owned());
    } else if c.peek() != Some(b'{') {
        return err(c.i, "expected a metric name");
    }
    let blank_after_name = c.skip_blanks();
    let mut labels = BTreeMap::new();
    if c.peek() == Some(b'{') {
        parse_labels(&mut c, &mut name, &mut labels)?;
        c.skip_blanks();
    } else if !blank_after_name {
        return if c.at_end() {
            err(c.i, "missing value")
        } else {
            err(c.i, "expected a blank or '{' after the metric name")
        };
    }
    let Some(name) = name else {
        return err(0, "missing metric name");
    };
    if c.at_end() {
        return err(c.i, "missing value");
    }
    let vpos = c.i;
    let vtok = c.token();
    let value = parse_value(vtok).ok_or(LineError {
        col: vpos + 1,
        msg: format!("invalid value {:?}", short(vtok)),
    })?;
    c.skip_blanks();
    let mut timestamp_ms = None;
    if !c.at_end() {
        let tpos = c.i;
        let ttok = c.token();
        timestamp_ms = Some(ttok.parse::<i64>().map_err(|_| LineError {
            col: tpos + 1,
            msg: format!(
                "invalid timestamp {:?} (want integer milliseconds)",
                short(ttok)
            ),
        })?);
        c.skip_blanks();
        if !c.at_end() {
            return err(c.i, "unexpected text after the timestamp");
        }
    }
    Ok(Sample {
        name,
        labels,
        value,
        timestamp_ms,
    })
}

/// The label set; the cursor is on `{`. Sets `name` from a bare quoted name or
/// `__name__`.
fn parse_labels(
    c: &mut Cur<'_>,
    name: &mut Option<String>,
    labels: &mut BTreeMap<String, String>,
) -> LResult<()> {
    c.i += 1;
    loop {
        c.skip_blanks();
        let lpos = c.i;
        let lname: String = match c.peek() {
            Some(b'}') => {
                c.i += 1;
                return Ok(());
            }
            Some(b'"') => {
                let q = c.quoted("quoted name")?;
                c.skip_blanks();
                if matches!(c.peek(), Some(b',') | Some(b'}')) {
                    // `{"my.metric", …}`: the metric name in the UTF-8 form.
                    if name.is_some() {
                        return err(lpos, "metric name given twice");
                    }
                    *name = Some(q);
                    if c.peek() == Some(b',') {
                        c.i += 1;
                    }
                    continue;
                }
                q
            }
            Some(b) if is_label_start(b) => match c.take_while(is_label_start, is_label_char) {
                Some(n) => n.to_owned(),
                None => return err(lpos, "expected a label name"),
            },
            None => return err(lpos, "label set has no closing '}'"),
            Some(_) => return err(lpos, "expected a label name or '}'"),
        };
        c.skip_blanks();
        if c.peek() != Some(b'=') {
            return err(
                c.i,
                format!("expected '=' after label name {:?}", short(&lname)),
            );
        }
        c.i += 1;
        c.skip_blanks();
        if c.peek() != Some(b'"') {
            return err(
                c.i,
                format!("label {:?}: value must be quoted", short(&lname)),
            );
        }
        let value = c.quoted("label value")?;
        if lname == "__name__" {
            if name.is_some() {
                return err(lpos, "metric name given twice");
            }
            *name = Some(value);
        } else {
            match labels.entry(lname) {
                Entry::Vacant(v) => {
                    v.insert(value);
                }
                Entry::Occupied(o) => {
                    return err(lpos, format!("duplicate label {:?}", short(o.key())));
                }
            }
        }
        c.skip_blanks();
        match c.peek() {
            Some(b',') => c.i += 1,
            Some(b'}') => {
                c.i += 1;
                return Ok(());
            }
            None => return err(c.i, "label set has no closing '}'"),
            Some(_) => return err(c.i, "expected ',' or '}' after a label value"),
        }
    }
}

/// A sample value: a float, `NaN`, `+Inf`, `-Inf`, `Inf` (any case, as Go's
/// `ParseFloat` and Python's `float` accept).
fn parse_value(tok: &str) -> Option<f64> {
    // Rust's float parser also takes "infinity"/"nan" in any case, as Go and Python do;
    // it refuses `_`, hex and blanks, which Python refuses too.
    tok.parse::<f64>().ok()
}

fn parse_comment(line: &str, out: &mut Parsed) -> LResult<()> {
    let mut c = Cur::new(line);
    c.i = 1;
    c.skip_blanks();
    let kw = c.token();
    if kw != "HELP" && kw != "TYPE" {
        return Ok(()); // a plain comment
    }
    if !c.skip_blanks() || c.at_end() {
        // `# HELP` / `# TYPE` with nothing after: prometheus_client ignores it as a comment.
        return Ok(());
    }
    let npos = c.i;
    let fam = if c.peek() == Some(b'"') {
        c.quoted("quoted metric name")?
    } else {
        let t = c.token();
        if !t.bytes().next().is_some_and(is_name_start) || !t.bytes().all(is_name_char) {
            return err(npos, format!("invalid metric name {:?}", short(t)));
        }
        t.to_owned()
    };
    let had_blank = c.skip_blanks();
    if !c.at_end() && !had_blank {
        return err(c.i, "expected a blank after the metric name");
    }
    let rest = c.slice(c.i, line.len())?;
    if kw == "HELP" {
        out.help.insert(fam, unescape_help(rest));
        return Ok(());
    }
    let typ = rest.trim_matches([' ', '\t']);
    if typ.is_empty() {
        return err(
            c.i,
            format!("TYPE line for {:?} names no type", short(&fam)),
        );
    }
    if !matches!(
        typ,
        "counter" | "gauge" | "histogram" | "summary" | "untyped"
    ) {
        return err(c.i, format!("unknown metric type {:?}", short(typ)));
    }
    if out.types.contains_key(&fam) {
        return err(npos, format!("second TYPE line for {:?}", short(&fam)));
    }
    out.types.insert(fam, typ.to_owned());
    Ok(())
}

/// HELP text escapes: `\\` and `\n` only.
fn unescape_help(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(ch) = it.next() {
        if ch == '\\' {
            match it.peek() {
                Some('\\') => {
                    out.push('\\');
                    it.next();
                }
                Some('n') => {
                    out.push('\n');
                    it.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(ch);
        }
    }
    out
}

/// At most 40 characters of a token for an error message (a hostile line can be MBs).
fn short(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Sample {
        let p = parse(line.as_bytes());
        assert!(p.errors.is_empty(), "{line}: {:?}", p.errors);
        assert_eq!(p.samples.len(), 1, "{line}");
        p.samples
            .into_iter()
            .next()
            .unwrap_or_else(|| unreachable!())
    }

    fn bad(line: &str) -> String {
        let p = parse(line.as_bytes());
        assert!(p.samples.is_empty(), "{line} parsed: {:?}", p.samples);
        assert_eq!(p.errors.len(), 1, "{line}");
        assert_eq!(p.unreadable, 1);
        p.errors[0].1.clone()
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn simple_and_labelled() {
        let s = one("up 1");
        assert_eq!(
            (s.name.as_str(), s.value, s.timestamp_ms),
            ("up", 1.0, None)
        );
        let s = one(r#"hq_branch_up{branch="koosy",tier="canary"} 0 1700000000000"#);
        assert_eq!(s.labels, labels(&[("branch", "koosy"), ("tier", "canary")]));
        assert_eq!(s.timestamp_ms, Some(1_700_000_000_000));
    }

    #[test]
    fn tricky_label_values() {
        let s = one(r#"m{note="a,b=c",x="}{",path="C:\\dir",q="say \"hi\"",nl="a\nb"} 2"#);
        assert_eq!(
            s.labels,
            labels(&[
                ("note", "a,b=c"),
                ("x", "}{"),
                ("path", "C:\\dir"),
                ("q", "say \"hi\""),
                ("nl", "a\nb"),
            ])
        );
        let s = one(r#"m{u="日本語 ✓ 🚀",odd="a\tb\\"} 1"#);
        assert_eq!(s.labels["u"], "日本語 ✓ 🚀");
        assert_eq!(s.labels["odd"], "a\\tb\\");
    }

    #[test]
    fn whitespace_and_trailing_comma() {
        let s = one("  m { a = \"1\" ,\tb=\"2\", }\t3.5  \r");
        assert_eq!(s.labels, labels(&[("a", "1"), ("b", "2")]));
        assert_eq!(s.value, 3.5);
        assert!(one("m{} 1").labels.is_empty());
        assert_eq!(one("m{a=\"1\"}7").value, 7.0);
    }

    #[test]
    fn special_values() {
        assert!(one("m NaN").value.is_nan());
        assert_eq!(one("m +Inf").value, f64::INFINITY);
        assert_eq!(one("m Inf").value, f64::INFINITY);
        assert_eq!(one("m -Inf").value, f64::NEG_INFINITY);
        assert_eq!(one("m -1.5e-3").value, -0.0015);
        assert_eq!(one("m 1 -5").timestamp_ms, Some(-5));
    }

    #[test]
    fn utf8_names() {
        let s = one(r#"{"my.metric", "a.b"="v", c="d"} 1"#);
        assert_eq!(s.name, "my.metric");
        assert_eq!(s.labels, labels(&[("a.b", "v"), ("c", "d")]));
        let s = one(r#"{__name__="x", a="1"} 1"#);
        assert_eq!(s.name, "x");
        assert_eq!(s.labels, labels(&[("a", "1")]));
    }

    #[test]
    fn comments_help_type() {
        let body = "# HELP m A \\\\ help\\nline\n# TYPE m counter\n# just a comment\n#\nm 1\n";
        let p = parse(body.as_bytes());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.types["m"], "counter");
        assert_eq!(p.help["m"], "A \\ help\nline");
        assert_eq!(p.samples.len(), 1);
    }

    #[test]
    fn bad_lines_are_reported_with_numbers_and_the_rest_survives() {
        let body =
            b"a 1\nb{x=\"1\" 2\nc 3\n\xff\xfe 4\nd{x=1} 5\ne 6 7 8\nf\n# TYPE f nonsense\ng 9\n";
        let p = parse(body);
        let names: Vec<_> = p.samples.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "c", "g"]);
        let lines: Vec<_> = p.errors.iter().map(|e| e.0).collect();
        assert_eq!(lines, [2, 4, 5, 6, 7, 8]);
        assert_eq!(p.unreadable, 6);
    }

    #[test]
    fn error_reasons() {
        assert!(bad("m{a=\"1\"").contains("'}'"));
        assert!(bad("m{a=\"1} 2").contains("no closing quote"));
        assert!(bad("m{a=\"1\",a=\"2\"} 2").contains("duplicate label"));
        assert!(bad("m x").contains("invalid value"));
        assert!(bad("m 1 1.5").contains("timestamp"));
        assert!(bad("m").contains("missing value"));
        assert!(bad("1m 1").contains("metric name"));
        assert!(bad("{a=\"1\"} 1").contains("missing metric name"));
        assert!(bad("m{\"x\",__name__=\"y\"} 1").contains("twice"));
        assert!(bad("m{a=\"\\").contains("no closing quote"));
        assert!(bad("# TYPE m").contains("no type"));
        assert!(bad("# TYPE m gauge\n# TYPE m counter").contains("second TYPE"));
        assert!(bad("m{a.b=\"1\"} 1").contains("'='"));
        assert!(bad("m 1_000").contains("invalid value"));
    }

    #[test]
    fn errors_are_bounded_but_counted() {
        let body = "x\n".repeat(MAX_STORED_ERRORS + 10);
        let p = parse(body.as_bytes());
        assert_eq!(p.errors.len(), MAX_STORED_ERRORS);
        assert_eq!(p.unreadable, MAX_STORED_ERRORS + 10);
    }

    #[test]
    fn two_megabyte_label_value() {
        let v = "x,}{=".repeat(400_000);
        let s = one(&format!("m{{big=\"{v}\"}} 1"));
        assert_eq!(s.labels["big"].len(), v.len());
    }

    #[test]
    fn long_token_in_error_is_shortened() {
        let line = format!("m {}", "z".repeat(5000));
        assert!(bad(&line).len() < 200);
    }
}
