"""The shard's side of transactions: WATCH versions, single-shard EXEC, and the marks
that make a cross-shard transaction's replay idempotent.

WATCH asks the shards owning the keys for their versions (``__watch``), which
also registers the keys so that a deletion leaves a tomb version (see
``Keyspace.watch``). EXEC compares them inside the transaction that runs the
queued commands:

- all keys on one shard: the router sends one ``__exec`` (the versions and the
  commands, msgpack-packed), run by the daemon as one command of its batch, so
  in one LMDB transaction with nothing between its commands;
- across shards: the coordinator checks with ``__watchok`` on every shard of the
  transaction, under its locks, before any command runs (shardis/coord/coordinator.py).

``__txmark`` stores the id of the last cross-shard transaction this shard
committed, in the same LMDB transaction as its commands; the coordinator's
recovery re-sends a transaction only to shards whose mark is older.
"""

from __future__ import annotations

import struct

from shardis import wire
from shardis.resp import ReplyError
from shardis.commands import INTERNAL, CommandTable
from shardis.shardd.disk.sysdb import TXMARK
from shardis.shardd.storage import Keyspace

_U64 = struct.Struct(">Q")


def _elsewhere(ks: Keyspace, db: int, args: list[bytes]) -> None:
    """Commands that the shard daemon (``__exec``, ``__readywait``) or the coordinator
    (``__multi``, ``__cancel``) run themselves; this handler is never reached there."""
    raise ReplyError(f"ERR '{args[0].decode(errors='replace')}' is internal")


def watch(ks: Keyspace, db: int, args: list[bytes]) -> list[int]:
    """[epoch, version of each key]: WATCH's snapshot on this shard."""
    return [ks.store.epoch, *ks.watch(db, args[1:])]


def unwatch(ks: Keyspace, db: int, args: list[bytes]) -> None:
    """Drop watchers: args[1] = packed [[db, key], ...]."""
    ks.unwatch(wire.unpack(args[1]))
    return None


def watchok(ks: Keyspace, db: int, args: list[bytes]) -> int:
    """1 if no watched key changed: args[1] = packed [epoch, [[db, key, version], ...]]."""
    epoch, items = wire.unpack(args[1])
    return 1 if ks.watch_ok(epoch, items) else 0


def mark(ks: Keyspace, db: int, args: list[bytes]) -> None:
    """The id of the cross-shard transaction this batch commits (replays skip it)."""
    ks.txn.put(TXMARK, _U64.pack(int(args[1])), db=ks.store.sys)
    return None


def ready(ks: Keyspace, db: int, args: list[bytes]) -> bytes | int:
    """A stand-in served: the key that got data, for the coordinator."""
    return args[1] if len(args) > 1 else 1  # (a log written before it named the key)


def notify_(ks: Keyspace, db: int, args: list[bytes]) -> None:
    """Keyspace events of a command the coordinator ran in its scratch store, for
    keys of this shard: args[1] packs [[class, event, db, key], ...]."""
    for cls, event, edb, key in wire.unpack(args[1]):
        ks.notify(cls, event, edb, key)
    return None


def register(table: CommandTable) -> None:
    """The transactions' internal commands (routers, the coordinator and the daemon send them)."""
    cmd = table.command
    cmd("__watch", -2, "readonly fast", 1, -1, 1, route=INTERNAL, group="transactions")(watch)
    cmd("__unwatch", 2, "fast", route=INTERNAL, group="transactions")(unwatch)
    cmd("__watchok", 2, "readonly fast", route=INTERNAL, group="transactions")(watchok)
    cmd("__txmark", 2, "write", route=INTERNAL, group="transactions")(mark)
    # Run by the daemon itself, which has the handler table: see Shard._exec.
    cmd("__exec", 2, "write", route=INTERNAL, group="transactions")(_elsewhere)
    # A blocking command over several shards waits in the coordinator, which leaves a
    # stand-in waiter on each shard (run by the daemon: it has the waiters): served,
    # it runs ``__ready`` and so tells the coordinator that a key got data.
    cmd("__readywait", -3, "fast", 2, -1, 1, route=INTERNAL, group="transactions")(_elsewhere)
    cmd("__ready", 2, "fast", route=INTERNAL, group="transactions")(ready)
    cmd("__notify", 2, "fast", route=INTERNAL, group="transactions")(notify_)
    # From a router to the coordinator: the client of request args[1] went away; with
    # args[2] (TIMEOUT or ERROR), CLIENT UNBLOCK freed it: it gets that answer.
    cmd("__cancel", -2, "fast", route=INTERNAL, group="transactions", cross="cancel")(_elsewhere)
    # A transaction over several shards, from a router to the coordinator: args[1] packs
    # [watched [[shard, epoch, db, key, version]...], commands [[cid, db, args]...]].
    cmd("__multi", 2, "write", route=INTERNAL, group="transactions", cross="exec")(_elsewhere)


def register_unreserve(table: CommandTable) -> None:
    """``__unreserve``: registered late, see ``build_table`` (shardis/assembly.py)."""
    # From the coordinator (or the shard itself, when the coordinator is late): the
    # blocked client whose stand-in waiter ``wid`` was served has had its turn; the
    # clients waiting behind it on that key may take what is left. Run by the daemon.
    table.command("__unreserve", -2, "write", route=INTERNAL, group="transactions",
                  summary="__unreserve wid [wid ...]: a served stand-in's key is free again")(
        _elsewhere)
