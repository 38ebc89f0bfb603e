//! Lumen — the HQ operations console. The library holds everything so that
//! `tests/` and `benches/` can build the app, the panes and the sources.

// Text reaches stdout/stderr only through `cmd::out` (sanitised, quiet on a closed pipe).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod app;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod domain;
pub mod keymap;
pub mod logging;
pub mod operator;
pub mod protocol;
pub mod runtime;
pub mod sim;
pub mod sources;
pub mod store;
pub mod theme;
pub mod ui;
