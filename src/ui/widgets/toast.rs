//! Notices (alerts, results, refusals) drawn at the bottom right, newest last.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};

use crate::app::{App, ToastLevel};
use crate::domain::sanitize::sanitize;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let n = app.shell().toasts.len() as u16;
    if n == 0 || area.height < n + 3 || area.width < 20 {
        return;
    }
    let max_w = area.width.min(90);
    for (i, toast) in app.shell().toasts.iter().enumerate() {
        let icon = match toast.level {
            ToastLevel::Info => "ℹ",
            ToastLevel::Warn => "⚠",
            ToastLevel::Error => "✗",
        };
        let text = super::super::short(
            &format!(" {icon} {} ", sanitize(&toast.text)),
            max_w as usize,
        );
        // As wide as its text, so the panes' borders beside a short notice stay drawn.
        let w = u16::try_from(Line::from(text.as_str()).width())
            .unwrap_or(max_w)
            .min(max_w);
        let rect = Rect {
            x: area.x + area.width - w,
            y: area.y + area.height - 2 - (n - i as u16),
            width: w,
            height: 1,
        };
        let style = super::super::toast_style(app, toast.level)
            .add_modifier(ratatui::style::Modifier::REVERSED);
        frame.render_widget(Clear, rect);
        frame.render_widget(Paragraph::new(Line::from(Span::styled(text, style))), rect);
    }
}
