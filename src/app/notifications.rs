//! Every notice of the session (results, refusals, alerts), kept for the history
//! view (bounded), and which of them the notice strip shows now: info and warnings
//! for a few seconds, errors until they are seen (dismissed, or the history opened).
//! Pure: time comes in as arguments.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::ToastLevel;
use crate::domain::sanitize::sanitize;

/// Notices kept for the history view; older ones are dropped (and counted).
pub const HISTORY_CAP: usize = 500;
/// Seconds an info or warning notice stays in the strip.
pub const SHOW_SECS: i64 = 8;
/// Detail lines kept per notice (a hook's captured output), and characters per line.
pub const DETAIL_LINES: usize = 200;
pub const DETAIL_LINE_CHARS: usize = 400;

/// Rows the notice strip may take on a terminal `height` rows tall: two on a tall
/// screen (an error that stays and the newest notice), one otherwise.
pub fn strip_rows(height: u16) -> usize {
    if height >= 32 { 2 } else { 1 }
}

/// One notice.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// Unique for the session, increasing.
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub level: ToastLevel,
    /// Sanitised, one line.
    pub text: String,
    /// More to read in the history (a failed hook's output), sanitised, bounded.
    pub detail: Vec<String>,
    /// An error stays in the strip until seen.
    pub seen: bool,
}

impl Notice {
    /// Whether the strip shows it at `now`.
    pub fn showing(&self, now: DateTime<Utc>) -> bool {
        match self.level {
            ToastLevel::Error => !self.seen,
            _ => !self.seen && (now - self.at).num_seconds() < SHOW_SECS,
        }
    }
}

/// The session's notices, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Notifications {
    items: VecDeque<Notice>,
    next: u64,
    dropped: u64,
}

/// What the strip shows: the notices (most important first) and how many more
/// errors wait in the history.
#[derive(Debug, Clone, PartialEq)]
pub struct Strip<'a> {
    pub rows: Vec<&'a Notice>,
    pub more_errors: usize,
}

impl Notifications {
    /// Record a notice; returns its `seq`.
    pub fn push(&mut self, at: DateTime<Utc>, level: ToastLevel, text: &str) -> u64 {
        let seq = self.next;
        self.next += 1;
        self.items.push_back(Notice {
            seq,
            at,
            level,
            text: sanitize(text).into_owned(),
            detail: Vec::new(),
            seen: false,
        });
        while self.items.len() > HISTORY_CAP {
            self.items.pop_front();
            self.dropped += 1;
        }
        seq
    }

    /// Attach `text` (many lines: a hook's output) to the notice `seq`, sanitised and
    /// bounded (the last lines are kept: they say why it failed).
    pub fn attach_detail(&mut self, seq: u64, text: &str) {
        let Some(n) = self.items.iter_mut().find(|n| n.seq == seq) else {
            return;
        };
        let lines: Vec<&str> = text.lines().collect();
        let skip = lines.len().saturating_sub(DETAIL_LINES);
        if skip > 0 {
            n.detail.push(format!(
                "[{skip} earlier line(s) not kept; the ledger has more]"
            ));
        }
        for l in lines.into_iter().skip(skip) {
            let clean = sanitize(l);
            let mut line: String = clean.chars().take(DETAIL_LINE_CHARS).collect();
            if clean.chars().count() > DETAIL_LINE_CHARS {
                line.push('…');
            }
            n.detail.push(line);
        }
    }

    /// Oldest first.
    pub fn items(&self) -> impl DoubleEndedIterator<Item = &Notice> + ExactSizeIterator {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Notices dropped because the history was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    pub fn last(&self) -> Option<&Notice> {
        self.items.back()
    }

    /// Errors still waiting to be seen.
    pub fn unseen_errors(&self) -> usize {
        self.items
            .iter()
            .filter(|n| n.level == ToastLevel::Error && !n.seen)
            .count()
    }

    /// Mark every notice seen (the history was opened, or `dismiss`): the strip
    /// empties. Returns whether anything changed.
    pub fn mark_all_seen(&mut self) -> bool {
        let mut changed = false;
        for n in self.items.iter_mut().filter(|n| !n.seen) {
            n.seen = true;
            changed = true;
        }
        changed
    }

    /// What the strip shows at `now` in at most `rows` rows: unseen errors first
    /// (newest first: an info notice never pushes an error out), then the newest
    /// info and warnings still fresh (oldest of them first, so the newest sits next
    /// to the footer).
    pub fn strip(&self, now: DateTime<Utc>, rows: usize) -> Strip<'_> {
        let errors: Vec<&Notice> = self
            .items
            .iter()
            .rev()
            .filter(|n| n.level == ToastLevel::Error && n.showing(now))
            .collect();
        let fresh: Vec<&Notice> = self
            .items
            .iter()
            .rev()
            .filter(|n| n.level != ToastLevel::Error && n.showing(now))
            .take(rows)
            .collect();
        // Room for one fresh notice under the errors when there are two rows or more.
        let error_rows = if !fresh.is_empty() && rows >= 2 {
            rows - 1
        } else {
            rows
        };
        let mut out: Vec<&Notice> = errors.iter().take(error_rows).copied().collect();
        let room = rows.saturating_sub(out.len());
        out.extend(fresh.iter().take(room).rev().copied());
        Strip {
            more_errors: errors.len().saturating_sub(error_rows.min(errors.len())),
            rows: out,
        }
    }

