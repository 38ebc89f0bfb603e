//! The health pane and cost meter as `App::update` sees them, with an injected clock:
//! sort, filter, selection that follows its branch, detail view, escalation and
//! maintenance, the source of each status, registry reloads, and 10,000 branches.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{draw, fixture_app, hr, screen_text, snapshot, t0};
use lumen::app::{App, CostSort, Escalation, Event, HealthSort, HealthStatus};
use lumen::domain::hq::Tier;
use lumen::protocol::{Action, Msg, SourceId};

fn filter(app: &mut App, text: &str) {
    app.apply(Action::OpenFilter);
    assert!(app.shell().prompt.is_some(), "`/` opens the prompt");
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

fn visible(app: &App) -> Vec<&str> {
    app.health_visible().iter().map(String::as_str).collect()
}

fn failing(app: &mut App, branch: &str, n: usize, at: DateTime<Utc>) {
    for i in 0..n {
        app.update(Event::Msg(Msg::HealthChecked {
            results: vec![hr(
                branch,
                false,
                10,
                at + chrono::Duration::seconds(i as i64),
            )],
            at,
        }));
    }
}

#[test]
fn default_order_is_the_sync_plan() {
    let app = fixture_app();
    assert_eq!(app.panes().health.sort, HealthSort::Sync);
    // Explicit order first, then by the plan's tiers; premium is not in the plan.
    assert_eq!(
        visible(&app),
        ["papafly", "koosy", "orbit", "lumen-lab", "atlas"]
    );
}

#[test]
fn sort_cycles_through_status_latency_failures_id() {
    let mut app = fixture_app();
    app.apply(Action::CycleSort);
    assert_eq!(app.panes().health.sort, HealthSort::Status);
    // orbit is down, koosy degraded (1450 ms), lumen-lab unknown, then up in sync order.
    assert_eq!(
        visible(&app),
        ["orbit", "koosy", "lumen-lab", "papafly", "atlas"]
    );
    app.apply(Action::CycleSort);
    assert_eq!(app.panes().health.sort, HealthSort::Latency);
    assert_eq!(
        visible(&app),
        ["orbit", "koosy", "atlas", "papafly", "lumen-lab"]
    );
    app.apply(Action::CycleSort);
    assert_eq!(app.panes().health.sort, HealthSort::Failures);
    let fails: Vec<usize> = visible(&app)
        .iter()
        .map(|b| app.panes().ledger.failures_24h(b))
        .collect();
    assert!(fails.windows(2).all(|w| w[0] >= w[1]), "{fails:?}");
    app.apply(Action::CycleSort);
    assert_eq!(
        visible(&app),
        ["atlas", "koosy", "lumen-lab", "orbit", "papafly"]
    );
    app.apply(Action::CycleSort);
    assert_eq!(app.panes().health.sort, HealthSort::Sync);
}

#[test]
fn selection_stays_on_its_branch_when_the_list_changes() {
    let mut app = fixture_app();
    app.apply(Action::Bottom);
    assert_eq!(app.selected_branch().as_deref(), Some("atlas"));
    app.apply(Action::CycleSort); // status
    assert_eq!(app.selected_branch().as_deref(), Some("atlas"));
    filter(&mut app, "a");
    assert_eq!(visible(&app), ["lumen-lab", "papafly", "atlas"]);
    assert_eq!(app.selected_branch().as_deref(), Some("atlas"));
    // A new round makes atlas fail: it moves up in status order, still selected.
    failing(&mut app, "atlas", 1, t0());
    assert_eq!(visible(&app), ["atlas", "lumen-lab", "papafly"]);
    assert_eq!(app.selected_branch().as_deref(), Some("atlas"));
}

#[test]
fn filter_grammar_words_tier_and_status() {
    let mut app = fixture_app();
    filter(&mut app, "tier:standard");
    assert_eq!(visible(&app), ["koosy", "orbit"]);
    filter(&mut app, "tier:standard status:down");
    assert_eq!(visible(&app), ["orbit"]);
    filter(&mut app, "status:up,degraded");
    assert_eq!(visible(&app), ["papafly", "koosy", "atlas"]);
    filter(&mut app, "TIER:Canary");
    assert_eq!(visible(&app), ["papafly"]);
    filter(&mut app, "o s");
    assert_eq!(visible(&app), ["koosy"]);
    assert_eq!(
        app.panes().health.filter.text,
        "o s",
        "the last filter is recalled by /"
    );
    // A bad term is refused with the reason; the previous filter stays.
    filter(&mut app, "status:sideways");
    assert_eq!(visible(&app), ["koosy"]);
    let toast = app
        .shell()
        .notices
        .last()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(
        toast.contains("status:sideways") && toast.contains("degraded"),
        "{toast}"
    );
    filter(&mut app, "owner:x");
    assert!(
        app.shell()
            .notices
            .last()
            .is_some_and(|t| t.text.contains("unknown filter key `owner:`"))
    );
    filter(&mut app, "");
    assert_eq!(visible(&app).len(), 5);
}

#[test]
fn enter_opens_the_detail_and_esc_closes_it() {
    let mut app = fixture_app();
    app.apply(Action::Down);
    app.apply(Action::Select);
    assert!(app.panes().health.detail);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("repo dtslib1979/koosy"), "{text}");
    assert!(text.contains("Recent checks"), "{text}");
    assert!(text.contains("Latest ledger events"), "{text}");
    assert!(text.contains("Maintenance / rollback history"), "{text}");
    app.apply(Action::Back);
    assert!(!app.panes().health.detail);
    // A second Esc does what it did before (unzoom).
    app.apply(Action::ToggleZoom);
    app.apply(Action::Back);
    assert!(!app.shell().zoom);
}

