"""Pub/sub in the router: its clients' subscriptions, the link to the hub, delivery,
and the commands (SUBSCRIBE ... PUBSUB).

Every router holds its own clients' subscriptions and tells the hub
(``shardis/coord/hub.py``) how many it has per channel, pattern and shard channel.
The hub is where the order of pub/sub events is decided: a router's operations
reach it on one pipe and it answers them in order. So:

- A SUBSCRIBE that is the first on this router for a name (or finds a
  registration the hub has not acknowledged yet) waits for the hub's answer to
  a SYNC sent behind the registration; its confirmation is written, and its
  client starts receiving, when that answer comes. From then on a PUBLISH from
  anywhere reaches the client. Where the router is registered already, the
  confirmation leaves at once.
- A client's pub/sub replies that the hub answers (PUBLISH's count, waiting
  confirmations) are its *calls*; a message that arrives while the client has a
  call open is written just before that call's reply. So a client that
  publishes to itself reads the message before PUBLISH's count, as from Redis.
- When the hub's process restarts, the router says HELLO again, registers all
  it has and syncs; the calls the old hub never answered are answered then
  (confirmations normally, a PUBLISH with an error).

A subscribed RESP2 connection runs only (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING,
QUIT and RESET: while it has subscriptions its ``dispatch`` is
``dispatch_subscribed``, which applies Redis' rule and hands each allowed command
to the ordinary dispatch (so the one-key fast path never tests for it).
"""

from __future__ import annotations

import collections
import itertools
import logging
from typing import TYPE_CHECKING, Any, Callable

import zmq

from shardis.router import clients
from shardis.router.clients import SUBSCRIBED_ALLOWED
from shardis.router.replies import Slot
from shardis.router.connection import Container, answer_poll, help_reply, text
from shardis import configtable, errors, hubproto
from shardis.commands import INTERNAL, LOCAL, CommandTable
from shardis.hubproto import ACL_SETTING, CHANNEL, KINDS, PATTERN, Q_CHANNELS, Q_NUMPAT, Q_NUMSUB, Q_STATS, \
    SHARD, Answer, Ask, Configure, Configured, Count, Hello, Lines, Message, Monitoring, OomShards, \
    PMessage, Poll, Publish, Query, Set, SMessage, Sync, Tell, ToHub, router_identity
from shardis.resp import ReplyError, Simple, encode_error

if TYPE_CHECKING:
    from shardis.router.app import Client, Router

log = logging.getLogger("router")

_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)

# The parameters every router holds alike: those CONFIG SET may change (it sends them
# through the hub; see router/configcmd.py).
SHARED_PARAMS = tuple(p for p in configtable.PARAMS if p.settable)

# Per kind: the confirmation words and the message kind pushed.
SUBSCRIBE_WORD = {CHANNEL: b"subscribe", PATTERN: b"psubscribe", SHARD: b"ssubscribe"}
UNSUBSCRIBE_WORD = {CHANNEL: b"unsubscribe", PATTERN: b"punsubscribe", SHARD: b"sunsubscribe"}

PUBSUB_HELP = (
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
)


# ---------------------------------------------------------------- push replies


def _bulk(v: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(v), v)


def confirmation(conn: Client, word: bytes, name: bytes | None, count: int) -> bytes:
    """A (p|s)(un)subscribe reply: a push in RESP3; ``name`` None is Redis' nil channel."""
    head = b">3\r\n" if conn.resp == 3 else b"*3\r\n"
    if name is None:
        channel = b"_\r\n" if conn.resp == 3 else b"$-1\r\n"
    else:
        channel = _bulk(name)
    return b"%s%s%s:%d\r\n" % (head, _bulk(word), channel, count)


def pong(args: list[bytes]) -> bytes:
    """PING in RESP2 subscribed mode: ``["pong", argument or ""]``."""
    return b"*2\r\n$4\r\npong\r\n" + _bulk(args[1] if len(args) > 1 else b"")


