//! Every shipped theme is legible whatever the terminal's own background: it sets its
//! background, the console paints it under everything, and every text colour reaches
//! WCAG AA (4.5:1) against the background it is drawn on.
//!
//! The contrast is computed here from the theme files with the WCAG 2 formula (sRGB
//! relative luminance), independently of `lumen::theme`'s own implementation, which is
//! checked against it and against published reference values. Then whole screens are
//! drawn in each theme and every drawn cell is measured: text 4.5:1, borders and
//! graphics 3:1.

mod common;

use std::path::PathBuf;

use common::{draw, fixture_app};
use lumen::protocol::Action;
use lumen::theme::{StatusColors, Theme, parse_theme};
use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

fn themes_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("themes")
}

/// A theme with every colour `reset`: a file parsed over it keeps `reset` wherever it
/// does not set a colour itself, which the checks below refuse.
fn unset() -> Theme {
    let r = Color::Reset;
    Theme {
        name: String::new(),
        fg: r,
        bg: r,
        dim: r,
        accent: r,
        border: r,
        border_focused: r,
        title: r,
        selection_bg: r,
        selection_fg: r,
        ok: r,
        warn: r,
        error: r,
        info: r,
        status: StatusColors {
            up: r,
            degraded: r,
            down: r,
            maintenance: r,
            unknown: r,
        },
        series: [r; 4],
        threshold: r,
        marker: r,
        banner_bg: r,
        banner_fg: r,
        color: true,
    }
}

