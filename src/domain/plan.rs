//! Pure planning of operator actions: which branches a rollback affects, in which
//! order its hook runs and with which argv (docs/formats.md "Rollback"), and the compensating
//! rule of a rule rollback. No I/O: the confirm dialog and the headless command show
//! the plan before anything is written.

use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::Serialize;

use crate::domain::hq::{Branch, RollbackHook, SyncPlan, Tier, paths};
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
    /// The `deploy_failed` TXN the operator named, when the plan was resolved from
    /// one (the playbook's "identify the failing TXN").
    pub failed: Option<String>,
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

/// What a value substituted into the hook's argv must match:
/// a letter or digit, then letters, digits, `.`, `_`, `:` or `-`. So a value can never
/// be an option (`-…`), empty, a path, or carry spaces or shell syntax.
pub const VALUE_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9._:-]*$";

/// A placeholder of the hook's argv.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Placeholder {
    Txn,
    Branch,
    Change,
}

impl Placeholder {
    pub const ALL: [Placeholder; 3] = [Placeholder::Txn, Placeholder::Branch, Placeholder::Change];

    /// As written in `rollback-hook.json`: `{txn}`, `{branch}`, `{change}`.
    pub fn token(self) -> &'static str {
        match self {
            Placeholder::Txn => "{txn}",
            Placeholder::Branch => "{branch}",
            Placeholder::Change => "{change}",
        }
    }

    /// Does any element of `argv` use it (alone or inside an element)?
    pub fn used_in(self, argv: &[String]) -> bool {
        argv.iter().any(|a| a.contains(self.token()))
    }
}

impl std::fmt::Display for Placeholder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.token())
    }
}

/// A character of a refused value, in words that are safe to print (no control
/// character or escape ever comes out).
fn show_char(c: char) -> String {
    match c {
        ' ' => "a space".into(),
        '`' => "a backtick".into(),
        c if c.is_ascii_graphic() => format!("`{c}`"),
        c => format!("U+{:04X}", u32::from(c)),
    }
}

/// Whether `value` may be substituted into the hook's argv ([`VALUE_PATTERN`]); the
/// error says why not, naming the first offending character (printable words only).
pub fn check_value(value: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
    let mut chars = value.chars();
    match chars.next() {
        None => Err("it is empty".into()),
        Some(c) if !c.is_ascii_alphanumeric() => Err(format!("it starts with {}", show_char(c))),
        Some(_) => match chars.find(|&c| !allowed(c)) {
            Some(c) => Err(format!("it contains {}", show_char(c))),
            None => Ok(()),
        },
    }
}

/// A value that may not be substituted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    pub placeholder: Placeholder,
    /// The value as found (raw data: sanitize before display); `None` when there is
    /// none (a target without a `change`).
    pub value: Option<String>,
    /// Why, in printable words (see [`check_value`]).
    pub why: String,
}

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(
                f,
                "{} cannot be {}: {}",
                shown(v),
                self.placeholder,
                self.why
            ),
            None => write!(f, "{} has no value: {}", self.placeholder, self.why),
        }
    }
}

/// Data for a message, JSON-quoted so spaces and an empty value are visible:
/// sanitized and cut like [`clip`].
fn shown(value: &str) -> String {
    let cut = clip(value);
    serde_json::to_string(&cut).unwrap_or(cut)
}

/// How much of a value from data a refusal shows.
const SHOWN_CHARS: usize = 64;

