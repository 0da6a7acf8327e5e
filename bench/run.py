#!/usr/bin/env python3
"""Benchmark shardis against redis-server 7.0 in the same run, on this machine.

One command starts each server in turn (redis-server and shardis, each with
appendfsync everysec and always), drives it with redis-benchmark, reads the CPU
time of every process from /proc, and prints medians of interleaved repeats; the
same table is prepended to bench/RESULTS.md. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import io
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterator

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The rules of every run (README): 50 clients, random keys over a 1M keyspace
# (--clients and --bench-threads change the first and add redis-benchmark --threads,
# for a machine where one load generator thread would be the limit: bench/scale.sh).
CLIENTS = 50
BENCH_THREADS: list[str] = []
KEYSPACE = 1_000_000
# The default tests, in redis-benchmark's own order (its default list ends with MSET).
TESTS = ("set", "get", "incr", "lpush", "rpop", "sadd", "hset", "zadd", "zpopmin", "lrange_100", "mset")
# Every test name redis-benchmark 7.0's -t selects one test with.
KNOWN_TESTS = ("ping_inline", "ping_mbulk", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop",
               "sadd", "hset", "spop", "zadd", "zpopmin", "lrange_100", "lrange_300", "lrange_500",
               "lrange_600", "mset")
# Scripts (not redis-benchmark tests): EVALSHA of a script that reads one key and increments
# another, its two keys on one shard (a hash tag) or on two ({a} and {b} lie on different
# shards with 2 shards, as with 3); the script is loaded first (unmeasured).
SCRIPT = "redis.call('get', KEYS[1]) return redis.call('incr', KEYS[2])"
SCRIPT_SHA = "1d7e196cc4fe241223f7eaa06c8103e291e859ae"
SCRIPT_TESTS = {"evalsha": ("{b}r:__rand_int__", "{b}w:__rand_int__"),
                "evalsha_cross": ("{a}r:__rand_int__", "{b}w:__rand_int__")}
# Streams (custom commands, not redis-benchmark tests): XADD, and XRANGE COUNT 10 after an
# unmeasured fill of as many XADDs.
STREAM_TESTS = {"xadd": (("XADD", "mystream", "*", "f", "v"), ()),
                "xrange_10": (("XRANGE", "mystream", "-", "+", "COUNT", "10"),
                              ("-P", "16", "XADD", "mystream", "*", "f", "v"))}
PIPELINES = (1, 16)
DURABILITIES = ("everysec", "always")
CLK_TCK = os.sysconf("SC_CLK_TCK")
RESULTS_TITLE = "# shardis benchmark results"
OTHER_KINDS = ("coordinator", "supervisor", "other")  # shardis processes off the per-command path


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port: int) -> bool:
    """True when something on port answers PING with +PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def command(port: int, *args: bytes) -> bytes:
    """Send one command over a raw socket and return the first reply line."""
    req = b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
    with socket.create_connection(("127.0.0.1", port), timeout=60.0) as s:
        s.sendall(req)
        buf = b""
        while not buf.endswith(b"\r\n"):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
    return buf.strip()


def send_all(port: int, commands: list[tuple[bytes, ...]]) -> list[bytes]:
    """Send commands as one pipeline on one connection and return each reply's line.

    For the preparations below, whose commands all answer one line (an integer, +OK or an
    error); a bulk or array reply is refused.
    """
    req = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in c)
                   for c in commands)
    replies: list[bytes] = []
    with socket.create_connection(("127.0.0.1", port), timeout=120.0) as s:
        s.sendall(req)
        buf = b""
        while len(replies) < len(commands):
            chunk = s.recv(65536)
            if not chunk:
                raise RuntimeError(f"connection closed after {len(replies)} of {len(commands)} replies")
            buf += chunk
            *lines, buf = buf.split(b"\r\n")
            for line in lines:
                if line[:1] not in (b":", b"+", b"-"):
                    raise RuntimeError(f"unexpected reply {line[:80]!r}")
                replies.append(line)
    return replies


def cpu_ticks(pid: int, with_children: bool) -> int | None:
    """utime+stime (and reaped children's, if asked) of pid in clock ticks; None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    # Fields after the command name, which may itself hold spaces or parentheses.
    rest = stat[stat.rfind(b")") + 2:].split()
    ticks = int(rest[11]) + int(rest[12])  # utime, stime (fields 14, 15)
    if with_children:
        ticks += int(rest[13]) + int(rest[14])  # cutime, cstime: redis' AOF-rewrite forks
    return ticks


def children_of(pid: int) -> list[int]:
    """Direct children of pid, over all its threads."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    return kids


