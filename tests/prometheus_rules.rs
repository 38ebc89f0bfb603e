//! The shipped Prometheus alerting rules pass `promtool check rules`, and each rule
//! fires (and stays quiet) as `promtool test rules` expects; the example
//! `alertmanager.yml` passes `amtool check-config`. Skips with a message when a tool
//! is missing; fails when `CI` is set (CI installs prometheus and
//! prometheus-alertmanager).

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn tool(name: &str) -> Option<PathBuf> {
    let p = Path::new("/usr/bin").join(name);
    if p.is_file() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{} is missing; CI must install it (.ci/run)",
        p.display()
    );
    eprintln!("skipped: {} not installed", p.display());
    None
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn shipped_rules_check_and_fire_as_tested() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    run(Command::new(&promtool)
        .args(["check", "rules"])
        .arg(root().join("assets/prometheus/lumen.rules.yml")));
    run(Command::new(&promtool)
        .args(["test", "rules", "lumen.rules.test.yml"])
        .current_dir(root().join("tests/fixtures/prometheus")));
}

#[test]
fn example_alertmanager_config_is_valid() {
    let Some(amtool) = tool("amtool") else {
        return;
    };
    run(Command::new(&amtool)
        .arg("check-config")
        .arg(root().join("assets/prometheus/alertmanager.yml")));
}
