"""Keyspace notifications: the same commands on shardis and redis-server 7.0, each
watched by a ``__key*@*__:*`` psubscriber, comparing the events per key (across
shards only each key's order is defined); expiry from lazy and active expiry; the
notify-keyspace-events flags as CONFIG SET/GET take and show them; and the flags
reaching every router and shard (and a restarted shard)."""

from __future__ import annotations

import collections
import os
import signal
import socket
import time

import pytest

from shardis.assembly import build_table
from shardis.slots import key_slot, slot_table
from tests.helpers import Pair, RawClient, RedisServer, Shardis, encode_command, parse_reply
from tests.test_pubsub import eventually, on_router
from tests.test_supervisor import argv_of, role_pids, wait_role

SHARDS = 3  # the session cluster's (conftest)
SHARD_OF = slot_table(SHARDS)
TABLE = build_table()


def marker_keys(shards: int) -> list[bytes]:
    """One key on each shard: their events close a comparison (a shard's events are in
    order, so after its marker's event every earlier one of that shard has arrived)."""
    table = slot_table(shards)
    found: dict[int, bytes] = {}
    i = 0
    while len(found) < shards:
        key = b"__marker:%d" % i
        found.setdefault(table[key_slot(key)], key)
        i += 1
    return list(found.values())


def by_key(messages: list[list[bytes]]) -> tuple[dict, dict]:
    """pmessages -> ({keyspace channel: [events]}, {(db, key): [keyevent channels]})."""
    space: dict = collections.defaultdict(list)
    event: dict = collections.defaultdict(list)
    for _, _, channel, message in messages:
        if channel.startswith(b"__keyspace@"):
            space[channel].append(message)
        else:
            db = channel[len(b"__keyevent@"):channel.index(b"__:")]
            event[(db, message)].append(channel)
    return dict(space), dict(event)


class Watched:
    """A command connection and a ``__key*@*__:*`` psubscriber on each server. The flags
    must include list events and K or E: the markers are RPUSHes."""

    def __init__(self, shardis_port: int, redis_port: int, flags: str, shards: int = SHARDS):
        self.cmd = Pair(shardis_port, redis_port)
        self.sub = Pair(shardis_port, redis_port)
        self.markers = marker_keys(shards)
        self.cmd.check("CONFIG", "SET", "notify-keyspace-events", flags)
        self.cmd.check("FLUSHALL")
        self.sub.check("PSUBSCRIBE", "__key*@*__:*")

    def run(self, *cmds, replies: bool = True) -> None:
        """Each command on both servers; the replies compared unless ``replies`` is False
        (random picks)."""
        for args in cmds:
            if replies:
                self.cmd.check(*args)
            else:
                self.cmd.both(*args)

    def events(self, c: RawClient) -> list[list[bytes]]:
        """What ``c`` receives until every marker's RPUSH has come (markers left out)."""
        waiting = set(self.markers)
        out = []
        while waiting:
            m = parse_reply(c.read_reply())
            channel, message = m[2], m[3]
            keyevent = channel.startswith(b"__keyevent@")
            key = message if keyevent else channel.split(b"__:", 1)[1]
            if key in self.markers:
                if (channel.endswith(b"__:rpush") if keyevent else message == b"rpush"):
                    waiting.discard(key)
                continue
            out.append(m)
        return out

    def compare(self) -> list[list[bytes]]:
        """The events since the last comparison, per key, the same on both servers;
        returns Redis' (in its order)."""
        for key in self.markers:
            self.cmd.both("RPUSH", key, "x")
        got, want = self.events(self.sub.s), self.events(self.sub.r)
        assert by_key(got) == by_key(want), f"\n  shardis: {got}\n  redis:   {want}"
        return want

    def close(self) -> None:
        self.cmd.both("CONFIG", "SET", "notify-keyspace-events", "")
        self.cmd.close()
        self.sub.close()


@pytest.fixture
def watch(shardis_server, redis_server):
    """``watch(flags)``: a Watched pair of servers, notifications off again afterwards."""
    made: list[Watched] = []

    def make(flags: str = "KEA") -> Watched:
        w = Watched(shardis_server.port, redis_server.port, flags)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def events_of(redis_events: list[list[bytes]]) -> list[tuple[bytes, bytes]]:
    """(key, event) from the keyspace channel, in order: what a test expects to see."""
    return [(m[2].split(b"__:", 1)[1], m[3]) for m in redis_events
            if m[2].startswith(b"__keyspace@")]


# ---------------------------------------------------------------- per family

