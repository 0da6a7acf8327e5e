"""maxmemory and eviction in a shard: the access data (LRU clock, LFU counter, S3-FIFO
queues), what the shard counts as its memory, and the choice of keys to evict.

What is counted: the bytes of the LMDB pages the data occupies, branch + leaf +
overflow pages of the shard's four data databases (``meta``, ``expires``, ``members``,
``index``) times the page size, as the batch's write transaction sees them
(``txn.stat``: a few microseconds). Each shard enforces ``maxmemory / nshards``.
LMDB frees a page only once it is empty or merged (below a quarter full), so
deleting a key seldom shrinks the figure at once: the bytes of the keys evicted are
kept as a credit against it until the pages come back (``Evictor.over``), else
one eviction would run into the next until the shard was nearly empty.

Access data lives in the shard's memory, never on disk (a read costs no write): the
handlers append the meta keys they look up or write to the batch's ``touched`` list
and the removed ones to ``dropped``; ``after`` folds them in once per batch. It is a
fixed table of 2^20 slots indexed by the key's hash (``AccessTable``, shardd/access.py), not a map of
keys: a dict entry per key kept every key written alive in the shard's heap, which
cost SET 0.7 us (bench/RESULTS.md). Keys that share a slot share their access
data, as approximate as Redis' sampling already is: with fewer keys than slots
they seldom do. A key
not touched since the shard started counts as last accessed then (LFU: a fresh
key's counter), as Redis starts fresh on restart unless its RDB carries it.

Eviction runs once per batch, before its commands (``before``): while the shard is
over its limit a key is chosen and deleted ("evicted" event, evicted_keys), as
Redis' performEvictions. The choice: Redis' way for the LRU, LFU and TTL policies
(``maxmemory-samples`` keys sampled at random positions of the LMDB B-tree, an
eviction pool of the 16 best candidates kept between evictions), one sampled key
for the random ones, and S3-FIFO's queues for ``*-s3fifo`` (a small FIFO of about
10% of the tracked keys, a main FIFO, a ghost queue of keys evicted from the small
one, 2-bit frequencies: Yang et al., SOSP 2023). The keys evicted are logged with
the batch (``Shard._apply``), so a replay of the write-ahead log evicts the same ones.
"""

from __future__ import annotations

import bisect
import collections
import random
from typing import Any, Callable

from shardis import configtable, errors
from shardis.config import Config
from shardis.resp import ReplyError
from shardis.shardd.disk.keys import CHUNKED, DB_PREFIX, EXP, NO_EXPIRY, SLOT_BYTES, STRING
from shardis.shardd.disk import chunks
from shardis.shardd.access import AccessTable
from shardis.shardd.storage import Keyspace, Store

POLICIES = ("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru",
            "allkeys-lfu", "allkeys-random", "noeviction", "allkeys-s3fifo", "volatile-s3fifo")
LFU_INIT_VAL = 5      # a new key's LFU counter (Redis' LFU_INIT_VAL)
POOL_SIZE = 16        # Redis' EVPOOL_SIZE
MAX_PER_BATCH = 1000  # evictions before a batch runs anyway (Redis: maxmemory-eviction-tenacity)
NODE_OVERHEAD = 16    # bytes per LMDB node beyond its key and value (header, page index)
SKIP_MAX = 64         # the farthest a sample walks within a slot
GHOST_MIN = 1024      # the ghost queue remembers at least this many keys
# The write-ahead log's injections (``Shard.injected``, shardd/recovery.py): the keys a
# batch evicted before its commands, and the messages that ran with -OOM for denyoom.
EVICTED = -3
OOM = -4
# The CONFIG parameters an Evictor takes.
PARAMS = ("maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time")


def settings_of(cfg: Config) -> dict[str, Any]:
    """The PARAMS' values in a Config (cluster.toml's, at start)."""
    out: dict[str, Any] = {}
    for name in PARAMS:
        found = configtable.lookup(name)
        if found is not None:
            out[name] = configtable.get_value(cfg, found[0])
    return out


