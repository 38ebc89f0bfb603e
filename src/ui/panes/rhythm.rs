//! Rhythm map: the four gauges over a selectable, pannable window, threshold lines,
//! rule-change markers, gaps drawn as gaps, and the gateway status.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph, Sparkline};

use crate::app::{App, Pane, SourceStatus, WINDOWS, fmt_age, fmt_value};
use crate::domain::rhythm::GAUGES;
use crate::domain::rhythm_math::{ChangeClass, GaugeDelta, Status};
use crate::domain::sanitize::sanitize;
use crate::protocol::{Action, SourceId};
use crate::ui::{pane_block, short, staleness_of};

/// Samples further apart than this are a gap, drawn as a break in the line.
pub const GAP_SECS: f64 = 2.5;
/// The same for the 10-second means used by wide windows.
pub const COARSE_GAP_SECS: f64 = 30.0;
/// Width of the resonance panel beside the chart (wide panes only).
const RESONANCE_W: u16 = 36;

/// Which way is good for each gauge: phase ↓, entropy ↓, creative ↑, risk ↓.
pub const GOOD: [&str; 4] = ["↓", "↓", "↑", "↓"];

pub fn gateway_name(v: f64) -> &'static str {
    match v.round() as i64 {
        1 => "initializing",
        2 => "binding",
        3 => "resonating",
        4 => "locked",
        _ => "unknown",
    }
}

fn exporter_status(app: &App) -> SourceStatus {
    // The freshest of the exporters decides the pane's staleness note.
    app.data()
        .sources
        .iter()
        .filter(|(k, _)| matches!(k, SourceId::Exporter(_)))
        .map(|(_, v)| v.clone())
        .max_by_key(|s| s.last_ok)
        .unwrap_or_else(|| {
            app.data()
                .sources
                .get(&SourceId::Metrics)
                .cloned()
                .unwrap_or_default()
        })
}

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let st = exporter_status(app);
    let block = pane_block(app, Pane::Rhythm, Some(staleness_of(app, &st, t.ok)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    if app.panes().rhythm.series_view {
        render_series(frame, app, inner);
        return;
    }
    // Narrow panes put the resonance on one line under the chart; wide ones beside it.
    let side = inner.width >= 100 && inner.height >= 10;
    let compact = if !side && inner.height >= 14 {
        compact_resonance(app, inner.width)
    } else {
        Vec::new()
    };
    let errors = error_spans(app);
    let info_h: u16 = if inner.height >= 12 {
        3 + compact.len() as u16 + errors.len().min(2) as u16
    } else {
        0
    };
    let ruler_h = u16::from(inner.height >= 12);
    let [legend, ruler, body, info] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(ruler_h),
        Constraint::Min(0),
        Constraint::Length(info_h),
    ])
    .areas(inner);
    render_legend(frame, app, legend);
    let (chart, res_area) = if side {
        let [c, r] =
            Layout::horizontal([Constraint::Min(0), Constraint::Length(RESONANCE_W)]).areas(body);
        (c, Some(r))
    } else {
        (body, None)
    };
    if app.panes().rhythm.points.is_empty() {
        let msg = if st == SourceStatus::default() {
            "no gauge data yet — waiting for the exporter or logs/metrics.csv"
        } else {
            "no gauge data yet"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dimmed())), chart);
    } else {
        render_chart(frame, app, chart);
        if ruler_h > 0 {
            render_ruler(
                frame,
                app,
                Rect {
                    width: chart.width,
                    ..ruler
                },
            );
        }
    }
    if let Some(r) = res_area {
        render_resonance(frame, app, r);
    }
    if info_h > 0 {
        render_info(frame, app, info, compact, errors);
    }
}

