//! Drawing: a pure function of `App` (and its theme). No I/O, no parsing, no locks.
//! `render` returns where it put the panes ([`ScreenMap`]); the run loop hands that
//! to `App`, so what is drawn is what is clicked and paged.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::app::{App, Pane, ScreenMap, SourceStatus, fmt_age};
use crate::domain::sanitize::sanitize;
use crate::protocol::{Action, SourceId};

pub mod panes;
pub mod widgets;

/// Below this size the panes are tabbed instead of tiled.
pub const TILE_MIN: (u16, u16) = (120, 32);

/// Where everything goes for a given terminal size and focus.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Screen {
    pub header: Rect,
    pub banner: Option<Rect>,
    /// The standing notice: one row per HQ file that failed to load.
    pub notice: Option<Rect>,
    pub tabs: Option<Rect>,
    pub panes: Vec<(Pane, Rect)>,
    /// The notice strip: rows of its own above the footer, only while a notice shows.
    pub strip: Option<Rect>,
    pub footer: Rect,
}

pub fn layout(area: Rect, app: &App) -> Screen {
    let mut s = Screen::default();
    if area.width == 0 || area.height == 0 {
        return s;
    }
    let banners = banner_lines(app).len() as u16;
    let [header, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    s.header = header;
    let rest = if banners > 0 && rest.height > banners + 1 {
        let [b, r] =
            Layout::vertical([Constraint::Length(banners), Constraint::Min(0)]).areas(rest);
        s.banner = Some(b);
        r
    } else {
        rest
    };
    // Files that failed to load: a standing notice under the header, one row each
    // (up to 3 on a tall screen, 1 on a small one; the rest are summed up).
    let notices = app.file_errors().len().min(notice_cap(area)) as u16;
    let rest = if notices > 0 && rest.height > notices + 2 {
        let [n, r] =
            Layout::vertical([Constraint::Length(notices), Constraint::Min(0)]).areas(rest);
        s.notice = Some(n);
        r
    } else {
        rest
    };
    let (body, footer) = if rest.height > 1 {
        let [b, f] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(rest);
        (b, f)
    } else {
        (rest, Rect::default())
    };
    s.footer = footer;
    // The notice strip takes its rows from the panes (never drawn over them).
    let shown = app
        .shell()
        .notices
        .strip(
            app.shell().now,
            crate::app::notifications::strip_rows(area.height),
        )
        .rows
        .len() as u16;
    let body = if shown > 0 && body.height > shown + 2 {
        let [b, strip] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(shown)]).areas(body);
        s.strip = Some(strip);
        b
    } else {
        body
    };
    let tiled = area.width >= TILE_MIN.0 && area.height >= TILE_MIN.1;
    if app.shell().zoom {
        s.panes.push((app.shell().focus, body));
    } else if tiled {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [health, rhythm] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
        let [ledger, right] =
            Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
                .areas(bottom);
        let [cost, ceremony] =
            Layout::vertical([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(right);
        s.panes = vec![
            (Pane::Health, health),
            (Pane::Rhythm, rhythm),
            (Pane::Ledger, ledger),
            (Pane::Cost, cost),
            (Pane::Ceremony, ceremony),
        ];
    } else if body.height > 1 {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        s.tabs = Some(tabs);
        s.panes.push((app.shell().focus, pane));
    } else {
        s.panes.push((app.shell().focus, body));
    }
    s
}

/// Draw the whole console.
/// Draw the whole console; returns where the panes went.
pub fn render(frame: &mut Frame, app: &App) -> ScreenMap {
    let area = frame.area();
    let screen = layout(area, app);
    let t = &app.shell().theme;
    // The theme's background under everything, whatever the terminal's own is.
    frame.buffer_mut().set_style(area, t.base());
    if area.width < 4 || area.height < 1 {
        frame.render_widget(Paragraph::new("lumen").style(t.text()), area);
        return ScreenMap::default();
    }
    render_header(frame, app, screen.header);
    if let Some(b) = screen.banner {
        render_banner(frame, app, b);
    }
    if let Some(n) = screen.notice {
        render_notice(frame, app, n);
    }
    if let Some(tabs) = screen.tabs {
        render_tabs(frame, app, tabs);
    }
    for (pane, rect) in &screen.panes {
        panes::render(frame, app, *pane, *rect);
    }
    render_footer(frame, app, screen.footer);
    let alerts = app.alerts();
    // The alerts view covers the panes, between the header and the notices strip
    // (or the footer), so new notices stay visible above it.
    let bottom = screen
        .strip
        .map(|s| s.y)
        .or((screen.footer.height > 0).then_some(screen.footer.y))
        .unwrap_or(area.y + area.height);
    let view_area = Rect {
        y: area.y.saturating_add(1),
        height: bottom.saturating_sub(area.y.saturating_add(1)),
        ..area
    };
    let cx = widgets::alerts::Ctx {
        theme: t,
        now: app.shell().now,
        keymap: &app.shell().keymap,
        readonly: app.shell().readonly.then(|| {
            app.shell()
                .readonly_reason
                .as_deref()
                .unwrap_or("read-only console")
        }),
    };
    if alerts.open {
        widgets::alerts::render_view(frame, view_area, alerts, &cx);
    }
    widgets::policy::render(frame, app, area);
    if let Some(strip) = screen.strip {
        let shell = app.shell();
        let rows = shell.notices.strip(shell.now, usize::from(strip.height));
        widgets::toast::draw_strip(frame, &shell.theme, &shell.keymap, strip, &rows);
    }
    if let Some(p) = &app.shell().palette {
        let shell = app.shell();
        widgets::palette::draw(frame, &shell.theme, &shell.keymap, area, screen.footer, p);
    }
    if let Some(f) = &alerts.form {
        widgets::alerts::render_form(frame, area, f, t);
    }
    widgets::confirm::render(frame, app, area);
    if let Some(h) = &app.shell().history {
        let shell = app.shell();
        let b = crate::app::help::overlay_box(area.width, area.height, crate::app::HISTORY_MAX_W);
        let rows = crate::app::notifications::history_rows(&shell.notices, b.text_width);
        widgets::notifications::draw(
            frame,
            &shell.theme,
            area,
            b,
            &rows,
            h.scroll,
            shell.notices.dropped(),
        );
    }
    if app.shell().help {
        widgets::help::render(frame, app, area);
    }
    let table_rows = screen
        .panes
        .iter()
        .filter(|(p, _)| *p == Pane::Cost)
        .map(|(p, r)| (*p, panes::cost::table_rows(*r)))
        .collect();
    ScreenMap {
        panes: screen.panes,
        table_rows,
    }
}

/// A pane's frame: numbered title, focus colour, and a staleness note on the right.
pub fn pane_block<'a>(app: &App, pane: Pane, extra: Option<Line<'a>>) -> Block<'a> {
    let t = &app.shell().theme;
    let focused = app.shell().focus == pane;
    let n = Pane::ALL
        .iter()
        .position(|p| *p == pane)
        .map_or(0, |i| i + 1);
    let title_style = if focused {
        t.fg(t.border_focused).add_modifier(Modifier::BOLD)
    } else {
        t.fg(t.title)
    };
    let mut b = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(t.fg(if focused { t.border_focused } else { t.border }))
        .title(Line::from(vec![
            Span::styled(format!(" {n} "), t.dimmed()),
            Span::styled(pane.title(), title_style),
            Span::raw(" "),
        ]));
    if let Some(e) = extra {
        b = b.title_top(e.alignment(Alignment::Right));
    }
    b
}

