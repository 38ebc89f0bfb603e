//! Reading a ledger file line by line without holding it: forward streaming with
//! line numbers and byte offsets, and backward reading of the tail.
//!
//! Memory is bounded whatever the file holds. A line longer than the 1 MiB limit
//! ([`MAX_LINE`]) is a reject and is never held: the forward scan skips it with
//! `memchr` and hands the caller its number, offset and length, plus — when asked —
//! its hashes (SHA-256 of the bytes for the chain, the RFC 6962 leaf hash for the
//! Merkle tree), streamed from the file in blocks. The backward reader finds line
//! boundaries with `memrchr` over `pread` blocks and never copies a line, so finding
//! the last line costs O(its length), whatever precedes it.
//!
//! Nothing here maps the file: a file truncated in place during a scan (logrotate
//! `copytruncate`) gives short reads, which the forward scan reports as
//! [`Changed::Shrank`]; a file renamed over during a scan is [`Changed::Replaced`].

use std::fs::File;
use std::io;
use std::ops::ControlFlow;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use sha2::{Digest, Sha256};

pub use crate::domain::ledger::MAX_LINE;

/// Forward read size: lines are handed over a block at a time while still in cache.
pub(crate) const BLOCK: usize = 256 * 1024;
/// The forward buffer: room for a partial line of [`MAX_LINE`] bytes plus a read.
const FORWARD_CAP: usize = 2 * (MAX_LINE + 1) + BLOCK;
/// Backward read size.
const REV_BLOCK: usize = 128 * 1024;
/// Read size when streaming the bytes of a long line into hashers.
const HASH_BLOCK: usize = 1 << 20;

/// One physical line of at most [`MAX_LINE`] bytes, as seen by a scan.
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// 1-based line number (empty lines count).
    pub no: u64,
    /// 0-based byte offset of the line's first byte.
    pub offset: u64,
    /// The bytes, without `\n`.
    pub bytes: &'a [u8],
}

/// The hashes of a line's exact bytes (without `\n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineHashes {
    /// SHA-256 of the bytes: what the next line's `prev` names.
    pub sha256: [u8; 32],
    /// RFC 6962 leaf hash, SHA-256(0x00 ‖ bytes).
    pub leaf: [u8; 32],
}

impl LineHashes {
    /// Both hashes of bytes in memory.
    pub fn of(bytes: &[u8]) -> LineHashes {
        let mut h = Hashers::new();
        h.update(bytes);
        h.finish()
    }
}

/// A complete line longer than [`MAX_LINE`]: a reject, never held in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LongLine {
    /// 1-based line number.
    pub no: u64,
    /// 0-based byte offset of its first byte.
    pub offset: u64,
    /// Its length in bytes, without `\n`.
    pub len: u64,
    /// Its hashes, when the scan was asked for them ([`ScanOptions::hash_long_lines`]).
    pub hashes: Option<LineHashes>,
}

/// One complete line as seen by [`scan_lines`].
#[derive(Debug, Clone, Copy)]
pub enum Line<'a> {
    /// At most [`MAX_LINE`] bytes: the bytes are at hand.
    Held(LineRef<'a>),
    /// Longer than [`MAX_LINE`]: a reject whose bytes were not kept.
    Long(LongLine),
}

impl Line<'_> {
    pub fn no(&self) -> u64 {
        match self {
            Line::Held(l) => l.no,
            Line::Long(l) => l.no,
        }
    }
    pub fn offset(&self) -> u64 {
        match self {
            Line::Held(l) => l.offset,
            Line::Long(l) => l.offset,
        }
    }
    /// Length without `\n`.
    pub fn len(&self) -> u64 {
        match self {
            Line::Held(l) => l.bytes.len() as u64,
            Line::Long(l) => l.len,
        }
    }
    /// An empty line (zero bytes): ignored everywhere.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a scan should compute besides finding the lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct ScanOptions {
    /// Stream the bytes of every line longer than [`MAX_LINE`] into SHA-256 and the
    /// Merkle leaf hash (read once more, in blocks). Needed for the chain and the tree;
    /// `stats` does without.
    pub hash_long_lines: bool,
}

/// The file changed under a scan in a way an append cannot explain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changed {
    /// It became shorter than what the scan had already seen (truncated in place).
    Shrank { seen: u64, now: u64 },
    /// The path now names another file (renamed over, rotated).
    Replaced,
}

impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Changed::Shrank { seen, now } => {
                write!(f, "shrank from at least {seen} to {now} bytes")
            }
            Changed::Replaced => write!(f, "was replaced by another file"),
        }
    }
}

/// What a scan found at the end of the file.
#[derive(Debug, Clone, Default)]
pub struct ScanEnd {
    /// Complete (`\n`-terminated) physical lines, empty ones included.
    pub physical_lines: u64,
    /// Bytes covered by the complete lines seen (where a following scan would start).
    pub bytes: u64,
    /// An unterminated last line: (line number, offset, length).
    pub pending: Option<(u64, u64, u64)>,
    /// Complete lines longer than [`MAX_LINE`] (each also passed as [`Line::Long`]).
    pub long_lines: u64,
    /// The file shrank or was replaced during the scan: what was seen may mix two
    /// versions of the file. Callers re-read or fail; they never trust the result.
    pub changed: Option<Changed>,
}

