"""The storage engine in-process, no sockets: LMDB store, Keyspace batches, and the
family handlers called straight from the command table with a fake clock."""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import sys

import lmdb
import pytest

from shardis.shardd.daemon import Shard
from shardis.shardd.storage import HASH, LIST, STRING, Keyspace, Store, mkey
from shardis import errors, wire
from shardis.assembly import build_table
from shardis.config import Config
from shardis.resp import OK, ReplyError
from shardis.slots import NSLOTS, key_slot

NOW = 1_700_000_000_000  # the fake clock, in ms
TABLE = build_table()


@pytest.fixture
def store(tmp_path):
    s = Store(str(tmp_path / "shard"), "everysec", 1 << 24)
    yield s
    s.close()


@contextlib.contextmanager
def batch(store: Store, now: int = NOW):
    """One batch as the daemon runs it: a write transaction, commit, counts folded in."""
    txn = store.env.begin(write=True)
    ks = Keyspace(store, txn, now)
    try:
        yield ks
        ks.finish()
        txn.commit()
    except BaseException:
        txn.abort()
        raise
    ks.committed()


def call(ks: Keyspace, *args, db: int = 0):
    """Run one command's shard handler; an error reply comes back as its text."""
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    spec = TABLE.lookup(argv[0])
    assert spec is not None and spec.handler is not None, args[0]
    assert spec.arity_ok(len(argv)), args
    try:
        return spec.handler(ks, db, argv)
    except ReplyError as e:
        return e.args[0]


def keys_of(ks: Keyspace, db: int = 0) -> set[bytes]:
    return {k for k, _ in ks.iter_db(db)}


# ------------------------------------------------------------------ strings and keys


def test_set_get_and_databases(store):
    with batch(store) as ks:
        assert call(ks, "SET", "k", b"\x00\xff\r\n") is OK
        assert call(ks, "SET", "k", "v1", db=1) is OK
        assert call(ks, "GET", "k") == b"\x00\xff\r\n"
        assert call(ks, "GET", "k", db=1) == b"v1"
        assert call(ks, "GET", "nope") is None
    with batch(store) as ks:  # committed, seen by the next batch
        assert call(ks, "GET", "k") == b"\x00\xff\r\n"
        assert call(ks, "GET", "k", db=2) is None


def test_wrongtype_comes_from_storage(store):
    with batch(store) as ks:
        c = ks.new_coll(0, b"l", LIST)  # a one-element list, written through the storage API
        c.count = 1
        ks.mput(c, b"\0" * 8, b"x")
        ks.save_coll(c)
        assert call(ks, "GET", "l") == errors.WRONGTYPE
        assert call(ks, "APPEND", "l", "x") == errors.WRONGTYPE
        assert call(ks, "TYPE", "l") is not None
        assert call(ks, "SET", "l", "s") is OK  # SET replaces any type
        assert call(ks, "GET", "l") == b"s"


def test_ttl_with_fake_clock(store):
    with batch(store, NOW) as ks:
        assert call(ks, "SET", "k", "v", "PX", 1000) is OK
        assert call(ks, "SET", "p", "v") is OK
        assert call(ks, "PTTL", "k") == 1000
        assert call(ks, "TTL", "p") == -1
        assert call(ks, "TTL", "missing") == -2
    with batch(store, NOW + 999) as ks:
        assert call(ks, "GET", "k") == b"v"
        assert call(ks, "PTTL", "k") == 1
        assert ks.size(0) == (2, 1)
    with batch(store, NOW + 1001) as ks:
        assert call(ks, "GET", "k") is None   # lazily expired on access
        assert call(ks, "PTTL", "k") == -2
        assert ks.size(0) == (1, 0)
        assert call(ks, "GET", "p") == b"v"
    with batch(store, NOW + 1001) as ks:
        assert ks.size(0) == (1, 0)


