//! Headless operator actions (`lumen --help` and docs/formats.md): `lumen rollback`, `lumen rule-rollback`,
//! `lumen killswitch`, `lumen maintenance`. Order of checks: key present → the files
//! the action depends on (`actions::deps`: present but broken refuses, naming
//! `file:line:col`) → identity (permissions, keys.json) → policy → plan → typed
//! confirmation (or `--yes`) → execute (which checks the files again, under the
//! file's lock where it rewrites one) → notify. A refusal anywhere before "execute"
//! writes nothing. Notifications that cannot be routed (broken rules.json or
//! channels.json) do not undo the action: the reason goes to stderr and the log,
//! and the exit code stays that of the action.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::{GlobalArgs, KillswitchArgs, MaintenanceArgs, OnOff, RollbackArgs};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json, runtime};
use crate::domain::hq::{HealthCheck, Registry, paths};
use crate::domain::ledger::Entry;
use crate::domain::plan::{plan_rollback, plan_rule_rollback, show_argv};
use crate::domain::policy::{Operation, Refusal};
use crate::domain::sanitize::sanitize;
use crate::operator::deps::{self, Deps, newest_rule_change, notify_config};
use crate::operator::guard::authorize;
use crate::operator::notify::{Delivery, NotifyOptions, notify, rollback_events};
use crate::operator::run::{
    ActionError, ActionProgress, DecisionChange, execute_rollback, rollback_rule, set_kill_switch,
    set_maintenance,
};
use crate::store::append::{Identity, identity};

fn hq_root(g: &GlobalArgs) -> PathBuf {
    g.hq.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// A refusal as a `CmdError` (whose Display adds the `refused: ` prefix itself).
fn refusal(r: Refusal) -> CmdError {
    let reason = r.reason;
    CmdError::refused(
        reason
            .strip_prefix("refused: ")
            .unwrap_or(&reason)
            .to_string(),
    )
}

fn action_err(e: ActionError) -> CmdError {
    match e {
        ActionError::Refused(r) => refusal(r),
        ActionError::Failed(e) => CmdError::Io(e),
    }
}

/// Key, the files the action depends on, identity and policy: everything that can
/// refuse before a prompt.
fn operator(g: &GlobalArgs, op: Operation) -> Result<(PathBuf, Deps, Identity), CmdError> {
    if g.readonly {
        tracing::warn!("{} refused: --readonly", op.label());
        return Err(CmdError::refused(
            "read-only (--readonly): nothing is written",
        ));
    }
    let Some(key) = &g.key else {
        tracing::warn!("{} refused: no operator key", op.label());
        return Err(CmdError::refused(
            "no operator key: pass --key FILE (an Ed25519 key whose public key is in hq/registry/keys.json)",
        ));
    };
    let root = hq_root(g);
    let d = deps::load(&root, op).map_err(refusal)?;
    let who = identity(&root, key).map_err(|e| {
        tracing::warn!("{} refused: {e}", op.label());
        CmdError::refused(e.to_string())
    })?;
    authorize(d.policy.as_ref(), &who, op).map_err(refusal)?;
    Ok((root, d, who))
}

/// `--yes`, or the operator types `expected` (or one of `alternatives`) on a terminal.
fn confirm(g: &GlobalArgs, expected: &str, alternatives: &[&str]) -> Result<(), CmdError> {
    if g.yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CmdError::usage(
            "standard input is not a terminal, so nothing can be typed to confirm: pass --yes",
        ));
    }
    let alt = alternatives
        .iter()
        .map(|a| format!(" or `{a}`"))
        .collect::<String>();
    errp!("Type `{expected}`{alt} to confirm (anything else cancels): ");
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let typed = line.trim();
    if typed == expected || alternatives.contains(&typed) {
        Ok(())
    } else {
        tracing::info!("confirmation did not match; cancelled");
        Err(CmdError::refused(format!(
            "confirmation did not match `{expected}`: nothing was done"
        )))
    }
}

/// Every complete, parseable ledger line in file order (`store::scan::read_entries`).
pub fn read_entries(hq_root: &Path) -> Result<Vec<Entry>, CmdError> {
    crate::store::scan::read_entries(hq_root).map_err(|e| CmdError::usage(e.to_string()))
}

/// The complete, parseable ledger lines that `keep` accepts.
pub fn read_entries_where(
    hq_root: &Path,
    keep: impl Fn(&Entry) -> bool,
) -> Result<Vec<Entry>, CmdError> {
    crate::store::scan::read_entries_where(hq_root, keep)
        .map_err(|e| CmdError::usage(e.to_string()))
}

