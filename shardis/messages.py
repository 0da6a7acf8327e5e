"""The messages between processes, one small class each, with its frame layout.

Every frame is one msgpack value (``wire.pack``/``wire.unpack``); ``cmds`` below is
always ``[[cmd, db, args], ...]``, ``cmd`` a command id (with the flag bits of
shardis/wire.py). Each class has ``encode() -> bytes``; each channel has one
``decode`` (a class method, or ``decode_tx`` for the coordinator's operations).
These are the frames the processes send today, byte for byte
(tests/test_wire.py decodes the literal bytes).

Router or coordinator -> shard, and shard -> sender (``Batch``, ``Replies``,
``Wakeups``); coordinator -> shard, the transaction protocol (``TxMessage``
subclasses, keyed by ``kind``) and its answer (``TxReply``); router <->
coordinator (``CoordRequests``, ``CoordReplies``).

Hot path (once per batch, nothing per command): a router writes each batch with
``Batch.frame`` and reads the replies with ``Replies.parse``; a shard decodes each
router message into one ``Batch`` (a NamedTuple: a tuple) and writes the replies
with ``Replies.frame``. Those static functions are the codec without the object
(building it would cost about as much again as the msgpack call).
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, NamedTuple, Union

from shardis import wire

_new_tuple = tuple.__new__


class Batch(NamedTuple):
    """Router or coordinator -> shard, one frame: ``[batch_id, cmds]``.

    The shard runs the commands in order, in the write transaction of its batch,
    and answers with ``Replies`` under the same ``batch_id``."""

    bid: int
    cmds: list

    @staticmethod
    def frame(bid: int, cmds: list) -> bytes:
        """``Batch(bid, cmds).encode()`` without building the object (the router's flush)."""
        return wire.pack((bid, cmds))

    def encode(self) -> bytes:
        return wire.pack(self)

    @staticmethod
    def decode(frame: bytes) -> Batch:
        # (the shard's hot path, once per message: the decoded pair as is, no field checks)
        return _new_tuple(Batch, wire.unpack(frame))


class Replies(NamedTuple):
    """Shard -> sender, one frame: ``[batch_id, [reply, ...]]``, one reply per command
    of the ``Batch``, in order (RESP bytes, or the RAW value: shardis/wire.py)."""

    bid: int
    replies: list

    @staticmethod
    def frame(bid: int, replies: list) -> bytes:
        """``Replies(bid, replies).encode()`` without building the object (hot path)."""
        return wire.pack((bid, replies))

    def encode(self) -> bytes:
        return wire.pack(self)

    @staticmethod
    def parse(frame: bytes) -> tuple[int, list]:
        """``decode`` without building the object (the router, once per batch): (batch id,
        replies); batch id 0 is a ``Wakeups``, its items in place of the replies."""
        bid, replies = wire.unpack(frame)
        return bid, replies

    @staticmethod
    def decode(frame: bytes) -> Replies:
        return Replies(*Replies.parse(frame))


class Wakeups(NamedTuple):
    """Shard -> router (or coordinator), unsolicited, one frame:
    ``[0, [[waiter_id, reply], ...]]``: blocked clients served (shardd/blocking.py).
    Batch id 0 tells it from ``Replies`` (and txid 0 from ``TxReply``): a reader of
    either gets these items under id 0 and wraps them, ``Wakeups(items)``. (To the
    coordinator, each item is ``[waiter_id, key or None]``: its stand-in waiters.)"""

    items: list

    def encode(self) -> bytes:
        return wire.pack((0, self.items))

    @staticmethod
    def decode(frame: bytes) -> Wakeups:
        zero, items = wire.unpack(frame)
        assert zero == 0, zero
        return Wakeups(items)


class SlowCalls(NamedTuple):
    """Shard -> router, unsolicited, one frame, sent just before the ``Replies`` of the
    batch it speaks of: ``[-1, [[batch_id, index, microseconds, unix_time, args], ...]]``:
    commands of that batch that took at least slowlog-log-slower-than (``index``: the
    command's place in the batch; args already cut as SLOWLOG shows them). Batch id -1
    tells it from ``Replies`` and ``Wakeups``."""

    items: list

    def encode(self) -> bytes:
        return wire.pack((SLOW_CALLS, self.items))


SLOW_CALLS = -1  # SlowCalls' batch id


# ------------------------------------------------------------ coordinator -> shard


class TxMessage:
    """Coordinator -> shard, one frame: ``[kind, txid, *fields]`` (shardis/coord). The
    shard answers with ``TxReply`` unless a subclass says otherwise."""

    kind: ClassVar[str]
    fields: ClassVar[tuple[str, ...]] = ()
    __slots__ = ("txid",)

    def __init__(self, txid: int) -> None:
        self.txid = txid

    def encode(self) -> bytes:
        return wire.pack([self.kind, self.txid, *(getattr(self, f) for f in self.fields)])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and all(
            getattr(self, f) == getattr(other, f) for f in ("txid", *self.fields))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(getattr(self, f)) for f in ('txid', *self.fields))})"


