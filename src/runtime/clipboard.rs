//! `y`: the selected id or line to the terminal's clipboard as an OSC 52 escape
//! (`ESC ] 52 ; c ; base64 BEL`). Written by hand with the `base64` the crate already
//! has: crossterm's own `CopyToClipboard` sits behind a feature that would rebuild
//! the whole terminal stack for ten lines.

use base64::Engine as _;

/// Characters copied at most (terminals cap OSC 52 payloads; ids and ledger lines
/// are far shorter).
pub const MAX_CHARS: usize = 4096;

/// The escape that puts `text` on the clipboard: control characters and escape
/// sequences removed first (the text came from files), at most [`MAX_CHARS`].
pub fn osc52(text: &str) -> String {
    let clean = crate::domain::sanitize::sanitize(text);
    let kept: String = clean.chars().take(MAX_CHARS).collect();
    let b64 = base64::engine::general_purpose::STANDARD.encode(kept.as_bytes());
    format!("\u{1b}]52;c;{b64}\u{7}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_sanitised_text() {
        assert_eq!(osc52("TXN-1"), "\u{1b}]52;c;VFhOLTE=\u{7}");
        // An escape inside the text cannot end the sequence early.
        let s = osc52("a\u{7}\u{1b}]0;pwned\u{7}b");
        assert_eq!(
            s,
            format!(
                "\u{1b}]52;c;{}\u{7}",
                base64::engine::general_purpose::STANDARD.encode("ab")
            )
        );
        let long = "x".repeat(MAX_CHARS * 2);
        let s = osc52(&long);
        assert!(s.len() < MAX_CHARS * 2);
    }
}
