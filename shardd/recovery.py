"""Opening the write-ahead log (shardd/wal.py) of a shard: replaying what it holds
beyond LMDB's state after a crash, starting the log writer under ``always``, and
switching durability at run time (CONFIG SET appendfsync).

A log's messages name commands by their ids in the table of the build that wrote it
(shardd/wal.py); its header lists that table's names. ``Translation`` maps each
logged id to the current table's id by name, keeping the flag bits above
``wire.CMD_MASK``, inside ``__exec``'s packed commands too, so a build that
registers its commands in another order replays the same commands.
"""

from __future__ import annotations

import collections
import logging
import os
import sys
from typing import TYPE_CHECKING

import zmq

from shardis import wire
from shardis.commands import CommandTable
from shardis.resp import ReplyError
from shardis.shardd import eviction
from shardis.shardd.disk.sysdb import APPLIED
from shardis.shardd.scripting import Stray
from shardis.shardd.storage import Keyspace
from shardis.shardd.wal import SEQ, LogWriter, WriteAheadLog

if TYPE_CHECKING:
    from shardis.shardd.daemon import Shard

log = logging.getLogger("shardd")

# When an fsync returns, the log writer needs the GIL back at once to release the
# replies; CPython's default switch interval (5 ms) would hold them.
SWITCH_INTERVAL = 0.0002


def log_path(shard: Shard) -> str:
    return os.path.join(shard.cfg.shard_dir(shard.index), "wal.log")


def open_log(shard: Shard) -> None:
    """At start: replay what the log holds beyond LMDB's state (a log left by a crash,
    under any durability), checkpoint, and under ``always`` start logging."""
    shard.wal = None
    shard.writer = None
    shard.seq = 0
    path = log_path(shard)
    if shard.cfg.durability != "always" and not os.path.exists(path):
        return
    wal = WriteAheadLog(path, shard.table.names())
    raw = shard.store.get_sys(APPLIED)
    applied = SEQ.unpack(raw)[0] if raw else 0
    replayed = 0
    logged, records = wal.read()
    # (the ids of the build that wrote the log, mapped to this table's by name)
    ids = Translation(shard.table, logged, where=f"shard {shard.index}: ")
    for seq, now, payloads, injected in records:
        if seq <= applied:
            continue
        # Each replayed transaction records its own seq: a crash during
        # replay resumes after it, never applies a batch twice.
        shard._apply(ids.payloads(payloads), now, durable=False, replay_seq=seq,
                     injections=ids.injected(injected))
        applied = seq
        replayed += 1
    if replayed:
        log.info("shard %d: replayed %d batches from the write-ahead log", shard.index, replayed)
    shard.seq = applied  # numbering goes on from here, so the log never repeats a seq
    shard.store.sync()
    wal.truncate()
    if shard.cfg.durability == "always":
        start_log(shard, wal)
    else:
        wal.close()
        os.unlink(path)


def start_log(shard: Shard, wal: WriteAheadLog) -> None:
    """Log every batch that writes from here on (``always``), from ``shard.seq``."""
    shard.wal = wal
    wal.times = shard.store.fsyncs
    shard.notify_r, shard.notify_w = os.pipe()
    os.set_blocking(shard.notify_r, False)
    shard.writer = LogWriter(wal, shard.seq, shard.notify_w)
    shard.writer.start()
    sys.setswitchinterval(SWITCH_INTERVAL)


def switch_durability(shard: Shard) -> None:
    """CONFIG SET appendfsync (``store.durability``), between batches and outside a
    cross-shard transaction: into ``always``, LMDB is synced and a new log starts;
    out of it, the log is checkpointed, its held replies released and it is removed.
    everysec and no differ only in the serve loop's once-a-second sync."""
    want, was = shard.store.durability, shard.cfg.durability
    path = log_path(shard)
    poller = shard.poller
    if was == "always":
        assert poller is not None and shard.writer is not None and shard.wal is not None
        shard.checkpoint()
        shard.release()
        poller.unregister(shard.notify_r)
        shard.writer.stop()
        shard.wal.close()
        os.unlink(path)
        os.close(shard.notify_r)
        os.close(shard.notify_w)
        shard.writer = shard.wal = None
    if want == "always":
        shard.store.sync()
        wal = WriteAheadLog(path, shard.table.names())
        wal.truncate()
        start_log(shard, wal)
        assert poller is not None  # (run from the serve loop)
        poller.register(shard.notify_r, zmq.POLLIN)  # (durable replies wake the loop)
    shard.cfg.durability = want
    log.info("shard %d: durability %s (was %s)", shard.index, want, was)


