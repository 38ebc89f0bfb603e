//! `lumen doctor [--hq DIR] [--json]`: check an HQ root and its sources and tell the
//! operator exactly what to repair (`lumen --help` and docs/formats.md "Doctor").
//!
//! Every finding has a level, the check that produced it, a message, a location
//! (`file:line:col` where known) and a fix. Errors (exit 1): a file that does not parse
//! or breaks its schema, a key file with loose permissions or an unknown public key, a
//! ledger integrity failure (a broken `prev` link or a bad signature). Warnings (exit 0):
//! unreachable exporter or Prometheus, missing optional files, outdated branches, ledger
//! rejects, low disk space. `--json` prints
//! `{"ok":bool,"findings":[{"level","check","message","location","fix"}]}`.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde::Serialize;

use crate::cli::GlobalArgs;
use crate::cmd::{CmdError, CmdResult, Outcome};
use crate::config::{self, Config};
use crate::domain::hq::{self, FileError, HqSnapshot, ProtocolState, paths};
use crate::sources::{exporter, http};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Error,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub level: Level,
    pub check: &'static str,
    pub message: String,
    /// `file`, `file:line` or `file:line:col`; `null` when the finding has no place.
    pub location: Option<String>,
    pub fix: String,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub ok: bool,
    pub findings: Vec<Finding>,
}

/// Free space under this is a warning.
const LOW_DISK_BYTES: u64 = 1024 * 1024 * 1024;
/// Longest a reachability probe may take, whatever the configured timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Ledger rejects listed one by one; the rest are counted.
const MAX_LISTED_REJECTS: usize = 10;

struct Collector {
    findings: Vec<Finding>,
}

impl Collector {
    fn push(
        &mut self,
        level: Level,
        check: &'static str,
        message: impl AsRef<str>,
        location: Option<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            level,
            check,
            // Kept as found: the text report is sanitised line by line when printed
            // (`out::TextOut`), and `--json` escapes control characters instead.
            message: message.as_ref().to_string(),
            location,
            fix: fix.into(),
        });
    }
    fn file_error(&mut self, check: &'static str, e: &FileError, fix: impl Into<String>) {
        let loc = if e.line > 0 {
            format!("{}:{}:{}", e.path.display(), e.line, e.column)
        } else {
            e.path.display().to_string()
        };
        self.push(Level::Error, check, &e.message, Some(loc), fix);
    }
}

/// Run `lumen doctor`.
pub fn run_doctor(g: &GlobalArgs) -> CmdResult {
    let report = diagnose(g)?;
    if g.json {
        crate::cmd::print_json(&report)?;
    } else {
        print_human(&report)
            .map_err(|e| CmdError::Io(anyhow::Error::new(e).context("writing the report")))?;
    }
    Ok(if report.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// Every check, in report order.
pub fn diagnose(g: &GlobalArgs) -> Result<Report, CmdError> {
    let mut c = Collector {
        findings: Vec::new(),
    };
    let cfg = match config::load(g) {
        Ok(cfg) => cfg,
        Err(e) => {
            c.file_error(
                "config",
                &e,
                "correct the config file at that position (see docs/configuration.md)",
            );
            // Go on with the defaults plus the command-line flags.
            let mut cfg = Config::default();
            if let Some(h) = &g.hq {
                cfg.hq_root = h.clone();
            }
            if let Some(k) = &g.key {
                cfg.key = Some(k.clone());
            }
            cfg
        }
    };
    check_themes(&mut c, &cfg);
    let root = cfg.hq_root.clone();
    if !check_layout(&mut c, &root) {
        return Ok(finish(c));
    }
    let snapshot = check_files(&mut c, &root);
    check_keys(&mut c, &root, &cfg, snapshot.as_ref());
    check_ledger(&mut c, &root);
    check_custody(&mut c, &root);
    check_sources(&mut c, &cfg)?;
    check_disk(&mut c, &root);
    Ok(finish(c))
}

fn finish(c: Collector) -> Report {
    let ok = !c.findings.iter().any(|f| f.level == Level::Error);
    Report {
        ok,
        findings: c.findings,
    }
}

fn print_human(r: &Report) -> std::io::Result<()> {
    use std::io::Write;
    // Sanitised line by line; a closed pipe (`lumen doctor | head`) drops the rest.
    let mut out = crate::cmd::out::TextOut::stdout();
    let mut counts = [0usize; 3];
    for f in &r.findings {
        let (tag, i) = match f.level {
            Level::Ok => ("ok     ", 0),
            Level::Warning => ("warning", 1),
            Level::Error => ("ERROR  ", 2),
        };
        counts[i] += 1;
        match &f.location {
            Some(loc) => writeln!(out, "{tag} [{}] {loc}: {}", f.check, f.message)?,
            None => writeln!(out, "{tag} [{}] {}", f.check, f.message)?,
        }
        if f.level != Level::Ok {
            writeln!(out, "        fix: {}", f.fix)?;
        }
    }
    writeln!(
        out,
        "\n{} error(s), {} warning(s), {} ok — {}",
        counts[2],
        counts[1],
        counts[0],
        if r.ok {
            "the HQ root is usable"
        } else {
            "repair the errors above"
        }
    )?;
    out.flush()
}

/// The root must be a directory holding `hq/registry/branches.json`. Returns false
/// when nothing further can be checked.
fn check_layout(c: &mut Collector, root: &Path) -> bool {
    let shown = Some(root.display().to_string());
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            c.push(
                Level::Error,
                "layout",
                "the HQ root is not a directory",
                shown,
                "pass the HQ root directory with --hq DIR",
            );
            return false;
        }
        Err(e) => {
            c.push(
                Level::Error,
                "layout",
                format!("cannot open the HQ root: {e}"),
                shown,
                "pass an existing HQ root with --hq DIR, or create one with `lumen init DIR`",
            );
            return false;
        }
    }
    let branches = root.join(paths::BRANCHES);
    if !branches.is_file() {
        c.push(
            Level::Error,
            "layout",
            "the required registry file is missing",
            Some(branches.display().to_string()),
            format!(
                "create {} (`lumen init DIR` writes a template), or point --hq at the right root",
                paths::BRANCHES
            ),
        );
        return false;
    }
    c.push(Level::Ok, "layout", "HQ root found", shown, String::new());
    true
}

