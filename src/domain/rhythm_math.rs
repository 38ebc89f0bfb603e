//! Rhythm maths (issue 6): the effect Δ of a rule change and the resonance coordinates
//! over a window. Pure functions over [`GaugePoint`]s and plain numbers; every formula
//! is written out with a worked example in `docs/rhythm.md`.
//!
//! Gauge indexes follow [`GAUGES`]: 0 phase_diff, 1 entropy_rate, 2 creative_band,
//! 3 risk_band. Non-finite values (NaN, ±Inf) are never averaged: they are skipped and
//! do not count as samples.

use serde::Serialize;

use crate::domain::hq::ObserverField;
use crate::domain::rhythm::{GAUGES, GaugePoint};

/// Seconds on each side of a rule change that are excluded (1 s around the event).
pub const EXCLUDE_S: f64 = 0.5;
/// Length of each averaging window, in seconds.
pub const WINDOW_S: f64 = 30.0;
/// Fewer finite samples than this on either side: "insufficient data".
pub const MIN_SAMPLES: usize = 50;
/// |Δ| a good change must exceed on phase, risk and creative.
pub const GOOD_EPS: f64 = 0.01;
/// Δ a risk signal must exceed on phase and entropy.
pub const RISK_EPS: f64 = 0.03;
/// Days after which a ceremony rehearsal no longer counts (custody score 0).
pub const CUSTODY_DAYS: f64 = 180.0;
/// Minutes in the continuity decay `exp(−gap/120)`.
pub const CONTINUITY_TAU_MIN: f64 = 120.0;

const PHASE: usize = 0;
const ENTROPY: usize = 1;
const CREATIVE: usize = 2;
const RISK: usize = 3;

/// Effect of one gauge.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum GaugeDelta {
    /// mean(after) − mean(before).
    Delta(f64),
    /// Fewer than [`MIN_SAMPLES`] finite samples on a side.
    Insufficient { before: usize, after: usize },
}

impl GaugeDelta {
    pub fn value(self) -> Option<f64> {
        match self {
            GaugeDelta::Delta(d) => Some(d),
            GaugeDelta::Insufficient { .. } => None,
        }
    }
}

/// How the observer reads a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    /// phase ↓, risk ↓ and creative ↑, each by more than 0.01.
    Good,
    /// phase ↑ and entropy ↑, each by more than 0.03.
    RiskSignal,
    /// Neither.
    Neutral,
    /// A gauge the classification needs has insufficient data.
    InsufficientData,
}

impl ChangeClass {
    pub fn label(self) -> &'static str {
        match self {
            ChangeClass::Good => "good change",
            ChangeClass::RiskSignal => "risk signal",
            ChangeClass::Neutral => "neutral",
            ChangeClass::InsufficientData => "insufficient data",
        }
    }
}

/// The effect Δ of a rule change at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Effect {
    /// Per gauge, in [`GAUGES`] order.
    pub deltas: [GaugeDelta; 4],
    pub class: ChangeClass,
}

/// Effect Δ per gauge of a change at `t` (Unix seconds): the mean over
/// `(t+0.5, t+30]` minus the mean over `[t−30, t−0.5)`. `points` may be in any order.
pub fn effect<'a>(points: impl IntoIterator<Item = &'a GaugePoint>, t: f64) -> Effect {
    let mut sum = [[0.0f64; 4]; 2];
    let mut n = [[0usize; 4]; 2];
    for p in points {
        let side = if p.t >= t - WINDOW_S && p.t < t - EXCLUDE_S {
            0
        } else if p.t > t + EXCLUDE_S && p.t <= t + WINDOW_S {
            1
        } else {
            continue;
        };
        for (g, v) in p.values.iter().enumerate() {
            if v.is_finite() {
                sum[side][g] += v;
                n[side][g] += 1;
            }
        }
    }
    let deltas = std::array::from_fn(|g| {
        let (b, a) = (n[0][g], n[1][g]);
        if b < MIN_SAMPLES || a < MIN_SAMPLES {
            GaugeDelta::Insufficient {
                before: b,
                after: a,
            }
        } else {
            GaugeDelta::Delta(sum[1][g] / a as f64 - sum[0][g] / b as f64)
        }
    });
    Effect {
        deltas,
        class: classify(&deltas),
    }
}

