"""CLIENT PAUSE and CLIENT REPLY in a router: which of a connection's commands wait, and
which of its replies it reads.

Both act at one place, ``gate``, which ``Client.run`` calls first while a pause is on
or a connection's replies are switched off or skipped (``Client.reply_ctl``); otherwise
the commands go to ``Client.dispatch`` untouched, and the hot path pays one test.

CLIENT PAUSE timeout [WRITE|ALL], as Redis 7.0's processCommand applies it:

- A command that must wait (ALL: every command; WRITE: those flagged ``write``, and
  EVAL, EVALSHA, FCALL, PUBLISH, SPUBLISH, PFCOUNT, which may replicate, but a script
  whose shebang says ``no-writes``; EXEC when its queue holds one of those; inside MULTI
  the command itself, before it is queued) holds its connection: it and every later
  command of that connection wait (``Client.held``, ``Client.backlog``); the commands
  before it have run. An unknown command, a wrong arity or a command a RESP2
  subscriber may not run is answered at once, as Redis refuses those before it looks at
  the pause.
- A pause is [end, mode] (end: ms since the epoch, as every process reads the clock
  alike). A new pause only extends: the later end and the stronger mode win (Redis'
  pauseClients), so a WRITE pause during ALL does not weaken it, and ``PAUSE 0 ALL``
  makes a running WRITE pause ALL until its end. UNPAUSE ends it.
- Every router applies a pause: CLIENT PAUSE and UNPAUSE share it through the hub as
  a shared setting (``PAUSE``, like CONFIG SET's; router/configcmd.py) and answer OK once
  every router has it, so the next command on any router is held; a router that
  starts during a pause gets it from the hub. When it ends (UNPAUSE, or its end passes:
  a timer on each router), the held connections go on in the order they were held.
- A held connection is not closed by ``timeout`` (Redis does not close blocked clients),
  is not unblocked by CLIENT UNBLOCK (Redis 7.0.15 would crash), and shows the ``b``
  flag in CLIENT LIST.

CLIENT REPLY ON|OFF|SKIP, as Redis 7.0.15 answers it:

- OFF: no reply to the connection's commands until ON, whose OK is sent; SKIP: the
  reply of the next command is dropped; SKIP while OFF does nothing. OFF's and SKIP's
  own replies are none. RESET switches replies on again (its own reply is still skipped
  after a SKIP, as in Redis).
- Pub/sub messages and the confirmations of (P|S)(UN)SUBSCRIBE are pushes: Redis
  sends them whatever the mode, and so does shardis; a PUBLISH's reply is dropped but
  the messages that precede it are not.
- A reply in a connection's queue (``Client.pending``) may come later from a shard, and
  one queue entry may hold the replies of several commands (a run for one shard): so
  while replies are off or skipped the gate runs the connection's commands one at a
  time (OFF: runs of ordinary commands together), marks the queue entries they added
  (``ReplyCtl.drop``), and ``take_replies`` leaves those out when the entries reach the
  head of the queue, in order.

A CLIENT PAUSE, REPLY OFF or REPLY SKIP run by ``Client.dispatch`` holds its connection
for one loop turn (``regate``), so that the rest of its batch goes through the gate
too. Inside EXEC (router/transactions.py's run_local) that is not needed: what follows
EXEC goes through ``Client.run``.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from shardis.commands import INTERNAL, CommandSpec
from shardis.resp import ReplyError
from shardis.scripting import parse_shebang

if TYPE_CHECKING:
    from shardis.router.app import Client, Router
    from shardis.router.pubsub import Call

# The shared "setting" that carries a pause to every router: [end ms, mode].
PAUSE = "__client_pause"
OFF, WRITE, ALL = 0, 1, 2  # pause modes, weakest first (OFF: UNPAUSE)

# Commands Redis 7.0 flags may_replicate: a WRITE pause holds them as it holds writes.
MAY_REPLICATE = frozenset(("eval", "evalsha", "fcall", "publish", "spublish", "pfcount"))
SCRIPTS = frozenset(("eval", "evalsha"))
# What a subscribed RESP2 connection may run (Redis 7.0's processCommand).
SUBSCRIBED_ALLOWED = frozenset((b"subscribe", b"ssubscribe", b"psubscribe", b"unsubscribe",
                                b"sunsubscribe", b"punsubscribe", b"ping", b"quit", b"reset"))
# Commands whose replies are pushes, never dropped by CLIENT REPLY.
SUBSCRIBING = frozenset((b"subscribe", b"ssubscribe", b"psubscribe", b"unsubscribe",
                         b"sunsubscribe", b"punsubscribe"))
# What may change a connection's reply mode: with replies OFF, the gate runs the
# commands between these together.
_REPLY_SWITCHES = frozenset((b"client", b"reset")) | SUBSCRIBING

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# ---------------------------------------------------------------- CLIENT PAUSE


class Pause:
    """This router's pause: until ``end`` (ms since the epoch), ``mode`` (WRITE or ALL);
    the connections it holds, in the order it held them."""

    __slots__ = ("end", "mode", "waiting", "timer")

    def __init__(self, end: int, mode: int) -> None:
        self.end = end
        self.mode = mode
        self.waiting: dict[Client, None] = {}
        self.timer: asyncio.TimerHandle | None = None  # (its end)


def pause_end(timeout_ms: int) -> int:
    """CLIENT PAUSE's end for a timeout (ms): now + timeout as Redis 7.0.15 adds them, in
    64-bit arithmetic (a timeout near 2**63 wraps into the past: no pause); 0 stays 0."""
    if timeout_ms <= 0:
        return 0
    end = (now_ms() + timeout_ms) % _U64
    return end - _U64 if end > _I64_MAX else end


def merged(router: Router, end: int, mode: int) -> list[int]:
    """The pause this router would hold after a new one: what it shares."""
    p = current(router)
    if p is None:
        return [end, mode]
    return [max(p.end, end), max(p.mode, mode)]


def current(router: Router) -> Pause | None:
    """The pause in force (one whose end has passed ends here)."""
    p = router.pause
    if p is not None and p.end <= now_ms():
        finish(router)
        return None
    return p


def apply(router: Router, value: list) -> None:
    """A pause as every router applies it (the hub's shared setting, or this router's own
    CLIENT PAUSE / UNPAUSE): [end, mode]; mode OFF ends the pause."""
    end, mode = int(value[0]), int(value[1])
    if mode == OFF:
        if router.pause is not None:
            finish(router)
        return
    p = current(router)
    if p is None:
        if end <= now_ms():
            return  # over already (or PAUSE 0): nothing to do
        p = router.pause = Pause(end, mode)
    else:
        p.end = max(p.end, end)
        p.mode = max(p.mode, mode)
    _arm(router, p)


def _arm(router: Router, p: Pause) -> None:
    """Wake up at the pause's end (again, if it moved)."""
    loop = router.loop
    if loop is None:
        return  # (not serving yet: ``current`` ends it when a command first looks)
    if p.timer is not None:
        p.timer.cancel()
    p.timer = loop.call_later(max(0.0, (p.end - now_ms()) / 1000), _expire, router, p)