/// "live 2s" / "stale 40s" / "error: …" for a source, styled.
pub fn staleness<'a>(app: &App, source: &SourceId) -> Line<'a> {
    let t = &app.shell().theme;
    let st = app.data().sources.get(source).cloned().unwrap_or_default();
    staleness_of(app, &st, t.ok)
}

pub fn staleness_of<'a>(app: &App, st: &SourceStatus, _ok: ratatui::style::Color) -> Line<'a> {
    let t = &app.shell().theme;
    if st.missing {
        return Line::from(Span::styled(" not configured ", t.fg(t.warn)));
    }
    if st.failing() {
        let (at, err) = st
            .last_error
            .clone()
            .unwrap_or((app.shell().now, String::new()));
        let since = fmt_age(app.age(at));
        let last = st.last_ok.map_or("never ok".to_string(), |ok| {
            format!("ok {} ago", fmt_age(app.age(ok)))
        });
        return Line::from(vec![
            Span::styled(
                format!(" ✗ {} ", sanitize(&short(without_url(&err), 26))),
                t.fg(t.error),
            ),
            Span::styled(format!("({since}, {last}) "), t.dimmed()),
        ]);
    }
    match st.last_ok {
        None => Line::from(Span::styled(" waiting for data ", t.dimmed())),
        Some(ok) => {
            let age = app.age(ok);
            let stale = age > st.stale_after_secs();
            let style = if stale { t.fg(t.warn) } else { t.dimmed() };
            let word = if stale { "stale" } else { "live" };
            Line::from(Span::styled(format!(" {word} {} ", fmt_age(age)), style))
        }
    }
}

