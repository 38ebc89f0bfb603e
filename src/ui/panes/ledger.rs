//! Ledger stream: live tail with follow/pause, rejects, a detail view, integrity
//! counts and a 24 h event-flow histogram stacked by event class.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::{App, EventClass, FLOW_BUCKET_SECS, FLOW_BUCKETS, LineSlot, Pane};
use crate::domain::sanitize::sanitize;
use crate::protocol::{ChainStatus, SigStatus};
use crate::protocol::{LedgerRecord, SourceId};
use crate::ui::{pane_block, short, staleness};

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane_block(app, Pane::Ledger, Some(staleness(app, &SourceId::Ledger)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let hist_h = if inner.height >= 14 { 3 } else { 0 };
    let v = &app.panes().ledger_view;
    // The filter row wraps (an error is never cut): as many rows as it needs, up to
    // a third of the pane.
    let filter_h = if (v.active.is_some()
        || v.filter_error.is_some()
        || v.index.building
        || app.ledger_notice().is_some())
        && inner.height >= 4
    {
        let w = usize::from(inner.width.max(1));
        let need = filter_row_line(app).width().div_ceil(w).max(1);
        need.min(usize::from((inner.height / 3).max(1))) as u16
    } else {
        0
    };
    let [badges, filter_row, body, hist] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(filter_h),
        Constraint::Min(0),
        Constraint::Length(hist_h),
    ])
    .areas(inner);
    render_badges(frame, app, badges);
    if filter_h > 0 {
        render_filter_row(frame, app, filter_row);
    }
    if app.panes().ledger_view.rejects {
        render_rejects(frame, app, body);
    } else if app.panes().ledger_view.detail {
        render_detail(frame, app, body);
    } else {
        render_lines(frame, app, body);
    }
    if hist_h > 0 {
        render_flow(frame, app, hist);
    }
}

fn render_badges(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let l = &app.panes().ledger;
    let v = &app.panes().ledger_view;
    let mut spans = vec![
        Span::styled(
            super::count(l.entries as usize, "entry", "entries"),
            t.text(),
        ),
        Span::styled(" · ", t.dimmed()),
        Span::styled(
            super::count(l.rejects as usize, "reject", "rejects"),
            if l.rejects > 0 {
                t.fg(t.error).add_modifier(Modifier::BOLD)
            } else {
                t.dimmed()
            },
        ),
        Span::styled(" · ", t.dimmed()),
    ];
    match &l.integrity {
        None => spans.push(Span::styled("verifying chain & signatures…", t.dimmed())),
        Some((_, i)) if i.error.is_some() => spans.push(Span::styled(
            format!(
                "integrity unknown: {}",
                crate::ui::short(&sanitize(i.error.as_deref().unwrap_or("")), 40)
            ),
            t.fg(t.warn),
        )),
        Some((at, i)) => {
            let bad = i.chain_broken + i.sig_bad + i.checkpoints_bad > 0;
            let mark = |okc: u64, badc: u64, what: &str| {
                if badc > 0 {
                    Span::styled(
                        format!("{what} ✗{badc} "),
                        t.fg(t.error).add_modifier(Modifier::BOLD),
                    )
                } else {
                    Span::styled(format!("{what} ✓{okc} "), t.fg(t.ok))
                }
            };
            spans.push(mark(i.chain_ok, i.chain_broken, "chain"));
            spans.push(mark(i.sig_ok, i.sig_bad, "sig"));
            spans.push(mark(i.checkpoints_ok, i.checkpoints_bad, "ckpt"));
            spans.push(Span::styled(
                format!(
                    "unchained {} ({} ago)",
                    i.unchained,
                    crate::app::fmt_age(app.age(*at))
                ),
                if bad { t.fg(t.error) } else { t.dimmed() },
            ));
        }
    }
    if l.pending_bytes > 0 {
        spans.push(Span::styled(
            format!(" · pending {} B", l.pending_bytes),
            t.fg(t.warn),
        ));
    }
    // The follow/pause badge sits at the right edge and is never the part cut off: a
    // narrow pane shortens the counts and integrity text instead.
    let badge = if v.follow {
        Span::styled("▶ follow", t.fg(t.ok).add_modifier(Modifier::BOLD))
    } else {
        Span::styled(
            format!("⏸ paused, {} new", v.new_while_paused),
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        )
    };
    let badge_w = u16::try_from(badge.width())
        .unwrap_or(u16::MAX)
        .min(area.width);
    let [left, _, right] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(u16::from(area.width > badge_w)),
        Constraint::Length(badge_w),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(Line::from(spans)), left);
    frame.render_widget(Paragraph::new(Line::from(badge)), right);
}

