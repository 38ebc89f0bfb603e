//! The custody view (`C`), the sync detail (`v`), the policy overlay (`P`) and Branch
//! Lock (`B`) driven by keys on an app holding the seed HQ's custody files, conflict
//! policy, decision engine and policy, with an injected clock; snapshots at 160×48
//! and 80×24.

mod common;

use std::path::Path;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use lumen::app::{Event, Pane};
use lumen::protocol::{Command, Msg, PendingAction};

use common::{Console, draw, fixture_app, record, screen_text, t0};

fn seed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-hq")
}

/// The fixture app with the seed HQ's custody files, conflict policy, decision
/// engine and policy, and sync entries on the ledger: change CHG-41 deployed
/// everywhere, CHG-42 failed twice on koosy (halted), conflicts on koosy (100 h old:
/// escalated) and orbit (5 h).
fn app() -> Console {
    let seed = lumen::sources::registry::load_snapshot(&seed_dir()).expect("seed HQ loads");
    let mut hq = common::snapshot();
    hq.custody = seed.custody;
    hq.conflict_policy = seed.conflict_policy;
    hq.decision = seed.decision;
    hq.rbac = seed.rbac;
    let mut c = Console::new(fixture_app());
    let now = t0();
    c.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: now,
    }));
    let ts = |h: i64| (now - chrono::Duration::hours(h)).to_rfc3339();
    let lines = [
        format!(
            r#"{{"id":"TXN-41-1","branch":"papafly","event":"deploy","change":"CHG-41","timestamp":"{}"}}"#,
            ts(30)
        ),
        format!(
            r#"{{"id":"TXN-41-2","branch":"koosy","event":"deploy","change":"CHG-41","timestamp":"{}"}}"#,
            ts(29)
        ),
        format!(
            r#"{{"id":"TXN-41-3","branch":"orbit","event":"deploy","change":"CHG-41","timestamp":"{}"}}"#,
            ts(28)
        ),
        format!(
            r#"{{"id":"TXN-41-4","branch":"atlas","event":"deploy","change":"CHG-41","timestamp":"{}"}}"#,
            ts(28)
        ),
        format!(
            r#"{{"id":"TXN-41-5","branch":"lumen-lab","event":"deploy","change":"CHG-41","timestamp":"{}"}}"#,
            ts(27)
        ),
        format!(
            r#"{{"id":"TXN-C1","branch":"koosy","event":"conflict_detected","timestamp":"{}"}}"#,
            ts(100)
        ),
        format!(
            r#"{{"id":"TXN-42-1","branch":"papafly","event":"deploy","change":"CHG-42","timestamp":"{}"}}"#,
            ts(3)
        ),
        format!(
            r#"{{"id":"TXN-42-2","branch":"koosy","event":"deploy_failed","change":"CHG-42","timestamp":"{}"}}"#,
            ts(2)
        ),
        format!(
            r#"{{"id":"TXN-42-3","branch":"koosy","event":"deploy_failed","change":"CHG-42","timestamp":"{}"}}"#,
            ts(1)
        ),
        format!(
            r#"{{"id":"TXN-C2","branch":"orbit","event":"conflict_detected","timestamp":"{}"}}"#,
            ts(5)
        ),
    ];
    let records = lines
        .iter()
        .enumerate()
        .map(|(i, l)| record(1000 + i as u64, l))
        .collect();
    c.update(Event::Msg(Msg::LedgerAppended { records, at: now }));
    c.update(Event::Tick(now));
    c
}