    /// The `seq`s the strip shows at `now` (cheap: to notice when it changes).
    pub fn strip_key(&self, now: DateTime<Utc>, rows: usize) -> Vec<u64> {
        self.strip(now, rows).rows.iter().map(|n| n.seq).collect()
    }
}

/// Greedy word wrap to `width` columns (display width); words longer than a line
/// are cut across lines. Never returns an empty list.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    use unicode_width::UnicodeWidthChar;
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut cur_w = 0usize;
    for word in text.split(' ') {
        let word_w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
        let sep = usize::from(!cur.is_empty());
        if cur_w + sep + word_w <= width {
            if sep == 1 {
                cur.push(' ');
            }
            cur.push_str(word);
            cur_w += sep + word_w;
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
            cur_w = 0;
        }
        // A word wider than the line: cut it.
        for c in word.chars() {
            let w = c.width().unwrap_or(0);
            if cur_w + w > width && !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                cur_w = 0;
            }
            cur.push(c);
            cur_w += w;
        }
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}

/// How one row of the history view is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryRowKind {
    /// The first row of a notice: time and icon, then text.
    Head,
    /// The notice's text, continued.
    Text,
    /// Captured output (a hook's), indented.
    Detail,
    /// The line between notices.
    Gap,
}

/// One screen row of the history view.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryRow {
    pub kind: HistoryRowKind,
    pub level: ToastLevel,
    /// `HH:MM:SS` on a head row, empty otherwise.
    pub time: String,
    pub text: String,
}

/// Columns taken by the time and icon before the text.
pub const HISTORY_INDENT: usize = 12;

/// The history view's rows at `width` columns, newest notice first; text and output
/// wrap, nothing is cut.
pub fn history_rows(n: &Notifications, width: usize) -> Vec<HistoryRow> {
    let text_w = width.saturating_sub(HISTORY_INDENT).max(10);
    let mut rows = Vec::new();
    for (i, notice) in n.items().rev().enumerate() {
        if i > 0 {
            rows.push(HistoryRow {
                kind: HistoryRowKind::Gap,
                level: notice.level,
                time: String::new(),
                text: String::new(),
            });
        }
        for (j, line) in wrap(&notice.text, text_w).into_iter().enumerate() {
            rows.push(HistoryRow {
                kind: if j == 0 {
                    HistoryRowKind::Head
                } else {
                    HistoryRowKind::Text
                },
                level: notice.level,
                time: if j == 0 {
                    notice.at.format("%H:%M:%S").to_string()
                } else {
                    String::new()
                },
                text: line,
            });
        }
        for d in &notice.detail {
            for line in wrap(d, text_w.saturating_sub(2).max(8)) {
                rows.push(HistoryRow {
                    kind: HistoryRowKind::Detail,
                    level: notice.level,
                    time: String::new(),
                    text: line,
                });
            }
        }
    }
    rows
}

