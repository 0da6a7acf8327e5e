#!/usr/bin/env python3
"""A cost model of shardis, measured here, that projects throughput on C cores (issue 16).

For each layout of a grid (shards+routers), at a fixed offered load (redis-benchmark -c, -P,
-n, random keys -r), SET then GET at each pipeline depth: the CPU seconds of every process
kind (from /proc, bench/run.py's helpers), the commands handled, and the ZeroMQ messages
between routers and shards (a message here is one router -> shard batch and its reply, counted
by the routers: /metrics' ``shardis_batch_duration_seconds_count``), and redis-benchmark's own
CPU (its rusage). From them:

- per kind (router, shard): CPU per command = a + b / cpm (+ c / pipeline for the router,
  whose client round trips cost the same however many commands they carry), cpm: commands per
  message; least squares of the relative residual over the grid, per test (a: per-command
  cost, b: per-message cost, c: per client round trip); the coordinator and supervisor, off
  the per-command path, as CPU seconds per second of wall time;
- commands per message = k (clients * pipeline)**alpha shards**beta routers**gamma, least
  squares in log space, clamped to [1, max(1, u)], u = clients * pipeline / (routers *
  shards) (the most a message can carry: every client's pipeline in one loop turn);
- throughput of S shards and R routers on C cores, the load generator's cores set aside:
  the least of R / router CPU per command (one process uses at most one core),
  S / shard CPU per command, and (cores left) / (all kinds' CPU per command).

It validates the projection where this machine can (1+1, 2+1 on its own cores, the load
generator's measured CPU on the same cores) and prints the projection for larger machines.

    python bench/model.py --write --save /tmp/model.json   # the grid, 3 repeats (~10-12 min on 2 cores)
    python bench/model.py --quick              # 1 repeat, fewer requests, not written
    python bench/model.py --repeats 5 --requests 500000 --write   # a longer run
    python bench/model.py --load /tmp/model.json   # refit and project a saved run, measuring nothing
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (CLK_TCK, KEYSPACE, ShardisServer, check_tools, command, cpu_delta,  # noqa: E402
                 free_port, running, sh_out)
from layout import parse_layouts  # noqa: E402  ("S+R,S+R": bench/layout.py's)

GRID = "1+1,2+1,1+2,2+2,4+2"
VALIDATE = "1+1,2+1"
TESTS = ("set", "get")
PIPELINES = "16,1"
CORES = (2, 4, 8, 16, 32)
PROJECT_LAYOUTS = "1+1,2+1,4+2,6+2,8+4,12+4,16+8"
KINDS = ("router", "shard")              # on the per-command path: fitted a + b / cpm
BACKGROUND = ("coordinator", "supervisor", "other")  # off it: CPU per second of wall time


# --------------------------------------------------------------------------- the model (pure)


class Cost(NamedTuple):
    """CPU microseconds per command of one process kind: a + b / cpm + c / pipeline.

    a: per command; b: per router -> shard message (cpm: commands per message); c: per client
    round trip (a read and a write on the client's connection carry ``pipeline`` commands;
    only the router talks to clients, so a shard's c is 0)."""

    a: float
    b: float
    c: float = 0.0

    def us(self, cpm: float, pipeline: float = 1.0) -> float:
        return self.a + self.b / cpm + self.c / pipeline


class CpmModel(NamedTuple):
    """Commands per message = k * (clients * pipeline)**alpha * shards**beta * routers**gamma,
    clamped to [1, max(1, u)] (u: ``load_per_message``, the most a message can carry)."""

    k: float
    alpha: float  # of the commands in flight
    beta: float   # of the shards (each router's batch is split once per shard)
    gamma: float  # of the routers (each has fewer clients, and each shard hears from each)

    def predict(self, shards: int, routers: int, clients: int, pipeline: int) -> float:
        u = load_per_message(shards, routers, clients, pipeline)
        cpm = self.k * float((clients * pipeline) ** self.alpha * shards ** self.beta
                             * routers ** self.gamma)
        return min(max(cpm, 1.0), max(u, 1.0))


def load_per_message(shards: int, routers: int, clients: int, pipeline: int) -> float:
    """The commands one router -> shard message would carry if every client's whole pipeline
    reached its router in the same loop turn (clients spread evenly over routers, keys over shards)."""
    return clients * pipeline / (routers * shards)


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the straight line through (xs, ys) by least squares; with one
    distinct x, the line through the mean with slope 0."""
    n = len(xs)
    if n == 0:
        raise ValueError("no points to fit")
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return my, 0.0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - slope * mx, slope


def weighted_least_squares(rows: list[list[float]], ys: list[float],
                           weights: list[float]) -> list[float]:
    """The coefficients x minimising sum(w * (row . x - y)**2): the normal equations, solved by
    Gaussian elimination with partial pivoting."""
    m = len(rows[0])
    ata = [[sum(w * r[i] * r[j] for r, w in zip(rows, weights)) for j in range(m)] for i in range(m)]
    aty = [sum(w * r[i] * y for r, y, w in zip(rows, ys, weights)) for i in range(m)]
    scale = max(abs(ata[i][i]) for i in range(m))
    for col in range(m):
        piv = max(range(col, m), key=lambda i: abs(ata[i][col]))
        if abs(ata[piv][col]) <= 1e-10 * scale:  # (a column that is a combination of the others)
            raise ValueError("the points do not determine the fit (too few distinct ones)")
        ata[col], ata[piv] = ata[piv], ata[col]
        aty[col], aty[piv] = aty[piv], aty[col]
        for i in range(col + 1, m):
            f = ata[i][col] / ata[col][col]
            for j in range(col, m):
                ata[i][j] -= f * ata[col][j]
            aty[i] -= f * aty[col]
    x = [0.0] * m
    for i in reversed(range(m)):
        x[i] = (aty[i] - sum(ata[i][j] * x[j] for j in range(i + 1, m))) / ata[i][i]
    return x


def fit_cost(points: Iterable[tuple[float, float, float]], per_round_trip: bool) -> Cost:
    """Cost from (commands per message, pipeline, CPU us per command) points of one test."""
    return fit_costs([("", cpm, p, y) for cpm, p, y in points], per_round_trip)[""]


def fit_costs(points: Iterable[tuple[str, float, float, float]],
              per_round_trip: bool) -> dict[str, Cost]:
    """Per test, Cost from (test, commands per message, pipeline, CPU us per command) points:
    a of its own per test, b (and with ``per_round_trip`` the c / pipeline term) shared by all
    tests (a message or a client round trip costs the same whatever the commands in it).
    Least squares of the relative residual (weights 1 / y**2: the -P 16 points, a few us,
    count as much as the -P 1 ones, tens of us)."""
    pts = list(points)
    tests = sorted({t for t, *_ in pts})
    rows = [[1.0 if t == u else 0.0 for u in tests] + [1.0 / cpm] + ([1.0 / p] if per_round_trip else [])
            for t, cpm, p, _ in pts]
    ys = [y for *_, y in pts]
    coef = weighted_least_squares(rows, ys, [1.0 / max(y, 1e-9) ** 2 for y in ys])
    shared = coef[len(tests):] + ([] if per_round_trip else [0.0])
    return {t: Cost(coef[i], *shared) for i, t in enumerate(tests)}


def fit_cpm(points: Iterable[tuple[int, int, int, int, float]]) -> CpmModel:
    """CpmModel from (shards, routers, clients, pipeline, measured commands per message):
    log cpm = log k + alpha log(clients * pipeline) + beta log shards + gamma log routers,
    least squares (the grid must vary all three: two -P depths, shards and routers)."""
    pts = list(points)
    rows = [[1.0, math.log(c * p), math.log(s), math.log(r)] for s, r, c, p, _ in pts]
    logk, alpha, beta, gamma = weighted_least_squares(rows, [math.log(x[-1]) for x in pts],
                                                      [1.0] * len(pts))
    return CpmModel(math.exp(logk), alpha, beta, gamma)


@dataclass
class Projection:
    """Projected commands per second of one layout, and what binds it."""

    shards: int
    routers: int
    cores: float            # cores the server may use (the load generator's set aside)
    cpm: float
    us: dict[str, float]    # CPU us per command per kind
    bounds: dict[str, float] = field(default_factory=dict)  # cmd/s each limit allows

    @property
    def rps(self) -> float:
        return min(self.bounds.values())

    @property
    def bound(self) -> str:
        return min(self.bounds, key=lambda k: self.bounds[k])


def project(costs: dict[str, Cost], cpm: float, pipeline: int, shards: int, routers: int,
            cores: float, background: float = 0.0, bench_us: float = 0.0,
            bench_threads: int = 0) -> Projection:
    """Throughput of ``shards`` + ``routers`` on ``cores`` cores.

    Each router / shard process uses at most one core (commands spread evenly), so
    rps <= n_kind * 1e6 / us_kind; all of them together share ``cores`` less ``background``
    (the coordinator's and supervisor's CPU seconds per second), with the load generator's
    ``bench_us`` per command on the same cores when it is not set aside (validation here);
    a load generator of ``bench_threads`` threads is itself bound by them."""
    us = {kind: cost.us(cpm, pipeline) for kind, cost in costs.items()}
    p = Projection(shards, routers, cores, cpm, us)
    per_core = {"router": routers, "shard": shards}
    for kind, n in per_core.items():
        if kind in us and us[kind] > 0:
            p.bounds[kind] = n * 1e6 / us[kind]
    total = sum(us.values()) + bench_us
    if total > 0:
        p.bounds["cores"] = max(cores - background, 0.0) * 1e6 / total
    if bench_us > 0 and bench_threads > 0:
        p.bounds["load generator"] = bench_threads * 1e6 / bench_us
    return p


def layouts_for(cores: float, most: int = 64) -> list[tuple[int, int]]:
    """Every shards+routers with one core each at most (s + r <= cores; at least 1 + 1)."""
    n = max(int(cores), 2)
    return [(s, r) for s in range(1, min(n, most) + 1) for r in range(1, min(n, most) + 1) if s + r <= n]


def best_layout(costs: dict[str, Cost], cpm_model: CpmModel, cores: float, clients: int,
                pipeline: int, background: float = 0.0, cpm: float | None = None) -> Projection:
    """The layout of ``layouts_for(cores)`` projected fastest (fewer processes on a tie);
    ``cpm``: every layout's messages carry that many commands (a what-if), not the model's,
    or as many as the clients have in flight to one shard through one router if fewer."""
    best: Projection | None = None
    for s, r in layouts_for(cores):
        if cpm is None:
            n = cpm_model.predict(s, r, clients, pipeline)
        else:
            n = min(cpm, max(load_per_message(s, r, clients, pipeline), 1.0))
        p = project(costs, n, pipeline, s, r, cores, background)
        if best is None or p.rps > best.rps * 1.0001:
            best = p
    assert best is not None
    return best


def bench_cores_for(cores: int, option: str) -> float:
    """Cores set aside for the load generator: a number, or "auto" (a quarter of them)."""
    return cores / 4 if option == "auto" else float(option)


# --------------------------------------------------------------------------- measuring


class MeteredShardis(ShardisServer):
    """shardis with /metrics on (the routers' count of messages to shards)."""

    def __init__(self, tmp: str, shards: int, routers: int) -> None:
        super().__init__("everysec", tmp, shards, routers, python=sys.executable)
        self.metrics_port = free_port()

    def argv(self) -> list[str]:
        return super().argv() + ["--metrics-port", str(self.metrics_port)]

    def counters(self) -> tuple[int, int]:
        """(commands the routers read, router -> shard messages answered), all routers."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=30) as f:
            text = f.read().decode()
        commands = messages = 0.0
        for line in text.splitlines():
            if line.startswith("shardis_commands_processed_total{"):
                commands += float(line.rsplit(" ", 1)[1])
            elif line.startswith("shardis_batch_duration_seconds_count{"):
                messages += float(line.rsplit(" ", 1)[1])
        return int(commands), int(messages)


@dataclass
class Sample:
    """One redis-benchmark run against one layout."""

    shards: int
    routers: int
    test: str
    pipeline: int
    clients: int
    requests: int
    rps: float
    wall: float                 # seconds redis-benchmark ran
    cpu: dict[str, float]       # CPU seconds per kind (router, shard, background, bench)
    commands: int               # commands the routers read
    messages: int               # router -> shard messages (each with its reply)
    others: float = 0.0         # CPU seconds of every other process on the machine meanwhile
    idle: float = 0.0           # CPU seconds no process used (idle + iowait, all cores)
    # context switches per kind, [voluntary, involuntary], and the load generator's
    switched: dict[str, list[int]] = field(default_factory=dict)
    bench_switched: list[int] = field(default_factory=list)

    @property
    def cpm(self) -> float:
        return self.commands / max(self.messages, 1)

    def us(self, kind: str) -> float:
        return self.cpu[kind] * 1e6 / self.requests


def machine_ticks() -> tuple[int, int]:
    """(busy, idle) clock ticks of all CPUs so far, from /proc/stat's first line (idle: idle +
    iowait; busy: the rest but guest time, which user time already counts)."""
    with open("/proc/stat") as f:
        cells = [int(x) for x in f.readline().split()[1:]]
    idle = cells[3] + cells[4]
    return sum(cells[:8]) - idle, idle


def switches(server: MeteredShardis) -> dict[str, list[int]]:
    """Per kind, [voluntary, involuntary] context switches so far of its processes' threads
    (/proc/PID/task/TID/status: a process' own status counts its main thread only)."""
    out: dict[str, list[int]] = {}
    for kind, pids in server.pids().items():
        kind = kind if kind in KINDS else "background"
        acc = out.setdefault(kind, [0, 0])
        for pid in pids:
            try:
                tids = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for tid in tids:
                try:
                    with open(f"/proc/{pid}/task/{tid}/status") as f:
                        for line in f:
                            if line.startswith("voluntary_ctxt_switches"):
                                acc[0] += int(line.split()[1])
                            elif line.startswith("nonvoluntary_ctxt_switches"):
                                acc[1] += int(line.split()[1])
                except OSError:
                    pass
    return out


def measure(server: MeteredShardis, test: str, pipeline: int, clients: int, requests: int,
            threads: int) -> Sample:
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port), "-c", str(clients),
            "-r", str(KEYSPACE), "-n", str(requests), "-P", str(pipeline), "-t", test, "--csv"]
    if threads:
        argv += ["--threads", str(threads)]
    cmd0, msg0 = server.counters()
    before = server.snapshot()
    sw0 = switches(server)
    machine0 = machine_ticks()
    t0 = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL)
    out = proc.stdout.read().decode() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    machine1 = machine_ticks()
    after = server.snapshot()
    sw1 = switches(server)
    cmd1, msg1 = server.counters()
    rps = None
    for line in out.splitlines():
        cells = [c.strip('"') for c in line.split(",")]
        if cells and cells[0].lower() == test:
            rps = float(cells[1])
    if proc.returncode != 0 or rps is None:
        raise RuntimeError(f"redis-benchmark {test} -P {pipeline} failed: {out[-300:]!r}")
    ticks = cpu_delta(before, after)
    cpu = {kind: ticks.get(kind, 0) / CLK_TCK for kind in KINDS}
    cpu["background"] = sum(ticks.get(kind, 0) for kind in BACKGROUND) / CLK_TCK
    cpu["bench"] = usage.ru_utime + usage.ru_stime
    busy = (machine1[0] - machine0[0]) / CLK_TCK  # every process on the machine
    idle = (machine1[1] - machine0[1]) / CLK_TCK
    # (the /metrics asks between the snapshots: a few ms of router and shard CPU, 2 messages)
    return Sample(server.shards, server.routers, test, pipeline, clients, requests, rps, wall, cpu,
                  cmd1 - cmd0, max(msg1 - msg0 - server.shards, 1),
                  max(busy - sum(cpu.values()), 0.0), idle,
                  {k: [v[0] - sw0.get(k, [0, 0])[0], v[1] - sw0.get(k, [0, 0])[1]] for k, v in sw1.items()},
                  [usage.ru_nvcsw, usage.ru_nivcsw])