type Parser = fn(&Path, &[u8]) -> Result<(), FileError>;

fn ok<T>(r: Result<T, FileError>) -> Result<(), FileError> {
    r.map(|_| ())
}

/// Every registry file, with its parser and what it feeds.
fn registry_files() -> Vec<(&'static str, Parser, &'static str)> {
    vec![
        (paths::BRANCHES, |p, b| ok(hq::parse_registry(p, b)), ""),
        (
            paths::POLICY,
            |p, b| ok(hq::parse_policy(p, b)),
            "the default roles apply",
        ),
        (
            paths::DECISION_ENGINE,
            |p, b| ok(hq::parse_decision_engine(p, b)),
            "kill switch and maintenance show as not configured",
        ),
        (
            paths::KEYS,
            |p, b| ok(hq::parse_keys(p, b)),
            "no signer is trusted: signed actions are refused",
        ),
        (
            paths::COST_POLICY,
            |p, b| ok(hq::parse_cost_policy(p, b)),
            "the cost meter shows as not configured",
        ),
        (
            paths::SYNC_PLAN,
            |p, b| ok(hq::parse_sync_plan(p, b)),
            "rollbacks use registry order",
        ),
        (
            paths::CONFLICT_POLICY,
            |p, b| ok(hq::sync::parse_conflict_policy(p, b)),
            "conflicts are shown without an owner or escalation deadline",
        ),
        (
            paths::HEALTH_CHECK,
            |p, b| ok(hq::parse_health_check(p, b)),
            "only branches with their own `health` URL are checked",
        ),
        (
            paths::ROLLBACK_HOOK,
            |p, b| ok(hq::parse_rollback_hook(p, b)),
            "rollbacks are recorded but run no command",
        ),
        (
            paths::CHANNELS,
            |p, b| ok(hq::parse_channels(p, b)),
            "no notification is sent",
        ),
        (
            paths::NOTIFY_RULES,
            |p, b| ok(hq::parse_notify_rules(p, b)),
            "no notification is sent",
        ),
        (
            paths::GATEWAY,
            |p, b| ok(hq::parse_gateway(p, b)),
            "default gateway thresholds apply",
        ),
        (
            paths::OBSERVER_FIELD,
            |p, b| ok(hq::parse_observer_field(p, b)),
            "default observer thresholds apply",
        ),
    ]
}

