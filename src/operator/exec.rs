//! Console-side glue for operator actions: runs what `App` asked for (`Command`) as
//! background tasks on the actions backend, and reports back as `Msg`s. The UI never
//! waits on any of it; every action is on the ledger before it takes effect (the
//! backend guarantees the order). The files an action depends on are loaded by the
//! same `actions::deps` as the CLI's, never from the watcher's snapshot (which keeps
//! the last good version of a broken file for display): a broken file refuses.
//! Paths in what is shown are relative to the HQ root (the header names the root).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc::Sender;

use crate::domain::plan::plan_rollback;
use crate::domain::policy::Operation;
use crate::operator::deps;
use crate::operator::run::ActionError;
use crate::operator::run::{
    ActionProgress, execute_rollback, rollback_rule, set_kill_switch, set_maintenance,
};
use crate::protocol::Msg;
use crate::protocol::{Command, PendingAction};
use crate::store::append::Identity;

/// What the executor needs: the HQ root, the operator, and the health re-check channel.
#[derive(Clone)]
pub struct Ops {
    pub root: PathBuf,
    pub who: Option<Arc<Identity>>,
    pub recheck: Option<Sender<Vec<String>>>,
}

impl Ops {
    /// Start `cmd` in the background; its result arrives on `tx`.
    pub fn spawn(&self, cmd: Command, tx: Sender<Msg>) {
        let ops = self.clone();
        match cmd {
            Command::PlanRollback { target } => {
                tokio::task::spawn_blocking(move || {
                    let msg = ops.plan(&target);
                    let _ = tx.blocking_send(msg);
                });
            }
            Command::Notify { events, text } => {
                tokio::spawn(async move {
                    let events: Vec<&str> = events.iter().map(String::as_str).collect();
                    ops.notify(&events, &text, &tx).await;
                });
            }
            // Routed by the console (cmd/open.rs) to the ledger reader and to the
            // Prometheus backfill task before this.
            Command::Ledger(_) | Command::Backfill(_) | Command::CopyToClipboard { .. } => {}
            // Routed to the Alertmanager link when `alertmanager_url` is set; without
            // it there is nothing to post to.
            Command::Alerts(_) => {}
            Command::Execute(action) => {
                tokio::spawn(async move {
                    let msg = ops.execute(action, &tx).await;
                    let _ = tx.send(msg).await;
                });
            }
            Command::LoadParticipantKey { role, path } => {
                tokio::task::spawn_blocking(move || {
                    let _ = tx.blocking_send(load_participant_key(role, path));
                });
            }
            Command::SaveRehearsal(record) => {
                tokio::task::spawn_blocking(move || {
                    let result = crate::operator::rehearsal::save_rehearsal(
                        &ops.root,
                        ops.who.as_deref(),
                        &record,
                    );
                    let _ = tx.blocking_send(Msg::RehearsalSaved {
                        result,
                        at: Utc::now(),
                    });
                });
            }
        }
    }

    /// `text` with the HQ root's path cut off the paths it names.
    fn relative(&self, text: &str) -> String {
        let root = self.root.display().to_string();
        let root = root.trim_end_matches('/');
        if root.is_empty() || root == "." {
            // Only the HQ's own top-level directories: `../x` must stay as it is.
            return text
                .replace("./hq/", "hq/")
                .replace("./controls/", "controls/");
        }
        text.replace(&format!("{root}/"), "")
    }

    fn plan(&self, target: &str) -> Msg {
        let refused = |reason: String| Msg::OperatorDone {
            ok: false,
            summary: self.relative(&reason),
            at: Utc::now(),
        };
        let d = match deps::load(&self.root, Operation::Rollback) {
            Ok(d) => d,
            Err(r) => {
                return refused(format!(
                    "rollback refused: {}",
                    r.reason.strip_prefix("refused: ").unwrap_or(&r.reason)
                ));
            }
        };
        let entries = match crate::store::scan::read_entries(&self.root) {
            Ok(e) => e,
            Err(e) => return refused(format!("rollback: {e}")),
        };
        let branches = d
            .registry
            .as_ref()
            .map(|r| r.branches.clone())
            .unwrap_or_default();
        match plan_rollback(
            target,
            &entries,
            d.sync_plan.as_ref(),
            &branches,
            d.rollback_hook.as_ref(),
        ) {
            Err(r) => refused(format!("rollback refused: {}", r.reason)),
            Ok(plan) => {
                let mut lines = plan.summary.clone();
                if plan.runs.is_empty() {
                    lines.push(
                        "No rollback hook is configured: the signed ledger record is the action."
                            .into(),
                    );
                }
                let expected = plan.target_branch.clone();
                let alt = plan.target.clone();
                Msg::OperatorPlanned {
                    action: PendingAction::Rollback {
                        plan: Box::new(plan),
                    },
                    title: format!("Roll back {alt}"),
                    lines,
                    expected,
                    alternative: Some(alt),
                }
            }
        }
    }

