//! Shared test fixtures: an `App` with fixed data and a fixed clock.
#![allow(dead_code)]

pub mod bin;
pub mod net;
pub mod pty;
pub mod scenarios;

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use lumen::app::{App, Event};
use lumen::domain::hq::{Branch, Gateway, HqSnapshot, Registry, SyncPlan, Tier, Visibility};
use lumen::domain::ledger::parse_line;
use lumen::domain::rhythm::{GaugePoint, RuleChange};
use lumen::keymap::Keymap;
use lumen::protocol::{HealthResult, LedgerRecord, Msg, SourceId};
use lumen::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

pub fn branch(id: &str, tier: Tier, proto: &str) -> Branch {
    Branch {
        id: id.into(),
        repo: format!("dtslib1979/{id}"),
        domain: format!("{id}.dtslib.com"),
        visibility: Visibility::Public,
        hq_protocol_version: Some(proto.into()),
        tier: Some(tier),
        billing_tier: None,
        owner: Some("dimas".into()),
        maintenance_mode: false,
        health: None,
    }
}

pub fn snapshot() -> HqSnapshot {
    let branches = vec![
        branch("koosy", Tier::Standard, "2.1"),
        branch("papafly", Tier::Canary, "2.1"),
        branch("lumen-lab", Tier::Incubation, "2.0"),
        branch("orbit", Tier::Standard, "2.1"),
        branch("atlas", Tier::Premium, "2.1"),
    ];
    HqSnapshot {
        root: "/hq".into(),
        registry: Some(Registry {
            hq_version: "2.1".into(),
            migration: None,
            branches,
        }),
        sync_plan: Some(SyncPlan {
            strategy: Some("canary".into()),
            tiers: vec!["canary".into(), "standard".into(), "incubation".into()],
            order: vec!["papafly".into(), "koosy".into(), "*".into()],
            on_failure: Some("halt".into()),
            max_retries: Some(3),
        }),
        gateway: Some(Gateway::default()),
        ..Default::default()
    }
}

pub fn record(line: u64, json: &str) -> LedgerRecord {
    LedgerRecord {
        line,
        offset: line * 100,
        parsed: parse_line(json.as_bytes()),
        excerpt: lumen::domain::sanitize::sanitize(json).into_owned(),
    }
}

