"""Pub/sub fan-out: messages per second delivered to 50 subscribers of one channel,
shardis against redis-server in the same run.

redis-benchmark has no subscriber side, so this drives both servers itself from
one asyncio process with hiredis: N subscribers SUBSCRIBE one channel; P
publishers PUBLISH to it with W messages in flight each, for S seconds; every
subscriber counts what it receives. The figure is deliveries per second (each
message counts once per subscriber that got it).

    python bench/pubsub.py [--subscribers 50] [--publishers 2] [--window 16] [--seconds 5] [--repeats 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

import hiredis

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.run import RedisServer, ShardisServer, running  # noqa: E402


def _cmd(*args: bytes) -> bytes:
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


async def subscriber(port: int, ready: asyncio.Event, counts: list[int], i: int,
                     stop: asyncio.Event, subscribed: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parser = hiredis.Reader()
    writer.write(_cmd(b"SUBSCRIBE", b"bench"))
    got_confirm = False
    while not stop.is_set():
        try:
            data = await asyncio.wait_for(reader.read(1 << 16), 0.2)
        except asyncio.TimeoutError:
            continue
        if not data:
            break
        parser.feed(data)
        while (msg := parser.gets()) is not False:
            if msg[0] == b"message":
                counts[i] += 1
            elif not got_confirm:
                got_confirm = True
                subscribed.append(i)
                if len(subscribed) == len(counts):
                    ready.set()
    writer.close()


async def publisher(port: int, window: int, deadline: float) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    parser = hiredis.Reader()
    batch = _cmd(b"PUBLISH", b"bench", b"x" * 16) * window
    sent = 0
    while time.monotonic() < deadline:
        writer.write(batch)
        got = 0
        while got < window:
            reply = parser.gets()
            if reply is False:
                parser.feed(await reader.read(1 << 16))
                continue
            got += 1
        sent += window
    writer.close()
    return sent


async def measure(port: int, subscribers: int, publishers: int, window: int, seconds: float):
    counts = [0] * subscribers
    ready, stop = asyncio.Event(), asyncio.Event()
    subscribed: list[int] = []
    subs = [asyncio.create_task(subscriber(port, ready, counts, i, stop, subscribed))
            for i in range(subscribers)]
    await asyncio.wait_for(ready.wait(), 30)
    t0 = time.monotonic()
    sent = sum(await asyncio.gather(*(publisher(port, window, t0 + seconds)
                                      for _ in range(publishers))))
    elapsed = time.monotonic() - t0
    await asyncio.sleep(0.5)  # what is still on its way
    stop.set()
    await asyncio.gather(*subs)
    return sum(counts) / elapsed, sent / elapsed, sum(counts) / max(1, sent * subscribers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--subscribers", type=int, default=50)
    ap.add_argument("--publishers", type=int, default=2)
    ap.add_argument("--window", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shards", type=int, default=2)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardis-bench-pubsub-")
    results: dict[str, list[tuple[float, float, float]]] = {}
    for rep in range(a.repeats):
        for server in (RedisServer("everysec", os.path.join(tmp, f"redis-{rep}")),
                       ShardisServer("everysec", os.path.join(tmp, f"shardis-{rep}"), a.shards, 1)):
            with running(server):
                r = asyncio.run(measure(server.port, a.subscribers, a.publishers, a.window, a.seconds))
                results.setdefault(server.label, []).append(r)
                print(f"  [repeat {rep}] {server.label:<20} {r[0]:>11,.0f} deliveries/s "
                      f"({r[1]:,.0f} published/s, {r[2]:.0%} delivered)", file=sys.stderr, flush=True)
    print(f"\nPUBLISH to one channel with {a.subscribers} subscribers, {a.publishers} publishers with "
          f"{a.window} messages in flight each, {a.seconds:g} s per figure, medians of {a.repeats}\n")
    print("| server | deliveries/s | published/s | ratio |")
    print("|---|---|---|---|")
    labels = list(results)
    ref = statistics.median(x[0] for x in results[labels[0]])
    for label in labels:
        d = statistics.median(x[0] for x in results[label])
        p = statistics.median(x[1] for x in results[label])
        print(f"| {label} | {d:,.0f} | {p:,.0f} | {d / ref:.2f} |")


if __name__ == "__main__":
    main()