/// Replace the placeholders in one element, left to right in one pass: a substituted
/// value is never scanned again, and `{` that does not start a placeholder stays.
fn expand(element: &str, values: &[(Placeholder, &str)]) -> String {
    let mut out = String::with_capacity(element.len());
    let mut rest = element;
    while let Some((before, after)) = rest.split_once('{') {
        out.push_str(before);
        let hit = values.iter().find_map(|(p, v)| {
            // The token without its leading `{` (already consumed by the split).
            let name = p.token().strip_prefix('{').unwrap_or_default();
            after.strip_prefix(name).map(|tail| (*v, tail))
        });
        match hit {
            Some((v, tail)) => {
                out.push_str(v);
                rest = tail;
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Substitute `{txn}`, `{branch}` and `{change}` in `argv`, as whole elements and
/// inside an element (`--target={txn}`). Each element stays exactly one element (no
/// shell ever sees the argv), and a substituted value is never expanded again.
/// Every value that is used must pass [`check_value`]; a missing `change` used by the
/// argv is refused too. (The registry check of `{branch}` and naming the ledger line
/// are [`plan_rollback`]'s: it has the registry and the entries.)
pub fn substitute(
    argv: &[String],
    txn: &str,
    branch: &str,
    change: Option<&str>,
) -> Result<Vec<String>, BadValue> {
    let mut values: Vec<(Placeholder, &str)> = Vec::with_capacity(3);
    for p in Placeholder::ALL {
        if !p.used_in(argv) {
            continue;
        }
        let value = match p {
            Placeholder::Txn => txn,
            Placeholder::Branch => branch,
            Placeholder::Change => change.ok_or_else(|| BadValue {
                placeholder: p,
                value: None,
                why: "the target deploy names no `change`".into(),
            })?,
        };
        check_value(value).map_err(|why| BadValue {
            placeholder: p,
            value: Some(value.to_string()),
            why,
        })?;
        values.push((p, value));
    }
    Ok(argv.iter().map(|a| expand(a, &values)).collect())
}

/// `hq/ledger/ledger.jsonl:LINE (deploy ID)`: where a value came from.
fn origin(e: &Entry) -> String {
    let at = match e.line {
        Some(n) => format!("{}:{n}", paths::LEDGER),
        None => paths::LEDGER.to_string(),
    };
    format!("{at} ({} {})", clip(&e.event), clip(&e.id))
}

/// Data for a message without quotes: sanitized and cut to [`SHOWN_CHARS`].
fn clip(value: &str) -> String {
    let clean = crate::domain::sanitize::sanitize(value);
    let mut cut: String = clean.chars().take(SHOWN_CHARS).collect();
    if clean.chars().nth(SHOWN_CHARS).is_some() {
        cut.push('…');
    }
    cut
}

/// Every value the hook's argv would receive from the ledger that may not go there:
/// `{txn}` and `{change}` from the target's line, `{branch}` from the line that made
/// each branch affected (which must also be a registry branch id). In ledger order.
fn hook_value_problems(
    argv: &[String],
    target: &Entry,
    change: Option<&str>,
    affected: &[(String, &Entry)],
    registry: &[Branch],
) -> Vec<(Option<u64>, String)> {
    let mut problems: Vec<(Option<u64>, String)> = Vec::new();
    let mut bad = |e: &Entry, b: BadValue| problems.push((e.line, format!("{}: {b}", origin(e))));
    if Placeholder::Txn.used_in(argv)
        && let Err(why) = check_value(&target.id)
    {
        bad(
            target,
            BadValue {
                placeholder: Placeholder::Txn,
                value: Some(target.id.clone()),
                why,
            },
        );
    }
    if Placeholder::Change.used_in(argv) {
        let problem = match change {
            None => Some(BadValue {
                placeholder: Placeholder::Change,
                value: None,
                why: format!(
                    "this deploy names no `change`, and {} uses {{change}}",
                    paths::ROLLBACK_HOOK
                ),
            }),
            Some(c) => check_value(c).err().map(|why| BadValue {
                placeholder: Placeholder::Change,
                value: Some(c.to_string()),
                why,
            }),
        };
        if let Some(b) = problem {
            bad(target, b);
        }
    }
    if Placeholder::Branch.used_in(argv) {
        for (branch, e) in affected {
            let why = match check_value(branch) {
                Err(why) => why,
                Ok(()) if !registry.iter().any(|r| &r.id == branch) => {
                    format!("it is not a branch id in {}", paths::BRANCHES)
                }
                Ok(()) => continue,
            };
            bad(
                e,
                BadValue {
                    placeholder: Placeholder::Branch,
                    value: Some(branch.clone()),
                    why,
                },
            );
        }
    }
    problems.sort_by_key(|(line, _)| line.unwrap_or(u64::MAX));
    problems
}

/// The refusal for [`hook_value_problems`]: the first problem in full, then the lines
/// of the others.
fn refuse_values(problems: Vec<(Option<u64>, String)>) -> Refusal {
    let mut it = problems.into_iter();
    let Some((_, first)) = it.next() else {
        return refuse("the rollback hook's argv cannot be built".into());
    };
    let rest: Vec<(Option<u64>, String)> = it.collect();
    let mut reason = format!(
        "{first}; values from the ledger go into the rollback hook's argv only if they match {VALUE_PATTERN} (and a {{branch}} is a registry branch id); nothing was written and no hook ran"
    );
    if !rest.is_empty() {
        let lines: Vec<String> = rest
            .iter()
            .take(10)
            .map(|(l, _)| l.map_or("?".to_string(), |n| n.to_string()))
            .collect();
        reason.push_str(&format!(
            " (and {} more at line{} {}{})",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" },
            lines.join(", "),
            if rest.len() > lines.len() {
                ", …"
            } else {
                ""
            }
        ));
    }
    refuse(reason)
}

/// Plan the rollback of deploy `target_id` (docs/formats.md "Rollback"). `entries` is the
/// parsed ledger in file order. When an id occurs more than once, the newest entry
/// is the target. Affected: every branch with a successful `deploy` of the target's
/// `change` at or after the target in ledger order (only the target's branch when
/// the target has no `change`). With a hook, every value its argv would receive is
/// checked ([`check_value`], and `{branch}` against `branches`, the registry): a bad
/// one refuses the plan, naming the ledger line (`Entry::line`) that supplied it.
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
        .ok_or_else(|| refuse(format!("no ledger entry has id `{}`", clip(target_id))))?;
    let mut failed: Option<(String, String)> = None;
    let (pos, target) = if target.event == "deploy_failed" {
        let (p, d, why) = resolve_failed(target, pos, entries)?;
        failed = Some((target.id.clone(), why));
        (p, d)
    } else if target.event != "deploy" {
        return Err(refuse(format!(
            "`{}` is a `{}` entry, not a deploy; only deploys (or the `deploy_failed` entry of one) can be rolled back",
            clip(target_id),
            clip(&target.event)
        )));
    } else {
        (pos, target)
    };
    let target_id = target.id.as_str();
    let change = target.change.clone().filter(|c| !c.is_empty());
    // Each affected branch with the line that made it affected.
    let mut affected: Vec<(String, &Entry)> = vec![(target.branch.clone(), target)];
    if let Some(c) = &change {
        for e in entries.iter().skip(pos + 1) {
            if e.change.as_deref() == Some(c.as_str())
                && deploy_succeeded(e)
                && !affected.iter().any(|(b, _)| b == &e.branch)
            {
                affected.push((e.branch.clone(), e));
            }
        }
    }
    // Sync order over the registry; branches the registry does not know go last, by id.
    let order = sync_order(branches, sync_plan);
    let rank = |b: &String| order.iter().position(|o| o == b).unwrap_or(order.len());
    affected.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));

    let runs: Vec<HookRun> = match hook {
        Some(h) => {
            let problems =
                hook_value_problems(&h.argv, target, change.as_deref(), &affected, branches);
            if !problems.is_empty() {
                return Err(refuse_values(problems));
            }
            affected
                .iter()
                .rev()
                .map(|(b, e)| {
                    substitute(&h.argv, target_id, b, change.as_deref())
                        .map(|argv| HookRun {
                            branch: b.clone(),
                            argv,
                        })
                        .map_err(|bad| {
                            refuse_values(vec![(e.line, format!("{}: {bad}", origin(e)))])
                        })
                })
                .collect::<Result<_, _>>()?
        }
        None => Vec::new(),
    };
    let affected: Vec<String> = affected.into_iter().map(|(b, _)| b).collect();

    let mut summary: Vec<String> = failed.iter().map(|(_, why)| why.clone()).collect();
    summary.push(format!(
        "Roll back {target_id} (deploy on {}{})",
        target.branch,
        change
            .as_deref()
            .map(|c| format!(", change {c}"))
            .unwrap_or_default()
    ));
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
        failed: failed.map(|(id, _)| id),
    })
}

