//! The files an action depends on, loaded and validated in one place for the CLI and
//! the console. An absent optional file means "not configured" (no rollback hook: the
//! signed record is the action); a file that is present but does not parse, breaks
//! its schema or cannot be read refuses the action before anything is written, naming
//! `file:line:col` and the reason.
//!
//! | action | files |
//! |---|---|
//! | rollback | branches.json (required), policy.json, keys.json, sync-plan.json, rollback-hook.json |
//! | maintenance | branches.json (required: the branch must be in it), policy.json, keys.json, decision-engine.json |
//! | kill switch | policy.json, keys.json, decision-engine.json |
//! | rule rollback | policy.json, keys.json, and the newest line of rules_history.jsonl |
//!
//! Notifications are not a dependency of any action: when `rules.json` or
//! `channels.json` is broken the action still happens and [`notify_config`] reports
//! why nothing could be routed, for the caller to show and log.

use std::path::{Path, PathBuf};

use crate::domain::hq::{
    self, Channels, DecisionEngine, FileError, Keys, NotifyRules, Registry, RollbackHook, SyncPlan,
    paths,
};
use crate::domain::policy::{Operation, Policy, Refusal};
use crate::domain::rhythm::RuleChange;
use crate::domain::sanitize::sanitize;

/// What an action read before writing anything, validated. A field is `None` when its
/// file is absent (or the action does not depend on it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deps {
    pub registry: Option<Registry>,
    /// `None`: default roles.
    pub policy: Option<Policy>,
    pub keys: Option<Keys>,
    pub decision: Option<DecisionEngine>,
    pub sync_plan: Option<SyncPlan>,
    pub rollback_hook: Option<RollbackHook>,
}

/// The files (relative to the HQ root) `op` depends on, and whether each is required.
pub fn files(op: Operation) -> &'static [(&'static str, bool)] {
    match op {
        Operation::Rollback => &[
            (paths::BRANCHES, true),
            (paths::POLICY, false),
            (paths::KEYS, false),
            (paths::SYNC_PLAN, false),
            (paths::ROLLBACK_HOOK, false),
        ],
        Operation::Maintenance => &[
            (paths::BRANCHES, true),
            (paths::POLICY, false),
            (paths::KEYS, false),
            (paths::DECISION_ENGINE, false),
        ],
        Operation::KillSwitch => &[
            (paths::POLICY, false),
            (paths::KEYS, false),
            (paths::DECISION_ENGINE, false),
        ],
        Operation::RuleRollback | Operation::AlertSilence => {
            &[(paths::POLICY, false), (paths::KEYS, false)]
        }
    }
}

/// The refusal for a broken file: `file:line:col: reason` (`file: reason` when there
/// is no position, e.g. it cannot be read), sanitised, logged.
pub fn broken(op: Operation, e: &FileError) -> Refusal {
    let at = if e.line == 0 {
        format!("{}: {}", e.path.display(), e.message)
    } else {
        e.to_string()
    };
    let reason = sanitize(&format!(
        "{at} — {} depends on this file; fix it first (nothing was written)",
        op.label()
    ))
    .into_owned();
    tracing::warn!("action refused: {reason}");
    Refusal { reason }
}

