//! The header summary (always visible: what is broken, in five seconds) and the
//! order of the alerts view.
//!
//! Long form, for wide terminals:
//! `2 down · 1 deploy failed · 1 over budget · ledger ✓ · kill switch off`, followed
//! by one segment per other kind of alert that fires (`1 kill switch violation`,
//! `2 conflicts overdue`, …).
//! Short form, for 80 columns: `2↓ 1✗dep 1$ L✓ KS off +3`: branches down, deploys
//! failed, branches over budget, ledger verified (`L✓`, `L✗`, `L?` not yet
//! checked), kill switch (`KS off`, `KS ON`, `KS —` not configured), and `+N` other
//! firing alerts. The five first segments are always there, so the eye learns where
//! to look.

use std::cmp::Ordering;

use unicode_width::UnicodeWidthStr;

use super::inputs::{Inputs, IntegrityFacts};
use super::{Alert, AlertName, Severity};

/// How a segment should be coloured (the theme maps it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tone {
    /// All good (`0 down`, `ledger ✓`).
    Ok,
    /// Not known or not configured.
    Muted,
    Info,
    Warning,
    Critical,
}

impl Tone {
    fn of(s: Severity) -> Tone {
        match s {
            Severity::Critical => Tone::Critical,
            Severity::Warning => Tone::Warning,
            Severity::Info => Tone::Info,
        }
    }
}

/// The ledger's integrity as the badge shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerBadge {
    Verified,
    Failed,
    Unchecked,
}

/// Facts the header shows besides the firing alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderFacts {
    pub ledger: LedgerBadge,
    /// `None`: no kill switch configured anywhere.
    pub kill_switch: Option<bool>,
}

/// Header facts from the inputs; the kill switch from `decision-engine.json`, else
/// from the ledger (`Evaluator::ledger_kill_switch`).
pub fn header_facts(inputs: &Inputs<'_>, ledger_kill_switch: Option<bool>) -> HeaderFacts {
    let ledger = match inputs.integrity {
        None | Some(IntegrityFacts::Unchecked) => LedgerBadge::Unchecked,
        Some(IntegrityFacts::Checked(f)) if f.is_empty() => LedgerBadge::Verified,
        Some(IntegrityFacts::Checked(_)) => LedgerBadge::Failed,
    };
    HeaderFacts {
        ledger,
        kill_switch: inputs.kill_switch.or(ledger_kill_switch),
    }
}

/// One piece of the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub long: String,
    pub short: String,
    pub tone: Tone,
}

/// The header summary, in both forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Down, deploys failed, over budget, ledger, kill switch: always present.
    pub fixed: Vec<Segment>,
    /// One per other kind of firing alert (long form only).
    pub extras: Vec<Segment>,
    /// Firing alerts the extras stand for (the short form's `+N`).
    pub extra_count: usize,
    pub extra_tone: Tone,
}

const SEP_LONG: &str = " · ";
const SEP_SHORT: &str = " ";

fn width(parts: &[(String, Tone)]) -> usize {
    parts.iter().map(|(s, _)| s.width()).sum()
}

fn join(parts: &[(String, Tone)]) -> String {
    parts.iter().map(|(s, _)| s.as_str()).collect()
}

impl Summary {
    /// `2 down · 1 deploy failed · 1 over budget · ledger ✓ · kill switch off · …`
    pub fn long(&self) -> String {
        join(&self.long_parts(true))
    }

    /// `2↓ 1✗dep 1$ L✓ KS off +3`
    pub fn short(&self) -> String {
        join(&self.short_parts())
    }

    fn long_parts(&self, with_extras: bool) -> Vec<(String, Tone)> {
        let mut out = Vec::new();
        let extras: &[Segment] = if with_extras { &self.extras } else { &[] };
        let segs = self.fixed.iter().chain(extras);
        for (i, s) in segs.enumerate() {
            if i > 0 {
                out.push((SEP_LONG.to_owned(), Tone::Muted));
            }
            out.push((s.long.clone(), s.tone));
        }
        if !with_extras && self.extra_count > 0 {
            out.push((SEP_LONG.to_owned(), Tone::Muted));
            out.push((format!("+{} more", self.extra_count), self.extra_tone));
        }
        out
    }

    fn short_parts(&self) -> Vec<(String, Tone)> {
        let mut out = Vec::new();
        for (i, s) in self.fixed.iter().enumerate() {
            if i > 0 {
                out.push((SEP_SHORT.to_owned(), Tone::Muted));
            }
            out.push((s.short.clone(), s.tone));
        }
        if self.extra_count > 0 {
            out.push((SEP_SHORT.to_owned(), Tone::Muted));
            out.push((format!("+{}", self.extra_count), self.extra_tone));
        }
        out
    }

