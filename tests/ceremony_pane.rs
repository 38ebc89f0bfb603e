//! The ceremony pane driven by keys with an injected clock: every shipped scenario
//! walked with its pass and fail scripts' answers typed into the pane ends with the
//! same score as the headless run (one state machine); timeouts, a wrong anomaly
//! response and its exception sheet, abandoning, saving; snapshots of every phase.

mod common;

use chrono::{DateTime, Duration, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lumen::app::{App, CeremonyScreen, Event, Pane, SaveState};
use lumen::domain::ceremony::crypto::KeySource;
use lumen::domain::ceremony::machine::Phase;
use lumen::domain::ceremony::scenario::QuestionKind;
use lumen::domain::ceremony::script::{self, AnswerKind, Script};
use lumen::domain::ceremony::{self, Machine, Participant, Scenario, transcript};
use lumen::protocol::Command;
use lumen::protocol::Msg;

use common::{Console, draw, fixture_app, screen_text};

fn scenarios() -> Vec<Scenario> {
    ceremony::shipped_scenarios()
        .into_iter()
        .map(|r| r.unwrap_or_else(|e| panic!("shipped scenario: {e:?}")))
        .collect()
}

/// The fixture app with the shipped scenarios, focused on the ceremony pane, a fixed
/// rehearsal seed (keys derived from it), the list at `id`.
fn app_at(id: &str, seed: u64) -> Console {
    let mut app = Console::new(fixture_app());
    let all = scenarios();
    let pos = all
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("no scenario {id}"));
    app.set_ceremony_scenarios(all);
    app.set_ceremony_seed(Some(seed));
    key(&mut app, KeyCode::Char('5'));
    assert_eq!(app.shell().focus, Pane::Ceremony);
    for _ in 0..pos {
        key(&mut app, KeyCode::Down);
    }
    assert_eq!(app.panes().ceremony.scenario_sel, pos);
    app
}

/// Zoom in or out the way an operator does (`z`).
fn set_zoom(app: &mut Console, zoom: bool) {
    if app.shell().zoom != zoom {
        app.apply(lumen::protocol::Action::ToggleZoom);
    }
}

