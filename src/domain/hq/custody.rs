//! Custody and the trust chain (docs/custody.md): the root certificate
//! (`controls/keys/root/root_ca_cert.pem`, self-signed Ed25519 X.509), the signer
//! certificate it issues (`controls/keys/current/signer_cert.pem`), the chain manifest
//! (`controls/trust/chain_manifest.json`), the CRL (`controls/trust/crl.jsonl`) and the
//! custody records (`custody/records/quarterly_audit_YYYYQ.json`,
//! `initial_ceremony.json`). Pure: bytes in, facts out; the caller reads the files.
//!
//! Certificates are decoded with RustCrypto's `x509-cert`; the issuer's signature is
//! verified with `ed25519-dalek` over the DER of the to-be-signed part (`x509-cert`
//! decodes strict DER only, so re-encoding it gives back the signed bytes).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage};

use super::{Doc, FileError, get, line_col, members};
use std::path::Path;

pub mod paths {
    pub const ROOT_CERT: &str = "controls/keys/root/root_ca_cert.pem";
    pub const SIGNER_CERT: &str = "controls/keys/current/signer_cert.pem";
    pub const CHAIN_MANIFEST: &str = "controls/trust/chain_manifest.json";
    pub const CRL: &str = "controls/trust/crl.jsonl";
    pub const RECORDS: &str = "custody/records";
    pub const INITIAL_CEREMONY: &str = "custody/records/initial_ceremony.json";
}

const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const CODE_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3");

/// A quarter without a seal audit makes the next one overdue.
pub const AUDIT_INTERVAL_DAYS: i64 = 92;
/// A signer certificate this close to its end is "expiring".
pub const EXPIRY_WARN_DAYS: i64 = 30;

/// What Lumen reads from one certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Decimal, as the seed's scripts print `serial_number`.
    pub serial: String,
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
    /// The subject key, when it is Ed25519.
    pub ed25519_key: Option<[u8; 32]>,
    /// The key algorithm's OID (for messages about other algorithms).
    pub key_algorithm: String,
    pub signature_algorithm: String,
    pub is_ca: bool,
    /// Extended key usages, by name where known (`codeSigning`), else the OID.
    pub eku: Vec<String>,
    /// SHA-256 of the PEM file as written (the seed's `sha256(root_ca_cert.pem)`).
    pub file_sha256: String,
    /// SHA-256 of the DER certificate.
    pub der_sha256: String,
    tbs: Vec<u8>,
    signature: Vec<u8>,
}

/// Big-endian unsigned bytes as a decimal string. Hand-written: a serial is at most
/// 20 bytes and no big-integer crate is in the tree.
fn decimal(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = vec![0]; // little-endian base 10
    for &b in bytes {
        let mut carry = u32::from(b);
        for d in digits.iter_mut() {
            let v = u32::from(*d) * 256 + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            digits.push((carry % 10) as u8);
            carry /= 10;
        }
    }
    while digits.len() > 1 && digits.last() == Some(&0) {
        digits.pop();
    }
    digits.iter().rev().map(|d| char::from(b'0' + d)).collect()
}

