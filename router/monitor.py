"""MONITOR, over every router of the server, as Redis 7.0 shows it.

A client that says MONITOR gets ``+OK``, then a line for every command any client runs
through any router: ``+1339518083.107412 [0 127.0.0.1:60866] "keys" "*"`` (the time, the
client's database after the command and its address, then each argument as Redis'
sdscatrepr quotes it). What Redis 7.0 shows, and so shardis:

- A command as it runs (Redis' ``call``): a command refused before it runs (unknown, wrong
  arity, NOAUTH or NOPERM, a RESP2 subscriber's forbidden command, a monitoring client's
  keyspace command) is not shown; one that runs and fails (WRONGTYPE, a syntax error) is.
  Commands flagged ``admin`` (CONFIG, CLIENT LIST/KILL, DEBUG, ACL SETUSER, MONITOR itself
  ...) are never shown. EVAL, EVALSHA and FCALL are shown as they start.
- AUTH's arguments, HELLO's AUTH username and password and MIGRATE's AUTH/AUTH2 ones read
  ``"(redacted)"``.
- MULTI is shown as it runs; the queued commands are shown when EXEC runs them, followed
  by EXEC (alone after a queuing error, or when WATCH made it fail: with watched keys the
  lines wait for EXEC's outcome); DISCARD as it runs.
- A command held (behind a blocking command, a CLIENT PAUSE, a cross-shard command) is
  shown when it runs; a blocking command when it starts to wait.
- The commands a script calls follow its line as ``[db lua]`` lines when the script runs
  on one shard (the shard feeds them through the hub once its batch commits: the line of
  a command sent after the script's reply may come before them); those of a script that
  runs in the coordinator (keys on several shards) are not shown. Inside MULTI, a
  script's calls come after EXEC's line (Redis: before).

A monitoring client (flag ``O`` in CLIENT LIST, type normal) may still run commands that
touch no keys (PING, INFO, CLIENT ...), shown to every monitor itself included; a read,
write or may-replicate command is refused with ``ERR Replica can't interact with the
keyspace``. MONITOR again answers nothing; inside EXEC it is refused; RESET ends the
mode, as does disconnecting. Lines are status replies in RESP3 too (as from Redis). A
monitor that does not read its lines is closed by the normal class of
``client-output-buffer-limit`` (as Redis classes a monitor); at that class's default,
``0 0 0``, it is not (as with Redis), and the router holds what it cannot write.

Across routers: the hub (shardis/coord/hub.py) knows how many monitors each router has
and tells every router which routers have some (``Router.monitoring``: whether any has,
tested once per batch of a client's commands in ``Client.run_past_gate``, the only cost
when nobody monitors). While someone monitors, each command runs on its own through
``run`` here; its lines leave once per loop turn for the hub, which passes them to
every router with monitors (this one too), with the lines shards feed for the commands
their scripts call: a script's line leaves at once, before its shard gets it, so its
calls follow it. The first monitor on a router waits for its ``+OK`` until every router
has heard (a poll through the hub), so a command sent through any router after the
client read ``+OK`` is shown. Lines of one router reach a monitor in the order that
router ran the commands; across routers no order is promised.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Callable

from shardis import errors, hubproto
from shardis.commands import INTERNAL, LOCAL, CommandSpec, CommandTable
from shardis.hubproto import Feed, Lines, Monitor, Monitoring
from shardis.monitorline import line
from shardis.resp import OK, ReplyError, encode_error
from shardis.router.clients import MAY_REPLICATE
from shardis.router.pubsub import dispatch_subscribed, subscribed_reply
from shardis.router.replies import Slot

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

REDACTED = b"(redacted)"
NOTHING = b""  # what MONITOR answers a client that monitors already

# ---------------------------------------------------------------- what a line shows


def redacted(spec: CommandSpec, args: list[bytes]) -> list[bytes]:
    """``args`` with the secrets Redis 7.0 hides from monitors replaced (AUTH's arguments,
    HELLO's AUTH pair, MIGRATE's AUTH/AUTH2), as far as each command parses them."""
    name = spec.name
    if name == "auth":
        if len(args) > 3:  # (a syntax error, before Redis redacts anything)
            return args
        return [args[0]] + [REDACTED] * (len(args) - 1)
    if name == "hello":
        if len(args) < 3:
            return args
        out = list(args)
        j = 2
        while j < len(args):
            opt = args[j].lower()
            more = len(args) - 1 - j
            if opt == b"auth" and more >= 2:
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            elif opt == b"setname" and more >= 1:
                j += 2
            else:
                break
        return out
    if name == "migrate":
        out = list(args)
        j = 6
        while j < len(args):
            opt = args[j].lower()
            more = len(args) - 1 - j
            if opt in (b"copy", b"replace"):
                j += 1
            elif opt == b"auth" and more >= 1:
                out[j + 1] = REDACTED
                j += 2
            elif opt == b"auth2" and more >= 2:
                out[j + 1] = out[j + 2] = REDACTED
                j += 3
            else:
                break
        return out
    return args


# ---------------------------------------------------------------- the router's monitors


class Monitors:
    """Per router: its monitoring clients, which routers have some (from the hub), the
    lines on their way to the hub."""

    def __init__(self, router: Router) -> None:
        self.router = router
        # its monitoring clients, in the order they said MONITOR, with the time they did
        # (in microseconds, as the lines show it)
        self.local: dict[Client, int] = {}
        self.remote: set[int] = set()        # routers with monitors, as the hub last said
        self.out: list[bytes] = []           # this loop turn's lines, for the hub
        self.scheduled = False
        self.registered = False  # whether the hub counts this router's monitors
        self.ready = True        # whether every router has heard of them (see ``add``)
        self.waiting: list[Callable[[], None]] = []  # MONITOR replies until then
        self.shown_by_spec: dict[int, bool] = {}
        # EXECs with WATCH whose outcome is not known yet: client -> (its reply's header
        # slot, database, queued commands, EXEC's spec and arguments); see ``defer``
        self.deferred: dict[Client, tuple[list, int, list[list[bytes]], CommandSpec, list[bytes]]] = {}

    def _update(self) -> None:
        self.router.monitoring = bool(self.local) or bool(self.remote)

    def shown(self, spec: CommandSpec) -> bool:
        """Whether Redis shows this command (or subcommand) to monitors at all."""
        v = self.shown_by_spec.get(id(spec))
        if v is None:
            v = self.shown_by_spec[id(spec)] = "admin" not in spec.flags
        return v

    # ------------------------------------------------------------ membership

    def add(self, conn: Client) -> Slot:
        """``conn`` monitors from now on; its ``+OK``, once every router knows."""
        self.local[conn] = time.time_ns() // 1000
        conn.monitoring = True
        self._update()
        router = self.router
        if not self.registered:
            self.registered = True
            router.pubsub.send(Monitor(len(self.local)))
            if router.cfg.nrouters > 1:
                self.ready = False
                router.pubsub.poll(None, ["monitors"], self._heard)
        if self.ready:
            return Slot((conn.encode(OK), conn))
        slot = Slot((None, conn))

        def answer() -> None:
            slot[0] = conn.encode(OK)
            if not conn.dirty:
                conn.dirty = True
                conn.flush()

        self.waiting.append(answer)
        return slot

    def _heard(self, value: object) -> None:
        """Every router answered the poll after the hub's MONITORING: they feed lines."""
        self.ready = True
        waiting, self.waiting = self.waiting, []
        for answer in waiting:
            answer()

    def remove(self, conn: Client) -> None:
        """``conn`` stops monitoring (RESET, or it left)."""
        conn.monitoring = False
        if conn not in self.local:
            return
        del self.local[conn]
        self._update()
        if not self.local and self.registered:
            self.registered = False
            self.router.pubsub.send(Monitor(0))

    def count(self) -> int:
        return len(self.local)

    def on_monitoring(self, op: Monitoring) -> None:
        """The hub says which routers have monitors now."""
        self.remote = set(op.routers)
        self._update()

    def rejoin(self) -> None:
        """The hub restarted (router/pubsub.py says HELLO again): count our monitors again."""
        if self.registered:
            self.router.pubsub.send(Monitor(len(self.local)))

    def on_lines(self, op: Lines) -> None:
        """Lines from the hub (of every router's commands, and shards' scripts' calls),
        for this router's monitors: a monitor reads those of commands run since its
        MONITOR (a line fed just before may come back after it)."""
        if not self.local:
            return
        data = b"".join(op.lines)
        recent = time.time_ns() // 1000 - 2_000_000
        for conn, since in self.local.items():
            if conn.closing:
                continue
            if since > recent:  # (joined in the last 2 s: look at each line's time)
                mine = b"".join(x for x in op.lines if _micros(x) >= since)
                if not mine:
                    continue
                conn.pending.append([mine, conn])
            else:
                conn.pending.append([data, conn])
            if not conn.dirty:
                conn.dirty = True
                conn.flush()

    # ------------------------------------------------------------ feeding

    def feed(self, db: int, addr: str, spec: CommandSpec, args: list[bytes]) -> None:
        """A command ran: its line, for every monitor (through the hub, where the lines of
        the commands of scripts join them in order)."""
        self.out.append(line(db, addr, redacted(spec, args)))
        if not self.scheduled:
            self.scheduled = True
            self.router.call_soon(self._flush)

    def defer(self, conn: Client, header: list, db: int, queued: list[list[bytes]],
              spec: CommandSpec, args: list[bytes]) -> None:
        """EXEC with WATCH: its lines once ``header`` (its reply's first slot) tells
        whether it ran; checked before the client's next command, else every 2 ms."""
        self.deferred[conn] = (header, db, queued, spec, args)
        loop = self.router.loop
        assert loop is not None, "runs on the loop"
        loop.call_later(0.002, self._poll, conn)

    def _poll(self, conn: Client) -> None:
        if conn in self.deferred and not self.settle(conn):
            loop = self.router.loop
            assert loop is not None, "runs on the loop"
            loop.call_later(0.002, self._poll, conn)

    def settle(self, conn: Client) -> bool:
        """Feed the lines of ``conn``'s EXEC with WATCH once its outcome is known (the
        queued commands only when it ran); whether it was (or nothing waited)."""
        entry = self.deferred.get(conn)
        if entry is None:
            return True
        header, db, queued, spec, args = entry
        reply = header[0]
        if reply is None and not conn.closing:
            return False
        del self.deferred[conn]
        if reply is not None and reply not in _NIL_ARRAYS:
            db = _feed_queued(conn, self, db, queued)
        self.feed(db, conn.addr, spec, args)
        self.send_now()
        return True

    def send_now(self) -> None:
        """The lines leave now, before this loop turn's batches (whose scripts' shards feed
        the lines of their calls), behind what else waits for the hub."""
        if self.out:
            lines, self.out = self.out, []
            pubsub = self.router.pubsub
            ops, pubsub.ops = pubsub.ops, []
            ops.append(Feed(lines))
            if not pubsub.sock.closed:
                pubsub.sock.send(hubproto.encode(ops))

    def _flush(self) -> None:
        """Once per loop turn: the lines go to the hub."""
        self.scheduled = False
        if self.out:
            lines, self.out = self.out, []
            self.router.pubsub.send(Feed(lines))


