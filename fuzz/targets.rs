//! Fuzz target bodies: every parser of untrusted input (SPEC §8, issue 8). Each takes
//! arbitrary bytes and must not panic; some also check a property (sanitized text has
//! no control characters; a parsed key label parses back to the same key).
//!
//! Compiled two ways: as the `lumen-fuzz` library the cargo-fuzz binaries in
//! `fuzz_targets/` call (nightly), and as a module of `tests/fuzz_stable.rs` (stable),
//! which drives the same bodies with seeded mutations of `fuzz/corpus/<target>/`.

use std::path::Path;

/// A target body: arbitrary bytes in, panics on a bug.
pub type Target = fn(&[u8]);

/// Every target, by name (the names of `fuzz_targets/*.rs` and `corpus/*/`).
pub const TARGETS: &[(&str, Target)] = &[
    ("ledger_line", ledger_line),
    ("exposition", exposition),
    ("metrics_row", metrics_row),
    ("rules_line", rules_line),
    ("hq_files", hq_files),
    ("config_yaml", config_yaml),
    ("theme_yaml", theme_yaml),
    ("keymap_key", keymap_key),
    ("sanitize", sanitize),
    ("scenario", scenario),
    ("note", note),
];

/// One ledger line (SPEC §4.1): parse, sanitize the excerpt the console shows, and
/// check that the fast stats parser accepts exactly what `parse_line` accepts, with
/// the same fields, and that an accepted `cost` is finite and not negative.
pub fn ledger_line(data: &[u8]) {
    use lumen::domain::ledger::{parse_line, parse_stat_fields};
    check_clean(&lumen::domain::sanitize::sanitize_bytes(data));
    match (parse_line(data), parse_stat_fields(data)) {
        (Ok(e), Ok(f)) => {
            // Billed numbers of an accepted line are sane (a negative cost would
            // lower a bill).
            assert!(e.cost.is_none_or(|c| c.is_finite() && c >= 0.0));
            assert_eq!(e.id, f.id);
            assert_eq!(e.branch, f.branch);
            assert_eq!(e.event, f.event);
            assert_eq!(e.timestamp, f.timestamp);
            assert_eq!(e.tokens, f.tokens);
            assert_eq!(e.cost.map(f64::to_bits), f.cost.map(f64::to_bits));
            assert_eq!(e.tier.as_deref(), f.tier.as_deref());
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        (a, b) => panic!("parsers disagree: {:?} vs {:?}", a.is_ok(), b.is_ok()),
    }
}

/// A Prometheus text exposition body as Lumen reads it.
pub fn exposition(data: &[u8]) {
    let parsed = lumen::domain::exposition::parse(data);
    // Whatever is read must be countable: never more bad lines than lines.
    let lines = data.split(|b| *b == b'\n').count();
    assert!(
        parsed.unreadable <= lines,
        "{} unreadable of {lines} lines",
        parsed.unreadable
    );
    let _ = lumen::sources::exporter::check_readable("http://127.0.0.1/metrics", parsed);
}

/// One `logs/metrics.csv` row (and the header test).
pub fn metrics_row(data: &[u8]) {
    let _ = lumen::sources::metrics_tail::is_header(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = lumen::domain::rhythm::parse_metrics_row(text);
    }
}

/// One `controls/rules_history.jsonl` line.
pub fn rules_line(data: &[u8]) {
    let _ = lumen::domain::rhythm::parse_rule_line(data);
}

/// Every HQ registry file parser (JSON and YAML) on the same bytes.
pub fn hq_files(data: &[u8]) {
    use lumen::domain::hq;
    let p = Path::new("fuzz.json");
    let _ = hq::parse_registry(p, data);
    let _ = hq::parse_policy(p, data);
    let _ = hq::parse_decision_engine(p, data);
    let _ = hq::parse_keys(p, data);
    let _ = hq::parse_cost_policy(p, data);
    let _ = hq::parse_sync_plan(p, data);
    let _ = hq::parse_health_check(p, data);
    let _ = hq::parse_rollback_hook(p, data);
    let _ = hq::parse_channels(p, data);
    let _ = hq::parse_notify_rules(p, data);
    // The trust chain, custody records, conflict policy and artefact signatures.
    let _ = hq::custody::parse_chain_manifest(p, data);
    let _ = hq::custody::parse_crl(p, data);
    let _ = hq::custody::parse_audit(p, data);
    let _ = hq::custody::parse_ceremony_record(p, data);
    let _ = hq::custody::parse_cert_pem(p, data);
    let _ = hq::sync::parse_conflict_policy(p, data);
    if let Ok(sig) = hq::sigfile::parse_sig(p, data) {
        let digest = sig.alg.hasher().finish();
        let _ = hq::sigfile::verify(p, &sig, &digest, &Default::default(), Default::default());
    }
    let y = Path::new("fuzz.yaml");
    let _ = hq::parse_gateway(y, data);
    let _ = hq::parse_observer_field(y, data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hq::parse_duration(text);
        let _ = hq::parse_version(text);
        let _ = hq::valid_branch_id(text);
    }
    let _ = hq::line_col(data, data.len() / 2);
}

/// The config file (`config.yaml`).
pub fn config_yaml(data: &[u8]) {
    let _ = lumen::config::apply_file(
        lumen::config::Config::default(),
        Path::new("config.yaml"),
        data,
    );
}

/// A theme file.
pub fn theme_yaml(data: &[u8]) {
    let _ = lumen::theme::parse_theme(Path::new("theme.yaml"), data, lumen::theme::Theme::dark());
}

/// A key string from the config's `keymap`; a key that parses must round-trip
/// through its label (help and the config show labels).
pub fn keymap_key(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = lumen::keymap::parse_action(text);
    if let Ok(k) = lumen::keymap::parse_key(text) {
        let label = k.label();
        match lumen::keymap::parse_key(&label) {
            Ok(back) => assert_eq!(back, k, "{text:?} → {label:?} parses to another key"),
            Err(e) => panic!("{text:?} parsed but its label {label:?} does not: {e}"),
        }
    }
}

/// The terminal-safety filter: no control character or escape survives.
pub fn sanitize(data: &[u8]) {
    check_clean(&lumen::domain::sanitize::sanitize_bytes(data));
    if let Ok(text) = std::str::from_utf8(data) {
        check_clean(&lumen::domain::sanitize::sanitize(text));
    }
}

fn check_clean(s: &str) {
    for c in s.chars() {
        let cp = c as u32;
        assert!(
            !(cp < 0x20 || (0x7f..=0x9f).contains(&cp)),
            "control character U+{cp:04X} survived sanitize: {s:?}"
        );
    }
}

/// Ceremony scenario YAML: the scenario parser and validator, the answer-script
/// parser, and for inputs that validate a full headless rehearsal with every step
/// skipped, whose transcript must verify; the transcript verifier on arbitrary bytes.
pub fn scenario(data: &[u8]) {
    use lumen::domain::ceremony::crypto::KeySource;
    use lumen::domain::ceremony::machine::{Input, Machine, Participant, Phase};
    use lumen::domain::ceremony::{scenario, script, transcript};
    let _ = transcript::verify(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = script::parse("fuzz.yaml", text);
    let Ok(s) = scenario::parse("fuzz.yaml", text) else {
        return;
    };
    let mut keys = KeySource::seeded(1);
    let mut people = Vec::new();
    for (i, role) in s.roles.iter().enumerate() {
        let Ok(k) = keys.generate() else { return };
        people.push(Participant::new(format!("p{i}"), role.id.clone(), k));
    }
    let Ok(mut m) = Machine::new(s, people, 7, keys) else {
        return;
    };
    for _ in 0..10_000 {
        if m.phase() == Phase::Done {
            break;
        }
        let _ = m.view();
        if m.step(Input::Skip, 1_000).is_err() {
            break;
        }
    }
    let t = transcript::render(&m);
    assert!(transcript::verify(t.as_bytes()).ok);
}

/// A signed note / checkpoint, a tile path and a verifier key string (the text an
/// auditor hands to `ledger verify --checkpoint`): never panic, and what parses renders
/// back to the same bytes.
pub fn note(data: &[u8]) {
    use lumen::domain::{note, tiles};
    if let Ok(n) = note::parse_note(data) {
        assert_eq!(n.to_text().as_bytes(), data);
        let _ = note::verify_note(&n, &[]);
        if let Ok(cp) = note::Checkpoint::parse(&n.body) {
            assert_eq!(cp.body().as_deref().ok(), Some(n.body.as_str()));
        }
    }
    let _ = note::parse_checkpoint_note(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some((kind, tile)) = tiles::parse_path(text) {
        let back = match kind {
            tiles::TileKind::Hashes => Some(tile.path()),
            tiles::TileKind::Entries => tile.entries_path(),
        };
        assert_eq!(back.as_deref(), Some(text));
    }
    if let Ok(v) = note::NoteVerifier::from_verifier_key(text) {
        assert_eq!(v.verifier_key(), text);
    }
}