def progress(x: Sample) -> str:
    """One run's figures, as the grid goes."""
    ours, others, idle = (v / x.wall for v in (sum(x.cpu.values()), x.others, x.idle))
    switched = " ".join(f"{k} {v[0] / x.requests:.3f},{v[1] / x.requests:.3f}"
                        for k, v in sorted(x.switched.items()))
    return (f"{x.shards}+{x.routers} {x.test.upper():<4} P{x.pipeline:<3} {x.rps:>10,.0f} rps "
            f"cpm {x.cpm:6.1f}  us/cmd router {x.us('router'):.2f} shard {x.us('shard'):.2f} "
            f"bg {x.us('background'):.2f} bench {x.us('bench'):.2f}  cores: ours {ours:.2f} "
            f"others {others:.2f} idle {idle:.2f}  switches/cmd (vol, invol) {switched}")


def run_grid(a: argparse.Namespace, tmp: str) -> list[Sample]:
    samples: list[Sample] = []
    layouts = parse_layouts(a.grid)
    for v in parse_layouts(a.validate):
        if v not in layouts:
            layouts.append(v)
    for rep in range(1, a.repeats + 1):
        order = layouts if rep % 2 else layouts[::-1]  # (interleaved: the order turns each repeat)
        for s, r in order:
            server = MeteredShardis(os.path.join(tmp, f"{s}-{r}-{rep}"), s, r)
            with running(server):
                for p in a.pipelines:
                    reply = command(server.port, b"FLUSHALL")
                    if reply != b"+OK":
                        raise RuntimeError(f"FLUSHALL answered {reply!r}")
                    for test in a.tests:
                        x = measure(server, test, p, a.clients, a.requests, a.bench_threads)
                        samples.append(x)
                        print(f"  [repeat {rep}] {progress(x)}", file=sys.stderr, flush=True)
            shutil.rmtree(server.tmp, ignore_errors=True)
    return samples


