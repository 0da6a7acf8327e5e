"""Replies a router gives later: once the hub, or every shard, has answered."""

from __future__ import annotations

from typing import Callable

from shardis.router.replies import Slot
from shardis.resp import OK, Simple, encode


class Then:
    """Owner of an internal fan-out's slot: calls ``then(reply)`` once every shard answered."""

    __slots__ = ("dirty", "then", "slot", "encode")

    def __init__(self, then: Callable[[bytes], None], encoder: Callable = encode) -> None:
        self.dirty = False
        self.then = then
        self.slot: Slot | None = None
        self.encode = encoder  # what Merger encodes the merged value with

    def flush(self) -> None:
        self.dirty = False
        assert self.slot is not None, "flushed before its fan-out was sent"
        self.then(self.slot[0])


def all_ok(values: list) -> Simple:
    """A fan-out's merged reply when every shard answered OK."""
    return OK


def answer_later(conn) -> tuple[Slot, Callable[[bytes], None]]:
    """A reply slot for ``conn`` and the function that fills it."""
    slot = Slot((None, conn))

    def fill(reply: bytes) -> None:
        slot[0] = reply
        if not conn.dirty:
            conn.dirty = True
            conn.flush()

    return slot, fill
