//! Styles where colour carries meaning: text-only snapshots cannot see a theme
//! regression (a "down" row drawn in the "up" colour reads the same as text). These
//! tests draw the zoomed health pane on a ratatui `TestBackend` and check the cells
//! themselves: each status glyph and word in its theme's status colour for every
//! shipped theme, the exact Okabe–Ito colours of the colour-blind theme, the glyphs
//! that still tell the statuses apart without colour, the escalation's emphasis, the
//! cost meter's states (ok, throttle, notify, suspend) in their colours, and one
//! snapshot of the style runs of the health rows.

mod common;

use std::fmt::Write as _;

use common::{draw, hr, t0};
use lumen::app::{App, Event};
use lumen::keymap::Keymap;
use lumen::protocol::{Action, Msg};
use lumen::theme::{Theme, load_theme_colors};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const SHIPPED: [&str; 4] = ["dark", "light", "high-contrast", "colorblind"];

fn theme(name: &str) -> Theme {
    load_theme_colors(name, None).unwrap_or_else(|e| panic!("theme {name}: {e}"))
}

/// The health pane zoomed, with one branch of each status: papafly up, koosy degraded
/// (1.45 s), orbit down, lumen-lab unknown (never checked), atlas in maintenance.
fn health_app(theme: Theme) -> App {
    let now = t0();
    let mut app = App::new(now, theme, Keymap::default());
    let mut hq = common::snapshot();
    if let Some(b) = hq
        .registry
        .as_mut()
        .and_then(|r| r.branches.iter_mut().find(|b| b.id == "atlas"))
    {
        b.maintenance_mode = true;
    }
    let at = now - chrono::Duration::seconds(3);
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at,
    }));
    let results = vec![
        hr("papafly", true, 42, at),
        hr("koosy", true, 1450, at),
        hr("orbit", false, 2000, at),
    ];
    for _ in 0..4 {
        app.update(Event::Msg(Msg::HealthChecked {
            results: results.clone(),
            at,
        }));
    }
    app.update(Event::Tick(now));
    app.apply(Action::FocusHealth);
    app.apply(Action::ToggleZoom);
    app.update(Event::Resize(160, 48));
    app
}

fn buffer(app: &App) -> Buffer {
    draw(app, 160, 48).backend().buffer().clone()
}

/// The pane drawn with `branch` not selected: the selected row is drawn in the
/// selection colours except its status, which keeps its colour on the selection
/// background (its style runs are in the snapshot below), so the first row (papafly)
/// is checked with the selection moved one row down.
fn unselected(theme: Theme, branch: &str) -> Buffer {
    let mut app = health_app(theme);
    if branch == "papafly" {
        app.apply(Action::Down);
    }
    buffer(&app)
}

/// The row whose text starts (after the border and selection bar) with `branch `.
fn row_of(buf: &Buffer, branch: &str) -> u16 {
    (0..buf.area.height)
        .find(|&y| {
            let line: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
            let rest: String = line.chars().skip(2).collect();
            rest.starts_with(&format!("{branch} "))
        })
        .unwrap_or_else(|| panic!("no row for {branch}"))
}

/// The first cell at or after column 0 of row `y` whose symbol is `symbol`.
fn col_of(buf: &Buffer, y: u16, symbol: &str) -> u16 {
    (0..buf.area.width)
        .find(|&x| buf[(x, y)].symbol() == symbol)
        .unwrap_or_else(|| panic!("no {symbol:?} in row {y}"))
}

