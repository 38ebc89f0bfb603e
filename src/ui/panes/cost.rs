//! Cost meter: per-branch month-to-date tokens and cost against the tier limit,
//! burn rate, projection and escalation state; HQ totals and top spenders.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;

use crate::app::{App, Pane};
use crate::ui::pane_block;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let block = pane_block(app, Pane::Cost, None);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(
        Paragraph::new(Span::styled("cost data pending", t.dimmed())),
        inner,
    );
}