def _expire(router: Router, p: Pause) -> None:
    p.timer = None
    if router.pause is p:
        if p.end <= now_ms():
            finish(router)
        else:
            _arm(router, p)


def finish(router: Router) -> None:
    """The pause ends: the connections it held go on, oldest first (from the next loop
    turn, after the command that found it over)."""
    p = router.pause
    if p is None:
        return
    router.pause = None
    if p.timer is not None:
        p.timer.cancel()
        p.timer = None
    if p.waiting:
        held = list(p.waiting)
        router.call_soon(lambda: _go_on(held))


def _go_on(conns: list[Client]) -> None:
    for conn in conns:
        if free_to_go(conn):
            conn.release()


def free_to_go(conn: Client) -> bool:
    """Whether a held connection waits for nothing else: no reply it must have before its
    next command (a blocking command, the coordinator, a script, earlier replies)."""
    return (conn.held and not conn.closing and conn.blocked_on is None and conn.coord_rid is None
            and conn.coord_outstanding == 0 and not conn.drain_wait and conn.script_wait is None)


def waits(conn: Client, args: list[bytes], mode: int) -> bool:
    """Whether the pause (``mode``) holds this command (see the module docstring)."""
    spec = conn.router.table.lookup(args[0])
    if spec is None or spec.route == INTERNAL or not spec.arity_ok(len(args)):
        return False  # refused at once
    if spec.subcommands and len(args) > 1:
        sub = spec.subcommands.get(args[1].decode("latin-1").lower())
        if sub is None or not sub.arity_ok(len(args)):
            return False
        spec = sub
    if conn.dispatch_hook is not None and conn.resp == 2 and spec.name.encode() not in SUBSCRIBED_ALLOWED:
        return False  # refused at once: a RESP2 subscriber may not run it
    if mode == ALL:
        return True
    if spec.name == "exec":
        queued = conn.multi
        return queued is not None and any(_may_write(conn, q) for q in queued)
    return _writes(conn, spec, args)


