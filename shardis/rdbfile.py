"""Redis' RDB file (version 10, as Redis 7.0 writes it): the pieces a snapshot is
written with, and a reader of whole files for ``shardis-server --restore``.

A file is ``REDIS0010``, aux fields (``0xFA`` name value), the FUNCTION libraries
(``0xF5`` code), then per database ``0xFE`` db + ``0xFB`` keys expires, then per key
[``0xFC`` expire-at ms, 8 bytes little-endian] type key value, then ``0xFF`` and the
CRC-64 (little-endian) of every byte before it. A key's type and value are what DUMP
gives (shardis/rdb.py) without its footer.

A snapshot is written in pieces (shardd/snapshot.py writes each shard's records,
shardis/coord/saver.py puts the file together); this module only lays out bytes.
"""

from __future__ import annotations

import struct
from typing import Iterator, NamedTuple

from shardis import rdb

MAGIC = b"REDIS%04d" % rdb.RDB_VERSION

OP_FUNCTION2 = 0xF5
OP_FUNCTION_PRE_GA = 0xF6
OP_MODULE_AUX = 0xF7
OP_IDLE = 0xF8
OP_FREQ = 0xF9
OP_AUX = 0xFA
OP_RESIZEDB = 0xFB
OP_EXPIRETIME_MS = 0xFC
OP_EXPIRETIME = 0xFD
OP_SELECTDB = 0xFE
OP_EOF = 0xFF

_MS = struct.Struct("<q")
_CRC = struct.Struct("<Q")


# ---------------------------------------------------------------- writing


def aux(name: bytes, value: bytes) -> bytes:
    """An aux field (rdbSaveAuxField: both as rdbSaveRawString writes them)."""
    return bytes((OP_AUX,)) + rdb.save_string(name) + rdb.save_string(value)


def header(aux_fields: list[tuple[bytes, bytes]]) -> bytes:
    return MAGIC + b"".join(aux(k, v) for k, v in aux_fields)


def function(code: bytes) -> bytes:
    """A FUNCTION library (its whole code, ``#!lua name=...`` line included)."""
    return bytes((OP_FUNCTION2,)) + rdb.save_string(code)


def db_header(db: int, keys: int, expires: int) -> bytes:
    return (bytes((OP_SELECTDB,)) + rdb.encode_length(db) + bytes((OP_RESIZEDB,))
            + rdb.encode_length(keys) + rdb.encode_length(expires))


def key_record(key: bytes, body: bytes, expire_ms: int) -> bytes:
    """One key: ``body`` is its DUMP payload without the footer (type byte + value)."""
    head = bytes((OP_EXPIRETIME_MS,)) + _MS.pack(expire_ms) if expire_ms else b""
    return head + body[:1] + rdb.save_string(key, False) + body[1:]


def trailer(crc: int) -> bytes:
    """EOF and the checksum; ``crc`` is the CRC-64 of everything before the EOF byte,
    which this adds to it."""
    return bytes((OP_EOF,)) + _CRC.pack(rdb.crc64(bytes((OP_EOF,)), crc))


# ---------------------------------------------------------------- reading


class Key(NamedTuple):
    db: int
    key: bytes
    expire_ms: int          # 0: none
    kind: int               # rdb.KIND_*
    value: rdb.LoadedValue
    compact: bool


class Function(NamedTuple):
    code: bytes


class RDBError(ValueError):
    """A file that is no RDB file shardis can load; the text says why."""


def check(data: bytes) -> None:
    """The magic, the version (at most 10: Redis 7.0's) and the checksum (0: not
    written, as with ``rdbchecksum no``)."""
    if len(data) < 9 or not data.startswith(b"REDIS") or not data[5:9].isdigit():
        raise RDBError("not an RDB file (no REDIS magic)")
    version = int(data[5:9])
    if not 1 <= version <= rdb.RDB_VERSION:
        raise RDBError(f"RDB version {version} is not supported (at most {rdb.RDB_VERSION})")
    if version >= 5:
        if len(data) < 18 or data[-9] != OP_EOF:
            raise RDBError("truncated RDB file (no EOF)")
        want = _CRC.unpack_from(data, len(data) - 8)[0]
        if want and rdb.crc64(data[:-8]) != want:
            raise RDBError("wrong RDB checksum")


def read(data: bytes) -> Iterator[Key | Function]:
    """Every key (and library) of a whole file, in file order; ``check`` it first."""
    r = rdb.Reader(data)
    r.pos = 9
    db = 0
    expire = 0
    try:
        while True:
            op = r.byte()
            if op == OP_EOF:
                return
            if op == OP_SELECTDB:
                db = r.length()
            elif op == OP_RESIZEDB:
                r.length()
                r.length()
            elif op == OP_AUX:
                r.string()
                r.string()
            elif op == OP_EXPIRETIME_MS:
                expire = r.millis()
            elif op == OP_EXPIRETIME:
                expire = struct.unpack("<i", r.take(4))[0] * 1000
            elif op == OP_IDLE:
                r.length()
            elif op == OP_FREQ:
                r.byte()
            elif op == OP_FUNCTION2:
                yield Function(r.string())
            elif op in (OP_FUNCTION_PRE_GA, OP_MODULE_AUX):
                raise RDBError(f"RDB opcode {op} (pre-GA functions, module data) is not supported")
            else:
                key = r.string()
                kind, value, compact = rdb.read_value(op, r)
                yield Key(db, key, expire, kind, value, compact)
                expire = 0
    except RDBError:
        raise
    except ValueError as e:
        raise RDBError(f"bad RDB data at byte {r.pos}: {e}") from None

