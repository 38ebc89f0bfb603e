//! Ceremony simulator: the available scenarios, and the selected one's roles, size
//! and summary. Rehearsals run headless with `lumen ceremony run` (see docs/scenarios.md).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph, Wrap};

use crate::app::{App, Pane};
use crate::domain::sanitize::sanitize;
use crate::ui::{pane_block, short};

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let note = Line::from(Span::styled(
        format!(" {} scenarios ", app.scenarios.len()),
        t.dimmed(),
    ));
    let block = pane_block(app, Pane::Ceremony, Some(note));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.scenarios.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no scenarios loaded (scenarios/*.yaml, --scenarios DIR)",
                t.dimmed(),
            )),
            inner,
        );
        return;
    }
    let split = inner.width >= 70;
    let (list_area, detail_area) = if split {
        let [l, d] = Layout::horizontal([Constraint::Length(30), Constraint::Min(0)]).areas(inner);
        (l, Some(d))
    } else {
        (inner, None)
    };
    let items: Vec<ListItem> = app
        .scenarios
        .iter()
        .map(|s| {
            let mut spans = vec![Span::styled(short(&sanitize(&s.id), 28), t.text())];
            if !split {
                spans.push(Span::styled(
                    format!(
                        "  {} steps · {} anomalies · {}",
                        s.steps,
                        s.anomalies,
                        sanitize(&s.title)
                    ),
                    t.dimmed(),
                ));
            }
            ListItem::new(Line::from(spans))
        })
        .collect();
    let sel = app.scenario_sel.min(app.scenarios.len() - 1);
    let list = List::new(items)
        .highlight_style(t.selected())
        .highlight_symbol("▌");
    let mut state = ListState::default().with_selected(Some(sel));
    frame.render_stateful_widget(list, list_area, &mut state);
    let (Some(d), Some(s)) = (detail_area, app.scenarios.get(sel)) else {
        return;
    };
    let lines = vec![
        Line::from(Span::styled(
            sanitize(&s.title).into_owned(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        )),
        Line::from(Span::styled(
            format!(
                "{} steps · {} anomalies · pass mark {}%",
                s.steps, s.anomalies, s.pass_mark
            ),
            t.fg(t.accent),
        )),
        Line::from(vec![
            Span::styled("roles: ", t.dimmed()),
            Span::styled(sanitize(&s.roles.join(", ")).into_owned(), t.text()),
        ]),
        Line::from(Span::styled(sanitize(&s.summary).into_owned(), t.text())),
        Line::from(Span::styled(
            format!(
                "rehearse: lumen ceremony run --scenario {}",
                sanitize(&s.id)
            ),
            t.dimmed(),
        )),
    ];
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), d);
}