def _may_write(conn: Client, args: list[bytes]) -> bool:
    """A queued command's flags, as EXEC's pause check reads them."""
    spec = conn.router.table.lookup(args[0])
    if spec is None:
        return False
    if spec.subcommands and len(args) > 1:
        sub = spec.subcommands.get(args[1].decode("latin-1").lower())
        if sub is None:
            return False
        spec = sub
    return _writes(conn, spec, args)


def _writes(conn: Client, spec: CommandSpec, args: list[bytes]) -> bool:
    """Flagged write, or may_replicate: a script counts as its shebang says (Redis reads
    the flags of a script it knows; one it does not know may write)."""
    if spec.write:
        return True
    name = spec.name
    if name not in MAY_REPLICATE:
        return False
    if name not in SCRIPTS:
        return True  # (FCALL: the router does not know functions' flags)
    body = conn.router.scripts.get(args[1].lower()) if name == "evalsha" else args[1]
    if body is None or not body.startswith(b"#!"):
        return True
    try:
        flags, _, _ = parse_shebang(body)
    except ReplyError:
        return True
    return "no-writes" not in flags


# ---------------------------------------------------------------- CLIENT REPLY


class ReplyCtl:
    """A connection's CLIENT REPLY state (``Client.reply_ctl`` while it matters)."""

    __slots__ = ("off", "skip_next", "skip_now", "drop")

    def __init__(self) -> None:
        self.off = False        # OFF: no reply until ON
        self.skip_next = False  # SKIP: the next command's reply is dropped
        self.skip_now = False   # the command running now is that next command
        # id(queue entry) -> (the entry, the pub/sub call whose messages still go out):
        # the entries whose replies are dropped
        self.drop: dict[int, tuple[list, Call | None]] = {}

    def active(self) -> bool:
        """Whether commands must go through the gate to have their replies marked (or one
        running now has its replies dropped)."""
        return self.off or self.skip_next or self.skip_now


def reply_ctl(conn: Client) -> ReplyCtl:
    ctl = conn.reply_ctl
    if ctl is None:
        ctl = conn.reply_ctl = ReplyCtl()
    return ctl


def replies_on(conn: Client) -> None:
    """CLIENT REPLY ON: replies again, its own OK included (a SKIP it follows is
    forgotten; one inside the same EXEC still skips what follows EXEC, as in Redis)."""
    ctl = conn.reply_ctl
    if ctl is not None:
        ctl.off = ctl.skip_now = False


