//! `App`: the console's state and `update`. Sources report facts (`Msg`), the keymap
//! turns keys into `Action`s, and `update` folds both into state. Time comes in from
//! outside (`Tick(now)` and the `at` of every message) so tests inject a clock.
//! Drawing (`crate::ui`) reads this state and never changes it.

use crate::protocol::{Command, PendingAction};
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use crate::domain::exposition::Sample;
use crate::domain::hq::{FileError, HqSnapshot};
use crate::domain::ledger::{Entry, RejectReason};
use crate::domain::rhythm::{GaugePoint, RuleChange};
use crate::keymap::Keymap;
use crate::protocol::{Action, HealthResult, LedgerRecord, Msg, SourceId};
use crate::theme::Theme;

pub mod alerts;
mod ceremony;
mod cost;
mod custody;
mod health;
pub mod help;
mod ledger;
pub mod notifications;
pub mod palette;
mod rhythm;
mod shell_overlays;
pub use shell_overlays::HISTORY_MAX_W;

pub use ceremony::*;
pub use cost::*;
pub use custody::{SYNC_CHANGES, SeedViews};
pub use health::*;
pub use ledger::*;
pub use rhythm::*;

/// The five panes, in focus order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pane {
    Health,
    Ledger,
    Cost,
    Rhythm,
    Ceremony,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Health,
        Pane::Ledger,
        Pane::Cost,
        Pane::Rhythm,
        Pane::Ceremony,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Health => "Branch health",
            Pane::Ledger => "Ledger stream",
            Pane::Cost => "Cost meter",
            Pane::Rhythm => "Rhythm map",
            Pane::Ceremony => "Ceremony simulator",
        }
    }

    /// Short name for tab bars.
    pub fn short_title(self) -> &'static str {
        match self {
            Pane::Health => "Health",
            Pane::Ledger => "Ledger",
            Pane::Cost => "Cost",
            Pane::Rhythm => "Rhythm",
            Pane::Ceremony => "Ceremony",
        }
    }

    fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    fn offset(self, by: isize) -> Pane {
        let n = Pane::ALL.len() as isize;
        let i = (self.index() as isize + by).rem_euclid(n) as usize;
        Pane::ALL.get(i).copied().unwrap_or(Pane::Health)
    }
}

/// Freshness of one data source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceStatus {
    pub last_ok: Option<DateTime<Utc>>,
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// An optional file that does not exist: "not configured", not an error.
    pub missing: bool,
    /// How often the source reports when all is well (`None`: continuously, e.g. a
    /// tail or a 1 s poller). Staleness follows it: a health check every 5 minutes is
    /// not "stale" after 30 seconds.
    pub every: Option<std::time::Duration>,
}

impl SourceStatus {
    /// Seconds without news after which the source reads "stale": 30 s, or one and a
    /// half intervals plus 5 s for a source with a longer interval.
    pub fn stale_after_secs(&self) -> i64 {
        let every = self
            .every
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        every
            .saturating_mul(3)
            .saturating_div(2)
            .saturating_add(5)
            .max(30)
    }

    /// Failing now: the newest event is an error.
    pub fn failing(&self) -> bool {
        match (&self.last_ok, &self.last_error) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(ok), Some((err, _))) => err > ok,
        }
    }
}

/// The typed-confirmation dialog: says exactly what will happen; the operator types
/// `expected` (or `alternative`) and presses Enter; Esc cancels.
#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub action: PendingAction,
    pub title: String,
    pub lines: Vec<String>,
    pub expected: String,
    pub alternative: Option<String>,
    pub typed: String,
    pub error: Option<String>,
}

/// How serious a notice is (`notifications::Notice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Warn,
    Error,
}

/// The overlays that take keys before the panes do. `STACK` is the order keys are
/// offered in, top first; `App::overlay_key` says whether each is open and gives it
/// the key. To add an overlay: its state in `Shell`, a variant here at its place in
/// `STACK`, an arm in `App::overlay_key`, its drawing in `ui/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// The typed confirmation of an operator action.
    Confirm,
    /// The footer text prompt (filters, ceremony input).
    Prompt,
    /// The `:` command palette.
    Palette,
    /// The notification history.
    History,
    /// "Abandon this rehearsal? y/n" in the ceremony pane.
    CeremonyAbandon,
    /// The help screen.
    Help,
    /// The silence form (duration, comment, typed confirmation) over the alerts view.
    SilenceForm,
    /// The alerts view (`a`).
    Alerts,
    /// A rehearsal step, anomaly or quiz in the focused ceremony pane: digits and
    /// letters answer it (they never switch panes or run other keys there).
    CeremonyAnswer,
    /// The policy overlay (`P`).
    Policy,
}

impl Overlay {
    /// Key order, top first.
    pub const STACK: [Overlay; 10] = [
        Overlay::Confirm,
        Overlay::SilenceForm,
        Overlay::Prompt,
        Overlay::Palette,
        Overlay::History,
        Overlay::CeremonyAbandon,
        Overlay::Help,
        Overlay::Policy,
        Overlay::Alerts,
        Overlay::CeremonyAnswer,
    ];
}

/// Whether an overlay consumed a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    Yes,
    No,
}

impl From<bool> for Handled {
    fn from(consumed: bool) -> Self {
        if consumed { Handled::Yes } else { Handled::No }
    }
}

/// Terminal-independent input to `update`.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// Housekeeping tick with the current time.
    Tick(DateTime<Utc>),
    Msg(Msg),
}

/// What an open text prompt is for. Each pane's module handles its own submit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/` in the ledger pane: a filter over the whole ledger.
    LedgerFilter,
    /// `/` in the health pane: filter branches.
    HealthFilter,
    /// `/` in the cost pane: filter branches.
    CostFilter,
    /// Text typed into a running ceremony rehearsal (names, fingerprints, answers).
    CeremonyInput,
}

