"""Large strings, kept in chunks: the head a chunked string's record holds, and its chunks' keys.

A string of at most ``INLINE_MAX`` bytes is its record's payload (``disk.keys``), as it
always was: SET and GET of such a value read and write one LMDB entry. A longer one is
never one value rewritten whole: its record has the type ``CHUNKED`` and its payload is
a head, ``HEAD`` (20 bytes after the record header): an id (8, drawn from the
collection ids, so it comes first as in a collection's head and the record's members
go with it the same way), the string's length (8) and the chunk size it was written
with (4). Byte ``i`` of the string is byte ``i % size`` of chunk ``i // size``, kept in
``members`` under id (8) + chunk index (8, big-endian): ``chunk_key``.

A chunk holds at most ``size`` bytes, and may hold fewer or be absent: every byte of
the string (below its length) that no chunk holds reads as zero. So SETBIT far past
the end writes one chunk and a new length, not the zeros before it (Redis pads with
zero bytes: GET reads them back). A write touches only the chunks its range covers;
a read (GETRANGE, GETBIT) reads only those.

The size is kept per string, so a later build may choose another ``CHUNK`` and still
read what this one wrote. A string only becomes chunked by growing past
``INLINE_MAX`` (SET of a long value, APPEND, SETRANGE, SETBIT, BITFIELD) and stays so
until it is replaced (SET) or deleted, which deletes its chunks with it.
"""

from __future__ import annotations

import struct

from shardis.shardd.disk.keys import HDR_LEN

# 16 KiB less LMDB's 16-byte overflow page header: a full chunk fills four 4 KiB pages
# exactly. Rewriting one costs about what rewriting a 1 KB value does (measured beside
# 64 KiB chunks, which cost three times as much a write).
CHUNK = 4 * 4096 - 16
INLINE_MAX = CHUNK      # longer strings are chunked

HEAD = struct.Struct(">QQI")     # id, length, chunk size
INDEX = struct.Struct(">Q")      # a chunk's index, after the id


def head(raw: bytes) -> tuple[int, int, int]:
    """(id, length, chunk size) of a chunked string's record."""
    return HEAD.unpack_from(raw, HDR_LEN)


def head_bytes(id_: int, length: int, size: int) -> bytes:
    return HEAD.pack(id_, length, size)


def length_of(raw: bytes) -> int:
    """The length of the string a chunked record holds."""
    return INDEX.unpack_from(raw, HDR_LEN + 8)[0]


def chunk_key(prefix: bytes, index: int) -> bytes:
    """The ``members`` key of chunk ``index`` of the string whose id ``prefix`` packs (``coll.prefix``)."""
    return prefix + INDEX.pack(index)


def chunk_index(k: bytes) -> int:
    """The chunk index a ``members`` key of a chunked string names."""
    return INDEX.unpack_from(k, 8)[0]
