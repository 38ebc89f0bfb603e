//! `lumen alerts [--json]`: evaluate every condition once, headless, and print what
//! fires — critical first, then newest. Exit 0 when nothing critical fires, 1 when
//! something does, 2 when the HQ cannot be read (docs/alerts.md).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::alert_facts::Collector;
use super::{CmdError, CmdResult, Outcome, print_json, runtime};
use crate::cli::{AlertsArgs, GlobalArgs};
use crate::domain::alerts::{Alert, Severity};

/// The `--json` document.
#[derive(Debug, Serialize)]
struct Report<'a> {
    #[serde(rename = "evaluatedAt")]
    evaluated_at: String,
    critical: usize,
    warning: usize,
    info: usize,
    alerts: Vec<JsonAlert<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonAlert<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    fingerprint: String,
}

/// `12s`, `5m`, `3h`, `2d`.
pub fn age(now: DateTime<Utc>, since: DateTime<Utc>) -> String {
    let s = (now - since).num_seconds().max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

pub fn run_alerts(a: &AlertsArgs, g: &GlobalArgs) -> CmdResult {
    let cfg = crate::config::load(g).map_err(|e| CmdError::Usage(e.to_string()))?;
    let root = cfg.hq_root.clone();
    let mut c = Collector::new(&root);
    c.reload_files()
        .map_err(|e| CmdError::Io(anyhow::anyhow!("{e}")))?;
    c.read_ledger()?;
    c.verify(true);
    if !a.no_health {
        let rt = runtime()?;
        rt.block_on(c.check_health());
    }
    let now = Utc::now();
    let t = c.evaluate(now);
    let count = |s: Severity| t.firing.iter().filter(|a| a.severity == s).count();
    let critical = count(Severity::Critical);
    if g.json {
        print_json(&Report {
            evaluated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            critical,
            warning: count(Severity::Warning),
            info: count(Severity::Info),
            alerts: t
                .firing
                .iter()
                .map(|a| JsonAlert {
                    alert: a,
                    fingerprint: a.fingerprint(),
                })
                .collect(),
        })?;
    } else if t.firing.is_empty() {
        outln!("no alerts firing");
    } else {
        for a in &t.firing {
            let mut what = a.alertname.as_str().to_string();
            if let Some(b) = a.branch() {
                what.push(' ');
                what.push_str(b);
            }
            outln!(
                "{:<8} {:>4}  {what}: {}",
                a.severity.as_str(),
                age(now, a.since),
                a.summary
            );
            outln!("               do: {}", a.action);
        }
    }
    Ok(if critical > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Ok
    })
}
