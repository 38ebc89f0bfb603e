//! Cost meter: per-branch month-to-date tokens and cost against the tier limit,
//! burn rate over 24 h, projected month end and escalation state; HQ totals and a
//! top-spenders bar. Reads `App::cost_rows`, which update refreshes — no maths here.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table};

use super::{Col, fit_columns, fitted_row, fitted_widths};
use crate::app::{App, Pane};
use crate::domain::cost::{BranchCost, Escalation};
use crate::domain::sanitize::sanitize;
use crate::ui::pane_block;

const COLS: [Col; 8] = [
    Col {
        title: "branch",
        width: 12,
        prio: 0,
    },
    Col {
        title: "tier",
        width: 10,
        prio: 6,
    },
    Col {
        title: "tokens MTD",
        width: 10,
        prio: 4,
    },
    Col {
        title: "of limit",
        width: 16,
        prio: 1,
    },
    Col {
        title: "cost MTD",
        width: 9,
        prio: 2,
    },
    Col {
        title: "burn/h",
        width: 8,
        prio: 5,
    },
    Col {
        title: "projected",
        width: 9,
        prio: 3,
    },
    Col {
        title: "state",
        width: 9,
        prio: 1,
    },
];

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let configured = app.hq.as_ref().is_some_and(|h| h.cost_policy.is_some());
    let note = if configured {
        None
    } else {
        Some(Line::from(Span::styled(
            " limits not configured: hq/billing/cost-policy.json ",
            t.fg(t.warn),
        )))
    };
    let block = pane_block(app, Pane::Cost, note);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [totals, table] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    render_totals(frame, app, totals);
    if app.cost_rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no spend recorded this month", t.dimmed())),
            table,
        );
        return;
    }
    let keep = fit_columns(&COLS, table.width.saturating_sub(1));
    let header = Row::new(keep.iter().filter_map(|i| COLS.get(*i)).map(|c| {
        Cell::from(Span::styled(
            c.title,
            t.dimmed().add_modifier(Modifier::BOLD),
        ))
    }));
    let rows = app
        .cost_rows
        .iter()
        .map(|r| fitted_row(row_cells(app, r), &keep));
    let widths = fitted_widths(&COLS, &keep);
    frame.render_widget(Table::new(rows, widths).header(header), table);
}

fn render_totals(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let Some(tot) = &app.cost_totals else { return };
    let over = app
        .cost_rows
        .iter()
        .filter(|r| r.escalation != Escalation::None)
        .count();
    let heading = app
        .cost_rows
        .iter()
        .filter(|r| r.escalation == Escalation::None && r.will_exceed)
        .count();
    let mut spans = vec![
        Span::styled("HQ ", t.dimmed()),
        Span::styled(format!("today ${:.2}", tot.today_cost), t.text()),
        Span::styled(" · ", t.dimmed()),
        Span::styled(
            format!("MTD ${:.2}", tot.mtd_cost),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled(" · ", t.dimmed()),
        Span::styled(format!("projected ${:.2}", tot.projected_cost), t.text()),
    ];
    if over > 0 {
        spans.push(Span::styled(
            format!("  {over} over limit"),
            t.fg(t.error).add_modifier(Modifier::BOLD),
        ));
    }
    if heading > 0 {
        spans.push(Span::styled(
            format!("  {heading} heading over"),
            t.fg(t.warn),
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// A 10-cell bar of the month-to-date share of the limit, then the percentage.
fn gauge(ratio: Option<f64>) -> String {
    match ratio {
        None => "no limit".into(),
        Some(r) if !r.is_finite() => "—".into(),
        Some(r) => {
            let filled = ((r.clamp(0.0, 1.0) * 10.0).round()) as usize;
            format!(
                "{}{} {:>3.0}%",
                "█".repeat(filled),
                "░".repeat(10 - filled),
                r * 100.0
            )
        }
    }
}

fn row_cells<'a>(app: &App, r: &BranchCost) -> [Cell<'a>; 8] {
    let t = &app.theme;
    let (state, style) = state_label(app, r);
    let gauge_style = match r.limit_ratio {
        Some(x) if x >= 1.0 => t.fg(t.error),
        Some(x) if x >= 0.8 || r.will_exceed => t.fg(t.warn),
        _ => t.fg(t.ok),
    };
    let tier = if r.tier_fallback {
        format!("{}*", r.cost_tier)
    } else {
        r.cost_tier.clone()
    };
    [
        Cell::from(Span::styled(sanitize(&r.branch).into_owned(), t.text())),
        Cell::from(Span::styled(tier, t.dimmed())),
        Cell::from(Span::styled(human_tokens(r.mtd_tokens), t.text())),
        Cell::from(Span::styled(gauge(r.limit_ratio), gauge_style)),
        Cell::from(Span::styled(format!("${:.2}", r.mtd_cost), t.text())),
        Cell::from(Span::styled(
            format!("${:.3}", r.burn_cost_per_hour),
            t.dimmed(),
        )),
        Cell::from(Span::styled(format!("${:.2}", r.projected_cost), t.text())),
        Cell::from(Span::styled(state, style)),
    ]
}

/// A branch's cost state as shown in the cost meter and the health pane.
pub fn state_label(app: &App, r: &BranchCost) -> (&'static str, ratatui::style::Style) {
    let t = &app.theme;
    match r.escalation {
        Escalation::None if r.will_exceed => ("heading↑", t.fg(t.warn)),
        Escalation::None => ("ok", t.fg(t.ok)),
        Escalation::Throttle => ("throttle", t.fg(t.warn).add_modifier(Modifier::BOLD)),
        Escalation::Notify => ("notify", t.fg(t.error)),
        Escalation::Suspend => ("suspend", t.fg(t.error).add_modifier(Modifier::BOLD)),
    }
}

/// 1840 → "1.8k", 2_500_000 → "2.5M".
pub fn human_tokens(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.0}k", n as f64 / 1e3),
        n if n >= 1_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}