_NIL_ARRAYS = (b"*-1\r\n", b"_\r\n")  # (EXEC aborted by WATCH, RESP2 and RESP3)


def _micros(data: bytes) -> int:
    """A line's time in microseconds (``+1700000000.000123 [...``)."""
    return int(data[1:data.index(b" ")].replace(b".", b""))


# ---------------------------------------------------------------- running commands


def _judged(conn: Client, args: list[bytes]) -> CommandSpec | None:
    """The spec (the subcommand's for a container) of a command that passes Redis'
    checks before it runs, or None for one refused there (its error comes from the
    ordinary path: unknown command, arity, ACL, a RESP2 subscriber's rule)."""
    table = conn.router.table
    spec = table.lookup(args[0])
    if spec is None or spec.route == INTERNAL or not spec.arity_ok(len(args)):
        return None
    top = spec
    if spec.subcommands and len(args) > 1:
        sub = spec.subcommands.get(args[1].decode("latin-1").lower())
        if sub is None or not sub.arity_ok(len(args)):
            return None
        spec = sub
    if conn.gated:
        if not conn.authenticated:
            if "no_auth" not in top.flags:
                return None
        elif conn.user.check(top, args) is not None:
            return None
    if conn.dispatch_hook is dispatch_subscribed and conn.resp == 2:
        subs = conn.pubsub
        if subs is not None and subs.total():
            reply = subscribed_reply(conn, args)
            if reply is not None and reply[:1] == b"-":
                return None
    return spec


