"""Server commands that every shard answers: DBSIZE, FLUSHDB, FLUSHALL ..."""

from __future__ import annotations

from shardis.commands import ALL, SPLIT_OK, SPLIT_SUM, CommandTable
from shardis.resp import OK
from shardd.storage import Keyspace


def register(table: CommandTable) -> None:
    cmd = table.command

    @cmd("dbsize", 1, "readonly fast", route=ALL, split=SPLIT_SUM, group="server",
         summary="Return the number of keys in the selected database", acl="@keyspace @read @fast")
    def dbsize(ks: Keyspace, db: int, args: list[bytes]):
        return ks.size(db)[0]

    @cmd("flushdb", -1, "write", route=ALL, split=SPLIT_OK, group="server",
         summary="Remove all keys from the current database", acl="@keyspace @write @slow @dangerous")
    def flushdb(ks: Keyspace, db: int, args: list[bytes]):
        ks.flush_db(db)
        return OK

    @cmd("flushall", -1, "write", route=ALL, split=SPLIT_OK, group="server",
         summary="Remove all keys from all databases", acl="@keyspace @write @slow @dangerous")
    def flushall(ks: Keyspace, db: int, args: list[bytes]):
        ks.flush_all()
        return OK
