//! Rhythm gauges: `logs/metrics.csv` rows, `rules_history.jsonl` events, and the maths
//! over them (effect Δ, resonance).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The four gauges, in display order.
pub const GAUGES: [&str; 4] = ["phase_diff", "entropy_rate", "creative_band", "risk_band"];

/// One point of the four gauges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaugePoint {
    /// Seconds since the Unix epoch (fractional).
    pub t: f64,
    pub values: [f64; 4],
}

/// One line of `controls/rules_history.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleChange {
    pub ts: DateTime<FixedOffset>,
    pub actor: String,
    pub rule: String,
    pub old: f64,
    pub new: f64,
    #[serde(default)]
    pub note: Option<String>,
}

/// Parse a `metrics.csv` data row `ts,phase_diff,entropy_rate,creative_band,risk_band`.
/// `ts` is RFC 3339 or Unix seconds.
pub fn parse_metrics_row(line: &str) -> Result<GaugePoint, String> {
    let mut it = line.trim_end_matches('\r').split(',');
    let ts = it.next().ok_or("empty row")?.trim();
    let t = match ts.parse::<f64>() {
        Ok(t) if t.is_finite() => t,
        _ => DateTime::parse_from_rfc3339(ts)
            .map(|d| d.timestamp_millis() as f64 / 1000.0)
            .map_err(|_| format!("bad timestamp {ts:?}"))?,
    };
    let mut values = [0.0; 4];
    for (i, v) in values.iter_mut().enumerate() {
        let s = it
            .next()
            .ok_or_else(|| format!("missing column {}", GAUGES[i]))?
            .trim();
        *v = s
            .parse::<f64>()
            .map_err(|_| format!("{}: not a number {s:?}", GAUGES[i]))?;
    }
    if it.next().is_some() {
        return Err("too many columns".into());
    }
    Ok(GaugePoint { t, values })
}

/// Parse one `rules_history.jsonl` line.
pub fn parse_rule_line(line: &[u8]) -> Result<RuleChange, String> {
    serde_json::from_slice(line).map_err(|e| e.to_string())
}
