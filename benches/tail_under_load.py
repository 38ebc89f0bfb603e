#!/usr/bin/env python3
"""Tail latency and input latency while another process appends 1,000 ledger lines/s.

usage: benches/tail_under_load.py LUMEN_BINARY [SECONDS] [RATE]

Creates an HQ root with `lumen init`, starts `lumen --hq ROOT --readonly` in tmux at
160x48 with the ledger pane zoomed, and appends RATE lines per second (default 1,000)
for SECONDS (default 10) from this process, one `write` per line on an O_APPEND
descriptor (what any other writer does). Meanwhile it:
  * polls the screen (`tmux capture-pane`) every ~10 ms and reads the newest line
    number shown; the tail latency of that line is (seen - written);
  * every 0.5 s sends `?` and times until the help overlay is on screen, then Esc.
Reports the median / p95 / max of both. tmux's own capture costs ~3-5 ms, included.
This script measures; it does not assert (SPEC: bars are checked by benchmarks).
"""
import json, os, re, shutil, statistics, subprocess, sys, tempfile, threading, time


def tmux(*args, capture=False):
    r = subprocess.run(["tmux", "-L", "lumen-bench", *args], capture_output=True, text=True)
    return r.stdout if capture else None


def main():
    lumen = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    rate = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    if not shutil.which("tmux"):
        sys.exit("tmux is needed (apt-get install tmux)")
    tmp = tempfile.mkdtemp()
    root = os.path.join(tmp, "hq")
    subprocess.run([lumen, "init", root], check=True, stdout=subprocess.DEVNULL)
    ledger = os.path.join(root, "hq", "ledger", "ledger.jsonl")
    env = f"HOME={tmp} XDG_CONFIG_HOME={tmp}/c XDG_DATA_HOME={tmp}/d"
    tmux("kill-server")
    tmux("new-session", "-d", "-s", "b", "-x", "160", "-y", "48",
         f"env {env} {lumen} --hq {root} --readonly")
    deadline = time.monotonic() + 20
    while "Ledger stream" not in tmux("capture-pane", "-p", "-t", "b", capture=True):
        if time.monotonic() > deadline:
            sys.exit("the console did not start")
        time.sleep(0.05)
    tmux("send-keys", "-t", "b", "2")
    tmux("send-keys", "-t", "b", "z")

    written = {}  # line number -> monotonic time of its write
    stop = threading.Event()

    def writer():
        fd = os.open(ledger, os.O_WRONLY | os.O_APPEND)
        n = 0
        start = time.monotonic()
        while not stop.is_set():
            n += 1
            due = start + n / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            e = {"id": f"TXN-BENCH-{n:07d}", "branch": "papafly", "event": "llm_generate",
                 "tokens": 100, "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            os.write(fd, (json.dumps(e) + "\n").encode())
            written[n] = time.monotonic()
            if now - start > seconds:
                break
        os.close(fd)
        stop.set()

    tail_lat, key_lat = [], []
    seen_max = 0
    line_no = re.compile(r"^[│┃]\s+(\d+) \d\d-\d\d ", re.M)
    t = threading.Thread(target=writer)
    t.start()
    next_key = time.monotonic() + 0.5
    while not stop.is_set():
        screen = tmux("capture-pane", "-p", "-t", "b", capture=True)
        now = time.monotonic()
        nums = [int(m) for m in line_no.findall(screen)]
        if nums and max(nums) > seen_max:
            seen_max = max(nums)
            if seen_max in written:
                tail_lat.append((now - written[seen_max]) * 1000)
        if now >= next_key:
            t0 = time.monotonic()
            tmux("send-keys", "-t", "b", "?")
            while "Help — keys" not in tmux("capture-pane", "-p", "-t", "b", capture=True):
                if time.monotonic() - t0 > 5:
                    break
            key_lat.append((time.monotonic() - t0) * 1000)
            tmux("send-keys", "-t", "b", "Escape")
            next_key = time.monotonic() + 0.5
        time.sleep(0.01)
    t.join()
    tmux("kill-server")

    def summary(xs):
        xs = sorted(xs)
        if not xs:
            return "no samples"
        p95 = xs[min(len(xs) - 1, int(len(xs) * 0.95))]
        return f"median {statistics.median(xs):.0f} ms, p95 {p95:.0f} ms, max {xs[-1]:.0f} ms ({len(xs)} samples)"

    print(f"appended {len(written)} lines at {rate}/s for {seconds:.0f} s")
    print(f"tail latency (written -> on screen): {summary(tail_lat)}")
    print(f"input latency (? -> help overlay on screen): {summary(key_lat)}")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
