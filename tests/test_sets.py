"""The set family against a real redis-server 7.0: every reply compared byte for byte
(unordered where Redis answers from a hash table), random replies by their properties."""

from __future__ import annotations

import time

import pytest

from shardis.shardd import sets
from shardis.shardd.storage import LIST, Keyspace, Store
from shardis.commands import CommandTable
from tests.helpers import RawClient, parse_reply, run_in_process

BIG = "9223372036854775807"
SMALL = "-9223372036854775808"

# Sequences run on both servers; every reply must match byte for byte. The sets
# here stay intsets wherever a reply lists members, so Redis' order is defined.
CASES = {
    "sadd_srem_basic": [
        ("SADD", "s", "3", "1", "2"), ("SADD", "s", "2", "4"), ("SMEMBERS", "s"), ("SCARD", "s"),
        ("OBJECT", "ENCODING", "s"), ("SREM", "s", "1", "9"), ("SMEMBERS", "s"),
        ("SREM", "s", "2", "3", "4", "5"), ("EXISTS", "s"), ("SREM", "s", "1"), ("SCARD", "s"),
        ("SMEMBERS", "s"), ("SADD", "s", "1", "1", "1"), ("SCARD", "s"),
    ],
    "intset_order_and_edges": [
        ("SADD", "s", BIG, SMALL, "0", "-1", "10", "9", "-10", "100"), ("SMEMBERS", "s"),
        ("OBJECT", "ENCODING", "s"), ("SISMEMBER", "s", "01"), ("SISMEMBER", "s", "-0"),
        ("SISMEMBER", "s", "+1"), ("SISMEMBER", "s", "9"), ("SREM", "s", "09", "+9"),
        ("SMEMBERS", "s"), ("SADD", "s", "9223372036854775808"), ("OBJECT", "ENCODING", "s"),
    ],
    "conversions": [
        ("SADD", "a", "1"), ("OBJECT", "ENCODING", "a"), ("SADD", "a", "x"),
        ("OBJECT", "ENCODING", "a"), ("SREM", "a", "x"), ("OBJECT", "ENCODING", "a"),
        ("SADD", "b", "x"), ("OBJECT", "ENCODING", "b"), ("SADD", "c", "01"),
        ("OBJECT", "ENCODING", "c"), ("SADD", "d", " 1"), ("OBJECT", "ENCODING", "d"),
        ("SADD", "e", "-0"), ("OBJECT", "ENCODING", "e"), ("SADD", "f", "1.0"),
        ("OBJECT", "ENCODING", "f"), ("SADD", "g", ""), ("OBJECT", "ENCODING", "g"),
        ("SMEMBERS", "g"), ("SISMEMBER", "g", ""), ("TYPE", "g"),
    ],
    "sismember_smismember": [
        ("SISMEMBER", "s", "1"), ("SMISMEMBER", "s", "1", "2"), ("SADD", "s", "1", "2"),
        ("SISMEMBER", "s", "1"), ("SISMEMBER", "s", "3"), ("SMISMEMBER", "s", "1", "3", "2", "1"),
        ("SMISMEMBER", "s", "x"), ("SADD", "t", "a", "b"), ("SMISMEMBER", "t", "a", "c", "b"),
        ("SISMEMBER", "t", "b"), ("SISMEMBER", "t", "B"),
    ],
    "arity": [
        ("SADD", "s"), ("SADD",), ("SREM", "s"), ("SISMEMBER", "s"), ("SISMEMBER", "s", "a", "b"),
        ("SMISMEMBER", "s"), ("SMEMBERS",), ("SMEMBERS", "a", "b"), ("SCARD",), ("SCARD", "a", "b"),
        ("SPOP",), ("SRANDMEMBER",), ("SMOVE", "a", "b"), ("SMOVE", "a", "b", "c", "d"),
        ("SINTER",), ("SINTERCARD", "1"), ("SINTERSTORE", "d"), ("SUNION",), ("SUNIONSTORE", "d"),
        ("SDIFF",), ("SDIFFSTORE", "d"), ("SSCAN", "s"), ("SPOP", "s", "1", "2"),
        ("SRANDMEMBER", "s", "1", "2"), ("SADD", "s", "1"), ("SPOP", "s", "1", "2"),
        ("SRANDMEMBER", "s", "1", "2"),
    ],
    "wrongtype": [
        ("SET", "str", "x"), ("SADD", "str", "1"), ("SREM", "str", "1"), ("SISMEMBER", "str", "1"),
        ("SMISMEMBER", "str", "1"), ("SMEMBERS", "str"), ("SCARD", "str"), ("SPOP", "str"),
        ("SPOP", "str", "0"), ("SPOP", "str", "2"), ("SPOP", "str", "-1"), ("SPOP", "str", "x"),
        ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "0"), ("SRANDMEMBER", "str", "-2"),
        ("SRANDMEMBER", "str", "x"), ("SSCAN", "str", "0"), ("SSCAN", "str", "x"),
        ("SSCAN", "str", "0", "COUNT", "x"), ("SSCAN", "str", "0", "FOO"), ("GET", "str"),
    ],
    "wrongtype_multikey": [
        ("SET", "{t}str", "x"), ("SADD", "{t}s", "1", "2"),
        ("SMOVE", "{t}str", "{t}s", "1"), ("SMOVE", "{t}s", "{t}str", "1"),
        ("SMOVE", "{t}s", "{t}str", "9"), ("SMOVE", "{t}none", "{t}str", "1"), ("SMEMBERS", "{t}s"),
        ("SINTER", "{t}none", "{t}str"), ("SINTER", "{t}s", "{t}none", "{t}str"),
        ("SINTER", "{t}str", "{t}none"), ("SINTERCARD", "2", "{t}none", "{t}str"),
        ("SINTERSTORE", "{t}d", "{t}none", "{t}str"), ("SUNION", "{t}s", "{t}str"),
        ("SUNIONSTORE", "{t}d", "{t}str"), ("SDIFF", "{t}none", "{t}str"),
        ("SDIFF", "{t}s", "{t}str"), ("SDIFFSTORE", "{t}d", "{t}s", "{t}str"),
        ("EXISTS", "{t}d"), ("SINTERSTORE", "{t}str", "{t}s"), ("TYPE", "{t}str"),
        ("SMEMBERS", "{t}str"),
    ],
    "spop_count": [
        ("SPOP", "s"), ("SPOP", "s", "0"), ("SPOP", "s", "3"), ("SPOP", "s", "-1"),
        ("SPOP", "s", "x"), ("SPOP", "s", "1.5"), ("SPOP", "s", ""), ("SPOP", "s", BIG),
        ("SPOP", "s", "9223372036854775808"), ("SADD", "s", "5", "1", "3"), ("SPOP", "s", "0"),
        ("SPOP", "s", "-1"), ("SPOP", "s", "3"), ("EXISTS", "s"), ("SADD", "s", "7", "-2"),
        ("SPOP", "s", BIG), ("EXISTS", "s"), ("SADD", "s", "1"), ("SPOP", "s"), ("EXISTS", "s"),
        ("SADD", "s", "1"), ("SPOP", "s", "1"), ("EXISTS", "s"),
    ],
    "srandmember_count": [
        ("SRANDMEMBER", "s"), ("SRANDMEMBER", "s", "0"), ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "-3"), ("SRANDMEMBER", "s", "x"), ("SRANDMEMBER", "s", "1.5"),
        ("SRANDMEMBER", "s", "9223372036854775808"), ("SRANDMEMBER", "s", SMALL),
        ("SADD", "s", "30", "10", "20"), ("SRANDMEMBER", "s", "0"), ("SRANDMEMBER", "s", "3"),
        ("SRANDMEMBER", "s", "4"), ("SRANDMEMBER", "s", BIG), ("SRANDMEMBER", "s", SMALL),
        ("SRANDMEMBER", "s", "x"), ("SADD", "one", "a"), ("SRANDMEMBER", "one"),
        ("SRANDMEMBER", "one", "-3"), ("SRANDMEMBER", "one", "1"), ("SRANDMEMBER", "one", "2"),
    ],
    "smove": [
        ("SMOVE", "{m}a", "{m}b", "1"), ("SADD", "{m}a", "1", "2"), ("SMOVE", "{m}a", "{m}b", "3"),
        ("SMOVE", "{m}a", "{m}b", "1"), ("SMEMBERS", "{m}a"), ("SMEMBERS", "{m}b"),
        ("OBJECT", "ENCODING", "{m}b"), ("SMOVE", "{m}a", "{m}a", "2"), ("SMOVE", "{m}a", "{m}a", "9"),
        ("SADD", "{m}b", "2"), ("SMOVE", "{m}a", "{m}b", "2"), ("EXISTS", "{m}a"),
        ("SMEMBERS", "{m}b"), ("SADD", "{m}c", "x"), ("SMOVE", "{m}c", "{m}d", "x"),
        ("OBJECT", "ENCODING", "{m}d"), ("SMOVE", "{m}d", "{m}b", "x"),
        ("OBJECT", "ENCODING", "{m}b"), ("SMISMEMBER", "{m}b", "1", "2", "x"), ("EXISTS", "{m}d"),
        ("SMOVE", "{m}a", "{m}a", "1"),
    ],
    "sinter": [
        ("SINTER", "{i}a"), ("SINTER", "{i}a", "{i}b"), ("SADD", "{i}a", "1", "2", "3", "4"),
        ("SADD", "{i}b", "2", "3", "5"), ("SADD", "{i}c", "3", "2", "9", "8", "7", "6"),
        ("SINTER", "{i}a"), ("SINTER", "{i}a", "{i}b"), ("SINTER", "{i}c", "{i}a", "{i}b"),
        ("SINTER", "{i}a", "{i}a"), ("SINTER", "{i}a", "{i}none"), ("SINTER", "{i}none", "{i}a"),
        ("SINTER", "{i}a", "{i}b", "{i}none"), ("SADD", "{i}x", "1", "a"), ("SINTER", "{i}x", "{i}a"),
    ],
    "sintercard": [
        ("SINTERCARD", "1", "{i}a"), ("SADD", "{i}a", "1", "2", "3", "4"), ("SADD", "{i}b", "2", "3", "4"),
        ("SINTERCARD", "1", "{i}a"), ("SINTERCARD", "2", "{i}a", "{i}b"),
        ("SINTERCARD", "2", "{i}a", "{i}b", "LIMIT", "0"), ("SINTERCARD", "2", "{i}a", "{i}b", "LIMIT", "2"),
        ("SINTERCARD", "2", "{i}a", "{i}b", "limit", "10"),
        ("SINTERCARD", "2", "{i}a", "{i}b", "LIMIT", "1", "LIMIT", "3"),
        ("SINTERCARD", "2", "{i}a", "{i}none"), ("SINTERCARD", "0", "{i}a"), ("SINTERCARD", "-1", "{i}a"),
        ("SINTERCARD", "x", "{i}a"), ("SINTERCARD", "", "{i}a"), ("SINTERCARD", "3", "{i}a", "{i}b"),
        ("SINTERCARD", "9223372036854775808", "{i}a"), ("SINTERCARD", "1", "{i}a", "LIMIT"),
        ("SINTERCARD", "1", "{i}a", "LIMIT", "-1"), ("SINTERCARD", "1", "{i}a", "LIMIT", "x"),
        ("SINTERCARD", "1", "{i}a", "FOO", "1"), ("SINTERCARD", "1", "{i}a", "{i}b"),
        ("SINTERCARD", "2", "{i}a", "{i}b", "LIMIT", "1", "FOO"),
        ("SET", "{i}str", "x"), ("SINTERCARD", "1", "{i}str", "LIMIT", "x"),
        ("SINTERCARD", "1", "{i}str", "LIMIT", "1"),
    ],
    "store_commands": [
        ("SADD", "{s}a", "1", "2", "3", "4"), ("SADD", "{s}b", "3", "4", "5"),
        ("SINTERSTORE", "{s}d", "{s}a", "{s}b"), ("SMEMBERS", "{s}d"), ("OBJECT", "ENCODING", "{s}d"),
        ("SUNIONSTORE", "{s}d", "{s}a", "{s}b"), ("SMEMBERS", "{s}d"),
        ("SDIFFSTORE", "{s}d", "{s}a", "{s}b"), ("SMEMBERS", "{s}d"),
        ("SDIFFSTORE", "{s}d", "{s}b", "{s}a"), ("SMEMBERS", "{s}d"),
        ("SDIFFSTORE", "{s}d", "{s}a", "{s}a"), ("EXISTS", "{s}d"),
        ("SET", "{s}d", "string"), ("SUNIONSTORE", "{s}d", "{s}a"), ("TYPE", "{s}d"),
        ("SET", "{s}d", "string", "EX", "100"), ("SINTERSTORE", "{s}d", "{s}a"), ("TTL", "{s}d"),
        ("SINTERSTORE", "{s}d", "{s}a", "{s}none"), ("EXISTS", "{s}d"),
        ("SUNIONSTORE", "{s}d", "{s}none"), ("SDIFFSTORE", "{s}d", "{s}none", "{s}a"),
        ("SINTERSTORE", "{s}a", "{s}a", "{s}b"), ("SMEMBERS", "{s}a"),
        ("SUNIONSTORE", "{s}b", "{s}b", "{s}a"), ("SMEMBERS", "{s}b"),
        ("SADD", "{s}x", "z"), ("SUNIONSTORE", "{s}d", "{s}x", "{s}a"), ("OBJECT", "ENCODING", "{s}d"),
        ("SDIFFSTORE", "{s}d", "{s}d", "{s}x"), ("OBJECT", "ENCODING", "{s}d"), ("SMEMBERS", "{s}d"),
    ],
    "sunion_sdiff": [
        ("SUNION", "{u}a"), ("SDIFF", "{u}a"), ("SADD", "{u}a", "5", "1", "3"),
        ("SADD", "{u}b", "2", "3", "-7"), ("SUNION", "{u}a", "{u}b"), ("SUNION", "{u}b", "{u}none", "{u}a"),
        ("SDIFF", "{u}a", "{u}b"), ("SDIFF", "{u}b", "{u}a"), ("SDIFF", "{u}a", "{u}none"),
        ("SDIFF", "{u}none", "{u}a"), ("SDIFF", "{u}a", "{u}a"), ("SDIFF", "{u}a", "{u}b", "{u}a"),
        ("SADD", "{u}c", "x", "3"), ("SDIFF", "{u}c", "{u}a"), ("SINTER", "{u}c", "{u}b"),
    ],
    "sscan_intset": [
        ("SSCAN", "s", "0"), ("SSCAN", "s", "x"), ("SSCAN", "s", "5"),
        ("SADD", "s", *map(str, range(30, 0, -1))),
        ("SSCAN", "s", "0"), ("SSCAN", "s", "0", "COUNT", "1"), ("SSCAN", "s", "7"),
        ("SSCAN", "s", "0", "MATCH", "1*"), ("SSCAN", "s", "0", "match", "*2", "count", "5"),
        ("SSCAN", "s", "0", "COUNT", "0"), ("SSCAN", "s", "0", "COUNT", "-1"),
        ("SSCAN", "s", "0", "COUNT", "x"), ("SSCAN", "s", "0", "MATCH"), ("SSCAN", "s", "0", "FOO", "1"),
        ("SSCAN", "s", "0", "TYPE", "set"), ("SSCAN", "s", "0", "MATCH", "1", "MATCH", "2"),
        ("SSCAN", "s", "18446744073709551615"), ("SSCAN", "s", "18446744073709551616"),
        ("SSCAN", "s", "-1"), ("SSCAN", "s", "+0"), ("SSCAN", "s", " 0"), ("SSCAN", "s", ""),
        ("SSCAN", "s", "0x"), ("SSCAN", "none", "0", "COUNT", "x"), ("SSCAN", "none", "x"),
        ("SSCAN", "none", "0", "FOO"), ("SSCAN", "s", "0", "COUNT", "1", "COUNT", "0"),
    ],
    "binary_members": [
        ("SADD", "b", b"\x00", b"\xff", b"a\r\nb", b""), ("SCARD", "b"), ("SISMEMBER", "b", b"\x00"),
        ("SMISMEMBER", "b", b"", b"\xff", b"\x00\x00"), ("SREM", "b", b"\x00", b"\x00\x00"),
        ("SCARD", "b"), ("SADD", b"\xfe\x00", "1"), ("SMEMBERS", b"\xfe\x00"),
    ],
}

