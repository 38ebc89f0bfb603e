//! A panic in the console restores the terminal before the panic message is printed
//! (issue 8, "panic and SIGTERM restore the terminal"; the hook is in `src/tui.rs`).
//!
//! The real binary runs in a pseudo-terminal with the test hook
//! `LUMEN_TEST_PANIC=after-first-frame` (`src/console.rs`; it can only panic). The raw
//! bytes it wrote must end with the restore (leave the alternate screen, show the
//! cursor, mouse reporting off) followed by the panic message and nothing else that
//! controls the terminal; the terminal is back in cooked mode (canonical input and
//! echo); the exit code is non-zero.

mod common;

use std::time::{Duration, Instant};

use common::pty::Pty;

const MESSAGE: &str = "deliberate panic after the first frame";

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn rfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).rposition(|w| w == needle)
}

#[test]
fn panic_after_the_first_frame_restores_the_terminal_then_prints_the_message() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn_env(
        &["demo"],
        100,
        30,
        home.path(),
        &[
            ("LUMEN_TEST_PANIC", "after-first-frame"),
            ("RUST_BACKTRACE", "0"),
        ],
    );
    let code = pty.wait_exit(Duration::from_secs(20));
    assert_ne!(code, 0, "a panic must not exit 0");

    // The reader thread may still be draining the last bytes: poll for the message.
    let start = Instant::now();
    let raw = loop {
        let raw = pty.raw_bytes();
        if find(&raw, MESSAGE.as_bytes()).is_some() {
            break raw;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the panic message never reached the terminal; raw tail: {:?}",
            String::from_utf8_lossy(raw.get(raw.len().saturating_sub(400)..).unwrap_or_default())
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let tail =
        String::from_utf8_lossy(raw.get(raw.len().saturating_sub(600)..).unwrap_or_default())
            .into_owned();

    let enter = rfind(&raw, b"\x1b[?1049h").unwrap_or_else(|| {
        panic!("the console never entered the alternate screen (no first frame?): {tail:?}")
    });
    let message = find(&raw, MESSAGE.as_bytes()).unwrap_or_default();
    assert!(
        message > enter,
        "the message came before the screen was taken: {tail:?}"
    );
    let between = raw.get(enter..message).unwrap_or_default();
    for (what, seq) in [
        ("leave the alternate screen", &b"\x1b[?1049l"[..]),
        ("show the cursor", b"\x1b[?25h"),
        ("mouse reporting off", b"\x1b[?1000l"),
        ("SGR mouse mode off", b"\x1b[?1006l"),
    ] {
        assert!(
            find(between, seq).is_some(),
            "no `{what}` between the last frame and the panic message: {tail:?}"
        );
    }
    // After the message: nothing that controls the terminal. A second restore would
    // leave the alternate screen again, which on xterm-like terminals restores the
    // cursor saved on entry, so the shell prompt overwrites the message (this test
    // found that; `tui::restore` now acts once). The one sequence allowed is ratatui's
    // own `Drop` showing the cursor (`ESC[?25h`), which moves nothing.
    let after: Vec<u8> = String::from_utf8_lossy(raw.get(message..).unwrap_or_default())
        .replace("\x1b[?25h", "")
        .into_bytes();
    assert!(
        !after.contains(&0x1b),
        "escape sequences after the panic message: {tail:?}"
    );
    // And the message is readable on the normal screen.
    let screen = pty.screen();
    assert!(
        screen.contains(MESSAGE),
        "panic message not on the normal screen:\n{screen}"
    );

    // Raw mode is off again: canonical input and echo are back.
    let flags = pty
        .local_flags()
        .unwrap_or_else(|| panic!("cannot read the terminal's mode"));
    let set: Vec<&str> = flags
        .trim_start_matches("LocalFlags(")
        .trim_end_matches(')')
        .split(" | ")
        .map(str::trim)
        .collect();
    for f in ["ICANON", "ECHO", "ISIG"] {
        assert!(
            set.contains(&f),
            "{f} is off after the panic: raw mode not disabled ({flags})"
        );
    }
}
