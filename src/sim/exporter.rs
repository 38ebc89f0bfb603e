//! The demo world's HTTP server (axum): `/metrics` in the Prometheus text exposition
//! format (docs/configuration.md's exporter contract) and `/health/{branch}` mock endpoints.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

use super::events::{DOWN, FLAPPING, SLOW};

/// How a branch's health endpoint behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Healthy,
    /// Up for 10 s, then 500 for 10 s, repeating.
    Flapping,
    /// Answers 200 after ~1.5 s.
    Slow,
    /// Always 503.
    Down,
}

pub const FLAP_PERIOD: Duration = Duration::from_secs(20);
pub const SLOW_DELAY: Duration = Duration::from_millis(1500);

pub fn behaviour(branch: &str) -> Behaviour {
    match branch {
        FLAPPING => Behaviour::Flapping,
        SLOW => Behaviour::Slow,
        DOWN => Behaviour::Down,
        _ => Behaviour::Healthy,
    }
}

/// Is a flapping endpoint up, `elapsed` after the world started?
pub fn flap_up(elapsed: Duration) -> bool {
    elapsed.as_millis() % FLAP_PERIOD.as_millis() < FLAP_PERIOD.as_millis() / 2
}

/// Per-branch gauges.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchGauges {
    pub id: String,
    pub tier: String,
    pub up: bool,
    pub latency: f64,
    pub error_ratio: f64,
}

/// What `/metrics` serves; written by the loop task, read by the handlers.
#[derive(Debug, Clone)]
pub struct Exposed {
    pub gateway: u8,
    pub values: [f64; 4],
    pub rule: String,
    pub deltas: [f64; 4],
    pub branches: Vec<BranchGauges>,
    pub runs_total: u64,
    pub runs_success: u64,
    pub runs_failed: BTreeMap<String, u64>,
}

impl Default for Exposed {
    fn default() -> Self {
        Exposed {
            gateway: 1,
            values: [0.0; 4],
            rule: "none".into(),
            deltas: [0.0; 4],
            branches: Vec::new(),
            runs_total: 0,
            runs_success: 0,
            runs_failed: ["deploy", "health", "llm", "test"]
                .into_iter()
                .map(|p| (p.to_string(), 0))
                .collect(),
        }
    }
}

#[derive(Debug)]
pub struct ServerState {
    pub exposed: Mutex<Exposed>,
    pub started: Instant,
}

pub type Shared = Arc<ServerState>;

pub fn router(state: Shared) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health/{branch}", get(health))
        .route(
            "/webhook/{provider}/{channel}",
            axum::routing::post(webhook),
        )
        .route("/", get(index))
        .with_state(state)
}

async fn index() -> &'static str {
    "lumen simulate: /metrics, /health/<branch>, POST /webhook/<provider>/<channel>\n"
}

/// The demo's notification sink: the demo HQ's channels point here, so notifications
/// are really sent (and succeed) without leaving the machine. The body is dropped.
async fn webhook(Path((provider, channel)): Path<(String, String)>) -> impl IntoResponse {
    tracing::debug!(provider, channel, "demo webhook received a notification");
    (StatusCode::OK, "ok\n")
}

async fn metrics(State(s): State<Shared>) -> impl IntoResponse {
    let body = match s.exposed.lock() {
        Ok(e) => render(&e),
        Err(p) => render(&p.into_inner()),
    };
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
}

async fn health(State(s): State<Shared>, Path(branch): Path<String>) -> impl IntoResponse {
    let known = match s.exposed.lock() {
        Ok(e) => e.branches.iter().any(|b| b.id == branch),
        Err(p) => p.into_inner().branches.iter().any(|b| b.id == branch),
    };
    if !known {
        return (
            StatusCode::NOT_FOUND,
            "{\"status\":\"unknown branch\"}\n".to_string(),
        );
    }
    let ok = |b: &str| {
        let body = serde_json::json!({"status": "ok", "branch": b});
        (StatusCode::OK, format!("{body}\n"))
    };
    match behaviour(&branch) {
        Behaviour::Healthy => ok(&branch),
        Behaviour::Slow => {
            tokio::time::sleep(SLOW_DELAY).await;
            ok(&branch)
        }
        Behaviour::Down => (
            StatusCode::SERVICE_UNAVAILABLE,
            "{\"status\":\"down\"}\n".to_string(),
        ),
        Behaviour::Flapping => {
            if flap_up(s.started.elapsed()) {
                ok(&branch)
            } else {
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "{\"status\":\"error\",\"reason\":\"upstream timeout\"}\n".to_string(),
                )
            }
        }
    }
}