def _touches_keyspace(spec: CommandSpec) -> bool:
    """Redis' test for a replica's (and so a monitor's) commands: read, write or may replicate."""
    flags = spec.flags
    return "readonly" in flags or "write" in flags or spec.name in MAY_REPLICATE


def run(conn: Client, cmds: list[list[bytes]]) -> None:
    """``Client.run_past_gate`` while any router has monitors: each command on its own,
    shown once it has run (as Redis' ``call`` feeds them)."""
    router = conn.router
    mon = router.monitor
    if mon.deferred:
        mon.settle(conn)
    for n, args in enumerate(cmds):
        if conn.held or conn.closing:
            conn.backlog.extend(cmds[n:])
            return
        spec = _judged(conn, args)
        if spec is None:
            conn.run_one(args)
            continue
        multi = conn.multi
        name = spec.name
        if conn.monitoring and _touches_keyspace(spec):
            conn.pending.append([encode_error(errors.REPLICA_KEYSPACE), conn])
            router.count_error(errors.REPLICA_KEYSPACE)
            if multi is not None:
                conn.multi_error = True
            continue
        if multi is not None and name not in ("exec", "discard", "multi", "watch"):
            conn.run_one(args)  # queued (QUIT and RESET leave MULTI and come back here)
            continue
        db = conn.db
        aborted = conn.multi_error
        watching = bool(conn.watched)
        before = len(conn.pending)
        conn.run_one(args)
        backlog = conn.backlog
        if backlog and backlog[-1] is args:
            continue  # it waits (behind earlier replies): shown when it runs
        if name == "reset" and conn.monitoring:
            mon.remove(conn)
        if name == "exec":
            if multi is not None and not aborted and watching and len(conn.pending) > before:
                # WATCH may abort it (Redis then shows EXEC alone): its lines wait for
                # the outcome (``settle``), before anything else of this client's.
                mon.defer(conn, conn.pending[before], db, multi, spec, args)
                continue
            if multi is not None and not aborted:
                db = _feed_queued(conn, mon, db, multi)
            mon.feed(db, conn.addr, spec, args)
            mon.send_now()  # (before the scripts it may run feed their calls' lines)
            continue
        if mon.shown(spec):
            mon.feed(conn.db, conn.addr, spec, args)
            if "skip_monitor" in spec.flags:
                mon.send_now()  # (a script's line reaches the hub before the lines of its calls)