def replay_message(shard: Shard, ks: Keyspace, cmds: list, injections: list) -> list:
    """A logged message run again after a crash: the same commands, and the waiters
    served after the same commands; the replies go nowhere."""
    at: dict[int, list] = {}
    aborted = set()
    times = []
    oom = False
    for _, done, cid, db, args in injections:
        if cid == -1:
            aborted.add(args[0])  # an EXEC that WATCH aborted (see Shard._exec)
        elif cid == -2:
            times.append(args)  # what TIME answered a script (see ScriptHost.clock)
        elif cid == eviction.EVICTED:
            for mk in args:  # the keys maxmemory evicted before the batch (Shard._evict)
                raw = ks.txn.get(mk, None, ks.meta_db)
                if raw is not None:
                    ks.evict(mk, raw)
        elif cid == eviction.OOM:
            oom = True  # the denyoom commands answered -OOM
        else:
            at.setdefault(done, []).append((cid, db, args))
    shard.replay_aborted = aborted
    shard.scripts.replaying = collections.deque(times)
    tables, handlers = shard.tables, shard.handlers
    if oom:
        shard.tables = shard.oom_tables(tables)
        shard.handlers = shard.tables[0]
    try:
        _replay_cmds(shard, ks, cmds, at)
    finally:
        shard.replay_aborted = None
        shard.scripts.replaying = None
        shard.tables, shard.handlers = tables, handlers
    return []


def _replay_cmds(shard: Shard, ks: Keyspace, cmds: list, at: dict) -> None:
    MASK = wire.CMD_MASK
    handlers = shard.handlers
    moved = shard.moved
    for n, (cid, db, args) in enumerate(cmds, 1):
        if moved and (shard.cur_msg, n - 1) in moved:
            continue  # a script that reached another shard: it did not run here
        for c, d, a in ([(cid, db, args)] + at.get(n, []) if n in at else [(cid, db, args)]):
            try:
                handlers[c & MASK](ks, d, a)
            except ReplyError:
                pass
            except Stray:
                raise Stray((shard.cur_msg, n - 1)) from None
            ks.block = None
        ks.ready.clear()


class Translation:
    """Logged command ids -> this table's. ``identity``: nothing to map (the log was
    written by a table with the same names in the same order, or before headers)."""

    def __init__(self, table: CommandTable, logged: list[str] | None, where: str = "") -> None:
        self.logged = logged
        self.where = where
        self.identity = logged is None or logged == table.names()
        self.ids = [] if self.identity or logged is None else table.translate(logged)
        self.exec_id = table.by_name[b"__exec"].id

    def cid(self, cid: int) -> int:
        """One logged id (flag bits kept); -1, an aborted EXEC's marker, stays."""
        if cid < 0 or self.identity:
            return cid
        old = cid & wire.CMD_MASK
        new = self.ids[old] if old < len(self.ids) else -1
        if new < 0:
            logged = self.logged or []
            name = logged[old] if old < len(logged) else f"#{old}"
            raise SystemExit(f"{self.where}the write-ahead log holds command {name!r}, which this "
                             "build lacks; replay it with the build that wrote it")
        return new | (cid & ~wire.CMD_MASK)

    def commands(self, cmds: list) -> list:
        """[[cid, db, args], ...] with this table's ids (``__exec``'s own commands too)."""
        out = []
        for cid, db, args in cmds:
            cid = self.cid(cid)
            if cid & wire.CMD_MASK == self.exec_id and len(args) > 1:
                epoch, watched, inner, token = wire.unpack(args[1])
                args = [args[0], wire.pack([epoch, watched, self.commands(inner), token]), *args[2:]]
            out.append([cid, db, args])
        return out

    def payloads(self, payloads: list[bytes]) -> list[bytes]:
        """A logged batch's messages ``[batch id, commands]``, with this table's ids."""
        if self.identity:
            return payloads
        out = []
        for p in payloads:
            bid, cmds = wire.unpack(p)
            out.append(wire.pack((bid, self.commands(cmds))))
        return out

    def injected(self, injected: list) -> list:
        """A logged batch's served waiters ``[message, done, cid, db, args]``."""
        if self.identity:
            return injected
        return [[i, done, self.cid(cid), db, args] for i, done, cid, db, args in injected]
