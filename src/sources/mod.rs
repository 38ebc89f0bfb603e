//! Data sources: tokio tasks that poll or tail, parse into domain types inside the
//! task, and send `Msg` batches over a bounded channel. They never touch the terminal.

pub mod registry;

pub mod exporter;
pub mod http;
