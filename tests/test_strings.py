"""The string family against a real redis-server 7.0: every reply compared byte for byte."""

from __future__ import annotations

import random
import time
from fractions import Fraction

import hiredis
import pytest

from shardis.shardd import strings
from shardis.shardd.storage import LIST, Keyspace, Store
from shardis.shardd.strings import (add_long_double, format_long_double, lcs_reply,
                            parse_long_double)
from shardis.commands import CommandTable
from tests.helpers import RawClient, parse_reply, run_in_process

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"
KEYS = [f"k{i}" for i in range(30)]  # spread over all 3 shards

# Each case is a sequence of commands run on both servers; every reply must match.
CASES = {
    "get_set_basic": [
        ("GET", "a"), ("SET", "a", "1"), ("GET", "a"), ("SET", "a", ""), ("GET", "a"),
        ("SET", "a", b"\x00\xff\r\n bin"), ("GET", "a"), ("SET", "", "empty key"), ("GET", ""),
    ],
    "set_arity": [("SET",), ("SET", "a"), ("GET",), ("GET", "a", "b")],
    "set_nx_xx": [
        ("SET", "a", "1", "XX"), ("GET", "a"), ("SET", "a", "1", "NX"), ("SET", "a", "2", "NX"),
        ("GET", "a"), ("SET", "a", "3", "XX"), ("GET", "a"), ("SET", "a", "4", "nx", "NX"),
        ("SET", "a", "4", "xx", "XX"), ("GET", "a"),
    ],
    "set_get": [
        ("SET", "a", "1", "GET"), ("SET", "a", "2", "GET"), ("SET", "a", "3", "NX", "GET"),
        ("GET", "a"), ("SET", "b", "1", "XX", "GET"), ("GET", "b"), ("SET", "a", "4", "XX", "GET"),
        ("SET", "a", "5", "GET", "GET"), ("GET", "a"),
    ],
    "set_syntax_errors": [
        ("SET", "a", "1", "NX", "XX"), ("SET", "a", "1", "XX", "NX"), ("SET", "a", "1", "EX"),
        ("SET", "a", "1", "PX"), ("SET", "a", "1", "EX", "10", "PX", "10"),
        ("SET", "a", "1", "PX", "10", "EX", "10"), ("SET", "a", "1", "EXAT", "10", "PXAT", "10"),
        ("SET", "a", "1", "KEEPTTL", "EX", "10"), ("SET", "a", "1", "EX", "10", "KEEPTTL"),
        ("SET", "a", "1", "PERSIST"), ("SET", "a", "1", "FOO"), ("SET", "a", "1", "N"),
        ("SET", "a", "1", "NXX"), ("SET", "a", "1", "EX", "10", "EXAT", "10"),
        ("SET", "a", "1", "GETX"), ("SET", "a", "1", ""), ("GET", "a"),
    ],
    "set_expire_errors": [
        ("SET", "a", "1", "EX", "0"), ("SET", "a", "1", "EX", "-1"), ("SET", "a", "1", "PX", "0"),
        ("SET", "a", "1", "EXAT", "0"), ("SET", "a", "1", "PXAT", "-5"),
        ("SET", "a", "1", "EX", "abc"), ("SET", "a", "1", "EX", "1.5"), ("SET", "a", "1", "EX", " 1"),
        ("SET", "a", "1", "EX", "+1"), ("SET", "a", "1", "EX", "01"),
        ("SET", "a", "1", "EX", "9223372036854775808"),
        ("SET", "a", "1", "EX", "9223372036854776"), ("SET", "a", "1", "EX", "9223372036854775"),
        ("SET", "a", "1", "PX", BIG), ("SET", "a", "1", "EXAT", "9223372036854776"),
        ("SET", "a", "1", "NX", "EX", "0"), ("GET", "a"),
    ],
    "set_expire_ok": [
        ("SET", "a", "1", "EX", "100"), ("SET", "a", "1", "PX", "100000"),
        ("SET", "a", "1", "EX", "10", "EX", "20"), ("SET", "a", "1", "EXAT", "9223372036854775"),
        ("SET", "a", "1", "PXAT", BIG), ("SET", "a", "1", "ex", "100", "nx"),
        ("SET", "a", "2", "XX", "PX", "5000", "GET"), ("SET", "a", "1", "KEEPTTL", "KEEPTTL"),
        ("GET", "a"), ("SET", "past", "1", "PXAT", "1"), ("GET", "past"),
        ("SET", "past", "1", "EXAT", "1", "GET"), ("GET", "past"),
    ],
    "setnx": [
        ("SETNX", "a", "1"), ("SETNX", "a", "2"), ("GET", "a"), ("SETNX", "a"),
        ("SETNX", "", ""), ("GET", ""),
    ],
    "setex_psetex": [
        ("SETEX", "a", "100", "v"), ("GET", "a"), ("PSETEX", "b", "100000", "w"), ("GET", "b"),
        ("SETEX", "a", "0", "v"), ("SETEX", "a", "-1", "v"), ("SETEX", "a", "x", "v"),
        ("PSETEX", "a", "0", "v"), ("PSETEX", "a", BIG, "v"), ("SETEX", "a", "9223372036854775", "v"),
        ("SETEX", "a", "10"), ("PSETEX", "a", "10", "v", "x"), ("GET", "a"),
    ],
    "getset_getdel": [
        ("GETSET", "a", "1"), ("GETSET", "a", "2"), ("GET", "a"), ("GETDEL", "a"), ("GETDEL", "a"),
        ("GET", "a"), ("GETSET", "a"), ("GETDEL",), ("GETDEL", "a", "b"),
        ("SET", "a", "x", "EX", "100"), ("GETSET", "a", "y"), ("GET", "a"),
    ],
    "getex": [
        ("GETEX", "a"), ("GETEX", "a", "EX", "10"), ("GETEX", "a", "EX", "abc"),
        ("GETEX", "a", "EX", "0"), ("SET", "a", "1"), ("GETEX", "a"), ("GETEX", "a", "EX", "100"),
        ("GETEX", "a", "PX", "100000"), ("GETEX", "a", "EXAT", "9223372036854775"),
        ("GETEX", "a", "PXAT", BIG), ("GETEX", "a", "PERSIST"), ("GETEX", "a", "persist", "PERSIST"),
        ("GETEX", "a", "EX", "10", "EX", "20"),
        ("GETEX", "a", "EX", "0"), ("GETEX", "a", "EX", "-1"), ("GETEX", "a", "EX", "abc"),
        ("GETEX", "a", "PX", BIG), ("GETEX", "a", "EX", "9223372036854776"),
        ("GETEX", "a", "PERSIST", "EX", "10"), ("GETEX", "a", "EX", "10", "PERSIST"),
        ("GETEX", "a", "EX"), ("GETEX", "a", "KEEPTTL"), ("GETEX", "a", "NX"),
        ("GETEX", "a", "XX"), ("GETEX", "a", "GET"), ("GETEX", "a", "FOO"),
        ("GETEX", "a", "EX", "10", "PX", "10"), ("GETEX",), ("GET", "a"),
        ("GETEX", "a", "PXAT", "1"), ("GET", "a"), ("SET", "b", "2"),
        ("GETEX", "b", "EXAT", "1"), ("GET", "b"),
    ],
    "append_strlen": [
        ("STRLEN", "a"), ("APPEND", "a", "hello"), ("APPEND", "a", " world"), ("GET", "a"),
        ("STRLEN", "a"), ("APPEND", "a", ""), ("APPEND", "b", ""), ("GET", "b"), ("STRLEN", "b"),
        ("APPEND", "c", b"\x00\x01"), ("APPEND", "c", b"\xff"), ("GET", "c"), ("STRLEN", "c"),
        ("APPEND", "a"), ("STRLEN",), ("STRLEN", "a", "b"), ("SET", "n", "12"), ("APPEND", "n", "3"),
        ("INCR", "n"),
    ],
    "incr_decr": [
        ("INCR", "a"), ("INCR", "a"), ("DECR", "a"), ("DECR", "b"), ("INCRBY", "a", "10"),
        ("INCRBY", "a", "-100"), ("DECRBY", "a", "5"), ("DECRBY", "a", "-5"), ("GET", "a"),
        ("INCRBY", "z", "0"), ("GET", "z"), ("DECRBY", "z", SMALL), ("DECRBY", "z", BIG),
        ("INCRBY", "z", "abc"), ("INCRBY", "z", "1.0"), ("INCRBY", "z", " 1"), ("INCRBY", "z", "+1"),
        ("INCRBY", "z", "9223372036854775808"), ("INCRBY", "z", ""), ("INCRBY", "z", "-0"),
        ("INCRBY", "z", "01"), ("INCR",), ("INCR", "a", "b"), ("INCRBY", "a"), ("DECRBY", "a"),
    ],
    "incr_values": [
        ("SET", "a", "abc"), ("INCR", "a"), ("SET", "a", " 1"), ("INCR", "a"), ("SET", "a", "1 "),
        ("INCR", "a"), ("SET", "a", "+1"), ("INCR", "a"), ("SET", "a", "007"), ("INCR", "a"),
        ("SET", "a", "1.5"), ("DECR", "a"), ("SET", "a", ""), ("INCR", "a"), ("SET", "a", "-0"),
        ("INCR", "a"), ("SET", "a", "0"), ("DECR", "a"), ("SET", "a", "-12"), ("INCRBY", "a", "12"),
        ("SET", "a", "123456789012345678901"), ("INCR", "a"),
        ("SET", "a", "1\x002"), ("INCR", "a"), ("GET", "a"),
    ],
    "incr_overflow": [
        ("SET", "a", BIG), ("INCR", "a"), ("INCRBY", "a", "1"), ("DECRBY", "a", "-1"), ("GET", "a"),
        ("DECR", "a"), ("SET", "b", SMALL), ("DECR", "b"), ("DECRBY", "b", "1"),
        ("INCRBY", "b", "-1"), ("INCRBY", "b", BIG), ("SET", "c", "9223372036854775808"),
        ("INCR", "c"), ("SET", "d", "1"), ("INCRBY", "d", SMALL), ("DECRBY", "d", SMALL),
        ("SET", "e", "-2"), ("INCRBY", "e", SMALL), ("INCRBY", "e", BIG),
    ],
    "incrbyfloat": [
        ("INCRBYFLOAT", "a", "1.5"), ("INCRBYFLOAT", "a", "0.1"), ("SET", "b", "10.5"),
        ("INCRBYFLOAT", "b", "0.1"), ("INCRBYFLOAT", "c", "3.0e3"), ("INCRBYFLOAT", "c", "-3000"),
        ("GET", "c"), ("INCRBYFLOAT", "d", "5.0e3"), ("INCRBYFLOAT", "d", "2.0e2"),
        ("INCRBYFLOAT", "e", "1e400"), ("INCRBYFLOAT", "e", "-1e400"),
        ("INCRBYFLOAT", "f", "1e-30"), ("INCRBYFLOAT", "f", "-1e-20"), ("GET", "f"),
        ("INCRBYFLOAT", "g", "0x1p3"), ("INCRBYFLOAT", "g", ".5"), ("INCRBYFLOAT", "g", "5."),
        ("INCRBYFLOAT", "g", "+2"), ("INCRBYFLOAT", "g", "-0"), ("INCRBYFLOAT", "g", "1E2"),
        ("INCRBYFLOAT", "h", "0.000003814697265625"), ("INCRBYFLOAT", "i", "123456789.987654321"),
        ("INCRBYFLOAT", "j", "-1.1"), ("INCRBYFLOAT", "j", "1.1"),
    ],
    "incrbyfloat_errors": [
        ("INCRBYFLOAT", "a", "abc"), ("INCRBYFLOAT", "a", ""), ("INCRBYFLOAT", "a", " 1"),
        ("INCRBYFLOAT", "a", "1 "), ("INCRBYFLOAT", "a", "nan"), ("INCRBYFLOAT", "a", "inf"),
        ("INCRBYFLOAT", "a", "-inf"), ("INCRBYFLOAT", "a", "1e5000"), ("INCRBYFLOAT", "a", "1e-5000"),
        ("INCRBYFLOAT", "a", "1e"), ("INCRBYFLOAT", "a", "0x"), ("INCRBYFLOAT", "a", "1,5"),
        ("INCRBYFLOAT", "a", "1e4932"), ("INCRBYFLOAT", "a", "1e4932"), ("GET", "a"),
        ("SET", "b", "abc"), ("INCRBYFLOAT", "b", "1"), ("INCRBYFLOAT", "b", "x"),
        ("SET", "c", "inf"), ("INCRBYFLOAT", "c", "1"), ("SET", "d", " 1"), ("INCRBYFLOAT", "d", "1"),
        ("INCRBYFLOAT", "a"), ("INCRBYFLOAT", "a", "1", "2"),
    ],
    "getrange": [
        ("GETRANGE", "a", "0", "-1"), ("SET", "a", "This is a string"),
        ("GETRANGE", "a", "0", "3"), ("GETRANGE", "a", "-3", "-1"), ("GETRANGE", "a", "0", "-1"),
        ("GETRANGE", "a", "10", "100"), ("GETRANGE", "a", "5", "3"), ("GETRANGE", "a", "-1", "-5"),
        ("GETRANGE", "a", "-100", "-50"), ("GETRANGE", "a", "-100", "2"), ("GETRANGE", "a", "100", "200"),
        ("GETRANGE", "a", "0", "0"), ("GETRANGE", "a", "-1", "-1"), ("GETRANGE", "a", SMALL, BIG),
        ("GETRANGE", "a", "x", "1"), ("GETRANGE", "a", "1", "x"), ("GETRANGE", "a", "1"),
        ("GETRANGE", "nokey", "x", "1"), ("SET", "e", ""), ("GETRANGE", "e", "0", "-1"),
        ("GETRANGE", "e", "0", "0"), ("SET", "n", "12345"), ("GETRANGE", "n", "1", "2"),
        ("SUBSTR", "a", "0", "3"), ("SUBSTR", "a", "-3", "-1"), ("SUBSTR", "nokey", "0", "1"),
        ("SUBSTR", "a", "x", "1"), ("SUBSTR", "a", "1"),
    ],
    "setrange": [
        ("SETRANGE", "a", "0", ""), ("GET", "a"), ("SETRANGE", "a", "100", ""), ("EXISTS", "a"),
        ("SETRANGE", "a", "5", "hi"), ("GET", "a"), ("SETRANGE", "a", "0", "HELLO"), ("GET", "a"),
        ("SETRANGE", "a", "3", "xyzw"), ("GET", "a"), ("SETRANGE", "a", "0", ""),
        ("SETRANGE", "a", "10", "!"), ("GET", "a"), ("SETRANGE", "a", "-1", "x"),
        ("SETRANGE", "a", "x", "x"), ("SETRANGE", "a", "536870911", "xy"),
        ("SETRANGE", "a", "536870912", "x"), ("SETRANGE", "b", "536870912", "x"),
        ("SETRANGE", "b", "536870912", ""), ("SETRANGE", "b", "-1", ""), ("SETRANGE", "b", BIG, "x"),
        ("SETRANGE", "b", "9223372036854775808", "x"), ("SETRANGE", "a", "1"), ("GET", "a"),
        ("SET", "n", "12345"), ("SETRANGE", "n", "1", b"\x00"), ("GET", "n"),
    ],
    "mget_mset": [
        ("MSET", *[x for k in KEYS for x in (k, k.upper())]),
        ("MGET", *KEYS), ("MGET", *reversed(KEYS), "missing", "k0", "k0"),
        ("MSET", "k1", "a", "k2"), ("MSET", "k1"), ("MGET",), ("MSET", "k1", "x", "k1", "y"),
        ("MGET", "k1"), ("MSET", "k3", "v", "k3", "w", "k9", "z"), ("MGET", "k3", "k9", "k1"),
        ("MSET", "", b"\x00"), ("MGET", "", "k3"),
    ],
    "msetnx": [
        ("MSETNX", *[x for k in KEYS for x in (k, k + "v")]), ("MGET", *KEYS),
        ("MSETNX", "new1", "1", "new2", "2", "k17", "x"), ("MGET", "new1", "new2", "k17"),
        ("MSETNX", "new1", "1", "new2", "2", "new3", "3", "new4", "4"),
        ("MGET", "new1", "new2", "new3", "new4"), ("MSETNX", "n5", "a", "n6"),
        ("MSETNX", "n5"), ("MSETNX", "dup", "1", "dup", "2"), ("GET", "dup"),
        ("MSETNX", "{t}a", "1", "{t}b", "2"), ("MSETNX", "{t}a", "1", "{t}c", "2"), ("GET", "{t}c"),
    ],
    "lcs": [
        ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"), ("LCS", "a", "b", "IDX"),
        ("MSET", "a", "ohmytext", "b", "mynewtext"), ("LCS", "a", "b"), ("LCS", "a", "b", "LEN"),
        ("LCS", "a", "b", "IDX"), ("LCS", "a", "b", "idx", "minmatchlen", "4"),
        ("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
        ("LCS", "a", "b", "IDX", "WITHMATCHLEN"), ("LCS", "a", "b", "IDX", "MINMATCHLEN", "-3"),
        ("LCS", "a", "b", "IDX", "LEN"), ("LCS", "a", "b", "LEN", "IDX"),
        ("LCS", "a", "b", "MINMATCHLEN"), ("LCS", "a", "b", "MINMATCHLEN", "x"),
        ("LCS", "a", "b", "FOO"), ("LCS", "a", "b", "LEN", "WITHMATCHLEN"), ("LCS", "a", "nokey"),
        ("LCS", "a", "nokey", "IDX"), ("LCS", "a", "a"), ("LCS", "a"), ("LCS", "a", "b", "LEN", "LEN"),
        ("SET", "{x}1", "ACCGGTCGAGTGCGCGGAAGCCGGCCGAA"), ("SET", "{x}2", "GTCGTTCGGAATGCCGTTGCTCTGTAAA"),
        ("LCS", "{x}1", "{x}2"), ("LCS", "{x}1", "{x}2", "IDX", "WITHMATCHLEN"),
        ("LCS", "{x}1", "a", "IDX", "WITHMATCHLEN"), ("LCS", "k0", "k1"),
    ],
    "options_case_and_nul": [
        ("SET", "a", "1", "nX"), ("SET", "a", "2", "xX", "gEt"), ("SET", "a", "3", b"NX\x00junk"),
        ("SET", "a", "4", b"XX\x00", "KeepTtl"), ("GET", "a"), ("GETEX", "a", "pErSiSt"),
        ("LCS", "a", "a", b"LEN\x00x"),
    ],
    "unknown_binary_keys": [
        ("SET", b"\xff\xfe", b"\x00"), ("GET", b"\xff\xfe"), ("STRLEN", b"\xff\xfe"),
        ("APPEND", b"\xff\xfe", b"\r\n"), ("GETRANGE", b"\xff\xfe", "0", "-1"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


def _pttl(client, key) -> int | None:
    """PTTL as an int, or None when the server does not know PTTL yet."""
    v = parse_reply(client.call("PTTL", key))
    if isinstance(v, hiredis.ReplyError):
        assert "unknown command" in str(v), v
        return None
    return v


def _ttl_matches(pair, key, slack_ms: int = 2000) -> None:
    """PTTL on both servers agrees to within ``slack_ms`` (exactly for -1 and -2)."""
    got, want = _pttl(pair.s, key), _pttl(pair.r, key)
    if got is None:  # PTTL not implemented in shardis yet: expiry is checked by sleeping
        return
    if want < 0:
        assert got == want, (key, got, want)
    else:
        assert abs(got - want) <= slack_ms, (key, got, want)


TTL_CASES = [
    [("SET", "t", "v", "EX", "100")],
    [("SET", "t", "v", "PX", "50000")],
    [("SET", "t", "v", "EXAT", str(int(time.time()) + 1000))],
    [("SET", "t", "v", "PXAT", str(int(time.time() * 1000) + 70000))],
    [("SET", "t", "v", "EX", "100"), ("SET", "t", "w")],
    [("SET", "t", "v", "EX", "100"), ("SET", "t", "w", "KEEPTTL")],
    [("SET", "t", "v", "EX", "100"), ("SET", "t", "w", "NX", "EX", "5")],
    [("SET", "t", "w", "KEEPTTL")],
    [("SETEX", "t", "100", "v")],
    [("PSETEX", "t", "100000", "v")],
    [("SETEX", "t", "100", "v"), ("GETSET", "t", "w")],
    [("SETEX", "t", "100", "v"), ("APPEND", "t", "w")],
    [("SETEX", "t", "100", "1"), ("INCR", "t")],
    [("SETEX", "t", "100", "1"), ("INCRBYFLOAT", "t", "1.5")],
    [("SETEX", "t", "100", "1"), ("SETRANGE", "t", "3", "x")],
    [("SETEX", "t", "100", "1"), ("MSET", "t", "2")],
    [("SET", "t", "v"), ("GETEX", "t", "EX", "100")],
    [("SET", "t", "v"), ("GETEX", "t", "PXAT", str(int(time.time() * 1000) + 90000))],
    [("SETEX", "t", "100", "v"), ("GETEX", "t", "PERSIST")],
    [("SETEX", "t", "100", "v"), ("GETEX", "t")],
]


@pytest.mark.parametrize("case", range(len(TTL_CASES)))
def test_ttl(pair, case):
    for args in TTL_CASES[case]:
        pair.check(*args)
    _ttl_matches(pair, "t")


def test_expiry_happens(pair):
    """Short TTLs from every TTL-setting command really expire (checked by sleeping)."""
    now_ms = int(time.time() * 1000)
    for args in [("SET", "a", "1", "PX", "150"), ("PSETEX", "b", "150", "1"),
                 ("SET", "c", "1", "PXAT", str(now_ms + 150)), ("SET", "d", "1"),
                 ("GETEX", "d", "PX", "150"), ("SET", "e", "1", "PX", "150"),
                 ("SET", "e", "2", "KEEPTTL"), ("SET", "f", "1", "PX", "150"), ("INCR", "f"),
                 ("SET", "g", "x", "PX", "150"), ("APPEND", "g", "y"),
                 ("SET", "h", "1", "PX", "150"), ("SET", "h", "2"),
                 ("SET", "i", "1", "PX", "150"), ("GETEX", "i", "PERSIST")]:
        pair.check(*args)
    time.sleep(0.4)
    for key in "abcdefghi":
        pair.check("GET", key)
    pair.check("MGET", *"abcdefghi")
    pair.check("SET", "a", "new", "NX")
    pair.check("SETNX", "b", "x")
    pair.check("SET", "c", "y", "XX")
    pair.check("MSETNX", "d", "1", "e", "2", "f", "3")


def test_incrbyfloat_many(pair):
    """Long double arithmetic and %.17Lf formatting on many values."""
    rng = random.Random(7)
    values = ["0.1", "0.2", "0.3", "1.1", "2.675", "1e-7", "123.456", "-0.5", "1e17", "1e18",
              "99999999999999999", "0.000001", "3.14159265358979323846", "1e-17", "5e-18"]
    for _ in range(60):
        values.append("%.*f" % (rng.randint(0, 12), rng.uniform(-1e6, 1e6)))
        values.append("%.*e" % (rng.randint(0, 20), rng.uniform(-10, 10) * 10.0 ** rng.randint(-25, 25)))
    for i, v in enumerate(values):
        pair.check("INCRBYFLOAT", "acc", v)
        pair.check("INCRBYFLOAT", f"one{i % 5}", v)
        pair.check("SET", "s", v)
        pair.check("INCRBYFLOAT", "s", "0")


def test_long_double_unit():
    """The long double emulation without a server: a few exact known answers."""
    assert format_long_double(add_long_double(parse_long_double(b"10.5"),
                                              parse_long_double(b"0.1"))) == b"10.6"
    assert format_long_double(parse_long_double(b"3.0e3")) == b"3000"
    assert format_long_double(parse_long_double(b"-1e-30")) == b"0"
    assert format_long_double(parse_long_double(b"0x1p-18")) == b"0.00000381469726562"
    assert parse_long_double(b"nan") is None and parse_long_double(b" 1") is None
    assert parse_long_double(b"inf") == float("inf")
    assert parse_long_double(b"1e-5000") is None and parse_long_double(b"0e-5000") == 0
    assert parse_long_double(b"0." + b"1" * 5118) is None and parse_long_double(b"0." + b"1" * 5117) > 0
    assert parse_long_double(b"0x1p-16445") == Fraction(1, 2**16445)


def test_lcs_random(pair):
    """LCS on random strings, on one shard ({tag}) and across shards (coordinator)."""
    rng = random.Random(3)
    for n in range(40):
        a = "".join(rng.choice("ACGT") for _ in range(rng.randint(0, 40)))
        b = "".join(rng.choice("AC") for _ in range(rng.randint(0, 40)))
        pair.check("MSET", "{l}a", a, "{l}b", b, "a", a, "b", b)  # a and b: different shards
        opts = [[], ["LEN"], ["IDX"], ["IDX", "WITHMATCHLEN", "MINMATCHLEN", str(n % 4)]][n % 4]
        pair.check("LCS", "{l}a", "{l}b", *opts)
        pair.check("LCS", "a", "b", *opts)
        pair.check("LCS", "b", "a", *opts)
        pair.check("LCS", "{l}a", "b", *opts)


def test_lcs_unit():
    assert lcs_reply(b"ohmytext", b"mynewtext", [b"LCS", b"a", b"b"]) == b"mytext"
    assert lcs_reply(None, b"abc", [b"LCS", b"a", b"b", b"LEN"]) == 0


def test_big_values(pair):
    big = "x" * 300_000
    pair.check("SET", "big", big)
    pair.check("APPEND", "big", big)
    pair.check("STRLEN", "big")
    pair.check("GETRANGE", "big", "299990", "300010")
    pair.check("SETRANGE", "big", "700000", "end")
    pair.check("STRLEN", "big")
    pair.check("GETRANGE", "big", "599990", "-1")


def test_pipelined_mixed(pair):
    """A pipeline of string commands over many shards answers in order."""
    cmds = []
    for i, k in enumerate(KEYS):
        cmds += [("SET", k, str(i)), ("INCR", k), ("APPEND", k, "x"), ("GETRANGE", k, "0", "0")]
    cmds += [("MGET", *KEYS), ("MSETNX", "p1", "1", "p2", "2"), ("MGET", "p1", "p2")]
    pair.check_pipeline(cmds)


def test_mset_odd_count_across_shards_writes_nothing(pair):
    pair.check("MSET", "a", "1", "b")  # a and b live on different shards
    pair.check("GET", "a")


# Commands against a key of another type. No other family exists yet to create
# one through the server, so the handlers run on a Keyspace directly, holding a
# list record, and are compared with redis-server answering the same command
# on a real list.
WRONGTYPE_CASES = [
    ("GET", "l"), ("SET", "l", "v", "GET"), ("SET", "l", "v", "EX", "0", "GET"),
    ("SET", "l", "v", "NX"), ("SET", "l", "v", "XX", "GET"), ("SETNX", "l", "v"),
    ("GETSET", "l", "v"), ("GETDEL", "l"), ("GETEX", "l"), ("GETEX", "l", "EX", "abc"),
    ("GETEX", "l", "FOO"), ("MGET", "l", "s", "nokey"), ("MSETNX", "l", "1", "z", "2"),
    ("APPEND", "l", "x"), ("STRLEN", "l"), ("INCR", "l"), ("DECR", "l"), ("INCRBY", "l", "1"),
    ("INCRBY", "l", "x"), ("DECRBY", "l", "1"), ("INCRBYFLOAT", "l", "1"),
    ("INCRBYFLOAT", "l", "x"), ("GETRANGE", "l", "0", "-1"), ("GETRANGE", "l", "x", "1"),
    ("SUBSTR", "l", "0", "1"), ("SETRANGE", "l", "0", "x"), ("SETRANGE", "l", "0", ""),
    ("SETRANGE", "l", "-1", "x"), ("LCS", "l", "s"), ("LCS", "s", "l", "FOO"),
    ("LCS", "s", "nokey", "IDX"), ("SET", "l", "v"), ("GET", "l"),
]


def test_wrong_type_unit(redis_server, tmp_path):
    table = CommandTable()
    strings.register(table)
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 24)
    ref = RawClient(redis_server.port)
    try:
        for args in WRONGTYPE_CASES:
            ref.call("FLUSHALL")
            ref.call("RPUSH", "l", "a")
            ref.call("SET", "s", "text")
            want = ref.call(*args)
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, int(time.time() * 1000))
            ks.flush_db(0)
            c = ks.new_coll(0, b"l", LIST)  # a one-element list
            c.count = 1
            ks.mput(c, b"\0" * 8, b"a")
            ks.save_coll(c)
            ks.set_string(0, b"s", b"text")
            got = run_in_process(table, ks, args)
            txn.abort()
            assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
    finally:
        ref.close()
        store.close()
