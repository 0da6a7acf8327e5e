"""MONITOR (router/monitor.py): the lines every monitor reads, compared with redis-server
7.0's after masking the time and the client's address; across two routers; a monitoring
client's own rules; a slow monitor cut off by the normal output-buffer class."""

from __future__ import annotations

import os
import re
import signal
import socket
import time

import pytest

from tests.helpers import Pair, RawClient, Shardis, encode_command
from tests.test_supervisor import role_pids, wait_role

from shardis.monitorline import line, quote
from shardis.router.monitor import redacted
from shardis.assembly import build_table

_STAMP = re.compile(rb"^\+\d+\.\d{6} \[(\d+) ([^\]]*)\]")
END = ("ECHO", "monitor-end")


def masked(raw: bytes) -> bytes:
    return _STAMP.sub(lambda m: b"+T [%s %s]" % (m[1], b"lua" if m[2] == b"lua" else b"ADDR"), raw)


def lines_until_end(conn: RawClient) -> list[bytes]:
    """The monitor's lines up to the one of ``END`` (left out), masked."""
    out = []
    while True:
        raw = conn.read_reply()
        assert raw.startswith(b"+"), raw
        if raw.endswith(b'"ECHO" "monitor-end"\r\n'):
            return out
        out.append(masked(raw))


@pytest.fixture(scope="module")
def two_routers(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("monitor") / "data"), shards=2, routers=2).start()
    yield c
    assert c.stop() == 0, c.log()[-3000:]


@pytest.fixture
def pair2(two_routers, redis_server):
    p = Pair(two_routers.port, redis_server.port)
    p.check("FLUSHALL")
    yield p
    p.close()


