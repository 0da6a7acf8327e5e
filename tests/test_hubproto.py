"""The pub/sub hub's protocol (shardis/hubproto.py): each op round-trips through the
codec and decodes from the literal bytes routers, shards and the hub send (the frames
stay byte-identical to the int-tagged tuples they sent before); ops that do not fit
decode as Unreadable; each receiving side dispatches every op meant for it; and the
hub, run without its socket, answers as the protocol says."""

from __future__ import annotations

import collections
import time
import types
import typing

import pytest
import zmq

from shardis import hubproto as h
from shardis import wire
from shardis.config import Config
from shardis.coord.hub import Hub
from shardis.router.pubsub import PubSub
from shardis.shardd.daemon import HUB_HANDLERS

# (op, the one-op frame's literal bytes, the op as the sending code built it before)
TABLE = [
    (h.Hello({"maxmemory": 100}), b"\x91\x92\x00\x81\xa9maxmemoryd", (h.HELLO, {"maxmemory": 100})),
    (h.Count(h.PATTERN, b"n*", 2), b"\x91\x94\x01\x01\xc4\x02n*\x02", (h.COUNT, h.PATTERN, b"n*", 2)),
    (h.Sync(7), b"\x91\x92\x02\x07", (h.SYNC, 7)),
    (h.Publish(8, h.SHARD, b"ch", b"hi"), b"\x91\x95\x03\x08\x02\xc4\x02ch\xc4\x02hi",
     (h.PUBLISH, 8, h.SHARD, b"ch", b"hi")),
    # (the router sent QUERY's argument as a tuple; it travels, and decodes, as a list)
    (h.Query(9, h.Q_NUMSUB, [h.CHANNEL, [b"a", b"b"]]), b"\x91\x94\x04\x09\x01\x92\x00\x92\xc4\x01a\xc4\x01b",
     (h.QUERY, 9, h.Q_NUMSUB, (h.CHANNEL, [b"a", b"b"]))),
    (h.Query(9, h.Q_STATS, None), b"\x91\x94\x04\x09\x03\xc0", (h.QUERY, 9, h.Q_STATS, None)),
    (h.Set(10, {"notify-keyspace-events": "KEA"}),
     b"\x91\x93\x05\x0a\x81\xb6notify-keyspace-events\xa3KEA",
     (h.SET, 10, {"notify-keyspace-events": "KEA"})),
    (h.Configured(1700000000000000000), b"\x91\x92\x07\xcf\x17\x97\x9c\xfe6*\x00\x00",
     (h.CONFIGURED, 1700000000000000000)),
    (h.Notify([[b"__keyspace@0__:k", b"set"]]), b"\x91\x92\x06\x91\x92\xc4\x10__keyspace@0__:k\xc4\x03set",
     (h.NOTIFY, [[b"__keyspace@0__:k", b"set"]])),
    (h.Message(b"ch", b"hi"), b"\x91\x93\x0a\xc4\x02ch\xc4\x02hi", (h.MESSAGE, b"ch", b"hi")),
    (h.PMessage(b"c*", b"ch", b"hi"), b"\x91\x94\x0b\xc4\x02c*\xc4\x02ch\xc4\x02hi",
     (h.PMESSAGE, b"c*", b"ch", b"hi")),
    (h.SMessage(b"ch", b"hi"), b"\x91\x93\x0c\xc4\x02ch\xc4\x02hi", (h.SMESSAGE, b"ch", b"hi")),
    (h.Answer(8, 2), b"\x91\x93\x0d\x08\x02", (h.ANSWER, 8, 2)),
    (h.Answer(8, [b"ch", 1]), b"\x91\x93\x0d\x08\x92\xc4\x02ch\x01", (h.ANSWER, 8, [b"ch", 1])),
    (h.Configure({"maxmemory": 100}, 5), b"\x91\x93\x0e\x81\xa9maxmemoryd\x05",
     (h.CONFIG, {"maxmemory": 100}, 5)),
    (h.Poll(11, [0, 1], ["unblock", 5, False]), b"\x91\x94\x08\x0b\x92\x00\x01\x93\xa7unblock\x05\xc2",
     (h.POLL, 11, [0, 1], ["unblock", 5, False])),
    (h.Tell(3, 1), b"\x91\x93\x09\x03\x01", (h.TELL, 3, 1)),
    (h.Ask(3, ["kill", [None, None, b"pubsub", 0, None], 7]),
     b"\x91\x93\x0f\x03\x93\xa4kill\x95\xc0\xc0\xc4\x06pubsub\x00\xc0\x07",
     (h.ASK, 3, ["kill", [None, None, b"pubsub", 0, None], 7])),
    (h.Monitor(2), b"\x91\x92\x10\x02", (h.MONITOR, 2)),
    (h.Feed([b'+1.000002 [0 a:1] "PING"\r\n']), b'\x91\x92\x11\x91\xc4\x1a+1.000002 [0 a:1] "PING"\r\n',
     (h.FEED, [b'+1.000002 [0 a:1] "PING"\r\n'])),
    (h.Monitoring([0, 1]), b"\x91\x92\x12\x92\x00\x01", (h.MONITORING, [0, 1])),
    (h.Lines([b"+x\r\n"]), b"\x91\x92\x13\x91\xc4\x04+x\r\n", (h.LINES, [b"+x\r\n"])),
    (h.Oom(True), b"\x91\x92\x14\xc3", (h.OOM, True)),
    (h.OomShards([0, 2]), b"\x91\x92\x15\x92\x00\x02", (h.OOMSHARDS, [0, 2])),
]


