//! The sync detail of the health pane (`v`): where the newest changes have reached in
//! canary order, and open conflicts with their age, owner and escalation
//! (docs/sync.md). Lines only.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};

use crate::app::App;

use crate::domain::hq::sync::{BranchState, ChangeProgress, ConflictPolicy, OpenConflict};
use crate::domain::sanitize::sanitize;
use crate::theme::Theme;

pub fn lines(
    changes: &[ChangeProgress],
    conflicts: &[OpenConflict],
    policy: Option<&ConflictPolicy>,
    now: DateTime<Utc>,
    t: &Theme,
) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let head = |s: &str| {
        Line::from(Span::styled(
            s.to_string(),
            t.fg(t.title).add_modifier(Modifier::BOLD),
        ))
    };
    out.push(head(&match policy {
        Some(p) => format!(
            "Conflicts — {} wins; {} is told; after {} h: {}",
            match p.priority {
                crate::domain::hq::sync::ConflictPriority::Cell => "the branch",
                crate::domain::hq::sync::ConflictPriority::Hq => "HQ",
            },
            sanitize(&p.on_conflict.notify),
            p.on_conflict.timeout_hours,
            sanitize(&p.on_conflict.escalate_to)
        ),
        None => "Conflicts — no hq/sync/conflict-policy.json: no owner or deadline".to_string(),
    }));
    if conflicts.is_empty() {
        out.push(Line::from(Span::styled("  none open", t.dimmed())));
    }
    for c in conflicts {
        let mut l = vec![
            Span::styled(format!("  {:<12}", c.id), t.text()),
            Span::styled(format!("{:<12}", c.branch), t.text()),
            Span::styled(format!("open {:>4} h  ", c.age_hours), t.text()),
        ];
        if let Some(o) = &c.owner {
            l.push(Span::styled(format!("owner {o}  "), t.dimmed()));
        }
        match (&c.deadline, c.escalated, &c.escalate_to) {
            (Some(_), true, Some(to)) => l.push(Span::styled(
                format!("ESCALATED to {to}"),
                t.fg(t.error).add_modifier(Modifier::BOLD),
            )),
            (Some(d), false, Some(to)) => l.push(Span::styled(
                format!("to {to} in {} h", (*d - now).num_hours().max(0)),
                t.fg(t.warn),
            )),
            _ => {}
        }
        out.push(Line::from(l));
    }
    out.push(Line::from(""));
    out.push(head("Changes, newest first, in sync order"));
    if changes.is_empty() {
        out.push(Line::from(Span::styled(
            "  no deploy, deploy_failed or rollback entry with a `change` on the ledger yet",
            t.dimmed(),
        )));
    }
    for c in changes {
        let mut l = vec![Span::styled(
            format!("  {}", sanitize(&c.change)),
            t.fg(t.accent).add_modifier(Modifier::BOLD),
        )];
        let done = c
            .branches
            .iter()
            .filter(|b| matches!(b.state, BranchState::Deployed { .. }))
            .count();
        l.push(Span::styled(
            format!("  {done}/{} deployed", c.branches.len()),
            t.text(),
        ));
        if c.halted {
            l.push(Span::styled(
                "  HALTED (onFailure: halt)",
                t.fg(t.error).add_modifier(Modifier::BOLD),
            ));
        }
        if c.retries_exhausted {
            l.push(Span::styled(
                "  retries exhausted",
                t.fg(t.error).add_modifier(Modifier::BOLD),
            ));
        }
        out.push(Line::from(l));
        for (i, b) in c.branches.iter().enumerate() {
            let (state, colour, txn) = match &b.state {
                BranchState::Pending => ("pending".to_string(), t.dim, None),
                BranchState::Deployed { txn } => ("deployed".to_string(), t.ok, Some(txn)),
                BranchState::Failed { txn, retries } => (
                    if *retries == 1 {
                        "failed (1 retry)".to_string()
                    } else if *retries > 0 {
                        format!("failed ({retries} retries)")
                    } else {
                        "failed".to_string()
                    },
                    t.error,
                    Some(txn),
                ),
                BranchState::RolledBack { txn } => ("rolled back".to_string(), t.warn, Some(txn)),
                BranchState::SkippedAfterHalt => ("skipped after halt".to_string(), t.warn, None),
            };
            out.push(Line::from(vec![
                Span::styled(format!("    {:>2} ", i + 1), t.dimmed()),
                Span::styled(format!("{:<14}", sanitize(&b.branch)), t.text()),
                Span::styled(format!("{state:<20}"), t.fg(colour)),
                Span::styled(
                    txn.map(|x| sanitize(x).into_owned()).unwrap_or_default(),
                    t.dimmed(),
                ),
            ]));
        }
    }
    out
}

/// The sync detail in the health pane's inner `area`.
pub fn render(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.shell().theme;
    let v = &app.panes().seed;
    let policy = app
        .data()
        .hq
        .as_ref()
        .and_then(|h| h.conflict_policy.as_ref());
    let mut rows = vec![Line::from(Span::styled(
        "Sync — where changes have reached  (v or esc: back to the branches)",
        t.dimmed(),
    ))];
    rows.extend(lines(&v.changes, &v.conflicts, policy, app.shell().now, t));
    frame.render_widget(Paragraph::new(rows).wrap(Wrap { trim: false }), area);
}