fn key(app: &mut Console, code: KeyCode) {
    app.update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn type_text(app: &mut Console, text: &str) {
    assert!(app.shell().prompt.is_some(), "typing needs an open prompt");
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

/// Run the key-file reads the app asked for (as the console's operator does) and
/// hand the answers back.
fn run_key_loads(app: &mut Console) {
    let cmds = app.take_commands();
    let mut loads = 0;
    for c in cmds {
        if let Command::LoadParticipantKey { role, path } = c {
            loads += 1;
            let msg = lumen::operator::exec::load_participant_key(role, path);
            app.update(Event::Msg(msg));
        }
    }
    assert_eq!(loads, 1, "one key file read asked for");
}

fn advance(app: &mut Console, secs: u64) {
    let now: DateTime<Utc> = app.shell().now + Duration::seconds(i64::try_from(secs).unwrap_or(0));
    app.update(Event::Tick(now));
}

fn phase(app: &App) -> Option<Phase> {
    match &app.panes().ceremony.screen {
        CeremonyScreen::Rehearsal(r) => Some(r.view.phase),
        _ => None,
    }
}

fn view(app: &App) -> lumen::domain::ceremony::View {
    match &app.panes().ceremony.screen {
        CeremonyScreen::Rehearsal(r) => r.view.clone(),
        _ => panic!("no rehearsal on screen"),
    }
}

/// Open the setup screen and type the script's participant names into it.
fn setup_from_script(app: &mut Console, sc: &Scenario, s: &Script) {
    key(app, KeyCode::Enter);
    fill_setup(app, sc, s);
}

/// On the setup screen: Enter on the selected role, clear its name, type `name` (none:
/// left empty), Enter.
fn rename_selected(app: &mut Console, name: &str) {
    key(app, KeyCode::Enter);
    for _ in 0..40 {
        key(app, KeyCode::Backspace);
    }
    if !name.is_empty() {
        type_text(app, name);
    }
    key(app, KeyCode::Enter);
}

/// On the setup screen: type the script's participant names, then start.
fn fill_setup(app: &mut Console, sc: &Scenario, s: &Script) {
    assert!(matches!(
        app.panes().ceremony.screen,
        CeremonyScreen::Setup(_)
    ));
    for (i, role) in sc.roles.iter().enumerate() {
        let name = s
            .participants
            .iter()
            .find(|p| p.role == role.id)
            .map(|p| p.name.clone())
            .unwrap_or_default();
        key(app, KeyCode::Home);
        for _ in 0..i {
            key(app, KeyCode::Down);
        }
        rename_selected(app, &name);
        assert!(app.shell().prompt.is_none());
    }
    key(app, KeyCode::End);
    key(app, KeyCode::Enter);
    if let CeremonyScreen::Setup(s) = &app.panes().ceremony.screen {
        panic!("did not start: {:?}", s.error);
    }
}

/// Select the line of the in-pane list whose value is `want` (Up/Down), then Enter.
fn pick(app: &mut Console, options: &[(String, String)], want: &str) {
    let i = options
        .iter()
        .position(|(id, _)| id.eq_ignore_ascii_case(want))
        .unwrap_or_else(|| panic!("`{want}` is not among {options:?}"));
    key(app, KeyCode::Home);
    for _ in 0..i {
        key(app, KeyCode::Down);
    }
    key(app, KeyCode::Enter);
}

fn chooser(app: &App) -> Option<Vec<(String, String)>> {
    match &app.panes().ceremony.screen {
        CeremonyScreen::Rehearsal(r) => r.chooser.as_ref().map(|c| c.options.clone()),
        _ => None,
    }
}

/// Drive the pane with a script's answers, by keys, advancing the injected clock
/// by each answer's `elapsed`; steps and anomalies without an answer time out.
fn walk(app: &mut Console, sc: &Scenario, s: &Script) {
    let mut used = vec![false; s.answers.len()];
    for _ in 0..200 {
        let Some(p) = phase(app) else {
            panic!("the rehearsal left the screen")
        };
        let v = view(app);
        match p {
            Phase::Done => return,
            Phase::Anomaly => {
                let a = v.anomaly.clone().unwrap_or_else(|| panic!("no anomaly"));
                let kind = a.kind.clone();
                let found = s.answers.iter().enumerate().find(|(i, x)| {
                    !used[*i]
                        && matches!(&x.kind, AnswerKind::Anomaly { kind: k, .. } if *k == kind)
                });
                match found {
                    Some((i, x)) => {
                        used[i] = true;
                        advance(app, x.elapsed);
                        let AnswerKind::Anomaly { response, .. } = &x.kind else {
                            unreachable!()
                        };
                        pick(app, &a.options, response);
                    }
                    None => time_out(app),
                }
            }
            Phase::Step => {
                let cur = v.current.clone().unwrap_or_else(|| panic!("no step"));
                let found = s.answers.iter().enumerate().find(|(i, x)| {
                    !used[*i] && matches!(&x.kind, AnswerKind::Step { step, .. } if *step == cur.id)
                });
                let Some((i, x)) = found else {
                    time_out(app);
                    continue;
                };
                used[i] = true;
                // The pane misses a step at twice its budget (headless runs have no
                // clock of their own): a late answer arrives just before that.
                advance(app, x.elapsed.min(cur.budget_secs * 2 - 1));
                let AnswerKind::Step { by, input, .. } = &x.kind else {
                    unreachable!()
                };
                key(app, KeyCode::Enter);
                if let Some(opts) = chooser(app)
                    && opts.iter().any(|(n, _)| n == by)
                {
                    pick(app, &opts, by);
                }
                if let Some(opts) = chooser(app) {
                    pick(app, &opts, input);
                } else if app.shell().prompt.is_some() {
                    let text = if input.trim() == "{fingerprint}" {
                        view(app)
                            .root_fingerprint
                            .unwrap_or_default()
                            .replace(' ', "")
                            .chars()
                            .take(8)
                            .collect()
                    } else {
                        input.clone()
                    };
                    type_text(app, &text);
                    key(app, KeyCode::Enter);
                }
            }
            Phase::Quiz => {
                let q = v.question.clone().unwrap_or_else(|| panic!("no question"));
                let answer = s.quiz.get(&q.id).cloned().unwrap_or_default();
                if q.options.is_empty() {
                    key(app, KeyCode::Enter);
                    type_text(app, &answer);
                    key(app, KeyCode::Enter);
                } else {
                    let want = if q
                        .options
                        .iter()
                        .any(|(id, _)| id.eq_ignore_ascii_case(&answer))
                    {
                        answer
                    } else {
                        // Unanswered: pick a wrong option (0 points, as a skip).
                        let right = sc
                            .quiz
                            .iter()
                            .find(|x| x.id == q.id)
                            .and_then(|x| match &x.kind {
                                QuestionKind::Choice { answer, .. } => Some(answer.clone()),
                                QuestionKind::Short { .. } => None,
                            })
                            .unwrap_or_default();
                        q.options
                            .iter()
                            .map(|(id, _)| id.clone())
                            .find(|id| *id != right)
                            .unwrap_or_default()
                    };
                    pick(app, &q.options, &want);
                }
            }
        }
        if let CeremonyScreen::Rehearsal(r) = &app.panes().ceremony.screen {
            assert!(r.error.is_none(), "refused: {:?}", r.error);
        }
    }
    panic!("the walk did not end");
}

/// Let the current step run out: tick past twice its budget.
fn time_out(app: &mut Console) {
    let budget = view(app).current.map_or(120, |c| c.budget_secs);
    let before = view(app).log.len();
    advance(app, budget * 2 + 1);
    assert!(view(app).log.len() > before, "the timeout did nothing");
}

fn headless(sc: &Scenario, s: &Script, seed: u64) -> lumen::domain::ceremony::score::Summary {
    let mut keys = KeySource::seeded(seed);
    let participants = s
        .participants
        .iter()
        .map(|p| {
            Participant::new(
                p.name.clone(),
                p.role.clone(),
                keys.generate().unwrap_or_else(|e| panic!("{e}")),
            )
        })
        .collect();
    let mut m = Machine::new(sc.clone(), participants, seed, keys)
        .unwrap_or_else(|e| panic!("machine: {e}"));
    script::run(&mut m, s).unwrap_or_else(|e| panic!("script: {e}"));
    m.summary().cloned().unwrap_or_else(|| panic!("no summary"))
}

fn load_script(id: &str, which: &str) -> Script {
    let path = format!(
        "{}/scenarios/scripts/{id}.{which}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    script::parse(&path, &text).unwrap_or_else(|e| panic!("{path}: {e:?}"))
}

fn saved_record(app: &mut Console) -> lumen::domain::ceremony::transcript::RehearsalRecord {
    let cmds = app.take_commands();
    let mut records: Vec<_> = cmds
        .into_iter()
        .filter_map(|c| match c {
            Command::SaveRehearsal(r) => Some(*r),
            _ => None,
        })
        .collect();
    assert_eq!(records.len(), 1, "one save command at the end");
    records.remove(0)
}

#[test]
fn every_scenario_by_keys_scores_like_headless() {
    for sc in scenarios() {
        for which in ["pass", "fail"] {
            let s = load_script(&sc.id, which);
            let seed = s.seed.unwrap_or(7);
            let mut app = app_at(&sc.id, seed);
            setup_from_script(&mut app, &sc, &s);
            walk(&mut app, &sc, &s);
            let pane = view(&app)
                .summary
                .unwrap_or_else(|| panic!("{}: no summary", sc.id));
            let head = headless(&sc, &s, seed);
            assert_eq!(
                (pane.score, pane.max, pane.passed, pane.postponed),
                (head.score, head.max, head.passed, head.postponed),
                "{} {which}: pane {pane:?} vs headless {head:?}",
                sc.id
            );
            assert_eq!(pane.passed, which == "pass", "{} {which}", sc.id);
            let rec = saved_record(&mut app);
            let v = transcript::verify(rec.transcript.as_bytes());
            assert!(v.ok, "{} {which}: {:?}", sc.id, v.errors);
        }
    }
}

#[test]
fn save_writes_the_transcript_and_reports_back() {
    let sc = scenarios()
        .into_iter()
        .find(|s| s.id == "witness-no-show")
        .unwrap_or_else(|| panic!("scenario"));
    let s = load_script(&sc.id, "pass");
    let mut app = app_at(&sc.id, 7);
    app.set_operator(Err("no operator key: start with --key FILE".into()));
    setup_from_script(&mut app, &sc, &s);
    walk(&mut app, &sc, &s);
    let rec = saved_record(&mut app);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let saved = lumen::operator::rehearsal::save_rehearsal(dir.path(), None, &rec)
        .unwrap_or_else(|e| panic!("save: {e}"));
    assert!(
        saved
            .transcript
            .starts_with(dir.path().join("custody/sim/artifacts"))
    );
    let bytes = std::fs::read(&saved.transcript).unwrap_or_else(|e| panic!("{e}"));
    assert!(transcript::verify(&bytes).ok);
    assert!(saved.ledger.is_err());
    let path = saved.transcript.clone();
    app.update(Event::Msg(Msg::RehearsalSaved {
        result: Ok(saved),
        at: app.shell().now,
    }));
    match &app.panes().ceremony.screen {
        CeremonyScreen::Rehearsal(r) => match &r.save {
            SaveState::Saved { path: p, ledger } => {
                assert_eq!(p, &path);
                let e = ledger.clone().err().unwrap_or_default();
                assert!(e.contains("no operator key"), "{e}");
            }
            other => panic!("save state {other:?}"),
        },
        _ => panic!("summary left the screen"),
    }
    set_zoom(&mut app, true);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("ledger entry not written"), "{text}");
    // Esc keeps the finished summary: → on the list reopens it.
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.panes().ceremony.screen, CeremonyScreen::List));
    key(&mut app, KeyCode::Right);
    assert_eq!(phase(&app), Some(Phase::Done));
}

