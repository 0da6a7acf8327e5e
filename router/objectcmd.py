"""OBJECT and MEMORY: containers answered by the shard that owns the key (MEMORY STATS and
DOCTOR: by every shard, with the processes' figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from shardis.router.replies import Merger, Slot
from shardis.router.connection import Container, help_reply
from shardis import errors
from shardis.args import Options, int_arg
from shardis.commands import CommandTable
from shardis.resp import OK, ReplyError, Simple, Verbatim
from shardis.router.procstats import rss_bytes, shardis_pids
from shardis.slots import key_slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

OBJECT_HELP = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
)

MEMORY_HELP = (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
)


def ask(conn: Client, internal: bytes, args: list[bytes], key: bytes,
        merge: Callable[[list], object] | None = None) -> Slot:
    """Run an internal command on ``key``'s shard; the reply comes back for ``conn``
    (``merge``: the reply value from the shard's, in a list, when it is not that one)."""
    router = conn.router
    parent = Slot((None, conn))
    m = Merger(parent, _only if merge is None else merge, 1)
    router.submit_raw(router.slot_to_shard[key_slot(key)], router.by_name[internal], conn.db,
                      args, m.parts[0])
    return parent


def _only(values: list) -> object:
    return values[0]


def ask_object(conn: Client, sub: bytes, key: bytes) -> Slot:
    """OBJECT ``sub`` ``key``, answered by the key's shard (``__object``)."""
    return ask(conn, b"__object", [b"__object", sub, key], key)


# ---------------------------------------------------------------- the handlers


def object_encoding(conn: Client, args: list[bytes]) -> Slot:
    return ask_object(conn, b"encoding", args[2])


def object_refcount(conn: Client, args: list[bytes]) -> Slot:
    return ask_object(conn, b"refcount", args[2])


def object_freq(conn: Client, args: list[bytes]) -> Slot:
    return ask_object(conn, b"freq", args[2])


def object_idletime(conn: Client, args: list[bytes]) -> Slot:
    return ask_object(conn, b"idletime", args[2])


def object_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(OBJECT_HELP)


def memory_usage(conn: Client, args: list[bytes]) -> Slot:
    opts = Options(args, 3)
    while opts.more():
        if not opts.eat(b"samples", 1):
            raise ReplyError(errors.SYNTAX)
        if int_arg(opts.take()) < 0:
            raise ReplyError(errors.SYNTAX)
    return ask(conn, b"__memusage", [b"__memusage", args[2]], args[2])


def memory_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(MEMORY_HELP)


# MEMORY STATS and DOCTOR read every shard's figures (``__info``: pid, LMDB map size, bytes
# of the map in use, keys per database) and the processes' resident memory (procstats).
DOCTOR_EMPTY_BYTES = 5 * 1024 * 1024  # less data than this: Redis' "empty" report
DOCTOR_EMPTY = (b"Hi Sam, this instance is empty or is using very little memory, my issues detector "
                b"can't be used in these conditions. Please, leave for your mission on Earth and "
                b"fill it with some data. The new Sam and I will be back to our programming as soon "
                b"as I finished rebooting.\n")
DOCTOR_FINE = (b"Hi Sam, I can't find any memory issue in your instance. I can only account for "
               b"what occurs on this base.\n")
MALLOC_STATS = b"Stats not supported for the current allocator"  # (Redis built without jemalloc)


def ask_shards(conn: Client, done: Callable[[list], object]) -> Slot:
    """Every shard's ``__info`` figures, then ``done(figures)`` is the reply."""
    router = conn.router
    ndb = str(router.cfg.databases).encode()
    return router.fanout(conn, router.by_name[b"__info"], conn.db, [b"__info", ndb], done)


def memory_figures(router: Router, shards: list) -> dict[bytes, object]:
    """MEMORY STATS' fields, Redis 7.0's names in its order, shardis' numbers: what Redis
    counts as allocated is every shardis process's resident memory (so overhead.total too:
    the data lives in LMDB's maps, outside it); dataset.bytes is the bytes of the shards'
    LMDB maps in use; the fragmentation figures are 1 and 0, there being no allocator to ask."""
    used = rss_bytes(shardis_pids())
    stats = router.stats
    peak = stats["used_memory_peak"] = max(stats["used_memory_peak"], used)
    dataset = sum(s[2] for s in shards)
    keys = sum(counts[0] for s in shards for counts in s[3])
    out: dict[bytes, object] = {
        b"peak.allocated": peak, b"total.allocated": used, b"startup.allocated": 0,
        b"replication.backlog": 0, b"clients.slaves": 0, b"clients.normal": 0,
        b"cluster.links": 0, b"aof.buffer": 0, b"lua.caches": 0, b"functions.caches": 0}
    for db in range(router.cfg.databases):
        if sum(s[3][db][0] for s in shards):
            out[b"db.%d" % db] = {b"overhead.hashtable.main": 0, b"overhead.hashtable.expires": 0,
                                  b"overhead.hashtable.slot-to-keys": 0}
    out.update({
        b"overhead.total": used, b"keys.count": keys,
        b"keys.bytes-per-key": dataset // keys if keys else 0, b"dataset.bytes": dataset,
        b"dataset.percentage": dataset * 100 / (dataset + used) if dataset + used else 0.0,
        b"peak.percentage": used * 100 / peak if peak else 0.0,
        b"allocator.allocated": used, b"allocator.active": used, b"allocator.resident": used,
        b"allocator-fragmentation.ratio": 1.0, b"allocator-fragmentation.bytes": 0,
        b"allocator-rss.ratio": 1.0, b"allocator-rss.bytes": 0,
        b"rss-overhead.ratio": 1.0, b"rss-overhead.bytes": 0,
        b"fragmentation": 1.0, b"fragmentation.bytes": 0})
    return out


def memory_stats(conn: Client, args: list[bytes]) -> Slot:
    router = conn.router
    return ask_shards(conn, lambda shards: memory_figures(router, shards))


def memory_doctor(conn: Client, args: list[bytes]) -> Slot:
    """Redis' report for an instance without issues: "empty" below 5 MB of data (LMDB
    bytes in use over every shard), else nothing found (shardis has no allocator figures
    for Redis' checks: peak, fragmentation, clients' buffers)."""
    return ask_shards(conn, lambda shards: Verbatim(
        DOCTOR_EMPTY if sum(s[2] for s in shards) < DOCTOR_EMPTY_BYTES else DOCTOR_FINE))


def memory_malloc_stats(conn: Client, args: list[bytes]) -> bytes:
    return MALLOC_STATS


def memory_purge(conn: Client, args: list[bytes]) -> Simple:
    return OK  # (Redis without jemalloc purges nothing either)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    obj = Container(table, "object", -2, group="generic", since="2.2.3",
                    summary="A container for object introspection commands")
    key_acl = "@keyspace @read @slow"
    obj.sub("encoding", 3, "readonly", summary="Inspect the internal encoding of a Redis object",
            since="2.2.3", acl=key_acl, keys=(2, 2, 1))(object_encoding)
    obj.sub("refcount", 3, "readonly", summary="Get the number of references to the value of the key",
            since="2.2.3", acl=key_acl, keys=(2, 2, 1))(object_refcount)
    obj.sub("freq", 3, "readonly", summary="Get the logarithmic access frequency counter of a Redis object",
            since="4.0.0", acl=key_acl, keys=(2, 2, 1))(object_freq)
    obj.sub("idletime", 3, "readonly", summary="Get the time since a Redis object was last accessed",
            since="2.2.3", acl=key_acl, keys=(2, 2, 1))(object_idletime)
    obj.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
            since="6.2.0", acl="@keyspace @slow")(object_help)

    mem = Container(table, "memory", -2, group="server", since="4.0.0",
                    summary="A container for memory diagnostics commands")
    mem.sub("usage", -3, "readonly", summary="Estimate the memory usage of a key", since="4.0.0",
            complexity="O(N) where N is the number of samples.", acl="@read @slow",
            keys=(2, 2, 1))(memory_usage)
    mem.sub("stats", 2, "", summary="Show memory usage details", since="4.0.0",
            acl="@slow")(memory_stats)
    mem.sub("doctor", 2, "", summary="Outputs memory problems report", since="4.0.0",
            acl="@slow")(memory_doctor)
    slow = "Depends on how much memory is allocated, could be slow"
    mem.sub("malloc-stats", 2, "", summary="Show allocator internal stats", since="4.0.0",
            complexity=slow, acl="@slow")(memory_malloc_stats)
    mem.sub("purge", 2, "", summary="Ask the allocator to release memory", since="4.0.0",
            complexity=slow, acl="@slow")(memory_purge)
    mem.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
            since="4.0.0", acl="@slow")(memory_help)
