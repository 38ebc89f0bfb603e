//! Scenario files: the YAML schema (docs/scenarios.md), parsing with serde-saphyr
//! under a tight budget, and semantic validation. Every error carries the file,
//! line and column of the offending element.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One finding in a scenario or script file: `file:line:col: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            crate::domain::sanitize::sanitize(&self.file),
            self.line,
            self.column,
            crate::domain::sanitize::sanitize(&self.message)
        )
    }
}

impl std::error::Error for Diagnostic {}

/// Parse options shared by scenario and script files: small documents only, and a
/// budget that stops alias bombs ("billion laughs") long before they cost memory.
pub fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(1024 * 1024);
    budget.max_events = 100_000;
    budget.max_aliases = 200;
    budget.max_anchors = 200;
    budget.max_depth = 32;
    budget.max_documents = 1;
    budget.max_nodes = 50_000;
    budget.max_total_scalar_bytes = 1024 * 1024;
    budget.max_recorded_anchor_events = 10_000;
    budget.max_recorded_anchor_bytes = 256 * 1024;
    serde_saphyr::options! {
        budget: Some(budget),
    }
}

/// Parse one YAML document with the scenario options; errors as a diagnostic at the
/// position to fix (see `crate::domain::yaml`), 1:1 when the library gives none.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<T, Diagnostic> {
    crate::domain::yaml::from_str(text, yaml_options()).map_err(|e| Diagnostic {
        file: file.to_string(),
        line: (e.line as u64).max(1),
        column: (e.column as u64).max(1),
        message: e.message,
    })
}

fn diag<T>(file: &str, at: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: at.referenced.line().max(1),
        column: at.referenced.column().max(1),
        message: message.into(),
    }
}

// ---------------------------------------------------------------- raw file shape

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default = "default_pass_mark")]
    pass_mark: Spanned<u32>,
    roles: Vec<RawRole>,
    steps: Vec<RawStep>,
    #[serde(default)]
    anomalies: Vec<RawAnomaly>,
    #[serde(default)]
    quiz: Vec<RawQuestion>,
}

