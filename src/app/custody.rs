//! The console side of custody, sync and policy (docs/custody.md, docs/sync.md): the
//! custody view of the ceremony pane (`C`), the sync detail of the health pane (`v`),
//! the policy overlay (`P`) and Branch Lock (`B`). No I/O: the custody files arrive
//! with the HQ snapshot (read by the registry watcher), sync entries with the ledger
//! tail; the report, progress and conflicts are computed here from them.

use chrono::{DateTime, Utc};

use super::{App, Pane, ToastLevel};
use crate::domain::hq::custody::{self, CustodyReport};
use crate::domain::hq::sync::{self, ChangeProgress, OpenConflict, SYNC_LOG_CAP, SyncLog};
use crate::protocol::{Action, LedgerRecord};

/// How many of the newest changes the sync view follows.
pub const SYNC_CHANGES: usize = 5;

/// State of the custody, sync and policy views.
#[derive(Debug, Clone)]
pub struct SeedViews {
    /// The ceremony pane shows the custody view instead of the rehearsals.
    pub custody_view: bool,
    /// The custody report at the last refresh; `None` without custody files.
    pub custody: Option<CustodyReport>,
    /// The hour the report was computed for (days left change with the clock).
    custody_hour: Option<i64>,
    /// The health pane shows the sync detail instead of the branch table.
    pub sync_view: bool,
    /// Sync entries read from the ledger so far (bounded).
    log: SyncLog,
    /// Where the newest changes stand, newest first.
    pub changes: Vec<ChangeProgress>,
    /// Conflicts not yet resolved, oldest first.
    pub conflicts: Vec<OpenConflict>,
    /// The ledger or registry changed since `changes`/`conflicts` were computed.
    sync_stale: bool,
    /// The minute the conflict ages were computed for.
    sync_minute: Option<i64>,
    /// The policy overlay is open.
    pub policy: bool,
    /// Zoom before the custody view opened (it opens zoomed; closing restores it).
    zoom_before: bool,
}

impl Default for SeedViews {
    fn default() -> Self {
        SeedViews {
            custody_view: false,
            custody: None,
            custody_hour: None,
            sync_view: false,
            log: SyncLog::new(SYNC_LOG_CAP),
            changes: Vec::new(),
            conflicts: Vec::new(),
            sync_stale: true,
            sync_minute: None,
            policy: false,
            zoom_before: false,
        }
    }
}

impl App {
    /// Keep the ledger entries the sync view needs.
    pub(crate) fn seed_note_ledger(&mut self, records: &[LedgerRecord]) {
        let v = &mut self.panes.seed;
        for r in records {
            if let Ok(e) = &r.parsed {
                v.log.ingest(e);
            }
        }
        v.sync_stale = true;
    }

    /// The ledger was replaced: what it said before no longer holds.
    pub(crate) fn seed_ledger_reset(&mut self) {
        self.panes.seed.log.clear();
        self.panes.seed.sync_stale = true;
    }

    /// A new HQ snapshot: its custody files and sync policy may have changed.
    pub(crate) fn seed_on_registry(&mut self) {
        self.panes.seed.custody_hour = None;
        self.panes.seed.sync_stale = true;
        self.seed_refresh();
    }

    /// The clock moved: days left and conflict ages follow it.
    pub(crate) fn seed_tick(&mut self) {
        self.seed_refresh();
    }

    fn seed_refresh(&mut self) {
        let now = self.shell.now;
        let hour = now.timestamp().div_euclid(3600);
        if self.panes.seed.custody_hour != Some(hour) {
            self.panes.seed.custody_hour = Some(hour);
            let report = self
                .data
                .hq
                .as_ref()
                .and_then(|h| h.custody.as_ref())
                .filter(|c| !c.is_empty())
                .map(|c| custody::assess(c, now));
            if report != self.panes.seed.custody {
                self.panes.seed.custody = report;
                self.shell.dirty = true;
            }
        }
        // Sync progress only matters while it is on screen.
        let minute = now.timestamp().div_euclid(60);
        let v = &self.panes.seed;
        if !v.sync_view || (!v.sync_stale && v.sync_minute == Some(minute)) {
            return;
        }
        self.refresh_sync(now);
    }