def shardis_kind(pid: int) -> str:
    """router / shard / coordinator / other, from a supervisor child's command line."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return "other"
    module = argv[argv.index(b"-m") + 1] if b"-m" in argv[:-1] else b""
    return {b"shardis.router": "router", b"shardis.shardd": "shard", b"shardis.coord": "coordinator"}.get(
        module, "other")


class Server:
    """A server under test, started in its own temporary directory."""

    label: str
    log_path: str

    def __init__(self, durability: str, tmp: str) -> None:
        self.durability = durability
        self.tmp = tmp
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def argv(self) -> list[str]:
        raise NotImplementedError

    def pids(self) -> dict[str, list[int]]:
        """Process kind -> pids, read now (a restarted child gets a new pid)."""
        raise NotImplementedError

    def counts_children(self, kind: str) -> bool:
        """Whether reaped children's CPU belongs to this kind's processes."""
        return False

    def start(self, timeout: float = 60.0) -> None:
        os.makedirs(self.tmp, exist_ok=True)
        self.log_path = os.path.join(self.tmp, "server.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv(), cwd=self.tmp, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while not ping(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.label} did not answer PING on port {self.port}:\n"
                                   + self.log_tail())
            time.sleep(0.05)

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (both servers flush and exit in order), SIGKILL after timeout."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n: int = 3000) -> str:
        with contextlib.suppress(OSError), open(self.log_path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
        return ""

    def snapshot(self) -> dict[str, dict[int, int]]:
        """Process kind -> {pid: CPU ticks so far}."""
        snap: dict[str, dict[int, int]] = {}
        for kind, pids in self.pids().items():
            per = snap.setdefault(kind, {})
            for pid in pids:
                ticks = cpu_ticks(pid, self.counts_children(kind))
                if ticks is not None:
                    per[pid] = ticks
        return snap


class RedisServer(Server):
    """redis-server with an append-only file, appendfsync = durability."""

    binary = "/usr/bin/redis-server"

    @property
    def label(self) -> str:
        return f"redis-{self.durability}"

    io_threads = 0  # --redis-io-threads: redis-server's io-threads (reads too), 0: Redis' default

    def argv(self) -> list[str]:
        threads = ["--io-threads", str(self.io_threads), "--io-threads-do-reads", "yes"] \
            if self.io_threads > 1 else []
        return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.tmp,
                "--save", "", "--appendonly", "yes", "--appendfsync", self.durability,
                "--daemonize", "no", "--logfile", "", *threads]

    def pids(self) -> dict[str, list[int]]:
        return {"redis": [self.proc.pid]}

    def counts_children(self, kind: str) -> bool:
        return True


class ShardisServer(Server):
    """shardis-server (supervisor, shards, coordinator, routers)."""

    def __init__(self, durability: str, tmp: str, shards: int, routers: int, build: str = "",
                 python: str | None = None) -> None:
        super().__init__(durability, tmp)
        self.shards = shards
        self.routers = routers
        self.build = build      # a name for the install ``python`` runs (--build), or ""
        self.python = python

    @property
    def label(self) -> str:
        return shardis_label(self.build, self.durability)

    def argv(self) -> list[str]:
        exe = shutil.which("shardis-server")
        if self.python:
            head = [self.python, "-m", "shardis.supervisor"]
        else:
            head = [exe] if exe else [sys.executable, "-m", "shardis.supervisor"]
        # cwd is the temporary directory, so no stray cluster.toml is read: flags and built-in defaults.
        return head + ["--port", str(self.port), "--dir", os.path.join(self.tmp, "data"),
                       "--shards", str(self.shards), "--routers", str(self.routers),
                       "--durability", self.durability]

    def pids(self) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"supervisor": [self.proc.pid]}
        for pid in children_of(self.proc.pid):
            found.setdefault(shardis_kind(pid), []).append(pid)
        return found


def shardis_label(build: str, durability: str) -> str:
    return f"shardis[{build}]-{durability}" if build else f"shardis-{durability}"


@contextlib.contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start server, yield it, stop it whatever happens."""
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- bitmaps, HLL, geo

