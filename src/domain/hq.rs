//! The HQ root's registry files (docs/configuration.md): serde models, validation, and errors that
//! name the file, line and column. `parse_*` functions take the file's path (for
//! messages) and bytes, and never panic on bad input. YAML files go through
//! serde-saphyr (positions from `Spanned`).
//!
//! Every `parse_*` function runs two passes: a typed serde pass (syntax, types,
//! required fields, enum values — serde_json's own line/column), then semantic checks
//! (patterns, uniqueness, ranges) that locate the offending element by borrowing it
//! as a `RawValue` from the input and taking its byte offset.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::domain::policy::{Policy, PolicyRule, RoleRights};
use crate::domain::sanitize::sanitize;

pub mod custody;
pub mod observer;
pub mod sync;

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
    pub const CONFLICT_POLICY: &str = "hq/sync/conflict-policy.json";
    pub const HEALTH_CHECK: &str = "hq/recovery/health-check.json";
    pub const ROLLBACK_HOOK: &str = "hq/recovery/rollback-hook.json";
    pub const CHANNELS: &str = "hq/notifications/channels.json";
    pub const NOTIFY_RULES: &str = "hq/notifications/rules.json";
    pub const RULES_HISTORY: &str = "controls/rules_history.jsonl";
    pub const METRICS_CSV: &str = "logs/metrics.csv";
    pub const GATEWAY: &str = "gateway_activation.yaml";
    pub const OBSERVER_FIELD: &str = "observer_field.yaml";
    pub const CEREMONY_ARTIFACTS: &str = "custody/sim/artifacts";

    /// The files an HQ snapshot loads (`sources::registry`), in load order: the one
    /// list the console's notices, `doctor` and the demo's assets follow.
    pub const SNAPSHOT_FILES: &[&str] = &[
        BRANCHES,
        POLICY,
        DECISION_ENGINE,
        KEYS,
        COST_POLICY,
        SYNC_PLAN,
        CONFLICT_POLICY,
        HEALTH_CHECK,
        ROLLBACK_HOOK,
        CHANNELS,
        NOTIFY_RULES,
        GATEWAY,
        OBSERVER_FIELD,
    ];
}

/// A file that could not be read or does not satisfy its schema.
///
/// Displayed as `path:line:col: message`; a position that is not known is left
/// out (`path:line: message`, `path: message`), never printed as `0:0`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{}: {message}", path.display(), position(*line, *column))]
pub struct FileError {
    pub path: PathBuf,
    /// 1-based; 0 when the position is not known (e.g. I/O error).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// `:line:col`, `:line` or nothing, for [`FileError`]'s display.
fn position(line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(":{l}"),
        (l, c) => format!(":{l}:{c}"),
    }
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
    /// Cost tier override (docs/formats.md "Cost tier").
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
    /// Validity window and revocation (RFC 3339), see `domain::keyring`.
    #[serde(rename = "notBefore", default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    #[serde(rename = "notAfter", default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    /// The transparency-log origin of this HQ's checkpoints (default
    /// `lumen.local/<HQ directory name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub signers: Vec<Signer>,
}

/// One usable keys.json entry: the signer, its public key and its validity window.
#[derive(Debug, Clone, PartialEq)]
pub struct KeysEntry {
    pub signer: Signer,
    pub entry: crate::domain::keyring::KeyEntry,
    /// 1-based line of the entry in keys.json.
    pub line: usize,
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
    /// The weights coherence is computed with (docs/configuration.md).
    pub weights: BTreeMap<String, f64>,
    /// Per-persona weights, when the file lists `channels: [{id, weights}]`.
    pub channels: Vec<observer::ObserverChannel>,
    /// Named windows (`W24h`, `W7d`), in file order.
    pub windows: Vec<observer::ObserverWindow>,
    pub coherence_ok: f64,
    pub phase_warn: f64,
    pub phase_crit: f64,
}

impl Default for ObserverField {
    fn default() -> Self {
        ObserverField {
            weights: BTreeMap::new(),
            channels: Vec::new(),
            windows: Vec::new(),
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
    /// `policy.json` as a validated RWD matrix (default roles when the file has none
    /// or is missing). `policy` above keeps the raw JSON.
    pub rbac: Option<Policy>,
    pub channels: Option<Channels>,
    pub notify_rules: Option<NotifyRules>,
    /// The trust chain and custody records (docs/custody.md); `None` when none of
    /// those files exists. Broken files are inside, as errors.
    pub custody: Option<custody::CustodyFiles>,
    pub conflict_policy: Option<sync::ConflictPolicy>,
}

// ---------------------------------------------------------------------------
// Parsing and validation
// ---------------------------------------------------------------------------

/// 1-based (line, column) of byte `offset` in `text`; the column counts bytes, like
/// serde_json's own positions, so both kinds of error agree.
pub fn line_col(text: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or_default();
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let start = memchr::memrchr(b'\n', before).map_or(0, |p| p + 1);
    (line, offset - start + 1)
}

/// A JSON document being validated: knows where every borrowed `RawValue` sits.
struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
}

impl<'a> Doc<'a> {
    fn new(path: &'a Path, bytes: &'a [u8]) -> Result<Self, FileError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let (l, c) = line_col(bytes, e.valid_up_to());
            FileError::new(path, l, c, "file is not valid UTF-8")
        })?;
        Ok(Doc { path, text })
    }

    /// Position of a value borrowed from `self.text`. `RawValue` borrowed from the
    /// input is a sub-slice of it, so the pointer difference is its byte offset.
    fn pos(&self, raw: &RawValue) -> (usize, usize) {
        let base = self.text.as_ptr() as usize;
        let at = raw.get().as_ptr() as usize;
        if at < base || at > base + self.text.len() {
            return (1, 1);
        }
        line_col(self.text.as_bytes(), at - base)
    }

    fn err(&self, raw: &RawValue, message: impl Into<String>) -> FileError {
        let (l, c) = self.pos(raw);
        FileError::new(self.path, l, c, message)
    }

    fn json_err(&self, e: &serde_json::Error) -> FileError {
        // The whitepaper heads its examples with a `// path` line: name the fix.
        let line = self.text.lines().nth(e.line().saturating_sub(1));
        if line.is_some_and(|l| l.trim_start().starts_with("//")) {
            let msg = format!("JSON has no comments: remove line {}", e.line());
            return FileError::new(self.path, e.line(), e.column().max(1), msg);
        }
        // serde_json says column 0 at the start of a line (e.g. end of file after a
        // newline); positions shown are 1-based.
        FileError::new(self.path, e.line(), e.column().max(1), json_message(e))
    }

    /// Typed pass over the whole file: syntax, types, required fields, enum values.
    fn typed<T: DeserializeOwned>(&self) -> Result<T, FileError> {
        serde_json::from_str(self.text).map_err(|e| self.json_err(&e))
    }

    /// The top-level object's members, borrowed, for locating elements.
    fn object(&self) -> Result<Members<'a>, FileError> {
        let root: &'a RawValue = serde_json::from_str(self.text).map_err(|e| self.json_err(&e))?;
        members(self, root)
    }

    /// Error at `raw`, or at 1:1 when the element is absent.
    fn err_at(&self, raw: Option<&RawValue>, message: impl Into<String>) -> FileError {
        match raw {
            Some(r) => self.err(r, message),
            None => FileError::new(self.path, 1, 1, message),
        }
    }
}

