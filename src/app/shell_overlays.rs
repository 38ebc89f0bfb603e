//! The console-wide overlays added to the stack: the `:` palette (a typed line runs
//! through the same code as the key: `act`, `start_action_for`, `submit_prompt`),
//! the notification history, help scrolling, and `y` (copy).

use crossterm::event::{KeyCode, KeyEvent};

use super::help::{HELP_MAX_W, help_lines, help_sections, overlay_box};
use super::notifications::{HistoryView, history_rows};
use super::palette::{Invocation, Outcome, Palette, PaletteContext};
use super::{App, Pane, PromptKind, ToastLevel};
use crate::protocol::{Action, Command};

/// The notification history's widest.
pub const HISTORY_MAX_W: u16 = 120;

impl App {
    /// `y` may copy with OSC 52 (config `osc52`; off by default).
    pub fn set_osc52(&mut self, on: bool) {
        self.shell.osc52 = on;
    }

    pub(crate) fn open_palette(&mut self) {
        let mut deploys: Vec<String> = self.panes.ledger.latest_deploy.values().cloned().collect();
        deploys.sort();
        deploys.reverse();
        let ctx = PaletteContext {
            themes: self.shell.themes.iter().map(|t| t.name.clone()).collect(),
            branches: self.branch_order(),
            deploys,
        };
        self.shell.palette = Some(Palette::new(ctx));
        self.shell.dirty = true;
    }

    pub(crate) fn palette_key(&mut self, k: KeyEvent) {
        self.shell.dirty = true;
        let Some(mut p) = self.shell.palette.take() else {
            return;
        };
        match p.key(k, &mut self.shell.palette_history) {
            Outcome::Open => self.shell.palette = Some(p),
            Outcome::Closed => {}
            Outcome::Run(inv) => match self.check_invocation(&inv) {
                // A bad argument keeps the palette open with the reason inline.
                Err(e) => {
                    p.error = Some(e);
                    self.shell.palette = Some(p);
                }
                Ok(()) => self.run_invocation(inv),
            },
        }
    }

    /// Arguments that name something that does not exist: said in the palette.
    fn check_invocation(&self, inv: &Invocation) -> Result<(), String> {
        let clean = |s: &str| crate::domain::sanitize::sanitize(s).into_owned();
        match inv {
            Invocation::Theme(name) => {
                if self.theme_named(name).is_some() {
                    Ok(())
                } else {
                    let names: Vec<&str> =
                        self.shell.themes.iter().map(|t| t.name.as_str()).collect();
                    Err(format!(
                        "no theme `{}`; expected one of {}",
                        clean(name),
                        names.join(", ")
                    ))
                }
            }
            Invocation::Maintenance(branch, _) => {
                if self.branch_order().iter().any(|b| b == branch) {
                    Ok(())
                } else {
                    Err(format!(
                        "no branch `{}` in the registry (Tab completes branch ids)",
                        clean(branch)
                    ))
                }
            }
            Invocation::Filter(_) if matches!(self.shell.focus, Pane::Rhythm | Pane::Ceremony) => {
                Err(format!(
                    "the {} pane has no filter; focus health, ledger or cost first (:health, :ledger, :cost)",
                    self.shell.focus.short_title().to_lowercase()
                ))
            }
            _ => Ok(()),
        }
    }

