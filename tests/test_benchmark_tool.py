"""The real ``redis-benchmark`` runs its whole default test list against shardis without an error.

No ``-t``: redis-benchmark 7.0's default list is PING_INLINE, PING_MBULK, SET, GET, INCR, LPUSH,
RPUSH, LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LPUSH (needed to benchmark LRANGE),
LRANGE_100/300/500/600 and MSET (10 keys), with ``-r 100000``, at ``-P 1`` and ``-P 16``. To keep
CI time reasonable each test sends only N = 4000 requests (``-n 4000``) from 50 clients (``-c 50``):
the point is that every command of the list answers as Redis does, not its speed (bench/run.py
measures that). Then the data it leaves is checked.

What 7.0's redis-benchmark writes (checked with MONITOR on redis-server 7.0.15; the same run
against redis-server here checks these assumptions):

- ``SET key:__rand_int__ VXK``, ``MSET`` of 10 such keys, ``GET key:__rand_int__``;
- ``INCR counter:__rand_int__``;
- one fixed list ``mylist``: LPUSH / RPUSH ``VXK`` N times each, LPOP / RPOP N times each (so it
  is empty again), then N more LPUSH for the LRANGE tests: it ends with N elements, all ``VXK``;
- one fixed set ``myset``: ``SADD myset element:__rand_int__``, then N ``SPOP myset``: at most N
  distinct members went in, so it ends empty (the key is gone);
- one fixed hash ``myhash``: ``HSET myhash element:__rand_int__ VXK``;
- one fixed sorted set ``myzset``: ``ZADD myzset __rand_int__ element:__rand_int__`` (a random
  score too), then N ``ZPOPMIN myzset``: it ends empty.

(``__rand_int__`` is 12 zero-padded digits below ``-r``; without ``--cluster`` no key has a hash
tag, so the fixed keys each live on one shard and MSET usually spans shards.)
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest

from tests.helpers import RawClient, RedisServer, Shardis, parse_reply

BENCH = shutil.which("redis-benchmark")
# Requests per test (-n): small, for CI time. A multiple of 16: at -P 16 redis-benchmark sends
# whole pipelines, n rounded up to a multiple of 16, and the checks below count exactly.
N = 4000
CLIENTS = 50       # -c
RANGE = 100000     # -r: keys are key:000000012345, counter:000000012345, element:000000012345
TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP",
         "SADD", "HSET", "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)",
         "LRANGE_100 (first 100 elements)", "LRANGE_300 (first 300 elements)",
         "LRANGE_500 (first 500 elements)", "LRANGE_600 (first 600 elements)", "MSET (10 keys)"]

pytestmark = pytest.mark.skipif(BENCH is None, reason="redis-benchmark is not installed")


@pytest.fixture(scope="module", params=["shardis", "redis"])
def server(request, tmp_path_factory):
    """A 3-shard shardis cluster, or the reference redis-server."""
    if request.param == "redis":
        s = RedisServer().start()
        yield s
        s.stop()
        return
    s = Shardis(str(tmp_path_factory.mktemp("bench") / "data"), shards=3).start()
    yield s
    code = s.stop()
    assert code == 0, s.log()[-3000:]


def call(port: int, *args):
    c = RawClient(port)
    try:
        return parse_reply(c.call(*args))
    finally:
        c.close()


def mget(port: int, keys: list[bytes], chunk: int = 1000) -> list:
    c = RawClient(port)
    try:
        out = []
        for n in range(0, len(keys), chunk):
            out += parse_reply(c.call("MGET", *keys[n:n + chunk]))
        return out
    finally:
        c.close()


def run_default_list(port: int, pipeline: int) -> list[str]:
    """redis-benchmark with no -t; returns the names of the tests it reported, in order."""
    p = subprocess.run([BENCH, "-p", str(port), "-r", str(RANGE), "-n", str(N), "-c", str(CLIENTS),
                        "-P", str(pipeline), "--csv"],
                       capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    out = p.stdout + p.stderr
    # An error reply makes redis-benchmark print "Error from server: ..." and exit 1.
    assert p.returncode == 0, out[-3000:]
    for word in ("ERR", "Error", "WARNING", "error", "WRONGTYPE"):
        bad = [line for line in out.splitlines() if word in line]
        assert not bad, bad[:5]
    rows = [line for line in p.stdout.splitlines() if line.startswith('"') and not line.startswith('"test"')]
    return [row.split('","')[0].strip('"') for row in rows]


def check_strings(port: int) -> int:
    """key:* hold VXK, counter:* add up to N; returns how many keys there are of both."""
    keys = sorted(call(port, "KEYS", "key:*"))
    counters = sorted(call(port, "KEYS", "counter:*"))
    assert all(re.fullmatch(rb"key:\d{12}", k) for k in keys), keys[:5]
    assert all(re.fullmatch(rb"counter:\d{12}", k) for k in counters), counters[:5]
    # SET and MSET together draw 11*N random keys out of RANGE: a good part of them exist.
    assert len(keys) > 11 * N // 3, len(keys)
    sample = random.sample(keys, 2000)
    assert mget(port, sample) == [b"VXK"] * len(sample)
    # Every INCR request incremented exactly one counter, exactly once.
    values = mget(port, counters)
    assert all(re.fullmatch(rb"[1-9]\d*", v) for v in values), values[:5]
    assert sum(int(v) for v in values) == N
    return len(keys) + len(counters)


def check_collections(port: int) -> None:
    """mylist: N x VXK; myhash: element:* -> VXK; myset and myzset popped empty."""
    assert call(port, "TYPE", "mylist") == b"list"
    assert call(port, "LLEN", "mylist") == N
    assert call(port, "LRANGE", "mylist", 0, 599) == [b"VXK"] * 600
    assert call(port, "LINDEX", "mylist", -1) == b"VXK"
    assert call(port, "TYPE", "myhash") == b"hash"
    fields = call(port, "HKEYS", "myhash")
    # N draws out of RANGE: about N*(1 - N/(2*RANGE)) distinct fields.
    assert N * 9 // 10 < len(fields) <= N, len(fields)
    assert len(set(fields)) == len(fields)
    assert all(re.fullmatch(rb"element:\d{12}", f) for f in fields), fields[:5]
    assert call(port, "HLEN", "myhash") == len(fields)
    assert call(port, "HMGET", "myhash", *fields[:500]) == [b"VXK"] * 500
    for key in ("myset", "myzset"):
        assert call(port, "TYPE", key) == b"none", key
        assert call(port, "EXISTS", key) == 0, key


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark_default_list(server, pipeline):
    assert call(server.port, "FLUSHALL") == b"OK"
    assert run_default_list(server.port, pipeline) == TESTS
    strings = check_strings(server.port)
    check_collections(server.port)
    assert call(server.port, "DBSIZE") == strings + 2  # + mylist, myhash