/// An error without its leading `http://…: ` (the pane already says which source).
fn without_url(err: &str) -> &str {
    if !(err.starts_with("http://") || err.starts_with("https://")) {
        return err;
    }
    // Everything after the first ": " past the scheme (both ASCII, so the cut is on a
    // character boundary).
    let after_scheme = err.find("://").map_or(0, |p| p + 3);
    err.get(after_scheme..)
        .and_then(|rest| rest.find(": ").map(|i| after_scheme + i + 2))
        .and_then(|cut| err.get(cut..))
        .unwrap_or(err)
}

/// Cut `s` to `max` characters with an ellipsis.
pub fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The top line: the alerts summary first (what is broken, coloured by severity),
/// then, as room allows, READ-ONLY, failing sources, the HQ and the clock. The
/// summary keeps a third of the line (at most 40 columns) free for that context, so
/// 80 columns show its short form.
fn render_header(frame: &mut Frame, app: &App, area: Rect) {
    use unicode_width::UnicodeWidthStr;
    let t = &app.shell().theme;
    let width = usize::from(area.width);
    let mark = Span::styled(" ◆ lumen ", t.fg(t.accent).add_modifier(Modifier::BOLD));
    let readonly = app
        .shell()
        .readonly
        .then(|| Span::styled("  READ-ONLY", t.fg(t.warn).add_modifier(Modifier::BOLD)));
    let fixed = mark.content.width() + readonly.as_ref().map_or(0, |s| s.content.width());
    let budget = width.saturating_sub(fixed + (width / 3).min(40));
    let mut spans = vec![mark];
    spans.extend(widgets::alerts::summary_spans(
        app.alerts().summary(),
        budget.max(width.saturating_sub(fixed).min(12)),
        t,
    ));
    spans.extend(readonly);
    let mut used: usize = spans.iter().map(|s| s.content.width()).sum();
    let failing: Vec<String> = app
        .data()
        .sources
        .iter()
        .filter(|(_, s)| s.failing())
        .map(|(id, _)| id.label())
        .collect();
    let mut context = Vec::new();
    if !failing.is_empty() {
        context.push(Span::styled(
            format!("  ✗ {}", failing.join(", ")),
            t.fg(t.error),
        ));
    }
    let mut label = format!(
        "  {}",
        crate::domain::sanitize::sanitize(&app.shell().hq_label)
    );
    if let Some(reg) = app.data().hq.as_ref().and_then(|h| h.registry.as_ref()) {
        label.push_str(&format!(
            " · hq v{} · {} branches",
            crate::domain::sanitize::sanitize(&reg.hq_version),
            reg.branches.len()
        ));
    }
    context.push(Span::styled(label, t.dimmed()));
    for s in context {
        let w = s.content.width();
        if used + w <= width {
            used += w;
            spans.push(s);
        } else if width.saturating_sub(used) > 12 {
            let room = width - used;
            spans.push(Span::styled(short(&s.content, room), s.style));
            used = width;
        }
    }
    let clock = format!("{} UTC ", app.shell().now.format("%Y-%m-%d %H:%M:%S"));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
    if used + clock.len() + 2 <= width {
        frame.render_widget(
            Paragraph::new(Span::styled(clock, t.dimmed())).alignment(Alignment::Right),
            area,
        );
    }
}

/// How many rows the file notice may take on a screen of this size.
fn notice_cap(area: Rect) -> usize {
    if area.height >= TILE_MIN.1 { 3 } else { 1 }
}

/// `path` as the operator knows it: relative to the HQ root.
fn hq_relative(app: &App, path: &std::path::Path) -> String {
    use crate::domain::hq::paths;
    if let Some(rel) = app
        .data()
        .hq
        .as_ref()
        .and_then(|h| path.strip_prefix(&h.root).ok())
    {
        return rel.display().to_string();
    }
    paths::SNAPSHOT_FILES
        .iter()
        .find(|k| path.ends_with(k))
        .map_or_else(|| path.display().to_string(), |k| k.to_string())
}

/// One row of the standing notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRow {
    /// `file:line:col`, or how many more files.
    pub at: String,
    pub message: String,
    pub hint: &'static str,
}

const NOT_LOADED: &str = " — not loaded; actions that need it are refused";
const MORE_NOT_LOADED: &str = " — not loaded; `lumen doctor` explains each";

