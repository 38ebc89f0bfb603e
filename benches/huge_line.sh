#!/usr/bin/env bash
# Huge ledger lines: the cost of a signed `lumen ledger append` and the peak RSS of
# append, verify and stats when the ledger holds a 64 MiB line, a 256 MiB line, or a
# 1 GiB unterminated last line, against the same commands on a normal ledger.
#
# Finding the last line for `prev` must cost O(the length of that line) whatever
# precedes it, the id counter must not read lines over the 1 MiB limit, and no command
# may hold such a line: peak RSS stays under 200 MB. Every append is timed on the same
# file state (the file is cut back to its size before each run with `truncate`).
#
# usage: benches/huge_line.sh [WORKDIR]        (default /tmp/lumen-huge-line)
# env:   LUMEN=path/to/lumen (default target/release/lumen, built if missing)
#        RUNS=5 (appends timed per case; best and median reported)
#        SKIP_1G=1 to leave out the 1 GiB case (needs ~1.1 GB of disk)
#        TIMEOUT=120 (seconds before one command is cut off and shown as a timeout)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/lumen-huge-line}
TARGET=${CARGO_TARGET_DIR:-target}
LUMEN=${LUMEN:-$TARGET/release/lumen}
RUNS=${RUNS:-5}
TIMEOUT=${TIMEOUT:-120}
[ -x "$LUMEN" ] || cargo build --release --bin lumen
[ -x /usr/bin/time ] || { echo "/usr/bin/time is missing (apt-get install time)"; exit 2; }

rm -rf "$WORK"
mkdir -p "$WORK"
KEY=$WORK/alice.pem
PUB=$("$LUMEN" keygen --out "$KEY" --id alice)

# One HQ root per case: the registry with alice's key, and a ledger built by Python.
make_case() { # name kind
  local root=$WORK/$1
  mkdir -p "$root/hq/registry" "$root/hq/ledger"
  printf '{"signers":[%s]}\n' "$PUB" > "$root/hq/registry/keys.json"
  python3 - "$root/hq/ledger/ledger.jsonl" "$2" <<'PY'
import sys
path, kind = sys.argv[1], sys.argv[2]
MiB = 1 << 20
def normal(i):
    return ('{"id":"TXN-20260101-%06d","branch":"koosy","event":"llm_generate","tokens":1840,'
            '"cost":0.033,"actor":"llm","timestamp":"2026-01-01T00:00:00Z"}\n' % i).encode()
def huge(n):
    head = b'{"id":"HUGE","branch":"koosy","event":"deploy","timestamp":"2026-01-01T00:00:00Z","note":"'
    return head + b"x" * (n - len(head) - 2) + b'"}\n'
with open(path, "wb") as f:
    for i in range(1000):
        f.write(normal(i))
    if kind == "normal":
        pass
    elif kind == "normal-64m":           # same size as the 64 MiB case, normal lines only
        i = 1000
        while f.tell() < 64 * MiB:
            f.write(normal(i)); i += 1
    elif kind.startswith("last-"):        # the huge line is the last line
        f.write(huge(int(kind[5:]) * MiB))
    elif kind.startswith("mid-"):         # a huge line, then one normal line
        f.write(huge(int(kind[4:]) * MiB)); f.write(normal(5000))
    elif kind == "pending-1024":          # a 1 GiB last line without "\n"
        block = b"y" * MiB
        for _ in range(1024):
            f.write(block)
PY
}

CASES="normal normal-64m last-64 mid-64 last-256 mid-256"
[ -n "${SKIP_1G:-}" ] || CASES="$CASES pending-1024"
for c in $CASES; do make_case "$c" "$c"; done
echo "lumen: $LUMEN ($("$LUMEN" --version 2>/dev/null || echo '?')); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"

# "wall cpu" seconds of one append on the case's file as built (cut back afterwards);
# cpu = user + sys, which tells more than wall time on a shared machine.
append_once() { # root
  local ledger=$1/hq/ledger/ledger.jsonl size f=$WORK/append.time rc=0 s e
  size=$(stat -c %s "$ledger")
  s=$(date +%s.%N)
  /usr/bin/time -o "$f" -f '%U %S' timeout "$TIMEOUT" "$LUMEN" ledger append --hq "$1" \
    --key "$KEY" --event kill_switch_activated --branch koosy --json > /dev/null 2>&1 || rc=$?
  e=$(date +%s.%N)
  truncate -s "$size" "$ledger"
  if [ "$rc" = 124 ] || [ ! -s "$f" ]; then echo "timeout"
  else tail -1 "$f" | awk -v w="$(python3 -c "print($e - $s)")" '{printf "%.4f/%.4f", w, $1 + $2}'; fi
  rm -f "$f"
}

# Peak RSS and wall time of one run of a command (its exit code is ignored: verify
# exits 1 on a ledger that fails verification, which these do not).
peak() {
  local f=$WORK/time.out
  local rc=0
  /usr/bin/time -o "$f" -f '%M %e' timeout "$TIMEOUT" "$@" > /dev/null 2>&1 || rc=$?
  if [ "$rc" = 124 ]; then tail -1 "$f" | awk '{printf "> %.0f MB, > %.0f s (cut)", $1/1024, $2}'
  elif [ -s "$f" ]; then tail -1 "$f" | awk '{printf "%.1f MB, %.2f s", $1/1024, $2}'
  else echo "?"; fi
  rm -f "$f"
}

printf '\n%-14s %10s %8s %8s %8s   %-20s %-20s %-20s\n' case bytes best median cpu "append RSS, wall" "verify RSS, wall" "stats RSS, wall"
for c in $CASES; do
  root=$WORK/$c
  ledger=$root/hq/ledger/ledger.jsonl
  cat "$ledger" > /dev/null # warm the page cache
  times=()
  for _ in $(seq "$RUNS"); do times+=("$(append_once "$root")"); done
  read -r best median cpu < <(python3 -c '
import sys
t = sys.argv[1:]
if "timeout" in t: print("timeout", "timeout", "timeout"); sys.exit()
w = sorted(float(x.split("/")[0]) for x in t)
c = sorted(float(x.split("/")[1]) for x in t)
print(f"{w[0]:.4f}", f"{w[len(w)//2]:.4f}", f"{c[len(c)//2]:.2f}")' "${times[@]}")
  size=$(stat -c %s "$ledger")
  a=$(peak "$LUMEN" ledger append --hq "$root" --key "$KEY" --event deploy --branch koosy)
  truncate -s "$size" "$ledger"
  v=$(peak "$LUMEN" ledger verify --hq "$root" --json)
  s=$(peak "$LUMEN" ledger stats --hq "$root" --json)
  printf '%-14s %10s %8s %8s %8s   %-20s %-20s %-20s\n' "$c" "$size" "$best" "$median" "$cpu" "$a" "$v" "$s"
done
echo
echo "append: seconds of one signed append: best and median wall, median CPU (user+sys, 10 ms"
echo "        resolution) of $RUNS;"
echo "        the file is cut back after each."
echo "RSS: peak resident set (/usr/bin/time %M) and wall time of one run."
