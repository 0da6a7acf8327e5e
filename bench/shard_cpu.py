"""CPU per command of a shard's batch loop, in-process (no sockets, no router): an A/B
of the shard's own cost that the machine's load disturbs less than throughput does.

    python bench/shard_cpu.py <old commit> [--batches 2000] [--repeats 3] [--compiled]

Runs this tree and ``git archive <old commit>`` alternately, each in a fresh Python
process (``--compiled``: each copied and its setup.py modules compiled by mypyc in
place first): a Shard (durability
everysec, map 1 GB) whose socket is a stand-in, fed
``--batches`` batches of 64 SETs, then as many of 64 GETs (random keys of 1M), through
``run_batch``; prints "repeat version test cpu_us_per_command" lines and the medians.
"""

from __future__ import annotations

import argparse
import glob
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile

CHILD = r"""
import gc, random, sys, tempfile, time
from shardis import wire
from shardis.assembly import build_table
from shardis.config import Config
from shardis.shardd.daemon import Shard

class Outbox:
    def send_multipart(self, frames):
        pass

table = build_table()
n = int(sys.argv[1])
with tempfile.TemporaryDirectory() as d:
    shard = Shard(Config(dir=d, shards=1, durability="everysec", map_size=1 << 30), 0, table)
    real, shard.sock = shard.sock, Outbox()
    gc.collect()
    gc.freeze()  # (as shardd.daemon.main does once its Shard is built)
    rnd = random.Random(1)
    out = []
    for name in (b"set", b"get"):
        cid = table.lookup(name).id
        frames = []
        for b in range(n):
            keys = [b"key:%012d" % rnd.randrange(1_000_000) for _ in range(64)]
            args = [[name, k, b"VXK"] if name == b"set" else [name, k] for k in keys]
            frames.append(wire.pack((b + 1, [(cid, 0, a) for a in args])))
        t0 = time.process_time()
        for f in frames:
            shard.run_batch([[b"r", f]])
        out.append((time.process_time() - t0) * 1e6 / (64 * n))
    real.close(0)
    shard.ctx.term()
    shard.store.close()
print(" ".join("%.3f" % v for v in out))
"""


def run(code: str, batches: int) -> list[float]:
    env = dict(os.environ, PYTHONPATH=code)
    res = subprocess.run([sys.executable, "-c", CHILD, str(batches)], env=env, cwd="/tmp",
                         capture_output=True, text=True, check=True)
    return [float(v) for v in res.stdout.split()]


def compiled(src: str, work: str, name: str) -> str:
    """A copy of ``src`` with setup.py's modules compiled by mypyc in place: its path."""
    out = os.path.join(work, name)
    shutil.copytree(src, out, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "build", "*.so", "__pycache__", ".*cache"))
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=out, check=True,
                   stdout=subprocess.DEVNULL)
    assert glob.glob(os.path.join(out, "shardd", "daemon.*.so")), "not compiled"
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("--batches", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--compiled", action="store_true")
    a = ap.parse_args()
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with tempfile.TemporaryDirectory() as work:
        old = os.path.join(work, "old-src")
        os.mkdir(old)
        subprocess.run(f"git -C {here} archive {a.old} | tar -x -C {old}", shell=True, check=True)
        new = here
        if a.compiled:
            new, old = compiled(here, work, "new"), compiled(old, work, "old")
        got: dict[tuple[str, str], list[float]] = {}
        for rep in range(a.repeats):
            order = ["new", "old"] if rep % 2 == 0 else ["old", "new"]
            for v in order:
                figures = run(new if v == "new" else old, a.batches)
                for test, us in zip(("set", "get"), figures):
                    got.setdefault((v, test), []).append(us)
                    print(f"{rep + 1} {v} {test} {us:.3f}", flush=True)
        for test in ("set", "get"):
            o, n = statistics.median(got[("old", test)]), statistics.median(got[("new", test)])
            print(f"median {test}: old {o:.3f} us, new {n:.3f} us per command ({(n - o) / o:+.1%})")


if __name__ == "__main__":
    random.seed(0)
    main()