pub fn ledger_records(now: DateTime<Utc>) -> Vec<LedgerRecord> {
    let mut v = Vec::new();
    let events = [
        "deploy",
        "llm_generate",
        "deploy_test",
        "deploy_failed",
        "llm_generate",
        "rollback",
    ];
    let branches = ["papafly", "koosy", "orbit", "atlas", "lumen-lab"];
    for i in 0..40u64 {
        let ts = now - chrono::Duration::minutes((40 - i as i64) * 17);
        let ev = events[(i as usize) % events.len()];
        let br = branches[(i as usize) % branches.len()];
        let extra = if ev == "llm_generate" {
            r#","tokens":1840,"cost":0.033"#
        } else {
            ""
        };
        let json = format!(
            r#"{{"id":"TXN-20261122-{i:06}","branch":"{br}","event":"{ev}","actor":"ci","timestamp":"{}"{extra}}}"#,
            ts.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        v.push(record(i + 1, &json));
    }
    v.push(record(41, "{\"id\":\"broken\u{1b}[31m"));
    v
}

pub fn gauge_points(now: DateTime<Utc>) -> Vec<GaugePoint> {
    let end = now.timestamp() as f64;
    (0..1500)
        .map(|i| {
            let t = end - 300.0 + i as f64 * 0.2;
            let x = i as f64 / 1500.0;
            GaugePoint {
                t,
                values: [
                    0.5 + 0.4 * (x * 12.0).sin() * (-2.0 * x).exp(),
                    0.6 - 0.3 * x,
                    0.15 + 0.2 * x,
                    0.45 - 0.2 * x,
                ],
            }
        })
        .collect()
}

/// An app with a registry, health results, ledger lines, gauges and rule markers.
pub fn fixture_app() -> App {
    let now = t0();
    let mut app = App::new(now, Theme::dark(), Keymap::default());
    app.set_hq_label("/srv/hq");
    app.set_operator(Ok(None));
    let at = now - chrono::Duration::seconds(3);
    app.update(Event::Msg(Msg::RegistryReloaded {
        hq: Box::new(snapshot()),
        at,
    }));
    let results = vec![
        hr("papafly", true, 42, at),
        hr("koosy", true, 1450, at),
        hr("orbit", false, 2000, at),
        hr("atlas", true, 88, at),
    ];
    for _ in 0..4 {
        app.update(Event::Msg(Msg::HealthChecked {
            results: results.clone(),
            at,
        }));
    }
    app.update(Event::Msg(Msg::LedgerAppended {
        records: ledger_records(now),
        at,
    }));
    app.update(Event::Msg(Msg::GaugeRows {
        points: gauge_points(now),
        bad: 0,
        at,
    }));
    let rule = RuleChange {
        ts: (now - chrono::Duration::seconds(120)).fixed_offset(),
        actor: "Lubit".into(),
        rule: "creative_min".into(),
        old: 0.22,
        new: 0.24,
        note: Some("raise the floor".into()),
    };
    app.update(Event::Msg(Msg::RulesAppended {
        rules: vec![rule],
        bad: 0,
        at,
    }));
    app.update(Event::Msg(Msg::MetricsScraped {
        source: SourceId::Exporter(0),
        at,
        samples: vec![lumen::domain::exposition::Sample {
            name: "lumen_gateway_status".into(),
            labels: Default::default(),
            value: 3.0,
            timestamp_ms: None,
        }],
        unreadable: 0,
    }));
    app.update(Event::Tick(now));
    app
}

pub fn hr(branch: &str, ok: bool, ms: u64, at: DateTime<Utc>) -> HealthResult {
    HealthResult {
        branch: branch.into(),
        at,
        ok,
        status: Some(if ok { 200 } else { 503 }),
        latency: Some(Duration::from_millis(ms)),
        error: if ok { None } else { Some("HTTP 503".into()) },
    }
}

/// Render `app` on a `w`×`h` test backend.
pub fn draw(app: &App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    if let Err(e) = term.draw(|f| {
        lumen::ui::render(f, app);
    }) {
        panic!("draw failed: {e}");
    }
    term
}

/// Draw a frame as the console's run loop does: render, then hand the layout back to
/// the app (page sizes and mouse hits follow what was drawn).
pub fn frame(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut term = match Terminal::new(TestBackend::new(w, h)) {
        Ok(t) => t,
        Err(e) => panic!("test backend: {e}"),
    };
    let mut map = None;
    if let Err(e) = term.draw(|f| map = Some(lumen::ui::render(f, app))) {
        panic!("draw failed: {e}");
    }
    if let Some(map) = map {
        app.remember_screen(map);
    }
    term
}

/// The screen as plain text lines.
pub fn screen_text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

/// An `App` and the commands its updates returned that the test has not served yet.
/// The run loop executes what `update` returns at once; a test that serves commands
/// later (the ledger reader, key-file loads, saved rehearsals) keeps them here.
pub struct Console {
    pub app: App,
    pending: Vec<lumen::protocol::Command>,
}

impl Console {
    pub fn new(app: App) -> Self {
        Console {
            app,
            pending: Vec::new(),
        }
    }

    pub fn update(&mut self, ev: Event) {
        let c = self.app.update(ev);
        self.pending.extend(c);
    }

    pub fn apply(&mut self, a: lumen::protocol::Action) {
        let c = self.app.apply(a);
        self.pending.extend(c);
    }

    pub fn submit_ledger_filter(&mut self, text: String) {
        let c = self.app.submit_ledger_filter(text);
        self.pending.extend(c);
    }

    /// The commands not served yet, oldest first; the queue is empty after.
    pub fn take_commands(&mut self) -> Vec<lumen::protocol::Command> {
        std::mem::take(&mut self.pending)
    }

    /// The commands not served yet.
    pub fn commands(&self) -> &[lumen::protocol::Command] {
        &self.pending
    }
}

impl std::ops::Deref for Console {
    type Target = App;
    fn deref(&self) -> &App {
        &self.app
    }
}

impl std::ops::DerefMut for Console {
    fn deref_mut(&mut self) -> &mut App {
        &mut self.app
    }
}

/// [`snapshot`] with a cost policy that puts the four `standard` branches far over
/// their monthly limit (1,000 tokens) and the canary well under.
pub fn snapshot_over_budget() -> HqSnapshot {
    use lumen::domain::hq::{CostPolicy, CostTier};
    let mut hq = snapshot();
    let tier = |limit| CostTier {
        monthly_token_limit: limit,
        rate: 0.00002,
    };
    hq.cost_policy = Some(CostPolicy {
        tiers: [
            ("standard".to_string(), tier(1_000)),
            ("canary".to_string(), tier(1_000_000)),
        ]
        .into_iter()
        .collect(),
        escalation: Default::default(),
    });
    hq
}
