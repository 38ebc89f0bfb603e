//! A real Prometheus server (Debian package `prometheus`) scraping `lumen simulate`,
//! read through `lumen::sources::prometheus`: health via PromQL (12 branches) and the
//! rhythm backfill via `query_range`. Skips with a message when the `prometheus` binary
//! is absent — and fails instead when `CI` is set.

mod common;
mod prom_common;

use std::time::{Duration, Instant};

use lumen::protocol::{Msg, SourceId};
use lumen::sources::prometheus::{
    GAUGE_METRICS, backfill_rhythm, health_round, instant_query, range_query, run_health, step_for,
};

/// Poll `f` every 250 ms until it returns `Some` or `limit` passes.
async fn poll<T, F, Fut>(what: &str, limit: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>, String>>,
{
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    loop {
        match f().await {
            Ok(Some(v)) => return v,
            Ok(None) => {}
            Err(e) => last = e,
        }
        assert!(
            start.elapsed() < limit,
            "{what}: nothing within {limit:?}; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[test]
fn prometheus_scraping_lumen_simulate_feeds_health_and_backfill() {
    let Some(prom) = prom_common::prometheus_or_skip("prometheus_integration") else {
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
        let client = reqwest::Client::new();
        let ready = format!("{base}/-/ready");
        poll("prometheus /-/ready", Duration::from_secs(60), || {
            let (c, u) = (client.clone(), ready.clone());
            async move {
                match c.get(&u).send().await {
                    Ok(r) if r.status().is_success() => Ok(Some(())),
                    Ok(r) => Err(format!("status {}", r.status())),
                    Err(e) => Err(e.to_string()),
                }
            }
        })
        .await;

        // 3. hq_branch_up for the 12 demo branches through an instant query
        let up = poll(
            "hq_branch_up for 12 branches",
            Duration::from_secs(60),
            || {
                let (c, b) = (client.clone(), base.clone());
                async move {
                    let s = instant_query(&c, &b, "hq_branch_up", Duration::from_secs(5))
                        .await
                        .map_err(|e| e.to_string())?;
                    Ok((s.len() >= 12).then_some(s))
                }
            },
        )
        .await;
        assert_eq!(up.len(), 12);
        assert!(
            up.iter()
                .all(|s| s.labels.contains_key("branch") && s.labels.contains_key("tier"))
        );

        let results = health_round(&client, &base, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(results.len(), 12);
        assert!(
            results.iter().any(|r| r.ok && r.latency.is_some()),
            "{results:?}"
        );
        for r in &results {
            assert_eq!(r.ok, r.error.is_none(), "{r:?}");
        }

        // 4. run_health sends HealthChecked then marks the source as Prometheus
        let (htx, mut hrx) = tokio::sync::mpsc::channel(8);
        let cancel = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(run_health(
            base.clone(),
            Duration::from_secs(1),
            htx,
            cancel.clone(),
        ));
        let first = tokio::time::timeout(Duration::from_secs(20), hrx.recv())
            .await
            .expect("run_health sent nothing")
            .unwrap();
        match first {
            Msg::HealthChecked { results, .. } => assert_eq!(results.len(), 12),
            other => panic!("expected HealthChecked, got {other:?}"),
        }
        let second = tokio::time::timeout(Duration::from_secs(20), hrx.recv())
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(
            second,
            Msg::SourceRecovered {
                source: SourceId::Prometheus,
                ..
            }
        ));
        cancel.cancel();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("run_health did not stop on cancel")
            .unwrap();

        // 5. range query and the rhythm backfill return aligned gauge rows
        let window = Duration::from_secs(120);
        let series = poll("lumen_phase_diff range", Duration::from_secs(60), || {
            let (c, b) = (client.clone(), base.clone());
            async move {
                let end = chrono::Utc::now();
                let start = end - chrono::Duration::seconds(120);
                let s = range_query(&c, &b, GAUGE_METRICS[0], start, end, step_for(window, 120))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(s.first().filter(|s| s.points.len() >= 3).cloned())
            }
        })
        .await;
        assert!(series.points.iter().all(|(_, v)| (0.0..=1.0).contains(v)));

        let (gtx, mut grx) = tokio::sync::mpsc::channel(4);
        let n = backfill_rhythm(base.clone(), window, 120, gtx)
            .await
            .unwrap();
        assert!(n >= 3, "{n} rows");
        match grx.recv().await {
            Some(Msg::GaugeRows { points, .. }) => {
                assert_eq!(points.len(), n);
                assert!(points.windows(2).all(|w| w[0].t < w[1].t));
                assert!(
                    points
                        .iter()
                        .all(|p| p.values.iter().all(|v| v.is_finite()))
                );
            }
            other => panic!("expected GaugeRows, got {other:?}"),
        }

        // 6. a bad query is a named error from Prometheus itself
        let e = instant_query(&client, &base, "hq_branch_up{", Duration::from_secs(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad_data") && e.contains("hq_branch_up{"), "{e}");
    });
    drop(world);
}
