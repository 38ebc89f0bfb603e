#!/usr/bin/env bash
# Ledger stats vs what a user would reach for (SPEC §8), in ONE run on one data set:
# `lumen ledger stats --json` (release), a jq reduce, a streaming Python `json` loop,
# Python + orjson, and `wc -l` (the read floor). Every peer computes what `stats`
# computes — per branch: entries, counts by event, tokens, cost (derived from the
# tier rate when missing) — and the script checks that all of them agree, then prints
# times and ratios.
#
# usage: benches/ledger_vs_peers.sh [LINES] [WORKDIR]     (default 1000000, /tmp/lumen-ledger-bench)
# env:   LUMEN=path/to/lumen (default: target/release/lumen, built if missing)
#        SKIP_JQ=1 to leave out jq (~40 s)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${1:-1000000}
WORK=${2:-/tmp/lumen-ledger-bench}
TARGET=${CARGO_TARGET_DIR:-target}
LUMEN=${LUMEN:-$TARGET/release/lumen}
[ -x "$LUMEN" ] || cargo build --release --bin lumen
python3 -c 'import orjson' 2>/dev/null || pip install --quiet orjson
command -v jq >/dev/null || { echo "jq not installed (apt-get install jq)"; exit 2; }

LEDGER=$WORK/hq/ledger/ledger.jsonl
if [ ! -f "$LEDGER" ] || [ "$(wc -l < "$LEDGER")" != "$LINES" ]; then
  rm -rf "$WORK"
  echo "generating $LINES lines in $WORK ..."
  python3 benches/gen_ledger.py "$WORK" "$LINES" 1
fi
BYTES=$(stat -c %s "$LEDGER")
echo "ledger: $LINES lines, $BYTES bytes ($((BYTES / LINES)) bytes/line), $(nproc) cores"
cat "$LEDGER" > /dev/null   # warm the page cache for everyone alike

# Per-branch token rate by SPEC §9 "Cost tier" (no entry here carries its own tier).
RATES=$(python3 - "$WORK" <<'PY'
import json, sys
root = sys.argv[1]
tiers = {k: v["rate"] for k, v in json.load(open(root + "/hq/billing/cost-policy.json"))["tiers"].items()}
out = {}
for b in json.load(open(root + "/hq/registry/branches.json"))["branches"]:
    t = b.get("billingTier") if b.get("billingTier") in tiers else (b.get("tier") if b.get("tier") in tiers else "standard")
    out[b["id"]] = tiers[t]
print(json.dumps(out))
PY
)
OUT=$WORK/out; mkdir -p "$OUT"

now() { date +%s.%N; }
# best of N runs: best N name cmd...
best() {
  local n=$1 name=$2; shift 2
  local b=999999
  for _ in $(seq "$n"); do
    local s e; s=$(now); "$@" > "$OUT/$name.json"; e=$(now)
    b=$(python3 -c "print(min($b, $e - $s))")
  done
  echo "$b" > "$OUT/$name.time"
}

best 5 lumen "$LUMEN" ledger stats --hq "$WORK" --json
best 5 wc wc -l "$LEDGER"

cat > "$OUT/py_json.py" <<'PY'
import json, sys
rates = json.loads(sys.argv[2]); acc = {}
with open(sys.argv[1], "rb") as f:
    for line in f:
        e = json.loads(line)
        a = acc.setdefault(e["branch"], [0, 0, 0.0, {}])
        t = e.get("tokens") or 0
        a[0] += 1; a[1] += t
        c = e.get("cost")
        a[2] += c if c is not None else t * rates.get(e["branch"], 0.0)
        ev = a[3]; ev[e["event"]] = ev.get(e["event"], 0) + 1
print(json.dumps(acc))
PY
sed 's/^import json, sys/import json, sys, orjson/; s/json.loads(line)/orjson.loads(line)/' "$OUT/py_json.py" > "$OUT/py_orjson.py"
best 1 python_json python3 "$OUT/py_json.py" "$LEDGER" "$RATES"
best 1 python_orjson python3 "$OUT/py_orjson.py" "$LEDGER" "$RATES"
if [ -z "${SKIP_JQ:-}" ]; then
  best 1 jq jq -cn --argjson r "$RATES" '
    reduce inputs as $e ({};
      ($e.tokens // 0) as $t
      | .[$e.branch] |= ((. // [0, 0, 0, {}])
          | [.[0] + 1, .[1] + $t, .[2] + ($e.cost // ($t * $r[$e.branch])), (.[3] | .[$e.event] += 1)]))' "$LEDGER"
fi

python3 - "$OUT" "$LINES" <<'PY'
import json, os, sys
out, lines = sys.argv[1], int(sys.argv[2])
t = lambda n: float(open(f"{out}/{n}.time").read())
lum = json.load(open(f"{out}/lumen.json"))
ref = {b: [v["entries"], v["tokens"], v["cost"], v["events"]] for b, v in lum["branches"].items()}
assert lum["lines"] == lines and lum["rejects"] == 0, (lum["lines"], lum["rejects"])
assert int(open(f"{out}/wc.json").read().split()[0]) == lines
peers = [p for p in ["jq", "python_json", "python_orjson"] if os.path.exists(f"{out}/{p}.time")]
for p in peers:
    got = json.load(open(f"{out}/{p}.json"))
    assert set(got) == set(ref), (p, sorted(got), sorted(ref))
    for b, (n, tok, cost, events) in ref.items():
        g = got[b]
        assert g[0] == n and g[1] == tok and g[3] == events, (p, b, g, ref[b])
        assert abs(g[2] - cost) <= 1e-9 * max(1.0, abs(cost)), (p, b, g[2], cost)
print(f"all per-branch entries, event counts, tokens and costs agree ({len(ref)} branches, {', '.join(['lumen'] + peers)})")
base = t("lumen")
print(f"{'tool':<16}{'seconds':>10}{'vs lumen':>12}")
for p in ["lumen", "wc"] + peers:
    print(f"{p:<16}{t(p):>10.3f}{t(p) / base:>11.1f}x")
print(f"lumen / wc -l = {base / t('wc'):.1f} (bar: <= 10)")
for p, bar in [("jq", 100), ("python_json", 15), ("python_orjson", 5)]:
    if p in peers:
        r = t(p) / base
        print(f"{p}: {r:.1f}x slower than lumen (bar: >= {bar}x) {'OK' if r >= bar else 'MISSED'}")
PY