fn render_legend(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let last = app.panes().rhythm.points.back();
    let narrow = area.width < 100;
    let mut spans = Vec::new();
    if let Some(g) = app.panes().rhythm.gateway_status {
        spans.push(Span::styled(
            format!("gateway {} ", gateway_name(g)),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ));
    }
    for (i, name) in GAUGES.iter().enumerate() {
        let v = last.and_then(|p| p.values.get(i).copied());
        let (val, bad) = match v {
            Some(x) => (fmt_value(x), !(0.0..=1.0).contains(&x)),
            None => ("—".into(), false),
        };
        let color = t.series.get(i).copied().unwrap_or(t.fg);
        spans.push(Span::styled(if narrow { "━" } else { "━ " }, t.fg(color)));
        let short_name = name.split('_').next().unwrap_or(name);
        // Narrow panes: three letters, so the four values and the window fit 80 columns.
        let (short_name, sep, gap) = if narrow {
            (short_name.get(..3).unwrap_or(short_name), "", " ")
        } else {
            (short_name, " ", "  ")
        };
        spans.push(Span::styled(
            format!("{short_name}{}{sep}", GOOD.get(i).unwrap_or(&"")),
            t.text(),
        ));
        spans.push(Span::styled(
            format!("{val}{gap}"),
            if bad { t.fg(t.error) } else { t.text() },
        ));
    }
    let w = WINDOWS
        .get(app.panes().rhythm.window)
        .copied()
        .unwrap_or(300);
    let pan = if app.panes().rhythm.pan > 0 {
        format!(" −{}", fmt_age(app.panes().rhythm.pan))
    } else {
        String::new()
    };
    spans.push(Span::styled(format!("[{}{}]", fmt_age(w), pan), t.dimmed()));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The x axis' labels, shared by the chart and the marker ruler (whose columns must
/// line up with the chart's).
fn x_labels(app: &App, w: f64) -> [String; 3] {
    let pan = app.panes().rhythm.pan as f64;
    let label = |secs: f64| format!("-{}", fmt_age(secs as i64));
    [
        label(w + pan),
        label(w / 2.0 + pan),
        if app.panes().rhythm.pan == 0 {
            "now".to_string()
        } else {
            label(pan)
        },
    ]
}

/// Where ratatui's `Chart` puts the plot inside `area`, horizontally: the y labels
/// ("0", "0.5", "1") and the overhang of the first x label sit left of the y axis
/// (this mirrors `Chart::max_width_of_labels_left_of_y_axis`), the axis takes a column.
fn plot_columns(area: Rect, first_x_label: &str) -> (u16, u16) {
    let first = unicode_width::UnicodeWidthStr::width(first_x_label) as u16;
    let left = 3u16.max(first.saturating_sub(1)).min(area.width / 3);
    let x = area.x.saturating_add(left).saturating_add(1);
    (x, area.right().saturating_sub(x))
}

/// One row above the chart: each visible marker's rule name at its column (when it
/// does not collide with the previous label); the selected one highlighted.
fn render_ruler(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let w = WINDOWS
        .get(app.panes().rhythm.window)
        .copied()
        .unwrap_or(300) as f64;
    let (x0, x1) = app.rhythm_window();
    let labels = x_labels(app, w);
    let (px, pw) = plot_columns(area, &labels[0]);
    if pw == 0 {
        return;
    }
    let sel = app.selected_marker();
    let mut spans: Vec<Span> = Vec::new();
    let mut col = area.x; // next free column
    for (i, r) in app.panes().rhythm.rules.iter().enumerate() {
        let x = r.ts.timestamp_millis() as f64 / 1000.0;
        if x < x0 || x > x1 {
            continue;
        }
        let c = px
            + (((x - x0) / w) * f64::from(pw))
                .floor()
                .min(f64::from(pw - 1)) as u16;
        if c < col {
            continue;
        }
        // "▼rule" starting at the marker; near the right edge "rule▼" ending at it;
        // left out when neither fits without overlapping the previous label.
        let name = short(&sanitize(&r.rule), 24);
        let lw = unicode_width::UnicodeWidthStr::width(name.as_str()) as u16 + 1;
        let (start, text) = if c.saturating_add(lw) <= area.right() {
            (c, format!("▼{name}"))
        } else if c + 1 >= lw && c + 1 - lw >= col {
            (c + 1 - lw, format!("{name}▼"))
        } else {
            continue;
        };
        spans.push(Span::raw(" ".repeat(usize::from(start - col))));
        let style = if Some(i) == sel {
            t.fg(t.marker).add_modifier(Modifier::BOLD)
        } else {
            t.fg(t.threshold)
        };
        col = start + lw + 1;
        spans.push(Span::styled(text, style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn status_color(app: &App, s: Status) -> Color {
    let t = &app.shell().theme;
    match s {
        Status::Ok => t.ok,
        Status::Warn => t.warn,
        Status::Crit => t.error,
    }
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("—".into(), |x| format!("{x:.2}"))
}

/// One row of the resonance panel: label, value (with its note), style.
type ResRow = (String, String, Style);

/// The resonance coordinates as rows, with the overall status.
fn resonance_rows(app: &App) -> Option<(Status, Vec<ResRow>)> {
    let t = &app.shell().theme;
    let v = app.panes().rhythm.resonance.as_ref()?;
    let r = &v.resonance;
    let field = app
        .data()
        .hq
        .as_ref()
        .and_then(|h| h.observer.clone())
        .unwrap_or_default();
    let coh_style = if r.coherence >= field.coherence_ok {
        t.fg(t.ok)
    } else {
        t.fg(t.warn)
    };
    let phase_style = match r.phase {
        Some(p) if p >= field.phase_crit => t.fg(t.error),
        Some(p) if p >= field.phase_warn => t.fg(t.warn),
        Some(_) => t.fg(t.ok),
        None => t.fg(t.warn),
    };
    let failures: u64 = v.failure_counts.iter().sum();
    let rehearsal = match (v.days_since_rehearsal, v.custody_record) {
        (Some(d), true) => format!("custody {d:.0}d"),
        (Some(d), false) => format!("rehearsal {d:.0}d"),
        (None, _) => "never rehearsed".into(),
    };
    let safety_note = if v.unverified {
        "not verified yet".to_string()
    } else {
        rehearsal
    };
    Some((
        r.status,
        vec![
            (
                "coherence".into(),
                format!("{:.2} (ok ≥ {})", r.coherence, field.coherence_ok),
                coh_style.add_modifier(Modifier::BOLD),
            ),
            (
                "phase".into(),
                format!(
                    "{} (warn {} crit {})",
                    fmt_opt(r.phase),
                    field.phase_warn,
                    field.phase_crit
                ),
                phase_style,
            ),
            ("symmetry".into(), fmt_opt(r.symmetry), t.text()),
            (
                "continuity".into(),
                format!("{:.2} (gap {:.1}m)", r.continuity, r.gap_minutes),
                t.text(),
            ),
            (
                "entropy".into(),
                format!(
                    "{:.2} ({failures} failure{})",
                    r.entropy,
                    if failures == 1 { "" } else { "s" }
                ),
                t.text(),
            ),
            (
                "safety".into(),
                format!("{:.2} ({safety_note})", r.safety),
                if v.unverified { t.fg(t.warn) } else { t.text() },
            ),
        ],
    ))
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Crit => "crit",
    }
}

fn render_resonance(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let Some((status, rows)) = resonance_rows(app) else {
        return;
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(" resonance ", t.text().add_modifier(Modifier::BOLD)),
        Span::styled(
            status_word(status),
            t.fg(status_color(app, status)).add_modifier(Modifier::BOLD),
        ),
    ])];
    for (k, v, style) in rows {
        lines.push(Line::from(vec![
            Span::styled(format!(" {k:<10} "), t.dimmed()),
            Span::styled(v, style),
        ]));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

fn render_chart(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let w = WINDOWS
        .get(app.panes().rhythm.window)
        .copied()
        .unwrap_or(300) as f64;
    let now = app.shell().now.timestamp_millis() as f64 / 1000.0 - app.panes().rhythm.pan as f64;
    let (x0, x1) = (now - w, now);
    // Average the points into two buckets per braille column: cheap to draw, and a
    // mean shows the loop's rhythm rather than whichever noisy sample was picked.
    let cols = (area.width as usize).max(1) * 2;
    let bucket = w / cols as f64;
    // Wide windows draw from the 10 s means kept on ingest; the window start is found
    // by binary search, so a frame never walks the whole day.
    let segments = if w >= 3_600.0 {
        let c = &app.panes().rhythm.coarse;
        let from = c.partition_point(|(p, _)| p.t < x0);
        series_segments(
            c.range(from..).map(|(p, _)| p).take_while(|p| p.t <= x1),
            x0,
            bucket,
            // A silence shorter than a few buckets cannot be seen at this width;
            // a Prometheus backfill at a coarse step must not look like all gaps.
            COARSE_GAP_SECS.max(2.5 * bucket),
        )
    } else {
        let pts = &app.panes().rhythm.points;
        let from = pts.partition_point(|p| p.t < x0);
        series_segments(
            pts.range(from..).take_while(|p| p.t <= x1),
            x0,
            bucket,
            GAP_SECS.max(2.5 * bucket),
        )
    };
    let gw = app
        .data()
        .hq
        .as_ref()
        .and_then(|h| h.gateway.clone())
        .unwrap_or_default();
    let thresholds = [
        vec![(0.0, gw.creative_band_min), (w, gw.creative_band_min)],
        vec![(0.0, gw.risk_band_max), (w, gw.risk_band_max)],
    ];
    let markers: Vec<(usize, Vec<(f64, f64)>)> = app
        .panes()
        .rhythm
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let x = r.ts.timestamp_millis() as f64 / 1000.0;
            (x >= x0 && x <= x1).then(|| (i, vec![(x - x0, 0.0), (x - x0, 1.0)]))
        })
        .collect();
    let mut datasets = Vec::new();
    for th in &thresholds {
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(t.fg(t.threshold))
                .data(th),
        );
    }
    let sel = app.selected_marker();
    for (i, m) in &markers {
        let style = if Some(*i) == sel {
            t.fg(t.marker).add_modifier(Modifier::BOLD)
        } else {
            t.fg(t.threshold)
        };
        datasets.push(
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(style)
                .data(m),
        );
    }
    for (g, segs) in segments.iter().enumerate() {
        let color = t.series.get(g).copied().unwrap_or(t.fg);
        for s in segs {
            datasets.push(
                Dataset::default()
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(t.fg(color))
                    .data(s),
            );
        }
    }
    let [l0, l1, l2] = x_labels(app, w);
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, w])
                .labels(vec![
                    Span::styled(l0, t.dimmed()),
                    Span::styled(l1, t.dimmed()),
                    Span::styled(l2, t.dimmed()),
                ])
                .style(t.dimmed()),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 1.0])
                .labels(vec![
                    Span::styled("0", t.dimmed()),
                    Span::styled("0.5", t.dimmed()),
                    Span::styled("1", t.dimmed()),
                ])
                .style(t.dimmed()),
        )
        .legend_position(None)
        // The chart's canvas paints its own background: the theme's, not the terminal's.
        .style(t.base());
    frame.render_widget(chart, area);
}