class _WithCommands(TxMessage):
    fields = ("now", "cmds")
    __slots__ = ("now", "cmds")

    def __init__(self, txid: int, now: int, cmds: list) -> None:
        super().__init__(txid)
        self.now = now
        self.cmds = cmds


class Run(_WithCommands):
    """``["run", txid, now_ms, cmds]``: run commands in transaction ``txid``, opening it
    (and locking the shard) on its first message; answers ``[txid, [reply, ...]]``."""

    kind = "run"
    __slots__ = ()


class RunCommit(_WithCommands):
    """``["runcommit", txid, now_ms, cmds]``: ``Run`` and ``Commit`` in one (a round of
    one step that writes); answers the replies once durable."""

    kind = "runcommit"
    __slots__ = ()


class Redo(_WithCommands):
    """``["redo", txid, now_ms, cmds]``: apply a logged transaction again, unless the
    shard's mark says it already was; answers like ``Commit`` (0: applied before)."""

    kind = "redo"
    __slots__ = ()


class Commit(TxMessage):
    """``["commit", txid]``: mark txid applied and commit; answers 1 once durable. The
    shard stays locked until ``Unlock``."""

    kind = "commit"
    __slots__ = ()


class Unlock(TxMessage):
    """``["unlock", txid]``: the routers' messages may run again (no answer)."""

    kind = "unlock"
    __slots__ = ()


class Release(TxMessage):
    """``["release", txid]``: the end of a read-only transaction: commit what reads did
    by the way (lazy expiry), without a mark or a log record, and unlock (no answer)."""

    kind = "release"
    __slots__ = ()


class Abort(TxMessage):
    """``["abort", txid]``: roll back and unlock; answers None."""

    kind = "abort"
    __slots__ = ()


class Hello(TxMessage):
    """``["hello", -1]``: roll back whatever is open and lock; answers the last txid
    committed on the shard (a coordinator that starts recovers with it)."""

    kind = "hello"
    __slots__ = ()

    def __init__(self, txid: int = -1) -> None:
        super().__init__(txid)


TX_KINDS: dict[str, Callable[..., TxMessage]] = {
    c.kind: c for c in (Run, RunCommit, Redo, Commit, Unlock, Release, Abort, Hello)}


class UnknownMessage(ValueError):
    """A coordinator's message of a kind this build does not know."""

    def __init__(self, kind: object, txid: Any) -> None:
        super().__init__(f"unknown operation {kind!r}")
        self.kind = kind
        self.txid = txid


def decode_tx(frame: bytes) -> TxMessage:
    """The coordinator's message in ``frame``; UnknownMessage for a kind not in TX_KINDS
    (or fields that do not fit it)."""
    kind, txid, *fields = wire.unpack(frame)
    make = TX_KINDS.get(kind)
    if make is None:
        raise UnknownMessage(kind, txid)
    try:
        return make(txid, *fields)
    except TypeError:
        raise UnknownMessage(kind, txid) from None


class TxReply(NamedTuple):
    """Shard -> coordinator, one frame: ``[txid, reply]``."""

    txid: int
    reply: Any

    def encode(self) -> bytes:
        return wire.pack([self.txid, self.reply])

    @staticmethod
    def decode(frame: bytes) -> TxReply:
        txid, reply = wire.unpack(frame)
        return TxReply(txid, reply)


# ------------------------------------------------------------ router <-> coordinator


# One request as a router sends it: (request_id, cmd, db, args), or with each key's shard.
CoordItem = Union[tuple[int, int, int, list], tuple[int, int, int, list, bytes]]


class CoordRequest(NamedTuple):
    """One request of ``CoordRequests``: ``[request_id, cmd, db, args]``, or with a
    fifth item, each key's shard as the router computed it (bytes, one per key)."""

    rid: int
    cmd: int
    db: int
    args: list
    shards: bytes | None = None


class CoordRequests(NamedTuple):
    """Router -> coordinator, one frame: ``[[request_id, cmd, db, args(, shards)], ...]``,
    a loop turn's requests. The router writes it with ``frame`` from plain tuples (a
    cross-shard command costs no object more than before)."""

    requests: list[CoordRequest]

    @staticmethod
    def frame(items: list[CoordItem]) -> bytes:
        """``CoordRequests([CoordRequest(*item) ...]).encode()`` without the objects."""
        return wire.pack(items)

    def encode(self) -> bytes:
        return CoordRequests.frame([(r.rid, r.cmd, r.db, r.args) if r.shards is None
                                    else (r.rid, r.cmd, r.db, r.args, r.shards) for r in self.requests])

    @staticmethod
    def decode(frame: bytes) -> CoordRequests:
        return CoordRequests([CoordRequest(*item) for item in wire.unpack(frame)])


class CoordReplies(NamedTuple):
    """Coordinator -> router, one frame: ``[[request_id, reply], ...]``: a reply is RESP
    bytes (EXEC's: a list of them, or None when it aborted)."""

    replies: list[list]  # [[request_id, reply], ...], as sent and as decoded

    def encode(self) -> bytes:
        return wire.pack(self.replies)

    @staticmethod
    def decode(frame: bytes) -> CoordReplies:
        return CoordReplies(wire.unpack(frame))
