"""CONFIG as Redis 7.0 has it: every parameter of its table (GET, SET and their errors,
compared with a real redis-server), the encoding thresholds on every shard and in a
replay of the write-ahead log, all-or-nothing SET, RESETSTAT, REWRITE of cluster.toml,
and the same names in cluster.toml and on the command line."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tomllib
from types import SimpleNamespace

import pytest

from shardis.router import configcmd
from shardis.shardd.daemon import Shard
from shardis.shardd.storage import LIMITS
from shardis import configtable, errors, rewrite, wire
from shardis.assembly import build_table
from shardis.config import Config, ConfigError, apply, load, validate
from shardis.resp import ReplyError, encode, encode_error
from shardis.supervisor import parse_argv
from tests.helpers import ROOT, Pair, RawClient, Shardis, free_port, parse_reply, wait_for_port
from tests.test_pubsub import eventually, on_router
from tests.test_supervisor import argv_of, role_pids, wait_role

TABLE = build_table()


def _pairs(reply: bytes) -> dict:
    v = parse_reply(reply)
    assert isinstance(v, list) and len(v) % 2 == 0, reply
    return dict(zip(v[::2], v[1::2]))


# ---------------------------------------------------------------- the table itself


def test_table_rows_are_consistent():
    names = [p.name for p in configtable.PARAMS]
    assert len(names) == len(set(names))
    for p in configtable.PARAMS:
        assert p.kind in configtable.KINDS, p.name
        assert p.act in (configtable.STORED, configtable.ROUTER, configtable.SHARD,
                         configtable.START), p.name
        assert configtable.lookup(p.name)[0] is p
        if p.alias:
            assert configtable.lookup(p.alias) == (p, p.alias)
        # Every default reads back as itself through Redis' rules.
        if p.kind != "dir":
            raw = configtable.show(p, p.default).encode("latin-1")
            assert configtable.parse(p, raw, p.default) == p.default, p.name
    shard = {p.name for p in configtable.PARAMS if p.act == configtable.SHARD}
    assert shard == set(LIMITS) | {"notify-keyspace-events", "appendfsync", "busy-reply-threshold",
                                   "maxmemory", "maxmemory-policy", "maxmemory-samples",
                                   "lfu-log-factor", "lfu-decay-time",
                                   "slowlog-log-slower-than", "latency-monitor-threshold"}


# ---------------------------------------------------------------- every parameter vs Redis

# What every parameter is fed, on both sides.
VALUES = [b"", b"0", b"1", b"-1", b"yes", b"no", b"YES", b"x", b"1k", b"1kb", b"2MB", b"1.5",
          b"01", b"+5", b" 5", b"5 ", b"10%", b"100%", b"101%", b"-5%", b"0777", b"778", b"8",
          b"600", b"99999999999", b"18446744073709551615", b"9223372036854775807",
          b"9223372036854775808", b"-2147483649", b"2147483648", b"4294967295", b"4294967296",
          b"1 2", b"60 1 30 2", b"1 2 3", b"0 1", b"a b", b"normal 1 2 3",
          b"pubsub 1mb 2mb 3", b"slave 1 2 3 replica 4 5 6", b"pubsub 1 2 99999999999999999999",
          b"1 2 x", b"-2000 0 2000", b"-2001 0 1", b"50 99 100", b"1e1 0x10", b"inf", b"nan",
          b"101", b"KEA", b"Kq", b"ip", b"hostname", b"ALLKEYS-LRU", b"noeviction", b"yes\x00x",
          b"save now", b"nosave save", b"now save force", b"default", b"a/b", b"abc",
          b"{port}", b"{title}", b"a_b", b"relative", b"absolute", b"panic", b"swapdb",
          b"clients", b"local0", b"systemd"]
# Parameters whose CONFIG SET on the reference would get in the way of the test run
# (connections, persistence, /proc), or that shardis reads at start only by design.
NOT_SWEPT = {"maxclients", "timeout", "appendonly", "save", "oom-score-adj", "requirepass",
             "port", "bind", "appendfsync"}


def _ours(cfg: Config, args: list[bytes]) -> bytes:
    """CONFIG SET as a router checks it, applied to ``cfg`` as the hub would."""
    conn = SimpleNamespace(router=SimpleNamespace(cfg=cfg), addr="127.0.0.1:1")
    try:
        changed = configcmd.config_set(conn, args)
    except ReplyError as e:
        return encode_error(e.args[0])
    for name, value in changed.items():
        configtable.set_value(cfg, configtable.lookup(name)[0], value)
    return b"+OK\r\n"


def test_every_parameter_reads_values_as_redis(redis_server):
    """Each name and alias, fed the same values: CONFIG SET's answer and then CONFIG GET's,
    byte for byte, from shardis' table and from redis-server 7.0."""
    ref = RawClient(redis_server.port)
    cfg = Config()
    mismatches = []
    try:
        for name, (p, _) in sorted(configtable.NAMES.items()):
            if p.name in NOT_SWEPT:
                continue
            before = ref.call("CONFIG", "GET", name)
            for value in VALUES:
                args = [b"CONFIG", b"SET", name.encode(), value]
                want, got = ref.call(*args), _ours(cfg, args)
                if got != want:
                    mismatches.append((name, value, got, want))
                elif got == b"+OK\r\n":
                    want = ref.call("CONFIG", "GET", name)
                    got = encode(configtable.get_matches(cfg, [name.encode()]))
                    if got != want:
                        mismatches.append((name, value, got, want))
            if not p.flags & (configtable.IMMUTABLE | configtable.PROTECTED):
                for k, v in _pairs(before).items():
                    ref.call("CONFIG", "SET", k, v)
    finally:
        ref.close()
    assert not mismatches, "\n".join(f"{n} {v!r}: shardis {g!r}, redis {w!r}"
                                     for n, v, g, w in mismatches[:20])


