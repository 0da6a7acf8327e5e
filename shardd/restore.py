"""``shardis-server --restore PATH``: load an RDB file (shardis' own SAVE, or Redis'
dump.rdb) into the configured shards before anything serves.

Each key goes to the shard its hash slot maps to under the configured shard count, so
a file saved with any shard count (or by Redis) loads into any other. Run by the
supervisor after resharding and before it starts the shards, on their LMDB
environments directly (as resharding does), CHUNK keys per write transaction.

- Data already there: refused (``RestoreError``: the data directory holds keys) unless
  ``flush`` is asked (``--restore-flush``), which first empties every database and
  drops every FUNCTION library, as FLUSHALL and FUNCTION FLUSH would.
- A key whose expire time has passed is skipped (Redis, loading as a master, does so).
- FUNCTION libraries (opcode 245) are written to every shard.
- A database past ``databases``, a value shardis cannot hold (a member longer than an
  LMDB key allows), a module value, or a damaged file stop the restore with the reason;
  keys of chunks already written stay (run it again with --restore-flush).
- The whole file is read into memory first (its checksum is checked before anything is
  written).
"""

from __future__ import annotations

import logging
import os
import time
from functools import partial
from typing import cast

from shardis import rdbfile
from shardis.commands import CommandTable
from shardis.config import Config
from shardis.resp import ReplyError
from shardis.scripting import Engine
from shardis.shardd import reshard
from shardis.shardd.disk import sysdb
from shardis.shardd.dump import _check_storable, _store
from shardis.shardd.storage import Keyspace, Store
from shardis.slots import key_slot, slot_table

log = logging.getLogger("restore")

CHUNK = 5000


class RestoreError(Exception):
    """The restore cannot go on; the text says why."""


def _count_keys(store: Store) -> int:
    with store.env.begin() as txn:
        return txn.stat(store.meta)["entries"]


def _flush(store: Store) -> None:
    def run(ks: Keyspace) -> None:
        ks.flush_all()
        for name, _ in sysdb.functions(ks.txn, store.sys):
            ks.txn.delete(sysdb.function_key(name), db=store.sys)
    reshard._write(store, run)


def _load(ks: Keyspace, records: list[rdbfile.Key]) -> None:
    for rec in records:
        ks.delete(rec.db, rec.key)  # (a key twice in the file: the last one stays)
        _store(ks, rec.db, rec.key, rec.kind, rec.value, rec.compact, rec.expire_ms)


def restore(cfg: Config, path: str, table: CommandTable, flush: bool = False) -> tuple[int, int]:
    """Load ``path`` into the shards of ``cfg``; (keys loaded, keys skipped as expired)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RestoreError(f"cannot read {path}: {e.strerror}") from None
    try:
        rdbfile.check(data)
    except rdbfile.RDBError as e:
        raise RestoreError(f"{path}: {e}") from None
    nshards = cast(int, cfg.shards)
    reshard._replay_logs(cfg, reshard.shard_dirs(cfg), table)
    stores: list[Store] = []
    try:
        for i in range(nshards):
            os.makedirs(cfg.shard_dir(i), exist_ok=True)
            st = Store(cfg.shard_dir(i), "no", cfg.map_size)
            stores.append(st)
            if st.get_sys(sysdb.SLOTMAP) is None:
                st.put_sys(sysdb.SLOTMAP, sysdb.pack_slotmap(nshards, i))
        held = sum(_count_keys(st) for st in stores)
        with stores[0].env.begin() as txn:  # (every shard has them all)
            libs = len(sysdb.functions(txn, stores[0].sys))
        if held or libs:
            if not flush:
                raise RestoreError(
                    f"the data directory {os.path.abspath(cfg.dir)} holds {held} key(s) and "
                    f"{libs} FUNCTION librar(ies) already; --restore-flush empties it first")
            log.info("--restore-flush: removing %d key(s) and the FUNCTION libraries", held)
            for st in stores:
                _flush(st)
        return _load_all(cfg, data, stores)
    finally:
        for st in stores:
            st.sync()
            st.env.close()


def _load_all(cfg: Config, data: bytes, stores: list[Store]) -> tuple[int, int]:
    slots = slot_table(len(stores))
    now = time.time_ns() // 1_000_000
    pending: list[list[rdbfile.Key]] = [[] for _ in stores]
    loaded = expired = 0
    waiting = 0
    engine: Engine | None = None

    def write_out() -> None:
        for i, recs in enumerate(pending):
            if recs:
                reshard._write(stores[i], partial(_load, records=recs))
                pending[i] = []

    try:
        for item in rdbfile.read(data):
            if isinstance(item, rdbfile.Function):
                if engine is None:
                    engine = Engine()
                name = engine.load_library(item.code).name  # (compiles: a bad one is refused)
                for st in stores:
                    st.put_sys(sysdb.function_key(name), item.code)
                continue
            if item.db >= cfg.databases:
                raise RestoreError(f"key {item.key!r} is in database {item.db}, but databases "
                                   f"is {cfg.databases}")
            if item.expire_ms and item.expire_ms <= now:
                expired += 1
                continue
            _check_storable(item.kind, item.value)
            pending[slots[key_slot(item.key)]].append(item)
            loaded += 1
            waiting += 1
            if waiting >= CHUNK:
                write_out()
                waiting = 0
        write_out()
    except rdbfile.RDBError as e:
        raise RestoreError(str(e)) from None
    except ReplyError as e:
        raise RestoreError(f"refused: {e.args[0]}") from None
    return loaded, expired