/// The deploy a `deploy_failed` entry at `pos` belongs to: with a `change`, the first
/// successful deploy of that change before it (rolling it back undoes the change
/// wherever it reached); without one, the last successful deploy of its branch before
/// it. Returns (position, deploy, a line saying so); refused when there is none.
fn resolve_failed<'a>(
    failed: &Entry,
    pos: usize,
    entries: &'a [Entry],
) -> Result<(usize, &'a Entry, String), Refusal> {
    let before = entries.iter().enumerate().take(pos);
    let line = failed
        .line
        .map(|l| format!(" (ledger line {l})"))
        .unwrap_or_default();
    let id = clip(&failed.id);
    let branch = clip(&failed.branch);
    match failed.change.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => {
            let found = before
                .filter(|(_, e)| deploy_succeeded(e) && e.change.as_deref() == Some(c))
                .min_by_key(|(i, _)| *i);
            match found {
                Some((p, d)) => Ok((
                    p,
                    d,
                    format!(
                        "{id} is a failed deploy of change {} on {branch}{line}; it belongs to change {}, first deployed by {}: rolling that back",
                        clip(c),
                        clip(c),
                        clip(&d.id)
                    ),
                )),
                None => Err(refuse(format!(
                    "`{id}` is a failed deploy of change `{}` on {branch}{line}, and no branch deployed that change successfully before it; nothing of it to roll back",
                    clip(c)
                ))),
            }
        }
        None => {
            let found = before
                .filter(|(_, e)| deploy_succeeded(e) && e.branch == failed.branch)
                .max_by_key(|(i, _)| *i);
            match found {
                Some((p, d)) => Ok((
                    p,
                    d,
                    format!(
                        "{id} is a failed deploy on {branch}{line} naming no change; the last successful deploy of {branch} before it is {}: rolling that back",
                        clip(&d.id)
                    ),
                )),
                None => Err(refuse(format!(
                    "`{id}` is a failed deploy on {branch}{line} naming no change, and {branch} has no successful deploy before it; nothing to roll back"
                ))),
            }
        }
    }
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
    fn a_deploy_failed_txn_rolls_back_the_deploy_it_belongs_to() {
        // The whitepaper's flow: papafly (canary) took change C1, koosy failed it.
        let lines = [
            e("T0", "koosy", "deploy", ""),
            e("T1", "papafly", "deploy", r#","change":"C1""#),
            e("T2", "koosy", "deploy_failed", r#","change":"C1""#),
            e("T3", "koosy", "deploy_failed", ""),
            e("T4", "zeta", "deploy_failed", ""),
            e("T5", "koosy", "deploy_failed", r#","change":"C9""#),
        ];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let es = entries(&refs);
        let p = plan_rollback("T2", &es, Some(&plan()), &registry(), None).expect("plan");
        assert_eq!((p.target.as_str(), p.failed.as_deref()), ("T1", Some("T2")));
        assert_eq!(p.branches, ["papafly"]);
        assert!(
            p.summary[0].contains("first deployed by T1"),
            "{:?}",
            p.summary
        );
        // No change: the branch's last successful deploy before the failure.
        let p = plan_rollback("T3", &es, Some(&plan()), &registry(), None).expect("plan");
        assert_eq!(p.target, "T0");
        assert!(p.summary[0].contains("last successful deploy of koosy"));
        // Nothing to roll back: refused with the reason.
        let err = plan_rollback("T4", &es, None, &registry(), None).unwrap_err();
        assert!(
            err.reason
                .contains("zeta has no successful deploy before it"),
            "{err}"
        );
        let err = plan_rollback("T5", &es, None, &registry(), None).unwrap_err();
        assert!(
            err.reason.contains("no branch deployed that change"),
            "{err}"
        );
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

    fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn substitution_in_whole_elements_and_inside_elements() {
        let argv = strings(&[
            "run",
            "{branch}",
            "--x={branch}",
            "{change}",
            "{txn}",
            "--target={txn}:{change}",
            "{{txn}}",
            "{other} {txn",
        ]);
        let out = substitute(&argv, "TXN-1", "papafly", Some("CH-7")).expect("valid values");
        assert_eq!(
            out,
            [
                "run",
                "papafly",
                "--x=papafly",
                "CH-7",
                "TXN-1",
                "--target=TXN-1:CH-7",
                "{TXN-1}",
                "{other} {txn",
            ]
        );
        // Unused placeholders need no value: a hook without {change} works without one.
        let out = substitute(&strings(&["h", "{txn}"]), "T", "-bad branch", None);
        assert_eq!(out, Ok(strings(&["h", "T"])));
    }

    #[test]
    fn substituted_values_must_match_the_pattern() {
        for ok in ["a", "TXN-20260118-010203-4", "0", "chg-00ff.1:x_y"] {
            assert_eq!(check_value(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("", "it is empty"),
            ("--exec=/bin/evil", "it starts with `-`"),
            ("-", "it starts with `-`"),
            ("$(rm -rf /)", "it starts with `$`"),
            ("a b", "it contains a space"),
            ("TXN/1", "it contains `/`"),
            ("a;b", "it contains `;`"),
            ("a\u{1b}[2J", "it contains U+001B"),
            ("é", "it starts with U+00E9"),
            ("a`b", "it contains a backtick"),
            (".hidden", "it starts with `.`"),
            ("a\nb", "it contains U+000A"),
        ];
        for (bad, why) in cases {
            assert_eq!(check_value(bad), Err(why.to_string()), "{bad:?}");
        }
        let argv = strings(&["h", "--target={txn}", "{branch}", "{change}"]);
        let err = substitute(&argv, "T", "--exec=/bin/evil", Some("C")).unwrap_err();
        assert_eq!(err.placeholder, Placeholder::Branch);
        assert_eq!(err.value.as_deref(), Some("--exec=/bin/evil"));
        let err = substitute(&argv, "T/../x", "b", Some("C")).unwrap_err();
        assert_eq!(err.placeholder, Placeholder::Txn);
        let err = substitute(&argv, "T", "b", None).unwrap_err();
        assert_eq!((err.placeholder, err.value), (Placeholder::Change, None));
        let err = substitute(&argv, "T", "b", Some("")).unwrap_err();
        assert_eq!(err.why, "it is empty");
    }

    fn hook(argv: &[&str]) -> RollbackHook {
        RollbackHook {
            argv: strings(argv),
            timeout: Some("5s".into()),
        }
    }

    /// Entries as `read_entries` gives them: with their 1-based line numbers.
    fn numbered(lines: &[String]) -> Vec<Entry> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut e = parse_line(l.as_bytes()).expect("test line parses");
                e.line = Some(i as u64 + 1);
                e
            })
            .collect()
    }

    #[test]
    fn a_bad_value_refuses_the_plan_naming_its_line() {
        let h = hook(&["hq-sync", "--target={txn}", "{branch}", "{change}"]);
        let with = |branch: &str| {
            let b = serde_json::to_string(branch).expect("json");
            vec![
                e("T1", "papafly", "deploy", r#","change":"C1""#),
                e("T2", "koosy", "deploy", r#","change":"C1""#),
                format!(
                    r#"{{"id":"T3","branch":{b},"event":"deploy","change":"C1","timestamp":"2026-01-18T01:02:03Z"}}"#
                ),
            ]
        };
        for (branch, why) in [
            ("--exec=/bin/evil", "it starts with `-`"),
            ("$(rm -rf /)", "it starts with `$`"),
            ("a b", "it contains a space"),
            ("", "it is empty"),
            ("-x", "it starts with `-`"),
            (
                "ghost",
                "it is not a branch id in hq/registry/branches.json",
            ),
            ("x\u{1b}]52;c;AAAA\u{7}", "it contains U+001B"),
        ] {
            let err = plan_rollback(
                "T1",
                &numbered(&with(branch)),
                Some(&plan()),
                &registry(),
                Some(&h),
            )
            .expect_err(branch);
            let r = &err.reason;
            assert!(
                r.starts_with("hq/ledger/ledger.jsonl:3 (deploy T3): "),
                "{branch:?}: {r}"
            );
            assert!(r.contains(why), "{branch:?}: {r}");
            assert!(r.contains("{branch}"), "{r}");
            assert!(!r.chars().any(char::is_control), "{r:?}");
            assert!(r.contains("nothing was written"), "{r}");
        }
        // The same ledger without a hook plans (nothing is substituted).
        assert!(
            plan_rollback(
                "T1",
                &numbered(&with("--exec=/bin/evil")),
                None,
                &registry(),
                None
            )
            .is_ok()
        );
        // A hook that does not use {branch} does not check branches.
        let no_branch = hook(&["hq-sync", "{txn}"]);
        let p = plan_rollback(
            "T1",
            &numbered(&with("ghost")),
            None,
            &registry(),
            Some(&no_branch),
        )
        .expect("plan");
        assert!(p.runs.iter().all(|r| r.argv == ["hq-sync", "T1"]));
    }

    #[test]
    fn txn_and_change_are_named_by_the_target_line() {
        let h = hook(&["hq-sync", "{txn}", "{branch}", "{change}"]);
        let lines = vec![
            e("T0", "koosy", "deploy", ""),
            e("T/1", "papafly", "deploy", r#","change":"C1""#),
            e("T2", "papafly", "deploy", r#","change":"C 2""#),
            e("T3", "papafly", "deploy", ""),
        ];
        let es = numbered(&lines);
        let err = plan_rollback("T/1", &es, None, &registry(), Some(&h)).unwrap_err();
        assert!(
            err.reason.starts_with(
                "hq/ledger/ledger.jsonl:2 (deploy T/1): \"T/1\" cannot be {txn}: it contains `/`"
            ),
            "{err}"
        );
        let err = plan_rollback("T2", &es, None, &registry(), Some(&h)).unwrap_err();
        assert!(
            err.reason
                .starts_with("hq/ledger/ledger.jsonl:3 (deploy T2): \"C 2\" cannot be {change}: it contains a space"),
            "{err}"
        );
        // No change, but the hook wants one: refused, not an empty argument.
        let err = plan_rollback("T3", &es, None, &registry(), Some(&h)).unwrap_err();
        assert!(
            err.reason
                .starts_with("hq/ledger/ledger.jsonl:4 (deploy T3): {change} has no value"),
            "{err}"
        );
        // Several bad values: the first in full, the other lines counted.
        let lines = vec![
            e("T1", "papafly", "deploy", r#","change":"C1""#),
            e("T2", "-a", "deploy", r#","change":"C1""#),
            e("T3", "koosy", "deploy", r#","change":"C1""#),
            e("T4", "b c", "deploy", r#","change":"C1""#),
            e("T5", "ghost", "deploy", r#","change":"C1""#),
        ];
        let err = plan_rollback("T1", &numbered(&lines), None, &registry(), Some(&h)).unwrap_err();
        assert!(
            err.reason
                .starts_with("hq/ledger/ledger.jsonl:2 (deploy T2): \"-a\""),
            "{err}"
        );
        assert!(err.reason.ends_with("(and 2 more at lines 4, 5)"), "{err}");
    }

    #[test]
    fn a_valid_plan_has_a_run_for_every_branch() {
        let h = hook(&["hq-sync", "--target={txn}", "--branch={branch}"]);
        let lines = vec![
            e("TXN-1", "papafly", "deploy", r#","change":"C1""#),
            e("TXN-2", "koosy", "deploy", r#","change":"C1""#),
        ];
        let p = plan_rollback(
            "TXN-1",
            &numbered(&lines),
            Some(&plan()),
            &registry(),
            Some(&h),
        )
        .expect("plan");
        assert_eq!(p.branches, ["papafly", "koosy"]);
        assert_eq!(p.runs.len(), p.branches.len());
        assert_eq!(
            p.runs[0].argv,
            ["hq-sync", "--target=TXN-1", "--branch=koosy"]
        );
    }

    #[test]
    fn refusals_sanitize_data() {
        // JSON escapes: the parsed event holds raw ESC and BEL.
        let lines = [e("T1", "koosy", r"x\u001b[2J\u001b]52;c;AAAA\u0007y", "")];
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert!(entries(&refs)[0].event.contains('\u{1b}'));
        let err = plan_rollback("T1", &entries(&refs), None, &registry(), None).unwrap_err();
        assert!(!err.reason.contains('\u{1b}'), "{:?}", err.reason);
        assert!(err.reason.contains("not a deploy"), "{err}");
        let err =
            plan_rollback("N\u{1b}[2J", &entries(&refs), None, &registry(), None).unwrap_err();
        assert!(!err.reason.contains('\u{1b}'), "{:?}", err.reason);
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