@pytest.mark.parametrize("op,frame,sent", TABLE, ids=[type(t[0]).__name__ for t in TABLE])
def test_each_op_round_trips_and_matches_the_frames_sent(op, frame, sent):
    assert wire.pack([sent]) == frame  # what the sending code packed before
    assert h.encode([op]) == frame
    assert h.decode(frame) == [op]
    assert type(h.decode(frame)[0]) is type(op)


def test_every_op_is_in_the_table_with_a_code_of_its_own():
    classes = set(typing.get_args(h.ToHub)) | set(typing.get_args(h.FromHub))
    assert {type(t[0]) for t in TABLE} == classes == set(h.OPS.values())
    assert len(set(h.OPS.values())) == len(h.OPS)
    for op, _, sent in TABLE:
        assert h.OPS[op.code] is type(op) and op.code == sent[0] and op._fields[0] == "code"


def test_a_frame_holds_several_ops_in_order():
    ops = [h.Hello({}), h.Count(h.CHANNEL, b"a", 1), h.Sync(1)]
    frame = h.encode(ops)
    assert frame == wire.pack([(h.HELLO, {}), (h.COUNT, h.CHANNEL, b"a", 1), (h.SYNC, 1)])
    assert h.decode(frame) == ops


def test_ops_that_do_not_fit_decode_as_unreadable_and_the_rest_still_decode():
    frame = wire.pack([[99, 1], [h.SYNC], [h.SYNC, 1, 2], [], 5, [[1], 2], [h.SYNC, 3]])
    assert h.decode(frame) == [h.Unreadable([99, 1]), h.Unreadable([h.SYNC]), h.Unreadable([h.SYNC, 1, 2]),
                               h.Unreadable([]), h.Unreadable(5), h.Unreadable([[1], 2]), h.Sync(3)]
    with pytest.raises(ValueError):
        h.decode(wire.pack(5))
    with pytest.raises(ValueError):
        h.decode(b"\xc1")  # (not msgpack)


def test_each_side_dispatches_every_op_meant_for_it():
    ctx = zmq.Context.instance()
    hub = Hub(Config(), ctx)
    ps = PubSub(types.SimpleNamespace(cfg=Config(), ctx=ctx, index=0))  # (its hub socket, unconnected)
    try:
        assert set(hub.handlers) == set(typing.get_args(h.ToHub))
        assert set(ps.handlers) == set(typing.get_args(h.FromHub))
    finally:
        hub.sock.close(0)
        ps.sock.close(0)
    assert set(HUB_HANDLERS) == {h.Configure, h.Monitoring}  # (a shard takes the settings and who monitors)


