"""HyperLogLog against a real redis-server 7.0: replies, and the stored bytes themselves
(GET), compared byte for byte."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shardis.shardd import hyperloglog as hll
from tests.helpers import RawClient, compare_keyspace_events, parse_reply
from tests.test_notifications import Watched

EMPTY_SPARSE = b"HYLL\x01" + bytes(11) + b"\x7f\xff"
CORRUPT_SPARSE = b"HYLL\x01" + bytes(11) + b"\x7f\xfe"       # 16383 registers only
CORRUPT_SPARSE_LONG = b"HYLL\x01" + bytes(11) + b"\x7f\xff\x80"  # 16385
BAD_DENSE = b"HYLL\x00" + bytes(11) + bytes(100)                # wrong length
BAD_ENCODING = b"HYLL\x02" + bytes(11) + b"\x7f\xff"

CASES = {
    "pfadd_pfcount": [
        ("PFADD", "h"), ("GET", "h"), ("PFCOUNT", "h"), ("GET", "h"), ("PFADD", "h"),
        ("PFADD", "h", "a", "b", "c"), ("GET", "h"), ("PFADD", "h", "a"), ("PFCOUNT", "h"), ("GET", "h"),
        ("PFADD", "h", "d", "e", "f", "g", "h", "i", "a"), ("PFCOUNT", "h"), ("PFCOUNT", "h"),
        ("PFCOUNT", "nokey"), ("PFADD", "h2", ""), ("PFCOUNT", "h2"), ("GET", "h2"),
        ("PFADD",), ("PFCOUNT",), ("EXISTS", "nokey"),
    ],
    "pfcount_many": [
        ("PFADD", "{t}a", "1", "2", "3"), ("PFADD", "{t}b", "3", "4", "5", "6"),
        ("PFCOUNT", "{t}a", "{t}b"), ("PFCOUNT", "{t}a", "{t}b", "{t}none"),
        ("PFCOUNT", "{t}none", "{t}none2"),
        ("GET", "{t}a"), ("PFADD", "a", "x", "y"), ("PFADD", "b", "y", "z", "w"), ("PFADD", "c", "q"),
        ("PFCOUNT", "a", "b", "c"), ("PFCOUNT", "a", "b", "c", "nokey", "k1"), ("GET", "a"),
        ("SET", "s", "foo"), ("PFCOUNT", "a", "s"), ("PFCOUNT", "s", "a"), ("LPUSH", "l", "x"),
        ("PFCOUNT", "a", "l"), ("PFCOUNT", "{t}a", "{t}l"),
    ],
    "pfmerge": [
        ("PFADD", "{t}a", "1", "2", "3"), ("PFADD", "{t}b", "3", "4", "5", "6"),
        ("PFMERGE", "{t}d", "{t}a", "{t}b"), ("GET", "{t}d"), ("PFCOUNT", "{t}d"),
        ("PFMERGE", "{t}d"), ("GET", "{t}d"), ("PFMERGE", "{t}e"), ("GET", "{t}e"),
        ("PFMERGE", "{t}a", "{t}b"), ("GET", "{t}a"), ("PFMERGE", "{t}f", "{t}none"), ("GET", "{t}f"),
        ("PFADD", "x", "p", "q"), ("PFADD", "y", "r"), ("PFMERGE", "z", "x", "y", "nokey"),
        ("GET", "z"), ("PFCOUNT", "z"), ("PFMERGE", "x", "y"), ("GET", "x"),
        ("SET", "s", "foo"), ("PFMERGE", "s", "x"), ("PFMERGE", "x", "s"), ("LPUSH", "l", "1"),
        ("PFMERGE", "x", "l"), ("PFMERGE", "l", "x"), ("PFMERGE",),
        ("SET", "t", "v", "EX", "100"), ("DEL", "t"), ("PFADD", "t", "a"), ("EXPIRE", "t", "100"),
        ("PFMERGE", "t", "x"), ("TTL", "t"), ("PFADD", "t", "zz"), ("TTL", "t"),
    ],
    "invalid_values": [
        ("SET", "s", "foo"), ("PFADD", "s", "a"), ("PFCOUNT", "s"), ("PFDEBUG", "GETREG", "s"),
        ("SET", "s", "123456789012345678"), ("PFADD", "s", "a"),
        ("SET", "c", CORRUPT_SPARSE), ("PFCOUNT", "c"), ("PFADD", "c", "a"), ("GET", "c"),
        ("PFMERGE", "d", "c"), ("PFCOUNT", "c", "c"), ("PFDEBUG", "GETREG", "c"), ("PFDEBUG", "TODENSE", "c"),
        ("PFDEBUG", "DECODE", "c"), ("PFDEBUG", "ENCODING", "c"),
        ("SET", "c2", CORRUPT_SPARSE_LONG), ("PFCOUNT", "c2"), ("PFMERGE", "d", "c2"),
        ("SET", "bd", BAD_DENSE), ("PFCOUNT", "bd"), ("PFADD", "bd", "x"),
        ("SET", "be", BAD_ENCODING), ("PFCOUNT", "be"), ("PFMERGE", "be", "c"),
        ("SET", "e", EMPTY_SPARSE), ("PFCOUNT", "e"), ("PFADD", "e", "a"), ("GET", "e"),
        ("LPUSH", "l", "x"), ("PFADD", "l", "a"), ("PFCOUNT", "l"), ("PFDEBUG", "GETREG", "l"),
    ],
    "pfdebug": [
        ("PFADD", "h", "a", "b", "c", "d"), ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"),
        ("PFDEBUG", "decode", "h"), ("PFDEBUG", "FOO", "h"), ("PFDEBUG", "GETREG", "nokey"),
        ("PFDEBUG", "FOO", "nokey"), ("PFDEBUG", "TODENSE", "h"), ("PFDEBUG", "TODENSE", "h"),
        ("PFDEBUG", "ENCODING", "h"), ("PFDEBUG", "DECODE", "h"), ("GET", "h"), ("PFCOUNT", "h"),
        ("PFADD", "h", "e"), ("GET", "h"), ("PFCOUNT", "h"), ("PFADD", "g", "x"),
        ("PFDEBUG", "GETREG", "g"), ("PFDEBUG", "ENCODING", "g"), ("GET", "g"),
        ("PFDEBUG", "GETREG", "h", "x"), ("PFDEBUG", "GETREG"), ("PFSELFTEST", "x"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_resp3(pair3, name):
    for args in CASES[name]:
        pair3.check(*args)


def test_selftest(pair):
    pair.check("PFSELFTEST")


def _fill(pair, key, elements, chunk=500):
    for i in range(0, len(elements), chunk):
        pair.check("PFADD", key, *elements[i:i + chunk])


def test_sparse_to_dense_and_bytes(pair):
    """Growing HLLs pass from sparse to dense at Redis' point, every step byte for byte."""
    rng = random.Random(11)
    for n in (10, 100, 700, 1500, 4000, 30000):
        key = f"h{n}"
        elements = [f"e{rng.random()}" for _ in range(n)]
        _fill(pair, key, elements, chunk=97)
        pair.check("GET", key)
        pair.check("PFCOUNT", key)
        pair.check("GET", key)
        pair.check("PFDEBUG", "ENCODING", key)


