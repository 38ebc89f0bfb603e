//! End-to-end tests of `lumen simulate` and `lumen init` as the real binary.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lumen::domain::hq::{self, paths};

/// Kills the child when the test ends, however it ends.
struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `lumen simulate` and return it with the exporter URL from its first line.
fn simulate(root: &Path, extra: &[&str]) -> (Killed, String) {
    let mut child = common::bin::lumen()
        .args(["simulate", "--hq"])
        .arg(root)
        .args(["--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn lumen simulate");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let child = Killed(child);
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("simulate printed its URL")
        .trim()
        .to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/metrics"),
        "{url:?}"
    );
    (child, url)
}

/// Poll `f` every 100 ms until it returns Some, or panic after `secs`.
fn poll<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// `name{labels}` → value, for the simple label values this exporter emits.
fn samples(body: &str) -> BTreeMap<String, f64> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, v) = l.rsplit_once(' ').expect("sample line");
            (series.to_string(), v.parse::<f64>().expect("numeric value"))
        })
        .collect()
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn simulate_serves_metrics_health_and_appends() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("hq");
    let (_child, url) = simulate(&root, &["--events-per-sec", "20", "--seed", "4"]);
    let base = url.trim_end_matches("/metrics").to_string();
    let ledger = root.join(paths::LEDGER);
    let csv = root.join(paths::METRICS_CSV);
    let ledger_start = lines(&ledger).len();
    let csv_start = lines(&csv).len();
    assert!(ledger_start >= 250, "historic ledger: {ledger_start} lines");
    assert!(csv_start > 1000, "historic metrics.csv: {csv_start} lines");

    // Health URLs in the files now point at this server.
    let branches = std::fs::read_to_string(root.join(paths::BRANCHES)).expect("branches");
    assert!(branches.contains(&format!("{base}/health/koosy")));

    let rt = rt();
    let client = reqwest::Client::new();
    let get = |path: String| {
        let client = client.clone();
        rt.block_on(async move {
            let t = Instant::now();
            let r = client
                .get(&path)
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .expect("request");
            let status = r.status().as_u16();
            let body = r.text().await.expect("body");
            (status, body, t.elapsed())
        })
    };

    let (status, body, _) = get(url.clone());
    assert_eq!(status, 200);
    for family in [
        "lumen_gateway_status",
        "lumen_phase_diff",
        "lumen_entropy_rate",
        "lumen_creative_band",
        "lumen_risk_band",
        "lumen_rule_last_phase_diff_delta",
        "lumen_rule_last_entropy_rate_delta",
        "lumen_rule_last_creative_band_delta",
        "lumen_rule_last_risk_band_delta",
        "hq_branch_up",
        "hq_branch_latency_seconds",
        "hq_branch_error_ratio",
        "lumen_runs_total",
        "lumen_runs_success_total",
        "lumen_runs_failed_total",
    ] {
        assert!(body.contains(&format!("# HELP {family} ")), "HELP {family}");
        assert!(body.contains(&format!("# TYPE {family} ")), "TYPE {family}");
    }
    let s = samples(&body);
    let gw = s["lumen_gateway_status"];
    assert!((1.0..=4.0).contains(&gw), "gateway {gw}");
    for g in ["phase_diff", "entropy_rate", "creative_band", "risk_band"] {
        let v = s[&format!("lumen_{g}")];
        assert!((0.0..=1.0).contains(&v), "{g} = {v}");
        let delta = s
            .iter()
            .find(|(k, _)| k.starts_with(&format!("lumen_rule_last_{g}_delta{{rule=\"")))
            .map(|(_, v)| *v)
            .expect("delta sample");
        assert!((-1.0..=1.0).contains(&delta));
    }
    let ups: Vec<_> = s
        .iter()
        .filter(|(k, _)| k.starts_with("hq_branch_up{"))
        .collect();
    assert_eq!(ups.len(), 12);
    assert!(ups.iter().all(|(_, v)| **v == 0.0 || **v == 1.0));
    assert_eq!(s["hq_branch_up{branch=\"papafly\",tier=\"canary\"}"], 1.0);
    assert_eq!(
        s["hq_branch_up{branch=\"seedling\",tier=\"incubation\"}"],
        0.0
    );
    assert!(s["hq_branch_latency_seconds{branch=\"buckley\"}"] > 1.0);
    for (k, v) in s
        .iter()
        .filter(|(k, _)| k.starts_with("hq_branch_error_ratio{"))
    {
        assert!((0.0..=1.0).contains(v), "{k} = {v}");
    }

    // Counters move as events are generated.
    let runs0 = s["lumen_runs_total"];
    poll(20, "lumen_runs_total to grow", || {
        let (_, body, _) = get(url.clone());
        (samples(&body)["lumen_runs_total"] > runs0).then_some(())
    });

    // Health endpoints: healthy fast, down 503, slow ~1.5 s, unknown 404.
    // buckley and koosy are asked at once (buckley first): koosy answering first shows
    // it has no delay, without a wall-clock bar on it.
    let (koosy, buckley) = rt.block_on(async {
        let ask = |b: &str| {
            let req = client
                .get(format!("{base}/health/{b}"))
                .timeout(Duration::from_secs(10));
            async move {
                let t = Instant::now();
                let r = req.send().await.expect("request");
                (r.status().as_u16(), t.elapsed())
            }
        };
        let buckley = ask("buckley");
        let koosy = ask("koosy");
        tokio::pin!(buckley);
        tokio::select! {
            biased;
            b = &mut buckley => panic!("buckley (delayed ~1.5 s) answered before koosy: {b:?}"),
            k = koosy => (k, buckley.await),
        }
    });
    assert_eq!(koosy.0, 200);
    assert_eq!(get(format!("{base}/health/seedling")).0, 503);
    let (st, took) = buckley;
    assert_eq!(st, 200);
    // A lower bound: load can only make it slower.
    assert!(took >= Duration::from_millis(1300), "buckley took {took:?}");
    assert_eq!(get(format!("{base}/health/no-such-branch")).0, 404);
    // parksy flaps: both states within one 20 s period.
    let mut seen = std::collections::BTreeSet::new();
    poll(30, "parksy to flap", || {
        seen.insert(get(format!("{base}/health/parksy")).0);
        (seen.contains(&200) && seen.contains(&500)).then_some(())
    });

    // The ledger grew with valid lines; metrics.csv grew with valid rows.
    let all = poll(20, "ledger to grow", || {
        let l = lines(&ledger);
        (l.len() >= ledger_start + 20).then_some(l)
    });
    let mut ids = std::collections::HashSet::new();
    for (i, l) in all.iter().enumerate() {
        let e = lumen::domain::ledger::parse_line(l.as_bytes())
            .unwrap_or_else(|r| panic!("ledger line {}: {r}: {l}", i + 1));
        assert!(ids.insert(e.id.clone()), "duplicate id {}", e.id);
        if e.event == "llm_generate" {
            assert!(e.tokens.is_some());
        }
    }
    let rows = poll(20, "metrics.csv to grow", || {
        let l = lines(&csv);
        (l.len() >= csv_start + 10).then_some(l)
    });
    assert_eq!(
        rows[0],
        "ts,phase_diff,entropy_rate,creative_band,risk_band"
    );
    for r in &rows[1..] {
        let p = lumen::domain::rhythm::parse_metrics_row(r).expect("csv row");
        assert!(p.values.iter().all(|v| (0.0..=1.0).contains(v)), "{r}");
    }
}

