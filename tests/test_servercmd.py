"""SHUTDOWN, WAIT, ROLE, LOLWUT, DEBUG, MEMORY and COMMAND GETKEYSANDFLAGS beside
redis-server 7.0 (router/servercmd.py, router/objectcmd.py, router/commandinfo.py)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import time

import pytest
from redis._parsers.helpers import parse_info

from shardis import rdbfile

from tests.helpers import Pair, RawClient, RedisServer, Shardis, parse_reply


@pytest.fixture(scope="module")
def debug_servers(tmp_path_factory):
    """shardis and redis-server with enable-debug-command yes."""
    s = Shardis(str(tmp_path_factory.mktemp("servercmd") / "data"), shards=2,
                enable_debug_command="yes").start()
    r = RedisServer(None, "--enable-debug-command", "yes").start()
    yield s, r
    r.stop()
    assert s.stop() == 0


@pytest.fixture
def dpair(debug_servers):
    s, r = debug_servers
    p = Pair(s.port, r.port)
    p.check("FLUSHALL")
    yield p
    p.close()


# ---------------------------------------------------------------- replies and errors

SAME = [
    ("ROLE",), ("ROLE", "x"),
    ("WAIT",), ("WAIT", "0"), ("WAIT", "0", "0"), ("WAIT", "-1", "0"), ("WAIT", "0", "100"),
    ("WAIT", "1", "10"), ("WAIT", "abc", "0"), ("WAIT", "0", "abc"), ("WAIT", "0", "-1"),
    ("WAIT", "0", "1.5"), ("WAIT", "0", "0", "0"),
    ("SHUTDOWN", "ABORT"), ("SHUTDOWN", "abort", "abort"), ("SHUTDOWN", "foo"),
    ("SHUTDOWN", "SAVE", "NOSAVE"), ("SHUTDOWN", "ABORT", "NOW"), ("SHUTDOWN", "NOW", "foo"),
    ("SHUTDOWN", "FORCE", "ABORT"),
    ("LOLWUT",), ("LOLWUT", "foo"), ("LOLWUT", "VERSION"), ("LOLWUT", "VERSION", "7"),
    ("LOLWUT", "version", "-1"), ("LOLWUT", "VERSION", "4"), ("LOLWUT", "VERSION", "abc"),
    ("LOLWUT", "VERSION", "5", "1", "1", "1"), ("LOLWUT", "VERSION", "5", "66", "8", "2"),
    ("LOLWUT", "VERSION", "5", "33", "3", "1"), ("LOLWUT", "VERSION", "5", "x"),
    ("LOLWUT", "VERSION", "5", "10", "y"), ("LOLWUT", "VERSION", "6", "12", "1"),
    ("LOLWUT", "VERSION", "6", "x"), ("LOLWUT", "VERSION", "6", "5", "z"),
    ("MEMORY", "DOCTOR"), ("MEMORY", "PURGE"), ("MEMORY", "HELP"), ("MEMORY", "STATS", "x"),
    ("MEMORY", "DOCTOR", "x"), ("MEMORY", "PURGE", "x"), ("MEMORY", "MALLOC-STATS", "x"),
    ("MEMORY", "foo"), ("MEMORY", "USAGE", "nokey", "SAMPLES", "x"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "99999999999999999999"), ("MEMORY", "USAGE", "nokey", "SAMPLES", "5"),
    ("MEMORY", "USAGE", "nokey", "SAMPLES", "1", "SAMPLES", "x"),
    # DEBUG is refused while enable-debug-command is "no" (both servers' default)
    ("DEBUG",), ("DEBUG", "HELP"), ("DEBUG", "SLEEP", "0"), ("DEBUG", "foo"),
    ("COMMAND", "HELP"),
]


@pytest.mark.parametrize("args", SAME, ids=lambda a: " ".join(a))
def test_same_reply(pair, args):
    pair.check(*args)


@pytest.mark.parametrize("args", [("ROLE",), ("LOLWUT",), ("MEMORY", "DOCTOR"), ("WAIT", "0", "0"),
                                  ("LOLWUT", "VERSION", "5", "20", "5", "2")],
                         ids=lambda a: " ".join(a))
def test_same_reply_resp3(pair3, args):
    pair3.check(*args)


def test_in_multi(pair):
    """WAIT may not block in a transaction: 0 at once; SHUTDOWN is refused there."""
    pair.check_pipeline([("MULTI",), ("WAIT", "1", "0"), ("ROLE",), ("EXEC",)])
    pair.check_pipeline([("MULTI",), ("SHUTDOWN",), ("EXEC",)])


def test_malloc_stats(pair):
    """As a Redis built without jemalloc answers (the reference has jemalloc)."""
    want = b"$45\r\nStats not supported for the current allocator\r\n"
    assert pair.s.call("MEMORY", "MALLOC-STATS") == want


def test_memory_stats_fields(pair):
    """Redis' fields in Redis' order (the numbers are shardis' own)."""
    for p in (pair.s, pair.r):
        p.call("SET", "k", "v")
    got, want = (parse_reply(c.call("MEMORY", "STATS")) for c in (pair.s, pair.r))
    assert got[0::2] == want[0::2]
    fields = dict(zip(got[0::2], got[1::2]))
    assert fields[b"keys.count"] == 1 and fields[b"total.allocated"] > 0
    assert fields[b"db.0"][0::2] == dict(zip(want[0::2], want[1::2]))[b"db.0"][0::2]


@pytest.mark.parametrize("version,last", [
    ("5", b"Georg Nees - schotter, plotter on paper, 1968. Redis ver. 7.0.15"),
    ("6", b"Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15")])
def test_lolwut_art(pair, version, last):
    """The art is random: the same shape (lines, their lengths) and the same last line."""
    got, want = (parse_reply(c.call("LOLWUT", "VERSION", version)).split(b"\n") for c in (pair.s, pair.r))
    # (characters per line; for version 6, cells: a cell's escapes differ with its color)
    shape = (lambda line: line.count(b"\033[0m")) if version == "6" else (lambda line: len(line.decode()))
    assert [shape(line) for line in got] == [shape(line) for line in want]
    assert got[-2] == want[-2] == last and got[-1] == want[-1] == b""


# ---------------------------------------------------------------- WAIT holds its client


def test_wait_holds_the_client_for_its_timeout(shardis_server):
    c, other = RawClient(shardis_server.port), RawClient(shardis_server.port)
    try:
        t = time.monotonic()
        c.send_raw(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n300\r\n*1\r\n$4\r\nPING\r\n")
        assert other.call("PING") == b"+PONG\r\n"  # (others go on meanwhile)
        assert c.read_reply() == b":0\r\n"
        assert time.monotonic() - t >= 0.25  # (the timer's clock may run a little ahead)
        assert c.read_reply() == b"+PONG\r\n"
    finally:
        c.close()
        other.close()


def test_wait_without_timeout_waits_until_the_client_leaves(shardis_server):
    c = RawClient(shardis_server.port)
    c.send_raw(b"*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n*1\r\n$4\r\nPING\r\n")
    c.sock.settimeout(0.5)
    with pytest.raises(socket.timeout):
        c.sock.recv(100)
    c.close()
    c = RawClient(shardis_server.port)
    assert c.call("PING") == b"+PONG\r\n"
    c.close()


# ---------------------------------------------------------------- COMMAND GETKEYSANDFLAGS

GETKEYS = [
    ("set", "a", "b"), ("set", "a", "b", "get"), ("get", "k"), ("lmove", "a", "b", "left", "right"),
    ("mset", "a", "1", "b", "2"), ("del", "a", "b", "c"), ("zunionstore", "d", "2", "a", "b"),
    ("zunionstore", "d", "0", "a"), ("eval", "s", "0"), ("eval", "s", "2", "a", "b", "c"),
    ("sort", "a", "store", "b"), ("sort", "a", "by", "w*"), ("sort_ro", "a"),
    ("memory", "usage", "k"), ("object", "encoding", "k"), ("ssubscribe", "ch"), ("ping",),
    ("xread", "streams", "a", "b", "1", "2"), ("xread", "count", "2", "streams", "a", "1"),
    ("xreadgroup", "group", "g", "c", "streams", "a", ">"), ("bitfield", "k", "get", "u8", "0"),
    ("bitfield", "k", "set", "u8", "0", "1"), ("georadius", "k", "1", "2", "3", "m", "store", "d"),
    ("migrate", "h", "p", "", "0", "5", "keys", "a", "b"), ("migrate", "h", "p", "k", "0", "5"),
    ("blpop", "a", "b", "0"), ("lmpop", "2", "a", "b", "left"), ("nosuch", "a"), ("get",),
    ("get", "a", "b"), ("config", "get", "x"), ("client", "list"), ("rename", "a", "b"),
    ("pfcount", "a", "b"), ("getex", "k", "persist"), ("copy", "a", "b"), ("fcall", "f", "1", "k"),
]


@pytest.mark.parametrize("argv", GETKEYS, ids=lambda a: " ".join(a) or "-")
def test_getkeysandflags(pair, argv):
    pair.check("COMMAND", "GETKEYSANDFLAGS", *argv)
    pair.check("COMMAND", "GETKEYS", *argv)


def test_getkeysandflags_arity(pair):
    pair.check("COMMAND", "GETKEYSANDFLAGS")
    pair.check("COMMAND", "GETKEYSANDFLAGS", "set")


def test_getkeysandflags_resp3(pair3):
    pair3.check("COMMAND", "GETKEYSANDFLAGS", "lmove", "a", "b", "left", "right")


# ---------------------------------------------------------------- DEBUG (enabled)

_UNSTABLE = re.compile(rb"Value at:0x[0-9a-f]+|lru:\d+")


def test_debug_object(dpair):
    dpair.check("SET", "s", "hello")
    dpair.check("SET", "n", "12")
    dpair.check("SET", "big", "x" * 100)
    dpair.check("RPUSH", "l", "a", "b", "c", "12345", "x" * 70)
    dpair.check("HSET", "h", "f", "v")
    dpair.check("SADD", "si", "1", "2")
    dpair.check("ZADD", "z", "1", "a")
    for key in ("s", "n", "big", "l", "h", "si", "z"):
        got, want = dpair.both("DEBUG", "OBJECT", key)
        assert _UNSTABLE.sub(b"", got) == _UNSTABLE.sub(b"", want), key
    for args in (("DEBUG", "OBJECT", "nokey"), ("DEBUG", "OBJECT"), ("DEBUG", "OBJECT", "s", "x")):
        dpair.check(*args)


@pytest.mark.parametrize("args", [
    ("DEBUG", "SLEEP", "0"), ("DEBUG", "SLEEP", "abc"), ("DEBUG", "SLEEP", "-1"), ("DEBUG", "SLEEP"),
    ("DEBUG", "sleep", "0.01x"), ("DEBUG", "RELOAD"), ("DEBUG", "RELOAD", "merge", "NOFLUSH"),
    ("DEBUG", "RELOAD", "foo"), ("DEBUG", "CHANGE-REPL-ID"), ("DEBUG", "CHANGE-REPL-ID", "x"),
    ("DEBUG", "SET-ACTIVE-EXPIRE"), ("DEBUG", "foo"), ("DEBUG", "HELP", "x"), ("debug", "digestx"),
], ids=lambda a: " ".join(a))
def test_debug_replies(dpair, args):
    dpair.check(*args)


_TYPES = ("string", "integer", "double", "bignum", "null", "array", "set", "map", "attrib", "push",
          "verbatim", "true", "false", "TRUE", "nosuch")


@pytest.mark.parametrize("resp", [2, 3])
def test_debug_protocol_error_log(dpair, resp):
    """DEBUG PROTOCOL's test values (both protocols), ERROR's error, LOG's OK, as Redis'."""
    if resp == 3:
        dpair.both("HELLO", "3")
    for t in _TYPES:
        dpair.check("DEBUG", "PROTOCOL", t)
    for args in (("DEBUG", "PROTOCOL"), ("DEBUG", "ERROR", "MYERR went\r\nwrong"), ("DEBUG", "ERROR", ""),
                 ("DEBUG", "ERROR"), ("DEBUG", "LOG", "hello from a test"), ("DEBUG", "LOG")):
        dpair.check(*args)


def test_debug_populate(dpair):
    """DEBUG POPULATE count [prefix] [size]: keys over every shard, existing ones kept."""
    for args in (("DEBUG", "POPULATE"), ("DEBUG", "POPULATE", "x"), ("DEBUG", "POPULATE", "-1"),
                 ("DEBUG", "POPULATE", "2", "r", "-1"), ("DEBUG", "POPULATE", "2", "r", "x"),
                 ("DEBUG", "POPULATE", "1", "s", "2", "extra"), ("DEBUG", "POPULATE", "0"),
                 ("SET", "key:5", "mine"), ("DEBUG", "POPULATE", "100"), ("DBSIZE",), ("GET", "key:5"),
                 ("GET", "key:99"), ("GET", "key:100"),
                 ("DEBUG", "POPULATE", "20", "p", "3"), ("GET", "p:13"),
                 ("DEBUG", "POPULATE", "20", "q", "12"), ("GET", "q:13"), ("STRLEN", "q:1"),
                 ("SELECT", "2"), ("DEBUG", "POPULATE", "5", "in2"), ("DBSIZE",), ("SELECT", "0"),
                 ("DBSIZE",)):
        dpair.check(*args)
    dpair.check_unordered("KEYS", "p:*")


def test_debug_help_is_redis_own_lines(dpair):
    got, want = (parse_reply(c) for c in dpair.both("DEBUG", "HELP"))
    assert got[0] == want[0] and got[-2:] == want[-2:]
    assert set(got) <= set(want) and len(got) > 10


def test_debug_sleep_holds_its_client(dpair):
    t = time.monotonic()
    assert dpair.s.call("DEBUG", "SLEEP", "0.3") == b"+OK\r\n"
    assert time.monotonic() - t >= 0.3


def test_debug_sleep_makes_the_server_busy(debug_servers, dpair):
    """As on Redis, another client's command waits out the sleep: every shard sleeps (and
    the caller's router), so a key's command through any router does."""
    s, _ = debug_servers
    dpair.check("SET", "k", "v")
    other = RawClient(s.port)
    try:
        dpair.s.send_raw(b"DEBUG SLEEP 0.6\r\n")
        time.sleep(0.1)  # (the sleep has begun)
        t = time.monotonic()
        assert other.call("GET", "k") == b"$1\r\nv\r\n"
        assert time.monotonic() - t >= 0.3
        assert dpair.s.read_reply() == b"+OK\r\n"
        # inside EXEC as well, the reply in its place
        dpair.check("MULTI")
        dpair.check("DEBUG", "SLEEP", "0.05")
        dpair.check("PING")
        dpair.check("EXEC")
    finally:
        other.close()


def test_debug_reload_keeps_the_data(dpair):
    """DEBUG RELOAD: OK once every shard has fsynced what was written before it (as SAVE)."""
    dpair.s.send_raw(b"".join(b"SET k%d v%d\r\n" % (i, i) for i in range(50)) + b"DEBUG RELOAD\r\n")
    for _ in range(50):
        assert dpair.s.read_reply() == b"+OK\r\n"
    assert dpair.s.read_reply() == b"+OK\r\n"
    assert dpair.s.call("DBSIZE") == b":50\r\n"
    assert dpair.s.call("DEBUG", "RELOAD", "NOSAVE", "merge") == b"+OK\r\n"
    assert dpair.s.call("GET", "k7") == b"$2\r\nv7\r\n"


def test_debug_set_active_expire(dpair):
    """With active expiry off an expired key is still counted until a command touches it."""
    dpair.check("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    try:
        dpair.check("SET", "k", "v", "PX", "50")
        time.sleep(0.5)
        dpair.check("DBSIZE")
        dpair.check("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        time.sleep(0.6)
        dpair.check("DBSIZE")
    finally:
        dpair.s.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")
        dpair.r.call("DEBUG", "SET-ACTIVE-EXPIRE", "1")


# ---------------------------------------------------------------- SHUTDOWN


def test_shutdown_stops_the_whole_server(tmp_path):
    """SHUTDOWN through a router: no reply, the connection closes, every process stops and the
    supervisor exits 0; what was written is there after a restart."""
    s = Shardis(str(tmp_path / "data"), shards=2).start()
    try:
        c = RawClient(s.port)
        assert c.call("SET", "k", "kept") == b"+OK\r\n"
        assert c.call("RPUSH", "{k}l", "a", "b") == b":2\r\n"
        c.send_raw(b"*2\r\n$8\r\nSHUTDOWN\r\n$6\r\nNOSAVE\r\n")
        with pytest.raises((ConnectionError, OSError)):
            c.read_reply()
        c.close()
        assert s.proc is not None
        assert s.proc.wait(60) == 0
        s.proc = None
        assert "User requested shutdown" in s.log()
        s.start()
        c = RawClient(s.port)
        assert c.call("GET", "k") == b"$4\r\nkept\r\n"
        assert c.call("LRANGE", "{k}l", "0", "-1") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
        c.close()
    finally:
        assert s.stop() in (0, None)


def test_shutdown_save_failure_force_and_save(tmp_path):
    """SHUTDOWN that must save and cannot (dump.rdb is a directory) answers as Redis 7.0
    and keeps serving; FORCE stops anyway; SHUTDOWN SAVE writes every write sent before
    it (pipelined in the same packet) into dump.rdb and stops."""
    s = Shardis(str(tmp_path / "data"), shards=2).start()
    ref = RedisServer().start()
    try:
        os.makedirs(os.path.join(s.dir, "dump.rdb", "x"))
        os.makedirs(os.path.join(ref.dir, "dump.rdb", "x"))
        p = Pair(s.port, ref.port)
        p.check("SET", "k", "v")
        p.check("SHUTDOWN", "SAVE")
        p.check("SHUTDOWN", "SAVE", "NOW")
        p.check("SAVE")
        p.check("CONFIG", "SET", "save", "3600 1")
        p.check("SHUTDOWN")          # a save schedule: plain SHUTDOWN saves too
        p.check("SHUTDOWN", "ABORT")
        p.check("PING")
        info = p.s.call("INFO", "persistence")
        assert b"rdb_last_bgsave_status:err" in info
        for c in (p.s, p.r):
            c.send_raw(b"*3\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n$5\r\nFORCE\r\n")
            with pytest.raises((ConnectionError, OSError)):
                c.read_reply()
        p.close()
        assert s.proc is not None and s.proc.wait(60) == 0
        s.proc = None
        shutil.rmtree(os.path.join(s.dir, "dump.rdb"))
        s.start()
        c = RawClient(s.port)
        c.send_raw(b"*3\r\n$3\r\nSET\r\n$4\r\nlast\r\n$1\r\n1\r\n"
                   b"*2\r\n$8\r\nSHUTDOWN\r\n$4\r\nSAVE\r\n")
        assert c.read_reply() == b"+OK\r\n"
        with pytest.raises((ConnectionError, OSError)):
            c.read_reply()
        c.close()
        assert s.proc is not None and s.proc.wait(60) == 0
        s.proc = None
        with open(os.path.join(s.dir, "dump.rdb"), "rb") as f:
            data = f.read()
        rdbfile.check(data)
        keys = {rec.key for rec in rdbfile.read(data) if isinstance(rec, rdbfile.Key)}
        assert keys == {b"k", b"last"}
    finally:
        ref.stop()
        assert s.stop() in (0, None)


def _usec(conn: RawClient, name: str) -> tuple[int, int]:
    """(calls, usec) of ``name`` in INFO commandstats."""
    v = parse_info(parse_reply(conn.call("INFO", "commandstats")).decode()).get(f"cmdstat_{name}")
    return (v["calls"], v["usec"]) if v else (0, 0)


def test_commands_answered_later_count_as_redis_times_them(dpair):
    """DEBUG SLEEP's time is the sleep, SAVE's and DEBUG RELOAD's the whole save (Redis
    runs them inside the call); WAIT's is its handler's, not the wait (Redis 7.0 counts a
    WAIT that blocked without its wait)."""
    for c in (dpair.s, dpair.r):
        c.call("SET", "k", "v")
        c.call("CONFIG", "RESETSTAT")
        assert c.call("DEBUG", "SLEEP", "0.2") == b"+OK\r\n"
        assert c.call("WAIT", "1", "300") == b":0\r\n"
        assert c.call("SAVE") == b"+OK\r\n"
        assert c.call("DEBUG", "RELOAD") == b"+OK\r\n"
    for c in (dpair.s, dpair.r):
        debug, wait, save = (_usec(c, n) for n in ("debug", "wait", "save"))
        assert debug[0] == 2 and debug[1] >= 200_000
        assert wait[0] == 1 and wait[1] < 300_000
        assert save[0] == 1
    # (a save here is a round over every shard, a file written and polled: far past 1 ms;
    # its handler alone returns in microseconds)
    assert _usec(dpair.s, "save")[1] >= 1000
