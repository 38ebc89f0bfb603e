//! The ledger pane's filter language, parsed and matched purely (no I/O):
//!
//! ```text
//! branch:koosy event:deploy* status:failed actor:llm since:1h until:2026-11-20T10:00Z cost>0.5
//! ```
//!
//! - `branch:` `event:` `status:` `actor:` take a glob (`*` any run, `?` one character),
//!   matched case-insensitively against the whole field. The same field given twice
//!   matches either value (`branch:koosy branch:orbit`); different fields must all match.
//! - `since:` / `until:` take a duration back from now (`90s`, `15m`, `1h`, `2d`, `1w`) or
//!   a time (RFC 3339, seconds optional: `2026-11-20T10:00Z`; or a date `2026-11-20`).
//! - `cost>X`, `cost>=X`, `cost<X`, `cost<=X`, `cost=X` compare the entry's `cost` field;
//!   an entry without `cost` never matches a cost term.
//! - Any other word is free text: a case-insensitive substring of the raw line. Double
//!   quotes make a phrase (`"deploy failed"`) and stop a word being read as a field.
//!
//! A line that is a reject has no fields: it can match only a filter of free text.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::domain::ledger::{Entry, parse_line};

/// A field a glob term tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Branch,
    Event,
    Status,
    Actor,
}

impl Field {
    const ALL: [Field; 4] = [Field::Branch, Field::Event, Field::Status, Field::Actor];

    fn name(self) -> &'static str {
        match self {
            Field::Branch => "branch",
            Field::Event => "event",
            Field::Status => "status",
            Field::Actor => "actor",
        }
    }

    fn of(self, e: &Entry) -> Option<&str> {
        match self {
            Field::Branch => Some(&e.branch),
            Field::Event => Some(&e.event),
            Field::Status => e.status.as_deref(),
            Field::Actor => e.actor.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CostOp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
}

impl CostOp {
    fn test(self, x: f64, v: f64) -> bool {
        match self {
            CostOp::Gt => x > v,
            CostOp::Ge => x >= v,
            CostOp::Lt => x < v,
            CostOp::Le => x <= v,
            CostOp::Eq => (x - v).abs() <= f64::EPSILON * v.abs().max(1.0),
        }
    }
}

/// A parsed filter. `Default` is the empty filter (matches every line).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerFilter {
    /// What the operator typed, for the pane's header and the prompt's recall.
    pub source: String,
    /// Per field, the alternatives (lowercased globs); a field absent here is not tested.
    globs: Vec<(Field, Vec<String>)>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    cost: Vec<(CostOp, f64)>,
    /// Lowercased free-text words and phrases.
    text: Vec<String>,
}

/// A bad term, with what was expected. The old filter stays in force.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("filter term `{term}`: {reason}")]
pub struct FilterError {
    pub term: String,
    pub reason: String,
}

fn err(term: &str, reason: impl Into<String>) -> FilterError {
    FilterError {
        term: term.to_string(),
        reason: reason.into(),
    }
}

/// Split on whitespace, keeping `"quoted phrases"` whole. Returns (word, quoted).
fn tokens(input: &str) -> Result<Vec<(String, bool)>, FilterError> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '"' {
            chars.next();
            let mut phrase = String::new();
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' {
                    closed = true;
                    break;
                }
                phrase.push(c);
            }
            if !closed {
                return Err(err(
                    &format!("\"{phrase}"),
                    "unclosed quote: end the phrase with \"",
                ));
            }
            if !phrase.is_empty() {
                out.push((phrase, true));
            }
            continue;
        }
        let mut word = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                break;
            }
            word.push(c);
            chars.next();
        }
        out.push((word, false));
    }
    Ok(out)
}

/// `90s`, `15m`, `1h`, `2d`, `1w`: the HQ files' duration grammar
/// ([`crate::domain::hq::parse_duration`]).
fn parse_duration(s: &str) -> Option<Duration> {
    let d = crate::domain::hq::parse_duration(s).ok()?;
    Duration::from_std(d).ok()
}

/// RFC 3339, with the seconds optional (`2026-11-20T10:00Z`), or a date (midnight UTC).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    // `YYYY-MM-DDTHH:MM` + zone: insert `:00`.
    if s.len() > 16 && s.is_char_boundary(16) {
        let (head, zone) = s.split_at(16);
        if let Ok(t) = DateTime::parse_from_rfc3339(&format!("{head}:00{zone}")) {
            return Some(t.with_timezone(&Utc));
        }
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some(d.and_hms_opt(0, 0, 0)?.and_utc())
}