/// Call `f` for every complete line of the file at `path`, in file order. Lines of
/// at most [`MAX_LINE`] bytes come with their bytes; longer ones as [`Line::Long`]
/// (hashed when `opts` asks). A last line without `\n` is not passed to `f`; it is
/// reported in [`ScanEnd::pending`]. Memory: one buffer of ~2.3 MiB.
pub fn scan_lines(
    path: &Path,
    opts: ScanOptions,
    f: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<ScanEnd> {
    let file = crate::store::fsutil::open_regular(path)?;
    let mut end = scan_file(&file, opts, f)?;
    if end.changed.is_none() && replaced(&file, path) {
        end.changed = Some(Changed::Replaced);
    }
    Ok(end)
}

/// Like [`scan_lines`] but only lines of at most [`MAX_LINE`] bytes reach `f`; longer
/// ones are skipped (counted in [`ScanEnd::long_lines`], never held). Kept for callers
/// that only look at entries; anything that hashes lines must use [`scan_lines`].
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(LineRef<'_>) -> ControlFlow<()>,
) -> io::Result<ScanEnd> {
    scan_lines(path, ScanOptions::default(), |l| match l {
        Line::Held(r) => f(r),
        Line::Long(_) => ControlFlow::Continue(()),
    })
}

/// [`scan_lines`] over an open file, from offset 0.
pub fn scan_file(
    file: &File,
    opts: ScanOptions,
    f: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<ScanEnd> {
    scan_file_from(file, opts, 0, 0, f)
}

/// [`scan_file`] resuming at byte `from` (the start of a line) as if `lines_before`
/// physical lines came before it: line numbers and offsets stay those of the file.
/// `ScanEnd::bytes` and `physical_lines` count from the start of the file.
pub fn scan_file_from(
    file: &File,
    opts: ScanOptions,
    from: u64,
    lines_before: u64,
    f: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<ScanEnd> {
    scan_impl(file, opts, from, lines_before, f)
}

fn scan_impl(
    file: &File,
    opts: ScanOptions,
    from: u64,
    lines_before: u64,
    mut f: impl FnMut(Line<'_>) -> ControlFlow<()>,
) -> io::Result<ScanEnd> {
    let initial_len = file.metadata()?.len();
    let mut fwd = Forward::new(file, from, None, initial_len);
    let mut end = ScanEnd {
        bytes: from,
        physical_lines: lines_before,
        ..ScanEnd::default()
    };
    let mut no = lines_before;
    'scan: loop {
        match fwd.next_piece()? {
            Piece::Lines { offset, data } => {
                let mut start = 0usize;
                for nl in memchr::memchr_iter(b'\n', data) {
                    let bytes = data.get(start..nl).unwrap_or_default();
                    let line_off = offset + start as u64;
                    no += 1;
                    let line = if bytes.len() > MAX_LINE {
                        end.long_lines += 1;
                        Line::Long(LongLine {
                            no,
                            offset: line_off,
                            len: bytes.len() as u64,
                            hashes: opts.hash_long_lines.then(|| LineHashes::of(bytes)),
                        })
                    } else {
                        Line::Held(LineRef {
                            no,
                            offset: line_off,
                            bytes,
                        })
                    };
                    end.physical_lines = no;
                    end.bytes = offset + nl as u64 + 1;
                    if f(line).is_break() {
                        break 'scan;
                    }
                    start = nl + 1;
                }
            }
            Piece::Long { offset, len } => {
                no += 1;
                end.long_lines += 1;
                let hashes = if opts.hash_long_lines {
                    match line_hashes_at(file, offset, len) {
                        Ok(h) => Some(h),
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            let now = file.metadata()?.len();
                            end.changed = Some(Changed::Shrank {
                                seen: offset + len,
                                now,
                            });
                            break 'scan;
                        }
                        Err(e) => return Err(e),
                    }
                } else {
                    None
                };
                end.physical_lines = no;
                end.bytes = offset + len + 1;
                let line = Line::Long(LongLine {
                    no,
                    offset,
                    len,
                    hashes,
                });
                if f(line).is_break() {
                    break 'scan;
                }
            }
            Piece::End { pending } => {
                end.pending = pending.map(|(off, len)| (no + 1, off, len));
                break 'scan;
            }
        }
    }
    if end.changed.is_none() {
        end.changed = fwd.changed;
    }
    Ok(end)
}

/// Bytes of complete lines handed to a worker at a time by [`scan_file_prepared`].
const BATCH: usize = 1 << 20;
/// Batches read ahead of the caller by [`scan_file_prepared`].
const DEPTH: usize = 4;

/// Per `\n`-terminated line of a batch: its hashes, and what `prep` made of it when it
/// is held (at most [`MAX_LINE`] bytes).
pub type Prepped<T> = Vec<(LineHashes, Option<T>)>;
/// A batch's bytes back from a worker, with what it made of them.
type Done<T> = (Vec<u8>, Prepped<T>);
/// A batch for a worker, and where to send it back.
type Job<T> = (Vec<u8>, std::sync::mpsc::SyncSender<Done<T>>);

/// What the reader of [`scan_file_prepared`] hands the caller's thread, in file order.
enum Item<T> {
    /// Complete lines starting at file offset `offset`; the worker sends back the
    /// bytes with what it made of each line.
    Batch {
        offset: u64,
        done: std::sync::mpsc::Receiver<Done<T>>,
    },
    /// A batch back from its worker and through the ordered stage.
    Ready {
        offset: u64,
        data: Vec<u8>,
        prepped: Prepped<T>,
    },
    /// A line too long for the buffer, hashed from the file.
    Long {
        offset: u64,
        len: u64,
        hashes: LineHashes,
    },
    /// The end: the pending last line, or what changed under the scan.
    End {
        pending: Option<(u64, u64)>,
        changed: Option<Changed>,
    },
    Failed(io::Error),
}

/// The hashes of every `\n`-terminated line of `data` and, for the held ones, `prep`.
fn prep_batch<S, T>(
    data: &[u8],
    state: &mut S,
    prep: &impl Fn(&mut S, &[u8]) -> T,
    out: &mut Prepped<T>,
) {
    out.clear();
    let mut start = 0usize;
    for nl in memchr::memchr_iter(b'\n', data) {
        let bytes = data.get(start..nl).unwrap_or_default();
        let t = (bytes.len() <= MAX_LINE).then(|| prep(state, bytes));
        out.push((LineHashes::of(bytes), t));
        start = nl + 1;
    }
}

/// Hand each line of `data` (complete lines from file offset `offset`) to `f` with
/// its entry of `prepped`, keeping the line count and `end` up to date.
fn deliver<T>(
    offset: u64,
    data: &[u8],
    prepped: &Prepped<T>,
    no: &mut u64,
    end: &mut ScanEnd,
    f: &mut impl FnMut(Line<'_>, Option<(&LineHashes, &T)>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let mut start = 0usize;
    for (k, nl) in memchr::memchr_iter(b'\n', data).enumerate() {
        let bytes = data.get(start..nl).unwrap_or_default();
        let line_off = offset + start as u64;
        *no += 1;
        let got = prepped.get(k);
        let hashes = got.map_or_else(|| LineHashes::of(bytes), |(h, _)| *h);
        end.physical_lines = *no;
        end.bytes = offset + nl as u64 + 1;
        start = nl + 1;
        let flow = if bytes.len() > MAX_LINE {
            end.long_lines += 1;
            let line = Line::Long(LongLine {
                no: *no,
                offset: line_off,
                len: bytes.len() as u64,
                hashes: Some(hashes),
            });
            f(line, None)
        } else {
            let line = Line::Held(LineRef {
                no: *no,
                offset: line_off,
                bytes,
            });
            f(line, got.and_then(|(h, t)| t.as_ref().map(|t| (h, t))))
        };
        flow?;
    }
    ControlFlow::Continue(())
}

/// [`scan_file_from`] with long lines hashed, where every line also gets its
/// [`LineHashes`] and, when held, what `prep` makes of its bytes (with a per-thread
/// state from `init`), computed on `workers` threads while the calling thread runs
/// `f` over earlier lines in file order. A reader thread reads ahead of `f` by a few
/// MiB (bounded); `workers == 0` does everything on the calling thread. `f` gets
/// `None` for lines over [`MAX_LINE`] (their hashes are in [`LongLine::hashes`]).
///
/// `stage` sees every batch in file order before `f` does, on a thread of its own
/// when there are workers: the number of the batch's first line, its bytes (complete
/// lines) and what the workers made of each line, which it may change. It takes
/// sequential work (a table of ids) off `f`'s thread.
///
/// Because the reader runs ahead, a file truncated while `f` runs might only show
/// after the last read: the length is checked once more when the scan ends, and a
/// file shorter than the lines handed out is [`Changed::Shrank`].
#[allow(clippy::too_many_arguments)]
pub fn scan_file_prepared<S, T, I, P, G, F>(
    file: &File,
    from: u64,
    lines_before: u64,
    workers: usize,
    init: I,
    prep: P,
    mut stage: G,
    mut f: F,
) -> io::Result<ScanEnd>
where
    T: Send,
    I: Fn() -> S + Sync,
    P: Fn(&mut S, &[u8]) -> T + Sync,
    G: FnMut(u64, &[u8], &mut Prepped<T>) + Send,
    F: FnMut(Line<'_>, Option<(&LineHashes, &T)>) -> ControlFlow<()>,
{
    let initial_len = file.metadata()?.len();
    let mut end = ScanEnd {
        bytes: from,
        physical_lines: lines_before,
        ..ScanEnd::default()
    };
    let mut no = lines_before;
    if workers == 0 {
        let mut state = init();
        let mut prepped = Vec::new();
        let mut fwd = Forward::new(file, from, None, initial_len);
        'inline: loop {
            match fwd.next_piece()? {
                Piece::Lines { offset, data } => {
                    prep_batch(data, &mut state, &prep, &mut prepped);
                    stage(no + 1, data, &mut prepped);
                    if deliver(offset, data, &prepped, &mut no, &mut end, &mut f).is_break() {
                        break 'inline;
                    }
                }
                Piece::Long { offset, len } => {
                    let hashes = match line_hashes_at(file, offset, len) {
                        Ok(h) => h,
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            let now = file.metadata()?.len();
                            end.changed = Some(Changed::Shrank {
                                seen: offset + len,
                                now,
                            });
                            break 'inline;
                        }
                        Err(e) => return Err(e),
                    };
                    if long_line(offset, len, hashes, &mut no, &mut end, &mut f).is_break() {
                        break 'inline;
                    }
                }
                Piece::End { pending } => {
                    end.pending = pending.map(|(off, len)| (no + 1, off, len));
                    break 'inline;
                }
            }
        }
        if end.changed.is_none() {
            end.changed = fwd.changed;
        }
    } else {
        let (item_tx, item_rx) = std::sync::mpsc::sync_channel::<Item<T>>(DEPTH);
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Item<T>>(DEPTH);
        let (job_tx, job_rx) = std::sync::mpsc::channel::<Job<T>>();
        let (spare_tx, spare_rx) = std::sync::mpsc::channel::<Vec<u8>>();
        let (spare_prepped_tx, spare_prepped_rx) = std::sync::mpsc::channel::<Prepped<T>>();
        let job_rx = std::sync::Mutex::new(job_rx);
        let spare_prepped_rx = std::sync::Mutex::new(spare_prepped_rx);
        let (init, prep, job_rx, spare_prepped_rx) = (&init, &prep, &job_rx, &spare_prepped_rx);
        let result = std::thread::scope(|s| -> io::Result<()> {
            for _ in 0..workers {
                s.spawn(move || {
                    let mut state = init();
                    loop {
                        let job = match job_rx.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok((data, done)) = job else { return };
                        let mut prepped = match spare_prepped_rx.lock() {
                            Ok(rx) => rx.try_recv().unwrap_or_default(),
                            Err(_) => Vec::new(),
                        };
                        prep_batch(&data, &mut state, prep, &mut prepped);
                        let _ = done.send((data, prepped));
                    }
                });
            }
            s.spawn(move || read_ahead(file, from, initial_len, &item_tx, &job_tx, &spare_rx));
            // The ordered stage: batches in file order, between the workers and `f`.
            let stage = &mut stage;
            s.spawn(move || {
                let mut no = lines_before;
                for item in item_rx.iter() {
                    let item = match item {
                        Item::Batch { offset, done } => match done.recv() {
                            Ok((data, mut prepped)) => {
                                stage(no + 1, &data, &mut prepped);
                                no += prepped.len() as u64;
                                Item::Ready {
                                    offset,
                                    data,
                                    prepped,
                                }
                            }
                            Err(_) => Item::Failed(io::Error::other("a scan worker thread failed")),
                        },
                        Item::Long { .. } => {
                            no += 1;
                            item
                        }
                        other => other,
                    };
                    let last = matches!(item, Item::End { .. } | Item::Failed(_));
                    if ready_tx.send(item).is_err() || last {
                        return;
                    }
                }
            });
            'piped: for item in ready_rx.iter() {
                match item {
                    Item::Ready {
                        offset,
                        data,
                        prepped,
                    } => {
                        let flow = deliver(offset, &data, &prepped, &mut no, &mut end, &mut f);
                        let _ = spare_tx.send(data);
                        let _ = spare_prepped_tx.send(prepped);
                        if flow.is_break() {
                            break 'piped;
                        }
                    }
                    Item::Batch { .. } => {
                        return Err(io::Error::other("scan: a batch skipped its stage"));
                    }
                    Item::Long {
                        offset,
                        len,
                        hashes,
                    } => {
                        if long_line(offset, len, hashes, &mut no, &mut end, &mut f).is_break() {
                            break 'piped;
                        }
                    }
                    Item::End { pending, changed } => {
                        end.pending = pending.map(|(off, len)| (no + 1, off, len));
                        end.changed = changed;
                        break 'piped;
                    }
                    Item::Failed(e) => return Err(e),
                }
            }
            // Stop the stage and the reader (their next send fails) before the scope
            // waits for them.
            drop(ready_rx);
            Ok(())
        });
        result?;
    }
    if end.changed.is_none() {
        let now = file.metadata()?.len();
        if now < end.bytes {
            end.changed = Some(Changed::Shrank {
                seen: end.bytes,
                now,
            });
        }
    }
    Ok(end)
}

/// Hand `f` a line too long for the buffer.
fn long_line<T>(
    offset: u64,
    len: u64,
    hashes: LineHashes,
    no: &mut u64,
    end: &mut ScanEnd,
    f: &mut impl FnMut(Line<'_>, Option<(&LineHashes, &T)>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    *no += 1;
    end.long_lines += 1;
    end.physical_lines = *no;
    end.bytes = offset + len + 1;
    f(
        Line::Long(LongLine {
            no: *no,
            offset,
            len,
            hashes: Some(hashes),
        }),
        None,
    )
}

/// The reader thread of [`scan_file_prepared`]: batches of complete lines go to the
/// workers and, in file order, to the caller; it stops when the caller hangs up.
fn read_ahead<T>(
    file: &File,
    from: u64,
    initial_len: u64,
    items: &std::sync::mpsc::SyncSender<Item<T>>,
    jobs: &std::sync::mpsc::Sender<Job<T>>,
    spares: &std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let mut fwd = Forward::new(file, from, None, initial_len);
    let mut batch: Vec<u8> = Vec::new();
    let mut batch_off = from;
    // Send the batch being filled; false when the caller hung up.
    let flush = |batch: &mut Vec<u8>, batch_off: u64| -> bool {
        if batch.is_empty() {
            return true;
        }
        let mut next = spares.try_recv().unwrap_or_default();
        next.clear();
        let data = std::mem::replace(batch, next);
        let (done_tx, done_rx) = std::sync::mpsc::sync_channel(1);
        if jobs.send((data, done_tx)).is_err() {
            return false;
        }
        items
            .send(Item::Batch {
                offset: batch_off,
                done: done_rx,
            })
            .is_ok()
    };
    loop {
        let item = match fwd.next_piece() {
            Err(e) => Item::Failed(e),
            Ok(Piece::Lines { offset, data }) => {
                if batch.is_empty() {
                    batch_off = offset;
                    batch.reserve(BATCH + BLOCK);
                }
                batch.extend_from_slice(data);
                if batch.len() >= BATCH && !flush(&mut batch, batch_off) {
                    return;
                }
                continue;
            }
            Ok(Piece::Long { offset, len }) => match line_hashes_at(file, offset, len) {
                Ok(hashes) => Item::Long {
                    offset,
                    len,
                    hashes,
                },
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Item::End {
                    pending: None,
                    changed: Some(Changed::Shrank {
                        seen: offset + len,
                        now: file.metadata().map_or(0, |m| m.len()),
                    }),
                },
                Err(e) => Item::Failed(e),
            },
            Ok(Piece::End { pending }) => Item::End {
                pending,
                changed: fwd.changed,
            },
        };
        if !flush(&mut batch, batch_off) {
            return;
        }
        let last = matches!(item, Item::End { .. } | Item::Failed(_));
        if items.send(item).is_err() || last {
            return;
        }
    }
}

/// Whether `path` now names a different file than the open `file`.
pub fn replaced(file: &File, path: &Path) -> bool {
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() != b.dev() || a.ino() != b.ino(),
        (Ok(_), Err(_)) => true,
        (Err(_), _) => false,
    }
}

/// What [`Forward`] hands out.
pub(crate) enum Piece<'b> {
    /// One or more complete lines, each ending in `\n`, the first at file offset
    /// `offset`. A line in here may be longer than [`MAX_LINE`] (up to ~2 MiB) when
    /// it arrived whole in one read; callers check.
    Lines { offset: u64, data: &'b [u8] },
    /// A complete line too long for the buffer: bytes `offset..offset + len`, then `\n`.
    Long { offset: u64, len: u64 },
    /// The end of the range: the unterminated segment after the last `\n`, if any, as
    /// (offset, length).
    End { pending: Option<(u64, u64)> },
}

/// Forward reader over `file[from..end)` (or to the end of the file) with `pread`,
/// handing out runs of complete lines without ever holding more than
/// [`FORWARD_CAP`] bytes. Checks after every read that the file did not shrink
/// below what was read.
pub(crate) struct Forward<'f> {
    file: &'f File,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    base: u64,
    /// `buf[start..filled]` is read but not handed out yet.
    start: usize,
    filled: usize,
    /// Stop at this offset (a line-aligned chunk); `None`: at the end of the file.
    end: Option<u64>,
    /// The file's length when the scan began: reading less is a shrink.
    initial_len: u64,
    eof: bool,
    done: bool,
    pub(crate) changed: Option<Changed>,
}

