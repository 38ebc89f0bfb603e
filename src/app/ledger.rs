//! Ledger state: recent lines, rejects, flow histogram, integrity; the ledger pane's keys.

use crate::protocol::{
    Command, IndexStatus, Integrity, LedgerDetail, LedgerRequest, LedgerViewMsg, PageLine,
};
use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};

use super::*;

/// Event class for the ledger's flow histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventClass {
    Deploy,
    Failure,
    Llm,
    Operator,
}

impl EventClass {
    pub const ALL: [EventClass; 4] = [
        EventClass::Deploy,
        EventClass::Failure,
        EventClass::Llm,
        EventClass::Operator,
    ];

    pub fn of(event: &str, status: Option<&str>) -> Option<EventClass> {
        if event.contains("fail") || status == Some("failed") || event == "cost_limit_exceeded" {
            return Some(EventClass::Failure);
        }
        if event.starts_with("deploy") || event == "pr_opened" {
            return Some(EventClass::Deploy);
        }
        if event.starts_with("llm") {
            return Some(EventClass::Llm);
        }
        if event.starts_with("rollback")
            || event.starts_with("kill_switch")
            || event.starts_with("maintenance")
            || event == "rule_rollback"
            || event == "ceremony_rehearsal"
        {
            return Some(EventClass::Operator);
        }
        None
    }

    pub fn label(self) -> &'static str {
        match self {
            EventClass::Deploy => "deploy",
            EventClass::Failure => "failure",
            EventClass::Llm => "llm",
            EventClass::Operator => "operator",
        }
    }
}

/// Width of one histogram bucket (15 min) and how many make a day.
pub const FLOW_BUCKET_SECS: i64 = 900;
pub const FLOW_BUCKETS: i64 = 96;

/// A rejected line, for the rejects view.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectRow {
    pub line: u64,
    pub offset: u64,
    pub reason: RejectReason,
    pub excerpt: String,
}

/// The ledger as the console sees it: a window of recent lines plus running totals.
#[derive(Debug, Clone, Default)]
pub struct LedgerState {
    /// The most recent lines (entries and rejects), oldest first.
    pub recent: VecDeque<LedgerRecord>,
    pub entries: u64,
    pub rejects: u64,
    pub reject_rows: VecDeque<RejectRow>,
    pub signed: u64,
    pub unchained: u64,
    pub pending_bytes: u64,
    pub last_line: u64,
    /// Flow histogram: 15-minute bucket index (unix secs / 900) → counts per class.
    pub flow: BTreeMap<i64, [u32; 4]>,
    /// Per-branch failures (`deploy_failed`, `health_fail`) with their time, for 24 h counts.
    pub failures: BTreeMap<String, VecDeque<DateTime<Utc>>>,
    /// Per-branch latest deploy id (for a rollback from a branch row).
    pub latest_deploy: BTreeMap<String, String>,
    pub resets: u64,
    /// Result and time of the last background verification.
    pub integrity: Option<(DateTime<Utc>, Integrity)>,
}

/// How many recent lines the console keeps in memory for the stream view.
pub const RECENT_LINES: usize = 5_000;
pub(crate) const REJECT_ROWS: usize = 1_000;

impl LedgerState {
    pub(crate) fn ingest(&mut self, records: Vec<LedgerRecord>, now: DateTime<Utc>) {
        for r in records {
            self.last_line = self.last_line.max(r.line);
            match &r.parsed {
                Ok(e) => {
                    self.entries += 1;
                    if e.signed {
                        self.signed += 1;
                    }
                    if !e.chained {
                        self.unchained += 1;
                    }
                    self.count_entry(e, now);
                }
                Err(reason) => {
                    self.rejects += 1;
                    self.reject_rows.push_back(RejectRow {
                        line: r.line,
                        offset: r.offset,
                        reason: reason.clone(),
                        excerpt: r.excerpt.clone(),
                    });
                    while self.reject_rows.len() > REJECT_ROWS {
                        self.reject_rows.pop_front();
                    }
                }
            }
            self.recent.push_back(r);
        }
        while self.recent.len() > RECENT_LINES {
            self.recent.pop_front();
        }
        self.prune(now);
    }

