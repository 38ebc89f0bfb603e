//! The ledger pane over a real file: paging beyond the tail's window through the
//! index, filters over the whole ledger (submit → matches → n/N), live matching of
//! appended lines, the detail view (chain, signature) and the jump to a rollback's
//! target. The reader's requests are served synchronously so the clock and the order
//! of events are the test's; one test runs the threaded worker and polls.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use lumen::app::{App, Event, LineSlot};
use lumen::domain::ledger::parse_line;
use lumen::keymap::Keymap;
use lumen::protocol::{Action, Msg};
use lumen::protocol::{ChainStatus, Command, LedgerViewMsg, SigStatus};
use lumen::sources::ledger_reader::Reader;
use lumen::store::index::LineIndex;
use lumen::theme::Theme;

use common::{Console, draw, screen_text, t0};

const BRANCHES: [&str; 5] = ["koosy", "papafly", "orbit", "atlas", "lumen-lab"];
const EVENTS: [&str; 4] = ["deploy", "llm_generate", "deploy_failed", "pr_opened"];

/// A plain (unsigned) ledger line number `i` (1-based), deterministic.
fn plain_line(i: u64, now: DateTime<Utc>) -> String {
    let b = BRANCHES[(i as usize) % BRANCHES.len()];
    let e = EVENTS[(i as usize / 5) % EVENTS.len()];
    let ts = now - chrono::Duration::seconds(100_000 - i as i64);
    let cost = if e == "llm_generate" {
        format!(
            r#","tokens":{},"cost":{}"#,
            i % 3000,
            (i % 100) as f64 / 100.0
        )
    } else {
        String::new()
    };
    format!(
        r#"{{"id":"TXN-20261122-{i:06}","branch":"{b}","event":"{e}","actor":"ci","timestamp":"{}"{cost}}}"#,
        ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Hq {
    fn ledger(&self) -> PathBuf {
        self.root.join("hq/ledger/ledger.jsonl")
    }
}

/// An HQ root whose ledger has `n` plain lines, an empty line after line 10 (so line
/// numbers and entries differ), a reject at line 20, then a signed deploy and a
/// signed rollback targeting line 3's entry, both chained by the append path.
fn hq(n: u64) -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let root = dir.path().to_path_buf();
    std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    let mut text = String::new();
    for i in 1..=n {
        if i == 11 {
            text.push('\n');
        } else if i == 20 {
            text.push_str("{\"id\":\"broken\n");
        } else {
            text.push_str(&plain_line(i, t0()));
            text.push('\n');
        }
    }
    std::fs::write(root.join("hq/ledger/ledger.jsonl"), text).unwrap_or_else(|e| panic!("{e}"));
    let key = lumen::domain::signing::generate().unwrap_or_else(|e| panic!("{e}"));
    let keys = serde_json::json!({"signers":[{"id":"ops-1","role":"hq_admin",
        "publicKey": lumen::domain::signing::public_key_b64(&key.verifying_key())}]});
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    let who = lumen::store::append::Identity {
        signer_id: "ops-1".into(),
        role: "hq_admin".into(),
        key_path: root.join("unused.pem"),
        key,
    };
    let ledger = root.join("hq/ledger/ledger.jsonl");
    for (event, target) in [("deploy", None), ("rollback", Some("TXN-20261122-000003"))] {
        let mut fields = serde_json::Map::new();
        fields.insert("branch".into(), "koosy".into());
        fields.insert("event".into(), event.into());
        // A fixed time: snapshots must not depend on the wall clock.
        fields.insert("timestamp".into(), "2026-11-22T11:59:00Z".into());
        if let Some(t) = target {
            fields.insert("target".into(), t.into());
        }
        lumen::store::append::append_signed(&ledger, &who, fields)
            .unwrap_or_else(|e| panic!("append: {e:#}"));
    }
    Hq { _dir: dir, root }
}

fn reader(h: &Hq) -> Reader {
    let index = LineIndex::new(&h.ledger());
    index.refresh().unwrap_or_else(|e| panic!("index: {e}"));
    Reader::new(&h.root, index)
}

/// An app whose tail has delivered the last `window` lines (as the tail would).
fn app_with_tail(r: &Reader, window: u64) -> Console {
    let mut app = Console::new(App::new(t0(), Theme::dark(), Keymap::default()));
    app.update(Event::Resize(160, 48));
    app.apply(Action::FocusLedger);
    app.apply(Action::ToggleZoom);
    let total = r.index.len();
    let first = total.saturating_sub(window) + 1;
    let records = r
        .page(first, window)
        .unwrap_or_else(|e| panic!("page: {e}"))
        .into_iter()
        .filter_map(|p| p.record)
        .collect();
    app.update(Event::Msg(Msg::LedgerAppended { records, at: t0() }));
    app.update(Event::Msg(Msg::LedgerView(LedgerViewMsg::Index(
        r.index_status(),
    ))));
    app
}

/// Serve every queued reader request (and the requests their answers cause).
/// Returns how many were served.
fn serve(app: &mut Console, r: &Reader) -> usize {
    let mut served = 0;
    for _ in 0..100 {
        let cmds: Vec<Command> = app.take_commands();
        if cmds.is_empty() {
            break;
        }
        for c in cmds {
            if let Command::Ledger(req) = c {
                served += 1;
                for m in r.serve(req) {
                    app.update(Event::Msg(m));
                }
            }
        }
    }
    served
}

fn id_at(app: &App, line: u64) -> Option<String> {
    match app.ledger_line(line) {
        LineSlot::Loaded(r) => r.parsed.as_ref().ok().map(|e| e.id.clone()),
        _ => None,
    }
}

#[test]
fn scrolling_reads_pages_beyond_the_tail_window_with_true_line_numbers() {
    let h = hq(3_000);
    let r = reader(&h);
    assert_eq!(r.index.len(), 3_002);
    let mut app = app_with_tail(&r, 200);
    assert_eq!(app.panes().ledger.recent.len(), 200);
    assert_eq!(app.ledger_selected_line(), Some(3_002));
    // Home: the first line of the file, far beyond the 200 lines in memory.
    app.apply(Action::Top);
    assert!(!app.panes().ledger_view.follow, "scrolling pauses follow");
    assert_eq!(app.ledger_selected_line(), Some(1));
    assert_eq!(app.ledger_line(1), LineSlot::Loading);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("loading…"), "{text}");
    assert!(serve(&mut app, &r) >= 1, "a page was requested");
    assert_eq!(id_at(&app, 1).as_deref(), Some("TXN-20261122-000001"));
    // Line 11 is empty, line 20 a reject: both keep their numbers.
    assert_eq!(app.ledger_line(11), LineSlot::Empty);
    assert_eq!(id_at(&app, 12).as_deref(), Some("TXN-20261122-000012"));
    match app.ledger_line(20) {
        LineSlot::Loaded(rec) => assert!(rec.parsed.is_err(), "line 20 is a reject"),
        other => panic!("line 20: {other:?}"),
    }
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("(empty line)"), "{text}");
    assert!(text.contains("REJECT"), "{text}");
    // PgDn walks down the file; each page arrives when asked.
    for _ in 0..60 {
        app.apply(Action::PageDown);
        serve(&mut app, &r);
    }
    let sel = app.ledger_selected_line().unwrap_or(0);
    assert!(sel > 1_000, "PgDn moved through the file: {sel}");
    assert_eq!(
        id_at(&app, sel),
        Some(format!("TXN-20261122-{sel:06}")),
        "the selected line is the file's line {sel}"
    );
    assert!(
        app.panes().ledger_view.pages.len() <= lumen::app::MAX_PAGES,
        "pages are bounded"
    );
    // Up from the middle, then End resumes follow.
    app.apply(Action::Up);
    assert_eq!(app.ledger_selected_line(), Some(sel - 1));
    app.apply(Action::Bottom);
    assert!(app.panes().ledger_view.follow);
    assert_eq!(app.ledger_selected_line(), Some(3_002));
}