# ---------------------------------------------------------------- GET


# Where the shared test server differs from the reference on purpose: its own port,
# address and data directory; shardis always persists (appendonly); Debian's
# redis-server shows its packaged pidfile and runs daemonized.
SHARDIS_OWN = {b"port", b"bind", b"dir", b"appendonly", b"pidfile", b"daemonize"}


def test_config_get_star_lists_every_name_and_alias_as_redis(pair):
    got, want = _pairs(pair.s.call("CONFIG", "GET", "*")), _pairs(pair.r.call("CONFIG", "GET", "*"))
    assert set(got) == set(want)
    assert len(got) == 192
    diff = {k: (got[k], want[k]) for k in got if got[k] != want[k] and k not in SHARDIS_OWN}
    assert not diff
    assert got[b"appendonly"] == b"yes" and got[b"bind"] == b"127.0.0.1"


@pytest.mark.parametrize("patterns", [
    ("hash-max-*",), ("*ziplist*",), ("*listpack*",), ("slave*",), ("replica*",),
    ("maxmemory*", "MAXMEMORY"), ("MAXMEM*", "maxmemory"), ("save", "SAVE", "save"),
    ("replica-read-only", "slave-read-only", "replica*"), ("*max*", "*min*"),
    ("tls-*",), ("[ab]*",), ("??",), ("hz", "nosuch", "*nosuch*"),
    ("use-exit-on-panic",), ("*panic*",), ("watchdog*",), ("watchdog-period", "key-load-delay"),
])
def test_config_get_patterns_match_redis(pair, pair3, patterns):
    """Several patterns at once, aliases beside their names, each name once, hidden
    parameters for their exact name only; RESP2 arrays and RESP3 maps (pairs in the
    order of a dict: compared as sets)."""
    got = _pairs(pair.s.call("CONFIG", "GET", *patterns))
    want = _pairs(pair.r.call("CONFIG", "GET", *patterns))
    assert {k: v for k, v in got.items() if k not in SHARDIS_OWN} == \
        {k: v for k, v in want.items() if k not in SHARDIS_OWN}
    assert set(got) == set(want)
    s3, r3 = parse_reply(pair3.s.call("CONFIG", "GET", *patterns)), \
        parse_reply(pair3.r.call("CONFIG", "GET", *patterns))
    assert isinstance(s3, dict) and set(s3) == set(r3)


def test_config_get_one_name_is_byte_for_byte_redis(pair, pair3):
    for name in ["hash-max-ziplist-entries", "HASH-MAX-LISTPACK-VALUE", "lua-time-limit",
                 "list-max-ziplist-size", "client-output-buffer-limit", "oom-score-adj-values",
                 "latency-tracking-info-percentiles", "shutdown-on-sigterm", "unixsocketperm",
                 "maxmemory-clients", "notify-keyspace-events", "nosuch"]:
        pair.check("CONFIG", "GET", name)
        pair3.check("CONFIG", "GET", name)


# ---------------------------------------------------------------- SET