/// Classify per-gauge deltas the way the observer does.
pub fn classify(deltas: &[GaugeDelta; 4]) -> ChangeClass {
    let d = |g: usize| deltas[g].value();
    if let (Some(p), Some(r), Some(c)) = (d(PHASE), d(RISK), d(CREATIVE))
        && p < -GOOD_EPS
        && r < -GOOD_EPS
        && c > GOOD_EPS
    {
        return ChangeClass::Good;
    }
    if let (Some(p), Some(e)) = (d(PHASE), d(ENTROPY))
        && p > RISK_EPS
        && e > RISK_EPS
    {
        return ChangeClass::RiskSignal;
    }
    if deltas.iter().any(|x| x.value().is_none()) {
        ChangeClass::InsufficientData
    } else {
        ChangeClass::Neutral
    }
}

/// Symmetry of one series: `1 − min(1, σ(Δ) / range)`, where Δ are the differences of
/// consecutive finite values, σ their population standard deviation and `range` the
/// series' max − min. `None` with fewer than 3 finite values; 1 for a constant series.
pub fn series_symmetry(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    let mut prev: Option<f64> = None;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    // Welford's running mean/variance of the deltas: one pass, no buffer.
    let (mut k, mut mean, mut m2) = (0u64, 0.0f64, 0.0f64);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
        if let Some(p) = prev {
            let d = v - p;
            k += 1;
            let delta = d - mean;
            mean += delta / k as f64;
            m2 += delta * (d - mean);
        }
        prev = Some(v);
    }
    if k < 2 {
        return None;
    }
    let range = hi - lo;
    if range <= 0.0 {
        return Some(1.0);
    }
    let sigma = (m2 / k as f64).max(0.0).sqrt();
    Some(1.0 - (sigma / range).min(1.0))
}

/// Symmetry over the four gauges: the mean of [`series_symmetry`] of each gauge that
/// has one. `None` when none has.
pub fn symmetry(points: &[GaugePoint]) -> Option<f64> {
    let each: Vec<f64> = (0..GAUGES.len())
        .filter_map(|g| series_symmetry(points.iter().map(|p| p.values[g])))
        .collect();
    if each.is_empty() {
        None
    } else {
        Some(each.iter().sum::<f64>() / each.len() as f64)
    }
}

/// The largest gap in minutes within `[start, end]`: between consecutive sample times,
/// and from `start` to the first sample and the last sample to `end` (a source that
/// stopped is a gap too). No samples: the whole window. `times` may be unsorted.
pub fn largest_gap_minutes(times: impl IntoIterator<Item = f64>, start: f64, end: f64) -> f64 {
    let mut ts: Vec<f64> = times
        .into_iter()
        .filter(|t| t.is_finite() && *t >= start && *t <= end)
        .collect();
    ts.sort_by(f64::total_cmp);
    let mut gap: f64 = 0.0;
    let mut prev = start;
    for t in ts {
        gap = gap.max(t - prev);
        prev = t;
    }
    gap = gap.max(end - prev);
    (gap / 60.0).max(0.0)
}

/// `exp(−gap_minutes / 120)`.
pub fn continuity(gap_minutes: f64) -> f64 {
    (-gap_minutes.max(0.0) / CONTINUITY_TAU_MIN).exp()
}

/// Normalized Shannon entropy of a histogram: `−Σ pᵢ ln pᵢ / ln K` over the K classes
/// given (zero counts included, they add nothing to the sum but count in K). 0 for an
/// empty histogram or K ≤ 1.
pub fn normalized_entropy(counts: &[u64]) -> f64 {
    let total: u64 = counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
    if total == 0 || counts.len() <= 1 {
        return 0.0;
    }
    let h: f64 = counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / total as f64;
            -p * p.ln()
        })
        .sum();
    let e = h / (counts.len() as f64).ln();
    // A single class gives h = −1·ln 1 = −0.0: report it as 0, not "-0.00".
    if e > 0.0 { e.min(1.0) } else { 0.0 }
}

