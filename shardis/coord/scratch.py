"""Multi-key commands whose keys span shards, run with the shards' own handlers.

SINTERSTORE, LMOVE, ZUNIONSTORE, SMOVE... each have one handler, written for keys
that live in one shard's keyspace. The coordinator runs such a command across
shards without a second implementation: inside its round (so every shard
involved is locked), it exports each key from its shard (``__export``), restores
them into a throwaway LMDB store of its own, runs the command's handler there,
and writes back every key whose record the command changed (``__restore``, or
``DEL`` for a key it removed). Replies, errors and types are therefore exactly
the single-shard ones. The cost is the size of the keys involved, copied twice.
The keyspace events the command reports there go, per key, to the key's shard
(``__notify``), which reports them with its own batch's events.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING

import lmdb

from shardis import notify, wire
from shardis.commands import CommandSpec
from shardis.resp import ReplyError
from shardis.shardd.blocking import BLOCK, Wait
from shardis.shardd.storage import CollectingKeyspace, Store, limits_of

if TYPE_CHECKING:
    from shardis.coord.coordinator import Coordinator


class Scratch:
    """The coordinator's throwaway store; every command's transaction is rolled back."""

    def __init__(self, path: str) -> None:
        shutil.rmtree(path, ignore_errors=True)
        os.makedirs(path)
        self.store = Store(path, "no", 64 << 20)
        self.block: Wait | None = None  # what the last command that answered BLOCK waits for

    def run(self, coord: Coordinator, spec: CommandSpec, db: int, args: list[bytes]) -> object:
        """``args`` run against copies of its keys; the changed keys written back.
        A blocking command that finds nothing answers BLOCK, and ``block`` says what
        it waits for (``shardd.blocking.Wait``)."""
        keys = list(dict.fromkeys(spec.keys(args)))
        # What the command writes follows the CONFIG settings the shards have (the hub,
        # in this process, keeps ``coord.cfg`` current); the shards take it as written.
        self.store.use_limits(limits_of(coord.cfg))
        before: dict[bytes, list | None] = {}
        for key in keys:
            before[key] = coord.call(coord.shard_of(key), db, b"__export", key)
        while True:
            txn = self.store.env.begin(write=True)
            try:
                return self._run(coord, txn, spec, db, args, keys, before)
            except lmdb.MapFullError:
                self.store.grow()
            finally:
                txn.abort()  # never kept

    def _run(self, coord: Coordinator, txn: lmdb.Transaction[bytes], spec: CommandSpec, db: int,
             args: list[bytes], keys: list[bytes], before: dict[bytes, list | None]) -> object:
        assert spec.handler is not None  # (every shard command has one: tests/test_table.py)
        ks = CollectingKeyspace(self.store, txn, coord.now, notify.NOTIFY_ALL | notify.NOTIFY_KEYSPACE)
        versions: dict[bytes, int] = {}
        for key in keys:
            rec = before[key]
            if rec is not None:
                ks.restore(db, key, rec[:3])
                restored = ks.lookup(db, key)
                assert restored is not None  # (just written)
                versions[key] = ks.version_of(restored)
        ks.collected.clear()  # (the restores' own)
        # A key the command reads and does not find is a "keymiss", as on a shard
        # (daemon._reads), when some shard may want it (CONFIG keeps ``coord.cfg`` current).
        ks.reading = (_reads(spec) and bool((notify.parse_flags(coord.cfg.notify_keyspace_events) or 0)
                                           & notify.NOTIFY_KEY_MISS))
        try:
            v = spec.handler(ks, db, args)
        except ReplyError:
            # (Redis reported the misses it met before the error; nothing else happened)
            _send_events(coord, db, [e for e in ks.collected if e[0] == notify.NOTIFY_KEY_MISS])
            raise
        finally:
            ks.reading = False
        if v is BLOCK:
            self.block, ks.block = ks.block, None
            _send_events(coord, db, ks.collected)  # (a read that waits has looked its keys up)
            return BLOCK
        if not spec.write:
            _send_events(coord, db, ks.collected)
            return v
        for key in keys:
            raw = ks.lookup(db, key)
            shard = coord.shard_of(key)
            old = before[key]
            if raw is None:
                if old is not None:
                    coord.call(shard, db, b"__delver", key, old[3], b"")
            elif ks.version_of(raw) != versions.get(key):
                exported = ks.export(db, key)
                assert exported is not None  # (``raw``: the key is live)
                type_, expire, payload = exported
                coord.call(shard, db, b"__restore", key, type_, expire, payload, b"REPLACE", b"")
        _send_events(coord, db, ks.collected)
        return v


def _reads(spec: CommandSpec) -> bool:
    """Whether Redis looks the command's keys up for reading (lookupKeyRead)."""
    return "readonly" in spec.flags or spec.name in notify.KEYMISS_WRITES


def _send_events(coord: Coordinator, db: int, collected: list[tuple[int, bytes, int, bytes]]) -> None:
    """The keyspace events a command reported here, each to its key's shard."""
    by_shard: dict[int, list] = {}
    for cls, event, edb, key in collected:
        by_shard.setdefault(coord.shard_of(key), []).append([cls, event, edb, key])
    for shard, events in by_shard.items():
        coord.call(shard, db, b"__notify", wire.pack(events))