/// Every `themes/*.yaml`, parsed from the file on disk (not the embedded copy).
fn theme_files() -> Vec<(String, Theme)> {
    let mut out = Vec::new();
    let rd = std::fs::read_dir(themes_dir()).expect("read themes/");
    for e in rd {
        let path = e.expect("dir entry").path();
        if path.extension().is_none_or(|x| x != "yaml") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("read theme");
        let t = parse_theme(&path, &bytes, unset()).unwrap_or_else(|e| panic!("{e}"));
        out.push((path.display().to_string(), t));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(out.len() >= 4, "expected the shipped themes in themes/");
    out
}

/// Exact RGB, or a failure naming the key: shipped themes use `#rrggbb` only, so the
/// check does not depend on how a terminal maps ANSI names.
fn hex(file: &str, key: &str, c: Color) -> (u8, u8, u8) {
    match c {
        Color::Rgb(r, g, b) => (r, g, b),
        other => panic!("{file}: `{key}` is {other:?}; shipped themes set every colour as #rrggbb"),
    }
}

fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    fn channel(v: u8) -> f64 {
        let s = f64::from(v) / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    }
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

fn ratio(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// (foreground key, colour, background key, colour, minimum), as the console draws them.
fn pairs(t: &Theme) -> Vec<(String, Color, &'static str, Color, f64)> {
    let mut v = Vec::new();
    let text = [
        ("fg", t.fg),
        ("dim", t.dim),
        ("accent", t.accent),
        ("title", t.title),
        ("border_focused", t.border_focused),
        ("ok", t.ok),
        ("warn", t.warn),
        ("error", t.error),
        ("info", t.info),
        ("threshold", t.threshold),
        ("marker", t.marker),
    ];
    let status = [
        ("status.up", t.status.up),
        ("status.degraded", t.status.degraded),
        ("status.down", t.status.down),
        ("status.maintenance", t.status.maintenance),
        ("status.unknown", t.status.unknown),
    ];
    for (k, c) in text.iter().chain(status.iter()) {
        v.push((k.to_string(), *c, "bg", t.bg, 4.5));
    }
    for (i, c) in t.series.iter().enumerate() {
        v.push((format!("series[{i}]"), *c, "bg", t.bg, 4.5));
    }
    // A selected row keeps its status colour on the selection background.
    for (k, c) in status {
        v.push((k.to_string(), c, "selection_bg", t.selection_bg, 4.5));
    }
    v.push((
        "selection_fg".into(),
        t.selection_fg,
        "selection_bg",
        t.selection_bg,
        4.5,
    ));
    v.push((
        "banner_fg".into(),
        t.banner_fg,
        "banner_bg",
        t.banner_bg,
        4.5,
    ));
    // The ledger-history alarm banner is drawn on the error colour.
    v.push(("banner_fg".into(), t.banner_fg, "error", t.error, 4.5));
    // Borders are not text: WCAG asks 3:1 of UI components.
    v.push(("border".into(), t.border, "bg", t.bg, 3.0));
    v
}

#[test]
fn the_formula_matches_published_reference_values() {
    let close = |a: f64, b: f64| (a - b).abs() < 0.005;
    assert!(close(ratio((0, 0, 0), (255, 255, 255)), 21.0));
    assert!(close(ratio((255, 255, 255), (255, 255, 255)), 1.0));
    // WebAIM's contrast checker: #777777 on white 4.48:1, #767676 on white 4.54:1.
    assert!(close(ratio((0x77, 0x77, 0x77), (255, 255, 255)), 4.48));
    assert!(close(ratio((0x76, 0x76, 0x76), (255, 255, 255)), 4.54));
    // Pure red on black 5.25:1, pure blue on white 8.59:1.
    assert!(close(ratio((255, 0, 0), (0, 0, 0)), 5.25));
    assert!(close(ratio((0, 0, 255), (255, 255, 255)), 8.59));
    // The library (used by `lumen doctor`) agrees.
    let lib = |a: (u8, u8, u8), b: (u8, u8, u8)| {
        lumen::theme::contrast_ratio(Color::Rgb(a.0, a.1, a.2), Color::Rgb(b.0, b.1, b.2))
            .expect("rgb colours have a ratio")
    };
    for (a, b) in [
        ((0x77, 0x77, 0x77), (255, 255, 255)),
        ((0x1d, 0x21, 0x28), (0xe0, 0x82, 0x8a)),
        ((0, 0, 0), (0xd5, 0x5e, 0x00)),
    ] {
        assert!((lib(a, b) - ratio(a, b)).abs() < 1e-6, "{a:?} on {b:?}");
    }
    // Named colours map to xterm's defaults; `reset` has no ratio.
    assert_eq!(lumen::theme::rgb(Color::Red), Some((0xcd, 0, 0)));
    assert_eq!(
        lumen::theme::rgb(Color::Indexed(244)),
        Some((128, 128, 128))
    );
    assert_eq!(lumen::theme::rgb(Color::Indexed(196)), Some((255, 0, 0)));
    assert_eq!(
        lumen::theme::contrast_ratio(Color::Reset, Color::White),
        None
    );
}

#[test]
fn every_shipped_theme_sets_its_background_and_reaches_aa() {
    let mut failures = Vec::new();
    for (file, t) in theme_files() {
        let bg = hex(&file, "bg", t.bg);
        let mut min = f64::INFINITY;
        for (fk, fc, bk, bc, need) in pairs(&t) {
            let r = ratio(hex(&file, &fk, fc), hex(&file, bk, bc));
            if need >= 4.5 {
                min = min.min(r);
            }
            if r < need {
                failures.push(format!("{file}: `{fk}` on `{bk}` is {r:.2}:1 (< {need}:1)"));
            }
        }
        println!(
            "{file}: bg #{:02x}{:02x}{:02x}, lowest text contrast {min:.2}:1",
            bg.0, bg.1, bg.2
        );
        // What `lumen doctor` says about the same theme.
        assert!(
            t.contrast_problems().is_empty(),
            "{file}: the library disagrees: {:?}",
            t.contrast_problems()
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_embedded_themes_are_the_files_on_disk() {
    for (file, from_disk) in theme_files() {
        let name = from_disk.name.clone();
        let embedded = lumen::theme::load_theme_colors(&name, None)
            .unwrap_or_else(|e| panic!("{file}: `{name}` is not a shipped theme: {e}"));
        assert_eq!(
            embedded,
            Theme {
                name: name.clone(),
                ..from_disk
            },
            "{file}"
        );
    }
}

/// The fixture app switched to `t` the way a user does: the only theme `t` cycles to.
fn with_theme(t: Theme) -> lumen::app::App {
    let mut app = fixture_app();
    let name = t.name.clone();
    let colour = t.color;
    app.set_themes(vec![t]);
    let _ = app.apply(Action::CycleTheme);
    assert_eq!(
        (app.shell().theme.name.as_str(), app.shell().theme.color),
        (name.as_str(), colour)
    );
    app
}

/// Measure every drawn cell: text against its own background at 4.5:1; box drawing,
/// block and braille graphics at 3:1. `REVERSED` swaps the two. Returns the failures.
fn measure(buf: &Buffer, what: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let (mut fg, mut bg) = (c.fg, c.bg);
            if c.modifier.contains(Modifier::REVERSED) {
                std::mem::swap(&mut fg, &mut bg);
            }
            let (Color::Rgb(fr, fg_, fb), Color::Rgb(br, bg_, bb)) = (fg, bg) else {
                bad.push(format!(
                    "{what} ({x},{y}) {:?}: unpainted fg {fg:?} bg {bg:?}",
                    c.symbol()
                ));
                continue;
            };
            let sym = c.symbol();
            if sym.trim().is_empty() {
                continue;
            }
            let graphic = sym
                .chars()
                .all(|ch| matches!(ch as u32, 0x2500..=0x259f | 0x2800..=0x28ff | 0x25a0..=0x25ff));
            let need = if graphic { 3.0 } else { 4.5 };
            let r = ratio((fr, fg_, fb), (br, bg_, bb));
            if r < need {
                bad.push(format!("{what} ({x},{y}) {sym:?}: {r:.2}:1 < {need}:1"));
            }
        }
    }
    bad
}

#[test]
fn every_drawn_cell_is_painted_and_legible_in_every_shipped_theme() {
    let mut failures = Vec::new();
    for (file, t) in theme_files() {
        let screens: [(&str, u16, u16, &[Action]); 10] = [
            ("tiled", 160, 48, &[]),
            ("tiled", 120, 32, &[]),
            ("tabbed", 80, 24, &[]),
            ("help", 160, 48, &[Action::ToggleHelp]),
            ("help", 80, 24, &[Action::ToggleHelp]),
            (
                "health zoomed",
                160,
                48,
                &[Action::FocusHealth, Action::ToggleZoom],
            ),
            (
                "rhythm zoomed",
                80,
                24,
                &[Action::FocusRhythm, Action::ToggleZoom],
            ),
            (
                "ledger zoomed",
                80,
                24,
                &[Action::FocusLedger, Action::ToggleZoom],
            ),
            (
                "cost zoomed",
                80,
                24,
                &[Action::FocusCost, Action::ToggleZoom],
            ),
            (
                "ceremony zoomed",
                80,
                24,
                &[Action::FocusCeremony, Action::ToggleZoom],
            ),
        ];
        for (what, w, h, actions) in screens {
            let mut app = with_theme(t.clone());
            for a in actions {
                let _ = app.apply(*a);
            }
            let term = draw(&app, w, h);
            failures.extend(measure(
                term.backend().buffer(),
                &format!("{file} {what} {w}x{h}"),
            ));
        }
    }
    // One line per screen and kind of failure, with its first cell and a count.
    let mut grouped: std::collections::BTreeMap<String, (usize, String)> = Default::default();
    for f in &failures {
        let (head, tail) = f.split_once(" (").unwrap_or((f, ""));
        let kind = tail.rsplit_once(": ").map_or(tail, |(_, k)| k);
        let e = grouped
            .entry(format!("{head}: {kind}"))
            .or_insert((0, f.clone()));
        e.0 += 1;
    }
    assert!(
        failures.is_empty(),
        "{} cells fail:\n{}",
        failures.len(),
        grouped
            .iter()
            .map(|(k, (n, first))| format!("{n:>5} × {k}   e.g. {first}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn without_colour_nothing_is_painted() {
    let mut t = Theme::dark();
    t.name = "no-colour".into();
    t.color = false;
    let app = with_theme(t);
    let term = draw(&app, 80, 24);
    let buf = term.backend().buffer();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            assert_eq!((c.fg, c.bg), (Color::Reset, Color::Reset), "({x},{y})");
        }
    }
}