/// `1 − days / 180`, floor 0 (ceiling 1); never rehearsed (`None`) → 0.
pub fn custody_score(days_since_rehearsal: Option<f64>) -> f64 {
    match days_since_rehearsal {
        Some(d) if d.is_finite() => (1.0 - d.max(0.0) / CUSTODY_DAYS).clamp(0.0, 1.0),
        _ => 0.0,
    }
}

/// Integrity inputs of the safety channel, each in [0, 1] (the fraction that checked
/// out: 1 = all good; a NaN counts as 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SafetyInputs {
    pub chain_ok: f64,
    pub sig_ok: f64,
    pub checkpoint_ok: f64,
    pub days_since_rehearsal: Option<f64>,
}

fn unit(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// `min(chain_ok, sig_ok, checkpoint_ok) × custody_score`.
pub fn safety(s: &SafetyInputs) -> f64 {
    unit(s.chain_ok)
        .min(unit(s.sig_ok))
        .min(unit(s.checkpoint_ok))
        * custody_score(s.days_since_rehearsal)
}

/// ok / warn / crit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Crit,
}

/// The resonance panel.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Resonance {
    /// `None`: fewer than 3 finite samples of every gauge in the window.
    pub symmetry: Option<f64>,
    pub continuity: f64,
    /// Largest gap (minutes) behind `continuity`.
    pub gap_minutes: f64,
    pub entropy: f64,
    pub safety: f64,
    pub coherence: f64,
    /// The newest finite phase_diff in the window.
    pub phase: Option<f64>,
    pub status: Status,
}

/// Inputs other than the gauge points.
#[derive(Debug, Clone, PartialEq)]
pub struct ResonanceInputs {
    /// Window `[start, end]`, Unix seconds.
    pub start: f64,
    pub end: f64,
    /// Failure-class histogram of the ledger entries in the window (one count per
    /// class, zero counts included).
    pub failure_counts: Vec<u64>,
    pub safety: SafetyInputs,
}

/// The weight of channel `name` (`symmetry`, `continuity`, `entropy`, `safety`):
/// the observer field's value, 1 when missing, negative or not finite.
fn weight(field: &ObserverField, name: &str) -> f64 {
    field
        .weights
        .get(name)
        .copied()
        .filter(|w| w.is_finite() && *w >= 0.0)
        .unwrap_or(1.0)
}

