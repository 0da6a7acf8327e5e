"""Faults found from outside, each as a class: error replies that kept memory, WATCH
across databases, blocked clients and keys of the wrong type, sub-millisecond timeouts."""

from __future__ import annotations

import ast
import contextlib
import os
import resource
import select
import socket
import time

import hiredis
import redis

from shardis.slots import key_slot, slot_table
from tests.helpers import ROOT, Pair, RawClient, cluster, encode_command
from tests.test_liveness import shard_pid
from tests.test_supervisor import role_pids, rss_bytes

SOURCES = ("shardis", "router", "shardd")


def _exception_call(node: ast.AST) -> str | None:
    """The name of the exception class ``node`` instantiates, if it looks like one."""
    if isinstance(node, ast.Call):
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        if name.endswith(("Error", "Exception")):
            return name
    return None


def test_no_prebuilt_exception_instances():
    """An exception instance raised again and again keeps every traceback it was raised
    with (each raise appends to its ``__traceback__``, holding frames and their locals):
    no module- or class-level exception instance, and none as a default argument."""
    found = []
    for package in SOURCES:
        for dirpath, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path) as f:
                    tree = ast.parse(f.read(), path)
                bodies = [tree.body] + [n.body for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
                for body in bodies:
                    for stmt in body:
                        if isinstance(stmt, (ast.Assign, ast.AnnAssign)) and _exception_call(stmt.value):
                            found.append(f"{path}:{stmt.lineno}")
                for fn in ast.walk(tree):
                    if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                        for d in fn.args.defaults + [d for d in fn.args.kw_defaults if d is not None]:
                            if _exception_call(d):
                                found.append(f"{path}:{d.lineno}")
    assert not found, "pre-built exception instances: " + ", ".join(found)


def _pipeline(port: int, cmds: list[tuple], times: int) -> None:
    """Send ``cmds`` ``times`` times over, 500 at a time pipelined, reading every reply."""
    c = RawClient(port)
    reader = hiredis.Reader()
    data = b"".join(encode_command(cmd) for cmd in cmds) * 500
    want = len(cmds) * 500
    for _ in range(times // 500):
        c.send_raw(data)
        got = 0
        while got < want:
            reader.feed(c.sock.recv(1 << 20))
            while reader.gets() is not False:
                got += 1
    c.close()


ERRORS = [
    ("GET", "l"),                         # WRONGTYPE from the storage layer
    ("INCR", "s"),                        # not an integer
    ("ZADD", "z", "x", "m"),              # not a float
    ("HINCRBY", "h", "f", "1"),           # hash value is not an integer
    ("SET", "k", "v", "XX", "NX"),        # syntax error
    ("LPOS", "l", "a", "RANK", "0"),      # RANK can't be zero
    ("SORT", "s"),                        # WRONGTYPE in SORT
    ("ZRANGEBYSCORE", "z", "x", "y"),     # min or max is not a float
    ("SETRANGE", "s", "-1", "x"),         # offset is out of range
]


def test_error_replies_keep_no_memory(tmp_path):
    """A shard's memory stays flat over 100k error replies of every kind."""
    with cluster(tmp_path, shards=1) as s:
        c = redis.Redis(port=s.port)
        c.rpush("l", "a")
        c.set("s", "text")
        c.zadd("z", {"m": 1})
        c.hset("h", "f", "text")
        c.close()
        pid = shard_pid(s, 0)
        _pipeline(s.port, ERRORS, 2_000)  # warm up: 18k errors
        before = rss_bytes(pid)
        _pipeline(s.port, ERRORS, 12_000)  # 108k errors
        grown = rss_bytes(pid) - before
        assert grown < 4 << 20, f"the shard grew by {grown >> 10} KB over 100k error replies"


# ---------------------------------------------------------------- WATCH and databases

# Redis' own multi.tcl cases (and neighbours): a watched key belongs to its database.
WATCH_DB_CASES = [
    [("SELECT", "5"), ("SET", "x", "30"), ("WATCH", "x"), ("SELECT", "1"), ("SET", "x", "10"),
     ("SELECT", "5"), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("WATCH", "x"), ("SELECT", "1"), ("SET", "x", "10"), ("SELECT", "5"),
     ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("SET", "x", "1"), ("WATCH", "x"), ("SELECT", "1"), ("DEL", "x"),
     ("SELECT", "5"), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("SET", "x", "1"), ("WATCH", "x"), ("SELECT", "1"), ("FLUSHDB",),
     ("SELECT", "5"), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("WATCH", "x"), ("FLUSHDB",), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("SET", "x", "1"), ("WATCH", "x"), ("FLUSHDB",), ("MULTI",), ("PING",),
     ("EXEC",)],
    [("SELECT", "5"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("SET", "x", "1"), ("WATCH", "x"), ("FLUSHALL",), ("MULTI",), ("PING",),
     ("EXEC",)],
    [("SELECT", "5"), ("WATCH", "x"), ("SELECT", "1"), ("SET", "x", "2"), ("MOVE", "x", "5"),
     ("SELECT", "5"), ("MULTI",), ("PING",), ("EXEC",)],
    [("SELECT", "5"), ("SET", "x", "1"), ("WATCH", "x"), ("SELECT", "1"), ("SET", "x", "2"),
     ("SELECT", "5"), ("MULTI",), ("MSET", "y", "1", "z", "2"), ("SELECT", "1"), ("GET", "x"),
     ("EXEC",)],
]


def test_watch_remembers_the_database(pair):
    for case in WATCH_DB_CASES:
        pair.check("SELECT", "0")
        pair.check("FLUSHALL")
        for cmd in case:
            pair.check(*cmd)
        pair.check("SELECT", "0")
        pair.check_pipeline([("FLUSHALL",)] + case + [("SELECT", "0")])  # (all in one pipeline)


# ---------------------------------------------------------------- blocked clients

def _silent(c: RawClient, seconds: float = 0.3) -> bool:
    """Whether nothing arrives on ``c`` for ``seconds`` (its client is still blocked)."""
    ready, _, _ = select.select([c.sock], [], [], seconds)
    return not ready and not c.buf


@contextlib.contextmanager
def _blocked(shardis_server, redis_server, block: tuple, wait: float = 0.1):
    """A client of each server blocked in ``block`` (after FLUSHALL), and another pair of
    clients: (waiter, other)."""
    waiter = Pair(shardis_server.port, redis_server.port)
    other = Pair(shardis_server.port, redis_server.port)
    try:
        other.check("FLUSHALL")
        for c in (waiter.s, waiter.r):
            c.send_raw(encode_command(block))
        time.sleep(wait)
        yield waiter, other
    finally:
        waiter.close()
        other.close()


def _keys_on_two_shards() -> tuple[str, str]:
    table = slot_table(3)
    a = "wa"
    b = next(f"wb{n}" for n in range(1000) if table[key_slot(f"wb{n}".encode())] != table[key_slot(b"wa")])
    return a, b


# (blocking command, a write that gives its key the right type; {k} keeps keys on one shard)
BLOCKERS = [
    (("BLPOP", "{k}k", "0"), ("RPUSH", "{k}k", "x")),
    (("BRPOP", "{k}k", "0"), ("RPUSH", "{k}k", "x")),
    (("BLMPOP", "0", "1", "{k}k", "LEFT"), ("RPUSH", "{k}k", "x")),
    (("BLMOVE", "{k}k", "{k}d", "LEFT", "RIGHT", "0"), ("RPUSH", "{k}k", "x")),
    (("BRPOPLPUSH", "{k}k", "{k}d", "0"), ("RPUSH", "{k}k", "x")),
    (("BZPOPMIN", "{k}k", "0"), ("ZADD", "{k}k", "1", "x")),
    (("BZPOPMAX", "{k}k", "0"), ("ZADD", "{k}k", "1", "x")),
    (("BZMPOP", "0", "1", "{k}k", "MIN"), ("ZADD", "{k}k", "1", "x")),
]


def _other_type(push: tuple) -> tuple:
    """A write that gives the key the other collection type."""
    return ("ZADD", push[1], "0", "foo") if push[0] == "RPUSH" else ("RPUSH", push[1], "foo")


def test_blocked_client_waits_through_a_key_of_another_type(shardis_server, redis_server):
    """A transaction that leaves the key as a string (or a collection of the other type)
    does not serve the blocked client WRONGTYPE: it stays blocked, as in Redis, and is
    served once the key holds its type."""
    for block, push in BLOCKERS:
        key = push[1]
        with _blocked(shardis_server, redis_server, block) as (waiter, other):
            other.check_pipeline([("MULTI",), _other_type(push), ("DEL", key), ("SET", key, "foo"),
                                  ("EXEC",)])
            other.check_pipeline([("MULTI",), ("DEL", key), _other_type(push), ("EXEC",)])
            assert _silent(waiter.r) and _silent(waiter.s), block
            other.check("DEL", key)
            other.check(*push)
            assert waiter.s.read_reply() == waiter.r.read_reply(), block


def test_served_from_the_key_that_got_data(shardis_server, redis_server):
    """BLPOP a b with both filled in one transaction is served from the key filled first;
    a key of another type among its keys does not make it fail."""
    for block, fill in [
        (("BLPOP", "{s}a", "{s}b", "0"), [("RPUSH", "{s}b", "x"), ("RPUSH", "{s}a", "y")]),
        (("BZPOPMIN", "{s}a", "{s}b", "0"), [("ZADD", "{s}b", "1", "x"), ("ZADD", "{s}a", "0", "y")]),
        (("BLMPOP", "0", "2", "{s}a", "{s}b", "RIGHT", "COUNT", "2"),
         [("RPUSH", "{s}b", "x", "z"), ("RPUSH", "{s}a", "y")]),
        (("BZMPOP", "0", "2", "{s}a", "{s}b", "MAX", "COUNT", "2"),
         [("ZADD", "{s}b", "1", "x"), ("ZADD", "{s}a", "0", "y")]),
        (("BLPOP", "{s}a", "{s}b", "0"), [("SET", "{s}a", "str"), ("RPUSH", "{s}b", "x")]),
    ]:
        with _blocked(shardis_server, redis_server, block) as (waiter, other):
            other.check_pipeline([("MULTI",), *fill, ("EXEC",)])
            assert waiter.s.read_reply() == waiter.r.read_reply(), block
            for key in ("{s}a", "{s}b"):
                other.check("TYPE", key)


def test_blocked_over_shards_ignores_a_key_of_another_type(shardis_server, redis_server):
    """BLPOP a b with a and b on different shards: a turns into a string, b gets data:
    served from b (the coordinator re-ran BLPOP a b and answered WRONGTYPE)."""
    a, b = _keys_on_two_shards()
    with _blocked(shardis_server, redis_server, ("BLPOP", a, b, "0"), wait=0.2) as (waiter, other):
        other.check("SET", a, "str")
        assert _silent(waiter.s) and _silent(waiter.r)
        other.check("RPUSH", b, "x")
        assert waiter.s.read_reply() == waiter.r.read_reply()
        other.check("LLEN", b)


# ---------------------------------------------------------------- timeouts

TINY = ["0.001", "0.0001", "0.0005", "1e-3", "0.00099999", "1e-400", "0.0015", "0.01"]


def test_tiny_timeouts_answer_nil(pair):
    """Every positive timeout waits at least 1 ms and then answers nil, as Redis 7.0
    rounds it up; none blocks for ever."""
    for t in TINY:
        for cmd in (("BLPOP", "{t}a", t), ("BRPOP", "{t}a", "{t}b", t), ("BLMPOP", t, "1", "{t}a", "LEFT"),
                    ("BLMOVE", "{t}a", "{t}b", "LEFT", "LEFT", t), ("BRPOPLPUSH", "{t}a", "{t}b", t),
                    ("BZPOPMIN", "{t}z", t), ("BZPOPMAX", "{t}z", t), ("BZMPOP", t, "1", "{t}z", "MIN")):
            pair.check(*cmd)


def test_tiny_timeouts_over_shards(pair):
    """The same through the coordinator (keys on two shards)."""
    a, b = _keys_on_two_shards()
    for t in TINY[:3]:
        for cmd in (("BLPOP", a, b, t), ("BLMPOP", t, "2", a, b, "LEFT"), ("BZPOPMIN", a, b, t),
                    ("BLMOVE", a, b, "LEFT", "LEFT", t)):
            pair.check(*cmd)


def test_timeout_edge_values(pair):
    """Values around zero and past the range: errors as Redis gives them."""
    for t in ("1e300", "9223372036854775807", "inf", "nan", " 1", "-0.0001x", "-1", "", "1e"):
        pair.check("BLPOP", "{t}a", t)


def test_exec_sees_the_clients_own_pipelined_writes(pair):
    """A pipelined write, then a transaction that goes through the coordinator (or one on
    one shard after a cross-shard write): the transaction sees the write, as in Redis."""
    a, b = _keys_on_two_shards()
    for n in range(30):
        pair.check_pipeline([("SET", a, f"v{n}"), ("MULTI",), ("GET", a), ("GET", b), ("EXEC",)])
        pair.check_pipeline([("SELECT", "1"), ("SET", a, f"w{n}"), ("MULTI",), ("MSET", a, "1", b, "2"),
                             ("SELECT", "1"), ("GET", a), ("EXEC",), ("SELECT", "0")])
        pair.check_pipeline([("MSET", a, f"x{n}", b, f"y{n}"), ("MULTI",), ("GET", a), ("EXEC",)])
        pair.check_pipeline([("WATCH", a), ("SET", b, f"z{n}"), ("MULTI",), ("GET", b), ("GET", a),
                             ("EXEC",)])


# ---------------------------------------------------------------- idle connections

def test_idle_connections_are_small_and_given_back(tmp_path):
    """An idle connection costs the router under 10 KB (a table copied per connection
    made it 82 KB), and the memory goes back once the clients leave."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4000 <= hard or (soft < 4000 and hard == resource.RLIM_INFINITY):
        resource.setrlimit(resource.RLIMIT_NOFILE, (4000, hard))  # (the server inherits it)
    n = min(2000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 300)
    with cluster(tmp_path, shards=1) as s:
        router = role_pids(s.proc.pid, "shardis.router")[0]
        time.sleep(1)
        before = rss_bytes(router)
        socks = []
        for _ in range(n):
            c = socket.create_connection(("127.0.0.1", s.port))
            c.sendall(b"PING\r\n")
            socks.append(c)
        for c in socks:
            c.settimeout(10)
            assert c.recv(16) == b"+PONG\r\n"
        time.sleep(1)
        held = rss_bytes(router)
        for c in socks:
            c.close()
        time.sleep(8)  # (the router gives memory back every few seconds)
        redis.Redis(port=s.port).ping()
        after = rss_bytes(router)
        per_conn = (held - before) / n
        assert per_conn < 10 * 1024, f"{per_conn / 1024:.1f} KB per idle connection"
        assert after - before < (held - before) / 2, (before, held, after)
