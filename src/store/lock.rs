//! Exclusive locks for every read-modify-write of an HQ file, and atomic rewrites
//! that go through a symlink.
//!
//! The lock is a separate file beside the one it protects, named after it with
//! `.lock` appended (`hq/registry/decision-engine.json.lock`,
//! `controls/rules_history.jsonl.lock`), locked with `flock(2)` `LOCK_EX`. A separate
//! file because `decision-engine.json` itself is replaced by a rename on every write:
//! a lock on the old inode would not exclude a writer that opened the new one. Held
//! from the read through the signed ledger append to the rewrite, so two writers (any
//! number of CLI processes and consoles) are serialised and none loses the other's
//! change. Outside tools that want to cooperate lock the same file the same way. The
//! lock file is never deleted (deleting it would let two writers lock two inodes).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a writer waits for another to finish before giving up with an error
/// (a hung outside writer must not hang an action for ever).
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// An exclusive lock, released when dropped (closing the descriptor releases it).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
    path: PathBuf,
}

impl FileLock {
    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<path>.lock`: the lock file that guards `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    path.with_file_name(name)
}

/// Open (creating it if needed) the lock file beside `path` and take `LOCK_EX` on it,
/// waiting up to [`LOCK_WAIT`]. The lock file is opened read-only (flock needs no
/// write access, so operators with different Unix users can share it), without
/// following a symlink, and must be a regular file.
pub fn lock_exclusive(path: &Path) -> anyhow::Result<FileLock> {
    lock_exclusive_within(path, LOCK_WAIT)
}

fn lock_exclusive_within(path: &Path, wait: Duration) -> anyhow::Result<FileLock> {
    use rustix::fs::{Mode, OFlags};
    let lock = lock_path(path);
    if let Some(dir) = lock.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    }
    let fd = rustix::fs::open(
        &lock,
        OFlags::RDONLY | OFlags::CREATE | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o644),
    )
    .map_err(|e| anyhow::anyhow!("{}: cannot open the lock file: {e}", lock.display()))?;
    let file = File::from(fd);
    let meta = file
        .metadata()
        .map_err(|e| anyhow::anyhow!("{}: {e}", lock.display()))?;
    if !meta.is_file() {
        anyhow::bail!("{}: the lock file is not a regular file", lock.display());
    }
    // Poll rather than block: a bounded wait, and the error names the lock file.
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(std::fs::TryLockError::WouldBlock) => {
                if start.elapsed() >= wait {
                    anyhow::bail!(
                        "{}: still locked by another writer after {} s; nothing was written",
                        lock.display(),
                        wait.as_secs()
                    );
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                anyhow::bail!("{}: cannot lock: {e}", lock.display())
            }
        }
    }
    Ok(FileLock {
        _file: file,
        path: lock,
    })
}

/// The file a write to `path` must replace: `path` itself, or — when it is a symlink —
/// the file the link (chain) points to, so the target changes and the link stays.
/// A dangling link resolves to its (missing) target, which the write creates.
pub fn resolve_for_write(path: &Path) -> anyhow::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let target = std::fs::read_link(&p)
                    .map_err(|e| anyhow::anyhow!("{}: cannot read the link: {e}", p.display()))?;
                p = if target.is_absolute() {
                    target
                } else {
                    p.parent().unwrap_or(Path::new("")).join(target)
                };
            }
            _ => return Ok(p),
        }
    }
    anyhow::bail!("{}: too many levels of symbolic links", path.display())
}

/// Write `bytes` to `path` atomically: a temp file in the directory of the file that
/// is really replaced (see [`resolve_for_write`]), fsync, rename over it, fsync the
/// directory. Keeps the old file's permissions. Call it with the lock held.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let real = resolve_for_write(path)?;
    let dir = real
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(real.file_name().unwrap_or_default());
    prefix.push(".");
    let mut tmp = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create a temp file: {e}", dir.display()))?;
    if let Ok(meta) = std::fs::metadata(&real) {
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| anyhow::anyhow!("{}: {e}", real.display()))?;
    }
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", dir.display()))?;
    tmp.persist(&real)
        .map_err(|e| anyhow::anyhow!("{}: cannot replace: {}", real.display(), e.error))?;
    if let Ok(d) = File::open(dir) {
        // Durability of the rename; not every filesystem supports it, so best-effort.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_waits_for_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("decision-engine.json");
        let held = lock_exclusive(&f).unwrap();
        assert_eq!(held.path(), dir.path().join("decision-engine.json.lock"));
        let e = lock_exclusive_within(&f, Duration::from_millis(30)).unwrap_err();
        assert!(e.to_string().contains("still locked"), "{e}");
        drop(held);
        lock_exclusive_within(&f, Duration::from_millis(30)).unwrap();
    }

    #[test]
    fn a_symlinked_lock_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.json");
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("x.json.lock")).unwrap();
        assert!(lock_exclusive(&f).is_err());
    }

    #[test]
    fn writes_go_through_symlinks_and_keep_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/t.json");
        std::fs::write(&target, "old").unwrap();
        let link1 = dir.path().join("l1");
        let link2 = dir.path().join("l2");
        std::os::unix::fs::symlink("real/t.json", &link1).unwrap();
        std::os::unix::fs::symlink(&link1, &link2).unwrap();
        write_atomic(&link2, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert!(std::fs::symlink_metadata(&link1).unwrap().is_symlink());
        assert!(std::fs::symlink_metadata(&link2).unwrap().is_symlink());
        // A dangling link: the target is created.
        let dangling = dir.path().join("d");
        std::os::unix::fs::symlink("real/new.json", &dangling).unwrap();
        write_atomic(&dangling, b"x").unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.path().join("real/new.json")).unwrap(),
            "x"
        );
        // A loop is an error, not a hang.
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        assert!(write_atomic(&a, b"x").is_err());
    }
}
