"""Bitmaps and bitfields against a real redis-server 7.0: every reply compared byte for byte."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shardis.shardd.bitmaps import get_field, set_field
from tests.helpers import compare_keyspace_events

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"

CASES = {
    "setbit_getbit": [
        ("SETBIT", "b", "7", "1"), ("GET", "b"), ("GETBIT", "b", "7"), ("GETBIT", "b", "6"),
        ("SETBIT", "b", "7", "1"), ("SETBIT", "b", "7", "0"), ("GET", "b"),
        ("SETBIT", "b", "100", "1"), ("GET", "b"), ("STRLEN", "b"), ("GETBIT", "b", "100"),
        ("GETBIT", "b", "1000000"), ("GETBIT", "nokey", "0"), ("SETBIT", "b", "0", "0"),
        ("SET", "s", "foo"), ("GETBIT", "s", "1"), ("GETBIT", "s", "2"), ("SETBIT", "s", "2", "0"),
        ("GET", "s"), ("SET", "n", "123"), ("SETBIT", "n", "1", "1"), ("GET", "n"),
        ("INCR", "n"), ("SET", "i", "12"), ("GETBIT", "i", "2"),
    ],
    "setbit_errors": [
        ("SETBIT", "b", "-1", "1"), ("SETBIT", "b", "x", "1"), ("SETBIT", "b", "1", "2"),
        ("SETBIT", "b", "1", "-1"), ("SETBIT", "b", "1", "x"), ("SETBIT", "b", "1", ""),
        ("SETBIT", "b", "x", "x"), ("SETBIT", "b", "4294967296", "1"),
        ("SETBIT", "b", BIG, "1"), ("SETBIT", "b", "#1", "1"), ("SETBIT", "b", "1.0", "1"),
        ("SETBIT", "b", " 1", "1"), ("SETBIT", "b", "01", "1"), ("SETBIT", "b", "1", "01"),
        ("GETBIT", "b", "-1"), ("GETBIT", "b", "x"), ("GETBIT", "b", "4294967296"),
        ("SETBIT", "b", "1"), ("GETBIT", "b"), ("GETBIT", "b", "1", "2"), ("GET", "b"),
        ("LPUSH", "l", "x"), ("SETBIT", "l", "1", "1"), ("SETBIT", "l", "x", "1"),
        ("SETBIT", "l", "1", "5"), ("GETBIT", "l", "1"), ("GETBIT", "l", "x"),
    ],
    "bitcount": [
        ("BITCOUNT", "nokey"), ("BITCOUNT", "nokey", "0", "1"), ("BITCOUNT", "nokey", "0"),
        ("BITCOUNT", "nokey", "a", "b"), ("SET", "s", "foobar"), ("BITCOUNT", "s"),
        ("BITCOUNT", "s", "0", "0"), ("BITCOUNT", "s", "1", "1"), ("BITCOUNT", "s", "1", "-2"),
        ("BITCOUNT", "s", "-3", "-1"), ("BITCOUNT", "s", "-1", "-3"), ("BITCOUNT", "s", "-100", "100"),
        ("BITCOUNT", "s", "5", "100"), ("BITCOUNT", "s", "6", "100"), ("BITCOUNT", "s", "3", "1"),
        ("BITCOUNT", "s", "0", "0", "BIT"), ("BITCOUNT", "s", "1", "1", "bit"),
        ("BITCOUNT", "s", "5", "30", "BIT"), ("BITCOUNT", "s", "-5", "-1", "BIT"),
        ("BITCOUNT", "s", "0", "-1", "BYTE"), ("BITCOUNT", "s", "0", "-1", "byte"),
        ("BITCOUNT", "s", "3", "3", "BIT"), ("BITCOUNT", "s", "9", "14", "BIT"),
        ("BITCOUNT", "s", "10", "9", "BIT"), ("BITCOUNT", "s", "-2", "-10", "BIT"),
        ("BITCOUNT", "s", "0", "1000", "BIT"), ("BITCOUNT", "s", "47", "47", "BIT"),
        ("BITCOUNT", "s", "0"), ("BITCOUNT", "s", "0", "1", "BIT", "x"),
        ("BITCOUNT", "s", "0", "1", "FOO"), ("BITCOUNT", "s", "a", "1"), ("BITCOUNT", "s", "0", "b"),
        ("BITCOUNT", "s", "a", "b", "FOO"), ("BITCOUNT", "s", "-4", "-5", "BITS"),
        ("BITCOUNT", "s", "-5", "-4", "BITS"), ("BITCOUNT", "s", "-4", "5", "FOO"),
        ("BITCOUNT", "s", "0", "1", "BI"),
        ("BITCOUNT", "s", SMALL, BIG), ("BITCOUNT", "s", SMALL, BIG, "BIT"),
        ("BITCOUNT", "s", "0", "9223372036854775808"), ("BITCOUNT",),
        ("SET", "e", ""), ("BITCOUNT", "e"), ("BITCOUNT", "e", "0", "-1"),
        ("BITCOUNT", "e", "0", "-1", "BIT"), ("SET", "i", "1234"), ("BITCOUNT", "i", "1", "2"),
        ("LPUSH", "l", "x"), ("BITCOUNT", "l"), ("BITCOUNT", "l", "x", "y"),
    ],
    "bitpos": [
        ("BITPOS", "nokey", "0"), ("BITPOS", "nokey", "1"), ("BITPOS", "nokey", "2"),
        ("BITPOS", "nokey", "x"), ("BITPOS", "nokey", "1", "x"), ("BITPOS", "nokey", "0", "1", "2", "FOO"),
        ("SET", "s", b"\xff\xf0\x00"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1"),
        ("BITPOS", "s", "1", "2"), ("BITPOS", "s", "0", "0"), ("BITPOS", "s", "0", "1"),
        ("BITPOS", "s", "0", "2", "-1"), ("BITPOS", "s", "1", "2", "-1"), ("BITPOS", "s", "0", "0", "0"),
        ("BITPOS", "s", "1", "7", "15", "BIT"), ("BITPOS", "s", "0", "7", "15", "BIT"),
        ("BITPOS", "s", "0", "0", "11", "BIT"), ("BITPOS", "s", "0", "0", "12", "BIT"),
        ("BITPOS", "s", "1", "12", "-1", "BIT"), ("BITPOS", "s", "0", "5", "5", "BIT"),
        ("BITPOS", "s", "1", "5", "5", "BIT"), ("BITPOS", "s", "1", "-1", "-1", "BIT"),
        ("BITPOS", "s", "1", "100", "-1", "BIT"), ("BITPOS", "s", "0", "-3", "-5", "BIT"),
        ("BITPOS", "s", "1", "0", "-1", "byte"), ("BITPOS", "s", "1", "0", "-1", "bit"),
        ("BITPOS", "s", "0", "0", "-1", "FOO"), ("BITPOS", "s", "0", "x", "-1", "BIT"),
        ("BITPOS", "s", "0", "0", "x", "BIT"), ("BITPOS", "s", "0", "x", "y", "FOO"),
        ("BITPOS", "s", "0", "0", "1", "BIT", "x"), ("BITPOS", "s", "3"),
        ("BITPOS", "s", "1", SMALL, BIG), ("BITPOS", "s", "0", SMALL, BIG, "BIT"),
        ("SET", "f", b"\xff\xff"), ("BITPOS", "f", "0"), ("BITPOS", "f", "0", "0"),
        ("BITPOS", "f", "0", "0", "-1"), ("BITPOS", "f", "0", "1", "BIT"),
        ("BITPOS", "f", "0", "3", "-1", "BIT"), ("BITPOS", "f", "1", "0", "-1"),
        ("SET", "z", b"\x00\x00"), ("BITPOS", "z", "1"), ("BITPOS", "z", "0"),
        ("BITPOS", "z", "1", "0", "-1", "BIT"), ("SET", "e", ""), ("BITPOS", "e", "0"),
        ("BITPOS", "e", "1"), ("BITPOS", "e", "0", "0"), ("BITPOS", "e", "0", "0", "-1", "BIT"),
        ("LPUSH", "l", "x"), ("BITPOS", "l", "1"), ("BITPOS", "l", "2"), ("BITPOS", "l", "1", "x"),
        ("BITPOS",), ("BITPOS", "s"),
    ],
    "bitop": [
        ("SET", "{t}a", "foobar"), ("SET", "{t}b", "abcdef"), ("SET", "{t}c", "x"),
        ("BITOP", "AND", "{t}d", "{t}a", "{t}b"), ("GET", "{t}d"),
        ("BITOP", "or", "{t}d", "{t}a", "{t}b", "{t}c"), ("GET", "{t}d"),
        ("BITOP", "XOR", "{t}d", "{t}a", "{t}c"), ("GET", "{t}d"),
        ("BITOP", "NOT", "{t}d", "{t}a"), ("GET", "{t}d"), ("BITOP", "NOT", "{t}d", "{t}a", "{t}b"),
        ("BITOP", "AND", "{t}d", "{t}a", "{t}none"), ("GET", "{t}d"),
        ("BITOP", "AND", "{t}d", "{t}none"), ("EXISTS", "{t}d"),
        ("BITOP", "NOT", "{t}d", "{t}none"), ("BITOP", "FOO", "{t}d", "{t}a"),
        ("BITOP", "AN", "{t}d", "{t}a"), ("BITOP", "AND", "{t}d"),
        ("LPUSH", "{t}l", "x"), ("BITOP", "AND", "{t}d", "{t}a", "{t}l"),
        ("BITOP", "AND", "{t}l", "{t}a"), ("TYPE", "{t}l"), ("GET", "{t}l"),
        ("SET", "{t}e", ""), ("BITOP", "OR", "{t}d", "{t}e"), ("EXISTS", "{t}d"),
        ("SET", "{t}x", "1", "EX", "100"), ("BITOP", "OR", "{t}x", "{t}a"), ("TTL", "{t}x"),
        ("BITOP", "AND", "{t}a", "{t}a", "{t}b"), ("GET", "{t}a"),
    ],
    "bitop_across_shards": [
        ("SET", "a", "foobar"), ("SET", "b", "abcdef"), ("SET", "c", "x"),
        ("BITOP", "AND", "d", "a", "b"), ("GET", "d"), ("BITOP", "OR", "d", "a", "b", "c"),
        ("GET", "d"), ("BITOP", "XOR", "k1", "a", "c", "k2"), ("GET", "k1"),
        ("BITOP", "NOT", "k3", "a"), ("GET", "k3"), ("BITOP", "AND", "d", "nokey", "k9"),
        ("EXISTS", "d"), ("LPUSH", "l", "x"), ("BITOP", "OR", "d", "a", "l"),
        ("BITOP", "OR", "l", "a", "b"), ("TYPE", "l"),
    ],
    "bitfield_basic": [
        ("BITFIELD", "bf", "SET", "u8", "0", "255"), ("GET", "bf"),
        ("BITFIELD", "bf", "GET", "u8", "0", "GET", "i8", "0", "GET", "u4", "4", "GET", "i4", "2"),
        ("BITFIELD", "bf", "INCRBY", "u2", "100", "1", "OVERFLOW", "SAT", "INCRBY", "i2", "102", "10"),
        ("GET", "bf"), ("STRLEN", "bf"),
        ("BITFIELD", "bf", "SET", "i64", "0", SMALL, "GET", "i64", "0", "GET", "u63", "1"),
        ("BITFIELD", "bf", "SET", "u63", "#1", BIG, "GET", "u63", "#1", "GET", "i64", "63"),
        ("BITFIELD", "bf", "SET", "i8", "#2", "-1", "GET", "u8", "#2", "GET", "u1", "#17"),
        ("BITFIELD", "bf"), ("BITFIELD", "nokey"), ("BITFIELD", "nokey", "GET", "u8", "0"),
        ("EXISTS", "nokey"), ("BITFIELD", "bf", "get", "u8", "0", "set", "u8", "0", "1",
                              "incrby", "u8", "0", "5", "overflow", "fail", "get", "i3", "5"),
        ("BITFIELD_RO", "bf", "GET", "u8", "0", "GET", "i16", "#1"), ("BITFIELD_RO", "bf"),
        ("BITFIELD_RO", "nokey", "GET", "u8", "0"),
        ("BITFIELD", "bf", "GET", "u8", "1000000"), ("BITFIELD", "bf", "GET", "i64", "1000000"),
        ("SET", "n", "12345"), ("BITFIELD", "n", "GET", "u8", "0", "GET", "i32", "4"),
        ("BITFIELD", "n", "SET", "u8", "0", "50"), ("GET", "n"),
    ],
    "bitfield_errors": [
        ("BITFIELD", "bf", "GET", "u64", "0"), ("BITFIELD", "bf", "GET", "i65", "0"),
        ("BITFIELD", "bf", "GET", "i0", "0"), ("BITFIELD", "bf", "GET", "u0", "0"),
        ("BITFIELD", "bf", "GET", "x8", "0"), ("BITFIELD", "bf", "GET", "I8", "0"),
        ("BITFIELD", "bf", "GET", "U8", "0"), ("BITFIELD", "bf", "GET", "u", "0"),
        ("BITFIELD", "bf", "GET", "u-1", "0"), ("BITFIELD", "bf", "GET", "u08", "0"),
        ("BITFIELD", "bf", "GET", "", "0"), ("BITFIELD", "bf", "GET", b"u8\x00x", "0"),
        ("BITFIELD", "bf", "GET", "u8", "-1"), ("BITFIELD", "bf", "GET", "u8", "x"),
        ("BITFIELD", "bf", "GET", "u8", "#"), ("BITFIELD", "bf", "GET", "u8", "#-1"),
        ("BITFIELD", "bf", "GET", "u8", "##1"), ("BITFIELD", "bf", "GET", "u8", "4294967296"),
        ("BITFIELD", "bf", "GET", "u8", "#536870912"), ("BITFIELD", "bf", "GET", "u8", "#536870911"),
        ("BITFIELD", "bf", "GET", "i64", "#" + BIG), ("BITFIELD", "bf", "GET", "u8", "#2305843009213693952"),
        ("BITFIELD", "bf", "GET", "u8"), ("BITFIELD", "bf", "GET"), ("BITFIELD", "bf", "SET", "u8", "0"),
        ("BITFIELD", "bf", "INCRBY", "u8", "0"), ("BITFIELD", "bf", "SET", "u8", "0", "x"),
        ("BITFIELD", "bf", "INCRBY", "u8", "0", "1.5"),
        ("BITFIELD", "bf", "SET", "u8", "0", "9223372036854775808"),
        ("BITFIELD", "bf", "OVERFLOW"), ("BITFIELD", "bf", "OVERFLOW", "FOO"),
        ("BITFIELD", "bf", "OVERFLOW", "sat"), ("BITFIELD", "bf", "FOO"),
        ("BITFIELD", "bf", "GET", "u8", "0", "FOO"),
        ("BITFIELD", "bf", "SET", "x8", "0", "x"), ("BITFIELD", "bf", "SET", "u8", "x", "x"),
        ("BITFIELD", "bf", "OVERFLOW", "FOO", "GET", "x", "y"),
        ("BITFIELD", "bf", "GET", "u8", "0", "OVERFLOW", "x"),
        ("BITFIELD_RO", "bf", "SET", "u8", "0", "1"), ("BITFIELD_RO", "bf", "INCRBY", "u8", "0", "1"),
        ("BITFIELD_RO", "bf", "OVERFLOW", "SAT"),
        ("BITFIELD_RO", "bf", "GET", "u8", "0", "SET", "u8", "0", "x"),
        ("BITFIELD_RO", "bf", "GET", "u64", "0"), ("EXISTS", "bf"), ("BITFIELD",), ("BITFIELD_RO",),
        ("LPUSH", "l", "x"), ("BITFIELD", "l", "GET", "u8", "0"), ("BITFIELD", "l", "SET", "u8", "0", "1"),
        ("BITFIELD", "l"), ("BITFIELD_RO", "l", "GET", "u8", "0"),
        ("BITFIELD_RO", "l", "SET", "u8", "0", "1"),
        ("BITFIELD", "l", "GET", "x8", "0"),
    ],
    "bitfield_overflow": [
        ("BITFIELD", "o", "INCRBY", "u2", "0", "5"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u2", "0", "5"),
        ("BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "5"),
        ("BITFIELD", "o", "INCRBY", "u2", "0", "-5"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u2", "0", "-5"),
        ("BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "-1", "INCRBY", "u2", "0", "1"),
        ("BITFIELD", "o", "SET", "i8", "0", "200"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "SET", "i8", "0", "200"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "SET", "i8", "0", "-200"),
        ("BITFIELD", "o", "OVERFLOW", "FAIL", "SET", "i8", "0", "-200", "GET", "i8", "0"),
        ("BITFIELD", "o", "SET", "u8", "0", "-1"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "SET", "u8", "0", "-1"),
        ("BITFIELD", "o", "SET", "i64", "0", BIG), ("BITFIELD", "o", "INCRBY", "i64", "0", "1"),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i64", "0", SMALL),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "i64", "0", SMALL),
        ("BITFIELD", "o", "OVERFLOW", "FAIL", "INCRBY", "i64", "0", "-1"),
        ("BITFIELD", "o", "INCRBY", "i64", "0", BIG), ("BITFIELD", "o", "INCRBY", "u63", "0", BIG),
        ("BITFIELD", "o", "INCRBY", "u63", "0", BIG),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u63", "0", BIG),
        ("BITFIELD", "o", "OVERFLOW", "SAT", "INCRBY", "u63", "0", SMALL),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "30", "100"), ("GET", "f"),
        ("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u2", "100", "100"), ("GET", "f"),
        ("BITFIELD", "o", "INCRBY", "i1", "0", "1", "INCRBY", "i1", "0", "1", "INCRBY", "u1", "3", "3"),
    ],
    "cross_type_and_ttl": [
        ("SET", "t", "abc", "EX", "100"), ("SETBIT", "t", "100", "1"), ("TTL", "t"),
        ("BITFIELD", "t", "SET", "u8", "200", "1"), ("TTL", "t"), ("GET", "t"),
        ("APPEND", "t", "x"), ("BITCOUNT", "t"), ("SETRANGE", "t", "1", "zz"), ("BITPOS", "t", "1", "1"),
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


def test_offset_limit_follows_proto_max_bulk_len(pair):
    """The offset limit is proto-max-bulk-len bytes: checked with a 1 MB limit."""
    try:
        pair.check("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        for args in [("SETBIT", "b", str(8 * 1024 * 1024), "1"),
        ("SETBIT", "b", str(8 * 1024 * 1024 - 1), "1"),
                     ("STRLEN", "b"), ("GETBIT", "b", str(8 * 1024 * 1024)),
                     ("BITFIELD", "c", "SET", "i64", str(8 * 1024 * 1024 - 1), "-1"), ("STRLEN", "c"),
                     ("BITFIELD", "c", "SET", "u8", "#131072", "1"),
                     ("BITFIELD", "c", "GET", "u8", "#131071"),
                     ("BITFIELD", "c", "GET", "u8", "#131072"), ("BITCOUNT", "c"),
                     ("BITPOS", "c", "0", "-2")]:
            pair.check(*args)
    finally:
        pair.check("CONFIG", "SET", "proto-max-bulk-len", str(512 << 20))


def test_events(pair, shardis_server, redis_server):
    """SETBIT, BITFIELD and BITOP report Redis' keyspace events (and only on change)."""
    cmds = [("SETBIT", "{e}a", "3", "1"), ("SETBIT", "{e}a", "3", "1"), ("SETBIT", "{e}a", "3", "0"),
            ("SETBIT", "{e}a", "20", "0"), ("BITFIELD", "{e}a", "SET", "u8", "0", "0"),
            ("BITFIELD", "{e}a", "SET", "u8", "0", "7"), ("BITFIELD", "{e}a", "GET", "u8", "0"),
            ("BITFIELD", "{e}n", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"),
            ("BITFIELD", "{e}a", "INCRBY", "u8", "100", "0"),
            ("BITOP", "AND", "{e}b", "{e}a", "{e}z"), ("BITOP", "AND", "{e}b", "{e}z")]
    events = compare_keyspace_events(pair, shardis_server.port, redis_server.port, cmds)
    assert len(events) > 10, events


def test_bitfield_unit():
    buf = bytearray(4)
    set_field(buf, 3, 7, 0x55)
    assert get_field(buf, 3, 7, False) == 0x55 and get_field(buf, 3, 7, True) == 0x55 - 128
    assert get_field(b"", 100, 64, True) == 0


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(["WRAP", "SAT", "FAIL"]), st.sampled_from(["SET", "INCRBY", "GET"]),
                          st.booleans(), st.integers(1, 64), st.integers(0, 80),
                          st.one_of(st.integers(-2**63, 2**63 - 1), st.integers(-300, 300))),
                min_size=1, max_size=6))