#[test]
fn simulate_stops_after_duration_and_needs_hq() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut child, _url) = simulate(dir.path(), &["--duration", "1"]);
    let status = poll(30, "simulate to exit", || child.0.try_wait().ok().flatten());
    assert!(status.success(), "{status:?}");

    let out = common::bin::lumen()
        .args(["simulate", "--listen", "127.0.0.1:0", "--duration", "1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--hq"));
}

#[test]
fn init_creates_a_root_whose_files_parse() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("new-hq");
    let out = common::bin::lumen()
        .arg("init")
        .arg(&root)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Next steps"));

    let snap = lumen::sources::registry::load_snapshot(&root).expect("snapshot");
    assert!(snap.errors.is_empty(), "{:?}", snap.errors);
    let reg = snap.registry.expect("registry");
    assert_eq!(reg.branches.len(), 12);
    assert_eq!(reg.branches[0].id, "papafly");

    fn json<T: serde::de::DeserializeOwned>(root: &Path, rel: &str) -> T {
        let p = root.join(rel);
        serde_json::from_slice(&std::fs::read(&p).expect("read"))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }
    let _: hq::CostPolicy = json(&root, paths::COST_POLICY);
    let _: hq::SyncPlan = json(&root, paths::SYNC_PLAN);
    let _: hq::Keys = json(&root, paths::KEYS);
    let hc: hq::HealthCheck = json(&root, paths::HEALTH_CHECK);
    assert!(
        hc.endpoints
            .iter()
            .all(|u| u.starts_with("http://127.0.0.1:9108/health/"))
    );
    let hook: hq::RollbackHook = json(&root, paths::ROLLBACK_HOOK);
    assert!(Path::new(&hook.argv[0]).is_absolute() && Path::new(&hook.argv[0]).exists());
    for rel in [
        paths::POLICY,
        paths::DECISION_ENGINE,
        paths::CHANNELS,
        paths::NOTIFY_RULES,
    ] {
        let _: serde_json::Value = json(&root, rel);
    }
    for rel in [paths::GATEWAY, paths::OBSERVER_FIELD] {
        let text = std::fs::read_to_string(root.join(rel)).expect("yaml");
        let _: serde_json::Value =
            serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
    assert_eq!(
        std::fs::read(root.join(paths::LEDGER))
            .expect("ledger")
            .len(),
        0
    );

    // A second init on the same root is refused.
    let again = common::bin::lumen()
        .arg("init")
        .arg(&root)
        .output()
        .expect("run");
    assert_eq!(again.status.code(), Some(1));
}

