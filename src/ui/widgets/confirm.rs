//! The typed-confirmation dialog for operator actions.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;
use crate::domain::sanitize::sanitize;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let Some(c) = &app.shell().confirm else {
        return;
    };
    let t = &app.shell().theme;
    let w = area.width.min(100);
    // Room for the wrapped plan, then three fixed rows: prompt, input, error.
    let text_w = usize::from(w.saturating_sub(2)).max(1);
    let body_rows: usize = c
        .lines
        .iter()
        .map(|l| l.chars().count().div_ceil(text_w).max(1))
        .sum();
    let h = (body_rows as u16).saturating_add(6).min(area.height);
    let popup = super::super::centered(area, w, h);
    let inner = super::super::popup(frame, app, popup, &sanitize(&c.title));
    let [body, prompt_area, input_area, error_area] = Layout::vertical([
        Constraint::Min(0),
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines: Vec<Line> = c
        .lines
        .iter()
        .map(|l| Line::from(Span::styled(sanitize(l).into_owned(), t.text())))
        .collect();
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), body);
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
    frame.render_widget(Paragraph::new(Line::from(prompt)), prompt_area);
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("> ", t.fg(t.accent)),
            Span::styled(
                sanitize(&c.typed).into_owned(),
                t.text().add_modifier(Modifier::BOLD),
            ),
            Span::styled("▏", t.fg(t.accent)),
        ])),
        input_area,
    );
    if let Some(e) = &c.error {
        frame.render_widget(
            Paragraph::new(Span::styled(sanitize(e).into_owned(), t.fg(t.error))),
            error_area,
        );
    }
}
