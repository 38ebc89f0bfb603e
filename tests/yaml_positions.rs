//! YAML errors name the line and column a custodian fixes: a syntax error on line 6,
//! a TAB in the indentation of line 4 and an unknown field, pinned as exact
//! `file:line:col: message` for every YAML file Lumen reads (scenarios, answer
//! scripts, config.yaml, themes, gateway_activation.yaml, observer_field.yaml).
//! The syntax and TAB positions are also checked against PyYAML when it is installed
//! (required when `CI` is set). Fixtures: tests/fixtures/yaml/<kind>-<case>.yaml.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use lumen::cli::GlobalArgs;
use lumen::domain::ceremony::{scenario, script};
use lumen::domain::hq;
use lumen::theme::{self, Theme};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/yaml")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The first error for fixture `name`, as `name:line:col: message`.
fn error(name: &str) -> String {
    let text = read(name);
    let path = Path::new(name);
    let kind = name.split('-').next().unwrap_or_default();
    let got = match kind {
        "scenario" => scenario::parse(name, &text)
            .map(|_| ())
            .map_err(|d| d.first().map(ToString::to_string).unwrap_or_default()),
        "script" => script::parse(name, &text)
            .map(|_| ())
            .map_err(|d| d.first().map(ToString::to_string).unwrap_or_default()),
        "config" => {
            lumen::config::load_from(Some(&dir().join(name)), true, None, &GlobalArgs::default())
                .map(|_| ())
                .map_err(|e| e.to_string().replace(&format!("{}/", dir().display()), ""))
        }
        "theme" => theme::parse_theme(path, text.as_bytes(), Theme::dark())
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "gateway" => hq::parse_gateway(path, text.as_bytes())
            .map(|_| ())
            .map_err(|e| e.to_string()),
        "observer" => hq::parse_observer_field(path, text.as_bytes())
            .map(|_| ())
            .map_err(|e| e.to_string()),
        other => panic!("no parser for fixture kind {other}"),
    };
    match got {
        Ok(()) => format!("{name}: parsed"),
        Err(e) => e,
    }
}

