//! The console shows every HQ file that failed to load as a standing notice (not a
//! toast that fades): listed while it is broken, gone once a reload finds it fixed.
//! An action that depends on a listed file is refused when its key is pressed.

mod common;

use common::{draw, fixture_app, screen_text, snapshot, t0};
use lumen::app::{App, Event};
use lumen::domain::hq::{FileError, HqSnapshot};
use lumen::protocol::{Action, Msg};

fn reload(app: &mut App, hq: HqSnapshot, secs: i64) {
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0() + chrono::Duration::seconds(secs),
    }));
}

fn broken(rel: &str, line: usize, column: usize, message: &str) -> FileError {
    FileError::new(
        &std::path::Path::new("/hq").join(rel),
        line,
        column,
        message,
    )
}

fn hook_error() -> FileError {
    broken(
        "hq/recovery/rollback-hook.json",
        2,
        12,
        "timeout is zero; expected a duration > 0",
    )
}

#[test]
fn a_failed_file_is_a_standing_notice_until_it_is_fixed() {
    let mut app = fixture_app();
    assert!(app.file_errors().is_empty());
    let clean = screen_text(&draw(&app, 160, 48));

    let mut hq = snapshot();
    hq.errors.push(hook_error());
    reload(&mut app, hq.clone(), 1);
    assert_eq!(app.file_errors().len(), 1);
    let want = "✗ hq/recovery/rollback-hook.json:2:12: timeout is zero; expected a duration > 0";
    for (w, h) in [(160, 48), (80, 24)] {
        let text = screen_text(&draw(&app, w, h));
        assert!(text.contains(want), "{w}x{h}:\n{text}");
    }
    // Standing: still there long after a toast would have gone.
    app.update(Event::Tick(t0() + chrono::Duration::seconds(600)));
    assert!(screen_text(&draw(&app, 160, 48)).contains(want));
    // Another reload with the file still broken keeps it listed.
    reload(&mut app, hq, 601);
    assert!(screen_text(&draw(&app, 160, 48)).contains(want));

    // Fixed: the notice is gone and the screen is as before.
    reload(&mut app, snapshot(), 602);
    assert!(app.file_errors().is_empty());
    // Past the alert's own notice (a toast) and its evaluation: nothing names it.
    app.update(Event::Tick(t0() + chrono::Duration::seconds(611)));
    assert!(!screen_text(&draw(&app, 160, 48)).contains("1 bad file"));
    let text = screen_text(&draw(&app, 160, 48));
    assert!(!text.contains("rollback-hook.json"), "{text}");
    assert_eq!(
        text.lines().count(),
        clean.lines().count(),
        "the notice row is given back to the panes"
    );
}

#[test]
fn a_broken_registry_and_broken_optional_files_are_all_listed() {
    let mut app = fixture_app();
    let mut hq = snapshot();
    hq.errors.push(hook_error());
    hq.errors.push(broken(
        "hq/sync/sync-plan.json",
        1,
        13,
        "invalid type: string \"b1\", expected a sequence",
    ));
    hq.errors.push(broken(
        "hq/notifications/rules.json",
        1,
        40,
        "trailing comma \u{1b}[2J",
    ));
    reload(&mut app, hq, 1);
    app.update(Event::Msg(Msg::RegistryInvalid {
        error: broken("hq/registry/branches.json", 3, 7, "expected `,` or `}`"),
        at: t0() + chrono::Duration::seconds(2),
    }));
    assert_eq!(app.file_errors().len(), 4);
    let term = draw(&app, 160, 48);
    let text = screen_text(&term);
    assert!(
        text.contains("✗ hq/registry/branches.json:3:7: expected `,` or `}`"),
        "{text}"
    );
    assert!(
        text.contains("✗ hq/recovery/rollback-hook.json:2:12"),
        "{text}"
    );
    assert!(
        text.contains("✗ 2 more: hq/sync/sync-plan.json:1:13 · hq/notifications/rules.json:1:40"),
        "{text}"
    );
    insta::assert_snapshot!("notice_160x48", term.backend());
    // 80x24: one row for all of them.
    let term = draw(&app, 80, 24);
    let text = screen_text(&term);
    assert!(
        text.contains("✗ 4 files: hq/registry/branches.json:3:7 · hq/recovery/rollback-hook.json"),
        "{text}"
    );
    insta::assert_snapshot!("notice_80x24", term.backend());
    // Escape sequences from a message never reach the screen.
    let mut one = snapshot();
    one.errors.push(broken(
        "hq/notifications/rules.json",
        1,
        40,
        "trailing comma \u{1b}[2J",
    ));
    let mut app = fixture_app();
    reload(&mut app, one, 1);
    let term = draw(&app, 160, 48);
    let raw: String = term
        .backend()
        .buffer()
        .content()
        .iter()
        .map(|c| c.symbol())
        .collect();
    assert!(!raw.contains('\u{1b}'), "an escape reached the screen");
    assert!(screen_text(&term).contains("rules.json:1:40: trailing comma"));
}

#[test]
fn an_action_whose_file_is_listed_is_refused_at_the_key() {
    let mut app = fixture_app();
    let mut hq = snapshot();
    hq.errors.push(broken(
        "hq/registry/decision-engine.json",
        1,
        21,
        "trailing comma",
    ));
    reload(&mut app, hq, 1);
    app.apply(Action::KillSwitch);
    assert!(
        app.shell().confirm.is_none(),
        "no confirmation for a refused action"
    );
    let toast = app
        .shell()
        .notices
        .last()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert!(
        toast.contains("refused")
            && toast.contains("hq/registry/decision-engine.json:1:21: trailing comma"),
        "{toast}"
    );
    // Rule rollback does not depend on decision-engine.json.
    app.apply(Action::RuleRollback);
    assert!(
        app.shell().confirm.is_some(),
        "rule rollback is not refused"
    );
}
