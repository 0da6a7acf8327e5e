"""COMMAND and its subcommands, answered from the command table.

Redis' metadata that the table does not hold is left out (DOCS has no arguments or
history; INFO has no tips) or derived from what it holds: the key specs are one range
spec built from (first, last, step), flagged RW for write commands and RO otherwise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from shardis import errors, keyspecs
from shardis.args import compile_glob
from shardis.commands import INTERNAL, CommandSpec, CommandTable
from shardis.resp import OrderedSet, ReplyError, Simple
from shardis.router.connection import Container, help_reply

if TYPE_CHECKING:
    from shardis.router.app import Client


# Redis' order of command flags in COMMAND INFO; flags it hides are absent.
FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript",
              "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast",
              "no_auth", "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys",
              "allow_busy")
# Redis' ACL categories, in the order COMMAND INFO lists them.
ACL_ORDER = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
             "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
             "blocking", "dangerous", "connection", "transaction", "scripting")

COMMAND_HELP = (
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
)
# The order in which Redis lists a key's flags (addReplyFlagsForKeyArgs).
KEY_FLAG_ORDER = ("RW", "RO", "OW", "RM", "access", "update", "insert", "delete", "not_key",
                  "incomplete", "variable_flags")


def acl_categories(spec: CommandSpec) -> list[str]:
    """Declared categories plus those Redis implies from the flags, in Redis' order."""
    cats = {c.lstrip("@").lower() for c in spec.acl}
    flags = set(spec.flags)
    implied = {"write": "write", "admin": "admin", "pubsub": "pubsub", "fast": "fast",
               "blocking": "blocking"}
    cats.update(cat for flag, cat in implied.items() if flag in flags)
    if "admin" in flags:
        cats.add("dangerous")
    if "readonly" in flags and "scripting" not in cats:
        cats.add("read")
    if "fast" not in cats:
        cats.add("slow")
    return [c for c in ACL_ORDER if c in cats]


def key_specs(spec: CommandSpec) -> list:
    """One range key spec derived from (first, last, step); none for keyless commands."""
    if spec.first_key <= 0:
        return []
    last = spec.last_key - spec.first_key if spec.last_key >= 0 else spec.last_key
    # Shard channels (SSUBSCRIBE ...) sit where keys would, for Redis Cluster: not keys.
    flag = "not_key" if "pubsub" in spec.flags else "RW" if spec.write else "RO"
    return [{b"flags": [Simple(flag)],
             b"begin_search": {b"type": b"index", b"spec": {b"index": spec.first_key}},
             b"find_keys": {b"type": b"range", b"spec": {b"lastkey": last, b"keystep": spec.step,
                                                         b"limit": 0}}}]


def command_info(spec: CommandSpec) -> list:
    """COMMAND INFO's ten fields for one command."""
    flags = set(spec.flags)
    return [spec.name.encode(), spec.arity, [Simple(f) for f in FLAG_ORDER if f in flags],
            spec.first_key, spec.last_key, spec.step,
            [Simple("@" + c) for c in acl_categories(spec)], [], key_specs(spec),
            [command_info(s) for s in spec.subcommands.values()]]


def command_docs(spec: CommandSpec) -> dict:
    """COMMAND DOCS' map for one command; empty fields are left out, as Redis does."""
    out: dict = {}
    for field, value in (("summary", spec.summary), ("since", spec.since),
                         ("group", spec.group), ("complexity", spec.complexity)):
        if value:
            out[field.encode()] = value.encode()
    if spec.subcommands:
        out[b"subcommands"] = {s.name.encode(): command_docs(s) for s in spec.subcommands.values()}
    return out


def find_command(table: CommandTable, name: bytes) -> CommandSpec | None:
    """A public command by name, or a subcommand as ``parent|sub``."""
    parts = name.split(b"|")
    if len(parts) > 2:
        return None
    spec = table.lookup(parts[0])
    if spec is None or spec.route == INTERNAL:
        return None
    if len(parts) == 2:
        return spec.subcommands.get(parts[1].decode("latin-1").lower())
    return spec


def all_commands(table: CommandTable) -> list[CommandSpec]:
    """Every public command and, after each container, its subcommands."""
    out = []
    for spec in table.public():
        out.append(spec)
        out.extend(spec.subcommands.values())
    return out


def command_of_argv(table: CommandTable, argv: list[bytes]) -> CommandSpec | None:
    """Redis' lookupCommand over a full command line: a subcommand when it has them."""
    return table.lookup_argv(argv)


