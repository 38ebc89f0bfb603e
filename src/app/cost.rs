//! Cost meter state kept on `App`: rows refreshed per second, alerts once per level.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::*;
use crate::domain::cost::{BranchCost, Escalation as CostEscalation};

/// The cost meter's sort orders, cycled by `CycleSort`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostSort {
    /// Month-to-date cost, highest first — the default.
    #[default]
    Cost,
    /// Share of the tier's monthly token limit, highest first (no limit last).
    Limit,
    /// Burn rate over the last 24 h, highest first.
    Burn,
    /// By branch id.
    Id,
}

impl CostSort {
    pub fn label(self) -> &'static str {
        match self {
            CostSort::Cost => "cost",
            CostSort::Limit => "% of limit",
            CostSort::Burn => "burn rate",
            CostSort::Id => "id",
        }
    }

    pub fn next(self) -> Self {
        match self {
            CostSort::Cost => CostSort::Limit,
            CostSort::Limit => CostSort::Burn,
            CostSort::Burn => CostSort::Id,
            CostSort::Id => CostSort::Cost,
        }
    }
}

/// Cost states as the filter names them (`state:`).
pub const COST_STATES: [&str; 5] = ["ok", "heading", "throttle", "notify", "suspend"];

/// A cost row's state for the filter: `ok`, `heading` (will exceed before month
/// end), or the escalation level.
pub fn cost_state_name(r: &BranchCost) -> &'static str {
    match r.escalation {
        CostEscalation::None if r.will_exceed => "heading",
        CostEscalation::None => "ok",
        CostEscalation::Throttle => "throttle",
        CostEscalation::Notify => "notify",
        CostEscalation::Suspend => "suspend",
    }
}

/// The cost meter's view state: `visible` indexes `rows` in display order,
/// recomputed with the rows (once a second or on new entries) and on sort/filter
/// changes — never per frame.
#[derive(Debug, Clone, Default)]
pub struct CostView {
    /// Per-branch cost, fed entry by entry as the ledger grows (never re-scanned).
    pub book: crate::domain::cost::CostBook,
    /// `book` evaluated at `now`, refreshed on ingest and once a second — not in render.
    pub rows: Vec<crate::domain::cost::BranchCost>,
    pub totals: Option<crate::domain::cost::HqTotals>,
    /// Branch id → index into `rows`.
    pub(crate) index: HashMap<String, usize>,
    /// New entries arrived since `rows` was computed.
    pub(crate) stale: bool,
    /// The cost escalation level each branch was last alerted at (once per level).
    pub(crate) alerted: BTreeMap<String, CostEscalation>,
    pub sort: CostSort,
    /// The `/` filter; `filter.text` is what `/` shows again.
    pub filter: BranchFilter,
    pub visible: Vec<usize>,
    pub sel: usize,
    /// First row on screen.
    pub offset: usize,
    /// The operator moved the selection: from then on it follows its branch through
    /// re-sorts (before that it stays on the top row as the order settles).
    pub touched: bool,
}

impl App {
    pub(crate) fn note_outdated(&mut self, at: DateTime<Utc>) {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.data.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
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
                self.data.first_outdated.entry(b.id.clone()).or_insert(at);
            } else {
                self.data.first_outdated.remove(&b.id);
            }
        }
    }

    /// Protocol state of a branch (docs/configuration.md, `domain::hq::protocol_state`), with the
    /// time this console first saw it outdated.
    pub fn protocol_state(&self, branch: &str) -> crate::domain::hq::ProtocolState {
        use crate::domain::hq::{ProtocolState, protocol_state};
        let Some(reg) = self.data.hq.as_ref().and_then(|h| h.registry.as_ref()) else {
            return ProtocolState::Unknown;
        };
        let Some(b) = self.registry_branch(branch) else {
            return ProtocolState::Unknown;
        };
        protocol_state(
            b.hq_protocol_version.as_deref(),
            &reg.hq_version,
            reg.migration.as_ref().and_then(|m| m.deprecate_after_days),
            self.data.first_outdated.get(branch).copied(),
            self.shell.now,
        )
    }

    /// Re-evaluate the cost book at `now` (once a second, or after new entries).
    pub fn refresh_cost(&mut self) {
        let selected = self.selected_cost_branch();
        self.panes.cost.book.prune(self.shell.now);
        let mut rows = self.panes.cost.book.all(self.shell.now);
        // Registry branches with no spend yet still get a row (a set, not a search
        // per branch: 10,000 branches).
        let have: HashSet<String> = rows.iter().map(|r| r.branch.clone()).collect();
        let missing: Vec<String> = self
            .panes
            .health
            .sync_order()
            .iter()
            .filter(|id| !have.contains(*id))
            .cloned()
            .collect();
        for id in missing {
            rows.push(self.panes.cost.book.branch(&id, self.shell.now));
        }
        rows.sort_by(|a, b| {
            b.mtd_cost
                .total_cmp(&a.mtd_cost)
                .then_with(|| a.branch.cmp(&b.branch))
        });
        // The same sums as `CostBook::totals`, over the rows just computed (that would
        // evaluate every branch a second time: 10,000 branches, once a second).
        let mut totals = crate::domain::cost::HqTotals {
            today_cost: 0.0,
            mtd_cost: 0.0,
            mtd_tokens: 0,
            projected_cost: 0.0,
        };
        for r in &rows {
            totals.today_cost += r.today_cost;
            totals.mtd_cost += r.mtd_cost;
            totals.mtd_tokens = totals.mtd_tokens.saturating_add(r.mtd_tokens);
            totals.projected_cost += r.projected_cost;
        }
        self.panes.cost.index = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (r.branch.clone(), i))
            .collect();
        self.panes.cost.rows = rows;
        self.panes.cost.totals = Some(totals);
        self.panes.cost.stale = false;
        self.refresh_cost_order(selected);
        self.alert_cost();
    }

    /// `cost_limit_exceeded`: once per branch and level (throttle, notify, suspend), as
    /// a notice on screen. The console never sends it to people itself: one process per
    /// HQ does (`lumen watch`, or Alertmanager, to which the console posts its
    /// `CostOverLimit` alert), so three open consoles never notify three times. A
    /// level that drops (a new month) re-arms the notice.
    pub(crate) fn alert_cost(&mut self) {
        use crate::domain::cost::Escalation as E;
        let mut fired = Vec::new();
        for r in &self.panes.cost.rows {
            let before = self
                .panes
                .cost
                .alerted
                .get(&r.branch)
                .copied()
                .unwrap_or(E::None);
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
                self.panes
                    .cost
                    .alerted
                    .insert(r.branch.clone(), r.escalation);
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
    }

    /// The cost row of `branch`, if it has one (indexed on refresh, not searched).
    pub fn cost_row(&self, branch: &str) -> Option<&crate::domain::cost::BranchCost> {
        self.panes
            .cost
            .index
            .get(branch)
            .and_then(|i| self.panes.cost.rows.get(*i))
    }
}