    pub(crate) fn count_entry(&mut self, e: &Entry, now: DateTime<Utc>) {
        let ts = e.timestamp.with_timezone(&Utc);
        if let Some(class) = EventClass::of(&e.event, e.status.as_deref()) {
            let bucket = ts.timestamp().div_euclid(FLOW_BUCKET_SECS);
            let slot = self.flow.entry(bucket).or_insert([0; 4]);
            let i = EventClass::ALL
                .iter()
                .position(|c| *c == class)
                .unwrap_or(0);
            if let Some(c) = slot.get_mut(i) {
                *c = c.saturating_add(1);
            }
        }
        if (e.event == "deploy_failed" || e.event == "health_fail")
            && now - ts < chrono::Duration::hours(24)
        {
            self.failures
                .entry(e.branch.clone())
                .or_default()
                .push_back(ts);
        }
        if e.event == "deploy" && e.status.as_deref() != Some("failed") {
            self.latest_deploy.insert(e.branch.clone(), e.id.clone());
        }
    }

    pub(crate) fn prune(&mut self, now: DateTime<Utc>) {
        let oldest = now.timestamp().div_euclid(FLOW_BUCKET_SECS) - FLOW_BUCKETS;
        self.flow = self.flow.split_off(&oldest);
        let day_ago = now - chrono::Duration::hours(24);
        for q in self.failures.values_mut() {
            while q.front().is_some_and(|t| *t < day_ago) {
                q.pop_front();
            }
        }
    }

    pub fn failures_24h(&self, branch: &str) -> usize {
        self.failures.get(branch).map_or(0, |q| q.len())
    }

    /// Entries of today (UTC) per class, for the totals line.
    pub fn today_total(&self, now: DateTime<Utc>) -> u32 {
        let midnight = now.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc());
        let Some(m) = midnight else { return 0 };
        let from = m.timestamp().div_euclid(FLOW_BUCKET_SECS);
        self.flow
            .range(from..)
            .map(|(_, c)| c.iter().sum::<u32>())
            .sum()
    }
}

/// Lines per page read through the index when scrolling beyond `recent`.
pub const PAGE_LINES: u64 = 128;
/// Pages kept in memory (the farthest from the selection are dropped first).
pub const MAX_PAGES: usize = 96;
/// Context lines around each filter match, cycled with `c`.
pub const CONTEXT_STEPS: [u64; 3] = [0, 2, 5];

/// The active filter and its results.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterState {
    pub filter: crate::domain::ledger_filter::LedgerFilter,
    pub generation: u64,
    /// Matching line numbers, ascending.
    pub matches: Vec<u64>,
    /// (bytes scanned, bytes total) while the scan runs; `None` once done.
    pub scanning: Option<(u64, u64)>,
    /// Selected match (index into `matches`) when not following.
    pub sel: usize,
}

/// How a line of the list is available.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LineSlot<'a> {
    Loaded(&'a LedgerRecord),
    Empty,
    Loading,
}

/// One row of the list: a line number, whether it is a filter match (context lines
/// are not) and whether it is selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub is_match: bool,
    pub selected: bool,
}

/// View state of the ledger pane (scroll, follow, filter, detail, rejects view).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LedgerView {
    /// Following the tail (newest line, or newest match, at the bottom).
    pub follow: bool,
    /// Selected line number (1-based) when not following and not filtered.
    pub sel: u64,
    /// Lines that arrived while paused.
    pub new_while_paused: u64,
    pub detail: bool,
    pub rejects: bool,
    /// The last filter submitted with `/` (recalled when `/` opens again).
    pub filter: String,
    /// The active filter; `None` shows every line.
    pub active: Option<FilterState>,
    /// Why the last submitted filter was refused (the old one stays).
    pub filter_error: Option<String>,
    pub generation: u64,
    /// Index into [`CONTEXT_STEPS`].
    pub context: usize,
    pub index: IndexStatus,
    /// Pages read through the index: page number → lines.
    pub pages: BTreeMap<u64, Vec<PageLine>>,
    /// Pages asked for and not yet answered.
    pub requested: std::collections::BTreeSet<u64>,
    /// The line whose detail is shown, and the detail once read.
    pub detail_line: u64,
    pub detail_data: Option<LedgerDetail>,
    pub detail_error: Option<String>,
    /// An id being looked up to jump to.
    pub jumping: Option<String>,
    /// `TailStarted` was sent.
    pub tail_started: bool,
    /// The ledger changed under the pane (truncated, replaced) and is being read
    /// again: when that was noticed, and what to say.
    pub notice: Option<(DateTime<Utc>, String)>,
}