# ---------------------------------------------------------------- the hub, without its socket

R1, R2, S0 = h.router_identity(1), h.router_identity(2), h.shard_identity(0)


@pytest.fixture
def hub():
    hub = Hub(Config(), zmq.Context.instance())
    yield hub
    hub.sock.close(0)


def run(hub: Hub, *frames: tuple[bytes, list]) -> dict[bytes, list]:
    """Each (peer, ops) through the hub's ``handle``: what it sends back, per peer."""
    out: dict[bytes, list] = {}
    for ident, ops in frames:
        got: dict = collections.defaultdict(list)
        hub.handle(ident, h.encode(ops), got)
        for peer, back in got.items():
            out.setdefault(peer, []).extend(back)
    return out


def test_the_hub_answers_each_op_as_the_protocol_says(hub):
    out = run(hub, (R1, [h.Hello({}), h.Count(h.CHANNEL, b"ch", 2), h.Count(h.PATTERN, b"c*", 1),
                         h.Sync(1)]))
    assert out == {R1: [h.Configure({}, 0), h.Answer(1, None)]}
    out = run(hub, (R2, [h.Hello({}), h.Publish(5, h.CHANNEL, b"ch", b"hi"),
                         h.Query(6, h.Q_NUMSUB, [h.CHANNEL, [b"ch", b"x"]]), h.Query(7, h.Q_STATS, None)]))
    assert out == {R1: [h.Message(b"ch", b"hi"), h.PMessage(b"c*", b"ch", b"hi")],
                   R2: [h.Configure({}, 0), h.Answer(5, 3), h.Answer(6, [b"ch", 2, b"x", 0]),
                        h.Answer(7, [1, 1, 0])]}
    out = run(hub, (S0, [h.Notify([[b"ch", b"ev"]])]))
    assert out == {R1: [h.Message(b"ch", b"ev"), h.PMessage(b"c*", b"ch", b"ev")]}
    # SET: CONFIG to every peer; its answer once both routers said CONFIGURED
    out = run(hub, (R1, [h.Set(8, {"maxmemory-policy": "allkeys-lru"})]))
    version = hub.version
    assert out == {R1: [h.Configure({"maxmemory-policy": "allkeys-lru"}, version)],
                   R2: [h.Configure({"maxmemory-policy": "allkeys-lru"}, version)]}
    assert run(hub, (R1, [h.Configured(version)])) == {}
    assert run(hub, (R2, [h.Configured(version)])) == {R1: [h.Answer(8, version)]}


def test_the_hub_gathers_a_poll_from_the_routers_named(hub, monkeypatch):
    run(hub, (R1, [h.Hello({})]), (R2, [h.Hello({})]), (S0, [h.Hello({})]))
    # every router (not the shard), the asker too; the answer once both told, by index
    out = run(hub, (R1, [h.Poll(4, None, ["list"])]))
    assert out == {R1: [h.Ask(1, ["list"])], R2: [h.Ask(1, ["list"])]}
    assert run(hub, (R2, [h.Tell(1, [b"two"])])) == {}
    assert run(hub, (R1, [h.Tell(1, [b"one"])])) == {R1: [h.Answer(4, [[1, [b"one"]], [2, [b"two"]]])]}
    assert run(hub, (R1, [h.Tell(1, [b"late"])])) == {}
    # the routers named; none that is known: answered at once, with nothing
    assert run(hub, (R1, [h.Poll(5, [2], 7)])) == {R2: [h.Ask(2, 7)]}
    assert run(hub, (R2, [h.Tell(2, 1)])) == {R1: [h.Answer(5, [[2, 1]])]}
    assert run(hub, (R2, [h.Poll(6, [9], 7)])) == {R2: [h.Answer(6, [])]}
    # a router that restarts, or stays silent past POLL_WAIT, is left out
    run(hub, (R1, [h.Poll(7, None, 8)]))
    assert run(hub, (R2, [h.Hello({})])) == {R2: [h.Configure({}, 0)]}
    assert run(hub, (R1, [h.Tell(3, 1)])) == {R1: [h.Answer(7, [[1, 1]])]}
    run(hub, (R1, [h.Poll(8, None, 9)]))
    assert hub._next_deadline() is not None
    monkeypatch.setattr(time, "monotonic", lambda: hub._next_deadline() + 1)
    late: dict = collections.defaultdict(list)
    hub._gathered(None, late)
    assert late == {R1: [h.Answer(8, [])]} and hub._next_deadline() is None


