//! Rhythm data for the seed's longer window and its phase (docs/rhythm.md "Phase as
//! the seed defines it" and "Seven days of history"). Pure.
//!
//! The seed's `resonance_mapper.py` defines phase as `latency_p95_ms / 1000 +
//! fail_rate`, which is unbounded — so its `phase_crit: 1.2` can fire (p95 of a
//! second and 20 % failures) — unlike the exporter's `phase_diff` gauge (0–1).

use crate::domain::rhythm::GaugePoint;

/// Bucket width of the 7-day window: 10-minute means, 1008 points a week.
pub const W7D_BUCKET_S: f64 = 600.0;
/// The most buckets one call returns, whatever the span (bounded memory per call).
pub const MAX_BUCKETS: usize = 10_000;

/// The seed's phase: p95 latency in seconds plus the failure rate; `None` when an
/// input is not a finite, non-negative number (or the rate is above 1).
pub fn seed_phase(latency_p95_ms: f64, fail_rate: f64) -> Option<f64> {
    let ok = latency_p95_ms.is_finite()
        && latency_p95_ms >= 0.0
        && fail_rate.is_finite()
        && (0.0..=1.0).contains(&fail_rate);
    ok.then(|| latency_p95_ms / 1000.0 + fail_rate)
}

/// The 95th percentile (nearest rank) of the finite values; `None` when there are none.
pub fn p95(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v.get(rank - 1).copied()
}

/// The seed's phase over health probes: latencies (ms) of the successful ones, and
/// the failure rate `failed / total`.
pub fn phase_from_probes(latencies_ms: &[f64], failed: u64, total: u64) -> Option<f64> {
    if total == 0 {
        return None;
    }
    let rate = failed.min(total) as f64 / total as f64;
    seed_phase(p95(latencies_ms).unwrap_or(0.0), rate)
}

/// Means of `points` in buckets of `bucket_s` seconds over `[start, end)`, one point
/// per non-empty bucket at its start time, in time order. At most [`MAX_BUCKETS`]
/// buckets (the width grows when the span would need more); non-finite values are
/// left out of their gauge's mean (a bucket with none gives NaN for that gauge).
pub fn bucket_means(points: &[GaugePoint], start: f64, end: f64, bucket_s: f64) -> Vec<GaugePoint> {
    if !(start.is_finite() && end.is_finite() && end > start && bucket_s.is_finite()) {
        return Vec::new();
    }
    let span = end - start;
    let width = bucket_s.max(span / MAX_BUCKETS as f64).max(1e-3);
    let n = ((span / width).ceil() as usize).clamp(1, MAX_BUCKETS);
    let mut sums = vec![([0.0f64; 4], [0u32; 4], false); n];
    for p in points.iter().filter(|p| p.t >= start && p.t < end) {
        let i = (((p.t - start) / width) as usize).min(n - 1);
        if let Some((s, c, seen)) = sums.get_mut(i) {
            *seen = true;
            for g in 0..4 {
                if p.values[g].is_finite() {
                    s[g] += p.values[g];
                    c[g] += 1;
                }
            }
        }
    }
    sums.into_iter()
        .enumerate()
        .filter(|(_, (_, _, seen))| *seen)
        .map(|(i, (s, c, _))| {
            let mut values = [f64::NAN; 4];
            for g in 0..4 {
                if c[g] > 0 {
                    values[g] = s[g] / f64::from(c[g]);
                }
            }
            GaugePoint {
                t: start + i as f64 * width,
                values,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_phase_can_reach_phase_crit() {
        // The seed's collector example: p95 85 ms, 0.2 % failures.
        assert!((seed_phase(85.0, 0.002).unwrap() - 0.087).abs() < 1e-12);
        // A second of p95 and 20 % failures reaches 1.2.
        assert!(seed_phase(1000.0, 0.2).unwrap() >= 1.2);
        assert_eq!(seed_phase(f64::NAN, 0.0), None);
        assert_eq!(seed_phase(10.0, 1.5), None);
        let lat: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(p95(&lat), Some(95.0));
        assert!((phase_from_probes(&lat, 5, 100).unwrap() - (0.095 + 0.05)).abs() < 1e-12);
        assert_eq!(phase_from_probes(&[], 0, 0), None);
    }

    #[test]
    fn a_week_of_points_is_1008_ten_minute_means() {
        let week = 7.0 * 86_400.0;
        let pts: Vec<GaugePoint> = (0..(7 * 86_400 / 60))
            .map(|i| GaugePoint {
                t: f64::from(i) * 60.0,
                values: [0.5, 0.2, f64::NAN, 0.1],
            })
            .collect();
        let b = bucket_means(&pts, 0.0, week, W7D_BUCKET_S);
        assert_eq!(b.len(), 1008);
        assert_eq!(b[1].t, 600.0);
        assert!((b[0].values[0] - 0.5).abs() < 1e-12);
        assert!(b[0].values[2].is_nan());
        // A huge span is capped.
        assert!(bucket_means(&pts, 0.0, 1e12, 1.0).len() <= MAX_BUCKETS);
        assert!(bucket_means(&pts, 5.0, 5.0, 600.0).is_empty());
    }
}
