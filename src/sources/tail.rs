//! Generic byte-level follower of one append-only file (ledger, rules history,
//! metrics CSV). It owns: splitting bytes into complete `\n`-terminated lines with
//! their 1-based line number and 0-based byte offset, the pending (unterminated)
//! final line, truncation / replacement / delete-and-recreate detection, and the
//! start position (beginning, last N lines, last N bytes, a given offset).
//!
//! Change detection polls `metadata` every `poll` (25 ms by default) instead of
//! using inotify: the `notify` crate is not a dependency, a `stat` of one path is a
//! few microseconds, polling also works on network and overlay filesystems where
//! inotify events are missing, and 25 ms keeps an appended line well within the
//! 100 ms bar (docs/PERF.md).
//!
//! All file I/O runs in `spawn_blocking`; the async side only waits and sends.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::protocol::{Msg, SourceId};

/// Size of one read.
pub const CHUNK: usize = 1 << 20;
/// Most lines handed over in one [`TailEvent::Lines`] (one `Msg` per batch).
pub const MAX_BATCH: usize = 5_000;
/// Longest line kept in memory, in bytes without the `\n` (docs/formats.md: 1 MiB). Longer
/// lines are still delivered, cut to this size, with their true length.
pub const MAX_LINE: usize = crate::domain::ledger::MAX_LINE;

/// Where the first read of a file that exists at start begins. A file that
/// appears later, or one that is truncated or replaced, is always read from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    Beginning,
    /// The last N complete lines.
    LastLines(usize),
    /// The first line that starts in the last N bytes.
    LastBytes(u64),
    /// A byte offset that must be the start of a line.
    Offset(u64),
    /// A line start whose 1-based line number is already known (e.g. from the ledger
    /// index), so no newlines are counted.
    Known {
        offset: u64,
        line: u64,
    },
}

/// One complete line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number; 0 when unknown (see [`Follower::new`]'s `count_lines`).
    pub number: u64,
    /// 0-based byte offset of the first byte.
    pub offset: u64,
    /// The line without `\n`, cut to [`MAX_LINE`] + 1 bytes when longer.
    pub bytes: Vec<u8>,
    /// True length without `\n`.
    pub len: u64,
}

impl Line {
    /// The line was longer than the buffer limit; `bytes` is only its beginning.
    pub fn is_cut(&self) -> bool {
        self.len > self.bytes.len() as u64
    }
}

/// The pure line-splitting state machine: feed it bytes in any chunking, get
/// complete lines out. No I/O.
#[derive(Debug, Clone)]
pub struct LineSplitter {
    /// Number of the next line (0 stays 0: unknown).
    next_number: u64,
    /// Offset of the first byte of the pending line.
    pending_offset: u64,
    /// Kept bytes of the pending line (at most `max_line + 1`).
    pending: Vec<u8>,
    /// True length of the pending line.
    pending_len: u64,
    max_line: usize,
}

impl LineSplitter {
    /// `offset` must be the start of a line; `number` its line number (0: unknown).
    pub fn new(offset: u64, number: u64) -> Self {
        Self::with_max_line(offset, number, MAX_LINE)
    }

    pub fn with_max_line(offset: u64, number: u64, max_line: usize) -> Self {
        LineSplitter {
            next_number: number,
            pending_offset: offset,
            pending: Vec::new(),
            pending_len: 0,
            max_line,
        }
    }

    /// Bytes of the unterminated final line seen so far.
    pub fn pending_len(&self) -> u64 {
        self.pending_len
    }

    /// Offset of the first byte of the pending line (the next line to complete).
    pub fn line_start(&self) -> u64 {
        self.pending_offset
    }

    /// Offset just past every byte fed so far.
    pub fn position(&self) -> u64 {
        self.pending_offset + self.pending_len
    }

    /// Split `chunk`, appending every completed line to `out`.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Line>) {
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            let piece = chunk.get(start..nl).unwrap_or_default();
            self.push_piece(piece);
            let bytes = std::mem::take(&mut self.pending);
            let line = Line {
                number: self.next_number,
                offset: self.pending_offset,
                bytes,
                len: self.pending_len,
            };
            self.pending_offset += self.pending_len + 1;
            self.pending_len = 0;
            if self.next_number != 0 {
                self.next_number += 1;
            }
            out.push(line);
            start = nl + 1;
        }
        self.push_piece(chunk.get(start..).unwrap_or_default());
    }

    fn push_piece(&mut self, piece: &[u8]) {
        let room = (self.max_line + 1).saturating_sub(self.pending.len());
        let keep = piece.get(..room.min(piece.len())).unwrap_or_default();
        self.pending.extend_from_slice(keep);
        self.pending_len += piece.len() as u64;
    }
}

