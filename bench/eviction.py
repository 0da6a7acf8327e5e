"""Hit ratio of the eviction policies on a cache workload: a Zipf-like hot set with a scan
of cold keys through it.

shardis is used as a cache: each request GETs its key, and a miss SETs it (the
cache fill). Requests come in rounds of ``--round`` (one pipeline of GETs, then one of
the SETs the misses need; eviction runs per batch). A fraction ``--scan`` of the
requests are one-time keys (a scan: never asked again), the others are drawn from
``--keys`` keys with Zipf(``--alpha``) popularity. The same request sequence (seeded)
runs under each policy at the same maxmemory, on a fresh one-shard cluster.

    python bench/eviction.py                    # the table in bench/RESULTS.md
    python bench/eviction.py --policies allkeys-lru allkeys-s3fifo --requests 20000
"""

from __future__ import annotations

import argparse
import bisect
import os
import random
import sys
import tempfile
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.helpers import Shardis  # noqa: E402

POLICIES = ["allkeys-lru", "allkeys-lfu", "allkeys-s3fifo", "allkeys-random"]


def requests(n: int, keys: int, alpha: float, scan: float, run: int, seed: int) -> list[str]:
    """The request sequence: Zipf-distributed hot keys, and scans of ``run`` keys used
    once each."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) ** alpha for i in range(keys)]
    cum, total = [], 0.0
    for w in weights:
        total += w
        cum.append(total)
    out: list[str] = []
    cold = 0
    while len(out) < n:
        if rng.random() < scan / run / (1 - scan):
            for _ in range(run):
                out.append(f"cold:{cold}")
                cold += 1
        else:
            out.append(f"hot:{bisect.bisect(cum, rng.random() * total)}")
    return out[:n]


def run(port: int, policy: str, maxmemory: int, seq: list[str], round_: int, value: bytes) -> dict:
    c = redis.Redis(port=port)
    c.config_set("maxmemory", 0)
    c.flushall()
    c.config_set("maxmemory-policy", policy)
    c.config_set("maxmemory", maxmemory)
    c.config_resetstat()
    hits = hot_hits = hot = 0
    t0 = time.perf_counter()
    for i in range(0, len(seq), round_):
        part = seq[i:i + round_]
        p = c.pipeline(transaction=False)
        for k in part:
            p.get(k)
        got = p.execute()
        p = c.pipeline(transaction=False)
        for k, v in zip(part, got):
            is_hot = k.startswith("hot")
            hot += is_hot
            if v is None:
                p.set(k, value)
            else:
                hits += 1
                hot_hits += is_hot
        p.execute()
    elapsed = time.perf_counter() - t0
    stats = c.info("stats")
    out = {"policy": policy, "hit": hits / len(seq), "hot_hit": hot_hits / max(1, hot),
           "evicted": stats["evicted_keys"], "keys": c.dbsize(), "s": elapsed}
    c.config_set("maxmemory", 0)
    c.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--policies", nargs="+", default=POLICIES)
    ap.add_argument("--maxmemory", type=int, default=600_000)
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--keys", type=int, default=5000, help="hot keys (Zipf)")
    ap.add_argument("--alpha", type=float, default=0.9)
    ap.add_argument("--scan", type=float, default=0.3, help="share of the requests that are a scan")
    ap.add_argument("--scan-run", type=int, default=2000, help="keys per scan")
    ap.add_argument("--round", type=int, default=50)
    ap.add_argument("--value", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    seq = requests(a.requests, a.keys, a.alpha, a.scan, a.scan_run, a.seed)
    with tempfile.TemporaryDirectory() as d:
        cl = Shardis(os.path.join(d, "data"), shards=1).start()
        try:
            rows = [run(cl.port, p, a.maxmemory, seq, a.round, b"x" * a.value) for p in a.policies]
        finally:
            cl.stop()
    print(f"maxmemory {a.maxmemory} bytes, {a.requests} requests, {a.keys} hot keys Zipf "
          f"alpha {a.alpha}, about {a.scan:.0%} of them scans of {a.scan_run} keys, values of "
          f"{a.value} bytes; one shard, requests in rounds of {a.round}\n")
    print("| policy | hit ratio | hot-set hit ratio | evicted | keys at end | seconds |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['policy']} | {r['hit']:.3f} | {r['hot_hit']:.3f} | {r['evicted']} | "
              f"{r['keys']} | {r['s']:.1f} |")


if __name__ == "__main__":
    main()
