//! Notices have a home: the strip above the footer (never over the panes), errors
//! that stay until seen, and the notification history with the full text and a
//! failed rollback hook's output. App update tests on a fixed clock, and render
//! snapshots at 160×48, 120×32 and 80×24.

mod common;

use chrono::Duration;
use common::{fixture_app, frame, screen_text, t0};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lumen::app::{App, Event, ToastLevel};
use lumen::protocol::Msg;

fn key(app: &mut App, c: char) {
    app.update(Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::NONE,
    )));
}

fn code(app: &mut App, c: KeyCode) {
    app.update(Event::Key(KeyEvent::new(c, KeyModifiers::NONE)));
}

const HOOK_OUT: &str = "draining koosy\nrestarting koosy-api (attempt 1)\nhealth check did not recover after 30s: 503 from https://koosy.example/health";

/// A rollback whose hook failed on koosy: its progress (with the hook's captured
/// output) and the final refusal, as the operator reports them.
fn failed_rollback(app: &mut App) {
    let at = t0();
    app.update(Event::Msg(Msg::OperatorProgress {
        line: "rollback_requested on the ledger (TXN-R1)".into(),
        at,
        output: None,
    }));
    app.update(Event::Msg(Msg::OperatorProgress {
        line: "koosy: failed (exit 3, 31250 ms) → TXN-R2 — hook: health check did not recover after 30s: 503 from https://koosy.example/health".into(),
        at,
        output: Some(HOOK_OUT.into()),
    }));
    app.update(Event::Msg(Msg::OperatorDone {
        ok: false,
        summary: "rollback of TXN-7 stopped: 1 skipped — see the ledger".into(),
        at,
    }));
}

#[test]
fn a_failed_rollback_is_kept_whole_in_the_history_with_the_hooks_output() {
    let mut app = fixture_app();
    failed_rollback(&mut app);
    // Minutes later, after routine notices, the error still shows.
    for i in 0..5 {
        app.update(Event::Msg(Msg::OperatorProgress {
            line: format!("notified ops-{i}"),
            at: t0(),
            output: None,
        }));
    }
    app.update(Event::Tick(t0() + Duration::seconds(300)));
    let shell = app.shell();
    let strip = shell.notices.strip(t0() + Duration::seconds(300), 1);
    assert_eq!(
        strip.rows.first().map(|n| n.text.as_str()),
        Some("rollback of TXN-7 stopped: 1 skipped — see the ledger"),
    );
    assert_eq!(strip.more_errors, 1, "the hook's failure waits behind it");

    // The history opens with `m`: everything, newest first, with the hook's output.
    key(&mut app, 'm');
    assert!(app.shell().history.is_some());
    assert_eq!(
        app.shell().notices.unseen_errors(),
        0,
        "opening it marks them seen"
    );
    let failed = app
        .shell()
        .notices
        .items()
        .find(|n| n.text.starts_with("koosy: failed"))
        .cloned()
        .unwrap_or_else(|| panic!("the hook's failure is in the history"));
    assert_eq!(failed.level, ToastLevel::Error);
    assert_eq!(
        failed.detail,
        [
            "draining koosy",
            "restarting koosy-api (attempt 1)",
            "health check did not recover after 30s: 503 from https://koosy.example/health"
        ]
    );
    let text = screen_text(&frame(&mut app, 80, 24));
    assert!(text.contains("Notifications — newest first"), "{text}");
    assert!(text.contains("rollback of TXN-7 stopped"), "{text}");
    // The full text is wrapped, not cut: the reason is on screen at 80 columns.
    let scrolled = {
        let mut found = text.contains("did not recover");
        for _ in 0..10 {
            if found {
                break;
            }
            code(&mut app, KeyCode::PageDown);
            found = screen_text(&frame(&mut app, 80, 24)).contains("did not recover");
        }
        found
    };
    assert!(scrolled, "the hook's reason is readable in the history");
    // Esc closes it; the strip is empty (seen), the history keeps everything.
    code(&mut app, KeyCode::Esc);
    assert!(app.shell().history.is_none());
    assert!(
        app.shell()
            .notices
            .strip(t0() + Duration::seconds(300), 2)
            .rows
            .is_empty()
    );
    assert!(app.shell().notices.len() >= 8);
}