/// How long the re-read notice stays after the re-read itself is done.
pub const NOTICE_SECS: i64 = 10;

impl LedgerView {
    pub fn context_lines(&self) -> u64 {
        CONTEXT_STEPS.get(self.context).copied().unwrap_or(0)
    }
}

impl App {
    /// Lines in the ledger as far as anything has seen (index or tail).
    pub fn ledger_total(&self) -> u64 {
        // While the index is being built its count is a prefix of the file, not the end.
        if self.panes.ledger_view.index.building {
            self.panes.ledger.last_line
        } else {
            self.panes
                .ledger_view
                .index
                .lines
                .max(self.panes.ledger.last_line)
        }
    }

    /// The selected line number, if any line exists.
    pub fn ledger_selected_line(&self) -> Option<u64> {
        let v = &self.panes.ledger_view;
        if let Some(f) = &v.active {
            let i = if v.follow {
                f.matches.len().checked_sub(1)?
            } else {
                f.sel
            };
            return f.matches.get(i).copied();
        }
        let total = self.ledger_total();
        if total == 0 {
            return None;
        }
        Some(if v.follow {
            total
        } else {
            v.sel.clamp(1, total)
        })
    }

    /// Line `n` from the tail's window or the page cache.
    pub fn ledger_line(&self, n: u64) -> LineSlot<'_> {
        let recent = &self.panes.ledger.recent;
        if let (Some(first), Some(last)) = (recent.front(), recent.back())
            && first.line <= n
            && n <= last.line
        {
            return match recent.binary_search_by_key(&n, |r| r.line) {
                Ok(i) => recent.get(i).map_or(LineSlot::Loading, LineSlot::Loaded),
                // The tail skips only empty lines.
                Err(_) => LineSlot::Empty,
            };
        }
        let page = n.saturating_sub(1) / PAGE_LINES;
        let Some(lines) = self.panes.ledger_view.pages.get(&page) else {
            return LineSlot::Loading;
        };
        match lines.iter().find(|l| l.line == n) {
            Some(PageLine {
                record: Some(r), ..
            }) => LineSlot::Loaded(r),
            Some(_) => LineSlot::Empty,
            None => LineSlot::Loading,
        }
    }

    /// The selected line's record, when it is loaded.
    pub fn ledger_selected_record(&self) -> Option<&LedgerRecord> {
        match self.ledger_line(self.ledger_selected_line()?) {
            LineSlot::Loaded(r) => Some(r),
            _ => None,
        }
    }

    /// The rows a list of `height` rows shows, oldest first. The selection is the
    /// last row, except near the end where the newest lines fill the view.
    pub fn ledger_rows(&self, height: usize) -> Vec<Row> {
        let height = height as u64;
        if height == 0 {
            return Vec::new();
        }
        let total = self.ledger_total();
        let sel = self.ledger_selected_line();
        let show_sel = !self.panes.ledger_view.follow;
        let Some(f) = &self.panes.ledger_view.active else {
            let Some(sel) = sel else { return Vec::new() };
            let mut end = if total - sel < height { total } else { sel };
            let start = end.saturating_sub(height - 1).max(1);
            if start == 1 {
                end = total.min(height);
            }
            return (start..=end)
                .map(|line| Row {
                    line,
                    is_match: false,
                    selected: show_sel && line == sel,
                })
                .collect();
        };
        let Some(k) = (if self.panes.ledger_view.follow {
            f.matches.len().checked_sub(1)
        } else {
            Some(f.sel)
        }) else {
            return Vec::new();
        };
        let c = self.panes.ledger_view.context_lines();
        let mut rows: VecDeque<Row> = VecDeque::new();
        let mut floor = u64::MAX; // smallest line emitted so far
        for j in (0..=k).rev() {
            let Some(&m) = f.matches.get(j) else { continue };
            let hi = if j == k {
                (m + c).min(total.max(m))
            } else {
                (m + c).min(floor.saturating_sub(1))
            };
            let lo = m.saturating_sub(c).max(1);
            let mut line = hi;
            while line >= lo && line > 0 {
                if line < floor {
                    let is_match = f.matches.binary_search(&line).is_ok();
                    rows.push_front(Row {
                        line,
                        is_match,
                        selected: show_sel && line == m && j == k,
                    });
                }
                if rows.len() as u64 >= height + c {
                    break;
                }
                line -= 1;
            }
            floor = floor.min(lo);
            if rows.len() as u64 >= height + c {
                break;
            }
        }
        // Keep the selected match (and its context after it) on screen.
        while rows.len() as u64 > height {
            rows.pop_front();
        }
        // Near the first match: fill the rest of the view with the following ones.
        let mut ceiling = rows.back().map_or(0, |r| r.line);
        for &m in f.matches.iter().skip(k + 1) {
            if rows.len() as u64 >= height {
                break;
            }
            let lo = m.saturating_sub(c).max(ceiling + 1).max(1);
            for line in lo..=(m + c).min(total.max(m)) {
                if rows.len() as u64 >= height {
                    break;
                }
                rows.push_back(Row {
                    line,
                    is_match: f.matches.binary_search(&line).is_ok(),
                    selected: false,
                });
                ceiling = line;
            }
        }
        rows.into()
    }

    /// Ask for the pages the list needs around the selection (a screen's worth), and
    /// drop pages far from it.
    pub(crate) fn ledger_fetch(&mut self) {
        let height = usize::from(self.shell.size.1.max(24));
        let rows = self.ledger_rows(height);
        let mut want: Vec<u64> = Vec::new();
        for r in &rows {
            if matches!(self.ledger_line(r.line), LineSlot::Loading) {
                let p = (r.line - 1) / PAGE_LINES;
                if !want.contains(&p) {
                    want.push(p);
                }
            }
        }
        // Read one page ahead upwards so scrolling up is smooth.
        if let Some(first) = rows.first()
            && first.line > PAGE_LINES
            && self.panes.ledger_view.active.is_none()
        {
            let p = (first.line - 1) / PAGE_LINES - 1;
            if matches!(self.ledger_line(p * PAGE_LINES + 1), LineSlot::Loading)
                && !want.contains(&p)
            {
                want.push(p);
            }
        }
        for p in want {
            if self.panes.ledger_view.requested.insert(p) {
                self.commands.push(Command::Ledger(LedgerRequest::Page {
                    first: p * PAGE_LINES + 1,
                    count: PAGE_LINES,
                }));
            }
        }
        let v = &mut self.panes.ledger_view;
        if v.pages.len() > MAX_PAGES {
            let here = rows.last().map_or(0, |r| (r.line - 1) / PAGE_LINES);
            let mut keys: Vec<u64> = v.pages.keys().copied().collect();
            keys.sort_by_key(|p| std::cmp::Reverse(p.abs_diff(here)));
            for p in keys.into_iter().take(v.pages.len() - MAX_PAGES) {
                v.pages.remove(&p);
            }
        }
    }

    fn ledger_page_size(&self) -> u64 {
        u64::from(self.shell.size.1.saturating_sub(12)).max(10)
    }

    pub(crate) fn ledger_action(&mut self, a: Action) {
        if self.panes.ledger_view.rejects && a != Action::Select {
            return;
        }
        if self.panes.ledger_view.detail {
            match a {
                Action::Select => self.ledger_detail_enter(),
                Action::Up | Action::Down | Action::PageUp | Action::PageDown => {}
                _ => {}
            }
            return;
        }
        let page = self.ledger_page_size();
        if self.panes.ledger_view.active.is_some() {
            self.ledger_filtered_action(a, page);
        } else {
            self.ledger_plain_action(a, page);
        }
        self.ledger_fetch();
    }

    fn ledger_plain_action(&mut self, a: Action, page: u64) {
        let total = self.ledger_total().max(1);
        let cur = self.ledger_selected_line().unwrap_or(0);
        let following = self.panes.ledger_view.follow;
        let go = |app: &mut App, line: u64| {
            app.panes.ledger_view.follow = false;
            app.panes.ledger_view.sel = line.clamp(1, total);
        };
        match a {
            Action::Up => go(self, cur.saturating_sub(1)),
            Action::PageUp => go(self, cur.saturating_sub(page)),
            Action::Down if !following => go(self, cur + 1),
            Action::PageDown if !following => go(self, cur + page),
            Action::Top => go(self, 1),
            Action::Bottom => resume(&mut self.panes.ledger_view),
            Action::ToggleFollow if following => go(self, cur),
            Action::ToggleFollow => resume(&mut self.panes.ledger_view),
            Action::Select => self.ledger_open_detail(),
            Action::NextMatch | Action::PrevMatch => self.toast(
                ToastLevel::Info,
                "no filter: press / to filter the whole ledger",
            ),
            Action::CycleContext => self.ledger_cycle_context(),
            _ => {}
        }
    }

    fn ledger_filtered_action(&mut self, a: Action, page: u64) {
        let Some(f) = &self.panes.ledger_view.active else {
            return;
        };
        let n = f.matches.len();
        let cur = if self.panes.ledger_view.follow {
            n.saturating_sub(1)
        } else {
            f.sel
        };
        let last = n.saturating_sub(1);
        let target = match a {
            Action::Up => Some(cur.saturating_sub(1)),
            Action::PageUp => Some(cur.saturating_sub(page as usize)),
            Action::Down if !self.panes.ledger_view.follow => Some((cur + 1).min(last)),
            Action::PageDown if !self.panes.ledger_view.follow => {
                Some((cur + page as usize).min(last))
            }
            Action::Top => Some(0),
            Action::NextMatch if n > 0 => {
                if cur >= last || self.panes.ledger_view.follow {
                    self.toast(ToastLevel::Info, "search wrapped to the first match");
                    Some(0)
                } else {
                    Some(cur + 1)
                }
            }
            Action::PrevMatch if n > 0 => {
                if cur == 0 {
                    self.toast(ToastLevel::Info, "search wrapped to the last match");
                    Some(last)
                } else {
                    Some(cur - 1)
                }
            }
            Action::NextMatch | Action::PrevMatch => {
                self.toast(ToastLevel::Info, "no matches (yet)");
                None
            }
            Action::Bottom => {
                resume(&mut self.panes.ledger_view);
                None
            }
            Action::ToggleFollow => {
                if self.panes.ledger_view.follow {
                    Some(cur)
                } else {
                    resume(&mut self.panes.ledger_view);
                    None
                }
            }
            Action::Select => {
                self.ledger_open_detail();
                None
            }
            Action::CycleContext => {
                self.ledger_cycle_context();
                None
            }
            _ => None,
        };
        if let Some(i) = target
            && n > 0
        {
            self.panes.ledger_view.follow = false;
            if let Some(f) = self.panes.ledger_view.active.as_mut() {
                f.sel = i.min(last);
            }
        }
    }

    fn ledger_cycle_context(&mut self) {
        let v = &mut self.panes.ledger_view;
        v.context = (v.context + 1) % CONTEXT_STEPS.len();
        let c = v.context_lines();
        self.toast(ToastLevel::Info, format!("filter context: {c} line(s)"));
    }

    fn ledger_open_detail(&mut self) {
        let Some(line) = self.ledger_selected_line() else {
            return;
        };
        let offset = match self.ledger_line(line) {
            LineSlot::Loaded(r) => r.offset,
            LineSlot::Empty => {
                self.toast(ToastLevel::Info, format!("line {line} is empty"));
                return;
            }
            LineSlot::Loading => {
                self.toast(ToastLevel::Info, format!("line {line} is still loading"));
                return;
            }
        };
        let v = &mut self.panes.ledger_view;
        v.detail = true;
        v.rejects = false;
        v.detail_line = line;
        v.detail_data = None;
        v.detail_error = None;
        self.commands
            .push(Command::Ledger(LedgerRequest::Detail { line, offset }));
    }

    /// Enter in the detail view: jump to a rollback's target, else close.
    fn ledger_detail_enter(&mut self) {
        let target = self
            .panes
            .ledger_view
            .detail_data
            .as_ref()
            .and_then(|d| d.target.clone());
        match target {
            Some(id) => {
                self.toast(
                    ToastLevel::Info,
                    format!("looking for {}…", sanitize_id(&id)),
                );
                self.panes.ledger_view.jumping = Some(id.clone());
                self.commands
                    .push(Command::Ledger(LedgerRequest::FindId { id }));
            }
            None => self.panes.ledger_view.detail = false,
        }
    }

    /// New lines from the tail (called from `handle_msg`).
    pub(crate) fn ledger_on_appended(&mut self, n: u64) {
        if !self.panes.ledger_view.tail_started {
            self.panes.ledger_view.tail_started = true;
            self.commands
                .push(Command::Ledger(LedgerRequest::TailStarted));
        }
        if !self.panes.ledger_view.follow {
            self.panes.ledger_view.new_while_paused += n;
        }
    }

    /// The re-read notice, while the ledger is being read again after it changed
    /// (and for [`NOTICE_SECS`] after).
    pub fn ledger_notice(&self) -> Option<&str> {
        let v = &self.panes.ledger_view;
        let (at, text) = v.notice.as_ref()?;
        let busy = v.index.building || v.active.as_ref().is_some_and(|f| f.scanning.is_some());
        (busy || (self.shell.now - *at).num_seconds() < NOTICE_SECS).then_some(text.as_str())
    }

    fn ledger_set_notice(&mut self, text: String) {
        self.panes.ledger_view.notice = Some((self.shell.now, text));
        self.shell.dirty = true;
    }

    /// The ledger was truncated or replaced: drop everything read from it.
    pub(crate) fn ledger_view_reset(&mut self) {
        self.ledger_set_notice("the ledger was truncated or replaced — re-reading it".into());
        let v = &mut self.panes.ledger_view;
        v.pages.clear();
        v.requested.clear();
        v.sel = 1;
        v.follow = true;
        v.detail_data = None;
        if let Some(f) = v.active.take() {
            let text = f.filter.source.clone();
            self.ledger_filter_submitted(text);
        }
    }

    /// A message from the ledger reader.
    pub(crate) fn on_ledger_view(&mut self, m: LedgerViewMsg) {
        let v = &mut self.panes.ledger_view;
        match m {
            LedgerViewMsg::Index(s) => v.index = s,
            LedgerViewMsg::Page { first, lines } => {
                let p = first.saturating_sub(1) / PAGE_LINES;
                v.requested.remove(&p);
                v.pages.insert(p, lines);
            }
            LedgerViewMsg::PageFailed { first, error } => {
                v.requested.remove(&(first.saturating_sub(1) / PAGE_LINES));
                self.toast(ToastLevel::Error, format!("ledger: {error}"));
            }
            LedgerViewMsg::Matches {
                generation,
                lines,
                scanned,
                total,
                done,
            } => {
                if let Some(f) = v.active.as_mut()
                    && f.generation == generation
                {
                    f.matches.extend(lines);
                    f.scanning = if done { None } else { Some((scanned, total)) };
                }
            }
            LedgerViewMsg::FilterFailed { generation, error } => {
                if v.active
                    .as_ref()
                    .is_some_and(|f| f.generation == generation)
                {
                    v.filter_error = Some(error);
                    if let Some(f) = v.active.as_mut() {
                        f.scanning = None;
                    }
                }
            }
            LedgerViewMsg::Detail(d) => {
                if v.detail && v.detail_line == d.line {
                    v.detail_data = Some(*d);
                }
            }
            LedgerViewMsg::DetailFailed { line, error } => {
                if v.detail && v.detail_line == line {
                    v.detail_error = Some(error);
                }
            }
            LedgerViewMsg::Found { id, at } => {
                if v.jumping.as_deref() == Some(id.as_str()) {
                    v.jumping = None;
                    self.ledger_jump(&id, at);
                }
            }
            LedgerViewMsg::Reread { reason } => {
                // Offsets from the old file must not be used: drop the pages (asked
                // again below through the new index) and a detail read from them.
                v.pages.clear();
                v.requested.clear();
                v.detail_data = None;
                v.detail = false;
                self.ledger_set_notice(reason);
            }
            LedgerViewMsg::FilterRestarted { generation, reason } => {
                if let Some(f) = v.active.as_mut()
                    && f.generation == generation
                {
                    f.matches.clear();
                    f.sel = 0;
                    f.scanning = Some((0, v.index.bytes_total.max(1)));
                    self.ledger_set_notice(reason);
                }
            }
        }
        self.ledger_fetch();
    }

    fn ledger_jump(&mut self, id: &str, at: Option<(u64, u64)>) {
        let Some((line, offset)) = at else {
            self.toast(
                ToastLevel::Warn,
                format!("{} is not in the ledger", sanitize_id(id)),
            );
            return;
        };
        let v = &mut self.panes.ledger_view;
        let in_matches = v.active.as_ref().map(|f| f.matches.binary_search(&line));
        match in_matches {
            Some(Ok(i)) => {
                if let Some(f) = v.active.as_mut() {
                    f.sel = i;
                }
            }
            Some(Err(_)) => {
                // The target is not a match: show every line so it can be selected.
                v.active = None;
                v.generation += 1;
                let generation = v.generation;
                self.commands.push(Command::Ledger(LedgerRequest::Filter {
                    generation,
                    filter: None,
                }));
                self.toast(
                    ToastLevel::Info,
                    "filter cleared to show the rollback's target",
                );
            }
            None => {}
        }
        let v = &mut self.panes.ledger_view;
        v.follow = false;
        v.sel = line;
        v.detail = true;
        v.detail_line = line;
        v.detail_data = None;
        v.detail_error = None;
        self.commands
            .push(Command::Ledger(LedgerRequest::Detail { line, offset }));
        self.toast(
            ToastLevel::Info,
            format!("→ {} at line {line}", sanitize_id(id)),
        );
    }
}

