//! The help overlay's content as data, from the live keymap: the focused pane's keys
//! first, then the keys that work everywhere, the operator actions, and the other
//! panes. Only keys that do something are listed; descriptions wrap, never cut.

use super::Pane;
use super::notifications::wrap;
use crate::keymap::Keymap;
use crate::protocol::Action;

/// One entry: the keys of one or more actions, and what they do here.
#[derive(Debug, Clone, PartialEq)]
pub struct HelpEntry {
    pub keys: String,
    pub text: String,
    /// Needs an operator key and the console is read-only.
    pub unavailable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HelpSection {
    pub title: String,
    pub entries: Vec<HelpEntry>,
}

/// What the entries of a pane are: action groups and what they do in that pane.
type Rows = &'static [(&'static [Action], &'static str)];

const MOVE: &[Action] = &[
    Action::Up,
    Action::Down,
    Action::PageUp,
    Action::PageDown,
    Action::Top,
    Action::Bottom,
];

fn pane_rows(p: Pane) -> Rows {
    match p {
        Pane::Health => &[
            (MOVE, "move the selection"),
            (&[Action::Select], "detail: why this branch has its status"),
            (&[Action::OpenFilter], "filter branches"),
            (&[Action::CycleSort], "cycle the sort order"),
            (&[Action::Copy], "copy the selected branch id"),
            (
                &[Action::Rollback],
                "roll back the selected branch's latest deploy",
            ),
            (
                &[Action::Maintenance],
                "maintenance on/off for the selected branch",
            ),
            (
                &[Action::BranchLock],
                "branch lock: maintenance on, as the escalation step",
            ),
            (
                &[Action::SyncView],
                "sync detail: changes in sync order, open conflicts",
            ),
        ],
        Pane::Ledger => &[
            (MOVE, "move; the bottom resumes following the tail"),
            (
                &[Action::Select],
                "detail: every field, chain and signature",
            ),
            (
                &[Action::OpenFilter],
                "filter the whole ledger (e.g. event:deploy branch:koosy)",
            ),
            (
                &[Action::NextMatch, Action::PrevMatch],
                "next / previous match",
            ),
            (&[Action::CycleContext], "context lines around matches"),
            (&[Action::ToggleFollow], "follow / pause the tail"),
            (&[Action::ShowRejects], "show the lines that were rejected"),
            (&[Action::Copy], "copy the selected entry's id (TXN)"),
            (&[Action::Rollback], "roll back the selected deploy"),
        ],
        Pane::Cost => &[
            (MOVE, "move the selection"),
            (&[Action::OpenFilter], "filter branches"),
            (&[Action::CycleSort], "cycle the sort order"),
            (&[Action::Copy], "copy the selected branch id"),
        ],
        Pane::Rhythm => &[
            (&[Action::Left, Action::Right], "pan back / forward in time"),
            (&[Action::Up, Action::Down], "select a rule-change marker"),
            (&[Action::Bottom], "back to now"),
            (
                &[Action::WiderWindow, Action::NarrowerWindow],
                "wider / narrower time window",
            ),
            (
                &[Action::ToggleSeries],
                "browse every other exporter series",
            ),
        ],
        Pane::Ceremony => &[
            (
                &[Action::Up, Action::Down],
                "select a scenario, role or answer",
            ),
            (&[Action::Select], "open, act on the step, or answer"),
            (&[Action::Right], "reopen the last rehearsal's summary"),
            (&[Action::PageUp, Action::PageDown], "scroll the summary"),
            (
                &[Action::CustodyView],
                "custody: root, signer certificate, CRL, seal audits",
            ),
            (
                &[Action::Back],
                "back (during a rehearsal: asks before abandoning)",
            ),
        ],
    }
}

const EVERYWHERE: Rows = &[
    (&[Action::ToggleHelp], "this help (↑/↓ PgUp/PgDn scroll it)"),
    (
        &[Action::OpenPalette],
        "command palette: type to filter, Tab completes, Enter runs",
    ),
    (
        &[Action::FocusNext, Action::FocusPrev],
        "next / previous pane",
    ),
    (
        &[
            Action::FocusHealth,
            Action::FocusLedger,
            Action::FocusCost,
            Action::FocusRhythm,
            Action::FocusCeremony,
        ],
        "focus health, ledger, cost, rhythm, ceremony",
    ),
    (&[Action::ToggleZoom], "zoom the focused pane"),
    (&[Action::Back], "close a detail or overlay; leave the zoom"),
    (&[Action::CycleTheme], "next theme"),
    (
        &[Action::ToggleAlerts],
        "alerts view: what fires, critical first; enter goes to it",
    ),
    (
        &[Action::SilenceAlert],
        "silence the selected alert in Alertmanager (alerts view)",
    ),
    (
        &[Action::PolicyOverlay],
        "policy rules, decision engine modes, escalation",
    ),
    (
        &[Action::OpenNotifications],
        "notification history: every notice, full text",
    ),
    (
        &[Action::DismissNotices],
        "dismiss the errors that stay until seen",
    ),
    (&[Action::Quit], "quit (asks again while an action runs)"),
];

const ACTIONS: Rows = &[
    (
        &[Action::Rollback],
        "roll back: the selected deploy (ledger) or branch (health)",
    ),
    (
        &[Action::Maintenance],
        "maintenance on/off for the selected branch (health)",
    ),
    (
        &[Action::BranchLock],
        "branch lock the selected branch (health)",
    ),
    (&[Action::KillSwitch], "kill switch on/off (any pane)"),
    (
        &[Action::RuleRollback],
        "roll back the newest rule change (any pane)",
    ),
];

fn is_operator(a: Action) -> bool {
    crate::keymap::IRREVERSIBLE.contains(&a)
}

/// "up k / down j": each action's keys (labels once each), actions apart by " / ".
/// `None` when none of them has a key.
fn keys_text(keymap: &Keymap, actions: &[Action]) -> Option<String> {
    let mut groups: Vec<String> = Vec::new();
    for a in actions {
        let mut labels: Vec<String> = Vec::new();
        for k in keymap.keys_for(*a) {
            let l = k.label();
            if !labels.contains(&l) {
                labels.push(l);
            }
        }
        if !labels.is_empty() {
            groups.push(labels.join(" "));
        }
    }
    // "1 / 2 / 3 / 4 / 5" reads better as "1–5" when that is what it is.
    if groups.len() == 5
        && groups
            .iter()
            .map(String::as_str)
            .eq(["1", "2", "3", "4", "5"])
    {
        return Some("1–5".into());
    }
    (!groups.is_empty()).then(|| groups.join(" / "))
}

fn entries(keymap: &Keymap, rows: Rows, readonly: bool) -> Vec<HelpEntry> {
    rows.iter()
        .filter_map(|(actions, text)| {
            if readonly && actions.iter().all(|a| is_operator(*a)) && rows != ACTIONS {
                // Listed once, under the operator actions, as unavailable.
                return None;
            }
            let keys = keys_text(keymap, actions)?;
            Some(HelpEntry {
                keys,
                text: (*text).to_string(),
                unavailable: readonly && actions.iter().any(|a| is_operator(*a)),
            })
        })
        .collect()
}

/// Every section, the focused pane's first.
pub fn help_sections(keymap: &Keymap, focus: Pane, readonly: bool) -> Vec<HelpSection> {
    let mut out = vec![HelpSection {
        title: format!("{} (focused)", focus.title()),
        entries: entries(keymap, pane_rows(focus), readonly),
    }];
    if focus == Pane::Ceremony {
        out.push(HelpSection {
            title: "During a rehearsal step or anomaly".into(),
            entries: vec![HelpEntry {
                keys: "1–9 a–z".into(),
                text: "answer with that option (digits and letters go to the step; Tab or a click leaves the pane)".into(),
                unavailable: false,
            }],
        });
    }
    out.push(HelpSection {
        title: "Everywhere".into(),
        entries: entries(keymap, EVERYWHERE, readonly),
    });
    out.push(HelpSection {
        title: if readonly {
            "Operator actions (typed confirmation) — read-only now".into()
        } else {
            "Operator actions (typed confirmation)".into()
        },
        entries: entries(keymap, ACTIONS, readonly),
    });
    for p in Pane::ALL.iter().filter(|p| **p != focus) {
        let operator_keys: Vec<String> = ACTIONS
            .iter()
            .filter_map(|(a, _)| keys_text(keymap, a))
            .collect();
        let rows: Vec<HelpEntry> = entries(keymap, pane_rows(*p), readonly)
            .into_iter()
            // The operator actions have their own section.
            .filter(|e| !operator_keys.contains(&e.keys))
            .collect();
        out.push(HelpSection {
            title: p.title().to_string(),
            entries: rows,
        });
    }
    out.retain(|s| !s.entries.is_empty());
    out
}

/// How a help row is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelpLineKind {
    Title,
    /// Keys and the first line of their description.
    Entry,
    /// A description continued.
    More,
    Blank,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HelpLine {
    pub kind: HelpLineKind,
    pub keys: String,
    pub text: String,
    pub unavailable: bool,
}

/// Columns of the key column (keys longer than this get a row of their own).
pub const KEY_COL: usize = 16;

/// The sections as screen rows at `width` columns: keys left, descriptions wrapped
/// beside them; nothing is cut.
pub fn help_lines(sections: &[HelpSection], width: usize) -> Vec<HelpLine> {
    let width = width.max(KEY_COL + 10);
    let text_w = width - KEY_COL - 1;
    let mut out = Vec::new();
    let line = |kind, keys: String, text: String, unavailable| HelpLine {
        kind,
        keys,
        text,
        unavailable,
    };
    for (i, s) in sections.iter().enumerate() {
        if i > 0 {
            out.push(line(
                HelpLineKind::Blank,
                String::new(),
                String::new(),
                false,
            ));
        }
        for t in wrap(&s.title, width) {
            out.push(line(HelpLineKind::Title, String::new(), t, false));
        }
        for e in &s.entries {
            let text = if e.unavailable {
                format!("{} (read-only)", e.text)
            } else {
                e.text.clone()
            };
            let keys_w = unicode_width::UnicodeWidthStr::width(e.keys.as_str());
            let mut wrapped = wrap(&text, text_w).into_iter();
            if keys_w > KEY_COL {
                for k in wrap(&e.keys, width) {
                    out.push(line(HelpLineKind::Entry, k, String::new(), e.unavailable));
                }
            } else {
                let first = wrapped.next().unwrap_or_default();
                out.push(line(
                    HelpLineKind::Entry,
                    e.keys.clone(),
                    first,
                    e.unavailable,
                ));
            }
            for rest in wrapped {
                out.push(line(HelpLineKind::More, String::new(), rest, e.unavailable));
            }
        }
    }
    out
}

/// A scrolling overlay (help, notification history) on a terminal of a given size:
/// the popup's size, the width its text wraps at, and the rows of text it shows.
/// `App` pages with it and `ui` draws with it, so both agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverlayBox {
    pub width: u16,
    pub height: u16,
    pub text_width: usize,
    pub page: usize,
}

