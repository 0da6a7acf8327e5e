"""Scripts as programs use them, on one shard and over shards, under concurrent clients:
redis-py's Lock, a token-bucket rate limiter, a reliable queue; atomicity against
concurrent readers; and crash safety (SIGKILL of a shard, the coordinator, the whole
server under ``always``): every script whole or absent."""

from __future__ import annotations

import random
import threading
import time

import pytest
import redis
from redis.exceptions import LockNotOwnedError

from shardis.slots import key_slot, slot_table
from tests.helpers import Shardis, free_port, wait_for_port
from tests.test_cross_crash import WRITERS, Load, kill_under_load

SHARD_OF = slot_table(3)


def shard(key: str) -> int:
    return SHARD_OF[key_slot(key.encode())]


def keys_on_distinct_shards(prefix: str, n: int) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    i = 0
    while len(out) < n:
        k = f"{prefix}{i}"
        if shard(k) not in seen:
            seen.add(shard(k))
            out.append(k)
        i += 1
    return out


# ---------------------------------------------------------------- redis-py's Lock


def test_lock(r):
    lock = r.lock("lock:a", timeout=5, blocking_timeout=0.2)
    assert lock.acquire()
    other = r.lock("lock:a", timeout=5, blocking_timeout=0.2)
    assert not other.acquire()
    assert lock.extend(10)
    assert 5 < r.pttl("lock:a") / 1000 <= 15
    assert lock.reacquire()
    assert 4 < r.pttl("lock:a") / 1000 <= 5
    assert lock.owned()
    lock.release()
    assert not lock.owned()
    assert other.acquire()
    other.release()
    assert r.get("lock:a") is None


def test_lock_expires(r):
    lock = r.lock("lock:b", timeout=0.2)
    assert lock.acquire()
    time.sleep(0.35)
    other = r.lock("lock:b", timeout=5, blocking_timeout=0.1)
    assert other.acquire()
    with pytest.raises(LockNotOwnedError):
        lock.extend(1)  # no longer ours
    with pytest.raises(LockNotOwnedError):
        lock.reacquire()
    with pytest.raises(LockNotOwnedError):
        lock.release()
    assert other.owned()
    other.release()


def test_locks_protect_counters_over_shards(shardis_server):
    """Threads increment counters on every shard under locks (one per counter): no
    increment is lost."""
    port = shardis_server.port
    counters = keys_on_distinct_shards("lockctr:", 3)
    c = redis.Redis(port=port)
    c.delete(*counters)

    def work() -> None:
        cl = redis.Redis(port=port)
        for i in range(30):
            k = counters[i % 3]
            with cl.lock(f"lock:{k}", timeout=5, blocking_timeout=10, sleep=0.001):
                v = int(cl.get(k) or 0)
                cl.set(k, v + 1)
        cl.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [int(c.get(k)) for k in counters] == [40, 40, 40]


# ---------------------------------------------------------------- a rate limiter

TOKEN_BUCKET = """
local tokens_key, ts_key = KEYS[1], KEYS[2]
local rate, capacity, now, want = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tokens = tonumber(redis.call('get', tokens_key)) or capacity
local last = tonumber(redis.call('get', ts_key)) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local allowed = 0
if tokens >= want then tokens = tokens - want; allowed = 1 end
redis.call('set', tokens_key, tokens)
redis.call('set', ts_key, now)
return allowed
"""


@pytest.mark.parametrize("tagged", [True, False])
def test_token_bucket(shardis_server, tagged):
    """Concurrent clients draw from one bucket (capacity 50, no refill): exactly 50 draws
    succeed, whether its two keys share a shard or not."""
    port = shardis_server.port
    keys = ["{tb}tokens", "{tb}ts"] if tagged else keys_on_distinct_shards("tb:", 2)
    assert (shard(keys[0]) == shard(keys[1])) == tagged
    c = redis.Redis(port=port)
    c.delete(*keys)
    sha = c.script_load(TOKEN_BUCKET)
    allowed = []
    lock = threading.Lock()

    def work() -> None:
        cl = redis.Redis(port=port)
        n = 0
        for _ in range(30):
            n += cl.evalsha(sha, 2, *keys, 0, 50, 1000, 1)
        with lock:
            allowed.append(n)
        cl.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 50
    assert float(c.get(keys[0])) == 0


