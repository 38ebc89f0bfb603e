//! Strip control characters and terminal escape sequences from text that came from
//! a file, the network or the command line before it can reach a terminal: the
//! screen, stderr, and stdout in text mode. `sanitize` does one record (one row);
//! `sanitize_text` does multi-line CLI output with the same rules per line;
//! `json_for_terminal` escapes what JSON leaves raw, so `--json` stays valid JSON.
//!
//! Written by hand: the crates that strip ANSI (`strip-ansi-escapes`, `console`)
//! keep bare C0/C1 controls such as BEL, BS or CR, and some keep malformed
//! sequences; here every control character is dropped, and the body of an
//! ESC/CSI/OSC/DCS sequence is dropped with it so no fragment is printed.

use std::borrow::Cow;

/// Returns `s` without control characters or escape sequences. Tabs and newlines
/// become a single space, so one record stays on one terminal row.
pub fn sanitize(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_work) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => skip_escape(&mut chars),
            // C1 CSI / OSC / DCS / SOS / PM / APC introducers: drop their bodies too.
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' | '\n' | '\r' => out.push(' '),
            c if is_control(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_work(c: char) -> bool {
    is_control(c)
}

fn is_control(c: char) -> bool {
    // C0, DEL, C1, and the bidi overrides/isolates that can reorder a whole row.
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn skip_escape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']') | Some('P') | Some('X') | Some('^') | Some('_') => skip_string(chars),
        // Two-character sequences (ESC c, ESC 7, ESC ( B …): intermediates then a final.
        Some(c) if ('\u{20}'..='\u{2f}').contains(&c) => {
            while let Some(&n) = chars.peek() {
                chars.next();
                if !('\u{20}'..='\u{2f}').contains(&n) {
                    break;
                }
            }
        }
        _ => {}
    }
}

fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // Parameters and intermediates (0x20–0x3f), then one final byte (0x40–0x7e).
    for c in chars.by_ref() {
        if ('\u{40}'..='\u{7e}').contains(&c) || !('\u{20}'..='\u{3f}').contains(&c) {
            break;
        }
    }
}

fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    // OSC/DCS/… end at BEL, ST (ESC \) or C1 ST.
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => break,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                break;
            }
            _ => {}
        }
    }
}

/// `sanitize` for multi-line output: every line is cleaned by `sanitize`, and the
/// `\n` between lines is kept (a `\r` before it goes, like every other control).
pub fn sanitize_text(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\n' && needs_work(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&sanitize(line.strip_suffix('\r').unwrap_or(line)));
    }
    Cow::Owned(out)
}

/// Serialized JSON made safe to print: serde_json escapes only C0 controls, so DEL,
/// C1 controls and the bidi overrides/isolates inside strings are written as
/// `\uXXXX` escapes here. The value is unchanged (escaped, never stripped); such
/// characters can only occur inside strings, where the escape is valid JSON.
pub fn json_for_terminal(json: &str) -> Cow<'_, str> {
    if !json.chars().any(needs_work) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if needs_work(c) {
            // Every such character is in the BMP: one \uXXXX escape.
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Sanitize possibly-invalid UTF-8 bytes (invalid sequences become U+FFFD).
pub fn sanitize_bytes(b: &[u8]) -> String {
    sanitize(&String::from_utf8_lossy(b)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(sanitize("koosy deploy ✓ 한국"), Cow::Borrowed(_)));
    }

    #[test]
    fn strips_csi_osc_and_controls() {
        assert_eq!(sanitize("a\u{1b}[31mred\u{1b}[0m"), "ared");
        assert_eq!(sanitize("x\u{1b}]0;pwned\u{7}y"), "xy");
        assert_eq!(
            sanitize("x\u{1b}]8;;http://e\u{1b}\\link\u{1b}]8;;\u{1b}\\y"),
            "xlinky"
        );
        assert_eq!(sanitize("bell\u{7}back\u{8}"), "bellback");
        assert_eq!(sanitize("a\u{9b}2Jb"), "ab");
        assert_eq!(sanitize("l1\nl2\tx"), "l1 l2 x");
        assert_eq!(sanitize("rtl\u{202e}txt"), "rtltxt");
        assert_eq!(sanitize("\u{1b}"), "");
        assert_eq!(sanitize("\u{1b}[1;"), "");
    }

    #[test]
    fn text_keeps_newlines_and_cleans_each_line() {
        assert!(matches!(sanitize_text("a\nb ✓\n"), Cow::Borrowed(_)));
        assert_eq!(
            sanitize_text("ok\r\n\u{1b}[2Jx\u{7}\n\u{9b}1mred\u{202e}\n"),
            "ok\nx\nred\n"
        );
        assert_eq!(
            sanitize_text("\u{1b}]52;c;aGk=\u{7}tail\nnext"),
            "tail\nnext"
        );
    }

    #[test]
    fn json_escapes_what_serde_json_leaves_raw() {
        let v = serde_json::json!({"e": "a\u{1b}[2J\u{7f}\u{9b}\u{202e}b\n"});
        let raw = serde_json::to_string(&v).unwrap();
        let safe = json_for_terminal(&raw);
        assert!(
            !safe.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
        assert!(matches!(
            json_for_terminal("{\"a\":\"ok ✓\"}"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn never_leaves_escape_bytes() {
        let hostile = "\u{1b}[2J\u{1b}P1;2|x\u{1b}\\\u{1b}(B\u{1b}7\u{9d}osc\u{9c}\u{7f}";
        let out = sanitize(hostile);
        assert!(!out.chars().any(|c| c.is_control()), "{out:?}");
    }
}
