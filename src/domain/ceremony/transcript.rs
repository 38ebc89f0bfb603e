//! Rehearsal transcripts (docs/formats.md, docs/transcripts.md): JSONL, a header line,
//! hash-chained records, then one Ed25519 signature line per participant over every
//! byte before the first signature line. [`verify`] checks a transcript using only
//! its own bytes, independently of the machine that wrote it.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::crypto;
use super::machine::Machine;

pub const FORMAT: &str = "lumen-ceremony-transcript/1";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Render the machine's records as a signed transcript (`\n`-terminated lines).
pub fn render(machine: &Machine) -> String {
    let header = json!({
        "format": FORMAT,
        "scenario": machine.scenario().id,
        "participants": machine
            .participants()
            .iter()
            .map(|p| json!({"name": p.name, "role": p.role, "publicKey": crypto::public_b64(&p.public())}))
            .collect::<Vec<_>>(),
    })
    .to_string();
    let mut body = String::new();
    let mut prev_line = header;
    for rec in machine.records() {
        body.push_str(&prev_line);
        body.push('\n');
        let mut m = Map::new();
        m.insert(
            "prev".into(),
            Value::String(sha256_hex(prev_line.as_bytes())),
        );
        if let Value::Object(r) = rec {
            for (k, v) in r {
                if k != "prev" {
                    m.insert(k.clone(), v.clone());
                }
            }
        }
        prev_line = Value::Object(m).to_string();
    }
    body.push_str(&prev_line);
    body.push('\n');
    let mut out = body.clone();
    for p in machine.participants() {
        let sig = p.sign_b64(body.as_bytes());
        out.push_str(&json!({"kind": "signature", "name": p.name, "sig": sig}).to_string());
        out.push('\n');
    }
    out
}

/// What [`verify`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub ok: bool,
    pub scenario: Option<String>,
    pub records: usize,
    pub chain_ok: usize,
    pub chain_broken: usize,
    pub signatures_ok: usize,
    pub signatures_bad: usize,
    /// One line per problem, naming the transcript line (1-based).
    pub errors: Vec<String>,
}

