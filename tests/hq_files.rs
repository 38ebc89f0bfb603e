//! HQ registry files (docs/configuration.md): a valid fixture root loads completely, and every
//! invalid fixture fails with the exact `file:line:col: message`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use lumen::domain::hq::{self, FileError, ProtocolState};
use lumen::domain::policy::Operation;
use lumen::sources::registry::load_snapshot;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hq")
}

type Parser = fn(&Path, &[u8]) -> Result<(), FileError>;

fn parser_for(name: &str) -> Parser {
    match name.split('_').next().unwrap_or_default() {
        "branches" => |p, b| hq::parse_registry(p, b).map(|_| ()),
        "policy" => |p, b| hq::parse_policy(p, b).map(|_| ()),
        "decision" => |p, b| hq::parse_decision_engine(p, b).map(|_| ()),
        "keys" => |p, b| hq::parse_keys(p, b).map(|_| ()),
        "cost" => |p, b| hq::parse_cost_policy(p, b).map(|_| ()),
        "sync" => |p, b| hq::parse_sync_plan(p, b).map(|_| ()),
        "health" => |p, b| hq::parse_health_check(p, b).map(|_| ()),
        "rollback" => |p, b| hq::parse_rollback_hook(p, b).map(|_| ()),
        "channels" => |p, b| hq::parse_channels(p, b).map(|_| ()),
        "rules" => |p, b| hq::parse_notify_rules(p, b).map(|_| ()),
        "gateway" => |p, b| hq::parse_gateway(p, b).map(|_| ()),
        "observer" => |p, b| hq::parse_observer_field(p, b).map(|_| ()),
        other => panic!("no parser for fixture prefix {other}"),
    }
}

/// The error for fixture `name`, with the path shown as the bare file name.
fn bad(name: &str) -> String {
    let path = fixtures().join("bad").join(name);
    let bytes = std::fs::read(&path).unwrap();
    match parser_for(name)(Path::new(name), &bytes) {
        Ok(()) => panic!("{name} parsed but must fail"),
        Err(e) => e.to_string(),
    }
}

