//! `lumen actions` (placeholder until its issue lands).
