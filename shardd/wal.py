"""The write-ahead log behind ``durability = "always"``.

LMDB's own fsync writes every page a transaction dirtied (with random keys,
one 4 KB page per key), so it cannot keep up with an append-only log. With
``always`` a shard therefore commits LMDB without syncing and makes the batch
durable here instead: the batch's request messages, exactly as they arrived,
appended to one file and fdatasync'ed before any reply leaves.

Record layout (little-endian)::

    u32 length of body | u32 crc32 of body | body = msgpack [seq, now_ms, [message, ...]]

Each LMDB transaction stores the ``seq`` of the batch it applied (``sys`` key
``applied``, in the same transaction), so recovery replays exactly the batches
after it, re-running their commands at their recorded clock: command
execution is deterministic given the state, the clock and the batch's
messages. A checkpoint syncs LMDB and empties the log. A torn record at the
end (a crash mid-write) fails its CRC and ends the replay; it was never
acknowledged.
"""

from __future__ import annotations

import os
import struct
import zlib

import msgpack

_HEAD = struct.Struct("<II")


class WriteAheadLog:
    """Append-only, fdatasync'ed batch log of one shard."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size

    def records(self):
        """Every intact record from the start: (seq, now_ms, [message bytes])."""
        with open(self.path, "rb") as f:
            data = f.read()
        pos = 0
        while pos + _HEAD.size <= len(data):
            length, crc = _HEAD.unpack_from(data, pos)
            body = data[pos + _HEAD.size:pos + _HEAD.size + length]
            if len(body) != length or zlib.crc32(body) != crc:
                return
            seq, now, messages = msgpack.unpackb(body, raw=False)
            yield seq, now, messages
            pos += _HEAD.size + length

    def append(self, seq: int, now_ms: int, messages: list[bytes]) -> None:
        """Write one batch and make it durable before returning."""
        body = msgpack.packb((seq, now_ms, messages), use_bin_type=True)
        data = _HEAD.pack(len(body), zlib.crc32(body)) + body
        os.write(self.fd, data)
        os.fdatasync(self.fd)
        self.size += len(data)

    def truncate(self) -> None:
        """Forget everything: called once LMDB itself is synced (a checkpoint)."""
        os.ftruncate(self.fd, 0)
        os.fsync(self.fd)
        self.size = 0

    def close(self) -> None:
        os.close(self.fd)
