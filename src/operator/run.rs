//! Executing operator actions. Every executor loads and validates the files it
//! depends on (`deps`: a broken one refuses before anything is written), checks the
//! policy itself, then writes the signed ledger entry FIRST and only then takes
//! effect ("audit is law"). Read-modify-writes of HQ files happen under the
//! file's exclusive lock (`lock`). The kill switch blocks neither rollbacks nor
//! maintenance.

use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use chrono::{SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc::Sender;

use crate::domain::hq::{parse_decision_engine, paths};
use crate::domain::ledger::Entry;
use crate::domain::plan::{RollbackPlan, plan_rule_rollback};
use crate::domain::policy::{Operation, Refusal};
use crate::domain::rhythm::{RuleChange, parse_rule_line};
use crate::operator::deps::{self, Deps};
use crate::operator::guard::authorize;
use crate::operator::hook::{HookResult, run_hook};
use crate::store::append::{Appended, Identity, append_signed};
use crate::store::lock::{lock_exclusive, write_atomic};

/// Why an action did not run (or stopped).
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// Refused before anything was written (exit 1).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Something failed (I/O, a file that does not parse); exit 2.
    #[error("{0:#}")]
    Failed(#[from] anyhow::Error),
}

fn refused(reason: impl Into<String>) -> ActionError {
    let reason = reason.into();
    tracing::warn!("action refused: {reason}");
    ActionError::Refused(Refusal { reason })
}

/// Progress of a running rollback, for the UI (the operator sees each step).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ActionProgress {
    /// `rollback_requested` is on the ledger.
    Requested { ledger_id: String },
    /// The hook started for `branch`.
    HookStarted { branch: String, argv: Vec<String> },
    /// One branch is done and its `rollback` entry appended.
    BranchDone(BranchResult),
    /// A failure stopped the rollback; `skipped` were not rolled back.
    Halted {
        branch: String,
        skipped: Vec<String>,
    },
}

/// The result for one branch of a rollback.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BranchResult {
    pub branch: String,
    /// `success`, `failed`, `timeout`, or `recorded` (no hook configured).
    pub status: String,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// The `rollback` entry's id.
    pub ledger_id: String,
    /// Captured hook output (stdout then stderr), bounded; sanitize before display.
    pub output: String,
    pub truncated: bool,
}

/// What a rollback did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RollbackOutcome {
    pub target: String,
    pub requested_id: String,
    /// Branches in the order they were processed (reverse sync order).
    pub results: Vec<BranchResult>,
    /// Branches not rolled back because an earlier one failed.
    pub skipped: Vec<String>,
    /// Every affected branch succeeded (or was recorded).
    pub ok: bool,
}

pub fn ledger_path(hq_root: &Path) -> PathBuf {
    hq_root.join(paths::LEDGER)
}

/// A copy of an identity (e.g. to move into `spawn_blocking`); the key is zeroized
/// on drop in both.
pub fn clone_identity(who: &Identity) -> Identity {
    Identity {
        signer_id: who.signer_id.clone(),
        role: who.role.clone(),
        key_path: who.key_path.clone(),
        key: who.key.clone(),
    }
}

/// The signed append (file lock + fsync) off the async workers.
async fn append_async(
    ledger: &Path,
    who: &Identity,
    fields: Map<String, Value>,
) -> Result<Appended, ActionError> {
    let ledger = ledger.to_path_buf();
    let who = clone_identity(who);
    tokio::task::spawn_blocking(move || append_signed(&ledger, &who, fields))
        .await
        .map_err(|e| anyhow::anyhow!("the ledger append task failed: {e}"))?
        .map_err(action_error)
}

