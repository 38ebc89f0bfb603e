//! Hostile data from unsigned ledger lines never reaches the rollback hook's argv:
//! every substituted value must match `^[A-Za-z0-9][A-Za-z0-9._:-]*$` and a `{branch}`
//! must be a registry branch id, else the rollback is refused before anything is
//! written, naming the ledger line — in the CLI and in the console's planner. A valid
//! value also works inside an element (`--target={txn}`). And a failed hook's output
//! reaches the terminal bounded and sanitised.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

fn out_text(o: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

struct Hq {
    _dir: tempfile::TempDir,
    root: PathBuf,
    key: String,
}

impl Hq {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }
    fn lumen(&self) -> Command {
        let mut c = common::bin::lumen();
        c.env("XDG_DATA_HOME", self.root.join("xdg-data"))
            .env("HOME", self.root.join("home"))
            .stdin(std::process::Stdio::null());
        c
    }
    fn rollback(&self, target: &str, json: bool) -> Output {
        let mut c = self.lumen();
        c.args(["rollback", "--target", target, "--yes", "--key", &self.key])
            .args(["--hq", &self.root.display().to_string()]);
        if json {
            c.arg("--json");
        }
        c.output().unwrap_or_else(|e| panic!("{e}"))
    }
    fn ledger(&self, text: &str) {
        write(&self.p("hq/ledger/ledger.jsonl"), text);
    }
    fn ledger_bytes(&self) -> Vec<u8> {
        std::fs::read(self.p("hq/ledger/ledger.jsonl")).unwrap_or_default()
    }
    /// The hook: `argv` with `SCRIPT` for the script; the script touches `ran`, logs
    /// its arguments to `argv.log`, then runs `body`.
    fn hook(&self, argv: &[&str], body: &str) {
        let script = self.p("hook.sh");
        write(
            &script,
            &format!(
                "#!/bin/sh\nd=\"$(dirname \"$0\")\"\ntouch \"$d/ran\"\nfor a in \"$@\"; do printf '[%s]' \"$a\" >> \"$d/argv.log\"; done; echo >> \"$d/argv.log\"\n{body}\n"
            ),
        );
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        let argv: Vec<String> = argv
            .iter()
            .map(|a| a.replace("SCRIPT", &script.display().to_string()))
            .collect();
        write(
            &self.p("hq/recovery/rollback-hook.json"),
            &json!({"argv": argv, "timeout": "10s"}).to_string(),
        );
    }
    fn ran(&self) -> bool {
        self.p("ran").exists()
    }
    fn argv_log(&self) -> String {
        std::fs::read_to_string(self.p("argv.log")).unwrap_or_default()
    }
}

