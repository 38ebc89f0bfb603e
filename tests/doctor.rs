//! `lumen doctor` end to end: the real binary on temp HQ roots (docs/formats.md "Doctor").

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use base64::Engine;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Run `lumen ARGS` with HOME/XDG inside `home` and a config whose only exporter is a
/// closed loopback port (so nothing on this machine answers it).
fn lumen(home: &Path, args: &[&str]) -> Output {
    let cfg = home.join("doctor-config.yaml");
    std::fs::write(
        &cfg,
        "exporters:\n  - url: \"http://127.0.0.1:9/metrics\"\n    timeout: \"1s\"\n",
    )
    .expect("write config");
    common::bin::lumen()
        .args(args)
        .arg("--config")
        .arg(&cfg)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .output()
        .expect("run lumen")
}

fn init(home: &Path) -> std::path::PathBuf {
    let root = home.join("hq-root");
    let out = lumen(home, &["init", root.to_str().expect("utf8 path")]);
    assert!(out.status.success(), "init failed: {out:?}");
    root
}

fn doctor_json(home: &Path, root: &Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec!["doctor", "--json", "--hq", root.to_str().expect("utf8")];
    args.extend_from_slice(extra);
    let out = lumen(home, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("doctor --json printed invalid JSON ({e}): {text}"));
    (out.status.code().unwrap_or(-1), v)
}

fn errors(v: &Value) -> Vec<&Value> {
    v["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["level"] == "error").collect())
        .unwrap_or_default()
}

#[test]
fn fresh_init_root_exits_zero_and_json_has_the_documented_shape() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 0, "fresh root must pass: {v}");
    assert_eq!(v["ok"], true);
    let findings = v["findings"].as_array().expect("findings array");
    for f in findings {
        for k in ["level", "check", "message", "location", "fix"] {
            assert!(f.get(k).is_some(), "finding lacks {k}: {f}");
        }
        assert!(["ok", "warning", "error"].contains(&f["level"].as_str().unwrap_or("")));
    }
    // The unreachable exporter is a warning, not an error.
    assert!(
        findings
            .iter()
            .any(|f| f["check"] == "exporter" && f["level"] == "warning"),
        "{v}"
    );
    assert!(findings.iter().any(|f| f["check"] == "disk"), "{v}");
    // Human form exits 0 too and prints a summary line.
    let out = lumen(
        home.path(),
        &["doctor", "--hq", root.to_str().expect("utf8")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("0 error(s)"));
}

#[test]
fn schema_error_names_file_line_and_column_and_exits_one() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    std::fs::write(
        root.join("hq/sync/sync-plan.json"),
        b"{\n  \"strategy\": \"canary\",\n  \"order\": [1, \n",
    )
    .expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(v["ok"], false);
    let errs = errors(&v);
    let e = errs
        .iter()
        .find(|f| {
            f["location"]
                .as_str()
                .unwrap_or("")
                .contains("sync-plan.json:")
        })
        .unwrap_or_else(|| panic!("no sync-plan error in {v}"));
    let loc = e["location"].as_str().unwrap_or("");
    let tail: Vec<&str> = loc.rsplitn(3, ':').collect();
    assert!(
        tail.len() == 3 && tail[0].parse::<u32>().is_ok() && tail[1].parse::<u32>().is_ok(),
        "location is not file:line:col: {loc}"
    );
    assert!(!e["fix"].as_str().unwrap_or("").is_empty());
}

#[test]
fn missing_branches_json_is_an_error() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = home.path().join("empty-root");
    std::fs::create_dir_all(&root).expect("mkdir");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(
        errors(&v).iter().any(|f| f["location"]
            .as_str()
            .unwrap_or("")
            .ends_with("branches.json")),
        "{v}"
    );
}

fn write_key(path: &Path, sk: &SigningKey, mode: u32) {
    let pem = sk.to_pkcs8_pem(LineEnding::LF).expect("pem");
    std::fs::write(path, pem.as_bytes()).expect("write key");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn trust(root: &Path, id: &str, sk: &SigningKey) {
    let public = base64::engine::general_purpose::STANDARD.encode(sk.verifying_key().as_bytes());
    let keys = serde_json::json!({"signers":[{"id":id,"role":"hq_admin","publicKey":public}]});
    std::fs::write(root.join("hq/registry/keys.json"), keys.to_string()).expect("keys");
}

#[test]
fn key_checks_permissions_and_trust() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let sk = SigningKey::from_bytes(&[7u8; 32]);
    let key = home.path().join("op.pem");
    let key_s = key.to_str().expect("utf8");

    // Unknown public key: error.
    write_key(&key, &sk, 0o600);
    let (code, v) = doctor_json(home.path(), &root, &["--key", key_s]);
    assert_eq!(code, 1, "{v}");
    assert!(
        errors(&v).iter().any(|f| f["check"] == "key"
            && f["message"]
                .as_str()
                .unwrap_or("")
                .contains("not in keys.json")),
        "{v}"
    );

    // Trusted and 0600: passes.
    trust(&root, "alice", &sk);
    let (code, v) = doctor_json(home.path(), &root, &["--key", key_s]);
    assert_eq!(code, 0, "{v}");

    // Group-readable: error with a chmod fix.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let (code, v) = doctor_json(home.path(), &root, &["--key", key_s]);
    assert_eq!(code, 1, "{v}");
    assert!(
        errors(&v)
            .iter()
            .any(|f| f["fix"].as_str().unwrap_or("").starts_with("chmod 600")),
        "{v}"
    );

    // Not a key at all.
    std::fs::write(&key, b"hello").expect("write");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let (code, _) = doctor_json(home.path(), &root, &["--key", key_s]);
    assert_eq!(code, 1);
}

