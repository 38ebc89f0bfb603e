//! The ledger pane's reader: everything the pane needs from the whole file, off the
//! update/render path. A worker thread owns the offset index
//! ([`crate::store::index::LineIndex`], built in the background at start) and
//! answers [`LedgerRequest`]s with [`LedgerViewMsg`]s:
//!
//! - pages of lines for scrolling beyond the tail's in-memory window (`pread` through
//!   the index; a page past what is indexed yet waits until the build gets there);
//! - a filter scan over the whole file: [`LineScan`] reads 8 MiB windows with `pread`
//!   into one buffer (no memory map: a map of a file that another process truncates
//!   kills the reader with SIGBUS), each split at a line boundary across both cores,
//!   matches reported window by window with true line numbers; then it follows the
//!   file and checks appended lines against the filter;
//! - the detail of one line: pretty JSON, chain status against the previous line,
//!   signature against `keys.json`;
//! - the line of an entry id (a rollback's `target`).
//!
//! Every read checks that the file is still the one being read (same inode, not
//! shorter, the byte before the read position still a line end). When it is not —
//! logrotate's `copytruncate`, a file renamed over it — the work starts again from
//! the start of the new file and the pane is told ([`LedgerViewMsg::Reread`],
//! [`LedgerViewMsg::FilterRestarted`]); an offset from the old file is never used
//! against the new one.
//!
//! Cost per line is bounded: a line longer than the 1 MiB limit is a reject that is
//! never held whole (the scan skips through it, a page or the detail reads its first
//! 4 KiB), and a pending last line is looked at once, not on every poll.
//!
//! [`Reader::serve`] does the work synchronously (tests call it directly); [`spawn`]
//! runs it on a thread fed by a channel.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::domain::hq::paths;
use crate::domain::ledger::{MAX_LINE, RejectReason, parse_line};
use crate::domain::ledger_filter::LedgerFilter;
use crate::domain::sanitize::sanitize;
use crate::protocol::{
    ChainStatus, IndexStatus, LedgerDetail, LedgerRequest, LedgerViewMsg, PageLine, SigStatus,
};
use crate::protocol::{LedgerRecord, Msg};
use crate::sources::ledger_tail::excerpt;
use crate::store::index::{FileId, LONG_LINE_HEAD, LedgerChange, LineIndex, ends_line_before};
use crate::store::keys::Keyring;

/// Bytes read at a time by a [`LineScan`] (more than a longest legal line).
pub const SCAN_WINDOW: usize = 8 << 20;
/// The latest the index build starts when the tail has not reported yet.
const BUILD_DELAY: Duration = Duration::from_secs(1);
/// How often the worker refreshes the index and reports its progress.
const TICK: Duration = Duration::from_millis(50);
/// Characters of one pretty-printed line shown in the detail view.
const PRETTY_CHARS: usize = 2_000;
/// The 64 zeros `prev` carries on the first line (docs/ledger.md).
const ZERO_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Block size of the backward and streaming reads of the detail view.
const BLOCK: usize = 64 * 1024;
/// No epoch built yet.
const NONE_BUILT: u64 = u64::MAX;

/// The notice for a file that changed under the reader.
fn reread_notice(c: LedgerChange) -> String {
    format!("{c} — re-reading it from the start")
}

/// The worker's state: the file, its index, and the keyring (loaded on first use).
pub struct Reader {
    root: PathBuf,
    path: PathBuf,
    pub index: LineIndex,
    /// The initial build has not finished (or not started).
    building: AtomicBool,
    build_error: std::sync::Mutex<Option<String>>,
    /// The index epoch the last build completed in (a build that the file changed
    /// under is followed by another one).
    built_epoch: AtomicU64,
}

impl Reader {
    /// A reader over `index` (already building, or call [`LineIndex::refresh`]).
    pub fn new(root: &Path, index: LineIndex) -> Reader {
        let built = index.epoch();
        Reader {
            root: root.to_path_buf(),
            path: root.join(paths::LEDGER),
            index,
            building: AtomicBool::new(false),
            build_error: std::sync::Mutex::new(None),
            built_epoch: AtomicU64::new(built),
        }
    }

    /// Index the whole file (a build; call on its own thread, with `building` set).
    pub fn build(&self) {
        self.building.store(true, Ordering::Release);
        let epoch = self.index.epoch();
        match self.index.refresh() {
            Err(e) => {
                if let Ok(mut slot) = self.build_error.lock() {
                    *slot = Some(format!("{}: {e}", self.path.display()));
                }
            }
            Ok(_) => {
                if let Ok(mut slot) = self.build_error.lock() {
                    *slot = None;
                }
            }
        }
        // Completed for this epoch unless the file changed while it was being read.
        if self.index.epoch() == epoch {
            self.built_epoch.store(epoch, Ordering::Release);
        }
        self.building.store(false, Ordering::Release);
    }