fn parse_when(term: &str, v: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, FilterError> {
    if let Some(d) = parse_duration(v) {
        return Ok(now - d);
    }
    parse_time(v).ok_or_else(|| {
        err(
            term,
            "expected a duration (90s, 15m, 1h, 2d, 1w) or a time (2026-11-20T10:00Z)",
        )
    })
}

impl LedgerFilter {
    /// Parse `input`; relative times (`since:1h`) are resolved against `now`.
    pub fn parse(input: &str, now: DateTime<Utc>) -> Result<LedgerFilter, FilterError> {
        let mut f = LedgerFilter {
            source: input.trim().to_string(),
            ..Default::default()
        };
        for (word, quoted) in tokens(input)? {
            if quoted {
                f.text.push(word.to_lowercase());
                continue;
            }
            if let Some(rest) = word.strip_prefix("cost") {
                let (op, num) = if let Some(n) = rest.strip_prefix(">=") {
                    (CostOp::Ge, n)
                } else if let Some(n) = rest.strip_prefix("<=") {
                    (CostOp::Le, n)
                } else if let Some(n) = rest.strip_prefix('>') {
                    (CostOp::Gt, n)
                } else if let Some(n) = rest.strip_prefix('<') {
                    (CostOp::Lt, n)
                } else if let Some(n) = rest.strip_prefix('=').or(rest.strip_prefix(':')) {
                    (CostOp::Eq, n)
                } else {
                    f.text.push(word.to_lowercase());
                    continue;
                };
                let v: f64 = num
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| err(&word, "expected a number, e.g. cost>0.5"))?;
                f.cost.push((op, v));
                continue;
            }
            let Some((key, value)) = word.split_once(':') else {
                f.text.push(word.to_lowercase());
                continue;
            };
            let key_l = key.to_ascii_lowercase();
            if value.is_empty() {
                return Err(err(&word, "missing value after `:`"));
            }
            match key_l.as_str() {
                "since" => f.since = Some(parse_when(&word, value, now)?),
                "until" => f.until = Some(parse_when(&word, value, now)?),
                k => {
                    let Some(field) = Field::ALL.iter().copied().find(|fl| fl.name() == k) else {
                        return Err(err(
                            &word,
                            "unknown field (known: branch, event, status, actor, since, until, cost); put free text with a colon in \"quotes\"",
                        ));
                    };
                    let glob = value.to_lowercase();
                    match f.globs.iter_mut().find(|(fl, _)| *fl == field) {
                        Some((_, alts)) => alts.push(glob),
                        None => f.globs.push((field, vec![glob])),
                    }
                }
            }
        }
        if let (Some(s), Some(u)) = (f.since, f.until)
            && s > u
        {
            return Err(err(
                &f.source,
                "`since` is after `until`: nothing can match",
            ));
        }
        Ok(f)
    }

    /// No terms: every line matches (the pane shows everything).
    pub fn is_empty(&self) -> bool {
        self.globs.is_empty()
            && self.since.is_none()
            && self.until.is_none()
            && self.cost.is_empty()
            && self.text.is_empty()
    }

    fn has_field_terms(&self) -> bool {
        !self.globs.is_empty()
            || self.since.is_some()
            || self.until.is_some()
            || !self.cost.is_empty()
    }

    /// Free-text terms against the raw line (case-insensitive).
    fn text_matches(&self, raw: &[u8]) -> bool {
        if self.text.is_empty() {
            return true;
        }
        let lower = raw.to_ascii_lowercase();
        let lossy;
        let hay: &str = match std::str::from_utf8(&lower) {
            Ok(s) => s,
            Err(_) => {
                lossy = String::from_utf8_lossy(&lower).into_owned();
                &lossy
            }
        };
        // Non-ASCII words need a full Unicode lowercase of the line.
        let unicode;
        let hay_u: &str = if self.text.iter().any(|w| !w.is_ascii()) {
            unicode = hay.to_lowercase();
            &unicode
        } else {
            hay
        };
        self.text.iter().all(|w| hay_u.contains(w.as_str()))
    }

    /// Field terms against a parsed entry.
    pub fn entry_matches(&self, e: &Entry) -> bool {
        for (field, alts) in &self.globs {
            let Some(v) = field.of(e) else { return false };
            let v = v.to_lowercase();
            if !alts.iter().any(|g| glob_match(g, &v)) {
                return false;
            }
        }
        let ts = e.timestamp.with_timezone(&Utc);
        if self.since.is_some_and(|s| ts < s) || self.until.is_some_and(|u| ts > u) {
            return false;
        }
        if !self.cost.is_empty() {
            let Some(c) = e.cost else { return false };
            if !self.cost.iter().all(|(op, v)| op.test(c, *v)) {
                return false;
            }
        }
        true
    }

    /// Whether a raw line (without `\n`) matches. Empty lines never match a non-empty
    /// filter. Cheap checks first: free text, then literal parts of the globs as
    /// substrings (only when the line has no escapes that could spell them
    /// differently), and only then the JSON parse.
    pub fn matches_line(&self, raw: &[u8]) -> bool {
        if raw.is_empty() {
            return self.is_empty();
        }
        // Over the 1 MiB limit: a reject that is not looked into (the scan never
        // holds such a line), so not even free text matches it.
        if raw.len() > crate::domain::ledger::MAX_LINE {
            return false;
        }
        if !self.text_matches(raw) {
            return false;
        }
        if !self.has_field_terms() {
            return true;
        }
        if memchr::memchr(b'\\', raw).is_none() {
            let lower = raw.to_ascii_lowercase();
            for (_, alts) in &self.globs {
                let any = alts.iter().any(|g| {
                    let lit = longest_literal(g);
                    lit.is_empty() || memchr::memmem::find(&lower, lit.as_bytes()).is_some()
                });
                if !any {
                    return false;
                }
            }
        }
        match fast_fields(raw) {
            Some(f) => {
                // The fast view decides; a match is confirmed by the full parser when
                // the line has something the two parsers could treat differently.
                self.fast_matches(&f) && (!needs_confirm(raw) || parse_line(raw).is_ok())
            }
            None => match parse_line(raw) {
                Ok(e) => self.entry_matches(&e),
                Err(_) => false,
            },
        }
    }

    fn fast_matches(&self, f: &Fast<'_>) -> bool {
        for (field, alts) in &self.globs {
            let v = match field {
                Field::Branch => Some(&f.branch),
                Field::Event => Some(&f.event),
                Field::Status => f.status.as_ref(),
                Field::Actor => f.actor.as_ref(),
            };
            let Some(v) = v else { return false };
            let v = v.to_lowercase();
            if !alts.iter().any(|g| glob_match(g, &v)) {
                return false;
            }
        }
        // An unparsable timestamp is a reject: it never matches a field term.
        let Ok(ts) = DateTime::parse_from_rfc3339(&f.timestamp) else {
            return false;
        };
        let ts = ts.with_timezone(&Utc);
        if self.since.is_some_and(|s| ts < s) || self.until.is_some_and(|u| ts > u) {
            return false;
        }
        if !self.cost.is_empty() {
            let Some(c) = f.cost else { return false };
            if !self.cost.iter().all(|(op, v)| op.test(c, *v)) {
                return false;
            }
        }
        true
    }
}

