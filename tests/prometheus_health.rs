//! The console's health path through a real Prometheus (Debian package `prometheus`)
//! scraping `lumen simulate`: with `prometheus_url` configured, `cmd::open` runs the
//! PromQL health source instead of polling endpoints, and the `App` shows every
//! branch's status with source "prometheus" and the Prometheus source's freshness.
//! Skips with a message when `prometheus` is absent — and fails instead when `CI` is set.

mod common;
mod prom_common;

use std::time::{Duration, Instant};

use lumen::app::{CheckSource, Event};
use lumen::protocol::SourceId;

#[test]
fn console_health_rows_come_from_promql() {
    let Some(prom) = prom_common::prometheus_or_skip("prometheus_health") else {
        return;
    };
    let world = prom_common::start(&prom);
    let hq_root = world.hq_root.clone();

    // The console's own setup: prepare (registry, theme) and spawn_sources, with
    // Prometheus configured and no exporter (so nothing else can decide a status).
    let cfg = lumen::config::Config {
        hq_root: hq_root.clone(),
        exporters: Vec::new(),
        prometheus_url: Some(world.prom_url.clone()),
        readonly: true,
        ..Default::default()
    };
    let prepared = lumen::cmd::open::prepare(cfg.clone(), "test".into())
        .unwrap_or_else(|e| panic!("prepare: {e:?}"));
    let mut app = prepared.app;
    assert!(app.panes().health.prometheus.is_some());
    let branches: Vec<String> = app.panes().health.sync_order().to_vec();
    assert_eq!(branches.len(), 12, "{branches:?}");

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(256);
        let cancel = tokio_util::sync::CancellationToken::new();
        let recheck =
            lumen::cmd::open::spawn_sources(&cfg, app.data().hq.as_ref(), tx, cancel.clone());
        assert!(
            recheck.is_none(),
            "no HTTP checker runs when Prometheus is the source"
        );
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let all_prom = branches.iter().all(|b| {
                app.data()
                    .health
                    .get(b)
                    .is_some_and(|h| h.source() == "prometheus")
            });
            if all_prom {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "not every branch came from PromQL within 90 s: {:?}; prometheus source: {:?}",
                branches
                    .iter()
                    .map(|b| (b, app.data().health.get(b).map(|h| h.source())))
                    .collect::<Vec<_>>(),
                app.data().sources.get(&SourceId::Prometheus)
            );
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(500), rx.recv()).await {
                app.update(Event::Msg(m));
            }
            app.update(Event::Tick(chrono::Utc::now()));
        }
        cancel.cancel();
    });

    for b in &branches {
        let h = app.data().health.get(b).cloned().unwrap_or_default();
        assert!(
            h.recent_checks
                .iter()
                .all(|c| c.source == CheckSource::Prometheus && c.result.status.is_none()),
            "{b}: only PromQL answers, never an HTTP probe: {:?}",
            h.recent_checks
        );
    }
    assert!(
        app.data()
            .sources
            .get(&SourceId::Prometheus)
            .is_some_and(|s| s.last_ok.is_some() && !s.failing())
    );
    // The pane says where its data comes from and how fresh it is.
    app.update(Event::Resize(160, 48));
    app.apply(lumen::protocol::Action::ToggleZoom);
    let text = common::screen_text(&common::draw(&app, 160, 48));
    assert!(text.contains("via prometheus · live"), "{text}");
    assert!(text.contains("prometheus"), "{text}");
    drop(world);
}
