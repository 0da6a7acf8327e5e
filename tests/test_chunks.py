"""Long strings kept in chunks (shardd/disk/chunks.py).

Against a real redis-server 7.0, with values that cross chunk boundaries: every string and
bitmap command, the ways a key travels (RENAME/COPY across shards, MOVE, SWAPDB, expiry,
FLUSHALL), keyspace events, and random range writes and reads (Hypothesis). In-process:
the same handlers on a store with tiny chunks against one that keeps every value whole
(the layout before chunks), checking after each command that no chunk outlives its key;
restart, resharding and the write-ahead log's replay."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from shardis import wire
from shardis.assembly import build_table
from shardis.config import Config
from shardis.resp import ReplyError
from shardis.shardd.daemon import Shard
from shardis.shardd.disk import chunks
from shardis.shardd.disk.coll import prefix
from shardis.shardd.disk.keys import CHUNKED, STRING
from shardis.shardd.storage import Keyspace, Store
from shardis.slots import key_slot, slot_table
from tests.helpers import RawClient, Shardis, compare_keyspace_events

TABLE = build_table()
NOW = 1_700_000_000_000
C = chunks.CHUNK
BIG = 3 * C + 1234  # four chunks, the last one partly filled
SHARD_OF = slot_table(3)  # the session cluster's


def blob(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


def two_shards() -> tuple[str, str]:
    """Two keys the session cluster keeps on different shards."""
    keys = [f"k{i}" for i in range(20)]
    a = keys[0]
    b = next(k for k in keys if SHARD_OF[key_slot(k.encode())] != SHARD_OF[key_slot(a.encode())])
    return a, b


# ------------------------------------------------------------------ against redis-server


def test_commands_across_chunk_boundaries(pair):
    v = blob(BIG, 1)
    edge = C * 8  # the first bit of the second chunk
    cmds = [
        ("SET", "s", v), ("STRLEN", "s"), ("GET", "s"), ("TYPE", "s"), ("OBJECT", "ENCODING", "s"),
        ("GETRANGE", "s", "0", "10"), ("GETRANGE", "s", str(C - 5), str(C + 5)),
        ("GETRANGE", "s", "-100", "-1"), ("GETRANGE", "s", str(-C - 3), str(-C + 3)),
        ("GETRANGE", "s", "0", "-1"), ("GETRANGE", "s", "-1", "-100"), ("GETRANGE", "s", "5", "2"),
        ("GETRANGE", "s", str(BIG - 3), str(BIG + 100)), ("GETRANGE", "s", str(BIG), str(BIG + 5)),
        ("GETRANGE", "s", str(-10 * BIG), str(C)), ("SUBSTR", "s", str(2 * C - 1), str(2 * C)),
        ("SETRANGE", "s", str(C - 3), "abcdefgh"), ("GETRANGE", "s", str(C - 10), str(C + 10)),
        ("SETRANGE", "s", str(BIG + 2 * C + 7), "tail"), ("STRLEN", "s"),  # a gap of two chunks
        ("GETRANGE", "s", str(BIG - 5), str(BIG + 20)), ("GETRANGE", "s", "-6", "-1"), ("GET", "s"),
        ("SETRANGE", "s", "0", ""), ("SETRANGE", "s", str(BIG + C), "z" * (2 * C)), ("GET", "s"),
        ("APPEND", "s", "x" * C), ("STRLEN", "s"), ("GETRANGE", "s", "-20", "-1"), ("APPEND", "s", ""),
        ("SETBIT", "s", str(edge - 1), "1"), ("GETBIT", "s", str(edge - 1)),
        ("SETBIT", "s", str(edge), "0"), ("GETBIT", "s", str(edge)), ("SETBIT", "s", str(edge), "0"),
        ("SETBIT", "s", str(12 * edge + 3), "1"), ("STRLEN", "s"), ("GETBIT", "s", str(12 * edge + 3)),
        ("GETBIT", "s", str(11 * edge)), ("GETBIT", "s", str(13 * edge)),
        ("BITCOUNT", "s"), ("BITCOUNT", "s", "0", "-1"), ("BITCOUNT", "s", str(C - 2), str(C + 2)),
        ("BITCOUNT", "s", str(edge - 9), str(edge + 9), "BIT"), ("BITCOUNT", "s", "-5", "-1"),
        ("BITCOUNT", "s", str(-3 * C), str(-C), "BYTE"), ("BITCOUNT", "s", str(7 * C), str(8 * C)),
        ("BITPOS", "s", "1", str(BIG), "-1"), ("BITPOS", "s", "0"), ("BITPOS", "s", "1", str(-C)),
        ("BITPOS", "s", "0", str(edge - 3), str(edge + 3), "BIT"), ("BITPOS", "s", "1", str(9 * C)),
        ("BITPOS", "s", "1", str(7 * C), str(11 * C)), ("BITPOS", "s", "0", str(BIG + 2 * C)),
        ("BITFIELD", "s", "GET", "i16", str(edge - 8), "SET", "u32", str(edge - 16), "4294967295",
         "INCRBY", "i8", str(2 * edge - 4), "100", "GET", "i64", str(edge - 30)),
        ("BITFIELD_RO", "s", "GET", "u8", str(edge - 4), "GET", "i32", str(3 * edge - 5)),
        ("BITFIELD", "s", "SET", "u8", str(20 * edge), "1", "GET", "u8", str(20 * edge)),
        ("STRLEN", "s"), ("GET", "s"), ("BITFIELD", "s", "GET", "u8", str(30 * edge)),
        ("INCR", "s"), ("INCRBY", "s", "2"), ("DECR", "s"), ("INCRBYFLOAT", "s", "1.5"), ("PFADD", "s", "a"),
        ("GETSET", "s", "small"), ("GET", "s"), ("SET", "s", v), ("GETDEL", "s"), ("EXISTS", "s"),
        ("SET", "s", v, "GET"), ("SET", "s", "tiny", "GET"), ("APPEND", "s", v), ("GET", "s"),
        ("MGET", "s", "nokey", "s"), ("GETEX", "s", "PX", "100000"), ("PERSIST", "s"), ("TTL", "s"),
        ("SETRANGE", "z", str(3 * C), "!"), ("GET", "z"), ("INCR", "z"),  # created sparse
        ("SETBIT", "b", str(5 * edge), "0"), ("GET", "b"), ("BITCOUNT", "b"), ("BITPOS", "b", "0"),
        ("BITFIELD", "f", "SET", "i8", str(2 * edge + 4), "-1"), ("GET", "f"),
        ("SET", "{t}x", v), ("LCS", "{t}x", "{t}nokey"), ("SET", "{t}y", "ab"),
        ("BITOP", "OR", "{t}y", "{t}x", "{t}y"), ("GET", "{t}y"), ("BITOP", "NOT", "{t}x", "{t}x"),
        ("GET", "{t}x"), ("MSET", "m1", v, "m2", "x", "m3", v[:C + 1]), ("MGET", "m1", "m2", "m3"),
        ("MSETNX", "m4", v, "m5", v), ("MSETNX", "m4", "x", "m6", "y"), ("GET", "m5"), ("EXISTS", "m6"),
        ("SETNX", "n1", v), ("SETNX", "n1", "x"), ("SETEX", "n2", "100", v), ("STRLEN", "n2"),
        ("GETRANGE", "n2", str(C), str(C + 3)),
    ]
    for args in cmds:
        pair.check(*args)


def test_keys_travel_with_their_chunks(pair):
    a, b = two_shards()
    v = blob(BIG, 2)
    cmds = [
        ("SET", a, v), ("SETRANGE", a, str(BIG + C), "far"), ("RENAME", a, b), ("EXISTS", a), ("GET", b),
        ("COPY", b, a), ("GET", a), ("COPY", b, a), ("APPEND", a, "more"), ("COPY", a, b, "REPLACE"),
        ("GET", b), ("RENAMENX", b, a), ("RENAME", b, "{" + b + "}2"), ("GET", "{" + b + "}2"),
        ("MOVE", a, "1"), ("EXISTS", a), ("SELECT", "1"), ("GET", a), ("SETBIT", a, "7", "1"),
        ("COPY", a, a, "DB", "2"), ("SELECT", "0"), ("SWAPDB", "0", "1"), ("GET", a), ("STRLEN", a),
        ("SELECT", "2"), ("GETRANGE", a, "-3", "-1"), ("SELECT", "0"), ("SWAPDB", "0", "1"),
        ("SET", "e", v, "PX", "50"), ("PSETEX", "e2", "50", v), ("DBSIZE",),
    ]
    for args in cmds:
        pair.check(*args)
    time.sleep(0.3)  # past the TTLs: e is found expired, e2 goes with the sweep or lazily
    for args in [("GET", "e"), ("EXISTS", "e2"), ("DBSIZE",), ("FLUSHALL",), ("DBSIZE",),
                 ("SELECT", "1"), ("EXISTS", a), ("GET", a)]:
        pair.check(*args)


def test_type_scan_and_memory(r):
    """TYPE and SCAN's TYPE filter call a chunked string a string; MEMORY USAGE counts its chunks."""
    r.set("long", blob(BIG, 5))
    r.setbit("sparse", 8 * 50 * C, 1)
    r.set("short", "x")
    assert r.type("long") == b"string" and r.object("encoding", "long") == b"raw"
    assert set(r.scan_iter(_type="string")) == {b"long", b"sparse", b"short"}
    assert BIG < r.memory_usage("long") < BIG * 1.1
    assert r.memory_usage("sparse") > 50 * C  # (an estimate from the length: the gap is not stored)


