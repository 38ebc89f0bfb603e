//! Loading an HQ root's registry files into an `HqSnapshot` (docs/configuration.md): every file is
//! optional except `hq/registry/branches.json`.

use std::path::Path;

use crate::domain::hq::{self, FileError, HqSnapshot, paths};
use crate::store::fsutil::read_regular;

/// Read an optional file: `Ok(None)` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FileError> {
    match read_regular(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FileError::new(path, 0, 0, format!("cannot read: {e}"))),
    }
}

/// Parse an optional file with `parse`; a missing file is `None`, an invalid one is
/// `None` with its error pushed to `errors`.
fn optional<T>(
    root: &Path,
    rel: &str,
    errors: &mut Vec<FileError>,
    parse: impl FnOnce(&Path, &[u8]) -> Result<T, FileError>,
) -> Option<T> {
    let path = root.join(rel);
    match read_optional(&path) {
        Ok(None) => None,
        Ok(Some(bytes)) => match parse(&path, &bytes) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Err(e) => {
            errors.push(e);
            None
        }
    }
}

/// Load every registry file under `root`. Err only when `branches.json` is missing
/// or invalid; optional files that are invalid land in `snapshot.errors`.
pub fn load_snapshot(root: &Path) -> Result<HqSnapshot, FileError> {
    let path = root.join(paths::BRANCHES);
    let bytes = read_regular(&path)
        .map_err(|e| FileError::new(&path, 0, 0, format!("cannot read: {e}")))?;
    let registry = hq::parse_registry(&path, &bytes)?;

    let mut errors = Vec::new();
    let e = &mut errors;
    let policy_raw = optional(root, paths::POLICY, e, |p, b| {
        let v = hq::parse_policy(p, b)?;
        let raw: serde_json::Value = serde_json::from_slice(b)
            .map_err(|err| FileError::new(p, err.line(), err.column(), err.to_string()))?;
        Ok((v, raw))
    });
    let (rbac, policy) = match policy_raw {
        Some((v, raw)) => (Some(v), Some(raw)),
        None => (None, None),
    };
    let decision = optional(root, paths::DECISION_ENGINE, e, hq::parse_decision_engine);
    let keys = optional(root, paths::KEYS, e, hq::parse_keys);
    let cost_policy = optional(root, paths::COST_POLICY, e, hq::parse_cost_policy);
    let sync_plan = optional(root, paths::SYNC_PLAN, e, hq::parse_sync_plan);
    let conflict_policy = optional(
        root,
        paths::CONFLICT_POLICY,
        e,
        hq::sync::parse_conflict_policy,
    );
    let health_check = optional(root, paths::HEALTH_CHECK, e, hq::parse_health_check);
    let rollback_hook = optional(root, paths::ROLLBACK_HOOK, e, hq::parse_rollback_hook);
    let channels = optional(root, paths::CHANNELS, e, hq::parse_channels);
    let notify_rules = optional(root, paths::NOTIFY_RULES, e, hq::parse_notify_rules);
    let gateway = optional(root, paths::GATEWAY, e, hq::parse_gateway);
    let observer = optional(root, paths::OBSERVER_FIELD, e, hq::parse_observer_field);
    let custody = Some(crate::store::custody::read_custody(root)).filter(|c| !c.is_empty());

    Ok(HqSnapshot {
        root: root.to_path_buf(),
        registry: Some(registry),
        policy,
        decision,
        keys,
        cost_policy,
        sync_plan,
        health_check,
        rollback_hook,
        gateway,
        observer,
        errors,
        rbac,
        channels,
        notify_rules,
        custody,
        conflict_policy,
    })
}

/// Keep the last good version of every optional file that failed to load: for each
/// error in `new.errors`, the matching field of `new` (left `None` by the failed
/// load) takes `last`'s value. `new.errors` stays as it is, so the console still
/// lists the file as not loaded. For display only: actions never use a snapshot —
/// they load their files themselves and refuse a broken one (`actions::deps`).
pub fn keep_last_good(new: &mut HqSnapshot, last: &HqSnapshot) {
    let failed = |rel: &str| {
        let path = new.root.join(rel);
        new.errors.iter().any(|e| e.path == path)
    };
    let policy = failed(paths::POLICY);
    let decision = failed(paths::DECISION_ENGINE);
    let keys = failed(paths::KEYS);
    let cost_policy = failed(paths::COST_POLICY);
    let sync_plan = failed(paths::SYNC_PLAN);
    let conflict_policy = failed(paths::CONFLICT_POLICY);
    let health_check = failed(paths::HEALTH_CHECK);
    let rollback_hook = failed(paths::ROLLBACK_HOOK);
    let channels = failed(paths::CHANNELS);
    let notify_rules = failed(paths::NOTIFY_RULES);
    let gateway = failed(paths::GATEWAY);
    let observer = failed(paths::OBSERVER_FIELD);
    if policy {
        new.policy.clone_from(&last.policy);
        new.rbac.clone_from(&last.rbac);
    }
    if decision {
        new.decision.clone_from(&last.decision);
    }
    if keys {
        new.keys.clone_from(&last.keys);
    }
    if cost_policy {
        new.cost_policy.clone_from(&last.cost_policy);
    }
    if sync_plan {
        new.sync_plan.clone_from(&last.sync_plan);
    }
    if conflict_policy {
        new.conflict_policy.clone_from(&last.conflict_policy);
    }
    if health_check {
        new.health_check.clone_from(&last.health_check);
    }
    if rollback_hook {
        new.rollback_hook.clone_from(&last.rollback_hook);
    }
    if channels {
        new.channels.clone_from(&last.channels);
    }
    if notify_rules {
        new.notify_rules.clone_from(&last.notify_rules);
    }
    if gateway {
        new.gateway.clone_from(&last.gateway);
    }
    if observer {
        new.observer.clone_from(&last.observer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_broken_file_keeps_its_last_good_version_and_its_error() {
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
        w(paths::DECISION_ENGINE, r#"{"killSwitch":true}"#);
        w(paths::ROLLBACK_HOOK, r#"{"argv":["x"]}"#);
        let good = load_snapshot(dir.path()).unwrap();
        assert!(good.errors.is_empty());
        w(paths::DECISION_ENGINE, r#"{"killSwitch":true,}"#);
        std::fs::remove_file(dir.path().join(paths::ROLLBACK_HOOK)).unwrap();
        let mut next = load_snapshot(dir.path()).unwrap();
        assert_eq!(next.decision, None);
        keep_last_good(&mut next, &good);
        // Broken: the last good one stays (the kill switch is still shown on).
        assert!(next.decision.as_ref().is_some_and(|d| d.kill_switch));
        assert_eq!(next.errors.len(), 1);
        assert!(next.errors[0].path.ends_with(paths::DECISION_ENGINE));
        // Absent: not configured (not kept).
        assert_eq!(next.rollback_hook, None);
    }
}
