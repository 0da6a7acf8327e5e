"""The list family against a real redis-server 7.0: every reply compared byte for byte."""

from __future__ import annotations

import random

import time

import pytest

from shardis.shardd import lists
from shardis.shardd.storage import LIST, Keyspace, Store, bytes_pos
from shardis.commands import CommandTable
from shardis.resp import ReplyError
from tests.helpers import parse_reply

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"
TOO_BIG = "9223372036854775808"

# Each case is a sequence of commands run on both servers; every reply must match.
CASES = {
    "push_basic": [
        ("LPUSH", "l", "a"), ("LPUSH", "l", "b", "c"), ("RPUSH", "l", "x", "y"), ("LRANGE", "l", "0", "-1"),
        ("LLEN", "l"), ("TYPE", "l"), ("OBJECT", "ENCODING", "l"), ("RPUSH", "l", ""),
        ("RPUSH", "l", b"\x00\xff\r\n"), ("LRANGE", "l", "0", "-1"), ("LLEN", "nokey"),
        ("RPUSH", "n", "1", "01", "-1", BIG, "1.5"), ("LRANGE", "n", "0", "-1"),
    ],
    "push_arity": [
        ("LPUSH",), ("LPUSH", "l"), ("RPUSH", "l"), ("LPUSHX", "l"), ("RPUSHX",), ("LLEN",),
        ("LLEN", "a", "b"), ("LPOP",), ("RPOP",), ("LPOP", "l", "1", "2"), ("RPOP", "l", "1", "2"),
        ("LRANGE", "l", "0"), ("LINDEX", "l"), ("LSET", "l", "0"), ("LINSERT", "l", "BEFORE", "a"),
        ("LREM", "l", "0"), ("LTRIM", "l", "0"), ("LPOS", "l"), ("LMOVE", "a", "b", "LEFT"),
        ("RPOPLPUSH", "a"), ("LMPOP", "1", "a"), ("LMPOP", "1"),
    ],
    "pushx": [
        ("LPUSHX", "l", "a"), ("RPUSHX", "l", "a", "b"), ("EXISTS", "l"), ("RPUSH", "l", "m"),
        ("LPUSHX", "l", "a", "b"), ("RPUSHX", "l", "y", "z"), ("LRANGE", "l", "0", "-1"),
    ],
    "wrongtype": [
        ("SET", "s", "v"), ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"),
        ("RPUSHX", "s", "a"), ("LPOP", "s"), ("RPOP", "s", "2"), ("LLEN", "s"),
        ("LRANGE", "s", "0", "-1"), ("LRANGE", "s", "x", "1"), ("LINDEX", "s", "0"),
        ("LINDEX", "s", "x"), ("LSET", "s", "0", "x"), ("LSET", "s", "x", "x"),
        ("LINSERT", "s", "BEFORE", "a", "b"), ("LINSERT", "s", "middle", "a", "b"),
        ("LREM", "s", "0", "a"), ("LREM", "s", "x", "a"), ("LTRIM", "s", "0", "1"),
        ("LPOS", "s", "a"), ("LPOS", "s", "a", "RANK", "0"), ("LPOS", "s", "a", "COUNT", "0"),
        ("LMOVE", "s", "s", "LEFT", "RIGHT"), ("RPOPLPUSH", "s", "s"), ("LMPOP", "1", "s", "LEFT"),
        ("GET", "s"),
    ],
    "pop": [
        ("RPUSH", "l", "a", "b", "c", "d", "e"), ("LPOP", "l"), ("RPOP", "l"), ("LPOP", "l", "2"),
        ("LRANGE", "l", "0", "-1"), ("RPOP", "l", "5"), ("EXISTS", "l"), ("LPOP", "l"),
        ("RPOP", "l"), ("LPOP", "l", "1"), ("RPOP", "l", "0"), ("RPUSH", "l", "a", "b"),
        ("LPOP", "l", "0"), ("RPOP", "l", "0"), ("LLEN", "l"), ("LPOP", "l", BIG), ("EXISTS", "l"),
    ],
    "pop_errors": [
        ("RPUSH", "l", "a", "b"), ("LPOP", "l", "-1"), ("LPOP", "l", "abc"), ("RPOP", "l", ""),
        ("RPOP", "l", "1.5"), ("LPOP", "l", TOO_BIG), ("LPOP", "l", SMALL), ("LPOP", "nokey", "-1"),
        ("LPOP", "nokey", "x"), ("LPOP", "nokey", "0"), ("SET", "s", "v"), ("LPOP", "s", "-1"),
        ("LPOP", "s", "0"), ("LRANGE", "l", "0", "-1"),
    ],
    "lrange": [
        ("LRANGE", "l", "0", "-1"), ("RPUSH", "l", *"abcdefghij"), ("LRANGE", "l", "0", "0"),
        ("LRANGE", "l", "2", "5"), ("LRANGE", "l", "-3", "-1"), ("LRANGE", "l", "-100", "100"),
        ("LRANGE", "l", "5", "2"), ("LRANGE", "l", "10", "20"), ("LRANGE", "l", "9", "9"),
        ("LRANGE", "l", "-1", "-1"), ("LRANGE", "l", "-11", "0"), ("LRANGE", "l", "0", "-11"),
        ("LRANGE", "l", SMALL, BIG), ("LRANGE", "l", BIG, SMALL), ("LRANGE", "l", "x", "1"),
        ("LRANGE", "l", "1", "x"), ("LRANGE", "l", TOO_BIG, "1"), ("LRANGE", "l", " 1", "2"),
        ("LRANGE", "nokey", "x", "1"), ("LRANGE", "nokey", "0", "-1"),
    ],
    "lindex": [
        ("LINDEX", "l", "0"), ("LINDEX", "l", "x"), ("RPUSH", "l", "a", "b", "c"), ("LINDEX", "l", "0"),
        ("LINDEX", "l", "2"), ("LINDEX", "l", "3"), ("LINDEX", "l", "-1"), ("LINDEX", "l", "-3"),
        ("LINDEX", "l", "-4"), ("LINDEX", "l", BIG), ("LINDEX", "l", SMALL), ("LINDEX", "l", "x"),
        ("LINDEX", "l", TOO_BIG), ("LPUSH", "l", "z"), ("LINDEX", "l", "0"), ("LINDEX", "l", "3"),
    ],
    "lset": [
        ("LSET", "l", "0", "x"), ("LSET", "l", "x", "x"), ("RPUSH", "l", "a", "b", "c"),
        ("LSET", "l", "0", "A"), ("LSET", "l", "-1", "C"), ("LSET", "l", "1", ""),
        ("LSET", "l", "3", "x"), ("LSET", "l", "-4", "x"), ("LSET", "l", "x", "x"),
        ("LSET", "l", BIG, "x"), ("LSET", "l", TOO_BIG, "x"), ("LRANGE", "l", "0", "-1"),
        ("LPUSH", "l", "h"), ("LSET", "l", "0", "H"), ("LRANGE", "l", "0", "-1"),
    ],
    "linsert": [
        ("LINSERT", "l", "BEFORE", "a", "x"), ("LINSERT", "l", "foo", "a", "x"),
        ("RPUSH", "l", "a", "b", "c", "b"), ("LINSERT", "l", "BEFORE", "b", "1"),
        ("LINSERT", "l", "after", "b", "2"), ("LINSERT", "l", "AfTeR", "c", "3"),
        ("LINSERT", "l", "before", "a", "0"), ("LINSERT", "l", "AFTER", "zz", "x"),
        ("LINSERT", "l", "middle", "a", "x"), ("LINSERT", "l", b"BEFORE\x00x", "a", "y"),
        ("LRANGE", "l", "0", "-1"), ("LINSERT", "l", "after", "2", "last?"), ("LLEN", "l"),
        ("LINSERT", "l", "after", "b", "t"), ("LRANGE", "l", "0", "-1"), ("LINDEX", "l", "-1"),
        ("RPUSH", "one", "p"), ("LINSERT", "one", "AFTER", "p", "q"),
        ("LINSERT", "one", "BEFORE", "p", "o"), ("LRANGE", "one", "0", "-1"),
    ],
    "lrem": [
        ("LREM", "l", "0", "a"), ("LREM", "l", "x", "a"), ("RPUSH", "l", *"abacabadaba"),
        ("LREM", "l", "2", "a"), ("LRANGE", "l", "0", "-1"), ("LREM", "l", "-2", "a"),
        ("LRANGE", "l", "0", "-1"), ("LREM", "l", "0", "b"), ("LRANGE", "l", "0", "-1"),
        ("LREM", "l", "1", "zz"), ("LREM", "l", "x", "a"), ("LREM", "l", TOO_BIG, "a"),
        ("LREM", "l", SMALL, "a"), ("LRANGE", "l", "0", "-1"), ("LREM", "l", BIG, "c"),
        ("LRANGE", "l", "0", "-1"), ("LREM", "l", "0", "d"), ("LREM", "l", "0", "a"),
        ("EXISTS", "l"), ("RPUSH", "m", "1", "01", "1.0", "1"), ("LREM", "m", "0", "1"),
        ("LRANGE", "m", "0", "-1"), ("RPUSH", "e", "x", "x", "x"), ("LREM", "e", "-5", "x"),
        ("EXISTS", "e"),
    ],
    "ltrim": [
        ("LTRIM", "l", "0", "1"), ("LTRIM", "l", "x", "1"), ("RPUSH", "l", *"abcdefghij"),
        ("LTRIM", "l", "1", "-2"), ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "0", "-1"),
        ("LTRIM", "l", "-100", "100"), ("LTRIM", "l", "-3", "-1"), ("LRANGE", "l", "0", "-1"),
        ("LTRIM", "l", "0", "x"), ("LTRIM", "l", TOO_BIG, "1"), ("LTRIM", "l", "1", "1"),
        ("LRANGE", "l", "0", "-1"), ("LTRIM", "l", "1", "0"), ("EXISTS", "l"),
        ("RPUSH", "m", "a", "b"), ("LTRIM", "m", "5", "10"), ("EXISTS", "m"),
        ("RPUSH", "n", "a", "b"), ("LTRIM", "n", SMALL, BIG), ("LRANGE", "n", "0", "-1"),
        ("LTRIM", "n", "0", SMALL), ("EXISTS", "n"),
    ],
    "lpos": [
        ("LPOS", "l", "a"), ("LPOS", "l", "a", "COUNT", "0"), ("LPOS", "l", "a", "COUNT", "2"),
        ("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c", "a"),
        ("LPOS", "l", "c"), ("LPOS", "l", "zz"), ("LPOS", "l", "c", "RANK", "2"),
        ("LPOS", "l", "c", "RANK", "-1"), ("LPOS", "l", "c", "RANK", "-3"),
        ("LPOS", "l", "c", "RANK", "4"), ("LPOS", "l", "c", "RANK", "-4"),
        ("LPOS", "l", "c", "COUNT", "0"), ("LPOS", "l", "c", "COUNT", "2"),
        ("LPOS", "l", "c", "COUNT", "0", "RANK", "2"), ("LPOS", "l", "c", "COUNT", "0", "RANK", "-1"),
        ("LPOS", "l", "c", "COUNT", "1", "RANK", "-2"), ("LPOS", "l", "zz", "COUNT", "0"),
        ("LPOS", "l", "c", "MAXLEN", "3"), ("LPOS", "l", "c", "MAXLEN", "2"),
        ("LPOS", "l", "c", "MAXLEN", "7", "COUNT", "0"), ("LPOS", "l", "c", "MAXLEN", "3", "RANK", "-1"),
        ("LPOS", "l", "a", "MAXLEN", "1", "RANK", "-1"), ("LPOS", "l", "c", "MAXLEN", "0"),
        ("LPOS", "l", "a", "rank", "1", "count", "5", "maxlen", "100"),
        ("LPOS", "l", "a", "RANK", SMALL), ("LPOS", "l", "a", "RANK", SMALL, "COUNT", "1"),
        ("LPOS", "l", "c", "RANK", BIG), ("LPOS", "l", "c", "RANK", "-" + BIG, "COUNT", "0"),
        ("LPOS", "l", "c", "COUNT", BIG), ("LPOS", "l", "c", "RANK", "2", "RANK", "1"),
    ],
    "lpos_errors": [
        ("RPUSH", "l", "a"), ("LPOS", "l", "a", "RANK", "0"), ("LPOS", "l", "a", "RANK", "x"),
        ("LPOS", "l", "a", "RANK", TOO_BIG), ("LPOS", "l", "a", "COUNT", "-1"),
        ("LPOS", "l", "a", "COUNT", "x"), ("LPOS", "l", "a", "MAXLEN", "-1"),
        ("LPOS", "l", "a", "MAXLEN", "x"), ("LPOS", "l", "a", "RANK"), ("LPOS", "l", "a", "COUNT"),
        ("LPOS", "l", "a", "FOO", "1"), ("LPOS", "l", "a", "RANK", "1", "FOO"),
        ("LPOS", "nokey", "a", "RANK", "0"), ("LPOS", "nokey", "a", "COUNT", "-1"),
        ("LPOS", "l", "a", "RANK", "0", "COUNT", "-1"), ("LPOS", "l", "a", "COUNT", "-1", "RANK", "0"),
        ("LPOS", "l", "a", b"RANK\x00x", "1"),
    ],
    "lmove": [
        ("LMOVE", "{t}a", "{t}b", "LEFT", "RIGHT"), ("RPUSH", "{t}a", "1", "2", "3"),
        ("LMOVE", "{t}a", "{t}b", "LEFT", "RIGHT"), ("LMOVE", "{t}a", "{t}b", "right", "left"),
        ("LRANGE", "{t}a", "0", "-1"), ("LRANGE", "{t}b", "0", "-1"),
        ("LMOVE", "{t}a", "{t}b", "RIGHT", "RIGHT"), ("EXISTS", "{t}a"), ("LRANGE", "{t}b", "0", "-1"),
        ("LMOVE", "{t}b", "{t}b", "LEFT", "RIGHT"), ("LRANGE", "{t}b", "0", "-1"),
        ("LMOVE", "{t}b", "{t}b", "RIGHT", "LEFT"), ("LRANGE", "{t}b", "0", "-1"),
        ("LMOVE", "{t}b", "{t}b", "LEFT", "LEFT"), ("LMOVE", "{t}b", "{t}b", "RIGHT", "RIGHT"),
        ("LRANGE", "{t}b", "0", "-1"), ("LMOVE", "{t}a", "{t}b", "UP", "LEFT"),
        ("LMOVE", "{t}b", "{t}a", "LEFT", "DOWN"), ("LMOVE", "{t}b", "{t}a", b"LEFT\x00x", "LEFT"),
        ("SET", "{t}s", "v"), ("LMOVE", "{t}b", "{t}s", "LEFT", "LEFT"), ("LRANGE", "{t}b", "0", "-1"),
        ("LMOVE", "{t}s", "{t}b", "LEFT", "LEFT"), ("LMOVE", "{t}none", "{t}s", "LEFT", "LEFT"),
        ("RPUSH", "{t}one", "x"), ("LMOVE", "{t}one", "{t}one", "LEFT", "RIGHT"),
        ("LRANGE", "{t}one", "0", "-1"), ("LMOVE", "{t}one", "{t}two", "LEFT", "RIGHT"),
        ("EXISTS", "{t}one"), ("LRANGE", "{t}two", "0", "-1"),
    ],
    "rpoplpush": [
        ("RPOPLPUSH", "{t}a", "{t}b"), ("RPUSH", "{t}a", "1", "2", "3"), ("RPOPLPUSH", "{t}a", "{t}b"),
        ("RPOPLPUSH", "{t}a", "{t}b"), ("RPOPLPUSH", "{t}a", "{t}a"), ("LRANGE", "{t}a", "0", "-1"),
        ("RPOPLPUSH", "{t}b", "{t}b"), ("LRANGE", "{t}b", "0", "-1"), ("SET", "{t}s", "v"),
        ("RPOPLPUSH", "{t}a", "{t}s"), ("RPOPLPUSH", "{t}s", "{t}a"), ("RPOPLPUSH", "{t}x", "{t}s"),
        ("RPOPLPUSH", "{t}a", "{t}b"), ("EXISTS", "{t}a"), ("LRANGE", "{t}b", "0", "-1"),
    ],
    "lmpop": [
        ("LMPOP", "2", "{t}a", "{t}b", "LEFT"), ("RPUSH", "{t}b", "1", "2", "3", "4"),
        ("LMPOP", "2", "{t}a", "{t}b", "LEFT"), ("LMPOP", "2", "{t}a", "{t}b", "RIGHT", "COUNT", "2"),
        ("RPUSH", "{t}a", "x"), ("LMPOP", "2", "{t}a", "{t}b", "right", "count", "10"),
        ("LMPOP", "2", "{t}a", "{t}b", "LEFT", "COUNT", "10"), ("LMPOP", "2", "{t}a", "{t}b", "LEFT"),
        ("EXISTS", "{t}a", "{t}b"), ("LMPOP", "1", "{t}a", "LEFT"), ("RPUSH", "{t}c", "c1", "c2"),
        ("LMPOP", "3", "{t}a", "{t}a", "{t}c", "LEFT", "COUNT", BIG), ("EXISTS", "{t}c"),
    ],
    "lmpop_errors": [
        ("RPUSH", "{t}a", "1"), ("LMPOP", "0", "{t}a", "LEFT"), ("LMPOP", "-1", "{t}a", "LEFT"),
        ("LMPOP", "x", "{t}a", "LEFT"), ("LMPOP", TOO_BIG, "{t}a", "LEFT"),
        ("LMPOP", "2", "{t}a", "LEFT"), ("LMPOP", "3", "{t}a", "LEFT"), ("LMPOP", BIG, "{t}a", "LEFT"),
        ("LMPOP", "1", "{t}a", "MIDDLE"), ("LMPOP", "1", "{t}a", "LEFT", "COUNT"),
        ("LMPOP", "1", "{t}a", "LEFT", "COUNT", "0"), ("LMPOP", "1", "{t}a", "LEFT", "COUNT", "-1"),
        ("LMPOP", "1", "{t}a", "LEFT", "COUNT", "x"), ("LMPOP", "1", "{t}a", "LEFT", "FOO"),
        ("LMPOP", "1", "{t}a", "LEFT", "COUNT", "1", "COUNT", "1"),
        ("LMPOP", "1", "{t}a", "LEFT", "COUNT", "1", "FOO"), ("SET", "{t}s", "v"),
        ("LMPOP", "2", "{t}s", "{t}a", "LEFT"), ("LMPOP", "2", "{t}a", "{t}s", "LEFT"),
        ("LMPOP", "2", "{t}none", "{t}s", "LEFT"), ("LMPOP", "1", "{t}s", "FOO"),
        ("LLEN", "{t}a"),
    ],
    "emptied_and_retyped": [
        ("RPUSH", "l", "a"), ("LPOP", "l"), ("EXISTS", "l"), ("TYPE", "l"), ("SET", "l", "str"),
        ("GET", "l"), ("DEL", "l"), ("RPUSH", "l", "b"), ("LRANGE", "l", "0", "-1"),
        ("EXPIRE", "l", "100"), ("RPUSH", "l", "c"), ("TTL", "l"), ("LPOP", "l"), ("TTL", "l"),
        ("SET", "l", "x"), ("TYPE", "l"), ("LPUSH", "l", "x"),
    ],
    "other_db": [
        ("SELECT", "1"), ("RPUSH", "l", "a", "b"), ("LRANGE", "l", "0", "-1"), ("SELECT", "0"),
        ("LRANGE", "l", "0", "-1"), ("RPUSH", "l", "z"), ("SELECT", "1"), ("MOVE", "l", "2"),
        ("SELECT", "2"), ("LPOP", "l"), ("LRANGE", "l", "0", "-1"), ("SELECT", "0"),
        ("LRANGE", "l", "0", "-1"),
    ],
    "options_repeated": [
        ("RPUSH", "l", "a", "b", "a", "a"), ("LPOS", "l", "a", "COUNT", "1", "COUNT", "0"),
        ("LPOS", "l", "a", "MAXLEN", "1", "MAXLEN", "0", "COUNT", "0"),
        ("LPOS", "l", "a", "RANK", "-1", "RANK", "2"), ("LPOS", "l", "a", "rAnK", "1", "CoUnT", "2"),
        ("LMOVE", "l", "l", "lEfT", "rIgHt"), ("LRANGE", "l", "0", "-1"),
        ("LINSERT", "l", "BeFoRe", "b", "c"), ("LRANGE", "l", "0", "-1"),
    ],
    "binary_keys": [
        ("RPUSH", b"\xff\x00k", b"\x00"), ("LPUSH", b"\xff\x00k", b"\r\n"),
        ("LRANGE", b"\xff\x00k", "0", "-1"), ("LPOS", b"\xff\x00k", b"\x00"),
        ("LREM", b"\xff\x00k", "0", b"\x00"), ("LLEN", b"\xff\x00k"),
    ],
    "rename_copy": [
        ("RPUSH", "{t}a", "1", "2", "3"), ("RENAME", "{t}a", "{t}b"), ("LRANGE", "{t}b", "0", "-1"),
        ("COPY", "{t}b", "{t}c"), ("RPUSH", "{t}c", "4"), ("LRANGE", "{t}b", "0", "-1"),
        ("LRANGE", "{t}c", "0", "-1"), ("LPOP", "{t}b"), ("LINDEX", "{t}c", "0"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


@pytest.mark.parametrize("name", sorted(CASES))
def test_table_resp3(pair3, name):
    """The same sequences over RESP3: nulls become ``_``, the rest keeps its shape."""
    for args in CASES[name]:
        pair3.check(*args)


def test_across_shards(pair):
    """Keys of one command on different shards (a, b): the coordinator runs it."""
    pair.check("RPUSH", "a", "1", "2", "3")
    pair.check("RPUSH", "b", "4")
    for args in [("LMOVE", "a", "b", "LEFT", "RIGHT"), ("RPOPLPUSH", "a", "b"),
                 ("LMPOP", "2", "nokey", "b", "LEFT"), ("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "9"),
                 ("LMOVE", "a", "b", "LEFT", "RIGHT"), ("LMPOP", "3", "a", "b", "LEFT"),
                 ("LMPOP", "x", "a", "b", "LEFT")]:
        pair.check(*args)
    pair.check("LRANGE", "a", "0", "-1")
    pair.check("LRANGE", "b", "0", "-1")
    pair.check("SET", "c", "x")
    pair.check("LMOVE", "b", "c", "LEFT", "LEFT")
    pair.check("LRANGE", "b", "0", "-1")

def test_random_operations(pair):
    """Random pushes, pops, inserts, removals and trims on a few lists, every reply compared."""
    rng = random.Random(7)
    keys = ["{r}x", "{r}y", "{r}z"]
    values = ["a", "b", "c", "d", "1", "10", ""]
    for _ in range(1500):
        k = rng.choice(keys)
        v = rng.choice(values)
        op = rng.randrange(14)
        i = str(rng.randint(-8, 8))
        if op == 0:
            args = ("LPUSH", k, *rng.choices(values, k=rng.randint(1, 4)))
        elif op == 1:
            args = ("RPUSH", k, *rng.choices(values, k=rng.randint(1, 4)))
        elif op == 2:
            args = ("LPOP", k) if rng.random() < 0.5 else ("LPOP", k, str(rng.randint(0, 3)))
        elif op == 3:
            args = ("RPOP", k) if rng.random() < 0.5 else ("RPOP", k, str(rng.randint(0, 3)))
        elif op == 4:
            args = ("LINSERT", k, rng.choice(["BEFORE", "AFTER"]), v, rng.choice(values))
        elif op == 5:
            args = ("LREM", k, i, v)
        elif op == 6:
            args = ("LTRIM", k, i, str(rng.randint(-10, 20)))
        elif op == 7:
            args = ("LSET", k, i, v)
        elif op == 8:
            args = ("LMOVE", k, rng.choice(keys), rng.choice(["LEFT", "RIGHT"]),
                    rng.choice(["LEFT", "RIGHT"]))
        elif op == 9:
            args = ("LPOS", k, v, "RANK", rng.choice(["1", "-1", "2", "-2"]), "COUNT",
                    str(rng.randint(0, 3)))
        elif op == 10:
            args = ("LMPOP", "3", *keys, rng.choice(["LEFT", "RIGHT"]), "COUNT", str(rng.randint(1, 3)))
        elif op == 11:
            args = ("LINDEX", k, i)
        else:
            args = ("LRANGE", k, "0", "-1")
        pair.check(*args)
    for k in keys:
        pair.check("LRANGE", k, "0", "-1")


def test_big_list(pair):
    """~20,000 elements: indexes, ranges, searches and the O(N) edits in the middle."""
    n = 20000
    chunk = 1000
    for start in range(0, n, chunk):
        pair.check("RPUSH", "big", *[f"e{i % 997}" for i in range(start, start + chunk)])
    pair.check("LPUSH", "big", *[f"h{i}" for i in range(50)])
    pair.check("LLEN", "big")
    for i in ("0", "1", "49", "50", "10000", "-1", "-20050", "-20051", "20050", "12345"):
        pair.check("LINDEX", "big", i)
    pair.check("LRANGE", "big", "9990", "10010")
    pair.check("LRANGE", "big", "-15", "-1")
    pair.check("LRANGE", "big", "0", "-1")
    pair.check("LPOS", "big", "e500")
    pair.check("LPOS", "big", "e500", "RANK", "-3")
    pair.check("LPOS", "big", "e500", "COUNT", "0")
    pair.check("LPOS", "big", "e500", "COUNT", "3", "MAXLEN", "5000")
    pair.check("LPOS", "big", "nope")
    pair.check("LINSERT", "big", "BEFORE", "e10", "near-head")
    pair.check("LINSERT", "big", "AFTER", "e996", "early")
    pair.check("LSET", "big", "15000", "late")
    pair.check("LINSERT", "big", "AFTER", "late", "after-late")
    pair.check("LRANGE", "big", "14995", "15005")
    pair.check("LREM", "big", "3", "e7")
    pair.check("LREM", "big", "-3", "e8")
    pair.check("LREM", "big", "0", "e9")
    pair.check("LREM", "big", "0", "e996")
    pair.check("LLEN", "big")
    pair.check("LRANGE", "big", "0", "-1")
    pair.check("LTRIM", "big", "100", "-100")
    pair.check("LPOP", "big", "3")
    pair.check("RPOP", "big", "3")
    pair.check("LRANGE", "big", "0", "-1")
    pair.check("OBJECT", "ENCODING", "big")


def test_expired_list(pair):
    """A list whose TTL passed reads as missing and is replaced by a fresh one."""
    pair.check("RPUSH", "l", "a", "b")
    pair.check("RPUSH", "m", "a")
    pair.check("PEXPIRE", "l", "50")
    pair.check("PEXPIRE", "m", "50")
    time.sleep(0.2)
    pair.check("LLEN", "l")
    pair.check("LPUSHX", "l", "x")
    pair.check("LRANGE", "l", "0", "-1")
    pair.check("RPUSH", "l", "c")
    pair.check("LRANGE", "l", "0", "-1")
    pair.check("TTL", "l")
    pair.check("LMOVE", "m", "l", "LEFT", "LEFT")


def _layout_ok(ks: Keyspace, key: bytes) -> None:
    """The layout invariant: members are exactly positions a .. b-1, count == b - a."""
    c = ks.coll(0, key, LIST)
    if c is None:
        return
    positions = [bytes_pos(s) for s, _ in ks.mrange(c)]
    assert c.count == c.b - c.a == len(positions)
    assert positions == list(range(c.a, c.b))


def test_layout_invariant_unit(tmp_path):
    """Random operations in-process (contents are compared with Redis elsewhere); after
    each one the members under the list's id are exactly its positions (no stale entry)."""
    table = CommandTable()
    lists.register(table)
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 26)
    rng = random.Random(3)
    values = [b"a", b"b", b"c"]
    try:
        for _ in range(3000):
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, int(time.time() * 1000))
            v = rng.choice(values)
            op = rng.randrange(7)
            if op == 0:
                els = rng.choices(values, k=rng.randint(1, 3))
                lists.push(ks, 0, b"l", els, left=rng.random() < 0.5)
            elif op == 1:
                lists.pop(ks, 0, b"l", rng.random() < 0.5, rng.randint(0, 3))
            elif op == 2:
                lists.move(ks, 0, b"l", b"l", rng.random() < 0.5, rng.random() < 0.5)
            argv = {3: [b"LREM", b"l", b"%d" % rng.randint(-3, 3), v],
                    4: [b"LINSERT", b"l", rng.choice([b"BEFORE", b"AFTER"]), v, rng.choice(values)],
                    5: [b"LTRIM", b"l", b"%d" % rng.randint(-6, 6), b"%d" % rng.randint(-6, 6)],
                    6: [b"LSET", b"l", b"%d" % rng.randint(-4, 4), v]}.get(op)
            if argv is not None:
                try:
                    table.lookup(argv[0]).handler(ks, 0, argv)
                except ReplyError:
                    pass
            _layout_ok(ks, b"l")
            ks.finish()
            txn.commit()
            ks.committed()
    finally:
        store.close()


def test_pipelined(pair):
    """Many list commands in one write, so one shard batch holds several of them."""
    cmds = [("RPUSH", "p", str(i)) for i in range(50)] + [("LPOP", "p", "3"), ("LPUSH", "p", "x"),
                                                           ("LINSERT", "p", "AFTER", "x", "y"),
                                                           ("LRANGE", "p", "0", "-1")]
    pair.check_pipeline(cmds)


def test_reply_decodes(pair):
    """A sanity check that replies decode as a client sees them."""
    pair.check("RPUSH", "l", "a", "b")
    assert parse_reply(pair.s.call("LRANGE", "l", "0", "-1")) == [b"a", b"b"]
