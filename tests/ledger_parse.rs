//! Ledger line parsing: the fast stats parser is exactly `parse_line` (property test
//! over many mutated lines), and every docs/ledger.md bad-line class is counted right by
//! `stats` and `verify` with nothing around it lost.

use std::io::Write;

use lumen::domain::ledger::{parse_line, parse_stat_fields};
use lumen::domain::sanitize::sanitize;
use lumen::store::keys::Keyring;
use lumen::store::stats::{Rates, stats_of};
use lumen::store::verify::verify_file;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BASES: &[&str] = &[
    r#"{"id":"TXN-20260118-001","branch":"papafly","event":"deploy_test","actor":"hq","timestamp":"2026-01-18T01:02:03Z"}"#,
    r#"{"id":"TXN-20260118-002","branch":"koosy","event":"llm_generate","tokens":1840,"cost":0.033,"actor":"llm","timestamp":"2026-01-18T01:04:10Z"}"#,
    r#"{"id":"TXN-20260118-003","branch":"koosy","event":"deploy_failed","actor":"ci","timestamp":"2026-01-18T01:05:44+09:00","status":"failed"}"#,
    r#" { "id" : "a" , "branch" : "b" , "event" : "e" , "timestamp" : "2026-02-01T00:00:00.123456Z" , "tokens" : 0 , "tier" : "premium" } "#,
    r#"{"id":"r","branch":"koosy","event":"rollback_requested","timestamp":"2026-01-18T01:05:44Z","branches":["a","b"],"meta":{"k":[1,2.5,null,true]}}"#,
    r#"{"id":"u","branch":"k\u00f6sy","event":"llm_generate","timestamp":"2026-01-18T01:05:44Z","tokens":12,"note":"caf\u00e9 \"q\""}"#,
    r#"{"id":"n","branch":"b","event":"e","timestamp":"2026-01-18T01:05:44Z","tokens":-3,"cost":-0.0,"x":1.5e3,"y":-0,"z":false}"#,
    r#"{"id":"big","branch":"b","event":"e","timestamp":"2026-01-18T01:05:44Z","tokens":18446744073709551615,"cost":123456789012345678901234567890}"#,
];

const SNIPPETS: &[&str] = &[
    r#""tokens":-1,"#,
    r#""tokens":1.0,"#,
    r#""tokens":"5","#,
    r#""tokens":18446744073709551616,"#,
    r#""cost":1e999,"#,
    r#""cost":null,"#,
    r#""cost":"1","#,
    r#""cost":0.1000000000000000055511151231257827,"#,
    r#""x":"\ud800","#,
    r#""x":"\ud83d\ude00","#,
    r#""x":1e400,"#,
    r#""x":0001,"#,
    r#""x":[1,{"a":2}],"#,
    r#""id":5,"#,
    r#""id":"dup","#,
    r#""branch":"other","#,
    r#""event":null,"#,
    r#""tier":"premium","#,
    r#""tier":7,"#,
    r#""b\u0072anch":"esc","#,
    r#""timestamp":"2026-13-01T00:00:00Z","#,
    r#""timestamp":"2026-01-01 00:00:00Z","#,
    "\"x\":\"tab\tinside\",",
    "\"x\":\"\u{1b}[31mred\",",
    r#""x":"\u001b[2J","#,
    // Billed numbers must be finite and >= 0 (negative, fractional tokens, strings,
    // null, NaN/Infinity spellings, exponents).
    r#""cost":-100,"#,
    r#""cost":-0.001,"#,
    r#""cost":-0,"#,
    r#""cost":-0.0,"#,
    r#""cost":0,"#,
    r#""cost":1e2,"#,
    r#""cost":-1e2,"#,
    r#""cost":NaN,"#,
    r#""cost":Infinity,"#,
    r#""cost":-1e999,"#,
    r#""cost":true,"#,
    r#""cost":{"a":1},"#,
    r#""tokens":-0,"#,
    r#""tokens":1.5,"#,
    r#""tokens":2e3,"#,
    r#""tokens":null,"#,
    r#""tokens":[1],"#,
];

const BYTES: &[u8] = b"\"\\{}[],: \t0123456789-+.eEtfnuxa\x00\x1b\x7f\xff\xc3\xa9";

