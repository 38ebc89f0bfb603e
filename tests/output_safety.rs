//! What Lumen prints is safe for a terminal and for a pipe, through the real binary:
//!
//! * hostile bytes (CSI `ESC[2J`, OSC 52 `ESC]52;c;…BEL`, C1 CSI U+009B, BEL, the bidi
//!   override U+202E) in every path that echoes data or arguments — a ledger `event`
//!   in the rollback refusal, config/theme/keymap values, the `--theme`, `--target`
//!   and `--key` arguments, a scenario file error, a doctor report of a broken file,
//!   ledger stats — never reach stdout or stderr raw; `--json` output stays valid JSON
//!   whose values round-trip (escaped, not stripped);
//! * a stdout pipe closed before the command writes (`lumen … | head -1`) ends output
//!   quietly: no panic, no exit 101, and the command's real outcome as the exit code
//!   (a rollback still runs to its end and is recorded).

mod common;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

/// The hostile text: every kind of control the sanitiser must remove, around
/// visible markers that must survive.
const HOSTILE: &str = "A\u{1b}[2J\u{1b}]52;c;aGk=\u{7}B\u{9b}31mC\u{7}D\u{202e}E";
/// What a terminal may show of `HOSTILE`.
const VISIBLE: &str = "ABCDE";

struct Env {
    _home: tempfile::TempDir,
    home: PathBuf,
    root: PathBuf,
}

impl Env {
    fn new() -> Self {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let h = home.path().to_path_buf();
        let root = h.join("hq-root");
        let env = Env {
            _home: home,
            home: h,
            root,
        };
        env.write(
            "hq/registry/branches.json",
            &json!({"hqVersion": "2.1", "branches": [
                {"id": "koosy", "repo": "x/koosy", "domain": "koosy.example", "visibility": "public", "tier": "standard"},
            ]})
            .to_string(),
        );
        env.write(
            "hq/registry/decision-engine.json",
            r#"{"killSwitch":false,"maintenanceMode":{}}"#,
        );
        env.write("hq/registry/keys.json", r#"{"signers":[]}"#);
        env.write("hq/ledger/ledger.jsonl", "");
        env
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        }
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::bin::lumen();
        c.args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_DATA_HOME", self.home.join("data"))
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args)
            .output()
            .unwrap_or_else(|e| panic!("run lumen {args:?}: {e}"))
    }

    fn hq(&self) -> String {
        self.root.display().to_string()
    }

    /// A registered hq_admin key (`lumen keygen`), its path.
    fn key(&self) -> String {
        let path = self.home.join("operator.pem");
        let p = path.display().to_string();
        let o = self.run(&["keygen", "--out", &p, "--id", "op", "--role", "hq_admin"]);
        assert!(o.status.success(), "{}", text(&o));
        let entry: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}"));
        self.write(
            "hq/registry/keys.json",
            &json!({"signers": [entry]}).to_string(),
        );
        p
    }

    fn append_ledger(&self, lines: &[Value]) {
        let mut s =
            std::fs::read_to_string(self.root.join("hq/ledger/ledger.jsonl")).unwrap_or_default();
        for l in lines {
            s.push_str(&l.to_string());
            s.push('\n');
        }
        self.write("hq/ledger/ledger.jsonl", &s);
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Why `bytes` is unsafe for a terminal, if it is: ESC, BEL, any other C0 control
/// but newline, DEL, a C1 control (UTF-8 C2 80–9F), or U+202E.
fn unsafe_bytes(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes);
    s.chars()
        .find(|&c| (c.is_control() && c != '\n') || c == '\u{202e}')
        .map(|c| format!("U+{:04X}", u32::from(c)))
}

/// Both streams are safe, and `stream` shows the visible part of the hostile text.
#[track_caller]
fn assert_clean(o: &Output, stream_with_marker: &str) {
    for (name, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        if let Some(bad) = unsafe_bytes(bytes) {
            panic!("{bad} reached {name}:\n{}", text(o));
        }
    }
    let shown = if stream_with_marker == "stdout" {
        &o.stdout
    } else {
        &o.stderr
    };
    assert!(
        String::from_utf8_lossy(shown).contains(VISIBLE),
        "the message must still be shown (sanitised, on {stream_with_marker}):\n{}",
        text(o)
    );
}

