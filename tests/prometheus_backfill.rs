//! The console's Prometheus backfill path against a real Prometheus server (Debian
//! package `prometheus`) scraping `lumen simulate`: the `App` posts a request on
//! tick, `sources::prometheus::run_backfill` (the task `lumen` spawns when
//! `prometheus_url` is set) answers through `query_range`, and the rows land in
//! `RhythmState`. Also: a server that is down is reported in the pane, and retried.
//! Skips with a message when the `prometheus` binary is absent — and fails instead
//! when `CI` is set.

mod common;
mod prom_common;

use std::time::{Duration, Instant};

use lumen::app::{App, Event};
use lumen::protocol::{Action, Msg, SourceId};
use lumen::sources::prometheus::{MAX_POINTS, run_backfill};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The console's routing (cmd/open.rs): the app's Backfill commands go to the task's
/// watch channel, the newest winning.
fn forward_backfills(
    app: &mut common::Console,
    tx: &tokio::sync::watch::Sender<Option<lumen::protocol::BackfillRequest>>,
) {
    for c in app.take_commands() {
        if let lumen::protocol::Command::Backfill(r) = c {
            tx.send_replace(Some(r));
        }
    }
}

fn app() -> App {
    let mut app = App::new(
        chrono::Utc::now(),
        lumen::theme::Theme::dark(),
        lumen::keymap::Keymap::default(),
    );
    app.update(Event::Resize(160, 48));
    app.apply(Action::FocusRhythm);
    app
}

/// Tick the app and feed it what the backfill task sends, until `done(app)` or
/// `limit` passes (then panic with `what` and the last message seen).
async fn drive(
    app: &mut common::Console,
    req_tx: &tokio::sync::watch::Sender<Option<lumen::protocol::BackfillRequest>>,
    rx: &mut mpsc::Receiver<Msg>,
    what: &str,
    limit: Duration,
    done: impl Fn(&App) -> bool,
) {
    let start = Instant::now();
    let mut last = String::from("nothing");
    while !done(app) {
        assert!(
            start.elapsed() < limit,
            "{what}: not within {limit:?}; last: {last}"
        );
        forward_backfills(app, req_tx);
        app.update(Event::Tick(chrono::Utc::now()));
        forward_backfills(app, req_tx);
        if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(250), rx.recv()).await {
            last = format!("{m:?}").chars().take(300).collect();
            app.update(Event::Msg(m));
        }
    }
}

