//! `lumen billing` end to end: totals cross-checked against an independent sum over
//! the ledger (serde_json + the docs/formats.md rate rule written out again here), byte-identical
//! re-runs, rejects counted, bad month → exit 2.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

const BRANCHES: &str = r#"{"hqVersion":"2.1","branches":[
 {"id":"papafly","repo":"d/papafly","domain":"p.example","visibility":"public","tier":"canary"},
 {"id":"koosy","repo":"d/koosy","domain":"k.example","visibility":"public","tier":"standard"},
 {"id":"lab","repo":"d/lab","domain":"l.example","visibility":"incubation","tier":"incubation"},
 {"id":"atlas","repo":"d/atlas","domain":"a.example","visibility":"private","tier":"canary","billingTier":"premium"},
 {"id":"idle","repo":"d/idle","domain":"i.example","visibility":"public","tier":"premium"}
]}"#;

const POLICY: &str = r#"{"tiers":{"incubation":{"monthlyTokenLimit":200000,"rate":0.00002},"standard":{"monthlyTokenLimit":1000000,"rate":0.000018},"premium":{"monthlyTokenLimit":5000000,"rate":0.000015}},"escalation":{"throttle":1.0,"notify":1.2,"suspend":1.5}}"#;

fn ledger() -> String {
    let mut lines = vec![
        // cost given
        r#"{"id":"T1","branch":"koosy","event":"llm_generate","tokens":1840,"cost":0.033,"timestamp":"2026-01-18T01:04:10Z"}"#.to_string(),
        // cost missing: canary → standard
        r#"{"id":"T2","branch":"papafly","event":"llm_generate","tokens":1000,"timestamp":"2026-01-18T02:00:00Z"}"#.into(),
        // entry's own tier wins
        r#"{"id":"T3","branch":"papafly","event":"llm_generate","tokens":1000,"tier":"premium","timestamp":"2026-01-18T03:00:00Z"}"#.into(),
        // billingTier
        r#"{"id":"T4","branch":"atlas","event":"llm_generate","tokens":7777,"timestamp":"2026-01-20T00:00:00Z"}"#.into(),
        // incubation, over its limit → notify (240k / 200k = 1.2)
        r#"{"id":"T5","branch":"lab","event":"llm_generate","tokens":240000,"timestamp":"2026-01-31T23:59:59Z"}"#.into(),
        // 2026-02-01 08:00 +09:00 is 2026-01-31 23:00 UTC: January
        r#"{"id":"T6","branch":"koosy","event":"llm_generate","tokens":10,"timestamp":"2026-02-01T08:00:00+09:00"}"#.into(),
        // 2026-01-31 20:00 -05:00 is February 1st UTC: not billed in January
        r#"{"id":"T7","branch":"koosy","event":"llm_generate","tokens":99999,"timestamp":"2026-01-31T20:00:00-05:00"}"#.into(),
        // December: not billed
        r#"{"id":"T8","branch":"koosy","event":"llm_generate","tokens":5,"cost":1.5,"timestamp":"2025-12-31T23:59:59Z"}"#.into(),
        // non-cost events still count as entries
        r#"{"id":"T9","branch":"koosy","event":"deploy_failed","timestamp":"2026-01-18T05:00:00Z"}"#.into(),
        // unknown branch (ledger only), unknown tier name → standard
        r#"{"id":"T10","branch":"ghost","event":"llm_generate","tokens":300,"tier":"gold","timestamp":"2026-01-02T00:00:00Z"}"#.into(),
        // rejects
        r#"{"id":"R1","branch":"koosy","event":"llm_generate","tokens":1}"#.into(),
        "not json".into(),
        "   ".into(),
        r#"{"id":"R2","branch":"koosy","event":"x","timestamp":"yesterday"}"#.into(),
        // empty line: ignored, not a reject
        String::new(),
    ];
    for i in 0..200 {
        lines.push(format!(
            r#"{{"id":"B{i}","branch":"koosy","event":"llm_generate","tokens":{},"cost":{},"timestamp":"2026-01-{:02}T{:02}:00:00Z"}}"#,
            100 + i,
            0.001 * f64::from(i),
            1 + i % 28,
            i % 24
        ));
    }
    let mut s = lines.join("\n");
    s.push('\n');
    // pending last line: not an entry
    s.push_str(r#"{"id":"P","branch":"koosy","event":"llm_generate","tokens":5,"cost":100.0,"timestamp":"2026-01-18T01:04:10Z"}"#);
    s
}

fn setup(dir: &Path) {
    std::fs::create_dir_all(dir.join("hq/registry")).unwrap();
    std::fs::create_dir_all(dir.join("hq/billing")).unwrap();
    std::fs::create_dir_all(dir.join("hq/ledger")).unwrap();
    std::fs::write(dir.join("hq/registry/branches.json"), BRANCHES).unwrap();
    std::fs::write(dir.join("hq/billing/cost-policy.json"), POLICY).unwrap();
    std::fs::write(dir.join("hq/ledger/ledger.jsonl"), ledger()).unwrap();
}

fn lumen(args: &[&str]) -> std::process::Output {
    common::bin::lumen()
        .args(args)
        .env("XDG_CONFIG_HOME", "/nonexistent-lumen-test")
        .output()
        .unwrap()
}

/// The independent computation: docs/ledger.md and docs/formats.md written out again, over serde_json values.
/// Returns branch → (entries, tokens, cost) and the reject count.
fn independent(dir: &Path, year: i32, month: u32) -> (BTreeMap<String, (u64, u64, f64)>, u64) {
    let policy: Value = serde_json::from_str(POLICY).unwrap();
    let reg: Value = serde_json::from_str(BRANCHES).unwrap();
    let rate_of = |tier: &str| policy["tiers"][tier]["rate"].as_f64();
    let branch = |id: &str| {
        reg["branches"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == id)
            .cloned()
    };
    let text = std::fs::read_to_string(dir.join("hq/ledger/ledger.jsonl")).unwrap();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    let mut out: BTreeMap<String, (u64, u64, f64)> = BTreeMap::new();
    let mut rejects = 0;
    for line in complete.lines() {
        if line.is_empty() {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            rejects += 1;
            continue;
        };
        let (Some(_), Some(b), Some(_), Some(ts)) = (
            v["id"].as_str(),
            v["branch"].as_str(),
            v["event"].as_str(),
            v["timestamp"].as_str(),
        ) else {
            rejects += 1;
            continue;
        };
        let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
            rejects += 1;
            continue;
        };
        let t = t.with_timezone(&chrono::Utc);
        use chrono::Datelike;
        if (t.year(), t.month()) != (year, month) {
            continue;
        }
        let tokens = v["tokens"].as_u64().unwrap_or(0);
        let cost = match v["cost"].as_f64() {
            Some(c) => c,
            None if v["tokens"].is_u64() => {
                let br = branch(b);
                let rate = v["tier"]
                    .as_str()
                    .and_then(rate_of)
                    .or_else(|| br.as_ref()?["billingTier"].as_str().and_then(rate_of))
                    .or_else(|| br.as_ref()?["tier"].as_str().and_then(rate_of))
                    .or_else(|| rate_of("standard"))
                    .unwrap();
                tokens as f64 * rate
            }
            None => 0.0,
        };
        let e = out.entry(b.to_string()).or_default();
        e.0 += 1;
        e.1 += tokens;
        e.2 += cost;
    }
    (out, rejects)
}

