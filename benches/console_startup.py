#!/usr/bin/env python3
"""Time the console's first frame and its idle CPU, on the real binary in a pty.

usage: benches/console_startup.py LUMEN_BINARY [LEDGER_FILE]

Creates an HQ root with `lumen init` (optionally with LEDGER_FILE as its ledger),
starts `lumen --hq ROOT` in a pseudo-terminal at 160x48, and reports:
  first_frame_ms  from exec to the first byte of the "Branch health" title
  idle_cpu_pct    CPU used over 10 s once the data has settled (no changes on disk;
                  the exporter is unreachable, so its poller backs off)
No fixed sleeps decide pass/fail here: this script measures, it does not assert.
"""
import fcntl, os, pty, select, shutil, struct, subprocess, sys, tempfile, termios, time

def main():
    lumen = sys.argv[1]
    ledger = sys.argv[2] if len(sys.argv) > 2 else None
    tmp = tempfile.mkdtemp()
    root = os.path.join(tmp, "hq")
    subprocess.run([lumen, "init", root], check=True, stdout=subprocess.DEVNULL)
    if ledger:
        dst = os.path.join(root, "hq", "ledger", "ledger.jsonl")
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(ledger, dst)
    env = dict(os.environ, TERM="xterm-256color", HOME=tmp, XDG_CONFIG_HOME=tmp + "/c", XDG_DATA_HOME=tmp + "/d")
    t0 = time.monotonic()
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(lumen, [lumen, "--hq", root], env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
    buf = b""
    first = None
    deadline = t0 + 20
    while time.monotonic() < deadline and first is None:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                buf += os.read(fd, 65536)
            except OSError:
                break
            if b"Branch health" in buf:
                first = time.monotonic() - t0
    # Let the start-up reads settle, then measure idle CPU over 10 s while draining output.
    settle = time.monotonic() + 3
    while time.monotonic() < settle:
        if select.select([fd], [], [], 0.1)[0]:
            os.read(fd, 65536)
    tick = os.sysconf("SC_CLK_TCK")
    def cpu():
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / tick
    c0, w0 = cpu(), time.monotonic()
    end = w0 + 10
    drawn = 0
    while time.monotonic() < end:
        if select.select([fd], [], [], 0.1)[0]:
            drawn += len(os.read(fd, 65536))
    c1, w1 = cpu(), time.monotonic()
    os.write(fd, b"q")
    os.waitpid(pid, 0)
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"first_frame_ms={first * 1000:.0f}" if first else "first_frame_ms=timeout")
    print(f"idle_cpu_pct={(c1 - c0) / (w1 - w0) * 100:.2f}")
    print(f"idle_bytes_drawn_per_s={drawn / (w1 - w0):.0f}")

main()