# ---------------------------------------------------------------- a reliable queue

MOVE = """
local item = redis.call('rpop', KEYS[1])
if not item then return false end
redis.call('lpush', KEYS[2], item)
redis.call('hincrby', KEYS[3], item, 1)
return item
"""


@pytest.mark.parametrize("tagged", [True, False])
def test_reliable_queue(shardis_server, tagged):
    """Workers move items from a queue to a processing list with a script (and count each
    delivery in a hash), then acknowledge them: every item delivered exactly once."""
    port = shardis_server.port
    if tagged:
        q, work_list, seen = "{q}jobs", "{q}processing", "{q}seen"
    else:
        q, work_list, seen = keys_on_distinct_shards("rq:", 3)
    c = redis.Redis(port=port)
    c.delete(q, work_list, seen)
    items = [f"job{i}" for i in range(200)]
    c.lpush(q, *items)
    done: list[str] = []
    lock = threading.Lock()
    script = c.register_script(MOVE)

    def worker() -> None:
        cl = redis.Redis(port=port)
        mine = []
        while True:
            item = script(keys=[q, work_list, seen], client=cl)
            if item is None:
                break
            mine.append(item.decode())
            cl.lrem(work_list, 1, item)
        with lock:
            done.extend(mine)
        cl.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(done) == sorted(items)
    assert c.llen(work_list) == 0
    assert set(c.hvals(seen)) == {b"1"}


# ---------------------------------------------------------------- atomicity

TRANSFER = """
local a = tonumber(redis.call('get', KEYS[1]))
local amount = tonumber(ARGV[1])
redis.call('set', KEYS[1], a - amount)
redis.call('incrby', KEYS[2], amount)
return 1
"""

SUM = """
local s = 0
for _, k in ipairs(KEYS) do s = s + tonumber(redis.call('get', k)) end
return s
"""


