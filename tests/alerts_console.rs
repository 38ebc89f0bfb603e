//! The console's alerts with an injected clock: a `deploy_failed` line fires an
//! alert within a tick and it resolves when the branch deploys fine again; the
//! evaluation runs at most once a second without news; Enter jumps to the branch or
//! the ledger line; `S` needs an operator and Alertmanager, then a checked form;
//! Alertmanager down is said with its error and age. Snapshots of the header summary
//! and the alerts view at 160×48 and 80×24.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{Console, draw, fixture_app, record, screen_text, t0};
use crossterm::event::{KeyCode, KeyEvent};
use lumen::app::alerts::Selected;
use lumen::app::{App, Event, Pane};
use lumen::domain::alerts::{
    AlertName, ListedAlert, ListedStatus, Matcher, Severity, Silence, SilenceStatus,
};
use lumen::protocol::{AmReport, Command, LedgerRequest, Msg, PendingAction};

fn ms(n: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(n)
}

fn key(c: KeyCode) -> Event {
    Event::Key(KeyEvent::from(c))
}

fn typed(con: &mut Console, text: &str) {
    for ch in text.chars() {
        con.update(key(KeyCode::Char(ch)));
    }
}

/// A console on the fixture registry with nothing firing yet.
fn quiet() -> Console {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    app.set_hq_label("/srv/hq");
    app.set_operator(Ok(None));
    let mut con = Console::new(app);
    con.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(common::snapshot()),
        at: now,
    }));
    con.update(Event::Tick(now));
    con
}

fn line(con: &mut Console, n: u64, json: &str, at: DateTime<Utc>) {
    con.update(Event::Msg(Msg::LedgerAppended {
        records: vec![record(n, json)],
        at,
    }));
}

