//! Data sources: tokio tasks that poll or tail, parse into domain types inside the
//! task, and send `Msg` batches over a bounded channel. They never touch the terminal.

pub mod exporter;
pub mod health;
pub mod http;
pub mod ledger_reader;
pub mod ledger_tail;
pub mod metrics_tail;
pub mod prometheus;
pub mod registry;
pub mod rules_tail;
pub mod tail;
pub mod watch;