/// Resonance over `points` restricted to `[inputs.start, inputs.end]`:
/// coherence = weighted mean of symmetry, continuity, 1 − entropy, safety (weights from
/// `observer_field.yaml`, equal when absent; a missing symmetry is left out); status:
/// crit when phase ≥ `phase_crit`; warn when phase ≥ `phase_warn`, coherence <
/// `coherence_ok`, or there is no phase; else ok.
pub fn resonance(
    points: &[GaugePoint],
    inputs: &ResonanceInputs,
    field: &ObserverField,
) -> Resonance {
    let in_window: Vec<GaugePoint> = points
        .iter()
        .filter(|p| p.t >= inputs.start && p.t <= inputs.end)
        .copied()
        .collect();
    let sym = symmetry(&in_window);
    let gap = largest_gap_minutes(in_window.iter().map(|p| p.t), inputs.start, inputs.end);
    let cont = continuity(gap);
    let ent = normalized_entropy(&inputs.failure_counts);
    let safe = safety(&inputs.safety);
    let mut channels = vec![
        (weight(field, "continuity"), cont),
        (weight(field, "entropy"), 1.0 - ent),
        (weight(field, "safety"), safe),
    ];
    if let Some(s) = sym {
        channels.push((weight(field, "symmetry"), s));
    }
    let wsum: f64 = channels.iter().map(|(w, _)| w).sum();
    let coherence = if wsum > 0.0 {
        channels.iter().map(|(w, v)| w * v).sum::<f64>() / wsum
    } else {
        channels.iter().map(|(_, v)| v).sum::<f64>() / channels.len() as f64
    };
    let mut by_time = in_window
        .iter()
        .filter(|p| p.values[PHASE].is_finite())
        .collect::<Vec<_>>();
    by_time.sort_by(|a, b| a.t.total_cmp(&b.t));
    let phase = by_time.last().map(|p| p.values[PHASE]);
    let status = match phase {
        Some(p) if p >= field.phase_crit => Status::Crit,
        Some(p) if p >= field.phase_warn || coherence < field.coherence_ok => Status::Warn,
        None => Status::Warn,
        Some(_) => Status::Ok,
    };
    Resonance {
        symmetry: sym,
        continuity: cont,
        gap_minutes: gap,
        entropy: ent,
        safety: safe,
        coherence,
        phase,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(t: f64, v: [f64; 4]) -> GaugePoint {
        GaugePoint { t, values: v }
    }

    /// 5 Hz samples over [from, to) with constant values.
    fn flat(from: f64, to: f64, v: [f64; 4]) -> Vec<GaugePoint> {
        let mut out = Vec::new();
        let mut i = 0;
        loop {
            let t = from + f64::from(i) * 0.2;
            if t >= to {
                break;
            }
            out.push(pt(t, v));
            i += 1;
        }
        out
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn effect_of_a_good_change() {
        let t = 1000.0;
        let mut pts = flat(t - 30.0, t - 0.5, [0.50, 0.20, 0.20, 0.40]);
        pts.extend(flat(t + 0.6, t + 30.0, [0.40, 0.20, 0.25, 0.30]));
        let e = effect(&pts, t);
        let d: Vec<f64> = e.deltas.iter().map(|d| d.value().unwrap()).collect();
        assert!(
            close(d[0], -0.10) && close(d[1], 0.0) && close(d[2], 0.05) && close(d[3], -0.10),
            "{d:?}"
        );
        assert_eq!(e.class, ChangeClass::Good);
    }

    #[test]
    fn samples_inside_the_excluded_second_do_not_count() {
        let t = 1000.0;
        let mut pts = flat(t - 30.0, t - 0.5, [0.5; 4]);
        pts.extend(flat(t + 0.6, t + 30.0, [0.5; 4]));
        // huge values within ±0.5 s and outside ±30 s must be ignored
        for x in [t - 0.5, t - 0.2, t, t + 0.3, t + 0.5, t - 30.2, t + 30.1] {
            pts.push(pt(x, [9.0; 4]));
        }
        // NaN ignored too
        pts.push(pt(t + 1.01, [f64::NAN; 4]));
        let e = effect(&pts, t);
        for d in e.deltas {
            assert!(close(d.value().unwrap(), 0.0), "{d:?}");
        }
        assert_eq!(e.class, ChangeClass::Neutral);
    }

    #[test]
    fn window_edges_are_half_open_the_documented_way() {
        // before = [t−30, t−0.5): t−30 counts, t−0.5 not; after = (t+0.5, t+30]: t+30 counts.
        let t = 0.0;
        let mut pts = flat(-29.8, -0.5, [0.0; 4]); // 147 samples
        pts.push(pt(-30.0, [1.0; 4]));
        pts.extend(flat(0.6, 30.0, [0.0; 4]));
        pts.push(pt(30.0, [1.0; 4]));
        let e = effect(&pts, t);
        let n_before = pts.iter().filter(|p| p.t >= -30.0 && p.t < -0.5).count() as f64;
        let n_after = pts.iter().filter(|p| p.t > 0.5 && p.t <= 30.0).count() as f64;
        let want = 1.0 / n_after - 1.0 / n_before;
        assert!(close(e.deltas[0].value().unwrap(), want));
    }

    #[test]
    fn insufficient_data_under_50_samples_a_side() {
        let t = 100.0;
        // 49 samples before (0.2 s apart ending before t−0.5), plenty after
        let mut pts: Vec<GaugePoint> = (0..49)
            .map(|i| pt(t - 1.0 - f64::from(i) * 0.2, [0.5; 4]))
            .collect();
        pts.extend(flat(t + 1.0, t + 30.0, [0.9; 4]));
        let e = effect(&pts, t);
        assert!(
            matches!(e.deltas[0], GaugeDelta::Insufficient { before: 49, after } if after > 100),
            "{:?}",
            e.deltas[0]
        );
        assert_eq!(e.class, ChangeClass::InsufficientData);
        pts.push(pt(t - 20.0, [0.5; 4]));
        // 50 a side now: phase and entropy both rose by 0.4
        assert_eq!(effect(&pts, t).class, ChangeClass::RiskSignal);
    }

    #[test]
    fn risk_signal_and_thresholds_are_strict() {
        let mk = |p: f64, e: f64, c: f64, r: f64| {
            [
                GaugeDelta::Delta(p),
                GaugeDelta::Delta(e),
                GaugeDelta::Delta(c),
                GaugeDelta::Delta(r),
            ]
        };
        assert_eq!(classify(&mk(0.04, 0.05, 0.0, 0.0)), ChangeClass::RiskSignal);
        assert_eq!(classify(&mk(0.03, 0.05, 0.0, 0.0)), ChangeClass::Neutral);
        assert_eq!(classify(&mk(-0.02, 0.0, 0.02, -0.02)), ChangeClass::Good);
        assert_eq!(classify(&mk(-0.02, 0.0, 0.01, -0.02)), ChangeClass::Neutral);
        // risk classification needs only phase and entropy
        let mut d = mk(0.1, 0.1, 0.0, 0.0);
        d[2] = GaugeDelta::Insufficient {
            before: 0,
            after: 0,
        };
        assert_eq!(classify(&d), ChangeClass::RiskSignal);
    }

    #[test]
    fn symmetry_hand_computed() {
        // 0, 1, 0, 1, 0: deltas +1 −1 +1 −1, mean 0, σ 1, range 1 → symmetry 0
        assert!(close(
            series_symmetry([0.0, 1.0, 0.0, 1.0, 0.0]).unwrap(),
            0.0
        ));
        // linear ramp: deltas all equal, σ 0 → 1
        assert!(close(series_symmetry([0.1, 0.2, 0.3, 0.4]).unwrap(), 1.0));
        // 0, 0.2, 0.6, 0.8: deltas 0.2 0.4 0.2, mean 0.2667, σ = sqrt(((−1/15)²·2 + (2/15)²)/3)
        let sigma = ((2.0 * (1.0f64 / 15.0).powi(2) + (2.0f64 / 15.0).powi(2)) / 3.0).sqrt();
        assert!(close(
            series_symmetry([0.0, 0.2, 0.6, 0.8]).unwrap(),
            1.0 - sigma / 0.8
        ));
        assert_eq!(series_symmetry([0.5, 0.5, 0.5]), Some(1.0));
        assert_eq!(series_symmetry([0.5, f64::NAN, 0.5]), None);
    }

    #[test]
    fn continuity_and_gaps() {
        assert!(close(continuity(0.0), 1.0));
        assert!(close(continuity(120.0), (-1.0f64).exp()));
        // samples at 0, 60, 600 s in [0, 660]: largest gap 540 s = 9 min
        assert!(close(
            largest_gap_minutes([600.0, 0.0, 60.0], 0.0, 660.0),
            9.0
        ));
        // trailing gap counts: last sample at 60 of [0, 3600] → 59 min
        assert!(close(largest_gap_minutes([0.0, 60.0], 0.0, 3600.0), 59.0));
        assert!(close(largest_gap_minutes([], 0.0, 600.0), 10.0));
    }

    #[test]
    fn entropy_hand_computed() {
        assert_eq!(normalized_entropy(&[]), 0.0);
        assert_eq!(normalized_entropy(&[0, 0, 0]), 0.0);
        assert_eq!(normalized_entropy(&[5, 0, 0]), 0.0);
        assert!(normalized_entropy(&[5, 0, 0]).is_sign_positive());
        assert!(close(normalized_entropy(&[3, 3]), 1.0));
        assert!(close(normalized_entropy(&[1, 1, 1, 1]), 1.0));
        // [2, 1, 1]: H = −(½ ln ½ + 2·¼ ln ¼) = 1.5 ln 2; ÷ ln 3
        assert!(close(
            normalized_entropy(&[2, 1, 1]),
            1.5 * 2f64.ln() / 3f64.ln()
        ));
    }

    #[test]
    fn safety_and_custody() {
        assert!(close(custody_score(Some(45.0)), 0.75));
        assert_eq!(custody_score(Some(400.0)), 0.0);
        assert_eq!(custody_score(None), 0.0);
        assert_eq!(custody_score(Some(-3.0)), 1.0);
        let s = SafetyInputs {
            chain_ok: 1.0,
            sig_ok: 0.9,
            checkpoint_ok: 1.0,
            days_since_rehearsal: Some(18.0),
        };
        assert!(close(safety(&s), 0.9 * 0.9));
        assert_eq!(
            safety(&SafetyInputs {
                chain_ok: f64::NAN,
                ..s
            }),
            0.0
        );
    }

    fn field() -> ObserverField {
        let mut f = ObserverField::default();
        for (k, w) in [
            ("symmetry", 0.30),
            ("continuity", 0.20),
            ("entropy", 0.25),
            ("safety", 0.25),
        ] {
            f.weights.insert(k.into(), w);
        }
        f
    }

    #[test]
    fn resonance_worked_example() {
        // The example of docs/rhythm.md: a ramp 0.1..0.5 on every gauge (symmetry 1),
        // samples every 60 s over 10 min (gap 1 min), failures [2, 1, 1],
        // safety: all ok, rehearsal 18 days ago (0.9).
        let pts: Vec<GaugePoint> = (0..=10)
            .map(|i| {
                let v = 0.1 + 0.04 * f64::from(i);
                pt(f64::from(i) * 60.0, [v; 4])
            })
            .collect();
        let inputs = ResonanceInputs {
            start: 0.0,
            end: 600.0,
            failure_counts: vec![2, 1, 1],
            safety: SafetyInputs {
                chain_ok: 1.0,
                sig_ok: 1.0,
                checkpoint_ok: 1.0,
                days_since_rehearsal: Some(18.0),
            },
        };
        let r = resonance(&pts, &inputs, &field());
        assert!(close(r.symmetry.unwrap(), 1.0));
        assert!(close(r.gap_minutes, 1.0));
        let cont = (-1.0f64 / 120.0).exp();
        assert!(close(r.continuity, cont));
        let ent = 1.5 * 2f64.ln() / 3f64.ln();
        assert!(close(r.entropy, ent));
        assert!(close(r.safety, 0.9));
        let want = (0.30 * 1.0 + 0.20 * cont + 0.25 * (1.0 - ent) + 0.25 * 0.9) / 1.0;
        assert!(close(r.coherence, want), "{} vs {want}", r.coherence);
        assert!(close(r.phase.unwrap(), 0.5));
        // coherence ≈ 0.77 < 0.85 → warn
        assert_eq!(r.status, Status::Warn);
    }

    #[test]
    fn status_thresholds() {
        let inputs = ResonanceInputs {
            start: 0.0,
            end: 10.0,
            failure_counts: vec![0, 0],
            safety: SafetyInputs {
                chain_ok: 1.0,
                sig_ok: 1.0,
                checkpoint_ok: 1.0,
                days_since_rehearsal: Some(0.0),
            },
        };
        let series = |phase: f64| -> Vec<GaugePoint> {
            (0..=50)
                .map(|i| pt(f64::from(i) * 0.2, [phase, 0.2, 0.3, 0.2]))
                .collect()
        };
        let f = ObserverField::default();
        assert_eq!(resonance(&series(0.3), &inputs, &f).status, Status::Ok);
        assert_eq!(resonance(&series(0.7), &inputs, &f).status, Status::Warn);
        assert_eq!(resonance(&series(1.2), &inputs, &f).status, Status::Crit);
        let r = resonance(&[], &inputs, &f);
        assert_eq!((r.status, r.phase, r.symmetry), (Status::Warn, None, None));
        assert!(close(r.continuity, (-10.0f64 / 60.0 / 120.0).exp()));
    }
}
