"""The cost of a MULTI/EXEC of 10 commands over several shards against one on a single
shard, and against redis-server, measured in the same run.

redis-benchmark sends one command per request, so it cannot send a transaction:
this drives the servers itself, from one asyncio process with hiredis: C
connections, each sending MULTI, 10 SETs and EXEC, waiting for the EXEC's reply,
and again, for S seconds. Keys are random (-r); "single" keys share a hash tag
(so one shard), "cross" keys do not (so over every shard).

    python bench/multi.py [--shards 3] [--seconds 5] [--clients 50] [--repeats 3]

Figures: transactions per second, medians of the repeats, and the ratio of
shardis to redis-server (appendfsync everysec) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time

import hiredis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.run import RedisServer, ShardisServer, running  # noqa: E402

KEYSPACE = 100_000


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def transaction(kind: str, rng: random.Random) -> bytes:
    parts = [_cmd(b"MULTI")]
    tag = b"{t%d}" % rng.randrange(1000) if kind == "single" else b""
    for _ in range(10):
        key = b"%skey:%012d" % (tag, rng.randrange(KEYSPACE))
        parts.append(_cmd(b"SET", key, b"xxx"))
    parts.append(_cmd(b"EXEC"))
    return b"".join(parts)


async def client(port: int, kind: str, deadline: float, counts: list[int], seed: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parser = hiredis.Reader()
    rng = random.Random(seed)
    done = 0
    while time.monotonic() < deadline:
        writer.write(transaction(kind, rng))
        got = 0
        while got < 12:  # +OK, 10 x +QUEUED, the EXEC array
            reply = parser.gets()
            if reply is False:
                parser.feed(await reader.read(65536))
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise RuntimeError(reply)
            got += 1
        done += 1
    counts.append(done)
    writer.close()


async def measure(port: int, kind: str, clients: int, seconds: float) -> float:
    counts: list[int] = []
    deadline = time.monotonic() + seconds
    t0 = time.monotonic()
    await asyncio.gather(*(client(port, kind, deadline, counts, i) for i in range(clients)))
    return sum(counts) / (time.monotonic() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shards", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardis-bench-multi-")
    results: dict[tuple[str, str], list[float]] = {}
    for rep in range(a.repeats):
        for server in (RedisServer("everysec", os.path.join(tmp, f"redis-{rep}")),
                       ShardisServer("everysec", os.path.join(tmp, f"shardis-{rep}"), a.shards, 1)):
            with running(server):
                for kind in ("single", "cross"):
                    tps = asyncio.run(measure(server.port, kind, a.clients, a.seconds))
                    results.setdefault((server.label, kind), []).append(tps)
                    print(f"  [repeat {rep}] {server.label:<20} {kind:<6} {tps:>9,.0f} tx/s",
                          file=sys.stderr, flush=True)
    print(f"\nMULTI + 10 x SET + EXEC, {a.clients} clients, one transaction in flight each, "
          f"{a.seconds:g} s per figure, medians of {a.repeats}; shardis with {a.shards} shards, everysec\n")
    print("| keys | redis-server tx/s | shardis tx/s | ratio |")
    print("|---|---|---|---|")
    labels = sorted({label for label, _ in results})
    redis_label = next(lb for lb in labels if "redis" in lb)
    shardis_label = next(lb for lb in labels if lb != redis_label)
    for kind in ("single", "cross"):
        r = statistics.median(results[(redis_label, kind)])
        s = statistics.median(results[(shardis_label, kind)])
        print(f"| {kind} | {r:,.0f} | {s:,.0f} | {s / r:.2f} |")
    single = statistics.median(results[(shardis_label, "single")])
    cross = statistics.median(results[(shardis_label, "cross")])
    print(f"\nshardis: a cross-shard transaction costs {single / cross:.1f}x a single-shard one")


if __name__ == "__main__":
    main()