/// What notifying did: deliveries, or why nothing could be routed.
struct Notified {
    deliveries: Vec<Delivery>,
    /// One line per broken rules.json / channels.json (already on stderr and logged).
    errors: Vec<String>,
}

/// Notify `events` per rules.json. When rules.json or channels.json is broken nothing
/// is sent; each reason is printed on stderr (and logged by `notify_config`).
fn send_notifications(root: &Path, events: &[&str], text: &str) -> Notified {
    let cfg = notify_config(root);
    let errors = cfg.error_lines();
    for line in &errors {
        errln!("{line}");
    }
    let mut out = Notified {
        deliveries: Vec::new(),
        errors,
    };
    if !out.errors.is_empty() || cfg.rules.is_none() {
        return out;
    }
    let Ok(rt) = runtime() else {
        return out;
    };
    out.deliveries = rt.block_on(notify(
        cfg.channels.as_ref(),
        cfg.rules.as_ref(),
        events,
        text,
        NotifyOptions::default(),
    ));
    out
}

fn print_deliveries(deliveries: &[Delivery]) {
    for d in deliveries {
        if d.delivered {
            outln!("notified {} ({})", d.target, d.url);
        } else {
            outln!(
                "notification to {} FAILED after {} tries: {}",
                d.target,
                d.attempts,
                sanitize(d.error.as_deref().unwrap_or("unknown error"))
            );
        }
    }
}

