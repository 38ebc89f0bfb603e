//! Detached artefact signatures (docs/sign.md): the seed's `.sig` file
//! `{"alg","hash_hex","sig_b64"}` plus the signer certificate (`signer_cert_pem`) and
//! the root fingerprint (`root_fingerprint`), and what checking one concludes. Pure:
//! the caller reads the files, hashes the artefact and passes the clock.
//!
//! As the seed's `sign_file.py` does, the Ed25519 signature is over the *digest* of
//! the file (`priv.sign(hashlib.new(alg, data).digest())`), not over the file itself.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::path::Path;

use super::custody::{self, CertInfo, ChainManifest, CrlEntry};
use super::{Doc, FileError, get};
use crate::domain::sanitize::sanitize;

/// The hash algorithms a `.sig` may name (the seed's `LUMEN_HASH_ALG`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlg {
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlg {
    pub fn parse(s: &str) -> Option<HashAlg> {
        match s.trim().to_ascii_lowercase().as_str() {
            "sha256" => Some(HashAlg::Sha256),
            "sha384" => Some(HashAlg::Sha384),
            "sha512" => Some(HashAlg::Sha512),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlg::Sha256 => "sha256",
            HashAlg::Sha384 => "sha384",
            HashAlg::Sha512 => "sha512",
        }
    }
    pub fn hasher(self) -> Hasher {
        match self {
            HashAlg::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            HashAlg::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            HashAlg::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
}

/// A streaming hash of the artefact (the caller feeds it chunks as it reads).
pub enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub fn update(&mut self, chunk: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(chunk),
            Hasher::Sha384(h) => h.update(chunk),
            Hasher::Sha512(h) => h.update(chunk),
        }
    }
    pub fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// A parsed `.sig` file.
#[derive(Debug, Clone, PartialEq)]
pub struct SigFile {
    pub alg: HashAlg,
    pub hash_hex: String,
    pub sig: [u8; 64],
    /// The signer certificate (PEM) when the signer had one.
    pub signer_cert_pem: Option<String>,
    /// SHA-256 of the root certificate's PEM file, when a chain was attached.
    pub root_fingerprint: Option<String>,
    /// The signer's raw Ed25519 public key (base64), written only when there was no
    /// signer certificate: the signature can then be checked, the identity cannot.
    pub public_key: Option<[u8; 32]>,
}

#[derive(Deserialize)]
struct RawSig {
    alg: String,
    hash_hex: String,
    sig_b64: String,
    #[serde(default)]
    signer_cert_pem: Option<String>,
    #[serde(default)]
    root_fingerprint: Option<String>,
    #[serde(default)]
    public_key_b64: Option<String>,
}

/// Parse a `.sig` file; every refusal names the file, line and column.
pub fn parse_sig(path: &Path, bytes: &[u8]) -> Result<SigFile, FileError> {
    let doc = Doc::new(path, bytes)?;
    let raw: RawSig = doc.typed()?;
    let top = doc.object()?;
    let alg = HashAlg::parse(&raw.alg).ok_or_else(|| {
        doc.err_at(
            get(&top, "alg"),
            format!(
                "alg `{}` is not supported; expected sha256, sha384 or sha512",
                sanitize(&raw.alg)
            ),
        )
    })?;
    let want = match alg {
        HashAlg::Sha256 => 64,
        HashAlg::Sha384 => 96,
        HashAlg::Sha512 => 128,
    };
    let hash_hex = raw.hash_hex.trim().to_ascii_lowercase();
    if hash_hex.len() != want || !hash_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(doc.err_at(
            get(&top, "hash_hex"),
            format!(
                "hash_hex is not a {} digest; expected {want} hex digits",
                alg.as_str()
            ),
        ));
    }
    let sig = STANDARD
        .decode(raw.sig_b64.trim())
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| {
            doc.err_at(
                get(&top, "sig_b64"),
                "sig_b64 is not an Ed25519 signature; expected standard base64 of 64 bytes",
            )
        })?;
    let public_key = match &raw.public_key_b64 {
        None => None,
        Some(k) => Some(
            STANDARD
                .decode(k.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                .ok_or_else(|| {
                    doc.err_at(
                        get(&top, "public_key_b64"),
                        "public_key_b64 is not an Ed25519 public key; expected standard base64 of 32 bytes",
                    )
                })?,
        ),
    };
    if raw.signer_cert_pem.is_none() && public_key.is_none() {
        return Err(FileError::new(
            path,
            1,
            1,
            "names no signer: expected `signer_cert_pem` (the signer certificate) or `public_key_b64`",
        ));
    }
    Ok(SigFile {
        alg,
        hash_hex,
        sig,
        signer_cert_pem: raw.signer_cert_pem,
        root_fingerprint: raw.root_fingerprint.map(|f| f.trim().to_ascii_lowercase()),
        public_key,
    })
}

