//! The one place tests (and benches/input_latency.rs) name the binary under test.
#![allow(dead_code)]

use std::process::Command;

/// Path of the `lumen` binary cargo built for these tests.
pub const LUMEN: &str = env!("CARGO_BIN_EXE_lumen");

/// `lumen` with no arguments yet and the environment of the test.
pub fn lumen() -> Command {
    Command::new(LUMEN)
}