fn resume(v: &mut LedgerView) {
    v.follow = true;
    v.new_while_paused = 0;
}

fn sanitize_id(id: &str) -> String {
    crate::domain::sanitize::sanitize(id)
        .chars()
        .take(60)
        .collect()
}

impl App {
    /// `/` submitted in the ledger pane: parse, then scan the whole ledger in the
    /// background. An empty filter clears it; a bad one is reported and the old one
    /// stays.
    pub fn submit_ledger_filter(&mut self, text: String) -> Vec<Command> {
        self.ledger_filter_submitted(text);
        std::mem::take(&mut self.commands)
    }

    pub(crate) fn ledger_filter_submitted(&mut self, text: String) {
        use crate::domain::ledger_filter::LedgerFilter;
        self.shell.dirty = true;
        self.panes.ledger_view.filter = text.trim().to_string();
        let parsed = match LedgerFilter::parse(&text, self.shell.now) {
            Ok(f) => f,
            Err(e) => {
                self.panes.ledger_view.filter_error = Some(e.to_string());
                return;
            }
        };
        let v = &mut self.panes.ledger_view;
        v.filter_error = None;
        v.generation += 1;
        let generation = v.generation;
        v.follow = true;
        v.new_while_paused = 0;
        v.detail = false;
        if parsed.is_empty() {
            v.active = None;
            self.commands.push(Command::Ledger(LedgerRequest::Filter {
                generation,
                filter: None,
            }));
        } else {
            v.active = Some(FilterState {
                filter: parsed.clone(),
                generation,
                matches: Vec::new(),
                scanning: Some((0, v.index.bytes_total)),
                sel: 0,
            });
            self.commands.push(Command::Ledger(LedgerRequest::Filter {
                generation,
                filter: Some(parsed),
            }));
        }
        self.ledger_fetch();
    }
}

impl App {
    /// Esc in the ledger pane: close the detail or rejects view if one is open.
    pub(crate) fn ledger_back(&mut self) -> bool {
        let open = self.panes.ledger_view.detail || self.panes.ledger_view.rejects;
        self.panes.ledger_view.detail = false;
        self.panes.ledger_view.rejects = false;
        open
    }
}