/// The `.sig` text, in the seed's member order, indented as `json.dumps(indent=2)`.
pub fn render_sig(
    alg: HashAlg,
    digest: &[u8],
    sig: &[u8; 64],
    signer_cert_pem: Option<&str>,
    root_fingerprint: Option<&str>,
    public_key: Option<&[u8; 32]>,
) -> String {
    let mut m = serde_json::Map::new();
    m.insert("alg".into(), alg.as_str().into());
    m.insert("hash_hex".into(), hex::encode(digest).into());
    m.insert("sig_b64".into(), STANDARD.encode(sig).into());
    if let Some(c) = signer_cert_pem {
        m.insert("signer_cert_pem".into(), c.into());
    }
    if let Some(f) = root_fingerprint {
        m.insert("root_fingerprint".into(), f.into());
    }
    if let Some(k) = public_key {
        m.insert("public_key_b64".into(), STANDARD.encode(k).into());
    }
    let mut s = serde_json::to_string_pretty(&serde_json::Value::Object(m)).unwrap_or_default();
    s.push('\n');
    s
}

/// The HQ's trust chain as read (each `None` when the file is absent, `Err` when
/// it is broken) — the same files `lumen custody` reads.
#[derive(Debug, Clone, Default)]
pub struct Trust<'a> {
    pub root: Option<&'a Result<CertInfo, FileError>>,
    pub manifest: Option<&'a Result<ChainManifest, FileError>>,
    pub crl: Option<&'a Result<Vec<CrlEntry>, FileError>>,
}

/// What was concluded about the signer certificate's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainState {
    /// Issued by the HQ's root, not revoked, within its validity, EKU allowed.
    Ok,
    /// Checked and found wanting (see `problems`).
    Failed,
    /// The HQ has no root certificate: the chain could not be checked.
    NoRoot,
    /// The `.sig` carries a bare public key, no certificate.
    NoCertificate,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignerFacts {
    pub subject: String,
    pub serial: String,
    pub not_after: DateTime<Utc>,
}

/// The verdict of `lumen verify-file` (`--json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerifyReport {
    pub ok: bool,
    pub alg: HashAlg,
    pub hash_hex: String,
    pub hash_ok: bool,
    pub signature_ok: bool,
    pub chain: ChainState,
    pub signer: Option<SignerFacts>,
    pub revoked: bool,
    /// Whether the `.sig`'s root fingerprint is the HQ root's; `None` when either is absent.
    pub root_match: Option<bool>,
    /// Why it is not ok (empty when ok).
    pub problems: Vec<String>,
    /// What was not checked and why (ok can still be true).
    pub notes: Vec<String>,
}

fn fingerprint_matches(fp: &str, root: &CertInfo) -> bool {
    let fp = fp.trim().to_ascii_lowercase();
    fp == root.file_sha256 || fp == root.der_sha256
}

