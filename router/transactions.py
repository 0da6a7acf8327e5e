"""MULTI, EXEC, DISCARD, WATCH and UNWATCH: the router's side.

Between MULTI and EXEC the router queues the client's commands (``+QUEUED``),
refusing what Redis refuses at queue time (unknown command, wrong arity,
``no_multi``), which makes EXEC answer EXECABORT. At EXEC:

- commands that run in the router (PING, SELECT, CLIENT ...) run here, in order;
- when every other command, and every watched key, is on one shard, the shard
  runs them as one ``__exec``: one command of its batch, so one LMDB transaction
  with nothing in between (shardd/txn.py);
- otherwise the coordinator runs the transaction across the shards, under its
  locks (``__multi``, shardis/coord/coordinator.py).

EXEC's reply is written as a run of slots in the client's queue: the array
header, then one slot per queued command, filled as their replies come.
WATCH reads each key's version on its shard (``__watch``) and keeps it in the
client; EXEC compares under the transaction, and every end of a transaction
(EXEC, DISCARD, UNWATCH, RESET, a disconnect) drops the shard's watchers.
"""

from __future__ import annotations

import itertools
import time
from typing import TYPE_CHECKING, Any, NoReturn

from shardis import errors, wire
from shardis.commands import ALL, INTERNAL, LOCAL, SCRIPT, CommandSpec, CommandTable
from shardis.resp import NIL_ARRAY, OK, ReplyError, Simple, encode_error
from shardis.router.replies import NOBODY, Owner, Slot, unknown_command
from shardis.slots import key_slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

QUEUED = b"+QUEUED\r\n"
_tokens = itertools.count(1)


def _slot(owner: Owner, value: object = None) -> Slot:
    return Slot((value, owner))


# ------------------------------------------------------------ queueing

def queue(conn: Client, cmds: list[list[bytes]]) -> None:
    """Commands that arrive while MULTI is open: queued, refused, or (EXEC, DISCARD,
    QUIT, RESET) run."""
    router = conn.router
    pending = conn.pending
    for n, args in enumerate(cmds):
        spec = router.table.lookup(args[0])
        if spec is None or spec.route == INTERNAL:
            pending.append([encode_error(unknown_command(args)), conn])
            router.count_error("ERR")
            conn.multi_error = True
            continue
        if not spec.arity_ok(len(args)):
            pending.append([encode_error(errors.WRONG_ARITY % spec.name), conn])
            router.count_error("ERR")
            router.command_rejected(spec.name)
            conn.multi_error = True
            continue
        if spec.subcommands and len(args) > 1:
            # A container's subcommand is looked up at queuing, as Redis' processCommand does.
            sub = spec.subcommands.get(args[1].decode("latin-1").lower())
            err = None
            if sub is None:
                err = errors.UNKNOWN_SUBCOMMAND % (args[1][:128].decode(errors="replace"),
                                                   spec.name.upper())
            elif not sub.arity_ok(len(args)):
                err = errors.WRONG_ARITY % sub.name
                router.command_rejected(sub.name)
            if err is not None:
                pending.append([encode_error(err), conn])
                router.count_error("ERR")
                conn.multi_error = True
                continue
        name = spec.name
        if name == "exec":
            if _must_wait(conn):
                # Earlier commands first: the transaction could overtake them.
                conn.held = True
                conn.drain_wait = True
                conn.backlog.extend(cmds[n:])
                return
            execute(conn)
            rest = cmds[n + 1:]
            if conn.held:
                conn.backlog.extend(rest)
            elif rest:
                conn.run(rest)
            return
        if name == "discard":
            discard(conn)
            router.command_done(spec, args, 0, None)
            pending.append([conn.encode(OK), conn])
            if cmds[n + 1:]:
                conn.run(cmds[n + 1:])
            return
        if name in ("quit", "reset"):
            discard(conn)
            conn.run(cmds[n:])
            return
        if router.oom_shards and "no_multi" not in spec.flags and out_of_memory(router, spec, args):
            # Redis refuses every command inside MULTI while out of memory, and EXEC
            # then aborts: -OOM when a shard of its keys is (a command without keys: any).
            pending.append([encode_error(errors.OOM), conn])
            router.count_error(errors.OOM)
            # (counted under its subcommand's name for a container: config|set)
            router.command_rejected((router.table.lookup_argv(args) or spec).name)
            conn.multi_error = True
        elif name == "multi":
            pending.append([encode_error(errors.MULTI_NESTED), conn])
            router.count_error(errors.MULTI_NESTED)
            router.command_done(spec, args, 0, errors.MULTI_NESTED)
        elif name == "watch":
            pending.append([encode_error(errors.WATCH_IN_MULTI), conn])
            router.count_error(errors.WATCH_IN_MULTI)
            router.command_done(spec, args, 0, errors.WATCH_IN_MULTI)
        elif "no_multi" in spec.flags:
            pending.append([encode_error(errors.NOT_IN_MULTI), conn])
            router.count_error(errors.NOT_IN_MULTI)
            router.command_rejected(spec.name)
            conn.multi_error = True
        else:
            queued = conn.multi
            assert queued is not None, "queue runs inside MULTI"
            queued.append(args)
            pending.append([QUEUED, conn])


