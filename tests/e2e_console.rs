//! The console's own controls in the real binary (pseudo-terminal): the `:` palette
//! (filter, Tab completion, history, an action through the same typed confirmation
//! as its key, an inline error for an unknown command), help scrolling at 80×24,
//! digits answering a ceremony step instead of switching panes, and `y` (OSC 52,
//! off unless configured).

mod common;

use std::time::Duration;

use common::pty::Pty;

const T: Duration = Duration::from_secs(10);
const START: Duration = Duration::from_secs(20);

/// The row of the screen that contains `needle`.
fn row_with<'a>(screen: &'a str, needle: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(needle))
}

#[test]
fn palette_filters_completes_and_runs_through_the_same_confirmation() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    pty.wait_for("the console", START, |s| s.contains("Ceremony simulator"));

    // Type to filter: the matching command with the key that does the same.
    pty.send(b":kil");
    let s = pty.wait_for("the filtered command list", T, |s| {
        s.contains(" commands ") && s.contains(":killswitch [on|off]")
    });
    let row = row_with(&s, ":killswitch [on|off]").unwrap_or_default();
    assert!(row.contains(" K "), "the key is shown beside it: {row:?}");
    assert!(
        !s.contains(":theme"),
        "non-matching commands are filtered out:\n{s}"
    );

    // Tab completes the name, then the argument.
    pty.send(b"\t");
    pty.wait_for("the completed name", T, |s| s.contains(" : killswitch "));
    pty.send(b"o\t");
    pty.wait_for("the completed argument", T, |s| {
        s.contains(" : killswitch on")
    });

    // Enter runs it: the very dialog `K` opens, asking for the same typed word.
    pty.send(b"\r");
    let dialog = pty.wait_for("the kill switch confirmation", T, |s| {
        s.contains("Kill switch on") && s.contains("and press Enter")
    });
    assert!(dialog.contains("Type hq"), "{dialog}");
    pty.send(b"nope\r");
    pty.wait_for("the refusal of a wrong word", T, |s| {
        s.contains("exactly to confirm")
    });
    for _ in 0..4 {
        pty.send(b"\x7f");
    }
    pty.send(b"hq\r");
    pty.wait_for("the kill switch on", START, |s| {
        s.contains("KILL SWITCH ON")
    });

    // An unknown command: an inline error, the palette stays open, nothing crashes.
    pty.send(b":frobnicate\r");
    pty.wait_for("the inline error", T, |s| {
        s.contains("unknown command `frobnicate`") && s.contains(" : frobnicate")
    });
    pty.send(b"\x1b");
    pty.wait_for("the palette to close", T, |s| !s.contains(" commands "));

    // ↑ recalls the session's history.
    pty.send(b":");
    pty.wait_for("the palette again", T, |s| s.contains(" commands "));
    pty.send(b"\x1b[A");
    pty.wait_for("the last command from history", T, |s| {
        s.contains(" : killswitch on")
    });
    pty.send(b"\x1b");
    pty.wait_for("the palette closed", T, |s| !s.contains(" commands "));

    // A pane name focuses it (the ledger's footer offers follow and rejects).
    pty.send(b":ledger\r");
    pty.wait_for("the ledger focused", T, |s| {
        s.contains("rejects") && !s.contains(" commands ")
    });
    pty.send(b":q\r");
    assert_eq!(pty.wait_exit(T), 0);
    assert!(pty.restored());
}

#[test]
fn palette_actions_meet_the_same_refusal_as_keys_when_read_only() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7", "--readonly"], 160, 48, home.path());
    pty.wait_for("the console", START, |s| s.contains("Ceremony simulator"));
    pty.send(b":killswitch on\r");
    pty.wait_for("the read-only refusal", T, |s| {
        s.contains("unavailable") && s.contains("--readonly")
    });
    assert!(
        !pty.screen().contains("and press Enter"),
        "no dialog opened"
    );
    // The refusal is in the notification history, whole.
    pty.send(b"m");
    pty.wait_for("the history", T, |s| {
        s.contains("Notifications — newest first") && s.contains("--readonly")
    });
    pty.send(b"\x1b");
    pty.wait_for("the history closed", T, |s| {
        !s.contains("Notifications — newest")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);
}