/// Width of the line-number column: 6, or more for a ledger past 999,999 lines.
fn num_width(app: &App) -> usize {
    app.ledger_total().to_string().len().max(6)
}

/// Thousands separators for counts.
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(done: u64, total: u64) -> u64 {
    (done.min(total).saturating_mul(100))
        .checked_div(total)
        .unwrap_or(100)
}

/// Index progress, the active filter with its match count and scan progress, or the
/// error of a refused filter.
fn render_filter_row(frame: &mut Frame, app: &App, area: Rect) {
    frame.render_widget(
        Paragraph::new(filter_row_line(app)).wrap(Wrap { trim: false }),
        area,
    );
}

/// The filter row: notice, filter, progress, matches and the filter error in full.
fn filter_row_line(app: &App) -> Line<'static> {
    let t = &app.shell().theme;
    let v = &app.panes().ledger_view;
    let mut spans = Vec::new();
    if let Some(n) = app.ledger_notice() {
        spans.push(Span::styled(
            format!("⟳ {} ", short(&sanitize(n), 70)),
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        ));
    }
    if v.index.building {
        let text = if v.index.bytes_total == 0 {
            "indexing… ".to_string()
        } else {
            format!(
                "indexing {}% ({} lines) ",
                percent(v.index.bytes_done, v.index.bytes_total),
                group(v.index.lines)
            )
        };
        spans.push(Span::styled(text, t.fg(t.info)));
    }
    if let Some(f) = &v.active {
        spans.push(Span::styled("filter ", t.dimmed()));
        spans.push(Span::styled(
            short(&sanitize(&f.filter.source), 60),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled(
            format!(" · {} matches", group(f.matches.len() as u64)),
            t.text().add_modifier(Modifier::BOLD),
        ));
        if let Some((done, total)) = f.scanning {
            spans.push(Span::styled(
                format!(" · scanning {}%", percent(done, total)),
                t.fg(t.warn),
            ));
        }
        if !f.matches.is_empty() {
            let at = if v.follow { f.matches.len() } else { f.sel + 1 };
            spans.push(Span::styled(
                format!(" · #{} · n/N next/prev", group(at as u64)),
                t.dimmed(),
            ));
        }
        let c = v.context_lines();
        if c > 0 {
            spans.push(Span::styled(format!(" · ±{c} context"), t.dimmed()));
        }
    }
    if let Some(e) = &v.filter_error {
        spans.push(Span::styled(
            format!(" ✗ {}", sanitize(e)),
            t.fg(t.error).add_modifier(Modifier::BOLD),
        ));
    }
    Line::from(spans)
}

