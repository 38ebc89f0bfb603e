//! `lumen ledger tiles --out DIR`: the C2SP tlog-tiles of the ledger's Merkle tree.
//! Every tile is checked against the ledger's own lines (level 0) and against tree
//! heads the binary itself computes (`ledger prove` roots at sizes 256 and 65,536),
//! and the entry bundles decode back to the lines. 70,000 leaves is the spec's own
//! example: its paths are known.

mod common;

use std::path::Path;
use std::process::Output;

use lumen::domain::merkle::{Hash, leaf_hash, root_of};
use lumen::domain::tiles::decode_bundle;
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    common::bin::lumen()
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run lumen: {e}"))
}

fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&o.stdout)))
}

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    assert_eq!(bytes.len() % 32, 0, "a tile is whole 32-byte hashes");
    bytes
        .chunks(32)
        .map(|c| c.try_into().unwrap_or_else(|_| panic!("32 bytes")))
        .collect()
}

/// The root `ledger prove` reports for the first `size` leaves.
fn proved_root(hq: &str, size: u64) -> Hash {
    let v = json(&run(&[
        "--hq",
        hq,
        "--json",
        "ledger",
        "prove",
        "--index",
        "0",
        "--size",
        &size.to_string(),
    ]));
    let root = hex::decode(v["root"].as_str().unwrap_or_default()).unwrap_or_default();
    root.try_into().unwrap_or_else(|_| panic!("root {v}"))
}

#[test]
fn tiles_hold_the_trees_hashes_and_the_entries() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = tmp.path().join("hq-root");
    std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    // 70,000 leaves; an empty line (not a leaf) and a pending last line (not yet one).
    let mut file = Vec::new();
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for i in 0..70_000u32 {
        let l = format!(
            r#"{{"id":"T{i}","branch":"b{}","event":"deploy","timestamp":"2026-01-01T00:00:00Z"}}"#,
            i % 7
        );
        file.extend_from_slice(l.as_bytes());
        file.push(b'\n');
        if i == 300 {
            file.push(b'\n');
        }
        lines.push(l.into_bytes());
    }
    file.extend_from_slice(b"{\"id\":\"pending");
    std::fs::write(root.join("hq/ledger/ledger.jsonl"), &file).unwrap_or_else(|e| panic!("{e}"));
    let hq = root.display().to_string();
    let out = tmp.path().join("tiles");
    let outs = out.display().to_string();

    let v = json(&run(&[
        "--hq", &hq, "--json", "ledger", "tiles", "--out", &outs,
    ]));
    let leaves: Vec<Hash> = lines.iter().map(|l| leaf_hash(l)).collect();
    assert_eq!(v["size"], 70_000, "{v}");
    assert_eq!(v["root"], hex::encode(root_of(&leaves)), "{v}");
    // Level 0: 273 full + 1 partial; level 1: 1 full + 1 partial; level 2: 1 partial.
    assert_eq!(v["tiles"], 273 + 1 + 1 + 1 + 1, "{v}");
    assert_eq!(v["entry_bundles"], 274, "{v}");
    assert_eq!(v["checkpoint"], Value::Null, "{v}");

    // Level 0: the leaf hashes, 256 a tile, the last one partial.
    let first = hashes(&read(&out, "tile/0/000"));
    assert_eq!(first, leaves[..256]);
    let mid = hashes(&read(&out, "tile/0/272"));
    assert_eq!(mid, leaves[272 * 256..273 * 256]);
    let last = hashes(&read(&out, "tile/0/273.p/112"));
    assert_eq!(last, leaves[273 * 256..]);
    assert!(!out.join("tile/0/274").exists());

    // Level 1: each hash is the root of 256 leaves; the first is the tree head at
    // size 256 as `prove` computes it.
    let l1 = hashes(&read(&out, "tile/1/000"));
    assert_eq!(l1.len(), 256);
    assert_eq!(l1[0], proved_root(&hq, 256));
    for (j, h) in l1.iter().enumerate() {
        assert_eq!(
            *h,
            root_of(&leaves[j * 256..(j + 1) * 256]),
            "level 1 hash {j}"
        );
    }
    let l1p = hashes(&read(&out, "tile/1/001.p/17"));
    for (j, h) in l1p.iter().enumerate() {
        let at = 65_536 + j * 256;
        assert_eq!(
            *h,
            root_of(&leaves[at..at + 256]),
            "level 1 partial hash {j}"
        );
    }
    // Level 2: the root of the first 65,536 leaves, the tree head at that size.
    let l2 = hashes(&read(&out, "tile/2/000.p/1"));
    assert_eq!(l2, vec![proved_root(&hq, 65_536)]);

    // Entry bundles: the lines, in order.
    let b0 = read(&out, "tile/entries/000");
    let entries = decode_bundle(&b0).unwrap_or_else(|| panic!("bundle 0 malformed"));
    assert_eq!(entries.len(), 256);
    assert!(entries.iter().zip(&lines).all(|(e, l)| *e == l.as_slice()));
    let bl = read(&out, "tile/entries/273.p/112");
    let entries = decode_bundle(&bl).unwrap_or_else(|| panic!("last bundle malformed"));
    assert!(
        entries
            .iter()
            .zip(&lines[273 * 256..])
            .all(|(e, l)| *e == l.as_slice())
    );
    assert_eq!(entries.len(), 112);

    // Text output names the counts; a second run rewrites the same bytes.
    let o = run(&["--hq", &hq, "ledger", "tiles", "--out", &outs]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("size        70000"), "{text}");
    assert!(text.contains("tiles       277"), "{text}");
    assert_eq!(hashes(&read(&out, "tile/0/000")), leaves[..256]);
}