fn key(c: &mut Console, code: KeyCode) {
    c.update(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
}

fn snap(c: &Console, name: &str) {
    insta::assert_snapshot!(format!("{name}_160x48"), draw(c, 160, 48).backend());
    insta::assert_snapshot!(format!("{name}_80x24"), draw(c, 80, 24).backend());
}

#[test]
fn c_shows_the_real_custody_state_in_the_ceremony_pane_and_esc_leaves_it() {
    let mut c = app();
    assert!(!c.panes().seed.custody_view);
    key(&mut c, KeyCode::Char('C'));
    assert_eq!(c.shell().focus, Pane::Ceremony);
    assert!(c.panes().seed.custody_view);
    assert!(c.shell().zoom, "the custody view opens zoomed");
    let r = c.panes().seed.custody.clone().expect("custody report");
    // The same report `lumen custody` builds: the seed chain holds, the audit of
    // 2026-01-20 is overdue by the fixture's clock (2026-11-22).
    assert_eq!(r.signer.serial.as_deref(), Some("4242424242"));
    assert!(r.root.manifest_match && r.signer.chain_ok && !r.signer.revoked);
    assert!(r.audits.overdue);
    let text = screen_text(&draw(&c, 160, 48));
    assert!(text.contains("OVERDUE by 214 days"), "{text}");
    assert!(text.contains("serial 4242424242"), "{text}");
    snap(&c, "custody_view");
    key(&mut c, KeyCode::Esc);
    assert!(!c.panes().seed.custody_view);
    assert!(!c.shell().zoom, "closing gives the layout back");
    assert_eq!(c.shell().focus, Pane::Ceremony);
    // `C` toggles.
    key(&mut c, KeyCode::Char('C'));
    key(&mut c, KeyCode::Char('C'));
    assert!(!c.panes().seed.custody_view);
}

#[test]
fn the_custody_report_follows_the_clock() {
    let mut c = app();
    key(&mut c, KeyCode::Char('C'));
    let days = c
        .panes()
        .seed
        .custody
        .as_ref()
        .and_then(|r| r.signer.days_left);
    c.update(Event::Tick(t0() + chrono::Duration::days(2)));
    let later = c
        .panes()
        .seed
        .custody
        .as_ref()
        .and_then(|r| r.signer.days_left);
    assert_eq!(later, days.map(|d| d - 2));
}

#[test]
fn v_in_the_health_pane_shows_where_changes_reached_and_open_conflicts() {
    let mut c = app();
    key(&mut c, KeyCode::Char('3'));
    key(&mut c, KeyCode::Char('v'));
    assert!(
        !c.panes().seed.sync_view,
        "v outside the health pane does nothing"
    );
    key(&mut c, KeyCode::Char('1'));
    key(&mut c, KeyCode::Char('v'));
    let v = &c.panes().seed;
    assert!(v.sync_view);
    let changes: Vec<&str> = v.changes.iter().map(|c| c.change.as_str()).collect();
    assert_eq!(changes, ["CHG-42", "CHG-41"]);
    assert!(v.changes[0].halted);
    let conflicts: Vec<(&str, bool)> = v
        .conflicts
        .iter()
        .map(|c| (c.id.as_str(), c.escalated))
        .collect();
    assert_eq!(conflicts, [("TXN-C1", true), ("TXN-C2", false)]);
    let text = screen_text(&draw(&c, 160, 48));
    assert!(text.contains("skipped after halt"), "{text}");
    assert!(text.contains("ESCALATED to hq_admin"), "{text}");
    snap(&c, "sync_view");

    // Keys for the hidden branch table wait: no selection move, no Branch Lock.
    let sel = c.panes().health.sel;
    key(&mut c, KeyCode::Char('j'));
    key(&mut c, KeyCode::Char('B'));
    assert_eq!(c.panes().health.sel, sel);
    assert!(c.shell().confirm.is_none());

    // A conflict resolved on the ledger leaves the view at once.
    let now = t0();
    c.update(Event::Msg(Msg::LedgerAppended {
        records: vec![record(
            2000,
            &format!(
                r#"{{"id":"TXN-R1","branch":"koosy","event":"conflict_resolved","target":"TXN-C1","timestamp":"{}"}}"#,
                now.to_rfc3339()
            ),
        )],
        at: now,
    }));
    c.update(Event::Tick(now + chrono::Duration::seconds(1)));
    assert_eq!(c.panes().seed.conflicts.len(), 1);
    key(&mut c, KeyCode::Esc);
    assert!(!c.panes().seed.sync_view);
}

#[test]
fn p_opens_the_policy_overlay_which_takes_keys_until_closed() {
    let mut c = app();
    let sel = c.panes().health.sel;
    key(&mut c, KeyCode::Char('P'));
    assert!(c.panes().seed.policy);
    key(&mut c, KeyCode::Char('j'));
    assert_eq!(
        c.panes().health.sel,
        sel,
        "keys do not reach the pane below"
    );
    let text = screen_text(&draw(&c, 160, 48));
    for want in [
        "no-direct-push",
        "reject",
        "ledger-mandatory",
        "ontology → llm → rag → physical",
        "deployFailure",
        "retry → rollback → hq_admin",
        "requiresHuman=true",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    snap(&c, "policy_overlay");
    key(&mut c, KeyCode::Esc);
    assert!(!c.panes().seed.policy);
    key(&mut c, KeyCode::Char('P'));
    key(&mut c, KeyCode::Char('P'));
    assert!(!c.panes().seed.policy);
}

#[test]
fn b_locks_the_selected_branch_through_the_signed_maintenance_action() {
    let mut c = app();
    key(&mut c, KeyCode::Char('1'));
    let branch = c.selected_branch().expect("a selected branch");
    key(&mut c, KeyCode::Char('B'));
    let confirm = c.shell().confirm.clone().expect("typed confirmation");
    assert_eq!(
        confirm.action,
        PendingAction::Maintenance {
            branch: branch.clone(),
            on: true
        }
    );
    assert_eq!(confirm.expected, branch);
    assert!(
        confirm.title.starts_with("Branch Lock"),
        "{}",
        confirm.title
    );
    snap(&c, "branch_lock");
    for ch in branch.chars() {
        key(&mut c, KeyCode::Char(ch));
    }
    key(&mut c, KeyCode::Enter);
    let cmds = c.take_commands();
    assert!(
        cmds.iter().any(|x| matches!(
            x,
            Command::Execute(PendingAction::Maintenance { branch: b, on: true }) if *b == branch
        )),
        "{cmds:?}"
    );
}

#[test]
fn branch_lock_is_refused_read_only_and_outside_the_health_pane() {
    let mut c = app();
    key(&mut c, KeyCode::Char('2'));
    key(&mut c, KeyCode::Char('B'));
    assert!(c.shell().confirm.is_none());
    let mut c = app();
    c.set_operator(Err("no key".into()));
    key(&mut c, KeyCode::Char('1'));
    key(&mut c, KeyCode::Char('B'));
    assert!(c.shell().confirm.is_none());
    assert!(
        c.shell()
            .notices
            .items()
            .any(|t| t.text.contains("branch lock") && t.text.contains("no key")),
        "{:?}",
        c.shell()
            .notices
            .items()
            .map(|n| &n.text)
            .collect::<Vec<_>>()
    );
}
