//! The custody simulator's own files (docs/scenarios.md "The seed's simulator files"):
//! `custody/sim/scenarios.yaml` (one file, `version`, scenarios with bare step names
//! and `{type, message}` anomalies) and `quiz_bank.json` (`multiple_choice` with a
//! 0-based `answer` index, `short_answer`). Each seed scenario is converted into the
//! full schema and then validated like any scenario file, so it rehearses, scores and
//! lists like the shipped ones. Pure: text in, scenarios out.

use serde::Deserialize;
use serde_json::{Value, json};
use serde_saphyr::Spanned;

use super::scenario::{self, Diagnostic, Scenario, parse_yaml};

/// What a seed file gave: one entry per scenario (named `file#id`), or one error
/// entry for the whole file.
pub type SeedParsed = Vec<(String, Result<Scenario, Vec<Diagnostic>>)>;

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    scenarios: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedFile {
    #[serde(default)]
    version: Option<Spanned<u32>>,
    scenarios: Vec<SeedScenario>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedScenario {
    id: Spanned<String>,
    title: String,
    #[serde(default)]
    summary: String,
    steps: Vec<Spanned<String>>,
    #[serde(default)]
    anomalies: Vec<SeedAnomaly>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedAnomaly {
    #[serde(default)]
    id: Option<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    message: String,
    /// The step it fires at; the seed's simulator fires `torn_seal` at `check_seal`
    /// and `token_expired` at `sign_crl`, which are the defaults here.
    #[serde(default)]
    at: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedQuiz {
    #[serde(default)]
    multiple_choice: Vec<SeedChoice>,
    #[serde(default)]
    short_answer: Vec<SeedShort>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedChoice {
    id: Spanned<String>,
    q: String,
    choices: Vec<String>,
    answer: Spanned<i64>,
    #[serde(default)]
    explanation: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedShort {
    id: Spanned<String>,
    q: String,
    #[serde(default)]
    keywords: Option<Vec<String>>,
    #[serde(default)]
    explanation: String,
}

fn diag<T>(file: &str, at: &Spanned<T>, message: impl Into<String>) -> Diagnostic {
    Diagnostic {
        file: file.to_string(),
        line: at.referenced.line().max(1),
        column: at.referenced.column().max(1),
        message: message.into(),
    }
}

/// Whether `text` is a seed scenarios file (a top-level `scenarios:` list) rather
/// than one scenario in the full schema.
pub fn is_seed_file(file: &str, text: &str) -> bool {
    parse_yaml::<Probe>(file, text).is_ok_and(|p| p.scenarios.is_some())
}

/// A step name as a scenario id: lowercase, other characters than a-z 0-9 - _
/// become `-` (`store_safe_A` → `store_safe_a`), at most 64 characters.
fn step_id(name: &str) -> String {
    let mut s: String = name
        .trim()
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() {
        s.push_str("step");
    }
    s
}

/// The seed simulator's description of a step, in English.
fn instruction(name: &str) -> String {
    let known = match name {
        "check_airgap" => "Confirm the network interfaces are disabled (air gap)",
        "generate_root" => "Generate the root key offline",
        "print_fingerprint" => "Print the root fingerprint and its QR code; confirm it",
        "seal_packets" => "Seal the envelopes and record their IDs",
        "store_safe_A" => "Store packet A in safe A",
        "store_safe_B" => "Store packet B in safe B",
        "boot_airgap" => "Boot the air-gapped workstation",
        "unseal" => "Break the seal (two people)",
        "load_root" => "Load the root private key (password entered offline)",
        "sign_crl" => "Sign the CRL update",
        "reseal" => "Reseal (new seal ID)",
        "check_seal" => "Inspect the seal and photograph it",
        "photo_hash" => "Hash the photos and record the hashes",
        "crosscheck_logs" => "Cross-check logs, fingerprint and chain manifest",
        _ => return format!("Perform `{name}`"),
    };
    known.to_string()
}

/// The step of the full schema for a bare seed step name. Crypto kinds need a root
/// generated earlier in the scenario; without one the step is a signature or check.
fn step(name: &str, id: &str, root_before: bool) -> Value {
    let base = |kind: &str| {
        json!({
            "id": id, "kind": kind, "instruction": instruction(name),
            "actors": ["custodian"], "witness": "witness",
        })
    };
    match (name, root_before) {
        ("generate_root", _) => base("generate_root"),
        ("print_fingerprint", true) => base("confirm_fingerprint"),
        ("sign_crl", true) => {
            let mut v = base("sign_crl");
            v["revoked"] = json!([]);
            v
        }
        ("sign_crl", false) => base("sign"),
        ("issue_signer", true) => {
            let mut v = base("issue_signer");
            v["subject"] = json!("Lumen Artifact Signer");
            v
        }
        ("verify", true) => base("verify"),
        ("unseal", _) => json!({
            "id": id, "kind": "quorum", "quorum": 2, "instruction": instruction(name),
            "actors": ["custodian", "witness"],
        }),
        _ => base("check"),
    }
}

/// The same generic responses for every seed anomaly (the seed's file has none):
/// stop and escalate (right, postpones), report and continue under witness
/// (acceptable), ignore it (wrong, fails the rehearsal).
fn responses() -> Value {
    json!([
        {"id": "stop", "text": "Stop, keep the evidence, escalate and postpone", "grade": "right",
         "points": 10, "consequence": "postpone",
         "explanation": "An anomaly in custody is a possible compromise: stop and escalate."},
        {"id": "report", "text": "Report it and continue under the witness's eye", "grade": "acceptable",
         "points": 5, "consequence": "continue",
         "explanation": "Reporting is right, but continuing risks working on a compromised setup."},
        {"id": "continue", "text": "Ignore it and continue", "grade": "wrong",
         "points": 0, "consequence": "fail",
         "explanation": "Continuing past an anomaly breaks the chain of custody."},
    ])
}

/// The quiz of the full schema from `quiz_bank.json` (points as the seed's scorer
/// counts them: 1 per multiple-choice question, 2 per short answer).
fn quiz(file: &str, bytes: &[u8]) -> Result<Vec<Value>, Diagnostic> {
    let text = std::str::from_utf8(bytes).map_err(|e| Diagnostic {
        file: file.to_string(),
        line: 1,
        column: (e.valid_up_to() as u64) + 1,
        message: "file is not valid UTF-8".into(),
    })?;
    // JSON syntax first, with JSON's own messages (and a hint for `//` lines).
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let line = text.lines().nth(e.line().saturating_sub(1)).unwrap_or("");
        let message = if line.trim_start().starts_with("//") {
            format!("JSON has no comments: remove line {}", e.line())
        } else {
            let m = e.to_string();
            m.rfind(" at line ")
                .map_or(m.clone(), |i| m[..i].to_string())
        };
        return Err(Diagnostic {
            file: file.to_string(),
            line: e.line().max(1) as u64,
            column: e.column().max(1) as u64,
            message,
        });
    }
    // JSON is YAML: the positioned pass gives every element its place.
    let q: SeedQuiz = parse_yaml(file, text)?;
    let mut out = Vec::new();
    for c in &q.multiple_choice {
        let n = c.choices.len() as i64;
        if !(0..n).contains(&c.answer.value) {
            return Err(diag(
                file,
                &c.answer,
                format!(
                    "answer {} of `{}` is not a choice; expected an index from 0 to {} (0-based)",
                    c.answer.value,
                    c.id.value,
                    n - 1
                ),
            ));
        }
        let options: Vec<Value> = c
            .choices
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"id": i.to_string(), "text": t}))
            .collect();
        out.push(json!({
            "id": c.id.value, "question": c.q, "options": options,
            "answer": c.answer.value.to_string(), "points": 1, "explanation": c.explanation,
        }));
    }
    for s in &q.short_answer {
        // The seed's scorer grades `sa_crl` by `serial` and `reason`.
        let keywords = match (&s.keywords, s.id.value.as_str()) {
            (Some(k), _) if !k.is_empty() => k.clone(),
            (_, "sa_crl") => vec!["serial".into(), "reason".into()],
            _ => {
                return Err(diag(
                    file,
                    &s.id,
                    format!(
                        "short answer `{}` has no keywords to grade by; add `\"keywords\": [\"…\"]`",
                        s.id.value
                    ),
                ));
            }
        };
        out.push(json!({
            "id": s.id.value, "question": s.q, "keywords": keywords, "points": 2,
            "explanation": s.explanation,
        }));
    }
    Ok(out)
}

/// Convert a seed `scenarios.yaml` (and the `quiz_bank.json` next to it, when given
/// as (file name, bytes)) into validated scenarios. `None` when `text` is not a seed
/// file (see [`is_seed_file`]).
pub fn parse(file: &str, text: &str, quiz_bank: Option<(&str, &[u8])>) -> Option<SeedParsed> {
    if !is_seed_file(file, text) {
        return None;
    }
    let whole = |d: Diagnostic| Some(vec![(file.to_string(), Err(vec![d]))]);
    let seed: SeedFile = match parse_yaml(file, text) {
        Ok(s) => s,
        Err(d) => return whole(d),
    };
    if let Some(v) = &seed.version
        && v.value != 1
    {
        return whole(diag(
            file,
            v,
            format!("version {} is not supported; expected 1", v.value),
        ));
    }
    let quiz = match quiz_bank {
        None => Vec::new(),
        Some((qf, bytes)) => match quiz(qf, bytes) {
            Ok(q) => q,
            Err(d) => return Some(vec![(qf.to_string(), Err(vec![d]))]),
        },
    };
    let mut out = Vec::new();
    for sc in &seed.scenarios {
        let name = format!("{file}#{}", sc.id.value);
        out.push((name, convert(file, sc, &quiz)));
    }
    Some(out)
}

fn convert(file: &str, sc: &SeedScenario, quiz: &[Value]) -> Result<Scenario, Vec<Diagnostic>> {
    let mut steps = Vec::new();
    let mut ids: Vec<(String, String)> = Vec::new(); // (seed name, step id)
    let mut root_before = false;
    for s in &sc.steps {
        let base = step_id(&s.value);
        let mut id = base.clone();
        let mut n = 2;
        while ids.iter().any(|(_, i)| *i == id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        steps.push(step(s.value.trim(), &id, root_before));
        root_before |= s.value.trim() == "generate_root";
        ids.push((s.value.trim().to_string(), id));
    }
    let mut anomalies = Vec::new();
    for (i, a) in sc.anomalies.iter().enumerate() {
        let wanted =
            a.at.as_ref()
                .map(|s| s.value.trim().to_string())
                .or_else(|| match a.kind.value.as_str() {
                    "torn_seal" => Some("check_seal".to_string()),
                    "token_expired" => Some("sign_crl".to_string()),
                    _ => None,
                });
        let at = wanted.as_ref().and_then(|w| {
            ids.iter()
                .find(|(name, id)| name == w || id == w)
                .map(|(_, id)| id.clone())
        });
        let Some(at) = at else {
            let names: Vec<&str> = ids.iter().map(|(n, _)| n.as_str()).collect();
            let (place, msg) = match (&a.at, wanted) {
                (Some(s), _) => (
                    diag(file, s, ""),
                    format!(
                        "anomaly `{}` fires at `{}`, which is not a step of this scenario; expected one of {}",
                        a.kind.value,
                        s.value,
                        names.join(", ")
                    ),
                ),
                (None, _) => (
                    diag(file, &a.kind, ""),
                    format!(
                        "anomaly `{}` names no step to fire at; add `at: <step>` (one of {})",
                        a.kind.value,
                        names.join(", ")
                    ),
                ),
            };
            return Err(vec![Diagnostic {
                message: msg,
                ..place
            }]);
        };
        let id =
            a.id.as_deref()
                .map_or_else(|| step_id(&a.kind.value), step_id);
        let id = if anomalies
            .iter()
            .any(|v: &Value| v["id"] == Value::String(id.clone()))
        {
            format!("{id}-{}", i + 1)
        } else {
            id
        };
        anomalies.push(json!({
            "id": id, "type": a.kind.value, "message": a.message, "at": at,
            "responses": responses(),
        }));
    }
    let summary = if sc.summary.is_empty() {
        "Converted from the custody simulator's scenarios.yaml.".to_string()
    } else {
        sc.summary.clone()
    };
    let full = json!({
        "id": sc.id.value, "title": sc.title, "summary": summary,
        "roles": [
            {"id": "custodian", "title": "Key custodian"},
            {"id": "witness", "title": "Witness"},
        ],
        "steps": steps, "anomalies": anomalies, "quiz": quiz,
    });
    // JSON is YAML; the converted text is only ours, so a finding in it is reported
    // at the seed scenario's id with its message.
    let text = full.to_string();
    scenario::parse(file, &text).map_err(|ds| {
        ds.into_iter()
            .map(|d| Diagnostic {
                message: format!("scenario `{}`: {}", sc.id.value, d.message),
                ..diag(file, &sc.id, "")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's files, verbatim.
    pub const SCENARIOS: &str =
        include_str!("../../../tests/fixtures/seed-hq/custody/sim/scenarios.yaml");
    pub const QUIZ: &str =
        include_str!("../../../tests/fixtures/seed-hq/custody/sim/quiz_bank.json");

    #[test]
    fn the_seed_files_give_three_rehearsable_scenarios_with_the_quiz() {
        let out = parse(
            "scenarios.yaml",
            SCENARIOS,
            Some(("quiz_bank.json", QUIZ.as_bytes())),
        )
        .unwrap();
        assert_eq!(out.len(), 3);
        let all: Vec<Scenario> = out
            .into_iter()
            .map(|(n, r)| r.unwrap_or_else(|e| panic!("{n}: {e:?}")))
            .collect();
        assert_eq!(all[0].id, "initial_setup_happy");
        assert_eq!(all[0].steps.len(), 6);
        assert_eq!(all[0].steps[1].kind.name(), "generate_root");
        assert_eq!(all[0].steps[2].kind.name(), "confirm_fingerprint");
        assert_eq!(all[0].steps[4].id, "store_safe_a");
        // No root in the signing scenario: sign_crl is a signature.
        assert_eq!(all[1].steps[3].kind.name(), "sign");
        assert_eq!(all[1].anomalies[0].kind, "token_expired");
        assert_eq!(
            all[2].anomalies[0].trigger,
            scenario::Trigger::At("check_seal".into())
        );
        assert_eq!(all[2].quiz.len(), 3);
    }

    #[test]
    fn a_full_schema_file_is_not_a_seed_file() {
        let (_, t) = super::super::SHIPPED[0];
        assert!(parse("x.yaml", t, None).is_none());
    }

    fn first_err(text: &str, quiz: Option<&str>) -> String {
        let out = parse("s.yaml", text, quiz.map(|q| ("q.json", q.as_bytes()))).unwrap();
        out.into_iter()
            .find_map(|(_, r)| r.err())
            .map(|d| d[0].to_string())
            .unwrap()
    }

    #[test]
    fn bad_seed_files_are_errors_with_the_fix() {
        assert_eq!(
            first_err("version: 2\nscenarios: []\n", None),
            "s.yaml:1:10: version 2 is not supported; expected 1"
        );
        assert_eq!(
            first_err(
                "scenarios:\n  - id: a\n    title: A\n    steps: [check_seal]\n    anomalies:\n      - type: fire\n        message: m\n",
                None
            ),
            "s.yaml:6:15: anomaly `fire` names no step to fire at; add `at: <step>` (one of check_seal)"
        );
        assert_eq!(
            first_err(
                "scenarios: []\n",
                Some("// custody/sim/quiz_bank.json\n{}\n")
            ),
            "q.json:1:1: JSON has no comments: remove line 1"
        );
        assert_eq!(
            first_err(
                "scenarios: []\n",
                Some(
                    "{\"multiple_choice\": [{\"id\": \"m\", \"q\": \"?\", \"choices\": [\"a\"], \"answer\": 3}]}"
                )
            ),
            "q.json:1:72: answer 3 of `m` is not a choice; expected an index from 0 to 0 (0-based)"
        );
        assert!(
            first_err("scenarios:\n  - id: a\n    title: A\n    stepz: []\n", None)
                .contains("unknown field `stepz`")
        );
        assert_eq!(
            first_err(
                "scenarios:\n  - id: Bad Id\n    title: A\n    steps: [x]\n",
                None
            )
            .split(": scenario")
            .next()
            .unwrap(),
            "s.yaml:2:9"
        );
    }
}