/// Line numbers of the file matching `pred` (brute force, independent of the reader).
fn expected(h: &Hq, pred: impl Fn(&lumen::domain::ledger::Entry) -> bool) -> Vec<u64> {
    let text = std::fs::read(h.ledger()).unwrap_or_else(|e| panic!("{e}"));
    text.split(|b| *b == b'\n')
        .enumerate()
        .filter_map(|(i, l)| {
            let e = parse_line(l).ok()?;
            pred(&e).then_some(i as u64 + 1)
        })
        .collect()
}

#[test]
fn a_filter_scans_the_whole_ledger_and_n_jumps_between_matches() {
    let h = hq(3_000);
    let r = reader(&h);
    let mut app = app_with_tail(&r, 100);
    app.submit_ledger_filter("branch:koosy event:deploy*".into());
    let f = app
        .panes()
        .ledger_view
        .active
        .as_ref()
        .unwrap_or_else(|| panic!("no filter"));
    assert!(f.scanning.is_some(), "scanning until the reader answers");
    serve(&mut app, &r);
    let want = expected(&h, |e| e.branch == "koosy" && e.event.starts_with("deploy"));
    assert!(want.len() > 200, "{}", want.len());
    let f = app
        .panes()
        .ledger_view
        .active
        .as_ref()
        .unwrap_or_else(|| panic!("no filter"));
    assert_eq!(
        f.matches, want,
        "every match in the file, not just the tail"
    );
    assert!(f.scanning.is_none());
    // The count is on screen.
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains(&format!("{} matches", want.len())), "{text}");
    // Following shows the newest match; n wraps to the first, then walks down.
    assert_eq!(app.ledger_selected_line(), want.last().copied());
    app.apply(Action::NextMatch);
    assert_eq!(app.ledger_selected_line(), Some(want[0]));
    app.apply(Action::NextMatch);
    assert_eq!(app.ledger_selected_line(), Some(want[1]));
    app.apply(Action::PrevMatch);
    assert_eq!(app.ledger_selected_line(), Some(want[0]));
    app.apply(Action::PrevMatch);
    assert_eq!(app.ledger_selected_line(), want.last().copied(), "N wraps");
    app.apply(Action::NextMatch);
    serve(&mut app, &r);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(
        text.contains("TXN-20261122-"),
        "the first match is loaded: {text}"
    );
    assert!(!text.contains("orbit"), "only matches are listed: {text}");
    // Context lines: two around each match, dimmed but present.
    app.apply(Action::CycleContext);
    serve(&mut app, &r);
    let rows = app.ledger_rows(40);
    assert!(rows.iter().any(|r| !r.is_match), "context rows shown");
    assert!(rows.iter().any(|r| r.is_match && r.selected));

    // A bad term is reported and the old filter stays in force.
    app.submit_ledger_filter("branch:koosy colour:red".into());
    assert!(
        app.panes()
            .ledger_view
            .filter_error
            .as_deref()
            .is_some_and(|e| e.contains("colour:red")),
        "{:?}",
        app.panes().ledger_view.filter_error
    );
    assert_eq!(
        app.panes()
            .ledger_view
            .active
            .as_ref()
            .map(|f| f.matches.len()),
        Some(want.len())
    );
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("unknown field"), "{text}");
    // Cost and free text over the whole file.
    app.submit_ledger_filter("cost>=0.5 orbit".into());
    serve(&mut app, &r);
    let want = expected(&h, |e| {
        e.cost.is_some_and(|c| c >= 0.5) && e.branch == "orbit"
    });
    assert!(!want.is_empty());
    assert_eq!(
        app.panes()
            .ledger_view
            .active
            .as_ref()
            .map(|f| f.matches.clone()),
        Some(want)
    );
    // An empty submit clears the filter.
    app.submit_ledger_filter("  ".into());
    assert!(app.panes().ledger_view.active.is_none());
    assert!(app.panes().ledger_view.filter_error.is_none());
    assert!(
        app.commands().iter().any(|c| matches!(
            c,
            Command::Ledger(lumen::protocol::LedgerRequest::Filter { filter: None, .. })
        )),
        "the running scan is stopped"
    );
}