def test_events(pair, shardis_server, redis_server):
    v = blob(2 * C + 5, 3)
    cmds = [("SET", "{e}a", v), ("SETRANGE", "{e}a", str(3 * C), "x"), ("APPEND", "{e}a", "y"),
            ("SETBIT", "{e}a", str(8 * 5 * C), "1"), ("SETBIT", "{e}a", "0", "0"),
            ("BITFIELD", "{e}a", "SET", "u8", "0", "0"), ("BITFIELD", "{e}a", "SET", "u8", "8", "7"),
            ("SETBIT", "{e}n", str(8 * 2 * C), "0"), ("GETDEL", "{e}a"), ("SET", "{e}b", v, "EX", "100"),
            ("SET", "{e}b", "small"), ("APPEND", "{e}c", v), ("INCR", "{e}c")]
    events = compare_keyspace_events(pair, shardis_server.port, redis_server.port, cmds)
    assert len(events) > 10, events


def _random_args(kind: int, a: int, b: int, bit: int) -> tuple:
    """A range command on key r; a, b: offsets around a few chunks, possibly negative."""
    if kind == 0:
        return ("SETRANGE", "r", str(abs(a)), blob(abs(b) % (2 * C + 3) + 1, a ^ b))
    if kind == 1:
        return ("APPEND", "r", blob(abs(b) % (C + 7), b))
    if kind == 2:
        return ("SETBIT", "r", str(abs(a) * 8 + bit * 7), str(bit))
    if kind == 3:
        return ("GETRANGE", "r", str(a), str(b))
    if kind == 4:
        return ("BITCOUNT", "r", str(a), str(b), "BIT" if bit else "BYTE")
    if kind == 5:
        return ("BITPOS", "r", str(bit), str(a), str(b))
    if kind == 6:
        return ("GETBIT", "r", str(abs(a) * 8 + 3))
    if kind == 7:
        return ("BITFIELD", "r", "INCRBY", "i13", str(abs(a) * 8 - 5 if a else 0), str(b))
    return ("STRLEN", "r")