fn signed_line(sk: &SigningKey, signer: &str, prev: &str, id: &str) -> String {
    use ed25519_dalek::Signer;
    let body = format!(
        r#"{{"id":"{id}","branch":"papafly","event":"rollback","timestamp":"2026-11-22T01:00:00Z","prev":"{prev}","signer":"{signer}"}}"#
    );
    let sig = sk.sign(body.as_bytes());
    let b64 = base64::engine::general_purpose::STANDARD.encode(sig.to_bytes());
    format!(r#"{},"sig":"{b64}"}}"#, &body[..body.len() - 1])
}

#[test]
fn ledger_rejects_warn_but_broken_chain_and_bad_signature_fail() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let sk = SigningKey::from_bytes(&[9u8; 32]);
    trust(&root, "alice", &sk);
    let ledger = root.join("hq/ledger/ledger.jsonl");
    let l1 =
        r#"{"id":"TXN-1","branch":"papafly","event":"deploy","timestamp":"2026-11-22T00:00:00Z"}"#;
    let prev1 = hex::encode(Sha256::digest(l1.as_bytes()));
    let l2 = signed_line(&sk, "alice", &prev1, "TXN-2");
    // A reject line and a pending tail are warnings only.
    std::fs::write(&ledger, format!("{l1}\n{l2}\nnot json\n{{\"id\":\"part")).expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 0, "{v}");
    let summary = v["findings"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["check"] == "ledger" && f["message"].as_str().unwrap_or("").contains("entries")
            })
        })
        .cloned()
        .unwrap_or_default();
    let msg = summary["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("2 entries") && msg.contains("1 rejects") && msg.contains("pending: true"),
        "{msg}"
    );
    assert!(msg.contains("signatures 1 ok / 0 bad"), "{msg}");

    // Broken chain: a `prev` that is not the previous line's hash.
    let l2_bad_prev = signed_line(&sk, "alice", &"0".repeat(64), "TXN-2");
    std::fs::write(&ledger, format!("{l1}\n{l2_bad_prev}\n")).expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(
        errors(&v).iter().any(|f| f["message"]
            .as_str()
            .unwrap_or("")
            .contains("does not match the previous line")
            && f["location"]
                .as_str()
                .unwrap_or("")
                .ends_with("ledger.jsonl:2")),
        "{v}"
    );

    // Altered signed line: bad signature.
    let tampered = l2.replace("papafly", "koosy");
    std::fs::write(&ledger, format!("{l1}\n{tampered}\n")).expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 1, "{v}");
    assert!(
        errors(&v).iter().any(|f| f["message"]
            .as_str()
            .unwrap_or("")
            .contains("signature does not verify")),
        "{v}"
    );
}

#[test]
fn hostile_file_content_is_sanitized_in_the_report() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let ledger = root.join("hq/ledger/ledger.jsonl");
    std::fs::write(&ledger, "\u{1b}]52;c;aGk=\u{7}\u{1b}[2J\n").expect("write");
    let out = lumen(
        home.path(),
        &["doctor", "--hq", root.to_str().expect("utf8")],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !out.stdout.contains(&0x1b),
        "escape byte reached the report: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn bad_rows_missing_optional_files_and_cross_file_findings_are_warnings() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    std::fs::write(
        root.join("controls/rules_history.jsonl"),
        "{\"ts\":\"2025-10-23T13:10:00+09:00\",\"actor\":\"Lubit\",\"rule\":\"creative_min\",\"old\":0.22,\"new\":0.24}\nnot json\n",
    )
    .expect("rules");
    std::fs::remove_file(root.join("hq/billing/cost-policy.json")).expect("rm");
    std::fs::write(
        root.join("hq/sync/sync-plan.json"),
        r#"{"strategy":"canary","tiers":["canary"],"order":["ghost-branch","*"],"onFailure":"halt","maxRetries":3}"#,
    )
    .expect("sync");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 0, "{v}");
    let findings = v["findings"].as_array().expect("findings");
    let warn = |check: &str, loc_end: &str| {
        findings.iter().any(|f| {
            f["level"] == "warning"
                && f["check"] == check
                && f["location"].as_str().unwrap_or("").ends_with(loc_end)
        })
    };
    assert!(warn("rows", "rules_history.jsonl:2"), "{v}");
    assert!(warn("layout", "cost-policy.json"), "{v}");
    assert!(
        findings.iter().any(|f| f["check"] == "cross-file"
            && f["message"].as_str().unwrap_or("").contains("ghost-branch")
            && f["fix"].as_str().unwrap_or("").contains("branches.json")),
        "{v}"
    );
}