class Push:
    """One message from the hub as its receivers read it, encoded once per protocol for
    all of them."""

    __slots__ = ("resp2", "resp3")

    def __init__(self, n: int, body: bytes) -> None:
        self.resp2 = b"*%d\r\n%s" % (n, body)
        self.resp3 = b">%d\r\n%s" % (n, body)


# ---------------------------------------------------------------- per client


class Subscriptions:
    """One client's pub/sub state (``conn.pubsub``, made on its first pub/sub command)."""

    __slots__ = ("names", "calls", "queued")

    def __init__(self) -> None:
        # per kind: name -> None, in subscription order (PUNSUBSCRIBE alone goes in it)
        self.names: tuple[dict[bytes, None], ...] = ({}, {}, {})
        self.calls: collections.deque[Call] = collections.deque()  # open, oldest first
        self.queued = 0         # bytes delivered but still queued in the router, not the socket

    def count(self, kind: int) -> int:
        """The count a confirmation shows: channels and patterns together, shard channels apart."""
        if kind == SHARD:
            return len(self.names[SHARD])
        return len(self.names[CHANNEL]) + len(self.names[PATTERN])

    def total(self) -> int:
        return len(self.names[CHANNEL]) + len(self.names[PATTERN]) + len(self.names[SHARD])


class Call:
    """A client's reply that the hub answers; messages that arrive meanwhile go before it."""

    __slots__ = ("conn", "slot", "prefix", "finish")

    def __init__(self, conn: Client, finish: Callable[[object], bytes]) -> None:
        self.conn = conn
        self.slot = Slot((None, conn))
        self.prefix: list[bytes] = []
        self.finish = finish  # answer -> reply bytes; the answer may be a ReplyError

    def answer(self, value: object) -> None:
        subs = self.conn.pubsub
        assert subs is not None, "a call is one of its client's subscriptions' calls"
        calls = subs.calls
        if calls and calls[0] is self:
            calls.popleft()
        else:
            calls.remove(self)
        reply = self.finish(value)
        self.slot[0] = b"".join(self.prefix) + reply if self.prefix else reply


class Request:
    """An answer the router itself waits for (INFO's counts, a shared setting's ack)."""

    __slots__ = ("then",)

    def __init__(self, then: Callable[[object], None]) -> None:
        self.then = then

    def answer(self, value: object) -> None:
        self.then(value)


def _ignore(value: object) -> None:
    pass


def _reply_or_error(encode: Callable) -> Callable[[object], bytes]:
    def finish(value: object) -> bytes:
        if isinstance(value, ReplyError):
            return encode_error(value.args[0])
        return encode(value)
    return finish


# ---------------------------------------------------------------- the router's side


def _fd(s: zmq.Socket) -> int:
    """A ZeroMQ socket's (edge-triggered) file descriptor, for the event loop."""
    return s.getsockopt(zmq.FD)  # type: ignore[return-value]  # (pyzmq types it int | bytes)