def replies_reset(conn: Client) -> None:
    """RESET: replies from the next command on (RESET's own is still skipped after a
    SKIP, as Redis clears the flags after its skip has taken effect)."""
    ctl = conn.reply_ctl
    if ctl is not None:
        ctl.off = ctl.skip_next = False


def _mark(conn: Client, ctl: ReplyCtl, last: list | None) -> None:
    """The queue entries after ``last`` (the newest before the command ran; None: there
    was none) hold replies to drop."""
    subs = conn.pubsub
    calls = subs.calls if subs is not None else ()
    drop = ctl.drop
    for e in reversed(conn.pending):
        if e is last:
            break
        call = None
        for c in calls:
            if c.slot is e:
                call = c
                break
        drop[id(e)] = (e, call)


def take_replies(conn: Client) -> bytes:
    """``Client.flush`` while CLIENT REPLY is in use: the replies at the head of the queue
    that have arrived, less those dropped."""
    ctl = conn.reply_ctl
    assert ctl is not None, "flush calls it while replies are switched"
    pending = conn.pending
    drop = ctl.drop
    out = []
    while pending and pending[0][0] is not None:
        e = pending.popleft()
        if drop:
            gone = drop.pop(id(e), None)
            if gone is not None:
                call = gone[1]
                if call is not None and call.prefix:
                    out.append(b"".join(call.prefix))  # the messages that came before it
                continue
        out.append(e[0])
    if not pending:
        drop.clear()  # (an entry replaced in the queue, inside EXEC, left its mark behind)
    if not drop and not ctl.active():
        conn.reply_ctl = None
    return b"".join(out)


# ---------------------------------------------------------------- the gate


def gate(conn: Client, cmds: list[list[bytes]]) -> bool:
    """``Client.run`` while a pause is on or replies are switched: run ``cmds`` (or hold
    them) as the module docstring says; False: nothing to do here, dispatch them."""
    router = conn.router
    ctl = conn.reply_ctl
    if current(router) is None and (ctl is None or not ctl.active()):
        return False
    n = 0
    end = len(cmds)
    pending = conn.pending
    while n < end:
        if conn.held or conn.closing:
            conn.backlog.extend(cmds[n:])
            return True
        args = cmds[n]
        p = current(router)
        if p is not None and waits(conn, args, p.mode):
            conn.held = True
            conn.backlog.extend(cmds[n:])
            p.waiting[conn] = None
            return True
        ctl = conn.reply_ctl
        if ctl is None or not ctl.active():
            if p is None:
                _run(conn, cmds[n:])  # nothing to look at any more
                return True
            _run(conn, [args])
            n += 1
            continue
        last = pending[-1] if pending else None
        if p is None and ctl.off:
            # Replies off: a run of ordinary commands at once, all their replies dropped.
            stop = n
            while stop < end and cmds[stop][0].lower() not in _REPLY_SWITCHES:
                stop += 1
            if stop > n:
                _run(conn, cmds[n:stop])
                _mark(conn, ctl, last)
                n = stop
                continue
        ctl.skip_now, ctl.skip_next = ctl.skip_next, False
        _run(conn, [args])
        if (ctl.off or ctl.skip_now) and args[0].lower() not in SUBSCRIBING:
            _mark(conn, ctl, last)
        ctl.skip_now = False
        n += 1
    return True


def _run(conn: Client, cmds: list[list[bytes]]) -> None:
    """Run commands as ``Client.run`` does past the gate."""
    conn.run_past_gate(cmds)


def regate(conn: Client) -> None:
    """After a command that changes what the gate does (PAUSE, REPLY OFF|SKIP) run by
    ``Client.dispatch``: the rest of its batch waits one loop turn and then goes through
    the gate. (Inside EXEC, ``conn.in_exec``, what follows passes it anyway.)"""
    if conn.in_exec or conn.held:
        return
    conn.held = True
    conn.router.call_soon(lambda: _regated(conn))


def _regated(conn: Client) -> None:
    if free_to_go(conn):
        conn.release()
