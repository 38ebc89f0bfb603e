//! Branch health: one row per branch in sync-plan order, with status, latency and
//! its sparkline, last-check age, protocol state, 24 h failures and escalation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

use super::{Col, fit_columns, fitted_row, fitted_widths};
use crate::app::{
    App, BranchHealth, Escalation, HealthSort, HealthStatus, Pane, fmt_age, scroll_into_view,
};
use crate::domain::sanitize::sanitize;
use crate::protocol::SourceId;
use crate::ui::{pane_block, staleness, widgets::spark::spark_scaled};

/// Columns, and which go first when the pane is narrow (highest `prio` first): what
/// acts — status, failures in 24 h, escalation — stays; trend, source, tier,
/// protocol and cost go.
const COLS: [Col; 11] = [
    Col {
        title: "branch",
        width: 13,
        prio: 0,
    },
    Col {
        title: "tier",
        width: 10,
        prio: 8,
    },
    Col {
        title: "status",
        width: 13,
        prio: 1,
    },
    Col {
        title: "latency",
        width: 7,
        prio: 4,
    },
    Col {
        title: "trend",
        width: 10,
        prio: 6,
    },
    Col {
        title: "checked",
        width: 7,
        prio: 5,
    },
    Col {
        title: "protocol",
        width: 10,
        prio: 9,
    },
    Col {
        title: "fail 24h",
        width: 8,
        prio: 2,
    },
    Col {
        title: "cost",
        width: 9,
        prio: 10,
    },
    Col {
        title: "escalation",
        width: 17,
        prio: 3,
    },
    Col {
        title: "src",
        width: 5,
        prio: 7,
    },
];

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let v = &app.panes().health;
    // Freshness of the source that decides: Prometheus when configured, else the
    // HTTP checks.
    let fresh = match &v.prometheus {
        Some(_) => {
            let mut l = staleness(app, &SourceId::Prometheus);
            l.spans
                .insert(0, Span::styled(" via prometheus ·", t.dimmed()));
            l
        }
        None => staleness(app, &SourceId::Health),
    };
    let total = if app.data().hq.as_ref().is_some_and(|h| h.registry.is_some()) {
        v.sync_order().len()
    } else {
        app.data().health.len()
    };
    let block = pane_block(app, Pane::Health, Some(fresh)).title(super::cost::view_title(
        app,
        v.sort.label(),
        v.sort == HealthSort::default(),
        &v.filter.text,
        v.visible.len(),
        total,
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if v.detail
        && let Some(id) = app.selected_branch()
    {
        render_detail(frame, app, &id, inner);
        return;
    }
    if v.visible.is_empty() {
        let msg = match &app.data().registry_error {
            Some(e) => format!("registry invalid: {}", sanitize(&e.to_string())),
            None if !v.filter.is_empty() => "no branch matches the filter — / to change it".into(),
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
    // Only the rows on screen are built: 10,000 branches cost a frame one page.
    let page = usize::from(inner.height.saturating_sub(1)).max(1);
    let n = v.visible.len();
    let sel = app.panes().health.sel.min(n - 1);
    let offset = scroll_into_view(v.offset, sel, page, n);
    let end = (offset + page).min(n);
    let shown = v.visible.get(offset..end).unwrap_or_default();
    let scale = trend_scale(app, shown);
    let rows = shown.iter().enumerate().map(|(i, id)| {
        let selected = offset + i == sel;
        let row = fitted_row(row_cells(app, id, scale, selected), &keep);
        if selected {
            row.style(t.selected())
        } else {
            row
        }
    });
    let widths = fitted_widths(&COLS, &keep);
    let table = Table::new(rows, widths)
        .header(header)
        // With colour the selected row styles itself (its status keeps its colour);
        // without, reverse video marks it.
        .row_highlight_style(if t.color { Style::new() } else { t.selected() })
        .highlight_symbol(Line::from("▌"));
    let mut state = TableState::default().with_selected(Some(sel - offset));
    frame.render_stateful_widget(table, inner, &mut state);
}

/// Latency below which the trend column stays flat: the sparklines' scale is the
/// slowest recent latency among the rows on screen, but never under this, so 1↔2 ms
/// jitter does not draw full-height bars.
pub const TREND_FLOOR_MS: u64 = 100;

/// One scale for every trend sparkline on screen (so rows compare).
fn trend_scale(app: &App, ids: &[String]) -> u64 {
    ids.iter()
        .filter_map(|id| app.data().health.get(id))
        .flat_map(|h| {
            let n = h.latencies.len();
            h.latencies
                .iter()
                .skip(n.saturating_sub(TREND_WIDTH))
                .copied()
        })
        .max()
        .unwrap_or(0)
        .max(TREND_FLOOR_MS)
}

/// Cells of the trend sparkline.
const TREND_WIDTH: usize = 10;

fn row_cells<'a>(app: &App, id: &str, scale: u64, selected: bool) -> [Cell<'a>; 11] {
    let t = &app.shell().theme;
    let empty = BranchHealth::default();
    let h = app.data().health.get(id).unwrap_or(&empty);
    let maint = app.branch_maintenance(id);
    let status = h.status(maint);
    let tier = app
        .registry_branch(id)
        .and_then(|b| b.tier)
        .map_or("—", |t| t.as_str());
    let latency = h
        .latency_ms()
        .map_or_else(|| "—".to_string(), |ms| format!("{ms:.0}ms"));
    let checked = h
        .last_check()
        .map_or("—".to_string(), |c| fmt_age(app.age(c)));
    let (proto, proto_style) = protocol_label(app, id);
    let fails = app.panes().ledger.failures_24h(id);
    let esc = h.escalation(maint);
    let (cost, cost_style) = app
        .cost_row(id)
        .map_or(("—", t.dimmed()), |r| super::cost::state_label(app, r));
    let (dot, status_style) = status_look(app, status);
    // The selected row is drawn in the selection colours, except its status, which
    // keeps its own colour on the selection background (themes keep that pair at
    // 4.5:1), so selecting a down branch does not hide that it is down.
    let (sel, status_style) = if selected && t.color {
        let bg = t.selected();
        (
            Some(bg),
            status_style.bg(t.selection_bg).add_modifier(Modifier::BOLD),
        )
    } else {
        (None, status_style)
    };
    let st = |s: Style| sel.unwrap_or(s);
    [
        Cell::from(Span::styled(sanitize(id).into_owned(), st(t.text()))),
        Cell::from(Span::styled(tier, st(t.dimmed()))),
        Cell::from(Span::styled(
            format!("{dot} {}", status.label()),
            status_style,
        )),
        Cell::from(Span::styled(latency, st(t.text()))),
        Cell::from(Span::styled(
            spark_scaled(h.latencies.iter().copied(), TREND_WIDTH, scale),
            st(t.fg(t.accent)),
        )),
        Cell::from(Span::styled(checked, st(t.dimmed()))),
        Cell::from(Span::styled(proto, st(proto_style))),
        Cell::from(Span::styled(
            fails.to_string(),
            st(if fails == 0 { t.dimmed() } else { t.fg(t.warn) }),
        )),
        Cell::from(Span::styled(cost, st(cost_style))),
        Cell::from(Span::styled(esc.label(), st(escalation_style(app, esc)))),
        Cell::from(Span::styled(short_source(h.source()), st(t.dimmed()))),
    ]
}

/// The `src` column: `http`, `prom` (Prometheus), `expo` (exporter); the detail view
/// and docs spell them out.
fn short_source(s: &str) -> &str {
    match s {
        "prometheus" => "prom",
        "exporter" => "expo",
        other => other,
    }
}

pub(crate) fn protocol_label(app: &App, id: &str) -> (&'static str, Style) {
    let t = &app.shell().theme;
    match app.protocol_state(id) {
        crate::domain::hq::ProtocolState::Current => ("current", t.dimmed()),
        crate::domain::hq::ProtocolState::Outdated => ("outdated", t.fg(t.warn)),
        crate::domain::hq::ProtocolState::Deprecated => {
            ("deprecated", t.fg(t.error).add_modifier(Modifier::BOLD))
        }
        crate::domain::hq::ProtocolState::Unknown => ("—", t.dimmed()),
    }
}

pub(crate) fn escalation_style(app: &App, esc: Escalation) -> Style {
    let t = &app.shell().theme;
    match esc {
        Escalation::None => t.dimmed(),
        Escalation::Retry => t.fg(t.warn),
        _ => t.fg(t.error).add_modifier(Modifier::BOLD),
    }
}

pub(crate) fn status_look(app: &App, status: HealthStatus) -> (&'static str, Style) {
    let t = &app.shell().theme;
    let style = t.fg(match status {
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
    (dot, style)
}

/// Enter on a branch: its registry entry, health source and status, cost row, recent
/// checks with errors, latest ledger events and maintenance/rollback history.
fn render_detail(frame: &mut Frame, app: &App, id: &str, area: Rect) {
    let t = &app.shell().theme;
    let empty = BranchHealth::default();
    let h = app.data().health.get(id).unwrap_or(&empty);
    let maint = app.branch_maintenance(id);
    let status = h.status(maint);
    let b = app.registry_branch(id);
    let label = |s: &'static str| Span::styled(format!("{s:<10}"), t.dimmed());
    let text = |s: String| Span::styled(sanitize(&s).into_owned(), t.text());
    let or_dash = |s: Option<&str>| s.map_or("—".to_string(), str::to_owned);
    let mut head = vec![Line::from(vec![
        Span::styled(
            sanitize(id).into_owned(),
            t.text().add_modifier(Modifier::BOLD),
        ),
        Span::styled("  Esc closes", t.dimmed()),
    ])];
    let (proto, proto_style) = protocol_label(app, id);
    head.push(Line::from(vec![
        label("registry"),
        text(format!(
            "repo {} · owner {} · tier {} · protocol {} ",
            or_dash(b.map(|b| b.repo.as_str())),
            or_dash(b.and_then(|b| b.owner.as_deref())),
            b.and_then(|b| b.tier).map_or("—", |t| t.as_str()),
            or_dash(b.and_then(|b| b.hq_protocol_version.as_deref())),
        )),
        Span::styled(proto, proto_style),
    ]));
    let url = app
        .data()
        .hq
        .as_ref()
        .and_then(|hq| crate::domain::health_url::health_url_for(hq, id))
        .map_or("— (no health URL)".to_string(), |u| {
            crate::domain::health_url::display_url(&u)
        });
    head.push(Line::from(vec![label("health"), text(url)]));
    let (dot, status_style) = status_look(app, status);
    let esc = h.escalation(maint);
    head.push(Line::from(vec![
        label("status"),
        Span::styled(format!("{dot} {}", status.label()), status_style),
        Span::styled(
            format!(" · source {} · escalation ", h.source()),
            t.dimmed(),
        ),
        Span::styled(esc.label(), escalation_style(app, esc)),
        Span::styled(
            format!(
                " · {} failed in a row · {} ledger failures 24h",
                h.consecutive_failures,
                app.panes().ledger.failures_24h(id)
            ),
            t.dimmed(),
        ),
    ]));
    if let Some(txn) = app.panes().ledger.latest_deploy.get(id) {
        let key = app
            .shell()
            .keymap
            .keys_for(crate::protocol::Action::Rollback)
            .first()
            .map_or_else(|| "rollback".to_string(), |k| k.label());
        head.push(Line::from(vec![
            label("rollback"),
            Span::styled(
                format!("{key} rolls back its latest deploy {}", sanitize(txn)),
                if esc >= Escalation::RollbackProposed {
                    t.fg(t.warn).add_modifier(Modifier::BOLD)
                } else {
                    t.dimmed()
                },
            ),
            Span::styled(" (typed confirmation; never automatic)", t.dimmed()),
        ]));
    }
    head.push(match app.cost_row(id) {
        Some(r) => {
            let (state, style) = super::cost::state_label(app, r);
            Line::from(vec![
                label("cost"),
                text(format!(
                    "${:.2} MTD ({} tokens){} · burn ${:.3}/h · projected ${:.2} · ",
                    r.mtd_cost,
                    super::cost::human_tokens(r.mtd_tokens),
                    r.limit_ratio
                        .filter(|x| x.is_finite())
                        .map_or(String::new(), |x| format!(" · {:.0}% of limit", x * 100.0)),
                    r.burn_cost_per_hour,
                    r.projected_cost
                )),
                Span::styled(state, style),
            ])
        }
        None => Line::from(vec![label("cost"), Span::styled("no cost row", t.dimmed())]),
    });
    let head_h = u16::try_from(head.len()).unwrap_or(u16::MAX);
    let [top, rest] =
        Layout::vertical([Constraint::Length(head_h), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(head), top);
    if rest.height == 0 {
        return;
    }
    let [checks, events, history] = Layout::vertical([
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
        Constraint::Ratio(1, 3),
    ])
    .areas(rest);
    let when = |at: chrono::DateTime<chrono::Utc>| format!("{:>4} ago ", fmt_age(app.age(at)));
    let section = |title: &str, lines: Vec<Line<'static>>, area: Rect| {
        let mut all = vec![Line::from(Span::styled(
            title.to_string(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ))];
        if lines.is_empty() {
            all.push(Line::from(Span::styled("  none", t.dimmed())));
        }
        all.extend(lines);
        (Paragraph::new(all), area)
    };
    let room = |a: Rect| usize::from(a.height.saturating_sub(1));
    // Recent checks, newest first.
    let check_lines: Vec<Line<'static>> = h
        .recent_checks
        .iter()
        .rev()
        .take(room(checks))
        .map(|c| {
            let r = &c.result;
            let (mark, style) = if r.ok {
                ("✓", t.fg(t.status.up))
            } else {
                ("✗", t.fg(t.status.down))
            };
            let lat = r
                .latency
                .map_or(String::new(), |l| format!(" {}ms", l.as_millis()));
            let what = r
                .error
                .clone()
                .unwrap_or_else(|| r.status.map_or("ok".to_string(), |s| format!("HTTP {s}")));
            Line::from(vec![
                Span::styled(format!("  {}", when(r.at)), t.dimmed()),
                Span::styled(mark, style),
                Span::styled(
                    format!(" {}{lat}", sanitize(&what)),
                    if r.ok { t.text() } else { t.fg(t.error) },
                ),
                Span::styled(format!("  via {}", c.source.label()), t.dimmed()),
            ])
        })
        .collect();
    let (p, a) = section("Recent checks", check_lines, checks);
    frame.render_widget(p, a);
    // Latest ledger events of this branch from the in-memory window, newest first.
    let event_lines: Vec<Line<'static>> = app
        .panes()
        .ledger
        .recent
        .iter()
        .rev()
        .filter_map(|r| r.parsed.as_ref().ok().filter(|e| e.branch == id))
        .take(room(events))
        .map(|e| {
            Line::from(vec![
                Span::styled(
                    format!("  {}", when(e.timestamp.with_timezone(&chrono::Utc))),
                    t.dimmed(),
                ),
                Span::styled(format!("{:<16}", sanitize(&e.event)), t.text()),
                Span::styled(
                    format!(
                        " {:<8} {}",
                        sanitize(e.status.as_deref().unwrap_or("")),
                        sanitize(&e.id)
                    ),
                    t.dimmed(),
                ),
            ])
        })
        .collect();
    let (p, a) = section("Latest ledger events", event_lines, events);
    frame.render_widget(p, a);
    let history_lines: Vec<Line<'static>> = app
        .branch_history(id)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .take(room(history))
        .map(|e| {
            Line::from(vec![
                Span::styled(format!("  {}", when(e.at)), t.dimmed()),
                Span::styled(format!("{:<20}", sanitize(&e.event)), t.text()),
                Span::styled(
                    format!(
                        " {:<8} by {} · {}",
                        sanitize(e.status.as_deref().unwrap_or("")),
                        sanitize(e.actor.as_deref().unwrap_or("—")),
                        sanitize(&e.id)
                    ),
                    t.dimmed(),
                ),
            ])
        })
        .collect();
    let (p, a) = section("Maintenance / rollback history", history_lines, history);
    frame.render_widget(p, a);
}
