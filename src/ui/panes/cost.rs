//! Cost meter: per-branch month-to-date tokens and cost against the tier limit,
//! burn rate over 24 h, projected month end and escalation state; HQ totals and a
//! top-spenders bar. Reads `CostView::rows`, which update refreshes — no maths here.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Block, Borders, Cell, Paragraph, Row, Table, TableState};

use super::{Col, fit_columns, fitted_row, fitted_widths};
use crate::app::{App, CostSort, Pane, scroll_into_view};
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

/// Where the parts of the cost meter go inside its borders: the totals line, the
/// table, and the top-spenders chart when there is room (right of the table on a
/// wide pane, below it on a tall one).
pub struct CostLayout {
    pub totals: Rect,
    pub table: Rect,
    pub chart: Option<(Rect, Direction)>,
}

use ratatui::layout::Direction;

/// Width of the chart beside the table, and the pane widths that leave room for it.
const SIDE_CHART: u16 = 38;
const SIDE_MIN_WIDTH: u16 = 110;
/// Height of the chart below the table, and the pane heights that leave room for it.
const BELOW_CHART: u16 = 7;
const BELOW_MIN_HEIGHT: u16 = 16;

pub fn cost_layout(inner: Rect) -> CostLayout {
    let [totals, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    if rest.width >= SIDE_MIN_WIDTH && rest.height >= 4 {
        let [table, chart] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(SIDE_CHART)]).areas(rest);
        return CostLayout {
            totals,
            table,
            chart: Some((chart, Direction::Horizontal)),
        };
    }
    if rest.height >= BELOW_MIN_HEIGHT && rest.width >= 40 {
        let [table, chart] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(BELOW_CHART)]).areas(rest);
        return CostLayout {
            totals,
            table,
            chart: Some((chart, Direction::Vertical)),
        };
    }
    CostLayout {
        totals,
        table: rest,
        chart: None,
    }
}

/// Table rows (header excluded) that fit in a cost pane drawn in `pane`.
pub fn table_rows(pane: Rect) -> usize {
    let inner = Block::default().borders(Borders::ALL).inner(pane);
    usize::from(cost_layout(inner).table.height.saturating_sub(1))
}

/// "sort: cost · filter: tier:premium" for the pane title.
pub fn view_title<'a>(
    app: &App,
    sort: &str,
    default_sort: bool,
    filter: &str,
    shown: usize,
    total: usize,
) -> Line<'a> {
    let t = &app.shell().theme;
    let mut spans = Vec::new();
    if !default_sort {
        spans.push(Span::styled(format!(" sort: {sort} "), t.fg(t.accent)));
    }
    if !filter.is_empty() {
        spans.push(Span::styled(
            format!(" filter: {} ({shown}/{total}) ", sanitize(filter)),
            t.fg(t.accent),
        ));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let configured = app
        .data()
        .hq
        .as_ref()
        .is_some_and(|h| h.cost_policy.is_some());
    let note = if configured {
        None
    } else {
        Some(Line::from(Span::styled(
            " limits not configured: hq/billing/cost-policy.json ",
            t.fg(t.warn),
        )))
    };
    let v = &app.panes().cost;
    let block = pane_block(app, Pane::Cost, note).title(view_title(
        app,
        v.sort.label(),
        v.sort == CostSort::default(),
        &v.filter.text,
        v.visible.len(),
        app.panes().cost.rows.len(),
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let lay = cost_layout(inner);
    render_totals(frame, app, lay.totals);
    if app.panes().cost.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no spend recorded this month", t.dimmed())),
            lay.table,
        );
        return;
    }
    if let Some((chart, dir)) = lay.chart {
        render_top_spenders(frame, app, chart, dir);
    }
    if v.visible.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "no branch matches the filter — / to change it",
                t.dimmed(),
            )),
            lay.table,
        );
        return;
    }
    let table = lay.table;
    let keep = fit_columns(&COLS, table.width.saturating_sub(1));
    let header = Row::new(keep.iter().filter_map(|i| COLS.get(*i)).map(|c| {
        Cell::from(Span::styled(
            c.title,
            t.dimmed().add_modifier(Modifier::BOLD),
        ))
    }));
    // Only the rows on screen are built (10,000 branches cost a frame one page).
    let page = usize::from(table.height.saturating_sub(1)).max(1);
    let n = v.visible.len();
    let sel = v.sel.min(n - 1);
    let offset = scroll_into_view(v.offset, sel, page, n);
    let end = (offset + page).min(n);
    let rows = v
        .visible
        .get(offset..end)
        .unwrap_or_default()
        .iter()
        .filter_map(|i| app.panes().cost.rows.get(*i))
        .map(|r| fitted_row(row_cells(app, r), &keep));
    let widths = fitted_widths(&COLS, &keep);
    let focused = app.shell().focus == Pane::Cost;
    let mut tbl = Table::new(rows, widths).header(header);
    let mut state = TableState::default();
    if focused {
        tbl = tbl
            .row_highlight_style(t.selected())
            .highlight_symbol(Line::from("▌"));
        state = state.with_selected(Some(sel - offset));
    }
    frame.render_stateful_widget(tbl, table, &mut state);
}

