"""OBJECT and MEMORY: containers answered by the shard that owns the key."""

from __future__ import annotations

from typing import TYPE_CHECKING

from shardis.router.replies import Merger, Slot
from shardis.router.connection import Container, help_reply
from shardis import errors
from shardis.args import Options, int_arg
from shardis.commands import CommandTable
from shardis.resp import ReplyError, Simple
from shardis.slots import key_slot

if TYPE_CHECKING:
    from shardis.router.app import Client

OBJECT_HELP = (
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
)

MEMORY_HELP = (
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
)


def ask(conn: Client, internal: bytes, args: list[bytes], key: bytes) -> Slot:
    """Run an internal command on ``key``'s shard; the reply comes back for ``conn``."""
    router = conn.router
    parent = Slot((None, conn))
    m = Merger(parent, _only, 1)
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
    obj.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
            since="6.2.0", acl="@keyspace @slow")(object_help)

    mem = Container(table, "memory", -2, group="server", since="4.0.0",
                    summary="A container for memory diagnostics commands")
    mem.sub("usage", -3, "readonly", summary="Estimate the memory usage of a key", since="4.0.0",
            complexity="O(N) where N is the number of samples.", acl="@read @slow",
            keys=(2, 2, 1))(memory_usage)
    mem.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
            since="4.0.0", acl="@slow")(memory_help)