fn delta_spans<'a>(app: &App, narrow: bool) -> Vec<Span<'a>> {
    let t = &app.shell().theme;
    let Some(e) = app.panes().rhythm.effect else {
        return Vec::new();
    };
    let mut spans = vec![Span::styled("  Δ ", t.dimmed())];
    for (g, d) in e.effect.deltas.iter().enumerate() {
        let name = GAUGES
            .get(g)
            .and_then(|n| n.split('_').next())
            .unwrap_or("?");
        let name = if narrow {
            name.get(..3).unwrap_or(name)
        } else {
            name
        };
        let arrow = GOOD.get(g).unwrap_or(&"");
        let val = match d {
            GaugeDelta::Delta(x) if narrow => format!("{x:+.2}"),
            GaugeDelta::Delta(x) => format!("{x:+.3}"),
            GaugeDelta::Insufficient { before, after } => format!("n/a ({before}|{after})"),
        };
        let gap = if narrow { " " } else { "  " };
        spans.push(Span::styled(format!("{name}{arrow} {val}{gap}"), t.text()));
    }
    let color = match e.effect.class {
        ChangeClass::Good => t.ok,
        ChangeClass::RiskSignal => t.error,
        ChangeClass::Neutral => t.dim,
        ChangeClass::InsufficientData => t.warn,
    };
    spans.push(Span::styled(
        format!("→ {}", e.effect.class.label()),
        t.fg(color).add_modifier(Modifier::BOLD),
    ));
    spans
}