def out_of_memory(router: Router, spec: CommandSpec, args: list[bytes]) -> bool:
    """Whether a shard ``args`` runs on is out of memory (``router.oom_shards``, as the
    hub last said): a shard of its keys; any shard for a command without keys."""
    keys = spec.keys(args)
    if not keys:
        return True
    full = router.oom_shards
    slot_to_shard = router.slot_to_shard
    return any(slot_to_shard[key_slot(k)] in full for k in keys)


def _exec_out_of_memory(conn: Client, queued: list[list[bytes]]) -> bool:
    """EXEC while out of memory: Redis refuses it when a command queued has the denyoom
    flag (and a shard it writes is out of memory, here)."""
    router = conn.router
    table = router.table
    for args in queued:
        spec = table.lookup(args[0])
        if spec is None:
            continue
        if "denyoom" in (table.lookup_argv(args) or spec).flags and out_of_memory(router, spec, args):
            return True
    return False


def _must_wait(conn: Client) -> bool:
    """Whether EXEC must wait for the client's earlier replies: it goes to the coordinator,
    whose messages to the shards can overtake the client's earlier commands still on
    their way (or it follows commands of the client's that the coordinator still runs)."""
    if not any(p[0] is None for p in conn.pending):
        return False
    if conn.coord_outstanding:
        return True
    router = conn.router
    table = router.table
    slot_to_shard = router.slot_to_shard
    shards = {w[0] for w in conn.watched.values()}
    queued = conn.multi
    assert queued is not None, "EXEC inside MULTI"
    for args in queued:
        spec = table.lookup(args[0])
        inner = _on_shard(args)
        if inner is not None:
            spec, args = table.lookup(inner[0]), inner
        assert spec is not None, "queued, so looked up (and _on_shard's are registered)"
        if spec.route is LOCAL:
            continue
        if spec.route == ALL:
            return True
        shards |= {slot_to_shard[key_slot(k)] for k in spec.keys(args)} or {0}
        if len(shards) > 1:
            return True
    return False


def discard(conn: Client) -> None:
    """Leave MULTI without running anything; watches end too."""
    conn.multi = None
    conn.multi_error = False
    unwatch_all(conn)


# ------------------------------------------------------------ EXEC

