"""A shard's storage engine: ``Store`` (the LMDB environment) and ``Keyspace`` (one batch's
view of it). What the bytes are, keys, records, heads and the ``sys`` entries, is the
package ``shardd.disk``'s (its docstring draws the whole layout); this module calls it.
(The inline hot paths below, ``set_plain``, ``get_string_resp``, ``push_one`` ...,
build and read records with ``disk.keys``' and ``disk.coll``' constants directly: a
call level costs ~0.1 us there.)

A ``Keyspace`` is one batch's view: one write transaction, one clock reading,
the key counts it changed. Families call it and never touch LMDB directly.

Keyspace notifications: handlers and this module report events through
``Keyspace.notify(class, event, db, key)``, a no-op here; while
notify-keyspace-events asks for events the daemon runs its batches on a
``NotifyingKeyspace``, which records them (and takes no inline shortcut that
would skip a report). So with notifications off the cost is a no-op call where
a general path reports an event, and nothing on the inline hot paths.
"""

from __future__ import annotations

import collections
import random
import threading
import time
from binascii import crc_hqx
from itertools import islice
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence, cast

import lmdb
import msgpack

from shardis import configtable, errors
from shardis.config import Config
from shardis.latency import SyncTimes
from shardis.notify import NOTIFY_EVICTED, NOTIFY_EXPIRED, NOTIFY_GENERIC, NOTIFY_KEY_MISS, NOTIFY_NEW, \
    parse_flags
from shardis.resp import ReplyError, encode
from shardis.shardd.context import ShardContext
from shardis.shardd.disk import chunks, sysdb
from shardis.shardd.disk.coll import COLL, MAX_KEY, MAX_MEMBER, POS, POS_BIAS, Coll, bytes_pos, \
    check_members, coll_id, head, head_bytes, pos_bytes, prefix, prefix_of
from shardis.shardd.disk.keys import BULK_HEAD, CHUNKED, DB_PREFIX, EXP, HASH, HDR_LEN, LIST, NO_EXPIRY, \
    PLAIN_LIST, PLAIN_STRING, SET, SLOT_BYTES, STREAM, STRING, TYPE_NAMES, ZSET, db_of, expire_of, expired, \
    expires_at, expires_key, expires_key_of, expires_mkey, has_expiry, in_db, key_of, mkey, payload, \
    record, restamp, slot_key, slot_of, slot_prefix, version_of
from shardis.shardd.disk.zset import bytes_score, score_bytes
from shardis.slots import key_slot

# Names families and tests have always imported from here (the layout's own are disk's).
__all__ = ["STRING", "LIST", "SET", "ZSET", "HASH", "TYPE_NAMES", "HDR_LEN", "COLL", "MAX_MEMBER",
           "Coll", "Keyspace", "NotifyingKeyspace", "Store", "LIMITS", "limits_of", "check_members",
           "mkey", "slot_prefix", "key_of", "pos_bytes", "bytes_pos", "score_bytes", "bytes_score"]

# The CONFIG parameters that decide what a command writes (an encoding, whether APPEND
# fits): the Store attribute each one sets. They reach a shard inside its batches
# (``__config``), so its write-ahead log replays them in order, and are kept in LMDB
# with the data they were written under.
LIMITS = {"hash-max-listpack-entries": "hash_entries", "hash-max-listpack-value": "hash_value",
          "set-max-intset-entries": "set_intset", "zset-max-listpack-entries": "zset_entries",
          "zset-max-listpack-value": "zset_value", "proto-max-bulk-len": "proto_max_bulk_len",
          "stream-node-max-entries": "stream_node_entries", "stream-node-max-bytes": "stream_node_bytes",
          "hll-sparse-max-bytes": "hll_sparse_max_bytes"}


def _param(name: str) -> configtable.Param:
    found = configtable.lookup(name)
    if found is None:
        raise KeyError(name)  # (never: every LIMITS name is a parameter)
    return found[0]


def limits_of(cfg: Config) -> dict[str, Any]:
    """The LIMITS parameters' values in a Config."""
    return {name: configtable.get_value(cfg, _param(name)) for name in LIMITS}