    fn is_building(&self) -> bool {
        self.building.load(Ordering::Acquire)
    }

    /// The index was emptied (the file changed) since the last complete build.
    fn needs_build(&self) -> bool {
        self.built_epoch.load(Ordering::Acquire) != self.index.epoch()
    }

    pub fn index_status(&self) -> IndexStatus {
        let p = self.index.progress();
        IndexStatus {
            lines: p.lines,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            building: self.is_building() || self.needs_build(),
            error: self.build_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Pick up appended lines (not while a build runs). When the file changed under
    /// the index this reads it again here, synchronously; the worker starts a
    /// background build for that instead.
    pub fn refresh(&self) {
        if self.is_building() {
            return;
        }
        if self.needs_build() {
            self.build();
        } else {
            let _ = self.index.refresh();
        }
    }

    /// Whether a page can be answered now: all its lines are indexed, or the index is
    /// complete (a short page at the end of the file).
    pub fn page_ready(&self, first: u64, count: u64) -> bool {
        (!self.is_building() && !self.needs_build())
            || self.index.len() >= first.saturating_sub(1).saturating_add(count)
    }

    /// Lines `first..first+count` (1-based), parsed like the tail does. A line over
    /// the 1 MiB limit is a `TooLong` reject read only for its excerpt. A file that
    /// changed under the index is an error carrying a [`LedgerChange`].
    pub fn page(&self, first: u64, count: u64) -> io::Result<Vec<PageLine>> {
        let from = first.saturating_sub(1);
        let mut out = Vec::new();
        self.index.visit(from, count, |i, offset, len, bytes| {
            let line = i + 1;
            let record = (len > 0).then(|| LedgerRecord {
                line,
                offset,
                parsed: if len > MAX_LINE as u64 {
                    Err(RejectReason::TooLong(
                        usize::try_from(len).unwrap_or(usize::MAX),
                    ))
                } else {
                    parse_line(bytes)
                },
                excerpt: excerpt(bytes),
            });
            out.push(PageLine {
                line,
                offset,
                record,
            });
        })?;
        Ok(out)
    }

    /// The file changed under a read: empty the index (a build reads it again) and
    /// tell the pane.
    fn changed(&self, c: LedgerChange) -> LedgerViewMsg {
        self.index.invalidate(c);
        LedgerViewMsg::Reread {
            reason: reread_notice(c),
        }
    }

    /// Answer one request synchronously. A filter is scanned to the end of the file
    /// (progress messages included, started again if the file changes meanwhile);
    /// following appends is [`spawn`]'s job.
    pub fn serve(&self, req: LedgerRequest) -> Vec<Msg> {
        let wrap = |m: LedgerViewMsg| Msg::LedgerView(m);
        match req {
            LedgerRequest::Page { first, count } => match self.page(first, count) {
                Ok(lines) => vec![wrap(LedgerViewMsg::Page { first, lines })],
                Err(e) => match LedgerChange::of(&e) {
                    Some(c) => vec![wrap(self.changed(c))],
                    None => vec![wrap(LedgerViewMsg::PageFailed {
                        first,
                        error: format!("{}: {e}", self.path.display()),
                    })],
                },
            },
            LedgerRequest::Filter { generation, filter } => {
                let Some(filter) = filter else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                let cancel = AtomicBool::new(false);
                for attempt in 1..=3 {
                    let r = scan_file(&self.path, &filter, &cancel, |m| {
                        out.push(wrap(m.into_msg(generation)))
                    });
                    match r {
                        Ok(_) => break,
                        Err(e) => match LedgerChange::of(&e) {
                            Some(c) if attempt < 3 => {
                                out.push(wrap(LedgerViewMsg::FilterRestarted {
                                    generation,
                                    reason: reread_notice(c),
                                }))
                            }
                            _ => {
                                out.push(wrap(LedgerViewMsg::FilterFailed {
                                    generation,
                                    error: format!("{}: {e}", self.path.display()),
                                }));
                                break;
                            }
                        },
                    }
                }
                out
            }
            LedgerRequest::Detail { line, offset } => {
                let keys = Keyring::load(&self.root);
                // The index knows the line's length: no need to read a long one through.
                let known = self
                    .index
                    .span(line.saturating_sub(1))
                    .filter(|(o, _)| *o == offset)
                    .map(|(_, l)| l);
                let msg = match detail_with_len(&self.path, line, offset, known, keys) {
                    Ok(d) => LedgerViewMsg::Detail(Box::new(d)),
                    Err(e) => LedgerViewMsg::DetailFailed {
                        line,
                        error: match LedgerChange::of(&e) {
                            Some(c) => format!("{c}: line {line} is not there any more"),
                            None => format!("{}: {e}", self.path.display()),
                        },
                    },
                };
                vec![wrap(msg)]
            }
            LedgerRequest::TailStarted => Vec::new(),
            LedgerRequest::FindId { id } => {
                let found = match find_id(&self.path, &id) {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!("ledger: finding {id}: {e}");
                        None
                    }
                };
                vec![wrap(LedgerViewMsg::Found { id, at: found })]
            }
        }
    }
}

/// What a scan reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanProgress {
    /// Matching line numbers found since the last report, ascending.
    pub lines: Vec<u64>,
    pub scanned_bytes: u64,
    pub total_bytes: u64,
    /// Complete lines scanned so far (the next line to check is this + 1).
    pub scanned_lines: u64,
    pub done: bool,
}

