//! Policy enforcement for every action: the RWD matrix of `policy.json` decides, and
//! a refusal is logged and explained in one line. The executors in `run` call
//! [`authorize_at`] themselves, so no caller can skip the check.

use std::path::Path;

use crate::domain::hq::{parse_policy, paths};
use crate::domain::policy::{self, Operation, Policy, Refusal};
use crate::ledger::append::Identity;

/// Decide with an already-loaded policy (`None` = default roles).
pub fn authorize(policy: Option<&Policy>, who: &Identity, op: Operation) -> Result<(), Refusal> {
    let r = policy::allowed(policy, &who.role, op);
    if let Err(e) = &r {
        tracing::warn!(signer = %who.signer_id, role = %who.role, "action refused: {}", e.reason);
    }
    r
}

/// Decide with `hq/registry/policy.json` under `hq_root`: missing → default roles;
/// present but invalid → refused (a broken policy grants nothing).
pub fn authorize_at(hq_root: &Path, who: &Identity, op: Operation) -> Result<(), Refusal> {
    let path = hq_root.join(paths::POLICY);
    let policy = match crate::fsutil::read_regular(&path) {
        Ok(bytes) => match parse_policy(&path, &bytes) {
            Ok(p) => Some(p),
            Err(e) => {
                let reason = format!("refused: {} is invalid ({e}); fix it first", path.display());
                tracing::warn!("action refused: {reason}");
                return Err(Refusal { reason });
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            let reason = format!("refused: cannot read {}: {e}", path.display());
            tracing::warn!("action refused: {reason}");
            return Err(Refusal { reason });
        }
    };
    authorize(policy.as_ref(), who, op)
}
