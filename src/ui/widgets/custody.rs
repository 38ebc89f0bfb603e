//! The custody view of the ceremony pane (`C`): the real root, the signer
//! certificate, the CRL and the seal audits, from the same report as `lumen custody`
//! (docs/custody.md). Lines only; the pane decides where they go.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;

use crate::domain::hq::custody::{CustodyReport, EXPIRY_WARN_DAYS};
use crate::domain::sanitize::sanitize;
use crate::theme::Theme;

fn mark(t: &Theme, ok: bool, yes: &str, no: &str) -> Span<'static> {
    if ok {
        Span::styled(format!("✓ {yes}"), t.fg(t.ok))
    } else {
        Span::styled(
            format!("✗ {no}"),
            t.fg(t.error).add_modifier(Modifier::BOLD),
        )
    }
}

fn label(t: &Theme, s: &str) -> Span<'static> {
    Span::styled(
        format!("{s:<8}"),
        t.fg(t.accent).add_modifier(Modifier::BOLD),
    )
}

fn plain(t: &Theme, s: impl Into<String>) -> Span<'static> {
    Span::styled(s.into(), t.text())
}

fn dim(t: &Theme, s: impl Into<String>) -> Span<'static> {
    Span::styled(s.into(), t.dimmed())
}

/// `e9ee1a2b…` as `e9ee 1a2b 3c4d 5e6f …` (the first 16 hex digits, grouped, as
/// custodians compare them aloud).
fn grouped(fp: &str) -> String {
    let head: Vec<String> = fp
        .as_bytes()
        .chunks(4)
        .take(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!("{} …", head.join(" "))
}

fn day(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// The custody view. `None`: the HQ keeps no custody files.
pub fn lines(report: Option<&CustodyReport>, now: DateTime<Utc>, t: &Theme) -> Vec<Line<'static>> {
    let Some(r) = report else {
        return vec![
            Line::from(dim(t, "No custody files in this HQ.")),
            Line::from(dim(
                t,
                "Lumen reads controls/keys/root/root_ca_cert.pem, controls/keys/current/signer_cert.pem,",
            )),
            Line::from(dim(
                t,
                "controls/trust/chain_manifest.json, controls/trust/crl.jsonl and custody/records/.",
            )),
        ];
    };
    let mut out = Vec::new();
    out.push(Line::from(vec![
        Span::styled(
            if r.ok { "custody ok" } else { "custody NOT ok" },
            t.fg(if r.ok { t.ok } else { t.error })
                .add_modifier(Modifier::BOLD),
        ),
        dim(
            t,
            format!(
                "  ·  {} problem(s), {} broken file(s)",
                r.problems.len(),
                r.errors.len()
            ),
        ),
    ]));

    // Root.
    match (&r.root.subject, &r.root.fingerprint) {
        (Some(subject), Some(fp)) => {
            out.push(Line::from(vec![
                label(t, "Root"),
                plain(t, sanitize(subject).into_owned()),
                dim(
                    t,
                    r.root
                        .not_after
                        .map(|d| format!("  until {}", day(d)))
                        .unwrap_or_default(),
                ),
            ]));
            out.push(Line::from(vec![
                label(t, ""),
                plain(t, format!("fingerprint {}  ", grouped(fp))),
                mark(
                    t,
                    r.root.manifest_match,
                    "manifest match",
                    "manifest MISMATCH",
                ),
                Span::raw("  "),
                mark(t, r.root.self_signed, "self-signed", "not self-signed"),
            ]));
        }
        _ => out.push(Line::from(vec![
            label(t, "Root"),
            Span::styled("no root certificate", t.fg(t.error)),
        ])),
    }

    // Signer.
    match (&r.signer.subject, &r.signer.serial) {
        (Some(subject), Some(serial)) => {
            out.push(Line::from(vec![
                label(t, "Signer"),
                plain(t, sanitize(subject).into_owned()),
                dim(t, format!("  serial {serial}")),
            ]));
            let (left, colour) = match r.signer.days_left {
                Some(d) if d < 0 => (format!("EXPIRED {} days ago", -d), t.error),
                Some(d) if d < EXPIRY_WARN_DAYS => (format!("{d} days left"), t.warn),
                Some(d) => (format!("{d} days left"), t.ok),
                None => ("-".into(), t.dim),
            };
            out.push(Line::from(vec![
                label(t, ""),
                plain(
                    t,
                    format!(
                        "until {}  ",
                        r.signer.not_after.map(day).unwrap_or_else(|| "-".into())
                    ),
                ),
                Span::styled(left, t.fg(colour).add_modifier(Modifier::BOLD)),
                Span::raw("  "),
                mark(t, r.signer.chain_ok, "chain", "chain FAILS"),
                Span::raw("  "),
                mark(t, r.signer.eku_ok, "EKU", "EKU not allowed"),
                Span::raw("  "),
                mark(t, !r.signer.revoked, "not revoked", "REVOKED"),
            ]));
        }
        _ => out.push(Line::from(vec![
            label(t, "Signer"),
            Span::styled("no signer certificate", t.fg(t.error)),
        ])),
    }

    // CRL.
    out.push(Line::from(vec![
        label(t, "CRL"),
        plain(
            t,
            match r.crl.entries {
                1 => "1 revoked serial".to_string(),
                n => format!("{n} revoked serials"),
            },
        ),
    ]));

    // Seal audits.
    match &r.audits.last {
        Some(a) => {
            out.push(Line::from(vec![
                label(t, "Audit"),
                plain(
                    t,
                    format!(
                        "{} by {}  ",
                        day(a.ts_utc),
                        sanitize(&a.auditors.join(", "))
                    ),
                ),
                mark(t, a.seal_ok, "seal intact", "SEAL BROKEN"),
                Span::raw("  "),
                mark(t, a.fingerprint_match, "root matches", "other root"),
            ]));
        }
        None => out.push(Line::from(vec![
            label(t, "Audit"),
            Span::styled("no quarterly seal audit recorded", t.fg(t.warn)),
        ])),
    }
    if let Some(due) = r.audits.next_due {
        let line = if r.audits.overdue {
            Span::styled(
                format!(
                    "next was due {} — OVERDUE by {} days",
                    day(due),
                    (now - due).num_days()
                ),
                t.fg(t.error).add_modifier(Modifier::BOLD),
            )
        } else {
            Span::styled(
                format!("next due {} (in {} days)", day(due), (due - now).num_days()),
                t.fg(t.ok),
            )
        };
        out.push(Line::from(vec![label(t, ""), line]));
    }
    for e in &r.errors {
        out.push(Line::from(vec![
            Span::styled("error   ", t.fg(t.error).add_modifier(Modifier::BOLD)),
            plain(t, sanitize(e).into_owned()),
        ]));
    }
    for p in &r.problems {
        out.push(Line::from(vec![
            Span::styled("problem ", t.fg(t.warn).add_modifier(Modifier::BOLD)),
            plain(t, sanitize(p).into_owned()),
        ]));
    }
    out
}

/// The custody view in the ceremony pane's inner `area`.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let mut rows = vec![Line::from(Span::styled(
        "Custody — the real root, not a rehearsal  (C or esc: back to the scenarios)",
        t.dimmed(),
    ))];
    rows.extend(lines(app.panes().seed.custody.as_ref(), app.shell().now, t));
    frame.render_widget(Paragraph::new(rows).wrap(Wrap { trim: false }), area);
}