def test_merge_mixed_encodings(pair):
    rng = random.Random(12)
    for i, (na, nb) in enumerate([(10, 20), (2000, 30), (50, 5000), (6000, 7000), (0, 900)]):
        a, b = f"{{m{i}}}a", f"{{m{i}}}b"
        _fill(pair, a, [str(rng.random()) for _ in range(na)])
        _fill(pair, b, [str(rng.random()) for _ in range(nb)])
        pair.check("PFMERGE", f"{{m{i}}}d", a, b)
        pair.check("GET", f"{{m{i}}}d")
        pair.check("PFMERGE", a, b)
        pair.check("GET", a)
        pair.check("PFCOUNT", a, b)
        pair.check("PFMERGE", f"x{i}", a, b, "k1", "k2")  # across shards
        pair.check("GET", f"x{i}")
        pair.check("PFCOUNT", f"x{i}", a, "k3")


def test_sparse_max_bytes(pair):
    try:
        for limit in ("0", "50", "200", "20000"):
            pair.check("CONFIG", "SET", "hll-sparse-max-bytes", limit)
            pair.check("CONFIG", "GET", "hll-sparse-max-bytes")
            key = "lim" + limit
            _fill(pair, key, [str(i) for i in range(3000)], chunk=7)
            pair.check("GET", key)
            pair.check("PFMERGE", key + "m", key)
            pair.check("GET", key + "m")
    finally:
        pair.check("CONFIG", "SET", "hll-sparse-max-bytes", "3000")


