//! The console's alerts: the evaluator fed from what the console ingests, the header
//! summary, the alerts view (what fires here, what Alertmanager lists, its
//! silences) with its selection, and the silence form.
//!
//! Pure state: no I/O; time comes from the `now` handed in. Evaluation runs at most
//! once a second, or sooner when a fact changed ([`AlertsState::due`]); its cost
//! follows what fires, not the fleet (see `domain::alerts`).

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use rustc_hash::FxHashMap;

use crate::domain::alerts::{
    Alert, Evaluator, HeaderFacts, Inputs, LedgerBadge, ListedAlert, Severity, Silence, Summary,
    Target, Transitions, am_labels, header_facts, parse_am_time, silence_labels, summarize,
};
use crate::domain::ledger::Entry;
use crate::domain::sanitize::sanitize;
use crate::protocol::{Action, AlertsRequest, AmReport, PendingAction};

/// Evaluate at least this often (ages, time-based conditions).
pub const EVAL_EVERY: TimeDelta = TimeDelta::seconds(1);
/// The silence form's default duration.
pub const DEFAULT_SILENCE: &str = "2h";
/// The longest silence the form accepts.
pub const MAX_SILENCE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest text kept from an Alertmanager field for the view.
const MAX_FIELD: usize = 200;

/// An alert Alertmanager lists that this console does not fire itself (another
/// HQ's, a Prometheus rule's, or one this console has not seen). Text is sanitised.
#[derive(Debug, Clone, PartialEq)]
pub struct AmRow {
    pub name: String,
    /// From the `severity` label; `None` when it is missing or unknown.
    pub severity: Option<Severity>,
    pub branch: Option<String>,
    /// The `summary` annotation, else `description`, else the label set.
    pub summary: String,
    pub since: Option<DateTime<Utc>>,
    pub silenced: bool,
    pub inhibited: bool,
    /// The raw label set, to silence it.
    pub labels: BTreeMap<String, String>,
}

/// One active silence, for the view. Text is sanitised.
#[derive(Debug, Clone, PartialEq)]
pub struct SilenceRow {
    pub id: String,
    /// `alertname=BranchDown branch=koosy`.
    pub matchers: String,
    pub ends: Option<DateTime<Utc>>,
    pub created_by: String,
    pub comment: String,
}

/// Alertmanager's side of the view.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AmView {
    /// The configured URL, as shown (credentials are refused by the config).
    pub url: Option<String>,
    /// The `hq` label this console posts with.
    pub hq: String,
    /// Every alert Alertmanager listed, in view order.
    listed: Vec<AmRow>,
    /// Indexes into `listed` of the alerts this console does not fire itself.
    pub others: Vec<usize>,
    /// Keys of this console's firing alerts that Alertmanager holds silenced.
    pub silenced_here: rustc_hash::FxHashSet<String>,
    pub silences: Vec<SilenceRow>,
    /// Last successful listing.
    pub listed_at: Option<DateTime<Utc>>,
    /// Last accepted post of this console's alerts.
    pub posted_at: Option<DateTime<Utc>>,
    /// The current run of failures: since when, the newest error, when it came,
    /// and the wait before the next try.
    pub failing: Option<AmFailure>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AmFailure {
    pub since: DateTime<Utc>,
    pub at: DateTime<Utc>,
    pub error: String,
    pub retry_in: Duration,
}

impl AmView {
    pub fn configured(&self) -> bool {
        self.url.is_some()
    }

    pub fn other(&self, i: usize) -> Option<&AmRow> {
        self.others.get(i).and_then(|j| self.listed.get(*j))
    }

    pub fn others(&self) -> impl Iterator<Item = &AmRow> {
        self.others.iter().filter_map(|j| self.listed.get(*j))
    }
}

/// What the view's selection points at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selected<'a> {
    Here(&'a Alert),
    Alertmanager(&'a AmRow),
}

/// What an action in the alerts view asks the console to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Handled inside the view (or ignored).
    Nothing,
    /// Close the view.
    Close,
    /// Close the view and show what is behind the alert.
    Jump(Target),
    /// Open the silence form for the selected alert (the console checks the role
    /// first).
    Silence,
    /// Tell the operator why nothing happened.
    Notice(String),
}

/// The silence form's fields, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Duration,
    Comment,
    Confirm,
}

/// The silence dialog: what will be silenced, for how long, why, and the typed
/// confirmation (the branch id, or the alert name when there is none).
#[derive(Debug, Clone)]
pub struct SilenceForm {
    pub title: String,
    /// What happens, one line each (matchers, ledger first).
    pub lines: Vec<String>,
    /// The label set the silence matches.
    pub labels: BTreeMap<String, String>,
    pub duration: tui_input::Input,
    pub comment: tui_input::Input,
    pub typed: tui_input::Input,
    pub field: Field,
    pub expected: String,
    pub error: Option<String>,
}

/// What a key did to the silence form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormOutcome {
    Editing,
    Cancelled,
    Submit(PendingAction),
}

impl SilenceForm {
    pub fn new(title: String, labels: BTreeMap<String, String>, expected: String) -> Self {
        let matchers = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect::<Vec<_>>()
            .join(", ");
        SilenceForm {
            title,
            lines: vec![
                format!("Silences every alert matching {{{matchers}}} in Alertmanager."),
                "Appends a signed `alert_silenced` entry to the ledger first, then creates \
                 the silence (createdBy = your signer id)."
                    .into(),
                "Notifications stop until it ends; the alert still shows here.".into(),
            ],
            labels,
            duration: tui_input::Input::new(DEFAULT_SILENCE.into()),
            comment: tui_input::Input::default(),
            typed: tui_input::Input::default(),
            field: Field::Comment,
            expected,
            error: None,
        }
    }

    fn input(&mut self) -> &mut tui_input::Input {
        match self.field {
            Field::Duration => &mut self.duration,
            Field::Comment => &mut self.comment,
            Field::Confirm => &mut self.typed,
        }
    }