_OFFSET = st.one_of(st.integers(-6 * C, 6 * C), st.sampled_from([0, -1, C - 1, C, C + 1, -C, 2 * C - 2]))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 8), _OFFSET, _OFFSET, st.integers(0, 1)), min_size=1, max_size=8))
def test_random_ranges_against_redis(pair, ops):
    pair.check("DEL", "r")
    for kind, a, b, bit in ops:
        pair.check(*_random_args(kind, a, b, bit))
    pair.check("GET", "r")


# ------------------------------------------------------------------ in-process, tiny chunks


def call(ks: Keyspace, *args, db: int = 0):
    """Run one command's shard handler; an error reply comes back as its text."""
    argv = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    spec = TABLE.lookup(argv[0])
    assert spec is not None and spec.handler is not None, args[0]
    try:
        return spec.handler(ks, db, argv)
    except ReplyError as e:
        return e.args[0]


@contextlib.contextmanager
def batch(store: Store, now: int = NOW):
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


def check_layout(ks: Keyspace) -> None:
    """Every chunk belongs to a live chunked string, lies below its length and holds at
    most its chunk size; nothing else is in ``members``/``index`` (no collections here)."""
    st_ = ks.store
    heads = {}
    for _, raw in ks.txn.cursor(db=st_.meta):  # (expired keys too: their chunks stay until they go)
        if raw[0] == CHUNKED:
            id_, length, size = chunks.head(raw)
            assert length > st_.inline_max or size != st_.chunk_size
            heads[prefix(id_)] = (length, size)
        else:
            assert raw[0] == STRING and len(raw) - 17 <= st_.inline_max
    for k, v in ks.txn.cursor(db=st_.members):
        length, size = heads[k[:8]]
        base = chunks.chunk_index(k) * size
        assert len(v) <= size and base + len(v) <= length, (k, len(v), length)
    assert not list(ks.txn.cursor(db=st_.index))