/// Syntax and schema of every file, then cross-file findings and branch protocol
/// versions. Returns the snapshot when the registry loads.
fn check_files(c: &mut Collector, root: &Path) -> Option<HqSnapshot> {
    let mut bad = 0usize;
    for (rel, parse, missing_means) in registry_files() {
        let path = root.join(rel);
        match crate::store::fsutil::read_regular(&path) {
            Ok(bytes) => {
                match parse(&path, &bytes) {
                    Ok(()) => {}
                    Err(e) => {
                        bad += 1;
                        c.file_error(
                        "schema",
                        &e,
                        format!("fix {rel} at that position (docs/configuration.md gives its format)"),
                    );
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => c.push(
                Level::Warning,
                "layout",
                format!("optional file missing: {missing_means}"),
                Some(path.display().to_string()),
                format!("create {rel} if you need it (`lumen init` writes a template)"),
            ),
            Err(e) => {
                bad += 1;
                c.push(
                    Level::Error,
                    "layout",
                    format!("cannot read: {e}"),
                    Some(path.display().to_string()),
                    "make the file readable by the operator account",
                );
            }
        }
    }
    check_jsonl_rows(c, root);
    let snap = match crate::sources::registry::load_snapshot(root) {
        Ok(s) => s,
        Err(_) => return None, // already reported above
    };
    for f in hq::cross_check(&snap) {
        let fix = cross_fix(&f.message);
        c.push(
            Level::Warning,
            "cross-file",
            &f.message,
            Some(f.path.display().to_string()),
            fix,
        );
    }
    if let Some(reg) = &snap.registry {
        let deprecate = reg.migration.as_ref().and_then(|m| m.deprecate_after_days);
        for b in &reg.branches {
            let st = hq::protocol_state(
                b.hq_protocol_version.as_deref(),
                &reg.hq_version,
                deprecate,
                None,
                chrono::Utc::now(),
            );
            if matches!(st, ProtocolState::Outdated | ProtocolState::Deprecated) {
                c.push(
                    Level::Warning,
                    "protocol",
                    format!(
                        "branch {} speaks hqProtocolVersion {} but the HQ is at {}",
                        b.id,
                        b.hq_protocol_version.as_deref().unwrap_or("?"),
                        reg.hq_version
                    ),
                    Some(root.join(paths::BRANCHES).display().to_string()),
                    format!("migrate branch {} to {}", b.id, reg.hq_version),
                );
            }
        }
    }
    if bad == 0 {
        c.push(
            Level::Ok,
            "schema",
            "every registry file parses and matches its schema",
            None,
            String::new(),
        );
    }
    Some(snap)
}

/// The repair for a `cross_check` finding, by what it is about.
fn cross_fix(message: &str) -> &'static str {
    if message.contains("not in channels.json") {
        "add that channel to hq/notifications/channels.json, or fix the target in rules.json"
    } else if message.contains("not in branches.json") {
        "add the branch to hq/registry/branches.json, or remove the name from this file"
    } else if message.contains("billed as") {
        "set \"billingTier\" on the branch in hq/registry/branches.json"
    } else if message.contains("cost-policy.json") {
        "make hq/billing/cost-policy.json and the branches' billingTier name the same tiers"
    } else {
        "make the files agree (see the message)"
    }
}

/// Rules history and metrics rows: bad rows are skipped by the console (warnings).
fn check_jsonl_rows(c: &mut Collector, root: &Path) {
    type RowCheck = fn(&[u8], usize) -> Result<(), String>;
    let files: [(&str, RowCheck); 2] = [
        (paths::RULES_HISTORY, |l, _| {
            crate::domain::rhythm::parse_rule_line(l).map(|_| ())
        }),
        (paths::METRICS_CSV, |l, n| {
            if n == 1 && crate::sources::metrics_tail::is_header(l) {
                return Ok(());
            }
            let text = std::str::from_utf8(l).map_err(|_| "not valid UTF-8".to_owned())?;
            crate::domain::rhythm::parse_metrics_row(text.trim_end_matches('\r')).map(|_| ())
        }),
    ];
    for (rel, check) in files {
        let path = root.join(rel);
        let Ok(f) = crate::store::fsutil::open_regular(&path) else {
            continue;
        };
        let mut reader = BufReader::new(f);
        let mut buf = Vec::new();
        let (mut n, mut bad, mut first) = (0usize, 0usize, None);
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    c.push(
                        Level::Error,
                        "schema",
                        format!("cannot read: {e}"),
                        Some(path.display().to_string()),
                        "make the file readable",
                    );
                    break;
                }
            }
            n += 1;
            let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
            if line.is_empty() {
                continue;
            }
            if let Err(e) = check(line, n) {
                bad += 1;
                first.get_or_insert((n, e));
            }
        }
        if let Some((line, why)) = first {
            c.push(
                Level::Warning,
                "rows",
                format!("{bad} unreadable row(s) are skipped; first: {why}"),
                Some(format!("{}:{line}", path.display())),
                format!("correct or remove the bad rows of {rel}"),
            );
        }
    }
}