class ListFilter:
    """COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]."""

    def __init__(self, args: list[bytes]) -> None:
        self.kind: bytes | None = None
        self.arg = b""
        i = 2
        while i < len(args):
            more = len(args) - 1 - i
            if args[i].lower() != b"filterby" or more != 2:
                raise ReplyError(errors.SYNTAX)
            kind = args[i + 1].lower()
            if kind not in (b"module", b"aclcat", b"pattern"):
                raise ReplyError(errors.SYNTAX)
            self.kind, self.arg = kind, args[i + 2]
            i += 3

    def matches(self, spec: CommandSpec) -> bool:
        if self.kind is None:
            return True
        if self.kind == b"module":
            return False  # shardis has no modules
        if self.kind == b"aclcat":
            return self.arg.decode("latin-1").lower() in acl_categories(spec)
        return compile_glob(self.arg, nocase=True)(spec.name.encode())


# ---------------------------------------------------------------- the handlers
# (the table they answer from is the router's: the one registered in)


def command_all(conn: Client, args: list[bytes]) -> list:
    return [command_info(s) for s in conn.router.table.public()]


def command_count(conn: Client, args: list[bytes]) -> int:
    return len(conn.router.table.public())


def command_info_(conn: Client, args: list[bytes]) -> list:
    if len(args) == 2:
        return command_all(conn, args)
    found = (find_command(conn.router.table, name) for name in args[2:])
    return [command_info(s) if s is not None else None for s in found]


def command_docs_(conn: Client, args: list[bytes]) -> dict:
    table = conn.router.table
    specs = table.public() if len(args) == 2 else \
        [s for s in (find_command(table, n) for n in args[2:]) if s is not None]
    return {s.name.encode(): command_docs(s) for s in specs}


def command_list(conn: Client, args: list[bytes]) -> list[bytes]:
    f = ListFilter(args)
    return [s.name.encode() for s in all_commands(conn.router.table) if f.matches(s)]


def keys_and_flags(conn: Client, argv: list[bytes]) -> keyspecs.Keys:
    """Redis' getKeysSubcommandImpl: the key positions of a full command line and their
    flags, from Redis 7.0's key specs (shardis/keyspecs.py), or its error."""
    spec = command_of_argv(conn.router.table, argv)
    if spec is None:
        raise ReplyError(errors.GETKEYS_INVALID_COMMAND)
    if not keyspecs.has_keys(spec.name):
        raise ReplyError(errors.GETKEYS_NO_KEYS)  # (shard channels are not keys)
    if not spec.arity_ok(len(argv)):
        raise ReplyError(errors.GETKEYS_ARITY)
    found = keyspecs.keys_with_flags(spec.name, argv)
    if not found and "no_mandatory_keys" not in spec.flags:
        raise ReplyError(errors.GETKEYS_INVALID_ARGS)
    return found


def command_getkeys(conn: Client, args: list[bytes]) -> list[bytes]:
    argv = args[2:]
    return [argv[i] for i, _ in keys_and_flags(conn, argv)]


def command_getkeysandflags(conn: Client, args: list[bytes]) -> list:
    argv = args[2:]
    return [[argv[i], OrderedSet(Simple(f) for f in KEY_FLAG_ORDER if f in flags)]
            for i, flags in keys_and_flags(conn, argv)]


def command_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(COMMAND_HELP)


def register(table: CommandTable) -> None:
    command = Container(table, "command", -1, group="server", since="2.8.13",
                        summary="Get array of Redis command details", flags="loading stale",
                        complexity="O(N) where N is the total number of Redis commands",
                        acl="@slow @connection", bare=command_all)
    sub = command.sub
    flags, acl = "loading stale", "@slow @connection"
    lookups = "O(N) where N is the number of commands to look up"
    sub("count", 2, flags, since="2.8.13", acl=acl,
        summary="Get total number of Redis commands")(command_count)
    sub("info", -2, flags, since="2.8.13", acl=acl, complexity=lookups,
        summary="Get array of specific Redis command details, or all when no argument is given.")(
        command_info_)
    sub("docs", -2, flags, since="7.0.0", acl=acl, complexity=lookups,
        summary="Get array of specific Redis command documentation")(command_docs_)
    sub("list", -2, flags, since="7.0.0", acl=acl,
        complexity="O(N) where N is the total number of Redis commands",
        summary="Get an array of Redis command names")(command_list)
    sub("getkeys", -4, flags, since="2.8.13", acl=acl,
        complexity="O(N) where N is the number of arguments to the command",
        summary="Extract keys given a full Redis command")(command_getkeys)
    sub("getkeysandflags", -4, flags, since="7.0.0", acl=acl,
        complexity="O(N) where N is the number of arguments to the command",
        summary="Extract keys and access flags given a full Redis command")(command_getkeysandflags)
    sub("help", 2, flags, since="5.0.0", acl=acl,
        summary="Show helpful text about the different subcommands")(command_help)
