//! Snapshots of the health pane and cost meter (zoomed) at 160×48 and 80×24: default,
//! sorted, filtered, detail, "not configured" and stale.

mod common;

use common::{draw, fixture_app, t0};
use lumen::app::{App, Event};
use lumen::protocol::{Action, Msg, SourceId};

fn zoomed(focus: Action) -> App {
    let mut app = fixture_app();
    app.apply(focus);
    app.apply(Action::ToggleZoom);
    app
}

fn filter(app: &mut App, text: &str) {
    app.apply(Action::OpenFilter);
    // Replace what the prompt recalls, key by key as an operator would.
    let recalled = app
        .shell()
        .prompt
        .as_ref()
        .map_or(0, |p| p.input.value().chars().count());
    let press = |app: &mut App, code| {
        app.update(Event::Key(crossterm::event::KeyEvent::from(code)));
    };
    for _ in 0..recalled {
        press(app, crossterm::event::KeyCode::Backspace);
    }
    for c in text.chars() {
        press(app, crossterm::event::KeyCode::Char(c));
    }
    app.update(Event::Key(crossterm::event::KeyEvent::from(
        crossterm::event::KeyCode::Enter,
    )));
}

fn snap_both(name: &str, app: &mut App) {
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        app.update(Event::Resize(w, h));
        let term = draw(app, w, h);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), term.backend());
    }
}

#[test]
fn health_default_sorted_filtered() {
    let mut app = zoomed(Action::FocusHealth);
    snap_both("health_default", &mut app);
    app.apply(Action::CycleSort);
    snap_both("health_sorted_status", &mut app);
    filter(&mut app, "tier:standard");
    snap_both("health_filtered", &mut app);
    filter(&mut app, "nothing-matches");
    snap_both("health_filtered_empty", &mut app);
}

#[test]
fn health_detail() {
    let mut app = zoomed(Action::FocusHealth);
    app.apply(Action::Down);
    app.apply(Action::Down); // orbit: down, 4 failures in a row
    app.apply(Action::Select);
    snap_both("health_detail", &mut app);
}

#[test]
fn health_not_configured_and_stale() {
    let mut app = zoomed(Action::FocusHealth);
    app.update(Event::Msg(Msg::SourceMissing {
        source: SourceId::Health,
        at: t0(),
    }));
    snap_both("health_not_configured", &mut app);
    let mut app = zoomed(Action::FocusHealth);
    app.set_health_prometheus(Some("http://127.0.0.1:9090".into()));
    app.update(Event::Msg(Msg::SourceRecovered {
        source: SourceId::Prometheus,
        at: t0() - chrono::Duration::seconds(30),
    }));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(60)));
    snap_both("health_prometheus_stale", &mut app);
}

#[test]
fn cost_default_sorted_filtered() {
    let mut app = zoomed(Action::FocusCost);
    snap_both("cost_default", &mut app);
    app.apply(Action::CycleSort);
    app.apply(Action::CycleSort); // burn rate
    app.apply(Action::Down);
    snap_both("cost_sorted_burn", &mut app);
    filter(&mut app, "tier:premium");
    snap_both("cost_filtered", &mut app);
}

#[test]
fn cost_not_configured() {
    // The fixture has no cost-policy.json: limits are "not configured".
    let mut app = zoomed(Action::FocusCost);
    let text = common::screen_text(&draw(&app, 160, 48));
    assert!(text.contains("limits not configured"), "{text}");
    let mut hq = common::snapshot();
    hq.cost_policy = serde_json::from_str(
        r#"{"tiers":{"standard":{"monthlyTokenLimit":10000,"rate":0.00002},"premium":{"monthlyTokenLimit":5000,"rate":0.000015}}}"#,
    )
    .ok();
    assert!(hq.cost_policy.is_some());
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    snap_both("cost_with_limits", &mut app);
}

/// The cost header keeps its counts whole when the pane is narrow: the totals give
/// way first (today's, then the projection), never "1 over limit · " cut mid-count.
#[test]
fn narrow_cost_header_keeps_the_over_limit_count_whole() {
    use chrono::Duration;
    let mut app = fixture_app();
    // Four branches bill as standard (1,000 tokens a month) and are far over.
    let hq = common::snapshot_over_budget();
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    app.update(Event::Tick(t0() + Duration::seconds(1)));
    for (w, h) in [(160, 48), (120, 32)] {
        let text = common::screen_text(&draw(&app, w, h));
        let header = text
            .lines()
            .find(|l| l.contains("MTD $"))
            .unwrap_or_else(|| panic!("no cost header at {w}x{h}:\n{text}"));
        assert!(
            header.contains("4 over limit") || header.contains("4 branches over their limits"),
            "{w}x{h}: the count is cut: {header:?}"
        );
        assert!(
            !header.contains("over limit · │")
                && !header.trim_end_matches(['│', ' ']).ends_with('·'),
            "{w}x{h}: {header:?}"
        );
    }
}
