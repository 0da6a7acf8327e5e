"""The hash family against a real redis-server 7.0: every reply compared byte for byte.

Replies whose order Redis leaves unspecified (HGETALL, HKEYS, HVALS, HSCAN: shardis
answers in field byte order, Redis in listpack insertion order) are compared as
multisets / dicts; random replies (HRANDFIELD) by their properties."""

from __future__ import annotations

import time

import pytest

from shardis.shardd import hashes
from shardis.shardd.storage import SET, Keyspace, Store
from shardis.args import scan_cursor
from shardis.commands import CommandTable
from shardis.resp import ReplyError
from tests.helpers import Pair, RawClient, parse_reply, run_in_process

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"
LONG = "x" * 65      # one byte past hash-max-listpack-value
EDGE = "y" * 64      # exactly at it

CASES = {
    "set_get_basic": [
        ("HGET", "h", "f"), ("HSET", "h", "f", "v"), ("HGET", "h", "f"), ("HGET", "h", "g"),
        ("HSET", "h", "f", "w", "g", "x"), ("HGET", "h", "f"), ("HGET", "h", "g"),
        ("HSET", "h", "", ""), ("HGET", "h", ""), ("HSTRLEN", "h", ""), ("HLEN", "h"),
        ("HSET", "h", b"\x00\xff\r\n", b"bin\x00"), ("HGET", "h", b"\x00\xff\r\n"),
        ("TYPE", "h"), ("OBJECT", "ENCODING", "h"), ("EXISTS", "h"),
    ],
    "hset_arity": [
        ("HSET",), ("HSET", "h"), ("HSET", "h", "f"), ("HSET", "h", "f", "v", "g"),
        ("HMSET", "h", "f"), ("HMSET", "h", "f", "v", "g"), ("HsEt", "h", "a", "1", "b"),
        ("EXISTS", "h"), ("HMSET", "h", "f", "v", "g", "w"), ("HGET", "h", "g"),
        ("HGET", "h"), ("HGET", "h", "f", "g"), ("HSETNX", "h", "f"), ("HMGET", "h"),
        ("HDEL", "h"), ("HLEN",), ("HLEN", "h", "x"), ("HSTRLEN", "h"), ("HEXISTS", "h"),
        ("HGETALL",), ("HKEYS", "h", "x"), ("HVALS",), ("HINCRBY", "h", "f"),
        ("HINCRBYFLOAT", "h", "f", "1", "2"), ("HRANDFIELD",), ("HSCAN", "h"),
    ],
    "hset_counts_new_fields_only": [
        ("HSET", "h", "a", "1", "b", "2", "a", "3"), ("HGET", "h", "a"), ("HLEN", "h"),
        ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "c", "1", "c", "2", "d", "0"),
        ("HGET", "h", "c"), ("HLEN", "h"),
    ],
    "hsetnx": [
        ("HSETNX", "h", "f", "1"), ("HSETNX", "h", "f", "2"), ("HGET", "h", "f"),
        ("HSETNX", "h", "g", ""), ("HLEN", "h"), ("HSETNX", "h", "f", LONG),
        ("OBJECT", "ENCODING", "h"), ("HSETNX", "h", "long", LONG), ("OBJECT", "ENCODING", "h"),
        ("HSETNX", "h2", LONG, "v"), ("OBJECT", "ENCODING", "h2"),
    ],
    "hmget": [
        ("HMGET", "nokey", "a", "b"), ("HSET", "h", "a", "1", "c", "3"),
        ("HMGET", "h", "a", "b", "c", "a"), ("HMGET", "h", "zz"),
    ],
    "hdel": [
        ("HDEL", "nokey", "a"), ("HSET", "h", "a", "1", "b", "2", "c", "3"),
        ("HDEL", "h", "a", "a", "zz"), ("HLEN", "h"), ("HDEL", "h", "zz"),
        ("HDEL", "h", "b", "c", "b"), ("EXISTS", "h"), ("HLEN", "h"), ("HGET", "h", "b"),
        ("TYPE", "h"), ("HSET", "h", "x", "1"), ("HDEL", "h", "x"), ("EXISTS", "h"),
    ],
    "hexists_hlen_hstrlen": [
        ("HEXISTS", "nokey", "a"), ("HLEN", "nokey"), ("HSTRLEN", "nokey", "a"),
        ("HSET", "h", "a", "hello", "n", "-123", "z", ""), ("HEXISTS", "h", "a"),
        ("HEXISTS", "h", "b"), ("HEXISTS", "h", "z"), ("HLEN", "h"), ("HSTRLEN", "h", "a"),
        ("HSTRLEN", "h", "n"), ("HSTRLEN", "h", "z"), ("HSTRLEN", "h", "b"),
    ],
    "empty_collections": [
        ("HGETALL", "nokey"), ("HKEYS", "nokey"), ("HVALS", "nokey"),
        ("HSCAN", "nokey", "0"), ("HRANDFIELD", "nokey"), ("HRANDFIELD", "nokey", "3"),
        ("HRANDFIELD", "nokey", "-3", "WITHVALUES"), ("HRANDFIELD", "nokey", "0"),
    ],
    "one_field_replies": [
        ("HSET", "h", "f", "v"), ("HGETALL", "h"), ("HKEYS", "h"), ("HVALS", "h"),
        ("HSCAN", "h", "0"), ("HRANDFIELD", "h"), ("HRANDFIELD", "h", "1"),
        ("HRANDFIELD", "h", "5"), ("HRANDFIELD", "h", "1", "WITHVALUES"),
        ("HRANDFIELD", "h", "-3"), ("HRANDFIELD", "h", "-2", "withvalues"),
        ("HRANDFIELD", "h", "0", "WITHVALUES"),
    ],
    "wrongtype_string": [
        ("SET", "s", "text"), ("HSET", "s", "f", "v"), ("HMSET", "s", "f", "v"),
        ("HSET", "s", "f"), ("HSETNX", "s", "f", "v"), ("HGET", "s", "f"),
        ("HMGET", "s", "f"), ("HDEL", "s", "f"), ("HEXISTS", "s", "f"), ("HLEN", "s"),
        ("HSTRLEN", "s", "f"), ("HGETALL", "s"), ("HKEYS", "s"), ("HVALS", "s"),
        ("HINCRBY", "s", "f", "1"), ("HINCRBY", "s", "f", "x"), ("HINCRBYFLOAT", "s", "f", "1"),
        ("HINCRBYFLOAT", "s", "f", "x"), ("HINCRBYFLOAT", "s", "f", "inf"),
        ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"), ("HRANDFIELD", "s", "0"),
        ("HRANDFIELD", "s", "x"), ("HRANDFIELD", "s", "1", "foo"), ("HSCAN", "s", "0"),
        ("HSCAN", "s", "x"), ("HSCAN", "s", "0", "foo"), ("GET", "s"),
        ("HSET", "h", "f", "v"), ("GET", "h"), ("INCR", "h"), ("APPEND", "h", "x"),
        ("SET", "h", "str"), ("TYPE", "h"), ("HGET", "h", "f"),
    ],
    "hincrby": [
        ("HINCRBY", "h", "n", "5"), ("HINCRBY", "h", "n", "-7"), ("HGET", "h", "n"),
        ("HINCRBY", "h", "n", "0"), ("HINCRBY", "h", "n", "x"), ("HINCRBY", "h", "n", "1.5"),
        ("HINCRBY", "h", "n", " 1"), ("HINCRBY", "h", "n", BIG), ("HINCRBY", "h", "n", BIG),
        ("HSET", "h", "m", BIG), ("HINCRBY", "h", "m", "1"), ("HINCRBY", "h", "m", SMALL),
        ("HINCRBY", "h", "m", SMALL), ("HINCRBY", "h", "m", SMALL), ("HGET", "h", "m"),
        ("HINCRBY", "h", "m", "9223372036854775808"), ("HSET", "h", "s", "abc"),
        ("HINCRBY", "h", "s", "1"), ("HSET", "h", "s", "007"), ("HINCRBY", "h", "s", "1"),
        ("HSET", "h", "s", "1.0"), ("HINCRBY", "h", "s", "1"), ("HSET", "h", "s", ""),
        ("HINCRBY", "h", "s", "1"), ("HSET", "h", "s", "-0"), ("HINCRBY", "h", "s", "1"),
        ("HINCRBY", "nokey", "f", "x"), ("EXISTS", "nokey"), ("HINCRBY", "h", LONG, "1"),
        ("OBJECT", "ENCODING", "h"), ("HLEN", "h"),
    ],
    "hincrbyfloat": [
        ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBYFLOAT", "h", "f", "0.1"),
        ("HINCRBYFLOAT", "h", "f", "-1.6"), ("HINCRBYFLOAT", "h", "f", "1e17"),
        ("HINCRBYFLOAT", "h", "f", "3.0e3"), ("HINCRBYFLOAT", "h", "f", "0x10"),
        ("HINCRBYFLOAT", "h", "f", "abc"), ("HINCRBYFLOAT", "h", "f", "inf"),
        ("HINCRBYFLOAT", "h", "f", "-inf"), ("HINCRBYFLOAT", "h", "f", "nan"),
        ("HINCRBYFLOAT", "h", "f", ""), ("HINCRBYFLOAT", "h", "f", " 1"),
        ("HINCRBYFLOAT", "h", "f", "1e5000"), ("HSET", "h", "i", "10"),
        ("HINCRBYFLOAT", "h", "i", "0.5"), ("HSET", "h", "s", "x"),
        ("HINCRBYFLOAT", "h", "s", "1"), ("HSET", "h", "s", "inf"),
        ("HINCRBYFLOAT", "h", "s", "1"), ("HSET", "h", "s", "1e4000"),
        ("HINCRBYFLOAT", "h", "s", "1e4000"), ("HINCRBYFLOAT", "h", "s", "1e4930"),
        ("HSET", "h", "s", "1e4932"), ("HINCRBYFLOAT", "h", "s", "1e4932"),
        ("HINCRBYFLOAT", "h", "s", "-1e4932"),
        ("HINCRBYFLOAT", "nokey", "f", "inf"), ("EXISTS", "nokey"),
        ("OBJECT", "ENCODING", "h"), ("HINCRBYFLOAT", "h2", "f", "1e100"),
        ("OBJECT", "ENCODING", "h2"), ("HGET", "h2", "f"),
    ],
    "encoding_value_length": [
        ("HSET", "h", "f", EDGE), ("OBJECT", "ENCODING", "h"), ("HSET", "h", EDGE, "v"),
        ("OBJECT", "ENCODING", "h"), ("HSET", "h", "g", LONG), ("OBJECT", "ENCODING", "h"),
        ("HDEL", "h", "g"), ("OBJECT", "ENCODING", "h"),
        ("HSET", "k", LONG, "v"), ("OBJECT", "ENCODING", "k"),
        ("HMSET", "m", "a", "1", "b", LONG), ("OBJECT", "ENCODING", "m"),
    ],
    "hrandfield_args": [
        ("HSET", "h", "a", "1", "b", "2", "c", "3"), ("HRANDFIELD", "h", "abc"),
        ("HRANDFIELD", "h", "1.5"), ("HRANDFIELD", "h", SMALL), ("HRANDFIELD", "nokey", SMALL),
        ("HRANDFIELD", "h", BIG, "WITHVALUES"), ("HRANDFIELD", "h", "-" + BIG, "WITHVALUES"),
        ("HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "nokey", "4611686018427387904", "WITHVALUES"),
        ("HRANDFIELD", "h", "1", "foo"), ("HRANDFIELD", "nokey", "1", "foo"),
        ("HRANDFIELD", "h", "1", "WITHVALUES", "x"), ("HRANDFIELD", "h", "x", "foo"),
        ("HRANDFIELD", "h", "0"), ("HRANDFIELD", "h", "0", "WITHVALUES"),
        ("HSET", "one", "a", "1"),
        ("HRANDFIELD", "one", "1", b"WITHVALUES\x00junk"), ("HRANDFIELD", "nokey", "-5"),
    ],
    "hscan_args": [
        ("HSCAN", "nokey", "abc"), ("HSCAN", "nokey", "0", "foo"), ("HSCAN", "nokey", "0", "COUNT", "0"),
        ("HSET", "h", "a", "1"), ("HSCAN", "h", "x"), ("HSCAN", "h", " 0"), ("HSCAN", "h", "0x1"),
        ("HSCAN", "h", "18446744073709551616"), ("HSCAN", "h", "18446744073709551615"),
        ("HSCAN", "h", "-1"), ("HSCAN", "h", "+7"), ("HSCAN", "h", ""), ("HSCAN", "h", "1.0"),
        ("HSCAN", "h", "0", "foo"), ("HSCAN", "h", "0", "COUNT"), ("HSCAN", "h", "0", "COUNT", "0"),
        ("HSCAN", "h", "0", "COUNT", "-1"), ("HSCAN", "h", "0", "COUNT", "x"),
        ("HSCAN", "h", "0", "MATCH"), ("HSCAN", "h", "0", "match", "a", "count", "1"),
        ("HSCAN", "h", "0", "MATCH", "b*"), ("HSCAN", "h", "0", "MATCH", "*", "MATCH", "z"),
        ("HSCAN", "h", "0", "COUNT", "5", "COUNT", "x"), ("HSCAN", "h", "0", "TYPE", "hash"),
        ("HSCAN", "h", "0", b"count\x00x", "3"), ("HSCAN", "h", "99", "NOVALUES"),
    ],
    "expire_and_delete": [
        ("HSET", "h", "a", "1"), ("EXPIRE", "h", "100"), ("HSET", "h", "b", "2"), ("TTL", "h"),
        ("HDEL", "h", "a", "b"), ("TTL", "h"), ("EXISTS", "h"), ("HSET", "h", "a", "1"),
        ("TTL", "h"), ("DEL", "h"), ("HGET", "h", "a"), ("HSET", "h", "a", "1"),
        ("RENAME", "h", "h2"), ("HGET", "h2", "a"), ("HGET", "h", "a"),
    ],
    "hash_tags_and_db": [
        ("HSET", "{t}a", "f", "1"), ("HSET", "{t}b", "f", "2"), ("COPY", "{t}a", "{t}b"),
        ("COPY", "{t}a", "{t}b", "REPLACE"), ("HGET", "{t}b", "f"), ("MOVE", "{t}a", "3"),
        ("HGET", "{t}a", "f"), ("SELECT", "3"), ("HGET", "{t}a", "f"), ("HLEN", "{t}a"),
        ("SELECT", "0"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


def _as_dict(reply):
    if isinstance(reply, dict):
        return reply
    assert isinstance(reply, list), reply
    return dict(zip(reply[::2], reply[1::2]))


def check_hash(p: Pair, *args):
    """HGETALL-shaped replies compared as dicts (order differs); the type byte exactly."""
    got_raw, want_raw = p.s.call(*args), p.r.call(*args)
    assert got_raw[:1] == want_raw[:1], (args, got_raw[:40], want_raw[:40])
    got, want = parse_reply(got_raw), parse_reply(want_raw)
    if isinstance(want, Exception):
        assert got_raw == want_raw
        return
    assert _as_dict(got) == _as_dict(want), (args, got, want)


def check_scan(p: Pair, *args):
    """An HSCAN of a compact hash: cursor 0 on both, the same pairs in any order."""
    got, want = parse_reply(p.s.call(*args)), parse_reply(p.r.call(*args))
    if isinstance(want, Exception):
        assert str(got) == str(want)
        return
    assert got[0] == want[0] == b"0", (args, got, want)
    assert _as_dict(got[1]) == _as_dict(want[1]), (args, got, want)


def _fill(p: Pair, key: str, n: int, chunk: int = 500, first: int = 0) -> None:
    for start in range(first, n, chunk):
        flat = []
        for i in range(start, min(n, start + chunk)):
            flat += [f"field:{i}", f"value:{i}"]
        p.check("HSET", key, *flat)


def test_unordered_replies(pair):
    fields = ["b", "a", "", "zz", "\x00", "ÿ", "10", "9", "c" * 64]
    for i, f in enumerate(fields):
        pair.check("HSET", "h", f, str(i))
    for cmd in ("HGETALL", "HKEYS", "HVALS"):
        check_hash(pair, cmd, "nokey")
    check_hash(pair, "HGETALL", "h")
    pair.check_unordered("HKEYS", "h")
    pair.check_unordered("HVALS", "h")
    for opts in [(), ("COUNT", "1"), ("MATCH", "?"), ("MATCH", "[a-c]*"), ("MATCH", "*0*"),
                 ("MATCH", "nothing"), ("MATCH", ""), ("MATCH", "**"), ("COUNT", "2", "MATCH", "*")]:
        check_scan(pair, "HSCAN", "h", "0", *opts)
        check_scan(pair, "HSCAN", "h", "12345", *opts)


def test_hrandfield_properties(pair):
    """Random replies: the same shape and the same rules on both servers."""
    pair.check("HSET", "h", *[x for i in range(10) for x in (f"f{i}", f"v{i}")])
    full = {f"f{i}".encode(): f"v{i}".encode() for i in range(10)}
    for client in (pair.s, pair.r):
        for _ in range(20):
            assert parse_reply(client.call("HRANDFIELD", "h")) in full
        for count in (1, 3, 9, 10, 11, 100):
            got = parse_reply(client.call("HRANDFIELD", "h", str(count)))
            assert len(got) == min(count, 10) and len(set(got)) == len(got)
            assert set(got) <= set(full)
            got = parse_reply(client.call("HRANDFIELD", "h", str(count), "WITHVALUES"))
            assert len(got) == 2 * min(count, 10)
            pairs = dict(zip(got[::2], got[1::2]))
            assert len(pairs) == min(count, 10) and all(full[f] == v for f, v in pairs.items())
        for count in (1, 5, 10, 30, 200):
            got = parse_reply(client.call("HRANDFIELD", "h", str(-count)))
            assert len(got) == count and set(got) <= set(full)
            got = parse_reply(client.call("HRANDFIELD", "h", str(-count), "WITHVALUES"))
            assert len(got) == 2 * count
            assert all(full[f] == v for f, v in zip(got[::2], got[1::2]))
        many = parse_reply(client.call("HRANDFIELD", "h", "-200"))
        assert len(set(many)) > 1  # repeats allowed, but not one field every time


def test_hrandfield_resp3(shardis_server, redis_server):
    p = Pair(shardis_server.port, redis_server.port)
    try:
        p.both("HELLO", "3")
        p.check("FLUSHALL")
        p.check("HSET", "h", "a", "1", "b", "2")
        p.check("HSET", "one", "a", "1")
        for args in [("HRANDFIELD", "one", "1", "WITHVALUES"), ("HRANDFIELD", "one", "-2", "WITHVALUES"),
                     ("HRANDFIELD", "one"), ("HRANDFIELD", "one", "3"), ("HRANDFIELD", "nokey"),
                     ("HRANDFIELD", "nokey", "2", "WITHVALUES"), ("HRANDFIELD", "one", "0", "WITHVALUES")]:
            p.check(*args)
        for client in (p.s, p.r):
            got = parse_reply(client.call("HRANDFIELD", "h", "5", "WITHVALUES"))
            assert sorted(map(tuple, got)) == [(b"a", b"1"), (b"b", b"2")]
            raw = client.call("HRANDFIELD", "h", "-3", "WITHVALUES")
            assert raw.startswith(b"*3\r\n*2\r\n")
    finally:
        p.close()


RESP3_CASES = [
    ("HSET", "h", "f", "v"), ("HGET", "h", "f"), ("HGET", "h", "nope"), ("HGET", "nokey", "f"),
    ("HMGET", "h", "f", "nope"), ("HMGET", "nokey", "a"), ("HGETALL", "h"), ("HGETALL", "nokey"),
    ("HKEYS", "h"), ("HVALS", "nokey"), ("HSCAN", "h", "0"), ("HSCAN", "nokey", "0"),
    ("HINCRBYFLOAT", "h", "n", "1.25"), ("HINCRBY", "h", "i", "3"), ("HLEN", "h"),
    ("HEXISTS", "h", "f"), ("HSTRLEN", "h", "f"), ("HDEL", "h", "f", "n", "i"),
    ("HMSET", "h", "a", "b"), ("HSETNX", "h", "a", "c"), ("HSET", "h", "x"),
    ("HRANDFIELD", "h"), ("HRANDFIELD", "h", "1"), ("HRANDFIELD", "h", "1", "WITHVALUES"),
    ("HINCRBYFLOAT", "h", "a", "1"), ("HSCAN", "h", "x"), ("SET", "s", "1"), ("HGETALL", "s"),
]


def test_resp3(shardis_server, redis_server):
    p = Pair(shardis_server.port, redis_server.port)
    try:
        p.both("HELLO", "3")
        p.check("FLUSHALL")
        for args in RESP3_CASES:
            p.check(*args)
    finally:
        p.close()


def _full_scan(client, key: str, *opts) -> tuple[list, int]:
    """Every (field, value) an HSCAN iteration returns, and how many calls it took."""
    items, cursor, calls = [], b"0", 0
    while True:
        cursor, chunk = parse_reply(client.call("HSCAN", key, cursor, *opts))
        calls += 1
        items += list(zip(chunk[::2], chunk[1::2]))
        if "COUNT" in opts and client.__dict__.get("limit_chunks"):
            assert len(chunk) <= 2 * int(opts[opts.index("COUNT") + 1])
        if cursor == b"0":
            return items, calls
        assert calls < 100_000


def test_big_hash(pair):
    """~20,000 fields: listpack -> hashtable at 513, replies checked against Redis."""
    _fill(pair, "big", 512)
    pair.check("OBJECT", "ENCODING", "big")
    pair.check("HSET", "big", "field:512", "value:512")
    pair.check("OBJECT", "ENCODING", "big")
    pair.check("HDEL", "big", "field:512", "field:511")
    pair.check("OBJECT", "ENCODING", "big")  # never back to listpack
    _fill(pair, "big", 20_000)
    for args in [("HLEN", "big"), ("HGET", "big", "field:0"), ("HGET", "big", "field:19999"),
                 ("HGET", "big", "field:20000"), ("HMGET", "big", "field:5", "nope", "field:12345"),
                 ("HEXISTS", "big", "field:777"), ("HSTRLEN", "big", "field:10000"),
                 ("HINCRBY", "big", "counter", "5"), ("HINCRBYFLOAT", "big", "counter", "0.5"),
                 ("HDEL", "big", "field:1", "field:2", "nope"), ("HLEN", "big"),
                 ("HSETNX", "big", "field:3", "x"), ("HSETNX", "big", "new", "x"), ("HLEN", "big"),
                 ("OBJECT", "ENCODING", "big")]:
        pair.check(*args)
    check_hash(pair, "HGETALL", "big")
    pair.check_unordered("HKEYS", "big")
    pair.check_unordered("HVALS", "big")
    want = _as_dict(parse_reply(pair.r.call("HGETALL", "big")))
    pair.s.limit_chunks = True  # shardis' steps visit COUNT fields (hash collisions aside)
    for opts in [("COUNT", "100"), ("COUNT", "1"), ("MATCH", "field:1*", "COUNT", "500"), ()]:
        items, calls = _full_scan(pair.s, "big", *opts)
        ref_items, _ = _full_scan(pair.r, "big", *opts)
        assert dict(items) == dict(ref_items), opts
        assert calls > 1  # a hashtable is scanned in steps
        assert all(want[f] == v for f, v in items)
    for client in (pair.s, pair.r):
        got = parse_reply(client.call("HRANDFIELD", "big", "50", "WITHVALUES"))
        pairs = dict(zip(got[::2], got[1::2]))
        assert len(pairs) == 50 and all(want[f] == v for f, v in pairs.items())
        got = parse_reply(client.call("HRANDFIELD", "big", "-300"))
        assert len(got) == 300 and set(got) <= set(want)
        got = parse_reply(client.call("HRANDFIELD", "big", "15000"))
        assert len(got) == len(set(got)) == 15000 and set(got) <= set(want)
        got = parse_reply(client.call("HRANDFIELD", "big", "6000"))
        assert len(got) == len(set(got)) == 6000 and set(got) <= set(want)
        assert parse_reply(client.call("HRANDFIELD", "big")) in want
    pair.check("DEL", "big")
    pair.check("HLEN", "big")


def test_hscan_shared_prefixes_terminate(pair):
    """Fields sharing long prefixes (the cursor keeps 8 bytes) still scan to the end."""
    flat = []
    for i in range(300):
        flat += ["samelongprefix:%03d" % i, "v", "s%d" % i, "w", "\x00" * (i % 10) + "z%d" % i, "u"]
    pair.check("HSET", "p", *flat)
    pair.check("OBJECT", "ENCODING", "p")
    for count in ("1", "10", "1000"):
        items, _ = _full_scan(pair.s, "p", "COUNT", count)
        ref_items, _ = _full_scan(pair.r, "p", "COUNT", count)
        assert dict(items) == dict(ref_items)


def test_hscan_during_changes(pair):
    """Fields present for the whole scan come back, whatever is added and removed meanwhile."""
    _fill(pair, "c", 3000)
    stable = {f"field:{i}".encode() for i in range(0, 3000, 2)}
    seen, cursor, step = set(), b"0", 0
    while True:
        cursor, chunk = parse_reply(pair.s.call("HSCAN", "c", cursor, "COUNT", "50"))
        seen.update(chunk[::2])
        step += 1
        pair.s.call("HDEL", "c", f"field:{2 * step + 1}")
        pair.s.call("HSET", "c", f"added:{step}", "x")
        if cursor == b"0":
            break
    assert stable <= seen


def test_hrandfield_pipelined_draws_differ(pair):
    """HRANDFIELDs pipelined into one shard batch still draw differently (each draw of a
    batch has its own seed, and a replayed batch draws the same again)."""
    from tests.helpers import encode_command
    _fill(pair, "r", 1000)
    pair.s.send_raw(encode_command(("HRANDFIELD", "r", "10")) * 5)
    replies = [parse_reply(pair.s.read_reply()) for _ in range(5)]
    assert len({tuple(r) for r in replies}) > 1


def test_hset_many_pipelined(pair):
    """A pipeline of writes to many hashes across shards answers in order."""
    cmds = []
    for i in range(60):
        k = f"k{i % 12}"
        cmds += [("HSET", k, f"f{i}", str(i)), ("HINCRBY", k, "n", str(i)), ("HLEN", k),
                 ("HGET", k, f"f{i}"), ("HDEL", k, f"f{i - 3}")]
    pair.check_pipeline(cmds)


# Against a key of another collection type. The other families may not be written yet,
# so the handlers run on a Keyspace holding a set head, and Redis answers on a real set.
WRONGTYPE_CASES = [
    ("HSET", "l", "f", "v"), ("HSET", "l", "f"), ("HSETNX", "l", "f", "v"), ("HGET", "l", "f"),
    ("HMGET", "l", "f"), ("HMSET", "l", "f", "v"), ("HDEL", "l", "f"), ("HEXISTS", "l", "f"),
    ("HLEN", "l"), ("HSTRLEN", "l", "f"), ("HGETALL", "l"), ("HKEYS", "l"), ("HVALS", "l"),
    ("HINCRBY", "l", "f", "1"), ("HINCRBY", "l", "f", "x"), ("HINCRBYFLOAT", "l", "f", "1"),
    ("HINCRBYFLOAT", "l", "f", "nan"), ("HRANDFIELD", "l"), ("HRANDFIELD", "l", "-2"),
    ("HRANDFIELD", "l", "2", "WITHVALUES"), ("HSCAN", "l", "0"), ("HSCAN", "l", "x"),
]


def test_wrong_type_collection_unit(redis_server, tmp_path):
    table = CommandTable()
    hashes.register(table)
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 24)
    ref = RawClient(redis_server.port)
    try:
        for args in WRONGTYPE_CASES:
            ref.call("FLUSHALL")
            ref.call("SADD", "l", "a")
            want = ref.call(*args)
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, int(time.time() * 1000))
            c = ks.new_coll(0, b"l", SET)
            ks.mput(c, b"a")
            c.count = 1
            ks.save_coll(c)
            if not table.lookup(args[0].encode()).arity_ok(len(args)):
                txn.abort()
                continue
            got = run_in_process(table, ks, args)
            txn.abort()
            assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
    finally:
        ref.close()
        store.close()


def test_index_follows_fields_unit(tmp_path):
    """A hashtable hash keeps exactly one index entry per field, through every write."""
    table = CommandTable()
    hashes.register(table)
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 26)
    txn = store.env.begin(write=True)
    ks = Keyspace(store, txn, int(time.time() * 1000))

    def run(*args):
        return table.lookup(args[0]).handler(ks, 0, list(args))

    def check(key: bytes):
        c = ks.coll(0, key, hashes.HASH)
        fields = sorted(f for f, _ in ks.mrange(c))
        index = sorted(k[8:] for k, _ in ks.mrange(c, index=True))
        assert index == (fields if c.enc else []) and len(fields) == c.count

    try:
        run(b"hset", b"h", *[x for i in range(600) for x in (b"f%d" % i, b"v")])
        check(b"h")
        run(b"hdel", b"h", b"f1", b"f1", b"nope", b"f2")
        run(b"hincrby", b"h", b"n", b"1")
        run(b"hincrbyfloat", b"h", b"n", b"1.5")
        run(b"hsetnx", b"h", b"x", b"1")
        run(b"hsetnx", b"h", b"x", b"2")
        run(b"hmset", b"h", b"f3", b"w", b"y", b"z")
        check(b"h")
        run(b"hset", b"s", b"a", b"1", b"b", b"2")
        check(b"s")
        run(b"hincrbyfloat", b"s", b"a", b"1e100")  # converts: the index is built
        check(b"s")
        old = ks.coll(0, b"s", hashes.HASH)
        run(b"hdel", b"s", b"a", b"b")
        assert ks.coll(0, b"s", hashes.HASH) is None
        assert list(ks.mrange(old, index=True)) == [] == list(ks.mrange(old))
    finally:
        txn.abort()
        store.close()


def test_scan_cursor_unit():
    assert scan_cursor(b"") == 0
    assert scan_cursor(b"-1") == 2**64 - 1
    assert scan_cursor(b"+5") == 5
    assert scan_cursor(b"7\x00junk") == 7
    for bad in (b" 1", b"1 ", b"0x1", b"18446744073709551616", b"1.0", b"-", "١".encode()):
        with pytest.raises(ReplyError):
            scan_cursor(bad)