type Members<'a> = Vec<(String, &'a RawValue)>;

/// Object members in file order (a JSON object seen as a list of pairs), each value
/// borrowed from the input so `Doc::pos` can locate it. A `serde_json::Map` would
/// lose the positions.
fn members<'a>(doc: &Doc<'a>, raw: &'a RawValue) -> Result<Members<'a>, FileError> {
    struct V<'a>(std::marker::PhantomData<&'a ()>);
    impl<'de> serde::de::Visitor<'de> for V<'de> {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<M: serde::de::MapAccess<'de>>(
            self,
            mut m: M,
        ) -> Result<Self::Value, M::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = m.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    struct W<'a>(Members<'a>);
    impl<'de> Deserialize<'de> for W<'de> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(V(std::marker::PhantomData)).map(W)
        }
    }
    let w: W<'a> = serde_json::from_str(raw.get()).map_err(|e| rel_err(doc, raw, &e))?;
    Ok(w.0)
}

fn rel_err(doc: &Doc<'_>, raw: &RawValue, e: &serde_json::Error) -> FileError {
    let (l0, c0) = doc.pos(raw);
    let (l, c) = if e.line() <= 1 {
        (l0, c0 + e.column().saturating_sub(1))
    } else {
        (l0 + e.line() - 1, e.column())
    };
    FileError::new(doc.path, l, c, json_message(e))
}

fn get<'a>(m: &Members<'a>, key: &str) -> Option<&'a RawValue> {
    m.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
}

fn elements<'a>(doc: &Doc<'a>, raw: &'a RawValue) -> Result<Vec<&'a RawValue>, FileError> {
    serde_json::from_str(raw.get()).map_err(|e| rel_err(doc, raw, &e))
}

/// serde_json's message without its " at line L column C" suffix (we print our own).
fn json_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    s.strip_suffix(&suffix).map(str::to_owned).unwrap_or(s)
}

/// `^[a-z0-9-]+$` (hand-written: a regex crate for one character class is overkill).
pub fn valid_branch_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A dotted numeric version ("2.1", "2.0.3") as its components.
pub fn parse_version(v: &str) -> Option<Vec<u64>> {
    if v.is_empty() {
        return None;
    }
    v.split('.').map(|p| p.parse::<u64>().ok()).collect()
}

