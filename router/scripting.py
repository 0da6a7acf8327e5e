"""Scripts at the router: where EVAL, EVALSHA and FCALL run, the script cache, and the
SCRIPT and FUNCTION commands.

Where a script runs (``route``): on the shard of its declared keys (shard 0 without
keys), inside that shard's batch; through the coordinator when its keys span shards,
when its SHA is not in this router's cache (the coordinator holds the cache of record),
or when it once reached a key of another shard (``wire.SCRIPT_MOVED``: the shard
rolled its batch back; this router then sends that script to the coordinator from
then on). With more than one shard, a script's client waits for the script's reply
before its next command is sent anywhere (``ScriptCall``): a script moved to the
coordinator must still run before them.

The cache: the coordinator keeps every script loaded or run (``__scriptload``), in
memory, as Redis does; each router keeps the ones it has seen. EVALSHA of a SHA this
router lacks goes to the coordinator (which runs it, or answers NOSCRIPT) and the
router asks for the body for next time (``__scriptget``). SCRIPT FLUSH empties the
coordinator's cache, then every router's (through the hub, as CONFIG SET reaches every
router) before it answers.
"""

from __future__ import annotations

import time
from binascii import crc_hqx
from typing import TYPE_CHECKING, Any

from shardis import wire
from shardis.commands import CommandSpec, CommandTable
from shardis.resp import OK, ReplyError, encode_error, string2ll
from shardis.router.connection import Container
from shardis.router.later import answer_later
from shardis.router.replies import Merger, Slot
from shardis.scripting import BUSY_FUNCTION, BUSY_SCRIPT, UNKILLABLE, numkeys, sha1hex
from shardis.slots import key_slot
from shardis.values import Simple

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

FLUSHED = "__scripts_flushed"  # the shared setting whose change empties every router's cache


def route(router: Router, spec: CommandSpec, args: list[bytes]) -> tuple[CommandSpec, list[bytes], int]:
    """(the command and arguments to send, the shard to run on or -1 for the coordinator).
    An EVALSHA whose script this router has is sent with its body in the SHA's place."""
    name = spec.name
    if name.startswith("fcall"):
        n = string2ll(args[2])
        if n is None or not 0 <= n <= len(args) - 3:
            return spec, args, 0  # (the shard answers as Redis does: no function, then the count)
    else:
        n = numkeys(args)
    cache = router.scripts
    sha = b""
    if name == "evalsha" or name == "evalsha_ro":
        sha = args[1].lower()
        body = cache.get(sha)
        if body is None:
            learn(router, sha)
            return spec, args, -1
        # The body in the SHA's place (a shard runs the body; the coordinator knows it
        # as one it holds: shardd/scripting.py ``cross_eval``), the name kept, so that
        # INFO commandstats counts the call as EVALSHA wherever it runs.
        args = [args[0], body, *args[2:]]
    elif name == "eval" or name == "eval_ro":
        body = args[1]
        sha = sha1hex(body)
        if sha not in cache:
            keep(router, sha, body)
    else:
        sha = b"f:" + args[1]
    if sha in router.script_strays:
        return spec, args, -1
    if n == 0:
        return spec, args, 0
    slot_to_shard = router.slot_to_shard
    shard = -2
    for k in args[3:3 + n]:
        s = slot_to_shard[key_slot(k) if 123 in k else crc_hqx(k, 0) & 0x3FFF]
        if shard == -2:
            shard = s
        elif s != shard:
            return spec, args, -1
    return spec, args, shard


def as_user(router: Router, conn: Client, spec: CommandSpec,
            args: list[bytes]) -> tuple[CommandSpec, list[bytes]]:
    """A script of a client whose user has ACL rules: wrapped with them, so that where it
    runs (a shard, the coordinator) its calls are checked as Redis checks them
    (shardd/scripting.py ``as_user``)."""
    return router.by_name[wire.AS_USER], [wire.AS_USER, conn.user.describe(), *args]


def unwrapped(args: list[bytes]) -> list[bytes]:
    return args[2:] if args[0] == wire.AS_USER else args


def keep(router: Router, sha: bytes, body: bytes) -> None:
    """A script new to this router: the coordinator keeps it too (for every router's
    EVALSHA); cached here once it has (a script that does not compile is not)."""
    def done(reply: Any) -> None:
        if isinstance(reply, bytes) and reply[:1] == b"$":
            router.scripts[sha] = body
    router.coord_call(router.by_name[b"__scriptload"].id, 0, [b"__scriptload", body], done)


