"""INFO stats, commandstats, errorstats and latencystats summed over every router and
shard, and CONFIG RESETSTAT, against redis-server running the same commands."""

from __future__ import annotations

import hashlib
import time

import pytest
from redis._parsers.helpers import parse_info

from tests.helpers import RawClient, RedisServer, Shardis, parse_reply

# Commands whose figures cannot match (none now: INFO is shown without itself, as Redis
# counts it once it has answered; CONFIG RESETSTAT counts itself after the reset).
NOT_COMPARED: set[str] = set()


@pytest.fixture(scope="module")
def two_routers(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("stats") / "data"), shards=3, routers=2).start()
    yield c
    assert c.stop() == 0, c.log()[-3000:]


@pytest.fixture(scope="module")
def reference():
    s = RedisServer().start()
    yield s
    s.stop()


def connections(port: int, n: int = 8) -> list[RawClient]:
    """``n`` connections, at least one on each of the two routers (CLIENT ID tells a
    router's clients apart: router i numbers them from i * 10**9 + 1)."""
    for _ in range(100):  # (the second router may still be starting: the port answers once one listens)
        conns = [RawClient(port) for _ in range(n)]
        routers = {parse_reply(c.call("CLIENT", "ID")) // 1_000_000_000 for c in conns}
        if routers == {0, 1}:
            return conns
        for c in conns:
            c.close()
        time.sleep(0.1)
    raise AssertionError("every connection landed on one router")


def info(port: int, section: str) -> dict:
    """INFO ``section`` parsed, asked on a raw connection (redis-py's would send HELLO
    and CLIENT SETINFO first, counted as well)."""
    c = RawClient(port)
    try:
        return parse_info(parse_reply(c.call("INFO", section)).decode())
    finally:
        c.close()


def command_figures(port: int) -> dict[str, tuple[int, int, int]]:
    stats = info(port, "commandstats")
    return {k[len("cmdstat_"):]: (v["calls"], v["rejected_calls"], v["failed_calls"])
            for k, v in stats.items() if k[len("cmdstat_"):] not in NOT_COMPARED}


# Commands as one client sends them; each runs on both servers, on the next connection.
SEQUENCE = [
    ("SET", "a", "1"), ("GET", "a"), ("GET",), ("NOSUCH", "x"), ("LPUSH", "a", "x"),
    ("SET", "a", "1", "XX", "NX"), ("OBJECT", "FOO"), ("OBJECT", "ENCODING", "a"),
    ("CONFIG", "GET", "port"), ("CONFIG", "NOSUCH"), ("CONFIG", "GET"),
    ("XADD", "s", "*", "f", "v"), ("XINFO", "STREAM", "a"), ("XINFO", "STREAM", "s"),
    ("MSET", "k1", "1", "k2", "2", "k3", "3"), ("MGET", "k1", "k2", "k3", "nokey"),
    ("DEL", "k1", "k2", "k3"), ("DBSIZE",), ("INCR", "a"), ("INCR", "s"), ("PING",),
    ("EXEC",), ("ECHO", "hi"), ("HSET", "h", "f", "v"), ("HGET", "h", "f"),
    ("SUNION", "a", "s"), ("SELECT", "99"), ("SELECT", "0"),
]
# Transactions: each list on one connection.
TRANSACTIONS = [
    [("MULTI",), ("SET", "t", "1"), ("GET",), ("EXEC",)],               # EXECABORT
    [("MULTI",), ("SET", "t", "1"), ("LPUSH", "t", "x"), ("INCR", "t"), ("EXEC",)],
    [("MULTI",), ("MULTI",), ("WATCH", "t"), ("PING",), ("EXEC",)],
    [("MULTI",), ("SET", "x1", "1"), ("SET", "x2", "2"), ("MGET", "x1", "x2"), ("EXEC",)],
    [("MULTI",), ("SAVE",), ("EXEC",)],
    [("MULTI",), ("DISCARD",)],
]


def run_everywhere(shardis_conns: list[RawClient], ref: RawClient) -> None:
    for i, cmd in enumerate(SEQUENCE):
        shardis_conns[i % len(shardis_conns)].call(*cmd)
        ref.call(*cmd)
    for i, tx in enumerate(TRANSACTIONS):
        c = shardis_conns[i % len(shardis_conns)]
        for cmd in tx:
            c.call(*cmd)
            ref.call(*cmd)


def test_commandstats_and_errorstats_match_redis(two_routers, reference):
    conns = connections(two_routers.port)
    ref = RawClient(reference.port)
    try:
        for c in (conns[0], ref):
            c.call("FLUSHALL")
            c.call("CONFIG", "RESETSTAT")
        run_everywhere(conns, ref)
        got, want = command_figures(two_routers.port), command_figures(reference.port)
        assert got == want
        got_e, want_e = info(two_routers.port, "errorstats"), info(reference.port, "errorstats")
        assert got_e == want_e
        got_s, want_s = info(two_routers.port, "stats"), info(reference.port, "stats")
        assert got_s["total_error_replies"] == want_s["total_error_replies"]
        # usec: plausible, and summed where calls are
        for name, v in info(two_routers.port, "commandstats").items():
            assert v["usec"] >= 0 and (v["calls"] or not v["usec"]), name
    finally:
        for c in conns:
            c.close()
        ref.close()


def test_stats_are_summed_over_routers(two_routers):
    conns = connections(two_routers.port, 6)
    try:
        conns[0].call("CONFIG", "RESETSTAT")
        for c in conns:
            c.call("SET", "x", "1")
            c.call("GET", "x")
        stats = info(two_routers.port, "stats")
        # (every connection's 2 commands, on both routers, plus INFO's own connection)
        assert stats["total_commands_processed"] >= 2 * len(conns) + 1
        assert stats["total_net_input_bytes"] >= sum(len(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$1\r\n1\r\n")
                                                     for _ in conns)
        assert stats["total_reads_processed"] >= 2 * len(conns)
        assert stats["total_connections_received"] == 1  # (INFO's: the others came before)
        for c in conns[:2]:
            c.call("INFO", "stats")  # (either router answers the same sums)
        cmds = info(two_routers.port, "commandstats")
        assert cmds["cmdstat_set"]["calls"] == len(conns)
        assert cmds["cmdstat_get"]["calls"] == len(conns)
        # connected_clients: every router's (these, on both routers, and INFO's own;
        # connections closed just before may take a moment to leave)
        deadline = time.monotonic() + 10
        while info(two_routers.port, "clients")["connected_clients"] != len(conns) + 1:
            assert time.monotonic() < deadline, info(two_routers.port, "clients")
            time.sleep(0.1)
        for c in conns[:2]:
            got = parse_info(parse_reply(c.call("INFO", "clients")).decode())
            assert got["connected_clients"] == len(conns) and got["blocked_clients"] == 0
    finally:
        for c in conns:
            c.close()


def test_resetstat_clears_every_router_and_shard(two_routers):
    conns = connections(two_routers.port, 4)
    try:
        for c in conns:
            c.call("SET", "x", "1")
            c.call("LPUSH", "x", "1")   # a shard's failed call and error reply
            c.call("GET")               # a router's rejected call
        assert info(two_routers.port, "commandstats")["cmdstat_lpush"]["failed_calls"] >= 4
        assert parse_reply(conns[-1].call("CONFIG", "RESETSTAT")) == b"OK"
        left = {k for k in info(two_routers.port, "commandstats")}
        assert left <= {"cmdstat_info", "cmdstat_config|resetstat"}
        assert info(two_routers.port, "errorstats") == {}
        stats = info(two_routers.port, "stats")
        assert stats["total_error_replies"] == 0
        assert stats["total_connections_received"] == 3  # (the three INFO connections since)
    finally:
        for c in conns:
            c.close()


# INFO fields Redis' CONFIG RESETSTAT zeroes (resetServerStats) that count something here.
RESET_FIELDS = {"stats": ("keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys",
                          "total_error_replies", "rejected_connections", "total_forks",
                          "latest_fork_usec", "unexpected_error_replies"),
                "persistence": ("rdb_saves", "aof_rewrites",
                                "rdb_last_bgsave_status")}


def test_resetstat_zeroes_what_redis_zeroes(two_routers, reference):
    """Saves, hits and misses, expired keys and error replies, then RESETSTAT: each
    field reads as redis-server's after the same commands (rdb_saves among them)."""
    conns = connections(two_routers.port, 2)
    ref = RawClient(reference.port)
    try:
        for c in (conns[0], ref):
            c.call("CONFIG", "RESETSTAT")
            c.call("SET", "k", "v")
            c.call("GET", "k")
            c.call("GET", "missing")
            c.call("SET", "gone", "v", "PX", "1")
            c.call("LPUSH", "k", "x")
            assert parse_reply(c.call("SAVE")) == b"OK"
        time.sleep(0.01)
        for c in (conns[1], ref):
            c.call("GET", "gone")
        for section, fields in RESET_FIELDS.items():
            got = info(two_routers.port, section)
            assert [got[f] for f in fields] == [info(reference.port, section)[f] for f in fields]
        assert info(two_routers.port, "persistence")["rdb_saves"] >= 1
        for c in (conns[1], ref):
            assert parse_reply(c.call("CONFIG", "RESETSTAT")) == b"OK"
        for section, fields in RESET_FIELDS.items():
            got = info(two_routers.port, section)
            assert [got[f] for f in fields] == [info(reference.port, section)[f] for f in fields]
        assert info(two_routers.port, "persistence")["rdb_saves"] == 0
    finally:
        for c in conns:
            c.close()
        ref.close()


def test_latencystats(two_routers, reference):
    conns = connections(two_routers.port, 4)
    ref = RawClient(reference.port)
    try:
        for c in (conns[0], ref):
            c.call("CONFIG", "RESETSTAT")
        for c in conns + [ref]:
            c.call("SET", "x", "1")
            c.call("GET", "x")
            c.call("CONFIG", "GET", "port")
        got = info(two_routers.port, "latencystats")
        want = info(reference.port, "latencystats")
        skip = {f"latency_percentiles_usec_{name}" for name in NOT_COMPARED}
        assert set(got) - skip == set(want) - skip
        for name, v in got.items():
            assert set(v) == {"p50", "p99", "p99.9"}, name
            assert 0 < v["p50"] <= v["p99"] <= v["p99.9"], name
        # The percentiles shown follow the setting; none with tracking off.
        assert parse_reply(conns[0].call("CONFIG", "SET", "latency-tracking-info-percentiles",
                                         "50 90.5")) == b"OK"
        v = info(two_routers.port, "latencystats")["latency_percentiles_usec_set"]
        assert set(v) == {"p50", "p90.5"}
        raw = conns[1].call("INFO", "latencystats")
        assert b"latency_percentiles_usec_set:p50=" in raw and b",p90.5=" in raw
        conns[0].call("CONFIG", "SET", "latency-tracking", "no")
        assert info(two_routers.port, "latencystats") == {}
    finally:
        conns[0].call("CONFIG", "SET", "latency-tracking", "yes")
        conns[0].call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")
        for c in conns:
            c.close()
        ref.close()


def test_acl_refusals_are_rejected_calls(two_routers, reference):
    """NOPERM and NOAUTH refuse a command before it runs: rejected_calls, and errorstats."""
    conns = connections(two_routers.port, 2)
    ref, ref2 = RawClient(reference.port), RawClient(reference.port)
    try:
        for c in (conns[0], ref):
            c.call("ACL", "SETUSER", "limited", "on", ">pw", "~*", "+@all", "-get", "-hset")
            c.call("CONFIG", "RESETSTAT")
        for c in (conns[1], ref2):
            c.call("AUTH", "limited", "pw")
            c.call("GET", "k")
            c.call("SET", "k", "v")
            c.call("HSET", "h", "f", "v")
            c.call("AUTH", "limited", "wrong")
        assert command_figures(two_routers.port) == command_figures(reference.port)
        assert info(two_routers.port, "errorstats") == info(reference.port, "errorstats")
    finally:
        for c in (conns[0], ref):
            c.call("ACL", "DELUSER", "limited")
        for c in conns + [ref, ref2]:
            c.close()


def sha1(body: str) -> str:
    return hashlib.sha1(body.encode()).hexdigest()


GET1 = "return redis.call('get', KEYS[1])"
GET2 = "return {redis.call('get', KEYS[1]), redis.call('get', KEYS[2])}"
FAILS = "return redis.call('lpush', KEYS[1], 'x')"
LIBRARY = ("#!lua name=statslib\n"
           "redis.register_function('f1', function(k) return redis.call('get', k[1]) end)\n"
           "redis.register_function{function_name='f2', callback=function(k) "
           "return {redis.call('get', k[1]), redis.call('get', k[2])} end, flags={'no-writes'}}")
# Keys a and b lie on different shards of three: GET2 over both runs in the coordinator.
SCRIPTS = [
    ("SET", "a", "1"), ("SET", "b", "2"),
    ("EVAL", GET1, "1", "a"), ("EVAL_RO", GET1, "1", "a"), ("SCRIPT", "LOAD", GET1),
    ("EVALSHA", sha1(GET1), "1", "a"), ("EVALSHA", sha1(GET1), "1", "a"),
    ("EVALSHA_RO", sha1(GET1), "1", "a"), ("EVALSHA", "0" * 40, "1", "a"),
    ("EVALSHA_RO", "1" * 40, "0"), ("EVALSHA", sha1(GET1)), ("EVAL", GET2, "2", "a", "b"),
    ("SCRIPT", "LOAD", GET2), ("EVALSHA", sha1(GET2), "2", "a", "b"),
    ("EVALSHA_RO", sha1(GET2), "2", "a", "b"), ("SCRIPT", "LOAD", FAILS),
    ("EVALSHA", sha1(FAILS), "1", "a"), ("EVAL", FAILS, "1", "a"),
    ("SCRIPT", "EXISTS", sha1(GET1), "abc"), ("SCRIPT", "NOSUCH"),
    ("FUNCTION", "LOAD", "REPLACE", LIBRARY), ("FCALL", "f1", "1", "a"),
    ("FCALL_RO", "f2", "2", "a", "b"), ("FCALL", "f2", "2", "a", "b"), ("FCALL", "nosuch", "0"),
    ("FCALL_RO", "f1", "1", "a"),
    ("MULTI",), ("EVALSHA", sha1(GET1), "1", "a"), ("EVALSHA", sha1(GET2), "2", "a", "b"),
    ("EVALSHA", "2" * 40, "1", "a"), ("EVAL", GET1, "1", "a"), ("FCALL", "f2", "2", "a", "b"),
    ("MGET", "a", "b"), ("DBSIZE",), ("EXEC",),
    ("SCRIPT", "FLUSH"), ("EVALSHA", sha1(GET1), "1", "a"),
    # calls a script makes that are refused: rejected (a known command), or not counted
    ("EVAL", "return redis.pcall('get')", "0"), ("EVAL", "return redis.pcall('nosuch')", "0"),
    ("EVAL_RO", "return redis.pcall('set', 'x', '1')", "0"),
    ("EVAL", "return redis.pcall('shutdown')", "0"),
    ("EVAL", "return redis.pcall('object', 'encoding', 'a')", "1", "a"),
    ("EVAL", "return redis.pcall('config', 'get', 'x', 'y')", "0"),
]


def test_scripts_count_as_redis_counts_them(two_routers, reference):
    """EVALSHA (on a shard, in the coordinator, inside MULTI, NOSCRIPT) counts as
    evalsha, not eval; each command a script calls counts too; FCALL, SCRIPT's
    subcommands and what EXEC runs in the coordinator as one command each."""
    conns = connections(two_routers.port, 2)
    ref = RawClient(reference.port)
    try:
        for c in (conns[0], ref):
            c.call("FLUSHALL")
            c.call("SCRIPT", "FLUSH")
            c.call("CONFIG", "RESETSTAT")
        in_multi = False
        for i, cmd in enumerate(SCRIPTS):
            in_multi = cmd[0] == "MULTI" or in_multi and SCRIPTS[i - 1][0] != "EXEC"
            # (EVALSHA through either router: the second learns the script from the first)
            c = conns[i % 2] if cmd[0] == "EVALSHA" and not in_multi else conns[0]
            got, want = c.call(*cmd), ref.call(*cmd)
            assert got == want, cmd
        assert command_figures(two_routers.port) == command_figures(reference.port)
    finally:
        for c in (conns[0], ref):
            c.call("FUNCTION", "FLUSH")
        for c in conns:
            c.close()
        ref.close()


def test_scripts_of_a_user_with_acl_rules_count_as_themselves(two_routers, reference):
    """A user with ACL rules runs scripts wrapped (``__as``): on a shard, in the
    coordinator and inside MULTI they still count as EVAL, EVALSHA ..."""
    admin = RawClient(two_routers.port)
    conns = connections(two_routers.port, 2)
    ref_admin, ref = RawClient(reference.port), RawClient(reference.port)
    try:
        for c in (admin, ref_admin):
            c.call("ACL", "SETUSER", "scripter", "on", ">pw", "~*", "+@all", "-hset")
            c.call("SCRIPT", "LOAD", GET1)
            c.call("SCRIPT", "LOAD", GET2)
            c.call("CONFIG", "RESETSTAT")
        for c in (conns[1], ref):
            assert parse_reply(c.call("AUTH", "scripter", "pw")) == b"OK"
        for cmd in [("EVAL", GET1, "1", "a"), ("EVALSHA", sha1(GET1), "1", "a"),
                    ("EVALSHA", sha1(GET2), "2", "a", "b"), ("EVALSHA_RO", "0" * 40, "0"),
                    ("EVAL", "return redis.call('hset', KEYS[1], 'f', 'v')", "1", "h"),
                    ("MULTI",), ("EVALSHA", sha1(GET1), "1", "a"), ("EXEC",)]:
            assert conns[1].call(*cmd) == ref.call(*cmd), cmd
        assert command_figures(two_routers.port) == command_figures(reference.port)
    finally:
        for c in (admin, ref_admin):
            c.call("ACL", "DELUSER", "scripter")
        for c in conns + [admin, ref_admin, ref]:
            c.close()