/// A one-line text prompt shown in the footer; while it is open it takes every key.
/// Editing is `tui_input`'s (cursor movement, word deletion, Home/End), not ours.
#[derive(Debug, Clone)]
pub struct Prompt {
    pub kind: PromptKind,
    /// Shown before the text, e.g. "filter".
    pub label: String,
    pub input: tui_input::Input,
}

/// Where the last frame put the panes, as the renderer computed it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScreenMap {
    pub panes: Vec<(Pane, Rect)>,
    /// Table rows that fit in a pane whose table layout only the renderer knows.
    pub table_rows: Vec<(Pane, usize)>,
}

/// The console's frame: focus, zoom, overlays, theme, keys, who is operating, the
/// banner's notices, and the clock. Read by `ui/` through [`App::shell`].
pub struct Shell {
    pub now: DateTime<Utc>,
    pub started: DateTime<Utc>,
    pub focus: Pane,
    pub zoom: bool,
    /// The help overlay is open.
    pub help: bool,
    pub theme: Theme,
    pub themes: Vec<Theme>,
    pub keymap: Keymap,
    pub readonly: bool,
    /// Why the console is read-only (no key, --readonly, refused key).
    pub readonly_reason: Option<String>,
    /// The operator's role (from keys.json), for policy checks before a dialog opens.
    pub operator_role: Option<String>,
    /// Shown in the header: what HQ root this is.
    pub hq_label: String,
    /// Every notice of the session (bounded); the strip shows the current ones.
    pub notices: notifications::Notifications,
    /// The notice `seq`s the strip showed at the last tick (to redraw when it changes).
    strip_shown: Vec<u64>,
    /// The open `:` palette.
    pub palette: Option<palette::Palette>,
    /// Lines run from the palette this session (↑/↓ in the palette).
    pub palette_history: palette::History,
    /// The help overlay's scroll.
    pub help_view: help::HelpView,
    /// The open notification history and its scroll.
    pub history: Option<notifications::HistoryView>,
    /// `y` may copy with OSC 52 (config `osc52`).
    pub osc52: bool,
    /// Something changed since the last frame was drawn.
    pub dirty: bool,
    pub should_quit: bool,
    pub size: (u16, u16),
    pub confirm: Option<Confirm>,
    /// An open text prompt (filter, ceremony input); it takes every key while open.
    pub prompt: Option<Prompt>,
    /// An operator action is running (planning or executing).
    pub running: bool,
    /// What operator actions reported, newest last.
    pub action_log: VecDeque<String>,
    pub(crate) quit_armed: bool,
    /// Frame cap of the run loop (config `fps`).
    pub fps: u32,
}

/// Aggregates more than one pane reads: the HQ snapshot, source freshness, merged
/// branch health. Read through [`App::data`].
#[derive(Default)]
pub struct Shared {
    pub hq: Option<HqSnapshot>,
    pub registry_error: Option<FileError>,
    /// The error notice the registry error raised: settled (no longer waiting to be
    /// seen) once the registry reads fine again.
    registry_notice: Option<u64>,
    pub sources: BTreeMap<SourceId, SourceStatus>,
    /// Exporter URLs, by index, for messages.
    pub exporter_urls: Vec<String>,
    pub health: BTreeMap<String, BranchHealth>,
    /// When each branch was first seen with an outdated protocol version.
    pub first_outdated: BTreeMap<String, DateTime<Utc>>,
    /// What fires (evaluated from all of the above), the alerts view, the silence form.
    pub alerts: alerts::AlertsState,
}

/// Each pane's own state. Read through [`App::panes`].
pub struct Panes {
    /// Health pane: sort, filter, selection, visible order, detail, source.
    pub health: HealthView,
    /// The ledger read so far (counts, recent lines, integrity).
    pub ledger: LedgerState,
    /// The ledger pane's view: follow, selection, filter, pages, detail.
    pub ledger_view: LedgerView,
    /// Cost meter: the book, its rows and totals, sort, filter, selection, alerts.
    pub cost: CostView,
    /// Rhythm map: gauges, markers, window, pan.
    pub rhythm: RhythmState,
    /// Ceremony pane: scenarios, setup, a running rehearsal, the last summary.
    pub ceremony: CeremonyState,
    /// Custody view, sync detail, policy overlay (`custody.rs`).
    pub seed: SeedViews,
}

/// The console. Its state is read through [`App::shell`], [`App::data`] and
/// [`App::panes`] and changed only by [`App::update`] (plus the few start-up settings
/// below); effects leave as `Command`s.
pub struct App {
    shell: Shell,
    data: Shared,
    panes: Panes,
    /// Where the last frame put each pane (the renderer's layout, handed back by
    /// the run loop): mouse hits and page sizes use what was drawn.
    screen_map: ScreenMap,
    /// Commands queued while an event is handled; `update` returns them.
    commands: Vec<Command>,
}

impl App {
    /// Remember where the frame just drawn put everything (mouse hits and page
    /// sizes follow what is on screen; `update` never recomputes the layout).
    pub fn remember_screen(&mut self, map: ScreenMap) {
        self.screen_map = map;
    }

    pub fn new(now: DateTime<Utc>, theme: Theme, keymap: Keymap) -> Self {
        App {
            shell: Shell {
                now,
                started: now,
                focus: Pane::Health,
                zoom: false,
                help: false,
                themes: vec![theme.clone()],
                theme,
                keymap,
                readonly: true,
                readonly_reason: None,
                operator_role: None,
                hq_label: String::new(),
                notices: Default::default(),
                strip_shown: Vec::new(),
                palette: None,
                palette_history: Default::default(),
                help_view: Default::default(),
                history: None,
                osc52: false,
                dirty: true,
                should_quit: false,
                size: (0, 0),
                confirm: None,
                prompt: None,
                running: false,
                action_log: VecDeque::new(),
                quit_armed: false,
                fps: 30,
            },
            data: Shared::default(),
            panes: Panes {
                health: HealthView::default(),
                ledger: LedgerState::default(),
                ledger_view: LedgerView {
                    follow: true,
                    ..Default::default()
                },
                cost: CostView::default(),
                rhythm: RhythmState {
                    window: 1,
                    ..Default::default()
                },
                ceremony: CeremonyState::default(),
                seed: SeedViews::default(),
            },
            screen_map: ScreenMap::default(),
            commands: Vec::new(),
        }
    }