class S3Fifo:
    """S3-FIFO's queues over meta keys: ``small`` and ``main`` map a key to its
    frequency (0..3), in FIFO order; ``ghost`` remembers keys evicted from ``small``."""

    def __init__(self) -> None:
        self.small: collections.OrderedDict[bytes, int] = collections.OrderedDict()
        self.main: collections.OrderedDict[bytes, int] = collections.OrderedDict()
        self.ghost: collections.OrderedDict[bytes, None] = collections.OrderedDict()

    def touch(self, keys: list[bytes]) -> None:
        small, main, ghost = self.small, self.main, self.ghost
        for mk in keys:
            f = small.get(mk)
            if f is not None:
                if f < 3:
                    small[mk] = f + 1
                continue
            f = main.get(mk)
            if f is not None:
                if f < 3:
                    main[mk] = f + 1
                continue
            if mk in ghost:  # seen lately: straight to the main queue
                del ghost[mk]
                main[mk] = 0
            else:
                small[mk] = 0

    def drop(self, keys: list[bytes]) -> None:
        for mk in keys:
            self.small.pop(mk, None)
            self.main.pop(mk, None)

    def candidate(self, valid: Callable[[bytes], bool]) -> bytes | None:
        """The next key to evict (removed from the queues), or None when none is left;
        ``valid(mk)``: whether the key may go (live, and with a TTL for volatile-s3fifo)."""
        small, main = self.small, self.main
        # (each key is looked at a bounded number of times: a frequency only falls)
        for _ in range(4 * (len(small) + len(main)) + 4):
            if small and len(small) * 10 >= len(small) + len(main):
                mk, f = small.popitem(last=False)
                if not valid(mk):
                    continue
                if f > 0:
                    main[mk] = 0  # (frequency starts again in the main queue)
                    continue
                self._ghost(mk, len(main))
                return mk
            if not main:
                if not small:
                    return None
                mk, f = small.popitem(last=False)
                if valid(mk):
                    self._ghost(mk, 0)
                    return mk
                continue
            mk, f = main.popitem(last=False)
            if not valid(mk):
                continue
            if f > 0:
                main[mk] = f - 1  # another round in the main queue
                continue
            return mk
        return None

    def _ghost(self, mk: bytes, main_size: int) -> None:
        ghost = self.ghost
        ghost[mk] = None
        limit = max(GHOST_MIN, main_size + len(self.small))  # (as many as the queues hold)
        while len(ghost) > limit:
            ghost.popitem(last=False)

    def clear(self) -> None:
        self.small.clear()
        self.main.clear()
        self.ghost.clear()