/// The rows of the standing notice for files that failed to load, at most `cap`:
/// one per file, the last summing up the rest (their locations) when they do not all
/// fit. Sanitised; paths relative to the HQ root.
pub fn notice_rows(app: &App, cap: usize) -> Vec<NoticeRow> {
    let errs = app.file_errors();
    let n = errs.len();
    if n == 0 || cap == 0 {
        return Vec::new();
    }
    let at = |e: &crate::domain::hq::FileError| {
        let path = hq_relative(app, &e.path);
        let at = if e.line == 0 {
            path
        } else {
            format!("{path}:{}:{}", e.line, e.column)
        };
        sanitize(&at).into_owned()
    };
    let one = |e: &crate::domain::hq::FileError| NoticeRow {
        at: at(e),
        message: sanitize(&e.message).into_owned(),
        hint: NOT_LOADED,
    };
    if n <= cap {
        return errs.into_iter().map(one).collect();
    }
    let shown = cap - 1;
    let mut rows: Vec<NoticeRow> = errs.iter().take(shown).map(|e| one(e)).collect();
    let rest: Vec<String> = errs.iter().skip(shown).map(|e| at(e)).collect();
    rows.push(NoticeRow {
        at: if shown == 0 {
            format!("{n} files")
        } else {
            format!("{} more", n - shown)
        },
        message: rest.join(" · "),
        hint: MORE_NOT_LOADED,
    });
    rows
}

/// One row per HQ file that failed to load, until it is fixed (not a toast).
fn render_notice(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let rows = notice_rows(app, usize::from(area.height));
    for (i, r) in rows.into_iter().enumerate() {
        let row = Rect {
            y: area.y + i as u16,
            height: 1,
            ..area
        };
        let line = Line::from(vec![
            Span::styled(" ✗ ", t.fg(t.error).add_modifier(Modifier::BOLD)),
            Span::styled(r.at, t.fg(t.error).add_modifier(Modifier::BOLD)),
            Span::styled(format!(": {}", r.message), t.fg(t.error)),
            Span::styled(r.hint, t.dimmed()),
        ]);
        frame.render_widget(Paragraph::new(line), row);
    }
}

/// The standing banners, most urgent first: the local witness's alarm (history cut
/// or rewritten), the kill switch, read-only.
fn banner_lines(app: &App) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    if let Some(alarm) = app.witness_alarm() {
        out.push((
            format!(" ✗ LEDGER HISTORY CHANGED — {}", sanitize(alarm)),
            true,
        ));
    }
    if app.kill_switch() {
        out.push((
            " ⏻ KILL SWITCH ON — automated deploys are halted. Rollbacks and maintenance remain allowed."
                .to_string(),
            false,
        ));
    } else if app.readonly_banner() {
        out.push((
            " READ-ONLY — the operator key was refused (see the header); actions are unavailable."
                .to_string(),
            false,
        ));
    }
    out
}

