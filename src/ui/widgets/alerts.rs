//! The header summary, the alerts view and the silence form.
//!
//! The alerts view is an overlay over the panes (the header with its summary stays
//! visible above it): what fires here, critical first then newest, two lines each
//! (what is wrong; → what to do), the selected one in full; then what Alertmanager
//! lists besides (Prometheus-rule alerts, other consoles' HQs) and its silences, or
//! why Alertmanager cannot be reached and since when.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::alerts::{AlertsState, AmRow, Field, SilenceForm};
use crate::app::fmt_age;
use crate::domain::alerts::{Alert, Severity, Summary, Tone};
use crate::domain::sanitize::sanitize;
use crate::keymap::Keymap;
use crate::protocol::Action;
use crate::theme::Theme;

/// What the alerts widgets need besides the alerts.
pub struct Ctx<'a> {
    pub theme: &'a Theme,
    pub now: DateTime<Utc>,
    pub keymap: &'a Keymap,
    /// Why this console cannot silence (read-only), if it cannot.
    pub readonly: Option<&'a str>,
}

/// The style of a summary tone.
pub fn tone_style(t: &Theme, tone: Tone) -> Style {
    match tone {
        Tone::Ok => t.fg(t.ok),
        Tone::Muted => t.dimmed(),
        Tone::Info => t.fg(t.info),
        Tone::Warning => t.fg(t.warn).add_modifier(Modifier::BOLD),
        // Without colours, critical still stands out.
        Tone::Critical if t.color => t.fg(t.error).add_modifier(Modifier::BOLD),
        Tone::Critical => Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED),
    }
}

/// The header summary in at most `width` columns (long form, else long with `+N
/// more`, else the short form), coloured by tone.
pub fn summary_spans(summary: &Summary, width: usize, t: &Theme) -> Vec<Span<'static>> {
    summary
        .fit_parts(width)
        .into_iter()
        .map(|(s, tone)| Span::styled(s, tone_style(t, tone)))
        .collect()
}

fn severity_span(t: &Theme, s: Option<Severity>) -> Span<'static> {
    let (text, tone) = match s {
        Some(Severity::Critical) => ("CRIT", Tone::Critical),
        Some(Severity::Warning) => ("WARN", Tone::Warning),
        Some(Severity::Info) => ("INFO", Tone::Info),
        None => ("  ? ", Tone::Muted),
    };
    Span::styled(text, tone_style(t, tone))
}

/// `s` cut to `w` display columns, with `…` when cut.
fn fit(s: &str, w: usize) -> String {
    if s.width() <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for ch in s.chars() {
        let cw = ch.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        used += cw;
        out.push(ch);
    }
    if w > 0 {
        out.push('…');
    }
    out
}

fn pad(s: &str, w: usize) -> String {
    let s = fit(s, w);
    let n = w.saturating_sub(s.width());
    format!("{s}{}", " ".repeat(n))
}

fn key_label(km: &Keymap, a: Action) -> Option<String> {
    km.keys_for(a).first().map(|k| k.label())
}

/// Column widths: name and branch padded in wide views, not in narrow ones.
struct Cols {
    name: usize,
    branch: usize,
    wide: bool,
}

struct Row<'a> {
    sev: Option<Severity>,
    since: Option<DateTime<Utc>>,
    name: &'a str,
    branch: Option<&'a str>,
    summary: &'a str,
    action: Option<&'a str>,
    tag: Option<String>,
}

impl<'a> Row<'a> {
    fn here(a: &'a Alert, silenced: bool) -> Self {
        Row {
            sev: Some(a.severity),
            since: Some(a.since),
            name: a.alertname.as_str(),
            branch: a.branch(),
            summary: &a.summary,
            action: Some(&a.action),
            tag: silenced.then(|| "silenced".to_string()),
        }
    }