fn read_dir_bytes(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn totals_match_an_independent_sum_and_reruns_are_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    setup(tmp.path());
    let out = tmp.path().join("out");
    let hq = tmp.path().to_str().unwrap();
    let o = lumen(&[
        "billing",
        "--month",
        "2026-01",
        "--hq",
        hq,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = out.join("billing/2026-01");
    let first = read_dir_bytes(&dir);

    let (expect, rejects) = independent(tmp.path(), 2026, 1);
    assert_eq!(rejects, 4);
    // every branch with entries, plus the registry's idle one
    let mut names: Vec<&String> = first.keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "atlas.json",
            "ghost.json",
            "idle.json",
            "koosy.json",
            "lab.json",
            "papafly.json",
            "summary.csv"
        ]
    );
    let mut sum_cost = 0.0;
    let mut sum_tokens = 0;
    for (b, (entries, tokens, cost)) in &expect {
        let j: Value = serde_json::from_slice(&first[&format!("{b}.json")]).unwrap();
        assert_eq!(j["entries"].as_u64(), Some(*entries), "{b}");
        assert_eq!(j["tokens"].as_u64(), Some(*tokens), "{b}");
        let got = j["cost"].as_f64().unwrap();
        // each figure is the exact sum rounded to 8 decimals
        assert!((got - cost).abs() <= 1e-8, "{b}: {got} vs {cost}");
        // by_day and by_event add up to the branch total
        let day_sum: f64 = j["by_day"]
            .as_object()
            .unwrap()
            .values()
            .map(|d| d["cost"].as_f64().unwrap())
            .sum();
        let ev_tokens: u64 = j["by_event"]
            .as_object()
            .unwrap()
            .values()
            .map(|d| d["tokens"].as_u64().unwrap())
            .sum();
        assert!((day_sum - cost).abs() < 1e-6, "{b} by_day");
        assert_eq!(ev_tokens, *tokens, "{b} by_event");
        sum_cost += cost;
        sum_tokens += tokens;
    }
    // specific docs/formats.md checks
    let koosy: Value = serde_json::from_slice(&first["koosy.json"]).unwrap();
    assert_eq!(koosy["by_event"]["deploy_failed"]["entries"], 1);
    assert!(
        koosy["by_day"]["2026-01-31"].is_object(),
        "+09:00 entry lands on Jan 31 UTC"
    );
    let lab: Value = serde_json::from_slice(&first["lab.json"]).unwrap();
    assert_eq!(lab["state"], "notify");
    assert_eq!(lab["tier"], "incubation");
    assert_eq!(lab["monthly_token_limit"], 200000);
    let atlas: Value = serde_json::from_slice(&first["atlas.json"]).unwrap();
    assert_eq!(atlas["tier"], "premium");
    assert!((atlas["cost"].as_f64().unwrap() - 7777.0 * 0.000015).abs() < 1e-12);
    let papafly: Value = serde_json::from_slice(&first["papafly.json"]).unwrap();
    assert_eq!(papafly["tier"], "standard");
    assert!(
        (papafly["cost"].as_f64().unwrap() - (1000.0 * 0.000018 + 1000.0 * 0.000015)).abs() < 1e-12
    );
    let idle: Value = serde_json::from_slice(&first["idle.json"]).unwrap();
    assert_eq!(idle["entries"], 0);
    assert_eq!(idle["registered"], true);
    let ghost: Value = serde_json::from_slice(&first["ghost.json"]).unwrap();
    assert_eq!(ghost["registered"], false);

    // summary.csv: TOTAL equals the independent sum; REJECTED counts reject lines
    let csv = String::from_utf8(first["summary.csv"].clone()).unwrap();
    let total = csv.lines().find(|l| l.starts_with("TOTAL,")).unwrap();
    let cols: Vec<&str> = total.split(',').collect();
    assert_eq!(cols[5].parse::<u64>().unwrap(), sum_tokens);
    assert!(
        (cols[6].parse::<f64>().unwrap() - sum_cost).abs() < 1e-9,
        "{total}"
    );
    assert!(csv.lines().any(|l| l == "REJECTED,,,,4,,,,"), "{csv}");
    assert_eq!(csv.lines().count(), 1 + 6 + 2);

    // re-run: byte-identical
    let o = lumen(&[
        "billing",
        "--month",
        "2026-01",
        "--hq",
        hq,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success());
    assert_eq!(read_dir_bytes(&dir), first);
}

#[test]
fn json_keys_are_sorted() {
    let tmp = tempfile::tempdir().unwrap();
    setup(tmp.path());
    let hq = tmp.path().to_str().unwrap();
    let o = lumen(&["billing", "--month", "2026-01", "--hq", hq]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(tmp.path().join("billing/2026-01/koosy.json")).unwrap();
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("  \"") && !l.starts_with("   "))
        .map(|l| l.trim().split('"').nth(1).unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert!(keys.len() >= 10, "{keys:?}");
}

#[test]
fn bad_month_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    setup(tmp.path());
    let hq = tmp.path().to_str().unwrap();
    for m in ["2026-13", "2026-1", "january"] {
        let o = lumen(&["billing", "--month", m, "--hq", hq]);
        assert_eq!(o.status.code(), Some(2), "{m}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("YYYY-MM"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(!tmp.path().join("billing").exists());
}

#[test]
fn json_report_and_missing_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    setup(tmp.path());
    std::fs::remove_file(tmp.path().join("hq/ledger/ledger.jsonl")).unwrap();
    let hq = tmp.path().to_str().unwrap();
    let o = lumen(&["billing", "--month", "2026-01", "--hq", hq, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["entries"], 0);
    assert_eq!(v["branches"], 5);
    assert_eq!(v["cost"], 0.0);
}
