//! `lumen scrape` (placeholder until its issue lands).
