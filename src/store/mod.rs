//! The ledger file: offset index, tail, the one signed append path, verify, stats,
//! Merkle proofs and checkpoints (docs/ledger.md).

pub mod append;
pub mod custody;
pub mod fsutil;
pub mod index;
pub mod keyfile;
pub mod keys;
pub mod lock;
pub mod prove;
pub mod scan;
pub mod sent_log;
pub mod stats;
pub mod verify;
pub mod witness;