def test_key_lives_through_its_expiry_millisecond(store):
    with batch(store, NOW) as ks:
        call(ks, "SET", "k", "v", "PX", 1000)
    with batch(store, NOW + 1000) as ks:
        assert call(ks, "PTTL", "k") == 0
        assert call(ks, "GET", "k") == b"v"


def test_expire_persist_and_counts(store):
    with batch(store) as ks:
        for k in ("a", "b", "c"):
            call(ks, "SET", k, "1")
        assert call(ks, "EXPIRE", "a", 100) == 1
        assert call(ks, "PEXPIRE", "b", 100) == 1
        assert call(ks, "EXPIRE", "nope", 100) == 0
        assert ks.size(0) == (3, 2)
    with batch(store) as ks:
        assert ks.size(0) == (3, 2)
        assert call(ks, "PERSIST", "a") == 1
        assert call(ks, "PERSIST", "a") == 0
        assert call(ks, "DEL", "b", "c", "nope") == 2
        assert ks.size(0) == (1, 0)
        assert call(ks, "DBSIZE") == 1
    with batch(store, NOW + 10**9) as ks:
        assert call(ks, "GET", "a") == b"1"      # persisted: never expires
        assert call(ks, "EXPIRE", "a", -1) == 1  # a time in the past deletes
        assert call(ks, "EXISTS", "a") == 0
        assert ks.size(0) == (0, 0)


def test_set_keepttl_and_overwrite_counts(store):
    with batch(store) as ks:
        call(ks, "SET", "k", "v", "EX", 10)
        call(ks, "SET", "k", "w", "KEEPTTL")
        assert call(ks, "PTTL", "k") == 10000
        assert ks.size(0) == (1, 1)
        call(ks, "SET", "k", "x")               # a plain SET drops the TTL
        assert call(ks, "TTL", "k") == -1
        assert ks.size(0) == (1, 0)
    with batch(store, NOW + 20000) as ks:       # the old expiry entry is gone too
        assert ks.sweep(100) == 0
        assert call(ks, "GET", "k") == b"x"


def test_counts_over_many_random_batches(store):
    """ks.size always equals the live keys, across commits and with TTLs."""
    rng = random.Random(7)
    model: dict[bytes, int] = {}  # key -> expire-at (0 = none)
    now = NOW
    for _ in range(40):
        # Even clock, odd TTLs: never at a key's exact expiry millisecond.
        now += 2 * rng.randint(0, 25)
        with batch(store, now) as ks:
            for _ in range(rng.randint(1, 20)):
                k = b"k%d" % rng.randint(0, 30)
                op = rng.random()
                if op < 0.4:
                    ttl = rng.choice([0, 0, 2 * rng.randint(0, 50) + 1])
                    call(ks, "SET", k, "v", *(("PX", ttl) if ttl else ()))
                    model[k] = now + ttl if ttl else 0
                elif op < 0.6:
                    call(ks, "DEL", k)
                    model.pop(k, None)
                elif op < 0.8:
                    call(ks, "GET", k)
                else:
                    call(ks, "PERSIST", k)
                    if k in model and (model[k] == 0 or model[k] > now):
                        model[k] = 0
                for key, exp in list(model.items()):
                    if exp and exp <= now:
                        del model[key]
            live = keys_of(ks)
            assert live == set(model)
            # Keys past their time but not yet touched still count, as in Redis.
            keys, expiring = ks.size(0)
            assert keys >= len(live)
            assert keys - expiring <= len(live)
        with batch(store, now) as ks:
            ks.sweep(10**6)
            assert ks.size(0) == (len(model), sum(1 for e in model.values() if e))