    fn next_field(&mut self, by: i8) {
        const ORDER: [Field; 3] = [Field::Duration, Field::Comment, Field::Confirm];
        let i = ORDER.iter().position(|f| *f == self.field).unwrap_or(0) as i8;
        let j = (i + by).rem_euclid(ORDER.len() as i8) as usize;
        self.field = ORDER.get(j).copied().unwrap_or(Field::Comment);
    }

    /// The duration field, checked.
    pub fn parsed_duration(&self) -> Result<Duration, String> {
        let d = crate::domain::hq::parse_duration(self.duration.value())
            .map_err(|e| format!("duration: {e}"))?;
        if d < Duration::from_secs(60) {
            return Err("duration: at least 1m".into());
        }
        if d > MAX_SILENCE {
            return Err("duration: at most 30d".into());
        }
        Ok(d)
    }

    /// Tab/↓ and Shift-Tab/↑ move between fields; Enter moves on, and on the
    /// confirmation field submits when everything checks; Esc cancels.
    pub fn key(&mut self, k: KeyEvent) -> FormOutcome {
        use tui_input::backend::crossterm::EventHandler;
        match k.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Tab | KeyCode::Down => self.next_field(1),
            KeyCode::BackTab | KeyCode::Up => self.next_field(-1),
            KeyCode::Enter if self.field != Field::Confirm => self.next_field(1),
            KeyCode::Enter => return self.submit(),
            _ => {
                let is_text = match k.code {
                    KeyCode::Char(_) => !k.modifiers.contains(KeyModifiers::CONTROL),
                    _ => true,
                };
                let long = self.input().value().chars().count() >= 200;
                if is_text && (!long || !matches!(k.code, KeyCode::Char(_))) {
                    self.input().handle_event(&crossterm::event::Event::Key(k));
                    self.error = None;
                }
            }
        }
        FormOutcome::Editing
    }

    fn submit(&mut self) -> FormOutcome {
        let duration = match self.parsed_duration() {
            Ok(d) => d,
            Err(e) => {
                self.error = Some(e);
                self.field = Field::Duration;
                return FormOutcome::Editing;
            }
        };
        let comment = self.comment.value().trim().to_string();
        if comment.is_empty() {
            self.error = Some("comment: say why (Alertmanager requires one)".into());
            self.field = Field::Comment;
            return FormOutcome::Editing;
        }
        if self.typed.value().trim() != self.expected {
            self.error = Some(format!(
                "type `{}` exactly to confirm, or Esc to cancel",
                self.expected
            ));
            return FormOutcome::Editing;
        }
        FormOutcome::Submit(PendingAction::SilenceAlert {
            labels: self.labels.clone(),
            duration,
            comment,
        })
    }
}

/// The console's alerts.
#[derive(Debug, Clone)]
pub struct AlertsState {
    /// The alerts view is open (an overlay over the panes; the header stays).
    pub open: bool,
    evaluator: Evaluator,
    firing: Vec<Alert>,
    summary: Summary,
    header: HeaderFacts,
    last_eval: Option<DateTime<Utc>>,
    changed: bool,
    evaluations: u64,
    sel: usize,
    pub am: AmView,
    /// The open silence form, if any.
    pub form: Option<SilenceForm>,
}

impl Default for AlertsState {
    fn default() -> Self {
        let header = HeaderFacts {
            ledger: LedgerBadge::Unchecked,
            kill_switch: None,
        };
        AlertsState {
            open: false,
            evaluator: Evaluator::new(),
            firing: Vec::new(),
            summary: summarize(&[], &header),
            header,
            last_eval: None,
            changed: true,
            evaluations: 0,
            sel: 0,
            am: AmView::default(),
            form: None,
        }
    }
}

fn clip(s: &str) -> String {
    let s = sanitize(s);
    let s = s.trim();
    match s.char_indices().nth(MAX_FIELD) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or_default()),
        None => s.to_string(),
    }
}

fn severity_of(s: Option<&String>) -> Option<Severity> {
    match s.map(|s| s.to_ascii_lowercase()).as_deref() {
        Some("critical" | "page" | "error") => Some(Severity::Critical),
        Some("warning" | "warn") => Some(Severity::Warning),
        Some("info" | "none") => Some(Severity::Info),
        _ => None,
    }
}