impl<'f> Forward<'f> {
    pub(crate) fn new(file: &'f File, from: u64, end: Option<u64>, initial_len: u64) -> Self {
        Forward {
            file,
            buf: vec![0u8; FORWARD_CAP],
            base: from,
            start: 0,
            filled: 0,
            end,
            initial_len,
            eof: false,
            done: false,
            changed: None,
        }
    }

    fn pos(&self) -> u64 {
        self.base + self.filled as u64
    }

    /// Read at most `want` bytes at `pos()` into `buf[filled..]`; 0 at the end.
    fn read_more(&mut self, want: usize) -> io::Result<usize> {
        let mut want = want.min(self.buf.len() - self.filled);
        if let Some(e) = self.end {
            want = want.min(usize::try_from(e.saturating_sub(self.pos())).unwrap_or(usize::MAX));
        }
        if want == 0 {
            return Ok(0);
        }
        let at = self.pos();
        let Some(dst) = self.buf.get_mut(self.filled..self.filled + want) else {
            return Ok(0);
        };
        let n = read_at_retry(self.file, dst, at)?;
        self.filled += n;
        self.check_shrink(n == 0)?;
        Ok(n)
    }

    /// After a read: the file must still hold everything read so far, and a read
    /// that found nothing must be at (or past) the length the scan started with.
    fn check_shrink(&mut self, got_nothing: bool) -> io::Result<()> {
        if self.changed.is_some() {
            return Ok(());
        }
        let seen = self.pos();
        let now = self.file.metadata()?.len();
        let expected_end = self.end.unwrap_or(self.initial_len);
        if now < seen || (got_nothing && seen < expected_end) {
            self.changed = Some(Changed::Shrank {
                seen: seen.max(expected_end.min(self.initial_len)),
                now,
            });
        }
        Ok(())
    }

