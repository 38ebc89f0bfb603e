//! Input latency of the real binary in a pseudo-terminal while its sources misbehave
//! (the speed bars that used to sit in tests/terminal_safety.rs and
//! tests/health_responsive.rs; those tests keep the functional checks):
//!
//! - `hostile`: four exporters that stall, drip, flood and fail; ten `?`/Esc toggles of
//!   the help overlay, each timed from the key to the screen (1 ms poll). Bar: median < 50 ms.
//! - `fleet`: 1,000 branches whose health endpoints answer after 1.5 s (a round always
//!   in flight); five `s` presses, each timed to its effect on screen. Bar: < 1 s.
//!
//! Run: `cargo bench --bench input_latency` (release build of the binary). Prints the
//! figures; exits non-zero when a bar is missed.

use std::time::{Duration, Instant};

#[path = "../tests/common/bin.rs"]
mod bin;
#[path = "../tests/common/pty.rs"]
mod pty;
#[path = "../tests/common/scenarios.rs"]
mod scenarios;

/// Send `key` and time until `shown(screen)` holds (1 ms poll).
fn time_key(p: &mut pty::Pty, key: &[u8], shown: impl Fn(&str) -> bool) -> Duration {
    let start = Instant::now();
    p.send(key);
    while !shown(&p.screen()) {
        if start.elapsed() > Duration::from_secs(10) {
            panic!("no answer within 10 s; screen:\n{}", p.screen());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    start.elapsed()
}

fn summary(what: &str, mut lat: Vec<Duration>) -> Duration {
    lat.sort();
    let median = lat[lat.len() / 2];
    let max = lat[lat.len() - 1];
    println!(
        "{what}: median {median:?}, max {max:?} ({} samples)",
        lat.len()
    );
    median
}

fn hostile() -> Duration {
    let home = tempfile::tempdir().expect("tempdir");
    let root = home.path().join("hq-root");
    let out = bin::lumen()
        .args(["init", root.to_str().expect("utf8")])
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .output()
        .expect("lumen init");
    assert!(out.status.success(), "init: {out:?}");
    let mut cfg = String::from("exporters:\n");
    for mode in ["stall", "drip", "huge", "500"] {
        let u = scenarios::hostile_exporter(mode);
        cfg.push_str(&format!("  - url: \"{u}\"\n    timeout: \"1s\"\n"));
    }
    let cfg_path = home.path().join("cfg.yaml");
    std::fs::write(&cfg_path, cfg).expect("config");
    let root_arg = root.to_string_lossy().into_owned();
    let cfg_arg = cfg_path.to_string_lossy().into_owned();
    let mut p = pty::Pty::spawn(
        &["--hq", &root_arg, "--config", &cfg_arg],
        160,
        48,
        home.path(),
    );
    p.wait_for("every exporter failing", Duration::from_secs(30), |s| {
        (1..=4).all(|i| s.contains(&format!("exporter #{i}"))) && s.contains('✗')
    });
    let lat = (0..10)
        .map(|round| {
            let open = round % 2 == 0;
            time_key(&mut p, if open { b"?" } else { b"\x1b" }, |s| {
                s.contains("Help —") == open
            })
        })
        .collect();
    p.send(b"q");
    p.wait_exit(Duration::from_secs(10));
    summary("help overlay under hostile exporters", lat)
}

fn fleet() -> Duration {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (base, in_flight) = scenarios::slow_health_server(&rt);
    let home = tempfile::tempdir().expect("tempdir");
    let hq = home.path().join("hq-root");
    scenarios::slow_fleet_hq(&hq, &base, 1_000);
    let hq_arg = hq.to_string_lossy().into_owned();
    let mut p = pty::Pty::spawn(&["--hq", &hq_arg, "--readonly"], 160, 48, home.path());
    p.wait_for("the health pane", Duration::from_secs(30), |s| {
        s.contains("Branch health") && s.contains("b0000")
    });
    let start = Instant::now();
    while in_flight.load(std::sync::atomic::Ordering::SeqCst) < 500 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no round in flight"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // `s` cycles the sort key; time each change of the title's `sort:` text.
    let sort_of = |s: &str| {
        s.split("sort: ")
            .skip(1)
            .filter_map(|t| t.split_whitespace().next())
            .collect::<Vec<_>>()
            .join(",")
    };
    let lat = (0..5)
        .map(|_| {
            let before = sort_of(&p.screen());
            time_key(&mut p, b"s", |s| sort_of(s) != before)
        })
        .collect();
    p.send(b"q");
    p.wait_exit(Duration::from_secs(10));
    summary("sort key during 1,000 checks in flight", lat)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs this too: skip there.
    if !std::env::args().any(|a| a == "--bench") {
        println!("input_latency: run with `cargo bench --bench input_latency`");
        return;
    }
    let h = hostile();
    let f = fleet();
    let mut failed = false;
    if h >= Duration::from_millis(50) {
        eprintln!("BAR MISSED: median help-overlay latency {h:?} ≥ 50 ms");
        failed = true;
    }
    if f >= Duration::from_secs(1) {
        eprintln!("BAR MISSED: median sort-key latency {f:?} ≥ 1 s");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}
