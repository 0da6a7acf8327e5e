"""Streams: the head a stream's record holds, and its ``members``/``index`` keys.

A stream's record (type ``STREAM``) holds ``COLL`` (id, length, 0, 0, 0) followed
by ``EXT``: last id, recorded first id, max-deleted-entry-id (ms + seq each, 8 + 8),
and entries-added (8). A stream lives as a key even when empty (XDEL, XTRIM,
XGROUP CREATE MKSTREAM), so it is saved by the stream family itself, not by
``Keyspace.save_coll`` (which removes an emptied collection).

Under the stream's id (``coll.prefix``), every other key starts with a tag:

``members``  ms (8) + seq (8) -> the entry (msgpack [field, value, ...]): ID order
             is key order, so XRANGE is a cursor walk, XADD an append, trimming a
             delete from the head.
``index``    b"n" + master id (16) -> live (8), total (8), bytes (8), last id (16),
             master fields (msgpack [field, ...]): the node the entries from that
             id on belong to, as Redis groups entries into listpacks
             (stream-node-max-entries / -bytes): its live and total (live +
             deleted) entries, the exact bytes of Redis' listpack, the ID of the
             last entry added to it (deleted or not: MINID trimming judges a node
             by it, as Redis does) and the field names of its master entry (an
             entry with the same names is stored without them). Approximate
             trimming (``~``) removes whole nodes, as Redis does; XINFO counts them.
             A record of 24 bytes (live, total, bytes) is one an older shardis
             wrote, with bytes an estimate and no last id nor master fields
             (``Node.fields`` None); it is read as it is, and XADD rebuilds it
             (shardd/streams.py) when it appends to that node.
             b"g" + group -> last delivered id (16), entries-read (8, signed; -1:
             unknown), pending count (8).
             b"p" + len(group) (2) + group + entry id (16) -> delivery time (8),
             delivery count (8), consumer: the group's pending-entries list by ID.
             b"q" + len(group) (2) + group + len(consumer) (2) + consumer + entry id
             -> b"": the same list by consumer.
             b"c" + len(group) (2) + group + consumer -> seen time (8), pending
             count (8): consumers in name order.

Group and consumer names share LMDB's 511-byte key limit with the rest of the key.
"""

from __future__ import annotations

import struct

import msgpack

from shardis.shardd.disk.coll import COLL

ID = struct.Struct(">QQ")
EXT = struct.Struct(">QQQQQQQ")  # last, first, max-deleted, entries-added
NODE_OLD = struct.Struct(">QQQ")    # live, total, bytes (estimated): before exact sizes
NODE = struct.Struct(">QQQQQ")      # live, total, bytes, last id (+ master fields)
GROUP = struct.Struct(">QQqQ")      # last id, entries-read, pending
PEL = struct.Struct(">QQ")          # delivery time, delivery count (+ consumer)
CONSUMER = struct.Struct(">QQ")     # seen time, pending
LEN = struct.Struct(">H")
U64 = 2 ** 64 - 1
NODE_TAG, GROUP_TAG, PEL_TAG, CPEL_TAG, CONSUMER_TAG = b"n", b"g", b"p", b"q", b"c"


class Head:
    """A stream's own fields (``EXT``), as read from its record."""

    __slots__ = ("last", "first", "maxdel", "added")

    def __init__(self, last: tuple[int, int] = (0, 0), first: tuple[int, int] = (0, 0),
                 maxdel: tuple[int, int] = (0, 0), added: int = 0) -> None:
        self.last = last
        self.first = first
        self.maxdel = maxdel
        self.added = added


def read_head(payload: bytes) -> Head:
    """The stream fields of a record's payload (``COLL`` + ``EXT``)."""
    lm, ls, fm, fs, dm, ds, added = EXT.unpack_from(payload, COLL.size)
    return Head((lm, ls), (fm, fs), (dm, ds), added)


def head_payload(id_: int, length: int, h: Head) -> bytes:
    return COLL.pack(id_, length, 0, 0, 0) + EXT.pack(*h.last, *h.first, *h.maxdel, h.added)


def id_bytes(id_: tuple[int, int]) -> bytes:
    return ID.pack(*id_)


def bytes_id(b: bytes) -> tuple[int, int]:
    return ID.unpack(b)


def pack_entry(fields: list[bytes]) -> bytes:
    return msgpack.packb(fields, use_bin_type=True)


def unpack_entry(raw: bytes) -> list[bytes]:
    return msgpack.unpackb(raw, raw=True, use_list=True)


def node_key(master: tuple[int, int]) -> bytes:
    return NODE_TAG + ID.pack(*master)


def group_key(group: bytes) -> bytes:
    return GROUP_TAG + group


def _g(group: bytes) -> bytes:
    return LEN.pack(len(group)) + group


def pel_prefix(group: bytes) -> bytes:
    return PEL_TAG + _g(group)


def cpel_prefix(group: bytes, consumer: bytes) -> bytes:
    return CPEL_TAG + _g(group) + LEN.pack(len(consumer)) + consumer


def consumer_prefix(group: bytes) -> bytes:
    return CONSUMER_TAG + _g(group)


def pack_group(last: tuple[int, int], entries_read: int, pending: int) -> bytes:
    return GROUP.pack(last[0], last[1], entries_read, pending)


def unpack_group(raw: bytes) -> tuple[tuple[int, int], int, int]:
    lm, ls, read, pending = GROUP.unpack(raw)
    return (lm, ls), read, pending


def pack_pel(time: int, count: int, consumer: bytes) -> bytes:
    return PEL.pack(time, count) + consumer


def unpack_pel(raw: bytes) -> tuple[int, int, bytes]:
    t, n = PEL.unpack_from(raw)
    return t, n, raw[PEL.size:]


def pack_consumer(seen: int, pending: int) -> bytes:
    return CONSUMER.pack(seen, pending)


def unpack_consumer(raw: bytes) -> tuple[int, int]:
    return CONSUMER.unpack(raw)


class Node:
    """A node record: ``fields`` and ``last`` are None in one an older shardis wrote."""

    __slots__ = ("live", "total", "size", "last", "fields")

    def __init__(self, live: int, total: int, size: int, last: tuple[int, int] | None,
                 fields: list[bytes] | None) -> None:
        self.live = live
        self.total = total
        self.size = size
        self.last = last
        self.fields = fields


def pack_node(n: Node) -> bytes:
    """The record in the layout it was read in: an old one stays old until rebuilt."""
    if n.fields is None or n.last is None:
        return NODE_OLD.pack(n.live, n.total, n.size)
    return NODE.pack(n.live, n.total, n.size, n.last[0], n.last[1]) + pack_entry(n.fields)


def unpack_node(raw: bytes) -> Node:
    if len(raw) == NODE_OLD.size:
        live, total, size = NODE_OLD.unpack(raw)
        return Node(live, total, size, None, None)
    live, total, size, lm, ls = NODE.unpack_from(raw)
    return Node(live, total, size, (lm, ls), unpack_entry(raw[NODE.size:]))
