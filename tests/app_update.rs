//! `App::update` with an injected clock: focus, zoom, help, follow/pause, escalation,
//! staleness, registry errors and ledger resets — no terminal.

mod common;

use chrono::Duration;
use common::{fixture_app, hr, record, t0};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lumen::app::{Escalation, Event, HealthStatus, Pane};
use lumen::domain::hq::FileError;
use lumen::protocol::{Action, Msg, SourceId};

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

#[test]
fn tab_cycles_focus_and_wraps() {
    let mut app = fixture_app();
    assert_eq!(app.shell().focus, Pane::Health);
    for expected in [
        Pane::Ledger,
        Pane::Cost,
        Pane::Rhythm,
        Pane::Ceremony,
        Pane::Health,
    ] {
        app.update(key(KeyCode::Tab));
        assert_eq!(app.shell().focus, expected);
    }
    app.update(Event::Key(KeyEvent::new(
        KeyCode::BackTab,
        KeyModifiers::SHIFT,
    )));
    assert_eq!(app.shell().focus, Pane::Ceremony);
}

#[test]
fn help_swallows_keys_and_esc_closes_it() {
    let mut app = fixture_app();
    app.update(key(KeyCode::Char('?')));
    assert!(app.shell().help);
    app.update(key(KeyCode::Tab));
    assert_eq!(
        app.shell().focus,
        Pane::Health,
        "keys under the help overlay do nothing"
    );
    app.update(key(KeyCode::Esc));
    assert!(!app.shell().help);
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut app = fixture_app();
    app.update(key(KeyCode::Char('q')));
    assert!(app.shell().should_quit);
    let mut app = fixture_app();
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::CONTROL,
    )));
    assert!(app.shell().should_quit);
}

#[test]
fn scrolling_up_pauses_and_counts_new_lines() {
    let mut app = fixture_app();
    app.apply(Action::FocusLedger);
    assert!(app.panes().ledger_view.follow);
    app.apply(Action::Up);
    assert!(!app.panes().ledger_view.follow);
    let selected = app.ledger_selected_line();
    let now = t0();
    let recs = vec![
        record(
            50,
            r#"{"id":"A","branch":"koosy","event":"deploy","timestamp":"2026-11-22T12:00:01Z"}"#,
        ),
        record(
            51,
            r#"{"id":"B","branch":"koosy","event":"deploy","timestamp":"2026-11-22T12:00:02Z"}"#,
        ),
    ];
    app.update(Event::Msg(Msg::LedgerAppended {
        records: recs,
        at: now,
    }));
    assert_eq!(app.panes().ledger_view.new_while_paused, 2);
    assert_eq!(
        app.ledger_selected_line(),
        selected,
        "selection stays on the same line"
    );
    app.apply(Action::Bottom);
    assert!(app.panes().ledger_view.follow);
    assert_eq!(app.panes().ledger_view.new_while_paused, 0);
}

#[test]
fn rejects_are_counted_and_listed_without_losing_neighbours() {
    let app = fixture_app();
    assert_eq!(app.panes().ledger.rejects, 1);
    assert_eq!(app.panes().ledger.entries, 40);
    let row = &app.panes().ledger.reject_rows[0];
    assert_eq!(row.line, 41);
    assert!(!row.excerpt.contains('\u{1b}'));
}

#[test]
fn three_failures_propose_a_rollback_and_six_call_hq_admin() {
    let mut app = fixture_app();
    let at = t0();
    let fresh = |n: usize, app: &mut lumen::app::App| {
        for _ in 0..n {
            app.update(Event::Msg(Msg::HealthChecked {
                results: vec![hr("atlas", false, 10, at)],
                at,
            }));
        }
    };
    fresh(1, &mut app);
    assert_eq!(
        Escalation::from_failures(app.data().health["atlas"].consecutive_failures),
        Escalation::Retry
    );
    fresh(2, &mut app);
    assert_eq!(
        Escalation::from_failures(app.data().health["atlas"].consecutive_failures),
        Escalation::RollbackProposed
    );
    fresh(3, &mut app);
    assert_eq!(
        Escalation::from_failures(app.data().health["atlas"].consecutive_failures),
        Escalation::HqAdmin
    );
    app.update(Event::Msg(Msg::HealthChecked {
        results: vec![hr("atlas", true, 10, at)],
        at,
    }));
    assert_eq!(app.data().health["atlas"].consecutive_failures, 0);
    assert_eq!(app.data().health["atlas"].status(false), HealthStatus::Up);
}

