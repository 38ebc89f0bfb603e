//! `lumen ceremony` (placeholder until its issue lands).
