//! The ceremony state machine: the single source of truth for a rehearsal, used by
//! the console pane and by headless runs alike. Pure: no I/O, time is passed in
//! (`now_ms`, milliseconds since the rehearsal started), random anomalies come from
//! a seeded RNG, and fresh keys from an injected [`KeySource`].

use std::collections::VecDeque;

use ed25519_dalek::{SigningKey, VerifyingKey};
use rand::{Rng as _, SeedableRng as _};
use serde::Serialize;
use serde_json::{Value, json};

use super::crypto::{self, KeySource};
use super::scenario::{
    Consequence, Effect, Grade, QuestionKind, Scenario, Step, StepKind, Trigger,
};
use super::score::{self, AnomalyResult, QuizResult, StepResult, StepStatus, Summary};

/// A person taking part, holding one role, with their own Ed25519 key (an
/// ephemeral rehearsal key, or one they brought). Dropping it zeroizes the key.
pub struct Participant {
    pub name: String,
    pub role: String,
    key: SigningKey,
}

impl Participant {
    pub fn new(name: impl Into<String>, role: impl Into<String>, key: SigningKey) -> Self {
        Participant {
            name: name.into(),
            role: role.into(),
            key,
        }
    }
    pub fn public(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
    pub(crate) fn sign_b64(&self, msg: &[u8]) -> String {
        crypto::sign_b64(&self.key, msg)
    }
}

/// What a participant (or the pane, or an answer script) feeds the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `by` acts on the current step with `text` (typed text, option id, `sign`…).
    Act { by: String, text: String },
    /// A response id for the pending anomaly.
    Respond { response: String },
    /// The current step (or pending anomaly) ran out of time with no answer.
    Skip,
    /// An answer to the current quiz question.
    Answer { text: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Step,
    Anomaly,
    Quiz,
    Done,
}

/// An input the machine refused; nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MachineError {
    #[error("the rehearsal is {phase:?}; this input does not apply")]
    WrongPhase { phase: Phase },
    #[error("`{0}` is not a participant")]
    UnknownParticipant(String),
    #[error("{name} holds role `{role}`; this step is for {allowed}")]
    NotAnActor {
        name: String,
        role: String,
        allowed: String,
    },
    #[error("{0} has already signed this step")]
    AlreadySigned(String),
    #[error("`{0}` is not one of the responses")]
    UnknownResponse(String),
    #[error("type `sign` to sign the step record")]
    NotASignature,
    #[error("no participant holds role `{0}`")]
    RoleUnfilled(String),
    #[error("participant names must be unique: `{0}` appears twice")]
    DuplicateParticipant(String),
    #[error("{0}")]
    Crypto(String),
}

/// What one accepted input did: the transcript records it produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub records: Vec<Value>,
    pub phase: Phase,
}

/// One row of the exception sheet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exception {
    pub step: Option<String>,
    pub anomaly: String,
    pub expected: String,
    pub happened: String,
    pub decided: String,
    pub grade: Grade,
}

/// A root-signed artifact (signer certificate or CRL).
struct Artifact {
    step: String,
    payload: String,
    sig: String,
}

// ------------------------------------------------------------------ view model

