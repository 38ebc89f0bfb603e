//! Loading an HQ root's registry files into an `HqSnapshot`. Interface stub.

use std::path::Path;

use crate::domain::hq::{FileError, HqSnapshot, paths};

/// Load every registry file under `root`. Err only when `branches.json` is missing
/// or invalid; optional files that are invalid land in `snapshot.errors`.
pub fn load_snapshot(root: &Path) -> Result<HqSnapshot, FileError> {
    let path = root.join(paths::BRANCHES);
    let bytes = std::fs::read(&path).map_err(|e| FileError::new(&path, 0, 0, e.to_string()))?;
    let registry = serde_json::from_slice(&bytes)
        .map_err(|e| FileError::new(&path, e.line(), e.column(), e.to_string()))?;
    Ok(HqSnapshot {
        root: root.to_path_buf(),
        registry: Some(registry),
        ..Default::default()
    })
}
