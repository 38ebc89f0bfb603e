//! The embedded demo HQ (`assets/demo-hq/`): scaffolding an HQ root from it, with the
//! history (ledger, rule changes, metrics.csv) generated at copy time so that it ends
//! at the moment of copying; and the demo operator's key.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::events::{self, Catalog};
use super::world::{LOOP_HZ, Rhythm};
use crate::domain::hq::{CostPolicy, Registry, paths};

/// Placeholder for the simulator's `host:port` in health URLs; `sim::start` replaces it.
pub const SIM_PLACEHOLDER: &str = "{sim}";
/// Where the address last substituted for the placeholder is recorded.
pub const SIM_ADDRESS_FILE: &str = ".demo/sim-address";
/// The demo rollback hook, relative to the root.
pub const HOOK: &str = ".demo/hook.sh";
/// The demo operator's private key, relative to the root.
pub const OPERATOR_KEY: &str = ".demo/operator.pem";
/// The address `lumen init` writes into health URLs (`lumen simulate`'s default).
pub const DEFAULT_SIM_ADDRESS: &str = "127.0.0.1:9108";

pub const BRANCHES_TEMPLATE: &str = include_str!("../../assets/demo-hq/hq/registry/branches.json");
pub const COST_POLICY: &str = include_str!("../../assets/demo-hq/hq/billing/cost-policy.json");
const HEALTH_CHECK_TEMPLATE: &str =
    include_str!("../../assets/demo-hq/hq/recovery/health-check.json");
const HOOK_SH: &str = include_str!("../../assets/demo-hq/.demo/hook.sh");

/// Files copied as they are (placeholders aside).
const STATIC_FILES: &[(&str, &str)] = &[
    (paths::BRANCHES, BRANCHES_TEMPLATE),
    (
        paths::POLICY,
        include_str!("../../assets/demo-hq/hq/registry/policy.json"),
    ),
    (
        paths::DECISION_ENGINE,
        include_str!("../../assets/demo-hq/hq/registry/decision-engine.json"),
    ),
    (
        paths::KEYS,
        include_str!("../../assets/demo-hq/hq/registry/keys.json"),
    ),
    (paths::COST_POLICY, COST_POLICY),
    (
        paths::SYNC_PLAN,
        include_str!("../../assets/demo-hq/hq/sync/sync-plan.json"),
    ),
    (paths::HEALTH_CHECK, HEALTH_CHECK_TEMPLATE),
    (
        paths::CHANNELS,
        include_str!("../../assets/demo-hq/hq/notifications/channels.json"),
    ),
    (
        paths::NOTIFY_RULES,
        include_str!("../../assets/demo-hq/hq/notifications/rules.json"),
    ),
    (
        paths::GATEWAY,
        include_str!("../../assets/demo-hq/gateway_activation.yaml"),
    ),
    (
        paths::OBSERVER_FIELD,
        include_str!("../../assets/demo-hq/observer_field.yaml"),
    ),
];

/// Minutes of 5 Hz `metrics.csv` history in the demo.
pub const METRICS_HISTORY_MINUTES: i64 = 10;

/// What to scaffold.
#[derive(Debug, Clone, Copy)]
pub enum Template {
    /// The demo: history generated from `seed`, ending at `now`; health URLs keep the
    /// `{sim}` placeholder for `sim::start` to fill in.
    Demo { seed: u64, now: DateTime<Utc> },
    /// `lumen init`: configuration only, empty ledger and rules history, header-only
    /// metrics.csv; health URLs point at `lumen simulate`'s default address.
    Init,
}

