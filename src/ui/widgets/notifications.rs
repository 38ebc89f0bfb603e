//! The notification history: every notice of the session (up to 500), newest first,
//! with its time, level and full text wrapped, and a failed hook's captured output
//! under it. Scrolls like help.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::help::OverlayBox;
use crate::app::notifications::{HISTORY_INDENT, HistoryRow, HistoryRowKind};
use crate::theme::Theme;

use super::help::{boxed, place, scroll_note};
use super::toast::{icon, level_style};

fn row<'a>(t: &Theme, r: &'a HistoryRow) -> Line<'a> {
    let style = level_style(t, r.level);
    match r.kind {
        HistoryRowKind::Gap => Line::from(""),
        HistoryRowKind::Head => {
            let head = format!("{} {} ", r.time, icon(r.level));
            let w = unicode_width::UnicodeWidthStr::width(head.as_str());
            Line::from(vec![
                Span::styled(head, t.dimmed()),
                Span::raw(" ".repeat(HISTORY_INDENT.saturating_sub(w))),
                Span::styled(r.text.as_str(), style),
            ])
        }
        HistoryRowKind::Text => Line::from(vec![
            Span::raw(" ".repeat(HISTORY_INDENT)),
            Span::styled(r.text.as_str(), style),
        ]),
        HistoryRowKind::Detail => Line::from(vec![
            Span::raw(" ".repeat(HISTORY_INDENT)),
            Span::styled("│ ", t.dimmed()),
            Span::styled(r.text.as_str(), t.text()),
        ]),
    }
}

/// Draw the history: `rows` wrapped for `b.text_width`, from row `scroll`.
/// `dropped`: older notices no longer kept.
pub fn draw(
    frame: &mut Frame,
    theme: &Theme,
    area: Rect,
    b: OverlayBox,
    rows: &[HistoryRow],
    scroll: usize,
    dropped: u64,
) {
    let t = theme;
    let rect = place(area, b);
    let inner = boxed(frame, t, rect, "Notifications — newest first (esc closes)");
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let [body, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    let page = usize::from(body.height);
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("No notices yet this session.", t.dimmed())),
            body,
        );
        return;
    }
    let scroll = scroll.min(rows.len().saturating_sub(page));
    let shown: Vec<Line> = rows
        .iter()
        .skip(scroll)
        .take(page)
        .map(|r| row(t, r))
        .collect();
    frame.render_widget(Paragraph::new(shown), body);
    let mut note = scroll_note(scroll, page, rows.len());
    if dropped > 0 {
        note.push_str(&format!(" · {dropped} older notice(s) not kept"));
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            crate::ui::short(&note, usize::from(foot.width)),
            t.dimmed(),
        )),
        foot,
    );
}