# Bitmaps, HyperLogLog and geo (issue 15): custom commands, off the default list, most after an
# unmeasured preparation sent over one connection. redis-benchmark writes __rand_int__ as 12
# zero-padded digits: a float argument takes them ("__rand_int__e-5" is a random coordinate in
# [0, 10) with -r 1000000), an integer argument does not (Redis' string2ll refuses a leading
# zero: "ERR bit offset is not an integer or out of range"), so the bitmap tests use one fixed
# bit in the middle of the 1 MB.
BITMAP_KEY = b"mybitmap"
BITMAP_BYTES = 1 << 20      # 8M bits; on shardis 65 chunks of 16,368 bytes (shardd/disk/chunks.py)
BIT = "4000000"             # byte 500000
HLL_KEYS = (b"{myhll}", b"{myhll}:2")   # one hash tag: PFCOUNT of both stays on one shard
HLL_FILL = 100_000          # elements the preparation adds to each
GEO_KEY = b"geo100k"
GEO_MEMBERS = 100_000
# The members lie in [-0.5, 10.5) x [-0.5, 10.5) degrees, the search centres in [0, 10) x [0, 10),
# so every circle of GEO_RADIUS_KM lies inside the members' square: ~100 members each (density
# 100000 / 121 square degrees, a square degree ~12,200 km2 near the equator).
GEO_SPAN = (-0.5, 10.5)
GEO_RADIUS_KM = "22"
BATCH = 1000                # members per GEOADD / elements per PFADD while preparing


def _check(replies: list[bytes], what: str) -> list[bytes]:
    errors = [r for r in replies if r.startswith(b"-")]
    if errors:
        raise RuntimeError(f"{what}: {errors[0].decode(errors='replace')}")
    return replies


def prepare_bitmap(port: int) -> None:
    """mybitmap := 1 MB of seeded random bytes (about half its bits set), the same each time."""
    _check(send_all(port, [(b"SET", BITMAP_KEY, random.Random(15).randbytes(BITMAP_BYTES))]), "SET")


def prepare_hll(port: int) -> None:
    """HLL_FILL distinct elements added to each HLL (dense by then), in PFADDs of BATCH."""
    cmds = [(b"PFADD", key, *(b"fill:%d:%d" % (k, i) for i in range(n, n + BATCH)))
            for k, key in enumerate(HLL_KEYS) for n in range(0, HLL_FILL, BATCH)]
    _check(send_all(port, cmds), "PFADD")


def prepare_geo(port: int) -> None:
    """geo100k := GEO_MEMBERS members at seeded random places in GEO_SPAN, in GEOADDs of BATCH."""
    rng = random.Random(15)
    lo, hi = GEO_SPAN
    cmds: list[tuple[bytes, ...]] = [(b"DEL", GEO_KEY)]
    for n in range(0, GEO_MEMBERS, BATCH):
        args: list[bytes] = [b"GEOADD", GEO_KEY]
        for i in range(n, n + BATCH):
            args += [b"%.6f" % rng.uniform(lo, hi), b"%.6f" % rng.uniform(lo, hi), b"m:%d" % i]
        cmds.append(tuple(args))
    added = _check(send_all(port, cmds), "GEOADD")[1:]
    if sum(int(r[1:]) for r in added) != GEO_MEMBERS:
        raise RuntimeError(f"GEOADD added {sum(int(r[1:]) for r in added)} of {GEO_MEMBERS} members")


_RAND_COORD = "__rand_int__e-5"
# name -> (the command measured, the preparation run before it, unmeasured).
DATA_TESTS: dict[str, tuple[tuple[str, ...], Callable[[int], None] | None]] = {
    # the bit becomes 1 on the first request; later ones find it set and write nothing (Redis
    # 7.0.15 neither: a SETBIT that changes no bit touches no WATCH), so this is a chunk read
    "setbit_1mb": (("SETBIT", BITMAP_KEY.decode(), BIT, "1"), prepare_bitmap),
    # flips the same bit every request (u1 wraps): a write of one chunk each time on shardis
    "bitfield_1mb": (("BITFIELD", BITMAP_KEY.decode(), "INCRBY", "u1", BIT, "1"), prepare_bitmap),
    "getbit_1mb": (("GETBIT", BITMAP_KEY.decode(), BIT), prepare_bitmap),
    "bitcount_1mb": (("BITCOUNT", BITMAP_KEY.decode()), prepare_bitmap),
    "bitcount_1k": (("BITCOUNT", BITMAP_KEY.decode(), "0", "1023"), prepare_bitmap),
    # one new random element per request into an HLL that starts empty (sparse, then dense)
    "pfadd": (("PFADD", HLL_KEYS[0].decode(), "element:__rand_int__"), None),
    # the cardinality is cached in the HLL after the first PFCOUNT (on both servers)
    "pfcount": (("PFCOUNT", HLL_KEYS[0].decode()), prepare_hll),
    # the union of two dense HLLs is computed anew each time (16384 registers each)
    "pfcount_2": (("PFCOUNT", *(k.decode() for k in HLL_KEYS)), prepare_hll),
    # a random member at a random place in [0, 10) x [0, 10); mygeo grows by ~-n members
    "geoadd": (("GEOADD", "mygeo", _RAND_COORD, _RAND_COORD, "m:__rand_int__"), None),
    "geosearch_100k": (("GEOSEARCH", GEO_KEY.decode(), "FROMLONLAT", _RAND_COORD, _RAND_COORD,
                        "BYRADIUS", GEO_RADIUS_KM, "km", "ASC", "COUNT", "10"), prepare_geo),
}