# --------------------------------------------------------------------------- reporting


def med(xs: list[float]) -> float:
    return statistics.median(xs)


class Point(NamedTuple):
    """The medians over repeats of one (layout, test, pipeline)."""

    shards: int
    routers: int
    test: str
    pipeline: int
    rps: float
    cpm: float
    us: dict[str, float]    # router, shard, background, bench
    busy: float             # CPU seconds per second, all processes with the load generator
    background_rate: float  # coordinator + supervisor CPU seconds per second
    others: float           # other processes' CPU seconds per second (the machine is shared)
    idle: float             # CPU seconds per second nobody used


def points_of(samples: list[Sample]) -> list[Point]:
    groups: dict[tuple[int, int, str, int], list[Sample]] = {}
    for x in samples:
        groups.setdefault((x.shards, x.routers, x.test, x.pipeline), []).append(x)
    out = []
    for (s, r, t, p), xs in groups.items():
        out.append(Point(s, r, t, p, med([x.rps for x in xs]), med([x.cpm for x in xs]),
                         {k: med([x.us(k) for x in xs]) for k in (*KINDS, "background", "bench")},
                         med([sum(x.cpu.values()) / x.wall for x in xs]),
                         med([x.cpu["background"] / x.wall for x in xs]),
                         med([x.others / x.wall for x in xs]), med([x.idle / x.wall for x in xs])))
    return out


