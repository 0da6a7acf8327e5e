"""The coordinator's intent log: what a round ran on each shard, logged before any shard
commits it, so that a round cut short by a crash is finished by redo (see
shardis/coord/coordinator.py's docstring).

Records, each ``<length, crc32>`` then msgpack:

``["table", names]``  the command table's ``names()`` of the build that writes the
                      records after it: commands are logged by id (their index in the
                      table), and a later build, whose table may have more commands,
                      in another order, reads them by name (``CommandTable.translate``).
                      Every log file starts with one (so a new file, a truncated one,
                      and the file the coordinator rewrites when it starts). Records
                      before any header were written by the build before headers,
                      whose ids are the current table's: they are read as they are.
``["begin", txid, {shard: part}]``  a round's intent: each shard's ``run`` (or
                      ``runcommit``) messages, packed, as they were sent; or, in a log
                      written before those were logged as sent (and in the file written
                      at start), ``[now, commands]``.
``["done", txid]``    every shard committed the round.
"""

from __future__ import annotations

import os
import struct
import zlib
from typing import Callable

import msgpack

from shardis import wire
from shardis.commands import CommandTable

_HEAD = struct.Struct("<II")
LOG_TRUNCATE_BYTES = 16 << 20

Pending = tuple[int, dict[int, list]]  # (txid, {shard: logged part})


def logged_part(part: list) -> tuple[int, list]:
    """(now, commands) of a shard's part of a logged intent: its run messages (or, in a
    log written before they were logged as sent, [now, commands])."""
    if part and isinstance(part[0], int):
        return part[0], part[1]
    now, cmds = 0, []
    for msg in part:
        _, _, now, more = wire.unpack(msg)
        cmds.extend(more)
    return now, cmds


def _translated(part: list, ids: list[int], names: list[str]) -> list:
    """A logged part as [now, commands], each command's id the current table's (``ids``:
    logged id -> current id; ``names``: the logged table's names, for the error); the
    flags above the id (wire.RAW, wire.RESP3) kept."""
    now, cmds = logged_part(part)
    out = []
    for cmd in cmds:
        cid = cmd[0]
        old = cid & wire.CMD_MASK
        new = ids[old] if old < len(ids) else -1
        if new < 0:
            name = names[old] if old < len(names) else f"#{old}"
            raise RuntimeError(f"the intent log holds command {name!r}, which this build lacks")
        out.append([new | (cid & ~wire.CMD_MASK), *cmd[1:]])
    return [now, out]


def read(data: bytes, table: CommandTable) -> tuple[int, Pending | None, bool]:
    """(highest txid logged, the pending intent with its commands' ids translated to
    ``table``'s, whether the log's last header is ``table``'s) of a log's bytes."""
    pos = 0
    last = 0
    pending = None
    current = table.names()
    names: list[str] | None = None  # the header in force (None: before any)
    ids: list[int] | None = None    # logged id -> table's id (None: the same)
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size:pos + _HEAD.size + length]
        if len(body) != length or zlib.crc32(body) != crc:
            break  # a torn write at the end: never acknowledged
        rec = msgpack.unpackb(body, raw=False, strict_map_key=False)
        pos += _HEAD.size + length
        if rec[0] == "table":
            names = rec[1]
            ids = None if names == current else table.translate(rec[1])
            continue
        last = max(last, rec[1])
        if rec[0] == "begin":
            parts = rec[2]
            if ids is not None:
                parts = {shard: _translated(part, ids, names or []) for shard, part in parts.items()}
            pending = (rec[1], parts)
        else:
            pending = None
    return last, pending, names == current


class IntentLog:
    """The coordinator's log of intents: ``begin txid {shard: [run message, ...]}`` (the
    packed ``run`` messages the shard was sent, as sent) before any shard commits,
    ``done txid`` after all have. At most one is pending at a time.

    Opening it reads what the last run left (``last``, ``pending``, ids translated to
    ``table``'s) and, unless the file already ends under ``table``'s header, starts the
    file anew: the header, then the pending intent (as [now, commands]) or a ``done``
    that keeps the highest txid."""

    def __init__(self, path: str, fsync: Callable[[], bool], table: CommandTable) -> None:
        """``fsync``: whether intents are synced now (CONFIG SET appendfsync changes it)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self.fsync = fsync
        self.table = table
        self.last, self.pending, current = self._read()
        if not current:
            self._start(self.last, self.pending)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)

    def scan(self) -> tuple[int, Pending | None]:
        """(highest txid logged, the pending intent (txid, parts) or None)."""
        return self._read()[:2]

    def _read(self) -> tuple[int, Pending | None, bool]:
        try:
            with open(self.path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            data = b""
        return read(data, self.table)

    def _start(self, last: int, pending: Pending | None) -> None:
        """Write the file anew (atomically): this table's header, then what it must keep."""
        recs: list[list] = [self._header()]
        if pending is not None:
            txid, parts = pending
            recs.append(["begin", txid, {shard: list(logged_part(part)) for shard, part in parts.items()}])
        elif last:
            recs.append(["done", last])
        tmp = self.path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"".join(self._record(rec) for rec in recs))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dfd = os.open(os.path.dirname(self.path), os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _header(self) -> list:
        return ["table", self.table.names()]

    @staticmethod
    def _record(rec: list) -> bytes:
        body = msgpack.packb(rec, use_bin_type=True)
        return _HEAD.pack(len(body), zlib.crc32(body)) + body

    def _append(self, rec: list, sync: bool) -> None:
        os.write(self.fd, self._record(rec))
        if sync:
            os.fdatasync(self.fd)

    def begin(self, txid: int, parts: dict) -> None:
        self._append(["begin", txid, parts], self.fsync())

    def done(self, txid: int) -> None:
        # Not synced: if it is lost, recovery redoes the intent, and every shard skips
        # it by its mark.
        self._append(["done", txid], False)
        if os.fstat(self.fd).st_size > LOG_TRUNCATE_BYTES:
            os.ftruncate(self.fd, 0)
            self._append(self._header(), False)

    def close(self) -> None:
        os.close(self.fd)