fn render_banner(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let lines: Vec<Line> = banner_lines(app)
        .into_iter()
        .map(|(text, alarm)| {
            let style = match (t.color, alarm) {
                (true, true) => Style::new()
                    .fg(t.banner_fg)
                    .bg(t.error)
                    .add_modifier(Modifier::BOLD),
                (true, false) => Style::new()
                    .fg(t.banner_fg)
                    .bg(t.banner_bg)
                    .add_modifier(Modifier::BOLD),
                (false, _) => Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
            };
            Line::from(Span::styled(text, style)).style(style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let mut spans = Vec::new();
    for (i, p) in Pane::ALL.iter().enumerate() {
        let style = if *p == app.shell().focus {
            t.selected()
        } else {
            t.dimmed()
        };
        let name = if area.width >= 110 {
            p.title()
        } else {
            p.short_title()
        };
        spans.push(Span::styled(format!(" {} {} ", i + 1, name), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_footer(frame: &mut Frame, app: &App, area: Rect) {
    if area.height == 0 {
        return;
    }
    let t = &app.shell().theme;
    if let Some(p) = &app.shell().prompt {
        render_prompt(frame, app, p, area);
        return;
    }
    let hints: &[(Action, &str)] = match app.shell().focus {
        Pane::Ledger => &[
            (Action::ToggleHelp, "help"),
            (Action::FocusNext, "next pane"),
            (Action::ToggleZoom, "zoom"),
            (Action::Select, "detail"),
            (Action::OpenFilter, "filter"),
            (Action::ToggleFollow, "follow"),
            (Action::ShowRejects, "rejects"),
            (Action::CycleTheme, "theme"),
            (Action::Quit, "quit"),
        ],
        Pane::Rhythm => &[
            (Action::ToggleHelp, "help"),
            (Action::FocusNext, "next pane"),
            (Action::ToggleZoom, "zoom"),
            (Action::WiderWindow, "wider"),
            (Action::NarrowerWindow, "narrower"),
            (Action::Left, "pan"),
            (Action::Up, "markers"),
            (Action::ToggleSeries, "series"),
            (Action::Quit, "quit"),
        ],
        Pane::Ceremony => &[
            (Action::ToggleHelp, "help"),
            (Action::FocusNext, "next pane"),
            (Action::ToggleZoom, "zoom"),
            (Action::Up, "select"),
            (Action::Select, "act"),
            (Action::Back, "back"),
            (Action::Quit, "quit"),
        ],
        Pane::Health => &[
            (Action::ToggleHelp, "help"),
            (Action::FocusNext, "next pane"),
            (Action::ToggleZoom, "zoom"),
            (Action::Select, "detail"),
            (Action::OpenFilter, "filter"),
            (Action::CycleSort, "sort"),
            (Action::Quit, "quit"),
        ],
        Pane::Cost => &[
            (Action::ToggleHelp, "help"),
            (Action::FocusNext, "next pane"),
            (Action::ToggleZoom, "zoom"),
            (Action::Up, "select"),
            (Action::OpenFilter, "filter"),
            (Action::CycleSort, "sort"),
            (Action::Quit, "quit"),
        ],
    };
    let mut spans = Vec::new();
    for (a, label) in hints {
        if let Some(k) = app.shell().keymap.keys_for(*a).first() {
            spans.push(Span::styled(
                format!(" {} ", k.label()),
                t.fg(t.accent).add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(format!("{label} "), t.dimmed()));
        }
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).wrap(Wrap { trim: true }),
        area,
    );
}

/// The open text prompt in the footer, scrolled so the cursor stays visible.
fn render_prompt(frame: &mut Frame, app: &App, p: &crate::app::Prompt, area: Rect) {
    let t = &app.shell().theme;
    let label = format!(" {}: ", p.label);
    let label_w = unicode_width::UnicodeWidthStr::width(label.as_str()) as u16;
    let hint = " Enter apply · Esc cancel ";
    let hint_w = if area.width > label_w + 30 {
        hint.len() as u16
    } else {
        0
    };
    let text_w = area.width.saturating_sub(label_w + hint_w).max(1);
    let scroll = p.input.visual_scroll(text_w.saturating_sub(1) as usize);
    // Scroll only the typed text (by characters, as tui_input counts); the label stays.
    let shown: String = p.input.value().chars().skip(scroll).collect();
    let line = Line::from(vec![
        Span::styled(label, t.fg(t.accent).add_modifier(Modifier::BOLD)),
        Span::styled(crate::domain::sanitize::sanitize(&shown), t.text()),
    ]);
    let [text_area, hint_area] = ratatui::layout::Layout::horizontal([
        ratatui::layout::Constraint::Length(label_w + text_w),
        ratatui::layout::Constraint::Length(hint_w),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(line), text_area);
    if hint_w > 0 {
        frame.render_widget(Paragraph::new(Span::styled(hint, t.dimmed())), hint_area);
    }
    let cursor = p.input.visual_cursor().saturating_sub(scroll) as u16;
    frame.set_cursor_position(ratatui::layout::Position::new(
        area.x + (label_w + cursor).min(label_w + text_w.saturating_sub(1)),
        area.y,
    ));
}

/// A centered rectangle of at most `w`×`h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Clear `area` down to the theme's background (what is under it is not drawn
/// through).
pub fn clear(frame: &mut Frame, app: &App, area: Rect) {
    frame.render_widget(Clear, area);
    frame.buffer_mut().set_style(area, app.shell().theme.base());
}

/// Clear `area` and draw a bordered popup with `title`; returns the inner area.
pub fn popup(frame: &mut Frame, app: &App, area: Rect, title: &str) -> Rect {
    let t = &app.shell().theme;
    clear(frame, app, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(t.border_focused))
        .title(Span::styled(
            format!(" {title} "),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

impl App {
    /// The read-only banner shows when a key was given but refused.
    pub fn readonly_banner(&self) -> bool {
        self.shell().readonly
            && self
                .shell()
                .readonly_reason
                .as_deref()
                .is_some_and(|r| r.contains("refused"))
    }
}
