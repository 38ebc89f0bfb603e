//! Ceremony pane state: the scenario list, the setup screen (participants, keys,
//! seed) and a running rehearsal driven by keys. The rehearsal itself is
//! `crate::domain::ceremony::Machine` — the same state machine `lumen ceremony run`
//! drives from an answer script; this module only turns keys into its `Input`s and
//! keeps the view it returns. Saving (transcript + ledger entry) is a `Command` the
//! run loop executes in the background.

use crate::protocol::Command;
use std::path::PathBuf;

use ed25519_dalek::SigningKey;

use super::*;
use crate::domain::ceremony::crypto::KeySource;
use crate::domain::ceremony::machine::{Phase, View};
use crate::domain::ceremony::scenario::StepKind;
use crate::domain::ceremony::score::StepStatus;
use crate::domain::ceremony::transcript::RehearsalRecord;
use crate::domain::ceremony::transcript::SavedRehearsal;
use crate::domain::ceremony::{Input, Machine, Participant, Scenario};

/// A ceremony scenario as listed in the pane.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioSummary {
    pub id: String,
    pub title: String,
    pub steps: usize,
    pub anomalies: usize,
    pub roles: Vec<String>,
    pub summary: String,
    pub pass_mark: u32,
}

/// Default participant names, in role order (the shipped answer scripts use them too).
const DEFAULT_NAMES: [&str; 10] = [
    "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
];

/// Everything the ceremony pane holds beyond the scenario list.
#[derive(Default)]
pub struct CeremonyState {
    /// The scenarios the list shows.
    pub scenarios: Vec<ScenarioSummary>,
    /// The selected row of the list.
    pub scenario_sel: usize,
    /// The full scenarios (the list shows `scenarios`; a scenario missing here is
    /// looked up among the shipped ones by id).
    pub full: Vec<Scenario>,
    pub screen: CeremonyScreen,
    /// Fixed seed for reproducible tests and screenshots: used instead of a random
    /// seed, and rehearsal keys are derived from it instead of the OS RNG.
    pub fixed_seed: Option<u64>,
    /// The last finished rehearsal, kept when the pane goes back to the list.
    pub last: Option<Box<Rehearsal>>,
    /// A setup left with Esc: its names, key files and seed come back if the next
    /// setup opened is for the same, unchanged scenario.
    pub draft: Option<Box<Setup>>,
}

#[derive(Default)]
pub enum CeremonyScreen {
    #[default]
    List,
    Setup(Box<Setup>),
    Rehearsal(Box<Rehearsal>),
}

/// The setup screen: one row per role, then the seed, then "start".
pub struct Setup {
    pub scenario: Scenario,
    pub roles: Vec<SetupRole>,
    pub sel: usize,
    pub seed: u64,
    pub error: Option<String>,
    editing: Option<SetupEdit>,
}

pub struct SetupRole {
    pub role: String,
    pub title: String,
    /// Empty: nobody (allowed only for a role no step needs).
    pub name: String,
    /// A key file the participant brought; `None`: an ephemeral rehearsal key.
    pub key_file: Option<PathBuf>,
    /// The loaded key (zeroized on drop by ed25519-dalek).
    key: Option<SigningKey>,
    /// Some step needs this role as actor or witness.
    pub needed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetupEdit {
    Name(usize),
    KeyFile(usize),
    Seed,
}

impl Setup {
    /// Rows: roles, then the seed, then "start".
    pub fn seed_row(&self) -> usize {
        self.roles.len()
    }
    pub fn start_row(&self) -> usize {
        self.roles.len() + 1
    }
}

/// A rehearsal in progress (or finished: `view.phase == Done`).
pub struct Rehearsal {
    /// Dropped (so every participant key is zeroized) once the rehearsal is done.
    machine: Option<Machine>,
    /// The machine's view after the last input.
    pub view: View,
    pub seed: u64,
    /// `App::now` when the rehearsal started; `now_ms` is measured from it.
    pub started: DateTime<Utc>,
    /// (name, role, role title)
    pub participants: Vec<(String, String, String)>,
    /// An open in-pane list: who acts, or a `choose` step's options.
    pub chooser: Option<Chooser>,
    /// Selection in the anomaly responses or a multiple-choice question.
    pub sel: usize,
    /// Why the last input was refused.
    pub error: Option<String>,
    /// Esc pressed: "abandon this rehearsal? y/n" is showing.
    pub abandon: bool,
    awaiting: Option<Awaiting>,
    /// Per step / anomaly / question score lines, filled at the end.
    pub scores: Vec<ScoreLine>,
    /// Scroll offset of the summary.
    pub scroll: u16,
    pub save: SaveState,
}

/// A list to pick from inside the pane (who acts, or a `choose` step's option).
#[derive(Debug, Clone, PartialEq)]
pub struct Chooser {
    pub title: String,
    /// (value, text)
    pub options: Vec<(String, String)>,
    pub sel: usize,
    purpose: ChooserPurpose,
}

#[derive(Debug, Clone, PartialEq)]
enum ChooserPurpose {
    Actor,
    StepOption { by: String },
}

#[derive(Debug, Clone, PartialEq)]
enum Awaiting {
    StepText { by: String },
    QuizText,
}

/// One row of the score table on the summary screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreLine {
    /// "step", "anomaly" or "quiz".
    pub kind: &'static str,
    pub id: String,
    pub outcome: String,
    pub points: u32,
    pub max: u32,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub enum SaveState {
    #[default]
    NotStarted,
    Saving,
    Saved {
        path: PathBuf,
        /// The ledger entry id, or why it was not written.
        ledger: Result<String, String>,
    },
    Failed(String),
}

impl Rehearsal {
    pub fn phase(&self) -> Phase {
        self.view.phase
    }