# --------------------------------------------------------------------------- measuring


@dataclass
class Run:
    """One redis-benchmark run against one server."""

    rps: float | None
    cpu_us_per_op: dict[str, float] = field(default_factory=dict)
    error: str = ""


def cpu_delta(before: dict[str, dict[int, int]], after: dict[str, dict[int, int]]) -> dict[str, int]:
    """Ticks used per kind between two snapshots; a pid born in between counts from zero."""
    return {kind: sum(t - before.get(kind, {}).get(pid, 0) for pid, t in pids.items())
            for kind, pids in after.items()}


@dataclass(frozen=True)
class BenchTest:
    """How one test runs: the redis-benchmark arguments measured, its CSV row, an unmeasured fill."""

    name: str
    args: tuple[str, ...]
    row: str
    fill: tuple[str, ...] = ()
    prepare: Callable[[int], None] | None = None  # called with the server's port before the fill


def bench_test(name: str) -> BenchTest:
    """The plan for a -t test name.

    `-t lrange_N` makes redis-benchmark first LPUSH as many VXK into mylist as it then sends
    LRANGE mylist 0 N-1, all in one invocation, so its CPU figures would mix both. Here that LPUSH
    runs first as its own unmeasured `-t lpush` (the same command, as many requests, at -P 16), and
    the LRANGE is measured alone as the custom command `LRANGE mylist 0 N-1`.
    """
    if name in DATA_TESTS:
        args, prepare = DATA_TESTS[name]
        return BenchTest(name, args, " ".join(args), prepare=prepare)
    if name in STREAM_TESTS:
        args, fill = STREAM_TESTS[name]
        return BenchTest(name, args, " ".join(args), fill=fill)
    if name in SCRIPT_TESTS:
        keys = SCRIPT_TESTS[name]
        return BenchTest(name, ("EVALSHA", SCRIPT_SHA, "2", *keys),
                         f"EVALSHA {SCRIPT_SHA} 2 {' '.join(keys)}",
                         fill=("-n", "1", "SCRIPT", "LOAD", SCRIPT))
    if name.startswith("lrange_"):
        last = f"{int(name.removeprefix('lrange_')) - 1}"
        return BenchTest(name, ("LRANGE", "mylist", "0", last), f"LRANGE mylist 0 {last}",
                         fill=("-t", "lpush", "-P", "16"))
    return BenchTest(name, ("-t", name), name)


