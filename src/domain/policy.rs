//! The RWD (read / write) matrix of `policy.json` (docs/configuration.md) and the decisions it
//! makes for the console's actions. Pure: no I/O.
//!
//! Decisions: rollback and maintenance need W on `sync`; the kill switch needs W on
//! `policy`. A rule rollback rewrites an observer rule (`rules_history.jsonl`), i.e. it
//! changes policy, so it also needs W on `policy`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Access to one resource: `"-"`, `"R"`, `"W"` or `"RW"` (also written `"R/W"`, as in
/// the whitepaper's matrix; it is written back as `"RW"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Access {
    #[default]
    #[serde(rename = "-")]
    None,
    #[serde(rename = "R")]
    Read,
    #[serde(rename = "W")]
    Write,
    #[serde(rename = "RW", alias = "R/W")]
    ReadWrite,
}

impl Access {
    pub fn can_read(self) -> bool {
        matches!(self, Access::Read | Access::ReadWrite)
    }
    pub fn can_write(self) -> bool {
        matches!(self, Access::Write | Access::ReadWrite)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Access::None => "-",
            Access::Read => "R",
            Access::Write => "W",
            Access::ReadWrite => "RW",
        }
    }
}

/// One role's row of the matrix. A resource left out means no access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleRights {
    #[serde(default)]
    pub registry: Access,
    #[serde(default)]
    pub ledger: Access,
    #[serde(default)]
    pub sync: Access,
    #[serde(default)]
    pub policy: Access,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    Reject,
    Block,
    Abort,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRule {
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub enforcement: Enforcement,
}

/// Rules and the RWD matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    pub rules: Vec<PolicyRule>,
    pub roles: BTreeMap<String, RoleRights>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Vec::new(),
            roles: default_roles(),
        }
    }
}

/// docs/configuration.md default roles: `hq_admin` RW everything; `branch_owner` R registry, ledger,
/// sync; `llm` R registry, W ledger; `worker` R registry, W ledger, W sync.
pub fn default_roles() -> BTreeMap<String, RoleRights> {
    use Access::*;
    let row = |registry, ledger, sync, policy| RoleRights {
        registry,
        ledger,
        sync,
        policy,
    };
    BTreeMap::from([
        (
            "hq_admin".to_string(),
            row(ReadWrite, ReadWrite, ReadWrite, ReadWrite),
        ),
        ("branch_owner".to_string(), row(Read, Read, Read, None)),
        ("llm".to_string(), row(Read, Write, None, None)),
        ("worker".to_string(), row(Read, Write, Write, None)),
    ])
}

/// Operations the console guards with the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    Rollback,
    Maintenance,
    KillSwitch,
    RuleRollback,
    /// Silencing an alert in Alertmanager (records `alert_silenced` first).
    AlertSilence,
}

impl Operation {
    /// The files (relative to the HQ root) the operation depends on, and whether each
    /// is required (one table: the CLI, the console and doctor read it).
    pub fn files(self) -> &'static [(&'static str, bool)] {
        use crate::domain::hq::paths;
        match self {
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

    pub fn label(self) -> &'static str {
        match self {
            Operation::Rollback => "rollback",
            Operation::Maintenance => "maintenance mode",
            Operation::KillSwitch => "the kill switch",
            Operation::RuleRollback => "rule rollback",
            Operation::AlertSilence => "silencing an alert",
        }
    }

    /// The resource whose W right the operation needs.
    pub fn resource(self) -> Resource {
        match self {
            Operation::Rollback | Operation::Maintenance => Resource::Sync,
            Operation::KillSwitch | Operation::RuleRollback => Resource::Policy,
            Operation::AlertSilence => Resource::Ledger,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resource {
    Registry,
    Ledger,
    Sync,
    Policy,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Registry => "registry",
            Resource::Ledger => "ledger",
            Resource::Sync => "sync",
            Resource::Policy => "policy",
        }
    }
}

/// Why an operation is refused: one line for the screen and the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    pub reason: String,
}

impl Policy {
    pub fn rights(&self, role: &str) -> Option<RoleRights> {
        self.roles.get(role).copied()
    }

    /// Ok when `role` may perform `op`; else a one-line reason.
    pub fn allowed(&self, role: &str, op: Operation) -> Result<(), Refusal> {
        let Some(r) = self.rights(role) else {
            return Err(Refusal {
                reason: format!(
                    "refused: role `{role}` is not in the RWD matrix, so it may not perform {}",
                    op.label()
                ),
            });
        };
        let res = op.resource();
        let access = match res {
            Resource::Registry => r.registry,
            Resource::Ledger => r.ledger,
            Resource::Sync => r.sync,
            Resource::Policy => r.policy,
        };
        if access.can_write() {
            Ok(())
        } else {
            Err(Refusal {
                reason: format!(
                    "refused: {} needs W on {}; role `{role}` has `{}`",
                    op.label(),
                    res.as_str(),
                    access.as_str()
                ),
            })
        }
    }
}

/// `allowed` against a policy that may be absent (default roles then).
pub fn allowed(policy: Option<&Policy>, role: &str, op: Operation) -> Result<(), Refusal> {
    match policy {
        Some(p) => p.allowed(role, op),
        None => Policy::default().allowed(role, op),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_slash_w_as_in_the_whitepaper_reads_as_rw() {
        let r: RoleRights =
            serde_json::from_str(r#"{"registry":"R/W","ledger":"RW","sync":"R","policy":"-"}"#)
                .unwrap();
        assert_eq!(
            (r.registry, r.ledger),
            (Access::ReadWrite, Access::ReadWrite)
        );
        assert_eq!(serde_json::to_string(&r.registry).unwrap(), r#""RW""#);
    }

    #[test]
    fn default_matrix_decisions() {
        let p = Policy::default();
        for op in [
            Operation::Rollback,
            Operation::Maintenance,
            Operation::KillSwitch,
            Operation::RuleRollback,
        ] {
            assert!(p.allowed("hq_admin", op).is_ok(), "{op:?}");
            assert!(p.allowed("llm", op).is_err(), "{op:?}");
            assert!(p.allowed("branch_owner", op).is_err(), "{op:?}");
        }
        assert!(p.allowed("worker", Operation::Rollback).is_ok());
        assert!(p.allowed("worker", Operation::Maintenance).is_ok());
        let e = p.allowed("worker", Operation::KillSwitch).unwrap_err();
        assert_eq!(
            e.reason,
            "refused: the kill switch needs W on policy; role `worker` has `-`"
        );
        let e = p.allowed("branch_owner", Operation::Rollback).unwrap_err();
        assert_eq!(
            e.reason,
            "refused: rollback needs W on sync; role `branch_owner` has `R`"
        );
        let e = allowed(None, "intern", Operation::Rollback).unwrap_err();
        assert!(e.reason.contains("`intern` is not in the RWD matrix"));
    }

    #[test]
    fn custom_matrix() {
        let mut p = Policy::default();
        p.roles.insert(
            "ops".into(),
            RoleRights {
                sync: Access::Write,
                ..Default::default()
            },
        );
        assert!(p.allowed("ops", Operation::Rollback).is_ok());
        assert!(p.allowed("ops", Operation::RuleRollback).is_err());
    }
}
