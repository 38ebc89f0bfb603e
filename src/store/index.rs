//! An offset index over the ledger file so the console can scroll a file of any size
//! without holding it: the start offset of every complete physical line, built in a
//! background thread with 1 MiB `pread`s (no memory map: touched pages of a map count
//! in RSS, and a map of a file another process truncates kills the reader with
//! SIGBUS), extended incrementally as the file grows, lines read back with `pread`.
//! Memory: 8 bytes per line (80 MB for 10 M lines), never a line's bytes.
//!
//! The file may change under the index (logrotate's `copytruncate`, an operator
//! replacing it): every refresh checks that it is still the same file (device and
//! inode), no shorter than what was read, and that the byte before the read position
//! is still a line end. If not, the index is emptied, its [`LineIndex::epoch`] moves on
//! and [`LineIndex::last_change`] says why; the owner re-reads from scratch. Reads
//! through the index check the same things, so an offset from the old file is never
//! used against the new one.
//!
//! A pending (unterminated) last line is read once: the index remembers how far it
//! looked without finding `\n` and the next refresh goes on from there, so a writer
//! that never finishes a 1 GiB line costs nothing per poll.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::domain::ledger::MAX_LINE;

const READ_BLOCK: usize = 1 << 20;
/// Bytes read of a line longer than [`MAX_LINE`]: enough for its excerpt.
pub const LONG_LINE_HEAD: usize = 4096;

/// How the ledger changed under a reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerChange {
    /// Shorter than what was read, or rewritten in place.
    Truncated,
    /// Another file (new inode) at the path, or the path is gone.
    Replaced,
}

impl std::fmt::Display for LedgerChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LedgerChange::Truncated => "the ledger was truncated",
            LedgerChange::Replaced => "the ledger was replaced",
        })
    }
}

impl std::error::Error for LedgerChange {}

impl LedgerChange {
    /// An `io::Error` carrying this change (see [`LedgerChange::of`]).
    pub fn error(self) -> io::Error {
        io::Error::other(self)
    }

    /// The change an `io::Error` from a ledger read carries, if that is what it is.
    pub fn of(e: &io::Error) -> Option<LedgerChange> {
        e.get_ref()?.downcast_ref::<LedgerChange>().copied()
    }
}

/// Device and inode: which file a path named when it was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    pub fn of(m: &std::fs::Metadata) -> FileId {
        FileId {
            dev: m.dev(),
            ino: m.ino(),
        }
    }
}

/// Whether the byte just before `pos` is `\n` (true at 0). A file truncated and
/// written again past `pos` between two looks usually fails this.
pub fn ends_line_before(file: &File, pos: u64) -> io::Result<bool> {
    if pos == 0 {
        return Ok(true);
    }
    let mut b = [0u8; 1];
    match file.read_at(&mut b, pos - 1)? {
        0 => Ok(false),
        _ => Ok(b[0] == b'\n'),
    }
}

#[derive(Debug, Default)]
struct State {
    /// Start offset of each complete line (empty lines included).
    starts: Vec<u64>,
    /// Bytes covered: the end of the last complete line (just past its `\n`).
    covered: u64,
    /// Bytes after `covered` already read without finding `\n` (the pending line).
    looked: u64,
    /// The file the offsets belong to (set by the first read).
    id: Option<FileId>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    state: RwLock<State>,
    /// Progress of the initial build, readable without the lock.
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
    building: AtomicBool,
    error: RwLock<Option<String>>,
    /// One refresh at a time (the background build and the tail may both call it).
    refreshing: Mutex<()>,
    /// Moves on every time the index is emptied because the file changed.
    epoch: AtomicU64,
    last_change: RwLock<Option<LedgerChange>>,
    /// Bytes read by refreshes, ever (what a poll costs).
    bytes_read: AtomicU64,
}

/// A shareable handle; clones see the same index.
#[derive(Debug, Clone)]
pub struct LineIndex {
    inner: Arc<Inner>,
}

/// Build progress for the pane's indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub lines: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub building: bool,
}

/// One line read through the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedLine {
    /// 0-based line index (the line number is this + 1).
    pub index: u64,
    pub offset: u64,
    /// True length without `\n`.
    pub len: u64,
    /// The whole line, or only its first [`LONG_LINE_HEAD`] bytes when it is longer
    /// than [`MAX_LINE`] (a reject that is never read whole).
    pub bytes: Vec<u8>,
}

impl IndexedLine {
    /// Longer than [`MAX_LINE`]: `bytes` is only its beginning.
    pub fn is_cut(&self) -> bool {
        self.len > self.bytes.len() as u64
    }
}

