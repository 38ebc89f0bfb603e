//! `lumen sign FILE --key K [--sig PATH]` and `lumen verify-file FILE [--sig PATH]`
//! (docs/sign.md): detached artefact signatures in the seed's `.sig` format, checked
//! against the HQ's trust chain (`controls/keys/…`, `controls/trust/…`) when it has one.
//! Exit codes: 0 ok, 1 the check failed / signing was refused, 2 usage or file error.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use ed25519_dalek::Signer as _;

use crate::cli::{GlobalArgs, SignArgs, VerifyFileArgs};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::hq::custody::{self, paths};
use crate::domain::hq::sigfile::{self, HashAlg, Trust, VerifyReport};
use crate::domain::sanitize::sanitize;

/// A `.sig` is a few KiB (a certificate and three short fields).
const MAX_SIG_BYTES: u64 = 256 * 1024;

fn hq_root(g: &GlobalArgs) -> PathBuf {
    g.hq.clone().unwrap_or_else(|| PathBuf::from("."))
}

/// `FILE.sig` next to the file (the seed's `target.with_suffix(target.suffix + '.sig')`).
fn default_sig(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

fn file_err(path: &Path, e: impl std::fmt::Display) -> CmdError {
    CmdError::usage(format!("{}: {e}", path.display()))
}

/// Stream the artefact through the hash (files of any size, constant memory).
fn digest_file(path: &Path, alg: HashAlg) -> Result<Vec<u8>, CmdError> {
    let mut f = crate::store::fsutil::open_regular(path).map_err(|e| file_err(path, e))?;
    let mut h = alg.hasher();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| file_err(path, e))?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n).unwrap_or_default());
    }
    Ok(h.finish())
}

fn read_sig(path: &Path) -> Result<sigfile::SigFile, CmdError> {
    let f = crate::store::fsutil::open_regular(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => CmdError::usage(format!(
            "{}: no signature file (sign with `lumen sign`, or name it with --sig)",
            path.display()
        )),
        _ => file_err(path, e),
    })?;
    let mut bytes = Vec::new();
    f.take(MAX_SIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| file_err(path, e))?;
    if bytes.len() as u64 > MAX_SIG_BYTES {
        return Err(file_err(
            path,
            format!("larger than {MAX_SIG_BYTES} bytes; not a .sig file"),
        ));
    }
    sigfile::parse_sig(path, &bytes).map_err(|e| CmdError::usage(sanitize(&e.to_string())))
}

fn check(
    sig_path: &Path,
    sig: &sigfile::SigFile,
    digest: &[u8],
    files: &custody::CustodyFiles,
) -> VerifyReport {
    let trust = Trust {
        root: files.root.as_ref(),
        manifest: files.manifest.as_ref(),
        crl: files.crl.as_ref(),
    };
    sigfile::verify(sig_path, sig, digest, &trust, chrono::Utc::now())
}

fn print_report(file: &Path, r: &VerifyReport, json: bool) -> Result<(), CmdError> {
    if json {
        let mut v = serde_json::to_value(r).map_err(|e| CmdError::Io(e.into()))?;
        if let Some(o) = v.as_object_mut() {
            o.insert("file".into(), file.display().to_string().into());
        }
        return print_json(&v);
    }
    let name = file.display().to_string();
    let name = sanitize(&name);
    if let Some(s) = &r.signer {
        outln!(
            "signer  {}  serial {}  valid until {}",
            sanitize(&s.subject),
            s.serial,
            s.not_after.format("%Y-%m-%d")
        );
    }
    outln!(
        "hash    {} {}  {}",
        r.alg.as_str(),
        r.hash_hex,
        if r.hash_ok { "matches" } else { "DIFFERS" }
    );
    for n in &r.notes {
        outln!("note    {}", sanitize(n));
    }
    for p in &r.problems {
        outln!("problem {}", sanitize(p));
    }
    if r.ok {
        outln!("{name}: signature ok");
    } else {
        outln!("{name}: signature NOT ok");
    }
    Ok(())
}