#[test]
fn help_scrolls_at_80x24() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 80, 24, home.path());
    pty.wait_for("the tabbed console", START, |s| s.contains("1 Health"));
    pty.send(b"?");
    let first = pty.wait_for("help, the focused pane first", T, |s| {
        s.contains("Help — keys") && s.contains("Branch health (focused)")
    });
    assert!(first.contains("rows 1–"), "it says it scrolls:\n{first}");
    assert!(
        !first.contains("shift-tab shift-tab"),
        "no doubled labels:\n{first}"
    );
    // Page down until the operator actions and the ledger keys show: nothing is
    // out of reach at 80×24.
    let mut seen = first.clone();
    let mut last = first.clone();
    // The last entry of the last section (the ceremony's keys, for the health pane).
    let at_end = |s: &str| s.contains("asks before abandoning");
    for _ in 0..8 {
        if at_end(&last) {
            break;
        }
        pty.send(b"\x1b[6~");
        let before = last.clone();
        last = pty.wait_for("a page down", T, |s| {
            s.contains("Help — keys") && s != before
        });
        seen.push_str(&last);
    }
    let end = pty.wait_for("the end of help", T, |s| {
        s.contains("Help — keys") && !s.contains("Branch health (focused)")
    });
    for needle in [
        "kill switch on/off",
        "roll back the newest rule change",
        "follow / pause the tail",
        "next / previous match",
        "notification history",
    ] {
        assert!(seen.contains(needle), "`{needle}` never shown:\n{end}");
    }
    // Back to the top.
    pty.send(b"\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~\x1b[5~");
    pty.wait_for("the top again", T, |s| {
        s.contains("Branch health (focused)")
    });
    pty.send(b"\x1b");
    pty.wait_for("help closed", T, |s| !s.contains("Help — keys"));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);
}

#[test]
fn digits_answer_a_ceremony_step_instead_of_switching_panes() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    pty.wait_for("the console", START, |s| s.contains("Ceremony simulator"));
    pty.send(b"5z");
    pty.wait_for("the zoomed scenario list", T, |s| s.contains("scenarios ┓"));
    // witness-no-show is the eighth shipped scenario.
    pty.send(b"gjjjjjjj");
    pty.wait_for("witness-no-show selected", T, |s| {
        s.contains("A witness who does not show up")
    });
    pty.send(b"\r");
    pty.wait_for("the setup screen", T, |s| s.contains("Start the rehearsal"));
    pty.send(b"G\r");
    let step = pty.wait_for("step 1", T, |s| s.contains("Step 1/4"));
    assert!(
        step.contains("step ⏱") && step.contains("ceremony "),
        "the timers say what they time:\n{step}"
    );
    // `2` would focus the ledger anywhere else; here it stays with the step.
    pty.send(b"2");
    pty.send(b"\r");
    pty.wait_for("the prompt for step 1", T, |s| {
        s.contains("Alice: type `ok`")
    });
    assert!(
        !pty.screen().contains("Ledger stream"),
        "the pane did not switch"
    );
    pty.send(b"ok\r");
    pty.wait_for("the anomaly", T, |s| s.contains("ANOMALY — witness_absent"));
    // `1` answers the anomaly with its first response (as Enter on it would).
    pty.send(b"1");
    pty.wait_for("the quiz after the answer", T, |s| {
        s.contains("Quiz question 1")
    });
    assert!(!pty.screen().contains("Ledger stream"));
    // Tab still leaves the pane.
    pty.send(b"z\t");
    pty.wait_for("the next pane", T, |s| s.contains("Branch health"));
    // Ctrl-C always quits.
    pty.send(b"\x03");
    assert_eq!(pty.wait_exit(T), 0);
}

