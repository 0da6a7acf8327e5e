"""Replies a router gives later: once the hub, or every shard, has answered."""

from __future__ import annotations

import time
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


def answer_timed(conn, args: list[bytes]) -> tuple[Slot, Callable[[bytes], None]]:
    """answer_later for a command Redis runs whole inside its call (SAVE): it counts
    (INFO commandstats, SLOWLOG, LATENCY) once its reply is in, its time running until
    then, rather than when its handler returns (``Client.counts_itself``)."""
    slot, fill = answer_later(conn)
    router = conn.router
    spec = router.table.lookup(args[0])
    t0 = time.perf_counter_ns()
    conn.counts_itself = spec is not None

    def done(reply: bytes) -> None:
        if spec is not None:
            err = reply[1:200].decode("latin-1") if reply[:1] == b"-" else None
            router.command_done(spec, args, time.perf_counter_ns() - t0, err, conn)
        fill(reply)

    return slot, done
