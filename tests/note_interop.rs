//! Lumen's checkpoint notes, consistency proofs and tiles, checked by an independent
//! implementation: `tests/py/c2sp_check.py`, written from the C2SP signed-note,
//! tlog-checkpoint and tlog-tiles texts and RFC 9162 alone, using Python's
//! `cryptography` for Ed25519. Honest outputs must pass it and tampered ones must fail
//! it (so a checker that accepts everything would fail this test).
//!
//! Skips with a message when python3 or `cryptography` is missing; fails when `CI` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::SigningKey;
use lumen::domain::merkle::{ConsistencyBuilder, Hash, leaf_hash};
use lumen::domain::note::{Checkpoint, NoteVerifier, sign_checkpoint, sign_note};
use lumen::domain::tiles::{BundleBuilder, Tile, TileBuilder};
use serde_json::{Value, json};

fn python_ready() -> bool {
    let have = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with `cryptography` is required in CI"
        );
        eprintln!("skipped: python3 with `cryptography` not available");
    }
    have
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/c2sp_check.py")
}

fn run_checker(dir: &Path, input: &Value) -> Value {
    let file = dir.join("input.json");
    std::fs::write(&file, input.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new("python3")
        .arg(script())
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(
        out.status.success(),
        "checker failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("checker output: {e}"))
}

fn vkey(name: &str, key: &SigningKey) -> String {
    NoteVerifier::new(name, key.verifying_key())
        .unwrap_or_else(|e| panic!("{e}"))
        .verifier_key()
}

#[test]
fn checkpoint_notes_verify_with_an_independent_implementation() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let ops = SigningKey::from_bytes(&[11u8; 32]);
    let other = SigningKey::from_bytes(&[12u8; 32]);
    let cp = |origin: &str, size: u64, root: Hash, ext: &[&str]| Checkpoint {
        origin: origin.into(),
        size,
        root,
        extensions: ext.iter().map(|s| (*s).to_string()).collect(),
    };
    let honest = [
        cp(
            "lumen.local/hq",
            0,
            lumen::domain::merkle::empty_root(),
            &[],
        ),
        cp("lumen.local/hq", 1, leaf_hash(b"x"), &[]),
        cp(
            "lumen.local/ünïcode hq",
            12_345_678_901_234,
            [0xab; 32],
            &[],
        ),
        cp("example.com/log", u64::MAX, [0; 32], &["ext a", "— ext b"]),
    ];
    let mut notes = Vec::new();
    for c in &honest {
        let text = sign_checkpoint(c, "hq-ops", &ops).unwrap_or_else(|e| panic!("{e}"));
        notes.push(json!({"text": text, "vkey": vkey("hq-ops", &ops)}));
    }
    // Two signers; the checker knows only the second.
    let body = honest[1].body().unwrap_or_else(|e| panic!("{e}"));
    let two = sign_note(&body, &[("witness.example/w1", &other), ("hq-ops", &ops)])
        .unwrap_or_else(|e| panic!("{e}"));
    notes.push(json!({"text": two, "vkey": vkey("hq-ops", &ops)}));
    let honest_count = notes.len();

    // Tampered: each must be refused.
    let good = sign_checkpoint(&honest[1], "hq-ops", &ops).unwrap_or_else(|e| panic!("{e}"));
    let sig_start = good.find('\u{2014}').unwrap_or(0);
    let mut flipped = good.clone().into_bytes();
    let at = sig_start + 30;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    let tampered = [
        good.replacen("\n1\n", "\n2\n", 1),
        String::from_utf8(flipped).unwrap_or_default(),
        good.replacen('\u{2014}', "-", 1),
        sign_checkpoint(&honest[1], "hq-ops", &other).unwrap_or_default(),
        sign_checkpoint(&honest[1], "hq-opz", &ops).unwrap_or_default(),
    ];
    for t in &tampered {
        notes.push(json!({"text": t, "vkey": vkey("hq-ops", &ops)}));
    }

    let result = run_checker(dir.path(), &json!({"notes": notes}));
    let verdicts = result["notes"].as_array().cloned().unwrap_or_default();
    assert_eq!(verdicts.len(), notes.len());
    for (i, c) in honest.iter().enumerate() {
        let v = &verdicts[i];
        assert_eq!(v["ok"], true, "honest note {i}: {v}");
        assert_eq!(v["detail"]["origin"], c.origin.as_str());
        assert_eq!(v["detail"]["size"].as_u64(), Some(c.size), "{v}");
        assert_eq!(v["detail"]["root"], hex::encode(c.root));
        assert_eq!(v["detail"]["extensions"], json!(c.extensions));
    }
    assert_eq!(verdicts[honest_count - 1]["ok"], true, "two signers");
    for (i, v) in verdicts[honest_count..].iter().enumerate() {
        assert_eq!(v["ok"], false, "tampered note {i} passed: {v}");
    }
}

#[test]
fn consistency_proofs_verify_with_an_independent_implementation() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let n_max = 70u64;
    let data: Vec<Vec<u8>> = (0..n_max)
        .map(|i| format!("{{\"id\":\"TXN-{i:04}\"}}").into_bytes())
        .collect();
    let leaves: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let mut proofs = Vec::new();
    let mut expect = Vec::new();
    let mut ours = Vec::new();
    for n in 0..=n_max {
        for m in 0..=n {
            let mut b = ConsistencyBuilder::new(m, n);
            for l in &leaves {
                b.push_leaf_hash(*l);
            }
            let p = b.finish().unwrap_or_else(|| panic!("{m}->{n}"));
            proofs.push(p.to_json());
            ours.push(p.verify());
            expect.push((true, true));
            // One tampered twin for a spread of pairs: a flipped bit in a path node, or
            // (for empty paths) in the new root.
            if (m + n) % 5 == 0 {
                let mut bad = p.clone();
                if let Some(node) = bad
                    .path
                    .get_mut(((m * 7 + n) as usize) % p.path.len().max(1))
                {
                    node[3] ^= 0x10;
                } else if m == 0 {
                    // From the empty tree any new root is consistent; the old root is
                    // what can be wrong.
                    bad.old_root[0] ^= 1;
                } else {
                    bad.root[0] ^= 1;
                }
                proofs.push(bad.to_json());
                ours.push(bad.verify());
                expect.push((false, false));
            }
        }
    }
    let input = json!({"consistency": {
        "leaves": data.iter().map(hex::encode).collect::<Vec<_>>(),
        "proofs": proofs,
    }});
    let result = run_checker(dir.path(), &input);
    let verdicts = result["consistency"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(verdicts.len(), expect.len());
    let mut checked = 0;
    for (i, (v, (ok, honest))) in verdicts.iter().zip(&expect).enumerate() {
        assert_eq!(v["verifies"], *ok, "proof {i}: {}", proofs[i]);
        assert_eq!(v["matches_definition"], *honest, "proof {i}: {}", proofs[i]);
        // Lumen's own verifier reaches the same verdict.
        assert_eq!(
            ours[i], *ok,
            "lumen verify_consistency on proof {i}: {}",
            proofs[i]
        );
        checked += 1;
    }
    assert!(checked > 71 * 72 / 2, "{checked}");
}

#[test]
fn tiles_match_an_independent_implementation() {
    if !python_ready() {
        return;
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("tiles");
    let size = 70_000u64;
    let mut tb = TileBuilder::new();
    let mut bb = BundleBuilder::new();
    let mut files = Vec::new();
    for i in 0..size {
        let entry = format!("leaf {i}").into_bytes();
        files.extend(
            tb.push_leaf_hash(leaf_hash(&entry))
                .into_iter()
                .map(|(t, b)| (t.path(), b)),
        );
        if let Some((t, b)) = bb.push_entry(&entry).unwrap_or_else(|e| panic!("{e}")) {
            files.push((t.entries_path().unwrap_or_default(), b));
        }
    }
    files.extend(tb.partial_tiles().into_iter().map(|(t, b)| (t.path(), b)));
    if let Some((t, b)) = bb.partial() {
        files.push((t.entries_path().unwrap_or_default(), b));
    }
    for (path, bytes) in &files {
        let p = out.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&p, bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    // Paths of indexes this size does not reach (several 3-digit groups).
    let paths: Vec<Value> = [0u64, 5, 999, 1000, 1_234_067, u64::MAX]
        .iter()
        .flat_map(|&index| {
            [(0u8, 256u16), (3, 1), (63, 255)].map(|(level, width)| {
                let t = Tile {
                    level,
                    index,
                    width,
                };
                json!([level, index, width, t.path(), t.entries_path()])
            })
        })
        .collect();
    let spec =
        json!({"tiles": {"dir": out, "size": size, "leaf_format": "leaf {i}", "paths": paths}});
    let result = run_checker(dir.path(), &spec);
    assert_eq!(result["tiles"]["errors"], json!([]), "{result}");
    assert_eq!(result["tiles"]["path_errors"], json!([]), "{result}");
    // 274 level-0 tiles and as many bundles, 2 level-1 tiles, 1 level-2 tile.
    assert_eq!(result["tiles"]["files"], 274 * 2 + 2 + 1);

    // The checker notices a wrong byte and a missing file.
    let victim = out.join("tile/1/000");
    let mut bytes = std::fs::read(&victim).unwrap_or_else(|e| panic!("{e}"));
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).unwrap_or_else(|e| panic!("{e}"));
    std::fs::remove_file(out.join("tile/entries/273.p/112")).unwrap_or_else(|e| panic!("{e}"));
    let result = run_checker(dir.path(), &spec);
    assert_eq!(
        result["tiles"]["errors"],
        json!(["wrong content tile/1/000", "missing tile/entries/273.p/112"])
    );
}