    /// The frame: focus, overlays, theme, operator, notices, clock.
    pub fn shell(&self) -> &Shell {
        &self.shell
    }

    /// Aggregates shared by the panes (HQ snapshot, sources, branch health).
    pub fn data(&self) -> &Shared {
        &self.data
    }

    /// Each pane's state.
    pub fn panes(&self) -> &Panes {
        &self.panes
    }

    // Start-up settings (what `lumen` configures before the first frame).

    /// Themes `CycleTheme` steps through (the current one first).
    pub fn set_themes(&mut self, themes: Vec<Theme>) {
        self.shell.themes = themes;
    }

    /// The run loop's frame cap.
    pub fn set_fps(&mut self, fps: u32) {
        self.shell.fps = fps;
    }

    /// What the header names (the HQ root).
    pub fn set_hq_label(&mut self, label: impl Into<String>) {
        self.shell.hq_label = label.into();
    }

    /// Who operates: `Ok(role)` for an operator with a key (actions allowed),
    /// `Err(reason)` for a read-only console and why.
    pub fn set_operator(&mut self, who: Result<Option<String>, String>) {
        match who {
            Ok(role) => {
                self.shell.readonly = false;
                self.shell.readonly_reason = None;
                self.shell.operator_role = role;
            }
            Err(reason) => {
                self.shell.readonly = true;
                self.shell.readonly_reason = Some(reason);
                self.shell.operator_role = None;
            }
        }
    }

    /// Exporter URLs, by index (messages name exporters by index).
    pub fn set_exporter_urls(&mut self, urls: Vec<String>) {
        self.data.exporter_urls = urls;
    }

    /// Health comes from this Prometheus server (credentials removed) instead of
    /// polling every endpoint from here.
    pub fn set_health_prometheus(&mut self, url: Option<String>) {
        self.panes.health.prometheus = url;
    }

    /// Prometheus is configured: the rhythm pane asks it for history
    /// (`Command::Backfill`).
    pub fn set_rhythm_backfill(&mut self, on: bool) {
        self.panes.rhythm.backfill = on;
    }

    /// Rehearsals use this seed (and keys derived from it) instead of a random one:
    /// reproducible demos, tests and screenshots.
    pub fn set_ceremony_seed(&mut self, seed: Option<u64>) {
        self.panes.ceremony.fixed_seed = seed;
    }

    /// The frame tick moves the clock before drawing (ages on screen); the
    /// housekeeping `Tick` does the rest.
    pub fn advance_clock(&mut self, now: DateTime<Utc>) {
        self.shell.now = now.max(self.shell.now);
    }

    /// The run loop drew a frame: nothing is waiting to be drawn.
    pub fn mark_drawn(&mut self) {
        self.shell.dirty = false;
    }

    /// Fold one event into the state and return the work it asks for — the only way
    /// effects leave the app. No I/O; time comes only from the event.
    pub fn update(&mut self, ev: Event) -> Vec<Command> {
        match ev {
            Event::Key(k) => self.handle_key(k),
            Event::Mouse(m) => self.handle_mouse(m),
            Event::Resize(w, h) => {
                self.shell.size = (w, h);
                self.shell.dirty = true;
            }
            Event::Tick(now) => self.tick(now),
            Event::Msg(m) => self.handle_msg(m),
        }
        std::mem::take(&mut self.commands)
    }

    fn tick(&mut self, now: DateTime<Utc>) {
        // Ages on screen are in whole seconds: redraw when the second changes.
        let new_second = now.timestamp() != self.shell.now.timestamp();
        if new_second {
            self.shell.dirty = true;
        }
        self.shell.now = now;
        if new_second || self.panes.cost.stale {
            self.refresh_cost();
        }
        self.rhythm_tick(new_second);
        self.refresh_health_order_if_dirty();
        self.alerts_tick(now);
        let shown = self
            .shell
            .notices
            .strip_key(now, notifications::strip_rows(self.shell.size.1));
        if shown != self.shell.strip_shown {
            self.shell.strip_shown = shown;
            self.shell.dirty = true;
        }
        self.ceremony_tick();
        self.seed_tick();
    }

