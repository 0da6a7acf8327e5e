"""Crash safety across shards: under a load of cross-shard MSETs, SIGKILL a shard, the
coordinator, or the whole server at a random moment; afterwards every MSET is whole
or absent, and every acknowledged one (or a later one) is there."""

from __future__ import annotations

import os
import random
import signal
import threading
import time

import pytest
import redis

from shardis.slots import key_slot, slot_table
from tests.helpers import Shardis, free_port, wait_for_port

WRITERS = 4
KEYS_PER_GROUP = 6


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``: pid -> command line."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != pid:
                continue
            with open(f"/proc/{d}/cmdline", "rb") as f:
                out[int(d)] = f.read().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return out


def _find(server: Shardis, what: str) -> int:
    for pid, cmd in _children(server.proc.pid).items():
        if what in cmd:
            return pid
    raise AssertionError(f"no child process matching {what!r}")


def _groups() -> list[list[str]]:
    groups = [[f"g{w}:{j}" for j in range(KEYS_PER_GROUP)] for w in range(WRITERS)]
    table = slot_table(3)
    for g in groups:
        assert len({table[key_slot(k.encode())] for k in g}) >= 2
    return groups


class Load:
    """Writers, each MSETting its own group of keys to its next number, remembering the
    last number acknowledged; they ride out errors and reconnect."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.groups = _groups()
        self.acked = [0] * WRITERS
        self.sent = [0] * WRITERS
        self.errors = 0
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(w,)) for w in range(WRITERS)]

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def run(self, w: int) -> None:
        c = redis.Redis(port=self.port, socket_timeout=20)
        i = 0
        while not self.stop.is_set():
            i += 1
            self.sent[w] = i
            try:
                self.write(c, w, i)
                self.acked[w] = i
            except (redis.ConnectionError, redis.ResponseError, redis.TimeoutError):
                self.errors += 1
                time.sleep(0.05)
        c.close()

    def write(self, c: redis.Redis, w: int, i: int) -> None:
        """Writer ``w``'s i-th write of its whole group (a subclass may write otherwise)."""
        c.mset({k: str(i) for k in self.groups[w]})

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def check(self, port: int) -> None:
        c = redis.Redis(port=port)
        for w, g in enumerate(self.groups):
            vals = c.mget(g)
            assert len(set(vals)) == 1, f"writer {w}: a partial MSET: {vals}"
            got = int(vals[0]) if vals[0] is not None else 0
            assert self.acked[w] <= got <= self.sent[w], (w, self.acked[w], got, self.sent[w])
        c.close()


@pytest.mark.parametrize("victim", ["shardis.shardd --config-json", "shardis.coord --config-json"])
def test_kill_one_process(tmp_path, victim):
    """The supervisor restarts the killed process; transactions in flight are finished
    or rolled back, and writes go on."""
    s = Shardis(str(tmp_path / "data"), shards=3).start()
    try:
        kill_under_load(s, Load(s.port).start(), victim, times=2)
    finally:
        s.stop()


def kill_under_load(s: Shardis, load: Load, victim: str, times: int) -> None:
    """SIGKILL a process whose command line has ``victim`` at a random moment, ``times``
    times, checking that writes go on after each restart; then check the data."""
    for _ in range(times):
        time.sleep(random.uniform(0.5, 1.2))
        pids = [p for p, cmd in _children(s.proc.pid).items() if victim in cmd]
        os.kill(random.choice(pids), signal.SIGKILL)
        before = list(load.acked)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(load.acked) <= sum(before) + WRITERS:
            time.sleep(0.1)
        assert sum(load.acked) > sum(before), "no write succeeded after the restart"
    load.join()
    load.check(s.port)


@pytest.mark.parametrize("durability", ["everysec", "always"])
def test_kill_whole_server(tmp_path, durability):
    port = free_port()
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability=durability).start()
    load = Load(port).start()
    time.sleep(random.uniform(0.8, 1.5))
    s.kill()
    load.join()
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability=durability).start()
    try:
        wait_for_port(port)
        load.check(port)
        redis.Redis(port=port).mset({k: "after" for k in load.groups[0]})
    finally:
        s.stop()
