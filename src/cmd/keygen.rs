//! `lumen keygen --out FILE [--id ID] [--role ROLE]` (docs/formats.md "Keys"): a new Ed25519
//! signer key, PKCS#8 PEM, created with mode 0600; prints the keys.json entry.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use crate::cli::{GlobalArgs, KeygenArgs};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::signing;

pub fn run_keygen(args: &KeygenArgs, g: &GlobalArgs) -> CmdResult {
    let _ = g;
    let key = signing::generate()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("no randomness from the OS: {e}")))?;
    let pem = signing::encode_pem(&key).map_err(|e| CmdError::Io(e.into()))?;
    // create_new: never overwrite a key; mode 0600 from the first byte on disk.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&args.out)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => CmdError::usage(format!(
                "{} already exists; refusing to overwrite a key",
                args.out.display()
            )),
            _ => CmdError::usage(format!("{}: {e}", args.out.display())),
        })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CmdError::usage(format!("{}: {e}", args.out.display())))?;
    print_json(&serde_json::json!({
        "id": args.id,
        "role": args.role,
        "publicKey": signing::public_key_b64(&key.verifying_key()),
    }))?;
    Ok(Outcome::Ok)
}