class PubSub:
    """Per router: the clients' subscriptions by name, the DEALER to the hub, delivery."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.cfg = router.cfg
        sock = self.sock = router.ctx.socket(zmq.DEALER)
        sock.setsockopt(zmq.IDENTITY, router_identity(router.index))
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.SNDHWM, 0)
        sock.setsockopt(zmq.RCVHWM, 0)
        sock.connect(self.cfg.pubsub_endpoint())
        self.monitor: zmq.Socket | None = None
        # per kind, name -> ...
        self.counts: tuple[dict[bytes, int], ...] = ({}, {}, {})   # subscribers; the hub's view
        self.members: tuple[dict[bytes, dict], ...] = ({}, {}, {})  # clients receiving now
        self.since: tuple[dict[bytes, int], ...] = ({}, {}, {})    # the SYNC that registered it
        self.tokens = itertools.count(1)
        self.answered = 0  # the last token the hub answered (in order, but for SET)
        self.waiting: dict[int, Call | Request] = {}
        self.resync = 0    # the SYNC after a re-registration: older calls were lost if open then
        self.ops: list[ToHub] = []
        self.flush_scheduled = False
        # what the hub sends, by class: handler(op, the clients touched)
        self.handlers: dict[type, Callable[[Any, dict], None]] = {
            Message: self._on_message, PMessage: self._on_pmessage, SMessage: self._on_smessage,
            Answer: self._on_answer, Configure: self._on_configure, Ask: self._on_ask,
            # MONITOR's (router/monitor.py)
            Monitoring: lambda op, touched: self.router.monitor.on_monitoring(op),
            Lines: lambda op, touched: self.router.monitor.on_lines(op),
            OomShards: self._on_oom_shards,
        }

    def _on_oom_shards(self, op: OomShards, touched: dict) -> None:
        """The shards out of memory now (router/transactions.py reads them in MULTI)."""
        self.router.oom_shards = frozenset(op.shards)

    # ------------------------------------------------------------ the hub link

    def start(self) -> None:
        """Watch the hub socket and say HELLO (the loop runs from here on)."""
        loop = self.router.loop
        assert loop is not None, "runs on the loop"
        loop.add_reader(_fd(self.sock), self._on_hub)
        self.monitor = self.sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        loop.add_reader(_fd(self.monitor), self._on_monitor)
        self._on_monitor()  # a ZeroMQ fd only signals edges: read once now
        self.send(Hello(self.settings()))

    def close(self) -> None:
        """At shutdown: the last unregistrations leave (if they can), then the sockets close."""
        self.flush()
        self.flush_scheduled = True  # nothing more is sent
        loop = self.router.loop
        assert loop is not None, "runs on the loop"
        for s in (self.sock, self.monitor):
            if s is not None:
                loop.remove_reader(_fd(s))
                s.close(0)

    def settings(self) -> dict:
        """This router's values of the shared parameters (the hub keeps the first it hears)."""
        shared: dict = {p.name: configtable.get_value(self.cfg, p) for p in SHARED_PARAMS}
        shared[ACL_SETTING] = self.router.users.dump()  # (the hub keeps the first it hears)
        return shared

    def send(self, op: ToHub) -> None:
        """Queue an operation for the hub; this loop turn's leave as one frame."""
        self.ops.append(op)
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.router.call_soon(self.flush)

    def flush(self) -> None:
        if self.sock.closed:
            return
        self.flush_scheduled = False
        if self.ops:
            ops, self.ops = self.ops, []
            self.sock.send(hubproto.encode(ops))
        self._on_hub()  # the fd is edge-triggered: a send can hide a readable edge

    def expect(self, entry: Call | Request) -> int:
        """A new token, for the op sent next: ``entry`` gets the hub's answer to it."""
        token = next(self.tokens)
        self.waiting[token] = entry
        return token

    def _on_monitor(self) -> None:
        monitor = self.monitor
        assert monitor is not None, "watched from start() on"
        while True:
            try:
                monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            log.warning("router %d: pub/sub hub disconnected; registering again",
                        self.router.index)
            self._rejoin()

    def _rejoin(self) -> None:
        """The hub restarted: HELLO, every registration, then a SYNC whose answer settles
        the calls the old hub took with it (see ``_resynced``)."""
        self.send(Hello(self.settings()))
        for kind in KINDS:
            for name, n in self.counts[kind].items():
                self.send(Count(kind, name, n))
        self.router.monitor.rejoin()
        token = self.expect(Request(self._resynced))
        self.send(Sync(token))
        self.resync = token
        for since in self.since:
            for name in since:
                since[name] = token

    def _resynced(self, value: object) -> None:
        lost = ReplyError(errors.PUBSUB_DOWN)
        for token in [t for t in self.waiting if t < self.resync]:
            self.waiting.pop(token).answer(lost)

    def _on_hub(self) -> None:
        """Everything the hub sent: messages to deliver, answers, settings."""
        sock = self.sock
        touched: dict = {}
        handlers = self.handlers
        while sock.get(_EVENTS) & _POLLIN:  # type: ignore[operator]  # (pyzmq: int | bytes)
            for op in hubproto.decode(sock.recv()):
                handler = handlers.get(op.__class__)
                if handler is None:
                    log.error("router %d: an unknown operation from the pub/sub hub: %r",
                              self.router.index, op)
                    continue
                handler(op, touched)
        for conn in touched:
            if not conn.dirty:
                conn.dirty = True
                conn.flush()
            if conn.pubsub.total():
                conn.check_output_limit()  # (the pubsub class of client-output-buffer-limit)

    def _on_answer(self, op: Answer, touched: dict) -> None:
        token = op.token
        if token > self.answered:  # (a SET's answer waits for the routers: it may come late)
            self.answered = token
        entry = self.waiting.pop(token, None)
        if entry is None:
            return  # a call already settled as lost when the hub restarted
        entry.answer(op.value)
        if entry.__class__ is Call:
            touched[entry.conn] = None

    def _on_configure(self, op: Configure, touched: dict) -> None:
        self.apply(op.settings)
        self.send(Configured(op.version))

    def _on_ask(self, op: Ask, touched: dict) -> None:
        """Another router asks about this router's clients (CLIENT LIST, KILL, UNBLOCK)."""
        self.send(Tell(op.ref, answer_poll(self.router, op.request)))

    def _on_message(self, op: Message, touched: dict) -> None:
        receivers = self.members[CHANNEL].get(op.channel)
        if receivers:
            body = b"$7\r\nmessage\r\n" + _bulk(op.channel) + _bulk(op.message)
            self._deliver(receivers, Push(3, body), touched)

    def _on_smessage(self, op: SMessage, touched: dict) -> None:
        receivers = self.members[SHARD].get(op.channel)
        if receivers:
            body = b"$8\r\nsmessage\r\n" + _bulk(op.channel) + _bulk(op.message)
            self._deliver(receivers, Push(3, body), touched)

    def _on_pmessage(self, op: PMessage, touched: dict) -> None:
        receivers = self.members[PATTERN].get(op.pattern)
        if receivers:
            body = b"$8\r\npmessage\r\n" + _bulk(op.pattern) + _bulk(op.channel) + _bulk(op.message)
            self._deliver(receivers, Push(4, body), touched)

    def _deliver(self, receivers: dict, msg: Push, touched: dict) -> None:
        for conn in receivers:
            data = msg.resp3 if conn.resp == 3 else msg.resp2
            subs = conn.pubsub
            if subs.calls:
                subs.calls[0].prefix.append(data)
                subs.queued += len(data)
            else:
                if conn.pending:
                    subs.queued += len(data)
                conn.pending.append(Slot((data, conn)))
            touched[conn] = None

    def apply(self, settings: dict) -> None:
        """Shared settings from the hub (a router's CONFIG SET, or all of them at HELLO)."""
        for name, value in settings.items():
            found = configtable.lookup(name)
            if found is not None:
                configtable.set_value(self.cfg, found[0], value)
        pause = settings.get(clients.PAUSE)
        if pause is not None:  # (CLIENT PAUSE travels as a shared setting)
            clients.apply(self.router, pause)
        self.router.reconfigure(settings)

    # ------------------------------------------------------------ subscriptions

    def _add(self, kind: int, name: bytes) -> int:
        """Count a new subscriber of ``name`` and tell the hub; the count."""
        counts = self.counts[kind]
        n = counts.get(name, 0) + 1
        counts[name] = n
        self.send(Count(kind, name, n))
        return n

    def _remove(self, conn: Client, kind: int, name: bytes) -> None:
        members = self.members[kind].get(name)
        if members is not None:
            members.pop(conn, None)
            if not members:
                del self.members[kind][name]
        counts = self.counts[kind]
        n = counts[name] - 1
        if n:
            counts[name] = n
        else:
            del counts[name]
            self.since[kind].pop(name, None)
        self.send(Count(kind, name, n))

    def _activate(self, conn: Client, kind: int, names: list[bytes]) -> None:
        """Deliver to ``conn`` from now on what it is (still) subscribed to among ``names``."""
        subs = conn.pubsub
        assert subs is not None, "after its (un)subscribe made them"
        own = subs.names[kind]
        members = self.members[kind]
        for name in names:
            if name in own:
                members.setdefault(name, {})[conn] = None

    def subscribe(self, conn: Client, kind: int, names: list[bytes]) -> Slot:
        subs = conn.pubsub
        if subs is None:
            subs = conn.pubsub = Subscriptions()
        was = subs.total()
        own = subs.names[kind]
        word = SUBSCRIBE_WORD[kind]
        since = self.since[kind]
        new = []         # names this client had not subscribed to
        registered = []  # names this router had no subscriber of
        # An open call ahead: the messages it lets pass must not pass this reply.
        wait = bool(subs.calls)
        replies = []
        for name in names:
            if name not in own:
                own[name] = None
                new.append(name)
                if self._add(kind, name) == 1:
                    registered.append(name)
                elif since.get(name, 0) > self.answered:
                    wait = True  # another client's registration, not acknowledged yet
            replies.append(confirmation(conn, word, name, subs.count(kind)))
        if not was and subs.total():
            self._enter(conn)
        reply = b"".join(replies)
        if not wait and not registered:
            self._activate(conn, kind, new)
            return Slot((reply, conn))

        def confirmed(value: object) -> bytes:
            self._activate(conn, kind, new)
            return reply

        call = Call(conn, confirmed)
        subs.calls.append(call)
        token = self.expect(call)
        self.send(Sync(token))
        for name in registered:
            since[name] = token
        return call.slot

    def unsubscribe(self, conn: Client, kind: int, names: list[bytes]) -> Slot:
        subs = conn.pubsub
        if subs is None:
            subs = conn.pubsub = Subscriptions()
        own = subs.names[kind]
        word = UNSUBSCRIBE_WORD[kind]
        was = subs.total()
        if not names and not own:
            return Slot((confirmation(conn, word, None, subs.count(kind)), conn))
        replies = []
        for name in names or list(own):
            if name in own:
                del own[name]
                self._remove(conn, kind, name)
            replies.append(confirmation(conn, word, name, subs.count(kind)))
        if was and not subs.total():
            self._leave_mode(conn)
        return Slot((b"".join(replies), conn))

    def leave(self, conn: Client) -> None:
        """Drop every subscription of ``conn`` without a reply (RESET, disconnect)."""
        subs = conn.pubsub
        if subs is None or not subs.total():
            return
        for kind in KINDS:
            for name in subs.names[kind]:
                self._remove(conn, kind, name)
            subs.names[kind].clear()
        self._leave_mode(conn)

    def _enter(self, conn: Client) -> None:
        """First subscription: from the next command on, ``dispatch_subscribed`` decides.
        The rest of this batch waits one loop turn so that it too goes through it."""
        conn.dispatch_hook = dispatch_subscribed
        conn.held = True
        self.router.call_soon(conn.release)

    @staticmethod
    def _leave_mode(conn: Client) -> None:
        conn.dispatch_hook = None

    # ------------------------------------------------------------ calls

    def call(self, conn: Client) -> Call:
        """``conn``'s reply that the hub answers (PUBLISH and PUBSUB): send an op with the
        token ``self.expect(call)`` next."""
        subs = conn.pubsub
        if subs is None:
            subs = conn.pubsub = Subscriptions()
        c = Call(conn, _reply_or_error(conn.encode))
        subs.calls.append(c)
        return c

    def publish(self, conn: Client, kind: int, channel: bytes, message: bytes) -> Slot:
        c = self.call(conn)
        self.send(Publish(self.expect(c), kind, channel, message))
        return c.slot

    def query(self, conn: Client, what: int, arg: object) -> Slot:
        c = self.call(conn)
        self.send(Query(self.expect(c), what, arg))
        return c.slot

    def send_query(self, what: int, arg: object) -> None:
        """A query whose answer nobody waits for (an ACL LOG entry): sent now, before the
        refusal it records reaches the client, so that an ACL LOG the client sends next,
        through any router, finds it (the hub serves each router's ops in order)."""
        self.send(Query(self.expect(Request(_ignore)), what, arg))
        self.flush()

    def stats(self, then: Callable[[object], None]) -> None:
        """[channels, patterns, shard channels] over every router, for INFO."""
        self.send(Query(self.expect(Request(then)), Q_STATS, None))

    def poll(self, routers: list[int] | None, request: list, then: Callable[[object], None]) -> None:
        """Ask the routers named (None: every router, this one too) about their clients;
        ``then`` gets [[index, answer], ...] (or a ReplyError)."""
        self.send(Poll(self.expect(Request(then)), routers, request))

    def share(self, settings: dict, then: Callable[[object], None]) -> None:
        """CONFIG SET of shared settings: every router applies them (this one too) when the
        hub passes them on; ``then`` gets their version (or a ReplyError) after that."""
        self.send(Set(self.expect(Request(then)), settings))


