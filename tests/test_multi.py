"""MULTI / EXEC / DISCARD / WATCH / UNWATCH, compared with redis-server, with keys
deliberately on different shards (the session cluster has 3: a, d -> 2, b, f -> 0,
c, g -> 1); and the atomicity of multi-key commands across shards."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from shardis.slots import key_slot, slot_table
from tests.helpers import Pair


def test_keys_are_spread():
    t = slot_table(3)
    assert {t[key_slot(k)] for k in (b"a", b"b", b"c")} == {0, 1, 2}


def test_outside_multi(pair):
    pair.check("EXEC")
    pair.check("DISCARD")
    pair.check("UNWATCH")
    pair.check("WATCH")
    pair.check("MULTI", "x")


@pytest.mark.parametrize("proto", [2, 3])
def test_queueing_and_replies(pair, pair3, proto):
    p = pair if proto == 2 else pair3
    p.check("MULTI")
    p.check("MULTI")                      # nested: an error, not queued, no abort
    p.check("WATCH", "a")                 # likewise
    p.check("SET", "a", "1")
    p.check("SET", "b", "2")
    p.check("GET", "c")
    p.check("MGET", "a", "b", "c")        # across shards, inside the transaction
    p.check("UNWATCH")
    p.check("PING")
    p.check("ECHO", "hi")
    p.check("EXEC")
    p.check("MULTI")
    p.check("EXEC")                       # empty
    p.check("MULTI")
    p.check("INCR", "s")
    p.check("LPUSH", "s", "x")            # a runtime error: reported, nothing rolled back
    p.check("INCR", "s")
    p.check("EXEC")
    p.check("GET", "s")


def test_queue_time_errors_abort(pair):
    for bad in (("SET", "a"), ("NOSUCHCMD", "x"), ("SAVE",)):
        pair.check("MULTI")
        pair.check("SET", "b", "1")
        pair.check(*bad)
        pair.check("GET", "b")
        pair.check("EXEC")
        pair.check("EXISTS", "b")        # nothing ran


def test_discard_quit_reset(pair):
    pair.check("MULTI")
    pair.check("SET", "a", "1")
    pair.check("DISCARD")
    pair.check("EXISTS", "a")
    pair.check("MULTI")
    pair.check("SET", "a", "1")
    pair.both("RESET")
    pair.check("EXEC")
    pair.check("EXISTS", "a")


def test_select_inside_multi(pair):
    pair.check("MULTI")
    pair.check("SELECT", "1")
    pair.check("SET", "x", "1")
    pair.check("SET", "b", "1")
    pair.check("SELECT", "99")
    pair.check("GET", "x")
    pair.check("EXEC")
    pair.check("GET", "x")                # still database 1
    pair.check("SELECT", "0")
    pair.check("EXISTS", "x", "b")


def test_blocking_commands_do_not_block_inside_multi(pair):
    pair.check("MULTI")
    pair.check("BLPOP", "l", "0")
    pair.check("RPUSH", "l", "v")
    pair.check("BLPOP", "l", "0")
    pair.check("BZPOPMIN", "z", "0")
    pair.check("EXEC")


def test_server_commands_inside_multi(pair):
    pair.check("MSET", "a", "1", "b", "2", "c", "3")
    pair.check("MULTI")
    pair.check("DBSIZE")
    pair.check("DEL", "a", "b")
    pair.check("DBSIZE")
    pair.check("FLUSHDB")
    pair.check("DBSIZE")
    pair.check("EXEC")


@pytest.fixture
def other(shardis_server, redis_server):
    """A second connection to each server, for the client that WATCH must notice."""
    p = Pair(shardis_server.port, redis_server.port)
    yield p
    p.close()


def _exec_after(pair):
    pair.check("MULTI")
    pair.check("GET", "a")
    pair.check("SET", "b", "new")
    return pair.check("EXEC")


@pytest.mark.parametrize("change", [
    ("SET", "a", "9"),            # the key on another shard than b
    ("SET", "b", "9"),
    ("DEL", "a"),
    ("EXPIRE", "a", "100"),
    ("SET", "a", "1"),            # the same value is still a write
    ("FLUSHDB",),
    ("FLUSHALL",),
    ("MSET", "a", "1", "c", "1"),
])
def test_watch_aborts_when_another_client_writes(pair, other, change):
    pair.check("SET", "a", "1")
    pair.check("WATCH", "a", "b")
    other.check(*change)
    assert _exec_after(pair) in (b"*-1\r\n",)
    pair.check("GET", "b")


@pytest.mark.parametrize("change", [
    ("SET", "c", "9"),            # another key
    ("GET", "a"),                 # a read
    ("DEL", "nosuch"),
])
def test_watch_runs_when_nothing_watched_changed(pair, other, change):
    pair.check("SET", "a", "1")
    pair.check("WATCH", "a", "b")
    other.check(*change)
    assert _exec_after(pair).startswith(b"*2")
    pair.check("GET", "b")


def test_watch_absent_key(pair, other):
    pair.check("WATCH", "nokey")
    other.check("SET", "nokey", "1")
    other.check("DEL", "nokey")            # absent again, but it was touched
    pair.check("MULTI")
    pair.check("SET", "b", "x")
    pair.check("EXEC")
    pair.check("WATCH", "nokey")           # absent, untouched
    pair.check("MULTI")
    pair.check("SET", "b", "y")
    pair.check("EXEC")
    pair.check("GET", "b")


def test_watch_own_writes_and_unwatch(pair):
    pair.check("WATCH", "a")
    pair.check("SET", "a", "1")            # the client's own write counts too
    pair.check("MULTI")
    pair.check("GET", "a")
    pair.check("EXEC")
    pair.check("WATCH", "a")
    pair.check("SET", "a", "2")
    pair.check("UNWATCH")
    pair.check("MULTI")
    pair.check("GET", "a")
    pair.check("EXEC")
    pair.check("WATCH", "a")
    pair.check("SET", "a", "3")
    pair.check("MULTI")
    pair.check("DISCARD")                  # DISCARD unwatches
    pair.check("MULTI")
    pair.check("GET", "a")
    pair.check("EXEC")


def test_watch_expiry(pair):
    pair.check("SET", "a", "1", "PX", "100")
    pair.check("WATCH", "a")
    time.sleep(0.3)
    pair.check("MULTI")
    pair.check("GET", "b")
    pair.check("EXEC")                     # the watched key expired meanwhile: aborted


def test_watch_in_resp3(pair3, shardis_server, redis_server):
    o = Pair(shardis_server.port, redis_server.port)
    try:
        pair3.check("WATCH", "a", "c")
        o.check("SET", "c", "1")
        pair3.check("MULTI")
        pair3.check("GET", "a")
        pair3.check("EXEC")
    finally:
        o.close()


def test_watch_across_shards_then_single_shard_commands(pair, other):
    pair.check("WATCH", "a", "b", "c")
    pair.check("MULTI")
    pair.check("SET", "b", "1")
    pair.check("EXEC")
    pair.check("WATCH", "a", "b", "c")
    other.check("SET", "c", "2")
    pair.check("MULTI")
    pair.check("SET", "b", "2")
    pair.check("EXEC")
    pair.check("GET", "b")


def test_pipelined_transaction(pair):
    cmds = [("MULTI",), ("SET", "a", "1"), ("SET", "b", "2"), ("MGET", "a", "b", "c"),
            ("EXEC",), ("GET", "a"), ("WATCH", "a"), ("MULTI",), ("INCR", "a"), ("EXEC",),
            ("GET", "a")]
    pair.check_pipeline(cmds)


def test_pipelined_cross_shard_msets_with_reads_between(pair):
    """Pipelined, these reach the coordinator together: the MSETs of one round join
    into one MSET per shard, which must still read as one after another (repeated
    keys: the last value wins; a read or a DEL between them sees exactly what came
    before it)."""
    cmds = [("MSET", "a", "1", "b", "1", "c", "1"), ("MSET", "a", "2", "a", "3", "b", "2"),
            ("MGET", "a", "b", "c"), ("MSET", "c", "4", "b", "4"), ("DEL", "a", "b"),
            ("MSET", "a", "5", "c", "5", "a", "6"), ("MSET", "b", "7"), ("MGET", "a", "b", "c"),
            ("MSET", "a", "8", "b"), ("MSET", "b", "9", "c", "9"), ("EXISTS", "a", "b", "c"),
            ("MGET", "a", "b", "c"), ("DEL", "a", "b", "c")]
    pair.check_pipeline(cmds * 3)


def test_cross_shard_commands(pair):
    pair.check("MSET", "a", "1", "b", "2", "c", "3")
    pair.check("MGET", "a", "b", "c", "d")
    pair.check("EXISTS", "a", "b", "c", "d", "a")
    pair.check("TOUCH", "a", "b", "zz")
    pair.check("MSETNX", "a", "x", "zz", "y")
    pair.check("MSETNX", "zz", "x", "yy", "y")
    pair.check("MGET", "zz", "yy")
    pair.check("RENAME", "a", "b")
    pair.check("MGET", "a", "b")
    pair.check("COPY", "b", "c")
    pair.check("COPY", "b", "c", "REPLACE")
    pair.check("UNLINK", "a", "b", "c")
    pair.check("DEL", "zz", "yy", "nope")
    pair.check("MSET", "a", "1", "b")


def test_cross_shard_mset_is_atomic(shardis_server):
    """Concurrent MSETs of one value to keys on every shard, against concurrent MGETs
    and cross-shard transactions: no reader ever sees a mix."""
    keys = [f"iso:{i}" for i in range(12)]
    assert len({slot_table(3)[key_slot(k.encode())] for k in keys}) == 3
    stop = time.monotonic() + 3
    bad = []
    counts = [0, 0]

    def writer(n):
        c = redis.Redis(port=shardis_server.port)
        i = 0
        while time.monotonic() < stop:
            i += 1
            c.mset({k: f"{n}:{i}" for k in keys})
        c.close()

    def reader(kind):
        c = redis.Redis(port=shardis_server.port)
        while time.monotonic() < stop:
            if kind == "mget":
                vals = c.mget(keys)
            else:
                p = c.pipeline(transaction=True)
                for k in keys:
                    p.get(k)
                vals = p.execute()
            if len(set(vals)) != 1:
                bad.append(vals)
            counts[kind == "multi"] += 1
        c.close()

    redis.Redis(port=shardis_server.port).mset({k: "0" for k in keys})
    threads = [threading.Thread(target=writer, args=(n,)) for n in range(3)]
    threads += [threading.Thread(target=reader, args=(k,)) for k in ("mget", "mget", "multi")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad, bad[:3]
    assert counts[0] > 10 and counts[1] > 5


def test_flushdb_dbsize_keys_are_atomic_across_shards(shardis_server):
    """FLUSHDB, DBSIZE and KEYS run on every shard in one round: against concurrent
    cross-shard MSETs of 12 keys, no MGET sees some keys flushed and others not, and
    DBSIZE and KEYS count all 12 or none."""
    keys = [f"fl:{i}" for i in range(12)]
    assert len({slot_table(3)[key_slot(k.encode())] for k in keys}) == 3
    db = 9
    redis.Redis(port=shardis_server.port, db=db).flushdb()
    stop = time.monotonic() + 3
    bad = []
    seen = {"mget": set(), "dbsize": set(), "keys": set(), "flushes": 0}

    def writer(n):
        c = redis.Redis(port=shardis_server.port, db=db)
        i = 0
        while time.monotonic() < stop:
            i += 1
            c.mset({k: f"{n}:{i}" for k in keys})
        c.close()

    def flusher():
        c = redis.Redis(port=shardis_server.port, db=db)
        while time.monotonic() < stop:
            c.flushdb()
            seen["flushes"] += 1
            time.sleep(0.002)
        c.close()

    def reader():
        c = redis.Redis(port=shardis_server.port, db=db)
        while time.monotonic() < stop:
            vals = c.mget(keys)
            if len(set(vals)) != 1:
                bad.append(vals)
            seen["mget"].add(vals[0] is None)
            n = c.dbsize()
            seen["dbsize"].add(n)
            m = len(c.keys("*"))
            seen["keys"].add(m)
        c.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=flusher), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not bad, bad[:3]
    assert seen["dbsize"] <= {0, 12} and seen["keys"] <= {0, 12}, seen
    assert seen["mget"] == {True, False} and seen["flushes"] > 10, seen
    redis.Redis(port=shardis_server.port, db=db).flushdb()


def test_watch_with_redis_py_retry_loop(shardis_server):
    """The classic optimistic-locking loop: concurrent increments through WATCH never
    lose one, with the counter and a second key on different shards."""
    r = redis.Redis(port=shardis_server.port)
    r.mset({"a": 0, "b": 0})

    def work():
        c = redis.Redis(port=shardis_server.port)
        for _ in range(30):
            with c.pipeline() as p:
                while True:
                    try:
                        p.watch("a")
                        v = int(p.get("a"))
                        p.multi()
                        p.set("a", v + 1)
                        p.incr("b")
                        p.execute()
                        break
                    except redis.WatchError:
                        continue
        c.close()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.mget("a", "b") == [b"120", b"120"]


def _on_each_router(port: int) -> tuple[redis.Redis, redis.Redis]:
    """Two clients on different router processes (CLIENT ID says which router)."""
    by_router: dict[int, redis.Redis] = {}
    spare = []
    deadline = time.monotonic() + 30  # (the second router may still be starting)
    while time.monotonic() < deadline:
        c = redis.Redis(port=port)
        by_router.setdefault(c.client_id() // 1_000_000_000, c)
        spare.append(c)
        if len(by_router) == 2:
            return by_router[0], by_router[1]
        if len(spare) % 50 == 0:
            time.sleep(0.2)
    raise AssertionError("every connection landed on one router")


def test_two_routers(tmp_path):
    """WATCH, transactions and blocking commands (on one shard and over several) hold
    when the clients are on different router processes."""
    from tests.helpers import cluster
    with cluster(tmp_path, shards=3, routers=2) as s:
        a, b = _on_each_router(s.port)
        a.set("a", 1)
        with a.pipeline() as p:
            p.watch("a", "c")
            b.set("c", 2)                      # through the other router, another shard
            p.multi()
            p.set("b", 3)
            with pytest.raises(redis.WatchError):
                p.execute()
        assert a.get("b") is None
        with a.pipeline() as p:
            p.watch("a")
            p.multi()
            p.mset({"a": 5, "b": 5, "c": 5})
            assert p.execute() == [True]
        assert b.mget("a", "b", "c") == [b"5", b"5", b"5"]

        got = {}

        def blocked(name, client, keys):
            got[name] = client.blpop(keys, 5)

        c = redis.Redis(port=s.port)
        threads = [threading.Thread(target=blocked, args=("one", a, ["q1"])),
                   threading.Thread(target=blocked, args=("many", b, ["q4", "q6"]))]
        for t in threads:
            t.start()
        time.sleep(0.3)
        c.rpush("q1", "x")
        c.rpush("q6", "y")
        for t in threads:
            t.join()
        assert got == {"one": (b"q1", b"x"), "many": (b"q6", b"y")}