    /// POST the events' notifications (rules.json → channels.json) and report the
    /// delivery status; URLs are never shown (`Delivery::url` is already redacted).
    /// A broken rules.json or channels.json sends nothing and says so (and is logged
    /// by `notify_config`): the action has happened, its notification has not.
    async fn notify(&self, events: &[&str], text: &str, tx: &Sender<Msg>) {
        let root = self.root.clone();
        let Ok(cfg) = tokio::task::spawn_blocking(move || deps::notify_config(&root)).await else {
            return;
        };
        let errors = cfg.error_lines();
        if !errors.is_empty() {
            for line in errors {
                let _ = tx
                    .send(Msg::OperatorProgress {
                        line: self.relative(&line),
                        at: Utc::now(),
                        output: None,
                    })
                    .await;
            }
            return;
        }
        if cfg.rules.is_none() {
            return;
        }
        let deliveries = crate::operator::notify::notify(
            cfg.channels.as_ref(),
            cfg.rules.as_ref(),
            events,
            text,
            crate::operator::notify::NotifyOptions::default(),
        )
        .await;
        for d in deliveries {
            let line = if d.delivered {
                format!("notified {}", d.target)
            } else {
                format!(
                    "notification to {} failed after {} tries: {}",
                    d.target,
                    d.attempts,
                    d.error.as_deref().unwrap_or("unknown error")
                )
            };
            let _ = tx
                .send(Msg::OperatorProgress {
                    line,
                    at: Utc::now(),
                    output: None,
                })
                .await;
        }
    }

    async fn execute(&self, action: PendingAction, tx: &Sender<Msg>) -> Msg {
        let msg = self.execute_inner(action.clone(), tx).await;
        if let Msg::OperatorDone { ok, summary, .. } = &msg {
            let events: Vec<&str> = match &action {
                PendingAction::Rollback { .. } => {
                    crate::operator::notify::rollback_events(*ok).to_vec()
                }
                PendingAction::KillSwitch { on: true } if *ok => vec!["kill_switch_activated"],
                PendingAction::KillSwitch { on: false } if *ok => vec!["kill_switch_released"],
                PendingAction::Maintenance { on: true, .. } if *ok => vec!["maintenance_on"],
                PendingAction::Maintenance { on: false, .. } if *ok => vec!["maintenance_off"],
                PendingAction::RuleRollback if *ok => vec!["rule_rollback"],
                _ => Vec::new(),
            };
            if !events.is_empty() {
                self.notify(&events, summary, tx).await;
            }
        }
        msg
    }