# ---------------------------------------------------------------- subscribed mode


def dispatch_subscribed(conn: Client, cmds: list[list[bytes]]) -> None:
    """``conn.dispatch_hook`` while it has subscriptions: each command on its own, so that the
    rule (RESP2: only the pub/sub commands, PING, QUIT, RESET) follows the mode as it
    changes within a batch."""
    subs = conn.pubsub
    assert subs is not None, "the hook is set by a subscription, which made them"
    for n, args in enumerate(cmds):
        if conn.held or conn.closing:
            conn.backlog.extend(cmds[n:])
            return
        if not subs.total():
            conn.dispatch(cmds[n:])
            return
        if conn.resp == 2:
            reply = subscribed_reply(conn, args)
            if reply is not None:
                conn.pending.append([reply, conn])
                continue
        conn.dispatch([args])


def subscribed_reply(conn: Client, args: list[bytes]) -> bytes | None:
    """What Redis answers a RESP2 subscriber for ``args`` in place of running it (its
    refusal, or PING's pong), or None to run it (unknown commands and arity errors
    answer as always)."""
    spec = conn.router.table.lookup(args[0])
    if spec is None or spec.route == INTERNAL or not spec.arity_ok(len(args)):
        return None
    if spec.subcommands and len(args) > 1:
        sub = spec.subcommands.get(args[1].decode("latin-1").lower())
        if sub is None or not sub.arity_ok(len(args)):
            return None
        spec = sub
    name = spec.name.encode()
    if name in SUBSCRIBED_ALLOWED:
        return pong(args) if name == b"ping" and len(args) <= 2 else None
    return encode_error(errors.SUBSCRIBED_CONTEXT % spec.name)


