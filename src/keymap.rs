//! Keys → named actions: the default bindings, parsing of key strings ("ctrl-r",
//! "shift-tab", "R", "pgdn", "f5", "space"…), user overrides from `config.yaml`
//! (`keymap: {rollback: ["R"], quit: ["q", "ctrl-c"]}`: the listed keys replace that
//! action's defaults), and load-time checks: one key may not name two actions, and an
//! irreversible action may not sit on a Ctrl chord (too easy to hit by accident, and
//! terminals eat several of them).

use std::collections::HashMap;
use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::domain::hq::FileError;
use crate::protocol::Action;

/// Keymap errors carry file, line and column like every other config error.
pub type KeymapError = FileError;

/// Actions that change the world and cannot be undone by another keypress.
pub const IRREVERSIBLE: [Action; 5] = [
    Action::Rollback,
    Action::RuleRollback,
    Action::KillSwitch,
    Action::Maintenance,
    Action::BranchLock,
];

/// The snake_case name of an action, as written in the keymap file.
pub fn action_name(a: Action) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The action with this snake_case name.
pub fn parse_action(name: &str) -> Option<Action> {
    Action::ALL
        .iter()
        .copied()
        .find(|a| action_name(*a) == name)
}

/// Parse a key string: optional `ctrl-` / `alt-` / `shift-` prefixes, then a single
/// character (case matters: `R` is shift-r) or a name (`enter`, `esc`, `tab`,
/// `backtab`, `space`, `up`, `down`, `left`, `right`, `pgup`, `pgdn`, `home`, `end`,
/// `insert`, `delete`, `backspace`, `f1`–`f24`). Hand-written: the grammar is tiny
/// and must match `Key::label` exactly.
pub fn parse_key(text: &str) -> Result<Key, String> {
    let expected =
        "expected e.g. \"q\", \"R\", \"ctrl-r\", \"shift-tab\", \"pgdn\", \"f5\", \"space\"";
    if text.is_empty() {
        return Err(format!("empty key; {expected}"));
    }
    let mut mods = KeyModifiers::NONE;
    let mut rest = text;
    // A lone character (even "-") is a key, never a modifier prefix.
    while rest.chars().count() > 1 {
        let lower = rest.to_ascii_lowercase();
        let (m, n) = if lower.starts_with("ctrl-") {
            (KeyModifiers::CONTROL, 5)
        } else if lower.starts_with("alt-") {
            (KeyModifiers::ALT, 4)
        } else if lower.starts_with("shift-") {
            (KeyModifiers::SHIFT, 6)
        } else {
            break;
        };
        mods |= m;
        rest = rest.get(n..).unwrap_or_default();
    }
    if rest.is_empty() {
        return Err(format!("`{text}` has modifiers but no key; {expected}"));
    }
    let mut chars = rest.chars();
    let code = match (chars.next(), chars.next()) {
        (Some(c), None) => {
            if mods.contains(KeyModifiers::SHIFT) && c.is_ascii_alphabetic() {
                // shift-r is R: the shift lives in the character.
                mods -= KeyModifiers::SHIFT;
                KeyCode::Char(c.to_ascii_uppercase())
            } else if mods.contains(KeyModifiers::SHIFT) {
                // Terminals send the shifted character itself ('!' not shift-1).
                return Err(format!(
                    "`{text}`: shift- only combines with letters and named keys; write the shifted character itself (e.g. \"!\")"
                ));
            } else if c.is_control() {
                return Err(format!("`{text}` is a control character; {expected}"));
            } else {
                KeyCode::Char(c)
            }
        }
        _ => match rest.to_ascii_lowercase().as_str() {
            "enter" | "return" => KeyCode::Enter,
            "esc" | "escape" => KeyCode::Esc,
            "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
            "tab" => KeyCode::Tab,
            "backtab" => {
                mods |= KeyModifiers::SHIFT;
                KeyCode::BackTab
            }
            "space" => KeyCode::Char(' '),
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "pgup" | "pageup" => KeyCode::PageUp,
            "pgdn" | "pagedown" => KeyCode::PageDown,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "insert" | "ins" => KeyCode::Insert,
            "delete" | "del" => KeyCode::Delete,
            "backspace" => KeyCode::Backspace,
            name => match name.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
                Some(n) if (1..=24).contains(&n) => KeyCode::F(n),
                _ => return Err(format!("unknown key `{text}`; {expected}")),
            },
        },
    };
    Ok(Key { code, mods })
}

/// One key string as written in a config file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub text: String,
    pub line: usize,
    pub column: usize,
}

/// One `action: [keys…]` entry of the config's `keymap`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeymapOverride {
    pub action: String,
    pub line: usize,
    pub column: usize,
    pub keys: Vec<KeySpec>,
}

