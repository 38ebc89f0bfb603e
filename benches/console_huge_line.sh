#!/usr/bin/env bash
# Peak RSS and idle CPU of the console on a ledger that ends in a huge unterminated
# line (a writer still writing it, or a hostile one): 1,000 normal lines, then
# SIZE_MIB MiB without `\n`. Not a test: a measurement, recorded in docs/PERF.md and
# docs/RELIABILITY.md.
#
#   benches/console_huge_line.sh [path/to/lumen] [SIZE_MIB] [IDLE_SECS]
#
# Runs the real binary in tmux (160x48), waits for the tail's lines, focuses the
# ledger pane, runs a `/` filter over the whole file and waits for it to finish, then
# samples /proc/PID/status (VmHWM, VmRSS) and the process's CPU time
# (/proc/PID/stat utime+stime) over IDLE_SECS seconds with nothing changing.
# Defaults: target/release/lumen, 1024 MiB, 10 s. Needs tmux and python3.
# SETTLE=N waits N more seconds before the idle window (the console's integrity check
# reads the whole ledger at start and then every 60 s; SETTLE=20 keeps the window
# clear of it).
# With HEADLESS=1 it then also runs the in-process measurement of the ledger reading
# alone (tail + reader worker, no integrity check, no UI):
# `cargo test --test ledger_console_reading huge_pending -- --ignored --nocapture`.
set -euo pipefail

BIN=${1:-target/release/lumen}
MIB=${2:-1024}
IDLE=${3:-10}
command -v tmux >/dev/null || { echo "tmux is needed" >&2; exit 2; }
[ -x "$BIN" ] || { echo "$BIN: not an executable (cargo build --release?)" >&2; exit 2; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

WORK=$(mktemp -d /tmp/lumen-huge-line.XXXXXX)
SESSION=lumen-huge-$$
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

ROOT=$WORK/hq-root
mkdir -p "$ROOT/hq/registry" "$ROOT/hq/ledger"
echo '{"hqVersion":"2.1","branches":[]}' >"$ROOT/hq/registry/branches.json"
python3 - "$ROOT/hq/ledger/ledger.jsonl" "$MIB" <<'EOF'
import sys
path, mib = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    for i in range(1, 1001):
        f.write(b'{"id":"TXN-%07d","branch":"koosy","event":"deploy","actor":"ci",'
                b'"timestamp":"2026-01-01T00:00:00Z"}\n' % i)
    f.write(b'{"id":"TXN-HUGE","branch":"koosy","event":"deploy","pad":"')
    block = b"x" * (1 << 20)
    for _ in range(mib):
        f.write(block)
EOF
SIZE=$(stat -c %s "$ROOT/hq/ledger/ledger.jsonl")
cat "$ROOT/hq/ledger/ledger.jsonl" >/dev/null # warm the page cache

screen() { tmux capture-pane -p -t "$SESSION"; }
wait_for() { # wait_for WHAT TIMEOUT_SECS GREP_PATTERN [NEGATIVE_PATTERN]
    local what=$1 t=$2 pat=$3 neg=${4:-} end=$((SECONDS + $2))
    while [ $SECONDS -lt $end ]; do
        local s
        s=$(screen)
        if grep -q -- "$pat" <<<"$s" && { [ -z "$neg" ] || ! grep -q -- "$neg" <<<"$s"; }; then
            return 0
        fi
        sleep 0.1
    done
    echo "timed out after ${t}s waiting for $what; screen:" >&2
    screen >&2
    exit 1
}
status() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$PID/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$PID/stat"; }

START=$(date +%s.%N)
tmux new-session -d -s "$SESSION" -x 160 -y 48 \
    "exec env HOME=$WORK XDG_CONFIG_HOME=$WORK/config XDG_DATA_HOME=$WORK/data $BIN --hq $ROOT --readonly"
PID=$(tmux list-panes -t "$SESSION" -F '#{pane_pid}')
wait_for "the tail's lines" 60 "TXN-0001000"
T_TAIL=$(python3 -c "import time; print(f'{time.time() - $START:.2f}')")
tmux send-keys -t "$SESSION" 2 z
tmux send-keys -t "$SESSION" / C-u deploy Enter
wait_for "the filter to finish" 120 " matches" "scanning"
T_FILTER=$(python3 -c "import time; print(f'{time.time() - $START:.2f}')")
sleep "${SETTLE:-0}"
HWM_BEFORE=$(status VmHWM)
TICKS0=$(cpu_ticks)
T0=$(date +%s.%N)
sleep "$IDLE"
TICKS1=$(cpu_ticks)
T1=$(date +%s.%N)
HWM=$(status VmHWM)
RSS=$(status VmRSS)
HZ=$(getconf CLK_TCK)
CPU=$(python3 -c "print(f'{($TICKS1 - $TICKS0) / $HZ / ($T1 - $T0) * 100:.1f}')")
SHOWN=$(screen | grep -o "pending [0-9]* B" | head -1 || true)

echo "ledger: $SIZE bytes (1,000 lines + ${MIB} MiB unterminated); binary: $BIN"
echo "tail's last line on screen after ${T_TAIL}s; filter 'deploy' done after ${T_FILTER}s; badge: ${SHOWN:-none}"
echo "peak RSS (VmHWM): ${HWM} kB (${HWM_BEFORE} kB when the idle window began); RSS now ${RSS} kB"
echo "idle CPU over ${IDLE}s (from $(python3 -c "print(f'{$T0 - $START:.1f}')")s after start): ${CPU}% of one core"
tmux send-keys -t "$SESSION" q
sleep 1
tmux kill-session -t "$SESSION" 2>/dev/null || true

if [ "${HEADLESS:-0}" = 1 ]; then
    echo "headless (tail + reader worker only, debug build):"
    LUMEN_HUGE_ROOT=$ROOT cargo test --test ledger_console_reading huge_pending \
        -- --ignored --nocapture 2>&1 | grep -E "^tail:|test result|panicked"
fi