fn render_lines(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let rows = app.ledger_rows(area.height as usize);
    if rows.is_empty() {
        let msg = match (
            &app.panes().ledger_view.active,
            app.data().sources.get(&SourceId::Ledger),
        ) {
            (Some(f), _) if f.scanning.is_some() => "scanning the whole ledger…",
            (Some(_), _) => "no line matches the filter (empty / clears it)",
            (None, Some(s)) if s.failing() => "the ledger cannot be read — see the error above",
            (None, None) => "reading the ledger…",
            _ => "no ledger lines yet (hq/ledger/ledger.jsonl)",
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dimmed())), area);
        return;
    }
    let filtered = app.panes().ledger_view.active.is_some();
    let width = area.width as usize;
    let lines: Vec<Line> = rows
        .iter()
        .map(|row| {
            let line = match app.ledger_line(row.line) {
                LineSlot::Loaded(r) => record_line(app, r, width),
                LineSlot::Empty => Line::from(vec![
                    Span::styled(format!("{:>w$} ", row.line, w = num_width(app)), t.dimmed()),
                    Span::styled("(empty line)", t.dimmed()),
                ]),
                LineSlot::Loading => Line::from(vec![
                    Span::styled(format!("{:>w$} ", row.line, w = num_width(app)), t.dimmed()),
                    Span::styled("loading…", t.dimmed()),
                ]),
            };
            if row.selected {
                line.style(t.selected())
            } else if filtered && !row.is_match {
                line.style(t.dimmed())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn event_style(app: &App, event: &str, status: Option<&str>) -> Style {
    let t = &app.shell().theme;
    match EventClass::of(event, status) {
        Some(EventClass::Failure) => t.fg(t.error),
        Some(EventClass::Deploy) => t.fg(t.info),
        Some(EventClass::Llm) => t.fg(t.series[1]),
        Some(EventClass::Operator) => t.fg(t.warn).add_modifier(Modifier::BOLD),
        None => t.text(),
    }
}

fn record_line<'a>(app: &App, r: &LedgerRecord, width: usize) -> Line<'a> {
    let t = &app.shell().theme;
    match &r.parsed {
        Ok(e) => {
            // The id is never cut: when the line is narrow, the timestamp loses its
            // date and the event column narrows first.
            let id_need = unicode_width::UnicodeWidthStr::width(e.id.as_str()) + 3;
            let narrow = width < num_width(app) + 1 + 15 + 13 + 21 + id_need;
            let (ts_fmt, event_w) = if narrow {
                ("%H:%M:%S", 14)
            } else {
                ("%m-%d %H:%M:%S", 20)
            };
            let ts = e
                .timestamp
                .with_timezone(&chrono::Utc)
                .format(ts_fmt)
                .to_string();
            let mut spans = vec![
                Span::styled(format!("{:>w$} ", r.line, w = num_width(app)), t.dimmed()),
                Span::styled(format!("{ts} "), t.dimmed()),
                Span::styled(
                    format!("{:<12} ", short(&sanitize(&e.branch), 12)),
                    t.text(),
                ),
                Span::styled(
                    format!("{:<event_w$} ", short(&sanitize(&e.event), event_w),),
                    event_style(app, &e.event, e.status.as_deref()),
                ),
            ];
            // The id in full, right after the event (confirmations ask you to type
            // it); what follows is cut to the space left.
            let mut id = sanitize(&e.id).into_owned();
            if e.signed {
                id.push_str(" ✎");
            }
            id.push(' ');
            let id_w = unicode_width::UnicodeWidthStr::width(id.as_str());
            spans.push(Span::styled(id, t.text()));
            let mut rest = String::new();
            if let Some(s) = &e.status {
                rest.push_str(&format!("{} ", sanitize(s)));
            }
            if let Some(a) = &e.actor {
                rest.push_str(&format!("by {} ", sanitize(a)));
            }
            if let Some(tok) = e.tokens {
                rest.push_str(&format!("{tok} tok "));
            }
            if let Some(c) = e.cost {
                rest.push_str(&format!("${c:.3} "));
            }
            if let Some(target) = &e.target {
                rest.push_str(&format!("→ {} ", sanitize(target)));
            }
            let used = num_width(app) + 1 + ts.len() + 1 + 13 + event_w + 1 + id_w;
            let room = width.saturating_sub(used);
            let rest = rest.trim_end();
            // A stub like `b…` says nothing: the rest shows only with room for a word.
            if room >= 8 && !rest.is_empty() {
                spans.push(Span::styled(short(rest, room), t.dimmed()));
            }
            Line::from(spans)
        }
        Err(reason) => Line::from(vec![
            Span::styled(format!("{:>w$} ", r.line, w = num_width(app)), t.dimmed()),
            Span::styled("REJECT ", t.fg(t.error).add_modifier(Modifier::BOLD)),
            Span::styled(
                short(
                    &format!("{reason} — {}", r.excerpt),
                    width.saturating_sub(14),
                ),
                t.fg(t.error),
            ),
        ]),
    }
}

fn render_detail(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let v = &app.panes().ledger_view;
    let mut lines = vec![Line::from(vec![
        Span::styled(format!("line {} ", group(v.detail_line)), t.fg(t.accent)),
        Span::styled("(esc closes)", t.dimmed()),
    ])];
    let Some(d) = &v.detail_data else {
        let msg = match &v.detail_error {
            Some(e) => Span::styled(sanitize(e).into_owned(), t.fg(t.error)),
            None => Span::styled("reading…", t.dimmed()),
        };
        lines.push(Line::from(msg));
        frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
        return;
    };
    let kv = |k: &str, v: Span<'static>| {
        Line::from(vec![Span::styled(format!("{k:>10}: "), t.dimmed()), v])
    };
    lines.push(kv(
        "position",
        Span::styled(
            format!(
                "line {} · byte offset {} · {} bytes",
                group(d.line),
                group(d.offset),
                group(d.len)
            ),
            t.text(),
        ),
    ));
    if let Some(reason) = &d.reject {
        lines.push(kv(
            "REJECT",
            Span::styled(sanitize(reason).into_owned(), t.fg(t.error)),
        ));
    } else {
        let chain = match &d.chain {
            ChainStatus::Linked => {
                Span::styled("✓ prev = SHA-256 of the previous line", t.fg(t.ok))
            }
            ChainStatus::Unchained => {
                Span::styled("unchained (no prev: external writer)", t.dimmed())
            }
            ChainStatus::Broken { found, expected } => Span::styled(
                format!(
                    "✗ broken: prev {} ≠ {}",
                    short(found, 20),
                    short(expected, 16)
                ),
                t.fg(t.error).add_modifier(Modifier::BOLD),
            ),
        };
        lines.push(kv("chain", chain));
        let sig = match &d.signature {
            SigStatus::Valid { signer } => {
                Span::styled(format!("✓ valid, signer {signer}"), t.fg(t.ok))
            }
            SigStatus::Bad { signer, reason } => Span::styled(
                format!("✗ {reason} (signer {signer})"),
                t.fg(t.error).add_modifier(Modifier::BOLD),
            ),
            SigStatus::Unknown { reason } => {
                Span::styled(format!("unknown: {}", short(reason, 60)), t.fg(t.warn))
            }
            SigStatus::Unsigned => Span::styled("unsigned", t.dimmed()),
        };
        lines.push(kv("signature", sig));
        if let Some(target) = &d.target {
            let msg = if v.jumping.is_some() {
                format!(
                    "→ target {} (looking for it…)",
                    short(&sanitize(target), 40)
                )
            } else {
                format!(
                    "→ target {} (press Enter to jump)",
                    short(&sanitize(target), 40)
                )
            };
            lines.push(kv(
                "rollback",
                Span::styled(msg, t.fg(t.warn).add_modifier(Modifier::BOLD)),
            ));
        }
    }
    for l in &d.pretty {
        lines.push(Line::from(Span::styled(l.clone(), t.text())));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn render_rejects(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let rows = &app.panes().ledger.reject_rows;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} rejected line(s) — line · byte offset · reason · excerpt (esc closes)",
            app.panes().ledger.rejects
        ),
        t.fg(t.accent),
    ))];
    let room = (area.height as usize).saturating_sub(1);
    let skip = rows.len().saturating_sub(room);
    for r in rows.iter().skip(skip) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:>7} ", r.line), t.text()),
            Span::styled(format!("@{:<10} ", r.offset), t.dimmed()),
            Span::styled(format!("{} ", r.reason), t.fg(t.error)),
            Span::styled(short(&r.excerpt, 80), t.dimmed()),
        ]));
    }
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            "no rejects: every line is a valid entry",
            t.fg(t.ok),
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// 24 h of 15-minute buckets as stacked block columns, one class per colour.
fn render_flow(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let now_bucket = app.shell().now.timestamp().div_euclid(FLOW_BUCKET_SECS);
    let buckets: Vec<[u32; 4]> = (now_bucket - FLOW_BUCKETS + 1..=now_bucket)
        .map(|b| app.panes().ledger.flow.get(&b).copied().unwrap_or([0; 4]))
        .collect();
    let cols = (area.width as usize).saturating_sub(12).max(1);
    // Merge buckets when the pane is narrower than 96 columns.
    let per = buckets.len().div_ceil(cols).max(1);
    let merged: Vec<[u32; 4]> = buckets
        .chunks(per)
        .map(|c| {
            c.iter().fold([0u32; 4], |mut acc, b| {
                for (a, x) in acc.iter_mut().zip(b) {
                    *a += x;
                }
                acc
            })
        })
        .collect();
    let max = merged
        .iter()
        .map(|b| b.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let colors = [t.info, t.error, t.series[1], t.warn];
    let rows = area.height.saturating_sub(1) as u32;
    let mut lines: Vec<Line> = Vec::new();
    for row in (0..rows).rev() {
        let mut spans = vec![Span::styled(
            if row == rows - 1 {
                format!("{:>10} ", format!("≤{max}/{}m", per * 15))
            } else {
                " ".repeat(11)
            },
            t.dimmed(),
        )];
        for b in &merged {
            let total: u32 = b.iter().sum();
            let h = (total as f64 / max as f64 * rows as f64 * 8.0).round() as u32;
            let cell_lo = row * 8;
            let fill = h.saturating_sub(cell_lo).min(8);
            // Colour by the class the cell's height falls in (stacked bottom-up).
            let mid = ((cell_lo + 4) as f64 / (rows * 8) as f64 * total as f64) as u32;
            let mut acc = 0;
            let mut color = colors[0];
            for (i, c) in b.iter().enumerate() {
                acc += c;
                if mid < acc {
                    color = colors.get(i).copied().unwrap_or(t.fg);
                    break;
                }
            }
            let ch = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█']
                .get(fill as usize)
                .copied()
                .unwrap_or(' ');
            spans.push(Span::styled(ch.to_string(), t.fg(color)));
        }
        lines.push(Line::from(spans));
    }
    let mut legend = vec![Span::styled(
        format!(
            "24h flow · today {} · ",
            app.panes().ledger.today_total(app.shell().now)
        ),
        t.dimmed(),
    )];
    for (c, color) in EventClass::ALL.iter().zip(colors) {
        legend.push(Span::styled("■ ", t.fg(color)));
        legend.push(Span::styled(format!("{} ", c.label()), t.dimmed()));
    }
    lines.push(Line::from(legend));
    frame.render_widget(Paragraph::new(lines), area);
}
