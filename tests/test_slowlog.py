"""SLOWLOG over every router and shard, against redis-server running the same commands."""

from __future__ import annotations

import time

import pytest

from shardis import latency
from tests.helpers import RawClient, RedisServer, Shardis, parse_reply


@pytest.fixture(scope="module")
def two_routers(tmp_path_factory):
    c = Shardis(str(tmp_path_factory.mktemp("slowlog") / "data"), shards=3, routers=2).start()
    yield c
    assert c.stop() == 0, c.log()[-3000:]


@pytest.fixture(scope="module")
def reference():
    s = RedisServer().start()
    yield s
    s.stop()


@pytest.fixture
def both(two_routers, reference):
    """A raw connection to each server; slow log settings back to the defaults after."""
    s, r = RawClient(two_routers.port), RawClient(reference.port)
    for c in (s, r):
        c.call("FLUSHALL")
    yield s, r
    for c in (s, r):
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000", "slowlog-max-len", "128")
        c.call("SLOWLOG", "RESET")
        c.close()


def call_both(s: RawClient, r: RawClient, *args) -> tuple[object, object]:
    return parse_reply(s.call(*args)), parse_reply(r.call(*args))


def router_of(c: RawClient) -> int:
    return parse_reply(c.call("CLIENT", "ID")) // 1_000_000_000


def addr_of(c: RawClient) -> bytes:
    fields = dict(f.split(b"=", 1) for f in parse_reply(c.call("CLIENT", "INFO")).split())
    return fields[b"addr"]


@pytest.mark.parametrize("args", [
    ("SLOWLOG", "HELP"), ("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "abc"),
    ("SLOWLOG", "GET", "1", "2"), ("SLOWLOG", "FOO"), ("SLOWLOG", "LEN", "x"),
    ("SLOWLOG", "RESET", "x"), ("SLOWLOG",), ("SLOWLOG", "GET", " 1"),
])
def test_help_and_errors(both, args):
    s, r = both
    got, want = s.call(*args), r.call(*args)
    assert got == want


def test_entries_as_redis(both):
    s, r = both
    for c in (s, r):
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        c.call("CLIENT", "SETNAME", "nm")
        c.call("SLOWLOG", "RESET")
    cmds = [
        ("SET", "k", "x" * 130), ("RPUSH", "l", *map(str, range(40))),
        ("MGET", "k", "a", "b", "c"),           # over several shards: the coordinator's
        ("LPUSH", "k", "x"),                    # failed: logged
        ("GET",),                               # refused: not logged
        ("NOSUCH",),
        ("MULTI",), ("SET", "t", "1"), ("INCR", "t"), ("EXEC",),  # EXEC itself is not logged
        ("MSET", "k1", "1", "k2", "2"), ("DBSIZE",), ("PING",), ("ECHO", "y" * 200),
        ("CLIENT", "SETNAME", "other"),
        ("GET", "k1"),
    ]
    for cmd in cmds:
        call_both(s, r, *cmd)
    got, want = call_both(s, r, "SLOWLOG", "GET", "-1")

    def shape(entries, addr):
        out = []
        for e in entries:
            assert len(e) == 6
            eid, when, usec, args, peer, name = e
            assert isinstance(eid, int) and isinstance(when, int) and isinstance(usec, int)
            assert usec >= 0 and peer == addr
            if args[0].upper() != b"SLOWLOG":  # (Redis logs SLOWLOG RESET after resetting)
                out.append((args, name))
        return out

    assert shape(got, addr_of(s)) == shape(want, addr_of(r))
    ids = [e[0] for e in got]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
    assert len(parse_reply(s.call("SLOWLOG", "GET"))) == 10


def test_max_len_and_off(both):
    s, r = both
    for c in (s, r):
        c.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "3")
    for i in range(10):
        call_both(s, r, "SET", f"k{i}", "v")
    assert call_both(s, r, "SLOWLOG", "LEN") == (3, 3)
    got, want = call_both(s, r, "SLOWLOG", "GET", "-1")
    assert len(got) == len(want) == 3
    # a shorter log is cut at once
    call_both(s, r, "CONFIG", "SET", "slowlog-max-len", "1")
    assert call_both(s, r, "SLOWLOG", "LEN") == (1, 1)
    # negative: nothing is logged, not even what the shards run
    call_both(s, r, "CONFIG", "SET", "slowlog-log-slower-than", "-1", "slowlog-max-len", "128")
    call_both(s, r, "SLOWLOG", "RESET")
    for i in range(5):
        call_both(s, r, "SET", f"k{i}", "v")
        call_both(s, r, "MGET", "k1", "k2", "k3")
    assert call_both(s, r, "SLOWLOG", "LEN") == (0, 0)
    # a high bound: fast commands stay out
    call_both(s, r, "CONFIG", "SET", "slowlog-log-slower-than", "5000000")
    call_both(s, r, "GET", "k1")
    assert call_both(s, r, "SLOWLOG", "LEN") == (0, 0)


def test_merged_over_routers(two_routers):
    conns = []
    for _ in range(100):  # (the second router may still be starting)
        c = RawClient(two_routers.port)
        conns.append(c)
        if {router_of(x) for x in conns} == {0, 1} and len(conns) >= 4:
            break
        time.sleep(0.05)
    try:
        assert {router_of(x) for x in conns} == {0, 1}
        conns[0].call("CONFIG", "SET", "slowlog-log-slower-than", "0")
        conns[0].call("SLOWLOG", "RESET")
        for i, c in enumerate(conns):
            c.call("SET", f"key:{i}", "v")
        for c in conns[:2]:
            entries = parse_reply(c.call("SLOWLOG", "GET", "-1"))
            keys = {e[3][1] for e in entries if e[3][0] == b"SET"}
            assert keys == {f"key:{i}".encode() for i in range(len(conns))}
            addrs = {e[3][1]: e[4] for e in entries if e[3][0] == b"SET"}
            for i, x in enumerate(conns):
                assert addrs[f"key:{i}".encode()] == addr_of(x)
            ids = [e[0] for e in entries]
            assert len(set(ids)) == len(ids)
        n = parse_reply(conns[1].call("SLOWLOG", "LEN"))
        assert n >= len(conns)
        assert parse_reply(conns[1].call("SLOWLOG", "RESET")) == b"OK"
        assert parse_reply(conns[0].call("SLOWLOG", "LEN")) <= 1  # (the LEN on its router, at most)
    finally:
        conns[0].call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        for c in conns:
            c.close()


