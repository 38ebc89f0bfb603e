//! `lumen billing` (placeholder until its issue lands).