class Evictor:
    """One shard's maxmemory settings, access data and eviction (``ShardContext.evictor``)."""

    def __init__(self, store: Store, nshards: int, slots: range, start_ms: int) -> None:
        self.store = store
        self.nshards = max(1, nshards)
        self.slots = slots
        self.psize = store.env.stat()["psize"]
        self.start_ms = start_ms
        self.maxmemory = 0   # the server's, as CONFIG has it
        self.limit = 0       # this shard's share
        self.policy = "noeviction"
        self.samples = 5
        self.log_factor = 10
        self.decay_time = 1
        self.lfu = False
        self.volatile = False
        self.s3: S3Fifo | None = None
        # mk -> last access (ms) under LRU policies, (minutes << 8) | counter under LFU ones
        self.access = AccessTable()
        self.pool: list[tuple[int, bytes]] = []  # (score, mk), best last
        self.credit = 0      # bytes evicted that the page count does not show yet
        self.last_used = 0
        self.last_keys = 0
        self.key_bytes = 0   # the mean size of the keys evicted (``counted``)
        self.nevicted = 0
        self.evicted: list[bytes] = []  # by the running batch (the daemon logs them)
        self.rng = random.Random()

    # ------------------------------------------------------------ settings

    def configure(self, settings: dict[str, Any]) -> None:
        """The maxmemory parameters among shared settings (CONFIG SET, cluster.toml)."""
        if "maxmemory" in settings:
            self.maxmemory = int(settings["maxmemory"])
            self.limit = self.maxmemory // self.nshards
        if "maxmemory-samples" in settings:
            self.samples = max(1, int(settings["maxmemory-samples"]))
        if "lfu-log-factor" in settings:
            self.log_factor = int(settings["lfu-log-factor"])
        if "lfu-decay-time" in settings:
            self.decay_time = int(settings["lfu-decay-time"])
        policy = settings.get("maxmemory-policy")
        if policy is not None and policy != self.policy:
            lfu = policy.endswith("-lfu")
            if lfu != self.lfu:
                self.access.clear()  # (LRU clocks read as LFU counters mean nothing)
            self.policy = policy
            self.lfu = lfu
            self.volatile = policy.startswith("volatile-")
            self.pool = []
            if policy.endswith("-s3fifo"):
                if self.s3 is None:
                    self.s3 = S3Fifo()
            else:
                self.s3 = None

    # ------------------------------------------------------------ access data

    def after(self, ks: Keyspace) -> None:
        """Fold a committed batch's lookups and removals into the access data, and its
        hits and misses into INFO's counters."""
        got = ks.got
        if got:
            ks.hits += len(got)
            self.touch(got, ks.now)
            ks.got = []
        if ks.hits or ks.misses:
            counters = self.store.counters
            counters["keyspace_hits"] += ks.hits
            counters["keyspace_misses"] += ks.misses
            ks.hits = ks.misses = 0
        touched, dropped = ks.touched, ks.dropped
        if touched:
            self.touch(touched, ks.now)
            ks.touched = []
        if dropped:
            self.access.pop_all(dropped)
            if self.s3 is not None:
                self.s3.drop(dropped)
            ks.dropped = []

    def touch(self, touched: list[bytes], now_ms: int) -> None:
        if self.lfu:
            access = self.access
            minutes = now_ms // 60000
            for mk in touched:
                v = access.get(mk)
                if v is None:
                    access[mk] = (minutes << 8) | LFU_INIT_VAL
                else:
                    access[mk] = (minutes << 8) | self.log_incr(self.decayed(v, minutes))
        else:
            self.access.set_all(touched, now_ms)
        if self.s3 is not None:
            self.s3.touch(touched)

    def log_incr(self, counter: int) -> int:
        """Redis' LFULogIncr: a logarithmic 8-bit counter, incremented with probability
        1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)."""
        if counter == 255:
            return 255
        base = max(0, counter - LFU_INIT_VAL)
        if self.rng.random() < 1.0 / (base * self.log_factor + 1):
            return counter + 1
        return counter

    def decayed(self, v: int, minutes: int) -> int:
        """Redis' LFUDecrAndReturn: the counter less one per lfu-decay-time minutes since
        it was last updated."""
        counter = v & 255
        if not self.decay_time:
            return counter
        periods = (minutes - (v >> 8)) // self.decay_time
        return 0 if periods > counter else counter - max(0, periods)

    def flush(self, ks: Keyspace) -> None:
        """Fold what the running batch touched so far (OBJECT reads the access data)."""
        if ks.got:
            ks.hits += len(ks.got)
            self.touch(ks.got, ks.now)
            ks.got = []
        if ks.touched:
            self.touch(ks.touched, ks.now)
            ks.touched.clear()  # (in place: a NOTOUCH wrapper may hold the list)

    def forget_all(self) -> None:
        """FLUSHALL: no key is left."""
        self.access.clear()
        self.pool = []
        if self.s3 is not None:
            self.s3.clear()

    def idle_ms(self, mk: bytes, now_ms: int) -> int:
        """Milliseconds since the key's last access (what LRU eviction compares)."""
        return max(0, now_ms - (self.access.get(mk) or self.start_ms))

    def idle_seconds(self, mk: bytes, now_ms: int) -> int:
        """Seconds since the key's last access, as Redis' LRU clock counts them (whole
        seconds of the clock between the two): OBJECT IDLETIME, DEBUG OBJECT."""
        return max(0, now_ms // 1000 - (self.access.get(mk) or self.start_ms) // 1000)

    def freq(self, mk: bytes, now_ms: int) -> int:
        v = self.access.get(mk)
        if v is None:
            v = ((self.start_ms // 60000) << 8) | LFU_INIT_VAL
        return self.decayed(v, now_ms // 60000)

    # ------------------------------------------------------------ memory

    def used(self, ks: Keyspace) -> int:
        """The bytes of the pages the shard's data occupies (see the module's docstring)."""
        return self.pages(ks)[0]

    def pages(self, ks: Keyspace) -> tuple[int, int]:
        """(bytes of the data's pages, keys in ``meta``)."""
        st, stat = self.store, ks.txn.stat
        pages = 0
        for d in (st.meta, st.expires, st.members, st.index):
            s = stat(d)
            pages += s["branch_pages"] + s["leaf_pages"] + s["overflow_pages"]
        return pages * self.psize, stat(st.meta)["entries"]

    def counted(self, ks: Keyspace) -> int:
        """What maxmemory is compared with: the pages' bytes less the credit, the room
        that evictions left inside pages LMDB keeps. The credit shrinks as pages are
        given back, and as keys are added without the pages growing as much (they
        filled that room; a key's size taken as the mean of the keys evicted)."""
        used, keys = self.pages(ks)
        grown = used - self.last_used
        if grown < 0:
            self.credit -= -grown
        added = keys - self.last_keys
        if added > 0 and self.credit > 0:
            self.credit -= max(0, added * self.key_bytes - max(0, grown))
        self.credit = max(0, min(self.credit, used * 3 // 4))
        self.last_used, self.last_keys = used, keys
        return used - self.credit

    def over(self, ks: Keyspace) -> int:
        """How many bytes the shard is over its limit."""
        return self.counted(ks) - self.limit

    # ------------------------------------------------------------ eviction

    def before(self, ks: Keyspace) -> bool:
        """Evict until the shard is under its limit; True when it stays over with nothing
        to evict (or under noeviction): commands with the denyoom flag answer -OOM."""
        self.evicted = []
        if not self.limit:
            return False
        excess = self.over(ks)
        if excess <= 0:
            return False
        if self.policy == "noeviction":
            return True
        self.after(ks)  # (the access data as of now: lookups of this batch's start)
        n = 0
        while excess > 0:
            if n >= MAX_PER_BATCH:
                return False  # (the batch runs; the next one evicts on)
            victim = self.victim(ks)
            if victim is None:
                return True
            mk, raw = victim
            size = self.size(ks, mk, raw)
            self.credit += size
            self.nevicted += 1
            self.key_bytes += (size - self.key_bytes) // min(self.nevicted, 1000)
            ks.evict(mk, raw)
            self.evicted.append(mk)
            n += 1
            excess = self.over(ks)
        self.after(ks)
        return False

    def victim(self, ks: Keyspace) -> tuple[bytes, bytes] | None:
        """The key to evict next under the policy: (meta key, record), None if none."""
        get, meta = ks.txn.get, self.store.meta
        volatile = self.volatile
        if self.s3 is not None:
            found: list[bytes] = []

            def valid(mk: bytes) -> bool:
                raw = get(mk, None, meta)
                if raw is None or volatile and raw[1:9] == NO_EXPIRY:
                    return False
                found.append(raw)
                return True

            mk = self.s3.candidate(valid)
            if mk is not None:
                return mk, found[-1]
            # (keys the queues never saw: written before this start) the LRU way
        if self.policy.endswith("-random"):
            for _ in range(8):
                picked = self.sample(ks, 1)
                if picked:
                    return picked[0]
            return None
        return self.from_pool(ks)

    def from_pool(self, ks: Keyspace) -> tuple[bytes, bytes] | None:
        """Redis' evictionPoolPopulate and its pick: sample, keep the best POOL_SIZE
        candidates, evict the best one that still exists."""
        pool = self.pool
        get, meta = ks.txn.get, self.store.meta
        have = {mk for _, mk in pool}
        for mk, rec in self.sample(ks, self.samples):
            if mk not in have:
                have.add(mk)
                pool.append((self.score(mk, rec, ks.now), mk))
        pool.sort()
        del pool[:-POOL_SIZE]
        while pool:
            score, mk = pool.pop()
            raw = get(mk, None, meta)
            if raw is None or self.volatile and raw[1:9] == NO_EXPIRY:
                continue
            now = self.score(mk, raw, ks.now)
            if now < score and pool and now < pool[-1][0]:
                # (used since it was sampled: back in its place; scores only fall so)
                bisect.insort(pool, (now, mk))
                continue
            return mk, raw
        return None

    def score(self, mk: bytes, raw: bytes, now_ms: int) -> int:
        """Higher is evicted first: idle time (LRU), 255 - counter (LFU), how soon the key
        expires (volatile-ttl)."""
        if self.policy == "volatile-ttl":
            return (1 << 62) - EXP.unpack_from(raw, 1)[0]
        if self.lfu:
            return 255 - self.freq(mk, now_ms)
        return self.idle_ms(mk, now_ms)

    def sample(self, ks: Keyspace, n: int) -> list[tuple[bytes, bytes]]:
        """``n`` keys (meta key, record) picked at random positions of the B-tree: of
        every key (a database chosen by its size, a slot of this shard's, a walk of a
        few keys into it), or, for volatile-*, of the expiry index (a random time between
        the first and the last)."""
        txn, st, rng = ks.txn, self.store, self.rng
        out: list[tuple[bytes, bytes]] = []
        if self.volatile:
            cur = txn.cursor(db=st.expires)
            if not cur.first():
                return out
            lo = EXP.unpack_from(cur.key())[0]
            cur.last()
            hi = EXP.unpack_from(cur.key())[0]
            for _ in range(n):
                if not cur.set_range(EXP.pack(rng.randint(lo, hi))):
                    cur.last()
                mk = cur.key()[8:]
                raw = txn.get(mk, None, st.meta)
                if raw is not None:
                    out.append((mk, raw))
            return out
        sizes = [(db, ks.size(db)[0]) for db in range(ks.databases())]
        total = sum(k for _, k in sizes)
        if total <= 0:
            return out
        cur = txn.cursor(db=st.meta)
        slots = self.slots
        for _ in range(n):
            r = rng.randrange(total)
            for db, k in sizes:
                if r < k:
                    break
                r -= k
            prefix = DB_PREFIX[db]
            if not cur.set_range(prefix + SLOT_BYTES[rng.choice(slots)]) or cur.key()[:1] != prefix:
                if not cur.set_range(prefix) or cur.key()[:1] != prefix:
                    continue
            for _ in range(rng.randint(0, min(SKIP_MAX, k // len(slots)))):
                if not cur.next() or cur.key()[:1] != prefix:
                    cur.set_range(prefix)
                    break
            out.append((cur.key(), cur.value()))
        return out

    def size(self, ks: Keyspace, mk: bytes, raw: bytes) -> int:
        """About how many bytes deleting a key frees: its record, its expiry entry, and
        its chunks or members (estimated from the first few, as MEMORY USAGE does)."""
        size = len(mk) + len(raw) + NODE_OVERHEAD
        if raw[1:9] != NO_EXPIRY:
            size += 8 + len(mk) + NODE_OVERHEAD
        if raw[0] == CHUNKED:
            return size + chunks.length_of(raw)
        if raw[0] != STRING:
            c = ks._coll_of(mk[0], mk[3:], raw)
            count = c.count
            sample = []
            for kv in ks.mrange(c):
                sample.append(len(kv[0]) + len(kv[1]) + 8 + NODE_OVERHEAD)
                if len(sample) >= 5:
                    break
            if sample:
                size += sum(sample) * count // len(sample)
        return size


# ---------------------------------------------------------------- handler wrappers

# The commands whose lookups leave the access time alone (Redis' LOOKUP_NOTOUCH).
# (``__object`` and ``__debugobject`` see to it themselves: they read the access data.)
NOTOUCH = frozenset(("type", "exists", "ttl", "pttl", "expiretime", "pexpiretime", "__memusage"))
# Commands beside the read-only ones whose keys Redis looks up for reading (a hit or a
# miss): OBJECT (objectCommandLookup; MEMORY USAGE finds the key in the dict), and the
# sources of GEOSEARCHSTORE and BITOP (their destinations are not looked up here).
READING_INTERNAL = frozenset(("__object", "geosearchstore", "bitop"))


def reading(handler: Callable) -> Callable:
    """``handler`` with the batch's keyspace marked as reading while it runs (its lookups
    count as keyspace hits or misses, and a miss is a "keymiss" event)."""
    def run(ks: Keyspace, db: int, args: list[bytes]) -> Any:
        ks.reading = True
        ks.last_read = b""
        try:
            return handler(ks, db, args)
        finally:
            ks.reading = False
    return run


def notouch(handler: Callable) -> Callable:
    """``handler`` whose lookups do not count as accesses."""
    def run(ks: Keyspace, db: int, args: list[bytes]) -> Any:
        touched = ks.touched
        n = len(touched)
        try:
            return handler(ks, db, args)
        finally:
            del touched[n:]
    return run


def wrap_handlers(table: Any, reads: Callable[[Any], bool]) -> None:
    """Wrap the shard's handlers in place: those Redis looks keys up for reading
    (``reads(spec)``) count hits and misses, NOTOUCH ones touch nothing."""
    for spec in table.by_id:
        if spec.handler is None or getattr(spec.handler, "access_wrapped", False):
            continue  # (a table a shard of this process wrapped already)
        handler = spec.handler
        if spec.name in NOTOUCH:
            handler = notouch(handler)
        if reads(spec) or spec.name in READING_INTERNAL:
            handler = reading(handler)
        if handler is not spec.handler:
            setattr(handler, "access_wrapped", True)
            spec.handler = handler


def oom_tables(table: Any, tables: tuple[list, list]) -> tuple[list, list]:
    """(handlers, RESP2 entries) where the commands with the denyoom flag answer -OOM."""
    handlers, resp2 = list(tables[0]), list(tables[1])
    for spec in table.by_id:
        if "denyoom" in spec.flags:
            handlers[spec.id] = _refuse
            resp2[spec.id] = _refuse
    return handlers, resp2


def _refuse(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    raise ReplyError(errors.OOM)