/// The operator key (`--key` or config `key`): mode 0600, a valid PKCS#8 Ed25519 key,
/// its public key listed in keys.json.
fn check_keys(c: &mut Collector, root: &Path, cfg: &Config, snap: Option<&HqSnapshot>) {
    // Every keys.json entry and where it stands now (rotation: one id, several keys).
    let ring = crate::store::keys::Keyring::load(root).unwrap_or_default();
    let now = chrono::Utc::now();
    let keys_shown = root.join(paths::KEYS).display().to_string();
    for s in &ring.signers {
        let state = s.window.state_at(&now);
        let state = match (state, s.window.revoked) {
            (crate::domain::keyring::KeyState::Active, Some(at)) => {
                format!("valid until its revocation at {}", at.to_rfc3339())
            }
            (crate::domain::keyring::KeyState::Active, None) => "valid".to_string(),
            (other, _) => other.to_string(),
        };
        c.push(
            Level::Ok,
            "keys",
            format!("signer {} ({}): key {}", s.id, s.role, state),
            Some(format!("{keys_shown}:{}", s.line)),
            String::new(),
        );
    }
    let Some(key) = &cfg.key else {
        c.push(
            Level::Ok,
            "key",
            "no operator key configured: the console runs read-only for signed actions",
            None,
            String::new(),
        );
        return;
    };
    let shown = Some(key.display().to_string());
    let meta = match std::fs::metadata(key) {
        Ok(m) => m,
        Err(e) => {
            c.push(
                Level::Error,
                "key",
                format!("cannot read the key file: {e}"),
                shown,
                "pass an existing key with --key FILE (`lumen keygen --out FILE` makes one)",
            );
            return;
        }
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        c.push(
            Level::Error,
            "key",
            format!("key file mode is {mode:03o}: readable by group or others"),
            shown.clone(),
            format!("chmod 600 {}", key.display()),
        );
    }
    let pem = match crate::store::fsutil::read_regular_to_string(key) {
        Ok(p) => zeroize::Zeroizing::new(p),
        Err(e) => {
            c.push(
                Level::Error,
                "key",
                format!("cannot read the key file: {e}"),
                shown,
                "make the key file readable by the operator account",
            );
            return;
        }
    };
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let sk = match ed25519_dalek::SigningKey::from_pkcs8_pem(&pem) {
        Ok(k) => k,
        Err(e) => {
            c.push(
                Level::Error,
                "key",
                format!("not a PKCS#8 PEM Ed25519 private key: {e}"),
                shown,
                "generate a key with `lumen keygen --out FILE`",
            );
            return;
        }
    };
    let public = B64.encode(sk.verifying_key().as_bytes());
    let keys_path = root.join(paths::KEYS);
    let known = snap
        .and_then(|s| s.keys.as_ref())
        .and_then(|k| k.signers.iter().find(|s| s.public_key == public));
    let usable = crate::domain::keyring::signing_entry(&ring.entries, &sk.verifying_key(), &now);
    match known {
        Some(_) if usable.is_err() => c.push(
            Level::Error,
            "key",
            format!(
                "the operator key may not sign: {}",
                usable.err().map(|e| e.to_string()).unwrap_or_default()
            ),
            shown,
            "use the signer's current key (a rotated key has a new keys.json entry)",
        ),
        Some(s) => c.push(
            Level::Ok,
            "key",
            format!("operator key belongs to signer {} ({})", s.id, s.role),
            shown,
            String::new(),
        ),
        None => c.push(
            Level::Error,
            "key",
            format!("the key's public key {public} is not in keys.json"),
            Some(keys_path.display().to_string()),
            format!(
                "add {{\"id\":\"<you>\",\"role\":\"<role>\",\"publicKey\":\"{public}\"}} to the signers of {}",
                paths::KEYS
            ),
        ),
    }
}