    /// The widest form that fits `width` columns, as coloured pieces: the long form;
    /// else the five long segments and `+N more`; else the short form; else the
    /// short form cut with `…`.
    pub fn fit_parts(&self, width_cols: usize) -> Vec<(String, Tone)> {
        for parts in [
            self.long_parts(true),
            self.long_parts(false),
            self.short_parts(),
        ] {
            if width(&parts) <= width_cols {
                return parts;
            }
        }
        let mut out = Vec::new();
        // One column is kept for the `…`.
        let Some(room) = width_cols.checked_sub(1) else {
            return out;
        };
        let mut used = 0;
        for (s, tone) in self.short_parts() {
            let w = s.width();
            if used + w <= room {
                used += w;
                out.push((s, tone));
                continue;
            }
            let mut cut = String::new();
            for ch in s.chars() {
                let cw = unicode_width::UnicodeWidthChar::width(ch).unwrap_or(0);
                if used + cw > room {
                    break;
                }
                used += cw;
                cut.push(ch);
            }
            cut.push('…');
            out.push((cut, tone));
            break;
        }
        out
    }

    /// [`Summary::fit_parts`] as one string.
    pub fn fit(&self, width_cols: usize) -> String {
        join(&self.fit_parts(width_cols))
    }
}

fn count_of(firing: &[Alert], name: AlertName) -> (usize, Option<Severity>) {
    let mut n = 0;
    let mut worst: Option<Severity> = None;
    for a in firing.iter().filter(|a| a.alertname == name) {
        n += 1;
        worst = Some(worst.map_or(a.severity, |w| w.min(a.severity)));
    }
    (n, worst)
}

fn tone_of(worst: Option<Severity>) -> Tone {
    worst.map_or(Tone::Ok, Tone::of)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The header summary from what fires and the header facts.
pub fn summarize(firing: &[Alert], facts: &HeaderFacts) -> Summary {
    let (down, down_w) = count_of(firing, AlertName::BranchDown);
    let (failed, failed_w) = count_of(firing, AlertName::DeployFailed);
    let (budget, budget_w) = count_of(firing, AlertName::CostOverLimit);
    let (integrity, _) = count_of(firing, AlertName::LedgerIntegrity);
    let ledger = if integrity > 0 {
        LedgerBadge::Failed
    } else {
        facts.ledger
    };
    let (ledger_long, ledger_short, ledger_tone) = match ledger {
        LedgerBadge::Verified => ("ledger ✓", "L✓", Tone::Ok),
        LedgerBadge::Failed => ("ledger ✗", "L✗", Tone::Critical),
        LedgerBadge::Unchecked => ("ledger ?", "L?", Tone::Muted),
    };
    let (ks_long, ks_short, ks_tone) = match facts.kill_switch {
        Some(true) => ("kill switch ON", "KS ON", Tone::Warning),
        Some(false) => ("kill switch off", "KS off", Tone::Ok),
        None => ("kill switch —", "KS —", Tone::Muted),
    };
    let fixed = vec![
        Segment {
            long: format!("{down} down"),
            short: format!("{down}↓"),
            tone: tone_of(down_w),
        },
        Segment {
            long: plural(failed, "deploy failed", "deploys failed"),
            short: format!("{failed}✗dep"),
            tone: tone_of(failed_w),
        },
        Segment {
            long: format!("{budget} over budget"),
            short: format!("{budget}$"),
            tone: tone_of(budget_w),
        },
        Segment {
            long: ledger_long.into(),
            short: ledger_short.into(),
            tone: ledger_tone,
        },
        Segment {
            long: ks_long.into(),
            short: ks_short.into(),
            tone: ks_tone,
        },
    ];
    let mut extras = Vec::new();
    let mut extra_count = 0;
    let mut extra_worst: Option<Severity> = None;
    for (name, one, many) in [
        (
            AlertName::KillSwitchViolation,
            "kill switch violation",
            "kill switch violations",
        ),
        (
            AlertName::ConflictUnresolved,
            "conflict overdue",
            "conflicts overdue",
        ),
        (
            AlertName::CustodyProblem,
            "custody problem",
            "custody problems",
        ),
        (AlertName::SourceDown, "source down", "sources down"),
        (AlertName::FileInvalid, "bad file", "bad files"),
        (AlertName::LedgerRejects, "new rejects", "new rejects"),
        (
            AlertName::RhythmThreshold,
            "rhythm out of band",
            "rhythm gauges out of band",
        ),
    ] {
        let (n, w) = count_of(firing, name);
        if n == 0 {
            continue;
        }
        extra_count += n;
        extra_worst = match (extra_worst, w) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let long = match name {
            // One alert stands for any number of rejected lines.
            AlertName::LedgerRejects => "new ledger rejects".to_owned(),
            AlertName::RhythmThreshold if n == 1 => one.to_owned(),
            _ => plural(n, one, many),
        };
        extras.push(Segment {
            long,
            short: String::new(),
            tone: tone_of(w),
        });
    }
    Summary {
        fixed,
        extras,
        extra_count,
        extra_tone: tone_of(extra_worst),
    }
}

/// The alerts view's order: critical first, then newest (`since` latest first), then
/// by name and labels so equal alerts never swap places between frames.
pub fn view_order(a: &Alert, b: &Alert) -> Ordering {
    a.severity
        .cmp(&b.severity)
        .then_with(|| b.since.cmp(&a.since))
        .then_with(|| a.alertname.cmp(&b.alertname))
        .then_with(|| a.labels.cmp(&b.labels))
}

/// Sort alerts for the alerts view (see [`view_order`]).
pub fn sort_for_view(alerts: &mut [Alert]) {
    alerts.sort_by(view_order);
}
