//! Overlays and small widgets shared by the panes.

pub mod alerts;
pub mod confirm;
pub mod custody;
pub mod help;
pub mod notifications;
pub mod palette;
pub mod policy;
pub mod spark;
pub mod sync;
pub mod toast;
