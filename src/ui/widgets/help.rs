//! `?` help overlay: the help content (`app::help`, from the live keymap, focused
//! pane first) wrapped to the popup and scrolled with ↑/↓/PgUp/PgDn. Fits 80×24.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::app::help::{HelpLine, HelpLineKind, KEY_COL, OverlayBox};
use crate::theme::Theme;

/// Clear `rect` and draw a bordered popup titled `title`; returns the area inside
/// the border with one column of padding each side.
pub fn boxed(frame: &mut Frame, theme: &Theme, rect: Rect, title: &str) -> Rect {
    let t = theme;
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(t.fg(t.border_focused))
        .style(t.text())
        .title(Span::styled(
            format!(" {title} "),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    Rect {
        x: inner.x.saturating_add(1),
        width: inner.width.saturating_sub(2),
        ..inner
    }
}

/// Where an overlay box goes in `area`: centred horizontally, full height.
pub fn place(area: Rect, b: OverlayBox) -> Rect {
    crate::ui::centered(area, b.width, b.height)
}

/// "rows 1–20 of 63 · ↑/↓ PgUp/PgDn scroll" (or "all 12 rows" when it all fits).
pub fn scroll_note(scroll: usize, page: usize, total: usize) -> String {
    if total <= page {
        return format!("all {total} rows");
    }
    let last = (scroll + page).min(total);
    format!(
        "rows {}–{last} of {total} · ↑/↓ PgUp/PgDn scroll",
        scroll + 1
    )
}

fn line<'a>(t: &Theme, l: &'a HelpLine) -> Line<'a> {
    let text_style = if l.unavailable { t.dimmed() } else { t.text() };
    match l.kind {
        HelpLineKind::Blank => Line::from(""),
        HelpLineKind::Title => Line::from(Span::styled(
            l.text.as_str(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        )),
        HelpLineKind::Entry => {
            let keys_w = unicode_width::UnicodeWidthStr::width(l.keys.as_str());
            let pad = " ".repeat(KEY_COL.saturating_sub(keys_w) + 1);
            Line::from(vec![
                Span::styled(l.keys.as_str(), t.fg(t.accent).add_modifier(Modifier::BOLD)),
                Span::raw(pad),
                Span::styled(l.text.as_str(), text_style),
            ])
        }
        HelpLineKind::More => Line::from(vec![
            Span::raw(" ".repeat(KEY_COL + 1)),
            Span::styled(l.text.as_str(), text_style),
        ]),
    }
}

/// Draw the help overlay: `lines` already wrapped for `b.text_width`, from row
/// `scroll` (clamped here too, so a stale scroll after a resize never shows blank).
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    b: OverlayBox,
    lines: &[HelpLine],
    scroll: usize,
) {
    let t = theme;
    let rect = place(area, b);
    let inner = boxed(frame, t, rect, "Help — keys (esc or ? closes)");
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let [body, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let page = usize::from(body.height);
    let scroll = scroll.min(lines.len().saturating_sub(page));
    let shown: Vec<Line> = lines
        .iter()
        .skip(scroll)
        .take(page)
        .map(|l| line(t, l))
        .collect();
    frame.render_widget(Paragraph::new(shown), body);
    let note = format!(
        "{} · mouse: click a pane to focus it · keys: docs/configuration.md",
        scroll_note(scroll, page, lines.len())
    );
    frame.render_widget(
        Paragraph::new(Span::styled(
            crate::ui::short(&note, usize::from(foot.width)),
            t.dimmed(),
        )),
        foot,
    );
}

/// The help overlay for `app` at its scroll.
pub fn render(frame: &mut Frame, app: &crate::app::App, area: Rect) {
    use crate::app::help::{HELP_MAX_W, help_lines, help_sections, overlay_box};
    let shell = app.shell();
    let b = overlay_box(area.width, area.height, HELP_MAX_W);
    let lines = help_lines(
        &help_sections(&shell.keymap, shell.focus, shell.readonly),
        b.text_width,
    );
    draw(frame, &shell.theme, area, b, &lines, shell.help_view.scroll);
}