    /// `hq`: this console's `hq` label; another HQ's alert says which.
    fn remote(r: &'a AmRow, hq: &str) -> Self {
        let mut tags = Vec::new();
        if let Some(other) = r.labels.get("hq").filter(|h| h.as_str() != hq) {
            tags.push(format!("hq {}", sanitize(other)));
        }
        if r.silenced {
            tags.push("silenced".into());
        } else if r.inhibited {
            tags.push("inhibited".into());
        }
        Row {
            sev: r.severity,
            since: r.since,
            name: &r.name,
            branch: r.branch.as_deref(),
            summary: &r.summary,
            action: None,
            tag: (!tags.is_empty()).then(|| tags.join(", ")),
        }
    }

    /// Two lines (one without an action); the selected row in full, wrapped.
    fn lines(&self, cx: &Ctx<'_>, cols: &Cols, width: usize, selected: bool) -> Vec<Line<'static>> {
        let t = cx.theme;
        let age = self
            .since
            .map(|s| fmt_age((cx.now - s).num_seconds().max(0)))
            .unwrap_or_else(|| "—".into());
        let marker = if selected { "▶ " } else { "  " };
        let mut head = vec![
            Span::styled(marker, t.fg(t.accent).add_modifier(Modifier::BOLD)),
            severity_span(t, self.sev),
            Span::styled(format!(" {age:>4}  "), t.dimmed()),
        ];
        let branch = sanitize(self.branch.unwrap_or("—")).into_owned();
        let name = sanitize(self.name).into_owned();
        let (name, branch) = if cols.wide {
            (pad(&name, cols.name), pad(&branch, cols.branch))
        } else {
            (name, branch)
        };
        head.push(Span::styled(name, t.text().add_modifier(Modifier::BOLD)));
        head.push(Span::raw(" "));
        head.push(Span::styled(branch, t.fg(t.accent)));
        head.push(Span::raw("  "));
        if let Some(tag) = &self.tag {
            head.push(Span::styled(format!("[{tag}] "), t.fg(t.info)));
        }
        let used: usize = head.iter().map(|s| s.content.width()).sum();
        let indent = " ".repeat(13.min(width / 3));
        let summary = sanitize(self.summary).into_owned();
        let action = self.action.map(|a| format!("→ {}", sanitize(a)));
        let mut out = Vec::new();
        if selected {
            // In full: the rest of the first line, then wrapped continuation lines.
            let room = width.saturating_sub(used).max(1);
            let mut chunks = wrap(&summary, room, width.saturating_sub(indent.width()).max(1));
            let first = if chunks.is_empty() {
                String::new()
            } else {
                chunks.remove(0)
            };
            head.push(Span::styled(first, t.text()));
            out.push(Line::from(head).style(t.selected()));
            for c in chunks {
                out.push(
                    Line::from(vec![Span::raw(indent.clone()), Span::styled(c, t.text())])
                        .style(t.selected()),
                );
            }
            if let Some(a) = action {
                for c in wrap(
                    &a,
                    width.saturating_sub(indent.width()).max(1),
                    width.saturating_sub(indent.width()).max(1),
                ) {
                    out.push(
                        Line::from(vec![
                            Span::raw(indent.clone()),
                            Span::styled(c, t.fg(t.accent)),
                        ])
                        .style(t.selected()),
                    );
                }
            }
        } else {
            head.push(Span::styled(
                fit(&summary, width.saturating_sub(used)),
                t.text(),
            ));
            out.push(Line::from(head));
            if let Some(a) = action {
                out.push(Line::from(vec![
                    Span::raw(indent.clone()),
                    Span::styled(fit(&a, width.saturating_sub(indent.width())), t.dimmed()),
                ]));
            }
        }
        out
    }
}

/// Time left: `45s`, `12m`, `1h50m`, `3d4h`.
fn fmt_left(secs: i64) -> String {
    match secs {
        s if s < 3_600 => fmt_age(s),
        s if s < 86_400 => format!("{}h{:02}m", s / 3_600, (s % 3_600) / 60),
        s => format!("{}d{}h", s / 86_400, (s % 86_400) / 3_600),
    }
}

/// Word-wrap `s`: the first line `first` columns wide, the others `rest`.
fn wrap(s: &str, first: usize, rest: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut room = first;
    for word in s.split(' ') {
        let w = word.width();
        let need = if cur.is_empty() { w } else { w + 1 };
        if cur.width() + need <= room {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
            continue;
        }
        if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
            room = rest;
        }
        // A word longer than a line is cut.
        let mut word = word.to_string();
        while word.width() > room {
            let mut used = 0;
            let kept = word
                .chars()
                .take_while(|c| {
                    used += c.width().unwrap_or(0);
                    used <= room
                })
                .count()
                .max(1);
            out.push(word.chars().take(kept).collect());
            word = word.chars().skip(kept).collect();
            room = rest;
        }
        cur = word;
    }
    if !cur.is_empty() || out.is_empty() {
        out.push(cur);
    }
    out
}