fn mutate(rng: &mut StdRng, base: &[u8]) -> Vec<u8> {
    let mut line = base.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if line.is_empty() {
            line.push(b'{');
        }
        let at = rng.random_range(0..line.len());
        match rng.random_range(0..6) {
            0 => line[at] = BYTES[rng.random_range(0..BYTES.len())],
            1 => {
                line.remove(at);
            }
            2 => line.truncate(at),
            3 => line.insert(at, BYTES[rng.random_range(0..BYTES.len())]),
            _ => {
                // Insert a whole member right after the opening brace.
                if let Some(open) = line.iter().position(|&b| b == b'{') {
                    let s = SNIPPETS[rng.random_range(0..SNIPPETS.len())];
                    line.splice(open + 1..open + 1, s.bytes());
                }
            }
        }
    }
    line
}

fn same(line: &[u8]) {
    let slow = parse_line(line);
    let fast = parse_stat_fields(line);
    match (&slow, &fast) {
        (Ok(e), Ok(f)) => {
            assert_eq!(e.id, f.id, "{}", String::from_utf8_lossy(line));
            assert_eq!(e.branch, f.branch, "{}", String::from_utf8_lossy(line));
            assert_eq!(e.event, f.event, "{}", String::from_utf8_lossy(line));
            assert_eq!(e.timestamp, f.timestamp);
            assert_eq!(e.tokens, f.tokens, "{}", String::from_utf8_lossy(line));
            assert_eq!(
                e.cost.map(f64::to_bits),
                f.cost.map(f64::to_bits),
                "{}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(e.tier.as_deref(), f.tier.as_deref());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!(
            "parse_line and parse_stat_fields disagree on {:?}: {:?} vs {:?}",
            String::from_utf8_lossy(line),
            slow.is_ok(),
            fast.is_ok()
        ),
    }
}

#[test]
fn fast_parser_is_exactly_parse_line() {
    let mut rng = StdRng::seed_from_u64(0x1ed9e5);
    let mut accepted = 0;
    for base in BASES {
        same(base.as_bytes());
        for s in SNIPPETS {
            let mut line = base.as_bytes().to_vec();
            if let Some(open) = line.iter().position(|&b| b == b'{') {
                line.splice(open + 1..open + 1, s.bytes());
            }
            same(&line);
        }
    }
    for i in 0..200_000 {
        let base = BASES[i % BASES.len()].as_bytes();
        let line = mutate(&mut rng, base);
        if parse_line(&line).is_ok() {
            accepted += 1;
        }
        same(&line);
    }
    // The mutations must leave enough lines valid for the comparison to mean something.
    assert!(
        accepted > 20_000,
        "only {accepted} mutated lines were valid"
    );
}

fn line(id: &str, branch: &str, tokens: u64) -> String {
    format!(
        r#"{{"id":"{id}","branch":"{branch}","event":"llm_generate","tokens":{tokens},"timestamp":"2026-01-18T01:02:03Z"}}"#
    )
}

#[test]
fn every_bad_line_class_is_counted_and_nothing_around_is_lost() {
    let mut f: Vec<u8> = Vec::new();
    let mut good = 0u64;
    let mut tokens = 0u64;
    let mut expect_rejects: Vec<u64> = Vec::new(); // line numbers
    let mut no = 0u64;
    fn push_raw(f: &mut Vec<u8>, no: &mut u64, bytes: &[u8]) {
        *no += 1;
        f.extend_from_slice(bytes);
        f.push(b'\n');
    }
    macro_rules! push_good {
        ($f:expr, $no:expr, $id:expr) => {{
            good += 1;
            tokens += 10;
            push_raw($f, $no, line($id, "koosy", 10).as_bytes());
        }};
    }
    push_good!(&mut f, &mut no, "g1");
    push_raw(
        &mut f,
        &mut no,
        br#"{"id":"t","branch":"koosy","event":"x","#,
    ); // truncated
    expect_rejects.push(no);
    push_good!(&mut f, &mut no, "g2");
    push_raw(&mut f, &mut no, b"{\"id\":\"\xff\xfe\",\"branch\":\"b\",\"event\":\"e\",\"timestamp\":\"2026-01-18T01:02:03Z\"}"); // not UTF-8
    expect_rejects.push(no);
    push_good!(&mut f, &mut no, "g3");
    push_raw(
        &mut f,
        &mut no,
        b"{\"id\":\"a\0\",\"branch\":\"b\",\"event\":\"e\",\"timestamp\":\"2026-01-18T01:02:03Z\"}",
    ); // NUL
    expect_rejects.push(no);
    push_raw(
        &mut f,
        &mut no,
        br#"{"id":"m","event":"e","timestamp":"2026-01-18T01:02:03Z"}"#,
    ); // missing branch
    expect_rejects.push(no);
    push_good!(&mut f, &mut no, "g4");
    let mut huge =
        br#"{"id":"h","branch":"b","event":"e","timestamp":"2026-01-18T01:02:03Z","pad":""#
            .to_vec();
    huge.extend(std::iter::repeat_n(b'x', 2 << 20));
    huge.extend_from_slice(b"\"}");
    push_raw(&mut f, &mut no, &huge); // 2 MiB
    expect_rejects.push(no);
    push_good!(&mut f, &mut no, "g5");
    // Escape sequences inside strings are valid JSON: an entry, shown sanitized.
    let esc = r#"{"id":"e1","branch":"koosy","event":"llm_generate","tokens":10,"timestamp":"2026-01-18T01:02:03Z","note":"\u001b[2J\u001b]0;pwned\u0007"}"#;
    push_raw(&mut f, &mut no, esc.as_bytes());
    good += 1;
    tokens += 10;
    push_raw(&mut f, &mut no, b"   \t "); // whitespace-only
    expect_rejects.push(no);
    push_raw(&mut f, &mut no, b""); // empty: ignored
    push_good!(&mut f, &mut no, "g1"); // duplicate id: a warning, not a reject
    push_good!(&mut f, &mut no, "g6");
    f.extend_from_slice(br#"{"id":"pending","branch":"koosy""#); // no final newline

    let stats = stats_of(&f, &Rates::default(), None, 2);
    assert_eq!(stats.entries, good);
    assert_eq!(stats.rejects, expect_rejects.len() as u64);
    assert_eq!(stats.lines, good + expect_rejects.len() as u64);
    assert!(stats.pending);
    assert_eq!(stats.totals.tokens, tokens);
    assert_eq!(stats.branches.get("koosy").map(|b| b.entries), Some(good));

    // Every chunk split must give the same answer.
    for threads in [1, 3, 7] {
        assert_eq!(stats_of(&f, &Rates::default(), None, threads), stats);
    }

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    std::fs::File::create(&path)
        .and_then(|mut file| file.write_all(&f))
        .unwrap_or_else(|e| panic!("{e}"));
    let report =
        verify_file(&path, &Keyring::default(), &[], vec![]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.entries, good);
    let lines: Vec<u64> = report.rejects.iter().map(|r| r.line).collect();
    assert_eq!(lines, expect_rejects);
    for r in &report.rejects {
        // The offset points at the start of that line.
        let at = usize::try_from(r.offset).unwrap_or(usize::MAX);
        assert!(
            at == 0 || f.get(at - 1) == Some(&b'\n'),
            "offset {}",
            r.offset
        );
    }
    assert!(report.pending);
    assert!(report.ok, "rejects alone do not fail verification");
    assert_eq!(report.unchained, good);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("duplicate id g1")),
        "{:?}",
        report.warnings
    );
    assert!(report.rejects[4].reason.contains("over the 1 MiB limit"));

    // The escape sequence never survives sanitizing.
    let e = parse_line(esc.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.id, "e1");
    let v: serde_json::Value = serde_json::from_str(esc).unwrap_or_else(|e| panic!("{e}"));
    let note = v["note"].as_str().unwrap_or_default();
    assert!(!sanitize(note).contains('\u{1b}'));
    assert!(!sanitize(note).contains('\u{7}'));
}

