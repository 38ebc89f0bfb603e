//! Branch health: one row per branch in sync-plan order, with status, latency and
//! its sparkline, last-check age, protocol state, 24 h failures and escalation.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{Col, fit_columns, fitted_row, fitted_widths};
use crate::action::SourceId;
use crate::app::{App, Escalation, HealthStatus, Pane, fmt_age};
use crate::domain::sanitize::sanitize;
use crate::ui::{pane_block, staleness, widgets::spark::spark};

const COLS: [Col; 11] = [
    Col {
        title: "branch",
        width: 13,
        prio: 0,
    },
    Col {
        title: "tier",
        width: 10,
        prio: 7,
    },
    Col {
        title: "status",
        width: 13,
        prio: 1,
    },
    Col {
        title: "latency",
        width: 7,
        prio: 2,
    },
    Col {
        title: "trend",
        width: 12,
        prio: 3,
    },
    Col {
        title: "checked",
        width: 7,
        prio: 4,
    },
    Col {
        title: "protocol",
        width: 10,
        prio: 8,
    },
    Col {
        title: "fail 24h",
        width: 8,
        prio: 6,
    },
    Col {
        title: "cost",
        width: 9,
        prio: 9,
    },
    Col {
        title: "escalation",
        width: 17,
        prio: 5,
    },
    Col {
        title: "source",
        width: 8,
        prio: 10,
    },
];

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let block = pane_block(app, Pane::Health, Some(staleness(app, &SourceId::Health)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let order = app.branch_order();
    if order.is_empty() {
        let msg = match &app.registry_error {
            Some(e) => format!("registry invalid: {}", sanitize(&e.to_string())),
            None => {
                "no branches yet — hq/registry/branches.json lists them (see `lumen init`)".into()
            }
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dimmed())), inner);
        return;
    }
    let keep = fit_columns(&COLS, inner.width.saturating_sub(2));
    let header = Row::new(keep.iter().filter_map(|i| COLS.get(*i)).map(|c| {
        Cell::from(Span::styled(
            c.title,
            t.dimmed().add_modifier(Modifier::BOLD),
        ))
    }));
    let reg = app.hq.as_ref().and_then(|h| h.registry.as_ref());
    let rows = order.iter().map(|id| {
        let h = app.health.get(id).cloned().unwrap_or_default();
        let maint = app.in_maintenance(id);
        let status = h.status(maint);
        let branch = reg.and_then(|r| r.branches.iter().find(|b| &b.id == id));
        let tier = branch.and_then(|b| b.tier).map_or("—", |t| t.as_str());
        let latency = h
            .last_http
            .as_ref()
            .and_then(|r| r.latency)
            .map(|l| format!("{}ms", l.as_millis()))
            .or_else(|| h.exporter_latency.map(|s| format!("{:.0}ms", s * 1000.0)))
            .unwrap_or_else(|| "—".into());
        let checked = h
            .last_check()
            .map_or("—".to_string(), |c| fmt_age(app.age(c)));
        let (proto, proto_style) = match app.protocol_state(id) {
            crate::domain::hq::ProtocolState::Current => ("current", t.dimmed()),
            crate::domain::hq::ProtocolState::Outdated => ("outdated", t.fg(t.warn)),
            crate::domain::hq::ProtocolState::Deprecated => {
                ("deprecated", t.fg(t.error).add_modifier(Modifier::BOLD))
            }
            crate::domain::hq::ProtocolState::Unknown => ("—", t.dimmed()),
        };
        let fails = app.ledger.failures_24h(id);
        let esc = Escalation::from_failures(h.consecutive_failures);
        let esc_style = match esc {
            Escalation::None => t.dimmed(),
            Escalation::Retry => t.fg(t.warn),
            _ => t.fg(t.error).add_modifier(Modifier::BOLD),
        };
        let (cost, cost_style) = app
            .cost_row(id)
            .map_or(("—", t.dimmed()), |r| super::cost::state_label(app, r));
        let status_style = t.fg(match status {
            HealthStatus::Up => t.status.up,
            HealthStatus::Degraded => t.status.degraded,
            HealthStatus::Down => t.status.down,
            HealthStatus::Maintenance => t.status.maintenance,
            HealthStatus::Unknown => t.status.unknown,
        });
        let dot = match status {
            HealthStatus::Up => "●",
            HealthStatus::Degraded => "◐",
            HealthStatus::Down => "✗",
            HealthStatus::Maintenance => "◇",
            HealthStatus::Unknown => "?",
        };
        let cells: [Cell; 11] = [
            Cell::from(Span::styled(sanitize(id).into_owned(), t.text())),
            Cell::from(Span::styled(tier, t.dimmed())),
            Cell::from(Span::styled(
                format!("{dot} {}", status.label()),
                status_style,
            )),
            Cell::from(Span::styled(latency, t.text())),
            Cell::from(Span::styled(
                spark(h.latencies.iter().copied(), 12),
                t.fg(t.accent),
            )),
            Cell::from(Span::styled(checked, t.dimmed())),
            Cell::from(Span::styled(proto, proto_style)),
            Cell::from(Span::styled(
                if fails == 0 {
                    "0".to_string()
                } else {
                    fails.to_string()
                },
                if fails == 0 { t.dimmed() } else { t.fg(t.warn) },
            )),
            Cell::from(Span::styled(cost, cost_style)),
            Cell::from(Span::styled(esc.label(), esc_style)),
            Cell::from(Span::styled(h.source(), t.dimmed())),
        ];
        fitted_row(cells, &keep)
    });
    let widths = fitted_widths(&COLS, &keep);
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(t.selected())
        .highlight_symbol(Line::from("▌"));
    let mut state = TableState::default().with_selected(Some(app.health_sel.min(order.len() - 1)));
    frame.render_stateful_widget(table, inner, &mut state);
}