#[test]
fn a_step_times_out_after_twice_its_budget_and_is_missed() {
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    assert_eq!(phase(&app), Some(Phase::Step));
    let budget = view(&app).current.map_or(0, |c| c.budget_secs);
    assert_eq!(budget, 300);
    // Open the prompt, then let the time run out while it is open.
    key(&mut app, KeyCode::Enter);
    assert!(app.shell().prompt.is_some());
    advance(&mut app, budget + 1);
    assert_eq!(
        view(&app).current.map(|c| c.index),
        Some(0),
        "late is not missed"
    );
    advance(&mut app, budget);
    let v = view(&app);
    assert_eq!(
        v.checklist.first().map(|c| c.status),
        Some(lumen::domain::ceremony::score::StepStatus::Missed)
    );
    assert!(
        app.shell().prompt.is_none(),
        "the timed-out step's prompt closes"
    );
    // The next thing is the witness-absent anomaly at step 2.
    assert_eq!(v.phase, Phase::Anomaly);
}

#[test]
fn a_wrong_anomaly_response_fails_and_fills_the_exception_sheet() {
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "ok");
    key(&mut app, KeyCode::Enter);
    assert_eq!(phase(&app), Some(Phase::Anomaly));
    let opts = view(&app).anomaly.map(|a| a.options).unwrap_or_default();
    pick(&mut app, &opts, "admin-witnesses");
    let v = view(&app);
    assert_eq!(v.phase, Phase::Quiz);
    let x = v
        .exceptions
        .first()
        .cloned()
        .unwrap_or_else(|| panic!("no exception"));
    assert_eq!(x.anomaly, "witness-absent");
    assert!(x.decided.contains("administrator also acts as witness"));
    assert!(x.expected.contains("postpone"), "{}", x.expected);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("Exception sheet"), "{text}");
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "independent");
    key(&mut app, KeyCode::Enter);
    let sum = view(&app).summary.unwrap_or_else(|| panic!("no summary"));
    assert!(!sum.passed);
    assert!(sum.failure.is_some());
}

