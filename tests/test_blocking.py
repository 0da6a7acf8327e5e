"""Blocking list and sorted-set commands (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BLMPOP,
BZPOPMIN, BZPOPMAX, BZMPOP) with their keys on one shard, against redis-server 7.0:
immediate replies and errors byte for byte, then waiting, waking, timeouts, waiter
order, pipelines behind a blocked client, disconnects, and a crash under ``always``."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.helpers import RawClient, Shardis, encode_command, wait_for_port

CASES = {
    "blpop_brpop_data": [
        ("RPUSH", "{t}a", "1", "2", "3"), ("BLPOP", "{t}a", "0"), ("BRPOP", "{t}a", "0"),
        ("BLPOP", "{t}missing", "{t}a", "0"), ("LRANGE", "{t}a", "0", "-1"),
        ("BRPOP", "{t}a", "1.5"), ("EXISTS", "{t}a"),
    ],
    "errors": [
        ("BLPOP", "{e}a"), ("BLPOP",), ("BLPOP", "{e}a", "-1"), ("BLPOP", "{e}a", "x"),
        ("BLPOP", "{e}a", ""), ("BLPOP", "{e}a", " 1"), ("BLPOP", "{e}a", "inf"),
        ("BLPOP", "{e}a", "-inf"), ("BLPOP", "{e}a", "nan"),
        ("BLPOP", "{e}a", "1e300"), ("BRPOP", "{e}a", "-0.5"),
        ("SET", "{e}s", "x"), ("BLPOP", "{e}s", "0"), ("BRPOP", "{e}s", "1"), ("BZPOPMIN", "{e}s", "0"),
        ("BRPOPLPUSH", "{e}s", "{e}d", "0"), ("BLMOVE", "{e}s", "{e}d", "LEFT", "RIGHT", "0"),
        ("BLMOVE", "{e}a", "{e}d", "UP", "RIGHT", "0"), ("BLMOVE", "{e}a", "{e}d", "LEFT", "RIGHT", "-1"),
        ("BRPOPLPUSH", "{e}a", "{e}d", "abc"), ("BZPOPMAX", "{e}a", "-2"), ("BZPOPMIN", "{e}s"),
    ],
    "mpop": [
        ("RPUSH", "{m}l", "a", "b", "c"), ("BLMPOP", "0", "2", "{m}x", "{m}l", "LEFT"),
        ("BLMPOP", "0", "1", "{m}l", "RIGHT", "COUNT", "5"), ("EXISTS", "{m}l"),
        ("BLMPOP", "0", "0", "{m}l", "LEFT"), ("BLMPOP", "0", "1", "{m}l", "MIDDLE"),
        ("BLMPOP", "0", "1", "{m}l", "LEFT", "COUNT", "0"), ("BLMPOP", "-1", "1", "{m}l", "LEFT"),
        ("BLMPOP", "x", "0", "{m}l", "LEFT"),
        ("BLMPOP", "0", "5", "{m}l", "LEFT"),
        ("ZADD", "{m}z", "1", "a", "2", "b", "3", "c"),
        ("BZMPOP", "0", "1", "{m}z", "MIN"), ("BZMPOP", "0", "2", "{m}q", "{m}z", "MAX", "COUNT", "9"),
        ("BZMPOP", "-1", "1", "{m}z", "MIN"),
        ("BZMPOP", "0", "0", "{m}z", "MIN"), ("BZMPOP", "0", "1", "{m}z", "LOW"),
        ("BZMPOP", "0", "1", "{m}z", "MIN", "COUNT", "-1"), ("BZMPOP", "x", "1", "{m}z", "MIN", "FOO"),
        ("SET", "{m}s", "v"), ("BLMPOP", "0", "1", "{m}s", "LEFT"), ("BZMPOP", "0", "1", "{m}s", "MIN"),
    ],
    "move": [
        ("RPUSH", "{v}src", "a", "b"), ("BRPOPLPUSH", "{v}src", "{v}dst", "0"),
        ("BLMOVE", "{v}src", "{v}dst", "LEFT", "LEFT", "0"), ("LRANGE", "{v}dst", "0", "-1"),
        ("EXISTS", "{v}src"), ("SET", "{v}str", "x"), ("RPUSH", "{v}src", "c"),
        ("BLMOVE", "{v}src", "{v}str", "LEFT", "LEFT", "0"), ("LRANGE", "{v}src", "0", "-1"),
        ("BLMOVE", "{v}dst", "{v}dst", "LEFT", "RIGHT", "0"), ("LRANGE", "{v}dst", "0", "-1"),
    ],
    "zpop": [
        ("ZADD", "{z}a", "1", "x", "2.5", "y", "inf", "z"), ("BZPOPMIN", "{z}a", "0"),
        ("BZPOPMAX", "{z}a", "0"), ("BZPOPMIN", "{z}none", "{z}a", "0.1"), ("EXISTS", "{z}a"),
    ],
    "timeouts": [
        ("BLPOP", "{w}a", "0.01"), ("BRPOP", "{w}a", "{w}b", "0.02"),
        ("BRPOPLPUSH", "{w}a", "{w}b", "0.01"), ("BLMOVE", "{w}a", "{w}b", "RIGHT", "LEFT", "0.01"),
        ("BLMPOP", "0.01", "1", "{w}a", "LEFT"), ("BZPOPMIN", "{w}z", "0.01"),
        ("BZPOPMAX", "{w}z", "0.01"), ("BZMPOP", "0.01", "1", "{w}z", "MAX"),
    ],
}


@pytest.mark.parametrize("name", list(CASES))
def test_against_redis(pair, name):
    for cmd in CASES[name]:
        pair.check(*cmd)


@pytest.mark.parametrize("name", ["timeouts", "zpop", "mpop"])
def test_against_redis_resp3(pair, name):
    pair.both("HELLO", "3")  # (the client ids differ)
    for cmd in CASES[name]:
        pair.check(*cmd)


def test_cross_shard_keys_without_waiting(pair):
    """Keys on several shards (a, b, c are on three): answered through the coordinator."""
    pair.check("RPUSH", "c", "1", "2")
    pair.check("BLPOP", "a", "b", "c", "0")
    pair.check("BLMOVE", "c", "a", "LEFT", "LEFT", "0")
    pair.check("BLPOP", "a", "b", "0.05")
    pair.check("BLMPOP", "0.05", "2", "b", "c", "LEFT")
    pair.check("LRANGE", "a", "0", "-1")

class Later(threading.Thread):
    """One blocking call on its own connection, its reply kept."""

    def __init__(self, port: int, *cmd) -> None:
        super().__init__(daemon=True)
        self.c = RawClient(port)
        self.cmd = cmd
        self.reply: bytes | None = None
        self.at = 0.0

    def run(self) -> None:
        self.reply = self.c.call(*self.cmd)
        self.at = time.monotonic()


def _wait_blocked(port: int, n: int) -> None:
    """Give the blocked calls time to reach the shard (they cannot be observed directly)."""
    time.sleep(0.15 + 0.05 * n)


def test_push_wakes_waiters_in_arrival_order(shardis_server):
    port = shardis_server.port
    c = RawClient(port)
    c.call("FLUSHALL")
    waiters = []
    for _ in range(3):
        w = Later(port, "BLPOP", "{q}list", "{q}other", "0")
        w.start()
        _wait_blocked(port, 1)
        waiters.append(w)
    assert all(w.reply is None for w in waiters)
    assert c.call("RPUSH", "{q}list", "x1", "x2", "x3", "x4") == b":4\r\n"
    for w in waiters:
        w.join(5)
    got = [w.reply for w in waiters]
    assert got == [b"*2\r\n$7\r\n{q}list\r\n$2\r\nx%d\r\n" % i for i in (1, 2, 3)], got
    assert c.call("LRANGE", "{q}list", "0", "-1") == b"*1\r\n$2\r\nx4\r\n"
    c.close()


def test_waiters_over_shards_and_on_one_shard_are_served_in_arrival_order(shardis_server):
    """Clients blocked on keys over several shards (they wait in the coordinator) and
    clients blocked on one shard, on the same key: served first come, first served, as
    Redis does, whichever kind pushed first; one element each."""
    port = shardis_server.port
    c = RawClient(port)
    c.call("DEL", "a", "b", "c")
    kinds = [("BLPOP", "a", "b", "0"), ("BLPOP", "a", "0"), ("BLMOVE", "a", "c", "LEFT", "RIGHT", "0"),
             ("BLPOP", "a", "0"), ("BLPOP", "b", "a", "0")]
    waiters = []
    for cmd in kinds:
        w = Later(port, *cmd)
        w.start()
        _wait_blocked(port, 1)
        waiters.append(w)
    # One element: the first waiter only; the one behind it on the shard stays blocked.
    assert c.call("RPUSH", "a", "x1") == b":1\r\n"
    waiters[0].join(5)
    assert waiters[0].reply == b"*2\r\n$1\r\na\r\n$2\r\nx1\r\n"
    time.sleep(0.3)
    assert [w.reply for w in waiters[1:]] == [None] * 4
    # Three more at once: each of the next three in turn, in order; the last waits on.
    assert c.call("RPUSH", "a", "x2", "x3", "x4") == b":3\r\n"
    for w in waiters[1:4]:
        w.join(5)
    assert [w.reply for w in waiters[1:4]] == [
        b"*2\r\n$1\r\na\r\n$2\r\nx2\r\n", b"$2\r\nx3\r\n", b"*2\r\n$1\r\na\r\n$2\r\nx4\r\n"]
    assert c.call("LRANGE", "c", "0", "-1") == b"*1\r\n$2\r\nx3\r\n"
    assert waiters[4].reply is None
    assert c.call("RPUSH", "a", "x5") == b":1\r\n"
    waiters[4].join(5)
    assert waiters[4].reply == b"*2\r\n$1\r\na\r\n$2\r\nx5\r\n"
    assert c.call("EXISTS", "a", "b") == b":0\r\n"
    c.call("DEL", "c")
    c.close()


def test_other_clients_keep_being_served_and_timeout_answers_nil(shardis_server):
    port = shardis_server.port
    w = Later(port, "BRPOP", "{n}nothing", "0.5")
    t0 = time.monotonic()
    w.start()
    c = RawClient(port)
    for i in range(20):
        assert c.call("SET", "{n}k", str(i)) == b"+OK\r\n"
    assert w.reply is None
    w.join(5)
    assert w.reply == b"*-1\r\n"
    assert 0.45 <= w.at - t0 < 2.0
    c.close()


def test_zset_and_move_waiters(shardis_server):
    port = shardis_server.port
    c = RawClient(port)
    zw = Later(port, "BZPOPMAX", "{y}z", "0")
    mw = Later(port, "BLMOVE", "{y}src", "{y}dst", "RIGHT", "LEFT", "0")
    chained = Later(port, "BLPOP", "{y}dst", "0")  # served by the BLMOVE's push
    for w in (zw, mw, chained):
        w.start()
        _wait_blocked(port, 1)
    assert c.call("ZADD", "{y}z", "1", "a", "5", "b") == b":2\r\n"
    assert c.call("RPUSH", "{y}src", "e1") == b":1\r\n"
    for w in (zw, mw, chained):
        w.join(5)
    assert zw.reply == b"*3\r\n$4\r\n{y}z\r\n$1\r\nb\r\n$1\r\n5\r\n"
    assert mw.reply == b"$2\r\ne1\r\n"
    assert chained.reply == b"*2\r\n$6\r\n{y}dst\r\n$2\r\ne1\r\n"
    assert c.call("EXISTS", "{y}src", "{y}dst") == b":0\r\n"
    c.close()


def test_pipeline_behind_a_blocked_command_waits(shardis_server):
    """Redis reads nothing more from a blocked client: the LPUSH it pipelined after
    BLPOP runs only once the BLPOP is served, so it cannot serve itself."""
    port = shardis_server.port
    c = RawClient(port)
    c.call("DEL", "{p}l")
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_command(["BLPOP", "{p}l", "0"]) + encode_command(["LPUSH", "{p}l", "own"])
              + encode_command(["PING"]))
    time.sleep(0.3)
    s.settimeout(0.2)
    with pytest.raises(socket.timeout):
        s.recv(100)
    assert c.call("LLEN", "{p}l") == b":0\r\n"
    assert c.call("RPUSH", "{p}l", "other") == b":1\r\n"
    s.settimeout(5)
    want = b"*2\r\n$4\r\n{p}l\r\n$5\r\nother\r\n:1\r\n+PONG\r\n"
    data = b""
    while len(data) < len(want):
        data += s.recv(100)
    assert data == want
    assert c.call("LRANGE", "{p}l", "0", "-1") == b"*1\r\n$3\r\nown\r\n"
    s.close()
    c.close()


def test_client_that_leaves_while_blocked_takes_nothing(shardis_server):
    port = shardis_server.port
    c = RawClient(port)
    c.call("DEL", "{g}l")
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(encode_command(["BLPOP", "{g}l", "0"]))
    time.sleep(0.3)
    s.close()
    time.sleep(0.3)
    stays = Later(port, "BLPOP", "{g}l", "0")
    stays.start()
    _wait_blocked(port, 1)
    assert c.call("RPUSH", "{g}l", "a", "b") == b":2\r\n"
    stays.join(5)
    assert stays.reply == b"*2\r\n$4\r\n{g}l\r\n$1\r\na\r\n"
    assert c.call("LRANGE", "{g}l", "0", "-1") == b"*1\r\n$1\r\nb\r\n"
    c.close()


def test_served_waiter_survives_a_crash_under_always(tmp_path):
    """The pop that serves a blocked client is logged where it happened: after SIGKILL
    and the log's replay, the list is what the clients saw."""
    server = Shardis(str(tmp_path / "data"), shards=1, durability="always").start()
    try:
        port = server.port
        w = Later(port, "BLPOP", "l", "0")
        w.start()
        _wait_blocked(port, 1)
        c = RawClient(port)
        assert c.call("RPUSH", "l", "a", "b", "c") == b":3\r\n"
        w.join(5)
        assert w.reply == b"*2\r\n$1\r\nl\r\n$1\r\na\r\n"
        assert c.call("LPOP", "l") == b"$1\r\nb\r\n"
        c.close()
        server.kill()
        server.start()
        wait_for_port(port)
        c = RawClient(port)
        assert c.call("LRANGE", "l", "0", "-1") == b"*1\r\n$1\r\nc\r\n"
        c.close()
        assert server.stop() == 0
    finally:
        server.kill()