/// `lumen rollback --target TXN [--yes]`. Exit 0 when every affected branch rolled
/// back (or was recorded), 1 when refused or a hook failed / timed out.
pub fn run_rollback(args: &RollbackArgs, g: &GlobalArgs) -> CmdResult {
    let (root, d, who) = operator(g, Operation::Rollback)?;
    // Only deploys matter to the plan (and the target, to say what it is).
    let entries = read_entries_where(&root, |e| e.event == "deploy" || e.id == args.target)?;
    let branches = d
        .registry
        .as_ref()
        .map(|r| r.branches.as_slice())
        .unwrap_or_default();
    let plan = plan_rollback(
        &args.target,
        &entries,
        d.sync_plan.as_ref(),
        branches,
        d.rollback_hook.as_ref(),
    )
    .map_err(|r| {
        tracing::warn!("rollback refused: {}", r.reason);
        refusal(r)
    })?;
    if !g.json {
        for l in &plan.summary {
            outln!("{}", sanitize(l));
        }
    }
    let mut alternatives = vec![plan.target_branch.as_str()];
    alternatives.extend(plan.failed.as_deref());
    confirm(g, &plan.target, &alternatives)?;

    let rt = runtime()?;
    let json = g.json;
    let outcome = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<ActionProgress>(64);
        let printer = tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                if json {
                    continue;
                }
                match p {
                    ActionProgress::Requested { ledger_id } => {
                        outln!("rollback_requested appended: {ledger_id}")
                    }
                    ActionProgress::HookStarted { branch, argv } => {
                        outln!(
                            "{}: running {}",
                            sanitize(&branch),
                            sanitize(&show_argv(&argv))
                        )
                    }
                    ActionProgress::BranchDone(r) => {
                        let code = r.exit_code.map_or("-".to_string(), |c| c.to_string());
                        outln!(
                            "{}: {} (exit {code}, {} ms) → {}",
                            sanitize(&r.branch),
                            r.status,
                            r.duration_ms,
                            r.ledger_id
                        );
                        for line in r.output.lines() {
                            outln!("    {}", sanitize(line));
                        }
                    }
                    ActionProgress::Halted { branch, skipped } => outln!(
                        "halted after {} failed; not rolled back: {}",
                        sanitize(&branch),
                        sanitize(&skipped.join(", "))
                    ),
                }
            }
        });
        let r = execute_rollback(&root, &who, &plan, tx).await;
        let _ = printer.await;
        r
    });
    let outcome = outcome.map_err(action_err)?;
    let (health, not_checked) = match &d.registry {
        Some(reg) => recheck_health(&rt, reg, health_check(&root), &plan.branches),
        None => (Vec::new(), plan.branches.clone()),
    };
    drop(rt);

    let parts: Vec<String> = outcome
        .results
        .iter()
        .map(|r| match r.exit_code {
            Some(c) => format!("{} {} (exit {c})", r.branch, r.status),
            None => format!("{} {}", r.branch, r.status),
        })
        .collect();
    let mut text = format!(
        "Lumen: rollback of {} by {}: {}",
        outcome.target,
        who.signer_id,
        parts.join(", ")
    );
    if !outcome.skipped.is_empty() {
        text.push_str(&format!(
            "; halted, not rolled back: {}",
            outcome.skipped.join(", ")
        ));
    }
    let notified = send_notifications(&root, rollback_events(outcome.ok), &text);

    if g.json {
        print_json(&json!({
            "target": outcome.target,
            "change": plan.change,
            "branches": plan.branches,
            "requested_id": outcome.requested_id,
            "results": outcome.results,
            "skipped": outcome.skipped,
            "ok": outcome.ok,
            "notifications": notified.deliveries,
            "notification_errors": notified.errors,
            "health": health,
            "not_checked": not_checked,
            "failed": plan.failed,
        }))?;
    } else {
        for h in &health {
            outln!(
                "health {}: {}",
                sanitize(&h.branch),
                if h.ok {
                    format!("up ({} ms)", h.latency_ms.unwrap_or(0))
                } else {
                    format!("DOWN: {}", sanitize(h.error.as_deref().unwrap_or("")))
                }
            );
        }
        if !not_checked.is_empty() {
            outln!(
                "health not re-checked (no `health` in branches.json, no endpoint in health-check.json): {}",
                sanitize(&not_checked.join(", "))
            );
        }
        print_deliveries(&notified.deliveries);
        outln!(
            "{}",
            if outcome.ok {
                "rollback complete"
            } else {
                "rollback FAILED"
            }
        );
    }
    Ok(if outcome.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// A health probe result as the rollback reports it.
#[derive(Debug, Clone, serde::Serialize)]
struct HealthAfter {
    branch: String,
    ok: bool,
    status: Option<u16>,
    latency_ms: Option<u64>,
    error: Option<String>,
}

/// `health-check.json` for the re-check's timeout. Not a dependency of the rollback
/// (the rollback has happened by then): a broken file means the default timeout, and
/// is logged.
fn health_check(root: &Path) -> Option<HealthCheck> {
    let path = root.join(paths::HEALTH_CHECK);
    let bytes = crate::store::fsutil::read_regular(&path).ok()?;
    crate::domain::hq::parse_health_check(&path, &bytes)
        .map_err(|e| tracing::warn!("health re-check uses the default timeout: {e}"))
        .ok()
}

/// Re-check at once the health of every affected branch, its URL resolved as the
/// health pane does (the branch's `health`, else its `health-check.json` endpoint).
/// Returns the results and the branches that have no URL at all.
fn recheck_health(
    rt: &tokio::runtime::Runtime,
    reg: &Registry,
    health_check: Option<HealthCheck>,
    affected: &[String],
) -> (Vec<HealthAfter>, Vec<String>) {
    use crate::domain::health_url::health_url_for;
    use crate::sources::health::{HealthTarget, client, probe};
    let timeout = health_check
        .as_ref()
        .map_or(std::time::Duration::from_secs(2), |h| h.timeout_duration());
    let snapshot = crate::domain::hq::HqSnapshot {
        registry: Some(reg.clone()),
        health_check,
        ..Default::default()
    };
    let mut not_checked = Vec::new();
    let targets: Vec<HealthTarget> = affected
        .iter()
        .filter_map(|b| match health_url_for(&snapshot, b) {
            Some(url) => Some(HealthTarget {
                branch: b.clone(),
                url,
            }),
            None => {
                not_checked.push(b.clone());
                None
            }
        })
        .collect();
    if targets.is_empty() {
        return (Vec::new(), not_checked);
    }
    let Ok(c) = client(timeout) else {
        not_checked.extend(targets.into_iter().map(|t| t.branch));
        return (Vec::new(), not_checked);
    };
    let results = rt.block_on(futures::future::join_all(
        targets.iter().map(|t| probe(&c, t)),
    ));
    let results = results
        .into_iter()
        .map(|r| HealthAfter {
            branch: r.branch,
            ok: r.ok,
            status: r.status,
            latency_ms: r.latency.map(|d| d.as_millis() as u64),
            error: r.error,
        })
        .collect::<Vec<_>>();
    (results, not_checked)
}

fn decision_output(g: &GlobalArgs, root: &Path, c: &DecisionChange, text: &str) -> CmdResult {
    let notified = send_notifications(root, &[c.event.as_str()], text);
    if g.json {
        print_json(&json!({
            "event": c.event,
            "ledger_id": c.ledger_id,
            "branch": c.branch,
            "on": c.on,
            "was": c.was,
            "notifications": notified.deliveries,
            "notification_errors": notified.errors,
        }))?;
    } else {
        outln!("{} appended: {}", c.event, c.ledger_id);
        outln!("{} rewritten", paths::DECISION_ENGINE);
        print_deliveries(&notified.deliveries);
    }
    Ok(Outcome::Ok)
}

/// `lumen killswitch on|off`. Confirmation: type `hq` (the switch is HQ-wide).
pub fn run_killswitch(args: &KillswitchArgs, g: &GlobalArgs) -> CmdResult {
    let (root, _, who) = operator(g, Operation::KillSwitch)?;
    let on = args.state == OnOff::On;
    if !g.json {
        outln!(
            "Turn the kill switch {} (automated deploys {}): ledger entry first, then {}",
            if on { "ON" } else { "OFF" },
            if on { "halt" } else { "resume" },
            paths::DECISION_ENGINE
        );
    }
    confirm(g, "hq", &[])?;
    let c = set_kill_switch(&root, &who, on).map_err(action_err)?;
    let text = format!(
        "Lumen: kill switch {} by {} ({})",
        if on { "ACTIVATED" } else { "released" },
        who.signer_id,
        c.ledger_id
    );
    decision_output(g, &root, &c, &text)
}

/// `lumen maintenance BRANCH on|off`. Confirmation: type the branch id.
pub fn run_maintenance(args: &MaintenanceArgs, g: &GlobalArgs) -> CmdResult {
    let (root, d, who) = operator(g, Operation::Maintenance)?;
    let on = args.state == OnOff::On;
    let known = d
        .registry
        .as_ref()
        .is_some_and(|r| r.branches.iter().any(|b| b.id == args.branch));
    if !known {
        return Err(CmdError::usage(format!(
            "branch `{}` is not in {}",
            sanitize(&args.branch),
            paths::BRANCHES
        )));
    }
    if !g.json {
        outln!(
            "Put {} {} maintenance: ledger entry first, then {}",
            args.branch,
            if on { "into" } else { "out of" },
            paths::DECISION_ENGINE
        );
    }
    confirm(g, &args.branch, &[])?;
    let c = set_maintenance(&root, &who, &args.branch, on).map_err(action_err)?;
    let text = format!(
        "Lumen: {} maintenance {} by {} ({})",
        args.branch,
        if on { "ON" } else { "OFF" },
        who.signer_id,
        c.ledger_id
    );
    decision_output(g, &root, &c, &text)
}

/// `lumen rule-rollback [--yes]`: revert the newest rule change. Confirmation: type
/// the rule's name.
pub fn run_rule_rollback(g: &GlobalArgs) -> CmdResult {
    let (root, _, who) = operator(g, Operation::RuleRollback)?;
    let newest: Vec<_> = newest_rule_change(&root)
        .map_err(refusal)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let preview = plan_rule_rollback(&newest, &who.signer_id, chrono::Utc::now().fixed_offset())
        .map_err(refusal)?;
    if !g.json {
        outln!(
            "Revert {}: set it back from {} to {} ({})",
            sanitize(&preview.rule),
            preview.old,
            preview.new,
            sanitize(preview.note.as_deref().unwrap_or(""))
        );
    }
    confirm(g, &preview.rule, &[])?;
    let out = rollback_rule(&root, &who).map_err(action_err)?;
    let text = format!(
        "Lumen: rule {} rolled back to {} by {} ({})",
        out.compensating.rule, out.compensating.new, who.signer_id, out.ledger_id
    );
    let notified = send_notifications(&root, &["rule_rollback"], &text);
    if g.json {
        print_json(&json!({
            "ledger_id": out.ledger_id,
            "rule": out.compensating.rule,
            "old": out.compensating.old,
            "new": out.compensating.new,
            "note": out.compensating.note,
            "reverted_line": out.reverted_line,
            "ts": out.compensating.ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "notifications": notified.deliveries,
            "notification_errors": notified.errors,
        }))?;
    } else {
        outln!("rule_rollback appended: {}", out.ledger_id);
        outln!("{} appended", paths::RULES_HISTORY);
        print_deliveries(&notified.deliveries);
    }
    Ok(Outcome::Ok)
}
