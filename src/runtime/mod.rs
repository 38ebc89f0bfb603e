//! The running console: the terminal guard and the event loop that drives
//! `App::update` and `ui::render`.

pub mod clipboard;
pub mod event_loop;
pub mod tui;
