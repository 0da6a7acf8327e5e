"""The write-ahead log behind ``durability = "always"``.

LMDB's own fsync writes every page a transaction dirtied (with random keys,
one 4 KB page per key), so it cannot keep up with an append-only log. With
``always`` a shard therefore commits LMDB without syncing and makes the batch
durable here instead: the batch's request messages, exactly as they arrived,
appended to one file and fdatasync'ed before any reply leaves.

Record layout (little-endian)::

    u32 length of body | u32 crc32 of body | body = msgpack [seq, now_ms, [message, ...], injected]

The messages name commands by their ids in the command table of the build that
wrote them, and ids are positions in that table: so every log file starts with a
header record (same framing) whose body is the msgpack map
``{"commands": [name of id 0, name of id 1, ...]}`` (``CommandTable.names``). A
replay maps the logged ids to its own table's by these names
(``shardd/recovery.py``), so a build may register commands in any order. The
header is written whenever the file is (re)started empty: at creation and after
each checkpoint. A log without one was written by the build before headers,
whose ids are the current table's.

``injected`` lists the blocked clients the batch served (shardd/blocking.py), as
``[message index, commands done, cmd, db, args]``: a replay runs each of them
right after the same command, so that their pops happen again in the same place.

Each LMDB transaction stores the ``seq`` of the batch it applied (``sys`` key
``applied``, in the same transaction), so recovery replays exactly the batches
after it, re-running their commands at their recorded clock: command
execution is deterministic given the state, the clock and the batch's
messages. A checkpoint syncs LMDB and empties the log. A torn record at the
end (a crash mid-write) fails its CRC and ends the replay; it was never
acknowledged.
"""

from __future__ import annotations

import itertools
import os
import struct
import threading
import time
import zlib
from typing import TYPE_CHECKING, Iterator

import msgpack

from shardis.shardd.disk.sysdb import U64

if TYPE_CHECKING:
    from shardis.latency import SyncTimes

_HEAD = struct.Struct("<II")
# The ``sys`` key holding the seq of the last batch LMDB applied, and its value's form
# (shardd/disk/sysdb.py lays them out).
SEQ = U64
HEADER_KEY = "commands"  # the header record's one entry: the writer's command names by id

# One logged batch: (seq, now_ms, [message bytes], injected)
Record = tuple[int, int, list[bytes], list]


def _frame(obj: object) -> bytes:
    body = msgpack.packb(obj, use_bin_type=True)
    return _HEAD.pack(len(body), zlib.crc32(body)) + body


def _bodies(data: bytes) -> Iterator[object]:
    """Every intact record's body, decoded, from the start (a torn or corrupt one ends it)."""
    pos = 0
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        body = data[pos + _HEAD.size:pos + _HEAD.size + length]
        if len(body) != length or zlib.crc32(body) != crc:
            return
        yield msgpack.unpackb(body, raw=False)
        pos += _HEAD.size + length


class WriteAheadLog:
    """Append-only, fdatasync'ed batch log of one shard. ``names``: the command table's
    names by id (``CommandTable.names``), the header of every file this starts."""

    def __init__(self, path: str, names: list[str]) -> None:
        self.path = path
        self.names = names
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        self.size = os.fstat(self.fd).st_size
        self.times: SyncTimes | None = None  # (the shard's: its fdatasyncs are timed)
        if self.size == 0:
            self._write_header()

    def _write_header(self) -> None:
        data = _frame({HEADER_KEY: self.names})
        os.write(self.fd, data)
        os.fsync(self.fd)
        self.size = len(data)

    def read(self) -> tuple[list[str] | None, Iterator[Record]]:
        """(the command names of the build that wrote the log, or None for a log
        written before headers; every intact batch record from the start)."""
        with open(self.path, "rb") as f:
            data = f.read()
        bodies = _bodies(data)
        first = next(bodies, None)
        if isinstance(first, dict):
            return list(first[HEADER_KEY]), self._records(bodies, None)
        return None, self._records(bodies, first)

    @staticmethod
    def _records(bodies: Iterator[object], first: object) -> Iterator[Record]:
        if first is not None:
            bodies = itertools.chain((first,), bodies)
        for rec in bodies:
            assert isinstance(rec, list), rec
            yield rec[0], rec[1], rec[2], rec[3] if len(rec) > 3 else []

    def records(self) -> Iterator[Record]:
        """Every intact batch record from the start: (seq, now_ms, [message bytes], injected)."""
        return self.read()[1]

    def append_many(self, records: list[tuple]) -> None:
        """Write batches (seq, now_ms, messages, injected) and make them durable before returning."""
        data = b"".join(_frame(rec) for rec in records)
        os.write(self.fd, data)
        t0 = time.perf_counter_ns()
        os.fdatasync(self.fd)
        if self.times is not None:
            self.times.timed("aof-fsync-always", time.perf_counter_ns() - t0)
        self.size += len(data)

    def truncate(self) -> None:
        """Forget every batch (called once LMDB itself is synced: a checkpoint); the
        file starts again with its header."""
        os.ftruncate(self.fd, 0)
        self._write_header()

    def close(self) -> None:
        os.close(self.fd)


class LogWriter(threading.Thread):
    """Group commit off the shard's thread: appends the records handed to it, one
    fdatasync per group, while the shard goes on executing the next batch.

    ``durable`` is the highest seq on disk; after each group the writer writes a
    byte to ``notify_fd`` so the shard's poll loop wakes up and releases replies.
    """

    def __init__(self, wal: WriteAheadLog, durable: int, notify_fd: int) -> None:
        super().__init__(name="wal-writer", daemon=True)
        self.wal = wal
        self.durable = durable
        self.notify_fd = notify_fd
        self.cond = threading.Condition()
        self.queue: list[tuple] = []
        self.stopping = False

    def submit(self, seq: int, now_ms: int, messages: list[bytes] | None,
               injected: list | None = None) -> None:
        with self.cond:
            self.queue.append((seq, now_ms, messages, injected or []))
            self.cond.notify_all()

    def run(self) -> None:
        while True:
            with self.cond:
                while not self.queue and not self.stopping:
                    self.cond.wait()
                if not self.queue:
                    return
                group, self.queue = self.queue, []
            self.wal.append_many(group)
            with self.cond:
                self.durable = group[-1][0]
                self.cond.notify_all()
            os.write(self.notify_fd, b".")

    def wait_for(self, seq: int) -> None:
        """Block until every record up to ``seq`` is on disk."""
        with self.cond:
            while self.durable < seq:
                self.cond.wait()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.join()