/// One binding: a key with modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Key {
            code,
            mods: KeyModifiers::NONE,
        }
    }
    pub fn from_event(ev: &KeyEvent) -> Self {
        // Shift is part of the character for printable keys ('R' vs 'r').
        let mods = match ev.code {
            KeyCode::Char(_) => ev.modifiers - KeyModifiers::SHIFT,
            _ => ev.modifiers,
        };
        Key {
            code: ev.code,
            mods,
        }
    }
    /// "ctrl-r", "R", "tab", "shift-tab", "pgdn" …
    pub fn label(&self) -> String {
        let mut s = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            s.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            s.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            s.push_str("shift-");
        }
        if self.code == KeyCode::BackTab {
            // "shift-tab" already says shift.
            s = s.replace("shift-", "");
        }
        match self.code {
            KeyCode::Char(' ') => s.push_str("space"),
            KeyCode::Char(c) => s.push(c),
            KeyCode::Tab => s.push_str("tab"),
            KeyCode::BackTab => s.push_str("shift-tab"),
            KeyCode::Enter => s.push_str("enter"),
            KeyCode::Esc => s.push_str("esc"),
            KeyCode::Up => s.push_str("up"),
            KeyCode::Down => s.push_str("down"),
            KeyCode::Left => s.push_str("left"),
            KeyCode::Right => s.push_str("right"),
            KeyCode::PageUp => s.push_str("pgup"),
            KeyCode::PageDown => s.push_str("pgdn"),
            KeyCode::Home => s.push_str("home"),
            KeyCode::End => s.push_str("end"),
            KeyCode::F(n) => s.push_str(&format!("f{n}")),
            other => s.push_str(&format!("{other:?}").to_lowercase()),
        }
        s
    }
}

/// (key → action) in priority order.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    pub bindings: Vec<(Key, Action)>,
}

