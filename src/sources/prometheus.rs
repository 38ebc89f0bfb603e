//! Prometheus as a source (issues 5 and 6): the HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`) of Prometheus or anything speaking it (Thanos, Mimir).
//! Health per branch comes from the exporter's `hq_branch_*` series through PromQL
//! instead of polling every endpoint from this machine; the rhythm chart's history is
//! backfilled with `query_range` at a step that follows the chart's width.
//!
//! Errors name the server (credentials removed), the query, and Prometheus' own
//! `errorType`/`error` when it sent one.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use thiserror::Error;
use tokio::sync::mpsc::Sender;
use tokio_util::sync::CancellationToken;

use crate::domain::rhythm::{GAUGES, GaugePoint};
use crate::protocol::BackfillRequest;
use crate::protocol::{HealthResult, Msg, SourceId};
use crate::sources::exporter::backoff;
use crate::sources::http::{self, FetchError, redact};

/// Prometheus refuses a range query with more points per series than this.
pub const MAX_POINTS: u64 = 11_000;
/// Answers larger than this are refused (a 24 h backfill of four gauges at the finest
/// step is ~1.5 MB).
pub const MAX_BODY: usize = 64 * 1024 * 1024;
/// Timeout of one API call.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The four rhythm gauges as exported, in [`GAUGES`] order.
pub const GAUGE_METRICS: [&str; 4] = [
    "lumen_phase_diff",
    "lumen_entropy_rate",
    "lumen_creative_band",
    "lumen_risk_band",
];

/// Why a query failed. `Display` is one line.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum PromError {
    #[error("prometheus {0}")]
    Fetch(FetchError),
    /// Prometheus answered `"status":"error"` (or a non-2xx status with an error body).
    #[error("prometheus {url}: query {query:?} failed: {error_type}: {error}")]
    Api {
        url: String,
        query: String,
        error_type: String,
        error: String,
    },
    /// The body is not the API's JSON.
    #[error("prometheus {url}: query {query:?}: unreadable answer: {cause}")]
    Decode {
        url: String,
        query: String,
        cause: String,
    },
    /// Parameters that cannot make a valid query.
    #[error("prometheus query {query:?}: {cause}")]
    Param { query: String, cause: String },
}