def test_flushdb_and_flushall(store):
    with batch(store) as ks:
        for db in (0, 1, 2):
            for i in range(20):
                call(ks, "SET", "k%d" % i, "v", "EX", 100 if i % 2 else 0, db=db) \
                    if i % 2 else call(ks, "SET", "k%d" % i, "v", db=db)
    with batch(store) as ks:
        assert [ks.size(db) for db in (0, 1, 2)] == [(20, 10)] * 3
        assert call(ks, "FLUSHDB", db=1) is OK
        assert ks.size(1) == (0, 0) and not keys_of(ks, 1)
        assert ks.size(0) == (20, 10)
    with batch(store) as ks:
        assert ks.size(1) == (0, 0)
        call(ks, "SET", "new", "v", db=3)
        assert call(ks, "FLUSHALL") is OK
        assert [ks.size(db) for db in (0, 1, 2, 3)] == [(0, 0)] * 4
        call(ks, "SET", "after", "v")           # writes after FLUSHALL in the same batch
        assert ks.size(0) == (1, 0)
    with batch(store, NOW + 10**9) as ks:
        assert [ks.size(db) for db in (0, 1, 2, 3)] == [(1, 0), (0, 0), (0, 0), (0, 0)]
        assert ks.sweep(1000) == 0               # the expiry index was emptied too
        assert keys_of(ks) == {b"after"}


def test_active_sweep(store):
    with batch(store) as ks:
        for i in range(50):
            call(ks, "SET", "e%d" % i, "v", "PX", 10 + 2 * i)
        call(ks, "SET", "keep", "v", "PX", 10**6)
        call(ks, "SET", "forever", "v")
    with batch(store, NOW + 10 + 2 * 24 + 1) as ks:     # e0..e24 are due
        assert ks.sweep(10) == 10                # bounded per round
        assert ks.sweep(100) == 15
        assert ks.sweep(100) == 0
        assert ks.size(0) == (27, 26)
    with batch(store, NOW + 10**5) as ks:
        assert ks.sweep(1000) == 25
        assert keys_of(ks) == {b"keep", b"forever"}
        assert ks.size(0) == (2, 1)


def test_export_restore(store):
    with batch(store) as ks:
        call(ks, "SET", "src", "value", "PX", 5000)
        call(ks, "SET", "dst", "old", "PX", 100)
        rec = ks.export(0, b"src")
        assert rec == [STRING, NOW + 5000, b"value"]
        assert ks.export(0, b"missing") is None
        ks.restore(0, b"dst", rec)
        ks.restore(1, b"copy", [STRING, 0, b"plain"])
        c = ks.new_coll(2, b"hsrc", HASH)  # a collection travels with its members
        c.count = 2
        ks.mput(c, b"f1", b"v1")
        ks.mput(c, b"f2", b"v2")
        ks.save_coll(c)
        ks.restore(0, b"h", ks.export(2, b"hsrc"))
        h = ks.coll(0, b"h", HASH)
        assert h.id != c.id and h.count == 2
        assert list(ks.mrange(h)) == [(b"f1", b"v1"), (b"f2", b"v2")]
        assert call(ks, "GET", "dst") == b"value"
        assert call(ks, "PTTL", "dst") == 5000
        assert call(ks, "GET", "copy", db=1) == b"plain"
        assert call(ks, "GET", "h") == errors.WRONGTYPE
        assert ks.size(0) == (3, 2) and ks.size(1) == (1, 0)
    # dst's old expiry entry (NOW + 100) must not take the restored key with it.
    with batch(store, NOW + 1000) as ks:
        assert ks.sweep(100) == 0
        assert call(ks, "GET", "dst") == b"value"