#[test]
fn detail_shows_chain_signature_and_jumps_to_a_rollback_target() {
    let h = hq(500);
    let r = reader(&h);
    let mut app = app_with_tail(&r, 100);
    // The last line is the signed rollback.
    app.apply(Action::Up);
    app.apply(Action::Down);
    assert_eq!(app.ledger_selected_line(), Some(502));
    app.apply(Action::Select);
    assert!(app.panes().ledger_view.detail);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("reading…"), "{text}");
    serve(&mut app, &r);
    let d = app
        .panes()
        .ledger_view
        .detail_data
        .clone()
        .unwrap_or_else(|| panic!("no detail"));
    assert_eq!(d.line, 502);
    assert_eq!(d.chain, ChainStatus::Linked);
    assert_eq!(
        d.signature,
        SigStatus::Valid {
            signer: "ops-1".into()
        }
    );
    assert_eq!(d.target.as_deref(), Some("TXN-20261122-000003"));
    assert!(d.pretty.iter().any(|l| l.contains("\"sig\"")), "all fields");
    let raw_len = std::fs::read_to_string(h.ledger())
        .unwrap_or_default()
        .lines()
        .nth(501)
        .map(str::len);
    assert_eq!(Some(d.len as usize), raw_len);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("press Enter to jump"), "{text}");
    assert!(text.contains("valid, signer ops-1"), "{text}");
    // Enter: find the target (background), move the selection there, show its detail.
    app.apply(Action::Select);
    serve(&mut app, &r);
    assert_eq!(app.ledger_selected_line(), Some(3));
    assert!(!app.panes().ledger_view.follow);
    let d = app
        .panes()
        .ledger_view
        .detail_data
        .clone()
        .unwrap_or_else(|| panic!("no detail after the jump"));
    assert_eq!(d.line, 3);
    assert_eq!(d.chain, ChainStatus::Unchained);
    assert_eq!(d.signature, SigStatus::Unsigned);
    assert!(d.pretty.iter().any(|l| l.contains("TXN-20261122-000003")));
    // The deploy before the rollback: chained to the last plain line.
    app.apply(Action::Back);
    app.apply(Action::Bottom);
    app.apply(Action::Up);
    app.apply(Action::Select);
    serve(&mut app, &r);
    let d = app.panes().ledger_view.detail_data.clone();
    assert_eq!(
        d.map(|d| (d.line, d.chain)),
        Some((501, ChainStatus::Linked))
    );
}

