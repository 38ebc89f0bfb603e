//! Pure planning of operator actions: which branches a rollback affects, in which
//! order its hook runs and with which argv (SPEC §9 "Rollback"), and the compensating
//! rule of a rule rollback. No I/O: the confirm dialog and the headless command show
//! the plan before anything is written.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;

use crate::domain::hq::{Branch, RollbackHook, SyncPlan, Tier};
use crate::domain::ledger::Entry;
use crate::domain::policy::Refusal;
use crate::domain::rhythm::RuleChange;

/// One hook run: the branch it rolls back and the exact argv (no shell ever sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookRun {
    pub branch: String,
    pub argv: Vec<String>,
}

/// What a rollback will do, shown to the operator before they confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackPlan {
    /// The deploy TXN being undone.
    pub target: String,
    /// The branch of the target deploy.
    pub target_branch: String,
    /// The target's `change`, when it names one.
    pub change: Option<String>,
    /// Affected branches in sync-plan order.
    pub branches: Vec<String>,
    /// Hook runs in execution order (reverse sync order); empty without a hook.
    pub runs: Vec<HookRun>,
    /// Human summary, one line per item, for the confirm dialog and the CLI.
    pub summary: Vec<String>,
}

fn refuse(reason: String) -> Refusal {
    Refusal { reason }
}

/// Branch ids in sync-plan order: explicit `order` entries first (a `*` marks where
/// the rest go), then by tier in the plan's `tiers` order (canary, standard,
/// incubation by default), then by id. The same rule as the health pane's rows.
pub fn sync_order(branches: &[Branch], plan: Option<&SyncPlan>) -> Vec<String> {
    let order: &[String] = plan.map_or(&[], |p| p.order.as_slice());
    let default_tiers = ["canary", "standard", "incubation"].map(String::from);
    let tiers: &[String] = match plan {
        Some(p) if !p.tiers.is_empty() => &p.tiers,
        _ => &default_tiers,
    };
    let star = order.iter().position(|o| o == "*").unwrap_or(order.len());
    let mut ids: Vec<(usize, usize, &str)> = branches
        .iter()
        .map(|b| {
            let explicit = order.iter().position(|o| o == &b.id).unwrap_or(star);
            let tier = b.tier.map(Tier::as_str).unwrap_or("");
            let t = tiers.iter().position(|x| x == tier).unwrap_or(tiers.len());
            (explicit, t, b.id.as_str())
        })
        .collect();
    ids.sort();
    ids.into_iter().map(|(_, _, id)| id.to_string()).collect()
}

/// A `deploy` entry counts as successful unless its `status` says otherwise.
fn deploy_succeeded(e: &Entry) -> bool {
    e.event == "deploy"
        && e.status.as_deref().is_none_or(|s| {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "success" | "succeeded" | "ok" | "done"
            )
        })
}

/// Substitute `{txn}`, `{branch}` and `{change}` in `argv`. Only an element that is
/// exactly a placeholder is replaced, by exactly one element: a value holding spaces
/// or `;` stays one argument, and a value that itself looks like a placeholder is
/// never expanded again. (`--target={txn}` is left as written: write
/// `"--target", "{txn}"`.) A missing change substitutes the empty string.
pub fn substitute(argv: &[String], txn: &str, branch: &str, change: Option<&str>) -> Vec<String> {
    argv.iter()
        .map(|a| match a.as_str() {
            "{txn}" => txn.to_string(),
            "{branch}" => branch.to_string(),
            "{change}" => change.unwrap_or("").to_string(),
            other => other.to_string(),
        })
        .collect()
}