#[test]
fn three_consecutive_failures_climb_one_level() {
    let mut app = fixture_app();
    let at = t0();
    let esc = |app: &App| {
        app.data()
            .health
            .get("papafly")
            .map(|h| h.escalation(app.branch_maintenance("papafly")))
    };
    assert_eq!(esc(&app), Some(Escalation::None));
    failing(&mut app, "papafly", 1, at);
    assert_eq!(esc(&app), Some(Escalation::Retry));
    failing(&mut app, "papafly", 2, at);
    assert_eq!(esc(&app), Some(Escalation::RollbackProposed));
    failing(&mut app, "papafly", 3, at);
    assert_eq!(esc(&app), Some(Escalation::HqAdmin));
    // One success resets the count.
    app.update(Event::Msg(Msg::HealthChecked {
        results: vec![hr("papafly", true, 10, at)],
        at,
    }));
    assert_eq!(esc(&app), Some(Escalation::None));
}

#[test]
fn maintenance_stops_escalation() {
    let mut app = fixture_app();
    let mut hq = snapshot();
    if let Some(r) = hq.registry.as_mut() {
        for b in &mut r.branches {
            b.maintenance_mode = b.id == "papafly";
        }
    }
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    failing(&mut app, "papafly", 7, t0());
    let h = app
        .data()
        .health
        .get("papafly")
        .cloned()
        .unwrap_or_default();
    assert_eq!(h.consecutive_failures, 0);
    assert_eq!(h.escalation(true), Escalation::None);
    assert_eq!(app.branch_status("papafly"), HealthStatus::Maintenance);
    // The failures are still in the detail's recent checks.
    assert!(h.recent_checks.iter().filter(|c| !c.result.ok).count() >= 7);
}

#[test]
fn each_row_says_which_source_decided() {
    let mut app = fixture_app();
    assert_eq!(
        app.data().health.get("papafly").map(|h| h.source()),
        Some("http")
    );
    // lumen-lab has no check: the exporter's hq_branch_up decides.
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at: t0(),
        samples: vec![lumen::domain::exposition::Sample {
            name: "hq_branch_up".into(),
            labels: [("branch".to_string(), "lumen-lab".to_string())].into(),
            value: 0.0,
            timestamp_ms: None,
        }],
        unreadable: 0,
    }));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    assert_eq!(
        app.data().health.get("lumen-lab").map(|h| h.source()),
        Some("exporter")
    );
    assert_eq!(app.branch_status("lumen-lab"), HealthStatus::Down);
    // With Prometheus configured, rounds are PromQL answers.
    app.set_health_prometheus(Some("http://127.0.0.1:9090".into()));
    app.update(Event::Msg(Msg::HealthChecked {
        results: vec![hr("lumen-lab", true, 30, t0())],
        at: t0(),
    }));
    assert_eq!(
        app.data().health.get("lumen-lab").map(|h| h.source()),
        Some("prometheus")
    );
    app.update(Event::Msg(Msg::SourceRecovered {
        source: SourceId::Prometheus,
        at: t0(),
    }));
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("via prometheus · live"), "{text}");
}

#[test]
fn registry_reload_adds_and_removes_rows() {
    let mut app = fixture_app();
    let mut hq = snapshot();
    if let Some(r) = hq.registry.as_mut() {
        r.branches.retain(|b| b.id != "orbit");
        r.branches.push(common::branch("nova", Tier::Canary, "2.1"));
    }
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    assert_eq!(
        visible(&app),
        ["papafly", "koosy", "nova", "lumen-lab", "atlas"]
    );
}

