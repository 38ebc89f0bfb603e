//! Rhythm maths over a day of 5 Hz gauges (432,000 points): the effect Δ of one rule
//! change and the resonance coordinates of the whole window.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use lumen::domain::hq::ObserverField;
use lumen::domain::rhythm::GaugePoint;
use lumen::domain::rhythm_math::{ResonanceInputs, SafetyInputs, effect, resonance};

fn day() -> Vec<GaugePoint> {
    (0..432_000u32)
        .map(|i| {
            let t = f64::from(i) * 0.2;
            let s = (t / 37.0).sin();
            GaugePoint {
                t,
                values: [
                    0.4 + 0.1 * s,
                    0.2 + 0.05 * s,
                    0.3 - 0.05 * s,
                    0.25 + 0.02 * s,
                ],
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let pts = day();
    c.bench_function("effect_432k", |b| {
        b.iter(|| effect(black_box(&pts), 43_200.0))
    });
    let inputs = ResonanceInputs {
        start: 0.0,
        end: 86_400.0,
        failure_counts: vec![3, 1, 0, 2],
        safety: SafetyInputs {
            chain_ok: 1.0,
            sig_ok: 1.0,
            checkpoint_ok: 1.0,
            days_since_rehearsal: Some(12.0),
        },
    };
    let field = ObserverField::default();
    c.bench_function("resonance_432k", |b| {
        b.iter(|| resonance(black_box(&pts), &inputs, &field))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