fn key_label(app: &App, a: Action) -> Option<String> {
    app.shell().keymap.keys_for(a).first().map(|k| k.label())
}

fn render_info(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    compact: Vec<Line<'static>>,
    errors: Vec<Line<'static>>,
) {
    let t = &app.shell().theme;
    let rules = &app.panes().rhythm.rules;
    let sel = app.selected_marker();
    let newest = sel.is_some() && sel == rules.len().checked_sub(1);
    let mut lines = Vec::new();
    match sel.and_then(|i| rules.get(i)) {
        Some(r) => {
            let mut l1 = vec![
                Span::styled("◆ ", t.fg(t.marker)),
                Span::styled(
                    format!("{} {} → {} ", sanitize(&r.rule), r.old, r.new),
                    t.text().add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(
                        "by {} at {} — {}",
                        sanitize(&r.actor),
                        r.ts.format("%m-%d %H:%M:%S"),
                        short(&sanitize(r.note.as_deref().unwrap_or("")), 60)
                    ),
                    t.dimmed(),
                ),
            ];
            if let Some(i) = sel {
                l1.push(Span::styled(
                    format!("  [{}/{}]", i + 1, rules.len()),
                    t.dimmed(),
                ));
            }
            lines.push(Line::from(l1));
            let narrow = area.width < 100;
            let mut l2 = delta_spans(app, narrow);
            if newest && let Some(k) = key_label(app, Action::RuleRollback) {
                l2.push(Span::styled(
                    if narrow {
                        format!(" {k}: roll back")
                    } else {
                        format!("  {k}: roll back this rule")
                    },
                    t.fg(t.accent),
                ));
            }
            lines.push(Line::from(l2));
        }
        None => {
            lines.push(Line::from(Span::styled(
                "no rule changes yet (controls/rules_history.jsonl)",
                t.dimmed(),
            )));
            lines.push(Line::default());
        }
    }
    lines.extend(compact);
    lines.extend(errors);
    lines.push(Line::from(status_spans(app)));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The resonance under the chart when it is not beside it, its coordinates spelled
/// out (`coherence 0.97 phase 0.12 …`, never `coh`/`pha`): one line when it fits
/// `width`, else two (three coordinates each). The parenthesised notes are dropped.
fn compact_resonance(app: &App, width: u16) -> Vec<Line<'static>> {
    let t = &app.shell().theme;
    let Some((status, rows)) = resonance_rows(app) else {
        return Vec::new();
    };
    let head = Span::styled(
        format!("resonance {} ", status_word(status)),
        t.fg(status_color(app, status)).add_modifier(Modifier::BOLD),
    );
    let pairs: Vec<(Span<'static>, Span<'static>)> = rows
        .into_iter()
        .map(|(k, v, style)| {
            let v = v.split(" (").next().unwrap_or(&v).to_string();
            (
                Span::styled(format!("{k} "), t.dimmed()),
                Span::styled(format!("{v}  "), style),
            )
        })
        .collect();
    let width_of = |spans: &[(Span, Span)]| -> usize {
        spans.iter().map(|(a, b)| a.width() + b.width()).sum()
    };
    if head.width() + width_of(&pairs) <= usize::from(width) {
        let mut spans = vec![head];
        for (a, b) in pairs {
            spans.push(a);
            spans.push(b);
        }
        return vec![Line::from(spans)];
    }
    let half = pairs.len().div_ceil(2);
    let indent = " ".repeat(head.width());
    let mut lines = Vec::new();
    let mut first = Some(head);
    for chunk in pairs.chunks(half) {
        let mut spans = vec![first.take().unwrap_or_else(|| Span::raw(indent.clone()))];
        for (a, b) in chunk {
            spans.push(a.clone());
            spans.push(b.clone());
        }
        lines.push(Line::from(spans));
    }
    lines
}