fn am_row(a: &ListedAlert) -> AmRow {
    let summary = a
        .annotations
        .get("summary")
        .or_else(|| a.annotations.get("description"))
        .map(|s| clip(s))
        .unwrap_or_else(|| {
            clip(
                &a.labels
                    .iter()
                    .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        });
    AmRow {
        name: clip(a.labels.get("alertname").map_or("(no alertname)", |s| s)),
        severity: severity_of(a.labels.get("severity")),
        branch: a.labels.get("branch").map(|b| clip(b)),
        summary,
        since: parse_am_time(&a.starts_at),
        silenced: !a.status.silenced_by.is_empty(),
        inhibited: a.status.state == "suppressed" && a.status.silenced_by.is_empty(),
        labels: a.labels.clone(),
    }
}

fn silence_row(s: &Silence) -> SilenceRow {
    SilenceRow {
        id: clip(&s.id),
        matchers: clip(
            &s.matchers
                .iter()
                .map(|m| {
                    let op = match (m.is_equal, m.is_regex) {
                        (true, false) => "=",
                        (false, false) => "!=",
                        (true, true) => "=~",
                        (false, true) => "!~",
                    };
                    format!("{}{op}{}", m.name, m.value)
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        ends: parse_am_time(&s.ends_at),
        created_by: clip(&s.created_by),
        comment: clip(&s.comment),
    }
}

/// Critical first (unknown severity after info), then newest, then by name.
fn am_order(a: &AmRow, b: &AmRow) -> std::cmp::Ordering {
    let rank = |r: &AmRow| r.severity.map_or(3, |s| s as u8);
    rank(a)
        .cmp(&rank(b))
        .then_with(|| b.since.cmp(&a.since))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.labels.cmp(&b.labels))
}

impl AlertsState {
    /// Post to and list from Alertmanager at `url` (as shown), with this `hq` label.
    pub fn set_alertmanager(&mut self, url: Option<String>, hq: String) {
        self.am.url = url;
        self.am.hq = hq;
    }

    /// Fold in one ledger entry (file order; `line` is 1-based).
    pub fn ingest(&mut self, line: Option<u64>, entry: &Entry) {
        self.evaluator.ingest(line, entry);
        self.changed = true;
    }

    /// The ledger was replaced or truncated: what it said no longer holds.
    pub fn reset_ledger(&mut self) {
        self.evaluator.reset_ledger();
        self.changed = true;
    }

    /// A fact the evaluation looks at changed (health, cost, integrity, files…).
    pub fn touch(&mut self) {
        self.changed = true;
    }

    /// An evaluation is due at `now`: a fact changed, or a second passed.
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.changed
            || self
                .last_eval
                .is_none_or(|l| now - l >= EVAL_EVERY || now < l)
    }

    /// The kill switch as the ledger tells it (for the header when
    /// `decision-engine.json` says nothing).
    pub fn ledger_kill_switch(&self) -> Option<bool> {
        self.evaluator.ledger_kill_switch()
    }

    /// Evaluate at `now`. Returns the transitions (for notices) and, when
    /// Alertmanager is configured and something fired or resolved, the request for
    /// the Alertmanager link.
    pub fn evaluate(
        &mut self,
        now: DateTime<Utc>,
        inputs: &Inputs<'_>,
    ) -> (Transitions, Option<AlertsRequest>) {
        let selected = self.selected_key();
        let t = self.evaluator.evaluate(now, inputs);
        self.header = header_facts(inputs, self.evaluator.ledger_kill_switch());
        self.last_eval = Some(now);
        self.changed = false;
        let first = self.evaluations == 0;
        self.evaluations += 1;
        let moved = !t.is_quiet();
        if moved || first {
            self.firing = t.firing.clone();
            self.join_alertmanager();
            self.reselect(selected);
        }
        self.summary = summarize(&self.firing, &self.header);
        let req = (self.am.configured() && (moved || first)).then(|| AlertsRequest::Evaluated {
            at: now,
            transitions: Box::new(t.clone()),
        });
        (t, req)
    }

    /// What fires here now, in view order (critical first, then newest).
    pub fn firing(&self) -> &[Alert] {
        &self.firing
    }

    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    pub fn header(&self) -> HeaderFacts {
        self.header
    }

    /// Selectable rows: this console's alerts, then Alertmanager's others.
    pub fn rows(&self) -> usize {
        self.firing.len() + self.am.others.len()
    }

    pub fn selection(&self) -> usize {
        self.sel
    }

    pub fn selected(&self) -> Option<Selected<'_>> {
        match self.firing.get(self.sel) {
            Some(a) => Some(Selected::Here(a)),
            None => self
                .am
                .other(self.sel.saturating_sub(self.firing.len()))
                .map(Selected::Alertmanager),
        }
    }

    fn selected_key(&self) -> Option<Result<String, BTreeMap<String, String>>> {
        match self.selected()? {
            Selected::Here(a) => Some(Ok(a.group_key())),
            Selected::Alertmanager(r) => Some(Err(r.labels.clone())),
        }
    }

    /// Keep the same alert selected when the list changes (an escalated alert is
    /// the same condition); else keep the position.
    fn reselect(&mut self, was: Option<Result<String, BTreeMap<String, String>>>) {
        let found = match &was {
            Some(Ok(k)) => self.firing.iter().position(|a| a.group_key() == *k),
            Some(Err(l)) => self
                .am
                .others()
                .position(|r| r.labels == *l)
                .map(|i| i + self.firing.len()),
            None => None,
        };
        self.sel = found.unwrap_or(self.sel).min(self.rows().saturating_sub(1));
    }

    /// Is this console's alert silenced in Alertmanager?
    pub fn is_silenced(&self, a: &Alert) -> bool {
        !self.am.silenced_here.is_empty() && self.am.silenced_here.contains(&a.key())
    }

    /// Split Alertmanager's list into this console's alerts (marked silenced when
    /// they are) and the others.
    fn join_alertmanager(&mut self) {
        let hq = self.am.hq.as_str();
        let mine: FxHashMap<BTreeMap<String, String>, String> = if self.am.listed.is_empty() {
            FxHashMap::default()
        } else {
            self.firing
                .iter()
                .map(|a| (am_labels(a, hq), a.key()))
                .collect()
        };
        self.am.others.clear();
        self.am.silenced_here.clear();
        for (i, r) in self.am.listed.iter().enumerate() {
            match mine.get(&r.labels) {
                Some(key) => {
                    if r.silenced {
                        self.am.silenced_here.insert(key.clone());
                    }
                }
                None => self.am.others.push(i),
            }
        }
    }

    /// Take in what the Alertmanager link reported.
    pub fn on_report(&mut self, r: AmReport) {
        match r {
            AmReport::Listed {
                alerts,
                silences,
                at,
            } => {
                let selected = self.selected_key();
                let mut listed: Vec<AmRow> = alerts.iter().map(am_row).collect();
                listed.sort_by(am_order);
                self.am.listed = listed;
                let mut s: Vec<SilenceRow> = silences
                    .iter()
                    .filter(|s| s.status.state == "active")
                    .map(silence_row)
                    .collect();
                s.sort_by(|a, b| a.ends.cmp(&b.ends).then_with(|| a.id.cmp(&b.id)));
                self.am.silences = s;
                self.am.listed_at = Some(at);
                self.am.failing = None;
                self.join_alertmanager();
                self.reselect(selected);
            }
            AmReport::Posted { at, .. } => {
                self.am.posted_at = Some(at);
                self.am.failing = None;
            }
            AmReport::Failed {
                error,
                at,
                retry_in,
            } => {
                let since = self.am.failing.as_ref().map_or(at, |f| f.since);
                self.am.failing = Some(AmFailure {
                    since,
                    at,
                    error: clip(&error),
                    retry_in,
                });
            }
        }
    }

    /// Open or close the view; opening asks the link for a fresh listing.
    pub fn toggle(&mut self) -> Option<AlertsRequest> {
        self.open = !self.open;
        (self.open && self.am.configured()).then_some(AlertsRequest::Poll)
    }

    /// An action while the view is open. `page`: rows per page.
    pub fn action(&mut self, a: Action, page: usize) -> Outcome {
        let n = self.rows();
        match a {
            Action::ToggleAlerts | Action::Back => {
                self.open = false;
                Outcome::Close
            }
            Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom => {
                self.sel = super::move_sel(self.sel, n, a, page.max(1));
                Outcome::Nothing
            }
            Action::Select => match self.selected() {
                None => Outcome::Nothing,
                Some(Selected::Here(al)) => {
                    let t = al.target.clone();
                    self.open = false;
                    Outcome::Jump(t)
                }
                Some(Selected::Alertmanager(r)) => match &r.branch {
                    Some(b) => {
                        let t = Target::Branch { id: b.clone() };
                        self.open = false;
                        Outcome::Jump(t)
                    }
                    None => Outcome::Notice(format!(
                        "{} comes from Alertmanager and names no branch: nothing to show here",
                        r.name
                    )),
                },
            },
            Action::SilenceAlert => {
                if !self.am.configured() {
                    return Outcome::Notice(
                        "silence: no Alertmanager is configured (set alertmanager_url)".into(),
                    );
                }
                if self.selected().is_none() {
                    return Outcome::Notice("silence: no alert selected".into());
                }
                Outcome::Silence
            }
            _ => Outcome::Nothing,
        }
    }

    /// The silence form for the selected alert (`None`: nothing selected).
    pub fn silence_form(&self) -> Option<SilenceForm> {
        let (name, labels, branch) = match self.selected()? {
            Selected::Here(a) => (
                a.alertname.as_str().to_string(),
                am_labels(a, &self.am.hq),
                a.branch().map(str::to_string),
            ),
            Selected::Alertmanager(r) => (r.name.clone(), r.labels.clone(), r.branch.clone()),
        };
        let labels = silence_labels(&labels);
        let title = match &branch {
            Some(b) => format!("Silence {name} on {b}"),
            None => format!("Silence {name}"),
        };
        Some(SilenceForm::new(title, labels, branch.unwrap_or(name)))
    }

    /// How many evaluations ran (for tests and the bench).
    pub fn evaluations(&self) -> u64 {
        self.evaluations
    }
}

// ---- The console's facts, as the evaluator wants them ----------------------------
// Built per evaluation from what the console already holds; each converter costs
// O(1) and is called only for what can fire (a branch that is down, a cost over a
// level, a source that fails), so an evaluation follows what fires, not the fleet.

/// A branch that is down (`None` otherwise; maintenance is not down). `down_since`
/// is the first failed check of the current run among the checks kept.
pub fn branch_facts(
    id: &str,
    h: &super::BranchHealth,
    maintenance: bool,
) -> Option<crate::domain::alerts::BranchFacts> {
    use crate::domain::alerts::{BranchFacts, HealthEscalation, HealthStatus};
    if h.status(maintenance) != super::HealthStatus::Down {
        return None;
    }
    let escalation = match h.escalation(maintenance) {
        super::Escalation::None => HealthEscalation::None,
        super::Escalation::Retry => HealthEscalation::Retry,
        super::Escalation::RollbackProposed => HealthEscalation::RollbackProposed,
        super::Escalation::HqAdmin => HealthEscalation::HqAdmin,
    };
    let run = h
        .recent_checks
        .iter()
        .rev()
        .take_while(|c| !c.result.ok)
        .last()
        .map(|c| c.result.at);
    let down_since = run.or_else(|| h.last_http.as_ref().map(|r| r.at).or(h.exporter_at));
    let last_error = match &h.last_http {
        Some(r) => r
            .error
            .clone()
            .or_else(|| r.status.map(|s| format!("HTTP {s}"))),
        None => Some("the exporter reports hq_branch_up 0".into()),
    };
    Some(BranchFacts {
        id: id.to_string(),
        status: HealthStatus::Down,
        consecutive_failures: h.consecutive_failures,
        escalation,
        down_since,
        last_error,
    })
}

/// A branch's cost state when it reached an escalation level.
pub fn cost_facts(c: &crate::domain::cost::BranchCost) -> Option<crate::domain::alerts::CostFacts> {
    (c.escalation != crate::domain::cost::Escalation::None).then(|| {
        crate::domain::alerts::CostFacts {
            branch: c.branch.clone(),
            escalation: c.escalation,
            ratio: c.limit_ratio.unwrap_or(0.0),
        }
    })
}

/// The last background verification, as integrity facts: one failure per kind of
/// check; a verification that could not run is "not checked".
pub fn integrity_facts(i: &crate::protocol::Integrity) -> crate::domain::alerts::IntegrityFacts {
    use crate::domain::alerts::{IntegrityCheck, IntegrityFacts, IntegrityFailure};
    if i.error.is_some() {
        return IntegrityFacts::Unchecked;
    }
    let detail = i.problem.clone().unwrap_or_default();
    let mut f = Vec::new();
    for (check, count) in [
        (IntegrityCheck::Chain, i.chain_broken),
        (IntegrityCheck::Signature, i.sig_bad),
        (IntegrityCheck::Checkpoint, i.checkpoints_bad),
    ] {
        if count > 0 {
            f.push(IntegrityFailure {
                check,
                count,
                detail: detail.clone(),
                line: None,
            });
        }
    }
    if let Some(w) = &i.witness_alarm {
        f.push(IntegrityFailure {
            check: IntegrityCheck::Witness,
            count: 1,
            detail: w.clone(),
            line: None,
        });
    }
    IntegrityFacts::Checked(f)
}

/// Polled sources that can fire `SourceDown`: the exporters, the health checks and
/// Prometheus. A failing source has been failing since it last worked (or since the
/// console started, when it never did). `name` is the stable label (e.g. the
/// exporter's URL without credentials).
pub fn source_facts(
    st: &super::SourceStatus,
    name: String,
    started: DateTime<Utc>,
    default_every: Duration,
) -> Option<crate::domain::alerts::SourceFacts> {
    if st.missing || !st.failing() {
        return None;
    }
    let (_, error) = st.last_error.as_ref()?;
    Some(crate::domain::alerts::SourceFacts {
        name,
        failing_since: Some(st.last_ok.unwrap_or(started)),
        interval: st.every.unwrap_or(default_every),
        error: Some(error.clone()),
    })
}

// ---- The console's side: evaluation on tick, the view and the form as overlays --

impl super::App {
    /// The console's alerts: what fires, the header summary, the view, the form.
    pub fn alerts(&self) -> &AlertsState {
        &self.data.alerts
    }

    /// Post to and list from the Alertmanager at `url` (shown as given; the config
    /// refuses credentials), with this `hq` label.
    pub fn set_alertmanager(&mut self, url: Option<String>, hq: String) {
        self.data.alerts.set_alertmanager(url, hq);
    }

    /// New ledger lines: fold them into the evaluator (line numbers are the Enter
    /// targets).
    pub(crate) fn alerts_note_ledger(&mut self, records: &[crate::protocol::LedgerRecord]) {
        for r in records {
            match &r.parsed {
                Ok(e) => self.data.alerts.ingest(Some(r.line), e),
                Err(_) => self.data.alerts.touch(),
            }
        }
    }

    /// Evaluate when due (a fact changed, or a second passed). The facts are built
    /// from what the console holds; only what can fire is converted.
    pub(crate) fn alerts_tick(&mut self, now: DateTime<Utc>) {
        if !self.data.alerts.due(now) {
            return;
        }
        let branches: Vec<crate::domain::alerts::BranchFacts> = self
            .data
            .health
            .iter()
            .filter(|(_, h)| h.status(false) == super::HealthStatus::Down)
            .filter_map(|(id, h)| branch_facts(id, h, self.branch_maintenance(id)))
            .collect();
        let costs: Vec<_> = self.panes.cost.rows.iter().filter_map(cost_facts).collect();
        let integrity = self
            .panes
            .ledger
            .integrity
            .as_ref()
            .map(|(_, i)| integrity_facts(i));
        let started = self.shell.started;
        let sources: Vec<_> = self
            .data
            .sources
            .iter()
            .filter(|(id, _)| {
                matches!(
                    id,
                    crate::protocol::SourceId::Exporter(_)
                        | crate::protocol::SourceId::Health
                        | crate::protocol::SourceId::Prometheus
                )
            })
            .filter_map(|(id, st)| source_facts(st, id.label(), started, SOURCE_EVERY))
            .collect();
        let root = self.data.hq.as_ref().map(|h| h.root.clone());
        let files: Vec<crate::domain::hq::FileError> = self
            .file_errors()
            .into_iter()
            .map(|e| {
                let mut e = e.clone();
                if let Some(rel) = root.as_ref().and_then(|r| e.path.strip_prefix(r).ok()) {
                    e.path = rel.to_path_buf();
                }
                e
            })
            .collect();
        let ledger_read = self
            .data
            .sources
            .get(&crate::protocol::SourceId::Ledger)
            .is_some_and(|s| s.last_ok.is_some());
        let rejects = ledger_read.then(|| crate::domain::alerts::RejectFacts {
            count: self.panes.ledger.rejects,
            newest_line: self.panes.ledger.reject_rows.back().map(|r| r.line),
        });
        let hq = self.data.hq.as_ref();
        let conflict = hq.and_then(|h| h.conflict_policy.as_ref()).map(|p| {
            crate::domain::alerts::ConflictPolicy {
                timeout_hours: p.on_conflict.timeout_hours,
                escalate_to: p.on_conflict.escalate_to.clone(),
            }
        });
        let gateway = hq.and_then(|h| h.gateway.as_ref());
        let inputs = Inputs {
            branches: &branches,
            costs: &costs,
            integrity: integrity.as_ref(),
            rejects,
            kill_switch: hq.and_then(|h| h.decision.as_ref()).map(|d| d.kill_switch),
            conflict_policy: conflict.as_ref(),
            sources: &sources,
            files: &files,
            rhythm: crate::domain::alerts::RhythmFacts::from_deque(
                &self.panes.rhythm.points,
                gateway.map(|g| g.risk_band_max),
                gateway.map(|g| g.creative_band_min),
            ),
            // The custody view's report (refreshed with the custody files and hourly).
            custody: self.panes.seed.custody.as_ref(),
        };
        let first = self.data.alerts.evaluations() == 0;
        let (t, req) = self.data.alerts.evaluate(now, &inputs);
        if let Some(r) = req {
            self.commands.push(crate::protocol::Command::Alerts(r));
        }
        if !t.is_quiet() {
            self.shell.dirty = true;
        }
        self.alerts_notice(&t, first);
    }

    /// A notice when alerts start firing: the worst new one, or how many. A bad
    /// file is left out: the standing notice under the header already names it.
    fn alerts_notice(&mut self, t: &Transitions, first: bool) {
        let fired: Vec<&Alert> = t
            .fired
            .iter()
            .filter(|a| a.alertname != crate::domain::alerts::AlertName::FileInvalid)
            .collect();
        let key = self
            .shell
            .keymap
            .keys_for(Action::ToggleAlerts)
            .first()
            .map(|k| format!(" — press {} for the alerts", k.label()))
            .unwrap_or_default();
        let level = |s: Severity| match s {
            Severity::Critical => super::ToastLevel::Error,
            Severity::Warning => super::ToastLevel::Warn,
            Severity::Info => super::ToastLevel::Info,
        };
        match fired.as_slice() {
            [] => {}
            // The first evaluation reports what already fired: the header says it.
            _ if first => {}
            [a] => {
                let text = format!("{}: {}{key}", a.severity.as_str(), a.summary);
                self.toast(level(a.severity), text);
            }
            many => {
                let worst = many
                    .iter()
                    .map(|a| a.severity)
                    .min()
                    .unwrap_or(Severity::Info);
                let critical = many
                    .iter()
                    .filter(|a| a.severity == Severity::Critical)
                    .count();
                let text = match critical {
                    0 => format!("{} new alerts{key}", many.len()),
                    c => format!("{} new alerts, {c} critical{key}", many.len()),
                };
                self.toast(level(worst), text);
            }
        }
    }

    /// `a`: open or close the alerts view.
    pub(crate) fn toggle_alerts(&mut self) {
        if let Some(r) = self.data.alerts.toggle() {
            self.commands.push(crate::protocol::Command::Alerts(r));
        }
        self.shell.dirty = true;
    }

    /// The alerts view is open: it takes every key (its own, Quit and Help act;
    /// the others are ignored while it is open).
    pub(crate) fn alerts_view_key(&mut self, k: &KeyEvent) {
        self.shell.dirty = true;
        let Some(a) = self.shell.keymap.action_for(k) else {
            return;
        };
        match a {
            Action::Quit | Action::ToggleHelp | Action::CycleTheme => {
                self.act(a);
                return;
            }
            _ => {}
        }
        // Two lines per alert: a page is half the view's rows.
        let page = usize::from(self.shell.size.1.saturating_sub(8) / 2).max(1);
        match self.data.alerts.action(a, page) {
            Outcome::Nothing | Outcome::Close => {}
            Outcome::Jump(t) => self.jump_to(t),
            Outcome::Notice(text) => self.toast(super::ToastLevel::Warn, text),
            Outcome::Silence => self.open_silence_form(),
        }
    }

    /// The mouse while the view (or its form) is open: the wheel moves the
    /// selection; nothing reaches the panes underneath.
    pub(crate) fn alerts_mouse(&mut self, kind: crossterm::event::MouseEventKind) {
        use crossterm::event::MouseEventKind;
        if self.data.alerts.form.is_some() {
            return;
        }
        let a = match kind {
            MouseEventKind::ScrollUp => Action::Up,
            MouseEventKind::ScrollDown => Action::Down,
            _ => return,
        };
        self.data.alerts.action(a, 1);
        self.shell.dirty = true;
    }

    fn open_silence_form(&mut self) {
        let what = Action::SilenceAlert.describe();
        if self.shell.readonly {
            let why = self
                .shell
                .readonly_reason
                .clone()
                .unwrap_or_else(|| "read-only console".into());
            self.toast(
                super::ToastLevel::Warn,
                format!("silence: unavailable — {why}"),
            );
            return;
        }
        if self.shell.running {
            self.toast(super::ToastLevel::Warn, "another action is still running");
            return;
        }
        let op = crate::domain::policy::Operation::AlertSilence;
        if let Some(why) = self.broken_dependency(op) {
            self.toast(
                super::ToastLevel::Error,
                format!("{what}: refused — {why} (fix it first)"),
            );
            return;
        }
        if let Some(role) = &self.shell.operator_role {
            let policy = self.data.hq.as_ref().and_then(|h| h.rbac.as_ref());
            if let Err(r) = crate::domain::policy::allowed(policy, role, op) {
                self.toast(super::ToastLevel::Error, format!("refused: {}", r.reason));
                return;
            }
        }
        self.data.alerts.form = self.data.alerts.silence_form();
    }

    /// The silence form is open: it takes every key.
    pub(crate) fn silence_form_key(&mut self, k: &KeyEvent) {
        self.shell.dirty = true;
        let Some(f) = self.data.alerts.form.as_mut() else {
            return;
        };
        match f.key(*k) {
            FormOutcome::Editing => {}
            FormOutcome::Cancelled => {
                self.data.alerts.form = None;
                self.toast(super::ToastLevel::Info, "cancelled: nothing was done");
            }
            FormOutcome::Submit(action) => {
                self.data.alerts.form = None;
                self.shell.running = true;
                self.commands
                    .push(crate::protocol::Command::Execute(action));
                self.toast(
                    super::ToastLevel::Info,
                    "confirmed: recording on the ledger first…",
                );
            }
        }
    }

    /// Show what is behind an alert.
    fn jump_to(&mut self, t: Target) {
        use super::Pane;
        match t {
            Target::Branch { id } => {
                self.shell.focus = Pane::Health;
                if !self.panes.health.visible.contains(&id) && !self.panes.health.filter.is_empty()
                {
                    self.panes.health.filter = Default::default();
                    self.refresh_health_order();
                    self.toast(super::ToastLevel::Info, "health filter cleared to show it");
                }
                match self.panes.health.visible.iter().position(|b| *b == id) {
                    Some(i) => {
                        let h = &mut self.panes.health;
                        h.sel = i;
                        h.touched = true;
                        h.detail = false;
                        let page = self.pane_rows(Pane::Health, 3);
                        let n = self.panes.health.visible.len();
                        self.panes.health.offset =
                            super::scroll_into_view(self.panes.health.offset, i, page, n);
                    }
                    None => self.toast(
                        super::ToastLevel::Warn,
                        format!("{} is not in the registry", sanitize(&id)),
                    ),
                }
            }
            Target::Ledger { line, id } => {
                self.shell.focus = Pane::Ledger;
                let v = &mut self.panes.ledger_view;
                v.rejects = false;
                match (id, line) {
                    (Some(id), _) => {
                        v.jumping = Some(id.clone());
                        self.commands.push(crate::protocol::Command::Ledger(
                            crate::protocol::LedgerRequest::FindId { id },
                        ));
                    }
                    (None, Some(line)) => {
                        v.follow = false;
                        v.detail = false;
                        v.sel = line;
                        self.ledger_fetch();
                    }
                    (None, None) => {}
                }
            }
            Target::Rejects { .. } => {
                self.shell.focus = Pane::Ledger;
                self.panes.ledger_view.rejects = true;
                self.panes.ledger_view.detail = false;
            }
            Target::Rhythm { .. } => self.shell.focus = Pane::Rhythm,
            Target::File { path, line, column } => self.toast(
                super::ToastLevel::Warn,
                format!(
                    "fix {}:{line}:{column} (see the notice under the header)",
                    sanitize(&path)
                ),
            ),
            Target::Source { name } => self.toast(
                super::ToastLevel::Warn,
                format!(
                    "{} is failing: its pane shows the error and its age",
                    sanitize(&name)
                ),
            ),
        }
        self.shell.dirty = true;
    }
}

/// Poll interval assumed for a source that does not say (exporters poll every
/// second or so): `SourceDown` fires after three of them.
const SOURCE_EVERY: Duration = Duration::from_secs(5);

/// Messages that change a fact the evaluation looks at (ledger lines are folded in
/// as they come; the exporter's samples are looked at on the once-a-second
/// evaluation).
pub(crate) fn changes_facts(m: &crate::protocol::Msg) -> bool {
    use crate::protocol::Msg;
    matches!(
        m,
        Msg::HealthChecked { .. }
            | Msg::IntegrityChecked { .. }
            | Msg::RegistryReloaded { .. }
            | Msg::RegistryInvalid { .. }
            | Msg::SourceFailed { .. }
            | Msg::SourceRecovered { .. }
            | Msg::SourceMissing { .. }
            | Msg::LedgerReset { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::alerts::{
        BranchFacts, HealthEscalation, HealthStatus, IntegrityFacts, ListedStatus, Matcher,
        SilenceStatus,
    };

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    fn entry(id: &str, branch: &str, event: &str, ts: i64) -> Entry {
        let line = format!(
            r#"{{"id":"{id}","branch":"{branch}","event":"{event}","actor":"ci","timestamp":"{}"}}"#,
            at(ts).to_rfc3339()
        );
        crate::domain::ledger::parse_line(line.as_bytes()).unwrap()
    }

    fn down(id: &str, failures: u32) -> BranchFacts {
        BranchFacts {
            id: id.into(),
            status: HealthStatus::Down,
            consecutive_failures: failures,
            escalation: if failures >= 3 {
                HealthEscalation::RollbackProposed
            } else {
                HealthEscalation::Retry
            },
            down_since: Some(at(0)),
            last_error: Some("connection refused".into()),
        }
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn deploy_failed_fires_then_clears_and_the_rate_limit_holds() {
        let mut s = AlertsState::default();
        let integrity = IntegrityFacts::Checked(vec![]);
        let inputs = Inputs {
            integrity: Some(&integrity),
            kill_switch: Some(false),
            ..Default::default()
        };
        assert!(s.due(at(0)));
        let (t, req) = s.evaluate(at(0), &inputs);
        assert!(t.firing.is_empty());
        assert!(req.is_none(), "no Alertmanager configured: nothing to post");
        assert_eq!(s.summary().short(), "0↓ 0✗dep 0$ L✓ KS off");
        assert!(!s.due(at(0)), "nothing changed within the second");

        s.ingest(Some(7), &entry("TXN-1", "koosy", "deploy_failed", 1));
        assert!(s.due(at(1)));
        let (t, _) = s.evaluate(at(2), &inputs);
        assert_eq!(t.fired.len(), 1);
        assert_eq!(s.firing().len(), 1);
        assert_eq!(s.summary().short(), "0↓ 1✗dep 0$ L✓ KS off");
        assert_eq!(
            s.firing().first().map(|a| a.target.clone()),
            Some(Target::Ledger {
                line: Some(7),
                id: Some("TXN-1".into())
            })
        );

        // The branch's next successful deploy clears it.
        let mut ok = entry("TXN-2", "koosy", "deploy", 3);
        ok.status = Some("success".into());
        s.ingest(Some(8), &ok);
        let (t, _) = s.evaluate(at(3), &inputs);
        assert_eq!(t.resolved.len(), 1);
        assert!(s.firing().is_empty());
        assert_eq!(s.summary().short(), "0↓ 0✗dep 0$ L✓ KS off");
    }

    #[test]
    fn selection_follows_the_alert_and_enter_jumps() {
        let mut s = AlertsState::default();
        let b = [down("alpha", 1), down("beta", 1)];
        let inputs = Inputs {
            branches: &b,
            ..Default::default()
        };
        s.evaluate(at(10), &inputs);
        assert_eq!(s.rows(), 2);
        s.open = true;
        // Same severity and start: by name, alpha then beta.
        assert_eq!(s.action(Action::Down, 10), Outcome::Nothing);
        assert_eq!(s.selection(), 1);
        // beta escalates to critical: it moves to the top and stays selected.
        let b2 = [down("alpha", 1), down("beta", 3)];
        s.evaluate(
            at(20),
            &Inputs {
                branches: &b2,
                ..Default::default()
            },
        );
        assert_eq!(s.selection(), 0, "the escalated alert sorts first");
        match s.selected() {
            Some(Selected::Here(a)) => {
                assert_eq!(a.branch(), Some("beta"));
                assert_eq!(a.severity, Severity::Critical);
            }
            other => panic!("unexpected selection {other:?}"),
        }
        let out = s.action(Action::Select, 10);
        assert_eq!(out, Outcome::Jump(Target::Branch { id: "beta".into() }));
        assert!(!s.open, "Enter closes the view");
    }

    fn listed(labels: &[(&str, &str)], summary: &str, silenced: bool) -> ListedAlert {
        ListedAlert {
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: [("summary".to_string(), summary.to_string())].into(),
            starts_at: at(0).to_rfc3339(),
            ends_at: String::new(),
            fingerprint: "f".into(),
            status: ListedStatus {
                state: if silenced { "suppressed" } else { "active" }.into(),
                silenced_by: if silenced { vec!["s1".into()] } else { vec![] },
            },
        }
    }

    #[test]
    fn alertmanager_listing_joins_ours_and_lists_the_others() {
        let mut s = AlertsState::default();
        s.set_alertmanager(Some("http://127.0.0.1:9093".into()), "hq1".into());
        let b = [down("alpha", 1)];
        let inputs = Inputs {
            branches: &b,
            ..Default::default()
        };
        let (_, req) = s.evaluate(at(1), &inputs);
        assert!(matches!(req, Some(AlertsRequest::Evaluated { .. })));
        let (_, req) = s.evaluate(at(2), &inputs);
        assert!(
            req.is_none(),
            "nothing changed: the link re-posts on its own"
        );
        s.on_report(AmReport::Listed {
            alerts: vec![
                listed(
                    &[
                        ("alertname", "BranchDown"),
                        ("branch", "alpha"),
                        ("hq", "hq1"),
                        ("severity", "warning"),
                    ],
                    "alpha is down",
                    true,
                ),
                listed(
                    &[
                        ("alertname", "LumenRiskBandHigh"),
                        ("severity", "critical"),
                        ("job", "lumen\u{1b}[31m"),
                    ],
                    "risk band above 0.8\u{7}",
                    false,
                ),
            ],
            silences: vec![Silence {
                id: "s1".into(),
                matchers: vec![Matcher {
                    name: "branch".into(),
                    value: "alpha".into(),
                    is_regex: false,
                    is_equal: true,
                }],
                starts_at: at(0).to_rfc3339(),
                ends_at: at(7200).to_rfc3339(),
                created_by: "ops-1".into(),
                comment: "fixing it".into(),
                status: SilenceStatus {
                    state: "active".into(),
                },
            }],
            at: at(3),
        });
        assert_eq!(s.rows(), 2, "ours once, plus the Prometheus rule's");
        let ours = s.firing().first().cloned().unwrap();
        assert!(s.is_silenced(&ours));
        let other = s.am.other(0).unwrap();
        assert_eq!(other.name, "LumenRiskBandHigh");
        assert_eq!(other.summary, "risk band above 0.8", "sanitised");
        assert_eq!(s.am.silences.len(), 1);
        assert_eq!(s.am.silences[0].matchers, "branch=alpha");

        // Down: the error and since when; the listing stays.
        for (i, e) in ["connection refused", "timed out"].iter().enumerate() {
            s.on_report(AmReport::Failed {
                error: (*e).into(),
                at: at(10 + i as i64),
                retry_in: Duration::from_secs(2),
            });
        }
        let f = s.am.failing.clone().unwrap();
        assert_eq!((f.since, f.error.as_str()), (at(10), "timed out"));
        assert_eq!(s.rows(), 2);
        s.on_report(AmReport::Posted {
            alerts: 1,
            at: at(20),
        });
        assert!(s.am.failing.is_none());
    }

    #[test]
    fn silence_needs_alertmanager_and_a_checked_form() {
        let mut s = AlertsState::default();
        let b = [down("alpha", 1)];
        s.evaluate(
            at(1),
            &Inputs {
                branches: &b,
                ..Default::default()
            },
        );
        s.open = true;
        assert!(
            matches!(s.action(Action::SilenceAlert, 5), Outcome::Notice(m) if m.contains("alertmanager_url"))
        );
        s.set_alertmanager(Some("http://am".into()), "hq1".into());
        assert_eq!(s.action(Action::SilenceAlert, 5), Outcome::Silence);
        let mut f = s.silence_form().unwrap();
        assert_eq!(f.expected, "alpha");
        assert_eq!(f.duration.value(), "2h");
        assert!(!f.labels.contains_key("severity"));
        assert_eq!(f.labels.get("hq").map(String::as_str), Some("hq1"));
        // The comment field comes first; Enter moves on to the confirmation.
        assert_eq!(f.field, Field::Comment);
        assert_eq!(f.key(key(KeyCode::Enter)), FormOutcome::Editing);
        assert_eq!(f.field, Field::Confirm);
        for c in "alpha".chars() {
            f.key(key(KeyCode::Char(c)));
        }
        assert_eq!(f.typed.value(), "alpha");
        // Submitting without a comment is refused, back on the comment field.
        assert_eq!(f.key(key(KeyCode::Enter)), FormOutcome::Editing);
        assert!(f.error.as_deref().unwrap_or_default().contains("comment"));
        assert_eq!(f.field, Field::Comment);
        for c in "deploying a fix".chars() {
            f.key(key(KeyCode::Char(c)));
        }
        // A bad duration is refused with the reason.
        f.field = Field::Duration;
        f.key(key(KeyCode::Backspace));
        f.key(key(KeyCode::Char('x')));
        f.field = Field::Confirm;
        assert_eq!(f.key(key(KeyCode::Enter)), FormOutcome::Editing);
        assert!(
            f.error
                .as_deref()
                .unwrap_or_default()
                .starts_with("duration")
        );
        assert_eq!(f.field, Field::Duration);
        f.key(key(KeyCode::Backspace));
        f.key(key(KeyCode::Char('h')));
        f.field = Field::Confirm;
        match f.key(key(KeyCode::Enter)) {
            FormOutcome::Submit(PendingAction::SilenceAlert {
                labels,
                duration,
                comment,
            }) => {
                assert_eq!(duration, Duration::from_secs(7200));
                assert_eq!(comment, "deploying a fix");
                assert_eq!(labels.get("branch").map(String::as_str), Some("alpha"));
            }
            other => panic!("expected a submit, got {other:?}"),
        }
        assert_eq!(f.key(key(KeyCode::Esc)), FormOutcome::Cancelled);
    }
}