/// The exposition passes Prometheus's own linter (`promtool check metrics`).
#[test]
fn exposition_passes_promtool() {
    let Some(promtool) = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .map(Path::new)
        .find(|p| p.exists())
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "promtool is required in CI (Debian package `prometheus`)"
        );
        println!("skipped: promtool not installed");
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let (_child, url) = simulate(dir.path(), &[]);
    let body = rt().block_on(async {
        reqwest::Client::new()
            .get(&url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("scrape")
            .text()
            .await
            .expect("body")
    });
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(body.as_bytes()).expect("write body");
    }
    let out = child.wait_with_output().expect("promtool output");
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Append one ledger line under the ledger lock, as the console does.
fn append_ledger_line(ledger: &Path, id: &str, event: &str) {
    use std::io::Write as _;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(ledger)
        .expect("open ledger");
    f.lock().expect("lock ledger");
    let line = format!(
        "{{\"id\":\"{id}\",\"branch\":\"hq\",\"event\":\"{event}\",\"actor\":\"test\",\"timestamp\":\"{}\"}}\n",
        chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
    );
    f.write_all(line.as_bytes()).expect("append");
    f.unlock().expect("unlock");
}

fn is_deploy(line: &str) -> bool {
    ["\"deploy\"", "\"deploy_test\"", "\"deploy_failed\""]
        .iter()
        .any(|e| line.contains(&format!("\"event\":{e}")))
}

/// Turn the kill switch on (a `kill_switch_activated` line) and read the next `n`
/// lines the generator writes after it.
fn lines_after_activation(ledger: &Path, n: usize) -> Vec<String> {
    append_ledger_line(ledger, "TXN-TEST-KS-ON", "kill_switch_activated");
    let at = lines(ledger)
        .iter()
        .position(|l| l.contains("TXN-TEST-KS-ON"))
        .expect("the activation line");
    poll(30, "lines after the activation", || {
        let all = lines(ledger);
        (all.len() > at + n).then(|| all[at + 1..].to_vec())
    })
}

/// The demo's automation obeys its kill switch: not one deploy line after the
/// activation, and deploys resume once it is released.
#[test]
fn simulate_writes_no_deploy_while_the_kill_switch_is_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("hq");
    let (_child, _) = simulate(&root, &["--events-per-sec", "300", "--seed", "6"]);
    let ledger = root.join(paths::LEDGER);
    let start = lines(&ledger).len();
    poll(30, "live deploys", || {
        lines(&ledger)[start..]
            .iter()
            .any(|l| is_deploy(l))
            .then_some(())
    });
    let after = lines_after_activation(&ledger, 600);
    let deploys: Vec<&String> = after.iter().filter(|l| is_deploy(l)).collect();
    assert!(
        deploys.is_empty(),
        "{} deploy lines after kill_switch_activated, first: {:?}",
        deploys.len(),
        deploys.first()
    );
    // ~35 % of draws are rollout steps: 600 lines without one is the switch at work.
    append_ledger_line(&ledger, "TXN-TEST-KS-OFF", "kill_switch_released");
    let off = lines(&ledger)
        .iter()
        .position(|l| l.contains("TXN-TEST-KS-OFF"))
        .expect("the release line");
    poll(30, "deploys after the release", || {
        lines(&ledger)[off + 1..]
            .iter()
            .any(|l| is_deploy(l))
            .then_some(())
    });
}

/// `--chaos`: the automation keeps deploying with the kill switch on (the path that
/// raises the critical KillSwitchViolation alert).
#[test]
fn simulate_chaos_keeps_deploying_through_the_kill_switch() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().join("hq");
    let (_child, _) = simulate(
        &root,
        &["--events-per-sec", "300", "--seed", "6", "--chaos"],
    );
    let ledger = root.join(paths::LEDGER);
    let start = lines(&ledger).len();
    poll(30, "live lines", || {
        (lines(&ledger).len() > start).then_some(())
    });
    let after = lines_after_activation(&ledger, 300);
    assert!(
        after.iter().filter(|l| is_deploy(l)).count() > 10,
        "--chaos should keep deploying after kill_switch_activated"
    );
}
