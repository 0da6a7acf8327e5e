#!/usr/bin/env python3
"""Which layout (shards + routers) serves best on this machine, beside redis-server.

For each repeat, in turn: redis-server (appendfsync everysec), then shardis in every
layout given (durability everysec), each fresh; on each, redis-benchmark SET then GET
(-c 50, random keys over 1M, -P 16 by default) with the CPU time of every process.
Prints, per layout, the medians of shardis/redis throughput and of shardis' CPU per
command, all processes together; this is what ``shards = "auto"`` and
``routers = "auto"`` (shardis/autolayout.py) were chosen from.

    python bench/layout.py                               # 1+1 2+1 1+2 2+2 3+1 4+2 8+4
    python bench/layout.py --layouts 1+1,2+1 --repeats 5 --write
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from run import (RedisServer, ShardisServer, check_tools, fmt, median, median_cpu,  # noqa: E402
                 run_server, write_results)

LAYOUTS = "1+1,2+1,1+2,2+2,3+1,4+2,8+4"
SHARDIS_KINDS = ("router", "shard", "coordinator", "supervisor", "other")


def parse_layouts(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        s, r = part.strip().split("+")
        out.append((int(s), int(r)))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layouts", default=LAYOUTS, help="shards+routers, comma-separated (%(default)s)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--requests", type=int, default=200000)
    ap.add_argument("--pipeline", type=int, default=16)
    ap.add_argument("--write", action="store_true", help="prepend the table to bench/RESULTS.md")
    a = ap.parse_args()
    check_tools()
    layouts = parse_layouts(a.layouts)
    tests = ["set", "get"]
    results: dict = {}
    tmp = tempfile.mkdtemp(prefix="shardis-layout-")
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    try:
        for rep in range(1, a.repeats + 1):
            servers = [RedisServer("everysec", os.path.join(tmp, f"redis-{rep}"))]
            for s, r in layouts:
                srv = ShardisServer("everysec", os.path.join(tmp, f"shardis-{s}-{r}-{rep}"), s, r)
                srv.label_override = f"{s}+{r}"
                servers.append(srv)
            for srv in servers:
                label = getattr(srv, "label_override", "redis")
                srv.start()
                try:
                    sub: dict = {}
                    run_server(srv, tests, [a.pipeline], a.requests, rep, sub)
                    for (_, test, _p), runs in sub.items():
                        results.setdefault((label, test), []).extend(runs)
                finally:
                    srv.stop()
                    shutil.rmtree(srv.tmp, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows = ["| shards + routers | SET ratio | GET ratio | CPU µs/SET | CPU µs/GET "
            "| of which routers (SET / GET) | shards (SET / GET) |",
            "|---|---|---|---|---|---|---|"]
    ref = {t: median([r.rps for r in results[("redis", t)] if r.rps]) for t in tests}
    ref_cpu = {t: median_cpu(results[("redis", t)], ("redis",)) for t in tests}
    rows.append(f"| redis-server | 1.00 ({fmt(ref['set'], ',.0f')} rps) | "
                f"1.00 ({fmt(ref['get'], ',.0f')} rps) "
                f"| {fmt(ref_cpu['set'], '.2f')} | {fmt(ref_cpu['get'], '.2f')} | | |")
    for s, r in layouts:
        label = f"{s}+{r}"
        cells = []
        for t in tests:
            runs = results[(label, t)]
            # Ratios per repeat against the same repeat's redis, then the median.
            ratios = [x.rps / y.rps for x, y in zip(runs, results[("redis", t)]) if x.rps and y.rps]
            cells.append(fmt(median(ratios), ".2f"))
        cpus = [fmt(median_cpu(results[(label, t)], SHARDIS_KINDS), ".2f") for t in tests]
        parts = [" / ".join(fmt(median_cpu(results[(label, t)], (kind,)), ".2f") for t in tests)
                 for kind in ("router", "shard")]
        rows.append(f"| {label} | {cells[0]} | {cells[1]} | {cpus[0]} | {cpus[1]} | {parts[0]} "
                    f"| {parts[1]} |")
    table = "\n".join(rows)
    cores = len(os.sched_getaffinity(0))
    cmd = "python bench/layout.py " + " ".join(x for x in sys.argv[1:] if x != "--write")
    text = (f"## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC — layouts on "
            f"{cores} cores\n\n- command: `{cmd.strip()}`\n- machine: {cores} usable cores, "
            f"{platform.processor() or platform.machine()}, Python {platform.python_version()}\n"
            f"- redis-benchmark -c 50 -r 1000000 -n {a.requests} -P {a.pipeline}, SET then GET; everysec; "
            f"medians of {a.repeats} repeats, redis-server run before the layouts in each\n"
            f"- load average before {load_before:.2f}; took {time.monotonic() - started:.0f}s\n\n{table}\n")
    print(text)
    if a.write:
        write_results(os.path.join(HERE, "RESULTS.md"), text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
