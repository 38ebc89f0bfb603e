//! Prometheus text exposition format (SPEC §3 "Reading the exposition format correctly").
//! Placeholder interface; the exact parser lands with its helper.

use std::collections::BTreeMap;

/// One sample, labels unescaped per the format.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
    /// Milliseconds since the epoch, when the exposition gave one.
    pub timestamp_ms: Option<i64>,
}

/// The result of parsing one exposition body.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    pub samples: Vec<Sample>,
    /// Lines that could not be read: (1-based line number, reason).
    pub errors: Vec<(usize, String)>,
}

/// Parse an exposition body. (Interface stub: the exact parser replaces this.)
pub fn parse(body: &[u8]) -> Parsed {
    let _ = body;
    Parsed::default()
}
