//! The typed-confirmation dialog for operator actions.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;
use crate::domain::sanitize::sanitize;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.confirm else { return };
    let t = &app.theme;
    let h = (c.lines.len() as u16 + 7).min(area.height);
    let popup = super::super::centered(area, 96, h);
    let inner = super::super::popup(frame, app, popup, &sanitize(&c.title));
    let mut lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(sanitize(l).into_owned(), t.text())))
        .collect();
    lines.push(Line::from(""));
    let mut prompt = vec![
        Span::styled("Type ", t.dimmed()),
        Span::styled(
            sanitize(&c.expected).into_owned(),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ),
    ];
    if let Some(alt) = &c.alternative {
        prompt.push(Span::styled(" (or ", t.dimmed()));
        prompt.push(Span::styled(sanitize(alt).into_owned(), t.fg(t.accent)));
        prompt.push(Span::styled(")", t.dimmed()));
    }
    prompt.push(Span::styled(
        " and press Enter to confirm; Esc cancels.",
        t.dimmed(),
    ));
    lines.push(Line::from(prompt));
    lines.push(Line::from(vec![
        Span::styled("> ", t.fg(t.accent)),
        Span::styled(
            sanitize(&c.typed).into_owned(),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled("▏", t.fg(t.accent)),
    ]));
    if let Some(e) = &c.error {
        lines.push(Line::from(Span::styled(
            sanitize(e).into_owned(),
            t.fg(t.error),
        )));
    }
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
