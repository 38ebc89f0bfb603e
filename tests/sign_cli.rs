//! `lumen sign` / `lumen verify-file` (docs/sign.md): the seed's `.sig` format, the
//! signature over the digest, the signer certificate's chain to the HQ root and the CRL.
//! Chains are generated per test by tests/py/sign_chain.py (the seed's own Python
//! `cryptography` calls); those tests skip without python3 + cryptography, and fail
//! when `CI` is set. Interop runs both ways: the seed's verify_sig_chain.py accepts
//! Lumen's `.sig`, and Lumen accepts the seed's sign_file.py output.

#[path = "common/bin.rs"]
mod bin;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/sign_chain.py")
}

fn python_ready() -> bool {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with `cryptography` is required in CI"
        );
        eprintln!("skipped: python3 with `cryptography` not available");
    }
    have
}

fn py(args: &[&Path]) -> Output {
    Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("python3")
}

fn lumen(args: &[&str], hq: &Path) -> Output {
    bin::lumen()
        .arg("--hq")
        .arg(hq)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run lumen")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A temp dir with a generated chain (`hq/`, `good_key.pem`, …) and an artefact.
struct Chain {
    dir: tempfile::TempDir,
}

impl Chain {
    fn new() -> Option<Chain> {
        if !python_ready() {
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let o = py(&[Path::new("chain"), dir.path()]);
        assert!(o.status.success(), "{}", text(&o));
        std::fs::write(dir.path().join("bundle.tar.gz"), b"the day's bundle\n").expect("write");
        Some(Chain { dir })
    }
    fn p(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn hq(&self) -> PathBuf {
        self.p("hq")
    }
    fn artefact(&self) -> PathBuf {
        self.p("bundle.tar.gz")
    }
    /// A `.sig` made by the seed's sign_file.py with `tag`'s key and certificate.
    fn seed_sign(&self, key: &str, cert: &str) {
        let root = self.hq().join("controls/keys/root/root_ca_cert.pem");
        let o = py(&[
            Path::new("sign"),
            &self.artefact(),
            &self.p(key),
            &self.p(cert),
            &root,
        ]);
        assert!(o.status.success(), "{}", text(&o));
    }
}

fn verify(c: &Chain, json: bool) -> Output {
    let a = c.artefact();
    let mut args = vec!["verify-file", s(&a)];
    if json {
        args.push("--json");
    }
    lumen(&args, &c.hq())
}

#[test]
fn good_signature_verifies_both_ways_with_the_seed_scripts() {
    let Some(c) = Chain::new() else { return };
    let o = lumen(
        &["sign", s(&c.artefact()), "--key", s(&c.p("good_key.pem"))],
        &c.hq(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let sig: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.p("bundle.tar.gz.sig")).expect("sig written"))
            .expect("sig is JSON");
    assert_eq!(sig["alg"], "sha256");
    assert!(
        sig["signer_cert_pem"]
            .as_str()
            .is_some_and(|p| p.contains("BEGIN CERTIFICATE"))
    );
    assert_eq!(sig["root_fingerprint"].as_str().map(str::len), Some(64));
    assert!(sig.get("public_key_b64").is_none(), "{sig}");

    let o = verify(&c, true);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(r["ok"], true);
    assert_eq!(r["chain"], "ok");
    assert_eq!(r["root_match"], true);
    assert_eq!(r["signer"]["serial"], "101");
    assert_eq!(r["hash_hex"], sig["hash_hex"]);

    // The seed's verify_sig_chain.py accepts what Lumen wrote.
    let root = c.hq().join("controls/keys/root/root_ca_cert.pem");
    let o = py(&[Path::new("verify"), &c.artefact(), &root]);
    assert!(o.status.success(), "{}", text(&o));

    // And Lumen accepts what the seed's sign_file.py wrote.
    c.seed_sign("good_key.pem", "good_cert.pem");
    let o = verify(&c, false);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("bundle.tar.gz: signature ok"),
        "{}",
        text(&o)
    );
}

#[test]
fn a_tampered_file_fails_with_exit_1() {
    let Some(c) = Chain::new() else { return };
    let o = lumen(
        &["sign", s(&c.artefact()), "--key", s(&c.p("good_key.pem"))],
        &c.hq(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    std::fs::write(c.artefact(), b"the day's bundle, edited\n").expect("write");
    let o = verify(&c, false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("changed after signing"), "{t}");
    assert!(t.contains("bundle.tar.gz: signature NOT ok"), "{t}");
    // The seed's verifier agrees.
    let root = c.hq().join("controls/keys/root/root_ca_cert.pem");
    assert!(
        !py(&[Path::new("verify"), &c.artefact(), &root])
            .status
            .success()
    );
}

#[test]
fn the_wrong_key_is_refused_when_signing_and_fails_when_verifying() {
    let Some(c) = Chain::new() else { return };
    // Signing with a key that is not the signer certificate's: refused, nothing written.
    let o = lumen(
        &["sign", s(&c.artefact()), "--key", s(&c.p("other_key.pem"))],
        &c.hq(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("is not the key of the signer certificate"),
        "{}",
        text(&o)
    );
    assert!(!c.p("bundle.tar.gz.sig").exists());
    // A .sig signed by another key but claiming the good certificate.
    c.seed_sign("other_key.pem", "good_cert.pem");
    let o = verify(&c, true);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(r["hash_ok"], true);
    assert_eq!(r["signature_ok"], false);
    assert!(
        r["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("does not verify with the signer's key")),
        "{r}"
    );
}

#[test]
fn a_revoked_signer_fails_and_cannot_sign() {
    let Some(c) = Chain::new() else { return };
    c.seed_sign("revoked_key.pem", "revoked_cert.pem");
    let o = verify(&c, false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(
            "the signer certificate (serial 666) is revoked by controls/trust/crl.jsonl line 2 (keyCompromise) since 2026-03-01"
        ),
        "{}",
        text(&o)
    );
    // With the revoked certificate installed as the current signer, signing is refused.
    std::fs::copy(
        c.p("revoked_cert.pem"),
        c.hq().join("controls/keys/current/signer_cert.pem"),
    )
    .expect("copy");
    std::fs::remove_file(c.p("bundle.tar.gz.sig")).expect("rm");
    let o = lumen(
        &[
            "sign",
            s(&c.artefact()),
            "--key",
            s(&c.p("revoked_key.pem")),
        ],
        &c.hq(),
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("refused: not signing"), "{}", text(&o));
    assert!(!c.p("bundle.tar.gz.sig").exists());
}

#[test]
fn an_expired_chain_and_a_foreign_root_fail() {
    let Some(c) = Chain::new() else { return };
    c.seed_sign("expired_key.pem", "expired_cert.pem");
    let o = verify(&c, false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("the signer certificate (serial 102) expired on 2021-01-01"),
        "{}",
        text(&o)
    );
    // A signer without codeSigning.
    c.seed_sign("noeku_key.pem", "noeku_cert.pem");
    let o = verify(&c, false);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("extended key usage is not codeSigning"),
        "{}",
        text(&o)
    );
    // Another HQ's root: the good signer's chain does not reach it.
    c.seed_sign("good_key.pem", "good_cert.pem");
    let other = Chain::new().expect("second chain");
    let o = lumen(&["verify-file", s(&c.artefact())], &other.hq());
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("not issued by the HQ's root"), "{t}");
    assert!(t.contains("the .sig names root fingerprint"), "{t}");
}

#[test]
fn without_a_trust_chain_a_bare_key_signs_and_tampering_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("k.pem");
    let o = bin::lumen()
        .args(["keygen", "--out", s(&key)])
        .output()
        .expect("keygen");
    assert!(o.status.success(), "{}", text(&o));
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, b"%PDF report").expect("write");
    let hq = dir.path();
    let o = lumen(&["sign", s(&file), "--key", s(&key)], hq);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = lumen(&["verify-file", s(&file)], hq);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        text(&o).contains("who signed is not established"),
        "{}",
        text(&o)
    );
    std::fs::write(&file, b"%PDF report!").expect("write");
    let o = lumen(&["verify-file", s(&file)], hq);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    // A loose key file is refused before anything is read or written.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let o = lumen(&["sign", s(&file), "--key", s(&key)], hq);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("readable by group or others"),
        "{}",
        text(&o)
    );
}

