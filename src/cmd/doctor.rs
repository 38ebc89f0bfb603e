//! `lumen doctor` (placeholder until its issue lands).
