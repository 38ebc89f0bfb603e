//! The one place tests (and benches/input_latency.rs) name the binary under test.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Stdio};

/// Path of the `lumen` binary cargo built for these tests.
pub const LUMEN: &str = env!("CARGO_BIN_EXE_lumen");

/// `lumen` with no arguments yet and the environment of the test.
pub fn lumen() -> Command {
    Command::new(LUMEN)
}

/// `lumen` kept away from the user's files: HOME and the XDG config and data
/// directories inside `home`, stdin empty.
pub fn lumen_in(home: &Path) -> Command {
    let mut c = lumen();
    c.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null());
    c
}