/// One series of an answer: its labels (`__name__` included when present) and its
/// points `(unix seconds, value)`; values may be NaN or ±Inf.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub points: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
struct ApiResponse {
    status: String,
    #[serde(default)]
    data: Option<ApiData>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum ApiData {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar(RawPoint),
    /// A string result; its content is never used (not numbers).
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: RawPoint,
}

#[derive(Deserialize)]
struct MatrixItem {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<RawPoint>,
}

/// `[<unix time>, "<value>"]`.
#[derive(Deserialize)]
struct RawPoint(f64, String);

/// The value strings Prometheus writes: decimal, `NaN`, `+Inf`, `-Inf`.
fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

/// Decode an API answer (any status) into series.
pub fn decode(url: &str, query: &str, body: &[u8]) -> Result<Vec<Series>, PromError> {
    let decode_err = |cause: String| PromError::Decode {
        url: redact(url),
        query: query.to_string(),
        cause,
    };
    let r: ApiResponse = serde_json::from_slice(body).map_err(|e| decode_err(e.to_string()))?;
    if r.status != "success" {
        return Err(PromError::Api {
            url: redact(url),
            query: query.to_string(),
            error_type: r.error_type.unwrap_or_else(|| "unknown".into()),
            error: r.error.unwrap_or_else(|| format!("status {:?}", r.status)),
        });
    }
    let point = |p: &RawPoint| -> Result<(f64, f64), PromError> {
        parse_value(&p.1)
            .map(|v| (p.0, v))
            .ok_or_else(|| decode_err(format!("value {:?} is not a number", p.1)))
    };
    match r.data {
        None => Err(decode_err("no `data`".into())),
        Some(ApiData::Vector(items)) => items
            .iter()
            .map(|i| {
                Ok(Series {
                    labels: i.metric.clone(),
                    points: vec![point(&i.value)?],
                })
            })
            .collect(),
        Some(ApiData::Matrix(items)) => items
            .iter()
            .map(|i| {
                Ok(Series {
                    labels: i.metric.clone(),
                    points: i.values.iter().map(point).collect::<Result<_, _>>()?,
                })
            })
            .collect(),
        Some(ApiData::Scalar(p)) => Ok(vec![Series {
            labels: BTreeMap::new(),
            points: vec![point(&p)?],
        }]),
        Some(ApiData::String(_)) => Err(decode_err("a string result, not numbers".into())),
    }
}

/// `base` + `path` with the query parameters, e.g. `http://h:9090` + `/api/v1/query`.
fn api_url(base: &str, path: &str, params: &[(&str, String)]) -> Result<reqwest::Url, FetchError> {
    let mut u = http::check_url(base)?;
    let joined = format!("{}{}", u.path().trim_end_matches('/'), path);
    u.set_path(&joined);
    u.query_pairs_mut().clear().extend_pairs(params);
    Ok(u)
}

/// GET `url`, keeping the body of a non-2xx answer too (Prometheus explains its 400
/// and 422 answers in JSON). Bounded in time and size like [`http::get_bounded`]; hand
/// written because that helper drops the body of an error status.
async fn get_api(
    client: &reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), FetchError> {
    let shown = redact(url.as_str());
    let work = async {
        let mut resp =
            client
                .get(url)
                .timeout(timeout)
                .send()
                .await
                .map_err(|e| FetchError::Connect {
                    url: shown.clone(),
                    cause: root_cause(&e),
                })?;
        let status = resp.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| FetchError::Body {
            url: shown.clone(),
            cause: root_cause(&e),
        })? {
            if body.len().saturating_add(chunk.len()) > MAX_BODY {
                return Err(FetchError::TooLarge {
                    url: shown.clone(),
                    limit: MAX_BODY,
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, body))
    };
    match tokio::time::timeout(timeout, work).await {
        Ok(r) => r,
        Err(_) => Err(FetchError::Timeout {
            url: shown.clone(),
            after: timeout,
        }),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    query: &str,
    params: &[(&str, String)],
    timeout: Duration,
) -> Result<Vec<Series>, PromError> {
    let url = api_url(base, path, params).map_err(PromError::Fetch)?;
    let shown = redact(url.as_str());
    let (status, body) = get_api(client, url, timeout)
        .await
        .map_err(PromError::Fetch)?;
    match decode(base, query, &body) {
        Ok(s) if (200..300).contains(&status) => Ok(s),
        Err(e @ PromError::Api { .. }) => Err(e),
        _ if !(200..300).contains(&status) => {
            Err(PromError::Fetch(FetchError::Status { url: shown, status }))
        }
        other => other,
    }
}

/// An instant query (`/api/v1/query`) evaluated now. `url` is the server's base URL,
/// e.g. `http://127.0.0.1:9090`.
pub async fn instant_query(
    client: &reqwest::Client,
    url: &str,
    promql: &str,
    timeout: Duration,
) -> Result<Vec<Series>, PromError> {
    call(
        client,
        url,
        "/api/v1/query",
        promql,
        &[("query", promql.to_string())],
        timeout,
    )
    .await
}

/// A range query (`/api/v1/query_range`) over `[start, end]` at `step`. Refuses (before
/// asking) a step that would give more than [`MAX_POINTS`] points per series.
pub async fn range_query(
    client: &reqwest::Client,
    url: &str,
    promql: &str,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    step: Duration,
) -> Result<Vec<Series>, PromError> {
    let param = |cause: String| PromError::Param {
        query: promql.to_string(),
        cause,
    };
    if step.is_zero() {
        return Err(param("step must be positive".into()));
    }
    if end < start {
        return Err(param("end is before start".into()));
    }
    let span = (end - start).to_std().unwrap_or_default();
    let points = (span.as_secs_f64() / step.as_secs_f64()).floor() as u64 + 1;
    if points > MAX_POINTS {
        return Err(param(format!(
            "{points} points per series at step {:.3} s; Prometheus allows {MAX_POINTS}",
            step.as_secs_f64()
        )));
    }
    let secs = |t: DateTime<Utc>| format!("{:.3}", t.timestamp_millis() as f64 / 1000.0);
    call(
        client,
        url,
        "/api/v1/query_range",
        promql,
        &[
            ("query", promql.to_string()),
            ("start", secs(start)),
            ("end", secs(end)),
            ("step", format!("{:.3}", step.as_secs_f64())),
        ],
        QUERY_TIMEOUT,
    )
    .await
}

/// The step of a range query drawing `window` across `width` columns: one point per
/// column, never finer than 1 ms, and coarse enough that the series stays within
/// Prometheus' [`MAX_POINTS`] (`floor(window/step) + 1 ≤ 11,000`). Whole milliseconds,
/// rounded up.
pub fn step_for(window: Duration, width: u16) -> Duration {
    let w = window.as_millis().max(1);
    let per_column = w.div_ceil(u128::from(width.max(1)));
    // floor(w / s) + 1 ≤ MAX_POINTS  ⇐  s ≥ w / (MAX_POINTS − 1)
    let floor = w.div_ceil(u128::from(MAX_POINTS - 1));
    let ms = per_column.max(floor).max(1);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// Per-branch health from the three `hq_branch_*` instant vectors: one result per
/// branch that has `hq_branch_up`; ok = up == 1; latency from the gauge (when finite
/// and ≥ 0); the error names the up value and error ratio.
pub fn health_results(
    up: &[Series],
    latency: &[Series],
    error_ratio: &[Series],
    at: DateTime<Utc>,
) -> Vec<HealthResult> {
    let by_branch = |s: &[Series]| -> BTreeMap<String, f64> {
        s.iter()
            .filter_map(|x| Some((x.labels.get("branch")?.clone(), x.points.last()?.1)))
            .collect()
    };
    let lat = by_branch(latency);
    let err = by_branch(error_ratio);
    by_branch(up)
        .into_iter()
        .map(|(branch, upv)| {
            let ok = upv == 1.0;
            let latency = lat
                .get(&branch)
                .filter(|l| l.is_finite() && **l >= 0.0 && **l < 1e9)
                .map(|l| Duration::from_secs_f64(*l));
            let ratio = err.get(&branch).copied();
            let error = (!ok).then(|| match ratio {
                Some(r) => format!("hq_branch_up = {upv} (error ratio {r:.2}) via Prometheus"),
                None => format!("hq_branch_up = {upv} via Prometheus"),
            });
            HealthResult {
                branch,
                at,
                ok,
                status: None,
                latency,
                error,
            }
        })
        .collect()
}

/// One round of health through PromQL.
pub async fn health_round(
    client: &reqwest::Client,
    prom_url: &str,
    timeout: Duration,
) -> Result<Vec<HealthResult>, PromError> {
    let (up, lat, err) = tokio::join!(
        instant_query(client, prom_url, "hq_branch_up", timeout),
        instant_query(client, prom_url, "hq_branch_latency_seconds", timeout),
        instant_query(client, prom_url, "hq_branch_error_ratio", timeout),
    );
    let up = up?;
    // Latency and error ratio are detail: a failure there leaves them out.
    Ok(health_results(
        &up,
        &lat.unwrap_or_default(),
        &err.unwrap_or_default(),
        Utc::now(),
    ))
}

/// Health via PromQL every `interval` until `cancel`: each round sends
/// `Msg::HealthChecked` (one result per branch) followed by
/// `Msg::SourceRecovered { source: Prometheus }`, or `Msg::SourceFailed { source:
/// Prometheus }` with backoff. The console runs it instead of the HTTP checker when
/// `prometheus_url` is configured, and tags these results `prometheus`
/// (`HealthView::prometheus`, set through `App::set_health_prometheus`).
pub async fn run_health(
    prom_url: String,
    interval: Duration,
    tx: Sender<Msg>,
    cancel: CancellationToken,
) {
    let client = match http::client() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx
                .send(Msg::SourceFailed {
                    source: SourceId::Prometheus,
                    at: Utc::now(),
                    error: format!("cannot build the HTTP client: {e}"),
                })
                .await;
            return;
        }
    };
    let interval = interval.max(Duration::from_millis(100));
    let timeout = interval.min(QUERY_TIMEOUT);
    let mut failures = 0u32;
    loop {
        let round = tokio::select! {
            _ = cancel.cancelled() => return,
            r = health_round(&client, &prom_url, timeout) => r,
        };
        let at = Utc::now();
        let msgs = match round {
            Ok(results) => {
                failures = 0;
                vec![
                    Msg::HealthChecked { results, at },
                    Msg::SourceRecovered {
                        source: SourceId::Prometheus,
                        at,
                    },
                ]
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                tracing::debug!(error = %e, "prometheus health round failed");
                vec![Msg::SourceFailed {
                    source: SourceId::Prometheus,
                    at,
                    error: e.to_string(),
                }]
            }
        };
        for m in msgs {
            tokio::select! {
                _ = cancel.cancelled() => return,
                sent = tx.send(m) => if sent.is_err() { return },
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            () = tokio::time::sleep(backoff(interval, failures)) => {}
        }
    }
}

/// Align the four gauges' series by timestamp (milliseconds): a row for every
/// timestamp where all four have a value; timestamps missing a gauge are counted as
/// `bad`. When a query returns several series (several exporters), the first by labels
/// is used.
pub fn align_gauges(series: &[Vec<Series>; 4]) -> (Vec<GaugePoint>, usize) {
    let mut rows: BTreeMap<i64, [Option<f64>; 4]> = BTreeMap::new();
    for (g, s) in series.iter().enumerate() {
        let Some(first) = s.iter().min_by(|a, b| a.labels.cmp(&b.labels)) else {
            continue;
        };
        for (t, v) in &first.points {
            let key = (t * 1000.0).round() as i64;
            if let Some(slot) = rows.entry(key).or_default().get_mut(g) {
                *slot = Some(*v);
            }
        }
    }
    let mut bad = 0;
    let mut points = Vec::with_capacity(rows.len());
    for (ms, vals) in rows {
        match vals {
            [Some(a), Some(b), Some(c), Some(d)] => points.push(GaugePoint {
                t: ms as f64 / 1000.0,
                values: [a, b, c, d],
            }),
            _ => bad += 1,
        }
    }
    (points, bad)
}

/// The four `lumen_*` gauges over the last `window` by `query_range` at
/// [`step_for`]`(window, width)` (so at most [`MAX_POINTS`] per series), aligned by
/// timestamp. Returns the rows, the timestamps missing a gauge, and the step.
pub async fn fetch_rhythm(
    client: &reqwest::Client,
    prom_url: &str,
    window: Duration,
    width: u16,
) -> Result<(Vec<GaugePoint>, usize, Duration), PromError> {
    let end = Utc::now();
    let start = end - chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(24));
    let step = step_for(window, width);
    let (a, b, c, d) = tokio::join!(
        range_query(client, prom_url, GAUGE_METRICS[0], start, end, step),
        range_query(client, prom_url, GAUGE_METRICS[1], start, end, step),
        range_query(client, prom_url, GAUGE_METRICS[2], start, end, step),
        range_query(client, prom_url, GAUGE_METRICS[3], start, end, step),
    );
    let series = [a?, b?, c?, d?];
    let (points, bad) = align_gauges(&series);
    Ok((points, bad, step))
}

fn client_for_backfill() -> Result<reqwest::Client, PromError> {
    http::client().map_err(|e| PromError::Param {
        query: "backfill".into(),
        cause: format!("cannot build the HTTP client: {e}"),
    })
}

/// Backfill the rhythm chart: [`fetch_rhythm`] sent as one `Msg::GaugeRows`. A failure
/// is sent as `Msg::SourceFailed { source: Prometheus }`. Returns the number of rows
/// sent. (The console uses [`backfill_console`], which reports the step too.)
pub async fn backfill_rhythm(
    prom_url: String,
    window: Duration,
    width: u16,
    tx: Sender<Msg>,
) -> Result<usize, PromError> {
    let client = client_for_backfill()?;
    let result = fetch_rhythm(&client, &prom_url, window, width).await;
    let at = Utc::now();
    match result {
        Ok((points, bad, _)) => {
            let n = points.len();
            // The receiver being gone only means nobody wants the rows any more.
            let _ = tx.send(Msg::GaugeRows { points, bad, at }).await;
            Ok(n)
        }
        Err(e) => {
            let _ = tx
                .send(Msg::SourceFailed {
                    source: SourceId::PrometheusHistory,
                    at,
                    error: e.to_string(),
                })
                .await;
            Err(e)
        }
    }
}

/// The console's backfill: [`fetch_rhythm`] sent as `Msg::PromBackfilled` (rows,
/// window and step, merged into the rhythm history by `App`), or a failure as
/// `Msg::SourceFailed { source: Prometheus }`. Returns the number of rows sent.
pub async fn backfill_console(
    client: &reqwest::Client,
    prom_url: &str,
    req: BackfillRequest,
    tx: &Sender<Msg>,
) -> Result<usize, PromError> {
    let result = fetch_rhythm(client, prom_url, req.window, req.width).await;
    let at = Utc::now();
    match result {
        Ok((points, bad, step)) => {
            let n = points.len();
            let _ = tx
                .send(Msg::PromBackfilled {
                    points,
                    bad,
                    at,
                    window: req.window,
                    step,
                })
                .await;
            Ok(n)
        }
        Err(e) => {
            let _ = tx
                .send(Msg::SourceFailed {
                    source: SourceId::PrometheusHistory,
                    at,
                    error: e.to_string(),
                })
                .await;
            Err(e)
        }
    }
}

/// The console's backfill task: runs [`backfill_console`] for every request the
/// console posts on `requests` (at start, and when the chart's window widens beyond
/// what was loaded). A failed backfill is retried with backoff until it succeeds, a
/// newer request replaces it, or `cancel` fires.
pub async fn run_backfill(
    prom_url: String,
    mut requests: tokio::sync::watch::Receiver<Option<BackfillRequest>>,
    tx: Sender<Msg>,
    cancel: CancellationToken,
) {
    let client = match client_for_backfill() {
        Ok(c) => c,
        Err(e) => {
            let _ = tx
                .send(Msg::SourceFailed {
                    source: SourceId::PrometheusHistory,
                    at: Utc::now(),
                    error: e.to_string(),
                })
                .await;
            return;
        }
    };
    let mut pending = *requests.borrow_and_update();
    let mut failures = 0u32;
    loop {
        let mut retry = None;
        if let Some(req) = pending.take() {
            match backfill_console(&client, &prom_url, req, &tx).await {
                Ok(_) => failures = 0,
                Err(_) => {
                    failures = failures.saturating_add(1);
                    retry = Some(req);
                }
            }
        }
        let wait = backoff(Duration::from_secs(2), failures);
        tokio::select! {
            _ = cancel.cancelled() => return,
            r = requests.changed() => {
                if r.is_err() {
                    return;
                }
                failures = 0;
                pending = *requests.borrow_and_update();
            }
            () = tokio::time::sleep(wait), if retry.is_some() => pending = retry,
        }
    }
}

const _: () = assert!(GAUGE_METRICS.len() == GAUGES.len());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keeps_points_within_the_limit() {
        for (secs, width) in [
            (60u64, 200u16),
            (86_400, 200),
            (86_400, 60_000),
            (3600, 0),
            (1, 1000),
        ] {
            let w = Duration::from_secs(secs);
            let s = step_for(w, width);
            assert!(!s.is_zero());
            let points = w.as_millis() / s.as_millis() + 1;
            assert!(
                points <= u128::from(MAX_POINTS),
                "{secs}s/{width}: {points}"
            );
        }
        assert_eq!(
            step_for(Duration::from_secs(60), 200),
            Duration::from_millis(300)
        );
        // 24 h on a 20,000-column terminal: the point limit wins
        let s = step_for(Duration::from_secs(86_400), 20_000);
        assert_eq!(s, Duration::from_millis(86_400_000u64.div_ceil(10_999)));
    }

    #[test]
    fn decodes_vectors_matrices_and_special_values() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"hq_branch_up","branch":"koosy"},"value":[1700000000.5,"1"]},
            {"metric":{"branch":"orbit"},"value":[1700000000.5,"NaN"]},
            {"metric":{"branch":"x"},"value":[1700000000.5,"+Inf"]}]}}"#;
        let s = decode("http://p", "hq_branch_up", body).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].points, vec![(1_700_000_000.5, 1.0)]);
        assert!(s[1].points[0].1.is_nan());
        assert_eq!(s[2].points[0].1, f64::INFINITY);
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{},"values":[[1,"0.5"],[2,"-Inf"]]}]}}"#;
        let s = decode("http://p", "q", body).unwrap();
        assert_eq!(s[0].points, vec![(1.0, 0.5), (2.0, f64::NEG_INFINITY)]);
    }

    #[test]
    fn errors_are_named() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"parse error at char 3"}"#;
        let e = decode("http://u:pw@p:9090", "up{", body).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("bad_data") && text.contains("parse error") && text.contains("up{"),
            "{text}"
        );
        assert!(!text.contains("pw"), "{text}");
        let e = decode("http://p", "q", b"<html>").unwrap_err();
        assert!(matches!(e, PromError::Decode { .. }), "{e}");
        let e = decode("http://p", "q", br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#).unwrap_err();
        assert!(e.to_string().contains("abc"));
    }

    #[test]
    fn health_from_series() {
        let s = |b: &str, v: f64| Series {
            labels: [("branch".to_string(), b.to_string())].into(),
            points: vec![(1.0, v)],
        };
        let at = Utc::now();
        let r = health_results(
            &[s("a", 1.0), s("b", 0.0)],
            &[s("a", 0.05), s("b", f64::NAN)],
            &[s("b", 0.5)],
            at,
        );
        assert_eq!(r.len(), 2);
        assert!(r[0].ok && r[0].latency == Some(Duration::from_millis(50)));
        assert!(!r[1].ok && r[1].latency.is_none());
        assert!(r[1].error.as_deref().is_some_and(|e| e.contains("0.50")));
    }

    #[test]
    fn aligns_gauges_by_timestamp() {
        let one = |pts: &[(f64, f64)]| {
            vec![Series {
                labels: BTreeMap::new(),
                points: pts.to_vec(),
            }]
        };
        let series = [
            one(&[(1.0, 0.1), (2.0, 0.2)]),
            one(&[(1.0, 0.3), (2.0, 0.4)]),
            one(&[(1.0, 0.5), (2.0, 0.6)]),
            one(&[(1.0, 0.7)]),
        ];
        let (p, bad) = align_gauges(&series);
        assert_eq!(bad, 1);
        assert_eq!(
            p,
            vec![GaugePoint {
                t: 1.0,
                values: [0.1, 0.3, 0.5, 0.7]
            }]
        );
    }

    #[test]
    fn url_building_keeps_a_path_prefix() {
        let u = api_url(
            "http://h:9090/prom/",
            "/api/v1/query",
            &[("query", "a{b=\"c\"}".into())],
        )
        .unwrap();
        assert_eq!(u.path(), "/prom/api/v1/query");
        assert!(u.as_str().contains("query=a%7Bb%3D%22c%22%7D"), "{u}");
    }
}
