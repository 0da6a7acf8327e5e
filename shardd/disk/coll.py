"""Collections: the head a collection's record holds, and its ``members``/``index`` keys.

The head, ``COLL`` (33 bytes after the record header): id (8), member count (8),
two integers the type uses as it needs (``a``, ``b``: a list's head and tail
positions, a sorted set's skip-list levels), and the encoding byte (OBJECT
ENCODING: 0 while Redis would use its compact encoding, 1 once it would have
converted). Every ``members``/``index`` key of a collection is its id (8,
big-endian: ``prefix``) + a suffix the type chooses.
"""

from __future__ import annotations

import struct

from shardis import errors
from shardis.resp import ReplyError
from shardis.shardd.disk.keys import HDR_LEN

COLL = struct.Struct(">QQqqB")   # collection head: id, count, a, b, encoding
ID = struct.Struct(">Q")
POS = struct.Struct(">Q")
POS_BIAS = 1 << 63               # pos_bytes' offset

# LMDB keys hold at most 511 bytes: a member key is the collection id (8) + the
# suffix, and the longest suffixes add 10 bytes to the member (sorted sets' score
# index). Longer hash fields and set/sorted-set members are refused (Redis takes
# them); list elements and values of any size are fine (they are LMDB values).
MAX_KEY = 511
MAX_MEMBER = MAX_KEY - 18


def check_members(members) -> None:
    """Refuse, before anything is written, a field or member too long to be stored."""
    for m in members:
        if len(m) > MAX_MEMBER:
            raise ReplyError(errors.MEMBER_TOO_LONG % MAX_MEMBER)


def head(raw: bytes) -> tuple[int, int, int, int, int]:
    """(id, count, a, b, encoding) of a collection's record."""
    return COLL.unpack_from(raw, HDR_LEN)


def head_bytes(id_: int, count: int, a: int, b: int, enc: int) -> bytes:
    return COLL.pack(id_, count, a, b, enc)


def coll_id(raw: bytes) -> int:
    """The id a record's payload starts with: a collection's, or a chunked string's (``disk.chunks``)."""
    return ID.unpack_from(raw, HDR_LEN)[0]


def encoding(raw: bytes) -> int:
    """The encoding byte of a collection's record (the head's last, the record's last)."""
    return raw[HDR_LEN + COLL.size - 1]


def prefix(id_: int) -> bytes:
    """What every ``members``/``index`` key of collection ``id_`` starts with."""
    return ID.pack(id_)


def prefix_of(raw: bytes) -> bytes:
    """``prefix`` of the collection whose record is ``raw``, without decoding the head."""
    return raw[HDR_LEN:HDR_LEN + 8]


def pos_bytes(pos: int) -> bytes:
    """A list position (any int64) as 8 bytes that sort in numeric order."""
    return POS.pack(pos + POS_BIAS)


def bytes_pos(b: bytes) -> int:
    return POS.unpack(b)[0] - POS_BIAS


class Coll:
    """A collection's head as read from its record: change the fields, then
    ``Keyspace.save_coll``. ``prefix`` starts every ``members``/``index`` key."""

    __slots__ = ("db", "key", "mk", "type", "id", "count", "a", "b", "enc", "expire", "prefix", "old",
                 "fresh")

    def __init__(self, db: int, key: bytes, mk: bytes, type_: int, id_: int, count: int,
                 a: int, b: int, enc: int, expire: int, old: bytes | None) -> None:
        self.db = db
        self.key = key
        self.mk = mk
        self.type = type_
        self.id = id_
        self.count = count
        self.a = a
        self.b = b
        self.enc = enc
        self.expire = expire
        self.prefix = ID.pack(id_)
        self.old = old  # the record it was read from; None for a new collection
        self.fresh = old is None  # a new key: saving it reports "new"
