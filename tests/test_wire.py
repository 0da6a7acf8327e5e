"""The messages between processes (shardis/messages.py): each one round-trips through
its codec, and decodes from the literal bytes the processes send (the frames stay
byte-identical to what routers, the coordinator and shards exchanged before)."""

from __future__ import annotations

import pytest

from shardis import messages as m
from shardis import wire

GET = [3, 0, [b"get", b"k"]]
RUN_FRAME = b"\x93\x03\x00\x92\xc4\x03get\xc4\x01k"  # [GET], packed, after the array header

# (message, the frame's literal bytes, the message as the sending code builds it today)
TABLE = [
    (m.Batch(7, [GET, [3 | wire.RAW, 1, [b"set", b"k", b"v"]]]),
     b"\x92\x07\x92\x93\x03\x00\x92\xc4\x03get\xc4\x01k\x93\xce\x00\x01\x00\x03\x01\x93\xc4\x03set"
     b"\xc4\x01k\xc4\x01v",
     (7, [GET, [3 | wire.RAW, 1, [b"set", b"k", b"v"]]])),
    (m.Replies(7, [b"$1\r\nv\r\n", b"+OK\r\n"]),
     b"\x92\x07\x92\xc4\x07$1\r\nv\r\n\xc4\x05+OK\r\n", (7, [b"$1\r\nv\r\n", b"+OK\r\n"])),
    (m.Wakeups([[12, b":1\r\n"]]), b"\x92\x00\x91\x92\x0c\xc4\x04:1\r\n", (0, [[12, b":1\r\n"]])),
    (m.Run(5, 1000, [GET]), b"\x94\xa3run\x05\xcd\x03\xe8\x91" + RUN_FRAME, ["run", 5, 1000, [GET]]),
    (m.RunCommit(5, 1000, [GET]), b"\x94\xa9runcommit\x05\xcd\x03\xe8\x91" + RUN_FRAME,
     ["runcommit", 5, 1000, [GET]]),
    (m.Redo(5, 1000, [GET]), b"\x94\xa4redo\x05\xcd\x03\xe8\x91" + RUN_FRAME, ["redo", 5, 1000, [GET]]),
    (m.Commit(5), b"\x92\xa6commit\x05", ["commit", 5]),
    (m.Unlock(0), b"\x92\xa6unlock\x00", ["unlock", 0]),
    (m.Release(5), b"\x92\xa7release\x05", ["release", 5]),
    (m.Abort(5), b"\x92\xa5abort\x05", ["abort", 5]),
    (m.Hello(), b"\x92\xa5hello\xff", ["hello", -1]),
    (m.TxReply(5, 1), b"\x92\x05\x01", [5, 1]),
    (m.CoordRequests([m.CoordRequest(1, 3, 0, [b"get", b"k"]),
                      m.CoordRequest(2, 4, 0, [b"mget", b"a", b"b"], b"\x00\x01")]),
     b"\x92\x94\x01\x03\x00\x92\xc4\x03get\xc4\x01k\x95\x02\x04\x00\x93\xc4\x04mget\xc4\x01a\xc4\x01b"
     b"\xc4\x02\x00\x01",
     [[1, 3, 0, [b"get", b"k"]], [2, 4, 0, [b"mget", b"a", b"b"], bytes([0, 1])]]),
    (m.CoordReplies([[1, b"+OK\r\n"], [2, [b"+OK\r\n", b":1\r\n"]], [3, None]]),
     b"\x93\x92\x01\xc4\x05+OK\r\n\x92\x02\x92\xc4\x05+OK\r\n\xc4\x04:1\r\n\x92\x03\xc0",
     [(1, b"+OK\r\n"), (2, [b"+OK\r\n", b":1\r\n"]), (3, None)]),
]


def decode(msg, frame: bytes):
    """The codec of ``msg``'s channel."""
    if isinstance(msg, m.TxMessage):
        return m.decode_tx(frame)
    return type(msg).decode(frame)


@pytest.mark.parametrize("msg,frame,sent", TABLE, ids=[type(t[0]).__name__ for t in TABLE])
def test_each_message_round_trips_and_matches_the_frames_sent(msg, frame, sent):
    assert wire.pack(sent) == frame  # what the sending code packs today
    assert msg.encode() == frame
    assert decode(msg, frame) == msg
    assert decode(msg, msg.encode()) == msg


def test_every_coordinator_operation_is_in_the_table():
    kinds = {type(t[0]) for t in TABLE if isinstance(t[0], m.TxMessage)}
    assert kinds == set(m.TX_KINDS.values())
    assert all(k.kind == name for name, k in m.TX_KINDS.items())


def test_the_hot_path_codec_is_the_codec():
    cmds = [GET]
    assert m.Batch.frame(7, cmds) == m.Batch(7, cmds).encode()
    assert m.Replies.frame(7, [b"+OK\r\n"]) == m.Replies(7, [b"+OK\r\n"]).encode()
    assert m.Replies.parse(m.Replies.frame(7, [b"+OK\r\n"])) == (7, [b"+OK\r\n"])
    items = [(1, 3, 0, [b"get", b"k"]), (2, 4, 0, [b"mget", b"a", b"b"], b"\x00\x01")]
    assert m.CoordRequests.frame(items) == m.CoordRequests([m.CoordRequest(*i) for i in items]).encode()


def test_wakeups_read_as_a_reply_to_batch_or_transaction_zero():
    frame = m.Wakeups([[12, b":1\r\n"]]).encode()
    bid, items = m.Replies.parse(frame)
    assert bid == 0 and m.Wakeups(items) == m.Wakeups.decode(frame)
    txid, items = m.TxReply.decode(frame)
    assert txid == 0 and m.Wakeups(items) == m.Wakeups.decode(frame)


def test_an_unknown_operation_is_reported_with_its_txid():
    with pytest.raises(m.UnknownMessage) as e:
        m.decode_tx(wire.pack(["fly", 9]))
    assert e.value.txid == 9 and str(e.value) == "unknown operation 'fly'"
    with pytest.raises(m.UnknownMessage):
        m.decode_tx(wire.pack(["run", 9]))  # (fields missing)