#[test]
fn verify_warns_on_time_regressions_and_fails_truncated_checkpoints() {
    use lumen::domain::merkle::RootBuilder;
    use lumen::store::verify::Checkpoint;
    let a = line("a", "koosy", 1);
    let b = line("b", "koosy", 1).replace("01:02:03Z", "00:59:00Z");
    let content = format!("{a}\n{b}\n");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("ledger.jsonl");
    std::fs::write(&path, &content).unwrap_or_else(|e| panic!("{e}"));
    let mut root1 = RootBuilder::new();
    root1.push_data(a.as_bytes());
    let cps = [
        Checkpoint {
            line_no: 1,
            size: 1,
            root: hex::encode(root1.root()),
            signed_ok: true,
            why: None,
        },
        Checkpoint {
            line_no: 2,
            size: 3,
            root: "00".repeat(32),
            signed_ok: true,
            why: None,
        },
    ];
    let r = verify_file(&path, &Keyring::default(), &cps, vec![]).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("line 2: timestamp")),
        "{:?}",
        r.warnings
    );
    assert_eq!((r.checkpoints.ok, r.checkpoints.bad), (1, 1));
    assert!(
        !r.ok,
        "a checkpoint beyond the file means history was truncated"
    );
    let r = verify_file(&path, &Keyring::default(), &cps[..1], vec![])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(r.ok);
}