#[test]
fn esc_asks_before_abandoning() {
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Esc);
    assert!(matches!(&app.panes().ceremony.screen, CeremonyScreen::Rehearsal(r) if r.abandon));
    key(&mut app, KeyCode::Char('n'));
    assert_eq!(phase(&app), Some(Phase::Step));
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Char('q'));
    assert!(!app.shell().should_quit, "the dialog takes every key");
    key(&mut app, KeyCode::Char('y'));
    assert!(matches!(app.panes().ceremony.screen, CeremonyScreen::List));
    assert!(
        !app.commands()
            .iter()
            .any(|c| matches!(c, Command::SaveRehearsal(_))),
        "nothing is saved"
    );
}

#[test]
fn setup_refuses_duplicate_names_and_bad_key_files() {
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    rename_selected(&mut app, "Alice");
    let err = match &app.panes().ceremony.screen {
        CeremonyScreen::Setup(s) => s.error.clone().unwrap_or_default(),
        _ => panic!("setup"),
    };
    assert!(err.contains("already holds"), "{err}");
    // A key file readable by others is refused.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("k.pem");
    std::fs::write(&path, "x").unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    key(&mut app, KeyCode::Right);
    type_text(&mut app, &path.display().to_string());
    key(&mut app, KeyCode::Enter);
    run_key_loads(&mut app);
    let err = match &app.panes().ceremony.screen {
        CeremonyScreen::Setup(s) => s.error.clone().unwrap_or_default(),
        _ => panic!("setup"),
    };
    assert!(err.contains("readable by group or others"), "{err}");
}