/// What one poll of the file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEvent {
    /// Complete lines, in file order, at most [`MAX_BATCH`].
    Lines(Vec<Line>),
    /// The unterminated final line is now this long (0: none).
    Pending(u64),
    /// The file was truncated or replaced; reading restarts from offset 0, line 1.
    Reset(String),
    /// The file cannot be read (missing, permission…); the follower keeps retrying.
    /// Sent once per distinct problem.
    Failed(String),
    /// The file does not exist (yet). Sent once until it appears.
    Missing,
    /// The file is readable (first time, or again after `Failed`/`Missing`).
    Recovered,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> Option<FileId> {
    use std::os::unix::fs::MetadataExt;
    Some(FileId {
        dev: m.dev(),
        ino: m.ino(),
    })
}

#[cfg(not(unix))]
fn file_id(_m: &std::fs::Metadata) -> Option<FileId> {
    None
}

/// Follows one file. Blocking I/O: call [`Follower::step`] from a blocking thread
/// (as [`drive`] does).
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    start: Option<StartAt>,
    count_lines: bool,
    file: Option<File>,
    id: Option<FileId>,
    splitter: LineSplitter,
    reported_pending: u64,
    failed: Option<String>,
    /// The first successful or failed poll has been reported.
    announced: bool,
    buf: Vec<u8>,
    /// Most bytes read by one `step`, so a large backlog arrives in several batches.
    step_budget: u64,
    /// The offset reading started at when the file was opened.
    opened_at: u64,
}

