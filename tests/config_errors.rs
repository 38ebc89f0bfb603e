//! Config, theme and keymap loading: valid files load, invalid ones fail with the
//! exact `file:line:col: message` (main turns these into exit 2 before the
//! alternate screen).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lumen::cli::GlobalArgs;
use lumen::config::{self, Config};
use lumen::protocol::Action;
use lumen::theme::{self, Theme};
use ratatui::style::Color;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config")
}

fn load(name: &str, g: &GlobalArgs) -> Result<Config, String> {
    let d = dir();
    config::load_from(Some(&d.join(name)), true, Some(d.join("themes")), g)
        .map_err(|e| e.to_string())
}

/// The error for fixture `name`, with the fixture directory stripped from the path.
fn err(name: &str) -> String {
    match load(name, &GlobalArgs::default()) {
        Ok(_) => panic!("{name} loaded but must fail"),
        Err(e) => e.replace(&format!("{}/", dir().display()), ""),
    }
}

#[test]
fn valid_config_sets_every_key() {
    let c = load("valid.yaml", &GlobalArgs::default()).unwrap();
    let d = dir();
    assert_eq!(c.hq_root, d.join("./hq"));
    assert_eq!(c.key, Some(d.join("keys/operator.pem")));
    assert_eq!(c.exporters.len(), 2);
    assert_eq!(c.exporters[0].timeout, Duration::from_secs(2));
    assert_eq!(c.exporters[0].max_bytes, 16_777_216);
    assert_eq!(c.exporters[1].timeout, Duration::from_millis(500));
    assert_eq!(c.exporters[1].max_bytes, 16 * 1024 * 1024);
    assert_eq!(c.prometheus_url.as_deref(), Some("http://127.0.0.1:9090"));
    assert_eq!(
        c.alertmanager_url.as_deref(),
        Some("http://127.0.0.1:9093"),
        "trailing slash dropped"
    );
    assert_eq!(c.fps, 20);
    assert_eq!(
        c.scenario_dirs,
        [d.join("scenarios"), PathBuf::from("/opt/lumen/scenarios")]
    );
    assert_eq!(c.config_file, Some(d.join("valid.yaml")));
    // keymap overrides replace that action's defaults
    let ev = |code, mods| KeyEvent::new(code, mods);
    assert_eq!(
        c.keymap
            .action_for(&ev(KeyCode::Char('r'), KeyModifiers::NONE)),
        Some(Action::Rollback)
    );
    assert_eq!(
        c.keymap
            .action_for(&ev(KeyCode::Char('R'), KeyModifiers::SHIFT)),
        None
    );
    assert_eq!(
        c.keymap
            .action_for(&ev(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        Some(Action::Quit)
    );
    assert_eq!(
        c.keymap
            .action_for(&ev(KeyCode::BackTab, KeyModifiers::SHIFT)),
        Some(Action::FocusPrev)
    );
    assert_eq!(
        c.keymap
            .action_for(&ev(KeyCode::BackTab, KeyModifiers::NONE)),
        Some(Action::FocusPrev)
    );
    // user theme "ocean": two fields set, the rest from dark
    assert_eq!(c.loaded_theme.name, "ocean");
    assert_eq!(c.loaded_theme.accent, Color::Rgb(0x00, 0xa0, 0xc0));
    assert_eq!(c.loaded_theme.status.down, Color::LightRed);
    assert_eq!(c.loaded_theme.status.up, Theme::dark().status.up);
}

#[test]
fn cli_flags_override_the_file() {
    let g = GlobalArgs {
        hq: Some(PathBuf::from("/srv/hq")),
        key: Some(PathBuf::from("/k.pem")),
        theme: Some("high-contrast".into()),
        readonly: true,
        ..Default::default()
    };
    let c = load("valid.yaml", &g).unwrap();
    assert_eq!(c.hq_root, PathBuf::from("/srv/hq"));
    assert_eq!(c.key, Some(PathBuf::from("/k.pem")));
    assert_eq!(c.loaded_theme.name, "high-contrast");
    assert!(c.readonly);
    assert_eq!(c.fps, 20, "file value kept where the CLI is silent");
}

#[test]
fn missing_files() {
    // --config naming a missing file is an error; the default location may be absent.
    let missing = dir().join("nope.yaml");
    let e = config::load_from(Some(&missing), true, None, &GlobalArgs::default()).unwrap_err();
    assert!(
        e.to_string().contains("nope.yaml: cannot read config"),
        "{e}"
    );
    let c = config::load_from(Some(&missing), false, None, &GlobalArgs::default()).unwrap();
    assert_eq!(c.theme, "dark");
    assert_eq!(c.config_file, None);
}

#[test]
fn unknown_theme_on_the_command_line() {
    let g = GlobalArgs {
        theme: Some("neon".into()),
        ..Default::default()
    };
    let e = config::load_from(None, false, None, &g)
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "--theme: unknown theme `neon`; expected one of dark, light, high-contrast, colorblind"
    );
}

const CASES: &[(&str, &str)] = &[
    (
        "unknown_key.yaml",
        "unknown_key.yaml:2:1: unknown field `fsp`, expected one of hq_root, theme, key, exporters, prometheus_url, alertmanager_url, fps, osc52, scenario_dirs, keymap",
    ),
    (
        "bad_fps.yaml",
        "bad_fps.yaml:2:6: fps is 0; expected 1..=240",
    ),
    (
        "fps_type.yaml",
        "fps_type.yaml:1:6: not a whole number; expected an integer such as 30",
    ),
    (
        "bad_exporter_url.yaml",
        "bad_exporter_url.yaml:3:10: exporter url `127.0.0.1:9109` is not a URL; expected http://host:port/…",
    ),
    (
        "bad_alertmanager_url.yaml",
        "bad_alertmanager_url.yaml:2:19: alertmanager_url `127.0.0.1:9093` is not a URL; expected http://host:port/…",
    ),
    (
        "alertmanager_url_credentials.yaml",
        "alertmanager_url_credentials.yaml:1:19: alertmanager_url carries credentials; expected http://host:port (put an authenticating proxy in front instead)",
    ),
    (
        "alertmanager_url_query.yaml",
        "alertmanager_url_query.yaml:1:19: alertmanager_url `http://127.0.0.1:9093/?x=1` has a query or fragment; expected the base URL, e.g. http://127.0.0.1:9093",
    ),
    (
        "exporter_unknown_field.yaml",
        "exporter_unknown_field.yaml:3:5: unknown field `timout`, expected one of url, timeout, max_bytes",
    ),
    (
        "bad_timeout.yaml",
        "bad_timeout.yaml:3:14: timeout: `soon` is not a duration; expected e.g. \"500ms\", \"2s\", \"5m\", \"1h\"",
    ),
    (
        "bad_max_bytes.yaml",
        "bad_max_bytes.yaml:3:16: max_bytes is -1; expected 1..=4294967296",
    ),
    (
        "unknown_theme.yaml",
        "unknown_theme.yaml:2:8: theme: unknown theme `solarized`; expected one of dark, light, high-contrast, colorblind, broken, ocean, series3, unknown_field",
    ),
    (
        "broken_theme.yaml",
        "themes/broken.yaml:3:7: status.up: `#12345` is not a colour; expected \"#rrggbb\"",
    ),
    (
        "syntax.yaml",
        "syntax.yaml:4:1: invalid indentation in multiline quoted scalar",
    ),
    (
        "keymap_conflict.yaml",
        "keymap_conflict.yaml:3:22: key `q` is bound to both `kill_switch` and `quit`; expected one action per key (rebind one of them)",
    ),
    (
        "keymap_conflict_default.yaml",
        "keymap_conflict_default.yaml:2:10: key `j` is bound to both `down` and `quit`; expected one action per key (rebind one of them)",
    ),
    (
        "keymap_unknown_action.yaml",
        "keymap_unknown_action.yaml:3:12: unknown action `explode`; expected one of quit, toggle_help, focus_next, focus_prev, focus_health, focus_ledger, focus_cost, focus_rhythm, focus_ceremony, toggle_zoom, cycle_theme, up, down, page_up, page_down, top, bottom, left, right, select, back, toggle_follow, open_filter, open_palette, next_match, prev_match, show_rejects, rollback, rule_rollback, kill_switch, maintenance, narrower_window, wider_window, toggle_series, cycle_sort, cycle_context, toggle_alerts, silence_alert, open_notifications, dismiss_notices, copy, custody_view, sync_view, policy_overlay, branch_lock",
    ),
    (
        "keymap_bad_key.yaml",
        "keymap_bad_key.yaml:2:15: keymap.quit: unknown key `hyper-q`; expected e.g. \"q\", \"R\", \"ctrl-r\", \"shift-tab\", \"pgdn\", \"f5\", \"space\"",
    ),
    (
        "keymap_ctrl_irreversible.yaml",
        "keymap_ctrl_irreversible.yaml:2:14: `rollback` is irreversible and may not be bound to the Ctrl chord `ctrl-r`; expected a plain key such as \"R\"",
    ),
    (
        "keymap_ctrl_maintenance.yaml",
        "keymap_ctrl_maintenance.yaml:4:7: `maintenance` is irreversible and may not be bound to the Ctrl chord `alt-ctrl-m`; expected a plain key such as \"R\"",
    ),
];

#[test]
fn invalid_configs_fail_with_exact_position_and_message() {
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let got = err(name);
        if got != *want {
            failures.push(format!("{name}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn theme_err(name: &str) -> String {
    let path = dir().join("themes").join(name);
    let bytes = std::fs::read(&path).unwrap();
    theme::parse_theme(Path::new(name), &bytes, Theme::dark())
        .unwrap_err()
        .to_string()
}

#[test]
fn invalid_themes() {
    assert_eq!(
        theme_err("broken.yaml"),
        "broken.yaml:3:7: status.up: `#12345` is not a colour; expected \"#rrggbb\""
    );
    assert_eq!(
        theme_err("unknown_field.yaml"),
        "unknown_field.yaml:2:1: unknown field `bakground`, expected one of name, fg, bg, dim, accent, border, border_focused, title, selection_bg, selection_fg, ok, warn, error, info, status, series, threshold, marker, banner_bg, banner_fg"
    );
    assert_eq!(
        theme_err("series3.yaml"),
        "series3.yaml:1:9: series has 3 colours; expected 4 (phase_diff, entropy_rate, creative_band, risk_band)"
    );
}

#[test]
fn user_theme_overrides_shipped_theme_field_by_field() {
    let t = theme::load_theme_colors("dark", Some(&dir().join("themes"))).unwrap();
    assert_eq!(t.warn, Color::Yellow);
    assert_eq!(t.fg, Theme::dark().fg);
    let shipped = theme::load_theme_colors("light", Some(&dir().join("themes"))).unwrap();
    assert_ne!(shipped.fg, Theme::dark().fg, "light is not dark");
}

#[test]
fn theme_names_list_shipped_then_user() {
    let names = theme::theme_names(Some(&dir().join("themes")));
    assert_eq!(
        names,
        [
            "dark",
            "light",
            "high-contrast",
            "colorblind",
            "broken",
            "ocean",
            "series3",
            "unknown_field"
        ]
    );
    assert_eq!(theme::theme_names(None).len(), 4);
}

/// NO_COLOR is read from the environment, so check it in a child process (setting
/// the variable in this multi-threaded test binary would race other tests).
#[test]
fn no_color_turns_colours_off() {
    if std::env::var_os("LUMEN_TEST_NO_COLOR_CHILD").is_some() {
        let t = theme::load_theme("dark", None).unwrap();
        assert_eq!(
            t.color,
            std::env::var("NO_COLOR")
                .map(|v| v.is_empty())
                .unwrap_or(true)
        );
        return;
    }
    let exe = std::env::current_exe().unwrap();
    for (value, _) in [("1", false), ("", true)] {
        let out = std::process::Command::new(&exe)
            .args(["--exact", "no_color_turns_colours_off", "--test-threads=1"])
            .env("LUMEN_TEST_NO_COLOR_CHILD", "1")
            .env("NO_COLOR", value)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "NO_COLOR={value:?}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
    }
}

#[test]
fn garbage_configs_and_themes_never_panic() {
    let inputs: [&[u8]; 10] = [
        b"",
        b"\xff\xfe",
        b"- a\n- b\n",
        b"fps: 99999999999999999999999\n",
        b"keymap: {quit: [\"\"]}\n",
        b"keymap: {quit: 5}\n",
        b"exporters: [{url: http://x, max_bytes: 1e99}]\n",
        b"a: &a [*a]\n",
        b"theme: ../../etc/passwd\n",
        b"status: {up: [1,2]}\nseries: []\n",
    ];
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.yaml");
    for i in inputs {
        let _ = config::apply_file(Config::default(), &p, i);
        let _ = theme::parse_theme(&p, i, Theme::dark());
    }
    let e = config::apply_file(Config::default(), &p, b"theme: ../../etc/passwd\n").unwrap_err();
    assert!(e.message.contains("unknown theme"), "{e}");
}

/// Deterministic mutation fuzzing of the valid config and every shipped theme.
#[test]
fn mutated_config_and_themes_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xc0f19);
    let alphabet = b"{}[]:,\"' \n-#&*!|>0123456789abcqrtxy\xc3\xa9\xff";
    let config = std::fs::read(dir().join("valid.yaml")).unwrap();
    let mut inputs = vec![config];
    for (_, y) in theme::BUILTIN {
        inputs.push(y.as_bytes().to_vec());
    }
    let path = dir().join("mutated.yaml");
    for original in inputs {
        for _ in 0..300 {
            let mut b = original.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                match rng.random_range(0..3) {
                    0 => b[i] = alphabet[rng.random_range(0..alphabet.len())],
                    1 => {
                        b.remove(i);
                    }
                    _ => {
                        let c = b[i];
                        b.insert(i, c);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            let _ = config::apply_file(Config::default(), &path, &b);
            let _ = theme::parse_theme(&path, &b, Theme::dark());
        }
    }
}
