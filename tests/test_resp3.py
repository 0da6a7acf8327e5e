"""RESP3 (HELLO 3, redis-py 8's default): the same commands on both servers, reply bytes compared."""

from __future__ import annotations

import pytest

from tests.helpers import parse_reply

# Keys that land on different shards of the 3-shard test cluster, and one hash-tagged pair.
KEYS = [f"k{i}" for i in range(12)]


CASES = [
    ("PING",), ("PING", "hi"), ("ECHO", "x"),
    ("GET", "missing"), ("SET", "a", "1"), ("GET", "a"), ("SET", "a", "2", "GET"),
    ("SET", "n", "10"), ("INCR", "n"), ("INCRBYFLOAT", "n", "0.5"), ("INCRBYFLOAT", "n", "abc"),
    ("SET", "t", "v", "EX", "100"), ("TTL", "t"), ("TTL", "missing"), ("EXPIRETIME", "missing"),
    ("MGET", *KEYS[:6], "a"), ("MSET", *[x for k in KEYS for x in (k, k.upper())]),
    ("MGET", *KEYS, "nope"), ("EXISTS", *KEYS), ("DEL", *KEYS[:4]), ("EXISTS", *KEYS),
    ("GETDEL", "missing"), ("GETEX", "a", "PERSIST"), ("TYPE", "a"), ("TYPE", "missing"),
    ("LCS", "{t}x", "{t}y"), ("SET", "{t}x", "ohmytext"), ("SET", "{t}y", "mynewtext"),
    ("LCS", "{t}x", "{t}y"), ("LCS", "{t}x", "{t}y", "IDX", "MINMATCHLEN", "2", "WITHMATCHLEN"),
    ("LCS", "{t}x", "{t}y", "LEN"),
    ("RENAME", "a", "b"), ("GET", "b"), ("COPY", "b", "c"), ("GET", "c"),
    ("DBSIZE",), ("SELECT", "2"), ("RANDOMKEY",), ("SCAN", "0"), ("SELECT", "0"),
    ("CONFIG", "GET", "databases"), ("CONFIG", "GET", "maxmemory"),
    ("GET",), ("NOSUCHCOMMAND",), ("SET", "a", "1", "EX", "-1"),
]


def test_resp3_replies_match_redis(pair3):
    for case in CASES:
        pair3.check(*case)


def test_resp3_unordered_replies(pair3):
    pair3.check("MSET", *[x for k in KEYS for x in (k, "v")])
    pair3.check_unordered("KEYS", "*")
    got = parse_reply(pair3.s.call("SCAN", "0", "COUNT", "1000"))
    want = parse_reply(pair3.r.call("SCAN", "0", "COUNT", "1000"))
    assert sorted(got[1]) == sorted(want[1]) and got[0] == want[0] == b"0"


def test_resp3_hello_switches_back(pair3):
    pair3.both("HELLO", "2")
    pair3.check("GET", "missing")  # $-1 again
    pair3.check("CONFIG", "GET", "databases")


@pytest.mark.parametrize("args", [
    ("INFO",), ("INFO", "keyspace"), ("CLIENT", "INFO"), ("CLIENT", "LIST"), ("CLIENT", "ID"),
    ("HELLO",), ("COMMAND", "DOCS", "get"), ("COMMAND", "INFO", "get"), ("COMMAND", "COUNT"),
    ("CONFIG", "GET", "*max*"), ("TIME",), ("LASTSAVE",),
], ids=lambda a: " ".join(a))
def test_resp3_reply_types_match_redis(pair3, args):
    """Where contents differ (ids, counts, texts), the RESP3 types still must not."""
    got, want = pair3.both(*args)
    assert got[:1] == want[:1], f"{args}: shardis {got[:60]!r} redis {want[:60]!r}"