/// The trust chain and custody records (docs/custody.md), as `lumen custody` reports
/// them: broken files, a failing chain, a revocation, an expired certificate or a
/// fingerprint mismatch are errors; an expiring signer or an overdue audit a warning.
fn check_custody(c: &mut Collector, root: &Path) {
    use crate::domain::hq::custody::{self, paths as cp};
    let files = crate::store::custody::read_custody(root);
    let nothing = files.root.is_none()
        && files.signer.is_none()
        && files.manifest.is_none()
        && files.audits.is_empty()
        && files.initial.is_none();
    if nothing {
        c.push(
            Level::Ok,
            "custody",
            "no trust chain configured: the custody view and its alerts are off",
            Some(root.join(cp::ROOT_CERT).display().to_string()),
            "",
        );
        return;
    }
    for e in [
        files.root.as_ref().and_then(|r| r.as_ref().err()),
        files.signer.as_ref().and_then(|r| r.as_ref().err()),
        files.manifest.as_ref().and_then(|r| r.as_ref().err()),
        files.crl.as_ref().and_then(|r| r.as_ref().err()),
        files.initial.as_ref().and_then(|r| r.as_ref().err()),
    ]
    .into_iter()
    .flatten()
    .chain(files.audits.iter().filter_map(|(_, a)| a.as_ref().err()))
    {
        c.file_error(
            "custody",
            e,
            "correct the file at that position (see docs/custody.md)",
        );
    }
    let r = custody::assess(&files, chrono::Utc::now());
    for p in &r.problems {
        let severe = [
            "revoked",
            "chain fails",
            "does not match",
            "expired",
            "not Ed25519",
            "not validly",
        ]
        .iter()
        .any(|k| p.contains(k));
        c.push(
            if severe { Level::Error } else { Level::Warning },
            "custody",
            p,
            None,
            "see docs/custody.md: reissue the signer, record the seal audit, or fix the manifest",
        );
    }
    if r.problems.is_empty() && r.errors.is_empty() {
        c.push(
            Level::Ok,
            "custody",
            format!(
                "trust chain verifies; signer expires in {} days; last seal audit {} days ago",
                r.signer.days_left.unwrap_or(0),
                r.audits.days_since.unwrap_or(0)
            ),
            None,
            "",
        );
    }
}

