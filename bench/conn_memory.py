#!/usr/bin/env python3
"""Memory per idle connection: shardis' router against redis-server, in the same run.

For each server: start it fresh, read the resident memory (VmRSS) of the process
that holds the connections (redis-server; the shardis router), open N connections
that each send one PING and then stay idle, read it again, close them all, wait,
and read it a third time. Prints one table row per server:

    python bench/conn_memory.py                 # 9000 connections
    python bench/conn_memory.py -n 2000 --write # also prepend the table to bench/RESULTS.md

Needs redis-server 7.0 and shardis installed (or run from the checkout), and a file
limit above N (`ulimit -n`).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from run import free_port, ping, write_results  # noqa: E402


def rss(pid: int) -> int:
    """Resident set size of a process in bytes (/proc/<pid>/status VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def children(pid: int) -> dict[int, str]:
    """Direct children of ``pid``: pid -> command line."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            for c in f.read().split():
                with open(f"/proc/{c}/cmdline", "rb") as g:
                    out[int(c)] = g.read().replace(b"\0", b" ").decode()
    return out


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        if ping(port):
            return
        time.sleep(0.05)
    raise TimeoutError("server did not answer PING")


def open_idle(port: int, n: int) -> list[socket.socket]:
    """``n`` connections, each having sent PING and read +PONG."""
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        socks.append(s)
        if len(socks) % 500 == 0 or i == n - 1:
            for t in socks[-500:]:
                t.settimeout(10)
                assert t.recv(64).startswith(b"+PONG")
    return socks


def measure(name: str, port: int, pid: int, n: int, settle: float) -> dict:
    """RSS before, with ``n`` idle connections, and after they closed."""
    time.sleep(settle)
    before = rss(pid)
    socks = open_idle(port, n)
    time.sleep(settle)
    held = rss(pid)
    for s in socks:
        s.close()
    time.sleep(settle * 2)
    ping(port)  # (one more turn of its loop)
    time.sleep(settle)
    after = rss(pid)
    return {"server": name, "before": before, "held": held, "after": after,
            "per_conn": (held - before) / n}


def run_redis(n: int, settle: float) -> dict:
    port = free_port()
    d = tempfile.mkdtemp(prefix="connmem-redis-")
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    proc = subprocess.Popen([exe, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", d,
                             "--maxclients", str(n + 100)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, proc)
        return measure("redis-server 7.0", port, proc.pid, n, settle)
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(d, ignore_errors=True)


def run_shardis(n: int, settle: float, shards: int) -> dict:
    port = free_port()
    d = tempfile.mkdtemp(prefix="connmem-shardis-")
    argv = [sys.executable, "-m", "shardis.supervisor", "--port", str(port), "--dir", os.path.join(d, "data"),
            "--shards", str(shards), "--routers", "1"]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(argv, cwd=d, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port, proc)
        router = next(p for p, cmd in children(proc.pid).items() if "-m shardis.router" in cmd)
        return measure("shardis router", port, router, n, settle)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)
        shutil.rmtree(d, ignore_errors=True)


def table(rows: list[dict], n: int) -> str:
    mb = 1 << 20
    out = [f"| server | RSS before | with {n} idle connections | per connection | after they closed |",
           "|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['server']} | {r['before'] / mb:.1f} MB | {r['held'] / mb:.1f} MB | "
                   f"{r['per_conn'] / 1024:.1f} KB | {r['after'] / mb:.1f} MB |")
    return "\n".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", "--connections", type=int, default=9000)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds to wait before each reading")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--write", action="store_true", help="prepend the table to bench/RESULTS.md")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections + 200
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))  # (inherited by the servers)
    rows = [run_redis(a.connections, a.settle), run_shardis(a.connections, a.settle, a.shards)]
    text = table(rows, a.connections)
    print(text)
    if a.write:
        cmd = "python bench/conn_memory.py " + " ".join(sys.argv[1:])
        body = (f"## Memory per idle connection ({datetime.date.today()}, {platform.node()})\n\n"
                f"`{cmd.replace(' --write', '').strip()}`: VmRSS of the process holding the "
                f"connections (redis-server; the shardis router), measured in the same run.\n\n{text}\n")
        write_results(os.path.join(HERE, "RESULTS.md"), body)


if __name__ == "__main__":
    main()