def test_the_hub_tells_the_routers_who_monitors_and_passes_lines_on(hub):
    run(hub, (R1, [h.Hello({})]), (R2, [h.Hello({})]), (S0, [h.Hello({})]))
    # the first monitor anywhere: every peer hears (shards feed their scripts' calls); a
    # second changes nothing
    assert run(hub, (R2, [h.Monitor(1)])) == {R1: [h.Monitoring([2])], R2: [h.Monitoring([2])],
                                              S0: [h.Monitoring([2])]}
    assert run(hub, (R2, [h.Monitor(2)])) == {}
    # lines go to the routers with monitors, the sender too
    assert run(hub, (R1, [h.Feed([b"+a\r\n"])])) == {R2: [h.Lines([b"+a\r\n"])]}
    assert run(hub, (S0, [h.Feed([b"+l\r\n"])])) == {R2: [h.Lines([b"+l\r\n"])]}
    assert run(hub, (R2, [h.Feed([b"+b\r\n"])])) == {R2: [h.Lines([b"+b\r\n"])]}
    # a router that restarts (HELLO) holds none; one that says HELLO hears who monitors
    r3 = h.router_identity(3)
    assert run(hub, (r3, [h.Hello({})])) == {r3: [h.Configure({}, 0), h.Monitoring([2])]}
    out = run(hub, (R2, [h.Hello({})]))
    assert out == {R2: [h.Configure({}, 0), h.Monitoring([])], R1: [h.Monitoring([])],
                   r3: [h.Monitoring([])], S0: [h.Monitoring([])]}
    assert run(hub, (R1, [h.Monitor(1)]))[R1] == [h.Monitoring([1])]
    assert run(hub, (R1, [h.Monitor(0)]))[R2] == [h.Monitoring([])]


def test_the_hub_tells_the_routers_which_shards_are_out_of_memory(hub):
    s1 = h.shard_identity(1)
    run(hub, (R1, [h.Hello({})]), (S0, [h.Hello({})]), (s1, [h.Hello({})]))
    # a change reaches every router (not the shards); a repeat nothing
    assert run(hub, (s1, [h.Oom(True)])) == {R1: [h.OomShards([1])]}
    assert run(hub, (s1, [h.Oom(True)])) == {}
    assert run(hub, (S0, [h.Oom(True)])) == {R1: [h.OomShards([0, 1])]}
    # a router that says HELLO hears it; a shard that restarts is not out of memory
    assert run(hub, (R2, [h.Hello({})])) == {R2: [h.Configure({}, 0), h.OomShards([0, 1])]}
    out = run(hub, (S0, [h.Hello({})]))
    assert out[R1] == out[R2] == [h.OomShards([1])]
    assert run(hub, (R1, [h.Oom(True)])) == {}  # (only shards say it)
    assert run(hub, (s1, [h.Oom(False)])) == {R1: [h.OomShards([])], R2: [h.OomShards([])]}


def test_the_hub_logs_an_op_it_does_not_take_and_runs_the_rest(hub, caplog):
    frame = wire.pack([[99], (h.ANSWER, 1, 2), (h.SYNC, 4)])
    out: dict = collections.defaultdict(list)
    hub.handle(R1, frame, out)
    assert out == {R1: [h.Answer(4, None)]}
    assert "unknown operation 99" in caplog.text and "unknown operation 'Answer'" in caplog.text