    fn handle_key(&mut self, k: KeyEvent) {
        if k.kind == crossterm::event::KeyEventKind::Release {
            return;
        }
        // Ctrl-C always quits, whatever the keymap says.
        if k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL) {
            self.shell.should_quit = true;
            return;
        }
        // Open overlays take keys first, top of the stack first; the first one that
        // is open consumes the key.
        for overlay in Overlay::STACK {
            if self.overlay_key(overlay, &k) == Handled::Yes {
                return;
            }
        }
        if let Some(a) = self.shell.keymap.action_for(&k) {
            self.act(a);
        }
    }

    /// Offer a key to one overlay: `Handled::No` when it is not open (or lets the key
    /// through), `Handled::Yes` when it consumed it.
    fn overlay_key(&mut self, overlay: Overlay, k: &KeyEvent) -> Handled {
        let open = match overlay {
            Overlay::Confirm => self.shell.confirm.is_some(),
            Overlay::Prompt => self.shell.prompt.is_some(),
            Overlay::Palette => self.shell.palette.is_some(),
            Overlay::History => self.shell.history.is_some(),
            Overlay::CeremonyAbandon => return Handled::from(self.ceremony_key(k)),
            Overlay::Help => self.shell.help,
            Overlay::SilenceForm => self.data.alerts.form.is_some(),
            Overlay::Alerts => self.data.alerts.open,
            Overlay::CeremonyAnswer => return Handled::from(self.ceremony_answer_key(k)),
            Overlay::Policy => {
                let a = self.shell.keymap.action_for(k);
                return Handled::from(self.policy_overlay_key(a));
            }
        };
        if !open {
            return Handled::No;
        }
        match overlay {
            Overlay::Confirm => self.handle_confirm_key(*k),
            Overlay::Prompt => self.handle_prompt_key(*k),
            Overlay::SilenceForm => self.silence_form_key(k),
            Overlay::Alerts => self.alerts_view_key(k),
            Overlay::Palette => self.palette_key(*k),
            Overlay::History => self.history_key(k),
            Overlay::CeremonyAbandon | Overlay::CeremonyAnswer | Overlay::Policy => {}
            // Help takes every key: its own keys close it (`apply` knows which).
            Overlay::Help => {
                if let Some(a) = self.shell.keymap.action_for(k) {
                    self.act(a);
                }
            }
        }
        Handled::Yes
    }

    /// Open the footer prompt for `kind`, prefilled with `initial` (e.g. the last filter).
    pub fn open_prompt(&mut self, kind: PromptKind, label: impl Into<String>, initial: &str) {
        self.shell.dirty = true;
        self.shell.prompt = Some(Prompt {
            kind,
            label: label.into(),
            input: tui_input::Input::new(initial.to_string()),
        });
    }

    fn handle_prompt_key(&mut self, k: KeyEvent) {
        use tui_input::backend::crossterm::EventHandler;
        self.shell.dirty = true;
        match k.code {
            KeyCode::Esc => {
                if let Some(p) = self.shell.prompt.take() {
                    self.prompt_cancelled(p.kind);
                }
            }
            KeyCode::Enter => {
                if let Some(p) = self.shell.prompt.take() {
                    let text = p.input.value().to_string();
                    self.submit_prompt(p.kind, text);
                }
            }
            _ => {
                if let Some(p) = self.shell.prompt.as_mut() {
                    p.input.handle_event(&crossterm::event::Event::Key(k));
                }
            }
        }
    }

    fn submit_prompt(&mut self, kind: PromptKind, text: String) {
        match kind {
            PromptKind::LedgerFilter => self.ledger_filter_submitted(text),
            PromptKind::HealthFilter => self.submit_health_filter(text),
            PromptKind::CostFilter => self.submit_cost_filter(text),
            PromptKind::CeremonyInput => self.submit_ceremony_input(text),
        }
    }

    fn prompt_cancelled(&mut self, kind: PromptKind) {
        if kind == PromptKind::CeremonyInput {
            self.ceremony_input_cancelled();
        }
    }

    fn handle_confirm_key(&mut self, k: KeyEvent) {
        self.shell.dirty = true;
        let Some(c) = self.shell.confirm.as_mut() else {
            return;
        };
        match k.code {
            KeyCode::Esc => {
                self.shell.confirm = None;
                self.toast(ToastLevel::Info, "cancelled: nothing was done");
            }
            KeyCode::Backspace => {
                c.typed.pop();
                c.error = None;
            }
            KeyCode::Enter => {
                let typed = c.typed.trim();
                if typed == c.expected || c.alternative.as_deref() == Some(typed) {
                    let action = c.action.clone();
                    self.shell.confirm = None;
                    self.shell.running = true;
                    self.commands.push(Command::Execute(action));
                    self.toast(
                        ToastLevel::Info,
                        "confirmed: recording on the ledger first…",
                    );
                } else {
                    c.error = Some(format!(
                        "type `{}` exactly to confirm, or Esc to cancel",
                        c.expected
                    ));
                }
            }
            KeyCode::Char(ch) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
                if c.typed.chars().count() < 80 {
                    c.typed.push(ch);
                }
                c.error = None;
            }
            _ => {}
        }
    }

    /// Apply a named action (what a key bound to it does, after the overlays) and
    /// return the work it asks for, as `update` does.
    pub fn apply(&mut self, a: Action) -> Vec<Command> {
        self.act(a);
        std::mem::take(&mut self.commands)
    }

    /// A named action. The help overlay sees it first.
    fn act(&mut self, a: Action) {
        self.shell.dirty = true;
        if self.shell.help {
            match a {
                Action::ToggleHelp | Action::Back => self.shell.help = false,
                Action::Quit => self.shell.should_quit = true,
                Action::Up
                | Action::Down
                | Action::PageUp
                | Action::PageDown
                | Action::Top
                | Action::Bottom => self.scroll_help(a),
                _ => {}
            }
            return;
        }
        match a {
            Action::Quit if self.shell.running && !self.shell.quit_armed => {
                self.shell.quit_armed = true;
                self.toast(
                    ToastLevel::Warn,
                    "an action is running — press q again to quit anyway",
                );
            }
            Action::Quit => self.shell.should_quit = true,
            Action::ToggleHelp => {
                self.shell.help = true;
                self.shell.help_view = help::HelpView::default();
            }
            Action::OpenPalette => self.open_palette(),
            Action::OpenNotifications => self.open_history(),
            Action::DismissNotices => {
                self.shell.notices.mark_all_seen();
            }
            Action::Copy => self.copy_selected(),
            Action::FocusNext => self.shell.focus = self.shell.focus.offset(1),
            Action::FocusPrev => self.shell.focus = self.shell.focus.offset(-1),
            Action::FocusHealth => self.shell.focus = Pane::Health,
            Action::FocusLedger => self.shell.focus = Pane::Ledger,
            Action::FocusCost => self.shell.focus = Pane::Cost,
            Action::FocusRhythm => self.shell.focus = Pane::Rhythm,
            Action::FocusCeremony => self.shell.focus = Pane::Ceremony,
            Action::ToggleZoom => self.shell.zoom = !self.shell.zoom,
            Action::CycleTheme => self.cycle_theme(),
            Action::ToggleAlerts => self.toggle_alerts(),
            Action::SilenceAlert => {
                let key = self.shell.keymap.keys_for(Action::ToggleAlerts);
                let key = key.first().map_or("the alerts key".into(), |k| k.label());
                self.toast(
                    ToastLevel::Info,
                    format!("silence: open the alerts view ({key}) and select the alert first"),
                );
            }
            Action::Back => self.back(),
            _ => self.pane_action(a),
        }
    }

    /// Esc: the focused pane closes its own overlay (detail, rejects, series browser,
    /// rehearsal step) first; otherwise it leaves the zoom.
    fn back(&mut self) {
        if self.seed_back() {
            return;
        }
        let closed = match self.shell.focus {
            Pane::Ceremony => self.ceremony_back(),
            Pane::Health => self.close_health_detail(),
            Pane::Ledger => self.ledger_back(),
            Pane::Rhythm => std::mem::take(&mut self.panes.rhythm.series_view),
            Pane::Cost => false,
        };
        if !closed {
            self.shell.zoom = false;
        }
    }

    fn cycle_theme(&mut self) {
        if self.shell.themes.is_empty() {
            return;
        }
        let i = self
            .shell
            .themes
            .iter()
            .position(|t| t.name == self.shell.theme.name)
            .unwrap_or(0);
        let next = (i + 1) % self.shell.themes.len();
        if let Some(t) = self.shell.themes.get(next) {
            self.shell.theme = t.clone();
            self.toast(
                ToastLevel::Info,
                format!("theme: {}", self.shell.theme.name),
            );
        }
    }

    fn pane_action(&mut self, a: Action) {
        if self.seed_covers(a) {
            return;
        }
        match self.shell.focus {
            Pane::Health => self.health_action(a),
            Pane::Ledger => self.ledger_action(a),
            Pane::Rhythm => self.rhythm_action(a),
            Pane::Ceremony => self.ceremony_action(a),
            Pane::Cost => self.cost_action(a),
        }
        match a {
            Action::Rollback
            | Action::RuleRollback
            | Action::KillSwitch
            | Action::Maintenance
            | Action::BranchLock => self.start_action(a),
            Action::CustodyView | Action::SyncView | Action::PolicyOverlay => self.seed_action(a),
            Action::OpenFilter => match self.shell.focus {
                Pane::Ledger => {
                    let last = self.panes.ledger_view.filter.clone();
                    self.open_prompt(PromptKind::LedgerFilter, "filter", &last);
                }
                Pane::Health => {
                    let last = self.panes.health.filter.text.clone();
                    self.open_prompt(PromptKind::HealthFilter, "filter", &last);
                }
                Pane::Cost => {
                    let last = self.panes.cost.filter.text.clone();
                    self.open_prompt(PromptKind::CostFilter, "filter", &last);
                }
                // Said, not ignored: otherwise the words typed next run as keys.
                Pane::Rhythm | Pane::Ceremony => self.toast(
                    ToastLevel::Warn,
                    format!(
                        "the {} pane has no filter (health, ledger and cost do); `:` opens the command palette",
                        self.shell.focus.short_title().to_lowercase()
                    ),
                ),
            },
            Action::ShowRejects => {
                self.shell.focus = Pane::Ledger;
                self.panes.ledger_view.rejects = !self.panes.ledger_view.rejects;
                self.panes.ledger_view.detail = false;
            }
            _ => {}
        }
    }

    /// An action key: refuse with the reason, or open its confirmation (a rollback is
    /// planned in the background first, over the whole ledger).
    fn start_action(&mut self, a: Action) {
        self.start_action_for(a, None)
    }

    /// `start_action` on a named target instead of the selection (a palette line:
    /// `:rollback TXN`, `:maintenance BRANCH`): the same checks and the same dialog.
    pub(crate) fn start_action_for(&mut self, a: Action, named: Option<String>) {
        if self.shell.readonly {
            let why = self
                .shell
                .readonly_reason
                .clone()
                .unwrap_or_else(|| "read-only console".into());
            self.toast(
                ToastLevel::Warn,
                format!("{}: unavailable — {why}", a.describe()),
            );
            return;
        }
        if self.shell.running {
            self.toast(ToastLevel::Warn, "another action is still running");
            return;
        }
        // A file the action depends on failed to load: refuse now, not after the
        // operator typed the confirmation (the executor checks the files again).
        if let Some(op) = a.operation()
            && let Some(why) = self.broken_dependency(op)
        {
            self.toast(
                ToastLevel::Error,
                format!("{}: refused — {why} (fix it first)", a.describe()),
            );
            return;
        }
        if let (Some(role), Some(op)) = (&self.shell.operator_role, a.operation()) {
            let policy = self.data.hq.as_ref().and_then(|h| h.rbac.as_ref());
            if let Err(r) = crate::domain::policy::allowed(policy, role, op) {
                self.toast(ToastLevel::Error, format!("refused: {}", r.reason));
                return;
            }
        }
        match a {
            Action::Rollback => match named.clone().or_else(|| self.rollback_target()) {
                Some(target) => {
                    self.shell.running = true;
                    self.toast(ToastLevel::Info, format!("planning the rollback of {target}…"));
                    self.commands.push(Command::PlanRollback { target });
                }
                None => self.toast(
                    ToastLevel::Warn,
                    "rollback: select a deploy in the ledger, or a branch with a deploy in the health pane",
                ),
            },
            Action::KillSwitch => {
                let on = !self.kill_switch();
                let what = if on { "ON: automated deploys halt" } else { "OFF: automated deploys resume" };
                self.shell.confirm = Some(Confirm {
                    action: PendingAction::KillSwitch { on },
                    title: format!("Kill switch {}", if on { "on" } else { "off" }),
                    lines: vec![
                        format!("Turns the kill switch {what}."),
                        format!(
                            "Appends a signed `{}` entry to the ledger, then rewrites decision-engine.json.",
                            if on { "kill_switch_activated" } else { "kill_switch_released" }
                        ),
                        "Rollbacks and maintenance stay allowed while it is on.".into(),
                    ],
                    expected: "hq".into(),
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            // Branch Lock is the decision engine's escalation step that puts a branch in
            // maintenance: the same signed action and typed confirmation as `M`.
            Action::Maintenance | Action::BranchLock => {
                let lock = a == Action::BranchLock;
                let what = if lock { "branch lock" } else { "maintenance" };
                let Some(branch) = named.clone().or_else(|| (self.shell.focus == Pane::Health).then(|| self.selected_branch()).flatten())
                else {
                    self.toast(ToastLevel::Warn, format!("{what}: select a branch in the health pane"));
                    return;
                };
                let on = !self.in_maintenance(&branch);
                if lock && !on {
                    self.toast(
                        ToastLevel::Info,
                        format!("branch lock: {branch} is already in maintenance (M lifts it)"),
                    );
                    return;
                }
                let mut lines = vec![
                    format!(
                        "Appends a signed `{}` entry for {branch}, then sets maintenanceMode.{branch} = {on} in decision-engine.json.",
                        if on { "maintenance_on" } else { "maintenance_off" }
                    ),
                    if on {
                        "The branch shows as maintenance; health failures stop escalating.".into()
                    } else {
                        "The branch returns to normal health checks.".into()
                    },
                ];
                if lock {
                    lines.insert(
                        0,
                        "Branch Lock: the escalation step that stops a failing branch taking changes.".into(),
                    );
                }
                self.shell.confirm = Some(Confirm {
                    action: PendingAction::Maintenance { branch: branch.clone(), on },
                    title: if lock {
                        format!("Branch Lock {branch} (maintenance on)")
                    } else {
                        format!("Maintenance {} for {branch}", if on { "on" } else { "off" })
                    },
                    lines,
                    expected: branch,
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            Action::RuleRollback => {
                let Some(rule) = self.panes.rhythm.rules.last().cloned() else {
                    self.toast(ToastLevel::Warn, "rule rollback: no rule change in controls/rules_history.jsonl");
                    return;
                };
                self.shell.confirm = Some(Confirm {
                    action: PendingAction::RuleRollback,
                    title: format!("Roll back rule {}", crate::domain::sanitize::sanitize(&rule.rule)),
                    lines: vec![
                        format!(
                            "Newest change: {} {} → {} by {} at {}.",
                            rule.rule,
                            rule.old,
                            rule.new,
                            rule.actor,
                            rule.ts.to_rfc3339()
                        ),
                        format!("Appends the compensating change {} → {} to rules_history.jsonl", rule.new, rule.old),
                        "and a signed `rule_rollback` entry to the ledger (ledger first).".into(),
                    ],
                    expected: rule.rule.clone(),
                    alternative: None,
                    typed: String::new(),
                    error: None,
                });
            }
            _ => {}
        }
    }

    /// The deploy a rollback would target: the selected ledger line when it is a
    /// deploy, or the selected branch's latest deploy.
    fn rollback_target(&self) -> Option<String> {
        match self.shell.focus {
            Pane::Ledger => {
                let e = self.ledger_selected_record()?.parsed.as_ref().ok()?;
                (e.event == "deploy").then(|| e.id.clone())
            }
            Pane::Health => {
                let b = self.selected_branch()?;
                self.panes.ledger.latest_deploy.get(&b).cloned()
            }
            _ => None,
        }
    }

    fn handle_mouse(&mut self, m: MouseEvent) {
        // The alerts view covers the panes: the wheel moves its selection.
        if self.data.alerts.open || self.data.alerts.form.is_some() {
            self.alerts_mouse(m.kind);
            return;
        }
        let pos = Position {
            x: m.column,
            y: m.row,
        };
        let hit = self
            .screen_map
            .panes
            .iter()
            .find(|(_, r)| r.contains(pos))
            .map(|(p, _)| *p);
        match m.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                if let Some(p) = hit {
                    self.shell.focus = p;
                    self.shell.dirty = true;
                }
            }
            MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                if let Some(p) = hit {
                    self.shell.focus = p;
                }
                let a = if m.kind == MouseEventKind::ScrollUp {
                    Action::Up
                } else {
                    Action::Down
                };
                self.act(a);
            }
            _ => {}
        }
    }

    fn log_action(&mut self, line: String) {
        tracing::info!(target: "lumen::operator", "{line}");
        self.shell.action_log.push_back(line);
        while self.shell.action_log.len() > 50 {
            self.shell.action_log.pop_front();
        }
    }

    /// A notice: shown in the strip (errors until seen) and kept in the history.
    pub fn toast(&mut self, level: ToastLevel, text: impl Into<String>) {
        self.notice(level, &text.into());
    }

    /// `toast`, returning the notice's `seq` (to attach output to it).
    fn notice(&mut self, level: ToastLevel, text: &str) -> u64 {
        self.shell.dirty = true;
        self.shell.notices.push(self.shell.now, level, text)
    }

    fn source_ok(&mut self, s: SourceId, at: DateTime<Utc>) {
        self.data.sources.entry(s).or_default().last_ok = Some(at);
    }

    fn handle_msg(&mut self, m: Msg) {
        self.shell.dirty = true;
        if alerts::changes_facts(&m) {
            self.data.alerts.touch();
        }
        match m {
            Msg::MetricsScraped {
                source,
                at,
                samples,
                unreadable,
            } => {
                if unreadable > 0 {
                    self.data
                        .sources
                        .entry(source.clone())
                        .or_default()
                        .last_error = Some((
                        at,
                        format!("{unreadable} unreadable line(s) in the last scrape"),
                    ));
                }
                self.source_ok(source, at);
                self.ingest_samples(&samples, at);
            }
            Msg::SourceFailed { source, at, error } => {
                self.data.sources.entry(source).or_default().last_error = Some((at, error));
            }
            Msg::LedgerAppended { records, at } => {
                let n = records.len() as u64;
                self.ledger_on_appended(n);
                for r in &records {
                    if let Ok(e) = &r.parsed {
                        self.panes.cost.book.ingest(e);
                    }
                }
                self.panes.cost.stale = true;
                self.rhythm_note_ledger(&records);
                self.note_health_ledger(&records);
                self.seed_note_ledger(&records);
                self.alerts_note_ledger(&records);
                self.panes.ledger.ingest(records, self.shell.now.max(at));
                self.source_ok(SourceId::Ledger, at);
            }
            Msg::LedgerPending { bytes } => self.panes.ledger.pending_bytes = bytes,
            Msg::LedgerReset { reason } => {
                self.data.alerts.reset_ledger();
                self.panes.ledger = LedgerState {
                    resets: self.panes.ledger.resets + 1,
                    ..Default::default()
                };
                self.ledger_view_reset();
                self.seed_ledger_reset();
                self.toast(
                    ToastLevel::Warn,
                    format!("ledger: {reason}; reading it again"),
                );
            }
            Msg::RulesAppended { rules, bad, at } => {
                self.panes.rhythm.rules.extend(rules);
                self.panes.rhythm.rules.sort_by_key(|r| r.ts);
                self.panes.rhythm.bad_rules += bad;
                self.source_ok(SourceId::Rules, at);
            }
            Msg::GaugeRows { points, bad, at } => {
                self.panes.rhythm.bad_rows += bad;
                self.panes
                    .rhythm
                    .push_history(points, at.timestamp_millis() as f64 / 1000.0);
                self.source_ok(SourceId::Metrics, at);
            }
            Msg::HealthChecked { results, at } => self.on_health_checked(results, at),
            Msg::RegistryReloaded { hq, at } => {
                // The health checker's interval, resolved as the console starts it:
                // health-check.json's `interval`, else 5 minutes (at least 200 ms).
                let every = hq
                    .health_check
                    .as_ref()
                    .map_or(std::time::Duration::from_secs(300), |h| {
                        h.interval_duration()
                    })
                    .max(std::time::Duration::from_millis(200));
                self.data.sources.entry(SourceId::Health).or_default().every = Some(every);
                let branches = hq
                    .registry
                    .as_ref()
                    .map(|r| r.branches.clone())
                    .unwrap_or_default();
                self.panes
                    .cost
                    .book
                    .set_context(hq.cost_policy.clone(), &branches);
                self.panes.cost.stale = true;
                self.data.hq = Some(*hq);
                self.seed_on_registry();
                self.note_outdated(at);
                self.on_registry_for_health();
                if let Some(seq) = self.data.registry_notice.take() {
                    // The condition cleared: its error no longer waits in the strip
                    // (the history keeps it), and the strip says so.
                    self.shell.notices.settle(seq);
                    self.toast(ToastLevel::Info, "registry: reads fine again");
                }
                self.data.registry_error = None;
                self.source_ok(SourceId::Registry, at);
            }
            Msg::OperatorPlanned {
                action,
                title,
                lines,
                expected,
                alternative,
            } => {
                self.shell.running = false;
                self.shell.confirm = Some(Confirm {
                    action,
                    title,
                    lines,
                    expected,
                    alternative,
                    typed: String::new(),
                    error: None,
                });
            }
            Msg::OperatorProgress { line, at, output } => {
                let _ = at;
                self.log_action(line.clone());
                // A hook that failed: an error that stays, with its output in the
                // history.
                let level = if output.is_some() {
                    ToastLevel::Error
                } else {
                    ToastLevel::Info
                };
                let seq = self.notice(level, &line);
                if let Some(out) = output {
                    self.shell.notices.attach_detail(seq, &out);
                }
            }
            Msg::OperatorDone { ok, summary, at } => {
                let _ = at;
                self.shell.running = false;
                self.shell.quit_armed = false;
                self.log_action(summary.clone());
                self.toast(
                    if ok {
                        ToastLevel::Info
                    } else {
                        ToastLevel::Error
                    },
                    summary,
                );
            }
            Msg::IntegrityChecked { integrity, at } => {
                self.panes.ledger.integrity = Some((at, integrity))
            }
            Msg::SourceMissing { source, at } => {
                let st = self.data.sources.entry(source).or_default();
                st.missing = true;
                st.last_error = None;
                let _ = at;
            }
            Msg::SourceRecovered { source, at } => {
                let st = self.data.sources.entry(source).or_default();
                st.missing = false;
                st.last_error = None;
                st.last_ok = Some(at);
            }
            Msg::SourceReset { source, reason } => {
                if source == SourceId::Rules {
                    self.panes.rhythm.rules.clear();
                    self.panes.rhythm.bad_rules = 0;
                    self.panes.rhythm.marker_sel = None;
                }
                self.toast(
                    ToastLevel::Warn,
                    format!("{}: {reason}; reading it again", source.label()),
                );
            }
            Msg::RegistryInvalid { error, at } => {
                let seq = self.notice(
                    ToastLevel::Error,
                    &format!("registry: {error} (keeping the last good one)"),
                );
                if let Some(old) = self.data.registry_notice.replace(seq) {
                    self.shell.notices.settle(old);
                }
                self.data
                    .sources
                    .entry(SourceId::Registry)
                    .or_default()
                    .last_error = Some((at, error.to_string()));
                self.data.registry_error = Some(error);
            }
            Msg::PromBackfilled {
                points,
                bad,
                at,
                window,
                step,
            } => self.on_prom_backfill(points, bad, at, window, step),
            Msg::RehearsalSaved { result, at: _ } => self.on_rehearsal_saved(result),
            Msg::ParticipantKey { role, path, result } => {
                self.on_participant_key(role, path, result)
            }
            Msg::LedgerView(m) => self.on_ledger_view(m),
            Msg::Alertmanager(r) => self.data.alerts.on_report(r),
        }
    }

    fn ingest_samples(&mut self, samples: &[Sample], at: DateTime<Utc>) {
        let mut gauges = [f64::NAN; 4];
        let mut any_gauge = false;
        for s in samples {
            let gauge = match s.name.as_str() {
                "lumen_phase_diff" => Some(0),
                "lumen_entropy_rate" => Some(1),
                "lumen_creative_band" => Some(2),
                "lumen_risk_band" => Some(3),
                _ => None,
            };
            if let Some(i) = gauge {
                if let Some(g) = gauges.get_mut(i) {
                    *g = s.value;
                    any_gauge = true;
                }
                continue;
            }
            match s.name.as_str() {
                "lumen_gateway_status" => self.panes.rhythm.gateway_status = Some(s.value),
                "hq_branch_up" | "hq_branch_latency_seconds" | "hq_branch_error_ratio" => {
                    if let Some(b) = s.labels.get("branch") {
                        let h = self.data.health.entry(b.clone()).or_default();
                        h.exporter_at = Some(at);
                        self.panes.health.order_dirty = true;
                        match s.name.as_str() {
                            "hq_branch_up" => h.exporter_up = Some(s.value >= 0.5),
                            "hq_branch_latency_seconds" => h.exporter_latency = Some(s.value),
                            _ => h.error_ratio = Some(s.value),
                        }
                    }
                }
                _ => {}
            }
            if !s.name.starts_with("lumen_phase") {
                self.panes.rhythm.note_other(series_key(s), s.value);
            }
        }
        if any_gauge {
            let t = at.timestamp_millis() as f64 / 1000.0;
            self.panes
                .rhythm
                .push_live(GaugePoint { t, values: gauges });
        }
    }

    /// Branch ids in sync-plan order: explicit `order` entries first, then by tier in
    /// the plan's `tiers` order (canary, standard, incubation by default), then by id.
    pub fn branch_order(&self) -> Vec<String> {
        let Some(hq) = &self.data.hq else {
            return self.data.health.keys().cloned().collect();
        };
        let Some(reg) = &hq.registry else {
            return self.data.health.keys().cloned().collect();
        };
        crate::domain::plan::sync_order(&reg.branches, hq.sync_plan.as_ref())
    }

    /// Whether `branch` is in maintenance (decision engine or registry flag).
    pub fn in_maintenance(&self, branch: &str) -> bool {
        let Some(hq) = &self.data.hq else {
            return false;
        };
        if let Some(d) = &hq.decision
            && let Some(m) = d.maintenance.get(branch)
        {
            return *m;
        }
        hq.registry
            .as_ref()
            .and_then(|r| r.branches.iter().find(|b| b.id == branch))
            .is_some_and(|b| b.maintenance_mode)
    }

    /// The local witness's alarm (history cut or rewritten), from the last
    /// integrity check: shown as a red banner, never only as a badge.
    pub fn witness_alarm(&self) -> Option<&str> {
        self.panes
            .ledger
            .integrity
            .as_ref()
            .and_then(|(_, i)| i.witness_alarm.as_deref())
    }

    pub fn kill_switch(&self) -> bool {
        self.data
            .hq
            .as_ref()
            .and_then(|h| h.decision.as_ref())
            .is_some_and(|d| d.kill_switch)
    }

    /// `file:line:col: reason` of the first file `op` depends on that failed to load
    /// (the HQ-relative path; no position when none is known).
    pub fn broken_dependency(&self, op: crate::domain::policy::Operation) -> Option<String> {
        let files = op.files();
        self.file_errors().into_iter().find_map(|e| {
            let (rel, _) = files.iter().find(|(rel, _)| e.path.ends_with(rel))?;
            let relative = FileError {
                path: std::path::PathBuf::from(rel),
                ..e.clone()
            };
            Some(relative.to_string())
        })
    }

    /// Every HQ file that failed to load, for the standing notice: `branches.json`
    /// first (while it is broken the whole last snapshot stays in use), then the
    /// optional files of the last snapshot (each keeps its last good version). A file
    /// leaves the list when a reload finds it valid (or absent).
    pub fn file_errors(&self) -> Vec<&FileError> {
        self.data
            .registry_error
            .iter()
            .chain(self.data.hq.iter().flat_map(|h| h.errors.iter()))
            .collect()
    }

    /// Seconds since `t`, for staleness labels.
    pub fn age(&self, t: DateTime<Utc>) -> i64 {
        (self.shell.now - t).num_seconds().max(0)
    }
}

pub(crate) fn series_key(s: &Sample) -> String {
    if s.labels.is_empty() {
        return s.name.clone();
    }
    let labels: Vec<String> = s.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{}{{{}}}", s.name, labels.join(","))
}

/// Move a list selection for an action; other actions leave it.
pub(crate) fn move_sel(cur: usize, n: usize, a: Action, page: usize) -> usize {
    let Some(last) = n.checked_sub(1) else {
        return 0;
    };
    match a {
        Action::Up => cur.saturating_sub(1),
        Action::Down => cur.saturating_add(1).min(last),
        Action::PageUp => cur.saturating_sub(page),
        Action::PageDown => cur.saturating_add(page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => cur.min(last),
    }
}

/// Move a table's selection for a navigation action and keep it in view; returns
/// whether the action was a move (the user touched the selection). Shared by the
/// health and cost tables.
pub(crate) fn step_table(
    sel: &mut usize,
    offset: &mut usize,
    n: usize,
    a: Action,
    page: usize,
) -> bool {
    let moved = matches!(
        a,
        Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
    );
    *sel = move_sel(*sel, n, a, page.saturating_sub(1).max(1));
    *offset = health::scroll_into_view(*offset, *sel, page, n);
    moved
}

/// Human age: "4s", "3m", "2h", "5d".
pub fn fmt_age(secs: i64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s if s < 86_400 => format!("{}h", s / 3_600),
        s => format!("{}d", s / 86_400),
    }
}
