//! Reading the custody and trust-chain files of an HQ root (docs/custody.md) for the
//! pure assessment in `domain::hq::custody`.

use std::path::Path;

use crate::domain::hq::FileError;
use crate::domain::hq::custody::{self, CustodyFiles, paths};

/// Certificates, manifests and records are small; a bigger file is refused unread.
const MAX_BYTES: u64 = 1024 * 1024;
/// At most this many quarterly audit records are read (25 years of quarters × 10).
const MAX_AUDITS: usize = 1000;

fn read(path: &Path) -> Option<Result<Vec<u8>, FileError>> {
    use std::io::Read;
    let file = match crate::store::fsutil::open_regular(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(FileError::new(path, 0, 0, format!("cannot read: {e}")))),
    };
    let mut bytes = Vec::new();
    match file.take(MAX_BYTES + 1).read_to_end(&mut bytes) {
        Ok(_) if bytes.len() as u64 > MAX_BYTES => Some(Err(FileError::new(
            path,
            0,
            0,
            format!("larger than {MAX_BYTES} bytes; not read"),
        ))),
        Ok(_) => Some(Ok(bytes)),
        Err(e) => Some(Err(FileError::new(path, 0, 0, format!("cannot read: {e}")))),
    }
}

fn load<T>(
    root: &Path,
    rel: &str,
    parse: impl FnOnce(&Path, &[u8]) -> Result<T, FileError>,
) -> Option<Result<T, FileError>> {
    let path = root.join(rel);
    read(&path).map(|r| r.and_then(|b| parse(&path, &b)))
}

/// Read every custody file under `root`; absent files are `None`.
pub fn read_custody(root: &Path) -> CustodyFiles {
    let mut audits = Vec::new();
    let dir = root.join(paths::RECORDS);
    if let Ok(rd) = std::fs::read_dir(&dir) {
        let mut names: Vec<String> = rd
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| custody::is_audit_file(n))
            .collect();
        names.sort();
        let skip = names.len().saturating_sub(MAX_AUDITS);
        for name in names.into_iter().skip(skip) {
            let path = dir.join(&name);
            if let Some(r) = read(&path) {
                audits.push((name, r.and_then(|b| custody::parse_audit(&path, &b))));
            }
        }
    }
    CustodyFiles {
        root: load(root, paths::ROOT_CERT, custody::parse_cert_pem),
        signer: load(root, paths::SIGNER_CERT, custody::parse_cert_pem),
        manifest: load(root, paths::CHAIN_MANIFEST, custody::parse_chain_manifest),
        crl: load(root, paths::CRL, custody::parse_crl),
        audits,
        initial: load(
            root,
            paths::INITIAL_CEREMONY,
            custody::parse_ceremony_record,
        ),
    }
}