# ---------------------------------------------------------------- LATENCY


@pytest.fixture
def lat(two_routers, reference):
    s, r = RawClient(two_routers.port), RawClient(reference.port)
    for c in (s, r):
        c.call("FLUSHALL")
        c.call("LATENCY", "RESET")
    yield s, r
    for c in (s, r):
        c.call("CONFIG", "SET", "latency-monitor-threshold", "0")
        c.call("LATENCY", "RESET")
        c.close()


@pytest.mark.parametrize("args", [
    ("LATENCY", "HISTORY"), ("LATENCY", "FOO"), ("LATENCY", "LATEST", "x"), ("LATENCY",),
    ("LATENCY", "DOCTOR", "x"), ("LATENCY", "HISTORY", "nosuch"), ("LATENCY", "LATEST"),
    ("LATENCY", "RESET"), ("LATENCY", "RESET", "nosuch"), ("LATENCY", "DOCTOR"),
    ("LATENCY", "HISTOGRAM", "nosuchcommand"), ("LATENCY", "GRAPH", "nosuch"), ("LATENCY", "GRAPH"),
    ("LATENCY", "HELP"),
])
def test_latency_replies_as_redis(lat, args):
    s, r = lat
    assert s.call(*args) == r.call(*args)


def test_latency_graph_draws_as_redis():
    # (redis-server 7.0.15's LATENCY GRAPH for one 20 ms sample of "command", just taken)
    want = ("command - high 20 ms, low 20 ms (all time high 20 ms)\n" + "-" * 80 + "\n"
            " \n \n \n_\n \n0\ns\n")
    assert latency.graph("command", [20, [[100, 20]]], 100) == want
    # two samples a minute apart, 10 and 40 ms: the higher column full, labels vertical
    got = latency.graph("x", [40, [[0, 10], [60, 40]]], 125)
    assert got.split("\n")[2:] == [" #", " |", " |", "_|", "  ", "21", "mm", ""]


def test_fsync_times_reach_the_events():
    """The fsyncs timed in a shard's threads (write-ahead log, LMDB): counted, and those at
    or over the threshold folded into the events by the shard's loop."""
    times, events = latency.SyncTimes(), {}
    times.timed("lmdb-sync", 3_000_000)  # (threshold off: counted only)
    times.fold(events)
    assert (times.count, times.ns, events) == (1, 3_000_000, {})
    times.threshold_ns = latency.threshold_ns(2)
    times.timed("aof-fsync-always", 1_000_000)
    times.timed("aof-fsync-always", 5_000_000)
    times.fold(events)
    assert times.count == 3 and list(events) == ["aof-fsync-always"]
    assert events["aof-fsync-always"][0] == 5
    times.fold(events)  # (nothing twice)
    assert len(events["aof-fsync-always"][1]) == 1


def test_latency_doctor_without_spikes(lat):
    s, r = lat
    call_both(s, r, "CONFIG", "SET", "latency-monitor-threshold", "100000")
    assert s.call("LATENCY", "DOCTOR") == r.call("LATENCY", "DOCTOR")


def test_latency_events_from_shards_routers_and_coordinator(lat):
    s, _ = lat
    s.call("RPUSH", "big", *map(str, range(30000)))
    for i in range(3):  # sets on several shards (their keys hash apart)
        s.call("SADD", f"set{i}", *(f"m{j}" for j in range(i, 30000, 3)))
    s.call("CONFIG", "SET", "latency-monitor-threshold", "1")
    s.call("SORT", "big")                       # a shard's slow command
    s.call("SUNION", "set0", "set1", "set2")    # the coordinator's round
    latest = parse_reply(s.call("LATENCY", "LATEST"))
    names = {e[0] for e in latest}
    assert {b"command", b"coordinator-round"} <= names
    for name, when, ms, high in latest:
        assert isinstance(when, int) and 1 <= ms <= high
    history = parse_reply(s.call("LATENCY", "HISTORY", "command"))
    assert history and all(len(h) == 2 and h[1] >= 1 for h in history)
    graph = parse_reply(s.call("LATENCY", "GRAPH", "command")).decode()
    assert graph.startswith("command - high ") and graph.split("\n")[1] == "-" * 80
    doctor = parse_reply(s.call("LATENCY", "DOCTOR"))
    assert doctor.startswith(b"Dave, I have observed latency spikes") and b". command: " in doctor
    hist = parse_reply(s.call("LATENCY", "HISTOGRAM", "sort", "sunion"))
    hist = dict(zip(hist[::2], hist[1::2]))
    assert set(hist) == {b"sort", b"sunion"}
    assert hist[b"sort"][:2] == [b"calls", 1]
    assert parse_reply(s.call("LATENCY", "RESET", "nosuch", "command")) == 1
    assert b"command" not in {e[0] for e in parse_reply(s.call("LATENCY", "LATEST"))}
    assert parse_reply(s.call("LATENCY", "RESET")) >= 1
    assert parse_reply(s.call("LATENCY", "LATEST")) == []
