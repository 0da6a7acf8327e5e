"""Backups: SAVE / BGSAVE write a Redis RDB file (router/persistence.py,
shardis/coord/saver.py, shardd/snapshot.py), ``shardis-server --restore`` loads one
(shardd/restore.py); both ways with a real redis-server, across shard counts, consistent
under concurrent cross-shard transactions, and the save schedule."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading
import time

import pytest
import redis

from shardis import rdbfile
from tests.helpers import RedisServer, Shardis

FUNC = "#!lua name=backuplib\nredis.register_function('bk', function() return 7 end)"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = Shardis(str(tmp_path_factory.mktemp("backup") / "data"), shards=3).start()
    yield s
    assert s.stop() == 0


@pytest.fixture
def r(srv):
    c = redis.Redis(port=srv.port)
    c.flushall()
    c.function_flush()
    yield c
    c.config_set("save", "")
    c.close()


def fill(c: redis.Redis) -> None:
    """Every type, compact and not, with and without TTLs, in two databases."""
    p = c.pipeline(transaction=False)
    for i in range(300):
        p.set(f"s{i}", f"value-{i}" * (i % 7 + 1))
    p.set("int", 12345)
    p.set("long", "x" * 20000)
    p.rpush("list", *[f"e{i}" for i in range(50)])
    p.rpush("biglist", *[f"e{i}" * 10 for i in range(300)])
    p.sadd("intset", *range(20))
    p.sadd("set", *[f"m{i}" for i in range(200)])
    p.zadd("zset", {"a": 1, "b": 2.5, "c": -3})
    p.zadd("bigzset", {f"m{i}": i / 3 for i in range(200)})
    p.hset("hash", mapping={"f1": "v1", "f2": "2"})
    p.hset("bighash", mapping={f"f{i}": f"v{i}" for i in range(300)})
    p.xadd("stream", {"a": "1"}, id="1-1")
    p.xadd("stream", {"b": "2"}, id="2-1")
    p.xgroup_create("stream", "g1", id="0")
    p.pexpire("s1", 600_000)
    p.expire("list", 900)
    p.execute()
    c.xreadgroup("g1", "alice", {"stream": ">"}, count=1)
    c2 = redis.Redis(port=c.connection_pool.connection_kwargs["port"], db=5)
    c2.set("in5", "five")
    c2.hset("h5", "a", "b")
    c2.close()
    c.function_load(FUNC)


def contents(port: int) -> dict:
    """Every key of every database: (db, key) -> (type, value, whether it has a TTL)."""
    out = {}
    for db in range(16):
        c = redis.Redis(port=port, db=db)
        for k in c.scan_iter(count=1000):
            t = c.type(k).decode()
            if t == "string":
                v = c.get(k)
            elif t == "list":
                v = c.lrange(k, 0, -1)
            elif t == "set":
                v = sorted(c.smembers(k))
            elif t == "zset":
                v = c.zrange(k, 0, -1, withscores=True)
            elif t == "hash":
                v = sorted(c.hgetall(k).items())
            else:
                v = (c.xrange(k), [(g["name"], g["pending"], g["last-delivered-id"])
                                   for g in c.xinfo_groups(k)])
            ttl = c.pttl(k)
            out[(db, k)] = (t, v, ttl > 0)
        c.close()
    return out


def functions(port: int) -> list:
    c = redis.Redis(port=port)
    try:
        return sorted(lib[b"library_name"] if isinstance(lib, dict) else lib[1]
                      for lib in c.function_list())
    finally:
        c.close()


def rdb_of(srv: Shardis) -> str:
    return os.path.join(srv.dir, "dump.rdb")


def restored(tmp_path, name: str, path: str, shards: int, *extra: str) -> Shardis:
    s = Shardis(str(tmp_path / name), shards=shards)
    argv = s.argv
    s.argv = lambda: argv() + ["--restore", path, *extra]  # type: ignore[method-assign]
    return s.start()


def test_save_loads_in_redis_server(r, srv):
    fill(r)
    before = r.lastsave()
    assert r.save() is True
    assert r.lastsave() >= before
    info = r.info("persistence")
    assert info["rdb_changes_since_last_save"] == 0
    assert info["rdb_last_bgsave_status"] == "ok" and info["rdb_bgsave_in_progress"] == 0
    data = open(rdb_of(srv), "rb").read()
    rdbfile.check(data)
    assert data.startswith(b"REDIS0010")
    ref = RedisServer(None, "--dbfilename", "from-shardis.rdb")
    shutil.copy(rdb_of(srv), os.path.join(ref.dir, "from-shardis.rdb"))
    ref.start()
    try:
        mine = contents(srv.port)
        theirs = contents(ref.port)
        assert len(mine) > 300 and theirs == mine
        assert functions(ref.port) == [b"backuplib"]
        assert subprocess.run(["redis-check-rdb", rdb_of(srv)], capture_output=True).returncode == 0
    finally:
        ref.stop()


def test_redis_dump_restores_into_shardis(tmp_path):
    ref = RedisServer().start()
    try:
        c = redis.Redis(port=ref.port)
        fill(c)
        c.save()
        path = str(tmp_path / "redis.rdb")
        shutil.copy(os.path.join(ref.dir, "dump.rdb"), path)
        want = contents(ref.port)
    finally:
        ref.stop()
    s = restored(tmp_path, "data", path, 2)
    try:
        assert contents(s.port) == want
        assert functions(s.port) == [b"backuplib"]
        assert redis.Redis(port=s.port).fcall("bk", 0) == 7
    finally:
        assert s.stop() == 0


def test_restore_into_another_shard_count_and_refusal(r, srv, tmp_path):
    fill(r)
    r.save()
    want = contents(srv.port)
    path = str(tmp_path / "backup.rdb")
    shutil.copy(rdb_of(srv), path)
    one = restored(tmp_path, "one", path, 1)
    try:
        assert contents(one.port) == want
        redis.Redis(port=one.port).set("extra", "1")
    finally:
        assert one.stop() == 0
    # Data there already: refused, unless --restore-flush.
    again = Shardis(str(tmp_path / "one"), shards=1)
    p = subprocess.run(again.argv() + ["--restore", path], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 1 and "--restore-flush" in p.stderr
    flushed = restored(tmp_path, "one", path, 1, "--restore-flush")
    try:
        assert contents(flushed.port) == want  # (no "extra")
    finally:
        assert flushed.stop() == 0
    # A damaged file is refused before anything is written.
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0xFF
    bad = str(tmp_path / "bad.rdb")
    open(bad, "wb").write(bytes(data))
    p = subprocess.run(Shardis(str(tmp_path / "fresh"), shards=1).argv() + ["--restore", bad],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 1 and "wrong RDB checksum" in p.stderr


def test_backup_is_consistent_under_cross_shard_transfers(r, srv, tmp_path):
    """MULTI/EXEC moves amounts between accounts on different shards while BGSAVE and SAVE
    run: every file holds the same total."""
    accounts = [f"acct{i}" for i in range(40)]
    r.mset({a: 1000 for a in accounts})
    total = 1000 * len(accounts)
    stop = threading.Event()
    done = [0]

    def transfers(seed: int) -> None:
        rng = random.Random(seed)
        c = redis.Redis(port=srv.port)
        while not stop.is_set():
            a, b = rng.sample(accounts, 2)
            n = rng.randint(1, 50)
            p = c.pipeline(transaction=True)
            p.decrby(a, n)
            p.incrby(b, n)
            p.execute()
            done[0] += 1
        c.close()

    workers = [threading.Thread(target=transfers, args=(i,)) for i in range(2)]
    for w in workers:
        w.start()
    sums = []
    try:
        for i in range(6):
            while done[0] < 20 * (i + 1):
                time.sleep(0.01)
            if i % 2:
                r.save()
            else:
                r.bgsave()
                while r.info("persistence")["rdb_bgsave_in_progress"]:
                    time.sleep(0.02)
            data = open(rdb_of(srv), "rb").read()
            rdbfile.check(data)
            values = {rec.key: int(rec.value) for rec in rdbfile.read(data)
                      if isinstance(rec, rdbfile.Key) and rec.key.startswith(b"acct")}
            assert len(values) == len(accounts)
            sums.append(sum(values.values()))
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert sums == [total] * 6
    assert done[0] >= 120


def test_bgsave_in_progress(r, srv):
    p = r.pipeline(transaction=False)
    for i in range(20000):
        p.set(f"bulk{i}", "v" * 200)
    p.execute()
    saves = r.info("persistence")["rdb_saves"]
    c = redis.Redis(port=srv.port)
    assert r.bgsave() is True
    with pytest.raises(redis.ResponseError, match="^Background save already in progress$"):
        c.bgsave()
    with pytest.raises(redis.ResponseError, match="^Background save already in progress$"):
        c.save()
    assert r.info("persistence")["rdb_bgsave_in_progress"] == 1
    deadline = time.monotonic() + 60
    while r.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    info = r.info("persistence")
    assert info["rdb_saves"] == saves + 1 and info["rdb_last_bgsave_status"] == "ok"
    assert c.execute_command("BGSAVE", "SCHEDULE") is True  # (+Background saving started)
    with pytest.raises(redis.ResponseError, match="syntax error"):
        c.execute_command("BGSAVE", "NOW")
    while r.info("persistence")["rdb_bgsave_in_progress"] and time.monotonic() < deadline:
        time.sleep(0.05)
    c.close()


def test_save_schedule_fires(r, srv):
    r.save()
    saves = r.info("persistence")["rdb_saves"]
    r.config_set("save", "1 3")
    r.set("a", 1)
    assert r.info("persistence")["rdb_changes_since_last_save"] == 1
    time.sleep(2.5)
    assert r.info("persistence")["rdb_saves"] == saves  # 1 change: below the rule's 3
    r.mset({"b": 1, "c": 2})
    deadline = time.monotonic() + 20
    while r.info("persistence")["rdb_saves"] == saves and time.monotonic() < deadline:
        time.sleep(0.1)
    info = r.info("persistence")
    assert info["rdb_saves"] > saves
    assert info["rdb_changes_since_last_save"] == 0


def test_bgsave_inside_exec_is_scheduled(pair):
    pair.check("MULTI")
    pair.check("SET", "a", "1")
    pair.check("BGSAVE")
    pair.check("EXEC")
    for c in (pair.s, pair.r):
        while b"rdb_bgsave_in_progress:1" in c.call("INFO", "persistence"):
            time.sleep(0.02)