    pub(crate) fn next_piece(&mut self) -> io::Result<Piece<'_>> {
        loop {
            if self.done {
                return Ok(Piece::End { pending: None });
            }
            let unread = self.buf.get(self.start..self.filled).unwrap_or_default();
            if let Some(k) = memchr::memrchr(b'\n', unread) {
                let offset = self.base + self.start as u64;
                let from = self.start;
                self.start += k + 1;
                let data = self.buf.get(from..self.start).unwrap_or_default();
                return Ok(Piece::Lines { offset, data });
            }
            let partial = self.filled - self.start;
            if self.eof || self.changed.is_some() {
                self.done = true;
                let offset = self.base + self.start as u64;
                return Ok(Piece::End {
                    pending: (partial > 0).then_some((offset, partial as u64)),
                });
            }
            if partial > MAX_LINE {
                return self.skip_long();
            }
            // Keep the partial line, read after it.
            self.buf.copy_within(self.start..self.filled, 0);
            self.base += self.start as u64;
            self.filled = partial;
            self.start = 0;
            if self.read_more(BLOCK.max(partial))? == 0 {
                self.eof = true;
            }
        }
    }

    /// The unread bytes are the start of a line over [`MAX_LINE`]: find its end with
    /// `memchr`, reading over the buffer, and keep what follows the `\n`.
    fn skip_long(&mut self) -> io::Result<Piece<'_>> {
        let line_start = self.base + self.start as u64;
        loop {
            self.base = self.pos();
            self.start = 0;
            self.filled = 0;
            let cap = self.buf.len();
            if self.read_more(cap)? == 0 {
                self.done = true;
                return Ok(Piece::End {
                    pending: Some((line_start, self.base - line_start)),
                });
            }
            let data = self.buf.get(..self.filled).unwrap_or_default();
            if let Some(k) = memchr::memchr(b'\n', data) {
                let len = self.base + k as u64 - line_start;
                self.start = k + 1;
                return Ok(Piece::Long {
                    offset: line_start,
                    len,
                });
            }
        }
    }
}

