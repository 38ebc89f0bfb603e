//! Render snapshots of the whole screen and each pane with fixed data and clock.

mod common;

use common::{draw, fixture_app, screen_text};
use lumen::protocol::Action;

#[test]
fn whole_screen_160x48() {
    let app = fixture_app();
    let term = draw(&app, 160, 48);
    insta::assert_snapshot!(term.backend());
}

#[test]
fn whole_screen_80x24_is_tabbed() {
    let app = fixture_app();
    let term = draw(&app, 80, 24);
    let text = screen_text(&term);
    assert!(text.contains("1 Branch health"), "{text}");
    assert!(text.contains(" 5 Ceremony "), "{text}");
    insta::assert_snapshot!(term.backend());
}

#[test]
fn every_pane_zoomed() {
    for (i, a) in [
        Action::FocusHealth,
        Action::FocusLedger,
        Action::FocusCost,
        Action::FocusRhythm,
        Action::FocusCeremony,
    ]
    .into_iter()
    .enumerate()
    {
        let mut app = fixture_app();
        app.apply(a);
        app.apply(Action::ToggleZoom);
        for (w, h) in [(160u16, 48u16), (80, 24)] {
            let term = draw(&app, w, h);
            insta::assert_snapshot!(format!("zoom_{i}_{w}x{h}"), term.backend());
        }
    }
}

#[test]
fn stale_and_failing_sources_are_shown_in_their_panes() {
    use lumen::app::Event;
    use lumen::protocol::{Msg, SourceId};
    let mut app = fixture_app();
    let later = common::t0() + chrono::Duration::seconds(95);
    app.update(Event::Msg(Msg::SourceFailed {
        source: SourceId::Exporter(0),
        at: later - chrono::Duration::seconds(20),
        error: "http://127.0.0.1:9108/metrics: cannot connect: connection refused".into(),
    }));
    app.update(Event::Msg(Msg::SourceMissing {
        source: SourceId::Health,
        at: later,
    }));
    app.update(Event::Tick(later));
    let term = draw(&app, 160, 48);
    let text = screen_text(&term);
    assert!(text.contains("cannot connect"), "{text}");
    assert!(text.contains("not configured"), "{text}");
    assert!(text.contains("stale 1m"), "the ledger is 98 s old:\n{text}");
    insta::assert_snapshot!(term.backend());
}

#[test]
fn help_overlay_lists_live_keymap() {
    let mut app = fixture_app();
    app.apply(Action::ToggleHelp);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("Help"), "{text}");
    assert!(text.contains("Branch health (focused)"), "{text}");
    assert!(
        text.contains("roll back the selected branch's latest deploy"),
        "{text}"
    );
    assert!(!text.contains("shift-tab shift-tab"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn never_panics_at_any_size() {
    let mut app = fixture_app();
    for zoom in [false, true] {
        if zoom {
            app.apply(Action::ToggleZoom);
        }
        for help in [false, true] {
            if help != app.shell().help {
                app.apply(Action::ToggleHelp);
            }
            for w in [1u16, 2, 3, 5, 10, 20, 40, 79, 80, 119, 120, 160, 250] {
                for h in [1u16, 2, 3, 4, 5, 8, 12, 24, 31, 32, 48, 80] {
                    let _ = draw(&app, w, h);
                }
            }
        }
    }
}

#[test]
fn no_escape_sequences_reach_the_screen() {
    let app = fixture_app();
    let text = screen_text(&draw(&app, 160, 48));
    assert!(!text.contains('\u{1b}'), "ESC reached the buffer");
}
