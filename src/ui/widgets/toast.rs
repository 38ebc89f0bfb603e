//! The notice strip: one or two rows of its own between the panes and the footer,
//! there only while a notice shows, so it never covers pane content. Errors stay
//! until seen (dismissed, or the history opened); the full text of every notice is
//! in the notification history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::ToastLevel;
use crate::app::notifications::Strip;
use crate::keymap::Keymap;
use crate::protocol::Action;
use crate::theme::Theme;

pub fn level_style(t: &Theme, level: ToastLevel) -> Style {
    match level {
        ToastLevel::Info => t.fg(t.info),
        ToastLevel::Warn => t.fg(t.warn),
        ToastLevel::Error => t.fg(t.error).add_modifier(Modifier::BOLD),
    }
}

pub fn icon(level: ToastLevel) -> &'static str {
    match level {
        ToastLevel::Info => "ℹ",
        ToastLevel::Warn => "⚠",
        ToastLevel::Error => "✗",
    }
}

fn key(keymap: &Keymap, a: Action) -> Option<String> {
    keymap.keys_for(a).first().map(|k| k.label())
}

/// Draw `strip` into `area` (one row per notice).
pub fn draw_strip(frame: &mut Frame, t: &Theme, keymap: &Keymap, area: Rect, strip: &Strip) {
    let history = key(keymap, Action::OpenNotifications);
    let dismiss = key(keymap, Action::DismissNotices);
    for (i, n) in strip.rows.iter().enumerate() {
        let Ok(i) = u16::try_from(i) else { break };
        if i >= area.height {
            break;
        }
        let row = Rect {
            y: area.y + i,
            height: 1,
            ..area
        };
        let mut hint = String::new();
        if n.level == ToastLevel::Error {
            if i == 0 && strip.more_errors > 0 {
                hint.push_str(&format!("+{} more · ", strip.more_errors));
            }
            if let Some(d) = &dismiss {
                hint.push_str(&format!("{d} dismiss · "));
            }
        }
        if let Some(h) = &history {
            hint.push_str(&format!("{h} history "));
        }
        let head = format!(" {} {} ", icon(n.level), n.at.format("%H:%M:%S"));
        let width = usize::from(row.width);
        let head_w = unicode_width::UnicodeWidthStr::width(head.as_str());
        let mut hint_w = unicode_width::UnicodeWidthStr::width(hint.as_str());
        if head_w + hint_w + 12 > width {
            hint.clear();
            hint_w = 0;
        }
        let room = width.saturating_sub(head_w + hint_w + 1);
        let text = crate::ui::short(&n.text, room);
        let text_w = unicode_width::UnicodeWidthStr::width(text.as_str());
        let gap = width.saturating_sub(head_w + text_w + hint_w);
        let style = level_style(t, n.level);
        let line = Line::from(vec![
            Span::styled(head, style),
            Span::styled(text, style),
            Span::raw(" ".repeat(gap)),
            Span::styled(hint, t.dimmed()),
        ]);
        frame.render_widget(Paragraph::new(line), row);
    }
}
