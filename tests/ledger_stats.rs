//! `ledger stats`: SPEC §9 cost-tier rule, month filter, JSON shape.

use lumen::ledger::stats::{Month, Rates, stats_of};

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
    let cost = |s: &lumen::ledger::stats::Stats, b: &str| s.branches.get(b).map(|x| x.cost);
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