def test_scan_slots_order_and_completeness(store):
    rng = random.Random(3)
    keys = {rng.randbytes(rng.randint(1, 12)) for _ in range(600)}
    keys |= {b"{tag}%d" % i for i in range(30)}  # one crowded slot
    expired = set(list(keys)[:40])
    with batch(store) as ks:
        for k in keys:
            ks.set_string(0, k, b"v", NOW + 10 if k in expired else 0)
            ks.set_string(1, k, b"other db")
    live = keys - expired
    for count in (1, 10, 1000):
        with batch(store, NOW + 20) as ks:
            seen: list[bytes] = []
            slot, calls = 0, 0
            last_slot = -1
            while slot < NSLOTS:
                got, nxt = ks.scan_slots(0, slot, NSLOTS, count)
                calls += 1
                assert nxt > slot
                slots = [key_slot(k) for k, _ in got]
                assert slots == sorted(slots)
                assert all(slot <= s < nxt for s in slots)
                assert not slots or slots[0] > last_slot
                if slots:
                    last_slot = slots[-1]
                    # Whole slots: every live key of each slot it touched.
                    for s in set(slots):
                        assert {k for k in live if key_slot(k) == s} == \
                            {k for k, _ in got if key_slot(k) == s}
                seen += [k for k, _ in got]
                slot = nxt
            assert len(seen) == len(set(seen))
            assert set(seen) == live
            if count == 1000:
                assert calls == 1
    with batch(store, NOW + 20) as ks:           # a sub-range stops at its end
        got, nxt = ks.scan_slots(0, 100, 5000, 10**6)
        assert nxt == 5000
        assert {k for k, _ in got} == {k for k in live if 100 <= key_slot(k) < 5000}


def test_meta_key_layout_groups_db_and_slot(store):
    assert mkey(3, b"{user1000}.a")[:3] == bytes([3]) + key_slot(b"user1000").to_bytes(2, "big")
    assert mkey(0, b"foo")[3:] == b"foo"


def test_reopen_keeps_data_and_counts(tmp_path):
    path = str(tmp_path / "shard")
    s = Store(path, "everysec", 1 << 22)
    with batch(s) as ks:
        for i in range(100):
            call(ks, "SET", "k%d" % i, "v%d" % i, *(("EX", 1000) if i < 30 else ()))
        call(ks, "SET", "x", "y", db=5)
    s.close()
    s = Store(path, "everysec", 1 << 22)
    try:
        with batch(s) as ks:
            assert ks.size(0) == (100, 30) and ks.size(5) == (1, 0)
            assert call(ks, "GET", "k42") == b"v42"
            assert call(ks, "TTL", "k3") == 1000
            call(ks, "DEL", "k1")
        with batch(s) as ks:
            assert ks.size(0) == (99, 29)
    finally:
        s.close()


def test_aborted_batch_changes_nothing(store):
    with batch(store) as ks:
        call(ks, "SET", "a", "1")
    with pytest.raises(RuntimeError):
        with batch(store) as ks:
            call(ks, "SET", "b", "1")
            call(ks, "DEL", "a")
            raise RuntimeError("boom")
    with batch(store) as ks:
        assert ks.size(0) == (1, 0)
        assert keys_of(ks) == {b"a"}


# ------------------------------------------------------------------ LMDB map growth


class Outbox:
    """Stands in for the shard's ROUTER socket: keeps what it would send."""

    def __init__(self) -> None:
        self.sent: list[list[bytes]] = []

    def send_multipart(self, frames) -> None:
        self.sent.append(frames)


@pytest.fixture
def tiny_shard(tmp_path):
    """A shard whose LMDB map starts at 256 KB."""
    cfg = Config(dir=str(tmp_path), shards=1, durability="everysec", map_size=256 << 10)
    shard = Shard(cfg, 0, TABLE)
    real = shard.sock
    shard.sock = Outbox()
    yield shard
    real.close(0)
    shard.ctx.term()
    shard.store.close()