/// Number of top spenders in the chart.
pub const TOP_SPENDERS: usize = 10;

/// The top spenders by month-to-date cost (the whole HQ, not the filter).
fn render_top_spenders(frame: &mut Frame, app: &App, area: Rect, dir: Direction) {
    let t = &app.shell().theme;
    let block = Block::default()
        .borders(Borders::LEFT | Borders::TOP)
        .border_style(t.fg(t.border))
        .title(Span::styled("top spenders MTD", t.dimmed()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let room = match dir {
        Direction::Horizontal => usize::from(inner.height),
        // Bars 7 wide with a gap of 1.
        Direction::Vertical => usize::from(inner.width / 8),
    };
    // `rows` is sorted by month-to-date cost, highest first.
    let top: Vec<&BranchCost> = app
        .panes()
        .cost
        .rows
        .iter()
        .filter(|r| r.mtd_cost > 0.0)
        .take(room.min(TOP_SPENDERS))
        .collect();
    if top.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled("no spend yet", t.dimmed())),
            inner,
        );
        return;
    }
    let bars: Vec<Bar> = top
        .iter()
        .map(|r| {
            let cents = (r.mtd_cost * 100.0).round().clamp(0.0, u64::MAX as f64) as u64;
            let style = match r.escalation {
                Escalation::None if r.will_exceed => t.fg(t.warn),
                Escalation::None => t.fg(t.accent),
                _ => t.fg(t.error),
            };
            Bar::with_label(Line::from(sanitize(&r.branch).into_owned()), cents)
                .text_value(format!("${:.2}", r.mtd_cost))
                .style(style)
                .value_style(t.text().add_modifier(Modifier::REVERSED))
        })
        .collect();
    let chart = match dir {
        Direction::Horizontal => BarChart::horizontal(bars).bar_width(1).bar_gap(0),
        Direction::Vertical => BarChart::vertical(bars).bar_width(7).bar_gap(1),
    }
    .label_style(t.dimmed());
    frame.render_widget(chart, inner);
}

fn render_totals(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let Some(tot) = &app.panes().cost.totals else {
        return;
    };
    let over = app
        .panes()
        .cost
        .rows
        .iter()
        .filter(|r| r.escalation != Escalation::None)
        .count();
    let heading = app
        .panes()
        .cost
        .rows
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
    // "1 branch over its limit · 4 branches projected over": a count, what it
    // counts, and a separator, never two bare numbers side by side. When that does
    // not fit: "1 over limit · 4 projected over".
    let long = [
        (over > 0).then(|| {
            format!(
                "{} over {}",
                super::count(over, "branch", "branches"),
                if over == 1 {
                    "its limit"
                } else {
                    "their limits"
                }
            )
        }),
        (heading > 0).then(|| {
            format!(
                "{} projected over",
                super::count(heading, "branch", "branches")
            )
        }),
    ];
    let width = |spans: &[Span]| spans.iter().map(|s| s.width()).sum::<usize>();
    let extra = |texts: &[Option<String>; 2]| -> usize {
        texts.iter().flatten().map(|s| s.chars().count() + 3).sum()
    };
    let room = usize::from(area.width);
    let [over_text, heading_text] = if width(&spans) + extra(&long) <= room {
        long
    } else {
        let short = [
            (over > 0).then(|| format!("{over} over limit")),
            (heading > 0).then(|| format!("{heading} projected over")),
        ];
        // The counts act; the totals inform: when even the short counts do not fit,
        // today's total goes first, then the projection, so the counts are never cut.
        for drop in [1, 2] {
            if width(&spans) + extra(&short) <= room || spans.len() < 4 {
                break;
            }
            if drop == 1 {
                // "HQ ", "today $…", " · " → "HQ "
                spans.drain(1..3);
            } else if let Some(last) = spans.len().checked_sub(2) {
                // " · ", "projected $…"
                spans.truncate(last);
            }
        }
        short
    };
    if let Some(text) = over_text {
        spans.push(Span::styled(" · ", t.dimmed()));
        spans.push(Span::styled(
            text,
            t.fg(t.error).add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(text) = heading_text {
        spans.push(Span::styled(" · ", t.dimmed()));
        spans.push(Span::styled(text, t.fg(t.warn)));
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
    let t = &app.shell().theme;
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
    let t = &app.shell().theme;
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