@pytest.fixture
def stores(tmp_path):
    """(a store with tiny chunks, one that keeps every value whole as before chunks)."""
    small = Store(str(tmp_path / "small"), "no", 1 << 26)
    whole = Store(str(tmp_path / "whole"), "no", 1 << 26)
    whole.inline_max = 1 << 40
    yield small, whole
    small.close()
    whole.close()


_KEY = st.sampled_from(["a", "a", "b", "{a}c"])
_POS = st.integers(-40, 60)
_VALUE = st.binary(max_size=40)
_FIELD = st.tuples(st.sampled_from(["u8", "i5", "i16", "u63", "i64"]), st.integers(0, 300))
_BITFIELD = st.builds(
    lambda key, ops: ("BITFIELD", key, *[x for op, (t, off), v in ops
                                         for x in ([op, t, off] + ([] if op == "GET" else [v]))]),
    _KEY, st.lists(st.tuples(st.sampled_from(["SET", "INCRBY", "GET"]), _FIELD, st.integers(-300, 300)),
                   min_size=1, max_size=3))
_WRITES = st.one_of(
    st.tuples(st.just("SET"), _KEY, _VALUE),
    st.tuples(st.just("SETRANGE"), _KEY, st.integers(0, 50), st.binary(max_size=12)),
    st.tuples(st.just("APPEND"), _KEY, st.binary(max_size=12)),
    st.tuples(st.just("SETBIT"), _KEY, st.integers(0, 400), st.integers(0, 1)),
    _BITFIELD,
)
_READS = st.one_of(
    st.tuples(st.just("GET"), _KEY),
    st.tuples(st.just("GETRANGE"), _KEY, _POS, _POS),
    st.tuples(st.just("GETBIT"), _KEY, st.integers(0, 400)),
    st.tuples(st.just("BITCOUNT"), _KEY, _POS, _POS, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITPOS"), _KEY, st.integers(0, 1), _POS, _POS, st.sampled_from(["BIT", "BYTE"])),
    st.tuples(st.just("BITPOS"), _KEY, st.integers(0, 1), _POS),
    st.tuples(st.just("BITFIELD_RO"), _KEY, st.just("GET"), st.sampled_from(["u8", "i16"]),
              st.integers(0, 300)),
)
_OTHERS = st.one_of(
    st.tuples(st.just("MSET"), _KEY, _VALUE, _KEY, _VALUE),
    st.tuples(st.sampled_from(["SETNX", "GETSET"]), _KEY, _VALUE),
    st.tuples(st.just("SETEX"), _KEY, st.just("1"), _VALUE),
    st.tuples(st.sampled_from(["STRLEN", "INCR", "DEL", "GETDEL", "TYPE", "PERSIST", "PFCOUNT"]), _KEY),
    st.tuples(st.just("INCRBYFLOAT"), _KEY, st.sampled_from(["1.5", "-3"])),
    st.tuples(st.just("MGET"), _KEY, _KEY),
    st.tuples(st.sampled_from(["RENAME", "COPY"]), st.just("a"), st.just("{a}c")),
    st.tuples(st.just("MOVE"), _KEY, st.sampled_from(["1", "2"])),
    st.tuples(st.just("SWAPDB"), st.just("0"), st.sampled_from(["1", "2"])),
    st.tuples(st.just("PEXPIRE"), _KEY, st.integers(1, 30)),
    st.tuples(st.just("BITOP"), st.sampled_from(["OR", "XOR"]), _KEY, _KEY, _KEY),
    st.tuples(st.just("LCS"), st.just("a"), st.just("{a}c")),
    st.tuples(st.just("PFADD"), _KEY, st.just("x")),
)
_COMMANDS = st.one_of(_WRITES, _WRITES, _READS, _READS, _OTHERS)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.integers(1, 9), st.integers(0, 12), st.lists(_COMMANDS, max_size=25))
def test_tiny_chunks_answer_as_whole_values(stores, size, inline_max, cmds):
    """The same commands on tiny chunks and on whole values give the same replies; the clock
    moves 10 ms a command, so TTLs run out (lazily and by the sweep) on both alike."""
    small, whole = stores
    small.chunk_size, small.inline_max = size, inline_max
    for store in stores:
        with batch(store) as ks:
            call(ks, "FLUSHALL")
    for i, cmd in enumerate(cmds):
        now = NOW + 10 * i
        replies = []
        for store in stores:
            with batch(store, now) as ks:
                replies.append(call(ks, *cmd))
                if i % 5 == 4:
                    ks.sweep(100)
                check_layout(ks)
        assert replies[0] == replies[1], cmd
    for db in range(3):
        with batch(small) as ks, batch(whole) as kw:
            got = {k: ks.string_value(raw) for k, raw in ks.iter_db(db)}
            assert got == {k: kw.string_value(raw) for k, raw in kw.iter_db(db)}