def test_bitfield_overflow_random(pair, ops):
    args: list[str] = ["BITFIELD", "h"]
    for ow, op, signed, bits, offset, value in ops:
        if not signed:
            bits = min(bits, 63)
        args += ["OVERFLOW", ow, op, f"{'i' if signed else 'u'}{bits}", str(offset)]
        if op != "GET":
            args.append(str(value))
    pair.check(*args)
    pair.check("GET", "h")


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=12), st.integers(-100, 100), st.integers(-100, 100),
       st.sampled_from([None, "BIT", "BYTE"]), st.integers(0, 1), st.booleans())
def test_ranges_random(pair, value, start, end, unit, bit, with_end):
    pair.check("SET", "r", value)
    unit_args = [unit] if unit else []
    pair.check("BITCOUNT", "r", str(start), str(end), *unit_args)
    if with_end or unit:
        pair.check("BITPOS", "r", str(bit), str(start), str(end), *unit_args)
    else:
        pair.check("BITPOS", "r", str(bit), str(start))
    pair.check("BITPOS", "r", str(bit))


def test_bitop_random(pair):
    rng = random.Random(5)
    keys = ["a", "b", "c", "{x}a", "{x}b"]
    for _ in range(40):
        for k in keys:
            if rng.random() < 0.8:
                pair.check("SET", k, bytes(rng.randrange(256) for _ in range(rng.randrange(6))))
            else:
                pair.check("DEL", k)
        op = rng.choice(["AND", "OR", "XOR", "NOT"])
        srcs = rng.sample(keys, 1 if op == "NOT" else rng.randint(1, 4))
        dest = rng.choice(keys + ["d"])
        pair.check("BITOP", op, dest, *srcs)
        pair.check("GET", dest)
