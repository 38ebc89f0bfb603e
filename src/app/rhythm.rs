//! Rhythm state: gauge history, rule markers, exporter series; the rhythm pane's keys.

use std::collections::{BTreeMap, VecDeque};

use super::*;

/// Time windows of the rhythm chart, in seconds.
pub const WINDOWS: [i64; 5] = [60, 300, 900, 3_600, 86_400];

/// Rhythm gauges over time, plus the newest exporter values.
#[derive(Debug, Clone, Default)]
pub struct RhythmState {
    /// Points sorted by time, pruned to a day.
    pub points: VecDeque<GaugePoint>,
    pub rules: Vec<RuleChange>,
    pub bad_rules: usize,
    pub bad_rows: usize,
    /// `lumen_gateway_status` 0–4.
    pub gateway_status: Option<f64>,
    /// Newest value of every other series, by name+labels, for the series browser.
    pub other: BTreeMap<String, f64>,
    /// Time of the newest point that came live from an exporter.
    pub last_live: Option<f64>,
    /// 10-second means of `points`, kept on ingest for windows of an hour or more
    /// (a day at 5 Hz is 432,000 points; drawing it from means keeps a frame cheap).
    pub coarse: VecDeque<(GaugePoint, [u32; 4])>,
}

/// Width of one `coarse` bucket, seconds.
pub const COARSE_SECS: f64 = 10.0;

pub(crate) const HISTORY_SECS: f64 = 86_400.0;

impl RhythmState {
    pub(crate) fn push_live(&mut self, p: GaugePoint) {
        if self.points.back().is_some_and(|b| b.t >= p.t) {
            return;
        }
        self.points.push_back(p);
        self.coarse_add(p);
        self.last_live = Some(p.t);
        self.prune(p.t);
    }

    pub(crate) fn coarse_add(&mut self, p: GaugePoint) {
        let bucket = (p.t / COARSE_SECS).floor() * COARSE_SECS;
        match self.coarse.back_mut() {
            Some((c, n)) if c.t == bucket + COARSE_SECS / 2.0 => {
                for ((mean, count), v) in c.values.iter_mut().zip(n.iter_mut()).zip(p.values) {
                    if v.is_finite() {
                        *count += 1;
                        *mean += (v - *mean) / f64::from(*count);
                    }
                }
            }
            _ => {
                let mut n = [0u32; 4];
                let mut values = [f64::NAN; 4];
                for ((mean, count), v) in values.iter_mut().zip(n.iter_mut()).zip(p.values) {
                    if v.is_finite() {
                        *mean = v;
                        *count = 1;
                    }
                }
                self.coarse.push_back((
                    GaugePoint {
                        t: bucket + COARSE_SECS / 2.0,
                        values,
                    },
                    n,
                ));
            }
        }
    }

    pub(crate) fn rebuild_coarse(&mut self) {
        self.coarse.clear();
        let points: Vec<GaugePoint> = self.points.iter().copied().collect();
        for p in points {
            self.coarse_add(p);
        }
    }

    /// History rows (CSV). They fill time before the first live point, and stand in
    /// for the exporter while it is silent.
    pub(crate) fn push_history(&mut self, mut rows: Vec<GaugePoint>, now: f64) {
        let live_recent = self.last_live.is_some_and(|t| now - t < 3.0);
        rows.retain(|p| p.t.is_finite());
        rows.sort_by(|a, b| a.t.total_cmp(&b.t));
        let first = self.points.front().map(|p| p.t);
        let last = self.points.back().map(|p| p.t);
        let mut before: Vec<GaugePoint> = Vec::new();
        for p in rows {
            match (first, last) {
                (Some(f), _) if p.t < f => before.push(p),
                (_, Some(l)) if p.t > l && !live_recent => {
                    self.points.push_back(p);
                    self.coarse_add(p);
                }
                (None, None) => {
                    self.points.push_back(p);
                    self.coarse_add(p);
                }
                _ => {}
            }
        }
        let prepended = !before.is_empty();
        for p in before.into_iter().rev() {
            self.points.push_front(p);
        }
        self.prune(now);
        // Rows before the first point (start-up backfill) shift every bucket: rebuild the
        // means once for the batch; rows after it were added incrementally above.
        if prepended {
            self.rebuild_coarse();
        }
    }

    pub(crate) fn prune(&mut self, now: f64) {
        while self
            .points
            .front()
            .is_some_and(|p| now - p.t > HISTORY_SECS)
        {
            self.points.pop_front();
        }
    }
}

impl App {
    pub(crate) fn rhythm_action(&mut self, a: Action) {
        let w = WINDOWS.get(self.window).copied().unwrap_or(300);
        match a {
            Action::WiderWindow => self.window = (self.window + 1).min(WINDOWS.len() - 1),
            Action::NarrowerWindow => self.window = self.window.saturating_sub(1),
            Action::Left => self.pan = (self.pan + w / 4).min(86_400),
            Action::Right => self.pan = (self.pan - w / 4).max(0),
            Action::Bottom => self.pan = 0,
            Action::Up | Action::Down => {
                let n = self.rhythm.rules.len();
                if n == 0 {
                    self.marker_sel = None;
                } else {
                    let cur = self.marker_sel.unwrap_or(n - 1);
                    self.marker_sel = Some(if a == Action::Up {
                        cur.saturating_sub(1)
                    } else {
                        (cur + 1).min(n - 1)
                    });
                }
            }
            _ => {}
        }
    }
}