#[test]
fn a_tampered_line_shows_a_broken_chain_and_a_bad_signature() {
    let h = hq(50);
    let text = std::fs::read_to_string(h.ledger()).unwrap_or_default();
    // Change one byte of line 50 (plain, before the signed deploy): the deploy's prev
    // no longer matches; change the rollback's branch: its signature no longer holds.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[49] = lines[49].replace("\"actor\":\"ci\"", "\"actor\":\"CI\"");
    lines[51] = lines[51].replace("\"branch\":\"koosy\"", "\"branch\":\"orbit\"");
    std::fs::write(h.ledger(), lines.join("\n") + "\n").unwrap_or_else(|e| panic!("{e}"));
    let r = reader(&h);
    let path = h.ledger();
    let offset_of = |n: u64| r.index.span(n - 1).map_or(0, |(o, _)| o);
    let keys = lumen::store::keys::Keyring::load(&h.root);
    let d = lumen::sources::ledger_reader::detail(&path, 51, offset_of(51), keys)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(d.chain, ChainStatus::Broken { .. }),
        "{:?}",
        d.chain
    );
    let keys = lumen::store::keys::Keyring::load(&h.root);
    let d = lumen::sources::ledger_reader::detail(&path, 52, offset_of(52), keys)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(d.signature, SigStatus::Bad { .. }),
        "{:?}",
        d.signature
    );
}

