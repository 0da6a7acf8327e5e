#!/usr/bin/env python3
"""The cost of TLS, shardis beside redis-server in the same run: each server listens on
its plain port and on a TLS port at once, and redis-benchmark drives SET and GET at -P 1
and -P 16 over both (`--tls --cacert`), interleaved, on the same server process.
Certificates are made with the openssl command in a temporary directory
(tls-auth-clients no: connections are kept open, so a client certificate would cost
only at connect time).

    python bench/tls.py [--requests 20000] [--repeats 3] [--out bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from run import (CLIENTS, RedisServer, ShardisServer, free_port, parse_csv, running,  # noqa: E402
                 sh_out, write_results)

TESTS = ("set", "get")
PIPELINES = (1, 16)
KEYSPACE = 100_000


def make_certs(d: str) -> dict[str, str]:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-days", "2", "-subj", "/CN=bench ca")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.crt", "-days", "2", "-extfile", "san.cnf")
    return {n: os.path.join(d, n) for n in ("ca.crt", "server.crt", "server.key")}


def tls_args(certs: dict[str, str], port: int) -> list[str]:
    return ["--tls-port", str(port), "--tls-cert-file", certs["server.crt"], "--tls-key-file",
            certs["server.key"], "--tls-ca-cert-file", certs["ca.crt"], "--tls-auth-clients", "no"]


class TLSRedis(RedisServer):
    def __init__(self, tmp: str, certs: dict[str, str]) -> None:
        super().__init__("everysec", tmp)
        self.tls_port = free_port()
        self.certs = certs

    @property
    def label(self) -> str:
        return "redis"

    def argv(self) -> list[str]:
        return super().argv() + tls_args(self.certs, self.tls_port)


class TLSShardis(ShardisServer):
    def __init__(self, tmp: str, certs: dict[str, str], shards: int, routers: int) -> None:
        # (this checkout's shardis: the one on PYTHONPATH, not an installed shardis-server)
        super().__init__("everysec", tmp, shards, routers, python=sys.executable)
        self.tls_port = free_port()
        self.certs = certs

    @property
    def label(self) -> str:
        return "shardis"

    def argv(self) -> list[str]:
        return super().argv() + tls_args(self.certs, self.tls_port)


def bench(port: int, tls: str | None, test: str, pipeline: int, requests: int) -> float | None:
    """redis-benchmark's requests per second for one test, over TLS when ``tls`` is the CA file."""
    argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", str(CLIENTS), "-r",
            str(KEYSPACE), "-n", str(requests), "-P", str(pipeline), "-t", test, "--csv"]
    if tls:
        argv += ["--tls", "--cacert", tls]
    res = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
    rps = parse_csv(res.stdout, test)
    if res.returncode != 0 or rps is None:
        print(f"    failed: {(res.stderr + res.stdout)[-300:]}", file=sys.stderr)
    return rps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=20_000, help="per run at -P 1 (5x at -P 16)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--routers", type=int, default=1)
    ap.add_argument("--out", help="prepend the table to this file (bench/RESULTS.md)")
    a = ap.parse_args()
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    results: dict[tuple[str, str, str, int], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="shardis-tls-bench-") as tmp:
        certs = make_certs(tmp)
        for rep in range(a.repeats):
            for server in (TLSRedis(os.path.join(tmp, f"redis-{rep}"), certs),
                           TLSShardis(os.path.join(tmp, f"shardis-{rep}"), certs, a.shards, a.routers)):
                with running(server):
                    for p in PIPELINES:
                        n = a.requests * (5 if p > 1 else 1)
                        for test in TESTS:
                            for mode, port, ca in (("plain", server.port, None),
                                                   ("tls", server.tls_port, certs["ca.crt"])):
                                rps = bench(port, ca, test, p, n)
                                print(f"  [repeat {rep}] {server.label:<8} {mode:<5} {test.upper():<4} "
                                      f"P{p:<3} {rps or 0:>10,.0f} rps", file=sys.stderr, flush=True)
                                if rps:
                                    results.setdefault((server.label, mode, test, p), []).append(rps)

    def med(*key) -> float | None:
        runs = results.get(key)
        return statistics.median(runs) if runs else None

    def ratio(x: float | None, y: float | None) -> str:
        return f"{x / y:.2f}" if x and y else "—"

    def num(x: float | None) -> str:
        return f"{x:,.0f}" if x else "—"

    rows = []
    for test in TESTS:
        for p in PIPELINES:
            rp, rt = med("redis", "plain", test, p), med("redis", "tls", test, p)
            sp, st = med("shardis", "plain", test, p), med("shardis", "tls", test, p)
            rows.append(f"| {test.upper()} | {p} | {num(rp)} | {num(rt)} | {ratio(rt, rp)} | {num(sp)} "
                        f"| {num(st)} | {ratio(st, sp)} | {ratio(st, rt)} |")
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = "\n".join([
        f"## {now} — TLS against plain TCP, shardis and redis-server",
        "",
        f"- command: `python bench/tls.py {' '.join(sys.argv[1:])}`",
        f"- redis-benchmark -c {CLIENTS} -r {KEYSPACE} -n {a.requests} (-P 1) / {a.requests * 5} (-P 16), "
        f"`--tls --cacert` for TLS; each server on its plain and its TLS port at once (tls-auth-clients "
        f"no), interleaved; medians of {a.repeats}; redis-server appendfsync everysec, shardis "
        f"{a.shards} shard(s), {a.routers} router(s), durability everysec",
        f"- {sh_out([RedisServer.binary, '--version'])}; {os.cpu_count()} CPUs; load average before "
        f"{load_before:.2f}, after {os.getloadavg()[0]:.2f}; took {time.monotonic() - started:.0f}s",
        "",
        "| test | P | redis plain rps | redis TLS rps | redis TLS/plain | shardis plain rps "
        "| shardis TLS rps | shardis TLS/plain | shardis/redis over TLS |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ])
    print(section)
    if a.out:
        write_results(a.out, section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
