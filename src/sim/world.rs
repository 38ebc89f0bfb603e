//! The rhythm dynamics of the simulated observer loop (pure, deterministic per seed).
//!
//! One [`Rhythm::step`] is one loop tick at 5 Hz. After a *kick* (start of the loop or
//! a rule change) the gauges relax towards their resting values with time constant
//! `TAU` seconds; see `docs/demo.md` for the formulas.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Loop rate of the simulated observer (matches `gateway_activation.yaml`).
pub const LOOP_HZ: f64 = 5.0;
/// Relaxation time constant after a kick, in seconds.
pub const TAU: f64 = 45.0;
/// Period of the phase oscillation, in seconds.
pub const PHASE_PERIOD: f64 = 8.0;

/// Rules the simulated operators tune, with the range their values move in.
const RULES: [(&str, f64, f64); 5] = [
    ("creative_min", 0.18, 0.30),
    ("risk_max", 0.28, 0.40),
    ("phase_gain", 0.40, 0.90),
    ("entropy_floor", 0.10, 0.30),
    ("loop_damping", 0.50, 0.95),
];
const ACTORS: [&str; 4] = ["Lubit", "dimas", "observer-bot", "hana"];

/// A rule change the model decided on at this tick.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleEvent {
    pub rule: &'static str,
    pub actor: &'static str,
    pub old: f64,
    pub new: f64,
    pub note: String,
}

/// One tick's output.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// Seconds since the model started.
    pub t: f64,
    /// phase_diff, entropy_rate, creative_band, risk_band — each in [0, 1].
    pub values: [f64; 4],
    /// `lumen_gateway_status`: 1 initializing, 2 binding, 3 resonating, 4 locked.
    pub gateway: u8,
    pub rule_change: Option<RuleEvent>,
}

/// The model's state.
#[derive(Debug, Clone)]
pub struct Rhythm {
    rng: StdRng,
    tick: u64,
    /// Tick of the last kick and its strength in [0, 1].
    kick_tick: u64,
    kick: f64,
    /// Tick at which the next rule change happens.
    next_rule_tick: u64,
    rule_values: [f64; 5],
}

