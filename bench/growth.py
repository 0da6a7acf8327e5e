#!/usr/bin/env python3
"""Cost per operation on one hash, list, set, sorted set and stream as they grow from 10 to 1M
members; with --strings, on one string as it grows from 1 KB to 64 MB.

Grows one collection of each type on shardis and on redis-server 7.0 (the reference, measured
in the same run) to 10, 100, 1k ... --max members, and at each size times single-member commands
pipelined in batches: microseconds per operation, median of repeats, and shardis/redis. The
point (issue 3): on shardis an operation on a collection of a million members should cost about
what it costs on ten; with --strings, SETBIT, SETRANGE, APPEND and GETRANGE on 64 MB about what
they cost on 1 KB (a long string is kept in chunks: shardd/disk/chunks.py). See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import random
import shlex
import shutil
import socket
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Callable

import hiredis

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import RedisServer, ShardisServer, check_tools, machine_info, running, write_results  # noqa: E402

KEYS = {"hash": b"growth:hash", "list": b"growth:list", "set": b"growth:set", "zset": b"growth:zset",
        "stream": b"growth:stream"}
# Streams: entry i has the ID (2i+2)-0, so that an XADD measured at size n can use the
# IDs (2n+1)-* between the grown entries and those the next size adds; consumer group
# GROUP reads (XREADGROUP + XACK), group PENDING holds every entry, delivered to 10
# consumers, for XPENDING's summary.
GROUP, PENDING = b"g", b"p"
FILL_CHUNK = 1000      # members per variadic fill command
FILL_PIPELINE = 8      # fill commands in flight at once


# --------------------------------------------------------------------------- a lean client


def encode(*args: bytes | str | int) -> bytes:
    """One RESP request (array of bulk strings)."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)


class Conn:
    """A raw connection that sends pre-encoded pipelines and reads their replies with hiredis."""

    def __init__(self, port: int, label: str) -> None:
        self.label = label
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = hiredis.Reader()

    def pipeline(self, data: bytes, n: int) -> list:
        """Send n requests at once (data), return their n replies; an error reply raises."""
        self.sock.sendall(data)
        out: list = []
        while len(out) < n:
            reply = self.reader.gets()
            if reply is False:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    raise ConnectionError(f"{self.label} closed the connection")
                self.reader.feed(chunk)
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise RuntimeError(f"{self.label}: {reply}")
            out.append(reply)
        return out

    def call(self, *args) -> object:
        return self.pipeline(encode(*args), 1)[0]

    def timed(self, data: bytes, n: int) -> float:
        """Seconds for one pipeline of n requests, send to last reply."""
        t = time.perf_counter()
        self.pipeline(data, n)
        return time.perf_counter() - t

    def close(self) -> None:
        self.sock.close()


# --------------------------------------------------------------------------- members and filling


def member(i: int) -> bytes:
    """The i-th member (field, set member, zset member) of a grown collection."""
    return b"m:%d" % i


def entry_id(i: int) -> bytes:
    """The ID of the i-th entry of the grown stream."""
    return b"%d-0" % (2 * i + 2)


def fill_commands(kind: str, start: int, stop: int) -> list[bytes]:
    """Variadic commands adding members start..stop-1 to the collection of this kind
    (for the stream, a pipeline of one XADD per entry counts as one)."""
    key, cmds = KEYS[kind], []
    for lo in range(start, stop, FILL_CHUNK):
        ids = range(lo, min(lo + FILL_CHUNK, stop))
        if kind == "stream":
            cmds.append(b"".join(encode(b"XADD", key, entry_id(i), b"f", member(i)) for i in ids))
            continue
        if kind == "hash":
            args = [b"HSET", key] + [x for i in ids for x in (member(i), b"v%d" % i)]
        elif kind == "list":
            args = [b"RPUSH", key] + [b"v%d" % i for i in ids]
        elif kind == "set":
            args = [b"SADD", key] + [member(i) for i in ids]
        else:
            args = [b"ZADD", key] + [x for i in ids for x in (b"%d" % i, member(i))]
        cmds.append(encode(*args))
    return cmds