/// Write `contents` to `root/rel` unless that file exists. Returns whether it wrote.
fn write_new(root: &Path, rel: &str, contents: &[u8]) -> anyhow::Result<bool> {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut f) => {
            f.write_all(contents)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// Scaffold an HQ root at `root` (created if missing). Files that already exist are
/// left alone. Returns the relative paths written.
pub fn scaffold(root: &Path, template: Template) -> anyhow::Result<Vec<String>> {
    fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    let root = fs::canonicalize(root).with_context(|| format!("{}", root.display()))?;
    let mut written = Vec::new();
    let mut put = |rel: &str, contents: &[u8]| -> anyhow::Result<()> {
        if write_new(&root, rel, contents)? {
            written.push(rel.to_string());
        }
        Ok(())
    };
    for (rel, text) in STATIC_FILES {
        let text = match template {
            // The demo's notifications go to the simulator's webhook sink.
            Template::Demo { .. } if *rel == paths::CHANNELS => demo_channels(text)?,
            Template::Demo { .. } => (*text).to_string(),
            Template::Init => text.replace(SIM_PLACEHOLDER, DEFAULT_SIM_ADDRESS),
        };
        put(rel, text.as_bytes())?;
    }
    if let Template::Init = template {
        put(SIM_ADDRESS_FILE, DEFAULT_SIM_ADDRESS.as_bytes())?;
    }

    // The hook is exec'd directly by the rollback action: absolute path, data as
    // whole argv elements, never a shell command line.
    put(HOOK, HOOK_SH.as_bytes())?;
    let hook_path = root.join(HOOK);
    fs::set_permissions(&hook_path, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot chmod {}", hook_path.display()))?;
    let hook = json!({
        "argv": [hook_path.to_string_lossy(), "{txn}", "{branch}", "{change}"],
        "timeout": "10s",
    });
    put(paths::ROLLBACK_HOOK, pretty(&hook)?.as_bytes())?;

    match template {
        Template::Init => {
            put(paths::LEDGER, b"")?;
            put(paths::RULES_HISTORY, b"")?;
            put(paths::METRICS_CSV, CSV_HEADER.as_bytes())?;
        }
        Template::Demo { seed, now } => {
            let registry: Registry = serde_json::from_str(BRANCHES_TEMPLATE)
                .context("embedded branches.json does not parse")?;
            let cost: CostPolicy = serde_json::from_str(COST_POLICY)
                .context("embedded cost-policy.json does not parse")?;
            let mut catalog = Catalog::new(&registry, Some(&cost));
            mark_maintenance(&mut catalog);
            let mut ledger = String::new();
            for l in events::history(seed, now, &catalog) {
                ledger.push_str(&l);
                ledger.push('\n');
            }
            put(paths::LEDGER, ledger.as_bytes())?;
            let (csv, rules) = rhythm_history(seed, now);
            put(paths::METRICS_CSV, csv.as_bytes())?;
            put(paths::RULES_HISTORY, rules.as_bytes())?;
        }
    }
    Ok(written)
}

/// The embedded channels with every webhook pointed at the simulator's sink
/// (`http://{sim}/webhook/<provider>/<channel>`, filled in by [`point_health_at`]).
fn demo_channels(text: &str) -> anyhow::Result<String> {
    let mut v: Value =
        serde_json::from_str(text).context("embedded channels.json does not parse")?;
    if let Value::Object(providers) = &mut v {
        for (p, chans) in providers.iter_mut() {
            if let Value::Object(chans) = chans {
                for (c, url) in chans.iter_mut() {
                    *url = Value::from(format!("http://{SIM_PLACEHOLDER}/webhook/{p}/{c}"));
                }
            }
        }
    }
    pretty(&v)
}

/// Apply the embedded decision engine's maintenance map to the catalogue.
fn mark_maintenance(catalog: &mut Catalog) {
    let de = STATIC_FILES
        .iter()
        .find(|(p, _)| *p == paths::DECISION_ENGINE)
        .and_then(|(_, t)| serde_json::from_str::<Value>(t).ok());
    if let Some(Value::Object(m)) = de.and_then(|v| v.get("maintenanceMode").cloned()) {
        for b in &mut catalog.branches {
            b.maintenance |= m.get(&b.id).and_then(Value::as_bool) == Some(true);
        }
    }
}

fn pretty(v: &Value) -> anyhow::Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

pub const CSV_HEADER: &str = "ts,phase_diff,entropy_rate,creative_band,risk_band\n";

/// One `metrics.csv` row (with `\n`), timestamp RFC 3339 UTC with milliseconds.
pub fn csv_row(t: DateTime<Utc>, v: &[f64; 4]) -> String {
    format!(
        "{},{:.4},{:.4},{:.4},{:.4}\n",
        t.to_rfc3339_opts(SecondsFormat::Millis, true),
        v[0],
        v[1],
        v[2],
        v[3]
    )
}

/// One `rules_history.jsonl` line (with `\n`).
pub fn rule_line(
    t: DateTime<Utc>,
    actor: &str,
    rule: &str,
    old: f64,
    new: f64,
    note: &str,
) -> String {
    let v = json!({
        "ts": t.to_rfc3339_opts(SecondsFormat::Secs, true),
        "actor": actor,
        "rule": rule,
        "old": old,
        "new": new,
        "note": note,
    });
    format!("{v}\n")
}

/// `metrics.csv` for the last [`METRICS_HISTORY_MINUTES`] at 5 rows/s, from the same
/// model as the live exporter, and the rules history: a few older changes over the
/// last three days plus the ones the model made inside the CSV window.
fn rhythm_history(seed: u64, now: DateTime<Utc>) -> (String, String) {
    let mut rules = String::new();
    let mut rng = StdRng::seed_from_u64(seed ^ 0x7275_6c65);
    let older = [
        ("Lubit", "creative_min", 0.20, 0.22, "raise creative floor"),
        (
            "dimas",
            "risk_max",
            0.38,
            0.35,
            "tighten risk after incident",
        ),
        (
            "observer-bot",
            "phase_gain",
            0.70,
            0.65,
            "observer suggestion",
        ),
        ("hana", "entropy_floor", 0.15, 0.18, "weekly tuning"),
        ("Lubit", "loop_damping", 0.80, 0.72, "reduce oscillation"),
        (
            "dimas",
            "creative_min",
            0.22,
            0.24,
            "widen band for exploration",
        ),
    ];
    let window_start = now - Duration::minutes(METRICS_HISTORY_MINUTES);
    let span = (window_start - (now - Duration::days(3)))
        .num_seconds()
        .max(1);
    for (i, (actor, rule, old, new, note)) in older.iter().enumerate() {
        let slot = span / older.len() as i64;
        let off = slot * i as i64 + rng.random_range(0..slot.max(1));
        let t = now - Duration::days(3) + Duration::seconds(off);
        rules.push_str(&rule_line(t, actor, rule, *old, *new, note));
    }

    let mut csv = String::from(CSV_HEADER);
    let mut model = Rhythm::new(seed);
    for (_, rule, _, new, _) in older {
        model.set_rule_value(rule, new);
    }
    let n = (METRICS_HISTORY_MINUTES * 60) as f64 * LOOP_HZ;
    let step_ms = (1000.0 / LOOP_HZ) as i64;
    for k in 0..n as i64 {
        let t = window_start + Duration::milliseconds(k * step_ms);
        let tick = model.step();
        csv.push_str(&csv_row(t, &tick.values));
        if let Some(c) = tick.rule_change {
            rules.push_str(&rule_line(t, c.actor, c.rule, c.old, c.new, &c.note));
        }
    }
    (csv, rules)
}

/// A demo HQ in a temporary directory, removed when this is dropped.
#[derive(Debug)]
pub struct DemoHq {
    pub dir: tempfile::TempDir,
    /// The HQ root (inside `dir`).
    pub root: PathBuf,
    /// The demo operator's private key (PKCS#8 PEM, mode 0600), trusted by `keys.json`
    /// as `demo-operator` with role `hq_admin`.
    pub key_path: PathBuf,
}

/// Copy the demo HQ into a fresh temporary directory, history ending now, with a
/// freshly generated demo operator key.
pub fn prepare_demo(seed: u64) -> anyhow::Result<DemoHq> {
    let dir = tempfile::Builder::new()
        .prefix("lumen-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo HQ")?;
    let root = dir.path().join("hq-root");
    scaffold(
        &root,
        Template::Demo {
            seed,
            now: Utc::now(),
        },
    )?;
    let key_path = add_operator_key(&root, "demo-operator", "hq_admin")?;
    Ok(DemoHq {
        dir,
        root,
        key_path,
    })
}

/// Generate an Ed25519 key, write it to `<root>/.demo/operator.pem` (0600) and add its
/// public key to `keys.json` as signer `id` with `role`.
pub fn add_operator_key(root: &Path, id: &str, role: &str) -> anyhow::Result<PathBuf> {
    use base64::Engine as _;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;

    let mut secret = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(secret.as_mut())
        .map_err(|e| anyhow::anyhow!("no randomness for the demo key: {e}"))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the demo key: {e}"))?;
    let key_path = root.join(OPERATOR_KEY);
    if let Some(d) = key_path.parent() {
        fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&key_path)
        .with_context(|| format!("cannot create {}", key_path.display()))?;
    f.write_all(pem.as_bytes())
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {}", key_path.display()))?;

    let keys_path = root.join(paths::KEYS);
    let mut keys: Value = match fs::read(&keys_path) {
        Ok(b) => serde_json::from_slice(&b)
            .with_context(|| format!("{}: not valid JSON", keys_path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({"signers": []}),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", keys_path.display())),
    };
    let public = base64::engine::general_purpose::STANDARD.encode(key.verifying_key().to_bytes());
    let signers = keys
        .get_mut("signers")
        .and_then(Value::as_array_mut)
        .with_context(|| format!("{}: no \"signers\" list", keys_path.display()))?;
    signers.push(json!({"id": id, "role": role, "publicKey": public}));
    fs::write(&keys_path, pretty(&keys)?)
        .with_context(|| format!("cannot write {}", keys_path.display()))?;
    Ok(key_path)
}

/// Point the health URLs of `branches.json` and `health-check.json`, and the demo's
/// webhook URLs in `channels.json`, at `addr`
/// (`host:port`): replaces the `{sim}` placeholder and the address recorded by the last
/// run. Files are replaced atomically; untouched when there is nothing to replace.
pub fn point_health_at(root: &Path, addr: &str) -> anyhow::Result<()> {
    let record = root.join(SIM_ADDRESS_FILE);
    let old = fs::read_to_string(&record)
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let mut changed = false;
    for (rel, route) in [
        (paths::BRANCHES, "/health/"),
        (paths::HEALTH_CHECK, "/health/"),
        (paths::CHANNELS, "/webhook/"),
    ] {
        let path = root.join(rel);
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let mut new = text.replace(
            &format!("http://{SIM_PLACEHOLDER}{route}"),
            &format!("http://{addr}{route}"),
        );
        if let Some(old) = &old {
            new = new.replace(
                &format!("http://{old}{route}"),
                &format!("http://{addr}{route}"),
            );
        }
        if new != text {
            replace_file(&path, new.as_bytes())?;
            changed = true;
        }
    }
    if changed || old.is_some() {
        if let Some(d) = record.parent() {
            fs::create_dir_all(d)?;
        }
        replace_file(&record, addr.as_bytes())?;
    }
    Ok(())
}

/// Write via a temporary file in the same directory + fsync + rename.
fn replace_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot replace {}: {}", path.display(), e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_scaffold_and_key() {
        let d = prepare_demo(9).expect("demo");
        let meta = fs::metadata(&d.key_path).expect("key");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        let keys: crate::domain::hq::Keys =
            serde_json::from_slice(&fs::read(d.root.join(paths::KEYS)).expect("keys"))
                .expect("keys parse");
        assert_eq!(keys.signers.len(), 1);
        assert_eq!(keys.signers[0].role, "hq_admin");
        let hook = fs::metadata(d.root.join(HOOK)).expect("hook");
        assert_eq!(hook.permissions().mode() & 0o777, 0o755);
        let rules = fs::read_to_string(d.root.join(paths::RULES_HISTORY)).expect("rules");
        let n = rules.lines().count();
        assert!((8..=14).contains(&n), "{n} rule changes");
        for l in rules.lines() {
            crate::domain::rhythm::parse_rule_line(l.as_bytes()).expect("rule line");
        }
        let csv = fs::read_to_string(d.root.join(paths::METRICS_CSV)).expect("csv");
        assert_eq!(
            csv.lines().count() as i64,
            1 + METRICS_HISTORY_MINUTES * 60 * 5
        );
        for l in csv.lines().skip(1) {
            let p = crate::domain::rhythm::parse_metrics_row(l).expect("row");
            assert!(p.values.iter().all(|v| (0.0..=1.0).contains(v)));
        }
    }

    #[test]
    fn health_urls_follow_the_address() {
        let d = tempfile::tempdir().expect("tmp");
        scaffold(
            d.path(),
            Template::Demo {
                seed: 1,
                now: Utc::now(),
            },
        )
        .expect("scaffold");
        point_health_at(d.path(), "127.0.0.1:4000").expect("first");
        point_health_at(d.path(), "127.0.0.1:5000").expect("second");
        let b = fs::read_to_string(d.path().join(paths::BRANCHES)).expect("read");
        assert!(b.contains("http://127.0.0.1:5000/health/koosy"));
        assert!(!b.contains("4000") && !b.contains(SIM_PLACEHOLDER));
        let h = fs::read_to_string(d.path().join(paths::HEALTH_CHECK)).expect("read");
        assert!(h.contains("http://127.0.0.1:5000/health/seedling"));
        let c = fs::read_to_string(d.path().join(paths::CHANNELS)).expect("read");
        assert!(c.contains("http://127.0.0.1:5000/webhook/slack/ops"), "{c}");
        assert!(!c.contains("4000") && !c.contains(SIM_PLACEHOLDER) && !c.contains("example"));
        crate::domain::hq::parse_channels(Path::new("channels.json"), c.as_bytes()).expect("valid");
    }
}