# ---------------------------------------------------------------- the handlers


def subscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.subscribe(conn, CHANNEL, args[1:])


def unsubscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.unsubscribe(conn, CHANNEL, args[1:])


def psubscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.subscribe(conn, PATTERN, args[1:])


def punsubscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.unsubscribe(conn, PATTERN, args[1:])


def ssubscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.subscribe(conn, SHARD, args[1:])


def sunsubscribe(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.unsubscribe(conn, SHARD, args[1:])


def publish(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.publish(conn, CHANNEL, args[1], args[2])


def spublish(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.publish(conn, SHARD, args[1], args[2])


# PUBSUB's subcommands, answered by the hub over every router


def active(conn: Client, kind: int, args: list[bytes]) -> Slot:
    """PUBSUB CHANNELS or SHARDCHANNELS [pattern]: the active names of ``kind``."""
    if len(args) > 3:
        raise ReplyError(errors.SUBCOMMAND_SYNTAX % (text(args[1][:128]), "PUBSUB"))
    pattern = args[2] if len(args) == 3 else None
    return conn.router.pubsub.query(conn, Q_CHANNELS, (kind, pattern))


def pubsub_channels(conn: Client, args: list[bytes]) -> Slot:
    return active(conn, CHANNEL, args)


def pubsub_numsub(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.query(conn, Q_NUMSUB, (CHANNEL, args[2:]))


def pubsub_shardchannels(conn: Client, args: list[bytes]) -> Slot:
    return active(conn, SHARD, args)


def pubsub_shardnumsub(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.query(conn, Q_NUMSUB, (SHARD, args[2:]))


def pubsub_numpat(conn: Client, args: list[bytes]) -> Slot:
    return conn.router.pubsub.query(conn, Q_NUMPAT, None)


def pubsub_help(conn: Client, args: list[bytes]) -> list[Simple]:
    return help_reply(PUBSUB_HELP)


# ---------------------------------------------------------------- the command table


def register(table: CommandTable) -> None:
    cmd = table.command
    flags, acl = "pubsub noscript loading stale", "@pubsub @slow"
    cmd("subscribe", -2, flags, route=LOCAL, group="pubsub", since="2.0.0",
        summary="Listen for messages published to the given channels",
        complexity="O(N) where N is the number of channels to subscribe to.", acl=acl)(subscribe)
    cmd("unsubscribe", -1, flags, route=LOCAL, group="pubsub", since="2.0.0",
        summary="Stop listening for messages posted to the given channels",
        complexity="O(N) where N is the number of clients already subscribed to a channel.",
        acl=acl)(unsubscribe)
    cmd("psubscribe", -2, flags, route=LOCAL, group="pubsub", since="2.0.0",
        summary="Listen for messages published to channels matching the given patterns",
        complexity="O(N) where N is the number of patterns the client is already subscribed to.",
        acl=acl)(psubscribe)
    cmd("punsubscribe", -1, flags, route=LOCAL, group="pubsub", since="2.0.0",
        summary="Stop listening for messages posted to channels matching the given patterns",
        complexity="O(N+M) where N is the number of patterns the client is already subscribed and M "
                   "is the number of total patterns subscribed in the system (by any client).",
        acl=acl)(punsubscribe)
    cmd("ssubscribe", -2, flags, 1, -1, 1, route=LOCAL, group="pubsub", since="7.0.0",
        summary="Listen for messages published to the given shard channels",
        complexity="O(N) where N is the number of shard channels to subscribe to.", acl=acl)(ssubscribe)
    cmd("sunsubscribe", -1, flags, 1, -1, 1, route=LOCAL, group="pubsub", since="7.0.0",
        summary="Stop listening for messages posted to the given shard channels",
        complexity="O(N) where N is the number of clients already subscribed to a shard channel.",
        acl=acl)(sunsubscribe)
    cmd("publish", 3, "pubsub loading stale fast", route=LOCAL, group="pubsub", since="2.0.0",
        summary="Post a message to a channel", acl="@pubsub @fast",
        complexity="O(N+M) where N is the number of clients subscribed to the receiving "
                   "channel and M is the total number of subscribed patterns (by any client).")(publish)
    cmd("spublish", 3, "pubsub loading stale fast", 1, 1, 1, route=LOCAL, group="pubsub",
        since="7.0.0", summary="Post a message to a shard channel", acl="@pubsub @fast",
        complexity="O(N) where N is the number of clients subscribed to the receiving shard "
                   "channel.")(spublish)

    container = Container(table, "pubsub", -2, group="pubsub", since="2.8.0",
                          summary="A container for Pub/Sub commands")
    sub = container.sub
    flags, acl = "pubsub loading stale", "@pubsub @slow"
    sub("channels", -2, flags, since="2.8.0", acl=acl, summary="List active channels",
        complexity="O(N) where N is the number of active channels, and assuming constant time "
                   "pattern matching (relatively short channels and patterns)")(pubsub_channels)
    sub("numsub", -2, flags, since="2.8.0", acl=acl,
        summary="Get the count of subscribers for channels",
        complexity="O(N) for the NUMSUB subcommand, where N is the number of requested "
                   "channels")(pubsub_numsub)
    sub("shardchannels", -2, flags, since="7.0.0", acl=acl, summary="List active shard channels",
        complexity="O(N) where N is the number of active shard channels, and assuming constant "
                   "time pattern matching (relatively short shard channels).")(pubsub_shardchannels)
    sub("shardnumsub", -2, flags, since="7.0.0", acl=acl,
        summary="Get the count of subscribers for shard channels",
        complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested "
                   "shard channels")(pubsub_shardnumsub)
    sub("numpat", 2, flags, since="2.8.0", acl=acl,
        summary="Get the count of unique patterns pattern subscriptions")(pubsub_numpat)
    sub("help", 2, "loading stale", since="6.2.0", acl="@slow",
        summary="Show helpful text about the different subcommands")(pubsub_help)