/// True when a string (or an object key) anywhere in `v` contains `needle`.
fn holds(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.contains(needle),
        Value::Array(a) => a.iter().any(|x| holds(x, needle)),
        Value::Object(o) => o
            .iter()
            .any(|(k, x)| k.contains(needle) || holds(x, needle)),
        _ => false,
    }
}

/// `--json` output: valid JSON, no raw control bytes, and the hostile value inside,
/// whole (escaped, not stripped).
#[track_caller]
fn assert_json_round_trips(o: &Output) -> Value {
    if let Some(bad) = unsafe_bytes(&o.stdout) {
        panic!("{bad} reached --json stdout raw:\n{}", text(o));
    }
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", text(o)));
    assert!(holds(&v, HOSTILE), "the value must round-trip: {v}");
    v
}

/// `HOSTILE` as a YAML double-quoted scalar (escapes only: YAML forbids raw C0).
fn yaml_hostile() -> String {
    "\"A\\e[2J\\e]52;c;aGk=\\aB\\x9b31mC\\aD\\u202eE\"".to_string()
}

#[test]
fn ledger_event_in_the_rollback_refusal() {
    let env = Env::new();
    let key = env.key();
    env.append_ledger(&[json!({
        "id": "TXN-9", "branch": "koosy", "event": HOSTILE,
        "timestamp": "2026-01-18T01:00:00Z"
    })]);
    let o = env.run(&[
        "rollback",
        "--target",
        "TXN-9",
        "--yes",
        "--key",
        &key,
        "--hq",
        &env.hq(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_clean(&o, "stderr");
}

#[test]
fn target_and_key_arguments() {
    let env = Env::new();
    let key = env.key();
    let o = env.run(&[
        "rollback",
        "--target",
        HOSTILE,
        "--yes",
        "--key",
        &key,
        "--hq",
        &env.hq(),
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_clean(&o, "stderr");

    let bad_key = env.home.join(HOSTILE).display().to_string();
    for args in [
        vec!["killswitch", "on", "--yes", "--key", &bad_key],
        vec![
            "ledger", "append", "--event", "x", "--branch", "koosy", "--key", &bad_key,
        ],
    ] {
        let mut a = args.clone();
        let hq = env.hq();
        a.extend(["--hq", &hq]);
        let o = env.run(&a);
        assert!(matches!(o.status.code(), Some(1 | 2)), "{}", text(&o));
        assert_clean(&o, "stderr");
    }
}

#[test]
fn theme_argument_config_theme_and_keymap_values() {
    let env = Env::new();
    // --theme NAME (the console refuses before touching the terminal).
    let o = env.run(&["--theme", HOSTILE, "--hq", &env.hq()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_clean(&o, "stderr");

    let cfg_dir = env.home.join("config/lumen");
    std::fs::create_dir_all(cfg_dir.join("themes")).unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        // a config value echoed in its error
        format!("exporters:\n  - url: {}\n", yaml_hostile()),
        // a keymap binding
        format!("keymap:\n  quit: [{}]\n", yaml_hostile()),
        // a theme value (user theme `evil`)
        "theme: evil\n".to_string(),
    ];
    std::fs::write(
        cfg_dir.join("themes/evil.yaml"),
        format!("fg: {}\n", yaml_hostile()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for cfg in &cases {
        let file = cfg_dir.join("config.yaml");
        std::fs::write(&file, cfg).unwrap_or_else(|e| panic!("{e}"));
        let o = env.run(&["--config", &file.display().to_string(), "--hq", &env.hq()]);
        assert_eq!(o.status.code(), Some(2), "{cfg}\n{}", text(&o));
        assert_clean(&o, "stderr");
        // doctor reports the same file on stdout
        let o = env.run(&[
            "doctor",
            "--config",
            &file.display().to_string(),
            "--hq",
            &env.hq(),
        ]);
        assert_eq!(o.status.code(), Some(1), "{cfg}\n{}", text(&o));
        assert_clean(&o, "stdout");
    }
}

#[test]
fn scenario_file_errors() {
    let env = Env::new();
    let dir = env.home.join("scenarios");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    // Hostile bytes in the value, and in the file's name.
    let body = format!(
        "id: {}\ntitle: t\nroles:\n  - {{id: a, title: A}}\n  - {{id: b, title: B}}\nsteps:\n  - {{id: s, kind: check, instruction: i, actors: [a]}}\n",
        yaml_hostile()
    );
    std::fs::write(dir.join(format!("{HOSTILE}.yaml")), &body).unwrap_or_else(|e| panic!("{e}"));
    let d = dir.display().to_string();
    let o = env.run(&["ceremony", "check", &d]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_clean(&o, "stdout");
    let o = env.run(&["ceremony", "list", "--scenarios", &d]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_clean(&o, "stderr");
    let o = env.run(&["ceremony", "run", "--scenario", HOSTILE]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_clean(&o, "stderr");
    let o = env.run(&["ceremony", "check", &d, "--json"]);
    let v = assert_json_round_trips(&o);
    let file = v["errors"][0]["file"].as_str().unwrap_or_default();
    assert!(file.ends_with(&format!("{HOSTILE}.yaml")), "{v}");
}

#[test]
fn doctor_report_of_a_broken_file() {
    let env = Env::new();
    env.write(
        "gateway_activation.yaml",
        &format!("gateway:\n  status: {}\n", yaml_hostile()),
    );
    let o = env.run(&["doctor", "--hq", &env.hq()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_clean(&o, "stdout");
    let o = env.run(&["doctor", "--hq", &env.hq(), "--json"]);
    let v = assert_json_round_trips(&o);
    assert!(
        v["findings"].as_array().is_some_and(|f| f
            .iter()
            .any(|f| f["message"].as_str().is_some_and(|m| m.contains(HOSTILE)))),
        "{v}"
    );
}

#[test]
fn ledger_stats_text_and_json() {
    let env = Env::new();
    env.append_ledger(&[json!({
        "id": "TXN-1", "branch": HOSTILE, "event": "llm_generate", "tokens": 3,
        "timestamp": "2026-01-18T01:00:00Z"
    })]);
    let o = env.run(&["ledger", "stats", "--hq", &env.hq()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_clean(&o, "stdout");
    let o = env.run(&["ledger", "stats", "--hq", &env.hq(), "--json"]);
    let v = assert_json_round_trips(&o);
    assert!(v["branches"].get(HOSTILE).is_some(), "{v}");
}

// ------------------------------------------------------------------ closed pipe

/// Run with stdout a pipe whose read end is already closed: every write gets EPIPE.
fn run_closed_stdout(env: &Env, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("pipe: {e}"));
    drop(reader);
    let child = env
        .cmd(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {args:?}: {e}"));
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait {args:?}: {e}"))
}

#[track_caller]
fn assert_quiet(o: &Output, args: &[&str], want: i32) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !err.contains("panicked") && !err.to_lowercase().contains("broken pipe"),
        "lumen {args:?} with a closed stdout:\n{}",
        text(o)
    );
    assert_ne!(o.status.code(), Some(101), "lumen {args:?}: {}", text(o));
    assert_eq!(o.status.code(), Some(want), "lumen {args:?}: {}", text(o));
}

#[test]
fn a_closed_stdout_pipe_ends_quietly_with_the_real_outcome() {
    let env = Env::new();
    let key = env.key();
    env.append_ledger(&[
        json!({"id": "TXN-1", "branch": "koosy", "event": "deploy", "status": "success",
               "timestamp": "2026-01-18T01:00:00Z"}),
        json!({"id": "TXN-2", "branch": "koosy", "event": "llm_generate", "tokens": 5,
               "cost": 0.5, "timestamp": "2026-01-18T01:05:00Z"}),
    ]);
    let hq = env.hq();
    let scen = env.home.join("no-scenarios");
    std::fs::create_dir_all(&scen).unwrap_or_else(|e| panic!("{e}"));
    let scen = scen.display().to_string();
    let billing_out = env.home.join("billing").display().to_string();
    let init_dir = env.home.join("fresh").display().to_string();
    let new_key = env.home.join("new.pem").display().to_string();
    let cases: Vec<(Vec<&str>, i32)> = vec![
        (vec!["ledger", "stats", "--hq", &hq], 0),
        (vec!["ledger", "stats", "--hq", &hq, "--json"], 0),
        (vec!["ledger", "verify", "--hq", &hq], 0),
        (vec!["ledger", "verify", "--hq", &hq, "--json"], 0),
        (vec!["ledger", "prove", "--id", "TXN-1", "--hq", &hq], 0),
        (
            vec![
                "ledger", "append", "--event", "note", "--branch", "koosy", "--key", &key, "--hq",
                &hq,
            ],
            0,
        ),
        (vec!["ceremony", "list", "--scenarios", &scen], 0),
        (vec!["ceremony", "list", "--json"], 0),
        (vec!["ceremony", "check"], 0),
        (
            vec![
                "ceremony",
                "run",
                "--scenario",
                "initial-root-setup",
                "--hq",
                &hq,
            ],
            0,
        ),
        (
            vec![
                "billing",
                "--month",
                "2026-01",
                "--out",
                &billing_out,
                "--hq",
                &hq,
            ],
            0,
        ),
        (vec!["doctor", "--hq", &hq], 0),
        (vec!["doctor", "--hq", &hq, "--json"], 0),
        (vec!["completions", "bash"], 0),
        (vec!["--help"], 0),
        (vec!["init", &init_dir], 0),
        (vec!["keygen", "--out", &new_key], 0),
        (
            vec![
                "rollback", "--target", "TXN-1", "--yes", "--key", &key, "--hq", &hq,
            ],
            0,
        ),
        (
            vec!["killswitch", "on", "--yes", "--key", &key, "--hq", &hq],
            0,
        ),
        (
            vec![
                "maintenance",
                "koosy",
                "on",
                "--yes",
                "--key",
                &key,
                "--hq",
                &hq,
            ],
            0,
        ),
        (vec!["ledger", "checkpoint", "--key", &key, "--hq", &hq], 0),
    ];
    for (args, want) in &cases {
        let o = run_closed_stdout(&env, args);
        assert_quiet(&o, args, *want);
    }
    // The rollback ran to its end and was recorded although nobody read its output.
    let ledger =
        std::fs::read_to_string(env.root.join("hq/ledger/ledger.jsonl")).unwrap_or_default();
    assert!(
        ledger.contains("\"rollback_requested\"") && ledger.contains("\"rollback\""),
        "{ledger}"
    );
    let de: Value = serde_json::from_str(
        &std::fs::read_to_string(env.root.join("hq/registry/decision-engine.json"))
            .unwrap_or_default(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(de["killSwitch"], true, "{de}");
    // Exit 1 stays 1: a refused action with a closed stdout.
    let args = [
        "rollback", "--target", "TXN-2", "--yes", "--key", &key, "--hq", &hq,
    ];
    assert_quiet(&run_closed_stdout(&env, &args), &args, 1);
}

#[test]
fn scrape_with_a_closed_pipe() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut s, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let mut body = String::new();
            for i in 0..2000 {
                body.push_str(&format!("lumen_metric{{i=\"{i}\"}} {i}\n"));
            }
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let env = Env::new();
    let url = format!("http://{addr}/metrics");
    for args in [
        vec!["scrape", url.as_str()],
        vec!["scrape", url.as_str(), "--json"],
    ] {
        assert_quiet(&run_closed_stdout(&env, &args), &args, 0);
    }
    let _ = server.join();
}

#[test]
fn json_escapes_are_valid_for_every_hostile_character() {
    // The same document the binary prints for a hostile ledger line, parsed back.
    let env = Env::new();
    env.append_ledger(&[json!({
        "id": HOSTILE, "branch": "koosy", "event": "x", "timestamp": "2026-01-18T01:00:00Z"
    })]);
    let o = env.run(&[
        "ledger",
        "prove",
        "--id",
        HOSTILE,
        "--hq",
        &env.hq(),
        "--json",
    ]);
    let v = assert_json_round_trips(&o);
    assert_eq!(v["id"], HOSTILE, "{v}");
}
