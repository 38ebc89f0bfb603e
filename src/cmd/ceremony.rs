//! `lumen ceremony list | run | verify | check` (docs/scenarios.md and docs/formats.md).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::cli::{
    CeremonyCheckArgs, CeremonyCommand, CeremonyRunArgs, CeremonyVerifyArgs, GlobalArgs,
    ScenarioDirsArgs,
};
use crate::cmd::{CmdError, CmdResult, Outcome, print_json};
use crate::domain::ceremony::crypto::KeySource;
use crate::domain::ceremony::transcript::RehearsalRecord;
use crate::domain::ceremony::{
    self, Diagnostic, Machine, Participant, Scenario, scenario, script, transcript,
};
use crate::domain::sanitize::sanitize;
use crate::operator::rehearsal;

/// Dispatch one `lumen ceremony …` subcommand.
pub fn run(cmd: &CeremonyCommand, g: &GlobalArgs) -> CmdResult {
    match cmd {
        CeremonyCommand::List(a) => run_list(a, g),
        CeremonyCommand::Run(a) => run_run(a, g),
        CeremonyCommand::Verify(a) => run_verify(a, g),
        CeremonyCommand::Check(a) => run_check(a, g),
    }
}

/// A scenario file's name and what parsing it gave.
type Parsed = (String, Result<Scenario, Vec<Diagnostic>>);

/// Every `*.yaml` file directly in `dir`, sorted by name.
fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, CmdError> {
    let rd = std::fs::read_dir(dir).map_err(|e| {
        CmdError::usage(format!(
            "cannot read scenario directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    Ok(files)
}

/// (file name, parse result) for every scenario in `dirs`. A seed simulator file
/// (`scenarios.yaml` with a `scenarios:` list, docs/scenarios.md) gives one entry per
/// scenario, with the `quiz_bank.json` next to it as their quiz.
fn load_dir_files(dirs: &[PathBuf]) -> Result<Vec<Parsed>, CmdError> {
    let mut out = Vec::new();
    for dir in dirs {
        for path in yaml_files(dir)? {
            let name = path.display().to_string();
            let unreadable = |message: String| {
                vec![Diagnostic {
                    file: name.clone(),
                    line: 1,
                    column: 1,
                    message,
                }]
            };
            let text = match crate::store::fsutil::read_regular(&path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => text,
                    Err(e) => {
                        out.push((name.clone(), Err(unreadable(format!("not UTF-8: {e}")))));
                        continue;
                    }
                },
                Err(e) => {
                    out.push((name.clone(), Err(unreadable(format!("cannot read: {e}")))));
                    continue;
                }
            };
            if ceremony::seed::is_seed_file(&name, &text) {
                let qpath = dir.join("quiz_bank.json");
                let qname = qpath.display().to_string();
                let quiz = match crate::store::fsutil::read_regular(&qpath) {
                    Ok(b) => Some(b),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                    Err(e) => {
                        out.push((
                            qname.clone(),
                            Err(vec![Diagnostic {
                                file: qname,
                                line: 1,
                                column: 1,
                                message: format!("cannot read: {e}"),
                            }]),
                        ));
                        continue;
                    }
                };
                let q = quiz.as_deref().map(|b| (qname.as_str(), b));
                if let Some(list) = ceremony::seed::parse(&name, &text, q) {
                    out.extend(list);
                    continue;
                }
            }
            out.push((name.clone(), scenario::parse(&name, &text)));
        }
    }
    Ok(out)
}

/// Shipped scenarios, then those in the extra directories; the first of an id wins.
/// Files with errors are reported on stderr and skipped (`ceremony check` lists them).
fn load_all(dirs: &ScenarioDirsArgs) -> Result<Vec<Scenario>, CmdError> {
    let mut all: Vec<Parsed> = ceremony::SHIPPED
        .iter()
        .map(|(f, t)| (f.to_string(), scenario::parse(f, t)))
        .collect();
    all.extend(load_dir_files(&dirs.scenario_dirs)?);
    let mut out: Vec<Scenario> = Vec::new();
    for (file, parsed) in all {
        match parsed {
            Ok(s) => {
                if out.iter().any(|o| o.id == s.id) {
                    errln!(
                        "lumen: {}: scenario id `{}` is already defined; skipped",
                        sanitize(&file),
                        sanitize(&s.id)
                    );
                } else {
                    out.push(s);
                }
            }
            Err(diags) => {
                errln!(
                    "lumen: {} has errors and is skipped (run `lumen ceremony check`): {}",
                    sanitize(&file),
                    diags.first().map(|d| d.to_string()).unwrap_or_default()
                );
            }
        }
    }
    Ok(out)
}

/// Scenarios for the console: shipped ones, then those in `dirs`. Files with errors are
/// skipped and described in the second list (the console shows them; it cannot print).
pub fn load_for_console(dirs: &[PathBuf]) -> (Vec<Scenario>, Vec<String>) {
    let mut out = load_embedded();
    let mut problems = Vec::new();
    match load_dir_files(dirs) {
        Err(e) => problems.push(e.to_string()),
        Ok(files) => {
            for (file, parsed) in files {
                match parsed {
                    Ok(s) if out.iter().any(|o| o.id == s.id) => {
                        problems.push(format!("{file}: scenario id `{}` is already defined", s.id));
                    }
                    Ok(s) => out.push(s),
                    Err(d) => problems.push(
                        d.first()
                            .map_or_else(|| format!("{file}: invalid"), |d| d.to_string()),
                    ),
                }
            }
        }
    }
    (out, problems)
}

/// The shipped scenarios that parse.
fn load_embedded() -> Vec<Scenario> {
    ceremony::shipped_scenarios()
        .into_iter()
        .filter_map(Result::ok)
        .collect()
}

/// `lumen ceremony list [--json]`.
pub fn run_list(args: &ScenarioDirsArgs, g: &GlobalArgs) -> CmdResult {
    let all = load_all(args)?;
    if g.json {
        let list: Vec<Value> = all
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "title": s.title,
                    "roles": s.roles.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
                    "steps": s.steps.len(),
                    "anomalies": s.anomalies.len(),
                })
            })
            .collect();
        print_json(&list)?;
    } else {
        for s in &all {
            outln!(
                "{:<28} {:>2} steps {:>2} anomalies  {}",
                sanitize(&s.id),
                s.steps.len(),
                s.anomalies.len(),
                sanitize(&s.title)
            );
        }
    }
    Ok(Outcome::Ok)
}

