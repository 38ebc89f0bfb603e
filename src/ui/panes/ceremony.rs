//! Ceremony simulator: the shipped scenarios and, once started, the rehearsal.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{List, ListItem, ListState, Paragraph};

use crate::app::{App, Pane};
use crate::domain::sanitize::sanitize;
use crate::ui::pane_block;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let block = pane_block(app, Pane::Ceremony, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.scenarios.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no scenarios loaded", t.dimmed())),
            inner,
        );
        return;
    }
    let items: Vec<ListItem> = app
        .scenarios
        .iter()
        .map(|s| {
            ListItem::new(Line::from(vec![
                Span::styled(format!("{:<28} ", sanitize(&s.id)), t.text()),
                Span::styled(
                    format!(
                        "{} steps · {} anomalies · {}",
                        s.steps,
                        s.anomalies,
                        sanitize(&s.title)
                    ),
                    t.dimmed(),
                ),
            ]))
        })
        .collect();
    let list = List::new(items)
        .highlight_style(t.selected())
        .highlight_symbol("▌");
    let mut state =
        ListState::default().with_selected(Some(app.scenario_sel.min(app.scenarios.len() - 1)));
    frame.render_stateful_widget(list, inner, &mut state);
}