#[test]
fn console_backfill_fills_rhythm_state_from_query_range() {
    let Some(prom) = prom_common::prometheus_or_skip("prometheus_backfill") else {
        return;
    };
    let world = prom_common::start(&prom);
    let base = world.prom_url.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // The console's wiring (cmd/open.rs): a watch channel from App to the task.
        let mut app = common::Console::new(app());
        let (req_tx, req_rx) = tokio::sync::watch::channel(None);
        app.set_rhythm_backfill(true);
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let task = tokio::spawn(run_backfill(base.clone(), req_rx, tx, cancel.clone()));

        // Until Prometheus is up and has scraped a few seconds, a backfill fails (it
        // is retried with backoff) or is empty. Widen/narrow to re-ask meanwhile.
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "no backfill rows from Prometheus; sources: {:?}",
                app.data().sources.get(&SourceId::PrometheusHistory)
            );
            app.update(Event::Tick(chrono::Utc::now()));
            forward_backfills(&mut app, &req_tx);
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(250), rx.recv()).await {
                app.update(Event::Msg(m));
            }
            if app
                .panes()
                .rhythm
                .prom_last
                .as_ref()
                .is_some_and(|b| b.rows >= 5)
            {
                break;
            }
            if app.panes().rhythm.prom_last.is_some() {
                // an early, nearly empty answer: ask again (as a wider window would)
                app = common::Console::new(crate::app());
                app.set_rhythm_backfill(true);
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        let b = app.panes().rhythm.prom_last.clone().unwrap();
        assert_eq!(b.window, Duration::from_secs(300));
        // step_for(5 min, 152 columns) = 1.974 s; at most 11,000 points per series
        assert_eq!(b.step, Duration::from_millis(1974));
        assert!(b.window.as_millis() / b.step.as_millis() < u128::from(MAX_POINTS));
        let n = app.panes().rhythm.points.len();
        assert_eq!(n, b.rows, "the rows are the rhythm history now");
        assert!(
            app.panes()
                .rhythm
                .points
                .iter()
                .all(|p| p.values.iter().all(|v| (0.0..=1.0).contains(v)))
        );
        assert!(
            app.panes()
                .rhythm
                .points
                .iter()
                .zip(app.panes().rhythm.points.iter().skip(1))
                .all(|(a, b)| a.t < b.t)
        );
        assert!(
            app.data()
                .sources
                .get(&SourceId::PrometheusHistory)
                .is_some_and(|s| s.last_ok.is_some() && !s.failing())
        );
        // resonance over the backfilled window (refreshed with the rows)
        let r = app
            .panes()
            .rhythm
            .resonance
            .clone()
            .expect("resonance")
            .resonance;
        assert!(r.phase.is_some_and(|p| (0.0..=1.0).contains(&p)), "{r:?}");

        // Widening to 1 h asks again at a 1 h step; the answer arrives as another merge.
        app.apply(Action::WiderWindow);
        app.apply(Action::WiderWindow);
        drive(
            &mut app,
            &req_tx,
            &mut rx,
            "1 h backfill",
            Duration::from_secs(30),
            |a| {
                a.panes()
                    .rhythm
                    .prom_last
                    .as_ref()
                    .is_some_and(|b| b.window == Duration::from_secs(3600))
            },
        )
        .await;
        let b = app.panes().rhythm.prom_last.clone().unwrap();
        assert_eq!(b.step, Duration::from_millis(23_685)); // 3,600,000 ms / 152, rounded up
        app.apply(Action::ToggleZoom);
        let text = common::screen_text(&common::draw(&app, 160, 48));
        assert!(
            text.contains("prometheus: ") && text.contains("rows of 1h at 23.7s step"),
            "{text}"
        );

        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("run_backfill did not stop on cancel")
            .unwrap();
    });
    drop(world);
}

/// A Prometheus that is not there: the pane says so (and since when), keeps what it
/// has, and the task keeps retrying until cancelled.
#[test]
fn a_missing_server_is_reported_and_retried() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut app = common::Console::new(app());
        let (req_tx, req_rx) = tokio::sync::watch::channel(None);
        app.set_rhythm_backfill(true);
        let (tx, mut rx) = mpsc::channel(64);
        let cancel = CancellationToken::new();
        let url = format!("http://{}", common::net::closed_addr());
        let task = tokio::spawn(run_backfill(url, req_rx, tx, cancel.clone()));
        let mut failures = 0;
        let start = Instant::now();
        while failures < 2 {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{failures} failure(s) reported"
            );
            app.update(Event::Tick(chrono::Utc::now()));
            forward_backfills(&mut app, &req_tx);
            if let Ok(Some(m)) = tokio::time::timeout(Duration::from_millis(250), rx.recv()).await {
                if matches!(
                    m,
                    Msg::SourceFailed {
                        source: SourceId::PrometheusHistory,
                        ..
                    }
                ) {
                    failures += 1;
                }
                app.update(Event::Msg(m));
            }
        }
        assert!(
            app.data()
                .sources
                .get(&SourceId::PrometheusHistory)
                .is_some_and(|s| s.failing())
        );
        app.apply(Action::ToggleZoom);
        let text = common::screen_text(&common::draw(&app, 160, 48));
        assert!(
            text.contains("✗ prometheus http://127.0.0.1:") && text.contains(" since "),
            "{text}"
        );
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("run_backfill did not stop on cancel")
            .unwrap();
    });
}
