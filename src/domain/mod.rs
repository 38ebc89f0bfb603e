//! Pure domain logic: no ratatui, no tokio, no file or network I/O beyond reading
//! the bytes handed in. Every parser of untrusted input lives here and is fuzzed.

pub mod alerts;
pub mod ceremony;
pub mod cost;
pub mod exposition;
pub mod health_url;
pub mod hq;
pub mod keyring;
pub mod ledger;
pub mod ledger_filter;
pub mod merkle;
pub mod note;
pub mod plan;
pub mod policy;
pub mod rhythm;
pub mod rhythm_history;
pub mod rhythm_math;
pub mod sanitize;
pub mod signing;
pub mod simd;
pub mod tiles;
pub mod yaml;