def test_config_set_errors_and_their_order_match_redis(pair):
    cases = [
        ("save",), ("save", "", "x"),
        ("nosuch", "1"), ("NoSuch", "1", "maxmemory", "1"),
        ("databases", "1"), ("DATABASES", "1"), ("unixsocket", "x"), ("daemonize", "yes"),
        ("dir", "/tmp"), ("dbfilename", "x.rdb"),
        ("maxmemory", "x", "nosuch", "1"),           # a bad name before any bad value
        ("databases", "1", "nosuch", "1"),           # the first bad name decides
        ("nosuch", "1", "databases", "1"),
        ("maxmemory", "1mb", "MAXMEMORY", "2mb"),    # the same name twice
        ("maxmemory", "x", "hz", "y"),               # the first bad value answers
        ("hz", "1", "maxmemory", "x"),
        ("hash-max-ziplist-entries", "x"), ("HASH-MAX-ZIPLIST-ENTRIES", "-1"),
        ("lua-time-limit", "-1"), ("slowlog-log-slower-than", "-2"),
        ("maxmemory-policy", "lru"), ("appendfsync", "sometimes"), ("loglevel", "loud"),
        ("list-compress-depth", "-1"), ("set-max-intset-entries", "1.5"),
        ("zset-max-ziplist-value", "1x"), ("activerehashing", "maybe"),
        ("maxmemory-clients", "200%"), ("save", "60"), ("save", "0 1"),
        ("client-output-buffer-limit", "normal 1 2"), ("oom-score-adj-values", "1 2"),
        ("latency-tracking-info-percentiles", "101"), ("shutdown-on-sigint", "save nosave"),
        ("proc-title-template", "{nope}"), ("cluster-announce-hostname", "a_b"),
        ("tls-cluster", "yes"), ("activedefrag", "yes"), ("replicaof", "127.0.0.1 1"),
    ]
    for args in cases:
        pair.check("CONFIG", "SET", *args)


# The parameters of issue 9's report, which programs set first: accepted and shown.
SETTINGS = [("save", ""), ("hash-max-ziplist-value", "10"), ("hash-max-ziplist-entries", "20"),
            ("list-max-ziplist-size", "-3"), ("list-compress-depth", "1"),
            ("zset-max-ziplist-entries", "30"), ("zset-max-ziplist-value", "40"),
            ("set-max-intset-entries", "50"), ("maxmemory-policy", "allkeys-lru"),
            ("lua-time-limit", "1000"), ("slowlog-log-slower-than", "0"),
            ("slowlog-max-len", "10"), ("maxmemory", "100mb"), ("hz", "1000"),
            ("latency-tracking-info-percentiles", "50 99.90 1e1"), ("maxmemory-clients", "5%"),
            ("client-output-buffer-limit", "normal 1mb 2mb 3 replica 4 5 6 pubsub 7 8 9"),
            ("oom-score-adj-values", "1 2 3"), ("shutdown-on-sigterm", "now save"),
            ("busy-reply-threshold", "2000"), ("tcp-keepalive", "60"), ("replica-priority", "1"),
            ("notify-keyspace-events", "KEA")]


def _defaults(pair) -> None:
    for name, _ in SETTINGS:
        p = configtable.lookup(name)[0]
        pair.both("CONFIG", "SET", name, configtable.show(p, p.default))
    pair.both("CONFIG", "SET", "client-output-buffer-limit",
              "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60")


def test_programs_first_settings_are_accepted_and_shown(pair):
    try:
        for name, value in SETTINGS:
            pair.check("CONFIG", "SET", name, value)
            pair.check("CONFIG", "GET", name)
        # INFO shows what it knows of them.
        info = pair.s.call("INFO", "memory")
        assert b"maxmemory:104857600\r\n" in info and b"maxmemory_policy:allkeys-lru\r\n" in info
    finally:
        _defaults(pair)


def test_config_set_is_all_or_nothing(pair):
    """Every pair is checked before any is set; one bad value (or name) and none change."""
    try:
        for args in [("maxmemory", "1mb", "hash-max-listpack-entries", "x"),
                     ("maxmemory", "1mb", "nosuch", "1"),
                     ("maxmemory", "1mb", "databases", "1"),
                     ("maxmemory", "1mb", "maxmemory-policy", "allkeys-lru", "hz", "-1"),
                     ("tls-cert-file", "/nonexistent", "tls-replication", "yes")]:
            pair.check("CONFIG", "SET", *args)
            pair.check("CONFIG", "GET", "maxmemory")
            pair.check("CONFIG", "GET", "maxmemory-policy")
            pair.check("CONFIG", "GET", "tls-cert-file")
        # All good: all set, in order (a name and its alias are two parameters to Redis 7.0).
        pair.check("CONFIG", "SET", "maxmemory", "2mb", "hash-max-listpack-entries", "7",
                   "hash-max-ziplist-entries", "8", "client-output-buffer-limit", "pubsub 1 2 3",
                   "client-output-buffer-limit", "normal 4 5 6")
        for name in ("maxmemory", "hash-max-listpack-entries", "client-output-buffer-limit"):
            pair.check("CONFIG", "GET", name)
    finally:
        pair.both("CONFIG", "SET", "maxmemory", "0", "hash-max-listpack-entries", "512",
                  "client-output-buffer-limit",
                  "normal 0 0 0 replica 256mb 64mb 60 pubsub 32mb 8mb 60")