def grow(conn: Conn, kind: str, have: int, size: int) -> float:
    """Add members have..size-1; returns seconds taken."""
    cmds = fill_commands(kind, have, size)
    t = time.perf_counter()
    if kind == "stream":
        if not have:
            conn.call(b"XGROUP", b"CREATE", KEYS[kind], GROUP, b"0", b"MKSTREAM")
            conn.call(b"XGROUP", b"CREATE", KEYS[kind], PENDING, b"0")
        for n, lo in enumerate(range(have, size, FILL_CHUNK)):
            conn.pipeline(cmds[n], min(FILL_CHUNK, size - lo))
        # the new entries go to PENDING's list, spread over 10 consumers
        for n, _ in enumerate(range(have, size, FILL_CHUNK)):
            conn.call(b"XREADGROUP", b"GROUP", PENDING, b"c%d" % (n % 10), b"COUNT", FILL_CHUNK,
                      b"STREAMS", KEYS[kind], b">")
        conn.call(b"XGROUP", b"SETID", KEYS[kind], GROUP, b"%d-0" % (2 * (size // 2) + 1))
        return time.perf_counter() - t
    for n in range(0, len(cmds), FILL_PIPELINE):
        batch = cmds[n:n + FILL_PIPELINE]
        conn.pipeline(b"".join(batch), len(batch))
    return time.perf_counter() - t


# --------------------------------------------------------------------------- the operations


@dataclass(frozen=True)
class Op:
    """A measured command: build(size, batch, rng, seq) -> (measured request, undo request or b"")."""

    name: str
    kind: str
    build: Callable[[int, int, random.Random, int], tuple[list[bytes], bytes]]
    pops: bool = False  # a batch may not pop more than the collection holds
    undo_replies: int = 1  # commands in the undo request


def new_names(seq: int, batch: int) -> list[bytes]:
    """batch member names no grown collection holds (removed again after each batch)."""
    return [b"new:%d:%d" % (seq, i) for i in range(batch)]


def existing(size: int, batch: int, rng: random.Random) -> list[bytes]:
    return [member(rng.randrange(size)) for _ in range(batch)]


def op_hset(size, batch, rng, seq):
    names = new_names(seq, batch)
    return [encode(b"HSET", KEYS["hash"], f, b"x") for f in names], encode(b"HDEL", KEYS["hash"], *names)


def op_hget(size, batch, rng, seq):
    return [encode(b"HGET", KEYS["hash"], f) for f in existing(size, batch, rng)], b""


def op_sadd(size, batch, rng, seq):
    names = new_names(seq, batch)
    return [encode(b"SADD", KEYS["set"], m) for m in names], encode(b"SREM", KEYS["set"], *names)


def op_sismember(size, batch, rng, seq):
    return [encode(b"SISMEMBER", KEYS["set"], m) for m in existing(size, batch, rng)], b""


def op_zadd(size, batch, rng, seq):
    names = new_names(seq, batch)
    reqs = [encode(b"ZADD", KEYS["zset"], repr(rng.uniform(0, size)), m) for m in names]
    return reqs, encode(b"ZREM", KEYS["zset"], *names)


def op_zscore(size, batch, rng, seq):
    return [encode(b"ZSCORE", KEYS["zset"], m) for m in existing(size, batch, rng)], b""


def op_zrank(size, batch, rng, seq):
    return [encode(b"ZRANK", KEYS["zset"], m) for m in existing(size, batch, rng)], b""


def op_lpush(size, batch, rng, seq):
    return [encode(b"LPUSH", KEYS["list"], b"x")] * batch, encode(b"LPOP", KEYS["list"], batch)


def op_rpop(size, batch, rng, seq):
    # The popped values go back as the same number of new tail elements: the size is kept.
    return [encode(b"RPOP", KEYS["list"])] * batch, encode(b"RPUSH", KEYS["list"], *[b"x"] * batch)


def op_lindex(size, batch, rng, seq):
    return [encode(b"LINDEX", KEYS["list"], size // 2)] * batch, b""


_XADD_SEQ = itertools.count()


def op_xadd(size, batch, rng, seq):
    # IDs (2n+1)-k, between the grown entries and the next size's (k rising over every
    # measurement); deleted again after each batch.
    ms = 2 * size + 1
    ids = [b"%d-%d" % (ms, next(_XADD_SEQ)) for _ in range(batch)]
    return ([encode(b"XADD", KEYS["stream"], i, b"f", b"x") for i in ids],
            encode(b"XDEL", KEYS["stream"], *ids))


def op_xrange(size, batch, rng, seq):
    mid = entry_id(size // 2)
    return [encode(b"XRANGE", KEYS["stream"], mid, b"+", b"COUNT", 10)] * batch, b""


def op_xreadgroup_ack(size, batch, rng, seq):
    # Each XREADGROUP COUNT 10 is followed by the XACK of what it delivers (entries are
    # read from the middle on: the group is set back there after each batch).
    start = size // 2
    reqs = []
    for j in range(batch):
        lo = start + 10 * j
        reqs.append(encode(b"XREADGROUP", b"GROUP", GROUP, b"c", b"COUNT", 10, b"STREAMS",
                           KEYS["stream"], b">"))
        reqs.append(encode(b"XACK", KEYS["stream"], GROUP,
                           *[entry_id(i) for i in range(lo, min(lo + 10, size))] or [b"0-1"]))
    return reqs, encode(b"XGROUP", b"SETID", KEYS["stream"], GROUP, b"%d-0" % (2 * start + 1))


def op_xpending(size, batch, rng, seq):
    return [encode(b"XPENDING", KEYS["stream"], PENDING)] * batch, b""


OPS = [Op("HSET (new field)", "hash", op_hset), Op("HGET", "hash", op_hget),
       Op("SADD (new member)", "set", op_sadd), Op("SISMEMBER", "set", op_sismember),
       Op("ZADD (new member)", "zset", op_zadd), Op("ZSCORE", "zset", op_zscore),
       Op("ZRANK", "zset", op_zrank), Op("LPUSH", "list", op_lpush),
       Op("RPOP (pushed back)", "list", op_rpop, pops=True), Op("LINDEX (middle)", "list", op_lindex),
       Op("XADD (new entry)", "stream", op_xadd), Op("XRANGE COUNT 10 (middle)", "stream", op_xrange),
       Op("XREADGROUP COUNT 10 + XACK", "stream", op_xreadgroup_ack),
       Op("XPENDING (summary)", "stream", op_xpending)]


def measure(conn: Conn, op: Op, size: int, ops: int, batch: int, rng: random.Random) -> float:
    """Microseconds per operation over ops operations in pipelines of batch (undo not timed)."""
    batch = min(batch, ops, size) if op.pops else min(batch, ops)
    total = 0.0
    for seq in range(ops // batch):
        reqs, undo = op.build(size, batch, rng, seq)
        total += conn.timed(b"".join(reqs), len(reqs))
        if undo:
            conn.pipeline(undo, op.undo_replies)
    return total / (ops // batch * batch) * 1e6


# --------------------------------------------------------------------------- strings (--strings)

# growth:string is grown with APPENDs of random bytes and written and read at random offsets;
# growth:append is set back to the size after each batch of APPENDs (a sparse string of that
# length: SETRANGE of its last byte).
STRING_KEY, APPEND_KEY = b"growth:string", b"growth:append"
STRING_FILL = 1 << 20  # bytes per APPEND while growing
RANGE = 100            # bytes SETRANGE writes and GETRANGE reads
TAIL = b"t" * 16       # what each APPEND appends


def string_sizes(top: int) -> list[int]:
    """1 KB, 16 KB, 256 KB ... (x16) up to top, and top itself."""
    out, s = [], 1024
    while s <= top:
        out.append(s)
        s *= 16
    if out and out[-1] != top:
        out.append(top)
    return out


def fmt_bytes(n: int) -> str:
    for unit, div in (("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def reset_append(size: int) -> bytes:
    return encode(b"DEL", APPEND_KEY) + encode(b"SETRANGE", APPEND_KEY, size - 1, b"x")


def grow_string(conn: Conn, have: int, size: int) -> float:
    """APPEND bytes have..size-1 (the same on every server); returns seconds taken."""
    t = time.perf_counter()
    for lo in range(have, size, STRING_FILL):
        conn.call(b"APPEND", STRING_KEY, random.Random(lo).randbytes(min(STRING_FILL, size - lo)))
    conn.pipeline(reset_append(size), 2)
    return time.perf_counter() - t


def op_setbit(size, batch, rng, seq):
    return [encode(b"SETBIT", STRING_KEY, rng.randrange(size * 8), rng.randrange(2))
            for _ in range(batch)], b""


def op_setrange(size, batch, rng, seq):
    piece = b"r" * RANGE
    return [encode(b"SETRANGE", STRING_KEY, rng.randrange(size - RANGE), piece) for _ in range(batch)], b""


def op_append(size, batch, rng, seq):
    return [encode(b"APPEND", APPEND_KEY, TAIL)] * batch, reset_append(size)


def op_getrange(size, batch, rng, seq):
    starts = [rng.randrange(size - RANGE) for _ in range(batch)]
    return [encode(b"GETRANGE", STRING_KEY, s, s + RANGE - 1) for s in starts], b""


STRING_OPS = [Op("SETBIT (random bit)", "string", op_setbit),
              Op(f"SETRANGE ({RANGE} bytes, random offset)", "string", op_setrange),
              Op(f"APPEND ({len(TAIL)} bytes)", "string", op_append, undo_replies=2),
              Op(f"GETRANGE ({RANGE} bytes, random offset)", "string", op_getrange)]


# --------------------------------------------------------------------------- the run


def sizes_up_to(top: int) -> list[int]:
    """10, 100, 1000 ... up to top (and top itself when it is not a power of ten)."""
    out, s = [], 10
    while s <= top:
        out.append(s)
        s *= 10
    if top > 10 and out[-1] != top:
        out.append(top)
    return out


def fmt_size(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def table_head(conns: dict[str, Conn], what: str) -> list[str]:
    head = f"| {what} | command | " + " | ".join(f"{label} us/op" for label in conns)
    head += " | shardis/redis |" if len(conns) == 2 else " |"
    return [head, "|" + "---|" * (head.count("|") - 1)]


def measure_row(args: argparse.Namespace, conns: dict[str, Conn], op: Op, size: int, label: str,
                rng: random.Random) -> str:
    """One table row: op at size on every server, interleaved (drift hits both alike)."""
    per: dict[str, list[float]] = {name: [] for name in conns}
    for _ in range(args.repeats):
        for name, c in conns.items():
            per[name].append(measure(c, op, size, args.ops, args.batch, rng))
    med = {name: statistics.median(v) for name, v in per.items()}
    row = f"| {label} | {op.name} | " + " | ".join(f"{m:.2f}" for m in med.values())
    row += f" | {med['shardis'] / med['redis']:.2f} |" if len(conns) == 2 else " |"
    print(row, file=sys.stderr, flush=True)
    return row


def run_strings(args: argparse.Namespace, conns: dict[str, Conn]) -> tuple[str, list[str]]:
    """Grow one string and measure on every server; the Markdown table and the fill notes."""
    for c in conns.values():
        c.call(b"DEL", STRING_KEY, APPEND_KEY)
    have = 0
    fill_time = {label: 0.0 for label in conns}
    lines = table_head(conns, "size")
    rng = random.Random(args.seed)
    try:
        for size in string_sizes(args.max_bytes):
            for label, c in conns.items():
                fill_time[label] += grow_string(c, have, size)
            have = size
            for op in STRING_OPS:
                lines.append(measure_row(args, conns, op, size, fmt_bytes(size), rng))
    finally:
        for c in conns.values():
            c.call(b"DEL", STRING_KEY, APPEND_KEY)
    notes = [f"- filling: {fmt_bytes(have)} in {t:.1f}s by APPENDs of up to {fmt_bytes(STRING_FILL)} "
             f"on {label}" for label, t in fill_time.items()]
    return "\n".join(lines), notes


def run(args: argparse.Namespace, conns: dict[str, Conn]) -> tuple[str, list[str]]:
    """Grow and measure on every server; returns the Markdown table and the fill notes."""
    for c in conns.values():
        c.call(b"DEL", *KEYS.values())
    have = {(label, kind): 0 for label in conns for kind in KEYS}
    fill_time = {label: 0.0 for label in conns}
    lines = table_head(conns, "members")
    rng = random.Random(args.seed)
    try:
        for size in sizes_up_to(args.max):
            for label, c in conns.items():
                for kind in KEYS:
                    fill_time[label] += grow(c, kind, have[label, kind], size)
                    have[label, kind] = size
            for op in OPS:
                lines.append(measure_row(args, conns, op, size, fmt_size(size), rng))
    finally:
        for c in conns.values():
            c.call(b"DEL", *KEYS.values())
    members = len(KEYS) * max(have.values()) if have else 0
    notes = [f"- filling: {members:,} members in {t:.1f}s ({members / max(t, 1e-9):,.0f} members/s) "
             f"on {label}" for label, t in fill_time.items()]
    return "\n".join(lines), notes


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from shardis import autolayout  # the layout shardis-server's "auto" picks here

    ap = argparse.ArgumentParser(prog="bench/growth.py", description=__doc__.splitlines()[0])
    ap.add_argument("--max", type=int, default=1_000_000, help="largest size (default %(default)s)")
    ap.add_argument("--strings", action="store_true",
                    help="grow one string instead, 1 KB to --max-bytes: SETBIT, SETRANGE, APPEND, GETRANGE")
    ap.add_argument("--max-bytes", type=int, default=64 << 20,
                    help="with --strings, the largest size in bytes (default %(default)s)")
    ap.add_argument("--ops", type=int, default=4000, help="operations per measurement (default %(default)s)")
    ap.add_argument("--batch", type=int, default=100,
                    help="requests per pipeline, also how far inserts grow a collection before they "
                         "are undone (default %(default)s)")
    ap.add_argument("--repeats", type=int, default=3, help="median of this many (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="random members read (default %(default)s)")
    ap.add_argument("--port", type=int, help="use the shardis already on this port (default: start one)")
    ap.add_argument("--redis-port", type=int, help="use the redis-server on this port (default: start one)")
    ap.add_argument("--no-redis", action="store_true", help="measure shardis alone")
    ap.add_argument("--shards", type=int, default=autolayout.auto_shards(autolayout.usable_cores()),
                    help="when starting shardis (default: as shards = \"auto\" here, %(default)s)")
    ap.add_argument("--routers", type=int, default=autolayout.auto_routers(autolayout.usable_cores()),
                    help="when starting shardis (default: as routers = \"auto\" here, %(default)s)")
    ap.add_argument("--durability", default="everysec", choices=("everysec", "always"),
                    help="shardis --durability / redis appendfsync when started here (default %(default)s)")
    ap.add_argument("--tmpdir", help="where started servers keep their data (default: the system temp dir)")
    ap.add_argument("--out", help="append the table, with the command line, to this file")
    a = ap.parse_args(argv)
    a.requests = a.ops  # for run.machine_info
    a.repeats = max(1, a.repeats)
    return a


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    if load_before[0] > 1.5:
        print(f"warning: load average {load_before[0]:.2f}: other work will skew the numbers",
              file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="shardis-growth-", dir=args.tmpdir)
    started = time.monotonic()
    with ExitStack() as stack:
        ports = {"shardis": args.port}
        if args.port is None:
            ports["shardis"] = stack.enter_context(running(ShardisServer(
                args.durability, os.path.join(tmp, "shardis"), args.shards, args.routers))).port
        if not args.no_redis:
            ports["redis"] = args.redis_port
            if args.redis_port is None:
                check_tools()
                ports["redis"] = stack.enter_context(
                    running(RedisServer(args.durability, os.path.join(tmp, "redis")))).port
        conns = {label: Conn(port, label) for label, port in ports.items()}
        try:
            body, notes = (run_strings if args.strings else run)(args, conns)
        finally:
            for c in conns.values():
                c.close()
    now = datetime.datetime.now(datetime.timezone.utc)
    info = [f"- command: `python bench/growth.py {shlex.join(sys.argv[1:] if argv is None else argv)}`"]
    for line in machine_info(args, tmp, load_before, os.getloadavg()):
        if line.startswith("- shardis:") and args.port is not None:
            commit = line.split(", commit ")[-1]
            line = f"- shardis: the server already on port {args.port} (this checkout: commit {commit})"
        if not line.startswith(("- command", "- redis-benchmark")):
            info.append(line)
    info.append(f"- {args.ops} operations per measurement in pipelines of {args.batch}, median of "
                f"{args.repeats} interleaved repeat(s); durability {args.durability}"
                + (" (servers started here)" if args.port is None else ""))
    info += notes + [f"- took {time.monotonic() - started:.0f}s"]
    title = (f"string growth to {fmt_bytes(args.max_bytes)}" if args.strings
             else f"collection growth to {fmt_size(args.max)}")
    section = "\n".join([f"## {now:%Y-%m-%d %H:%M} UTC — {title}",
                         "", *info, "", body]) + "\n"
    shutil.rmtree(tmp, ignore_errors=True)
    print("\n" + section)
    if args.out:
        write_results(args.out, section)  # newest first, as bench/run.py writes it
        print(f"written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
