"""OBJECT and MEMORY: containers answered by the shard that owns the key."""

from __future__ import annotations

from shardis.router.replies import Merger, Slot
from shardis.router.connection import Container, help_reply
from shardis import errors
from shardis.args import Options, int_arg
from shardis.commands import CommandTable
from shardis.resp import ReplyError
from shardis.slots import key_slot

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


def ask(conn, internal: bytes, args: list[bytes], key: bytes) -> Slot:
    """Run an internal command on ``key``'s shard; the reply comes back for ``conn``."""
    router = conn.router
    parent = Slot((None, conn))
    m = Merger(parent, _only, 1)
    router.submit_raw(router.slot_to_shard[key_slot(key)], router.by_name[internal], conn.db,
                      args, m.parts[0])
    return parent


def _only(values: list):
    return values[0]


def register(table: CommandTable) -> None:
    obj = Container(table, "object", -2, group="generic", since="2.2.3",
                    summary="A container for object introspection commands")
    key_acl = "@keyspace @read @slow"

    def on_key(sub: str, summary: str, since: str) -> None:
        @obj.sub(sub, 3, "readonly", summary=summary, since=since, acl=key_acl, keys=(2, 2, 1))
        def handler(conn, args):
            return ask(conn, b"__object", [b"__object", sub.encode(), args[2]], args[2])

    on_key("encoding", "Inspect the internal encoding of a Redis object", "2.2.3")
    on_key("refcount", "Get the number of references to the value of the key", "2.2.3")
    on_key("freq", "Get the logarithmic access frequency counter of a Redis object", "4.0.0")

    @obj.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
             since="6.2.0", acl="@keyspace @slow")
    def object_help(conn, args):
        return help_reply(OBJECT_HELP)

    mem = Container(table, "memory", -2, group="server", since="4.0.0",
                    summary="A container for memory diagnostics commands")

    @mem.sub("usage", -3, "readonly", summary="Estimate the memory usage of a key", since="4.0.0",
             complexity="O(N) where N is the number of samples.", acl="@read @slow", keys=(2, 2, 1))
    def usage(conn, args):
        opts = Options(args, 3)
        while opts.more():
            if not opts.eat(b"samples", 1):
                raise ReplyError(errors.SYNTAX)
            if int_arg(opts.take()) < 0:
                raise ReplyError(errors.SYNTAX)
        return ask(conn, b"__memusage", [b"__memusage", args[2]], args[2])

    @mem.sub("help", 2, "loading stale", summary="Show helpful text about the different subcommands",
             since="4.0.0", acl="@slow")
    def memory_help(conn, args):
        return help_reply(MEMORY_HELP)