#[test]
fn the_checkpoint_note_is_copied_with_the_partial_tiles_of_its_size() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = tmp.path().join("acme");
    std::fs::create_dir_all(root.join("hq/ledger")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir_all(root.join("hq/registry")).unwrap_or_else(|e| panic!("{e}"));
    let hq = root.display().to_string();
    let key = tmp.path().join("alice.pem");
    let entry = json(&run(&[
        "keygen",
        "--out",
        key.to_str().unwrap_or_default(),
        "--id",
        "alice",
        "--role",
        "hq_admin",
    ]));
    let keys = serde_json::json!({ "signers": [entry] });
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(root.join("hq/ledger/ledger.jsonl"), b"").unwrap_or_else(|e| panic!("{e}"));
    let keyarg = key.display().to_string();
    let append = |event: &str| {
        json(&run(&[
            "--hq", &hq, "--key", &keyarg, "--json", "ledger", "append", "--branch", "b",
            "--event", event,
        ]))
    };
    for _ in 0..3 {
        append("deploy");
    }
    json(&run(&[
        "--hq",
        &hq,
        "--key",
        &keyarg,
        "ledger",
        "checkpoint",
    ]));
    append("deploy");
    append("rollback");

    let out = tmp.path().join("tiles");
    let v = json(&run(&[
        "--hq",
        &hq,
        "--json",
        "ledger",
        "tiles",
        "--out",
        out.to_str().unwrap_or_default(),
    ]));
    assert_eq!(v["size"], 5, "{v}");
    assert_eq!(v["checkpoint"], 3, "{v}");
    assert_eq!(
        read(&out, "checkpoint"),
        read(&root, "hq/ledger/checkpoint")
    );
    // The note's size (3) and the ledger's (5) each have their partial tile.
    let at3 = hashes(&read(&out, "tile/0/000.p/3"));
    let at5 = hashes(&read(&out, "tile/0/000.p/5"));
    assert_eq!(at5[..3], at3[..]);
    assert_eq!(root_of(&at3), proved_root(&hq, 3));
    assert_eq!(root_of(&at5), proved_root(&hq, 5));
    assert_eq!(
        decode_bundle(&read(&out, "tile/entries/000.p/3")).map(|e| e.len()),
        Some(3)
    );
}