/// Plan the rollback of deploy `target_id` (SPEC §9 "Rollback"). `entries` is the
/// parsed ledger in file order. When an id occurs more than once, the newest entry
/// is the target. Affected: every branch with a successful `deploy` of the target's
/// `change` at or after the target in ledger order (only the target's branch when
/// the target has no `change`).
pub fn plan_rollback(
    target_id: &str,
    entries: &[Entry],
    sync_plan: Option<&SyncPlan>,
    branches: &[Branch],
    hook: Option<&RollbackHook>,
) -> Result<RollbackPlan, Refusal> {
    let (pos, target) = entries
        .iter()
        .enumerate()
        .rev()
        .find(|(_, e)| e.id == target_id)
        .ok_or_else(|| refuse(format!("no ledger entry has id `{target_id}`")))?;
    if target.event != "deploy" {
        return Err(refuse(format!(
            "`{target_id}` is a `{}` entry, not a deploy; only deploys can be rolled back",
            target.event
        )));
    }
    let change = target.change.clone().filter(|c| !c.is_empty());
    let mut affected: Vec<String> = vec![target.branch.clone()];
    if let Some(c) = &change {
        for e in entries.iter().skip(pos + 1) {
            if e.change.as_deref() == Some(c.as_str())
                && deploy_succeeded(e)
                && !affected.contains(&e.branch)
            {
                affected.push(e.branch.clone());
            }
        }
    }
    // Sync order over the registry; branches the registry does not know go last, by id.
    let order = sync_order(branches, sync_plan);
    let rank = |b: &String| order.iter().position(|o| o == b).unwrap_or(order.len());
    affected.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));

    let runs: Vec<HookRun> = match hook {
        Some(h) => affected
            .iter()
            .rev()
            .map(|b| HookRun {
                branch: b.clone(),
                argv: substitute(&h.argv, target_id, b, change.as_deref()),
            })
            .collect(),
        None => Vec::new(),
    };

    let mut summary = vec![format!(
        "Roll back {target_id} (deploy on {}{})",
        target.branch,
        change
            .as_deref()
            .map(|c| format!(", change {c}"))
            .unwrap_or_default()
    )];
    summary.push(format!(
        "Affected branches (sync order): {}",
        affected.join(", ")
    ));
    summary.push("1. append a signed `rollback_requested` entry to the ledger".into());
    match hook {
        Some(h) => {
            summary.push(format!(
                "2. run the rollback hook once per branch in reverse sync order (timeout {}s each), halting on the first failure:",
                h.timeout_duration().as_secs_f64()
            ));
            for r in &runs {
                summary.push(format!("   {}: {}", r.branch, show_argv(&r.argv)));
            }
            summary.push(
                "3. append a signed `rollback` entry per branch with its status, exit code and duration"
                    .into(),
            );
            summary.push(
                "Afterwards each branch that succeeds is back before this deploy; a failure stops the rest (they keep the deploy)."
                    .into(),
            );
        }
        None => {
            summary.push(
                "2. no rollback hook is configured (hq/recovery/rollback-hook.json): the signed ledger record is the action"
                    .into(),
            );
            summary.push(
                "3. append a signed `rollback` entry per branch with status `recorded`".into(),
            );
        }
    }
    Ok(RollbackPlan {
        target: target_id.to_string(),
        target_branch: target.branch.clone(),
        change,
        branches: affected,
        runs,
        summary,
    })
}

/// The newest `deploy` of `branch` in `entries` (file order): what "roll back this
/// branch" targets from a branch row.
pub fn latest_deploy<'a>(entries: &'a [Entry], branch: &str) -> Option<&'a Entry> {
    entries
        .iter()
        .rev()
        .find(|e| e.event == "deploy" && e.branch == branch)
}

