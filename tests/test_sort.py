"""SORT and SORT_RO against a real redis-server 7.0: every reply compared byte for byte.

The first tables keep every key under one hash tag (so on one shard: SORT runs there);
the ``ACROSS`` ones spread the sorted keys, the BY/GET keys and the STORE destinations
over the 3 shards of the session cluster (the coordinator runs those, see
shardd/sort.py), and the same replies, errors and events are expected."""

from __future__ import annotations

import collections
import threading
import time

import pytest

from shardis.shardd.sort import Pattern, cross_sort, sort_keys, sort_reach
from shardis.shardd.storage import Keyspace, Store
from shardis import wire
from shardis.assembly import build_table
from shardis.resp import encode
from shardis.slots import key_slot, slot_table
from tests.helpers import Pair, RawClient, parse_reply, run_in_process

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"

# A list, a set and a sorted set under tag {t}, with weights, names and a hash per element.
SETUP = [
    ("RPUSH", "{t}l", "3", "1", "2", "10", "-5", "2.5"),
    ("SADD", "{t}s", "3", "1", "2", "10", "-5"),
    ("SADD", "{t}ss", "3", "1", "2.5", "x1", "-5"),
    ("ZADD", "{t}z", "5", "3", "4", "1", "3", "2", "2", "10", "1", "-5"),
    ("MSET", "{t}w_3", "30", "{t}w_1", "10", "{t}w_2", "20", "{t}w_10", "-1", "{t}w_-5", "7",
     "{t}w_2.5", "0.5", "{t}n_3", "three", "{t}n_1", "one", "{t}n_2", "two", "{t}n_10", "ten"),
    ("HSET", "{t}h_3", "f", "c", "g", "9"), ("HSET", "{t}h_1", "f", "a", "g", "8"),
    ("HSET", "{t}h_2", "f", "b", "g", "7"), ("HSET", "{t}h_10", "f", "z"),
]