def parse_csv(out: str, row_name: str) -> float | None:
    """The rps of a row from redis-benchmark --csv output ("MSET (10 keys)" is the row of mset)."""
    want = row_name.lower()
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test" and want in (row[0].lower(), row[0].split(" (")[0].lower()):
            return float(row[1])
    return None


def bench_error(res: subprocess.CompletedProcess) -> str:
    """The server's error from a failed redis-benchmark run, or its exit status."""
    lines = [ln for ln in (res.stderr + res.stdout).splitlines() if "rror" in ln] or [
        f"redis-benchmark exited {res.returncode}"]
    # "Error from server: ERR unknown command 'INCR', with args beginning with: ..." -> the error.
    return lines[0].strip().removeprefix("Error from server: ").split(", with args beginning")[0][:120]


def benchmark(server: Server, name: str, pipeline: int, requests: int) -> Run:
    """Run one redis-benchmark test on server and measure every process's CPU."""
    test = bench_test(name)
    base = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c", str(CLIENTS),
            "-r", str(KEYSPACE), "-n", str(requests), "--csv", *BENCH_THREADS]
    timeout = max(300, requests / 500)
    try:
        if test.prepare:
            test.prepare(server.port)
        if test.fill:
            res = subprocess.run(base + list(test.fill), capture_output=True, text=True,
                                 stdin=subprocess.DEVNULL, timeout=timeout)
            if res.returncode != 0:
                return Run(None, error="fill: " + bench_error(res))
        before = server.snapshot()
        # Options before a custom command's words: redis-benchmark takes the first non-option as the command.
        res = subprocess.run(base + ["-P", str(pipeline)] + list(test.args), capture_output=True,
                             text=True, stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return Run(None, error="redis-benchmark timed out")
    except (OSError, RuntimeError) as e:
        return Run(None, error=f"fill: {e}"[:120])
    after = server.snapshot()
    rps = parse_csv(res.stdout, test.row)
    if res.returncode != 0 or rps is None:
        return Run(None, error=bench_error(res))
    per_op = {kind: ticks / CLK_TCK * 1e6 / requests for kind, ticks in cpu_delta(before, after).items()}
    return Run(rps, per_op)


def flush(server: Server) -> None:
    reply = command(server.port, b"FLUSHALL")
    if reply != b"+OK":
        raise RuntimeError(f"FLUSHALL on {server.label} answered {reply!r}")


def run_server(server: Server, tests: list[str], pipelines: list[int], requests: int,
               rep: int, results: dict) -> None:
    """Every test x pipeline on one server; results[(label, test, P)] collects one Run per repeat."""
    for p in pipelines:
        # Flushed once per pipeline: the tests then run in -t order as separate invocations, so GET
        # reads what SET wrote and RPOP pops what LPUSH pushed, exactly as one `-t set,get,...` run
        # would, with CPU per test.
        flush(server)
        for test in tests:
            run = benchmark(server, test, p, requests)
            results.setdefault((server.label, test, p), []).append(run)
            shown = f"{run.rps:>10,.0f} rps" if run.rps else f"failed: {run.error}"
            cpu = "  ".join(f"{k} {v:.1f}" for k, v in sorted(run.cpu_us_per_op.items()) if v)
            print(f"  [repeat {rep}] {server.label:<17} {test.upper():<10} P{p:<3} {shown}"
                  + (f"   CPU us/op: {cpu}" if cpu else ""), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- reporting


def median(xs: list[float]) -> float | None:
    return statistics.median(xs) if xs else None


def median_cpu(runs: list[Run], kinds: tuple[str, ...]) -> float | None:
    """Median over repeats of the summed CPU us/op of the given process kinds."""
    return median([sum(r.cpu_us_per_op.get(k, 0.0) for k in kinds) for r in runs if r.rps])


def fmt(v: float | None, spec: str) -> str:
    return "—" if v is None else format(v, spec)


def table(results: dict, tests: list[str], pipelines: list[int],
          durabilities: list[str], builds: list[str] | None = None) -> tuple[str, list[str]]:
    """The Markdown table of medians, and the errors seen (as footnotes). With ``builds``
    (--build), a row per build, each beside the same redis-server runs."""
    builds = builds or [""]
    head = ("| test | P | fsync |" + (" build |" if builds != [""] else "")
            + " redis rps | shardis rps | shardis/redis | ratio min–max "
            "| redis CPU us/op | router us/op | shards us/op | coord+sup us/op | shardis CPU us/op |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    errors: list[str] = []
    for test, p, d, b in ((t, p, d, b) for t in tests for p in pipelines for d in durabilities
                          for b in builds):
        red = results.get((f"redis-{d}", test, p), [])
        sh = results.get((shardis_label(b, d), test, p), [])
        r_rps = median([r.rps for r in red if r.rps])
        s_rps = median([r.rps for r in sh if r.rps])
        ratio = s_rps / r_rps if r_rps and s_rps else None
        pairs = [y.rps / x.rps for x, y in zip(red, sh) if x.rps and y.rps]
        spread = f"{min(pairs):.2f}–{max(pairs):.2f}" if len(pairs) > 1 else "—"
        for label, runs in ((f"redis-{d}", red), (shardis_label(b, d), sh)):
            for r in runs:
                note = f"{label} {test.upper()} P{p}: {r.error}"
                if r.error and note not in errors:
                    errors.append(note)
        lines.append(
            f"| {test.upper()} | {p} | {d} |" + (f" {b} |" if b else "")
            + f" {fmt(r_rps, ',.0f')} | {fmt(s_rps, ',.0f')} "
            f"| {fmt(ratio, '.2f')} | {spread} | {fmt(median_cpu(red, ('redis',)), '.2f')} "
            f"| {fmt(median_cpu(sh, ('router',)), '.2f')} | {fmt(median_cpu(sh, ('shard',)), '.2f')} "
            f"| {fmt(median_cpu(sh, OTHER_KINDS), '.2f')} "
            f"| {fmt(median_cpu(sh, ('router', 'shard') + OTHER_KINDS), '.2f')} |")
    return "\n".join(lines), errors


def sh_out(argv: list[str]) -> str:
    """stdout of a small command, or "?" when it cannot run."""
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd=ROOT)
        return res.stdout.strip() or "?"
    except (OSError, subprocess.SubprocessError):
        return "?"


def cpu_model() -> str:
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def filesystem_of(path: str) -> str:
    """The mount type holding path (fsync costs nothing on tmpfs, so it matters)."""
    best, kind = "", "?"
    with contextlib.suppress(OSError), open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            mnt = parts[1]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
                best, kind = mnt, f"{parts[2]} ({parts[0]} on {mnt})"
    return kind


def machine_info(args: argparse.Namespace, tmp: str, load_before: tuple, load_after: tuple) -> list[str]:
    """The bullet lines that say where and how the numbers were taken."""
    commit = sh_out(["git", "rev-parse", "--short", "HEAD"])
    changed = sh_out(["git", "status", "--porcelain", "--untracked-files=no"])
    dirty = " (with uncommitted changes)" if changed not in ("", "?") else ""
    return [
        f"- command: `python bench/run.py {shlex.join(sys.argv[1:])}`",
        f"- machine: {os.cpu_count()} CPUs (nproc {sh_out(['nproc'])}), {cpu_model()}, "
        f"Linux {platform.release()}, Python {platform.python_version()}",
        f"- shardis: {args.shards} shards, {args.routers} router(s), commit {commit}{dirty}"
        + ("; builds: " + ", ".join(f"{b} = `{py} -m shardis.supervisor`" for b, py in args.build)
           if getattr(args, "build", None) else ""),  # (growth.py's arguments have no --build)
        f"- {sh_out([RedisServer.binary, '--version'])}; {sh_out(['redis-benchmark', '--version'])}",
        f"- redis-benchmark -c {CLIENTS} -r {KEYSPACE} -n {args.requests} {' '.join(BENCH_THREADS)}"
        f"; medians of {args.repeats} interleaved repeat(s); data on {filesystem_of(tmp)}"
        + (f"; redis-server with io-threads {RedisServer.io_threads}" if RedisServer.io_threads > 1 else ""),
        f"- load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)",
    ]


def write_results(path: str, section: str) -> None:
    """Prepend section to the results file; older results stay below."""
    intro = (f"{RESULTS_TITLE}\n\nWritten by `python bench/run.py` (see bench/README.md); "
             "newest first. Ratios compare shardis with redis-server measured in the same run.\n")
    old = ""
    with contextlib.suppress(FileNotFoundError), open(path) as f:
        old = f.read()
    i = old.find("\n## ")
    rest = old[i + 1:] if i >= 0 else ""
    with open(path, "w") as f:
        f.write(intro + "\n" + section.rstrip("\n") + "\n" + ("\n" + rest if rest else ""))


# --------------------------------------------------------------------------- profiling


def top_from_raw(raw_path: str, expected: int) -> str:
    """Self and inclusive sample counts per function from py-spy's raw (collapsed stack) output."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    with open(raw_path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack or not n.isdigit():
                continue
            frames = [re.sub(r":\d+\)$", ")", fr) for fr in stack.split(";")]
            total += int(n)
            self_c[frames[-1]] += int(n)
            for fr in set(frames):
                incl[fr] += int(n)
    busy = 100 * total / max(expected, 1)
    out = [f"{total} non-idle samples of ~{expected} expected (busy ~{busy:.0f}%)", ""]
    for title, counter in (("self", self_c), ("inclusive", incl)):
        out.append(f"top 30 by {title} samples:")
        out += [f"{c:>7} {100 * c / max(total, 1):5.1f}%  {fr}" for fr, c in counter.most_common(30)]
        out.append("")
    return "\n".join(out)


def profile(args: argparse.Namespace, tmp: str) -> None:
    """py-spy flame graphs and top tables of router-0, shard-0 and the coordinator under
    -P 16 load of the first of --tests (SET by default)."""
    if not shutil.which("py-spy"):
        print("--profile: py-spy is not installed (pip install py-spy); skipped", file=sys.stderr)
        return
    out = os.path.join(HERE, "out")
    os.makedirs(out, exist_ok=True)
    secs = args.profile_seconds
    test = args.tests[0] if args.tests else "set"
    server = ShardisServer("everysec", os.path.join(tmp, "profile"), args.shards, args.routers)
    with running(server):
        load = subprocess.Popen(["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c",
                                 str(CLIENTS), "-r", str(KEYSPACE), "-t", test, "-P", "16", "-l", "-q"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)
        try:
            time.sleep(1.0)
            pids = server.pids()
            targets = {"router": pids["router"][0], "shard": sorted(pids["shard"])[0]}
            if pids.get("coordinator"):
                targets["coordinator"] = pids["coordinator"][0]
            for fmt_, suffix in (("flamegraph", ".svg"), ("raw", ".raw.txt")):
                spies = [subprocess.Popen(["py-spy", "record", "--pid", str(pid), "--duration", str(secs),
                                           "--format", fmt_, "-o", os.path.join(out, name + suffix)],
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                         for name, pid in targets.items()]
                for spy in spies:
                    _, err = spy.communicate(timeout=secs + 60)
                    if spy.returncode != 0:
                        print(f"py-spy failed: {err.decode(errors='replace')[-500:]}", file=sys.stderr)
                        return
            for name, pid in targets.items():
                with open(os.path.join(out, name + "-dump.txt"), "w") as f:
                    f.write(sh_out(["py-spy", "dump", "--pid", str(pid)]) + "\n")
                with open(os.path.join(out, name + "-top.txt"), "w") as f:
                    f.write(f"py-spy record --pid {pid} ({name}) for {secs}s under redis-benchmark "
                            f"-t {test} -P 16 -c {CLIENTS}\n")
                    f.write(top_from_raw(os.path.join(out, name + ".raw.txt"), secs * 100) + "\n")
        finally:
            load.terminate()
            load.wait()
    print(f"profiles written to {out}: router.svg shard.svg *-top.txt *-dump.txt *.raw.txt", file=sys.stderr)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from shardis import autolayout  # the layout shardis-server's "auto" picks here

    cores = autolayout.usable_cores()

    ap = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0])
    ap.add_argument("--shards", type=int, default=autolayout.auto_shards(cores),
                    help="shard daemons (default: as shards = \"auto\" here, %(default)s)")
    ap.add_argument("--routers", type=int, default=autolayout.auto_routers(cores),
                    help="router processes (default: as routers = \"auto\" here, %(default)s)")
    ap.add_argument("--repeats", type=int, help="interleaved repeats (default 3; --quick: 1)")
    ap.add_argument("--requests", type=int,
                    help="requests per redis-benchmark run (default 200000; --quick: 20000)")
    ap.add_argument("--quick", action="store_true",
                    help="a short smoke run (20000 requests, 1 repeat), not written to RESULTS.md")
    ap.add_argument("--tests", default=",".join(TESTS),
                    help="comma-separated redis-benchmark test names, run in this order (default "
                         "%(default)s; any of " + ",".join(KNOWN_TESTS) + "; and "
                         + ",".join([*SCRIPT_TESTS, *STREAM_TESTS, *DATA_TESTS]) + ", see README)")
    ap.add_argument("--pipelines", default=",".join(map(str, PIPELINES)), help="default %(default)s")
    ap.add_argument("--durabilities", default=",".join(DURABILITIES), help="default %(default)s")
    ap.add_argument("--build", action="append", metavar="NAME=PYTHON",
                    help="run shardis as PYTHON -m shardis.supervisor, named NAME in the table "
                         "(repeat it to compare installs in the same run, e.g. pure=python3 "
                         "compiled=/tmp/venv/bin/python; default: shardis-server)")
    ap.add_argument("--results", help="file to prepend the table to (default bench/RESULTS.md; "
                                      "--quick writes only when this is given)")
    ap.add_argument("--clients", type=int, default=CLIENTS,
                    help="redis-benchmark connections (default %(default)s)")
    ap.add_argument("--bench-threads", type=int, default=0,
                    help="redis-benchmark --threads N (default: none, one thread)")
    ap.add_argument("--redis-io-threads", type=int, default=0,
                    help="run the reference redis-server with io-threads N (reads too)")
    ap.add_argument("--tmpdir", help="where servers keep their data (default: the system temp dir)")
    ap.add_argument("--profile", action="store_true",
                    help="also run py-spy on router-0 and shard-0 under SET -P 16; output in bench/out/")
    ap.add_argument("--profile-only", action="store_true", help="only the --profile part")
    ap.add_argument("--profile-seconds", type=int, default=10, help="py-spy duration (default %(default)s)")
    a = ap.parse_args(argv)
    a.repeats = a.repeats or (1 if a.quick else 3)
    a.requests = a.requests or (20000 if a.quick else 200000)
    a.tests = [t.strip().lower() for t in a.tests.split(",") if t.strip()]
    known = [*KNOWN_TESTS, *SCRIPT_TESTS, *STREAM_TESTS, *DATA_TESTS]
    unknown = [t for t in a.tests if t not in known]
    if unknown:
        ap.error(f"unknown test(s) {','.join(unknown)}; known: {','.join(known)}")
    a.pipelines = [int(p) for p in a.pipelines.split(",") if p.strip()]
    a.durabilities = [d.strip() for d in a.durabilities.split(",") if d.strip()]
    if a.build:
        a.build = [tuple(b.split("=", 1)) for b in a.build]
        if any(len(b) != 2 or not b[0] for b in a.build):
            ap.error("--build takes NAME=PYTHON")
    if a.results is None and not a.quick:
        a.results = os.path.join(HERE, "RESULTS.md")
    globals()["CLIENTS"] = a.clients  # (the default above is this module's CLIENTS)
    BENCH_THREADS[:] = ["--threads", str(a.bench_threads)] if a.bench_threads > 0 else []
    RedisServer.io_threads = a.redis_io_threads
    return a


def check_tools() -> None:
    """Fail early, with a clear message, when a needed program is missing."""
    if not os.path.exists(RedisServer.binary):
        RedisServer.binary = shutil.which("redis-server") or RedisServer.binary
    for exe in (RedisServer.binary, "redis-benchmark"):
        if not shutil.which(exe):
            sys.exit(f"bench/run.py: {exe} not found (apt-get install redis-server redis-tools)")
    version = sh_out([RedisServer.binary, "--version"])
    if " v=7.0." not in version:
        print(f"warning: the reference should be redis-server 7.0, found: {version}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools()
    load_before = os.getloadavg()
    if load_before[0] > 1.5:
        print(f"warning: load average {load_before[0]:.2f}: other work will skew the numbers",
              file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="shardis-bench-", dir=args.tmpdir)
    try:
        if not args.profile_only:
            results: dict = {}
            started = time.monotonic()
            for rep in range(1, args.repeats + 1):
                for d in args.durabilities:
                    builds = [ShardisServer(d, os.path.join(tmp, f"shardis-{b or 'x'}-{d}-{rep}"),
                                            args.shards, args.routers, b, py)
                              for b, py in (args.build or [("", None)])]
                    # (the builds take turns going first, repeat by repeat)
                    turn = (rep - 1) % len(builds)
                    for server in [RedisServer(d, os.path.join(tmp, f"redis-{d}-{rep}"))] + \
                            builds[turn:] + builds[:turn]:
                        with running(server):
                            run_server(server, args.tests, args.pipelines, args.requests, rep, results)
                        shutil.rmtree(server.tmp, ignore_errors=True)
            body, errors = table(results, args.tests, args.pipelines, args.durabilities,
                                 [b for b, _ in args.build] if args.build else None)
            now = datetime.datetime.now(datetime.timezone.utc)
            heading = (f"## {now:%Y-%m-%d %H:%M} UTC — {args.shards} shards, {args.routers} "
                       f"router{'s' if args.routers != 1 else ''}" + (" (quick)" if args.quick else ""))
            info = machine_info(args, tmp, load_before, os.getloadavg())
            info.append(f"- took {time.monotonic() - started:.0f}s")
            notes = (["Failed runs (shown as —):", ""] + [f"- {e}" for e in errors]) if errors else []
            section = "\n".join([heading, "", *info, "", body, "", *notes]).rstrip() + "\n"
            print("\n" + section)
            if args.results:
                write_results(args.results, section)
                print(f"written to {os.path.relpath(args.results)}", file=sys.stderr)
        if args.profile or args.profile_only:
            profile(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
