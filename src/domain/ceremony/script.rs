//! Answer scripts (SPEC §9): a rehearsal's answers in a file, for headless runs,
//! training pipelines and tests. The runner feeds them to the same state machine the
//! pane drives.
//!
//! Headless timing: the clock starts at 0 and advances by each consumed answer's
//! optional `elapsed` (seconds, default 0), so a run is deterministic for a seed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::machine::{Input, Machine, MachineError, Phase};
use super::scenario::{Diagnostic, yaml_diagnostic, yaml_options};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScript {
    scenario: String,
    #[serde(default)]
    seed: Option<u64>,
    participants: Vec<RawParticipant>,
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
    /// 1-based line in the script file.
    pub line: u64,
}

/// Parse an answer script. `file` names it in diagnostics.
pub fn parse(file: &str, text: &str) -> Result<Script, Vec<Diagnostic>> {
    let raw: RawScript = serde_saphyr::from_str_with_options(text, yaml_options())
        .map_err(|e| vec![yaml_diagnostic(file, &e)])?;
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
                name: p.name,
                role: p.role,
                key: p.key,
            })
            .collect(),
        answers,
        quiz: raw.quiz,
    })
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