impl LineIndex {
    /// An empty index for `path`; call [`LineIndex::spawn_build`] or [`LineIndex::refresh`].
    pub fn new(path: &Path) -> Self {
        LineIndex {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                state: RwLock::new(State::default()),
                bytes_done: AtomicU64::new(0),
                bytes_total: AtomicU64::new(0),
                building: AtomicBool::new(false),
                error: RwLock::new(None),
                refreshing: Mutex::new(()),
                epoch: AtomicU64::new(0),
                last_change: RwLock::new(None),
                bytes_read: AtomicU64::new(0),
            }),
        }
    }

    /// Start indexing in a background thread; the handle is usable at once (lines
    /// appear as they are indexed).
    pub fn spawn_build(path: &Path) -> (Self, std::thread::JoinHandle<()>) {
        let idx = Self::new(path);
        idx.inner.building.store(true, Ordering::Release);
        let worker = idx.clone();
        let handle = std::thread::spawn(move || {
            if let Err(e) = worker.refresh()
                && let Ok(mut slot) = worker.inner.error.write()
            {
                *slot = Some(format!("{}: {e}", worker.inner.path.display()));
            }
            worker.inner.building.store(false, Ordering::Release);
        });
        (idx, handle)
    }

    /// The path indexed.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Index whatever was appended since the last call. Returns how many complete
    /// lines were added. A missing file is an empty index. If the file is not the one
    /// indexed any more (shorter, rewritten, another inode, gone) the index is emptied
    /// and the call returns at once with 0: [`LineIndex::epoch`] has moved on, and the
    /// next call reads the new file from the start.
    pub fn refresh(&self) -> io::Result<u64> {
        let _guard = match self.inner.refreshing.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let epoch = self.epoch();
        let (covered, looked, known) = self.read_state(|s| (s.covered, s.looked, s.id));
        let file = match crate::store::fsutil::open_regular(&self.inner.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if known.is_some() {
                    self.reset(epoch, LedgerChange::Replaced);
                }
                return Ok(0);
            }
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let len = meta.len();
        let id = FileId::of(&meta);
        if known.is_some_and(|k| k != id) {
            self.reset(epoch, LedgerChange::Replaced);
            return Ok(0);
        }
        if len < covered + looked || !ends_line_before(&file, covered)? {
            self.reset(epoch, LedgerChange::Truncated);
            return Ok(0);
        }
        if known.is_none()
            && let Ok(mut s) = self.inner.state.write()
        {
            s.id = Some(id);
        }
        self.inner.bytes_total.store(len, Ordering::Release);
        let mut added = 0u64;
        let mut buf = vec![0u8; READ_BLOCK];
        let mut pos = covered + looked;
        let mut line_start = covered;
        let mut batch: Vec<u64> = Vec::with_capacity(16 * 1024);
        while pos < len {
            let want = usize::try_from(len - pos)
                .unwrap_or(READ_BLOCK)
                .min(READ_BLOCK);
            let n = match file.read_at(buf.get_mut(..want).unwrap_or_default(), pos) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                // Shorter than it was a moment ago: truncated while being read.
                self.reset(epoch, LedgerChange::Truncated);
                return Ok(0);
            }
            for nl in memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()) {
                batch.push(line_start);
                line_start = pos + nl as u64 + 1;
            }
            pos += n as u64;
            self.inner.bytes_read.fetch_add(n as u64, Ordering::Relaxed);
            added += batch.len() as u64;
            if !self.publish(epoch, &mut batch, line_start, pos - line_start) {
                return Ok(0); // emptied meanwhile (a read saw the file change)
            }
            self.inner.bytes_done.store(pos, Ordering::Release);
        }
        Ok(added)
    }

    /// Add `batch` unless the index was emptied since `epoch` began.
    fn publish(&self, epoch: u64, batch: &mut Vec<u64>, covered: u64, looked: u64) -> bool {
        let ok = match self.inner.state.write() {
            Ok(mut s) => {
                if self.epoch() != epoch {
                    false
                } else {
                    s.starts.extend_from_slice(batch);
                    s.covered = covered;
                    s.looked = looked;
                    true
                }
            }
            Err(_) => false,
        };
        batch.clear();
        ok
    }

    /// Empty the index because the file changed (unless that already happened since
    /// `epoch`).
    fn reset(&self, epoch: u64, why: LedgerChange) {
        if let Ok(mut s) = self.inner.state.write() {
            if self.epoch() != epoch {
                return;
            }
            *s = State::default();
            self.inner.epoch.fetch_add(1, Ordering::AcqRel);
            self.inner.bytes_done.store(0, Ordering::Release);
            self.inner.bytes_total.store(0, Ordering::Release);
            if let Ok(mut c) = self.inner.last_change.write() {
                *c = Some(why);
            }
        }
    }

    /// A read through the index found the file changed: empty it now (the next
    /// [`LineIndex::refresh`] reads the file from the start).
    pub fn invalidate(&self, why: LedgerChange) {
        self.reset(self.epoch(), why);
    }

    /// How many times the index was emptied because the file changed.
    pub fn epoch(&self) -> u64 {
        self.inner.epoch.load(Ordering::Acquire)
    }

    /// Why the index was last emptied.
    pub fn last_change(&self) -> Option<LedgerChange> {
        self.inner.last_change.read().ok().and_then(|c| *c)
    }

    fn read_state<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        match self.inner.state.read() {
            Ok(s) => f(&s),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    /// Complete physical lines indexed so far.
    pub fn len(&self) -> u64 {
        self.read_state(|s| s.starts.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes read by [`LineIndex::refresh`] since the index was made (a refresh with
    /// nothing appended reads nothing, a pending line included).
    pub fn bytes_read(&self) -> u64 {
        self.inner.bytes_read.load(Ordering::Relaxed)
    }

    /// Bytes of the unterminated last line seen so far (0: none).
    pub fn pending_len(&self) -> u64 {
        self.read_state(|s| s.looked)
    }

    pub fn progress(&self) -> Progress {
        Progress {
            lines: self.len(),
            bytes_done: self.inner.bytes_done.load(Ordering::Acquire),
            bytes_total: self.inner.bytes_total.load(Ordering::Acquire),
            building: self.inner.building.load(Ordering::Acquire),
        }
    }

    /// The error that stopped the background build, if any.
    pub fn error(&self) -> Option<String> {
        self.inner.error.read().ok().and_then(|e| e.clone())
    }

    /// (offset, length without `\n`) of line `i` (0-based).
    pub fn span(&self, i: u64) -> Option<(u64, u64)> {
        self.read_state(|s| span_of(s, i))
    }

    /// Open the indexed file for reading lines: an error carrying a [`LedgerChange`]
    /// when the path now names another file.
    fn open_same(&self, id: Option<FileId>) -> io::Result<File> {
        let file = match crate::store::fsutil::open_regular(&self.inner.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(LedgerChange::Replaced.error());
            }
            Err(e) => return Err(e),
        };
        if let Some(id) = id
            && FileId::of(&file.metadata()?) != id
        {
            return Err(LedgerChange::Replaced.error());
        }
        Ok(file)
    }

    /// Call `f` with lines `first..first+count` (0-based, clamped to what is
    /// indexed), each read with `pread` into one reused buffer: a line longer than
    /// [`MAX_LINE`] is passed cut to [`LONG_LINE_HEAD`] bytes (its true length is in
    /// the span). A file that changed under the index is an error carrying a
    /// [`LedgerChange`] (never bytes from the new file at an old offset).
    pub fn visit(
        &self,
        first: u64,
        count: u64,
        mut f: impl FnMut(u64, u64, u64, &[u8]),
    ) -> io::Result<()> {
        let (spans, id): (Vec<(u64, u64, u64)>, Option<FileId>) = self.read_state(|s| {
            let spans = (first..first.saturating_add(count))
                .map_while(|i| span_of(s, i).map(|(o, l)| (i, o, l)))
                .collect();
            (spans, s.id)
        });
        if spans.is_empty() {
            return Ok(());
        }
        let file = self.open_same(id)?;
        let mut buf = Vec::new();
        for (i, off, len) in spans {
            // The line and its `\n`: a line that no longer ends where the index says
            // is not the line indexed (the file was rewritten in place).
            let long = len > MAX_LINE as u64;
            let want = if long {
                LONG_LINE_HEAD
            } else {
                usize::try_from(len + 1).map_err(io::Error::other)?
            };
            buf.resize(want, 0);
            match file.read_exact_at(&mut buf, off) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Err(LedgerChange::Truncated.error());
                }
                Err(e) => return Err(e),
            }
            let ends = if long {
                ends_line_before(&file, off + len + 1)?
            } else {
                buf.pop() == Some(b'\n')
            };
            if !ends {
                return Err(LedgerChange::Truncated.error());
            }
            f(i, off, len, &buf);
        }
        Ok(())
    }

    /// Read line `i` (0-based) with `pread`; `None` past the end (see [`LineIndex::visit`]).
    pub fn line(&self, i: u64) -> io::Result<Option<IndexedLine>> {
        Ok(self.lines(i, 1)?.pop())
    }

    /// Read lines `first..first+count` (clamped; see [`LineIndex::visit`]).
    pub fn lines(&self, first: u64, count: u64) -> io::Result<Vec<IndexedLine>> {
        let mut out = Vec::new();
        self.visit(first, count, |index, offset, len, bytes| {
            out.push(IndexedLine {
                index,
                offset,
                len,
                bytes: bytes.to_vec(),
            })
        })?;
        Ok(out)
    }
}

fn span_of(s: &State, i: u64) -> Option<(u64, u64)> {
    let i = usize::try_from(i).ok()?;
    let start = *s.starts.get(i)?;
    let end = match s.starts.get(i + 1) {
        Some(next) => *next,
        None => s.covered,
    };
    Some((start, end.checked_sub(start)?.checked_sub(1)?))
}