/// Ledger integrity through `ledger::verify` (the same check as `lumen ledger
/// verify`): rejects and a pending last line are warnings; a broken `prev` link, a
/// bad or unknown signature, or a checkpoint that no longer matches is an error.
fn check_ledger(c: &mut Collector, root: &Path) {
    let path = root.join(paths::LEDGER);
    let shown = path.display().to_string();
    match std::fs::metadata(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            c.push(
                Level::Warning,
                "ledger",
                "no ledger yet: the ledger pane shows as empty",
                Some(shown),
                format!("create an empty {}", paths::LEDGER),
            );
            return;
        }
        Err(e) => {
            c.push(
                Level::Error,
                "ledger",
                format!("cannot open: {e}"),
                Some(shown),
                "make the ledger readable by the operator account",
            );
            return;
        }
    }
    let opts = crate::store::verify::VerifyOptions {
        witness_dir: crate::cmd::ledger::witness_dir(),
        notes: Vec::new(),
    };
    let r = match crate::store::verify::verify_with(root, &opts) {
        Ok(r) => r,
        Err(e) => {
            c.push(
                Level::Error,
                "ledger",
                format!("cannot verify the ledger: {e:#}"),
                Some(shown),
                "repair the file named in the message (keys.json, checkpoints.jsonl or the ledger)",
            );
            return;
        }
    };
    for n in &r.notices {
        c.push(
            Level::Warning,
            "ledger",
            n,
            Some(shown.clone()),
            "something truncated or replaced the ledger while it was read (log rotation?); the ledger is append-only: stop that job",
        );
    }
    let cp_shown = root.join(paths::CHECKPOINTS).display().to_string();
    // "line N: …" / "checkpoint line N: …" → file:N.
    let locate = |msg: &str| -> Option<String> {
        let (file, rest) = match msg.strip_prefix("checkpoint line ") {
            Some(rest) => (&cp_shown, rest),
            None => (&shown, msg.strip_prefix("line ")?),
        };
        let n: u64 = rest
            .split(|ch: char| !ch.is_ascii_digit())
            .next()?
            .parse()
            .ok()?;
        Some(format!("{file}:{n}"))
    };
    for rej in r.rejects.iter().take(MAX_LISTED_REJECTS) {
        c.push(
            Level::Warning,
            "ledger",
            format!("reject at byte offset {}: {}", rej.offset, rej.reason),
            Some(format!("{shown}:{}", rej.line)),
            "rejects are kept and shown; have the writer emit one JSON object per line",
        );
    }
    if r.rejects.len() > MAX_LISTED_REJECTS {
        c.push(
            Level::Warning,
            "ledger",
            format!(
                "{} more reject(s) not listed",
                r.rejects.len() - MAX_LISTED_REJECTS
            ),
            Some(shown.clone()),
            "run `lumen ledger verify` for the full list",
        );
    }
    for w in &r.warnings {
        let loc = locate(w).or_else(|| Some(shown.clone()));
        let fix = if w.contains("pending") {
            "if no writer is running, the next signed append completes it as a reject"
        } else {
            "check the writer that produced this line"
        };
        c.push(Level::Warning, "ledger", w, loc, fix);
    }
    for p in &r.problems {
        let loc = locate(p).or_else(|| Some(shown.clone()));
        let fix = if p.starts_with("the local witness") {
            "the ledger no longer holds a tree head this machine verified: it was cut or rewritten (even if re-signed); restore it from a backup and compare"
        } else if p.starts_with("checkpoint") {
            "history was rewritten or the checkpoint is forged: restore the ledger from a backup and compare"
        } else {
            "the line was altered or its signer is not trusted: restore the ledger from a backup and compare"
        };
        c.push(Level::Error, "ledger", p, loc, fix);
    }
    c.push(
        if r.ok { Level::Ok } else { Level::Error },
        "ledger",
        format!(
            "{} lines, {} entries, {} rejects, pending: {}; chain {} ok / {} broken, {} unchained; signatures {} ok / {} bad; checkpoints {} ok / {} bad",
            r.lines,
            r.entries,
            r.rejects.len(),
            r.pending,
            r.chain.ok,
            r.chain.broken,
            r.unchained,
            r.signatures.ok,
            r.signatures.bad,
            r.checkpoints.ok,
            r.checkpoints.bad
        ),
        Some(shown),
        if r.ok {
            ""
        } else {
            "see the ledger errors above; `lumen ledger verify` gives the full report"
        },
    );
}

/// Exporters and Prometheus: unreachable is a warning.
fn check_sources(c: &mut Collector, cfg: &Config) -> Result<(), CmdError> {
    let rt = crate::cmd::runtime()?;
    let client = http::client()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("cannot build the HTTP client: {e}")))?;
    let results = rt.block_on(async {
        let polls = cfg.exporters.iter().map(|e| {
            let mut e = e.clone();
            e.timeout = e.timeout.min(PROBE_TIMEOUT);
            let client = &client;
            async move { exporter::poll_once(client, &e).await }
        });
        let prom = async {
            match &cfg.prometheus_url {
                Some(base) => {
                    let url = format!("{}/-/ready", base.trim_end_matches('/'));
                    Some(http::get_bounded(&client, &url, PROBE_TIMEOUT, 64 * 1024).await)
                }
                None => None,
            }
        };
        futures::join!(futures::future::join_all(polls), prom)
    });
    let (exporters, prom) = results;
    for (e, r) in cfg.exporters.iter().zip(exporters) {
        let url = http::redact(&e.url);
        match r {
            Ok(p) => c.push(
                Level::Ok,
                "exporter",
                format!(
                    "{url}: {} samples, {} unreadable lines",
                    p.samples.len(),
                    p.unreadable
                ),
                None,
                String::new(),
            ),
            Err(err) => c.push(
                Level::Warning,
                "exporter",
                err.to_string(),
                cfg.config_file.as_ref().map(|p| p.display().to_string()),
                format!(
                    "start the exporter at {url} (`lumen simulate --hq DIR` serves a demo one) or fix `exporters` in the config"
                ),
            ),
        }
    }
    match (prom, &cfg.prometheus_url) {
        (Some(Ok(_)), Some(u)) => c.push(
            Level::Ok,
            "prometheus",
            format!("{} is ready", http::redact(u)),
            None,
            String::new(),
        ),
        (Some(Err(err)), Some(u)) => c.push(
            Level::Warning,
            "prometheus",
            err.to_string(),
            cfg.config_file.as_ref().map(|p| p.display().to_string()),
            format!(
                "start Prometheus at {} or fix `prometheus_url` in the config",
                http::redact(u)
            ),
        ),
        _ => c.push(
            Level::Ok,
            "prometheus",
            "no prometheus_url configured: history comes from the exporters only",
            None,
            String::new(),
        ),
    }
    Ok(())
}