/// The one duration grammar (HQ files, config, the ledger filter's `since:`):
/// "250ms", "2s", "5m", "1h", "1d", "1w" (a bare number is seconds, decimals are
/// allowed). Hand-written: the grammar is six suffixes.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| {
        format!("`{s}` is not a duration; expected e.g. \"500ms\", \"2s\", \"5m\", \"1h\"")
    })?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86400.0,
        "w" => n * 604_800.0,
        u => {
            return Err(format!(
                "`{s}`: unknown duration unit `{u}`; expected ms, s, m, h, d or w"
            ));
        }
    };
    if !secs.is_finite() || secs > 1e9 {
        return Err(format!("`{s}` is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn is_http_url(s: &str) -> bool {
    (s.starts_with("http://") || s.starts_with("https://")) && s.len() > "https://".len()
}

/// `branches.json`.
pub fn parse_registry(path: &Path, bytes: &[u8]) -> Result<Registry, FileError> {
    let doc = Doc::new(path, bytes)?;
    let reg: Registry = doc.typed()?;
    let top = doc.object()?;
    let at_top = |key: &str| get(&top, key);
    if parse_version(&reg.hq_version).is_none() {
        return Err(doc.err_at(
            at_top("hqVersion"),
            format!(
                "hqVersion `{}` is not a version; expected digits and dots like \"2.1\"",
                reg.hq_version
            ),
        ));
    }
    let Some(branches_raw) = at_top("branches") else {
        return Err(FileError::new(path, 1, 1, "missing field `branches`"));
    };
    let raws = elements(&doc, branches_raw)?;
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (b, raw)) in reg.branches.iter().zip(raws.iter()).enumerate() {
        let m = members(&doc, raw)?;
        let field = |k: &str| get(&m, k).unwrap_or(raw);
        if !valid_branch_id(&b.id) {
            return Err(doc.err(
                field("id"),
                format!(
                    "branch id `{}` is invalid; expected only a-z, 0-9 and `-`",
                    b.id
                ),
            ));
        }
        if let Some(first) = seen.insert(&b.id, i) {
            let (l, _) = doc.pos(raws[first]);
            return Err(doc.err(
                field("id"),
                format!(
                    "duplicate branch id `{}` (first defined at line {l}); expected unique ids",
                    b.id
                ),
            ));
        }
        for (k, v) in [("repo", &b.repo), ("domain", &b.domain)] {
            if v.trim().is_empty() {
                return Err(doc.err(
                    field(k),
                    format!(
                        "`{k}` of branch `{}` is empty; expected a non-empty string",
                        b.id
                    ),
                ));
            }
        }
        if let Some(v) = &b.hq_protocol_version
            && parse_version(v).is_none()
        {
            return Err(doc.err(
                field("hqProtocolVersion"),
                format!("hqProtocolVersion `{v}` is not a version; expected digits and dots like \"2.1\""),
            ));
        }
        if let Some(h) = &b.health
            && !is_http_url(h)
        {
            return Err(doc.err(
                field("health"),
                format!(
                    "health URL `{h}` of branch `{}` must start with http:// or https://",
                    b.id
                ),
            ));
        }
        if let Some(t) = &b.billing_tier
            && t.trim().is_empty()
        {
            return Err(doc.err(
                field("billingTier"),
                "billingTier is empty; expected a cost tier name",
            ));
        }
    }
    if let Some(mraw) = at_top("migration")
        && let Some(mig) = &reg.migration
        && let Some(from) = &mig.from
        && parse_version(from).is_none()
    {
        let m = members(&doc, mraw)?;
        return Err(doc.err(
            get(&m, "from").unwrap_or(mraw),
            format!("migration.from `{from}` is not a version"),
        ));
    }
    Ok(reg)
}

/// Protocol-version state of a branch (docs/configuration.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolState {
    Current,
    Outdated,
    Deprecated,
    /// The branch does not declare `hqProtocolVersion`.
    Unknown,
}

