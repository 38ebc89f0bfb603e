//! Saving a finished ceremony rehearsal (the console's background task and
//! `lumen ceremony run` share it): the transcript file, then the signed
//! `ceremony_rehearsal` ledger entry.

use std::path::{Path, PathBuf};

use serde_json::{Map, json};

use crate::domain::ceremony::transcript::{RehearsalRecord, SavedRehearsal};

/// UTC stamp for artifact names.
fn stamp() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// Write `text` to a new file `<dir>/<scenario>-<stamp>.jsonl` (never overwriting).
pub fn save_transcript(dir: &Path, scenario_id: &str, text: &str) -> Result<PathBuf, String> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let base = format!("{scenario_id}-{}", stamp());
    for n in 0..1000 {
        let name = if n == 0 {
            format!("{base}.jsonl")
        } else {
            format!("{base}-{n}.jsonl")
        };
        let path = dir.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut f) => {
                f.write_all(text.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!("cannot create {}: {e}", path.display()));
            }
        }
    }
    Err(format!(
        "too many transcripts named {base} in {}",
        dir.display()
    ))
}

/// Where transcripts go: `<hq>/custody/sim/artifacts/`.
pub fn transcript_dir(hq: &Path) -> PathBuf {
    hq.join("custody").join("sim").join("artifacts")
}

/// Save a finished rehearsal exactly as `lumen ceremony run` does: the transcript
/// under `<hq>/custody/sim/artifacts/`, then a `ceremony_rehearsal` ledger entry
/// through the signed append path when there is an operator (`who`). Blocking I/O:
/// the console runs it off the update path.
pub fn save_rehearsal(
    hq: &Path,
    who: Option<&crate::store::append::Identity>,
    record: &RehearsalRecord,
) -> Result<SavedRehearsal, String> {
    let path = save_transcript(&transcript_dir(hq), &record.scenario, &record.transcript)
        .map_err(|e| e.to_string())?;
    let ledger = match who {
        Some(who) => append_rehearsal(hq, who, record, &path).map_err(|e| format!("{e:#}")),
        None => Err("no operator key (read-only console)".into()),
    };
    Ok(SavedRehearsal {
        transcript: path,
        ledger,
    })
}

/// Append the `ceremony_rehearsal` entry for a saved transcript; returns its id.
pub fn append_rehearsal(
    hq: &Path,
    who: &crate::store::append::Identity,
    record: &RehearsalRecord,
    path: &Path,
) -> anyhow::Result<String> {
    use sha2::Digest as _;
    let mut fields = Map::new();
    fields.insert("branch".into(), json!("hq"));
    fields.insert("event".into(), json!("ceremony_rehearsal"));
    fields.insert(
        "status".into(),
        json!(if record.passed { "passed" } else { "failed" }),
    );
    fields.insert("actor".into(), json!(who.signer_id));
    fields.insert("scenario".into(), json!(record.scenario));
    fields.insert(
        "participants".into(),
        json!(
            record
                .participants
                .iter()
                .map(|(name, role)| json!({"name": name, "role": role}))
                .collect::<Vec<_>>()
        ),
    );
    fields.insert("score".into(), json!(record.score));
    fields.insert("max".into(), json!(record.max));
    fields.insert("passed".into(), json!(record.passed));
    fields.insert("seed".into(), json!(record.seed));
    let rel = path.strip_prefix(hq).unwrap_or(path);
    fields.insert("transcript".into(), json!(rel.display().to_string()));
    fields.insert(
        "transcript_sha256".into(),
        json!(hex::encode(sha2::Sha256::digest(
            record.transcript.as_bytes()
        ))),
    );
    let appended = crate::store::append::append_signed(
        &hq.join("hq").join("ledger").join("ledger.jsonl"),
        who,
        fields,
    )?;
    Ok(appended.id)
}
