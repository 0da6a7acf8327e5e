"""What keeping access data (LRU clock / LFU counter) and keyspace hits costs SET and GET
in the shard: their handlers' RESP2 fast paths run on a Keyspace, 2000 commands per
LMDB write transaction as the daemon batches them, on keys drawn at random from
``--keys`` (so the store and the access data grow as a real keyspace does), at an older commit and in this tree,
alternately, the best of several rounds each (a shared machine drifts; the minimum is the
figure least disturbed by other processes). No sockets: the router and ZeroMQ add the
same to both, so this is where a difference would show.

    python bench/access_cost.py 9493a93 [--rounds 5] [--repeats 3] [--keys 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Run with PYTHONPATH at one tree; prints "SET us GET us" per command.
PROBE = r'''
import random, sys, tempfile, time
from shardis.assembly import build_table
from shardis.shardd.storage import Store, Keyspace
try:
    from shardis.shardd.eviction import Evictor
except ImportError:
    Evictor = None
rounds, space = int(sys.argv[1]), int(sys.argv[2])
table = build_table()
st = Store(tempfile.mkdtemp(), "no", 1 << 30)
ev = Evictor(st, 1, range(16384), 0) if Evictor is not None else None
setf, getf = table.by_name[b"set"].resp2, table.by_name[b"get"].resp2
rnd = random.Random(1)
val = b"x" * 32
def batch(fn, argvs):
    txn = st.env.begin(write=True)
    ks = Keyspace(st, txn, int(time.time() * 1000))
    for argv in argvs:
        fn(ks, 0, argv)
    ks.finish(); txn.commit(); ks.committed()
    if ev is not None:
        ev.after(ks)  # (the daemon's per-batch fold)
best = {}
for _ in range(rounds):
    for name, fn, v in (("SET", setf, True), ("GET", getf, False)):
        work = [[[b"x", b"key:%012d" % rnd.randrange(space)] + ([val] if v else []) for _ in range(2000)]
                for _ in range(10)]
        t = time.perf_counter()
        for argvs in work:
            batch(fn, argvs)
        best[name] = min(best.get(name, 1e9), (time.perf_counter() - t) / 20000 * 1e6)
print(best["SET"], best["GET"])
'''


def probe(tree: str, rounds: int, space: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(rounds), str(space)], env={**os.environ, "PYTHONPATH": tree},
                         capture_output=True, text=True, check=True, cwd=tempfile.gettempdir())
    s, g = out.stdout.split()
    return float(s), float(g)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("old")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keys", type=int, default=1_000_000, help="keys drawn from this many, at random")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as old:
        subprocess.run(f"git -C {HERE} archive {a.old} | tar -x -C {old}", shell=True, check=True)
        res: dict[str, list[tuple[float, float]]] = {"old": [], "new": []}
        for i in range(a.repeats):
            for v in (("old", "new") if i % 2 == 0 else ("new", "old")):
                res[v].append(probe(old if v == "old" else HERE, a.rounds, a.keys))
    print(f"| tree | SET us/command | GET us/command |\n|---|---|---|")
    for v, label in (("old", a.old), ("new", "this tree")):
        s = min(x[0] for x in res[v])
        g = min(x[1] for x in res[v])
        print(f"| {label} | {s:.3f} | {g:.3f} |")
    d = [min(x[i] for x in res["new"]) - min(x[i] for x in res["old"]) for i in (0, 1)]
    print(f"| difference | {d[0]:+.3f} | {d[1]:+.3f} |")


if __name__ == "__main__":
    main()
