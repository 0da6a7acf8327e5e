"""Backups: how long SAVE takes, how big the file is, how long --restore takes, and
what SET throughput a client sees while BGSAVE runs (against idle), beside
redis-server's SAVE of the same data.

    python bench/backup.py --keys 100000 --shards 2

Prints a Markdown table (bench/RESULTS.md, "Backups").
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

import redis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.helpers import RedisServer, Shardis  # noqa: E402


def fill(c: redis.Redis, n: int) -> None:
    p = c.pipeline(transaction=False)
    for i in range(n):
        p.set(f"key:{i}", "v" * 100)
        if i % 10 == 0:
            p.hset(f"hash:{i}", mapping={"a": i, "b": "x" * 20})
        if len(p) >= 5000:
            p.execute()
    p.execute()


def sets_per_second(port: int, seconds: float, stop: threading.Event | None = None) -> float:
    c = redis.Redis(port=port)
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds and not (stop is not None and stop.is_set()):
        p = c.pipeline(transaction=False)
        for i in range(100):
            p.set(f"w:{n + i}", "x")
        p.execute()
        n += 100
    c.close()
    return n / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--shards", type=int, default=2)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-backup-")
    rows = []
    s = Shardis(os.path.join(work, "data"), shards=a.shards).start()
    try:
        c = redis.Redis(port=s.port, socket_timeout=600)  # (no retry of a long SAVE)
        fill(c, a.keys)
        t = time.monotonic()
        c.save()
        save_s = time.monotonic() - t
        path = os.path.join(s.dir, "dump.rdb")
        size = os.path.getsize(path)
        idle = sets_per_second(s.port, 2.0)
        c.bgsave()
        stop = threading.Event()
        t = time.monotonic()
        got: list[float] = []
        th = threading.Thread(target=lambda: got.append(sets_per_second(s.port, 60, stop)))
        th.start()
        while c.info("persistence")["rdb_bgsave_in_progress"]:
            time.sleep(0.05)
        stop.set()
        th.join()
        bg_s = time.monotonic() - t
        shutil.copy(path, os.path.join(work, "backup.rdb"))
        c.close()
    finally:
        s.stop()
    r = Shardis(os.path.join(work, "restored"), shards=a.shards)
    argv = r.argv
    r.argv = lambda: argv() + ["--restore", os.path.join(work, "backup.rdb")]  # type: ignore[method-assign]
    t = time.monotonic()
    r.start()
    restore_s = time.monotonic() - t
    r.stop()
    ref = RedisServer().start()
    try:
        c = redis.Redis(port=ref.port, socket_timeout=600)
        fill(c, a.keys)
        t = time.monotonic()
        c.save()
        ref_s = time.monotonic() - t
        ref_size = os.path.getsize(os.path.join(ref.dir, "dump.rdb"))
    finally:
        ref.stop()
    shutil.rmtree(work, ignore_errors=True)
    total = a.keys + a.keys // 10
    rows.append(("| keys | shards | SAVE s | file MB | BGSAVE s | SET/s idle | SET/s during BGSAVE "
                 "| start with --restore s | redis-server SAVE s | its file MB |"))
    rows.append("|---|---|---|---|---|---|---|---|---|---|")
    rows.append(f"| {total:,} | {a.shards} | {save_s:.2f} | {size / 1e6:.1f} | {bg_s:.2f} | "
                f"{idle:,.0f} | {got[0]:,.0f} | {restore_s:.1f} | {ref_s:.2f} | {ref_size / 1e6:.1f} |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
