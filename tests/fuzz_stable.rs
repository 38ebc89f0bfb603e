//! Deterministic fuzzing on stable Rust (cargo-fuzz needs nightly, which CI and this
//! machine lack). For every target in `fuzz/targets.rs` — the same bodies the
//! cargo-fuzz binaries run — feed the committed seed corpus `fuzz/corpus/<target>/`
//! plus `LUMEN_FUZZ_ITERS` (default 20,000; a quarter for `scenario`) seeded mutations: bit flips, byte
//! substitutions, splices with other seeds, truncations, duplicated chunks, deletions,
//! inserted escape sequences, Unicode edge cases and huge numbers. Any panic is a crash:
//! its input is written to `target/fuzz-crashes/<target>-<n>.bin` and the test fails.
//!
//! Hand-written mutator (not `arbitrary`/`libfuzzer`): it must run on stable without
//! instrumentation, and a seeded `StdRng` keeps every run reproducible.

#[path = "../fuzz/targets.rs"]
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const DICTIONARY: &[&[u8]] = &[
    b"\x1b[2J",
    b"\x1b]52;c;aGk=\x07",
    b"\x1b]8;;http://evil\x1b\\",
    b"\x1b",
    b"\x07",
    "\u{9b}31m".as_bytes(),
    "\u{9d}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{6f22}\u{5b57}".as_bytes(),
    "e\u{301}\u{301}\u{301}".as_bytes(),
    "\u{1F468}\u{200D}\u{1F469}".as_bytes(),
    b"\xff\xfe",
    b"\xc3",
    b"\\u0000",
    b"\\ud800",
    b"99999999999999999999999999999999999999999",
    b"1e999",
    b"-1e-999",
    b"NaN",
    b"+Inf",
    b"-0",
    b"18446744073709551616",
    b"\"",
    b"\\",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\n",
    b"\r\n",
    b"\t",
    b"\0",
    b"null",
    b"&anchor ",
    b"*anchor",
    b"!!binary ",
    b"- ",
    b": ",
    b"  ",
    b"---\n",
    b"{l=\"",
    b"ctrl-",
    b"shift-",
    b"alt-",
    b"2026-02-30T25:61:61Z",
    b"+99:99",
];

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn load_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().filter_map(|p| std::fs::read(p).ok()).collect();
    assert!(!seeds.is_empty(), "empty seed corpus {}", dir.display());
    seeds
}

fn mutate(rng: &mut StdRng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.random_range(0..seeds.len())].clone();
    let rounds = rng.random_range(1..=4);
    for _ in 0..rounds {
        let len = data.len();
        match rng.random_range(0..10) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                data[i] = *[0u8, 0x1b, 0x7f, 0x80, 0xff, b'"', b'\\', b'\n', b'{', b'}']
                    .get(rng.random_range(0..10))
                    .unwrap_or(&0);
            }
            2 => {
                let word = DICTIONARY[rng.random_range(0..DICTIONARY.len())];
                let at = rng.random_range(0..=len);
                data.splice(at..at, word.iter().copied());
            }
            3 if len > 0 => {
                let at = rng.random_range(0..len);
                data.truncate(at);
            }
            4 => {
                // Splice: our head, another seed's tail.
                let other = &seeds[rng.random_range(0..seeds.len())];
                let a = rng.random_range(0..=len);
                let b = rng.random_range(0..=other.len());
                data.truncate(a);
                data.extend_from_slice(&other[b..]);
            }
            5 if len > 0 => {
                // Duplicate a chunk (deep nesting, repeated keys).
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 64));
                let chunk = data[a..b].to_vec();
                let times = rng.random_range(1..=32);
                for _ in 0..times {
                    data.splice(b..b, chunk.iter().copied());
                }
            }
            6 if len > 0 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..=len.min(a + 16));
                data.drain(a..b);
            }
            7 => {
                // Replace a digit run with a huge or odd number.
                let nums: [&[u8]; 6] = [
                    b"1e308",
                    b"-9223372036854775809",
                    b"340282366920938463463374607431768211456",
                    b"0.0000000000000000000000000001",
                    b"4294967296",
                    b"-1",
                ];
                if let Some(i) = data.iter().position(|c| c.is_ascii_digit()) {
                    let end = data[i..]
                        .iter()
                        .position(|c| !c.is_ascii_digit())
                        .map_or(data.len(), |p| i + p);
                    let n = nums[rng.random_range(0..nums.len())];
                    data.splice(i..end, n.iter().copied());
                }
            }
            8 => {
                let at = rng.random_range(0..=len);
                let b: u8 = rng.random();
                data.insert(at, b);
            }
            _ => {
                // Deep nesting.
                let open = *[b"[".as_slice(), b"{\"a\":", b"- "]
                    .get(rng.random_range(0..3))
                    .unwrap_or(&b"[".as_slice());
                let depth = rng.random_range(1..200);
                let mut v = open.repeat(depth);
                v.extend_from_slice(&data);
                data = v;
            }
        }
        data.truncate(1 << 16);
    }
    data
}

#[test]
fn every_parser_survives_seeded_mutations() {
    let iters: usize = std::env::var("LUMEN_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("LUMEN_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x1u64 << 40 | 8);
    // Keep the panic hook quiet: crashes are reported below with their inputs.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let crash_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-crashes");
    let mut total = 0usize;
    let mut crashes: Vec<String> = Vec::new();
    let mut report = Vec::new();
    for (name, body) in targets::TARGETS {
        let start = Instant::now();
        let seeds = load_corpus(name);
        let mut rng =
            StdRng::seed_from_u64(seed ^ name.len() as u64 ^ (name.as_bytes()[0] as u64) << 8);
        let mut run = |input: &[u8], n: usize| {
            if catch_unwind(AssertUnwindSafe(|| body(input))).is_err() {
                let _ = std::fs::create_dir_all(&crash_dir);
                let file = crash_dir.join(format!("{name}-{n}.bin"));
                let _ = std::fs::write(&file, input);
                crashes.push(format!("{name}: input #{n} → {}", file.display()));
            }
        };
        for (n, s) in seeds.iter().enumerate() {
            run(s, n);
        }
        // `scenario` runs a whole headless rehearsal per valid input (~0.8 ms in a
        // debug build): a quarter of the mutations keeps the default run short.
        let iters = if *name == "scenario" {
            iters / 4
        } else {
            iters
        };
        for n in 0..iters {
            let input = mutate(&mut rng, &seeds);
            run(&input, seeds.len() + n);
        }
        let execs = seeds.len() + iters;
        total += execs;
        report.push(format!(
            "{name:<12} {execs:>7} execs  {:>6.2} s",
            start.elapsed().as_secs_f64()
        ));
    }
    std::panic::set_hook(hook);
    for r in &report {
        println!("{r}");
    }
    println!(
        "fuzz_stable: {total} executions over {} targets, {} crashes",
        targets::TARGETS.len(),
        crashes.len()
    );
    assert!(crashes.is_empty(), "crashes:\n{}", crashes.join("\n"));
}
