//! The hook runner alone: argv without a shell, bounded output, timeout kill, a
//! program that cannot start.

use std::time::{Duration, Instant};

use lumen::operator::hook::{OUTPUT_LIMIT, run_hook};

/// Far below the hooks' 30 s sleep, far above any scheduling delay: a run that
/// returns within it was cut by the timeout.
const NOT_WAITED_FOR: Duration = Duration::from_secs(15);

fn argv(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn argv_reaches_the_program_verbatim() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // `$(touch x)` would create a file if a shell ever saw this element.
    let r = run_hook(
        &argv(&["printf", "%s|", "a b", "$(touch x)", "; echo hi", ""]),
        Duration::from_secs(5),
        dir.path(),
    )
    .await;
    assert_eq!(r.status(), "success", "{r:?}");
    assert_eq!(r.stdout, "a b|$(touch x)|; echo hi||");
    assert!(!dir.path().join("x").exists());
}

#[tokio::test]
async fn output_is_bounded_and_the_child_is_not_blocked() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_hook(
        &argv(&[
            "sh",
            "-c",
            "head -c 1000000 /dev/zero | tr '\\0' a; echo err >&2; exit 4",
        ]),
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    assert_eq!(r.exit_code, Some(4), "{r:?}");
    assert_eq!(r.status(), "failed");
    assert_eq!(r.stdout.len(), OUTPUT_LIMIT);
    assert!(r.truncated);
    assert_eq!(r.stderr, "err\n");
}

#[tokio::test]
async fn timeout_kills_the_hook() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    let r = run_hook(
        &argv(&["sleep", "30"]),
        Duration::from_millis(200),
        dir.path(),
    )
    .await;
    // Far below the 30 s sleep: the hook was cut, not waited for.
    assert!(start.elapsed() < NOT_WAITED_FOR, "{r:?}");
    assert!(r.timed_out);
    assert_eq!(r.status(), "timeout");
    assert_eq!(r.exit_code, None);
}

#[tokio::test]
async fn timeout_kills_what_the_hook_started() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let start = Instant::now();
    // The shell forks `sleep` (no exec); the grandchild must die with the group, so
    // its pipe closes and nothing is left running.
    let r = run_hook(
        &argv(&["sh", "-c", "sleep 30; echo late"]),
        Duration::from_millis(200),
        dir.path(),
    )
    .await;
    assert!(r.timed_out, "{r:?}");
    assert!(start.elapsed() < NOT_WAITED_FOR, "{r:?}");
    // The runner gives the pipes a short grace after the kill and says "not waited
    // for" if they stay open: a surviving `sleep` keeps them open, so this proves the
    // whole group died. (How fast the cut is: `cargo bench --bench hook_timeout`.)
    assert!(!r.stdout.contains("not waited for"), "{r:?}");
    assert!(!r.stdout.contains("late"), "{r:?}");
}

#[tokio::test]
async fn a_missing_program_is_a_failure_not_a_panic() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_hook(
        &argv(&["/nonexistent/hook"]),
        Duration::from_secs(1),
        dir.path(),
    )
    .await;
    assert_eq!(r.status(), "failed");
    assert!(
        r.spawn_error
            .as_deref()
            .unwrap_or("")
            .contains("cannot start"),
        "{r:?}"
    );
    let r = run_hook(&[], Duration::from_secs(1), dir.path()).await;
    assert_eq!(r.status(), "failed");
}

/// The ledger keeps the last lines of a failed run: stderr after stdout, blank lines
/// skipped, escape sequences and control characters removed, at most 3 lines and
/// 400 bytes.
#[tokio::test]
async fn the_output_tail_is_the_last_lines_bounded_and_sanitised() {
    use lumen::operator::hook::{TAIL_BYTES, TAIL_LINES};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = run_hook(
        &argv(&[
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo \"step $i\"; done; \
             printf 'deploying \\033[31mred\\033[0m\\a\\n\\n   \\n' ; \
             echo 'health check did not recover' >&2; exit 1",
        ]),
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    assert_eq!(r.status(), "failed", "{r:?}");
    assert_eq!(
        r.output_tail(),
        vec![
            "step 5".to_string(),
            "deploying red".to_string(),
            "health check did not recover".to_string(),
        ]
    );
    assert_eq!(TAIL_LINES, 3);

    // One huge line: cut to the byte bound at a character boundary.
    let r = run_hook(
        &argv(&[
            "sh",
            "-c",
            "echo short; printf 'é%.0s' $(seq 1 2000); echo; exit 2",
        ]),
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    let tail = r.output_tail();
    assert_eq!(
        tail.len(),
        1,
        "an older line does not fit after a cut one: {tail:?}"
    );
    let only = tail.first().cloned().unwrap_or_default();
    assert!(only.len() <= TAIL_BYTES, "{} bytes", only.len());
    assert!(only.len() > TAIL_BYTES - 8, "{} bytes", only.len());
    assert!(only.ends_with('…') && only.starts_with("éé"), "{only}");

    // Lines that fit together are kept together, the newest last.
    let long = "x".repeat(250);
    let r = run_hook(
        &argv(&[
            "sh",
            "-c",
            &format!("echo {long}; echo a; echo b >&2; exit 3"),
        ]),
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    assert_eq!(r.output_tail(), vec![long.clone(), "a".into(), "b".into()]);
    let r = run_hook(
        &argv(&[
            "sh",
            "-c",
            &format!("echo {long}; echo {long}; echo c; exit 3"),
        ]),
        Duration::from_secs(10),
        dir.path(),
    )
    .await;
    assert_eq!(
        r.output_tail(),
        vec![long, "c".to_string()],
        "within 400 bytes"
    );

    // A program that cannot start: the spawn error is the reason.
    let r = run_hook(
        &argv(&["/nonexistent/hook"]),
        Duration::from_secs(5),
        dir.path(),
    )
    .await;
    let tail = r.output_tail();
    assert_eq!(tail.len(), 1, "{tail:?}");
    assert!(!tail[0].is_empty());
}
