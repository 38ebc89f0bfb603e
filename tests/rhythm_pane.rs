//! The rhythm pane at App level (issue 6): the selected marker's cached effect Δ,
//! the resonance panel's inputs from the ledger, Prometheus backfill requests and
//! merging, the series browser's bounded rings, flagged values — and snapshots of the
//! pane with markers + Δ, thresholds, resonance, a gap and an exporter error.

mod common;

use std::time::Duration;

use chrono::{DateTime, Utc};
use common::{draw, fixture_app, record, screen_text, t0};
use lumen::app::{App, Event, MAX_SERIES, SERIES_RING};
use lumen::domain::exposition::Sample;
use lumen::domain::hq::ObserverField;
use lumen::domain::rhythm::{GaugePoint, RuleChange};
use lumen::domain::rhythm_math::{ChangeClass, Status};
use lumen::protocol::Integrity;
use lumen::protocol::{Action, Msg, SourceId};

fn secs(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// 5 Hz samples over `[from, to)` with constant values.
fn flat(from: f64, to: f64, v: [f64; 4]) -> Vec<GaugePoint> {
    (0..)
        .map(|i| from + f64::from(i) * 0.2)
        .take_while(|t| *t < to)
        .map(|t| GaugePoint { t, values: v })
        .collect()
}

fn rule(at: DateTime<Utc>, name: &str) -> RuleChange {
    RuleChange {
        ts: at.fixed_offset(),
        actor: "Lubit".into(),
        rule: name.into(),
        old: 0.22,
        new: 0.24,
        note: Some("test".into()),
    }
}

/// Constant regimes around two markers: at −200 s a good change, at −100 s a risk
/// signal (phase and entropy both +0.05).
fn two_marker_app() -> App {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let n = secs(now);
    let (m1, m2) = (n - 200.0, n - 100.0);
    let mut pts = flat(n - 300.0, m1, [0.50, 0.20, 0.20, 0.40]);
    pts.extend(flat(m1 + 0.6, m2, [0.40, 0.20, 0.25, 0.30]));
    pts.extend(flat(m2 + 0.6, n, [0.45, 0.25, 0.25, 0.30]));
    app.update(Event::Msg(Msg::GaugeRows {
        points: pts,
        bad: 0,
        at: now,
    }));
    app.update(Event::Msg(Msg::RulesAppended {
        rules: vec![
            rule(now - chrono::Duration::seconds(200), "creative_min"),
            rule(now - chrono::Duration::seconds(100), "phase_gain"),
        ],
        bad: 0,
        at: now,
    }));
    app.apply(Action::FocusRhythm);
    app.update(Event::Tick(now));
    app
}

#[test]
fn marker_selection_updates_the_cached_effect() {
    let mut app = two_marker_app();
    // the newest marker is selected by default: a risk signal
    let e = app.panes().rhythm.effect.expect("effect computed on tick");
    assert_eq!(e.marker, 1);
    assert_eq!(e.effect.class, ChangeClass::RiskSignal);
    let d: Vec<f64> = e.effect.deltas.iter().map(|d| d.value().unwrap()).collect();
    assert!(
        close(d[0], 0.05) && close(d[1], 0.05) && close(d[2], 0.0) && close(d[3], 0.0),
        "{d:?}"
    );
    // ↑ selects the older marker; its Δ is computed at once, not in render
    app.apply(Action::Up);
    let e = app.panes().rhythm.effect.unwrap();
    assert_eq!(e.marker, 0);
    assert_eq!(e.effect.class, ChangeClass::Good);
    let d: Vec<f64> = e.effect.deltas.iter().map(|d| d.value().unwrap()).collect();
    assert!(
        close(d[0], -0.10) && close(d[2], 0.05) && close(d[3], -0.10),
        "{d:?}"
    );
    // new data invalidates it: a history batch before the first point changes nothing
    // around the marker but bumps the generation; the Δ is recomputed on tick
    let g = e.generation;
    let n = secs(t0());
    app.update(Event::Msg(Msg::GaugeRows {
        points: flat(n - 400.0, n - 350.0, [0.9; 4]),
        bad: 0,
        at: t0(),
    }));
    app.update(Event::Tick(t0()));
    let e2 = app.panes().rhythm.effect.unwrap();
    assert!(e2.generation > g);
    assert_eq!(e2.effect.class, ChangeClass::Good);
    // rules reset: no marker, no effect
    app.update(Event::Msg(Msg::SourceReset {
        source: SourceId::Rules,
        reason: "truncated".into(),
    }));
    app.update(Event::Tick(t0()));
    assert!(app.panes().rhythm.effect.is_none());
}

#[test]
fn a_marker_without_enough_samples_says_so() {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let n = secs(now);
    // 40 samples before (8 s at 5 Hz), plenty after
    let mut pts = flat(n - 69.0, n - 61.0, [0.5; 4]);
    pts.extend(flat(n - 59.0, n, [0.5; 4]));
    app.update(Event::Msg(Msg::GaugeRows {
        points: pts,
        bad: 0,
        at: now,
    }));
    app.update(Event::Msg(Msg::RulesAppended {
        rules: vec![rule(now - chrono::Duration::seconds(60), "r")],
        bad: 0,
        at: now,
    }));
    app.update(Event::Tick(now));
    let e = app.panes().rhythm.effect.unwrap();
    assert_eq!(e.effect.class, ChangeClass::InsufficientData);
    app.apply(Action::FocusRhythm);
    app.apply(Action::ToggleZoom);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(
        text.contains("n/a (40|146)") && text.contains("insufficient data"),
        "{text}"
    );
}

fn ledger_line(i: u64, event: &str, at: DateTime<Utc>) -> lumen::protocol::LedgerRecord {
    record(
        i,
        &format!(
            r#"{{"id":"TXN-{i}","branch":"koosy","event":"{event}","timestamp":"{}"}}"#,
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ),
    )
}

/// The resonance panel from App state, against hand-computed values: failures
/// [2 deploy_failed, 1 health_fail, 0, 1 other] in the window → H = 1.5 ln 2 / ln 4
/// = 0.75; signatures 9 ok 1 bad → 0.9; rehearsal 18 days ago → custody 0.9;
/// safety 0.81; the gauges ramp evenly (symmetry 1) with no gap (continuity ≈ 1).
#[test]
fn resonance_panel_from_ledger_and_integrity() {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let n = secs(now);
    let pts: Vec<GaugePoint> = (0..1500)
        .map(|i| {
            let t = n - 300.0 + f64::from(i) * 0.2;
            let v = 0.1 + f64::from(i) * 0.0002;
            GaugePoint { t, values: [v; 4] }
        })
        .collect();
    app.update(Event::Msg(Msg::GaugeRows {
        points: pts,
        bad: 0,
        at: now,
    }));
    let m = |s: i64| now - chrono::Duration::seconds(s);
    let records = vec![
        ledger_line(1, "ceremony_rehearsal", now - chrono::Duration::days(40)),
        ledger_line(2, "ceremony_rehearsal", now - chrono::Duration::days(18)),
        ledger_line(3, "deploy_failed", m(100)),
        ledger_line(4, "deploy_failed", m(90)),
        ledger_line(5, "health_fail", m(80)),
        ledger_line(6, "rollback_failed", m(70)),
        // outside the 5-minute window
        ledger_line(7, "health_fail", m(900)),
        ledger_line(8, "deploy", m(60)),
    ];
    app.update(Event::Msg(Msg::LedgerAppended { records, at: now }));
    assert_eq!(app.failure_histogram(n - 300.0, n), vec![2, 1, 0, 1]);
    app.update(Event::Msg(Msg::IntegrityChecked {
        integrity: Integrity {
            chain_ok: 8,
            sig_ok: 9,
            sig_bad: 1,
            ..Default::default()
        },
        at: now,
    }));
    let next = now + chrono::Duration::milliseconds(1000);
    app.update(Event::Tick(next));
    let v = app
        .panes()
        .rhythm
        .resonance
        .clone()
        .expect("resonance refreshed on tick");
    let r = v.resonance;
    assert!(close(r.entropy, 0.75), "{}", r.entropy);
    assert!((r.safety - 0.81).abs() < 1e-4, "{}", r.safety);
    assert!(close(r.symmetry.unwrap(), 1.0) || r.symmetry.unwrap() > 0.999);
    assert!(r.continuity > 0.99);
    // no observer weights: the plain mean
    let want = (r.symmetry.unwrap() + r.continuity + 0.25 + r.safety) / 4.0;
    assert!(close(r.coherence, want));
    assert_eq!(r.status, Status::Warn, "coherence {} < 0.85", r.coherence);
    // a ledger re-read starts the failure histogram over
    app.update(Event::Msg(Msg::LedgerReset {
        reason: "replaced".into(),
    }));
    app.update(Event::Msg(Msg::LedgerAppended {
        records: vec![ledger_line(1, "deploy_failed", m(10))],
        at: now,
    }));
    assert_eq!(app.failure_histogram(n - 300.0, n), vec![1, 0, 0, 0]);
    assert!(app.panes().rhythm.last_rehearsal.is_none());
}

#[test]
fn observer_thresholds_colour_the_status() {
    let mut app = two_marker_app();
    let mut hq = common::snapshot();
    let field = ObserverField {
        phase_warn: 0.3,
        phase_crit: 0.44,
        ..Default::default()
    };
    hq.observer = Some(field);
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(hq),
        at: t0(),
    }));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    // newest phase 0.45 ≥ phase_crit 0.44
    let r = app.panes().rhythm.resonance.clone().unwrap().resonance;
    assert_eq!(r.phase, Some(0.45));
    assert_eq!(r.status, Status::Crit);
}