impl ScanProgress {
    fn into_msg(self, generation: u64) -> LedgerViewMsg {
        LedgerViewMsg::Matches {
            generation,
            lines: self.lines,
            scanned: self.scanned_bytes,
            total: self.total_bytes,
            done: self.done,
        }
    }
}

/// What a [`LineScan`] hands over.
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    /// Complete lines, each ending with `\n` (some may be longer than [`MAX_LINE`]:
    /// rejects), the first one numbered `first` (1-based), starting at byte `offset`.
    /// The callback answers with the number of lines in `data`.
    Lines {
        first: u64,
        offset: u64,
        data: &'a [u8],
    },
    /// A line longer than the scan window: a reject, never held in memory.
    Long { line: u64, offset: u64, len: u64 },
}

/// A resumable forward scan of the complete lines of a file that may be truncated
/// or replaced while it is read: `pread` into one [`SCAN_WINDOW`] buffer, every
/// window checked against the file's identity and length, lines longer than the
/// window skipped through without being kept, and the pending last line remembered
/// (how far it was looked at) so a later [`LineScan::run`] goes on from there.
pub struct LineScan {
    path: PathBuf,
    file: File,
    id: FileId,
    /// Offset of the next line to hand over.
    pos: u64,
    /// Complete lines before `pos`.
    line: u64,
    /// Bytes at `pos` already read without finding `\n`.
    looked: u64,
    buf: Vec<u8>,
    /// Bytes read so far (what following the file costs).
    read: u64,
}

impl LineScan {
    /// Open `path` at its start; `None` when it does not exist.
    pub fn open(path: &Path) -> io::Result<Option<LineScan>> {
        let file = match crate::store::fsutil::open_regular(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let id = FileId::of(&file.metadata()?);
        Ok(Some(LineScan {
            path: path.to_path_buf(),
            file,
            id,
            pos: 0,
            line: 0,
            looked: 0,
            buf: Vec::new(),
            read: 0,
        }))
    }

    /// (offset of the next line, complete lines before it).
    pub fn position(&self) -> (u64, u64) {
        (self.pos, self.line)
    }

    /// Bytes of the pending last line looked at so far.
    pub fn pending(&self) -> u64 {
        self.looked
    }

    /// Bytes read from the file so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }

    /// The file's length now, or an error carrying a [`LedgerChange`] when the path
    /// names another file, the file is shorter than what was read, or the byte before
    /// the read position is no longer a line end.
    pub fn check(&self) -> io::Result<u64> {
        match std::fs::metadata(&self.path) {
            Ok(m) if FileId::of(&m) == self.id => {}
            Ok(_) => return Err(LedgerChange::Replaced.error()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LedgerChange::Replaced.error());
            }
            Err(e) => return Err(e),
        }
        let len = self.file.metadata()?.len();
        if len < self.pos + self.looked || !ends_line_before(&self.file, self.pos)? {
            return Err(LedgerChange::Truncated.error());
        }
        Ok(len)
    }