/// Every fixture and the exact first error it must give.
const CASES: [(&str, &str); 18] = [
    (
        "scenario-syntax.yaml",
        "scenario-syntax.yaml:6:4: while parsing a block collection, did not find expected '-' indicator",
    ),
    (
        "scenario-tab.yaml",
        "scenario-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    (
        "scenario-unknown.yaml",
        "scenario-unknown.yaml:6:5: unknown field `titel`, expected one of id, title",
    ),
    (
        "script-syntax.yaml",
        "script-syntax.yaml:6:4: while parsing a block collection, did not find expected '-' indicator",
    ),
    (
        "script-tab.yaml",
        "script-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    (
        "script-unknown.yaml",
        "script-unknown.yaml:6:5: unknown field `rol`, expected one of name, role, key",
    ),
    (
        "config-syntax.yaml",
        "config-syntax.yaml:6:4: while parsing a block collection, did not find expected '-' indicator",
    ),
    (
        "config-tab.yaml",
        "config-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    (
        "config-unknown.yaml",
        "config-unknown.yaml:6:5: unknown field `timout`, expected one of url, timeout, max_bytes",
    ),
    (
        "theme-syntax.yaml",
        "theme-syntax.yaml:6:12: mapping values are not allowed in this context",
    ),
    (
        "theme-tab.yaml",
        "theme-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    (
        "theme-unknown.yaml",
        "theme-unknown.yaml:6:3: unknown field `dwn`, expected one of up, degraded, down, maintenance, unknown",
    ),
    (
        "gateway-syntax.yaml",
        "gateway-syntax.yaml:6:13: mapping values are not allowed in this context",
    ),
    (
        "gateway-tab.yaml",
        "gateway-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    // gateway_activation.yaml belongs to the gateway: keys Lumen does not read are
    // ignored (lines 3-5), an unknown value of a key it reads is not.
    (
        "gateway-unknown.yaml",
        "gateway-unknown.yaml:6:11: gateway.status `humming` is unknown; expected one of initializing, binding, resonating, locked",
    ),
    (
        "observer-syntax.yaml",
        "observer-syntax.yaml:6:21: mapping values are not allowed in this context",
    ),
    (
        "observer-tab.yaml",
        "observer-tab.yaml:4:1: a TAB character in the indentation; YAML indents with spaces only",
    ),
    (
        "observer-unknown.yaml",
        "observer-unknown.yaml:6:3: unknown channel `gravity`; expected symmetry, continuity, entropy or safety",
    ),
];

#[test]
fn every_yaml_file_kind_reports_the_exact_position() {
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let got = error(name);
        if got != want {
            failures.push(format!("{name}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fixture_is_in_the_table() {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(names, listed);
}

/// `(line, column)` from a `name:line:col: message` string.
fn position(s: &str) -> (usize, usize) {
    let mut parts = s.splitn(4, ':').skip(1);
    let mut num = || {
        parts
            .next()
            .and_then(|p| p.trim().parse::<usize>().ok())
            .unwrap_or(0)
    };
    (num(), num())
}

#[test]
fn syntax_and_tab_positions_agree_with_pyyaml() {
    let probe = Command::new("python3").args(["-c", "import yaml"]).output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "PyYAML is required in CI (pip install pyyaml)"
        );
        eprintln!("skipped: python3 with PyYAML (import yaml) is not installed");
        return;
    }
    // One interpreter for every file (Python starts slowly on a busy machine).
    const SCRIPT: &str = r#"
import sys, yaml
for path in sys.argv[1:]:
    try:
        yaml.safe_load(open(path, encoding="utf-8"))
        print("ok")
    except yaml.MarkedYAMLError as e:
        print(f"{e.problem_mark.line + 1}:{e.problem_mark.column + 1}")
"#;
    let cases: Vec<&(&str, &str)> = CASES
        .iter()
        .filter(|(n, _)| n.ends_with("-syntax.yaml") || n.ends_with("-tab.yaml"))
        .collect();
    let out = Command::new("python3")
        .args(["-c", SCRIPT])
        .args(cases.iter().map(|(n, _)| dir().join(n)))
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let py: Vec<&str> = stdout.lines().collect();
    assert_eq!(py.len(), cases.len(), "PyYAML said:\n{stdout}");
    let mut failures = Vec::new();
    for ((name, want), py) in cases.iter().zip(py) {
        let (l, c) = position(want);
        if py != format!("{l}:{c}") {
            failures.push(format!("{name}: Lumen {l}:{c}, PyYAML {py}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_binary_prints_the_same_positions() {
    // `ceremony check DIR`: scenarios in DIR, answer scripts in DIR/scripts.
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scripts = tmp.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap_or_else(|e| panic!("{e}"));
    let mut wanted = Vec::new();
    for (name, want) in CASES {
        let to = if name.starts_with("scenario-") {
            tmp.path().join(name)
        } else if name.starts_with("script-") {
            scripts.join(name)
        } else {
            continue;
        };
        std::fs::copy(dir().join(name), &to).unwrap_or_else(|e| panic!("{e}"));
        wanted.push(format!(
            "{}:{}",
            to.display(),
            want.split_once(':').map_or("", |x| x.1)
        ));
    }
    let out = common::bin::lumen()
        .args(["ceremony", "check"])
        .arg(tmp.path())
        .output()
        .unwrap_or_else(|e| panic!("run lumen: {e}"));
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for w in &wanted {
        assert!(stdout.lines().any(|l| l == w), "missing `{w}` in\n{stdout}");
    }

    // The console refuses a broken config.yaml before the terminal is touched.
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for name in [
        "config-syntax.yaml",
        "config-tab.yaml",
        "config-unknown.yaml",
    ] {
        let file = dir().join(name);
        let out = common::bin::lumen()
            .arg("--config")
            .arg(&file)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .env("XDG_DATA_HOME", home.path().join("data"))
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run lumen: {e}"));
        assert_eq!(out.status.code(), Some(2), "{name}");
        let want = CASES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, w)| format!("lumen: {}{}", dir().join("").display(), w))
            .unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&out.stderr).trim_end(), want);
    }
}