fn time(t: &x509_cert::time::Time) -> DateTime<Utc> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Parse a PEM certificate. A file that is not one, or that uses a key other than
/// Ed25519, is an error naming it (the trust chain of docs/custody.md is Ed25519).
pub fn parse_cert_pem(path: &Path, bytes: &[u8]) -> Result<CertInfo, FileError> {
    let cert = Certificate::from_pem(bytes).map_err(|e| {
        FileError::new(
            path,
            1,
            1,
            format!("not a PEM X.509 certificate (`-----BEGIN CERTIFICATE-----`): {e}"),
        )
    })?;
    let tbs = cert.tbs_certificate();
    let spki = tbs.subject_public_key_info();
    let key_alg = spki.algorithm.oid;
    let ed25519_key = if key_alg == ED25519 {
        spki.subject_public_key
            .as_bytes()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
    } else {
        None
    };
    let is_ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let eku = match tbs.get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, e))) => {
            e.0.iter()
                .map(|o| {
                    if *o == CODE_SIGNING {
                        "codeSigning".to_string()
                    } else {
                        o.to_string()
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let der = cert
        .to_der()
        .map_err(|e| FileError::new(path, 1, 1, format!("certificate cannot be encoded: {e}")))?;
    let tbs_der = tbs
        .to_der()
        .map_err(|e| FileError::new(path, 1, 1, format!("certificate cannot be encoded: {e}")))?;
    Ok(CertInfo {
        subject: crate::domain::sanitize::sanitize(&tbs.subject().to_string()).into_owned(),
        issuer: crate::domain::sanitize::sanitize(&tbs.issuer().to_string()).into_owned(),
        serial: decimal(tbs.serial_number().as_bytes()),
        not_before: time(&tbs.validity().not_before),
        not_after: time(&tbs.validity().not_after),
        ed25519_key,
        key_algorithm: if key_alg == ED25519 {
            "Ed25519".into()
        } else {
            key_alg.to_string()
        },
        signature_algorithm: if cert.signature_algorithm().oid == ED25519 {
            "Ed25519".into()
        } else {
            cert.signature_algorithm().oid.to_string()
        },
        is_ca,
        eku,
        file_sha256: hex::encode(Sha256::digest(bytes)),
        der_sha256: hex::encode(Sha256::digest(&der)),
        tbs: tbs_der,
        signature: cert.signature().raw_bytes().to_vec(),
    })
}

/// Whether `issuer`'s Ed25519 key signed `cert`; the reason when not.
pub fn verify_issued_by(cert: &CertInfo, issuer: &CertInfo) -> Result<(), String> {
    if cert.signature_algorithm != "Ed25519" {
        return Err(format!(
            "signed with algorithm {}, not Ed25519",
            cert.signature_algorithm
        ));
    }
    let Some(key) = issuer.ed25519_key else {
        return Err(format!(
            "the issuer's key is {}, not Ed25519",
            issuer.key_algorithm
        ));
    };
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|e| format!("the issuer's key is not a valid Ed25519 key: {e}"))?;
    let sig = ed25519_dalek::Signature::from_slice(&cert.signature)
        .map_err(|e| format!("the signature is malformed: {e}"))?;
    vk.verify_strict(&cert.tbs, &sig)
        .map_err(|_| "the signature does not verify with the root's key".to_string())
}

/// `chain_manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainManifest {
    #[serde(default)]
    pub root_subject: Option<String>,
    pub root_fingerprint_sha256: String,
    #[serde(default)]
    pub policy: ManifestPolicy,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ManifestPolicy {
    #[serde(default)]
    pub signer_valid_days: Option<u32>,
    #[serde(default)]
    pub key_rotation: Option<String>,
    #[serde(default)]
    pub allowed_eku: Vec<String>,
    #[serde(default)]
    pub crl: Option<String>,
}

fn is_hex64(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

pub fn parse_chain_manifest(path: &Path, bytes: &[u8]) -> Result<ChainManifest, FileError> {
    let doc = Doc::new(path, bytes)?;
    let m: ChainManifest = doc.typed()?;
    let top = doc.object()?;
    if !is_hex64(m.root_fingerprint_sha256.trim()) {
        return Err(doc.err_at(
            get(&top, "root_fingerprint_sha256"),
            format!(
                "root_fingerprint_sha256 `{}` is not a SHA-256; expected 64 hex digits (sha256 of root_ca_cert.pem)",
                crate::domain::sanitize::sanitize(&m.root_fingerprint_sha256)
            ),
        ));
    }
    Ok(m)
}

/// One `crl.jsonl` line. `serial` is kept as written (decimal digits; a JSON number
/// of any size or a string), so a 160-bit serial is compared exactly.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrlEntry {
    pub serial: String,
    pub reason: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub line: usize,
}

#[derive(Deserialize)]
struct RawCrl<'a> {
    #[serde(borrow)]
    serial: &'a RawValue,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    revoked_at: Option<DateTime<Utc>>,
}

/// `crl.jsonl`: one JSON object a line (blank lines skipped); errors name the line.
pub fn parse_crl(path: &Path, bytes: &[u8]) -> Result<Vec<CrlEntry>, FileError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (l, c) = line_col(bytes, e.valid_up_to());
        FileError::new(path, l, c, "file is not valid UTF-8")
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let raw: RawCrl = serde_json::from_str(line).map_err(|e| {
            let m = e.to_string();
            let m = m
                .rfind(" at line ")
                .map_or(m.clone(), |p| m[..p].to_string());
            FileError::new(path, n, e.column(), m)
        })?;
        let s = raw.serial.get().trim();
        let digits = s.trim_matches('"');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            let col = line.find(s).map_or(1, |p| p + 1);
            return Err(FileError::new(
                path,
                n,
                col,
                format!(
                    "serial {} is not a certificate serial; expected decimal digits (as `serial_number` prints)",
                    crate::domain::sanitize::sanitize(s)
                ),
            ));
        }
        let serial = digits.trim_start_matches('0');
        out.push(CrlEntry {
            serial: if serial.is_empty() { "0" } else { serial }.to_string(),
            reason: raw.reason,
            revoked_at: raw.revoked_at,
            line: n,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Photo {
    pub path: String,
    pub sha256: String,
}

/// `quarterly_audit_YYYYQ.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub ts_utc: DateTime<Utc>,
    pub auditors: Vec<String>,
    pub seal_ok: bool,
    #[serde(default)]
    pub photos: Vec<Photo>,
    pub root_fingerprint: String,
    #[serde(default)]
    pub notes: Option<String>,
}

pub fn parse_audit(path: &Path, bytes: &[u8]) -> Result<AuditRecord, FileError> {
    let doc = Doc::new(path, bytes)?;
    let a: AuditRecord = doc.typed()?;
    let top = doc.object()?;
    if a.auditors.len() < 2 {
        return Err(doc.err_at(
            get(&top, "auditors"),
            "a seal audit needs two auditors (dual control); expected at least 2 names",
        ));
    }
    if let Some(raw) = get(&top, "photos") {
        let items: Vec<&RawValue> =
            serde_json::from_str(raw.get()).map_err(|e| doc.err(raw, e.to_string()))?;
        for (p, raw) in a.photos.iter().zip(items) {
            if !is_hex64(&p.sha256) {
                let m = members(&doc, raw)?;
                return Err(doc.err_at(
                    get(&m, "sha256"),
                    format!(
                        "photo `{}`: sha256 is not 64 hex digits",
                        crate::domain::sanitize::sanitize(&p.path)
                    ),
                ));
            }
        }
    }
    Ok(a)
}

/// `initial_ceremony.json`: only when it happened and the root it made are read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CeremonyRecord {
    #[serde(default)]
    pub ts_utc: Option<DateTime<Utc>>,
    #[serde(default)]
    pub root_fingerprint: Option<String>,
}

