//! The policy overlay (`P`): policy rules and their enforcement, the decision
//! engine's modes and fallback chain, and the escalation matrix (docs/sync.md).
//! Lines only; the overlay frame is drawn by the caller.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;

use crate::domain::hq::DecisionEngine;
use crate::domain::hq::{engine, sync};
use crate::domain::policy::{Enforcement, Policy};
use crate::domain::sanitize::sanitize;
use crate::theme::Theme;

pub fn lines(
    policy: Option<&Policy>,
    decision: Option<&DecisionEngine>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let head = |s: &str| {
        Line::from(Span::styled(
            s.to_string(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ))
    };
    let mut out = vec![head("Policy rules (policy.json)")];
    match policy {
        Some(p) if !p.rules.is_empty() => {
            for r in &p.rules {
                let (word, colour) = match r.enforcement {
                    Enforcement::Reject => ("reject", t.error),
                    Enforcement::Block => ("block", t.warn),
                    Enforcement::Abort => ("abort", t.error),
                };
                out.push(Line::from(vec![
                    Span::styled(format!("  {:<20}", sanitize(&r.id)), t.text()),
                    Span::styled(
                        format!("{word:<8}"),
                        t.fg(colour).add_modifier(Modifier::BOLD),
                    ),
                    Span::styled(sanitize(&r.description).into_owned(), t.dimmed()),
                ]));
            }
        }
        _ => out.push(Line::from(Span::styled("  no rules", t.dimmed()))),
    }
    out.push(Line::from(""));
    out.push(head("Decision engine (decision-engine.json)"));
    let modes = engine::modes(decision);
    if modes.is_empty() {
        out.push(Line::from(Span::styled("  no modes", t.dimmed())));
    }
    for m in &modes {
        out.push(Line::from(vec![
            Span::styled(
                format!(
                    "  {:>2} ",
                    m.priority
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| "-".into())
                ),
                t.dimmed(),
            ),
            Span::styled(
                format!("{:<12}", m.name),
                t.fg(t.accent).add_modifier(Modifier::BOLD),
            ),
            Span::styled(m.settings.join("  "), t.dimmed()),
        ]));
    }
    let chain = engine::fallback_chain(decision);
    out.push(Line::from(vec![
        Span::styled("  fallback  ", t.text()),
        Span::styled(
            if chain.is_empty() {
                "-".to_string()
            } else {
                chain.join(" → ")
            },
            t.fg(t.accent),
        ),
    ]));
    if let Some(d) = decision {
        let maint: Vec<String> = d
            .maintenance
            .iter()
            .filter(|(_, on)| **on)
            .map(|(b, _)| sanitize(b).into_owned())
            .collect();
        out.push(Line::from(vec![
            Span::styled("  kill switch ", t.text()),
            if d.kill_switch {
                Span::styled("ON", t.fg(t.error).add_modifier(Modifier::BOLD))
            } else {
                Span::styled("off", t.fg(t.ok))
            },
            Span::styled("   in maintenance: ", t.text()),
            Span::styled(
                if maint.is_empty() {
                    "none".to_string()
                } else {
                    maint.join(", ")
                },
                t.dimmed(),
            ),
        ]));
    }
    out.push(Line::from(""));
    out.push(head("Escalation"));
    for (name, steps) in sync::escalation_lists(decision) {
        out.push(Line::from(vec![
            Span::styled(format!("  {name:<16}"), t.text()),
            Span::styled(steps.join(" → "), t.fg(t.accent)),
        ]));
    }
    out
}

/// The overlay, when open: centred, as wide as the screen allows up to 110 columns.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    if !app.panes().seed.policy {
        return;
    }
    let t = &app.shell().theme;
    let hq = app.data().hq.as_ref();
    let rows = lines(
        hq.and_then(|h| h.rbac.as_ref()),
        hq.and_then(|h| h.decision.as_ref()),
        t,
    );
    let w = area.width.saturating_sub(4).min(110);
    let h = (rows.len() as u16 + 2).min(area.height);
    let popup = super::super::centered(area, w, h);
    let inner = super::super::popup(
        frame,
        app,
        popup,
        "Policy and decision engine (esc or P to close)",
    );
    if inner.height == 0 {
        return;
    }
    frame.render_widget(Paragraph::new(rows).wrap(Wrap { trim: false }), inner);
}
