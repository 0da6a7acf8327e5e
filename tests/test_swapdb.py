"""SWAPDB against a real redis-server 7.0: errors, data and TTLs swapped on every shard,
blocked clients and WATCH as Redis treats them, atomicity against concurrent clients,
durability (restart, write-ahead log replay, resharding) and a one-shard cluster."""

from __future__ import annotations

import os
import shutil
import threading
import time

import pytest

from shardis.shardd.daemon import Shard
from shardis.shardd.storage import LIST, STRING, Keyspace, Store, mkey
from shardis import wire
from shardis.assembly import build_table
from shardis.config import Config
from shardis.slots import key_slot, slot_table
from tests.helpers import Pair, RawClient, Shardis, cluster, encode_command, parse_reply

TABLE = build_table()
NOW = 1_700_000_000_000
SHARD_OF = slot_table(3)


def keys_on_every_shard(n: int = 30) -> list[str]:
    """``n`` keys spread over the 3 shards of the session's cluster (each shard has some)."""
    keys = [f"key:{i}" for i in range(n)]
    assert {SHARD_OF[key_slot(k.encode())] for k in keys} == {0, 1, 2}
    return keys


def check_dbs(pair: Pair, dbs=(0, 1, 2), keys=()) -> None:
    """Both servers hold the same keys, types, values and TTLs in ``dbs``."""
    for db in dbs:
        pair.check("SELECT", str(db))
        pair.check("DBSIZE")
        pair.check_unordered("KEYS", "*")
        for k in keys:
            t = pair.check("TYPE", k)
            if t == b"+string\r\n":
                pair.check("GET", k)
            elif t == b"+list\r\n":
                pair.check("LRANGE", k, "0", "-1")
            elif t == b"+hash\r\n":
                pair.check_unordered("HGETALL", k)
            elif t == b"+set\r\n":
                pair.check_unordered("SMEMBERS", k)
            elif t == b"+zset\r\n":
                pair.check("ZRANGE", k, "0", "-1", "WITHSCORES")
            s, r = (parse_reply(x) for x in pair.both("PTTL", k))
            assert (s < 0 and s == r) or (s > 0 and abs(s - r) < 5000), (db, k, s, r)
    pair.check("SELECT", "0")


def other(pair: Pair) -> Pair:
    """A second connection to each of the two servers."""
    return Pair(pair.s.sock.getpeername()[1], pair.r.sock.getpeername()[1])


# ---------------------------------------------------------------- errors


def test_swapdb_errors(pair):
    for args in [("SWAPDB",), ("SWAPDB", "0"), ("SWAPDB", "0", "1", "2"), ("SWAPDB", "a", "1"),
                 ("SWAPDB", "1", "b"), ("SWAPDB", "a", "b"), ("SWAPDB", "0", "16"), ("SWAPDB", "16", "0"),
                 ("SWAPDB", "-1", "0"), ("SWAPDB", "16", "x"), ("SWAPDB", "4294967296", "1"),
                 ("SWAPDB", "1", "2147483648"), ("SWAPDB", "2147483647", "-2147483648"),
                 ("SWAPDB", "99999999999999999999", "1"), ("SWAPDB", "01", "1"), ("SWAPDB", " 1", "1"),
                 ("SWAPDB", "1 ", "1"), ("SWAPDB", "+1", "1"), ("SWAPDB", "1.0", "1"), ("SWAPDB", "", "1"),
                 ("SWAPDB", "0", "0"), ("SWAPDB", "15", "15"), ("swapdb", "3", "2"),
                 ("MULTI",), ("SWAPDB", "0"), ("EXEC",),
                 ("MULTI",), ("SWAPDB", "0", "x"), ("SWAPDB", "0", "1"), ("EXEC",)]:
        pair.check(*args)