def test_config_set_inside_multi(pair):
    """A CONFIG GET queued after a CONFIG SET in the same transaction sees the new value."""
    try:
        for args in [("MULTI",), ("CONFIG", "SET", "maxmemory", "1mb"), ("CONFIG", "GET", "maxmemory"),
                     ("CONFIG", "SET", "nosuch", "1"), ("EXEC",), ("CONFIG", "GET", "maxmemory")]:
            pair.check(*args)
    finally:
        pair.both("CONFIG", "SET", "maxmemory", "0")




# ---------------------------------------------------------------- encoding thresholds


def _encodings(pair, *keys) -> None:
    for k in keys:
        pair.check("OBJECT", "ENCODING", k)


def test_encoding_thresholds_change_object_encoding_as_in_redis(pair):
    keys = [f"{{k{i}}}" for i in range(6)]  # (spread over the shards)
    try:
        pair.check("CONFIG", "SET", "hash-max-listpack-entries", "2", "hash-max-listpack-value", "3",
                   "set-max-intset-entries", "2", "zset-max-listpack-entries", "2",
                   "zset-max-listpack-value", "3", "list-max-listpack-size", "1")
        for k in keys:
            pair.check("HSET", "h" + k, "a", "1", "b", "2")
            pair.check("HSET", "hv" + k, "a", "1234")
            pair.check("SADD", "s" + k, "1", "2")
            pair.check("SADD", "sb" + k, "1", "2", "3")
            pair.check("ZADD", "z" + k, "1", "a", "2", "b")
            pair.check("ZADD", "zv" + k, "1", "abcd")
            pair.check("RPUSH", "l" + k, "a", "b", "c")
            _encodings(pair, "h" + k, "hv" + k, "s" + k, "sb" + k, "z" + k, "zv" + k, "l" + k)
            pair.check("HSET", "h" + k, "c", "3")
            pair.check("SADD", "s" + k, "3")
            pair.check("ZADD", "z" + k, "3", "c")
            _encodings(pair, "h" + k, "s" + k, "z" + k)
        # Raising the thresholds converts nothing back; new keys follow them.
        pair.check("CONFIG", "SET", "hash-max-ziplist-entries", "100", "set-max-intset-entries",
                   "100", "zset-max-ziplist-entries", "100", "hash-max-ziplist-value", "100",
                   "zset-max-ziplist-value", "100")
        for k in keys:
            pair.check("HDEL", "h" + k, "c")
            pair.check("SREM", "s" + k, "3")
            _encodings(pair, "h" + k, "s" + k, "z" + k)
            pair.check("HSET", "h2" + k, "a", "1", "b", "2", "c", "3")
            pair.check("SADD", "s2" + k, "1", "2", "3")
            pair.check("ZADD", "z2" + k, "1", "a", "2", "b", "3", "c")
            _encodings(pair, "h2" + k, "s2" + k, "z2" + k)
            # Results built by a command (SUNIONSTORE, ZUNIONSTORE) too.
            pair.check("SUNIONSTORE", "su" + k, "s" + k, "s2" + k)
            pair.check("ZUNIONSTORE", "zu" + k, "1", "z" + k)
            _encodings(pair, "su" + k, "zu" + k)
        # Zero: no compact encoding at all.
        pair.check("CONFIG", "SET", "hash-max-listpack-entries", "0", "set-max-intset-entries", "0",
                   "zset-max-listpack-entries", "0")
        pair.check("HSET", "h0", "a", "1")
        pair.check("SADD", "s0", "1")
        pair.check("ZADD", "z0", "1", "a")
        _encodings(pair, "h0", "s0", "z0")
    finally:
        pair.both("CONFIG", "SET", "hash-max-listpack-entries", "512", "hash-max-listpack-value",
                  "64", "set-max-intset-entries", "512", "zset-max-listpack-entries", "128",
                  "zset-max-listpack-value", "64", "list-max-listpack-size", "-2")


@pytest.fixture
def restore_bulk_len(shardis_server, redis_server):
    yield
    for port in (shardis_server.port, redis_server.port):
        c = RawClient(port)
        assert c.call("CONFIG", "SET", "proto-max-bulk-len", "512mb") == b"+OK\r\n"
        c.close()


