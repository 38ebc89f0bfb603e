//! Policy enforcement for every action: the RWD matrix of `policy.json` decides, and
//! a refusal is logged and explained in one line. The executors in `run` check it
//! themselves (`run::prepare`: the action's files, then [`authorize`]), so no caller
//! can skip the check.

use std::path::Path;

use crate::domain::hq::{FileError, parse_policy, paths};
use crate::domain::policy::{self, Operation, Policy, Refusal};
use crate::operator::deps;
use crate::store::append::Identity;

/// Decide with an already-loaded policy (`None` = default roles).
pub fn authorize(policy: Option<&Policy>, who: &Identity, op: Operation) -> Result<(), Refusal> {
    let r = policy::allowed(policy, &who.role, op);
    if let Err(e) = &r {
        tracing::warn!(signer = %who.signer_id, role = %who.role, "action refused: {}", e.reason);
    }
    r
}

/// Decide with `hq/registry/policy.json` under `hq_root`: missing → default roles;
/// present but invalid → refused with `file:line:col` (a broken policy grants nothing).
pub fn authorize_at(hq_root: &Path, who: &Identity, op: Operation) -> Result<(), Refusal> {
    let path = hq_root.join(paths::POLICY);
    let policy = match crate::store::fsutil::read_regular(&path) {
        Ok(bytes) => Some(parse_policy(&path, &bytes).map_err(|e| deps::broken(op, &e))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            let e = FileError::new(&path, 0, 0, format!("cannot read: {e}"));
            return Err(deps::broken(op, &e));
        }
    };
    authorize(policy.as_ref(), who, op)
}
