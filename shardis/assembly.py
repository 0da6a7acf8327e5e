"""The top of the layers: the one place that knows every family and every process.

``build_table`` registers each family's commands; ``run_router``, ``run_shard`` and
``run_coordinator`` are the processes the supervisor starts (``python -m
shardis.router`` ... run them), each given the table. Below this module the layers
only point down (tests/test_layers.py checks it):

    shardis.assembly, shardis.supervisor, */__main__   may import anything
    shardis.coord   (coordinator, scratch, hub)       the base and shardis.shardd
    shardis.router, shardis.shardd                    the base only
    the base        (every other shardis.* module)    the base only
"""

from __future__ import annotations

from shardis.commands import CommandTable
from shardis.coord import coordinator
from shardis.router import app, commandinfo, configcmd, connection, info, monitor, objectcmd, observe, \
    persistence, pubsub, scan, security, servercmd, transactions
from shardis.router import scripting as router_scripting
from shardis.shardd import bitmaps, blocking, daemon, databases, debug, digest, dump, geo, hashes, \
    hyperloglog, keys, lists, objectinfo, scripting, sets, snapshot, sort, streams, strings, txn, zsets


def build_table() -> CommandTable:
    """Every family's commands, registered explicitly in one place."""
    table = CommandTable()
    # The shards' write-ahead logs and the coordinator's intent log record the table's names
    # and replay by name (shardd/recovery.py, shardis/coord/intents.py), so a later build may
    # order the table as it likes. This one keeps the order of the build before, whose logs
    # had no names and are read with this table's ids; hence the late registrations below.
    for family in (connection, commandinfo, configcmd, info, persistence, scan, objectcmd,
                   strings, keys, hashes, lists, sets, zsets, blocking, sort, databases, objectinfo,
                   pubsub, transactions, txn):
        family.register(table)
    databases.register_settings(table)
    txn.register_unreserve(table)
    zsets.register_scan(table)
    databases.register_swapdb(table)
    sort.register_internal(table)
    scripting.register(table)
    router_scripting.register(table)
    streams.register(table)
    bitmaps.register(table)
    hyperloglog.register(table)
    geo.register(table)
    security.register(table)
    dump.register(table)
    servercmd.register(table)
    debug.register(table)
    digest.register(table)
    snapshot.register(table)
    monitor.register(table)
    observe.register(table)
    return table


def run_router(argv: list[str] | None = None) -> None:
    app.main(build_table(), argv)


def run_shard(argv: list[str] | None = None) -> None:
    daemon.main(build_table(), argv)


def run_coordinator(argv: list[str] | None = None) -> None:
    coordinator.main(build_table(), argv)