/// What is wrong with the exporter or Prometheus, and since when: a line each.
fn error_spans(app: &App) -> Vec<Line<'static>> {
    let t = &app.shell().theme;
    let mut bits = Vec::new();
    let st = exporter_status(app);
    if st.failing()
        && let Some((at, err)) = &st.last_error
    {
        let live = app.panes().rhythm.last_live.map_or(String::new(), |l| {
            format!("; last live sample {}", clock(l))
        });
        bits.push(Line::styled(
            format!(
                "✗ exporter: {} since {}{live} (history kept)",
                short(&sanitize(err), 70),
                at.format("%H:%M:%S")
            ),
            t.fg(t.error),
        ));
    }
    if let Some(p) = app.data().sources.get(&SourceId::PrometheusHistory)
        && p.failing()
        && let Some((at, err)) = &p.last_error
    {
        bits.push(Line::styled(
            format!(
                "✗ {} since {}",
                short(&sanitize(err), 70),
                at.format("%H:%M:%S")
            ),
            t.fg(t.error),
        ));
    }
    bits
}

fn clock(secs: f64) -> String {
    chrono::DateTime::from_timestamp_millis((secs * 1000.0) as i64)
        .map_or("?".into(), |d| d.format("%H:%M:%S").to_string())
}

/// Thresholds, skipped input, flagged values, the Prometheus backfill's state.
fn status_spans<'a>(app: &App) -> Vec<Span<'a>> {
    let t = &app.shell().theme;
    let gw = app
        .data()
        .hq
        .as_ref()
        .and_then(|h| h.gateway.clone())
        .unwrap_or_default();
    let mut bits = vec![Span::styled(
        format!(
            "{} · creative ≥ {} · risk ≤ {}",
            super::count(app.panes().rhythm.rules.len(), "marker", "markers"),
            gw.creative_band_min,
            gw.risk_band_max
        ),
        t.dimmed(),
    )];
    if let Some(p) = app.data().sources.get(&SourceId::PrometheusHistory)
        && !p.failing()
        && let Some(b) = &app.panes().rhythm.prom_last
    {
        bits.push(Span::styled(
            format!(
                " · prometheus: {} rows of {} at {:.1}s step, {} ago",
                b.rows,
                fmt_age(b.window.as_secs() as i64),
                b.step.as_secs_f64(),
                fmt_age(app.age(b.at))
            ),
            t.dimmed(),
        ));
    }
    if app.panes().rhythm.flagged > 0 {
        let last = app
            .panes()
            .rhythm
            .last_flagged
            .as_ref()
            .map_or(String::new(), |(at, what)| {
                format!(", last {} at {}", sanitize(what), clock(*at))
            });
        bits.push(Span::styled(
            format!(
                " · {} live value(s) NaN/Inf/out of [0,1]{last}",
                app.panes().rhythm.flagged
            ),
            t.fg(t.warn),
        ));
    }
    if app.panes().rhythm.bad_rows + app.panes().rhythm.bad_rules > 0 {
        bits.push(Span::styled(
            format!(
                " · skipped: {} csv rows, {} rules lines",
                app.panes().rhythm.bad_rows,
                app.panes().rhythm.bad_rules
            ),
            t.fg(t.warn),
        ));
    }
    bits
}