def test_chunks_go_with_their_key(tmp_path):
    """DEL, SET over it, an expiry (lazy and swept), FLUSHDB, RENAME: no chunk outlives its key."""
    store = Store(str(tmp_path / "s"), "no", 1 << 26)
    store.chunk_size, store.inline_max = 4, 6

    def members() -> int:
        with batch(store) as ks:
            check_layout(ks)
            return ks.txn.stat(store.members)["entries"]
    try:
        with batch(store) as ks:
            call(ks, "SET", "k", "0123456789abcdef")
        assert members() == 4
        with batch(store) as ks:
            call(ks, "SETBIT", "k", 8 * 1000, 1)  # sparse: one more chunk
            assert call(ks, "STRLEN", "k") == 1001
        assert members() == 5
        with batch(store) as ks:
            call(ks, "SET", "k", "0123456789")  # another chunked value: the old chunks go
        assert members() == 3
        with batch(store) as ks:
            call(ks, "SET", "k", "x")
        assert members() == 0
        with batch(store) as ks:
            call(ks, "APPEND", "k", "0123456789")  # past inline_max: converted
            assert ks.lookup(0, b"k")[0] == CHUNKED
            call(ks, "RENAME", "k", "j")
            assert call(ks, "GET", "j") == b"x0123456789"
        assert members() == 3
        with batch(store) as ks:
            call(ks, "DEL", "j")
            call(ks, "SET", "e1", "0123456789", "PX", "10")
            call(ks, "SET", "e2", "0123456789", "PX", "10")
        assert members() == 6
        with batch(store, NOW + 100) as ks:
            assert call(ks, "GET", "e1") is None  # lazily
        assert members() == 3
        with batch(store, NOW + 100) as ks:
            assert ks.sweep(10) == 1
        assert members() == 0
        with batch(store) as ks:
            call(ks, "SET", "f", "0123456789")
            call(ks, "FLUSHDB")
        assert members() == 0
    finally:
        store.close()