    /// Milliseconds since the rehearsal started, at `now`.
    pub fn now_ms(&self, now: DateTime<Utc>) -> u64 {
        u64::try_from((now - self.started).num_milliseconds()).unwrap_or(0)
    }

    /// Milliseconds left in the current step's budget at `now` (negative: late).
    pub fn remaining_ms(&self, now: DateTime<Utc>) -> Option<i64> {
        self.machine.as_ref()?.remaining_ms(self.now_ms(now))
    }

    /// The participant holding `role`, if any.
    pub fn name_for_role(&self, role: &str) -> Option<&str> {
        self.participants
            .iter()
            .find(|(_, r, _)| r == role)
            .map(|(n, _, _)| n.as_str())
    }
}

/// Initials for the checklist's witness column ("Erin Walsh" → "EW").
pub fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .flat_map(char::to_uppercase)
        .collect()
}

/// A late step is missed (fed `Input::Skip`, as an unanswered step is in a headless
/// run) once twice its budget has passed; between one and two budgets it can still
/// be answered, for half points (the machine's scoring).
pub const TIMEOUT_BUDGETS: i64 = 2;

impl App {
    /// Give the pane its scenarios (the list and the full definitions).
    pub fn set_ceremony_scenarios(&mut self, scenarios: Vec<Scenario>) {
        self.panes.ceremony.scenarios = scenarios
            .iter()
            .map(|s| ScenarioSummary {
                id: s.id.clone(),
                title: s.title.clone(),
                steps: s.steps.len(),
                anomalies: s.anomalies.len(),
                roles: s.roles.iter().map(|r| r.title.clone()).collect(),
                summary: s.summary.clone(),
                pass_mark: s.pass_mark,
            })
            .collect();
        self.panes.ceremony.full = scenarios;
    }

    fn scenario_by_id(&self, id: &str) -> Option<Scenario> {
        self.panes
            .ceremony
            .full
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .or_else(|| {
                crate::domain::ceremony::shipped_scenarios()
                    .into_iter()
                    .filter_map(Result::ok)
                    .find(|s| s.id == id)
            })
    }

    pub(crate) fn ceremony_action(&mut self, a: Action) {
        match &self.panes.ceremony.screen {
            CeremonyScreen::List => self.list_action(a),
            CeremonyScreen::Setup(_) => self.setup_action(a),
            CeremonyScreen::Rehearsal(_) => self.rehearsal_action(a),
        }
    }