def test_proto_max_bulk_len_applies_at_once(shardis_server, redis_server, restore_bulk_len):
    """The routers' parsers and the shards' string limit (APPEND, SETRANGE) follow it."""
    pair = Pair(shardis_server.port, redis_server.port)
    try:
        pair.check("FLUSHALL")
        pair.check("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        pair.check("SET", "big", b"x" * ((1 << 20) - 1))
        pair.check("APPEND", "big", "yy")
        pair.check("SETRANGE", "big", str(1 << 20), "y")
        pair.check("CONFIG", "SET", "proto-max-bulk-len", "2mb")
        pair.check("APPEND", "big", "yy")
        pair.check("CONFIG", "SET", "proto-max-bulk-len", "1mb")
        # A longer bulk is a protocol error that closes the connection, on both.
        for c in (pair.s, pair.r):
            c.send_raw(b"*2\r\n$3\r\nGET\r\n$%d\r\n" % ((1 << 20) + 1))
        got, want = pair.s.read_reply(), pair.r.read_reply()
        assert got == want and got.startswith(b"-ERR Protocol error")
    finally:
        pair.close()


# ---------------------------------------------------------------- timeout


def test_timeout_closes_idle_clients_but_not_subscribers(shardis_server):
    idle, sub = RawClient(shardis_server.port), RawClient(shardis_server.port)
    try:
        sub.call("SUBSCRIBE", "ch")
        admin = RawClient(shardis_server.port)
        assert admin.call("CONFIG", "SET", "timeout", "1") == b"+OK\r\n"
        admin.close()
        idle.sock.settimeout(30)
        assert idle.sock.recv(10) == b""  # closed by the server
        assert sub.call("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"  # a RESP2 subscriber stays
    finally:
        admin = RawClient(shardis_server.port)
        assert admin.call("CONFIG", "SET", "timeout", "0") == b"+OK\r\n"
        for c in (admin, idle, sub):
            c.close()


# ---------------------------------------------------------------- several routers and shards


@pytest.fixture(scope="module")
def two_routers(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("config2") / "data"), shards=2, routers=2).start()
    for index in (0, 1):
        on_router(c.port, index).close()
    yield c
    c.stop()


def _stats(c: RawClient) -> int:
    info = parse_reply(c.call("INFO", "stats")).decode()
    return int(info.split("total_commands_processed:")[1].split()[0])


def test_config_set_on_one_router_reaches_every_router_and_shard(two_routers):
    a, b = on_router(two_routers.port, 0), on_router(two_routers.port, 1)
    try:
        assert a.call("CONFIG", "SET", "set-max-intset-entries", "1", "maxmemory", "5mb",
                      "list-compress-depth", "3") == b"+OK\r\n"
        assert _pairs(b.call("CONFIG", "GET", "set-max-intset-entries", "maxmemory",
                             "list-compress-depth")) == \
            {b"set-max-intset-entries": b"1", b"maxmemory": b"5242880", b"list-compress-depth": b"3"}
        # At once after OK, on keys of every shard, through the other router.
        for i in range(8):
            key = f"s{i}"
            assert b.call("SADD", key, "1", "2") == b":2\r\n"
            assert b.call("OBJECT", "ENCODING", key) == b"$9\r\nhashtable\r\n"
    finally:
        a.call("CONFIG", "SET", "set-max-intset-entries", "512", "maxmemory", "0",
               "list-compress-depth", "0")
        a.call("FLUSHALL")
        a.close()
        b.close()


def test_resetstat_resets_every_router(two_routers):
    a, b = on_router(two_routers.port, 0), on_router(two_routers.port, 1)
    try:
        for _ in range(50):
            a.call("PING")
            b.call("PING")
        assert _stats(a) > 50 and _stats(b) > 50
        assert a.call("CONFIG", "RESETSTAT") == b"+OK\r\n"
        assert _stats(a) < 5 and _stats(b) < 5
    finally:
        a.close()
        b.close()


def test_a_restarted_shard_takes_the_settings_from_the_hub(two_routers):
    a = on_router(two_routers.port, 0)
    try:
        assert a.call("CONFIG", "SET", "zset-max-listpack-entries", "1") == b"+OK\r\n"
        supervisor = two_routers.proc.pid
        [victim] = [p for p in role_pids(supervisor, "shardis.shardd") if argv_of(p)[-2:] == ["--index", "1"]]
        os.kill(victim, signal.SIGKILL)
        wait_role(supervisor, "shardis.shardd", 2, exclude={victim})
        keys = [f"z{i}" for i in range(8)]  # (some on the restarted shard)
        for key in keys:
            eventually(lambda key=key: a.call("ZADD", key, "1", "a", "2", "b") == b":2\r\n",
                       timeout=20, every=0.1)
            assert a.call("OBJECT", "ENCODING", key) == b"$8\r\nskiplist\r\n"
    finally:
        a.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
        a.call("FLUSHALL")
        a.close()


def test_appendfsync_switches_the_shards_durability(two_routers):
    """CONFIG SET appendfsync always starts every shard's write-ahead log at once (the
    next writes are on disk before their reply), and leaving it removes the log."""
    a = on_router(two_routers.port, 0)
    logs = [os.path.join(two_routers.dir, f"shard-{i}", "wal.log") for i in range(2)]
    try:
        assert not any(os.path.exists(p) for p in logs)
        assert a.call("CONFIG", "SET", "appendfsync", "always") == b"+OK\r\n"
        for i in range(20):
            assert a.call("SET", f"k{i}", "v") == b"+OK\r\n"
        eventually(lambda: all(os.path.exists(p) for p in logs), timeout=10, every=0.05)
        assert b"durability:always" in a.call("INFO", "shardis")
        assert a.call("CONFIG", "SET", "appendfsync", "everysec") == b"+OK\r\n"
        for i in range(20):
            assert a.call("GET", f"k{i}") == b"$1\r\nv\r\n"
        eventually(lambda: not any(os.path.exists(p) for p in logs), timeout=10, every=0.05)
    finally:
        a.call("CONFIG", "SET", "appendfsync", "everysec")
        a.call("FLUSHALL")
        a.close()


# ---------------------------------------------------------------- replay


def _run(shard: Shard, bid: int, *cmds) -> None:
    """One batch of commands on an in-process shard."""
    batch = [(TABLE.lookup(c[0].encode()).id, 0, [x.encode() if isinstance(x, str) else x
                                                   for x in c]) for c in cmds]
    shard.run_batch([[b"id", wire.pack((bid, batch))]])


def _encoding(shard: Shard, key: str) -> bytes:
    shard.sock.sent.clear()
    _run(shard, 99, ("__object", "encoding", key))
    shard.writer.wait_for(shard.seq) if shard.writer else None
    shard.release()
    return wire.unpack(shard.sock.sent[-1][1])[1][0]


class _Outbox:
    def __init__(self) -> None:
        self.sent: list = []

    def send_multipart(self, frames) -> None:
        self.sent.append(frames)


def test_a_replay_of_the_log_gives_the_same_encodings(tmp_path):
    """Thresholds reach a shard inside its batches (``__config``), so a replay of its
    write-ahead log over the data as it was applies them where they came: a late,
    older CONFIG SET ignored as it was. After the replay, cluster.toml's values hold."""
    cfg = Config(dir=str(tmp_path), shards=1, durability="always")
    shard = Shard(cfg, 0, TABLE)
    real = shard.sock
    shard.sock = _Outbox()
    snapshot = tmp_path / "snapshot"
    snapshot.mkdir()
    shard.store.env.copy(str(snapshot))  # the data before any batch
    _run(shard, 1, ("__config", "200", "hash-max-listpack-entries", "2"),
         ("hset", "h1", "a", "1", "b", "2", "c", "3"))
    _run(shard, 2, ("__config", "300", "hash-max-listpack-entries", "100"),
         ("hset", "h2", "a", "1", "b", "2", "c", "3"))
    _run(shard, 3, ("__config", "250", "hash-max-listpack-entries", "1"),  # older: ignored
         ("hset", "h3", "a", "1", "b", "2", "c", "3"))
    _run(shard, 4, ("__config", "400", "set-max-intset-entries", "2"), ("sadd", "s", "1", "2", "3"))
    want = {k: _encoding(shard, k) for k in ("h1", "h2", "h3", "s")}
    assert want == {"h1": b"$9\r\nhashtable\r\n", "h2": b"$8\r\nlistpack\r\n",
                    "h3": b"$8\r\nlistpack\r\n", "s": b"$9\r\nhashtable\r\n"}
    # A crash that lost LMDB's writes but not the log: the data as before, the log kept.
    shard.writer.wait_for(shard.seq)
    shard.writer.stop()
    wal = os.path.join(cfg.shard_dir(0), "wal.log")
    shutil.copy(wal, tmp_path / "wal.keep")
    shard.store.close()
    real.close(0)
    shard.ctx.term()
    shutil.copy(snapshot / "data.mdb", os.path.join(cfg.shard_dir(0), "data.mdb"))
    shutil.copy(tmp_path / "wal.keep", wal)
    again = Shard(cfg, 0, TABLE)
    real = again.sock
    again.sock = _Outbox()
    try:
        assert {k: _encoding(again, k) for k in want} == want
        assert again.store.limits()["hash-max-listpack-entries"] == 512  # cluster.toml's
    finally:
        again.sock = real
        again.close()


# ---------------------------------------------------------------- cluster.toml and the command line


def test_cluster_toml_takes_redis_names_with_either_spelling():
    cfg = Config()
    apply(cfg, {"hash-max-listpack-entries": 4, "hash_max_ziplist_value": "10",
                "maxmemory": "1gb", "maxmemory_policy": "allkeys-lru", "save": "",
                "activerehashing": False, "appendfsync": "always", "list_max_ziplist_size": -3,
                "client_output_buffer_limit": "64mb",
                "client-output-buffer-limit": "normal 1mb 2mb 3 pubsub 4mb 5mb 6",
                "latency_tracking_info_percentiles": "50  99", "tls_port": 0}, "f.toml")
    validate(cfg)
    got = configtable.get_matches(cfg, [b"hash-max-*", b"maxmemory", b"maxmemory-policy",
                                        b"activerehashing", b"appendfsync", b"list-max-listpack-size",
                                        b"client-output-buffer-limit",
                                        b"latency-tracking-info-percentiles"])
    assert got == {b"hash-max-listpack-entries": b"4", b"hash-max-ziplist-entries": b"4",
                   b"hash-max-listpack-value": b"10", b"hash-max-ziplist-value": b"10",
                   b"maxmemory": b"1073741824", b"maxmemory-policy": b"allkeys-lru",
                   b"activerehashing": b"no", b"appendfsync": b"always",
                   b"list-max-listpack-size": b"-3",
                   b"client-output-buffer-limit":
                       b"normal 1048576 2097152 3 slave 268435456 67108864 60 pubsub 4194304 5242880 6",
                   b"latency-tracking-info-percentiles": b"50 99"}
    assert cfg.durability == "always" and cfg.client_output_buffer_limit == 64 << 20
    assert cfg.pubsub_limits() == (4 << 20, 5 << 20, 6)


@pytest.mark.parametrize("values,message", [
    ({"colour": "red"}, "f.toml: unknown key 'colour'"),
    ({"hash_max_listpack_entries": "lots"},
     "hash_max_listpack_entries: argument couldn't be parsed into an integer"),
    ({"maxmemory": "1 gb"}, "maxmemory: argument must be a memory value"),
    ({"maxmemory-policy": "lru"}, "maxmemory-policy: argument(s) must be one of the following: "
                                  "volatile-lru, volatile-lfu, volatile-random, volatile-ttl, "
                                  "allkeys-lru, allkeys-lfu, allkeys-random, noeviction"),
    ({"tls-port": 6390}, "tls-port: " + errors.CONFIG_TLS),
    ({"bind": "127.0.0.1 ::1"}, "bind: shardis listens on one address"),
])
def test_cluster_toml_refuses_bad_values_naming_the_key(values, message):
    with pytest.raises(ConfigError) as e:
        validate(apply(Config(), values, "f.toml"))
    assert str(e.value).startswith(message)


def test_command_line_takes_any_parameter_as_redis_server_does():
    path, over = parse_argv(["my.toml", "--port", "7000", "--save", "", "--maxmemory", "1gb",
                             "--bind", "127.0.0.1", "--list-max-ziplist-size", "-3",
                             "--client-output-buffer-limit", "pubsub", "1mb", "2mb", "3"])
    assert path == "my.toml"
    assert over == {"port": "7000", "save": "", "maxmemory": "1gb", "bind": "127.0.0.1",
                    "list-max-ziplist-size": "-3", "client-output-buffer-limit": "pubsub 1mb 2mb 3"}
    cfg = validate(apply(Config(), over, "command line"))
    assert cfg.port == 7000 and cfg.params["maxmemory"] == 1 << 30
    assert cfg.pubsub_limits() == (1 << 20, 2 << 20, 3)
    assert parse_argv(["--shards", "3"]) == (None, {"shards": "3"})
    # One word for a one-word parameter: the file may follow the options.
    assert parse_argv(["--dir", "d", "c.toml", "--save", "60", "1"]) == \
        ("c.toml", {"dir": "d", "save": "60 1"})
    with pytest.raises(ConfigError):
        parse_argv(["a.toml", "b.toml"])


def _supervisor(cwd, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": ROOT}
    return subprocess.Popen([sys.executable, "-m", "shardis.supervisor", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_server_started_with_parameters_on_the_command_line(tmp_path):
    port = free_port()
    p = _supervisor(tmp_path, "--port", str(port), "--dir", str(tmp_path / "data"), "--shards", "1",
                    "--hash-max-listpack-entries", "1", "--maxmemory", "2mb", "--save", "",
                    "--lua-time-limit", "100")
    try:
        wait_for_port(port, proc=p)
        c = RawClient(port)
        assert _pairs(c.call("CONFIG", "GET", "hash-max-listpack-entries", "maxmemory",
                             "busy-reply-threshold", "save")) == \
            {b"hash-max-listpack-entries": b"1", b"maxmemory": b"2097152",
             b"busy-reply-threshold": b"100", b"save": b""}
        assert c.call("HSET", "h", "a", "1", "b", "2") == b":2\r\n"
        assert c.call("OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"
        # Started without a config file: nothing to rewrite.
        assert c.call("CONFIG", "REWRITE") == encode_error(errors.CONFIG_NO_FILE)
        c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
    bad = _supervisor(tmp_path, "--port", str(free_port()), "--dir", str(tmp_path / "data"),
                      "--hash-max-listpack-entries", "x")
    _, err = bad.communicate(timeout=60)
    assert bad.returncode != 0 and "hash-max-listpack-entries" in err and "Traceback" not in err


# ---------------------------------------------------------------- REWRITE

TOML = """\
# my cluster
port = {port}              # where it listens
dir = "{dir}"
shards = 2

# collections
hash-max-listpack-entries = 4   # small hashes
maxmemory = "1gb"
client_output_buffer_limit_pubsub = "32mb 8mb 60"
"""


def test_rewrite_keeps_the_file_and_a_restart_gives_the_same_settings(tmp_path):
    port = free_port()
    path = tmp_path / "cluster.toml"
    path.write_text(TOML.format(port=port, dir=tmp_path / "data"))
    p = _supervisor(tmp_path, str(path))
    try:
        wait_for_port(port, proc=p)
        c = RawClient(port)
        assert c.call("CONFIG", "SET", "hash-max-ziplist-entries", "2", "maxmemory", "1gb",
                      "zset-max-listpack-entries", "3", "save", "60 100",
                      "client-output-buffer-limit", "pubsub 1mb 2mb 3",
                      "notify-keyspace-events", "KEA", "activerehashing", "no") == b"+OK\r\n"
        before = _pairs(c.call("CONFIG", "GET", "*"))
        assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
        c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
    text = path.read_text()
    lines = text.splitlines()
    # Values of keys present changed in place, comments kept; unchanged lines untouched.
    assert lines[:8] == ["# my cluster", f"port = {port}              # where it listens",
                         f'dir = "{tmp_path / "data"}"', "shards = 2", "", "# collections",
                         "hash-max-listpack-entries = 2   # small hashes", 'maxmemory = "1gb"']
    assert lines[8] == 'client_output_buffer_limit_pubsub = "1048576 2097152 3"'
    assert lines[9] == rewrite.SIGNATURE
    assert set(lines[10:]) == {'activerehashing = "no"', 'save = "60 100"',
                               "zset_max_listpack_entries = 3", 'notify_keyspace_events = "KEA"'}
    # A restart with that file: the same settings.
    p = _supervisor(tmp_path, str(path))
    try:
        wait_for_port(port, proc=p)
        c = RawClient(port)
        assert _pairs(c.call("CONFIG", "GET", "*")) == before
        assert c.call("HSET", "h", "a", "1", "b", "2", "c", "3") == b":3\r\n"
        assert c.call("OBJECT", "ENCODING", "h") == b"$9\r\nhashtable\r\n"
        # A second REWRITE with nothing changed leaves the file as it is.
        assert c.call("CONFIG", "REWRITE") == b"+OK\r\n"
        assert path.read_text() == text
        c.close()
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0


def test_rewrite_text_appends_before_a_table_and_escapes_strings():
    cfg = Config()
    apply(cfg, {"maxmemory": "3mb", "proc-title-template": 'a "b" {port}', "bind": "::1"}, "")
    text = rewrite.rewrite_text('port = 6380\n[extra]\nx = 1\n', cfg)
    assert text.splitlines() == ["port = 6380", rewrite.SIGNATURE, 'bind = "::1"',
                                 'proc_title_template = "a \\"b\\" {port}"', 'maxmemory = "3mb"',
                                 "[extra]", "x = 1"]
    back = apply(Config(), tomllib.loads(text.split("[extra]")[0]), "")
    assert back.params == cfg.params and back.bind == "::1"
    assert load  # (load() reads files; the supervisor tests cover it)