/// The series browser: every other scraped series, its newest value and a sparkline
/// of its recent values (a ratatui `Sparkline` per row).
fn render_series(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let r = &app.panes().rhythm;
    let n = r.other.len();
    let dropped = if r.series_dropped > 0 {
        format!(
            " · {} sample(s) of series past {} not kept",
            r.series_dropped,
            crate::app::MAX_SERIES
        )
    } else {
        String::new()
    };
    let toggle = key_label(app, Action::ToggleSeries).unwrap_or_else(|| "o".into());
    let head = Line::from(Span::styled(
        format!("{n} other series{dropped} · ↑/↓ scroll · {toggle}: back to the chart"),
        t.dimmed(),
    ));
    frame.render_widget(Paragraph::new(head), Rect { height: 1, ..area });
    let rows_h = usize::from(area.height.saturating_sub(1));
    if n == 0 {
        if rows_h > 0 {
            frame.render_widget(
                Paragraph::new(Span::styled("no other series scraped yet", t.dimmed())),
                Rect {
                    y: area.y + 1,
                    height: 1,
                    ..area
                },
            );
        }
        return;
    }
    let sel = r.series_sel.min(n - 1);
    let first = sel.saturating_sub(rows_h.saturating_sub(1));
    let spark_w = (area.width / 4).clamp(8, crate::app::SERIES_RING as u16);
    let value_w = 12u16;
    let name_w = area.width.saturating_sub(spark_w + value_w + 2);
    for (row, (key, value)) in r.other.iter().enumerate().skip(first).take(rows_h) {
        let y = area.y + 1 + (row - first) as u16;
        let style = if row == sel {
            Style::default().fg(t.selection_fg).bg(t.selection_bg)
        } else {
            t.text()
        };
        let [name_a, value_a, spark_a] = Layout::horizontal([
            Constraint::Length(name_w),
            Constraint::Length(value_w),
            Constraint::Length(spark_w + 2),
        ])
        .areas(Rect {
            y,
            height: 1,
            ..area
        });
        frame.render_widget(
            Paragraph::new(Span::styled(
                short(&sanitize(key), usize::from(name_w)),
                style,
            )),
            name_a,
        );
        let bad = !value.is_finite();
        frame.render_widget(
            Paragraph::new(Span::styled(
                format!("{:>11}", short_num(*value)),
                if bad { t.fg(t.warn) } else { t.text() },
            )),
            value_a,
        );
        // The layout may give the sparkline less than asked on a narrow screen.
        let spark = Rect {
            x: spark_a.x.saturating_add(2),
            width: spark_a.width.saturating_sub(2),
            ..spark_a
        }
        .intersection(area);
        if let Some(ring) = r.history.get(key)
            && !spark.is_empty()
        {
            let data = spark_data(ring.iter().copied(), usize::from(spark.width));
            frame.render_widget(
                Sparkline::default()
                    .data(data)
                    .max(100)
                    .style(t.fg(t.accent)),
                spark,
            );
        }
    }
}

