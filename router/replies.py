"""Where a client's reply waits: ``Slot`` (filled by a shard's, the coordinator's or the
router's own reply), ``Merger`` (the parts of a command split over shards), and the
unknown-command error every path gives."""

from __future__ import annotations

from typing import Protocol

from shardis import errors, wire
from shardis.resp import ReplyError, encode_error


class ErrorCounter(Protocol):
    """What counts an error reply (INFO errorstats): the router."""

    def count_error(self, msg: str) -> None: ...


class Owner(Protocol):
    """Who a slot's reply is for: told (``flush``) once it is filled, unless ``dirty``
    says it will look anyway (a client, a Merger, an internal fan-out's Then ...)."""

    dirty: bool

    def flush(self) -> None: ...


class Slot(list):
    """A reply to come: ``[resp_bytes or None, owner]``; owner has ``dirty`` and ``flush``."""

    __slots__ = ()


class _Waiting:
    """What a Merger part holds until its reply arrives (a RAW reply may be None)."""

    __slots__ = ()


WAITING = _Waiting()


class Merger:
    """Collects the RAW parts of one command split over shards, then fills the parent slot."""

    __slots__ = ("parts", "parent", "merge", "dirty", "router")

    def __init__(self, parent: Slot, merge, n: int, router: ErrorCounter | None = None) -> None:
        self.parent = parent
        self.merge = merge
        self.parts = [Slot((WAITING, self)) for _ in range(n)]
        self.dirty = False
        self.router = router  # counts an error reply (INFO errorstats), when given

    def flush(self) -> None:
        self.dirty = False
        if any(p[0] is WAITING for p in self.parts):
            return
        values = [p[0] for p in self.parts]
        for v in values:
            err = wire.raw_error(v)
            if err is not None:
                reply = encode_error(err.args[0])
                break
        else:
            try:
                reply = self.parent[1].encode(self.merge(values))
            except ReplyError as e:
                reply = encode_error(e.args[0])
        if reply[:1] == b"-" and self.router is not None:
            self.router.count_error(reply[1:40].decode("latin-1"))
        self.deliver(reply)

    def deliver(self, reply: bytes) -> None:
        """Fill the client's slot with the finished reply and let the client write."""
        parent = self.parent
        parent[0] = reply
        owner = parent[1]
        if not owner.dirty:
            owner.dirty = True
            owner.flush()


class Nobody:
    """Owner of a reply nobody reads (``__unblock``, ``__unwatch``, CONFIG RESETSTAT's
    ``__info``): a merged reply is encoded as for a client, then dropped."""

    __slots__ = ()
    dirty = True  # never flushed

    def flush(self) -> None:
        pass

    def encode(self, value: object) -> bytes:
        return b""


NOBODY = Nobody()


def unknown_command(args: list[bytes]) -> bytes:
    """Redis' unknown-command error: raw bytes, each part cut at a NUL (C strings),
    the name at 128 bytes, arguments added while the list is under 128 bytes."""
    name = args[0].split(b"\0", 1)[0][:128]
    rest = b""
    for a in args[1:]:
        if len(rest) >= 128:
            break
        rest += b"'" + a.split(b"\0", 1)[0][:128 - len(rest)] + b"' "
    return errors.UNKNOWN_COMMAND.encode() % (name, rest)