STRINGS = [
    ("SET", "a", "1"), ("SET", "a", "2", "NX"), ("SET", "a", "3", "XX"), ("SET", "a", "4", "GET"),
    ("SET", "a", "5", "EX", "100"), ("SET", "a", "6", "KEEPTTL"), ("SET", "a", "7", "PXAT", "1"),
    ("SETNX", "a", "1"), ("SETNX", "b", "1"), ("SETEX", "c", "100", "v"),
    ("PSETEX", "d", "100000", "v"), ("GETSET", "a", "x"), ("GETSET", "nokey", "x"),
    ("GETDEL", "a"), ("GETDEL", "a"), ("GETEX", "b", "EX", "100"), ("GETEX", "b", "PERSIST"),
    ("GETEX", "b", "PERSIST"), ("GETEX", "b"), ("GETEX", "b", "PXAT", "1"),
    ("MSET", "m1", "1", "m2", "2"), ("MSETNX", "{t}3", "1", "{t}4", "1"),
    ("MSETNX", "{t}3", "1", "{t}5", "1"), ("MSETNX", "m3", "1", "m4", "1"),
    ("APPEND", "ap", "x"), ("APPEND", "ap", "y"), ("INCR", "n"), ("DECR", "n"),
    ("INCRBY", "n", "5"), ("DECRBY", "n", "5"), ("INCRBYFLOAT", "n", "1.5"), ("INCR", "ap"),
    ("SETRANGE", "sr", "3", "x"), ("SETRANGE", "sr", "0", ""), ("SETRANGE", "nosr", "0", ""),
    ("GET", "sr"), ("STRLEN", "sr"), ("LPUSH", "li", "x"), ("SET", "li", "s"), ("GET", "nope"),
]

GENERIC = [
    ("SET", "a", "1"), ("SET", "b", "1"), ("LPUSH", "l", "x"), ("DEL", "a", "b", "nokey", "l"),
    ("SET", "u", "1"), ("UNLINK", "u", "u2"), ("SET", "e", "1"), ("EXPIRE", "e", "100"),
    ("EXPIRE", "e", "-1"), ("EXPIRE", "nokey", "100"), ("SET", "e", "1"),
    ("PEXPIRE", "e", "100000"), ("EXPIREAT", "e", "1"), ("SET", "e", "1"),
    ("PEXPIREAT", "e", "99999999999999"), ("PERSIST", "e"), ("PERSIST", "e"),
    ("EXPIRE", "e", "100", "NX"), ("EXPIRE", "e", "100", "NX"), ("EXPIRE", "e", "200", "GT"),
    ("RENAME", "e", "f"), ("RENAMENX", "f", "g"), ("SET", "h", "1"), ("RENAMENX", "g", "h"),
    ("RENAME", "g", "g"), ("RENAME", "g", "h"), ("RENAME", "nokey", "x"),
    ("SADD", "{r}s", "m"), ("RENAME", "{r}s", "{r}t"), ("HSET", "hh", "f", "v"),
    ("RENAME", "hh", "h2"), ("COPY", "h", "h3"), ("COPY", "h", "h3"), ("COPY", "h", "h3", "REPLACE"),
    ("COPY", "h2", "{r}c", "DB", "2"), ("COPY", "nokey", "x"), ("MOVE", "h", "1"),
    ("MOVE", "h3", "1"), ("SET", "h3", "2"), ("MOVE", "h3", "1"), ("TOUCH", "h3", "nokey"),
    ("TYPE", "h3"), ("TTL", "h3"), ("FLUSHDB",),
]