class ExecReply:
    """The owner of a remote part of EXEC: fills the client's placeholder slots from the
    list of replies the shard (RAW) or the coordinator sends back."""

    __slots__ = ("conn", "header", "n", "remote", "local", "slot", "dirty", "hold", "denied", "whole")

    def __init__(self, conn: Client, header: list | None, n: int, remote: list, local: list,
                 hold: bool, denied: list) -> None:
        self.conn = conn
        self.header = header   # the slot for the array header, or None if written already
        self.n = n             # commands in the transaction
        self.remote = remote   # placeholder slots, in order, of the commands run remotely
        self.local = local     # (placeholder slot, args) run here once the outcome is known
        self.slot = _slot(self)
        self.dirty = False
        self.hold = hold       # the client waits for this reply before its next command
        self.denied = denied   # slots of commands the user's rules refuse now (their errors)
        self.whole: list[tuple[int, CommandSpec, list[bytes]]] = []  # (see execute)

    def flush(self) -> None:
        self.dirty = False
        self.fill(self.slot[0])

    def fill(self, v: Any) -> None:
        conn = self.conn
        err: ReplyError | bytes | None = wire.raw_error(v) if v is not None else None
        if isinstance(v, bytes) and v[:1] == b"-":  # (the coordinator's own errors)
            err = v
        if v is None:  # WATCH aborted it: nil, and nothing ran
            if self.header is not None:
                self.header[0] = conn.encode(NIL_ARRAY)
            for s in self.remote:
                s[0] = b""
            for s, _ in self.local:
                s[0] = b""
            for s in self.denied:
                s[0] = b""
        else:
            if self.header is not None:
                self.header[0] = b"*%d\r\n" % self.n
            if err is not None:
                e = err if isinstance(err, bytes) else encode_error(err.args[0])
                for s in self.remote:
                    s[0] = e
            else:
                for s, r in zip(self.remote, v):
                    s[0] = r
                if self.whole:
                    self.count_whole()
            for s, args in self.local:
                run_local(conn, args, s)
        if self.hold:
            conn.release()
        elif not conn.dirty:
            conn.dirty = True
            conn.flush()


    def count_whole(self) -> None:
        """INFO commandstats: the commands the coordinator ran whole, each once (a failed
        call when it answered an error); a script run as a user with ACL rules (``__as``)
        under its own name. Their time is the round's, not theirs: counted as none."""
        router = self.conn.router
        for i, spec, args in self.whole:
            if spec.name == "__as":
                inner = router.table.lookup(args[2])
                if inner is None:
                    continue
                spec, args = inner, args[2:]
            reply = self.remote[i][0]
            err = reply[1:200].decode("latin-1") if isinstance(reply, bytes) and reply[:1] == b"-" else None
            router.command_done(spec, args, 0, err)


def run_local(conn: Client, args: list[bytes], placeholder: list) -> None:
    """A router command inside EXEC, run now, its reply into ``placeholder``."""
    router = conn.router
    spec = router.table.lookup(args[0])
    assert spec is not None and spec.handler is not None, "queued, so looked up: a router command"
    t0 = time.perf_counter_ns()
    try:
        v = spec.handler(conn, args)
    except ReplyError as e:
        placeholder[0] = encode_error(e.args[0])
        router.count_error(e.args[0])
        router.command_done(spec, args, time.perf_counter_ns() - t0, e.args[0], conn)
        return
    router.command_done(spec, args, time.perf_counter_ns() - t0, None, conn)
    if v.__class__ is Slot:  # its reply comes later: it takes the placeholder's place
        for i, s in enumerate(conn.pending):
            if s is placeholder:
                conn.pending[i] = v
                return
        return
    placeholder[0] = conn.encode(v)