# Sequences whose replies list members of hash-table sets: compared as sets.
UNORDERED_CASES = {
    "hashtable_members": [
        ("SADD", "h", "a", "b", "c", "1"), ("SMEMBERS", "h"), ("SINTER", "h"), ("SUNION", "h"),
        ("SDIFF", "h"), ("SRANDMEMBER", "h", "4"), ("SRANDMEMBER", "h", "100"),
        ("SADD", "{h}x", "a", "b", "c"), ("SADD", "{h}y", "b", "c", "d", "10"),
        ("SINTER", "{h}x", "{h}y"), ("SUNION", "{h}x", "{h}y"), ("SDIFF", "{h}y", "{h}x"),
        ("SINTERSTORE", "{h}z", "{h}x", "{h}y"), ("SMEMBERS", "{h}z"),
        ("SUNIONSTORE", "{h}z", "{h}x", "{h}y"), ("SMEMBERS", "{h}z"),
        ("SPOP", "{h}z", "100"), ("EXISTS", "{h}z"),
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_table(pair, name):
    for args in CASES[name]:
        pair.check(*args)


def test_expired_set(pair):
    """An expired set reads as missing and a new one starts fresh (an intset again)."""
    pair.check("SADD", "s", "1", "x")
    pair.check("PEXPIRE", "s", "20")
    time.sleep(0.05)
    for args in [("SMEMBERS", "s"), ("SCARD", "s"), ("SADD", "s", "2"), ("SMEMBERS", "s"),
                 ("OBJECT", "ENCODING", "s"), ("TTL", "s")]:
        pair.check(*args)


@pytest.mark.parametrize("name", sorted(UNORDERED_CASES))
def test_unordered(pair, name):
    for args in UNORDERED_CASES[name]:
        pair.check_unordered(*args)


def test_resp3(pair3):
    """RESP3: sets answer as sets (~), SRANDMEMBER with a count and SSCAN as arrays."""
    for name in ("sadd_srem_basic", "intset_order_and_edges", "spop_count", "srandmember_count",
                 "smove", "sinter", "sintercard", "store_commands", "sunion_sdiff", "sscan_intset",
                 "wrongtype_multikey"):
        pair3.check("FLUSHALL")
        for args in CASES[name]:
            pair3.check(*args)
    pair3.check("FLUSHALL")
    for args in UNORDERED_CASES["hashtable_members"]:
        got, want = pair3.both(*args)
        assert got[:1] == want[:1], (args, got, want)
    pair3.check("SMEMBERS", "none")
    pair3.check("SPOP", "none")
    pair3.check("SPOP", "none", "2")
    pair3.check("SRANDMEMBER", "none", "2")


def test_across_shards(pair):
    """Keys on different shards (a, b, c are on three): the coordinator runs them."""
    pair.check("SADD", "a", "1", "2", "3")
    pair.check("SADD", "b", "2", "3", "4")
    for args in [("SINTER", "a", "b"), ("SINTERCARD", "2", "a", "b"),
                 ("SINTERCARD", "2", "a", "b", "LIMIT", "1"), ("SINTERCARD", "1", "a"),
                 ("SINTERCARD", "x", "a", "b"), ("SMOVE", "a", "b", "1"), ("SMOVE", "a", "c", "2"),
                 ("SINTERSTORE", "c", "a", "b"), ("SUNIONSTORE", "d", "a", "b", "c"),
                 ("SDIFFSTORE", "a", "d", "c")]:
        pair.check(*args)
    for key in ("a", "b", "c", "d"):
        pair.check_unordered("SMEMBERS", key)
    pair.check_unordered("SUNION", "a", "b", "c")
    pair.check_unordered("SDIFF", "d", "a", "c")
    pair.check("SET", "s", "x")
    pair.check("SINTER", "a", "s")
    pair.check("SMOVE", "s", "a", "x")


def _members(client, key) -> set:
    return set(parse_reply(client.call("SMEMBERS", key)))


def _both(pair, *args):
    return parse_reply(pair.s.call(*args)), parse_reply(pair.r.call(*args))


@pytest.mark.parametrize("size", [5, 40, 600, 3000])
def test_random_properties(pair, size):
    """SPOP / SRANDMEMBER: counts, membership, distinctness, repeats, on both servers."""
    kind = "int" if size != 600 else "str"
    members = [str(i) if kind == "int" else f"m{i}" for i in range(size)]
    for i in range(0, size, 500):
        pair.check("SADD", "s", *members[i:i + 500])
    pair.check("OBJECT", "ENCODING", "s")
    universe = set(m.encode() for m in members)
    for got in _both(pair, "SRANDMEMBER", "s"):
        assert got in universe
    for n in (1, 3, size // 2, size - 1, size, size + 5):
        for got in _both(pair, "SRANDMEMBER", "s", str(n)):
            assert len(got) == min(n, size) and len(set(got)) == len(got) and set(got) <= universe
    for got in _both(pair, "SRANDMEMBER", "s", str(-3 * size)):
        assert len(got) == 3 * size and set(got) <= universe
    if size >= 40:
        s_got = parse_reply(pair.s.call("SRANDMEMBER", "s", "-200"))
        assert len(set(s_got)) > 5, "draws should vary"
    left = set(universe)
    for n in (None, "1", "2", str(max(size // 3, 1))):
        args = ("SPOP", "s") if n is None else ("SPOP", "s", n)
        got_s, got_r = _both(pair, *args)
        for got in (got_s, got_r):
            popped = [got] if n is None else got
            assert len(popped) == (1 if n is None else int(n))
            assert len(set(popped)) == len(popped) and set(popped) <= universe
        popped = {got_s} if n is None else set(got_s)
        assert not popped & _members(pair.s, "s")
        left -= popped
        assert _members(pair.s, "s") == left
        pair.r.call("DEL", "s")
        pair.r.call("SADD", "s", *sorted(left))  # keep the reference in step
        pair.check("SCARD", "s")
    assert _members(pair.s, "s") == left
    rest = parse_reply(pair.s.call("SPOP", "s", str(size)))
    assert set(rest) == left
    pair.r.call("SPOP", "s", str(size))
    pair.check("EXISTS", "s")


def test_spop_rebuild_encoding(pair):
    """SPOP taking five times what stays: Redis builds a new set, an intset again."""
    pair.check("SADD", "s", *map(str, range(600)))
    pair.check("OBJECT", "ENCODING", "s")
    pair.both("SPOP", "s", "590")
    pair.check("SCARD", "s")
    pair.check("OBJECT", "ENCODING", "s")
    pair.check("SADD", "t", *map(str, range(600)))
    pair.both("SPOP", "t", "500")  # 100 stay: 5 * 100 > 500 is false -> rebuilt as well
    pair.check("OBJECT", "ENCODING", "t")
    pair.check("SADD", "u", *map(str, range(600)))
    pair.both("SPOP", "u", "400")
    pair.check("OBJECT", "ENCODING", "u")


def _full_scan(client, key, *opts) -> list:
    cursor, out, calls = b"0", [], 0
    while True:
        cursor, part = parse_reply(client.call("SSCAN", key, cursor, *opts))
        out += part
        calls += 1
        assert calls < 100000
        if cursor == b"0":
            return out


def test_sscan_hashtable(pair):
    members = [f"k{i}" for i in range(2000)] + ["", "\x00", "\x00\x00", "a" * 20, "a" * 20 + "b"]
    for i in range(0, len(members), 500):
        pair.check("SADD", "s", *members[i:i + 500])
    for opts in [(), ("COUNT", "1"), ("COUNT", "7"), ("COUNT", "1000"), ("MATCH", "k1*"),
                 ("MATCH", "*9", "COUNT", "50")]:
        got, want = _full_scan(pair.s, "s", *opts), _full_scan(pair.r, "s", *opts)
        assert len(got) == len(set(got)) and set(got) == set(want), opts
    # COUNT bounds the members visited per call (plus those sharing the 8-byte cursor prefix).
    cursor, part = parse_reply(pair.s.call("SSCAN", "s", "0", "COUNT", "10"))
    assert cursor != b"0" and 10 <= len(part) <= 30
    # Members sharing their first 8 bytes come back in one reply, so the scan advances.
    pair.check("SADD", "p", *[f"prefix00{i}" for i in range(100)], "x")
    got = _full_scan(pair.s, "p", "COUNT", "5")
    assert len(got) == 101 and len(set(got)) == 101
    # Any cursor is accepted and the scan still ends.
    assert parse_reply(pair.s.call("SSCAN", "s", "18446744073709551615"))[0] == b"0"


def test_big_set(pair):
    """~20,000 members: intset -> hashtable at the 513th, replies checked against Redis."""
    pair.check("SADD", "{b}s", *map(str, range(512)))
    pair.check("OBJECT", "ENCODING", "{b}s")
    pair.check("SMEMBERS", "{b}s")
    pair.check("SADD", "{b}s", "512")
    pair.check("OBJECT", "ENCODING", "{b}s")
    for i in range(513, 20000, 1000):
        pair.check("SADD", "{b}s", *map(str, range(i, min(i + 1000, 20000))))
    pair.check("SADD", "{b}s", "x", "y")
    pair.check("SCARD", "{b}s")
    pair.check("SISMEMBER", "{b}s", "19999")
    pair.check("SMISMEMBER", "{b}s", "0", "20000", "x", "511")
    pair.check("SREM", "{b}s", "x", "5", "nope")
    pair.check("SADD", "{b}t", *map(str, range(0, 30000, 7)))
    pair.check("SINTERCARD", "2", "{b}s", "{b}t")
    pair.check("SINTERCARD", "2", "{b}s", "{b}t", "LIMIT", "100")
    pair.check("SINTERSTORE", "{b}d", "{b}s", "{b}t")
    pair.check("OBJECT", "ENCODING", "{b}d")
    pair.check("SUNIONSTORE", "{b}d", "{b}s", "{b}t")
    pair.check("SDIFFSTORE", "{b}d", "{b}t", "{b}s")
    pair.check_unordered("SMEMBERS", "{b}d")
    pair.check_unordered("SDIFF", "{b}s", "{b}t")
    pair.check("SCARD", "{b}s")
    assert len(parse_reply(pair.s.call("SMEMBERS", "{b}s"))) == 20000
    pair.check("SMOVE", "{b}s", "{b}t", "1")
    pair.check("SCARD", "{b}t")
    pair.check("SRANDMEMBER", "{b}s", "0")
    assert len(set(parse_reply(pair.s.call("SRANDMEMBER", "{b}s", "500")))) == 500


def test_pipelined(pair):
    cmds = [("SADD", f"p{i % 7}", str(i)) for i in range(200)]
    cmds += [("SMEMBERS", f"p{i}") for i in range(7)] + [("SCARD", "p3"), ("SPOP", "p1", "0")]
    pair.check_pipeline(cmds)


def test_unit_against_list_key(redis_server, tmp_path):
    """Set commands against a list key run on a Keyspace directly: WRONGTYPE as Redis says."""
    table = CommandTable()
    sets.register(table)
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 24)
    ref = RawClient(redis_server.port)
    cases = [("SADD", "l", "1"), ("SMEMBERS", "l"), ("SINTER", "s", "l"), ("SUNIONSTORE", "d", "s", "l"),
             ("SMOVE", "s", "l", "1"), ("SSCAN", "l", "0"), ("SINTERCARD", "2", "s", "l"),
             ("SPOP", "l", "1"), ("SRANDMEMBER", "l", "-1"), ("SINTERSTORE", "l", "s"), ("TYPE", "l")]
    try:
        for args in cases:
            ref.call("FLUSHALL")
            ref.call("RPUSH", "l", "a")
            ref.call("SADD", "s", "1")
            want = ref.call(*args)
            if args[0] == "TYPE":
                continue
            txn = store.env.begin(write=True)
            ks = Keyspace(store, txn, int(time.time() * 1000))
            ks.flush_db(0)
            lst = ks.new_coll(0, b"l", LIST)
            ks.mput(lst, b"\x00" * 8, b"a")
            lst.count = 1
            ks.save_coll(lst)
            sets.sadd(ks, 0, [b"SADD", b"s", b"1"])
            got = run_in_process(table, ks, args)
            txn.abort()
            assert got == want, f"{args!r}:\n  shardis: {got!r}\n  redis:   {want!r}"
    finally:
        ref.close()
        store.close()


def test_sampler_spreads(tmp_path):
    """Random draws on a big set reach many different members, deterministically per batch."""
    store = Store(str(tmp_path / "lmdb"), "no", 1 << 26)
    first_id = store.next_id
    try:
        txn = store.env.begin(write=True)
        ks = Keyspace(store, txn, 12345)
        sets.sadd(ks, 0, [b"SADD", b"s", *[b"member:%d" % i for i in range(5000)]])
        a = sets.srandmember(ks, 0, [b"SRANDMEMBER", b"s", b"-300"])
        b = sets.srandmember(ks, 0, [b"SRANDMEMBER", b"s", b"-300"])
        assert a != b and len(set(a)) > 100
        distinct = sets.srandmember(ks, 0, [b"SRANDMEMBER", b"s", b"1000"])
        assert len(set(distinct)) == 1000
        txn.abort()
        store.next_id = first_id  # as a restarted shard would find it
        txn = store.env.begin(write=True)
        ks2 = Keyspace(store, txn, 12345)
        sets.sadd(ks2, 0, [b"SADD", b"s", *[b"member:%d" % i for i in range(5000)]])
        assert sets.srandmember(ks2, 0, [b"SRANDMEMBER", b"s", b"-300"]) == a
        txn.abort()
    finally:
        store.close()