    /// Read `want` bytes at `at` into the buffer; fewer means the file got shorter.
    fn fill(&mut self, at: u64, want: usize) -> io::Result<()> {
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut got = 0usize;
        while got < want {
            let Some(dst) = self.buf.get_mut(got..want) else {
                break;
            };
            match self.file.read_at(dst, at + got as u64) {
                Ok(0) => return Err(LedgerChange::Truncated.error()),
                Ok(n) => {
                    got += n;
                    self.read += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Hand over the complete lines up to `end` (a length the file had). Returns
    /// `false` when stopped by `cancel` or by `f` breaking. The bytes after the last
    /// `\n` stay pending for the next call.
    pub fn run(
        &mut self,
        end: u64,
        cancel: &AtomicBool,
        mut f: impl FnMut(Piece<'_>) -> ControlFlow<(), u64>,
    ) -> io::Result<bool> {
        while self.pos + self.looked < end {
            if cancel.load(Ordering::Relaxed) {
                return Ok(false);
            }
            self.check()?;
            if self.looked > MAX_LINE as u64 {
                // Inside a line over the limit: look for its end, keep nothing.
                let at = self.pos + self.looked;
                let want = usize::try_from(end - at)
                    .unwrap_or(SCAN_WINDOW)
                    .min(SCAN_WINDOW);
                self.fill(at, want)?;
                let data = self.buf.get(..want).unwrap_or_default();
                match memchr::memchr(b'\n', data) {
                    Some(i) => {
                        let len = self.looked + i as u64;
                        let piece = Piece::Long {
                            line: self.line + 1,
                            offset: self.pos,
                            len,
                        };
                        self.pos += len + 1;
                        self.line += 1;
                        self.looked = 0;
                        if f(piece).is_break() {
                            return Ok(false);
                        }
                    }
                    None => self.looked += want as u64,
                }
                continue;
            }
            let want = usize::try_from(end - self.pos)
                .unwrap_or(SCAN_WINDOW)
                .min(SCAN_WINDOW);
            self.fill(self.pos, want)?;
            let data = self.buf.get(..want).unwrap_or_default();
            let Some(last_nl) = memchr::memrchr(b'\n', data) else {
                // No line ends here: the pending line, or (a full window) one longer
                // than the limit, skipped through from now on.
                self.looked = want as u64;
                continue;
            };
            let body = data.get(..=last_nl).unwrap_or_default();
            let piece = Piece::Lines {
                first: self.line + 1,
                offset: self.pos,
                data: body,
            };
            match f(piece) {
                ControlFlow::Continue(n) => {
                    self.line += n;
                    self.pos += body.len() as u64;
                    self.looked = 0;
                }
                ControlFlow::Break(()) => return Ok(false),
            }
        }
        Ok(true)
    }
}

/// Scan the complete lines of the file for `filter`, window by window. Returns the
/// (bytes, lines) scanned. Stops early (without a final report) when `cancel` is set.
/// A file truncated or replaced during the scan is an error carrying a
/// [`LedgerChange`]; the caller starts again.
pub fn scan_file(
    path: &Path,
    filter: &LedgerFilter,
    cancel: &AtomicBool,
    mut report: impl FnMut(ScanProgress),
) -> io::Result<(u64, u64)> {
    let Some(mut scan) = LineScan::open(path)? else {
        report(ScanProgress {
            lines: Vec::new(),
            scanned_bytes: 0,
            total_bytes: 0,
            scanned_lines: 0,
            done: true,
        });
        return Ok((0, 0));
    };
    let total = scan.check()?;
    let threads = scan_threads();
    let finished = scan.run(total, cancel, |piece| {
        let (found, n) = match_piece(piece, filter, threads);
        let (pos, lines) = match piece {
            Piece::Lines { offset, data, .. } => (offset + data.len() as u64, n),
            Piece::Long { offset, len, .. } => (offset + len + 1, 1),
        };
        report(ScanProgress {
            lines: found,
            scanned_bytes: pos,
            total_bytes: total,
            scanned_lines: piece_first(piece) - 1 + lines,
            done: false,
        });
        ControlFlow::Continue(n)
    })?;
    let (pos, lines) = scan.position();
    if finished {
        report(ScanProgress {
            lines: Vec::new(),
            scanned_bytes: total,
            total_bytes: total,
            scanned_lines: lines,
            done: true,
        });
    }
    Ok((pos, lines))
}

fn scan_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8)
}

fn piece_first(p: Piece<'_>) -> u64 {
    match p {
        Piece::Lines { first, .. } => first,
        Piece::Long { line, .. } => line,
    }
}

/// The matching line numbers of a piece, and its line count (a `Long` line is a
/// reject: it never matches).
fn match_piece(piece: Piece<'_>, filter: &LedgerFilter, threads: usize) -> (Vec<u64>, u64) {
    let (first, data) = match piece {
        Piece::Lines { first, data, .. } => (first, data),
        Piece::Long { .. } => return (Vec::new(), 1),
    };
    let chunks = crate::store::scan::split_at_lines(data, threads);
    let results: Vec<(Vec<u64>, u64)> = if chunks.len() <= 1 {
        chunks.iter().map(|c| scan_chunk(c, filter)).collect()
    } else {
        std::thread::scope(|s| {
            let hs: Vec<_> = chunks
                .iter()
                .map(|c| s.spawn(move || scan_chunk(c, filter)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut found = Vec::new();
    let mut before = first - 1;
    for (local, count) in results {
        found.extend(local.into_iter().map(|l| before + l));
        before += count;
    }
    (found, before + 1 - first)
}

/// Matching 1-based line numbers within `data` (whole lines), and its line count.
/// A line over the 1 MiB limit is a reject and never matches.
fn scan_chunk(data: &[u8], filter: &LedgerFilter) -> (Vec<u64>, u64) {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut n = 0u64;
    for nl in memchr::memchr_iter(b'\n', data) {
        n += 1;
        let line = data.get(start..nl).unwrap_or_default();
        start = nl + 1;
        if !line.is_empty() && line.len() <= MAX_LINE && filter.matches_line(line) {
            out.push(n);
        }
    }
    (out, n)
}

/// The line starting at `offset`: its bytes (the whole line when it is at most
/// [`MAX_LINE`], else its first [`LONG_LINE_HEAD`] bytes) and its true length
/// (without `\n`; `known_len` saves reading a long one through). Memory stays bounded
/// whatever the length.
fn read_line_at(file: &File, offset: u64, known_len: Option<u64>) -> io::Result<(Vec<u8>, u64)> {
    if let Some(len) = known_len {
        let want = if len > MAX_LINE as u64 {
            LONG_LINE_HEAD
        } else {
            usize::try_from(len).map_err(io::Error::other)?
        };
        let mut out = vec![0u8; want];
        return match file.read_exact_at(&mut out, offset) {
            Ok(()) => Ok((out, len)),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                Err(LedgerChange::Truncated.error())
            }
            Err(e) => Err(e),
        };
    }
    let mut out = Vec::new();
    let mut buf = vec![0u8; BLOCK];
    let mut pos = offset;
    loop {
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        let (piece, done) = match memchr::memchr(b'\n', chunk) {
            Some(nl) => (chunk.get(..nl).unwrap_or_default(), true),
            None => (chunk, false),
        };
        if out.len() <= MAX_LINE {
            let room = (MAX_LINE + 1).saturating_sub(out.len());
            out.extend_from_slice(piece.get(..piece.len().min(room)).unwrap_or_default());
        }
        pos += piece.len() as u64;
        if done {
            break;
        }
    }
    let len = pos - offset;
    if len > MAX_LINE as u64 {
        out.truncate(LONG_LINE_HEAD);
    }
    Ok((out, len))
}

/// SHA-256 of the previous non-empty line before `offset` (rejects included: they
/// are chained over too), `None` at the start of the file. Reads backwards to find
/// its start, then hashes it in blocks: memory stays bounded whatever its length.
fn prev_line_hash(file: &File, offset: u64) -> io::Result<Option<[u8; 32]>> {
    let mut buf = vec![0u8; BLOCK];
    // `end` is the offset of the `\n` that ends the candidate line.
    let mut end = offset;
    loop {
        if end == 0 {
            return Ok(None);
        }
        end -= 1;
        // Find the start of the line that ends at `end`: the byte after the previous `\n`.
        let mut pos = end;
        let start = loop {
            if pos == 0 {
                break 0;
            }
            let from = pos.saturating_sub(BLOCK as u64);
            let n = usize::try_from(pos - from).map_err(io::Error::other)?;
            let chunk = buf.get_mut(..n).unwrap_or_default();
            match file.read_exact_at(chunk, from) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(LedgerChange::Truncated.error());
                }
                Err(e) => return Err(e),
            }
            if let Some(i) = memchr::memrchr(b'\n', chunk) {
                break from + i as u64 + 1;
            }
            pos = from;
        };
        if start == end {
            end = start; // an empty line: the one before it
            continue;
        }
        let mut h = Sha256::new();
        let mut at = start;
        while at < end {
            let n = usize::try_from(end - at).unwrap_or(BLOCK).min(BLOCK);
            let chunk = buf.get_mut(..n).unwrap_or_default();
            match file.read_exact_at(chunk, at) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(LedgerChange::Truncated.error());
                }
                Err(e) => return Err(e),
            }
            h.update(&*chunk);
            at += n as u64;
        }
        return Ok(Some(h.finalize().into()));
    }
}

/// The detail of the line at (`line`, `offset`): pretty JSON, chain and signature.
pub fn detail(
    path: &Path,
    line: u64,
    offset: u64,
    keys: anyhow::Result<Keyring>,
) -> io::Result<LedgerDetail> {
    detail_with_len(path, line, offset, None, keys)
}

/// [`detail`] with the line's length when the index knows it. A line over the 1 MiB
/// limit is shown as a reject with its length and excerpt, never read whole. An
/// offset the file no longer has (truncated) is an error carrying a [`LedgerChange`].
pub fn detail_with_len(
    path: &Path,
    line: u64,
    offset: u64,
    known_len: Option<u64>,
    keys: anyhow::Result<Keyring>,
) -> io::Result<LedgerDetail> {
    let file = crate::store::fsutil::open_regular(path)?;
    let file_len = file.metadata()?.len();
    if offset >= file_len || !ends_line_before(&file, offset)? {
        return Err(LedgerChange::Truncated.error());
    }
    let (raw, len) = read_line_at(&file, offset, known_len)?;
    let mut d = LedgerDetail {
        line,
        offset,
        len,
        pretty: Vec::new(),
        reject: None,
        chain: ChainStatus::Unchained,
        signature: SigStatus::Unsigned,
        target: None,
    };
    if len > MAX_LINE as u64 {
        d.reject = Some(format!(
            "{} (only its first {} bytes are read)",
            RejectReason::TooLong(usize::try_from(len).unwrap_or(usize::MAX)),
            raw.len()
        ));
        d.pretty = vec![excerpt(&raw)];
        return Ok(d);
    }
    let entry = match parse_line(&raw) {
        Ok(e) => e,
        Err(reason) => {
            d.reject = Some(reason.to_string());
            d.pretty = vec![excerpt(&raw)];
            return Ok(d);
        }
    };
    let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&raw) else {
        d.reject = Some("not a JSON object".into());
        return Ok(d);
    };
    let pretty = serde_json::to_string_pretty(&Value::Object(obj.clone())).unwrap_or_default();
    d.pretty = pretty
        .lines()
        .map(|l| {
            // A huge value would make every frame wrap a megabyte: cut for display.
            let mut t: String = sanitize(l).chars().take(PRETTY_CHARS).collect();
            if l.len() > PRETTY_CHARS {
                t.push('…');
            }
            t
        })
        .collect();
    if obj.contains_key("prev") {
        let expected =
            prev_line_hash(&file, offset)?.map_or_else(|| ZERO_PREV.to_string(), hex::encode);
        d.chain = match obj.get("prev") {
            Some(Value::String(p)) if *p == expected => ChainStatus::Linked,
            Some(other) => ChainStatus::Broken {
                found: sanitize(&other.to_string()).chars().take(80).collect(),
                expected,
            },
            None => ChainStatus::Unchained,
        };
    }
    if obj.contains_key("sig") || obj.contains_key("signer") {
        let who = obj.get("signer").and_then(Value::as_str).unwrap_or("?");
        let who_s = sanitize(who).into_owned();
        d.signature = match keys {
            Err(e) => SigStatus::Unknown {
                reason: sanitize(&format!("{e:#}")).into_owned(),
            },
            Ok(keys) => {
                let check = keys.check(who, &entry.timestamp, |k| {
                    crate::domain::signing::verify_line(k, &raw)
                });
                match crate::store::keys::sig_check_reason(&check, who) {
                    None if obj
                        .get("offset")
                        .is_some_and(|o| o.as_u64() != Some(offset)) =>
                    {
                        SigStatus::Bad {
                            signer: who_s,
                            reason: "signed for another offset: moved or replayed".into(),
                        }
                    }
                    None => SigStatus::Valid { signer: who_s },
                    Some(reason) => SigStatus::Bad {
                        signer: who_s,
                        reason,
                    },
                }
            }
        };
    }
    let event = obj.get("event").and_then(Value::as_str).unwrap_or("");
    if event.starts_with("rollback") {
        d.target = obj.get("target").and_then(Value::as_str).map(str::to_owned);
    }
    Ok(d)
}

/// The (line, offset) of the first entry whose `id` is `id`: a [`LineScan`] of the
/// file, candidate lines found by searching each window for the quoted id, then
/// parsed to check the field. A file that changes during the search is searched
/// again (a few times at most).
pub fn find_id(path: &Path, id: &str) -> io::Result<Option<(u64, u64)>> {
    if id.is_empty() {
        return Ok(None);
    }
    let needle = serde_json::to_string(id).map_err(io::Error::other)?;
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let mut last_err = None;
    for _attempt in 0..3 {
        let Some(mut scan) = LineScan::open(path)? else {
            return Ok(None);
        };
        let mut found = None;
        let cancel = AtomicBool::new(false);
        let r = scan.check().and_then(|len| {
            scan.run(len, &cancel, |piece| {
                let Piece::Lines {
                    first,
                    offset,
                    data,
                } = piece
                else {
                    return ControlFlow::Continue(1);
                };
                let mut last_start = usize::MAX;
                for hit in finder.find_iter(data) {
                    let head = data.get(..hit).unwrap_or_default();
                    let start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
                    if start == last_start {
                        continue;
                    }
                    last_start = start;
                    let tail = data.get(hit..).unwrap_or_default();
                    let end = memchr::memchr(b'\n', tail).map_or(data.len(), |i| hit + i);
                    let line = data.get(start..end).unwrap_or_default();
                    if parse_line(line).is_ok_and(|e| e.id == id) {
                        let before = data.get(..start).unwrap_or_default();
                        let n = memchr::memchr_iter(b'\n', before).count() as u64;
                        found = Some((first + n, offset + start as u64));
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(memchr::memchr_iter(b'\n', data).count() as u64)
            })
        });
        match r {
            Ok(_) => return Ok(found),
            Err(e) if LedgerChange::of(&e).is_some() => last_err = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_err.unwrap_or_else(|| LedgerChange::Truncated.error()))
}

/// The running worker's request side.
#[derive(Clone)]
pub struct ReaderHandle {
    tx: std_mpsc::Sender<LedgerRequest>,
}

impl ReaderHandle {
    pub fn send(&self, req: LedgerRequest) {
        if self.tx.send(req).is_err() {
            tracing::warn!("ledger reader has stopped; request dropped");
        }
    }
}

/// The filter scan running now: its generation and cancel flag.
struct ActiveScan {
    cancel: Arc<AtomicBool>,
}

/// Start the index build and the worker thread for the HQ root's ledger. Messages go
/// to `tx`; everything stops when `cancel` fires or the receiver is gone.
pub fn spawn(root: &Path, tx: mpsc::Sender<Msg>, cancel: CancellationToken) -> ReaderHandle {
    let reader = Arc::new(Reader::new(root, LineIndex::new(&root.join(paths::LEDGER))));
    // Building until the build thread (started on `TailStarted`, or after a second) ends.
    reader.building.store(true, Ordering::Release);
    reader.built_epoch.store(NONE_BUILT, Ordering::Release);
    let (req_tx, req_rx) = std_mpsc::channel::<LedgerRequest>();
    std::thread::spawn(move || worker(reader, req_rx, tx, cancel));
    ReaderHandle { tx: req_tx }
}

fn start_build(reader: &Arc<Reader>) {
    reader.building.store(true, Ordering::Release);
    let r = reader.clone();
    std::thread::spawn(move || r.build());
}

fn worker(
    reader: Arc<Reader>,
    rx: std_mpsc::Receiver<LedgerRequest>,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
) {
    let mut last_status: Option<IndexStatus> = None;
    let mut waiting: Vec<(u64, u64)> = Vec::new();
    let mut scan: Option<ActiveScan> = None;
    let send = |m: Msg| tx.blocking_send(m).is_ok();
    let spawned_at = std::time::Instant::now();
    let mut build_started = false;
    let mut seen_epoch = reader.index.epoch();
    loop {
        if cancel.is_cancelled() {
            break;
        }
        let req = rx.recv_timeout(TICK);
        // The index build reads the whole file: start it once the tail's first lines
        // are on screen (or after a second), not in competition with them.
        if !build_started
            && (matches!(req, Ok(LedgerRequest::TailStarted))
                || spawned_at.elapsed() >= BUILD_DELAY)
        {
            build_started = true;
            start_build(&reader);
        }
        let mut out: Vec<Msg> = Vec::new();
        match req {
            Ok(LedgerRequest::Page { first, count }) => {
                if reader.page_ready(first, count) {
                    out.extend(reader.serve(LedgerRequest::Page { first, count }));
                } else {
                    waiting.push((first, count));
                }
            }
            Ok(LedgerRequest::Filter { generation, filter }) => {
                if let Some(s) = scan.take() {
                    s.cancel.store(true, Ordering::Relaxed);
                }
                if let Some(filter) = filter {
                    let flag = Arc::new(AtomicBool::new(false));
                    scan = Some(ActiveScan {
                        cancel: flag.clone(),
                    });
                    let (path, t, c) = (reader.path.clone(), tx.clone(), cancel.clone());
                    std::thread::spawn(move || {
                        follow_filter(&path, generation, &filter, &flag, &t, &c)
                    });
                }
            }
            Ok(req) => out.extend(reader.serve(req)),
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if build_started && !reader.is_building() {
            if reader.needs_build() {
                start_build(&reader);
            } else {
                reader.refresh();
            }
        }
        let (ready, still): (Vec<_>, Vec<_>) = waiting
            .drain(..)
            .partition(|(f, c)| reader.page_ready(*f, *c));
        waiting = still;
        for (first, count) in ready {
            out.extend(reader.serve(LedgerRequest::Page { first, count }));
        }
        // The file changed under the index (seen by a refresh or a page read): one
        // notice per change; the pane drops what it read and asks again.
        let epoch = reader.index.epoch();
        let told = out
            .iter()
            .any(|m| matches!(m, Msg::LedgerView(LedgerViewMsg::Reread { .. })));
        if epoch != seen_epoch {
            seen_epoch = epoch;
            waiting.clear();
            if !told {
                let c = reader
                    .index
                    .last_change()
                    .unwrap_or(LedgerChange::Truncated);
                out.insert(
                    0,
                    Msg::LedgerView(LedgerViewMsg::Reread {
                        reason: reread_notice(c),
                    }),
                );
            }
            if build_started && !reader.is_building() {
                start_build(&reader);
            }
        }
        let status = reader.index_status();
        if last_status.as_ref() != Some(&status) {
            last_status = Some(status.clone());
            out.push(Msg::LedgerView(LedgerViewMsg::Index(status)));
        }
        for m in out {
            if !send(m) {
                return;
            }
        }
    }
    if let Some(s) = scan {
        s.cancel.store(true, Ordering::Relaxed);
    }
}

/// Scan the whole file for `filter`, then keep checking appended lines until
/// cancelled. The same [`LineScan`] follows the file, so a pending line is looked at
/// once, and nothing is read while the file does not grow. A file truncated or
/// replaced at any point is scanned again from the start, with a notice.
fn follow_filter(
    path: &Path,
    generation: u64,
    filter: &LedgerFilter,
    flag: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
    cancel: &CancellationToken,
) {
    let send = |m: LedgerViewMsg| tx.blocking_send(Msg::LedgerView(m)).is_ok();
    let stop = || flag.load(Ordering::Relaxed) || cancel.is_cancelled();
    let threads = scan_threads();
    let mut scan: Option<LineScan> = None;
    // The first pass over the file (with progress) is still to do.
    let mut first_pass = true;
    while !stop() {
        if scan.is_none() {
            match LineScan::open(path) {
                Ok(Some(s)) => scan = Some(s),
                Ok(None) => {
                    if first_pass {
                        first_pass = false;
                        let done = LedgerViewMsg::Matches {
                            generation,
                            lines: Vec::new(),
                            scanned: 0,
                            total: 0,
                            done: true,
                        };
                        if !send(done) {
                            return;
                        }
                    }
                    std::thread::park_timeout(TICK);
                    continue;
                }
                Err(e) => {
                    send(LedgerViewMsg::FilterFailed {
                        generation,
                        error: format!("{}: {e}", path.display()),
                    });
                    return;
                }
            }
        }
        let Some(s) = scan.as_mut() else { continue };
        if !first_pass {
            std::thread::park_timeout(TICK);
        }
        let mut gone = false;
        let r = s.check().and_then(|len| {
            let (pos, _) = s.position();
            if !first_pass && len <= pos + s.pending() {
                return Ok(true); // nothing new
            }
            let total = len;
            let progress = first_pass;
            let finished = s.run(len, flag, |piece| {
                let (found, n) = match_piece(piece, filter, threads);
                let end = match piece {
                    Piece::Lines { offset, data, .. } => offset + data.len() as u64,
                    Piece::Long { offset, len, .. } => offset + len + 1,
                };
                if progress || !found.is_empty() {
                    let m = LedgerViewMsg::Matches {
                        generation,
                        lines: found,
                        scanned: if progress { end } else { 0 },
                        total: if progress { total } else { 0 },
                        done: !progress,
                    };
                    if !send(m) {
                        gone = true;
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(n)
            })?;
            if finished && progress {
                let done = LedgerViewMsg::Matches {
                    generation,
                    lines: Vec::new(),
                    scanned: total,
                    total,
                    done: true,
                };
                if !send(done) {
                    gone = true;
                }
            }
            Ok(finished)
        });
        if gone {
            return;
        }
        match r {
            Ok(true) => first_pass = false,
            Ok(false) => {} // cancelled: the loop ends
            Err(e) => match LedgerChange::of(&e) {
                Some(c) => {
                    scan = None;
                    first_pass = true;
                    let m = LedgerViewMsg::FilterRestarted {
                        generation,
                        reason: reread_notice(c),
                    };
                    if !send(m) {
                        return;
                    }
                    // Let a writer that is rewriting the file get on before reading again.
                    std::thread::park_timeout(TICK);
                }
                None => {
                    send(LedgerViewMsg::FilterFailed {
                        generation,
                        error: format!("{}: {e}", path.display()),
                    });
                    return;
                }
            },
        }
    }
}
