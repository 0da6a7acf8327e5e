"""Server commands that every shard answers: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, and the internal
``__info`` (INFO's per-shard figures), ``__sync`` (SAVE's fsync) and ``__config`` (a
shared setting from CONFIG SET)."""

from __future__ import annotations

import os
from typing import Any

from shardis import configtable, errors
from shardis.args import INT_MAX, INT_MIN
from shardis.commands import ALL, INTERNAL, SPLIT_OK, SPLIT_SUM, CommandTable
from shardis.resp import OK, ReplyError, Simple, string2ll
from shardis.shardd import snapshot
from shardis.shardd.storage import LIMITS, Keyspace


def check_flush_mode(args: list[bytes]) -> None:
    """FLUSHDB/FLUSHALL [ASYNC|SYNC]: both run synchronously inside the batch."""
    if len(args) > 2 or (len(args) == 2 and args[1].lower() not in (b"async", b"sync")):
        raise ReplyError(errors.SYNTAX)


def db_index(arg: bytes, error: str) -> int:
    """getIntFromObjectOrReply with SWAPDB's own message: an integer as string2ll reads
    it that fits a C int."""
    v = string2ll(arg)
    if v is None or not INT_MIN <= v <= INT_MAX:
        raise ReplyError(error)
    return v


def swapdb(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    """SWAPDB index1 index2, this shard's part: every shard runs it in one coordinator
    round (one shard: in its batch), so no client sees one shard swapped and another not.
    The cost is the records of both databases on each shard (``Keyspace.swap_dbs``)."""
    a = db_index(args[1], errors.INVALID_FIRST_DB)
    b = db_index(args[2], errors.INVALID_SECOND_DB)
    n = ks.databases()
    if not (0 <= a < n and 0 <= b < n):
        raise ReplyError(errors.DB_INDEX)
    ks.swap_dbs(a, b)
    return OK


def dbsize(ks: Keyspace, db: int, args: list[bytes]) -> int:
    return ks.size(db)[0]


def flushdb(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    check_flush_mode(args)
    ks.flush_db(db)
    return OK


def flushall(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    check_flush_mode(args)
    ks.flush_all()
    return OK


def shard_info(ks: Keyspace, db: int, args: list[bytes]) -> list[Any]:
    ndb = int(args[1])
    st = ks.store
    if len(args) > 2:
        st.errors.clear()
        st.counters.clear()
    st.gauges["rdb_changes"] = snapshot.changes(ks)  # (INFO persistence)
    ev = st.ctx.evictor
    if ev is not None:  # (what maxmemory is compared with: shardd/eviction.py)
        st.gauges["used_memory_dataset"] = ev.counted(ks)
        st.gauges["lmdb_dataset_pages_bytes"] = ev.last_used
    env = st.env
    info = env.info()
    used = (info["last_pgno"] + 1) * env.stat()["psize"]
    return [os.getpid(), info["map_size"], used, [list(ks.size(d)) for d in range(ndb)],
            [[code.encode(), n] for code, n in st.errors.items()],
            {k.encode(): n for k, n in st.counters.items()},
            {k.encode(): n for k, n in st.gauges.items()}]


def shard_sync(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    ks.store.sync()
    return OK


def shard_config(ks: Keyspace, db: int, args: list[bytes]) -> Simple:
    version = int(args[1])
    settings: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    for i in range(2, len(args) - 1, 2):
        found = configtable.lookup_key(args[i].decode())
        if found is None:
            continue  # (not a parameter this version knows)
        p = found[0]
        value = configtable.parse(p, args[i + 1])
        (limits if p.name in LIMITS else settings)[p.name] = value
    ks.store.apply_settings(version, settings)
    # The limits are kept with the data in this batch's transaction, and the batch is
    # logged: a replay of the write-ahead log applies them where they came.
    if limits and ks.store.set_limits(version, limits, ks.txn):
        ks.mark_written()
    return OK


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    """The server commands every shard answers, each declared as Redis 7.0's COMMAND INFO
    describes it (the internal ones as the router and coordinator send them)."""
    cmd = table.command
    cmd("dbsize", 1, "readonly fast", route=ALL, split=SPLIT_SUM, group="server",
        since="1.0.0", complexity="O(1)",
        summary="Return the number of keys in the selected database", acl="@keyspace @read @fast")(dbsize)
    cmd("flushdb", -1, "write", route=ALL, split=SPLIT_OK, group="server", since="1.0.0",
        complexity="O(N) where N is the number of keys in the selected database",
        summary="Remove all keys from the current database", acl="@keyspace @write @slow @dangerous")(flushdb)
    cmd("flushall", -1, "write", route=ALL, split=SPLIT_OK, group="server", since="1.0.0",
        complexity="O(N) where N is the total number of keys in all databases",
        summary="Remove all keys from all databases", acl="@keyspace @write @slow @dangerous")(flushall)
    cmd("__info", -2, "readonly", route=INTERNAL, group="server",
        summary="__info ndb [RESETSTAT]: this shard's figures for INFO: [pid, map size, bytes "
                "used, [[keys, expires] per db], [[error code, count] ...], {counter: n}, {gauge: n}]; "
                "RESETSTAT (CONFIG RESETSTAT) zeroes the error counts and the counters")(shard_info)
    cmd("__sync", 1, "admin", route=INTERNAL, group="server",
        summary="Fsync what this shard has committed (SAVE, BGSAVE)")(shard_sync)


def register_settings(table: CommandTable) -> None:
    """``__config``: registered late, see ``build_table`` (shardis/assembly.py)."""
    table.command("__config", -4, "admin", route=INTERNAL, group="server",
                  summary="__config version name value [name value ...]: shared settings "
                          "(see shardis/coord/hub.py), applied unless newer ones were")(shard_config)


def register_swapdb(table: CommandTable) -> None:
    """SWAPDB: registered late, see ``build_table`` (shardis/assembly.py)."""
    table.command("swapdb", 3, "write fast", route=ALL, split=SPLIT_OK, group="server",
                  since="4.0.0",
                  complexity="O(N) where N is the count of clients watching or blocking on keys "
                             "from both databases.",
                  summary="Swaps two Redis databases",
                  acl="@keyspace @write @fast @dangerous")(swapdb)
