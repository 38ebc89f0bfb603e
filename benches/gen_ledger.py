#!/usr/bin/env python3
"""Generate a realistic ledger for benchmarks: N lines (~176 bytes each), a few
branches, the SPEC §4 event mix; llm_generate lines carry tokens and usually cost
(about 1 in 4 leaves cost out, so it is derived from the tier rate).

usage: gen_ledger.py OUT_HQ_DIR N [SEED]
Writes OUT_HQ_DIR/hq/ledger/ledger.jsonl, hq/registry/branches.json and
hq/billing/cost-policy.json.
"""
import json
import os
import random
import sys

BRANCHES = [
    ("papafly", "canary", None),
    ("koosy", "standard", None),
    ("dimas", "standard", "premium"),
    ("lubit", "incubation", None),
    ("orbit", "standard", None),
    ("namu", "premium", None),
]
EVENTS = [
    ("llm_generate", 50), ("deploy", 12), ("deploy_test", 8), ("pr_opened", 8),
    ("health_fail", 6), ("deploy_failed", 4), ("rollback", 3), ("cost_limit_exceeded", 2),
    ("maintenance_on", 1), ("maintenance_off", 1), ("kill_switch_activated", 1),
    ("kill_switch_released", 1), ("ceremony_rehearsal", 1), ("rule_rollback", 2),
]
ACTORS = ["hq", "llm", "ci", "worker-7", "operator"]
STATUSES = ["ok", "failed", "pending", "ok", "ok"]


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    os.makedirs(os.path.join(out, "hq/ledger"), exist_ok=True)
    os.makedirs(os.path.join(out, "hq/registry"), exist_ok=True)
    os.makedirs(os.path.join(out, "hq/billing"), exist_ok=True)
    branches = []
    for bid, tier, billing in BRANCHES:
        b = {"id": bid, "repo": "dtslib1979/" + bid, "domain": bid + ".example",
             "visibility": "public", "hqProtocolVersion": "2.1", "tier": tier}
        if billing:
            b["billingTier"] = billing
        branches.append(b)
    with open(os.path.join(out, "hq/registry/branches.json"), "w") as f:
        json.dump({"hqVersion": "2.1", "branches": branches}, f)
    with open(os.path.join(out, "hq/billing/cost-policy.json"), "w") as f:
        json.dump({"tiers": {
            "incubation": {"monthlyTokenLimit": 200000, "rate": 0.00002},
            "standard": {"monthlyTokenLimit": 1000000, "rate": 0.000018},
            "premium": {"monthlyTokenLimit": 5000000, "rate": 0.000015}},
            "escalation": {"throttle": 1.0, "notify": 1.2, "suspend": 1.5}}, f)
    names = [e for e, _ in EVENTS]
    weights = [w for _, w in EVENTS]
    bids = [b[0] for b in BRANCHES]
    t0 = 1767225600  # 2026-01-01T00:00:00Z
    with open(os.path.join(out, "hq/ledger/ledger.jsonl"), "w") as f:
        for i in range(n):
            ev = rnd.choices(names, weights)[0]
            br = rnd.choice(bids)
            t = t0 + i * 3
            ts = "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
                *__import__("time").gmtime(t)[:6],)
            parts = ['"id":"TXN-%s-%06d"' % (ts[:10].replace("-", ""), i % 1000000),
                     '"branch":"%s"' % br, '"event":"%s"' % ev]
            if ev == "llm_generate":
                tok = rnd.randint(100, 5000)
                parts.append('"tokens":%d' % tok)
                if rnd.random() < 0.75:
                    parts.append('"cost":%s' % repr(round(tok * 0.0000173, 6)))
                parts.append('"model":"gpt-%d"' % rnd.randint(3, 5))
            else:
                parts.append('"status":"%s"' % rnd.choice(STATUSES))
                parts.append('"change":"chg-%05d"' % rnd.randint(0, 99999))
            parts.append('"actor":"%s"' % rnd.choice(ACTORS))
            parts.append('"timestamp":"%s"' % ts)
            parts.append('"note":"%s"' % ("x" * rnd.randint(2, 22)))
            f.write("{" + ",".join(parts) + "}\n")


if __name__ == "__main__":
    main()