/// (fixture, exact error). Every file in `fixtures/hq/bad` must be listed.
const CASES: &[(&str, &str)] = &[
    (
        "branches_bad_id.json",
        "branches_bad_id.json:6:12: branch id `Koosy_2` is invalid; expected only a-z, 0-9 and `-`",
    ),
    (
        "branches_bad_tier.json",
        "branches_bad_tier.json:4:86: unknown variant `gold`, expected one of `canary`, `standard`, `incubation`, `premium`",
    ),
    (
        "branches_bad_version.json",
        "branches_bad_version.json:2:16: hqVersion `two` is not a version; expected digits and dots like \"2.1\"",
    ),
    (
        "branches_bad_visibility.json",
        "branches_bad_visibility.json:4:70: unknown variant `secret`, expected one of `public`, `private`, `incubation`",
    ),
    (
        "branches_duplicate_id.json",
        "branches_duplicate_id.json:6:12: duplicate branch id `koosy` (first defined at line 4); expected unique ids",
    ),
    (
        "branches_empty_domain.json",
        "branches_empty_domain.json:4:44: `domain` of branch `koosy` is empty; expected a non-empty string",
    ),
    (
        "branches_missing_repo.json",
        "branches_missing_repo.json:4:58: missing field `repo`",
    ),
    (
        "branches_not_array.json",
        "branches_not_array.json:3:14: invalid type: map, expected a sequence",
    ),
    (
        "branches_syntax.json",
        "branches_syntax.json:5:3: trailing comma",
    ),
    (
        "channels_not_url.json",
        "channels_not_url.json:2:15: slack.critical: webhook URL must start with https:// (value not shown: it is a secret)",
    ),
    (
        "cost_negative_limit.json",
        "cost_negative_limit.json:1:47: invalid value: integer `-5`, expected u64",
    ),
    (
        "cost_negative_rate.json",
        "cost_negative_rate.json:2:54: tiers.standard.rate is -0.1; expected a rate >= 0",
    ),
    (
        "cost_notify_below_throttle.json",
        "cost_notify_below_throttle.json:3:14: escalation.notify (0.9) is below throttle (1); expected throttle <= notify <= suspend",
    ),
    (
        "cost_suspend_below_notify.json",
        "cost_suspend_below_notify.json:3:15: escalation.suspend (1.1) is below notify (1.2); expected throttle <= notify <= suspend",
    ),
    (
        "cost_zero_limit.json",
        "cost_zero_limit.json:2:37: tiers.standard.monthlyTokenLimit is 0; expected a limit > 0",
    ),
    (
        "decision_empty_escalation.json",
        "decision_empty_escalation.json:2:35: escalation.deployFailure is empty; expected a list of steps",
    ),
    (
        "decision_kill_switch_type.json",
        "decision_kill_switch_type.json:2:17: killSwitch must be true or false",
    ),
    (
        "decision_maintenance_value.json",
        "decision_maintenance_value.json:4:14: maintenanceMode.koosy is `\"on\"`; expected true or false",
    ),
    (
        "gateway_bad_status.yaml",
        "gateway_bad_status.yaml:2:11: gateway.status `sleeping` is unknown; expected one of initializing, binding, resonating, locked",
    ),
    (
        "gateway_band_out_of_range.yaml",
        "gateway_band_out_of_range.yaml:3:24: resonance.thresholds.creative_band_min is 1.5; expected a fraction in [0, 1]",
    ),
    (
        "gateway_rate_type.yaml",
        "gateway_rate_type.yaml:2:17: not a number; expected a number such as 5 or 0.25",
    ),
    (
        "gateway_status_type.yaml",
        "gateway_status_type.yaml:2:11: expected string scalar",
    ),
    (
        "gateway_syntax.yaml",
        "gateway_syntax.yaml:3:1: invalid indentation in multiline quoted scalar",
    ),
    (
        "health_bad_endpoint.json",
        "health_bad_endpoint.json:3:3: endpoint `koosy.example/health` must start with http:// or https://",
    ),
    (
        "health_bad_interval.json",
        "health_bad_interval.json:2:15: interval: `5x`: unknown duration unit `x`; expected ms, s, m, h, d or w",
    ),
    (
        "health_zero_timeout.json",
        "health_zero_timeout.json:1:13: timeout is zero; expected a duration > 0",
    ),
    (
        "keys_bad_key.json",
        "keys_bad_key.json:2:52: publicKey of signer `alice` is not a base64 32-byte Ed25519 public key",
    ),
    (
        "keys_duplicate.json",
        "keys_duplicate.json:3:10: duplicate signer id `alice` with the same publicKey (line 2); a rotated key needs a new publicKey",
    ),
    (
        "observer_coherence_range.yaml",
        "observer_coherence_range.yaml:2:17: thresholds.coherence_ok is -0.1; expected a fraction in [0, 1]",
    ),
    (
        "observer_phase_order.yaml",
        "observer_phase_order.yaml:3:15: phase_warn (1.5) is above phase_crit (1.2); expected phase_warn <= phase_crit",
    ),
    (
        "observer_unknown_channel.yaml",
        "observer_unknown_channel.yaml:3:3: unknown channel `gravity`; expected symmetry, continuity, entropy or safety",
    ),
    (
        "policy_bad_access.json",
        "policy_bad_access.json:4:42: unknown variant `RWX`, expected one of `-`, `R`, `W`, `R/W`, `RW`",
    ),
    (
        "policy_bad_enforcement.json",
        "policy_bad_enforcement.json:3:58: unknown variant `warn`, expected one of `reject`, `block`, `abort`",
    ),
    (
        "policy_duplicate_rule.json",
        "policy_duplicate_rule.json:4:12: duplicate rule id `r1`; expected unique ids",
    ),
    (
        "policy_unknown_resource.json",
        "policy_unknown_resource.json:3:38: unknown field `billing`, expected one of `registry`, `ledger`, `sync`, `policy`",
    ),
    (
        "rollback_empty_argv.json",
        "rollback_empty_argv.json:1:10: argv is empty; expected the program and its arguments, e.g. [\"hq-sync\", \"--rollback\", \"--target\", \"{txn}\"]",
    ),
    (
        "rollback_empty_program.json",
        "rollback_empty_program.json:1:11: argv[0] is empty; expected the program to run",
    ),
    (
        "rollback_missing_argv.json",
        "rollback_missing_argv.json:1:18: missing field `argv`",
    ),
    (
        "rules_bad_target.json",
        "rules_bad_target.json:3:3: target `kakao` of `deploy_failed` is not `provider:channel`; expected e.g. `slack:critical`",
    ),
    (
        "rules_bad_value.json",
        "rules_bad_value.json:1:19: `deploy_failed`: expected a list of targets like [\"slack:critical\"], or {\"channels\": [\"slack:critical\"], \"sendResolved\": true}",
    ),
    (
        "rules_duplicate_name.json",
        "rules_duplicate_name.json:3:20: `deploy_failed` is listed twice; expected each name once",
    ),
    (
        "rules_not_object.json",
        "rules_not_object.json:1:1: invalid type: sequence, expected a JSON object",
    ),
    (
        "rules_object_bad_send_resolved.json",
        "rules_object_bad_send_resolved.json:2:63: `ledger_error` sendResolved: expected true or false",
    ),
    (
        "rules_object_bad_target.json",
        "rules_object_bad_target.json:3:31: target `ops` of `ledger_error` is not `provider:channel`; expected e.g. `slack:critical`",
    ),
    (
        "rules_object_channels_not_list.json",
        "rules_object_channels_not_list.json:2:32: `ledger_error` channels: expected a list of targets like [\"slack:critical\"]",
    ),
    (
        "rules_object_duplicate_field.json",
        "rules_object_duplicate_field.json:1:58: duplicate field `channels`",
    ),
    (
        "rules_object_no_channels.json",
        "rules_object_no_channels.json:2:19: `ledger_error` has no `channels`; expected a list of targets like [\"slack:critical\"], or {\"channels\": [\"slack:critical\"], \"sendResolved\": true}",
    ),
    (
        "rules_object_unknown_field.json",
        "rules_object_unknown_field.json:2:62: unknown field `sendResolve` in `ledger_error`; expected `channels` or `sendResolved`",
    ),
    (
        "rules_syntax.json",
        "rules_syntax.json:2:1: EOF while parsing an object",
    ),
    (
        "rules_target_not_string.json",
        "rules_target_not_string.json:1:33: a target of `deploy_failed` is not a string; expected e.g. \"slack:critical\"",
    ),
    (
        "sync_bad_on_failure.json",
        "sync_bad_on_failure.json:2:16: unknown onFailure `panic`; expected one of `halt`, `continue`, `rollback`",
    ),
    (
        "sync_bad_order.json",
        "sync_bad_order.json:1:23: order entry `Koosy!` is not a branch id or `*`",
    ),
    (
        "sync_unknown_tier.json",
        "sync_unknown_tier.json:2:22: unknown tier `gold`; expected one of `canary`, `standard`, `incubation`, `premium`",
    ),
];

