//! The exposition parser against (a) the truth of generated tricky expositions, (b) what
//! Python's `prometheus_client` reads from the same bytes (fixtures, generated bodies,
//! a live `prometheus-node-exporter`), and (c) ~100k random and mutated inputs that must
//! never panic (the stable-Rust stand-in for the cargo-fuzz target).
//!
//! Python and node-exporter are external: when absent the comparison is skipped with a
//! message, unless the env var `CI` is set, where their absence fails the test.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lumen::domain::exposition::{Parsed, Sample, parse};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/exposition")
}

fn read_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Skip (or fail under CI) when an external tool is missing.
fn missing(what: &str) -> bool {
    if std::env::var_os("CI").is_some() {
        panic!("{what} is required when CI is set");
    }
    eprintln!("SKIP: {what} not available");
    false
}

// ---------------------------------------------------------------- Python side

const PY: &str = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
with open(sys.argv[1], encoding="utf-8", newline="") as f:
    text = f.read()
out = []
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        ts = None if s.timestamp is None else repr(float(s.timestamp))
        out.append([s.name, s.labels, repr(float(s.value)), ts])
json.dump(out, sys.stdout)
"#;

fn python_available() -> bool {
    Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A sample reduced to what both parsers report, comparable across them.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
struct Norm {
    name: String,
    labels: Vec<(String, String)>,
    /// The value's bits with NaN canonical and -0 as 0 (Python reads "-0" as int 0).
    value: u64,
    ts_ms: Option<i64>,
}

fn value_key(v: f64) -> u64 {
    if v.is_nan() {
        f64::NAN.to_bits()
    } else if v == 0.0 {
        0
    } else {
        v.to_bits()
    }
}

/// One sample as the Python side prints it: name, labels, repr(value), repr(ts).
type PyRow = (String, BTreeMap<String, String>, String, Option<String>);

/// Python's data for `body`: the file goes through a temp file, never a shell string.
fn python_parse(body: &[u8]) -> Vec<Norm> {
    let mut f = tempfile::NamedTempFile::new().expect("temp file");
    f.write_all(body).expect("write temp");
    let out = Command::new("python3")
        .arg("-c")
        .arg(PY)
        .arg(f.path())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "prometheus_client refused the body: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<PyRow> = serde_json::from_slice(&out.stdout).expect("python json");
    let mut v: Vec<Norm> = rows
        .into_iter()
        .map(|(name, labels, value, ts)| Norm {
            name,
            labels: labels.into_iter().collect(),
            value: value_key(value.parse::<f64>().expect("python float repr")),
            ts_ms: ts.map(|t| (t.parse::<f64>().expect("python ts") * 1000.0).round() as i64),
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v
}

/// Ours, shaped like Python's: `prometheus_client` appends `_total` to the samples of a
/// counter family whose name lacks it (its OpenMetrics munging), so do the same here.
fn rust_norm(p: &Parsed) -> Vec<Norm> {
    let mut v: Vec<Norm> = p
        .samples
        .iter()
        .map(|s| {
            let mut name = s.name.clone();
            if p.types.get(&s.name).map(String::as_str) == Some("counter")
                && !name.ends_with("_total")
            {
                name.push_str("_total");
            }
            Norm {
                name,
                labels: s.labels.clone().into_iter().collect(),
                value: value_key(s.value),
                ts_ms: s.timestamp_ms,
            }
        })
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v
}

fn assert_same_as_python(what: &str, body: &[u8]) {
    let p = parse(body);
    assert!(
        p.errors.is_empty(),
        "{what}: unexpected errors {:?}",
        p.errors
    );
    assert!(!p.samples.is_empty(), "{what}: no samples");
    let ours = rust_norm(&p);
    let theirs = python_parse(body);
    if ours != theirs {
        let first = ours
            .iter()
            .zip(&theirs)
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("ours {a:?}\npython {b:?}"));
        panic!(
            "{what}: {} samples vs python {}; first difference:\n{}",
            ours.len(),
            theirs.len(),
            first.unwrap_or_else(|| "(one is a prefix of the other)".into())
        );
    }
}

// ---------------------------------------------------------------- generator

const NAMES: &[&str] = &[
    "up",
    "lumen_phase_diff",
    "hq_branch_up",
    "a:b:c",
    "_under",
    "ns:sub_total",
    "x1",
];
const LABEL_NAMES: &[&str] = &[
    "branch", "tier", "note", "le", "quantile", "_x", "path", "A1",
];
const PIECES: &[&str] = &[
    "a",
    "koosy",
    ",",
    "=",
    "{",
    "}",
    "}{",
    "\"",
    "\\",
    "\n",
    " ",
    "\t",
    "a,b=c",
    "C:\\dir",
    "日本語",
    "✓",
    "🚀",
    "Ünï",
    "#",
    " # ",
    "le=\"1\"",
    "",
    "0.5",
    "\\n",
    "\\\\",
];
const VALUES: &[(&str, f64)] = &[
    ("0", 0.0),
    ("1", 1.0),
    ("-1", -1.0),
    ("0.5", 0.5),
    ("1e-9", 1e-9),
    ("1.5e300", 1.5e300),
    ("-2.25E+3", -2250.0),
    ("NaN", f64::NAN),
    ("+Inf", f64::INFINITY),
    ("-Inf", f64::NEG_INFINITY),
    ("Inf", f64::INFINITY),
    ("123456789", 123_456_789.0),
    (".25", 0.25),
    ("7.", 7.0),
];

fn escape(v: &str) -> String {
    let mut s = String::new();
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

fn pick<T: Copy>(rng: &mut StdRng, xs: &[T]) -> T {
    xs[rng.random_range(0..xs.len())]
}

fn blanks(rng: &mut StdRng) -> &'static str {
    pick(rng, &["", "", "", " ", "  ", "\t"])
}

/// A valid exposition with tricky content and the samples it must parse to.
fn generate(rng: &mut StdRng, families: usize) -> (String, Vec<Sample>) {
    let mut text = String::new();
    let mut want = Vec::new();
    for f in 0..families {
        let fam = format!("{}_{f}", pick(rng, NAMES));
        if rng.random_bool(0.5) {
            let help = format!(
                "help {} \\\\ text\\n more",
                pick(rng, PIECES).replace(['\\', '\n'], "")
            );
            text.push_str(&format!("# HELP {fam} {help}\n"));
        }
        if rng.random_bool(0.5) {
            let t = pick(rng, &["gauge", "untyped", "counter"]);
            text.push_str(&format!("# TYPE {fam} {t}\n"));
        }
        if rng.random_bool(0.2) {
            text.push_str("# just a comment, with {braces} and \"quotes\"\n\n");
        }
        for _ in 0..rng.random_range(1..5) {
            let mut labels = BTreeMap::new();
            let mut line = fam.clone();
            let n = rng.random_range(0..4);
            if n > 0 || rng.random_bool(0.2) {
                line.push_str(blanks(rng));
                line.push('{');
                let mut names: Vec<&str> = LABEL_NAMES.to_vec();
                for i in 0..n {
                    let k = names.remove(rng.random_range(0..names.len()));
                    let mut v = String::new();
                    for _ in 0..rng.random_range(0..5) {
                        v.push_str(pick(rng, PIECES));
                    }
                    if i > 0 {
                        line.push_str(blanks(rng));
                        line.push(',');
                    }
                    line.push_str(blanks(rng));
                    line.push_str(k);
                    line.push_str(blanks(rng));
                    line.push('=');
                    line.push_str(blanks(rng));
                    line.push('"');
                    line.push_str(&escape(&v));
                    line.push('"');
                    labels.insert(k.to_string(), v);
                }
                if n > 0 && rng.random_bool(0.3) {
                    line.push(',');
                }
                line.push_str(blanks(rng));
                line.push('}');
            }
            // Python splits value and timestamp on " " (or "\t" when there is no
            // space), so keep one kind of blank after the label set.
            let sep = if rng.random_bool(0.8) { " " } else { "\t" };
            line.push_str(sep);
            let (vt, v) = pick(rng, VALUES);
            line.push_str(vt);
            let ts = if rng.random_bool(0.3) {
                let t = rng.random_range(-10_000_000_000i64..2_000_000_000_000);
                line.push_str(sep);
                line.push_str(&t.to_string());
                Some(t)
            } else {
                None
            };
            text.push_str(&line);
            text.push('\n');
            want.push(Sample {
                name: fam.clone(),
                labels,
                value: v,
                timestamp_ms: ts,
            });
        }
    }
    (text, want)
}

fn same_sample(a: &Sample, b: &Sample) -> bool {
    a.name == b.name
        && a.labels == b.labels
        && a.timestamp_ms == b.timestamp_ms
        && (a.value == b.value || (a.value.is_nan() && b.value.is_nan()))
}

// ---------------------------------------------------------------- tests

#[test]
fn generated_bodies_parse_to_their_truth() {
    let mut rng = StdRng::seed_from_u64(0x1u64);
    for round in 0..300 {
        let (text, want) = generate(&mut rng, 8);
        let p = parse(text.as_bytes());
        assert!(p.errors.is_empty(), "round {round}: {:?}\n{text}", p.errors);
        assert_eq!(p.samples.len(), want.len(), "round {round}\n{text}");
        for (got, exp) in p.samples.iter().zip(&want) {
            assert!(
                same_sample(got, exp),
                "round {round}: {got:?} != {exp:?}\n{text}"
            );
        }
    }
}

#[test]
fn fixtures_match_python() {
    if !python_available() && !missing("python3 with prometheus_client") {
        return;
    }
    for name in ["tricky.prom", "lumen_exporter.prom", "node_exporter.prom"] {
        assert_same_as_python(name, &read_fixture(name));
    }
}

#[test]
fn generated_bodies_match_python() {
    if !python_available() && !missing("python3 with prometheus_client") {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x2u64);
    // One large body rather than many: each Python start costs ~100 ms.
    let (text, _) = generate(&mut rng, 2000);
    assert_same_as_python("generated", text.as_bytes());
}

#[test]
fn bad_lines_are_reported_and_the_rest_matches_python() {
    let body = read_fixture("with_errors.prom");
    let p = parse(&body);
    let lines: Vec<usize> = p.errors.iter().map(|e| e.0).collect();
    assert_eq!(lines, [2, 3, 5, 6, 7], "{:?}", p.errors);
    assert_eq!(p.unreadable, 5);
    let names: Vec<&str> = p.samples.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["ok_before", "ok_after", "ok_last"]);
    if !python_available() && !missing("python3 with prometheus_client") {
        return;
    }
    // Python rejects the whole body on the first bad line; give it the good lines only.
    let good: Vec<u8> = body
        .split(|&b| b == b'\n')
        .enumerate()
        .filter(|(i, _)| !lines.contains(&(i + 1)))
        .flat_map(|(_, l)| l.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    let theirs = python_parse(&good);
    assert_eq!(rust_norm(&p), theirs);
}

struct KillOnDrop(Child);
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_node_exporter_matches_python() {
    let bin = "prometheus-node-exporter";
    let have_bin = Command::new(bin)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_bin && !missing(bin) {
        return;
    }
    if !python_available() && !missing("python3 with prometheus_client") {
        return;
    }
    let (child, port) =
        common::net::spawn_on_free_port("node exporter", Duration::from_secs(20), |port| {
            Command::new(bin)
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start node exporter")
        });
    let _guard = KillOnDrop(child);
    let url = format!("http://127.0.0.1:{port}/metrics");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = lumen::sources::http::client().expect("http client");
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let r = rt.block_on(lumen::sources::http::get_bounded(
            &client,
            &url,
            Duration::from_secs(5),
            16 << 20,
        ));
        match r {
            Ok(b) => break b,
            Err(e) if Instant::now() > deadline => panic!("node exporter never answered: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    let p = parse(&body);
    assert!(p.samples.len() > 100, "only {} samples", p.samples.len());
    assert_same_as_python("live node exporter", &body);
}

/// Byte-level mutations of real and generated bodies, plus pure noise, through `parse`:
/// no panic, and the report stays consistent with the input.
#[test]
fn hundred_thousand_mutated_inputs_never_panic() {
    let mut rng = StdRng::seed_from_u64(0xf0220);
    let mut seeds: Vec<Vec<u8>> = ["tricky.prom", "lumen_exporter.prom", "with_errors.prom"]
        .iter()
        .map(|n| read_fixture(n))
        .collect();
    let node = read_fixture("node_exporter.prom");
    seeds.push(node.get(..4096).unwrap_or(&node).to_vec());
    for _ in 0..20 {
        seeds.push(generate(&mut rng, 3).0.into_bytes());
    }
    const SPECIAL: &[u8] = b"{}\",=\\\n\r\t #+-.eE0123456789NaInf_:\xff\xc3\xa9\x00";
    let mut total_samples = 0usize;
    for i in 0..100_000u32 {
        let mut input = if i % 10 == 0 {
            (0..rng.random_range(0..200))
                .map(|_| pick(&mut rng, SPECIAL))
                .collect()
        } else {
            let base = &seeds[rng.random_range(0..seeds.len())];
            let start = rng.random_range(0..base.len().max(1));
            let len = rng.random_range(0..512usize);
            base.get(start..(start + len).min(base.len()))
                .unwrap_or_default()
                .to_vec()
        };
        for _ in 0..rng.random_range(0..6) {
            let pos = rng.random_range(0..=input.len());
            match rng.random_range(0..4) {
                0 => input.insert(pos, pick(&mut rng, SPECIAL)),
                1 if pos < input.len() => {
                    input.remove(pos);
                }
                2 if pos < input.len() => input[pos] = rng.random(),
                _ => input.truncate(pos),
            }
        }
        let p = parse(&input);
        let lines = input.split(|&b| b == b'\n').count();
        assert!(p.unreadable <= lines, "more errors than lines: {input:?}");
        assert!(p.errors.len() <= p.unreadable);
        assert!(p.errors.windows(2).all(|w| w[0].0 < w[1].0), "{input:?}");
        assert!(p.errors.iter().all(|e| e.0 >= 1 && e.0 <= lines));
        assert!(p.samples.len() + p.unreadable <= lines);
        total_samples += p.samples.len();
    }
    assert!(
        total_samples > 10_000,
        "mutations too destructive: {total_samples}"
    );
}