class Store:
    """One shard's LMDB environment and the counters kept with it."""

    # Redis 7.0's defaults, until ``set_limits``.
    hash_entries = 512
    hash_value = 64
    set_intset = 512
    zset_entries = 128
    zset_value = 64
    proto_max_bulk_len = 512 << 20
    stream_node_entries = 100
    stream_node_bytes = 4096
    hll_sparse_max_bytes = 3000
    # Strings longer than ``inline_max`` are kept in chunks of ``chunk_size`` bytes
    # (shardd/disk/chunks.py); each string keeps the size it was written with, so tests
    # may set small ones to cross chunk boundaries with short values.
    chunk_size = chunks.CHUNK
    inline_max = chunks.INLINE_MAX

    def __init__(self, path: str, durability: str, map_size: int, ctx: ShardContext | None = None) -> None:
        self.path = path
        self.durability = durability
        self.ctx = ctx if ctx is not None else ShardContext()  # the shard's settings (shardd/context.py)
        self.env = lmdb.open(path, map_size=map_size, max_dbs=8, subdir=True,
                             sync=False, metasync=False,  # durability: see shardd/wal.py and the daemon
                             readahead=False, writemap=True, max_readers=126)
        self.meta = self.env.open_db(b"meta")
        self.expires = self.env.open_db(b"expires")
        self.sys = self.env.open_db(b"sys")
        self.members = self.env.open_db(b"members")
        self.index = self.env.open_db(b"index")
        self.counts: dict[int, list[int]] = {}
        with self.env.begin() as txn:
            for k, v in txn.cursor(db=self.sys).iternext():
                db = sysdb.count_db(k)
                if db is not None:
                    self.counts[db] = sysdb.unpack_counts(v)
        with self.env.begin() as txn:
            raw = txn.get(sysdb.NEXT_ID, db=self.sys)
        self.next_id = sysdb.unpack_u64(raw) if raw else 1
        self.saved_id = self.next_id
        # (db, key) -> clients blocked on it (shardd/blocking.py sets it; empty otherwise).
        self.waiting: dict = {}
        # Versions change on every write; they only need to increase, also across restarts.
        self.version = time.time_ns() // 1000
        # WATCH (shardd/txn.py): mkey -> how many clients watch it, and for a watched
        # key that was deleted, the version its deletion took (an absent key has none).
        # ``epoch`` names this run: versions read before a restart are not comparable.
        self.watched: dict[bytes, int] = {}
        self.tombs: dict[bytes, int] = {}
        self.epoch = self.version
        self.dirty = False
        # everysec's syncs run in a thread of their own (``sync_later``); the lock keeps
        # one from overlapping a map resize or another sync.
        self.sync_lock = threading.Lock()
        self.syncer: threading.Thread | None = None
        self.sync_wanted = threading.Event()
        # Error replies by code (INFO errorstats: the daemon counts, ``__info`` reports).
        self.errors: collections.Counter = collections.Counter()
        # The fsyncs of the write-ahead log and of LMDB, timed where they run (LATENCY's
        # aof-fsync-always and lmdb-sync events, /metrics).
        self.fsyncs = SyncTimes()
        # INFO stats' shard figures by name (keyspace_hits, keyspace_misses, expired_keys,
        # evicted_keys ...): counters, zeroed by CONFIG RESETSTAT; and gauges (figures
        # of the moment, never reset). Both reach the router through ``__info``.
        self.counters: collections.Counter = collections.Counter()
        self.gauges: dict[str, int] = {}
        # The LIMITS as the data was last written under them, and the hub's version of the
        # CONFIG SET they came with (0: cluster.toml's, at start).
        self.limits_version = 0
        raw = self.get_sys(sysdb.LIMITS)
        if raw is not None:
            self.limits_version, values = sysdb.unpack_limits(raw)
            self.use_limits(values)

    def use_limits(self, values: dict) -> None:
        """Apply LIMITS values (nothing kept: see ``set_limits``)."""
        for name, value in values.items():
            attr = LIMITS.get(name)
            if attr is not None:
                setattr(self, attr, value)

    def limits(self) -> dict:
        """The LIMITS parameters as this store applies them."""
        return {name: getattr(self, attr) for name, attr in LIMITS.items()}

    def set_limits(self, version: int, values: dict, txn: lmdb.Transaction[bytes] | None = None,
                   force: bool = False) -> bool:
        """Take new LIMITS values (an older version than the one applied is ignored, as
        two routers' CONFIG SETs may race) and keep them in ``txn``, or in a transaction
        of their own. True when anything, values or version, changed: a replay of the
        write-ahead log must see the same versions to ignore the same late arrivals.
        ``force``: whatever the version (a start takes cluster.toml's values, version 0)."""
        if version < self.limits_version and not force:
            return False
        new = {**self.limits(), **{k: v for k, v in values.items() if k in LIMITS}}
        changed = new != self.limits() or version != self.limits_version
        self.limits_version = version
        self.use_limits(new)
        raw = sysdb.pack_limits(version, new)
        if txn is not None:
            txn.put(sysdb.LIMITS, raw, db=self.sys)
        else:
            self.put_sys(sysdb.LIMITS, raw)
        return changed

    def apply_settings(self, version: int, settings: dict) -> None:
        """Shared settings from the pub/sub hub (or a router's ``__config``); an older
        version than the one applied is ignored, as two routers' CONFIG SETs may race."""
        ctx = self.ctx
        if version < ctx.settings_version:
            return
        ctx.settings_version = version
        durability = settings.get("appendfsync")
        if durability is not None:
            self.durability = durability  # (the daemon switches between batches)
        busy = settings.get("busy-reply-threshold")
        if busy is not None:
            ctx.busy_ms = int(busy)
        if ctx.evictor is not None:
            ctx.evictor.configure(settings)
        letters = settings.get("notify-keyspace-events", settings.get("notify_keyspace_events"))
        if letters is not None:
            ctx.notify_flags = parse_flags(letters) or 0

    def grow(self) -> None:
        """Double the map: LMDB's map is a ceiling, not an allocation."""
        with self.sync_lock:
            self.env.set_mapsize(self.env.info()["map_size"] * 2)

    def get_sys(self, key: bytes) -> bytes | None:
        with self.env.begin() as txn:
            return txn.get(key, db=self.sys)

    def put_sys(self, key: bytes, value: bytes) -> None:
        with self.env.begin(write=True) as txn:
            txn.put(key, value, db=self.sys)

    def unwatch(self, items: Iterable[Sequence[Any]]) -> None:  # ([db, key] as the wire has them)
        """Drop one watcher of each (db, key); a key nobody watches keeps no tomb."""
        watched = self.watched
        for db, key in items:
            mk = mkey(db, key)
            n = watched.get(mk, 0) - 1
            if n > 0:
                watched[mk] = n
            else:
                watched.pop(mk, None)
                self.tombs.pop(mk, None)

    def sync(self) -> None:
        """Flush every committed transaction to disk, now."""
        self.dirty = False
        with self.sync_lock:
            self._timed_sync()

    def _timed_sync(self) -> None:
        t0 = time.perf_counter_ns()
        self.env.sync(True)  # (lmdb lets the GIL go while the disk works)
        self.fsyncs.timed("lmdb-sync", time.perf_counter_ns() - t0)

    def sync_later(self) -> None:
        """The same, in the background (everysec): what was committed before this call is
        on disk when that sync returns. The shard goes on serving meanwhile: a sync in its
        own loop stalled it (and, across shards, every transaction holding it) for as long
        as the disk took. A sync still running when the next is asked for takes both."""
        self.dirty = False
        if self.syncer is None:
            self.syncer = threading.Thread(target=self._sync_loop, name="lmdb-sync", daemon=True)
            self.syncer.start()
        self.sync_wanted.set()

    def _sync_loop(self) -> None:
        wanted = self.sync_wanted
        while True:
            wanted.wait()
            wanted.clear()
            if self.syncer is None:
                return
            with self.sync_lock:
                if self.syncer is None:
                    return
                self._timed_sync()

    def close(self) -> None:
        syncer, self.syncer = self.syncer, None
        if syncer is not None:
            self.sync_wanted.set()
            syncer.join()
        with self.sync_lock:
            self.env.sync(True)
            self.env.close()