impl Keymap {
    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(ev);
        self.bindings.iter().find(|(b, _)| *b == k).map(|(_, a)| *a)
    }

    /// The default bindings with `overrides` applied, checked: a key naming two
    /// actions, an unknown action or key, or an irreversible action on a Ctrl chord is
    /// an error at the offending entry of `path`.
    pub fn with_overrides(
        path: &Path,
        overrides: &[KeymapOverride],
    ) -> Result<Keymap, KeymapError> {
        let mut map = Keymap::default();
        // Where each user key came from, for conflict messages.
        let mut origin: HashMap<Key, (usize, usize)> = HashMap::new();
        for o in overrides {
            let Some(action) = parse_action(&o.action) else {
                let names: Vec<String> = Action::ALL.iter().map(|a| action_name(*a)).collect();
                return Err(FileError::new(
                    path,
                    o.line,
                    o.column,
                    format!(
                        "unknown action `{}`; expected one of {}",
                        o.action,
                        names.join(", ")
                    ),
                ));
            };
            map.bindings.retain(|(_, a)| *a != action);
            for k in &o.keys {
                let key = parse_key(&k.text).map_err(|m| {
                    FileError::new(path, k.line, k.column, format!("keymap.{}: {m}", o.action))
                })?;
                if IRREVERSIBLE.contains(&action) && key.mods.contains(KeyModifiers::CONTROL) {
                    return Err(FileError::new(
                        path,
                        k.line,
                        k.column,
                        format!(
                            "`{}` is irreversible and may not be bound to the Ctrl chord `{}`; expected a plain key such as \"R\"",
                            o.action, k.text
                        ),
                    ));
                }
                let mut variants = vec![key];
                if key.code == KeyCode::BackTab {
                    // Terminals report shift-tab with or without the SHIFT flag.
                    variants.push(Key::plain(KeyCode::BackTab));
                }
                for v in variants {
                    origin.entry(v).or_insert((k.line, k.column));
                    map.bindings.push((v, action));
                }
            }
        }
        map.check_conflicts(path, &origin)?;
        Ok(map)
    }

    fn check_conflicts(
        &self,
        path: &Path,
        origin: &HashMap<Key, (usize, usize)>,
    ) -> Result<(), KeymapError> {
        let mut seen: HashMap<Key, Action> = HashMap::new();
        for (k, a) in &self.bindings {
            match seen.get(k) {
                Some(first) if first != a => {
                    let (line, column) = origin.get(k).copied().unwrap_or((0, 0));
                    return Err(FileError::new(
                        path,
                        line,
                        column,
                        format!(
                            "key `{}` is bound to both `{}` and `{}`; expected one action per key (rebind one of them)",
                            k.label(),
                            action_name(*first),
                            action_name(*a)
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    seen.insert(*k, *a);
                }
            }
        }
        Ok(())
    }

    /// Keys bound to `action`, for the help overlay.
    pub fn keys_for(&self, action: Action) -> Vec<Key> {
        self.bindings
            .iter()
            .filter(|(_, a)| *a == action)
            .map(|(k, _)| *k)
            .collect()
    }
}

impl Default for Keymap {
    fn default() -> Self {
        use Action as A;
        use KeyCode as K;
        let p = Key::plain;
        let bindings = vec![
            (p(K::Char('q')), A::Quit),
            (p(K::Char('?')), A::ToggleHelp),
            (p(K::Tab), A::FocusNext),
            (
                Key {
                    code: K::BackTab,
                    mods: KeyModifiers::SHIFT,
                },
                A::FocusPrev,
            ),
            (p(K::BackTab), A::FocusPrev),
            (p(K::Char('1')), A::FocusHealth),
            (p(K::Char('2')), A::FocusLedger),
            (p(K::Char('3')), A::FocusCost),
            (p(K::Char('4')), A::FocusRhythm),
            (p(K::Char('5')), A::FocusCeremony),
            (p(K::Char('z')), A::ToggleZoom),
            (p(K::Char('t')), A::CycleTheme),
            (p(K::Up), A::Up),
            (p(K::Char('k')), A::Up),
            (p(K::Down), A::Down),
            (p(K::Char('j')), A::Down),
            (p(K::PageUp), A::PageUp),
            (p(K::PageDown), A::PageDown),
            (p(K::Home), A::Top),
            (p(K::Char('g')), A::Top),
            (p(K::End), A::Bottom),
            (p(K::Char('G')), A::Bottom),
            (p(K::Left), A::Left),
            (p(K::Char('h')), A::Left),
            (p(K::Right), A::Right),
            (p(K::Char('l')), A::Right),
            (p(K::Enter), A::Select),
            (p(K::Esc), A::Back),
            (p(K::Char('F')), A::ToggleFollow),
            (p(K::Char('/')), A::OpenFilter),
            (p(K::Char(':')), A::OpenPalette),
            (p(K::Char('n')), A::NextMatch),
            (p(K::Char('N')), A::PrevMatch),
            (p(K::Char('x')), A::ShowRejects),
            (p(K::Char('R')), A::Rollback),
            (p(K::Char('U')), A::RuleRollback),
            (p(K::Char('K')), A::KillSwitch),
            (p(K::Char('M')), A::Maintenance),
            (p(K::Char('-')), A::WiderWindow),
            (p(K::Char('+')), A::NarrowerWindow),
            (p(K::Char('=')), A::NarrowerWindow),
            (p(K::Char('o')), A::ToggleSeries),
            (p(K::Char('s')), A::CycleSort),
            (p(K::Char('c')), A::CycleContext),
            (p(K::Char('a')), A::ToggleAlerts),
            (p(K::Char('S')), A::SilenceAlert),
            (p(K::Char('m')), A::OpenNotifications),
            (p(K::Char('d')), A::DismissNotices),
            (p(K::Char('y')), A::Copy),
            (p(K::Char('C')), A::CustodyView),
            (p(K::Char('v')), A::SyncView),
            (p(K::Char('P')), A::PolicyOverlay),
            (p(K::Char('B')), A::BranchLock),
        ];
        Keymap { bindings }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> Key {
        Key { code, mods }
    }

    #[test]
    fn parses_key_strings() {
        let c = KeyModifiers::CONTROL;
        let n = KeyModifiers::NONE;
        assert_eq!(parse_key("ctrl-r"), Ok(k(KeyCode::Char('r'), c)));
        assert_eq!(parse_key("R"), Ok(k(KeyCode::Char('R'), n)));
        assert_eq!(parse_key("shift-r"), Ok(k(KeyCode::Char('R'), n)));
        assert_eq!(
            parse_key("shift-tab"),
            Ok(k(KeyCode::BackTab, KeyModifiers::SHIFT))
        );
        assert_eq!(parse_key("pgdn"), Ok(k(KeyCode::PageDown, n)));
        assert_eq!(parse_key("f5"), Ok(k(KeyCode::F(5), n)));
        assert_eq!(parse_key("space"), Ok(k(KeyCode::Char(' '), n)));
        assert_eq!(parse_key("-"), Ok(k(KeyCode::Char('-'), n)));
        assert_eq!(parse_key("ctrl--"), Ok(k(KeyCode::Char('-'), c)));
        assert_eq!(
            parse_key("alt-enter"),
            Ok(k(KeyCode::Enter, KeyModifiers::ALT))
        );
        assert!(parse_key("f25").is_err());
        assert!(
            parse_key("shift-1")
                .unwrap_err()
                .contains("shifted character")
        );
        assert!(parse_key("ctrl-").is_err());
        assert!(
            parse_key("hyper-x")
                .unwrap_err()
                .contains("unknown key `hyper-x`")
        );
    }

    #[test]
    fn labels_round_trip() {
        for (key, _) in Keymap::default().bindings {
            let label = key.label();
            let back = parse_key(&label).unwrap();
            assert_eq!(back.label(), label);
        }
    }

    #[test]
    fn default_keymap_has_no_conflicts() {
        let m = Keymap::with_overrides(Path::new("c.yaml"), &[]).unwrap();
        assert_eq!(m, Keymap::default());
    }
}