/// (branch, glyph, word, the theme's colour for that status)
fn expectations(t: &Theme) -> [(&'static str, &'static str, &'static str, Color); 5] {
    [
        ("papafly", "●", "up", t.status.up),
        ("koosy", "◐", "degraded", t.status.degraded),
        ("orbit", "✗", "down", t.status.down),
        ("lumen-lab", "?", "unknown", t.status.unknown),
        ("atlas", "◇", "maintenance", t.status.maintenance),
    ]
}

#[test]
fn status_glyph_and_word_are_drawn_in_the_status_colour_in_every_shipped_theme() {
    for name in SHIPPED {
        let t = theme(name);
        for (branch, glyph, word, colour) in expectations(&t) {
            let buf = unselected(t.clone(), branch);
            let y = row_of(&buf, branch);
            let x = col_of(&buf, y, glyph);
            // The glyph, the space and every letter of the word carry the colour.
            for dx in 0..(2 + word.len() as u16) {
                let cell = &buf[(x + dx, y)];
                assert_eq!(
                    cell.fg,
                    colour,
                    "{name}: {branch} ({word}) cell {:?} at ({}, {y})",
                    cell.symbol(),
                    x + dx
                );
            }
            let text: String = (x + 2..x + 2 + word.len() as u16)
                .map(|x| buf[(x, y)].symbol())
                .collect();
            assert_eq!(text, word, "{name}: {branch}");
        }
    }
}

#[test]
fn shipped_themes_tell_the_statuses_apart_by_colour() {
    for name in SHIPPED {
        let t = theme(name);
        let s = &t.status;
        let colours = [s.up, s.degraded, s.down, s.maintenance];
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b, "{name}: two statuses share the colour {a:?}");
            }
        }
    }
}

#[test]
fn the_colour_blind_theme_draws_the_okabe_ito_palette() {
    for (branch, glyph, rgb) in [
        ("papafly", "●", (0x00, 0x9e, 0x73)),   // bluish green
        ("koosy", "◐", (0xe6, 0x9f, 0x00)),     // orange
        ("orbit", "✗", (0xd5, 0x5e, 0x00)),     // vermillion
        ("atlas", "◇", (0xcc, 0x79, 0xa7)),     // reddish purple
        ("lumen-lab", "?", (0x99, 0x99, 0x99)), // grey
    ] {
        let buf = unselected(theme("colorblind"), branch);
        let y = row_of(&buf, branch);
        let x = col_of(&buf, y, glyph);
        assert_eq!(buf[(x, y)].fg, Color::Rgb(rgb.0, rgb.1, rgb.2), "{branch}");
    }
}

#[test]
fn without_colour_the_glyphs_still_tell_the_statuses_apart() {
    let mut t = theme("dark");
    t.color = false;
    let mut glyphs = Vec::new();
    for (branch, glyph, word, _) in expectations(&t) {
        let buf = unselected(t.clone(), branch);
        let y = row_of(&buf, branch);
        let x = col_of(&buf, y, glyph);
        assert_eq!(
            buf[(x, y)].fg,
            Color::Reset,
            "{branch}: colour without colour"
        );
        let text: String = (x + 2..x + 2 + word.len() as u16)
            .map(|x| buf[(x, y)].symbol())
            .collect();
        assert_eq!(text, word, "{branch}");
        glyphs.push(glyph);
    }
    glyphs.sort();
    glyphs.dedup();
    assert_eq!(glyphs.len(), 5, "two statuses share a glyph");
}

#[test]
fn a_proposed_rollback_is_in_the_error_colour_and_bold() {
    for name in SHIPPED {
        let t = theme(name);
        let buf = buffer(&health_app(t.clone()));
        let y = row_of(&buf, "orbit");
        let x = (0..buf.area.width - 17)
            .find(|&x| {
                (x..x + 17)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    == "rollback proposed"
            })
            .unwrap_or_else(|| panic!("{name}: no \"rollback proposed\" on orbit's row"));
        let cell = &buf[(x, y)];
        assert_eq!(cell.fg, t.error, "{name}");
        assert!(cell.modifier.contains(Modifier::BOLD), "{name}");
    }
}

/// The health rows as runs of one style: `y x..x fg bg modifiers "text"`.
fn style_runs(buf: &Buffer, rows: std::ops::Range<u16>) -> String {
    let mut out = String::new();
    for y in rows {
        let mut x = 0;
        while x < buf.area.width {
            let c = &buf[(x, y)];
            let key = (c.fg, c.bg, c.modifier);
            let start = x;
            let mut text = String::new();
            while x < buf.area.width {
                let d = &buf[(x, y)];
                if (d.fg, d.bg, d.modifier) != key {
                    break;
                }
                text.push_str(d.symbol());
                x += 1;
            }
            if !text.trim().is_empty() {
                let _ = writeln!(
                    out,
                    "{y:>2} {start:>3}..{x:<3} fg={:?} bg={:?} mod={:?} {:?}",
                    key.0,
                    key.1,
                    key.2,
                    text.trim_end()
                );
            }
        }
    }
    out
}