/// A refused signed write (expired key, no W on the ledger) is a refusal, not a failure.
fn action_error(e: anyhow::Error) -> ActionError {
    match e.downcast_ref::<crate::store::keys::SignRefused>() {
        Some(r) => refused(r.0.clone()),
        None => ActionError::Failed(e),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Load the files `op` depends on and check the policy with them: the first step of
/// every executor (and of the CLI and the console before they ask to confirm).
pub fn prepare(hq_root: &Path, who: &Identity, op: Operation) -> Result<Deps, Refusal> {
    let d = deps::load(hq_root, op)?;
    authorize(d.policy.as_ref(), who, op)?;
    Ok(d)
}

/// Run a planned rollback (docs/formats.md "Rollback"): one `rollback_requested` before
/// anything runs; then per branch in reverse sync order the hook and a `rollback`
/// entry with `target`, `branch`, `status`, `exit_code`, `duration_ms`, halting on the
/// first failure. Without a hook each branch gets a `rollback` entry with status
/// `recorded` (the signed record is the action). The files a rollback depends on are
/// read again here: broken ones refuse, and a hook added or removed since `plan` was
/// made refuses too (the operator confirmed that plan). The argv run is the plan's,
/// with the hook file's current timeout. Progress messages are best-effort: a closed
/// receiver never stops the rollback.
pub async fn execute_rollback(
    hq_root: &Path,
    who: &Identity,
    plan: &RollbackPlan,
    progress: Sender<ActionProgress>,
) -> Result<RollbackOutcome, ActionError> {
    let d = prepare(hq_root, who, Operation::Rollback)?;
    let hook = d.rollback_hook.as_ref();
    if plan.branches.is_empty() {
        return Err(refused("the rollback plan has no affected branch"));
    }
    match (hook.is_some(), plan.runs.is_empty()) {
        (true, true) => {
            return Err(refused(format!(
                "{} was added after the rollback was planned; plan it again",
                paths::ROLLBACK_HOOK
            )));
        }
        (false, false) => {
            return Err(refused(format!(
                "{} was removed after the rollback was planned; plan it again",
                paths::ROLLBACK_HOOK
            )));
        }
        _ => {}
    }
    if hook.is_some()
        && let Some(b) = plan
            .branches
            .iter()
            .find(|b| !plan.runs.iter().any(|r| &r.branch == *b))
    {
        return Err(refused(format!(
            "the rollback plan has no hook run for `{}`",
            crate::domain::sanitize::sanitize(b)
        )));
    }
    let ledger = ledger_path(hq_root);
    let mut req = obj(json!({
        "branch": plan.target_branch,
        "event": "rollback_requested",
        "status": "requested",
        "actor": who.signer_id,
        "target": plan.target,
        "branches": plan.branches,
    }));
    if let Some(c) = &plan.change {
        req.insert("change".into(), Value::String(c.clone()));
    }
    let requested = append_async(&ledger, who, req).await?;
    tracing::info!(target_txn = %plan.target, id = %requested.id, "rollback requested");
    let _ = progress
        .send(ActionProgress::Requested {
            ledger_id: requested.id.clone(),
        })
        .await;

    // Reverse sync order, from the plan's branches (runs are already in that order).
    let order: Vec<String> = plan.branches.iter().rev().cloned().collect();
    let mut results = Vec::new();
    let mut skipped = Vec::new();
    for (i, branch) in order.iter().enumerate() {
        let run = plan.runs.iter().find(|r| &r.branch == branch);
        let (status, exit_code, duration_ms, output, truncated, tail) = match (hook, run) {
            (Some(h), Some(run)) => {
                let argv = run.argv.clone();
                let _ = progress
                    .send(ActionProgress::HookStarted {
                        branch: branch.clone(),
                        argv: argv.clone(),
                    })
                    .await;
                let r: HookResult = run_hook(&argv, h.timeout_duration(), hq_root).await;
                (
                    r.status().to_string(),
                    r.exit_code,
                    r.duration_ms,
                    r.output(),
                    r.truncated,
                    r.output_tail(),
                )
            }
            // No hook configured (checked above: then there are no runs either).
            _ => (
                "recorded".to_string(),
                None,
                0,
                String::new(),
                false,
                Vec::new(),
            ),
        };
        let mut fields = obj(json!({
            "branch": branch,
            "event": "rollback",
            "status": status,
            "actor": who.signer_id,
            "target": plan.target,
        }));
        if hook.is_some() {
            fields.insert("exit_code".into(), json!(exit_code));
        }
        fields.insert("duration_ms".into(), json!(duration_ms));
        // Why it failed, in the hook's own words: its last output lines (bounded,
        // sanitised), so the reason outlives the console's notice.
        if status != "success" && !tail.is_empty() {
            fields.insert("hook_output".into(), json!(tail));
        }
        if let Some(c) = &plan.change {
            fields.insert("change".into(), Value::String(c.clone()));
        }
        fields.insert("requested".into(), Value::String(requested.id.clone()));
        let appended = append_async(&ledger, who, fields).await?;
        tracing::info!(branch = %branch, status = %status, id = %appended.id, "rollback ran");
        let res = BranchResult {
            branch: branch.clone(),
            status: status.clone(),
            exit_code,
            duration_ms,
            ledger_id: appended.id,
            output,
            truncated,
        };
        let _ = progress.send(ActionProgress::BranchDone(res.clone())).await;
        results.push(res);
        if status != "success" && status != "recorded" {
            skipped = order.iter().skip(i + 1).cloned().collect();
            let _ = progress
                .send(ActionProgress::Halted {
                    branch: branch.clone(),
                    skipped: skipped.clone(),
                })
                .await;
            break;
        }
    }
    let ok = skipped.is_empty()
        && results
            .iter()
            .all(|r| r.status == "success" || r.status == "recorded");
    Ok(RollbackOutcome {
        target: plan.target.clone(),
        requested_id: requested.id,
        results,
        skipped,
        ok,
    })
}

/// What a kill-switch or maintenance change did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionChange {
    pub event: String,
    pub ledger_id: String,
    /// `hq` for the kill switch, else the branch.
    pub branch: String,
    pub on: bool,
    /// The value before the change.
    pub was: bool,
}

/// Write `value` as pretty JSON to `path` atomically (temp file + rename, through a
/// symlink: the target changes, the link stays; see [`write_atomic`]). Keeps the old
/// file's permissions. Hold the file's lock around the read-modify-write.
pub fn write_json_atomic(path: &Path, value: &Value) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The read-modify-write of `decision-engine.json`, as one critical section under
/// `decision-engine.json.lock`: read and validate → `edit` → signed ledger entry →
/// atomic rewrite. Any number of writers (CLI processes, consoles) are serialised,
/// so none loses another's change and the file agrees with the newest entry.
fn decision_change(
    hq_root: &Path,
    who: &Identity,
    op: Operation,
    event: &str,
    branch: &str,
    on: bool,
    edit: impl FnOnce(&mut Map<String, Value>) -> bool,
) -> Result<DecisionChange, ActionError> {
    let path = hq_root.join(paths::DECISION_ENGINE);
    let _lock = lock_exclusive(&path)?;
    // Read and validate inside the lock, before the ledger entry: an entry for a
    // change that cannot be written would be a lie.
    let mut doc = deps::load_decision(hq_root, op)?.raw;
    let was = edit(&mut doc);
    let mut fields = obj(json!({
        "branch": branch,
        "event": event,
        "status": "success",
        "actor": who.signer_id,
    }));
    if branch == "hq" {
        fields.insert("killSwitch".into(), Value::Bool(on));
    }
    let appended = append_signed(&ledger_path(hq_root), who, fields).map_err(action_error)?;
    write_json_atomic(&path, &Value::Object(doc)).map_err(|e| {
        tracing::error!(
            "{event} is on the ledger ({}) but {} was not rewritten: {e:#}",
            appended.id,
            path.display()
        );
        e
    })?;
    tracing::info!(event, branch, id = %appended.id, "decision engine updated");
    Ok(DecisionChange {
        event: event.to_string(),
        ledger_id: appended.id,
        branch: branch.to_string(),
        on,
        was,
    })
}

/// Kill switch on/off: `kill_switch_activated`/`kill_switch_released` on the ledger,
/// then `killSwitch` rewritten in `decision-engine.json` (every other field kept).
pub fn set_kill_switch(
    hq_root: &Path,
    who: &Identity,
    on: bool,
) -> Result<DecisionChange, ActionError> {
    let op = Operation::KillSwitch;
    prepare(hq_root, who, op)?;
    let event = if on {
        "kill_switch_activated"
    } else {
        "kill_switch_released"
    };
    decision_change(hq_root, who, op, event, "hq", on, |doc| {
        let was = doc
            .get("killSwitch")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        doc.insert("killSwitch".into(), Value::Bool(on));
        was
    })
}

/// Maintenance on/off for `branch` (which must be in `branches.json`):
/// `maintenance_on`/`maintenance_off`, then `maintenanceMode.<branch>` rewritten.
pub fn set_maintenance(
    hq_root: &Path,
    who: &Identity,
    branch: &str,
    on: bool,
) -> Result<DecisionChange, ActionError> {
    let op = Operation::Maintenance;
    let d = prepare(hq_root, who, op)?;
    let known = d
        .registry
        .as_ref()
        .is_some_and(|r| r.branches.iter().any(|b| b.id == branch));
    if !known {
        return Err(refused(format!(
            "branch `{}` is not in {}",
            crate::domain::sanitize::sanitize(branch),
            paths::BRANCHES
        )));
    }
    let event = if on {
        "maintenance_on"
    } else {
        "maintenance_off"
    };
    decision_change(hq_root, who, op, event, branch, on, |doc| {
        let m = doc
            .entry("maintenanceMode")
            .or_insert_with(|| Value::Object(Map::new()));
        if !m.is_object() {
            *m = Value::Object(Map::new());
        }
        let mut was = false;
        if let Value::Object(m) = m {
            was = m.get(branch).and_then(Value::as_bool).unwrap_or(false);
            m.insert(branch.to_string(), Value::Bool(on));
        }
        was
    })
}

/// Crash detection: the newest kill-switch / maintenance entry of `entries` (the
/// ledger, file order) that disagrees with `decision-engine.json` means a writer died
/// between the ledger entry and the rewrite. One line describing every mismatch.
pub fn pending_decision_mismatch(hq_root: &Path, entries: &[Entry]) -> Option<String> {
    let path = hq_root.join(paths::DECISION_ENGINE);
    let decision = match crate::store::fsutil::read_regular(&path) {
        Ok(b) => parse_decision_engine(&path, &b).ok()?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Default::default(),
        Err(_) => return None,
    };
    let mut problems = Vec::new();
    if let Some(e) = entries
        .iter()
        .rev()
        .find(|e| e.event == "kill_switch_activated" || e.event == "kill_switch_released")
    {
        let want = e.event == "kill_switch_activated";
        if decision.kill_switch != want {
            problems.push(format!(
                "ledger {} ({}) says the kill switch is {} but decision-engine.json says {}",
                e.id,
                e.event,
                on_off(want),
                on_off(decision.kill_switch)
            ));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for e in entries.iter().rev() {
        if (e.event != "maintenance_on" && e.event != "maintenance_off")
            || seen.contains(&e.branch.as_str())
        {
            continue;
        }
        seen.push(&e.branch);
        let want = e.event == "maintenance_on";
        let have = decision
            .maintenance
            .get(&e.branch)
            .copied()
            .unwrap_or(false);
        if have != want {
            problems.push(format!(
                "ledger {} ({}) says {} maintenance is {} but decision-engine.json says {}",
                e.id,
                e.event,
                e.branch,
                on_off(want),
                on_off(have)
            ));
        }
    }
    if problems.is_empty() {
        None
    } else {
        let text = format!(
            "{} — a change was recorded but not applied (crash?); re-run the action to apply it",
            problems.join("; ")
        );
        Some(crate::domain::sanitize::sanitize(&text).into_owned())
    }
}

fn on_off(b: bool) -> &'static str {
    if b { "on" } else { "off" }
}

/// What a rule rollback did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleRollbackOutcome {
    pub ledger_id: String,
    /// The change appended to `rules_history.jsonl`.
    pub compensating: RuleChange,
    /// 1-based line of the reverted change in `rules_history.jsonl`.
    pub reverted_line: usize,
}

/// Read `rules_history.jsonl`: valid changes with their 1-based line numbers; bad
/// lines are logged and skipped.
pub fn read_rules_history(hq_root: &Path) -> anyhow::Result<Vec<(usize, RuleChange)>> {
    let path = hq_root.join(paths::RULES_HISTORY);
    let bytes = match crate::store::fsutil::read_regular(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => anyhow::bail!("{}: cannot read: {e}", path.display()),
    };
    let mut out = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse_rule_line(line) {
            Ok(r) => out.push((i + 1, r)),
            Err(e) => tracing::warn!("{}:{}: skipped: {e}", path.display(), i + 1),
        }
    }
    Ok(out)
}

