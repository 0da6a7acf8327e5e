"""maxmemory and eviction (shardd/eviction.py): which keys each policy evicts, -OOM under
noeviction, the "evicted" event, OBJECT IDLETIME / FREQ and INFO's keyspace_hits,
keyspace_misses and expired_keys, compared with redis-server where Redis is the
specification."""

from __future__ import annotations

import re
import time

import pytest
import redis

from tests.helpers import RawClient, Shardis

OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
LIMIT = 96 * 1024
VALUE = b"v" * 200


@pytest.fixture(scope="module")
def one_shard(tmp_path_factory):
    """A one-shard cluster: the whole maxmemory is the shard's."""
    c = Shardis(str(tmp_path_factory.mktemp("evict") / "data"), shards=1,
                **{"enable-debug-command": "yes"}).start()
    yield c
    assert c.stop() == 0, c.log()[-3000:]


@pytest.fixture
def ev(one_shard):
    c = redis.Redis(port=one_shard.port)
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.flushall()
    c.config_resetstat()
    yield c
    c.config_set("maxmemory", 0)
    c.config_set("maxmemory-policy", "noeviction")
    c.close()


def fill(c: redis.Redis, prefix: str, n: int, ex: int | None = None, step: int = 10,
         between=None) -> None:
    """SET prefix0 .. prefix<n-1>, ``step`` per pipeline (eviction runs per batch)."""
    for i in range(0, n, step):
        p = c.pipeline(transaction=False)
        for j in range(i, min(n, i + step)):
            p.set(f"{prefix}{j}", VALUE, ex=ex)
        p.execute()
        if between is not None:
            between()


def alive(c: redis.Redis, keys: list[str]) -> list[str]:
    p = c.pipeline(transaction=False)
    for k in keys:
        p.exists(k)
    return [k for k, n in zip(keys, p.execute()) if n]


# ---------------------------------------------------------------- counters, against Redis


def test_keyspace_hits_and_misses_as_redis(pair):
    pair.both("CONFIG", "RESETSTAT")
    for cmd in [("SET", "a", "1"), ("GET", "a"), ("GET", "nope"), ("MGET", "a", "b", "c"),
                ("EXISTS", "a", "x"), ("HSET", "h", "f", "v"), ("HGET", "h", "f"),
                ("HGET", "h", "g"), ("HGET", "nokey", "f"), ("LRANGE", "nolist", "0", "-1"),
                ("RPUSH", "l", "x"), ("LRANGE", "l", "0", "-1"), ("TYPE", "a"), ("TYPE", "zz"),
                ("TTL", "a"), ("STRLEN", "a"), ("INCR", "n"), ("APPEND", "a", "x"),
                ("SMEMBERS", "nos"), ("ZSCORE", "noz", "m"), ("GETRANGE", "a", "0", "1"),
                ("DEL", "a"), ("GET", "a"), ("SINTERSTORE", "{s}d", "{s}1", "{s}2"),
                ("SADD", "{s}1", "x"), ("SUNIONSTORE", "{s}d", "{s}1", "{s}2"),
                ("GETSET", "g", "1"), ("GETDEL", "g"), ("GETEX", "g"), ("RPUSH", "{s}l", "2", "1"),
                ("SORT", "{s}l", "STORE", "{s}o"), ("BITOP", "AND", "{s}b", "{s}1x", "{s}2x"),
                ("GEOADD", "{s}g", "1", "1", "m"),
                ("GEOSEARCHSTORE", "{s}gd", "{s}g", "FROMMEMBER", "m", "BYRADIUS", "10", "km"),
                ("EVAL", "return redis.call('get', KEYS[1])", "1", "nn"),
                ("SET", "e", "1", "PX", "1")]:
        pair.check(*cmd)
    time.sleep(0.01)
    pair.check("GET", "e")  # (expired: a miss, and expired_keys)
    pair.check("SET", "e2", "1", "PX", "1")
    time.sleep(0.01)
    pair.check("EXISTS", "e2")
    got = []
    for c in (pair.s, pair.r):
        info = c.call("INFO", "stats").decode()
        got.append({k: v for k, v in (ln.split(":", 1) for ln in info.split("\r\n") if ":" in ln)
                    if k in ("keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys")})
    assert got[0] == got[1]
    assert got[0]["keyspace_hits"] != "0" and got[0]["expired_keys"] == "2"