pub fn parse_ceremony_record(path: &Path, bytes: &[u8]) -> Result<CeremonyRecord, FileError> {
    Doc::new(path, bytes)?.typed()
}

/// Whether `name` is a quarterly audit record's file name (`quarterly_audit_2026Q1.json`).
pub fn is_audit_file(name: &str) -> bool {
    name.strip_prefix("quarterly_audit_")
        .and_then(|r| r.strip_suffix(".json"))
        .is_some_and(|q| {
            q.len() == 6
                && q.as_bytes()[..4].iter().all(u8::is_ascii_digit)
                && matches!(&q[4..], "Q1" | "Q2" | "Q3" | "Q4")
        })
}

/// What the caller read: each file `None` when absent, `Err` when present but broken.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CustodyFiles {
    pub root: Option<Result<CertInfo, FileError>>,
    pub signer: Option<Result<CertInfo, FileError>>,
    pub manifest: Option<Result<ChainManifest, FileError>>,
    pub crl: Option<Result<Vec<CrlEntry>, FileError>>,
    /// (file name, record), any order.
    pub audits: Vec<(String, Result<AuditRecord, FileError>)>,
    pub initial: Option<Result<CeremonyRecord, FileError>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RootState {
    pub fingerprint: Option<String>,
    pub subject: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    pub manifest_match: bool,
    /// The fingerprint the chain manifest records, when there is a manifest.
    pub manifest_fingerprint: Option<String>,
    pub self_signed: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignerState {
    pub serial: Option<String>,
    pub subject: Option<String>,
    pub not_after: Option<DateTime<Utc>>,
    pub days_left: Option<i64>,
    pub chain_ok: bool,
    pub eku_ok: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastAudit {
    pub file: String,
    pub ts_utc: DateTime<Utc>,
    pub auditors: Vec<String>,
    pub seal_ok: bool,
    pub fingerprint_match: bool,
    pub photos: usize,
    pub notes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditState {
    pub last: Option<LastAudit>,
    pub days_since: Option<i64>,
    pub overdue: bool,
    /// When the next seal audit is due (a quarter after the last one, or after the
    /// initial ceremony when there is no audit yet).
    pub next_due: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrlState {
    pub entries: usize,
}

/// The custody report (`lumen custody --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustodyReport {
    pub ok: bool,
    pub root: RootState,
    pub signer: SignerState,
    pub crl: CrlState,
    pub audits: AuditState,
    /// When the initial (real) ceremony took place, from `initial_ceremony.json`.
    pub initial_ceremony: Option<DateTime<Utc>>,
    /// What is wrong, one line each (alerts are made from these).
    pub problems: Vec<String>,
    /// Files present but broken, as `file:line:col: message`.
    pub errors: Vec<String>,
}

/// Assess the trust chain and custody at `now`.
pub fn assess(files: &CustodyFiles, now: DateTime<Utc>) -> CustodyReport {
    let mut problems = Vec::new();
    let mut errors = Vec::new();
    fn err<T>(x: &Option<Result<T, FileError>>) -> Option<String> {
        x.as_ref()
            .and_then(|r| r.as_ref().err())
            .map(ToString::to_string)
    }
    errors.extend(err(&files.root));
    errors.extend(err(&files.signer));
    errors.extend(err(&files.manifest));
    errors.extend(err(&files.crl));
    errors.extend(err(&files.initial));
    for (_, a) in &files.audits {
        if let Err(e) = a {
            errors.push(e.to_string());
        }
    }
    let root = files.root.as_ref().and_then(|r| r.as_ref().ok());
    let signer = files.signer.as_ref().and_then(|r| r.as_ref().ok());
    let manifest = files.manifest.as_ref().and_then(|r| r.as_ref().ok());
    let crl: &[CrlEntry] = files
        .crl
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .map_or(&[], Vec::as_slice);
    let fp_matches = |fp: &str| {
        root.is_some_and(|r| {
            let fp = fp.trim().to_ascii_lowercase();
            fp == r.file_sha256 || fp == r.der_sha256
        })
    };

    // Root.
    if files.root.is_none() {
        problems.push(format!("no root certificate ({})", paths::ROOT_CERT));
    }
    let self_signed = root.is_some_and(|r| verify_issued_by(r, r).is_ok());
    if let Some(r) = root {
        if r.ed25519_key.is_none() {
            problems.push(format!(
                "the root certificate's key is {}, not Ed25519",
                r.key_algorithm
            ));
        } else if !self_signed {
            problems.push("the root certificate is not validly self-signed".into());
        }
        if r.not_after < now {
            problems.push(format!("the root certificate expired on {}", r.not_after));
        }
    }
    let manifest_match = manifest.is_some_and(|m| fp_matches(&m.root_fingerprint_sha256));
    match manifest {
        None if files.manifest.is_none() => {
            problems.push(format!("no chain manifest ({})", paths::CHAIN_MANIFEST))
        }
        Some(_) if root.is_some() && !manifest_match => {
            problems.push("the root fingerprint does not match the chain manifest".into())
        }
        _ => {}
    }

    // Signer.
    let chain = match (signer, root) {
        (Some(s), Some(r)) => verify_issued_by(s, r),
        _ => Err(String::new()),
    };
    if let (Some(_), Some(_), Err(why)) = (signer, root, &chain) {
        problems.push(format!("the signer certificate's chain fails: {why}"));
    }
    if files.signer.is_none() {
        problems.push(format!("no signer certificate ({})", paths::SIGNER_CERT));
    }
    let allowed: Vec<String> = manifest
        .map(|m| m.policy.allowed_eku.clone())
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| vec!["codeSigning".into()]);
    let eku_ok = signer.is_some_and(|s| s.eku.iter().any(|e| allowed.contains(e)));
    if signer.is_some() && !eku_ok {
        problems.push(format!(
            "the signer certificate's extended key usage is not {}",
            allowed.join(" or ")
        ));
    }
    let revoked_by = signer.and_then(|s| crl.iter().find(|e| e.serial == s.serial));
    if let (Some(s), Some(e)) = (signer, revoked_by) {
        problems.push(format!(
            "the signer certificate (serial {}) is revoked by crl.jsonl line {}{}",
            s.serial,
            e.line,
            e.reason
                .as_deref()
                .map(|r| format!(" ({})", crate::domain::sanitize::sanitize(r)))
                .unwrap_or_default()
        ));
    }
    let days_left = signer.map(|s| (s.not_after - now).num_days());
    if let (Some(s), Some(d)) = (signer, days_left) {
        if s.not_after < now {
            problems.push(format!("the signer certificate expired on {}", s.not_after));
        } else if d < EXPIRY_WARN_DAYS {
            problems.push(format!("the signer certificate expires in {d} days"));
        }
        if s.not_before > now {
            problems.push(format!(
                "the signer certificate is not valid before {}",
                s.not_before
            ));
        }
    }

    // Audits.
    let initial_at = files
        .initial
        .as_ref()
        .and_then(|r| r.as_ref().ok())
        .and_then(|c| c.ts_utc);
    let last = files
        .audits
        .iter()
        .filter_map(|(f, a)| a.as_ref().ok().map(|a| (f, a)))
        .max_by_key(|(_, a)| a.ts_utc);
    let last = last.map(|(f, a)| LastAudit {
        file: f.clone(),
        ts_utc: a.ts_utc,
        auditors: a
            .auditors
            .iter()
            .map(|x| crate::domain::sanitize::sanitize(x).into_owned())
            .collect(),
        seal_ok: a.seal_ok,
        fingerprint_match: fp_matches(&a.root_fingerprint),
        photos: a.photos.len(),
        notes: a
            .notes
            .as_deref()
            .map(|n| crate::domain::sanitize::sanitize(n).into_owned()),
    });
    let since = last.as_ref().map(|l| l.ts_utc).or(initial_at);
    let next_due = since.map(|t| t + chrono::Duration::days(AUDIT_INTERVAL_DAYS));
    let overdue = next_due.is_none_or(|d| d < now);
    if overdue {
        problems.push(match &last {
            Some(l) => format!(
                "the quarterly seal audit is overdue: the last one was {} days ago",
                (now - l.ts_utc).num_days()
            ),
            None => "no quarterly seal audit is recorded in custody/records".into(),
        });
    }
    if let Some(l) = &last {
        if !l.seal_ok {
            problems.push(format!(
                "the last seal audit ({}) found the seal broken",
                l.file
            ));
        }
        if root.is_some() && !l.fingerprint_match {
            problems.push(format!(
                "the last seal audit ({}) recorded another root fingerprint",
                l.file
            ));
        }
    }
    let problems: Vec<String> = problems
        .into_iter()
        .map(|p| crate::domain::sanitize::sanitize(&p).into_owned())
        .collect();
    CustodyReport {
        ok: problems.is_empty() && errors.is_empty(),
        root: RootState {
            fingerprint: root.map(|r| r.file_sha256.clone()),
            subject: root.map(|r| r.subject.clone()),
            not_after: root.map(|r| r.not_after),
            manifest_match,
            manifest_fingerprint: manifest
                .map(|m| m.root_fingerprint_sha256.trim().to_ascii_lowercase()),
            self_signed,
        },
        signer: SignerState {
            serial: signer.map(|s| s.serial.clone()),
            subject: signer.map(|s| s.subject.clone()),
            not_after: signer.map(|s| s.not_after),
            days_left,
            chain_ok: chain.is_ok(),
            eku_ok,
            revoked: revoked_by.is_some(),
        },
        crl: CrlState { entries: crl.len() },
        audits: AuditState {
            days_since: last.as_ref().map(|l| (now - l.ts_utc).num_days()),
            last,
            overdue,
            next_due,
        },
        initial_ceremony: initial_at,
        problems,
        errors,
    }
}

impl CustodyFiles {
    /// Whether no custody file exists at all (not configured).
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
            && self.signer.is_none()
            && self.manifest.is_none()
            && self.crl.is_none()
            && self.audits.is_empty()
            && self.initial.is_none()
    }

    /// The files that exist but could not be read or parsed.
    pub fn errors(&self) -> impl Iterator<Item = FileError> + '_ {
        let one = |r: Option<FileError>| r.into_iter();
        one(self.root.as_ref().and_then(|r| r.as_ref().err().cloned()))
            .chain(one(self
                .signer
                .as_ref()
                .and_then(|r| r.as_ref().err().cloned())))
            .chain(one(self
                .manifest
                .as_ref()
                .and_then(|r| r.as_ref().err().cloned())))
            .chain(one(self
                .crl
                .as_ref()
                .and_then(|r| r.as_ref().err().cloned())))
            .chain(one(self
                .initial
                .as_ref()
                .and_then(|r| r.as_ref().err().cloned())))
            .chain(
                self.audits
                    .iter()
                    .filter_map(|(_, a)| a.as_ref().err().cloned()),
            )
    }

    /// The last real custody event: the newest seal audit or the initial ceremony.
    /// Rehearsals are not custody events.
    pub fn last_real_event(&self) -> Option<DateTime<Utc>> {
        self.audits
            .iter()
            .filter_map(|(_, a)| a.as_ref().ok().map(|a| a.ts_utc))
            .chain(
                self.initial
                    .as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .and_then(|c| c.ts_utc),
            )
            .max()
    }
}