def test_full_map_grows_and_never_surfaces(tiny_shard):
    shard = tiny_shard
    set_id = TABLE.lookup(b"set").id
    get_id = TABLE.lookup(b"get").id
    assert shard.table.lookup(b"set").id == set_id
    value = b"x" * 4000
    start = shard.store.env.info()["map_size"]
    # One batch far bigger than the map, then many smaller ones.
    cmds = [(set_id, 0, [b"set", b"big%d" % i, value]) for i in range(400)]
    shard.run_batch([[b"id", wire.pack((1, cmds))]])
    for n in range(20):
        cmds = [(set_id, 0, [b"set", b"k%d-%d" % (n, i), value]) for i in range(50)]
        shard.run_batch([[b"id", wire.pack((2 + n, cmds))]])
    cmds = [(get_id, 0, [b"get", b"big399"]), (get_id, 0, [b"get", b"k19-49"])]
    shard.run_batch([[b"id", wire.pack((99, cmds))]])
    replies = [wire.unpack(frames[1]) for frames in shard.sock.sent]
    assert [bid for bid, _ in replies] == [1] + list(range(2, 22)) + [99]
    for bid, rs in replies[:-1]:
        assert set(rs) == {b"+OK\r\n"}, bid
    assert replies[-1][1] == [b"$4000\r\n" + value + b"\r\n"] * 2
    assert shard.store.env.info()["map_size"] > start
    with batch(shard.store) as ks:
        assert ks.size(0) == (1400, 0)


def test_keyspace_raises_map_full_for_the_daemon_to_retry(tmp_path):
    """Without the daemon's loop the error is LMDB's; the daemon catches it, grows, reruns."""
    s = Store(str(tmp_path / "shard"), "everysec", 64 << 10)
    try:
        with pytest.raises(lmdb.MapFullError):
            with batch(s) as ks:
                for i in range(1000):
                    ks.set_string(0, b"k%d" % i, b"x" * 1000)
        s.grow()
        with batch(s) as ks:
            assert ks.size(0) == (0, 0)          # nothing of the failed batch stayed
    finally:
        s.close()


def test_members_too_long_for_an_lmdb_key_are_refused_before_any_write(store):
    """LMDB keys hold 511 bytes: longer fields/members get a clear error, nothing half
    written, and reads of such a member answer as for a missing one."""
    long = "x" * 600
    msg = errors.MEMBER_TOO_LONG % 493
    with batch(store) as ks:
        assert call(ks, "HSET", "h", "a", "1", long, "2") == msg
        assert call(ks, "HLEN", "h") == 0 and call(ks, "EXISTS", "h") == 0
        assert call(ks, "SADD", "s", "a", long) == msg
        assert call(ks, "SCARD", "s") == 0
        assert call(ks, "HSET", "h", "a", "1") == 1
        assert call(ks, "HINCRBY", "h", long, "1") == msg
        assert call(ks, "HGET", "h", long) is None and call(ks, "HDEL", "h", long) == 0
        assert call(ks, "HLEN", "h") == 1
        assert call(ks, "RPUSH", "l", long) == 1  # list elements are values: any size
        assert call(ks, "LINDEX", "l", "0") == long.encode()


def test_watches_of_a_dead_router_are_dropped(tiny_shard):
    """A router that dies never UNWATCHes for its clients: the shard drops what it
    registered (its identity names its pid), and keeps what live routers hold."""
    shard = tiny_shard
    watch_id = TABLE.lookup(b"__watch").id
    unwatch_id = TABLE.lookup(b"__unwatch").id
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead, live = wire.router_ident(gone.pid), wire.router_ident(os.getpid())
    assert not wire.router_alive(dead) and wire.router_alive(live)
    for ident in (dead, live):
        cmds = [(watch_id, 0, [b"__watch", b"a", b"b"]), (watch_id, 1, [b"__watch", b"a"])]
        shard.run_batch([[ident, wire.pack((1, cmds))]])
    assert shard.store.watched == {mkey(0, b"a"): 2, mkey(0, b"b"): 2, mkey(1, b"a"): 2}
    # The live router's clients unwatch one key; then the dead router's go.
    cmds = [(unwatch_id, 0, [b"__unwatch", wire.pack([[1, b"a"]])])]
    shard.run_batch([[live, wire.pack((2, cmds))]])
    shard.forget_dead_routers()
    assert shard.store.watched == {mkey(0, b"a"): 1, mkey(0, b"b"): 1}
    assert list(shard.watchers) == [live]