def test_object_freq_as_redis(pair):
    try:
        pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu")
        pair.check("SET", "f", "v")
        pair.check("OBJECT", "FREQ", "f")  # LFU_INIT_VAL
        pair.check("GET", "f")
        pair.check("OBJECT", "FREQ", "f")  # (the first increment is certain)
        pair.check("TYPE", "f")            # (touches nothing)
        pair.check("OBJECT", "FREQ", "f")
        pair.check("OBJECT", "FREQ", "missing")
        pair.check("OBJECT", "IDLETIME", "f")  # the LFU error
        pair.check("CONFIG", "SET", "maxmemory-policy", "allkeys-lru")
        pair.check("OBJECT", "FREQ", "f")  # the not-LFU error
    finally:
        pair.both("CONFIG", "SET", "maxmemory-policy", "noeviction")


def test_object_idletime_as_redis(pair):
    """Idle seconds as Redis counts them (whole seconds of its LRU clock), so the two
    may differ by one where a second turns between them."""
    def idle(key):
        got, want = (int(r[1:-2]) for r in pair.both("OBJECT", "IDLETIME", key))
        assert abs(got - want) <= 1, (key, got, want)
        return got

    # (not integers: Redis shares the objects of 0..9999, and their access time)
    pair.check("SET", "a", "x")
    pair.check("SET", "b", "x")
    pair.check("SET", "c", "x")
    assert idle("a") <= 1
    time.sleep(2.2)
    pair.check("GET", "a")       # touches a
    pair.check("TYPE", "b")      # these do not
    pair.check("EXISTS", "b")
    pair.check("TTL", "b")
    pair.check("OBJECT", "ENCODING", "b")
    pair.check("APPEND", "c", "x")  # a write touches too
    assert idle("a") <= 1
    assert idle("b") >= 2
    assert idle("c") <= 1
    pair.check("OBJECT", "IDLETIME", "missing")


def test_debug_object_shows_the_idle_time(ev):
    ev.set("a", "x")
    time.sleep(1.1)
    line = ev.execute_command("DEBUG", "OBJECT", "a")
    line = line if isinstance(line, bytes) else str(line).encode()
    # (whole seconds of the clock between the two, as Redis' LRU clock: 1.1 s is 1 or 2)
    idle = int(line.split(b" lru_seconds_idle:")[1].split()[0])
    assert idle in (1, 2), line
    assert ev.object("idletime", "a") in (idle, idle + 1)  # (DEBUG OBJECT touches nothing)


# ---------------------------------------------------------------- the policies


def test_maxmemory_in_info_and_config(ev):
    ev.config_set("maxmemory", "100mb")
    assert ev.config_get("maxmemory") == {"maxmemory": str(100 << 20)}
    info = ev.info("memory")
    assert info["maxmemory"] == 100 << 20 and info["maxmemory_policy"] == "noeviction"
    fill(ev, "k", 50)
    info = ev.info("memory")
    assert info["used_memory_dataset"] > 50 * len(VALUE)
    shard = ev.info("shardis")["shard0"]
    assert shard["used_bytes"] >= info["used_memory_dataset"]


def test_noeviction_refuses_writes_serves_reads_and_deletes(ev):
    ev.config_set("maxmemory", LIMIT)
    raw = RawClient(ev.connection_pool.connection_kwargs["port"])
    try:
        n = 0
        while True:
            reply = raw.call("SET", f"k{n}", VALUE)
            if reply != b"+OK\r\n":
                break
            n += 1
            assert n < 10000
        assert reply == OOM
        assert raw.call("SETNX", "x", "1") == OOM
        assert raw.call("RPUSH", "l", "1") == OOM
        assert raw.call("GET", "k0") == b"$200\r\n" + VALUE + b"\r\n"   # reads go on
        assert raw.call("INCR", "k0") == OOM  # (rejected before it runs)
    finally:
        raw.close()
    assert ev.delete("k1") == 1  # deletes go on
    assert ev.info("stats")["evicted_keys"] == 0
    ev.flushall()
    assert ev.set("after", "1")


