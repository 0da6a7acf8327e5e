#!/usr/bin/env python3
"""A consumer group at work, shardis beside redis-server in the same run: one stream
filled with entries, then 10 consumers (one connection each) loop on XREADGROUP GROUP g
<consumer> COUNT 10 STREAMS s > followed by XACK of what they got, until the stream is
drained. Reports entries per second and CPU microseconds per entry per process kind
(the stable figure: the consumers are Python threads, so the client shares the cores).

    python bench/consumers.py [--entries 100000] [--consumers 10] [--repeats 3] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import socket
import statistics
import sys
import tempfile
import threading
import time

import hiredis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import CLK_TCK, RedisServer, ShardisServer, cpu_delta, running, write_results  # noqa: E402

STREAM = b"consumers:stream"
GROUP = b"g"


def command(*args: bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def call(self, *args: bytes):
        return self.pipeline([args])[0]

    def pipeline(self, cmds: list) -> list:
        self.sock.sendall(b"".join(command(*c) for c in cmds))
        out: list = []
        while len(out) < len(cmds):
            r = self.reader.gets()
            if r is False:
                self.sock_read()
                continue
            if isinstance(r, hiredis.ReplyError):
                raise RuntimeError(str(r))
            out.append(r)
        return out

    def sock_read(self) -> None:
        data = self.sock.recv(1 << 16)
        if not data:
            raise ConnectionError("closed")
        self.reader.feed(data)


def fill(port: int, entries: int) -> None:
    c = Conn(port)
    c.call(b"DEL", STREAM)
    batch = 500
    for start in range(0, entries, batch):
        c.pipeline([(b"XADD", STREAM, b"*", b"job", b"%d" % i) for i in range(start, min(entries, start + batch))])
    c.call(b"XGROUP", b"CREATE", STREAM, GROUP, b"0")


def consume(port: int, name: bytes, counts: list, idx: int) -> None:
    c = Conn(port)
    n = 0
    while True:
        got = c.call(b"XREADGROUP", b"GROUP", GROUP, name, b"COUNT", b"10", b"STREAMS", STREAM, b">")
        if not got:
            break
        ids = [entry[0] for entry in got[0][1]]
        if not ids:
            break
        c.call(b"XACK", STREAM, GROUP, *ids)
        n += len(ids)
    counts[idx] = n


def run_once(server, entries: int, consumers: int) -> tuple[float, dict[str, float]]:
    fill(server.port, entries)
    counts = [0] * consumers
    threads = [threading.Thread(target=consume, args=(server.port, b"c%d" % i, counts, i)) for i in range(consumers)]
    before = server.snapshot()
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    after = server.snapshot()
    assert sum(counts) == entries, (sum(counts), entries)
    per = {kind: ticks / CLK_TCK * 1e6 / entries for kind, ticks in cpu_delta(before, after).items()}
    return entries / elapsed, per


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--consumers", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--routers", type=int, default=1)
    ap.add_argument("--out", help="prepend the table to this file (bench/RESULTS.md)")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="shardis-consumers-")
    results: dict[str, list] = {"redis": [], "shardis": []}
    started = time.monotonic()
    for _ in range(a.repeats):
        for kind in ("redis", "shardis"):
            server = RedisServer("everysec", tmp) if kind == "redis" else \
                ShardisServer("everysec", tmp, a.shards, a.routers)
            with running(server):
                rate, per = run_once(server, a.entries, a.consumers)
            results[kind].append((rate, per))
            print(f"  {kind:8} {rate:10,.0f} entries/s  CPU us/entry: "
                  + "  ".join(f"{k} {v:.1f}" for k, v in sorted(per.items())), flush=True)
    med = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
    cpu = {k: statistics.median(sum(p.values()) for _, p in v) for k, v in results.items()}
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join([
        f"## {now} — a consumer group: XREADGROUP COUNT 10 + XACK, {a.consumers} consumers",
        "",
        f"- command: `python bench/consumers.py {' '.join(sys.argv[1:])}`",
        f"- {a.entries} entries drained by {a.consumers} consumers (Python threads, one connection each, "
        f"one XREADGROUP then one XACK per round trip); shardis {a.shards} shard(s), {a.routers} router(s), "
        f"everysec; medians of {a.repeats}; took {time.monotonic() - started:.0f}s on {os.cpu_count()} CPUs",
        "",
        "| server | entries/s | CPU us/entry (server processes) |",
        "|---|---|---|",
        f"| redis | {med['redis']:,.0f} | {cpu['redis']:.1f} |",
        f"| shardis | {med['shardis']:,.0f} | {cpu['shardis']:.1f} |",
        f"| shardis/redis | {med['shardis'] / med['redis']:.2f} | |",
        "",
    ])
    print(section)
    if a.out:
        write_results(a.out, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