impl CostView {
    /// The branch selected in the cost meter.
    pub fn selected_branch(&self) -> Option<&str> {
        let i = *self.visible.get(self.sel)?;
        self.rows.get(i).map(|r| r.branch.as_str())
    }

    /// Keys while the cost pane has focus; `page` rows fit on screen. True when the
    /// sort changed and the order must be recomputed (`App` knows the registry).
    pub(crate) fn on_action(&mut self, a: Action, page: usize) -> bool {
        if a == Action::CycleSort {
            self.sort = self.sort.next();
            return true;
        }
        let n = self.visible.len();
        self.touched |= super::step_table(&mut self.sel, &mut self.offset, n, a, page);
        false
    }
}

impl App {
    /// The branch selected in the cost meter.
    pub fn selected_cost_branch(&self) -> Option<String> {
        let i = *self.panes.cost.visible.get(self.panes.cost.sel)?;
        self.panes.cost.rows.get(i).map(|r| r.branch.clone())
    }

    /// Rows of the cost table that fit on screen now.
    fn cost_page(&self) -> usize {
        self.screen_map
            .table_rows
            .iter()
            .find(|(p, _)| *p == Pane::Cost)
            .map(|(_, n)| *n)
            .filter(|n| *n > 0)
            .unwrap_or(10)
    }

    /// Filter and sort the cost rows; the selection stays on `selected`.
    pub(crate) fn refresh_cost_order(&mut self, selected: Option<String>) {
        let f = &self.panes.cost.filter;
        let mut idx: Vec<usize> = self
            .panes
            .cost
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                let reg_tier = self
                    .registry_branch(&r.branch)
                    .and_then(|b| b.tier)
                    .map_or("", |t| t.as_str());
                f.matches(&r.branch, &[&r.cost_tier, reg_tier], cost_state_name(r))
            })
            .map(|(i, _)| i)
            .collect();
        let rows = &self.panes.cost.rows;
        let key = |i: &usize| rows.get(*i);
        match self.panes.cost.sort {
            // `rows` is already by cost, highest first.
            CostSort::Cost => {}
            CostSort::Limit => idx.sort_by(|a, b| {
                let (ra, rb) = (
                    key(a).and_then(|r| r.limit_ratio),
                    key(b).and_then(|r| r.limit_ratio),
                );
                rb.unwrap_or(f64::NEG_INFINITY)
                    .total_cmp(&ra.unwrap_or(f64::NEG_INFINITY))
                    .then(a.cmp(b))
            }),
            CostSort::Burn => idx.sort_by(|a, b| {
                let (ra, rb) = (
                    key(a).map_or(0.0, |r| r.burn_cost_per_hour),
                    key(b).map_or(0.0, |r| r.burn_cost_per_hour),
                );
                rb.total_cmp(&ra).then(a.cmp(b))
            }),
            CostSort::Id => idx.sort_by(|a, b| {
                key(a)
                    .map(|r| r.branch.as_str())
                    .cmp(&key(b).map(|r| r.branch.as_str()))
            }),
        }
        self.panes.cost.visible = idx;
        let n = self.panes.cost.visible.len();
        let found = selected.filter(|_| self.panes.cost.touched).and_then(|s| {
            self.panes
                .cost
                .visible
                .iter()
                .position(|i| self.panes.cost.rows.get(*i).is_some_and(|r| r.branch == s))
        });
        self.panes.cost.sel = found
            .unwrap_or(self.panes.cost.sel)
            .min(n.saturating_sub(1));
        let page = self.cost_page();
        self.panes.cost.offset =
            scroll_into_view(self.panes.cost.offset, self.panes.cost.sel, page, n);
        self.shell.dirty = true;
    }
}

impl App {
    /// `/` submitted in the cost pane.
    pub(crate) fn submit_cost_filter(&mut self, text: String) {
        match BranchFilter::parse(&text, "state", &COST_STATES) {
            Ok(f) => {
                let selected = self.selected_cost_branch();
                self.panes.cost.filter = f;
                self.panes.cost.filter.text = text.trim().to_string();
                self.refresh_cost_order(selected);
            }
            Err(e) => self.toast(ToastLevel::Warn, format!("filter: {e}")),
        }
    }
}

impl App {
    /// Keys while the cost pane has focus.
    pub(crate) fn cost_action(&mut self, a: Action) {
        let selected = self.selected_cost_branch();
        let page = self.cost_page();
        if self.panes.cost.on_action(a, page) {
            self.refresh_cost_order(selected);
        }
    }
}