class Keyspace:
    """One batch's access to the data: a write transaction and a clock reading."""

    __slots__ = ("store", "ctx", "txn", "now", "meta_db", "exp_db", "delta", "meta_cur", "mem_cur",
                 "ready", "block", "draws", "touched", "got", "dropped", "hits", "misses", "reading",
                 "last_read")
    inline_paths = True  # the one-element shortcuts apply (not while reporting events)

    def __init__(self, store: Store, txn: lmdb.Transaction[bytes], now_ms: int) -> None:
        self.store = store
        self.ctx = store.ctx
        self.txn = txn
        self.now = now_ms
        self.meta_db = store.meta
        self.exp_db = store.expires
        # A cursor on meta for single-record writes: lmdb's cursor.replace/put skip
        # the keyword parsing of txn.replace(..., db=) (0.85 -> 0.57 us a call).
        self.meta_cur = txn.cursor(db=store.meta)
        self.mem_cur = txn.cursor(db=store.members)  # for the inline list paths only
        self.delta: dict[int, list[int]] = {}
        # Blocking commands (shardd/blocking.py): keys with waiters that a write
        # left non-empty, in the order they became so; and what a blocking
        # command that found nothing asks to wait for.
        self.ready: list[tuple[int, bytes]] = []
        self.block: Any = None  # a blocking.Wait (a module above this one), or None
        self.draws = 0  # random generators handed out in this batch (see ``rng``)
        # Access data (shardd/eviction.py): the meta keys this batch looked up or wrote
        # (their LRU clock / LFU counter / S3-FIFO state is updated once per batch, after
        # it) and those it removed; INFO's keyspace_hits/misses of lookups for reading.
        self.touched: list[bytes] = []
        self.got: list[bytes] = []  # (the keys GET's fast path found: hits and touches both)
        self.dropped: list[bytes] = []
        self.hits = 0
        self.misses = 0
        # A command Redis looks its keys up for reading runs (lookupKeyRead: the
        # daemon's handler tables set it): a lookup counts as a hit or a miss.
        self.reading = False
        # The key a reading command counted last: a handler that looks a key up twice
        # (a record, then its collection) counts one hit, as Redis' single lookup.
        self.last_read = b""

    # ------------------------------------------------------------ records

    def _count(self, db: int, keys: int, expires: int) -> None:
        d = self.delta.get(db)
        if d is None:
            d = self.delta[db] = [0, 0]
        d[0] += keys
        d[1] += expires

    def mark_written(self) -> None:
        """Count this batch as a write, so that it is logged, without touching a key (a
        setting that decides what later commands write)."""
        self._next_version()

    def _next_version(self) -> int:
        st = self.store
        st.version += 1
        return st.version

    def notify(self, cls: int, event: bytes, db: int, key: bytes) -> None:
        """Report a keyspace event (Redis' notifyKeyspaceEvent): nobody listens here; see
        ``NotifyingKeyspace``."""

    def lookup(self, db: int, key: bytes) -> bytes | None:
        """The live record of ``key`` (header + payload), expiring it lazily."""
        mk = mkey(db, key)
        raw = self.txn.get(mk, None, self.meta_db)
        if raw is not None and raw[1:9] != NO_EXPIRY and EXP.unpack_from(raw, 1)[0] < self.now:
            self.expire_now(db, mk, raw)
            raw = None
        if raw is None:
            if self.reading and mk != self.last_read:
                self.misses += 1
                self.last_read = mk
            return None
        if self.reading and mk != self.last_read:
            self.hits += 1
            self.last_read = mk
        self.touched.append(mk)
        return raw

    def count_read(self, found: bool) -> None:
        """A key a write command reads as Redis' lookupKeyRead does (COPY's source,
        PFMERGE's): a keyspace hit or miss."""
        if found:
            self.hits += 1
        else:
            self.misses += 1

    def expire_now(self, db: int, mk: bytes, raw: bytes) -> None:
        """Delete a key whose time has passed (lazy or active expiry): "expired" event,
        INFO's expired_keys."""
        self._remove(db, mk, raw)
        self.store.counters["expired_keys"] += 1
        self.notify(NOTIFY_EXPIRED, b"expired", db, key_of(mk))

    def get_string(self, db: int, key: bytes) -> bytes | None:
        """A string's whole value, None when absent; WRONGTYPE for another type."""
        raw = self.lookup(db, key)
        if raw is None:
            return None
        if raw[0] == STRING:
            return payload(raw)
        if raw[0] != CHUNKED:
            raise ReplyError(errors.WRONGTYPE)
        return self.string_range(raw, 0, chunks.length_of(raw))

    def get_string_resp(self, db: int, key: bytes) -> bytes:
        """GET's reply as RESP2 bytes, every step inline for a string without TTL
        (GET is the hottest read; each call level and each reply value costs ~0.1 us)."""
        slot = key_slot(key) if 123 in key else crc_hqx(key, 0) & 0x3FFF
        mk = DB_PREFIX[db] + SLOT_BYTES[slot] + key
        raw = self.txn.get(mk, None, self.meta_db)
        if raw is None:
            self.misses += 1
            return b"$-1\r\n"
        if raw[0] == STRING and raw[1:9] == NO_EXPIRY:
            self.got.append(mk)
            n = len(raw) - HDR_LEN
            return (BULK_HEAD[n] if n < 4096 else b"$%d\r\n" % n) + raw[HDR_LEN:] + b"\r\n"
        self.reading = True  # (GET's fast path is no wrapped handler: see eviction.reading)
        self.last_read = b""
        try:
            return encode(self.get_string(db, key))  # a TTL to check, or WRONGTYPE
        finally:
            self.reading = False

    def type_of(self, db: int, key: bytes) -> int | None:
        """The type of a live key as commands see it (a chunked string is a STRING)."""
        raw = self.lookup(db, key)
        if raw is None:
            return None
        return STRING if raw[0] == CHUNKED else raw[0]

    def expire_of(self, raw: bytes) -> int:
        """Expire-at ms of a record, 0 when it has none."""
        return expire_of(raw)

    def put(self, db: int, key: bytes, type_: int, payload: bytes, expire: int = 0,
            old: bytes | None | Literal[False] = False) -> bytes:
        """Write a whole record (a string longer than ``inline_max``: in chunks); returns
        it. ``old`` is the current record if the caller already read it."""
        if type_ == STRING and len(payload) > self.store.inline_max:
            return self._set_chunked(db, key, payload, expire, old)
        mk = mkey(db, key)
        txn = self.txn
        st = self.store
        st.version += 1
        rec = record(type_, expire, st.version, payload)
        if old is False:
            # One B-tree descent: write and get the previous record back.
            old = self.meta_cur.replace(mk, rec)
            self.touched.append(mk)  # (a blind write: Redis' setKey looks the key up)
        else:
            self.meta_cur.put(mk, rec)
        if old is None:
            self._count(db, 1, 1 if expire else 0)
            self.notify(NOTIFY_NEW, b"new", db, key)
            self.touched.append(mk)
        else:
            if expired(old, self.now):
                # A blind overwrite of an expired key: to Redis it expired, then was made.
                self.store.counters["expired_keys"] += 1
                self.notify(NOTIFY_EXPIRED, b"expired", db, key)
                self.notify(NOTIFY_NEW, b"new", db, key)
            self._replaced(db, mk, old, expire, type_)
        if expire:
            txn.put(expires_key(expire, mk), b"", db=self.exp_db)
        return rec

    def _replaced(self, db: int, mk: bytes, old: bytes, expire: int, type_: int = STRING) -> None:
        """Tidy up after a record overwrote ``old``: its TTL entry, its members, the counts."""
        old_exp = expire_of(old) if has_expiry(old) else 0
        if old_exp:
            self.txn.delete(expires_key(old_exp, mk), db=self.exp_db)
        if old[0] != type_:
            self._drop_payload(mk, old)
        if expire or old_exp:
            self._count(db, 0, (1 if expire else 0) - (1 if old_exp else 0))

    def set_string(self, db: int, key: bytes, value: bytes, expire: int = 0,
                   old: bytes | None | Literal[False] = False) -> None:
        if expire == 0 and old is False:
            self.set_plain(db, key, value)
        else:
            self.put(db, key, STRING, value, expire, old)

    def set_plain(self, db: int, key: bytes, value: bytes) -> None:
        """``put`` of a string without TTL, every step inline: SET's hot path (the
        shard is the bottleneck of SET under load, and each call level costs ~0.1 us)."""
        st = self.store
        if len(value) > st.inline_max:
            self._set_chunked(db, key, value, 0, False)
            return
        mk = DB_PREFIX[db] + SLOT_BYTES[key_slot(key) if 123 in key else crc_hqx(key, 0) & 0x3FFF] + key
        st.version += 1
        old = self.meta_cur.replace(mk, PLAIN_STRING + st.version.to_bytes(8, "big") + value)
        self.touched.append(mk)
        if old is None:
            d = self.delta.get(db)
            if d is None:
                d = self.delta[db] = [0, 0]
            d[0] += 1
        elif old[1:9] != NO_EXPIRY or old[0] != STRING:
            self._replaced(db, mk, old, 0)

    def set_plain_many(self, db: int, args: list[bytes]) -> None:
        """``set_plain`` of each key/value pair of an MSET (args[1], args[2], ...), in
        one loop: the coordinator gives a shard one MSET of a whole round's pairs."""
        prefix = DB_PREFIX[db]
        slots = SLOT_BYTES
        st = self.store
        replace = self.meta_cur.replace
        version = st.version
        inline_max = st.inline_max
        touched = self.touched
        added = 0
        for i in range(1, len(args), 2):
            key = args[i]
            value = args[i + 1]
            if len(value) > inline_max:
                st.version = version
                self._set_chunked(db, key, value, 0, False)
                version = st.version
                continue
            mk = prefix + slots[key_slot(key) if 123 in key else crc_hqx(key, 0) & 0x3FFF] + key
            version += 1
            old = replace(mk, PLAIN_STRING + version.to_bytes(8, "big") + value)
            touched.append(mk)
            if old is None:
                added += 1
            elif old[1:9] != NO_EXPIRY or old[0] != STRING:
                st.version = version
                self._replaced(db, mk, old, 0)
        st.version = version
        if added:
            d = self.delta.get(db)
            if d is None:
                d = self.delta[db] = [0, 0]
            d[0] += added

    def set_expire(self, db: int, key: bytes, raw: bytes, expire: int) -> None:
        """Change the TTL of an existing record (0 removes it)."""
        mk = mkey(db, key)
        old_exp = expire_of(raw)
        if old_exp:
            self.txn.delete(expires_key(old_exp, mk), db=self.exp_db)
        if expire:
            self.txn.put(expires_key(expire, mk), b"", db=self.exp_db)
        self._count(db, 0, (1 if expire else 0) - (1 if old_exp else 0))
        self.txn.put(mk, restamp(raw, expire, self._next_version()), db=self.meta_db)

    def delete(self, db: int, key: bytes) -> bool:
        """Remove a live key; False when there was none."""
        mk = mkey(db, key)
        raw = self.txn.get(mk, None, self.meta_db)
        if raw is None:
            return False
        live = not expired(raw, self.now)
        self._remove(db, mk, raw)
        if not live:
            self.store.counters["expired_keys"] += 1
            self.notify(NOTIFY_EXPIRED, b"expired", db, key)
        return live

    def evict(self, mk: bytes, raw: bytes) -> None:
        """Delete a key to free memory (shardd/eviction.py): "evicted" event, evicted_keys."""
        self._remove(db_of(mk), mk, raw)
        self.store.counters["evicted_keys"] += 1
        self.notify(NOTIFY_EVICTED, b"evicted", db_of(mk), key_of(mk))

    def _remove(self, db: int, mk: bytes, raw: bytes) -> None:
        txn = self.txn
        self.dropped.append(mk)
        if self.store.watched and mk in self.store.watched:
            self.store.tombs[mk] = self._next_version()
        txn.delete(mk, db=self.meta_db)
        exp = expire_of(raw)
        if exp:
            txn.delete(expires_key(exp, mk), db=self.exp_db)
        self._drop_payload(mk, raw)
        self._count(db, -1, -1 if exp else 0)
        if raw[0] == STREAM and self.store.waiting and (db, mk[3:]) in self.store.waiting:
            self.ready.append((db, mk[3:]))  # (a blocked XREADGROUP hears of it: shardd/streams.py)

    def _drop_payload(self, mk: bytes, raw: bytes) -> None:
        """Delete what a record keeps outside ``meta``: a collection's members, a chunked
        string's chunks (both under the id its payload starts with)."""
        if raw[0] != STRING:
            self._drop_members(coll_id(raw))

    # ------------------------------------------------------------ strings
    #
    # A string is its record's payload up to ``inline_max`` bytes, a head and chunks past
    # that (shardd/disk/chunks.py). Families read and write strings through these, never
    # through ``payload``: ``string_record`` (the record, type checked), ``string_len``,
    # ``string_range`` / ``string_pieces`` (a range), ``string_value`` (all of it),
    # ``write_string`` (a range written in place); ``set_string`` / ``put`` replace a
    # value whole, ``get_string`` reads it whole.

    def string_record(self, db: int, key: bytes) -> bytes | None:
        """The live record of a string key, None when absent; WRONGTYPE for another type."""
        raw = self.lookup(db, key)
        if raw is not None and raw[0] != STRING and raw[0] != CHUNKED:
            raise ReplyError(errors.WRONGTYPE)
        return raw

    def string_len(self, raw: bytes) -> int:
        """The length of the string a record holds (O(1): a chunked one keeps it in its head)."""
        return len(raw) - HDR_LEN if raw[0] == STRING else chunks.length_of(raw)

    def string_value(self, raw: bytes) -> bytes:
        """The whole value of the string a record holds."""
        if raw[0] == STRING:
            return raw[HDR_LEN:]
        return self.string_range(raw, 0, chunks.length_of(raw))

    def string_range(self, raw: bytes, start: int, stop: int) -> bytes:
        """Bytes ``start`` (>= 0) up to ``stop`` of the string a record holds (cut at its
        end), reading only the chunks they lie in."""
        if raw[0] == STRING:
            return raw[HDR_LEN + start:HDR_LEN + max(start, stop)]
        id_, length, size = chunks.head(raw)
        stop = min(stop, length)
        if start >= stop:
            return b""
        i = start // size
        if (stop - 1) // size != i:
            return b"".join(self.string_pieces(raw, start, stop))
        # One chunk (GETRANGE, GETBIT, BITFIELD): one read, no cursor.
        base = i * size
        got = (self.txn.get(chunks.chunk_key(prefix(id_), i), None, self.store.members) or b"")[
            start - base:stop - base]
        return got if len(got) == stop - start else got + bytes(stop - start - len(got))

    def string_pieces(self, raw: bytes, start: int, stop: int) -> Iterator[bytes]:
        """``string_range`` in consecutive pieces of at most a chunk each (zeros where no
        chunk is stored), for reading a long range without holding it whole (BITCOUNT)."""
        if raw[0] == STRING:
            yield raw[HDR_LEN + start:HDR_LEN + max(start, stop)]
            return
        id_, length, size = chunks.head(raw)
        stop = min(stop, length)
        if start >= stop:
            return
        p = prefix(id_)
        pos = start
        cur = self.txn.cursor(db=self.store.members)
        if cur.set_range(chunks.chunk_key(p, start // size)):
            end = chunks.chunk_key(p, (stop - 1) // size + 1)
            for k, v in cur.iternext():
                if k >= end:
                    break
                base = chunks.chunk_index(k) * size
                lo = max(pos, base)
                hi = min(stop, base + len(v))
                if lo >= hi:
                    continue  # (a chunk shorter than where the range starts: zeros)
                while pos < lo:  # bytes no chunk holds
                    n = min(lo - pos, size)
                    yield bytes(n)
                    pos += n
                yield v[lo - base:hi - base]
                pos = hi
                if pos >= stop:
                    return  # (not reading the next chunk to see it is past the range)
        while pos < stop:
            n = min(stop - pos, size)
            yield bytes(n)
            pos += n

    def write_string(self, db: int, key: bytes, raw: bytes | None, offset: int, data: bytes) -> bytes:
        """Write ``data`` at byte ``offset`` of the string ``raw`` (its live record, None for
        a new key), zeros filling any gap before it, the TTL kept; returns the new record.
        On a chunked string only the chunks the range covers are read and written (empty
        ``data`` past the end only sets the length). Length limits are the caller's."""
        length = 0 if raw is None else self.string_len(raw)
        new_len = max(length, offset + len(data))
        st = self.store
        if raw is not None and raw[0] == CHUNKED:
            id_, _, size = chunks.head(raw)
            self._write_chunks(prefix(id_), size, offset, data)
            st.version += 1
            rec = raw[:9] + st.version.to_bytes(8, "big") + chunks.head_bytes(id_, new_len, size)
            self.meta_cur.put(mkey(db, key), rec)
            return rec
        expire = 0 if raw is None else expire_of(raw)
        value = b"" if raw is None else raw[HDR_LEN:]
        if new_len <= st.inline_max:
            if len(value) < offset:
                value += bytes(offset - len(value))
            return self.put(db, key, STRING, value[:offset] + data + value[offset + len(data):], expire, raw)
        # It grows past inline_max: from now on it is kept in chunks.
        id_ = st.next_id
        st.next_id += 1
        size = st.chunk_size
        self._write_chunks(prefix(id_), size, 0, value)
        self._write_chunks(prefix(id_), size, offset, data)
        return self.put(db, key, CHUNKED, chunks.head_bytes(id_, new_len, size), expire, raw)

    def _set_chunked(self, db: int, key: bytes, value: bytes, expire: int,
                     old: bytes | None | Literal[False]) -> bytes:
        """``put`` of a string longer than ``inline_max``: chunks under a new id, then its
        record; the chunks of a chunked string it replaces go."""
        if old is False:
            old = self.txn.get(mkey(db, key), None, self.meta_db)
        st = self.store
        id_ = st.next_id
        st.next_id += 1
        size = st.chunk_size
        self._write_chunks(prefix(id_), size, 0, value)
        rec = self.put(db, key, CHUNKED, chunks.head_bytes(id_, len(value), size), expire, old)
        if old is not None and old[0] == CHUNKED:  # (put drops the members of another type's)
            self._drop_members(coll_id(old))
        return rec

    def _write_chunks(self, p: bytes, size: int, offset: int, data: bytes) -> None:
        """Write ``data`` at byte ``offset`` of the chunks under ``p``: a chunk it covers
        whole is written blind, one it covers in part is read, spliced (zeros before the
        part when the chunk was shorter) and written back."""
        txn = self.txn
        members = self.store.members
        end = offset + len(data)
        pos = offset
        i = offset // size
        while pos < end:
            base = i * size
            lo = pos - base
            hi = min(end, base + size) - base
            piece = data[pos - offset:pos - offset + hi - lo]
            k = chunks.chunk_key(p, i)
            if lo == 0 and hi == size:
                txn.put(k, piece, db=members)
            else:
                buf = bytearray(txn.get(k, None, members) or b"")
                if len(buf) < lo:
                    buf += bytes(lo - len(buf))
                buf[lo:hi] = piece  # (a shorter chunk grows to hi)
                txn.put(k, buf, db=members)
            pos = base + hi
            i += 1

    # ------------------------------------------------------------ collections

    def coll(self, db: int, key: bytes, type_: int) -> Coll | None:
        """The live collection at ``key``; None when there is no key, WRONGTYPE
        when the key holds another type."""
        mk = mkey(db, key)
        raw = self.txn.get(mk, None, self.meta_db)
        exp = 0 if raw is None or raw[1:9] == NO_EXPIRY else EXP.unpack_from(raw, 1)[0]
        if exp and exp < self.now:
            self.expire_now(db, mk, cast(bytes, raw))
            raw = None
        if raw is None:
            if self.reading and mk != self.last_read:
                self.misses += 1
                self.last_read = mk
            return None
        if self.reading and mk != self.last_read:
            self.hits += 1
            self.last_read = mk
        self.touched.append(mk)
        if raw[0] != type_:
            raise ReplyError(errors.WRONGTYPE)
        id_, count, a, b, enc = head(raw)
        return Coll(db, key, mk, type_, id_, count, a, b, enc, exp, raw)

    def _coll_of(self, db: int, key: bytes, raw: bytes) -> Coll:
        id_, count, a, b, enc = head(raw)
        return Coll(db, key, mkey(db, key), raw[0], id_, count, a, b, enc, expire_of(raw), raw)

    def new_coll(self, db: int, key: bytes, type_: int, replacing: bool = False) -> Coll:
        """A new, empty collection for ``key`` (written by ``save_coll`` once it has members).
        ``replacing``: it takes the place of a key just deleted (a STORE), so it is no
        "new" key, as Redis' setKey overwrites."""
        st = self.store
        id_ = st.next_id
        st.next_id += 1
        c = Coll(db, key, mkey(db, key), type_, id_, 0, 0, 0, 0, 0, None)
        c.fresh = not replacing
        return c

    def coll_or_new(self, db: int, key: bytes, type_: int) -> Coll:
        c = self.coll(db, key, type_)
        return c if c is not None else self.new_coll(db, key, type_)

    def save_coll(self, c: Coll) -> None:
        """Write the head back (a new version); an emptied collection disappears as a key.

        Call it once per command that changed anything, after the member writes. It
        reports "new" for a key it creates and "del" for one it removes: a command
        reports its own event after a save that may create, before one that may remove
        (Redis' order: new, the command's event, del)."""
        if c.count <= 0:
            if c.old is not None:
                self._remove(c.db, c.mk, c.old)  # drops whatever members are left, too
                c.old = None
                self.notify(NOTIFY_GENERIC, b"del", c.db, c.key)
            return
        st = self.store
        st.version += 1
        rec = record(c.type, c.expire, st.version, head_bytes(c.id, c.count, c.a, c.b, c.enc))
        self.meta_cur.put(c.mk, rec)
        if c.old is None:
            self.touched.append(c.mk)
            self._count(c.db, 1, 1 if c.expire else 0)
            if c.expire:
                self.txn.put(expires_key(c.expire, c.mk), b"", db=self.exp_db)
            if c.fresh:
                self.notify(NOTIFY_NEW, b"new", c.db, c.key)
        c.old = rec
        waiting = st.waiting
        if waiting and (c.db, c.key) in waiting and c.type in (LIST, ZSET):
            self.ready.append((c.db, c.key))

    def rng(self, c: Coll) -> random.Random:
        """A random generator for a command on ``c`` (SPOP, HRANDFIELD ...) that is the
        same when the batch is run again from the write-ahead log: seeded from the
        batch's clock, the collection's head and how many this batch handed out."""
        self.draws += 1
        return random.Random(b"%d:%d:%d:%d:%d:" % (self.now, c.db, c.id, c.count, self.draws) + c.key)

    # Lists' hot paths: one element pushed or popped on a list that exists, has no TTL
    # and keeps a member, every step inline like ``set_plain`` (LPUSH/RPOP are the
    # list benchmarks; each call level costs ~0.1 us). None: take the general path.

    def _plain_coll(self, db: int, key: bytes, type_: int) -> tuple[bytes, bytes | None]:
        """(meta key, record) of a ``type_`` collection without TTL; record None otherwise."""
        mk = DB_PREFIX[db] + SLOT_BYTES[key_slot(key) if 123 in key else crc_hqx(key, 0) & 0x3FFF] + key
        raw = self.txn.get(mk, None, self.meta_db)
        if raw is None or raw[0] != type_ or raw[1:9] != NO_EXPIRY:
            return mk, None
        self.touched.append(mk)
        return mk, raw

    def push_one(self, db: int, key: bytes, value: bytes, left: bool) -> int | None:
        mk, raw = self._plain_coll(db, key, LIST)
        if raw is None:
            return None
        id_, count, a, b, enc = COLL.unpack_from(raw, HDR_LEN)
        if left:
            a -= 1
            pos = a
        else:
            pos = b
            b += 1
        self.mem_cur.put(prefix_of(raw) + POS.pack(pos + POS_BIAS), value)
        count += 1
        st = self.store
        st.version += 1
        self.meta_cur.put(mk, PLAIN_LIST + st.version.to_bytes(8, "big") + COLL.pack(id_, count, a, b, enc))
        if st.waiting and (db, key) in st.waiting:
            self.ready.append((db, key))
        return count

    def pop_one(self, db: int, key: bytes, left: bool) -> bytes | None:
        mk, raw = self._plain_coll(db, key, LIST)
        if raw is None:
            return None
        id_, count, a, b, enc = COLL.unpack_from(raw, HDR_LEN)
        if count < 2:
            return None  # the list goes away with it: the general path removes the key
        if left:
            pos = a
            a += 1
        else:
            b -= 1
            pos = b
        value = self.mem_cur.pop(prefix_of(raw) + POS.pack(pos + POS_BIAS))
        if value is None:
            return None  # (never: a list keeps positions a .. b-1)
        st = self.store
        st.version += 1
        self.meta_cur.put(mk, PLAIN_LIST + st.version.to_bytes(8, "big")
                          + COLL.pack(id_, count - 1, a, b, enc))
        return value

    def put_one(self, db: int, key: bytes, type_: int, member: bytes, value: bytes = b"",
                index_of: Callable[[bytes], bytes] | None = None) -> int | None:
        """SADD / HSET of one member into an existing set or hash without TTL that no
        longer needs encoding decisions (enc 1), inline: 1 if the member is new, 0 if it
        was there; None: take the general path. ``index_of(member)``: the ``index``
        suffix a new member also gets (hashes' hash order)."""
        mk, raw = self._plain_coll(db, key, type_)
        if raw is None or raw[-1] == 0:
            return None
        if len(member) > MAX_MEMBER:
            return None  # the general path refuses it, before any write
        pre = prefix_of(raw)
        old = self.mem_cur.replace(pre + member, value)
        if old is not None and old == value and type_ == SET:
            return 0  # nothing changed
        id_, count, a, b, enc = COLL.unpack_from(raw, HDR_LEN)
        if old is None:
            count += 1
            if index_of is not None:
                self.txn.put(pre + index_of(member), b"", db=self.store.index)
        st = self.store
        st.version += 1
        self.meta_cur.put(mk, raw[:9] + st.version.to_bytes(8, "big") + COLL.pack(id_, count, a, b, enc))
        return 1 if old is None else 0

    # Members: ``c.prefix + suffix`` in ``members`` (or ``index`` with index=True).

    def mget(self, c: Coll, suffix: bytes, index: bool = False) -> bytes | None:
        k = c.prefix + suffix
        if len(k) > MAX_KEY:
            return None  # too long to have been stored
        return self.txn.get(k, None, self.store.index if index else self.store.members)

    def mput(self, c: Coll, suffix: bytes, value: bytes = b"", index: bool = False) -> bytes | None:
        """Write one member; returns its previous value (None: it is new)."""
        st = self.store
        k = c.prefix + suffix
        if len(k) > MAX_KEY:
            raise ReplyError(errors.MEMBER_TOO_LONG % MAX_MEMBER)
        return self.txn.replace(k, value, db=st.index if index else st.members)

    def mdel(self, c: Coll, suffix: bytes, index: bool = False) -> bool:
        k = c.prefix + suffix
        if len(k) > MAX_KEY:
            return False
        return self.txn.delete(k, db=self.store.index if index else self.store.members)

    def mcursor(self, index: bool = False) -> lmdb.Cursor[bytes]:
        """A cursor on ``members`` (or ``index``): walk one collection's range from
        ``set_range(c.prefix + ...)`` while keys start with ``c.prefix``."""
        return self.txn.cursor(db=self.store.index if index else self.store.members)

    def mrange(self, c: Coll, start: bytes = b"", stop: bytes | None = None,
               reverse: bool = False, index: bool = False) -> Iterator[tuple[bytes, bytes]]:
        """(suffix, value) of ``c``'s entries with start <= suffix < stop, in order
        (descending with reverse=True: from just below ``stop``, or the last, down to ``start``)."""
        cur = self.mcursor(index)
        p = c.prefix
        n = len(p)
        lo = p + start
        if not reverse:
            if not cur.set_range(lo):
                return
            hi = p + stop if stop is not None else None
            for k, v in cur.iternext():
                if not k.startswith(p) or (hi is not None and k >= hi):
                    return
                yield k[n:], v
            return
        hi = p + stop if stop is not None else prefix(c.id + 1)
        if cur.set_range(hi):
            if not cur.prev():
                return
        elif not cur.last():
            return
        for k, v in cur.iterprev():
            if not k.startswith(p) or k < lo:
                return
            yield k[n:], v

    def mvalues(self, c: Coll, start: bytes, n: int, reverse: bool = False) -> list[bytes]:
        """The values of the ``n`` entries from suffix ``start`` on (down from it with
        ``reverse``), in one C-level walk: for runs known to be there (list positions)."""
        cur = self.mcursor()
        if not cur.set_key(c.prefix + start):
            return []
        it = cur.iterprev(keys=False) if reverse else cur.iternext(keys=False)
        return list(islice(it, n))

    def mscan(self, c: Coll, cursor: int, count: int) -> tuple[int, list[tuple[bytes, bytes]]]:
        """One SSCAN/ZSCAN step over ``c``'s ``members``, in byte order: (next cursor, 0 at
        the end; [(member, value), ...]).

        The cursor is the first 8 bytes of the next member to return, as a big-endian
        integer (its trailing zero bytes dropped to seek). A step starts at the first
        member at or after them and stops after ``count`` members, but only between two
        members whose first 8 bytes differ (and never before one whose first 8 bytes are
        all zero, which would read as cursor 0). So each step moves strictly forward,
        the scan ends, and every member present throughout comes back (once, when the
        collection does not change)."""
        p = c.prefix
        n = len(p)
        cur = self.mcursor()
        found: list[tuple[bytes, bytes]] = []
        seen = 0
        last8 = b""
        if cur.set_range(p + cursor.to_bytes(8, "big").rstrip(b"\0")):
            for k, v in cur.iternext():
                if not k.startswith(p):
                    break
                m = k[n:]
                head = m[:8].ljust(8, b"\0")
                if seen >= count and head != last8 and head != b"\0" * 8:
                    return int.from_bytes(head, "big"), found
                seen += 1
                last8 = head
                found.append((m, v))
        return 0, found

    def _drop_members(self, id_: int) -> None:
        """Delete every ``members`` and ``index`` entry of collection ``id_``."""
        p = prefix(id_)
        for sub in (self.store.members, self.store.index):
            cur = self.txn.cursor(db=sub)
            if cur.set_range(p):
                while cur.key().startswith(p):
                    if not cur.delete():
                        break

    def _export_members(self, raw: bytes) -> bytes:
        """A collection's head and every entry, as the payload ``export`` carries."""
        id_, count, a, b, enc = head(raw)
        p = prefix(id_)
        n = len(p)
        parts = []
        for sub in (self.store.members, self.store.index):
            cur = self.txn.cursor(db=sub)
            entries = []
            if cur.set_range(p):
                for k, v in cur.iternext():
                    if not k.startswith(p):
                        break
                    entries.append((k[n:], v))
            parts.append(entries)
        fields = [count, a, b, enc, parts[0], parts[1]]
        if raw[0] == STREAM:
            fields.append(raw[HDR_LEN + COLL.size:])  # the stream's own head (disk.stream)
        return msgpack.packb(fields, use_bin_type=True)

    def _restore_members(self, db: int, key: bytes, type_: int, expire: int, payload: bytes) -> None:
        fields = msgpack.unpackb(payload, raw=False, use_list=True)
        count, a, b, enc, members, index = fields[:6]
        c = self.new_coll(db, key, type_)
        c.count, c.a, c.b, c.enc, c.expire = count, a, b, enc, expire
        for sub, entries in ((self.store.members, members), (self.store.index, index)):
            put = self.txn.cursor(db=sub).put
            for k, v in entries:
                put(c.prefix + k, v)
        if type_ == STREAM:  # (kept even when empty; its head goes on after COLL)
            self.put(db, key, STREAM, head_bytes(c.id, count, a, b, enc) + fields[6], expire, None)
            return
        self.save_coll(c)

    # ------------------------------------------------------------ whole keys

    def export(self, db: int, key: bytes) -> list | None:
        """[type, expire-at ms, payload] of a live key: what RENAME/COPY/MOVE carry."""
        raw = self.lookup(db, key)
        if raw is None:
            return None
        if raw[0] == CHUNKED:  # (carried whole, chunked again where it lands)
            return [STRING, expire_of(raw), self.string_value(raw)]
        if raw[0] != STRING:
            return [raw[0], expire_of(raw), self._export_members(raw)]
        return [raw[0], expire_of(raw), payload(raw)]

    def restore(self, db: int, key: bytes, rec: list) -> None:
        """Write an exported key under ``key`` (replacing what is there: the old key goes
        and a new one is made, so it is reported "new", as by Redis' dbAdd)."""
        type_, expire, payload = rec
        old = self.lookup(db, key)
        if old is not None:
            self._remove(db, mkey(db, key), old)
        if type_ != STRING:
            self._restore_members(db, key, type_, expire, payload)
            return
        self.put(db, key, type_, payload, expire, None)

    # ------------------------------------------------------------ iteration

    def scan_slots(self, db: int, slot: int, end_slot: int,
                   count: int) -> tuple[list[tuple[bytes, bytes]], int]:
        """Live keys of ``db`` from ``slot`` up to ``end_slot`` (exclusive), whole slots
        at a time until at least ``count`` keys; returns (keys with records, next slot)."""
        cur = self.txn.cursor(db=self.meta_db)
        out: list[tuple[bytes, bytes]] = []
        if not cur.set_range(slot_prefix(db, slot)):
            return out, end_slot
        now = self.now
        cur_slot = -1
        for mk, raw in cur.iternext():
            if db_of(mk) != db:
                return out, end_slot
            s = slot_of(mk)
            if s >= end_slot:
                return out, end_slot
            if s != cur_slot:
                if len(out) >= count:
                    return out, s
                cur_slot = s
            if raw[1:9] != NO_EXPIRY and EXP.unpack_from(raw, 1)[0] < now:
                continue
            out.append((key_of(mk), raw))
        return out, end_slot

    def iter_db(self, db: int) -> Iterator[tuple[bytes, bytes]]:
        """Every live (key, record) of one database, in slot order."""
        cur = self.txn.cursor(db=self.meta_db)
        if not cur.set_range(DB_PREFIX[db]):
            return
        now = self.now
        for mk, raw in cur.iternext():
            if db_of(mk) != db:
                return
            if raw[1:9] != NO_EXPIRY and EXP.unpack_from(raw, 1)[0] < now:
                continue
            yield key_of(mk), raw

    def flush_db(self, db: int) -> None:
        """Delete every key of one database, a bounded chunk at a time (memory stays flat)."""
        cur = self.txn.cursor(db=self.meta_db)
        prefix = DB_PREFIX[db]
        while True:
            doomed: list[tuple[bytes, bytes]] = []
            if cur.set_range(prefix):
                for mk, raw in cur.iternext():
                    if db_of(mk) != db or len(doomed) >= 10000:
                        break
                    doomed.append((mk, raw))
            if not doomed:
                return
            for mk, raw in doomed:
                self._remove(db, mk, raw)

    def flush_all(self) -> None:
        txn = self.txn
        waiting = self.store.waiting
        if waiting:  # (blocked XREADGROUPs hear that their streams are gone, as with DEL)
            for db, key in list(waiting):
                raw = self.lookup(db, key)
                if raw is not None and raw[0] == STREAM:
                    self.ready.append((db, key))
        for mk in self.store.watched:
            if self.lookup(db_of(mk), key_of(mk)) is not None:
                self.store.tombs[mk] = self._next_version()
        txn.drop(self.meta_db, delete=False)
        txn.drop(self.exp_db, delete=False)
        txn.drop(self.store.members, delete=False)
        txn.drop(self.store.index, delete=False)
        if self.ctx.evictor is not None:  # (no key left to keep access data of)
            self.ctx.evictor.forget_all()
            self.touched.clear()
            self.got = []
        self._next_version()
        for db in set(self.store.counts) | set(self.delta):
            base = self.store.counts.get(db, (0, 0))
            self.delta[db] = [-base[0], -base[1]]

    def swap_dbs(self, a: int, b: int) -> None:
        """SWAPDB a b on this shard: every record of database ``a`` moves to ``b`` and every
        record of ``b`` to ``a``, expired ones too (as Redis swaps whole dictionaries), with
        its expiry index entry; members stay under their collection ids, so a key costs
        one delete and one put whatever its size. No keyspace event, as in Redis.

        What stays with the database *index*, as in Redis: watchers, tombs and blocked
        clients. A watched key of either database that exists in either before the swap
        gets a new version (touchAllWatchedKeysInDb: its EXEC fails); blocked clients whose
        key holds a list or sorted set after the swap are marked ready
        (scanDatabaseForReadyKeys), for the daemon to serve right after this command."""
        if a == b:
            return
        st = self.store
        touched = []
        for mk in [mk for mk in st.watched if db_of(mk) in (a, b)]:
            # (lookup expires a dead key lazily: an expired key is no key, here as in Redis)
            in_a = self.lookup(a, key_of(mk)) is not None
            in_b = self.lookup(b, key_of(mk)) is not None
            if in_a or in_b:
                touched.append(mk)
        (ka, ea), (kb, eb) = self.size(a), self.size(b)
        self._swap_records(a, b)
        self._count(a, kb - ka, eb - ea)
        self._count(b, ka - kb, ea - eb)
        for mk in touched:
            raw = self.txn.get(mk, None, self.meta_db)
            if raw is None:
                st.tombs[mk] = self._next_version()
            else:
                self.meta_cur.put(mk, restamp(raw, expire_of(raw), self._next_version()))
        self._next_version()  # (something changed: the batch commits and is logged)
        if st.waiting:
            for db in (a, b):
                for wdb, key in list(st.waiting):
                    if wdb == db:
                        raw = self.txn.get(mkey(db, key), None, self.meta_db)
                        if raw is not None and raw[0] in (LIST, ZSET, STREAM):
                            self.ready.append((db, key))

    _SWAP_CHUNK = 1000

    def _swap_records(self, a: int, b: int) -> None:
        """Exchange the ``meta`` records of databases ``a`` and ``b`` (and their expiry
        entries) in key order, a bounded chunk of each at a time (memory stays flat; no
        spare database prefix is needed, all 256 may be in use). A chunk ends at the
        smaller of the two last keys read, so a key present in both is read from both in
        the same round; what is written lands behind the next round's start."""
        txn, meta, exp_db = self.txn, self.meta_db, self.exp_db
        cur = txn.cursor(db=meta)
        n = self._SWAP_CHUNK
        start = b""  # slot + key to go on from
        while True:
            chunks = []
            for db in (a, b):
                recs: list[tuple[bytes, bytes]] = []
                if cur.set_range(DB_PREFIX[db] + start):
                    for mk, raw in cur.iternext():
                        if db_of(mk) != db or len(recs) >= n:
                            break
                        recs.append((mk, raw))
                chunks.append(recs)
            ends = [slot_key(recs[-1][0]) for recs in chunks if len(recs) >= n]
            stop = min(ends) if ends else None
            if stop is not None:
                chunks = [[r for r in recs if slot_key(r[0]) <= stop] for recs in chunks]
            for recs in chunks:
                for mk, raw in recs:
                    txn.delete(mk, db=meta)
                    if has_expiry(raw):
                        txn.delete(expires_key_of(raw, mk), db=exp_db)
            for recs, to in zip(chunks, (b, a)):
                for mk, raw in recs:
                    moved = in_db(mk, to)
                    txn.put(moved, raw, db=meta)
                    if has_expiry(raw):
                        txn.put(expires_key_of(raw, moved), b"", db=exp_db)
            if stop is None:
                return
            start = stop + b"\0"

    def size(self, db: int) -> tuple[int, int]:
        """(keys, keys with a TTL) in ``db``, this batch's changes included."""
        base = self.store.counts.get(db, [0, 0])
        d = self.delta.get(db, (0, 0))
        return base[0] + d[0], base[1] + d[1]

    # ------------------------------------------------------------ expiry

    def sweep(self, limit: int) -> int:
        """Delete up to ``limit`` keys whose time has come; returns how many."""
        cur = self.txn.cursor(db=self.exp_db)
        doomed: list[bytes] = []
        if cur.first():
            for k in cur.iternext(values=False):
                if expires_at(k) >= self.now or len(doomed) >= limit:
                    break
                doomed.append(expires_mkey(k))
        for mk in doomed:
            raw = self.txn.get(mk, None, self.meta_db)
            if raw is not None:
                self.expire_now(db_of(mk), mk, raw)
        return len(doomed)

    # ------------------------------------------------------------ end of batch

    def finish(self) -> None:
        """Write the changed key counts inside the transaction."""
        st = self.store
        if st.next_id != st.saved_id:
            self.txn.put(sysdb.NEXT_ID, sysdb.pack_u64(st.next_id), db=st.sys)
        counts = st.counts
        for db, (dk, de) in self.delta.items():
            if dk or de:
                base = counts.get(db, [0, 0])
                self.txn.put(sysdb.count_key(db), sysdb.pack_counts(base[0] + dk, base[1] + de),
                             db=self.store.sys)

    def committed(self) -> None:
        """Fold the batch's count changes into the store, after the commit."""
        self.store.saved_id = self.store.next_id
        counts = self.store.counts
        for db, (dk, de) in self.delta.items():
            base = counts.get(db)
            if base is None:
                base = counts[db] = [0, 0]
            base[0] += dk
            base[1] += de

    # ------------------------------------------------------------ generic key commands

    def version_of(self, raw: bytes) -> int:
        """The version of a record: it changes on every write to the key."""
        return version_of(raw)

    def delete_if_version(self, db: int, key: bytes, version: int) -> bool:
        """Remove a live key only if nobody wrote it since ``version`` was read."""
        raw = self.lookup(db, key)
        if raw is None or version_of(raw) != version:
            return False
        self._remove(db, mkey(db, key), raw)
        return True

    # ------------------------------------------------------------ WATCH

    def watch(self, db: int, keys: list[bytes]) -> list[int]:
        """Register watchers of ``keys`` and return their versions (see ``key_version``)."""
        watched = self.store.watched
        out = []
        for key in keys:
            mk = mkey(db, key)
            watched[mk] = watched.get(mk, 0) + 1
            out.append(self.key_version(db, key))
        return out

    def key_version(self, db: int, key: bytes) -> int:
        """What WATCH compares: the live record's version; for an absent key, the
        version its deletion took while watched, or 0."""
        raw = self.lookup(db, key)  # (an expired key is deleted here: a tomb if watched)
        if raw is not None:
            return version_of(raw)
        return self.store.tombs.get(mkey(db, key), 0)

    def unwatch(self, items: Iterable[Sequence[Any]]) -> None:  # ([db, key] as the wire has them)
        self.store.unwatch(items)

    def watch_ok(self, epoch: int, items: Iterable[Sequence[Any]]) -> bool:  # [db, key, version]
        """Whether every watched (db, key, version) is unchanged since WATCH read it."""
        if epoch != self.store.epoch:
            return False  # this shard restarted since: its keys may have changed unseen
        return all(self.key_version(db, key) == v for db, key, v in items)

    def key_from(self, db: int, slot: int, probe: bytes) -> bytes | None:
        """The first live key of ``db`` at or after (``slot``, ``probe``), wrapping
        around to the start of ``db``; None when ``db`` has no live key (RANDOMKEY)."""
        start = slot_prefix(db, slot) + probe
        cur = self.txn.cursor(db=self.meta_db)
        now = self.now
        for origin, stop in ((start, None), (DB_PREFIX[db], start)):
            if not cur.set_range(origin):
                continue
            for mk, raw in cur.iternext():
                if db_of(mk) != db or (stop is not None and mk >= stop):
                    break
                if not expired(raw, now):
                    return key_of(mk)
        return None

    def databases(self) -> int:
        """How many databases the server has (``databases``)."""
        return self.ctx.databases


class NotifyingKeyspace(Keyspace):
    """A batch's Keyspace while notify-keyspace-events asks for events: ``notify``
    records those of the classes asked for, in order, for the daemon to publish once the
    batch has committed. The inline one-element paths are not taken (their general
    paths report the events), and while ``reading`` (a read-only command runs) a key
    looked up and not found is a "keymiss"."""

    __slots__ = ("flags", "events")
    inline_paths = False  # (zsets.zadd_one asks)

    def __init__(self, store: Store, txn: lmdb.Transaction[bytes], now_ms: int, flags: int) -> None:
        super().__init__(store, txn, now_ms)
        self.flags = flags
        self.events: list[tuple[bytes, int, bytes]] = []

    def notify(self, cls: int, event: bytes, db: int, key: bytes) -> None:
        if self.flags & cls:
            self.events.append((event, db, key))

    def lookup(self, db: int, key: bytes) -> bytes | None:
        raw = super().lookup(db, key)
        if raw is None and self.reading:
            self.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)
        return raw

    def coll(self, db: int, key: bytes, type_: int) -> Coll | None:
        c = super().coll(db, key, type_)
        if c is None and self.reading:
            self.notify(NOTIFY_KEY_MISS, b"keymiss", db, key)
        return c

    def set_plain(self, db: int, key: bytes, value: bytes) -> None:
        self.put(db, key, STRING, value)

    def push_one(self, db: int, key: bytes, value: bytes, left: bool) -> None:
        return None

    def pop_one(self, db: int, key: bytes, left: bool) -> None:
        return None

    def put_one(self, db: int, key: bytes, type_: int, member: bytes, value: bytes = b"",
                index_of: Callable[[bytes], bytes] | None = None) -> None:
        return None


class CollectingKeyspace(NotifyingKeyspace):
    """Records every keyspace event with its class (``collected``), whatever the flags:
    the coordinator's scratch store (shardis/coord/scratch.py) hands them to the shards,
    which filter them by their own notify-keyspace-events (``__notify``). (Here, not
    there: a compiled class takes no interpreted subclass.)"""

    __slots__ = ("collected",)

    def __init__(self, store: Store, txn: lmdb.Transaction[bytes], now_ms: int, flags: int) -> None:
        super().__init__(store, txn, now_ms, flags)
        self.collected: list[tuple[int, bytes, int, bytes]] = []

    def notify(self, cls: int, event: bytes, db: int, key: bytes) -> None:
        self.collected.append((cls, event, db, key))
