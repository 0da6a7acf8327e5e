"""Resharding: after the shard count changes, move every key to the shard its
hash slot now belongs to. The supervisor runs this before starting the shards.

Keys are stored as db + slot + key, so the keys a shard must give away are
found by slot. Each chunk is copied first (committed on the new shard), then
deleted from the old one; a crash in between leaves a key in both places,
and running again (the next start) copies it again and deletes it: the move
is idempotent. The new slot maps are written only once every key is in place,
and shard directories past the new count are removed last.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import time
from functools import partial
from typing import Any, Callable, cast

import lmdb

from shardis.commands import CommandTable
from shardis.config import Config
from shardis.slots import slot_table
from shardis.shardd.daemon import Shard
from shardis.shardd.disk import sysdb
from shardis.shardd.disk.keys import db_of, key_of, slot_of
from shardis.shardd.storage import Keyspace, Store

log = logging.getLogger("reshard")

CHUNK = 5000


def shard_dirs(cfg: Config) -> list[int]:
    """Indexes of the shard directories that hold an LMDB environment."""
    if not os.path.isdir(cfg.dir):
        return []
    return sorted(int(n[6:]) for n in os.listdir(cfg.dir)
                  if n.startswith("shard-") and n[6:].isdigit()
                  and os.path.exists(os.path.join(cfg.dir, n, "data.mdb")))


def stored_layout(cfg: Config, i: int) -> int | None:
    """The shard count shard ``i``'s data was written under, None if it has none."""
    env = lmdb.open(cfg.shard_dir(i), readonly=True, max_dbs=8, lock=False)
    try:
        try:
            sys_db = env.open_db(b"sys", create=False)
        except lmdb.Error:
            return None
        with env.begin() as txn:
            raw = txn.get(sysdb.SLOTMAP, db=sys_db)
    finally:
        env.close()
    return None if raw is None else sysdb.slotmap_shards(raw)


def recorded_shards(cfg: Config) -> int | None:
    """The shard count the data in ``cfg.dir`` was written with (shard 0's slot map, or
    any shard's), None when there is no data yet."""
    counts = [n for n in (stored_layout(cfg, i) for i in shard_dirs(cfg)) if n is not None]
    return counts[0] if counts else None


def _shards(cfg: Config) -> int:
    """The shard count (the supervisor resolves "auto" before anything reshards)."""
    return cast(int, cfg.shards)


def needs_reshard(cfg: Config) -> bool:
    for i in shard_dirs(cfg):
        n = stored_layout(cfg, i)
        if (n is not None and n != cfg.shards) or i >= _shards(cfg):
            return True
    return False


def _replay_logs(cfg: Config, found: list[int], table: CommandTable) -> None:
    """Apply what a write-ahead log holds (after a crash under "always") in the old layout."""
    for i in found:
        wal = os.path.join(cfg.shard_dir(i), "wal.log")
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            old = stored_layout(cfg, i) or cfg.shards
            Shard(dataclasses.replace(cfg, shards=old), i, table).close()


def _write(store: Store, fn: Callable[[Keyspace], Any]) -> None:
    """Run ``fn(ks)`` in one write transaction, growing the map when it fills."""
    while True:
        txn = store.env.begin(write=True)
        ks = Keyspace(store, txn, time.time_ns() // 1_000_000)
        try:
            fn(ks)
            ks.finish()
            txn.commit()
        except lmdb.MapFullError:
            txn.abort()
            store.grow()
            continue
        except BaseException:
            txn.abort()
            raise
        ks.committed()
        return


def _export(ks: Keyspace, chunk: list[bytes], slots: list[int], records: dict[int, list]) -> None:
    """Read the chunk's keys, grouped by their new shard."""
    records.clear()  # a retry after the map grew starts over
    for mk in chunk:
        records.setdefault(slots[slot_of(mk)], []).append(
            (db_of(mk), key_of(mk), ks.export(db_of(mk), key_of(mk))))


def _restore(ks: Keyspace, records: list) -> None:
    for db, key, rec in records:
        if rec is not None:  # expired meanwhile: nothing to carry
            ks.restore(db, key, rec)


def _delete(ks: Keyspace, chunk: list[bytes]) -> None:
    for mk in chunk:
        ks.delete(db_of(mk), key_of(mk))


def reshard(cfg: Config, table: CommandTable) -> int:
    """Move every key to its shard under ``cfg.shards``; returns how many moved."""
    found = shard_dirs(cfg)
    _replay_logs(cfg, found, table)
    slots = slot_table(_shards(cfg))
    indexes = sorted(set(found) | set(range(_shards(cfg))))
    for i in indexes:
        os.makedirs(cfg.shard_dir(i), exist_ok=True)
    stores = {i: Store(cfg.shard_dir(i), "no", cfg.map_size) for i in indexes}
    moved = 0
    try:
        for i in found:
            src = stores[i]
            start = b""
            while True:
                chunk: list[bytes] = []
                with src.env.begin() as txn:
                    cur = txn.cursor(db=src.meta)
                    if cur.set_range(start):
                        for mk in cur.iternext(values=False):
                            if slots[slot_of(mk)] != i:
                                chunk.append(mk)
                                if len(chunk) >= CHUNK:
                                    break
                if not chunk:
                    break
                records: dict[int, list] = {}
                _write(src, partial(_export, chunk=chunk, slots=slots, records=records))
                for j, recs in records.items():
                    _write(stores[j], partial(_restore, records=recs))
                _write(src, partial(_delete, chunk=chunk))
                moved += len(chunk)
                start = chunk[-1]
        for i in range(_shards(cfg)):
            stores[i].put_sys(sysdb.SLOTMAP, sysdb.pack_slotmap(_shards(cfg), i))
            stores[i].sync()
    finally:
        for st in stores.values():
            st.env.close()
    for i in indexes:
        if i >= _shards(cfg):
            shutil.rmtree(cfg.shard_dir(i))
    return moved