fn header(app: &App, w: u16) -> String {
    screen_text(&draw(app, w, 24))
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_deploy_failed_line_fires_within_a_tick_and_clears_by_itself() {
    let mut con = quiet();
    assert!(con.alerts().firing().is_empty());
    let evals = con.alerts().evaluations();
    // Quiet ticks within the second do not evaluate again.
    con.update(Event::Tick(t0() + ms(250)));
    con.update(Event::Tick(t0() + ms(500)));
    assert_eq!(con.alerts().evaluations(), evals);
    assert!(header(&con, 160).contains("0 deploys failed"));

    line(
        &mut con,
        1,
        r#"{"id":"TXN-9","branch":"koosy","event":"deploy_failed","actor":"ci","timestamp":"2026-11-22T12:00:00Z"}"#,
        t0() + ms(600),
    );
    // The next tick (250 ms later) evaluates: the line changed the facts.
    con.update(Event::Tick(t0() + ms(750)));
    assert_eq!(con.alerts().evaluations(), evals + 1);
    let firing = con.alerts().firing().to_vec();
    assert_eq!(firing.len(), 1, "{firing:?}");
    assert_eq!(firing[0].alertname, AlertName::DeployFailed);
    assert_eq!(firing[0].branch(), Some("koosy"));
    assert!(
        header(&con, 160).contains("1 deploy failed"),
        "{}",
        header(&con, 160)
    );
    assert!(header(&con, 80).contains("1✗dep"), "{}", header(&con, 80));
    // A notice says so, with the key that opens the view.
    let toasts: Vec<String> = con
        .shell()
        .notices
        .items()
        .map(|t| t.text.clone())
        .collect();
    assert!(
        toasts
            .iter()
            .any(|t| t.contains("TXN-9") && t.contains("press a")),
        "{toasts:?}"
    );

    // The branch deploys fine again: the alert resolves without anyone closing it.
    line(
        &mut con,
        2,
        r#"{"id":"TXN-10","branch":"koosy","event":"deploy","status":"success","actor":"ci","timestamp":"2026-11-22T12:00:05Z"}"#,
        t0() + ms(5_000),
    );
    con.update(Event::Tick(t0() + ms(5_250)));
    assert!(con.alerts().firing().is_empty());
    assert!(header(&con, 160).contains("0 deploys failed"));
}

#[test]
fn a_branch_down_fires_escalates_and_resolves_with_health() {
    let mut con = quiet();
    let mut at = t0();
    for i in 1..=3 {
        at += chrono::Duration::seconds(5);
        con.update(Event::Msg(Msg::HealthChecked {
            results: vec![common::hr("orbit", false, 2000, at)],
            at,
        }));
        con.update(Event::Tick(at));
        let a = con.alerts().firing().first().cloned().unwrap();
        assert_eq!(a.alertname, AlertName::BranchDown);
        let want = if i < 3 {
            Severity::Warning
        } else {
            Severity::Critical
        };
        assert_eq!(a.severity, want, "after {i} failed checks");
        assert_eq!(a.since, t0() + chrono::Duration::seconds(5), "since stays");
    }
    assert!(header(&con, 160).contains("1 down"));
    at += chrono::Duration::seconds(5);
    con.update(Event::Msg(Msg::HealthChecked {
        results: vec![common::hr("orbit", true, 40, at)],
        at,
    }));
    con.update(Event::Tick(at));
    assert!(con.alerts().firing().is_empty());
    assert!(header(&con, 160).contains("0 down"));
}

#[test]
fn enter_jumps_to_the_branch_or_the_ledger_line_and_closes_the_view() {
    let mut con = Console::new(fixture_app());
    // The fixture: orbit down (4 failed checks: critical), failed deploys.
    con.update(key(KeyCode::Char('a')));
    assert!(con.alerts().open);
    match con.alerts().selected() {
        Some(Selected::Here(a)) => {
            assert_eq!(a.alertname, AlertName::BranchDown, "critical first");
            assert_eq!(a.branch(), Some("orbit"));
        }
        other => panic!("unexpected selection {other:?}"),
    }
    // The wheel moves the view's selection, not the panes underneath.
    let wheel = |kind| {
        Event::Mouse(crossterm::event::MouseEvent {
            kind,
            column: 10,
            row: 10,
            modifiers: crossterm::event::KeyModifiers::NONE,
        })
    };
    con.update(wheel(crossterm::event::MouseEventKind::ScrollDown));
    assert_eq!(con.alerts().selection(), 1);
    con.update(wheel(crossterm::event::MouseEventKind::ScrollUp));
    assert_eq!(con.alerts().selection(), 0);
    con.update(key(KeyCode::Enter));
    assert!(!con.alerts().open, "Enter closes the view");
    assert_eq!(con.shell().focus, Pane::Health);
    assert_eq!(con.selected_branch().as_deref(), Some("orbit"));

    // A failed deploy: Enter looks its entry up and the ledger pane opens it.
    con.update(key(KeyCode::Char('a')));
    let i = con
        .alerts()
        .firing()
        .iter()
        .position(|a| a.alertname == AlertName::DeployFailed)
        .expect("the fixture has failed deploys");
    for _ in 0..i {
        con.update(key(KeyCode::Down));
    }
    let Some(Selected::Here(a)) = con.alerts().selected() else {
        panic!("an alert is selected")
    };
    let id = a.labels.get("id").cloned().unwrap_or_default();
    con.take_commands();
    con.update(key(KeyCode::Enter));
    assert_eq!(con.shell().focus, Pane::Ledger);
    assert!(
        con.commands()
            .iter()
            .any(|c| *c == Command::Ledger(LedgerRequest::FindId { id: id.clone() })),
        "{:?}",
        con.commands()
    );
}

#[test]
fn silencing_needs_an_operator_alertmanager_and_the_typed_branch() {
    let mut con = Console::new(fixture_app());
    con.update(key(KeyCode::Char('a')));
    // No Alertmanager configured: `S` says what to set.
    con.update(key(KeyCode::Char('S')));
    assert!(con.alerts().form.is_none());
    let last = con.shell().notices.last().map(|t| t.text.clone());
    assert!(
        last.as_deref()
            .unwrap_or_default()
            .contains("alertmanager_url"),
        "{last:?}"
    );

    // Read-only: listed, not silenced, and the footer says why.
    let mut ro = fixture_app();
    ro.set_operator(Err("started with --readonly".into()));
    ro.set_alertmanager(Some("http://127.0.0.1:9093".into()), "hq".into());
    let mut ro = Console::new(ro);
    ro.update(key(KeyCode::Char('a')));
    let text = screen_text(&draw(&ro, 160, 48));
    assert!(
        text.contains("silence (read-only: started with --readonly)"),
        "{text}"
    );
    ro.update(key(KeyCode::Char('S')));
    assert!(ro.alerts().form.is_none());
    assert!(
        ro.shell()
            .notices
            .last()
            .is_some_and(|t| t.text.contains("started with --readonly"))
    );

    // An operator with Alertmanager: the form, then the command.
    con.app
        .set_alertmanager(Some("http://127.0.0.1:9093".into()), "hq".into());
    con.update(key(KeyCode::Char('S')));
    let form = con.alerts().form.as_ref().expect("the silence form opens");
    assert_eq!(form.expected, "orbit");
    assert_eq!(form.duration.value(), "2h");
    let text = screen_text(&draw(&con, 160, 48));
    assert!(text.contains("Silence BranchDown on orbit"), "{text}");
    typed(&mut con, "rolling back");
    con.update(key(KeyCode::Enter));
    typed(&mut con, "orbi");
    con.update(key(KeyCode::Enter));
    assert!(
        con.alerts().form.is_some(),
        "a wrong confirmation keeps it open"
    );
    con.update(key(KeyCode::Char('t')));
    con.take_commands();
    con.update(key(KeyCode::Enter));
    assert!(con.alerts().form.is_none());
    match con.commands() {
        [
            Command::Execute(PendingAction::SilenceAlert {
                labels,
                duration,
                comment,
            }),
        ] => {
            assert_eq!(labels.get("branch").map(String::as_str), Some("orbit"));
            assert_eq!(
                labels.get("alertname").map(String::as_str),
                Some("BranchDown")
            );
            assert!(!labels.contains_key("severity"));
            assert_eq!(*duration, Duration::from_secs(7200));
            assert_eq!(comment, "rolling back");
        }
        other => panic!("expected one silence command, got {other:?}"),
    }
}

fn listed(labels: &[(&str, &str)], summary: &str, mins: i64, silenced: bool) -> ListedAlert {
    ListedAlert {
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        annotations: [("summary".to_string(), summary.to_string())].into(),
        starts_at: (t0() - chrono::Duration::minutes(mins)).to_rfc3339(),
        ends_at: String::new(),
        fingerprint: "0".into(),
        status: ListedStatus {
            state: if silenced { "suppressed" } else { "active" }.into(),
            silenced_by: if silenced { vec!["s-1".into()] } else { vec![] },
        },
    }
}

/// The fixture with Alertmanager configured and a listing: this console's orbit
/// alert (silenced), a Prometheus rule's alert, another HQ's, one silence.
fn with_alertmanager() -> Console {
    let mut app = fixture_app();
    app.set_alertmanager(Some("http://127.0.0.1:9093".into()), "hq".into());
    let mut con = Console::new(app);
    con.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    con.update(Event::Msg(Msg::Alertmanager(AmReport::Listed {
        alerts: vec![
            listed(
                &[
                    ("alertname", "BranchDown"),
                    ("branch", "orbit"),
                    ("hq", "hq"),
                    ("severity", "critical"),
                ],
                "orbit is down",
                3,
                true,
            ),
            listed(
                &[
                    ("alertname", "RiskBandAboveMax"),
                    ("job", "lumen"),
                    ("severity", "warning"),
                ],
                "risk_band 0.41 above 0.35 for 1m",
                7,
                false,
            ),
            listed(
                &[
                    ("alertname", "HqBranchDown"),
                    ("branch", "zephyr"),
                    ("hq", "other-hq"),
                    ("severity", "critical"),
                ],
                "zephyr is down (Prometheus)",
                12,
                false,
            ),
        ],
        silences: vec![Silence {
            id: "s-1".into(),
            matchers: vec![
                Matcher {
                    name: "alertname".into(),
                    value: "BranchDown".into(),
                    is_regex: false,
                    is_equal: true,
                },
                Matcher {
                    name: "branch".into(),
                    value: "orbit".into(),
                    is_regex: false,
                    is_equal: true,
                },
            ],
            starts_at: t0().to_rfc3339(),
            ends_at: (t0() + chrono::Duration::minutes(110)).to_rfc3339(),
            created_by: "ops-1".into(),
            comment: "rolling back".into(),
            status: SilenceStatus {
                state: "active".into(),
            },
        }],
        at: t0() - chrono::Duration::seconds(4),
    })));
    con.update(Event::Msg(Msg::Alertmanager(AmReport::Posted {
        alerts: 3,
        at: t0() - chrono::Duration::seconds(2),
    })));
    con.update(key(KeyCode::Char('a')));
    con
}

#[test]
fn alertmanager_listing_and_outage_are_shown() {
    let mut con = with_alertmanager();
    let here = con.alerts().firing().len();
    assert_eq!(con.alerts().rows(), here + 2, "ours once, plus two others");
    let text = screen_text(&draw(&con, 160, 48));
    assert!(text.contains("[silenced]"), "{text}");
    assert!(text.contains("RiskBandAboveMax"), "{text}");
    assert!(text.contains("Silences (1)"), "{text}");
    assert!(text.contains("alertname=BranchDown branch=orbit"), "{text}");

    con.update(Event::Msg(Msg::Alertmanager(AmReport::Failed {
        error: "listing alerts: connection refused".into(),
        at: t0() - chrono::Duration::seconds(90),
        retry_in: Duration::from_secs(16),
    })));
    con.update(Event::Msg(Msg::Alertmanager(AmReport::Failed {
        error: "listing alerts: connection refused".into(),
        at: t0() - chrono::Duration::seconds(6),
        retry_in: Duration::from_secs(16),
    })));
    let text = screen_text(&draw(&con, 160, 48));
    assert!(
        text.contains("✗ listing alerts: connection refused — failing for 1m, next try in 9s"),
        "{text}"
    );
    // Its alerts stay listed, the console's own keep firing.
    assert!(text.contains("RiskBandAboveMax"), "{text}");
    assert_eq!(con.alerts().firing().len(), here);
}

#[test]
fn snapshots_header_summary() {
    let app = fixture_app();
    insta::assert_snapshot!("header_160", header(&app, 160));
    insta::assert_snapshot!("header_80", header(&app, 80));
    let mut ro = fixture_app();
    ro.set_operator(Err("started with --readonly".into()));
    insta::assert_snapshot!("header_80_readonly", header(&ro, 80));
}

#[test]
fn snapshots_alerts_view() {
    let con = with_alertmanager();
    insta::assert_snapshot!("view_160x48", draw(&con, 160, 48).backend());
    insta::assert_snapshot!("view_80x24", draw(&con, 80, 24).backend());
    let mut quiet = quiet();
    quiet.update(key(KeyCode::Char('a')));
    insta::assert_snapshot!("view_nothing_80x24", draw(&quiet, 80, 24).backend());
}

#[test]
fn no_panic_at_any_size() {
    let con = with_alertmanager();
    for (w, h) in [(1, 1), (2, 2), (10, 3), (20, 5), (40, 10), (79, 23)] {
        draw(&con, w, h);
    }
}

/// Not a timed test: prints what one tick costs with 10,000 branches and about
/// 1,000 firing alerts (run with `--ignored --nocapture`; the bar is 20 ms per tick
/// in a release build, this measures the debug build, an upper bound).
#[test]
#[ignore]
fn measure_tick_with_alerts_at_fleet_scale() {
    use lumen::domain::hq::Tier;
    const FLEET: usize = 10_000;
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let mut hq = common::snapshot();
    if let Some(r) = hq.registry.as_mut() {
        r.branches = (0..FLEET)
            .map(|i| common::branch(&format!("branch-{i:05}"), Tier::Standard, "2.1"))
            .collect();
    }
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    // 1,000 branches down (a third escalated), the others up.
    for round in 0..3 {
        let at = now - chrono::Duration::seconds(30 - round * 10);
        let results = (0..FLEET)
            .map(|i| {
                let down = i % 10 == 0 && (round > 0 || i % 30 == 0);
                common::hr(&format!("branch-{i:05}"), !down, 40, at)
            })
            .collect();
        app.update(Event::Msg(Msg::HealthChecked { results, at }));
    }
    app.update(Event::Tick(now));
    let firing = app.alerts().firing().len();
    let mut times = Vec::new();
    for s in 1..=30 {
        let t = std::time::Instant::now();
        app.update(Event::Tick(now + chrono::Duration::seconds(s)));
        times.push(t.elapsed());
    }
    assert_eq!(app.alerts().evaluations(), 31);
    times.sort();
    eprintln!(
        "{FLEET} branches, {firing} firing: tick on a new second (cost refresh + evaluation) median {:?}, max {:?}",
        times[times.len() / 2],
        times[times.len() - 1]
    );
    // The evaluation alone: a fact changed within the same second.
    let base = now + chrono::Duration::seconds(40);
    app.update(Event::Tick(base));
    let mut eval = Vec::new();
    for i in 1..=30 {
        app.update(Event::Msg(Msg::SourceMissing {
            source: lumen::protocol::SourceId::Rules,
            at: base,
        }));
        let t = std::time::Instant::now();
        app.update(Event::Tick(base + chrono::Duration::milliseconds(i * 10)));
        eval.push(t.elapsed());
    }
    assert_eq!(app.alerts().evaluations(), 62);
    eval.sort();
    eprintln!(
        "evaluation alone (facts built from the console + evaluate + summary) median {:?}, max {:?}",
        eval[eval.len() / 2],
        eval[eval.len() - 1]
    );
    assert!(firing >= 1_000 - 1, "{firing}");
}