fn default_pass_mark() -> Spanned<u32> {
    Spanned::new(
        70,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    id: Spanned<String>,
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Spanned<String>,
    kind: Spanned<String>,
    instruction: String,
    #[serde(default)]
    actors: Vec<Spanned<String>>,
    #[serde(default)]
    witness: Option<Spanned<String>>,
    #[serde(default)]
    expected: Option<String>,
    #[serde(default)]
    options: Vec<RawOption>,
    #[serde(default)]
    answer: Option<Spanned<String>>,
    #[serde(default)]
    quorum: Option<Spanned<u32>>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    revoked: Vec<String>,
    #[serde(default = "default_budget")]
    budget: u64,
    #[serde(default = "default_points")]
    points: u32,
    #[serde(default)]
    critical: bool,
}

fn default_budget() -> u64 {
    120
}
fn default_points() -> u32 {
    10
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOption {
    id: Spanned<String>,
    text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnomaly {
    id: Spanned<String>,
    #[serde(rename = "type")]
    kind: String,
    message: String,
    #[serde(default)]
    at: Option<Spanned<String>>,
    #[serde(default)]
    random: Option<Spanned<RawRandom>>,
    #[serde(default)]
    effect: Option<Spanned<String>>,
    responses: Vec<RawResponse>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRandom {
    probability: f64,
    steps: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawResponse {
    id: Spanned<String>,
    text: String,
    grade: Spanned<String>,
    points: u32,
    explanation: String,
    #[serde(default)]
    consequence: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuestion {
    id: Spanned<String>,
    question: String,
    #[serde(default)]
    options: Vec<RawOption>,
    #[serde(default)]
    answer: Option<Spanned<String>>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default = "default_quiz_points")]
    points: u32,
    #[serde(default)]
    explanation: String,
}

fn default_quiz_points() -> u32 {
    5
}

// ---------------------------------------------------------------- validated model

/// A validated scenario: what the state machine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub summary: String,
    /// Percentage of the maximum score needed to pass.
    pub pass_mark: u32,
    pub roles: Vec<Role>,
    pub steps: Vec<Step>,
    pub anomalies: Vec<Anomaly>,
    pub quiz: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    pub id: String,
    pub title: String,
}

/// What a step asks for. Crypto kinds do real Ed25519 work in the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepKind {
    /// A physical check (seal, serial, identity): the actor answers `ok` (or the
    /// `expected` text) when the check holds.
    Check { expected: String },
    /// The actor types `expected` exactly.
    TypeToConfirm { expected: String },
    /// The actor picks one option id; `answer` is correct.
    Choose {
        options: Vec<ChoiceOption>,
        answer: String,
    },
    /// The actor signs the step record with their own key.
    Sign,
    /// `k` distinct participants holding the step's actor roles each sign the record.
    Quorum { k: u32 },
    /// Generate the ephemeral root key and show its fingerprint.
    GenerateRoot,
    /// Type the first 8 hex digits of the root fingerprint.
    ConfirmFingerprint,
    /// The root signs a certificate for a new signer key named `subject`.
    IssueSigner { subject: String },
    /// The root signs a CRL revoking `revoked` serials.
    SignCrl { revoked: Vec<String> },
    /// Every signature made so far is verified against the root public key; the
    /// actor reports `valid` or `invalid` and is right when it matches reality.
    Verify,
}

impl StepKind {
    pub fn name(&self) -> &'static str {
        match self {
            StepKind::Check { .. } => "check",
            StepKind::TypeToConfirm { .. } => "type_to_confirm",
            StepKind::Choose { .. } => "choose",
            StepKind::Sign => "sign",
            StepKind::Quorum { .. } => "quorum",
            StepKind::GenerateRoot => "generate_root",
            StepKind::ConfirmFingerprint => "confirm_fingerprint",
            StepKind::IssueSigner { .. } => "issue_signer",
            StepKind::SignCrl { .. } => "sign_crl",
            StepKind::Verify => "verify",
        }
    }
}

/// Step kinds a scenario may use.
pub const STEP_KINDS: &[&str] = &[
    "check",
    "type_to_confirm",
    "choose",
    "sign",
    "quorum",
    "generate_root",
    "confirm_fingerprint",
    "issue_signer",
    "sign_crl",
    "verify",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceOption {
    pub id: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub id: String,
    pub instruction: String,
    /// Roles allowed to act (for a quorum: the roles whose holders may sign).
    pub actors: Vec<String>,
    pub witness: Option<String>,
    pub kind: StepKind,
    /// Time budget in seconds.
    pub budget: u64,
    pub points: u32,
    /// A wrong answer here fails the rehearsal.
    pub critical: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Grade {
    Right,
    Acceptable,
    Wrong,
}

/// What happens to the ceremony after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Consequence {
    /// The ceremony continues.
    Continue,
    /// The ceremony is stopped and the rehearsal fails.
    Fail,
    /// The ceremony is halted properly and rescheduled; remaining steps are not scored.
    Postpone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// The signing device was swapped: every later root signature is made by an
    /// impostor key, so a later `verify` step fails for real.
    FingerprintMismatch,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Fires when this step becomes current.
    At(String),
    /// With this probability (seeded), fires at one of these steps.
    Random {
        probability: f64,
        steps: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Anomaly {
    pub id: String,
    pub kind: String,
    pub message: String,
    pub trigger: Trigger,
    pub effect: Option<Effect>,
    pub responses: Vec<Response>,
}

impl Anomaly {
    pub fn best_points(&self) -> u32 {
        self.responses.iter().map(|r| r.points).max().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub id: String,
    pub text: String,
    pub grade: Grade,
    pub points: u32,
    pub explanation: String,
    pub consequence: Consequence,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionKind {
    Choice {
        options: Vec<ChoiceOption>,
        answer: String,
    },
    /// Points are shared out over the keywords the answer mentions.
    Short { keywords: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    pub id: String,
    pub question: String,
    pub kind: QuestionKind,
    pub points: u32,
    pub explanation: String,
}

// ---------------------------------------------------------------- parse + validate

/// Points per step, response or question are capped so that totals over the
/// largest document the parse budget admits still fit in a `u32`.
pub const MAX_POINTS: u32 = 1000;

/// Parse and validate one scenario file. `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Scenario, Vec<Diagnostic>> {
    let raw: RawScenario = parse_yaml(file, text).map_err(|d| vec![d])?;
    validate(file, raw)
}

fn check_id(file: &str, id: &Spanned<String>, what: &str, errs: &mut Vec<Diagnostic>) {
    let ok = !id.value.is_empty()
        && id.value.len() <= 64
        && id
            .value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        errs.push(diag(
            file,
            id,
            format!(
                "{what} id `{}` must be 1-64 characters of a-z, 0-9, '-' or '_'",
                id.value
            ),
        ));
    }
}

fn validate(file: &str, raw: RawScenario) -> Result<Scenario, Vec<Diagnostic>> {
    let mut errs = Vec::new();
    check_id(file, &raw.id, "scenario", &mut errs);
    if raw.pass_mark.value > 100 {
        errs.push(diag(
            file,
            &raw.pass_mark,
            "pass_mark is a percentage (0-100)",
        ));
    }

    // Roles.
    let mut role_ids = BTreeSet::new();
    for r in &raw.roles {
        check_id(file, &r.id, "role", &mut errs);
        if !role_ids.insert(r.id.value.clone()) {
            errs.push(diag(
                file,
                &r.id,
                format!("duplicate role id `{}`", r.id.value),
            ));
        }
    }
    if raw.roles.len() < 2 {
        errs.push(Diagnostic {
            file: file.into(),
            line: raw.id.referenced.line().max(1),
            column: raw.id.referenced.column().max(1),
            message: "a scenario needs at least two roles".into(),
        });
    }
    let role_ok = |r: &Spanned<String>, errs: &mut Vec<Diagnostic>| {
        if !role_ids.contains(&r.value) {
            errs.push(diag(
                file,
                r,
                format!("role `{}` is not declared under roles", r.value),
            ));
        }
    };

    // Steps.
    if raw.steps.is_empty() {
        errs.push(diag(file, &raw.id, "a scenario needs at least one step"));
    }
    let mut step_ids: BTreeMap<String, usize> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut has_root = false;
    for (i, s) in raw.steps.iter().enumerate() {
        check_id(file, &s.id, "step", &mut errs);
        if step_ids.insert(s.id.value.clone(), i).is_some() {
            errs.push(diag(
                file,
                &s.id,
                format!("duplicate step id `{}`", s.id.value),
            ));
        }
        for a in &s.actors {
            role_ok(a, &mut errs);
        }
        if let Some(w) = &s.witness {
            role_ok(w, &mut errs);
        }
        if s.points > MAX_POINTS {
            errs.push(diag(
                file,
                &s.id,
                format!("points must be at most {MAX_POINTS}"),
            ));
        }
        if s.actors.is_empty() {
            errs.push(diag(
                file,
                &s.id,
                format!("step `{}` has no actors", s.id.value),
            ));
        }
        if s.budget == 0 {
            errs.push(diag(
                file,
                &s.id,
                "a step's budget must be at least 1 second",
            ));
        }
        let kind = match s.kind.value.as_str() {
            "check" => Some(StepKind::Check {
                expected: s.expected.clone().unwrap_or_else(|| "ok".into()),
            }),
            "type_to_confirm" => match &s.expected {
                Some(e) if !e.trim().is_empty() => Some(StepKind::TypeToConfirm {
                    expected: e.trim().to_string(),
                }),
                _ => {
                    errs.push(diag(
                        file,
                        &s.kind,
                        "a type_to_confirm step needs a non-empty `expected`",
                    ));
                    None
                }
            },
            "choose" => choice(file, &s.kind, &s.options, s.answer.as_ref(), &mut errs)
                .map(|(options, answer)| StepKind::Choose { options, answer }),
            "sign" => Some(StepKind::Sign),
            "quorum" => match &s.quorum {
                Some(k) if k.value >= 1 => Some(StepKind::Quorum { k: k.value }),
                Some(k) => {
                    errs.push(diag(file, k, "quorum must be at least 1"));
                    None
                }
                None => {
                    errs.push(diag(file, &s.kind, "a quorum step needs `quorum: K`"));
                    None
                }
            },
            "generate_root" => {
                has_root = true;
                Some(StepKind::GenerateRoot)
            }
            "confirm_fingerprint" | "issue_signer" | "sign_crl" | "verify" if !has_root => {
                errs.push(diag(
                    file,
                    &s.kind,
                    format!(
                        "a {} step needs an earlier generate_root step",
                        s.kind.value
                    ),
                ));
                None
            }
            "confirm_fingerprint" => Some(StepKind::ConfirmFingerprint),
            "issue_signer" => Some(StepKind::IssueSigner {
                subject: s.subject.clone().unwrap_or_else(|| "signer".into()),
            }),
            "sign_crl" => Some(StepKind::SignCrl {
                revoked: s.revoked.clone(),
            }),
            "verify" => Some(StepKind::Verify),
            other => {
                errs.push(diag(
                    file,
                    &s.kind,
                    format!(
                        "unknown step kind `{other}` (known: {})",
                        STEP_KINDS.join(", ")
                    ),
                ));
                None
            }
        };
        if s.kind.value != "quorum"
            && let Some(q) = &s.quorum
        {
            errs.push(diag(
                file,
                q,
                "`quorum` is only meaningful on a quorum step",
            ));
        }
        if let Some(kind) = kind {
            steps.push(Step {
                id: s.id.value.clone(),
                instruction: s.instruction.clone(),
                actors: s.actors.iter().map(|a| a.value.clone()).collect(),
                witness: s.witness.as_ref().map(|w| w.value.clone()),
                kind,
                budget: s.budget,
                points: s.points,
                critical: s.critical,
            });
        }
    }

    // Anomalies.
    let mut anomaly_ids = BTreeSet::new();
    let mut anomalies = Vec::new();
    for a in &raw.anomalies {
        check_id(file, &a.id, "anomaly", &mut errs);
        if !anomaly_ids.insert(a.id.value.clone()) {
            errs.push(diag(
                file,
                &a.id,
                format!("duplicate anomaly id `{}`", a.id.value),
            ));
        }
        let trigger = match (&a.at, &a.random) {
            (Some(at), None) => {
                if step_ids.contains_key(&at.value) {
                    Some(Trigger::At(at.value.clone()))
                } else {
                    errs.push(diag(
                        file,
                        at,
                        format!(
                            "anomaly `{}` can never fire: step `{}` does not exist",
                            a.id.value, at.value
                        ),
                    ));
                    None
                }
            }
            (None, Some(r)) => {
                let p = r.value.probability;
                let mut ok = true;
                if !(p > 0.0 && p <= 1.0) {
                    errs.push(diag(
                        file,
                        r,
                        format!(
                            "anomaly `{}` can never fire: probability must be in (0, 1]",
                            a.id.value
                        ),
                    ));
                    ok = false;
                }
                if r.value.steps.is_empty() {
                    errs.push(diag(
                        file,
                        r,
                        format!("anomaly `{}` can never fire: no steps listed", a.id.value),
                    ));
                    ok = false;
                }
                for st in &r.value.steps {
                    if !step_ids.contains_key(&st.value) {
                        errs.push(diag(
                            file,
                            st,
                            format!("step `{}` does not exist", st.value),
                        ));
                        ok = false;
                    }
                }
                ok.then(|| Trigger::Random {
                    probability: p,
                    steps: r.value.steps.iter().map(|s| s.value.clone()).collect(),
                })
            }
            (Some(at), Some(_)) => {
                errs.push(diag(file, at, "give either `at` or `random`, not both"));
                None
            }
            (None, None) => {
                errs.push(diag(
                    file,
                    &a.id,
                    format!(
                        "anomaly `{}` can never fire: it has neither `at` nor `random`",
                        a.id.value
                    ),
                ));
                None
            }
        };
        let effect = match &a.effect {
            None => None,
            Some(e) if e.value == "fingerprint_mismatch" => Some(Effect::FingerprintMismatch),
            Some(e) => {
                errs.push(diag(
                    file,
                    e,
                    format!("unknown effect `{}` (known: fingerprint_mismatch)", e.value),
                ));
                None
            }
        };
        if effect == Some(Effect::FingerprintMismatch)
            && !has_root
            && let Some(e) = &a.effect
        {
            errs.push(diag(
                file,
                e,
                "fingerprint_mismatch needs a generate_root step in the scenario",
            ));
        }
        let mut responses = Vec::new();
        let mut response_ids = BTreeSet::new();
        for r in &a.responses {
            check_id(file, &r.id, "response", &mut errs);
            if r.points > MAX_POINTS {
                errs.push(diag(
                    file,
                    &r.id,
                    format!("points must be at most {MAX_POINTS}"),
                ));
            }
            if !response_ids.insert(r.id.value.clone()) {
                errs.push(diag(
                    file,
                    &r.id,
                    format!("duplicate response id `{}`", r.id.value),
                ));
            }
            let grade = match r.grade.value.as_str() {
                "right" => Some(Grade::Right),
                "acceptable" => Some(Grade::Acceptable),
                "wrong" => Some(Grade::Wrong),
                other => {
                    errs.push(diag(
                        file,
                        &r.grade,
                        format!("unknown grade `{other}` (known: right, acceptable, wrong)"),
                    ));
                    None
                }
            };
            let consequence = match r.consequence.as_ref().map(|c| c.value.as_str()) {
                None | Some("continue") => Some(Consequence::Continue),
                Some("fail") => Some(Consequence::Fail),
                Some("postpone") => Some(Consequence::Postpone),
                Some(other) => {
                    if let Some(c) = &r.consequence {
                        errs.push(diag(
                            file,
                            c,
                            format!(
                                "unknown consequence `{other}` (known: continue, fail, postpone)"
                            ),
                        ));
                    }
                    None
                }
            };
            if let (Some(grade), Some(consequence)) = (grade, consequence) {
                responses.push(Response {
                    id: r.id.value.clone(),
                    text: r.text.clone(),
                    grade,
                    points: r.points,
                    explanation: r.explanation.clone(),
                    consequence,
                });
            }
        }
        if !responses.iter().any(|r| r.grade == Grade::Right) {
            errs.push(diag(
                file,
                &a.id,
                format!(
                    "anomaly `{}` needs at least one `right` response",
                    a.id.value
                ),
            ));
        }
        if let Some(trigger) = trigger {
            anomalies.push(Anomaly {
                id: a.id.value.clone(),
                kind: a.kind.clone(),
                message: a.message.clone(),
                trigger,
                effect,
                responses,
            });
        }
    }

    // Quiz.
    let mut question_ids = BTreeSet::new();
    let mut quiz = Vec::new();
    for q in &raw.quiz {
        check_id(file, &q.id, "question", &mut errs);
        if q.points > MAX_POINTS {
            errs.push(diag(
                file,
                &q.id,
                format!("points must be at most {MAX_POINTS}"),
            ));
        }
        if !question_ids.insert(q.id.value.clone()) {
            errs.push(diag(
                file,
                &q.id,
                format!("duplicate question id `{}`", q.id.value),
            ));
        }
        let kind = if !q.options.is_empty() {
            choice(file, &q.id, &q.options, q.answer.as_ref(), &mut errs)
                .map(|(options, answer)| QuestionKind::Choice { options, answer })
        } else if !q.keywords.is_empty() {
            Some(QuestionKind::Short {
                keywords: q.keywords.iter().map(|k| k.to_lowercase()).collect(),
            })
        } else {
            errs.push(diag(
                file,
                &q.id,
                "a question needs `options` + `answer` (multiple choice) or `keywords` (short answer)",
            ));
            None
        };
        if let Some(kind) = kind {
            quiz.push(Question {
                id: q.id.value.clone(),
                question: q.question.clone(),
                kind,
                points: q.points,
                explanation: q.explanation.clone(),
            });
        }
    }

    if !errs.is_empty() {
        errs.sort_by_key(|d| (d.line, d.column));
        return Err(errs);
    }
    Ok(Scenario {
        id: raw.id.value,
        title: raw.title,
        summary: raw.summary,
        pass_mark: raw.pass_mark.value,
        roles: raw
            .roles
            .into_iter()
            .map(|r| Role {
                id: r.id.value,
                title: r.title,
            })
            .collect(),
        steps,
        anomalies,
        quiz,
    })
}

fn choice<T>(
    file: &str,
    at: &Spanned<T>,
    options: &[RawOption],
    answer: Option<&Spanned<String>>,
    errs: &mut Vec<Diagnostic>,
) -> Option<(Vec<ChoiceOption>, String)> {
    if options.len() < 2 {
        errs.push(diag(
            file,
            at,
            "a multiple-choice element needs at least two options",
        ));
        return None;
    }
    let mut seen = BTreeSet::new();
    for o in options {
        if !seen.insert(o.id.value.as_str()) {
            errs.push(diag(
                file,
                &o.id,
                format!("duplicate option id `{}`", o.id.value),
            ));
        }
    }
    let Some(answer) = answer else {
        errs.push(diag(
            file,
            at,
            "a multiple-choice element needs an `answer`",
        ));
        return None;
    };
    if !seen.contains(answer.value.as_str()) {
        errs.push(diag(
            file,
            answer,
            format!("answer `{}` is not one of the option ids", answer.value),
        ));
        return None;
    }
    Some((
        options
            .iter()
            .map(|o| ChoiceOption {
                id: o.id.value.clone(),
                text: o.text.clone(),
            })
            .collect(),
        answer.value.clone(),
    ))
}
