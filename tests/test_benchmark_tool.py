"""The real ``redis-benchmark`` runs against shardis without an error, and its writes are there.

The same run against redis-server 7.0 checks what this test assumes about the tool
(key names, the value it writes, one INCR per request).
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess

import pytest

from tests.helpers import RawClient, RedisServer, Shardis, parse_reply

BENCH = shutil.which("redis-benchmark")
N = 100000         # requests per test, as the spine issue runs it
RANGE = 100000     # -r: keys are key:000000012345, counter:000000012345
TESTS = ["PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "MSET (10 keys)"]

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


@pytest.mark.parametrize("pipeline", [1, 16])
def test_redis_benchmark(server, pipeline):
    assert call(server.port, "FLUSHALL") == b"OK"
    p = subprocess.run([BENCH, "-p", str(server.port), "-t", "ping,set,get,incr,mset",
                        "-r", str(RANGE), "-n", str(N), "-P", str(pipeline), "-q"],
                       capture_output=True, text=True, timeout=120)
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    # -q still prints progress lines ending in \r; the result of each test ends its line.
    results = [seg.strip() for line in out.splitlines() for seg in line.split("\r") if seg.strip()]
    for word in ("ERR", "Error", "WARNING", "error"):
        bad = [r for r in results if word in r]
        assert not bad, bad[:5]
    done = [r.split(":")[0] for r in results if "requests per second" in r]
    assert done == TESTS, results[-10:]

    keys = sorted(call(server.port, "KEYS", "key:*"))
    counters = sorted(call(server.port, "KEYS", "counter:*"))
    assert call(server.port, "DBSIZE") == len(keys) + len(counters) > 0
    assert all(re.fullmatch(rb"key:\d{12}", k) for k in keys), keys[:5]
    assert all(re.fullmatch(rb"counter:\d{12}", k) for k in counters), counters[:5]
    # SET and MSET together pick 11*N random keys out of RANGE: most of them exist.
    assert len(keys) > RANGE // 2, len(keys)
    sample = random.sample(keys, 2000)
    assert mget(server.port, sample) == [b"VXK"] * len(sample)
    # Every INCR request incremented exactly one counter, exactly once.
    values = mget(server.port, counters)
    assert all(re.fullmatch(rb"[1-9]\d*", v) for v in values), values[:5]
    assert sum(int(v) for v in values) == N