impl Follower {
    /// `count_lines`: when starting past offset 0, count the newlines before the start
    /// so line numbers are absolute (memchr, ~GB/s); when false they are 0 (unknown).
    pub fn new(path: impl Into<PathBuf>, start: StartAt, count_lines: bool) -> Self {
        Follower {
            path: path.into(),
            start: Some(start),
            count_lines,
            file: None,
            id: None,
            splitter: LineSplitter::new(0, 1),
            reported_pending: 0,
            failed: None,
            announced: false,
            buf: Vec::new(),
            step_budget: 8 * CHUNK as u64,
            opened_at: 0,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Poll once: detect replacement/truncation, read what was appended (up to a
    /// budget), and report. Returns `true` when more data is already waiting.
    pub fn step(&mut self, events: &mut Vec<TailEvent>) -> bool {
        match self.try_step(events) {
            Ok(more) => {
                if self.failed.take().is_some() || !self.announced {
                    self.announced = true;
                    events.push(TailEvent::Recovered);
                }
                more
            }
            Err(e) => {
                let text = match e.kind() {
                    io::ErrorKind::NotFound => {
                        format!("{}: not found (waiting for it)", self.path.display())
                    }
                    _ => format!("{}: {e}", self.path.display()),
                };
                if self.failed.as_deref() != Some(text.as_str()) {
                    if e.kind() == io::ErrorKind::NotFound {
                        events.push(TailEvent::Missing);
                    } else {
                        events.push(TailEvent::Failed(text.clone()));
                    }
                    self.failed = Some(text);
                    self.announced = true;
                }
                // A file that did not exist yet is new when it appears: read it all.
                // (One that vanished while open is still held open, so its inode
                // cannot be reused: the new file is seen as a replacement.)
                if e.kind() == io::ErrorKind::NotFound && self.file.is_none() {
                    self.start = Some(StartAt::Beginning);
                }
                false
            }
        }
    }

    fn try_step(&mut self, events: &mut Vec<TailEvent>) -> io::Result<bool> {
        let meta = std::fs::metadata(&self.path)?;
        // Only regular files are followed. Opening a FIFO for reading blocks until a
        // writer comes (the tail would hang for good); a directory only fails later.
        // Checked before replacement detection, so the open file and its position are
        // kept: when the real file comes back, reading goes on where it stopped.
        if !meta.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a regular file ({})", kind_of(&meta)),
            ));
        }
        if self.file.is_some() {
            let now_id = file_id(&meta);
            if now_id.is_some() && now_id != self.id {
                self.reset(events, "the file was replaced (new inode)");
            } else if meta.len() < self.splitter.position() || !self.still_line_end()? {
                self.reset(events, "the file was truncated");
            }
        }
        if self.file.is_none() {
            self.open(&meta)?;
        }
        let len = meta.len();
        let mut lines = Vec::new();
        let mut read_total = 0u64;
        let mut more = false;
        let file = match self.file.as_mut() {
            Some(f) => f,
            None => return Ok(false),
        };
        let mut pos = self.splitter.position();
        if pos < len {
            file.seek(SeekFrom::Start(pos))?;
        }
        while pos < len {
            if read_total >= self.step_budget || lines.len() >= MAX_BATCH * 4 {
                more = true;
                break;
            }
            if self.buf.len() != CHUNK {
                self.buf.resize(CHUNK, 0);
            }
            let want = usize::try_from(len - pos).unwrap_or(CHUNK).min(CHUNK);
            let n = match file.read(self.buf.get_mut(..want).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.splitter
                .feed(self.buf.get(..n).unwrap_or_default(), &mut lines);
            pos += n as u64;
            read_total += n as u64;
        }
        push_batches(lines, events);
        let pending = self.splitter.pending_len();
        if pending != self.reported_pending {
            self.reported_pending = pending;
            events.push(TailEvent::Pending(pending));
        }
        Ok(more)
    }

    /// Whether the byte before the pending line is still the `\n` read there: a file
    /// truncated and written again past the read position between two polls
    /// (logrotate's `copytruncate` and a busy writer) usually fails this, where the
    /// length alone would not tell.
    fn still_line_end(&self) -> io::Result<bool> {
        use std::os::unix::fs::FileExt;
        let start = self.splitter.line_start();
        let Some(file) = self.file.as_ref() else {
            return Ok(true);
        };
        // Only a `\n` this follower read itself is checked (a start offset given by
        // the caller need not follow one).
        if start <= self.opened_at {
            return Ok(true);
        }
        let mut b = [0u8; 1];
        Ok(file.read_at(&mut b, start - 1)? == 1 && b[0] == b'\n')
    }

    fn reset(&mut self, events: &mut Vec<TailEvent>, reason: &str) {
        events.push(TailEvent::Reset(format!(
            "{}: {reason}; reading again from the start",
            self.path.display()
        )));
        self.file = None;
        self.id = None;
        self.start = Some(StartAt::Beginning);
        self.splitter = LineSplitter::new(0, 1);
        if self.reported_pending != 0 {
            self.reported_pending = 0;
            events.push(TailEvent::Pending(0));
        }
    }

    fn open(&mut self, path_meta: &std::fs::Metadata) -> io::Result<()> {
        let mut file = File::open(&self.path)?;
        let meta = file.metadata()?;
        let id = file_id(&meta).or(file_id(path_meta));
        let start = self.start.take().unwrap_or(StartAt::Beginning);
        let offset = match start_offset(&mut file, meta.len(), start) {
            Ok(o) => o,
            Err(e) => {
                self.start = Some(start);
                return Err(e);
            }
        };
        let number = if offset == 0 {
            1
        } else if let StartAt::Known { line, .. } = start {
            line
        } else if self.count_lines {
            match count_newlines(&mut file, offset) {
                Ok(n) => n + 1,
                Err(e) => {
                    self.start = Some(start);
                    return Err(e);
                }
            }
        } else {
            0
        };
        self.splitter = LineSplitter::new(offset, number);
        self.opened_at = offset;
        self.file = Some(file);
        self.id = id;
        Ok(())
    }
}

/// What a non-regular file is, for the error text.
fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

fn push_batches(mut lines: Vec<Line>, events: &mut Vec<TailEvent>) {
    while lines.len() > MAX_BATCH {
        let rest = lines.split_off(MAX_BATCH);
        events.push(TailEvent::Lines(lines));
        lines = rest;
    }
    if !lines.is_empty() {
        events.push(TailEvent::Lines(lines));
    }
}

/// Read `len` bytes at `pos` (fewer at end of file).
fn read_at(file: &mut File, pos: u64, len: usize) -> io::Result<Vec<u8>> {
    file.seek(SeekFrom::Start(pos))?;
    let mut buf = Vec::with_capacity(len);
    file.by_ref().take(len as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Newlines in the first `end` bytes (memchr's vectorised count).
pub fn count_newlines(file: &mut File, end: u64) -> io::Result<u64> {
    file.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; CHUNK];
    let mut pos = 0u64;
    let mut count = 0u64;
    while pos < end {
        let want = usize::try_from(end - pos).unwrap_or(CHUNK).min(CHUNK);
        let n = match file.read(buf.get_mut(..want).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        count += memchr::memchr_iter(b'\n', buf.get(..n).unwrap_or_default()).count() as u64;
        pos += n as u64;
    }
    Ok(count)
}

/// The offset where reading starts for `start` in a file of `len` bytes.
pub fn start_offset(file: &mut File, len: u64, start: StartAt) -> io::Result<u64> {
    match start {
        StartAt::Beginning => Ok(0),
        StartAt::Offset(o) => Ok(o.min(len)),
        // Past the end: not the file the caller indexed; read it all.
        StartAt::Known { offset, .. } => Ok(if offset > len { 0 } else { offset }),
        StartAt::LastBytes(n) => {
            if n >= len {
                return Ok(0);
            }
            let from = len - n;
            // The first line that starts at or after `from`: look at the byte before.
            let mut pos = from - 1;
            loop {
                let chunk = read_at(file, pos, 64 * 1024)?;
                if chunk.is_empty() {
                    return Ok(len);
                }
                if let Some(i) = memchr::memchr(b'\n', &chunk) {
                    return Ok(pos + i as u64 + 1);
                }
                pos += chunk.len() as u64;
            }
        }
        StartAt::LastLines(n) => {
            // Walk back from the end counting newlines; the last one ends the last
            // complete line, so N lines start after the (N+1)-th newline from the end.
            let mut seen = 0usize;
            let mut end = len;
            while end > 0 {
                let from = end.saturating_sub(64 * 1024);
                let chunk = read_at(file, from, (end - from) as usize)?;
                for i in memchr::memrchr_iter(b'\n', &chunk) {
                    seen += 1;
                    if seen == n + 1 {
                        return Ok(from + i as u64 + 1);
                    }
                }
                end = from;
            }
            Ok(0)
        }
    }
}

/// Run a follower until `cancel`: poll every `poll`, hand each step's events to
/// `handler` (on the blocking thread, so parsing happens there too) and send the
/// messages it produced. Returns when cancelled or when the receiver is gone.
pub async fn drive<H>(
    mut follower: Follower,
    poll: Duration,
    mut handler: H,
    tx: mpsc::Sender<Msg>,
    cancel: CancellationToken,
) where
    H: FnMut(TailEvent, &mut Vec<Msg>) + Send + 'static,
{
    let mut ticker = tokio::time::interval(poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut more = false;
    loop {
        if !more {
            tokio::select! {
                _ = cancel.cancelled() => return,
                _ = ticker.tick() => {}
            }
        } else if cancel.is_cancelled() {
            return;
        }
        let job = tokio::task::spawn_blocking(move || {
            let mut events = Vec::new();
            let more = follower.step(&mut events);
            let mut msgs = Vec::new();
            for ev in events {
                handler(ev, &mut msgs);
            }
            (follower, handler, more, msgs)
        });
        let msgs;
        (follower, handler, more, msgs) = tokio::select! {
            _ = cancel.cancelled() => return,
            r = job => match r {
                Ok(v) => v,
                // Only a panic in a parser could get here; nothing to resume.
                Err(_) => return,
            },
        };
        for msg in msgs {
            tokio::select! {
                _ = cancel.cancelled() => return,
                r = tx.send(msg) => if r.is_err() { return },
            }
        }
    }
}

/// The `Msg` for a `Failed` event.
/// Sanitized: the text holds a path and an OS message that reach the screen.
pub fn failed_msg(source: SourceId, error: String) -> Msg {
    Msg::SourceFailed {
        source,
        at: Utc::now(),
        error: crate::domain::sanitize::sanitize(&error).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> (Vec<Line>, LineSplitter) {
        let mut s = LineSplitter::new(0, 1);
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, &mut out);
        }
        (out, s)
    }

    #[test]
    fn lines_numbers_offsets_and_pending() {
        let (out, s) = split_all(&[b"ab\n\nc", b"d\nef"]);
        let got: Vec<_> = out
            .iter()
            .map(|l| (l.number, l.offset, l.bytes.as_slice()))
            .collect();
        assert_eq!(
            got,
            vec![(1, 0, &b"ab"[..]), (2, 3, &b""[..]), (3, 4, &b"cd"[..])]
        );
        assert_eq!(s.pending_len(), 2);
        assert_eq!(s.position(), 9);
    }

    #[test]
    fn chunking_does_not_matter() {
        let data = b"one\ntwo\n\nthree\nfour";
        let whole = split_all(&[data]).0;
        for cut in 0..data.len() {
            let (a, b) = data.split_at(cut);
            assert_eq!(split_all(&[a, b]).0, whole, "cut at {cut}");
        }
    }

    #[test]
    fn long_lines_are_cut_but_keep_length() {
        let mut s = LineSplitter::with_max_line(0, 1, 4);
        let mut out = Vec::new();
        s.feed(b"0123456789", &mut out);
        s.feed(b"abc\nok\n", &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len, 13);
        assert_eq!(out[0].bytes, b"01234");
        assert!(out[0].is_cut());
        assert_eq!((out[1].offset, out[1].number), (14, 2));
        assert!(!out[1].is_cut());
    }

    #[test]
    fn unknown_numbers_stay_zero() {
        let mut s = LineSplitter::new(100, 0);
        let mut out = Vec::new();
        s.feed(b"a\nb\n", &mut out);
        assert!(out.iter().all(|l| l.number == 0));
        assert_eq!(out[1].offset, 102);
    }
}

#[cfg(test)]
mod change_tests {
    use super::*;
    use std::io::Write;

    fn lines_of(events: &[TailEvent]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                TailEvent::Lines(l) => Some(l.iter().map(|l| l.bytes.clone())),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn truncated_and_written_past_the_read_position_between_polls_resets() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f.log");
        std::fs::write(&path, b"one\ntwo\n").unwrap_or_else(|e| panic!("{e}"));
        let mut f = Follower::new(&path, StartAt::Beginning, true);
        let mut ev = Vec::new();
        f.step(&mut ev);
        assert_eq!(lines_of(&ev), vec![b"one".to_vec(), b"two".to_vec()]);
        // copytruncate, then a writer adds more than was there before the next poll:
        // the length alone says "grew", the byte before the read position says no.
        let mut w = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("{e}"));
        w.set_len(0).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(b"alpha\nbeta\n")
            .unwrap_or_else(|e| panic!("{e}"));
        drop(w);
        let mut ev = Vec::new();
        f.step(&mut ev);
        assert!(
            ev.iter()
                .any(|e| matches!(e, TailEvent::Reset(r) if r.contains("truncated"))),
            "{ev:?}"
        );
        assert_eq!(lines_of(&ev), vec![b"alpha".to_vec(), b"beta".to_vec()]);
    }

    #[test]
    fn a_pending_line_that_grows_forever_is_kept_bounded_and_read_once() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("f.log");
        let mut w = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        w.write_all(b"ok\n").unwrap_or_else(|e| panic!("{e}"));
        let block = vec![b'x'; 1 << 20];
        for _ in 0..12 {
            w.write_all(&block).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut f = Follower::new(&path, StartAt::Beginning, true);
        let mut ev = Vec::new();
        while f.step(&mut ev) {}
        assert_eq!(f.splitter.pending_len(), 12 << 20);
        assert!(f.splitter.pending.len() <= MAX_LINE + 1);
        // Nothing new: a poll reports nothing and reads nothing.
        let at = f.splitter.position();
        let mut ev = Vec::new();
        f.step(&mut ev);
        assert!(ev.is_empty(), "{ev:?}");
        assert_eq!(f.splitter.position(), at);
        // The line ends: one line, cut, with its true length.
        w.write_all(b"\nnext\n").unwrap_or_else(|e| panic!("{e}"));
        let mut ev = Vec::new();
        while f.step(&mut ev) {}
        let lines: Vec<&Line> = ev
            .iter()
            .filter_map(|e| match e {
                TailEvent::Lines(l) => Some(l.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].is_cut());
        assert_eq!(lines[0].len, 12 << 20);
        assert_eq!(lines[1].bytes, b"next");
    }
}