def execute(conn: Client) -> None:
    """EXEC: EXECABORT, or run the queued commands where their keys are."""
    router = conn.router
    queued, conn.multi = conn.multi, None
    failed, conn.multi_error = conn.multi_error, False
    pending = conn.pending
    exec_spec = router.by_name[b"exec"]
    if failed:
        unwatch_all(conn)
        pending.append([encode_error(errors.EXECABORT), conn])
        router.count_error(errors.EXECABORT)
        router.command_done(exec_spec, [b"exec"], 0, errors.EXECABORT)
        return
    if router.oom_shards and queued and _exec_out_of_memory(conn, queued):
        unwatch_all(conn)
        abort = errors.EXECABORT_BECAUSE % errors.OOM
        pending.append([encode_error(abort), conn])
        router.count_error(abort)
        router.command_rejected("exec")
        return
    router.command_done(exec_spec, [b"exec"], 0, None)
    assert queued is not None, "EXEC inside MULTI"
    watched, conn.watched = conn.watched, {}
    table = router.table
    slot_to_shard = router.slot_to_shard
    pbit = conn.proto_bit
    n = len(queued)
    defer_local = bool(watched)  # an abort must leave router commands unrun too
    header = [None, conn] if watched else [b"*%d\r\n" % n, conn]
    pending.append(header)
    db = conn.db
    remote_cmds = []
    remote_slots = []
    local = []
    denied: list = []
    shards = {w[0] for w in watched.values()}
    cross = False
    # Commands the coordinator runs whole (scripts, those whose keys span shards): no
    # shard counts them (their parts are not calls), so this router does once EXEC's
    # replies are in (ExecReply.count_whole); (index in remote_slots, spec, args).
    whole: list[tuple[int, CommandSpec, list[bytes]]] = []
    for args in queued:
        spec = table.lookup(args[0])
        assert spec is not None, "queued, so looked up"
        if conn.gated:
            # The user's rules may have changed since the command was queued.
            err = router.exec_denial(conn, spec, args)
            if err is not None:
                placeholder = [encode_error(err), conn]
                pending.append(placeholder)
                denied.append(placeholder)
                router.count_error(err)
                continue
        inner = _on_shard(args)
        if inner is not None:
            spec, args = table.lookup(inner[0]), inner
        assert spec is not None, "queued, so looked up (and _on_shard's are registered)"
        if spec.route is LOCAL:
            placeholder = [None, conn]
            pending.append(placeholder)
            if defer_local:
                local.append((placeholder, args))
                if spec.name == "select":
                    db = _selected(conn, args, db)
            else:
                run_local(conn, args, placeholder)
                db = conn.db
            continue
        if spec.route == SCRIPT and conn.gated:
            spec, args = router.script_as_user(conn, spec, args)
        placeholder = [None, conn]
        pending.append(placeholder)
        remote_slots.append(placeholder)
        remote_cmds.append([spec.id | pbit, db, args])
        if spec.route == ALL or spec.route == SCRIPT or spec.name == "__as":
            # (a script may reach any shard's keys, and EVALSHA's body is the
            # coordinator's to find: scripts in a transaction run there)
            cross = True
            whole.append((len(remote_slots) - 1, spec, args))
            continue
        keys = spec.keys(args)
        ks = {slot_to_shard[key_slot(k)] for k in keys} or {0}
        if spec.reach is not None:  # keys it reads besides its arguments (SORT's patterns)
            more = spec.reached(args)
            if more is None:
                cross = cross or router.nshards > 1
                if router.nshards > 1:
                    whole.append((len(remote_slots) - 1, spec, args))
            else:
                ks.update(slot_to_shard[key_slot(k)] for k in more)
        if len(ks) > 1:
            cross = True
            whole.append((len(remote_slots) - 1, spec, args))
        shards |= ks
    if not remote_cmds and not watched:
        return
    hold = defer_local or cross or len(shards) > 1
    owner = ExecReply(conn, header if watched else None, n, remote_slots, local, hold, denied)
    if cross or len(shards) > 1:
        owner.whole = whole
        items = [[shard, epoch, wdb, key, version]
                 for (wdb, key), (shard, epoch, version) in watched.items()]
        spec = router.by_name[b"__multi"]
        conn.held = True
        router.coord_call(spec.id | pbit, conn.db, [b"__multi", wire.pack([items, remote_cmds])],
                          owner.fill)
        return
    shard = shards.pop()
    epoch = next(iter(watched.values()))[1] if watched else 0
    items = [[wdb, key, version] for (wdb, key), (_, _, version) in watched.items()]
    token = b"%d:%d" % (conn.id, next(_tokens))
    spec = router.by_name[b"__exec"]
    router.submit_raw(shard, spec, conn.db, [b"__exec", wire.pack([epoch, items, remote_cmds, token])],
                      owner.slot)
    if hold:
        conn.held = True


def _on_shard(args: list[bytes]) -> list[bytes] | None:
    """Router commands that read a key through its shard (OBJECT ENCODING, MEMORY USAGE):
    inside EXEC they run there, in order with the transaction's other commands."""
    name = args[0].lower()
    if len(args) == 3 and name == b"object" and args[1].lower() in (b"encoding", b"refcount", b"freq"):
        return [b"__object", args[1].lower(), args[2]]
    if len(args) == 3 and name == b"memory" and args[1].lower() == b"usage":
        return [b"__memusage", args[2]]
    return None


def _selected(conn: Client, args: list[bytes], db: int) -> int:
    """The database a SELECT inside EXEC will switch to (its own reply comes when it runs)."""
    try:
        new = int(args[1])
    except ValueError:
        return db
    return new if 0 <= new < conn.router.cfg.databases else db


# ------------------------------------------------------------ WATCH