/// argv as one readable line: elements with spaces or quotes are shown JSON-quoted so
/// the operator sees the element boundaries (display only; nothing is parsed back).
pub fn show_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty()
                || a.chars()
                    .any(|c| c.is_whitespace() || c == '"' || c == '\'')
            {
                serde_json::to_string(a).unwrap_or_else(|_| a.clone())
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The compensating change for the newest rule change (the last in `rules`, which is
/// in file order): `old`/`new` swapped, `actor` = the operator, `ts` = `now`, note
/// `rollback of event at <ts> by <actor>` naming the reverted event's time and actor.
pub fn plan_rule_rollback(
    rules: &[RuleChange],
    operator: &str,
    now: DateTime<FixedOffset>,
) -> Result<RuleChange, Refusal> {
    let newest = rules.last().ok_or_else(|| {
        refuse("controls/rules_history.jsonl has no rule change to roll back".into())
    })?;
    Ok(RuleChange {
        ts: now,
        actor: operator.to_string(),
        rule: newest.rule.clone(),
        old: newest.new,
        new: newest.old,
        note: Some(format!(
            "rollback of event at {} by {}",
            newest.ts.to_rfc3339_opts(SecondsFormat::AutoSi, false),
            newest.actor
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ledger::parse_line;

    fn branch(id: &str, tier: Tier) -> Branch {
        Branch {
            id: id.into(),
            repo: format!("x/{id}"),
            domain: format!("{id}.example"),
            visibility: crate::domain::hq::Visibility::Public,
            hq_protocol_version: None,
            tier: Some(tier),
            billing_tier: None,
            owner: None,
            maintenance_mode: false,
            health: None,
        }
    }

    fn registry() -> Vec<Branch> {
        vec![
            branch("zeta", Tier::Incubation),
            branch("koosy", Tier::Standard),
            branch("alpha", Tier::Standard),
            branch("papafly", Tier::Canary),
        ]
    }

    fn plan() -> SyncPlan {
        SyncPlan {
            strategy: Some("canary".into()),
            tiers: vec!["canary".into(), "standard".into(), "incubation".into()],
            order: vec!["papafly".into(), "koosy".into(), "*".into()],
            on_failure: Some("halt".into()),
            max_retries: Some(3),
        }
    }

    fn entries(lines: &[&str]) -> Vec<Entry> {
        lines
            .iter()
            .map(|l| parse_line(l.as_bytes()).expect("test line parses"))
            .collect()
    }

    fn e(id: &str, branch: &str, event: &str, extra: &str) -> String {
        format!(
            r#"{{"id":"{id}","branch":"{branch}","event":"{event}","timestamp":"2026-01-18T01:02:03Z"{extra}}}"#
        )
    }

    #[test]
    fn sync_order_explicit_then_tiers_then_id() {
        assert_eq!(
            sync_order(&registry(), Some(&plan())),
            ["papafly", "koosy", "alpha", "zeta"]
        );
        // Without a plan: tiers by default order, then id.
        assert_eq!(
            sync_order(&registry(), None),
            ["papafly", "alpha", "koosy", "zeta"]
        );
    }

    #[test]
    fn propagated_canary_change_rolls_back_everywhere_in_reverse_order() {
        let lines = [
            e("T0", "alpha", "deploy", r#","change":"C1""#), // before the target
            e("T1", "papafly", "deploy", r#","change":"C1""#),
            e(
                "T2",
                "koosy",
                "deploy",
                r#","change":"C1","status":"success""#,
            ),
            e("T3", "zeta", "deploy", r#","change":"C1""#),
            e(
                "T4",
                "alpha",
                "deploy",
                r#","change":"C1","status":"failed""#,
            ),
            e("T5", "alpha", "deploy", r#","change":"C2""#),
            e("T6", "alpha", "deploy_failed", r#","change":"C1""#),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let hook = RollbackHook {
            argv: vec![
                "hq-sync".into(),
                "--target".into(),
                "{txn}".into(),
                "{branch}".into(),
                "{change}".into(),
            ],
            timeout: Some("5s".into()),
        };
        let p = plan_rollback(
            "T1",
            &entries(&refs),
            Some(&plan()),
            &registry(),
            Some(&hook),
        )
        .expect("plan");
        assert_eq!(p.branches, ["papafly", "koosy", "zeta"]);
        let order: Vec<&str> = p.runs.iter().map(|r| r.branch.as_str()).collect();
        assert_eq!(order, ["zeta", "koosy", "papafly"]);
        assert_eq!(p.runs[0].argv, ["hq-sync", "--target", "T1", "zeta", "C1"]);
        assert_eq!(p.change.as_deref(), Some("C1"));
        assert!(p.summary.iter().any(|l| l.contains("papafly, koosy, zeta")));

        // A deploy without a change affects only its own branch.
        let p =
            plan_rollback("T5", &entries(&refs), Some(&plan()), &registry(), None).expect("plan");
        assert_eq!(p.branches, ["alpha"]);
        assert!(p.runs.is_empty());
        assert!(p.summary.iter().any(|l| l.contains("no rollback hook")));
    }

    #[test]
    fn latest_deploy_of_a_branch() {
        let lines = [
            e("T1", "koosy", "deploy", ""),
            e("T2", "koosy", "deploy", ""),
            e("T3", "koosy", "deploy_failed", ""),
            e("T4", "papafly", "deploy", ""),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let es = entries(&refs);
        assert_eq!(
            latest_deploy(&es, "koosy").map(|e| e.id.as_str()),
            Some("T2")
        );
        assert!(latest_deploy(&es, "zeta").is_none());
    }

    #[test]
    fn refuses_non_deploys_and_unknown_ids() {
        let lines = [e("T1", "koosy", "llm_generate", "")];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let err = plan_rollback("T1", &entries(&refs), None, &registry(), None).unwrap_err();
        assert!(err.reason.contains("not a deploy"), "{err}");
        let err = plan_rollback("NOPE", &entries(&refs), None, &registry(), None).unwrap_err();
        assert!(err.reason.contains("no ledger entry"), "{err}");
    }

    #[test]
    fn substitution_is_whole_elements_only() {
        let argv: Vec<String> = ["run", "{branch}", "--x={branch}", "{change}", "{txn}"]
            .map(String::from)
            .to_vec();
        let out = substitute(&argv, "T; rm -rf /", "a b;c", Some("{txn}"));
        assert_eq!(
            out,
            ["run", "a b;c", "--x={branch}", "{txn}", "T; rm -rf /"]
        );
        assert_eq!(substitute(&argv, "T", "b", None)[3], "");
    }

    #[test]
    fn rule_rollback_swaps_and_notes() {
        let r = |ts: &str, actor: &str, old: f64, new: f64| RuleChange {
            ts: DateTime::parse_from_rfc3339(ts).expect("ts"),
            actor: actor.into(),
            rule: "creative_min".into(),
            old,
            new,
            note: None,
        };
        let rules = vec![
            r("2025-10-23T12:00:00+09:00", "Old", 0.1, 0.2),
            r("2025-10-23T13:10:00+09:00", "Lubit", 0.22, 0.24),
        ];
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("now");
        let c = plan_rule_rollback(&rules, "alice", now).expect("plan");
        assert_eq!((c.old, c.new), (0.24, 0.22));
        assert_eq!(c.actor, "alice");
        assert_eq!(c.rule, "creative_min");
        assert_eq!(
            c.note.as_deref(),
            Some("rollback of event at 2025-10-23T13:10:00+09:00 by Lubit")
        );
        assert!(plan_rule_rollback(&[], "alice", now).is_err());
    }
}
