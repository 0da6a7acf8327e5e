"""What DEBUG asks of the shards (router side: router/servercmd.py): DEBUG OBJECT's line
for a key, from the shard that owns it, and DEBUG SET-ACTIVE-EXPIRE, SLEEP and POPULATE
on every shard."""

from __future__ import annotations

import time
from typing import cast

from shardis import errors, rdb
from shardis.commands import INTERNAL, CommandTable
from shardis.resp import OK, ReplyError, Simple
from shardis.shardd.disk.keys import LIST, mkey, type_of
from shardis.shardd.dump import serialize
from shardis.shardd.objectinfo import OBJECT
from shardis.shardd.storage import Keyspace

RDB_FOOTER = 10  # a DUMP payload's RDB version and CRC-64, after the value
LRU_CLOCK_MAX = (1 << 24) - 1  # Redis' LRU clock: seconds, 24 bits


def debug_object(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    """[__debugobject, key, list-max-listpack-size, list-compress-depth]: Redis' line (the
    router answers it as a status).

    The address is this record's in the shard's process; serializedlength is the key's
    RDB length (its DUMP payload without type byte and footer); lru and lru_seconds_idle
    come from the shard's access data (shardd/eviction.py; under an LFU policy, as Redis'
    own, they mean nothing). A list adds the quicklist that RPUSH of its elements would
    fill (nodes, sizes), as DUMP lays it out. It touches nothing."""
    ev = ks.ctx.evictor
    if ev is not None:
        ev.flush(ks)  # (the accesses of this batch so far)
    touched = len(ks.touched)
    try:
        return _debug_object(ks, db, args)
    finally:
        del ks.touched[touched:]


def _debug_object(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    key = args[1]
    raw = ks.lookup(db, key)
    if raw is None:
        raise ReplyError(errors.NO_SUCH_KEY)
    payload = serialize(ks, db, key)
    assert payload is not None  # (the key is live)
    ev = ks.ctx.evictor
    idle = 0 if ev is None else ev.idle_seconds(mkey(db, key), ks.now)
    line = "Value at:0x%x refcount:%d encoding:%s serializedlength:%d lru:%d lru_seconds_idle:%d" % (
        id(raw), cast(int, OBJECT[b"refcount"](raw)), cast(bytes, OBJECT[b"encoding"](raw)).decode(),
        len(payload) - 1 - RDB_FOOTER, (int(time.time()) - idle) & LRU_CLOCK_MAX, idle)
    if type_of(raw) == LIST:
        fill, depth = int(args[2]), int(args[3])
        c = ks.coll(db, key, LIST)
        assert c is not None  # (live, a list)
        nodes = rdb._quicklist_nodes(  # (DUMP's own packing)
            [v for _, v in ks.mrange(c)], fill)
        size = sum(len(n) for n in nodes)
        line += (" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d "
                 "ql_uncompressed_size:%d") % (len(nodes), c.count / len(nodes) if nodes else 0.0,
                                               fill, 1 if depth else 0, size)
    return line.encode()


def active_expire(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """[__activeexpire, 0|1]: stop or restart this shard's expiry sweep (keys still expire
    when a command touches them). Not kept: a shard that restarts sweeps again."""
    ks.ctx.active_expire = args[1] == b"1"
    return OK


def debug_sleep(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """[__debugsleep, seconds]: DEBUG SLEEP's effect here, as on Redis' one process: this
    shard serves nothing meanwhile (its batch, and the messages behind it, wait)."""
    time.sleep(float(args[1]))
    return OK


def populate(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """[__populate, count, prefix, size]: DEBUG POPULATE's keys that this shard owns,
    ``prefix:<n>`` for n below count, each ``value:<n>`` (cut or padded with zero bytes
    to ``size`` when it is not 0); a key that exists is left as it is; no events."""
    count, prefix, size = int(args[1]), args[2], int(args[3])
    scripts = ks.ctx.scripts
    owns = scripts.owns if scripts is not None and scripts.nshards > 1 else None
    for j in range(count):
        key = (b"%s:%d" % (prefix, j))[:127]  # (Redis writes the name in 128 bytes)
        if owns is not None and not owns(key):
            continue
        if ks.lookup(db, key) is not None:
            continue
        value = b"value:%d" % j
        if size:
            value = value[:size].ljust(size, b"\0")
        ks.set_string(db, key, value, old=None)
    return OK


def register(table: CommandTable) -> None:
    """DEBUG's shard-side parts (internal: the router sends them)."""
    cmd = table.command
    cmd("__debugobject", 4, "readonly", 1, 1, 1, route=INTERNAL)(debug_object)
    cmd("__activeexpire", 2, "admin", route=INTERNAL)(active_expire)
    cmd("__debugsleep", 2, "admin", route=INTERNAL)(debug_sleep)
    cmd("__populate", 4, "write", route=INTERNAL)(populate)