    async fn execute_inner(&self, action: PendingAction, tx: &Sender<Msg>) -> Msg {
        let done = |ok: bool, summary: String| Msg::OperatorDone {
            ok,
            summary: self.relative(&summary),
            at: Utc::now(),
        };
        let Some(who) = self.who.clone() else {
            return done(false, "read-only console: no operator key".into());
        };
        let root = self.root.clone();
        match action {
            PendingAction::Rollback { plan } => {
                let (ptx, mut prx) = tokio::sync::mpsc::channel::<ActionProgress>(64);
                let fwd = tx.clone();
                let forward = tokio::spawn(async move {
                    while let Some(p) = prx.recv().await {
                        // A hook that did not succeed: its whole output (bounded) goes
                        // to the notification history.
                        let output = match &p {
                            ActionProgress::BranchDone(r)
                                if r.status != "success" && r.status != "recorded" =>
                            {
                                Some(if r.output.trim().is_empty() {
                                    "(the hook printed nothing)".to_string()
                                } else if r.truncated {
                                    format!("{}\n[output cut at the capture limit]", r.output)
                                } else {
                                    r.output.clone()
                                })
                            }
                            _ => None,
                        };
                        let line = match p {
                            ActionProgress::Requested { ledger_id } => {
                                format!("rollback_requested on the ledger ({ledger_id})")
                            }
                            ActionProgress::HookStarted { branch, .. } => {
                                format!("hook running for {branch}…")
                            }
                            ActionProgress::BranchDone(r) => {
                                // The hook's own words (last non-empty output line), sanitized.
                                let said = r
                                    .output
                                    .lines()
                                    .rev()
                                    .find(|l| !l.trim().is_empty())
                                    .unwrap_or("");
                                format!(
                                    "{}: {} (exit {}, {} ms) → {}{}",
                                    r.branch,
                                    r.status,
                                    r.exit_code.map_or("—".into(), |c| c.to_string()),
                                    r.duration_ms,
                                    r.ledger_id,
                                    if said.is_empty() {
                                        String::new()
                                    } else {
                                        format!(
                                            " — hook: {}",
                                            crate::domain::sanitize::sanitize(said)
                                        )
                                    }
                                )
                            }
                            ActionProgress::Halted { branch, skipped } => {
                                format!(
                                    "halted at {branch}; not rolled back: {}",
                                    skipped.join(", ")
                                )
                            }
                        };
                        let _ = fwd
                            .send(Msg::OperatorProgress {
                                line,
                                at: Utc::now(),
                                output,
                            })
                            .await;
                    }
                });
                let result = execute_rollback(&root, &who, &plan, ptx).await;
                let _ = forward.await;
                if let Some(r) = &self.recheck {
                    let _ = r.send(plan.branches.clone()).await;
                }
                match result {
                    Ok(o) => {
                        let n = o.results.len();
                        done(
                            o.ok,
                            if o.ok {
                                format!("rollback of {} done: {n} branch(es) rolled back", o.target)
                            } else {
                                format!(
                                    "rollback of {} stopped: {} skipped — see the ledger",
                                    o.target,
                                    o.skipped.len()
                                )
                            },
                        )
                    }
                    Err(e) => done(false, failure("rollback", &e)),
                }
            }
            PendingAction::KillSwitch { on } => {
                let r = tokio::task::spawn_blocking(move || set_kill_switch(&root, &who, on)).await;
                match r {
                    Ok(Ok(_)) => done(
                        true,
                        format!("kill switch {}", if on { "ON" } else { "off" }),
                    ),
                    Ok(Err(e)) => done(false, failure("kill switch", &e)),
                    Err(e) => done(false, format!("kill switch: {e}")),
                }
            }
            PendingAction::Maintenance { branch, on } => {
                let b = branch.clone();
                let r =
                    tokio::task::spawn_blocking(move || set_maintenance(&root, &who, &b, on)).await;
                match r {
                    Ok(Ok(_)) => done(
                        true,
                        format!("maintenance {} for {branch}", if on { "on" } else { "off" }),
                    ),
                    Ok(Err(e)) => done(false, failure("maintenance", &e)),
                    Err(e) => done(false, format!("maintenance: {e}")),
                }
            }
            // The console routes silences to its Alertmanager link; reaching here
            // means there is none.
            PendingAction::SilenceAlert { .. } => done(
                false,
                "silence refused: no Alertmanager is configured (alertmanager_url)".into(),
            ),
            PendingAction::RuleRollback => {
                let r = tokio::task::spawn_blocking(move || rollback_rule(&root, &who)).await;
                match r {
                    Ok(Ok(_)) => done(
                        true,
                        "rule change rolled back (compensating rule appended)".into(),
                    ),
                    Ok(Err(e)) => done(false, failure("rule rollback", &e)),
                    Err(e) => done(false, format!("rule rollback: {e}")),
                }
            }
        }
    }
}

/// "rollback refused: …" / "rollback failed: …" for the screen.
fn failure(what: &str, e: &ActionError) -> String {
    match e {
        ActionError::Refused(r) => format!(
            "{what} refused: {}",
            r.reason.strip_prefix("refused: ").unwrap_or(&r.reason)
        ),
        ActionError::Failed(e) => format!("{what} failed: {e:#}"),
    }
}

/// Read a ceremony participant's key file (PKCS#8 PEM, refused when group/world
/// readable) and say so in a message for the ceremony pane.
pub fn load_participant_key(role: usize, path: PathBuf) -> Msg {
    use crate::store::keyfile::{KeyError, load_key_file};
    let result = load_key_file(&path).map(Box::new).map_err(|e| match e {
        KeyError::LoosePermissions(_) => format!(
            "key file {} is readable by group or others (chmod 600 it)",
            path.display()
        ),
        other => format!("key file {}: {other}", path.display()),
    });
    Msg::ParticipantKey { role, path, result }
}
