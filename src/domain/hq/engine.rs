//! The decision engine as data for the policy overlay (docs/sync.md "Policy
//! overlay"): `modes` by priority, `fallbackChain`, from `decision-engine.json`'s
//! raw map. Pure; every string sanitised.

use super::DecisionEngine;
use crate::domain::sanitize::sanitize;

/// One decision-engine mode (`modes: {physical: {priority: 1, requiresHuman: true}}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    pub name: String,
    pub priority: Option<i64>,
    /// The mode's other settings, `key=value`, in file order.
    pub settings: Vec<String>,
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => sanitize(s).into_owned(),
        other => sanitize(&other.to_string()).into_owned(),
    }
}

/// The modes, by priority (1 first), then name; modes without a priority last.
pub fn modes(d: Option<&DecisionEngine>) -> Vec<Mode> {
    let Some(m) = d
        .and_then(|d| d.raw.get("modes"))
        .and_then(|v| v.as_object())
    else {
        return Vec::new();
    };
    let mut out: Vec<Mode> = m
        .iter()
        .map(|(name, v)| {
            let obj = v.as_object();
            Mode {
                name: sanitize(name).into_owned(),
                priority: obj.and_then(|o| o.get("priority")).and_then(|p| p.as_i64()),
                settings: obj
                    .map(|o| {
                        o.iter()
                            .filter(|(k, _)| k.as_str() != "priority")
                            .map(|(k, v)| format!("{}={}", sanitize(k), show(v)))
                            .collect()
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.priority.is_none(), a.priority, &a.name).cmp(&(
            b.priority.is_none(),
            b.priority,
            &b.name,
        ))
    });
    out
}

/// `fallbackChain`, in order (empty when absent).
pub fn fallback_chain(d: Option<&DecisionEngine>) -> Vec<String> {
    d.and_then(|d| d.raw.get("fallbackChain"))
        .and_then(|v| v.as_array())
        .map(|a| a.iter().map(show).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_engine_lists_modes_by_priority_and_its_fallback_chain() {
        let text = include_str!("../../../tests/fixtures/seed-hq/hq/registry/decision-engine.json");
        let d =
            super::super::parse_decision_engine(std::path::Path::new("d.json"), text.as_bytes())
                .unwrap();
        let m = modes(Some(&d));
        let names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["physical", "rag", "llm", "ontology"]);
        assert_eq!(m[0].settings, ["requiresHuman=true"]);
        assert_eq!(m[2].settings, ["model=claude"]);
        assert_eq!(
            fallback_chain(Some(&d)),
            ["ontology", "llm", "rag", "physical"]
        );
        assert!(modes(None).is_empty() && fallback_chain(None).is_empty());
    }
}