/// A value in at most 11 columns.
fn short_num(v: f64) -> String {
    if !v.is_finite() {
        return fmt_value(v);
    }
    let s = format!("{v}");
    if s.len() <= 11 { s } else { format!("{v:.4e}") }
}

/// The last `width` values scaled to 0–100 between their min and max (a flat series
/// sits at the middle); NaN/Inf are absent bars.
pub fn spark_data(values: impl DoubleEndedIterator<Item = f64>, width: usize) -> Vec<Option<u64>> {
    let mut vals: Vec<f64> = values.rev().take(width).collect();
    vals.reverse();
    let (lo, hi) = vals
        .iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    vals.iter()
        .map(|v| {
            if !v.is_finite() {
                None
            } else if hi > lo {
                // the lowest value still shows as the lowest bar (1/8 of a row)
                Some((((v - lo) / (hi - lo)) * 88.0).round() as u64 + 12)
            } else {
                Some(50)
            }
        })
        .collect()
}

/// Per gauge, line segments of bucket means; a bucket with no finite value, or a
/// jump over a silence longer than [`GAP_SECS`], breaks the line (a gap stays a gap).
pub fn series_segments<'a>(
    points: impl Iterator<Item = &'a crate::domain::rhythm::GaugePoint>,
    x0: f64,
    bucket: f64,
    gap_secs: f64,
) -> Vec<Vec<Vec<(f64, f64)>>> {
    let bucket = if bucket.is_finite() && bucket > 0.0 {
        bucket
    } else {
        1.0
    };
    let mut segs: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); 4];
    let mut cur: Vec<Vec<(f64, f64)>> = vec![Vec::new(); 4];
    let mut acc: Option<Bucket> = None;
    let mut last_t: Option<f64> = None;
    for p in points {
        let gap = last_t.is_some_and(|t| p.t - t > gap_secs);
        last_t = Some(p.t);
        let idx = ((p.t - x0) / bucket).floor() as i64;
        if acc.as_ref().is_some_and(|a| a.idx != idx) || gap {
            if let Some(a) = acc.take() {
                a.flush(bucket, &mut cur, &mut segs);
            }
            if gap {
                break_all(&mut cur, &mut segs);
            }
        }
        let a = acc.get_or_insert(Bucket {
            idx,
            sum: [0.0; 4],
            n: [0; 4],
        });
        for ((v, sum), n) in p.values.iter().zip(a.sum.iter_mut()).zip(a.n.iter_mut()) {
            if v.is_finite() {
                *sum += v;
                *n += 1;
            }
        }
    }
    if let Some(a) = acc.take() {
        a.flush(bucket, &mut cur, &mut segs);
    }
    break_all(&mut cur, &mut segs);
    segs
}