class WatchReply:
    """Collects the versions of WATCH's keys from their shards, then answers OK."""

    __slots__ = ("conn", "db", "parts", "parent", "dirty")

    def __init__(self, conn: Client, db: int, groups: dict[int, list[bytes]]) -> None:
        self.conn = conn
        self.db = db
        self.parent = _slot(conn)
        self.parts = [(shard, keys, _slot(self)) for shard, keys in groups.items()]
        self.dirty = False

    def flush(self) -> None:
        self.dirty = False
        if any(s[0] is None for _, _, s in self.parts):
            return
        conn = self.conn
        reply = conn.encode(OK)
        for shard, keys, s in self.parts:
            v = s[0]
            err = wire.raw_error(v)
            if err is not None:
                reply = encode_error(err.args[0])
                continue
            epoch, *versions = v
            for key, version in zip(keys, versions):
                conn.watched[(self.db, key)] = (shard, epoch, version)
        self.parent[0] = reply
        conn.release()


def unwatch_all(conn: Client) -> None:
    """Drop the client's watchers on their shards (nobody waits for the answer)."""
    if not conn.watched:
        return
    router = conn.router
    by_shard: dict[int, list] = {}
    for (db, key), (shard, _, _) in conn.watched.items():
        by_shard.setdefault(shard, []).append([db, key])
    conn.watched = {}
    spec = router.by_name[b"__unwatch"]
    for shard, items in by_shard.items():
        router.submit_raw(shard, spec, 0, [b"__unwatch", wire.pack(items)], _slot(NOBODY))


# ------------------------------------------------------------ the handlers

def multi_(conn: Client, args: list[bytes]) -> Simple:
    conn.multi = []
    conn.multi_error = False
    return OK


def exec_(conn: Client, args: list[bytes]) -> NoReturn:
    raise ReplyError(errors.EXEC_WITHOUT_MULTI)  # (inside MULTI, ``queue`` runs it)


def discard_(conn: Client, args: list[bytes]) -> NoReturn:
    raise ReplyError(errors.DISCARD_WITHOUT_MULTI)


def watch(conn: Client, args: list[bytes]) -> Simple | Slot:
    router = conn.router
    db = conn.db
    groups: dict[int, list[bytes]] = {}
    for key in dict.fromkeys(args[1:]):
        if (db, key) not in conn.watched:
            groups.setdefault(router.slot_to_shard[key_slot(key)], []).append(key)
    if not groups:
        return OK
    w = WatchReply(conn, db, groups)
    spec = router.by_name[b"__watch"]
    for shard, keys, s in w.parts:
        router.submit_raw(shard, spec, db, [b"__watch", *keys], s)
    conn.held = True
    return w.parent


def unwatch(conn: Client, args: list[bytes]) -> Simple:
    unwatch_all(conn)
    return OK


# ------------------------------------------------------------ the command table

def register(table: CommandTable) -> None:
    cmd = table.command
    cmd("multi", 1, "noscript loading stale fast allow_busy", route=LOCAL, group="transactions",
        since="1.2.0", summary="Start a transaction block", complexity="O(1)",
        acl="@fast @transaction")(multi_)
    cmd("exec", 1, "noscript loading stale skip_slowlog", route=LOCAL, group="transactions",
        since="1.2.0", summary="Execute all commands issued after MULTI",
        complexity="Depends on commands in the transaction", acl="@slow @transaction")(exec_)
    cmd("discard", 1, "noscript loading stale fast allow_busy", route=LOCAL, group="transactions",
        since="2.0.0", summary="Discard all commands issued after MULTI",
        complexity="O(N), when N is the number of queued commands", acl="@fast @transaction")(discard_)
    cmd("watch", -2, "noscript loading stale fast allow_busy", 1, -1, 1, route=LOCAL,
        group="transactions", since="2.2.0",
        summary="Watch the given keys to determine execution of the MULTI/EXEC block",
        complexity="O(1) for every key.", acl="@fast @transaction")(watch)
    cmd("unwatch", 1, "noscript loading stale fast allow_busy", route=LOCAL, group="transactions",
        since="2.2.0", summary="Forget about all watched keys", complexity="O(1)",
        acl="@fast @transaction")(unwatch)