/// Outdated when the branch's version is older than `hqVersion`; deprecated once
/// `deprecateAfterDays` have passed since `first_seen_outdated` (the caller records
/// when it first saw the branch outdated). A newer-than-HQ version counts as current.
pub fn protocol_state(
    branch_version: Option<&str>,
    hq_version: &str,
    deprecate_after_days: Option<u32>,
    first_seen_outdated: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> ProtocolState {
    // "2.1" and "2.1.0" are the same version: compare without trailing zeros.
    let norm = |v: &str| {
        parse_version(v).map(|mut p| {
            while p.len() > 1 && p.last() == Some(&0) {
                p.pop();
            }
            p
        })
    };
    let (Some(bv), Some(hv)) = (branch_version.and_then(norm), norm(hq_version)) else {
        return ProtocolState::Unknown;
    };
    if bv >= hv {
        return ProtocolState::Current;
    }
    match (deprecate_after_days, first_seen_outdated) {
        (Some(days), Some(first)) if now - first >= chrono::Duration::days(i64::from(days)) => {
            ProtocolState::Deprecated
        }
        _ => ProtocolState::Outdated,
    }
}

#[derive(Deserialize)]
struct PolicyFile {
    #[serde(default)]
    rules: Vec<PolicyRule>,
    #[serde(default)]
    roles: Option<BTreeMap<String, RoleRights>>,
}

/// `policy.json`: rules and the RWD matrix (default roles when `roles` is absent).
pub fn parse_policy(path: &Path, bytes: &[u8]) -> Result<Policy, FileError> {
    let doc = Doc::new(path, bytes)?;
    let f: PolicyFile = doc.typed()?;
    let top = doc.object()?;
    if let Some(rules_raw) = get(&top, "rules") {
        let raws = elements(&doc, rules_raw)?;
        let mut seen = BTreeMap::new();
        for (r, raw) in f.rules.iter().zip(raws) {
            let m = members(&doc, raw)?;
            if r.id.trim().is_empty() {
                return Err(doc.err(
                    get(&m, "id").unwrap_or(raw),
                    "rule id is empty; expected a name",
                ));
            }
            if seen.insert(r.id.clone(), ()).is_some() {
                return Err(doc.err(
                    get(&m, "id").unwrap_or(raw),
                    format!("duplicate rule id `{}`; expected unique ids", r.id),
                ));
            }
        }
    }
    if let (Some(roles), Some(raw)) = (&f.roles, get(&top, "roles")) {
        let m = members(&doc, raw)?;
        for (name, r) in &m {
            if name.trim().is_empty() {
                return Err(doc.err(r, "role name is empty"));
            }
        }
        if roles.is_empty() {
            return Err(doc.err(
                raw,
                "`roles` is empty; expected at least one role (or omit it for the default roles)",
            ));
        }
    }
    Ok(Policy {
        rules: f.rules,
        roles: f.roles.unwrap_or_else(crate::domain::policy::default_roles),
    })
}

/// `decision-engine.json`. Unknown fields are kept in `raw`.
pub fn parse_decision_engine(path: &Path, bytes: &[u8]) -> Result<DecisionEngine, FileError> {
    let doc = Doc::new(path, bytes)?;
    let raw: serde_json::Map<String, serde_json::Value> = doc.typed()?;
    let top = doc.object()?;
    let kill_switch = match raw.get("killSwitch") {
        None => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(_) => {
            return Err(doc.err_at(get(&top, "killSwitch"), "killSwitch must be true or false"));
        }
    };
    let mut maintenance = BTreeMap::new();
    if let Some(mraw) = get(&top, "maintenanceMode") {
        let m = members(&doc, mraw)?;
        for (branch, v) in m {
            if !valid_branch_id(&branch) {
                return Err(doc.err(v, format!("maintenanceMode key `{branch}` is not a branch id; expected a-z, 0-9 and `-`")));
            }
            match v.get().trim() {
                "true" => maintenance.insert(branch, true),
                "false" => maintenance.insert(branch, false),
                other => {
                    return Err(doc.err(
                        v,
                        format!("maintenanceMode.{branch} is `{other}`; expected true or false"),
                    ));
                }
            };
        }
    }
    if let Some(eraw) = get(&top, "escalation") {
        for (k, v) in members(&doc, eraw)? {
            let steps: Vec<String> =
                serde_json::from_str(v.get()).map_err(|e| rel_err(&doc, v, &e))?;
            if steps.is_empty() {
                return Err(doc.err(
                    v,
                    format!("escalation.{k} is empty; expected a list of steps"),
                ));
            }
        }
    }
    if let Some(fraw) = get(&top, "fallbackChain") {
        let _: Vec<serde_json::Value> =
            serde_json::from_str(fraw.get()).map_err(|e| rel_err(&doc, fraw, &e))?;
    }
    Ok(DecisionEngine {
        kill_switch,
        maintenance,
        raw,
    })
}

/// `keys.json`: trusted signers; public keys must be 32-byte Ed25519 keys. One id may
/// appear several times (key rotation), each entry with its own optional `notBefore`,
/// `notAfter` and `revoked` times. The first bad entry is an error (see
/// [`parse_keys_lenient`] to keep the good ones).
pub fn parse_keys(path: &Path, bytes: &[u8]) -> Result<Keys, FileError> {
    let (keys, _, mut errors) = parse_keys_lenient(path, bytes)?;
    if errors.is_empty() {
        Ok(keys)
    } else {
        Err(errors.swap_remove(0))
    }
}

/// `keys.json` read entry by entry: the file as written, the entries that are usable,
/// and one error per entry that is not (empty id or role, a bad key, a bad date, an
/// empty window), each naming its line. A file that does not parse at all is `Err`.
pub fn parse_keys_lenient(
    path: &Path,
    bytes: &[u8],
) -> Result<(Keys, Vec<KeysEntry>, Vec<FileError>), FileError> {
    use crate::domain::keyring::{KeyEntry, KeyWindow};
    use base64::Engine as _;
    let doc = Doc::new(path, bytes)?;
    let keys: Keys = doc.typed()?;
    let top = doc.object()?;
    let Some(sraw) = get(&top, "signers") else {
        return Err(FileError::new(path, 1, 1, "missing field `signers`"));
    };
    if let (Some(o), Some(oraw)) = (&keys.origin, get(&top, "origin"))
        && (o.is_empty() || o.chars().any(char::is_control))
    {
        return Err(doc.err(oraw, "origin is empty or holds a control character"));
    }
    let raws = elements(&doc, sraw)?;
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for (s, raw) in keys.signers.iter().zip(raws) {
        let m = members(&doc, raw)?;
        let field = |k: &str| get(&m, k).unwrap_or(raw);
        if s.id.trim().is_empty() {
            errors.push(doc.err(field("id"), "signer id is empty"));
            continue;
        }
        if s.role.trim().is_empty() {
            errors.push(doc.err(field("role"), format!("role of signer `{}` is empty", s.id)));
            continue;
        }
        let key = base64::engine::general_purpose::STANDARD
            .decode(s.public_key.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok());
        if let Some(first) = good.iter().find(|g: &&KeysEntry| g.signer.id == s.id) {
            let why = if first.signer.public_key.trim() == s.public_key.trim() {
                format!(
                    "duplicate signer id `{}` with the same publicKey (line {}); a rotated key needs a new publicKey",
                    s.id, first.line
                )
            } else if first.signer.role != s.role {
                format!(
                    "signer `{}` has role `{}` here but `{}` at line {}; one id, one role",
                    s.id, s.role, first.signer.role, first.line
                )
            } else {
                String::new()
            };
            if !why.is_empty() {
                errors.push(doc.err(field("id"), why));
                continue;
            }
        }
        let Some(key) = key else {
            errors.push(doc.err(
                field("publicKey"),
                format!(
                    "publicKey of signer `{}` is not a base64 32-byte Ed25519 public key",
                    s.id
                ),
            ));
            continue;
        };
        let window = match KeyWindow::parse(
            s.not_before.as_deref(),
            s.not_after.as_deref(),
            s.revoked.as_deref(),
        ) {
            Ok(w) => w,
            Err(e) => {
                let at = match &e {
                    crate::domain::keyring::WindowError::BadTime { field: f, .. } => field(f),
                    crate::domain::keyring::WindowError::Empty { .. } => field("notAfter"),
                };
                errors.push(doc.err(at, format!("signer `{}`: {e}", s.id)));
                continue;
            }
        };
        good.push(KeysEntry {
            signer: s.clone(),
            entry: KeyEntry {
                id: s.id.clone(),
                role: s.role.clone(),
                key,
                window,
            },
            line: doc.pos(raw).0,
        });
    }
    Ok((keys, good, errors))
}

/// `cost-policy.json`: rates ≥ 0, limits > 0, 0 < throttle ≤ notify ≤ suspend.
pub fn parse_cost_policy(path: &Path, bytes: &[u8]) -> Result<CostPolicy, FileError> {
    let doc = Doc::new(path, bytes)?;
    let p: CostPolicy = doc.typed()?;
    let top = doc.object()?;
    if let Some(traw) = get(&top, "tiers") {
        let m = members(&doc, traw)?;
        if m.is_empty() {
            return Err(doc.err(traw, "`tiers` is empty; expected at least one cost tier"));
        }
        for (name, raw) in &m {
            let Some(t) = p.tiers.get(name) else { continue };
            let tm = members(&doc, raw)?;
            let field = |k: &str| get(&tm, k).unwrap_or(raw);
            if t.monthly_token_limit == 0 {
                return Err(doc.err(
                    field("monthlyTokenLimit"),
                    format!("tiers.{name}.monthlyTokenLimit is 0; expected a limit > 0"),
                ));
            }
            if !(t.rate.is_finite() && t.rate >= 0.0) {
                return Err(doc.err(
                    field("rate"),
                    format!("tiers.{name}.rate is {}; expected a rate >= 0", t.rate),
                ));
            }
        }
    }
    if let Some(eraw) = get(&top, "escalation") {
        let em = members(&doc, eraw)?;
        let field = |k: &str| get(&em, k).unwrap_or(eraw);
        let e = &p.escalation;
        for (k, v) in [
            ("throttle", e.throttle),
            ("notify", e.notify),
            ("suspend", e.suspend),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(doc.err(
                    field(k),
                    format!(
                        "escalation.{k} is {v}; expected a fraction of the limit > 0 (1.0 = 100 %)"
                    ),
                ));
            }
        }
        if e.throttle > e.notify {
            return Err(doc.err(field("notify"), format!("escalation.notify ({}) is below throttle ({}); expected throttle <= notify <= suspend", e.notify, e.throttle)));
        }
        if e.notify > e.suspend {
            return Err(doc.err(field("suspend"), format!("escalation.suspend ({}) is below notify ({}); expected throttle <= notify <= suspend", e.suspend, e.notify)));
        }
    }
    Ok(p)
}