def test_wal_replay_rebuilds_chunks(tmp_path):
    """LMDB without the batches that wrote long strings and the write-ahead log with them:
    the replay writes the same values (ids included, the commands being deterministic)."""
    cfg = Config(dir=str(tmp_path), shards=1, durability="always")
    shard = Shard(cfg, 0, TABLE)
    ids = {n: TABLE.lookup(n.encode()).id for n in ("set", "setrange", "setbit", "append", "del")}
    v = blob(BIG, 4)
    first = [(ids["set"], 0, [b"set", b"a", v]), (ids["set"], 0, [b"set", b"gone", v])]
    later = [(ids["setrange"], 0, [b"setrange", b"a", b"%d" % (BIG + C), b"far"]),
             (ids["setbit"], 0, [b"setbit", b"b", b"%d" % (8 * 3 * C + 1), b"1"]),
             (ids["append"], 0, [b"append", b"a", v[:C + 9]]), (ids["del"], 0, [b"del", b"gone"]),
             (ids["set"], 0, [b"set", b"c", v[:2 * C]])]
    shard.sock.close(0)
    shard.sock = _Outbox()
    shard.run_batch([[b"r", wire.pack((1, first))]])
    shard.checkpoint()
    dir_ = cfg.shard_dir(0)
    shutil.copy(os.path.join(dir_, "data.mdb"), tmp_path / "before.mdb")
    shard.run_batch([[b"r", wire.pack((2, later))]])
    shard.writer.wait_for(shard.seq)
    shutil.copy(os.path.join(dir_, "wal.log"), tmp_path / "wal.log")
    with batch(shard.store) as ks:
        want = {k: ks.get_string(0, k) for k in (b"a", b"b", b"c", b"gone")}
        want_members = ks.txn.stat(shard.store.members)["entries"]
    shard.close()
    shutil.copy(tmp_path / "before.mdb", os.path.join(dir_, "data.mdb"))
    shutil.copy(tmp_path / "wal.log", os.path.join(dir_, "wal.log"))
    again = Shard(cfg, 0, TABLE)
    try:
        with batch(again.store) as ks:
            assert {k: ks.get_string(0, k) for k in want} == want
            assert want[b"a"] == v + bytes(C) + b"far" + v[:C + 9] and want[b"gone"] is None
            assert ks.txn.stat(again.store.members)["entries"] == want_members
            check_layout(ks)
    finally:
        again.sock.close(0)
        again.sock = _Outbox()
        again.close()


class _Outbox:
    """Stands in for the shard's ROUTER socket."""

    def send_multipart(self, frames) -> None:
        pass

    def close(self, linger: int = 0) -> None:
        pass


# ------------------------------------------------------------------ restart and resharding


def test_survives_restart_kill_and_reshard(tmp_path):
    srv = Shardis(str(tmp_path / "data"), shards=2, durability="always").start()
    keys = [f"big:{i}" for i in range(6)]
    try:
        c = RawClient(srv.port)
        for i, k in enumerate(keys):
            assert c.call("SET", k, blob(BIG + i, i)) == b"+OK\r\n"
        c.call("SETRANGE", keys[0], str(BIG + 5 * C), "far")
        c.call("SETBIT", "sparse", str(8 * 10 * C + 1), "1")
        c.call("APPEND", keys[1], "x" * C)
        c.call("PEXPIRE", keys[2], "100000000")
        want = {k: c.call("GET", k) for k in [*keys, "sparse"]}
        ttl = c.call("PEXPIRETIME", keys[2])
        c.close()
        for how in ("stop", "kill", "reshard"):
            if how == "kill":
                srv.kill()
            else:
                assert srv.stop() == 0
            if how == "reshard":
                srv.cfg["shards"] = 3
            srv.start()
            c = RawClient(srv.port)
            assert {k: c.call("GET", k) for k in want} == want, how
            assert c.call("PEXPIRETIME", keys[2]) == ttl
            assert c.call("STRLEN", "sparse") == b":%d\r\n" % (10 * C + 1)
            c.close()
        c = RawClient(srv.port)  # still chunked where it landed: a range write works
        v = blob(BIG + 3, 3)
        assert c.call("SETRANGE", keys[3], str(C - 1), "ab") == b":%d\r\n" % (BIG + 3)
        assert c.call("GETRANGE", keys[3], str(C - 2), str(C + 1)) == b"$4\r\n%s\r\n" % (
            v[C - 2:C - 1] + b"ab" + v[C + 1:C + 2])
        c.close()
        assert srv.stop() == 0
    finally:
        srv.kill()
