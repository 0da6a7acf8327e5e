"""Keys and records of ``meta``, and the ``expires`` index (see the package's docstring).

A record is header + payload. The header is type (1 byte) + expire-at ms (8,
big-endian, 0 = none) + version (8); a string's payload is its value (a long one's,
type ``CHUNKED``, is a head: ``disk.chunks``), a collection's is its head (``disk.coll``).
"""

from __future__ import annotations

import struct
from binascii import crc_hqx

from shardis.slots import key_slot

STRING, LIST, SET, ZSET, HASH = 0, 1, 2, 3, 4
STREAM = 5  # (disk.stream)
CHUNKED = 6  # a string longer than disk.chunks.INLINE_MAX: its payload is a head, its bytes in chunks
TYPE_NAMES = {STRING: "string", LIST: "list", SET: "set", ZSET: "zset", HASH: "hash", STREAM: "stream",
              CHUNKED: "string"}

HDR = struct.Struct(">BQQ")      # type, expire-at ms, version
HDR_LEN = HDR.size
EXP = struct.Struct(">Q")        # an expire-at ms, as the header and the expires keys hold it
NO_EXPIRY = b"\0" * 8            # the header's expire-at of a record without TTL
DB_PREFIX = [bytes([i]) for i in range(256)]
SLOT_BYTES = [s.to_bytes(2, "big") for s in range(16384)]
# A header without TTL before its version, by type (the inline paths build records from it).
PLAIN = [bytes([t]) + NO_EXPIRY for t in range(7)]
PLAIN_STRING = PLAIN[STRING]
PLAIN_LIST = PLAIN[LIST]
BULK_HEAD = [b"$%d\r\n" % n for n in range(4096)]  # (RESP, for get_string_resp's inline reply)


# ---------------------------------------------------------------- meta keys


def mkey(db: int, key: bytes) -> bytes:
    """The meta key of ``key`` in database ``db``: db (1) + slot (2, big-endian) + key."""
    if 123 in key:  # b"{"; an int test skips bytes.__contains__'s slow path
        return DB_PREFIX[db] + SLOT_BYTES[key_slot(key)] + key
    return DB_PREFIX[db] + SLOT_BYTES[crc_hqx(key, 0) & 0x3FFF] + key


def slot_prefix(db: int, slot: int) -> bytes:
    """Where the meta keys of one slot of ``db`` start."""
    return DB_PREFIX[db] + slot.to_bytes(2, "big")


def db_of(mk: bytes) -> int:
    return mk[0]


def slot_of(mk: bytes) -> int:
    return (mk[1] << 8) | mk[2]


def key_of(mk: bytes) -> bytes:
    return mk[3:]


def slot_key(mk: bytes) -> bytes:
    """A meta key without its database: slot + key (the same position in every database)."""
    return mk[1:]


def in_db(mk: bytes, db: int) -> bytes:
    """``mk`` moved to database ``db`` (SWAPDB)."""
    return DB_PREFIX[db] + mk[1:]


# ---------------------------------------------------------------- records


def record(type_: int, expire: int, version: int, payload: bytes) -> bytes:
    return HDR.pack(type_, expire, version) + payload


def type_of(raw: bytes) -> int:
    return raw[0]


def is_string(raw: bytes) -> bool:
    """Whether a record holds a string, kept whole (STRING) or in chunks (CHUNKED)."""
    return raw[0] == STRING or raw[0] == CHUNKED


def expire_of(raw: bytes) -> int:
    """Expire-at ms of a record, 0 when it has none."""
    return EXP.unpack_from(raw, 1)[0]


def has_expiry(raw: bytes) -> bool:
    return raw[1:9] != NO_EXPIRY


def expired(raw: bytes, now: int) -> bool:
    """Whether the record's time has come at ``now`` (ms)."""
    return raw[1:9] != NO_EXPIRY and EXP.unpack_from(raw, 1)[0] < now


def version_of(raw: bytes) -> int:
    return HDR.unpack_from(raw)[2]


def payload(raw: bytes) -> bytes:
    """What follows the header: a string's value, a collection's head."""
    return raw[HDR_LEN:]


def restamp(raw: bytes, expire: int, version: int) -> bytes:
    """The record with a new expire-at and version, type and payload kept."""
    return HDR.pack(raw[0], expire, version) + raw[HDR_LEN:]


# ---------------------------------------------------------------- the expires index


def expires_key(expire: int, mk: bytes) -> bytes:
    """The ``expires`` key of meta key ``mk`` expiring at ``expire`` ms."""
    return EXP.pack(expire) + mk


def expires_key_of(raw: bytes, mk: bytes) -> bytes:
    """The ``expires`` key of record ``raw`` (it has a TTL) stored under ``mk``."""
    return raw[1:9] + mk


def expires_at(k: bytes) -> int:
    """The expire-at ms an ``expires`` key sorts by."""
    return EXP.unpack_from(k)[0]


def expires_mkey(k: bytes) -> bytes:
    """The meta key an ``expires`` key points to."""
    return k[8:]