def learn(router: Router, sha: bytes) -> None:
    """Ask the coordinator for a script this router lacks, for its next EVALSHA."""
    def done(reply: Any) -> None:
        if isinstance(reply, bytes) and reply[:1] == b"$" and reply[:3] != b"$-1":
            body = wire.parse_bulk(reply)
            if sha1hex(body) == sha:
                router.scripts[sha] = body
    router.coord_call(router.by_name[b"__scriptget"].id, 0, [b"__scriptget", sha], done)


class ScriptCall:
    """The owner of a script's slot at its shard: the client waits (its next commands
    held) until the reply; a reply of SCRIPT_MOVED sends the script to the coordinator,
    once the client's earlier commands have all been answered."""

    __slots__ = ("router", "client", "spec", "args", "parent", "slot", "dirty", "sha")

    def __init__(self, router: Router, client: Client, spec: CommandSpec, args: list[bytes],
                 parent: Slot) -> None:
        self.router = router
        self.client = client
        self.spec = spec
        self.args = args
        self.parent = parent
        self.slot = Slot((None, self))
        self.dirty = False

    def flush(self) -> None:
        self.dirty = False
        reply = self.slot[0]
        client = self.client
        if reply != wire.SCRIPT_MOVED:
            self.parent[0] = reply
            client.release()
            return
        args = unwrapped(self.args)
        key = b"f:" + args[1] if args[0].lower().startswith(b"fcall") else sha1hex(args[1])
        self.router.script_strays.add(key)
        client.script_wait = self
        client.drained()

    def go(self) -> None:
        """Every earlier reply is in: to the coordinator (its reply fills ``parent``)."""
        self.router.to_coordinator(self.client, self.spec, self.args, None, self.parent)


# ---------------------------------------------------------------- SCRIPT


def _coord(conn: Client, internal: bytes, args: list[bytes], then: Any = None) -> Slot:
    """An internal request the coordinator answers; its reply (RESP) goes to ``conn``."""
    router = conn.router
    slot, fill = answer_later(conn)

    def done(reply: Any) -> None:
        if then is not None:
            then(reply)
        fill(reply)
    router.coord_call(router.by_name[internal].id | conn.proto_bit, 0, args, done)
    return slot


def script_load(conn: Client, args: list[bytes]) -> Slot:
    body = args[2]
    router = conn.router

    def then(reply: Any) -> None:
        if isinstance(reply, bytes) and reply[:1] == b"$":
            router.scripts[sha1hex(body)] = body
    return _coord(conn, b"__scriptload", [b"__scriptload", body], then)


def script_exists(conn: Client, args: list[bytes]) -> Slot:
    return _coord(conn, b"__scriptexists", [b"__scriptexists", *args[2:]])


def script_flush(conn: Client, args: list[bytes]) -> Slot:
    if len(args) > 3 or (len(args) == 3 and args[2].lower() not in (b"async", b"sync")):
        raise ReplyError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
    router = conn.router
    slot, fill = answer_later(conn)
    encoder = conn.encode

    def flushed(reply: Any) -> None:
        def everywhere(version: object) -> None:
            if isinstance(version, ReplyError):
                fill(encode_error(version.args[0]))
            else:
                fill(encoder(OK))
        router.pubsub.share({FLUSHED: time.time_ns()}, everywhere)
    router.coord_call(router.by_name[b"__scriptflush"].id, 0, [b"__scriptflush"], flushed)
    return slot


def kill(conn: Client, function: bool) -> Slot:
    """SCRIPT KILL / FUNCTION KILL: every shard asked; the one running a script past
    busy-reply-threshold stops it, unless it wrote."""
    router = conn.router
    parent = Slot((None, conn))
    n = router.nshards
    m = Merger(parent, _kill_verdict(function), n + 1)  # (and the coordinator's)
    kind = b"function" if function else b"script"
    spec = router.by_name[b"__scriptkill"]
    for i in range(n):
        router.submit_raw(i, spec, 0, [b"__scriptkill", kind], m.parts[i])

    def from_coordinator(reply: Any) -> None:
        part = m.parts[n]
        part[0] = wire.parse_bulk(reply) if isinstance(reply, bytes) and reply[:1] == b"$" else b"notbusy"
        m.flush()
    router.coord_call(spec.id, 0, [b"__scriptkill", kind], from_coordinator)
    return parent


