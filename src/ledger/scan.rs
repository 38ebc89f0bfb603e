//! Reading a ledger file line by line without holding it: forward streaming with
//! line numbers and byte offsets, and backward reading of the tail.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// One physical line as seen by [`for_each_line`].
#[derive(Debug, Clone, Copy)]
pub struct LineRef<'a> {
    /// 1-based line number (empty lines count).
    pub no: u64,
    /// 0-based byte offset of the line's first byte.
    pub offset: u64,
    /// The bytes, without `\n`.
    pub bytes: &'a [u8],
}

/// What a scan found at the end of the file.
#[derive(Debug, Clone, Default)]
pub struct ScanEnd {
    /// Complete (`\n`-terminated) physical lines, empty ones included.
    pub physical_lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// An unterminated last line: (line number, offset, length).
    pub pending: Option<(u64, u64, u64)>,
}

/// Call `f` for every complete line in file order. A last line without `\n` is not
/// passed to `f`; it is reported in [`ScanEnd::pending`]. Reads with a 1 MiB buffer.
pub fn for_each_line(
    path: &Path,
    mut f: impl FnMut(LineRef<'_>) -> ControlFlow<()>,
) -> std::io::Result<ScanEnd> {
    let file = crate::fsutil::open_regular(path)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(4096);
    let mut end = ScanEnd::default();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        let offset = end.bytes;
        end.bytes += n as u64;
        match buf.strip_suffix(b"\n") {
            Some(line) => {
                end.physical_lines += 1;
                let r = LineRef {
                    no: end.physical_lines,
                    offset,
                    bytes: line,
                };
                if f(r).is_break() {
                    break;
                }
            }
            None => {
                end.pending = Some((end.physical_lines + 1, offset, n as u64));
                break;
            }
        }
    }
    Ok(end)
}

/// Walk the lines of `file[..len]` backwards (newest first), reading 64 KiB blocks
/// with `pread`. The last segment is passed even if it has no `\n` (callers decide);
/// empty lines are passed too. `f` gets the line bytes and its offset.
pub fn for_each_line_rev(
    file: &File,
    len: u64,
    max_bytes: u64,
    mut f: impl FnMut(&[u8], u64) -> ControlFlow<()>,
) -> std::io::Result<()> {
    const BLOCK: u64 = 64 * 1024;
    // `carry` holds the bytes of a line that straddles blocks (start unknown yet).
    let mut carry: Vec<u8> = Vec::new();
    let mut pos = len;
    // Skip the file's final `\n` so the last line is not seen as an empty line.
    let mut end_of_data = len;
    if len > 0 {
        let mut last = [0u8; 1];
        file.read_exact_at(&mut last, len - 1)?;
        if last[0] == b'\n' {
            end_of_data = len - 1;
            pos = len - 1;
        }
    }
    let floor = end_of_data.saturating_sub(max_bytes);
    let mut block = vec![0u8; BLOCK as usize];
    while pos > floor {
        let start = pos.saturating_sub(BLOCK).max(floor);
        let n = (pos - start) as usize;
        let Some(chunk) = block.get_mut(..n) else {
            break;
        };
        file.read_exact_at(chunk, start)?;
        let mut tail_end = n;
        for nl in memchr::memrchr_iter(b'\n', chunk) {
            let seg = chunk.get(nl + 1..tail_end).unwrap_or_default();
            let flow = if carry.is_empty() {
                f(seg, start + nl as u64 + 1)
            } else {
                let mut whole = seg.to_vec();
                whole.extend_from_slice(&carry);
                carry.clear();
                f(&whole, start + nl as u64 + 1)
            };
            if flow.is_break() {
                return Ok(());
            }
            tail_end = nl;
        }
        let rest = chunk.get(..tail_end).unwrap_or_default();
        let mut whole = rest.to_vec();
        whole.extend_from_slice(&carry);
        carry = whole;
        pos = start;
    }
    if pos == 0 && (end_of_data > 0 || !carry.is_empty()) {
        let _ = f(&carry, 0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn rev_lines(content: &[u8]) -> Vec<(Vec<u8>, u64)> {
        let mut tmp = tempfile::tempfile().unwrap_or_else(|e| panic!("{e}"));
        tmp.write_all(content).unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        for_each_line_rev(&tmp, content.len() as u64, u64::MAX, |l, o| {
            out.push((l.to_vec(), o));
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
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
}