def test_values_copied_both_ways(shardis_server, redis_server):
    """An HLL made by Redis, SET into shardis (and the reverse), counts and grows alike."""
    s, r = RawClient(shardis_server.port), RawClient(redis_server.port)
    try:
        for c in (s, r):
            c.call("FLUSHALL")
        for n in (5, 3000, 20000):
            elements = [f"v{n}-{i}" for i in range(n)]
            for i in range(0, n, 1000):
                r.call("PFADD", "from_redis", *elements[i:i + 1000])
                s.call("PFADD", "from_shardis", *elements[i:i + 1000])
            vr = parse_reply(r.call("GET", "from_redis"))
            vs = parse_reply(s.call("GET", "from_shardis"))
            assert vr == vs
            s.call("SET", "copy", vr)
            r.call("SET", "copy", vs)
            assert s.call("PFCOUNT", "copy") == r.call("PFCOUNT", "copy")
            assert s.call("PFADD", "copy", "more", "and more") == r.call("PFADD", "copy", "more", "and more")
            assert s.call("GET", "copy") == r.call("GET", "copy")
    finally:
        s.close()
        r.close()


def test_events(pair, shardis_server, redis_server):
    cmds = [("PFADD", "{e}a", "x"), ("PFADD", "{e}a", "x"), ("PFCOUNT", "{e}a"),
            ("PFMERGE", "{e}b", "{e}a", "{e}z"), ("PFDEBUG", "TODENSE", "{e}b")]
    events = compare_keyspace_events(pair, shardis_server.port, redis_server.port, cmds)
    assert len(events) > 4, events


def test_keymiss_across_shards(shardis_server, redis_server):
    """PFCOUNT of several keys reads each as Redis' lookupKeyRead does: a "keymiss" for
    each missing one, from its own shard, also when the keys span shards (the coordinator
    runs it), before a WRONGTYPE, in MULTI/EXEC and in a script."""
    w = Watched(shardis_server.port, redis_server.port, "KEAm")
    try:
        # (b, h2 -> shard 0; c, h1 -> 1; a, d -> 2)
        w.run(("PFADD", "b", "x"), ("PFCOUNT", "b", "c", "a"), ("PFCOUNT", "c"), ("PFCOUNT", "b", "h2"),
              ("PFCOUNT", "c", "h1", "a", "b"), ("SET", "d", "s"), ("PFCOUNT", "c", "a", "d"),
              ("MULTI",), ("PFCOUNT", "a", "b", "c"), ("EXEC",),
              ("EVAL", "return redis.call('pfcount', KEYS[1], KEYS[2], KEYS[3])", "3", "a", "b", "c"))
        misses = [m[3] for m in w.compare() if m[3] == b"keymiss"]
        assert len(misses) == 13, misses
    finally:
        w.close()


def test_unit_registers():
    rng = random.Random(3)
    regs = bytes(rng.randrange(64) for _ in range(hll.HLL_REGISTERS))
    assert hll.dense_registers(hll.pack_registers(regs)) == regs
    assert hll.murmurhash64a(b"") != hll.murmurhash64a(b"\0")
    o = hll.new_hll()
    assert bytes(o) == EMPTY_SPARSE and hll.hll_count(o) == (0, True)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.binary(max_size=10), max_size=300), min_size=1, max_size=4),
       st.integers(0, 200))
def test_counts_random(pair, sets, bulk):
    """PFCOUNT of random sets (and of their union, across shards) equals Redis' exactly."""
    keys = ["ra", "rb", "rc", "rd"][:len(sets)]
    pair.check("DEL", *keys)
    for key, elements in zip(keys, sets):
        elements = elements + [b"bulk%d" % i for i in range(bulk * 30)]
        for i in range(0, len(elements), 1000):
            pair.check("PFADD", key, *elements[i:i + 1000]) if elements[i:i + 1000] else None
        pair.check("PFCOUNT", key)
        pair.check("GET", key)
    pair.check("PFCOUNT", *keys)
    pair.check("PFMERGE", "rm", *keys)
    pair.check("GET", "rm")


def test_in_transactions_across_shards(pair):
    """BITOP, PFMERGE and PFCOUNT over shards inside MULTI/EXEC, with WATCH."""
    for args in [("SET", "a", "foo"), ("SET", "b", "bar"), ("PFADD", "k1", "x", "y"), ("PFADD", "k2", "z"),
                 ("WATCH", "a"), ("MULTI",), ("BITOP", "XOR", "d", "a", "b"), ("PFMERGE", "m", "k1", "k2"),
                 ("PFCOUNT", "k1", "k2", "m"), ("SETBIT", "a", "3", "1"), ("GET", "d"), ("EXEC",),
                 ("GET", "m"), ("GET", "a"), ("WATCH", "k1"), ("PFADD", "k1", "x"), ("MULTI",),
                 ("PFCOUNT", "k1", "k2"), ("EXEC",), ("WATCH", "k1"), ("PFCOUNT", "k1"), ("MULTI",),
                 ("PFCOUNT", "k1", "k2"), ("EXEC",)]:
        pair.check(*args)