def test_swapdb_no_keyspace_events(pair):
    """Redis 7.0 publishes no keyspace event for SWAPDB."""
    sub = other(pair)
    try:
        pair.check("SET", "k", "v")
        pair.check("SELECT", "1")
        pair.check("RPUSH", "l", "x")
        pair.check("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub.check("PSUBSCRIBE", "*")
        pair.check("SWAPDB", "0", "1")
        pair.check("PUBLISH", "marker", "after")
        pair.check("SELECT", "0")
        # The first message is the marker: nothing came from SWAPDB.
        assert sub.s.read_reply() == sub.r.read_reply() == \
            b"*4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$6\r\nmarker\r\n$5\r\nafter\r\n"
    finally:
        pair.both("CONFIG", "SET", "notify-keyspace-events", "")
        sub.close()


# ---------------------------------------------------------------- data


def fill(pair: Pair, db: int, keys: list[str], tag: str) -> None:
    """Keys of every type in ``db``, some with a TTL."""
    pair.check("SELECT", str(db))
    for i, k in enumerate(keys):
        kind = i % 6
        if kind == 0:
            pair.check("SET", k, f"{tag}{i}")
        elif kind == 1:
            pair.check("RPUSH", k, tag, f"{i}", "x")
        elif kind == 2:
            pair.check("HSET", k, "f", tag, "g", f"{i}")
        elif kind == 3:
            pair.check("SADD", k, tag, f"{i}")
        elif kind == 4:
            pair.check("ZADD", k, "1", tag, str(i), "m")
        else:
            pair.check("SET", k, f"{tag}{i}", "EX", str(1000 + i))
        if i % 4 == 3:
            pair.check("EXPIRE", k, str(5000 + i))
    pair.check("SELECT", "0")


def test_swapdb_moves_data_types_and_ttls(pair):
    keys = keys_on_every_shard()
    fill(pair, 0, keys, "zero")
    fill(pair, 1, keys[::2] + ["only-in-1"], "one")
    fill(pair, 2, keys[:5], "two")
    pair.check("SWAPDB", "0", "1")
    check_dbs(pair, (0, 1, 2), keys + ["only-in-1"])
    s, r = ([ln.split(b",avg_ttl")[0] for ln in parse_reply(x).split(b"\r\n")]
            for x in pair.both("INFO", "keyspace"))  # (avg_ttl differs: shardis says 0)
    assert s == r
    # Swap back, swap with an empty database, swap a database with itself.
    pair.check("SWAPDB", "1", "0")
    pair.check("SWAPDB", "2", "7")
    pair.check("SWAPDB", "0", "0")
    check_dbs(pair, (0, 1, 2, 7), keys + ["only-in-1"])
    # Every command still finds the keys where they are now: writes, SCAN, MOVE, COPY ... DB.
    pair.check("SELECT", "7")
    pair.check("LPUSH", keys[1], "new")
    pair.check("MOVE", keys[0], "3")
    pair.check("COPY", keys[2], keys[2], "DB", "4")
    pair.check("SELECT", "0")
    pair.check("SWAPDB", "7", "0")
    for db in (0, 3, 4, 7):
        pair.check("SELECT", str(db))
        got = _scan_all(pair.s)
        assert sorted(got) == sorted(parse_reply(pair.r.call("KEYS", "*")))
    pair.check("SELECT", "0")
    check_dbs(pair, (0, 3, 4, 7), keys + ["only-in-1"])
    pair.check("FLUSHDB")
    check_dbs(pair, (0, 7), keys[:5])


def _scan_all(client: RawClient) -> list[bytes]:
    cursor, out = b"0", []
    while True:
        cursor, part = parse_reply(client.call("SCAN", cursor, "COUNT", "3"))
        out += part
        if cursor == b"0":
            return out


def test_swapdb_expired_keys_stay_expired(pair):
    pair.check("SET", "gone", "v", "PX", "1")
    pair.check("SET", "stays", "v", "PX", "100000")
    time.sleep(0.05)
    pair.check("SWAPDB", "0", "5")
    for db in ("5", "0"):
        pair.check("SELECT", db)
        pair.check("EXISTS", "gone")
        pair.check("EXISTS", "stays")
        pair.check("GET", "gone")
    pair.check("SELECT", "5")
    pair.check("DBSIZE")  # the expired key is gone once touched


# ---------------------------------------------------------------- blocked clients


class Blocked:
    """One blocking command on each server, sent now, its reply read later."""

    def __init__(self, pair: Pair, db: int, *cmd) -> None:
        self.pair = other(pair)
        self.pair.check("SELECT", str(db))
        data = encode_command(cmd)
        self.pair.s.send_raw(data)
        self.pair.r.send_raw(data)

    def replies(self) -> tuple[bytes, bytes]:
        try:
            return self.pair.s.read_reply(), self.pair.r.read_reply()
        finally:
            self.pair.close()


def wait_blocked(pair: Pair, n: int) -> None:
    """Until Redis counts ``n`` blocked clients; then a moment for shardis' to reach their
    shards or the coordinator (which cannot be observed directly)."""
    for _ in range(200):
        info = parse_reply(pair.r.call("INFO", "clients"))
        if int(info.split(b"blocked_clients:")[1].split(b"\r\n")[0]) == n:
            break
        time.sleep(0.02)
    time.sleep(0.2 + 0.05 * n)


def test_swapdb_serves_blocked_clients(pair):
    # Blocked in db0 on keys whose lists are in db1: served by the swap, as by Redis.
    a, b = "a", "b"  # (on different shards: BLPOP a b waits in the coordinator)
    assert SHARD_OF[key_slot(a.encode())] != SHARD_OF[key_slot(b.encode())]
    waiters = [Blocked(pair, 0, "BLPOP", "l1", "0"),
               Blocked(pair, 0, "BRPOP", "l1", "0"),
               Blocked(pair, 0, "BZPOPMIN", "z1", "0"),
               Blocked(pair, 0, "BLPOP", a, b, "0"),
               Blocked(pair, 1, "BLPOP", "back", "0"),
               Blocked(pair, 0, "BLMOVE", "l2", "dst", "LEFT", "RIGHT", "0")]
    wait_blocked(pair, len(waiters))
    pair.check("SELECT", "1")
    pair.check("RPUSH", "l1", "a", "b", "c")
    pair.check("ZADD", "z1", "1", "m", "2", "n")
    pair.check("RPUSH", b, "bx")
    pair.check("RPUSH", "l2", "moved")
    pair.check("SELECT", "0")
    pair.check("RPUSH", "back", "from-0")
    pair.check("SWAPDB", "0", "1")
    for w in waiters:
        s, r = w.replies()
        assert s == r, (s, r)
    check_dbs(pair, (0, 1), ["l1", "z1", a, b, "back", "l2", "dst"])


def test_swapdb_wrong_type_keeps_clients_blocked(pair):
    """A client blocked for a list stays blocked when the swap brings a sorted set or a string."""
    waiters = [Blocked(pair, 0, "BLPOP", "k", "0.5"), Blocked(pair, 0, "BZPOPMIN", "s", "0.5")]
    wait_blocked(pair, 2)
    pair.check("SELECT", "1")
    pair.check("ZADD", "k", "1", "m")
    pair.check("SET", "s", "v")
    pair.check("SWAPDB", "1", "0")
    for w in waiters:
        s, r = w.replies()
        assert s == r == b"*-1\r\n"
    pair.check("SELECT", "0")
    pair.check("ZRANGE", "k", "0", "-1")


def test_blocked_list_client_waits_on_through_a_sorted_set(pair):
    """(Redis 7.0 skips a client blocked for another type; it is not given WRONGTYPE.)"""
    w = Blocked(pair, 0, "BLPOP", "k", "0")
    wait_blocked(pair, 1)
    pair.check("ZADD", "k", "1", "m")
    pair.check("DEL", "k")
    pair.check("RPUSH", "k", "x")
    s, r = w.replies()
    assert s == r == b"*2\r\n$1\r\nk\r\n$1\r\nx\r\n"


# ---------------------------------------------------------------- WATCH


WATCH_CASES = [
    # (where the key is before the swaps: db -> value; the watcher's db; the swaps)
    ({0: "v"}, 0, [("0", "1")]),
    ({1: "v"}, 0, [("0", "1")]),
    ({0: "v", 1: "w"}, 0, [("1", "0")]),
    ({}, 0, [("0", "1")]),
    ({0: "v"}, 1, [("0", "1")]),
    ({2: "v"}, 2, [("0", "1")]),      # another database: untouched
    ({0: "v"}, 0, [("1", "2")]),      # another pair of databases: untouched
    ({0: "v"}, 0, [("0", "0")]),      # a database with itself
    ({0: "v"}, 0, [("0", "1"), ("1", "0")]),  # swapped back: the same record, touched twice
    ({1: "v"}, 0, [("0", "1"), ("0", "1")]),
]


@pytest.mark.parametrize("where,db,swaps", WATCH_CASES)
def test_swapdb_and_watch(pair, where, db, swaps):
    watcher = other(pair)
    try:
        for wdb, value in where.items():
            pair.check("SELECT", str(wdb))
            pair.check("SET", "w:key", value)
        pair.check("SELECT", "0")
        watcher.check("SELECT", str(db))
        watcher.check("WATCH", "w:key", "w:other")
        for swap in swaps:
            pair.check("SWAPDB", *swap)
        watcher.check("MULTI")
        watcher.check("SET", "w:other", "x")
        watcher.check("EXEC")
        watcher.check("GET", "w:other")
    finally:
        watcher.close()


def test_swapdb_and_watch_over_shards(pair):
    """A transaction over several shards whose watched key was swapped away aborts too."""
    keys = keys_on_every_shard(6)
    watcher = other(pair)
    try:
        pair.check("SELECT", "1")
        pair.check("SET", keys[0], "in-1")
        watcher.check("WATCH", *keys)
        pair.check("SWAPDB", "1", "0")
        watcher.check("MULTI")
        watcher.check("MSET", *[x for k in keys for x in (k, "new")])
        watcher.check("EXEC")
        watcher.check("WATCH", *keys)
        watcher.check("MULTI")
        watcher.check("MSET", *[x for k in keys for x in (k, "new")])
        watcher.check("EXEC")
        watcher.check("MGET", *keys)
        # SWAPDB inside a transaction: the others in it see the swapped data.
        watcher.check("MULTI")
        watcher.check("SWAPDB", "0", "3")
        watcher.check("MGET", *keys)
        watcher.check("SELECT", "3")
        watcher.check("MGET", *keys)
        watcher.check("EXEC")
    finally:
        watcher.close()


# ---------------------------------------------------------------- atomicity


def test_concurrent_clients_never_see_half_a_swap(shardis_server):
    """db0 and db1 each hold one tag on keys over every shard; while SWAPDB runs again and
    again and a writer rewrites all of db0's keys with one MSET, every MGET over the
    shards sees one tag, never a mix."""
    port = shardis_server.port
    keys = keys_on_every_shard(24)
    c = RawClient(port)
    c.call("FLUSHALL")
    c.call("MSET", *[x for k in keys for x in (k, "A")])
    c.call("SELECT", "1")
    c.call("MSET", *[x for k in keys for x in (k, "B")])
    stop = threading.Event()
    failures: list = []

    def swapper() -> None:
        s = RawClient(port)
        while not stop.is_set():
            if s.call("SWAPDB", "0", "1") != b"+OK\r\n":
                failures.append("swap")
        s.close()

    def writer() -> None:
        w = RawClient(port)
        n = 0
        while not stop.is_set():
            n += 1
            if w.call("MSET", *[x for k in keys for x in (k, f"W{n}")]) != b"+OK\r\n":
                failures.append("mset")
        w.close()

    threads = [threading.Thread(target=swapper), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    r = RawClient(port)
    try:
        for _ in range(150):
            for db in ("0", "1"):
                r.call("SELECT", db)
                values = parse_reply(r.call("MGET", *keys))
                assert len(set(values)) == 1, values
                assert r.call("DBSIZE") == b":24\r\n"
    finally:
        stop.set()
        for t in threads:
            t.join()
        r.close()
    assert not failures
    c.call("FLUSHALL")
    c.close()


# ---------------------------------------------------------------- one shard, durability


def test_swapdb_on_one_shard(tmp_path):
    with cluster(tmp_path, shards=1) as srv:
        c = RawClient(srv.port)
        c.call("SET", "a", "0")
        c.call("SELECT", "2")
        c.call("RPUSH", "l", "x", "y")
        c.call("SET", "t", "v", "EX", "1000")
        w = RawClient(srv.port)
        w.call("WATCH", "a")
        blocked = RawClient(srv.port)
        blocked.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nl\r\n$1\r\n0\r\n")
        time.sleep(0.3)
        assert c.call("SWAPDB", "2", "0") == b"+OK\r\n"
        assert blocked.read_reply() == b"*2\r\n$1\r\nl\r\n$1\r\nx\r\n"
        assert w.call("MULTI") == b"+OK\r\n" and w.call("SET", "z", "1") == b"+QUEUED\r\n"
        assert w.call("EXEC") == b"*-1\r\n"
        assert c.call("GET", "a") == b"$1\r\n0\r\n"
        c.call("SELECT", "0")
        assert c.call("LRANGE", "l", "0", "-1") == b"*1\r\n$1\r\ny\r\n"
        assert 990 <= int(c.call("TTL", "t")[1:-2]) <= 1000
        assert c.call("DBSIZE") == b":2\r\n"
        for x in (c, w, blocked):
            x.close()


def _fill_plain(c: RawClient) -> None:
    for i in range(300):
        c.call("SET", f"s{i}", f"zero{i}")
    c.call("SELECT", "1")
    for i in range(0, 300, 3):
        c.call("SET", f"s{i}", f"one{i}", "EX", "1000")
    c.call("HSET", "h", "f", "v")
    c.call("SELECT", "0")


def _check_swapped(c: RawClient) -> None:
    c.call("SELECT", "0")
    assert c.call("DBSIZE") == b":101\r\n"
    assert c.call("GET", "s3") == b"$4\r\none3\r\n" and c.call("GET", "s1") == b"$-1\r\n"
    assert 900 < int(c.call("TTL", "s3")[1:-2]) <= 1000
    assert c.call("HGET", "h", "f") == b"$1\r\nv\r\n"
    c.call("SELECT", "1")
    assert c.call("DBSIZE") == b":300\r\n"
    assert c.call("GET", "s1") == b"$5\r\nzero1\r\n" and c.call("TTL", "s1") == b":-1\r\n"


@pytest.mark.parametrize("how", ["stop", "kill", "reshard"])
def test_swapdb_survives_restart_under_always(tmp_path, how):
    srv = Shardis(str(tmp_path / "data"), shards=2, durability="always").start()
    try:
        c = RawClient(srv.port)
        _fill_plain(c)
        assert c.call("SWAPDB", "0", "1") == b"+OK\r\n"
        _check_swapped(c)
        c.close()
        if how == "kill":
            srv.kill()
        else:
            assert srv.stop() == 0
        if how == "reshard":
            srv.cfg["shards"] = 3
        srv.start()
        c = RawClient(srv.port)
        _check_swapped(c)
        c.close()
        assert srv.stop() == 0
    finally:
        srv.kill()


def test_swapdb_replayed_from_the_write_ahead_log(tmp_path):
    """LMDB without the batch that swapped (a power loss before its pages reached the disk)
    and the write-ahead log with it: the replay swaps again, exactly."""
    cfg = Config(dir=str(tmp_path), shards=1, durability="always")
    shard = Shard(cfg, 0, TABLE)
    set_id, swap_id, rpush_id = (TABLE.lookup(n).id for n in (b"set", b"swapdb", b"rpush"))
    assert shard.table.lookup(b"swapdb").id == swap_id
    cmds = [(set_id, 0, [b"set", b"a%d" % i, b"zero"]) for i in range(50)]
    cmds += [(set_id, 1, [b"set", b"a%d" % i, b"one", b"PX", b"100000000"]) for i in range(0, 50, 5)]
    cmds += [(rpush_id, 1, [b"rpush", b"l", b"x"])]
    shard.sock.close(0)
    shard.sock = _Outbox()
    shard.run_batch([[b"r", wire.pack((1, cmds))]])
    shard.checkpoint()
    dir_ = cfg.shard_dir(0)
    shutil.copy(os.path.join(dir_, "data.mdb"), tmp_path / "before.mdb")
    shard.run_batch([[b"r", wire.pack((2, [(swap_id, 0, [b"swapdb", b"1", b"0"]),
                                           (set_id, 0, [b"set", b"after", b"swap"])]))]])
    shard.writer.wait_for(shard.seq)
    shutil.copy(os.path.join(dir_, "wal.log"), tmp_path / "wal.log")
    assert os.path.getsize(tmp_path / "wal.log") > 0
    shard.close()
    shutil.copy(tmp_path / "before.mdb", os.path.join(dir_, "data.mdb"))
    shutil.copy(tmp_path / "wal.log", os.path.join(dir_, "wal.log"))
    again = Shard(cfg, 0, TABLE)
    try:
        txn = again.store.env.begin(write=True)
        ks = Keyspace(again.store, txn, NOW)
        assert ks.size(0) == (12, 10) and ks.size(1) == (50, 0)
        assert ks.get_string(0, b"a5") == b"one" and ks.get_string(0, b"a1") is None
        assert ks.get_string(1, b"a1") == b"zero" and ks.get_string(0, b"after") == b"swap"
        assert ks.type_of(0, b"l") == LIST and ks.type_of(1, b"l") is None
        # The expiry index moved with the keys: the sweep finds them under their new place.
        late = Keyspace(again.store, txn, NOW + 10**12)
        assert late.sweep(1000) == 10 and late.size(0)[0] == 2
        txn.abort()
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


# ---------------------------------------------------------------- storage, in process


def test_swap_records_in_small_chunks(tmp_path, monkeypatch):
    """The swap walks both databases a chunk at a time: with chunks of 3, keys in one, the
    other or both, at chunk edges, all end up exchanged with their TTLs, counts, the
    expiry index, and the versions of watched keys only."""
    monkeypatch.setattr(Keyspace, "_SWAP_CHUNK", 3)
    store = Store(str(tmp_path / "s"), "everysec", 1 << 24)
    try:
        txn = store.env.begin(write=True)
        ks = Keyspace(store, txn, NOW)
        in_a = [b"a%d" % i for i in range(17)] + [b"both%d" % i for i in range(9)]
        in_b = [b"b%d" % i for i in range(5)] + [b"both%d" % i for i in range(9)]
        for i, k in enumerate(in_a):
            ks.put(3, k, STRING, b"A" + k, NOW + 1000 * (i + 1) if i % 2 else 0)
        for k in in_b:
            ks.put(200, k, STRING, b"B" + k)
        store.watched[mkey(3, b"a1")] = 1
        store.watched[mkey(9, b"a2")] = 1
        v_a1 = ks.key_version(3, b"a1")
        v_b0 = ks.key_version(200, b"b0")
        ks.swap_dbs(3, 200)
        ks.finish()
        txn.commit()
        ks.committed()
        txn = store.env.begin(write=True)
        ks = Keyspace(store, txn, NOW)
        assert {k for k, _ in ks.iter_db(200)} == set(in_a)
        assert {k for k, _ in ks.iter_db(3)} == set(in_b)
        assert all(ks.get_string(200, k) == b"A" + k for k in in_a)
        assert all(ks.get_string(3, k) == b"B" + k for k in in_b)
        assert ks.size(3) == (len(in_b), 0) and ks.size(200) == (len(in_a), 13)
        assert ks.key_version(3, b"a1") not in (0, v_a1)      # watched: touched
        assert ks.key_version(3, b"b0") == v_b0                # not watched: as it was
        assert store.tombs == {mkey(3, b"a1"): ks.key_version(3, b"a1")}
        late = Keyspace(store, txn, NOW + 10**9)
        assert late.sweep(1000) == 13 and late.size(200) == (len(in_a) - 13, 0)
        txn.abort()
    finally:
        store.close()