#[test]
fn malformed_or_missing_sig_files_are_file_errors_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bundle.tar.gz");
    std::fs::write(&file, b"x").expect("write");
    // Missing .sig: exit 2, naming it.
    let o = lumen(&["verify-file", s(&file)], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bundle.tar.gz.sig: no signature file"),
        "{}",
        text(&o)
    );
    // A trailing comma at line 4.
    let sig = dir.path().join("custom.sig");
    std::fs::write(
        &sig,
        "{\n  \"alg\": \"sha256\",\n  \"hash_hex\": \"00\",\n  \"sig_b64\": \"AA==\",\n}\n",
    )
    .expect("write");
    let o = lumen(&["verify-file", s(&file), "--sig", s(&sig)], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!("{}:5:1: trailing comma", sig.display());
    assert!(text(&o).contains(&want), "want {want}: {}", text(&o));
    // A hash of the wrong length, at its value.
    std::fs::write(
        &sig,
        "{\n  \"alg\": \"sha256\",\n  \"hash_hex\": \"00\",\n  \"sig_b64\": \"AA==\"\n}\n",
    )
    .expect("write");
    let o = lumen(&["verify-file", s(&file), "--sig", s(&sig)], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let want = format!("{}:3:15: hash_hex is not a sha256 digest", sig.display());
    assert!(text(&o).contains(&want), "want {want}: {}", text(&o));
    // The artefact itself missing.
    let o = lumen(
        &["verify-file", s(&dir.path().join("nope")), "--sig", s(&sig)],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
