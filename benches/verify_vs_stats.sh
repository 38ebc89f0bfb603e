#!/usr/bin/env bash
# `lumen ledger verify --no-witness` vs `lumen ledger stats` on the same 1 M-line
# ledger, side by side in ONE run (release build), with the ratio. The data is the
# generator used for every ledger figure in docs/PERF.md.
#
# usage: benches/verify_vs_stats.sh [LINES] [WORKDIR]     (default 1000000, /tmp/lumen-verify-bench)
# env:   LUMEN=path/to/lumen (default: target/release/lumen, built first)
#        BEFORE=path/to/an/older/lumen to time its verify in the same run too
#        RUNS=N runs per command (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
WORK=${2:-/tmp/lumen-verify-bench}
RUNS=${RUNS:-10}
TARGET=${CARGO_TARGET_DIR:-target}
if [ -z "${LUMEN:-}" ]; then
  cargo build --release --bin lumen
  LUMEN=$TARGET/release/lumen
fi

LEDGER=$WORK/hq/ledger/ledger.jsonl
if [ ! -f "$LEDGER" ] || [ "$(wc -l < "$LEDGER")" != "$LINES" ]; then
  rm -rf "$WORK"
  echo "generating $LINES lines in $WORK ..."
  python3 benches/gen_ledger.py "$WORK" "$LINES" 1
fi
BYTES=$(stat -c %s "$LEDGER")
echo "ledger: $LINES lines, $BYTES bytes, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$LEDGER" > /dev/null   # warm the page cache for every command alike

STATS="$LUMEN ledger stats --hq $WORK --json"
VERIFY="$LUMEN ledger verify --hq $WORK --json --no-witness"
CMDS=("$STATS" "$VERIFY")
[ -n "${BEFORE:-}" ] && CMDS+=("$BEFORE ledger verify --hq $WORK --json --no-witness")

if command -v hyperfine >/dev/null; then
  hyperfine -N -w 2 -r "$RUNS" "${CMDS[@]}"
  exit 0
fi

# No hyperfine: interleave the commands run by run, report each one's median wall.
declare -A T
for ((i = 0; i < RUNS; i++)); do
  for c in "${CMDS[@]}"; do
    s=$(date +%s.%N)
    $c > /dev/null
    e=$(date +%s.%N)
    T[$c]+="$(echo "$e - $s" | bc) "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
MS=$(echo "${T[$STATS]}" | median)
for c in "${CMDS[@]}"; do
  sorted=$(echo "${T[$c]}" | tr ' ' '\n' | grep . | sort -n)
  m=$(echo "${T[$c]}" | median)
  printf '%.3f s median of %d (%.3f-%.3f)  %.2fx stats   %s\n' "$m" "$RUNS" \
    "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)" "$(echo "$m / $MS" | bc -l)" "$c"
done
