//! Rhythm state: gauge history, rule markers, exporter series; the rhythm pane's keys.

use crate::protocol::{BackfillRequest, Command};
use std::collections::{BTreeMap, VecDeque};

use super::*;
use crate::domain::rhythm_math::{self, Effect, Resonance, ResonanceInputs, SafetyInputs};

/// Time windows of the rhythm chart, in seconds.
pub const WINDOWS: [i64; 5] = [60, 300, 900, 3_600, 86_400];

/// Rhythm gauges over time, plus the newest exporter values.
#[derive(Debug, Clone, Default)]
pub struct RhythmState {
    /// Index into [`WINDOWS`] (`App::new` starts at 5 minutes).
    pub window: usize,
    /// Pan offset of the chart, seconds back from now.
    pub pan: i64,
    /// The selected rule marker (`None`: the newest).
    pub marker_sel: Option<usize>,
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
    /// Bumped whenever `points` change, so derived values know they are stale.
    pub generation: u64,
    /// The selected marker's effect Δ, computed on selection/data change (not in render).
    pub effect: Option<MarkerEffect>,
    /// Resonance over the visible window, refreshed once a second on tick.
    pub resonance: Option<ResonanceView>,
    /// Failure entries of the ledger seen on ingest: (unix secs, index into
    /// [`FAILURE_CLASSES`]), pruned to a day and bounded in count.
    pub failures: VecDeque<(f64, usize)>,
    /// The newest `ceremony_rehearsal` ledger entry seen.
    pub last_rehearsal: Option<DateTime<Utc>>,
    /// `LedgerState::resets` when the above were last fed (a re-read starts them over).
    pub ledger_resets: u64,
    /// Recent values of every other series (ring of [`SERIES_RING`] each, at most
    /// [`MAX_SERIES`] series), for the series browser's sparklines.
    pub history: BTreeMap<String, VecDeque<f64>>,
    /// Series that arrived after [`MAX_SERIES`] was reached (not kept).
    pub series_dropped: u64,
    /// The pane body shows the series browser instead of the chart.
    pub series_view: bool,
    pub series_sel: usize,
    /// Live gauge values that were NaN/±Inf or outside [0, 1]; the newest one.
    pub flagged: u64,
    pub last_flagged: Option<(f64, String)>,
    /// Prometheus backfill: where to ask for one (set by `lumen` when `prometheus_url`
    /// is configured), the widest span asked for so far (seconds), and the last result.
    /// Prometheus is configured: the pane asks it for history (`Command::Backfill`).
    pub backfill: bool,
    pub prom_requested: i64,
    pub prom_last: Option<PromBackfill>,
}

/// What the last Prometheus backfill brought.
#[derive(Debug, Clone, PartialEq)]
pub struct PromBackfill {
    pub at: DateTime<Utc>,
    pub rows: usize,
    pub bad: usize,
    pub window: std::time::Duration,
    pub step: std::time::Duration,
}

/// The selected marker's effect, with the key it was computed for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarkerEffect {
    /// Index into `rules`.
    pub marker: usize,
    pub rules: usize,
    pub generation: u64,
    pub effect: Effect,
}

/// The resonance panel's numbers and the inputs worth showing next to them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResonanceView {
    pub at: i64,
    pub resonance: Resonance,
    pub failure_counts: Vec<u64>,
    /// Days since the last custody event (see `custody_record`).
    pub days_since_rehearsal: Option<f64>,
    /// `days_since_rehearsal` counts from a real custody record (seal audit or
    /// initial ceremony), not from a rehearsal.
    pub custody_record: bool,
    /// The ledger has not been verified yet (safety counts as 0 until it is).
    pub unverified: bool,
}

/// Failure classes of the entropy histogram, in order; `other` is any other entry the
/// ledger pane counts as a failure (`*fail*`, `status: failed`).
pub const FAILURE_CLASSES: [&str; 4] = [
    "deploy_failed",
    "health_fail",
    "cost_limit_exceeded",
    "other",
];
/// Samples kept per series for the browser's sparklines.
pub const SERIES_RING: usize = 64;
/// Series kept for the browser at most.
pub const MAX_SERIES: usize = 5_000;
const MAX_FAILURES: usize = 100_000;