#[test]
fn errors_stay_until_dismissed_info_fades() {
    let mut app = fixture_app();
    app.update(Event::Msg(Msg::OperatorDone {
        ok: false,
        summary: "kill switch refused: decision-engine.json:3:1 is broken".into(),
        at: t0(),
    }));
    app.update(Event::Msg(Msg::OperatorDone {
        ok: true,
        summary: "maintenance on for koosy".into(),
        at: t0(),
    }));
    let later = t0() + Duration::seconds(60);
    app.update(Event::Tick(later));
    let texts: Vec<String> = app
        .shell()
        .notices
        .strip(later, 2)
        .rows
        .iter()
        .map(|n| n.text.clone())
        .collect();
    assert_eq!(
        texts,
        ["kill switch refused: decision-engine.json:3:1 is broken"]
    );
    key(&mut app, 'd');
    assert!(app.shell().notices.strip(later, 2).rows.is_empty());
    assert_eq!(app.shell().notices.len(), 2, "dismissed, not forgotten");
}

/// The fixture with an error that stays and a fresh info notice.
fn with_notices() -> App {
    let mut app = fixture_app();
    app.update(Event::Msg(Msg::OperatorDone {
        ok: false,
        summary:
            "rollback of TXN-20261122-0007 stopped: koosy failed — health check did not recover"
                .into(),
        at: t0(),
    }));
    app.update(Event::Msg(Msg::OperatorProgress {
        line: "notified ops-chat".into(),
        at: t0(),
        output: None,
    }));
    app.update(Event::Tick(t0() + Duration::seconds(1)));
    app
}

#[test]
fn the_strip_never_covers_pane_content() {
    for (w, h) in [(160u16, 48u16), (120, 32), (80, 24)] {
        let mut plain = fixture_app();
        plain.update(Event::Tick(t0() + Duration::seconds(1)));
        let without = screen_text(&frame(&mut plain, w, h));
        let mut app = with_notices();
        let term = frame(&mut app, w, h);
        let with = screen_text(&term);
        let rows: Vec<&str> = with.lines().collect();
        let strip_rows = if h >= 32 { 2 } else { 1 };
        // The strip sits right above the footer…
        let footer = rows.len() - 1;
        let strip: Vec<&str> = rows[footer - strip_rows..footer].to_vec();
        assert!(
            strip
                .first()
                .is_some_and(|r| r.contains("✗") && r.contains("rollback of TXN")),
            "{w}x{h}: the error leads the strip:\n{with}"
        );
        if strip_rows == 2 {
            assert!(
                strip
                    .get(1)
                    .is_some_and(|r| r.contains("notified ops-chat"))
            );
        }
        // …and every pane border is whole: the panes end above the strip.
        let last_pane_row = rows[footer - strip_rows - 1];
        assert!(
            last_pane_row.contains('╰')
                || last_pane_row.contains('┗')
                || last_pane_row.contains('└'),
            "{w}x{h}: the panes' bottom border is intact:\n{with}"
        );
        // The header is the same with and without notices.
        assert_eq!(rows.first(), without.lines().next().as_ref());
        insta::assert_snapshot!(format!("notices_{w}x{h}"), term.backend());
    }
}

#[test]
fn slash_in_a_pane_without_a_filter_says_so() {
    let mut app = fixture_app();
    key(&mut app, '4');
    key(&mut app, '/');
    let last = app
        .shell()
        .notices
        .last()
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(
        last.contains("the rhythm pane has no filter") && last.contains("command palette"),
        "{last}"
    );
    assert!(app.shell().prompt.is_none());
}