def test_allkeys_lru_keeps_the_recently_used(ev):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", "allkeys-lru")
    hot = [f"hot{i}" for i in range(10)]
    for k in hot:
        ev.set(k, VALUE)

    def read_hot():
        p = ev.pipeline(transaction=False)
        for k in hot:
            p.get(k)
        p.execute()

    fill(ev, "cold", 2000, between=read_hot)
    evicted = ev.info("stats")["evicted_keys"]
    assert evicted > 1000
    assert alive(ev, hot) == hot
    assert ev.dbsize() == 2010 - evicted
    assert ev.info("memory")["used_memory_dataset"] <= LIMIT + 16 * 1024


def test_allkeys_lfu_keeps_the_frequently_used(ev):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", "allkeys-lfu")
    hot = [f"hot{i}" for i in range(10)]
    for k in hot:
        ev.set(k, VALUE)
    for _ in range(20):  # counters well above a new key's 5
        p = ev.pipeline(transaction=False)
        for k in hot:
            p.get(k)
        p.execute()
    fill(ev, "cold", 2000)
    assert ev.info("stats")["evicted_keys"] > 1000
    assert alive(ev, hot) == hot
    assert ev.object("freq", "hot0") > 5


@pytest.mark.parametrize("policy", ["allkeys-random", "allkeys-s3fifo"])
def test_allkeys_policies_evict(ev, policy):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", policy)
    fill(ev, "k", 1500)
    evicted = ev.info("stats")["evicted_keys"]
    assert evicted > 500 and ev.dbsize() == 1500 - evicted


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-lfu", "volatile-random",
                                    "volatile-ttl", "volatile-s3fifo"])
def test_volatile_policies_evict_only_keys_with_ttl(ev, policy):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", policy)
    persistent = [f"p{i}" for i in range(60)]
    fill(ev, "p", 60)
    fill(ev, "v", 1500, ex=10000)
    stats = ev.info("stats")
    assert stats["evicted_keys"] > 500
    assert alive(ev, persistent) == persistent
    assert ev.dbsize() == 1560 - stats["evicted_keys"]


def test_volatile_ttl_evicts_the_soonest_to_expire(ev):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", "volatile-ttl")
    # TTLs in an order unrelated to the keys' names and to when they were written
    ttls = {f"v{i}": 1000 + (i * 7919) % 5000 for i in range(1200)}
    items = list(ttls.items())
    for i in range(0, len(items), 10):
        p = ev.pipeline(transaction=False)
        for k, t in items[i:i + 10]:
            p.set(k, VALUE, ex=t)
        p.execute()
    kept = set(alive(ev, list(ttls)))
    gone = set(ttls) - kept
    assert len(gone) > 400
    mean = lambda ks: sum(ttls[k] for k in ks) / len(ks)  # noqa: E731
    assert mean(kept) > mean(gone) + 1000
    assert max(ttls, key=ttls.get) in kept


@pytest.mark.parametrize("policy", ["volatile-lru", "volatile-ttl", "volatile-s3fifo"])
def test_volatile_without_ttl_keys_answers_oom(ev, policy):
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", policy)
    raw = RawClient(ev.connection_pool.connection_kwargs["port"])
    try:
        replies = set()
        for i in range(2000):
            reply = raw.call("SET", f"k{i}", VALUE)
            replies.add(reply)
            if reply != b"+OK\r\n":
                break
        assert reply == OOM
        assert raw.call("GET", "k0") == b"$200\r\n" + VALUE + b"\r\n"
    finally:
        raw.close()


def test_evicted_event(ev, one_shard):
    sub = RawClient(one_shard.port)
    try:
        ev.config_set("notify-keyspace-events", "Ee")
        sub.call("SUBSCRIBE", "__keyevent@0__:evicted")
        ev.config_set("maxmemory", LIMIT)
        ev.config_set("maxmemory-policy", "allkeys-random")
        fill(ev, "k", 1000)
        msg = sub.read_reply()
        assert msg.startswith(b"*3\r\n$7\r\nmessage\r\n$22\r\n__keyevent@0__:evicted\r\n$")
        key = msg.split(b"\r\n")[-2].decode()
        assert key.startswith("k") and not ev.exists(key)
    finally:
        ev.config_set("notify-keyspace-events", "")
        sub.close()