/// Escape a label value per the text format: `\` → `\\`, `"` → `\"`, newline → `\n`.
pub fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The exposition body.
pub fn render(e: &Exposed) -> String {
    let mut o = String::with_capacity(4096);
    head(
        &mut o,
        "lumen_gateway_status",
        "gauge",
        "Gateway status: 0 unknown, 1 initializing, 2 binding, 3 resonating, 4 locked.",
    );
    let _ = writeln!(o, "lumen_gateway_status {}", e.gateway);
    let gauges = [
        (
            "phase_diff",
            "Phase difference of the observer loop (0..1, lower is better).",
        ),
        ("entropy_rate", "Entropy rate of the observer loop (0..1)."),
        ("creative_band", "Creative band (0..1, higher is better)."),
        ("risk_band", "Risk band (0..1, lower is better)."),
    ];
    for (i, (g, help)) in gauges.iter().enumerate() {
        let name = format!("lumen_{g}");
        head(&mut o, &name, "gauge", help);
        let _ = writeln!(o, "{name} {:.6}", e.values[i]);
    }
    let rule = escape_label(&e.rule);
    for (i, (g, _)) in gauges.iter().enumerate() {
        let name = format!("lumen_rule_last_{g}_delta");
        head(
            &mut o,
            &name,
            "gauge",
            &format!(
                "Change of {g} after the last rule change (mean 30 s after minus 30 s before)."
            ),
        );
        let _ = writeln!(o, "{name}{{rule=\"{rule}\"}} {:.6}", e.deltas[i]);
    }
    head(
        &mut o,
        "hq_branch_up",
        "gauge",
        "Whether the branch's health endpoint answers 2xx.",
    );
    for b in &e.branches {
        let _ = writeln!(
            o,
            "hq_branch_up{{branch=\"{}\",tier=\"{}\"}} {}",
            escape_label(&b.id),
            escape_label(&b.tier),
            u8::from(b.up)
        );
    }
    head(
        &mut o,
        "hq_branch_latency_seconds",
        "gauge",
        "Health endpoint latency.",
    );
    for b in &e.branches {
        let _ = writeln!(
            o,
            "hq_branch_latency_seconds{{branch=\"{}\"}} {:.4}",
            escape_label(&b.id),
            b.latency
        );
    }
    head(
        &mut o,
        "hq_branch_error_ratio",
        "gauge",
        "Share of failed requests over the last minute.",
    );
    for b in &e.branches {
        let _ = writeln!(
            o,
            "hq_branch_error_ratio{{branch=\"{}\"}} {:.4}",
            escape_label(&b.id),
            b.error_ratio
        );
    }
    head(&mut o, "lumen_runs_total", "counter", "Pipeline runs.");
    let _ = writeln!(o, "lumen_runs_total {}", e.runs_total);
    head(
        &mut o,
        "lumen_runs_success_total",
        "counter",
        "Successful pipeline runs.",
    );
    let _ = writeln!(o, "lumen_runs_success_total {}", e.runs_success);
    head(
        &mut o,
        "lumen_runs_failed_total",
        "counter",
        "Failed pipeline runs by pipeline.",
    );
    for (p, n) in &e.runs_failed {
        let _ = writeln!(
            o,
            "lumen_runs_failed_total{{pipeline=\"{}\"}} {n}",
            escape_label(p)
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels() {
        assert_eq!(escape_label("a\"b\\c\nd,}="), "a\\\"b\\\\c\\nd,}=");
    }

    #[test]
    fn flapping_alternates() {
        assert!(flap_up(Duration::from_secs(1)));
        assert!(!flap_up(Duration::from_secs(11)));
        assert!(flap_up(Duration::from_secs(21)));
    }

    #[test]
    fn render_has_help_and_type_for_every_family() {
        let mut e = Exposed {
            rule: "weird \"rule\"".into(),
            ..Exposed::default()
        };
        e.branches.push(BranchGauges {
            id: "koosy".into(),
            tier: "standard".into(),
            up: true,
            latency: 0.02,
            error_ratio: 0.0,
        });
        let body = render(&e);
        let families: Vec<_> = body
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        assert_eq!(families.len(), 15);
        for f in families {
            assert!(body.contains(&format!("# HELP {f} ")));
            assert!(
                body.lines()
                    .any(|l| l.starts_with(f) && !l.starts_with('#')),
                "{f}"
            );
        }
        assert!(body.contains("rule=\"weird \\\"rule\\\"\""));
    }
}