/// Revert the newest rule change, as one critical section under
/// `controls/rules_history.jsonl.lock`: read the newest change → a `rule_rollback`
/// ledger entry → the compensating line appended to `rules_history.jsonl` (flock on
/// the file too, one write on an O_APPEND descriptor, fsync). Two rule rollbacks at
/// once are serialised: the second reverts the first's compensation, never the same
/// change twice. A broken newest line refuses (see `deps::newest_rule_change`).
pub fn rollback_rule(hq_root: &Path, who: &Identity) -> Result<RuleRollbackOutcome, ActionError> {
    prepare(hq_root, who, Operation::RuleRollback)?;
    let history_path = hq_root.join(paths::RULES_HISTORY);
    let _lock = lock_exclusive(&history_path)?;
    let Some((line_no, newest)) = deps::newest_rule_change(hq_root)? else {
        return Err(refused(format!(
            "{} has no rule change to roll back",
            paths::RULES_HISTORY
        )));
    };
    // Milliseconds: the same instant as the `ts` written below.
    let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
    let comp = plan_rule_rollback(
        std::slice::from_ref(&newest),
        &who.signer_id,
        now.fixed_offset(),
    )?;
    let ts = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let line = serde_json::to_string(&json!({
        "ts": ts,
        "actor": comp.actor,
        "rule": comp.rule,
        "old": comp.old,
        "new": comp.new,
        "note": comp.note,
    }))
    .map_err(anyhow::Error::from)?;
    let fields = obj(json!({
        "branch": "hq",
        "event": "rule_rollback",
        "status": "success",
        "actor": who.signer_id,
        "rule": comp.rule,
        "old": comp.old,
        "new": comp.new,
        "note": comp.note,
        "reverted_ts": newest.ts.to_rfc3339_opts(SecondsFormat::AutoSi, false),
    }));
    let appended = append_signed(&ledger_path(hq_root), who, fields).map_err(action_error)?;
    append_line_locked(&history_path, &line).map_err(|e| {
        tracing::error!(
            "rule_rollback is on the ledger ({}) but rules_history.jsonl was not appended: {e:#}",
            appended.id
        );
        e
    })?;
    Ok(RuleRollbackOutcome {
        ledger_id: appended.id,
        compensating: comp,
        reverted_line: line_no,
    })
}

/// Append `line` + `\n` to `path` under an exclusive flock, in one write on an
/// O_APPEND descriptor; a missing final `\n` of a dead writer is completed first.
pub fn append_line_locked(path: &Path, line: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    let mut f = OpenOptions::new()
        .append(true)
        .read(true)
        .create(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    f.lock()
        .map_err(|e| anyhow::anyhow!("{}: cannot lock: {e}", path.display()))?;
    let result = (|| -> std::io::Result<()> {
        let len = f.metadata()?.len();
        let mut buf = Vec::with_capacity(line.len() + 2);
        if len > 0 {
            let mut last = [0u8; 1];
            f.seek(SeekFrom::Start(len - 1))?;
            f.read_exact(&mut last)?;
            if last[0] != b'\n' {
                buf.push(b'\n');
            }
        }
        buf.extend_from_slice(line.as_bytes());
        buf.push(b'\n');
        f.write_all(&buf)?;
        f.sync_all()
    })();
    let unlock = f.unlock();
    result.map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    unlock?;
    Ok(())
}
