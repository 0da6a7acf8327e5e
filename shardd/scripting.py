"""Scripts on a shard: EVAL, EVALSHA (the router sends the script's body in the SHA's
place), their _RO forms, FCALL and FCALL_RO, and the FUNCTION commands that keep
libraries.

Where a script runs. The router sends a script to the shard of its declared keys (a
script without keys: shard 0). It runs there inside the batch's LMDB transaction,
calling the shard's own handlers: atomic with no hop. A command it calls whose keys
belong to another shard (or that needs every shard: KEYS, DBSIZE ...) raises
``Stray``: the daemon rolls the whole batch back and runs it again with this script
answered ``wire.SCRIPT_MOVED``, so nothing of the first run is seen; the router then
sends the script to the coordinator, which runs it with every shard it touches
locked (``cross_eval`` below), and remembers to send that script there directly.

Libraries (FUNCTION LOAD) are durable data: every shard keeps each library's code
in its sys database (``sysdb.function_key``), written in the batch (so the
write-ahead log and cross-shard intents carry it); each shard compiles them when a
function is first called after a change.
"""

from __future__ import annotations

import collections
import random
import time
from typing import Any, Callable

from shardis import acl, cmdstats, configtable, errors, rdb
from shardis.commands import ALL, INTERNAL, LOCAL, SCRIPT, CommandSpec, CommandTable, CrossOp, Round
from shardis.glob import stringmatch
from shardis.hubproto import CHANNEL, SHARD
from shardis.resp import OK, ReplyError
from shardis.scanargs import ScanArgs
from shardis.scripting import (
    BUSY_FUNCTION,
    BUSY_SCRIPT,
    NOSCRIPT,
    NOT_ALLOWED,
    UNKNOWN_CMD,
    WRITE_IN_RO,
    WRONG_ARGS,
    CallError,
    Engine,
    KillError,
    Library,
    Script,
    numkeys,
    sha1hex,
)
from shardis.shardd.blocking import BLOCK
from shardis.monitorline import line
from shardis.shardd.disk import sysdb
from shardis.shardd.storage import Keyspace
from shardis.slots import NSLOTS
from shardis.values import OrderedSet, Simple


class Stray(Exception):
    """A script reached a key of another shard: it must run through the coordinator."""


RO_WITH_WRITE = "ERR Can not execute a script with write flag using *_ro command."
KILLED = "ERR Script killed by user with SCRIPT KILL..."
class Running:
    """The script a shard runs now: what BUSY replies, SCRIPT KILL and FUNCTION STATS see."""

    __slots__ = ("function", "name", "args", "started", "wrote", "kill")

    def __init__(self, function: bool, name: bytes, args: list[bytes]) -> None:
        self.function = function
        self.name = name
        self.args = args
        self.started = time.monotonic()
        self.wrote = False   # it called a write command: SCRIPT KILL may not stop it
        self.kill = False    # SCRIPT KILL asked

    def busy_error(self) -> str:
        return BUSY_FUNCTION if self.function else BUSY_SCRIPT

    def kill_request(self, function: bool) -> bytes:
        """SCRIPT KILL (``function`` False) or FUNCTION KILL: this shard's verdict."""
        if function != self.function:
            return b"wrongkind"
        if self.wrote:
            return b"unkillable"
        self.kill = True
        return b"ok"


def script_keys(args: list[bytes]) -> list[bytes]:
    """The declared keys of EVAL ... / FCALL ...: COMMAND GETKEYS and routing."""
    n = int(args[2])
    if n < 0 or n > len(args) - 3:
        raise ValueError("bad numkeys")
    return args[3:3 + n]


