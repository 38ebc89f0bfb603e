//! Side effects the operator triggers: rollback, kill switch, maintenance, the hook
//! runner and notifications. Every one writes the ledger first (README.md "Audit is law").
pub mod alertmanager;
pub mod am_link;
pub mod deps;
pub mod exec;
pub mod guard;
pub mod hook;
pub mod notify;
pub mod rehearsal;
pub mod run;