/// The open history view: how far it is scrolled (rows from the top).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistoryView {
    pub scroll: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0)
            .single()
            .unwrap_or_default()
    }

    #[test]
    fn info_fades_errors_stay_until_seen() {
        let mut n = Notifications::default();
        n.push(t(0), ToastLevel::Error, "rollback of TXN-1 stopped");
        n.push(t(1), ToastLevel::Info, "theme: light");
        n.push(t(2), ToastLevel::Info, "theme: dark");
        let s = n.strip(t(3), 1);
        assert_eq!(s.rows.len(), 1);
        assert_eq!(
            s.rows.first().map(|r| r.text.as_str()),
            Some("rollback of TXN-1 stopped")
        );
        let s = n.strip(t(3), 2);
        let texts: Vec<&str> = s.rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["rollback of TXN-1 stopped", "theme: dark"]);
        // Without an error, the two newest, the newest last.
        let mut quiet = Notifications::default();
        quiet.push(t(0), ToastLevel::Info, "a");
        quiet.push(t(1), ToastLevel::Warn, "b");
        quiet.push(t(2), ToastLevel::Info, "c");
        let texts: Vec<&str> = quiet
            .strip(t(3), 2)
            .rows
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(texts, ["b", "c"]);
        // Minutes later the info is gone, the error is not.
        let s = n.strip(t(600), 2);
        let texts: Vec<&str> = s.rows.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["rollback of TXN-1 stopped"]);
        assert_eq!(n.unseen_errors(), 1);
        assert!(n.mark_all_seen());
        assert!(!n.mark_all_seen());
        assert!(n.strip(t(600), 2).rows.is_empty());
        // Seen, but kept in the history.
        assert_eq!(n.len(), 3);
    }

    #[test]
    fn several_errors_count_what_is_not_shown() {
        let mut n = Notifications::default();
        for i in 0..4 {
            n.push(t(i), ToastLevel::Error, &format!("e{i}"));
        }
        let s = n.strip(t(5), 1);
        assert_eq!(s.rows.first().map(|r| r.text.as_str()), Some("e3"));
        assert_eq!(s.more_errors, 3);
        let s = n.strip(t(5), 2);
        assert_eq!(s.rows.len(), 2);
        assert_eq!(s.more_errors, 2);
        assert!(n.strip(t(5), 0).rows.is_empty());
    }

    #[test]
    fn history_is_bounded_and_counts_what_it_dropped() {
        let mut n = Notifications::default();
        for i in 0..(HISTORY_CAP as i64 + 7) {
            n.push(t(i), ToastLevel::Info, &format!("n{i}"));
        }
        assert_eq!(n.len(), HISTORY_CAP);
        assert_eq!(n.dropped(), 7);
        assert_eq!(n.items().next().map(|x| x.text.as_str()), Some("n7"));
    }

    #[test]
    fn text_and_detail_are_sanitised_and_bounded() {
        let mut n = Notifications::default();
        let seq = n.push(t(0), ToastLevel::Error, "bad\u{1b}[2Jthing");
        assert_eq!(n.last().map(|x| x.text.as_str()), Some("badthing"));
        let out: String = (0..300).map(|i| format!("line {i}\n")).collect();
        n.attach_detail(
            seq,
            &format!("{out}\u{1b}]52;c;AAAA\u{7}last {}", "x".repeat(1000)),
        );
        let d = &n.last().map(|x| x.detail.clone()).unwrap_or_default();
        assert_eq!(d.len(), DETAIL_LINES + 1);
        assert!(d.first().is_some_and(|l| l.contains("earlier line")));
        let last = d.last().cloned().unwrap_or_default();
        assert!(last.starts_with("last xxx"), "{last}");
        assert!(!last.contains('\u{1b}'));
        assert!(last.chars().count() <= DETAIL_LINE_CHARS + 1);
        // An unknown seq is ignored.
        n.attach_detail(999, "x");
    }

    #[test]
    fn wrap_keeps_every_word_and_cuts_long_ones() {
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        let text = "health check did not recover after the rollback of TXN-20261122-0007";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.chars().count() <= 20));
        assert_eq!(lines.join(" "), text);
        // Wide characters count two columns.
        assert_eq!(wrap("日本語", 4), ["日本", "語"]);
    }

    #[test]
    fn history_rows_are_newest_first_and_wrapped() {
        let mut n = Notifications::default();
        n.push(t(0), ToastLevel::Info, "first");
        let seq = n.push(
            t(60),
            ToastLevel::Error,
            "rollback of TXN-1 stopped: koosy failed, health check did not recover",
        );
        n.attach_detail(seq, "restarting koosy\nhealth check did not recover");
        let rows = history_rows(&n, 40);
        let head = rows.first().cloned();
        assert_eq!(head.as_ref().map(|r| r.kind), Some(HistoryRowKind::Head));
        assert_eq!(head.as_ref().map(|r| r.level), Some(ToastLevel::Error));
        assert!(
            rows.iter()
                .all(|r| r.text.chars().count() <= 40 - HISTORY_INDENT)
        );
        let details: Vec<&str> = rows
            .iter()
            .filter(|r| r.kind == HistoryRowKind::Detail)
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(
            details,
            ["restarting koosy", "health check did not", "recover"]
        );
        assert_eq!(rows.last().map(|r| r.text.as_str()), Some("first"));
    }
}
