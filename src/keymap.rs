//! Keys → named actions. Skeleton: the default bindings; parsing "ctrl-r" strings
//! from the keymap file, scopes and duplicate detection land with the config work.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::action::Action;

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
#[derive(Debug, Clone)]
pub struct Keymap {
    pub bindings: Vec<(Key, Action)>,
}

impl Keymap {
    pub fn action_for(&self, ev: &KeyEvent) -> Option<Action> {
        let k = Key::from_event(ev);
        self.bindings.iter().find(|(b, _)| *b == k).map(|(_, a)| *a)
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
        ];
        Keymap { bindings }
    }
}