def _kill_verdict(function: bool) -> Any:
    def merge(values: list) -> object:
        if b"ok" in values:
            return OK
        if b"unkillable" in values:
            raise ReplyError(UNKILLABLE)
        if b"wrongkind" in values:
            raise ReplyError(BUSY_SCRIPT if function else BUSY_FUNCTION)
        raise ReplyError("NOTBUSY No scripts in execution right now.")
    return merge


def script_kill(conn: Client, args: list[bytes]) -> Slot:
    return kill(conn, False)


def script_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return [Simple(line) for line in _SCRIPT_HELP]


_SCRIPT_HELP = [
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
]


# ---------------------------------------------------------------- FUNCTION


def function_write(conn: Client, args: list[bytes]) -> Slot:
    """LOAD, DELETE, FLUSH: every shard in one coordinator round (all or none)."""
    return _coord(conn, b"__funcwrite", [b"__funcwrite", *args])


def function_read(conn: Client, args: list[bytes]) -> Slot:
    """LIST, STATS: shard 0's answer (every shard keeps every library)."""
    router = conn.router
    parent = Slot((None, conn))
    m = Merger(parent, _value, 1)
    router.submit_raw(0, router.by_name[b"__funcread"], conn.db, [b"__funcread", *args], m.parts[0])
    return parent


def _value(values: list) -> object:
    return wire.from_raw(values[0])


def function_kill(conn: Client, args: list[bytes]) -> Slot:
    return kill(conn, True)


def function_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return [Simple(line) for line in _FUNCTION_HELP]


_FUNCTION_HELP = [
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
]


def register(table: CommandTable) -> None:
    acl = "@slow @scripting"
    wacl = "@write @slow @scripting"
    script = Container(table, "script", -2, group="scripting", since="2.6.0",
                       summary="A container for Lua scripts management commands")
    script.sub("exists", -3, "noscript", since="2.6.0", acl=acl,
               summary="Check existence of scripts in the script cache.",
               complexity="O(N) with N being the number of scripts to check (so checking a single "
                          "script is an O(1) operation).")(script_exists)
    script.sub("flush", -2, "noscript", since="2.6.0", acl=acl,
               summary="Remove all the scripts from the script cache.",
               complexity="O(N) with N being the number of scripts in cache")(script_flush)
    script.sub("help", 2, "loading stale", since="5.0.0", acl=acl,
               summary="Show helpful text about the different subcommands")(script_help)
    script.sub("kill", 2, "noscript allow_busy", since="2.6.0", acl=acl,
               summary="Kill the script currently in execution.")(script_kill)
    script.sub("load", 3, "noscript stale", since="2.6.0", acl=acl,
               summary="Load the specified Lua script into the script cache.",
               complexity="O(N) with N being the length in bytes of the script body.")(script_load)

    fn = Container(table, "function", -2, group="scripting", since="7.0.0",
                   summary="A container for function commands")
    fn.sub("delete", 3, "write noscript", since="7.0.0", acl=wacl,
           summary="Delete a function by name")(function_write)
    fn.sub("dump", 2, "noscript", since="7.0.0", acl=acl,
           summary="Dump all functions into a serialized binary payload",
           complexity="O(N) where N is the number of functions")(function_read)
    fn.sub("flush", -2, "write noscript", since="7.0.0", acl=wacl, summary="Deleting all functions",
           complexity="O(N) where N is the number of functions deleted")(function_write)
    fn.sub("help", 2, "loading stale", since="7.0.0", acl=acl,
           summary="Show helpful text about the different subcommands")(function_help)
    fn.sub("kill", 2, "noscript allow_busy", since="7.0.0", acl=acl,
           summary="Kill the function currently in execution.")(function_kill)
    fn.sub("list", -2, "noscript", since="7.0.0", acl=acl,
           summary="List information about all the functions",
           complexity="O(N) where N is the number of functions")(function_read)
    fn.sub("load", -3, "write denyoom noscript", since="7.0.0", acl=wacl,
           summary="Create a function with the given arguments (name, code, description)",
           complexity="O(1) (considering compilation time is redundant)")(function_write)
    fn.sub("restore", -3, "write denyoom noscript", since="7.0.0", acl=wacl,
           summary="Restore all the functions on the given payload",
           complexity="O(N) where N is the number of functions on the payload")(function_write)
    fn.sub("stats", 2, "noscript allow_busy", since="7.0.0", acl=acl,
           summary="Return information about the function currently running (name, description, duration)")(
        function_read)
