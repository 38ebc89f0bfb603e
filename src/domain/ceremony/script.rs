//! Answer scripts (docs/formats.md): a rehearsal's answers in a file, for headless runs,
//! training pipelines and tests. The runner feeds them to the same state machine the
//! pane drives.
//!
//! Headless timing: the clock starts at 0 and advances by each consumed answer's
//! optional `elapsed` (seconds, default 0), so a run is deterministic for a seed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::machine::{Input, Machine, MachineError, Phase};
use super::scenario::{Diagnostic, Scenario, parse_yaml};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    scenario: String,
    #[serde(default)]
    seed: Option<u64>,
    participants: Vec<Spanned<RawParticipant>>,
    #[serde(default)]
    answers: Vec<Spanned<RawAnswer>>,
    #[serde(default)]
    quiz: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParticipant {
    name: String,
    role: String,
    #[serde(default)]
    key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnswer {
    #[serde(default)]
    step: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    anomaly: Option<String>,
    #[serde(default)]
    response: Option<String>,
    #[serde(default)]
    elapsed: Option<u64>,
}

/// A parsed answer script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub scenario: String,
    pub seed: Option<u64>,
    pub participants: Vec<ScriptParticipant>,
    pub answers: Vec<Answer>,
    pub quiz: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptParticipant {
    pub name: String,
    pub role: String,
    /// A PKCS#8 PEM key file to bring (relative paths are relative to the script).
    pub key: Option<String>,
    /// 1-based line and column in the script file.
    pub line: u64,
    pub column: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerKind {
    Step {
        step: String,
        by: String,
        input: String,
    },
    Anomaly {
        kind: String,
        response: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub kind: AnswerKind,
    /// Seconds this answer took (headless clock).
    pub elapsed: u64,
    /// 1-based line and column in the script file.
    pub line: u64,
    pub column: u64,
}

/// Parse an answer script. `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Script, Vec<Diagnostic>> {
    let raw: RawScript = parse_yaml(file, text).map_err(|d| vec![d])?;
    let mut errs = Vec::new();
    let mut answers = Vec::new();
    for a in raw.answers {
        let at = |message: &str| Diagnostic {
            file: file.into(),
            line: a.referenced.line().max(1),
            column: a.referenced.column().max(1),
            message: message.into(),
        };
        let v = &a.value;
        let kind = match (&v.step, &v.anomaly) {
            (Some(step), None) => match (&v.by, &v.input) {
                (Some(by), Some(input)) if v.response.is_none() => Some(AnswerKind::Step {
                    step: step.clone(),
                    by: by.clone(),
                    input: input.clone(),
                }),
                _ => {
                    errs.push(at(
                        "a step answer needs `by` and `input` (and no `response`)",
                    ));
                    None
                }
            },
            (None, Some(kind)) => match &v.response {
                Some(r) if v.input.is_none() => Some(AnswerKind::Anomaly {
                    kind: kind.clone(),
                    response: r.clone(),
                }),
                _ => {
                    errs.push(at("an anomaly answer needs `response` (and no `input`)"));
                    None
                }
            },
            _ => {
                errs.push(at("an answer names exactly one of `step` or `anomaly`"));
                None
            }
        };
        if let Some(kind) = kind {
            answers.push(Answer {
                kind,
                elapsed: v.elapsed.unwrap_or(0),
                line: a.referenced.line(),
                column: a.referenced.column(),
            });
        }
    }
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(Script {
        scenario: raw.scenario,
        seed: raw.seed,
        participants: raw
            .participants
            .into_iter()
            .map(|p| ScriptParticipant {
                line: p.referenced.line(),
                column: p.referenced.column(),
                name: p.value.name,
                role: p.value.role,
                key: p.value.key,
            })
            .collect(),
        answers,
        quiz: raw.quiz,
    })
}

/// Check a script against its scenario before running it: participants hold
/// declared roles (and every role a step needs is held), names are unique, and
/// every answer names an existing step, participant, anomaly type, response and
/// quiz question.
pub fn check(file: &str, script: &Script, scenario: &Scenario) -> Vec<Diagnostic> {
    let mut errs = Vec::new();
    let mut at = |line: u64, column: u64, message: String| {
        errs.push(Diagnostic {
            file: file.to_string(),
            line: line.max(1),
            column: column.max(1),
            message,
        });
    };
    if script.scenario != scenario.id {
        at(
            1,
            1,
            format!(
                "the script is for scenario `{}`, not `{}`",
                script.scenario, scenario.id
            ),
        );
    }
    for (i, p) in script.participants.iter().enumerate() {
        if !scenario.roles.iter().any(|r| r.id == p.role) {
            at(
                p.line,
                p.column,
                format!(
                    "role `{}` is not a role of scenario `{}`",
                    p.role, scenario.id
                ),
            );
        }
        if script.participants[..i].iter().any(|q| q.name == p.name) {
            at(
                p.line,
                p.column,
                format!("participant `{}` appears twice", p.name),
            );
        }
    }
    let mut needed: Vec<&str> = scenario
        .steps
        .iter()
        .flat_map(|s| s.actors.iter().chain(s.witness.iter()))
        .map(String::as_str)
        .collect();
    needed.sort_unstable();
    needed.dedup();
    for role in needed {
        if !script.participants.iter().any(|p| p.role == role) {
            at(
                1,
                1,
                format!("no participant holds role `{role}`, which a step needs"),
            );
        }
    }
    for a in &script.answers {
        match &a.kind {
            AnswerKind::Step { step, by, .. } => {
                if !scenario.steps.iter().any(|s| &s.id == step) {
                    at(a.line, a.column, format!("step `{step}` does not exist"));
                }
                if !script.participants.iter().any(|p| &p.name == by) {
                    at(a.line, a.column, format!("`{by}` is not a participant"));
                }
            }
            AnswerKind::Anomaly { kind, response } => {
                let of_type: Vec<_> = scenario
                    .anomalies
                    .iter()
                    .filter(|x| &x.kind == kind)
                    .collect();
                if of_type.is_empty() {
                    at(
                        a.line,
                        a.column,
                        format!("no anomaly of type `{kind}` in the scenario"),
                    );
                } else if !of_type
                    .iter()
                    .any(|x| x.responses.iter().any(|r| &r.id == response))
                {
                    at(
                        a.line,
                        a.column,
                        format!("`{response}` is not a response to `{kind}`"),
                    );
                }
            }
        }
    }
    for q in script.quiz.keys() {
        if !scenario.quiz.iter().any(|x| &x.id == q) {
            at(1, 1, format!("quiz question `{q}` does not exist"));
        }
    }
    errs
}

/// The script asked for something the machine refused.
#[derive(Debug, thiserror::Error)]
#[error("answer on line {line}: {source}")]
pub struct ScriptError {
    pub line: u64,
    #[source]
    pub source: MachineError,
}

/// Drive `machine` to the end with `script`'s answers. Steps with no answer are
/// skipped (missed), anomalies with no answer get no response, unanswered quiz
/// questions score 0. Returns the lines of answers that were never used.
pub fn run(machine: &mut Machine, script: &Script) -> Result<Vec<u64>, ScriptError> {
    let mut used = vec![false; script.answers.len()];
    let mut now_ms: u64 = 0;
    // Each loop iteration consumes at most one answer or advances the machine, so
    // this terminates; the bound guards against a machine bug looping forever.
    let limit = 4 * (script.answers.len() + machine.scenario().steps.len() + 16)
        + machine.scenario().quiz.len();
    for _ in 0..limit {
        let (input, line) = match machine.phase() {
            Phase::Done => break,
            Phase::Anomaly => {
                let kind = machine.pending_anomaly_kind().unwrap_or("").to_string();
                let found = script.answers.iter().enumerate().find(|(i, a)| {
                    !used[*i]
                        && matches!(&a.kind, AnswerKind::Anomaly { kind: k, .. } if *k == kind)
                });
                match found {
                    Some((i, a)) => {
                        used[i] = true;
                        now_ms = now_ms.saturating_add(a.elapsed.saturating_mul(1000));
                        let AnswerKind::Anomaly { response, .. } = &a.kind else {
                            continue;
                        };
                        (
                            Input::Respond {
                                response: response.clone(),
                            },
                            a.line,
                        )
                    }
                    None => (Input::Skip, 0),
                }
            }
            Phase::Step => {
                let step = machine
                    .current_step()
                    .map(|s| s.id.clone())
                    .unwrap_or_default();
                let found = script.answers.iter().enumerate().find(|(i, a)| {
                    !used[*i] && matches!(&a.kind, AnswerKind::Step { step: s, .. } if *s == step)
                });
                match found {
                    Some((i, a)) => {
                        used[i] = true;
                        now_ms = now_ms.saturating_add(a.elapsed.saturating_mul(1000));
                        let AnswerKind::Step { by, input, .. } = &a.kind else {
                            continue;
                        };
                        // `{fingerprint}` stands for a custodian reading the first 8 hex
                        // digits of the root fingerprint off the screen (the key is fresh
                        // each run, so a script cannot know it in advance).
                        let text = if input.trim() == "{fingerprint}" {
                            machine.root_fingerprint_prefix().unwrap_or_default()
                        } else {
                            input.clone()
                        };
                        (
                            Input::Act {
                                by: by.clone(),
                                text,
                            },
                            a.line,
                        )
                    }
                    None => (Input::Skip, 0),
                }
            }
            Phase::Quiz => {
                let q = machine.current_question_id().unwrap_or("").to_string();
                match script.quiz.get(&q) {
                    Some(text) => (Input::Answer { text: text.clone() }, 0),
                    None => (Input::Skip, 0),
                }
            }
        };
        machine
            .step(input, now_ms)
            .map_err(|source| ScriptError { line, source })?;
    }
    Ok(script
        .answers
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(a, _)| a.line)
        .collect())
}