@pytest.mark.parametrize("declared", [True, False])
def test_transfers_never_seen_half_done(shardis_server, declared):
    """Scripts move amounts between accounts on different shards while readers sum them
    (MGET, and a script): the total never changes. Undeclared: the transfer names no
    keys, so it reaches other shards' keys and moves to the coordinator."""
    port = shardis_server.port
    accounts = keys_on_distinct_shards("acct:", 3)
    c = redis.Redis(port=port)
    c.mset({a: 100 for a in accounts})
    transfer = TRANSFER if declared else TRANSFER.replace("KEYS[1]", "ARGV[2]").replace("KEYS[2]", "ARGV[3]")
    stop = threading.Event()
    bad: list = []

    def mover(seed: int) -> None:
        rnd = random.Random(seed)
        cl = redis.Redis(port=port)
        sha = cl.script_load(transfer)
        while not stop.is_set():
            a, b = rnd.sample(accounts, 2)
            if declared:
                cl.evalsha(sha, 2, a, b, rnd.randint(1, 5))
            else:
                cl.evalsha(sha, 0, rnd.randint(1, 5), a, b)
        cl.close()

    def reader() -> None:
        cl = redis.Redis(port=port)
        sha = cl.script_load(SUM)
        while not stop.is_set():
            total = sum(int(v) for v in cl.mget(accounts))
            if total != 300:
                bad.append(("mget", total))
            total = cl.evalsha(sha, len(accounts), *accounts)
            if total != 300:
                bad.append(("script", total))
        cl.close()

    threads = [threading.Thread(target=mover, args=(i,)) for i in range(3)] + \
        [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    assert not bad, bad[:5]
    assert sum(int(v) for v in c.mget(accounts)) == 300


# ---------------------------------------------------------------- crashes

GROUP_SET = """
for i, k in ipairs(KEYS) do redis.call('set', k, ARGV[1]) end
return #KEYS
"""
GROUP_SET_UNDECLARED = """
for i = 2, #ARGV do redis.call('set', ARGV[i], ARGV[1]) end
return #ARGV - 1
"""


class ScriptLoad(Load):
    """Writers set their whole group of keys (over shards) with one script."""

    declared = True

    def write(self, c: redis.Redis, w: int, i: int) -> None:
        g = self.groups[w]
        if self.declared:
            c.eval(GROUP_SET, len(g), *g, str(i))
        else:
            c.eval(GROUP_SET_UNDECLARED, 0, str(i), *g)


class UndeclaredLoad(ScriptLoad):
    declared = False


class LocalLoad(ScriptLoad):
    """Groups whose keys share one shard (a hash tag): the script runs in the shard."""

    def __init__(self, port: int) -> None:
        super().__init__(port)
        self.groups = [[f"{{g{w}}}:{j}" for j in range(6)] for w in range(WRITERS)]


@pytest.mark.parametrize("load_kind", [ScriptLoad, UndeclaredLoad])
@pytest.mark.parametrize("victim", ["shardis.shardd --config-json", "shardis.coord --config-json"])
def test_kill_one_process_under_scripts(tmp_path, victim, load_kind):
    s = Shardis(str(tmp_path / "data"), shards=3, durability="always").start()
    try:
        kill_under_load(s, load_kind(s.port).start(), victim, times=1)
    finally:
        s.stop()


@pytest.mark.parametrize("load_kind", [ScriptLoad, UndeclaredLoad, LocalLoad])
def test_kill_whole_server_under_scripts(tmp_path, load_kind):
    port = free_port()
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability="always").start()
    load = load_kind(port).start()
    time.sleep(random.uniform(0.8, 1.5))
    s.kill()
    load.join()
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability="always").start()
    try:
        wait_for_port(port)
        load.check(port)
        # Functions are durable data: a library loaded before a crash is there after it.
        c = redis.Redis(port=port)
        c.function_load("#!lua name=crashlib\nredis.register_function('cf', function() return 7 end)",
                        replace=True)
    finally:
        s.stop()
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability="always").start()
    wait_for_port(port)
    redis.Redis(port=port).function_load(
        "#!lua name=crashlib2\nredis.register_function('cf2', function() return 8 end)")
    s.kill()  # (acknowledged under always: it must survive)
    s = Shardis(str(tmp_path / "data"), port=port, shards=3, durability="always").start()
    try:
        wait_for_port(port)
        c = redis.Redis(port=port)
        assert c.fcall("cf", 0) == 7
        assert c.fcall("cf2", 0) == 8
    finally:
        s.stop()


def test_script_cache_is_every_routers(tmp_path):
    """SCRIPT LOAD (or EVAL) through one router makes EVALSHA work through another;
    SCRIPT FLUSH through one empties every router's cache before it answers."""
    from tests.helpers import cluster
    from tests.test_multi import _on_each_router
    with cluster(tmp_path, shards=3, routers=2) as s:
        a, b = _on_each_router(s.port)
        sha = a.script_load("return 'loaded'")
        assert b.evalsha(sha, 0) == b"loaded"
        assert b.evalsha(sha, 2, "k1", "k2") == b"loaded"   # (keys over shards: the coordinator)
        assert a.eval("return 'evaled'", 0) == b"evaled"
        sha2 = a.script_load("return 'evaled'")
        assert b.script_exists(sha, sha2) == [True, True]
        assert b.evalsha(sha2, 0) == b"evaled"
        assert a.script_flush() is True
        assert b.script_exists(sha, sha2) == [False, False]
        for c in (a, b):
            with pytest.raises(redis.exceptions.NoScriptError):
                c.evalsha(sha, 0)
        # Functions: loaded through one router, called through the other on every shard.
        a.function_load("#!lua name=rl\nredis.register_function('rf', function(k) return redis.call('incr', k[1]) end)")
        assert [b.fcall("rf", 1, k) for k in ("k1", "k2", "k3", "k1")] == [1, 1, 1, 2]