fn clamp01(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

impl Rhythm {
    /// A loop that has just started (full kick at t = 0).
    pub fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        let rule_values = RULES.map(|(_, lo, hi)| round2(lo + (hi - lo) * 0.5));
        let first = Self::rule_gap(&mut rng);
        Rhythm {
            rng,
            tick: 0,
            kick_tick: 0,
            kick: 1.0,
            next_rule_tick: first,
            rule_values,
        }
    }

    /// Continue from a rule's current value (e.g. the newest line of the rules history),
    /// so that the next change of it starts from there. Unknown rules are ignored.
    pub fn set_rule_value(&mut self, rule: &str, value: f64) {
        if let Some(i) = RULES.iter().position(|(r, _, _)| *r == rule)
            && value.is_finite()
        {
            self.rule_values[i] = value;
        }
    }

    /// Ticks until the next rule change: 90–240 s.
    fn rule_gap(rng: &mut StdRng) -> u64 {
        (rng.random_range(90.0..240.0) * LOOP_HZ) as u64
    }

    /// The current decay factor `kick · exp(−s/TAU)`, s = seconds since the kick.
    fn decay(&self) -> f64 {
        let s = (self.tick - self.kick_tick) as f64 / LOOP_HZ;
        self.kick * (-s / TAU).exp()
    }

    /// Small zero-mean noise in (−a, a), triangular (sum of two uniforms).
    fn noise(&mut self, a: f64) -> f64 {
        let u: f64 = self.rng.random_range(-0.5..0.5);
        let v: f64 = self.rng.random_range(-0.5..0.5);
        (u + v) * a
    }

    /// Perturb the loop now (a rule change moved it), strength in [0, 1].
    pub fn kick(&mut self, strength: f64) {
        // Never weaker than what is still ringing.
        self.kick = clamp01(strength.max(self.decay()));
        self.kick_tick = self.tick;
    }

    /// Advance one loop tick (1/5 s).
    pub fn step(&mut self) -> Tick {
        let t = self.tick as f64 / LOOP_HZ;
        let mut rule_change = None;
        if self.tick == self.next_rule_tick {
            rule_change = Some(self.change_rule());
            let strength = self.rng.random_range(0.35..0.8);
            self.kick(strength);
            self.next_rule_tick = self.tick + Self::rule_gap(&mut self.rng);
        }
        let d = self.decay();
        let wave = 0.5 + 0.5 * (2.0 * std::f64::consts::PI * t / PHASE_PERIOD).sin();
        let values = [
            clamp01(0.12 + 0.55 * d * wave + self.noise(0.04)),
            clamp01(0.30 + 0.40 * d + self.noise(0.03)),
            clamp01(0.34 - 0.22 * d + self.noise(0.03)),
            clamp01(0.18 + 0.32 * d + self.noise(0.03)),
        ];
        let since_start = t;
        let gateway = if since_start < 2.0 {
            1
        } else if since_start < 8.0 {
            2
        } else if d > 0.2 {
            3
        } else {
            4
        };
        self.tick += 1;
        Tick {
            t,
            values,
            gateway,
            rule_change,
        }
    }

    fn change_rule(&mut self) -> RuleEvent {
        let i = self.rng.random_range(0..RULES.len());
        let (rule, lo, hi) = RULES[i];
        let old = self.rule_values[i];
        let mut new = old;
        while (new - old).abs() < 0.005 {
            let step = self.rng.random_range(0.01..0.05);
            new = if self.rng.random_bool(0.5) {
                old + step
            } else {
                old - step
            };
            new = round2(new.clamp(lo, hi));
        }
        self.rule_values[i] = new;
        let actor = ACTORS[self.rng.random_range(0..ACTORS.len())];
        let why = [
            "tighten after drift",
            "widen band for exploration",
            "observer suggestion",
            "reduce oscillation",
            "weekly tuning",
        ];
        let note = why[self.rng.random_range(0..why.len())].to_string();
        RuleEvent {
            rule,
            actor,
            old,
            new,
            note,
        }
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_per_seed() {
        let mut a = Rhythm::new(7);
        let mut b = Rhythm::new(7);
        let mut c = Rhythm::new(8);
        let mut differs = false;
        for _ in 0..3000 {
            let (x, y, z) = (a.step(), b.step(), c.step());
            assert_eq!(x, y);
            differs |= x.values != z.values;
        }
        assert!(differs, "different seeds should give different series");
    }

    #[test]
    fn values_in_unit_interval_and_rules_change() {
        let mut r = Rhythm::new(42);
        let mut changes = 0;
        for _ in 0..(20 * 60 * 5) {
            let t = r.step();
            for v in t.values {
                assert!((0.0..=1.0).contains(&v), "{v} out of range");
            }
            assert!((1..=4).contains(&t.gateway));
            if let Some(c) = t.rule_change {
                assert_ne!(c.old, c.new);
                changes += 1;
            }
        }
        assert!(
            (4..=14).contains(&changes),
            "{changes} rule changes in 20 min"
        );
    }

    fn mean(v: &[[f64; 4]], g: usize) -> f64 {
        v.iter().map(|x| x[g]).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn loop_settles_after_start() {
        let mut r = Rhythm::new(3);
        // Stop before the first rule change (≥ 90 s).
        let ticks: Vec<_> = (0..(85 * 5)).map(|_| r.step()).collect();
        let early: Vec<_> = ticks[..50].iter().map(|t| t.values).collect();
        let late: Vec<_> = ticks[ticks.len() - 50..].iter().map(|t| t.values).collect();
        assert!(mean(&late, 0) < mean(&early, 0), "phase_diff decays");
        assert!(mean(&late, 1) < mean(&early, 1), "entropy converges down");
        assert!(mean(&late, 2) > mean(&early, 2), "creative band rises");
        assert!(mean(&late, 3) < mean(&early, 3), "risk band falls");
        assert_eq!(ticks[0].gateway, 1);
        assert_eq!(ticks[ticks.len() - 1].gateway, 4);
    }

    #[test]
    fn rule_changes_continue_from_set_values() {
        let mut r = Rhythm::new(5);
        r.set_rule_value("creative_min", 0.26);
        let first = (0..(60 * 60 * 5))
            .filter_map(|_| r.step().rule_change)
            .find(|c| c.rule == "creative_min")
            .expect("a creative_min change within an hour");
        assert_eq!(first.old, 0.26);
    }

    #[test]
    fn rule_change_perturbs() {
        let mut r = Rhythm::new(11);
        let mut before = Vec::new();
        loop {
            let t = r.step();
            if t.rule_change.is_some() {
                break;
            }
            before.push(t.values);
        }
        let after: Vec<_> = (0..25).map(|_| r.step().values).collect();
        let before = &before[before.len() - 25..];
        assert!(mean(&after, 3) > mean(before, 3), "risk rises after a kick");
    }
}