/// Read `rel` under `root`: `Ok(None)` when it is absent and optional.
fn read(root: &Path, rel: &str, required: bool) -> Result<Option<(PathBuf, Vec<u8>)>, FileError> {
    let path = root.join(rel);
    match crate::store::fsutil::read_regular(&path) {
        Ok(b) => Ok(Some((path, b))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(None),
        Err(e) => Err(FileError::new(&path, 0, 0, format!("cannot read: {e}"))),
    }
}

/// Parse `rel` with `parse` when present.
fn parse<T>(
    root: &Path,
    rel: &str,
    required: bool,
    parse: impl FnOnce(&Path, &[u8]) -> Result<T, FileError>,
) -> Result<Option<T>, FileError> {
    match read(root, rel, required)? {
        None => Ok(None),
        Some((path, bytes)) => parse(&path, &bytes).map(Some),
    }
}

/// Load and validate every file `op` depends on (see the table above). The first
/// file that is present but broken — or required and absent — refuses the action.
pub fn load(hq_root: &Path, op: Operation) -> Result<Deps, Refusal> {
    load_files(hq_root, op).map_err(|e| broken(op, &e))
}

fn load_files(root: &Path, op: Operation) -> Result<Deps, FileError> {
    let mut d = Deps::default();
    for &(rel, required) in files(op) {
        match rel {
            paths::BRANCHES => d.registry = parse(root, rel, required, hq::parse_registry)?,
            paths::POLICY => d.policy = parse(root, rel, required, hq::parse_policy)?,
            paths::KEYS => d.keys = parse(root, rel, required, hq::parse_keys)?,
            paths::DECISION_ENGINE => {
                d.decision = parse(root, rel, required, hq::parse_decision_engine)?
            }
            paths::SYNC_PLAN => d.sync_plan = parse(root, rel, required, hq::parse_sync_plan)?,
            paths::ROLLBACK_HOOK => {
                d.rollback_hook = parse(root, rel, required, hq::parse_rollback_hook)?
            }
            _ => {}
        }
    }
    Ok(d)
}

/// `decision-engine.json` alone (absent → the empty default), for the read inside
/// the lock.
pub fn load_decision(hq_root: &Path, op: Operation) -> Result<DecisionEngine, Refusal> {
    parse(
        hq_root,
        paths::DECISION_ENGINE,
        false,
        hq::parse_decision_engine,
    )
    .map(Option::unwrap_or_default)
    .map_err(|e| broken(op, &e))
}

/// The newest change of `controls/rules_history.jsonl` (the one a rule rollback
/// reverts) with its 1-based line number; `None` when the file is absent or holds no
/// change. Its newest non-blank line must be a valid change: a rule rollback must not
/// silently revert an older change because the newest one is broken (or half
/// written). Older lines are not read.
pub fn newest_rule_change(hq_root: &Path) -> Result<Option<(usize, RuleChange)>, Refusal> {
    let op = Operation::RuleRollback;
    let Some((path, bytes)) =
        read(hq_root, paths::RULES_HISTORY, false).map_err(|e| broken(op, &e))?
    else {
        return Ok(None);
    };
    // The newest non-blank line, found from the end (older lines are never parsed).
    let Some((i, line)) = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
        .last()
    else {
        return Ok(None);
    };
    match serde_json::from_slice::<RuleChange>(line) {
        Ok(r) => Ok(Some((i + 1, r))),
        Err(e) => {
            let msg = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let msg = msg.strip_suffix(&suffix).unwrap_or(&msg);
            Err(broken(
                op,
                &FileError::new(
                    &path,
                    i + 1,
                    e.column(),
                    format!("the newest change: {msg}"),
                ),
            ))
        }
    }
}

/// `rules.json` and `channels.json` as a notification needs them. `errors` lists every
/// one that is present but broken: then nothing can be routed, and the caller must
/// show and log it (the action itself has already happened).
#[derive(Debug, Clone, Default)]
pub struct NotifyConfig {
    pub channels: Option<Channels>,
    pub rules: Option<NotifyRules>,
    pub errors: Vec<FileError>,
}

impl NotifyConfig {
    /// One line per broken file, sanitised, for stderr or the screen.
    pub fn error_lines(&self) -> Vec<String> {
        self.errors
            .iter()
            .map(|e| sanitize(&format!("notifications could not be routed: {e}")).into_owned())
            .collect()
    }
}

/// Load the notification files. Broken ones are logged here and listed in `errors`.
pub fn notify_config(hq_root: &Path) -> NotifyConfig {
    let mut c = NotifyConfig::default();
    match parse(hq_root, paths::NOTIFY_RULES, false, hq::parse_notify_rules) {
        Ok(r) => c.rules = r,
        Err(e) => c.errors.push(e),
    }
    match parse(hq_root, paths::CHANNELS, false, hq::parse_channels) {
        Ok(ch) => c.channels = ch,
        Err(e) => c.errors.push(e),
    }
    for line in c.error_lines() {
        tracing::warn!("{line}");
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let w = |rel: &str, text: &str| {
            let p = dir.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        w(
            paths::BRANCHES,
            r#"{"hqVersion":"2.1","branches":[{"id":"a","repo":"x/a","domain":"a.example","visibility":"public"}]}"#,
        );
        dir
    }

    fn write(dir: &tempfile::TempDir, rel: &str, text: &str) {
        let p = dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    #[test]
    fn absent_optional_files_are_not_configured() {
        let dir = root();
        let d = load(dir.path(), Operation::Rollback).unwrap();
        assert!(d.registry.is_some());
        assert_eq!((d.rollback_hook, d.sync_plan, d.policy), (None, None, None));
        assert_eq!(
            load(dir.path(), Operation::KillSwitch).unwrap(),
            Deps::default()
        );
    }

    #[test]
    fn broken_files_refuse_only_the_actions_that_depend_on_them() {
        let dir = root();
        write(
            &dir,
            paths::ROLLBACK_HOOK,
            "{\"argv\":[\"x\"],\"timeout\":\"0s\"}",
        );
        let r = load(dir.path(), Operation::Rollback).unwrap_err();
        assert!(
            r.reason
                .contains("rollback-hook.json:1:25: timeout is zero"),
            "{}",
            r.reason
        );
        assert!(load(dir.path(), Operation::KillSwitch).is_ok());
        write(&dir, paths::DECISION_ENGINE, "{\"killSwitch\":1}");
        let r = load(dir.path(), Operation::KillSwitch).unwrap_err();
        assert!(
            r.reason.contains("decision-engine.json:1:15"),
            "{}",
            r.reason
        );
        assert!(load(dir.path(), Operation::RuleRollback).is_ok());
        // A required file that is absent refuses too.
        std::fs::remove_file(dir.path().join(paths::BRANCHES)).unwrap();
        let r = load(dir.path(), Operation::Maintenance).unwrap_err();
        assert!(
            r.reason.contains("branches.json: cannot read"),
            "{}",
            r.reason
        );
    }

    #[test]
    fn the_newest_rule_line_must_be_valid() {
        let dir = root();
        assert_eq!(newest_rule_change(dir.path()).unwrap(), None);
        let good = "{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"L\",\"rule\":\"r\",\"old\":0.1,\"new\":0.2}";
        write(&dir, paths::RULES_HISTORY, &format!("junk\n{good}\n\n"));
        let (line, r) = newest_rule_change(dir.path()).unwrap().unwrap();
        assert_eq!((line, r.rule.as_str()), (2, "r"));
        write(
            &dir,
            paths::RULES_HISTORY,
            &format!("{good}\n{{\"ts\":1}}\n"),
        );
        let e = newest_rule_change(dir.path()).unwrap_err();
        assert!(e.reason.contains("rules_history.jsonl:2:"), "{}", e.reason);
    }

    #[test]
    fn broken_notification_files_are_listed() {
        let dir = root();
        write(&dir, paths::NOTIFY_RULES, "{\"a\":[\"slack:x\"],}");
        let c = notify_config(dir.path());
        assert!(c.rules.is_none());
        assert_eq!(c.errors.len(), 1);
        assert!(
            c.error_lines()[0].contains("rules.json:1:18"),
            "{:?}",
            c.error_lines()
        );
    }
}