def test_s3fifo_keeps_a_hot_set_through_a_scan(ev):
    """A hot set read a few times, then a scan of cold keys several times maxmemory:
    S3-FIFO keeps the hot keys in its main queue while the scan passes through the small
    one."""
    ev.config_set("maxmemory", LIMIT)
    ev.config_set("maxmemory-policy", "allkeys-s3fifo")
    hot = [f"hot{i}" for i in range(40)]
    for k in hot:
        ev.set(k, VALUE)
    for _ in range(3):
        p = ev.pipeline(transaction=False)
        for k in hot:
            p.get(k)
        p.execute()
    fill(ev, "scan", 2000)
    assert ev.info("stats")["evicted_keys"] > 1000
    assert len(alive(ev, hot)) >= 36


def test_noeviction_in_multi_and_scripts(ev):
    """Out of memory, a transaction is refused whole (EXECABORT: the commands queued
    answered -OOM, see test_oom_inside_multi_as_redis); a script's redis.call of a
    denyoom command raises it, its reads go on."""
    ev.config_set("maxmemory", LIMIT)
    fill_until_oom(ev)
    _router_knows_oom(RawClient(ev.connection_pool.connection_kwargs["port"]))
    p = ev.pipeline(transaction=True)
    p.get("k0")
    p.set("m", "1")
    with pytest.raises(redis.ResponseError, match="EXECABORT|command not allowed"):
        p.execute()
    with pytest.raises(redis.ResponseError, match="OOM|command not allowed"):
        ev.eval("return redis.call('set', KEYS[1], 'x')", 1, "s")
    assert ev.eval("return redis.call('get', KEYS[1])", 1, "k0") == VALUE


def fill_until_oom(c: redis.Redis) -> int:
    n = 0
    while True:
        try:
            c.set(f"k{n}", VALUE)
        except redis.ResponseError as e:
            assert str(e) == "command not allowed when used memory > 'maxmemory'."
            return n
        n += 1
        assert n < 10000


def test_evictions_replay_from_the_log(tmp_path):
    """Under durability always the keys a batch evicted are logged with it: after a crash
    the replay evicts the same keys, and what is left is what the clients saw."""
    c = Shardis(str(tmp_path / "data"), shards=1, durability="always").start()
    try:
        r = redis.Redis(port=c.port)
        r.config_set("maxmemory", LIMIT)
        r.config_set("maxmemory-policy", "allkeys-random")
        fill(r, "k", 800)
        assert r.info("stats")["evicted_keys"] > 100
        before = sorted(r.keys("*"))
        r.close()
        c.kill()
        c.start()
        r = redis.Redis(port=c.port)
        assert sorted(r.keys("*")) == before
        r.close()
    finally:
        c.stop()


def _fill_to_oom(raw: RawClient) -> None:
    for n in range(10000):
        if raw.call("SET", f"k{n}", VALUE) == OOM:
            return
    raise AssertionError("never out of memory")


def _router_knows_oom(raw: RawClient) -> None:
    """The router hears of a shard's -OOM through the hub, a moment after the shard."""
    deadline = time.monotonic() + 5
    while True:
        raw.call("MULTI")
        reply = raw.call("GET", "k0")
        raw.call("DISCARD")
        if reply == OOM:
            return
        assert time.monotonic() < deadline, "the router never heard of the -OOM"
        time.sleep(0.02)


OOM_IN_MULTI = [("MULTI",), ("SET", "a", "1"), ("GET", "k0"), ("PING",), ("WATCH", "x"),
                ("MULTI",), ("SAVE",), ("CONFIG", "GET", "maxmemory"), ("EXEC",),
                ("MULTI",), ("DEL", "k0"), ("DISCARD",), ("GET", "k0"), ("EXEC",)]


