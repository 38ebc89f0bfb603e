//! `?` help overlay, generated from the live keymap: every action with its keys.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::App;
use crate::protocol::Action;

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let rows: Vec<Line> = Action::ALL
        .iter()
        .filter_map(|a| {
            let keys = app.shell().keymap.keys_for(*a);
            if keys.is_empty() {
                return None;
            }
            let k: Vec<String> = keys.iter().map(|k| k.label()).collect();
            let operator = matches!(
                a,
                Action::Rollback
                    | Action::RuleRollback
                    | Action::KillSwitch
                    | Action::Maintenance
                    | Action::SilenceAlert
            );
            let unavailable = operator && app.shell().readonly;
            let mut spans = vec![
                Span::styled(
                    format!("{:>12} ", k.join(" ")),
                    t.fg(t.accent).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    a.describe(),
                    if unavailable { t.dimmed() } else { t.text() },
                ),
            ];
            if unavailable {
                spans.push(Span::styled(" (read-only)", t.fg(t.warn)));
            }
            Some(Line::from(spans))
        })
        .collect();
    let two_cols = area.width >= 100;
    let per_col = if two_cols {
        rows.len().div_ceil(2)
    } else {
        rows.len()
    };
    let w = if two_cols { 100 } else { 60 };
    let h = per_col as u16 + 4;
    let popup = super::super::centered(area, w, h);
    let inner = super::super::popup(frame, app, popup, "Help — keys (esc or ? to close)");
    if inner.height == 0 {
        return;
    }
    let [list, foot] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(inner);
    if two_cols {
        let [l, r] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(list);
        let right = rows
            .get(per_col..)
            .map(<[Line]>::to_vec)
            .unwrap_or_default();
        let left: Vec<Line> = rows.into_iter().take(per_col).collect();
        frame.render_widget(Paragraph::new(left), l);
        frame.render_widget(Paragraph::new(right), r);
    } else {
        frame.render_widget(Paragraph::new(rows), list);
    }
    frame.render_widget(
        Paragraph::new(Span::styled(
            "Mouse: click a pane to focus it, scroll to move. Keys are configurable (docs/configuration.md).",
            t.dimmed(),
        )),
        foot,
    );
}