CASES = {
    "numeric": [
        ("SORT", "{t}l"), ("SORT", "{t}l", "DESC"), ("SORT", "{t}l", "ASC"),
        ("SORT", "{t}s"), ("SORT", "{t}s", "desc"), ("SORT", "{t}z"), ("SORT", "{t}z", "DESC"),
        ("SORT", "{t}l", "DESC", "ASC"), ("SORT", "{t}l", "ASC", "DESC"), ("SORT_RO", "{t}l"),
        ("SORT_RO", "{t}z", "DESC"), ("SORT", "{t}ss"),
    ],
    "alpha": [
        ("SORT", "{t}l", "ALPHA"), ("SORT", "{t}l", "ALPHA", "DESC"), ("SORT", "{t}ss", "ALPHA"),
        ("SORT", "{t}ss", "alpha", "desc"), ("SORT", "{t}z", "ALPHA"), ("SORT_RO", "{t}s", "ALPHA"),
        ("RPUSH", "{t}a", "b", "a", "B", "ab", "", "\xe9", "z", "aa", "10", "9"),
        ("SORT", "{t}a", "ALPHA"), ("SORT", "{t}a", "ALPHA", "DESC"), ("SORT", "{t}a"),
        # strcoll stops at a NUL byte: these tie and keep the list's order (both ways).
        ("RPUSH", "{t}nul", "b\x00z", "c", "b\x00a", "b", "a\x00"), ("SORT", "{t}nul", "ALPHA"),
        ("SORT", "{t}nul", "ALPHA", "DESC"), ("SORT", "{t}nul", "ALPHA", "LIMIT", "1", "2"),
        # Missing BY values sort first (ASC) and tie: list order again.
        ("RPUSH", "{t}m", "q", "1", "p", "2", "3", "r"), ("SORT", "{t}m", "BY", "{t}n_*", "ALPHA"),
        ("SORT", "{t}m", "BY", "{t}n_*", "ALPHA", "DESC"), ("SORT", "{t}m", "BY", "{t}h_*->f", "ALPHA"),
        ("SORT", "{t}m", "BY", "{t}h_*->f", "ALPHA", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}m", "BY", "{t}w_*"), ("SORT", "{t}m", "BY", "{t}w_*", "DESC"),
    ],
    "limit": [
        ("SORT", "{t}l", "LIMIT", "0", "2"), ("SORT", "{t}l", "LIMIT", "1", "3"),
        ("SORT", "{t}l", "LIMIT", "-5", "2"), ("SORT", "{t}l", "LIMIT", "0", "-3"),
        ("SORT", "{t}l", "LIMIT", "5", "1"), ("SORT", "{t}l", "LIMIT", "6", "1"),
        ("SORT", "{t}l", "LIMIT", "100", "10"), ("SORT", "{t}l", "LIMIT", "0", "0"),
        ("SORT", "{t}l", "LIMIT", "2", "0"), ("SORT", "{t}l", "LIMIT", "1", BIG),
        ("SORT", "{t}l", "LIMIT", "2", BIG), ("SORT", "{t}l", "LIMIT", BIG, BIG),
        ("SORT", "{t}l", "LIMIT", SMALL, "2"), ("SORT", "{t}l", "LIMIT", "0", SMALL),
        ("SORT", "{t}l", "LIMIT", "1", "2", "DESC"), ("SORT", "{t}l", "DESC", "LIMIT", "1", "2"),
        ("SORT", "{t}l", "LIMIT", "1", "1", "LIMIT", "0", "2"), ("SORT", "{t}s", "LIMIT", "1", "2"),
        ("SORT", "{t}z", "LIMIT", "1", "2", "DESC"), ("SORT", "{t}l", "ALPHA", "LIMIT", "2", "3"),
        ("SORT", "{t}l", "LIMIT", "x", "1"), ("SORT", "{t}l", "LIMIT", "1", "x"),
        ("SORT", "{t}l", "LIMIT", "1.5", "1"), ("SORT", "{t}l", "LIMIT", "9223372036854775808", "1"),
        ("SORT", "{t}l", "LIMIT", "1"), ("SORT", "{t}l", "LIMIT"), ("SORT", "{t}l", "LIMIT", "", "1"),
        ("SORT", "{t}none", "LIMIT", "0", "1"), ("SORT", "{t}none", "LIMIT", "x", "1"),
    ],
    "nosort": [
        ("SORT", "{t}l", "BY", "nosort"), ("SORT", "{t}l", "BY", "nosort", "DESC"),
        ("SORT", "{t}l", "BY", "nosort", "LIMIT", "1", "2"),
        ("SORT", "{t}l", "BY", "nosort", "LIMIT", "1", "2", "DESC"),
        ("SORT", "{t}l", "BY", "nosort", "LIMIT", "4", "10", "DESC"),
        ("SORT", "{t}l", "BY", "nosort", "LIMIT", "-3", "2", "DESC"),
        ("SORT", "{t}l", "BY", "nosort", "LIMIT", "9", "2"),
        ("SORT", "{t}l", "BY", "nosort", "ALPHA"), ("SORT", "{t}l", "BY", "{t}const"),
        ("SORT", "{t}z", "BY", "nosort"), ("SORT", "{t}z", "BY", "nosort", "DESC"),
        ("SORT", "{t}z", "BY", "nosort", "LIMIT", "1", "3"),
        ("SORT", "{t}z", "BY", "nosort", "LIMIT", "1", "3", "DESC"),
        ("SORT", "{t}z", "BY", "nosort", "LIMIT", "5", "3", "DESC"),
        ("SORT", "{t}z", "BY", "nosort", "LIMIT", "0", "0", "DESC"),
        ("SORT", "{t}z", "BY", "nosort", "LIMIT", "7", "1"),
        ("SORT", "{t}s", "BY", "nosort"), ("SORT", "{t}s", "BY", "nosort", "DESC"),
        ("SORT", "{t}s", "BY", "nosort", "LIMIT", "1", "2"),
        ("SORT", "{t}s", "BY", "nosort", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}s", "BY", "nosort", "DESC", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}ss", "BY", "nosort", "STORE", "{t}d", "LIMIT", "1", "3"),
        ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}l", "BY", "nosort", "GET", "#", "GET", "{t}n_*"),
        ("SORT", "{t}z", "BY", "nosort", "GET", "{t}h_*->f", "LIMIT", "0", "3"),
        ("SORT", "{t}l", "BY", "{t}w_*", "BY", "nosort"), ("SORT", "{t}l", "BY", "nosort", "BY", "{t}w_*"),
    ],
    "by": [
        ("SORT", "{t}l", "BY", "{t}w_*"), ("SORT", "{t}l", "BY", "{t}w_*", "DESC"),
        ("SORT", "{t}s", "BY", "{t}w_*"), ("SORT", "{t}z", "BY", "{t}w_*"),
        ("SORT", "{t}l", "BY", "{t}w_*", "LIMIT", "1", "3"),
        ("SORT", "{t}l", "BY", "{t}h_*->g"), ("SORT", "{t}l", "BY", "{t}h_*->g", "DESC"),
        ("SORT", "{t}l", "BY", "{t}n_*", "ALPHA"), ("SORT", "{t}s", "BY", "{t}n_*", "ALPHA", "DESC"),
        ("SORT", "{t}s", "BY", "{t}h_*->f", "ALPHA"), ("SORT", "{t}z", "BY", "{t}h_*->f", "ALPHA"),
        ("SORT", "{t}l", "BY", "{t}n_*"), ("SORT", "{t}l", "BY", "{t}h_*->f"),
        ("SORT", "{t}l", "BY", "{t}h_*->nofield"), ("SORT", "{t}l", "BY", "{t}nokey_*"),
        ("SORT", "{t}l", "BY", "{t}h_*"), ("SORT", "{t}l", "BY", "{t}n_*->f"),
        ("SORT", "{t}l", "BY", "{t}w_*->"), ("SORT", "{t}l", "BY", "{t}w_*", "ALPHA"),
        ("SORT", "{t}l", "BY", "{t}w_*", "GET", "#", "GET", "{t}w_*"),
    ],
    "get": [
        ("SORT", "{t}l", "GET", "#"), ("SORT", "{t}l", "GET", "{t}n_*"),
        ("SORT", "{t}l", "GET", "#", "GET", "{t}n_*", "GET", "{t}h_*->f"),
        ("SORT", "{t}s", "GET", "{t}h_*->g", "DESC"), ("SORT", "{t}z", "GET", "{t}n_*", "LIMIT", "1", "2"),
        ("SORT", "{t}l", "GET", "{t}h_*"), ("SORT", "{t}l", "GET", "{t}n_*->f"),
        ("SORT", "{t}l", "GET", "{t}const"), ("SORT", "{t}l", "GET", "{t}h_*->"),
        ("SORT", "{t}l", "GET", "{t}h_*->f", "LIMIT", "0", "0"), ("SORT", "{t}l", "GET"),
        ("SORT", "{t}l", "GET", "{t}##"), ("SORT", "{t}none", "GET", "#", "GET", "{t}n_*"),
        ("SORT", "{t}l", "GET", "{t}w_*-*"), ("SORT", "{t}l", "GET", "{t}*_1"),
    ],
    "store": [
        ("SORT", "{t}l", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"), ("TYPE", "{t}d"),
        ("SORT", "{t}l", "DESC", "LIMIT", "1", "2", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}l", "GET", "{t}n_*", "GET", "#", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}s", "ALPHA", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}z", "BY", "nosort", "DESC", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SET", "{t}str", "x"), ("EXPIRE", "{t}str", "100"), ("SORT", "{t}l", "STORE", "{t}str"),
        ("TYPE", "{t}str"), ("TTL", "{t}str"), ("LRANGE", "{t}str", "0", "-1"),
        ("SORT", "{t}l", "STORE", "{t}h_1"), ("TYPE", "{t}h_1"),
        ("SORT", "{t}none", "STORE", "{t}d"), ("EXISTS", "{t}d"),
        ("SORT", "{t}l", "LIMIT", "0", "0", "STORE", "{t}str"), ("EXISTS", "{t}str"),
        ("SORT", "{t}none", "STORE", "{t}d"), ("SORT", "{t}l", "STORE", "{t}l", "DESC"),
        ("LRANGE", "{t}l", "0", "-1"), ("SORT", "{t}l", "STORE", "{t}d", "STORE", "{t}e"),
        ("EXISTS", "{t}d"), ("LRANGE", "{t}e", "0", "-1"), ("SORT", "{t}l", "STORE"),
        ("SORT_RO", "{t}l", "STORE", "{t}d"), ("SORT_RO", "{t}l", "store"),
        ("SORT", "{t}l", "GET", "{t}nokey_*", "STORE", "{t}d"), ("LRANGE", "{t}d", "0", "-1"),
        ("SORT", "{t}l", "BY", "{t}n_*", "STORE", "{t}d"), ("EXISTS", "{t}d"),
        ("RPUSH", "{t}e2", "b\x00z", "b\x00a", "b"), ("SORT", "{t}e2", "ALPHA", "STORE", "{t}d"),
        ("LRANGE", "{t}d", "0", "-1"), ("SORT", "{t}l", "STORE", "{t}z"), ("TYPE", "{t}z"),
    ],
    "conversion_errors": [
        ("RPUSH", "{t}bad", "1", "x", "2"), ("SORT", "{t}bad"), ("SORT", "{t}bad", "ALPHA"),
        ("SORT", "{t}bad", "BY", "nosort"), ("SORT", "{t}bad", "STORE", "{t}d"), ("EXISTS", "{t}d"),
        ("SORT", "{t}bad", "LIMIT", "0", "1"), ("SORT", "{t}bad", "BY", "{t}w_*"),
        ("SORT", "{t}l", "BY", "{t}n_*", "LIMIT", "0", "1"),
        ("RPUSH", "{t}num", " 5", "0x10", "1e3", "inf", "-inf", "", "+3", "-0", "0"),
        ("SORT", "{t}num", "LIMIT", "0", "5"), ("SORT", "{t}num"),
        ("SORT", "{t}num", "DESC"), ("RPUSH", "{t}n2", "nan"), ("SORT", "{t}n2"),
        ("RPUSH", "{t}n5", "5 "), ("SORT", "{t}n5"), ("RPUSH", "{t}n6", "0x1p-1030", "3\x00junk"),
        ("SORT", "{t}n6"), ("RPUSH", "{t}n7", "1", "01", "1.0", "001"), ("SORT", "{t}n7"),
        ("SORT", "{t}n7", "DESC"),
    ],
    "syntax": [
        ("SORT", "{t}l", "FOO"), ("SORT", "{t}l", "BY"), ("SORT", "{t}l", "ASC", "FOO", "LIMIT", "x", "1"),
        ("SORT", "{t}l", "LIMIT", "x", "1", "FOO"), ("SORT", "{t}none", "FOO"),
        ("SET", "{t}str", "x"), ("SORT", "{t}str"), ("SORT", "{t}str", "FOO"),
        ("SORT", "{t}str", "LIMIT", "x", "1"), ("SORT", "{t}str", "BY", "nosort"),
        ("SORT", "{t}h_1"), ("SORT_RO", "{t}str"), ("SORT", "{t}str", "STORE", "{t}d"),
        ("SORT",), ("SORT_RO",), ("sort", "{t}l", "alpha", "Desc", "limit", "0", "2"),
        ("SORT", "{t}l", "ALPHA\x00x"), ("SORT", "{t}none"), ("SORT_RO", "{t}none", "BY", "{t}w_*"),
    ],
    "encoding": [
        ("ZADD", "{t}e", "1", "a", "2", "b"), ("OBJECT", "ENCODING", "{t}e"), ("SORT_RO", "{t}e", "ALPHA"),
        ("OBJECT", "ENCODING", "{t}e"), ("ZRANGE", "{t}e", "0", "-1", "WITHSCORES"),
        ("ZADD", "{t}f", "1", "a"), ("SORT", "{t}f", "LIMIT", "x", "1"), ("OBJECT", "ENCODING", "{t}f"),
        ("SORT", "{t}f", "ALPHA"), ("OBJECT", "ENCODING", "{t}f"),
    ],
}