#[test]
fn backfill_is_requested_at_start_and_when_the_window_widens() {
    // What the console forwards to the backfill task: the newest Backfill command.
    fn asked(app: &mut common::Console) -> Option<lumen::protocol::BackfillRequest> {
        app.take_commands().into_iter().rev().find_map(|c| match c {
            lumen::protocol::Command::Backfill(r) => Some(r),
            _ => None,
        })
    }
    let mut app = common::Console::new(two_marker_app());
    app.set_rhythm_backfill(true);
    app.update(Event::Resize(160, 48));
    app.update(Event::Tick(t0() + chrono::Duration::seconds(1)));
    let req = asked(&mut app).expect("a request at start");
    assert_eq!(req.window, Duration::from_secs(300));
    assert_eq!(req.width, 152);
    // narrower: nothing new; wider: the wider span
    app.apply(Action::NarrowerWindow);
    assert_eq!(asked(&mut app), None);
    app.apply(Action::WiderWindow);
    assert_eq!(asked(&mut app), None, "5 m was loaded already");
    app.apply(Action::WiderWindow);
    assert_eq!(
        asked(&mut app).map(|r| r.window),
        Some(Duration::from_secs(900))
    );
    // panning back past what was loaded asks again
    app.apply(Action::Left);
    assert_eq!(
        asked(&mut app).map(|r| r.window),
        Some(Duration::from_secs(900 + 225))
    );
}