/// Esc on the setup screen keeps what was typed: opening the same scenario again
/// brings the names back; another scenario starts fresh.
#[test]
fn esc_on_setup_keeps_typed_names_for_the_same_scenario() {
    let name_of = |app: &App, i: usize| match &app.panes().ceremony.screen {
        CeremonyScreen::Setup(s) => s.roles.get(i).map(|r| r.name.clone()),
        _ => None,
    };
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    rename_selected(&mut app, "Mallory");
    assert_eq!(name_of(&app, 0).as_deref(), Some("Mallory"));
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.panes().ceremony.screen, CeremonyScreen::List));
    key(&mut app, KeyCode::Enter);
    assert_eq!(name_of(&app, 0).as_deref(), Some("Mallory"), "kept");
    // Back out and open a different scenario: its own defaults, not the draft.
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Enter);
    match &app.panes().ceremony.screen {
        CeremonyScreen::Setup(s) => assert_ne!(s.scenario.id, "witness-no-show"),
        _ => panic!("setup"),
    }
    assert_eq!(name_of(&app, 0).as_deref(), Some("Alice"));
}

// ------------------------------------------------------------------ snapshots

/// initial-root-setup, seed 7: reach each phase and snapshot it zoomed at 160×48
/// and in the 80×24 layout.
fn snap(app: &mut Console, name: &str) {
    set_zoom(app, true);
    insta::assert_snapshot!(format!("{name}_160x48"), draw(app, 160, 48).backend());
    set_zoom(app, false);
    insta::assert_snapshot!(format!("{name}_80x24"), draw(app, 80, 24).backend());
}

#[test]
fn snapshots_of_every_phase() {
    let mut app = app_at("initial-root-setup", 7);
    snap(&mut app, "ceremony_list");
    key(&mut app, KeyCode::Enter);
    snap(&mut app, "ceremony_setup");
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    advance(&mut app, 42);
    snap(&mut app, "ceremony_step");
    // On to the quorum step (answers from the pass script; an anomaly gets its first
    // response), then one signature in.
    let s = load_script("initial-root-setup", "pass");
    for _ in 0..20 {
        if view(&app).current.is_some_and(|c| c.kind == "quorum")
            && phase(&app) == Some(Phase::Step)
        {
            break;
        }
        if phase(&app) == Some(Phase::Anomaly) {
            key(&mut app, KeyCode::Enter);
            continue;
        }
        let step = view(&app).current.map(|c| c.id).unwrap_or_default();
        let ans = s
            .answers
            .iter()
            .find_map(|a| match &a.kind {
                AnswerKind::Step {
                    step: st, input, ..
                } if *st == step => Some(input.clone()),
                _ => None,
            })
            .unwrap_or_default();
        key(&mut app, KeyCode::Enter);
        if let Some(o) = chooser(&app) {
            pick(&mut app, &o, &ans);
        } else if app.shell().prompt.is_some() {
            type_text(&mut app, &ans);
            key(&mut app, KeyCode::Enter);
        }
    }
    key(&mut app, KeyCode::Enter);
    let o = chooser(&app).unwrap_or_else(|| panic!("who signs? {:?}", view(&app).current));
    assert_eq!(o.len(), 3, "three crypto officers may sign");
    pick(&mut app, &o, "Bob");
    let q = view(&app).quorum.unwrap_or_else(|| panic!("no quorum"));
    assert_eq!((q.have, q.need), (1, 2));
    key(&mut app, KeyCode::Enter);
    assert_eq!(chooser(&app).map(|o| o.len()), Some(2), "Bob has signed");
    snap(&mut app, "ceremony_quorum");
    key(&mut app, KeyCode::Esc);
    // The anomaly and the quiz: witness-no-show (the anomaly is scripted at step 2).
    let mut app = app_at("witness-no-show", 7);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "ok");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Down);
    snap(&mut app, "ceremony_anomaly");
    key(&mut app, KeyCode::Up);
    key(&mut app, KeyCode::Enter);
    snap(&mut app, "ceremony_quiz");
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "an independent observer signs the record");
    key(&mut app, KeyCode::Enter);
    let _ = saved_record(&mut app);
    app.update(Event::Msg(Msg::RehearsalSaved {
        result: Ok(lumen::domain::ceremony::transcript::SavedRehearsal {
            transcript: "/srv/hq/custody/sim/artifacts/witness-no-show-20261122T120000Z.jsonl"
                .into(),
            ledger: Ok("TXN-20261122-000042".into()),
        }),
        at: app.shell().now,
    }));
    snap(&mut app, "ceremony_summary");
}