def real_time() -> list[bytes]:
    us = time.time_ns() // 1000
    return [b"%d" % (us // 1_000_000), b"%d" % (us % 1_000_000)]


def local_command(spec: CommandSpec, argv: list[bytes], state: list[int], databases: int,
                  clock: Callable[[], list[bytes]] = real_time) -> Any:
    """The connection and server commands a script may call, answered where it runs."""
    name = spec.name
    if name == "ping":
        if len(argv) > 2:
            raise ReplyError(errors.WRONG_ARITY % "ping")
        return Simple("PONG") if len(argv) == 1 else argv[1]
    if name == "echo":
        return argv[1]
    if name == "time":
        return clock()
    if name == "select":
        try:
            db = int(argv[1])
        except ValueError:
            raise ReplyError(errors.NOT_INTEGER) from None
        if not 0 <= db < databases:
            raise ReplyError("ERR DB index is out of range")
        state[0] = db
        return OK
    raise ReplyError("ERR " + NOT_ALLOWED)


def check_call(table: CommandTable, argv: list[bytes], no_writes: bool, readonly_call: bool) -> CommandSpec:
    """The command a script calls, or Redis' error for calling it (ReplyError)."""
    spec = table.lookup(argv[0])
    if spec is None or spec.route == INTERNAL:
        raise ReplyError("ERR " + UNKNOWN_CMD)
    if not spec.arity_ok(len(argv)):
        raise ReplyError("ERR " + WRONG_ARGS)
    if "noscript" in spec.flags:
        raise ReplyError("ERR " + NOT_ALLOWED)
    if spec.subcommands:
        sub = spec.subcommands.get(argv[1].decode("latin-1").lower()) if len(argv) > 1 else None
        if sub is None:
            raise ReplyError("ERR " + UNKNOWN_CMD)
        if not sub.arity_ok(len(argv)):
            raise ReplyError("ERR " + WRONG_ARGS)
        if "noscript" in sub.flags:
            raise ReplyError("ERR " + NOT_ALLOWED)
    if spec.write and no_writes:
        if readonly_call:
            raise ReplyError("ERR " + WRITE_IN_RO)
        raise ReplyError("ERR " + WRITE_IN_RO)
    return spec


# ---------------------------------------------------------------- ACL

# A script run by a user with ACL rules arrives as ``__as <the user's ACL LIST line>
# <EVAL ...>`` (router/security.py): its redis.call()s are checked against those rules,
# as Redis checks them. The line travels with the script (and so into the write-ahead
# log), so a replay checks what the first run checked.
_SCRIPT_DENIED = {"command": "The user executing the script can't run this command or subcommand",
                  "key": "The user executing the script can't access at least one of the keys "
                         "mentioned in the command arguments",
                  "channel": "The user executing the script can't publish to the channel mentioned "
                             "in the command"}
_users: dict[bytes, acl.User] = {}  # ACL LIST line -> the user it describes


def user_of(line: bytes) -> acl.User:
    u = _users.get(line)
    if u is None:
        users = acl.Users()
        users.load(line)
        name = line.split()[1]
        u = users.get(name)
        if u is None:
            raise ReplyError("ERR bad user for a script")
        if len(_users) >= 1000:
            _users.clear()
        _users[line] = u
    return u


def acl_check(user: acl.User | None, spec: CommandSpec, argv: list[bytes]) -> None:
    """A script's command, refused with Redis' text when its user may not run it."""
    if user is None:
        return
    d = user.check(spec, argv)
    if d is not None:
        raise ReplyError("ERR " + _SCRIPT_DENIED[d.reason])


def acl_check_cmd(table: CommandTable, user: acl.User | None) -> Callable[[list], bool]:
    """redis.acl_check_cmd() for a script run by ``user`` (None: may run anything)."""
    def check(argv: list) -> bool:
        spec = table.lookup(argv[0])
        if spec is None or spec.route == INTERNAL or not spec.arity_ok(len(argv)):
            raise CallError("ERR Invalid command passed to redis.acl_check_cmd()")
        return user is None or user.check(spec, argv) is None
    return check


def as_user(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    """``__as line EVAL ...`` (or FCALL ...): the script, its calls checked for that user."""
    host = _host(ks)
    inner = args[2:]
    spec = host.table.lookup(inner[0])
    assert spec is not None and spec.route == SCRIPT, "the router wraps scripts only"
    outer, host.user = host.user, user_of(args[1])
    # (the shard counts ``__as``, which INFO does not show: the script counts here)
    clock = time.perf_counter_ns
    t0 = clock()
    try:
        v = host.handlers()[spec.id](ks, db, inner)
    except ReplyError:
        cmdstats.record(host.stats, spec.name, clock() - t0, True)
        raise
    finally:
        host.user = outer
    cmdstats.record(host.stats, spec.name, clock() - t0)
    return v


def cross_as(coord: Round, db: int, args: list[bytes]) -> Any:
    inner = args[2:]
    user = user_of(args[1])
    if inner[0].lower().startswith(b"fcall"):
        return cross_fcall(coord, db, inner, user)
    return cross_eval(coord, db, inner, user)


def as_user_keys(args: list[bytes]) -> list[bytes]:
    return script_keys(args[2:])


# Router commands a script may call that a key's shard answers: as that shard's command.
_OBJECT_SUBS = (b"encoding", b"refcount", b"freq")


def shard_form(table: CommandTable, spec: CommandSpec, argv: list[bytes]) -> tuple[CommandSpec, list[bytes]]:
    """OBJECT ENCODING/REFCOUNT/FREQ key, as ``__object`` on the key's shard; others as they are."""
    if spec.name == "object" and argv[1].lower() in _OBJECT_SUBS:
        return table.by_name[b"__object"], [b"__object", argv[1].lower(), argv[2]]
    return spec, argv


def keyspace_command(name: str, argv: list[bytes], db: int, shards: int,
                     slot_to_shard: list[int], ends: list[int], ask: Callable[..., Any]) -> Any:
    """SCAN and RANDOMKEY, which the router answers by walking the shards, for a script:
    ``ask(shard, db, *args)`` runs a shard command (``__scan``, ``__randomkey``)."""
    if name == "randomkey":
        live = [v[0] for v in (ask(i, db, b"__randomkey") for i in range(shards)) if v]
        return random.choice(live) if live else None
    a = ScanArgs(argv)
    if a.cursor >= NSLOTS:
        return [b"0", []]
    extra = [a.pattern] if a.type is None else [a.pattern, a.type]
    keys: list[bytes] = []
    budget = a.count
    slot = a.cursor
    while True:
        next_slot, visited, got = ask(slot_to_shard[slot], db, b"__scan", b"%d" % slot, b"%d" % ends[slot],
                                      b"%d" % budget, *extra)
        keys.extend(got)
        budget -= visited
        if next_slot >= NSLOTS or budget <= 0:
            return [b"0" if next_slot >= NSLOTS else b"%d" % next_slot, keys]
        slot = next_slot


_WALKERS = ("scan", "randomkey")
_PUBLISH = {"publish": CHANNEL, "spublish": SHARD}


class ScriptHost:
    """A shard's scripting: its Lua engine, the handlers scripts call, its libraries."""

    def __init__(self, table: CommandTable, handlers: Callable[[], list], owns: Callable[[bytes], bool],
                 nshards: int, in_multi: Callable[[], bool]) -> None:
        self.table = table
        self.handlers = handlers
        self.owns = owns
        self.nshards = nshards
        self.in_multi = in_multi
        self.engine: Engine | None = None
        self.running: Running | None = None
        # What the shard does while a script runs longer than busy-reply-threshold: answer
        # the messages waiting for it (BUSY, SCRIPT KILL ...); set by the daemon.
        self.serve_busy: Callable[[Running], None] | None = None
        # PUBLISH / SPUBLISH from scripts: the receivers now (asked of the hub; set by the
        # daemon), the messages once the batch commits (``published``, kind/channel/message).
        self.receivers: Callable[[int, bytes], int] | None = None
        # TIME in a script is the real time, recorded in the write-ahead log (``record``,
        # set by the daemon) so that a replay after a crash (``replaying``) sees the same.
        self.record: Callable[[list[bytes]], None] | None = None
        self.replaying: collections.deque | None = None
        self.published: list[tuple[int, bytes, bytes]] = []
        # MONITOR: whether any router has a monitoring client (the hub says); the lines of
        # the commands scripts called, sent once the batch commits (``[db lua]`` lines).
        self.monitoring = False
        self.monitor_lines: list[bytes] = []
        self.libraries: dict[bytes, Library] | None = None  # None: read them again
        self.functions: dict[bytes, Script] = {}
        self.user: acl.User | None = None  # the ACL user of the script running (``as_user``)
        # INFO commandstats of the commands scripts call, by name (as Redis counts them:
        # each call, failed when it answered an error); the daemon's ``sub_stats``.
        self.stats: dict[str, list] = {}

    def lua(self) -> Engine:
        if self.engine is None:
            self.engine = Engine()
        return self.engine

    def run(self, ks: Keyspace, db: int, script: Script, keys: list[bytes], argv: list[bytes],
            ro: bool, args: list[bytes] | None = None) -> Any:
        if ro and script.shebang and "no-writes" not in script.flags:
            raise ReplyError(RO_WITH_WRITE)
        running = self.running = Running(script.function, script.sha, args or [])
        busy_s = ks.ctx.busy_ms / 1000.0
        serve_busy = self.serve_busy

        def watch() -> None:
            if not running.kill and serve_busy is not None and time.monotonic() - running.started >= busy_s:
                serve_busy(running)
            if running.kill:
                raise KillError(KILLED)

        engine = self.lua()
        engine.watch = watch
        engine.acl_check = acl_check_cmd(self.table, self.user)
        # math.random's state, from the batch (its clock, how many draws it handed out):
        # a replay of the write-ahead log after a crash draws the same numbers.
        ks.draws += 1
        engine.rand.seed_state(ks.now * 65599 + ks.draws)
        try:
            return self._run(ks, db, script, keys, argv, ro, running)
        finally:
            engine.watch = None
            engine.acl_check = None
            self.running = None

    def _run(self, ks: Keyspace, db: int, script: Script, keys: list[bytes], argv: list[bytes],
             ro: bool, running: Running) -> Any:
        no_writes = ro or "no-writes" in script.flags
        table = self.table
        handlers = self.handlers()
        owns = self.owns
        many = self.nshards > 1
        state = [db]
        databases = ks.ctx.databases
        user = self.user
        stats = self.stats
        clock = time.perf_counter_ns

        def call(cargv: list[bytes], pcall: bool) -> tuple[bool, Any]:
            top = check_call_or_error(cargv)
            if isinstance(top, str):
                refused = table.lookup(cargv[0]) if cargv else None
                if refused is not None and refused.route != INTERNAL:  # (Redis: a rejected call)
                    name = counted_name(refused, cargv, False)
                    if name is not None:
                        cmdstats.reject(stats, name)
                return False, top
            # (a container the shard runs counts by subcommand itself: _by_subcommand)
            name = counted_name(top, cargv, top.route != LOCAL and handlers[top.id] is not None
                                and not top.blocking)
            t0 = clock()
            ok, v = run_call(top, cargv)
            if name is not None:
                cmdstats.record(stats, name, clock() - t0, not ok)
            return ok, v

        def check_call_or_error(cargv: list[bytes]) -> CommandSpec | str:
            try:
                top = check_call(table, cargv, no_writes, ro)
                acl_check(user, top, cargv)
            except ReplyError as e:
                return str(e.args[0])
            return top

        def run_call(top: CommandSpec, cargv: list[bytes]) -> tuple[bool, Any]:
            shown: list[bytes] | None = None
            try:
                if self.monitoring and "admin" not in top.flags and self.replaying is None:
                    shown = cargv
                spec, cargv = shard_form(table, top, cargv)
                if spec.name in _PUBLISH:
                    kind = _PUBLISH[spec.name]
                    self.published.append((kind, cargv[1], cargv[2]))
                    receivers = self.receivers
                    return True, 0 if receivers is None else receivers(kind, cargv[1])
                if spec.name in _WALKERS:
                    if many:
                        self.stray()  # (every shard's keys)
                    return True, keyspace_command(spec.name, cargv, state[0], 1, [0] * NSLOTS, [NSLOTS] * NSLOTS,
                                                  lambda _, d, *a: handlers[table.by_name[a[0]].id](ks, d, list(a)))
                if spec.route == LOCAL:
                    return True, local_command(spec, cargv, state, databases, self.clock)
                if many:
                    if spec.route == ALL:
                        self.stray()
                    for k in spec.keys(cargv):
                        if not owns(k):
                            self.stray()
                    more = spec.reached(cargv)
                    if more is None or any(not owns(k) for k in more):
                        self.stray()
                if spec.write:
                    running.wrote = True
                v = handlers[spec.id](ks, state[0], cargv)
                if v is BLOCK:
                    wait, ks.block = ks.block, None
                    v = wait.on_timeout
                return True, v
            except ReplyError as e:
                return False, e.args[0]
            finally:
                if shown is not None:  # (as it ran: in the database it left selected)
                    self.monitor_lines.append(line(state[0], "lua", shown))

        v = self.lua().run(script, keys, argv, call)
        if isinstance(v, ReplyError):
            raise v
        return v

    def clock(self) -> list[bytes]:
        replaying = self.replaying
        if replaying is not None and replaying:
            return replaying.popleft()
        v = real_time()
        if self.record is not None and replaying is None:
            self.record(v)
        return v

    def stray(self) -> None:
        if self.in_multi():
            raise ReplyError("ERR a script inside MULTI reached a key of another shard; "
                             "send the transaction's keys together (hash tags)")
        raise Stray()

    # ------------------------------------------------------------ libraries

    def library_map(self, ks: Keyspace) -> dict[bytes, Library]:
        """Every library, compiled (read from the sys database after a change)."""
        libs = self.libraries
        if libs is None:
            libs = {}
            engine = self.lua()
            for name, code in sysdb.functions(ks.txn, ks.store.sys):
                libs[name] = engine.load_library(code)
            self.libraries = libs
            self.functions = {f: s for lib in libs.values() for f, s in lib.functions.items()}
        return libs

    def changed(self) -> None:
        self.libraries = None


def counted_name(top: CommandSpec, argv: list[bytes], wrapped: bool) -> str | None:
    """The name a script's call of ``top`` counts under in INFO commandstats: its
    subcommand's for a container; None where the shard's handler counts it itself
    (``wrapped``: the daemon's ``_by_subcommand``) or for an unknown subcommand."""
    if not top.subcommands:
        return top.name
    if wrapped:
        return None
    sub = top.subcommands.get(argv[1].decode("latin-1").lower()) if len(argv) > 1 else None
    return None if sub is None else sub.name


def _host(ks: Keyspace) -> ScriptHost:
    host = ks.ctx.scripts
    if host is None:
        raise ReplyError("ERR scripts do not run here")
    return host


# ---------------------------------------------------------------- EVAL and FCALL


def eval_(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    """EVAL / EVAL_RO / EVALSHA / EVALSHA_RO (the router put the body in args[1])."""
    n = numkeys(args)
    host = _host(ks)
    script = host.lua().compile(args[1])
    ro = args[0][-3:].lower() == b"_ro"
    return host.run(ks, db, script, args[3:3 + n], args[3 + n:], ro, args)


def fcall(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    host = _host(ks)
    host.library_map(ks)
    fn = host.functions.get(args[1])
    if fn is None:
        raise ReplyError("ERR Function not found")
    n = numkeys(args)
    ro = args[0][-3:].lower() == b"_ro"
    return host.run(ks, db, fn, args[3:3 + n], args[3 + n:], ro, args)


# ---------------------------------------------------------------- FUNCTION


def function_load(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    replace = False
    rest = args[2:]
    while len(rest) > 1:
        if rest[0].lower() == b"replace":
            replace = True
            rest = rest[1:]
        else:
            raise ReplyError(f"ERR Unknown option given: {rest[0].decode('utf-8', 'replace')}")
    if len(rest) != 1:
        raise ReplyError("ERR Function code was not given")
    code = rest[0]
    host = _host(ks)
    libs = host.library_map(ks)
    lib = host.lua().load_library(code)
    if lib.name in libs and not replace:
        raise ReplyError(f"ERR Library '{lib.name.decode('utf-8', 'replace')}' already exists")
    for f in lib.functions:
        owner = host.functions.get(f)
        if owner is not None and not (replace and f in libs.get(lib.name, Library(b"", b"")).functions):
            raise ReplyError(f"ERR Function {f.decode('utf-8', 'replace')} already exists")
    ks.txn.put(sysdb.function_key(lib.name), code, db=ks.store.sys)
    ks.mark_written()
    host.changed()
    return lib.name


def function_delete(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    host = _host(ks)
    libs = host.library_map(ks)
    if args[2] not in libs:
        raise ReplyError("ERR Library not found")
    ks.txn.delete(sysdb.function_key(args[2]), db=ks.store.sys)
    ks.mark_written()
    host.changed()
    return OK


def function_flush(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    if len(args) > 3 or (len(args) == 3 and args[2].lower() not in (b"async", b"sync")):
        raise ReplyError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
    host = _host(ks)
    for name in list(host.library_map(ks)):
        ks.txn.delete(sysdb.function_key(name), db=ks.store.sys)
    ks.mark_written()
    host.changed()
    return OK


def function_list(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    pattern: bytes | None = None
    withcode = False
    i = 2
    while i < len(args):
        a = args[i].lower()
        if a == b"withcode":
            withcode = True
        elif a == b"libraryname" and i + 1 < len(args):
            pattern = args[i + 1]
            i += 1
        elif a == b"libraryname":
            raise ReplyError("ERR library name argument was not given")
        else:
            raise ReplyError(f"ERR Unknown argument {args[i].decode('utf-8', 'replace')}")
        i += 1
    out = []
    match = stringmatch(pattern) if pattern is not None else None
    for name, lib in sorted(_host(ks).library_map(ks).items()):
        if match is not None and not match(name):
            continue
        fns = [{b"name": f, b"description": s.description,
                b"flags": OrderedSet(Simple(x) for x in s.order)} for f, s in lib.functions.items()]
        entry: dict = {b"library_name": name, b"engine": b"LUA", b"functions": fns}
        if withcode:
            entry[b"library_code"] = lib.code
        out.append(entry)
    return out


def function_dump(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    """Every library in Redis' DUMP format (RDB_OPCODE_FUNCTION2 + code each, then the
    RDB version and CRC-64): redis-server's FUNCTION RESTORE takes it."""
    libs = _host(ks).library_map(ks)
    body = b"".join(bytes((rdb.OPCODE_FUNCTION2,)) + rdb.encode_string(lib.code)
                    for _, lib in sorted(libs.items()))
    return rdb.footer(body)


def function_restore(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    policy = b"append"
    if len(args) > 4:
        raise ReplyError(errors.SYNTAX)
    if len(args) == 4:
        policy = args[3].lower()
        if policy not in (b"flush", b"append", b"replace"):
            raise ReplyError("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.")
    body = rdb.check_footer(args[2])
    if body is None:
        raise ReplyError("ERR DUMP payload version or checksum are wrong")
    host = _host(ks)
    engine = host.lua()
    codes: list[bytes] = []
    pos = 0
    try:
        while pos < len(body):
            op = body[pos]
            if op == rdb.OPCODE_FUNCTION_PRE_GA:
                raise ReplyError("ERR Pre-GA function format not supported")
            if op != rdb.OPCODE_FUNCTION2:
                raise ReplyError("ERR given type is not a function")
            code, pos = rdb.read_string(body, pos + 1)
            codes.append(code)
    except (ValueError, IndexError):
        raise ReplyError("ERR payload is corrupted") from None
    new = {}
    for code in codes:
        lib = engine.load_library(code)
        new[lib.name] = lib
    old = {} if policy == b"flush" else dict(host.library_map(ks))
    for name in new:
        if name in old and policy == b"append":
            raise ReplyError(f"ERR Library {name.decode('utf-8', 'replace')} already exists")
        old.pop(name, None)
    taken = {f for lib in old.values() for f in lib.functions}
    for lib in new.values():
        for f in lib.functions:
            if f in taken:
                raise ReplyError(f"ERR Function {f.decode('utf-8', 'replace')} already exists")
            taken.add(f)
    if policy == b"flush":
        for name in list(host.library_map(ks)):
            ks.txn.delete(sysdb.function_key(name), db=ks.store.sys)
    for name, lib in new.items():
        ks.txn.put(sysdb.function_key(name), lib.code, db=ks.store.sys)
    ks.mark_written()
    host.changed()
    return OK


def function_stats(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    host = _host(ks)
    libs = host.library_map(ks)
    return {b"running_script": None,
            b"engines": {b"LUA": {b"libraries_count": len(libs),
                                  b"functions_count": sum(len(lb.functions) for lb in libs.values())}}}


def fcode(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    """``__fcode name``: the code of the library holding function ``name`` (for the
    coordinator, which runs FCALLs whose keys span shards)."""
    host = _host(ks)
    for lib in host.library_map(ks).values():
        if args[1] in lib.functions:
            return lib.code
    return None


# ---------------------------------------------------------------- across shards


def cross_eval(coord: Round, db: int, args: list[bytes], user: acl.User | None = None) -> Any:
    """A script whose keys span shards (or that reached another shard's key): run in
    the coordinator, each command it calls sent to its keys' shard inside the round."""
    name = args[0].lower()
    n = numkeys(args)
    engine = coord.lua()
    cache = coord.scripts
    if name in (b"evalsha", b"evalsha_ro"):
        body = cache.get(args[1].lower())
        if body is None:
            # A router sends the body it has in the SHA's place (router/scripting.py
            # ``route``): a script this cache holds runs; anything else is no SHA known.
            if cache.get(sha1hex(args[1])) != args[1]:
                raise ReplyError(NOSCRIPT)
            body = args[1]
    else:
        body = args[1]
    script = engine.compile(body)
    cache.setdefault(script.sha, body)
    return _run_in_round(coord, engine, db, script, args[3:3 + n], args[3 + n:], name.endswith(b"_ro"), user)


def cross_fcall(coord: Round, db: int, args: list[bytes], user: acl.User | None = None) -> Any:
    n = numkeys(args)
    code = coord.call(0, db, b"__fcode", args[1])
    if code is None:
        raise ReplyError("ERR Function not found")
    engine = coord.lua()
    lib = coord.libraries.get(code)
    if lib is None:
        lib = coord.libraries[code] = engine.load_library(code)
    fn = lib.functions[args[1]]
    return _run_in_round(coord, engine, db, fn, args[3:3 + n], args[3 + n:], args[0].lower().endswith(b"_ro"),
                         user)


def _run_in_round(coord: Round, engine: Engine, db: int, script: Script, keys: list[bytes],
                  argv: list[bytes], ro: bool, user: acl.User | None) -> Any:
    if ro and script.shebang and "no-writes" not in script.flags:
        raise ReplyError(RO_WITH_WRITE)
    no_writes = ro or "no-writes" in script.flags
    table = coord.table
    state = [db]
    running = Running(script.function, script.sha, [])
    busy_s = configtable.get_value(coord.cfg, _BUSY) / 1000.0

    def call(cargv: list[bytes], pcall: bool) -> tuple[bool, Any]:
        try:
            top = check_call(table, cargv, no_writes, ro)
            acl_check(user, top, cargv)
            spec, cargv = shard_form(table, top, cargv)
            if spec.name in _PUBLISH:
                return True, coord.publish(_PUBLISH[spec.name], cargv[1], cargv[2])
            if spec.name in _WALKERS:
                return True, keyspace_command(spec.name, cargv, state[0], coord.nshards, coord.slot_to_shard,
                                              coord.run_ends(), coord.call)
            if spec.route == LOCAL:
                return True, local_command(spec, cargv, state, coord.cfg.databases)
            if spec.write:
                running.wrote = True
            return True, coord.command(state[0], cargv, engine.resp)
        except ReplyError as e:
            return False, e.args[0]

    def watch() -> None:
        if not running.kill and time.monotonic() - running.started >= busy_s:
            coord.busy(running)
        if running.kill:
            raise KillError(KILLED)

    engine.watch = watch
    engine.acl_check = acl_check_cmd(table, user)
    try:
        v = engine.run(script, keys, argv, call)
    finally:
        engine.watch = None
        engine.acl_check = None
    if isinstance(v, ReplyError):
        raise v
    return v


_BUSY = configtable.param("busy-reply-threshold")


def script_load(coord: Round, db: int, args: list[bytes]) -> Any:
    """``__scriptload body``: compiled (Redis' error if it does not), kept; its SHA."""
    script = coord.lua().compile(args[1])
    coord.scripts[script.sha] = args[1]
    return script.sha


def script_get(coord: Round, db: int, args: list[bytes]) -> Any:
    """``__scriptget sha``: the body, or nil."""
    return coord.scripts.get(args[1].lower())


def script_exists(coord: Round, db: int, args: list[bytes]) -> Any:
    return [1 if a.lower() in coord.scripts else 0 for a in args[1:]]


def script_flush(coord: Round, db: int, args: list[bytes]) -> Any:
    coord.scripts.clear()
    return OK


# ---------------------------------------------------------------- FUNCTION's shard side

_WRITES = {b"load": function_load, b"delete": function_delete, b"flush": function_flush,
           b"restore": function_restore}
_READS = {b"list": function_list, b"stats": function_stats, b"dump": function_dump}


def funcwrite(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    """``__funcwrite <FUNCTION's arguments>``: LOAD, DELETE or FLUSH on this shard (the
    coordinator sends it to every shard in one round)."""
    return _WRITES[args[2].lower()](ks, db, args[1:])


def funcread(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    """``__funcread <FUNCTION's arguments>``: LIST or STATS (shard 0's: all have the same)."""
    return _READS[args[2].lower()](ks, db, args[1:])


def cross_funcwrite(coord: Round, db: int, args: list[bytes]) -> Any:
    """Every shard changes its libraries in one round: all or none."""
    got = coord.call_each(db, {i: args for i in range(coord.nshards)})
    return got[0]


def scriptkill_idle(coord: Round, db: int, args: list[bytes]) -> bytes:
    """``__scriptkill`` in the coordinator between scripts (see Coordinator.busy)."""
    return b"notbusy"


def scriptkill(ks: Keyspace, db: int, args: list[bytes]) -> bytes:
    """``__scriptkill script|function``: run between batches, no script runs here (a
    running one gets it from its BUSY loop: ``Running.kill_request``)."""
    return b"notbusy"


def in_coordinator(ks: Keyspace, db: int, args: list[bytes]) -> Any:
    raise ReplyError(f"ERR {args[0].decode()} runs in the coordinator")


def register_cross(ops: dict[str, CrossOp]) -> None:
    for name in ("eval", "eval_ro", "evalsha", "evalsha_ro"):
        ops[name] = cross_eval
    ops["fcall"] = ops["fcall_ro"] = cross_fcall
    ops["__as"] = cross_as
    ops["__scriptload"] = script_load
    ops["__scriptget"] = script_get
    ops["__scriptexists"] = script_exists
    ops["__scriptflush"] = script_flush
    ops["__funcwrite"] = cross_funcwrite
    ops["__scriptkill"] = scriptkill_idle


# ---------------------------------------------------------------- the table


def register(table: CommandTable) -> None:
    cmd = table.command
    rw = "noscript stale skip_monitor no_mandatory_keys movablekeys"
    ro = "readonly noscript stale skip_monitor no_mandatory_keys movablekeys"
    acl = "@slow @scripting"
    depends = "Depends on the script that is executed."
    cmd("eval", -3, rw, route=SCRIPT, keys=script_keys, group="scripting", since="2.6.0",
        complexity=depends, summary="Execute a Lua script server side", acl=acl)(eval_)
    cmd("evalsha", -3, rw, route=SCRIPT, keys=script_keys, group="scripting", since="2.6.0",
        complexity=depends, summary="Execute a Lua script server side", acl=acl)(eval_)
    cmd("eval_ro", -3, ro, route=SCRIPT, keys=script_keys, group="scripting", since="7.0.0",
        complexity=depends, summary="Execute a read-only Lua script server side", acl=acl)(eval_)
    cmd("evalsha_ro", -3, ro, route=SCRIPT, keys=script_keys, group="scripting", since="7.0.0",
        complexity=depends, summary="Execute a read-only Lua script server side", acl=acl)(eval_)
    depends = "Depends on the function that is executed."
    cmd("fcall", -3, rw, route=SCRIPT, keys=script_keys, group="scripting", since="7.0.0",
        complexity=depends, summary="Invoke a function", acl=acl)(fcall)
    cmd("fcall_ro", -3, ro, route=SCRIPT, keys=script_keys, group="scripting", since="7.0.0",
        complexity=depends, summary="Invoke a read-only function", acl=acl)(fcall)
    cmd("__as", -5, rw, route=INTERNAL, keys=as_user_keys)(as_user)
    cmd("__fcode", 2, "readonly", route=INTERNAL)(fcode)
    cmd("__scriptkill", 2, "readonly", route=INTERNAL)(scriptkill)
    cmd("__funcwrite", -3, "write", route=INTERNAL)(funcwrite)
    cmd("__funcread", -3, "readonly", route=INTERNAL)(funcread)
    for name in ("__scriptload", "__scriptget"):
        cmd(name, 2, "readonly", route=INTERNAL)(in_coordinator)
    cmd("__scriptexists", -1, "readonly", route=INTERNAL)(in_coordinator)
    cmd("__scriptflush", 1, "readonly", route=INTERNAL)(in_coordinator)