/// The Alertmanager status line.
fn am_status(st: &AlertsState, cx: &Ctx<'_>, width: usize) -> Line<'static> {
    let t = cx.theme;
    let am = &st.am;
    let Some(url) = &am.url else {
        return Line::from(vec![
            Span::styled("Alertmanager ", t.text().add_modifier(Modifier::BOLD)),
            Span::styled(
                fit(
                    "not configured (alertmanager_url: post once for every console, list Prometheus's alerts)",
                    width.saturating_sub(13),
                ),
                t.dimmed(),
            ),
        ]);
    };
    let age = |at: DateTime<Utc>| fmt_age((cx.now - at).num_seconds().max(0));
    let mut spans = vec![
        Span::styled("Alertmanager ", t.text().add_modifier(Modifier::BOLD)),
        Span::styled(sanitize(url).into_owned(), t.dimmed()),
    ];
    match &am.failing {
        Some(f) => {
            let next = f
                .retry_in
                .as_secs()
                .saturating_sub(u64::try_from((cx.now - f.at).num_seconds().max(0)).unwrap_or(0));
            let listed = am
                .listed_at
                .map(|l| format!("; its list below is from {} ago", age(l)))
                .unwrap_or_default();
            spans.push(Span::styled(
                format!(
                    "  ✗ {} — failing for {}, next try in {next}s{listed}",
                    f.error,
                    age(f.since)
                ),
                tone_style(t, Tone::Critical),
            ));
        }
        None => match am.listed_at {
            None => spans.push(Span::styled("  waiting for its first answer", t.dimmed())),
            Some(l) => {
                let mut s = format!("  live · listed {} ago", age(l));
                if let Some(p) = am.posted_at {
                    s.push_str(&format!(" · posted {} ago", age(p)));
                }
                spans.push(Span::styled(s, t.fg(t.ok)));
            }
        },
    }
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let w = s.content.width();
        if used + w > width {
            out.push(Span::styled(
                fit(&s.content, width.saturating_sub(used)),
                s.style,
            ));
            break;
        }
        used += w;
        out.push(s);
    }
    Line::from(out)
}