#[test]
fn health_status_rules() {
    let app = fixture_app();
    assert_eq!(app.data().health["papafly"].status(false), HealthStatus::Up);
    assert_eq!(
        app.data().health["koosy"].status(false),
        HealthStatus::Degraded,
        "slow is degraded"
    );
    assert_eq!(app.data().health["orbit"].status(false), HealthStatus::Down);
    assert_eq!(
        app.data().health["orbit"].status(true),
        HealthStatus::Maintenance
    );
    assert!(!app.data().health.contains_key("lumen-lab"));
}

#[test]
fn branch_order_follows_the_sync_plan() {
    let app = fixture_app();
    assert_eq!(
        app.branch_order(),
        vec!["papafly", "koosy", "orbit", "lumen-lab", "atlas"]
    );
}

#[test]
fn source_failure_is_shown_until_it_recovers() {
    let mut app = fixture_app();
    let at = t0() + Duration::seconds(5);
    app.update(Event::Msg(Msg::SourceFailed {
        source: SourceId::Exporter(0),
        at,
        error: "connection refused".into(),
    }));
    assert!(app.data().sources[&SourceId::Exporter(0)].failing());
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at: at + Duration::seconds(2),
        samples: vec![],
        unreadable: 0,
    }));
    assert!(!app.data().sources[&SourceId::Exporter(0)].failing());
}

#[test]
fn invalid_registry_keeps_the_last_good_one() {
    let mut app = fixture_app();
    let before = app.branch_order();
    app.update(Event::Msg(Msg::RegistryInvalid {
        error: FileError::new("hq/registry/branches.json".as_ref(), 3, 7, "expected `,`"),
        at: t0(),
    }));
    assert_eq!(app.branch_order(), before);
    assert!(app.data().registry_error.is_some());
    assert_eq!(app.shell().notices.len(), 1);
    assert_eq!(
        app.shell().notices.unseen_errors(),
        1,
        "the error waits to be seen"
    );

    // Fixed on disk: the error no longer waits in the strip (the condition cleared),
    // the history keeps it, and the strip says the registry reads fine again.
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(common::snapshot()),
        at: t0() + Duration::seconds(5),
    }));
    assert!(app.data().registry_error.is_none());
    assert_eq!(app.shell().notices.unseen_errors(), 0);
    let texts: Vec<&str> = app
        .shell()
        .notices
        .items()
        .map(|n| n.text.as_str())
        .collect();
    assert!(texts[0].contains("branches.json:3:7"), "{texts:?}");
    assert_eq!(texts.last(), Some(&"registry: reads fine again"));
}

#[test]
fn ticks_redraw_only_when_the_second_changes_and_expire_toasts() {
    let mut app = fixture_app();
    app.mark_drawn();
    app.update(Event::Tick(t0() + Duration::milliseconds(300)));
    assert!(!app.shell().dirty, "same second: nothing on screen changes");
    app.update(Event::Tick(t0() + Duration::seconds(1)));
    assert!(app.shell().dirty);
    app.toast(lumen::app::ToastLevel::Info, "hello");
    app.mark_drawn();
    app.update(Event::Tick(t0() + Duration::seconds(30)));
    assert!(app.shell().dirty, "the notice left the strip: redraw");
    assert!(
        app.shell()
            .notices
            .strip(t0() + Duration::seconds(30), 2)
            .rows
            .is_empty()
    );
    assert_eq!(app.shell().notices.len(), 1, "kept in the history");
}

#[test]
fn ledger_reset_starts_over() {
    let mut app = fixture_app();
    app.update(Event::Msg(Msg::LedgerReset {
        reason: "file was truncated".into(),
    }));
    assert_eq!(app.panes().ledger.entries, 0);
    assert_eq!(app.panes().ledger.resets, 1);
}

#[test]
fn rhythm_window_and_markers() {
    let mut app = fixture_app();
    app.apply(Action::FocusRhythm);
    app.apply(Action::WiderWindow);
    assert_eq!(lumen::app::WINDOWS[app.panes().rhythm.window], 900);
    app.apply(Action::Left);
    assert!(app.panes().rhythm.pan > 0);
    app.apply(Action::Bottom);
    assert_eq!(app.panes().rhythm.pan, 0);
    app.apply(Action::Up);
    assert_eq!(app.panes().rhythm.marker_sel, Some(0));
}

/// The fixture app after the background integrity check reported `integrity`.
fn app_with_integrity(integrity: lumen::protocol::Integrity) -> lumen::app::App {
    let mut app = fixture_app();
    app.update(Event::Msg(Msg::IntegrityChecked {
        integrity,
        at: t0(),
    }));
    app
}