/// `lumen verify-file FILE [--sig PATH] [--json]`.
pub fn run_verify_file(args: &VerifyFileArgs, g: &GlobalArgs) -> CmdResult {
    let sig_path = args.sig.clone().unwrap_or_else(|| default_sig(&args.file));
    let sig = read_sig(&sig_path)?;
    let digest = digest_file(&args.file, sig.alg)?;
    let hq = hq_root(g);
    let files = crate::store::custody::read_custody(&hq);
    let r = check(&sig_path, &sig, &digest, &files);
    print_report(&args.file, &r, g.json)?;
    Ok(if r.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// `lumen sign FILE --key K [--sig PATH] [--json]`: hash, sign the digest, attach the
/// HQ's signer certificate and root fingerprint when it has them, and refuse to write
/// a `.sig` that would not verify (another key than the certificate's, a revoked or
/// expired certificate).
pub fn run_sign(args: &SignArgs, g: &GlobalArgs) -> CmdResult {
    let Some(key_path) = g.key.as_deref() else {
        return Err(CmdError::usage(
            "no signing key: pass --key FILE (an Ed25519 PKCS#8 PEM, mode 0600)",
        ));
    };
    let key = crate::cmd::ceremony::load_key(key_path)?;
    let alg = HashAlg::Sha256;
    let digest = digest_file(&args.file, alg)?;
    let hq = hq_root(g);
    let files = crate::store::custody::read_custody(&hq);
    let (cert_pem, root_fp) = match &files.signer {
        None => (None, None),
        Some(Err(e)) => {
            return Err(CmdError::usage(format!(
                "the signer certificate cannot be read: {}",
                sanitize(&e.to_string())
            )));
        }
        Some(Ok(cert)) => {
            if cert.ed25519_key != Some(key.verifying_key().to_bytes()) {
                return Err(CmdError::refused(format!(
                    "{} is not the key of the signer certificate {} (serial {}); a .sig made with it would never verify",
                    key_path.display(),
                    hq.join(paths::SIGNER_CERT).display(),
                    cert.serial
                )));
            }
            let pem = crate::store::fsutil::read_regular_to_string(&hq.join(paths::SIGNER_CERT))
                .map_err(|e| file_err(&hq.join(paths::SIGNER_CERT), e))?;
            let fp = files
                .root
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|r| r.file_sha256.clone());
            (Some(pem), fp)
        }
    };
    let sig = key.sign(&digest).to_bytes();
    let public = key.verifying_key().to_bytes();
    let text = sigfile::render_sig(
        alg,
        &digest,
        &sig,
        cert_pem.as_deref(),
        root_fp.as_deref(),
        if cert_pem.is_none() {
            Some(&public)
        } else {
            None
        },
    );
    let sig_path = args.sig.clone().unwrap_or_else(|| default_sig(&args.file));
    // Check what would be written, with the same code `verify-file` runs.
    let parsed = sigfile::parse_sig(&sig_path, text.as_bytes())
        .map_err(|e| CmdError::Io(anyhow::anyhow!("{e}")))?;
    let r = check(&sig_path, &parsed, &digest, &files);
    if !r.ok {
        return Err(CmdError::refused(format!(
            "not signing {}: {}",
            args.file.display(),
            r.problems.join("; ")
        )));
    }
    write_atomic(&sig_path, text.as_bytes())?;
    if g.json {
        print_json(&serde_json::json!({
            "ok": true,
            "file": args.file.display().to_string(),
            "sig": sig_path.display().to_string(),
            "alg": alg.as_str(),
            "hash_hex": hex::encode(&digest),
            "signer_serial": r.signer.as_ref().map(|s| s.serial.clone()),
            "chain": r.chain,
        }))?;
    } else {
        for n in &r.notes {
            errln!("note: {}", sanitize(n));
        }
        outln!("wrote {}", sanitize(&sig_path.display().to_string()));
    }
    Ok(Outcome::Ok)
}

/// Write next to the target and rename over it: a reader never sees half a `.sig`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CmdError> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| file_err(path, e))?;
    use std::os::unix::fs::PermissionsExt as _;
    tmp.write_all(bytes)
        .and_then(|()| {
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o644))
        })
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| file_err(path, e))?;
    tmp.persist(path).map_err(|e| file_err(path, e.error))?;
    Ok(())
}