#[test]
fn a_prometheus_backfill_merges_into_history() {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    let n = secs(now);
    app.update(Event::Msg(Msg::GaugeRows {
        points: flat(n - 60.0, n, [0.3; 4]),
        bad: 0,
        at: now,
    }));
    let before = app.panes().rhythm.points.len();
    // 10 min at a 3 s step: 180 rows before the CSV's first point, the rest overlap
    let rows: Vec<GaugePoint> = (0..200)
        .map(|i| GaugePoint {
            t: n - 600.0 + f64::from(i) * 3.0,
            values: [0.6; 4],
        })
        .collect();
    app.update(Event::Msg(Msg::PromBackfilled {
        points: rows,
        bad: 2,
        at: now,
        window: Duration::from_secs(600),
        step: Duration::from_secs(3),
    }));
    assert_eq!(app.panes().rhythm.points.len(), before + 180);
    assert!(
        app.panes()
            .rhythm
            .points
            .iter()
            .zip(app.panes().rhythm.points.iter().skip(1))
            .all(|(a, b)| a.t < b.t)
    );
    let b = app.panes().rhythm.prom_last.clone().unwrap();
    assert_eq!((b.rows, b.bad), (200, 2));
    assert_eq!(
        app.data()
            .sources
            .get(&SourceId::PrometheusHistory)
            .and_then(|s| s.last_ok),
        Some(now)
    );
}

fn sample(name: &str, labels: &[(&str, &str)], value: f64) -> Sample {
    Sample {
        name: name.into(),
        labels: labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        value,
        timestamp_ms: None,
    }
}

