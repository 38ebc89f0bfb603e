//! The HQ root's registry files (SPEC §3): serde models, validation, and errors that
//! name the file, line and column. `load_*` functions take the file's bytes and path
//! (for messages) and never panic on bad input.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Paths inside an HQ root, relative to it.
pub mod paths {
    pub const BRANCHES: &str = "hq/registry/branches.json";
    pub const POLICY: &str = "hq/registry/policy.json";
    pub const DECISION_ENGINE: &str = "hq/registry/decision-engine.json";
    pub const KEYS: &str = "hq/registry/keys.json";
    pub const LEDGER: &str = "hq/ledger/ledger.jsonl";
    pub const CHECKPOINTS: &str = "hq/ledger/checkpoints.jsonl";
    pub const COST_POLICY: &str = "hq/billing/cost-policy.json";
    pub const SYNC_PLAN: &str = "hq/sync/sync-plan.json";
    pub const HEALTH_CHECK: &str = "hq/recovery/health-check.json";
    pub const ROLLBACK_HOOK: &str = "hq/recovery/rollback-hook.json";
    pub const CHANNELS: &str = "hq/notifications/channels.json";
    pub const NOTIFY_RULES: &str = "hq/notifications/rules.json";
    pub const RULES_HISTORY: &str = "controls/rules_history.jsonl";
    pub const METRICS_CSV: &str = "logs/metrics.csv";
    pub const GATEWAY: &str = "gateway_activation.yaml";
    pub const OBSERVER_FIELD: &str = "observer_field.yaml";
    pub const CEREMONY_ARTIFACTS: &str = "custody/sim/artifacts";
}

/// A file that could not be read or does not satisfy its schema.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}:{line}:{column}: {message}", path.display())]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; 0 when the position is not known (e.g. I/O error).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl FileError {
    pub fn new(path: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        FileError {
            path: path.to_path_buf(),
            line,
            column,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    Private,
    Incubation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Canary,
    Standard,
    Incubation,
    Premium,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Canary => "canary",
            Tier::Standard => "standard",
            Tier::Incubation => "incubation",
            Tier::Premium => "premium",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Branch {
    pub id: String,
    pub repo: String,
    pub domain: String,
    pub visibility: Visibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hq_protocol_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<Tier>,
    /// Cost tier override (SPEC §9 "Cost tier").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default)]
    pub maintenance_mode: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub script: Option<String>,
    #[serde(default)]
    pub deprecate_after_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registry {
    pub hq_version: String,
    #[serde(default)]
    pub migration: Option<Migration>,
    pub branches: Vec<Branch>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPlan {
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub tiers: Vec<String>,
    #[serde(default)]
    pub order: Vec<String>,
    #[serde(default)]
    pub on_failure: Option<String>,
    #[serde(default)]
    pub max_retries: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CostTier {
    pub monthly_token_limit: u64,
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostEscalation {
    #[serde(default = "default_throttle")]
    pub throttle: f64,
    #[serde(default = "default_notify")]
    pub notify: f64,
    #[serde(default = "default_suspend")]
    pub suspend: f64,
}

fn default_throttle() -> f64 {
    1.0
}
fn default_notify() -> f64 {
    1.2
}
fn default_suspend() -> f64 {
    1.5
}

impl Default for CostEscalation {
    fn default() -> Self {
        CostEscalation {
            throttle: 1.0,
            notify: 1.2,
            suspend: 1.5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CostPolicy {
    pub tiers: BTreeMap<String, CostTier>,
    #[serde(default)]
    pub escalation: CostEscalation,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default)]
    pub endpoints: Vec<String>,
    #[serde(default)]
    pub interval: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
    #[serde(default)]
    pub on_failure: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RollbackHook {
    pub argv: Vec<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signer {
    pub id: String,
    pub role: String,
    #[serde(rename = "publicKey")]
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    pub signers: Vec<Signer>,
}

/// `decision-engine.json`. Kept as a JSON object too, so a rewrite preserves every
/// field Lumen does not know about.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DecisionEngine {
    pub kill_switch: bool,
    pub maintenance: BTreeMap<String, bool>,
    pub raw: serde_json::Map<String, serde_json::Value>,
}

/// Thresholds from `gateway_activation.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Gateway {
    pub status: Option<String>,
    pub loop_rate_hz: f64,
    pub creative_band_min: f64,
    pub risk_band_max: f64,
}

impl Default for Gateway {
    fn default() -> Self {
        Gateway {
            status: None,
            loop_rate_hz: 5.0,
            creative_band_min: 0.22,
            risk_band_max: 0.35,
        }
    }
}

/// `observer_field.yaml`: channel weights and thresholds.
#[derive(Debug, Clone, PartialEq)]
pub struct ObserverField {
    pub weights: BTreeMap<String, f64>,
    pub coherence_ok: f64,
    pub phase_warn: f64,
    pub phase_crit: f64,
}

impl Default for ObserverField {
    fn default() -> Self {
        ObserverField {
            weights: BTreeMap::new(),
            coherence_ok: 0.85,
            phase_warn: 0.7,
            phase_crit: 1.2,
        }
    }
}

/// Everything loaded from an HQ root's registry files. Only `registry` is required;
/// an optional file that is missing is `None` ("not configured"); one that is present
/// but invalid is `None` with its error in `errors`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HqSnapshot {
    pub root: PathBuf,
    pub registry: Option<Registry>,
    pub policy: Option<serde_json::Value>,
    pub decision: Option<DecisionEngine>,
    pub keys: Option<Keys>,
    pub cost_policy: Option<CostPolicy>,
    pub sync_plan: Option<SyncPlan>,
    pub health_check: Option<HealthCheck>,
    pub rollback_hook: Option<RollbackHook>,
    pub gateway: Option<Gateway>,
    pub observer: Option<ObserverField>,
    pub errors: Vec<FileError>,
}