def _setup(pair: Pair) -> None:
    for args in SETUP:
        pair.check(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    _setup(pair)
    for args in CASES[name]:
        pair.check(*args)


@pytest.mark.parametrize("weight", ["1e400", "-1e400", "1e-400", "1e-310", "4.9e-324"])
def test_out_of_range_weights(pair, weight):
    """strtod's ERANGE (overflow, underflow) refuses a weight. Alone in its test: Redis
    never clears errno before strtod, so a later SORT on the same connection could
    still see this one's ERANGE."""
    pair.check("RPUSH", "{t}l", "1", weight)
    pair.check("SORT", "{t}l")


def test_expired_keys(pair):
    """An expired source reads as missing; so does an expired BY/GET key."""
    _setup(pair)
    pair.check("RPUSH", "{t}x", "2", "1")
    pair.check("PEXPIRE", "{t}x", "20")
    pair.check("PEXPIRE", "{t}n_1", "20")
    time.sleep(0.05)
    for args in [("SORT", "{t}x"), ("EXISTS", "{t}x"), ("SORT", "{t}l", "GET", "{t}n_*"),
                 ("SORT", "{t}l", "BY", "{t}n_*", "ALPHA")]:
        pair.check(*args)


def test_resp3(pair3):
    """RESP3: SORT answers an array (nulls as RESP3 nulls), STORE an integer."""
    _setup(pair3)
    for name in ("numeric", "get", "store", "nosort", "syntax"):
        for args in CASES[name]:
            pair3.check(*args)


def test_unordered_hashtable_set(pair):
    """BY nosort on a hashtable set: Redis answers in its table's order."""
    pair.check("SADD", "{t}hs", "a", "b", "c", "1")
    pair.check_unordered("SORT", "{t}hs", "BY", "nosort")
    pair.check_unordered("SORT", "{t}hs", "BY", "nosort", "LIMIT", "0", "9")
    got = parse_reply(pair.s.call("SORT", "{t}hs", "BY", "nosort", "LIMIT", "1", "2"))
    assert len(got) == 2 and set(got) <= {b"a", b"b", b"c", b"1"}


def test_store_on_another_shard(pair):
    """A STORE destination on another shard (a, b): sorted there, stored here."""
    pair.check("RPUSH", "a", "3", "1", "2")
    pair.check("SORT", "a", "STORE", "b")
    pair.check("LRANGE", "b", "0", "-1")
    pair.check("SORT", "a", "DESC", "LIMIT", "0", "2", "STORE", "x", "STORE", "b")
    pair.check("LRANGE", "b", "0", "-1")
    pair.check("SORT", "nokey", "STORE", "b")
    pair.check("EXISTS", "b")
    pair.check("SET", "c", "1")
    pair.check("SORT", "c", "STORE", "b")
    pair.check("SORT", "a", "BY", "nosort", "GET", "#", "STORE", "c")
    pair.check("LRANGE", "c", "0", "-1")


def test_sort_keys_and_slots():
    assert sort_keys([b"sort", b"k"]) == [b"k"]
    assert sort_keys([b"sort", b"k", b"STORE", b"d"]) == [b"k", b"d"]
    assert sort_keys([b"sort", b"k", b"store", b"d", b"STORE", b"e"]) == [b"k", b"e"]
    assert sort_keys([b"sort", b"k", b"GET", b"store", b"BY", b"store"]) == [b"k"]
    assert sort_keys([b"sort", b"k", b"LIMIT", b"store", b"x", b"ALPHA"]) == [b"k"]
    assert sort_keys([b"sort", b"k", b"STORE"]) == [b"k"]
    # Where the patterns' keys lie: a tag before the '*' fixes their slot; nowhere for #,
    # patterns without '*' and a nosort sort's BY; anywhere (None) otherwise.
    assert Pattern(b"{t}w_*").tag() == b"{t}" and Pattern(b"x{t}{u}*->f").tag() == b"{t}"
    for raw in (b"w_*", b"*{t}", b"{t*}", b"{}{t}*", b"{t*", b"{*}"):
        assert Pattern(raw).tag() is None, raw
    assert sort_reach([b"sort", b"k"]) == []
    assert sort_reach([b"sort", b"k", b"BY", b"{t}w_*", b"GET", b"#", b"GET", b"{u}n_*"]) == \
        [b"{u}", b"{t}"]
    assert sort_reach([b"sort", b"k", b"BY", b"w_*"]) is None
    assert sort_reach([b"sort", b"k", b"GET", b"n_*->f"]) is None
    assert sort_reach([b"sort", b"k", b"BY", b"w_*", b"BY", b"nosort", b"GET", b"c"]) == []
    assert sort_reach([b"sort", b"k", b"BY", b"w_*", b"FOO"]) == []  # (a syntax error)
    assert sort_reach([b"sort_ro", b"k", b"GET", b"n_*", b"STORE", b"d"], readonly=True) == []
    p = Pattern(b"{t}h_*->f->g")
    assert (p.prefix, p.postfix, p.field) == (b"{t}h_", b"", b"f->g")
    p = Pattern(b"k*->")
    assert (p.prefix, p.postfix, p.field) == (b"k", b"->", None)
    assert Pattern(b"#\x00x").self_ and Pattern(b"a\x00*").const


def test_big(pair):
    """~20,000 elements: a list, a set (intset -> hashtable) and a sorted set
    (listpack -> skiplist), sorted every way, with BY/GET and STORE."""
    n = 20000
    vals = [str((i * 7919) % n) for i in range(n)]
    for i in range(0, n, 1000):
        pair.check("RPUSH", "{b}l", *vals[i:i + 1000])
        pair.check("SADD", "{b}s", *vals[i:i + 1000])
        pair.check("ZADD", "{b}z", *[x for v in vals[i:i + 1000] for x in (str(-int(v)), v)])
    pair.check("SADD", "{b}s", "x")
    pair.check("OBJECT", "ENCODING", "{b}s")
    pair.check("MSET", *[x for i in range(0, n, 3) for x in (f"{{b}}w_{i}", str(n - i))])
    for args in [
        ("SORT", "{b}l", "LIMIT", "100", "50"), ("SORT", "{b}l", "DESC", "LIMIT", "0", "20"),
        ("SORT", "{b}l", "ALPHA", "LIMIT", "500", "20"),
        ("SORT", "{b}z", "BY", "nosort", "LIMIT", "19990", "20"),
        ("SORT", "{b}z", "BY", "nosort", "DESC", "LIMIT", "5000", "5"),
        ("SORT", "{b}l", "BY", "nosort", "DESC", "LIMIT", "7", "5"),
        ("SORT", "{b}s", "ALPHA", "LIMIT", "0", "10"), ("SORT", "{b}s", "LIMIT", "0", "10"),
        ("SORT", "{b}l", "BY", "{b}w_*", "LIMIT", "6667", "10", "GET", "#", "GET", "{b}w_*"),
        ("SORT", "{b}z", "BY", "{b}w_*", "DESC", "LIMIT", "0", "10"),
        ("SORT", "{b}l", "STORE", "{b}d"), ("LRANGE", "{b}d", "9990", "10010"),
        ("SORT", "{b}s", "BY", "nosort", "STORE", "{b}d"), ("LRANGE", "{b}d", "0", "10"),
        ("OBJECT", "ENCODING", "{b}z"), ("SORT_RO", "{b}z", "LIMIT", "3", "3"),
    ]:
        pair.check(*args)
    assert parse_reply(pair.s.call("SORT", "{b}l"))[:3] == [b"0", b"1", b"2"]


# ---------------------------------------------------------------- across shards

SHARD_OF = slot_table(3)  # the session cluster's


def shard(key: str) -> int:
    return SHARD_OF[key_slot(key.encode())]


# Sorted keys l (a list), s (an intset), hs (a hashtable set), z (a sorted set); weights
# w_*, names n_*, hashes h_* and tagged names {w}n_* spread over the shards; STORE
# destinations dst and d.
ACROSS_SETUP = [
    ("RPUSH", "l", "3", "1", "2", "10", "-5", "2.5"),
    ("SADD", "s", "3", "1", "2", "10", "-5"),
    ("SADD", "hs", "3", "1", "2.5", "x1", "-5"),
    ("ZADD", "z", "5", "3", "4", "1", "3", "2", "2", "10", "1", "-5"),
    ("MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "-1", "w_-5", "7", "w_2.5", "0.5",
     "w_x1", "4", "n_3", "three", "n_1", "one", "n_2", "two", "n_10", "ten", "n_x1", "x"),
    ("HSET", "h_3", "f", "c", "g", "9"), ("HSET", "h_1", "f", "a", "g", "8"),
    ("HSET", "h_2", "f", "b", "g", "7"), ("HSET", "h_10", "f", "z"),
    ("MSET", "{w}n_3", "c3", "{w}n_1", "c1", "{w}n_-5", "c-5"),
]

ACROSS = {
    "by": [
        ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "1", "3"), ("SORT", "l", "LIMIT", "2", "9", "BY", "w_*", "DESC"),
        ("SORT", "l", "BY", "h_*->g"), ("SORT", "l", "BY", "h_*->g", "DESC"),
        ("SORT", "l", "BY", "n_*", "ALPHA"), ("SORT", "l", "BY", "n_*", "ALPHA", "DESC"),
        ("SORT", "l", "BY", "h_*->f", "ALPHA"), ("SORT", "l", "BY", "h_*->f", "ALPHA", "LIMIT", "0", "3"),
        ("SORT", "l", "BY", "nokey_*"), ("SORT", "l", "BY", "h_*"), ("SORT", "l", "BY", "n_*->f"),
        ("SORT", "l", "BY", "h_*->nofield"), ("SORT", "l", "BY", "w_*", "ALPHA"),
        ("SORT", "s", "BY", "w_*"), ("SORT", "s", "BY", "w_*", "DESC", "LIMIT", "0", "2"),
        ("SORT", "hs", "BY", "w_*"), ("SORT", "hs", "BY", "w_*", "DESC"),
        ("SORT", "z", "BY", "w_*"), ("SORT", "z", "BY", "h_*->g", "DESC"),
        ("SORT", "l", "BY", "{w}n_*", "ALPHA"), ("SORT", "nokey", "BY", "w_*"),
        ("SORT", "l", "BY", "w_*", "BY", "nosort"), ("SORT", "l", "BY", "nosort", "BY", "w_*"),
    ],
    "get": [
        ("SORT", "l", "GET", "n_*"), ("SORT", "l", "GET", "#", "GET", "n_*", "GET", "h_*->f"),
        ("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*", "GET", "{w}n_*"),
        ("SORT", "l", "GET", "{w}n_*"), ("SORT", "l", "GET", "{w}n_*", "DESC", "LIMIT", "1", "2"),
        ("SORT", "z", "GET", "n_*", "LIMIT", "1", "2"), ("SORT", "s", "GET", "h_*->g", "DESC"),
        ("SORT", "l", "BY", "nosort", "GET", "n_*"), ("SORT", "l", "BY", "nosort", "GET", "n_*", "DESC"),
        ("SORT", "z", "BY", "nosort", "GET", "h_*->f", "LIMIT", "0", "3"),
        ("SORT", "l", "GET", "h_*"), ("SORT", "l", "GET", "n_*->f"), ("SORT", "l", "GET", "h_*->"),
        ("SORT", "l", "GET", "n_*", "LIMIT", "0", "0"), ("SORT", "nokey", "GET", "#", "GET", "n_*"),
        ("SORT", "l", "BY", "w_*", "ALPHA", "GET", "n_*", "GET", "h_*->g"),
    ],
    "store": [
        ("SORT", "l", "BY", "w_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"), ("TYPE", "dst"),
        ("SORT", "l", "BY", "w_*", "GET", "n_*", "GET", "#", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "z", "BY", "h_*->g", "GET", "h_*->f", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SORT", "l", "GET", "nokey_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "BY", "n_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "s", "BY", "nosort", "GET", "n_*", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "hs", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        # Only the destination elsewhere: STORE's own rules still hold (a nosort set is
        # sorted ALPHA, ALPHA compares whole byte strings).
        ("SORT", "s", "BY", "nosort", "STORE", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("RPUSH", "e2", "b\x00z", "b\x00a", "b"), ("SORT", "e2", "ALPHA", "STORE", "d"),
        ("LRANGE", "d", "0", "-1"),
        ("SORT", "l", "BY", "n_*", "ALPHA", "STORE", "d"), ("LRANGE", "d", "0", "-1"),
        ("SET", "dst", "x"), ("EXPIRE", "dst", "100"), ("SORT", "l", "BY", "w_*", "STORE", "dst"),
        ("TTL", "dst"), ("LRANGE", "dst", "0", "-1"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "0", "0", "STORE", "dst"), ("EXISTS", "dst"),
        ("SORT", "nokey", "BY", "w_*", "STORE", "d"), ("EXISTS", "d"),
        ("SORT", "l", "BY", "w_*", "STORE", "d", "STORE", "dst"), ("EXISTS", "d"),
        ("LRANGE", "dst", "0", "-1"), ("SORT", "l", "BY", "w_*", "GET", "#", "STORE", "w_1"),
        ("LRANGE", "w_1", "0", "-1"), ("SORT", "l", "BY", "w_*", "GET", "n_*"),
        ("SORT", "l", "BY", "h_*->g", "DESC", "STORE", "l"), ("LRANGE", "l", "0", "-1"),
    ],
    "sort_ro": [
        ("SORT_RO", "l", "BY", "w_*", "GET", "n_*"),
        ("SORT_RO", "z", "BY", "h_*->g", "GET", "#", "GET", "h_*->f"),
        ("SORT_RO", "l", "BY", "w_*", "STORE", "dst"), ("SORT_RO", "l", "GET", "{w}n_*", "ALPHA"),
        ("SORT_RO", "hs", "BY", "w_*", "LIMIT", "1", "2"), ("SORT_RO", "str", "BY", "w_*"),
        ("SORT_RO", "l", "BY", "n_*"),
        # Sorting converts a listpack sorted set to a skiplist, across shards too. (Not
        # ALPHA: its ties come in the order of Redis' hash table, seeded anew at each start.)
        ("ZADD", "zz", "1", "a", "2", "b"), ("OBJECT", "ENCODING", "zz"),
        ("SORT_RO", "zz", "BY", "w_*"), ("OBJECT", "ENCODING", "zz"),
    ],
    "errors": [
        ("SET", "str", "x"), ("SORT", "str", "BY", "w_*"), ("SORT", "str", "GET", "n_*"),
        ("SORT", "str", "BY", "w_*", "STORE", "dst"), ("SORT", "h_1", "BY", "w_*", "GET", "#"),
        ("SORT", "l", "BY", "w_*", "FOO"), ("SORT", "l", "FOO", "BY", "w_*"),
        ("SORT", "l", "BY", "w_*", "LIMIT", "x", "1"), ("SORT", "l", "GET", "n_*", "LIMIT", "1"),
        ("SORT", "str", "BY", "w_*", "LIMIT", "x", "1"), ("SORT", "l", "BY"),
        ("SORT", "l", "BY", "n_*", "GET", "n_*"), ("SORT", "l", "BY", "n_*", "DESC", "STORE", "dst"),
        ("EXISTS", "dst"), ("RPUSH", "bad", "1", "x", "2"), ("SORT", "bad", "BY", "w_*"),
        ("SORT", "bad", "GET", "n_*"), ("SORT", "bad", "GET", "n_*", "STORE", "dst"),
        ("SET", "w_2", "nan"), ("SORT", "l", "BY", "w_*"), ("SET", "w_2", "1e400"),
        ("SORT", "z", "BY", "w_*", "ALPHA"), ("SET", "w_2", " 0x10"), ("SORT", "l", "BY", "w_*"),
    ],
}


def _setup_across(pair: Pair) -> None:
    for args in ACROSS_SETUP:
        pair.check(*args)


def test_across_keys_spread():
    """The tables below do what they say: sorted keys, pattern keys and destinations on
    every shard, each sorted key with pattern keys on the other shards."""
    assert {shard(k) for k in ("l", "s", "z")} == {0, 1, 2}
    assert shard("dst") not in (shard("l"), shard("hs")) and shard("d") != shard("z")
    for src in ("l", "s", "z"):
        assert {shard(f"w_{e}") for e in ("3", "1", "2", "10", "-5")} - {shard(src)}
    assert shard("{w}n_1") != shard("l")


@pytest.mark.parametrize("name", sorted(ACROSS))
def test_across_shards(pair, name):
    _setup_across(pair)
    for args in ACROSS[name]:
        pair.check(*args)


def test_across_shards_resp3(pair3):
    _setup_across(pair3)
    for name in ("by", "get", "store", "errors"):
        for args in ACROSS[name]:
            pair3.check(*args)


def test_across_shards_expired(pair):
    """Expired sources and pattern keys on other shards read as missing."""
    _setup_across(pair)
    pair.check("RPUSH", "x", "2", "1")
    for key in ("x", "n_1", "w_2", "h_3"):
        pair.check("PEXPIRE", key, "20")
    time.sleep(0.05)
    for args in [("SORT", "x", "BY", "w_*"), ("SORT", "l", "GET", "n_*", "GET", "h_*->f"),
                 ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "h_*->g", "GET", "#", "STORE", "d"),
                 ("LRANGE", "d", "0", "-1"), ("EXISTS", "x", "n_1", "w_2", "h_3")]:
        pair.check(*args)


def test_across_shards_in_transactions(pair, shardis_server, redis_server):
    """Inside MULTI/EXEC, with and without WATCH; a watched weight another client
    touched aborts it."""
    _setup_across(pair)
    cmds = [("SORT", "l", "BY", "w_*", "GET", "n_*"), ("SORT", "l", "BY", "w_*", "STORE", "dst"),
            ("LRANGE", "dst", "0", "-1"), ("SORT_RO", "z", "BY", "h_*->g", "GET", "{w}n_*"),
            ("SET", "w_3", "-100"), ("SORT", "l", "BY", "w_*", "LIMIT", "0", "2"),
            ("SORT", "str", "BY", "w_*"), ("SORT", "l", "BY", "n_*"), ("SORT", "l", "GET", "n_*")]
    pair.check("SET", "str", "x")
    pair.check("MULTI")
    for args in cmds:
        pair.check(*args)
    pair.check("EXEC")
    other = Pair(shardis_server.port, redis_server.port)
    try:
        for touch in (False, True):
            pair.check("WATCH", "w_1", "l")
            if touch:
                other.check("SET", "w_1", "1000")
            pair.check("MULTI")
            pair.check("SORT", "l", "BY", "w_*", "GET", "#", "GET", "w_*", "STORE", "d")
            pair.check("LRANGE", "d", "0", "-1")
            pair.check("EXEC")
    finally:
        other.close()


def test_across_shards_ties_and_size(pair):
    """2,000 elements whose weights (7 values, on every shard) tie a lot: numeric ties
    in byte order, ALPHA ties in list order, as Redis; with LIMIT, GET and STORE. (Not
    ALPHA ties with LIMIT: Redis' partial quicksort leaves them in an order of its own.)"""
    n = 2000
    vals = [str((i * 7919) % n) for i in range(n)]
    for i in range(0, n, 500):
        pair.check("RPUSH", "big", *vals[i:i + 500])
    pair.check("MSET", *[x for i in range(n) for x in (f"wb_{i}", str(i % 7))])
    pair.check("MSET", *[x for i in range(0, n, 3) for x in (f"nb_{i}", f"name{i % 5}")])
    for args in [
        ("SORT", "big", "BY", "wb_*", "LIMIT", "0", "30"),
        ("SORT", "big", "BY", "wb_*", "DESC", "LIMIT", "990", "30"),
        ("SORT", "big", "BY", "nb_*", "ALPHA"), ("SORT", "big", "BY", "nb_*", "ALPHA", "DESC"),
        ("SORT", "big", "BY", "wb_*", "GET", "#", "GET", "nb_*", "LIMIT", "600", "20"),
        ("SORT", "big", "BY", "nb_*", "ALPHA", "GET", "wb_*", "STORE", "dst"), ("LRANGE", "dst", "0", "60"),
        ("LRANGE", "dst", "1900", "-1"), ("SORT_RO", "big", "BY", "wb_*", "LIMIT", "1995", "10"),
    ]:
        pair.check(*args)


def test_sort_store_is_atomic(shardis_server):
    """A SORT ... STORE across shards reads its keys and writes its destination in one
    step. Weights, names and the destination share a shard ({v}), the sorted list is on
    another: a writer that changes every weight and name and deletes the destination in
    one transaction there (run by that shard alone, not the coordinator), and a reader
    that reads the destination and the names in one, never see a destination that does
    not match the names, nor a sort that mixes two generations."""
    port = shardis_server.port
    elems = ["a", "b", "c"]
    w, n, dst = "{v}w_", "{v}n_", "{v}dst"
    assert shard("l") != shard(dst)
    setup = RawClient(port)
    setup.call("FLUSHALL")
    setup.call("RPUSH", "l", *elems)
    setup.close()
    generations = 150
    failures: list[str] = []
    sort = ("SORT", "l", "BY", w + "*", "GET", "#", "GET", n + "*")

    def expected(gen: int) -> list[bytes]:
        """Generation gen's order: the elements rotated by gen, then each one's name."""
        k = gen % 3
        order = elems[k:] + elems[:k]
        return [x for e in order for x in (e.encode(), str(gen).encode())]

    def generation(c: RawClient, gen: int) -> None:
        """MULTI: weights of the rotation, names = gen, destination deleted: EXEC."""
        k = gen % 3
        order = elems[k:] + elems[:k]
        c.call("MULTI")
        c.call("MSET", *[x for rank, e in enumerate(order) for x in (w + e, str(rank))],
               *[x for e in elems for x in (n + e, str(gen))])
        c.call("DEL", dst)
        assert len(parse_reply(c.call("EXEC"))) == 2

    def consistent(got: list, what: str) -> None:
        if got and got != expected(int(got[1])):
            failures.append(f"{what}: {got}")

    def sorter(stop: threading.Event) -> None:
        c = RawClient(port)
        try:
            while not stop.is_set():
                consistent(parse_reply(c.call(*sort)), "SORT")
                stored = parse_reply(c.call(*sort, "STORE", dst))
                if stored != 6:
                    failures.append(f"SORT ... STORE answered {stored!r}")
        except Exception as e:  # (a thread's exception would not fail the test)
            failures.append(f"sorter: {e!r}")
        finally:
            c.close()

    def read(c: RawClient) -> bool:
        """Whether the destination existed; a mismatch is recorded."""
        c.call("MULTI")
        c.call("LRANGE", dst, "0", "-1")
        c.call("MGET", *[n + e for e in elems])
        stored, names = parse_reply(c.call("EXEC"))
        if not stored:
            return False
        consistent(stored, "stored")
        if set(stored[1::2]) != set(names):
            failures.append(f"stored {stored} while the names are {names}")
        return True

    writer, reader = RawClient(port), RawClient(port)
    stop = threading.Event()
    generation(writer, 0)
    t = threading.Thread(target=sorter, args=(stop,))
    t.start()
    try:
        for gen in range(1, generations):
            generation(writer, gen)
            read(reader)
    finally:
        stop.set()
        t.join()
    # After the writer: the sorter's last STORE is there, and reads back whole.
    final = RawClient(port)
    assert parse_reply(final.call(*sort, "STORE", dst)) == 6
    assert read(reader)
    for c in (writer, reader, final):
        c.close()
    assert not failures, failures[:5]


class _Shards:
    """The coordinator as ``cross_sort`` sees it, over three in-process keyspaces (one
    per shard, keys placed as the session cluster places them), counting the commands
    each shard is sent."""

    def __init__(self, tmp_path, now: int) -> None:
        self.table = build_table()
        self.stores = [Store(str(tmp_path / f"s{i}"), "no", 1 << 24) for i in range(3)]
        self.txns = [s.env.begin(write=True) for s in self.stores]
        self.kss = [Keyspace(s, t, now) for s, t in zip(self.stores, self.txns)]
        self.sent: list[tuple[int, bytes]] = []

    def shard_of(self, key: bytes) -> int:
        return SHARD_OF[key_slot(key)]

    def call(self, shard: int, db: int, *args):
        self.sent.append((shard, args[0]))
        v = self.table.lookup(args[0]).handler(self.kss[shard], db, list(args))
        return wire.from_raw(wire.to_raw(v))  # (as it travels)

    def call_each(self, db: int, calls: dict) -> dict:
        return {shard: self.call(shard, db, *argv) for shard, argv in calls.items()}

    def close(self) -> None:
        for t, s in zip(self.txns, self.stores):
            t.abort()
            s.close()


def test_cross_sort_in_process(tmp_path):
    """``cross_sort`` over three keyspaces answers what ``sort`` answers over one holding
    every key, asking the sorted key's shard once, each shard at most once for BY values
    and once for GET values, and the destination's shard once."""
    now = int(time.time() * 1000)
    one_store = Store(str(tmp_path / "one"), "no", 1 << 24)
    one_txn = one_store.env.begin(write=True)
    one = Keyspace(one_store, one_txn, now)
    shards = _Shards(tmp_path, now)
    table = shards.table
    try:
        for args in ACROSS_SETUP:
            argv = [a.encode() for a in args]
            spec = table.lookup(argv[0])
            spec.handler(one, 0, argv)
            if spec.name == "mset":
                for k, v in zip(argv[1::2], argv[2::2]):
                    spec.handler(shards.kss[shards.shard_of(k)], 0, [b"MSET", k, v])
            else:
                spec.handler(shards.kss[shards.shard_of(argv[1])], 0, argv)
        for args in [("SORT", "l", "BY", "w_*", "GET", "#", "GET", "n_*", "GET", "h_*->f"),
                     ("SORT", "z", "BY", "h_*->g", "DESC", "LIMIT", "1", "3", "GET", "{w}n_*"),
                     ("SORT", "hs", "BY", "n_*", "ALPHA", "GET", "w_*"), ("SORT", "s", "GET", "n_*"),
                     ("SORT", "l", "BY", "w_*", "GET", "n_*", "STORE", "dst"),
                     ("SORT_RO", "l", "BY", "nosort", "GET", "h_*->g")]:
            argv = [a.encode() for a in args]
            want = run_in_process(table, one, argv)
            shards.sent.clear()
            got = encode(cross_sort(shards, 0, argv, readonly=argv[0] == b"SORT_RO"))
            assert got == want, args
            steps = [name for _, name in shards.sent]
            assert steps[0] == b"__sortload" and steps.count(b"__sortload") == 1
            assert steps.count(b"__sortstore") == (b"STORE" in argv)
            gets = collections.Counter(shard for shard, name in shards.sent if name == b"__sortget")
            phases = (b"BY" in argv and b"nosort" not in argv) + (b"GET" in argv)
            assert max(gets.values()) <= phases, (args, shards.sent)
            assert len(gets) > 1, args  # (the keys are on several shards)
            if b"STORE" in argv:
                assert shards.kss[shards.shard_of(b"dst")].type_of(0, b"dst") is not None
    finally:
        one_txn.abort()
        one_store.close()
        shards.close()