/// `sync-plan.json`.
pub fn parse_sync_plan(path: &Path, bytes: &[u8]) -> Result<SyncPlan, FileError> {
    let doc = Doc::new(path, bytes)?;
    let p: SyncPlan = doc.typed()?;
    let top = doc.object()?;
    if let Some(s) = &p.strategy
        && !matches!(s.as_str(), "canary" | "all" | "sequential")
    {
        return Err(doc.err_at(
            get(&top, "strategy"),
            format!("unknown strategy `{s}`; expected one of `canary`, `sequential`, `all`"),
        ));
    }
    if let Some(traw) = get(&top, "tiers") {
        for (t, raw) in p.tiers.iter().zip(elements(&doc, traw)?) {
            if !matches!(t.as_str(), "canary" | "standard" | "incubation" | "premium") {
                return Err(doc.err(raw, format!("unknown tier `{t}`; expected one of `canary`, `standard`, `incubation`, `premium`")));
            }
        }
    }
    if let Some(oraw) = get(&top, "order") {
        let mut seen = BTreeMap::new();
        for (o, raw) in p.order.iter().zip(elements(&doc, oraw)?) {
            if o != "*" && !valid_branch_id(o) {
                return Err(doc.err(raw, format!("order entry `{o}` is not a branch id or `*`")));
            }
            if seen.insert(o.clone(), ()).is_some() {
                return Err(doc.err(
                    raw,
                    format!("order entry `{o}` appears twice; expected each branch once"),
                ));
            }
        }
    }
    if let Some(f) = &p.on_failure
        && !matches!(f.as_str(), "halt" | "continue" | "rollback")
    {
        return Err(doc.err_at(
            get(&top, "onFailure"),
            format!("unknown onFailure `{f}`; expected one of `halt`, `continue`, `rollback`"),
        ));
    }
    if let Some(n) = p.max_retries
        && n > 100
    {
        return Err(doc.err_at(
            get(&top, "maxRetries"),
            format!("maxRetries is {n}; expected 0..=100"),
        ));
    }
    Ok(p)
}

impl HealthCheck {
    /// Check interval (validated at parse; default 60 s).
    pub fn interval_duration(&self) -> Duration {
        self.interval
            .as_deref()
            .and_then(|s| parse_duration(s).ok())
            .unwrap_or(Duration::from_secs(60))
    }
    /// Per-request timeout (validated at parse; default 2 s).
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|s| parse_duration(s).ok())
            .unwrap_or(Duration::from_secs(2))
    }
}

impl RollbackHook {
    /// Hook timeout (validated at parse; default 60 s).
    pub fn timeout_duration(&self) -> Duration {
        self.timeout
            .as_deref()
            .and_then(|s| parse_duration(s).ok())
            .unwrap_or(Duration::from_secs(60))
    }
}

fn check_duration(
    doc: &Doc<'_>,
    top: &Members<'_>,
    key: &str,
    v: Option<&str>,
) -> Result<(), FileError> {
    if let Some(s) = v {
        let raw = get(top, key);
        match parse_duration(s) {
            Err(m) => return Err(doc.err_at(raw, format!("{key}: {m}"))),
            Ok(d) if d.is_zero() => {
                return Err(doc.err_at(raw, format!("{key} is zero; expected a duration > 0")));
            }
            Ok(_) => {}
        }
    }
    Ok(())
}

/// `health-check.json`.
pub fn parse_health_check(path: &Path, bytes: &[u8]) -> Result<HealthCheck, FileError> {
    let doc = Doc::new(path, bytes)?;
    let h: HealthCheck = doc.typed()?;
    let top = doc.object()?;
    if let Some(eraw) = get(&top, "endpoints") {
        for (u, raw) in h.endpoints.iter().zip(elements(&doc, eraw)?) {
            if !is_http_url(u) {
                return Err(doc.err(
                    raw,
                    format!("endpoint `{u}` must start with http:// or https://"),
                ));
            }
        }
    }
    check_duration(&doc, &top, "interval", h.interval.as_deref())?;
    check_duration(&doc, &top, "timeout", h.timeout.as_deref())?;
    if let Some(fraw) = get(&top, "onFailure") {
        for (s, raw) in h.on_failure.iter().zip(elements(&doc, fraw)?) {
            if !matches!(
                s.as_str(),
                "notify" | "rollback" | "retry" | "escalate" | "hq_admin"
            ) {
                return Err(doc.err(raw, format!("unknown onFailure step `{s}`; expected one of `notify`, `retry`, `rollback`, `escalate`, `hq_admin`")));
            }
        }
    }
    Ok(h)
}

