//! The one loader of private key files (operator keys, ceremony participants' keys).

use std::io::Read as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use ed25519_dalek::SigningKey;
use zeroize::Zeroizing;

use crate::domain::signing::{PemError, decode_pem};

/// Why a key file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("readable by group or others (mode {0:o}); chmod 600 it")]
    LoosePermissions(u32),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Format(#[from] PemError),
}

/// Read a PKCS#8 PEM private key, refusing a file readable by group or others (the
/// mode is read from the opened file, so a swap between check and read cannot pass).
/// The file bytes are zeroized after decoding; `SigningKey` zeroizes itself on drop.
pub fn load_key_file(path: &Path) -> Result<SigningKey, KeyError> {
    let mut file = super::fsutil::open_regular(path)?;
    let mode = file.metadata()?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::LoosePermissions(mode & 0o777));
    }
    let mut text = Zeroizing::new(String::new());
    file.read_to_string(&mut text)?;
    Ok(decode_pem(&text)?)
}
