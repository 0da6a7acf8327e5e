"""Slow is not dead: a shard busy for a long time (a heavy command, or a stopped process)
is waited for, never redone or failed over; its round ends with the right replies, and
shards outside the round keep serving their own clients."""

from __future__ import annotations

import os
import signal
import threading
import time

import redis

from shardis.slots import key_slot, slot_table
from tests.helpers import cluster
from tests.test_supervisor import role_pids

SHARDS = 3


def key_on(shard: int, prefix: str) -> str:
    """A key that lives on ``shard`` of a SHARDS-shard cluster."""
    table = slot_table(SHARDS)
    for n in range(10_000):
        k = f"{prefix}{n}"
        if table[key_slot(k.encode())] == shard:
            return k
    raise AssertionError("no key found")


def shard_pid(server, index: int) -> int:
    for pid in role_pids(server.proc.pid, "shardis.shardd"):
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        if argv[argv.index(b"--index") + 1] == str(index).encode():
            return pid
    raise AssertionError(f"no shard {index}")


class Background:
    """A command run on its own connection in a thread; ``result()`` waits for it."""

    def __init__(self, port: int, *args) -> None:
        self.out: list = []
        self.thread = threading.Thread(target=self._run, args=(port, args), daemon=True)
        self.thread.start()

    def _run(self, port: int, args) -> None:
        c = redis.Redis(port=port, socket_timeout=300)
        try:
            self.out.append(c.execute_command(*args))
        except Exception as e:  # (kept for the assertion)
            self.out.append(e)
        finally:
            c.close()

    def result(self, timeout: float = 120):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "no reply"
        return self.out[0]


def outside_latency(port: int, key: str, seconds: float) -> float:
    """SET and GET a key of a shard outside the round for ``seconds``: the worst latency."""
    c = redis.Redis(port=port, socket_timeout=30)
    worst = 0.0
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        t = time.monotonic()
        assert c.set(key, n)
        assert c.get(key) == str(n).encode()
        worst = max(worst, time.monotonic() - t)
        n += 1
        time.sleep(0.01)
    c.close()
    return worst


def quiet_log(log: str) -> None:
    """Nothing was redone, failed or retried, and waiting was reported only now and then."""
    for bad in ("unavailable", "retrying", "redo", "went away", "is down", "Traceback"):
        assert bad not in log, log[-3000:]
    assert log.count("still waits") <= 4, log[-3000:]


def test_stopped_shard_is_waited_for(tmp_path):
    """A shard stopped (SIGSTOP) for longer than any timeout a coordinator might use is
    slow, not dead: the cross-shard MSET and KEYS caught behind it answer as Redis would
    once it runs again, and a shard outside the round answers throughout."""
    with cluster(tmp_path, shards=SHARDS) as s:
        a0, a1, k2 = key_on(0, "a"), key_on(1, "b"), key_on(2, "c")
        pid = shard_pid(s, 1)
        os.kill(pid, signal.SIGSTOP)
        try:
            mset = Background(s.port, "MSET", a0, "x", a1, "y")
            time.sleep(0.5)  # (its round first: KEYS in the same round would hold shard 2 too)
            keys = Background(s.port, "KEYS", "*")
            worst = outside_latency(s.port, k2, 35)
        finally:
            os.kill(pid, signal.SIGCONT)
        assert mset.result() is True  # (redis-py reads MSET's +OK as True)
        assert sorted(keys.result()) == sorted([a0.encode(), a1.encode(), k2.encode()])
        assert worst < 5, f"a shard outside the round stalled for {worst:.1f}s"
        c = redis.Redis(port=s.port)
        assert c.mget(a0, a1) == [b"x", b"y"]
        c.close()
        quiet_log(s.log())


def test_heavy_commands_across_shards(tmp_path):
    """Big SUNIONSTORE, SORT ... STORE and DEL over shards finish with Redis' replies
    while a shard outside their rounds keeps serving."""
    with cluster(tmp_path, shards=SHARDS) as s:
        c = redis.Redis(port=s.port, socket_timeout=300)
        s0, s1, k2 = key_on(0, "set"), key_on(1, "set"), key_on(2, "k")
        lst, dst, h = key_on(0, "list"), key_on(1, "dst"), key_on(0, "hash")
        n = 60_000
        p = c.pipeline(transaction=False)
        for i in range(0, n, 2000):
            p.sadd(s0, *range(i, i + 2000))
            p.sadd(s1, *range(i + n // 2, i + n // 2 + 2000))
            p.rpush(lst, *range(n - i, n - i - 2000, -1))
            p.hset(h, mapping={f"f{j}": j for j in range(i, i + 2000)})
        p.execute()
        union = Background(s.port, "SUNIONSTORE", key_on(1, "u"), s0, s1)
        worst = outside_latency(s.port, k2, 1.0)
        assert union.result() == n + n // 2
        srt = Background(s.port, "SORT", lst, "STORE", dst)
        worst = max(worst, outside_latency(s.port, k2, 1.0))
        assert srt.result() == n
        assert c.lrange(dst, 0, 2) == [b"1", b"2", b"3"]
        delete = Background(s.port, "DEL", h, s1, dst)
        worst = max(worst, outside_latency(s.port, k2, 1.0))
        assert delete.result() == 3
        assert c.exists(h, s1, dst) == 0
        assert worst < 5, f"a shard outside the rounds stalled for {worst:.1f}s"
        c.close()
        quiet_log(s.log())
