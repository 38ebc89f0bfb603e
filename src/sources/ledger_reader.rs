//! The ledger pane's reader: everything the pane needs from the whole file, off the
//! update/render path. A worker thread owns the offset index
//! ([`crate::ledger::index::LineIndex`], built in the background at start) and
//! answers [`LedgerRequest`]s with [`LedgerViewMsg`]s:
//!
//! - pages of lines for scrolling beyond the tail's in-memory window (`pread` through
//!   the index; a page past what is indexed yet waits until the build gets there);
//! - a filter scan over the whole file: memory-mapped 32 MiB windows (one at a time,
//!   so resident memory stays bounded on a 10 GB ledger), each split at a line
//!   boundary across both cores, matches reported window by window with true line
//!   numbers; then it follows the file and checks appended lines against the filter;
//! - the detail of one line: pretty JSON, chain status against the previous line,
//!   signature against `keys.json`;
//! - the line of an entry id (a rollback's `target`).
//!
//! [`Reader::serve`] does the work synchronously (tests call it directly); [`spawn`]
//! runs it on a thread fed by a channel.

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::action::{LedgerRecord, Msg};
use crate::app::{
    ChainStatus, IndexStatus, LedgerDetail, LedgerRequest, LedgerViewMsg, PageLine, SigStatus,
};
use crate::domain::hq::paths;
use crate::domain::ledger::{MAX_LINE, parse_line};
use crate::domain::ledger_filter::LedgerFilter;
use crate::domain::sanitize::sanitize;
use crate::ledger::index::LineIndex;
use crate::ledger::keys::Keyring;
use crate::ledger::scan::for_each_line_rev;
use crate::sources::ledger_tail::excerpt;

/// Bytes mapped at a time by the filter scan.
const SCAN_WINDOW: u64 = 32 << 20;
/// The latest the index build starts when the tail has not reported yet.
const BUILD_DELAY: Duration = Duration::from_secs(1);
/// How often the worker refreshes the index and reports its progress.
const TICK: Duration = Duration::from_millis(50);
/// Characters of one pretty-printed line shown in the detail view.
const PRETTY_CHARS: usize = 2_000;
/// The 64 zeros `prev` carries on the first line (SPEC §4.2).
const ZERO_PREV: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The worker's state: the file, its index, and the keyring (loaded on first use).
pub struct Reader {
    root: PathBuf,
    path: PathBuf,
    pub index: LineIndex,
    /// The initial build has not finished (or not started).
    building: AtomicBool,
    build_error: std::sync::Mutex<Option<String>>,
}

impl Reader {
    /// A reader over `index` (already building, or call [`LineIndex::refresh`]).
    pub fn new(root: &Path, index: LineIndex) -> Reader {
        Reader {
            root: root.to_path_buf(),
            path: root.join(paths::LEDGER),
            index,
            building: AtomicBool::new(false),
            build_error: std::sync::Mutex::new(None),
        }
    }

    /// Index the whole file (the initial build; call once, on its own thread).
    pub fn build(&self) {
        self.building.store(true, Ordering::Release);
        if let Err(e) = self.index.refresh()
            && let Ok(mut slot) = self.build_error.lock()
        {
            *slot = Some(format!("{}: {e}", self.path.display()));
        }
        self.building.store(false, Ordering::Release);
    }

    fn is_building(&self) -> bool {
        self.building.load(Ordering::Acquire)
    }

    pub fn index_status(&self) -> IndexStatus {
        let p = self.index.progress();
        IndexStatus {
            lines: p.lines,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            building: self.is_building(),
            error: self.build_error.lock().ok().and_then(|e| e.clone()),
        }
    }

    /// Pick up appended lines (not while the initial build runs: it holds the lock).
    pub fn refresh(&self) {
        if !self.is_building() {
            let _ = self.index.refresh();
        }
    }

    /// Whether a page can be answered now: all its lines are indexed, or the index is
    /// complete (a short page at the end of the file).
    pub fn page_ready(&self, first: u64, count: u64) -> bool {
        !self.is_building() || self.index.len() >= first.saturating_sub(1).saturating_add(count)
    }

    /// Lines `first..first+count` (1-based), parsed like the tail does.
    pub fn page(&self, first: u64, count: u64) -> io::Result<Vec<PageLine>> {
        let from = first.saturating_sub(1);
        let lines = self.index.lines(from, count)?;
        Ok(lines
            .into_iter()
            .map(|(i, bytes)| {
                let offset = self.index.span(i).map_or(0, |(o, _)| o);
                let line = i + 1;
                let record = (!bytes.is_empty()).then(|| LedgerRecord {
                    line,
                    offset,
                    parsed: parse_line(&bytes),
                    excerpt: excerpt(&bytes),
                });
                PageLine {
                    line,
                    offset,
                    record,
                }
            })
            .collect())
    }

