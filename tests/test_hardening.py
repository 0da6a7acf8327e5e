"""Faults found from outside, each as a class: error replies that kept memory, WATCH
across databases, blocked clients and keys of the wrong type, sub-millisecond timeouts."""

from __future__ import annotations

import ast
import os

import hiredis
import redis

from tests.helpers import ROOT, RawClient, cluster, encode_command
from tests.test_liveness import shard_pid
from tests.test_supervisor import rss_bytes

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
