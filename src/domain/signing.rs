//! Ed25519 identities and the ledger signing rule (docs/ledger.md and docs/formats.md "Keys").
//!
//! A signed JSON line ends with `,"sig":"<base64>"}`; the signed message is the line
//! with that member removed: `line[..rindex(",\"sig\":\"")] + "}"`. This module is pure:
//! reading a key file (and refusing a loose one) is `store::keyfile`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use zeroize::Zeroizing;

/// The member that must close a signed line.
pub const SIG_MARKER: &str = ",\"sig\":\"";

/// A key that is not a PKCS#8 PEM Ed25519 private key.
#[derive(Debug, thiserror::Error)]
#[error("not a PKCS#8 PEM Ed25519 private key: {0}")]
pub struct PemError(String);

/// Decode a PKCS#8 PEM Ed25519 private key.
pub fn decode_pem(text: &str) -> Result<SigningKey, PemError> {
    SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| PemError(e.to_string()))
}

/// Encode a private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`).
pub fn encode_pem(key: &SigningKey) -> Result<Zeroizing<String>, PemError> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|e| PemError(e.to_string()))
}

/// A fresh key from the operating system's CSPRNG.
pub fn generate() -> Result<SigningKey, getrandom::Error> {
    let mut seed = Zeroizing::new([0u8; 32]);
    getrandom::fill(seed.as_mut_slice())?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Standard padded base64 of a public key, as written in keys.json.
pub fn public_key_b64(key: &VerifyingKey) -> String {
    STANDARD.encode(key.as_bytes())
}

/// Parse a keys.json `publicKey` (standard base64 of 32 bytes).
pub fn parse_public_key(b64: &str) -> Option<VerifyingKey> {
    let bytes = STANDARD.decode(b64.trim()).ok()?;
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

/// Sign `unsigned` (a JSON object text ending in `}`) and return the full line with
/// `,"sig":"…"` as its last member. `unsigned` must already carry `signer`.
pub fn sign_line(key: &SigningKey, unsigned: &str) -> Option<String> {
    let body = unsigned.strip_suffix('}')?;
    let sig = key.sign(unsigned.as_bytes());
    Some(format!(
        "{body}{SIG_MARKER}{}\"}}",
        STANDARD.encode(sig.to_bytes())
    ))
}

/// Split a signed line into (signed message, signature). `None` when the line does
/// not end with a `"sig"` member in the shape this module writes.
pub fn split_signed(line: &[u8]) -> Option<(Vec<u8>, Signature)> {
    let marker = SIG_MARKER.as_bytes();
    let at = memchr::memmem::rfind(line, marker)?;
    let rest = line.get(at + marker.len()..)?;
    let b64 = rest.strip_suffix(b"\"}")?;
    let bytes = STANDARD.decode(b64).ok()?;
    let sig = Signature::from_slice(&bytes).ok()?;
    let mut msg = Vec::with_capacity(at + 1);
    msg.extend_from_slice(line.get(..at)?);
    msg.push(b'}');
    Some((msg, sig))
}

/// Verify a signed line against `key`.
pub fn verify_line(key: &VerifyingKey, line: &[u8]) -> bool {
    match split_signed(line) {
        Some((msg, sig)) => key.verify(&msg, &sig).is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let line = sign_line(&key, r#"{"id":"a","signer":"x"}"#).unwrap_or_default();
        assert!(line.ends_with("\"}"));
        assert!(verify_line(&key.verifying_key(), line.as_bytes()));
        let tampered = line.replacen("\"a\"", "\"b\"", 1);
        assert!(!verify_line(&key.verifying_key(), tampered.as_bytes()));
        assert!(!verify_line(&key.verifying_key(), b"{\"id\":\"a\"}"));
    }

    #[test]
    fn pem_round_trip() {
        let key = generate().map_err(|e| e.to_string());
        let key = key.unwrap_or_else(|e| panic!("{e}"));
        let pem = encode_pem(&key).unwrap_or_else(|e| panic!("{e}"));
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = decode_pem(&pem).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.to_bytes(), key.to_bytes());
        assert_eq!(
            parse_public_key(&public_key_b64(&key.verifying_key())),
            Some(key.verifying_key())
        );
    }
}