/// `pread` once, retrying when interrupted.
fn read_at_retry(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    loop {
        match file.read_at(buf, at) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// SHA-256 and the leaf hash fed together.
struct Hashers {
    sha: Sha256,
    leaf: Sha256,
}

impl Hashers {
    fn new() -> Self {
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        Hashers {
            sha: Sha256::new(),
            leaf,
        }
    }
    fn update(&mut self, b: &[u8]) {
        self.sha.update(b);
        self.leaf.update(b);
    }
    fn finish(self) -> LineHashes {
        LineHashes {
            sha256: self.sha.finalize().into(),
            leaf: self.leaf.finalize().into(),
        }
    }
}

/// Feed `file[offset..offset + len)` to `feed`, read in blocks (never held whole).
/// A file shorter than that is `UnexpectedEof`.
pub fn read_range(
    file: &File,
    offset: u64,
    len: u64,
    mut feed: impl FnMut(&[u8]),
) -> io::Result<()> {
    let block = usize::try_from(len).unwrap_or(usize::MAX).min(HASH_BLOCK);
    let mut buf = vec![0u8; block];
    let mut at = offset;
    let end = offset + len;
    while at < end {
        let n = usize::try_from(end - at).unwrap_or(usize::MAX).min(block);
        let chunk = buf.get_mut(..n).unwrap_or_default();
        file.read_exact_at(chunk, at)?;
        feed(chunk);
        at += n as u64;
    }
    Ok(())
}

/// SHA-256 of `file[offset..offset + len)`, streamed.
pub fn sha256_at(file: &File, offset: u64, len: u64) -> io::Result<[u8; 32]> {
    let mut h = Sha256::new();
    read_range(file, offset, len, |b| h.update(b))?;
    Ok(h.finalize().into())
}

/// Both hashes of `file[offset..offset + len)`, streamed.
pub fn line_hashes_at(file: &File, offset: u64, len: u64) -> io::Result<LineHashes> {
    let mut h = Hashers::new();
    read_range(file, offset, len, |b| h.update(b))?;
    Ok(h.finish())
}

/// Line boundaries of `file[..end]` found backwards (newest line first) with
/// `memrchr` over `pread` blocks; no line is copied. Each step costs O(the length of
/// the line it finds), so the last line costs O(its length) whatever precedes it.
///
/// If `file[end - 1]` is `\n` it ends the last line; otherwise the segment after the
/// last `\n` is passed as a line too (callers decide what an unterminated line means).
/// Empty lines are passed (length 0).
pub struct RevLines<'f> {
    file: &'f File,
    buf: Vec<u8>,
    /// `buf[..valid]` holds `file[buf_off..buf_off + valid]`.
    buf_off: u64,
    valid: usize,
    /// Exclusive end of the next line to hand out (its `\n`, or `end`); `None`: done.
    next_end: Option<u64>,
    floor: u64,
    cut: bool,
}

impl<'f> RevLines<'f> {
    pub fn new(file: &'f File, end: u64) -> io::Result<Self> {
        let next_end = if end == 0 {
            None
        } else {
            let mut last = [0u8; 1];
            file.read_exact_at(&mut last, end - 1)?;
            Some(if last[0] == b'\n' { end - 1 } else { end })
        };
        Ok(RevLines {
            file,
            buf: vec![0u8; REV_BLOCK],
            buf_off: 0,
            valid: 0,
            next_end,
            floor: 0,
            cut: false,
        })
    }

    /// Look no further back than `floor`: a line that starts before it is not handed
    /// out and the walk ends ([`RevLines::cut`] tells).
    pub fn set_floor(&mut self, floor: u64) {
        self.floor = floor;
    }

    /// The walk ended at the floor, not at the start of the file.
    pub fn cut(&self) -> bool {
        self.cut
    }

    /// The next line going backwards: (offset, length without `\n`).
    pub fn next_span(&mut self) -> io::Result<Option<(u64, u64)>> {
        let Some(line_end) = self.next_end else {
            return Ok(None);
        };
        match self.rfind_newline(line_end)? {
            Some(nl) => {
                self.next_end = Some(nl);
                Ok(Some((nl + 1, line_end - nl - 1)))
            }
            None if self.floor == 0 => {
                self.next_end = None;
                Ok(Some((0, line_end)))
            }
            None => {
                self.next_end = None;
                self.cut = true;
                Ok(None)
            }
        }
    }

    /// The last `\n` in `file[floor..before)`.
    fn rfind_newline(&mut self, before: u64) -> io::Result<Option<u64>> {
        let mut hi = before;
        while hi > self.floor {
            let cached_end = self.buf_off + self.valid as u64;
            if !(self.buf_off < hi && hi <= cached_end) {
                let lo = hi.saturating_sub(REV_BLOCK as u64).max(self.floor);
                let n = usize::try_from(hi - lo).unwrap_or(REV_BLOCK);
                let dst = self.buf.get_mut(..n).unwrap_or_default();
                self.file.read_exact_at(dst, lo)?;
                self.buf_off = lo;
                self.valid = n;
            }
            let lo = self.buf_off.max(self.floor);
            let from = usize::try_from(lo - self.buf_off).unwrap_or(0);
            let to = usize::try_from(hi - self.buf_off).unwrap_or(0);
            let window = self.buf.get(from..to).unwrap_or_default();
            if let Some(i) = memchr::memrchr(b'\n', window) {
                return Ok(Some(lo + i as u64));
            }
            hi = lo;
        }
        Ok(None)
    }
}

/// The last non-empty line of `file[..end]` (a final segment without `\n` counts):
/// (offset, length). O(its length, plus any empty lines after it).
pub fn last_line_span(file: &File, end: u64) -> io::Result<Option<(u64, u64)>> {
    let mut rev = RevLines::new(file, end)?;
    while let Some((off, len)) = rev.next_span()? {
        if len > 0 {
            return Ok(Some((off, len)));
        }
    }
    Ok(None)
}

/// Walk the lines of `file[..len]` backwards (newest first). The last segment is
/// passed even if it has no `\n` (callers decide); empty lines are passed too. `f`
/// gets the line bytes and its offset. Stops before a line that starts more than
/// `max_bytes` before the end of the data.
///
/// Each line is read into memory whole (O(its length), once): for a file that may
/// hold lines of any size, walk [`RevLines`] spans and read only what is needed.
pub fn for_each_line_rev(
    file: &File,
    len: u64,
    max_bytes: u64,
    mut f: impl FnMut(&[u8], u64) -> ControlFlow<()>,
) -> io::Result<()> {
    let mut rev = RevLines::new(file, len)?;
    // The floor is measured from the end of the data, not counting a final `\n`.
    let end_of_data = rev.next_end.unwrap_or(0);
    rev.set_floor(end_of_data.saturating_sub(max_bytes));
    let mut line = Vec::new();
    while let Some((off, n)) = rev.next_span()? {
        line.resize(usize::try_from(n).map_err(io::Error::other)?, 0);
        file.read_exact_at(&mut line, off)?;
        if f(&line, off).is_break() {
            break;
        }
    }
    Ok(())
}

/// Every complete, parseable ledger line in file order (rejects and a pending last
/// line are skipped), each with its 1-based `Entry::line`. A missing ledger is empty.
pub fn read_entries(
    hq_root: &std::path::Path,
) -> std::io::Result<Vec<crate::domain::ledger::Entry>> {
    read_entries_where(hq_root, |_| true)
}

/// The complete, parseable ledger lines that `keep` accepts, streamed: a big ledger
/// is never held in memory, only the entries kept, and a line longer than
/// [`crate::domain::ledger::MAX_LINE`] (a reject anyway) is skipped without being
/// held. Errors name the file.
pub fn read_entries_where(
    hq_root: &std::path::Path,
    keep: impl Fn(&crate::domain::ledger::Entry) -> bool,
) -> std::io::Result<Vec<crate::domain::ledger::Entry>> {
    use crate::domain::ledger::{MAX_LINE, parse_line};
    use std::io::{BufRead as _, Read as _};
    let path = hq_root.join(crate::domain::hq::paths::LEDGER);
    let named = |e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: cannot read: {e}", path.display()))
    };
    let file = match super::fsutil::open_regular(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(named(e)),
    };
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut out = Vec::new();
    let mut line_no = 0u64;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(named)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            if line.len() <= MAX_LINE {
                // A pending last line without `\n`: not an entry yet.
                break;
            }
            // Too long to be an entry: skip the rest of it.
            if reader.skip_until(b'\n').map_err(named)? == 0 {
                break;
            }
            line_no += 1;
            continue;
        }
        line_no += 1;
        line.pop();
        if line.is_empty() {
            continue;
        }
        if let Ok(mut e) = parse_line(&line)
            && keep(&e)
        {
            e.line = Some(line_no);
            out.push(e);
        }
    }
    Ok(out)
}