/// Free space on the HQ root's file system.
/// User themes (`<config dir>/themes/*.yaml`): each must parse, and every colour it
/// draws text in must reach WCAG AA contrast (4.5:1; borders 3:1) against the
/// background it is drawn on. Warnings: a theme only matters once chosen, and the
/// chosen one's parse errors are already reported as config errors.
fn check_themes(c: &mut Collector, cfg: &Config) {
    let Some(dir) = cfg.theme_dir.as_deref() else {
        return;
    };
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<std::path::PathBuf> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let Some(name) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        let shown = Some(path.display().to_string());
        let theme = match crate::theme::load_theme_colors(name, Some(dir)) {
            Ok(t) => t,
            Err(e) => {
                let mut f = e;
                f.path = path.clone();
                c.file_error(
                    "theme",
                    &f,
                    "correct the theme file at that position (see docs/configuration.md)",
                );
                if let Some(last) = c.findings.last_mut() {
                    last.level = Level::Warning;
                }
                continue;
            }
        };
        let mut problems = theme.contrast_problems();
        let reset_bg = crate::theme::rgb(theme.bg).is_none();
        if reset_bg {
            c.push(
                Level::Warning,
                "theme",
                format!(
                    "theme `{name}`: `bg: reset` leaves the background to the terminal, which may be light or dark, so its text contrast cannot be known"
                ),
                shown.clone(),
                "set `bg` to a \"#rrggbb\" colour the text colours are chosen for (see docs/configuration.md, Themes)",
            );
            problems.retain(|(p, _)| p.bg_key != "bg");
        }
        if problems.is_empty() {
            if reset_bg {
                continue;
            }
            c.push(
                Level::Ok,
                "theme",
                format!("theme `{name}`: every text colour reaches 4.5:1 on its background"),
                shown,
                String::new(),
            );
            continue;
        }
        for (p, ratio) in problems {
            let message = match ratio {
                Some(r) => format!(
                    "theme `{name}`: `{}` {} on `{}` {} is {r:.2}:1, below {}:1 (WCAG AA)",
                    p.fg_key,
                    color_label(p.fg),
                    p.bg_key,
                    color_label(p.bg),
                    p.min
                ),
                None => format!(
                    "theme `{name}`: `{}` on `{}` cannot be checked: `reset` is the terminal's own colour, which may be light or dark",
                    p.fg_key, p.bg_key
                ),
            };
            c.push(
                Level::Warning,
                "theme",
                message,
                shown.clone(),
                format!(
                    "set `{}` (or `{}`) to a \"#rrggbb\" colour with more contrast (see docs/configuration.md, Themes)",
                    p.fg_key, p.bg_key
                ),
            );
        }
    }
}

/// `#rrggbb` for RGB colours, the name or index otherwise.
fn color_label(c: ratatui::style::Color) -> String {
    match c {
        ratatui::style::Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        other => other.to_string(),
    }
}

fn check_disk(c: &mut Collector, root: &Path) {
    let shown = Some(root.display().to_string());
    match rustix::fs::statvfs(root) {
        Ok(st) => {
            let free = st.f_bavail.saturating_mul(st.f_frsize);
            let mib = free / (1024 * 1024);
            if free < LOW_DISK_BYTES {
                c.push(
                    Level::Warning,
                    "disk",
                    format!("only {mib} MiB free: appends will fail when it runs out"),
                    shown,
                    "free space on that file system or move the HQ root",
                );
            } else {
                c.push(
                    Level::Ok,
                    "disk",
                    format!("{mib} MiB free"),
                    shown,
                    String::new(),
                );
            }
        }
        Err(e) => c.push(
            Level::Warning,
            "disk",
            format!("cannot measure free space: {e}"),
            shown,
            "check the file system with df",
        ),
    }
}

#[cfg(test)]
mod tests {
    /// doctor checks exactly the files the console loads, in the same order.
    #[test]
    fn doctor_checks_every_snapshot_file() {
        let checked: Vec<&str> = super::registry_files().iter().map(|(p, _, _)| *p).collect();
        assert_eq!(checked, crate::domain::hq::paths::SNAPSHOT_FILES);
    }
}