/// Check a transcript: header format, every `prev` link, and a valid signature from
/// every participant named in the header (and from nobody else).
pub fn verify(bytes: &[u8]) -> Verification {
    let mut v = Verification {
        ok: false,
        scenario: None,
        records: 0,
        chain_ok: 0,
        chain_broken: 0,
        signatures_ok: 0,
        signatures_bad: 0,
        errors: Vec::new(),
    };
    if bytes.is_empty() {
        v.errors.push("the transcript is empty".into());
        return v;
    }
    if !bytes.ends_with(b"\n") {
        v.errors
            .push("the last line is not terminated by a newline (truncated?)".into());
    }
    // Lines with their byte offsets; the final empty piece after the last `\n` is not a line.
    let mut lines: Vec<(usize, &[u8])> = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\n' {
            lines.push((start, &bytes[start..i]));
            start = i + 1;
        }
    }
    if start < bytes.len() {
        lines.push((start, &bytes[start..]));
    }
    let parse = |n: usize, line: &[u8]| -> Result<Map<String, Value>, String> {
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Err(format!("line {n}: not a JSON object")),
            Err(e) => Err(format!("line {n}: not valid JSON: {e}")),
        }
    };
    let Some((_, header_line)) = lines.first() else {
        v.errors.push("the transcript has no header".into());
        return v;
    };
    let header = match parse(1, header_line) {
        Ok(h) => h,
        Err(e) => {
            v.errors.push(e);
            return v;
        }
    };
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        v.errors.push(format!("line 1: format is not \"{FORMAT}\""));
        return v;
    }
    v.scenario = header
        .get("scenario")
        .and_then(Value::as_str)
        .map(String::from);
    let mut participants = Vec::new();
    for p in header
        .get("participants")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = p.get("name").and_then(Value::as_str);
        let key = p
            .get("publicKey")
            .and_then(Value::as_str)
            .and_then(crypto::public_from_b64);
        match (name, key) {
            (Some(n), Some(k)) => participants.push((n.to_string(), k, false)),
            _ => v
                .errors
                .push("line 1: a participant lacks a name or a valid publicKey".into()),
        }
    }
    if participants.is_empty() {
        v.errors.push("line 1: no participants".into());
    }

    // Records up to the first signature line.
    let mut first_sig = None;
    for (idx, (offset, line)) in lines.iter().enumerate().skip(1) {
        let n = idx + 1;
        let rec = match parse(n, line) {
            Ok(r) => r,
            Err(e) => {
                v.errors.push(e);
                v.chain_broken += 1;
                continue;
            }
        };
        if rec.get("kind").and_then(Value::as_str) == Some("signature") {
            first_sig = Some((idx, *offset));
            break;
        }
        v.records += 1;
        let expected = sha256_hex(lines[idx - 1].1);
        if rec.get("prev").and_then(Value::as_str) == Some(expected.as_str()) {
            v.chain_ok += 1;
        } else {
            v.chain_broken += 1;
            v.errors.push(format!(
                "line {n}: prev does not match the SHA-256 of line {}",
                n - 1
            ));
        }
    }
    let Some((sig_idx, sig_offset)) = first_sig else {
        v.errors
            .push("the transcript has no signature lines".into());
        return v;
    };
    let signed = &bytes[..sig_offset];
    for (idx, (_, line)) in lines.iter().enumerate().skip(sig_idx) {
        let n = idx + 1;
        let rec = match parse(n, line) {
            Ok(r) => r,
            Err(e) => {
                v.errors.push(e);
                v.signatures_bad += 1;
                continue;
            }
        };
        if rec.get("kind").and_then(Value::as_str) != Some("signature") {
            v.errors.push(format!(
                "line {n}: only signature lines may follow the first one"
            ));
            continue;
        }
        let name = rec.get("name").and_then(Value::as_str).unwrap_or("");
        let sig = rec.get("sig").and_then(Value::as_str).unwrap_or("");
        match participants.iter_mut().find(|(p, _, _)| p == name) {
            None => {
                v.signatures_bad += 1;
                v.errors.push(format!(
                    "line {n}: signature by `{}`, who is not a participant",
                    crate::domain::sanitize::sanitize(name)
                ));
            }
            Some((_, _, seen)) if *seen => {
                v.signatures_bad += 1;
                v.errors.push(format!(
                    "line {n}: a second signature by the same participant"
                ));
            }
            Some((_, key, seen)) => {
                *seen = true;
                if crypto::verify_b64(key, signed, sig) {
                    v.signatures_ok += 1;
                } else {
                    v.signatures_bad += 1;
                    v.errors.push(format!(
                        "line {n}: the signature by `{}` does not verify",
                        crate::domain::sanitize::sanitize(name)
                    ));
                }
            }
        }
    }
    for (name, _, seen) in &participants {
        if !seen {
            v.errors.push(format!(
                "participant `{}` has not signed",
                crate::domain::sanitize::sanitize(name)
            ));
        }
    }
    v.ok = v.errors.is_empty();
    v
}

/// A finished rehearsal, ready to save: the signed transcript and what the
/// `ceremony_rehearsal` ledger entry says. Plain data (the keys stay in the machine),
/// so the console can hand it to a background task.
#[derive(Debug, Clone, PartialEq)]
pub struct RehearsalRecord {
    pub scenario: String,
    /// (name, role)
    pub participants: Vec<(String, String)>,
    pub seed: u64,
    pub passed: bool,
    pub score: u32,
    pub max: u32,
    /// The rendered, signed JSONL transcript.
    pub transcript: String,
}

impl RehearsalRecord {
    /// Render and sign `machine`'s transcript (every participant signs).
    pub fn from_machine(machine: &Machine, summary: &super::score::Summary) -> Self {
        RehearsalRecord {
            scenario: summary.scenario.clone(),
            participants: machine
                .participants()
                .iter()
                .map(|p| (p.name.clone(), p.role.clone()))
                .collect(),
            seed: machine.seed(),
            passed: summary.passed,
            score: summary.score,
            max: summary.max,
            transcript: render(machine),
        }
    }
}

/// What saving a rehearsal from the console did.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedRehearsal {
    pub transcript: PathBuf,
    /// The ledger entry's id, or why it was not written.
    pub ledger: Result<String, String>,
}
