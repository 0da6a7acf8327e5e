"""Generic key commands: DEL, EXISTS, EXPIRE, TTL, RENAME ...; shard-side handlers."""

from __future__ import annotations

from shardis.commands import SPLIT_SUM, CommandTable
from shardd.storage import Keyspace


def register(table: CommandTable) -> None:
    cmd = table.command

    @cmd("del", -2, "write", 1, -1, 1, split=SPLIT_SUM, group="generic",
         summary="Delete a key", acl="@keyspace @write @slow")
    def del_(ks: Keyspace, db: int, args: list[bytes]):
        return sum(ks.delete(db, k) for k in args[1:])

    @cmd("exists", -2, "readonly fast", 1, -1, 1, split=SPLIT_SUM, group="generic",
         summary="Determine if a key exists", since="1.0.0", acl="@keyspace @read @fast")
    def exists(ks: Keyspace, db: int, args: list[bytes]):
        return sum(ks.lookup(db, k) is not None for k in args[1:])