LISTS = [
    ("LPUSH", "l", "a", "b", "c"), ("RPUSH", "l", "d", "e"), ("LPUSHX", "l", "x"),
    ("LPUSHX", "nol", "x"), ("RPUSHX", "l", "y"), ("RPUSHX", "nol", "y"), ("LPOP", "l"),
    ("RPOP", "l"), ("LPOP", "l", "2"), ("LINSERT", "l", "BEFORE", "d", "z"),
    ("LINSERT", "l", "AFTER", "nope", "z"), ("LSET", "l", "0", "q"), ("LREM", "l", "1", "q"),
    ("LREM", "l", "1", "nope"), ("LTRIM", "l", "0", "1"), ("LTRIM", "l", "5", "10"),
    ("RPUSH", "{m}1", "a", "b"), ("RPOPLPUSH", "{m}1", "{m}2"), ("RPOPLPUSH", "{m}1", "{m}2"),
    ("RPOPLPUSH", "{m}nos", "{m}2"), ("LMOVE", "{m}2", "{m}3", "LEFT", "RIGHT"),
    ("LMOVE", "{m}2", "{m}3", "RIGHT", "LEFT"), ("RPUSH", "r", "a"),
    ("LMOVE", "r", "r", "LEFT", "RIGHT"), ("RPUSH", "r", "b"), ("LMOVE", "r", "r", "LEFT", "RIGHT"),
    ("LMPOP", "2", "{m}nol", "{m}3", "LEFT", "COUNT", "5"), ("RPUSH", "q", "a", "b", "c"),
    ("LPOP", "q", "5"), ("RPUSH", "q", "a"), ("RPOP", "q", "0"), ("LPOP", "nol", "3"),
    ("LRANGE", "q", "0", "-1"), ("LSET", "nol", "0", "x"), ("SET", "str", "x"),
    ("LPUSH", "str", "x"),
]

HASHES = [
    ("HSET", "h", "a", "1", "b", "2"), ("HSET", "h", "a", "1"), ("HSETNX", "h", "a", "1"),
    ("HSETNX", "h", "c", "1"), ("HMSET", "h", "d", "1"), ("HINCRBY", "h", "n", "1"),
    ("HINCRBYFLOAT", "h", "f", "1.5"), ("HINCRBY", "h", "a", "x"), ("HDEL", "h", "a", "nope"),
    ("HDEL", "h", "nope"), ("HGET", "h", "b"), ("HDEL", "h", "b", "c", "d", "n", "f"),
    ("HINCRBY", "h2", "n", "1"), ("HSETNX", "h3", "a", "1"),
]

SETS = [
    ("SADD", "s", "a", "b"), ("SADD", "s", "a"), ("SREM", "s", "a", "nope"), ("SREM", "s", "nope"),
    ("SADD", "{s}2", "x"), ("SADD", "{s}1", "b", "c"), ("SMOVE", "{s}1", "{s}2", "b"),
    ("SMOVE", "{s}1", "{s}2", "c"), ("SMOVE", "{s}2", "{s}3", "nope"),
    ("SMOVE", "{s}2", "{s}3", "x"), ("SMOVE", "{s}3", "{s}3", "x"), ("SADD", "{u}1", "a", "b"),
    ("SADD", "{u}2", "b", "c"), ("SINTERSTORE", "{u}d", "{u}1", "{u}2"),
    ("SUNIONSTORE", "{u}d", "{u}1", "{u}2"), ("SDIFFSTORE", "{u}d", "{u}1", "{u}1"),
    ("SDIFFSTORE", "{u}d", "{u}1", "{u}1"), ("SINTERSTORE", "{u}e", "{u}nope", "{u}1"),
    ("SUNIONSTORE", "{u}1", "{u}1", "{u}2"), ("SCARD", "{u}1"),
]

RANDOM_SETS = [("SADD", "p", "a", "b", "c"), ("SPOP", "p"), ("SPOP", "p", "5"), ("SADD", "p", "a"),
               ("SPOP", "p", "0"), ("SPOP", "nop"), ("SRANDMEMBER", "p")]

ZSETS = [
    ("ZADD", "z", "1", "a", "2", "b"), ("ZADD", "z", "1", "a"), ("ZADD", "z", "5", "a"),
    ("ZADD", "z", "INCR", "1", "a"), ("ZADD", "z", "NX", "1", "a"), ("ZADD", "z", "GT", "CH", "1", "a"),
    ("ZADD", "z", "XX", "1", "nope"), ("ZADD", "zx", "XX", "1", "a"), ("ZINCRBY", "z", "1", "b"),
    ("ZINCRBY", "z2", "1", "b"), ("ZREM", "z", "a", "nope"), ("ZREM", "z", "nope"),
    ("ZADD", "z", "1", "a", "2", "c", "3", "d"), ("ZREMRANGEBYSCORE", "z", "0", "1"),
    ("ZREMRANGEBYSCORE", "z", "100", "200"), ("ZREMRANGEBYRANK", "z", "0", "0"),
    ("ZREMRANGEBYLEX", "z", "[a", "[b"), ("ZREMRANGEBYLEX", "z", "[a", "[z"),
    ("ZADD", "z", "1", "a", "2", "b", "3", "c"), ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "5"),
    ("ZPOPMIN", "z"), ("ZADD", "{z}1", "1", "a", "2", "b"), ("ZADD", "{z}2", "1", "b"),
    ("ZUNIONSTORE", "{z}d", "2", "{z}1", "{z}2"), ("ZINTERSTORE", "{z}d", "2", "{z}1", "{z}2"),
    ("ZDIFFSTORE", "{z}d", "2", "{z}1", "{z}1"), ("ZDIFFSTORE", "{z}d", "2", "{z}1", "{z}1"),
    ("ZRANGESTORE", "{z}d", "{z}1", "0", "-1"), ("ZRANGESTORE", "{z}d", "{z}1", "5", "6"),
    ("ZMPOP", "2", "{z}nope", "{z}1", "MIN"), ("ZMPOP", "1", "{z}1", "MAX", "COUNT", "9"),
    ("ZRANGE", "{z}2", "0", "-1"), ("ZSCORE", "nope", "m"),
]

