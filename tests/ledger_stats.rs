//! `ledger stats`: docs/formats.md cost-tier rule, month filter, JSON shape.

use lumen::store::stats::{Month, Rates, stats_of};

fn rates() -> Rates {
    let mut r = Rates::default();
    r.tiers.insert("standard".into(), 0.5);
    r.tiers.insert("premium".into(), 0.25);
    r.tiers.insert("incubation".into(), 1.0);
    r.branches
        .insert("papafly".into(), (None, Some("canary".into())));
    r.branches.insert(
        "dimas".into(),
        (Some("premium".into()), Some("standard".into())),
    );
    r.branches
        .insert("lubit".into(), (None, Some("incubation".into())));
    r
}

#[test]
fn cost_tier_rule_and_month_filter() {
    let ledger = concat!(
        // papafly: canary is not a cost tier -> standard (0.5)
        r#"{"id":"1","branch":"papafly","event":"llm_generate","tokens":10,"timestamp":"2026-01-31T23:00:00Z"}"#,
        "\n",
        // explicit cost wins
        r#"{"id":"2","branch":"papafly","event":"llm_generate","tokens":10,"cost":0.125,"timestamp":"2026-01-10T00:00:00Z"}"#,
        "\n",
        // billingTier premium (0.25) over tier standard
        r#"{"id":"3","branch":"dimas","event":"llm_generate","tokens":8,"timestamp":"2026-01-10T00:00:00Z"}"#,
        "\n",
        // the entry's own cost tier wins over the branch's
        r#"{"id":"4","branch":"dimas","event":"llm_generate","tokens":8,"tier":"incubation","timestamp":"2026-01-10T00:00:00Z"}"#,
        "\n",
        // branch tier incubation (1.0); unknown branch -> standard
        r#"{"id":"5","branch":"lubit","event":"llm_generate","tokens":3,"timestamp":"2026-01-10T00:00:00Z"}"#,
        "\n",
        r#"{"id":"6","branch":"nobody","event":"deploy","tokens":2,"timestamp":"2026-01-10T00:00:00Z"}"#,
        "\n",
        // February in UTC although January at the writer's offset
        r#"{"id":"7","branch":"lubit","event":"deploy","tokens":100,"timestamp":"2026-01-31T23:30:00-05:00"}"#,
        "\n",
        "not json\n",
    );
    let all = stats_of(ledger.as_bytes(), &rates(), None, 2);
    assert_eq!(
        (all.lines, all.entries, all.rejects, all.pending),
        (8, 7, 1, false)
    );
    let cost = |s: &lumen::store::stats::Stats, b: &str| s.branches.get(b).map(|x| x.cost);
    assert_eq!(cost(&all, "papafly"), Some(5.0 + 0.125));
    assert_eq!(cost(&all, "dimas"), Some(2.0 + 8.0));
    assert_eq!(cost(&all, "lubit"), Some(3.0 + 100.0));
    assert_eq!(cost(&all, "nobody"), Some(1.0));
    assert_eq!(all.totals.tokens, 10 + 10 + 8 + 8 + 3 + 2 + 100);

    let jan = stats_of(
        ledger.as_bytes(),
        &rates(),
        Some(Month {
            year: 2026,
            month: 1,
        }),
        2,
    );
    assert_eq!(jan.entries, 6);
    assert_eq!(jan.lines, 8, "lines and rejects cover the whole file");
    assert_eq!(jan.branches.get("lubit").map(|b| b.entries), Some(1));

    let v = serde_json::to_value(&all).unwrap_or_default();
    for k in [
        "lines", "entries", "rejects", "pending", "branches", "totals",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["branches"]["papafly"]["events"]["llm_generate"], 2);
    assert!(v["totals"]["cost"].is_number());
}