def on_router(port: int, index: int) -> RawClient:
    """A connection that landed on router ``index`` (client ids tell: 1 + index * 10**9 + n;
    the kernel spreads connections over the routers, one that starts late gets none yet)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        c = RawClient(port)
        cid = int(c.call("CLIENT", "ID")[1:-2])
        if (cid - 1) // 1_000_000_000 == index:
            return c
        c.close()
        time.sleep(0.02)
    raise AssertionError(f"no connection reached router {index}")


def watch_both(pair: Pair, monitors: list[RawClient], cmds: list[tuple], compare: bool = True) -> None:
    """Run ``cmds`` through the pair (replies compared unless ``compare`` is off) with a
    monitor on each server; the masked lines must be alike."""
    for c in cmds:
        if compare:
            pair.check(*c)
        else:
            pair.both(*c)
    pair.both(*END)
    got = lines_until_end(monitors[0])
    want = lines_until_end(monitors[1])
    assert b"".join(got).decode("latin-1") == b"".join(want).decode("latin-1")


@pytest.fixture
def monitors(two_routers, redis_server):
    ms = [RawClient(two_routers.port), RawClient(redis_server.port)]
    for m in ms:
        assert m.call("MONITOR") == b"+OK\r\n"
    yield ms
    for m in ms:
        m.close()


def test_quote_as_sdscatrepr():
    assert quote(b"plain text-1") == b'"plain text-1"'
    assert quote(b'a"b\\c\n\r\t\x07\x08\x00\xff\x7f ') == b'"a\\"b\\\\c\\n\\r\\t\\a\\b\\x00\\xff\\x7f "'
    assert quote(b"") == b'""'
    assert line(3, "127.0.0.1:6000", [b"GET", b"k"], 1_700_000_000_000_123_456) == \
        b'+1700000000.000123 [3 127.0.0.1:6000] "GET" "k"\r\n'


def test_redacted_arguments():
    t = build_table()
    auth, hello, migrate = (t.lookup(n) for n in (b"auth", b"hello", b"migrate"))
    assert redacted(auth, [b"AUTH", b"p"]) == [b"AUTH", b"(redacted)"]
    assert redacted(auth, [b"AUTH", b"u", b"p", b"x"]) == [b"AUTH", b"u", b"p", b"x"]
    assert redacted(hello, [b"HELLO", b"3", b"SETNAME", b"n", b"AUTH", b"u", b"p"]) == \
        [b"HELLO", b"3", b"SETNAME", b"n", b"AUTH", b"(redacted)", b"(redacted)"]
    assert redacted(migrate, [b"MIGRATE", b"h", b"1", b"", b"0", b"5", b"COPY", b"AUTH2", b"u", b"p",
                              b"KEYS", b"a"])[7:10] == [b"AUTH2", b"(redacted)", b"(redacted)"]


def test_lines_as_redis(pair2, monitors):
    odd = b'a"b\\c\n\r\t\x07\x08\x00\xff \xc3\xa9 '
    watch_both(pair2, monitors, [
        ("SET", "k", "v"), ("GET", "k"), ("KEYS", "*"), ("SET", "q", odd), ("GET", "q"),
        ("MSET", "a", "1", "b", "2"), ("MGET", "a", "b", "k"),
        ("LPUSH", "k", "x"),                     # runs, fails: shown
        ("NOSUCH", "a"), ("GET",), ("CLIENT", "NOSUCH"),  # refused: not shown
        ("CONFIG", "GET", "maxmemory"), ("CLIENT", "LIST"),  # admin: not shown
        ("CLIENT", "SETNAME", "x"), ("CLIENT", "GETNAME"), ("PING",), ("ECHO", "x"),
        ("SELECT", "1"), ("SET", "a", "1"), ("SELECT", "0"),
        ("MULTI",), ("SET", "m", "1"), ("INCR", "m"), ("SELECT", "2"), ("INCR", "m"), ("EXEC",),
        ("SELECT", "0"),
        ("MULTI",), ("SET", "m", "1"), ("DISCARD",),
        ("MULTI",), ("SET", "m"), ("EXEC",),     # a queuing error: EXEC alone
        ("EXEC",), ("DISCARD",),                 # without MULTI: shown
        ("WATCH", "m"), ("UNWATCH",),
        ("SUBSCRIBE", "ch"), ("PING",), ("GET", "k"), ("UNSUBSCRIBE", "ch"),
        ("PUBLISH", "ch", "hi"),
        ("BLPOP", "nolist", "0.01"),             # shown as it starts to wait
    ], compare=False)


@pytest.mark.parametrize("script", [
    ("EVAL", "redis.call('set', KEYS[1], '1') return redis.call('get', KEYS[1])", "1", "e"),
    ("EVAL", "redis.call('select', '3') redis.call('set', KEYS[1], '\\0x') "
             "return redis.pcall('lpush', KEYS[1], 1)", "1", "e"),
    ("EVAL", "return redis.pcall('nosuch')", "0"),  # (refused inside: no lua line)
    ("FCALL", "f", "1", "fk"),
])
def test_script_calls_follow_the_script(pair2, monitors, script):
    """A script's line, then a [db lua] line for each command it called (those come from
    the shard through the hub: the next command's line may come before them)."""
    pair2.both("FUNCTION", "LOAD", "REPLACE", "#!lua name=lib\nredis.register_function('f', "
               "function(k, a) redis.call('set', k[1], '1') return redis.call('get', k[1]) end)")
    pair2.check(*script)
    pair2.both(*END)
    want = lines_until_end(monitors[1])
    got = lines_until_end(monitors[0])
    while len(got) < len(want):  # (calls' lines still on their way)
        got.append(masked(monitors[0].read_reply()))
    assert b"".join(got).decode("latin-1") == b"".join(want).decode("latin-1")


def test_watch_aborted_exec_shows_exec_alone(pair2, monitors, two_routers, redis_server):
    others = [RawClient(two_routers.port), RawClient(redis_server.port)]
    try:
        for c, other in zip((pair2.s, pair2.r), others):
            assert c.call("WATCH", "w") == b"+OK\r\n"
            assert other.call("SET", "w", "changed") == b"+OK\r\n"
            assert c.call("MULTI") == b"+OK\r\n"
            assert c.call("INCR", "n") == b"+QUEUED\r\n"
            assert c.call("EXEC") == b"*-1\r\n"
            assert c.call("WATCH", "w") == b"+OK\r\n"
            assert c.call("MULTI") == b"+OK\r\n"
            assert c.call("INCR", "n") == b"+QUEUED\r\n"
            assert c.call("EXEC") == b"*1\r\n:1\r\n"
        watch_both(pair2, monitors, [("GET", "n")])
    finally:
        for c in others:
            c.close()