/// The alerts view over `area` (the panes' area).
pub fn render_view(frame: &mut Frame, area: Rect, st: &AlertsState, cx: &Ctx<'_>) {
    let t = cx.theme;
    if area.width < 4 || area.height < 3 {
        return;
    }
    frame.render_widget(Clear, area);
    let n = st.firing().len();
    let title = match n {
        0 => " Alerts · nothing fires here ".to_string(),
        1 => " Alerts · 1 firing here ".to_string(),
        n => format!(" Alerts · {n} firing here "),
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(t.border_focused))
        .title(Span::styled(
            title,
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let [body, foot] = if inner.height > 2 {
        Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner)
    } else {
        [inner, Rect::default()]
    };
    let width = usize::from(body.width);
    let wide = width >= 110;
    let cols = Cols {
        name: st
            .firing()
            .iter()
            .map(|a| a.alertname.as_str().width())
            .chain(st.am.others().map(|r| r.name.width()))
            .max()
            .unwrap_or(0)
            .min(22),
        branch: st
            .firing()
            .iter()
            .filter_map(|a| a.branch())
            .chain(st.am.others().filter_map(|r| r.branch.as_deref()))
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(1)
            .clamp(1, 16),
        wide,
    };
    let sel = st.selection();
    let mut lines: Vec<Line<'static>> = Vec::new();
    let mut sel_span = (0usize, 0usize);
    let mut push_row = |lines: &mut Vec<Line<'static>>, i: usize, row: Row<'_>| {
        let start = lines.len();
        lines.extend(row.lines(cx, &cols, width, i == sel));
        if i == sel {
            sel_span = (start, lines.len());
        }
    };
    if n == 0 {
        lines.push(Line::from(Span::styled(
            "  ✓ Nothing fires here.",
            t.fg(t.ok),
        )));
    }
    for (i, a) in st.firing().iter().enumerate() {
        push_row(&mut lines, i, Row::here(a, st.is_silenced(a)));
    }
    lines.push(Line::default());
    lines.push(am_status(st, cx, width));
    if st.am.configured() {
        let others: Vec<&AmRow> = st.am.others().collect();
        if others.is_empty() && st.am.listed_at.is_some() {
            lines.push(Line::from(Span::styled(
                "  no other alerts in Alertmanager",
                t.dimmed(),
            )));
        }
        for (j, r) in others.into_iter().enumerate() {
            push_row(&mut lines, n + j, Row::remote(r, &st.am.hq));
        }
        lines.push(Line::default());
        let silences = &st.am.silences;
        lines.push(Line::from(Span::styled(
            format!("Silences ({})", silences.len()),
            t.text().add_modifier(Modifier::BOLD),
        )));
        for s in silences {
            let until = s
                .ends
                .map(|e| {
                    format!(
                        "until {} (in {})",
                        e.format("%H:%M"),
                        fmt_left((e - cx.now).num_seconds().max(0))
                    )
                })
                .unwrap_or_else(|| "until ?".into());
            let mut text = format!("  {until} · {} · by {}", s.matchers, s.created_by);
            if !s.comment.is_empty() {
                text.push_str(&format!(" · {}", s.comment));
            }
            lines.push(Line::from(Span::styled(fit(&text, width), t.text())));
        }
    }
    // Keep the selected row on screen.
    let h = usize::from(body.height);
    let scroll = if sel_span.1 > h {
        (sel_span.1 - h).min(sel_span.0)
    } else {
        0
    };
    let visible: Vec<Line<'static>> = lines.into_iter().skip(scroll).take(h).collect();
    frame.render_widget(Paragraph::new(visible), body);
    if foot.height > 0 {
        frame.render_widget(
            Paragraph::new(footer(st, cx, usize::from(foot.width))),
            foot,
        );
    }
}

fn footer(st: &AlertsState, cx: &Ctx<'_>, width: usize) -> Line<'static> {
    let t = cx.theme;
    let mut spans = Vec::new();
    spans.push(Span::styled(
        " ↑↓ ",
        t.fg(t.accent).add_modifier(Modifier::BOLD),
    ));
    spans.push(Span::styled("select ", t.dimmed()));
    let silence = match (cx.readonly, st.am.configured()) {
        (_, false) => ("silence (needs alertmanager_url)".to_string(), false),
        (Some(why), true) => (format!("silence (read-only: {})", sanitize(why)), false),
        (None, true) => ("silence".to_string(), true),
    };
    for (a, label, ok) in [
        (Action::Select, "go to".to_string(), true),
        (Action::SilenceAlert, silence.0, silence.1),
    ] {
        if let Some(k) = key_label(cx.keymap, a) {
            spans.push(Span::styled(
                format!(" {k} "),
                if ok {
                    t.fg(t.accent).add_modifier(Modifier::BOLD)
                } else {
                    t.dimmed()
                },
            ));
            spans.push(Span::styled(format!("{label} "), t.dimmed()));
        }
    }
    let close: Vec<String> = [Action::ToggleAlerts, Action::Back]
        .into_iter()
        .filter_map(|a| key_label(cx.keymap, a))
        .collect();
    if !close.is_empty() {
        spans.push(Span::styled(
            format!(" {} ", close.join("/")),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ));
        spans.push(Span::styled("close ", t.dimmed()));
    }
    let mut out = Vec::new();
    let mut used = 0;
    for s in spans {
        let w = s.content.width();
        if used + w > width {
            break;
        }
        used += w;
        out.push(s);
    }
    Line::from(out)
}

/// The silence form, centred over `area`.
pub fn render_form(frame: &mut Frame, area: Rect, f: &SilenceForm, t: &Theme) {
    let w = area.width.min(100);
    let text_w = usize::from(w.saturating_sub(2)).max(1);
    let body_rows: usize = f
        .lines
        .iter()
        .map(|l| l.width().div_ceil(text_w).max(1))
        .sum();
    let h = (body_rows as u16).saturating_add(8).min(area.height);
    let popup = crate::ui::centered(area, w, h);
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(t.border_focused))
        .title(Span::styled(
            format!(" {} ", sanitize(&f.title)),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let [body, dur, com, typed, err, hint] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines: Vec<Line> = f
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(sanitize(l).into_owned(), t.text())))
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
    let expected = format!("Type {}", sanitize(&f.expected));
    let fields = [
        (
            Field::Duration,
            "Duration",
            &f.duration,
            dur,
            " e.g. 30m, 2h, 1d",
        ),
        (Field::Comment, "Comment", &f.comment, com, ""),
        (Field::Confirm, expected.as_str(), &f.typed, typed, ""),
    ];
    let label_w = fields.iter().map(|x| x.1.width()).max().unwrap_or(8) + 3;
    for (field, label, input, rect, help) in fields {
        if rect.height == 0 {
            continue;
        }
        let focused = f.field == field;
        let label_style = if focused {
            t.fg(t.accent).add_modifier(Modifier::BOLD)
        } else {
            t.dimmed()
        };
        let room = usize::from(rect.width).saturating_sub(label_w + 1).max(1);
        let scroll = input.visual_scroll(room);
        let shown: String = input.value().chars().skip(scroll).collect();
        let mut spans = vec![
            Span::styled(format!("{:>w$} ", label, w = label_w - 1), label_style),
            Span::styled(
                fit(&sanitize(&shown), room),
                t.text().add_modifier(Modifier::BOLD),
            ),
        ];
        if !help.is_empty() && !focused {
            spans.push(Span::styled(help, t.dimmed()));
        }
        frame.render_widget(Paragraph::new(Line::from(spans)), rect);
        if focused {
            let cursor = input.visual_cursor().saturating_sub(scroll);
            let x = rect.x as usize + label_w + cursor.min(room.saturating_sub(1));
            frame.set_cursor_position(ratatui::layout::Position::new(
                u16::try_from(x).unwrap_or(rect.x),
                rect.y,
            ));
        }
    }
    if let Some(e) = &f.error {
        frame.render_widget(
            Paragraph::new(Span::styled(sanitize(e).into_owned(), t.fg(t.error))),
            err,
        );
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "Tab next field · Enter on the last field confirms · Esc cancels",
            t.dimmed(),
        )),
        hint,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_and_fit_respect_widths() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(wrap("aa bb cc", 5, 5), ["aa bb", "cc"]);
        assert_eq!(wrap("aaaaaaa", 3, 3), ["aaa", "aaa", "a"]);
        assert_eq!(wrap("", 3, 3), [""]);
        for w in 1..12 {
            for l in wrap("the quick brown fox jumps over the lazy dog", w, w) {
                assert!(l.width() <= w, "{l:?} wider than {w}");
            }
        }
    }
}