/// Width of one `coarse` bucket, seconds.
pub const COARSE_SECS: f64 = 10.0;

pub(crate) const HISTORY_SECS: f64 = 86_400.0;

impl RhythmState {
    pub(crate) fn push_live(&mut self, p: GaugePoint) {
        if self.points.back().is_some_and(|b| b.t >= p.t) {
            return;
        }
        if let Some((g, v)) = p
            .values
            .iter()
            .enumerate()
            .find(|(_, v)| !(0.0..=1.0).contains(*v))
        {
            self.flagged += 1;
            let name = crate::domain::rhythm::GAUGES.get(g).copied().unwrap_or("?");
            self.last_flagged = Some((p.t, format!("{name} = {}", fmt_value(*v))));
        }
        self.points.push_back(p);
        self.coarse_add(p);
        self.last_live = Some(p.t);
        self.generation += 1;
        self.prune(p.t);
    }

    /// Remember the newest value of a non-gauge series and keep its small ring.
    pub(crate) fn note_other(&mut self, key: String, value: f64) {
        let full = self.history.len() >= MAX_SERIES;
        match self.history.get_mut(&key) {
            Some(ring) => {
                if ring.len() >= SERIES_RING {
                    ring.pop_front();
                }
                ring.push_back(value);
            }
            None if !full => {
                self.history.insert(key.clone(), VecDeque::from([value]));
            }
            None => {
                self.series_dropped += 1;
                return;
            }
        }
        self.other.insert(key, value);
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
        self.generation += 1;
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

/// What a key did to the rhythm pane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RhythmKey {
    /// The series browser handled it (nothing derived changes).
    Browser,
    /// The chart handled it; `span` when the visible window moved or resized.
    Chart { span: bool },
}

impl RhythmState {
    /// Keys while the rhythm pane has focus: the series browser's, or the chart's
    /// window, pan and marker selection.
    pub(crate) fn on_action(&mut self, a: Action) -> RhythmKey {
        if a == Action::ToggleSeries {
            self.series_view = !self.series_view;
            return RhythmKey::Browser;
        }
        if self.series_view {
            let n = self.other.len();
            self.series_sel = move_sel(self.series_sel, n, a, 10);
            return RhythmKey::Browser;
        }
        let w = WINDOWS.get(self.window).copied().unwrap_or(300);
        match a {
            Action::WiderWindow => self.window = (self.window + 1).min(WINDOWS.len() - 1),
            Action::NarrowerWindow => self.window = self.window.saturating_sub(1),
            Action::Left => self.pan = (self.pan + w / 4).min(86_400),
            Action::Right => self.pan = (self.pan - w / 4).max(0),
            Action::Bottom => self.pan = 0,
            Action::Up | Action::Down => {
                let n = self.rules.len();
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
        RhythmKey::Chart {
            span: matches!(
                a,
                Action::WiderWindow | Action::NarrowerWindow | Action::Left | Action::Right
            ),
        }
    }
}

impl App {
    pub(crate) fn rhythm_action(&mut self, a: Action) {
        let RhythmKey::Chart { span } = self.panes.rhythm.on_action(a) else {
            return;
        };
        self.refresh_marker_effect();
        if span {
            self.refresh_resonance();
            self.request_backfill();
        }
    }

    /// The marker the pane shows: the selected one, else the newest.
    pub fn selected_marker(&self) -> Option<usize> {
        let n = self.panes.rhythm.rules.len();
        let last = n.checked_sub(1)?;
        Some(self.panes.rhythm.marker_sel.unwrap_or(last).min(last))
    }

    /// Housekeeping from `tick`: the marker's Δ when its inputs changed; once a second
    /// the resonance panel and, if the window grew, a Prometheus backfill request.
    pub(crate) fn rhythm_tick(&mut self, new_second: bool) {
        self.refresh_marker_effect();
        // The run loop also moves `now` before each frame, so `new_second` alone can
        // miss seconds: compare with the second the panel was computed at.
        let second = self.shell.now.timestamp();
        if new_second
            || self
                .panes
                .rhythm
                .resonance
                .as_ref()
                .is_none_or(|r| r.at != second)
        {
            self.refresh_resonance();
            self.request_backfill();
        }
    }

    /// Recompute the selected marker's effect Δ if the selection, the markers or the
    /// points changed since it was computed. Only the minute around the marker is read.
    pub(crate) fn refresh_marker_effect(&mut self) {
        let Some(i) = self.selected_marker() else {
            self.panes.rhythm.effect = None;
            return;
        };
        let r = &self.panes.rhythm;
        if r.effect.is_some_and(|e| {
            e.marker == i && e.rules == r.rules.len() && e.generation == r.generation
        }) {
            return;
        }
        let Some(rule) = r.rules.get(i) else {
            return;
        };
        let t = rule.ts.timestamp_millis() as f64 / 1000.0;
        let from = r
            .points
            .partition_point(|p| p.t < t - rhythm_math::WINDOW_S);
        let effect = rhythm_math::effect(
            r.points
                .range(from..)
                .take_while(|p| p.t <= t + rhythm_math::WINDOW_S),
            t,
        );
        self.panes.rhythm.effect = Some(MarkerEffect {
            marker: i,
            rules: r.rules.len(),
            generation: r.generation,
            effect,
        });
    }

    /// The visible window `[start, end]` of the chart, Unix seconds.
    pub fn rhythm_window(&self) -> (f64, f64) {
        let w = WINDOWS
            .get(self.panes.rhythm.window)
            .copied()
            .unwrap_or(300) as f64;
        let end = self.shell.now.timestamp_millis() as f64 / 1000.0 - self.panes.rhythm.pan as f64;
        (end - w, end)
    }

    /// Failure-class histogram (in [`FAILURE_CLASSES`] order) of the ledger entries
    /// seen with a timestamp in `[start, end]`.
    pub fn failure_histogram(&self, start: f64, end: f64) -> Vec<u64> {
        let mut counts = vec![0u64; FAILURE_CLASSES.len()];
        let from = self
            .panes
            .rhythm
            .failures
            .partition_point(|(t, _)| *t < start);
        for (_, c) in self
            .panes
            .rhythm
            .failures
            .range(from..)
            .take_while(|(t, _)| *t <= end)
        {
            if let Some(n) = counts.get_mut(*c) {
                *n += 1;
            }
        }
        counts
    }

    /// Recompute the resonance panel over the visible window (raw points up to 15 min,
    /// the 10 s means for wider windows, as the chart draws them).
    pub(crate) fn refresh_resonance(&mut self) {
        let (start, end) = self.rhythm_window();
        let r = &self.panes.rhythm;
        let pts: Vec<GaugePoint> = if end - start >= 3_600.0 {
            let from = r.coarse.partition_point(|(p, _)| p.t < start);
            r.coarse
                .range(from..)
                .map(|(p, _)| *p)
                .take_while(|p| p.t <= end)
                .collect()
        } else {
            let from = r.points.partition_point(|p| p.t < start);
            r.points
                .range(from..)
                .copied()
                .take_while(|p| p.t <= end)
                .collect()
        };
        let frac = |ok: u64, bad: u64| {
            if ok + bad == 0 {
                1.0
            } else {
                ok as f64 / (ok + bad) as f64
            }
        };
        let (safety_in, unverified) = match &self.panes.ledger.integrity {
            Some((_, i)) if i.error.is_none() => (
                (
                    frac(i.chain_ok, i.chain_broken),
                    frac(i.sig_ok, i.sig_bad),
                    frac(i.checkpoints_ok, i.checkpoints_bad),
                ),
                false,
            ),
            _ => ((0.0, 0.0, 0.0), true),
        };
        // The last real custody event (seal audit, initial ceremony) when the HQ keeps
        // custody records; only without any does the newest rehearsal stand in.
        let custody_event = self
            .data
            .hq
            .as_ref()
            .and_then(|h| h.custody.as_ref())
            .and_then(|c| c.last_real_event());
        let custody_record = custody_event.is_some();
        let days = custody_event
            .or(self.panes.rhythm.last_rehearsal)
            .map(|t| (self.shell.now - t).num_seconds() as f64 / 86_400.0);
        let failure_counts = self.failure_histogram(start, end);
        let inputs = ResonanceInputs {
            start,
            end,
            failure_counts: failure_counts.clone(),
            safety: SafetyInputs {
                chain_ok: safety_in.0,
                sig_ok: safety_in.1,
                checkpoint_ok: safety_in.2,
                days_since_rehearsal: days,
            },
        };
        let field = self
            .data
            .hq
            .as_ref()
            .and_then(|h| h.observer.clone())
            .unwrap_or_default();
        let resonance = rhythm_math::resonance(&pts, &inputs, &field);
        self.panes.rhythm.resonance = Some(ResonanceView {
            at: self.shell.now.timestamp(),
            resonance,
            failure_counts,
            days_since_rehearsal: days,
            custody_record,
            unverified,
        });
    }

    /// Ask for a Prometheus backfill when the visible span reaches past what was
    /// asked for before (at start, and when the window widens or pans back).
    pub(crate) fn request_backfill(&mut self) {
        if !self.panes.rhythm.backfill {
            return;
        }
        let w = WINDOWS
            .get(self.panes.rhythm.window)
            .copied()
            .unwrap_or(300);
        let span = (w + self.panes.rhythm.pan).clamp(1, HISTORY_SECS as i64);
        if span <= self.panes.rhythm.prom_requested {
            return;
        }
        // The chart spans the terminal when zoomed, about half of it when tiled; a
        // step a little finer than a column costs nothing visible.
        let width = self.shell.size.0.saturating_sub(8).max(40);
        self.commands.push(Command::Backfill(BackfillRequest {
            window: std::time::Duration::from_secs(span.unsigned_abs()),
            width,
        }));
        self.panes.rhythm.prom_requested = span;
    }

    /// Ledger records as they are ingested: failure classes and the newest ceremony
    /// rehearsal, for the resonance panel's entropy and safety.
    pub(crate) fn rhythm_note_ledger(&mut self, records: &[LedgerRecord]) {
        let r = &mut self.panes.rhythm;
        if r.ledger_resets != self.panes.ledger.resets {
            r.ledger_resets = self.panes.ledger.resets;
            r.failures.clear();
            r.last_rehearsal = None;
        }
        let mut added = false;
        for e in records.iter().filter_map(|rec| rec.parsed.as_ref().ok()) {
            let ts = e.timestamp.with_timezone(&Utc);
            if e.event == "ceremony_rehearsal" && r.last_rehearsal.is_none_or(|l| ts > l) {
                r.last_rehearsal = Some(ts);
            }
            if EventClass::of(&e.event, e.status.as_deref()) == Some(EventClass::Failure) {
                let class = FAILURE_CLASSES
                    .iter()
                    .position(|c| *c == e.event)
                    .unwrap_or(FAILURE_CLASSES.len() - 1);
                r.failures
                    .push_back((ts.timestamp_millis() as f64 / 1000.0, class));
                added = true;
            }
        }
        if added {
            // Usually already in order (the ledger is appended in time order).
            r.failures
                .make_contiguous()
                .sort_by(|a, b| a.0.total_cmp(&b.0));
            let newest = r.failures.back().map_or(0.0, |f| f.0);
            while r
                .failures
                .front()
                .is_some_and(|f| newest - f.0 > HISTORY_SECS)
                || r.failures.len() > MAX_FAILURES
            {
                r.failures.pop_front();
            }
        }
    }

    /// A Prometheus backfill arrived: merge it into the history.
    pub(crate) fn on_prom_backfill(
        &mut self,
        points: Vec<GaugePoint>,
        bad: usize,
        at: DateTime<Utc>,
        window: std::time::Duration,
        step: std::time::Duration,
    ) {
        let rows = points.len();
        let now = self.shell.now.max(at).timestamp_millis() as f64 / 1000.0;
        self.panes.rhythm.push_history(points, now);
        self.panes.rhythm.prom_last = Some(PromBackfill {
            at,
            rows,
            bad,
            window,
            step,
        });
        let st = self
            .data
            .sources
            .entry(SourceId::PrometheusHistory)
            .or_default();
        st.last_ok = Some(at);
        st.missing = false;
        self.refresh_marker_effect();
        self.refresh_resonance();
    }
}

/// A gauge value for display: `NaN`, `+Inf`, `-Inf`, or two decimals with `!` when
/// outside [0, 1].
pub fn fmt_value(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if !(0.0..=1.0).contains(&x) {
        format!("{x:.2}!")
    } else {
        format!("{x:.2}")
    }
}