    fn theme_named(&self, name: &str) -> Option<usize> {
        self.shell
            .themes
            .iter()
            .position(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Run a palette line exactly as its key would run.
    pub(crate) fn run_invocation(&mut self, inv: Invocation) {
        match inv {
            Invocation::Act(a) => self.act(a),
            Invocation::Rollback(txn) => self.start_action_for(Action::Rollback, Some(txn)),
            Invocation::KillSwitch(on) => {
                if on == self.kill_switch() {
                    self.toast(
                        ToastLevel::Info,
                        format!(
                            "the kill switch is already {}: nothing to do",
                            if on { "on" } else { "off" }
                        ),
                    );
                } else {
                    self.start_action_for(Action::KillSwitch, None);
                }
            }
            Invocation::Maintenance(branch, on) => {
                if on == Some(self.in_maintenance(&branch)) {
                    self.toast(
                        ToastLevel::Info,
                        format!(
                            "{branch} is already {} maintenance: nothing to do",
                            if on == Some(true) { "in" } else { "out of" }
                        ),
                    );
                } else {
                    self.start_action_for(Action::Maintenance, Some(branch));
                }
            }
            Invocation::Theme(name) => {
                if let Some(t) = self
                    .theme_named(&name)
                    .and_then(|i| self.shell.themes.get(i))
                {
                    self.shell.theme = t.clone();
                    self.shell.dirty = true;
                    let name = self.shell.theme.name.clone();
                    self.toast(ToastLevel::Info, format!("theme: {name}"));
                }
            }
            Invocation::Filter(text) => {
                let kind = match self.shell.focus {
                    Pane::Ledger => PromptKind::LedgerFilter,
                    Pane::Health => PromptKind::HealthFilter,
                    Pane::Cost => PromptKind::CostFilter,
                    Pane::Rhythm | Pane::Ceremony => return,
                };
                self.submit_prompt(kind, text);
            }
        }
    }

    pub(crate) fn open_history(&mut self) {
        self.shell.notices.mark_all_seen();
        self.shell.history = Some(HistoryView::default());
        self.shell.dirty = true;
    }

    /// Rows of the history at the current size, and how many show at once.
    fn history_extent(&self) -> (usize, usize) {
        let (w, h) = self.shell.size;
        let b = overlay_box(w, h, HISTORY_MAX_W);
        (
            history_rows(&self.shell.notices, b.text_width).len(),
            b.page,
        )
    }

    pub(crate) fn history_key(&mut self, k: &KeyEvent) {
        self.shell.dirty = true;
        if k.code == KeyCode::Esc {
            self.shell.history = None;
            return;
        }
        let Some(a) = self.shell.keymap.action_for(k) else {
            return;
        };
        match a {
            Action::Back | Action::OpenNotifications => self.shell.history = None,
            Action::Quit => self.shell.should_quit = true,
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                let (total, page) = self.history_extent();
                if let Some(v) = self.shell.history.as_mut() {
                    let mut h = super::help::HelpView { scroll: v.scroll };
                    h.scroll_by(a, total, page);
                    v.scroll = h.scroll;
                }
            }
            _ => {}
        }
    }

    /// Scroll the help overlay by ↑/↓/PgUp/PgDn/Home/End.
    pub(crate) fn scroll_help(&mut self, a: Action) {
        let (w, h) = self.shell.size;
        let b = overlay_box(w, h, HELP_MAX_W);
        let total = help_lines(
            &help_sections(&self.shell.keymap, self.shell.focus, self.shell.readonly),
            b.text_width,
        )
        .len();
        self.shell.help_view.scroll_by(a, total, b.page);
    }

    /// What `y` copies in the focused pane: an id (TXN, branch), never key material.
    fn copy_target(&self) -> Result<String, &'static str> {
        match self.shell.focus {
            Pane::Ledger => {
                let r = self
                    .ledger_selected_record()
                    .ok_or("select a ledger line first")?;
                Ok(match &r.parsed {
                    Ok(e) if !e.id.is_empty() => e.id.clone(),
                    _ => r.excerpt.clone(),
                })
            }
            Pane::Health => self.selected_branch().ok_or("select a branch first"),
            Pane::Cost => self.selected_cost_branch().ok_or("select a branch first"),
            Pane::Rhythm => Err("nothing to copy in the rhythm pane"),
            // The ceremony pane shows fingerprints and participants' key files.
            Pane::Ceremony => Err("nothing is copied from the ceremony pane"),
        }
    }

    pub(crate) fn copy_selected(&mut self) {
        if !self.shell.osc52 {
            self.toast(
                ToastLevel::Info,
                "copying is off: set `osc52: true` in config.yaml to let y copy with OSC 52 (docs/configuration.md)",
            );
            return;
        }
        match self.copy_target() {
            Ok(text) => {
                let shown = crate::domain::sanitize::sanitize(&text).into_owned();
                self.commands.push(Command::CopyToClipboard { text });
                self.toast(ToastLevel::Info, format!("copied {shown} (OSC 52)"));
            }
            Err(why) => self.toast(ToastLevel::Warn, format!("copy: {why}")),
        }
    }
}
