//! Ledger stream: live tail with follow/pause, rejects, a detail view, integrity
//! counts and a 24 h event-flow histogram stacked by event class.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::action::{LedgerRecord, SourceId};
use crate::app::{App, EventClass, FLOW_BUCKET_SECS, FLOW_BUCKETS, Pane};
use crate::domain::sanitize::sanitize;
use crate::ui::{pane_block, short, staleness};

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let block = pane_block(app, Pane::Ledger, Some(staleness(app, &SourceId::Ledger)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let hist_h = if inner.height >= 14 { 3 } else { 0 };
    let [badges, body, hist] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(hist_h),
    ])
    .areas(inner);
    render_badges(frame, app, badges);
    if app.ledger_view.rejects {
        render_rejects(frame, app, body);
    } else if app.ledger_view.detail {
        render_detail(frame, app, body);
    } else {
        render_lines(frame, app, body);
    }
    if hist_h > 0 {
        render_flow(frame, app, hist);
    }
}

fn render_badges(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let l = &app.ledger;
    let v = &app.ledger_view;
    let mut spans = vec![
        Span::styled(format!("{} entries", l.entries), t.text()),
        Span::styled(" · ", t.dimmed()),
        Span::styled(
            format!("{} rejects", l.rejects),
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
    spans.push(Span::raw("  "));
    if v.follow {
        spans.push(Span::styled(
            "▶ follow",
            t.fg(t.ok).add_modifier(Modifier::BOLD),
        ));
    } else {
        spans.push(Span::styled(
            format!("⏸ paused, {} new", v.new_while_paused),
            t.fg(t.warn).add_modifier(Modifier::BOLD),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Rows visible in `area`, newest at the bottom, keeping the selection on screen.
fn window(app: &App, height: usize) -> (usize, usize, Option<usize>) {
    let n = app.ledger.recent.len();
    if n == 0 || height == 0 {
        return (0, 0, None);
    }
    let sel = n - 1 - app.ledger_view.from_newest.min(n - 1);
    // Near the tail the newest lines fill the view; further up the selection is the last row.
    let end = if app.ledger_view.from_newest < height {
        n
    } else {
        sel + 1
    };
    let start = end.saturating_sub(height);
    (
        start,
        end,
        if app.ledger_view.follow {
            None
        } else {
            Some(sel)
        },
    )
}

fn render_lines(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    if app.ledger.recent.is_empty() {
        let msg = match app.sources.get(&SourceId::Ledger) {
            Some(s) if s.failing() => "the ledger cannot be read — see the error above",
            _ => "no ledger lines yet (hq/ledger/ledger.jsonl)",
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dimmed())), area);
        return;
    }
    let (start, end, sel) = window(app, area.height as usize);
    let width = area.width as usize;
    let lines: Vec<Line> = (start..end)
        .filter_map(|i| app.ledger.recent.get(i).map(|r| (i, r)))
        .map(|(i, r)| {
            let line = record_line(app, r, width);
            if Some(i) == sel {
                line.style(t.selected())
            } else {
                line
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn event_style(app: &App, event: &str, status: Option<&str>) -> Style {
    let t = &app.theme;
    match EventClass::of(event, status) {
        Some(EventClass::Failure) => t.fg(t.error),
        Some(EventClass::Deploy) => t.fg(t.info),
        Some(EventClass::Llm) => t.fg(t.series[1]),
        Some(EventClass::Operator) => t.fg(t.warn).add_modifier(Modifier::BOLD),
        None => t.text(),
    }
}

fn record_line<'a>(app: &App, r: &LedgerRecord, width: usize) -> Line<'a> {
    let t = &app.theme;
    match &r.parsed {
        Ok(e) => {
            let ts = e
                .timestamp
                .with_timezone(&chrono::Utc)
                .format("%m-%d %H:%M:%S")
                .to_string();
            let mut spans = vec![
                Span::styled(format!("{:>6} ", r.line), t.dimmed()),
                Span::styled(format!("{ts} "), t.dimmed()),
                Span::styled(
                    format!("{:<12} ", short(&sanitize(&e.branch), 12)),
                    t.text(),
                ),
                Span::styled(
                    format!("{:<20} ", short(&sanitize(&e.event), 20)),
                    event_style(app, &e.event, e.status.as_deref()),
                ),
            ];
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
            rest.push_str(&sanitize(&e.id));
            if e.signed {
                rest.push_str(" ✎");
            }
            let used = 6 + 1 + 15 + 13 + 21;
            spans.push(Span::styled(
                short(&rest, width.saturating_sub(used)),
                t.dimmed(),
            ));
            Line::from(spans)
        }
        Err(reason) => Line::from(vec![
            Span::styled(format!("{:>6} ", r.line), t.dimmed()),
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
    let t = &app.theme;
    let n = app.ledger.recent.len();
    let Some(r) = n
        .checked_sub(1 + app.ledger_view.from_newest)
        .and_then(|i| app.ledger.recent.get(i))
    else {
        frame.render_widget(
            Paragraph::new(Span::styled("nothing selected", t.dimmed())),
            area,
        );
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(
            format!("line {} · offset {} ", r.line, r.offset),
            t.fg(t.accent),
        ),
        Span::styled("(esc closes)", t.dimmed()),
    ])];
    match &r.parsed {
        Ok(e) => {
            let kv = |k: &str, v: String| {
                Line::from(vec![
                    Span::styled(format!("{k:>10}: "), t.dimmed()),
                    Span::styled(v, t.text()),
                ])
            };
            lines.push(kv("id", sanitize(&e.id).into_owned()));
            lines.push(kv("branch", sanitize(&e.branch).into_owned()));
            lines.push(kv("event", sanitize(&e.event).into_owned()));
            lines.push(kv("timestamp", e.timestamp.to_rfc3339()));
            for (k, v) in [
                ("status", &e.status),
                ("actor", &e.actor),
                ("tier", &e.tier),
                ("target", &e.target),
                ("change", &e.change),
            ] {
                if let Some(v) = v {
                    lines.push(kv(k, sanitize(v).into_owned()));
                }
            }
            if let Some(x) = e.tokens {
                lines.push(kv("tokens", x.to_string()));
            }
            if let Some(x) = e.cost {
                lines.push(kv("cost", format!("{x}")));
            }
            let integrity = match (e.chained, e.signed) {
                (true, true) => "chained · signed",
                (true, false) => "chained · unsigned",
                (false, true) => "unchained · signed",
                (false, false) => "unchained · unsigned (external writer)",
            };
            lines.push(kv("integrity", integrity.into()));
        }
        Err(reason) => lines.push(Line::from(Span::styled(
            format!("REJECT: {reason}"),
            t.fg(t.error),
        ))),
    }
    lines.push(Line::from(Span::styled("raw:", t.dimmed())));
    lines.push(Line::from(Span::styled(r.excerpt.clone(), t.text())));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), area);
}

fn render_rejects(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let rows = &app.ledger.reject_rows;
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} rejected line(s) — line · byte offset · reason · excerpt (esc closes)",
            app.ledger.rejects
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
    let t = &app.theme;
    let now_bucket = app.now.timestamp().div_euclid(FLOW_BUCKET_SECS);
    let buckets: Vec<[u32; 4]> = (now_bucket - FLOW_BUCKETS + 1..=now_bucket)
        .map(|b| app.ledger.flow.get(&b).copied().unwrap_or([0; 4]))
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
        format!("24h flow · today {} · ", app.ledger.today_total(app.now)),
        t.dimmed(),
    )];
    for (c, color) in EventClass::ALL.iter().zip(colors) {
        legend.push(Span::styled("■ ", t.fg(color)));
        legend.push(Span::styled(format!("{} ", c.label()), t.dimmed()));
    }
    lines.push(Line::from(legend));
    frame.render_widget(Paragraph::new(lines), area);
}
