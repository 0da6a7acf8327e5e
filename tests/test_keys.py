"""Generic key commands against a real redis-server 7.0, keys spread over the 3 shards
and kept together on one (hash tags)."""

from __future__ import annotations

import random
import time

import pytest

from shardis.slots import key_slot, slot_table
from tests.helpers import encode_command, parse_reply

TABLE = slot_table(3)


def shard_of(key: str) -> int:
    return TABLE[key_slot(key.encode())]


def on_shards(prefix: str, per_shard: int = 2) -> list[str]:
    """``per_shard`` key names on each of the 3 shards, shard 0's first."""
    found: dict[int, list[str]] = {0: [], 1: [], 2: []}
    i = 0
    while any(len(v) < per_shard for v in found.values()):
        k = f"{prefix}{i}"
        if len(found[shard_of(k)]) < per_shard:
            found[shard_of(k)].append(k)
        i += 1
    return found[0] + found[1] + found[2]


A0, _, A1, _, A2, _ = on_shards("a")  # one key on each shard
SAME = ["{t}a", "{t}b", "{t}c"]       # three keys on one shard


def test_key_layout():
    assert len({shard_of(A0), shard_of(A1), shard_of(A2)}) == 3
    assert len({shard_of(k) for k in SAME}) == 1


def fill(pair, keys, value: str = "v") -> None:
    """SET every key on both servers, pipelined."""
    for c in (pair.s, pair.r):
        c.send_raw(b"".join(encode_command(["SET", k, value]) for k in keys))
        for _ in keys:
            assert c.read_reply() == b"+OK\r\n"


def ints(pair, *args) -> tuple[int, int]:
    got, want = pair.both(*args)
    return parse_reply(got), parse_reply(want)


def close(pair, *args, tol: int = 1000) -> None:
    """Both servers answer integers within ``tol`` of each other (time passes)."""
    got, want = ints(pair, *args)
    assert abs(got - want) <= tol, f"{args}: shardis {got}, redis {want}"


# ------------------------------------------------------------ DEL EXISTS TOUCH UNLINK TYPE


@pytest.mark.parametrize("name", ["DEL", "UNLINK", "EXISTS", "TOUCH"])
def test_multi_key_counts(pair, name):
    keys = on_shards("m", 3)
    for k in keys[::2]:
        pair.check("SET", k, "v")
    pair.check("SET", SAME[0], "v")
    pair.check(name)
    pair.check(name, "missing")
    pair.check(name, keys[0])
    pair.check(name, *keys)
    pair.check(name, *SAME)
    pair.check(name, keys[0], keys[0], keys[2], "missing", keys[0])
    pair.check(name, *keys, *SAME)
    pair.check("DBSIZE")
    pair.check(name, *keys, *SAME)


def test_type(pair):
    pair.check("SET", A0, "v")
    pair.check("TYPE", A0)
    pair.check("TYPE", A1)
    pair.check("TYPE")
    pair.check("TYPE", A0, A1)
    pair.check("PEXPIRE", A0, "1")
    time.sleep(0.01)
    pair.check("TYPE", A0)


# ------------------------------------------------------------ expiry

FUTURE_MS = int(time.time() * 1000) + 3_600_000