#[test]
fn y_copies_with_osc52_only_when_configured() {
    // Off (the default): `y` says how to turn it on and writes no OSC 52.
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    pty.wait_for("the console", START, |s| s.contains("Ceremony simulator"));
    pty.send(b"2");
    pty.wait_for("ledger rows", START, |s| s.contains("TXN-"));
    pty.send(b"y");
    pty.wait_for("how to enable copying", T, |s| s.contains("osc52: true"));
    let raw = String::from_utf8_lossy(&pty.raw_bytes()).into_owned();
    assert!(!raw.contains("\u{1b}]52;"), "no clipboard escape when off");
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);

    // On: the selected entry's id goes out as OSC 52.
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cfg = home.path().join("config/lumen");
    std::fs::create_dir_all(&cfg).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(cfg.join("config.yaml"), "osc52: true\n").unwrap_or_else(|e| panic!("{e}"));
    let mut pty = Pty::spawn(&["demo", "--seed", "7"], 160, 48, home.path());
    pty.wait_for("the console", START, |s| s.contains("Ceremony simulator"));
    pty.send(b"2");
    pty.wait_for("ledger rows", START, |s| s.contains("TXN-"));
    pty.send(b"y");
    pty.wait_for("the copy notice", T, |s| s.contains("copied"));
    let raw = String::from_utf8_lossy(&pty.raw_bytes()).into_owned();
    let start = raw
        .find("\u{1b}]52;c;")
        .unwrap_or_else(|| panic!("no OSC 52 written"));
    let payload: String = raw
        .get(start + 7..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| *c != '\u{7}')
        .collect();
    use base64::Engine as _;
    let copied = base64::engine::general_purpose::STANDARD
        .decode(payload.as_bytes())
        .unwrap_or_else(|e| panic!("{payload}: {e}"));
    let copied = String::from_utf8_lossy(&copied).into_owned();
    assert!(
        !copied.is_empty() && !copied.contains('\u{1b}'),
        "copied {copied:?}"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);
}

fn write(path: &std::path::Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

#[test]
fn a_failed_rollback_hook_leaves_its_output_in_the_history() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().join("hq-root");
    write(
        &root.join("hq/registry/branches.json"),
        r#"{"hqVersion":"2.1","branches":[{"id":"koosy","repo":"x/koosy","domain":"koosy.example","visibility":"public","tier":"standard"}]}"#,
    );
    write(
        &root.join("hq/ledger/ledger.jsonl"),
        "{\"id\":\"TXN-9\",\"branch\":\"koosy\",\"event\":\"deploy\",\"change\":\"CH-1\",\"timestamp\":\"2026-01-18T01:00:00Z\"}\n",
    );
    let script = root.join("hook.sh");
    write(
        &script,
        "#!/bin/sh\necho \"draining $1\"\necho \"health check did not recover after 30s\" >&2\nexit 3\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    write(
        &root.join("hq/recovery/rollback-hook.json"),
        &format!(
            r#"{{"argv":["{}","{{branch}}"],"timeout":"10s"}}"#,
            script.display()
        ),
    );
    let key = dir.path().join("operator.pem");
    let o = common::bin::lumen()
        .args([
            "keygen",
            "--out",
            &key.display().to_string(),
            "--id",
            "ops",
            "--role",
            "hq_admin",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    write(
        &root.join("hq/registry/keys.json"),
        &format!(
            r#"{{"signers":[{}]}}"#,
            String::from_utf8_lossy(&o.stdout).trim()
        ),
    );
    let args = [
        "--hq",
        root.to_str().unwrap_or_default(),
        "--key",
        key.to_str().unwrap_or_default(),
    ];
    let mut pty = Pty::spawn(&args, 120, 40, dir.path());
    pty.wait_for("the console", START, |s| {
        s.contains("Branch health") && s.contains("koosy")
    });
    // Through the palette, by id: the same plan and typed confirmation as `R`.
    pty.send(b":rollback TXN-9\r");
    pty.wait_for("the confirmation", T, |s| {
        s.contains("Roll back TXN-9") && s.contains("and press Enter")
    });
    pty.send(b"koosy\r");
    // The failure stays in the strip…
    pty.wait_for("the failure in the strip", START, |s| {
        s.contains("✗") && s.contains("rollback of TXN-9 stopped")
    });
    // …and the history has the hook's whole output under its notice.
    pty.send(b"m");
    let h = pty.wait_for("the history with the hook's output", T, |s| {
        s.contains("Notifications — newest first")
            && s.contains("│ draining koosy")
            && s.contains("│ health check did not recover after 30s")
    });
    assert!(h.contains("koosy: failed (exit 3"), "{h}");
    pty.send(b"\x1b");
    pty.wait_for("the history closed", T, |s| {
        !s.contains("Notifications — newest")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T), 0);
}