/// `rollback-hook.json`: `argv` non-empty, its program non-empty.
pub fn parse_rollback_hook(path: &Path, bytes: &[u8]) -> Result<RollbackHook, FileError> {
    let doc = Doc::new(path, bytes)?;
    let h: RollbackHook = doc.typed()?;
    let top = doc.object()?;
    let araw = get(&top, "argv");
    match h.argv.first() {
        None => return Err(doc.err_at(araw, "argv is empty; expected the program and its arguments, e.g. [\"hq-sync\", \"--rollback\", \"--target\", \"{txn}\"]")),
        Some(p) if p.trim().is_empty() => {
            let first = match araw {
                Some(a) => elements(&doc, a)?.first().copied(),
                None => None,
            };
            return Err(doc.err_at(first, "argv[0] is empty; expected the program to run"));
        }
        Some(_) => {}
    }
    check_duration(&doc, &top, "timeout", h.timeout.as_deref())?;
    Ok(h)
}

/// A webhook URL: a secret. `Debug` never shows it; use `expose()` only to send.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookUrl(<redacted>)")
    }
}

/// `channels.json`: provider → channel name → webhook URL.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Channels {
    pub providers: BTreeMap<String, BTreeMap<String, WebhookUrl>>,
}

impl Channels {
    /// The URL for a rule target like `slack:critical`.
    pub fn lookup(&self, target: &str) -> Option<&WebhookUrl> {
        let (p, c) = target.split_once(':')?;
        self.providers.get(p)?.get(c)
    }
}

/// `channels.json`. Messages never include the URLs (they are secrets).
pub fn parse_channels(path: &Path, bytes: &[u8]) -> Result<Channels, FileError> {
    let doc = Doc::new(path, bytes)?;
    let typed: BTreeMap<String, BTreeMap<String, String>> = doc.typed().map_err(|mut e| {
        // serde_json quotes the offending value; it may be a secret.
        if e.message.starts_with("invalid type: string") {
            e.message =
                "invalid type: string, expected a map of channel names to webhook URLs".into();
        }
        e
    })?;
    let top = doc.object()?;
    let mut providers = BTreeMap::new();
    for (p, raw) in &top {
        let m = members(&doc, raw)?;
        let mut chans = BTreeMap::new();
        for (c, vraw) in &m {
            let Some(url) = typed.get(p).and_then(|x| x.get(c)) else {
                continue;
            };
            if !url.starts_with("https://") && !url.starts_with("http://") {
                return Err(doc.err(vraw, format!("{p}.{c}: webhook URL must start with https:// (value not shown: it is a secret)")));
            }
            chans.insert(c.clone(), WebhookUrl(url.clone()));
        }
        providers.insert(p.clone(), chans);
    }
    Ok(Channels { providers })
}

/// `rules.json`: event or alert name → targets like `slack:critical`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NotifyRules {
    /// Targets per name, in file order, without duplicates.
    pub rules: BTreeMap<String, Vec<String>>,
    /// Names whose rule asks for a message when the alert resolves too (object form
    /// with `"sendResolved": true`).
    pub send_resolved: std::collections::BTreeSet<String>,
}

impl NotifyRules {
    pub fn targets(&self, event: &str) -> &[String] {
        self.rules.get(event).map_or(&[], Vec::as_slice)
    }
}

/// What a `rules.json` value must look like (shown in errors).
const RULE_SHAPE: &str = "a list of targets like [\"slack:critical\"], or {\"channels\": [\"slack:critical\"], \"sendResolved\": true}";