fn hq() -> Hq {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = dir.path().to_path_buf();
    let b = |id: &str, tier: &str| json!({"id": id, "repo": format!("x/{id}"), "domain": format!("{id}.example"), "visibility": "public", "tier": tier});
    write(
        &root.join("hq/registry/branches.json"),
        &json!({"hqVersion": "2.1", "branches": [b("koosy", "standard"), b("papafly", "canary")]})
            .to_string(),
    );
    let key = root.join("op.pem");
    let o = common::bin::lumen()
        .env("XDG_DATA_HOME", root.join("xdg-data"))
        .env("HOME", root.join("home"))
        .args(["keygen", "--out", &key.display().to_string()])
        .args(["--id", "alice", "--role", "hq_admin"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(o.status.success(), "{}", out_text(&o));
    let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
    write(
        &root.join("hq/registry/keys.json"),
        &json!({"signers": [entry]}).to_string(),
    );
    Hq {
        _dir: dir,
        root,
        key: key.display().to_string(),
    }
}

/// A deploy line; `branch`, `id` and `change` are JSON-encoded, so any bytes fit.
fn deploy(id: &str, branch: &str, change: &str) -> String {
    json!({"id": id, "branch": branch, "event": "deploy", "change": change, "timestamp": "2026-01-18T01:00:00Z"})
        .to_string()
}

/// Line 1: the target (papafly, change C). Lines 2–4: a reject, a blank line and an
/// unrelated entry (so the line count is of the file, not of the entries). Line 5:
/// `hostile`.
fn ledger_with(target: &str, hostile: &str) -> String {
    format!(
        "{target}\nnot json at all\n\n{}\n{hostile}\n",
        json!({"id": "TXN-6", "branch": "koosy", "event": "llm_generate", "tokens": 5, "timestamp": "2026-01-18T01:05:00Z"})
    )
}

const HOOK_ARGV: [&str; 5] = [
    "SCRIPT",
    "--target={txn}",
    "{branch}",
    "--change",
    "{change}",
];

fn assert_refused(hq: &Hq, target: &str, line: &str, why: &str) {
    let before = hq.ledger_bytes();
    let o = hq.rollback(target, false);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(1), "{why}: {}", out_text(&o));
    assert!(
        stderr.contains(line),
        "{why}: stderr does not name `{line}`: {stderr}"
    );
    assert!(stderr.contains(why), "{why}: {stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        !o.stderr.iter().any(|&b| b == 0x1b || b == 0x07),
        "raw control bytes on stderr: {:?}",
        o.stderr
    );
    assert_eq!(hq.ledger_bytes(), before, "{why}: the ledger changed");
    assert!(!hq.ran(), "{why}: the hook ran");
    assert_eq!(hq.argv_log(), "", "{why}: the hook ran");
    // The refusal went to the log file too.
    let log = std::fs::read_to_string(hq.p("xdg-data/lumen/logs/lumen.log")).unwrap_or_default();
    assert!(log.contains(line), "{why}: log: {log}");
}

#[test]
fn hostile_values_refuse_the_rollback_naming_the_line() {
    let hq = hq();
    hq.hook(&HOOK_ARGV, "exit 0");
    let target = deploy("TXN-1", "papafly", "C");
    for (branch, why) in [
        ("--exec=/bin/evil", "it starts with `-`"),
        ("$(rm -rf /)", "it starts with `$`"),
        ("a b", "it contains a space"),
        ("", "it is empty"),
        ("-", "it starts with `-`"),
        ("koosy;touch pwned", "it contains `;`"),
        ("x\u{1b}]52;c;cHduZWQ=\u{7}\u{1b}[2J", "it contains U+001B"),
        (
            "ghost",
            "it is not a branch id in hq/registry/branches.json",
        ),
    ] {
        hq.ledger(&ledger_with(&target, &deploy("TXN-9", branch, "C")));
        assert_refused(&hq, "TXN-1", "hq/ledger/ledger.jsonl:5 (deploy TXN-9)", why);
        assert!(!hq.p("pwned").exists());
    }

    // {txn} from the target line: a `/` is refused, naming that line.
    hq.ledger(&ledger_with(
        &deploy("TXN-1/../../etc", "papafly", "C"),
        &deploy("TXN-9", "koosy", "C"),
    ));
    assert_refused(
        &hq,
        "TXN-1/../../etc",
        "hq/ledger/ledger.jsonl:1 (deploy TXN-1/../../etc)",
        "cannot be {txn}: it contains `/`",
    );
    // {change} too (every deploy of the change shares it).
    hq.ledger(&ledger_with(
        &deploy("TXN-1", "papafly", "-C"),
        &deploy("TXN-9", "koosy", "-C"),
    ));
    assert_refused(
        &hq,
        "TXN-1",
        "hq/ledger/ledger.jsonl:1 (deploy TXN-1)",
        "cannot be {change}: it starts with `-`",
    );
}

#[test]
fn console_planner_refuses_the_same_way() {
    let hq = hq();
    hq.hook(&HOOK_ARGV, "exit 0");
    hq.ledger(&ledger_with(
        &deploy("TXN-1", "papafly", "C"),
        &deploy("TXN-9", "--exec=/bin/evil", "C"),
    ));
    let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
    let msg = rt.block_on(async {
        let ops = lumen::operator::exec::Ops {
            root: hq.root.clone(),
            who: None,
            recheck: None,
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        ops.spawn(
            lumen::protocol::Command::PlanRollback {
                target: "TXN-1".into(),
            },
            tx,
        );
        tokio::time::timeout(Duration::from_secs(30), rx.recv()).await
    });
    match msg {
        Ok(Some(lumen::protocol::Msg::OperatorDone { ok, summary, .. })) => {
            assert!(!ok);
            assert!(
                summary.contains("hq/ledger/ledger.jsonl:5 (deploy TXN-9)"),
                "{summary}"
            );
            assert!(summary.contains("it starts with `-`"), "{summary}");
        }
        Ok(Some(_)) => panic!("the console planned a rollback with a hostile branch"),
        other => panic!("no answer from the planner: {other:?}"),
    }
}

#[test]
fn placeholders_inside_an_element_receive_exactly_the_value() {
    let hq = hq();
    hq.hook(&HOOK_ARGV, "exit 0");
    hq.ledger(&ledger_with(
        &deploy("TXN-20260118-010000-1", "papafly", "chg-00ff.1"),
        &deploy("TXN-9", "koosy", "chg-00ff.1"),
    ));
    let o = hq.rollback("TXN-20260118-010000-1", false);
    assert_eq!(o.status.code(), Some(0), "{}", out_text(&o));
    // Reverse sync order (koosy is standard, papafly canary); one element each.
    assert_eq!(
        hq.argv_log(),
        "[--target=TXN-20260118-010000-1][koosy][--change][chg-00ff.1]\n\
         [--target=TXN-20260118-010000-1][papafly][--change][chg-00ff.1]\n"
    );
}

#[test]
fn failed_hook_output_is_bounded_and_sanitised_on_the_terminal() {
    let hq = hq();
    // OSC 52 (clipboard), clear screen, a bell; then 1 MB on stdout and on stderr.
    hq.hook(
        &["SCRIPT", "{txn}"],
        r#"printf 'x\033]52;c;cHduZWQ=\007\033[2J\007y\n'
head -c 1000000 /dev/zero | tr '\0' a
head -c 1000000 /dev/zero | tr '\0' b >&2
exit 3"#,
    );
    hq.ledger(&format!("{}\n", deploy("TXN-1", "papafly", "C")));
    let o = hq.rollback("TXN-1", false);
    assert_eq!(o.status.code(), Some(1), "{}", out_text(&o));
    assert!(hq.ran());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("failed (exit 3"), "{out}");
    assert!(out.contains("xy"), "the escapes are dropped, the text kept");
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !bytes.iter().any(|&b| b < 0x20 && b != b'\n'),
            "{what} carries a control byte"
        );
    }
    // 64 KiB of each stream is kept; the output shown stays near that.
    assert!(
        o.stdout.len() < 200 * 1024,
        "stdout is {} bytes",
        o.stdout.len()
    );

    // --json keeps the text (escaped), still bounded.
    let o = hq.rollback("TXN-1", true);
    let v: Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", out_text(&o)));
    let output = v["results"][0]["output"].as_str().unwrap_or_default();
    assert!(output.starts_with("x\u{1b}]52;"), "{:?}", &output.get(..20));
    assert_eq!(v["results"][0]["truncated"], true);
    assert!(!o.stdout.contains(&0x1b), "raw ESC inside the JSON");

    // The ledger keeps the reason bounded and sanitised: the last lines only (here
    // the 64 KiB of `b`s, cut to 400 bytes), no escape or control character.
    let text = String::from_utf8_lossy(&hq.ledger_bytes()).into_owned();
    let last: Value = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<Value>(l).ok())
        .unwrap_or_default();
    assert_eq!(last["event"], "rollback", "{last}");
    let tail = last["hook_output"].as_array().cloned().unwrap_or_default();
    assert!(!tail.is_empty() && tail.len() <= 3, "{last}");
    let bytes: usize = tail.iter().filter_map(Value::as_str).map(str::len).sum();
    assert!(bytes <= 400, "{bytes} bytes of hook output on the ledger");
    for l in tail.iter().filter_map(Value::as_str) {
        assert!(!l.chars().any(char::is_control), "{l:?}");
    }
    // The escape-laden first line, now older than the bound, is not there.
    let first = tail.first().and_then(Value::as_str).unwrap_or_default();
    assert!(!first.contains("52;c"), "{first}");
}
