"""This shard's part of a snapshot (SAVE, BGSAVE, the save schedule): ``__rdbsnap``.

The coordinator sends ``__rdbsnap PATH FUNCTIONS`` to every shard in ONE round
(shardis/coord/saver.py), so every shard is locked by it at the same point in the
order of writes: nothing a round after it wrote is committed yet, everything before it
is, cross-shard transactions whole. Here a thread opens an LMDB read transaction
before the handler returns (so before the round lets the shard serve again), and
writes from it, LMDB's MVCC keeping that view whatever the shard commits meanwhile.
The thread begins, uses and ends its transaction itself (py-lmdb: a transaction
belongs to the thread that began it), and shares the GIL with the shard's loop.

What the thread writes (nothing of it reaches the data directories):
- ``PATH.part``: the shard's keys as RDB records (shardis/rdbfile.py), grouped by
  database in order; with FUNCTIONS = 1, first the FUNCTION libraries;
- ``PATH.idx`` once the part is whole: JSON ``[[db, offset, length, keys, expires]...]``
  (db -1: the libraries);
- ``PATH.err`` instead, with the reason, if it failed.

A key whose time has passed at the snapshot's clock is left out (Redis would write it
and drop it when loading).

``__rdbchanges``: the writes since the last snapshot began (INFO's
rdb_changes_since_last_save, the save schedule's "changes"), counted by the store's
version, which every write moves: per key written, as Redis' dirty counter.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

from shardis import rdbfile
from shardis.commands import INTERNAL, CommandTable
from shardis.resp import ReplyError
from shardis.shardd.disk import sysdb
from shardis.shardd.disk.keys import db_of, expire_of, expired, key_of
from shardis.shardd.context import ShardContext
from shardis.shardd.dump import serialize_body
from shardis.shardd.storage import Keyspace, Store

log = logging.getLogger("shardd")

FLUSH_BYTES = 1 << 20  # the part is written in pieces of about this size


def changes(ks: Keyspace) -> int:
    """Writes since the last snapshot began (or since the shard started)."""
    st = ks.store
    return st.version - max(st.epoch, ks.ctx.saved_version)


def rdbchanges(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return changes(ks)


def rdbsnap(ks: Keyspace, db: int, args: list[bytes]) -> list[Any]:
    """``__rdbsnap PATH FUNCTIONS``: start writing this shard's part from a read
    transaction begun before this returns; answers [pid, changes counted until now]."""
    path = args[1].decode("utf-8", "surrogateescape")
    with_functions = args[2] == b"1"
    began = threading.Event()
    stop = threading.Event()
    failed: list[str] = []
    thread = threading.Thread(target=_write_part, name="snapshot", daemon=True,
                              args=(ks.store, path, ks.now, with_functions, began, failed, stop))
    ctx = ks.ctx
    ctx.snapshots = [s for s in ctx.snapshots if s[0].is_alive()] + [(thread, stop)]
    thread.start()
    began.wait()
    if failed:
        raise ReplyError(f"ERR snapshot failed on this shard: {failed[0]}")
    n = changes(ks)
    ks.ctx.saved_version = ks.store.version
    return [os.getpid(), n]


def stop_all(ctx: ShardContext) -> None:
    """Before the store closes: the snapshots still writing give up (their saves fail)."""
    for thread, stop in ctx.snapshots:
        stop.set()
    for thread, stop in ctx.snapshots:
        thread.join()
    ctx.snapshots = []


class Stopped(Exception):
    """The shard stops: the snapshot gives up."""


def _write_part(store: Store, path: str, now: int, with_functions: bool,
                began: threading.Event, failed: list[str], stop: threading.Event) -> None:
    """The thread: begin the read transaction, say so, write the part from it."""
    try:
        txn = store.env.begin()
    except Exception as e:  # (e.g. no reader slot left)
        failed.append(str(e))
        began.set()
        return
    began.set()
    try:
        try:
            index = _write_records(store, txn, path + ".part", now, with_functions, stop)
        finally:
            txn.abort()
        with open(path + ".idx.tmp", "w") as f:
            json.dump(index, f)
        os.rename(path + ".idx.tmp", path + ".idx")
    except Exception as e:
        log.error("snapshot %s failed: %s", path, e)
        try:
            with open(path + ".err", "w") as f:
                f.write(str(e) or e.__class__.__name__)
        except OSError:
            pass


def _write_records(store: Store, txn: Any, part: str, now: int, with_functions: bool,
                   stop: threading.Event) -> list[list[int]]:
    """Every live key of the transaction's view as RDB records, by database; the index."""
    ks = Keyspace(store, txn, now)
    index: list[list[int]] = []
    offset = 0
    with open(part, "wb") as f:
        buf: list[bytes] = []
        size = 0
        if with_functions:
            libs = [rdbfile.function(code) for _, code in sysdb.functions(txn, store.sys)]
            if libs:
                data = b"".join(libs)
                f.write(data)
                index.append([-1, 0, len(data), len(libs), 0])
                offset = len(data)
        cur_db = -1
        entry: list[int] = []
        for mk, raw in txn.cursor(db=store.meta).iternext():
            if stop.is_set():
                raise Stopped("the shard is stopping")
            if expired(raw, now):
                continue
            db = db_of(mk)
            if db != cur_db:
                cur_db = db
                entry = [db, offset, 0, 0, 0]
                index.append(entry)
            key = key_of(mk)
            body = serialize_body(ks, db, key, compress=False)
            if body is None:
                continue
            at = expire_of(raw)
            rec = rdbfile.key_record(key, body, at)
            buf.append(rec)
            size += len(rec)
            offset += len(rec)
            entry[2] += len(rec)
            entry[3] += 1
            if at:
                entry[4] += 1
            if size >= FLUSH_BYTES:
                if stop.is_set():
                    raise Stopped("the shard is stopping")
                f.write(b"".join(buf))
                buf = []
                size = 0
        f.write(b"".join(buf))
    return [e for e in index if e[3]]


def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("__rdbsnap", 3, "admin", route=INTERNAL, group="server",
        summary="__rdbsnap path functions: write this shard's part of a snapshot from a read "
                "transaction begun now (the coordinator's save round); [pid, changes]")(rdbsnap)
    cmd("__rdbchanges", 1, "admin", route=INTERNAL, group="server",
        summary="Writes on this shard since its last snapshot began")(rdbchanges)
    # From a router to the coordinator (shardis/coord/saver.py): START a save (its id),
    # or its STATUS by id ([done, ok]); never run on a shard.
    cmd("__bgsave", -2, "admin", route=INTERNAL, group="server",
        summary="__bgsave START | STATUS id | RESETSTAT: the coordinator's saves")(_coordinator_only)


def _coordinator_only(ks: Keyspace, db: int, args: list[bytes]) -> None:
    raise ReplyError("ERR __bgsave runs in the coordinator")
