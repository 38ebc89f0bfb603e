//! The running console: the terminal guard and the event loop that drives
//! `App::update` and `ui::render`, and the wiring between sources.

pub mod clipboard;
pub mod event_loop;
pub mod tui;
pub mod wiring;
