"""The router's reply slots (router/replies.py), without a server."""

from __future__ import annotations

from shardis.router.replies import NOBODY, WAITING, Merger, Slot


class Owner:
    dirty = False
    flushed = 0

    def flush(self) -> None:
        self.flushed += 1

    def encode(self, value: object) -> bytes:
        return b":%d\r\n" % value


def test_merger_fills_the_parent_once_every_part_is_in():
    owner = Owner()
    parent = Slot((None, owner))
    m = Merger(parent, sum, 2)
    assert all(p[0] is WAITING for p in m.parts)
    m.parts[0][0] = 1
    m.flush()
    assert parent[0] is None and owner.flushed == 0
    m.parts[1][0] = 2
    m.flush()
    assert parent[0] == b":3\r\n" and owner.flushed == 1


def test_a_merged_reply_nobody_reads_is_dropped_quietly():
    """CONFIG RESETSTAT fans ``__info`` out with NOBODY as the owner: merging its parts
    once raised AttributeError ('Nobody' has no encode) in the router's loop."""
    parent = Slot((None, NOBODY))
    m = Merger(parent, lambda parts: parts, 1)
    m.parts[0][0] = b"x"
    m.flush()
    assert parent[0] == b""