#[test]
fn cost_meter_sorts_filters_and_scrolls() {
    let mut app = fixture_app();
    app.apply(Action::FocusCost);
    let ids = |app: &App| -> Vec<String> {
        app.panes()
            .cost
            .visible
            .iter()
            .filter_map(|i| app.panes().cost.rows.get(*i))
            .map(|r| r.branch.clone())
            .collect()
    };
    let by_cost = ids(&app);
    assert_eq!(by_cost.len(), 5);
    let costs: Vec<f64> = app
        .panes()
        .cost
        .visible
        .iter()
        .filter_map(|i| app.panes().cost.rows.get(*i))
        .map(|r| r.mtd_cost)
        .collect();
    assert!(costs.windows(2).all(|w| w[0] >= w[1]), "{costs:?}");
    app.apply(Action::Down);
    let second = app.selected_cost_branch();
    assert_eq!(second.as_ref(), by_cost.get(1));
    for want in [CostSort::Limit, CostSort::Burn, CostSort::Id] {
        app.apply(Action::CycleSort);
        assert_eq!(app.panes().cost.sort, want);
        assert_eq!(
            app.selected_cost_branch(),
            second,
            "selection follows the branch"
        );
    }
    assert_eq!(
        ids(&app),
        ["atlas", "koosy", "lumen-lab", "orbit", "papafly"]
    );
    filter(&mut app, "tier:premium");
    assert_eq!(ids(&app), ["atlas"]);
    filter(&mut app, "state:ok");
    assert_eq!(ids(&app).len(), 5);
    filter(&mut app, "state:broke");
    assert!(
        app.shell()
            .notices
            .last()
            .is_some_and(|t| t.text.contains("state:broke"))
    );
    // The health pane's sort is its own.
    assert_eq!(app.panes().health.sort, HealthSort::Sync);
}

fn fleet(n: usize) -> App {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let mut hq = snapshot();
    if let Some(r) = hq.registry.as_mut() {
        r.branches = (0..n)
            .map(|i| {
                let tier = [Tier::Canary, Tier::Standard, Tier::Incubation][i % 3];
                common::branch(&format!("b{i:05}"), tier, "2.1")
            })
            .collect();
    }
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    let results = (0..n)
        .map(|i| hr(&format!("b{i:05}"), i % 17 != 0, (i % 500) as u64, now))
        .collect();
    app.update(Event::Msg(Msg::HealthChecked { results, at: now }));
    app.update(Event::Resize(160, 48));
    app.update(Event::Tick(now));
    app
}

#[test]
fn ten_thousand_branches_scroll_by_pages() {
    let mut app = fleet(10_000);
    app.apply(Action::ToggleZoom);
    assert_eq!(app.health_visible().len(), 10_000);
    let first = screen_text(&common::frame(&mut app, 160, 48));
    app.apply(Action::PageDown);
    let sel = app.panes().health.sel;
    assert!(sel > 30, "a page is the pane's height, not 10: {sel}");
    let text = screen_text(&draw(&app, 160, 48));
    assert_ne!(first, text);
    let id = app.selected_branch().unwrap_or_default();
    assert!(
        text.contains(&id),
        "the selected row {id} is on screen:\n{text}"
    );
    app.apply(Action::Bottom);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains(&app.selected_branch().unwrap_or_default()));
    // Status sort puts the down branches (every 17th) first, in sync order (canary
    // = every 3rd first).
    app.apply(Action::CycleSort);
    assert_eq!(
        app.health_visible().first().map(String::as_str),
        Some("b00000")
    );
    assert_eq!(
        app.health_visible().get(1).map(String::as_str),
        Some("b00051")
    );
    // Cost meter: every registry branch has a row.
    app.apply(Action::FocusCost);
    assert_eq!(app.panes().cost.visible.len(), 10_000);
    // The run loop draws a frame after each key; the page is what that frame shows.
    let _ = common::frame(&mut app, 160, 48);
    app.apply(Action::PageDown);
    assert!(app.panes().cost.sel > 10);
    let _ = Duration::ZERO;
}

#[test]
fn hq_totals_equal_the_cost_books_own_sum() {
    let mut app = fleet(300);
    let records: Vec<_> = (0..600u64)
        .map(|i| {
            common::record(
                i + 1,
                &format!(
                    r#"{{"id":"T{i}","branch":"b{:05}","event":"llm_generate","tokens":{},"cost":{:.3},"timestamp":"2026-11-22T0{}:00:00Z"}}"#,
                    i % 300,
                    100 + i,
                    0.001 * i as f64,
                    i % 10
                ),
            )
        })
        .collect();
    app.update(Event::Msg(Msg::LedgerAppended { records, at: t0() }));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    let mine = app
        .panes()
        .cost
        .totals
        .clone()
        .unwrap_or_else(|| panic!("no totals"));
    let book = app.panes().cost.book.totals(app.shell().now);
    assert_eq!(mine.mtd_tokens, book.mtd_tokens);
    assert!(mine.mtd_tokens > 0);
    for (a, b) in [
        (mine.mtd_cost, book.mtd_cost),
        (mine.today_cost, book.today_cost),
        (mine.projected_cost, book.projected_cost),
    ] {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
}