/// Stats over a ledger of many blocks (the scan validates and parses 256 KiB at a
/// time) is exactly a plain `parse_line` fold: same entries, rejects, per-event
/// counts and tokens, and — with one thread, which sums in file order — the same cost
/// bits. Lines vary in shape, day, whitespace and escapes; some are rejects, one is
/// not UTF-8 and one is longer than a block.
#[test]
fn many_blocks_agree_with_a_plain_parse_line_fold() {
    use lumen::domain::ledger::parse_line;
    use std::collections::BTreeMap;
    let rates = rates();
    let branches = ["papafly", "koosy", "dimas", "lubit", "k\u{f6}sy"];
    let mut f: Vec<u8> = Vec::new();
    for i in 0..40_000u64 {
        let b = branches[(i % 5) as usize];
        let day = 1 + (i / 2000) % 28;
        let line = match i % 11 {
            0 => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"llm_generate","tokens":{},"cost":0.{:05},"timestamp":"2026-02-{day:02}T10:{:02}:00Z"}}"#,
                i % 5000,
                i % 99_999,
                i % 60
            ),
            1 => format!(
                r#"{{ "id" : "T{i}" , "branch" : "{b}" , "event" : "deploy" , "tokens" : {} , "timestamp" : "2026-02-{day:02}T10:00:00+09:00" }}"#,
                i % 700
            ),
            2 => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"note","tokens":{},"note":"a \"quoted\" \u001b[2J","timestamp":"2026-02-{day:02}T10:00:00Z"}}"#,
                i % 50
            ),
            3 => format!(r#"{{"id":"T{i}","branch":"{b}","event":"broken","#),
            4 => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"llm_generate","tokens":{},"tier":"incubation","timestamp":"2026-02-{day:02}T23:59:59.5Z"}}"#,
                i % 900
            ),
            5 => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"llm_generate","tokens":{},"cost":{}.{}e-2,"timestamp":"2026-02-{day:02}T00:00:00Z"}}"#,
                i % 900,
                i % 7,
                i % 13
            ),
            6 => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"x","timestamp":"2026-02-30T00:00:00Z"}}"#
            ),
            _ => format!(
                r#"{{"id":"T{i}","branch":"{b}","event":"deploy_test","status":"ok","actor":"ci","tokens":{},"timestamp":"2026-02-{day:02}T08:{:02}:{:02}Z"}}"#,
                i % 300,
                i % 60,
                i % 59
            ),
        };
        f.extend_from_slice(line.as_bytes());
        f.push(b'\n');
        if i == 20_000 {
            f.extend_from_slice(b"{\"id\":\"\xff\",\"branch\":\"b\",\"event\":\"e\",\"timestamp\":\"2026-02-01T00:00:00Z\"}\n");
            let mut long = br#"{"id":"L","branch":"koosy","event":"long","tokens":7,"timestamp":"2026-02-01T00:00:00Z","pad":""#.to_vec();
            long.extend(std::iter::repeat_n(b'y', 300 * 1024));
            long.extend_from_slice(b"\"}\n");
            f.extend_from_slice(&long);
        }
    }
    assert!(
        f.len() > 4 * 256 * 1024,
        "{} bytes: too few blocks",
        f.len()
    );

    // The plain fold.
    let (mut entries, mut rejects) = (0u64, 0u64);
    let mut want: BTreeMap<String, (u64, BTreeMap<String, u64>, u64, f64)> = BTreeMap::new();
    for line in f.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
        match parse_line(line) {
            Ok(e) => {
                entries += 1;
                let cost = e.cost.unwrap_or_else(|| {
                    e.tokens.unwrap_or(0) as f64 * rates.rate(e.tier.as_deref(), &e.branch)
                });
                let w = want.entry(e.branch.clone()).or_default();
                w.0 += 1;
                *w.1.entry(e.event).or_default() += 1;
                w.2 += e.tokens.unwrap_or(0);
                w.3 += cost;
            }
            Err(_) => rejects += 1,
        }
    }
    assert!(rejects > 7_000 && entries > 30_000, "{rejects} {entries}");

    for threads in [1, 2, 3] {
        let got = stats_of(&f, &rates, None, threads);
        assert_eq!((got.entries, got.rejects), (entries, rejects), "{threads}");
        let got: BTreeMap<String, (u64, BTreeMap<String, u64>, u64, f64)> = got
            .branches
            .into_iter()
            .map(|(k, v)| (k, (v.entries, v.events, v.tokens, v.cost)))
            .collect();
        assert_eq!(
            got.keys().collect::<Vec<_>>(),
            want.keys().collect::<Vec<_>>()
        );
        for (b, w) in &want {
            let g = &got[b];
            assert_eq!((g.0, &g.1, g.2), (w.0, &w.1, w.2), "{b}, {threads} threads");
            if threads == 1 {
                assert_eq!(g.3.to_bits(), w.3.to_bits(), "{b}: {} vs {}", g.3, w.3);
            } else {
                assert!((g.3 - w.3).abs() <= 1e-9 * w.3.abs().max(1.0), "{b}");
            }
        }
    }
}
