//! `observer_field.yaml` as the seed writes it (docs/configuration.md): per-persona
//! `channels: [{id, weights: {...}}]` and named `windows: [{name, span}]`, besides the
//! older flat form `channels: {symmetry: 0.3, ...}`. Pure: bytes in, values out.

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{MapAccess, SeqAccess, Visitor};

use super::{FileError, Sp, sp_err};

/// The four coordinates a weight may name.
pub const COORDINATES: [&str; 4] = ["symmetry", "continuity", "entropy", "safety"];

/// The longest window a file may name: the rhythm pane keeps at most 7 days.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86_400);

/// One persona's weights (`channels: [{id: lumen, weights: {...}}]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObserverChannel {
    pub id: String,
    /// Coordinate → weight, in file order.
    pub weights: Vec<(String, f64)>,
}

/// A named window (`windows: [{name: W24h, span: 24h}]`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObserverWindow {
    pub name: String,
    pub span: Duration,
}

/// `channels:` in either form.
pub(super) enum ChannelsField {
    /// `channels: {symmetry: 0.3, ...}`: one unnamed set of weights.
    Flat(Vec<(Sp<String>, Sp<f64>)>),
    /// `channels: [{id, weights}]`: one set per persona.
    Personas(Vec<RawPersona>),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPersona {
    id: Sp<String>,
    weights: HashMap<Sp<String>, Sp<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWindow {
    name: Sp<String>,
    span: Sp<String>,
}

impl<'de> Deserialize<'de> for ChannelsField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ChannelsField;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of weights or a list of `{id, weights}` channels")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<ChannelsField, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<Sp<String>, Sp<f64>>()? {
                    out.push((k, v));
                }
                Ok(ChannelsField::Flat(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<ChannelsField, A::Error> {
                let mut out = Vec::new();
                while let Some(p) = s.next_element::<RawPersona>()? {
                    out.push(p);
                }
                Ok(ChannelsField::Personas(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Coordinate → weight, in file order.
type Weights = Vec<(String, f64)>;

/// Check one set of weights (in file order): every key a coordinate, every value ≥ 0.
fn weights(
    path: &std::path::Path,
    mut entries: Vec<(Sp<String>, Sp<f64>)>,
) -> Result<Weights, FileError> {
    entries.sort_by_key(|(k, _)| (k.referenced.line(), k.referenced.column()));
    let mut out = Vec::new();
    for (key, v) in entries {
        let k = key.value.clone();
        if !COORDINATES.contains(&k.as_str()) {
            return Err(sp_err(
                path,
                &key,
                format!("unknown channel `{k}`; expected symmetry, continuity, entropy or safety"),
            ));
        }
        if !(v.value.is_finite() && v.value >= 0.0) {
            return Err(sp_err(
                path,
                &v,
                format!("weight of `{k}` is {}; expected a number >= 0", v.value),
            ));
        }
        out.push((k, v.value));
    }
    Ok(out)
}

/// Validated channels: (the weights the console reads with, every persona). With
/// personas the console reads with `lumen`'s weights (it is Lumen's view), else with
/// the first persona's.
pub(super) fn channels(
    path: &std::path::Path,
    field: ChannelsField,
) -> Result<(Weights, Vec<ObserverChannel>), FileError> {
    match field {
        ChannelsField::Flat(entries) => Ok((weights(path, entries)?, Vec::new())),
        ChannelsField::Personas(list) => {
            let mut out: Vec<ObserverChannel> = Vec::new();
            for p in list {
                let id = p.id.value.trim().to_string();
                if id.is_empty() {
                    return Err(sp_err(path, &p.id, "channel id is empty; expected a name"));
                }
                if out.iter().any(|c| c.id == id) {
                    return Err(sp_err(
                        path,
                        &p.id,
                        format!("duplicate channel id `{id}`; expected unique ids"),
                    ));
                }
                let w = weights(path, p.weights.into_iter().collect())?;
                out.push(ObserverChannel { id, weights: w });
            }
            let main = out
                .iter()
                .find(|c| c.id == "lumen")
                .or_else(|| out.first())
                .map(|c| c.weights.clone())
                .unwrap_or_default();
            Ok((main, out))
        }
    }
}

/// Validated windows: unique names, spans in (0, 7d].
pub(super) fn windows(
    path: &std::path::Path,
    raw: Vec<RawWindow>,
) -> Result<Vec<ObserverWindow>, FileError> {
    let mut out: Vec<ObserverWindow> = Vec::new();
    for w in raw {
        let name = w.name.value.trim().to_string();
        if name.is_empty() {
            return Err(sp_err(
                path,
                &w.name,
                "window name is empty; expected e.g. W24h",
            ));
        }
        if out.iter().any(|o| o.name == name) {
            return Err(sp_err(
                path,
                &w.name,
                format!("duplicate window `{name}`; expected unique names"),
            ));
        }
        let span = super::parse_duration(&w.span.value).map_err(|m| sp_err(path, &w.span, m))?;
        if span.is_zero() || span > MAX_WINDOW {
            return Err(sp_err(
                path,
                &w.span,
                format!(
                    "window `{name}` spans `{}`; expected more than 0 and at most 7d",
                    w.span.value
                ),
            ));
        }
        out.push(ObserverWindow { name, span });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::domain::hq::parse_observer_field;

    /// The seed's file, verbatim.
    const SEED: &str = "version: 1
windows:
  - name: W24h
    span: 24h
  - name: W7d
    span: 7d
channels:
  - id: lumen
    weights: { symmetry: 0.3, continuity: 0.3, entropy: 0.2, safety: 0.2 }
  - id: lubit
    weights: { symmetry: 0.25, continuity: 0.35, entropy: 0.15, safety: 0.25 }
  - id: sena
    weights: { symmetry: 0.2, continuity: 0.25, entropy: 0.25, safety: 0.3 }
  - id: vinoce
    weights: { symmetry: 0.35, continuity: 0.25, entropy: 0.2, safety: 0.2 }
thresholds:
  coherence_ok: 0.85
  phase_warn: 0.7
  phase_crit: 1.2
";

    #[test]
    fn the_seed_file_loads_with_personas_and_windows() {
        let o = parse_observer_field(Path::new("observer_field.yaml"), SEED.as_bytes()).unwrap();
        assert_eq!(o.channels.len(), 4);
        assert_eq!(o.channels[2].id, "sena");
        assert_eq!(o.channels[2].weights[3], ("safety".to_string(), 0.3));
        // The console reads with Lumen's weights.
        assert_eq!(o.weights.get("symmetry"), Some(&0.3));
        assert_eq!(o.windows.len(), 2);
        assert_eq!(o.windows[1].name, "W7d");
        assert_eq!(o.windows[1].span.as_secs(), 7 * 86_400);
        assert_eq!(o.phase_crit, 1.2);
    }

    fn err(text: &str) -> String {
        parse_observer_field(Path::new("o.yaml"), text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_personas_and_windows_are_errors_at_their_place() {
        assert_eq!(
            err("channels:\n  - id: lumen\n    weights: {symmetry: 0.3, gravity: 1}\n"),
            "o.yaml:3:30: unknown channel `gravity`; expected symmetry, continuity, entropy or safety"
        );
        assert_eq!(
            err("channels:\n  - id: a\n    weights: {}\n  - id: a\n    weights: {}\n"),
            "o.yaml:4:9: duplicate channel id `a`; expected unique ids"
        );
        assert_eq!(
            err("windows:\n  - name: W30d\n    span: 30d\n"),
            "o.yaml:3:11: window `W30d` spans `30d`; expected more than 0 and at most 7d"
        );
        assert!(err("windows:\n  - name: W\n    span: soon\n").starts_with("o.yaml:3:11: "));
        assert!(
            err("channels:\n  - id: lumen\n    weight: {}\n").contains("unknown field `weight`")
        );
        assert!(err("channels: 3\n").starts_with("o.yaml:1:"));
    }
}