# Multi-key commands over shards (a, d -> shard 2, b, f -> 0, c, g -> 1): the coordinator
# runs them; each key's events come from its shard.
ACROSS = [
    ("SADD", "a", "1", "2"), ("SADD", "b", "2", "3"), ("SMOVE", "a", "c", "1"),
    ("SINTERSTORE", "d", "a", "b"), ("SUNIONSTORE", "f", "a", "b", "c"), ("SMOVE", "a", "b", "2"),
    ("RPUSH", "g", "x", "y"), ("LMOVE", "g", "a", "LEFT", "RIGHT"), ("SET", "c", "v"),
    ("RPOPLPUSH", "g", "f"), ("ZADD", "b", "1", "m"), ("ZADD", "c", "2", "n"),
    ("MSET", "a", "1", "b", "2", "c", "3"), ("DEL", "a", "b", "c"), ("ZADD", "b", "1", "m"),
    ("ZADD", "c", "2", "n"), ("ZUNIONSTORE", "a", "2", "b", "c"), ("ZMPOP", "2", "b", "c", "MIN"),
    ("RENAME", "a", "b"), ("COPY", "b", "c"),
]

SORTS = [
    ("RPUSH", "{o}l", "3", "1", "2"), ("SORT", "{o}l", "STORE", "{o}d"),
    ("SORT", "{o}l", "LIMIT", "5", "5", "STORE", "{o}d"),
    ("SORT", "{o}l", "LIMIT", "5", "5", "STORE", "{o}d"),
    ("SORT", "{o}nope", "STORE", "{o}d"), ("SADD", "{o}s", "b", "a"),
    ("SORT", "{o}s", "ALPHA", "STORE", "{o}l"), ("SORT", "{o}l", "ALPHA"),
]

# SORT with BY/GET patterns whose keys lie on every shard (l, n_1, h_2 -> shard 2; w_1, n_3,
# h_3, dst -> 1; w_2, w_3, n_2, h_1 -> 0), run by the coordinator: keymiss from the shards
# that looked the keys up (source, BY keys, then GET keys), sortstore/del on the destination.
SORTS_ACROSS = [
    ("RPUSH", "l", "3", "1", "2"), ("SET", "w_1", "5"), ("HSET", "h_2", "f", "x"),
    ("SORT", "l", "BY", "w_*"), ("SORT", "l", "BY", "w_*", "GET", "n_*", "GET", "h_*->f"),
    ("SORT", "l", "BY", "w_*", "GET", "#", "STORE", "dst"),
    ("SORT", "l", "LIMIT", "5", "5", "BY", "w_*", "STORE", "dst"),
    ("SORT", "l", "LIMIT", "5", "5", "BY", "w_*", "STORE", "dst"),
    ("SORT", "nope", "BY", "w_*", "GET", "n_*", "STORE", "dst"), ("SORT_RO", "l", "GET", "n_*"),
    ("SET", "n_2", "b"), ("SORT", "l", "BY", "n_*", "GET", "w_*"),  # (a conversion error: no GET)
    ("SORT", "l", "BY", "n_*", "ALPHA", "GET", "h_*->f", "STORE", "w_1"),
    ("SET", "w_2", "2"), ("SORT", "l", "BY", "nosort", "GET", "w_*"),
    ("SORT", "nope", "STORE", "dst"), ("SORT", "l", "GET", "{w}n_*", "STORE", "dst"),
]


@pytest.mark.parametrize("cmds", [STRINGS, GENERIC, LISTS, HASHES, SETS, ZSETS, SORTS, ACROSS,
                                  SORTS_ACROSS],
                         ids=["strings", "generic", "lists", "hashes", "sets", "zsets", "sort", "across",
                              "sort_across"])