#[test]
fn series_rings_are_bounded() {
    let now = t0();
    let mut app = App::new(
        now,
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    for i in 0..100 {
        app.update(Event::Msg(Msg::MetricsScraped {
            source: SourceId::Exporter(0),
            at: now,
            samples: vec![sample("hq_queue_depth", &[], f64::from(i))],
            unreadable: 0,
        }));
    }
    let ring = app.panes().rhythm.history.get("hq_queue_depth").unwrap();
    assert_eq!(ring.len(), SERIES_RING);
    assert_eq!(ring.back(), Some(&99.0));
    let many: Vec<Sample> = (0..MAX_SERIES + 10)
        .map(|i| sample("hq_x", &[("i", &i.to_string())], 1.0))
        .collect();
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at: now,
        samples: many,
        unreadable: 0,
    }));
    assert_eq!(app.panes().rhythm.history.len(), MAX_SERIES);
    assert_eq!(app.panes().rhythm.other.len(), MAX_SERIES);
    assert_eq!(app.panes().rhythm.series_dropped, 11);
}

#[test]
fn nan_inf_and_out_of_range_live_values_are_flagged() {
    let mut app = fixture_app();
    let at = t0() + chrono::Duration::milliseconds(200);
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at,
        samples: vec![
            sample("lumen_phase_diff", &[], f64::NAN),
            sample("lumen_entropy_rate", &[], f64::INFINITY),
            sample("lumen_creative_band", &[], 1.7),
            sample("lumen_risk_band", &[], 0.2),
        ],
        unreadable: 0,
    }));
    app.update(Event::Tick(at));
    assert_eq!(app.panes().rhythm.flagged, 1);
    app.apply(Action::FocusRhythm);
    app.apply(Action::ToggleZoom);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(
        text.contains("NaN") && text.contains("+Inf") && text.contains("1.70!"),
        "{text}"
    );
    assert!(
        text.contains("1 live value(s) NaN/Inf/out of [0,1], last phase_diff = NaN"),
        "{text}"
    );
}

/// The fixture plus a second marker, an older gap, a verified ledger and a rehearsal.
fn pane_app() -> App {
    let mut app = fixture_app();
    let now = t0();
    app.update(Event::Msg(Msg::RulesAppended {
        rules: vec![rule(now - chrono::Duration::seconds(240), "risk_max")],
        bad: 1,
        at: now,
    }));
    app.update(Event::Msg(Msg::LedgerAppended {
        records: vec![
            ledger_line(50, "ceremony_rehearsal", now - chrono::Duration::days(18)),
            ledger_line(51, "health_fail", now - chrono::Duration::seconds(30)),
        ],
        at: now,
    }));
    app.update(Event::Msg(Msg::IntegrityChecked {
        integrity: Integrity {
            chain_ok: 41,
            sig_ok: 3,
            ..Default::default()
        },
        at: now,
    }));
    app.apply(Action::FocusRhythm);
    app.update(Event::Tick(now + chrono::Duration::seconds(1)));
    app
}

#[test]
fn pane_snapshots_markers_delta_resonance() {
    let mut app = pane_app();
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let text = screen_text(&draw(&app, w, h));
        insta::assert_snapshot!(format!("rhythm_tiled_{w}x{h}"), text);
    }
    app.apply(Action::ToggleZoom);
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let text = screen_text(&draw(&app, w, h));
        if w == 160 {
            for want in [
                "▼creative_min",
                "▼risk_max",
                "resonance",
                "coherence",
                "U: roll back this rule",
                "→ ",
            ] {
                assert!(text.contains(want), "{want}:\n{text}");
            }
        }
        insta::assert_snapshot!(format!("rhythm_zoomed_{w}x{h}"), text);
    }
    // the older marker: its Δ, and no rollback hint (rollback starts at the newest)
    app.apply(Action::Up);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(
        text.contains("risk_max 0.22 → 0.24") && !text.contains("roll back this rule"),
        "{text}"
    );
}

#[test]
fn pane_snapshot_gap_and_exporter_error() {
    let mut app = pane_app();
    let now = t0();
    // the exporter went down 40 s ago; live points stop; the history stays
    let later = now + chrono::Duration::seconds(40);
    app.update(Event::Msg(Msg::SourceFailed {
        source: SourceId::Exporter(0),
        at: now + chrono::Duration::seconds(2),
        error: "http://127.0.0.1:9108/metrics: HTTP 503 Service Unavailable".into(),
    }));
    app.update(Event::Msg(Msg::SourceFailed {
        source: SourceId::PrometheusHistory,
        at: now + chrono::Duration::seconds(5),
        error: "prometheus http://127.0.0.1:9090: cannot connect".into(),
    }));
    app.update(Event::Tick(later));
    app.apply(Action::ToggleZoom);
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let text = screen_text(&draw(&app, w, h));
        if w == 160 {
            assert!(
                text.contains("exporter: http://127.0.0.1:9108/metrics: HTTP 503"),
                "{text}"
            );
            assert!(text.contains("since 12:00:02"), "{text}");
            assert!(
                text.contains("✗ prometheus http://127.0.0.1:9090: cannot connect since 12:00:05"),
                "{text}"
            );
        }
        insta::assert_snapshot!(format!("rhythm_exporter_down_{w}x{h}"), text);
    }
    // the 40 s silence at the right edge is a gap: the resonance sees it too
    let r = app.panes().rhythm.resonance.clone().unwrap().resonance;
    assert!(r.gap_minutes > 0.6, "{}", r.gap_minutes);
}