@pytest.mark.parametrize("args", [
    ["EXPIRE", "k", "100"], ["EXPIRE", "k", "100", "nx"], ["EXPIRE", "k", "100", "XX"],
    ["EXPIRE", "k", "100", "GT"], ["EXPIRE", "k", "100", "lt"], ["EXPIRE", "k", "100", "xx", "gt"],
    ["EXPIRE", "k", "100", "xx", "lt"], ["EXPIRE", "k", "100", "nx", "nx"],
    ["EXPIRE", "k", "100", "nx", "xx"], ["EXPIRE", "k", "100", "nx", "gt"],
    ["EXPIRE", "k", "100", "lt", "nx"], ["EXPIRE", "k", "100", "gt", "lt"],
    ["EXPIRE", "k", "100", "foo"], ["EXPIRE", "k", "x", "foo"], ["EXPIRE", "k", "x"],
    ["EXPIRE", "k", "100", "nx\0junk"], ["EXPIRE", "k", "100", "bad\0junk"],
    ["EXPIRE", "k", "+5"], ["EXPIRE", "k", "05"], ["EXPIRE", "k", " 5"], ["EXPIRE", "k", ""],
    ["EXPIRE", "k", "9223372036854775807"], ["EXPIRE", "k", "9223372036854775"],
    ["EXPIRE", "k", "9223372036854776"], ["EXPIRE", "k", "-9223372036854776"],
    ["EXPIRE", "k", "-9223372036854775"], ["EXPIRE", "k", "9223372036854775808"],
    ["EXPIRE", "k"], ["EXPIRE", "k", "0"], ["EXPIRE", "k", "-1"],
    ["PEXPIRE", "k", "100000"], ["PEXPIRE", "k", "9223372036854775807"],
    ["PEXPIRE", "k", "9223372036854775806"], ["PEXPIRE", "k", "-9223372036854775808"],
    ["PEXPIRE", "k", "0", "gt"], ["PEXPIRE", "k", "0", "lt"], ["PEXPIRE", "k", "-5", "xx"],
    ["EXPIREAT", "k", str(FUTURE_MS // 1000)], ["EXPIREAT", "k", "1"],
    ["EXPIREAT", "k", "9223372036854775807"], ["EXPIREAT", "k", "9223372036854775"],
    ["EXPIREAT", "k", str(FUTURE_MS // 1000), "gt"],
    ["PEXPIREAT", "k", str(FUTURE_MS)], ["PEXPIREAT", "k", "9223372036854775807"],
    ["PEXPIREAT", "k", "0"], ["PEXPIREAT", "k", str(FUTURE_MS), "xx"],
    ["PEXPIREAT", "k", str(FUTURE_MS), "NX"], ["PEXPIREAT", "k", str(FUTURE_MS), "LT"],
])
@pytest.mark.parametrize("state", ["missing", "plain", "ttl"])
def test_expire_table(pair, args, state):
    if state != "missing":
        pair.check("SET", "k", "v")
    if state == "ttl":
        pair.check("PEXPIREAT", "k", str(FUTURE_MS + 60_000))
    pair.check(*args)
    pair.check("EXISTS", "k")
    pair.check("DBSIZE")
    close(pair, "PTTL", "k")


def test_expire_options_sequence(pair):
    for k in (A0, A1, A2, *SAME):
        pair.check("SET", k, "v")
        pair.check("EXPIRE", k, "100", "XX")
        pair.check("EXPIRE", k, "100", "GT")
        pair.check("EXPIRE", k, "100", "LT")
        pair.check("EXPIRE", k, "100", "NX")
        pair.check("EXPIRE", k, "100", "NX")
        pair.check("EXPIRE", k, "200", "GT")
        pair.check("EXPIRE", k, "150", "GT")
        pair.check("EXPIRE", k, "50", "LT")
        pair.check("EXPIRE", k, "60", "LT")
        pair.check("EXPIRE", k, "70", "XX")
        close(pair, "TTL", k, tol=1)
        pair.check("EXPIRE", k, "-1", "GT")
        pair.check("EXPIRE", k, "-1", "LT")
        pair.check("EXISTS", k)
    pair.check("DBSIZE")


def test_expire_error_names(pair):
    for name in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT", "expire", "PExpire"):
        pair.check(name, "k", "9223372036854775807")
        pair.check(name, "k", "-9223372036854775808")
        pair.check(name, "k", "1", "bogus")


def test_ttl_family(pair):
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        pair.check(cmd, "nokey")
        pair.check(cmd)
    pair.check("SET", A0, "v")
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        pair.check(cmd, A0)
    pair.check("PEXPIREAT", A0, str(FUTURE_MS + 499))
    pair.check("EXPIRETIME", A0)
    pair.check("PEXPIRETIME", A0)
    pair.check("PEXPIREAT", A0, str(FUTURE_MS + 500))
    pair.check("EXPIRETIME", A0)
    pair.check("PEXPIREAT", A0, str(FUTURE_MS + 1500))
    pair.check("EXPIRETIME", A0)
    close(pair, "TTL", A0, tol=1)
    close(pair, "PTTL", A0)
    pair.check("EXPIRE", A0, "100")
    close(pair, "TTL", A0, tol=1)
    pair.check("PEXPIRE", A0, "1500")
    close(pair, "TTL", A0, tol=1)
    close(pair, "PTTL", A0, tol=200)
    pair.check("PEXPIRE", A0, "20")
    time.sleep(0.05)
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        pair.check(cmd, A0)


def test_persist(pair):
    pair.check("PERSIST", A0)
    pair.check("SET", A0, "v")
    pair.check("PERSIST", A0)
    pair.check("EXPIRE", A0, "100")
    pair.check("PERSIST", A0)
    pair.check("TTL", A0)
    pair.check("PERSIST", A0)
    pair.check("PERSIST")


def test_set_clears_ttl_and_lazy_expiry(pair):
    pair.check("SET", A1, "v")
    pair.check("PEXPIRE", A1, "30")
    time.sleep(0.06)
    pair.check("GET", A1)
    pair.check("EXISTS", A1)
    pair.check("TTL", A1)


def test_active_expiry_dbsize(pair):
    """Keys with a short TTL leave DBSIZE without anyone touching them."""
    s = pair.s
    keys = on_shards("exp", 20)
    for k in keys:
        s.call("SET", k, "v")
        s.call("PEXPIRE", k, "100")
    s.call("SET", "stays", "v")
    assert s.call("DBSIZE") == b":%d\r\n" % (len(keys) + 1)
    deadline = time.monotonic() + 5
    while s.call("DBSIZE") != b":1\r\n" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert s.call("DBSIZE") == b":1\r\n"
    assert s.call("EXISTS", "stays") == b":1\r\n"


# ------------------------------------------------------------ KEYS

KEY_NAMES = ["", "a", "b", "ab", "abc", "a*", "*", "?", "[", "]", "-", "^", "\\", "a-b", "aa",
             "hello", "hallo", "hxllo", "hllo", "heeeello", "h\nllo", "user:1", "user:2",
             "user:10", "{t}a", "{t}b", "\x80", "\xff", "caf\xe9"]
PATTERNS = ["*", "**", "", "?", "??", "a*", "*a", "*b*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo",
            "h[a-b]llo", "h[b-a]llo", "[", "[a", "[^", "[]", "[]]", "[a-]", "\\", "a\\", "\\*",
            "\\?", "*\\*", "user:?", "user:*", "user:[0-9]", "user:[0-9]*", "{t}*", "[\\]]",
            "[\\", "h[a-z", "*[", "a*b*c", "[^a-z]", "*o", "?*?", "[\x80-\xff]", "[a-\xff]"]


def test_keys_patterns(pair):
    for k in KEY_NAMES + on_shards("spread", 10):
        pair.check("SET", k, "v")
    for p in PATTERNS:
        pair.check_unordered("KEYS", p)
    pair.check("KEYS")
    pair.check("KEYS", "a", "b")


def test_keys_random_patterns(pair):
    rng = random.Random(7)
    names = {"".join(rng.choice("abc-]^[\\*?") for _ in range(rng.randint(1, 4))) for _ in range(120)}
    for k in names:
        pair.check("SET", k, "v")
    for _ in range(300):
        pattern = "".join(rng.choice("ab*?[]^-\\c") for _ in range(rng.randint(0, 6)))
        pair.check_unordered("KEYS", pattern)


def test_keys_skips_expired(pair):
    pair.check("SET", A0, "v")
    pair.check("SET", A1, "v")
    pair.check("PEXPIRE", A1, "10")
    time.sleep(0.03)
    pair.check_unordered("KEYS", "*")


# ------------------------------------------------------------ SCAN


def scan_all(client, *opts) -> tuple[list[bytes], int]:
    """Every key SCAN returns, to the end; and how many calls it took."""
    cursor, out, calls = b"0", [], 0
    while True:
        cursor, keys = parse_reply(client.call("SCAN", cursor, *opts))
        out.extend(keys)
        calls += 1
        if cursor == b"0":
            return out, calls


@pytest.mark.parametrize("opts", [
    [], ["COUNT", "1"], ["COUNT", "3"], ["COUNT", "1000"], ["MATCH", "k1*"], ["MATCH", "*"],
    ["MATCH", "k?"], ["MATCH", "nothing*"], ["TYPE", "string"], ["TYPE", "STRING"],
    ["TYPE", "list"], ["TYPE", "foo"], ["MATCH", "k1*", "COUNT", "5", "TYPE", "string"],
    ["count", "2", "match", "{t}*"], ["COUNT", "5", "COUNT", "7"],
])
def test_scan_complete(pair, opts):
    keys = [f"k{i}" for i in range(300)] + [f"{{t}}{i}" for i in range(50)]
    fill(pair, keys)
    got, calls = scan_all(pair.s, *opts)
    want, _ = scan_all(pair.r, *opts)
    assert sorted(set(got)) == sorted(set(want))
    assert len(got) == len(set(got)), "a key came back twice"
    if opts == ["COUNT", "1"]:
        assert calls > 50


def test_scan_empty_and_edges(pair):
    pair.check("SCAN", "0")
    pair.check("SCAN", "0", "COUNT", "1")
    pair.check("SET", "x", "v")
    for cursor in ("", "+0", "-0", " 0", "0 ", "0x1", "abc", "-", "+",
                   "18446744073709551616", "99999999999999999999"):
        if cursor in ("", "+0", "-0"):
            pair.check_unordered("SCAN", cursor)
        else:
            pair.check("SCAN", cursor)
    for opts in (["COUNT", "0"], ["COUNT", "-1"], ["COUNT", "x"], ["COUNT"], ["MATCH"], ["TYPE"],
                 ["FOO"], ["FOO", "bar"], ["COUNT", "x", "FOO"], ["COUNT", "0", "MATCH"],
                 ["MATCH", "*", "COUNT"], ["COUNT", "9223372036854775808"]):
        pair.check("SCAN", "0", *opts)
    pair.check("SCAN")


def test_scan_cursor_past_slots(pair):
    pair.check("SET", "x", "v")
    for cursor in ("16384", "18446744073709551615", "-1"):
        assert parse_reply(pair.s.call("SCAN", cursor)) == [b"0", []]


def test_scan_guarantee_under_writes(pair):
    """Keys present for the whole iteration come back, whatever else changes meanwhile."""
    stable = [f"s{i}" for i in range(400)]
    churn = [f"c{i}" for i in range(400)]
    fill(pair, stable + churn)
    cursor, seen, n = b"0", set(), 0
    while True:
        cursor, keys = parse_reply(pair.s.call("SCAN", cursor, "COUNT", "7"))
        seen.update(keys)
        pair.s.call("DEL", churn[n % len(churn)])
        pair.s.call("SET", f"new{n}", "v")
        n += 1
        if cursor == b"0":
            break
    assert {k.encode() for k in stable} <= seen


def test_scan_other_db(pair):
    pair.check("SELECT", "3")
    pair.check("SET", "only-in-3", "v")
    pair.check("SCAN", "0")
    pair.check("SELECT", "0")
    pair.check("SCAN", "0")


# ------------------------------------------------------------ RANDOMKEY


def test_randomkey(pair):
    pair.check("RANDOMKEY")
    pair.check("RANDOMKEY", "x")
    pair.check("SET", A2, "v")
    pair.check("RANDOMKEY")
    keys = on_shards("rk", 5)
    for k in keys:
        pair.check("SET", k, "v")
    seen = {parse_reply(pair.s.call("RANDOMKEY")) for _ in range(60)}
    assert seen <= {k.encode() for k in keys + [A2]}
    assert len(seen) > 3
    pair.check("FLUSHALL")
    pair.check("SET", A1, "v")
    pair.check("PEXPIRE", A1, "10")
    time.sleep(0.03)
    pair.check("RANDOMKEY")


# ------------------------------------------------------------ RENAME RENAMENX COPY MOVE

PAIRS = {"same": (SAME[0], SAME[1]), "cross": (A0, A1), "cross2": (A2, A0)}


@pytest.mark.parametrize("where", list(PAIRS))
@pytest.mark.parametrize("name", ["RENAME", "RENAMENX"])
def test_rename(pair, where, name):
    src, dst = PAIRS[where]
    pair.check(name, src, dst)
    pair.check(name, src, src)
    pair.check("SET", src, "one")
    pair.check(name, src, src)
    pair.check("GET", src)
    pair.check(name, src, dst)
    pair.check("GET", src)
    pair.check("GET", dst)
    pair.check("SET", src, "two")
    pair.check("EXPIRE", src, "100")
    pair.check(name, src, dst)
    pair.check("GET", src)
    pair.check("GET", dst)
    close(pair, "TTL", dst, tol=1)
    close(pair, "TTL", src, tol=1)
    pair.check("DBSIZE")
    pair.check(name, dst, src)
    close(pair, "PTTL", src)
    pair.check("DBSIZE")
    pair.check(name)
    pair.check(name, src)


def test_rename_expired_source(pair):
    pair.check("SET", A0, "v")
    pair.check("PEXPIRE", A0, "10")
    time.sleep(0.03)
    pair.check("RENAME", A0, A1)
    pair.check("RENAMENX", A0, A1)
    pair.check("DBSIZE")


@pytest.mark.parametrize("where", list(PAIRS))
def test_copy(pair, where):
    src, dst = PAIRS[where]
    pair.check("COPY", src, dst)
    pair.check("SET", src, "one")
    pair.check("COPY", src, src)
    pair.check("COPY", src, dst)
    pair.check("COPY", src, dst)
    pair.check("GET", dst)
    pair.check("SET", src, "two")
    pair.check("PEXPIRE", src, "100000")
    pair.check("COPY", src, dst, "REPLACE")
    pair.check("GET", dst)
    close(pair, "PTTL", dst)
    pair.check("PERSIST", src)
    pair.check("COPY", src, dst, "replace", "replace")
    pair.check("TTL", dst)
    pair.check("COPY", src, dst, "DB", "1")
    pair.check("COPY", src, src, "DB", "1")
    pair.check("COPY", src, src, "DB", "1")
    pair.check("COPY", src, dst, "db", "0")
    pair.check("COPY", src, dst, "db", "0", "replace")
    pair.check("SELECT", "1")
    pair.check("GET", dst)
    pair.check("GET", src)
    pair.check("DBSIZE")
    pair.check("SELECT", "0")
    pair.check("DBSIZE")


@pytest.mark.parametrize("opts", [
    ["DB"], ["DB", "x"], ["DB", "16"], ["DB", "-1"], ["DB", "99999999999"], ["DB", "2147483648"],
    ["FOO"], ["REPLACE", "FOO"], ["DB", "1", "DB", "x"], ["FOO", "DB", "99"], ["DB", "99", "FOO"],
    ["DB", "0"], ["REPLACE"], ["DB", "15", "REPLACE"],
])
@pytest.mark.parametrize("where", ["same", "cross", "one"])
def test_copy_errors(pair, opts, where):
    src, dst = PAIRS.get(where, (A0, A0))
    pair.check("SET", src, "v")
    pair.check("COPY", src, dst, *opts)
    pair.check("COPY", "nokey", dst, *opts)


def test_move(pair):
    for k in (A0, A1, SAME[0]):
        pair.check("MOVE", k, "1")
        pair.check("SET", k, "v")
        pair.check("PEXPIRE", k, "100000")
        pair.check("MOVE", k, "0")
        pair.check("MOVE", k, "1")
        pair.check("EXISTS", k)
        pair.check("SET", k, "again")
        pair.check("MOVE", k, "1")
        pair.check("SELECT", "1")
        pair.check("GET", k)
        close(pair, "PTTL", k)
        pair.check("MOVE", k, "0")
        pair.check("SELECT", "0")
        pair.check("GET", k)
    for db in ("16", "-1", "x", "99999999999", "", "1.5"):
        pair.check("MOVE", A0, db)
        pair.check("MOVE", "nokey", db)
    pair.check("MOVE", A0)
    pair.check("DBSIZE")