    fn list_action(&mut self, a: Action) {
        self.panes.ceremony.scenario_sel = move_sel(
            self.panes.ceremony.scenario_sel,
            self.panes.ceremony.scenarios.len(),
            a,
            5,
        );
        match a {
            Action::Select => {
                let Some(id) = self
                    .panes
                    .ceremony
                    .scenarios
                    .get(self.panes.ceremony.scenario_sel)
                    .map(|s| s.id.clone())
                else {
                    return;
                };
                match self.scenario_by_id(&id) {
                    Some(s) => self.open_setup(s),
                    None => self.toast(ToastLevel::Warn, format!("scenario `{id}` is not loaded")),
                }
            }
            Action::Right => {
                if let Some(last) = self.panes.ceremony.last.take() {
                    self.panes.ceremony.screen = CeremonyScreen::Rehearsal(last);
                }
            }
            _ => {}
        }
    }

    fn open_setup(&mut self, scenario: Scenario) {
        if let Some(mut draft) = self.panes.ceremony.draft.take()
            && draft.scenario == scenario
        {
            draft.error = None;
            draft.editing = None;
            self.panes.ceremony.screen = CeremonyScreen::Setup(draft);
            return;
        }
        let roles = scenario
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let needed = scenario
                    .steps
                    .iter()
                    .any(|s| s.actors.contains(&r.id) || s.witness.as_ref() == Some(&r.id));
                SetupRole {
                    role: r.id.clone(),
                    title: r.title.clone(),
                    name: if needed {
                        DEFAULT_NAMES
                            .get(i)
                            .map_or_else(|| format!("P{}", i + 1), |n| (*n).to_string())
                    } else {
                        String::new()
                    },
                    key_file: None,
                    key: None,
                    needed,
                }
            })
            .collect();
        let seed = self
            .panes
            .ceremony
            .fixed_seed
            .unwrap_or_else(|| rand::random_range(1..1_000_000));
        self.panes.ceremony.screen = CeremonyScreen::Setup(Box::new(Setup {
            scenario,
            roles,
            sel: 0,
            seed,
            error: None,
            editing: None,
        }));
    }

    fn setup_action(&mut self, a: Action) {
        let CeremonyScreen::Setup(s) = &mut self.panes.ceremony.screen else {
            return;
        };
        s.sel = move_sel(s.sel, s.roles.len() + 2, a, 5);
        let sel = s.sel;
        let (seed_row, start_row) = (s.seed_row(), s.start_row());
        match a {
            Action::Select if sel < seed_row => {
                let (label, name) = s
                    .roles
                    .get(sel)
                    .map(|r| (format!("name for {}", r.title), r.name.clone()))
                    .unwrap_or_default();
                s.editing = Some(SetupEdit::Name(sel));
                self.open_prompt(PromptKind::CeremonyInput, label, &name);
            }
            Action::Right if sel < seed_row => {
                let (label, path) = s
                    .roles
                    .get(sel)
                    .map(|r| {
                        (
                            format!("key file for {} (empty: rehearsal key)", r.title),
                            r.key_file
                                .as_ref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                        )
                    })
                    .unwrap_or_default();
                s.editing = Some(SetupEdit::KeyFile(sel));
                self.open_prompt(PromptKind::CeremonyInput, label, &path);
            }
            Action::Select if sel == seed_row => {
                let seed = s.seed.to_string();
                s.editing = Some(SetupEdit::Seed);
                self.open_prompt(PromptKind::CeremonyInput, "seed", &seed);
            }
            Action::Select if sel == start_row => self.start_rehearsal(),
            _ => {}
        }
    }

    /// Build the participants and start the machine.
    fn start_rehearsal(&mut self) {
        let CeremonyScreen::Setup(s) = &mut self.panes.ceremony.screen else {
            return;
        };
        let mut keys = match self.panes.ceremony.fixed_seed {
            Some(seed) => KeySource::seeded(seed),
            None => KeySource::Os,
        };
        // Check everything before any brought key is moved into the machine.
        for (i, r) in s.roles.iter().enumerate() {
            let name = r.name.trim();
            if name.is_empty() && r.needed {
                s.error = Some(format!("{} needs a participant name", r.title));
                return;
            }
            if !name.is_empty() && s.roles.iter().take(i).any(|q| q.name.trim() == name) {
                s.error = Some(format!("`{name}` holds two roles; names must be unique"));
                return;
            }
        }
        let mut participants = Vec::new();
        let mut names = Vec::new();
        for r in &mut s.roles {
            let name = r.name.trim().to_string();
            if name.is_empty() {
                if r.needed {
                    s.error = Some(format!("{} needs a participant name", r.title));
                    return;
                }
                continue;
            }
            let key = match r.key.take() {
                Some(k) => k,
                None => match keys.generate() {
                    Ok(k) => k,
                    Err(e) => {
                        s.error = Some(e);
                        return;
                    }
                },
            };
            names.push((name.clone(), r.role.clone(), r.title.clone()));
            participants.push(Participant::new(name, r.role.clone(), key));
        }
        let seed = s.seed;
        match Machine::new(s.scenario.clone(), participants, seed, keys) {
            Err(e) => {
                // Brought keys were moved into the participants and are dropped
                // (zeroized) with them; the user re-enters the key file if needed.
                for r in &mut s.roles {
                    if r.key.is_none() {
                        r.key_file = None;
                    }
                }
                s.error = Some(format!("cannot start: {e}"));
            }
            Ok(machine) => {
                let view = machine.view();
                self.panes.ceremony.screen = CeremonyScreen::Rehearsal(Box::new(Rehearsal {
                    machine: Some(machine),
                    view,
                    seed,
                    started: self.shell.now,
                    participants: names,
                    chooser: None,
                    sel: 0,
                    error: None,
                    abandon: false,
                    awaiting: None,
                    scores: Vec::new(),
                    scroll: 0,
                    save: SaveState::NotStarted,
                }));
                self.toast(ToastLevel::Info, format!("rehearsal started (seed {seed})"));
            }
        }
    }

    fn rehearsal(&mut self) -> Option<&mut Rehearsal> {
        match &mut self.panes.ceremony.screen {
            CeremonyScreen::Rehearsal(r) => Some(r),
            _ => None,
        }
    }

    fn rehearsal_action(&mut self, a: Action) {
        let Some(r) = self.rehearsal() else {
            return;
        };
        if r.abandon {
            return;
        }
        if r.phase() == Phase::Done {
            r.scroll = match a {
                Action::Up => r.scroll.saturating_sub(1),
                Action::Down => r.scroll.saturating_add(1).min(500),
                Action::PageUp => r.scroll.saturating_sub(10),
                Action::PageDown => r.scroll.saturating_add(10).min(500),
                Action::Top => 0,
                _ => r.scroll,
            };
            return;
        }
        if let Some(c) = &mut r.chooser {
            c.sel = move_sel(c.sel, c.options.len(), a, 5);
            if a == Action::Select {
                self.chooser_picked();
            }
            return;
        }
        let n_options = match r.phase() {
            Phase::Anomaly => r.view.anomaly.as_ref().map_or(0, |x| x.options.len()),
            Phase::Quiz => r.view.question.as_ref().map_or(0, |q| q.options.len()),
            _ => 0,
        };
        r.sel = move_sel(r.sel, n_options, a, 5);
        if a != Action::Select {
            return;
        }
        match r.phase() {
            Phase::Step => self.act_on_step(),
            Phase::Anomaly => {
                let pick = r
                    .view
                    .anomaly
                    .as_ref()
                    .and_then(|x| x.options.get(r.sel))
                    .map(|(id, _)| id.clone());
                if let Some(response) = pick {
                    self.feed(Input::Respond { response });
                }
            }
            Phase::Quiz => {
                let Some(q) = r.view.question.clone() else {
                    return;
                };
                if q.options.is_empty() {
                    r.awaiting = Some(Awaiting::QuizText);
                    self.open_prompt(PromptKind::CeremonyInput, "answer", "");
                } else if let Some((id, _)) = q.options.get(r.sel) {
                    let text = id.clone();
                    self.feed(Input::Answer { text });
                }
            }
            Phase::Done => {}
        }
    }

    /// Enter on the current step: pick who acts (when more than one may), then act.
    fn act_on_step(&mut self) {
        let Some(r) = self.rehearsal() else {
            return;
        };
        let Some(cur) = r.view.current.clone() else {
            return;
        };
        let signed: &[String] = r
            .view
            .quorum
            .as_ref()
            .map(|q| q.signed_by.as_slice())
            .unwrap_or_default();
        let eligible: Vec<(String, String)> = r
            .participants
            .iter()
            .filter(|(n, role, _)| cur.actors.contains(role) && !signed.contains(n))
            .map(|(n, _, title)| (n.clone(), format!("{n} — {title}")))
            .collect();
        match eligible.len() {
            0 => r.error = Some("nobody left who may act on this step".into()),
            1 => {
                let by = eligible.first().map(|(n, _)| n.clone()).unwrap_or_default();
                self.act_as(by);
            }
            _ => {
                r.chooser = Some(Chooser {
                    title: if matches!(cur.kind, "sign" | "quorum") {
                        "who signs?".into()
                    } else {
                        "who acts?".into()
                    },
                    options: eligible,
                    sel: 0,
                    purpose: ChooserPurpose::Actor,
                });
            }
        }
    }

    /// `by` acts on the current step: a list, a prompt, or straight to the machine.
    fn act_as(&mut self, by: String) {
        let Some(r) = self.rehearsal() else {
            return;
        };
        let Some(step) = r.machine.as_ref().and_then(|m| m.current_step()).cloned() else {
            return;
        };
        let hint = crate::domain::ceremony::machine::hint(&step.kind);
        match &step.kind {
            StepKind::Choose { options, .. } => {
                r.chooser = Some(Chooser {
                    title: format!("{by} chooses"),
                    options: options
                        .iter()
                        .map(|o| (o.id.clone(), format!("{}) {}", o.id, o.text)))
                        .collect(),
                    sel: 0,
                    purpose: ChooserPurpose::StepOption { by },
                });
            }
            StepKind::Check { .. }
            | StepKind::TypeToConfirm { .. }
            | StepKind::ConfirmFingerprint
            | StepKind::Verify => {
                let label = format!("{by}: {hint}");
                r.awaiting = Some(Awaiting::StepText { by });
                self.open_prompt(PromptKind::CeremonyInput, label, "");
            }
            StepKind::Sign | StepKind::Quorum { .. } | StepKind::SignCrl { .. } => {
                self.feed(Input::Act {
                    by,
                    text: "sign".into(),
                })
            }
            StepKind::GenerateRoot => self.feed(Input::Act {
                by,
                text: "generate".into(),
            }),
            StepKind::IssueSigner { .. } => self.feed(Input::Act {
                by,
                text: "issue".into(),
            }),
        }
    }

    fn chooser_picked(&mut self) {
        let Some(r) = self.rehearsal() else {
            return;
        };
        let Some(c) = r.chooser.take() else {
            return;
        };
        let Some((value, _)) = c.options.get(c.sel).cloned() else {
            return;
        };
        match c.purpose {
            ChooserPurpose::Actor => self.act_as(value),
            ChooserPurpose::StepOption { by } => self.feed(Input::Act { by, text: value }),
        }
    }

    /// Feed one input to the machine at the App's clock; refresh the view; on the
    /// last input, render the transcript and ask the run loop to save it.
    fn feed(&mut self, input: Input) {
        let now = self.shell.now;
        let Some(r) = self.rehearsal() else {
            return;
        };
        let now_ms = r.now_ms(now);
        let Some(m) = r.machine.as_mut() else {
            return;
        };
        match m.step(input, now_ms) {
            Err(e) => {
                r.error = Some(e.to_string());
                return;
            }
            Ok(_) => {
                // A new step, anomaly or question: its list starts at the top.
                r.error = None;
                r.sel = 0;
                r.view = m.view();
            }
        }
        if r.view.phase == Phase::Done {
            self.finish_rehearsal();
        }
    }

    fn finish_rehearsal(&mut self) {
        if self
            .shell
            .prompt
            .as_ref()
            .is_some_and(|p| p.kind == PromptKind::CeremonyInput)
        {
            self.shell.prompt = None;
        }
        let Some(r) = self.rehearsal() else {
            return;
        };
        r.chooser = None;
        r.awaiting = None;
        let Some(machine) = r.machine.take() else {
            return;
        };
        r.scores = score_lines(&machine);
        let record = machine
            .summary()
            .map(|s| RehearsalRecord::from_machine(&machine, s));
        // Dropping the machine drops every participant's key (zeroized on drop).
        drop(machine);
        let Some(record) = record else {
            r.save = SaveState::Failed("the rehearsal has no summary".into());
            return;
        };
        r.save = SaveState::Saving;
        let passed = record.passed;
        self.commands.push(Command::SaveRehearsal(Box::new(record)));
        self.toast(
            if passed {
                ToastLevel::Info
            } else {
                ToastLevel::Warn
            },
            format!(
                "rehearsal {}: saving the transcript…",
                if passed { "passed" } else { "failed" }
            ),
        );
    }

    /// Housekeeping tick: a step (or its anomaly) left unanswered for
    /// `TIMEOUT_BUDGETS` budgets times out: the machine gets `Input::Skip`.
    pub(crate) fn ceremony_tick(&mut self) {
        let now = self.shell.now;
        let Some(r) = self.rehearsal() else {
            return;
        };
        if !matches!(r.phase(), Phase::Step | Phase::Anomaly) {
            return;
        }
        let (Some(left), Some(budget)) = (
            r.remaining_ms(now),
            r.view.current.as_ref().map(|c| c.budget_secs),
        ) else {
            return;
        };
        let budget_ms = i64::try_from(budget.saturating_mul(1000)).unwrap_or(i64::MAX);
        if left > -(budget_ms.saturating_mul(TIMEOUT_BUDGETS - 1)) {
            return;
        }
        let what = match (&r.view.anomaly, &r.view.current) {
            (Some(a), _) if r.phase() == Phase::Anomaly => format!("anomaly {}", a.id),
            (_, Some(c)) => format!("step {}", c.index + 1),
            _ => "step".into(),
        };
        r.chooser = None;
        r.awaiting = None;
        if self
            .shell
            .prompt
            .as_ref()
            .is_some_and(|p| p.kind == PromptKind::CeremonyInput)
        {
            self.shell.prompt = None;
        }
        self.toast(ToastLevel::Warn, format!("{what} timed out: no answer"));
        self.feed(Input::Skip);
    }

    /// Esc in the ceremony pane. True when it was handled here (not an un-zoom).
    pub(crate) fn ceremony_back(&mut self) -> bool {
        match &mut self.panes.ceremony.screen {
            CeremonyScreen::List => false,
            CeremonyScreen::Setup(_) => {
                if let CeremonyScreen::Setup(draft) =
                    std::mem::replace(&mut self.panes.ceremony.screen, CeremonyScreen::List)
                {
                    self.panes.ceremony.draft = Some(draft);
                }
                true
            }
            CeremonyScreen::Rehearsal(r) => {
                if r.chooser.is_some() {
                    r.chooser = None;
                } else if r.phase() == Phase::Done {
                    let CeremonyScreen::Rehearsal(r) =
                        std::mem::take(&mut self.panes.ceremony.screen)
                    else {
                        return true;
                    };
                    self.panes.ceremony.last = Some(r);
                } else {
                    r.abandon = true;
                }
                true
            }
        }
    }

    /// Keys while "abandon this rehearsal? y/n" is showing (it takes every key).
    /// True when the key was consumed.
    pub(crate) fn ceremony_key(&mut self, k: &KeyEvent) -> bool {
        if self.shell.focus != Pane::Ceremony
            || !matches!(&self.panes.ceremony.screen, CeremonyScreen::Rehearsal(r) if r.abandon)
        {
            return false;
        }
        self.shell.dirty = true;
        match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => {
                self.panes.ceremony.screen = CeremonyScreen::List;
                self.toast(ToastLevel::Info, "rehearsal abandoned: nothing was saved");
            }
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                if let Some(r) = self.rehearsal() {
                    r.abandon = false;
                }
            }
            _ => {}
        }
        true
    }

    /// Digits and letters while a rehearsal step, anomaly or quiz has focus: `1`–`9`
    /// pick that numbered option, a letter the option with that id. Any other digit
    /// or letter is swallowed with a hint: never a pane switch or another key's
    /// action (Tab, a click, `?`, `:` and Ctrl-C still work). True when consumed.
    pub(crate) fn ceremony_answer_key(&mut self, k: &KeyEvent) -> bool {
        use crossterm::event::KeyModifiers;
        if self.shell.focus != Pane::Ceremony
            || k.modifiers
                .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
        {
            return false;
        }
        let KeyCode::Char(c) = k.code else {
            return false;
        };
        if !c.is_ascii_alphanumeric() {
            return false;
        }
        self.shell.dirty = true;
        let Some(r) = self.rehearsal() else {
            return false;
        };
        if r.abandon || r.phase() == Phase::Done {
            return false;
        }
        // The list on screen: who acts / a step's options, else the anomaly's
        // responses or the quiz's choices.
        let ids: Vec<String> = match (&r.chooser, r.phase()) {
            (Some(ch), _) => ch.options.iter().map(|(id, _)| id.clone()).collect(),
            (None, Phase::Anomaly) => r
                .view
                .anomaly
                .as_ref()
                .map(|x| x.options.iter().map(|(id, _)| id.clone()).collect())
                .unwrap_or_default(),
            (None, Phase::Quiz) => r
                .view
                .question
                .as_ref()
                .map(|q| q.options.iter().map(|(id, _)| id.clone()).collect())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let pick = match c.to_digit(10) {
            Some(d) => (d as usize).checked_sub(1).filter(|i| *i < ids.len()),
            None => ids
                .iter()
                .position(|id| id.len() == 1 && id.eq_ignore_ascii_case(&c.to_string())),
        };
        match pick {
            Some(i) => {
                match r.chooser.as_mut() {
                    Some(ch) => ch.sel = i,
                    None => r.sel = i,
                }
                self.rehearsal_action(Action::Select);
            }
            None => {
                r.error = Some(if ids.is_empty() {
                    format!(
                        "`{c}` is not an answer here: Enter acts on the step; Tab leaves the pane"
                    )
                } else {
                    format!(
                        "`{c}` is not an option: press 1–{}, or Tab to leave the pane",
                        ids.len().min(9)
                    )
                });
            }
        }
        true
    }

    /// Text submitted while a rehearsal waits for input.
    pub(crate) fn submit_ceremony_input(&mut self, text: String) {
        match &mut self.panes.ceremony.screen {
            CeremonyScreen::List => {}
            CeremonyScreen::Setup(s) => {
                let Some(edit) = s.editing.take() else {
                    return;
                };
                s.error = None;
                match edit {
                    SetupEdit::Name(i) => {
                        let name = text.trim().to_string();
                        if name.chars().count() > 40 {
                            s.error = Some("names are at most 40 characters".into());
                        } else if !name.is_empty()
                            && s.roles
                                .iter()
                                .enumerate()
                                .any(|(j, r)| j != i && r.name == name)
                        {
                            s.error = Some(format!("`{name}` already holds another role"));
                        } else if let Some(r) = s.roles.get_mut(i) {
                            r.name = name;
                        }
                    }
                    SetupEdit::KeyFile(i) => {
                        let path = text.trim();
                        let Some(r) = s.roles.get_mut(i) else {
                            return;
                        };
                        if path.is_empty() {
                            r.key_file = None;
                            r.key = None;
                        } else {
                            // Read off the update path; `on_participant_key` takes the answer.
                            self.commands.push(Command::LoadParticipantKey {
                                role: i,
                                path: PathBuf::from(path),
                            });
                        }
                    }
                    SetupEdit::Seed => match text.trim().parse::<u64>() {
                        Ok(n) => s.seed = n,
                        Err(_) => {
                            s.error =
                                Some(format!("`{}` is not a seed (a whole number)", text.trim()))
                        }
                    },
                }
            }
            CeremonyScreen::Rehearsal(r) => match r.awaiting.take() {
                Some(Awaiting::StepText { by }) => self.feed(Input::Act { by, text }),
                Some(Awaiting::QuizText) => self.feed(Input::Answer { text }),
                None => {}
            },
        }
    }

    /// Esc in the ceremony prompt.
    pub(crate) fn ceremony_input_cancelled(&mut self) {
        match &mut self.panes.ceremony.screen {
            CeremonyScreen::Setup(s) => s.editing = None,
            CeremonyScreen::Rehearsal(r) => r.awaiting = None,
            CeremonyScreen::List => {}
        }
    }

    /// A participant's key file was read (or refused): the setup takes the key, or
    /// shows why not. Ignored when the setup is gone or the role changed its file.
    pub(crate) fn on_participant_key(
        &mut self,
        role: usize,
        path: PathBuf,
        result: Result<Box<ed25519_dalek::SigningKey>, String>,
    ) {
        let CeremonyScreen::Setup(s) = &mut self.panes.ceremony.screen else {
            return;
        };
        let Some(r) = s.roles.get_mut(role) else {
            return;
        };
        match result {
            Ok(k) => {
                r.key = Some(*k);
                r.key_file = Some(path);
                s.error = None;
            }
            Err(e) => s.error = Some(e),
        }
    }

    /// The background save finished.
    pub(crate) fn on_rehearsal_saved(&mut self, result: Result<SavedRehearsal, String>) {
        let reason = self.shell.readonly_reason.clone();
        let target = match &mut self.panes.ceremony.screen {
            CeremonyScreen::Rehearsal(r) if r.save == SaveState::Saving => Some(r),
            _ => self
                .panes
                .ceremony
                .last
                .as_mut()
                .filter(|r| r.save == SaveState::Saving),
        };
        let (level, text) = match result {
            Err(e) => (ToastLevel::Error, format!("transcript not saved: {e}")),
            Ok(saved) => {
                let ledger = match (saved.ledger, &reason) {
                    (Err(_), Some(why)) if self.shell.readonly => {
                        Err(format!("ledger entry not written: {why}"))
                    }
                    (Err(e), _) => Err(format!("ledger entry not written: {e}")),
                    (Ok(id), _) => Ok(id),
                };
                let text = match &ledger {
                    Ok(id) => format!(
                        "transcript saved: {} · ledger {id}",
                        saved.transcript.display()
                    ),
                    Err(e) => format!("transcript saved: {} · {e}", saved.transcript.display()),
                };
                let level = if ledger.is_ok() {
                    ToastLevel::Info
                } else {
                    ToastLevel::Warn
                };
                if let Some(r) = target {
                    r.save = SaveState::Saved {
                        path: saved.transcript,
                        ledger,
                    };
                }
                self.toast(level, text);
                return;
            }
        };
        if let Some(r) = target {
            r.save = SaveState::Failed(text.clone());
        }
        self.toast(level, text);
    }
}