/// How a rehearsal relates to the real custody schedule, for its summary:
/// "a rehearsal, not a custody event: last real audit 2026-01-20, next due 2026-04-22
/// (overdue by 12 days)". `None` when the HQ has no custody record.
pub fn schedule_note(report: &CustodyReport, now: DateTime<Utc>) -> Option<String> {
    let date = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let last = match (&report.audits.last, report.initial_ceremony) {
        (Some(l), _) => format!("last real audit {}", date(l.ts_utc)),
        (None, Some(t)) => format!("no seal audit since the initial ceremony of {}", date(t)),
        (None, None) => return None,
    };
    let due = report.audits.next_due.map(|d| {
        let days = (now - d).num_days();
        if d < now {
            format!(", next was due {} (overdue by {days} days)", date(d))
        } else {
            format!(", next due {}", date(d))
        }
    });
    Some(format!(
        "a rehearsal, not a custody event: {last}{}",
        due.unwrap_or_default()
    ))
}

/// The `safety` custody score of the rhythm view, as the seed defines it:
/// `max(0, 1 − age/180)` with `age` the days since the last *real* custody event (the
/// latest seal audit or the initial ceremony — rehearsals never count).
pub fn custody_score(report: &CustodyReport, now: DateTime<Utc>) -> Option<f64> {
    let last = report
        .audits
        .last
        .as_ref()
        .map(|l| l.ts_utc)
        .into_iter()
        .chain(report.initial_ceremony)
        .max()?;
    let age = (now - last).num_seconds() as f64 / 86_400.0;
    Some((1.0 - age / 180.0).clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &[u8] =
        include_bytes!("../../../tests/fixtures/seed-hq/controls/keys/root/root_ca_cert.pem");
    const SIGNER: &[u8] =
        include_bytes!("../../../tests/fixtures/seed-hq/controls/keys/current/signer_cert.pem");
    const MANIFEST: &[u8] =
        include_bytes!("../../../tests/fixtures/seed-hq/controls/trust/chain_manifest.json");
    const CRL: &[u8] = include_bytes!("../../../tests/fixtures/seed-hq/controls/trust/crl.jsonl");
    const AUDIT: &[u8] = include_bytes!(
        "../../../tests/fixtures/seed-hq/custody/records/quarterly_audit_2026Q1.json"
    );
    const OTHER: &[u8] =
        include_bytes!("../../../tests/fixtures/custody/other_root_signer_cert.pem");
    const NO_EKU: &[u8] = include_bytes!("../../../tests/fixtures/custody/no_eku_signer_cert.pem");
    const ECDSA: &[u8] = include_bytes!("../../../tests/fixtures/custody/ecdsa_root_cert.pem");

    fn p(s: &str) -> &Path {
        Path::new(s)
    }

    fn files() -> CustodyFiles {
        CustodyFiles {
            root: Some(parse_cert_pem(p("root.pem"), ROOT)),
            signer: Some(parse_cert_pem(p("signer.pem"), SIGNER)),
            manifest: Some(parse_chain_manifest(p("m.json"), MANIFEST)),
            crl: Some(parse_crl(p("crl.jsonl"), CRL)),
            audits: vec![(
                "quarterly_audit_2026Q1.json".into(),
                parse_audit(p("a.json"), AUDIT),
            )],
            initial: None,
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_seed_chain_is_ok_within_a_quarter_of_the_audit() {
        let r = assess(&files(), at("2026-02-01T00:00:00Z"));
        assert!(r.ok, "{:?} {:?}", r.problems, r.errors);
        assert!(r.root.manifest_match && r.root.self_signed);
        assert_eq!(r.signer.serial.as_deref(), Some("4242424242"));
        assert!(r.signer.chain_ok && r.signer.eku_ok && !r.signer.revoked);
        assert_eq!(r.crl.entries, 1);
        assert_eq!(r.audits.days_since, Some(12));
        assert_eq!(
            r.signer.subject.as_deref(),
            Some("OU=Pipeline,CN=Lumen Artifact Signer")
        );
    }

    #[test]
    fn expiry_revocation_overdue_and_foreign_chains_are_problems() {
        // 20 days before the signer's end, and long after the audit.
        let r = assess(&files(), at("2035-12-12T00:00:00Z"));
        assert!(!r.ok);
        assert_eq!(r.signer.days_left, Some(20));
        assert!(r.audits.overdue);
        assert!(
            r.problems.iter().any(|p| p.contains("expires in 20 days")),
            "{:?}",
            r.problems
        );
        // Revoked by serial.
        let mut f = files();
        f.crl = Some(parse_crl(
            p("crl.jsonl"),
            b"\n{\"serial\": 4242424242, \"reason\": \"keyCompromise\", \"revoked_at\": \"2026-01-10T00:00:00Z\"}\n",
        ));
        let r = assess(&f, at("2026-02-01T00:00:00Z"));
        assert!(r.signer.revoked);
        assert!(
            r.problems[0].contains("crl.jsonl line 2 (keyCompromise)"),
            "{:?}",
            r.problems
        );
        // Issued by another root: the chain fails for real.
        let mut f = files();
        f.signer = Some(parse_cert_pem(p("o.pem"), OTHER));
        let r = assess(&f, at("2026-02-01T00:00:00Z"));
        assert!(!r.signer.chain_ok);
        assert!(
            r.problems[0].contains("does not verify with the root's key"),
            "{:?}",
            r.problems
        );
        // No codeSigning.
        let mut f = files();
        f.signer = Some(parse_cert_pem(p("n.pem"), NO_EKU));
        let r = assess(&f, at("2026-02-01T00:00:00Z"));
        assert!(r.signer.chain_ok && !r.signer.eku_ok);
        // Another algorithm.
        let mut f = files();
        f.root = Some(parse_cert_pem(p("e.pem"), ECDSA));
        let r = assess(&f, at("2026-02-01T00:00:00Z"));
        assert!(!r.signer.chain_ok && !r.root.manifest_match);
        assert!(
            r.problems.iter().any(|p| p.contains("not Ed25519")),
            "{:?}",
            r.problems
        );
    }

    #[test]
    fn broken_files_are_errors_with_their_place() {
        let e = parse_cert_pem(p("root.pem"), b"hello").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("root.pem:1:1: not a PEM X.509 certificate"),
            "{e}"
        );
        let e = parse_crl(p("crl.jsonl"), b"{\"serial\":1}\n{\"serial\":\"x1\"}\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "crl.jsonl:2:11: serial \"x1\" is not a certificate serial; expected decimal digits (as `serial_number` prints)"
        );
        let e = parse_crl(p("crl.jsonl"), b"{\"serial\":1,}\n").unwrap_err();
        assert!(e.to_string().starts_with("crl.jsonl:1:13: "), "{e}");
        let e = parse_chain_manifest(p("m.json"), b"{\"root_fingerprint_sha256\": \"<hex>\"}")
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("m.json:1:29: root_fingerprint_sha256 `<hex>`"),
            "{e}"
        );
        let e = parse_audit(
            p("a.json"),
            b"{\"ts_utc\":\"2026-01-01T00:00:00Z\",\"auditors\":[\"alice\"],\"seal_ok\":true,\"root_fingerprint\":\"x\"}",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.json:1:45: a seal audit needs two auditors"),
            "{e}"
        );
        // A huge serial is kept exactly.
        let c = parse_crl(
            p("c"),
            b"{\"serial\": 730750818665451459101842416358141509827966271488}",
        )
        .unwrap();
        assert_eq!(
            c[0].serial,
            "730750818665451459101842416358141509827966271488"
        );
        assert_eq!(decimal(&[0x01, 0x00]), "256");
        assert!(is_audit_file("quarterly_audit_2026Q1.json"));
        assert!(!is_audit_file("quarterly_audit_2026Q5.json"));
    }

    #[test]
    fn the_last_real_event_is_an_audit_or_the_initial_ceremony() {
        let mut f = files();
        assert_eq!(f.last_real_event(), Some(at("2026-01-20T00:00:00Z")));
        f.audits.clear();
        assert_eq!(f.last_real_event(), None);
        assert!(!f.is_empty());
        f.initial = Some(Ok(CeremonyRecord {
            ts_utc: Some(at("2025-10-23T00:00:00Z")),
            root_fingerprint: None,
        }));
        assert_eq!(f.last_real_event(), Some(at("2025-10-23T00:00:00Z")));
        assert!(CustodyFiles::default().is_empty());
    }

    #[test]
    fn a_rehearsal_is_placed_against_the_real_schedule() {
        let r = assess(&files(), at("2026-02-01T00:00:00Z"));
        assert_eq!(
            schedule_note(&r, at("2026-02-01T00:00:00Z")).as_deref(),
            Some(
                "a rehearsal, not a custody event: last real audit 2026-01-20, next due 2026-04-22"
            )
        );
        let r = assess(&files(), at("2026-05-01T00:00:00Z"));
        assert_eq!(
            schedule_note(&r, at("2026-05-01T00:00:00Z")).as_deref(),
            Some(
                "a rehearsal, not a custody event: last real audit 2026-01-20, next was due 2026-04-22 (overdue by 9 days)"
            )
        );
        let none = assess(&CustodyFiles::default(), at("2026-02-01T00:00:00Z"));
        assert_eq!(schedule_note(&none, at("2026-02-01T00:00:00Z")), None);
    }

    #[test]
    fn custody_score_counts_real_events_only() {
        let r = assess(&files(), at("2026-02-01T00:00:00Z"));
        let s = custody_score(&r, at("2026-03-01T00:00:00Z")).unwrap();
        // 40 days after the audit: 1 − 40/180.
        assert!((s - (1.0 - 40.0 / 180.0)).abs() < 1e-9);
        let none = assess(&CustodyFiles::default(), at("2026-02-01T00:00:00Z"));
        assert_eq!(custody_score(&none, at("2026-02-01T00:00:00Z")), None);
    }
}
