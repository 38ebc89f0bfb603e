//! The rollback hook runner: argv straight to `execve` (never a shell), a timeout that
//! kills the process, stdout and stderr captured up to a bound.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes kept of each of stdout and stderr; the rest is read and dropped so the
/// child never blocks on a full pipe.
pub const OUTPUT_LIMIT: usize = 64 * 1024;

/// Lines of a run's output kept on the ledger ([`HookResult::output_tail`]).
pub const TAIL_LINES: usize = 3;
/// Bytes of a run's output kept on the ledger, in all.
pub const TAIL_BYTES: usize = 400;

/// After a kill, how long we still wait for the pipes to close (a grandchild may hold
/// them open; we do not wait for it).
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What one hook run did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookResult {
    /// The exit code; `None` when killed (timeout, signal) or never started.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    /// Captured stdout (bounded, lossy UTF-8; sanitize before showing it).
    pub stdout: String,
    /// Captured stderr (bounded, lossy UTF-8).
    pub stderr: String,
    pub timed_out: bool,
    /// Why the program could not be started, if it could not.
    pub spawn_error: Option<String>,
    /// Output beyond [`OUTPUT_LIMIT`] was dropped.
    pub truncated: bool,
}

impl HookResult {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.spawn_error.is_none()
    }

    /// `"success"`, `"failed"` or `"timeout"` — the ledger `status` of the run.
    pub fn status(&self) -> &'static str {
        if self.timed_out {
            "timeout"
        } else if self.succeeded() {
            "success"
        } else {
            "failed"
        }
    }

    /// The last lines the run printed, for the ledger's `rollback` entry (the reason
    /// a failed rollback failed survives the console): the last [`TAIL_LINES`]
    /// non-blank lines of stdout then stderr (then the spawn error), each sanitised
    /// (no control characters or escape sequences) and trimmed, at most
    /// [`TAIL_BYTES`] bytes in all — the newest lines are kept first, and a single
    /// line longer than that is cut at a character boundary with `…`.
    pub fn output_tail(&self) -> Vec<String> {
        let all = self.output();
        let mut out: Vec<String> = Vec::new();
        let mut bytes = 0usize;
        for raw in all.lines().rev() {
            let line = crate::domain::sanitize::sanitize(raw).trim().to_string();
            if line.is_empty() {
                continue;
            }
            if out.len() == TAIL_LINES {
                break;
            }
            let room = TAIL_BYTES.saturating_sub(bytes);
            if line.len() <= room {
                bytes += line.len();
                out.push(line);
                continue;
            }
            // Only the newest line is ever cut; an older one that does not fit ends it.
            if out.is_empty() {
                let mut cut = room.saturating_sub('…'.len_utf8());
                while !line.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.push(format!("{}…", line.get(..cut).unwrap_or_default()));
            }
            break;
        }
        out.reverse();
        out
    }

    /// stdout then stderr, for a viewer.
    pub fn output(&self) -> String {
        let mut s = self.stdout.clone();
        if !self.stderr.is_empty() {
            if !s.is_empty() && !s.ends_with('\n') {
                s.push('\n');
            }
            s.push_str(&self.stderr);
        }
        if let Some(e) = &self.spawn_error {
            s.push_str(e);
        }
        s
    }
}

async fn read_bounded<R: AsyncRead + Unpin>(mut r: R) -> (Vec<u8>, bool) {
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = buf.get(..n).unwrap_or_default();
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                if chunk.len() > room {
                    truncated = true;
                }
                kept.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            }
        }
    }
    (kept, truncated)
}

/// Run `argv` in `cwd` with stdin closed; kill it after `timeout`.
pub async fn run_hook(argv: &[String], timeout: Duration, cwd: &Path) -> HookResult {
    let start = Instant::now();
    let failed = |msg: String, start: Instant| HookResult {
        exit_code: None,
        duration_ms: start.elapsed().as_millis() as u64,
        stdout: String::new(),
        stderr: String::new(),
        timed_out: false,
        spawn_error: Some(msg),
        truncated: false,
    };
    let Some((program, args)) = argv.split_first() else {
        return failed(
            "nothing was run: no checked hook argv for this branch (was the rollback hook configured after the rollback was planned? plan it again)".into(),
            start,
        );
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout kills what the hook started too.
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return failed(format!("cannot start `{program}`: {e}"), start),
    };
    let out = child.stdout.take().map(|s| tokio::spawn(read_bounded(s)));
    let err = child.stderr.take().map(|s| tokio::spawn(read_bounded(s)));

    let (status, timed_out) = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => (Some(st), false),
        Ok(Err(e)) => {
            tracing::warn!("waiting for the rollback hook failed: {e}");
            (None, false)
        }
        Err(_) => {
            // The hook runs in its own process group (pgid = its pid): kill the group,
            // so its children go too.
            if let Some(pid) = child
                .id()
                .and_then(|p| i32::try_from(p).ok())
                .and_then(rustix::process::Pid::from_raw)
            {
                let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
            }
            if let Err(e) = child.kill().await {
                tracing::warn!("cannot kill the timed-out rollback hook: {e}");
            }
            (None, true)
        }
    };
    let duration_ms = start.elapsed().as_millis() as u64;

    let collect = |h: Option<tokio::task::JoinHandle<(Vec<u8>, bool)>>| async move {
        let Some(h) = h else {
            return (Vec::new(), false);
        };
        let abort = h.abort_handle();
        match tokio::time::timeout(DRAIN_GRACE, h).await {
            Ok(Ok(v)) => v,
            _ => {
                abort.abort();
                (
                    b"[output still open after exit; not waited for]".to_vec(),
                    true,
                )
            }
        }
    };
    let (stdout, t1) = collect(out).await;
    let (stderr, t2) = collect(err).await;
    HookResult {
        exit_code: status.and_then(|s| s.code()),
        duration_ms,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        timed_out,
        spawn_error: None,
        truncated: t1 || t2,
    }
}
