//! Cost meter state kept on `App`: rows refreshed per second, alerts once per level.

use chrono::{DateTime, Utc};

use super::*;

impl App {
    pub(crate) fn note_outdated(&mut self, at: DateTime<Utc>) {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
            return;
        };
        for b in &reg.branches {
            let st = protocol_state(
                b.hq_protocol_version.as_deref(),
                &reg.hq_version,
                None,
                None,
                at,
            );
            if st == ProtocolState::Outdated {
                self.first_outdated.entry(b.id.clone()).or_insert(at);
            } else {
                self.first_outdated.remove(&b.id);
            }
        }
    }

    /// Protocol state of a branch (SPEC §3, `domain::hq::protocol_state`), with the
    /// time this console first saw it outdated.
    pub fn protocol_state(&self, branch: &str) -> crate::domain::hq::ProtocolState {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
            return ProtocolState::Unknown;
        };
        let Some(b) = reg.branches.iter().find(|b| b.id == branch) else {
            return ProtocolState::Unknown;
        };
        protocol_state(
            b.hq_protocol_version.as_deref(),
            &reg.hq_version,
            reg.migration.as_ref().and_then(|m| m.deprecate_after_days),
            self.first_outdated.get(branch).copied(),
            self.now,
        )
    }

    /// Re-evaluate the cost book at `now` (once a second, or after new entries).
    pub fn refresh_cost(&mut self) {
        self.cost.prune(self.now);
        let mut rows = self.cost.all(self.now);
        // Registry branches with no spend yet still get a row.
        for id in self.branch_order() {
            if !rows.iter().any(|r| r.branch == id) {
                rows.push(self.cost.branch(&id, self.now));
            }
        }
        rows.sort_by(|a, b| {
            b.mtd_cost
                .total_cmp(&a.mtd_cost)
                .then_with(|| a.branch.cmp(&b.branch))
        });
        self.cost_index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.branch.clone(), i))
            .collect();
        self.cost_rows = rows;
        self.cost_totals = Some(self.cost.totals(self.now));
        self.cost_stale = false;
        self.alert_cost();
    }

    /// `cost_limit_exceeded`: once per branch and level (throttle, notify, suspend), in
    /// the banner and — from a console with an operator key, so that many read-only
    /// consoles do not all post — through the notification rules. A level that drops
    /// (a new month) re-arms the alert.
    pub(crate) fn alert_cost(&mut self) {
        use crate::domain::cost::Escalation as E;
        let mut fired = Vec::new();
        for r in &self.cost_rows {
            let before = self.cost_alerted.get(&r.branch).copied().unwrap_or(E::None);
            if r.escalation > before {
                let pct = r.limit_ratio.map_or(String::new(), |x| {
                    format!(" at {:.0}% of its limit", x * 100.0)
                });
                fired.push(format!(
                    "cost_limit_exceeded: {}{pct} → {}",
                    crate::domain::sanitize::sanitize(&r.branch),
                    r.escalation.as_str()
                ));
            }
            if r.escalation != before {
                self.cost_alerted.insert(r.branch.clone(), r.escalation);
            }
        }
        // One notice on screen (the banner keeps three), one notification per branch.
        match fired.as_slice() {
            [] => {}
            [one] => self.toast(ToastLevel::Warn, one.clone()),
            many => self.toast(
                ToastLevel::Warn,
                format!(
                    "cost_limit_exceeded: {} branches — see the cost meter",
                    many.len()
                ),
            ),
        }
        if !self.readonly {
            for text in fired {
                self.commands.push(Command::Notify {
                    events: vec!["cost_limit_exceeded".into()],
                    text,
                });
            }
        }
    }

    /// The cost row of `branch`, if it has one (indexed on refresh, not searched).
    pub fn cost_row(&self, branch: &str) -> Option<&crate::domain::cost::BranchCost> {
        self.cost_index
            .get(branch)
            .and_then(|i| self.cost_rows.get(*i))
    }
}

impl App {
    /// `/` submitted in the cost pane.
    pub(crate) fn submit_cost_filter(&mut self, text: String) {
        self.cost_filter = text;
    }
}

impl App {
    /// Keys while the cost pane has focus.
    pub(crate) fn cost_action(&mut self, a: Action) {
        let _ = a;
    }
}
