//! `lumen scrape URL`: poll an exporter once and print what was parsed (`lumen --help` and docs/formats.md).
//!
//! Exit codes: 0 parsed (unreadable lines are listed but do not fail the command as long
//! as at least one sample was read); 1 the source failed — connection, HTTP status,
//! timeout, body over `--max-bytes`, or unparsable, meaning the body yielded no sample
//! while having unreadable lines (garbage, an HTML page, binary); 2 usage (a URL that
//! is not absolute http(s), a timeout that is not a positive number).

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

use serde::Serialize;
use unicode_width::UnicodeWidthStr;

use crate::cli::{GlobalArgs, ScrapeArgs};
use crate::cmd::{CmdError, CmdResult, Outcome};
use crate::domain::exposition::{self, Parsed, Sample};
use crate::domain::sanitize::sanitize;
use crate::sources::exporter::{self, PollError};
use crate::sources::http;

/// Run `lumen scrape`.
pub fn run_scrape(args: &ScrapeArgs, g: &GlobalArgs) -> CmdResult {
    http::check_url(&args.url).map_err(|e| CmdError::usage(e.to_string()))?;
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            CmdError::usage(format!(
                "--timeout must be a positive number of seconds, not {}",
                args.timeout
            ))
        })?;
    let rt = crate::cmd::runtime()?;
    let client = http::client()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("cannot create an HTTP client: {e}")))?;
    let result: Result<Parsed, PollError> = rt.block_on(async {
        let body = http::get_bounded(&client, &args.url, timeout, args.max_bytes).await?;
        let parsed = tokio::task::spawn_blocking(move || exposition::parse(&body))
            .await
            .map_err(|_| PollError::ParserTask {
                url: http::redact(&args.url),
            })?;
        exporter::check_readable(&args.url, parsed)
    });
    let parsed = match result {
        Ok(p) => p,
        Err(e) => {
            errln!("lumen: {e}");
            return Ok(Outcome::CheckFailed);
        }
    };
    let url = http::redact(&args.url);
    let out = if g.json {
        if parsed.unreadable > 0 {
            errln!("lumen: {}", unreadable_summary(&parsed));
        }
        print_json(&url, &parsed)
    } else {
        print_human(&parsed)
    };
    match out {
        Ok(()) => Ok(Outcome::Ok),
        Err(e) => Err(CmdError::Io(
            anyhow::Error::new(e).context("writing the output"),
        )),
    }
}

/// A sample value in docs/formats.md form: a JSON number, or "NaN" / "+Inf" / "-Inf".
#[derive(Serialize)]
#[serde(untagged)]
enum JsonValue {
    Num(f64),
    Special(&'static str),
}

impl From<f64> for JsonValue {
    fn from(v: f64) -> Self {
        if v.is_nan() {
            JsonValue::Special("NaN")
        } else if v == f64::INFINITY {
            JsonValue::Special("+Inf")
        } else if v == f64::NEG_INFINITY {
            JsonValue::Special("-Inf")
        } else {
            JsonValue::Num(v)
        }
    }
}

#[derive(Serialize)]
struct JsonSample<'a> {
    name: &'a str,
    labels: &'a BTreeMap<String, String>,
    value: JsonValue,
}

#[derive(Serialize)]
struct JsonScrape<'a> {
    url: &'a str,
    samples: Vec<JsonSample<'a>>,
}

/// The `--json` document for one scrape (docs/formats.md).
pub fn json_document(url: &str, parsed: &Parsed) -> serde_json::Result<String> {
    let doc = JsonScrape {
        url,
        samples: parsed
            .samples
            .iter()
            .map(|s| JsonSample {
                name: &s.name,
                labels: &s.labels,
                value: s.value.into(),
            })
            .collect(),
    };
    serde_json::to_string(&doc)
}

fn print_json(url: &str, parsed: &Parsed) -> io::Result<()> {
    let s = json_document(url, parsed).map_err(io::Error::other)?;
    crate::cmd::out::json_line(&s);
    Ok(())
}

fn fmt_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        v.to_string()
    }
}

/// `{a="x",b="y"}` with the format's escapes, then sanitized for the terminal.
fn fmt_labels(s: &Sample) -> String {
    if s.labels.is_empty() {
        return String::new();
    }
    let mut t = String::from("{");
    for (i, (k, v)) in s.labels.iter().enumerate() {
        if i > 0 {
            t.push(',');
        }
        t.push_str(k);
        t.push_str("=\"");
        for ch in v.chars() {
            match ch {
                '\\' => t.push_str("\\\\"),
                '"' => t.push_str("\\\""),
                '\n' => t.push_str("\\n"),
                c => t.push(c),
            }
        }
        t.push('"');
    }
    t.push('}');
    sanitize(&t).into_owned()
}

fn unreadable_summary(p: &Parsed) -> String {
    let first = p
        .errors
        .first()
        .map(|(l, why)| format!(" (first: line {l}: {})", sanitize(why)))
        .unwrap_or_default();
    format!("{} unreadable lines{first}", p.unreadable)
}

fn pad(s: &str, width: usize) -> String {
    let w = s.width();
    if w >= width {
        s.to_owned()
    } else {
        format!("{s}{}", " ".repeat(width - w))
    }
}

fn print_human(p: &Parsed) -> io::Result<()> {
    const NAME_MAX: usize = 50;
    const LABELS_MAX: usize = 80;
    let rows: Vec<(String, String, String)> = p
        .samples
        .iter()
        .map(|s| {
            (
                sanitize(&s.name).into_owned(),
                fmt_labels(s),
                fmt_value(s.value),
            )
        })
        .collect();
    let nw = rows
        .iter()
        .map(|r| r.0.width())
        .max()
        .unwrap_or(0)
        .clamp(4, NAME_MAX);
    let lw = rows
        .iter()
        .map(|r| r.1.width())
        .max()
        .unwrap_or(0)
        .clamp(6, LABELS_MAX);
    // Sanitised line by line; a closed pipe (`lumen scrape … | head`) drops the rest.
    let mut out = crate::cmd::out::TextOut::stdout();
    writeln!(out, "{}  {}  VALUE", pad("NAME", nw), pad("LABELS", lw))?;
    for (n, l, v) in &rows {
        writeln!(out, "{}  {}  {v}", pad(n, nw), pad(l, lw))?;
    }
    writeln!(
        out,
        "{} samples, {} unreadable lines",
        rows.len(),
        p.unreadable
    )?;
    for (line, why) in &p.errors {
        writeln!(out, "  line {line}: {}", sanitize(why))?;
    }
    if p.unreadable > p.errors.len() {
        writeln!(out, "  … and {} more", p.unreadable - p.errors.len())?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_and_special_values() {
        let p = exposition::parse(b"a{x=\"1\"} NaN\nb +Inf\nc -Inf\nd 2.5\n");
        let s = json_document("http://h/m", &p).unwrap();
        assert_eq!(
            s,
            r#"{"url":"http://h/m","samples":[{"name":"a","labels":{"x":"1"},"value":"NaN"},{"name":"b","labels":{},"value":"+Inf"},{"name":"c","labels":{},"value":"-Inf"},{"name":"d","labels":{},"value":2.5}]}"#
        );
    }

    #[test]
    fn labels_are_escaped_and_sanitized() {
        let p = exposition::parse(b"a{x=\"q\\\"\\n\x1b[31m\"} 1\n");
        assert_eq!(fmt_labels(&p.samples[0]), "{x=\"q\\\"\\n\"}");
    }
}