/// Check a `.sig` against the artefact's digest (computed with `sig.alg`) and the
/// HQ's trust chain at `now`.
pub fn verify(
    sig_path: &Path,
    sig: &SigFile,
    digest: &[u8],
    trust: &Trust<'_>,
    now: DateTime<Utc>,
) -> VerifyReport {
    let mut problems = Vec::new();
    let mut notes = Vec::new();
    let hash_ok = hex::encode(digest) == sig.hash_hex;
    if !hash_ok {
        problems.push(format!(
            "the file's {} ({}) is not the one signed ({}): it changed after signing",
            sig.alg.as_str(),
            hex::encode(digest),
            sig.hash_hex
        ));
    }

    // The signer: a certificate, or a bare key.
    let mut signer: Option<CertInfo> = None;
    let key: Option<[u8; 32]> = match &sig.signer_cert_pem {
        Some(pem) => match custody::parse_cert_pem(sig_path, pem.as_bytes()) {
            Ok(c) => {
                let k = c.ed25519_key;
                if k.is_none() {
                    problems.push(format!(
                        "the signer certificate's key is {}, not Ed25519",
                        c.key_algorithm
                    ));
                }
                signer = Some(c);
                k
            }
            Err(e) => {
                problems.push(format!("signer_cert_pem: {}", e.message));
                None
            }
        },
        None => sig.public_key,
    };
    let signature_ok = key
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
        .is_some_and(|vk| {
            vk.verify_strict(digest, &ed25519_dalek::Signature::from_bytes(&sig.sig))
                .is_ok()
        });
    if key.is_some() && !signature_ok {
        problems.push(if hash_ok {
            "the signature does not verify with the signer's key (signed by another key, or altered)"
                .to_string()
        } else {
            "the signature does not verify over the file's digest".to_string()
        });
    }

    // The chain.
    let mut revoked = false;
    let mut root_match = None;
    let chain = match (&signer, trust.root) {
        (None, _) if sig.signer_cert_pem.is_none() => {
            notes.push(
                "no signer certificate in the .sig: the signature was checked against the key it carries; who signed is not established".into(),
            );
            ChainState::NoCertificate
        }
        (None, _) => ChainState::Failed,
        (Some(_), None) => {
            notes.push(format!(
                "the HQ has no root certificate ({}): the signer's chain and revocation were not checked",
                custody::paths::ROOT_CERT
            ));
            ChainState::NoRoot
        }
        (Some(_), Some(Err(e))) => {
            problems.push(format!("cannot check the chain: {e}"));
            ChainState::Failed
        }
        (Some(s), Some(Ok(root))) => {
            let before = problems.len();
            if let Err(why) = custody::verify_issued_by(s, root) {
                problems.push(format!(
                    "the signer certificate is not issued by the HQ's root: {why}"
                ));
            }
            if let Some(fp) = &sig.root_fingerprint {
                let m = fingerprint_matches(fp, root);
                root_match = Some(m);
                if !m {
                    problems.push(format!(
                        "the .sig names root fingerprint {} but the HQ's root is {}",
                        sanitize(fp),
                        root.file_sha256
                    ));
                }
            }
            if let Some(Ok(m)) = trust.manifest
                && !fingerprint_matches(&m.root_fingerprint_sha256, root)
            {
                problems.push(format!(
                    "the HQ's root certificate does not match {}",
                    custody::paths::CHAIN_MANIFEST
                ));
            }
            if root.not_after < now {
                problems.push(format!(
                    "the root certificate expired on {}",
                    root.not_after.format("%Y-%m-%d")
                ));
            }
            if s.not_after < now {
                problems.push(format!(
                    "the signer certificate (serial {}) expired on {}",
                    s.serial,
                    s.not_after.format("%Y-%m-%d")
                ));
            } else if s.not_before > now {
                problems.push(format!(
                    "the signer certificate (serial {}) is not valid before {}",
                    s.serial,
                    s.not_before.format("%Y-%m-%d")
                ));
            }
            let allowed: Vec<String> = match trust.manifest {
                Some(Ok(m)) if !m.policy.allowed_eku.is_empty() => m.policy.allowed_eku.clone(),
                _ => vec!["codeSigning".into()],
            };
            if !s.eku.iter().any(|e| allowed.contains(e)) {
                problems.push(format!(
                    "the signer certificate's extended key usage is not {}",
                    allowed.join(" or ")
                ));
            }
            match trust.crl {
                Some(Ok(crl)) => {
                    if let Some(e) = crl.iter().find(|e| e.serial == s.serial) {
                        revoked = true;
                        problems.push(format!(
                            "the signer certificate (serial {}) is revoked by {} line {}{}{}",
                            s.serial,
                            custody::paths::CRL,
                            e.line,
                            e.reason
                                .as_deref()
                                .map(|r| format!(" ({})", sanitize(r)))
                                .unwrap_or_default(),
                            e.revoked_at
                                .map(|t| format!(" since {}", t.format("%Y-%m-%d")))
                                .unwrap_or_default()
                        ));
                    }
                }
                Some(Err(e)) => problems.push(format!("cannot check revocation: {e}")),
                None => notes.push(format!(
                    "the HQ has no CRL ({}): revocation was not checked",
                    custody::paths::CRL
                )),
            }
            if problems.len() == before {
                ChainState::Ok
            } else {
                ChainState::Failed
            }
        }
    };
    VerifyReport {
        ok: problems.is_empty() && signature_ok && hash_ok,
        alg: sig.alg,
        hash_hex: hex::encode(digest),
        hash_ok,
        signature_ok,
        chain,
        signer: signer.as_ref().map(|s| SignerFacts {
            subject: s.subject.clone(),
            serial: s.serial.clone(),
            not_after: s.not_after,
        }),
        revoked,
        root_match,
        problems: problems.iter().map(|p| sanitize(p).into_owned()).collect(),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("a.tar.gz.sig")
    }

    #[test]
    fn malformed_sig_files_name_line_and_column() {
        let e = parse_sig(
            p(),
            b"{\n  \"alg\": \"md5\",\n  \"hash_hex\": \"00\",\n  \"sig_b64\": \"\"\n}",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "a.tar.gz.sig:2:10: alg `md5` is not supported; expected sha256, sha384 or sha512"
        );
        let e = parse_sig(
            p(),
            b"{\"alg\":\"sha256\",\"hash_hex\":\"zz\",\"sig_b64\":\"\",\"public_key_b64\":\"\"}",
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("a.tar.gz.sig:1:28: hash_hex is not a sha256"),
            "{e}"
        );
        let e = parse_sig(p(), b"{\"alg\":\"sha256\",\n\"hash_hex\": 3}").unwrap_err();
        assert!(e.to_string().starts_with("a.tar.gz.sig:2:"), "{e}");
        let h = "0".repeat(64);
        let text = format!("{{\"alg\":\"sha256\",\"hash_hex\":\"{h}\",\"sig_b64\":\"AAAA\"}}");
        let e = parse_sig(p(), text.as_bytes()).unwrap_err();
        assert!(
            e.to_string()
                .contains("sig_b64 is not an Ed25519 signature"),
            "{e}"
        );
        let sig = STANDARD.encode([0u8; 64]);
        let text = format!("{{\"alg\":\"sha256\",\"hash_hex\":\"{h}\",\"sig_b64\":\"{sig}\"}}");
        let e = parse_sig(p(), text.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("names no signer"), "{e}");
    }

    #[test]
    fn a_bare_key_signature_verifies_and_a_changed_file_does_not() {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let digest = sha2::Sha256::digest(b"bundle").to_vec();
        let sig = key.sign(&digest).to_bytes();
        let text = render_sig(
            HashAlg::Sha256,
            &digest,
            &sig,
            None,
            None,
            Some(key.verifying_key().as_bytes()),
        );
        let s = parse_sig(p(), text.as_bytes()).unwrap();
        let now = Utc::now();
        let r = verify(p(), &s, &digest, &Trust::default(), now);
        assert!(r.ok && r.signature_ok && r.hash_ok, "{r:?}");
        assert_eq!(r.chain, ChainState::NoCertificate);
        let other = sha2::Sha256::digest(b"bundle!").to_vec();
        let r = verify(p(), &s, &other, &Trust::default(), now);
        assert!(!r.ok && !r.hash_ok && !r.signature_ok, "{r:?}");
        assert!(r.problems[0].contains("changed after signing"), "{r:?}");
    }
}