struct Bucket {
    idx: i64,
    sum: [f64; 4],
    n: [u32; 4],
}

impl Bucket {
    fn flush(&self, bucket: f64, cur: &mut [Vec<(f64, f64)>], segs: &mut [Vec<Vec<(f64, f64)>>]) {
        let x = (self.idx as f64 + 0.5) * bucket;
        for (g, (c, s)) in cur.iter_mut().zip(segs.iter_mut()).enumerate() {
            let (sum, n) = (
                self.sum.get(g).copied().unwrap_or(0.0),
                self.n.get(g).copied().unwrap_or(0),
            );
            if n == 0 {
                if !c.is_empty() {
                    s.push(std::mem::take(c));
                }
            } else {
                c.push((x, (sum / f64::from(n)).clamp(0.0, 1.0)));
            }
        }
    }
}

fn break_all(cur: &mut [Vec<(f64, f64)>], segs: &mut [Vec<Vec<(f64, f64)>>]) {
    for (c, s) in cur.iter_mut().zip(segs.iter_mut()) {
        if !c.is_empty() {
            s.push(std::mem::take(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rhythm::GaugePoint;

    fn p(t: f64, v: f64) -> GaugePoint {
        GaugePoint {
            t,
            values: [v, v, v, v],
        }
    }

    #[test]
    fn averages_buckets_and_breaks_at_gaps() {
        let pts = [
            p(0.0, 0.2),
            p(0.5, 0.4),
            p(1.0, 0.5),
            p(10.0, 0.5),
            p(10.5, f64::NAN),
            p(11.0, 0.1),
        ];
        let segs = series_segments(pts.iter(), 0.0, 1.0, GAP_SECS);
        // Buckets 0 (mean 0.3) and 1 (0.5); a 9 s silence breaks the line; bucket 10
        // ignores the NaN; bucket 11 continues the second segment.
        assert_eq!(segs[0].len(), 2, "{:?}", segs[0]);
        assert!((segs[0][0][0].1 - 0.3).abs() < 1e-9);
        assert_eq!(segs[0][0].len(), 2);
        assert_eq!(segs[0][1].len(), 2);
    }

    #[test]
    fn a_bucket_of_only_nan_is_a_gap() {
        let pts = [p(0.0, 0.2), p(1.0, f64::NAN), p(2.0, 0.4)];
        let segs = series_segments(pts.iter(), 0.0, 1.0, GAP_SECS);
        assert_eq!(segs[0].len(), 2);
    }

    #[test]
    fn out_of_range_is_clamped_for_drawing() {
        let pts = [p(0.0, 7.0), p(0.1, f64::INFINITY)];
        let segs = series_segments(pts.iter(), 0.0, 1.0, GAP_SECS);
        assert_eq!(segs[0][0][0].1, 1.0);
    }
}