/// The fields a filter tests, borrowed from the line: a typed serde view is several
/// times faster than `parse_line`'s `Value`. It fails (and `parse_line` decides) on
/// anything unusual: a non-string status, a duplicate key, a missing field.
#[derive(serde::Deserialize)]
struct Fast<'a> {
    #[allow(dead_code)]
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    branch: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    event: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    timestamp: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    status: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow)]
    actor: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    cost: Option<f64>,
}

fn fast_fields(raw: &[u8]) -> Option<Fast<'_>> {
    if raw.len() > crate::domain::ledger::MAX_LINE || raw.first() != Some(&b'{') {
        return None;
    }
    serde_json::from_slice(raw).ok()
}

/// Whether serde's skipping of unknown members could accept what `parse_line`'s
/// `Value` rejects: escapes (lone surrogates) and exponents (out-of-range numbers).
fn needs_confirm(raw: &[u8]) -> bool {
    if memchr::memchr(b'\\', raw).is_some() {
        return true;
    }
    memchr::memchr2_iter(b'e', b'E', raw)
        .any(|i| i > 0 && raw.get(i - 1).is_some_and(u8::is_ascii_digit))
}

/// The longest run of a glob without wildcards: a line must contain it.
fn longest_literal(g: &str) -> &str {
    g.split(['*', '?']).max_by_key(|s| s.len()).unwrap_or("")
}