#[test]
fn every_phase_draws_at_any_size_without_panicking() {
    let sizes = [
        (1, 1),
        (2, 2),
        (20, 5),
        (40, 10),
        (60, 15),
        (80, 24),
        (110, 30),
        (200, 60),
    ];
    let draw_all = |app: &mut Console| {
        for zoom in [false, true] {
            set_zoom(app, zoom);
            for (w, h) in sizes {
                let _ = draw(app, w, h);
            }
        }
        set_zoom(app, false);
    };
    let mut app = app_at("witness-no-show", 7);
    draw_all(&mut app);
    key(&mut app, KeyCode::Enter);
    draw_all(&mut app);
    key(&mut app, KeyCode::End);
    key(&mut app, KeyCode::Enter);
    draw_all(&mut app);
    key(&mut app, KeyCode::Esc);
    draw_all(&mut app);
    key(&mut app, KeyCode::Char('n'));
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "ok");
    key(&mut app, KeyCode::Enter);
    draw_all(&mut app);
    key(&mut app, KeyCode::Enter);
    draw_all(&mut app);
    key(&mut app, KeyCode::Enter);
    type_text(&mut app, "x");
    key(&mut app, KeyCode::Enter);
    assert_eq!(phase(&app), Some(Phase::Done));
    draw_all(&mut app);
}

#[test]
fn a_brought_key_file_signs_the_transcript() {
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("alice.pem");
    let brought = ed25519_dalek::SigningKey::from_bytes(&[5u8; 32]);
    let pem = brought
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, pem.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let sc = scenarios()
        .into_iter()
        .find(|s| s.id == "witness-no-show")
        .unwrap_or_else(|| panic!("scenario"));
    let s = load_script(&sc.id, "pass");
    let mut app = app_at(&sc.id, 7);
    key(&mut app, KeyCode::Enter);
    // The first role (admin, Alice) brings the key.
    key(&mut app, KeyCode::Right);
    type_text(&mut app, &path.display().to_string());
    key(&mut app, KeyCode::Enter);
    run_key_loads(&mut app);
    match &app.panes().ceremony.screen {
        CeremonyScreen::Setup(st) => {
            assert_eq!(st.error, None);
            assert_eq!(
                st.roles.first().and_then(|r| r.key_file.clone()),
                Some(path.clone())
            );
        }
        _ => panic!("setup"),
    }
    fill_setup(&mut app, &sc, &s);
    walk(&mut app, &sc, &s);
    let rec = saved_record(&mut app);
    assert!(transcript::verify(rec.transcript.as_bytes()).ok);
    let header: serde_json::Value = rec
        .transcript
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no header"));
    let alice = header["participants"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "Alice"))
        .cloned()
        .unwrap_or_else(|| panic!("no Alice in {header}"));
    assert_eq!(
        alice["publicKey"],
        lumen::domain::ceremony::crypto::public_b64(&brought.verifying_key())
    );
}