    /// Answer one request synchronously. A filter is scanned to the end of the file
    /// (progress messages included); following appends is [`spawn`]'s job.
    pub fn serve(&self, req: LedgerRequest) -> Vec<Msg> {
        let wrap = |m: LedgerViewMsg| Msg::LedgerView(m);
        match req {
            LedgerRequest::Page { first, count } => match self.page(first, count) {
                Ok(lines) => vec![wrap(LedgerViewMsg::Page { first, lines })],
                Err(e) => vec![wrap(LedgerViewMsg::PageFailed {
                    first,
                    error: format!("{}: {e}", self.path.display()),
                })],
            },
            LedgerRequest::Filter { generation, filter } => {
                let Some(filter) = filter else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                let cancel = AtomicBool::new(false);
                let r = scan_file(&self.path, &filter, &cancel, |m| {
                    out.push(wrap(m.into_msg(generation)))
                });
                if let Err(e) = r {
                    out.push(wrap(LedgerViewMsg::FilterFailed {
                        generation,
                        error: format!("{}: {e}", self.path.display()),
                    }));
                }
                out
            }
            LedgerRequest::Detail { line, offset } => {
                let keys = Keyring::load(&self.root);
                let msg = match detail(&self.path, line, offset, keys) {
                    Ok(d) => LedgerViewMsg::Detail(Box::new(d)),
                    Err(e) => LedgerViewMsg::DetailFailed {
                        line,
                        error: format!("{}: {e}", self.path.display()),
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

/// Scan the complete lines of the file for `filter`, window by window. Returns the
/// (bytes, lines) scanned. Stops early (without a final report) when `cancel` is set.
pub fn scan_file(
    path: &Path,
    filter: &LedgerFilter,
    cancel: &AtomicBool,
    mut report: impl FnMut(ScanProgress),
) -> io::Result<(u64, u64)> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            report(ScanProgress {
                lines: Vec::new(),
                scanned_bytes: 0,
                total_bytes: 0,
                scanned_lines: 0,
                done: true,
            });
            return Ok((0, 0));
        }
        Err(e) => return Err(e),
    };
    let total = file.metadata()?.len();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 8);
    let page = 4096u64;
    let mut pos = 0u64;
    let mut lines_before = 0u64;
    let mut window = SCAN_WINDOW;
    while pos < total {
        if cancel.load(Ordering::Relaxed) {
            return Ok((pos, lines_before));
        }
        let map_from = pos - pos % page;
        let map_len = (pos + window).min(total) - map_from;
        // SAFETY: the ledger is append-only (SPEC §4.2): bytes already written are
        // never changed; the map is read-only and covers only bytes that existed.
        let map = unsafe {
            memmap2::MmapOptions::new()
                .offset(map_from)
                .len(usize::try_from(map_len).map_err(io::Error::other)?)
                .map(&file)
        }?;
        let skip = usize::try_from(pos - map_from).map_err(io::Error::other)?;
        let data = map.get(skip..).unwrap_or_default();
        let Some(last_nl) = memchr::memrchr(b'\n', data) else {
            if map_from + map_len >= total {
                break; // only a pending line is left
            }
            window = window.saturating_mul(2); // one line longer than the window
            continue;
        };
        window = SCAN_WINDOW;
        let body = data.get(..=last_nl).unwrap_or_default();
        let chunks = split_at_lines(body, threads);
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
        for (local, count) in results {
            found.extend(local.into_iter().map(|l| lines_before + l));
            lines_before += count;
        }
        pos += body.len() as u64;
        report(ScanProgress {
            lines: found,
            scanned_bytes: pos,
            total_bytes: total,
            scanned_lines: lines_before,
            done: false,
        });
    }
    report(ScanProgress {
        lines: Vec::new(),
        scanned_bytes: total,
        total_bytes: total,
        scanned_lines: lines_before,
        done: true,
    });
    Ok((pos, lines_before))
}

/// Matching 1-based line numbers within `data` (whole lines), and its line count.
fn scan_chunk(data: &[u8], filter: &LedgerFilter) -> (Vec<u64>, u64) {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut n = 0u64;
    for nl in memchr::memchr_iter(b'\n', data) {
        n += 1;
        let line = data.get(start..nl).unwrap_or_default();
        start = nl + 1;
        if !line.is_empty() && filter.matches_line(line) {
            out.push(n);
        }
    }
    (out, n)
}

/// Split at line boundaries into at most `n` chunks of similar size.
fn split_at_lines(data: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(n);
    let mut start = 0usize;
    for i in 1..n {
        let target = (data.len() * i / n).max(start);
        let cut = match memchr::memchr(b'\n', data.get(target..).unwrap_or_default()) {
            Some(off) => target + off + 1,
            None => data.len(),
        };
        out.push(data.get(start..cut).unwrap_or_default());
        start = cut;
    }
    out.push(data.get(start..).unwrap_or_default());
    out.retain(|c| !c.is_empty());
    out
}

/// The line starting at `offset` (without `\n`), at most `MAX_LINE + 1` bytes.
fn read_line_at(file: &File, offset: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut pos = offset;
    loop {
        let n = file.read_at(&mut buf, pos)?;
        if n == 0 {
            return Ok(out);
        }
        let chunk = buf.get(..n).unwrap_or_default();
        if let Some(nl) = memchr::memchr(b'\n', chunk) {
            out.extend_from_slice(chunk.get(..nl).unwrap_or_default());
            return Ok(out);
        }
        out.extend_from_slice(chunk);
        if out.len() > MAX_LINE {
            out.truncate(MAX_LINE + 1);
            return Ok(out);
        }
        pos += n as u64;
    }
}

/// The detail of the line at (`line`, `offset`): pretty JSON, chain and signature.
pub fn detail(
    path: &Path,
    line: u64,
    offset: u64,
    keys: anyhow::Result<Keyring>,
) -> io::Result<LedgerDetail> {
    let file = File::open(path)?;
    let raw = read_line_at(&file, offset)?;
    // The previous non-empty line (rejects included: they are chained over too).
    let mut prev: Option<Vec<u8>> = None;
    for_each_line_rev(&file, offset, u64::MAX, |seg, _| {
        if seg.is_empty() {
            ControlFlow::Continue(())
        } else {
            prev = Some(seg.to_vec());
            ControlFlow::Break(())
        }
    })?;
    let mut d = LedgerDetail {
        line,
        offset,
        len: raw.len() as u64,
        pretty: Vec::new(),
        reject: None,
        chain: ChainStatus::Unchained,
        signature: SigStatus::Unsigned,
        target: None,
    };
    if let Err(reason) = parse_line(&raw) {
        d.reject = Some(reason.to_string());
        d.pretty = vec![excerpt(&raw)];
        return Ok(d);
    }
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
    let expected = prev
        .as_deref()
        .map_or_else(|| ZERO_PREV.to_string(), |p| hex::encode(Sha256::digest(p)));
    d.chain = match obj.get("prev") {
        None => ChainStatus::Unchained,
        Some(Value::String(p)) if *p == expected => ChainStatus::Linked,
        Some(other) => ChainStatus::Broken {
            found: sanitize(&other.to_string()).chars().take(80).collect(),
            expected,
        },
    };
    if obj.contains_key("sig") || obj.contains_key("signer") {
        let who = obj.get("signer").and_then(Value::as_str).unwrap_or("?");
        let who_s = sanitize(who).into_owned();
        d.signature = match keys {
            Err(e) => SigStatus::Unknown {
                reason: sanitize(&format!("{e:#}")).into_owned(),
            },
            Ok(keys) => match keys.by_id(who).and_then(|s| s.key.as_ref()) {
                None => SigStatus::Bad {
                    signer: who_s,
                    reason: "signer is not in keys.json".into(),
                },
                Some(k) if crate::domain::signing::verify_line(k, &raw) => {
                    SigStatus::Valid { signer: who_s }
                }
                Some(_) => SigStatus::Bad {
                    signer: who_s,
                    reason: "signature does not verify".into(),
                },
            },
        };
    }
    let event = obj.get("event").and_then(Value::as_str).unwrap_or("");
    if event.starts_with("rollback") {
        d.target = obj.get("target").and_then(Value::as_str).map(str::to_owned);
    }
    Ok(d)
}

/// The (line, offset) of the first entry whose `id` is `id`. Memory-mapped; candidate
/// lines are found by searching for the quoted id, then parsed to check the field.
pub fn find_id(path: &Path, id: &str) -> io::Result<Option<(u64, u64)>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len == 0 || id.is_empty() {
        return Ok(None);
    }
    // SAFETY: append-only file, read-only map of the bytes that exist (see scan_file).
    let map = unsafe {
        memmap2::MmapOptions::new()
            .len(usize::try_from(len).map_err(io::Error::other)?)
            .map(&file)
    }?;
    let data: &[u8] = &map;
    let needle = serde_json::to_string(id).map_err(io::Error::other)?;
    let finder = memchr::memmem::Finder::new(needle.as_bytes());
    let mut last_start = usize::MAX;
    for hit in finder.find_iter(data) {
        let head = data.get(..hit).unwrap_or_default();
        let start = memchr::memrchr(b'\n', head).map_or(0, |i| i + 1);
        if start == last_start {
            continue;
        }
        last_start = start;
        let tail = data.get(hit..).unwrap_or_default();
        let Some(end) = memchr::memchr(b'\n', tail).map(|i| hit + i) else {
            break; // the pending line
        };
        let line = data.get(start..end).unwrap_or_default();
        if parse_line(line).is_ok_and(|e| e.id == id) {
            let before = data.get(..start).unwrap_or_default();
            let n = memchr::memchr_iter(b'\n', before).count() as u64;
            return Ok(Some((n + 1, start as u64)));
        }
    }
    Ok(None)
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
    let (req_tx, req_rx) = std_mpsc::channel::<LedgerRequest>();
    std::thread::spawn(move || worker(reader, req_rx, tx, cancel));
    ReaderHandle { tx: req_tx }
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
            let r = reader.clone();
            std::thread::spawn(move || r.build());
        }
        match req {
            Ok(LedgerRequest::Page { first, count }) => {
                if reader.page_ready(first, count) {
                    for m in reader.serve(LedgerRequest::Page { first, count }) {
                        if !send(m) {
                            return;
                        }
                    }
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
                    let (r, t, c) = (reader.clone(), tx.clone(), cancel.clone());
                    std::thread::spawn(move || {
                        follow_filter(&r, generation, &filter, &flag, &t, &c)
                    });
                }
            }
            Ok(req) => {
                for m in reader.serve(req) {
                    if !send(m) {
                        return;
                    }
                }
            }
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            Err(std_mpsc::RecvTimeoutError::Disconnected) => break,
        }
        reader.refresh();
        let status = reader.index_status();
        if last_status.as_ref() != Some(&status) {
            last_status = Some(status.clone());
            if !send(Msg::LedgerView(LedgerViewMsg::Index(status))) {
                return;
            }
        }
        let (ready, still): (Vec<_>, Vec<_>) = waiting
            .drain(..)
            .partition(|(f, c)| reader.page_ready(*f, *c));
        waiting = still;
        for (first, count) in ready {
            for m in reader.serve(LedgerRequest::Page { first, count }) {
                if !send(m) {
                    return;
                }
            }
        }
    }
    if let Some(s) = scan {
        s.cancel.store(true, Ordering::Relaxed);
    }
}