/// The targets of one rule: strings `provider:channel`, duplicates dropped.
fn rule_targets(doc: &Doc<'_>, event: &str, raw: &RawValue) -> Result<Vec<String>, FileError> {
    if !raw.get().starts_with('[') {
        return Err(doc.err(
            raw,
            format!(
                "`{}` channels: expected a list of targets like [\"slack:critical\"]",
                sanitize(event)
            ),
        ));
    }
    let mut out: Vec<String> = Vec::new();
    for traw in elements(doc, raw)? {
        let Ok(t) = serde_json::from_str::<String>(traw.get()) else {
            return Err(doc.err(
                traw,
                format!(
                    "a target of `{}` is not a string; expected e.g. \"slack:critical\"",
                    sanitize(event)
                ),
            ));
        };
        let ok = t
            .split_once(':')
            .is_some_and(|(p, c)| !p.is_empty() && !c.is_empty());
        if !ok {
            return Err(doc.err(
                traw,
                format!(
                    "target `{}` of `{}` is not `provider:channel`; expected e.g. `slack:critical`",
                    sanitize(&t),
                    sanitize(event)
                ),
            ));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// `rules.json`. Each value is the whitepaper's plain list of targets, or an object
/// `{"channels": [...], "sendResolved": true}` that also asks for a message when the
/// alert resolves. Known names are listed in docs/alerts.md; other names are allowed.
/// A name given twice is an error (JSON readers disagree on which one wins).
pub fn parse_notify_rules(path: &Path, bytes: &[u8]) -> Result<NotifyRules, FileError> {
    let doc = Doc::new(path, bytes)?;
    // Syntax first, with serde_json's own messages ("trailing comma"): the
    // position-keeping pass below reads members one by one and words them worse.
    let _: serde_json::Value = doc.typed()?;
    let top = doc.object()?;
    let mut out = NotifyRules::default();
    for (event, raw) in &top {
        if out.rules.contains_key(event) {
            return Err(doc.err(
                raw,
                format!(
                    "`{}` is listed twice; expected each name once",
                    sanitize(event)
                ),
            ));
        }
        let targets = match raw.get().as_bytes().first() {
            Some(b'[') => rule_targets(&doc, event, raw)?,
            Some(b'{') => {
                let m = members(&doc, raw)?;
                let mut channels = None;
                let mut send_resolved = None;
                for (k, v) in &m {
                    match k.as_str() {
                        "channels" if channels.is_some() => {
                            return Err(doc.err(v, "duplicate field `channels`"));
                        }
                        "channels" => channels = Some(rule_targets(&doc, event, v)?),
                        "sendResolved" if send_resolved.is_some() => {
                            return Err(doc.err(v, "duplicate field `sendResolved`"));
                        }
                        "sendResolved" => match serde_json::from_str::<bool>(v.get()) {
                            Ok(b) => send_resolved = Some(b),
                            Err(_) => {
                                return Err(doc.err(
                                    v,
                                    format!(
                                        "`{}` sendResolved: expected true or false",
                                        sanitize(event)
                                    ),
                                ));
                            }
                        },
                        other => {
                            return Err(doc.err(
                                v,
                                format!(
                                    "unknown field `{}` in `{}`; expected `channels` or `sendResolved`",
                                    sanitize(other),
                                    sanitize(event)
                                ),
                            ));
                        }
                    }
                }
                let Some(channels) = channels else {
                    return Err(doc.err(
                        raw,
                        format!(
                            "`{}` has no `channels`; expected {RULE_SHAPE}",
                            sanitize(event)
                        ),
                    ));
                };
                if send_resolved == Some(true) {
                    out.send_resolved.insert(event.clone());
                }
                channels
            }
            _ => {
                return Err(doc.err(raw, format!("`{}`: expected {RULE_SHAPE}", sanitize(event))));
            }
        };
        out.rules.insert(event.clone(), targets);
    }
    Ok(out)
}

// ----- YAML files -----

type Sp<T> = serde_saphyr::Spanned<T>;

fn sp_err<T>(path: &Path, s: &Sp<T>, msg: impl Into<String>) -> FileError {
    FileError::new(
        path,
        s.referenced.line() as usize,
        s.referenced.column() as usize,
        msg,
    )
}

/// Parse a YAML file (config, theme, gateway_activation.yaml, observer_field.yaml),
/// errors as `FileError` at the position to fix (see `crate::domain::yaml`).
pub fn from_yaml<T: DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (l, c) = line_col(bytes, e.valid_up_to());
        FileError::new(path, l, c, "file is not valid UTF-8")
    })?;
    crate::domain::yaml::from_str(text, crate::domain::yaml::default_options())
        .map_err(|e| FileError::new(path, e.line, e.column, e.message))
}

fn fraction(path: &Path, name: &str, v: &Sp<f64>) -> Result<f64, FileError> {
    if v.value.is_finite() && (0.0..=1.0).contains(&v.value) {
        Ok(v.value)
    } else {
        Err(sp_err(
            path,
            v,
            format!("{name} is {}; expected a fraction in [0, 1]", v.value),
        ))
    }
}

#[derive(Deserialize, Default)]
struct GatewayFile {
    #[serde(default)]
    gateway: Option<GatewaySection>,
    #[serde(default, rename = "loop")]
    loop_: Option<LoopSection>,
    #[serde(default)]
    resonance: Option<ResonanceSection>,
}
#[derive(Deserialize)]
struct GatewaySection {
    #[serde(default)]
    status: Option<Sp<String>>,
}
#[derive(Deserialize)]
struct LoopSection {
    #[serde(default)]
    loop_rate_hz: Option<Sp<f64>>,
}
#[derive(Deserialize)]
struct ResonanceSection {
    #[serde(default)]
    thresholds: Option<ResonanceThresholds>,
}
#[derive(Deserialize)]
struct ResonanceThresholds {
    #[serde(default)]
    creative_band_min: Option<Sp<f64>>,
    #[serde(default)]
    risk_band_max: Option<Sp<f64>>,
}

/// `gateway_activation.yaml`. Missing values take the documented defaults (docs/configuration.md); other keys are ignored.
pub fn parse_gateway(path: &Path, bytes: &[u8]) -> Result<Gateway, FileError> {
    let f: Option<GatewayFile> = from_yaml(path, bytes)?;
    let f = f.unwrap_or_default();
    let mut g = Gateway::default();
    if let Some(s) = f.gateway.and_then(|g| g.status) {
        if !matches!(
            s.value.as_str(),
            "initializing" | "binding" | "resonating" | "locked"
        ) {
            return Err(sp_err(
                path,
                &s,
                format!(
                    "gateway.status `{}` is unknown; expected one of initializing, binding, resonating, locked",
                    s.value
                ),
            ));
        }
        g.status = Some(s.value);
    }
    if let Some(r) = f.loop_.and_then(|l| l.loop_rate_hz) {
        if !(r.value.is_finite() && r.value > 0.0 && r.value <= 1000.0) {
            return Err(sp_err(
                path,
                &r,
                format!(
                    "loop.loop_rate_hz is {}; expected a rate in (0, 1000]",
                    r.value
                ),
            ));
        }
        g.loop_rate_hz = r.value;
    }
    if let Some(t) = f.resonance.and_then(|r| r.thresholds) {
        if let Some(v) = &t.creative_band_min {
            g.creative_band_min = fraction(path, "resonance.thresholds.creative_band_min", v)?;
        }
        if let Some(v) = &t.risk_band_max {
            g.risk_band_max = fraction(path, "resonance.thresholds.risk_band_max", v)?;
        }
    }
    Ok(g)
}