def test_secrets_redacted(pair2, monitors):
    watch_both(pair2, monitors, [
        ("AUTH", "pw"), ("AUTH", "u", "pw"), ("HELLO", "2", "AUTH", "default", "x"),
        ("HELLO", "3", "SETNAME", "n"), ("HELLO", "2"),
        ("MIGRATE", "127.0.0.1", "1", "k", "0", "10", "AUTH", "secret"),
        ("MIGRATE", "127.0.0.1", "1", "", "0", "10", "COPY", "AUTH2", "user", "secret", "KEYS", "k"),
    ], compare=False)


def test_pipelined_and_inline(pair2, monitors):
    data = b"".join(encode_command(c) for c in [("SET", "p1", "1"), ("INCR", "p1"), ("GET", "p1")])
    data += b"set inl 'a b' \"c\\x41\"\r\n"
    for c in (pair2.s, pair2.r):
        c.send_raw(data)
        for _ in range(4):
            c.read_reply()
    watch_both(pair2, monitors, [])


def test_monitoring_client_rules(pair2, monitors):
    """A monitor runs keyless commands (shown, to itself too), is refused keyspace ones,
    gets nothing for MONITOR again; RESET ends the mode."""
    sm, rm = monitors
    for args in [("GET", "k"), ("SET", "k", "1"), ("PUBLISH", "c", "m"), ("EVAL", "return 1", "0")]:
        assert sm.call(*args) == rm.call(*args) == b"-ERR Replica can't interact with the keyspace\r\n"
    for args in [("PING",), ("ECHO", "e"), ("SELECT", "1")]:
        assert sm.call(*args) == rm.call(*args), args
        # (its own line follows the reply)
        assert masked(sm.read_reply()) == masked(rm.read_reply())
    for m in monitors:
        m.send_raw(encode_command(["MONITOR"]))  # answers nothing
        assert m.call(*END).startswith(b"$11")
        lines_until_end(m)
    for m in monitors:
        assert m.call("RESET") == b"+RESET\r\n"
    pair2.check("SET", "after", "reset")
    for m in monitors:
        assert m.call("GET", "after") == b"$5\r\nreset\r\n"


def test_monitor_inside_exec_refused(pair2):
    pair2.check("MULTI")
    pair2.check("MONITOR")
    pair2.check("EXEC")
    # and a RESP2 subscriber may not
    pair2.check("SUBSCRIBE", "x")
    pair2.check("MONITOR")


def test_resp3_monitor_reads_status_lines(pair2, monitors):
    pair2.both("HELLO", "3")
    r3 = [RawClient(pair2.s.sock.getpeername()[1]), RawClient(pair2.r.sock.getpeername()[1])]
    for m in r3:
        m.call("HELLO", "3")
        assert m.call("MONITOR") == b"+OK\r\n"
    pair2.check("SET", "k3", "v")
    pair2.both(*END)
    assert lines_until_end(r3[0]) == lines_until_end(r3[1])
    for m in r3:
        m.close()


