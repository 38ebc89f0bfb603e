//! Terminal guard: raw mode, alternate screen and mouse capture on enter; restored on
//! drop, on panic (a chained panic hook), and on SIGINT/SIGTERM (the run loop turns
//! those into a normal quit, so `Drop` runs).

use std::io::{self, Stdout, Write};
use std::sync::Once;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

/// Whether the terminal is taken over (raw mode on). `restore` acts only once: a panic
/// restores in the hook, and the guard's `Drop` during unwinding must not write a
/// second restore after the panic message (leaving the alternate screen again moves
/// the cursor back over the message on xterm-like terminals).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Owns the terminal while the console runs.
pub struct TerminalGuard {
    pub terminal: Term,
}

impl TerminalGuard {
    pub fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        let mut out = io::stdout();
        if let Err(e) = execute!(out, EnterAlternateScreen, EnableMouseCapture) {
            restore();
            return Err(e);
        }
        let terminal = match Terminal::new(CrosstermBackend::new(out)) {
            Ok(t) => t,
            Err(e) => {
                restore();
                return Err(e);
            }
        };
        Ok(TerminalGuard { terminal })
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        if ACTIVE.load(Ordering::SeqCst) {
            let _ = self.terminal.show_cursor();
        }
        restore();
    }
}

/// Put the terminal back the way the shell expects it. Safe to call twice: only the
/// first call after `enter` writes anything.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut out = io::stdout();
    let _ = execute!(
        out,
        DisableMouseCapture,
        LeaveAlternateScreen,
        crossterm::cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = out.flush();
}

/// Restore the terminal before the default panic message is printed, so the
/// message is readable and the shell is usable.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