#[test]
fn integrity_badge_shows_a_broken_chain() {
    let app = app_with_integrity(lumen::protocol::Integrity {
        chain_ok: 10,
        chain_broken: 1,
        sig_ok: 11,
        problem: Some("line 7: prev does not match line 6".into()),
        ..Default::default()
    });
    let text = common::screen_text(&common::draw(&app, 160, 48));
    assert!(text.contains("chain ✗1"), "{text}");
    assert!(text.contains("sig ✓11"), "{text}");
}

/// At 80×24 the ledger pane is narrower than its counts and integrity text: the
/// follow/pause badge at the right edge is never what gets cut off.
#[test]
fn follow_badge_survives_a_narrow_ledger_pane() {
    let mut app = app_with_integrity(lumen::protocol::Integrity {
        chain_ok: 123_456,
        sig_ok: 123_000,
        checkpoints_ok: 12,
        unchained: 987_654,
        ..Default::default()
    });
    app.apply(lumen::protocol::Action::FocusLedger);
    let text = common::screen_text(&common::draw(&app, 80, 24));
    let badge_line = text
        .lines()
        .find(|l| l.contains("entries ·"))
        .unwrap_or_else(|| panic!("no badge line in\n{text}"));
    assert!(badge_line.contains("chain ✓123456"), "{badge_line}");
    assert!(
        badge_line
            .trim_end_matches(['┃', '│', ' '])
            .ends_with("▶ follow"),
        "{badge_line}"
    );
}

#[test]
fn ten_second_means_follow_backfill_and_live_points() {
    let mut app = fixture_app();
    // The fixture backfills 300 s at 5 Hz: 30 buckets of 10 s (31 when not aligned).
    let n = app.panes().rhythm.coarse.len();
    assert!((30..=31).contains(&n), "{n} buckets");
    let check = |app: &lumen::app::App| {
        for (mean, count) in app.panes().rhythm.coarse.iter().take(5) {
            let lo = mean.t - lumen::app::COARSE_SECS / 2.0;
            let pts: Vec<f64> = app
                .panes()
                .rhythm
                .points
                .iter()
                .filter(|p| p.t >= lo && p.t < lo + lumen::app::COARSE_SECS)
                .map(|p| p.values[0])
                .collect();
            assert_eq!(pts.len() as u32, count[0]);
            let m = pts.iter().sum::<f64>() / pts.len() as f64;
            assert!(
                (m - mean.values[0]).abs() < 1e-9,
                "{m} vs {}",
                mean.values[0]
            );
        }
    };
    check(&app);
    // Older history arrives later (prepended): every bucket is recomputed.
    let older: Vec<_> = common::gauge_points(t0() - Duration::seconds(600))
        .into_iter()
        .take(100)
        .collect();
    app.update(Event::Msg(Msg::GaugeRows {
        points: older,
        bad: 0,
        at: t0(),
    }));
    check(&app);
    assert!(app.panes().rhythm.coarse.len() > n);
}

#[test]
fn cost_alert_fires_once_per_branch_and_level() {
    let mut app = fixture_app();
    // Four branches bill as standard (1,000 tokens a month) and are far over.
    let hq = common::snapshot_over_budget();
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    let commands = app.update(Event::Tick(t0() + Duration::seconds(1)));
    let alerts: Vec<_> = app
        .shell()
        .notices
        .items()
        .filter(|t| t.at > t0() && t.text.starts_with("cost_limit_exceeded"))
        .collect();
    assert_eq!(alerts.len(), 1, "one notice on screen: {alerts:?}");
    // Four branches bill as standard (1,000 tokens) and are far over: suspend.
    assert!(alerts[0].text.contains("4 branches"), "{alerts:?}");
    // The console notifies nobody itself: `lumen watch` or Alertmanager does, once
    // per HQ however many consoles are open.
    assert!(
        !commands
            .iter()
            .any(|c| matches!(c, lumen::protocol::Command::Notify { .. })),
        "{commands:?}"
    );
    // Ticks and redraws do not repeat it.
    let mut later = Vec::new();
    for s in 2..10 {
        later.extend(app.update(Event::Tick(t0() + Duration::seconds(s))));
    }
    assert!(
        app.shell()
            .notices
            .items()
            .all(|t| t.at <= t0() + Duration::seconds(1)
                || !t.text.starts_with("cost_limit_exceeded"))
    );
    assert!(later.is_empty(), "{later:?}");
}