def test_oom_inside_multi_as_redis(ev, redis_server):
    """Out of memory, every command inside MULTI is refused with -OOM (but EXEC, DISCARD,
    and those never allowed in MULTI), and EXEC answers EXECABORT; counted as Redis does."""
    ref = RawClient(redis_server.port)
    raw = RawClient(ev.connection_pool.connection_kwargs["port"])
    try:
        ev.config_set("maxmemory", LIMIT)
        _fill_to_oom(raw)
        _router_knows_oom(raw)
        ref.call("FLUSHALL")
        ref.call("SET", "k0", VALUE)
        ref.call("CONFIG", "SET", "maxmemory", "1")
        for c in (raw, ref):
            c.call("CONFIG", "RESETSTAT")
        for cmd in OOM_IN_MULTI:
            got, want = raw.call(*cmd), ref.call(*cmd)
            assert got == want, cmd
        figures = {}
        for c in (raw, ref):
            stats = c.call("INFO", "commandstats").decode() + c.call("INFO", "errorstats").decode()
            figures[c] = sorted(re.sub(r",usec=\d+,usec_per_call=[\d.]+", "", line)
                                for line in stats.splitlines()
                                if line.startswith(("cmdstat_", "errorstat_"))
                                and not line.startswith(("cmdstat_info", "cmdstat_config|set")))
        assert figures[raw] == figures[ref]
    finally:
        ref.call("CONFIG", "SET", "maxmemory", "0")
        ref.close()
        raw.close()


def test_exec_aborts_when_oom_began_after_queueing(ev, redis_server):
    """Transactions queued before the server ran out of memory: EXEC aborts one that holds
    a denyoom command (EXECABORT ... because of: OOM), runs one that only reads."""
    port = ev.connection_pool.connection_kwargs["port"]
    writes, reads, other = (RawClient(port) for _ in range(3))
    ref_writes, ref_reads, ref_admin = (RawClient(redis_server.port) for _ in range(3))
    try:
        ref_admin.call("FLUSHALL")
        ev.config_set("maxmemory", LIMIT)
        for c in (writes, ref_writes, reads, ref_reads):
            assert c.call("MULTI") == b"+OK\r\n"
        for c in (writes, ref_writes):
            assert c.call("SET", "a", "1") == b"+QUEUED\r\n"
        for c in (reads, ref_reads):
            assert c.call("GET", "a") == b"+QUEUED\r\n"
        _fill_to_oom(other)
        _router_knows_oom(other)
        ref_admin.call("CONFIG", "SET", "maxmemory", "1")
        assert writes.call("EXEC") == ref_writes.call("EXEC") == \
            b"-EXECABORT Transaction discarded because of: " + OOM[1:]
        assert writes.call("EXEC") == ref_writes.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
        assert reads.call("EXEC") == ref_reads.call("EXEC") == b"*1\r\n$-1\r\n"
    finally:
        ref_admin.call("CONFIG", "SET", "maxmemory", "0")
        for c in (writes, reads, other, ref_writes, ref_reads, ref_admin):
            c.close()


def test_cross_shard_writes_answer_oom(tmp_path):
    """A write the coordinator would run over several shards (MSET, SUNIONSTORE ...)
    answers -OOM, as a write on one shard does, once a shard of its keys is out of memory
    (the router hears it through the hub); reads over shards and deletes still run."""
    c = Shardis(str(tmp_path / "data"), shards=2).start()
    try:
        raw = RawClient(c.port)
        raw.call("CONFIG", "SET", "maxmemory", str(LIMIT))
        _fill_to_oom(raw)
        deadline = time.monotonic() + 5
        while True:  # (the router hears through the hub: PING in MULTI answers -OOM then)
            raw.call("MULTI")
            reply = raw.call("PING")
            raw.call("DISCARD")
            if reply == OOM:
                break
            assert time.monotonic() < deadline, "the router never heard of the -OOM"
            time.sleep(0.02)
        pairs = [a for n in range(20) for a in (f"m{n}", "x")]
        assert raw.call("MSET", *pairs) == OOM
        assert raw.call("SUNIONSTORE", "dest", "k1", "k2", "k3") == OOM
        assert raw.call("MGET", "k1", "k2", "k3").startswith(b"*3\r\n")
        assert raw.call("EXISTS", *(f"m{n}" for n in range(20))) == b":0\r\n"
        assert raw.call("DEL", *(f"k{n}" for n in range(40))).startswith(b":")
        stats = raw.call("INFO", "commandstats").decode()
        assert "cmdstat_mset:calls=0," in stats and "rejected_calls=1," in stats
        raw.close()
    finally:
        c.stop()
