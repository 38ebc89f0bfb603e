//! Rehearsal cryptography: ephemeral Ed25519 keys (zeroized on drop through
//! ed25519-dalek's `zeroize` feature), fingerprints, signing and verification.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

/// SHA-256 of the public key, lowercase hex in groups of 4 separated by spaces.
pub fn fingerprint(key: &VerifyingKey) -> String {
    let hex = hex::encode(Sha256::digest(key.as_bytes()));
    let groups: Vec<&str> = hex
        .as_bytes()
        .chunks(4)
        .filter_map(|c| std::str::from_utf8(c).ok())
        .collect();
    groups.join(" ")
}

/// The first 8 hex digits of a fingerprint (what custodians type to confirm it).
pub fn fingerprint_prefix(key: &VerifyingKey) -> String {
    let hex = hex::encode(Sha256::digest(key.as_bytes()));
    hex.chars().take(8).collect()
}

/// Does a typed confirmation match the first 8 hex digits? Case and spaces ignored.
pub fn prefix_matches(key: &VerifyingKey, typed: &str) -> bool {
    let typed: String = typed
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    typed == fingerprint_prefix(key)
}

pub fn public_b64(key: &VerifyingKey) -> String {
    B64.encode(key.as_bytes())
}

pub fn sign_b64(key: &SigningKey, msg: &[u8]) -> String {
    B64.encode(key.sign(msg).to_bytes())
}

/// Verify a standard base64 Ed25519 signature (strict verification).
pub fn verify_b64(key: &VerifyingKey, msg: &[u8], sig_b64: &str) -> bool {
    let Ok(bytes) = B64.decode(sig_b64.as_bytes()) else {
        return false;
    };
    let Ok(sig) = Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify_strict(msg, &sig).is_ok()
}

pub fn public_from_b64(s: &str) -> Option<VerifyingKey> {
    let bytes = B64.decode(s.as_bytes()).ok()?;
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    VerifyingKey::from_bytes(&arr).ok()
}

/// Where the machine gets fresh key material. `Os` for real rehearsals; `Seeded`
/// makes tests reproducible. Seeds pass through `Zeroizing` buffers.
pub enum KeySource {
    Os,
    Seeded(Box<rand::rngs::StdRng>),
}

impl KeySource {
    pub fn seeded(seed: u64) -> Self {
        KeySource::Seeded(Box::new(rand::rngs::StdRng::seed_from_u64(seed)))
    }

    pub fn generate(&mut self) -> Result<SigningKey, String> {
        let mut seed = Zeroizing::new([0u8; 32]);
        match self {
            KeySource::Os => getrandom::fill(&mut seed[..])
                .map_err(|e| format!("no system randomness for a rehearsal key: {e}"))?,
            KeySource::Seeded(rng) => rng.fill_bytes(&mut seed[..]),
        }
        Ok(SigningKey::from_bytes(&seed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_grouped_sha256() {
        let k = SigningKey::from_bytes(&[7u8; 32]);
        let fp = fingerprint(&k.verifying_key());
        assert_eq!(fp.len(), 64 + 15);
        let hex: String = fp.split(' ').collect();
        assert_eq!(
            hex,
            hex::encode(Sha256::digest(k.verifying_key().as_bytes()))
        );
        assert!(prefix_matches(&k.verifying_key(), &fp[..9].to_uppercase()));
        assert!(!prefix_matches(&k.verifying_key(), "00000000"));
    }

    #[test]
    fn sign_verify_roundtrip_and_tamper() {
        let k = SigningKey::from_bytes(&[9u8; 32]);
        let sig = sign_b64(&k, b"record");
        assert!(verify_b64(&k.verifying_key(), b"record", &sig));
        assert!(!verify_b64(&k.verifying_key(), b"recorD", &sig));
        assert!(!verify_b64(&k.verifying_key(), b"record", "not base64!"));
        let pk = public_from_b64(&public_b64(&k.verifying_key()));
        assert_eq!(pk, Some(k.verifying_key()));
    }
}
