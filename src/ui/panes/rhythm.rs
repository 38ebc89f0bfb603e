//! Rhythm map: the four gauges over a selectable, pannable window, threshold lines,
//! rule-change markers, gaps drawn as gaps, and the gateway status.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use crate::action::SourceId;
use crate::app::{App, Pane, SourceStatus, WINDOWS};
use crate::domain::rhythm::GAUGES;
use crate::domain::sanitize::sanitize;
use crate::ui::{pane_block, short, staleness_of};

/// Samples further apart than this are a gap, drawn as a break in the line.
pub const GAP_SECS: f64 = 2.5;
/// The same for the 10-second means used by wide windows.
pub const COARSE_GAP_SECS: f64 = 30.0;

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

pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    // The freshest of the exporters decides the pane's staleness note.
    let st = app
        .sources
        .iter()
        .filter(|(k, _)| matches!(k, SourceId::Exporter(_)))
        .map(|(_, v)| v.clone())
        .max_by_key(|s| s.last_ok)
        .unwrap_or_else(|| {
            app.sources
                .get(&SourceId::Metrics)
                .cloned()
                .unwrap_or_default()
        });
    let block = pane_block(app, Pane::Rhythm, Some(staleness_of(app, &st, t.ok)));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 3 {
        return;
    }
    let info_h = if inner.height >= 12 { 2 } else { 0 };
    let [legend, chart, info] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(0),
        Constraint::Length(info_h),
    ])
    .areas(inner);
    render_legend(frame, app, legend);
    if app.rhythm.points.is_empty() {
        let msg = if st == SourceStatus::default() {
            "no gauge data yet — waiting for the exporter or logs/metrics.csv"
        } else {
            "no gauge data yet"
        };
        frame.render_widget(Paragraph::new(Span::styled(msg, t.dimmed())), chart);
    } else {
        render_chart(frame, app, chart);
    }
    if info_h > 0 {
        render_marker_info(frame, app, info);
    }
}

fn render_legend(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let last = app.rhythm.points.back();
    let mut spans = Vec::new();
    if let Some(g) = app.rhythm.gateway_status {
        spans.push(Span::styled(
            format!("gateway {} ", gateway_name(g)),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        ));
    }
    for (i, name) in GAUGES.iter().enumerate() {
        let v = last.and_then(|p| p.values.get(i).copied());
        let val = match v {
            Some(x) if x.is_nan() => "NaN".to_string(),
            Some(x) if x.is_infinite() => {
                if x > 0.0 {
                    "+Inf".into()
                } else {
                    "-Inf".into()
                }
            }
            Some(x) if !(0.0..=1.0).contains(&x) => format!("{x:.2}!"),
            Some(x) => format!("{x:.2}"),
            None => "—".into(),
        };
        let color = t.series.get(i).copied().unwrap_or(t.fg);
        spans.push(Span::styled("━ ", t.fg(color)));
        let short_name = name.split('_').next().unwrap_or(name);
        spans.push(Span::styled(
            format!("{short_name}{} {val}  ", GOOD.get(i).unwrap_or(&"")),
            t.text(),
        ));
    }
    let w = WINDOWS.get(app.window).copied().unwrap_or(300);
    let pan = if app.pan > 0 {
        format!(" −{}", crate::app::fmt_age(app.pan))
    } else {
        String::new()
    };
    spans.push(Span::styled(
        format!("[{}{}]", crate::app::fmt_age(w), pan),
        t.dimmed(),
    ));
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn render_chart(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let w = WINDOWS.get(app.window).copied().unwrap_or(300) as f64;
    let now = app.now.timestamp_millis() as f64 / 1000.0 - app.pan as f64;
    let (x0, x1) = (now - w, now);
    // Average the points into two buckets per braille column: cheap to draw, and a
    // mean shows the loop's rhythm rather than whichever noisy sample was picked.
    let cols = (area.width as usize).max(1) * 2;
    let bucket = w / cols as f64;
    // Wide windows draw from the 10 s means kept on ingest; the window start is found
    // by binary search, so a frame never walks the whole day.
    let segments = if w >= 3_600.0 {
        let c = &app.rhythm.coarse;
        let from = c.partition_point(|(p, _)| p.t < x0);
        series_segments(
            c.range(from..).map(|(p, _)| p).take_while(|p| p.t <= x1),
            x0,
            bucket,
            COARSE_GAP_SECS,
        )
    } else {
        let pts = &app.rhythm.points;
        let from = pts.partition_point(|p| p.t < x0);
        series_segments(
            pts.range(from..).take_while(|p| p.t <= x1),
            x0,
            bucket,
            GAP_SECS,
        )
    };
    let gw = app
        .hq
        .as_ref()
        .and_then(|h| h.gateway.clone())
        .unwrap_or_default();
    let thresholds = [
        vec![(0.0, gw.creative_band_min), (w, gw.creative_band_min)],
        vec![(0.0, gw.risk_band_max), (w, gw.risk_band_max)],
    ];
    let markers: Vec<(usize, Vec<(f64, f64)>)> = app
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
    let sel = app.marker_sel.or(app.rhythm.rules.len().checked_sub(1));
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
    let label =
        |secs: f64| Span::styled(format!("-{}", crate::app::fmt_age(secs as i64)), t.dimmed());
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([0.0, w])
                .labels(vec![
                    label(w + app.pan as f64),
                    label(w / 2.0 + app.pan as f64),
                    Span::styled(
                        if app.pan == 0 {
                            "now".to_string()
                        } else {
                            format!("-{}", crate::app::fmt_age(app.pan))
                        },
                        t.dimmed(),
                    ),
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
        .legend_position(None);
    frame.render_widget(chart, area);
}

fn render_marker_info(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let rules = &app.rhythm.rules;
    let sel = app.marker_sel.or(rules.len().checked_sub(1));
    let line1 = match sel.and_then(|i| rules.get(i)) {
        Some(r) => Line::from(vec![
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
        ]),
        None => Line::from(Span::styled(
            "no rule changes yet (controls/rules_history.jsonl)",
            t.dimmed(),
        )),
    };
    let gw = app
        .hq
        .as_ref()
        .and_then(|h| h.gateway.clone())
        .unwrap_or_default();
    let mut bits = vec![Span::styled(
        format!(
            "{} marker(s) · thresholds creative ≥ {} · risk ≤ {}",
            rules.len(),
            gw.creative_band_min,
            gw.risk_band_max
        ),
        t.dimmed(),
    )];
    if app.rhythm.bad_rows + app.rhythm.bad_rules > 0 {
        bits.push(Span::styled(
            format!(
                " · skipped {} bad csv row(s), {} bad rule line(s)",
                app.rhythm.bad_rows, app.rhythm.bad_rules
            ),
            t.fg(t.warn),
        ));
    }
    frame.render_widget(Paragraph::new(vec![line1, Line::from(bits)]), area);
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
