//! `lumen sim` (placeholder until its issue lands).