/// Everything the pane draws, computed from the machine.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct View {
    pub scenario: String,
    pub title: String,
    pub phase: Phase,
    pub current: Option<CurrentStep>,
    pub checklist: Vec<ChecklistItem>,
    pub quorum: Option<QuorumProgress>,
    pub anomaly: Option<PendingAnomaly>,
    pub question: Option<PendingQuestion>,
    pub root_fingerprint: Option<String>,
    pub log: Vec<String>,
    pub exceptions: Vec<Exception>,
    pub score: u32,
    pub max_so_far: u32,
    pub summary: Option<Summary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrentStep {
    pub index: usize,
    pub id: String,
    pub instruction: String,
    pub actors: Vec<String>,
    pub witness: Option<String>,
    /// The participant holding the witness role (who initials the step).
    pub witness_name: Option<String>,
    pub kind: &'static str,
    pub hint: String,
    pub budget_secs: u64,
    pub started_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistItem {
    pub index: usize,
    pub id: String,
    pub instruction: String,
    pub actors: Vec<String>,
    pub witness: Option<String>,
    pub budget_secs: u64,
    pub status: StepStatus,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QuorumProgress {
    pub have: u32,
    pub need: u32,
    pub signed_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingAnomaly {
    pub id: String,
    pub kind: String,
    pub message: String,
    /// (response id, text)
    pub options: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingQuestion {
    pub index: usize,
    pub id: String,
    pub question: String,
    /// (option id, text); empty for a short answer.
    pub options: Vec<(String, String)>,
}

// ------------------------------------------------------------------ machine

pub struct Machine {
    scenario: Scenario,
    participants: Vec<Participant>,
    seed: u64,
    keys: KeySource,
    phase: Phase,
    step: usize,
    step_started_ms: u64,
    status: Vec<StepStatus>,
    step_results: Vec<StepResult>,
    quorum_signed: Vec<String>,
    /// (anomaly index, step index) for every anomaly that will fire.
    plan: Vec<(usize, usize)>,
    pending: VecDeque<usize>,
    anomaly_results: Vec<AnomalyResult>,
    exceptions: Vec<Exception>,
    quiz_index: usize,
    quiz_results: Vec<QuizResult>,
    root: Option<SigningKey>,
    root_public: Option<VerifyingKey>,
    impostor: Option<SigningKey>,
    signers: Vec<SigningKey>,
    artifacts: Vec<Artifact>,
    failure: Option<String>,
    postponed: bool,
    records: Vec<Value>,
    log: Vec<String>,
    summary: Option<Summary>,
}

impl Machine {
    /// Start a rehearsal. Every role a step needs (actor or witness) must be held by
    /// a participant. `seed` decides which random anomalies fire, and where.
    pub fn new(
        scenario: Scenario,
        participants: Vec<Participant>,
        seed: u64,
        keys: KeySource,
    ) -> Result<Self, MachineError> {
        for (i, p) in participants.iter().enumerate() {
            if participants[..i].iter().any(|q| q.name == p.name) {
                return Err(MachineError::DuplicateParticipant(p.name.clone()));
            }
        }
        for step in &scenario.steps {
            for role in step.actors.iter().chain(step.witness.iter()) {
                if !participants.iter().any(|p| &p.role == role) {
                    return Err(MachineError::RoleUnfilled(role.clone()));
                }
            }
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut plan = Vec::new();
        for (ai, a) in scenario.anomalies.iter().enumerate() {
            match &a.trigger {
                Trigger::At(step) => {
                    if let Some(si) = scenario.steps.iter().position(|s| &s.id == step) {
                        plan.push((ai, si));
                    }
                }
                Trigger::Random { probability, steps } => {
                    let roll: f64 = rng.random();
                    let pick = rng.random_range(0..steps.len().max(1));
                    if roll < *probability
                        && let Some(step) = steps.get(pick)
                        && let Some(si) = scenario.steps.iter().position(|s| &s.id == step)
                    {
                        plan.push((ai, si));
                    }
                }
            }
        }
        let n = scenario.steps.len();
        let mut m = Machine {
            status: vec![StepStatus::Pending; n],
            scenario,
            participants,
            seed,
            keys,
            phase: Phase::Step,
            step: 0,
            step_started_ms: 0,
            step_results: Vec::new(),
            quorum_signed: Vec::new(),
            plan,
            pending: VecDeque::new(),
            anomaly_results: Vec::new(),
            exceptions: Vec::new(),
            quiz_index: 0,
            quiz_results: Vec::new(),
            root: None,
            root_public: None,
            impostor: None,
            signers: Vec::new(),
            artifacts: Vec::new(),
            failure: None,
            postponed: false,
            records: Vec::new(),
            log: Vec::new(),
            summary: None,
        };
        let start = json!({
            "kind": "start",
            "t_ms": 0,
            "scenario": m.scenario.id,
            "title": m.scenario.title,
            "seed": seed,
            "participants": m.participants.iter().map(|p| json!({"name": p.name, "role": p.role})).collect::<Vec<_>>(),
        });
        m.records.push(start);
        m.log(format!("Rehearsal of \"{}\" started", m.scenario.title));
        let mut out = Vec::new();
        m.enter_step(0, &mut out);
        m.records.extend(out);
        Ok(m)
    }

    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }
    pub fn participants(&self) -> &[Participant] {
        &self.participants
    }
    pub fn phase(&self) -> Phase {
        self.phase
    }
    pub fn seed(&self) -> u64 {
        self.seed
    }
    /// Every transcript record so far, in order (without `prev`; the transcript adds it).
    pub fn records(&self) -> &[Value] {
        &self.records
    }
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }
    /// The step currently waiting for input (or for its anomaly to be handled).
    pub fn current_step(&self) -> Option<&Step> {
        match self.phase {
            Phase::Step | Phase::Anomaly => self.scenario.steps.get(self.step),
            _ => None,
        }
    }
    /// The type of the anomaly waiting for a response.
    pub fn pending_anomaly_kind(&self) -> Option<&str> {
        if self.phase != Phase::Anomaly {
            return None;
        }
        let ai = *self.pending.front()?;
        self.scenario.anomalies.get(ai).map(|a| a.kind.as_str())
    }
    /// Milliseconds left in the current step's time budget at `now_ms` (negative
    /// when over budget); `None` when no step is current. For the pane's timer.
    pub fn remaining_ms(&self, now_ms: u64) -> Option<i64> {
        let step = self.current_step()?;
        let budget = i64::try_from(step.budget.saturating_mul(1000)).unwrap_or(i64::MAX);
        let elapsed =
            i64::try_from(now_ms.saturating_sub(self.step_started_ms)).unwrap_or(i64::MAX);
        Some(budget.saturating_sub(elapsed))
    }

    /// First 8 hex digits of the generated root's fingerprint.
    pub fn root_fingerprint_prefix(&self) -> Option<String> {
        self.root_public.as_ref().map(crypto::fingerprint_prefix)
    }
    pub fn current_question_id(&self) -> Option<&str> {
        if self.phase != Phase::Quiz {
            return None;
        }
        self.scenario
            .quiz
            .get(self.quiz_index)
            .map(|q| q.id.as_str())
    }

    /// Feed one input at time `now_ms`. A refused input changes nothing.
    pub fn step(&mut self, input: Input, now_ms: u64) -> Result<Transition, MachineError> {
        let mut out = Vec::new();
        match (self.phase, input) {
            (Phase::Anomaly, Input::Respond { response }) => {
                self.respond(Some(&response), now_ms, &mut out)?
            }
            (Phase::Anomaly, Input::Skip) => self.respond(None, now_ms, &mut out)?,
            (Phase::Step, Input::Act { by, text }) => self.act(&by, &text, now_ms, &mut out)?,
            (Phase::Step, Input::Skip) => {
                self.finish_step(StepStatus::Missed, None, now_ms, json!({}), &mut out)
            }
            (Phase::Quiz, Input::Answer { text }) => self.answer(&text, now_ms, &mut out),
            (Phase::Quiz, Input::Skip) => self.answer("", now_ms, &mut out),
            (phase, _) => return Err(MachineError::WrongPhase { phase }),
        }
        self.records.extend(out.iter().cloned());
        Ok(Transition {
            records: out,
            phase: self.phase,
        })
    }

    /// Log lines are for display only (the transcript keeps the raw records), so
    /// text from scenario files is sanitized here once.
    fn log(&mut self, line: String) {
        self.log
            .push(crate::domain::sanitize::sanitize(&line).into_owned());
    }

    fn participant(&self, name: &str) -> Result<&Participant, MachineError> {
        self.participants
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| MachineError::UnknownParticipant(name.to_string()))
    }

    fn witness_name(&self, step: &Step) -> Option<String> {
        let role = step.witness.as_ref()?;
        self.participants
            .iter()
            .find(|p| &p.role == role)
            .map(|p| p.name.clone())
    }

    /// Make step `i` current (or move on to the quiz when there is none), firing
    /// any anomalies planned for it.
    fn enter_step(&mut self, i: usize, out: &mut Vec<Value>) {
        self.step = i;
        self.quorum_signed.clear();
        if i >= self.scenario.steps.len() {
            self.enter_quiz(out);
            return;
        }
        if let Some(s) = self.status.get_mut(i) {
            *s = StepStatus::Current;
        }
        let fired: Vec<usize> = self
            .plan
            .iter()
            .filter(|(_, si)| *si == i)
            .map(|(ai, _)| *ai)
            .collect();
        for ai in fired {
            if let Some(a) = self.scenario.anomalies.get(ai) {
                let rec = json!({
                    "kind": "anomaly",
                    "t_ms": self.step_started_ms,
                    "anomaly": a.id,
                    "type": a.kind,
                    "step": self.scenario.steps[i].id,
                    "message": a.message,
                });
                let line = format!("ANOMALY at {}: {}", self.scenario.steps[i].id, a.message);
                out.push(rec);
                self.log(line);
                self.pending.push_back(ai);
            }
        }
        self.phase = if self.pending.is_empty() {
            Phase::Step
        } else {
            Phase::Anomaly
        };
    }

    fn enter_quiz(&mut self, out: &mut Vec<Value>) {
        self.pending.clear();
        if self.quiz_index < self.scenario.quiz.len() {
            self.phase = Phase::Quiz;
        } else {
            self.finish(out);
        }
    }

    fn finish(&mut self, out: &mut Vec<Value>) {
        self.phase = Phase::Done;
        let summary = score::summarize(
            &self.scenario,
            &self.step_results,
            &self.anomaly_results,
            &self.quiz_results,
            self.failure.clone(),
            self.postponed,
        );
        self.log(format!(
            "Rehearsal {}: {}/{} ({}%, pass mark {}%)",
            if summary.passed { "PASSED" } else { "FAILED" },
            summary.score,
            summary.max,
            summary.percent,
            summary.pass_mark
        ));
        let mut rec = json!({"kind": "summary"});
        if let (Value::Object(m), Ok(Value::Object(s))) = (&mut rec, serde_json::to_value(&summary))
        {
            m.extend(s);
        }
        if let Value::Object(m) = &mut rec {
            m.insert(
                "exceptions".into(),
                serde_json::to_value(&self.exceptions).unwrap_or(Value::Null),
            );
        }
        out.push(rec);
        self.summary = Some(summary);
        // Key material is no longer needed: drop (and so zeroize) it now.
        self.root = None;
        self.impostor = None;
        self.signers.clear();
    }

    fn respond(
        &mut self,
        response: Option<&str>,
        now_ms: u64,
        out: &mut Vec<Value>,
    ) -> Result<(), MachineError> {
        let Some(&ai) = self.pending.front() else {
            return Err(MachineError::WrongPhase { phase: self.phase });
        };
        let anomaly = self.scenario.anomalies[ai].clone();
        let chosen = match response {
            Some(id) => Some(
                anomaly
                    .responses
                    .iter()
                    .find(|r| r.id == id)
                    .ok_or_else(|| MachineError::UnknownResponse(id.to_string()))?
                    .clone(),
            ),
            None => None,
        };
        self.pending.pop_front();
        let step = self.scenario.steps.get(self.step).cloned();
        let (grade, points, consequence, explanation, decided) = match &chosen {
            Some(r) => (
                r.grade,
                r.points,
                r.consequence,
                r.explanation.clone(),
                r.text.clone(),
            ),
            None => (
                Grade::Wrong,
                0,
                Consequence::Fail,
                "An anomaly was ignored: every deviation must be handled and recorded.".to_string(),
                "no response within the time budget".to_string(),
            ),
        };
        let best = anomaly
            .responses
            .iter()
            .filter(|r| r.grade == Grade::Right)
            .map(|r| r.text.clone())
            .next()
            .unwrap_or_default();
        out.push(json!({
            "kind": "response",
            "t_ms": now_ms,
            "anomaly": anomaly.id,
            "response": chosen.as_ref().map(|r| r.id.clone()),
            "grade": grade,
            "points": points,
            "consequence": consequence,
        }));
        self.log(format!(
            "Response to {}: {} ({:?}, {} pts)",
            anomaly.id, decided, grade, points
        ));
        let exception = Exception {
            step: step.as_ref().map(|s| s.id.clone()),
            anomaly: anomaly.id.clone(),
            expected: match &step {
                Some(s) => format!("{} — best response: {best}", s.instruction),
                None => best,
            },
            happened: anomaly.message.clone(),
            decided,
            grade,
        };
        let mut rec = json!({"kind": "exception", "t_ms": now_ms});
        if let (Value::Object(m), Ok(Value::Object(e))) =
            (&mut rec, serde_json::to_value(&exception))
        {
            m.extend(e);
        }
        out.push(rec);
        self.exceptions.push(exception);
        self.anomaly_results.push(AnomalyResult {
            anomaly: anomaly.id.clone(),
            kind: anomaly.kind.clone(),
            response: chosen.as_ref().map(|r| r.id.clone()),
            grade,
            points,
            max: anomaly.best_points(),
            explanation,
        });
        if anomaly.effect == Some(Effect::FingerprintMismatch) && self.impostor.is_none() {
            // The signing device was swapped: later root signatures come from this key.
            self.impostor = Some(self.keys.generate().map_err(MachineError::Crypto)?);
        }
        match consequence {
            Consequence::Continue => {
                if self.pending.is_empty() {
                    self.phase = Phase::Step;
                }
            }
            Consequence::Fail => {
                self.failure = Some(format!(
                    "anomaly {} ({}): {}",
                    anomaly.id,
                    anomaly.kind,
                    chosen
                        .as_ref()
                        .map(|r| r.explanation.clone())
                        .unwrap_or_else(|| "no response".into())
                ));
                self.halt(StepStatus::NotReached, now_ms, out);
            }
            Consequence::Postpone => {
                self.postponed = true;
                self.halt(StepStatus::Postponed, now_ms, out);
            }
        }
        Ok(())
    }

    /// Stop the ceremony: the current and later steps get `status`.
    fn halt(&mut self, status: StepStatus, now_ms: u64, out: &mut Vec<Value>) {
        for i in self.step..self.scenario.steps.len() {
            let s = &self.scenario.steps[i];
            self.status[i] = status;
            self.step_results.push(StepResult {
                step: s.id.clone(),
                status,
                within_time: false,
                points: 0,
                max: s.points,
            });
        }
        out.push(json!({"kind": "halt", "t_ms": now_ms, "status": status, "at_step": self.scenario.steps.get(self.step).map(|s| s.id.clone())}));
        self.log(format!("Ceremony halted: {status:?}"));
        self.step = self.scenario.steps.len();
        self.enter_quiz(out);
    }

    fn act(
        &mut self,
        by: &str,
        text: &str,
        now_ms: u64,
        out: &mut Vec<Value>,
    ) -> Result<(), MachineError> {
        let step = self.scenario.steps[self.step].clone();
        let (name, role, public) = {
            let p = self.participant(by)?;
            (p.name.clone(), p.role.clone(), p.public())
        };
        if !step.actors.contains(&role) {
            return Err(MachineError::NotAnActor {
                name,
                role,
                allowed: step.actors.join(", "),
            });
        }
        let text = text.trim();
        let mut detail = json!({"by": name, "input": text});
        let correct = match &step.kind {
            StepKind::Check { expected } => text.eq_ignore_ascii_case(expected),
            StepKind::TypeToConfirm { expected } => text == expected,
            StepKind::Choose { answer, .. } => text.eq_ignore_ascii_case(answer),
            StepKind::Sign | StepKind::Quorum { .. } => {
                if !text.eq_ignore_ascii_case("sign") {
                    return Err(MachineError::NotASignature);
                }
                if self.quorum_signed.contains(&name) {
                    return Err(MachineError::AlreadySigned(name));
                }
                let record = self.step_record(&step);
                let p = self.participant(by)?;
                let sig = p.sign_b64(record.as_bytes());
                let ok = crypto::verify_b64(&public, record.as_bytes(), &sig);
                self.quorum_signed.push(name.clone());
                if let StepKind::Quorum { k } = step.kind {
                    let have = u32::try_from(self.quorum_signed.len()).unwrap_or(u32::MAX);
                    out.push(json!({
                        "kind": "quorum_signature",
                        "t_ms": now_ms,
                        "step": step.id,
                        "by": name,
                        "record": record,
                        "publicKey": crypto::public_b64(&public),
                        "sig": sig,
                        "progress": format!("{have}/{k}"),
                    }));
                    self.log(format!("{name} signed {} ({have}/{k})", step.id));
                    if have < k {
                        return Ok(());
                    }
                    detail = json!({"signed_by": self.quorum_signed.clone()});
                } else {
                    detail = json!({"by": name, "record": record, "publicKey": crypto::public_b64(&public), "sig": sig});
                }
                ok
            }
            StepKind::GenerateRoot => {
                let key = self.keys.generate().map_err(MachineError::Crypto)?;
                let public = key.verifying_key();
                self.root_public = Some(public);
                self.root = Some(key);
                let fp = crypto::fingerprint(&public);
                self.log(format!("Root key generated; fingerprint {fp}"));
                detail = json!({"by": name, "publicKey": crypto::public_b64(&public), "fingerprint": fp});
                true
            }
            StepKind::ConfirmFingerprint => {
                let ok = self
                    .root_public
                    .as_ref()
                    .is_some_and(|k| crypto::prefix_matches(k, text));
                detail = json!({"by": name, "input": text, "expected_prefix": self.root_public.as_ref().map(crypto::fingerprint_prefix)});
                ok
            }
            StepKind::IssueSigner { subject } => {
                let signer = self.keys.generate().map_err(MachineError::Crypto)?;
                let serial = self.signers.len() + 1;
                let payload = json!({
                    "type": "signer-certificate",
                    "subject": subject,
                    "serial": serial,
                    "publicKey": crypto::public_b64(&signer.verifying_key()),
                    "issuer": self.root_public.as_ref().map(crypto::fingerprint),
                })
                .to_string();
                let sig = self.device_sign(payload.as_bytes())?;
                self.signers.push(signer);
                self.log(format!("Signer certificate #{serial} for {subject} issued"));
                self.artifacts.push(Artifact {
                    step: step.id.clone(),
                    payload: payload.clone(),
                    sig: sig.clone(),
                });
                detail = json!({"by": name, "certificate": payload, "sig": sig});
                true
            }
            StepKind::SignCrl { revoked } => {
                let number = self.artifacts.len() + 1;
                let payload = json!({
                    "type": "crl",
                    "number": number,
                    "revoked": revoked,
                    "issuer": self.root_public.as_ref().map(crypto::fingerprint),
                })
                .to_string();
                let sig = self.device_sign(payload.as_bytes())?;
                self.log(format!("CRL signed revoking {}", revoked.join(", ")));
                self.artifacts.push(Artifact {
                    step: step.id.clone(),
                    payload: payload.clone(),
                    sig: sig.clone(),
                });
                detail = json!({"by": name, "crl": payload, "sig": sig});
                true
            }
            StepKind::Verify => {
                let results: Vec<(String, bool)> =
                    self.artifacts
                        .iter()
                        .map(|a| {
                            let ok = self.root_public.as_ref().is_some_and(|k| {
                                crypto::verify_b64(k, a.payload.as_bytes(), &a.sig)
                            });
                            (a.step.clone(), ok)
                        })
                        .collect();
                let all_valid = results.iter().all(|(_, ok)| *ok);
                let said_valid = match text.to_ascii_lowercase().as_str() {
                    "valid" => Some(true),
                    "invalid" => Some(false),
                    _ => None,
                };
                self.log(format!(
                    "Verification against the root public key: {}",
                    if all_valid {
                        "all signatures valid"
                    } else {
                        "SIGNATURE INVALID"
                    }
                ));
                detail = json!({
                    "by": name,
                    "input": text,
                    "results": results.iter().map(|(s, ok)| json!({"step": s, "valid": ok})).collect::<Vec<_>>(),
                    "valid": all_valid,
                });
                said_valid == Some(all_valid)
            }
        };
        let status = if correct {
            StepStatus::Done
        } else {
            StepStatus::Wrong
        };
        self.finish_step(status, Some(&name), now_ms, detail, out);
        Ok(())
    }

    /// The exact bytes a participant signs for a sign/quorum step.
    fn step_record(&self, step: &Step) -> String {
        json!({
            "scenario": self.scenario.id,
            "step": step.id,
            "instruction": step.instruction,
            "root": self.root_public.as_ref().map(crypto::fingerprint),
        })
        .to_string()
    }

    /// Sign with whatever is in the signing device: the root, or the impostor after
    /// a swap.
    fn device_sign(&self, msg: &[u8]) -> Result<String, MachineError> {
        let key = self
            .impostor
            .as_ref()
            .or(self.root.as_ref())
            .ok_or_else(|| MachineError::Crypto("no root key has been generated".into()))?;
        Ok(crypto::sign_b64(key, msg))
    }

    fn finish_step(
        &mut self,
        status: StepStatus,
        by: Option<&str>,
        now_ms: u64,
        detail: Value,
        out: &mut Vec<Value>,
    ) {
        let step = self.scenario.steps[self.step].clone();
        let elapsed_ms = now_ms.saturating_sub(self.step_started_ms);
        let within_time = elapsed_ms <= step.budget.saturating_mul(1000);
        let points = match status {
            StepStatus::Done if within_time => step.points,
            StepStatus::Done => step.points / 2,
            _ => 0,
        };
        let mut rec = json!({
            "kind": "step",
            "t_ms": now_ms,
            "step": step.id,
            "index": self.step,
            "step_kind": step.kind.name(),
            "status": status,
            "elapsed_ms": elapsed_ms,
            "within_time": within_time,
            "points": points,
            "witness": self.witness_name(&step),
        });
        if let (Value::Object(m), Value::Object(d)) = (&mut rec, detail) {
            m.extend(d);
        }
        out.push(rec);
        self.log(format!(
            "{} {}{}: {:?}, {points}/{} pts{}",
            step.id,
            step.instruction,
            by.map(|b| format!(" [{b}]")).unwrap_or_default(),
            status,
            step.points,
            if within_time { "" } else { " (over time)" }
        ));
        self.status[self.step] = status;
        self.step_results.push(StepResult {
            step: step.id.clone(),
            status,
            within_time,
            points,
            max: step.points,
        });
        self.step_started_ms = now_ms;
        if status != StepStatus::Done && step.critical {
            self.failure = Some(format!(
                "critical step {} was {}: {}",
                step.id,
                if status == StepStatus::Missed {
                    "missed"
                } else {
                    "answered wrongly"
                },
                step.instruction
            ));
            self.step += 1;
            if self.step < self.scenario.steps.len() {
                self.halt(StepStatus::NotReached, now_ms, out);
            } else {
                self.enter_quiz(out);
            }
            return;
        }
        self.enter_step(self.step + 1, out);
    }

    fn answer(&mut self, text: &str, now_ms: u64, out: &mut Vec<Value>) {
        let Some(q) = self.scenario.quiz.get(self.quiz_index).cloned() else {
            self.finish(out);
            return;
        };
        let text = text.trim();
        let points = match &q.kind {
            QuestionKind::Choice { answer, .. } => {
                if text.eq_ignore_ascii_case(answer) {
                    q.points
                } else {
                    0
                }
            }
            QuestionKind::Short { keywords } => {
                score::short_answer_points(text, keywords, q.points)
            }
        };
        out.push(json!({
            "kind": "quiz",
            "t_ms": now_ms,
            "question": q.id,
            "answer": text,
            "points": points,
            "max": q.points,
        }));
        self.log(format!("Quiz {}: {points}/{} pts", q.id, q.points));
        self.quiz_results.push(QuizResult {
            question: q.id.clone(),
            answer: text.to_string(),
            points,
            max: q.points,
            explanation: q.explanation.clone(),
        });
        self.quiz_index += 1;
        if self.quiz_index >= self.scenario.quiz.len() {
            self.finish(out);
        }
    }

    /// The pane's view model.
    pub fn view(&self) -> View {
        let current = self.current_step().map(|s| CurrentStep {
            index: self.step,
            id: s.id.clone(),
            instruction: s.instruction.clone(),
            actors: s.actors.clone(),
            witness: s.witness.clone(),
            witness_name: self.witness_name(s),
            kind: s.kind.name(),
            hint: hint(&s.kind),
            budget_secs: s.budget,
            started_ms: self.step_started_ms,
        });
        let quorum = match self.current_step().map(|s| &s.kind) {
            Some(StepKind::Quorum { k }) => Some(QuorumProgress {
                have: u32::try_from(self.quorum_signed.len()).unwrap_or(u32::MAX),
                need: *k,
                signed_by: self.quorum_signed.clone(),
            }),
            _ => None,
        };
        let anomaly = if self.phase == Phase::Anomaly {
            self.pending
                .front()
                .and_then(|ai| self.scenario.anomalies.get(*ai))
                .map(|a| PendingAnomaly {
                    id: a.id.clone(),
                    kind: a.kind.clone(),
                    message: a.message.clone(),
                    options: a
                        .responses
                        .iter()
                        .map(|r| (r.id.clone(), r.text.clone()))
                        .collect(),
                })
        } else {
            None
        };
        let question = if self.phase == Phase::Quiz {
            self.scenario
                .quiz
                .get(self.quiz_index)
                .map(|q| PendingQuestion {
                    index: self.quiz_index,
                    id: q.id.clone(),
                    question: q.question.clone(),
                    options: match &q.kind {
                        QuestionKind::Choice { options, .. } => options
                            .iter()
                            .map(|o| (o.id.clone(), o.text.clone()))
                            .collect(),
                        QuestionKind::Short { .. } => Vec::new(),
                    },
                })
        } else {
            None
        };
        let score = self.step_results.iter().map(|s| s.points).sum::<u32>()
            + self.anomaly_results.iter().map(|a| a.points).sum::<u32>()
            + self.quiz_results.iter().map(|q| q.points).sum::<u32>();
        let max_so_far = self
            .step_results
            .iter()
            .filter(|s| s.status != StepStatus::Postponed)
            .map(|s| s.max)
            .sum::<u32>()
            + self.anomaly_results.iter().map(|a| a.max).sum::<u32>()
            + self.quiz_results.iter().map(|q| q.max).sum::<u32>();
        View {
            scenario: self.scenario.id.clone(),
            title: self.scenario.title.clone(),
            phase: self.phase,
            current,
            checklist: self
                .scenario
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| ChecklistItem {
                    index: i,
                    id: s.id.clone(),
                    instruction: s.instruction.clone(),
                    actors: s.actors.clone(),
                    witness: s.witness.clone(),
                    budget_secs: s.budget,
                    status: self.status.get(i).copied().unwrap_or(StepStatus::Pending),
                })
                .collect(),
            quorum,
            anomaly,
            question,
            root_fingerprint: self.root_public.as_ref().map(crypto::fingerprint),
            log: self.log.clone(),
            exceptions: self.exceptions.clone(),
            score,
            max_so_far,
            summary: self.summary.clone(),
        }
    }
}

/// What the actor is expected to enter, for the pane's prompt.
pub fn hint(kind: &StepKind) -> String {
    match kind {
        StepKind::Check { expected } => format!("type `{expected}` when the check holds"),
        StepKind::TypeToConfirm { expected } => format!("type exactly: {expected}"),
        StepKind::Choose { options, .. } => format!(
            "choose one of: {}",
            options
                .iter()
                .map(|o| format!("{} ({})", o.id, o.text))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        StepKind::Sign => "type `sign` to sign the step record with your key".into(),
        StepKind::Quorum { k } => {
            format!("{k} custodians each type `sign` to sign the step record")
        }
        StepKind::GenerateRoot => "type `generate` to create the root key".into(),
        StepKind::ConfirmFingerprint => {
            "type the first 8 hex digits of the root fingerprint".into()
        }
        StepKind::IssueSigner { .. } => "type `issue` to sign the signer certificate".into(),
        StepKind::SignCrl { .. } => "type `sign` to sign the CRL with the root".into(),
        StepKind::Verify => {
            "verify the signatures; type `valid` or `invalid` as the check reports".into()
        }
    }
}
