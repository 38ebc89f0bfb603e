//! The ledger file: offset index, tail, the one signed append path, verify, stats,
//! Merkle proofs and checkpoints (SPEC §4).

pub mod append;