#[test]
fn style_runs_of_the_health_rows_in_the_colour_blind_theme() {
    let buf = buffer(&health_app(theme("colorblind")));
    let first = row_of(&buf, "papafly") - 1; // the header row
    let last = (0..buf.area.height)
        .filter(|&y| {
            ["papafly", "koosy", "orbit", "lumen-lab", "atlas"]
                .iter()
                .any(|b| row_of(&buf, b) == y)
        })
        .max()
        .unwrap_or(first);
    insta::assert_snapshot!(style_runs(&buf, first..last + 1));
}

/// The cost meter zoomed, with one branch per escalation state: month-to-date tokens
/// against each tier's limit (standard 1,000,000; premium 5,000,000; default
/// escalation 1.0 / 1.2 / 1.5).
fn cost_app(theme: Theme) -> App {
    let now = t0();
    let mut app = App::new(now, theme, Keymap::default());
    let mut hq = common::snapshot();
    hq.cost_policy = serde_json::from_str(
        r#"{"tiers":{"incubation":{"monthlyTokenLimit":200000,"rate":0.00002},"standard":{"monthlyTokenLimit":1000000,"rate":0.000018},"premium":{"monthlyTokenLimit":5000000,"rate":0.000015}}}"#,
    )
    .ok();
    assert!(hq.cost_policy.is_some(), "the test's cost policy parses");
    let at = now - chrono::Duration::seconds(3);
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at,
    }));
    let ts = (now - chrono::Duration::days(10)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let records = [
        ("papafly", 1_000u64),    // standard (canary bills as standard): ok
        ("koosy", 1_100_000),     // 1.1 × limit: throttle
        ("orbit", 1_300_000),     // 1.3 × limit: notify
        ("atlas", 8_000_000),     // premium, 1.6 × limit: suspend
        ("lumen-lab", 1_000),     // incubation: ok
    ]
    .iter()
    .enumerate()
    .map(|(i, (b, tokens))| {
        common::record(
            i as u64 + 1,
            &format!(
                r#"{{"id":"TXN-{i}","branch":"{b}","event":"llm_generate","actor":"ci","timestamp":"{ts}","tokens":{tokens}}}"#
            ),
        )
    })
    .collect();
    app.update(Event::Msg(Msg::LedgerAppended { records, at }));
    app.update(Event::Tick(now));
    app.apply(Action::FocusCost);
    app.apply(Action::ToggleZoom);
    app.update(Event::Resize(160, 48));
    app
}

/// The cell where `word` starts on row `y` (a whole word: blanks on both sides).
fn word_at(buf: &Buffer, y: u16, word: &str) -> u16 {
    let cells: Vec<&str> = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
    let n = word.chars().count();
    (1..cells.len().saturating_sub(n))
        .find(|&x| {
            cells[x..x + n].concat() == word
                && cells[x - 1] == " "
                && cells.get(x + n).is_none_or(|c| *c == " ")
        })
        .map(|x| x as u16)
        .unwrap_or_else(|| panic!("no {word:?} on row {y}"))
}

#[test]
fn cost_states_are_drawn_in_their_colours_in_every_shipped_theme() {
    for name in SHIPPED {
        let t = theme(name);
        for (branch, state, colour, bold) in [
            ("papafly", "ok", t.ok, false),
            ("koosy", "throttle", t.warn, true),
            ("orbit", "notify", t.error, false),
            ("atlas", "suspend", t.error, true),
        ] {
            let mut app = cost_app(t.clone());
            // Keep the selection bar off the row under test.
            let buf0 = buffer(&app);
            if row_of(&buf0, branch)
                == (0..buf0.area.height)
                    .find(|&y| buf0[(1, y)].symbol() == "▌")
                    .unwrap_or(0)
            {
                app.apply(Action::Down);
            }
            let buf = buffer(&app);
            let y = row_of(&buf, branch);
            let x = word_at(&buf, y, state);
            for dx in 0..state.len() as u16 {
                let cell = &buf[(x + dx, y)];
                assert_eq!(cell.fg, colour, "{name}: {branch} {state}");
                assert_eq!(
                    cell.modifier.contains(Modifier::BOLD),
                    bold,
                    "{name}: {branch} {state} bold"
                );
            }
        }
    }
}