def _feed_queued(conn: Client, mon: Monitors, db: int, queued: list[list[bytes]]) -> int:
    """EXEC ran: the lines of the commands it ran, in order, each with the database a
    SELECT before it chose; the database after them."""
    table = conn.router.table
    ndb = conn.router.cfg.databases
    for args in queued:
        spec = table.lookup(args[0])
        if spec is None:
            continue
        if spec.subcommands and len(args) > 1:
            spec = spec.subcommands.get(args[1].decode("latin-1").lower(), spec)
        if spec.name == "select":
            try:
                n = int(args[1])
            except ValueError:
                n = -1
            if 0 <= n < ndb:
                db = n
        if mon.shown(spec):
            mon.feed(db, conn.addr, spec, args)
    return db


# ---------------------------------------------------------------- the command


def monitor(conn: Client, args: list[bytes]) -> Slot:
    if conn.last_cmd != "monitor":  # inside EXEC (Redis: a client that may not block)
        raise ReplyError(errors.MONITOR_DENY_BLOCKING)
    if conn.monitoring:
        return Slot((NOTHING, conn))
    return conn.router.monitor.add(conn)


def register(table: CommandTable) -> None:
    table.command("monitor", 1, "admin noscript loading stale", route=LOCAL, group="server",
                  since="1.0.0", summary="Listen for all requests received by the server in real time",
                  complexity="", acl="@admin @slow @dangerous")(monitor)
