//! The one place tests (and benches/input_latency.rs) name the binary under test.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of the `lumen` binary cargo built for these tests.
pub const LUMEN: &str = env!("CARGO_BIN_EXE_lumen");

/// A data directory (XDG_DATA_HOME) for this test process, under cargo's target tmp dir,
/// so that runs of the binary never write the local witness or logs into the real
/// user's ~/.local/share/lumen. Unique per process; emptied when first used.
pub fn data_home() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("xdg-data-{}", std::process::id()));
        // A leftover from an earlier run that had the same process id.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
        dir
    })
}

/// `lumen` with no arguments yet and the environment of the test, except that
/// XDG_DATA_HOME points at [`data_home`]; a test that sets XDG_DATA_HOME itself
/// (`.env(...)` after this) overrides it.
pub fn lumen() -> Command {
    let mut c = Command::new(LUMEN);
    c.env("XDG_DATA_HOME", data_home());
    c
}
