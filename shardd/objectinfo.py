"""What OBJECT and MEMORY ask of the shard that owns a key (router side: router/objectcmd.py)."""

from __future__ import annotations

from itertools import islice
from typing import Callable, cast

from shardis import errors
from shardis.commands import INTERNAL, CommandTable
from shardis.resp import ReplyError, string2ll
from shardis.shardd.disk.coll import encoding
from shardis.shardd.disk.chunks import head
from shardis.shardd.disk.keys import CHUNKED, HASH, LIST, SET, STREAM, STRING, ZSET, mkey, payload, type_of
from shardis.shardd.storage import Coll, Keyspace

SHARED_INTEGERS = 10000      # Redis shares the objects of 0..9999 ...
SHARED_REFCOUNT = 2**31 - 1  # ... and reports this refcount for them
LMDB_NODE_OVERHEAD = 8       # per record in a B-tree page
MEMORY_SAMPLES = 5           # members looked at for a collection's size, as Redis' default


def string_encoding(value: bytes) -> bytes:
    """What Redis' tryObjectEncoding picks for a string of this content and size.

    (Redis also turns a string "raw" once APPEND or SETRANGE changed it; shardis
    keeps no such history, so the answer depends on the value alone.)"""
    if len(value) <= 20 and string2ll(value) is not None:
        return b"int"
    return b"embstr" if len(value) <= 44 else b"raw"


# Redis 7.0's encodings of the collections: compact, then (once converted, for
# good) the big one. The family sets the head's encoding byte when Redis would
# convert (size or element thresholds); 7.0 keeps every list a quicklist.
COLL_ENCODINGS = {HASH: (b"listpack", b"hashtable"), SET: (b"intset", b"hashtable"),
                  ZSET: (b"listpack", b"skiplist"), LIST: (b"quicklist", b"quicklist"),
                  STREAM: (b"stream", b"stream")}


def _encoding(raw: bytes) -> bytes:
    if type_of(raw) == STRING:
        return string_encoding(payload(raw))
    if type_of(raw) == CHUNKED:
        return b"raw"  # (longer than any embstr or int)
    return COLL_ENCODINGS[type_of(raw)][1 if encoding(raw) else 0]


def _refcount(raw: bytes) -> int:
    if type_of(raw) != STRING:
        return 1
    v = payload(raw)
    n = string2ll(v) if len(v) <= 20 else None
    return SHARED_REFCOUNT if n is not None and 0 <= n < SHARED_INTEGERS else 1


OBJECT: dict[bytes, Callable[[bytes], bytes | int]] = {b"encoding": _encoding, b"refcount": _refcount}


def object_(ks: Keyspace, db: int, args: list[bytes]) -> bytes | int | None:
    """[__object, subcommand, key]: nil for a missing key, as Redis answers. IDLETIME and
    FREQ read the access data the shard keeps in memory (shardd/eviction.py)."""
    ev = ks.ctx.evictor
    if ev is not None:
        ev.flush(ks)  # (the accesses of this batch so far)
    touched = len(ks.touched)
    raw = ks.lookup(db, args[2])
    del ks.touched[touched:]  # (OBJECT touches nothing: LOOKUP_NOTOUCH)
    if raw is None:
        return None
    sub = args[1]
    if sub == b"idletime":
        if ev is not None and ev.lfu:
            raise ReplyError(errors.LFU_SELECTED)
        return 0 if ev is None else ev.idle_seconds(mkey(db, args[2]), ks.now)
    if sub == b"freq":
        if ev is None or not ev.lfu:
            raise ReplyError(errors.LFU_NOT_SELECTED)
        return ev.freq(mkey(db, args[2]), ks.now)
    return OBJECT[sub](raw)


def memusage(ks: Keyspace, db: int, args: list[bytes]) -> int | None:
    """Bytes the key takes in LMDB: key, record and node header; for a collection
    also its members, estimated from the first few as Redis samples 5."""
    raw = ks.lookup(db, args[1])
    if raw is None:
        return None
    size = len(mkey(db, args[1])) + len(raw) + LMDB_NODE_OVERHEAD
    if type_of(raw) == CHUNKED:  # its bytes, and a key and a node per chunk (a sparse one: less)
        _, length, chunk = head(raw)
        return size + length + -(-length // chunk) * (16 + LMDB_NODE_OVERHEAD)
    if type_of(raw) != STRING:
        c = cast(Coll, ks.coll(db, args[1], type_of(raw)))  # (the key is live, of this type)
        sample = list(islice(ks.mrange(c), MEMORY_SAMPLES))
        if sample:
            per = sum(8 + len(k) + len(v) + LMDB_NODE_OVERHEAD for k, v in sample) / len(sample)
            size += int(per * c.count)
    return size


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """OBJECT's and MEMORY's shard-side parts (internal: the router sends them)."""
    cmd = table.command
    cmd("__object", 3, "readonly", 2, 2, 1, route=INTERNAL)(object_)
    cmd("__memusage", 2, "readonly", 1, 1, 1, route=INTERNAL)(memusage)
