//! `lumen keygen` (placeholder until its issue lands).
