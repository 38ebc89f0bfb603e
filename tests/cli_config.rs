//! The real binary with a bad config or theme: exit 2 with `file:line:col: reason` on
//! stderr, before the alternate screen is ever entered (nothing on stdout).

mod common;

use std::process::Stdio;

fn run(args: &[&str], home: &std::path::Path) -> std::process::Output {
    common::bin::lumen()
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("spawn: {e}"))
}

#[test]
fn bad_config_exits_2_naming_file_and_line_before_the_screen() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cfg = home.path().join("bad.yaml");
    std::fs::write(&cfg, "theme: dark\nfps: 30\nno_such_key: 1\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let o = run(
        &[
            "--config",
            cfg.to_str().unwrap_or_default(),
            "--hq",
            "/nonexistent",
        ],
        home.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.yaml:3:"), "names file and line: {err}");
    assert!(err.contains("no_such_key"), "{err}");
    assert!(
        o.stdout.is_empty(),
        "nothing drawn: {:?}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn unknown_theme_exits_2() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = run(
        &["--theme", "no-such-theme", "--hq", "/nonexistent"],
        home.path(),
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("no-such-theme"));
    assert!(o.stdout.is_empty());
}

#[test]
fn missing_registry_exits_2_naming_the_file() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = run(
        &["--hq", home.path().to_str().unwrap_or_default()],
        home.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("branches.json"), "{err}");
    // A directory with no HQ at all: a newcomer is told what to run.
    assert!(err.contains("is not an HQ root"), "{err}");
    assert!(
        err.contains("lumen demo") && err.contains("lumen init"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    // A root that has hq/ but lost branches.json keeps the precise file error.
    std::fs::create_dir_all(home.path().join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    let o = run(
        &["--hq", home.path().to_str().unwrap_or_default()],
        home.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("hq/registry/branches.json"), "{err}");
    assert!(err.contains("cannot read"), "{err}");
}
