//! The console at 160×48, 120×32 and 80×24: what acts survives narrow widths (health
//! keeps status, fail 24h and escalation before trend and source; ledger ids whole;
//! a filter error wraps), sparklines share a scale, the resonance is spelled out, and
//! a selected row keeps its status colour.

mod common;

use common::{draw, fixture_app, screen_text};
use lumen::protocol::Action;
use ratatui::style::Color;

const SIZES: [(u16, u16); 3] = [(160, 48), (120, 32), (80, 24)];

#[test]
fn whole_screen_at_each_size() {
    for (w, h) in SIZES {
        let app = fixture_app();
        let text = screen_text(&draw(&app, w, h));
        insta::assert_snapshot!(format!("whole_{w}x{h}"), text);
    }
}

#[test]
fn health_columns_at_each_size() {
    for (w, h) in SIZES {
        let mut app = fixture_app();
        let _ = app.apply(Action::FocusHealth);
        let text = screen_text(&draw(&app, w, h));
        // The health table's header row: what acts is there at every size.
        let header = text
            .lines()
            .find(|l| l.contains("branch") && l.contains("status"))
            .unwrap_or_else(|| panic!("no health header at {w}x{h}:\n{text}"))
            .to_string();
        for col in ["status", "fail 24h", "escalation"] {
            assert!(header.contains(col), "{w}x{h}: `{col}` dropped: {header}");
        }
        if header.contains("trend") || header.contains("src") {
            assert!(
                header.contains("latency") && header.contains("checked"),
                "{w}x{h}: trend/src kept before latency/checked: {header}"
            );
        }
        insta::assert_snapshot!(format!("health_{w}x{h}"), text);
    }
}

#[test]
fn ledger_ids_whole_and_filter_error_wrapped_at_each_size() {
    for (w, h) in SIZES {
        let mut app = fixture_app();
        let _ = app.apply(Action::FocusLedger);
        let _ = app.submit_ledger_filter("branch:koosy colour:red".into());
        let text = screen_text(&draw(&app, w, h));
        assert!(
            !text.contains("TXN-20261122-0000…"),
            "{w}x{h}: an id was cut"
        );
        for l in text.lines().filter(|l| l.contains("TXN-")) {
            let id = l
                .split_whitespace()
                .find(|t| t.starts_with("TXN-"))
                .unwrap_or_default()
                .trim_end_matches(['┃', '│', '…']);
            assert_eq!(id.len(), "TXN-20261122-000000".len(), "{w}x{h}: {l}");
        }
        // The whole error is on screen, across rows (its last words included).
        // Only the focused ledger pane (between its thick borders), row after row.
        let pane: String = text
            .lines()
            .filter_map(|l| l.split('┃').nth(1))
            .collect::<Vec<_>>()
            .join(" ");
        let squashed: String = pane.chars().filter(|c| *c != ' ').collect();
        assert!(
            squashed.contains("unknownfield") && squashed.contains("withacolonin\"quotes\""),
            "{w}x{h}: the filter error was cut:\n{text}"
        );
        insta::assert_snapshot!(format!("ledger_filter_error_{w}x{h}"), text);
    }
}

/// A selected down branch keeps its status colour, on the selection background.
#[test]
fn a_selected_row_keeps_its_status_colour() {
    let mut app = fixture_app();
    let _ = app.apply(Action::FocusHealth);
    let _ = app.apply(Action::ToggleZoom);
    // orbit (down) is the third row.
    let _ = app.apply(Action::Down);
    let _ = app.apply(Action::Down);
    let term = draw(&app, 160, 48);
    let buf = term.backend().buffer();
    let t = &app.shell().theme;
    let (x, y) = (0..buf.area.height)
        .find_map(|y| {
            let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            (row.contains("▌orbit")).then(|| {
                let col = row.chars().position(|c| c == '✗').unwrap_or(0) as u16;
                (col, y)
            })
        })
        .unwrap_or_else(|| panic!("orbit is not the selected row"));
    let cell = &buf[(x, y)];
    assert_eq!(cell.symbol(), "✗");
    assert_eq!(cell.fg, t.status.down, "the down colour is kept");
    assert_eq!(cell.bg, t.selection_bg, "on the selection background");
    // The rest of the row is in the selection colours.
    assert_eq!(buf[(2, y)].bg, t.selection_bg);
    assert_ne!(t.status.down, Color::Reset);
}