/// Score per step, anomaly and quiz question, from the machine's records.
fn score_lines(m: &Machine) -> Vec<ScoreLine> {
    use serde_json::Value;
    let scenario = m.scenario();
    let mut out = Vec::new();
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let n = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| u32::try_from(x).ok())
            .unwrap_or(0)
    };
    for rec in m.records() {
        match rec.get("kind").and_then(Value::as_str) {
            Some("step") => {
                let id = s(rec, "step");
                let max = scenario
                    .steps
                    .iter()
                    .find(|x| x.id == id)
                    .map_or(0, |x| x.points);
                let late = rec.get("within_time").and_then(Value::as_bool) == Some(false)
                    && s(rec, "status") == "done";
                out.push(ScoreLine {
                    kind: "step",
                    outcome: format!("{}{}", s(rec, "status"), if late { " (late)" } else { "" }),
                    id,
                    points: n(rec, "points"),
                    max,
                });
            }
            Some("response") => {
                let id = s(rec, "anomaly");
                let max = scenario
                    .anomalies
                    .iter()
                    .find(|x| x.id == id)
                    .map_or(0, |x| x.best_points());
                let grade = rec
                    .get("grade")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string();
                let response = rec
                    .get("response")
                    .and_then(Value::as_str)
                    .unwrap_or("no response")
                    .to_string();
                out.push(ScoreLine {
                    kind: "anomaly",
                    id,
                    outcome: format!("{response} ({grade})"),
                    points: n(rec, "points"),
                    max,
                });
            }
            Some("quiz") => out.push(ScoreLine {
                kind: "quiz",
                id: s(rec, "question"),
                outcome: String::new(),
                points: n(rec, "points"),
                max: n(rec, "max"),
            }),
            _ => {}
        }
    }
    // Steps the ceremony never reached (halted or postponed) have no step record.
    for c in m.view().checklist {
        let (outcome, max) = match c.status {
            StepStatus::NotReached => (
                "not reached",
                scenario.steps.get(c.index).map_or(0, |x| x.points),
            ),
            StepStatus::Postponed => ("postponed (not scored)", 0),
            _ => continue,
        };
        out.push(ScoreLine {
            kind: "step",
            id: c.id,
            outcome: outcome.into(),
            points: 0,
            max,
        });
    }
    // Steps in script order, then anomalies, then the quiz (a stable sort keeps the
    // order of events within each group).
    let rank = |l: &ScoreLine| match l.kind {
        "step" => (
            0,
            scenario
                .steps
                .iter()
                .position(|x| x.id == l.id)
                .unwrap_or(usize::MAX),
        ),
        "anomaly" => (1, 0),
        _ => (2, 0),
    };
    out.sort_by_key(rank);
    out
}