def test_family_events_match_redis(watch, cmds):
    w = watch("KEA")
    w.run(*cmds)
    assert w.compare()  # (something happened)


def test_random_pops_report_as_redis(watch):
    w = watch("KEA")
    w.run(*RANDOM_SETS, replies=False)
    assert (b"p", b"spop") in events_of(w.compare())


def on_one_shard(args: tuple) -> bool:
    """Whether a command's keys all live on one shard of the session cluster."""
    spec = TABLE.lookup(args[0].encode())
    keys = spec.keys([a.encode() for a in args])
    return len({SHARD_OF[key_slot(k)] for k in keys}) <= 1


@pytest.mark.parametrize("cmds", [STRINGS, GENERIC, LISTS, HASHES, SETS, ZSETS, SORTS],
                         ids=["strings", "generic", "lists", "hashes", "sets", "zsets", "sort"])
def test_new_and_keymiss_events_match_redis(watch, cmds):
    """'n' (a key created) and 'm' (a read found no key), which A leaves out. (Commands
    whose keys span shards are left out: the coordinator's own reads of their keys,
    such as MSETNX's EXISTS, count as reads there.)"""
    w = watch("KEAnm")
    w.run(*[args for args in cmds if on_one_shard(args)])
    w.compare()


def test_sort_across_shards_keymiss_as_redis(watch):
    """SORT across shards reads its source and pattern keys as Redis' lookupKeyRead does:
    a keymiss for each missing one, from its shard."""
    w = watch("KEAnm")
    w.run(*SORTS_ACROSS)
    assert any(m[3] == b"keymiss" for m in w.compare())


@pytest.mark.parametrize("flags", ["Kl", "El", "Klg", "Elx$", "KEl", "Kl$hsz"])
def test_classes_filter_events_as_redis(watch, flags):
    w = watch(flags)
    w.run(*STRINGS, *LISTS, *HASHES[:5])
    w.compare()


def test_blocked_client_served_reports_as_redis(watch, shardis_server, redis_server):
    """A BLPOP served by another client's RPUSH: rpush, then lpop (and del)."""
    w = watch("KEA")
    waiters = Pair(shardis_server.port, redis_server.port)
    try:
        for args in [("BLPOP", "bq", "5"), ("BLMOVE", "{b}1", "{b}2", "LEFT", "RIGHT", "5"),
                     ("BZPOPMIN", "bz", "5"), ("BLMPOP", "5", "1", "bq", "RIGHT", "COUNT", "2")]:
            waiters.s.send_raw(encode_command(args))
            waiters.r.send_raw(encode_command(args))
            time.sleep(0.1)  # both are blocked now
            key = args[1] if args[0] != "BLMPOP" else args[3]
            if args[0] == "BZPOPMIN":
                w.run(("ZADD", key, "1", "a", "2", "b"))
            else:
                w.run(("RPUSH", key, "a", "b", "c"))
            assert waiters.s.read_reply() == waiters.r.read_reply()
        w.run(("BLPOP", "bq", "0.01"), ("BRPOP", "bq", "0.01"), ("BZPOPMAX", "bz", "0.01"))
        w.compare()
    finally:
        waiters.close()


def test_flags_config_matches_redis(pair):
    try:
        for value in ["KEA", "AKE", "Ex", "Kg$lshzxetd", "Kg$lshzxetdn", "KEAmn", "nmEK", "A",
                      "gA", "y", "K E", " ", "", "KA", "EKAm", "Klx$", "xxKK", "KEA\x00",
                      "glshzxetdKE$"]:
            pair.check("CONFIG", "SET", "notify-keyspace-events", value)
            pair.check("CONFIG", "GET", "notify-keyspace-events")
        pair.check("CONFIG", "GET", "notify*")
    finally:
        pair.check("CONFIG", "SET", "notify-keyspace-events", "")


def test_no_flags_no_events(watch):
    """Classes without K or E, or K/E without classes, publish nothing (as Redis)."""
    for flags in ("A", "KE", ""):
        w = watch(flags)
        w.run(("SET", "a", "1"), ("LPUSH", "l", "x"), ("DEL", "a"))
        for sub in (w.sub.s, w.sub.r):
            sub.sock.settimeout(0.3)
            with pytest.raises(socket.timeout):
                sub.read_reply()
            sub.sock.settimeout(10)


# ---------------------------------------------------------------- expiry