#[test]
fn slash_opens_a_prompt_that_takes_every_key_and_recalls_the_last_filter() {
    let mut app = fixture_app();
    app.update(key(KeyCode::Char('2')));
    assert_eq!(app.shell().focus, Pane::Ledger);
    app.update(key(KeyCode::Char('/')));
    assert!(app.shell().prompt.is_some(), "/ opens the filter prompt");
    for c in "q branch:koosy".chars() {
        app.update(key(KeyCode::Char(c)));
    }
    assert!(
        !app.shell().should_quit,
        "q is text while the prompt is open"
    );
    app.update(key(KeyCode::Backspace));
    app.update(key(KeyCode::Enter));
    assert!(app.shell().prompt.is_none());
    assert_eq!(app.panes().ledger_view.filter, "q branch:koos");
    // `/` again recalls the last filter; Esc leaves it unchanged.
    app.update(key(KeyCode::Char('/')));
    let p = app
        .shell()
        .prompt
        .as_ref()
        .map(|p| p.input.value().to_string());
    assert_eq!(p.as_deref(), Some("q branch:koos"));
    app.update(key(KeyCode::Char('x')));
    app.update(key(KeyCode::Esc));
    assert!(app.shell().prompt.is_none());
    assert_eq!(app.panes().ledger_view.filter, "q branch:koos");
    let term = common::draw(&app, 120, 40);
    assert!(!common::screen_text(&term).contains("filter:"));
    app.update(key(KeyCode::Char('/')));
    let text = common::screen_text(&common::draw(&app, 120, 40));
    assert!(text.contains("filter: q branch:koos"), "{text}");
}

/// A local witness that no longer finds what it verified is a red banner under the
/// header, not a quiet badge, with what it remembered.
#[test]
fn a_witness_alarm_is_a_red_banner() {
    let alarm = "the ledger no longer holds size 12 (root 3q2+7w==) verified 2026-12-01T10:00:00Z";
    let app = app_with_integrity(lumen::protocol::Integrity {
        chain_ok: 3,
        witness_alarm: Some(alarm.into()),
        ..Default::default()
    });
    let term = common::draw(&app, 160, 48);
    let text = common::screen_text(&term);
    assert!(text.contains("LEDGER HISTORY CHANGED"), "{text}");
    assert!(text.contains("size 12"), "{text}");
    let buf = term.backend().buffer();
    let row = (0..buf.area.height)
        .find(|y| {
            (0..buf.area.width)
                .filter_map(|x| buf.cell((x, *y)))
                .map(|c| c.symbol().to_string())
                .collect::<String>()
                .contains("LEDGER HISTORY")
        })
        .unwrap_or_else(|| panic!("no banner row:\n{text}"));
    assert_eq!(row, 1, "right under the header");
    let cell = buf.cell((5, row)).unwrap_or_else(|| panic!("cell"));
    assert_eq!(
        cell.bg,
        app.shell().theme.error,
        "painted in the error colour"
    );
    // Without an alarm there is no banner.
    let calm = app_with_integrity(lumen::protocol::Integrity {
        chain_ok: 3,
        ..Default::default()
    });
    let text = common::screen_text(&common::draw(&calm, 160, 48));
    assert!(!text.contains("LEDGER HISTORY CHANGED"), "{text}");
}

/// Staleness follows each source's own interval: a health check every 5 minutes reads
/// "live" two minutes after the last round and "stale" only once a round is overdue.
#[test]
fn health_staleness_follows_its_check_interval() {
    let mut app = fixture_app();
    let mut hq = common::snapshot();
    hq.health_check = Some(lumen::domain::hq::HealthCheck {
        endpoints: Vec::new(),
        interval: Some("5m".into()),
        timeout: Some("2s".into()),
        on_failure: Vec::new(),
    });
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    app.update(Event::Msg(Msg::HealthChecked {
        results: vec![common::hr("koosy", true, 3, t0())],
        at: t0(),
    }));
    let health_title = |app: &lumen::app::App| {
        let text = common::screen_text(&common::draw(app, 160, 48));
        text.lines()
            .find(|l| l.contains("Branch health"))
            .map(str::to_string)
            .unwrap_or_default()
    };
    app.update(Event::Tick(t0() + chrono::Duration::seconds(120)));
    let title = health_title(&app);
    assert!(title.contains("live 2m"), "{title}");
    app.update(Event::Tick(t0() + chrono::Duration::seconds(600)));
    let title = health_title(&app);
    assert!(title.contains("stale 10m"), "{title}");
}