    fn refresh_sync(&mut self, now: DateTime<Utc>) {
        let order = self.panes.health.sync_order().to_vec();
        let hq = self.data.hq.as_ref();
        let plan = hq.and_then(|h| h.sync_plan.as_ref());
        let policy = hq.and_then(|h| h.conflict_policy.as_ref());
        let v = &mut self.panes.seed;
        let entries = v.log.entries();
        v.changes = sync::sync_progress(entries, &order, plan, SYNC_CHANGES);
        v.conflicts = sync::open_conflicts(entries, policy, now);
        v.sync_stale = false;
        v.sync_minute = Some(now.timestamp().div_euclid(60));
        self.shell.dirty = true;
    }

    /// `C`, `v` and `P`.
    pub(crate) fn seed_action(&mut self, a: Action) {
        match a {
            Action::CustodyView => {
                self.shell.focus = Pane::Ceremony;
                if self.panes.seed.custody_view {
                    self.close_custody_view();
                } else {
                    // The ceremony pane is small beside the others: the view opens
                    // zoomed, and closing it gives the layout back.
                    self.panes.seed.custody_view = true;
                    self.panes.seed.zoom_before = self.shell.zoom;
                    self.shell.zoom = true;
                    self.seed_refresh();
                }
            }
            Action::SyncView => {
                if self.shell.focus != Pane::Health {
                    self.toast(
                        ToastLevel::Info,
                        "sync view: focus the health pane (1) first",
                    );
                    return;
                }
                let v = &mut self.panes.seed;
                v.sync_view = !v.sync_view;
                if v.sync_view {
                    self.refresh_sync(self.shell.now);
                }
            }
            Action::PolicyOverlay => self.panes.seed.policy = true,
            _ => {}
        }
    }

    /// Esc in the ceremony or health pane closes the custody or sync view first.
    pub(crate) fn seed_back(&mut self) -> bool {
        match self.shell.focus {
            Pane::Ceremony => self.close_custody_view(),
            Pane::Health => std::mem::take(&mut self.panes.seed.sync_view),
            _ => false,
        }
    }

    fn close_custody_view(&mut self) -> bool {
        let was = std::mem::take(&mut self.panes.seed.custody_view);
        if was {
            self.shell.zoom = self.panes.seed.zoom_before;
        }
        was
    }

    /// Whether the custody or sync view covers the focused pane and `a` would act on
    /// what it hides (a selection, a scenario): such keys wait until it is closed.
    pub(crate) fn seed_covers(&mut self, a: Action) -> bool {
        let v = &self.panes.seed;
        let covered = match self.shell.focus {
            Pane::Ceremony => v.custody_view,
            Pane::Health => v.sync_view,
            _ => false,
        };
        if !covered
            || matches!(
                a,
                Action::CustodyView
                    | Action::SyncView
                    | Action::PolicyOverlay
                    | Action::KillSwitch
                    | Action::RuleRollback
            )
        {
            return false;
        }
        if a.operation().is_some() {
            let which = if self.shell.focus == Pane::Health {
                "close the sync view first (v)"
            } else {
                "close the custody view first (C)"
            };
            self.toast(ToastLevel::Info, format!("{}: {which}", a.describe()));
        }
        true
    }

    /// Keys while the policy overlay is open: `P`, Esc or `?` close it, `q` quits,
    /// everything else is swallowed. False when it is closed.
    pub(crate) fn policy_overlay_key(&mut self, a: Option<Action>) -> bool {
        if !self.panes.seed.policy {
            return false;
        }
        self.shell.dirty = true;
        match a {
            Some(Action::PolicyOverlay | Action::Back | Action::ToggleHelp) => {
                self.panes.seed.policy = false
            }
            Some(Action::Quit) => self.shell.should_quit = true,
            _ => {}
        }
        true
    }
}