/// The box for a terminal of `cols`×`rows`: at most `max_w` wide, the full height
/// (borders, one row of text at least, and a footer row).
pub fn overlay_box(cols: u16, rows: u16, max_w: u16) -> OverlayBox {
    let width = cols.min(max_w);
    let height = rows;
    OverlayBox {
        width,
        height,
        // Borders and one column of padding each side.
        text_width: usize::from(width.saturating_sub(4)).max(1),
        // Borders and the footer row.
        page: usize::from(height.saturating_sub(3)).max(1),
    }
}

/// The help popup's widest.
pub const HELP_MAX_W: u16 = 96;

/// The help overlay's scroll position.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HelpView {
    pub scroll: usize,
}

impl HelpView {
    /// Move by an action (↑/↓/PgUp/PgDn/Home/End) over `total` rows, `page` visible.
    pub fn scroll_by(&mut self, a: Action, total: usize, page: usize) {
        let max = total.saturating_sub(page);
        let page = page.max(1);
        self.scroll = match a {
            Action::Up => self.scroll.saturating_sub(1),
            Action::Down => self.scroll + 1,
            Action::PageUp => self.scroll.saturating_sub(page.saturating_sub(1).max(1)),
            Action::PageDown => self.scroll + page.saturating_sub(1).max(1),
            Action::Top => 0,
            Action::Bottom => max,
            _ => self.scroll,
        }
        .min(max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn focused_pane_first_and_no_doubled_labels() {
        let km = Keymap::default();
        let s = help_sections(&km, Pane::Ledger, false);
        assert_eq!(
            s.first().map(|x| x.title.as_str()),
            Some("Ledger stream (focused)")
        );
        let all: Vec<&HelpEntry> = s.iter().flat_map(|x| x.entries.iter()).collect();
        for e in &all {
            let words: Vec<&str> = e.keys.split([' ', '/']).filter(|w| !w.is_empty()).collect();
            let mut dedup = words.clone();
            dedup.dedup();
            assert_eq!(words, dedup, "doubled label in `{}`", e.keys);
        }
        assert!(
            all.iter()
                .any(|e| e.keys == "tab / shift-tab" && e.text.contains("next / previous"))
        );
        assert!(all.iter().any(|e| e.keys == "1–5"));
        // The keys the 80×24 help used to cut off are all there.
        for k in ["R", "U", "K", "M", "/", "F", "x", "s", "n / N", "o", ":"] {
            assert!(all.iter().any(|e| e.keys == k), "no entry for `{k}`");
        }
    }

    #[test]
    fn read_only_marks_operator_actions() {
        let km = Keymap::default();
        let lines = help_lines(&help_sections(&km, Pane::Health, true), 76);
        let r = lines
            .iter()
            .find(|l| l.keys == "R")
            .cloned()
            .unwrap_or_else(|| panic!("no R"));
        assert!(r.unavailable);
        assert!(
            lines
                .iter()
                .filter(|l| l.unavailable)
                .any(|l| l.text.contains("(read-only)"))
        );
    }

    #[test]
    fn descriptions_wrap_and_are_never_cut() {
        let km = Keymap::default();
        let sections = help_sections(&km, Pane::Ceremony, false);
        for width in [30, 60, 76, 98] {
            let lines = help_lines(&sections, width);
            for l in &lines {
                let w = unicode_width::UnicodeWidthStr::width(l.text.as_str());
                let room = if l.kind == HelpLineKind::Title {
                    width
                } else {
                    width - KEY_COL - 1
                };
                assert!(w <= room, "`{}` is wider than {room}", l.text);
            }
            // Every word of every description is somewhere in the rows.
            let joined: String = lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            for s in &sections {
                for e in &s.entries {
                    for word in e.text.split(' ') {
                        assert!(joined.contains(word), "`{word}` lost at {width}");
                    }
                }
            }
        }
    }

    #[test]
    fn unbound_actions_are_not_listed() {
        let mut km = Keymap::default();
        km.bindings.retain(|(_, a)| *a != Action::CycleSort);
        let s = help_sections(&km, Pane::Health, false);
        assert!(
            !s.iter()
                .flat_map(|x| x.entries.iter())
                .any(|e| e.text.contains("sort"))
        );
    }

    #[test]
    fn scrolling_stays_in_range() {
        let mut v = HelpView::default();
        v.scroll_by(Action::Up, 50, 20);
        assert_eq!(v.scroll, 0);
        v.scroll_by(Action::PageDown, 50, 20);
        assert_eq!(v.scroll, 19);
        v.scroll_by(Action::PageDown, 50, 20);
        assert_eq!(v.scroll, 30);
        v.scroll_by(Action::Down, 50, 20);
        assert_eq!(v.scroll, 30);
        v.scroll_by(Action::Top, 50, 20);
        assert_eq!(v.scroll, 0);
        v.scroll_by(Action::Bottom, 10, 20);
        assert_eq!(v.scroll, 0);
    }
}