/// Scan the whole file for `filter`, then keep checking appended lines (read through
/// the index, which the worker refreshes) until cancelled.
fn follow_filter(
    reader: &Reader,
    generation: u64,
    filter: &LedgerFilter,
    flag: &AtomicBool,
    tx: &mpsc::Sender<Msg>,
    cancel: &CancellationToken,
) {
    let send = |m: LedgerViewMsg| tx.blocking_send(Msg::LedgerView(m)).is_ok();
    let mut gone = false;
    let scanned = scan_file(&reader.path, filter, flag, |p| {
        if !gone && !send(p.into_msg(generation)) {
            gone = true;
        }
    });
    let mut next = match scanned {
        Ok((_, lines)) => lines,
        Err(e) => {
            send(LedgerViewMsg::FilterFailed {
                generation,
                error: format!("{}: {e}", reader.path.display()),
            });
            return;
        }
    };
    while !gone && !flag.load(Ordering::Relaxed) && !cancel.is_cancelled() {
        std::thread::park_timeout(TICK);
        reader.refresh();
        let have = reader.index.len();
        if have <= next {
            continue;
        }
        let lines = match reader.index.lines(next, have - next) {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!("ledger filter: {e}");
                continue;
            }
        };
        let found: Vec<u64> = lines
            .iter()
            .filter(|(_, b)| !b.is_empty() && filter.matches_line(b))
            .map(|(i, _)| i + 1)
            .collect();
        next = have;
        if !found.is_empty()
            && !send(LedgerViewMsg::Matches {
                generation,
                lines: found,
                scanned: 0,
                total: 0,
                done: true,
            })
        {
            return;
        }
    }
}
