"""SORT and SORT_RO against a real redis-server 7.0: every reply compared byte for byte.

Every BY/GET pattern here carries the sorted key's hash tag, so both servers answer
it (shardis refuses a pattern whose keys may lie in another slot, as Redis Cluster
does; see shardd/sort.py and the shardis-only tests at the end)."""

from __future__ import annotations

import time

import pytest

from shardd.sort import Pattern, pattern_slot, sort_keys
from shardis.slots import key_slot
from tests.helpers import Pair, parse_reply

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


def test_cluster_refusals(pair):
    """shardis only: patterns that may name keys in another slot are refused, as Redis
    Cluster refuses them (Redis standalone has no such rule)."""
    s = pair.s
    s.call("RPUSH", "{t}l", "2", "1")
    s.call("RPUSH", "plain", "2", "1")
    tail = (b" option of SORT denied in Cluster mode when keys formed by the pattern "
            b"may be in different slots.\r\n")
    by, get = b"-ERR BY" + tail, b"-ERR GET" + tail
    not_int = b"-ERR value is not an integer or out of range\r\n"
    for args, want in [
        (("SORT", "{t}l", "BY", "w_*"), by), (("SORT", "{t}l", "BY", "*{t}"), by),
        (("SORT", "{t}l", "BY", "{u}w_*"), by), (("SORT", "{t}l", "BY", "{t?}_*"), by),
        (("SORT", "{t}l", "BY", "{}{t}*"), by), (("SORT_RO", "{t}l", "BY", "w_*->f"), by),
        (("SORT", "{t}l", "GET", "n_*"), get), (("SORT", "{t}l", "GET", "const"), get),
        (("SORT", "{t}l", "GET", "#", "GET", "n_*"), get), (("SORT", "plain", "GET", "n_*"), get),
        (("SORT", "{t}l", "FOO", "BY", "w_*"), b"-ERR syntax error\r\n"),
        (("SORT", "{t}l", "BY", "w_*", "FOO"), by),
        (("SORT", "{t}l", "LIMIT", "x", "0", "GET", "n_*"), not_int),
    ]:
        assert s.call(*args) == want, args
    # Allowed: nosort, GET #, and patterns in the key's own slot.
    assert s.call("SORT", "{t}l", "BY", "nosort", "GET", "#") == b"*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    assert s.call("SORT", "plain", "BY", "const", "GET", "#") == b"*2\r\n$1\r\n2\r\n$1\r\n1\r\n"
    assert s.call("SORT", "{t}l", "BY", "{t}w_*", "GET", "{t}n_*") == b"*2\r\n$-1\r\n$-1\r\n"
    assert s.call("SORT", "{t}l", "BY", "t{t}_*") == b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n"


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
    assert pattern_slot(b"{t}w_*") == key_slot(b"{t}x")
    assert pattern_slot(b"w_*") == -1
    assert pattern_slot(b"{t*}") == -1
    assert pattern_slot(b"abc") == key_slot(b"abc")
    assert pattern_slot(b"{}x{t}") == key_slot(b"{}x{t}")
    assert pattern_slot(b"a\\{t}*") == -1
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