/// `lumen ceremony check [DIR]`: exit 1 with `file:line:col: message` lines on errors.
pub fn run_check(args: &CeremonyCheckArgs, g: &GlobalArgs) -> CmdResult {
    let mut files: Vec<Parsed> = Vec::new();
    match &args.dir {
        Some(dir) => files.extend(load_dir_files(std::slice::from_ref(dir))?),
        None => {
            files.extend(
                ceremony::SHIPPED
                    .iter()
                    .map(|(f, t)| (f.to_string(), scenario::parse(f, t))),
            );
            files.extend(load_dir_files(&args.dirs.scenario_dirs)?);
        }
    }
    // Answer scripts: DIR/scripts/*.yaml (or each --scenarios dir's), and the
    // embedded pass scripts when no DIR is given.
    let mut scripts: Vec<(String, String)> = Vec::new();
    let script_dirs: Vec<PathBuf> = match &args.dir {
        Some(dir) => vec![dir.join("scripts")],
        None => {
            scripts.extend(
                ceremony::SHIPPED_PASS_SCRIPTS
                    .iter()
                    .map(|(id, t)| (format!("scenarios/scripts/{id}.pass.yaml"), t.to_string())),
            );
            args.dirs
                .scenario_dirs
                .iter()
                .map(|d| d.join("scripts"))
                .collect()
        }
    };
    for dir in script_dirs.iter().filter(|d| d.is_dir()) {
        for path in yaml_files(dir)? {
            let text = crate::store::fsutil::read_regular_to_string(&path)
                .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))?;
            scripts.push((path.display().to_string(), text));
        }
    }
    let mut errors: Vec<Diagnostic> = Vec::new();
    let embedded = if scripts.is_empty() {
        Vec::new()
    } else {
        load_embedded()
    };
    for (file, text) in &scripts {
        match script::parse(file, text) {
            Err(d) => errors.extend(d),
            Ok(s) => {
                let found = files
                    .iter()
                    .filter_map(|(_, p)| p.as_ref().ok())
                    .chain(embedded.iter())
                    .find(|sc| sc.id == s.scenario)
                    .cloned();
                match found {
                    Some(sc) => errors.extend(script::check(file, &s, &sc)),
                    None => errors.push(Diagnostic {
                        file: file.clone(),
                        line: 1,
                        column: 1,
                        message: format!("no scenario `{}`", s.scenario),
                    }),
                }
            }
        }
    }
    let mut seen: Vec<(String, String)> = Vec::new();
    for (file, parsed) in &files {
        match parsed {
            Ok(s) => {
                if let Some((_, first)) = seen.iter().find(|(id, _)| id == &s.id) {
                    errors.push(Diagnostic {
                        file: file.clone(),
                        line: 1,
                        column: 1,
                        message: format!("scenario id `{}` is also defined in {first}", s.id),
                    });
                } else {
                    seen.push((s.id.clone(), file.clone()));
                }
            }
            Err(d) => errors.extend(d.iter().cloned()),
        }
    }
    if g.json {
        print_json(&json!({
            "ok": errors.is_empty(),
            "files": files.len(),
            "scripts": scripts.len(),
            "errors": errors.iter().map(|d| json!({
                "file": d.file, "line": d.line, "column": d.column, "message": d.message,
            })).collect::<Vec<_>>(),
        }))?;
    } else {
        for d in &errors {
            outln!("{d}");
        }
        if errors.is_empty() {
            outln!(
                "{} scenario file(s) and {} script(s) OK",
                files.len(),
                scripts.len()
            );
        }
    }
    Ok(if errors.is_empty() {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// `lumen ceremony verify FILE`: exit 0 when the chain and every signature hold.
pub fn run_verify(args: &CeremonyVerifyArgs, g: &GlobalArgs) -> CmdResult {
    let bytes = crate::store::fsutil::read_regular(&args.file)
        .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let v = transcript::verify(&bytes);
    if g.json {
        print_json(&v)?;
    } else {
        for e in &v.errors {
            outln!("{}: {}", args.file.display(), sanitize(e));
        }
        outln!(
            "{}: {} — {} record(s), chain {} ok / {} broken, signatures {} ok / {} bad",
            args.file.display(),
            if v.ok { "OK" } else { "FAILED" },
            v.records,
            v.chain_ok,
            v.chain_broken,
            v.signatures_ok,
            v.signatures_bad
        );
    }
    Ok(if v.ok {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// Load a participant's own key file: PKCS#8 PEM, refused when group/world readable.
pub(crate) fn load_key(path: &Path) -> Result<ed25519_dalek::SigningKey, CmdError> {
    use crate::store::keyfile::{KeyError, load_key_file};
    load_key_file(path).map_err(|e| match e {
        KeyError::LoosePermissions(_) => CmdError::refused(format!(
            "key file {} is readable by group or others (chmod 600 it)",
            path.display()
        )),
        KeyError::Io(e) => CmdError::usage(format!("key file {}: {e}", path.display())),
        KeyError::Format(e) => CmdError::refused(format!("key file {}: {e}", path.display())),
    })
}

/// `lumen ceremony run --scenario ID [--script FILE] [--seed N] [--json]`.
/// Exit 0 when the rehearsal passed, 1 when it failed.
pub fn run_run(args: &CeremonyRunArgs, g: &GlobalArgs) -> CmdResult {
    let all = load_all(&args.dirs)?;
    let Some(scenario) = all.into_iter().find(|s| s.id == args.scenario) else {
        return Err(CmdError::usage(format!(
            "no scenario `{}` (see `lumen ceremony list`)",
            sanitize(&args.scenario)
        )));
    };
    let (script, script_dir) = match &args.script {
        Some(path) => {
            let text = crate::store::fsutil::read_regular_to_string(path)
                .map_err(|e| CmdError::usage(format!("cannot read {}: {e}", path.display())))?;
            let s = script::parse(&path.display().to_string(), &text).map_err(|d| {
                CmdError::usage(
                    d.iter()
                        .map(|d| d.to_string())
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            })?;
            (s, path.parent().map(Path::to_path_buf))
        }
        None => {
            let Some((_, text)) = ceremony::SHIPPED_PASS_SCRIPTS
                .iter()
                .find(|(id, _)| *id == scenario.id)
            else {
                return Err(CmdError::usage(format!(
                    "scenario `{}` has no shipped script; pass --script FILE",
                    sanitize(&scenario.id)
                )));
            };
            let name = format!("scenarios/scripts/{}.pass.yaml", scenario.id);
            let s = script::parse(&name, text).map_err(|d| {
                CmdError::usage(d.first().map(|d| d.to_string()).unwrap_or_default())
            })?;
            (s, None)
        }
    };
    let script_name = args
        .script
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| format!("scenarios/scripts/{}.pass.yaml", scenario.id));
    let problems = script::check(&script_name, &script, &scenario);
    if !problems.is_empty() {
        return Err(CmdError::usage(
            problems
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        ));
    }
    let mut keys = KeySource::Os;
    let mut participants = Vec::new();
    for p in &script.participants {
        let key = match &p.key {
            Some(k) => {
                let path = match &script_dir {
                    Some(d) if Path::new(k).is_relative() => d.join(k),
                    _ => PathBuf::from(k),
                };
                load_key(&path)?
            }
            None => keys
                .generate()
                .map_err(|e| CmdError::Io(anyhow::anyhow!(e)))?,
        };
        participants.push(Participant::new(p.name.clone(), p.role.clone(), key));
    }
    let seed = args.seed.or(script.seed).unwrap_or(0);
    let mut machine = Machine::new(scenario, participants, seed, keys)
        .map_err(|e| CmdError::usage(format!("cannot start the rehearsal: {e}")))?;
    let unused =
        script::run(&mut machine, &script).map_err(|e| CmdError::usage(format!("script: {e}")))?;
    for line in unused {
        errln!("lumen: warning: the answer on script line {line} was never used");
    }
    let Some(summary) = machine.summary().cloned() else {
        return Err(CmdError::Io(anyhow::anyhow!(
            "the rehearsal did not reach its end"
        )));
    };
    let record = RehearsalRecord::from_machine(&machine, &summary);
    let hq = g.hq.clone().unwrap_or_else(|| PathBuf::from("."));
    let path = rehearsal::save_transcript(
        &rehearsal::transcript_dir(&hq),
        &summary.scenario,
        &record.transcript,
    )
    .map_err(CmdError::usage)?;
    let ledger_id = match &g.key {
        Some(key) => match crate::store::append::identity(&hq, key)
            .map_err(anyhow::Error::from)
            .and_then(|who| rehearsal::append_rehearsal(&hq, &who, &record, &path))
        {
            Ok(id) => Some(id),
            Err(e) => {
                errln!("lumen: the ceremony_rehearsal ledger entry was not written: {e:#}");
                None
            }
        },
        None => None,
    };
    let schedule = {
        let files = crate::store::custody::read_custody(&hq);
        let now = chrono::Utc::now();
        (!files.is_empty())
            .then(|| {
                crate::domain::hq::custody::schedule_note(
                    &crate::domain::hq::custody::assess(&files, now),
                    now,
                )
            })
            .flatten()
    };
    if g.json {
        print_json(&json!({
            "scenario": summary.scenario,
            "passed": summary.passed,
            "score": summary.score,
            "max": summary.max,
            "transcript": path.display().to_string(),
            "ledger_id": ledger_id,
            "schedule": schedule,
        }))?;
    } else {
        outln!(
            "{}: {} — {}/{} ({}%, pass mark {}%)",
            sanitize(&summary.scenario),
            if summary.passed { "PASSED" } else { "FAILED" },
            summary.score,
            summary.max,
            summary.percent,
            summary.pass_mark
        );
        if summary.postponed {
            outln!("the ceremony was postponed");
        }
        for e in machine.exceptions() {
            outln!(
                "exception [{}]: happened: {} | decided: {}",
                sanitize(&e.anomaly),
                sanitize(&e.happened),
                sanitize(&e.decided)
            );
        }
        for p in &summary.practise {
            outln!("practise: {}", sanitize(p));
        }
        if let Some(n) = &schedule {
            outln!("{}", sanitize(n));
        }
        outln!("transcript: {}", path.display());
        if let Some(id) = &ledger_id {
            outln!("ledger entry: {id}");
        }
    }
    Ok(if summary.passed {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}