def report(a: argparse.Namespace, samples: list[Sample], load: tuple[float, float],
           took: float, argv: list[str], commit: str) -> str:
    pts = points_of(samples)
    grid = parse_layouts(a.grid)
    fit_pts = [p for p in pts if (p.shards, p.routers) in grid]
    here = len(os.sched_getaffinity(0))
    lines: list[str] = []
    add = lines.append
    now = datetime.datetime.now(datetime.timezone.utc)
    add(f"## {now:%Y-%m-%d %H:%M} UTC — issue 16's cost model, measured (bench/model.py)")
    add("")
    add(f"- command: `python bench/model.py {shlex.join(argv)}`")
    add(f"- machine: {here} usable cores, {sh_out(['nproc'])} online; measured at commit {commit}; "
        "pure Python "
        f"({sys.executable} -m shardis.supervisor), durability everysec")
    add(f"- redis-benchmark -c {a.clients} -r {KEYSPACE} -n {a.requests} -t "
        f"{','.join(a.tests)} -P {','.join(map(str, a.pipelines))}"
        + (f" --threads {a.bench_threads}" if a.bench_threads else "")
        + f"; medians of {a.repeats} repeat(s), the layouts' order reversed every other repeat")
    add(f"- load average (1 min) before {load[0]:.2f}, after {load[1]:.2f} (other work on this "
        f"machine shares its cores); took {took:.0f}s")
    add("- a message: one router -> shard batch and its reply (the routers' count, /metrics' "
        "shardis_batch_duration_seconds_count); cpm: commands per message")
    add("")
    add("Measured (CPU µs per command; bg: coordinator + supervisor; ours: CPU seconds per second of "
        "shardis' processes and the load generator; others: of every other process on the machine):")
    add("")
    add("| layout | test | P | rps | cpm | router µs | shard µs | bg µs | redis-benchmark µs | "
        "router µs/msg | shard µs/msg | ours (cores) | others (cores) |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for p in sorted(pts, key=lambda p: (p.test != "set", -p.pipeline, p.shards + p.routers, p.shards)):
        add(f"| {p.shards}+{p.routers} | {p.test.upper()} | {p.pipeline} | {p.rps:,.0f} | {p.cpm:.1f} "
            f"| {p.us['router']:.2f} | {p.us['shard']:.2f} | {p.us['background']:.2f} "
            f"| {p.us['bench']:.2f} | {p.us['router'] * p.cpm:.0f} | {p.us['shard'] * p.cpm:.0f} "
            f"| {p.busy:.2f} | {p.others:.2f} |")
    # Fits.
    costs: dict[str, dict[str, Cost]] = {}   # the model used: the router's with c / P
    plain: dict[str, dict[str, Cost]] = {}   # a + b / cpm for every kind
    add("")
    add("Fitted over the grid "
        f"({a.grid}, both pipelines): CPU µs per command = a + b / cpm (+ c / P for the router, whose "
        "every client round trip, a read and a write carrying P commands, costs the same however "
        "many commands it carries); a per test, b and c shared by the tests; least squares of the "
        "relative residual; r² and the largest |residual| as a share of the measurement, per test:")
    add("")
    add("| test | kind | model | a (µs per command) | b (µs per message) | c (µs per client round trip) "
        "| r² | max residual |")
    add("|---|---|---|---|---|---|---|---|")
    for t in a.tests:
        costs[t], plain[t] = {}, {}
    for kind in KINDS:
        xy = [(p.test, p.cpm, float(p.pipeline), p.us[kind]) for p in fit_pts]
        fits = [("a + b/cpm", fit_costs(xy, False))]
        if kind == "router":
            fits.append(("a + b/cpm + c/P", fit_costs(xy, True)))
        for name, fit in fits:
            for t in a.tests:
                c = fit[t]
                if name == "a + b/cpm":
                    plain[t][kind] = c
                costs[t][kind] = c
                pts_t = [(cpm, pp, y) for tt, cpm, pp, y in xy if tt == t]
                res = [y - c.us(x, pp) for x, pp, y in pts_t]
                mean = sum(y for *_, y in pts_t) / len(pts_t)
                ss = sum((y - mean) ** 2 for *_, y in pts_t)
                r2 = 1 - sum(e * e for e in res) / ss if ss else 1.0
                rel = max(abs(e) / y for e, (*_, y) in zip(res, pts_t))
                add(f"| {t.upper()} | {kind} | {name} | {c.a:.2f} | {c.b:.1f} | {c.c:.2f} | {r2:.3f} "
                    f"| {rel:.0%} |")
    bg_rate = med([p.background_rate for p in fit_pts])
    bench_us = {(t, pp): med([p.us["bench"] for p in pts if p.test == t and p.pipeline == pp])
                for t in a.tests for pp in a.pipelines}
    cpm_model = fit_cpm([(p.shards, p.routers, a.clients, p.pipeline, p.cpm) for p in fit_pts])
    add("")
    add(f"Background (coordinator + supervisor): {bg_rate:.3f} CPU seconds per second (median), "
        "taken off the cores shared.")
    add("")
    add(f"Commands per message: cpm = {cpm_model.k:.3f} · (clients · P)^{cpm_model.alpha:.3f} · "
        f"shards^{cpm_model.beta:.3f} · routers^{cpm_model.gamma:.3f}, least squares of log cpm over "
        "the grid (both tests), clamped to [1, max(1, u)], u = clients · P / (routers · shards) the "
        "most a message can carry (every client's pipeline in one loop turn of its router):")
    add("")
    add("| layout | P | u | cpm measured (SET / GET) | cpm model |")
    add("|---|---|---|---|---|")
    for (s, r) in grid:
        for pp in a.pipelines:
            meas = " / ".join(f"{p.cpm:.1f}" for t in a.tests for p in fit_pts
                              if (p.shards, p.routers, p.test, p.pipeline) == (s, r, t, pp))
            add(f"| {s}+{r} | {pp} | {load_per_message(s, r, a.clients, pp):.1f} | {meas} "
                f"| {cpm_model.predict(s, r, a.clients, pp):.1f} |")
    # Validation.
    add("")
    add(f"Validation on this machine's {here} cores, redis-benchmark on the same cores (its own "
        "measured CPU per command added to the shared cores; one thread, so also bound by one "
        "core). Projected from the fitted constants and the cpm model, on all "
        f"{here} cores, then on the cores the other work on this machine (the lead's and other "
        "helpers' processes, measured from /proc/stat in the same interval) left: with the plain "
        "a + b/cpm for both kinds, then with the router's c/P term (the model used below); "
        "error = projected / measured - 1, per repeat (with that run's other work and load "
        "generator CPU), then medians. The last: the same arithmetic with the run's own "
        "measured cpm and CPU instead of the fits (what the bounds' arithmetic itself misses):")
    add("")
    add(f"| layout | test | P | measured rps | other work (cores) | idle (cores) | on {here} cores "
        f"| error | cores left, a + b/cpm | error | cores left, + c/P | bound by | error | no fit | error |")
    add("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    errors = []
    gen = max(a.bench_threads, 1)
    for s, r in parse_layouts(a.validate):
        for t in a.tests:
            for pp in a.pipelines:
                xs = [x for x in samples if (x.shards, x.routers, x.test, x.pipeline) == (s, r, t, pp)]
                if not xs:
                    continue
                cpm = cpm_model.predict(s, r, a.clients, pp)
                # Per repeat: that run's other work and load generator's CPU; then medians.
                rows: dict[str, list[float]] = {k: [] for k in (
                    "rps", "others", "idle", "whole", "simple", "proj", "exact",
                    "e_whole", "e_simple", "e_proj", "e_exact")}
                bounds = []
                for x in xs:
                    left = here - x.others / x.wall
                    bench = x.us("bench")
                    whole = project(costs[t], cpm, pp, s, r, here, bg_rate, bench, gen)
                    simple = project(plain[t], cpm, pp, s, r, left, bg_rate, bench, gen)
                    proj = project(costs[t], cpm, pp, s, r, left, bg_rate, bench, gen)
                    exact = project({k: Cost(x.us(k), 0.0) for k in KINDS}, x.cpm, pp, s, r, left,
                                    x.cpu["background"] / x.wall, bench, gen)
                    bounds.append(proj.bound)
                    for k, v in (("rps", x.rps), ("others", x.others / x.wall), ("idle", x.idle / x.wall),
                                 ("whole", whole.rps), ("simple", simple.rps), ("proj", proj.rps),
                                 ("exact", exact.rps)):
                        rows[k].append(v)
                        if k not in ("rps", "others", "idle"):
                            rows["e_" + k].append(v / x.rps - 1)
                m = {k: med(v) for k, v in rows.items()}
                errors.append(abs(m["e_proj"]))
                add(f"| {s}+{r} | {t.upper()} | {pp} | {m['rps']:,.0f} | {m['others']:.2f} | {m['idle']:.2f} "
                    f"| {m['whole']:,.0f} | {m['e_whole']:+.0%} | {m['simple']:,.0f} | {m['e_simple']:+.1%} "
                    f"| {m['proj']:,.0f} | {'/'.join(sorted(set(bounds)))} | {m['e_proj']:+.1%} "
                    f"| {m['exact']:,.0f} | {m['e_exact']:+.1%} |")
    if errors:
        add("")
        add(f"Largest |error| of the model used, on the cores left: {max(errors):.1%} (issue 16 asks "
            "for at most 15%).")
    # Projection.
    layouts = parse_layouts(a.project_layouts)
    for clients in a.project_clients:
        add("")
        add(f"Projection: P {a.project_pipeline}, {clients} clients, the load generator's cores set "
            f"aside (--bench-cores {a.bench_cores}), background {bg_rate:.2f} core; rps (what binds "
            "it: a kind's own cores, or all the cores shared); best: the fastest layout with one "
            "core per process at most:")
        for t in a.tests:
            add("")
            add(f"{t.upper()}, {clients} clients:")
            add("")
            add("| cores | " + " | ".join(f"{s}+{r}" for s, r in layouts) + " | best layout |")
            add("|---|" + "---|" * (len(layouts) + 1))
            for cores in a.cores:
                avail = cores - bench_cores_for(cores, a.bench_cores)
                cells = []
                for s, r in layouts:
                    if s + r > max(avail, 2):
                        cells.append("—")
                        continue
                    q = project(costs[t], cpm_model.predict(s, r, clients, a.project_pipeline),
                                a.project_pipeline, s, r, avail, bg_rate)
                    cells.append(f"{q.rps / 1000:,.0f}k ({q.bound})")
                b = best_layout(costs[t], cpm_model, avail, clients, a.project_pipeline, bg_rate)
                add(f"| {cores} ({avail:g} for shardis) | " + " | ".join(cells)
                    + f" | {b.shards}+{b.routers}: {b.rps / 1000:,.0f}k ({b.bound}) |")
    # What-if: the batching keeps 1+1's commands per message in every layout (issue 16's target).
    for clients in a.project_clients:
        held = cpm_model.predict(1, 1, clients, a.project_pipeline)
        add("")
        add(f"What if every layout's messages carried as many commands as 1+1's (cpm {held:.0f}, "
            f"{clients} clients, P {a.project_pipeline}; what issue 16's batching change aims at), or "
            "all the commands in flight between a router and a shard (clients · P / (routers · "
            "shards)) if fewer: the best layout per core count and its projected rps, today's "
            "model beside it:")
        add("")
        add("| cores | " + " | ".join(f"{t.upper()} today | {t.upper()} with 1+1's cpm"
                                     for t in a.tests) + " |")
        add("|---|" + "---|---|" * len(a.tests))
        for cores in a.cores:
            avail = cores - bench_cores_for(cores, a.bench_cores)
            cells = []
            for t in a.tests:
                for fixed in (None, held):
                    b = best_layout(costs[t], cpm_model, avail, clients, a.project_pipeline, bg_rate, fixed)
                    cells.append(f"{b.shards}+{b.routers}: {b.rps / 1000:,.0f}k")
            add(f"| {cores} | " + " | ".join(cells) + " |")
        add("")
    # How much of the growth of CPU per command with the layout the smaller messages explain.
    add("")
    add("Router + shard CPU µs per command, the largest layout of the grid against 1+1, same test "
        "and P: measured here, and what the model's smaller messages alone (its cpm and fitted "
        "constants) give; the rest is this machine (more processes than cores) or the fit:")
    add("")
    add("| test | P | layout | measured 1+1 | measured | ratio | model 1+1 | model | ratio |")
    add("|---|---|---|---|---|---|---|---|---|")
    big = max(grid, key=lambda x: (x[0] + x[1], x[0]))
    for t in a.tests:
        for pp in a.pipelines:
            one = [p for p in fit_pts if (p.shards, p.routers, p.test, p.pipeline) == (1, 1, t, pp)]
            far = [p for p in fit_pts if (p.shards, p.routers, p.test, p.pipeline) == (*big, t, pp)]
            if not one or not far:
                continue
            m1, m2 = (sum(x[0].us[k] for k in KINDS) for x in (one, far))
            f1, f2 = (sum(costs[t][k].us(cpm_model.predict(s, r, a.clients, pp), pp) for k in KINDS)
                      for s, r in ((1, 1), big))
            add(f"| {t.upper()} | {pp} | {big[0]}+{big[1]} | {m1:.2f} | {m2:.2f} | {m2 / m1:.2f}x "
                f"| {f1:.2f} | {f2:.2f} | {f2 / f1:.2f}x |")
    return "\n".join(lines).rstrip() + "\n"


def append_results(path: str, section: str) -> None:
    with open(path, "a") as f:
        f.write("\n" + section)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="bench/model.py", description=__doc__.splitlines()[0])
    ap.add_argument("--grid", default=GRID, help="layouts measured and fitted, shards+routers (%(default)s)")
    ap.add_argument("--validate", default=VALIDATE,
                    help="layouts whose projection is checked against their measurement (%(default)s)")
    ap.add_argument("--tests", default=",".join(TESTS), help="redis-benchmark -t tests (%(default)s)")
    ap.add_argument("--pipelines", default=PIPELINES, help="-P depths (%(default)s)")
    ap.add_argument("--clients", type=int, default=50, help="redis-benchmark -c (%(default)s)")
    ap.add_argument("--requests", type=int, help="redis-benchmark -n (default 300000; --quick 20000)")
    ap.add_argument("--repeats", type=int, help="repeats of the grid (default 3; --quick 1)")
    ap.add_argument("--bench-threads", type=int, default=0, help="redis-benchmark --threads (default none)")
    ap.add_argument("--cores", default=",".join(map(str, CORES)), help="projected for (%(default)s)")
    ap.add_argument("--bench-cores", default="auto",
                    help="cores set aside for the load generator in the projection: a number, or "
                         "auto (a quarter of the cores)")
    ap.add_argument("--project-layouts", default=PROJECT_LAYOUTS, help="%(default)s")
    ap.add_argument("--project-pipeline", type=int, default=16, help="-P of the projection (%(default)s)")
    ap.add_argument("--project-clients", default="50,200",
                    help="redis-benchmark -c of the projection, one table each (%(default)s); the cpm "
                         "model takes clients into u, an assumption: the grid varies only layout and -P")
    ap.add_argument("--quick", action="store_true", help="1 repeat of 20000 requests; not written")
    ap.add_argument("--write", action="store_true", help="append the section to bench/RESULTS.md")
    ap.add_argument("--save", metavar="FILE", help="also write the raw samples to FILE (JSON)")
    ap.add_argument("--load", metavar="FILE",
                    help="measure nothing: fit and project from samples --save wrote (the grid and "
                         "options must match that run's)")
    ap.add_argument("--tmpdir", help="where the servers keep their data (default: the system temp dir)")
    a = ap.parse_args(argv)
    a.repeats = a.repeats or (1 if a.quick else 3)
    a.requests = a.requests or (20000 if a.quick else 300000)
    a.tests = [t.strip().lower() for t in a.tests.split(",") if t.strip()]
    a.pipelines = [int(p) for p in a.pipelines.split(",") if p.strip()]
    a.cores = [int(c) for c in a.cores.split(",") if c.strip()]
    a.project_clients = [int(c) for c in a.project_clients.split(",") if c.strip()]
    # (the fits on made-up numbers of this grid's shape: refused now, not after the measuring)
    grid = [(s, r, a.clients, p) for s, r in parse_layouts(a.grid) for p in a.pipelines]
    try:
        fit_cpm([(s, r, c, p, load_per_message(s, r, c, p) ** 0.9) for s, r, c, p in grid])
        u = [load_per_message(s, r, c, p) for s, r, c, p in grid]
        fit_costs([(t, x, float(p), 1.0 + 1.0 / p + 50 / x) for t in a.tests
                   for x, (_, _, _, p) in zip(u, grid)], True)
    except ValueError:
        ap.error("the fits need a --grid whose shard and router counts vary independently (e.g. "
                 "1+1,2+1,1+2) and two --pipelines depths or more")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    check_tools()
    load0 = os.getloadavg()[0]
    if load0 > 1.5 and not a.load:
        print(f"warning: load average {load0:.2f}: other work will skew the numbers", file=sys.stderr)
    started = time.monotonic()
    if a.load:
        with open(a.load) as f:
            saved = json.load(f)
        samples = [Sample(**x) for x in saved["samples"]]
        load1, took = saved["load_after"], saved["took"]
        load0, argv = saved["load_before"], saved["argv"]
        commit = saved.get("commit", "?")
    else:
        tmp = tempfile.mkdtemp(prefix="shardis-model-", dir=a.tmpdir)
        try:
            samples = run_grid(a, tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        load1, took = os.getloadavg()[0], time.monotonic() - started
        argv = [x for x in sys.argv[1:] if x != "--write"]
        commit = sh_out(["git", "rev-parse", "--short", "HEAD"])
        if sh_out(["git", "status", "--porcelain", "--untracked-files=no"]) not in ("", "?"):
            commit += " (with uncommitted changes)"
        if a.save:
            with open(a.save, "w") as f:
                json.dump({"samples": [dataclasses.asdict(x) for x in samples], "load_before": load0,
                           "load_after": load1, "took": took, "argv": argv, "commit": commit}, f)
    section = report(a, samples, (load0, load1), took, argv, commit)
    print("\n" + section)
    if a.write and not a.quick:
        append_results(os.path.join(HERE, "RESULTS.md"), section)
        print("appended to bench/RESULTS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
