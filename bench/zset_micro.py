#!/usr/bin/env python3
"""In-process A/B micro-benchmark of the sorted-set commands: no network, no router.

Runs the command functions of ``shardd/zsets.py`` as the shard does (one LMDB write
transaction per batch of commands) on one big sorted set, for this tree's module
and for the module at a git revision (``--base``), alternating, several repeats;
prints the median microseconds per command of each. Both sides get the same
commands. Use it to compare a change with its base on a shared machine: contention
hits both sides alike. See bench/README.md.

    python bench/zset_micro.py --base main --members 100000 --repeats 9
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)

from shardis.shardd.storage import Keyspace, Store  # noqa: E402
from shardis.commands import CommandTable  # noqa: E402
from shardis.resp import encode  # noqa: E402

KEY = b"myzset"


def load_zsets(rev: str | None):
    """This tree's shardd.zsets, or the one at git revision ``rev`` as a separate module."""
    if rev is None:
        from shardis.shardd import zsets
        return zsets
    src = subprocess.run(["git", "-C", ROOT, "show", f"{rev}:shardd/zsets.py"], check=True,
                         capture_output=True).stdout
    tmp = tempfile.mkdtemp()
    path = os.path.join(tmp, "zsets_base.py")
    with open(path, "wb") as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("zsets_base", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    shutil.rmtree(tmp, ignore_errors=True)
    return mod


def member(i: int) -> bytes:
    return b"element:%012d" % i


class Side:
    """One implementation with its own LMDB environment holding one sorted set."""

    def __init__(self, name: str, zs, members: int, seed: int, where: str | None) -> None:
        self.name = name
        self.zs = zs
        self.dir = tempfile.mkdtemp(prefix="zmicro-", dir=where)
        self.store = Store(os.path.join(self.dir, "db"), "no", 1 << 32)
        rng = random.Random(seed)
        scores = {member(i): float(rng.randrange(1_000_000)) for i in range(members)}
        self.batch(lambda ks: zs.store(ks, 0, KEY, scores))
        self.next_new = members

    def batch(self, fn: Callable[[Keyspace], object]) -> object:
        st = self.store
        txn = st.env.begin(write=True)
        ks = Keyspace(st, txn, int(time.time() * 1000))
        out = fn(ks)
        ks.finish()
        txn.commit()
        ks.committed()
        return out

    def run(self, cmds: list, per_txn: int) -> float:
        """Seconds to run ``cmds`` ((function, args) pairs), ``per_txn`` a transaction."""
        st = self.store
        t0 = time.perf_counter()
        for i in range(0, len(cmds), per_txn):
            txn = st.env.begin(write=True)
            ks = Keyspace(st, txn, int(time.time() * 1000))
            for fn, args in cmds[i:i + per_txn]:
                fn(ks, 0, args)
            ks.finish()
            txn.commit()
            ks.committed()
        return time.perf_counter() - t0

    def close(self) -> None:
        self.store.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def handler(zs, name: str) -> Callable[[Keyspace, int, list[bytes]], bytes]:
    """What the shard runs for command ``name`` (RESP2 reply bytes), from the module's table."""
    table = CommandTable()
    zs.register(table)
    spec = table.lookup(name.encode())
    if spec.resp2 is not None:
        return spec.resp2
    fn = spec.handler
    return lambda ks, db, args: encode(fn(ks, db, args))


def workloads(zs, rng: random.Random, side: Side, members: int, ops: int) -> dict[str, list]:
    """name -> commands, drawn from ``rng`` (the same draws on both sides)."""
    zadd, zpopmin, zrank, zrange = (handler(zs, n) for n in ("zadd", "zpopmin", "zrank", "zrange"))
    upd = [(zadd, [b"ZADD", KEY, b"%d" % rng.randrange(1_000_000), member(rng.randrange(members))])
           for _ in range(ops)]
    new = []
    for _ in range(ops):
        new.append((zadd, [b"ZADD", KEY, b"%d" % rng.randrange(1_000_000), member(side.next_new)]))
        side.next_new += 1
    pops = [(zpopmin, [b"ZPOPMIN", KEY]) for _ in range(ops)]
    ranks = [(zrank, [b"ZRANK", KEY, member(rng.randrange(members))]) for _ in range(ops)]
    ranges = []
    for _ in range(ops):
        r = rng.randrange(members - 20)
        ranges.append((zrange, [b"ZRANGE", KEY, b"%d" % r, b"%d" % (r + 9)]))
    return {"ZADD update": upd, "ZADD new": new, "ZPOPMIN": pops, "ZRANK": ranks,
            "ZRANGE i i+9": ranges}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="main", help="git revision to compare with ('' for none)")
    ap.add_argument("--members", type=int, default=100_000)
    ap.add_argument("--ops", type=int, default=1000, help="commands per workload and repeat")
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--per-txn", type=int, default=50, help="commands per write transaction")
    ap.add_argument("--only", default="", help="comma-separated workload names to run")
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the LMDB files go (default: tmpfs, so that one side's disk "
                         "writeback does not slow the other)")
    args = ap.parse_args(argv)
    sides = [Side("this tree", load_zsets(None), args.members, 1, args.dir)]
    if args.base:
        sides.insert(0, Side(f"base {args.base}", load_zsets(args.base), args.members, 1, args.dir))
    times: dict[tuple[str, str], list[float]] = {}
    only = {w.strip() for w in args.only.split(",") if w.strip()}
    for rep in range(args.repeats):
        # Each workload runs on every side back to back (the order alternating), so
        # that a slow spell of a shared machine hits both sides of a comparison.
        wls = {}
        for side in sides:
            side.next_new = args.members + rep * args.ops  # the same new members on both sides
            wls[side.name] = workloads(side.zs, random.Random(1000 + rep), side, args.members, args.ops)
        for i, name in enumerate(wls[sides[0].name]):
            if only and name not in only:
                continue
            for side in (sides if (rep + i) % 2 == 0 else sides[::-1]):
                cmds = wls[side.name][name]
                dt = side.run(cmds, args.per_txn)
                times.setdefault((name, side.name), []).append(dt / len(cmds) * 1e6)
    names = list(dict.fromkeys(n for n, _ in times))
    print(f"{args.members} members, {args.ops} commands x {args.repeats} repeats, "
          f"{args.per_txn} per transaction; median us/op (min-max)")
    header = "| command | " + " | ".join(s.name for s in sides) + (" | ratio |" if len(sides) > 1 else " |")
    print(header)
    print("|---" * (len(sides) + 1 + (len(sides) > 1)) + "|")
    for n in names:
        cells = []
        meds = []
        for s in sides:
            v = times[(n, s.name)]
            meds.append(statistics.median(v))
            cells.append(f"{meds[-1]:.2f} ({min(v):.2f}-{max(v):.2f})")
        ratio = f" | {meds[-1] / meds[0]:.2f}" if len(sides) > 1 else ""
        print(f"| {n} | " + " | ".join(cells) + ratio + " |")
    for s in sides:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