#[derive(Deserialize, Default)]
struct ObserverFile {
    /// A map of weights, or the seed's list of `{id, weights}` personas
    /// (`observer::ChannelsField`); keys keep their position for errors.
    #[serde(default, alias = "weights")]
    channels: Option<observer::ChannelsField>,
    #[serde(default)]
    windows: Option<Vec<observer::RawWindow>>,
    #[serde(default)]
    thresholds: Option<ObserverThresholds>,
}
#[derive(Deserialize)]
struct ObserverThresholds {
    #[serde(default)]
    coherence_ok: Option<Sp<f64>>,
    #[serde(default)]
    phase_warn: Option<Sp<f64>>,
    #[serde(default)]
    phase_crit: Option<Sp<f64>>,
}

/// `observer_field.yaml`: `channels` (alias `weights`) over symmetry / continuity /
/// entropy / safety, each ≥ 0, either one map or a list of per-persona `{id, weights}`
/// (`observer`); `windows` `[{name, span}]`; `thresholds` with coherence_ok in [0, 1]
/// and 0 < phase_warn ≤ phase_crit. Other keys (`version`) are ignored.
pub fn parse_observer_field(path: &Path, bytes: &[u8]) -> Result<ObserverField, FileError> {
    let f: Option<ObserverFile> = from_yaml(path, bytes)?;
    let f = f.unwrap_or_default();
    let mut o = ObserverField::default();
    if let Some(c) = f.channels {
        let (weights, personas) = observer::channels(path, c)?;
        o.weights = weights.into_iter().collect();
        o.channels = personas;
    }
    if let Some(w) = f.windows {
        o.windows = observer::windows(path, w)?;
    }
    if let Some(t) = f.thresholds {
        if let Some(v) = &t.coherence_ok {
            o.coherence_ok = fraction(path, "thresholds.coherence_ok", v)?;
        }
        for (name, v, slot) in [
            ("thresholds.phase_warn", &t.phase_warn, &mut o.phase_warn),
            ("thresholds.phase_crit", &t.phase_crit, &mut o.phase_crit),
        ] {
            if let Some(v) = v {
                if !(v.value.is_finite() && v.value > 0.0) {
                    return Err(sp_err(
                        path,
                        v,
                        format!("{name} is {}; expected a phase > 0", v.value),
                    ));
                }
                *slot = v.value;
            }
        }
        if o.phase_warn > o.phase_crit {
            let at = t.phase_crit.as_ref().or(t.phase_warn.as_ref());
            let msg = format!(
                "phase_warn ({}) is above phase_crit ({}); expected phase_warn <= phase_crit",
                o.phase_warn, o.phase_crit
            );
            return Err(match at {
                Some(v) => sp_err(path, v, msg),
                None => FileError::new(path, 1, 1, msg),
            });
        }
    }
    Ok(o)
}

/// A cross-file inconsistency: legal on its own, worth a `doctor` warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// Warnings across files of a loaded snapshot: sync order, maintenance or health
/// naming unknown branches, notification targets naming unknown channels, and
/// branches billed as `standard` because nothing names their cost tier (docs/formats.md).
pub fn cross_check(s: &HqSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    let Some(reg) = &s.registry else {
        return out;
    };
    let at = |rel: &str, message: String| Finding {
        path: s.root.join(rel),
        message,
    };
    let known = |id: &str| reg.branches.iter().any(|b| b.id == id);
    if let Some(plan) = &s.sync_plan {
        for id in plan.order.iter().filter(|o| *o != "*" && !known(o)) {
            out.push(at(
                paths::SYNC_PLAN,
                format!("order names `{id}`, which is not in branches.json"),
            ));
        }
    }
    if let Some(d) = &s.decision {
        for id in d.maintenance.keys().filter(|id| !known(id)) {
            out.push(at(
                paths::DECISION_ENGINE,
                format!("maintenanceMode names `{id}`, which is not in branches.json"),
            ));
        }
    }
    if let Some(rules) = &s.notify_rules {
        for (event, targets) in &rules.rules {
            for t in targets {
                let ok = s.channels.as_ref().is_some_and(|c| c.lookup(t).is_some());
                if !ok {
                    out.push(at(
                        paths::NOTIFY_RULES,
                        format!("`{event}` notifies `{t}`, which is not in channels.json"),
                    ));
                }
            }
        }
    }
    if let Some(cp) = &s.cost_policy {
        for b in &reg.branches {
            let billing_ok = b
                .billing_tier
                .as_ref()
                .is_none_or(|t| cp.tiers.contains_key(t));
            if !billing_ok {
                out.push(at(
                    paths::BRANCHES,
                    format!(
                        "branch `{}` has billingTier `{}`, which is not a tier in cost-policy.json",
                        b.id,
                        b.billing_tier.as_deref().unwrap_or_default()
                    ),
                ));
            }
            let named = b
                .billing_tier
                .as_ref()
                .is_some_and(|t| cp.tiers.contains_key(t))
                || b.tier.is_some_and(|t| cp.tiers.contains_key(t.as_str()));
            if !named {
                out.push(at(
                    paths::BRANCHES,
                    format!(
                        "branch `{}` names no cost tier (tier {}): billed as `standard`; set \"billingTier\" to make it explicit",
                        b.id,
                        b.tier.map_or("unset", Tier::as_str)
                    ),
                ));
            }
        }
        if !cp.tiers.contains_key("standard") {
            out.push(at(
                paths::COST_POLICY,
                "no `standard` tier: entries without a cost tier cannot be priced".into(),
            ));
        }
    }
    out
}