/// Poll `rx` until `pred` holds for a received message, or fail after `timeout`.
fn wait_msg(
    rx: &mut tokio::sync::mpsc::Receiver<Msg>,
    timeout: Duration,
    what: &str,
    mut pred: impl FnMut(&LedgerViewMsg) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        match rx.try_recv() {
            Ok(Msg::LedgerView(m)) if pred(&m) => return,
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(Instant::now() < deadline, "timed out waiting for {what}");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn the_worker_matches_lines_appended_after_the_scan() {
    let h = hq(2_000);
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cancel = tokio_util::sync::CancellationToken::new();
    let handle = lumen::sources::ledger_reader::spawn(&h.root, tx, cancel.clone());
    wait_msg(
        &mut rx,
        Duration::from_secs(10),
        "the index",
        |m| matches!(m, LedgerViewMsg::Index(s) if !s.building && s.lines == 2_002),
    );
    let filter = lumen::domain::ledger_filter::LedgerFilter::parse("\"needle-xyz\"", t0())
        .unwrap_or_else(|e| panic!("{e}"));
    handle.send(lumen::protocol::LedgerRequest::Filter {
        generation: 7,
        filter: Some(filter),
    });
    wait_msg(
        &mut rx,
        Duration::from_secs(10),
        "the scan to finish",
        |m| matches!(m, LedgerViewMsg::Matches { generation: 7, done: true, lines, .. } if lines.is_empty()),
    );
    // Another process appends a matching line and a non-matching one.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(h.ledger())
        .unwrap_or_else(|e| panic!("{e}"));
    let line = plain_line(2_003, t0()).replace("\"actor\":\"ci\"", "\"actor\":\"needle-xyz\"");
    writeln!(f, "{}\n{}", plain_line(2_002, t0()), line).unwrap_or_else(|e| panic!("{e}"));
    drop(f);
    wait_msg(
        &mut rx,
        Duration::from_secs(10),
        "the live match",
        |m| matches!(m, LedgerViewMsg::Matches { generation: 7, lines, .. } if lines == &vec![2_004]),
    );
    cancel.cancel();
}

#[test]
fn pending_partial_line_is_pending_not_a_reject() {
    let mut app = Console::new(common::fixture_app());
    let rejects = app.panes().ledger.rejects;
    app.update(Event::Msg(Msg::LedgerPending { bytes: 17 }));
    assert_eq!(app.panes().ledger.rejects, rejects);
    app.apply(Action::FocusLedger);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("pending 17 B"), "{text}");
}

fn zoomed_fixture() -> Console {
    let mut app = Console::new(common::fixture_app());
    app.apply(Action::FocusLedger);
    app.apply(Action::ToggleZoom);
    app
}

#[test]
fn snapshot_filtered_list_with_count() {
    let mut app = zoomed_fixture();
    app.submit_ledger_filter("event:deploy* branch:papafly".into());
    let generation = app.panes().ledger_view.generation;
    let matches: Vec<u64> = app
        .panes()
        .ledger
        .recent
        .iter()
        .filter(|r| {
            r.parsed
                .as_ref()
                .is_ok_and(|e| e.event.starts_with("deploy") && e.branch == "papafly")
        })
        .map(|r| r.line)
        .collect();
    assert!(!matches.is_empty());
    app.update(Event::Msg(Msg::LedgerView(LedgerViewMsg::Matches {
        generation,
        lines: matches,
        scanned: 1_000,
        total: 4_000,
        done: false,
    })));
    app.apply(Action::CycleContext);
    app.apply(Action::NextMatch);
    let text = screen_text(&draw(&app, 120, 30));
    assert!(text.contains("scanning 25%"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_detail_view() {
    let h = hq(30);
    let r = reader(&h);
    let mut app = app_with_tail(&r, 40);
    // Line 12 (an unsigned, unchained line; signed lines carry a random signature).
    while app.ledger_selected_line() != Some(12) {
        app.apply(Action::Up);
    }
    app.apply(Action::Select);
    serve(&mut app, &r);
    let text = screen_text(&draw(&app, 120, 30));
    assert!(text.contains("byte offset"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn snapshot_index_progress() {
    let mut app = zoomed_fixture();
    app.update(Event::Msg(Msg::LedgerView(LedgerViewMsg::Index(
        lumen::protocol::IndexStatus {
            lines: 16,
            bytes_done: 1_600,
            bytes_total: 4_000,
            building: true,
            error: None,
        },
    ))));
    let text = screen_text(&draw(&app, 120, 30));
    assert!(text.contains("indexing 40%"), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_first_tail_batch_lets_whole_file_work_start_once() {
    let h = hq(50);
    let r = reader(&h);
    let mut app = app_with_tail(&r, 10);
    let started = |app: &Console| {
        app.commands()
            .iter()
            .filter(|c| {
                matches!(
                    c,
                    Command::Ledger(lumen::protocol::LedgerRequest::TailStarted)
                )
            })
            .count()
    };
    assert_eq!(started(&app), 1);
    app.update(Event::Msg(Msg::LedgerAppended {
        records: vec![common::record(
            53,
            r#"{"id":"X","branch":"koosy","event":"deploy","timestamp":"2026-11-22T12:00:00Z"}"#,
        )],
        at: t0(),
    }));
    assert_eq!(started(&app), 1, "sent once");
}