def test_across_routers_and_client_list(two_routers):
    """A command through router 1 reaches a monitor on router 0, and the other way round;
    CLIENT LIST shows the monitor (flags=O, cmd=monitor) from either router."""
    m0 = on_router(two_routers.port, 0)
    c1 = on_router(two_routers.port, 1)
    m1 = on_router(two_routers.port, 1)
    c0 = on_router(two_routers.port, 0)
    try:
        assert m0.call("MONITOR") == b"+OK\r\n"
        assert c1.call("SET", "x1", "from router 1") == b"+OK\r\n"
        assert masked(m0.read_reply()) == b'+T [0 ADDR] "SET" "x1" "from router 1"\r\n'
        assert m1.call("MONITOR") == b"+OK\r\n"
        assert c0.call("GET", "x1") == b"$13\r\nfrom router 1\r\n"
        for m in (m0, m1):
            assert masked(m.read_reply()) == b'+T [0 ADDR] "GET" "x1"\r\n'
        listing = c0.call("CLIENT", "LIST").decode()
        mine = [ln for ln in listing.splitlines() if "flags=O" in ln]
        assert len(mine) == 2 and all("cmd=monitor" in ln for ln in mine), listing
        m0.close()
        m1.close()
        # with nobody monitoring any more, commands run as before
        assert c1.call("SET", "x2", "v") == b"+OK\r\n"
        assert c0.call("CLIENT", "LIST").decode().count("flags=O") == 0
    finally:
        for c in (m0, m1, c0, c1):
            c.close()


def test_slow_monitor_cut_off(two_routers):
    """A monitor that reads nothing is closed once its output passes the normal class's
    hard limit (as Redis classes a monitor)."""
    c = RawClient(two_routers.port)
    m = RawClient(two_routers.port)
    try:
        assert c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 1mb 0 0") == b"+OK\r\n"
        assert m.call("MONITOR") == b"+OK\r\n"
        value = b"v" * 200_000
        for i in range(150):
            c.send_raw(encode_command(["SET", "big", value]))
        for i in range(150):
            assert c.read_reply() == b"+OK\r\n"
        deadline = time.monotonic() + 20  # (its lines come through the hub: a moment later)
        while "flags=O" in c.call("CLIENT", "LIST").decode() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "flags=O" not in c.call("CLIENT", "LIST").decode()
        m.sock.settimeout(10)
        with pytest.raises(ConnectionError):
            while True:  # (what the kernel took before the router gave up, then the end)
                try:
                    if not m.sock.recv(1 << 20):
                        raise ConnectionError("closed")
                except socket.timeout:
                    raise AssertionError("the monitor was not closed")
    finally:
        c.call("CONFIG", "SET", "client-output-buffer-limit", "normal 0 0 0")
        c.close()
        m.close()


def test_monitors_survive_a_coordinator_restart(two_routers):
    """The hub (in the coordinator) restarts: the routers count their monitors again, and
    lines flow once more (those fed while it was away may be lost). Last in this file:
    it restarts the module's cluster's coordinator."""
    m0 = on_router(two_routers.port, 0)
    c1 = on_router(two_routers.port, 1)
    try:
        assert m0.call("MONITOR") == b"+OK\r\n"
        assert c1.call("SET", "before", "1") == b"+OK\r\n"
        assert masked(m0.read_reply()) == b'+T [0 ADDR] "SET" "before" "1"\r\n'
        supervisor = two_routers.proc.pid
        [coordinator] = role_pids(supervisor, "shardis.coord")
        os.kill(coordinator, signal.SIGKILL)
        wait_role(supervisor, "shardis.coord", 1, exclude={coordinator})
        m0.sock.settimeout(0.2)
        deadline = time.monotonic() + 30
        seen = None
        n = 0
        while seen is None:
            assert time.monotonic() < deadline, "no line after the coordinator restarted"
            n += 1
            c1.call("SET", "after", str(n))
            try:
                seen = masked(m0.read_reply())
            except (socket.timeout, TimeoutError):
                continue
        assert seen.startswith(b'+T [0 ADDR] "SET" "after" ')
        m0.sock.settimeout(10)
        while m0.buf or seen != b'+T [0 ADDR] "SET" "after" "%d"\r\n' % n:  # (the rest of the burst)
            seen = masked(m0.read_reply())
        assert c1.call("GET", "after") == b"$%d\r\n%d\r\n" % (len(str(n)), n)
        assert masked(m0.read_reply()) == b'+T [0 ADDR] "GET" "after"\r\n'
    finally:
        m0.close()
        c1.close()
