//! 10,000 branches in the health pane and the cost meter (issue 5's scale bar):
//! a frame, a PgDn (+ frame), a re-sort, and the once-a-second cost refresh.
//! Nothing here may grow with the square of the fleet, and a frame builds only the
//! rows on screen.

use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/common/mod.rs"]
mod common;

use lumen::app::{App, Event};
use lumen::domain::hq::Tier;
use lumen::protocol::{Action, Msg};

const FLEET: usize = 10_000;

fn fleet() -> App {
    let now = common::t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let mut hq = common::snapshot();
    hq.cost_policy = serde_json::from_str(
        r#"{"tiers":{"incubation":{"monthlyTokenLimit":200000,"rate":0.00002},"standard":{"monthlyTokenLimit":1000000,"rate":0.000018},"premium":{"monthlyTokenLimit":5000000,"rate":0.000015}}}"#,
    )
    .ok();
    if let Some(r) = hq.registry.as_mut() {
        r.branches = (0..FLEET)
            .map(|i| {
                let tier = [
                    Tier::Canary,
                    Tier::Standard,
                    Tier::Incubation,
                    Tier::Premium,
                ][i % 4];
                common::branch(&format!("branch-{i:05}"), tier, "2.1")
            })
            .collect();
    }
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    let at = now - chrono::Duration::seconds(2);
    for round in 0..3u64 {
        let results = (0..FLEET)
            .map(|i| {
                common::hr(
                    &format!("branch-{i:05}"),
                    i % 13 != 0,
                    20 + (i as u64 * 7 + round * 11) % 900,
                    at,
                )
            })
            .collect();
        app.update(Event::Msg(Msg::HealthChecked { results, at }));
    }
    // Spend on every branch: 2 entries each.
    let records: Vec<_> = (0..FLEET * 2)
        .map(|i| {
            common::record(
                i as u64 + 1,
                &format!(
                    r#"{{"id":"TXN-{i}","branch":"branch-{:05}","event":"llm_generate","tokens":{},"cost":{:.3},"timestamp":"2026-11-22T11:{:02}:00Z"}}"#,
                    i % FLEET,
                    100 + i % 5000,
                    0.01 * (1 + i % 97) as f64,
                    i % 60
                ),
            )
        })
        .collect();
    app.update(Event::Msg(Msg::LedgerAppended { records, at }));
    app.update(Event::Resize(160, 48));
    app.update(Event::Tick(now));
    app
}

fn term(w: u16, h: u16) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    ratatui::Terminal::new(ratatui::backend::TestBackend::new(w, h))
        .unwrap_or_else(|e| panic!("backend: {e}"))
}

fn draw(t: &mut ratatui::Terminal<ratatui::backend::TestBackend>, app: &App) {
    t.draw(|f| {
        lumen::ui::render(f, app);
    })
    .map(|_| ())
    .unwrap_or_else(|e| panic!("{e}"))
}

fn bench_fleet(c: &mut Criterion) {
    let mut app = fleet();
    assert_eq!(app.health_visible().len(), FLEET);
    assert_eq!(app.panes().cost.visible.len(), FLEET);
    for (pane, name) in [(Action::FocusHealth, "health"), (Action::FocusCost, "cost")] {
        app.apply(pane);
        for (w, h) in [(160u16, 48u16), (80, 24)] {
            app.update(Event::Resize(w, h));
            let mut t = term(w, h);
            c.bench_function(&format!("10k {name}: full frame {w}x{h}"), |b| {
                b.iter(|| draw(&mut t, &app))
            });
        }
        app.update(Event::Resize(160, 48));
        app.apply(Action::ToggleZoom);
        let mut t = term(160, 48);
        c.bench_function(&format!("10k {name}: zoomed frame 160x48"), |b| {
            b.iter(|| draw(&mut t, &app))
        });
        c.bench_function(&format!("10k {name}: PgDn + frame 160x48"), |b| {
            b.iter(|| {
                app.apply(Action::PageDown);
                let at_end = match pane {
                    Action::FocusHealth => app.panes().health.sel + 1 >= FLEET,
                    _ => app.panes().cost.sel + 1 >= FLEET,
                };
                if at_end {
                    app.apply(Action::Top);
                }
                draw(&mut t, &app)
            })
        });
        c.bench_function(&format!("10k {name}: cycle sort (re-sort 10k)"), |b| {
            b.iter(|| app.apply(Action::CycleSort))
        });
        app.apply(Action::ToggleZoom);
    }
    // The once-a-second work: cost rows for 10k branches, re-sorted and re-filtered.
    let mut second = 0i64;
    c.bench_function("10k: tick with cost refresh (once a second)", |b| {
        b.iter(|| {
            second += 1;
            app.update(Event::Tick(
                common::t0() + chrono::Duration::seconds(second),
            ));
        })
    });
}

criterion_group!(benches, bench_fleet);
criterion_main!(benches);
