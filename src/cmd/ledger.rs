//! `lumen ledger` (placeholder until its issue lands).