#[test]
fn every_invalid_fixture_fails_with_exact_position_and_message() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("bad"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every bad fixture needs an expected error");
    let mut failures = Vec::new();
    for (name, want) in CASES {
        let got = bad(name);
        if got != *want {
            failures.push(format!("{name}\n  want: {want}\n  got:  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn secrets_never_appear_in_channel_errors() {
    let e = bad("channels_not_url.json");
    assert!(!e.contains("SECRET"), "{e}");
}

#[test]
fn valid_root_loads_every_file() {
    let root = fixtures().join("root");
    let s = load_snapshot(&root).unwrap();
    assert!(s.errors.is_empty(), "{:?}", s.errors);
    let reg = s.registry.as_ref().unwrap();
    assert_eq!(reg.hq_version, "2.1");
    let ids: Vec<&str> = reg.branches.iter().map(|b| b.id.as_str()).collect();
    assert_eq!(ids, ["papafly", "koosy", "seed-01"]);
    assert_eq!(
        reg.migration.as_ref().unwrap().deprecate_after_days,
        Some(7)
    );

    let d = s.decision.as_ref().unwrap();
    assert!(!d.kill_switch);
    assert_eq!(d.maintenance.get("koosy"), Some(&true));
    assert!(d.raw.contains_key("vendorExtension"), "unknown fields kept");

    let rbac = s.rbac.as_ref().unwrap();
    assert!(rbac.allowed("operator", Operation::Rollback).is_ok());
    assert!(rbac.allowed("operator", Operation::KillSwitch).is_err());
    assert!(
        rbac.allowed("worker", Operation::Rollback).is_err(),
        "file roles replace defaults"
    );
    assert!(s.policy.is_some());

    assert_eq!(s.keys.as_ref().unwrap().signers[0].id, "alice");
    let cp = s.cost_policy.as_ref().unwrap();
    assert_eq!(cp.tiers["standard"].monthly_token_limit, 1_000_000);
    assert_eq!(cp.escalation.suspend, 1.5);
    assert_eq!(
        s.sync_plan.as_ref().unwrap().order,
        ["papafly", "koosy", "*"]
    );
    let h = s.health_check.as_ref().unwrap();
    assert_eq!(h.interval_duration(), std::time::Duration::from_secs(300));
    assert_eq!(h.timeout_duration(), std::time::Duration::from_secs(2));
    let rb = s.rollback_hook.as_ref().unwrap();
    assert_eq!(rb.argv[0], "hq-sync");
    assert_eq!(rb.timeout_duration(), std::time::Duration::from_secs(60));
    let ch = s.channels.as_ref().unwrap();
    assert!(ch.lookup("slack:critical").is_some());
    assert!(
        !format!("{ch:?}").contains("SECRET"),
        "Debug must redact webhook URLs"
    );
    assert_eq!(
        s.notify_rules.as_ref().unwrap().targets("deploy_failed"),
        ["slack:critical", "kakao:hq"]
    );
    let rules = s.notify_rules.as_ref().unwrap();
    assert_eq!(rules.targets("ledger_error"), ["slack:ops"], "object form");
    assert!(rules.send_resolved.contains("ledger_error"));
    assert!(!rules.send_resolved.contains("deploy_failed"));
    let g = s.gateway.as_ref().unwrap();
    assert_eq!(g.status.as_deref(), Some("resonating"));
    assert_eq!(g.loop_rate_hz, 5.0);
    let o = s.observer.as_ref().unwrap();
    assert_eq!(o.weights.len(), 4);
    assert_eq!(o.phase_crit, 1.2);
}

#[test]
fn missing_optional_files_are_none_and_invalid_ones_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let reg = dir.path().join("hq/registry");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::copy(
        fixtures().join("root/hq/registry/branches.json"),
        reg.join("branches.json"),
    )
    .unwrap();
    let s = load_snapshot(dir.path()).unwrap();
    assert!(s.errors.is_empty());
    assert!(s.decision.is_none() && s.cost_policy.is_none() && s.gateway.is_none());

    std::fs::copy(
        fixtures().join("bad/keys_duplicate.json"),
        reg.join("keys.json"),
    )
    .unwrap();
    let s = load_snapshot(dir.path()).unwrap();
    assert!(s.keys.is_none());
    assert_eq!(s.errors.len(), 1);
    let msg = s.errors[0].to_string();
    assert!(
        msg.ends_with(
            "hq/registry/keys.json:3:10: duplicate signer id `alice` with the same publicKey (line 2); a rotated key needs a new publicKey"
        ),
        "{msg}"
    );
}

#[test]
fn branches_json_missing_or_invalid_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = load_snapshot(dir.path()).unwrap_err();
    assert!(e.message.starts_with("cannot read"), "{e}");
    let reg = dir.path().join("hq/registry");
    std::fs::create_dir_all(&reg).unwrap();
    std::fs::copy(
        fixtures().join("bad/branches_duplicate_id.json"),
        reg.join("branches.json"),
    )
    .unwrap();
    let e = load_snapshot(dir.path()).unwrap_err();
    assert_eq!((e.line, e.column), (6, 12));
}

#[test]
fn protocol_version_states() {
    let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let now = t("2026-01-20T00:00:00Z");
    let st = |v, first| hq::protocol_state(v, "2.1", Some(7), first, now);
    assert_eq!(st(Some("2.1"), None), ProtocolState::Current);
    assert_eq!(st(Some("2.1.0"), None), ProtocolState::Current);
    assert_eq!(
        st(Some("2.10"), None),
        ProtocolState::Current,
        "numeric, not lexical"
    );
    assert_eq!(st(Some("2.0"), None), ProtocolState::Outdated);
    assert_eq!(
        st(Some("2.0"), Some(t("2026-01-14T00:00:00Z"))),
        ProtocolState::Outdated
    );
    assert_eq!(
        st(Some("2.0"), Some(t("2026-01-13T00:00:00Z"))),
        ProtocolState::Deprecated
    );
    assert_eq!(
        st(Some("1.9.9"), Some(t("2025-01-01T00:00:00Z"))),
        ProtocolState::Deprecated
    );
    assert_eq!(st(None, None), ProtocolState::Unknown);
    assert_eq!(
        hq::protocol_state(
            Some("2.0"),
            "2.1",
            None,
            Some(t("2020-01-01T00:00:00Z")),
            now
        ),
        ProtocolState::Outdated
    );
}

#[test]
fn durations() {
    use std::time::Duration;
    assert_eq!(hq::parse_duration("5m"), Ok(Duration::from_secs(300)));
    assert_eq!(hq::parse_duration("2s"), Ok(Duration::from_secs(2)));
    assert_eq!(hq::parse_duration("60s"), Ok(Duration::from_secs(60)));
    assert_eq!(hq::parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(hq::parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert!(hq::parse_duration("").is_err());
    assert!(hq::parse_duration("m").is_err());
    assert!(hq::parse_duration("-1s").is_err());
    assert!(hq::parse_duration("1e999s").is_err());
}

#[test]
fn garbage_never_panics() {
    let inputs: [&[u8]; 8] = [
        b"",
        b"\xff\xfe",
        b"null",
        b"[]",
        b"{",
        b"{\"branches\":null}",
        b"\"x\"",
        b"{\"a\":1e999}",
    ];
    for name in [
        "branches_",
        "policy_",
        "decision_",
        "keys_",
        "cost_",
        "sync_",
        "health_",
        "rollback_",
        "channels_",
        "rules_",
        "gateway_",
        "observer_",
    ] {
        for i in inputs {
            let _ = parser_for(name)(Path::new("x"), i);
        }
    }
}

/// Deterministic mutation fuzzing of every valid fixture: flipped, deleted and
/// duplicated bytes must give `Ok` or a positioned error, never a panic, and an
/// error's position must lie inside the file.
#[test]
fn mutated_fixtures_never_panic_and_errors_point_inside_the_file() {
    use rand::{Rng, SeedableRng};
    let root = fixtures().join("root");
    let files = [
        ("branches_", "hq/registry/branches.json"),
        ("policy_", "hq/registry/policy.json"),
        ("decision_", "hq/registry/decision-engine.json"),
        ("keys_", "hq/registry/keys.json"),
        ("cost_", "hq/billing/cost-policy.json"),
        ("sync_", "hq/sync/sync-plan.json"),
        ("health_", "hq/recovery/health-check.json"),
        ("rollback_", "hq/recovery/rollback-hook.json"),
        ("channels_", "hq/notifications/channels.json"),
        ("rules_", "hq/notifications/rules.json"),
        ("gateway_", "gateway_activation.yaml"),
        ("observer_", "observer_field.yaml"),
    ];
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x106e17);
    let alphabet = b"{}[]:,\"\\ \n-.0123456789eE+tfnulr#&*!|>'\xc3\xa9\xff";
    for (prefix, rel) in files {
        let original = std::fs::read(root.join(rel)).unwrap();
        parser_for(prefix)(Path::new(rel), &original).unwrap();
        for _ in 0..400 {
            let mut b = original.clone();
            for _ in 0..rng.random_range(1..4) {
                let i = rng.random_range(0..b.len());
                match rng.random_range(0..3) {
                    0 => b[i] = alphabet[rng.random_range(0..alphabet.len())],
                    1 => {
                        b.remove(i);
                    }
                    _ => {
                        let c = b[i];
                        b.insert(i, c);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            if let Err(e) = parser_for(prefix)(Path::new(rel), &b) {
                let lines = b.split(|c| *c == b'\n').count();
                assert!(e.line <= lines + 1, "{e} is past the end ({lines} lines)");
                assert!(!e.message.is_empty());
            }
        }
    }
}

#[test]
fn cross_file_findings() {
    let s = load_snapshot(&fixtures().join("root")).unwrap();
    let found: Vec<String> = hq::cross_check(&s)
        .iter()
        .map(|f| f.message.clone())
        .collect();
    // papafly is tier canary without billingTier: billed as standard (docs/formats.md).
    assert_eq!(
        found,
        [
            "branch `papafly` names no cost tier (tier canary): billed as `standard`; set \"billingTier\" to make it explicit"
        ]
    );
    let mut s2 = s.clone();
    if let Some(p) = s2.sync_plan.as_mut() {
        p.order.push("ghost".into());
    }
    if let Some(r) = s2.notify_rules.as_mut() {
        r.rules
            .insert("ledger_error".into(), vec!["pager:duty".into()]);
    }
    let found: Vec<String> = hq::cross_check(&s2).iter().map(|f| f.to_string()).collect();
    assert!(
        found.iter().any(|f| f.ends_with(
            "hq/sync/sync-plan.json: order names `ghost`, which is not in branches.json"
        )),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|f| f.contains("`ledger_error` notifies `pager:duty`")),
        "{found:?}"
    );
}