#[test]
fn an_over_long_ledger_line_is_one_reject_and_its_neighbours_survive() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let ok =
        r#"{"id":"TXN-1","branch":"papafly","event":"deploy","timestamp":"2026-11-22T00:00:00Z"}"#;
    let long = format!(
        r#"{{"id":"TXN-2","branch":"papafly","event":"deploy","timestamp":"2026-11-22T00:00:00Z","pad":"{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    std::fs::write(
        root.join("hq/ledger/ledger.jsonl"),
        format!("{ok}\n{long}\n\n{ok}\n"),
    )
    .expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 0, "{v}");
    let findings = v["findings"].as_array().expect("findings");
    let summary = findings
        .iter()
        .filter_map(|f| f["message"].as_str())
        .find(|m| m.contains("entries"))
        .unwrap_or("");
    assert!(summary.contains(" 2 entries, 1 rejects"), "{summary}");
    assert!(
        findings.iter().any(|f| f["location"]
            .as_str()
            .unwrap_or("")
            .ends_with("ledger.jsonl:2")
            && f["message"]
                .as_str()
                .unwrap_or("")
                .contains("over the 1 MiB limit")),
        "{v}"
    );
}

/// A user theme whose text misses WCAG AA against its background is a warning that
/// names the theme file and the colour key; a legible one is fine; a broken one is a
/// warning with its position; `bg: reset` is a warning (its contrast is unknowable).
#[test]
fn user_themes_below_aa_contrast_are_warnings_naming_the_file_and_key() {
    let home = tempfile::tempdir().expect("tempdir");
    let root = init(home.path());
    let themes = home.path().join("config/lumen/themes");
    std::fs::create_dir_all(&themes).expect("mkdir");
    // #777777 on white is 4.48:1 (just below AA); #595959 on white is 7.0:1.
    std::fs::write(
        themes.join("greyish.yaml"),
        "bg: \"#ffffff\"\nfg: \"#595959\"\ndim: \"#777777\"\n",
    )
    .expect("write");
    std::fs::write(themes.join("fine.yaml"), "bg: \"#000000\"\n").expect("write");
    std::fs::write(themes.join("broken.yaml"), "bg: \"#00000\"\n").expect("write");
    std::fs::write(themes.join("terminal.yaml"), "bg: reset\n").expect("write");
    let (code, v) = doctor_json(home.path(), &root, &[]);
    assert_eq!(code, 0, "theme findings are warnings, not errors: {v}");
    let themed: Vec<&Value> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == "theme")
        .collect();
    let of = |file: &str| -> Vec<&Value> {
        themed
            .iter()
            .copied()
            .filter(|f| f["location"].as_str().unwrap_or("").contains(file))
            .collect()
    };
    let grey = of("greyish.yaml");
    let dim = grey
        .iter()
        .find(|f| {
            f["message"]
                .as_str()
                .unwrap_or("")
                .contains("`dim` #777777")
        })
        .unwrap_or_else(|| panic!("no finding for dim: {grey:?}"));
    assert_eq!(dim["level"], "warning");
    let msg = dim["message"].as_str().unwrap_or("");
    assert!(
        msg.contains("theme `greyish`") && msg.contains("4.48:1"),
        "{msg}"
    );
    assert!(
        !grey
            .iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains("`fg` ")),
        "fg #595959 on white passes: {grey:?}"
    );
    // Every other colour came from the dark theme (light text) and fails on white.
    assert!(
        grey.iter()
            .any(|f| f["message"].as_str().unwrap_or("").contains("`status.up`")),
        "{grey:?}"
    );
    // The dark theme's colours on black: all fine.
    let fine = of("fine.yaml");
    assert!(
        fine.len() == 1 && fine[0]["level"] == "ok",
        "fine.yaml: {fine:?}"
    );
    let broken = of("broken.yaml");
    assert!(
        broken.len() == 1
            && broken[0]["level"] == "warning"
            && broken[0]["location"]
                .as_str()
                .unwrap_or("")
                .ends_with("broken.yaml:1:5"),
        "broken.yaml: {broken:?}"
    );
    let terminal = of("terminal.yaml");
    assert!(
        terminal.iter().any(|f| f["level"] == "warning"
            && f["message"].as_str().unwrap_or("").contains("`bg: reset`")),
        "terminal.yaml: {terminal:?}"
    );
}
