//! An offset index over the ledger file so the console can scroll a file of any size
//! without holding it: the start offset of every complete physical line, built in a
//! background thread with buffered 1 MiB reads (no memory map: touched pages of a map
//! count in RSS), extended incrementally as the file grows, lines read back with
//! `pread`. Memory: 8 bytes per line (80 MB for 10 M lines).

use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

const READ_BLOCK: usize = 1 << 20;

#[derive(Debug, Default)]
struct State {
    /// Start offset of each complete line (empty lines included).
    starts: Vec<u64>,
    /// Bytes covered: the end of the last complete line (just past its `\n`).
    covered: u64,
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

    /// Index whatever was appended since the last call. Returns how many complete
    /// lines were added. A missing file is an empty index. If the file shrank (it
    /// must not: the ledger is append-only) the index is rebuilt from the start.
    pub fn refresh(&self) -> std::io::Result<u64> {
        let _guard = match self.inner.refreshing.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let file = match crate::fsutil::open_regular(&self.inner.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        let mut from = self.read_state(|s| s.covered);
        if len < from {
            if let Ok(mut s) = self.inner.state.write() {
                *s = State::default();
            }
            from = 0;
        }
        self.inner.bytes_total.store(len, Ordering::Release);
        let mut added = 0u64;
        let mut buf = vec![0u8; READ_BLOCK];
        let mut pos = from;
        let mut line_start = from;
        let mut batch: Vec<u64> = Vec::with_capacity(16 * 1024);
        let mut file = file;
        file.seek(SeekFrom::Start(from))?;
        let mut reader = (&file).take(len - from);
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            for nl in memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()) {
                batch.push(line_start);
                line_start = pos + nl as u64 + 1;
            }
            pos += n as u64;
            added += batch.len() as u64;
            self.publish(&mut batch, line_start);
            self.inner.bytes_done.store(pos, Ordering::Release);
        }
        Ok(added)
    }

    fn publish(&self, batch: &mut Vec<u64>, covered: u64) {
        if let Ok(mut s) = self.inner.state.write() {
            s.starts.extend_from_slice(batch);
            s.covered = covered;
        }
        batch.clear();
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
        self.read_state(|s| {
            let i = usize::try_from(i).ok()?;
            let start = *s.starts.get(i)?;
            let end = match s.starts.get(i + 1) {
                Some(next) => *next,
                None => s.covered,
            };
            Some((start, end.checked_sub(start)?.checked_sub(1)?))
        })
    }

    /// Read line `i` (0-based) with `pread`; `None` past the end.
    pub fn line(&self, i: u64) -> std::io::Result<Option<Vec<u8>>> {
        let Some((off, len)) = self.span(i) else {
            return Ok(None);
        };
        let file = crate::fsutil::open_regular(&self.inner.path)?;
        let mut buf = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
        file.read_exact_at(&mut buf, off)?;
        Ok(Some(buf))
    }

    /// Read lines `first..first+count` (clamped) with one open and one pread per line.
    pub fn lines(&self, first: u64, count: u64) -> std::io::Result<Vec<(u64, Vec<u8>)>> {
        let spans: Vec<(u64, u64, u64)> = (first..first.saturating_add(count))
            .map_while(|i| self.span(i).map(|(o, l)| (i, o, l)))
            .collect();
        if spans.is_empty() {
            return Ok(Vec::new());
        }
        let file = crate::fsutil::open_regular(&self.inner.path)?;
        spans
            .into_iter()
            .map(|(i, off, len)| {
                let mut buf = vec![0u8; usize::try_from(len).map_err(std::io::Error::other)?];
                file.read_exact_at(&mut buf, off)?;
                Ok((i, buf))
            })
            .collect()
    }
}
