"""The string family: GET, SET and the rest; shard-side handlers."""

from __future__ import annotations

from shardis.commands import CommandTable
from shardis.resp import OK
from shardd.storage import Keyspace


def register(table: CommandTable) -> None:
    cmd = table.command

    @cmd("get", 2, "readonly fast", 1, 1, 1, group="string",
         summary="Get the value of a key", acl="@read @string @fast")
    def get(ks: Keyspace, db: int, args: list[bytes]):
        return ks.get_string(db, args[1])

    @cmd("set", -3, "write denyoom", 1, 1, 1, group="string",
         summary="Set the string value of a key", acl="@write @string @slow")
    def set_(ks: Keyspace, db: int, args: list[bytes]):
        ks.set_string(db, args[1], args[2])
        return OK