/// Split at line boundaries into at most `n` chunks of similar size (for parallel
/// scans: `ledger stats`, the console's filter scan).
pub fn split_at_lines(data: &[u8], n: usize) -> Vec<&[u8]> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Everything a prepared scan hands over, per line: (number, offset, length,
    /// hashes, what `prep` said).
    type Prepared = Vec<(u64, u64, u64, Option<LineHashes>, Option<usize>)>;

    fn prepared_scan(f: &File, workers: usize) -> (Prepared, ScanEnd) {
        let mut seen = Vec::new();
        let end = scan_file_prepared(
            f,
            0,
            0,
            workers,
            || 0usize,
            |calls: &mut usize, bytes: &[u8]| {
                *calls += 1;
                bytes.len()
            },
            |first, data: &[u8], prepped: &mut Prepped<usize>| {
                // The stage sees each line's number: it leaves it where `f` checks it.
                let lines = memchr::memchr_iter(b'\n', data).count();
                assert_eq!(lines, prepped.len());
                for (k, (_, t)) in prepped.iter_mut().enumerate() {
                    if let Some(t) = t {
                        *t += 1_000_000 * (first as usize + k);
                    }
                }
            },
            |l, got| {
                let hashes = match l {
                    Line::Held(_) => got.map(|(h, _)| *h),
                    Line::Long(long) => {
                        assert!(got.is_none(), "line {}", long.no);
                        long.hashes
                    }
                };
                let said = got.map(|(_, t)| t - 1_000_000 * l.no() as usize);
                seen.push((l.no(), l.offset(), l.len(), hashes, said));
                ControlFlow::Continue(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (seen, end)
    }

    #[test]
    fn prepared_scans_match_a_plain_scan_on_any_number_of_threads() {
        // Several batches of short lines, empty lines, a line over the limit that fits
        // the buffer, one that does not, and a pending tail.
        let mut data = Vec::new();
        // Enough batches that the reader reuses buffers the caller gave back.
        for i in 0..150_000 {
            data.extend_from_slice(
                format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 97)).as_bytes(),
            );
            if i % 5000 == 0 {
                data.push(b'\n');
            }
            if i == 20_000 {
                data.extend(std::iter::repeat_n(b'L', MAX_LINE + 10));
                data.push(b'\n');
            }
            if i == 30_000 {
                data.extend(std::iter::repeat_n(b'M', FORWARD_CAP + 10));
                data.push(b'\n');
            }
        }
        data.extend_from_slice(b"partial, no newline");
        assert!(data.len() > 2 * DEPTH * BATCH);
        let f = file_with(&data);
        let mut want: Prepared = Vec::new();
        let plain = scan_file_from(
            &f,
            ScanOptions {
                hash_long_lines: true,
            },
            0,
            0,
            |l| {
                let (hashes, said) = match l {
                    Line::Held(r) => (Some(LineHashes::of(r.bytes)), Some(r.bytes.len())),
                    Line::Long(long) => (long.hashes, None),
                };
                want.push((l.no(), l.offset(), l.len(), hashes, said));
                ControlFlow::Continue(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(plain.long_lines, 2);
        for workers in [0, 1, 2, 3] {
            let (got, end) = prepared_scan(&f, workers);
            assert_eq!(got.len(), want.len(), "{workers} workers");
            assert!(got == want, "{workers} workers: lines differ");
            assert_eq!(
                end.physical_lines, plain.physical_lines,
                "{workers} workers"
            );
            assert_eq!(end.bytes, plain.bytes, "{workers} workers");
            assert_eq!(end.pending, plain.pending, "{workers} workers");
            assert_eq!(end.long_lines, plain.long_lines, "{workers} workers");
            assert_eq!(end.changed, None, "{workers} workers");
        }
    }

    #[test]
    fn a_prepared_scan_sees_a_truncation_behind_its_read_ahead() {
        let line = b"{\"id\":\"x\",\"branch\":\"b\",\"event\":\"e\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n";
        let content: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 40_000)
            .collect();
        for workers in [0, 2] {
            let tmp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(tmp.path(), &content).unwrap_or_else(|e| panic!("{e}"));
            let f =
                crate::store::fsutil::open_regular(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
            let mut n = 0u64;
            let end = scan_file_prepared(
                &f,
                0,
                0,
                workers,
                || (),
                |_, _| (),
                |_, _: &[u8], _: &mut Prepped<()>| {},
                |_, _| {
                    n += 1;
                    if n == 39_990 {
                        // Near the end: the reader has long read everything.
                        let w = std::fs::OpenOptions::new().write(true).open(tmp.path());
                        w.and_then(|w| w.set_len(100))
                            .unwrap_or_else(|e| panic!("{e}"));
                    }
                    ControlFlow::Continue(())
                },
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert!(
                matches!(end.changed, Some(Changed::Shrank { now: 100, .. })),
                "{workers} workers: {:?}",
                end.changed
            );
        }
    }

    fn file_with(content: &[u8]) -> File {
        let mut tmp = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        tmp.write_all(content).unwrap_or_else(|e| panic!("{e}"));
        tmp
    }

    fn rev_lines(content: &[u8]) -> Vec<(Vec<u8>, u64)> {
        let tmp = file_with(content);
        let mut out = Vec::new();
        for_each_line_rev(&tmp, content.len() as u64, u64::MAX, |l, o| {
            out.push((l.to_vec(), o));
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    /// The spans a plain split finds, newest first (the reference for `RevLines`).
    fn naive_spans(content: &[u8]) -> Vec<(u64, u64)> {
        if content.is_empty() {
            return Vec::new();
        }
        let body = content.strip_suffix(b"\n").unwrap_or(content);
        let mut out = Vec::new();
        let mut off = 0u64;
        for seg in body.split(|&b| b == b'\n') {
            out.push((off, seg.len() as u64));
            off += seg.len() as u64 + 1;
        }
        out.reverse();
        out
    }

    fn spans(content: &[u8]) -> Vec<(u64, u64)> {
        let tmp = file_with(content);
        let mut rev = RevLines::new(&tmp, content.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        while let Some(s) = rev.next_span().unwrap_or_else(|e| panic!("{e}")) {
            out.push(s);
        }
        out
    }

    #[test]
    fn reverse_reading() {
        assert!(rev_lines(b"").is_empty());
        assert_eq!(rev_lines(b"a\n"), vec![(b"a".to_vec(), 0)]);
        assert_eq!(
            rev_lines(b"a\n\nbc"),
            vec![(b"bc".to_vec(), 3), (vec![], 2), (b"a".to_vec(), 0)]
        );
        let long = vec![b'x'; 200_000];
        let mut content = b"first\n".to_vec();
        content.extend_from_slice(&long);
        content.extend_from_slice(b"\nlast\n");
        let got = rev_lines(&content);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (b"last".to_vec(), 200_007));
        assert_eq!(got[1], (long, 6));
        assert_eq!(got[2], (b"first".to_vec(), 0));
    }

    #[test]
    fn reverse_reading_stops_at_max_bytes() {
        let content = b"aaaa\nbbbb\ncccc\n";
        let tmp = file_with(content);
        let walk = |max: u64| {
            let mut seen = Vec::new();
            for_each_line_rev(&tmp, content.len() as u64, max, |l, o| {
                seen.push((l.to_vec(), o));
                ControlFlow::Continue(())
            })
            .unwrap_or_else(|e| panic!("{e}"));
            seen
        };
        // The data ends at 14 (the final `\n` aside). A line is passed when the `\n`
        // before it lies within `max` bytes of that end (as before this rewrite).
        assert_eq!(walk(9), vec![(b"cccc".to_vec(), 10)]);
        assert_eq!(
            walk(10),
            vec![(b"cccc".to_vec(), 10), (b"bbbb".to_vec(), 5)]
        );
        assert_eq!(walk(u64::MAX).len(), 3);
    }

    #[test]
    fn last_line_finder_at_block_boundaries() {
        let b = REV_BLOCK;
        // Lines whose `\n` falls just before, on and after each block edge, seen from
        // the end of the file; terminated and not.
        for total in [
            b - 2,
            b - 1,
            b,
            b + 1,
            b + 2,
            2 * b - 1,
            2 * b,
            2 * b + 1,
            3 * b + 7,
        ] {
            for last_len in [
                0usize,
                1,
                2,
                b - 1,
                b,
                b + 1,
                total.saturating_sub(1),
                total,
            ] {
                if last_len > total {
                    continue;
                }
                for terminated in [true, false] {
                    let mut content = vec![b'a'; total - last_len];
                    if let Some(x) = content.last_mut() {
                        *x = b'\n';
                    }
                    content.extend(std::iter::repeat_n(b'z', last_len));
                    if terminated {
                        content.push(b'\n');
                    }
                    let want = naive_spans(&content);
                    assert_eq!(spans(&content), want, "total {total} last {last_len}");
                    let tmp = file_with(&content);
                    let got = last_line_span(&tmp, content.len() as u64)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let want_last = want.iter().copied().find(|&(_, l)| l > 0);
                    assert_eq!(got, want_last, "total {total} last {last_len}");
                }
            }
        }
    }

    #[test]
    fn rev_spans_match_a_split_on_random_files() {
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(0x5ca9);
        for _ in 0..200 {
            let len = rng.random_range(0..4 * REV_BLOCK);
            let density = rng.random_range(1..5000u32);
            let content: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.random_range(0..density) == 0 {
                        b'\n'
                    } else {
                        b'x'
                    }
                })
                .collect();
            assert_eq!(spans(&content), naive_spans(&content), "len {len}");
        }
    }

    #[test]
    fn rev_floor_cuts_a_line_that_starts_before_it() {
        let content = b"first\nsecond-line\nthird\n";
        let tmp = file_with(content);
        let mut rev = RevLines::new(&tmp, content.len() as u64).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rev.next_span().ok().flatten(), Some((18, 5)));
        rev.set_floor(8);
        assert_eq!(rev.next_span().ok().flatten(), None);
        assert!(rev.cut());
    }

    /// (line number, offset, length, the bytes when held) per line.
    type Seen = Vec<(u64, u64, u64, Option<Vec<u8>>)>;

    fn scan_all(content: &[u8], hash: bool) -> (Seen, ScanEnd) {
        let tmp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(tmp.path(), content).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        let end = scan_lines(
            tmp.path(),
            ScanOptions {
                hash_long_lines: hash,
            },
            |l| {
                let bytes = match l {
                    Line::Held(r) => Some(r.bytes.to_vec()),
                    Line::Long(_) => None,
                };
                out.push((l.no(), l.offset(), l.len(), bytes));
                ControlFlow::Continue(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        (out, end)
    }

    #[test]
    fn forward_scan_matches_a_split_and_skips_long_lines() {
        // Line lengths around the limit and the buffer: each is held exactly when it
        // is at most MAX_LINE bytes.
        let lens = [
            0usize,
            5,
            MAX_LINE - 1,
            MAX_LINE,
            MAX_LINE + 1,
            3,
            BLOCK,
            2 * MAX_LINE + 5,
            0,
            7,
            FORWARD_CAP + 3,
            1,
        ];
        let mut content = Vec::new();
        let mut want = Vec::new();
        for (i, &n) in lens.iter().enumerate() {
            want.push((i as u64 + 1, content.len() as u64, n as u64));
            content.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, n));
            content.push(b'\n');
        }
        content.extend_from_slice(b"tail");
        let (got, end) = scan_all(&content, false);
        let seen: Vec<(u64, u64, u64)> = got.iter().map(|&(a, b, c, _)| (a, b, c)).collect();
        assert_eq!(seen, want);
        for (no, off, len, bytes) in &got {
            let held = *len as usize <= MAX_LINE;
            assert_eq!(bytes.is_some(), held, "line {no}");
            if let Some(b) = bytes {
                let at = *off as usize;
                assert_eq!(b.as_slice(), &content[at..at + *len as usize]);
            }
        }
        assert_eq!(end.physical_lines, lens.len() as u64);
        assert_eq!(end.long_lines, 3);
        assert_eq!(
            end.pending,
            Some((lens.len() as u64 + 1, content.len() as u64 - 4, 4))
        );
        assert!(end.changed.is_none());
    }

    #[test]
    fn long_lines_are_hashed_over_their_exact_bytes() {
        let mut content = b"short\n".to_vec();
        let long: Vec<u8> = (0..3 * MAX_LINE).map(|i| (i % 251) as u8 | 1).collect();
        let long: Vec<u8> = long
            .into_iter()
            .map(|b| if b == b'\n' { b'x' } else { b })
            .collect();
        content.extend_from_slice(&long);
        content.push(b'\n');
        let tmp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(tmp.path(), &content).unwrap_or_else(|e| panic!("{e}"));
        let mut hashes = Vec::new();
        scan_lines(
            tmp.path(),
            ScanOptions {
                hash_long_lines: true,
            },
            |l| {
                if let Line::Long(l) = l {
                    hashes.push(l.hashes);
                }
                ControlFlow::Continue(())
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(hashes, vec![Some(LineHashes::of(&long))]);
        let want: [u8; 32] = Sha256::digest(&long).into();
        assert_eq!(hashes[0].map(|h| h.sha256), Some(want));
        assert_eq!(
            hashes[0].map(|h| h.leaf),
            Some(crate::domain::merkle::leaf_hash(&long))
        );
    }

    #[test]
    fn an_unterminated_long_last_line_is_pending_not_held() {
        let mut content = b"{\"a\":1}\n".to_vec();
        content.extend(std::iter::repeat_n(b'q', 3 * FORWARD_CAP));
        let (got, end) = scan_all(&content, true);
        assert_eq!(got.len(), 1);
        assert_eq!(end.pending, Some((2, 8, 3 * FORWARD_CAP as u64)));
        assert_eq!(end.long_lines, 0);
    }

    #[test]
    fn a_file_truncated_during_the_scan_is_reported() {
        let tmp = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
        let line = b"{\"id\":\"x\",\"branch\":\"b\",\"event\":\"e\",\"timestamp\":\"2026-01-01T00:00:00Z\"}\n";
        let content: Vec<u8> = line
            .iter()
            .copied()
            .cycle()
            .take(line.len() * 40_000)
            .collect();
        std::fs::write(tmp.path(), &content).unwrap_or_else(|e| panic!("{e}"));
        let path = tmp.path().to_path_buf();
        let mut lines = 0u64;
        let end = scan_lines(&path, ScanOptions::default(), |_| {
            lines += 1;
            if lines == 10 {
                // Another process truncates the file in place (copytruncate).
                let p = path.clone();
                std::thread::spawn(move || {
                    let f = std::fs::OpenOptions::new().write(true).open(&p);
                    f.and_then(|f| f.set_len(100))
                })
                .join()
                .unwrap_or_else(|_| panic!("truncating thread"))
                .unwrap_or_else(|e| panic!("{e}"));
            }
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(end.changed, Some(Changed::Shrank { now: 100, .. })),
            "{:?}",
            end.changed
        );
        assert!(lines < 40_000);
    }

    #[test]
    fn a_file_replaced_during_the_scan_is_reported() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("ledger.jsonl");
        std::fs::write(&path, b"a\nb\nc\n").unwrap_or_else(|e| panic!("{e}"));
        let other = dir.path().join("new.jsonl");
        std::fs::write(&other, b"x\n").unwrap_or_else(|e| panic!("{e}"));
        let end = scan_lines(&path, ScanOptions::default(), |l| {
            if l.no() == 1 {
                let _ = std::fs::rename(&other, &path);
            }
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(end.changed, Some(Changed::Replaced));
        assert_eq!(end.physical_lines, 3);
    }
}