/// Glob match of the whole `text` (`*` any run, `?` one character). Hand-written (a
/// dozen lines) rather than a crate: the classic greedy matcher with one backtrack
/// point, linear in practice and never exponential.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut gi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match g.get(gi) {
            Some('*') => {
                star = Some((gi, ti));
                gi += 1;
            }
            Some(c) if *c == '?' || Some(c) == t.get(ti) => {
                gi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sg, st)) => {
                    gi = sg + 1;
                    ti = st + 1;
                    star = Some((sg, st + 1));
                }
                None => return false,
            },
        }
    }
    while g.get(gi) == Some(&'*') {
        gi += 1;
    }
    gi == g.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn f(s: &str) -> LedgerFilter {
        LedgerFilter::parse(s, now()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn line(branch: &str, event: &str, extra: &str, ts: &str) -> String {
        format!(
            r#"{{"id":"TXN-1","branch":"{branch}","event":"{event}","timestamp":"{ts}"{extra}}}"#
        )
    }

    #[test]
    fn globs() {
        assert!(glob_match("deploy*", "deploy_failed"));
        assert!(glob_match("deploy*", "deploy"));
        assert!(!glob_match("deploy*", "redeploy"));
        assert!(glob_match("*fail*", "deploy_failed"));
        assert!(glob_match("k??sy", "koosy"));
        assert!(!glob_match("k?sy", "koosy"));
        assert!(glob_match("*", ""));
        assert!(!glob_match("a", ""));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("**a", "bba"));
    }

    #[test]
    fn the_example_from_the_issue() {
        let flt = f(
            "branch:koosy event:deploy* status:failed actor:llm since:1h until:2026-11-22T11:59Z cost>0.5",
        );
        let ok = line(
            "koosy",
            "deploy_failed",
            r#","status":"failed","actor":"llm","cost":0.75"#,
            "2026-11-22T11:30:00Z",
        );
        assert!(flt.matches_line(ok.as_bytes()), "{ok}");
        for bad in [
            line(
                "orbit",
                "deploy_failed",
                r#","status":"failed","actor":"llm","cost":0.75"#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "llm_generate",
                r#","status":"failed","actor":"llm","cost":0.75"#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"ok","actor":"llm","cost":0.75"#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"failed","actor":"ci","cost":0.75"#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"failed","actor":"llm","cost":0.25"#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"failed","actor":"llm""#,
                "2026-11-22T11:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"failed","actor":"llm","cost":0.75"#,
                "2026-11-22T10:30:00Z",
            ),
            line(
                "koosy",
                "deploy",
                r#","status":"failed","actor":"llm","cost":0.75"#,
                "2026-11-22T11:59:30Z",
            ),
        ] {
            assert!(!flt.matches_line(bad.as_bytes()), "{bad}");
        }
    }

    #[test]
    fn cost_operators() {
        let l = line(
            "a",
            "llm_generate",
            r#","cost":0.5"#,
            "2026-11-22T11:30:00Z",
        );
        let b = l.as_bytes();
        assert!(f("cost>=0.5").matches_line(b));
        assert!(f("cost<=0.5").matches_line(b));
        assert!(f("cost=0.5").matches_line(b));
        assert!(!f("cost>0.5").matches_line(b));
        assert!(!f("cost<0.5").matches_line(b));
        assert!(f("cost>0.1 cost<1").matches_line(b));
    }

    #[test]
    fn same_field_twice_is_either_value() {
        let flt = f("branch:koosy branch:orbit");
        assert!(flt.matches_line(line("koosy", "x", "", "2026-11-22T11:30:00Z").as_bytes()));
        assert!(flt.matches_line(line("orbit", "x", "", "2026-11-22T11:30:00Z").as_bytes()));
        assert!(!flt.matches_line(line("atlas", "x", "", "2026-11-22T11:30:00Z").as_bytes()));
    }

    #[test]
    fn free_text_is_case_insensitive_over_the_raw_line() {
        let l = line(
            "koosy",
            "deploy",
            r#","note":"Hotfix for Ünicode""#,
            "2026-11-22T11:30:00Z",
        );
        assert!(f("HOTFIX").matches_line(l.as_bytes()));
        assert!(f("hotfix koosy").matches_line(l.as_bytes()));
        assert!(f("\"hotfix for\"").matches_line(l.as_bytes()));
        assert!(f("ünicode").matches_line(l.as_bytes()));
        assert!(!f("hotfix orbit").matches_line(l.as_bytes()));
        // A reject matches free text but never a field term.
        assert!(f("broken").matches_line(b"{broken json"));
        assert!(!f("branch:* broken").matches_line(b"{broken json"));
        // Not UTF-8: still searchable.
        assert!(f("abc").matches_line(b"\xff abc"));
    }

    #[test]
    fn escaped_values_are_not_missed_by_the_prefilter() {
        // `koosy` spelled with an escape: the literal prefilter must not reject it.
        let l = r#"{"id":"T","branch":"k\u006fosy","event":"deploy","timestamp":"2026-11-22T11:30:00Z"}"#;
        assert!(f("branch:koosy").matches_line(l.as_bytes()));
    }

    #[test]
    fn times() {
        let flt = f("since:2026-11-22");
        assert!(flt.matches_line(line("a", "b", "", "2026-11-22T00:00:00Z").as_bytes()));
        assert!(!flt.matches_line(line("a", "b", "", "2026-11-21T23:59:59Z").as_bytes()));
        let flt = f("since:90s");
        assert!(flt.matches_line(line("a", "b", "", "2026-11-22T11:58:31Z").as_bytes()));
        assert!(!flt.matches_line(line("a", "b", "", "2026-11-22T11:58:29Z").as_bytes()));
        // Offsets are honoured.
        let flt = f("until:2026-11-22T12:00+02:00");
        assert!(flt.matches_line(line("a", "b", "", "2026-11-22T10:00:00Z").as_bytes()));
        assert!(!flt.matches_line(line("a", "b", "", "2026-11-22T10:00:01Z").as_bytes()));
        assert!(
            f("since:2d")
                .since
                .is_some_and(|s| s == now() - Duration::days(2))
        );
    }

    #[test]
    fn bad_terms_are_clear_errors() {
        let e = |s: &str| {
            LedgerFilter::parse(s, now())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(
            e("colour:red").contains("unknown field"),
            "{}",
            e("colour:red")
        );
        assert!(e("colour:red").contains("`colour:red`"));
        assert!(e("branch:").contains("missing value"));
        assert!(e("since:yesterday").contains("expected a duration"));
        assert!(e("until:5x").contains("expected a duration"));
        assert!(e("cost>abc").contains("expected a number"));
        assert!(e("cost>NaN").contains("expected a number"));
        assert!(e("\"open").contains("unclosed quote"));
        assert!(e("since:1h until:2h").contains("since"));
        // A colon inside quotes is free text.
        assert!(LedgerFilter::parse("\"http://x\"", now()).is_ok());
        // `costly` is a word, not a cost term.
        assert_eq!(f("costly").text, vec!["costly".to_string()]);
    }

    #[test]
    fn the_fast_view_agrees_with_parse_line() {
        let flt = f("branch:k* status:ok cost<1");
        let cases: [(&str, bool); 10] = [
            (
                r#"{"id":"a","branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5}"#,
                true,
            ),
            // A number status: not a string, so no status.
            (
                r#"{"id":"a","branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":1,"cost":0.5}"#,
                false,
            ),
            // Duplicate key: the last one wins in parse_line.
            (
                r#"{"id":"a","branch":"orbit","branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5}"#,
                true,
            ),
            (
                r#"{"id":"a","branch":"koosy","branch":"orbit","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5}"#,
                false,
            ),
            // Lone surrogate in an unknown member: a reject.
            (
                r#"{"id":"a","branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5,"x":"\ud800"}"#,
                false,
            ),
            // Out-of-range number in an unknown member: a reject.
            (
                r#"{"id":"a","branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5,"x":1e999}"#,
                false,
            ),
            // Bad timestamp: a reject.
            (
                r#"{"id":"a","branch":"koosy","event":"e","timestamp":"yesterday","status":"ok","cost":0.5}"#,
                false,
            ),
            // Missing id: a reject.
            (
                r#"{"branch":"koosy","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"ok","cost":0.5}"#,
                false,
            ),
            // An array: a reject.
            (
                r#"["a","koosy","e","2026-11-22T11:00:00Z","ok","ci",0.5]"#,
                false,
            ),
            // Integer cost, upper case values.
            (
                r#"{"id":"a","branch":"KOOSY","event":"e","timestamp":"2026-11-22T11:00:00Z","status":"OK","cost":0}"#,
                true,
            ),
        ];
        for (line, want) in cases {
            let by_parse = parse_line(line.as_bytes()).is_ok_and(|e| flt.entry_matches(&e));
            assert_eq!(by_parse, want, "parse_line view of {line}");
            assert_eq!(flt.matches_line(line.as_bytes()), want, "{line}");
        }
    }

    #[test]
    fn empty_filter_matches_everything_but_empty_lines_match_nothing_else() {
        let flt = f("   ");
        assert!(flt.is_empty());
        assert!(flt.matches_line(b"anything"));
        assert!(!f("x").matches_line(b""));
    }
}
