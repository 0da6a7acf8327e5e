"""The ``sys`` database: every key a shard keeps about its data, and their values."""

from __future__ import annotations

import json
import struct
from typing import Any

import msgpack

from shardis.shardd.disk.keys import DB_PREFIX

U64 = struct.Struct(">Q")
COUNTS = struct.Struct(">QQ")

SLOTMAP = b"slotmap"   # json {"shards": n, "index": i}: the slot table the data was written under
COUNT = b"count"       # + db (1 byte) -> keys, keys with a TTL (8 + 8)
NEXT_ID = b"next_id"   # the next collection id (8)
LIMITS = b"limits"     # msgpack [version, {parameter: value}]: CONFIG the data was written under
APPLIED = b"applied"   # the write-ahead log's sequence number up to which batches are in LMDB (8)
TXMARK = b"txmark"     # the id of the last cross-shard transaction committed here (8)
FUNCTION = b"function:"  # + library name -> its code (FUNCTION LOAD); every shard has them all


def pack_u64(n: int) -> bytes:
    """NEXT_ID's, APPLIED's and TXMARK's values."""
    return U64.pack(n)


def unpack_u64(raw: bytes) -> int:
    return U64.unpack(raw)[0]


def count_key(db: int) -> bytes:
    return COUNT + DB_PREFIX[db]


def count_db(k: bytes) -> int | None:
    """The database a sys key counts the keys of; None for another key."""
    return k[5] if k.startswith(COUNT) and len(k) == 6 else None


def pack_counts(keys: int, expires: int) -> bytes:
    return COUNTS.pack(keys, expires)


def unpack_counts(raw: bytes) -> list[int]:
    return list(COUNTS.unpack(raw))


def pack_slotmap(shards: int, index: int) -> bytes:
    return json.dumps({"shards": shards, "index": index}).encode()


def slotmap_shards(raw: bytes) -> int:
    """The shard count a SLOTMAP value names."""
    return json.loads(raw)["shards"]


def pack_limits(version: int, values: dict[str, Any]) -> bytes:
    return msgpack.packb([version, values])


def unpack_limits(raw: bytes) -> tuple[int, dict[str, Any]]:
    version, values = msgpack.unpackb(raw)
    return version, values


def function_key(library: bytes) -> bytes:
    return FUNCTION + library


def functions(txn: Any, sys_db: Any) -> list[tuple[bytes, bytes]]:
    """Every library kept: (name, code), in name order."""
    cur = txn.cursor(db=sys_db)
    out = []
    if cur.set_range(FUNCTION):
        for k, v in cur:
            if not k.startswith(FUNCTION):
                break
            out.append((k[len(FUNCTION):], v))
    return out