#[test]
fn series_browser_snapshot() {
    let mut app = pane_app();
    for i in 0..20 {
        app.update(Event::Msg(Msg::MetricsScraped {
            source: SourceId::Exporter(0),
            at: t0(),
            samples: vec![
                sample("hq_queue_depth", &[("branch", "koosy")], f64::from(i % 7)),
                sample("hq_queue_depth", &[("branch", "orbit")], f64::from(20 - i)),
                sample("process_open_fds", &[], 12.0),
                sample("lumen_odd", &[], if i == 19 { f64::NAN } else { 0.5 }),
            ],
            unreadable: 0,
        }));
    }
    app.apply(Action::ToggleZoom);
    app.apply(Action::ToggleSeries);
    app.apply(Action::Down);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("hq_queue_depth{branch=\"koosy\"}"), "{text}");
    assert!(text.contains("other series"), "{text}");
    insta::assert_snapshot!("rhythm_series_160x48", text);
    let text = screen_text(&draw(&app, 80, 24));
    insta::assert_snapshot!("rhythm_series_80x24", text);
    app.apply(Action::ToggleSeries);
    assert!(!app.panes().rhythm.series_view);
    // Esc closes the browser first, and only then leaves the zoom.
    app.apply(Action::ToggleSeries);
    app.apply(Action::Back);
    assert!(!app.panes().rhythm.series_view);
    assert!(app.shell().zoom);
    app.apply(Action::Back);
    assert!(!app.shell().zoom);
}

#[test]
fn a_marker_at_the_right_edge_is_labelled_to_its_left() {
    let mut app = two_marker_app();
    app.update(Event::Msg(Msg::RulesAppended {
        rules: vec![rule(t0() - chrono::Duration::seconds(2), "edge_rule")],
        bad: 0,
        at: t0(),
    }));
    app.apply(Action::ToggleZoom);
    let text = screen_text(&draw(&app, 160, 48));
    assert!(text.contains("edge_rule▼"), "{text}");
    assert!(
        text.contains("▼creative_min") && text.contains("▼phase_gain"),
        "{text}"
    );
}

/// The run loop moves `now` before every frame, so a tick may not see a new second:
/// the panel still refreshes once per second.
#[test]
fn resonance_refreshes_even_when_frames_moved_the_clock() {
    let mut app = two_marker_app();
    let first = app.panes().rhythm.resonance.clone().unwrap().at;
    let later = t0() + chrono::Duration::seconds(3);
    app.advance_clock(later); // what the frame tick does
    app.update(Event::Tick(later));
    let v = app.panes().rhythm.resonance.clone().unwrap();
    assert_eq!(v.at, later.timestamp());
    assert_ne!(v.at, first);
}

#[test]
fn series_browser_and_pane_never_panic_at_any_size() {
    let mut app = pane_app();
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at: t0(),
        samples: vec![
            sample(
                "hq_queue_depth",
                &[("branch", "koosy\u{1b}[31m")],
                f64::INFINITY,
            ),
            sample("x", &[], -1e300),
        ],
        unreadable: 0,
    }));
    for zoom in [false, true] {
        if zoom {
            app.apply(Action::ToggleZoom);
        }
        for series in [false, true] {
            if series != app.panes().rhythm.series_view {
                app.apply(Action::ToggleSeries);
            }
            app.apply(Action::Bottom);
            for w in [1u16, 2, 5, 10, 20, 40, 79, 80, 99, 100, 120, 160, 250] {
                for h in [1u16, 2, 3, 4, 5, 8, 11, 12, 13, 14, 24, 48] {
                    let text = screen_text(&draw(&app, w, h));
                    assert!(!text.contains('\u{1b}'));
                }
            }
        }
    }
}
