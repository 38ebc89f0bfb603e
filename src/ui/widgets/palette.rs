//! The `:` palette: the typed line in the footer row, and above it the matching
//! commands (each with the key that does the same), the argument completions Tab
//! offers, and an inline error when a line cannot run.

use ratatui::Frame;
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use crate::app::palette::{Palette, completions};
use crate::keymap::Keymap;
use crate::theme::Theme;

const NAME_COL: usize = 30;
const KEY_COL: usize = 7;

/// Draw the palette over `area` with its input on `footer`.
pub fn draw(frame: &mut Frame, t: &Theme, keymap: &Keymap, area: Rect, footer: Rect, p: &Palette) {
    if footer.height == 0 || area.width < 10 {
        return;
    }
    // The input line.
    let label = " : ";
    let hint = " Tab complete · Enter run · ↑/↓ history · Esc ";
    let label_w = 3u16;
    let hint_w = if footer.width > 60 {
        unicode_width::UnicodeWidthStr::width(hint) as u16
    } else {
        0
    };
    let text_w = footer.width.saturating_sub(label_w + hint_w).max(1);
    let scroll = p.input.visual_scroll(usize::from(text_w.saturating_sub(1)));
    let shown: String = p.value().chars().skip(scroll).collect();
    frame.render_widget(Clear, footer);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(label, t.fg(t.accent).add_modifier(Modifier::BOLD)),
            Span::styled(
                crate::domain::sanitize::sanitize(&shown).into_owned(),
                t.text(),
            ),
        ])),
        Rect {
            width: label_w + text_w,
            ..footer
        },
    );
    if hint_w > 0 {
        frame.render_widget(
            Paragraph::new(Span::styled(hint, t.dimmed())),
            Rect {
                x: footer.x + label_w + text_w,
                width: hint_w,
                ..footer
            },
        );
    }
    let cursor = p.input.visual_cursor().saturating_sub(scroll) as u16;
    frame.set_cursor_position(Position::new(
        footer.x + label_w + cursor.min(text_w.saturating_sub(1)),
        footer.y,
    ));

    // The list above it.
    let mut rows: Vec<Line> = Vec::new();
    let error = p.error.as_ref().map(|e| {
        Line::from(Span::styled(
            format!("✗ {}", crate::domain::sanitize::sanitize(e)),
            t.fg(t.error).add_modifier(Modifier::BOLD),
        ))
    });
    let listed = p.listed();
    let high = p.highlighted();
    let inner_w = usize::from(area.width.min(96).saturating_sub(2));
    for (i, c) in listed.iter().enumerate() {
        let name = if c.args.is_empty() {
            format!(":{}", c.name)
        } else {
            format!(":{} {}", c.name, c.args)
        };
        let key = c
            .action
            .and_then(|a| keymap.keys_for(a).first().map(|k| k.label()))
            .unwrap_or_default();
        let name_w = NAME_COL.min(inner_w / 2);
        let desc_w = inner_w.saturating_sub(name_w + KEY_COL + 2);
        let style = if i == high && !p.value().is_empty() {
            t.selected()
        } else {
            t.text()
        };
        rows.push(Line::from(vec![
            Span::styled(
                format!("{:<name_w$}", crate::ui::short(&name, name_w)),
                style.add_modifier(Modifier::BOLD),
            ),
            Span::styled(
                format!(" {:<w$} ", crate::ui::short(&key, KEY_COL), w = KEY_COL),
                t.fg(t.accent),
            ),
            Span::styled(crate::ui::short(c.describe, desc_w), t.dimmed()),
        ]));
    }
    if p.value().trim_start().contains(' ') {
        for c in completions(p.value(), &p.ctx).iter().take(8) {
            rows.push(Line::from(Span::styled(
                format!("  → {}", crate::domain::sanitize::sanitize(c)),
                t.fg(t.info),
            )));
        }
    }
    if rows.is_empty() && error.is_none() {
        rows.push(Line::from(Span::styled(
            "no command matches — Backspace, or Esc to close",
            t.dimmed(),
        )));
    }
    // Room between the header and the footer.
    let room = footer.y.saturating_sub(area.y + 1);
    let h = (rows.len() as u16 + 2 + u16::from(error.is_some())).min(room);
    if h < 3 {
        return;
    }
    let w = area.width.min(96);
    let rect = Rect {
        x: area.x,
        y: footer.y - h,
        width: w,
        height: h,
    };
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(t.fg(t.border_focused))
        .style(t.text())
        .title(Span::styled(
            " commands ",
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    // The error first, always; then the list with the highlighted row in view.
    let mut shown: Vec<Line> = Vec::new();
    if let Some(e) = error {
        shown.push(e);
    }
    let page = usize::from(inner.height).saturating_sub(shown.len());
    let first = (high + 1).saturating_sub(page);
    shown.extend(rows.into_iter().skip(first).take(page));
    frame.render_widget(Paragraph::new(shown), inner);
}
