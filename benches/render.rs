//! A full five-pane frame on the test backend (docs/PERF.md: under 2 ms), at 160×48 and
//! 80×24, with a day of gauge history, a full ledger window and 12 branches.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

use lumen::app::Event;
use lumen::protocol::Msg;

fn bench_render(c: &mut Criterion) {
    let mut app = common::fixture_app();
    // Worst realistic load: 5,000 ledger lines in the window and 24 h of 5 Hz gauges.
    let now = common::t0();
    let records: Vec<_> = (0..5_000u64)
        .map(|i| {
            common::record(
                1_000 + i,
                &format!(
                    r#"{{"id":"TXN-{i}","branch":"koosy","event":"llm_generate","tokens":100,"cost":0.01,"timestamp":"2026-11-22T11:{:02}:00Z"}}"#,
                    i % 60
                ),
            )
        })
        .collect();
    app.update(Event::Msg(Msg::LedgerAppended { records, at: now }));
    let end = now.timestamp() as f64;
    let points: Vec<_> = (0..432_000)
        .map(|i| lumen::domain::rhythm::GaugePoint {
            t: end - 86_400.0 + i as f64 * 0.2,
            values: [0.5, 0.4, 0.3, 0.2],
        })
        .collect();
    app.update(Event::Msg(Msg::GaugeRows {
        points,
        bad: 0,
        at: now,
    }));
    app.update(Event::Tick(now));
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h))
            .unwrap_or_else(|e| panic!("backend: {e}"));
        c.bench_function(&format!("full frame {w}x{h}"), |b| {
            b.iter(|| {
                term.draw(|f| {
                    lumen::ui::render(f, &app);
                })
                .map(|_| ())
                .unwrap_or_else(|e| panic!("{e}"))
            })
        });
    }
    app.apply(lumen::protocol::Action::FocusRhythm);
    for _ in 0..3 {
        app.apply(lumen::protocol::Action::WiderWindow);
    }
    assert_eq!(app.panes().rhythm.window, 4);
    let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48))
        .unwrap_or_else(|e| panic!("backend: {e}"));
    c.bench_function("full frame 160x48, 24h rhythm window", |b| {
        b.iter(|| {
            term.draw(|f| {
                lumen::ui::render(f, &app);
            })
            .map(|_| ())
            .unwrap_or_else(|e| panic!("{e}"))
        })
    });
}

criterion_group!(benches, bench_render);
criterion_main!(benches);