def test_active_expiry_reports_expired(watch):
    w = watch("KEA")
    w.run(*[("SET", f"t{i}", "v", "PX", "50") for i in range(10)],
          ("RPUSH", "tl", "x"), ("PEXPIRE", "tl", "50"))
    time.sleep(1.5)  # Redis' active expiry runs 10 times a second; shardis' every 100 ms
    events = events_of(w.compare())
    assert sum(e == b"expired" for _, e in events) == 11


@pytest.fixture(scope="module")
def lazy(tmp_path_factory):
    """Servers whose keys expire only when touched: a shardis that sweeps once an hour
    (and holds replies and events until they are on disk), a redis-server with active
    expiry off."""
    s = Shardis(str(tmp_path_factory.mktemp("lazy") / "data"), shards=SHARDS,
                durability="always", expiry_sweep_ms=3_600_000).start()
    r = RedisServer(None, "--enable-debug-command", "yes").start()
    c = RawClient(r.port)
    assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"+OK\r\n"
    c.close()
    yield s, r
    s.stop()
    r.stop()


@pytest.mark.parametrize("flags", ["KEA", "KEAnm"])
def test_lazy_expiry_reports_expired(lazy, flags):
    s, r = lazy
    w = Watched(s.port, r.port, flags)
    try:
        w.run(*[("SET", f"k{i}", "v", "PX", "50") for i in range(8)],
              ("RPUSH", "l", "x"), ("PEXPIRE", "l", "50"), ("HSET", "h", "f", "v"),
              ("PEXPIRE", "h", "50"))
        w.compare()
        time.sleep(0.2)
        w.run(("GET", "k0"), ("EXISTS", "k1"), ("DEL", "k2"), ("SET", "k3", "new"),
              ("INCR", "k4"), ("TTL", "k5"), ("APPEND", "k6", "x"), ("GETDEL", "k7"),
              ("LPUSH", "l", "y"), ("HGET", "h", "f"))
        events = events_of(w.compare())
        assert sum(e == b"expired" for _, e in events) == 10
    finally:
        w.close()


# ---------------------------------------------------------------- every router, every shard


@pytest.fixture(scope="module")
def two_routers(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("notify2") / "data"), shards=2, routers=2).start()
    for index in (0, 1):
        on_router(c.port, index).close()
    yield c
    c.stop()


def _keys_on_every_shard(shards: int) -> list[bytes]:
    return [b"{" + k + b"}x" for k in marker_keys(shards)]


def test_config_set_reaches_every_router_and_shard(two_routers):
    a, b = on_router(two_routers.port, 0), on_router(two_routers.port, 1)
    sub = on_router(two_routers.port, 1)
    try:
        sub.call("PSUBSCRIBE", "__keyevent@0__:*")
        assert a.call("CONFIG", "SET", "notify-keyspace-events", "KEAn") == b"+OK\r\n"
        assert parse_reply(b.call("CONFIG", "GET", "notify-keyspace-events")) == \
            [b"notify-keyspace-events", b"AKE"]
        keys = _keys_on_every_shard(2)
        for k in keys:  # at once after OK: every shard has the flags already
            a.call("SET", k, "1")
        got = [parse_reply(sub.read_reply())[2:] for _ in range(2 * len(keys))]
        assert got == [m for k in keys for m in ([b"__keyevent@0__:new", k],
                                                 [b"__keyevent@0__:set", k])]
    finally:
        a.call("CONFIG", "SET", "notify-keyspace-events", "")
        for c in (a, b, sub):
            c.close()


def test_a_restarted_shard_takes_the_flags_from_the_hub(two_routers):
    a = on_router(two_routers.port, 0)
    sub = on_router(two_routers.port, 0)
    try:
        sub.call("PSUBSCRIBE", "__keyspace@0__:*")
        assert a.call("CONFIG", "SET", "notify-keyspace-events", "K$") == b"+OK\r\n"
        supervisor = two_routers.proc.pid
        [victim] = [p for p in role_pids(supervisor, "shardis.shardd") if argv_of(p)[-2:] == ["--index", "1"]]
        os.kill(victim, signal.SIGKILL)
        wait_role(supervisor, "shardis.shardd", 2, exclude={victim})
        key = _keys_on_every_shard(2)[1]
        eventually(lambda: a.call("SET", key, "1") == b"+OK\r\n", timeout=20, every=0.1)
        assert parse_reply(sub.read_reply())[2:] == [b"__keyspace@0__:" + key, b"set"]
    finally:
        a.call("CONFIG", "SET", "notify-keyspace-events", "")
        a.close()
        sub.close()
