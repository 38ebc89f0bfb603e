//! `ceremony check`: broken scenario fixtures are reported with file:line:column,
//! both through the library and through the binary (exit 1).

mod common;

use std::path::PathBuf;

use lumen::domain::ceremony::scenario;

fn fixtures() -> Vec<(PathBuf, String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("fixture dir") {
        let path = e.expect("entry").path();
        if path.extension().is_some_and(|x| x == "yaml") {
            let text = std::fs::read_to_string(&path).expect("fixture");
            // First line: `# expect: LINE:COL message fragment`
            let expect = text
                .lines()
                .next()
                .and_then(|l| l.strip_prefix("# expect: "))
                .expect("fixture starts with an expectation")
                .to_string();
            out.push((path, text, expect));
        }
    }
    out.sort();
    assert!(out.len() >= 8, "expected a set of broken fixtures");
    out
}

#[test]
fn every_broken_fixture_reports_file_line_and_column() {
    for (path, text, expect) in fixtures() {
        let name = path.display().to_string();
        let diags = scenario::parse(&name, &text).expect_err(&name);
        let (pos, fragment) = expect.split_once(' ').expect("LINE:COL message");
        let wanted = format!("{name}:{pos}: ");
        assert!(
            diags
                .iter()
                .any(|d| d.to_string().starts_with(&wanted) && d.message.contains(fragment)),
            "{name}: wanted `{wanted}…{fragment}…`, got {:?}",
            diags.iter().map(|d| d.to_string()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn check_binary_exits_1_and_lists_every_error() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let out = common::bin::lumen()
        .args(["ceremony", "check"])
        .arg(&dir)
        .output()
        .expect("run lumen");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (path, _, expect) in fixtures() {
        let (pos, _) = expect.split_once(' ').expect("LINE:COL message");
        let wanted = format!("{}:{pos}: ", path.display());
        assert!(stdout.contains(&wanted), "missing {wanted} in\n{stdout}");
    }
}

#[test]
fn check_without_dir_passes_on_shipped_scenarios() {
    let out = common::bin::lumen()
        .args(["ceremony", "check", "--json"])
        .output()
        .expect("run lumen");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["ok"], true);
    assert!(v["files"].as_u64().unwrap_or(0) >= 10);
}

#[test]
fn check_on_missing_dir_is_a_usage_error() {
    let out = common::bin::lumen()
        .args(["ceremony", "check", "/nonexistent/lumen-scenarios"])
        .output()
        .expect("run lumen");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn alias_bomb_is_stopped_by_the_budget() {
    let bomb = r#"
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h,*h]
"#;
    let r: Result<serde_json::Value, _> =
        serde_saphyr::from_str_with_options(bomb, scenario::yaml_options());
    assert!(r.is_err(), "a 10^9-node alias bomb must be refused");
}

/// A cheap stand-in for the cargo-fuzz target (fuzz/fuzz_targets/scenario.rs) that
/// runs in every `cargo test`: thousands of seeded mutations of the shipped
/// scenarios through the parser, the machine and the transcript verifier.
#[test]
fn mutated_scenarios_never_panic() {
    use lumen::domain::ceremony::crypto::KeySource;
    use lumen::domain::ceremony::machine::{Input, Machine, Participant, Phase};
    use lumen::domain::ceremony::{SHIPPED, transcript};
    use rand::{Rng, SeedableRng};

    const PUNCT: &[u8] = b"-:[{&*!'\"\n #";
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xce7e);
    let mut validated = 0;
    for round in 0..3000 {
        let (_, base) = SHIPPED[round % SHIPPED.len()];
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..rng.random_range(1..4) {
            let pos = rng.random_range(0..bytes.len());
            match rng.random_range(0..4) {
                0 => bytes[pos] = rng.random(),
                1 => bytes.truncate(pos),
                2 => {
                    bytes.remove(pos);
                }
                _ => bytes.insert(pos, PUNCT[rng.random_range(0..PUNCT.len())]),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let _ = transcript::verify(&bytes);
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(s) = scenario::parse("m.yaml", text) else {
            continue;
        };
        validated += 1;
        let mut keys = KeySource::seeded(round as u64);
        let people: Vec<Participant> = s
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| {
                Participant::new(format!("p{i}"), r.id.clone(), keys.generate().expect("key"))
            })
            .collect();
        let Ok(mut m) = Machine::new(s, people, round as u64, keys) else {
            continue;
        };
        for _ in 0..1000 {
            if m.phase() == Phase::Done || m.step(Input::Skip, 1).is_err() {
                break;
            }
        }
        assert_eq!(m.phase(), Phase::Done);
        let t = transcript::render(&m);
        assert!(transcript::verify(t.as_bytes()).ok);
    }
    assert!(
        validated > 100,
        "mutations too destructive to reach the machine: {validated}"
    );
}

#[test]
fn check_validates_answer_scripts_against_their_scenario() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("scripts")).expect("mkdir");
    std::fs::copy(
        root.join("scenarios/witness-no-show.yaml"),
        dir.path().join("witness-no-show.yaml"),
    )
    .expect("copy");
    let good = std::fs::read_to_string(root.join("scenarios/scripts/witness-no-show.pass.yaml"))
        .expect("script");
    let bad = good
        .replace("role: co1}", "role: co9}")
        .replace("step: attendance", "step: atendance")
        .replace("response: postpone", "response: run-away");
    let bad_path = dir.path().join("scripts/bad.yaml");
    std::fs::write(&bad_path, bad).expect("write");
    let out = common::bin::lumen()
        .args(["ceremony", "check"])
        .arg(dir.path())
        .output()
        .expect("run lumen");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let f = bad_path.display();
    for wanted in [
        format!("{f}:4:5: role `co9` is not a role"),
        format!("{f}:8:5: step `atendance` does not exist"),
        format!("{f}:9:5: `run-away` is not a response to `witness_absent`"),
        format!("{f}:1:1: no participant holds role `co1`"),
    ] {
        assert!(stdout.contains(&wanted), "missing {wanted} in\n{stdout}");
    }
    // `run` refuses the same script up front, with the same locations.
    let out = common::bin::lumen()
        .args([
            "ceremony",
            "run",
            "--scenario",
            "witness-no-show",
            "--script",
        ])
        .arg(&bad_path)
        .arg("--hq")
        .arg(dir.path())
        .output()
        .expect("run lumen");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("{f}:8:5:")));
}

#[test]
fn check_on_the_shipped_directory_covers_every_script() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = common::bin::lumen()
        .args(["ceremony", "check", "--json"])
        .arg(root.join("scenarios"))
        .output()
        .expect("run lumen");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        v["scripts"].as_u64(),
        Some(2 * v["files"].as_u64().unwrap_or(0))
    );
}
